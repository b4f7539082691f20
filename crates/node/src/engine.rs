//! The node's side of the Engine API ([`tributary_rpc::engine::EngineBackend`]): what
//! `forkchoiceUpdated`, `getPayload` and `newPayload` do to the chain.
//!
//! Built on the sealer's [`Engine`] seam (`sealer.rs`), the one path from attributes to a
//! committed block that the sequencer and derivation take too, so a payload from an outside
//! rollup node is built and committed exactly as the node's own blocks are.
//!
//! # What the calls do
//!
//! - `forkchoiceUpdated`: the head must be a stored block (rewound to when it is below the
//!   tip: op-node resets the unsafe chain that way) or the top of payloads held back by
//!   `newPayload`, which are then imported in order (`SYNCING` when it is neither). The safe
//!   and finalized hashes must be stored blocks at or below the head (`-38002` if not); they
//!   become the node's `safe` and `finalized` tags and are persisted. Attributes start a
//!   build on the head: with `noTxPool` (derivation's blocks) it runs at once, so a forced
//!   transaction the EVM refuses fails the update with `-38003` as the OP spec asks; a block
//!   that takes the pool (a sequencer's) is built when `getPayload` first asks. The update returns once the head is written, so
//!   `eth_getBlockByNumber("latest")` right after it shows the new head.
//! - `getPayload`: the build: the L1 attributes deposit is decoded and rebuilt by the
//!   executor (and must come out byte for byte the same), the deposits and forced
//!   transactions follow, then the pool's (unless `noTxPool`). A forced transaction the EVM
//!   refuses fails the build (`-38003`).
//! - `newPayload`: a payload on the tip is executed and committed at once (`VALID`, or
//!   `INVALID` with the parent as `latestValidHash`); the one this node built is committed
//!   without executing it again. A payload on any other stored block is held (`ACCEPTED`)
//!   and one whose parent is not stored too (`SYNCING`), until a forkchoice update names
//!   it. A storage failure is an error, not `INVALID`: only the block's own faults are.
//!
//! Whoever owns the forkchoice owns the chain, so the Engine API is served on nodes without
//! roles of their own (`--engine-only`): nothing else moves the head between a forkchoice
//! update's checks and its writes.
//!
//! # Departures
//!
//! - The storage keeps one chain, so a payload executed on the tip becomes the head when
//!   `newPayload` returns, before the forkchoice update that op-node sends right after.
//! - Side-chain payloads are executed only when a forkchoice update makes them canonical (the
//!   state of a non-head block is not kept in a form blocks can be executed on); an invalid
//!   one found then has already cost the rewind to its fork point.
//! - `suggestedFeeRecipient` is not used: every OP block's beneficiary is the
//!   SequencerFeeVault. The gas limit and EIP-1559 parameters are the chain spec's; attributes
//!   asking for others are refused.

use crate::{
    NodeError,
    sealer::{BlockSealer, Engine, Payload},
};
use alloy::{
    consensus::{Transaction, transaction::Recovered},
    eips::{Decodable2718, Encodable2718},
};
use alloy_primitives::{B256, U256};
use alloy_rpc_types_engine::{
    ForkchoiceState, ForkchoiceUpdated, PayloadId, PayloadStatus, PayloadStatusEnum,
};
use metrics::gauge;
use op_alloy::rpc_types_engine::OpPayloadAttributes;
use std::{collections::VecDeque, sync::Arc};
use tributary_chainspec::OpHardforks;
use tributary_evm::{BlockAttributes, BuiltBlock};
use tributary_primitives::{Block, OpTxEnvelope, SealedHeader, TxEnvelope};
use tributary_protocol::L1BlockInfo;
use tributary_rpc::engine::{BuiltPayload, EngineBackend, EngineError, invalid};
use tributary_storage::ExecutedBlock;

/// Payload builds, held payloads and invalid hashes kept at most (the oldest go first).
const KEPT: usize = 64;

/// [`EngineBackend`] over the node's chain.
pub(crate) struct LocalEngine {
    sealer: BlockSealer,
    state: parking_lot::Mutex<EngineState>,
}

#[derive(Default)]
struct EngineState {
    builds: Bounded<PayloadId, Build>,
    /// Payloads not on the tip, by hash, until a forkchoice update names them.
    held: Bounded<B256, Arc<Block>>,
    /// Payloads found invalid: their last valid ancestor and why.
    invalid: Bounded<B256, (B256, String)>,
}

