//! Tributary node wiring: open the database, start the pool, the RPC server, block production
//! and metrics, and stop them in order.
//!
//! # Data flow
//!
//! ```text
//! RPC eth_sendRawTransaction -> TxPool -> sequencer / DevProducer (build_block on a blocking
//!     thread) -> Database::commit_block (one WriteBatch) -> broadcast of the new block
//!     -> RPC subscriptions and filters, pool pruning, P2P gossip, batcher -> L1
//! follower: P2P gossip -> UnsafeImporter (execute_block, checked against the header) -> commit
//! every rollup node: L1 -> derivation -> consolidate, or rewind (Reorgs) and build -> safe head
//! engine-only: rollup node -> Engine API (JWT) -> LocalEngine -> the same build / import
//! ```
//!
//! The sequencer, derivation and the Engine API build blocks through one seam
//! (`sealer::Engine`: attributes and forced transactions in, a committed block out).
//!
//! The pool journals every transaction it acknowledges (`<datadir>/txpool.journal`) and takes
//! them back at start, before RPC opens.
//!
//! Every change of the chain (seal, import, derived build, rewind) happens under the sealer's
//! one writer lock (`sealer.rs`), and every rewind goes through `tributary_rpc::Reorgs`, so
//! filters and subscriptions see removed blocks.
//!
//! # Tasks and shutdown
//!
//! Long-running parts are spawned through [`TaskManager`], which names them and turns a
//! failure or panic into a node shutdown. On SIGINT or SIGTERM [`RunningNode::stop`] asks the
//! tasks to stop: block production finishes the block in flight (build and commit run to the
//! end on their blocking thread), then the RPC server stops, then the database closes.
//!
//! # Roles
//!
//! - **Sequencer** ([`RollupNodeConfig::sequencer`]): `sequencing.rs` seals a block every block
//!   time on the rollup's timestamps; `tributary-sequencer` picks each block's L1 origin and
//!   deposits from the L1 RPC. With [`RollupNodeConfig::flashblock_interval`] it builds each
//!   block in rounds over its slot and RPC serves each round's receipts (flashblocks).
//! - **Batch poster** ([`RollupNodeConfig::batcher`]): `tributary-batcher` reads committed
//!   blocks from the database and posts them to L1.
//! - **Derivation** (every rollup node, `derivation/`): rebuilds the chain from L1 with
//!   `tributary-derive`; its safe and finalized blocks are the node's `safe` and `finalized`
//!   heads. On the sequencer it confirms the blocks it sealed; on a follower (no
//!   `--sequencer`) it builds them. When it builds (no unsafe twin to confirm), each channel's
//!   senders are recovered ahead on the rayon pool (`tributary_evm::SenderCache`).
//! - **P2P** (`gossip.rs`, rollup nodes unless `--p2p.disable`): `tributary-p2p` gossips each
//!   block the sequencer seals; a follower imports the blocks it hears (its unsafe head) and
//!   fetches gaps by number. Derivation later confirms or replaces them.
//! - **Engine-only** ([`NodeConfig::authrpc`] with neither `dev` nor `rollup`): an outside
//!   rollup node (op-node, kona-node) drives the node over the Engine API (`engine.rs`, served
//!   by `tributary_rpc`'s JWT-checked port); it owns the head, `safe` and `finalized`.
//! - **Dev block production** ([`NodeConfig::dev`]): blocks on a timer or one per transaction,
//!   with no L1 at all; every block's L1 attributes deposit carries the fixed dev origin of
//!   [`dev_l1_origin`]. Also what runs the L1 dev chain (`tributary l1 --dev`), where
//!   `safe`/`finalized` trail the head by fixed depths.

mod derivation;
mod dev;
mod engine;
mod gossip;
mod metrics;
mod sealer;
mod sequencing;
mod tasks;

pub use derivation::{decode_batch_transactions, derived_block_attributes};
pub use dev::dev_l1_origin;
pub use metrics::{NodeMetrics, install_exporter};
pub use tasks::{Shutdown, TaskManager};
pub use tributary_evm::SenderCache;

use alloy_primitives::{Address, U256};
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tokio::sync::{broadcast, mpsc};
use tributary_chainspec::ChainSpec;
use tributary_evm::EvmConfig;
use tributary_rpc::{RpcConfig, RpcContext, RpcServer, SafetyHeads};
use tributary_storage::{Database, DatabaseConfig, ExecutedBlock};
use tributary_txpool::{PoolConfig, StateView, TxPool};

