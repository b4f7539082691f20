use alloy_evm::block::BlockExecutionError;
use alloy_primitives::B256;
use tributary_storage::StorageError;

/// Execution errors, by what the caller should do next: a storage failure is fatal to the
/// node, an invalid block is the block's fault.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// Reading or writing state failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The executor failed for a reason that is not the transaction's fault.
    #[error("block execution: {0}")]
    Executor(#[from] BlockExecutionError),
    /// An imported block that does not verify.
    #[error("invalid block {number}: {reason}")]
    InvalidBlock {
        /// The block's number.
        number: u64,
        /// What did not match.
        reason: String,
    },
    /// A transaction whose signature does not recover.
    #[error("transaction {0}: bad signature")]
    BadSignature(B256),
    /// A block that is not the child of the head.
    #[error("block {number} does not extend head {head}")]
    NotChildOfHead {
        /// The block's number.
        number: u64,
        /// The head's number.
        head: u64,
    },
}

impl ExecutionError {
    /// Whether the block itself is at fault (a transaction the rules refuse, a header that
    /// does not verify, a bad signature), not the node (a storage or internal failure, after
    /// which the same block may well execute).
    pub fn is_invalid_block(&self) -> bool {
        matches!(
            self,
            Self::InvalidBlock { .. }
                | Self::BadSignature(_)
                | Self::Executor(BlockExecutionError::Validation(_))
        )
    }
}

/// The execution `Result`.
pub type Result<T, E = ExecutionError> = std::result::Result<T, E>;
