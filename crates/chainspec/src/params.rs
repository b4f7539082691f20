use crate::{ChainSpecError, Result};
use alloy::{eips::eip1559::BaseFeeParams, genesis::Genesis};
use alloy_primitives::Address;
use serde::Deserialize;

/// EIP-1559 parameters of the chain (`config.optimism`) and Jovian's minimum base fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpFeeParams {
    /// Gas target = gas limit / elasticity.
    pub elasticity: u64,
    /// Max base fee change per block is 1/denominator (after Canyon).
    pub denominator: u64,
    /// The floor the base fee never goes below after Jovian (`config.tributary.minBaseFee`).
    pub min_base_fee: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OptimismConfig {
    eip1559_elasticity: u64,
    eip1559_denominator: u64,
    eip1559_denominator_canyon: Option<u64>,
}

impl OpFeeParams {
    pub(crate) fn from_genesis(genesis: &Genesis) -> Result<Self> {
        let raw: OptimismConfig = section(genesis, "optimism", "config.optimism")?;
        let denominator = raw.eip1559_denominator_canyon.unwrap_or(raw.eip1559_denominator);
        if raw.eip1559_elasticity == 0 {
            return Err(ChainSpecError::invalid(
                "config.optimism.eip1559Elasticity",
                "must be non-zero",
            ));
        }
        if denominator == 0 || u32::try_from(denominator).is_err() {
            return Err(ChainSpecError::invalid(
                "config.optimism.eip1559DenominatorCanyon",
                "must be in 1..=u32::MAX",
            ));
        }
        if u32::try_from(raw.eip1559_elasticity).is_err() {
            return Err(ChainSpecError::invalid(
                "config.optimism.eip1559Elasticity",
                "must fit in a u32",
            ));
        }
        let tributary: TributaryConfig = section(genesis, "tributary", "config.tributary")?;
        Ok(Self {
            elasticity: raw.eip1559_elasticity,
            denominator,
            min_base_fee: tributary.min_base_fee.unwrap_or_default(),
        })
    }

    /// As alloy's [`BaseFeeParams`].
    pub fn base_fee_params(&self) -> BaseFeeParams {
        BaseFeeParams::new(self.denominator.into(), self.elasticity.into())
    }
}

/// Parameters of the Attribution and Royalties precompiles (`config.tributary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionParams {
    /// The precompiles exist from this timestamp on.
    pub activation_time: u64,
    /// The protocol's share of every inference fee, in basis points.
    pub protocol_bps: u16,
    /// Where the protocol's share goes.
    pub treasury: Address,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TributaryConfig {
    attribution_time: u64,
    protocol_bps: u16,
    treasury: Address,
    min_base_fee: Option<u64>,
}

impl AttributionParams {
    pub(crate) fn from_genesis(genesis: &Genesis) -> Result<Self> {
        let raw: TributaryConfig = section(genesis, "tributary", "config.tributary")?;
        if raw.protocol_bps > 10_000 {
            return Err(ChainSpecError::invalid(
                "config.tributary.protocolBps",
                format!("{} is above 10000 (100%)", raw.protocol_bps),
            ));
        }
        Ok(Self {
            activation_time: raw.attribution_time,
            protocol_bps: raw.protocol_bps,
            treasury: raw.treasury,
        })
    }
}

/// Deserializes an object in `config`, naming the failing field in the error.
fn section<T: for<'de> Deserialize<'de>>(
    genesis: &Genesis,
    key: &str,
    field: &'static str,
) -> Result<T> {
    let value = genesis
        .config
        .extra_fields
        .get(key)
        .ok_or_else(|| ChainSpecError::invalid(field, "missing"))?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let field = if inner == "." { field.to_string() } else { format!("{field}.{inner}") };
        ChainSpecError::Json { field, message: err.into_inner().to_string() }
    })
}