/// A payload build started by a forkchoice update.
struct Build {
    parent: SealedHeader,
    attrs: OpPayloadAttributes,
    /// Once built: the payload, and the block to commit when `newPayload` brings it back.
    built: Option<(BuiltPayload, Option<BuiltBlock>)>,
}

/// A map that keeps its newest [`KEPT`] entries.
struct Bounded<K, V> {
    map: std::collections::HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self { map: Default::default(), order: Default::default() }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> Bounded<K, V> {
    fn insert(&mut self, key: K, value: V) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > KEPT {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let value = self.map.remove(key)?;
        self.order.retain(|k| k != key);
        Some(value)
    }
}

fn internal(err: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(err.to_string())
}

fn bad_attributes(reason: impl Into<String>) -> EngineError {
    EngineError::InvalidPayloadAttributes(reason.into())
}

/// Counts an Engine API answer: `tributary_engine_calls_total{method, status}`.
fn counted(method: &'static str, status: &PayloadStatus) {
    metrics::counter!("tributary_engine_calls_total", "method" => method, "status" => status.status.as_str())
        .increment(1);
}

fn valid(hash: B256) -> PayloadStatus {
    PayloadStatus::new(PayloadStatusEnum::Valid, Some(hash))
}

/// Where a forkchoice head was found.
enum Head {
    /// A stored block, now the head.
    Stored(u64),
    /// Not known, or not connected to a stored block.
    Missing,
    /// A held payload on the way to it was invalid.
    Invalid(PayloadStatus),
}

impl LocalEngine {
    pub(crate) fn new(sealer: BlockSealer) -> Self {
        Self { sealer, state: Default::default() }
    }

    /// The number of the stored block `hash` (the tip included), if it is one.
    fn stored(&self, hash: B256) -> Result<Option<u64>, EngineError> {
        let db = &self.sealer.db;
        let tip = db.tip();
        if tip.hash() == hash {
            return Ok(Some(tip.number));
        }
        db.wait_persisted().map_err(internal)?;
        db.block_number(&hash).map_err(internal)
    }

    /// Rewinds the chain to block `number` when it is below the tip; `safe` and `finalized`
    /// come down with it.
    fn rewind_to(&self, number: u64) -> Result<(), EngineError> {
        if number >= self.sealer.db.tip_number() {
            return Ok(());
        }
        let _writer = self.sealer.writer.lock();
        tracing::info!(target: "engine", to = number, "forkchoice moved the head back: rewinding");
        self.sealer.rewind(number).map_err(internal)?;
        let heads = &self.sealer.heads;
        let (safe, finalized) = (heads.safe().min(number), heads.finalized().min(number));
        heads.set(safe, finalized);
        self.sealer.db.set_safety_heads(safe, finalized).map_err(internal)
    }

    /// Executes `block` on the tip and commits it; its status.
    fn import(
        &self,
        state: &mut EngineState,
        block: &Block,
        hash: B256,
    ) -> Result<PayloadStatus, EngineError> {
        let parent = block.header.parent_hash;
        // The payload this node built: committed as built.
        if let Some(built) = take_built(state, hash) {
            let _writer = self.sealer.writer.lock();
            if self.sealer.db.tip().hash() == parent {
                let started = std::time::Instant::now();
                if self
                    .sealer
                    .commit_payload(built, started, "engine payload")
                    .map_err(internal)?
                    .is_some()
                {
                    return Ok(valid(hash));
                }
            }
        }
        match self.sealer.import(block, None) {
            Ok(Some(_)) => Ok(valid(hash)),
            Ok(None) => Err(internal("the head moved while the payload was imported")),
            // Only the block's own faults make it INVALID (and remembered so); a storage or
            // internal failure is an error the rollup node retries.
            Err(NodeError::Execution(err)) if err.is_invalid_block() => {
                let reason = err.to_string();
                tracing::warn!(target: "engine", number = block.header.number, %hash, %reason, "invalid payload");
                state.invalid.insert(hash, (parent, reason.clone()));
                Ok(invalid(Some(parent), reason))
            }
            Err(err) => Err(internal(err)),
        }
    }

