//! The Engine API (`engine_*`), as op-node and kona-node drive an OP Stack execution client.
//!
//! This file is the wire side: method signatures, the payload version each fork takes, the
//! conversion of a payload into a block (with its block-hash check) and of a built block into
//! an envelope, and the error codes. What the calls do to the chain is behind
//! [`EngineBackend`], which the node implements over its database and executor (the same
//! building and committing its sequencer and derivation use). Calls run on tokio's blocking
//! pool: building and importing execute blocks.
//!
//! Versions, by the fork at the payload's timestamp (OP Stack exec-engine spec):
//! `newPayloadV2`/`getPayloadV2`/`forkchoiceUpdatedV2` before Ecotone, V3 from Ecotone,
//! `newPayloadV4`/`getPayloadV4` from Isthmus (with `withdrawalsRoot` in the payload and an
//! empty `executionRequests`); `forkchoiceUpdatedV3` from Ecotone on. A call with the wrong
//! version for its fork is refused with `-38005 Unsupported fork`.

use crate::RpcContext;
use alloy::{consensus::BlockHeader, eips::eip7685::EMPTY_REQUESTS_HASH};
use alloy_primitives::{B256, Bytes, U256};
use alloy_rpc_types_engine::{
    CancunPayloadFields, ExecutionPayloadEnvelopeV2, ExecutionPayloadFieldV2,
    ExecutionPayloadInputV2, ExecutionPayloadV3, ForkchoiceState, ForkchoiceUpdated, PayloadId,
    PayloadStatus, PayloadStatusEnum, PraguePayloadFields,
};
use jsonrpsee::{
    core::{RpcResult, async_trait},
    proc_macros::rpc,
    types::ErrorObjectOwned,
};
use op_alloy::rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadEnvelopeV3, OpExecutionPayloadEnvelopeV4,
    OpExecutionPayloadSidecar, OpExecutionPayloadV4, OpPayloadAttributes,
};
use std::sync::Arc;
use tributary_p2p::BlockVersion;
use tributary_primitives::{Block, OpTxEnvelope, TxEnvelope};

/// Engine API error codes (execution-apis `common.md`).
pub mod code {
    /// The payload id is not known (or its build was dropped).
    pub const UNKNOWN_PAYLOAD: i32 = -38001;
    /// The forkchoice state is inconsistent (safe or finalized not an ancestor of the head).
    pub const INVALID_FORKCHOICE_STATE: i32 = -38002;
    /// The payload attributes cannot make a block on this chain.
    pub const INVALID_PAYLOAD_ATTRIBUTES: i32 = -38003;
    /// The method version does not match the payload's fork.
    pub const UNSUPPORTED_FORK: i32 = -38005;
    /// Bad parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Something broke inside the node.
    pub const INTERNAL: i32 = -32603;
}

/// What an Engine API call can fail with (besides a payload status, which is an answer).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `-38001`.
    #[error("Unknown payload")]
    UnknownPayload,
    /// `-38002`.
    #[error("Invalid forkchoice state: {0}")]
    InvalidForkchoiceState(String),
    /// `-38003`.
    #[error("Invalid payload attributes: {0}")]
    InvalidPayloadAttributes(String),
    /// `-38005`.
    #[error("Unsupported fork")]
    UnsupportedFork,
    /// `-32602`.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// `-32603`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<EngineError> for ErrorObjectOwned {
    fn from(err: EngineError) -> Self {
        let code = match &err {
            EngineError::UnknownPayload => code::UNKNOWN_PAYLOAD,
            EngineError::InvalidForkchoiceState(_) => code::INVALID_FORKCHOICE_STATE,
            EngineError::InvalidPayloadAttributes(_) => code::INVALID_PAYLOAD_ATTRIBUTES,
            EngineError::UnsupportedFork => code::UNSUPPORTED_FORK,
            EngineError::InvalidParams(_) => code::INVALID_PARAMS,
            EngineError::Internal(_) => code::INTERNAL,
        };
        ErrorObjectOwned::owned(code, err.to_string(), None::<()>)
    }
}

/// A block built from payload attributes, as `getPayload` hands it out.
#[derive(Debug, Clone)]
pub struct BuiltPayload {
    /// The block.
    pub block: Block,
    /// Its hash.
    pub hash: B256,
    /// What the fee recipient earns from it (priority fees), wei.
    pub fees: U256,
}

