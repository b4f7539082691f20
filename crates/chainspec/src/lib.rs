//! Tributary's chain spec: a geth-style genesis plus the OP hardfork schedule, the EIP-1559
//! parameters and the Attribution precompile parameters.
//!
//! # File format
//!
//! A chain spec file is alloy's [`Genesis`] JSON. The fields geth does not know live in
//! `config`, named as op-geth names them where op-geth has a name:
//!
//! ```json
//! "config": {
//!   "chainId": 901,
//!   "bedrockBlock": 0, "regolithTime": 0, "canyonTime": 0, "ecotoneTime": 0, "fjordTime": 0,
//!   "graniteTime": 0, "holoceneTime": 0, "isthmusTime": 0, "jovianTime": 0,
//!   "optimism": { "eip1559Elasticity": 6, "eip1559Denominator": 50,
//!                 "eip1559DenominatorCanyon": 250 },
//!   "tributary": { "attributionTime": 0, "protocolBps": 500, "treasury": "0x..",
//!                  "minBaseFee": 1000000 }
//! }
//! ```
//!
//! Every OP fork up to Jovian must be scheduled (Jovian is the newest fork op-revm 20 ships as
//! production: Karst and Interop are defined there but unreleased, so a spec naming them is
//! rejected). Forks must activate in order. Any error names the field it is about.
//!
//! # What it answers
//!
//! [`ChainSpec`] gives the revm spec id at a timestamp, the next block's base fee (Holocene's
//! parameters from the parent's `extraData`, Jovian's minimum base fee and DA footprint), the
//! `extraData` a new block must carry, and the sealed genesis header with its state root.
//!
//! # L1 chain specs
//!
//! A genesis without `bedrockBlock` and without an `optimism` section is a plain Ethereum chain
//! ([`ChainKind::Ethereum`]): the L1 dev chain `tributary l1 --dev` runs on
//! (`chainspec/l1-dev.json`). It must have Shanghai, Cancun and Prague at genesis, and gets
//! mainnet's EIP-1559 parameters, an empty `extraData` and no precompiles of ours. Internally
//! it still carries an OP fork schedule (every fork to Isthmus at 0) because RPC calls run on
//! op-revm, whose Isthmus rules are Prague's; block execution uses alloy-evm's Ethereum
//! executor (see the evm crate).

mod genesis;
mod params;
mod rollup;

pub use alloy_op_hardforks::{OpChainHardforks, OpHardfork, OpHardforks};
pub use genesis::{genesis_header, genesis_state_root};

pub use params::{AttributionParams, OpFeeParams};
pub use rollup::{BlockId, ChainOpConfig, RollupConfig, RollupGenesis, SystemConfig};

use alloy::{
    consensus::{Header, Sealed},
    eips::eip1559::BaseFeeParams,
    genesis::Genesis,
};
use alloy_hardforks::ForkCondition;
use alloy_primitives::{B64, Bytes};
use op_revm::OpSpecId;
use std::path::Path;

/// Chain id of the dev L2 (the OP devnet convention).
pub const DEV_CHAIN_ID: u64 = 901;

/// The dev chain spec file, embedded in the binary.
pub const DEV_CHAIN_SPEC_JSON: &str = include_str!("../../../chainspec/dev.json");

/// Chain id of the dev L1.
pub const L1_DEV_CHAIN_ID: u64 = 900;

/// The L1 dev chain spec file (`tributary l1 --dev`), embedded in the binary.
pub const L1_DEV_CHAIN_SPEC_JSON: &str = include_str!("../../../chainspec/l1-dev.json");

/// Which rules a chain runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    /// An OP Stack L2: deposits, L1 attributes, L1 data fee, fee vaults, our precompiles.
    Optimism,
    /// A plain Ethereum chain at Prague: base fee burned, no OP semantics. The L1 dev chain.
    Ethereum,
}

/// A chain spec file that is not usable, with the field it is about.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// The file could not be read.
    #[error("cannot read chain spec {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// JSON that does not fit the schema.
    #[error("chain spec field `{field}`: {message}")]
    Json {
        /// Dotted path of the field.
        field: String,
        /// What serde said.
        message: String,
    },
    /// A field that parsed but is not allowed.
    #[error("chain spec field `{field}`: {message}")]
    Invalid {
        /// Dotted path of the field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl ChainSpecError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}

/// The chain spec's `Result`.
pub type Result<T, E = ChainSpecError> = std::result::Result<T, E>;

/// A parsed and validated chain spec.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    kind: ChainKind,
    genesis: Genesis,
    hardforks: OpChainHardforks,
    fees: OpFeeParams,
    attribution: AttributionParams,
    genesis_header: Sealed<Header>,
}

