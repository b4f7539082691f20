//! A load generator that accounts for every transaction a node acknowledged.
//!
//! `tributary bench txload` and the end-to-end load test both run [`run_load`]. It works
//! against any Ethereum JSON-RPC endpoint (ours, anvil, hardhat), over HTTP only, and only on
//! loopback: it is a tool for measuring a node on this machine, never for loading someone
//! else's.
//!
//! # Phases
//!
//! 1. **Fund.** Fresh sender keys (derived from a per-run seed, so every run starts at nonce 0)
//!    are funded from one funder key in a single in-order burst, and the run waits until the
//!    funder's nonce shows them all mined.
//! 2. **Pre-sign.** Every transfer is signed before the clock starts, so the figures measure
//!    the node, not secp256k1. Each transfer sends 1 wei to one sink address.
//! 3. **Send.** `concurrency` workers, each with its own HTTP connection, own disjoint sets of
//!    senders and send each sender's transactions in nonce order (nonce-major across their
//!    senders), as fast as the node answers or paced to `rate`. A hash that comes back must be
//!    the one signed.
//! 4. **Watch.** A watcher polls the head every 20 ms and reads each new block's transaction
//!    hashes: the time from a transaction's send to the first poll that sees it in a block is
//!    its latency (so latencies carry up to one poll interval of error).
//! 5. **Settle.** After the last send the run waits until every acknowledged transaction is in a
//!    block, or until the chain has moved `settle_blocks` blocks past the last one that
//!    included any of them (the "chain has moved on" rule), or the timeout.
//! 6. **Account.** Every acknowledged hash is looked up with `eth_getTransactionReceipt`: one
//!    without a receipt is *lost*, and `eth_getTransactionByHash` tells whether the node still
//!    holds it (waiting) or it vanished. Every sender's final nonce is compared with the number
//!    of its transactions the node acknowledged.
//!
//! Everything is bounded: at most [`MAX_TXS`] transactions, and the whole run by
//! [`LoadConfig::timeout`].

mod report;
mod rpc;
mod run;

pub use report::{LoadReport, SenderNonce};
pub use rpc::{LoadError, Result};
pub use run::{LoadConfig, MAX_TXS, run_load};
