//! The state root computed alongside execution: trie leaves read while the block runs.
//!
//! Most of a state root's time in a large trie is not hashing the changed leaves but reading
//! their unchanged siblings: every changed leaf's bottom branch must be re-hashed from all its
//! children, and the hashes of child leaves are not stored, so each is read from RocksDB. Which
//! siblings those are depends only on *which* keys change, not on their new values, and the
//! EVM reads every key it will change before it changes it. So while a block executes, a
//! [`TriePrefetch`] worker thread takes each account and slot the EVM reads (the latest-state
//! provider sends them, see [`Database::latest_state_prefetching`]), finds the deepest stored
//! branch on its path, and reads every leaf under that branch into memory. The state root then
//! serves the leaf ranges it needs from there ([`Database::state_root_prefetched`]) and reads
//! RocksDB only for what was not read ahead. On two cores the reads run on the core the
//! (single-threaded) execution leaves idle.
//!
//! The worker only uses time execution leaves over: when the block is done, it stops after
//! the key in hand ([`TriePrefetch::finish`]), and the root reads what is left itself.
//!
//! A read-ahead range always holds every stored leaf in it, as of the head the block executes
//! on, so serving a sub-range from it gives exactly what the RocksDB scan would. That holds
//! because nothing commits while a block is built or imported (the node's one writer lock),
//! the same rule [`Database::state_root`] relies on. A bottom branch with more than
//! [`MAX_LEAVES_PER_RANGE`] leaves under it (a branch whose children are stored branches, near
//! the top of a small trie) is not read ahead; the root reads it as before.

use crate::{
    Database, Result,
    tables::{cf, decode_hashed_account, decode_u256},
    trie_source::{Cursor, account_rlp, leaf_key},
};
use alloy_primitives::{Address, B256, keccak256, map::HashMap};
use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::JoinHandle,
};
use tributary_trie::{BranchNodeCompact, Nibbles, prefix_range};

/// A bottom branch with more leaves than this under it is not read ahead.
pub const MAX_LEAVES_PER_RANGE: usize = 256;

/// A key the EVM read, sent to the prefetch worker.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PrefetchKey {
    Account(Address),
    Slot(Address, B256),
}

/// A running read-ahead of one block's trie leaves; see the module docs.
#[derive(Debug)]
pub struct TriePrefetch {
    keys: mpsc::Sender<PrefetchKey>,
    /// Set when the block is done: the worker stops after the key in hand, so that the root
    /// never waits for reads it can do as fast itself.
    stop: Arc<AtomicBool>,
    worker: JoinHandle<Result<PrefetchedLeaves>>,
}

impl TriePrefetch {
    /// Stops the worker after the key in hand and takes what it has read. `None` when the
    /// worker failed: the root then reads everything from RocksDB, as without a prefetch.
    pub fn finish(self) -> Option<PrefetchedLeaves> {
        self.end(true)
    }

    /// [`Self::finish`], after every key sent so far has been read.
    pub fn complete(self) -> Option<PrefetchedLeaves> {
        self.end(false)
    }

    fn end(self, early: bool) -> Option<PrefetchedLeaves> {
        let Self { keys, stop, worker } = self;
        stop.store(early, Ordering::Relaxed);
        drop(keys);
        match worker.join() {
            Ok(Ok(leaves)) => Some(leaves),
            Ok(Err(err)) => {
                tracing::warn!(target: "storage::prefetch", %err, "trie prefetch failed");
                None
            }
            Err(_) => {
                tracing::warn!(target: "storage::prefetch", "trie prefetch worker panicked");
                None
            }
        }
    }
}

/// The leaves one block's prefetch read: the account trie's and each storage trie's.
#[derive(Debug, Default)]
pub struct PrefetchedLeaves {
    pub(crate) accounts: LeafRanges,
    /// By hashed address.
    pub(crate) storage: HashMap<B256, LeafRanges>,
}

