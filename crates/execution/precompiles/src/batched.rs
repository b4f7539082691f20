//! `settleBatch`, `batchRoot` and `verifyInference`: settlement that stores nothing per
//! inference (the format and tree are in `batch.rs`, the rules in `IAttribution.sol`).
//!
//! Every record is checked in order with everything it reads cached for the rest of the
//! batch (a model, a contribution, a payer's escrow and allowance are each read once and
//! charged once, as a contract holding them in memory would be). Nothing is written until
//! every record passed; then each payer's escrow and allowances, each model's stats, the
//! inference counter and the root are written once, and each recipient is credited once.

use crate::{
    Params,
    abi::{IAttribution as abi, IRoyalties},
    attribution::{ModelCore, check_attributions, model_core, operator_flag},
    batch::{
        BatchFormatError, InferenceRecord, MAX_BATCH_RECORDS, decode_batch, inner_nodes, leaf_hash,
        merkle_root, root_from_proof,
    },
    call::{Call, Result, Stop},
    gas,
    layout::{
        ATTRIBUTION_ADDRESS as SELF, BATCH, COUNTERS, Counter, ROYALTIES_ADDRESS, add_model_stats,
        counter, mapping, with_bits,
    },
    royalties,
    settle::{RoyaltySplit, inference_fee},
};
use alloy::sol_types::SolEvent;
use alloy_primitives::{Address, B256, U256, map::HashMap};
use std::collections::BTreeMap;

/// Batches most recently settled in execution, kept for the node's index.
const KEPT_BATCHES: usize = 1024;
/// Bytes of records kept at most (a full batch is at most about 3.5 MB).
const KEPT_BYTES: usize = 64 << 20;

/// The packed records of batches settled during execution, by Merkle root: the node takes a
/// block's batches from here when it indexes them (the state keeps only the roots). Any
/// execution fills it (blocks, calls, gas estimates); the root names the records, so an entry
/// is right for every block whose `BatchSettled` log carries that root. Bounded in entries and
/// bytes, the oldest going first; a block whose entry was pushed out meanwhile (a flood of
/// calls) is indexed from its transaction's input when it called the precompile directly.
#[derive(Debug, Default)]
pub struct SettledRecords {
    inner: std::sync::Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_root: HashMap<B256, alloy_primitives::Bytes>,
    order: std::collections::VecDeque<B256>,
    bytes: usize,
}

impl SettledRecords {
    /// The records whose Merkle root is `root`, if a batch with them ran lately.
    pub fn get(&self, root: &B256) -> Option<alloy_primitives::Bytes> {
        self.inner.lock().ok()?.by_root.get(root).cloned()
    }

    fn insert(&self, root: B256, records: &[u8]) {
        let Ok(mut kept) = self.inner.lock() else { return };
        let records = alloy_primitives::Bytes::copy_from_slice(records);
        let len = records.len();
        if kept.by_root.insert(root, records).is_none() {
            kept.order.push_back(root);
            kept.bytes += len;
        }
        while kept.order.len() > KEPT_BATCHES || kept.bytes > KEPT_BYTES {
            let Some(old) = kept.order.pop_front() else { break };
            if let Some(gone) = kept.by_root.remove(&old) {
                kept.bytes -= gone.len();
            }
        }
    }
}

/// A model as the batch uses it, with what the batch adds to its stats.
struct BatchModel {
    core: ModelCore,
    price: U256,
    inferences: u64,
    tokens: U256,
    fees: U256,
}

/// A balance the batch draws on (an escrow, an allowance): where it is, what it held, what
/// the batch has taken so far.
struct Draw {
    at: U256,
    held: U256,
    taken: U256,
}

/// Settles `data`; returns the batch id (its first inference id). The records are kept in
/// `settled` under their root.
pub(crate) fn settle_batch(
    call: &mut Call<'_>,
    params: &Params,
    settled: &SettledRecords,
    data: &[u8],
) -> Result<u64> {
    let records = decode_batch(data).map_err(|err| -> Stop {
        match err {
            BatchFormatError::Empty => abi::EmptyBatch {}.into(),
            BatchFormatError::TooManyRecords => {
                abi::BatchTooLarge { maxRecords: U256::from(MAX_BATCH_RECORDS) }.into()
            }
            BatchFormatError::Truncated { index } => {
                abi::MalformedBatch { recordIndex: U256::from(index) }.into()
            }
        }
    })?;
    let mut batch = Batch::default();
    for (index, (record, range)) in records.iter().enumerate() {
        batch.add(call, params, record).map_err(|stop| match stop {
            Stop::Revert(reason) => {
                abi::RecordRejected { recordIndex: U256::from(index), reason }.into()
            }
            other => other,
        })?;
        let bytes = data.get(range.clone()).unwrap_or_default();
        call.charge(gas::keccak_cost(1 + bytes.len()))?;
        batch.leaves.push(leaf_hash(bytes));
    }
    call.charge(gas::keccak_cost(65) * inner_nodes(batch.leaves.len()) as u64)?;
    let root = merkle_root(&batch.leaves);
    let id = batch.commit(call, root)?;
    settled.insert(root, data);
    Ok(id)
}