    /// Makes `hash` the head: rewinds to it, or imports the held payloads leading to it.
    fn make_head(&self, state: &mut EngineState, hash: B256) -> Result<Head, EngineError> {
        if let Some(number) = self.stored(hash)? {
            self.rewind_to(number)?;
            return Ok(Head::Stored(number));
        }
        // Down the held payloads to a stored block.
        let mut chain = Vec::new();
        let mut at = hash;
        let fork = loop {
            if let Some(number) = self.stored(at)? {
                break number;
            }
            let Some(block) = state.held.get(&at) else { return Ok(Head::Missing) };
            at = block.header.parent_hash;
            chain.push(block.clone());
            if chain.len() > KEPT {
                return Ok(Head::Missing);
            }
        };
        self.rewind_to(fork)?;
        let hashes: Vec<B256> = chain.iter().rev().map(|block| block.header.hash_slow()).collect();
        for (i, (block, hash)) in chain.iter().rev().zip(&hashes).enumerate() {
            let status = self.import(state, block, *hash)?;
            state.held.remove(hash);
            if !status.is_valid() {
                // Every descendant of an invalid block is invalid, with the same last valid
                // ancestor.
                let latest_valid = status.latest_valid_hash.unwrap_or(block.header.parent_hash);
                for later in hashes.iter().skip(i + 1) {
                    state.held.remove(later);
                    let reason = format!("an ancestor ({hash}) is invalid");
                    state.invalid.insert(*later, (latest_valid, reason));
                }
                return Ok(Head::Invalid(status));
            }
        }
        Ok(Head::Stored(fork + chain.len() as u64))
    }

    /// The number of the forkchoice's safe or finalized block: zero for the zero hash
    /// (not known yet), else a stored block at or below the head.
    fn tag(&self, hash: B256, head: u64, which: &str) -> Result<u64, EngineError> {
        if hash.is_zero() {
            return Ok(0);
        }
        match self.stored(hash)? {
            Some(number) if number <= head => Ok(number),
            _ => Err(EngineError::InvalidForkchoiceState(format!(
                "the {which} block {hash} is not a stored block at or below the head"
            ))),
        }
    }

    /// Checks attributes against the chain rules a build cannot change.
    fn check_attributes(
        &self,
        parent: &SealedHeader,
        attrs: &OpPayloadAttributes,
    ) -> Result<(), EngineError> {
        let chain = self.sealer.evm.chain();
        let timestamp = attrs.payload_attributes.timestamp;
        if timestamp <= parent.timestamp {
            return Err(bad_attributes(format!(
                "timestamp {timestamp} is not after the parent's {}",
                parent.timestamp
            )));
        }
        if attrs.payload_attributes.withdrawals.as_ref().is_some_and(|w| !w.is_empty()) {
            return Err(bad_attributes("an OP block has no withdrawals"));
        }
        if let Some(gas_limit) = attrs.gas_limit
            && gas_limit != parent.gas_limit
        {
            return Err(bad_attributes(format!(
                "gas limit {gas_limit}: this chain's is fixed at {}",
                parent.gas_limit
            )));
        }
        let forks = chain.hardforks();
        let params = chain.fees().base_fee_params();
        let asked = if forks.is_jovian_active_at_timestamp(timestamp) {
            Some(attrs.get_jovian_extra_data(params))
        } else if forks.is_holocene_active_at_timestamp(timestamp) {
            Some(attrs.get_holocene_extra_data(params))
        } else {
            None
        };
        if let Some(asked) = asked {
            let asked =
                asked.map_err(|err| bad_attributes(format!("EIP-1559 parameters: {err}")))?;
            if asked != chain.extra_data_at(timestamp) {
                return Err(bad_attributes(
                    "the EIP-1559 parameters and minimum base fee are fixed by the chain spec",
                ));
            }
        }
        if attrs.transactions.as_ref().is_none_or(|txs| txs.is_empty()) {
            return Err(bad_attributes("no L1 attributes deposit"));
        }
        Ok(())
    }

