//! Turning L2 blocks into a channel's frames.

use crate::{BatcherError, L2Block, SourceError};
use alloy::eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, keccak256};
use tributary_chainspec::RollupConfig;
use tributary_primitives::OpTxEnvelope;
use tributary_protocol::{
    Batch, ChannelId, Compression, L1BlockInfo, SingularBatch, SpanBatch, SpanBatchConfig,
    compress, encode_batcher_tx, encode_channel_batches, split_into_frames,
};

/// Most L1 transactions (frames) one channel is built to fill, judged on uncompressed size so
/// that the compressed channel always fits.
const MAX_FRAMES_PER_CHANNEL: usize = 6;

/// Which batch version a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchType {
    /// Version 0: one batch per block.
    Singular,
    /// Version 1: one batch for the whole channel.
    #[default]
    Span,
}

impl std::str::FromStr for BatchType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "singular" | "0" => Ok(Self::Singular),
            "span" | "1" => Ok(Self::Span),
            other => Err(format!("unknown batch type {other:?}: singular or span")),
        }
    }
}

/// A channel ready to post.
#[derive(Debug)]
pub struct BuiltChannel {
    /// Batcher transaction calldata, one frame each, in order.
    pub frames: Vec<Bytes>,
    /// The channel's last L2 block.
    pub last_block: u64,
    /// Compressed size.
    pub compressed_len: usize,
}

/// Collects consecutive L2 blocks into one channel.
#[derive(Debug)]
pub struct ChannelBuilder {
    span_config: SpanBatchConfig,
    batch_type: BatchType,
    compression: Compression,
    max_tx_size: usize,
    batches: Vec<SingularBatch>,
    first_opens_epoch: bool,
    raw_len: usize,
    last_block: u64,
}

impl ChannelBuilder {
    /// An empty channel.
    pub fn new(
        rollup: &RollupConfig,
        batch_type: BatchType,
        compression: Compression,
        max_tx_size: usize,
    ) -> Self {
        Self {
            span_config: span_config(rollup),
            batch_type,
            compression,
            max_tx_size,
            batches: Vec::new(),
            first_opens_epoch: false,
            raw_len: 0,
            last_block: 0,
        }
    }

    /// Whether the channel has as much as it should take.
    pub fn is_full(&self) -> bool {
        self.raw_len >= self.max_tx_size.saturating_mul(MAX_FRAMES_PER_CHANNEL)
    }

    /// Adds the next block.
    ///
    /// # Errors
    ///
    /// The block has no readable L1 attributes deposit.
    pub fn add_block(&mut self, block: L2Block) -> Result<(), SourceError> {
        let number = block.header.number;
        let Some(OpTxEnvelope::Deposit(first)) = block.transactions.first() else {
            return Err(SourceError(format!("block {number} has no L1 attributes deposit")));
        };
        let (info, _) = L1BlockInfo::decode_calldata(&first.input)
            .map_err(|err| SourceError(format!("block {number}: L1 attributes: {err}")))?;
        if self.batches.is_empty() {
            self.first_opens_epoch = info.sequence_number == 0;
        }
        let transactions: Vec<Bytes> = block
            .transactions
            .iter()
            .filter(|tx| !tx.is_deposit())
            .map(|tx| tx.encoded_2718().into())
            .collect();
        self.raw_len += 70 + transactions.iter().map(|tx| tx.len()).sum::<usize>();
        self.batches.push(SingularBatch {
            parent_hash: block.header.parent_hash,
            epoch_num: info.number,
            epoch_hash: info.hash,
            timestamp: block.header.timestamp,
            transactions,
        });
        self.last_block = number;
        Ok(())
    }

    /// Encodes, compresses and cuts the channel into batcher transactions.
    ///
    /// # Errors
    ///
    /// A span batch that cannot be encoded (blocks that are not consecutive).
    pub fn finish(self, id: ChannelId) -> Result<Option<BuiltChannel>, BatcherError> {
        if self.batches.is_empty() {
            return Ok(None);
        }
        let batches: Vec<Batch> = match self.batch_type {
            BatchType::Singular => self.batches.into_iter().map(Batch::Singular).collect(),
            BatchType::Span => vec![Batch::Span(
                SpanBatch::from_singular(&self.batches, self.first_opens_epoch, &self.span_config)
                    .map_err(|err| SourceError(format!("span batch: {err}")))?,
            )],
        };
        let data = encode_channel_batches(&batches, &self.span_config)
            .map_err(|err| SourceError(format!("channel: {err}")))?;
        let compressed = compress(&data, self.compression);
        let frames = split_into_frames(id, &compressed, self.max_tx_size)
            .into_iter()
            .map(|frame| Bytes::from(encode_batcher_tx(&[frame])))
            .collect();
        Ok(Some(BuiltChannel {
            frames,
            last_block: self.last_block,
            compressed_len: compressed.len(),
        }))
    }
}

/// The span batch parameters of a rollup.
pub fn span_config(rollup: &RollupConfig) -> SpanBatchConfig {
    SpanBatchConfig {
        genesis_timestamp: rollup.genesis.l2_time,
        block_time: rollup.block_time,
        chain_id: rollup.l2_chain_id,
    }
}

/// A fresh channel id: a hash of the batcher, the first block and the time, so ids never
/// repeat across restarts.
pub fn channel_id_for(batcher: Address, first_block: u64) -> ChannelId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut seed = Vec::with_capacity(20 + 8 + 16);
    seed.extend_from_slice(batcher.as_slice());
    seed.extend_from_slice(&first_block.to_be_bytes());
    seed.extend_from_slice(&nanos.to_be_bytes());
    let hash = keccak256(seed);
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash[..16]);
    id
}
