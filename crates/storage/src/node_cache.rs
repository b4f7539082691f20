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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountChange, Database, DatabaseConfig, ExecutedBlock, StateDiff, StorageChange};
    use alloy::consensus::Header;
    use alloy_primitives::{Address, U256};
    use tributary_chainspec::ChainSpec;
    use tributary_primitives::{Account, KECCAK_EMPTY, SealedHeader};

    fn commit_accounts(db: &Database, seed: u64, count: u64) {
        let state = db.latest_state();
        let accounts = (0..count)
            .map(|i| {
                let address = Address::left_padding_from(&(seed * 1000 + i).to_be_bytes());
                let old = state.account(&address).unwrap();
                let new = (i % 7 != 3).then(|| Account {
                    nonce: seed,
                    balance: U256::from(seed + i),
                    code_hash: KECCAK_EMPTY,
                });
                AccountChange { address, old, new }
            })
            .collect::<Vec<_>>();
        // Storage on a live account in five, some slots set and some cleared.
        let storage = accounts
            .iter()
            .enumerate()
            .filter(|(i, change)| i % 5 == 0 && change.new.is_some())
            .map(|(i, change)| {
                let slot = B256::from(U256::from(i % 3));
                let old = state.storage(&change.address, &slot).unwrap();
                let new = U256::from((seed + i as u64) % 4);
                StorageChange {
                    address: change.address,
                    wiped: false,
                    slots: vec![(slot, old, new)],
                }
            })
            .collect();
        let diff = StateDiff { accounts, storage, contracts: vec![] };
        let parent = db.head();
        let root = db.state_root(&diff).unwrap();
        let header = Header {
            parent_hash: parent.hash(),
            number: parent.number + 1,
            timestamp: parent.timestamp + 2,
            state_root: root.root,
            ..Default::default()
        };
        let block = ExecutedBlock {
            header: SealedHeader::new(header),
            body: vec![],
            senders: vec![],
            receipts: vec![],
            state: diff,
        };
        db.commit_block(&block, root).unwrap();
    }

    #[test]
    fn memory_copy_equals_the_table_through_commits_and_unwinds() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), &ChainSpec::dev(), DatabaseConfig::default()).unwrap();
        let table = || AccountTrieNodes::load(&db.inner.db).unwrap().nodes.into_inner();
        let roots_table = || StorageRoots::load(&db.inner.db).unwrap().roots.into_inner();
        for block in 0..20 {
            // overlapping address ranges: inserts, updates and deletions
            commit_accounts(&db, block % 6, 60 + block * 5);
        }
        assert!(table().len() > 16, "a trie of this size has several levels");
        assert_eq!(*db.inner.account_nodes.nodes.read(), table());
        assert_eq!(*db.inner.storage_roots.roots.read(), roots_table());
        assert!(!roots_table().is_empty(), "accounts with storage are held");
        db.unwind(8).unwrap();
        assert_eq!(*db.inner.account_nodes.nodes.read(), table());
        assert_eq!(*db.inner.storage_roots.roots.read(), roots_table());
        commit_accounts(&db, 9, 200);
        assert_eq!(*db.inner.account_nodes.nodes.read(), table());
        assert_eq!(*db.inner.storage_roots.roots.read(), roots_table());
        // a reopened database loads the same nodes and goes on with the same roots
        let head = db.head();
        drop(db);
        let db = Database::open(dir.path(), &ChainSpec::dev(), DatabaseConfig::default()).unwrap();
        assert_eq!(db.head(), head);
        db.unwind(1).unwrap();
        assert_eq!(
            *db.inner.account_nodes.nodes.read(),
            AccountTrieNodes::load(&db.inner.db).unwrap().nodes.into_inner()
        );
    }
}
