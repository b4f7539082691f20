//! The batch poster: it commits every L2 block to L1 in the OP Stack wire format, so that
//! anyone can rebuild the chain from L1 alone.
//!
//! # Flow
//!
//! ```text
//! L2 blocks (in order, from an L2Source) -> channel (singular or span batches, RLP,
//!   zlib or brotli) -> frames cut to --batcher.max-l1-tx-size -> one frame per L1 tx,
//!   calldata to the batch inbox, signed by the batcher key -> receipt -> confirmations
//! ```
//!
//! # Data availability: calldata or blobs
//!
//! `--batcher.data-availability-type` takes op-batcher's names. `calldata` (the default) posts
//! each frame as a transaction's calldata. `blobs` cuts frames to one blob's capacity
//! (130 044 bytes with the version byte) and posts up to [`MAX_BLOBS_PER_TX`] of them per
//! type-3 transaction, each blob OP-encoded with its KZG commitment and proof in the sidecar;
//! the blob fee cap is twice the L1's `eth_blobBaseFee` (at least 1 gwei), and a replacement
//! doubles every fee cap, as geth's blob pool asks. `auto` decides per channel: blobs when the
//! L1 answers `eth_blobBaseFee` and a blob costs less than the same bytes as calldata (at the
//! EIP-7623 floor of 40 gas a byte, which compressed data pays), calldata otherwise. Blobs need
//! `--l1.beacon`, where a restarted batcher reads its blob batches back.
//!
//! # L2 blocks
//!
//! From an [`L2Source`]: the node's database when the batcher runs inside the sequencer
//! (`node --batcher`), or the sequencer's JSON-RPC ([`RpcL2Source`]) for `tributary batcher`.
//!
//! # State, and where it comes from
//!
//! The batcher keeps no database of its own. What L1 holds is the truth: on start, and again
//! after an L1 reorg takes away one of its transactions, it reads the batcher's transactions
//! to the inbox back from L1 (`resume.rs`) and finds the last L2 block inside a *complete*
//! channel. Posting resumes at the block after it. A channel that was cut off half-way (a
//! restart between frames) is never completed: its blocks go into a new channel, and
//! derivation drops the incomplete one at its timeout. So a restart leaves no gap and posts
//! no channel twice. Before reading, it waits (bounded) for its own pending L1 transactions to
//! be mined, so none of them completes an old channel behind its back.
//!
//! # Sending
//!
//! Up to `max_pending_tx` transactions are in flight at once (op-batcher's
//! `--max-pending-tx`), one frame each, on consecutive nonces: the L1 includes a sender's
//! transactions in nonce order, so frames land in the order they were cut, however many are
//! pending. One 120 KB transaction per L1 block carries about 1 500 transfers a second, so a
//! sequencer at 10 000 a second needs several per block. A transaction without a receipt
//! after `resubmit_after` is sent again with the same nonce and fees raised by
//! [`FEE_BUMP_PERCENT`] (a replacement). If one of our nonces was used by a transaction that is
//! none of ours, the frames after it would land out of order: the batcher starts over from what
//! L1 holds (as after a reorg). A frame counts as posted once its transaction is
//! `confirmations` blocks deep; they are settled in nonce order.
//!
//! # Safe and finalized L2 heads
//!
//! An L2 block is safe once the channel holding it is fully posted and confirmed, and
//! finalized once the L1 block holding the channel's last frame is at or below the L1's
//! `finalized` block. [`BatcherStatus`] reports both; the node serves them as the `safe` and
//! `finalized` tags.

mod batcher_tx;
mod channel;
mod resume;
mod source;

pub use batcher_tx::{DataAvailability, FEE_BUMP_PERCENT};
use batcher_tx::{Fees, MIN_BLOB_FEE_CAP, PendingFrame, PendingTx, blobs_cheaper};

