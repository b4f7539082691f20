//! The `attr_` namespace: the Attribution and Royalties records as JSON, read from state at a
//! block by calling the precompiles' views, so the answers always match the chain. Inferences
//! settled in a batch (`settleBatch`) keep no state of their own: they are read from the node's
//! index of settled batches, as of the head, and `attr_getInferenceProof` proves one against
//! the epoch commitment the state keeps. `attr_modelStats` and `attr_earnings` add what batches
//! settled (the state keeps no per-model or per-address totals for them) from the same index.

use crate::{RpcError, RpcResult, eth::EthHandler};
use alloy::{
    eips::BlockId,
    primitives::{Address, Bytes, U64, U256},
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolInterface},
};
use alloy::{
    primitives::{B256, keccak256},
    sol_types::SolValue,
};
use jsonrpsee::proc_macros::rpc;
use serde_json::{Value, json};
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, BatchLink, IAttribution as A, IRoyalties as R, InferenceRecord,
    ROYALTIES_ADDRESS, SETTLEMENT_EPOCH, decode_batch, epoch_commitment, leaf_hash, merkle_proof,
};
use tributary_storage::SettledBatch;

/// Most models one `attr_listModels` page holds.
pub const MAX_PAGE: u64 = 100;

/// `attr_` methods.
#[rpc(server, namespace = "attr")]
pub trait AttrApi {
    /// A model, or null.
    #[method(name = "getModel")]
    async fn get_model(&self, model_id: U64, block: Option<BlockId>) -> RpcResult<Option<Value>>;
    /// A Datanet, or null.
    #[method(name = "getDatanet")]
    async fn get_datanet(
        &self,
        datanet_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>>;
    /// A contribution, or null.
    #[method(name = "getContribution")]
    async fn get_contribution(
        &self,
        contribution_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>>;
    /// A settled inference, or null. One settled in a batch is read from the node's index
    /// (as of the head) and also shows its batch and attributions.
    #[method(name = "getInference")]
    async fn get_inference(
        &self,
        inference_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>>;
    /// An inference settled in a batch, with its proof against its epoch's commitment as of
    /// the head (`IAttribution.verifyInference` checks it on chain, as the `InferenceProof`
    /// struct: `batchId`, `count`, `index`, `record`, `siblings`, `prior`, `later`); null for
    /// an unknown id or one settled alone.
    #[method(name = "getInferenceProof")]
    async fn get_inference_proof(&self, inference_id: U64) -> RpcResult<Option<Value>>;
    /// Models `offset + 1 ..= offset + limit` (ids start at 1; `limit` at most 100).
    #[method(name = "listModels")]
    async fn list_models(
        &self,
        offset: Option<U64>,
        limit: Option<U64>,
        block: Option<BlockId>,
    ) -> RpcResult<Value>;
    /// Lifetime royalties paid to an address: single settlements and splits from the state at
    /// `block`, plus batch credits from the node's index as of the head (at the head or
    /// `pending` only; at an older block the batches are left out).
    #[method(name = "earnings")]
    async fn earnings(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// Inference count, tokens and fees of a model, or null: settled alone (the state at
    /// `block`) plus in batches (the node's index as of the head, added at the head or
    /// `pending` only), with each part also shown on its own.
    #[method(name = "modelStats")]
    async fn model_stats(&self, model_id: U64, block: Option<BlockId>) -> RpcResult<Option<Value>>;
}

/// Serves `attr_` through the `eth_call` machinery.
#[derive(Clone)]
pub(crate) struct AttrHandler {
    pub(crate) eth: EthHandler,
}

/// An inference found in the index of settled batches.
struct Batched {
    batch: SettledBatch,
    /// Its position in the batch.
    index: usize,
    /// Every record of the batch, with its bytes.
    records: Vec<(InferenceRecord, Bytes)>,
}

impl Batched {
    fn record(&self) -> &InferenceRecord {
        &self.records[self.index].0
    }

    fn record_bytes(&self) -> &Bytes {
        &self.records[self.index].1
    }

    fn leaves(&self) -> Vec<B256> {
        self.records.iter().map(|(_, bytes)| leaf_hash(bytes)).collect()
    }

    /// The inference as `attr_getInference` shows it.
    fn json(&self) -> Value {
        let record = self.record();
        let (ids, weights): (Vec<u64>, Vec<u32>) = record.attributions.iter().copied().unzip();
        let attribution_hash = keccak256((ids.clone(), weights.clone()).abi_encode_params());
        json!({
            "id": U64::from(self.batch.id + self.index as u64),
            "modelId": U64::from(record.model_id),
            "payer": record.payer,
            "operator": self.batch.operator,
            "tokens": U64::from(record.tokens),
            "fee": U256::from(record.fee),
            "inferenceHash": record.output_hash,
            "attributionHash": attribution_hash,
            "contributionIds": ids.iter().map(|id| U64::from(*id)).collect::<Vec<_>>(),
            "weights": weights,
            "blockNumber": U64::from(self.batch.block_number),
            "transactionIndex": U64::from(self.batch.tx_index),
            "batchId": U64::from(self.batch.id),
            "batchIndex": U64::from(self.index as u64),
        })
    }
}

impl AttrHandler {
    /// The block the index of settled batches is at: the last block written (a block still
    /// being written is in "latest" state reads but not yet in the index).
    fn index_head(&self) -> Option<BlockId> {
        Some(BlockId::number(self.eth.ctx.db.head().number))
    }

    /// Inference `id` from the index of settled batches.
    async fn batched(&self, id: u64) -> RpcResult<Option<Batched>> {
        let db = self.eth.ctx.db.clone();
        let found = tokio::task::spawn_blocking(move || -> Result<Option<Batched>, RpcError> {
            let Some(batch) = db.inference_batch_at_or_below(id).map_err(RpcError::internal)?
            else {
                return Ok(None);
            };
            let Some(index) = id.checked_sub(batch.id).and_then(|i| usize::try_from(i).ok()) else {
                return Ok(None);
            };
            if index >= batch.count as usize {
                return Ok(None);
            }
            if batch.records.is_empty() {
                return Err(RpcError::internal(format!(
                    "the records of batch {} are not in this node's index (a contract settled \
                     it and they were not at hand when its block ran)",
                    batch.id
                )));
            }
            let Ok(decoded) = decode_batch(&batch.records) else {
                return Err(RpcError::internal(format!("batch {} does not decode", batch.id)));
            };
            if index >= decoded.len() {
                return Ok(None);
            }
            let records = decoded
                .into_iter()
                .map(|(record, range)| {
                    let bytes = batch.records.slice(range);
                    (record, bytes)
                })
                .collect();
            Ok(Some(Batched { batch, index, records }))
        })
        .await
        .map_err(RpcError::internal)??;
        Ok(found)
    }

    /// Calls a view; `Ok(None)` when it reverts with one of the precompile's errors (an
    /// unknown id).
    async fn view<C: SolCall + Send + 'static>(
        &self,
        to: Address,
        call: C,
        block: Option<BlockId>,
    ) -> RpcResult<Option<C::Return>>
    where
        C::Return: Send,
    {
        let eth = self.eth.clone();
        let request =
            TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
        let output =
            tokio::task::spawn_blocking(move || eth.call_inner(request, block, None, None))
                .await
                .map_err(RpcError::internal)?;
        match output {
            Ok(bytes) => C::abi_decode_returns(&bytes)
                .map(Some)
                .map_err(|err| RpcError::internal(err).into()),
            Err(RpcError::Reverted { data, .. })
                if A::IAttributionErrors::abi_decode(&data).is_ok() =>
            {
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn model_json(&self, id: u64, block: Option<BlockId>) -> RpcResult<Option<Value>> {
        let Some(m) =
            self.view(ATTRIBUTION_ADDRESS, A::getModelCall { modelId: id }, block).await?
        else {
            return Ok(None);
        };
        Ok(Some(json!({
            "id": U64::from(id),
            "owner": m.owner,
            "modelHash": m.modelHash,
            "metadataUri": m.metadataUri,
            "pricePerKiloToken": m.pricePerKiloToken,
            "dataBps": m.dataBps,
            "operatorBps": m.operatorBps,
            "datanetIds": m.datanetIds.iter().map(|d| U64::from(*d)).collect::<Vec<_>>(),
        })))
    }
}

#[jsonrpsee::core::async_trait]
impl AttrApiServer for AttrHandler {
    async fn get_model(&self, model_id: U64, block: Option<BlockId>) -> RpcResult<Option<Value>> {
        self.model_json(model_id.to(), block).await
    }

    async fn get_datanet(
        &self,
        datanet_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>> {
        let call = A::getDatanetCall { datanetId: datanet_id.to() };
        Ok(self.view(ATTRIBUTION_ADDRESS, call, block).await?.map(|d| {
            json!({
                "id": datanet_id,
                "curator": d.curator,
                "metadataUri": d.metadataUri,
                "contributionCount": U64::from(d.contributionCount),
            })
        }))
    }

    async fn get_contribution(
        &self,
        contribution_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>> {
        let call = A::getContributionCall { contributionId: contribution_id.to() };
        Ok(self.view(ATTRIBUTION_ADDRESS, call, block).await?.map(|c| {
            let status = match c.status {
                A::ContributionStatus::Accepted => "accepted",
                A::ContributionStatus::Rejected => "rejected",
                _ => "pending",
            };
            json!({
                "id": contribution_id,
                "datanetId": U64::from(c.datanetId),
                "contributor": c.contributor,
                "contentHash": c.contentHash,
                "weight": c.weight,
                "status": status,
            })
        }))
    }

    async fn get_inference(
        &self,
        inference_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>> {
        let call = A::getInferenceCall { inferenceId: inference_id.to() };
        let Some(i) = self.view(ATTRIBUTION_ADDRESS, call, block).await? else {
            let found = self.batched(inference_id.to()).await?;
            return Ok(found.map(|found| found.json()));
        };
        Ok(Some({
            json!({
                "id": inference_id,
                "modelId": U64::from(i.modelId),
                "payer": i.payer,
                "operator": i.operator,
                "tokens": U64::from(i.tokens),
                "fee": i.fee,
                "inferenceHash": i.inferenceHash,
                "attributionHash": i.attributionHash,
                "blockNumber": U64::from(i.blockNumber),
            })
        }))
    }

    async fn get_inference_proof(&self, inference_id: U64) -> RpcResult<Option<Value>> {
        let Some(found) = self.batched(inference_id.to()).await? else { return Ok(None) };
        let leaves = found.leaves();
        let siblings = merkle_proof(&leaves, found.index).unwrap_or_default();
        let epoch = found.batch.id / SETTLEMENT_EPOCH;
        let db = self.eth.ctx.db.clone();
        let links = tokio::task::spawn_blocking(move || -> Result<Vec<BatchLink>, RpcError> {
            let first = epoch.saturating_mul(SETTLEMENT_EPOCH);
            let batches = db
                .inference_batches_in(first, first.saturating_add(SETTLEMENT_EPOCH))
                .map_err(RpcError::internal)?;
            Ok(batches
                .into_iter()
                .map(|batch| BatchLink { batch_id: batch.id, count: batch.count, root: batch.root })
                .collect())
        })
        .await
        .map_err(RpcError::internal)??;
        let Some(position) = links.iter().position(|link| link.batch_id == found.batch.id) else {
            return Err(RpcError::internal("a batch is missing from its epoch").into());
        };
        // The index answers as of the written head: check the chain against the state there,
        // so a batch missing from the index (its records were not at hand) is an error, not
        // a proof that cannot verify.
        let commitment = epoch_commitment(B256::ZERO, &links);
        let head = self.index_head();
        let stored = self.view(ATTRIBUTION_ADDRESS, A::batchCommitmentCall { epoch }, head).await?;
        if stored != Some(commitment) {
            return Err(RpcError::internal(format!(
                "the index of epoch {epoch}'s batches does not match the state's commitment"
            ))
            .into());
        }
        let prior = epoch_commitment(B256::ZERO, &links[..position]);
        let later: Vec<Value> = links[position + 1..]
            .iter()
            .map(|l| json!({ "batchId": U64::from(l.batch_id), "count": l.count, "root": l.root }))
            .collect();
        Ok(Some(json!({
            "inferenceId": inference_id,
            "batchId": U64::from(found.batch.id),
            "count": links[position].count,
            "index": U64::from(found.index as u64),
            "record": found.record_bytes().clone(),
            "root": found.batch.root,
            "siblings": siblings,
            "prior": prior,
            "later": later,
            "epoch": U64::from(epoch),
            "commitment": commitment,
            "inference": found.json(),
        })))
    }

    async fn list_models(
        &self,
        offset: Option<U64>,
        limit: Option<U64>,
        block: Option<BlockId>,
    ) -> RpcResult<Value> {
        let total =
            self.view(ATTRIBUTION_ADDRESS, A::modelCountCall {}, block).await?.unwrap_or_default();
        let offset: u64 = offset.map(|o| o.to()).unwrap_or_default();
        let limit: u64 = limit.map(|l| l.to()).unwrap_or(MAX_PAGE);
        if limit > MAX_PAGE {
            return Err(RpcError::InvalidParams(format!("limit is at most {MAX_PAGE}")).into());
        }
        let mut models = Vec::new();
        for id in offset.saturating_add(1)..=offset.saturating_add(limit).min(total) {
            models.extend(self.model_json(id, block).await?);
        }
        Ok(json!({ "total": U64::from(total), "models": models }))
    }

    async fn earnings(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let call = R::earningsCall { account: address };
        if !at_head(block) {
            return Ok(self.view(ROYALTIES_ADDRESS, call, block).await?.unwrap_or_default());
        }
        // The state at the index's head, so both parts are of one block.
        let single =
            self.view(ROYALTIES_ADDRESS, call, self.index_head()).await?.unwrap_or_default();
        let db = self.eth.ctx.db.clone();
        let batched = tokio::task::spawn_blocking(move || db.batched_credits(&address))
            .await
            .map_err(RpcError::internal)?
            .map_err(RpcError::internal)?;
        Ok(single.saturating_add(U256::from(batched)))
    }

    async fn model_stats(&self, model_id: U64, block: Option<BlockId>) -> RpcResult<Option<Value>> {
        let call = A::modelStatsCall { modelId: model_id.to() };
        // At the head, the state at the index's head, so both parts are of one block.
        let at = if at_head(block) { self.index_head() } else { block };
        let Some(single) = self.view(ATTRIBUTION_ADDRESS, call, at).await? else {
            return Ok(None);
        };
        let batched = if at_head(block) {
            let db = self.eth.ctx.db.clone();
            let id = model_id.to();
            tokio::task::spawn_blocking(move || db.batched_model_totals(id))
                .await
                .map_err(RpcError::internal)?
                .map_err(RpcError::internal)?
        } else {
            Default::default()
        };
        let part = |inferences: u64, tokens: U256, fees: U256| json!({ "inferences": U64::from(inferences), "tokens": tokens, "fees": fees });
        let (tokens, fees) = (U256::from(batched.tokens), U256::from(batched.fees));
        Ok(Some(json!({
            "modelId": model_id,
            "inferences": U64::from(single.inferences.saturating_add(batched.inferences)),
            "tokens": single.tokens.saturating_add(tokens),
            "fees": single.fees.saturating_add(fees),
            "single": part(single.inferences, single.tokens, single.fees),
            "batched": part(batched.inferences, tokens, fees),
        })))
    }
}

/// Whether `block` names the head (the index's totals are the head's).
fn at_head(block: Option<BlockId>) -> bool {
    use alloy::eips::BlockNumberOrTag;
    matches!(
        block,
        None | Some(BlockId::Number(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending))
    )
}
