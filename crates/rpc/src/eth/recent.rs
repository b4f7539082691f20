//! Decoded transactions, receipts, senders and L1 fee parameters of recent blocks, by block
//! hash.
//!
//! A single receipt needs its whole block's receipts (for its cumulative gas and its first
//! log's index), and a transaction its block's senders; storage keeps a block's body as one
//! value. Read and decoded from storage on every call, `eth_getTransactionReceipt` and
//! `eth_getTransactionByHash` cost O(block size): a wallet polling receipts of a
//! 10 000-transaction block decoded 10 000 receipts and copied a megabyte of body per poll. Clients
//! ask about the newest blocks far more than old ones, so the last few blocks' decoded parts
//! are kept, as reth's `EthStateCache` keeps them. Keyed by hash, so a block replaced by a
//! reorg is never served from here under its old height.

use super::convert::ReceiptPosition;
use alloy_primitives::{Address, B256};
use op_revm::OpSpecId;
use parking_lot::Mutex;
use std::{collections::VecDeque, sync::Arc};
use tributary_primitives::{Receipt, TxEnvelope};

/// A block's transactions, and what its receipts and transactions need beside them.
pub(crate) struct BlockExtras {
    /// Its transactions, in order.
    pub(crate) body: Vec<TxEnvelope>,
    /// Its receipts, in order.
    pub(crate) receipts: Vec<Receipt>,
    /// Its senders, in order.
    pub(crate) senders: Vec<Address>,
    /// The L1 fee parameters it charged with (None on an L1).
    pub(crate) l1: Option<(op_revm::L1BlockInfo, OpSpecId)>,
    /// For each receipt, how many logs the receipts before it hold.
    first_log_index: Vec<u64>,
}

impl BlockExtras {
    /// The parts of one block.
    pub(crate) fn new(
        body: Vec<TxEnvelope>,
        receipts: Vec<Receipt>,
        senders: Vec<Address>,
        l1: Option<(op_revm::L1BlockInfo, OpSpecId)>,
    ) -> Self {
        let first_log_index = receipts
            .iter()
            .scan(0u64, |logs, receipt| {
                let first = *logs;
                *logs = logs.saturating_add(receipt.logs().len() as u64);
                Some(first)
            })
            .collect();
        Self { body, receipts, senders, l1, first_log_index }
    }

    /// Where receipt `index` sits in the block, in O(1); None past the last one.
    pub(crate) fn position(&self, index: usize) -> Option<ReceiptPosition> {
        let first_log_index = *self.first_log_index.get(index)?;
        let previous_cumulative = match index.checked_sub(1) {
            Some(previous) => self.receipts.get(previous)?.cumulative_gas_used(),
            None => 0,
        };
        Some(ReceiptPosition { index, previous_cumulative, first_log_index })
    }
}

/// The last [`RecentBlocks::CAPACITY`] blocks' [`BlockExtras`] (fewer when they hold more
/// than [`RecentBlocks::MAX_TRANSACTIONS`] between them), newest first.
#[derive(Default)]
pub(crate) struct RecentBlocks {
    blocks: Mutex<VecDeque<(B256, Arc<BlockExtras>)>>,
}

impl RecentBlocks {
    /// Blocks kept: a few minutes of a busy chain's receipts.
    pub(crate) const CAPACITY: usize = 64;
    /// Transactions kept at most over all blocks (about 100 MB with their receipts): 64
    /// blocks of 10 000 transactions would hold several hundred MB.
    pub(crate) const MAX_TRANSACTIONS: usize = 1 << 18;

    /// The entry for `hash`, or the one `load` makes (then kept). `load` answers None when the
    /// block is no longer the one with that hash (a reorg raced the read); nothing is kept
    /// then. It runs without the lock held, so two callers may load the same block; the
    /// second copy is dropped.
    pub(crate) fn get_or_load<E>(
        &self,
        hash: B256,
        load: impl FnOnce() -> Result<Option<BlockExtras>, E>,
    ) -> Result<Option<Arc<BlockExtras>>, E> {
        if let Some(found) = self.get(&hash) {
            return Ok(Some(found));
        }
        let Some(loaded) = load()? else { return Ok(None) };
        let loaded = Arc::new(loaded);
        let mut blocks = self.blocks.lock();
        if !blocks.iter().any(|(kept, _)| *kept == hash) {
            blocks.push_front((hash, loaded.clone()));
            let mut transactions: usize = blocks.iter().map(|(_, kept)| kept.body.len()).sum();
            // The newest block stays, however large.
            while blocks.len() > 1
                && (blocks.len() > Self::CAPACITY || transactions > Self::MAX_TRANSACTIONS)
            {
                if let Some((_, dropped)) = blocks.pop_back() {
                    transactions = transactions.saturating_sub(dropped.body.len());
                }
            }
        }
        Ok(Some(loaded))
    }

