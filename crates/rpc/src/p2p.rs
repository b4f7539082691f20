//! `opp2p_*`, as op-node names it: the node's own P2P identity and its peers with their
//! scores.

use crate::{RpcContext, RpcResult, error::RpcError};
use jsonrpsee::proc_macros::rpc;
use serde_json::{Value, json};
use std::sync::Arc;
use tributary_p2p::NetworkStatus;

/// `opp2p_*`.
#[rpc(server, namespace = "opp2p")]
pub trait P2pApi {
    /// Our peer id and listen addresses (each with `/p2p/<peer id>`, ready for
    /// `--p2p.static`).
    #[method(name = "self")]
    fn self_info(&self) -> RpcResult<Value>;

    /// Known peers: address, connected, gossip score, rejected messages, banned.
    #[method(name = "peers")]
    fn peers(&self) -> RpcResult<Value>;
}

pub(crate) struct P2pHandler {
    pub(crate) ctx: Arc<RpcContext>,
}

impl P2pHandler {
    fn status(&self) -> RpcResult<NetworkStatus> {
        let p2p = self.ctx.p2p.as_ref().ok_or_else(|| {
            RpcError::InvalidParams("P2P is disabled on this node (--p2p.disable)".into())
        })?;
        Ok(p2p.status())
    }
}

impl P2pApiServer for P2pHandler {
    fn self_info(&self) -> RpcResult<Value> {
        let status = self.status()?;
        Ok(json!({
            "peerID": status.peer_id,
            "addresses": status.listen_addrs,
            "connected": status.connected(),
        }))
    }

    fn peers(&self) -> RpcResult<Value> {
        let status = self.status()?;
        Ok(json!({ "totalConnected": status.connected(), "peers": status.peers }))
    }
}
