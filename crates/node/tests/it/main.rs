//! End-to-end tests of a real node over real JSON-RPC (HTTP and WebSocket) on 127.0.0.1.

mod capacity;
mod engine;
mod helpers;
mod l1;
mod reorg;
mod replay;

use alloy::{
    primitives::{Address, Bytes, TxKind, U256, keccak256},
    sol,
    sol_types::{SolCall, SolError, SolEvent, SolValue},
};
use helpers::*;
use jsonrpsee::{core::client::SubscriptionClientT, rpc_params, ws_client::WsClientBuilder};
use serde_json::{Value, json};
use std::time::Duration;

sol! {
    contract Counter {
        function count() external view returns (uint256);
        function increment() external;
        function fail(string calldata reason) external pure;
        function boom(uint256 code) external pure;
        event Incremented(address indexed by, uint256 newCount);
        error Boom(uint256 code);
    }
}

fn counter_init_code(start: u64) -> Bytes {
    let artifact: Value =
        serde_json::from_str(include_str!("../../../../tests/contracts/build/Counter.json"))
            .unwrap();
    let code: Bytes = artifact["bytecode"].as_str().unwrap().parse().unwrap();
    [code.to_vec(), U256::from(start).abi_encode()].concat().into()
}

pub(crate) async fn deploy_counter(
    node: &TestNode,
    key: &alloy::signers::local::PrivateKeySigner,
) -> Address {
    let nonce = node.nonce(key.address()).await;
    let raw = sign(key, nonce, TxKind::Create, U256::ZERO, counter_init_code(5), 1_000_000, FEES);
    let receipt = node.receipt(node.send(raw).await.unwrap()).await;
    assert_eq!(receipt["status"], "0x1");
    receipt["contractAddress"].as_str().unwrap().parse().unwrap()
}

fn call_json(to: Address, data: impl SolCall) -> Value {
    json!({ "to": to.to_string(), "data": Bytes::from(data.abi_encode()).to_string() })
}

