//! Command line: one clap `Args` struct per subsystem, dotted flag names as reth and op-node.

use crate::bench::BenchArgs;
use tributary_devnet::accounts as dev_accounts;
use clap::{Args, Parser, Subcommand};
use eyre::WrapErr;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use tributary_chainspec::ChainSpec;
use tributary_node::{DevConfig, NodeConfig};
use tributary_rpc::RpcConfig;
use tributary_txpool::PoolConfig;

/// Tributary: an OP Stack rollup node whose chain pays the people behind AI models.
#[derive(Debug, Parser)]
#[command(name = "tributary", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a node.
    Node(Box<NodeArgs>),
    /// Whole-node benchmarks.
    Bench(BenchArgs),
    /// Models, Datanets, inferences and royalties, against any node over JSON-RPC.
    Attr(Box<crate::attr_cli::AttrArgs>),
}

/// `tributary node`.
#[derive(Debug, Args, PartialEq)]
pub(crate) struct NodeArgs {
    /// Run a self-contained dev chain (chain id 901) with prefunded dev accounts.
    #[arg(long, env = "TRIBUTARY_DEV")]
    pub(crate) dev: bool,
    /// Chain spec file (geth-style genesis JSON). Defaults to the embedded dev spec.
    #[arg(long, value_name = "FILE", env = "TRIBUTARY_CHAIN")]
    pub(crate) chain: Option<PathBuf>,
    /// Data directory. Defaults to `~/.local/share/tributary/<chain id>`.
    #[arg(long, value_name = "DIR", env = "TRIBUTARY_DATADIR")]
    pub(crate) datadir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) http: HttpArgs,
    #[command(flatten)]
    pub(crate) txpool: TxPoolArgs,
    #[command(flatten)]
    pub(crate) dev_args: DevArgs,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9001).
    #[arg(long, value_name = "ADDR", env = "TRIBUTARY_METRICS")]
    pub(crate) metrics: Option<SocketAddr>,
}

/// JSON-RPC over HTTP and WebSocket (one port).
#[derive(Debug, Args, PartialEq, Eq)]
pub(crate) struct HttpArgs {
    /// Listen address.
    #[arg(long = "http.addr", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), env = "TRIBUTARY_HTTP_ADDR")]
    pub(crate) addr: IpAddr,
    /// Listen port (0 picks a free one). WebSocket is served on the same port.
    #[arg(long = "http.port", default_value_t = RpcConfig::DEFAULT_PORT, env = "TRIBUTARY_HTTP_PORT")]
    pub(crate) port: u16,
    /// Namespaces to serve. Today every node serves eth, net, web3, txpool and attr.
    #[arg(long = "http.api", value_delimiter = ',', default_value = "eth,net,web3,txpool,attr")]
    pub(crate) api: Vec<String>,
    /// Accepted for compatibility: WebSocket is always served on the HTTP port.
    #[arg(long)]
    pub(crate) ws: bool,
    /// Gas cap for eth_call and eth_estimateGas.
    #[arg(long = "rpc.gascap", default_value_t = RpcConfig::default().gas_cap)]
    pub(crate) gas_cap: u64,
    /// Most logs one eth_getLogs returns.
    #[arg(long = "rpc.max-logs", default_value_t = RpcConfig::default().max_logs)]
    pub(crate) max_logs: usize,
    /// Most blocks one eth_getLogs spans.
    #[arg(long = "rpc.max-log-range", default_value_t = RpcConfig::default().max_log_block_range)]
    pub(crate) max_log_range: u64,
}

/// Transaction pool limits.
#[derive(Debug, Args, PartialEq, Eq)]
pub(crate) struct TxPoolArgs {
    /// Most transactions held.
    #[arg(long = "txpool.max-count", default_value_t = PoolConfig::DEFAULT_MAX_COUNT)]
    pub(crate) max_count: usize,
    /// Replacement fee bump, percent.
    #[arg(long = "txpool.price-bump", default_value_t = PoolConfig::DEFAULT_PRICE_BUMP)]
    pub(crate) price_bump: u128,
}