#[derive(Default)]
struct Batch {
    models: BTreeMap<u64, BatchModel>,
    /// Contribution id to (contributor, datanet, status).
    contributions: HashMap<u64, (Address, u64, u64)>,
    escrows: BTreeMap<Address, Draw>,
    allowances: BTreeMap<(Address, u64), Draw>,
    owed: BTreeMap<Address, U256>,
    total_fee: U256,
    leaves: Vec<B256>,
}

impl Batch {
    /// Checks one record against the state and the batch so far, and adds its fee and shares.
    fn add(
        &mut self,
        call: &mut Call<'_>,
        params: &Params,
        record: &InferenceRecord,
    ) -> Result<()> {
        call.charge(gas::BATCH_RECORD + gas::BATCH_ATTRIBUTION * record.attributions.len() as u64)?;
        let caller = call.caller();
        let model = match self.models.entry(record.model_id) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let core = model_core(call, record.model_id, true)?;
                if core.owner != caller && !operator_flag(call, record.model_id, caller)? {
                    return Err(abi::Unauthorized { caller }.into());
                }
                // The chain's protocol share may have grown since registration.
                let shares = u64::from(core.data_bps)
                    + u64::from(core.operator_bps)
                    + u64::from(params.protocol_bps);
                if shares > 10_000 {
                    return Err(abi::InvalidShares { totalBps: U256::from(shares) }.into());
                }
                let price = call.sload(SELF, core.base + U256::from(2))?;
                entry.insert(BatchModel {
                    core,
                    price,
                    inferences: 0,
                    tokens: U256::ZERO,
                    fees: U256::ZERO,
                })
            }
        };
        let quoted = U256::from(record.fee);
        let fee = inference_fee(record.tokens, model.price).unwrap_or(U256::MAX);
        if fee != quoted {
            return Err(abi::FeeMismatch { modelId: record.model_id, quoted, fee }.into());
        }
        let contributors = check_attributions(
            call,
            &model.core,
            record.model_id,
            &record.attributions,
            |call, id| cached_contribution(call, &mut self.contributions, id),
        )?;

        let payer = record.payer;
        let escrow =
            draw(call, &mut self.escrows, payer, |call| royalties::escrow_slot(call, payer))?;
        escrow.taken += fee;
        if escrow.taken > escrow.held {
            let (fee, escrow) = (escrow.taken, escrow.held);
            return Err(abi::InsufficientEscrow { payer, fee, escrow }.into());
        }
        let allowance = draw(call, &mut self.allowances, (payer, record.model_id), |call| {
            royalties::allowance_slot(call, payer, record.model_id)
        })?;
        allowance.taken += fee;
        if allowance.taken > allowance.held {
            let (fee, allowance) = (allowance.taken, allowance.held);
            return Err(
                abi::AllowanceExceeded { payer, modelId: record.model_id, fee, allowance }.into()
            );
        }

        let split = RoyaltySplit {
            fee,
            protocol_bps: params.protocol_bps,
            operator_bps: model.core.operator_bps,
            data_bps: model.core.data_bps,
            treasury: params.treasury,
            operator: caller,
            creator: model.core.owner,
            contributors: &contributors,
        };
        for payout in split.payouts() {
            *self.owed.entry(payout.recipient).or_default() += payout.amount;
        }
        model.inferences += 1;
        model.tokens += U256::from(record.tokens);
        model.fees += fee;
        self.total_fee += fee;
        Ok(())
    }

    /// Writes the batch: draws, model stats, counter, root; then the credits and events.
    fn commit(self, call: &mut Call<'_>, root: B256) -> Result<u64> {
        for draw in self.escrows.values().chain(self.allowances.values()) {
            call.sstore(ROYALTIES_ADDRESS, draw.at, draw.held - draw.taken)?;
        }
        for model in self.models.values() {
            add_model_stats(call, model.core.base, model.inferences, model.tokens, model.fees)?;
        }
        let count = self.leaves.len() as u64;
        let counters = call.sload(SELF, COUNTERS)?;
        let last = counter(counters, Counter::Inferences);
        // Ids are u64: a chain that ran out of them settles nothing more.
        let (Some(first), Some(next)) = (last.checked_add(1), last.checked_add(count)) else {
            return Err(Stop::Revert(alloy_primitives::Bytes::new()));
        };
        let next = U256::from(next);
        call.sstore(
            SELF,
            COUNTERS,
            with_bits(counters, Counter::Inferences as usize * 64, 64, next),
        )?;
        let at = mapping(call, U256::from(first), BATCH)?;
        call.sstore(SELF, at, U256::from_be_bytes(root.0))?;

        let operator = call.caller();
        let (recipients, amounts): (Vec<Address>, Vec<U256>) = self.owed.into_iter().unzip();
        for (recipient, amount) in recipients.iter().zip(&amounts) {
            call.pay(ROYALTIES_ADDRESS, *recipient, *amount)?;
        }
        let settled = abi::BatchSettled {
            batchId: first,
            operator,
            count: count as u32,
            root,
            totalFee: self.total_fee,
        };
        call.log(SELF, settled.encode_log_data())?;
        let paid = IRoyalties::BatchPaid { batchId: first, recipients, amounts };
        call.log(ROYALTIES_ADDRESS, paid.encode_log_data())?;
        Ok(first)
    }
}

