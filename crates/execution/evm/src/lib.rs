//! Tributary's EVM configuration and block executor, on op-revm through alloy-evm and
//! alloy-op-evm.
//!
//! # Parts
//!
//! - [`EvmConfig`]: the chain spec, alloy-op-evm's `OpBlockExecutorFactory` and the EVM factory.
//!   It turns a header into an `EvmEnv` (the OP spec id from the hardfork schedule) and builds
//!   the next header's fields (base fee, `extraData`, roots).
//! - [`EvmConfig::build_block`]: the sequencer's path. It runs the L1 attributes deposit and the
//!   block's deposits, then pool transactions in the order given, skipping any the EVM rejects
//!   as invalid, computes the state root over the result and seals the header.
//! - [`EvmConfig::build_block_in_rounds`]: the same block built in rounds (flashblocks): the
//!   sequencer adds the pool's newest transactions every round of its slot and shows each
//!   round's receipts before it seals (`rounds.rs`).
//! - [`EvmConfig::execute_block`]: the import path (replay, followers). Every transaction must
//!   execute; gas used, receipts root, transactions root and state root must match the header.
//! - [`EvmConfig::transact`]: one transaction against the state at some block, not committed,
//!   for `eth_call` and `eth_estimateGas`.
//!
//! Both block paths collect revm's `BundleState` for the block and turn it into the storage
//! crate's [`StateDiff`](tributary_storage::StateDiff) (plain changes with their old values), which gives the change sets for
//! history and unwinds, and the prefix set for the incremental state root.
//!
//! # Ethereum chains
//!
//! On a chain spec of kind `Ethereum` (the L1 dev chain) [`EvmConfig`] runs blocks on
//! alloy-evm's Ethereum executor at Prague instead (`eth.rs`): no L1 attributes deposit, base
//! fee burned, the beneficiary is the genesis coinbase. `eth_call` and `eth_estimateGas` still
//! run on op-revm at Isthmus, which is Prague plus the P256VERIFY precompile; calls carry no
//! enveloped bytes, so no L1 data fee is charged there.
//!
//! # The precompile seam
//!
//! The EVM comes from [`TributaryEvmFactory`], which today is alloy-op-evm's `OpEvmFactory`
//! unchanged. The Attribution and Royalties precompiles (issue 3) are installed there, with a
//! shared cache of the records of every batch `settleBatch` settles, by Merkle root: after a
//! block runs, each `BatchSettled` log's records are taken from it (or from the transaction's
//! input, for a direct call) into [`ExecutedBlock::batches`](tributary_storage::ExecutedBlock::batches), which the storage crate indexes
//! with the block (`batches.rs`).
//!
//! # Parent still being written
//!
//! Both block paths run on the database's tip, which may be a block still being written on
//! another thread (`Database::commit_block_in_background`): execution reads it through the
//! latest state's overlay, and the state root waits for the write first (timed apart as
//! [`ImportTimings::parent_write`]).

mod batches;
mod build;
mod config;
mod diff;
mod error;
mod eth;
mod rounds;
mod senders;

pub use build::{BlockAttributes, BuiltBlock, ExecutionOutput, ImportTimings, call_tx};
pub use config::{EvmConfig, SEQUENCER_FEE_VAULT, TributaryEvmFactory};
pub use diff::bundle_to_diff;
pub use error::{ExecutionError, Result};
pub use rounds::{NextRound, PendingAccount, Round};
pub use senders::{PARALLEL_RECOVERY_MIN, SenderCache};

pub use alloy_op_evm::OpTx;
pub use op_revm::{OpHaltReason, OpSpecId, OpTransaction};
