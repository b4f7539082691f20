//! The sequencer's choice of what goes into the next L2 block before any transaction runs:
//! its timestamp, its L1 origin, the L1 attributes and the epoch's deposits.
//!
//! # Origin selection
//!
//! Block `n+1` has timestamp `parent + block_time`. Its origin is the parent's origin, or the
//! L1 block after it when that block
//! - is at least `l1_confs` blocks below the L1 head (so a shallow L1 reorg cannot take it
//!   away), and
//! - has a timestamp at or before the new L2 block's.
//!
//! The origin advances one L1 block at a time, as the OP Stack requires. The first L2 block of
//! a new epoch carries that L1 block's deposits (the portal's `TransactionDeposited` logs,
//! in log order) right after the L1 attributes deposit; later blocks of the epoch carry none.
//!
//! A block may run ahead of its origin by at most `max_sequencer_drift` seconds. When it would
//! run further and the next origin is not available (the L1 is unreachable, or has not
//! produced a block yet), the sequencer does not build and says why: [`Decision::Wait`]. An
//! unreachable L1 otherwise only means the origin stays where it is.
//!
//! # Where the parent's origin comes from
//!
//! From the parent block itself: its L1 attributes deposit has the origin's number, hash,
//! timestamp, base fees and sequence number, and its header has the origin's RANDAO
//! (`mixHash`) and beacon root. So a restarted sequencer, or one whose L1 is down, carries on
//! without asking L1 anything. Only the genesis block has no deposit; its origin is the
//! rollup config's L1 anchor.

use alloy::{
    eips::eip7840::BlobParams,
    rpc::types::{Block, BlockNumberOrTag, Filter},
};
use alloy_primitives::{B256, U256};
use tributary_chainspec::RollupConfig;
use tributary_evm::BlockAttributes;
use tributary_l1::{L1Client, L1Error};
use tributary_primitives::{SealedHeader, TxDeposit, TxEnvelope};
use tributary_protocol::{
    DEFAULT_DA_FOOTPRINT_GAS_SCALAR, L1BlockInfo, TRANSACTION_DEPOSITED_TOPIC, decode_deposit_log,
};

/// Sequencer errors that stop block production (the rest are waits).
#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    /// The parent block's L1 attributes deposit is missing or unreadable: the database holds a
    /// block this sequencer cannot continue from.
    #[error("block {number}: {reason}")]
    BadParent {
        /// The parent's number.
        number: u64,
        /// Why.
        reason: String,
    },
}

/// What to do about the next block.
#[derive(Debug)]
pub enum Decision {
    /// Build it with these attributes.
    Build(Box<BlockAttributes>),
    /// Not now, for this reason.
    Wait(String),
}

/// Sequencer settings.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// The rollup.
    pub rollup: RollupConfig,
    /// L1 blocks an origin must be below the L1 head.
    pub l1_confs: u64,
}

impl SequencerConfig {
    /// Default `--sequencer.l1-confs` (op-node's default is 4 on real networks; a dev L1 does
    /// not reorg).
    pub const DEFAULT_L1_CONFS: u64 = 0;
}

/// An L1 block as the sequencer needs it.
#[derive(Debug, Clone)]
struct Origin {
    info: L1BlockInfo,
    prev_randao: B256,
    parent_beacon_block_root: B256,
}

/// Picks L1 origins and collects deposits.
#[derive(Debug)]
pub struct Sequencer {
    l1: L1Client,
    config: SequencerConfig,
}

impl Sequencer {
    /// A sequencer over `l1`.
    pub fn new(l1: L1Client, config: SequencerConfig) -> Self {
        Self { l1, config }
    }

    /// The rollup config.
    pub fn rollup(&self) -> &RollupConfig {
        &self.config.rollup
    }

