//! The phases of a load run: fund, pre-sign, send, watch, settle, account.

use crate::{
    LoadError, LoadReport, Result, SenderNonce,
    rpc::{Rpc, SendError},
};
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use futures::{StreamExt, stream};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tributary_l1::{TxFields, sign_eip1559};

/// The most transactions one run sends.
pub const MAX_TXS: usize = 1_000_000;

/// Where every transfer of a run goes (1 wei each): one address, so the load is the
/// transactions, not new accounts.
const SINK: Address = Address::repeat_byte(0x5e);
/// Gas of a plain transfer.
const TRANSFER_GAS: u64 = 21_000;
/// The tip every transfer offers.
const TIP: u128 = 1_000_000;
/// How often the watcher polls the head.
const POLL: Duration = Duration::from_millis(20);

/// What to send, and where.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The node's HTTP JSON-RPC URL (loopback only).
    pub rpc: String,
    /// Transfers to send.
    pub txs: usize,
    /// Fresh senders to spread them over.
    pub senders: usize,
    /// Concurrent HTTP connections sending.
    pub concurrency: usize,
    /// Target send rate in transactions per second; None sends as fast as the node answers.
    pub rate: Option<f64>,
    /// The funded key that pays for the senders.
    pub funder: PrivateKeySigner,
    /// Blocks the chain must move past the last one that included any of ours before what is
    /// still missing counts as lost.
    pub settle_blocks: u64,
    /// Bound on the whole run.
    pub timeout: Duration,
}

impl LoadConfig {
    fn check(&self) -> Result<()> {
        if self.txs == 0 || self.txs > MAX_TXS {
            return Err(LoadError::Config(format!("--txs must be between 1 and {MAX_TXS}")));
        }
        if self.senders == 0 || self.senders > self.txs {
            return Err(LoadError::Config("--senders must be between 1 and --txs".into()));
        }
        if self.concurrency == 0 || self.concurrency > 1024 {
            return Err(LoadError::Config("--concurrency must be between 1 and 1024".into()));
        }
        if self.rate.is_some_and(|rate| !(rate > 0.0 && rate.is_finite())) {
            return Err(LoadError::Config("--rate must be a positive number".into()));
        }
        Ok(())
    }
}

/// One pre-signed transfer.
struct Planned {
    hash: B256,
    raw: Bytes,
    sender: usize,
}

/// What the sending workers and the watcher share.
#[derive(Default)]
struct Progress {
    /// Send instants of acknowledged transactions, and those sent but not yet answered.
    sent: Mutex<HashMap<B256, Instant>>,
    /// Send-to-block latency of every sent transaction seen in a block, by hash.
    seen: Mutex<HashMap<B256, Duration>>,
    /// When the last of ours was seen in a block, and that block's number.
    last_inclusion: Mutex<Option<(Instant, u64)>>,
}

