//! The `eth_` namespace.

mod call;
pub(crate) mod convert;
mod fees;
use fees::next_blob_fee;
mod filter;
mod pending;
mod recent;

pub(crate) use filter::Filters;
pub use pending::{PendingBlock, Preconfirmed};
use recent::BlockExtras;
pub(crate) use recent::RecentBlocks;

use crate::{
    RpcContext, RpcError, RpcResult,
    api::{EthApiServer, RpcBlock, RpcReceipt, RpcTransaction},
};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    rpc::types::{
        BlockOverrides, FeeHistory, Filter, FilterChanges, Log, SyncStatus, TransactionRequest,
        state::StateOverride,
    },
};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use convert::{position, rpc_block, rpc_receipt, rpc_receipts, rpc_transaction};
use jsonrpsee::{PendingSubscriptionSink, core::SubscriptionResult};
use op_revm::OpSpecId;
use revm::database::WrapDatabaseRef;
use serde_json::Value;
use std::sync::Arc;
use tributary_primitives::{SealedHeader, TxEnvelope};

/// Serves `eth_`.
#[derive(Clone)]
pub(crate) struct EthHandler {
    pub(crate) ctx: Arc<RpcContext>,
}

impl EthHandler {
    /// Runs `f` on the blocking pool: execution, log scans and other long reads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Self) -> Result<T, RpcError> + Send + 'static,
    ) -> RpcResult<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this))
            .await
            .map_err(RpcError::internal)?
            .map_err(Into::into)
    }

    /// The block a tag names, or `None` past the head.
    pub(crate) fn resolve_tag(&self, tag: BlockNumberOrTag) -> Option<u64> {
        let head = self.ctx.db.head_number();
        match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Some(head),
            BlockNumberOrTag::Safe => Some(self.ctx.heads.safe().min(head)),
            BlockNumberOrTag::Finalized => Some(self.ctx.heads.finalized().min(head)),
            BlockNumberOrTag::Earliest => Some(0),
            BlockNumberOrTag::Number(n) => (n <= head).then_some(n),
        }
    }

    /// The block an optional id names (default `latest`); unknown blocks are an error, as
    /// geth answers for state queries.
    pub(crate) fn resolve_id(&self, id: Option<BlockId>) -> Result<u64, RpcError> {
        match id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
            BlockId::Number(tag) => self.resolve_tag(tag).ok_or(RpcError::HeaderNotFound),
            BlockId::Hash(hash) => {
                self.ctx.db.block_number(&hash.block_hash)?.ok_or(RpcError::HeaderNotFound)
            }
        }
    }

    pub(crate) fn sealed_header(&self, number: u64) -> Result<SealedHeader, RpcError> {
        self.ctx.db.sealed_header(number)?.ok_or(RpcError::HeaderNotFound)
    }

    /// Header, body, senders of a canonical block.
    #[allow(clippy::type_complexity)]
    fn block_parts(
        &self,
        number: u64,
    ) -> Result<Option<(SealedHeader, Vec<TxEnvelope>, Vec<Address>)>, RpcError> {
        let db = &self.ctx.db;
        let Some(header) = db.sealed_header(number)? else { return Ok(None) };
        let body = db.body(number)?.unwrap_or_default();
        let senders = db.senders(number)?.unwrap_or_default();
        Ok(Some((header, body, senders)))
    }

    fn block(&self, number: Option<u64>, full: bool) -> Result<Option<RpcBlock>, RpcError> {
        let Some(number) = number else { return Ok(None) };
        let Some((header, body, senders)) = self.block_parts(number)? else { return Ok(None) };
        let receipts = if full { self.ctx.db.receipts(number)? } else { None };
        Ok(Some(rpc_block(&header, &body, &senders, receipts.as_deref(), full)))
    }

    fn tx_in_block(
        &self,
        number: Option<u64>,
        index: usize,
    ) -> Result<Option<RpcTransaction>, RpcError> {
        let Some(number) = number else { return Ok(None) };
        let db = &self.ctx.db;
        let Some(header) = db.sealed_header(number)? else { return Ok(None) };
        let Some(extras) = self.extras(&header)? else { return Ok(None) };
        let (Some(tx), Some(sender)) = (extras.body.get(index), extras.senders.get(index)) else {
            return Ok(None);
        };
        let receipt = extras.receipts.get(index);
        Ok(Some(rpc_transaction(tx, *sender, Some(position(&header, index)), receipt)))
    }

    /// The receipts of block `number` in RPC form.
    pub(crate) fn receipts_of(&self, number: u64) -> Result<Option<Vec<RpcReceipt>>, RpcError> {
        let db = &self.ctx.db;
        let Some(header) = db.sealed_header(number)? else { return Ok(None) };
        let Some(extras) = self.extras(&header)? else { return Ok(None) };
        Ok(Some(rpc_receipts(
            &header,
            &extras.body,
            &extras.senders,
            &extras.receipts,
            extras.l1.as_ref(),
        )?))
    }

    /// The receipt of the transaction at `index` in block `number`.
    fn receipt_at(&self, number: u64, index: usize) -> Result<Option<RpcReceipt>, RpcError> {
        let db = &self.ctx.db;
        let Some(header) = db.sealed_header(number)? else { return Ok(None) };
        let Some(extras) = self.extras(&header)? else { return Ok(None) };
        let (Some(tx), Some(sender), Some(receipt), Some(position)) = (
            extras.body.get(index),
            extras.senders.get(index),
            extras.receipts.get(index),
            extras.position(index),
        ) else {
            return Ok(None);
        };
        Ok(Some(rpc_receipt(&header, position, tx, *sender, receipt, extras.l1.as_ref())?))
    }

    /// The decoded receipts, senders and L1 fee parameters of the block `header` heads, from
    /// the recent blocks' cache; None when a reorg replaced it while it was read.
    fn extras(&self, header: &SealedHeader) -> Result<Option<Arc<BlockExtras>>, RpcError> {
        let hash = header.hash();
        self.ctx.recent.get_or_load(hash, || {
            let db = &self.ctx.db;
            let number = header.number;
            let extras = BlockExtras::new(
                db.body(number)?.unwrap_or_default(),
                db.receipts(number)?.unwrap_or_default(),
                db.senders(number)?.unwrap_or_default(),
                self.l1_fee_params(header),
            );
            // Read after the parts: if the block at this height is still ours, they are its.
            let still = db.block_hash(number)? == Some(hash);
            Ok(still.then_some(extras))
        })
    }

    /// The L1 fee parameters block `header` charged with, from the L1Block predeploy's state
    /// at that block (None on an L1, which has no such contract).
    fn l1_fee_params(&self, header: &SealedHeader) -> Option<(op_revm::L1BlockInfo, OpSpecId)> {
        let spec = self.ctx.evm.chain().spec_id_at(header.timestamp);
        let mut db = WrapDatabaseRef(self.ctx.db.state_at(header.number));
        let l1 = op_revm::L1BlockInfo::try_fetch(&mut db, U256::from(header.number), spec).ok()?;
        Some((l1, spec))
    }
}