/// What the Engine API asks of the node. Every method blocks (it may execute blocks).
pub trait EngineBackend: Send + Sync + 'static {
    /// Validates and stores `block` (whose hash was checked against its header): `VALID` once
    /// executed on its parent, `INVALID` with the last valid ancestor, `ACCEPTED` when it
    /// does not extend the head (kept until a forkchoice update names it), `SYNCING` when its
    /// parent is unknown.
    fn new_payload(&self, block: Block, hash: B256) -> Result<PayloadStatus, EngineError>;
    /// Makes `state.head_block_hash` the head (reorganizing to it), moves the safe and
    /// finalized heads, and starts a payload build on the head when `attrs` are given.
    fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
        version: u8,
    ) -> Result<ForkchoiceUpdated, EngineError>;
    /// The payload the build `id` made (built now if it has not been yet).
    fn get_payload(&self, id: PayloadId) -> Result<BuiltPayload, EngineError>;
}

/// The `engine_` namespace.
#[rpc(server, namespace = "engine")]
pub trait EngineApi {
    /// Pre-Ecotone payloads.
    #[method(name = "newPayloadV2")]
    async fn new_payload_v2(&self, payload: ExecutionPayloadInputV2) -> RpcResult<PayloadStatus>;
    /// Ecotone to Holocene payloads.
    #[method(name = "newPayloadV3")]
    async fn new_payload_v3(
        &self,
        payload: ExecutionPayloadV3,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
    ) -> RpcResult<PayloadStatus>;
    /// Isthmus payloads on.
    #[method(name = "newPayloadV4")]
    async fn new_payload_v4(
        &self,
        payload: OpExecutionPayloadV4,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
        execution_requests: Vec<Bytes>,
    ) -> RpcResult<PayloadStatus>;
    /// Forkchoice update, pre-Ecotone attributes.
    #[method(name = "forkchoiceUpdatedV2")]
    async fn forkchoice_updated_v2(
        &self,
        state: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated>;
    /// Forkchoice update, Ecotone attributes on.
    #[method(name = "forkchoiceUpdatedV3")]
    async fn forkchoice_updated_v3(
        &self,
        state: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated>;
    /// A built payload, pre-Ecotone.
    #[method(name = "getPayloadV2")]
    async fn get_payload_v2(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV2>;
    /// A built payload, Ecotone to Holocene.
    #[method(name = "getPayloadV3")]
    async fn get_payload_v3(&self, id: PayloadId) -> RpcResult<OpExecutionPayloadEnvelopeV3>;
    /// A built payload, Isthmus on.
    #[method(name = "getPayloadV4")]
    async fn get_payload_v4(&self, id: PayloadId) -> RpcResult<OpExecutionPayloadEnvelopeV4>;
    /// The Engine API methods this node serves.
    #[method(name = "exchangeCapabilities")]
    async fn exchange_capabilities(&self, capabilities: Vec<String>) -> RpcResult<Vec<String>>;
    /// This client's name and version (the caller's, which any client code may name, is not
    /// read).
    #[method(name = "getClientVersionV1")]
    async fn get_client_version_v1(
        &self,
        client: serde_json::Value,
    ) -> RpcResult<Vec<ClientVersion>>;
}

/// Every method [`EngineApiServer`] serves, as `exchangeCapabilities` lists them.
pub const CAPABILITIES: &[&str] = &[
    "engine_newPayloadV2",
    "engine_newPayloadV3",
    "engine_newPayloadV4",
    "engine_forkchoiceUpdatedV2",
    "engine_forkchoiceUpdatedV3",
    "engine_getPayloadV2",
    "engine_getPayloadV3",
    "engine_getPayloadV4",
    "engine_exchangeCapabilities",
    "engine_getClientVersionV1",
];

/// The `engine_` handler.
pub(crate) struct EngineHandler {
    pub(crate) ctx: Arc<RpcContext>,
    pub(crate) backend: Arc<dyn EngineBackend>,
}

impl EngineHandler {
    fn version_at(&self, timestamp: u64) -> BlockVersion {
        BlockVersion::at(self.ctx.evm.chain(), timestamp)
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn EngineBackend) -> Result<T, EngineError> + Send + 'static,
    ) -> RpcResult<T> {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || f(backend.as_ref()))
            .await
            .map_err(|err| EngineError::Internal(err.to_string()))?
            .map_err(Into::into)
    }

    /// Converts a payload to a block, checks its hash and fork, and hands it to the backend.
    async fn new_payload(
        &self,
        payload: OpExecutionPayload,
        sidecar: OpExecutionPayloadSidecar,
        allowed: &[BlockVersion],
    ) -> RpcResult<PayloadStatus> {
        if !allowed.contains(&self.version_at(payload.timestamp())) {
            return Err(EngineError::UnsupportedFork.into());
        }
        let claimed = payload.block_hash();
        // Decoded as op-alloy's envelope, which has no blob type: an OP block carries none.
        let block = match payload.try_into_block_with_sidecar::<OpTxEnvelope>(&sidecar) {
            Ok(block) => block,
            Err(err) => return Ok(invalid(None, format!("malformed payload: {err}"))),
        };
        let block = match block.try_map_transactions(TxEnvelope::try_from) {
            Ok(block) => block,
            Err(err) => return Ok(invalid(None, format!("malformed payload: {err}"))),
        };
        let hash = block.header.hash_slow();
        if hash != claimed {
            return Ok(invalid(None, format!("block hash mismatch: want {claimed}, got {hash}")));
        }
        if let Some(position) = misplaced_deposit(&block) {
            return Ok(invalid(None, format!("deposit transaction at index {position}")));
        }
        self.blocking(move |backend| backend.new_payload(block, hash)).await
    }

    async fn forkchoice_updated(
        &self,
        state: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
        version: u8,
    ) -> RpcResult<ForkchoiceUpdated> {
        if let Some(attrs) = &attrs {
            let fork = self.version_at(attrs.payload_attributes.timestamp);
            let beacon_root = attrs.payload_attributes.parent_beacon_block_root.is_some();
            let fits = match version {
                2 => fork <= BlockVersion::V2 && !beacon_root,
                _ => fork >= BlockVersion::V3 && beacon_root,
            };
            if !fits {
                return Err(EngineError::UnsupportedFork.into());
            }
        }
        self.blocking(move |backend| backend.forkchoice_updated(state, attrs, version)).await
    }

    /// The built payload `id`, refused unless its fork is one of `allowed`.
    async fn built(&self, id: PayloadId, allowed: &[BlockVersion]) -> RpcResult<BuiltPayload> {
        let built = self.blocking(move |backend| backend.get_payload(id)).await?;
        if !allowed.contains(&self.version_at(built.block.header.timestamp)) {
            return Err(EngineError::UnsupportedFork.into());
        }
        Ok(built)
    }
}

/// `INVALID` with `latestValidHash` and the reason.
pub fn invalid(latest_valid: Option<B256>, reason: String) -> PayloadStatus {
    PayloadStatus::new(PayloadStatusEnum::Invalid { validation_error: reason }, latest_valid)
}

/// The index of a deposit that follows a non-deposit transaction, if any.
fn misplaced_deposit(block: &Block) -> Option<usize> {
    let first_user = block.body.transactions.iter().position(|tx| !tx.is_deposit())?;
    block
        .body
        .transactions
        .iter()
        .skip(first_user)
        .position(|tx| tx.is_deposit())
        .map(|i| i + first_user)
}

#[async_trait]
impl EngineApiServer for EngineHandler {
    async fn new_payload_v2(&self, payload: ExecutionPayloadInputV2) -> RpcResult<PayloadStatus> {
        let payload = OpExecutionPayload::v2(payload);
        let allowed = [BlockVersion::V1, BlockVersion::V2];
        self.new_payload(payload, OpExecutionPayloadSidecar::default(), &allowed).await
    }

