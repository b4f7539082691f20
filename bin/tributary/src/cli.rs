//! Command line: one clap `Args` struct per subsystem, dotted flag names as reth and op-node.

use crate::bench::BenchArgs;
use clap::{Args, Parser, Subcommand};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use tributary_chainspec::ChainSpec;
use tributary_devnet::accounts as dev_accounts;
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
    /// Run an Ethereum L1 dev chain (chain id 900) to anchor rollups to.
    L1(Box<crate::rollup_cli::L1Args>),
    /// Local devnet tools.
    Devnet(crate::rollup_cli::DevnetArgs),
    /// Run the batch poster alone, reading L2 blocks from the sequencer's RPC.
    Batcher(Box<crate::rollup_cli::StandaloneBatcherArgs>),
    /// Exit 0 when a node's RPC answers (and, with --advancing, its head moves): for
    /// healthchecks.
    Health(crate::health_cli::HealthArgs),
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
    #[command(flatten)]
    pub(crate) rollup: crate::rollup_cli::RollupArgs,
    #[command(flatten)]
    pub(crate) p2p: crate::p2p_cli::P2pArgs,
    #[command(flatten)]
    pub(crate) authrpc: AuthRpcArgs,
    /// Let an outside rollup node (op-node, kona-node) drive this node through the Engine API
    /// alone: no sequencer, derivation, batcher or P2P of its own. Needs --chain; serves the
    /// Engine API (on 127.0.0.1:8551 unless --authrpc.* say otherwise).
    #[arg(long = "engine-only", env = "TRIBUTARY_ENGINE_ONLY", conflicts_with_all = ["dev", "sequencer", "batcher"])]
    pub(crate) engine_only: bool,
}

/// The Engine API, JWT-authenticated, served with `--engine-only` (whoever owns the
/// forkchoice owns the chain, so these go with it).
#[derive(Debug, Args, PartialEq, Eq, Default)]
pub(crate) struct AuthRpcArgs {
    /// Engine API listen address [default: 127.0.0.1].
    #[arg(
        id = "authrpc.addr",
        requires = "engine_only",
        long = "authrpc.addr",
        env = "TRIBUTARY_AUTHRPC_ADDR"
    )]
    pub(crate) addr: Option<IpAddr>,
    /// Engine API listen port (0 picks a free one) [default: 8551].
    #[arg(
        id = "authrpc.port",
        requires = "engine_only",
        long = "authrpc.port",
        env = "TRIBUTARY_AUTHRPC_PORT"
    )]
    pub(crate) port: Option<u16>,
    /// The JWT secret file (32 bytes hex) [default: <datadir>/jwt.hex, created if missing].
    #[arg(
        id = "authrpc.jwtsecret",
        requires = "engine_only",
        long = "authrpc.jwtsecret",
        value_name = "FILE",
        env = "TRIBUTARY_AUTHRPC_JWTSECRET"
    )]
    pub(crate) jwtsecret: Option<PathBuf>,
}

