//! The index of batched settlements (`settleBatch`): each batch's packed records by its id,
//! written with its block and removed when the block is unwound. The state keeps only a
//! commitment per epoch of batches; this is what answers per-inference lookups and proofs, as
//! receipts answer per-transaction ones. It also keeps the lifetime totals the state leaves
//! out for batches (per model: inferences, tokens, fees; per address: credits), added with
//! each block and taken off again when it is unwound (writes are sequential: one block's
//! write finishes before the next starts, and unwinds wait for it).

use crate::{
    Database, Result, StorageError,
    tables::{cf, decode_number, number_key},
};
use alloy_primitives::{Address, B256, Bytes};
use rocksdb::WriteBatch;
use std::collections::BTreeMap;

/// A batch of inference records settled in one call, as the block that settled it holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledBatch {
    /// The batch's id: its first inference id.
    pub id: u64,
    /// The block it was settled in.
    pub block_number: u64,
    /// The settling transaction's index in the block.
    pub tx_index: u32,
    /// Who settled it (the model's owner or operator).
    pub operator: Address,
    /// The batch's Merkle root (from its `BatchSettled` event).
    pub root: B256,
    /// Its record count (from the same event).
    pub count: u32,
    /// What the batch added to each model's totals.
    pub models: Vec<ModelTotals>,
    /// Each recipient's credit (from its `BatchPaid` event).
    pub credits: Vec<(Address, u128)>,
    /// The records, packed as `settleBatch` took them; empty when the node did not have them
    /// at hand (see `tributary-evm`'s `batches.rs`): the batch still chains into its epoch.
    pub records: Bytes,
}

/// A model's inferences, tokens and fees (wei) settled in batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelTotals {
    /// The model.
    pub model_id: u64,
    /// Inferences.
    pub inferences: u64,
    /// Tokens served.
    pub tokens: u128,
    /// Fees paid, in wei.
    pub fees: u128,
}

impl ModelTotals {
    const LEN: usize = 8 + 16 + 16;

    fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.inferences.to_be_bytes());
        out[8..24].copy_from_slice(&self.tokens.to_be_bytes());
        out[24..].copy_from_slice(&self.fees.to_be_bytes());
        out
    }

    fn decode(model_id: u64, raw: &[u8]) -> Option<Self> {
        Some(Self {
            model_id,
            inferences: u64::from_be_bytes(raw.get(..8)?.try_into().ok()?),
            tokens: u128::from_be_bytes(raw.get(8..24)?.try_into().ok()?),
            fees: u128::from_be_bytes(raw.get(24..40)?.try_into().ok()?),
        })
    }

    /// `self` with `other` added, or taken off with `take`, saturating.
    fn apply(self, other: &Self, take: bool) -> Self {
        let (i, t, f) = if take {
            (
                self.inferences.saturating_sub(other.inferences),
                self.tokens.saturating_sub(other.tokens),
                self.fees.saturating_sub(other.fees),
            )
        } else {
            (
                self.inferences.saturating_add(other.inferences),
                self.tokens.saturating_add(other.tokens),
                self.fees.saturating_add(other.fees),
            )
        };
        Self { model_id: self.model_id, inferences: i, tokens: t, fees: f }
    }
}

/// Bytes of a stored batch before its totals.
const HEAD: usize = 8 + 4 + 20 + 32 + 4;
const MODEL_KEY: u8 = 0x01;
const CREDIT_KEY: u8 = 0x02;
const CREDIT_LEN: usize = 20 + 16;