pub use channel::{BatchType, BuiltChannel, ChannelBuilder, channel_id_for, span_config};
pub use resume::{PostedChannel, read_posted_channels};
pub use source::{L2Block, L2Source, RpcL2Source, SourceError};
pub use tributary_l1::MAX_BLOBS_PER_TX;

use alloy::{rpc::types::BlockNumberOrTag, signers::local::PrivateKeySigner};
use alloy_primitives::{Address, B256, U256};
use std::{collections::VecDeque, time::Duration};
use tokio::{sync::watch, time::Instant};
use tributary_chainspec::RollupConfig;
use tributary_l1::{BeaconClient, BlobTxFields, L1Client, L1Error, TxFields, sign_eip1559};
use tributary_protocol::{BLOB_MAX_DATA_SIZE, Compression};

/// Batcher errors. All but [`BatcherError::Source`] are temporary: the loop logs them and
/// tries again on the next tick.
#[derive(Debug, thiserror::Error)]
pub enum BatcherError {
    /// The L1 failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// Reading L2 blocks failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// Batcher settings.
#[derive(Debug, Clone)]
pub struct BatcherConfig {
    /// The rollup.
    pub rollup: RollupConfig,
    /// The batcher key; its address must be the rollup's batcher.
    pub key: PrivateKeySigner,
    /// Channel compression.
    pub compression: Compression,
    /// Batch version.
    pub batch_type: BatchType,
    /// Largest L1 transaction calldata (one frame per transaction).
    pub max_l1_tx_size: usize,
    /// Calldata, blobs, or the cheaper of the two per channel.
    pub data_availability: DataAvailability,
    /// Blobs per blob transaction at most (1 to [`MAX_BLOBS_PER_TX`]).
    pub max_blobs_per_tx: usize,
    /// The L1 beacon API, where blob batches are read back on a restart (required with blobs).
    pub l1_beacon: Option<String>,
    /// L1 blocks on top of a batcher transaction before it counts.
    pub confirmations: u64,
    /// Close a channel once the L1 head has moved this many blocks since it opened (0: post
    /// every new block at once).
    pub max_channel_duration: u64,
    /// Resubmit with a fee bump after this long without a receipt.
    pub resubmit_after: Duration,
    /// Batcher transactions in flight at most (at least 1).
    pub max_pending_tx: usize,
    /// How often the loop runs.
    pub poll_interval: Duration,
}

impl BatcherConfig {
    /// Default `--batcher.max-l1-tx-size` (op-batcher's).
    pub const DEFAULT_MAX_L1_TX_SIZE: usize = 120_000;
    /// Default `--batcher.confirmations`.
    pub const DEFAULT_CONFIRMATIONS: u64 = 1;
    /// Default `--batcher.max-channel-duration`.
    pub const DEFAULT_MAX_CHANNEL_DURATION: u64 = 1;
    /// Default `--batcher.resubmission-timeout`.
    pub const DEFAULT_RESUBMIT_AFTER: Duration = Duration::from_secs(12);
    /// Default `--batcher.poll-interval`.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
    /// Default `--batcher.target-num-frames`: blobs per transaction (op-batcher recommends 6
    /// for blobs).
    pub const DEFAULT_BLOBS_PER_TX: usize = MAX_BLOBS_PER_TX;
    /// Default `--batcher.max-pending-tx` (op-batcher's).
    pub const DEFAULT_MAX_PENDING_TX: usize = 1;
    /// `--batcher.max-pending-tx` of `node --dev` unless given: enough 120 KB frames per 1 s
    /// L1 block for the dev chain's 10 000 transfers a second.
    pub const DEV_MAX_PENDING_TX: usize = 8;
}

/// What the batcher has achieved, for RPC and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatcherStatus {
    /// The last L2 block whose channel is fully posted and confirmed.
    pub safe_l2: u64,
    /// The last L2 block whose channel is in a finalized L1 block.
    pub finalized_l2: u64,
    /// The L1 head the batcher last saw.
    pub l1_head: u64,
}

