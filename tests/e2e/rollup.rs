//! The rollup end to end, over real RPC between real processes: `node --dev` (embedded L1,
//! sequencer, batcher), and `l1 --dev` + `devnet init` + `node --sequencer --batcher` as
//! separate processes for restarts and an L1 outage.
//!
//! The L1 side is read with nothing but L1 RPC and the protocol crate's decoders: every
//! batcher transaction is decoded back into channels and batches, and compared with the L2
//! blocks the sequencer served.

use crate::process::NodeProcess;
use alloy::{
    consensus::Transaction as _, rpc::types::BlockNumberOrTag, signers::local::PrivateKeySigner,
    sol, sol_types::SolCall,
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    time::Duration,
};
use tributary_chainspec::RollupConfig;
use tributary_devnet::accounts::dev_signer;
use tributary_l1::{L1Client, TxFields, sign_eip1559};
use tributary_protocol::{
    Batch, Channel, L1BlockInfo, SpanBatchConfig, apply_l1_to_l2_alias, decode_batcher_tx,
    decode_blob, decode_channel_batches, decompress,
};

sol! {
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes data);
    function deposit(address portal, address to, uint64 gasLimit);
}

const ONE_ETHER: u128 = 1_000_000_000_000_000_000;

pub(crate) fn hex_u64(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn hex_u256(value: &Value) -> U256 {
    value.as_str().unwrap().parse().unwrap()
}

/// Sends an L1 transaction from `signer` and waits for its receipt.
async fn l1_send(
    l1: &L1Client,
    signer: &PrivateKeySigner,
    to: Option<Address>,
    value: U256,
    input: Bytes,
) -> alloy::rpc::types::TransactionReceipt {
    let chain_id = l1.chain_id().await.unwrap();
    let nonce = l1.nonce(signer.address(), BlockNumberOrTag::Pending).await.unwrap();
    let gas = l1.estimate_gas(signer.address(), to, value, &input).await.unwrap();
    let tx = sign_eip1559(
        signer,
        TxFields {
            chain_id,
            nonce,
            to,
            value,
            input,
            gas_limit: gas * 2,
            max_fee_per_gas: 20_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
        },
    )
    .unwrap();
    l1.send_raw(&tx.raw).await.unwrap();
    let receipt =
        tributary_devnet::wait_for_receipt(l1, tx.hash, Duration::from_secs(30)).await.unwrap();
    assert!(receipt.status(), "L1 transaction {} reverted", tx.hash);
    receipt
}

/// An L2 transfer from dev account `index` with `data` as calldata.
pub(crate) fn l2_transfer(index: u32, nonce: u64, data: Vec<u8>) -> String {
    let tx = sign_eip1559(
        &dev_signer(index),
        TxFields {
            chain_id: 901,
            nonce,
            to: Some(Address::with_last_byte(0x77)),
            value: U256::from(1_000 + nonce),
            gas_limit: 21_000 + 16 * data.len() as u64 + 10_000,
            input: data.into(),
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000,
        },
    )
    .unwrap();
    tx.raw.to_string()
}

pub(crate) async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn block_number(node: &NodeProcess, tag: &str) -> u64 {
    let block = node.rpc("eth_getBlockByNumber", vec![tag.into(), false.into()]).await;
    hex_u64(&block["number"])
}

/// Waits until the node's `safe` head (batches confirmed on L1) reaches `number`.
pub(crate) async fn wait_for_safe(node: &NodeProcess, number: u64, what: &str, timeout: Duration) {
    wait_for(what, timeout, async || (block_number(node, "safe").await >= number).then_some(()))
        .await;
}

pub(crate) async fn wait_receipt(node: &NodeProcess, hash: &Value) -> Value {
    wait_for("an L2 receipt", Duration::from_secs(60), async || {
        let receipt = node.rpc("eth_getTransactionReceipt", vec![hash.clone()]).await;
        (!receipt.is_null()).then_some(receipt)
    })
    .await
}

/// An L2 block as recovered from L1: its timestamp, L1 origin number and transaction hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PostedBlock {
    epoch_num: u64,
    epoch_hash: Option<B256>,
    tx_hashes: Vec<B256>,
}

