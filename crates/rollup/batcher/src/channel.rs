//! Turning L2 blocks into a channel's frames.

use crate::{BatcherError, L2Block, SourceError};
use alloy::eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, keccak256};
use tributary_chainspec::RollupConfig;
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
        let info = L1BlockInfo::from_first_tx(block.transactions.first())
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloy::consensus::{Header, Sealed};
    use alloy_primitives::B256;
    use tributary_chainspec::{BlockId, RollupGenesis, SystemConfig};
    use tributary_primitives::TxEnvelope;
    use tributary_protocol::{
        Channel, L1InfoFormat, decode_batcher_tx, decode_channel_batches, decompress,
    };

    pub(crate) fn rollup() -> RollupConfig {
        RollupConfig {
            genesis: RollupGenesis {
                l1: BlockId::default(),
                l2: BlockId::default(),
                l2_time: 1_000,
                system_config: SystemConfig::default(),
            },
            block_time: 2,
            max_sequencer_drift: 600,
            seq_window_size: 100,
            channel_timeout: 50,
            l1_chain_id: 900,
            l2_chain_id: 901,
            batch_inbox_address: Address::repeat_byte(0xff),
            deposit_contract_address: Address::ZERO,
            l1_system_config_address: Address::ZERO,
            protocol_versions_address: Address::ZERO,
            chain_op_config: None,
            unsafe_block_signer: Address::ZERO,
            fork_times: Default::default(),
        }
    }

    /// Empty blocks 1..=count with the L1 origin moving every third block.
    pub(crate) fn blocks(count: u64) -> Vec<L2Block> {
        let mut parent = B256::repeat_byte(7);
        (1..=count)
            .map(|number| {
                let info = L1BlockInfo {
                    number: number / 3,
                    hash: B256::with_last_byte((number / 3) as u8),
                    sequence_number: number % 3,
                    ..Default::default()
                };
                let header = Header {
                    number,
                    parent_hash: parent,
                    timestamp: 1_000 + 2 * number,
                    ..Default::default()
                };
                let header = Sealed::new(header);
                parent = header.hash();
                let deposit =
                    TxEnvelope::Deposit(Sealed::new(info.deposit_tx(L1InfoFormat::Jovian)));
                L2Block { header, transactions: vec![deposit] }
            })
            .collect()
    }

    #[test]
    fn channels_decode_back_to_their_blocks() {
        for (batch_type, compression) in
            [(BatchType::Singular, Compression::Zlib), (BatchType::Span, Compression::Brotli)]
        {
            let rollup = rollup();
            let mut builder = ChannelBuilder::new(&rollup, batch_type, compression, 1_000);
            for block in blocks(10) {
                builder.add_block(block).unwrap();
            }
            let built = builder.finish([9; 16]).unwrap().unwrap();
            assert_eq!(built.last_block, 10);
            let mut channel = Channel::new([9; 16]);
            for calldata in &built.frames {
                assert!(calldata.len() <= 1_000);
                for frame in decode_batcher_tx(calldata).unwrap() {
                    channel.add_frame(frame).unwrap();
                }
            }
            let raw = decompress(&channel.data().unwrap()).unwrap();
            let batches = decode_channel_batches(&raw, &span_config(&rollup)).unwrap();
            let timestamps: Vec<u64> = batches
                .iter()
                .flat_map(|batch| match batch {
                    Batch::Singular(b) => vec![b.timestamp],
                    Batch::Span(s) => s.blocks.iter().map(|b| b.timestamp).collect(),
                })
                .collect();
            assert_eq!(timestamps, (1..=10).map(|n| 1_000 + 2 * n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_block_without_l1_attributes_is_refused() {
        let rollup = rollup();
        let mut builder = ChannelBuilder::new(&rollup, BatchType::Span, Compression::Zlib, 1_000);
        let mut block = blocks(1).remove(0);
        block.transactions.clear();
        assert!(builder.add_block(block).is_err());
        assert!(builder.finish([1; 16]).unwrap().is_none());
    }
}
