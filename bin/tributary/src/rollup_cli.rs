//! The rollup side of the command line: `tributary l1`, `tributary devnet init`, the
//! sequencer and batcher flags of `tributary node`, and `node --dev`'s embedded L1.

use crate::cli::{HttpArgs, default_datadir};
use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use eyre::WrapErr;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tributary_batcher::{BatchType, BatcherConfig, DataAvailability};
use tributary_chainspec::{ChainSpec, RollupConfig};
use tributary_devnet::{Devnet, InitConfig, accounts::dev_signer};
use tributary_l1::L1Client;
use tributary_node::{DevConfig, NodeConfig, RollupNodeConfig, RunningNode};
use tributary_protocol::Compression;
use tributary_rpc::RpcConfig;
use tributary_sequencer::SequencerConfig;

/// Default L1 RPC port (`tributary l1 --dev`, and the L1 inside `node --dev`).
pub(crate) const DEFAULT_L1_PORT: u16 = 8645;

/// `tributary l1`: an Ethereum dev chain to anchor rollups to.
#[derive(Debug, Args, PartialEq)]
pub(crate) struct L1Args {
    /// Run the dev chain (chain id 900, Prague, prefunded dev accounts).
    #[arg(long)]
    pub(crate) dev: bool,
    /// Chain spec file (geth genesis without OP fields). Defaults to the embedded L1 dev spec,
    /// with its genesis time set on first start.
    #[arg(long, value_name = "FILE")]
    pub(crate) chain: Option<PathBuf>,
    /// Data directory. Defaults to `~/.local/share/tributary/<chain id>`.
    #[arg(long, value_name = "DIR", env = "TRIBUTARY_L1_DATADIR")]
    pub(crate) datadir: Option<PathBuf>,
    /// Listen address.
    #[arg(long = "http.addr", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) addr: IpAddr,
    /// Listen port (0 picks a free one).
    #[arg(long = "http.port", default_value_t = DEFAULT_L1_PORT)]
    pub(crate) port: u16,
    #[command(flatten)]
    pub(crate) chain_args: L1ChainArgs,
    /// Serve Prometheus metrics on this address.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<SocketAddr>,
}

/// How the L1 dev chain makes blocks.
#[derive(Debug, Args, PartialEq, Eq, Clone, Copy)]
pub(crate) struct L1ChainArgs {
    /// Seconds between L1 blocks.
    #[arg(long = "block-time", default_value_t = 2)]
    pub(crate) block_time: u64,
    /// `safe` trails the head by this many blocks.
    #[arg(long = "safe-depth", default_value_t = 2)]
    pub(crate) safe_depth: u64,
    /// `finalized` trails the head by this many blocks.
    #[arg(long = "finalized-depth", default_value_t = 4)]
    pub(crate) finalized_depth: u64,
}

impl L1ChainArgs {
    fn dev_config(&self) -> eyre::Result<DevConfig> {
        if self.block_time == 0 {
            eyre::bail!("the L1 block time must be at least 1 second");
        }
        Ok(DevConfig {
            block_time: Duration::from_secs(self.block_time),
            safe_depth: self.safe_depth,
            finalized_depth: self.finalized_depth.max(self.safe_depth),
        })
    }
}

/// Starts an L1 dev chain in this process.
pub(crate) async fn launch_l1(
    chain: Option<&Path>,
    datadir: &Path,
    rpc_addr: SocketAddr,
    chain_args: L1ChainArgs,
    metrics: Option<SocketAddr>,
) -> eyre::Result<RunningNode> {
    let chain = match chain {
        Some(path) => ChainSpec::from_file(path)?,
        None => l1_dev_spec(datadir)?,
    };
    if chain.is_optimism() {
        eyre::bail!("`tributary l1` runs an Ethereum chain spec; this one has OP fields");
    }
    let dev = chain_args.dev_config()?;
    let config = NodeConfig {
        datadir: datadir.to_path_buf(),
        chain: Arc::new(chain),
        rpc: RpcConfig {
            addr: rpc_addr,
            allow_set_head: true,
            // Rollup nodes read blobs and the slot clock from the L1's beacon API.
            beacon_seconds_per_slot: Some(dev.block_time.as_secs()),
            ..Default::default()
        },
        pool: Default::default(),
        dev: Some(dev),
        metrics,
        rollup: None,
        authrpc: None,
    };
    tributary_node::launch(config).await.wrap_err("L1 failed to start")
}

