use crate::{
    PoolError, StateView,
    journal::Journal,
    validate::{
        ChainLimits, MAX_BLOB_TXS, MAX_BLOB_TXS_PER_SENDER, check_stateless, max_cost,
        verify_sidecar,
    },
};
use alloy::consensus::{Transaction, transaction::Recovered};
use alloy::eips::eip4844::BlobTransactionSidecar;
use alloy_primitives::{Address, B256, map::HashMap};
use op_revm::OpSpecId;
use parking_lot::{Mutex, RwLock};
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap},
    path::Path,
    sync::Arc,
};
use tokio::sync::broadcast;
use tributary_primitives::{PooledTransaction, TxEnvelope};

/// Pool limits. Parsing no CLI flags gives [`PoolConfig::default`]; `node --dev` gives
/// [`PoolConfig::dev`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most transactions held at once (geth's global slots).
    pub max_count: usize,
    /// Most transactions one sender holds at once, pending and queued (geth's account slots).
    pub max_account_slots: usize,
    /// How far past the sender's next pool nonce (its state nonce plus its pending run) a
    /// transaction may be queued. An in-order burst never meets this limit.
    pub max_nonce_gap: u64,
    /// Fee increase, in percent, a replacement must offer on both fee fields.
    pub price_bump_percent: u128,
    /// Largest encoded transaction accepted, in bytes.
    pub max_tx_size: usize,
}

impl PoolConfig {
    /// Default [`PoolConfig::max_count`].
    pub const DEFAULT_MAX_COUNT: usize = 10_000;
    /// Default [`PoolConfig::max_account_slots`].
    pub const DEFAULT_MAX_ACCOUNT_SLOTS: usize = 1_024;
    /// Default [`PoolConfig::max_nonce_gap`].
    pub const DEFAULT_MAX_NONCE_GAP: u64 = 64;
    /// Default [`PoolConfig::price_bump_percent`].
    pub const DEFAULT_PRICE_BUMP: u128 = 10;
    /// Default [`PoolConfig::max_tx_size`]: 128 KiB.
    pub const DEFAULT_MAX_TX_SIZE: usize = 128 * 1024;
    /// [`PoolConfig::max_count`] on a dev chain.
    pub const DEV_MAX_COUNT: usize = 100_000;
    /// [`PoolConfig::max_account_slots`] on a dev chain.
    pub const DEV_MAX_ACCOUNT_SLOTS: usize = 20_000;

    /// The generous limits of a dev chain, where deploy scripts and load tests send thousands
    /// of transactions from one key before a block is sealed (as anvil and hardhat accept).
    pub fn dev() -> Self {
        Self {
            max_count: Self::DEV_MAX_COUNT,
            max_account_slots: Self::DEV_MAX_ACCOUNT_SLOTS,
            ..Self::default()
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_count: Self::DEFAULT_MAX_COUNT,
            max_account_slots: Self::DEFAULT_MAX_ACCOUNT_SLOTS,
            max_nonce_gap: Self::DEFAULT_MAX_NONCE_GAP,
            price_bump_percent: Self::DEFAULT_PRICE_BUMP,
            max_tx_size: Self::DEFAULT_MAX_TX_SIZE,
        }
    }
}

/// A transaction in the pool.
#[derive(Debug)]
pub struct PooledTx {
    /// The transaction and its sender.
    pub tx: Recovered<TxEnvelope>,
    /// Its hash.
    pub hash: B256,
    /// Encoded size, without a sidecar.
    pub size: usize,
    /// A blob transaction's sidecar (KZG-checked), which the block leaves out and the L1 keeps
    /// beside it.
    pub sidecar: Option<Arc<BlobTransactionSidecar>>,
    /// Arrival order, for ties.
    seq: u64,
}

impl PooledTx {
    /// The pooled (network) encoding: what was sent, with a blob transaction's sidecar.
    pub fn pooled_encoding(&self) -> Vec<u8> {
        PooledTransaction { tx: self.tx.inner().clone(), sidecar: self.sidecar.as_deref().cloned() }
            .encode()
    }
}

/// Counts for `txpool_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Executable now.
    pub pending: usize,
    /// Waiting for a nonce gap to fill.
    pub queued: usize,
}

/// Transactions by sender and nonce, for `txpool_content`.
#[derive(Debug, Default)]
pub struct PoolContent {
    /// Executable now.
    pub pending: BTreeMap<Address, BTreeMap<u64, Arc<PooledTx>>>,
    /// Waiting for a nonce gap to fill.
    pub queued: BTreeMap<Address, BTreeMap<u64, Arc<PooledTx>>>,
}