impl AuthRpcArgs {
    /// The Engine API config, when it is to be served.
    pub(crate) fn config(
        &self,
        engine_only: bool,
        datadir: &std::path::Path,
    ) -> eyre::Result<Option<tributary_rpc::AuthRpcConfig>> {
        if !engine_only {
            return Ok(None);
        }
        use tributary_rpc::AuthRpcConfig;
        std::fs::create_dir_all(datadir)?;
        let secret = tributary_rpc::load_or_create_secret(self.jwtsecret.as_deref(), datadir)
            .map_err(|err| eyre::eyre!("--authrpc.jwtsecret: {err}"))?;
        let addr = SocketAddr::new(
            self.addr.unwrap_or(AuthRpcConfig::DEFAULT_ADDR),
            self.port.unwrap_or(AuthRpcConfig::DEFAULT_PORT),
        );
        Ok(Some(AuthRpcConfig { addr, secret }))
    }
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

/// Transaction pool limits. Unset, they are [`PoolConfig::default`], or [`PoolConfig::dev`]
/// with `--dev`.
#[derive(Debug, Args, PartialEq, Eq)]
pub(crate) struct TxPoolArgs {
    /// Most transactions held [default: 10000; 100000 with --dev].
    #[arg(long = "txpool.max-count", env = "TRIBUTARY_TXPOOL_MAX_COUNT")]
    pub(crate) max_count: Option<usize>,
    /// Most transactions one sender holds [default: 1024; 20000 with --dev].
    #[arg(long = "txpool.max-account-slots", env = "TRIBUTARY_TXPOOL_MAX_ACCOUNT_SLOTS")]
    pub(crate) max_account_slots: Option<usize>,
    /// How far past a sender's next pool nonce a transaction may be queued.
    #[arg(long = "txpool.max-nonce-gap", default_value_t = PoolConfig::DEFAULT_MAX_NONCE_GAP)]
    pub(crate) max_nonce_gap: u64,
    /// Replacement fee bump, percent.
    #[arg(long = "txpool.price-bump", default_value_t = PoolConfig::DEFAULT_PRICE_BUMP)]
    pub(crate) price_bump: u128,
}

impl TxPoolArgs {
    /// The pool limits: the flags given, else the dev or the default ones.
    pub(crate) fn config(&self, dev: bool) -> PoolConfig {
        let base = if dev { PoolConfig::dev() } else { PoolConfig::default() };
        PoolConfig {
            max_count: self.max_count.unwrap_or(base.max_count),
            max_account_slots: self.max_account_slots.unwrap_or(base.max_account_slots),
            max_nonce_gap: self.max_nonce_gap,
            price_bump_percent: self.price_bump,
            ..base
        }
    }
}

/// `node --dev`.
#[derive(Debug, Args, PartialEq)]
pub(crate) struct DevArgs {
    /// Time between L2 blocks: seconds (`2`, `2s`) or milliseconds (`200ms`). Whole seconds
    /// are the chain's block time. Under a second, blocks stay 1 s apart (OP block timestamps
    /// are seconds) and the sequencer builds each in rounds this far apart, serving each
    /// round's receipts before the block is sealed (flashblocks). 0 runs the chain alone,
    /// without an L1 or a batcher, and seals one block per transaction (for wallet tests, like
    /// anvil's automine).
    #[arg(long = "dev.block-time", default_value = "2", value_parser = parse_duration)]
    pub(crate) block_time: Duration,
    /// Port of the embedded L1's RPC.
    #[arg(long = "dev.l1-port", default_value_t = crate::rollup_cli::DEFAULT_L1_PORT)]
    pub(crate) l1_port: u16,
    /// Seconds between embedded L1 blocks.
    #[arg(long = "dev.l1-block-time", default_value_t = 2)]
    pub(crate) l1_block_time: u64,
}

impl DevArgs {
    /// Whether `node --dev` runs the rollup (L1, sequencer, batcher) rather than instant mode.
    pub(crate) fn with_l1(&self) -> bool {
        !self.block_time.is_zero()
    }

    /// The L2 block time in seconds and the flashblock interval `--dev.block-time` asks for.
    pub(crate) fn rollup_timing(
        &self,
        flashblocks: Option<Duration>,
    ) -> eyre::Result<(u64, Option<Duration>)> {
        let time = self.block_time;
        if time < Duration::from_secs(1) {
            if flashblocks.is_some() {
                eyre::bail!("--dev.block-time under a second sets the flashblock interval itself");
            }
            return Ok((1, Some(time)));
        }
        if time.subsec_nanos() != 0 {
            eyre::bail!("--dev.block-time is whole seconds, or under a second (flashblocks)");
        }
        Ok((time.as_secs(), flashblocks))
    }
}

/// A duration flag: seconds (`2`, `0.5`, `2s`) or milliseconds (`200ms`).
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (number, scale) = match value.strip_suffix("ms") {
        Some(ms) => (ms, 1e-3),
        None => (value.strip_suffix('s').unwrap_or(value), 1.0),
    };
    let number: f64 = number.trim().parse().map_err(|_| format!("not a duration: {value:?}"))?;
    Duration::try_from_secs_f64(number * scale).map_err(|err| format!("{value:?}: {err}"))
}