/// The contribution's (contributor, datanet, status), read once per batch.
fn cached_contribution(
    call: &mut Call<'_>,
    cache: &mut HashMap<u64, (Address, u64, u64)>,
    id: u64,
) -> Result<(Address, u64, u64)> {
    if let Some(known) = cache.get(&id) {
        return Ok(*known);
    }
    let known = crate::attribution::contribution(call, id)?;
    cache.insert(id, known);
    Ok(known)
}

/// The draw on the balance at `key`, read once per batch.
fn draw<'m, K: Ord + Copy>(
    call: &mut Call<'_>,
    draws: &'m mut BTreeMap<K, Draw>,
    key: K,
    slot: impl FnOnce(&mut Call<'_>) -> Result<U256>,
) -> Result<&'m mut Draw> {
    match draws.entry(key) {
        std::collections::btree_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
        std::collections::btree_map::Entry::Vacant(entry) => {
            let at = slot(call)?;
            let held = call.sload(ROYALTIES_ADDRESS, at)?;
            Ok(entry.insert(Draw { at, held, taken: U256::ZERO }))
        }
    }
}

/// The `batchRoot` view.
pub(crate) fn batch_root(call: &mut Call<'_>, batch: u64) -> Result<B256> {
    let at = mapping(call, U256::from(batch), BATCH)?;
    let root = call.sload(SELF, at)?;
    if root.is_zero() {
        return Err(abi::UnknownBatch { batchId: batch }.into());
    }
    Ok(B256::from(root))
}

/// The `verifyInference` view.
pub(crate) fn verify_inference(
    call: &mut Call<'_>,
    batch: u64,
    index: U256,
    record: &[u8],
    proof: &[B256],
) -> Result<bool> {
    let root = batch_root(call, batch)?;
    call.charge(gas::keccak_cost(1 + record.len()) + gas::keccak_cost(65) * proof.len() as u64)?;
    let Ok(index) = u64::try_from(index) else { return Ok(false) };
    Ok(root_from_proof(leaf_hash(record), index, proof) == Some(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache keeps the newest batches, within its entry and byte bounds.
    #[test]
    fn settled_records_keep_the_newest_within_bounds() {
        let kept = SettledRecords::default();
        let root = |i: usize| B256::from(U256::from(i));
        for i in 0..KEPT_BATCHES + 5 {
            kept.insert(root(i), &[1, 2, 3]);
        }
        assert_eq!(kept.get(&root(4)), None, "the oldest went");
        assert_eq!(kept.get(&root(5)).map(|b| b.to_vec()), Some(vec![1u8, 2, 3]));
        let big = vec![7u8; KEPT_BYTES / 2 + 1];
        kept.insert(root(100_000), &big);
        kept.insert(root(100_001), &big);
        assert_eq!(kept.get(&root(100_000)), None, "two halves do not fit");
        assert!(kept.get(&root(100_001)).is_some());
        assert!(kept.inner.lock().unwrap().bytes <= KEPT_BYTES);
    }
}
