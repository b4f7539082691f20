//! Blocks taken off the canonical chain, so that polled filters and subscriptions see a
//! reorg as geth reports one: the replaced blocks' logs again with `removed: true`, then the
//! new blocks' logs, and block filters the new blocks' hashes from the fork point on.
//!
//! Whatever rewinds the chain (derivation replacing unsafe blocks, gossip replacing them,
//! `debug_setHead`) goes through [`Reorgs::unwind`], which reads the blocks it is about to
//! remove, unwinds, and announces them before any replacement block is committed.

use parking_lot::Mutex;
use std::{collections::VecDeque, sync::Arc};
use tokio::sync::broadcast;
use tributary_primitives::{Receipt, SealedHeader, TxEnvelope};
use tributary_storage::{Database, StorageError};

/// Reorgs remembered for filters that have not been polled since.
const KEPT: usize = 64;
/// Most blocks one reorg announces with their logs (older ones are only counted).
const MAX_ANNOUNCED: u64 = 1024;

/// One block that left the canonical chain.
#[derive(Debug, Clone)]
pub struct RevertedBlock {
    /// Its header.
    pub header: SealedHeader,
    /// Its transactions, in order.
    pub transactions: Vec<TxEnvelope>,
    /// Its receipts.
    pub receipts: Vec<Receipt>,
}

/// One rewind: the chain went back to `to`; `blocks` were removed, oldest first.
#[derive(Debug, Clone)]
pub struct Reorg {
    /// The new head.
    pub to: u64,
    /// The removed blocks, oldest first (at most the newest 1024).
    pub blocks: Vec<RevertedBlock>,
}

/// The newest sequence number, and the remembered reorgs with theirs, oldest first.
type ReorgLog = (u64, VecDeque<(u64, Arc<Reorg>)>);

/// Announces rewinds to the RPC side.
#[derive(Debug)]
pub struct Reorgs {
    tx: broadcast::Sender<Arc<Reorg>>,
    log: Mutex<ReorgLog>,
}

impl Default for Reorgs {
    fn default() -> Self {
        Self { tx: broadcast::channel(64).0, log: Mutex::new((0, VecDeque::new())) }
    }
}

impl Reorgs {
    /// Removes the blocks above `number`, announces them, and returns them (the newest 1024
    /// at most; None when there was nothing above `number`). Blocking.
    ///
    /// # Errors
    ///
    /// Reading the blocks or unwinding fails.
    pub fn unwind(&self, db: &Database, number: u64) -> Result<Option<Arc<Reorg>>, StorageError> {
        // A block still being written is removed too: it must be read (and reported) first.
        db.wait_persisted()?;
        let head = db.head_number();
        if number >= head {
            return Ok(None);
        }
        let mut blocks = Vec::new();
        for n in number.max(head.saturating_sub(MAX_ANNOUNCED)) + 1..=head {
            let Some(header) = db.sealed_header(n)? else { continue };
            let transactions = db.body(n)?.unwrap_or_default();
            let receipts = db.receipts(n)?.unwrap_or_default();
            blocks.push(RevertedBlock { header, transactions, receipts });
        }
        db.unwind_to(number)?;
        let reorg = Arc::new(Reorg { to: number, blocks });
        let mut log = self.log.lock();
        log.0 += 1;
        let seq = log.0;
        log.1.push_back((seq, reorg.clone()));
        while log.1.len() > KEPT {
            log.1.pop_front();
        }
        let _ = self.tx.send(reorg.clone());
        Ok(Some(reorg))
    }

    /// New reorgs as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Reorg>> {
        self.tx.subscribe()
    }

    /// The sequence number of the newest reorg (0 before any).
    pub fn latest(&self) -> u64 {
        self.log.lock().0
    }

    /// Reorgs after sequence number `seq` (as far as the last 64 go), oldest first, and the
    /// newest sequence number.
    pub fn since(&self, seq: u64) -> (Vec<Arc<Reorg>>, u64) {
        let log = self.log.lock();
        let reorgs = log.1.iter().filter(|(s, _)| *s > seq).map(|(_, r)| r.clone()).collect();
        (reorgs, log.0)
    }
}