#[derive(Debug, Default)]
struct SenderTxs {
    /// The account's nonce at the head, as last read.
    state_nonce: u64,
    txs: BTreeMap<u64, Arc<PooledTx>>,
}

impl SenderTxs {
    /// The first nonce at or past `state_nonce` that `txs` does not hold: where the sender's
    /// pending run ends.
    fn next_nonce(txs: &BTreeMap<u64, Arc<PooledTx>>, state_nonce: u64) -> u64 {
        // The common case, a gapless run from the state nonce, without a walk: bursts of
        // thousands from one sender stay linear.
        if let (Some((&first, _)), Some((&last, _))) = (txs.first_key_value(), txs.last_key_value())
            && first == state_nonce
            && last - first + 1 == txs.len() as u64
        {
            return last.saturating_add(1);
        }
        let mut next = state_nonce;
        for nonce in txs.range(state_nonce..).map(|(nonce, _)| *nonce) {
            if nonce != next {
                break;
            }
            next = next.saturating_add(1);
        }
        next
    }

    /// The contiguous run from the state nonce.
    fn pending(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        let end = Self::next_nonce(&self.txs, self.state_nonce);
        self.txs.range(self.state_nonce..end).map(|(_, tx)| tx)
    }
}

#[derive(Debug)]
struct Inner {
    by_hash: HashMap<B256, Arc<PooledTx>>,
    senders: HashMap<Address, SenderTxs>,
    limits: ChainLimits,
    seq: u64,
    /// Bumped by every `on_new_block`: a nonce read under an older generation may be stale.
    generation: u64,
    /// Blob transactions held.
    blob_txs: usize,
}

/// The transaction pool. Shared by the RPC (adds) and the block producer (takes, prunes).
pub struct TxPool {
    inner: RwLock<Inner>,
    /// Taken after `inner`, never before.
    journal: Mutex<Option<Journal>>,
    config: PoolConfig,
    state: Arc<dyn StateView>,
    added: broadcast::Sender<B256>,
}

impl std::fmt::Debug for TxPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxPool").field("config", &self.config).finish_non_exhaustive()
    }
}

impl TxPool {
    /// A pool for chain `chain_id`, reading state through `state`.
    pub fn new(
        config: PoolConfig,
        chain_id: u64,
        spec: OpSpecId,
        block_gas_limit: u64,
        base_fee: u64,
        state: Arc<dyn StateView>,
    ) -> Self {
        let limits = ChainLimits { chain_id, block_gas_limit, base_fee, spec, blobs: false };
        let inner = Inner {
            by_hash: HashMap::default(),
            senders: HashMap::default(),
            limits,
            seq: 0,
            generation: 0,
            blob_txs: 0,
        };
        let (added, _) = broadcast::channel(4096);
        Self { inner: RwLock::new(inner), journal: Mutex::new(None), config, state, added }
    }

    /// Takes blob transactions (EIP-4844) in their network form, with a KZG-checked sidecar:
    /// the L1 dev chain's pool. An L2's pool refuses them.
    pub fn with_blob_transactions(self) -> Self {
        self.inner.write().limits.blobs = true;
        self
    }

    /// Adds back the transactions journaled at `path` (see `journal.rs`), then keeps the
    /// journal there: from now on every transaction is written to it before its hash is
    /// returned. Returns how many came back and how many were refused (mostly mined since).
    ///
    /// # Errors
    ///
    /// The journal cannot be read or written.
    pub fn open_journal(&self, path: &Path) -> std::io::Result<(usize, usize)> {
        let records = Journal::read(path)?;
        let (mut restored, mut refused) = (0, 0);
        for raw in &records {
            match self.add_raw(raw) {
                Ok(_) => restored += 1,
                Err(err) => {
                    refused += 1;
                    tracing::debug!(target: "txpool", %err, "journaled transaction not restored");
                }
            }
        }
        let inner = self.inner.read();
        let mut journal = self.journal.lock();
        *journal =
            Some(Journal::rewrite(path, inner.raw_transactions().iter().map(Vec::as_slice))?);
        tracing::info!(target: "txpool", path = %path.display(), restored, refused, "transaction journal open");
        Ok((restored, refused))
    }

