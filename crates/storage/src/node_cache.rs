//! The account trie's branch nodes, held in memory across blocks.
//!
//! Every state root walks the account trie from its root down to each changed key, and each
//! step asks for "the first stored node under this path". Answering that from RocksDB costs an
//! iterator and a seek through the memtable and every level, about ten microseconds, and a
//! block of a few dozen changed accounts asks it a hundred times. The whole account trie's
//! branch nodes are few (about one node per ten accounts, a few hundred bytes each: some tens of
//! MB for a million accounts), so they are loaded once at open (a scan of the table) and kept
//! in a sorted map beside RocksDB. There is no cap: a chain of hundreds of millions of accounts
//! would want a bounded cache here instead.
//!
//! The map is written only after the RocksDB batch holding the same changes was written, under
//! the database's write lock, so it always equals the `account_trie` table at the head. Storage
//! tries stay on disk: there are as many as contracts, and a block touches few of them.
//!
//! [`StorageRoots`] does the same for the storage root of every account that has storage (a
//! contract, mostly): each changed account's leaf needs its storage root, and most accounts a
//! block touches have none, so a map of the non-empty ones answers without a RocksDB read.

use crate::{
    Result,
    tables::{cf, decode_hashed_account, decode_path},
};
use alloy_primitives::{B256, map::HashMap};
use parking_lot::RwLock;
use rocksdb::DB;
use std::collections::BTreeMap;
use tributary_trie::{BranchNodeCompact, EMPTY_ROOT_HASH, Nibbles, TrieUpdates, decode_node};

/// The account trie's branch nodes by path; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct AccountTrieNodes {
    nodes: RwLock<BTreeMap<Nibbles, BranchNodeCompact>>,
}

impl AccountTrieNodes {
    /// Reads every stored account trie node.
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let handle = db.cf_handle(cf::ACCOUNT_TRIE).expect("column families are created at open");
        let mut nodes = BTreeMap::new();
        let mut iter = db.raw_iterator_cf(handle);
        iter.seek_to_first();
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            nodes.insert(decode_path(key)?, decode_node(value)?);
            iter.next();
        }
        iter.status()?;
        Ok(Self { nodes: RwLock::new(nodes) })
    }

    /// The first node whose path starts with `prefix`, in path order.
    pub(crate) fn first_under(&self, prefix: &Nibbles) -> Option<(Nibbles, BranchNodeCompact)> {
        let nodes = self.nodes.read();
        let (path, node) = nodes.range(*prefix..).next()?;
        path.starts_with(prefix).then(|| (*path, node.clone()))
    }

    fn snapshot(&self) -> BTreeMap<Nibbles, BranchNodeCompact> {
        self.nodes.read().clone()
    }

    /// Applies the node changes of a batch that was just written.
    pub(crate) fn apply(&self, updates: TrieUpdates) {
        let mut nodes = self.nodes.write();
        for path in &updates.removed {
            nodes.remove(path);
        }
        nodes.extend(updates.updated);
    }
}

/// Storage roots of the accounts whose storage is not empty, by hashed address; see the module
/// docs. Equal to the roots in the `hashed_accounts` table at the head.
#[derive(Debug, Default)]
pub(crate) struct StorageRoots {
    roots: RwLock<HashMap<B256, B256>>,
}

impl StorageRoots {
    /// Reads every stored account's storage root.
    pub(crate) fn load(db: &DB) -> Result<Self> {
        let handle =
            db.cf_handle(cf::HASHED_ACCOUNTS).expect("column families are created at open");
        let mut roots = HashMap::default();
        let mut iter = db.raw_iterator_cf(handle);
        iter.seek_to_first();
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            let root = decode_hashed_account(value)?.1;
            if root != EMPTY_ROOT_HASH {
                let key = B256::try_from(key)
                    .map_err(|_| crate::StorageError::corrupt("hashed account key"))?;
                roots.insert(key, root);
            }
            iter.next();
        }
        iter.status()?;
        Ok(Self { roots: RwLock::new(roots) })
    }

    /// The storage root of the account at `hashed_address` (empty when it has no storage or
    /// does not exist).
    pub(crate) fn get(&self, hashed_address: &B256) -> B256 {
        self.roots.read().get(hashed_address).copied().unwrap_or(EMPTY_ROOT_HASH)
    }

    fn snapshot(&self) -> HashMap<B256, B256> {
        self.roots.read().clone()
    }

    /// Applies the account changes of a batch that was just written: `None` is a deleted
    /// account.
    pub(crate) fn apply(&self, changes: impl IntoIterator<Item = (B256, Option<B256>)>) {
        let mut roots = self.roots.write();
        for (hashed, root) in changes {
            match root {
                Some(root) if root != EMPTY_ROOT_HASH => roots.insert(hashed, root),
                _ => roots.remove(&hashed),
            };
        }
    }
}

impl crate::Database {
    /// Whether the in-memory account trie nodes and storage roots equal what their tables hold
    /// at the head. For tests: it reads both tables whole.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    #[doc(hidden)]
    pub fn in_memory_copies_match(&self) -> Result<bool> {
        let _guard = self.inner.write_lock.lock();
        let nodes = AccountTrieNodes::load(&self.inner.db)?.nodes.into_inner();
        let roots = StorageRoots::load(&self.inner.db)?.roots.into_inner();
        Ok(nodes == self.inner.account_nodes.snapshot()
            && roots == self.inner.storage_roots.snapshot())
    }
}
