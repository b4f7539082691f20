//! Batched settlement's wire format and commitment: pure encoding, decoding and hashing.
//!
//! # Records
//!
//! `settleBatch(bytes records)` takes its inferences packed back to back, big-endian, each
//!
//! ```text
//! modelId u64 | payer (20 bytes) | tokens u64 | fee u128 | outputHash (32 bytes)
//!   | n u8 | n × (contributionId u64 | weight u32)
//! ```
//!
//! 85 + 12n bytes (181 with eight attributions), against about 800 for the same inference
//! ABI-encoded. `fee` is what the operator quoted the payer: the batch is refused if the
//! model's price now gives another fee, so a price change between quote and settlement never
//! charges anyone a different amount.
//!
//! # Commitment
//!
//! Leaf `i` of a batch's Merkle tree is `keccak256(0x00 ++ record_i)` over the record's bytes
//! exactly as sent; an inner node is `keccak256(0x01 ++ left ++ right)` (the tags keep a leaf
//! from passing for a node). The leaves are padded with zero words to the next power of two,
//! so a proof is the sibling on each level, and leaf `i`'s position at each level follows from
//! the bits of `i`: nothing about the batch's size is needed to check it. No record hashes to
//! zero, so no padding position can be proved.
//!
//! The state keeps no root per batch (a new slot each, 22 100 gas): batches are chained per
//! epoch of [`SETTLEMENT_EPOCH`] inference ids (the epoch of a batch is `batchId / 64`), one
//! slot per epoch, `link = keccak256(0x02 ++ previous ++ batchId u64 ++ count u32 ++ root)`
//! ([`link_hash`]). A single-record batch thus rewrites a slot that exists (5 000 gas) 63 times
//! in 64, and a record stays provable for good: its tree proof gives its batch's root, the
//! epoch's commitment before the batch and the (at most 63) batches after it in the epoch
//! recompute the epoch's slot ([`epoch_commitment`]). The tag `0x02` keeps a link from passing
//! for a tree node; binding `batchId` and `count` binds every record to its inference id.

use alloy_primitives::{Address, B256, keccak256};

/// Bytes of a record before its attributions.
pub const RECORD_HEAD_LEN: usize = 85;
/// Bytes per attribution.
pub const ATTRIBUTION_LEN: usize = 12;
/// Most records one batch may hold (a proof is then at most 12 hashes).
pub const MAX_BATCH_RECORDS: usize = 4096;
/// Inference ids per epoch of the settlement commitment: the batches whose first id falls in
/// one epoch are chained into one slot, so an epoch holds at most this many batches.
pub const SETTLEMENT_EPOCH: u64 = 64;
/// Bytes hashed for one link of an epoch's commitment.
pub(crate) const LINK_LEN: usize = 1 + 32 + 8 + 4 + 32;

/// One batch as its epoch's commitment chains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLink {
    /// The batch's id, its first inference id.
    pub batch_id: u64,
    /// Its record count.
    pub count: u32,
    /// Its Merkle root.
    pub root: B256,
}

/// The epoch's commitment after `link`, from `previous`.
pub fn link_hash(previous: &B256, link: &BatchLink) -> B256 {
    let mut buf = [0u8; LINK_LEN];
    buf[0] = 0x02;
    buf[1..33].copy_from_slice(previous.as_slice());
    buf[33..41].copy_from_slice(&link.batch_id.to_be_bytes());
    buf[41..45].copy_from_slice(&link.count.to_be_bytes());
    buf[45..].copy_from_slice(link.root.as_slice());
    keccak256(buf)
}

/// The commitment of an epoch whose batches, in order, are `links`, starting from `prior`
/// (zero for the epoch's first batch).
pub fn epoch_commitment<'a>(prior: B256, links: impl IntoIterator<Item = &'a BatchLink>) -> B256 {
    links.into_iter().fold(prior, |previous, link| link_hash(&previous, link))
}

/// One inference of a batch, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InferenceRecord {
    /// The model.
    pub model_id: u64,
    /// Whose escrow pays.
    pub payer: Address,
    /// Tokens served.
    pub tokens: u64,
    /// The fee the operator quoted: `tokens * price / 1000` at the model's current price.
    pub fee: u128,
    /// Hash of the inference's output.
    pub output_hash: B256,
    /// Contribution ids and their attribution weights.
    pub attributions: Vec<(u64, u32)>,
}

/// Why a batch does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormatError {
    /// No records.
    Empty,
    /// More than [`MAX_BATCH_RECORDS`].
    TooManyRecords,
    /// Record `index` is cut short (or has more than 255 attributions' worth of bytes missing).
    Truncated {
        /// The record's position in the batch.
        index: usize,
    },
}

