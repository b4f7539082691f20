use crate::PrefixSet;
use alloy_primitives::{B256, map::HashMap};
use alloy_trie::{BranchNodeCompact, HashBuilder, Nibbles, TrieMask};

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

/// [`compute_root`] with the root branch's changed children hashed in parallel on the rayon
/// pool, each from its own source (`make_source` is called once per child: a source may hold
/// a cursor that is not shared between threads).
///
/// Each child's subtrie goes through its own hash builder, beside a placeholder sibling so
/// that the child comes out as a branch child of a root, whose hash the builder's root node
/// then holds, exactly as a stored node holds the hash of an unchanged child. The children's
/// hashes are then put together under the root as [`compute_root`] puts stored hashes. Where
/// that does not apply (no branch at the root, fewer than two changed children, an unchanged
/// child that is a plain leaf, a changed child that no longer hashes as a branch), it falls
/// back to [`compute_root`]; the result is the same either way.
///
/// # Errors
///
/// Whatever a source returns.
pub fn compute_root_parallel<S, F>(
    make_source: F,
    changed: &PrefixSet,
) -> Result<TrieUpdates, S::Error>
where
    F: Fn() -> S + Sync,
    S: TrieSource,
    S::Error: Send,
{
    use rayon::prelude::*;
    let source = make_source();
    let root_path = Nibbles::default();
    let Some((path, root)) = source.first_node_under(&root_path)? else {
        return compute_root(&source, changed);
    };
    let changed_children: Vec<u8> = (0u8..16)
        .filter(|nibble| changed.contains_prefix(&child_path(&root_path, *nibble)))
        .collect();
    let unchanged_leaf = (0u8..16).any(|nibble| {
        !changed_children.contains(&nibble)
            && root.state_mask.is_bit_set(nibble)
            && !root.hash_mask.is_bit_set(nibble)
    });
    if path != root_path || changed_children.len() < 2 || unchanged_leaf {
        return compute_root(&source, changed);
    }
    let subtries = changed_children
        .par_iter()
        .map(|nibble| Ok((*nibble, subtrie(&make_source(), changed, *nibble)?)))
        .collect::<Result<Vec<_>, S::Error>>()?;
    if subtries.iter().any(|(_, sub)| matches!(sub, Subtrie::NotABranch)) {
        return compute_root(&source, changed);
    }

    let mut hb = HashBuilder::default().with_updates(true);
    let mut touched = vec![root_path];
    let mut updated = HashMap::default();
    let mut subtries = subtries.into_iter().peekable();
    for nibble in 0u8..16 {
        let child = child_path(&root_path, nibble);
        if subtries.peek().is_some_and(|(changed, _)| *changed == nibble) {
            let Some((_, sub)) = subtries.next() else { break };
            if let Subtrie::Branch { hash, stored, nodes, visited } = sub {
                hb.add_branch(child, hash, stored);
                updated.extend(nodes);
                touched.extend(visited);
            } else if let Subtrie::Empty { visited } = sub {
                touched.extend(visited);
            }
            continue;
        }
        if root.hash_mask.is_bit_set(nibble) {
            hb.add_branch(child, root.hash_for_nibble(nibble), root.tree_mask.is_bit_set(nibble));
        }
    }
    let root_hash = hb.root();
    let (_, top) = hb.split();
    updated.extend(top);
    let removed = touched.into_iter().filter(|path| !updated.contains_key(path)).collect();
    Ok(TrieUpdates { root: root_hash, updated, removed })
}

/// One changed child of the root, hashed on its own.
enum Subtrie {
    /// Nothing is left under it.
    Empty { visited: Vec<Nibbles> },
    /// It is a branch (or an extension to one) with this hash.
    Branch {
        hash: B256,
        /// Whether its node is stored (the root's `tree_mask` bit).
        stored: bool,
        nodes: HashMap<Nibbles, BranchNodeCompact>,
        visited: Vec<Nibbles>,
    },
    /// It hashes to something the root does not keep as a hash (a lone leaf).
    NotABranch,
}