/// The embedded L1 dev spec, with the genesis time fixed on first start and kept in the
/// datadir so restarts find the same chain.
fn l1_dev_spec(datadir: &Path) -> eyre::Result<ChainSpec> {
    let path = datadir.join("genesis.json");
    if path.exists() {
        return Ok(ChainSpec::from_file(&path)?);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let spec = ChainSpec::l1_dev(now);
    std::fs::create_dir_all(datadir)?;
    std::fs::write(&path, serde_json::to_string_pretty(spec.genesis())? + "\n")?;
    Ok(spec)
}

pub(crate) async fn run_l1(args: L1Args) -> eyre::Result<()> {
    if !args.dev && args.chain.is_none() {
        eyre::bail!("pass --dev for the L1 dev chain, or --chain with a chain spec");
    }
    let datadir = match &args.datadir {
        Some(dir) => dir.clone(),
        None => default_datadir(tributary_chainspec::L1_DEV_CHAIN_ID)?,
    };
    let addr = SocketAddr::new(args.addr, args.port);
    let mut node =
        launch_l1(args.chain.as_deref(), &datadir, addr, args.chain_args, args.metrics).await?;
    println!("{}", tributary_devnet::accounts::banner());
    println!("Chain id: {}", tributary_chainspec::L1_DEV_CHAIN_ID);
    println!("L1 RPC: http://{}", node.rpc_addr);
    let outcome = crate::cli::wait_for_stop(&mut node).await;
    node.stop().await;
    outcome
}

/// `tributary devnet`.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    #[command(subcommand)]
    pub(crate) command: DevnetCommand,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum DevnetCommand {
    /// Deploy the portal to an L1 and write the L2 genesis and rollup config.
    Init(DevnetInitArgs),
    /// Start a devnet as local processes: the L1, the sequencer with its batch poster, and
    /// followers; print their RPC URLs, the chain ids and the dev keys.
    Up(crate::devnet_cli::UpArgs),
    /// Each node's unsafe, safe and finalized heads and peers, and whether they agree.
    Status(crate::devnet_cli::DirArgs),
    /// Stop the devnet (its data stays unless --wipe).
    Down(crate::devnet_cli::DownArgs),
}

/// `tributary devnet init`.
#[derive(Debug, Args)]
pub(crate) struct DevnetInitArgs {
    /// The L1 to anchor to.
    #[arg(long = "l1.rpc", default_value = "http://127.0.0.1:8645", env = "TRIBUTARY_L1_RPC")]
    pub(crate) l1_rpc: String,
    /// Where to write genesis.json and rollup.json.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out: PathBuf,
    /// L2 chain spec to start from. Defaults to the embedded dev spec.
    #[arg(long, value_name = "FILE")]
    pub(crate) chain: Option<PathBuf>,
    /// L2 block time, seconds.
    #[arg(long = "l2.block-time", default_value_t = RollupConfig::DEFAULT_BLOCK_TIME)]
    pub(crate) block_time: u64,
    /// Deployer key (hex). Defaults to dev account 0.
    #[arg(long = "deployer.private-key", env = "TRIBUTARY_DEPLOYER_KEY")]
    pub(crate) deployer: Option<String>,
    /// Batcher address. Defaults to dev account 8.
    #[arg(long = "batcher.address")]
    pub(crate) batcher: Option<alloy_primitives::Address>,
    /// Unsafe-block signer address. Defaults to dev account 9.
    #[arg(long = "sequencer.signer")]
    pub(crate) signer: Option<alloy_primitives::Address>,
    /// Deploy and write anew even when --out already holds a genesis and rollup config (by
    /// default they are kept, so running init again is harmless).
    #[arg(long)]
    pub(crate) force: bool,
}

pub(crate) async fn run_devnet(args: DevnetArgs) -> eyre::Result<()> {
    let args = match args.command {
        DevnetCommand::Init(args) => args,
        DevnetCommand::Up(args) => return crate::devnet_cli::up(args).await,
        DevnetCommand::Status(args) => return crate::devnet_cli::status(args).await,
        DevnetCommand::Down(args) => return crate::devnet_cli::down(args).await,
    };
    if !args.force
        && let Some(existing) = Devnet::read(&args.out)?
    {
        println!(
            "{} already holds genesis.json and rollup.json (portal {}); kept them (--force to deploy anew)",
            args.out.display(),
            existing.rollup.deposit_contract_address
        );
        return Ok(());
    }
    let mut init = InitConfig::dev();
    if let Some(path) = &args.chain {
        init.l2_genesis = ChainSpec::from_file(path)?.genesis().clone();
    }
    if args.block_time == 0 {
        eyre::bail!("--l2.block-time must be at least 1");
    }
    init.block_time = args.block_time;
    if let Some(key) = &args.deployer {
        init.deployer = key.parse().wrap_err("--deployer.private-key")?;
    }
    if let Some(batcher) = args.batcher {
        init.batcher = batcher;
    }
    if let Some(signer) = args.signer {
        init.unsafe_block_signer = signer;
    }
    let l1 = L1Client::new(&args.l1_rpc)?;
    let devnet = tributary_devnet::init(&l1, init).await?;
    devnet.write(&args.out)?;
    println!("Portal: {}", devnet.rollup.deposit_contract_address);
    println!("L1 anchor: {} {}", devnet.rollup.genesis.l1.number, devnet.rollup.genesis.l1.hash);
    println!("Wrote {}", args.out.join("genesis.json").display());
    println!("Wrote {}", args.out.join("rollup.json").display());
    Ok(())
}

/// Rollup flags of `tributary node`.
#[derive(Debug, Args, PartialEq)]
pub(crate) struct RollupArgs {
    /// The rollup config (rollup.json from `devnet init`).
    #[arg(long = "rollup.config", value_name = "FILE", env = "TRIBUTARY_ROLLUP_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// L1 JSON-RPC URL.
    #[arg(long = "l1.rpc", env = "TRIBUTARY_L1_RPC")]
    pub(crate) l1_rpc: Option<String>,
    /// L1 beacon API URL (plain http), for batches posted as blobs. `tributary l1 --dev`
    /// serves it on its RPC port.
    #[arg(long = "l1.beacon", env = "TRIBUTARY_L1_BEACON")]
    pub(crate) l1_beacon: Option<String>,
    /// Sequence blocks.
    #[arg(long)]
    pub(crate) sequencer: bool,
    /// L1 blocks an origin must be below the L1 head.
    #[arg(long = "sequencer.l1-confs", default_value_t = SequencerConfig::DEFAULT_L1_CONFS)]
    pub(crate) l1_confs: u64,
    /// Run the batch poster in this process.
    #[arg(long)]
    pub(crate) batcher: bool,
    /// On a follower: the sequencer's HTTP RPC, where `eth_sendRawTransaction` is forwarded.
    #[arg(long = "rollup.sequencer-http", env = "TRIBUTARY_ROLLUP_SEQUENCER_HTTP")]
    pub(crate) sequencer_http: Option<String>,
    /// On the sequencer: build each block in rounds this far apart (`200ms`), serving each
    /// round's receipts over RPC before the block is sealed (flashblocks).
    #[arg(long = "sequencer.flashblock-interval", value_parser = crate::cli::parse_duration)]
    pub(crate) flashblock_interval: Option<std::time::Duration>,
    #[command(flatten)]
    pub(crate) batcher_args: BatcherArgs,
}

/// Batch poster flags (`node --batcher` and `tributary batcher`).
#[derive(Debug, Args, PartialEq, Eq, Clone)]
pub(crate) struct BatcherArgs {
    /// Batcher key (hex).
    #[arg(long = "batcher.private-key", env = "TRIBUTARY_BATCHER_KEY", hide_env_values = true)]
    pub(crate) key: Option<String>,
    /// Channel compression: zlib or brotli.
    #[arg(long = "batcher.compression", default_value = "brotli", value_parser = parse_compression)]
    pub(crate) compression: CompressionArg,
    /// Batch type: singular or span.
    #[arg(long = "batcher.batch-type", default_value = "span")]
    pub(crate) batch_type: BatchType,
    /// Largest batcher transaction calldata, bytes.
    #[arg(long = "batcher.max-l1-tx-size", default_value_t = BatcherConfig::DEFAULT_MAX_L1_TX_SIZE)]
    pub(crate) max_l1_tx_size: usize,
    /// Where batches go: calldata, blobs (EIP-4844; needs --l1.beacon), or auto (blobs while
    /// the L1 has them and they cost less).
    #[arg(long = "batcher.data-availability-type", default_value = "calldata")]
    pub(crate) data_availability: DataAvailability,
    /// Blobs per batcher transaction with blobs (1 to 6).
    #[arg(long = "batcher.target-num-frames", default_value_t = BatcherConfig::DEFAULT_BLOBS_PER_TX)]
    pub(crate) blobs_per_tx: usize,
    /// L1 blocks on top of a batcher transaction before it counts.
    #[arg(long = "batcher.confirmations", default_value_t = BatcherConfig::DEFAULT_CONFIRMATIONS)]
    pub(crate) confirmations: u64,
    /// L1 blocks a channel stays open (0: post each block as soon as it is sealed).
    #[arg(long = "batcher.max-channel-duration", default_value_t = BatcherConfig::DEFAULT_MAX_CHANNEL_DURATION)]
    pub(crate) max_channel_duration: u64,
    /// Seconds without a receipt before resubmitting with a fee bump.
    #[arg(long = "batcher.resubmission-timeout", default_value_t = BatcherConfig::DEFAULT_RESUBMIT_AFTER.as_secs())]
    pub(crate) resubmit_after: u64,
    /// Batcher transactions in flight at most (consecutive nonces, so frames land in order).
    /// Default 1, as op-batcher; `node --dev` takes 8, enough for its 10 000 transfers/s.
    #[arg(long = "batcher.max-pending-tx")]
    pub(crate) max_pending_tx: Option<usize>,
}

/// `--batcher.compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressionArg(pub(crate) Compression);

fn parse_compression(s: &str) -> Result<CompressionArg, String> {
    match s {
        "zlib" => Ok(CompressionArg(Compression::Zlib)),
        "brotli" => Ok(CompressionArg(Compression::Brotli)),
        other => Err(format!("unknown compression {other:?}: zlib or brotli")),
    }
}

impl BatcherArgs {
    pub(crate) fn config(
        &self,
        rollup: &RollupConfig,
        default_key: Option<PrivateKeySigner>,
    ) -> eyre::Result<BatcherConfig> {
        let key = match (&self.key, default_key) {
            (Some(key), _) => key.parse().wrap_err("--batcher.private-key")?,
            (None, Some(key)) => key,
            (None, None) => eyre::bail!("the batcher needs --batcher.private-key"),
        };
        if self.max_l1_tx_size < 1_000 {
            eyre::bail!("--batcher.max-l1-tx-size must be at least 1000 bytes");
        }
        if !(1..=tributary_batcher::MAX_BLOBS_PER_TX).contains(&self.blobs_per_tx) {
            eyre::bail!(
                "--batcher.target-num-frames must be 1 to {}",
                tributary_batcher::MAX_BLOBS_PER_TX
            );
        }
        Ok(BatcherConfig {
            rollup: rollup.clone(),
            key,
            compression: self.compression.0,
            batch_type: self.batch_type,
            max_l1_tx_size: self.max_l1_tx_size,
            data_availability: self.data_availability,
            max_blobs_per_tx: self.blobs_per_tx,
            // Filled in by the caller, from --l1.beacon.
            l1_beacon: None,
            confirmations: self.confirmations.max(1),
            max_channel_duration: self.max_channel_duration,
            resubmit_after: Duration::from_secs(self.resubmit_after.max(1)),
            poll_interval: BatcherConfig::DEFAULT_POLL_INTERVAL,
            max_pending_tx: self
                .max_pending_tx
                .unwrap_or(BatcherConfig::DEFAULT_MAX_PENDING_TX)
                .max(1),
        })
    }
}

/// Fills in the rollup's unsafe-block signer from its L1 system config contract
/// (`unsafeBlockSigner()`, the portal on Tributary devnets) when the rollup config does not
/// name it: op-node's `rollup.json` does not, op-node reads it from L1 too. The answer is kept
/// in `<datadir>/unsafe-block-signer`, so a node restarted while its L1 is down still starts.
pub(crate) async fn resolve_unsafe_block_signer(
    rollup: &mut RollupConfig,
    l1_rpc: &str,
    datadir: &Path,
) -> eyre::Result<()> {
    if !rollup.unsafe_block_signer.is_zero() {
        return Ok(());
    }
    let contract = if rollup.l1_system_config_address.is_zero() {
        rollup.deposit_contract_address
    } else {
        rollup.l1_system_config_address
    };
    let kept = datadir.join("unsafe-block-signer");
    let selector = &alloy::primitives::keccak256("unsafeBlockSigner()")[..4];
    let read = async {
        let out = L1Client::new(l1_rpc)?.eth_call(contract, selector).await?;
        let word: [u8; 32] = out.as_ref().try_into().map_err(|_| {
            eyre::eyre!("unsafeBlockSigner() on {contract} returned {} bytes, not 32", out.len())
        })?;
        eyre::Ok(alloy::primitives::Address::from_word(word.into()))
    };
    rollup.unsafe_block_signer = match read.await {
        Ok(signer) => {
            std::fs::create_dir_all(datadir)?;
            std::fs::write(&kept, format!("{signer}\n"))?;
            signer
        }
        Err(err) => match std::fs::read_to_string(&kept) {
            Ok(text) => {
                tracing::warn!(
                    target: "node",
                    %err,
                    "L1 did not answer unsafeBlockSigner(); using the one read before"
                );
                text.trim().parse().wrap_err_with(|| format!("{}", kept.display()))?
            }
            Err(_) => {
                return Err(
                    err.wrap_err(format!("reading unsafeBlockSigner() from {contract} on L1"))
                );
            }
        },
    };
    Ok(())
}

impl RollupArgs {
    /// The rollup roles for a node that is not `--dev`.
    pub(crate) fn node_config(&self) -> eyre::Result<RollupNodeConfig> {
        let path = self.config.as_ref().ok_or_else(|| {
            eyre::eyre!("a rollup node needs --rollup.config (or --dev for the dev chain)")
        })?;
        let rollup = RollupConfig::from_file(path)?;
        let l1_rpc = self.l1_rpc.clone().ok_or_else(|| eyre::eyre!("--l1.rpc is required"))?;
        if self.batcher && !self.sequencer {
            eyre::bail!("the batch poster runs in the sequencer: pass --sequencer with --batcher");
        }
        if self.sequencer && self.sequencer_http.is_some() {
            eyre::bail!(
                "--rollup.sequencer-http is for followers; a sequencer takes transactions itself"
            );
        }
        if let Some(interval) = self.flashblock_interval {
            check_flashblock_interval(interval, rollup.block_time)?;
            if !self.sequencer {
                eyre::bail!("--sequencer.flashblock-interval is for the sequencer");
            }
        }
        // Without --sequencer the node is a follower: it derives the chain from L1.
        let sequencer = self
            .sequencer
            .then(|| SequencerConfig { rollup: rollup.clone(), l1_confs: self.l1_confs });
        let batcher = match self.batcher {
            true => {
                let mut config = self.batcher_args.config(&rollup, None)?;
                config.l1_beacon = self.l1_beacon.clone();
                Some(config)
            }
            false => None,
        };
        Ok(RollupNodeConfig {
            rollup,
            l1_rpc,
            l1_beacon: self.l1_beacon.clone(),
            sequencer,
            batcher,
            sequencer_http: self.sequencer_http.clone(),
            p2p: None,
            flashblock_interval: self.flashblock_interval,
        })
    }
}

/// A round interval must leave room for a few rounds in a block.
pub(crate) fn check_flashblock_interval(
    interval: std::time::Duration,
    block_time: u64,
) -> eyre::Result<()> {
    if interval < std::time::Duration::from_millis(10)
        || interval >= std::time::Duration::from_secs(block_time)
    {
        eyre::bail!(
            "the flashblock interval must be at least 10ms and under the block time ({block_time} s)"
        );
    }
    Ok(())
}

/// `node --dev`: starts the L1 in this process, anchors the dev L2 to it on first start, and
/// returns the L1 and the L2's config.
pub(crate) async fn embedded_devnet(
    datadir: &Path,
    l1_port: u16,
    l1_chain: L1ChainArgs,
    block_time: u64,
    http: &HttpArgs,
    batcher: &BatcherArgs,
) -> eyre::Result<(RunningNode, Arc<ChainSpec>, RollupNodeConfig)> {
    let l1_addr = SocketAddr::new(http.addr, l1_port);
    let l1 = launch_l1(None, &datadir.join("l1"), l1_addr, l1_chain, None).await?;
    let l1_url = format!("http://{}", l1.rpc_addr);
    let devnet = match Devnet::read(datadir)? {
        Some(devnet) => devnet,
        None => {
            let client = L1Client::new(&l1_url)?;
            let mut init = InitConfig::dev();
            init.block_time = block_time;
            let devnet = tributary_devnet::init(&client, init).await?;
            devnet.write(datadir)?;
            devnet
        }
    };
    let chain = Arc::new(ChainSpec::from_genesis(devnet.l2_genesis.clone())?);
    let rollup = devnet.rollup;
    let sequencer = Some(SequencerConfig { rollup: rollup.clone(), l1_confs: 0 });
    let mut batcher_config =
        batcher.config(&rollup, Some(dev_signer(tributary_devnet::DEV_BATCHER_INDEX)))?;
    if batcher.max_pending_tx.is_none() {
        batcher_config.max_pending_tx = BatcherConfig::DEV_MAX_PENDING_TX;
    }
    batcher_config.l1_beacon = Some(l1_url.clone());
    let batcher = Some(batcher_config);
    Ok((
        l1,
        chain,
        RollupNodeConfig {
            rollup,
            // The embedded L1 serves the beacon endpoints on its RPC port.
            l1_beacon: Some(l1_url.clone()),
            l1_rpc: l1_url,
            sequencer,
            batcher,
            sequencer_http: None,
            p2p: None,
            flashblock_interval: None,
        },
    ))
}

/// The default datadir of `node --dev` with an L1: apart from the instant-mode dev chain's,
/// whose genesis differs.
pub(crate) fn default_devnet_datadir() -> eyre::Result<PathBuf> {
    Ok(default_datadir(tributary_chainspec::DEV_CHAIN_ID)?.with_file_name("devnet"))
}

/// `tributary batcher`: the batch poster on its own, reading L2 blocks over RPC.
#[derive(Debug, Args)]
pub(crate) struct StandaloneBatcherArgs {
    /// The rollup config.
    #[arg(long = "rollup.config", value_name = "FILE", env = "TRIBUTARY_ROLLUP_CONFIG")]
    pub(crate) config: PathBuf,
    /// L1 JSON-RPC URL.
    #[arg(long = "l1.rpc", env = "TRIBUTARY_L1_RPC")]
    pub(crate) l1_rpc: String,
    /// The sequencer's L2 JSON-RPC URL.
    #[arg(long = "l2.rpc", env = "TRIBUTARY_L2_RPC")]
    pub(crate) l2_rpc: String,
    /// L1 beacon API URL (batches in blobs are read back from it after a restart).
    #[arg(long = "l1.beacon", env = "TRIBUTARY_L1_BEACON")]
    pub(crate) l1_beacon: Option<String>,
    #[command(flatten)]
    pub(crate) batcher: BatcherArgs,
    /// Serve Prometheus metrics on this address.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<SocketAddr>,
}

pub(crate) async fn run_batcher(args: StandaloneBatcherArgs) -> eyre::Result<()> {
    let rollup = RollupConfig::from_file(&args.config)?;
    let mut config = args.batcher.config(&rollup, None)?;
    config.l1_beacon = args.l1_beacon.clone();
    if let Some(addr) = args.metrics {
        tributary_node::install_exporter(addr).map_err(|err| eyre::eyre!(err))?;
    }
    let l1 = L1Client::new(&args.l1_rpc)?;
    let l2 = tributary_batcher::RpcL2Source::new(&args.l2_rpc)?;
    let (batcher, _status) = tributary_batcher::Batcher::new(l1, l2, config)?;
    println!("Batcher: {}", batcher.address());
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
    };
    batcher.run(stop).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn l1_and_batcher_defaults_are_the_library_constants() {
        let cli = Cli::try_parse_from(["tributary", "l1", "--dev"]).unwrap();
        let Command::L1(args) = cli.command else { panic!("l1") };
        assert_eq!(args.port, DEFAULT_L1_PORT);
        assert_eq!(args.chain_args.block_time, 2);

        let cli = Cli::try_parse_from(["tributary", "node"]).unwrap();
        let Command::Node(args) = cli.command else { panic!("node") };
        let rollup = test_rollup(ADDRZERO);
        let config = args.rollup.batcher_args.config(&rollup, Some(dev_signer(8))).unwrap();
        assert_eq!(config.max_l1_tx_size, BatcherConfig::DEFAULT_MAX_L1_TX_SIZE);
        assert_eq!(config.confirmations, BatcherConfig::DEFAULT_CONFIRMATIONS);
        assert_eq!(config.max_channel_duration, BatcherConfig::DEFAULT_MAX_CHANNEL_DURATION);
        assert_eq!(config.resubmit_after, BatcherConfig::DEFAULT_RESUBMIT_AFTER);
        assert_eq!(config.batch_type, BatchType::Span);
        assert_eq!(config.compression, Compression::Brotli);
        assert_eq!(config.data_availability, DataAvailability::Calldata);
        assert_eq!(config.max_blobs_per_tx, BatcherConfig::DEFAULT_BLOBS_PER_TX);
        assert_eq!(args.rollup.l1_confs, SequencerConfig::DEFAULT_L1_CONFS);
        // Without a key there is no batcher.
        assert!(args.rollup.batcher_args.config(&rollup, None).is_err());
    }

    /// With its L1 down, a node uses the unsafe-block signer it read from L1 before; with
    /// none read before, it says what it could not read; a config that names one asks nothing.
    #[tokio::test]
    async fn the_signer_read_from_l1_before_serves_when_l1_is_down() {
        let dir = tempfile::tempdir().unwrap();
        let mut rollup = test_rollup("0x5fbdb2315678afecb367f032d93f642f64180aa3");
        // Nothing listens on port 1.
        let down = "http://127.0.0.1:1";
        let err = resolve_unsafe_block_signer(&mut rollup.clone(), down, dir.path()).await;
        assert!(format!("{:#}", err.unwrap_err()).contains("unsafeBlockSigner()"));

        let signer = dev_signer(tributary_devnet::DEV_SIGNER_INDEX).address();
        std::fs::write(dir.path().join("unsafe-block-signer"), format!("{signer}\n")).unwrap();
        resolve_unsafe_block_signer(&mut rollup, down, dir.path()).await.unwrap();
        assert_eq!(rollup.unsafe_block_signer, signer);
        // Named: no L1 call at all (the kept file is not even read).
        std::fs::remove_file(dir.path().join("unsafe-block-signer")).unwrap();
        resolve_unsafe_block_signer(&mut rollup, down, dir.path()).await.unwrap();
        assert_eq!(rollup.unsafe_block_signer, signer);
    }

    /// A minimal rollup config with its portal at `portal` and no unsafe-block signer named.
    fn test_rollup(portal: &str) -> RollupConfig {
        serde_json::from_value(serde_json::json!({
            "genesis": {
                "l1": { "hash": B256ZERO, "number": 0 },
                "l2": { "hash": B256ZERO, "number": 0 },
                "l2_time": 0,
                "system_config": {
                    "batcherAddr": ADDRZERO, "overhead": B256ZERO, "scalar": B256ZERO, "gasLimit": 1
                }
            },
            "block_time": 2, "max_sequencer_drift": 1, "seq_window_size": 1, "channel_timeout": 1,
            "l1_chain_id": 900, "l2_chain_id": 901, "batch_inbox_address": ADDRZERO,
            "deposit_contract_address": portal
        }))
        .unwrap()
    }

    const B256ZERO: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";
    const ADDRZERO: &str = "0x0000000000000000000000000000000000000000";
}
