//! The derivation driver: the node's `safe` and `finalized` heads, from L1 data alone.
//!
//! It feeds L1 blocks (`l1.rs`) to the pure pipeline of `tributary-derive` and turns each set
//! of payload attributes into the next safe block through [`ExecutionEngine`] (`engine.rs`),
//! the same executor the sequencer seals with:
//!
//! - the stored block at that height is the one the attributes describe (the sequencer's own
//!   block, or one a follower took from gossip): it becomes safe as it is (consolidation);
//! - it differs: the derived block wins. The unsafe chain above the safe head is rewound and
//!   the derived block built in its place (RPC subscribers see the new blocks);
//! - there is none yet (a follower catching up): the derived block is built.
//!
//! `finalized` is the newest safe block derived from an L1 block at or below the L1's
//! finalized block. Both heads are written to the database, so a restart resumes where it was.
//!
//! # Resets
//!
//! When the L1 reorganizes under the pipeline (a pushed block does not extend its origin) or
//! the pipeline finds the safe head inconsistent, the driver walks the safe head back until
//! the L1 block it was derived from (when known) and its L1 origin are both canonical, and
//! restarts the pipeline one channel timeout before that origin.

mod engine;
mod l1;

pub(crate) use engine::{DatabaseEngine, ExecutionEngine};
pub use engine::{decode_batch_transactions, derived_block_attributes};

use crate::{NodeError, tasks::Shutdown};
use alloy::rpc::types::BlockNumberOrTag;
use alloy_primitives::Bytes;
use std::{collections::VecDeque, sync::Arc, time::Duration};
use tributary_chainspec::BlockId;
use tributary_derive::{L2BlockInfo, L2Chain, PayloadAttributes, Pipeline};
use tributary_l1::L1Client;
use tributary_rpc::SafetyHeads;

/// How many safe blocks' L1 inclusion blocks are remembered (for finality and resets).
const DERIVED_FROM_KEPT: usize = 4096;
/// How long to wait for the L1 when it has nothing new.
const L1_POLL: Duration = Duration::from_millis(250);
/// L1 blocks kept pushed past the pipeline's origin while the L1 has them (catching up): the
/// channels they complete are read, and their senders recovered on another core, while the
/// blocks of the channels before them are built.
const L1_LOOKAHEAD: usize = 4;

/// Drives derivation until shutdown.
pub(crate) struct DerivationDriver {
    pub(crate) engine: DatabaseEngine,
    pub(crate) l1: L1Client,
    /// The L1 beacon API, for batches posted as blobs (`--l1.beacon`).
    pub(crate) beacon: Option<tributary_l1::BeaconClient>,
    pub(crate) heads: Arc<SafetyHeads>,
}

struct State {
    pipeline: Pipeline,
    safe: L2BlockInfo,
    finalized: u64,
    /// `(L2 block, the L1 block its batch was read from)`, oldest first.
    derived_from: VecDeque<(u64, BlockId)>,
    /// The L1's finalized block number, as last read.
    l1_finalized: u64,
    /// The L1's head block number, as last read.
    l1_head: u64,
    started: bool,
}

struct Chain<'a, E>(&'a E);

impl<E: ExecutionEngine> L2Chain for Chain<'_, E> {
    fn block(&self, number: u64) -> Option<(L2BlockInfo, Vec<Bytes>)> {
        self.0.block_info(number).ok().flatten()
    }
}

