//! The state root of a pending [`StateDiff`]: hashed changes laid over the stored hashed state.

use crate::{
    Database, Result, StateDiff, StorageError,
    db::RowVisitor,
    node_cache::AccountTrieNodes,
    prefetch::{LeafRanges, PrefetchedLeaves},
    tables::{cf, decode_hashed_account, decode_path, encode_path},
};
use alloy_primitives::{B256, U256, keccak256, map::HashMap};
use rocksdb::DBRawIterator;
use std::{borrow::Borrow, cell::RefCell, collections::BTreeMap};
use tributary_primitives::Account;
use tributary_trie::{
    BranchNodeCompact, Nibbles, PrefixSet, TrieAccount, TrieSource, TrieUpdates, compute_root,
    compute_root_parallel, decode_node,
};

/// The new state root and everything needed to store the hashed state and trie behind it.
#[derive(Debug, Default)]
pub struct StateRootOutput {
    /// The state root.
    pub root: B256,
    /// `keccak(address)` -> the new account and storage root (`None`: deleted).
    pub(crate) accounts: Vec<(B256, Option<(Account, B256)>)>,
    /// Per changed storage trie.
    pub(crate) storage: Vec<StorageTrieOutput>,
    /// Account trie node changes.
    pub(crate) account_nodes: TrieUpdates,
}

#[derive(Debug, Default)]
pub(crate) struct StorageTrieOutput {
    pub(crate) hashed_address: B256,
    /// All previous slots and nodes go first.
    pub(crate) wiped: bool,
    /// `keccak(slot)` -> new value (zero: delete).
    pub(crate) slots: BTreeMap<B256, U256>,
    pub(crate) nodes: TrieUpdates,
}

impl Database {
    /// Computes the state root the state would have with `diff` applied, re-hashing only the
    /// paths under changed keys.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn state_root(&self, diff: &StateDiff) -> Result<StateRootOutput> {
        self.state_root_prefetched(diff, None)
    }

    /// [`Database::state_root`], taking the leaf ranges in `prefetched` from memory instead of
    /// RocksDB (see `prefetch.rs`); the result is the same.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn state_root_prefetched(
        &self,
        diff: &StateDiff,
        prefetched: Option<&PrefetchedLeaves>,
    ) -> Result<StateRootOutput> {
        // The trie of the block being written is read from RocksDB: wait for it.
        self.wait_persisted()?;
        // Storage tries first: account leaves need their roots.
        let mut storage_roots: HashMap<B256, B256> = HashMap::default();
        let mut storage = Vec::with_capacity(diff.storage.len());
        let storage_leaves = Cursor::new(self, cf::HASHED_STORAGE);
        let storage_nodes = Cursor::new(self, cf::STORAGE_TRIE);
        for change in &diff.storage {
            let hashed_address = keccak256(change.address);
            let slots: BTreeMap<B256, U256> =
                change.slots.iter().map(|(slot, _, new)| (keccak256(slot), *new)).collect();
            let changed = PrefixSet::from_hashed_keys(slots.keys().copied());
            let prefetched = prefetched.and_then(|p| p.storage.get(&hashed_address));
            let nodes = if slots.len() >= PARALLEL_ROOT_MIN_CHANGES {
                compute_root_parallel(
                    || StorageTrie {
                        leaves_table: Cursor::new(self, cf::HASHED_STORAGE),
                        nodes_table: Cursor::new(self, cf::STORAGE_TRIE),
                        hashed_address,
                        slots: &slots,
                        wiped: change.wiped,
                        prefetched,
                    },
                    &changed,
                )?
            } else {
                let source = StorageTrie {
                    leaves_table: &storage_leaves,
                    nodes_table: &storage_nodes,
                    hashed_address,
                    slots: &slots,
                    wiped: change.wiped,
                    prefetched,
                };
                compute_root(&source, &changed)?
            };
            storage_roots.insert(hashed_address, nodes.root);
            storage.push(StorageTrieOutput { hashed_address, wiped: change.wiped, slots, nodes });
        }

        let mut accounts: BTreeMap<B256, Option<(Account, B256)>> = BTreeMap::new();
        for change in &diff.accounts {
            let hashed = keccak256(change.address);
            let leaf = match change.new {
                None => None,
                Some(account) => {
                    let root = match storage_roots.get(&hashed) {
                        Some(root) => *root,
                        None => self.inner.storage_roots.get(&hashed),
                    };
                    Some((account, root))
                }
            };
            accounts.insert(hashed, leaf);
        }
        // Storage changed but the account did not: same account, new root.
        for (hashed, root) in &storage_roots {
            if accounts.contains_key(hashed) {
                continue;
            }
            let stored = self.get(cf::HASHED_ACCOUNTS, hashed)?;
            let account = match stored {
                Some(raw) => decode_hashed_account(&raw)?.0,
                None => return Err(StorageError::corrupt("storage change for a missing account")),
            };
            accounts.insert(*hashed, Some((account, *root)));
        }

        let leaves: BTreeMap<B256, Option<Vec<u8>>> = accounts
            .iter()
            .map(|(hashed, leaf)| (*hashed, leaf.as_ref().map(|(a, root)| account_rlp(a, root))))
            .collect();
        let source = || AccountTrie {
            nodes: &self.inner.account_nodes,
            leaves_table: Cursor::new(self, cf::HASHED_ACCOUNTS),
            leaves: &leaves,
            prefetched: prefetched.map(|p| &p.accounts),
        };
        let changed = PrefixSet::from_hashed_keys(leaves.keys().copied());
        let account_nodes = if leaves.len() >= PARALLEL_ROOT_MIN_CHANGES {
            compute_root_parallel(source, &changed)?
        } else {
            compute_root(&source(), &changed)?
        };
        Ok(StateRootOutput {
            root: account_nodes.root,
            accounts: accounts.into_iter().collect(),
            storage,
            account_nodes,
        })
    }
}

