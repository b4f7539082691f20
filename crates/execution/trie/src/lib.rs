//! Incremental Merkle Patricia state root over stored trie nodes.
//!
//! This is the same idea as reth's trie walker, written for our storage: the leaves (hashed
//! accounts, hashed storage slots) live in sorted key-value tables, and the branch nodes that
//! `alloy_trie::HashBuilder` produced last time are stored by their nibble path as
//! [`BranchNodeCompact`]. A new root only re-hashes the paths under changed keys.
//!
//! # How a root is computed
//!
//! [`compute_root`] walks the stored trie from the root with a [`PrefixSet`] of changed keys:
//!
//! - A branch child whose path holds no changed key and whose hash is stored (its bit in the
//!   parent's `hash_mask`) is fed to the hash builder as that hash, without reading below it.
//!   `hash_mask` is only set for children that are branch nodes, so reusing a hash can never
//!   leave a lone leaf hidden behind an extension: if the parent collapses, the hash builder
//!   makes a valid extension to the branch.
//! - A child under a changed key is visited: where its `tree_mask` bit says a stored node lies
//!   under it, we recurse (into the branch at its path, or, if the branch sits deeper behind an
//!   extension, reading the leaves before and after it); otherwise its leaves are read.
//! - Leaves a branch needs are read in as few range scans as possible: one scan runs across
//!   adjacent children to read, across empty ones, and across unchanged children that are
//!   unstored branches (at most 16 leaves each: the hash builder stores every branch that has
//!   a branch child), skipping their leaves and feeding their stored hash instead. At the
//!   bottom of a large trie a changed key costs one seek, not one per sibling leaf.
//! - Every stored node visited is re-emitted by the hash builder if it still exists. The ones
//!   that are not are returned in [`TrieUpdates::removed`] for the caller to delete.
//!
//! The leaves come from a [`TrieSource`], which the storage crate implements over RocksDB with
//! the pending block's changes laid on top, so the root is known before the block is written.
//! Storage tries use the same walk, one per account, with their own node namespace.
//!
//! # On all cores
//!
//! [`compute_root_parallel`] hashes the root branch's changed children on the rayon pool, one
//! task and one source per child, then puts their hashes together under the root exactly as
//! a walk puts stored hashes of unchanged children. Each child's subtrie is hashed beside a
//! placeholder sibling, so that the hash builder's root holds the child's hash as a stored
//! branch would. Where that does not hold (a lone leaf under the root, an extension at the
//! top, fewer than two changed children) it falls back to [`compute_root`]. The storage crate
//! takes it for a trie with at least 512 changed keys.
//!
//! # Node encoding
//!
//! [`encode_node`] and [`decode_node`] give the stored form of a [`BranchNodeCompact`]: three
//! little masks, an optional root hash, then the child hashes.

mod codec;
mod prefix_set;
mod walk;

pub use alloy_trie::{BranchNodeCompact, EMPTY_ROOT_HASH, Nibbles, TrieAccount, TrieMask};
pub use codec::{DecodeNodeError, decode_node, encode_node};
pub use prefix_set::PrefixSet;
pub use walk::{TrieSource, TrieUpdates, compute_root, compute_root_parallel, prefix_range};