/// Node errors.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] tributary_storage::StorageError),
    /// Execution failed.
    #[error(transparent)]
    Execution(#[from] tributary_evm::ExecutionError),
    /// The RPC server could not start.
    #[error("rpc server: {0}")]
    Rpc(std::io::Error),
    /// The metrics exporter could not start.
    #[error("metrics: {0}")]
    Metrics(String),
    /// A task failed.
    #[error("{0}")]
    Task(String),
}

/// Dev block production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevConfig {
    /// Seal a block this often; zero seals one per incoming transaction.
    pub block_time: Duration,
    /// `safe` is this many blocks below the head (the L1 dev chain's stand-in for attestations).
    pub safe_depth: u64,
    /// `finalized` is this many blocks below the head.
    pub finalized_depth: u64,
}

impl DevConfig {
    /// Default block time: 2 seconds, the OP Stack's.
    pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_secs(2);
}

impl Default for DevConfig {
    fn default() -> Self {
        Self { block_time: Self::DEFAULT_BLOCK_TIME, safe_depth: 0, finalized_depth: 0 }
    }
}

/// Everything [`launch`] needs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the database lives.
    pub datadir: PathBuf,
    /// The chain.
    pub chain: Arc<ChainSpec>,
    /// RPC address and limits.
    pub rpc: RpcConfig,
    /// Pool limits.
    pub pool: PoolConfig,
    /// Block production, when this node makes its own blocks.
    pub dev: Option<DevConfig>,
    /// Prometheus listen address.
    pub metrics: Option<SocketAddr>,
    /// Rollup roles: sequencer and batcher against an L1.
    pub rollup: Option<RollupNodeConfig>,
    /// The Engine API (`--authrpc.*`), so a rollup node (op-node, kona-node) can drive this
    /// one. With neither `dev` nor `rollup`, that rollup node owns the forkchoice alone
    /// (`--engine-only`).
    pub authrpc: Option<tributary_rpc::AuthRpcConfig>,
}

/// The rollup side of a node.
#[derive(Debug, Clone)]
pub struct RollupNodeConfig {
    /// The rollup config; its L2 genesis must be this node's.
    pub rollup: tributary_chainspec::RollupConfig,
    /// The L1 JSON-RPC URL.
    pub l1_rpc: String,
    /// The L1 beacon API URL, for batches posted as blobs; None reads calldata batches only
    /// (a blob batch then stops derivation with an error saying so).
    pub l1_beacon: Option<String>,
    /// Run the sequencer.
    pub sequencer: Option<tributary_sequencer::SequencerConfig>,
    /// Run the batch poster in-process.
    pub batcher: Option<tributary_batcher::BatcherConfig>,
    /// On a follower: the sequencer's HTTP RPC, where `eth_sendRawTransaction` is forwarded.
    pub sequencer_http: Option<String>,
    /// Unsafe-block gossip; None with `--p2p.disable`.
    pub p2p: Option<tributary_p2p::P2pConfig>,
    /// On the sequencer: build each block in rounds this far apart (flashblocks), showing
    /// each round's receipts over RPC before the block is sealed; None builds each block at
    /// once when its time comes.
    pub flashblock_interval: Option<Duration>,
}

/// A started node.
#[derive(Debug)]
pub struct RunningNode {
    /// Where RPC listens.
    pub rpc_addr: SocketAddr,
    /// Where the Engine API listens, when served.
    pub auth_addr: Option<SocketAddr>,
    /// The database.
    pub db: Database,
    /// The pool.
    pub pool: Arc<TxPool>,
    tasks: TaskManager,
    failures: mpsc::UnboundedReceiver<String>,
    rpc: RpcServer,
    auth: Option<RpcServer>,
}

impl RunningNode {
    /// Resolves when a critical task fails, with its message.
    pub async fn failed(&mut self) -> String {
        self.failures.recv().await.unwrap_or_else(|| "task manager closed".into())
    }

    /// Stops block production (after the block in flight), then RPC, then closes the database.
    pub async fn stop(self) {
        tracing::info!(target: "node", "shutting down");
        self.tasks.shutdown().await;
        // A block imported last may still be being written; it is announced once written.
        if let Err(err) = self.db.wait_persisted() {
            tracing::error!(target: "node", %err, "the last block was not written");
        }
        for server in std::iter::once(self.rpc).chain(self.auth) {
            if server.handle.stop().is_ok() {
                server.handle.stopped().await;
            }
        }
        let head = self.db.head_number();
        drop(self.db);
        tracing::info!(target: "node", head, "stopped");
    }
}