/// The OP forks in activation order, with op-geth's `config` field for each.
const OP_FORK_FIELDS: [(OpHardfork, &str); 9] = [
    (OpHardfork::Bedrock, "bedrockBlock"),
    (OpHardfork::Regolith, "regolithTime"),
    (OpHardfork::Canyon, "canyonTime"),
    (OpHardfork::Ecotone, "ecotoneTime"),
    (OpHardfork::Fjord, "fjordTime"),
    (OpHardfork::Granite, "graniteTime"),
    (OpHardfork::Holocene, "holoceneTime"),
    (OpHardfork::Isthmus, "isthmusTime"),
    (OpHardfork::Jovian, "jovianTime"),
];

impl ChainSpec {
    /// The embedded dev chain spec (chain id 901).
    pub fn dev() -> Self {
        Self::from_json(DEV_CHAIN_SPEC_JSON).expect("the embedded dev chain spec is valid")
    }

    /// The embedded L1 dev chain spec (chain id 900), with its genesis at `timestamp`.
    pub fn l1_dev(timestamp: u64) -> Self {
        let mut genesis: Genesis = serde_json::from_str(L1_DEV_CHAIN_SPEC_JSON)
            .expect("the embedded L1 dev chain spec is valid JSON");
        genesis.timestamp = timestamp;
        Self::from_genesis(genesis).expect("the embedded L1 dev chain spec is valid")
    }

