//! The Engine API over real HTTP with JWT, on engine-only nodes (no block production of their
//! own): the test plays the rollup node, as op-node or kona-node would.

use crate::helpers::{dev_key, transfer};
use alloy::{
    consensus::Sealed,
    eips::Encodable2718,
    primitives::{Address, B64, B256, Bytes},
};
use alloy_rpc_types_engine::{
    Claims, ForkchoiceState, ForkchoiceUpdated, JwtSecret, PayloadAttributes, PayloadId,
    PayloadStatus, PayloadStatusEnum,
};
use jsonrpsee::{
    core::{ClientError, client::ClientT},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use op_alloy::rpc_types_engine::{OpExecutionPayloadEnvelopeV4, OpPayloadAttributes};
use serde_json::Value;
use std::sync::Arc;
use tributary_chainspec::ChainSpec;
use tributary_evm::{BlockAttributes, EvmConfig};
use tributary_node::{NodeConfig, RunningNode};
use tributary_primitives::OpTxEnvelope;
use tributary_rpc::{AuthRpcConfig, RpcConfig};

/// An engine-only node and a client that signs its requests with the node's secret.
struct EngineNode {
    node: Option<RunningNode>,
    engine: HttpClient,
    public: HttpClient,
    secret: JwtSecret,
    auth_url: String,
    _dir: tempfile::TempDir,
}

fn client(url: &str, secret: &JwtSecret, iat: u64) -> HttpClient {
    let token = secret.encode(&Claims { iat, exp: None }).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    HttpClientBuilder::default().set_headers(headers).build(url).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

impl EngineNode {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secret = JwtSecret::random();
        let config = NodeConfig {
            datadir: dir.path().to_path_buf(),
            chain: Arc::new(ChainSpec::dev()),
            rpc: RpcConfig { addr: "127.0.0.1:0".parse().unwrap(), ..Default::default() },
            pool: Default::default(),
            dev: None,
            metrics: None,
            rollup: None,
            authrpc: Some(AuthRpcConfig { addr: "127.0.0.1:0".parse().unwrap(), secret }),
        };
        let node = tributary_node::launch(config).await.unwrap();
        let auth_url = format!("http://{}", node.auth_addr.unwrap());
        let engine = client(&auth_url, &secret, now());
        let public =
            HttpClientBuilder::default().build(format!("http://{}", node.rpc_addr)).unwrap();
        Self { node: Some(node), engine, public, secret, auth_url, _dir: dir }
    }

    async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }

    async fn forkchoice(
        &self,
        head: B256,
        safe: B256,
        attrs: Option<OpPayloadAttributes>,
    ) -> Result<ForkchoiceUpdated, ClientError> {
        let state = ForkchoiceState {
            head_block_hash: head,
            safe_block_hash: safe,
            finalized_block_hash: safe,
        };
        self.engine.request("engine_forkchoiceUpdatedV3", rpc_params![state, attrs]).await
    }

    async fn get_payload(
        &self,
        id: PayloadId,
    ) -> Result<OpExecutionPayloadEnvelopeV4, ClientError> {
        self.engine.request("engine_getPayloadV4", rpc_params![id]).await
    }

    async fn new_payload(&self, envelope: &OpExecutionPayloadEnvelopeV4) -> PayloadStatus {
        let params = rpc_params![
            &envelope.execution_payload,
            Vec::<B256>::new(),
            envelope.parent_beacon_block_root,
            Vec::<Bytes>::new()
        ];
        self.engine.request("engine_newPayloadV4", params).await.unwrap()
    }

    /// The public RPC's block `tag` (hash, state root).
    async fn block(&self, tag: &str) -> (B256, B256) {
        let block: Value =
            self.public.request("eth_getBlockByNumber", rpc_params![tag, false]).await.unwrap();
        let field = |name: &str| block[name].as_str().unwrap().parse().unwrap();
        (field("hash"), field("stateRoot"))
    }

    /// Builds a payload on `parent` from `attrs` and returns it (not yet imported).
    async fn build(
        &self,
        parent: B256,
        attrs: OpPayloadAttributes,
    ) -> OpExecutionPayloadEnvelopeV4 {
        let updated = self.forkchoice(parent, B256::ZERO, Some(attrs)).await.unwrap();
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
        self.get_payload(updated.payload_id.expect("a payload id")).await.unwrap()
    }
}

