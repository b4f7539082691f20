//! Load through the front door: 10,000 signed transfers from 200 fresh senders, sent at full
//! speed over 16 connections to `node --dev` (embedded L1, sequencer, batcher), and every
//! acknowledged transaction accounted for by receipt and by each sender's final nonce.

use crate::process::NodeProcess;
use std::time::Duration;
use tributary_devnet::accounts::dev_signer;
use tributary_loadgen::{LoadConfig, run_load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_transfers_at_full_speed_all_get_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let args = crate::rollup::dev_node_args(dir.path());
    let (node, urls) = NodeProcess::spawn(&args, &["L2 RPC: "]);
    let config = LoadConfig {
        rpc: urls[0].clone(),
        txs: 10_000,
        senders: 200,
        concurrency: 16,
        rate: None,
        funder: dev_signer(0),
        settle_blocks: 10,
        timeout: Duration::from_secs(300),
    };
    let report = run_load(config).await.unwrap();
    eprintln!("{report}");
    assert_eq!(report.sent, 10_000);
    assert!(
        report.refused.is_empty(),
        "refused: {:?}",
        &report.refused[..report.refused.len().min(3)]
    );
    assert!(report.unanswered.is_empty(), "unanswered: {:?}", report.unanswered.first());
    assert_eq!(report.accepted.len(), 10_000);
    assert!(
        report.lost.is_empty(),
        "{} acknowledged transactions have no receipt",
        report.lost.len()
    );
    assert_eq!(report.included, 10_000);
    assert_eq!(report.reverted, 0);
    assert_eq!(report.senders.len(), 200);
    for sender in &report.senders {
        assert_eq!(sender.final_nonce, 50, "{sender:?}");
    }
    // The node is still sealing blocks after the load (1 s blocks; the window allows for a
    // machine busy with other tests).
    let head = node.rpc("eth_blockNumber", vec![]).await;
    let mut moved = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if node.rpc("eth_blockNumber", vec![]).await != head {
            moved = true;
            break;
        }
    }
    assert!(moved, "no block for 10 s after the load (head {head})");
    assert!(node.terminate().success());
}