#[jsonrpsee::core::async_trait]
impl EthApiServer for EthHandler {
    async fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.ctx.evm.chain().chain_id()))
    }

    async fn syncing(&self) -> RpcResult<SyncStatus> {
        Ok(SyncStatus::None)
    }

    async fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.ctx.db.head_number()))
    }

    async fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(Vec::new())
    }

    async fn block_by_number(
        &self,
        block: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<RpcBlock>> {
        self.blocking(move |this| {
            if block == BlockNumberOrTag::Pending
                && let Some(pending) = this.pending_block(full)
            {
                return Ok(Some(pending));
            }
            this.block(this.resolve_tag(block), full)
        })
        .await
    }

    async fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>> {
        self.blocking(move |this| this.block(this.ctx.db.block_number(&hash)?, full)).await
    }

    async fn block_tx_count_by_number(&self, block: BlockNumberOrTag) -> RpcResult<Option<U64>> {
        let Some(number) = self.resolve_tag(block) else { return Ok(None) };
        Ok(self.ctx.db.senders(number).map_err(RpcError::from)?.map(|s| U64::from(s.len())))
    }

    async fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        let Some(number) = self.ctx.db.block_number(&hash).map_err(RpcError::from)? else {
            return Ok(None);
        };
        Ok(self.ctx.db.senders(number).map_err(RpcError::from)?.map(|s| U64::from(s.len())))
    }

    async fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        if let Some(pending) = self.pending_for(block)
            && let Some(account) = pending.account(&address)
        {
            return Ok(account.map(|info| info.balance).unwrap_or_default());
        }
        let number = self.resolve_id(block)?;
        let account = self.ctx.db.state_at(number).account(&address).map_err(RpcError::from)?;
        Ok(account.map(|a| a.balance).unwrap_or_default())
    }

    async fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        if let Some(pending) = self.pending_for(block)
            && let Some(account) = pending.account(&address)
        {
            match account {
                None => return Ok(Bytes::new()),
                // Code loaded or deployed in the block; otherwise the head has it.
                Some(info) if info.code.is_some() => {
                    return Ok(info
                        .code
                        .as_ref()
                        .map(|code| code.original_bytes())
                        .unwrap_or_default());
                }
                Some(_) => {}
            }
        }
        let number = self.resolve_id(block)?;
        Ok(self.ctx.db.state_at(number).code_at(&address).map_err(RpcError::from)?)
    }

    async fn storage_at(
        &self,
        address: Address,
        slot: U256,
        block: Option<BlockId>,
    ) -> RpcResult<B256> {
        if let Some(pending) = self.pending_for(block)
            && let Some(value) = pending.storage(&address, &slot)
        {
            return Ok(B256::from(value));
        }
        let number = self.resolve_id(block)?;
        let value = self
            .ctx
            .db
            .state_at(number)
            .storage(&address, &B256::from(slot))
            .map_err(RpcError::from)?;
        Ok(B256::from(value))
    }

    async fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        if matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending)))
            && let Some(nonce) = self.ctx.pool.pending_nonce(&address)
        {
            return Ok(U64::from(nonce));
        }
        let number = self.resolve_id(block)?;
        let account = self.ctx.db.state_at(number).account(&address).map_err(RpcError::from)?;
        Ok(U64::from(account.map(|a| a.nonce).unwrap_or_default()))
    }

    async fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes> {
        self.blocking(move |this| this.call_inner(request, block, state_overrides, block_overrides))
            .await
    }

    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> RpcResult<U64> {
        self.blocking(move |this| {
            this.estimate_gas_inner(request, block, state_overrides).map(U64::from)
        })
        .await
    }

    async fn gas_price(&self) -> RpcResult<U256> {
        self.blocking(|this| this.gas_price_inner()).await
    }

    async fn blob_base_fee(&self) -> RpcResult<U256> {
        let optimism = self.ctx.evm.chain().is_optimism();
        Ok(U256::from(next_blob_fee(&self.ctx.db.head(), optimism)))
    }

    async fn max_priority_fee(&self) -> RpcResult<U256> {
        self.blocking(|this| this.suggested_tip().map(U256::from)).await
    }

    async fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        self.blocking(move |this| this.fee_history_inner(block_count.to(), newest, percentiles))
            .await
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        if let Some(sequencer) = &self.ctx.sequencer {
            // A follower does not sequence: the sequencer's pool decides, and its answer (the
            // hash, or its error as it worded it) is the caller's.
            use jsonrpsee::core::{ClientError, client::ClientT};
            let params = jsonrpsee::rpc_params![raw];
            return match sequencer.request::<B256, _>("eth_sendRawTransaction", params).await {
                Ok(hash) => Ok(hash),
                Err(ClientError::Call(err)) => Err(err),
                Err(err) => {
                    Err(RpcError::internal(format!("the sequencer did not answer: {err}")).into())
                }
            };
        }
        // Admission is CPU work (the signature is most of it), short and steady: it runs on
        // the rayon pool, one thread per core, rather than on tokio's blocking pool, which
        // grows a thread per concurrent caller and spends a loaded node's cores switching
        // between them.
        // A panic there must not take the process down (rayon aborts on an uncaught one):
        // it is caught and answered as an internal error, as a failed blocking task was.
        let pool = self.ctx.pool.clone();
        let (answer, answered) = tokio::sync::oneshot::channel();
        rayon::spawn(move || {
            let added =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.add_raw(&raw)));
            let _ = answer.send(added);
        });
        let added = answered.await.map_err(RpcError::internal)?;
        let hash = added
            .map_err(|_| RpcError::internal("the pool failed while admitting the transaction"))?
            .map_err(RpcError::from)?;
        Ok(hash)
    }

    async fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTransaction>> {
        self.blocking(move |this| {
            if let Some(location) = this.ctx.db.transaction_location(&hash)? {
                return this.tx_in_block(Some(location.block_number), location.index as usize);
            }
            if let Some(pending) = this.pending_transaction(&hash) {
                return Ok(Some(pending));
            }
            Ok(this
                .ctx
                .pool
                .get(&hash)
                .map(|pooled| rpc_transaction(pooled.tx.inner(), pooled.tx.signer(), None, None)))
        })
        .await
    }

    async fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>> {
        self.blocking(move |this| this.tx_in_block(this.ctx.db.block_number(&hash)?, index.to()))
            .await
    }

    async fn transaction_by_block_number_and_index(
        &self,
        block: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>> {
        self.blocking(move |this| this.tx_in_block(this.resolve_tag(block), index.to())).await
    }

    async fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<RpcReceipt>> {
        self.blocking(move |this| {
            let Some(location) = this.ctx.db.transaction_location(&hash)? else {
                // Not sealed yet: preconfirmed in the block being built, if it is there.
                return Ok(this.pending_receipt(&hash));
            };
            this.receipt_at(location.block_number, location.index as usize)
        })
        .await
    }

    async fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<RpcReceipt>>> {
        self.blocking(move |this| {
            if block == BlockId::Number(BlockNumberOrTag::Pending)
                && let Some(pending) = this.pending_receipts()
            {
                return Ok(Some(pending));
            }
            let number = match block {
                BlockId::Number(tag) => this.resolve_tag(tag),
                BlockId::Hash(hash) => this.ctx.db.block_number(&hash.block_hash)?,
            };
            match number {
                Some(number) => this.receipts_of(number),
                None => Ok(None),
            }
        })
        .await
    }

    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        self.blocking(move |this| this.logs_inner(&filter)).await
    }

    async fn new_filter(&self, filter: Filter) -> RpcResult<U256> {
        Ok(self.ctx.filters.install_logs(
            filter,
            self.ctx.db.head_number(),
            self.ctx.reorgs.latest(),
        )?)
    }

    async fn new_block_filter(&self) -> RpcResult<U256> {
        Ok(self.ctx.filters.install_blocks(self.ctx.db.head_number(), self.ctx.reorgs.latest())?)
    }

    async fn new_pending_transaction_filter(&self) -> RpcResult<U256> {
        Ok(self.ctx.filters.install_pending(self.ctx.pool.subscribe())?)
    }

    async fn filter_changes(&self, id: U256) -> RpcResult<FilterChanges> {
        self.blocking(move |this| this.filter_changes_inner(id)).await
    }

    async fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>> {
        self.blocking(move |this| {
            let filter = this.ctx.filters.log_filter(id)?;
            this.logs_inner(&filter)
        })
        .await
    }

    async fn uninstall_filter(&self, id: U256) -> RpcResult<bool> {
        Ok(self.ctx.filters.uninstall(id))
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        params: Option<Value>,
    ) -> SubscriptionResult {
        self.subscribe_inner(pending, kind, params).await
    }
}
