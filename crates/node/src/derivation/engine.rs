//! The seam between derivation and execution: what the driver asks of the chain it keeps safe.
//!
//! [`ExecutionEngine`] is small on purpose, as reth's provider traits are: read a block as
//! derivation sees it, tell whether a stored block is the one some attributes describe, build
//! and commit a block from attributes, and rewind. The node implements it over its database and
//! executor ([`BlockSealer`]); building and committing go through the sealer's [`Engine`]
//! seam, the one path from attributes to a committed block that the sequencer and the Engine
//! API take too.

use crate::{
    NodeError, SenderCache,
    sealer::{BlockSealer, Engine, Payload},
};
use alloy::{
    consensus::{
        Sealed,
        transaction::{Recovered, SignerRecoverable},
    },
    eips::{Decodable2718, Encodable2718},
};
use alloy_primitives::Bytes;
use rayon::prelude::*;
use std::sync::Arc;
use tributary_chainspec::{BlockId, RollupConfig};
use tributary_derive::{L2BlockInfo, PayloadAttributes};
use tributary_evm::BlockAttributes;
use tributary_primitives::{OpTxEnvelope, TxEnvelope};
use tributary_protocol::L1BlockInfo;

/// What derivation needs from execution.
pub(crate) trait ExecutionEngine {
    /// Block `number` as derivation sees it, with its non-deposit transactions.
    fn block_info(&self, number: u64) -> Result<Option<(L2BlockInfo, Vec<Bytes>)>, NodeError>;
    /// The head's number (the tip's: the newest block built, written or being written).
    fn head_number(&self) -> u64;
    /// Whether the stored block after `attrs.parent` is the block `attrs` describe.
    fn matches(&self, attrs: &PayloadAttributes) -> Result<bool, NodeError>;
    /// Builds and commits the block `attrs` describe on the tip (which must be
    /// `attrs.parent`). When the batch's transactions do not make a valid block, the block is
    /// built from the deposits alone (Holocene) and `Built::replaced` says so.
    fn build(&self, attrs: &PayloadAttributes) -> Result<Built, NodeError>;
    /// Removes blocks above `number`.
    fn rewind(&self, number: u64) -> Result<(), NodeError>;
}

/// A block built from derived attributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Built {
    /// The block.
    pub(crate) info: L2BlockInfo,
    /// Whether it was built from the deposits alone because the batch was invalid.
    pub(crate) replaced: bool,
}

/// [`ExecutionEngine`] over the node's database and executor.
pub(crate) struct DatabaseEngine {
    pub(crate) sealer: BlockSealer,
    pub(crate) rollup: RollupConfig,
    /// Senders recovered ahead of building.
    pub(crate) senders: Arc<SenderCache>,
}

/// The executor's attributes for the block derived `attrs` describe.
pub fn derived_block_attributes(attrs: &PayloadAttributes) -> BlockAttributes {
    BlockAttributes {
        timestamp: attrs.timestamp,
        prev_randao: attrs.prev_randao,
        parent_beacon_block_root: attrs.parent_beacon_block_root,
        l1_info: attrs.l1_info,
        deposits: attrs.deposits.clone(),
    }
}

/// A batch's transactions, decoded and with their senders: taken from `senders` where they
/// were recovered ahead ([`SenderCache::prefetch`]), recovered here where not (in parallel
/// from [`tributary_evm::PARALLEL_RECOVERY_MIN`] misses on).
/// None when one is not a valid signed, non-deposit transaction.
pub fn decode_batch_transactions(
    txs: &[Bytes],
    senders: &SenderCache,
) -> Option<Vec<Recovered<TxEnvelope>>> {
    let decoded = txs
        .iter()
        .map(|raw| {
            let mut buf = raw.as_ref();
            // op-alloy's envelope: an OP batch carries no blob transaction.
            let tx = TxEnvelope::try_from(OpTxEnvelope::decode_2718(&mut buf).ok()?).ok()?;
            if !buf.is_empty() || tx.is_deposit() {
                return None;
            }
            let ahead = senders.take(&tx.tx_hash());
            Some((tx, ahead))
        })
        .collect::<Option<Vec<_>>>()?;
    let with_sender = |(tx, ahead): (TxEnvelope, Option<alloy_primitives::Address>)| {
        let signer = match ahead {
            Some(signer) => signer,
            None => tx.recover_signer().ok()?,
        };
        Some(Recovered::new_unchecked(tx, signer))
    };
    let misses = decoded.iter().filter(|(_, ahead)| ahead.is_none()).count();
    if misses >= tributary_evm::PARALLEL_RECOVERY_MIN {
        decoded.into_par_iter().map(with_sender).collect()
    } else {
        decoded.into_iter().map(with_sender).collect()
    }
}

