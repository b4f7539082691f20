//! The pipeline: L1 blocks in, in order; payload attributes for the next safe block out.

use crate::{
    L1Block, L2BlockInfo, L2Chain, PayloadAttributes,
    batches::{BatchContext, Validity, check_singular, check_span},
    channels::{ChannelAssembler, frames_of},
};
use alloy_primitives::{B256, Bytes};
use std::collections::VecDeque;
use tributary_chainspec::{BlockId, RollupConfig};
use tributary_protocol::{
    Batch, BatchReader, ChannelId, SingularBatch, SpanBatchConfig, decompress,
};

/// Why derivation cannot go on from where it is. Each one means the same to the caller: the
/// L1 or the safe chain is not what the pipeline was built on, so find a safe head whose L1
/// origin is canonical again and [`Pipeline::reset`] from there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    /// The pushed L1 block does not extend the pipeline's origin: the L1 reorganized.
    #[error("L1 block {number} ({hash}) does not extend the origin {origin:?}")]
    L1Reorg {
        /// The block's number.
        number: u64,
        /// The block's hash.
        hash: alloy_primitives::B256,
        /// The pipeline's origin.
        origin: BlockId,
    },
    /// The safe head does not fit the L1 blocks the pipeline holds.
    #[error("the safe head does not fit the L1 chain: {0}")]
    SafeHeadMismatch(String),
    /// Nothing to derive from: [`Pipeline::reset`] was never called.
    #[error("the pipeline has no L1 origin; reset it first")]
    NotStarted,
}

/// [`Pipeline::take_read_transactions`] holds at most about this many.
const MAX_READ_TRANSACTIONS: usize = 1 << 16;

/// The derivation pipeline (Holocene): L1 retrieval, frame queue, channel assembler, channel
/// reader, batch stage and attributes, pure and single-threaded. The caller brings the I/O:
/// it pushes L1 blocks in order and executes the attributes it gets back.
#[derive(Debug)]
pub struct Pipeline {
    rollup: RollupConfig,
    span_config: SpanBatchConfig,
    /// The L1 block being read.
    origin: Option<L1Block>,
    /// L1 blocks pushed past the origin, already read into channels, oldest first.
    ahead: VecDeque<ReadL1Block>,
    /// The batch stage's L1 blocks: from the safe head's origin to the current origin.
    window: Vec<L1Block>,
    /// The origin the window last took in.
    window_origin: Option<u64>,
    /// Channels the origin completed, not yet taken by the batch stage.
    channels: VecDeque<VecDeque<Batch>>,
    assembler: ChannelAssembler,
    /// Batches of the channel being taken.
    batches: VecDeque<Batch>,
    /// Blocks of the current span batch not yet taken.
    span: VecDeque<SingularBatch>,
    /// Transactions of the batches read from channels since the caller last took them.
    read_transactions: Vec<Bytes>,
}

/// An L1 block through the channel stages: the batches of each channel it completes.
#[derive(Debug)]
struct ReadL1Block {
    block: L1Block,
    channels: VecDeque<VecDeque<Batch>>,
}

impl Pipeline {
    /// A pipeline for `rollup`, not started: call [`Pipeline::reset`].
    pub fn new(rollup: RollupConfig) -> Self {
        let span_config = SpanBatchConfig {
            genesis_timestamp: rollup.genesis.l2_time,
            block_time: rollup.block_time,
            chain_id: rollup.l2_chain_id,
        };
        Self {
            rollup,
            span_config,
            origin: None,
            ahead: VecDeque::new(),
            window: Vec::new(),
            window_origin: None,
            channels: VecDeque::new(),
            assembler: ChannelAssembler::default(),
            batches: VecDeque::new(),
            span: VecDeque::new(),
            read_transactions: Vec::new(),
        }
    }