impl DerivationDriver {
    pub(crate) async fn run(self, mut shutdown: Shutdown) -> Result<(), NodeError> {
        let db = self.engine.sealer.db.clone();
        let (safe, finalized) = db.safety_heads()?;
        let safe = self.info(safe)?;
        let mut state = State {
            pipeline: Pipeline::new(self.engine.rollup.clone()),
            safe,
            finalized,
            derived_from: VecDeque::new(),
            l1_finalized: 0,
            l1_head: 0,
            started: false,
        };
        self.heads.set(safe.number, finalized);
        tracing::info!(target: "derive", safe = safe.number, finalized, "derivation starting");
        loop {
            if shutdown.is_requested() {
                break;
            }
            if !state.started {
                match self.reset(&mut state).await {
                    Ok(()) => state.started = true,
                    Err(reason) => {
                        tracing::warn!(target: "derive", %reason, "cannot start derivation yet");
                        if pause(&mut shutdown, Duration::from_secs(1)).await {
                            break;
                        }
                        continue;
                    }
                }
            }
            let newest = state.pipeline.newest_l1().map_or(0, |id| id.number);
            if state.pipeline.queued_l1() < L1_LOOKAHEAD && newest < state.l1_head {
                self.push_l1(&mut state, newest.saturating_add(1)).await;
                if !state.started {
                    // The L1 reorganized under the blocks held: reset before deriving more.
                    continue;
                }
            }
            let step = tokio::task::block_in_place(|| {
                state.pipeline.next(&state.safe, &Chain(&self.engine))
            });
            // Blocks built from L1 data (no unsafe twin to consolidate with) need their
            // senders: recover the channel's ahead, on another core, while they are built.
            let read = state.pipeline.take_read_transactions();
            if self.engine.head_number() <= state.safe.number {
                self.engine.senders.prefetch(read);
            }
            match step {
                Ok(Some(attrs)) => tokio::task::block_in_place(|| self.apply(&mut state, attrs))?,
                Ok(None) => {
                    if !self.advance_l1(&mut state).await && pause(&mut shutdown, L1_POLL).await {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(target: "derive", %err, "resetting the pipeline");
                    metrics::counter!("tributary_derive_resets_total").increment(1);
                    state.started = false;
                }
            }
        }
        tracing::info!(target: "derive", safe = state.safe.number, "derivation stopped");
        Ok(())
    }

    fn info(&self, number: u64) -> Result<L2BlockInfo, NodeError> {
        self.engine
            .block_info(number)?
            .map(|(info, _)| info)
            .ok_or_else(|| NodeError::Task(format!("no L2 block {number}")))
    }

    /// Makes the block `attrs` describe the next safe block.
    fn apply(&self, state: &mut State, attrs: PayloadAttributes) -> Result<(), NodeError> {
        let number = attrs.parent.number.saturating_add(1);
        // Compare, rewind and build with no other writer in between (sequencer, gossip).
        let _writer = self.engine.sealer.writer.lock();
        let info = if self.engine.head_number() >= number && self.engine.matches(&attrs)? {
            self.info(number)?
        } else {
            if self.engine.head_number() >= number {
                tracing::warn!(
                    target: "derive",
                    number,
                    unsafe_head = self.engine.head_number(),
                    "the derived block differs from the unsafe one: reorganizing the unsafe chain"
                );
                self.engine.rewind(attrs.parent.number)?;
            }
            let built = self.engine.build(&attrs)?;
            if built.replaced {
                state.pipeline.flush_channel();
            }
            built.info
        };
        state.safe = info;
        state.derived_from.push_back((number, attrs.derived_from));
        if state.derived_from.len() > DERIVED_FROM_KEPT {
            state.derived_from.pop_front();
        }
        self.finalize(state);
        tracing::debug!(
            target: "derive",
            l2 = number,
            l1 = attrs.derived_from.number,
            "derived block"
        );
        metrics::gauge!("tributary_derive_safe_head").set(number as f64);
        Ok(())
    }

    /// Moves `finalized` to the newest safe block read from a finalized L1 block, and records
    /// both heads.
    fn finalize(&self, state: &mut State) {
        // Entries are in L2 order, and L1 inclusion never goes back: the last one read from a
        // finalized L1 block is the newest finalized L2 block.
        let newest = state
            .derived_from
            .iter()
            .rev()
            .find(|(_, from)| from.number <= state.l1_finalized)
            .map_or(0, |(l2, _)| *l2);
        state.finalized = state.finalized.max(newest).min(state.safe.number);
        // Recorded before it is published: a head a client saw survives a crash.
        if let Err(err) = self.engine.sealer.db.set_safety_heads(state.safe.number, state.finalized)
        {
            tracing::warn!(target: "derive", %err, "cannot record the safe head");
        }
        self.heads.set(state.safe.number, state.finalized);
        metrics::gauge!("tributary_derive_finalized_head").set(state.finalized as f64);
    }

    /// Reads the L1 head and pushes the next L1 block; false when there is none yet (or the
    /// L1 is unreachable).
    async fn advance_l1(&self, state: &mut State) -> bool {
        let Some(newest) = state.pipeline.newest_l1() else { return false };
        let next = newest.number.saturating_add(1);
        state.l1_head = match self.l1.block_number().await {
            Ok(head) => head,
            Err(err) => {
                tracing::warn!(target: "derive", %err, "L1 unavailable");
                return false;
            }
        };
        if next > state.l1_head {
            self.read_l1_finality(state).await;
            return false;
        }
        self.push_l1(state, next).await
    }

    /// Fetches L1 block `next` and pushes it; false when it could not be read.
    async fn push_l1(&self, state: &mut State, next: u64) -> bool {
        let block = match l1::fetch_l1_block(
            &self.l1,
            self.beacon.as_ref(),
            &self.engine.rollup,
            next,
        )
        .await
        {
            Ok(Some(block)) => block,
            Ok(None) => return false,
            Err(reason) => {
                tracing::warn!(target: "derive", %reason, l1 = next, "cannot read the L1 block");
                return false;
            }
        };
        // Pushing reads the block's channels (decompression, batch decoding): CPU work.
        let pushed = tokio::task::block_in_place(|| state.pipeline.push_l1(block));
        if let Err(err) = pushed {
            tracing::warn!(target: "derive", %err, "L1 reorganized: resetting the pipeline");
            metrics::counter!("tributary_derive_resets_total").increment(1);
            state.started = false;
            return true;
        }
        // Progress is the origin's (the L1 block being read), not the newest block pushed.
        let origin = state.pipeline.origin().map_or(next, |id| id.number);
        let behind = state.l1_head.saturating_sub(origin);
        metrics::gauge!("tributary_derive_l1_block").set(origin as f64);
        metrics::gauge!("tributary_derive_l1_behind_blocks").set(behind as f64);
        if next.is_multiple_of(16) || behind < 1 {
            tracing::info!(
                target: "derive",
                l1 = origin,
                behind,
                safe = state.safe.number,
                "derived L2 #{} from L1 #{origin}, {behind} L1 blocks behind",
                state.safe.number,
            );
        }
        true
    }

    async fn read_l1_finality(&self, state: &mut State) {
        if let Ok(Some(block)) = self.l1.block(BlockNumberOrTag::Finalized, false).await
            && block.header.number > state.l1_finalized
        {
            state.l1_finalized = block.header.number;
            tokio::task::block_in_place(|| self.finalize(state));
        }
    }

    /// Walks the safe head back to a block whose L1 inclusion block (when known) and L1
    /// origin are canonical, and restarts the pipeline before it.
    async fn reset(&self, state: &mut State) -> Result<(), String> {
        let genesis = self.engine.rollup.genesis.l2.number;
        loop {
            let safe = state.safe;
            let from = state
                .derived_from
                .iter()
                .rev()
                .find(|(l2, _)| *l2 == safe.number)
                .map(|(_, from)| *from);
            let canonical = self.is_canonical(safe.l1_origin).await?
                && match from {
                    Some(from) => self.is_canonical(from).await?,
                    None => true,
                };
            if canonical {
                break;
            }
            if safe.number <= genesis {
                return Err("the rollup's L1 anchor is not on the L1 chain".into());
            }
            state.safe = tokio::task::block_in_place(|| self.info(safe.number - 1))
                .map_err(|err| err.to_string())?;
        }
        let safe = state.safe.number;
        state.derived_from.retain(|(l2, _)| *l2 <= safe);
        state.finalized = state.finalized.min(safe);
        let start = state.pipeline.start_l1_number(&state.safe);
        let block = l1::fetch_l1_block(&self.l1, self.beacon.as_ref(), &self.engine.rollup, start)
            .await?
            .ok_or_else(|| format!("the L1 has no block {start}"))?;
        tracing::info!(target: "derive", safe, l1_start = start, "derivation (re)started");
        tokio::task::block_in_place(|| {
            // Reading the start block's channels is CPU work, as pushing is.
            state.pipeline.reset(block);
            self.finalize(state);
        });
        Ok(())
    }

    async fn is_canonical(&self, id: BlockId) -> Result<bool, String> {
        let block = self
            .l1
            .block(BlockNumberOrTag::Number(id.number), false)
            .await
            .map_err(|err| err.to_string())?;
        Ok(block.is_some_and(|block| block.header.hash == id.hash))
    }
}

/// Sleeps `duration` or until shutdown; true on shutdown.
async fn pause(shutdown: &mut Shutdown, duration: Duration) -> bool {
    tokio::select! {
        _ = shutdown.wait() => true,
        _ = tokio::time::sleep(duration) => false,
    }
}
