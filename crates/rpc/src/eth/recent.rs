//! Decoded receipts, senders and L1 fee parameters of recent blocks, by block hash.
//!
//! A single receipt needs its whole block's receipts (for its cumulative gas and its first
//! log's index), and a transaction its block's senders. Read and decoded from storage on every
//! call, `eth_getTransactionReceipt` and `eth_getTransactionByHash` cost O(block size): a wallet
//! polling receipts of a 10 000-transaction block decoded 10 000 receipts per poll. Clients
//! ask about the newest blocks far more than old ones, so the last few blocks' decoded parts
//! are kept, as reth's `EthStateCache` keeps them. Keyed by hash, so a block replaced by a
//! reorg is never served from here under its old height.

use op_revm::OpSpecId;
use parking_lot::Mutex;
use std::{collections::VecDeque, sync::Arc};
use tributary_primitives::Receipt;

use alloy_primitives::{Address, B256};

/// What a block's receipts and transactions need beyond the transaction itself.
pub(crate) struct BlockExtras {
    /// Its receipts, in order.
    pub(crate) receipts: Vec<Receipt>,
    /// Its senders, in order.
    pub(crate) senders: Vec<Address>,
    /// The L1 fee parameters it charged with (None on an L1).
    pub(crate) l1: Option<(op_revm::L1BlockInfo, OpSpecId)>,
}

/// The last [`RecentBlocks::CAPACITY`] blocks' [`BlockExtras`], newest first.
#[derive(Default)]
pub(crate) struct RecentBlocks {
    blocks: Mutex<VecDeque<(B256, Arc<BlockExtras>)>>,
}

impl RecentBlocks {
    /// Blocks kept: a few minutes of a busy chain's receipts.
    pub(crate) const CAPACITY: usize = 64;

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
            if blocks.len() >= Self::CAPACITY {
                blocks.pop_back();
            }
            blocks.push_front((hash, loaded.clone()));
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
        BlockExtras { receipts: Vec::new(), senders: vec![Address::ZERO; senders], l1: None }
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
}