fn genesis_hash() -> B256 {
    ChainSpec::dev().genesis_header().hash()
}

/// Attributes for the child of a block at `parent_timestamp`, `seconds` later, with the L1
/// attributes deposit and `txs` forced in; from the pool too unless `no_tx_pool`.
fn attributes(
    parent_timestamp: u64,
    seconds: u64,
    txs: Vec<Vec<u8>>,
    no_tx_pool: bool,
) -> OpPayloadAttributes {
    let chain = Arc::new(ChainSpec::dev());
    let timestamp = parent_timestamp + seconds;
    let block = BlockAttributes {
        timestamp,
        prev_randao: B256::repeat_byte(7),
        parent_beacon_block_root: B256::repeat_byte(9),
        l1_info: tributary_node::dev_l1_origin(1),
        deposits: Vec::new(),
    };
    let deposit = EvmConfig::new(chain.clone()).l1_info_deposit(parent_timestamp, &block);
    let l1_info = OpTxEnvelope::Deposit(Sealed::new(deposit)).encoded_2718();
    OpPayloadAttributes {
        payload_attributes: PayloadAttributes {
            timestamp,
            prev_randao: block.prev_randao,
            suggested_fee_recipient: Address::ZERO,
            withdrawals: Some(Vec::new()),
            parent_beacon_block_root: Some(block.parent_beacon_block_root),
            slot_number: None,
            target_gas_limit: None,
        },
        transactions: Some(std::iter::once(l1_info).chain(txs).map(Bytes::from).collect()),
        no_tx_pool: Some(no_tx_pool),
        gas_limit: Some(chain.genesis_header().gas_limit),
        eip_1559_params: Some(B64::ZERO),
        min_base_fee: Some(chain.fees().min_base_fee),
    }
}

fn genesis_timestamp() -> u64 {
    ChainSpec::dev().genesis_header().timestamp
}

/// Requests signed with the secret and a fresh `iat` are served; another secret, a stale
/// `iat` or no token get HTTP 401 and no answer.
#[tokio::test(flavor = "multi_thread")]
async fn the_engine_api_serves_only_fresh_tokens_signed_with_the_secret() {
    let node = EngineNode::start().await;
    let capabilities: Vec<String> = node
        .engine
        .request("engine_exchangeCapabilities", rpc_params![Vec::<String>::new()])
        .await
        .unwrap();
    assert!(capabilities.iter().any(|m| m == "engine_forkchoiceUpdatedV3"));
    assert!(capabilities.iter().any(|m| m == "engine_newPayloadV4"));
    let version: Value = node
        .engine
        .request("engine_getClientVersionV1", rpc_params![serde_json::json!({"code": "OP", "name": "op-node", "version": "1", "commit": "00000000"})])
        .await
        .unwrap();
    assert_eq!(version[0]["name"], "Tributary");
    // eth_ is served on the same port.
    let chain_id: String = node.engine.request("eth_chainId", rpc_params![]).await.unwrap();
    assert_eq!(chain_id, "0x385");

    let refused = [
        client(&node.auth_url, &JwtSecret::random(), now()),
        client(&node.auth_url, &node.secret, now() - 120),
        client(&node.auth_url, &node.secret, now() + 120),
        HttpClientBuilder::default().build(&node.auth_url).unwrap(),
    ];
    for (i, other) in refused.iter().enumerate() {
        let err = other.request::<String, _>("eth_chainId", rpc_params![]).await.unwrap_err();
        assert!(err.to_string().contains("401"), "client {i}: {err}");
    }
    node.stop().await;
}