    /// Rewrites the journal from the pool's content once it holds mostly dead records.
    fn compact_journal(&self) {
        let inner = self.inner.read();
        let mut journal = self.journal.lock();
        let Some(open) = journal.as_ref() else { return };
        if !open.wants_compaction(inner.by_hash.len(), inner.live_bytes()) {
            return;
        }
        let path = open.path().to_path_buf();
        match Journal::rewrite(&path, inner.raw_transactions().iter().map(Vec::as_slice)) {
            Ok(fresh) => *journal = Some(fresh),
            // The old file is still whole and still appended to: nothing is lost.
            Err(err) => {
                tracing::warn!(target: "txpool", %err, "cannot compact the transaction journal")
            }
        }
    }

    /// The pool's limits.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Validates and adds a raw EIP-2718 transaction, returning its hash.
    ///
    /// # Errors
    ///
    /// The first check it fails, worded as geth words it.
    pub fn add_raw(&self, raw: &[u8]) -> Result<B256, PoolError> {
        let (limits, generation) = {
            let inner = self.inner.read();
            (inner.limits, inner.generation)
        };
        let checked = check_stateless(raw, &limits, self.config.max_tx_size)?;
        let hash = checked.tx.tx_hash();
        if self.inner.read().by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let sender = checked.sender;
        let (read_nonce, balance) =
            self.state.nonce_and_balance(&sender).map_err(PoolError::State)?;
        let nonce = checked.tx.nonce();
        if nonce < read_nonce {
            return Err(PoolError::NonceTooLow { state: read_nonce, tx: nonce });
        }
        let cost = max_cost(&checked.tx);
        if cost > balance {
            return Err(PoolError::InsufficientFunds { balance, cost });
        }
        if let Some(sidecar) = &checked.sidecar {
            // The costly check last, and outside the lock.
            verify_sidecar(&checked.tx, sidecar)?;
        }

        let mut inner = self.inner.write();
        if inner.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        // A block may have been committed since the read above (even one that mined all the
        // sender's pooled transactions, so the pool no longer knows it): read again, under the
        // lock that `on_new_block` takes, so the two cannot interleave. The pool's own nonce
        // for a known sender may be fresher still; nonces only rise between blocks.
        let read_nonce = if inner.generation == generation {
            read_nonce
        } else {
            self.state.nonce_and_balance(&sender).map_err(PoolError::State)?.0
        };
        let known = inner.senders.get(&sender);
        let state_nonce = known.map_or(read_nonce, |s| s.state_nonce.max(read_nonce));
        if nonce < state_nonce {
            return Err(PoolError::NonceTooLow { state: state_nonce, tx: nonce });
        }
        let next = known.map_or(state_nonce, |s| SenderTxs::next_nonce(&s.txs, state_nonce));
        if nonce > next.saturating_add(self.config.max_nonce_gap) {
            return Err(PoolError::NonceTooHigh { state: next, tx: nonce });
        }
        let replaced = known.and_then(|s| s.txs.get(&nonce)).cloned();
        let held = known.map_or(0, |s| s.txs.len());
        if let Some(old) = &replaced {
            if !self.is_bump(&old.tx, &checked.tx) {
                return Err(PoolError::ReplacementUnderpriced);
            }
        } else if held >= self.config.max_account_slots {
            return Err(PoolError::AccountLimit { held, limit: self.config.max_account_slots });
        }
        if checked.sidecar.is_some() && replaced.as_ref().is_none_or(|old| old.sidecar.is_none()) {
            let own = known.map_or(0, |s| s.txs.values().filter(|tx| tx.sidecar.is_some()).count());
            if own >= MAX_BLOB_TXS_PER_SENDER {
                return Err(PoolError::BlobLimit { held: own, limit: MAX_BLOB_TXS_PER_SENDER });
            }
            if inner.blob_txs >= MAX_BLOB_TXS {
                return Err(PoolError::BlobLimit { held: inner.blob_txs, limit: MAX_BLOB_TXS });
            }
        }
        let victim = if replaced.is_none() && inner.by_hash.len() >= self.config.max_count {
            // Never the sender's own tail: the new transaction would wait behind the gap.
            let victim = inner.cheapest_tail(&sender).ok_or(PoolError::PoolFull)?;
            if victim.tx.max_fee_per_gas() >= checked.tx.max_fee_per_gas() {
                return Err(PoolError::PoolFull);
            }
            Some(victim)
        } else {
            None
        };
        // On disk before anything can see it, so an acknowledged transaction survives a crash.
        if let Some(journal) = self.journal.lock().as_mut() {
            journal.append(raw).map_err(|err| PoolError::Journal(err.to_string()))?;
        }
        if let Some(victim) = victim {
            tracing::debug!(target: "txpool", hash = %victim.hash, "evicted for a better-paying transaction");
            metrics::counter!("tributary_txpool_dropped_total", "reason" => "evicted").increment(1);
            inner.remove(&victim.hash);
        }
        if let Some(old) = replaced {
            inner.remove(&old.hash);
        }
        inner.seq += 1;
        let pooled = Arc::new(PooledTx {
            tx: Recovered::new_unchecked(checked.tx, sender),
            hash,
            size: checked.size,
            sidecar: checked.sidecar,
            seq: inner.seq,
        });
        inner.blob_txs += usize::from(pooled.sidecar.is_some());
        inner.by_hash.insert(hash, pooled.clone());
        let entry = inner.senders.entry(sender).or_default();
        entry.state_nonce = state_nonce;
        entry.txs.insert(nonce, pooled);
        drop(inner);
        let _ = self.added.send(hash);
        Ok(hash)
    }