fn subtrie<S: TrieSource>(
    source: &S,
    changed: &PrefixSet,
    nibble: u8,
) -> Result<Subtrie, S::Error> {
    let root_path = Nibbles::default();
    let mut walk = Walk {
        source,
        changed,
        hb: HashBuilder::default().with_updates(true),
        touched: Vec::new(),
    };
    // A placeholder sibling, in key order, makes the builder's root a branch with our child.
    let sibling = if nibble < 15 { nibble + 1 } else { nibble - 1 };
    let placeholder = |hb: &mut HashBuilder| {
        hb.add_branch(child_path(&root_path, sibling), B256::ZERO, false);
    };
    if sibling < nibble {
        placeholder(&mut walk.hb);
    }
    walk.region(child_path(&root_path, nibble))?;
    if sibling > nibble {
        placeholder(&mut walk.hb);
    }
    let Walk { mut hb, touched, .. } = walk;
    hb.root();
    let (_, mut nodes) = hb.split();
    let top = nodes.remove(&root_path);
    Ok(match top {
        // Only the placeholder is left: the builder made it an extension, not a branch.
        None => Subtrie::Empty { visited: touched },
        Some(top) if !top.state_mask.is_bit_set(nibble) => Subtrie::Empty { visited: touched },
        Some(top) if top.hash_mask.is_bit_set(nibble) => Subtrie::Branch {
            hash: top.hash_for_nibble(nibble),
            stored: top.tree_mask.is_bit_set(nibble),
            nodes,
            visited: touched,
        },
        Some(_) => Subtrie::NotABranch,
    })
}

fn child_path(parent: &Nibbles, nibble: u8) -> Nibbles {
    let mut child = *parent;
    child.push(nibble);
    child
}

impl<T: TrieSource> TrieSource for &T {
    type Error = T::Error;

    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, Self::Error> {
        (**self).first_node_under(prefix)
    }

    fn for_each_leaf(
        &self,
        from: B256,
        to: Option<B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), Self::Error> {
        (**self).for_each_leaf(from, to, f)
    }
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
        match self.source.first_node_under(&prefix)? {
            None => self.leaves(range_start(&prefix), range_end(&prefix)),
            Some(found) => self.region_at(prefix, found),
        }
    }

    /// [`Self::region`] where `found` is the first stored node under `prefix`.
    fn region_at(
        &mut self,
        prefix: Nibbles,
        (path, node): (Nibbles, BranchNodeCompact),
    ) -> Result<(), S::Error> {
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

    /// Feeds a stored branch and everything under it.
    ///
    /// A child's `tree_mask` bit says whether a stored node lies under it (the hash builder
    /// stores a branch, and sets that bit in its parent, unless all the branch's children are
    /// leaves). Only such children are walked into; every other child that must be read is
    /// read as leaves, and adjacent ones in one range scan. The scan runs on across children
    /// with nothing under them and across unchanged children that are unstored branches: it
    /// skips their leaves (at most 16) and feeds their stored hash in their place. At the
    /// bottom of a large trie that is one seek per changed branch instead of one per leaf.
    fn branch(&mut self, path: Nibbles, node: &BranchNodeCompact) -> Result<(), S::Error> {
        self.touched.push(path);
        let mut scan = LeafScan::default();
        for nibble in 0u8..16 {
            let child = child_path(&path, nibble);
            let stored_below = node.tree_mask.is_bit_set(nibble);
            if !self.changed.contains_prefix(&child) {
                if node.hash_mask.is_bit_set(nibble) {
                    let hash = node.hash_for_nibble(nibble);
                    if stored_below {
                        self.scan(&path, &mut scan)?;
                        self.hb.add_branch(child, hash, true);
                    } else {
                        scan.hashed.push((nibble, hash));
                    }
                    continue;
                }
                if !node.state_mask.is_bit_set(nibble) {
                    continue;
                }
            }
            if stored_below {
                self.scan(&path, &mut scan)?;
                self.region(child)?;
            } else {
                scan.read(nibble, &child);
            }
        }
        self.scan(&path, &mut scan)
    }

    /// Runs and clears `scan`, the pending read of `parent`'s children.
    fn scan(&mut self, parent: &Nibbles, scan: &mut LeafScan) -> Result<(), S::Error> {
        let LeafScan { range, read, hashed } = std::mem::take(scan);
        let depth = parent.len();
        let mut hashed = hashed.into_iter().peekable();
        let hb = &mut self.hb;
        let mut add_hashed_below = |hb: &mut HashBuilder, below: u8| {
            while let Some((nibble, hash)) = hashed.next_if(|(nibble, _)| *nibble < below) {
                hb.add_branch(child_path(parent, nibble), hash, false);
            }
        };
        if let Some((from, to)) = range {
            self.source.for_each_leaf(from, to, &mut |key, value| {
                let Some(nibble) = nibble_at(&key, depth) else { return };
                if read.is_bit_set(nibble) {
                    add_hashed_below(hb, nibble);
                    hb.add_leaf(Nibbles::unpack(key), value);
                }
            })?;
        }
        add_hashed_below(hb, 16);
        Ok(())
    }

    fn leaves(&mut self, from: B256, to: Option<B256>) -> Result<(), S::Error> {
        let hb = &mut self.hb;
        self.source.for_each_leaf(from, to, &mut |key, value| {
            hb.add_leaf(Nibbles::unpack(key), value);
        })
    }
}

