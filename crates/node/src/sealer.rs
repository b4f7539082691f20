//! Building, committing and announcing one block: shared by dev block production, the
//! sequencer, derivation and the import of gossiped blocks.
//!
//! # One writer at a time
//!
//! Four parts change the chain: the sequencer (or dev producer) seals, derivation builds or
//! rewinds, gossip imports, and `debug_setHead` rewinds. [`BlockSealer::writer`] is the one
//! lock they take around a read-the-head-then-write step, so none builds on a head another
//! has just replaced. The database's own write lock only makes each write atomic.
//!
//! # Written before announced
//!
//! Sealed, imported and derived blocks are written on another thread while the next block
//! executes
//! ([`BlockSealer::commit_in_background`]; `Database::commit_block_in_background`): the
//! pool, RPC subscribers, gossip and the metrics hear of a block only from the writing
//! thread, once it is in RocksDB, so a block any client saw survives `kill -9`. The writer
//! builds on the database's tip meanwhile. Whatever reads the chain rather than building on
//! it (a rewind, the comparison of a stored block with a gossiped or derived one) waits for
//! the write first. The sequencer's blocks are written the same way: the pool drops a
//! block's transactions once it is written, so until then the block built on it leaves them
//! out itself ([`BlockSealer::unwritten`]).
//!
//! # Blob sidecars (the L1 dev chain)
//!
//! A block keeps the sidecars of its blob transactions beside it (`ExecutedBlock::
//! blob_sidecars`, for the beacon API). They come from the pool, taken with the picks when a
//! block is built (a blob transaction whose sidecar the pool no longer holds, replaced since
//! it was picked, is left out), or looked up when a block is imported. A block whose
//! sidecars are not all at hand (one imported without them) keeps none, and the beacon API
//! says so rather than serving a partial list. A rewind gives blob transactions back to the
//! pool in network form, with the sidecars read from the removed blocks.

use crate::{NodeError, metrics::NodeMetrics};
use alloy::{
    consensus::transaction::Recovered,
    eips::{Typed2718, eip4844::BlobTransactionSidecar},
};
use alloy_primitives::{
    B256,
    map::{HashMap, HashSet},
};
use std::sync::Arc;
use tokio::sync::broadcast;
use tributary_evm::{BlockAttributes, BuiltBlock, EvmConfig};
use tributary_primitives::{PooledTransaction, SealedHeader, TxEnvelope};
use tributary_rpc::SafetyHeads;
use tributary_storage::{Database, ExecutedBlock};
use tributary_txpool::TxPool;

/// The seam between what decides a block and the chain: payload attributes in, a committed
/// block out. The sequencer ([`BlockSealer::seal`]), derivation (`derivation/engine.rs`) and
/// an outside rollup node over the Engine API (`engine.rs`) all build and commit through it,
/// so there is one path from attributes to a committed block. [`BlockSealer`] is the local
/// implementation; building in rounds (flashblocks, [`BlockSealer::seal_in_rounds`]) shows
/// each round to RPC as it goes and stays beside it.
pub(crate) trait Engine {
    /// Builds the child of `parent` (the tip) from `attrs`: the L1 attributes deposit and the
    /// deposits, then `forced` in order, then (with `from_pool`) the pool's best transactions
    /// but the unwritten parent's. Not committed.
    fn build_payload(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        forced: Vec<Recovered<TxEnvelope>>,
        from_pool: bool,
    ) -> Result<Payload, NodeError>;