    fn is_bump(&self, old: &TxEnvelope, new: &TxEnvelope) -> bool {
        let bump = |value: u128| value.saturating_mul(100 + self.config.price_bump_percent) / 100;
        let old_tip = old.max_priority_fee_per_gas().unwrap_or(old.max_fee_per_gas());
        let new_tip = new.max_priority_fee_per_gas().unwrap_or(new.max_fee_per_gas());
        // A blob transaction replacing one also raises its blob fee cap.
        let blob_fee_bumped = match (old.max_fee_per_blob_gas(), new.max_fee_per_blob_gas()) {
            (Some(old), Some(new)) => new >= bump(old),
            _ => true,
        };
        new.max_fee_per_gas() >= bump(old.max_fee_per_gas())
            && new_tip >= bump(old_tip)
            && blob_fee_bumped
    }

    /// After a new head: re-reads every sender's nonce, drops mined and stale transactions (so
    /// queued ones move up), and records the head's base fee and gas limit.
    pub fn on_new_block(&self, base_fee: u64, block_gas_limit: u64, spec: OpSpecId) {
        let senders: Vec<Address> = self.inner.read().senders.keys().copied().collect();
        let mut nonces: HashMap<Address, u64> = HashMap::default();
        for sender in senders {
            if let Some(nonce) = self.read_nonce(&sender) {
                nonces.insert(sender, nonce);
            }
        }
        let mut inner = self.inner.write();
        inner.generation = inner.generation.wrapping_add(1);
        inner.limits.base_fee = base_fee;
        inner.limits.block_gas_limit = block_gas_limit;
        inner.limits.spec = spec;
        // Senders that arrived since the reads above were added with a nonce read before this
        // block may have been committed: read theirs now, under the lock (few, and short).
        let late: Vec<Address> =
            inner.senders.keys().filter(|s| !nonces.contains_key(*s)).copied().collect();
        for sender in late {
            if let Some(nonce) = self.read_nonce(&sender) {
                nonces.insert(sender, nonce);
            }
        }
        for (sender, nonce) in nonces {
            let stale: Vec<B256> = match inner.senders.get_mut(&sender) {
                Some(entry) => {
                    entry.state_nonce = nonce;
                    entry.txs.range(..nonce).map(|(_, tx)| tx.hash).collect()
                }
                None => continue,
            };
            for hash in stale {
                inner.remove(&hash);
            }
        }
        drop(inner);
        self.compact_journal();
    }

    fn read_nonce(&self, sender: &Address) -> Option<u64> {
        match self.state.nonce_and_balance(sender) {
            Ok((nonce, _)) => Some(nonce),
            Err(err) => {
                tracing::warn!(target: "txpool", %sender, %err, "cannot read sender nonce");
                None
            }
        }
    }

    /// Drops transactions the block builder refused for a fault of their own (a used nonce, a
    /// balance that no longer pays), with the reason: logged and counted, since each had been
    /// acknowledged with its hash. Their senders' later transactions stay, queued behind the
    /// gap until a replacement fills it.
    pub fn drop_invalid(&self, refused: &[(B256, String)]) {
        if refused.is_empty() {
            return;
        }
        let mut inner = self.inner.write();
        for (hash, reason) in refused {
            if inner.remove(hash) {
                tracing::info!(target: "txpool", %hash, %reason, "dropped a transaction the EVM refused");
                metrics::counter!("tributary_txpool_dropped_total", "reason" => "invalid")
                    .increment(1);
            }
        }
    }

