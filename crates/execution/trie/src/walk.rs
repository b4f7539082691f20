use crate::PrefixSet;
use alloy_primitives::{B256, map::HashMap};
use alloy_trie::{BranchNodeCompact, HashBuilder, Nibbles};

/// Where the walk reads leaves and stored branch nodes from.
///
/// Implementations must present the state *after* the change being hashed: the storage crate
/// lays the pending block's hashed changes over RocksDB.
pub trait TrieSource {
    /// The source's error.
    type Error;

    /// The first stored branch node whose path starts with `prefix`, in path order. A node at
    /// exactly `prefix` comes first.
    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, Self::Error>;

    /// Calls `f` with each leaf `(hashed key, RLP value)` with `from <= key < to` in ascending
    /// key order. `to = None` means no upper bound.
    fn for_each_leaf(
        &self,
        from: B256,
        to: Option<B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), Self::Error>;
}

/// The result of [`compute_root`]: the root and the node changes to store with it.
#[derive(Debug, Default, Clone)]
pub struct TrieUpdates {
    /// The trie's new root.
    pub root: B256,
    /// Branch nodes to write, by path.
    pub updated: HashMap<Nibbles, BranchNodeCompact>,
    /// Paths of stored branch nodes that no longer exist.
    pub removed: Vec<Nibbles>,
}

/// Computes the root of the trie in `source`, re-hashing only paths under `changed`.
///
/// # Errors
///
/// Whatever the source returns.
pub fn compute_root<S: TrieSource>(
    source: &S,
    changed: &PrefixSet,
) -> Result<TrieUpdates, S::Error> {
    let mut walk = Walk {
        source,
        changed,
        hb: HashBuilder::default().with_updates(true),
        touched: Vec::new(),
    };
    walk.region(Nibbles::default())?;
    let Walk { mut hb, touched, .. } = walk;
    let root = hb.root();
    let (_, updated) = hb.split();
    let removed = touched.into_iter().filter(|path| !updated.contains_key(path)).collect();
    Ok(TrieUpdates { root, updated, removed })
}

struct Walk<'a, S> {
    source: &'a S,
    changed: &'a PrefixSet,
    hb: HashBuilder,
    /// Stored nodes visited in a changed region; each is re-emitted if it still exists.
    touched: Vec<Nibbles>,
}

impl<S: TrieSource> Walk<'_, S> {
    /// Feeds everything under `prefix` to the hash builder.
    fn region(&mut self, prefix: Nibbles) -> Result<(), S::Error> {
        let Some((path, node)) = self.source.first_node_under(&prefix)? else {
            return self.leaves(range_start(&prefix), range_end(&prefix));
        };
        if path == prefix {
            return self.branch(path, &node);
        }
        // `prefix` was an extension down to the branch at `path`. New keys may now sit beside it.
        self.leaves(range_start(&prefix), Some(range_start(&path)))?;
        self.branch(path, &node)?;
        match range_end(&path) {
            Some(after) => self.leaves(after, range_end(&prefix)),
            None => Ok(()),
        }
    }

    fn branch(&mut self, path: Nibbles, node: &BranchNodeCompact) -> Result<(), S::Error> {
        self.touched.push(path);
        for nibble in 0u8..16 {
            let mut child = path;
            child.push(nibble);
            if !self.changed.contains_prefix(&child) {
                if node.hash_mask.is_bit_set(nibble) {
                    let hash = node.hash_for_nibble(nibble);
                    self.hb.add_branch(child, hash, node.tree_mask.is_bit_set(nibble));
                    continue;
                }
                if !node.state_mask.is_bit_set(nibble) {
                    continue;
                }
            }
            self.region(child)?;
        }
        Ok(())
    }

    fn leaves(&mut self, from: B256, to: Option<B256>) -> Result<(), S::Error> {
        let hb = &mut self.hb;
        self.source.for_each_leaf(from, to, &mut |key, value| {
            hb.add_leaf(Nibbles::unpack(key), value);
        })
    }
}

/// The smallest key under `prefix`.
fn range_start(prefix: &Nibbles) -> B256 {
    let mut out = B256::ZERO;
    prefix.pack_to(out.as_mut_slice());
    out
}