impl PrefetchedLeaves {
    /// How many leaves were read ahead, over all tries.
    pub fn len(&self) -> usize {
        self.accounts.leaves.len() + self.storage.values().map(|s| s.leaves.len()).sum::<usize>()
    }

    /// Whether nothing was read ahead.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whole key ranges of one trie's stored leaves (as RLP leaf values).
#[derive(Debug, Default)]
pub(crate) struct LeafRanges {
    leaves: BTreeMap<B256, Vec<u8>>,
    /// Start of each range read whole -> its end (`None`: the end of the key space).
    ranges: BTreeMap<B256, Option<B256>>,
    /// Branch paths already read or found too large.
    tried: HashSet<Nibbles>,
}

impl LeafRanges {
    /// Whether `[from, to)` lies inside one range read whole.
    pub(crate) fn covers(&self, from: &B256, to: Option<&B256>) -> bool {
        let Some((_, end)) = self.ranges.range(..=*from).next_back() else { return false };
        match (end, to) {
            (None, _) => true,
            (Some(end), Some(to)) => to <= end,
            (Some(_), None) => false,
        }
    }

    /// The leaves in `[from, to)`.
    pub(crate) fn range(
        &self,
        from: B256,
        to: Option<B256>,
    ) -> std::collections::btree_map::Range<'_, B256, Vec<u8>> {
        match to {
            Some(to) => self.leaves.range(from..to),
            None => self.leaves.range(from..),
        }
    }

    /// Reads every leaf under `path` with `scan`, unless done before or too many.
    fn read(
        &mut self,
        path: Nibbles,
        scan: impl FnOnce(B256, Option<B256>, &mut Vec<(B256, Vec<u8>)>) -> Result<()>,
    ) -> Result<()> {
        if !self.tried.insert(path) {
            return Ok(());
        }
        let (from, to) = prefix_range(&path);
        let mut leaves = Vec::new();
        scan(from, to, &mut leaves)?;
        if leaves.len() <= MAX_LEAVES_PER_RANGE {
            self.leaves.extend(leaves);
            self.ranges.insert(from, to);
        }
        Ok(())
    }
}

impl Database {
    /// Starts reading ahead the trie leaves of the keys a block reads; feed it through
    /// [`Database::latest_state_prefetching`] and hand [`TriePrefetch::finish`] to
    /// [`Database::state_root_prefetched`]. See the module docs. `None` when the OS will not
    /// start the worker thread: the block is then built without it, its root read from
    /// RocksDB alone.
    pub fn prefetch_trie(&self) -> Option<TriePrefetch> {
        let (keys, received) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let db = self.clone();
        let stopped = stop.clone();
        let worker = std::thread::Builder::new()
            .name("trie-prefetch".into())
            .spawn(move || prefetch(&db, received, &stopped));
        match worker {
            Ok(worker) => Some(TriePrefetch { keys, stop, worker }),
            Err(err) => {
                tracing::warn!(target: "storage::prefetch", %err, "no trie prefetch thread");
                None
            }
        }
    }

    /// [`Database::latest_state`] that sends every account and slot it reads to `prefetch`.
    pub fn latest_state_prefetching(&self, prefetch: &TriePrefetch) -> crate::StateProvider {
        crate::StateProvider::latest_prefetching(self.clone(), prefetch.keys.clone())
    }
}