/// A payload built from attributes on one node is imported by another with the same hash
/// and state root; the forkchoice's safe block becomes the `safe` tag on both.
#[tokio::test(flavor = "multi_thread")]
async fn a_payload_built_from_attributes_is_imported_by_another_node_with_the_same_hash() {
    let (builder, follower) = (EngineNode::start().await, EngineNode::start().await);
    let genesis = genesis_hash();
    let key = dev_key(0);
    let forced = transfer(&key, 0, Address::repeat_byte(0x11), 1_000);
    // One transaction from the builder's pool too.
    let pooled = transfer(&dev_key(1), 0, Address::repeat_byte(0x22), 2_000);
    let _: B256 = builder
        .public
        .request("eth_sendRawTransaction", rpc_params![Bytes::from(pooled)])
        .await
        .unwrap();

    let envelope =
        builder.build(genesis, attributes(genesis_timestamp(), 2, vec![forced], false)).await;
    let payload = &envelope.execution_payload.payload_inner;
    assert_eq!(
        payload.payload_inner.payload_inner.transactions.len(),
        3,
        "deposit, forced, pooled"
    );
    let hash = payload.payload_inner.payload_inner.block_hash;
    assert!(envelope.block_value > alloy::primitives::U256::ZERO, "the tips are the block's value");

    for node in [&builder, &follower] {
        let status = node.new_payload(&envelope).await;
        assert_eq!(status.status, PayloadStatusEnum::Valid, "{status}");
        assert_eq!(status.latest_valid_hash, Some(hash));
        let updated = node.forkchoice(hash, hash, None).await.unwrap();
        assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    }
    let (on_builder, on_follower) = (builder.block("latest").await, follower.block("latest").await);
    assert_eq!(on_builder.0, hash);
    assert_eq!(on_builder, on_follower, "same hash and state root");
    assert_eq!(follower.block("safe").await.0, hash);
    assert_eq!(follower.block("finalized").await.0, hash);
    // A repeated newPayload of a stored block is VALID again.
    assert_eq!(follower.new_payload(&envelope).await.status, PayloadStatusEnum::Valid);
    builder.stop().await;
    follower.stop().await;
}

/// A payload whose state root is wrong (block hash recomputed to match) is INVALID with its
/// parent as the latest valid hash, and stays refused; one with a wrong block hash is
/// INVALID with no latest valid hash; a payload on an unknown parent is SYNCING; the safe
/// block must be at or below the head.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_payloads_are_reported_with_their_latest_valid_ancestor() {
    let (builder, follower) = (EngineNode::start().await, EngineNode::start().await);
    let genesis = genesis_hash();
    let envelope =
        builder.build(genesis, attributes(genesis_timestamp(), 2, Vec::new(), true)).await;

    let mut block = envelope.execution_payload.clone().try_into_block::<OpTxEnvelope>().unwrap();
    block.header.parent_beacon_block_root = Some(envelope.parent_beacon_block_root);
    block.header.requests_hash = Some(alloy::eips::eip7685::EMPTY_REQUESTS_HASH);
    assert_eq!(
        block.header.hash_slow(),
        envelope.execution_payload.payload_inner.payload_inner.payload_inner.block_hash
    );
    block.header.state_root = B256::repeat_byte(0xba);
    let bad_hash = block.header.hash_slow();
    let mut bad = envelope.clone();
    let inner = &mut bad.execution_payload.payload_inner.payload_inner.payload_inner;
    inner.state_root = block.header.state_root;
    inner.block_hash = bad_hash;
    let status = follower.new_payload(&bad).await;
    assert!(status.is_invalid(), "{status}");
    assert_eq!(status.latest_valid_hash, Some(genesis));
    let again = follower.new_payload(&bad).await;
    assert!(again.is_invalid());
    let updated = follower.forkchoice(bad_hash, B256::ZERO, None).await.unwrap();
    assert!(updated.payload_status.is_invalid());
    assert_eq!(follower.block("latest").await.0, genesis, "nothing was stored");

    let mut wrong_hash = envelope.clone();
    wrong_hash.execution_payload.payload_inner.payload_inner.payload_inner.block_hash =
        B256::repeat_byte(1);
    let status = follower.new_payload(&wrong_hash).await;
    assert!(status.is_invalid());
    assert_eq!(status.latest_valid_hash, None);

    // Block 2 before block 1: its parent is unknown.
    let hash1 = envelope.execution_payload.payload_inner.payload_inner.payload_inner.block_hash;
    assert_eq!(builder.new_payload(&envelope).await.status, PayloadStatusEnum::Valid);
    builder.forkchoice(hash1, B256::ZERO, None).await.unwrap();
    let second =
        builder.build(hash1, attributes(genesis_timestamp() + 2, 2, Vec::new(), true)).await;
    let status = follower.new_payload(&second).await;
    assert_eq!(status.status, PayloadStatusEnum::Syncing);
    let hash2 = second.execution_payload.payload_inner.payload_inner.payload_inner.block_hash;
    // Once block 1 is in, the forkchoice to block 2 imports the held payload.
    assert_eq!(follower.new_payload(&envelope).await.status, PayloadStatusEnum::Valid);
    let updated = follower.forkchoice(hash2, hash1, None).await.unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    assert_eq!(follower.block("latest").await.0, hash2);
    assert_eq!(follower.block("safe").await.0, hash1);
    // A forkchoice to an unknown head is SYNCING; a safe block above the head is refused.
    let unknown = follower.forkchoice(B256::repeat_byte(3), B256::ZERO, None).await.unwrap();
    assert_eq!(unknown.payload_status.status, PayloadStatusEnum::Syncing);
    let err = follower.forkchoice(hash1, hash2, None).await.unwrap_err();
    assert!(err.to_string().contains("-38002") || err.to_string().contains("forkchoice"), "{err}");
    builder.stop().await;
    follower.stop().await;
}