    /// Builds the payload of `build` through the sealer's [`Engine`] seam.
    fn build(&self, build: &Build) -> Result<(BuiltPayload, BuiltBlock), EngineError> {
        let (attrs, forced) = block_attributes(&build.attrs)?;
        let from_pool = !build.attrs.no_tx_pool.unwrap_or_default();
        let built = match self.sealer.build_payload(&build.parent, attrs, forced, from_pool) {
            Ok(Payload::Built(built)) => *built,
            Ok(Payload::HeadMoved) => return Err(EngineError::UnknownPayload),
            Ok(Payload::ForcedRefused(reason)) => return Err(bad_attributes(reason)),
            Err(err) => return Err(internal(err)),
        };
        let body = &built.block.body;
        let given = build.attrs.transactions.as_deref().unwrap_or_default();
        if body.first().map(|tx| tx.encoded_2718()) != given.first().map(|tx| tx.to_vec()) {
            return Err(bad_attributes("the L1 attributes deposit does not rebuild byte for byte"));
        }
        let block = tributary_p2p::block_from_parts(
            self.sealer.evm.chain(),
            built.block.header.inner().clone(),
            built.block.body.clone(),
        );
        let payload =
            BuiltPayload { block, hash: built.block.header.hash(), fees: fees(&built.block) };
        Ok((payload, built))
    }
}

/// The built block of the build that made `hash`, if this node built it and has not
/// committed it yet.
fn take_built(state: &mut EngineState, hash: B256) -> Option<BuiltBlock> {
    state.builds.map.values_mut().find_map(|build| match &mut build.built {
        Some((payload, block)) if payload.hash == hash => block.take(),
        _ => None,
    })
}

/// The executor's attributes and the forced (non-deposit) transactions of `attrs`.
fn block_attributes(
    attrs: &OpPayloadAttributes,
) -> Result<(BlockAttributes, Vec<Recovered<TxEnvelope>>), EngineError> {
    let raw = attrs.transactions.as_deref().unwrap_or_default();
    let mut txs = Vec::with_capacity(raw.len());
    for (i, bytes) in raw.iter().enumerate() {
        let tx = OpTxEnvelope::decode_2718_exact(bytes)
            .map_err(|err| bad_attributes(format!("transaction {i}: {err}")))?;
        txs.push(tx);
    }
    let l1_info = L1BlockInfo::from_first_tx(txs.first())
        .map_err(|err| bad_attributes(format!("L1 attributes deposit: {err}")))?;
    let mut rest = txs.into_iter().skip(1).peekable();
    let mut deposits = Vec::new();
    while let Some(OpTxEnvelope::Deposit(deposit)) = rest.peek() {
        deposits.push(deposit.inner().clone());
        rest.next();
    }
    let mut forced = Vec::new();
    for tx in rest {
        if tx.is_deposit() {
            return Err(bad_attributes("a deposit after a non-deposit transaction"));
        }
        let signer = alloy::consensus::transaction::SignerRecoverable::recover_signer(&tx)
            .map_err(|err| bad_attributes(format!("transaction {}: {err}", tx.tx_hash())))?;
        let tx = TxEnvelope::try_from(tx).map_err(|err| bad_attributes(err.to_string()))?;
        forced.push(Recovered::new_unchecked(tx, signer));
    }
    let payload = &attrs.payload_attributes;
    let block = BlockAttributes {
        timestamp: payload.timestamp,
        prev_randao: payload.prev_randao,
        parent_beacon_block_root: payload.parent_beacon_block_root.unwrap_or_default(),
        l1_info,
        deposits,
    };
    Ok((block, forced))
}

/// What the fee recipient earns from `block`: each user transaction's gas times its tip.
fn fees(block: &ExecutedBlock) -> U256 {
    let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
    let mut before = 0u64;
    let mut total = U256::ZERO;
    for (tx, receipt) in block.body.iter().zip(&block.receipts) {
        let cumulative = receipt.cumulative_gas_used();
        let used = cumulative.saturating_sub(before);
        before = cumulative;
        if !tx.is_deposit() {
            let tip = tx.effective_tip_per_gas(base_fee).unwrap_or_default();
            total += U256::from(used) * U256::from(tip);
        }
    }
    total
}

impl EngineBackend for LocalEngine {
    fn new_payload(&self, block: Block, hash: B256) -> Result<PayloadStatus, EngineError> {
        let status = self.new_payload_inner(block, hash)?;
        counted("newPayload", &status);
        Ok(status)
    }

    fn forkchoice_updated(
        &self,
        forkchoice: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
        version: u8,
    ) -> Result<ForkchoiceUpdated, EngineError> {
        let updated = self.forkchoice_updated_inner(forkchoice, attrs, version)?;
        counted("forkchoiceUpdated", &updated.payload_status);
        gauge!("tributary_engine_safe_block_number").set(self.sealer.heads.safe() as f64);
        gauge!("tributary_engine_finalized_block_number").set(self.sealer.heads.finalized() as f64);
        Ok(updated)
    }