/// From this many changed keys in one trie, its root is hashed on all cores
/// ([`compute_root_parallel`]: one subtrie of the root per task, each with its own RocksDB
/// iterators). Below it the rayon hand-off and the extra iterators cost more than they save.
const PARALLEL_ROOT_MIN_CHANGES: usize = 512;

/// A RocksDB iterator over one table, reused for every lookup of one state root: a walk makes
/// a hundred small range reads, and creating an iterator costs about as much as a seek.
///
/// The iterator reads the table as it was when the cursor was made, while the account nodes
/// come from the live in-memory copy: a root must not be computed while a block is committed.
/// The node guarantees it (one writer lock over build, import and commit); callers of
/// [`Database::state_root`] elsewhere must too. The cursor has no upper bound (it serves many
/// ranges), so a scan may step over deleted keys past its range's end before it stops.
pub(crate) struct Cursor<'a> {
    iter: RefCell<DBRawIterator<'a>>,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(db: &'a Database, table: &str) -> Self {
        Self { iter: RefCell::new(db.inner.db.raw_iterator_cf(db.cf(table))) }
    }

    /// Calls `f(key suffix, value)` for the rows `[prefix ++ from, prefix ++ to)` in order.
    pub(crate) fn scan(
        &self,
        prefix: &[u8],
        from: &B256,
        to: Option<&B256>,
        f: &mut RowVisitor<'_>,
    ) -> Result<()> {
        let mut iter = self.iter.borrow_mut();
        iter.seek([prefix, from.as_slice()].concat());
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            let Some(suffix) = key.strip_prefix(prefix) else { break };
            if to.is_some_and(|to| suffix >= to.as_slice()) {
                break;
            }
            f(suffix, value)?;
            iter.next();
        }
        Ok(iter.status()?)
    }

    /// The first stored node at or under `path` among the keys starting with `key_prefix`.
    pub(crate) fn first_node(
        &self,
        key_prefix: &[u8],
        path: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>> {
        let mut seek = key_prefix.to_vec();
        seek.extend_from_slice(&encode_path(path));
        let mut iter = self.iter.borrow_mut();
        iter.seek(&seek);
        if !iter.valid() {
            iter.status()?;
            return Ok(None);
        }
        let (Some(key), Some(value)) = (iter.key(), iter.value()) else { return Ok(None) };
        if !key.starts_with(&seek) {
            return Ok(None);
        }
        Ok(Some((decode_path(&key[key_prefix.len()..])?, decode_node(value)?)))
    }
}

/// The RLP of an account trie leaf.
pub(crate) fn account_rlp(account: &Account, storage_root: &B256) -> Vec<u8> {
    alloy_rlp::encode(TrieAccount {
        nonce: account.nonce,
        balance: account.balance,
        storage_root: *storage_root,
        code_hash: account.code_hash,
    })
}