    async fn new_payload_v3(
        &self,
        payload: ExecutionPayloadV3,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
    ) -> RpcResult<PayloadStatus> {
        if !versioned_hashes.is_empty() {
            return Err(EngineError::InvalidParams("an OP block carries no blobs".into()).into());
        }
        let sidecar = OpExecutionPayloadSidecar::v3(CancunPayloadFields::new(
            parent_beacon_block_root,
            vec![],
        ));
        self.new_payload(OpExecutionPayload::V3(payload), sidecar, &[BlockVersion::V3]).await
    }

    async fn new_payload_v4(
        &self,
        payload: OpExecutionPayloadV4,
        versioned_hashes: Vec<B256>,
        parent_beacon_block_root: B256,
        execution_requests: Vec<Bytes>,
    ) -> RpcResult<PayloadStatus> {
        if !versioned_hashes.is_empty() || !execution_requests.is_empty() {
            let reason = "an OP block carries no blobs and no execution requests";
            return Err(EngineError::InvalidParams(reason.into()).into());
        }
        let sidecar = OpExecutionPayloadSidecar::v4(
            CancunPayloadFields::new(parent_beacon_block_root, vec![]),
            PraguePayloadFields::new(EMPTY_REQUESTS_HASH),
        );
        self.new_payload(OpExecutionPayload::V4(payload), sidecar, &[BlockVersion::V4]).await
    }

