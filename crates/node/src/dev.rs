//! Dev block production: a block every `--dev.block-time`, or one per transaction when it is 0.

use crate::{NodeError, sealer::BlockSealer, tasks::Shutdown};
use alloy_primitives::{B256, U256, keccak256};
use std::{sync::Arc, time::Duration};
use tokio::sync::broadcast;
use tributary_evm::BlockAttributes;
use tributary_protocol::{DEFAULT_DA_FOOTPRINT_GAS_SCALAR, L1BlockInfo};

/// The fixed L1 origin dev blocks commit to until the sequencer follows a real L1 (issue 4):
/// block 0 of a notional L1, with mainnet-like fee scalars so the L1 data fee is real.
pub fn dev_l1_origin(sequence_number: u64) -> L1BlockInfo {
    L1BlockInfo {
        number: 0,
        timestamp: 0,
        base_fee: U256::from(1_000_000_000u64),
        hash: keccak256(b"tributary dev L1 origin"),
        sequence_number,
        batcher_hash: B256::ZERO,
        blob_base_fee: U256::from(1),
        base_fee_scalar: 1368,
        blob_base_fee_scalar: 810_949,
        operator_fee_scalar: 0,
        operator_fee_constant: 0,
        da_footprint_gas_scalar: DEFAULT_DA_FOOTPRINT_GAS_SCALAR,
    }
}

/// Builds and commits dev blocks.
pub(crate) struct DevProducer {
    pub(crate) sealer: BlockSealer,
    pub(crate) block_time: Duration,
    pub(crate) safe_depth: u64,
    pub(crate) finalized_depth: u64,
}

impl DevProducer {
    pub(crate) async fn run(self, mut shutdown: Shutdown) -> Result<(), NodeError> {
        let this = Arc::new(self);
        let mut added = this.sealer.pool.subscribe();
        let mut ticker = tokio::time::interval(this.block_time.max(Duration::from_millis(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        // In one-block-per-transaction mode: the last block took pool transactions and more
        // are pending (they did not fit it), so seal again without waiting for a new one.
        let mut more_pending = false;
        loop {
            if this.block_time.is_zero() && more_pending {
                if shutdown.is_requested() {
                    break;
                }
            } else if this.block_time.is_zero() {
                // One block per transaction: wait for one, then seal what the pool holds.
                tokio::select! {
                    _ = shutdown.wait() => break,
                    received = added.recv() => {
                        if let Err(broadcast::error::RecvError::Closed) = received {
                            break;
                        }
                    }
                }
                while added.try_recv().is_ok() {}
                if this.sealer.pool.status().pending == 0 {
                    continue;
                }
            } else {
                tokio::select! {
                    _ = shutdown.wait() => break,
                    _ = ticker.tick() => {}
                }
            }
            // The block in flight finishes even if shutdown comes meanwhile.
            let producer = this.clone();
            let took = tokio::task::spawn_blocking(move || producer.produce_one())
                .await
                .map_err(|err| NodeError::Task(err.to_string()))??;
            more_pending = took > 0 && this.sealer.pool.status().pending > 0;
            if shutdown.is_requested() {
                break;
            }
        }
        tracing::info!(target: "dev", "block production stopped");
        Ok(())
    }

    /// Builds, commits and announces one block; returns how many pool transactions it took.
    pub(crate) fn produce_one(&self) -> Result<usize, NodeError> {
        let parent = self.sealer.db.tip();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        // On the L1 a block's slot (for the beacon API) is its block-time window: one block
        // per window, however late a block was sealed.
        let step = if self.sealer.evm.chain().is_optimism() {
            1
        } else {
            self.block_time.as_secs().max(1)
        };
        let timestamp = now.max(parent.timestamp + step);
        let attrs = BlockAttributes {
            timestamp,
            prev_randao: keccak256(parent.hash()),
            parent_beacon_block_root: B256::ZERO,
            l1_info: dev_l1_origin(parent.number + 1),
            deposits: Vec::new(),
        };
        let Some(block) = self.sealer.seal(&parent, attrs)? else { return Ok(0) };
        if self.block_time.is_zero() {
            // One block per transaction: the loop asks the pool whether more are pending, and
            // the block's own leave it only once it is written.
            self.sealer.db.wait_persisted()?;
        }
        let number = block.header.number;
        self.sealer.heads.set(
            number.saturating_sub(self.safe_depth),
            number.saturating_sub(self.finalized_depth),
        );
        Ok(block.body.iter().filter(|tx| !tx.is_deposit()).count())
    }
}