/// The pool's view of state: the newest nonce and balance. Plain state through the hot
/// cache, not the state at one block number: the pool re-reads under its own lock when a
/// block landed meanwhile (its generation), so it needs the newest value, not a consistent
/// block, and skips the history lookup `state_at` makes for every admission.
struct HeadState(Database);

impl StateView for HeadState {
    fn nonce_and_balance(&self, address: &Address) -> Result<(u64, U256), String> {
        let state = self.0.latest_state();
        let account = state.account(address).map_err(|err| err.to_string())?;
        Ok(account.map(|a| (a.nonce, a.balance)).unwrap_or_default())
    }
}

/// Opens the database and starts every part.
///
/// # Errors
///
/// The database cannot be opened (another chain, damage), the RPC port cannot be bound, or the
/// metrics exporter cannot start.
pub async fn launch(config: NodeConfig) -> Result<RunningNode, NodeError> {
    let chain = config.chain.clone();
    std::fs::create_dir_all(&config.datadir)
        .map_err(|err| NodeError::Task(format!("cannot create datadir: {err}")))?;
    let db = Database::open(config.datadir.join("db"), &chain, DatabaseConfig::default())?;
    let head = db.head();
    tracing::info!(
        target: "node",
        chain_id = chain.chain_id(),
        head = head.number,
        hash = %head.hash(),
        state_root = %head.state_root,
        datadir = %config.datadir.display(),
        "database open"
    );
    if let Some(addr) = config.metrics {
        install_exporter(addr).map_err(NodeError::Metrics)?;
        tracing::info!(target: "node", %addr, "metrics listening");
    }

    let evm = EvmConfig::new(chain.clone());
    let pool = TxPool::new(
        config.pool,
        chain.chain_id(),
        chain.spec_id_at(head.timestamp + 1),
        head.gas_limit,
        chain.next_base_fee(&head, head.timestamp + 1),
        Arc::new(HeadState(db.clone())),
    );
    // The L1 dev chain takes blob transactions (the batch poster's); an OP chain has none.
    let pool = Arc::new(if chain.is_optimism() { pool } else { pool.with_blob_transactions() });
    // Pending transactions from before a crash come back before RPC opens.
    pool.open_journal(&config.datadir.join("txpool.journal"))
        .map_err(|err| NodeError::Task(format!("transaction journal: {err}")))?;
    let (blocks, _) = broadcast::channel::<Arc<ExecutedBlock>>(256);
    let heads = Arc::new(SafetyHeads::default());
    let (safe_depth, finalized_depth) =
        config.dev.map(|dev| (dev.safe_depth, dev.finalized_depth)).unwrap_or_default();
    if config.dev.is_none() {
        // What derivation (or the Engine API's forkchoice) last recorded: before it runs
        // again, nothing newer is safe.
        let (safe, finalized) = db.safety_heads()?;
        heads.set(safe, finalized);
    } else {
        heads.set(
            head.number.saturating_sub(safe_depth),
            head.number.saturating_sub(finalized_depth),
        );
    }

    if let Some(rollup) = &config.rollup
        && rollup.rollup.genesis.l2.hash != chain.genesis_header().hash()
    {
        return Err(NodeError::Task(format!(
            "the rollup config's L2 genesis {} is not this chain's genesis {}",
            rollup.rollup.genesis.l2.hash,
            chain.genesis_header().hash()
        )));
    }
    let l1 = match &config.rollup {
        Some(rollup) => Some(
            tributary_l1::L1Client::new(&rollup.l1_rpc)
                .map_err(|err| NodeError::Task(err.to_string()))?,
        ),
        None => None,
    };
    let mut ctx = RpcContext::new(
        db.clone(),
        pool.clone(),
        evm.clone(),
        blocks.clone(),
        heads.clone(),
        config.rpc.clone(),
    );
    if let (Some(rollup), Some(l1)) = (&config.rollup, &l1) {
        ctx.rollup =
            Some(tributary_rpc::RollupRpc { config: rollup.rollup.clone(), l1: l1.clone() });
        if let Some(url) = &rollup.sequencer_http {
            let client = jsonrpsee::http_client::HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(10))
                .build(url)
                .map_err(|err| NodeError::Task(format!("--rollup.sequencer-http {url}: {err}")))?;
            ctx.sequencer = Some(client);
        }
    }
    let (tasks, failures) = TaskManager::new();
    let mut p2p_events = None;
    if let Some(p2p) = config.rollup.as_ref().and_then(|rollup| rollup.p2p.clone()) {
        let source = gossip::DatabaseBlocks { db: db.clone(), chain: chain.clone() };
        let (network, handle, events) = tributary_p2p::P2pNetwork::start(p2p, source)
            .await
            .map_err(|err| NodeError::Task(err.to_string()))?;
        let mut stop = tasks.shutdown_signal();
        tasks.spawn_critical("p2p", async move {
            network.run(async move { stop.wait().await }).await;
            Ok::<(), NodeError>(())
        });
        ctx.p2p = Some(handle);
        p2p_events = Some(events);
    }
    let p2p = ctx.p2p.clone();
    let reorgs = ctx.reorgs.clone();
    let preconfirmed = ctx.preconfirmed.clone();
    let ctx = Arc::new(ctx);
    let rpc = tributary_rpc::start_server(ctx.clone()).await.map_err(NodeError::Rpc)?;
    tracing::info!(target: "node", addr = %rpc.local_addr, "rpc listening (http and ws)");

    let sealer = sealer::BlockSealer {
        db: db.clone(),
        evm,
        pool: pool.clone(),
        blocks,
        heads: heads.clone(),
        metrics: NodeMetrics,
        writer: Default::default(),
        reorgs,
        unwritten: Default::default(),
    };
    let mut auth = None;
    if let Some(authrpc) = config.authrpc {
        let backend = Arc::new(engine::LocalEngine::new(sealer.clone()));
        let server = tributary_rpc::start_auth_server(ctx, backend, authrpc)
            .await
            .map_err(NodeError::Rpc)?;
        tracing::info!(target: "node", addr = %server.local_addr, "engine api listening (JWT)");
        auth = Some(server);
    }
    if let Some(dev) = config.dev {
        let producer = dev::DevProducer {
            sealer: sealer.clone(),
            block_time: dev.block_time,
            safe_depth: dev.safe_depth,
            finalized_depth: dev.finalized_depth,
        };
        tasks.spawn_critical("dev-block-producer", producer.run(tasks.shutdown_signal()));
    }
    if let (Some(rollup), Some(l1)) = (config.rollup, l1) {
        // Every rollup node derives its safe and finalized heads from L1, the sequencer too.
        let driver = derivation::DerivationDriver {
            engine: derivation::DatabaseEngine {
                sealer: sealer.clone(),
                rollup: rollup.rollup.clone(),
                senders: SenderCache::new(),
            },
            l1: l1.clone(),
            beacon: match &rollup.l1_beacon {
                Some(url) => Some(
                    tributary_l1::BeaconClient::new(url)
                        .map_err(|err| NodeError::Task(format!("--l1.beacon: {err}")))?,
                ),
                None => None,
            },
            heads: heads.clone(),
        };
        tasks.spawn_critical("derivation", driver.run(tasks.shutdown_signal()));
        match (&p2p, p2p_events, rollup.sequencer.is_some()) {
            (Some(p2p), _, true) => {
                let publisher = gossip::publish_blocks(
                    sealer.blocks.subscribe(),
                    p2p.clone(),
                    chain.clone(),
                    tasks.shutdown_signal(),
                );
                tasks.spawn_critical("p2p-publisher", publisher);
            }
            (Some(p2p), Some(events), false) => {
                let importer = gossip::UnsafeImporter {
                    sealer: sealer.clone(),
                    heads: heads.clone(),
                    p2p: p2p.clone(),
                    events,
                };
                tasks.spawn_critical("unsafe-import", importer.run(tasks.shutdown_signal()));
            }
            _ => {}
        }
        if let Some(sequencer) = rollup.sequencer {
            let sequencing = sequencing::SequencingLoop {
                sealer,
                sequencer: tributary_sequencer::Sequencer::new(l1.clone(), sequencer),
                flashblocks: rollup.flashblock_interval,
                preconfirmed,
            };
            tasks.spawn_critical("sequencer", sequencing.run(tasks.shutdown_signal()));
        }
        if let Some(batcher) = rollup.batcher {
            let (batcher, _status) = tributary_batcher::Batcher::new(l1, db.clone(), batcher)
                .map_err(|err| NodeError::Task(format!("batcher: {err}")))?;
            let mut stop = tasks.shutdown_signal();
            tasks.spawn_critical("batcher", batcher.run(async move { stop.wait().await }));
        }
    }
    let auth_addr = auth.as_ref().map(|server| server.local_addr);
    Ok(RunningNode { rpc_addr: rpc.local_addr, auth_addr, db, pool, tasks, failures, rpc, auth })
}