/// A reorg through the forkchoice: a node on block 1a takes a competing block 1b (held as
/// ACCEPTED, then made the head), and a build on an older head rewinds to it first.
#[tokio::test(flavor = "multi_thread")]
async fn a_forkchoice_update_reorganizes_the_chain() {
    let (builder, follower) = (EngineNode::start().await, EngineNode::start().await);
    let genesis = genesis_hash();
    let key = dev_key(0);
    let a = builder
        .build(
            genesis,
            attributes(
                genesis_timestamp(),
                2,
                vec![transfer(&key, 0, Address::repeat_byte(0xa), 1)],
                true,
            ),
        )
        .await;
    let hash_a = a.execution_payload.payload_inner.payload_inner.payload_inner.block_hash;
    for node in [&builder, &follower] {
        assert_eq!(node.new_payload(&a).await.status, PayloadStatusEnum::Valid);
        node.forkchoice(hash_a, B256::ZERO, None).await.unwrap();
    }
    // The builder builds 1b on genesis: the head goes back to genesis first.
    let b = builder
        .build(
            genesis,
            attributes(
                genesis_timestamp(),
                4,
                vec![transfer(&key, 0, Address::repeat_byte(0xb), 1)],
                true,
            ),
        )
        .await;
    let hash_b = b.execution_payload.payload_inner.payload_inner.payload_inner.block_hash;
    assert_ne!(hash_a, hash_b);
    assert_eq!(builder.block("latest").await.0, genesis, "rewound to build on genesis");
    assert_eq!(builder.new_payload(&b).await.status, PayloadStatusEnum::Valid);
    builder.forkchoice(hash_b, B256::ZERO, None).await.unwrap();
    assert_eq!(builder.block("latest").await.0, hash_b);

    // The follower holds 1b beside its head 1a until the forkchoice names it.
    let status = follower.new_payload(&b).await;
    assert_eq!(status.status, PayloadStatusEnum::Accepted);
    assert_eq!(follower.block("latest").await.0, hash_a);
    let updated = follower.forkchoice(hash_b, B256::ZERO, None).await.unwrap();
    assert_eq!(updated.payload_status.status, PayloadStatusEnum::Valid);
    assert_eq!(follower.block("latest").await, builder.block("latest").await);
    // And back to 1a, which it no longer holds: SYNCING until it is sent again.
    let back = follower.forkchoice(hash_a, B256::ZERO, None).await.unwrap();
    assert_eq!(back.payload_status.status, PayloadStatusEnum::Syncing);
    builder.stop().await;
    follower.stop().await;
}

/// A forced transaction the EVM refuses (its sender cannot pay) fails the forkchoice update
/// that carries it with -38003, before any getPayload, so the rollup node falls back to a
/// deposit-only block; that one builds.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_forced_transaction_fails_the_forkchoice_update() {
    let node = EngineNode::start().await;
    let genesis = genesis_hash();
    let broke = alloy::signers::local::PrivateKeySigner::random();
    let forced = transfer(&broke, 0, Address::repeat_byte(1), 1);
    let attrs = attributes(genesis_timestamp(), 2, vec![forced], true);
    let err = node.forkchoice(genesis, B256::ZERO, Some(attrs)).await.unwrap_err();
    assert!(err.to_string().contains("-38003"), "{err}");
    let deposits_only =
        node.build(genesis, attributes(genesis_timestamp(), 2, Vec::new(), true)).await;
    assert_eq!(node.new_payload(&deposits_only).await.status, PayloadStatusEnum::Valid);
    node.stop().await;
}