/// A transaction in flight.
#[derive(Debug)]
struct InFlight {
    tx: PendingTx,
    nonce: u64,
    hashes: Vec<B256>,
    fees: Fees,
    sent_at: Instant,
}

/// A batcher transaction in an L1 block, kept until final to notice reorgs.
#[derive(Debug, Clone)]
struct Included {
    tx: B256,
    block_number: u64,
    block_hash: B256,
    closes: Option<u64>,
}

/// The batch poster.
#[derive(Debug)]
pub struct Batcher<S> {
    l1: L1Client,
    beacon: Option<BeaconClient>,
    l2: S,
    config: BatcherConfig,
    l1_chain_id: Option<u64>,
    next_block: u64,
    needs_resume: bool,
    channel_opened_at: Option<u64>,
    /// The last channel closed full with blocks left over: the next one need not wait.
    backlog: bool,
    queue: VecDeque<PendingFrame>,
    /// On consecutive nonces, oldest first.
    in_flight: VecDeque<InFlight>,
    included: Vec<Included>,
    status: watch::Sender<BatcherStatus>,
    ticks: u64,
}

impl<S: L2Source> Batcher<S> {
    /// A batcher posting `l2`'s blocks to `l1`, and the receiver of its status.
    ///
    /// # Errors
    ///
    /// Blobs (or `auto`) without a usable `l1_beacon`.
    pub fn new(
        l1: L1Client,
        l2: S,
        config: BatcherConfig,
    ) -> Result<(Self, watch::Receiver<BatcherStatus>), BatcherError> {
        let beacon = match (&config.l1_beacon, config.data_availability) {
            (Some(url), _) => Some(BeaconClient::new(url)?),
            (None, DataAvailability::Calldata) => None,
            (None, _) => {
                return Err(BatcherError::L1(L1Error::BadUrl(
                    "batches in blobs need --l1.beacon, to read them back after a restart".into(),
                )));
            }
        };
        let (status, receiver) = watch::channel(BatcherStatus::default());
        let next_block = config.rollup.genesis.l2.number + 1;
        let batcher = Self {
            l1,
            beacon,
            l2,
            config,
            l1_chain_id: None,
            next_block,
            needs_resume: true,
            channel_opened_at: None,
            backlog: false,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            included: Vec::new(),
            status,
            ticks: 0,
        };
        Ok((batcher, receiver))
    }

    /// The batcher's L1 address.
    pub fn address(&self) -> Address {
        self.config.key.address()
    }

