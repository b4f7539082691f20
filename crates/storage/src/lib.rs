//! RocksDB storage for Tributary: blocks, receipts, the tx index, plain state, history and the
//! state trie.
//!
//! # Layout
//!
//! One RocksDB database with a column family per table (the list and key encodings are in
//! `tables.rs`). It is an archive node's layout, after reth's:
//!
//! - **Blocks**: headers, bodies, senders and receipts by block number; the canonical hash by
//!   number; the number by hash; `(number, index)` by transaction hash.
//! - **Plain state**: accounts by address, storage by `address ++ slot`, code by hash. This is
//!   what execution reads.
//! - **Change sets**: for every block, the value each account and slot had *before* the block.
//!   They serve history and unwinds.
//! - **History index**: `address ++ number` (and `address ++ slot ++ number`) for every block
//!   that changed the key. The state after block `N` is read by seeking the first change after
//!   `N`: if there is one, its change set holds the value; if not, plain state does.
//! - **Hashed state and trie nodes**: the trie's leaves (`keccak(address)`, `keccak(slot)`) and
//!   the branch nodes of the account trie and of every storage trie, for the incremental root
//!   (see `tributary-trie`). The account trie's nodes, and the storage roots of the accounts
//!   that have storage, are also kept in memory, loaded at open and updated after each write,
//!   so a state root does not read RocksDB for them (`node_cache.rs`).
//! - **Prefetched leaves**: while a block executes, a worker reads the trie leaves its state
//!   root will need (the siblings under each read key's bottom branch), so the root mostly
//!   hashes (`prefetch.rs`).
//! - **Settled batches**: the packed records of every `settleBatch` by batch id, with the
//!   block and transaction that settled them; the state keeps only each batch's Merkle root,
//!   so this answers per-inference lookups and proofs (`batches.rs`).
//! - **Hot state**: accounts, slots and code the latest-state readers (execution, the pool)
//!   asked for or the newest blocks wrote, held in memory across blocks and updated with every
//!   write (`hot_state.rs`).
//!
//! # Writes
//!
//! [`Database::commit_block`] writes a block, its receipts, its state changes, change sets,
//! history, hashed state and trie nodes, and the new head pointer, in one `WriteBatch`: after a
//! crash the node resumes at the last block written whole. [`Database::unwind`] removes blocks
//! from the tip the same way, one batch per block, restoring state from the change sets and
//! re-hashing the trie under the keys it restores; it checks the root it gets against the
//! parent header before writing anything.
//!
//! [`Database::commit_block_in_background`] writes the same batch on a `block-writer` thread
//! while the writer executes the next block (`persist.rs`): the head, and every read of
//! blocks and history, move to the block only once it is written, so nothing a client was
//! shown is lost to `kill -9`; the writer builds on [`Database::tip`], reading the unwritten
//! block's state from an in-memory overlay; the state root, the trie read-ahead, commits and
//! unwinds first wait for the write ([`Database::wait_persisted`]).
//!
//! # Reads and concurrency
//!
//! One writer (the node's block pipeline), many readers. Readers always read state *at a block
//! number* ([`Database::state_at`]); they read plain state first and the history index second,
//! so a block committed between the two reads is seen in the history index and the answer stays
//! the state at that number. Only the writer uses [`Database::latest_state`], which skips the
//! history lookup, and reads through the hot state; the pool uses it too, for the newest nonce
//! and balance, since it re-checks them under its own lock after every block.

mod batches;
mod db;
mod error;
mod hot_state;
mod node_cache;
mod persist;
mod prefetch;
mod state;
mod tables;
mod trie_source;
mod write;

pub use batches::{ModelTotals, SettledBatch};
pub use db::{Database, DatabaseConfig, StoredTxLocation};
pub use error::{Result, StorageError};
pub use persist::OnWritten;
pub use prefetch::{MAX_LEAVES_PER_RANGE, PrefetchedLeaves, TriePrefetch};
pub use state::StateProvider;
pub use trie_source::StateRootOutput;
pub use write::{AccountChange, ExecutedBlock, StateDiff, StorageChange};
