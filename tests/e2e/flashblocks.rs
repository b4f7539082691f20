//! Sub-second blocks as flashblocks: `node --dev --dev.block-time 200ms` builds each 1 s block
//! in 200 ms rounds, and RPC serves a transaction's receipt (blockHash null) as soon as a round
//! includes it, before the block is sealed. The sealed receipt must say the same.

use crate::{
    process::NodeProcess,
    rollup::{block_number, dev_node_args, hex_u64, l2_transfer, wait_for, wait_for_safe},
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Where `l2_transfer` sends.
const RECIPIENT: &str = "0x0000000000000000000000000000000000000077";

/// The fields a preconfirmed receipt shares with the sealed one.
const SAME: [&str; 8] = [
    "blockNumber",
    "transactionIndex",
    "transactionHash",
    "gasUsed",
    "cumulativeGasUsed",
    "status",
    "effectiveGasPrice",
    "l1Fee",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_second_block_time_preconfirms_receipts_before_the_block_is_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = dev_node_args(dir.path());
    let at = args.iter().position(|arg| arg == "--dev.block-time").unwrap();
    args[at + 1] = "200ms".into();
    let (l2, _) = NodeProcess::spawn(&args, &["L1 RPC: ", "L2 RPC: "]);
    wait_for("L2 blocks", Duration::from_secs(60), async || {
        (block_number(&l2, "latest").await >= 2).then_some(())
    })
    .await;

    let mut preconfirmed = 0;
    let mut latencies = Vec::new();
    let mut sealed_blocks = Vec::new();
    // Every transfer pays `RECIPIENT`; `pending` state must show each one as soon as its
    // receipt does, `latest` only once it is sealed.
    let mut paid = 0u64;
    let mut ahead_of_latest = 0;
    for nonce in 0..8 {
        let raw = l2_transfer(4, nonce, Vec::new());
        let sent = Instant::now();
        let hash = l2.rpc("eth_sendRawTransaction", vec![raw.into()]).await;
        let first = poll_receipt(&l2, &hash, Duration::from_millis(10)).await;
        latencies.push(sent.elapsed());
        paid += 1_000 + nonce;
        let balance = async |tag: &str| {
            hex_u64(&l2.rpc("eth_getBalance", vec![RECIPIENT.into(), tag.into()]).await)
        };
        // `pending` first: if `latest` still lacks the transfer afterwards, it was not sealed
        // when `pending` showed it.
        let (pending, latest) = (balance("pending").await, balance("latest").await);
        assert_eq!(pending, paid, "pending state holds every preconfirmed transfer");
        ahead_of_latest += usize::from(latest < pending);
        let number = hex_u64(&first["blockNumber"]);
        if first["blockHash"].is_null() {
            preconfirmed += 1;
            // The block being built holds it (or, sealed meanwhile, block `number` does).
            let pending =
                l2.rpc("eth_getBlockByNumber", vec!["pending".into(), false.into()]).await;
            assert_eq!(hex_u64(&pending["number"]), number, "{pending}");
            assert!(pending["transactions"].as_array().unwrap().contains(&hash), "{pending}");
            let sealed = wait_for("the sealed receipt", Duration::from_secs(30), async || {
                let receipt = l2.rpc("eth_getTransactionReceipt", vec![hash.clone()]).await;
                (!receipt["blockHash"].is_null()).then_some(receipt)
            })
            .await;
            for field in SAME {
                assert_eq!(first[field], sealed[field], "{field}: {first} against {sealed}");
            }
            let block = l2
                .rpc("eth_getBlockByNumber", vec![first["blockNumber"].clone(), false.into()])
                .await;
            assert_eq!(block["hash"], sealed["blockHash"]);
            sealed_blocks.push((number, sealed["blockHash"].clone()));
        }
        // Spread the sends over the slot.
        tokio::time::sleep(Duration::from_millis(170)).await;
    }
    latencies.sort();
    eprintln!(
        "preconfirmed {preconfirmed} of 8 ({ahead_of_latest} seen in pending state ahead of \
         latest); send-to-receipt {latencies:?}"
    );
    assert!(preconfirmed >= 2, "receipts came from rounds before their block was sealed");
    assert!(ahead_of_latest >= 1, "pending state showed a transfer before its block was sealed");
    assert!(latencies[3] < Duration::from_millis(600), "median send-to-receipt {:?}", latencies[3]);

    // Blocks built in rounds are ordinary blocks: derivation from the L1 batches agrees.
    let (last, _) = sealed_blocks.last().cloned().unwrap();
    wait_for_safe(&l2, last, "the round-built blocks to be safe", Duration::from_secs(90)).await;
    for (number, hash) in sealed_blocks {
        let block =
            l2.rpc("eth_getBlockByNumber", vec![format!("{number:#x}").into(), false.into()]).await;
        assert_eq!(block["hash"], hash, "block {number} is still the one sealed");
    }
}

/// The first receipt the node answers for `hash`, polled every `every`.
async fn poll_receipt(node: &NodeProcess, hash: &Value, every: Duration) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let receipt = node.rpc("eth_getTransactionReceipt", vec![hash.clone()]).await;
        if !receipt.is_null() {
            return receipt;
        }
        assert!(Instant::now() < deadline, "no receipt for {hash}");
        tokio::time::sleep(every).await;
    }
}