    /// Runs until `stop` resolves.
    ///
    /// # Errors
    ///
    /// Only when the L2 source fails; L1 trouble is logged and retried.
    pub async fn run(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), BatcherError> {
        tokio::pin!(stop);
        tracing::info!(
            target: "batcher",
            address = %self.address(),
            inbox = %self.config.rollup.batch_inbox_address,
            batch_type = ?self.config.batch_type,
            compression = ?self.config.compression,
            data_availability = ?self.config.data_availability,
            "batch poster started"
        );
        if self.address() != self.config.rollup.genesis.system_config.batcher_addr {
            tracing::warn!(
                target: "batcher",
                key = %self.address(),
                rollup = %self.config.rollup.genesis.system_config.batcher_addr,
                "the batcher key is not the rollup's batcher: derivation will ignore its batches"
            );
        }
        let mut last_error: Option<String> = None;
        loop {
            match self.tick().await {
                Ok(()) => last_error = None,
                Err(BatcherError::Source(err)) => return Err(BatcherError::Source(err)),
                Err(err) => {
                    let message = err.to_string();
                    if last_error.as_deref() != Some(message.as_str()) {
                        tracing::warn!(target: "batcher", %message, "will retry");
                    }
                    last_error = Some(message);
                }
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        tracing::info!(target: "batcher", next_block = self.next_block, "batch poster stopped");
        Ok(())
    }

    /// One round: resume if needed, watch for reorgs, settle the transaction in flight, send
    /// the next frame, open a new channel.
    ///
    /// # Errors
    ///
    /// See [`BatcherError`].
    pub async fn tick(&mut self) -> Result<(), BatcherError> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.l1_chain_id.is_none() {
            self.l1_chain_id = Some(self.l1.chain_id().await?);
        }
        if self.needs_resume {
            self.resume().await?;
        }
        let l1_head = self.l1.block_number().await?;
        self.status.send_modify(|status| status.l1_head = l1_head);
        if self.ticks % 20 == 1 {
            let balance = self.l1.balance(self.address()).await?;
            metrics::gauge!("tributary_batcher_balance_wei").set(f64::from(balance));
        }
        if self.reorged().await? {
            return Ok(());
        }
        self.settle(l1_head).await?;
        if self.needs_resume {
            return Ok(());
        }
        let room = |this: &Self| this.in_flight.len() < this.config.max_pending_tx.max(1);
        if self.queue.is_empty() && room(self) {
            self.open_channel(l1_head).await?;
        }
        while room(self)
            && let Some(tx) = self.next_tx()
        {
            self.send_new(tx).await?;
            if self.queue.is_empty() && room(self) {
                // More blocks may be waiting: the next channel goes out in the same tick.
                self.open_channel(l1_head).await?;
            }
        }
        self.update_finalized().await?;
        let open = usize::from(!self.queue.is_empty() || !self.in_flight.is_empty());
        metrics::gauge!("tributary_batcher_channels_open").set(open as f64);
        metrics::gauge!("tributary_batcher_txs_in_flight").set(self.in_flight.len() as f64);
        Ok(())
    }

    /// Reads what L1 holds and continues after it.
    async fn resume(&mut self) -> Result<(), BatcherError> {
        // Let our own pending transactions land first, so the read below sees them.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let latest = self.l1.nonce(self.address(), BlockNumberOrTag::Latest).await?;
            let pending = self.l1.nonce(self.address(), BlockNumberOrTag::Pending).await?;
            if latest >= pending || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let channels = read_posted_channels(
            &self.l1,
            self.beacon.as_ref(),
            &self.config.rollup,
            self.address(),
        )
        .await?;
        let rollup = &self.config.rollup;
        let genesis = rollup.genesis.l2.number;
        let last_posted = channels.iter().map(|c| c.last_l2_block).max().unwrap_or(genesis);
        // Only channels `confirmations` deep are safe, as on the normal path; shallower ones
        // become safe when the next channel lands.
        let l1_head = self.l1.block_number().await?;
        let confirmations = self.config.confirmations;
        let last = channels
            .iter()
            .filter(|c| {
                l1_head.saturating_sub(c.l1_block_number).saturating_add(1) >= confirmations
            })
            .map(|c| c.last_l2_block)
            .max()
            .unwrap_or(genesis);
        self.next_block = last_posted.saturating_add(1);
        self.included = channels
            .iter()
            .map(|c| Included {
                tx: c.closing_tx,
                block_number: c.l1_block_number,
                block_hash: c.l1_block_hash,
                closes: Some(c.last_l2_block),
            })
            .collect();
        self.queue.clear();
        self.in_flight.clear();
        self.channel_opened_at = None;
        self.backlog = false;
        self.needs_resume = false;
        self.status.send_modify(|status| {
            status.safe_l2 = last;
            status.finalized_l2 = status.finalized_l2.min(last);
        });
        tracing::info!(
            target: "batcher",
            channels = channels.len(),
            next_block = self.next_block,
            "resumed from the batches already on L1"
        );
        Ok(())
    }

    /// Whether a reorg took away one of our included transactions; if so, start over from L1.
    async fn reorged(&mut self) -> Result<bool, BatcherError> {
        // A block hash commits to all its ancestors: if the newest block holding one of our
        // transactions is still canonical, so are the older ones.
        let Some(newest) = self.included.iter().max_by_key(|i| i.block_number) else {
            return Ok(false);
        };
        let block = self.l1.block(BlockNumberOrTag::Number(newest.block_number), false).await?;
        if block.is_some_and(|b| b.header.hash == newest.block_hash) {
            return Ok(false);
        }
        tracing::warn!(
            target: "batcher",
            tx = %newest.tx,
            l1_block = newest.block_number,
            "an L1 reorg dropped a batcher transaction; posting again from what L1 holds"
        );
        metrics::counter!("tributary_batcher_reorgs_total").increment(1);
        self.needs_resume = true;
        self.resume().await?;
        Ok(true)
    }

    /// Checks the transactions in flight, oldest first: included deep enough, stuck, or
    /// their nonce taken by someone else.
    async fn settle(&mut self, l1_head: u64) -> Result<(), BatcherError> {
        if self.in_flight.is_empty() {
            return Ok(());
        }
        // The nonce first: until it passes a transaction's, none of its attempts is mined and
        // there is no receipt to look up. Looked up after the receipts, a transaction mined in
        // between would look like a nonce used elsewhere.
        let latest = self.l1.nonce(self.address(), BlockNumberOrTag::Latest).await?;
        while let Some(front) = self.in_flight.front() {
            if latest <= front.nonce {
                break;
            }
            let mut found = None;
            for hash in front.hashes.iter().rev() {
                let Some(receipt) = self.l1.receipt(*hash).await? else { continue };
                if let (Some(number), Some(block_hash)) = (receipt.block_number, receipt.block_hash)
                {
                    found = Some((*hash, number, block_hash));
                    break;
                }
            }
            let Some((hash, number, block_hash)) = found else {
                // The nonce went to a transaction that is none of ours, so the frames after it
                // may land out of order: start over from what L1 holds.
                tracing::warn!(
                    target: "batcher",
                    nonce = front.nonce,
                    "nonce used elsewhere; posting again from what L1 holds"
                );
                self.needs_resume = true;
                return Ok(());
            };
            let depth = l1_head.saturating_sub(number).saturating_add(1);
            if depth < self.config.confirmations {
                break;
            }
            let Some(done) = self.in_flight.pop_front() else { break };
            metrics::counter!("tributary_batcher_bytes_posted_total")
                .increment(done.tx.bytes() as u64);
            metrics::counter!("tributary_batcher_txs_posted_total").increment(1);
            if done.tx.blob {
                metrics::counter!("tributary_batcher_blobs_posted_total")
                    .increment(done.tx.parts.len() as u64);
            }
            tracing::info!(
                target: "batcher",
                tx = %hash,
                l1_block = number,
                bytes = done.tx.bytes(),
                blobs = if done.tx.blob { done.tx.parts.len() } else { 0 },
                closes_channel_at = done.tx.closes(),
                "batch posted"
            );
            self.included.push(Included {
                tx: hash,
                block_number: number,
                block_hash,
                closes: done.tx.closes(),
            });
            if let Some(last) = done.tx.closes() {
                self.status.send_modify(|status| status.safe_l2 = status.safe_l2.max(last));
            }
        }
        // Those still unmined past the timeout go again with a fee bump, same nonce.
        for index in 0..self.in_flight.len() {
            let stuck = self.in_flight.get(index).is_some_and(|tx| {
                tx.nonce >= latest && tx.sent_at.elapsed() >= self.config.resubmit_after
            });
            if !stuck {
                continue;
            }
            let Some(old) = self.in_flight.get(index) else { break };
            tracing::info!(
                target: "batcher",
                nonce = old.nonce,
                tries = old.hashes.len(),
                "no receipt yet; resubmitting with a fee bump"
            );
            metrics::counter!("tributary_batcher_resubmissions_total").increment(1);
            let fees = old.fees.bumped();
            let (tx, nonce, hashes) = (old.tx.clone(), old.nonce, old.hashes.clone());
            let (replacement, sent) = self.sign_and_send(tx, nonce, fees, hashes).await?;
            if let Some(slot) = self.in_flight.get_mut(index) {
                *slot = replacement;
            }
            sent?;
        }
        Ok(())
    }

    /// The next transaction's frames from the queue: one calldata frame, or consecutive blob
    /// frames up to `max_blobs_per_tx`.
    fn next_tx(&mut self) -> Option<PendingTx> {
        let first = self.queue.pop_front()?;
        let blob = first.blob;
        let mut tx = PendingTx { parts: vec![first], blob };
        if blob {
            let most = self.config.max_blobs_per_tx.clamp(1, MAX_BLOBS_PER_TX);
            while tx.parts.len() < most
                && let Some(next) = self.queue.front()
                && next.blob
            {
                let Some(next) = self.queue.pop_front() else { break };
                tx.parts.push(next);
            }
        }
        Some(tx)
    }

    /// Sends `tx` on the nonce after the last one in flight (or the mined count when none
    /// is), at the L1's current fees. When the L1 fails before anything went out, the frames
    /// go back to the front of the queue, in order, for the next tick.
    async fn send_new(&mut self, tx: PendingTx) -> Result<(), BatcherError> {
        let (nonce, fees) = match self.nonce_and_fees(&tx).await {
            Ok(prepared) => prepared,
            Err(err) => {
                for part in tx.parts.into_iter().rev() {
                    self.queue.push_front(part);
                }
                return Err(err);
            }
        };
        let (in_flight, sent) = self.sign_and_send(tx, nonce, fees, Vec::new()).await?;
        // Kept in flight even when the send failed: the next tick checks for a receipt (the L1
        // may have taken it after all) and resubmits after the timeout.
        self.in_flight.push_back(in_flight);
        sent
    }

    /// The nonce and fees for `tx`.
    async fn nonce_and_fees(&self, tx: &PendingTx) -> Result<(u64, Fees), BatcherError> {
        let inbox = self.config.rollup.batch_inbox_address;
        let nonce = match self.in_flight.back() {
            Some(last) => last.nonce.saturating_add(1),
            // None in flight: the mined count. Taking it (not the pending count) replaces any
            // orphan of ours still in the mempool instead of queueing behind it.
            None => self.l1.nonce(self.address(), BlockNumberOrTag::Latest).await?,
        };
        let head = self.l1.block(BlockNumberOrTag::Latest, false).await?;
        let base_fee = head.and_then(|b| b.header.base_fee_per_gas).unwrap_or(1_000_000_000);
        let tip = self.l1.max_priority_fee().await?;
        let max_fee = u128::from(base_fee).saturating_mul(2).saturating_add(tip);
        let fees = if tx.blob {
            let blob_fee = self.l1.blob_base_fee().await?.saturating_mul(2).max(MIN_BLOB_FEE_CAP);
            // No calldata to an account without code: the intrinsic gas is all it uses.
            Fees { max_fee, tip, gas_limit: 21_000, blob_fee: Some(blob_fee) }
        } else {
            let data = tx.payloads().into_iter().next().unwrap_or_default();
            let gas = self.l1.estimate_gas(self.address(), Some(inbox), U256::ZERO, &data).await?;
            Fees { max_fee, tip, gas_limit: gas.saturating_mul(11) / 10, blob_fee: None }
        };
        Ok((nonce, fees))
    }

    /// Signs and sends `tx` at `nonce`; the attempt (its hash added to `hashes`) and whether
    /// the L1 took it.
    async fn sign_and_send(
        &self,
        tx: PendingTx,
        nonce: u64,
        fees: Fees,
        mut hashes: Vec<B256>,
    ) -> Result<(InFlight, Result<(), BatcherError>), BatcherError> {
        let chain_id = match self.l1_chain_id {
            Some(id) => id,
            None => self.l1.chain_id().await?,
        };
        let to = self.config.rollup.batch_inbox_address;
        let signed = match fees.blob_fee {
            Some(blob_fee) => tributary_l1::sign_blob_tx(
                &self.config.key,
                BlobTxFields {
                    chain_id,
                    nonce,
                    to,
                    gas_limit: fees.gas_limit,
                    max_fee_per_gas: fees.max_fee,
                    max_priority_fee_per_gas: fees.tip,
                    max_fee_per_blob_gas: blob_fee,
                    payloads: tx.payloads(),
                },
            )
            .map_err(|err| BatcherError::Sign(err.to_string()))?,
            None => sign_eip1559(
                &self.config.key,
                TxFields {
                    chain_id,
                    nonce,
                    to: Some(to),
                    value: U256::ZERO,
                    input: tx.payloads().into_iter().next().unwrap_or_default(),
                    gas_limit: fees.gas_limit,
                    max_fee_per_gas: fees.max_fee,
                    max_priority_fee_per_gas: fees.tip,
                },
            )
            .map_err(|err| BatcherError::Sign(err.to_string()))?,
        };
        hashes.push(signed.hash);
        let sent = self.l1.send_raw(&signed.raw).await.map(|_| ()).map_err(BatcherError::from);
        if sent.is_ok() {
            tracing::debug!(target: "batcher", tx = %signed.hash, nonce, blob = tx.blob, "sent");
        }
        let in_flight = InFlight { tx, nonce, hashes, fees, sent_at: Instant::now() };
        Ok((in_flight, sent))
    }

    /// Whether the next channel goes in blobs: always with `blobs`, never with `calldata`,
    /// and with `auto` when the L1 has blobs and a full blob costs less than its bytes as
    /// calldata at the current fees.
    async fn channel_in_blobs(&self) -> Result<bool, BatcherError> {
        match self.config.data_availability {
            DataAvailability::Calldata => Ok(false),
            DataAvailability::Blobs => Ok(true),
            DataAvailability::Auto => {
                let Ok(blob_base_fee) = self.l1.blob_base_fee().await else { return Ok(false) };
                let head = self.l1.block(BlockNumberOrTag::Latest, false).await?;
                let base_fee = head.and_then(|b| b.header.base_fee_per_gas).unwrap_or_default();
                Ok(blobs_cheaper(u128::from(base_fee), blob_base_fee))
            }
        }
    }

    /// Builds the next channel when there are blocks to post and the channel has waited long
    /// enough.
    async fn open_channel(&mut self, l1_head: u64) -> Result<(), BatcherError> {
        let l2_head = self.l2.head().await?;
        if self.next_block > l2_head {
            self.channel_opened_at = None;
            return Ok(());
        }
        let opened = *self.channel_opened_at.get_or_insert(l1_head);
        // The wait lets a channel fill; with a backlog the blocks are there already.
        if !self.backlog && l1_head < opened.saturating_add(self.config.max_channel_duration) {
            return Ok(());
        }
        let blob = self.channel_in_blobs().await?;
        // A blob frame takes a whole blob (the version byte included).
        let frame_size = if blob { BLOB_MAX_DATA_SIZE } else { self.config.max_l1_tx_size };
        let mut builder = ChannelBuilder::new(
            &self.config.rollup,
            self.config.batch_type,
            self.config.compression,
            frame_size,
        );
        let mut number = self.next_block;
        while number <= l2_head && !builder.is_full() {
            let Some(block) = self.l2.block(number).await? else { break };
            builder.add_block(block)?;
            number = number.saturating_add(1);
        }
        self.backlog = builder.is_full() && number <= l2_head;
        let Some(built) = builder.finish(channel_id_for(self.address(), self.next_block))? else {
            return Ok(());
        };
        tracing::info!(
            target: "batcher",
            first = self.next_block,
            last = built.last_block,
            frames = built.frames.len(),
            bytes = built.compressed_len,
            blobs = blob,
            "channel built"
        );
        metrics::counter!("tributary_batcher_channels_total").increment(1);
        let count = built.frames.len();
        for (i, data) in built.frames.into_iter().enumerate() {
            let closes = (i + 1 == count).then_some(built.last_block);
            self.queue.push_back(PendingFrame { data, closes, blob });
        }
        self.next_block = built.last_block.saturating_add(1);
        self.channel_opened_at = None;
        Ok(())
    }

    /// Moves the finalized L2 head with the L1's finalized block, and forgets transactions
    /// that no reorg can take any more.
    async fn update_finalized(&mut self) -> Result<(), BatcherError> {
        if self.included.is_empty() {
            return Ok(());
        }
        let Some(finalized) = self.l1.block(BlockNumberOrTag::Finalized, false).await? else {
            return Ok(());
        };
        let finalized = finalized.header.number;
        let mut finalized_l2 = None;
        self.included.retain(|included| {
            if included.block_number <= finalized {
                if let Some(last) = included.closes {
                    finalized_l2 = Some(finalized_l2.unwrap_or(0).max(last));
                }
                false
            } else {
                true
            }
        });
        if let Some(last) = finalized_l2 {
            self.status.send_modify(|status| {
                status.finalized_l2 = status.finalized_l2.max(last).min(status.safe_l2)
            });
        }
        Ok(())
    }
}

/// Returns an error as temporary if it is one; used by callers that classify.
impl BatcherError {
    /// Whether retrying later may help.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, Self::Source(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames taken for a transaction that never went out (the L1 failed while its nonce and
    /// fees were read) are back at the front of the queue, in order, closing marks kept;
    /// blob frames are grouped up to the per-transaction limit.
    #[tokio::test]
    async fn frames_of_a_transaction_that_never_went_out_are_queued_again() {
        let key = alloy::signers::local::PrivateKeySigner::random();
        let rollup = crate::channel::tests::rollup();
        // An L1 that knows no nonces: every `eth_getTransactionCount` fails.
        let url = tributary_l1::serve_test_l1(Vec::new(), Vec::new()).await;
        let config = BatcherConfig {
            rollup,
            key,
            compression: Compression::Brotli,
            batch_type: BatchType::Span,
            max_l1_tx_size: BatcherConfig::DEFAULT_MAX_L1_TX_SIZE,
            data_availability: DataAvailability::Blobs,
            max_blobs_per_tx: 2,
            l1_beacon: Some(url.clone()),
            confirmations: 1,
            max_channel_duration: 1,
            resubmit_after: BatcherConfig::DEFAULT_RESUBMIT_AFTER,
            max_pending_tx: 1,
            poll_interval: BatcherConfig::DEFAULT_POLL_INTERVAL,
        };
        let l2 = RpcL2Source::new("http://127.0.0.1:1").unwrap();
        let (mut batcher, _) = Batcher::new(L1Client::new(&url).unwrap(), l2, config).unwrap();
        let frame = |byte: u8, closes: Option<u64>| PendingFrame {
            data: alloy_primitives::Bytes::from(vec![byte; 10]),
            closes,
            blob: true,
        };
        batcher.queue.extend([frame(1, None), frame(2, Some(6)), frame(3, Some(12))]);
        let tx = batcher.next_tx().unwrap();
        assert_eq!((tx.parts.len(), tx.closes()), (2, Some(6)), "two blobs at most");
        assert!(batcher.send_new(tx).await.is_err());
        assert!(batcher.in_flight.is_empty());
        let queued: Vec<(u8, Option<u64>)> =
            batcher.queue.iter().map(|f| (f.data[0], f.closes)).collect();
        assert_eq!(queued, vec![(1, None), (2, Some(6)), (3, Some(12))]);
    }
}
