//! Crash safety: `kill -9` mid-run loses nothing that had a receipt, and a SIGTERM stop is clean.

use crate::process::NodeProcess;
use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::{MnemonicBuilder, coins_bip39::English},
};
use serde_json::{Value, json};
use std::time::Duration;
use tributary_primitives::OpTxEnvelope;

fn signed_transfer(index: u32, nonce: u64) -> String {
    let key = MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(index)
        .unwrap()
        .build()
        .unwrap();
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::with_last_byte(0x99)),
        value: U256::from(1_000 + nonce),
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    Bytes::from(OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718()).to_string()
}

async fn receipt(node: &NodeProcess, hash: &Value) -> Value {
    for _ in 0..500 {
        let r = node.rpc("eth_getTransactionReceipt", vec![hash.clone()]).await;
        if !r.is_null() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no receipt for {hash}");
}

async fn head(node: &NodeProcess) -> Value {
    node.rpc("eth_getBlockByNumber", vec!["latest".into(), false.into()]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_keeps_every_receipt_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path());
    let mut mined = Vec::new();
    for nonce in 0..12u64 {
        let hash = node.rpc("eth_sendRawTransaction", vec![signed_transfer(7, nonce).into()]).await;
        mined.push((hash.clone(), receipt(&node, &hash).await));
    }
    let before = head(&node).await;
    node.kill_hard();

    let node = NodeProcess::start(dir.path());
    let after = head(&node).await;
    assert_eq!(after["number"], before["number"]);
    assert_eq!(after["hash"], before["hash"]);
    assert_eq!(after["stateRoot"], before["stateRoot"]);
    for (hash, old) in &mined {
        let again = node.rpc("eth_getTransactionReceipt", vec![hash.clone()]).await;
        assert_eq!(again["blockHash"], old["blockHash"], "receipt of {hash} survives");
        assert_eq!(again["status"], "0x1");
    }
    let balance = node
        .rpc(
            "eth_getBalance",
            vec![json!("0x0000000000000000000000000000000000000099"), "latest".into()],
        )
        .await;
    let expected: u64 = (0..12u64).map(|n| 1_000 + n).sum();
    assert_eq!(balance.as_str().unwrap().parse::<U256>().unwrap(), U256::from(expected));

    // the chain continues on top of the old head
    let hash = node.rpc("eth_sendRawTransaction", vec![signed_transfer(7, 12).into()]).await;
    let r = receipt(&node, &hash).await;
    let block = node.rpc("eth_getBlockByHash", vec![r["blockHash"].clone(), false.into()]).await;
    assert_eq!(block["parentHash"], before["hash"]);
    let _ = B256::ZERO;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_state_persists() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(dir.path());
    let hash = node.rpc("eth_sendRawTransaction", vec![signed_transfer(8, 0).into()]).await;
    receipt(&node, &hash).await;
    let before = head(&node).await;
    let status = node.terminate();
    assert!(status.success(), "exit status {status}");

    let node = NodeProcess::start(dir.path());
    assert_eq!(head(&node).await["hash"], before["hash"]);
}
