//! Senders recovered ahead of time: a transaction hash -> sender cache that a background
//! recovery fills while the blocks before execute.
//!
//! Signature recovery is most of a transaction's cost on import (about 75 µs here, against
//! a few µs to execute a transfer), and it does not depend on state. Derivation reads a whole
//! channel (often many blocks) before it builds the first block from it, and a follower
//! catching up over P2P holds the blocks after the one it imports, so
//! [`SenderCache::prefetch`] (raw transactions) and [`SenderCache::prefetch_decoded`] hand
//! them to a thread that recovers them one by one (so mostly on the core the block builder
//! leaves idle; not on the rayon pool, which the state root's subtries use), and
//! the node's `decode_batch_transactions` and [`EvmConfig::execute_block_with`] take the
//! senders from the cache; a miss (the task has not got there yet) is recovered in place.
//!
//! [`EvmConfig::execute_block_with`]: crate::EvmConfig::execute_block_with
//!
//! The cache is keyed by transaction hash, which fixes the signed bytes and so the sender: an
//! entry can be early or late, never wrong. An entry recovered after its block was built is
//! never taken; the cache is bounded: past [`MAX_ENTRIES`] it is cleared.

use alloy::{consensus::transaction::SignerRecoverable, eips::Decodable2718};
use alloy_primitives::{Address, B256, Bytes, map::HashMap};
use parking_lot::Mutex;
use std::sync::Arc;
use tributary_primitives::OpTxEnvelope;

/// Entries kept at most (about 5 MB).
const MAX_ENTRIES: usize = 100_000;

/// Senders still to recover in a block's critical path from which the recovery goes to the
/// rayon pool. Below it, waking the pool's workers (which then spin before they sleep) costs
/// the block in hand more than recovering a few signatures in place.
pub const PARALLEL_RECOVERY_MIN: usize = 4;

/// Queues a recovery ahead for the one recovery thread, not for the rayon pool: the pool is
/// the critical path's (the state root's subtries run there), and a long recovery task on it
/// would hold one of its workers while the block in hand waits for its root. One thread, in
/// order: recovery ahead takes at most one core, and the nearest blocks come first.
fn spawn_recovery(work: impl FnOnce() + Send + 'static) {
    type Job = Box<dyn FnOnce() + Send>;
    static QUEUE: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (jobs, queued) = std::sync::mpsc::channel::<Job>();
        let started = std::thread::Builder::new().name("sender-recovery".into()).spawn(move || {
            for job in queued {
                job();
            }
        });
        match started {
            Ok(_) => Some(jobs),
            Err(err) => {
                // Senders are then recovered in place, when their block runs.
                tracing::warn!(target: "evm::senders", %err, "no recovery thread");
                None
            }
        }
    });
    if let Some(queue) = queue {
        let _ = queue.send(Box::new(work));
    }
}

/// Transaction hash -> recovered sender; see the module docs.
#[derive(Debug, Default)]
pub struct SenderCache {
    senders: Mutex<HashMap<B256, Entry>>,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    /// Recovered ahead, not yet taken.
    Sender(Address),
    /// Asked for before it was recovered: its block recovered it in place, so the recovery
    /// thread skips it (the first block of a channel is built while the thread starts on it).
    Taken,
}

impl SenderCache {
    /// An empty cache.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Recovers the senders of `transactions` on the recovery thread, in order, into the cache.
    /// Transactions that do not decode or recover are skipped: their block will say why.
    pub fn prefetch(self: &Arc<Self>, transactions: Vec<Bytes>) {
        if transactions.is_empty() {
            return;
        }
        let cache = Arc::clone(self);
        spawn_recovery(move || {
            for raw in transactions {
                if let Ok(tx) = OpTxEnvelope::decode_2718(&mut raw.as_ref()) {
                    cache.recover(&tx);
                }
            }
        });
    }

    /// [`SenderCache::prefetch`] for transactions already decoded (a block's body).
    pub fn prefetch_decoded(self: &Arc<Self>, transactions: Vec<OpTxEnvelope>) {
        if transactions.is_empty() {
            return;
        }
        let cache = Arc::clone(self);
        spawn_recovery(move || {
            for tx in &transactions {
                cache.recover(tx);
            }
        });
    }

    fn recover(&self, tx: &OpTxEnvelope) {
        if tx.is_deposit() {
            return;
        }
        let hash = tx.tx_hash();
        if matches!(self.senders.lock().get(&hash), Some(Entry::Taken)) {
            self.senders.lock().remove(&hash);
            return;
        }
        if let Ok(sender) = tx.recover_signer() {
            self.insert(hash, sender);
        }
    }

    /// The sender of `hash` if it was recovered ahead; the entry is used up. On a miss the
    /// hash is marked taken, so a recovery still to come skips it.
    pub fn take(&self, hash: &B256) -> Option<Address> {
        let mut senders = self.senders.lock();
        match senders.remove(hash) {
            Some(Entry::Sender(sender)) => Some(sender),
            Some(Entry::Taken) | None => {
                if senders.len() >= MAX_ENTRIES {
                    senders.clear();
                }
                senders.insert(*hash, Entry::Taken);
                None
            }
        }
    }

    fn insert(&self, hash: B256, sender: Address) {
        let mut senders = self.senders.lock();
        if senders.len() >= MAX_ENTRIES {
            senders.clear();
        }
        // Taken meanwhile: its block has it already.
        if let Some(Entry::Taken) = senders.remove(&hash) {
            return;
        }
        senders.insert(hash, Entry::Sender(sender));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{SignableTransaction, TxEip1559},
        eips::Encodable2718,
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{TxKind, U256};

    #[test]
    fn prefetched_senders_are_taken_once() {
        let key = PrivateKeySigner::random();
        let raws: Vec<Bytes> = (0..8u64)
            .map(|nonce| {
                let mut tx = TxEip1559 {
                    chain_id: 901,
                    nonce,
                    gas_limit: 21_000,
                    to: TxKind::Call(Address::repeat_byte(1)),
                    value: U256::from(1),
                    ..Default::default()
                };
                let sig = key.sign_transaction_sync(&mut tx).unwrap();
                OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718().into()
            })
            .collect();
        let hashes: Vec<B256> = raws
            .iter()
            .map(|raw| OpTxEnvelope::decode_2718(&mut raw.as_ref()).unwrap().tx_hash())
            .collect();
        let cache = SenderCache::new();
        cache.prefetch([raws.clone(), vec![Bytes::from_static(b"\x02junk")]].concat());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while cache.senders.lock().len() < raws.len() {
            assert!(std::time::Instant::now() < deadline, "prefetch did not finish");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        for hash in &hashes {
            assert_eq!(cache.take(hash), Some(key.address()));
            assert_eq!(cache.take(hash), None, "used up");
        }

        // A sender asked for before its recovery ran is not recovered again, nor kept.
        let cache = SenderCache::new();
        assert_eq!(cache.take(&hashes[0]), None, "not recovered yet: its block recovers it");
        cache.prefetch(raws.clone());
        let settled = || {
            let senders = cache.senders.lock();
            senders.len() == raws.len() - 1
                && senders.values().all(|entry| matches!(entry, Entry::Sender(_)))
        };
        while !settled() {
            assert!(std::time::Instant::now() < deadline, "prefetch did not finish");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!cache.senders.lock().contains_key(&hashes[0]), "skipped, and its mark dropped");
        assert_eq!(cache.take(&hashes[1]), Some(key.address()));
    }
}
