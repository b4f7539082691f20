//! The L1 dev chain (`tributary l1 --dev`) runs Ethereum's rules, not OP's: no L1 attributes
//! deposit, the base fee is burned, the tip goes to the coinbase, and there is no L1 data fee.

use crate::helpers::*;
use alloy_primitives::{Address, U256};
use std::time::Duration;
use tributary_chainspec::ChainSpec;
use tributary_l1::{TxFields, sign_eip1559};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_dev_chain_burns_the_base_fee_and_has_no_deposits() {
    let node = TestNode::start_chain(ChainSpec::l1_dev(1_700_000_000), Duration::ZERO).await;
    assert_eq!(hex_u64(&node.rpc("eth_chainId", vec![]).await), 900);
    let key = dev_key(1);
    let to = Address::with_last_byte(0x42);
    let tx = sign_eip1559(
        &key,
        TxFields {
            chain_id: 900,
            nonce: 0,
            to: Some(to),
            value: U256::from(1_000),
            input: Default::default(),
            gas_limit: 21_000,
            max_fee_per_gas: 3 * GWEI,
            max_priority_fee_per_gas: GWEI,
        },
    )
    .unwrap();
    let before = node.balance(key.address(), "latest").await;
    let hash = node.send(tx.raw.to_vec()).await.unwrap();
    let receipt = node.receipt(hash).await;
    assert_eq!(receipt["status"], "0x1");
    assert!(receipt.get("l1Fee").is_none_or(|fee| hex_u256(fee).is_zero()), "{receipt}");
    let number = receipt["blockNumber"].as_str().unwrap().to_string();
    let block = node.rpc("eth_getBlockByNumber", vec![number.clone().into(), true.into()]).await;
    let txs = block["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 1, "only the user transaction: no L1 attributes deposit");
    assert_eq!(block["miner"], addr(Address::ZERO));
    assert!(block["requestsHash"].is_string(), "Prague header");

    let base_fee = hex_u256(&block["baseFeePerGas"]);
    assert!(!base_fee.is_zero(), "a base fee to burn");
    let gas_price = hex_u256(&receipt["effectiveGasPrice"]);
    assert_eq!(gas_price, base_fee + U256::from(GWEI));
    let paid = U256::from(21_000) * gas_price;
    assert_eq!(node.balance(key.address(), &number).await, before - paid - U256::from(1_000));
    // Only the tip reaches the coinbase; the base fee is gone.
    let coinbase = node.balance(Address::ZERO, &number).await;
    assert_eq!(coinbase, U256::from(21_000u64) * U256::from(GWEI));
    node.stop().await;
}

/// A transaction that does not fit the gas left in a block waits for the next one, and so do
/// its sender's later transactions: none of them is dropped from the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_does_not_fit_waits_for_the_next_block() {
    // A 50k-gas block holds one 21k transfer with a 30k gas limit, not two.
    let mut genesis = ChainSpec::l1_dev(1_700_000_000).genesis().clone();
    genesis.gas_limit = 50_000;
    let chain = ChainSpec::from_genesis(genesis).unwrap();
    let node = TestNode::start_chain(chain, Duration::from_secs(1)).await;
    let transfer = |index: u32, nonce: u64| {
        let fields = TxFields {
            chain_id: 900,
            nonce,
            to: Some(Address::with_last_byte(0x43)),
            value: U256::from(1),
            input: Default::default(),
            gas_limit: 30_000,
            max_fee_per_gas: 3 * GWEI,
            max_priority_fee_per_gas: GWEI,
        };
        sign_eip1559(&dev_key(index), fields).unwrap().raw.to_vec()
    };
    let a = node.send(transfer(4, 0)).await.unwrap();
    let b = node.send(transfer(5, 0)).await.unwrap();
    let c = node.send(transfer(5, 1)).await.unwrap();
    let block = |r: &serde_json::Value| hex_u64(&r["blockNumber"]);
    let (ra, rb, rc) = (node.receipt(a).await, node.receipt(b).await, node.receipt(c).await);
    assert_ne!(block(&ra), block(&rb), "they never share a block");
    assert!(block(&rc) > block(&rb));
    node.stop().await;
}

/// The L1 dev chain serves the beacon endpoints rollup nodes read, on its RPC port: genesis
/// time, seconds per slot, and the (empty) blob sidecars of the block in a slot; a slot with no
/// block is a 404, and JSON-RPC on the same port is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_l1_dev_chain_serves_the_beacon_endpoints_rollup_nodes_read() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let rpc = tributary_rpc::RpcConfig { beacon_seconds_per_slot: Some(1), ..Default::default() };
    let node = TestNode::start_with_rpc(ChainSpec::l1_dev(now), Duration::from_secs(1), rpc).await;
    let (status, genesis) = node.http_get("/eth/v1/beacon/genesis").await;
    assert_eq!(status, 200);
    assert_eq!(genesis["data"]["genesis_time"], now.to_string());
    let (_, spec) = node.http_get("/eth/v1/config/spec").await;
    assert_eq!(spec["data"]["SECONDS_PER_SLOT"], "1");

    while node.block_number().await < 2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let block = node.rpc("eth_getBlockByNumber", vec!["0x2".into(), false.into()]).await;
    let slot = hex_u64(&block["timestamp"]) - now;
    let (status, sidecars) = node.http_get(&format!("/eth/v1/beacon/blob_sidecars/{slot}")).await;
    assert_eq!(status, 200, "{sidecars}");
    assert_eq!(sidecars["data"], serde_json::json!([]));
    // Our own beacon client reads the same clock and sidecars.
    let beacon = tributary_l1::BeaconClient::new(&node.url).unwrap();
    assert_eq!(beacon.slot_clock().await.unwrap(), (now, 1));
    assert_eq!(beacon.blob_sidecars(now + slot).await.unwrap(), Vec::new());
    let (status, _) = node.http_get("/eth/v1/beacon/blob_sidecars/99999999").await;
    assert_eq!(status, 404);
    let (status, _) = node.http_get("/eth/v1/beacon/blob_sidecars/nonsense").await;
    assert_eq!(status, 400);
    let (status, version) = node.http_get("/eth/v1/node/version").await;
    assert_eq!(status, 200);
    assert!(version["data"]["version"].as_str().unwrap().starts_with("Tributary/"));
    let (status, _) = node.http_get("/eth/v1/beacon/headers").await;
    assert_eq!(status, 404);
    assert_eq!(hex_u64(&node.rpc("eth_chainId", vec![]).await), 900);
    node.stop().await;
}

