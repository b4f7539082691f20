//! Span batches (batch version 1, from Delta): a run of consecutive L2 blocks in one batch.
//!
//! ```text
//! span_batch = prefix ++ payload
//! prefix     = rel_timestamp ++ l1_origin_num ++ parent_check ++ l1_origin_check
//! payload    = block_count ++ origin_bits ++ block_tx_counts ++ txs
//! ```
//!
//! Only the first block's timestamp (relative to L2 genesis) and the last block's L1 origin
//! number are written. The other timestamps follow from the block time, and the other origins
//! from `origin_bits`, one bit per block saying whether its L1 origin moved on by one. Of the
//! hashes only 20-byte prefixes remain: the first block's parent and the last block's L1
//! origin. The `txs` section is in `span_txs.rs`, and the uvarints and bitlists in
//! `span_wire.rs`.
//!
//! What the format leaves out, the chain supplies: [`SpanBatchConfig`].

use crate::{
    channel::SingularBatch,
    span_txs::{TxColumns, read_txs},
    span_wire::{Reader, write_bitlist, write_uvarint},
};
use alloy_primitives::{B256, Bytes, FixedBytes};

/// Most blocks in a span batch, most transactions in it, and longest `tx_data` (the specs'
/// `MAX_SPAN_BATCH_ELEMENT_COUNT`).
pub const MAX_SPAN_BATCH_ELEMENT_COUNT: u64 = 10_000_000;

/// The chain parameters a span batch's encoding leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanBatchConfig {
    /// The L2 genesis timestamp; the batch stores its first timestamp relative to it.
    pub genesis_timestamp: u64,
    /// Seconds between L2 blocks; the batch stores only its first timestamp.
    pub block_time: u64,
    /// The L2 chain id, which every typed and every protected legacy transaction carries.
    pub chain_id: u64,
}

/// One L2 block of a span batch, without its parent and L1 origin hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanBatchElement {
    /// The block's timestamp.
    pub timestamp: u64,
    /// The L1 origin's number.
    pub epoch_num: u64,
    /// The block's non-deposit transactions, EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
}

/// A version-1 batch: consecutive L2 blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanBatch {
    /// The first 20 bytes of the first block's parent hash.
    pub parent_check: FixedBytes<20>,
    /// The first 20 bytes of the last block's L1 origin hash.
    pub l1_origin_check: FixedBytes<20>,
    /// Whether the first block's L1 origin differs from its parent's, that is whether the
    /// first block opens its epoch (sequence number 0). It is the first origin bit.
    pub first_origin_changed: bool,
    /// The blocks, in order: timestamps `block_time` apart, L1 origins never falling back and
    /// moving on by at most one per block.
    pub blocks: Vec<SpanBatchElement>,
}

