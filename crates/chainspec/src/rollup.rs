//! The rollup config: what ties an L2 to its L1. Written by `tributary devnet init`, read by
//! the sequencer, the batcher and (issue 5) derivation.
//!
//! The JSON is op-node's `rollup.json`, field for field, so op-node and kona-node (which both
//! refuse unknown fields) read the file `devnet init` writes: snake case, `genesis` with
//! `l1`/`l2` block ids, `l2_time` and `system_config` (camel case inside; the fee scalars
//! folded into `scalar` as Ecotone encodes them: version byte 1, blob base fee scalar in bytes
//! 24..28, base fee scalar in bytes 28..32), the fork times, the L1 addresses and
//! `chain_op_config` (the EIP-1559 parameters).
//!
//! The unsafe-block signer is not in the file, as it is not in op-node's: op-node reads it from
//! the L1 SystemConfig contract. Tributary's portal is that contract
//! (`l1_system_config_address`), and nodes read `unsafeBlockSigner()` from it at start. Files
//! written before carried an `unsafe_block_signer` field; it is still read.

use crate::{ChainSpecError, Result};
use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A block id: number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BlockId {
    /// The hash.
    pub hash: B256,
    /// The number.
    pub number: u64,
}

/// The L1 values the L2 genesis starts from (op-node's `SystemConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemConfig {
    /// The batcher's L1 address: only its transactions to the inbox carry batches.
    pub batcher_addr: Address,
    /// Pre-Ecotone overhead; zero since Ecotone.
    pub overhead: B256,
    /// Ecotone's packed fee scalars.
    pub scalar: B256,
    /// The L2 block gas limit.
    pub gas_limit: u64,
    /// Jovian's DA footprint gas scalar: L2 gas a block's DA footprint charges per estimated
    /// compressed byte, so a block holds at most `gas_limit / scalar` such bytes. 0 (absent
    /// from the JSON) means the protocol default, 400.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub da_footprint_gas_scalar: u16,
}

fn is_zero(value: &u16) -> bool {
    *value == 0
}

impl SystemConfig {
    /// Jovian's DA footprint gas scalar when the system config leaves it at 0.
    pub const DEFAULT_DA_FOOTPRINT_GAS_SCALAR: u16 = 400;

    /// The DA footprint gas scalar blocks carry in their L1 attributes.
    pub fn effective_da_footprint_gas_scalar(&self) -> u16 {
        match self.da_footprint_gas_scalar {
            0 => Self::DEFAULT_DA_FOOTPRINT_GAS_SCALAR,
            scalar => scalar,
        }
    }

    /// Packs Ecotone's scalars the way `scalar` carries them.
    pub fn ecotone_scalar(base_fee_scalar: u32, blob_base_fee_scalar: u32) -> B256 {
        let mut out = [0u8; 32];
        out[0] = 1;
        out[24..28].copy_from_slice(&blob_base_fee_scalar.to_be_bytes());
        out[28..32].copy_from_slice(&base_fee_scalar.to_be_bytes());
        B256::from(out)
    }

    /// `(base_fee_scalar, blob_base_fee_scalar)`.
    pub fn scalars(&self) -> (u32, u32) {
        let bytes = self.scalar.0;
        let word = |range: std::ops::Range<usize>| {
            let mut buf = [0u8; 4];
            buf.copy_from_slice(&bytes[range]);
            u32::from_be_bytes(buf)
        };
        if bytes[0] == 1 {
            (word(28..32), word(24..28))
        } else {
            // Version 0: the whole word is the (pre-Ecotone) scalar.
            (u32::try_from(U256::from_be_bytes(bytes)).unwrap_or(u32::MAX), 0)
        }
    }
}

/// The rollup's genesis: where on L1 it is anchored and which L2 block it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RollupGenesis {
    /// The L1 block the L2 genesis is anchored to: the first L1 origin.
    pub l1: BlockId,
    /// The L2 genesis block.
    pub l2: BlockId,
    /// The L2 genesis timestamp.
    pub l2_time: u64,
    /// L1 values at genesis.
    pub system_config: SystemConfig,
}

/// The L2's EIP-1559 parameters in op-node's `chain_op_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainOpConfig {
    /// Gas target = gas limit / elasticity.
    pub eip1559_elasticity: u64,
    /// Base fee change denominator before Canyon.
    pub eip1559_denominator: u64,
    /// Base fee change denominator from Canyon on.
    pub eip1559_denominator_canyon: u64,
}

