//! The jsonrpsee server, the small namespaces, and the limits.

use crate::optimism::OptimismApiServer;
use crate::{
    AttrApiServer, RpcContext, RpcResult,
    api::{EthApiServer, NetApiServer, TxPoolApiServer, Web3ApiServer},
    eth::{EthHandler, convert::rpc_transaction},
};
use alloy_primitives::{B256, Bytes, U64, keccak256};
use jsonrpsee::{
    RpcModule,
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle},
};
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

/// RPC limits and address. Parsing no CLI flags gives [`RpcConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// Listen address; HTTP and WebSocket share it.
    pub addr: SocketAddr,
    /// Largest request body, bytes.
    pub max_request_body_size: u32,
    /// Largest response body, bytes.
    pub max_response_body_size: u32,
    /// Concurrent connections.
    pub max_connections: u32,
    /// Calls in one batch.
    pub max_batch_len: u32,
    /// Gas cap for `eth_call` and `eth_estimateGas`.
    pub gas_cap: u64,
    /// Most logs one query returns.
    pub max_logs: usize,
    /// Most blocks one log query spans.
    pub max_log_block_range: u64,
    /// Most filters installed at once.
    pub max_filters: usize,
    /// Serve `debug_setHead` (dev chains only: it rewinds the chain).
    pub allow_set_head: bool,
    /// Serve the beacon endpoints a rollup node reads from L1 (`beacon.rs`), with slots this
    /// many seconds long (the L1 dev chain's block time).
    pub beacon_seconds_per_slot: Option<u64>,
}

impl RpcConfig {
    /// Default port, as geth's and reth's.
    pub const DEFAULT_PORT: u16 = 8545;
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), Self::DEFAULT_PORT),
            max_request_body_size: 15 * 1024 * 1024,
            max_response_body_size: 160 * 1024 * 1024,
            max_connections: 500,
            max_batch_len: 100,
            gas_cap: 50_000_000,
            max_logs: 10_000,
            max_log_block_range: 10_000,
            max_filters: 1_000,
            allow_set_head: false,
            beacon_seconds_per_slot: None,
        }
    }
}

/// The safe and finalized block numbers, set by whoever knows them (the node in dev mode, the
/// derivation pipeline later).
#[derive(Debug, Default)]
pub struct SafetyHeads {
    safe: AtomicU64,
    finalized: AtomicU64,
}

impl SafetyHeads {
    /// The safe head.
    pub fn safe(&self) -> u64 {
        self.safe.load(Ordering::Relaxed)
    }

    /// The finalized head.
    pub fn finalized(&self) -> u64 {
        self.finalized.load(Ordering::Relaxed)
    }

    /// Moves both heads.
    pub fn set(&self, safe: u64, finalized: u64) {
        self.safe.store(safe, Ordering::Relaxed);
        self.finalized.store(finalized, Ordering::Relaxed);
    }
}

/// A running server.
#[derive(Debug)]
pub struct RpcServer {
    /// Stops the server when told.
    pub handle: ServerHandle,
    /// Where it listens (the real port when 0 was asked for).
    pub local_addr: SocketAddr,
}

/// Starts the server with every namespace.
///
/// # Errors
///
/// The address cannot be bound, or a method name clashes.
pub async fn start_server(ctx: Arc<RpcContext>) -> eyre_free::Result<RpcServer> {
    let config = &ctx.config;
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_size)
        .max_response_body_size(config.max_response_body_size)
        .max_connections(config.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .build();
    let beacon = config.beacon_seconds_per_slot.map(|seconds_per_slot| {
        let gate = crate::beacon::BeaconGate {
            ctx: ctx.clone(),
            seconds_per_slot: seconds_per_slot.max(1),
        };
        crate::gate::GateLayer(gate)
    });
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().option_layer(beacon))
        .build(config.addr)
        .await?;
    let local_addr = server.local_addr()?;
    let mut module = RpcModule::new(());
    let eth = EthHandler { ctx: ctx.clone() };
    module
        .merge(crate::attr::AttrHandler { eth: eth.clone() }.into_rpc())
        .map_err(eyre_free::other)?;
    module.merge(eth.into_rpc()).map_err(eyre_free::other)?;
    module.merge(Small { ctx: ctx.clone() }.into_rpc_net()).map_err(eyre_free::other)?;
    module.merge(Web3ApiServer::into_rpc(Small { ctx: ctx.clone() })).map_err(eyre_free::other)?;
    module
        .merge(OptimismApiServer::into_rpc(crate::optimism::OptimismHandler { ctx: ctx.clone() }))
        .map_err(eyre_free::other)?;
    module
        .merge(crate::p2p::P2pApiServer::into_rpc(crate::p2p::P2pHandler { ctx: ctx.clone() }))
        .map_err(eyre_free::other)?;
    if config.allow_set_head {
        let debug = crate::debug::DebugHandler { ctx: ctx.clone() };
        module.merge(crate::debug::DebugApiServer::into_rpc(debug)).map_err(eyre_free::other)?;
    }
    module.merge(TxPoolApiServer::into_rpc(Small { ctx })).map_err(eyre_free::other)?;
    let handle = server.start(module);
    Ok(RpcServer { handle, local_addr })
}

/// `std::io::Result` for server start-up, without pulling eyre into a library.
mod eyre_free {
    pub(crate) type Result<T> = std::io::Result<T>;
    pub(crate) fn other(err: impl std::fmt::Display) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}

/// `net_`, `web3_` and `txpool_`.
#[derive(Clone)]
struct Small {
    ctx: Arc<RpcContext>,
}

impl Small {
    fn into_rpc_net(self) -> RpcModule<Self> {
        NetApiServer::into_rpc(self)
    }
}

impl NetApiServer for Small {
    fn version(&self) -> RpcResult<String> {
        Ok(self.ctx.evm.chain().chain_id().to_string())
    }

    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn peer_count(&self) -> RpcResult<U64> {
        let peers = self.ctx.p2p.as_ref().map_or(0, |p2p| p2p.status().connected());
        Ok(U64::from(peers))
    }
}

impl Web3ApiServer for Small {
    fn client_version(&self) -> RpcResult<String> {
        Ok(format!("tributary/v{}/{}", env!("CARGO_PKG_VERSION"), std::env::consts::OS))
    }

    fn sha3(&self, input: Bytes) -> RpcResult<B256> {
        Ok(keccak256(input))
    }
}

impl TxPoolApiServer for Small {
    fn status(&self) -> RpcResult<Value> {
        let status = self.ctx.pool.status();
        Ok(json!({
            "pending": format!("{:#x}", status.pending),
            "queued": format!("{:#x}", status.queued),
        }))
    }

    fn content(&self) -> RpcResult<Value> {
        let content = self.ctx.pool.content();
        let side = |txs: BTreeMap<
            alloy_primitives::Address,
            BTreeMap<u64, Arc<tributary_txpool::PooledTx>>,
        >| {
            let mut out = serde_json::Map::new();
            for (sender, by_nonce) in txs {
                let mut nonces = serde_json::Map::new();
                for (nonce, pooled) in by_nonce {
                    let tx = rpc_transaction(pooled.tx.inner(), pooled.tx.signer(), None, None);
                    nonces
                        .insert(nonce.to_string(), serde_json::to_value(tx).unwrap_or(Value::Null));
                }
                out.insert(sender.to_checksum(None), Value::Object(nonces));
            }
            Value::Object(out)
        };
        Ok(json!({ "pending": side(content.pending), "queued": side(content.queued) }))
    }
}