    fn get(&self, hash: &B256) -> Option<Arc<BlockExtras>> {
        self.blocks.lock().iter().find(|(kept, _)| kept == hash).map(|(_, extras)| extras.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extras(senders: usize) -> BlockExtras {
        BlockExtras::new(Vec::new(), Vec::new(), vec![Address::ZERO; senders], None)
    }

    #[test]
    fn loads_once_and_keeps_the_newest() {
        let recent = RecentBlocks::default();
        let mut loads = 0;
        for _ in 0..3 {
            let got = recent
                .get_or_load(B256::repeat_byte(1), || {
                    loads += 1;
                    Ok::<_, ()>(Some(extras(7)))
                })
                .unwrap()
                .unwrap();
            assert_eq!(got.senders.len(), 7);
        }
        assert_eq!(loads, 1, "later calls come from memory");

        for n in 0..RecentBlocks::CAPACITY as u64 {
            recent
                .get_or_load(B256::from(alloy_primitives::U256::from(n + 10)), || {
                    Ok::<_, ()>(Some(extras(0)))
                })
                .unwrap();
        }
        let raced = recent.get_or_load(B256::repeat_byte(2), || Ok::<_, ()>(None)).unwrap();
        assert!(raced.is_none() && recent.get(&B256::repeat_byte(2)).is_none());
        assert!(recent.get(&B256::repeat_byte(1)).is_none(), "the oldest was let go");
        assert!(recent.get(&B256::from(alloy_primitives::U256::from(10u64))).is_some());
    }

    fn receipt(cumulative: u64, logs: usize) -> Receipt {
        let log =
            alloy_primitives::Log::new_unchecked(Address::ZERO, Vec::new(), Default::default());
        Receipt::Op(op_alloy::consensus::OpReceiptEnvelope::Eip1559(
            alloy::consensus::Receipt {
                status: true.into(),
                cumulative_gas_used: cumulative,
                logs: vec![log; logs],
            }
            .into(),
        ))
    }

    #[test]
    fn positions_count_gas_and_logs_of_the_receipts_before() {
        let receipts = vec![receipt(21_000, 2), receipt(50_000, 0), receipt(90_000, 3)];
        let extras = BlockExtras::new(Vec::new(), receipts, Vec::new(), None);
        let at = |index| extras.position(index).map(|p| (p.previous_cumulative, p.first_log_index));
        assert_eq!(at(0), Some((0, 0)));
        assert_eq!(at(1), Some((21_000, 2)));
        assert_eq!(at(2), Some((50_000, 2)));
        assert_eq!(at(3), None);
    }

    #[test]
    fn large_blocks_are_let_go_past_the_transaction_bound() {
        let recent = RecentBlocks::default();
        let block = |txs: usize| {
            let tx = TxEnvelope::Deposit(alloy::consensus::Sealed::new(Default::default()));
            BlockExtras::new(vec![tx; txs], Vec::new(), Vec::new(), None)
        };
        let half = RecentBlocks::MAX_TRANSACTIONS / 2;
        for n in 1..=3u8 {
            recent.get_or_load(B256::repeat_byte(n), || Ok::<_, ()>(Some(block(half)))).unwrap();
        }
        assert!(recent.get(&B256::repeat_byte(1)).is_none(), "over the bound: the oldest goes");
        assert!(
            recent.get(&B256::repeat_byte(2)).is_some()
                && recent.get(&B256::repeat_byte(3)).is_some()
        );
        // One block over the bound alone is still kept.
        recent.get_or_load(B256::repeat_byte(9), || Ok::<_, ()>(Some(block(3 * half)))).unwrap();
        assert!(recent.get(&B256::repeat_byte(9)).is_some());
        assert!(recent.get(&B256::repeat_byte(3)).is_none());
    }
}