/// Merges sorted stored leaves with the pending overlay (`None` in the overlay deletes).
fn merge_leaves(
    stored: impl FnOnce(&mut dyn FnMut(B256, &[u8]) -> Result<()>) -> Result<()>,
    overlay: &mut std::iter::Peekable<impl Iterator<Item = (B256, Option<Vec<u8>>)>>,
    f: &mut dyn FnMut(B256, &[u8]),
) -> Result<()> {
    stored(&mut |key, value| {
        while let Some((next, _)) = overlay.peek() {
            if *next >= key {
                break;
            }
            if let Some((k, Some(v))) = overlay.next() {
                f(k, &v);
            }
        }
        match overlay.peek() {
            Some((next, _)) if *next == key => {
                if let Some((k, Some(v))) = overlay.next() {
                    f(k, &v);
                }
            }
            _ => f(key, value),
        }
        Ok(())
    })?;
    for (k, v) in overlay {
        if let Some(v) = v {
            f(k, &v);
        }
    }
    Ok(())
}

/// The overlay entries with `from <= key < to`.
fn key_range<V>(
    map: &BTreeMap<B256, V>,
    from: B256,
    to: Option<B256>,
) -> std::collections::btree_map::Range<'_, B256, V> {
    match to {
        Some(to) => map.range(from..to),
        None => map.range(from..),
    }
}

struct AccountTrie<'a> {
    nodes: &'a AccountTrieNodes,
    leaves_table: Cursor<'a>,
    leaves: &'a BTreeMap<B256, Option<Vec<u8>>>,
    prefetched: Option<&'a LeafRanges>,
}

impl TrieSource for AccountTrie<'_> {
    type Error = StorageError;

    fn first_node_under(&self, prefix: &Nibbles) -> Result<Option<(Nibbles, BranchNodeCompact)>> {
        Ok(self.nodes.first_under(prefix))
    }

    fn for_each_leaf(
        &self,
        from: B256,
        to: Option<B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<()> {
        let mut overlay = key_range(self.leaves, from, to).map(|(k, v)| (*k, v.clone())).peekable();
        if let Some(prefetched) = self.prefetched.filter(|p| p.covers(&from, to.as_ref())) {
            return merge_leaves(|g| read_prefetched(prefetched, from, to, g), &mut overlay, f);
        }
        merge_leaves(
            |g| {
                self.leaves_table.scan(&[], &from, to.as_ref(), &mut |key, value| {
                    let (account, root) = decode_hashed_account(value)?;
                    g(leaf_key(key)?, &account_rlp(&account, &root))
                })
            },
            &mut overlay,
            f,
        )
    }
}

/// One account's storage trie. `C` is a [`Cursor`] (owned, for a task of a parallel root) or a
/// reference to one (shared by the storage tries of one state root).
struct StorageTrie<'a, C> {
    leaves_table: C,
    nodes_table: C,
    hashed_address: B256,
    slots: &'a BTreeMap<B256, U256>,
    /// Stored slots and nodes of this account no longer count.
    wiped: bool,
    prefetched: Option<&'a LeafRanges>,
}

impl<'db, C: Borrow<Cursor<'db>>> TrieSource for StorageTrie<'_, C> {
    type Error = StorageError;

    fn first_node_under(&self, prefix: &Nibbles) -> Result<Option<(Nibbles, BranchNodeCompact)>> {
        if self.wiped {
            return Ok(None);
        }
        self.nodes_table.borrow().first_node(self.hashed_address.as_slice(), prefix)
    }

    fn for_each_leaf(
        &self,
        from: B256,
        to: Option<B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<()> {
        let mut overlay = key_range(self.slots, from, to)
            .map(|(k, v)| (*k, (!v.is_zero()).then(|| alloy_rlp::encode(v))))
            .peekable();
        if self.wiped {
            for (k, v) in overlay {
                if let Some(v) = v {
                    f(k, &v);
                }
            }
            return Ok(());
        }
        if let Some(prefetched) = self.prefetched.filter(|p| p.covers(&from, to.as_ref())) {
            return merge_leaves(|g| read_prefetched(prefetched, from, to, g), &mut overlay, f);
        }
        let prefix = self.hashed_address;
        merge_leaves(
            |g| {
                self.leaves_table.borrow().scan(
                    prefix.as_slice(),
                    &from,
                    to.as_ref(),
                    &mut |k, v| {
                        let value = crate::tables::decode_u256(v)?;
                        g(leaf_key(k)?, &alloy_rlp::encode(value))
                    },
                )
            },
            &mut overlay,
            f,
        )
    }
}

/// The read-ahead leaves in `[from, to)`, in order.
fn read_prefetched(
    prefetched: &LeafRanges,
    from: B256,
    to: Option<B256>,
    g: &mut dyn FnMut(B256, &[u8]) -> Result<()>,
) -> Result<()> {
    prefetched.range(from, to).try_for_each(|(key, value)| g(*key, value))
}

pub(crate) fn leaf_key(raw: &[u8]) -> Result<B256> {
    B256::try_from(raw).map_err(|_| StorageError::corrupt("hashed state key"))
}
