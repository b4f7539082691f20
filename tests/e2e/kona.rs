//! An unmodified kona-node drives a Tributary node over the Engine API (opt-in: it needs a
//! `kona-node` binary, which `scripts/install-kona.sh` builds; without one the test says so
//! and passes without running).
//!
//! L1 dev chain + our sequencer and batch poster + a second Tributary node in `--engine-only`
//! mode whose rollup node is kona-node: kona derives the chain from our L1 (batches in
//! EIP-4844 blobs, read through the beacon endpoints on the L1 RPC port) and builds it on the
//! engine-only node, whose safe head must reach the same block hashes and state roots as the
//! sequencer's.
//!
//! kona-node 1.0.0-rc.1 does not know Jovian, so this chain stops at Isthmus (`jovianTime`
//! left out of the L2 spec). It starts deriving only once it has inserted an unsafe payload
//! (its P2P has no peers here), so the test posts the engine-only node's genesis through
//! kona's `admin_postUnsafePayload`.

use crate::{
    process::NodeProcess,
    rollup::{free_port, hex_u64, l2_transfer, strings, wait_for, wait_receipt},
};
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder};
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// The kona-node binary: `$KONA_NODE`, the one `scripts/install-kona.sh` installs, or
/// `kona-node` on the PATH.
fn kona_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KONA_NODE") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let installed = home.join(".cache/tributary/kona/bin/kona-node");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join("kona-node"))
        .find(|candidate| candidate.exists())
}

/// Kills kona-node when the test ends, however it ends.
struct Kona(Child);