impl NodeArgs {
    pub(crate) fn node_config(&self) -> eyre::Result<NodeConfig> {
        let chain = match &self.chain {
            Some(path) => ChainSpec::from_file(path)?,
            None => ChainSpec::dev(),
        };
        let datadir = match &self.datadir {
            Some(dir) => dir.clone(),
            None if self.dev && self.dev_args.with_l1() => {
                crate::rollup_cli::default_devnet_datadir()?
            }
            None => default_datadir(chain.chain_id())?,
        };
        let rpc = RpcConfig {
            addr: SocketAddr::new(self.http.addr, self.http.port),
            gas_cap: self.http.gas_cap,
            max_logs: self.http.max_logs,
            max_log_block_range: self.http.max_log_range,
            ..Default::default()
        };
        let pool = self.txpool.config(self.dev);
        if self.dev_args.block_time > Duration::from_secs(3600) {
            eyre::bail!("--dev.block-time must be between 0 and 3600 seconds");
        }
        let dev = self
            .dev
            .then(|| DevConfig { block_time: self.dev_args.block_time, ..Default::default() });
        let authrpc = self.authrpc.config(self.engine_only, &datadir)?;
        Ok(NodeConfig {
            datadir,
            chain: Arc::new(chain),
            rpc,
            pool,
            dev,
            metrics: self.metrics,
            rollup: None,
            authrpc,
        })
    }
}

pub(crate) fn default_datadir(chain_id: u64) -> eyre::Result<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| eyre::eyre!("no HOME; pass --datadir"))?;
    Ok(PathBuf::from(home).join(".local/share/tributary").join(chain_id.to_string()))
}

pub(crate) async fn run_node(args: NodeArgs) -> eyre::Result<()> {
    let mut config = args.node_config()?;
    let mut l1 = None;
    if args.dev && args.dev_args.with_l1() {
        let (block_time, flashblocks) =
            args.dev_args.rollup_timing(args.rollup.flashblock_interval)?;
        let l1_chain = crate::rollup_cli::L1ChainArgs {
            block_time: args.dev_args.l1_block_time,
            safe_depth: 2,
            finalized_depth: 4,
        };
        let (l1_node, chain, rollup) = crate::rollup_cli::embedded_devnet(
            &config.datadir,
            args.dev_args.l1_port,
            l1_chain,
            block_time,
            &args.http,
            &args.rollup.batcher_args,
        )
        .await?;
        l1 = Some(l1_node);
        let mut rollup = rollup;
        crate::rollup_cli::resolve_unsafe_block_signer(
            &mut rollup.rollup,
            &rollup.l1_rpc,
            &config.datadir,
        )
        .await?;
        rollup.p2p = args.p2p.config(true, &config.datadir, chain.clone(), &rollup.rollup, true)?;
        if let Some(interval) = flashblocks {
            crate::rollup_cli::check_flashblock_interval(interval, rollup.rollup.block_time)?;
        }
        rollup.flashblock_interval = flashblocks;
        config.chain = chain;
        config.dev = None;
        config.rollup = Some(rollup);
    } else if args.engine_only {
        if args.chain.is_none() {
            eyre::bail!("--engine-only needs --chain (the L2 genesis from `devnet init`)");
        }
    } else if !args.dev {
        if args.chain.is_none() {
            eyre::bail!("a rollup node needs --chain (the L2 genesis from `devnet init`)");
        }
        let mut rollup = args.rollup.node_config()?;
        if !args.p2p.disable {
            crate::rollup_cli::resolve_unsafe_block_signer(
                &mut rollup.rollup,
                &rollup.l1_rpc,
                &config.datadir,
            )
            .await?;
        }
        let sequencer = rollup.sequencer.is_some();
        rollup.p2p = args.p2p.config(
            false,
            &config.datadir,
            config.chain.clone(),
            &rollup.rollup,
            sequencer,
        )?;
        config.rollup = Some(rollup);
    }
    let chain_id = config.chain.chain_id();
    let mut node = match tributary_node::launch(config).await {
        Ok(node) => node,
        Err(err) => {
            if let Some(l1) = l1 {
                l1.stop().await;
            }
            return Err(eyre::eyre!(err).wrap_err("node failed to start"));
        }
    };
    if args.dev {
        println!("{}", dev_accounts::banner());
    }
    if let Some(l1) = &l1 {
        println!("L1 chain id: {}", tributary_chainspec::L1_DEV_CHAIN_ID);
        println!("L1 RPC: http://{}", l1.rpc_addr);
    }
    println!("Chain id: {chain_id}");
    println!("L2 RPC: http://{}", node.rpc_addr);
    println!("L2 WS:  ws://{}", node.rpc_addr);
    if let Some(addr) = node.auth_addr {
        println!("Engine API (JWT): http://{addr}");
    }

    let outcome = match &mut l1 {
        Some(l1) => tokio::select! {
            outcome = wait_for_stop(&mut node) => outcome,
            message = l1.failed() => Err(eyre::eyre!("embedded L1: {message}")),
        },
        None => wait_for_stop(&mut node).await,
    };
    node.stop().await;
    if let Some(l1) = l1 {
        l1.stop().await;
    }
    outcome
}

