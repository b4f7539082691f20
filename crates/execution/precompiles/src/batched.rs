//! `settleBatch`, `batchCommitment` and `verifyInference`: settlement that stores nothing per
//! inference (the format, tree and commitment chain are in `batch.rs`, the rules in
//! `IAttribution.sol`).
//!
//! Every record is checked in order with everything it reads cached for the rest of the
//! batch (a model, a contribution, a payer's escrow and allowance are each read once and
//! charged once, as a contract holding them in memory would be). Nothing is written until
//! every record passed; then each payer's escrow and allowances, the inference counter and
//! the epoch's commitment are written once, and each recipient is credited once. Per-model
//! totals are not kept in state (they would be a slot per model per batch): the node's index
//! has them.

use crate::{
    Params,
    abi::{IAttribution as abi, IRoyalties},
    attribution::{ModelCore, check_attributions, model_core, operator_flag},
    batch::{
        BatchFormatError, BatchLink, InferenceRecord, LINK_LEN, MAX_BATCH_RECORDS,
        SETTLEMENT_EPOCH, decode_batch, epoch_commitment, inner_nodes, leaf_hash, link_hash,
        merkle_root, root_from_proof,
    },
    call::{Call, Result, Stop},
    gas,
    layout::{
        ATTRIBUTION_ADDRESS as SELF, COMMITMENT, COUNTERS, Counter, ROYALTIES_ADDRESS, counter,
        mapping, with_bits,
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

/// A model as the batch uses it.
struct BatchModel {
    core: ModelCore,
    price: U256,
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
                entry.insert(BatchModel { core, price })
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
        self.total_fee += fee;
        Ok(())
    }

    /// Writes the batch: draws, counter, the epoch's commitment; then the credits and events.
    fn commit(self, call: &mut Call<'_>, root: B256) -> Result<u64> {
        for draw in self.escrows.values().chain(self.allowances.values()) {
            call.sstore(ROYALTIES_ADDRESS, draw.at, draw.held - draw.taken)?;
        }
        let count = self.leaves.len();
        let counters = call.sload(SELF, COUNTERS)?;
        let last = counter(counters, Counter::Inferences);
        // Ids are u64: a chain that ran out of them settles nothing more.
        let (Some(first), Some(next), Ok(count)) =
            (last.checked_add(1), last.checked_add(count as u64), u32::try_from(count))
        else {
            return Err(Stop::Revert(alloy_primitives::Bytes::new()));
        };
        call.sstore(
            SELF,
            COUNTERS,
            with_bits(counters, Counter::Inferences as usize * 64, 64, U256::from(next)),
        )?;
        let at = mapping(call, U256::from(first / SETTLEMENT_EPOCH), COMMITMENT)?;
        let previous = B256::from(call.sload(SELF, at)?);
        call.charge(gas::keccak_cost(LINK_LEN))?;
        let commitment = link_hash(&previous, &BatchLink { batch_id: first, count, root });
        call.sstore(SELF, at, U256::from_be_bytes(commitment.0))?;

        let operator = call.caller();
        let mut credits = Vec::with_capacity(self.owed.len() * CREDIT_LEN);
        for (recipient, amount) in &self.owed {
            // Larger than any supply a chain can have; refused rather than reported wrong.
            let Ok(packed) = u128::try_from(*amount) else {
                return Err(Stop::Revert(alloy_primitives::Bytes::new()));
            };
            call.pay(ROYALTIES_ADDRESS, *recipient, *amount)?;
            credits.extend_from_slice(recipient.as_slice());
            credits.extend_from_slice(&packed.to_be_bytes());
        }
        let settled =
            abi::BatchSettled { batchId: first, operator, count, root, totalFee: self.total_fee };
        call.log(SELF, settled.encode_log_data())?;
        let paid = IRoyalties::BatchPaid { batchId: first, credits: credits.into() };
        call.log(ROYALTIES_ADDRESS, paid.encode_log_data())?;
        Ok(first)
    }
}

/// Bytes per credit in `BatchPaid`: the recipient and a u128 amount.
pub const CREDIT_LEN: usize = 20 + 16;

/// The credits packed in a `BatchPaid` event, or None when they are not whole.
pub fn decode_credits(credits: &[u8]) -> Option<Vec<(Address, u128)>> {
    if !credits.len().is_multiple_of(CREDIT_LEN) {
        return None;
    }
    credits
        .chunks_exact(CREDIT_LEN)
        .map(|chunk| {
            let (recipient, amount) = chunk.split_at(20);
            Some((Address::from_slice(recipient), u128::from_be_bytes(amount.try_into().ok()?)))
        })
        .collect()
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

/// The `batchCommitment` view.
pub(crate) fn batch_commitment(call: &mut Call<'_>, epoch: u64) -> Result<B256> {
    let at = mapping(call, U256::from(epoch), COMMITMENT)?;
    Ok(B256::from(call.sload(SELF, at)?))
}

/// The `verifyInference` view: the record's batch root from its tree proof, then the epoch's
/// chain from `prior` through that batch and the later ones, against the epoch's slot.
pub(crate) fn verify_inference(call: &mut Call<'_>, proof: &abi::InferenceProof) -> Result<bool> {
    let epoch = proof.batchId / SETTLEMENT_EPOCH;
    let commitment = batch_commitment(call, epoch)?;
    // Lengths come from calldata: saturating, so a huge proof runs out of gas, not over.
    let siblings = gas::keccak_cost(65).saturating_mul(proof.siblings.len() as u64);
    let links =
        gas::keccak_cost(LINK_LEN).saturating_mul((proof.later.len() as u64).saturating_add(1));
    call.charge(
        gas::keccak_cost(proof.record.len().saturating_add(1))
            .saturating_add(siblings)
            .saturating_add(links),
    )?;
    let Ok(index) = u64::try_from(proof.index) else { return Ok(false) };
    if commitment.is_zero() || index >= u64::from(proof.count) {
        return Ok(false);
    }
    let Some(root) = root_from_proof(leaf_hash(&proof.record), index, &proof.siblings) else {
        return Ok(false);
    };
    // Every batch named must be of the same epoch, in id order: an epoch holds at most
    // SETTLEMENT_EPOCH of them, which also bounds the work.
    let mut links = Vec::with_capacity(1 + proof.later.len());
    links.push(BatchLink { batch_id: proof.batchId, count: proof.count, root });
    for later in &proof.later {
        let previous = links.last().map(|l| l.batch_id).unwrap_or_default();
        if later.batchId <= previous || later.batchId / SETTLEMENT_EPOCH != epoch {
            return Ok(false);
        }
        links.push(BatchLink { batch_id: later.batchId, count: later.count, root: later.root });
    }
    Ok(epoch_commitment(proof.prior, &links) == commitment)
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
