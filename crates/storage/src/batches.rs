//! The index of batched settlements (`settleBatch`): each batch's packed records by its id,
//! written with its block and removed when the block is unwound. The state keeps only each
//! batch's Merkle root; this is what answers per-inference lookups and proofs, as receipts
//! answer per-transaction ones.

use crate::{
    Database, Result, StorageError,
    tables::{cf, decode_number, number_key},
};
use alloy_primitives::{Address, B256, Bytes};
use rocksdb::WriteBatch;

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
    /// The Merkle root the state keeps for it.
    pub root: B256,
    /// The records, packed as `settleBatch` took them.
    pub records: Bytes,
}

/// Bytes of a stored batch before its records.
const HEAD: usize = 8 + 4 + 20 + 32;

impl SettledBatch {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEAD + self.records.len());
        out.extend_from_slice(&number_key(self.block_number));
        out.extend_from_slice(&self.tx_index.to_be_bytes());
        out.extend_from_slice(self.operator.as_slice());
        out.extend_from_slice(self.root.as_slice());
        out.extend_from_slice(&self.records);
        out
    }

    fn decode(id: u64, raw: &[u8]) -> Result<Self> {
        let corrupt = || StorageError::corrupt("inference batch");
        let head = raw.get(..HEAD).ok_or_else(corrupt)?;
        Ok(Self {
            id,
            block_number: decode_number(&head[..8])?,
            tx_index: u32::from_be_bytes(head[8..12].try_into().map_err(|_| corrupt())?),
            operator: Address::from_slice(&head[12..32]),
            root: B256::from_slice(&head[32..64]),
            records: Bytes::copy_from_slice(&raw[HEAD..]),
        })
    }
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

    /// Puts `batches` into a block's write.
    pub(crate) fn write_batches(&self, batch: &mut WriteBatch, batches: &[SettledBatch]) {
        for settled in batches {
            batch.put_cf(self.cf(cf::INFERENCE_BATCHES), number_key(settled.id), settled.encode());
        }
    }

    /// Removes block `number`'s batches: the newest entries, since ids grow with the chain.
    pub(crate) fn unwind_batches(&self, batch: &mut WriteBatch, number: u64) -> Result<()> {
        let mut iter = self.inner.db.raw_iterator_cf(self.cf(cf::INFERENCE_BATCHES));
        iter.seek_to_last();
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            let block = decode_number(value.get(..8).unwrap_or_default())?;
            if block < number {
                break;
            }
            batch.delete_cf(self.cf(cf::INFERENCE_BATCHES), key);
            iter.prev();
        }
        iter.status()?;
        Ok(())
    }
}