/// Runs a load against `config.rpc` and accounts for every transaction it acknowledged.
///
/// # Errors
///
/// A bad config, a node that cannot be reached during set-up, or funding that does not
/// complete. Refusals and losses during the run are not errors: they are in the report.
pub async fn run_load(config: LoadConfig) -> Result<LoadReport> {
    config.check()?;
    let deadline = Instant::now() + config.timeout;
    let rpc = Rpc::connect(&config.rpc)?;
    let chain_id = rpc.chain_id().await?;
    // Room for the base fee to rise under load (it moves by a few percent a block).
    let max_fee = rpc.gas_price().await?.saturating_mul(10).max(1_000_000_000);
    let per_sender = config.txs.div_ceil(config.senders);

    let seed = keccak256(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_be_bytes(),
    );
    let senders = (0..config.senders)
        .map(|i| sender_key(seed, i))
        .collect::<Result<Vec<PrivateKeySigner>>>()?;
    let allowance = U256::from(per_sender as u64)
        * U256::from(TRANSFER_GAS as u128 * max_fee + 1)
        * U256::from(2)
        + U256::from(10u128.pow(16));
    fund(&rpc, &config.funder, chain_id, max_fee, &senders, allowance, deadline).await?;
    tracing::info!(target: "loadgen", senders = senders.len(), "senders funded");

    let plan = presign(&senders, config.txs, chain_id, max_fee)?;
    let addresses: Vec<Address> = senders.iter().map(|key| key.address()).collect();
    let mut planned = vec![0u64; senders.len()];
    for tx in &plan {
        planned[tx.sender] += 1;
    }

    let progress = Arc::new(Progress::default());
    let stop_watch = Arc::new(AtomicBool::new(false));
    let first_block = rpc.block_number().await?;
    let watcher = tokio::spawn(watch_blocks(
        rpc.clone(),
        first_block + 1,
        progress.clone(),
        stop_watch.clone(),
    ));

    let started = Instant::now();
    let outcome = send_all(&config, plan, progress.clone(), started).await?;
    let send_duration = started.elapsed();
    tracing::info!(target: "loadgen", accepted = outcome.accepted.len(), refused = outcome.refused.len(), "sent");

    settle(&rpc, &config, &progress, &outcome.accepted, deadline).await;
    stop_watch.store(true, Ordering::Relaxed);
    let _ = watcher.await;

    // Accounting: receipts are the ground truth, not the watcher.
    let statuses = stream::iter(outcome.accepted.iter().map(|(hash, _)| {
        let rpc = rpc.clone();
        let hash = *hash;
        async move { (hash, rpc.receipt_status(hash).await) }
    }))
    .buffer_unordered(config.concurrency)
    .collect::<Vec<_>>()
    .await;
    let mut included = 0;
    let mut reverted = 0;
    let mut lost = Vec::new();
    for (hash, status) in statuses {
        match status? {
            Some(true) => included += 1,
            Some(false) => {
                included += 1;
                reverted += 1;
            }
            None => lost.push(hash),
        }
    }
    let mut still_pooled = 0;
    for hash in &lost {
        if rpc.knows_transaction(*hash).await? {
            still_pooled += 1;
        }
    }

    let mut acknowledged = vec![0u64; addresses.len()];
    for (_, sender) in &outcome.accepted {
        acknowledged[*sender] += 1;
    }
    // A send that got no answer may still have reached the node: a receipt says it did.
    let mut unanswered_mined = vec![0u64; addresses.len()];
    for (hash, sender, _) in &outcome.unanswered {
        if rpc.receipt_status(*hash).await?.is_some() {
            unanswered_mined[*sender] += 1;
        }
    }
    let mut nonces = Vec::with_capacity(addresses.len());
    for (i, address) in addresses.iter().enumerate() {
        nonces.push(SenderNonce {
            address: *address,
            planned: planned[i],
            acknowledged: acknowledged[i],
            unanswered_mined: unanswered_mined[i],
            final_nonce: rpc.nonce(*address, "latest").await?,
        });
    }

    let mut latencies: Vec<Duration> = {
        let seen = lock(&progress.seen);
        outcome.accepted.iter().filter_map(|(hash, _)| seen.get(hash).copied()).collect()
    };
    latencies.sort_unstable();
    let include_duration = lock(&progress.last_inclusion).map(|(at, _)| at.duration_since(started));
    Ok(LoadReport {
        sent: outcome.sent,
        accepted: outcome.accepted.iter().map(|(hash, _)| *hash).collect(),
        refused: outcome.refused,
        unanswered: outcome.unanswered.into_iter().map(|(_, _, message)| message).collect(),
        included,
        reverted,
        lost,
        still_pooled,
        send_duration,
        include_duration,
        latencies,
        senders: nonces,
    })
}

/// Sender `index` of a run: a key derived from the run's seed.
fn sender_key(seed: B256, index: usize) -> Result<PrivateKeySigner> {
    let mut material = seed.to_vec();
    material.extend_from_slice(&(index as u64).to_be_bytes());
    PrivateKeySigner::from_bytes(&keccak256(material))
        .map_err(|err| LoadError::Config(format!("sender key {index}: {err}")))
}