/// What decoding every batcher transaction on L1 gives.
#[derive(Debug, Default)]
struct L1Batches {
    /// By L2 timestamp; a timestamp seen twice is a duplicate.
    blocks: BTreeMap<u64, PostedBlock>,
    duplicates: Vec<u64>,
    complete_channels: usize,
    /// Channels with frames on L1 but no complete set.
    incomplete: Vec<[u8; 16]>,
    /// The most batcher transactions one L1 block holds.
    most_in_one_l1_block: usize,
    /// Batcher transactions that carried their frames in blobs.
    blob_txs: usize,
}

/// An L1 as these tests read it: JSON-RPC, and the beacon API on the same port for blobs.
pub(crate) struct L1 {
    rpc: L1Client,
    beacon: tributary_l1::BeaconClient,
}

impl L1 {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            rpc: L1Client::new(url).unwrap(),
            beacon: tributary_l1::BeaconClient::new(url).unwrap(),
        }
    }
}

impl std::ops::Deref for L1 {
    type Target = L1Client;

    fn deref(&self) -> &L1Client {
        &self.rpc
    }
}

/// Reads all batcher transactions from L1 with L1 RPC, the beacon API (for blobs) and the
/// protocol decoders.
async fn read_l1_batches(l1: &L1, rollup: &RollupConfig) -> L1Batches {
    let config = SpanBatchConfig {
        genesis_timestamp: rollup.genesis.l2_time,
        block_time: rollup.block_time,
        chain_id: rollup.l2_chain_id,
    };
    let batcher = rollup.genesis.system_config.batcher_addr;
    let head = l1.block_number().await.unwrap();
    let mut channels: HashMap<[u8; 16], Channel> = HashMap::new();
    let mut out = L1Batches::default();
    for number in rollup.genesis.l1.number..=head {
        let block = l1.block(BlockNumberOrTag::Number(number), true).await.unwrap().unwrap();
        let mut in_block = 0;
        for tx in block.transactions.txns() {
            if tx.to() != Some(rollup.batch_inbox_address) || tx.inner.signer() != batcher {
                continue;
            }
            in_block += 1;
            out.most_in_one_l1_block = out.most_in_one_l1_block.max(in_block);
            let payloads: Vec<Bytes> = match tx.blob_versioned_hashes() {
                Some(hashes) => {
                    out.blob_txs += 1;
                    let sidecars = l1.beacon.blob_sidecars(block.header.timestamp).await.unwrap();
                    let blobs = tributary_l1::blobs_for(hashes, &sidecars).unwrap();
                    blobs.iter().map(|blob| decode_blob(blob).unwrap().into()).collect()
                }
                None => vec![tx.input().clone()],
            };
            let frames = payloads.iter().flat_map(|payload| {
                decode_batcher_tx(payload).expect("batcher calldata or blob decodes")
            });
            for frame in frames {
                let id = frame.channel_id;
                let channel = channels.entry(id).or_insert_with(|| Channel::new(id));
                channel.add_frame(frame).expect("no malformed or duplicate frames");
                if !channel.is_ready() {
                    continue;
                }
                let data = channels.remove(&id).unwrap().data().unwrap();
                let batches = decode_channel_batches(&decompress(&data).unwrap(), &config).unwrap();
                out.complete_channels += 1;
                for batch in batches {
                    let blocks: Vec<(u64, PostedBlock)> = match batch {
                        Batch::Singular(b) => vec![(
                            b.timestamp,
                            PostedBlock {
                                epoch_num: b.epoch_num,
                                epoch_hash: Some(b.epoch_hash),
                                tx_hashes: b.transactions.iter().map(keccak256).collect(),
                            },
                        )],
                        Batch::Span(span) => span
                            .blocks
                            .into_iter()
                            .map(|b| {
                                let tx_hashes = b.transactions.iter().map(keccak256).collect();
                                let block = PostedBlock {
                                    epoch_num: b.epoch_num,
                                    epoch_hash: None,
                                    tx_hashes,
                                };
                                (b.timestamp, block)
                            })
                            .collect(),
                    };
                    for (timestamp, block) in blocks {
                        if out.blocks.insert(timestamp, block).is_some() {
                            out.duplicates.push(timestamp);
                        }
                    }
                }
            }
        }
    }
    out.incomplete = channels.into_keys().collect();
    out
}

