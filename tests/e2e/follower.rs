//! Followers: a node without `--sequencer` and with `--p2p.disable` derives the chain from L1
//! alone (batches in blobs, read through the L1's beacon API) and reaches the sequencer's
//! block hashes, state roots and receipts roots; killed with
//! SIGKILL while it syncs, it resumes from the safe head it recorded. An L1 reorg that takes
//! a batch away steps the followers' safe head back, and once the batch is posted again every
//! node agrees.

use crate::{
    process::NodeProcess,
    rollup::{
        block_number, l2_transfer, start_l1_and_init, start_sequencer, strings, wait_for_safe,
        wait_receipt,
    },
};
use jsonrpsee::core::client::ClientT;
use serde_json::Value;
use std::{path::Path, time::Duration};

/// A follower; `p2p` is the sequencer's multiaddr to gossip with, or None for `--p2p.disable`.
pub(crate) fn start_follower(
    dir: &Path,
    l1_url: &str,
    sequencer: &str,
    name: &str,
    p2p: Option<&str>,
) -> NodeProcess {
    let mut args = strings(&["node", "--http.port", "0"]);
    match p2p {
        Some(peer) => args.extend(strings(&["--p2p.listen", "127.0.0.1:0", "--p2p.static", peer])),
        None => args.push("--p2p.disable".into()),
    }
    for (flag, value) in [
        ("--rollup.sequencer-http", sequencer.to_string()),
        ("--chain", dir.join("genesis.json").display().to_string()),
        ("--rollup.config", dir.join("rollup.json").display().to_string()),
        ("--datadir", dir.join(name).display().to_string()),
        ("--l1.rpc", l1_url.to_string()),
        // The L1 dev chain serves the beacon API on its RPC port, for batches in blobs.
        ("--l1.beacon", l1_url.to_string()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    NodeProcess::spawn(&args, &["L2 RPC: "]).0
}

pub(crate) async fn block(node: &NodeProcess, number: u64) -> Value {
    node.rpc("eth_getBlockByNumber", vec![format!("0x{number:x}").into(), false.into()]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_derives_the_sequencers_chain_from_l1_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (_l1, _port, l1_url, _rollup) = start_l1_and_init(dir.path(), 1);
    // Batches go to L1 in blobs, which the follower reads through the beacon API.
    let blobs = ["--batcher.data-availability-type", "blobs", "--l1.beacon", &l1_url];
    let sequencer = start_sequencer(dir.path(), &l1_url, &blobs);
    let mut last = Value::Null;
    for nonce in 0..4 {
        for index in [1, 2, 3] {
            let raw = l2_transfer(index, nonce, vec![0xab; 64]);
            last = sequencer.rpc("eth_sendRawTransaction", vec![raw.into()]).await;
        }
    }
    let receipt = wait_receipt(&sequencer, &last).await;
    let with_txs = crate::rollup::hex_u64(&receipt["blockNumber"]);
    // Long enough a chain that the follower is still deriving when it is killed.
    let target = with_txs.max(20);
    wait_for_safe(&sequencer, target, "the sequencer's own safe head", Duration::from_secs(90))
        .await;

    // Killed as soon as it has derived anything, then restarted on the same datadir.
    let follower = start_follower(dir.path(), &l1_url, &sequencer.url, "follower", None);
    let mut first = 0;
    for _ in 0..12_000 {
        first = block_number(&follower, "safe").await;
        if first > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(first > 0, "the follower derived nothing in 60 s");
    follower.kill_hard();
    eprintln!("follower killed at safe {first} of {target}");
    let follower = start_follower(dir.path(), &l1_url, &sequencer.url, "follower", None);
    // It resumes from the safe head it recorded, not from genesis.
    assert!(block_number(&follower, "safe").await >= first, "safe head kept across kill -9");
    wait_for_safe(&follower, target, "the restarted follower", Duration::from_secs(90)).await;

    for number in 1..=target {
        let (ours, theirs) = (block(&sequencer, number).await, block(&follower, number).await);
        for field in ["hash", "stateRoot", "receiptsRoot", "transactionsRoot"] {
            assert_eq!(ours[field], theirs[field], "block {number} {field}");
        }
    }
    let tx = follower.rpc("eth_getTransactionReceipt", vec![last.clone()]).await;
    assert_eq!(tx["blockHash"], receipt["blockHash"], "the follower serves the same receipt");
    // Finalized never runs ahead of safe (both move on as the chain grows).
    let finalized = block_number(&follower, "finalized").await;
    assert!(finalized <= block_number(&follower, "safe").await, "finalized {finalized}");
    let status = follower.rpc("optimism_syncStatus", vec![]).await;
    assert!(status["safe_l2"]["number"].as_u64().unwrap() >= target, "{status}");
    assert!(status["unsafe_l2"]["number"].as_u64() >= status["safe_l2"]["number"].as_u64());

    // A transaction sent to the follower goes to the sequencer; once its batch is on L1 the
    // follower serves its receipt, with the sequencer's block hash.
    let raw = l2_transfer(4, 0, Vec::new());
    let hash = follower.rpc("eth_sendRawTransaction", vec![raw.into()]).await;
    let on_follower = wait_receipt(&follower, &hash).await;
    let on_sequencer = sequencer.rpc("eth_getTransactionReceipt", vec![hash]).await;
    assert_eq!(on_follower["blockHash"], on_sequencer["blockHash"]);
    assert_eq!(on_follower["status"], "0x1");
    // The sequencer's own errors reach the caller unchanged.
    let again = l2_transfer(4, 0, Vec::new());
    let err = follower
        .client
        .request::<Value, _>("eth_sendRawTransaction", jsonrpsee::rpc_params![again])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("nonce too low") || err.to_string().contains("already known"),
        "{err}"
    );
}

/// The newest L1 block at or below `head` with a transaction to the batch inbox.
async fn newest_batch_block(l1: &NodeProcess, head: u64, inbox: alloy_primitives::Address) -> u64 {
    let inbox = inbox.to_string().to_lowercase();
    for number in (1..=head).rev() {
        let block =
            l1.rpc("eth_getBlockByNumber", vec![format!("0x{number:x}").into(), true.into()]).await;
        let has_batch = block["transactions"].as_array().is_some_and(|txs| {
            txs.iter().any(|tx| tx["to"].as_str().map(str::to_lowercase).as_deref() == Some(&inbox))
        });
        if has_batch {
            return number;
        }
    }
    panic!("no batcher transaction on L1 up to {head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_l1_reorg_that_removes_a_batch_steps_safe_back_and_all_nodes_converge() {
    let dir = tempfile::tempdir().unwrap();
    let (l1, _port, l1_url, rollup) = start_l1_and_init(dir.path(), 1);
    // Origins 4 L1 blocks deep: the reorg below takes batches, not the sequencer's origins.
    let listen = format!("127.0.0.1:{}", crate::rollup::free_port());
    let args = [
        "--p2p.listen",
        &listen,
        "--sequencer.l1-confs",
        "4",
        "--batcher.max-channel-duration",
        "0",
        "--batcher.resubmission-timeout",
        "2",
    ];
    let sequencer = start_sequencer(dir.path(), &l1_url, &args);
    let peer =
        sequencer.rpc("opp2p_self", vec![]).await["addresses"][0].as_str().unwrap().to_string();
    let follower = start_follower(dir.path(), &l1_url, &sequencer.url, "follower", Some(&peer));
    for nonce in 0..3 {
        sequencer
            .rpc("eth_sendRawTransaction", vec![l2_transfer(2, nonce, vec![1; 32]).into()])
            .await;
    }
    wait_for_safe(&follower, 8, "the follower's first safe blocks", Duration::from_secs(60)).await;

    // Take away a batch the follower has derived from: one in an L1 block two deep, read
    // long since (derivation polls the L1 every 250 ms), and every L1 block above it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let l1_head = crate::rollup::hex_u64(&l1.rpc("eth_blockNumber", vec![]).await);
    let batch_block = newest_batch_block(&l1, l1_head - 2, rollup.batch_inbox_address).await;
    let safe_before = block_number(&follower, "safe").await;
    // The sequencer (and its batcher) is down while the L1 reorganizes: nothing posts the
    // batch again until it is back, so the follower's stepped-back safe head stays put.
    sequencer.terminate();
    l1.rpc("debug_setHead", vec![format!("0x{:x}", batch_block - 1).into()]).await;
    eprintln!("L1 rewound from {l1_head} to {}; follower safe was {safe_before}", batch_block - 1);

    let stepped_back = crate::rollup::wait_for(
        "the follower's safe head stepping back",
        Duration::from_secs(30),
        async || {
            let safe = block_number(&follower, "safe").await;
            (safe < safe_before).then_some(safe)
        },
    )
    .await;
    eprintln!("follower safe stepped back to {stepped_back}");
    let sequencer = start_sequencer(dir.path(), &l1_url, &args);

    // The batcher posts again; every node's safe chain is the sequencer's chain again.
    let target = safe_before + 4;
    wait_for_safe(
        &follower,
        target,
        "the follower re-deriving past the reorg",
        Duration::from_secs(90),
    )
    .await;
    wait_for_safe(
        &sequencer,
        target,
        "the sequencer re-deriving past the reorg",
        Duration::from_secs(90),
    )
    .await;
    for number in stepped_back..=target {
        let (ours, theirs) = (block(&sequencer, number).await, block(&follower, number).await);
        for field in ["hash", "stateRoot", "receiptsRoot"] {
            assert_eq!(ours[field], theirs[field], "block {number} {field}");
        }
    }
}