/// Funds every sender with `amount` from `funder` in one in-order burst and waits until the
/// funder's mined nonce covers them all.
async fn fund(
    rpc: &Rpc,
    funder: &PrivateKeySigner,
    chain_id: u64,
    max_fee: u128,
    senders: &[PrivateKeySigner],
    amount: U256,
    deadline: Instant,
) -> Result<()> {
    let start = rpc.nonce(funder.address(), "pending").await?;
    for (i, sender) in senders.iter().enumerate() {
        let tx = sign_eip1559(
            funder,
            TxFields {
                chain_id,
                nonce: start + i as u64,
                to: Some(sender.address()),
                value: amount,
                input: Bytes::new(),
                gas_limit: TRANSFER_GAS,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: TIP,
            },
        )
        .map_err(|err| LoadError::Config(format!("signing: {err}")))?;
        match rpc.send_raw(&tx.raw).await {
            Ok(_) => {}
            Err(SendError::Refused(message) | SendError::Transport(message)) => {
                return Err(LoadError::Rpc { method: "eth_sendRawTransaction", message });
            }
        }
    }
    let target = start + senders.len() as u64;
    while rpc.nonce(funder.address(), "latest").await? < target {
        if Instant::now() > deadline {
            return Err(LoadError::Timeout("waiting for the funding transfers".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Signs every transfer, on all cores: sender `i % senders` gets the `i / senders`-th nonce,
/// so the plan is nonce-major across senders.
fn presign(
    senders: &[PrivateKeySigner],
    txs: usize,
    chain_id: u64,
    max_fee: u128,
) -> Result<Vec<Planned>> {
    use rayon::prelude::*;
    (0..txs)
        .into_par_iter()
        .map(|i| {
            let sender = i % senders.len();
            let tx = sign_eip1559(
                &senders[sender],
                TxFields {
                    chain_id,
                    nonce: (i / senders.len()) as u64,
                    to: Some(SINK),
                    value: U256::from(1),
                    input: Bytes::new(),
                    gas_limit: TRANSFER_GAS,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: TIP,
                },
            )
            .map_err(|err| LoadError::Config(format!("signing: {err}")))?;
            Ok(Planned { hash: tx.hash, raw: tx.raw, sender })
        })
        .collect()
}

struct SendOutcome {
    sent: usize,
    /// Acknowledged hashes and their sender.
    accepted: Vec<(B256, usize)>,
    /// Refusals: the node's message.
    refused: Vec<String>,
    /// Sends that got no answer at all: hash, sender, what went wrong.
    unanswered: Vec<(B256, usize, String)>,
}

/// Sends the plan over `concurrency` connections. Worker `w` owns the senders `s` with
/// `s % concurrency == w`, so each sender's transactions leave in nonce order.
async fn send_all(
    config: &LoadConfig,
    plan: Vec<Planned>,
    progress: Arc<Progress>,
    started: Instant,
) -> Result<SendOutcome> {
    let workers = config.concurrency.min(config.senders);
    let mut queues: Vec<Vec<Planned>> = (0..workers).map(|_| Vec::new()).collect();
    for tx in plan {
        queues[tx.sender % workers].push(tx);
    }
    let ticket = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(workers);
    for queue in queues {
        let rpc = Rpc::connect(&config.rpc)?;
        let progress = progress.clone();
        let ticket = ticket.clone();
        let rate = config.rate;
        tasks.push(tokio::spawn(async move {
            let mut out = SendOutcome {
                sent: 0,
                accepted: Vec::new(),
                refused: Vec::new(),
                unanswered: Vec::new(),
            };
            for tx in queue {
                if let Some(rate) = rate {
                    let n = ticket.fetch_add(1, Ordering::Relaxed);
                    let due = started + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                // Recorded before the send: the block may be sealed before the answer arrives.
                lock(&progress.sent).insert(tx.hash, Instant::now());
                out.sent += 1;
                match rpc.send_raw(&tx.raw).await {
                    Ok(hash) if hash == tx.hash => out.accepted.push((hash, tx.sender)),
                    Ok(hash) => {
                        out.refused.push(format!("node answered hash {hash} for {}", tx.hash));
                    }
                    Err(SendError::Refused(message)) => out.refused.push(message),
                    Err(SendError::Transport(message)) => {
                        out.unanswered.push((tx.hash, tx.sender, message));
                    }
                }
            }
            out
        }));
    }
    let mut total =
        SendOutcome { sent: 0, accepted: Vec::new(), refused: Vec::new(), unanswered: Vec::new() };
    for task in tasks {
        let out = task.await.map_err(|err| LoadError::Config(format!("sender task: {err}")))?;
        total.sent += out.sent;
        total.accepted.extend(out.accepted);
        total.refused.extend(out.refused);
        total.unanswered.extend(out.unanswered);
    }
    Ok(total)
}

/// Reads every new block and records the latency of each of ours it holds.
async fn watch_blocks(rpc: Rpc, mut next: u64, progress: Arc<Progress>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match rpc.block_tx_hashes(next).await {
            Ok(Some(hashes)) => {
                let seen = Instant::now();
                let sent = lock(&progress.sent);
                let mut found = Vec::new();
                for hash in hashes {
                    if let Some(at) = sent.get(&hash) {
                        found.push((hash, seen.duration_since(*at)));
                    }
                }
                drop(sent);
                if !found.is_empty() {
                    lock(&progress.seen).extend(found);
                    *lock(&progress.last_inclusion) = Some((seen, next));
                }
                next += 1;
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::debug!(target: "loadgen", %err, "polling blocks"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until every acknowledged transaction was seen in a block, or the chain has moved
/// `settle_blocks` past the last block holding one of ours (or past the head at the end of
/// sending, if none was included), or the deadline.
async fn settle(
    rpc: &Rpc,
    config: &LoadConfig,
    progress: &Progress,
    accepted: &[(B256, usize)],
    deadline: Instant,
) {
    let head_after_send = rpc.block_number().await.unwrap_or_default();
    loop {
        let included = {
            let seen = lock(&progress.seen);
            accepted.iter().filter(|(hash, _)| seen.contains_key(hash)).count()
        };
        if included >= accepted.len() {
            return;
        }
        let last = lock(&progress.last_inclusion).map_or(head_after_send, |(_, n)| n);
        let head = rpc.block_number().await.unwrap_or_default();
        if head >= last.max(head_after_send) + config.settle_blocks {
            tracing::warn!(
                target: "loadgen",
                missing = accepted.len() - included,
                head,
                "the chain moved on without some acknowledged transactions"
            );
            return;
        }
        if Instant::now() > deadline {
            tracing::warn!(target: "loadgen", missing = accepted.len() - included, "timed out");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Locks a mutex, taking the data even if a worker panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