fn prefetch(
    db: &Database,
    keys: mpsc::Receiver<PrefetchKey>,
    stop: &AtomicBool,
) -> Result<PrefetchedLeaves> {
    // The leaves of the block being written are read from RocksDB: wait for it first.
    db.wait_persisted()?;
    let mut out = PrefetchedLeaves::default();
    let account_leaves = Cursor::new(db, cf::HASHED_ACCOUNTS);
    let storage_leaves = Cursor::new(db, cf::HASHED_STORAGE);
    let storage_nodes = Cursor::new(db, cf::STORAGE_TRIE);
    let mut seen_accounts = HashSet::new();
    let mut seen_slots = HashSet::new();
    let mut hashed_addresses: HashMap<Address, B256> = HashMap::default();
    for key in keys {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match key {
            PrefetchKey::Account(address) => {
                if !seen_accounts.insert(address) {
                    continue;
                }
                let hashed = keccak256(address);
                let path = bottom_branch(&Nibbles::unpack(hashed), |prefix| {
                    Ok(db.inner.account_nodes.first_under(prefix))
                })?;
                out.accounts.read(path, |from, to, leaves| {
                    account_leaves.scan(&[], &from, to.as_ref(), &mut |key, value| {
                        let (account, root) = decode_hashed_account(value)?;
                        leaves.push((leaf_key(key)?, account_rlp(&account, &root)));
                        Ok(())
                    })
                })?;
            }
            PrefetchKey::Slot(address, slot) => {
                if !seen_slots.insert((address, slot)) {
                    continue;
                }
                let hashed_address =
                    *hashed_addresses.entry(address).or_insert_with(|| keccak256(address));
                let prefix = hashed_address.as_slice();
                let path = bottom_branch(&Nibbles::unpack(keccak256(slot)), |path| {
                    storage_nodes.first_node(prefix, path)
                })?;
                out.storage.entry(hashed_address).or_default().read(path, |from, to, leaves| {
                    storage_leaves.scan(prefix, &from, to.as_ref(), &mut |key, value| {
                        leaves.push((leaf_key(key)?, alloy_rlp::encode(decode_u256(value)?)));
                        Ok(())
                    })
                })?;
            }
        }
    }
    Ok(out)
}

/// The path of the deepest stored branch on `key`'s path (the root path when none is): the
/// branch a state root re-hashes from its children's leaves when `key` changes.
fn bottom_branch(
    key: &Nibbles,
    first_under: impl Fn(&Nibbles) -> Result<Option<(Nibbles, BranchNodeCompact)>>,
) -> Result<Nibbles> {
    let mut bottom = Nibbles::default();
    let mut next = first_under(&bottom)?;
    while let Some((path, node)) = next {
        if !key.starts_with(&path) {
            break;
        }
        bottom = path;
        let Some(nibble) = key.get(path.len()) else { break };
        if !node.tree_mask.is_bit_set(nibble) {
            break;
        }
        let mut child = path;
        child.push(nibble);
        next = first_under(&child)?;
    }
    Ok(bottom)
}

#[cfg(test)]
mod tests {
    use crate::{AccountChange, Database, StateDiff};
    use alloy_primitives::{U256, address};
    use tributary_chainspec::ChainSpec;

    /// The root takes covered ranges from the read-ahead, not from RocksDB: with the
    /// read-ahead's copies of the unchanged leaves altered, the root changes.
    #[test]
    fn the_root_reads_covered_ranges_from_the_read_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), &ChainSpec::dev(), Default::default()).unwrap();
        let changed = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let old = db.latest_state().account(&changed).unwrap();
        let mut new = old.expect("dev account 0 is funded");
        new.balance -= U256::from(1);
        let diff = StateDiff {
            accounts: vec![AccountChange { address: changed, old, new: Some(new) }],
            ..Default::default()
        };

        let prefetch = db.prefetch_trie().unwrap();
        db.latest_state_prefetching(&prefetch).account(&changed).unwrap();
        let mut prefetched = prefetch.complete().unwrap();
        assert!(prefetched.accounts.leaves.len() > 1, "the genesis trie's leaves were read");
        let plain = db.state_root(&diff).unwrap().root;
        assert_eq!(db.state_root_prefetched(&diff, Some(&prefetched)).unwrap().root, plain);

        for value in prefetched.accounts.leaves.values_mut() {
            value.push(0);
        }
        assert_ne!(db.state_root_prefetched(&diff, Some(&prefetched)).unwrap().root, plain);
    }
}