impl InferenceRecord {
    /// The packed bytes (see the module docs). More than 255 attributions cannot be packed:
    /// the extra ones are left out (settlement refuses more than 64 anyway).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let n = self.attributions.len().min(usize::from(u8::MAX));
        out.reserve(RECORD_HEAD_LEN + n * ATTRIBUTION_LEN);
        out.extend_from_slice(&self.model_id.to_be_bytes());
        out.extend_from_slice(self.payer.as_slice());
        out.extend_from_slice(&self.tokens.to_be_bytes());
        out.extend_from_slice(&self.fee.to_be_bytes());
        out.extend_from_slice(self.output_hash.as_slice());
        out.push(n as u8);
        for (id, weight) in self.attributions.iter().take(n) {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&weight.to_be_bytes());
        }
    }

    /// The packed bytes as a new vector.
    pub fn encoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one record from the front of `buf`, returning it and its length; None when
    /// `buf` is too short for it.
    pub fn decode(buf: &[u8]) -> Option<(Self, usize)> {
        let head = buf.get(..RECORD_HEAD_LEN)?;
        let n = usize::from(head[RECORD_HEAD_LEN - 1]);
        let len = RECORD_HEAD_LEN + n * ATTRIBUTION_LEN;
        let body = buf.get(RECORD_HEAD_LEN..len)?;
        let word = |at: usize, width: usize| -> &[u8] { &head[at..at + width] };
        let record = Self {
            model_id: u64::from_be_bytes(word(0, 8).try_into().ok()?),
            payer: Address::from_slice(word(8, 20)),
            tokens: u64::from_be_bytes(word(28, 8).try_into().ok()?),
            fee: u128::from_be_bytes(word(36, 16).try_into().ok()?),
            output_hash: B256::from_slice(word(52, 32)),
            attributions: body
                .chunks_exact(ATTRIBUTION_LEN)
                .map(|chunk| {
                    let (id, weight) = chunk.split_at(8);
                    let id = u64::from_be_bytes(id.try_into().unwrap_or_default());
                    let weight = u32::from_be_bytes(weight.try_into().unwrap_or_default());
                    (id, weight)
                })
                .collect(),
        };
        Some((record, len))
    }
}

/// Packs `records` as `settleBatch` takes them.
pub fn encode_batch(records: &[InferenceRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        record.encode(&mut out);
    }
    out
}

/// Decodes a whole batch: each record with the byte range it came from.
///
/// # Errors
///
/// An empty batch, more than [`MAX_BATCH_RECORDS`] records, or a record cut short.
pub fn decode_batch(
    data: &[u8],
) -> Result<Vec<(InferenceRecord, std::ops::Range<usize>)>, BatchFormatError> {
    if data.is_empty() {
        return Err(BatchFormatError::Empty);
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        if out.len() == MAX_BATCH_RECORDS {
            return Err(BatchFormatError::TooManyRecords);
        }
        let rest = data.get(at..).unwrap_or_default();
        let (record, len) = InferenceRecord::decode(rest)
            .ok_or(BatchFormatError::Truncated { index: out.len() })?;
        out.push((record, at..at + len));
        at += len;
    }
    Ok(out)
}

/// The Merkle root of a packed batch (what `settleBatch` stores for it), or None when it does
/// not decode.
pub fn records_root(records: &[u8]) -> Option<B256> {
    let decoded = decode_batch(records).ok()?;
    let leaves: Vec<B256> =
        decoded.iter().filter_map(|(_, range)| records.get(range.clone()).map(leaf_hash)).collect();
    Some(merkle_root(&leaves))
}

/// Leaf hash of a record's packed bytes.
pub fn leaf_hash(record: &[u8]) -> B256 {
    let mut buf = Vec::with_capacity(1 + record.len());
    buf.push(0x00);
    buf.extend_from_slice(record);
    keccak256(buf)
}