    async fn forkchoice_updated_v2(
        &self,
        state: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated> {
        self.forkchoice_updated(state, attrs, 2).await
    }

    async fn forkchoice_updated_v3(
        &self,
        state: ForkchoiceState,
        attrs: Option<OpPayloadAttributes>,
    ) -> RpcResult<ForkchoiceUpdated> {
        self.forkchoice_updated(state, attrs, 3).await
    }

    async fn get_payload_v2(&self, id: PayloadId) -> RpcResult<ExecutionPayloadEnvelopeV2> {
        let built = self.built(id, &[BlockVersion::V1, BlockVersion::V2]).await?;
        Ok(ExecutionPayloadEnvelopeV2 {
            execution_payload: ExecutionPayloadFieldV2::from_block_unchecked(
                built.hash,
                &built.block,
            ),
            block_value: built.fees,
        })
    }

    async fn get_payload_v3(&self, id: PayloadId) -> RpcResult<OpExecutionPayloadEnvelopeV3> {
        let built = self.built(id, &[BlockVersion::V3]).await?;
        let header = &built.block.header;
        Ok(OpExecutionPayloadEnvelopeV3 {
            parent_beacon_block_root: header.parent_beacon_block_root().unwrap_or_default(),
            execution_payload: ExecutionPayloadV3::from_block_unchecked(built.hash, &built.block),
            block_value: built.fees,
            blobs_bundle: Default::default(),
            should_override_builder: false,
        })
    }

    async fn get_payload_v4(&self, id: PayloadId) -> RpcResult<OpExecutionPayloadEnvelopeV4> {
        let built = self.built(id, &[BlockVersion::V4]).await?;
        let header = &built.block.header;
        Ok(OpExecutionPayloadEnvelopeV4 {
            parent_beacon_block_root: header.parent_beacon_block_root().unwrap_or_default(),
            execution_payload: OpExecutionPayloadV4::from_v3_with_withdrawals_root(
                ExecutionPayloadV3::from_block_unchecked(built.hash, &built.block),
                header.withdrawals_root().unwrap_or_default(),
            ),
            block_value: built.fees,
            blobs_bundle: Default::default(),
            should_override_builder: false,
            execution_requests: Vec::new(),
        })
    }

    async fn exchange_capabilities(&self, _capabilities: Vec<String>) -> RpcResult<Vec<String>> {
        Ok(CAPABILITIES.iter().map(|method| method.to_string()).collect())
    }

    async fn get_client_version_v1(
        &self,
        _client: serde_json::Value,
    ) -> RpcResult<Vec<ClientVersion>> {
        Ok(vec![client_version()])
    }
}

/// `engine_getClientVersionV1`'s answer. alloy's `ClientVersionV1` takes only the registered
/// client codes; Tributary's own, `TR`, is not one of them, and claiming another client's
/// would mislead whoever reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientVersion {
    /// Two-letter client code.
    pub code: String,
    /// The client's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The first four bytes of its commit, hex.
    pub commit: String,
}

/// This client, as `engine_getClientVersionV1` names it.
pub fn client_version() -> ClientVersion {
    ClientVersion {
        code: "TR".into(),
        name: "Tributary".into(),
        version: format!("v{}", env!("CARGO_PKG_VERSION")),
        commit: option_env!("TRIBUTARY_COMMIT").unwrap_or("00000000").into(),
    }
}