impl Drop for Kona {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The dev L2 spec without Jovian.
fn isthmus_spec(dir: &Path) -> PathBuf {
    let mut spec: Value = serde_json::from_str(include_str!("../../chainspec/dev.json")).unwrap();
    spec["config"].as_object_mut().unwrap().remove("jovianTime");
    let path = dir.join("isthmus.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    path
}

/// The block `tag` of `node` as (number, hash, state root).
async fn head(node: &NodeProcess, tag: &str) -> Option<(u64, String, String)> {
    let block = node.rpc("eth_getBlockByNumber", vec![tag.into(), false.into()]).await;
    let text = |name: &str| block[name].as_str().map(str::to_string);
    Some((hex_u64(&block["number"]), text("hash")?, text("stateRoot")?))
}

/// An execution payload envelope of block `number` of `node` as kona's admin API takes it
/// (only for blocks without transactions: the payload carries raw transactions, which
/// `eth_getBlockByNumber` does not show).
async fn empty_block_envelope(node: &NodeProcess, number: u64) -> Value {
    let block =
        node.rpc("eth_getBlockByNumber", vec![format!("{number:#x}").into(), false.into()]).await;
    assert_eq!(block["transactions"], json!([]), "an empty block");
    json!({
        "parentBeaconBlockRoot": block["parentBeaconBlockRoot"],
        "executionPayload": {
            "parentHash": block["parentHash"],
            "feeRecipient": block["miner"],
            "stateRoot": block["stateRoot"],
            "receiptsRoot": block["receiptsRoot"],
            "logsBloom": block["logsBloom"],
            "prevRandao": block["mixHash"],
            "blockNumber": block["number"],
            "gasLimit": block["gasLimit"],
            "gasUsed": block["gasUsed"],
            "timestamp": block["timestamp"],
            "extraData": block["extraData"],
            "baseFeePerGas": block["baseFeePerGas"],
            "blockHash": block["hash"],
            "transactions": [],
            "withdrawals": [],
            "blobGasUsed": block["blobGasUsed"],
            "excessBlobGas": block["excessBlobGas"],
            "withdrawalsRoot": block["withdrawalsRoot"],
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kona_node_drives_an_engine_only_node_to_the_sequencers_chain() {
    let Some(kona) = kona_binary() else {
        eprintln!(
            "SKIPPED: kona-node is not installed (run scripts/install-kona.sh, or set KONA_NODE)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path();
    let l1_port = free_port();
    let l1_url = format!("http://127.0.0.1:{l1_port}");
    let mut l1_args = strings(&["l1", "--dev", "--block-time", "1", "--http.port"]);
    l1_args.extend([l1_port.to_string(), "--datadir".into(), cfg.join("l1").display().to_string()]);
    let _l1 = NodeProcess::spawn(&l1_args, &["L1 RPC: "]).0;
    let spec = isthmus_spec(cfg);
    let init = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["devnet", "init", "--l2.block-time", "1", "--l1.rpc", &l1_url, "--chain"])
        .arg(&spec)
        .arg("--out")
        .arg(cfg)
        .output()
        .unwrap();
    assert!(init.status.success(), "devnet init: {}", String::from_utf8_lossy(&init.stderr));
    // Batches in blobs, as OP chains post them: kona reads them through our beacon API.
    let sequencer = crate::rollup::start_sequencer(
        cfg,
        &l1_url,
        &["--p2p.disable", "--batcher.data-availability-type", "blobs", "--l1.beacon", &l1_url],
    );

    // The engine-only node and its secret.
    let auth_port = free_port();
    let secret = cfg.join("jwt.hex");
    std::fs::write(&secret, format!("0x{}", "5e".repeat(32))).unwrap();
    let mut args = strings(&["node", "--engine-only", "--http.port", "0", "--authrpc.port"]);
    args.extend([
        auth_port.to_string(),
        "--authrpc.jwtsecret".into(),
        secret.display().to_string(),
        "--chain".into(),
        cfg.join("genesis.json").display().to_string(),
        "--datadir".into(),
        cfg.join("engine").display().to_string(),
    ]);
    let engine = NodeProcess::spawn(&args, &["L2 RPC: "]).0;

    let kona_rpc = free_port();
    let logs = std::env::var_os("TRIBUTARY_TEST_LOGS").is_some();
    let kona = Kona(
        Command::new(kona)
            .args(["--l2-chain-id", "901", "node", "--l1-eth-rpc", &l1_url, "--l1-beacon", &l1_url])
            .arg("--l2-engine-rpc")
            .arg(format!("http://127.0.0.1:{auth_port}"))
            .arg("--l2-engine-jwt-secret")
            .arg(&secret)
            .arg("--l2-config-file")
            .arg(cfg.join("rollup.json"))
            .args(["--p2p.listen.tcp", &free_port().to_string()])
            .args(["--p2p.listen.udp", &free_port().to_string()])
            .args(["--port", &kona_rpc.to_string()])
            .stdout(if logs { Stdio::inherit() } else { Stdio::null() })
            .stderr(if logs { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("spawn kona-node"),
    );

    // kona derives only after it has inserted an unsafe payload: hand it the node's genesis.
    let kona_client =
        HttpClientBuilder::default().build(format!("http://127.0.0.1:{kona_rpc}")).unwrap();
    let genesis = empty_block_envelope(&engine, 0).await;
    wait_for("kona-node's RPC", Duration::from_secs(60), async || {
        let posted: Result<Value, _> = kona_client
            .request("admin_postUnsafePayload", jsonrpsee::rpc_params![genesis.clone()])
            .await;
        posted.ok()
    })
    .await;

    // User transactions in the batches, not only L1 attributes deposits.
    let mut included = 0;
    for nonce in 0..5 {
        let raw = l2_transfer(3, nonce, vec![nonce as u8; 64]);
        let hash = sequencer.rpc("eth_sendRawTransaction", vec![raw.into()]).await;
        let receipt = wait_receipt(&sequencer, &hash).await;
        assert_eq!(receipt["status"], "0x1");
        included = included.max(hex_u64(&receipt["blockNumber"]));
    }

    // The engine-only node's safe head, built by kona from L1 alone, follows the sequencer's
    // chain block for block, through the blocks with those transactions.
    let target = included.max(8);
    let reached = wait_for("kona's safe head", Duration::from_secs(180), async || {
        let (number, _, _) = head(&engine, "safe").await?;
        (number >= target).then_some(number)
    })
    .await;
    for number in 1..=reached {
        let tag = format!("{number:#x}");
        assert_eq!(head(&engine, &tag).await, head(&sequencer, &tag).await, "block {number}");
    }
    let user_txs = async |node: &NodeProcess| {
        let mut count = 0;
        for number in 1..=reached {
            let block = node
                .rpc("eth_getBlockByNumber", vec![format!("{number:#x}").into(), false.into()])
                .await;
            count += block["transactions"].as_array().map_or(0, |txs| txs.len().saturating_sub(1));
        }
        count
    };
    assert_eq!(user_txs(&engine).await, 5, "the five transfers, derived by kona");
    // What kona read were blobs: the batcher's transactions on L1 are type 3.
    let l1 = HttpClientBuilder::default().build(&l1_url).unwrap();
    let l1_head: Value = l1.request("eth_blockNumber", jsonrpsee::rpc_params![]).await.unwrap();
    let mut blob_txs = 0;
    for number in 1..=hex_u64(&l1_head) {
        let block: Value = l1
            .request("eth_getBlockByNumber", jsonrpsee::rpc_params![format!("{number:#x}"), true])
            .await
            .unwrap();
        let txs = block["transactions"].as_array().cloned().unwrap_or_default();
        blob_txs += txs.iter().filter(|tx| tx["type"] == "0x3").count();
    }
    assert!(blob_txs > 0, "the batches went to L1 in blobs");
    drop(kona);
}