    /// Commits a built payload (handed to the writing thread); None when the head moved.
    fn commit_payload(
        &self,
        built: BuiltBlock,
        started: std::time::Instant,
        what: &'static str,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError>;
}

/// What [`Engine::build_payload`] made.
pub(crate) enum Payload {
    /// The block, ready to commit.
    Built(Box<BuiltBlock>),
    /// The tip is no longer `parent`.
    HeadMoved,
    /// A forced transaction was refused by the EVM (or left out): the attributes do not make a
    /// block. The reason names it.
    ForcedRefused(String),
}

impl Engine for BlockSealer {
    fn build_payload(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        forced: Vec<Recovered<TxEnvelope>>,
        from_pool: bool,
    ) -> Result<Payload, NodeError> {
        let deposits = attrs.deposits.len();
        let forced_hashes: Vec<B256> = forced.iter().map(|tx| tx.tx_hash()).collect();
        let mut txs = forced;
        // The sidecars of the blob transactions picked, taken with them: a transaction
        // replaced or evicted while the block is built must not take its blobs along.
        let mut sidecars = HashMap::default();
        if from_pool {
            let base_fee = self.evm.chain().next_base_fee(parent, attrs.timestamp);
            let mut picks = self.pool_picks(base_fee);
            picks.retain(|tx| !forced_hashes.contains(&tx.tx_hash()));
            picks.retain(|tx| self.take_sidecar(tx, &mut sidecars));
            txs.extend(picks);
        }
        let Some(mut built) = self.build(parent, attrs, txs)? else {
            return Ok(Payload::HeadMoved);
        };
        built.block.blob_sidecars = sidecars_in_order(&built.block.body, &sidecars);
        let included = built.block.body.iter().skip(1 + deposits).map(|tx| tx.tx_hash());
        if !included.take(forced_hashes.len()).eq(forced_hashes.iter().copied()) {
            let reason = built
                .rejected
                .iter()
                .find(|(hash, _)| forced_hashes.contains(hash))
                .map(|(hash, why)| format!("forced transaction {hash}: {why}"))
                .unwrap_or_else(|| "a forced transaction was left out".into());
            return Ok(Payload::ForcedRefused(reason));
        }
        Ok(Payload::Built(Box::new(built)))
    }

    fn commit_payload(
        &self,
        built: BuiltBlock,
        started: std::time::Instant,
        what: &'static str,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        self.commit_in_background(built, started, what)
    }
}

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
    /// The transactions of the block handed to the writing thread last: pooled until it is
    /// written, and not offered to the block built on it meanwhile.
    pub(crate) unwritten: Arc<parking_lot::Mutex<Arc<HashSet<B256>>>>,
}

impl BlockSealer {
    /// Builds the child of `parent` (the tip) from `attrs` and the pool's best transactions
    /// (but the unwritten parent's), and hands it to the writing thread; the pool update and
    /// the announcements follow the write (see the module docs). Blocking: call it from a
    /// blocking thread.
    pub(crate) fn seal(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let started = std::time::Instant::now();
        let _writer = self.writer.lock();
        match self.build_payload(parent, attrs, Vec::new(), true)? {
            Payload::Built(built) => self.commit_payload(*built, started, "sealed block"),
            Payload::HeadMoved | Payload::ForcedRefused(_) => Ok(None),
        }
    }

    /// The pool's best transactions for a block at `base_fee`, but those of the block still
    /// being written (the pool drops them once it is written).
    fn pool_picks(&self, base_fee: u64) -> Vec<Recovered<TxEnvelope>> {
        let unwritten = self.unwritten.lock().clone();
        let mut txs = self.pool.best_transactions(base_fee);
        txs.retain(|tx| !unwritten.contains(&tx.tx_hash()));
        txs
    }

