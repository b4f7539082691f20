//! `tributary bench`: whole-node benchmarks. Each prints ratios to a baseline measured in the
//! same run.

mod attribution;
mod batches;
mod derive;
mod import;
mod split;
mod txload;

use clap::{Args, Subcommand};

/// `tributary bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    pub(crate) kind: BenchKind,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchKind {
    /// Block import through execution, state root and RocksDB commit, against bare revm.
    Import(import::ImportArgs),
    /// Settlement in the native precompile against the same logic in Solidity.
    Attribution(attribution::AttributionArgs),
    /// Bytes posted to L1 per L2 transaction, by compression and batch type, against the raw
    /// signed transactions.
    Batches(batches::BatchesArgs),
    /// L2 blocks per second derived from L1 data and executed, against importing the same
    /// blocks directly.
    Derive(derive::DeriveArgs),
    /// Signed transfers against a running node over JSON-RPC: accepted and included tx/s,
    /// send-to-block latency, and every acknowledged transaction accounted for.
    Txload(txload::TxLoadArgs),
}

pub(crate) fn run(args: BenchArgs, runtime: &tokio::runtime::Runtime) -> eyre::Result<()> {
    match args.kind {
        BenchKind::Txload(args) => runtime.block_on(txload::run(args)),
        BenchKind::Import(args) => import::run(args),
        BenchKind::Attribution(args) => attribution::run(args),
        BenchKind::Batches(args) => batches::run(args),
        BenchKind::Derive(args) => derive::run(args),
    }
}
