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

fn dev_node(datadir: &std::path::Path, block_time: &str) -> NodeProcess {
    // Every port ephemeral (the embedded L1's too), so tests run side by side.
    let mut args = crate::rollup::dev_node_args(datadir);
    if let Some(flag) = args.iter().position(|arg| arg == "--dev.block-time") {
        args[flag + 1] = block_time.to_string();
    }
    NodeProcess::spawn(&args, &["L2 RPC: "]).0
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_keeps_transactions_that_only_had_a_hash() {
    let dir = tempfile::tempdir().unwrap();
    // Blocks a minute apart: everything sent is still in the pool when the node dies.
    let node = dev_node(dir.path(), "60");
    let mut hashes = Vec::new();
    for nonce in 0..10u64 {
        hashes
            .push(node.rpc("eth_sendRawTransaction", vec![signed_transfer(6, nonce).into()]).await);
    }
    let pending = node.rpc("txpool_status", vec![]).await;
    assert_eq!(pending["pending"], "0xa", "all ten wait in the pool: {pending}");
    node.kill_hard();

    // The block time lives in the datadir's rollup config: still a minute, so the restored
    // transactions are seen waiting in the pool (the Docker tests see them mined).
    let node = dev_node(dir.path(), "60");
    assert_eq!(node.rpc("txpool_status", vec![]).await["pending"], "0xa");
    for hash in &hashes {
        let tx = node.rpc("eth_getTransactionByHash", vec![hash.clone()]).await;
        assert_eq!(tx["hash"], *hash, "{hash} survived kill -9");
    }
}

/// `tributary health`, the containers' healthcheck: 0 for a node whose head moves, 1 (with the
/// reason) for one that does not answer or whose head stands still.
#[tokio::test(flavor = "multi_thread")]
async fn health_probe_tells_a_live_node_from_a_stuck_or_absent_one() {
    let probe = |url: &str, advancing: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
            .args(["health", "--rpc", url, "--advancing", advancing])
            .output()
            .unwrap()
    };
    let live_dir = tempfile::tempdir().unwrap();
    let live = dev_node(live_dir.path(), "1");
    let ok = probe(&live.url, "10");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok: head "));

    // instant mode seals only on a transaction: the head stands still
    let stuck_dir = tempfile::tempdir().unwrap();
    let stuck = NodeProcess::start(stuck_dir.path());
    assert!(probe(&stuck.url, "0").status.success(), "answering is enough without --advancing");
    let still = probe(&stuck.url, "2");
    assert!(!still.status.success());
    assert!(String::from_utf8_lossy(&still.stderr).contains("head stuck"));

    let port = crate::rollup::free_port();
    let absent = probe(&format!("http://127.0.0.1:{port}"), "0");
    assert!(!absent.status.success());
    assert!(String::from_utf8_lossy(&absent.stderr).contains("does not answer"));
}
