//! The sequencer's block loop: one L2 block every block time, on the timestamps the rollup
//! fixes (`genesis + n * block_time`), with the L1 origin and deposits the sequencer picks.
//! Behind schedule (after a restart), it seals back to back until it has caught up.
//!
//! With flashblocks (a round interval, `--dev.block-time` under a second), the block with
//! timestamp `t` is built in rounds from `t - block_time` (as soon as its parent is sealed)
//! until `t`: each round takes the transactions that reached the pool since the last one and
//! shows the block so far to RPC (preconfirmed receipts), and the block is sealed at `t`, when
//! it would have been built without rounds.

use crate::{NodeError, sealer::BlockSealer, tasks::Shutdown};
use std::{sync::Arc, time::Duration};
use tributary_sequencer::{Decision, Sequencer};

pub(crate) struct SequencingLoop {
    pub(crate) sealer: BlockSealer,
    pub(crate) sequencer: Sequencer,
    /// The round interval when blocks are built in rounds (flashblocks).
    pub(crate) flashblocks: Option<Duration>,
    /// Where the rounds show the block being built.
    pub(crate) preconfirmed: Arc<tributary_rpc::Preconfirmed>,
}

impl SequencingLoop {
    pub(crate) async fn run(self, mut shutdown: Shutdown) -> Result<(), NodeError> {
        let this = Arc::new(self);
        let mut waiting: Option<String> = None;
        tracing::info!(
            target: "sequencer",
            block_time = this.sequencer.rollup().block_time,
            flashblock_ms = this.flashblocks.map(|interval| interval.as_millis() as u64),
            head = this.sealer.db.head_number(),
            "sequencing"
        );
        loop {
            let parent = this.sealer.db.tip();
            let next = parent.timestamp.saturating_add(this.sequencer.rollup().block_time);
            // In rounds, the block is built over its whole slot, from its parent's time on.
            let start = if this.flashblocks.is_some() { parent.timestamp } else { next };
            let until = Duration::from_secs(start).saturating_sub(unix_now());
            if !until.is_zero() {
                tokio::select! {
                    _ = shutdown.wait() => break,
                    _ = tokio::time::sleep(until) => {}
                }
            }
            if shutdown.is_requested() {
                break;
            }
            // The parent may still be being written: its body is then read from memory.
            let db = &this.sealer.db;
            let first_tx = match db.unwritten_block().filter(|b| b.header.hash() == parent.hash()) {
                Some(unwritten) => unwritten.body.first().cloned(),
                None => db.body(parent.number)?.and_then(|body| body.into_iter().next()),
            };
            match this.sequencer.next_block(&parent, first_tx.as_ref()).await {
                Ok(Decision::Build(attrs)) => {
                    if waiting.take().is_some() {
                        tracing::info!(target: "sequencer", "resuming block production");
                    }
                    let this = this.clone();
                    let deadline = std::time::Instant::now()
                        + Duration::from_secs(next).saturating_sub(unix_now());
                    tokio::task::spawn_blocking(move || match this.flashblocks {
                        Some(interval) => this.sealer.seal_in_rounds(
                            &parent,
                            *attrs,
                            interval,
                            deadline,
                            &this.preconfirmed,
                        ),
                        None => this.sealer.seal(&parent, *attrs),
                    })
                    .await
                    .map_err(|err| NodeError::Task(err.to_string()))??;
                }
                Ok(Decision::Wait(reason)) => {
                    if waiting.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(target: "sequencer", %reason, "not building");
                        waiting = Some(reason);
                    }
                    tokio::select! {
                        _ = shutdown.wait() => break,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
                Err(err) => return Err(NodeError::Task(err.to_string())),
            }
        }
        tracing::info!(target: "sequencer", "block production stopped");
        Ok(())
    }
}

fn unix_now() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}
