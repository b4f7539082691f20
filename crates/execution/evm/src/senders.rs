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
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};
use tributary_primitives::TxEnvelope;

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
///
/// False when there is no recovery thread (it could not be started): `work` did not run.
fn spawn_recovery(work: impl FnOnce() + Send + 'static) -> bool {
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
    queue.as_ref().is_some_and(|queue| queue.send(Box::new(work)).is_ok())
}

/// Transaction hash -> recovered sender; see the module docs.
#[derive(Debug, Default)]
pub struct SenderCache {
    senders: Mutex<HashMap<B256, Entry>>,
    /// Recovery jobs of this cache queued or running. Misses are marked [`Entry::Taken`] only
    /// while there are some (a marker is only worth anything to a job still to come), and
    /// the last job to finish drops the markers left.
    pending: AtomicUsize,
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
        self.spawn(move |cache| {
            for raw in transactions {
                if let Ok(tx) = TxEnvelope::decode_2718(&mut raw.as_ref()) {
                    cache.recover(&tx);
                }
            }
        });
    }

    /// [`SenderCache::prefetch`] for transactions already decoded (a block's body).
    pub fn prefetch_decoded(self: &Arc<Self>, transactions: Vec<TxEnvelope>) {
        if transactions.is_empty() {
            return;
        }
        self.spawn(move |cache| {
            for tx in &transactions {
                cache.recover(tx);
            }
        });
    }

    /// Queues `work` on the recovery thread, counted in [`Self::pending`].
    fn spawn(self: &Arc<Self>, work: impl FnOnce(&Self) + Send + 'static) {
        let cache = Arc::clone(self);
        self.pending.fetch_add(1, Ordering::SeqCst);
        let queued = spawn_recovery(move || {
            work(&cache);
            cache.job_done();
        });
        if !queued {
            self.job_done();
        }
    }

    fn job_done(&self) {
        let mut senders = self.senders.lock();
        // Under the lock, so no miss marks a hash after the markers are dropped.
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            senders.retain(|_, entry| matches!(entry, Entry::Sender(_)));
        }
    }

    fn recover(&self, tx: &TxEnvelope) {
        if tx.is_deposit() {
            return;
        }
        let hash = tx.tx_hash();
        {
            let mut senders = self.senders.lock();
            if let Some(Entry::Taken) = senders.get(&hash) {
                senders.remove(&hash);
                return;
            }
        }
        if let Ok(sender) = tx.recover_signer() {
            self.insert(hash, sender);
        }
    }

    /// The sender of `hash` if it was recovered ahead; the entry is used up. On a miss while
    /// recovery jobs are pending, the hash is marked taken, so a job still to come skips it.
    pub fn take(&self, hash: &B256) -> Option<Address> {
        let mut senders = self.senders.lock();
        match senders.remove(hash) {
            Some(Entry::Sender(sender)) => Some(sender),
            Some(Entry::Taken) | None => {
                if self.pending.load(Ordering::SeqCst) > 0 {
                    bounded_insert(&mut senders, *hash, Entry::Taken);
                }
                None
            }
        }
    }

    fn insert(&self, hash: B256, sender: Address) {
        let mut senders = self.senders.lock();
        // Taken meanwhile: its block has it already.
        if let Some(Entry::Taken) = senders.remove(&hash) {
            return;
        }
        bounded_insert(&mut senders, hash, Entry::Sender(sender));
    }
}

fn bounded_insert(senders: &mut HashMap<B256, Entry>, hash: B256, entry: Entry) {
    if senders.len() >= MAX_ENTRIES {
        senders.clear();
    }
    senders.insert(hash, entry);
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
                TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718().into()
            })
            .collect();
        let hashes: Vec<B256> = raws
            .iter()
            .map(|raw| TxEnvelope::decode_2718(&mut raw.as_ref()).unwrap().tx_hash())
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

        // A sender asked for before its queued recovery ran is not kept (the job skips it).
        // (The recovery thread is held by a job of our own until the miss is marked.)
        let cache = SenderCache::new();
        let (release, held) = std::sync::mpsc::channel::<()>();
        assert!(spawn_recovery(move || {
            let _ = held.recv();
        }));
        cache.prefetch(raws.clone());
        assert_eq!(cache.take(&hashes[0]), None, "not recovered yet: its block recovers it");
        release.send(()).unwrap();
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
        // With no recovery pending, a miss leaves nothing behind.
        while cache.pending.load(Ordering::SeqCst) > 0 {
            assert!(std::time::Instant::now() < deadline, "the job did not finish");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(cache.take(&B256::repeat_byte(9)), None);
        assert!(!cache.senders.lock().contains_key(&B256::repeat_byte(9)), "no marker kept");
    }
}