    /// [`Self::seal`] in rounds (flashblocks): the pool's best transactions now, then every
    /// `interval` the ones that arrived since, until `deadline`; after each round the block so
    /// far is shown through `preconfirmed`. The chain is not locked while the rounds run, so
    /// the block is committed only if the head is still `parent` at the end; otherwise it is
    /// thrown away and its transactions, still pooled, wait for the next block. Blocking.
    pub(crate) fn seal_in_rounds(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        interval: std::time::Duration,
        deadline: std::time::Instant,
        preconfirmed: &tributary_rpc::Preconfirmed,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let started = std::time::Instant::now();
        let chain = self.evm.chain();
        let base_fee = chain.next_base_fee(parent, attrs.timestamp);
        let spec = chain.spec_id_at(attrs.timestamp);
        let header = self.evm.next_header(
            parent,
            attrs.timestamp,
            attrs.prev_randao,
            attrs.parent_beacon_block_root,
        );
        // The parent's transactions stay pooled until it is written: never offer them.
        let mut offered: HashSet<B256> = (**self.unwritten.lock()).clone();
        let mut first = self.pool.best_transactions(base_fee);
        first.retain(|tx| offered.insert(tx.tx_hash()));
        let mut rounds = 0u64;
        let mut next_round = |round: tributary_evm::Round<'_>| {
            rounds += 1;
            let (body, senders) = round.included.iter().map(|tx| tx.clone().into_parts()).unzip();
            preconfirmed.set(tributary_rpc::PendingBlock::new(
                header.clone(),
                body,
                senders,
                round.receipts.iter().cloned().map(Into::into).collect(),
                round.l1_fee.map(|l1| (l1.clone(), spec)),
                round.state,
            ));
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            std::thread::sleep(interval.min(left));
            let arrived: Vec<_> = self
                .pool
                .best_transactions(base_fee)
                .into_iter()
                .filter(|tx| offered.insert(tx.tx_hash()))
                .collect();
            Some(arrived)
        };
        let built = self.evm.build_block_in_rounds(&self.db, parent, attrs, first, &mut next_round);
        metrics::counter!("tributary_sequencer_rounds_total").increment(rounds);
        let built = match built {
            Err(tributary_evm::ExecutionError::NotChildOfHead { number, head }) => {
                tracing::warn!(target: "node::seal", number, head, "the head moved; not sealing");
                preconfirmed.clear();
                return Ok(None);
            }
            built => built?,
        };
        let _writer = self.writer.lock();
        if self.db.tip().hash() != parent.hash() {
            tracing::warn!(
                target: "node::seal",
                number = parent.number + 1,
                "the head moved while the block was built in rounds; not sealing it"
            );
            preconfirmed.clear();
            return Ok(None);
        }
        let sealed = self.commit_in_background(built, started, "sealed block");
        // The preconfirmed receipts stay served until the block is written and RPC finds them
        // there: a receipt a client has seen never goes missing in between.
        let written = self.db.wait_persisted();
        preconfirmed.clear();
        written?;
        sealed
    }

    /// Removes the blocks above `number`, tells RPC subscribers, refreshes the pool's view of
    /// the head, and gives the removed blocks' transactions back to the pool: a transaction a
    /// client saw included is not lost when its block is replaced. The caller holds
    /// [`Self::writer`].
    pub(crate) fn rewind(&self, number: u64) -> Result<(), NodeError> {
        self.db.wait_persisted()?;
        let mut sidecars = self.kept_sidecars_above(number)?;
        let Some(reorg) = self.reorgs.unwind(&self.db, number)? else { return Ok(()) };
        // The removed blocks' transactions go back to the pool, to be offered again; blob
        // transactions in network form, with the sidecars their blocks kept.
        *self.unwritten.lock() = Arc::default();
        let removed: Vec<Vec<u8>> = reorg
            .blocks
            .iter()
            .flat_map(|block| &block.transactions)
            .filter(|tx| !tx.is_deposit())
            .map(|tx| {
                let sidecar = sidecars.remove(&tx.tx_hash());
                PooledTransaction { tx: tx.clone(), sidecar }.encode()
            })
            .collect();
        let head = self.db.head();
        let chain = self.evm.chain();
        self.pool.on_new_block(
            chain.next_base_fee(&head, head.timestamp + 1),
            head.gas_limit,
            chain.spec_id_at(head.timestamp + 1),
        );
        let mut returned = 0;
        for raw in &removed {
            // Refused ones were invalid on the new chain (or are pooled already).
            returned += usize::from(self.pool.add_raw(raw).is_ok());
        }
        if !removed.is_empty() {
            tracing::info!(
                target: "node::seal",
                to = number,
                transactions = removed.len(),
                returned,
                "rewound; the removed blocks' transactions went back to the pool"
            );
        }
        Ok(())
    }

    /// The sidecars the blocks above `number` keep, by transaction hash.
    fn kept_sidecars_above(
        &self,
        number: u64,
    ) -> Result<HashMap<B256, BlobTransactionSidecar>, NodeError> {
        let mut sidecars = HashMap::default();
        if self.evm.chain().is_optimism() {
            // No blobs on an OP chain: a deep rewind reads nothing more than it did.
            return Ok(sidecars);
        }
        for n in number.saturating_add(1)..=self.db.head_number() {
            let kept = self.db.blob_sidecars(n)?;
            if kept.is_empty() {
                continue;
            }
            let body = self.db.body(n)?.unwrap_or_default();
            let blob_txs = body.iter().filter(|tx| tx.ty() == 3);
            sidecars.extend(blob_txs.map(TxEnvelope::tx_hash).zip(kept));
        }
        Ok(sidecars)
    }

    /// For a blob transaction: puts its pooled sidecar into `sidecars`, or says to leave the
    /// transaction out when the pool no longer holds it (replaced since it was picked). Any
    /// other transaction is kept.
    fn take_sidecar(
        &self,
        tx: &Recovered<TxEnvelope>,
        sidecars: &mut HashMap<B256, Arc<BlobTransactionSidecar>>,
    ) -> bool {
        if tx.ty() != 3 {
            return true;
        }
        let hash = tx.tx_hash();
        match self.pool.get(&hash).and_then(|pooled| pooled.sidecar.clone()) {
            Some(sidecar) => {
                sidecars.insert(hash, sidecar);
                true
            }
            None => false,
        }
    }

    /// The pool's sidecars for the blob transactions of `body` (an imported block's), in
    /// order; empty when any is missing (see the module docs).
    fn pooled_sidecars(&self, body: &[TxEnvelope]) -> Vec<Arc<BlobTransactionSidecar>> {
        let mut sidecars = HashMap::default();
        for tx in body.iter().filter(|tx| tx.ty() == 3) {
            let hash = tx.tx_hash();
            if let Some(sidecar) = self.pool.get(&hash).and_then(|pooled| pooled.sidecar.clone()) {
                sidecars.insert(hash, sidecar);
            }
        }
        sidecars_in_order(body, &sidecars)
    }

    /// Executes a block someone else built (a gossiped one) on the tip, checks it against
    /// its header, and hands it to the writing thread
    /// ([`Self::commit_in_background`]); None when it does not extend the tip. A block at or below
    /// the head whose parent is ours and which is above the safe head replaces our block there
    /// (the sequencer replaced it), in the same hold of [`Self::writer`]. Blocking.
    ///
    /// # Errors
    ///
    /// [`NodeError::Execution`] when the block is invalid; storage failures.
    pub(crate) fn import(
        &self,
        block: &tributary_primitives::Block,
        senders: Option<&tributary_evm::SenderCache>,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let started = std::time::Instant::now();
        let _writer = self.writer.lock();
        let number = block.header.number;
        if number <= self.db.tip_number() {
            // Compared with the stored chain: wait until all of it is stored.
            self.db.wait_persisted()?;
            if number <= self.heads.safe()
                || number == 0
                || self.db.block_hash(number - 1)? != Some(block.header.parent_hash)
            {
                return Ok(None);
            }
            tracing::warn!(
                target: "node::gossip",
                number,
                unsafe_head = self.db.head_number(),
                "the sequencer replaced an unsafe block: reorganizing the unsafe chain"
            );
            self.rewind(number - 1)?;
        }
        let executed = match senders {
            Some(senders) => self.evm.execute_block_with(&self.db, block, senders),
            None => self.evm.execute_block_timed(&self.db, block),
        };
        let (block, root, timings) = match executed {
            Err(tributary_evm::ExecutionError::NotChildOfHead { .. }) => return Ok(None),
            executed => executed?,
        };
        self.commit_in_background(
            BuiltBlock { block, root, rejected: Vec::new(), timings },
            started,
            "imported block",
        )
    }

    /// Builds the child of `parent` from `attrs` and `txs`, without committing it; None when
    /// the head moved meanwhile.
    pub(crate) fn build(
        &self,
        parent: &SealedHeader,
        attrs: BlockAttributes,
        txs: Vec<Recovered<TxEnvelope>>,
    ) -> Result<Option<BuiltBlock>, NodeError> {
        match self.evm.build_block(&self.db, parent, attrs, txs) {
            Err(tributary_evm::ExecutionError::NotChildOfHead { number, head }) => {
                tracing::warn!(target: "node::seal", number, head, "the head moved; not sealing");
                Ok(None)
            }
            built => Ok(Some(built?)),
        }
    }

    /// Commits a built block, returning once it is handed to the writing thread: the pool
    /// update and the announcements (subscribers, metrics, the log) follow the write, on that
    /// thread (see the module docs). The next block can be built on it meanwhile. None when
    /// the head moved.
    pub(crate) fn commit_in_background(
        &self,
        built: BuiltBlock,
        started: std::time::Instant,
        what: &'static str,
    ) -> Result<Option<Arc<ExecutedBlock>>, NodeError> {
        let mut block = built.block;
        if block.blob_sidecars.is_empty() {
            // Built here, they came with the picks; imported, from the pool if it has them.
            block.blob_sidecars = self.pooled_sidecars(&block.body);
        }
        let block = Arc::new(block);
        let announcer = self.clone();
        let rejected = built.rejected;
        let hashes: HashSet<B256> = block.body.iter().map(|tx| tx.tx_hash()).collect();
        let on_written: tributary_storage::OnWritten = Box::new(move |block, written| {
            // A failed write is reported to the next writer (the database stops writing).
            if written.is_ok() {
                announcer.announce(block, &rejected, started, what);
            }
        });
        match self.db.commit_block_in_background(block.clone(), built.root, on_written) {
            Err(tributary_storage::StorageError::NotNextBlock { number, head }) => {
                // The chain was rewound (debug_setHead) while this block was being built.
                tracing::warn!(target: "node::seal", number, head, "the head moved; not sealing");
                Ok(None)
            }
            committed => {
                committed?;
                // Kept until the next hand-off: once the block is written the pool has
                // dropped them, so leaving them out of later blocks changes nothing.
                *self.unwritten.lock() = Arc::new(hashes);
                Ok(Some(block))
            }
        }
    }

    /// Tells the pool, the metrics, the log and subscribers of a written block.
    fn announce(
        &self,
        block: &Arc<ExecutedBlock>,
        rejected: &[(alloy_primitives::B256, String)],
        started: std::time::Instant,
        what: &'static str,
    ) {
        let header = &block.header;
        let chain = self.evm.chain();
        self.pool.drop_invalid(rejected);
        self.pool.on_new_block(
            chain.next_base_fee(header, header.timestamp + 1),
            header.gas_limit,
            chain.spec_id_at(header.timestamp + 1),
        );
        self.metrics.record_block(block, started.elapsed(), &self.pool);
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
        let _ = self.blocks.send(block.clone());
    }
}