impl SettledBatch {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            HEAD + 8
                + self.models.len() * (8 + ModelTotals::LEN)
                + self.credits.len() * CREDIT_LEN
                + self.records.len(),
        );
        out.extend_from_slice(&number_key(self.block_number));
        out.extend_from_slice(&self.tx_index.to_be_bytes());
        out.extend_from_slice(self.operator.as_slice());
        out.extend_from_slice(self.root.as_slice());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&(self.models.len() as u32).to_be_bytes());
        for model in &self.models {
            out.extend_from_slice(&model.model_id.to_be_bytes());
            out.extend_from_slice(&model.encode());
        }
        out.extend_from_slice(&(self.credits.len() as u32).to_be_bytes());
        for (recipient, amount) in &self.credits {
            out.extend_from_slice(recipient.as_slice());
            out.extend_from_slice(&amount.to_be_bytes());
        }
        out.extend_from_slice(&self.records);
        out
    }

    fn decode(id: u64, raw: &[u8]) -> Result<Self> {
        Self::try_decode(id, raw).ok_or_else(|| StorageError::corrupt("inference batch"))
    }

    fn try_decode(id: u64, raw: &[u8]) -> Option<Self> {
        let head = raw.get(..HEAD)?;
        let mut rest = raw.get(HEAD..)?;
        let mut take = |len: usize| -> Option<&[u8]> {
            let (taken, left) = (rest.get(..len)?, rest.get(len..)?);
            rest = left;
            Some(taken)
        };
        let count = |raw: &[u8]| Some(u32::from_be_bytes(raw.try_into().ok()?) as usize);
        let models = (0..count(take(4)?)?)
            .map(|_| {
                let raw = take(8 + ModelTotals::LEN)?;
                ModelTotals::decode(u64::from_be_bytes(raw[..8].try_into().ok()?), &raw[8..])
            })
            .collect::<Option<Vec<_>>>()?;
        let credits = (0..count(take(4)?)?)
            .map(|_| {
                let raw = take(CREDIT_LEN)?;
                Some((
                    Address::from_slice(&raw[..20]),
                    u128::from_be_bytes(raw[20..].try_into().ok()?),
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            id,
            block_number: decode_number(&head[..8]).ok()?,
            tx_index: u32::from_be_bytes(head[8..12].try_into().ok()?),
            operator: Address::from_slice(&head[12..32]),
            root: B256::from_slice(&head[32..64]),
            count: u32::from_be_bytes(head[64..68].try_into().ok()?),
            models,
            credits,
            records: Bytes::copy_from_slice(rest),
        })
    }
}

fn model_key(model_id: u64) -> [u8; 9] {
    let mut key = [MODEL_KEY; 9];
    key[1..].copy_from_slice(&model_id.to_be_bytes());
    key
}

fn credit_key(address: &Address) -> [u8; 21] {
    let mut key = [CREDIT_KEY; 21];
    key[1..].copy_from_slice(address.as_slice());
    key
}

impl Database {
    /// The stored batch with the greatest id at or below `inference_id`: the batch that holds
    /// that inference, if it was settled in a batch (the caller checks the record count).
    ///
    /// # Errors
    ///
    /// RocksDB failures, a damaged record.
    pub fn inference_batch_at_or_below(&self, inference_id: u64) -> Result<Option<SettledBatch>> {
        let mut iter = self.inner.db.raw_iterator_cf(self.cf(cf::INFERENCE_BATCHES));
        iter.seek_for_prev(number_key(inference_id));
        if !iter.valid() {
            iter.status()?;
            return Ok(None);
        }
        let (Some(key), Some(value)) = (iter.key(), iter.value()) else { return Ok(None) };
        SettledBatch::decode(decode_number(key)?, value).map(Some)
    }

    /// The stored batch with id `id`.
    ///
    /// # Errors
    ///
    /// RocksDB failures, a damaged record.
    pub fn inference_batch(&self, id: u64) -> Result<Option<SettledBatch>> {
        self.get(cf::INFERENCE_BATCHES, number_key(id))?
            .map(|raw| SettledBatch::decode(id, &raw))
            .transpose()
    }

    /// A model's totals over every batch settled up to the head (zero when it has none).
    ///
    /// # Errors
    ///
    /// RocksDB failures, a damaged entry.
    pub fn batched_model_totals(&self, model_id: u64) -> Result<ModelTotals> {
        let Some(raw) = self.get(cf::BATCH_TOTALS, model_key(model_id))? else {
            return Ok(ModelTotals { model_id, ..Default::default() });
        };
        ModelTotals::decode(model_id, &raw).ok_or_else(|| StorageError::corrupt("model totals"))
    }

    /// What `address` was credited by every batch settled up to the head, in wei.
    ///
    /// # Errors
    ///
    /// RocksDB failures, a damaged entry.
    pub fn batched_credits(&self, address: &Address) -> Result<u128> {
        let Some(raw) = self.get(cf::BATCH_TOTALS, credit_key(address))? else { return Ok(0) };
        let raw: [u8; 16] =
            raw.as_slice().try_into().map_err(|_| StorageError::corrupt("batch credits"))?;
        Ok(u128::from_be_bytes(raw))
    }

    /// Puts `batches` into a block's write, with their totals added.
    pub(crate) fn write_batches(
        &self,
        batch: &mut WriteBatch,
        batches: &[SettledBatch],
    ) -> Result<()> {
        for settled in batches {
            batch.put_cf(self.cf(cf::INFERENCE_BATCHES), number_key(settled.id), settled.encode());
        }
        self.apply_totals(batch, batches.iter(), false)
    }

    /// Adds (or with `take`, takes off) the totals of `batches` to the stored ones.
    fn apply_totals<'a>(
        &self,
        batch: &mut WriteBatch,
        batches: impl Iterator<Item = &'a SettledBatch>,
        take: bool,
    ) -> Result<()> {
        let mut models: BTreeMap<u64, ModelTotals> = BTreeMap::new();
        let mut credits: BTreeMap<Address, u128> = BTreeMap::new();
        for settled in batches {
            for model in &settled.models {
                let sum = models
                    .entry(model.model_id)
                    .or_insert(ModelTotals { model_id: model.model_id, ..Default::default() });
                *sum = sum.apply(model, false);
            }
            for (recipient, amount) in &settled.credits {
                let sum = credits.entry(*recipient).or_default();
                *sum = sum.saturating_add(*amount);
            }
        }
        for (id, delta) in models {
            let now = self.batched_model_totals(id)?.apply(&delta, take);
            batch.put_cf(self.cf(cf::BATCH_TOTALS), model_key(id), now.encode());
        }
        for (recipient, delta) in credits {
            let was = self.batched_credits(&recipient)?;
            let now = if take { was.saturating_sub(delta) } else { was.saturating_add(delta) };
            batch.put_cf(self.cf(cf::BATCH_TOTALS), credit_key(&recipient), now.to_be_bytes());
        }
        Ok(())
    }

    /// Removes block `number`'s batches, the newest entries since ids grow with the chain,
    /// and takes their totals off.
    pub(crate) fn unwind_batches(&self, batch: &mut WriteBatch, number: u64) -> Result<()> {
        let mut iter = self.inner.db.raw_iterator_cf(self.cf(cf::INFERENCE_BATCHES));
        iter.seek_to_last();
        let mut removed = Vec::new();
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            let block = decode_number(value.get(..8).unwrap_or_default())?;
            if block < number {
                break;
            }
            removed.push(SettledBatch::decode(decode_number(key)?, value)?);
            batch.delete_cf(self.cf(cf::INFERENCE_BATCHES), key);
            iter.prev();
        }
        iter.status()?;
        self.apply_totals(batch, removed.iter(), true)
    }

    /// The stored batches whose ids are in `from..to`, in id order.
    ///
    /// # Errors
    ///
    /// RocksDB failures, a damaged record.
    pub fn inference_batches_in(&self, from: u64, to: u64) -> Result<Vec<SettledBatch>> {
        let mut iter = self.inner.db.raw_iterator_cf(self.cf(cf::INFERENCE_BATCHES));
        iter.seek(number_key(from));
        let mut out = Vec::new();
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            let id = decode_number(key)?;
            if id >= to {
                break;
            }
            out.push(SettledBatch::decode(id, value)?);
            iter.next();
        }
        iter.status()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored batch decodes to what was stored, totals and credits included.
    #[test]
    fn settled_batch_round_trips() {
        let batch = SettledBatch {
            id: 65,
            block_number: 7,
            tx_index: 2,
            operator: Address::repeat_byte(1),
            root: B256::repeat_byte(2),
            count: 2,
            models: vec![ModelTotals { model_id: 3, inferences: 2, tokens: 1_600, fees: 3_200 }],
            credits: vec![(Address::repeat_byte(4), 5), (Address::repeat_byte(6), 7)],
            records: Bytes::from_static(&[9, 9, 9]),
        };
        assert_eq!(SettledBatch::decode(65, &batch.encode()).unwrap(), batch);
        let encoded = batch.encode();
        assert!(SettledBatch::decode(65, &encoded[..HEAD + 10]).is_err(), "cut short");
    }
}
