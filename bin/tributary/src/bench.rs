//! `tributary bench`: whole-node benchmarks.

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
    Import,
}

pub(crate) fn run(_args: BenchArgs) -> eyre::Result<()> {
    eyre::bail!("not written yet")
}
