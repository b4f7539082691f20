//! The `tributary` binary: `tributary node`, `l1`, `devnet`, `batcher`, `attr`, `bench`,
//! `health`.

mod attr_cli;
mod bench;
mod cli;
mod devnet_cli;
mod health_cli;
mod p2p_cli;
mod rollup_cli;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Node(args) => runtime.block_on(cli::run_node(*args)),
        Command::Bench(args) => bench::run(args, &runtime),
        Command::Attr(args) => runtime.block_on(attr_cli::run(*args)),
        Command::L1(args) => runtime.block_on(rollup_cli::run_l1(*args)),
        Command::Devnet(args) => runtime.block_on(rollup_cli::run_devnet(args)),
        Command::Batcher(args) => runtime.block_on(rollup_cli::run_batcher(*args)),
        Command::Health(args) => runtime.block_on(health_cli::run(args)),
    }
}

fn init_tracing() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