    /// Reads and validates a chain spec file.
    ///
    /// # Errors
    ///
    /// See [`ChainSpec::from_json`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_file(path.as_ref())?)
    }

    /// Parses and validates a chain spec.
    ///
    /// # Errors
    ///
    /// Malformed JSON, a missing or mistyped field, forks out of order, fee parameters that
    /// would stall the base fee, shares above 100%.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_genesis(parse_json(text)?)
    }

    /// Validates a parsed genesis.
    ///
    /// # Errors
    ///
    /// See [`ChainSpec::from_json`].
    pub fn from_genesis(genesis: Genesis) -> Result<Self> {
        let config = &genesis.config;
        if config.chain_id == 0 {
            return Err(ChainSpecError::invalid("config.chainId", "must be set and non-zero"));
        }
        let is_l1 = !config.extra_fields.contains_key("optimism")
            && !config.extra_fields.contains_key("bedrockBlock");
        if is_l1 {
            return Self::ethereum_from_genesis(genesis);
        }
        let mut forks = Vec::with_capacity(OP_FORK_FIELDS.len() + 2);
        let mut previous: Option<(u64, &str)> = None;
        for (fork, field) in OP_FORK_FIELDS {
            let value = extra_u64(&genesis, field)?;
            // Jovian may be left out: the chain then stays at Isthmus (as rollup nodes that do
            // not know Jovian yet, kona-node 1.0.0-rc.1 among them, need).
            if value.is_none() && fork == OpHardfork::Jovian {
                forks.push((fork, ForkCondition::Never));
                continue;
            }
            let value = value.ok_or_else(|| ChainSpecError::Invalid {
                field: leak_field(field),
                message: "must be set: Tributary runs every OP fork up to Isthmus, and Jovian \
                          when it is set"
                    .into(),
            })?;
            if fork == OpHardfork::Bedrock {
                if value != 0 {
                    return Err(ChainSpecError::invalid("config.bedrockBlock", "must be 0"));
                }
                forks.push((fork, ForkCondition::Block(0)));
                continue;
            }
            if let Some((prev, prev_field)) = previous
                && value < prev
            {
                return Err(ChainSpecError::Invalid {
                    field: leak_field(field),
                    message: format!("activates at {value}, before {prev_field} ({prev})"),
                });
            }
            previous = Some((value, field));
            forks.push((fork, ForkCondition::Timestamp(value)));
        }
        for (field, _) in [("karstTime", ()), ("interopTime", ())] {
            if genesis.config.extra_fields.contains_key(field) {
                return Err(ChainSpecError::Invalid {
                    field: leak_field(field),
                    message: "is not supported by this node's op-revm".into(),
                });
            }
        }
        forks.push((OpHardfork::Karst, ForkCondition::Never));
        forks.push((OpHardfork::Interop, ForkCondition::Never));
        let hardforks = OpChainHardforks::new(forks);

        let fees = OpFeeParams::from_genesis(&genesis)?;
        let attribution = AttributionParams::from_genesis(&genesis)?;
        Self::finish(ChainKind::Optimism, genesis, hardforks, fees, attribution)
    }

    /// An L1 chain spec: Prague at genesis, mainnet EIP-1559 parameters, no precompiles.
    fn ethereum_from_genesis(genesis: Genesis) -> Result<Self> {
        let config = &genesis.config;
        for (field, value) in [
            ("config.shanghaiTime", config.shanghai_time),
            ("config.cancunTime", config.cancun_time),
            ("config.pragueTime", config.prague_time),
        ] {
            if value != Some(0) {
                return Err(ChainSpecError::invalid(
                    field,
                    "must be 0: an L1 dev chain runs Prague",
                ));
            }
        }
        if config.osaka_time.is_some() {
            return Err(ChainSpecError::invalid(
                "config.osakaTime",
                "is not supported: the L1 runs Prague rules",
            ));
        }
        // Isthmus is op-revm's Prague: RPC calls run there. Jovian and later never activate.
        let mut forks: Vec<_> = OP_FORK_FIELDS
            .iter()
            .map(|(fork, _)| match fork {
                OpHardfork::Bedrock => (*fork, ForkCondition::Block(0)),
                OpHardfork::Jovian => (*fork, ForkCondition::Never),
                _ => (*fork, ForkCondition::Timestamp(0)),
            })
            .collect();
        forks.push((OpHardfork::Karst, ForkCondition::Never));
        forks.push((OpHardfork::Interop, ForkCondition::Never));
        let fees = OpFeeParams { elasticity: 2, denominator: 8, min_base_fee: 0 };
        let attribution = AttributionParams {
            activation_time: u64::MAX,
            protocol_bps: 0,
            treasury: Default::default(),
        };
        Self::finish(ChainKind::Ethereum, genesis, OpChainHardforks::new(forks), fees, attribution)
    }

    fn finish(
        kind: ChainKind,
        genesis: Genesis,
        hardforks: OpChainHardforks,
        fees: OpFeeParams,
        attribution: AttributionParams,
    ) -> Result<Self> {
        if genesis.gas_limit == 0 {
            return Err(ChainSpecError::invalid("gasLimit", "must be non-zero"));
        }
        if genesis.base_fee_per_gas.is_none() {
            return Err(ChainSpecError::invalid("baseFeePerGas", "must be set (London is active)"));
        }
        if genesis.number.unwrap_or_default() != 0 {
            return Err(ChainSpecError::invalid("number", "genesis must be block 0"));
        }
        let mut spec = Self {
            kind,
            genesis,
            hardforks,
            fees,
            attribution,
            genesis_header: Sealed::new_unchecked(Header::default(), Default::default()),
        };
        spec.genesis_header = genesis_header(&spec);
        Ok(spec)
    }

    /// Whether this is an OP Stack L2 or a plain Ethereum L1.
    pub fn kind(&self) -> ChainKind {
        self.kind
    }

    /// Whether the chain runs OP Stack rules.
    pub fn is_optimism(&self) -> bool {
        self.kind == ChainKind::Optimism
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.genesis.config.chain_id
    }

    /// The genesis this spec was read from.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The sealed genesis header.
    pub fn genesis_header(&self) -> &Sealed<Header> {
        &self.genesis_header
    }

    /// The OP hardfork schedule, in the form alloy-op-evm's executor takes.
    pub fn hardforks(&self) -> &OpChainHardforks {
        &self.hardforks
    }

    /// The OP forks this chain activates, as `rollup.json` keys (`canyon_time`, …) with their
    /// times. `delta_time` (span batches, a rollup-node fork with no execution change) comes
    /// with Canyon's time.
    pub fn rollup_fork_times(&self) -> std::collections::BTreeMap<String, u64> {
        let mut times = std::collections::BTreeMap::new();
        for (fork, field) in OP_FORK_FIELDS {
            let ForkCondition::Timestamp(time) = self.hardforks.op_fork_activation(fork) else {
                continue;
            };
            let name = field.trim_end_matches("Time").to_lowercase();
            if fork == OpHardfork::Canyon {
                times.insert("delta_time".to_string(), time);
            }
            times.insert(format!("{name}_time"), time);
        }
        times
    }

    /// EIP-1559 parameters and Jovian's minimum base fee.
    pub fn fees(&self) -> &OpFeeParams {
        &self.fees
    }

    /// Parameters of the Attribution and Royalties precompiles.
    pub fn attribution(&self) -> &AttributionParams {
        &self.attribution
    }

    /// The revm spec id for a block at `timestamp`.
    pub fn spec_id_at(&self, timestamp: u64) -> OpSpecId {
        alloy_op_evm_spec(&self.hardforks, timestamp)
    }

    /// The base fee of the block after `parent`, at `timestamp`.
    pub fn next_base_fee(&self, parent: &Header, timestamp: u64) -> u64 {
        let parent_base_fee = parent.base_fee_per_gas.unwrap_or_default();
        let params = self.base_fee_params_from_parent(parent);
        let jovian = self.hardforks.is_jovian_active_at_timestamp(parent.timestamp);
        // Jovian: the DA footprint (carried in blobGasUsed) counts when it exceeds gas used.
        let gas_used = if jovian {
            parent.gas_used.max(parent.blob_gas_used.unwrap_or_default())
        } else {
            parent.gas_used
        };
        let next = params.next_block_base_fee(gas_used, parent.gas_limit, parent_base_fee);
        if self.hardforks.is_jovian_active_at_timestamp(timestamp) {
            next.max(self.fees.min_base_fee)
        } else {
            next
        }
    }

    /// The EIP-1559 parameters in force for the child of `parent`: after Holocene the parent's
    /// `extraData` carries them.
    fn base_fee_params_from_parent(&self, parent: &Header) -> BaseFeeParams {
        let decoded = if self.kind == ChainKind::Ethereum {
            None
        } else if self.hardforks.is_jovian_active_at_timestamp(parent.timestamp) {
            op_alloy::consensus::decode_jovian_extra_data(&parent.extra_data)
                .ok()
                .map(|(elasticity, denominator, _)| (elasticity, denominator))
        } else if self.hardforks.is_holocene_active_at_timestamp(parent.timestamp) {
            op_alloy::consensus::decode_holocene_extra_data(&parent.extra_data).ok()
        } else {
            None
        };
        match decoded {
            Some((elasticity, denominator)) if elasticity != 0 && denominator != 0 => {
                BaseFeeParams::new(denominator.into(), elasticity.into())
            }
            _ => self.fees.base_fee_params(),
        }
    }

    /// The `extraData` a block at `timestamp` carries: the EIP-1559 parameters after Holocene,
    /// plus the minimum base fee after Jovian.
    pub fn extra_data_at(&self, timestamp: u64) -> Bytes {
        let params = self.fees.base_fee_params();
        if self.kind == ChainKind::Ethereum {
            Bytes::new()
        } else if self.hardforks.is_jovian_active_at_timestamp(timestamp) {
            op_alloy::consensus::encode_jovian_extra_data(B64::ZERO, params, self.fees.min_base_fee)
                .unwrap_or_default()
        } else if self.hardforks.is_holocene_active_at_timestamp(timestamp) {
            op_alloy::consensus::encode_holocene_extra_data(B64::ZERO, params).unwrap_or_default()
        } else {
            Bytes::new()
        }
    }
}

