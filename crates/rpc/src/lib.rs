//! Tributary's JSON-RPC: the `eth`, `net`, `web3`, `txpool` and `attr` namespaces, served over HTTP
//! and WebSocket on one port with jsonrpsee.
//!
//! # Parts
//!
//! - `api.rs`: the method signatures, one jsonrpsee trait per namespace.
//! - `eth/`: `eth_` over the database, the pool and the EVM. `convert.rs` shapes stored blocks,
//!   transactions and receipts (with the OP L1 fee fields, recomputed with op-revm from the
//!   L1Block storage at that block, exactly as execution charged them); `call.rs` runs
//!   `eth_call` and the `eth_estimateGas` binary search; `fees.rs` suggests prices and builds
//!   `eth_feeHistory`; `filter.rs` answers `eth_getLogs`, polled filters and subscriptions.
//! - `attr.rs`: `attr_`, the Attribution and Royalties records as JSON, read by calling the
//!   precompiles' views at the requested block.
//! - `beacon.rs`: on the L1 dev chain, the beacon REST endpoints a rollup node reads
//!   (`--l1.beacon`), on the JSON-RPC port.
//! - `engine.rs` and `auth.rs`: the Engine API (`engine_*`) and `eth_*` on the JWT-checked
//!   port (`--authrpc.*`), so op-node or kona-node can drive the node; the chain work behind
//!   it is the node's [`engine::EngineBackend`].
//! - `optimism.rs` and `p2p.rs`: op-node's `optimism_` (sync status, rollup config, output
//!   roots) and `opp2p_` (our peer id and addresses, peers with their gossip scores).
//! - [`RpcContext`]: what handlers share. New blocks arrive on its broadcast channel from the
//!   node's block pipeline; subscriptions and filters read them from there.
//!
//! # Behaviour wallets rely on
//!
//! - A revert is error code 3, message `execution reverted: <reason>`, revert data in `data`.
//! - Unknown blocks in state queries are `-32000 header not found`; in block queries, `null`.
//! - Pool errors keep geth's wording (`nonce too low`, `replacement transaction underpriced`).
//! - Request body size, batch length, connections, log range and log count are bounded.
//! - Execution, log scans and receipts run on tokio's blocking pool.

mod api;
mod attr;
mod auth;
mod beacon;
mod debug;
pub mod engine;
mod error;
mod eth;
mod gate;
mod optimism;
mod p2p;
mod reorg;
mod server;

pub use api::{
    EthApiServer, NetApiServer, RpcBlock, RpcTransaction, TxPoolApiServer, Web3ApiServer,
};
pub use attr::{AttrApiServer, MAX_PAGE};
pub use auth::{AuthRpcConfig, load_or_create_secret, start_auth_server};
pub use error::{RpcError, RpcResult};
pub use eth::{PendingBlock, Preconfirmed};
pub use optimism::{OptimismApiServer, RollupRpc, output_root};
pub use p2p::P2pApiServer;
pub use reorg::{Reorg, Reorgs, RevertedBlock};
pub use server::{RpcConfig, RpcServer, SafetyHeads, start_server};

use std::sync::Arc;
use tokio::sync::broadcast;
use tributary_evm::EvmConfig;
use tributary_storage::{Database, ExecutedBlock};
use tributary_txpool::TxPool;

/// Everything the handlers share.
pub struct RpcContext {
    /// The database.
    pub db: Database,
    /// The transaction pool.
    pub pool: Arc<TxPool>,
    /// Execution, for calls.
    pub evm: EvmConfig,
    /// New canonical blocks, as the node commits them.
    pub blocks: broadcast::Sender<Arc<ExecutedBlock>>,
    /// The safe and finalized heads.
    pub heads: Arc<SafetyHeads>,
    /// Limits.
    pub config: RpcConfig,
    /// The rollup config and L1, on a rollup node (`optimism_*`).
    pub rollup: Option<optimism::RollupRpc>,
    /// On a follower: the sequencer's RPC, where `eth_sendRawTransaction` is forwarded.
    pub sequencer: Option<jsonrpsee::http_client::HttpClient>,
    /// Rewinds of the chain, for filters and subscriptions; whatever rewinds goes through it.
    pub reorgs: Arc<Reorgs>,
    /// The P2P network, unless disabled (`opp2p_*`, `net_peerCount`).
    pub p2p: Option<tributary_p2p::P2pHandle>,
    pub(crate) filters: eth::Filters,
    /// Decoded receipts and senders of the newest blocks (`eth/recent.rs`).
    pub(crate) recent: eth::RecentBlocks,
    /// The block the sequencer is building, when it builds in rounds (`eth/pending.rs`).
    pub preconfirmed: Arc<Preconfirmed>,
}

impl std::fmt::Debug for RpcContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcContext").field("config", &self.config).finish_non_exhaustive()
    }
}

impl RpcContext {
    /// A context over the node's parts.
    pub fn new(
        db: Database,
        pool: Arc<TxPool>,
        evm: EvmConfig,
        blocks: broadcast::Sender<Arc<ExecutedBlock>>,
        heads: Arc<SafetyHeads>,
        config: RpcConfig,
    ) -> Self {
        let filters = eth::Filters::new(config.max_filters);
        Self {
            db,
            pool,
            evm,
            blocks,
            heads,
            config,
            rollup: None,
            sequencer: None,
            reorgs: Default::default(),
            p2p: None,
            filters,
            recent: Default::default(),
            preconfirmed: Default::default(),
        }
    }
}
