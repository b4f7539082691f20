//! Nothing acknowledged is lost when a block fills up: a transaction that does not fit one of
//! the block's budgets waits for the next block with its sender's later transactions, one
//! refused for its own fault is dropped without taking its sender's later ones with it, and an
//! in-order burst from one sender is accepted whole.

use crate::helpers::*;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use std::time::Duration;
use tributary_chainspec::ChainSpec;

const OPEN: u128 = 1_000_000_000_000_000_000;

/// `len` bytes that do not compress, so the Jovian DA footprint is about `len * 400`.
fn incompressible(len: usize, seed: u8) -> Bytes {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = keccak256([seed]);
    while out.len() < len {
        out.extend_from_slice(block.as_slice());
        block = keccak256(block);
    }
    out.truncate(len);
    out.into()
}

fn with_data(key: &PrivateKeySigner, nonce: u64, data: Bytes) -> Vec<u8> {
    let to = TxKind::Call(Address::repeat_byte(0x99));
    sign(key, nonce, to, U256::ZERO, data, 500_000, FEES)
}

async fn block_of(node: &TestNode, hash: B256) -> u64 {
    hex_u64(&node.receipt(hash).await["blockNumber"])
}

/// Returns right after the next block: what is sent now is pooled together before the one
/// after (blocks here are 2 s apart).
async fn next_block(node: &TestNode) {
    let start = node.block_number().await;
    while node.block_number().await == start {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two 10 KB incompressible transactions each take ~3.4M of DA footprint; a 5M-gas block
/// holds one, though their gas (~0.9M together) would fit. The second waits, and so does its
/// sender's next transaction, which would otherwise fail on its nonce and be dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_over_the_da_footprint_left_waits_for_the_next_block() {
    let mut genesis = ChainSpec::dev().genesis().clone();
    genesis.gas_limit = 5_000_000;
    let chain = ChainSpec::from_genesis(genesis).unwrap();
    let node = TestNode::start_chain(chain, Duration::from_secs(2)).await;
    let (a, b) = (dev_key(4), dev_key(5));
    next_block(&node).await;
    let first = node.send(with_data(&a, 0, incompressible(10_000, 1))).await.unwrap();
    let second = node.send(with_data(&b, 0, incompressible(10_000, 2))).await.unwrap();
    let after = node.send(transfer(&b, 1, Address::repeat_byte(0x98), 1)).await.unwrap();
    let (x, y, z) =
        (block_of(&node, first).await, block_of(&node, second).await, block_of(&node, after).await);
    assert_ne!(x, y, "the DA footprint fits one of them per block");
    // (the receipts above would time out had either been dropped)
    assert!(z >= y, "nonce order: blocks {x} {y} {z}");
    node.stop().await;
}

/// A transaction refused for a fault of its own (here: the balance it counted on was spent by
/// its predecessor) is dropped, but the sender's later transaction stays in the pool, answered
/// by hash, until a replacement fills the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_transaction_does_not_take_its_senders_later_ones_with_it() {
    let node = TestNode::start(Duration::from_secs(2)).await;
    let key = PrivateKeySigner::from_bytes(&keccak256(b"capacity test sender")).unwrap();
    let fund = sign(
        &dev_key(6),
        0,
        TxKind::Call(key.address()),
        U256::from(OPEN),
        Bytes::new(),
        21_000,
        FEES,
    );
    node.receipt(node.send(fund).await.unwrap()).await;

    next_block(&node).await;
    let to = TxKind::Call(Address::repeat_byte(0x97));
    let spend =
        |nonce, value: u128| sign(&key, nonce, to, U256::from(value), Bytes::new(), 21_000, FEES);
    let first = node.send(spend(0, OPEN * 6 / 10)).await.unwrap();
    let unpayable = node.send(spend(1, OPEN * 6 / 10)).await.unwrap();
    let last = node.send(spend(2, 1)).await.unwrap();
    node.receipt(first).await;

    let by_hash = |hash: B256| node.rpc("eth_getTransactionByHash", vec![hash.to_string().into()]);
    // The receipt shows at commit; the pool drops the refused one right after.
    let mut tries = 0;
    while !by_hash(unpayable).await.is_null() {
        tries += 1;
        assert!(tries < 100, "the unpayable one is dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = by_hash(last).await;
    assert!(!waiting.is_null(), "its successor is still known");
    assert!(waiting["blockHash"].is_null(), "and still waiting");

    let filler = node.send(spend(1, 1)).await.unwrap();
    assert_eq!(node.receipt(filler).await["status"], "0x1");
    assert_eq!(node.receipt(last).await["status"], "0x1");
    node.stop().await;
}

/// 1,000 transactions from one key before the next block: all accepted, all mined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_transaction_burst_from_one_sender_is_mined() {
    let node = TestNode::start(Duration::from_secs(1)).await;
    let key = dev_key(7);
    let to = Address::repeat_byte(0x96);
    let mut hashes = Vec::with_capacity(1_000);
    for nonce in 0..1_000 {
        let sent = node.send(transfer(&key, nonce, to, 1)).await;
        hashes.push(sent.unwrap_or_else(|err| panic!("nonce {nonce} refused: {err}")));
    }
    let last = block_of(&node, hashes[999]).await;
    assert_eq!(
        hex_u64(
            &node
                .rpc(
                    "eth_getTransactionCount",
                    vec![addr(key.address()), format!("0x{last:x}").into()]
                )
                .await
        ),
        1_000
    );
    for hash in &hashes {
        let receipt = node.rpc("eth_getTransactionReceipt", vec![hash.to_string().into()]).await;
        assert_eq!(receipt["status"], "0x1", "{hash}");
    }
    assert_eq!(node.balance(to, "latest").await, U256::from(1_000));
    node.stop().await;
}
