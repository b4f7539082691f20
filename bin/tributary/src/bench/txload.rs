//! `tributary bench txload`: signed transfers over `eth_sendRawTransaction` against a running
//! node (ours, anvil or hardhat), with every acknowledged transaction accounted for. The
//! mechanics are in `tributary-loadgen`; this prints one report per requested rate.

use alloy::signers::local::PrivateKeySigner;
use std::time::Duration;
use tributary_devnet::accounts::dev_signer;
use tributary_loadgen::{LoadConfig, run_load};

#[derive(Debug, clap::Args)]
pub(crate) struct TxLoadArgs {
    /// The node's HTTP JSON-RPC URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Transfers to send per run.
    #[arg(long, default_value_t = 10_000)]
    txs: usize,
    /// Fresh senders to spread them over (funded from --funder-key).
    #[arg(long, default_value_t = 200)]
    senders: usize,
    /// Concurrent HTTP connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Target send rates in tx/s, one run each (comma-separated); unset sends at full speed.
    #[arg(long, value_delimiter = ',')]
    rate: Vec<f64>,
    /// Private key that funds the senders. Defaults to dev account 0.
    #[arg(long, value_name = "HEX")]
    funder_key: Option<String>,
    /// Blocks the chain must move past the last inclusion before what is missing is lost.
    #[arg(long, default_value_t = 10)]
    settle_blocks: u64,
    /// Bound on each run, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

pub(crate) async fn run(args: TxLoadArgs) -> eyre::Result<()> {
    let funder: PrivateKeySigner = match &args.funder_key {
        Some(key) => key.parse()?,
        None => dev_signer(0),
    };
    let rates: Vec<Option<f64>> = if args.rate.is_empty() {
        vec![None]
    } else {
        args.rate.iter().map(|r| Some(*r)).collect()
    };
    let mut lossless = true;
    for rate in rates {
        let config = LoadConfig {
            rpc: args.rpc.clone(),
            txs: args.txs,
            senders: args.senders,
            concurrency: args.concurrency,
            rate,
            funder: funder.clone(),
            settle_blocks: args.settle_blocks,
            timeout: Duration::from_secs(args.timeout_secs),
        };
        let target = rate.map_or_else(|| "full speed".to_string(), |r| format!("{r} tx/s"));
        println!(
            "txload: {} transfers from {} senders over {} connections at {target} to {}",
            args.txs, args.senders, args.concurrency, args.rpc
        );
        let report = run_load(config).await?;
        println!("{report}\n");
        lossless &= report.is_lossless();
    }
    if !lossless {
        eyre::bail!("acknowledged transactions were lost");
    }
    Ok(())
}
