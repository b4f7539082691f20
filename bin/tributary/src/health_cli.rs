//! `tributary health`: a probe for container healthchecks and scripts.
//!
//! It exits 0 when the node's RPC answers `eth_blockNumber` and, with `--advancing`, when the
//! head moves within that many seconds; otherwise it says why and exits 1. The Docker image has
//! no shell or curl, so this is what its healthchecks run.

use clap::Args;
use serde_json::json;
use std::time::{Duration, Instant};
use tributary_devnet::local::rpc;

/// `tributary health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The node's HTTP JSON-RPC (an L2 node or the L1).
    #[arg(long, default_value = "http://127.0.0.1:8545", env = "TRIBUTARY_HEALTH_RPC")]
    pub(crate) rpc: String,
    /// Also require the head to advance within this many seconds (0: answering is enough).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub(crate) advancing: u64,
}

pub(crate) async fn run(args: HealthArgs) -> eyre::Result<()> {
    let first = head(&args.rpc).await?;
    if args.advancing == 0 {
        println!("ok: head {first}");
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(args.advancing);
    let mut last = Ok(first);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let left = deadline.saturating_duration_since(Instant::now());
        // A slow or failed answer inside the window is "not yet", not a verdict.
        last = match tokio::time::timeout(left, head(&args.rpc)).await {
            Ok(answer) => answer,
            Err(_) => last,
        };
        if let Ok(now) = last
            && now > first
        {
            println!("ok: head {first} -> {now}");
            return Ok(());
        }
        if Instant::now() >= deadline {
            return match last {
                Ok(now) => Err(eyre::eyre!("head stuck at {now} for {} s", args.advancing)),
                Err(err) => Err(err),
            };
        }
    }
}

async fn head(url: &str) -> eyre::Result<u64> {
    let value = rpc(url, "eth_blockNumber", json!([]))
        .await
        .map_err(|err| eyre::eyre!("{url} does not answer: {err}"))?;
    value
        .as_str()
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| eyre::eyre!("{url} answered eth_blockNumber with {value}"))
}