/// Inner node hash.
pub fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// The levels of the tree over `leaves`, padded to a power of two: level 0 is the padded
/// leaves, the last is the root alone.
fn levels(leaves: &[B256]) -> Vec<Vec<B256>> {
    let width = leaves.len().max(1).next_power_of_two();
    let mut level = leaves.to_vec();
    level.resize(width, B256::ZERO);
    let mut out = vec![level];
    while out.last().is_some_and(|level| level.len() > 1) {
        let below = out.last().map(Vec::as_slice).unwrap_or_default();
        let next = below.chunks_exact(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
        out.push(next);
    }
    out
}

/// The root over `leaves` (see the module docs). An empty list has the zero root.
pub fn merkle_root(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    levels(leaves).last().and_then(|root| root.first().copied()).unwrap_or_default()
}

/// Inner nodes hashed to build the root over `count` leaves (for gas).
pub(crate) fn inner_nodes(count: usize) -> usize {
    count.max(1).next_power_of_two() - 1
}

/// The proof for leaf `index`: its sibling on every level, bottom up. None past the end.
pub fn merkle_proof(leaves: &[B256], index: usize) -> Option<Vec<B256>> {
    if index >= leaves.len() {
        return None;
    }
    let levels = levels(leaves);
    let mut at = index;
    let mut proof = Vec::with_capacity(levels.len().saturating_sub(1));
    for level in levels.iter().take(levels.len().saturating_sub(1)) {
        proof.push(*level.get(at ^ 1)?);
        at /= 2;
    }
    Some(proof)
}

/// The root a proof for `leaf` at `index` leads to; None when `index` does not fit a tree
/// of the proof's depth.
pub fn root_from_proof(leaf: B256, index: u64, proof: &[B256]) -> Option<B256> {
    if proof.len() < 64 && index >> proof.len() != 0 {
        return None;
    }
    let mut node = leaf;
    for (level, sibling) in proof.iter().enumerate() {
        let right = level < 64 && (index >> level) & 1 == 1;
        node = if right { node_hash(sibling, &node) } else { node_hash(&node, sibling) };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(seed: u8, attributions: usize) -> InferenceRecord {
        InferenceRecord {
            model_id: u64::from(seed) + 1,
            payer: Address::repeat_byte(seed),
            tokens: 800,
            fee: 1_600_000_000_000_000,
            output_hash: B256::repeat_byte(seed ^ 0x5a),
            attributions: (0..attributions).map(|i| (i as u64 + 1, i as u32 + 1)).collect(),
        }
    }

    #[test]
    fn eight_attributions_pack_into_181_bytes() {
        assert_eq!(record(1, 8).encoded().len(), 181);
        assert_eq!(record(1, 0).encoded().len(), RECORD_HEAD_LEN);
    }

    #[test]
    fn malformed_batches_are_named() {
        assert_eq!(decode_batch(&[]), Err(BatchFormatError::Empty));
        let mut two = encode_batch(&[record(1, 2), record(2, 3)]);
        two.pop();
        assert_eq!(decode_batch(&two), Err(BatchFormatError::Truncated { index: 1 }));
        let one = record(1, 0).encoded();
        let too_many = one.repeat(MAX_BATCH_RECORDS + 1);
        assert_eq!(decode_batch(&too_many), Err(BatchFormatError::TooManyRecords));
        assert_eq!(decode_batch(&one.repeat(MAX_BATCH_RECORDS)).map(|b| b.len()), Ok(4096));
    }

    #[test]
    fn a_proof_does_not_verify_another_record_or_position() {
        let records: Vec<Vec<u8>> = (0..5).map(|i| record(i, 3).encoded()).collect();
        let leaves: Vec<B256> = records.iter().map(|r| leaf_hash(r)).collect();
        let root = merkle_root(&leaves);
        let proof = merkle_proof(&leaves, 3).unwrap();
        assert_eq!(proof.len(), 3, "5 leaves pad to 8");
        assert_eq!(root_from_proof(leaves[3], 3, &proof), Some(root));
        assert_ne!(root_from_proof(leaves[2], 3, &proof), Some(root));
        assert_ne!(root_from_proof(leaves[3], 2, &proof), Some(root));
        assert_eq!(root_from_proof(leaves[3], 8, &proof), None, "past a depth-3 tree");
        let mut tampered = records[3].clone();
        tampered[40] ^= 1; // the fee
        assert_ne!(root_from_proof(leaf_hash(&tampered), 3, &proof), Some(root));
        // A padding position cannot be proved with the zero word.
        let padding = merkle_proof(&leaves, 4).map(|mut p| {
            p[0] = B256::ZERO;
            p
        });
        assert_ne!(root_from_proof(B256::ZERO, 5, &padding.unwrap()), Some(root));
    }

    #[test]
    fn one_record_is_its_own_root() {
        let leaf = leaf_hash(&record(9, 8).encoded());
        assert_eq!(merkle_root(&[leaf]), leaf);
        assert_eq!(merkle_proof(&[leaf], 0), Some(vec![]));
        assert_eq!(root_from_proof(leaf, 0, &[]), Some(leaf));
        assert_eq!(inner_nodes(1), 0);
        assert_eq!(inner_nodes(100), 127);
    }

    proptest! {
        #[test]
        fn records_round_trip(
            model_id in any::<u64>(),
            payer in any::<[u8; 20]>(),
            tokens in any::<u64>(),
            fee in any::<u128>(),
            output_hash in any::<[u8; 32]>(),
            attributions in proptest::collection::vec(any::<(u64, u32)>(), 0..=64),
        ) {
            let record = InferenceRecord {
                model_id,
                payer: Address::from(payer),
                tokens,
                fee,
                output_hash: B256::from(output_hash),
                attributions,
            };
            let bytes = record.encoded();
            prop_assert_eq!(bytes.len(), RECORD_HEAD_LEN + ATTRIBUTION_LEN * record.attributions.len());
            prop_assert_eq!(InferenceRecord::decode(&bytes), Some((record, bytes.len())));
        }

        #[test]
        fn every_leaf_proves_against_the_root(count in 1usize..70) {
            let leaves: Vec<B256> = (0..count).map(|i| keccak256(i.to_be_bytes())).collect();
            let root = merkle_root(&leaves);
            for (index, leaf) in leaves.iter().enumerate() {
                let proof = merkle_proof(&leaves, index).unwrap();
                prop_assert_eq!(root_from_proof(*leaf, index as u64, &proof), Some(root));
            }
        }
    }
}
