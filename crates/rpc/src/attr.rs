//! The `attr_` namespace: the Attribution and Royalties records as JSON, read from state at a
//! block by calling the precompiles' views, so the answers always match the chain.

use crate::{RpcError, RpcResult, eth::EthHandler};
use alloy::{
    eips::BlockId,
    primitives::{Address, Bytes, U64, U256},
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolInterface},
};
use jsonrpsee::proc_macros::rpc;
use serde_json::{Value, json};
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, IAttribution as A, IRoyalties as R, ROYALTIES_ADDRESS,
};

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
    /// A settled inference, or null.
    #[method(name = "getInference")]
    async fn get_inference(
        &self,
        inference_id: U64,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>>;
    /// Models `offset + 1 ..= offset + limit` (ids start at 1; `limit` at most 100).
    #[method(name = "listModels")]
    async fn list_models(
        &self,
        offset: Option<U64>,
        limit: Option<U64>,
        block: Option<BlockId>,
    ) -> RpcResult<Value>;
    /// Lifetime royalties paid to an address.
    #[method(name = "earnings")]
    async fn earnings(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// Inference count, tokens and fees of a model, or null.
    #[method(name = "modelStats")]
    async fn model_stats(&self, model_id: U64, block: Option<BlockId>) -> RpcResult<Option<Value>>;
}

/// Serves `attr_` through the `eth_call` machinery.
#[derive(Clone)]
pub(crate) struct AttrHandler {
    pub(crate) eth: EthHandler,
}

impl AttrHandler {
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
        Ok(self.view(ATTRIBUTION_ADDRESS, call, block).await?.map(|i| {
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
        Ok(self.view(ROYALTIES_ADDRESS, call, block).await?.unwrap_or_default())
    }

    async fn model_stats(&self, model_id: U64, block: Option<BlockId>) -> RpcResult<Option<Value>> {
        let call = A::modelStatsCall { modelId: model_id.to() };
        Ok(self.view(ATTRIBUTION_ADDRESS, call, block).await?.map(|s| {
            json!({ "modelId": model_id, "inferences": U64::from(s.inferences), "tokens": s.tokens, "fees": s.fees })
        }))
    }
}