/// Dev block production.
#[derive(Debug, Args, PartialEq)]
pub(crate) struct DevArgs {
    /// Seconds between dev blocks; 0 seals one block per transaction.
    #[arg(long = "dev.block-time", default_value_t = DevConfig::DEFAULT_BLOCK_TIME.as_secs_f64())]
    pub(crate) block_time: f64,
}

impl NodeArgs {
    pub(crate) fn node_config(&self) -> eyre::Result<NodeConfig> {
        let chain = match &self.chain {
            Some(path) => ChainSpec::from_file(path)?,
            None => ChainSpec::dev(),
        };
        let datadir = match &self.datadir {
            Some(dir) => dir.clone(),
            None => default_datadir(chain.chain_id())?,
        };
        let rpc = RpcConfig {
            addr: SocketAddr::new(self.http.addr, self.http.port),
            gas_cap: self.http.gas_cap,
            max_logs: self.http.max_logs,
            max_log_block_range: self.http.max_log_range,
            ..Default::default()
        };
        let pool = PoolConfig {
            max_count: self.txpool.max_count,
            price_bump_percent: self.txpool.price_bump,
            ..Default::default()
        };
        if !(0.0..=3600.0).contains(&self.dev_args.block_time) {
            eyre::bail!("--dev.block-time must be between 0 and 3600 seconds");
        }
        let dev = self
            .dev
            .then(|| DevConfig {
                block_time: Duration::from_secs_f64(self.dev_args.block_time),
                ..Default::default()
            });
        Ok(NodeConfig { datadir, chain: Arc::new(chain), rpc, pool, dev, metrics: self.metrics })
    }
}

fn default_datadir(chain_id: u64) -> eyre::Result<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| eyre::eyre!("no HOME; pass --datadir"))?;
    Ok(PathBuf::from(home).join(".local/share/tributary").join(chain_id.to_string()))
}

pub(crate) async fn run_node(args: NodeArgs) -> eyre::Result<()> {
    if !args.dev {
        eyre::bail!(
            "only `tributary node --dev` runs today: the sequencer and follower roles come with the \
             rollup (L1) support"
        );
    }
    let config = args.node_config()?;
    let chain_id = config.chain.chain_id();
    let mut node = tributary_node::launch(config).await.wrap_err("node failed to start")?;
    println!("{}", dev_accounts::banner());
    println!("Chain id: {chain_id}");
    println!("L2 RPC: http://{}", node.rpc_addr);
    println!("L2 WS:  ws://{}", node.rpc_addr);

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = sigterm.recv() => Ok(()),
        message = node.failed() => Err(eyre::eyre!(message)),
    };
    node.stop().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_flags_give_the_defaults() {
        let cli = Cli::try_parse_from(["tributary", "node"]).unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        let config = args.node_config().unwrap();
        assert_eq!(config.rpc, RpcConfig::default());
        assert_eq!(config.pool, PoolConfig::default());
        assert_eq!(config.dev, None);
        assert_eq!(config.metrics, None);

        let cli = Cli::try_parse_from(["tributary", "node", "--dev"]).unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        assert_eq!(args.node_config().unwrap().dev, Some(DevConfig::default()));
    }

    #[test]
    fn dotted_flags_parse() {
        let cli = Cli::try_parse_from([
            "tributary",
            "node",
            "--dev",
            "--http.port",
            "0",
            "--dev.block-time",
            "0",
            "--txpool.max-count",
            "7",
        ])
        .unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        let config = args.node_config().unwrap();
        assert_eq!(config.rpc.addr.port(), 0);
        assert_eq!(config.pool.max_count, 7);
        assert_eq!(config.dev.unwrap().block_time, Duration::ZERO);
    }
}