/// Children of one branch whose leaves are still to be fed, gathered into one range read.
#[derive(Default)]
struct LeafScan {
    /// From the first child to read to the end of the last one.
    range: Option<(B256, Option<B256>)>,
    /// The children whose leaves are fed.
    read: TrieMask,
    /// Unchanged unstored branches, in nibble order, fed as their hash: the scan may pass
    /// over their leaves but does not feed them.
    hashed: Vec<(u8, B256)>,
}

impl LeafScan {
    fn read(&mut self, nibble: u8, child: &Nibbles) {
        self.read.set_bit(nibble);
        let end = range_end(child);
        match &mut self.range {
            Some((_, to)) => *to = end,
            None => self.range = Some((range_start(child), end)),
        }
    }
}

/// The `depth`-th nibble of `key`.
fn nibble_at(key: &B256, depth: usize) -> Option<u8> {
    let byte = key.get(depth / 2)?;
    Some(if depth.is_multiple_of(2) { byte >> 4 } else { byte & 0x0f })
}

/// The keys under `prefix`: from the smallest to the first key after all of them (`None`
/// when nothing follows).
pub fn prefix_range(prefix: &Nibbles) -> (B256, Option<B256>) {
    (range_start(prefix), range_end(prefix))
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
        /// Range scans served.
        scans: std::sync::atomic::AtomicUsize,
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
            self.scans.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
            // The parallel walk must give exactly the same root and node changes.
            let this: &MemTrie = self;
            let parallel = compute_root_parallel(|| this, &set).unwrap();
            assert_eq!(parallel.root, updates.root);
            assert_eq!(parallel.updated, updates.updated);
            let sorted = |mut paths: Vec<Nibbles>| {
                paths.sort();
                paths
            };
            assert_eq!(sorted(parallel.removed), sorted(updates.removed.clone()));
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
            let mut fresh = MemTrie { leaves: self.leaves.clone(), ..Default::default() };
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

    /// On a wide trie with changes under several root children, each changed child gets its
    /// own source (the parallel path, not the fallback), and the root is the full rebuild's.
    #[test]
    fn parallel_walk_splits_a_wide_trie_by_root_child() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut seed = 7u64;
        let mut trie = MemTrie::default();
        let initial: Vec<_> = (0..2_000)
            .map(|_| (keccak256(next(&mut seed).to_be_bytes()), Some(value(next(&mut seed)))))
            .collect();
        trie.apply(&initial);
        let changes: Vec<_> =
            initial.iter().step_by(50).map(|(k, _)| (*k, Some(value(99_999)))).collect();
        for (k, v) in &changes {
            trie.leaves.insert(*k, v.clone().unwrap());
        }
        let set = PrefixSet::from_hashed_keys(changes.iter().map(|(k, _)| *k));
        let sources = AtomicUsize::new(0);
        let this = &trie;
        let updates = compute_root_parallel(
            || {
                sources.fetch_add(1, Ordering::Relaxed);
                this
            },
            &set,
        )
        .unwrap();
        assert_eq!(updates.root, trie.reference_root());
        let children =
            (0u8..16).filter(|n| set.contains_prefix(&Nibbles::from_nibbles([*n]))).count();
        assert!(children >= 8, "changes under {children} root children");
        assert_eq!(sources.load(Ordering::Relaxed), 1 + children, "one source per changed child");
    }

    /// Changing one leaf deep in a large trie reads the leaves under its bottom branch in one
    /// to three range scans, not one scan per sibling leaf.
    #[test]
    fn one_change_reads_its_bottom_branch_in_one_scan() {
        let mut seed = 11u64;
        let mut trie = MemTrie::default();
        let initial: Vec<_> = (0..20_000)
            .map(|_| (keccak256(next(&mut seed).to_be_bytes()), Some(value(next(&mut seed)))))
            .collect();
        trie.apply(&initial);
        let mut scans = Vec::new();
        for (i, (key, _)) in initial.iter().step_by(997).enumerate() {
            trie.leaves.insert(*key, value(1_000_000 + i as u64));
            trie.scans.store(0, std::sync::atomic::Ordering::Relaxed);
            let updates = compute_root(&trie, &PrefixSet::from_hashed_keys([*key])).unwrap();
            assert_eq!(updates.root, trie.reference_root());
            scans.push(trie.scans.load(std::sync::atomic::Ordering::Relaxed));
            for path in updates.removed {
                trie.nodes.remove(&path);
            }
            trie.nodes.extend(updates.updated);
        }
        // One scan for the bottom branch; where a stored branch sits beside the changed leaf,
        // the siblings before and after it are a scan each. (One scan per sibling leaf before:
        // about six per change at the bottom of a million-key trie.)
        assert!(scans.iter().all(|n| *n <= 3), "range scans per changed leaf: {scans:?}");
        assert!(scans.iter().sum::<usize>() <= 2 * scans.len(), "{scans:?}");
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