/// A span batch that cannot be encoded or decoded. On the decoding side every variant means the
/// same thing to derivation: the batch is invalid and is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanBatchError {
    /// The bytes end inside the named section.
    #[error("span batch ends inside {0}")]
    Truncated(&'static str),
    /// A uvarint longer than 64 bits.
    #[error("uvarint in {0} overflows 64 bits")]
    VarintOverflow(&'static str),
    /// A bitlist with bits set in its padding.
    #[error("{0} has bits set past its length")]
    BadBitlist(&'static str),
    /// A batch of no blocks.
    #[error("span batch has no blocks")]
    NoBlocks,
    /// More blocks or transactions than [`MAX_SPAN_BATCH_ELEMENT_COUNT`].
    #[error("{count} {what} exceed {MAX_SPAN_BATCH_ELEMENT_COUNT}")]
    TooManyElements {
        /// What was counted.
        what: &'static str,
        /// How many there were.
        count: u64,
    },
    /// A `tx_data` longer than [`MAX_SPAN_BATCH_ELEMENT_COUNT`] bytes.
    #[error("transaction {index}: tx_data longer than {MAX_SPAN_BATCH_ELEMENT_COUNT} bytes")]
    TxDataTooLarge {
        /// The transaction's position in the batch.
        index: usize,
    },
    /// Bytes after the last section.
    #[error("{0} bytes after the span batch")]
    TrailingBytes(usize),
    /// A derived timestamp or L1 origin number out of `u64` range.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// A zero-length transaction.
    #[error("transaction {index} is empty")]
    EmptyTransaction {
        /// The transaction's position in the batch.
        index: usize,
    },
    /// A transaction, or its `tx_data`, that does not decode.
    #[error("transaction {index}: {reason}")]
    MalformedTransaction {
        /// The transaction's position in the batch.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// A transaction whose encoding is not the canonical one the batch would rebuild.
    #[error("transaction {index} is not canonically encoded")]
    NonCanonicalTransaction {
        /// The transaction's position in the batch.
        index: usize,
    },
    /// A deposit, blob or other transaction type span batches do not carry.
    #[error("transaction {index} has type {ty:#04x}, which span batches do not carry")]
    UnsupportedTxType {
        /// The transaction's position in the batch.
        index: usize,
        /// Its EIP-2718 type.
        ty: u8,
    },
    /// A transaction signed for another chain.
    #[error("transaction {index} is for chain {found}")]
    ChainIdMismatch {
        /// The transaction's position in the batch.
        index: usize,
        /// Its chain id.
        found: u64,
    },
    /// An EIP-7702 transaction marked as a contract creation.
    #[error("transaction {index}: EIP-7702 transactions cannot create contracts")]
    SetCodeCreate {
        /// The transaction's position in the batch.
        index: usize,
    },
    /// A first block older than L2 genesis.
    #[error("block timestamp {0} is before L2 genesis")]
    TimestampBeforeGenesis(u64),
    /// A block whose timestamp is not its predecessor's plus the block time.
    #[error("block {index} is not one block time after the previous block")]
    TimestampGap {
        /// The block's position in the batch.
        index: usize,
    },
    /// A block whose L1 origin falls back or moves on by more than one.
    #[error("block {index}'s L1 origin does not follow the previous block's")]
    OriginJump {
        /// The block's position in the batch.
        index: usize,
    },
    /// Two singular batches of one epoch with different epoch hashes.
    #[error("block {index} has another hash for its predecessor's epoch")]
    EpochHashMismatch {
        /// The block's position in the batch.
        index: usize,
    },
    /// No hash was given for an L1 origin of the batch.
    #[error("no hash for L1 origin {0}")]
    MissingEpochHash(u64),
}

impl SpanBatch {
    /// The span of `batches`, which must be consecutive blocks. `first_origin_changed` says
    /// whether the first block opens its epoch; its parent's origin is not in the batches.
    ///
    /// # Errors
    ///
    /// No batches, or batches that do not form a span (see [`SpanBatch::validate`]). The
    /// transactions are checked when the batch is encoded.
    pub fn from_singular(
        batches: &[SingularBatch],
        first_origin_changed: bool,
        config: &SpanBatchConfig,
    ) -> Result<Self, SpanBatchError> {
        let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
            return Err(SpanBatchError::NoBlocks);
        };
        for (index, (prev, next)) in batches.iter().zip(batches.iter().skip(1)).enumerate() {
            if prev.epoch_num == next.epoch_num && prev.epoch_hash != next.epoch_hash {
                return Err(SpanBatchError::EpochHashMismatch { index: index + 1 });
            }
        }
        let span = Self {
            parent_check: hash_check(&first.parent_hash),
            l1_origin_check: hash_check(&last.epoch_hash),
            first_origin_changed,
            blocks: batches
                .iter()
                .map(|batch| SpanBatchElement {
                    timestamp: batch.timestamp,
                    epoch_num: batch.epoch_num,
                    transactions: batch.transactions.clone(),
                })
                .collect(),
        };
        span.validate(config)?;
        Ok(span)
    }

    /// The blocks as singular batches, their L1 origin hashes from `epoch_hash`. Parent hashes
    /// are left zero: the batch only holds a prefix of the first one, checked against the safe
    /// head, and derivation sets each from the block before it, as op-node does.
    ///
    /// # Errors
    ///
    /// [`SpanBatchError::MissingEpochHash`] when `epoch_hash` does not know an origin.
    pub fn to_singular_batches(
        &self,
        mut epoch_hash: impl FnMut(u64) -> Option<B256>,
    ) -> Result<Vec<SingularBatch>, SpanBatchError> {
        self.blocks
            .iter()
            .map(|block| {
                Ok(SingularBatch {
                    parent_hash: B256::ZERO,
                    epoch_num: block.epoch_num,
                    epoch_hash: epoch_hash(block.epoch_num)
                        .ok_or(SpanBatchError::MissingEpochHash(block.epoch_num))?,
                    timestamp: block.timestamp,
                    transactions: block.transactions.clone(),
                })
            })
            .collect()
    }

    /// The first block's timestamp.
    pub fn timestamp(&self) -> Option<u64> {
        self.blocks.first().map(|block| block.timestamp)
    }

    /// The first block's L1 origin number.
    pub fn start_epoch_num(&self) -> Option<u64> {
        self.blocks.first().map(|block| block.epoch_num)
    }

    /// The last block's L1 origin number.
    pub fn end_epoch_num(&self) -> Option<u64> {
        self.blocks.last().map(|block| block.epoch_num)
    }

    /// Whether `hash` (the L2 safe head's) starts with the parent check.
    pub fn check_parent_hash(&self, hash: &B256) -> bool {
        hash_check(hash) == self.parent_check
    }

    /// Whether `hash` (a canonical L1 block's) starts with the L1 origin check.
    pub fn check_origin_hash(&self, hash: &B256) -> bool {
        hash_check(hash) == self.l1_origin_check
    }

    /// Checks that the blocks form a span the format can hold: at least one, no more blocks or
    /// transactions than [`MAX_SPAN_BATCH_ELEMENT_COUNT`], the first no older than genesis,
    /// timestamps one block time apart, and L1 origins that stay or move on by one.
    ///
    /// # Errors
    ///
    /// The first rule broken.
    pub fn validate(&self, config: &SpanBatchConfig) -> Result<(), SpanBatchError> {
        let first = self.blocks.first().ok_or(SpanBatchError::NoBlocks)?;
        check_count("blocks", self.blocks.len() as u64)?;
        let mut total = 0u64;
        for block in &self.blocks {
            let count = block.transactions.len() as u64;
            check_count("transactions in a block", count)?;
            total = total.saturating_add(count);
        }
        check_count("transactions", total)?;
        if first.timestamp < config.genesis_timestamp {
            return Err(SpanBatchError::TimestampBeforeGenesis(first.timestamp));
        }
        for (index, (prev, next)) in self.blocks.iter().zip(self.blocks.iter().skip(1)).enumerate()
        {
            let index = index + 1;
            if prev.timestamp.checked_add(config.block_time) != Some(next.timestamp) {
                return Err(SpanBatchError::TimestampGap { index });
            }
            if next.epoch_num != prev.epoch_num
                && prev.epoch_num.checked_add(1) != Some(next.epoch_num)
            {
                return Err(SpanBatchError::OriginJump { index });
            }
        }
        Ok(())
    }

    /// Appends the batch's encoding, `prefix ++ payload`, without the version byte. Nothing is
    /// appended on error.
    ///
    /// # Errors
    ///
    /// Blocks that do not form a span ([`SpanBatch::validate`]), or a transaction the format
    /// cannot carry: empty, malformed, non-canonical, of another chain, or of a type other than
    /// legacy, EIP-2930, EIP-1559 and EIP-7702.
    pub fn encode(
        &self,
        config: &SpanBatchConfig,
        out: &mut Vec<u8>,
    ) -> Result<(), SpanBatchError> {
        self.validate(config)?;
        let (Some(first), Some(last)) = (self.blocks.first(), self.blocks.last()) else {
            return Err(SpanBatchError::NoBlocks);
        };
        let mut txs = TxColumns::default();
        for tx in self.blocks.iter().flat_map(|block| &block.transactions) {
            txs.push(txs.len(), tx, config.chain_id)?;
        }

        write_uvarint(out, first.timestamp.saturating_sub(config.genesis_timestamp));
        write_uvarint(out, last.epoch_num);
        out.extend_from_slice(self.parent_check.as_slice());
        out.extend_from_slice(self.l1_origin_check.as_slice());

        write_uvarint(out, self.blocks.len() as u64);
        let origin_bits: Vec<bool> = std::iter::once(self.first_origin_changed)
            .chain(
                self.blocks
                    .iter()
                    .zip(self.blocks.iter().skip(1))
                    .map(|(prev, next)| next.epoch_num != prev.epoch_num),
            )
            .collect();
        write_bitlist(out, &origin_bits);
        for block in &self.blocks {
            write_uvarint(out, block.transactions.len() as u64);
        }
        txs.write(out);
        Ok(())
    }

    /// The batch's encoding; see [`SpanBatch::encode`].
    ///
    /// # Errors
    ///
    /// As [`SpanBatch::encode`].
    pub fn to_bytes(&self, config: &SpanBatchConfig) -> Result<Vec<u8>, SpanBatchError> {
        let mut out = Vec::new();
        self.encode(config, &mut out)?;
        Ok(out)
    }

    /// Decodes a span batch's `prefix ++ payload` (the bytes after the version byte), all of
    /// `data`, rebuilding every block's timestamp, L1 origin number and signed transactions.
    ///
    /// # Errors
    ///
    /// Truncation, trailing bytes, limits exceeded, bad bitlists, derived values out of range,
    /// and transactions that do not decode.
    pub fn decode(data: &[u8], config: &SpanBatchConfig) -> Result<Self, SpanBatchError> {
        let mut reader = Reader::new(data);
        let rel_timestamp = reader.uvarint("rel_timestamp")?;
        let l1_origin_num = reader.uvarint("l1_origin_num")?;
        let parent_check = FixedBytes(reader.array::<20>("parent_check")?);
        let l1_origin_check = FixedBytes(reader.array::<20>("l1_origin_check")?);

        let block_count = reader.uvarint("block_count")?;
        if block_count == 0 {
            return Err(SpanBatchError::NoBlocks);
        }
        let block_count = check_count("blocks", block_count)?;
        let origin_bits = reader.bitlist(block_count, "origin_bits")?;
        // Each count takes at least a byte, so this grows no faster than the input is read.
        let mut tx_counts = Vec::new();
        let mut total = 0u64;
        for _ in 0..block_count {
            let count = reader.uvarint("block_tx_counts")?;
            check_count("transactions in a block", count)?;
            total = total.saturating_add(count);
            tx_counts.push(count);
        }
        let total = check_count("transactions", total)?;
        let mut txs = read_txs(&mut reader, total, config.chain_id)?.into_iter();
        if !reader.rest().is_empty() {
            return Err(SpanBatchError::TrailingBytes(reader.rest().len()));
        }

        // Origins run backwards from the last block's. The first bit only says whether the
        // first block changed origin from its parent, which is outside the batch.
        let mut epochs = vec![0u64; block_count];
        let mut epoch = l1_origin_num;
        for (i, slot) in epochs.iter_mut().enumerate().rev() {
            *slot = epoch;
            if i > 0 && origin_bits.get(i) {
                epoch =
                    epoch.checked_sub(1).ok_or(SpanBatchError::OutOfRange("l1 origin number"))?;
            }
        }
        let start = config
            .genesis_timestamp
            .checked_add(rel_timestamp)
            .ok_or(SpanBatchError::OutOfRange("timestamp"))?;
        let mut blocks = Vec::with_capacity(block_count);
        for (i, (epoch_num, count)) in epochs.into_iter().zip(tx_counts).enumerate() {
            let timestamp = (i as u64)
                .checked_mul(config.block_time)
                .and_then(|offset| start.checked_add(offset))
                .ok_or(SpanBatchError::OutOfRange("timestamp"))?;
            let transactions = txs.by_ref().take(count as usize).collect();
            blocks.push(SpanBatchElement { timestamp, epoch_num, transactions });
        }
        Ok(Self { parent_check, l1_origin_check, first_origin_changed: origin_bits.get(0), blocks })
    }
}

/// `count` as a `usize`, if within [`MAX_SPAN_BATCH_ELEMENT_COUNT`].
fn check_count(what: &'static str, count: u64) -> Result<usize, SpanBatchError> {
    if count > MAX_SPAN_BATCH_ELEMENT_COUNT {
        return Err(SpanBatchError::TooManyElements { what, count });
    }
    usize::try_from(count).map_err(|_| SpanBatchError::TooManyElements { what, count })
}

/// The first 20 bytes of a hash.
fn hash_check(hash: &B256) -> FixedBytes<20> {
    hash.0.first_chunk::<20>().copied().map(FixedBytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_txs::{CHAIN_ID, arb_tx, signed_txs};
    use proptest::{collection::vec, prelude::*};
    use std::collections::BTreeMap;

    const CONFIG: SpanBatchConfig =
        SpanBatchConfig { genesis_timestamp: 1_700_000_000, block_time: 2, chain_id: CHAIN_ID };

    /// `blocks` blocks from `start`, the origin moving on where `moves` says, with `txs` spread
    /// over them round-robin.
    fn span(start_epoch: u64, moves: &[bool], txs: &[Bytes]) -> SpanBatch {
        let mut epoch = start_epoch;
        let mut blocks: Vec<SpanBatchElement> = moves
            .iter()
            .enumerate()
            .map(|(i, moved)| {
                if i > 0 && *moved {
                    epoch += 1;
                }
                SpanBatchElement {
                    timestamp: CONFIG.genesis_timestamp + 10 + 2 * i as u64,
                    epoch_num: epoch,
                    transactions: Vec::new(),
                }
            })
            .collect();
        let count = blocks.len();
        for (i, tx) in txs.iter().enumerate() {
            blocks[i % count].transactions.push(tx.clone());
        }
        SpanBatch {
            parent_check: FixedBytes::repeat_byte(0xa1),
            l1_origin_check: FixedBytes::repeat_byte(0xb2),
            first_origin_changed: moves.first().copied().unwrap_or_default(),
            blocks,
        }
    }

    #[test]
    fn empty_blocks_layout() {
        let batch = span(5, &[true, false, true], &[]);
        let mut expected = vec![10, 6]; // rel_timestamp, l1_origin_num (last block's)
        expected.extend_from_slice(&[0xa1; 20]);
        expected.extend_from_slice(&[0xb2; 20]);
        expected.extend_from_slice(&[3, 0b101, 0, 0, 0]); // block_count, origin_bits, tx counts
        assert_eq!(batch.to_bytes(&CONFIG).unwrap(), expected);
        let decoded = SpanBatch::decode(&expected, &CONFIG).unwrap();
        assert_eq!(decoded, batch);
        assert_eq!(decoded.blocks.iter().map(|b| b.epoch_num).collect::<Vec<_>>(), [5, 5, 6]);
        assert_eq!(decoded.timestamp(), Some(CONFIG.genesis_timestamp + 10));
        assert_eq!((decoded.start_epoch_num(), decoded.end_epoch_num()), (Some(5), Some(6)));
    }

    #[test]
    fn real_transactions_survive_with_their_hashes() {
        let txs = signed_txs();
        let batch = span(100, &[false, true, false, false, true], &txs);
        let decoded = SpanBatch::decode(&batch.to_bytes(&CONFIG).unwrap(), &CONFIG).unwrap();
        let hashes = |batch: &SpanBatch| -> Vec<B256> {
            batch
                .blocks
                .iter()
                .flat_map(|block| &block.transactions)
                .map(alloy_primitives::keccak256)
                .collect()
        };
        assert_eq!(hashes(&decoded), hashes(&batch));
        assert_eq!(decoded, batch);
    }

    #[test]
    fn singular_batches_in_and_out() {
        let txs = signed_txs();
        let epoch_hash = |n: u64| B256::left_padding_from(&n.to_be_bytes());
        let singular: Vec<SingularBatch> = (0..6u64)
            .map(|i| SingularBatch {
                parent_hash: B256::repeat_byte(i as u8 + 1),
                epoch_num: 40 + i / 2,
                epoch_hash: epoch_hash(40 + i / 2),
                timestamp: CONFIG.genesis_timestamp + 100 + 2 * i,
                transactions: txs.iter().skip(i as usize).take(2).cloned().collect(),
            })
            .collect();
        let batch = SpanBatch::from_singular(&singular, true, &CONFIG).unwrap();
        assert!(batch.check_parent_hash(&B256::repeat_byte(1)));
        assert!(!batch.check_parent_hash(&B256::repeat_byte(2)));
        assert!(batch.check_origin_hash(&epoch_hash(42)));
        let decoded = SpanBatch::decode(&batch.to_bytes(&CONFIG).unwrap(), &CONFIG).unwrap();
        assert_eq!(decoded, batch);
        let back = decoded.to_singular_batches(|n| Some(epoch_hash(n))).unwrap();
        let expected: Vec<_> = singular
            .into_iter()
            .map(|batch| SingularBatch { parent_hash: B256::ZERO, ..batch })
            .collect();
        assert_eq!(back, expected);
        assert_eq!(
            decoded.to_singular_batches(|n| (n != 41).then(|| epoch_hash(n))),
            Err(SpanBatchError::MissingEpochHash(41))
        );
    }

    #[test]
    fn refuses_blocks_that_are_not_a_span() {
        let good = span(7, &[false, true, false], &signed_txs());
        let with = |edit: &dyn Fn(&mut SpanBatch)| {
            let mut batch = good.clone();
            edit(&mut batch);
            batch.to_bytes(&CONFIG)
        };
        assert!(with(&|_| {}).is_ok());
        assert_eq!(with(&|b| b.blocks.clear()), Err(SpanBatchError::NoBlocks));
        assert_eq!(
            with(&|b| b.blocks[2].timestamp += 1),
            Err(SpanBatchError::TimestampGap { index: 2 })
        );
        assert_eq!(
            with(&|b| b.blocks[2].epoch_num += 2),
            Err(SpanBatchError::OriginJump { index: 2 })
        );
        assert_eq!(
            with(&|b| b.blocks[2].epoch_num -= 1),
            Err(SpanBatchError::OriginJump { index: 2 })
        );
        assert_eq!(
            with(&|b| {
                for block in &mut b.blocks {
                    block.timestamp -= 11;
                }
            }),
            Err(SpanBatchError::TimestampBeforeGenesis(CONFIG.genesis_timestamp - 1))
        );
        assert_eq!(
            with(&|b| b.blocks[1].transactions.push(Bytes::new())),
            Err(SpanBatchError::EmptyTransaction { index: 6 })
        );
        let other_chain = SpanBatchConfig { chain_id: CHAIN_ID + 1, ..CONFIG };
        assert!(matches!(good.to_bytes(&other_chain), Err(SpanBatchError::ChainIdMismatch { .. })));

        let singular = |epoch_hash| SingularBatch {
            parent_hash: B256::ZERO,
            epoch_num: 1,
            epoch_hash,
            timestamp: CONFIG.genesis_timestamp,
            transactions: Vec::new(),
        };
        let mut second = singular(B256::repeat_byte(2));
        second.timestamp += 2;
        assert_eq!(
            SpanBatch::from_singular(&[singular(B256::repeat_byte(1)), second], false, &CONFIG),
            Err(SpanBatchError::EpochHashMismatch { index: 1 })
        );
        assert_eq!(SpanBatch::from_singular(&[], false, &CONFIG), Err(SpanBatchError::NoBlocks));
    }

    /// A batch's bytes up to its `txs` section, with the given counts.
    fn header(
        l1_origin_num: u64,
        block_count: u64,
        origin_bits: &[u8],
        tx_counts: &[u64],
    ) -> Vec<u8> {
        let mut out = vec![0];
        write_uvarint(&mut out, l1_origin_num);
        out.extend_from_slice(&[0; 40]);
        write_uvarint(&mut out, block_count);
        out.extend_from_slice(origin_bits);
        for count in tx_counts {
            write_uvarint(&mut out, *count);
        }
        out
    }

    #[test]
    fn rejects_malformed_batches() {
        let decode = |data: &[u8]| SpanBatch::decode(data, &CONFIG);
        let good = span(3, &[true, false, true, true], &signed_txs()).to_bytes(&CONFIG).unwrap();
        assert!(decode(&good).is_ok());

        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let trailing = [good.as_slice(), &[0]].concat();
        assert_eq!(decode(&trailing), Err(SpanBatchError::TrailingBytes(1)));

        assert_eq!(decode(&header(0, 0, &[], &[])), Err(SpanBatchError::NoBlocks));
        let too_many = MAX_SPAN_BATCH_ELEMENT_COUNT + 1;
        assert_eq!(
            decode(&header(0, too_many, &[], &[])),
            Err(SpanBatchError::TooManyElements { what: "blocks", count: too_many })
        );
        assert_eq!(
            decode(&header(0, 1, &[0], &[too_many])),
            Err(SpanBatchError::TooManyElements {
                what: "transactions in a block",
                count: too_many
            })
        );
        let half = MAX_SPAN_BATCH_ELEMENT_COUNT / 2 + 1;
        assert_eq!(
            decode(&header(0, 2, &[0], &[half, half])),
            Err(SpanBatchError::TooManyElements { what: "transactions", count: 2 * half })
        );
        assert_eq!(
            decode(&header(0, 2, &[0b100], &[])),
            Err(SpanBatchError::BadBitlist("origin_bits"))
        );
        // a huge block count with little data behind it is just truncated, not allocated
        assert_eq!(
            decode(&header(0, MAX_SPAN_BATCH_ELEMENT_COUNT, &[], &[])),
            Err(SpanBatchError::Truncated("origin_bits"))
        );
        // origins counting down past zero
        assert_eq!(
            decode(&header(0, 2, &[0b10], &[0, 0])),
            Err(SpanBatchError::OutOfRange("l1 origin number"))
        );
        // timestamps past u64
        let mut late = vec![];
        write_uvarint(&mut late, u64::MAX - CONFIG.genesis_timestamp);
        late.extend_from_slice(&header(0, 2, &[0], &[0, 0])[1..]);
        assert_eq!(decode(&late), Err(SpanBatchError::OutOfRange("timestamp")));
        // a bad uvarint
        assert_eq!(decode(&[0xff; 11]), Err(SpanBatchError::VarintOverflow("rel_timestamp")));
    }

    /// Random spans: 1 to 39 blocks, origins moving at random, random transactions of every
    /// type spread over them.
    fn arb_span() -> impl Strategy<Value = SpanBatch> {
        (
            0u64..1_000_000,
            vec(any::<bool>(), 1..40),
            vec(arb_tx(), 0..16),
            any::<[u8; 20]>(),
            any::<[u8; 20]>(),
            0u64..1_000,
        )
            .prop_map(|(start_epoch, moves, txs, parent, origin, offset)| {
                let mut batch = span(start_epoch, &moves, &txs);
                batch.parent_check = parent.into();
                batch.l1_origin_check = origin.into();
                for block in &mut batch.blocks {
                    block.timestamp += offset;
                }
                batch
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn encode_then_decode_is_identity(batch in arb_span()) {
            let data = batch.to_bytes(&CONFIG).unwrap();
            prop_assert_eq!(SpanBatch::decode(&data, &CONFIG).unwrap(), batch);
        }

        #[test]
        fn mutated_batches_never_panic(batch in arb_span(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut data = batch.to_bytes(&CONFIG).unwrap();
            let at = at.index(data.len());
            data[at] = byte;
            let _ = SpanBatch::decode(&data, &CONFIG);
        }

        #[test]
        fn garbage_never_panics(data in vec(any::<u8>(), 0..600)) {
            let _ = SpanBatch::decode(&data, &CONFIG);
        }
    }

    #[test]
    fn origins_in_a_long_span() {
        // 20 blocks so the origin bits take three bytes
        let moves: Vec<bool> = (0..20).map(|i| i % 3 == 0).collect();
        let batch = span(1_000, &moves, &[]);
        let decoded = SpanBatch::decode(&batch.to_bytes(&CONFIG).unwrap(), &CONFIG).unwrap();
        let epochs: BTreeMap<usize, u64> =
            decoded.blocks.iter().map(|b| b.epoch_num).enumerate().collect();
        assert_eq!(epochs[&0], 1_000);
        assert_eq!(epochs[&19], 1_006);
        assert_eq!(decoded, batch);
    }
}