    /// Decides the next block after `parent`, whose first transaction is `parent_first_tx`.
    ///
    /// # Errors
    ///
    /// [`SequencerError::BadParent`] when the parent carries no readable L1 attributes.
    pub async fn next_block(
        &self,
        parent: &SealedHeader,
        parent_first_tx: Option<&TxEnvelope>,
    ) -> Result<Decision, SequencerError> {
        let rollup = &self.config.rollup;
        let timestamp = parent.timestamp.saturating_add(rollup.block_time);
        let current = match self.parent_origin(parent, parent_first_tx).await {
            Ok(origin) => origin,
            Err(Unavailable(reason)) => return Ok(Decision::Wait(reason)),
        }?;
        let (origin, deposits) = match self.next_origin(&current, timestamp).await {
            Ok(Some((next, deposits))) => (next, deposits),
            Ok(None) => (current.clone(), Vec::new()),
            Err(Unavailable(reason)) => {
                tracing::warn!(
                    target: "sequencer",
                    origin = current.info.number,
                    %reason,
                    "L1 unavailable, keeping the L1 origin"
                );
                (current.clone(), Vec::new())
            }
        };
        let new_epoch = origin.info.hash != current.info.hash;
        if !new_epoch
            && timestamp > origin.info.timestamp.saturating_add(rollup.sequencer_drift_limit())
        {
            return Ok(Decision::Wait(format!(
                "block at {timestamp} would be more than the max sequencer drift ({}s) past its \
                 L1 origin {} at {}; waiting for the next L1 origin",
                rollup.sequencer_drift_limit(),
                origin.info.number,
                origin.info.timestamp
            )));
        }
        let mut info = origin.info;
        info.sequence_number =
            if new_epoch { 0 } else { current.info.sequence_number.saturating_add(1) };
        let (base_fee_scalar, blob_base_fee_scalar) = rollup.genesis.system_config.scalars();
        info.base_fee_scalar = base_fee_scalar;
        info.blob_base_fee_scalar = blob_base_fee_scalar;
        info.batcher_hash = rollup.genesis.system_config.batcher_addr.into_word();
        info.da_footprint_gas_scalar =
            rollup.genesis.system_config.effective_da_footprint_gas_scalar();
        if new_epoch {
            tracing::info!(
                target: "sequencer",
                l2 = parent.number + 1,
                l1_origin = info.number,
                deposits = deposits.len(),
                "new epoch"
            );
        }
        Ok(Decision::Build(Box::new(BlockAttributes {
            timestamp,
            prev_randao: origin.prev_randao,
            parent_beacon_block_root: origin.parent_beacon_block_root,
            l1_info: info,
            deposits,
        })))
    }

    async fn parent_origin(
        &self,
        parent: &SealedHeader,
        first_tx: Option<&TxEnvelope>,
    ) -> Result<Result<Origin, SequencerError>, Unavailable> {
        let rollup = &self.config.rollup;
        if parent.number == rollup.genesis.l2.number {
            let anchor = rollup.genesis.l1;
            let block = self.fetch(anchor.number).await?.ok_or_else(|| {
                Unavailable(format!("the L1 has no block {} (the rollup anchor)", anchor.number))
            })?;
            if block.header.hash != anchor.hash {
                return Ok(Err(SequencerError::BadParent {
                    number: parent.number,
                    reason: format!(
                        "L1 block {} is {}, not the rollup anchor {}: wrong L1?",
                        anchor.number, block.header.hash, anchor.hash
                    ),
                }));
            }
            let mut origin = origin_of(&block);
            // The genesis block is the epoch's block 0.
            origin.info.sequence_number = 0;
            return Ok(Ok(origin));
        }
        let bad = |reason: String| SequencerError::BadParent { number: parent.number, reason };
        let info = match L1BlockInfo::from_first_tx(first_tx) {
            Ok(info) => info,
            Err(err) => return Ok(Err(bad(format!("L1 attributes: {err}")))),
        };
        Ok(Ok(Origin {
            info,
            prev_randao: parent.mix_hash,
            parent_beacon_block_root: parent.parent_beacon_block_root.unwrap_or_default(),
        }))
    }

