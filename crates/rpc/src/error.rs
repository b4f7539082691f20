use alloy_primitives::Bytes;
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use tributary_txpool::PoolError;

/// JSON-RPC error codes we answer with, as geth and reth use them.
pub(crate) mod code {
    pub(crate) const EXECUTION_REVERTED: i32 = 3;
    pub(crate) const INVALID_PARAMS: i32 = -32602;
    pub(crate) const INTERNAL: i32 = -32603;
    pub(crate) const SERVER: i32 = -32000;
    pub(crate) const LIMIT_EXCEEDED: i32 = -32005;
}

/// Errors the RPC answers with.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Bad parameters.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A block that does not exist (yet).
    #[error("header not found")]
    HeaderNotFound,
    /// The pool refused a transaction.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The call reverted.
    #[error("execution reverted{}", .reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// The revert data.
        data: Bytes,
        /// The decoded `Error(string)` or `Panic(uint256)` reason, if any.
        reason: Option<String>,
    },
    /// The call failed for another reason (halt, invalid transaction).
    #[error("{0}")]
    Execution(String),
    /// A request beyond the configured limits.
    #[error("{0}")]
    LimitExceeded(String),
    /// Unknown filter id.
    #[error("filter not found")]
    FilterNotFound,
    /// Something broke inside the node.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RpcError {
    pub(crate) fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    pub(crate) fn reverted(data: Bytes) -> Self {
        let reason = alloy::sol_types::decode_revert_reason(&data);
        Self::Reverted { data, reason }
    }
}

impl From<tributary_storage::StorageError> for RpcError {
    fn from(err: tributary_storage::StorageError) -> Self {
        Self::internal(err)
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(err: RpcError) -> Self {
        let message = err.to_string();
        match err {
            RpcError::Reverted { data, .. } => {
                ErrorObject::owned(code::EXECUTION_REVERTED, message, Some(data))
            }
            RpcError::InvalidParams(_) => {
                ErrorObject::owned(code::INVALID_PARAMS, message, None::<()>)
            }
            RpcError::LimitExceeded(_) => {
                ErrorObject::owned(code::LIMIT_EXCEEDED, message, None::<()>)
            }
            RpcError::Internal(_) => ErrorObject::owned(code::INTERNAL, message, None::<()>),
            RpcError::HeaderNotFound
            | RpcError::Pool(_)
            | RpcError::Execution(_)
            | RpcError::FilterNotFound => ErrorObject::owned(code::SERVER, message, None::<()>),
        }
    }
}

/// The RPC `Result`.
pub type RpcResult<T> = Result<T, ErrorObjectOwned>;