/// A file's text, or an error naming the file.
pub(crate) fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|source| ChainSpecError::Io { path: path.display().to_string(), source })
}

/// JSON into `T`, with the dotted path of a failing field in the error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let field = err.path().to_string();
        ChainSpecError::Json { field, message: err.into_inner().to_string() }
    })
}

fn alloy_op_evm_spec(forks: &OpChainHardforks, timestamp: u64) -> OpSpecId {
    let order = [
        (OpHardfork::Jovian, OpSpecId::JOVIAN),
        (OpHardfork::Isthmus, OpSpecId::ISTHMUS),
        (OpHardfork::Holocene, OpSpecId::HOLOCENE),
        (OpHardfork::Granite, OpSpecId::GRANITE),
        (OpHardfork::Fjord, OpSpecId::FJORD),
        (OpHardfork::Ecotone, OpSpecId::ECOTONE),
        (OpHardfork::Canyon, OpSpecId::CANYON),
        (OpHardfork::Regolith, OpSpecId::REGOLITH),
    ];
    order
        .into_iter()
        .find(|(fork, _)| forks.op_fork_activation(*fork).active_at_timestamp(timestamp))
        .map_or(OpSpecId::BEDROCK, |(_, spec)| spec)
}

/// Reads an optional integer field of `config`.
fn extra_u64(genesis: &Genesis, field: &'static str) -> Result<Option<u64>> {
    match genesis.config.extra_fields.get_deserialized::<u64>(field) {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(err)) => Err(ChainSpecError::Invalid {
            field: leak_field(field),
            message: format!("expected an integer: {err}"),
        }),
    }
}

/// Field names for errors are `config.<name>`; the set is small and fixed.
fn leak_field(field: &str) -> &'static str {
    match field {
        "bedrockBlock" => "config.bedrockBlock",
        "regolithTime" => "config.regolithTime",
        "canyonTime" => "config.canyonTime",
        "ecotoneTime" => "config.ecotoneTime",
        "fjordTime" => "config.fjordTime",
        "graniteTime" => "config.graniteTime",
        "holoceneTime" => "config.holoceneTime",
        "isthmusTime" => "config.isthmusTime",
        "jovianTime" => "config.jovianTime",
        "karstTime" => "config.karstTime",
        "interopTime" => "config.interopTime",
        _ => "config",
    }
}

#[cfg(test)]
mod tests;