    /// The L1 block after `current`, with its deposits, when it may be the next origin.
    async fn next_origin(
        &self,
        current: &Origin,
        timestamp: u64,
    ) -> Result<Option<(Origin, Vec<TxDeposit>)>, Unavailable> {
        let head = self.l1.block_number().await.map_err(Unavailable::from)?;
        let next_number = current.info.number.saturating_add(1);
        metrics::gauge!("tributary_rollup_l1_origin_lag_blocks")
            .set(head.saturating_sub(current.info.number) as f64);
        if next_number.saturating_add(self.config.l1_confs) > head {
            return Ok(None);
        }
        let Some(block) = self.fetch(next_number).await? else {
            return Ok(None);
        };
        if block.header.timestamp > timestamp {
            return Ok(None);
        }
        if block.header.parent_hash != current.info.hash {
            // TODO(issue 5): an L1 reorg below the origin needs an L2 reorg as well.
            tracing::warn!(
                target: "sequencer",
                origin = current.info.number,
                "the L1 reorganized below the current origin; keeping it"
            );
            return Ok(None);
        }
        let deposits = self.deposits(&block).await?;
        Ok(Some((origin_of(&block), deposits)))
    }

    async fn fetch(&self, number: u64) -> Result<Option<Block>, Unavailable> {
        Ok(self.l1.block(BlockNumberOrTag::Number(number), false).await?)
    }

    /// The portal's deposits in `block`, in log order.
    async fn deposits(&self, block: &Block) -> Result<Vec<TxDeposit>, Unavailable> {
        let portal = self.config.rollup.deposit_contract_address;
        epoch_deposits(&self.l1, portal, block.header.hash, block.header.number)
            .await
            .map_err(Unavailable)
    }
}

/// The portal's deposits in L1 block `hash` (number `number`), in log order: what the first
/// L2 block of that epoch carries. The sequencer and derivation both read them here, so they
/// cannot disagree. A malformed log is skipped, as the OP Stack skips it.
///
/// # Errors
///
/// The L1 did not answer, or answered with logs that are not final (no index, or removed by a
/// reorg while it answered): ask again later.
pub async fn epoch_deposits(
    l1: &L1Client,
    portal: alloy_primitives::Address,
    hash: B256,
    number: u64,
) -> Result<Vec<TxDeposit>, String> {
    let filter = Filter::new()
        .at_block_hash(hash)
        .address(portal)
        .event_signature(TRANSACTION_DEPOSITED_TOPIC);
    let logs = l1.logs(&filter).await.map_err(|err| err.to_string())?;
    let mut deposits = Vec::with_capacity(logs.len());
    for log in logs {
        // A log without its index (a pending block) or a removed one (a reorg while we asked)
        // cannot be turned into the deposit derivation will see: try again later.
        let (Some(index), false) = (log.log_index, log.removed) else {
            return Err(format!(
                "deposit logs of L1 block {number} are not final in the L1's answer"
            ));
        };
        match decode_deposit_log(&log.inner, hash, index) {
            Ok(deposit) => deposits.push(deposit),
            Err(err) => tracing::warn!(
                target: "sequencer",
                l1_block = number,
                index,
                %err,
                "skipping a malformed deposit log"
            ),
        }
    }
    Ok(deposits)
}

/// The L1 could not give what was asked, for this reason. Temporary.
#[derive(Debug)]
struct Unavailable(String);

impl From<L1Error> for Unavailable {
    fn from(err: L1Error) -> Self {
        Self(err.to_string())
    }
}

/// An L1 block's blob base fee from its `excess_blob_gas` (Prague's parameters), 1 without
/// one: what the L1 attributes of its epoch carry.
pub fn l1_blob_base_fee(excess_blob_gas: Option<u64>) -> U256 {
    U256::from(
        excess_blob_gas.map(|excess| BlobParams::prague().calc_blob_fee(excess)).unwrap_or(1),
    )
}

fn origin_of(block: &Block) -> Origin {
    let header = &block.header;
    let blob_base_fee = l1_blob_base_fee(header.excess_blob_gas);
    Origin {
        info: L1BlockInfo {
            number: header.number,
            timestamp: header.timestamp,
            base_fee: U256::from(header.base_fee_per_gas.unwrap_or_default()),
            hash: header.hash,
            sequence_number: 0,
            batcher_hash: B256::ZERO,
            blob_base_fee,
            base_fee_scalar: 0,
            blob_base_fee_scalar: 0,
            operator_fee_scalar: 0,
            operator_fee_constant: 0,
            da_footprint_gas_scalar: DEFAULT_DA_FOOTPRINT_GAS_SCALAR,
        },
        prev_randao: header.mix_hash,
        parent_beacon_block_root: header.parent_beacon_block_root.unwrap_or_default(),
    }
}
