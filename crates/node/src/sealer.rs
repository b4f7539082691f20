//! Building, committing and announcing one block: shared by dev block production, the
//! sequencer, derivation and the import of gossiped blocks.
//!
//! # One writer at a time
//!
//! Four parts change the chain: the sequencer (or dev producer) seals, derivation builds or
//! rewinds, gossip imports, and `debug_setHead` rewinds. [`BlockSealer::writer`] is the one
//! lock they take around a read-the-head-then-write step, so none builds on a head another
//! has just replaced. The database's own write lock only makes each write atomic.

use crate::{NodeError, metrics::NodeMetrics};
use alloy::consensus::transaction::Recovered;
use std::sync::Arc;
use tokio::sync::broadcast;
use tributary_evm::{BlockAttributes, BuiltBlock, EvmConfig};
use tributary_primitives::{OpTxEnvelope, SealedHeader};
use tributary_rpc::SafetyHeads;
use tributary_storage::{Database, ExecutedBlock};
use tributary_txpool::TxPool;

/// Everything needed to seal a block on top of the head.
#[derive(Clone)]
pub(crate) struct BlockSealer {
    pub(crate) db: Database,
    pub(crate) evm: EvmConfig,
    pub(crate) pool: Arc<TxPool>,
    pub(crate) blocks: broadcast::Sender<Arc<ExecutedBlock>>,
    pub(crate) heads: Arc<SafetyHeads>,
    pub(crate) metrics: NodeMetrics,
    /// Held while the chain is read and changed (see the module docs).
    pub(crate) writer: Arc<parking_lot::Mutex<()>>,
    /// Announces rewinds to RPC filters and subscriptions.
    pub(crate) reorgs: Arc<tributary_rpc::Reorgs>,
}

impl BlockSealer {
    /// Builds the child of `parent` (the head) from `attrs` and the pool's best transactions,
    /// commits it, updates the pool and tells subscribers. Blocking: call it from a blocking
    /// thread.
    pub(crate) fn seal(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let started = std::time::Instant::now();
        let _writer = self.writer.lock();
        let base_fee = self.evm.chain().next_base_fee(parent, attrs.timestamp);
        let txs = self.pool.best_transactions(base_fee);
        let Some(built) = self.build(parent, attrs, txs)? else { return Ok(None) };
        self.commit(built, started, "sealed block")
    }

    /// Removes the blocks above `number`, tells RPC subscribers, and refreshes the pool's view
    /// of the head. The caller holds [`Self::writer`].
    pub(crate) fn rewind(&self, number: u64) -> Result<(), NodeError> {
        self.reorgs.unwind(&self.db, number)?;
        let head = self.db.head();
        let chain = self.evm.chain();
        self.pool.on_new_block(
            chain.next_base_fee(&head, head.timestamp + 1),
            head.gas_limit,
            chain.spec_id_at(head.timestamp + 1),
        );
        Ok(())
    }

    /// Executes a block someone else built (a gossiped one) on the head, checks it against
    /// its header, and commits it; None when it no longer extends the head. Blocking.
    ///
    /// # Errors
    ///
    /// [`NodeError::Execution`] when the block is invalid; storage failures.
    pub(crate) fn import(
        &self,
        block: &tributary_primitives::Block,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let started = std::time::Instant::now();
        let _writer = self.writer.lock();
        let (block, root) = match self.evm.execute_block(&self.db, block) {
            Err(tributary_evm::ExecutionError::NotChildOfHead { .. }) => return Ok(None),
            executed => executed?,
        };
        self.commit(BuiltBlock { block, root, rejected: Vec::new() }, started, "imported block")
    }

    /// Builds the child of `parent` from `attrs` and `txs`, without committing it; None when
    /// the head moved meanwhile.
    pub(crate) fn build(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        txs: Vec<Recovered<OpTxEnvelope>>,
    ) -> Result<Option<BuiltBlock>, NodeError> {
        match self.evm.build_block(&self.db, parent, attrs, txs) {
            Err(tributary_evm::ExecutionError::NotChildOfHead { number, head }) => {
                tracing::warn!(target: "node::seal", number, head, "the head moved; not sealing");
                Ok(None)
            }
            built => Ok(Some(built?)),
        }
    }

    /// Commits a built block, updates the pool and tells subscribers; None when the head
    /// moved meanwhile.
    pub(crate) fn commit(
        &self,
        built: BuiltBlock,
        started: std::time::Instant,
        what: &'static str,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let block = built.block;
        match self.db.commit_block(&block, built.root) {
            Err(tributary_storage::StorageError::NotNextBlock { number, head }) => {
                // The chain was rewound (debug_setHead) while this block was being built.
                tracing::warn!(target: "node::seal", number, head, "the head moved; not sealing");
                return Ok(None);
            }
            committed => committed?,
        }
        let header = &block.header;
        let chain = self.evm.chain();
        self.pool.drop_invalid(&built.rejected);
        self.pool.on_new_block(
            chain.next_base_fee(header, header.timestamp + 1),
            header.gas_limit,
            chain.spec_id_at(header.timestamp + 1),
        );
        self.metrics.record_block(&block, started.elapsed(), &self.pool);
        tracing::info!(
            target: "node::seal",
            chain = if chain.is_optimism() { "l2" } else { "l1" },
            number = header.number,
            hash = %header.hash(),
            txs = block.body.len(),
            gas_used = header.gas_used,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{what}"
        );
        let block = Arc::new(block);
        let _ = self.blocks.send(block.clone());
        Ok(Some(block))
    }
}