/// Waits for SIGINT, SIGTERM or a failed task.
pub(crate) async fn wait_for_stop(node: &mut tributary_node::RunningNode) -> eyre::Result<()> {
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = sigterm.recv() => Ok(()),
        message = node.failed() => Err(eyre::eyre!(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--engine-only` serves the Engine API on 127.0.0.1:8551 with a secret it writes into
    /// the datadir; it cannot be combined with a role of the node's own.
    #[test]
    fn engine_only_serves_the_engine_api_with_a_secret_in_the_datadir() {
        let dir = tempfile::tempdir().unwrap();
        let datadir = dir.path().display().to_string();
        let cli =
            Cli::try_parse_from(["tributary", "node", "--engine-only", "--datadir", &datadir])
                .unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        let auth = args.node_config().unwrap().authrpc.expect("served");
        assert_eq!(auth.addr.to_string(), "127.0.0.1:8551");
        let written = std::fs::read_to_string(dir.path().join("jwt.hex")).unwrap();
        assert_eq!(written.trim_start_matches("0x").len(), 64);

        let cli =
            Cli::try_parse_from(["tributary", "node", "--engine-only", "--authrpc.port", "0"])
                .unwrap();
        let Command::Node(mut args) = cli.command else { panic!("node") };
        args.datadir = Some(dir.path().to_path_buf());
        let again = args.node_config().unwrap().authrpc.expect("served");
        assert_eq!(again.addr.port(), 0);
        assert_eq!(again.secret.as_bytes(), auth.secret.as_bytes(), "the same secret");
        // The Engine API goes with --engine-only: a node with roles of its own does not serve it.
        assert!(Cli::try_parse_from(["tributary", "node", "--authrpc.port", "0"]).is_err());

        for role in ["--sequencer", "--batcher", "--dev"] {
            assert!(Cli::try_parse_from(["tributary", "node", "--engine-only", role]).is_err());
        }
    }

    #[test]
    fn no_flags_give_the_defaults() {
        let cli = Cli::try_parse_from(["tributary", "node"]).unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        let config = args.node_config().unwrap();
        assert_eq!(config.rpc, RpcConfig::default());
        assert_eq!(config.pool, PoolConfig::default());
        assert_eq!(config.dev, None);
        assert_eq!(config.metrics, None);
        assert!(config.authrpc.is_none(), "the Engine API is opt-in");

        let cli = Cli::try_parse_from(["tributary", "node", "--dev"]).unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        let config = args.node_config().unwrap();
        assert_eq!(config.dev, Some(DevConfig::default()));
        assert_eq!(config.pool, PoolConfig::dev());
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
        assert_eq!(config.pool.max_account_slots, PoolConfig::DEV_MAX_ACCOUNT_SLOTS);
        assert_eq!(config.dev.unwrap().block_time, Duration::ZERO);
    }

    #[test]
    fn block_times_parse_in_seconds_or_milliseconds() {
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert!(parse_duration("fast").is_err() && parse_duration("-1").is_err());

        let dev = |time: &str| DevArgs {
            block_time: parse_duration(time).unwrap(),
            l1_port: 0,
            l1_block_time: 1,
        };
        assert_eq!(
            dev("200ms").rollup_timing(None).unwrap(),
            (1, Some(Duration::from_millis(200)))
        );
        assert_eq!(dev("2").rollup_timing(None).unwrap(), (2, None));
        let interval = Some(Duration::from_millis(250));
        assert_eq!(dev("2").rollup_timing(interval).unwrap(), (2, interval));
        assert!(dev("1.5").rollup_timing(None).is_err(), "not whole seconds");
        assert!(dev("200ms").rollup_timing(interval).is_err(), "two intervals");
    }
}
