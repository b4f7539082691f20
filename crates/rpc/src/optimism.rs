//! The `optimism_` namespace, as op-node serves it: sync status, the rollup config, and
//! output roots.

use crate::{RpcContext, RpcResult, error::RpcError};
use alloy::rpc::types::BlockNumberOrTag;
use alloy_primitives::{B256, keccak256};
use jsonrpsee::proc_macros::rpc;
use serde_json::{Value, json};
use std::sync::Arc;
use tributary_chainspec::RollupConfig;
use tributary_l1::L1Client;
use tributary_protocol::L1BlockInfo;

/// What the namespace needs beyond the node: the rollup config and the L1.
#[derive(Debug, Clone)]
pub struct RollupRpc {
    /// The rollup config.
    pub config: RollupConfig,
    /// The L1, for its head, safe and finalized blocks.
    pub l1: L1Client,
}

/// `optimism_*`.
#[rpc(server, namespace = "optimism")]
pub trait OptimismApi {
    /// Where the node is, on L1 and L2 (op-node's `SyncStatus`).
    #[method(name = "syncStatus")]
    async fn sync_status(&self) -> RpcResult<Value>;

    /// The rollup config (`rollup.json`).
    #[method(name = "rollupConfig")]
    async fn rollup_config(&self) -> RpcResult<Value>;

    /// The output root of an L2 block: `keccak256(version ++ stateRoot ++
    /// messagePasserStorageRoot ++ blockHash)`, version 0.
    #[method(name = "outputAtBlock")]
    async fn output_at_block(&self, block: BlockNumberOrTag) -> RpcResult<Value>;
}

pub(crate) struct OptimismHandler {
    pub(crate) ctx: Arc<RpcContext>,
}

impl OptimismHandler {
    fn rollup(&self) -> RpcResult<&RollupRpc> {
        self.ctx.rollup.as_ref().ok_or_else(|| {
            RpcError::InvalidParams(
                "this node has no rollup config: optimism_* needs a rollup node".into(),
            )
            .into()
        })
    }

    fn resolve(&self, tag: BlockNumberOrTag) -> u64 {
        let head = self.ctx.db.head_number();
        match tag {
            BlockNumberOrTag::Number(n) => n,
            // `safe` and `finalized` never point past the head (a rewound chain).
            BlockNumberOrTag::Safe => self.ctx.heads.safe().min(head),
            BlockNumberOrTag::Finalized => self.ctx.heads.finalized().min(head),
            BlockNumberOrTag::Earliest => 0,
            _ => head,
        }
    }

    /// op-node's `L2BlockRef` of block `number`.
    fn l2_ref(&self, number: u64) -> RpcResult<Value> {
        let db = &self.ctx.db;
        let header = db
            .sealed_header(number)
            .map_err(RpcError::internal)?
            .ok_or_else(|| RpcError::InvalidParams(format!("no L2 block {number}")))?;
        let first = db.body(number).map_err(RpcError::internal)?.and_then(|b| b.into_iter().next());
        let origin = L1BlockInfo::from_first_tx(first.as_ref()).ok();
        let (l1_hash, l1_number, sequence) = match (&origin, &self.ctx.rollup) {
            (Some(info), _) => (info.hash, info.number, info.sequence_number),
            (None, Some(rollup)) => {
                (rollup.config.genesis.l1.hash, rollup.config.genesis.l1.number, 0)
            }
            (None, None) => (B256::ZERO, 0, 0),
        };
        Ok(json!({
            "hash": header.hash(),
            "number": header.number,
            "parentHash": header.parent_hash,
            "timestamp": header.timestamp,
            "l1origin": { "hash": l1_hash, "number": l1_number },
            "sequenceNumber": sequence,
        }))
    }

    async fn l1_ref(&self, l1: &L1Client, tag: BlockNumberOrTag) -> Value {
        match l1.block(tag, false).await {
            Ok(Some(block)) => json!({
                "hash": block.header.hash,
                "number": block.header.number,
                "parentHash": block.header.parent_hash,
                "timestamp": block.header.timestamp,
            }),
            _ => {
                json!({ "hash": B256::ZERO, "number": 0, "parentHash": B256::ZERO, "timestamp": 0 })
            }
        }
    }

    async fn status(&self) -> RpcResult<Value> {
        let rollup = self.rollup()?;
        let unsafe_l2 = self.l2_ref(self.ctx.db.head_number())?;
        let safe_l2 = self.l2_ref(self.resolve(BlockNumberOrTag::Safe))?;
        let finalized_l2 = self.l2_ref(self.resolve(BlockNumberOrTag::Finalized))?;
        let origin = unsafe_l2["l1origin"]["number"].as_u64().unwrap_or_default();
        let current_l1 = self.l1_ref(&rollup.l1, BlockNumberOrTag::Number(origin)).await;
        let head_l1 = self.l1_ref(&rollup.l1, BlockNumberOrTag::Latest).await;
        let safe_l1 = self.l1_ref(&rollup.l1, BlockNumberOrTag::Safe).await;
        let finalized_l1 = self.l1_ref(&rollup.l1, BlockNumberOrTag::Finalized).await;
        Ok(json!({
            "current_l1": current_l1,
            "current_l1_finalized": finalized_l1,
            "head_l1": head_l1,
            "safe_l1": safe_l1,
            "finalized_l1": finalized_l1,
            "unsafe_l2": unsafe_l2,
            "safe_l2": safe_l2,
            "finalized_l2": finalized_l2,
            "pending_safe_l2": safe_l2,
            "cross_unsafe_l2": unsafe_l2,
            "local_safe_l2": safe_l2,
        }))
    }
}

/// Output root version 0 over a block's state root and hash. Tributary has no
/// L2ToL1MessagePasser predeploy, so its storage root is always the empty root.
pub fn output_root(state_root: B256, block_hash: B256) -> (B256, B256) {
    let message_passer_root = alloy_trie::EMPTY_ROOT_HASH;
    let mut preimage = [0u8; 128];
    preimage[32..64].copy_from_slice(state_root.as_slice());
    preimage[64..96].copy_from_slice(message_passer_root.as_slice());
    preimage[96..].copy_from_slice(block_hash.as_slice());
    (keccak256(preimage), message_passer_root)
}

#[jsonrpsee::core::async_trait]
impl OptimismApiServer for OptimismHandler {
    async fn sync_status(&self) -> RpcResult<Value> {
        self.status().await
    }

    async fn rollup_config(&self) -> RpcResult<Value> {
        let rollup = self.rollup()?;
        serde_json::to_value(&rollup.config)
            .map_err(|err| RpcError::Internal(err.to_string()).into())
    }

    async fn output_at_block(&self, block: BlockNumberOrTag) -> RpcResult<Value> {
        self.rollup()?;
        let number = self.resolve(block);
        let block_ref = self.l2_ref(number)?;
        let header = self
            .ctx
            .db
            .sealed_header(number)
            .map_err(RpcError::internal)?
            .ok_or_else(|| RpcError::InvalidParams(format!("no L2 block {number}")))?;
        let (root, message_passer_root) = output_root(header.state_root, header.hash());
        Ok(json!({
            "version": B256::ZERO,
            "outputRoot": root,
            "blockRef": block_ref,
            "withdrawalStorageRoot": message_passer_root,
            "stateRoot": header.state_root,
            "syncStatus": self.status().await?,
        }))
    }
}
