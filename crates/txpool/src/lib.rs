//! Tributary's transaction pool.
//!
//! # Shape
//!
//! Transactions arrive as raw EIP-2718 bytes ([`TxPool::add_raw`]) and are checked in this
//! order, each failure worded as geth and reth word it: size (128 KiB), decoding, type (no
//! deposits; blobs only on the L1, see below), chain id, signature, fee fields, intrinsic gas,
//! block gas limit, nonce
//! against state, balance for `gas * maxFee + value`, the nonce gap (counted from the sender's
//! next *pool* nonce, so in-order bursts are accepted whole), the sender's slots, and
//! replacement of a known nonce (a 10% bump on both fee fields).
//!
//! Each sender's transactions sit in a nonce-ordered map. Those contiguous from the sender's
//! state nonce are *pending* (executable now); the rest are *queued* until the gap fills. The
//! pool learns new state nonces from [`TxPool::on_new_block`], which drops mined and stale
//! transactions and so promotes queued ones.
//!
//! [`TxPool::best_transactions`] yields pending transactions for a block: a max-heap by
//! effective tip over each sender's next nonce, so every sender's order is kept.
//!
//! When full, a new transaction evicts the cheapest tail transaction (the highest nonce of its
//! sender, so no pending chain breaks) if it pays more; otherwise it is refused.
//!
//! # Nothing acknowledged vanishes quietly
//!
//! A transaction leaves the pool only when it is mined (its nonce is used), replaced, evicted
//! for a better-paying one when the pool is full, or refused by the block builder for a fault
//! of its own ([`TxPool::drop_invalid`]). The last two are logged and counted in
//! `tributary_txpool_dropped_total{reason}`. A transaction that merely did not fit a block is
//! never dropped: the builder defers it and its sender's later transactions to the next block.
//!
//! With [`TxPool::open_journal`] every acknowledged transaction is also appended to a journal
//! file before its hash is returned, and added back on restart, so pending transactions survive
//! `kill -9` (`journal.rs`).
//!
//! # Blob transactions (the L1 dev chain)
//!
//! A pool made [`TxPool::with_blob_transactions`] takes EIP-4844 transactions in their network
//! form (`tributary_primitives::PooledTransaction`): 1 to 9 blobs, a blob fee cap of at least
//! 1 wei, and a sidecar whose commitments match the blob hashes and whose KZG proofs verify
//! (Ethereum's trusted setup, c-kzg). The 128 KiB limit is measured without the sidecar.
//! The balance check adds `blob gas * maxFeePerBlobGas`; a replacement bumps the blob fee cap
//! too. [`PooledTx::sidecar`] keeps the sidecar for the block builder, which stores it beside
//! the block for the beacon API, and the journal keeps the network form, so a restart keeps
//! the blobs. Without the flag (an L2) type 3 is "transaction type not supported".
//!
//! The pool reads state through [`StateView`], which the node implements over the database and
//! tests implement over a map.

mod journal;
mod pool;
mod validate;

pub use pool::{PoolConfig, PoolContent, PoolStatus, PooledTx, TxPool};
pub use validate::{PoolError, StateView};