/// The rollup config (`rollup.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupConfig {
    /// Genesis anchor.
    pub genesis: RollupGenesis,
    /// Seconds between L2 blocks.
    pub block_time: u64,
    /// How far (seconds) an L2 block's timestamp may run ahead of its L1 origin's.
    pub max_sequencer_drift: u64,
    /// L1 blocks within which a batch for an epoch must land.
    pub seq_window_size: u64,
    /// L1 blocks within which a channel must complete.
    pub channel_timeout: u64,
    /// The L1 chain id.
    pub l1_chain_id: u64,
    /// The L2 chain id.
    pub l2_chain_id: u64,
    /// Batcher transactions go here.
    pub batch_inbox_address: Address,
    /// The L1 portal, whose `TransactionDeposited` logs are the deposits.
    pub deposit_contract_address: Address,
    /// The L1 contract holding the rollup's system config (the portal on Tributary devnets).
    #[serde(default)]
    pub l1_system_config_address: Address,
    /// op-node's ProtocolVersions contract; none on Tributary devnets.
    #[serde(default)]
    pub protocol_versions_address: Address,
    /// The L2's EIP-1559 parameters, as op-node takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_op_config: Option<ChainOpConfig>,
    /// The key that signs unsafe blocks for gossip: not in op-node's file (see the module
    /// docs); read from the L1 system config contract when zero.
    #[serde(default, skip_serializing)]
    pub unsafe_block_signer: Address,
    /// OP fork times, as op-node lists them (all at genesis on Tributary's dev chains).
    #[serde(flatten)]
    pub fork_times: std::collections::BTreeMap<String, u64>,
}

impl RollupConfig {
    /// Default L2 block time.
    pub const DEFAULT_BLOCK_TIME: u64 = 2;
    /// Default sequencer drift (op-node's since Fjord).
    pub const DEFAULT_MAX_SEQUENCER_DRIFT: u64 = 1800;
    /// The drift derivation allows since Fjord, whatever the config says.
    pub const FJORD_MAX_SEQUENCER_DRIFT: u64 = 1800;

    /// How far the sequencer lets a block run ahead of its L1 origin: the config's value, but
    /// never past what derivation accepts since Fjord.
    pub fn sequencer_drift_limit(&self) -> u64 {
        self.max_sequencer_drift.min(Self::FJORD_MAX_SEQUENCER_DRIFT)
    }
    /// Default sequencing window (op-node's devnet value).
    pub const DEFAULT_SEQ_WINDOW_SIZE: u64 = 3600;
    /// Default channel timeout (op-node's value since Granite).
    pub const DEFAULT_CHANNEL_TIMEOUT: u64 = 50;

    /// The batch inbox address by the OP convention: `0xff00…00` followed by the chain id.
    pub fn default_batch_inbox(l2_chain_id: u64) -> Address {
        let mut out = [0u8; 20];
        out[0] = 0xff;
        out[12..].copy_from_slice(&l2_chain_id.to_be_bytes());
        Address::from(out)
    }