/// Checks that L1 holds exactly L2 blocks `1..=through`: no gap, no duplicate, and each one's
/// transactions, timestamp and L1 origin as the L2 node serves them.
async fn assert_l1_rebuilds_l2(
    l1: &L1,
    l2: &NodeProcess,
    rollup: &RollupConfig,
    through: u64,
) -> L1Batches {
    let posted = read_l1_batches(l1, rollup).await;
    assert!(posted.duplicates.is_empty(), "L2 blocks posted twice: {:?}", posted.duplicates);
    for number in 1..=through {
        let block =
            l2.rpc("eth_getBlockByNumber", vec![json!(format!("{number:#x}")), true.into()]).await;
        let timestamp = hex_u64(&block["timestamp"]);
        assert_eq!(timestamp, rollup.l2_timestamp(number), "block {number} timestamp");
        let Some(batch) = posted.blocks.get(&timestamp) else {
            panic!("L2 block {number} (timestamp {timestamp}) is not on L1");
        };
        let txs = block["transactions"].as_array().unwrap();
        let input =
            Bytes::from(alloy_primitives::hex::decode(txs[0]["input"].as_str().unwrap()).unwrap());
        let (origin, _) = L1BlockInfo::decode_calldata(&input).unwrap();
        assert_eq!(batch.epoch_num, origin.number, "block {number} L1 origin");
        if let Some(hash) = batch.epoch_hash {
            assert_eq!(hash, origin.hash, "block {number} L1 origin hash");
        }
        let l1_origin =
            l1.block(BlockNumberOrTag::Number(origin.number), false).await.unwrap().unwrap();
        assert_eq!(l1_origin.header.hash, origin.hash, "block {number}'s origin is on L1");
        let user_txs: Vec<B256> = txs
            .iter()
            .filter(|tx| tx["type"] != "0x7e")
            .map(|tx| tx["hash"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(batch.tx_hashes, user_txs, "block {number} transactions");
    }
    posted
}

fn read_rollup(dir: &Path) -> RollupConfig {
    RollupConfig::from_file(dir.join("rollup.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_node_takes_deposits_and_l1_rebuilds_every_block() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let mut args = dev_node_args(dir.path());
    // `auto` data availability: at the dev L1's blob base fee (its 1 wei floor) a blob costs
    // far less than the calldata it replaces, so the channels go in blobs, and the L1 (RPC
    // plus the beacon API) still rebuilds every block.
    args.extend(strings(&["--batcher.data-availability-type", "auto"]));
    args.extend(strings(&["--batcher.batch-type", "singular", "--metrics"]));
    args.push(format!("127.0.0.1:{metrics_port}"));
    let (l2, urls) = NodeProcess::spawn(&args, &["L1 RPC: ", "L2 RPC: "]);
    let l1 = L1::new(&urls[0]);
    let rollup = read_rollup(dir.path());
    let portal = rollup.deposit_contract_address;

    // An EOA deposit: `from` is the sender itself.
    let eoa = dev_signer(1);
    let to_eoa = Address::with_last_byte(0xd1);
    let input = depositTransactionCall {
        to: to_eoa,
        value: U256::from(ONE_ETHER),
        gasLimit: 100_000,
        isCreation: false,
        data: Bytes::new(),
    }
    .abi_encode();
    l1_send(&l1, &eoa, Some(portal), U256::from(ONE_ETHER), input.into()).await;

    // A contract deposit: `from` is the contract's aliased address.
    let artifact: Value =
        serde_json::from_str(include_str!("../contracts/build/DepositCaller.json")).unwrap();
    let code: Bytes = artifact["bytecode"].as_str().unwrap().parse().unwrap();
    let deployer = dev_signer(2);
    let created = l1_send(&l1, &deployer, None, U256::ZERO, code).await;
    let caller = created.contract_address.unwrap();
    let to_contract = Address::with_last_byte(0xd2);
    let input = depositCall { portal, to: to_contract, gasLimit: 100_000 }.abi_encode();
    l1_send(&l1, &deployer, Some(caller), U256::from(ONE_ETHER / 2), input.into()).await;

    // L2 transactions alongside.
    let mut last = Value::Null;
    for nonce in 0..6 {
        last =
            l2.rpc("eth_sendRawTransaction", vec![l2_transfer(3, nonce, vec![7; 40]).into()]).await;
    }
    let last_block = hex_u64(&wait_receipt(&l2, &last).await["blockNumber"]);

    for (to, amount, from) in [
        (to_eoa, ONE_ETHER, eoa.address()),
        (to_contract, ONE_ETHER / 2, apply_l1_to_l2_alias(caller)),
    ] {
        let balance = wait_for("a deposit on L2", Duration::from_secs(60), async || {
            let balance =
                hex_u256(&l2.rpc("eth_getBalance", vec![json!(to), "latest".into()]).await);
            (!balance.is_zero()).then_some(balance)
        })
        .await;
        assert_eq!(balance, U256::from(amount), "deposit to {to}");
        // The deposit transaction: a 0x7e with the right `from` and mint.
        let head = block_number(&l2, "latest").await;
        let mut found = false;
        for number in (1..=head).rev() {
            let block = l2
                .rpc("eth_getBlockByNumber", vec![json!(format!("{number:#x}")), true.into()])
                .await;
            for tx in block["transactions"].as_array().unwrap() {
                if tx["type"] == "0x7e" && tx["to"] == json!(to) {
                    assert_eq!(tx["from"], json!(from), "deposit from (aliased for a contract)");
                    assert_eq!(hex_u256(&tx["mint"]), U256::from(amount), "mint");
                    found = true;
                }
            }
            if found {
                break;
            }
        }
        assert!(found, "deposit transaction to {to} on L2");
    }
    assert_ne!(apply_l1_to_l2_alias(caller), caller);

    // Every L2 block up to the safe head is on L1, exactly.
    let through = last_block + 2;
    wait_for_safe(&l2, through, "the safe head", Duration::from_secs(90)).await;
    let posted = assert_l1_rebuilds_l2(&l1, &l2, &rollup, through).await;
    assert!(posted.complete_channels >= 1);
    assert!(posted.blob_txs >= 1, "auto chose blobs on an L1 that prices them at 1 wei");

    let status = l2.rpc("optimism_syncStatus", vec![]).await;
    assert!(hex_or_number(&status["safe_l2"]["number"]) >= through, "{status}");
    let config = l2.rpc("optimism_rollupConfig", vec![]).await;
    assert_eq!(config["batch_inbox_address"], json!(rollup.batch_inbox_address));

    let body = scrape(metrics_port);
    for name in [
        "tributary_rollup_l1_origin_lag_blocks",
        "tributary_batcher_channels_open",
        "tributary_batcher_bytes_posted_total",
        "tributary_batcher_balance_wei",
    ] {
        assert!(body.contains(name), "{name} missing from the metrics:\n{body}");
    }
    assert!(metric(&body, "tributary_batcher_blobs_posted_total") >= 1.0, "blobs posted");
    l2.terminate();
}

fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

/// A counter's value in a Prometheus scrape; 0 when it is not there.
fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_default()
}

fn hex_or_number(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| hex_u64(value))
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `node --dev` on ephemeral ports with 1 s L2 and L1 blocks, its data in `dir`.
pub(crate) fn dev_node_args(dir: &Path) -> Vec<String> {
    let mut args = strings(&[
        "node",
        "--dev",
        "--http.port",
        "0",
        "--dev.l1-port",
        "0",
        "--dev.block-time",
        "1",
        "--dev.l1-block-time",
        "1",
        "--datadir",
    ]);
    args.push(dir.display().to_string());
    args
}

pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn start_l1(dir: &Path, port: u16, block_time: u64) -> NodeProcess {
    let mut args =
        strings(&["l1", "--dev", "--block-time", &block_time.to_string(), "--http.port"]);
    args.push(port.to_string());
    args.push("--datadir".into());
    args.push(dir.display().to_string());
    NodeProcess::spawn(&args, &["L1 RPC: "]).0
}

pub(crate) fn start_sequencer(dir: &Path, l1_url: &str, extra: &[&str]) -> NodeProcess {
    let key = alloy_primitives::hex::encode_prefixed(dev_signer(8).to_bytes());
    let mut args = strings(&["node", "--sequencer", "--batcher", "--http.port", "0"]);
    if !extra.iter().any(|arg| arg.starts_with("--p2p.")) {
        args.extend(strings(&["--p2p.listen", "127.0.0.1:0"]));
    }
    args.extend(strings(extra));
    for (flag, value) in [
        ("--chain", dir.join("genesis.json").display().to_string()),
        ("--rollup.config", dir.join("rollup.json").display().to_string()),
        ("--datadir", dir.join("l2").display().to_string()),
        ("--l1.rpc", l1_url.to_string()),
        ("--batcher.private-key", key),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    NodeProcess::spawn(&args, &["L2 RPC: "]).0
}

/// `l1 --dev` on a fixed port plus `devnet init` into `dir`.
pub(crate) fn start_l1_and_init(
    dir: &Path,
    block_time: u64,
) -> (NodeProcess, u16, String, RollupConfig) {
    let port = free_port();
    let l1_node = start_l1(&dir.join("l1"), port, block_time);
    let l1_url = format!("http://127.0.0.1:{port}");
    let init = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["devnet", "init", "--l2.block-time", "1", "--l1.rpc", &l1_url, "--out"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(init.status.success(), "devnet init: {}", String::from_utf8_lossy(&init.stderr));
    (l1_node, port, l1_url, read_rollup(dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batcher_restart_mid_channel_and_l1_outage_leave_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let l1_dir = dir.path().join("l1");
    let (l1_node, port, l1_url, rollup) = start_l1_and_init(dir.path(), 1);
    let l1 = L1::new(&l1_url);

    // `devnet init` again (a compose `up` on kept volumes) keeps the chain it made.
    let written = std::fs::read(dir.path().join("rollup.json")).unwrap();
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["devnet", "init", "--l1.rpc", &l1_url, "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("kept them"));
    assert_eq!(std::fs::read(dir.path().join("rollup.json")).unwrap(), written);

    // Blocks with incompressible calldata, so channels need several 1000-byte frames.
    let small_frames = [
        "--batcher.max-l1-tx-size",
        "1000",
        "--batcher.confirmations",
        "2",
        "--batcher.max-channel-duration",
        "2",
        "--batcher.compression",
        "zlib",
    ];
    let node = start_sequencer(dir.path(), &l1_url, &small_frames);
    let noise = |seed: u64| keccak256(seed.to_be_bytes()).repeat(12);
    for nonce in 0..12 {
        node.rpc("eth_sendRawTransaction", vec![l2_transfer(4, nonce, noise(nonce)).into()]).await;
    }
    // Kill the node (and with it the batcher) while a channel is half-way onto L1.
    let cut_off = wait_for("a channel half-way onto L1", Duration::from_secs(90), async || {
        let open = read_l1_batches(&l1, &rollup).await.incomplete;
        (!open.is_empty()).then_some(open)
    })
    .await;
    node.kill_hard();

    let node = start_sequencer(dir.path(), &l1_url, &small_frames);
    for nonce in 12..20 {
        node.rpc("eth_sendRawTransaction", vec![l2_transfer(4, nonce, noise(nonce)).into()]).await;
    }
    let head = block_number(&node, "latest").await + 3;
    wait_for_safe(&node, head, "the safe head after the restart", Duration::from_secs(120)).await;
    let posted = assert_l1_rebuilds_l2(&l1, &node, &rollup, head).await;
    for id in &cut_off {
        assert!(
            posted.incomplete.contains(id),
            "the channel cut off by the kill stays incomplete; its blocks were posted again"
        );
    }

    // The L1 goes away for a while: L2 keeps its origin and keeps sealing.
    let stopped_at = block_number(&node, "latest").await;
    l1_node.terminate();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = block_number(&node, "latest").await;
    assert!(during >= stopped_at + 3, "L2 kept sealing during the L1 outage");
    let l1_node = start_l1(&l1_dir, port, 1);
    let head = block_number(&node, "latest").await;
    wait_for_safe(
        &node,
        head,
        "posting to catch up after the L1 came back",
        Duration::from_secs(120),
    )
    .await;
    assert_l1_rebuilds_l2(&l1, &node, &rollup, head).await;
    node.terminate();
    l1_node.terminate();
}

/// Several batcher transactions in flight (`--batcher.max-pending-tx`): a channel's frames go
/// out on consecutive nonces, several in one L1 block, and still land in order: L1 rebuilds
/// L2 with no gap and no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_batcher_transactions_in_flight_land_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (l1_node, _, l1_url, rollup) = start_l1_and_init(dir.path(), 2);
    let l1 = L1::new(&l1_url);
    let flags = [
        "--batcher.max-l1-tx-size",
        "1000",
        "--batcher.compression",
        "zlib",
        "--batcher.max-pending-tx",
        "6",
    ];
    let node = start_sequencer(dir.path(), &l1_url, &flags);
    // Incompressible calldata: each channel needs several 1000-byte frames.
    let noise = |seed: u64| keccak256((seed + 100).to_be_bytes()).repeat(12);
    for nonce in 0..12 {
        node.rpc("eth_sendRawTransaction", vec![l2_transfer(6, nonce, noise(nonce)).into()]).await;
    }
    let head = block_number(&node, "latest").await + 2;
    wait_for_safe(&node, head, "the blocks to be posted", Duration::from_secs(120)).await;
    let posted = assert_l1_rebuilds_l2(&l1, &node, &rollup, head).await;
    assert!(
        posted.most_in_one_l1_block >= 2,
        "frames went out several at a time (at most {} in one L1 block)",
        posted.most_in_one_l1_block
    );
    node.terminate();
    l1_node.terminate();
}

/// The newest batcher transaction on L1: its hash and block.
async fn newest_batcher_tx(l1: &L1Client, rollup: &RollupConfig) -> Option<(B256, u64)> {
    let head = l1.block_number().await.unwrap();
    for number in (rollup.genesis.l1.number..=head).rev() {
        let block = l1.block(BlockNumberOrTag::Number(number), true).await.unwrap()?;
        for tx in block.transactions.txns() {
            if tx.to() == Some(rollup.batch_inbox_address) {
                return Some((*tx.inner.tx_hash(), number));
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_reorg_that_drops_a_batch_gets_it_posted_again() {
    let dir = tempfile::tempdir().unwrap();
    let (l1_node, _, l1_url, rollup) = start_l1_and_init(dir.path(), 1);
    let l1 = L1::new(&l1_url);
    // Origins four blocks deep: the reorg below takes only the newest two L1 blocks, so it
    // drops batches but no L1 origin.
    // TODO(issue 5): wait until the batcher counts the batch as included before the reorg,
    // and assert `tributary_batcher_reorgs_total`. Doing so today shows a known gap: a later
    // batcher transaction still in the mempool at the reorg can land after the repost and
    // post the same blocks twice (derivation drops such batches, but the test forbids it).
    let node = start_sequencer(dir.path(), &l1_url, &["--sequencer.l1-confs", "4"]);
    for nonce in 0..4 {
        node.rpc("eth_sendRawTransaction", vec![l2_transfer(5, nonce, vec![1; 64]).into()]).await;
    }
    wait_for_safe(&node, 4, "a few safe blocks", Duration::from_secs(60)).await;
    // Wait for a batcher transaction in the L1 head block, then rewind L1 to just below it.
    let (dropped, at) = wait_for("a batch at the L1 head", Duration::from_secs(60), async || {
        let head = l1.block_number().await.unwrap();
        newest_batcher_tx(&l1, &rollup).await.filter(|(_, at)| *at == head)
    })
    .await;
    let client = jsonrpsee::http_client::HttpClientBuilder::default().build(&l1_url).unwrap();
    let _: () = jsonrpsee::core::client::ClientT::request(
        &client,
        "debug_setHead",
        jsonrpsee::rpc_params![format!("{:#x}", at - 1)],
    )
    .await
    .unwrap();
    assert!(l1.receipt(dropped).await.unwrap().is_none(), "the reorg dropped the batch");

    let head = block_number(&node, "latest").await;
    // The safe head may still be the one derived before the reorg (derivation notices it when
    // the L1 grows past the dropped block), so wait for L1 itself to hold every block again.
    wait_for("the dropped batch to be posted again", Duration::from_secs(90), async || {
        let posted = read_l1_batches(&l1, &rollup).await;
        let all = (1..=head).all(|n| posted.blocks.contains_key(&rollup.l2_timestamp(n)));
        (all && block_number(&node, "safe").await >= head).then_some(())
    })
    .await;
    assert_l1_rebuilds_l2(&l1, &node, &rollup, head).await;
    node.terminate();
    l1_node.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_batcher_posts_what_the_sequencer_serves_and_bumps_stuck_fees() {
    let dir = tempfile::tempdir().unwrap();
    // L1 blocks every 3 s and a 1 s resubmission timeout: every batcher transaction waits long
    // enough to be replaced with a fee bump at least once before a block takes it.
    let (l1_node, _, l1_url, rollup) = start_l1_and_init(dir.path(), 3);
    let l1 = L1::new(&l1_url);
    let mut args = strings(&["node", "--sequencer", "--http.port", "0", "--l1.rpc", &l1_url]);
    args.extend(strings(&["--p2p.disable"]));
    for (flag, path) in [("--chain", "genesis.json"), ("--rollup.config", "rollup.json")] {
        args.push(flag.into());
        args.push(dir.path().join(path).display().to_string());
    }
    args.push("--datadir".into());
    args.push(dir.path().join("l2").display().to_string());
    let (node, _) = NodeProcess::spawn(&args, &["L2 RPC: "]);
    let key = alloy_primitives::hex::encode_prefixed(dev_signer(8).to_bytes());
    let mut args = strings(&["batcher", "--l1.rpc", &l1_url, "--l2.rpc", &node.url]);
    args.extend(strings(&["--batcher.batch-type", "singular", "--batcher.private-key", &key]));
    args.extend(strings(&[
        "--batcher.resubmission-timeout",
        "1",
        "--batcher.max-channel-duration",
        "0",
    ]));
    let metrics_port = free_port();
    args.extend(["--metrics".to_string(), format!("127.0.0.1:{metrics_port}")]);
    args.push("--rollup.config".into());
    args.push(dir.path().join("rollup.json").display().to_string());
    let (batcher, _) = NodeProcess::spawn(&args, &["Batcher: "]);
    for nonce in 0..3 {
        node.rpc("eth_sendRawTransaction", vec![l2_transfer(6, nonce, vec![2; 32]).into()]).await;
    }
    let through = block_number(&node, "latest").await + 2;
    wait_for("batches on L1", Duration::from_secs(90), async || {
        let posted = read_l1_batches(&l1, &rollup).await;
        posted.blocks.contains_key(&rollup.l2_timestamp(through)).then_some(())
    })
    .await;
    assert_l1_rebuilds_l2(&l1, &node, &rollup, through).await;
    let resubmissions = metric(&scrape(metrics_port), "tributary_batcher_resubmissions_total");
    assert!(resubmissions >= 1.0, "stuck transactions were resubmitted");
    batcher.terminate();
    node.terminate();
    l1_node.terminate();
}