/// The sidecars of `body`'s blob transactions from `sidecars`, in block order; empty when any
/// is missing (see the module docs).
fn sidecars_in_order(
    body: &[TxEnvelope],
    sidecars: &HashMap<B256, Arc<BlobTransactionSidecar>>,
) -> Vec<Arc<BlobTransactionSidecar>> {
    let mut ordered = Vec::new();
    for tx in body.iter().filter(|tx| tx.ty() == 3) {
        let hash = tx.tx_hash();
        match sidecars.get(&hash) {
            Some(sidecar) => ordered.push(sidecar.clone()),
            None => {
                tracing::warn!(target: "node::seal", %hash, "blob sidecar not at hand; the block keeps none");
                return Vec::new();
            }
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{SignableTransaction, TxEip1559},
        eips::Encodable2718,
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{Address, B256, TxKind, U256};
    use tributary_chainspec::ChainSpec;

    /// A sealer over a fresh dev-chain database in `dir`.
    fn sealer(dir: &std::path::Path) -> BlockSealer {
        sealer_on(ChainSpec::dev(), dir)
    }

    /// A sealer over a fresh database of `chain` in `dir`, its pool as `launch` makes it.
    fn sealer_on(chain: ChainSpec, dir: &std::path::Path) -> BlockSealer {
        let chain = Arc::new(chain);
        let db = Database::open(dir, &chain, Default::default()).unwrap();
        let head = db.head();
        let pool = TxPool::new(
            Default::default(),
            chain.chain_id(),
            chain.spec_id_at(head.timestamp + 1),
            head.gas_limit,
            chain.next_base_fee(&head, head.timestamp + 1),
            Arc::new(crate::HeadState(db.clone())),
        );
        let pool = Arc::new(if chain.is_optimism() { pool } else { pool.with_blob_transactions() });
        BlockSealer {
            db,
            evm: EvmConfig::new(chain),
            pool,
            blocks: broadcast::channel(8).0,
            heads: Default::default(),
            metrics: NodeMetrics,
            writer: Default::default(),
            reorgs: Default::default(),
            unwritten: Default::default(),
        }
    }

    /// A 1-wei transfer from dev account 0 to `to`, nonce 0.
    fn transfer(to: u8) -> Vec<u8> {
        transfer_with_nonce(to, 0)
    }

    /// A 1-wei transfer from dev account 0 to `to`.
    fn transfer_with_nonce(to: u8, nonce: u64) -> Vec<u8> {
        let key: PrivateKeySigner =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap();
        let mut tx = TxEip1559 {
            chain_id: tributary_chainspec::DEV_CHAIN_ID,
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1,
            nonce,
            to: TxKind::Call(Address::repeat_byte(to)),
            value: U256::from(1),
            ..Default::default()
        };
        let signature = key.sign_transaction_sync(&mut tx).unwrap();
        TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
    }

    /// Seals block 1 with whatever the pool holds.
    fn seal_first(sealer: &BlockSealer) -> Arc<ExecutedBlock> {
        let head = sealer.db.head();
        let attrs = BlockAttributes {
            timestamp: head.timestamp + 2,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            l1_info: crate::dev_l1_origin(1),
            deposits: Vec::new(),
        };
        let block = sealer.seal(&head, attrs).unwrap().unwrap();
        sealer.db.wait_persisted().unwrap();
        block
    }

    /// On the L1 a sealed block keeps the sidecars of its blob transactions, taken from the
    /// pool; rewound, a blob transaction goes back to the pool in network form, sidecar and
    /// all.
    #[test]
    fn blob_sidecars_are_kept_with_the_block_and_come_back_on_a_rewind() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = sealer_on(ChainSpec::l1_dev(1_000), dir.path());
        let key: PrivateKeySigner =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap();
        let fields = tributary_l1::BlobTxFields {
            chain_id: 900,
            nonce: 0,
            to: Address::repeat_byte(0xff),
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1,
            max_fee_per_blob_gas: 1_000_000_000,
            payloads: vec![b"one".to_vec().into(), b"two".to_vec().into()],
        };
        let signed = tributary_l1::sign_blob_tx(&key, fields).unwrap();
        let hash = sealer.pool.add_raw(&signed.raw).unwrap();
        let block = seal_first(&sealer);
        assert_eq!(block.body.len(), 1);
        assert_eq!(block.blob_sidecars.len(), 1);
        assert_eq!(sealer.db.blob_sidecars(1).unwrap()[0].blobs.len(), 2);
        assert!(sealer.pool.get(&hash).is_none(), "mined");

        sealer.rewind(0).unwrap();
        let pooled = sealer.pool.get(&hash).expect("pending again");
        assert_eq!(pooled.pooled_encoding(), signed.raw.to_vec(), "with its sidecar");
        assert!(sealer.db.blob_sidecars(1).unwrap().is_empty());
    }

    /// A blob transaction replaced in the pool after it was picked is left out of the block
    /// (its sidecar is gone with it); its replacement is taken with its own.
    #[test]
    fn a_blob_transaction_replaced_after_the_pick_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = sealer_on(ChainSpec::l1_dev(1_000), dir.path());
        let key: PrivateKeySigner =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap();
        let signed = |fee: u128| {
            let fields = tributary_l1::BlobTxFields {
                chain_id: 900,
                nonce: 0,
                to: Address::repeat_byte(0xff),
                gas_limit: 21_000,
                max_fee_per_gas: 10_000_000_000 * fee,
                max_priority_fee_per_gas: fee,
                max_fee_per_blob_gas: 1_000_000_000 * fee,
                payloads: vec![b"frame".to_vec().into()],
            };
            tributary_l1::sign_blob_tx(&key, fields).unwrap()
        };
        sealer.pool.add_raw(&signed(1).raw).unwrap();
        let picked = sealer.pool_picks(1);
        assert_eq!(picked.len(), 1);
        // the batcher bumps its fees meanwhile
        let bumped = sealer.pool.add_raw(&signed(2).raw).unwrap();
        let mut sidecars = HashMap::default();
        assert!(!sealer.take_sidecar(&picked[0], &mut sidecars), "the old one is left out");
        assert!(sidecars.is_empty());
        let picked = sealer.pool_picks(1);
        assert!(sealer.take_sidecar(&picked[0], &mut sidecars));
        assert!(sidecars.contains_key(&bumped));
    }

    /// A sealed block that is rewound gives its transactions back to the pool.
    #[test]
    fn a_rewound_blocks_transactions_go_back_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = sealer(dir.path());
        let hash = sealer.pool.add_raw(&transfer(7)).unwrap();
        let block = seal_first(&sealer);
        assert_eq!(block.body.len(), 2, "the L1 attributes deposit and the transfer");
        assert!(sealer.pool.get(&hash).is_none(), "mined, so out of the pool");

        let mut reorgs = sealer.reorgs.subscribe();
        sealer.rewind(0).unwrap();
        assert_eq!(sealer.db.head_number(), 0);
        assert!(sealer.pool.get(&hash).is_some(), "the transaction is pending again");
        let reorg = reorgs.try_recv().unwrap();
        assert_eq!((reorg.to, reorg.blocks.len()), (0, 1));
        assert_eq!(reorg.blocks[0].transactions[1].tx_hash(), hash);
    }

    /// An imported block at an unsafe height with our parent replaces our block there; at a
    /// safe height it is refused.
    #[test]
    fn an_imported_block_replaces_an_unsafe_one_but_not_a_safe_one() {
        let (ours_dir, theirs_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (ours, theirs) = (sealer(ours_dir.path()), sealer(theirs_dir.path()));
        let mine = ours.pool.add_raw(&transfer(7)).unwrap();
        let our_block = seal_first(&ours);
        theirs.pool.add_raw(&transfer(8)).unwrap();
        let their_block = seal_first(&theirs);
        assert_ne!(our_block.header.hash(), their_block.header.hash());
        let their_block = tributary_p2p::block_from_parts(
            ours.evm.chain(),
            their_block.header.inner().clone(),
            their_block.body.clone(),
        );

        ours.heads.set(1, 0);
        assert!(ours.import(&their_block, None).unwrap().is_none(), "a safe block stays");
        assert_eq!(ours.db.block_hash(1).unwrap(), Some(our_block.header.hash()));

        ours.heads.set(0, 0);
        let imported = ours.import(&their_block, None).unwrap().unwrap();
        ours.db.wait_persisted().unwrap();
        assert_eq!(ours.db.head_number(), 1);
        assert_eq!(ours.db.block_hash(1).unwrap(), Some(imported.header.hash()));
        assert_eq!(imported.header.hash(), their_block.header.hash_slow());
        // Our replaced transaction was given back; it conflicts (same nonce) with theirs, so
        // the pool refused it on the new chain rather than keeping a stale one.
        assert!(ours.pool.get(&mine).is_none());
    }

    /// Blocks imported back to back are each handed to the writing thread while the next one
    /// executes, and each is announced only once it is written: a subscriber that hears of a
    /// block finds it stored.
    #[test]
    fn imported_blocks_are_announced_once_written() {
        let (ours_dir, theirs_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (ours, theirs) = (sealer(ours_dir.path()), sealer(theirs_dir.path()));
        let mut blocks = Vec::new();
        for n in 0..4u8 {
            theirs.pool.add_raw(&transfer_with_nonce(n + 1, u64::from(n))).unwrap();
            // Built on the block still being written; its transaction is left out.
            let head = theirs.db.tip();
            let attrs = BlockAttributes {
                timestamp: head.timestamp + 2,
                prev_randao: B256::ZERO,
                parent_beacon_block_root: B256::ZERO,
                l1_info: crate::dev_l1_origin(head.number + 1),
                deposits: Vec::new(),
            };
            let sealed = theirs.seal(&head, attrs).unwrap().unwrap();
            assert_eq!(sealed.body.len(), 2, "block {}: the deposit and one transfer", n + 1);
            blocks.push(tributary_p2p::block_from_parts(
                theirs.evm.chain(),
                sealed.header.inner().clone(),
                sealed.body.clone(),
            ));
        }
        let mut announced = ours.blocks.subscribe();
        let db = ours.db.clone();
        let listener = std::thread::spawn(move || {
            let mut heard = Vec::new();
            while let Ok(block) = announced.blocking_recv() {
                let number = block.header.number;
                heard.push((number, db.block_hash(number).unwrap(), db.head_number()));
                if number == 4 {
                    break;
                }
            }
            heard
        });
        for block in &blocks {
            let imported = ours.import(block, None).unwrap().unwrap();
            assert_eq!(ours.db.tip().hash(), imported.header.hash(), "built on next");
        }
        let heard = listener.join().unwrap();
        assert_eq!(heard.len(), 4);
        for ((number, stored, head), block) in heard.into_iter().zip(&blocks) {
            assert_eq!(stored, Some(block.header.hash_slow()), "block {number} not yet stored");
            assert!(head >= number);
        }
        ours.db.wait_persisted().unwrap();
        theirs.db.wait_persisted().unwrap();
        assert_eq!(ours.db.head().hash(), theirs.db.head().hash());
    }

    /// The block built on one still being written does not pick that block's transactions,
    /// which the pool holds until the write is done.
    #[test]
    fn the_unwritten_blocks_transactions_are_not_picked_again() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = sealer(dir.path());
        let first = sealer.pool.add_raw(&transfer_with_nonce(7, 0)).unwrap();
        let second = sealer.pool.add_raw(&transfer_with_nonce(7, 1)).unwrap();
        // Block N (being written) took `first`; block N+1 is picked now.
        *sealer.unwritten.lock() = Arc::new([first].into_iter().collect());
        let picked: Vec<B256> = sealer.pool_picks(0).iter().map(|tx| tx.tx_hash()).collect();
        assert_eq!(picked, vec![second]);
    }
}