    fn get_payload(&self, id: PayloadId) -> Result<BuiltPayload, EngineError> {
        let payload = self.get_payload_inner(id)?;
        metrics::counter!("tributary_engine_payloads_built_total").increment(1);
        Ok(payload)
    }
}

impl LocalEngine {
    fn new_payload_inner(&self, block: Block, hash: B256) -> Result<PayloadStatus, EngineError> {
        let mut state = self.state.lock();
        if self.stored(hash)?.is_some() {
            return Ok(valid(hash));
        }
        if let Some((latest_valid, reason)) = state.invalid.get(&hash) {
            return Ok(invalid(Some(*latest_valid), reason.clone()));
        }
        let parent = block.header.parent_hash;
        if let Some((latest_valid, reason)) = state.invalid.get(&parent).cloned() {
            let reason = format!("the parent is invalid: {reason}");
            state.invalid.insert(hash, (latest_valid, reason.clone()));
            return Ok(invalid(Some(latest_valid), reason));
        }
        if self.sealer.db.tip().hash() == parent {
            return self.import(&mut state, &block, hash);
        }
        // ACCEPTED: its parent is stored (a side chain); SYNCING: the parent is not (even if
        // held itself: that chain is not connected yet).
        let known_parent = self.stored(parent)?.is_some();
        state.held.insert(hash, Arc::new(block));
        let status =
            if known_parent { PayloadStatusEnum::Accepted } else { PayloadStatusEnum::Syncing };
        Ok(PayloadStatus::new(status, None))
    }

    fn forkchoice_updated_inner(
        &self,
        forkchoice: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
        version: u8,
    ) -> Result<ForkchoiceUpdated, EngineError> {
        let mut state = self.state.lock();
        let hash = forkchoice.head_block_hash;
        if let Some((latest_valid, reason)) = state.invalid.get(&hash) {
            return Ok(ForkchoiceUpdated::new(invalid(Some(*latest_valid), reason.clone())));
        }
        let head = match self.make_head(&mut state, hash)? {
            Head::Stored(number) => number,
            Head::Missing => {
                return Ok(ForkchoiceUpdated::from_status(PayloadStatusEnum::Syncing));
            }
            Head::Invalid(status) => return Ok(ForkchoiceUpdated::new(status)),
        };
        // The rollup node reads the head over eth_ right after this returns: it must be
        // written by then.
        self.sealer.db.wait_persisted().map_err(internal)?;
        let safe = self.tag(forkchoice.safe_block_hash, head, "safe")?;
        let finalized = self.tag(forkchoice.finalized_block_hash, head, "finalized")?;
        if finalized > safe {
            return Err(EngineError::InvalidForkchoiceState(
                "the finalized block is above the safe block".into(),
            ));
        }
        self.sealer.heads.set(safe, finalized);
        self.sealer.db.set_safety_heads(safe, finalized).map_err(internal)?;
        let mut updated = ForkchoiceUpdated::new(valid(hash));
        if let Some(attrs) = attrs {
            let parent = self.sealer.db.tip();
            self.check_attributes(&parent, &attrs)?;
            let id = attrs.payload_id(&hash, version);
            // The same attributes again keep the build already made.
            if state.builds.get(&id).is_none() {
                tracing::debug!(target: "engine", %id, number = parent.number + 1, "payload build started");
                let no_tx_pool = attrs.no_tx_pool.unwrap_or_default();
                let mut build = Build { parent, attrs, built: None };
                // A block of the attributes' transactions alone is built now, so a forced
                // transaction the EVM refuses is reported here (-38003), where the rollup node
                // falls back to a deposit-only block; a block that takes the pool is built when
                // getPayload asks, with the pool as it is then.
                if no_tx_pool {
                    let (payload, block) = self.build(&build)?;
                    build.built = Some((payload, Some(block)));
                }
                state.builds.insert(id, build);
            }
            updated = updated.with_payload_id(id);
        }
        Ok(updated)
    }

    fn get_payload_inner(&self, id: PayloadId) -> Result<BuiltPayload, EngineError> {
        let mut state = self.state.lock();
        let build = state.builds.get(&id).ok_or(EngineError::UnknownPayload)?;
        if let Some((payload, _)) = &build.built {
            return Ok(payload.clone());
        }
        if self.sealer.db.tip().hash() != build.parent.hash() {
            // The head moved since the build started: it can no longer be built.
            return Err(EngineError::UnknownPayload);
        }
        let (payload, block) = self.build(build)?;
        if let Some(build) = state.builds.get_mut(&id) {
            build.built = Some((payload.clone(), Some(block)));
        }
        Ok(payload)
    }
}