/// A blob transaction sent in network form is mined at Prague's rules and its blobs are
/// served by the beacon API of the block's slot: a type-3 receipt with its blob gas and blob
/// gas price, the blob base fee and fee history, sidecars our beacon client verifies and
/// decodes back to the payloads, and only the indices asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_transactions_are_mined_and_their_blobs_served_by_slot() {
    use alloy_primitives::Bytes;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let rpc = tributary_rpc::RpcConfig { beacon_seconds_per_slot: Some(1), ..Default::default() };
    let node = TestNode::start_with_rpc(ChainSpec::l1_dev(now), Duration::from_secs(1), rpc).await;
    assert_eq!(hex_u256(&node.rpc("eth_blobBaseFee", vec![]).await), U256::from(1));
    let payloads: Vec<Bytes> = vec![b"first frame".to_vec().into(), vec![9u8; 100_000].into()];
    let key = dev_key(2);
    let signed = tributary_l1::sign_blob_tx(
        &key,
        tributary_l1::BlobTxFields {
            chain_id: 900,
            nonce: 0,
            to: Address::repeat_byte(0xff),
            gas_limit: 21_000,
            max_fee_per_gas: 3 * GWEI,
            max_priority_fee_per_gas: GWEI,
            max_fee_per_blob_gas: GWEI,
            payloads: payloads.clone(),
        },
    )
    .unwrap();
    let hash = node.send(signed.raw.to_vec()).await.unwrap();
    assert_eq!(hash, signed.hash);

    let served_blobs = |receipt: serde_json::Value| {
        let node = &node;
        async move {
            let number = receipt["blockNumber"].as_str().unwrap().to_string();
            let block = node.rpc("eth_getBlockByNumber", vec![number.into(), true.into()]).await;
            let tx = &block["transactions"][0];
            assert_eq!(tx["type"], "0x3");
            let hashes: Vec<alloy_primitives::B256> =
                serde_json::from_value(tx["blobVersionedHashes"].clone()).unwrap();
            let timestamp = hex_u64(&block["timestamp"]);
            let beacon = tributary_l1::BeaconClient::new(&node.url).unwrap();
            let sidecars = beacon.blob_sidecars(timestamp).await.unwrap();
            assert_eq!(sidecars.iter().map(|s| s.index).collect::<Vec<_>>(), vec![0, 1]);
            let blobs = tributary_l1::blobs_for(&hashes, &sidecars).unwrap();
            blobs
                .iter()
                .map(|blob| tributary_protocol::decode_blob(blob).unwrap())
                .collect::<Vec<_>>()
        }
    };

    let receipt = node.receipt(hash).await;
    assert_eq!(receipt["type"], "0x3", "{receipt}");
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(hex_u64(&receipt["gasUsed"]), 21_000);
    assert_eq!(hex_u64(&receipt["blobGasUsed"]), 2 * 131_072);
    assert_eq!(hex_u64(&receipt["blobGasPrice"]), 1);
    let block =
        node.rpc("eth_getBlockByNumber", vec![receipt["blockNumber"].clone(), false.into()]).await;
    assert_eq!(hex_u64(&block["blobGasUsed"]), 2 * 131_072);
    let history = node
        .rpc(
            "eth_feeHistory",
            vec!["0x1".into(), receipt["blockNumber"].clone(), serde_json::json!([])],
        )
        .await;
    assert_eq!(history["blobGasUsedRatio"][0].as_f64().unwrap(), 2.0 / 9.0);
    assert_eq!(history["baseFeePerBlobGas"][0], "0x1");
    assert_eq!(served_blobs(receipt).await, payloads, "the blobs decode to the payloads");
    // only the blobs asked for
    let slot = hex_u64(&block["timestamp"]) - now;
    let (status, one) =
        node.http_get(&format!("/eth/v1/beacon/blob_sidecars/{slot}?indices=1")).await;
    assert_eq!(status, 200);
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["data"][0]["index"], "1");
    assert_eq!(one["data"][0]["kzg_commitment_inclusion_proof"].as_array().unwrap().len(), 17);
    let (_, both) =
        node.http_get(&format!("/eth/v1/beacon/blob_sidecars/{slot}?indices=0%2c1")).await;
    assert_eq!(both["data"].as_array().unwrap().len(), 2, "a URL-encoded list");

    node.stop().await;
}
