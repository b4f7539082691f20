//! `tributary bench`: whole-node benchmarks. Each prints ratios to a baseline measured in the
//! same run.

mod attribution;
mod import;

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
}

pub(crate) fn run(args: BenchArgs) -> eyre::Result<()> {
    match args.kind {
        BenchKind::Import(args) => import::run(args),
        BenchKind::Attribution(args) => attribution::run(args),
    }
}
