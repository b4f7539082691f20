//! `tributary devnet up | status | down`: a multi-node devnet as local processes.

use clap::Args;
use std::path::PathBuf;
use tributary_devnet::local::{self, DevnetPorts, Role, UpConfig};

/// `devnet up`.
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Followers to start beside the sequencer.
    #[arg(long, default_value_t = 2)]
    pub(crate) followers: usize,
    #[command(flatten)]
    pub(crate) dir: DirArgs,
    /// Use consecutive ports from this one (L1, sequencer, followers, then P2P) instead of
    /// the defaults (L1 8645, sequencer 8545, followers 9545, 10545, ..., P2P 9222 on).
    #[arg(long = "port-base")]
    pub(crate) port_base: Option<u16>,
    /// L2 block time, seconds (first start only: it goes into the rollup config).
    #[arg(long = "l2.block-time", default_value_t = 2)]
    pub(crate) block_time: u64,
    /// L1 block time, seconds.
    #[arg(long = "l1.block-time", default_value_t = 2)]
    pub(crate) l1_block_time: u64,
}

/// The devnet's datadir.
#[derive(Debug, Args)]
pub(crate) struct DirArgs {
    /// The devnet's datadir. Defaults to `~/.local/share/tributary/devnet-local`.
    #[arg(long, value_name = "DIR", env = "TRIBUTARY_DEVNET_DIR")]
    pub(crate) datadir: Option<PathBuf>,
}

impl DirArgs {
    fn resolve(&self) -> eyre::Result<PathBuf> {
        match &self.datadir {
            Some(dir) => Ok(dir.clone()),
            None => Ok(crate::cli::default_datadir(0)?.with_file_name("devnet-local")),
        }
    }
}

/// `devnet down`.
#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    #[command(flatten)]
    pub(crate) dir: DirArgs,
    /// Also delete every node's data.
    #[arg(long)]
    pub(crate) wipe: bool,
}

pub(crate) async fn up(args: UpArgs) -> eyre::Result<()> {
    if args.followers > 50 {
        eyre::bail!("--followers is at most 50");
    }
    if args.block_time == 0 || args.l1_block_time == 0 {
        eyre::bail!("block times are at least 1 second");
    }
    let datadir = args.dir.resolve()?;
    let ports = match args.port_base {
        Some(base) => DevnetPorts::from_base(base, args.followers),
        None => Some(DevnetPorts::DEFAULT),
    }
    .filter(|ports| ports.fit(args.followers))
    .ok_or_else(|| eyre::eyre!("the devnet's ports would pass 65535: lower --port-base"))?;
    let config = UpConfig {
        datadir: datadir.clone(),
        binary: std::env::current_exe()?,
        followers: args.followers,
        ports,
        block_time: args.block_time,
        l1_block_time: args.l1_block_time,
    };
    let state =
        local::up(&config).await.map_err(|err| eyre::eyre!(err).wrap_err("devnet up failed"))?;
    println!("{}", tributary_devnet::accounts::banner());
    println!("L1 chain id: {}", state.l1_chain_id);
    println!("L2 chain id: {}", state.l2_chain_id);
    for node in &state.nodes {
        let p2p = node.p2p_port.map(|port| format!("  p2p 127.0.0.1:{port}")).unwrap_or_default();
        println!("{:<12} {}  pid {}{p2p}", node.name, node.rpc, node.pid);
    }
    println!("Datadir: {}", datadir.display());
    println!("Logs:    {}", datadir.join("logs").display());
    println!("`tributary devnet status` shows the heads; `tributary devnet down` stops it.");
    Ok(())
}

pub(crate) async fn status(args: DirArgs) -> eyre::Result<()> {
    let (nodes, agree) = local::status(&args.resolve()?).await?;
    println!(
        "{:<12} {:<8} {:<24} {:>8} {:>8} {:>10} {:>6}",
        "node", "state", "rpc", "unsafe", "safe", "finalized", "peers"
    );
    for status in &nodes {
        let state = if !status.alive {
            "stopped"
        } else if status.heads.is_none() {
            "silent"
        } else {
            "running"
        };
        let (head, safe, finalized) = match status.heads {
            Some((h, s, f)) => (h.to_string(), s.to_string(), f.to_string()),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let peers = match (status.node.role, status.peers) {
            (Role::L1, _) => "".to_string(),
            (_, Some(peers)) => peers.to_string(),
            (_, None) => "-".to_string(),
        };
        println!(
            "{:<12} {:<8} {:<24} {:>8} {:>8} {:>10} {:>6}",
            status.node.name, state, status.node.rpc, head, safe, finalized, peers
        );
    }
    match agree {
        Some(true) => println!("L2 nodes agree at the lowest safe head"),
        Some(false) => println!("L2 nodes DISAGREE at the lowest safe head"),
        None => println!("agreement unknown: not every L2 node answers"),
    }
    Ok(())
}

pub(crate) async fn down(args: DownArgs) -> eyre::Result<()> {
    let datadir = args.dir.resolve()?;
    let stopped = local::down(&datadir, args.wipe).await?;
    if stopped.is_empty() {
        println!("nothing was running");
    } else {
        println!("stopped {}", stopped.join(", "));
    }
    if args.wipe {
        println!("removed {}", datadir.display());
    }
    Ok(())
}