    /// Reads and checks `rollup.json`.
    ///
    /// # Errors
    ///
    /// An unreadable file, malformed JSON, a zero block time or chain id.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&crate::read_file(path.as_ref())?)
    }

    /// Parses and checks a rollup config.
    ///
    /// # Errors
    ///
    /// See [`RollupConfig::from_file`].
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self = crate::parse_json(text)?;
        if config.block_time == 0 {
            return Err(ChainSpecError::invalid("block_time", "must be at least 1 second"));
        }
        if config.l1_chain_id == 0 || config.l2_chain_id == 0 {
            return Err(ChainSpecError::invalid("l2_chain_id", "chain ids must be non-zero"));
        }
        if config.seq_window_size == 0 || config.channel_timeout == 0 {
            return Err(ChainSpecError::invalid("seq_window_size", "windows must be non-zero"));
        }
        Ok(config)
    }

    /// The JSON, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The timestamp of L2 block `number`.
    pub fn l2_timestamp(&self, number: u64) -> u64 {
        let offset = number.saturating_sub(self.genesis.l2.number);
        self.genesis.l2_time.saturating_add(offset.saturating_mul(self.block_time))
    }

    /// The L2 block number at `timestamp`, if a block has that timestamp.
    pub fn l2_number_at(&self, timestamp: u64) -> Option<u64> {
        let offset = timestamp.checked_sub(self.genesis.l2_time)?;
        (offset % self.block_time == 0)
            .then(|| self.genesis.l2.number.saturating_add(offset / self.block_time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RollupConfig {
        RollupConfig {
            genesis: RollupGenesis {
                l1: BlockId { hash: B256::repeat_byte(1), number: 3 },
                l2: BlockId { hash: B256::repeat_byte(2), number: 0 },
                l2_time: 1_000,
                system_config: SystemConfig {
                    batcher_addr: Address::repeat_byte(3),
                    overhead: B256::ZERO,
                    scalar: SystemConfig::ecotone_scalar(1368, 810_949),
                    gas_limit: 60_000_000,
                    da_footprint_gas_scalar: 0,
                },
            },
            block_time: 2,
            max_sequencer_drift: 1800,
            seq_window_size: 3600,
            channel_timeout: 50,
            l1_chain_id: 900,
            l2_chain_id: 901,
            batch_inbox_address: RollupConfig::default_batch_inbox(901),
            deposit_contract_address: Address::repeat_byte(4),
            l1_system_config_address: Address::repeat_byte(4),
            protocol_versions_address: Address::ZERO,
            chain_op_config: Some(ChainOpConfig {
                eip1559_elasticity: 6,
                eip1559_denominator: 50,
                eip1559_denominator_canyon: 250,
            }),
            unsafe_block_signer: Address::ZERO,
            fork_times: [("regolith_time".to_string(), 0)].into_iter().collect(),
        }
    }

    /// Exactly op-node's keys: nothing a strict reader (op-node, kona-node) would refuse.
    #[test]
    fn the_file_has_only_op_node_keys() {
        let value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        let known = [
            "genesis",
            "block_time",
            "max_sequencer_drift",
            "seq_window_size",
            "channel_timeout",
            "l1_chain_id",
            "l2_chain_id",
            "batch_inbox_address",
            "deposit_contract_address",
            "l1_system_config_address",
            "protocol_versions_address",
            "chain_op_config",
            "regolith_time",
        ];
        assert_eq!(keys.len(), known.len(), "{keys:?}");
        assert!(keys.iter().all(|key| known.contains(key)), "{keys:?}");
        assert_eq!(value["chain_op_config"]["eip1559DenominatorCanyon"], 250);
        // An older file's signer is still read.
        let mut old = value.clone();
        old["unsafe_block_signer"] = "0x0505050505050505050505050505050505050505".into();
        let parsed = RollupConfig::from_json(&old.to_string()).unwrap();
        assert_eq!(parsed.unsafe_block_signer, Address::repeat_byte(5));
    }

    #[test]
    fn json_round_trip_in_op_node_shape() {
        let config = sample();
        let json = config.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["genesis"]["l1"]["number"], 3);
        assert_eq!(value["genesis"]["system_config"]["gasLimit"], 60_000_000);
        assert_eq!(value["regolith_time"], 0);
        assert_eq!(value["batch_inbox_address"], "0xff00000000000000000000000000000000000385");
        assert_eq!(RollupConfig::from_json(&json).unwrap(), config);
    }

    #[test]
    fn da_footprint_scalar_defaults_when_absent_and_round_trips_when_set() {
        let mut config = sample();
        let json = config.to_json();
        assert!(!json.contains("daFootprintGasScalar"), "0 is left out, as op-node leaves it");
        let parsed = RollupConfig::from_json(&json).unwrap();
        assert_eq!(parsed.genesis.system_config.effective_da_footprint_gas_scalar(), 400);

        config.genesis.system_config.da_footprint_gas_scalar = 160;
        let value: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
        assert_eq!(value["genesis"]["system_config"]["daFootprintGasScalar"], 160);
        let parsed = RollupConfig::from_json(&config.to_json()).unwrap();
        assert_eq!(parsed.genesis.system_config.effective_da_footprint_gas_scalar(), 160);
    }

    #[test]
    fn scalars_unpack() {
        assert_eq!(sample().genesis.system_config.scalars(), (1368, 810_949));
    }

    #[test]
    fn timestamps_map_to_numbers() {
        let config = sample();
        assert_eq!(config.l2_timestamp(5), 1_010);
        assert_eq!(config.l2_number_at(1_010), Some(5));
        assert_eq!(config.l2_number_at(1_011), None);
        assert_eq!(config.l2_number_at(999), None);
    }

    #[test]
    fn bad_configs_name_the_field() {
        let mut value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        value["block_time"] = 0.into();
        let err = RollupConfig::from_json(&value.to_string()).unwrap_err();
        assert!(err.to_string().contains("block_time"), "{err}");
        value["block_time"] = "two".into();
        let err = RollupConfig::from_json(&value.to_string()).unwrap_err();
        assert!(err.to_string().contains("block_time"), "{err}");
    }
}