    /// Pending transactions, best effective tip first, each sender's in nonce order. Senders
    /// whose next transaction cannot pay `base_fee` are left out.
    pub fn best_transactions(&self, base_fee: u64) -> Vec<Recovered<TxEnvelope>> {
        let inner = self.inner.read();
        let chains: Vec<Vec<&Arc<PooledTx>>> = inner
            .senders
            .values()
            .map(|s| s.pending().collect())
            .filter(|c: &Vec<_>| !c.is_empty())
            .collect();
        let mut heap = BinaryHeap::new();
        let key =
            |tx: &PooledTx| tx.tx.effective_tip_per_gas(base_fee).map(|tip| (tip, Reverse(tx.seq)));
        for (i, chain) in chains.iter().enumerate() {
            if let Some(k) = key(chain[0]) {
                heap.push((k, i, 0usize));
            }
        }
        let mut out = Vec::new();
        while let Some((_, i, pos)) = heap.pop() {
            out.push(chains[i][pos].tx.clone());
            if let Some(next) = chains[i].get(pos + 1)
                && let Some(k) = key(next)
            {
                heap.push((k, i, pos + 1));
            }
        }
        out
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.inner.read().by_hash.get(hash).cloned()
    }

    /// The next nonce `address` would use counting its pending pool transactions, if it has any.
    pub fn pending_nonce(&self, address: &Address) -> Option<u64> {
        let inner = self.inner.read();
        let sender = inner.senders.get(address)?;
        sender.pending().last().map(|tx| tx.tx.nonce() + 1)
    }

    /// Pending and queued counts.
    pub fn status(&self) -> PoolStatus {
        let inner = self.inner.read();
        let pending: usize = inner.senders.values().map(|s| s.pending().count()).sum();
        PoolStatus { pending, queued: inner.by_hash.len() - pending }
    }

    /// Every transaction, split into pending and queued.
    pub fn content(&self) -> PoolContent {
        let inner = self.inner.read();
        let mut content = PoolContent::default();
        for (sender, txs) in &inner.senders {
            let pending: Vec<B256> = txs.pending().map(|tx| tx.hash).collect();
            for (nonce, tx) in &txs.txs {
                let side = if pending.contains(&tx.hash) {
                    &mut content.pending
                } else {
                    &mut content.queued
                };
                side.entry(*sender).or_default().insert(*nonce, tx.clone());
            }
        }
        content
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.inner.read().by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hashes of transactions as they are accepted.
    pub fn subscribe(&self) -> broadcast::Receiver<B256> {
        self.added.subscribe()
    }
}

impl Inner {
    /// Every pooled transaction's pooled encoding (a blob transaction with its sidecar), each
    /// sender's in nonce order.
    fn raw_transactions(&self) -> Vec<Vec<u8>> {
        self.senders.values().flat_map(|s| s.txs.values()).map(|tx| tx.pooled_encoding()).collect()
    }

    /// About how many journal bytes the pool's transactions take: their size plus their
    /// blobs.
    fn live_bytes(&self) -> u64 {
        self.by_hash
            .values()
            .map(|tx| {
                let blobs = tx.sidecar.as_ref().map_or(0, |sidecar| sidecar.blobs.len());
                (tx.size + blobs * alloy::eips::eip4844::BYTES_PER_BLOB) as u64
            })
            .sum()
    }

    /// Removes one transaction; whether it was there.
    fn remove(&mut self, hash: &B256) -> bool {
        let Some(tx) = self.by_hash.remove(hash) else { return false };
        self.blob_txs -= usize::from(tx.sidecar.is_some());
        let sender = tx.tx.signer();
        if let Some(entry) = self.senders.get_mut(&sender) {
            entry.txs.remove(&tx.tx.nonce());
            if entry.txs.is_empty() {
                self.senders.remove(&sender);
            }
        }
        true
    }

    /// The lowest-paying transaction that is last in its sender's line.
    fn cheapest_tail(&self, except: &Address) -> Option<Arc<PooledTx>> {
        self.senders
            .iter()
            .filter(|(address, _)| *address != except)
            .filter_map(|(_, s)| s.txs.values().next_back())
            .min_by_key(|tx| (tx.tx.max_fee_per_gas(), Reverse(tx.seq)))
            .cloned()
    }
}

#[cfg(test)]
mod tests;