    /// The transactions of every batch read from a channel since the last call, in channel
    /// order: most will be in blocks soon, so the caller can recover their senders ahead of
    /// time, on another core, while earlier blocks execute. Channels are read when the L1
    /// block that completes them is pushed, so a caller that pushes L1 blocks ahead of the
    /// origin gets a channel's transactions before the blocks of the channels before it are
    /// built.
    pub fn take_read_transactions(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.read_transactions)
    }

    /// The rollup config.
    pub fn rollup(&self) -> &RollupConfig {
        &self.rollup
    }

    /// The L1 block to start from for safe head `safe`: one channel timeout before its
    /// origin, so a channel opened there and completed later is read whole.
    pub fn start_l1_number(&self, safe: &L2BlockInfo) -> u64 {
        safe.l1_origin
            .number
            .saturating_sub(self.rollup.channel_timeout)
            .max(self.rollup.genesis.l1.number)
    }

    /// Starts over from L1 block `start` (see [`Pipeline::start_l1_number`]), forgetting every
    /// frame, channel and batch.
    pub fn reset(&mut self, start: L1Block) {
        self.ahead.clear();
        self.channels.clear();
        self.assembler.clear();
        self.batches.clear();
        self.span.clear();
        self.read_transactions.clear();
        self.window.clear();
        self.window_origin = None;
        let read = self.read(start);
        self.load(read);
    }

    /// The L1 block being read.
    pub fn origin(&self) -> Option<BlockId> {
        self.origin.as_ref().map(L1Block::id)
    }

    /// The newest L1 block the pipeline holds: the last one pushed, or the origin.
    pub fn newest_l1(&self) -> Option<BlockId> {
        self.ahead.back().map(|read| read.block.id()).or_else(|| self.origin())
    }

    /// L1 blocks pushed and not yet the origin.
    pub fn queued_l1(&self) -> usize {
        self.ahead.len()
    }

    /// Takes the next L1 block, which must be the child of the newest one held
    /// ([`Pipeline::newest_l1`]). It is read into channels now, and becomes the origin when
    /// the blocks before it are used up: push whenever the L1 has a block (ahead of need, so
    /// channels are read early), and at the latest when [`Pipeline::next`] returned `None`.
    ///
    /// # Errors
    ///
    /// [`DeriveError::L1Reorg`] when it is not; [`DeriveError::NotStarted`] before a reset.
    pub fn push_l1(&mut self, block: L1Block) -> Result<(), DeriveError> {
        let newest = self.newest_l1().ok_or(DeriveError::NotStarted)?;
        if block.parent_hash != newest.hash || Some(block.number) != newest.number.checked_add(1) {
            return Err(DeriveError::L1Reorg {
                number: block.number,
                hash: block.hash,
                origin: newest,
            });
        }
        let read = self.read(block);
        self.ahead.push_back(read);
        Ok(())
    }

    /// Makes `read` the origin.
    fn load(&mut self, read: ReadL1Block) {
        self.channels = read.channels;
        self.origin = Some(read.block);
    }

    /// L1 retrieval, frame queue, channel assembler and channel reader over `block`: the
    /// batches of every channel it completes. Those stages depend on the L1 alone (not on the
    /// safe head), so they run when the block is pushed, in push order.
    fn read(&mut self, block: L1Block) -> ReadL1Block {
        self.assembler.expire(block.number, self.rollup.channel_timeout);
        let batcher = self.rollup.genesis.system_config.batcher_addr;
        let mut channels = VecDeque::new();
        for frame in frames_of(&block, self.rollup.batch_inbox_address, batcher) {
            let Some((id, data)) = self.assembler.add(frame, block.number) else { continue };
            let batches = self.read_channel(id, &data);
            if !batches.is_empty() {
                channels.push_back(batches);
            }
        }
        ReadL1Block { block, channels }
    }

    /// The batches of a complete channel's data, noting their transactions for
    /// [`Pipeline::take_read_transactions`].
    fn read_channel(&mut self, id: ChannelId, data: &[u8]) -> VecDeque<Batch> {
        let mut batches = VecDeque::new();
        let raw = match decompress(data) {
            Ok(raw) => raw,
            Err(err) => {
                tracing::debug!(target: "derive::channel", ?id, %err, "bad channel");
                return batches;
            }
        };
        // A batch that does not decode ends the channel; those before it count.
        for batch in BatchReader::new(&raw, self.span_config) {
            match batch {
                Ok(batch) => {
                    // A hint, kept bounded for callers that never take it.
                    if self.read_transactions.len() > MAX_READ_TRANSACTIONS {
                        self.read_transactions.clear();
                    }
                    match &batch {
                        Batch::Singular(single) => {
                            self.read_transactions.extend(single.transactions.iter().cloned())
                        }
                        Batch::Span(span) => self.read_transactions.extend(
                            span.blocks.iter().flat_map(|block| block.transactions.iter().cloned()),
                        ),
                    }
                    batches.push_back(batch);
                }
                Err(err) => {
                    tracing::debug!(target: "derive::channel", ?id, %err, "bad batch");
                    break;
                }
            }
        }
        batches
    }

    /// The attributes of the block after `safe`, or None when the L1 blocks held have
    /// nothing more for it: push the next L1 block and ask again. An origin whose data is
    /// used up gives way to the next L1 block pushed.
    ///
    /// # Errors
    ///
    /// A [`DeriveError`]: reset the pipeline.
    pub fn next(
        &mut self,
        safe: &L2BlockInfo,
        chain: &impl L2Chain,
    ) -> Result<Option<PayloadAttributes>, DeriveError> {
        loop {
            if let Some(attrs) = self.next_from_origin(safe, chain)? {
                return Ok(Some(attrs));
            }
            match self.ahead.pop_front() {
                Some(read) => self.load(read),
                None => return Ok(None),
            }
        }
    }

    /// [`Pipeline::next`] within the current origin.
    fn next_from_origin(
        &mut self,
        safe: &L2BlockInfo,
        chain: &impl L2Chain,
    ) -> Result<Option<PayloadAttributes>, DeriveError> {
        let origin = self.origin.clone().ok_or(DeriveError::NotStarted)?;
        self.update_window(&origin, safe);
        if origin.number <= safe.l1_origin.number {
            // Behind the safe head (after a reset): everything read here is already safe.
            while self.next_batch().is_some() {}
            return Ok(None);
        }
        self.check_window(safe)?;
        loop {
            let batch = match self.span.pop_front() {
                Some(mut batch) => {
                    batch.parent_hash = safe.hash;
                    batch
                }
                None => match self.next_batch() {
                    Some(Batch::Singular(batch)) => batch,
                    Some(Batch::Span(span)) => {
                        self.take_span(&span, &origin, safe, chain);
                        continue;
                    }
                    None => return self.empty_batch(&origin, safe),
                },
            };
            let ctx = self.context(safe, origin.number);
            match check_singular(&ctx, &batch) {
                Validity::Accept => return self.attributes(batch, safe, origin.id()).map(Some),
                Validity::Past | Validity::Undecided => {}
                Validity::Drop(reason) => self.flush(&reason, origin.number),
            }
        }
    }

    fn context<'a>(&'a self, safe: &'a L2BlockInfo, inclusion: u64) -> BatchContext<'a> {
        BatchContext { rollup: &self.rollup, safe, window: &self.window, inclusion }
    }

    /// Takes the new origin into the window and drops what the safe head has left behind.
    fn update_window(&mut self, origin: &L1Block, safe: &L2BlockInfo) {
        if self.window_origin != Some(origin.number) {
            if origin.number >= safe.l1_origin.number {
                self.window.push(origin.clone());
            } else {
                self.window.clear();
            }
            self.window_origin = Some(origin.number);
        }
        let keep_from = self.window.partition_point(|block| block.number < safe.l1_origin.number);
        self.window.drain(..keep_from);
    }

    fn check_window(&self, safe: &L2BlockInfo) -> Result<(), DeriveError> {
        let Some(first) = self.window.first() else {
            return Err(DeriveError::SafeHeadMismatch("no L1 blocks from its origin on".into()));
        };
        let fits = (first.number == safe.l1_origin.number && first.hash == safe.l1_origin.hash)
            || Some(first.number) == safe.l1_origin.number.checked_add(1);
        if !fits || self.window.len() < 2 {
            return Err(DeriveError::SafeHeadMismatch(format!(
                "origin {:?} against L1 blocks from {} ({} held)",
                safe.l1_origin,
                first.number,
                self.window.len()
            )));
        }
        Ok(())
    }

    /// The next batch of the current origin's data, or None when it is used up.
    fn next_batch(&mut self) -> Option<Batch> {
        loop {
            if let Some(batch) = self.batches.pop_front() {
                return Some(batch);
            }
            self.batches = self.channels.pop_front()?;
        }
    }

    /// Checks a span batch's prefix and queues its blocks past the safe head.
    fn take_span(
        &mut self,
        span: &tributary_protocol::SpanBatch,
        origin: &L1Block,
        safe: &L2BlockInfo,
        chain: &impl L2Chain,
    ) {
        let ctx = self.context(safe, origin.number);
        match check_span(&ctx, span, chain) {
            Validity::Accept => {}
            Validity::Past | Validity::Undecided => return,
            Validity::Drop(reason) => return self.flush(&reason, origin.number),
        }
        // Blocks the safe chain already has may name epochs older than the window: they are
        // skipped before any epoch is looked up.
        let window = &self.window;
        let hash_of = |number: u64| {
            Some(window.iter().find(|b| b.number == number).map_or(B256::ZERO, |b| b.hash))
        };
        let Ok(blocks) = span.to_singular_batches(hash_of) else { return };
        let blocks: VecDeque<SingularBatch> =
            blocks.into_iter().filter(|b| b.timestamp > safe.timestamp).collect();
        if let Some(missing) = blocks.iter().find(|b| b.epoch_hash == B256::ZERO) {
            let reason = format!(
                "span block at {} names unknown epoch {}",
                missing.timestamp, missing.epoch_num
            );
            return self.flush(&reason, origin.number);
        }
        self.span = blocks;
    }

    /// Drops the rest of the current channel and span batch. The driver calls it when the
    /// block built from the last attributes was invalid and it built
    /// [`PayloadAttributes::deposits_only`] instead (Holocene's steady derivation).
    pub fn flush_channel(&mut self) {
        let origin = self.origin.as_ref().map_or(0, |o| o.number);
        self.flush("the block built from the batch was invalid", origin);
    }

    /// Drops the rest of the channel and of the span: Holocene's answer to an invalid batch.
    /// Channels after it stand.
    fn flush(&mut self, reason: &str, origin: u64) {
        tracing::info!(target: "derive::batch", l1 = origin, %reason, "dropping an invalid batch and the rest of its channel");
        self.batches.clear();
        self.span.clear();
    }

    /// At the end of the origin's data: a deposit-only block when the sequencing window of
    /// the safe head's epoch has closed without a batch; otherwise None (next L1 block).
    fn empty_batch(
        &mut self,
        origin: &L1Block,
        safe: &L2BlockInfo,
    ) -> Result<Option<PayloadAttributes>, DeriveError> {
        let (Some(epoch), Some(next_epoch)) = (self.window.first(), self.window.get(1)) else {
            return Ok(None);
        };
        if origin.number < epoch.number.saturating_add(self.rollup.seq_window_size) {
            return Ok(None);
        }
        let timestamp = safe.timestamp.saturating_add(self.rollup.block_time);
        let first_of_epoch = Some(epoch.number) == safe.l1_origin.number.checked_add(1);
        if timestamp < next_epoch.timestamp || first_of_epoch {
            let batch = SingularBatch {
                parent_hash: safe.hash,
                epoch_num: epoch.number,
                epoch_hash: epoch.hash,
                timestamp,
                transactions: Vec::new(),
            };
            tracing::info!(
                target: "derive::batch",
                l2 = safe.number + 1,
                epoch = epoch.number,
                "sequencing window closed without a batch: deposit-only block"
            );
            return self.attributes(batch, safe, origin.id()).map(Some);
        }
        // The epoch moves on; the next empty block takes the next L1 block as its origin.
        self.window.remove(0);
        Ok(None)
    }

    /// Payload attributes for an accepted batch.
    fn attributes(
        &self,
        batch: SingularBatch,
        safe: &L2BlockInfo,
        derived_from: BlockId,
    ) -> Result<PayloadAttributes, DeriveError> {
        let mismatch = |what: String| Err(DeriveError::SafeHeadMismatch(what));
        let Some(epoch) = self.window.iter().find(|b| b.number == batch.epoch_num) else {
            return mismatch(format!("epoch {} is not held", batch.epoch_num));
        };
        let (sequence_number, deposits) = if epoch.number == safe.l1_origin.number {
            if epoch.hash != safe.l1_origin.hash {
                return mismatch(format!("epoch {} hash differs", epoch.number));
            }
            (safe.sequence_number.saturating_add(1), Vec::new())
        } else {
            if epoch.parent_hash != safe.l1_origin.hash {
                return mismatch(format!("epoch {} does not follow the safe origin", epoch.number));
            }
            (0, epoch.deposits.clone())
        };
        if batch.timestamp < epoch.timestamp {
            return mismatch(format!("block at {} before its origin", batch.timestamp));
        }
        Ok(PayloadAttributes {
            parent: *safe,
            timestamp: batch.timestamp,
            prev_randao: epoch.mix_hash,
            parent_beacon_block_root: epoch.parent_beacon_block_root,
            l1_info: epoch.l1_info(&self.rollup, sequence_number),
            deposits,
            transactions: batch.transactions,
            derived_from,
        })
    }
}
