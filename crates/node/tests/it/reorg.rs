//! A rewound chain as RPC clients see it: a log subscription gets the removed block's logs
//! again with `removed: true` before the replacement's, a polled log filter returns both, and
//! a block filter the replacement's hash.

use crate::{Counter, deploy_counter, helpers::*};
use alloy::{
    primitives::{Bytes, TxKind, U256},
    sol_types::SolCall,
};
use jsonrpsee::{core::client::SubscriptionClientT, rpc_params, ws_client::WsClientBuilder};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_subscriptions_see_a_reorg() {
    let node = TestNode::start_rewindable(Duration::ZERO).await;
    let key = dev_key(6);
    let counter = deploy_counter(&node, &key).await;
    let filter = json!({ "address": counter.to_string() });
    let log_filter = node.rpc("eth_newFilter", vec![filter.clone()]).await;
    let block_filter = node.rpc("eth_newBlockFilter", vec![]).await;
    let ws = WsClientBuilder::default().build(node.url.replace("http://", "ws://")).await.unwrap();
    let mut logs = ws
        .subscribe::<Value, _>("eth_subscribe", rpc_params!["logs", filter], "eth_unsubscribe")
        .await
        .unwrap();
    let wait = Duration::from_secs(10);
    let increment = |nonce| {
        let input = Bytes::from(Counter::incrementCall {}.abi_encode());
        sign(&key, nonce, TxKind::Call(counter), U256::ZERO, input, 100_000, FEES)
    };

    let nonce = node.nonce(key.address()).await;
    let first = node.send(increment(nonce)).await.unwrap();
    let first_receipt = node.receipt(first).await;
    let old_block = first_receipt["blockHash"].clone();
    let seen = tokio::time::timeout(wait, logs.next()).await.unwrap().unwrap().unwrap();
    assert_eq!((&seen["blockHash"], &seen["removed"]), (&old_block, &json!(false)));
    let polled = node.rpc("eth_getFilterChanges", vec![log_filter.clone()]).await;
    assert_eq!(polled.as_array().unwrap().len(), 1);
    node.rpc("eth_getFilterChanges", vec![block_filter.clone()]).await;

    // The block goes; another with a different transaction takes its height.
    let number = hex_u64(&first_receipt["blockNumber"]);
    node.rpc("debug_setHead", vec![json!(format!("0x{:x}", number - 1))]).await;
    let transfer = node.send(transfer(&key, nonce, key.address(), 1)).await.unwrap();
    node.receipt(transfer).await;
    let second = node.send(increment(nonce + 1)).await.unwrap();
    let second_receipt = node.receipt(second).await;

    let removed = tokio::time::timeout(wait, logs.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(removed["removed"], true, "{removed}");
    assert_eq!(removed["blockHash"], old_block);
    assert_eq!(removed["transactionHash"], first.to_string());
    let new = tokio::time::timeout(wait, logs.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        (&new["transactionHash"], &new["removed"]),
        (&json!(second.to_string()), &json!(false))
    );

    let polled = node.rpc("eth_getFilterChanges", vec![log_filter]).await;
    let polled = polled.as_array().unwrap();
    assert_eq!(polled.len(), 2, "{polled:?}");
    assert_eq!((&polled[0]["removed"], &polled[0]["blockHash"]), (&json!(true), &old_block));
    assert_eq!(polled[1]["transactionHash"], second.to_string());
    let hashes = node.rpc("eth_getFilterChanges", vec![block_filter]).await;
    let replacement =
        node.rpc("eth_getBlockByNumber", vec![json!(format!("0x{number:x}")), json!(false)]).await;
    assert!(hashes.as_array().unwrap().contains(&replacement["hash"]), "{hashes}");
    assert!(hashes.as_array().unwrap().contains(&second_receipt["blockHash"]));
    node.stop().await;
}