/// The smallest key after every key under `prefix`, or `None` when nothing follows.
fn range_end(prefix: &Nibbles) -> Option<B256> {
    prefix.increment().map(|next| range_start(&next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EMPTY_ROOT_HASH, TrieAccount};
    use alloy_primitives::{U256, keccak256};
    use std::{collections::BTreeMap, convert::Infallible};

    /// A whole trie in memory: leaves plus the nodes the last walk stored.
    #[derive(Default)]
    struct MemTrie {
        leaves: BTreeMap<B256, Vec<u8>>,
        nodes: BTreeMap<Nibbles, BranchNodeCompact>,
    }

    impl TrieSource for MemTrie {
        type Error = Infallible;

        fn first_node_under(
            &self,
            prefix: &Nibbles,
        ) -> Result<Option<(Nibbles, BranchNodeCompact)>, Infallible> {
            Ok(self
                .nodes
                .range(*prefix..)
                .next()
                .filter(|(path, _)| path.starts_with(prefix))
                .map(|(p, n)| (*p, n.clone())))
        }

        fn for_each_leaf(
            &self,
            from: B256,
            to: Option<B256>,
            f: &mut dyn FnMut(B256, &[u8]),
        ) -> Result<(), Infallible> {
            for (k, v) in self.leaves.range(from..) {
                if to.is_some_and(|to| *k >= to) {
                    break;
                }
                f(*k, v);
            }
            Ok(())
        }
    }

    impl MemTrie {
        fn apply(&mut self, changes: &[(B256, Option<Vec<u8>>)]) -> B256 {
            for (k, v) in changes {
                match v {
                    Some(v) => self.leaves.insert(*k, v.clone()),
                    None => self.leaves.remove(k),
                };
            }
            let set = PrefixSet::from_hashed_keys(changes.iter().map(|(k, _)| *k));
            let updates = compute_root(self, &set).unwrap();
            for path in updates.removed {
                self.nodes.remove(&path);
            }
            self.nodes.extend(updates.updated);
            updates.root
        }

        fn reference_root(&self) -> B256 {
            let mut hb = HashBuilder::default();
            for (k, v) in &self.leaves {
                hb.add_leaf(Nibbles::unpack(k), v);
            }
            hb.root()
        }

        /// A walk with nothing changed must reproduce the stored nodes exactly.
        fn assert_nodes_consistent(&self) {
            let mut fresh = MemTrie { leaves: self.leaves.clone(), nodes: BTreeMap::new() };
            let all = PrefixSet::from_hashed_keys(self.leaves.keys().copied());
            let updates = compute_root(&fresh, &all).unwrap();
            fresh.nodes.extend(updates.updated);
            for (path, node) in &self.nodes {
                match fresh.nodes.get(path) {
                    None => panic!("stale node at {path:?}: {node:?}"),
                    Some(n) if n != node => {
                        panic!("node differs at {path:?}: stored {node:?} fresh {n:?}")
                    }
                    _ => {}
                }
            }
            assert_eq!(fresh.nodes, self.nodes, "stored nodes drifted from a full rebuild");
        }
    }

    fn value(i: u64) -> Vec<u8> {
        alloy_rlp::encode(U256::from(i) + U256::from(1))
    }

    /// A small deterministic generator, so the test needs no extra crate.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn empty_and_single() {
        let mut trie = MemTrie::default();
        assert_eq!(trie.apply(&[]), EMPTY_ROOT_HASH);
        let k = keccak256([1u8]);
        assert_eq!(trie.apply(&[(k, Some(value(1)))]), trie.reference_root());
        assert_eq!(trie.apply(&[(k, None)]), EMPTY_ROOT_HASH);
    }

    #[test]
    fn incremental_matches_full_rebuild() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut trie = MemTrie::default();
        let mut live: Vec<B256> = Vec::new();
        for round in 0..40u64 {
            let mut changes = Vec::new();
            let inserts = if round == 0 { 500 } else { next(&mut seed) % 40 };
            for _ in 0..inserts {
                let k = keccak256(next(&mut seed).to_be_bytes());
                changes.push((k, Some(value(next(&mut seed) % 1000))));
                live.push(k);
            }
            // updates and deletions of existing keys
            for _ in 0..(next(&mut seed) % 30) {
                if live.is_empty() {
                    break;
                }
                let i = (next(&mut seed) as usize) % live.len();
                if next(&mut seed).is_multiple_of(2) {
                    changes.push((live.swap_remove(i), None));
                } else {
                    changes.push((live[i], Some(value(round))));
                }
            }
            let root = trie.apply(&changes);
            assert_eq!(root, trie.reference_root(), "round {round}");
            trie.assert_nodes_consistent();
        }
        trie.assert_nodes_consistent();
        // delete everything, one batch at a time
        while !live.is_empty() {
            let n = live.len().min(97);
            let changes: Vec<_> = live.drain(..n).map(|k| (k, None)).collect();
            assert_eq!(trie.apply(&changes), trie.reference_root());
            trie.assert_nodes_consistent();
        }
        assert_eq!(trie.reference_root(), EMPTY_ROOT_HASH);
        assert!(trie.nodes.is_empty(), "nodes left after deleting every leaf");
    }

    #[test]
    fn clustered_keys_with_extensions() {
        // Keys that share long prefixes force extension nodes above stored branches.
        let mut trie = MemTrie::default();
        let mut changes = Vec::new();
        for i in 0..64u8 {
            let mut k = B256::repeat_byte(0xab);
            k.0[20] = i;
            k.0[31] = i.wrapping_mul(7);
            changes.push((k, Some(value(i as u64))));
        }
        assert_eq!(trie.apply(&changes), trie.reference_root());
        // a key beside the extension
        let mut side = B256::repeat_byte(0xab);
        side.0[5] = 0;
        assert_eq!(trie.apply(&[(side, Some(value(5)))]), trie.reference_root());
        trie.assert_nodes_consistent();
        assert_eq!(trie.apply(&[(side, None)]), trie.reference_root());
        trie.assert_nodes_consistent();
    }

    #[test]
    fn account_root_matches_alloy() {
        let accounts: Vec<(B256, TrieAccount)> = (0..100u64)
            .map(|i| {
                let acc = TrieAccount {
                    nonce: i,
                    balance: U256::from(i * 1000),
                    storage_root: EMPTY_ROOT_HASH,
                    code_hash: keccak256([]),
                };
                (keccak256(i.to_be_bytes()), acc)
            })
            .collect();
        let mut trie = MemTrie::default();
        let changes: Vec<_> =
            accounts.iter().map(|(k, a)| (*k, Some(alloy_rlp::encode(a)))).collect();
        let root = trie.apply(&changes);
        assert_eq!(
            root,
            alloy_trie::root::state_root_unsorted(accounts.iter().map(|(k, a)| (*k, *a)))
        );
    }
}
