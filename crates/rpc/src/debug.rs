//! `debug_setHead`, on dev chains only ([`crate::RpcConfig::allow_set_head`]): it rewinds the
//! chain, dropping the blocks above `number` and their transactions, as geth's does. Tests use
//! it on the L1 dev chain to stage an L1 reorg under the batcher.

use crate::{RpcContext, RpcResult, error::RpcError};
use alloy_primitives::U64;
use jsonrpsee::proc_macros::rpc;
use std::sync::Arc;

/// `debug_*` (dev chains only).
#[rpc(server, namespace = "debug")]
pub trait DebugApi {
    /// Rewinds the chain to block `number`.
    #[method(name = "setHead")]
    fn set_head(&self, number: U64) -> RpcResult<()>;
}

pub(crate) struct DebugHandler {
    pub(crate) ctx: Arc<RpcContext>,
}

impl DebugApiServer for DebugHandler {
    fn set_head(&self, number: U64) -> RpcResult<()> {
        let number = number.to::<u64>();
        let db = &self.ctx.db;
        let head = db.head_number();
        if number >= head {
            return Ok(());
        }
        tokio::task::block_in_place(|| self.ctx.reorgs.unwind(db, number))
            .map_err(RpcError::internal)?;
        let heads = &self.ctx.heads;
        heads.set(heads.safe().min(number), heads.finalized().min(number));
        let header = db.head();
        let chain = self.ctx.evm.chain();
        self.ctx.pool.on_new_block(
            chain.next_base_fee(&header, header.timestamp + 1),
            header.gas_limit,
            chain.spec_id_at(header.timestamp + 1),
        );
        tracing::warn!(target: "rpc::debug", from = head, to = number, "chain rewound by debug_setHead");
        Ok(())
    }
}