#[tokio::test(flavor = "multi_thread")]
async fn transfer_receipt_fees_and_history() {
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(1);
    let to = Address::repeat_byte(0x42);
    assert_eq!(node.rpc("eth_chainId", vec![]).await, "0x385");
    assert_eq!(node.rpc("net_version", vec![]).await, "901");
    let before = node.balance(key.address(), "latest").await;
    let start = node.block_number().await;

    let hash = node.send(transfer(&key, 0, to, 1_000)).await.unwrap();
    let receipt = node.receipt(hash).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["gasUsed"], "0x5208");
    let l1_fee = hex_u256(&receipt["l1Fee"]);
    assert!(l1_fee > U256::ZERO, "the L1 data fee is charged and reported");
    let gas_price = hex_u256(&receipt["effectiveGasPrice"]);
    let after = node.balance(key.address(), "latest").await;
    assert_eq!(before - after, U256::from(1_000) + U256::from(21_000) * gas_price + l1_fee);
    assert_eq!(node.balance(to, "latest").await, U256::from(1_000));

    // history: the balance at the old block is the old balance
    let old = format!("{start:#x}");
    assert_eq!(node.balance(key.address(), &old).await, before);
    assert_eq!(node.balance(to, &old).await, U256::ZERO);

    // the block opens with the L1 attributes deposit
    let block_number = receipt["blockNumber"].clone();
    let block = node.rpc("eth_getBlockByNumber", vec![block_number, true.into()]).await;
    let txs = block["transactions"].as_array().unwrap();
    assert_eq!(txs[0]["type"], "0x7e");
    assert_eq!(txs[0]["to"], "0x4200000000000000000000000000000000000015");
    assert_eq!(txs[1]["hash"], hash.to_string());
    // base fee goes to the BaseFeeVault, the tip to the SequencerFeeVault
    let base_fee_vault: Address = "0x4200000000000000000000000000000000000019".parse().unwrap();
    assert!(node.balance(base_fee_vault, "latest").await > U256::ZERO);

    // a nonce already used
    let err = node.send(transfer(&key, 0, to, 1)).await.unwrap_err();
    let (_, message, _) = error_parts(err);
    assert!(message.contains("nonce too low"), "{message}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_call_logs_and_reverts() {
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(2);
    let counter = deploy_counter(&node, &key).await;
    let code = node.rpc("eth_getCode", vec![addr(counter), "latest".into()]).await;
    assert!(code.as_str().unwrap().len() > 2);

    let count = node
        .rpc("eth_call", vec![call_json(counter, Counter::countCall {}), "latest".into()])
        .await;
    assert_eq!(hex_u256(&count), U256::from(5));

    let nonce = node.nonce(key.address()).await;
    let input = Bytes::from(Counter::incrementCall {}.abi_encode());
    let raw = sign(&key, nonce, TxKind::Call(counter), U256::ZERO, input, 100_000, FEES);
    let receipt = node.receipt(node.send(raw).await.unwrap()).await;
    let logs = receipt["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["topics"][0], Counter::Incremented::SIGNATURE_HASH.to_string());
    let by: Address = Address::from_word(logs[0]["topics"][1].as_str().unwrap().parse().unwrap());
    assert_eq!(by, key.address());
    assert_eq!(hex_u256(&logs[0]["data"]), U256::from(6));

    // eth_getLogs by address and topic over a range
    let filter = json!({
        "fromBlock": "0x0",
        "toBlock": "latest",
        "address": counter.to_string(),
        "topics": [Counter::Incremented::SIGNATURE_HASH.to_string()],
    });
    let found = node.rpc("eth_getLogs", vec![filter]).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["transactionHash"], receipt["transactionHash"]);
    let by_hash = json!({ "blockHash": receipt["blockHash"], "address": counter.to_string() });
    assert_eq!(node.rpc("eth_getLogs", vec![by_hash]).await.as_array().unwrap().len(), 1);

    // a revert carries code 3, the reason and the data
    let fail = call_json(counter, Counter::failCall { reason: "nope".into() });
    let (code, message, data) =
        error_parts(node.try_rpc("eth_call", vec![fail.clone()]).await.unwrap_err());
    assert_eq!(code, 3);
    assert!(message.contains("nope"), "{message}");
    assert!(data.unwrap().starts_with("0x08c379a0"));
    let (code, _, _) = error_parts(node.try_rpc("eth_estimateGas", vec![fail]).await.unwrap_err());
    assert_eq!(code, 3);
    let boom = call_json(counter, Counter::boomCall { code: U256::from(7) });
    let (code, _, data) = error_parts(node.try_rpc("eth_call", vec![boom]).await.unwrap_err());
    assert_eq!(code, 3);
    let expected = Bytes::from(Counter::Boom { code: U256::from(7) }.abi_encode()).to_string();
    assert_eq!(data.unwrap(), expected);

    // estimates: a transfer is 21000 exactly; a state change is enough to succeed
    let transfer = json!({ "from": key.address().to_string(), "to": Address::repeat_byte(9).to_string(), "value": "0x1" });
    assert_eq!(node.rpc("eth_estimateGas", vec![transfer]).await, "0x5208");
    let mut inc = call_json(counter, Counter::incrementCall {});
    inc["from"] = key.address().to_string().into();
    let estimate = hex_u64(&node.rpc("eth_estimateGas", vec![inc]).await);
    let nonce = node.nonce(key.address()).await;
    let input = Bytes::from(Counter::incrementCall {}.abi_encode());
    let raw = sign(&key, nonce, TxKind::Call(counter), U256::ZERO, input, estimate, FEES);
    assert_eq!(node.receipt(node.send(raw).await.unwrap()).await["status"], "0x1");

    // state overrides: pretend the counter holds 1000
    let overrides = json!({ counter.to_string(): { "stateDiff": { format!("{:#066x}", 0): format!("{:#066x}", 1000) } } });
    let count = node
        .rpc(
            "eth_call",
            vec![call_json(counter, Counter::countCall {}), "latest".into(), overrides],
        )
        .await;
    assert_eq!(hex_u256(&count), U256::from(1000));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nonce_gap_replacement_and_pool() {
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(3);
    let to = Address::repeat_byte(0x77);
    // nonce 1 first: it waits in the queue
    let queued = node.send(transfer(&key, 1, to, 5)).await.unwrap();
    let status = node.rpc("txpool_status", vec![]).await;
    assert_eq!(status, json!({ "pending": "0x0", "queued": "0x1" }));
    let content = node.rpc("txpool_content", vec![]).await;
    assert_eq!(content["queued"][key.address().to_checksum(None)]["1"]["hash"], queued.to_string());

    // a replacement needs a 10% bump on both fees
    let cheap = sign(
        &key,
        1,
        TxKind::Call(to),
        U256::from(6),
        Bytes::new(),
        21_000,
        Fees { max: 2 * GWEI + 1, tip: GWEI + 1 },
    );
    let (_, message, _) = error_parts(node.send(cheap).await.unwrap_err());
    assert_eq!(message, "replacement transaction underpriced");
    let bumped = sign(
        &key,
        1,
        TxKind::Call(to),
        U256::from(7),
        Bytes::new(),
        21_000,
        Fees { max: 3 * GWEI, tip: 2 * GWEI },
    );
    let replacement = node.send(bumped).await.unwrap();
    let got = node.rpc("eth_getTransactionByHash", vec![replacement.to_string().into()]).await;
    assert!(got["blockHash"].is_null(), "still pooled");

    // nonce 0 fills the gap: both are mined, and the replacement is what counted
    let first = node.send(transfer(&key, 0, to, 5)).await.unwrap();
    assert_eq!(node.receipt(first).await["status"], "0x1");
    assert_eq!(node.receipt(replacement).await["status"], "0x1");
    assert_eq!(node.balance(to, "latest").await, U256::from(12));
    let missing = node.rpc("eth_getTransactionReceipt", vec![queued.to_string().into()]).await;
    assert!(missing.is_null(), "the replaced transaction never lands");
    assert_eq!(
        node.rpc("txpool_status", vec![]).await,
        json!({ "pending": "0x0", "queued": "0x0" })
    );

    // garbage is refused and the node keeps answering
    assert!(node.send(vec![0xde, 0xad, 0xbe, 0xef]).await.is_err());
    assert!(node.send(vec![]).await.is_err());
    assert!(node.block_number().await > 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn blocks_fee_history_and_bad_input() {
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(4);
    for nonce in 0..4 {
        let hash = node.send(transfer(&key, nonce, Address::repeat_byte(1), 1)).await.unwrap();
        node.receipt(hash).await;
    }
    let head = node.block_number().await;
    assert!(head >= 4);
    let history =
        node.rpc("eth_feeHistory", vec!["0x3".into(), "latest".into(), json!([25.0, 75.0])]).await;
    assert_eq!(hex_u64(&history["oldestBlock"]), head - 2);
    assert_eq!(history["baseFeePerGas"].as_array().unwrap().len(), 4);
    assert_eq!(history["gasUsedRatio"].as_array().unwrap().len(), 3);
    let rewards = history["reward"].as_array().unwrap();
    assert_eq!(rewards.len(), 3);
    assert_eq!(rewards[0].as_array().unwrap().len(), 2);
    assert!(hex_u256(&node.rpc("eth_gasPrice", vec![]).await) > U256::ZERO);

    for tag in ["latest", "pending", "safe", "finalized", "earliest"] {
        let block = node.rpc("eth_getBlockByNumber", vec![tag.into(), false.into()]).await;
        assert!(block["hash"].is_string(), "{tag}");
    }
    let genesis = node.rpc("eth_getBlockByNumber", vec!["earliest".into(), false.into()]).await;
    let by_hash = node.rpc("eth_getBlockByHash", vec![genesis["hash"].clone(), false.into()]).await;
    assert_eq!(by_hash["number"], "0x0");
    let count = node.rpc("eth_getBlockTransactionCountByNumber", vec!["latest".into()]).await;
    assert_eq!(count, "0x2");
    let receipts = node.rpc("eth_getBlockReceipts", vec!["latest".into()]).await;
    assert_eq!(receipts.as_array().unwrap().len(), 2);
    let tx = node
        .rpc("eth_getTransactionByBlockNumberAndIndex", vec!["latest".into(), "0x1".into()])
        .await;
    let from: Address = tx["from"].as_str().unwrap().parse().unwrap();
    assert_eq!(from, key.address());

    // unknown blocks: null for blocks, "header not found" for state
    let far = "0xffffff";
    assert!(node.rpc("eth_getBlockByNumber", vec![far.into(), false.into()]).await.is_null());
    let err =
        node.try_rpc("eth_getBalance", vec![addr(key.address()), far.into()]).await.unwrap_err();
    assert_eq!(error_parts(err).1, "header not found");
    // malformed params get JSON-RPC errors
    let err = node.try_rpc("eth_getBalance", vec!["0x12".into()]).await.unwrap_err();
    assert_eq!(error_parts(err).0, -32602);
    let err = node
        .try_rpc("eth_getBlockByNumber", vec!["tomorrow".into(), false.into()])
        .await
        .unwrap_err();
    assert_eq!(error_parts(err).0, -32602);
    // an inverted log range is an error, not an empty answer
    let inverted = json!({ "fromBlock": "0x3", "toBlock": "0x1" });
    let err = node.try_rpc("eth_getLogs", vec![inverted]).await.unwrap_err();
    assert_eq!(error_parts(err).0, -32602);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_websocket_subscriptions() {
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(5);
    let counter = deploy_counter(&node, &key).await;

    let block_filter = node.rpc("eth_newBlockFilter", vec![]).await;
    let log_filter =
        node.rpc("eth_newFilter", vec![json!({ "address": counter.to_string() })]).await;
    let pending_filter = node.rpc("eth_newPendingTransactionFilter", vec![]).await;

    let ws_url = node.url.replace("http://", "ws://");
    let ws = WsClientBuilder::default().build(&ws_url).await.unwrap();
    let mut heads = ws
        .subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .unwrap();
    let mut logs = ws
        .subscribe::<Value, _>(
            "eth_subscribe",
            rpc_params!["logs", json!({ "address": counter.to_string() })],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    let mut pending = ws
        .subscribe::<Value, _>(
            "eth_subscribe",
            rpc_params!["newPendingTransactions"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();

    let nonce = node.nonce(key.address()).await;
    let input = Bytes::from(Counter::incrementCall {}.abi_encode());
    let raw = sign(&key, nonce, TxKind::Call(counter), U256::ZERO, input, 100_000, FEES);
    let hash = node.send(raw).await.unwrap();
    let receipt = node.receipt(hash).await;

    let wait = Duration::from_secs(10);
    let head = tokio::time::timeout(wait, heads.next()).await.unwrap().unwrap().unwrap();
    assert!(head["hash"].is_string() && head["stateRoot"].is_string());
    let log = tokio::time::timeout(wait, logs.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(log["transactionHash"], hash.to_string());
    let seen = tokio::time::timeout(wait, pending.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(seen, hash.to_string());

    let blocks = node.rpc("eth_getFilterChanges", vec![block_filter.clone()]).await;
    assert!(blocks.as_array().unwrap().contains(&receipt["blockHash"]));
    let changes = node.rpc("eth_getFilterChanges", vec![log_filter.clone()]).await;
    assert_eq!(changes.as_array().unwrap().len(), 1);
    assert_eq!(changes[0]["transactionHash"], hash.to_string());
    // polled again: nothing new
    assert_eq!(node.rpc("eth_getFilterChanges", vec![log_filter.clone()]).await, json!([]));
    let all = node.rpc("eth_getFilterLogs", vec![log_filter.clone()]).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let pooled = node.rpc("eth_getFilterChanges", vec![pending_filter]).await;
    assert!(pooled.as_array().unwrap().contains(&Value::String(hash.to_string())));
    assert_eq!(node.rpc("eth_uninstallFilter", vec![log_filter.clone()]).await, true);
    let err = node.try_rpc("eth_getFilterChanges", vec![log_filter]).await.unwrap_err();
    assert_eq!(error_parts(err).1, "filter not found");
    let _ = keccak256([0u8]);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eip7702_delegation_sets_the_authority_code() {
    use alloy::{
        consensus::{SignableTransaction, TxEip7702},
        eips::{Encodable2718, eip7702::Authorization},
        network::TxSignerSync,
        signers::SignerSync,
    };
    let node = TestNode::start(Duration::ZERO).await;
    let sponsor = dev_key(8);
    let authority = dev_key(9);
    let counter = deploy_counter(&node, &sponsor).await;
    let auth = Authorization {
        chain_id: U256::from(901),
        address: counter,
        nonce: node.nonce(authority.address()).await,
    };
    let sig = authority.sign_hash_sync(&auth.signature_hash()).unwrap();
    let mut tx = TxEip7702 {
        chain_id: 901,
        nonce: node.nonce(sponsor.address()).await,
        gas_limit: 200_000,
        max_fee_per_gas: 2 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: authority.address(),
        value: U256::ZERO,
        input: Bytes::from(Counter::incrementCall {}.abi_encode()),
        access_list: Default::default(),
        authorization_list: vec![auth.into_signed(sig)],
    };
    let sig = sponsor.sign_transaction_sync(&mut tx).unwrap();
    let raw = tributary_primitives::OpTxEnvelope::Eip7702(tx.into_signed(sig)).encoded_2718();
    let receipt = node.receipt(node.send(raw).await.unwrap()).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["type"], "0x4");
    let code = node.rpc("eth_getCode", vec![addr(authority.address()), "latest".into()]).await;
    let expected = format!("0xef0100{}", hex_lower(counter));
    assert_eq!(code, expected.as_str());
    // the delegated code ran in the authority's storage: count went 0 -> 1
    let count = node
        .rpc(
            "eth_call",
            vec![call_json(authority.address(), Counter::countCall {}), "latest".into()],
        )
        .await;
    assert_eq!(hex_u256(&count), U256::from(1));
    node.stop().await;
}

fn hex_lower(address: Address) -> String {
    alloy::primitives::hex::encode(address)
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_metrics_are_served() {
    use std::io::{Read, Write};
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = tributary_node::NodeConfig {
        datadir: dir.path().to_path_buf(),
        chain: std::sync::Arc::new(tributary_chainspec::ChainSpec::dev()),
        rpc: tributary_rpc::RpcConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        pool: Default::default(),
        dev: Some(tributary_node::DevConfig {
            block_time: Duration::from_millis(200),
            ..Default::default()
        }),
        metrics: Some(format!("127.0.0.1:{port}").parse().unwrap()),
        rollup: None,
        authrpc: None,
    };
    let node = tributary_node::launch(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let body = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut body = String::new();
        stream.read_to_string(&mut body).unwrap();
        body
    })
    .await
    .unwrap();
    assert!(body.contains("tributary_head_block_number"), "{body}");
    assert!(body.contains("tributary_block_build_seconds"), "{body}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_batches_and_bodies_are_refused() {
    use jsonrpsee::core::{client::ClientT, params::BatchRequestBuilder};
    let node = TestNode::start(Duration::from_secs(3600)).await;
    let mut batch = BatchRequestBuilder::new();
    for _ in 0..101 {
        batch.insert("eth_blockNumber", rpc_params![]).unwrap();
    }
    assert!(node.client.batch_request::<Value>(batch).await.is_err(), "batch over the limit");
    let mut batch = BatchRequestBuilder::new();
    for _ in 0..10 {
        batch.insert("eth_blockNumber", rpc_params![]).unwrap();
    }
    let ok = node.client.batch_request::<Value>(batch).await.unwrap();
    assert_eq!(ok.num_successful_calls(), 10);
    // a 16 MiB transaction is refused before it reaches the pool
    let huge = format!("0x{}", "00".repeat(16 * 1024 * 1024));
    assert!(node.try_rpc("eth_sendRawTransaction", vec![huge.into()]).await.is_err());
    assert_eq!(node.block_number().await, 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attr_namespace_reads_the_ledger() {
    use tributary_precompiles::{ATTRIBUTION_ADDRESS as ATTR, IAttribution as A};
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(7);
    let hash = alloy::primitives::B256::repeat_byte(7);
    let calls: Vec<(U256, Vec<u8>)> = vec![
        (U256::ZERO, A::createDatanetCall { metadataUri: "ipfs://d".into() }.abi_encode()),
        (
            U256::ZERO,
            A::submitContributionCall { datanetId: 1, contentHash: hash, weight: 2 }.abi_encode(),
        ),
        (U256::ZERO, A::reviewContributionCall { contributionId: 1, accepted: true }.abi_encode()),
        (
            U256::ZERO,
            A::registerModelCall {
                modelHash: hash,
                metadataUri: "m".into(),
                pricePerKiloToken: U256::from(1_000),
                dataBps: 1_000,
                operatorBps: 0,
                datanetIds: vec![1],
            }
            .abi_encode(),
        ),
        (
            U256::from(5),
            A::recordInferenceCall {
                modelId: 1,
                payer: key.address(),
                tokens: 5,
                inferenceHash: hash,
                contributionIds: vec![1],
                weights: vec![1],
            }
            .abi_encode(),
        ),
    ];
    for (value, data) in calls {
        let nonce = node.nonce(key.address()).await;
        let raw = sign(&key, nonce, TxKind::Call(ATTR), value, data.into(), 1_000_000, FEES);
        assert_eq!(node.receipt(node.send(raw).await.unwrap()).await["status"], "0x1");
    }
    let model = node.rpc("attr_getModel", vec!["0x1".into()]).await;
    assert_eq!(model["owner"].as_str().unwrap().parse::<Address>().unwrap(), key.address());
    assert_eq!(model["datanetIds"], json!(["0x1"]));
    assert!(node.rpc("attr_getModel", vec!["0x9".into()]).await.is_null());
    let datanet = node.rpc("attr_getDatanet", vec!["0x1".into()]).await;
    assert_eq!(datanet["contributionCount"], "0x1");
    let contribution = node.rpc("attr_getContribution", vec!["0x1".into()]).await;
    assert_eq!(contribution["status"], "accepted");
    let inference = node.rpc("attr_getInference", vec!["0x1".into()]).await;
    assert_eq!(inference["tokens"], "0x5");
    assert_eq!(hex_u256(&inference["fee"]), U256::from(5));
    let list = node.rpc("attr_listModels", vec!["0x0".into(), "0xa".into()]).await;
    assert_eq!(list["total"], "0x1");
    assert_eq!(list["models"].as_array().unwrap().len(), 1);
    let stats = node.rpc("attr_modelStats", vec!["0x1".into()]).await;
    assert_eq!(stats["inferences"], "0x1");
    // a 5-wei fee: the 5% protocol and 10% data shares round down to zero, the creator takes all
    let earned = hex_u256(&node.rpc("attr_earnings", vec![addr(key.address())]).await);
    assert_eq!(earned, U256::from(5));
    // state at an older block: the model did not exist yet
    assert!(node.rpc("attr_getModel", vec!["0x1".into(), "0x1".into()]).await.is_null());
    let err =
        node.try_rpc("attr_listModels", vec!["0x0".into(), "0x1000".into()]).await.unwrap_err();
    assert_eq!(error_parts(err).0, -32602);
    node.stop().await;
}