impl DatabaseEngine {
    /// Builds and commits; Some(info) when the block holds exactly `txs`.
    fn try_build(
        &self,
        attrs: &PayloadAttributes,
        txs: Vec<Recovered<TxEnvelope>>,
    ) -> Result<Option<L2BlockInfo>, NodeError> {
        let started = std::time::Instant::now();
        let db = &self.sealer.db;
        // Usually the tip, which may still be being written.
        let tip = db.tip();
        let parent = if tip.number == attrs.parent.number {
            tip
        } else {
            db.wait_persisted()?;
            db.sealed_header(attrs.parent.number)?
                .ok_or_else(|| NodeError::Task(format!("no block {}", attrs.parent.number)))?
        };
        let built = match self.sealer.build_payload(
            &parent,
            derived_block_attributes(attrs),
            txs,
            false,
        )? {
            Payload::Built(built) => *built,
            Payload::ForcedRefused(_) => return Ok(None),
            Payload::HeadMoved => {
                return Err(NodeError::Task(
                    "the head moved while building a derived block".into(),
                ));
            }
        };
        let Some(block) = self.sealer.commit_payload(built, started, "derived block")? else {
            return Err(NodeError::Task("the head moved while committing a derived block".into()));
        };
        Ok(Some(info_of(&self.rollup, &block.header, &block.body)?))
    }
}

/// A stored block as derivation sees it: its L1 origin and sequence number come from its L1
/// attributes deposit (the genesis block's from the rollup config).
fn info_of(
    rollup: &RollupConfig,
    header: &tributary_primitives::SealedHeader,
    body: &[TxEnvelope],
) -> Result<L2BlockInfo, NodeError> {
    let (l1_origin, sequence_number) = if header.number == rollup.genesis.l2.number {
        (rollup.genesis.l1, 0)
    } else {
        let info = L1BlockInfo::from_first_tx(body.first()).map_err(|err| {
            NodeError::Task(format!("block {}: L1 attributes: {err}", header.number))
        })?;
        (BlockId { number: info.number, hash: info.hash }, info.sequence_number)
    };
    Ok(L2BlockInfo {
        number: header.number,
        hash: header.hash(),
        timestamp: header.timestamp,
        l1_origin,
        sequence_number,
    })
}

impl ExecutionEngine for DatabaseEngine {
    fn block_info(&self, number: u64) -> Result<Option<(L2BlockInfo, Vec<Bytes>)>, NodeError> {
        let db = &self.sealer.db;
        db.wait_persisted()?;
        let Some(header) = db.sealed_header(number)? else { return Ok(None) };
        let body = db.body(number)?.unwrap_or_default();
        let txs: Vec<Bytes> =
            body.iter().filter(|tx| !tx.is_deposit()).map(|tx| tx.encoded_2718().into()).collect();
        Ok(Some((info_of(&self.rollup, &header, &body)?, txs)))
    }

    fn head_number(&self) -> u64 {
        self.sealer.db.tip_number()
    }

    fn matches(&self, attrs: &PayloadAttributes) -> Result<bool, NodeError> {
        let db = &self.sealer.db;
        db.wait_persisted()?;
        let number = attrs.parent.number.saturating_add(1);
        let (Some(header), Some(body)) = (db.sealed_header(number)?, db.body(number)?) else {
            return Ok(false);
        };
        if header.parent_hash != attrs.parent.hash
            || header.timestamp != attrs.timestamp
            || header.mix_hash != attrs.prev_randao
            || header.parent_beacon_block_root.unwrap_or_default() != attrs.parent_beacon_block_root
        {
            return Ok(false);
        }
        // Every transaction, deposits and the L1 attributes deposit included, byte for byte.
        let evm_attrs = derived_block_attributes(attrs);
        let l1_info = self.sealer.evm.l1_info_deposit(attrs.parent.timestamp, &evm_attrs);
        let expected = std::iter::once(l1_info)
            .chain(attrs.deposits.iter().cloned())
            .map(|deposit| OpTxEnvelope::Deposit(Sealed::new(deposit)).encoded_2718())
            .chain(attrs.transactions.iter().map(|tx| tx.to_vec()));
        Ok(body.len() == 1 + attrs.deposits.len() + attrs.transactions.len()
            && body.iter().map(|tx| tx.encoded_2718()).eq(expected))
    }

    fn build(&self, attrs: &PayloadAttributes) -> Result<Built, NodeError> {
        if let Some(txs) = decode_batch_transactions(&attrs.transactions, &self.senders)
            && let Some(info) = self.try_build(attrs, txs)?
        {
            return Ok(Built { info, replaced: false });
        }
        tracing::warn!(
            target: "derive",
            number = attrs.parent.number + 1,
            "the batch does not make a valid block; building it from its deposits alone"
        );
        let info = self
            .try_build(&attrs.deposits_only(), Vec::new())?
            .ok_or_else(|| NodeError::Task("a deposit-only block is invalid".into()))?;
        Ok(Built { info, replaced: true })
    }

    fn rewind(&self, number: u64) -> Result<(), NodeError> {
        self.sealer.rewind(number)
    }
}
