//! Where the batcher reads L2 blocks: the node's database when it runs inside the sequencer.

use std::future::Future;
use tributary_primitives::{OpTxEnvelope, SealedHeader};
use tributary_storage::Database;

/// Reading L2 blocks failed. Not temporary: the batcher stops.
#[derive(Debug, thiserror::Error)]
#[error("L2 source: {0}")]
pub struct SourceError(pub String);

/// An L2 block as the batcher needs it.
#[derive(Debug, Clone)]
pub struct L2Block {
    /// The header.
    pub header: SealedHeader,
    /// Every transaction, deposits included.
    pub transactions: Vec<OpTxEnvelope>,
}

/// A source of L2 blocks in order.
pub trait L2Source: Send + Sync {
    /// The newest block's number.
    fn head(&self) -> impl Future<Output = Result<u64, SourceError>> + Send;
    /// Block `number`, if there is one.
    fn block(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<L2Block>, SourceError>> + Send;
}

impl L2Source for Database {
    async fn head(&self) -> Result<u64, SourceError> {
        Ok(self.head_number())
    }

    async fn block(&self, number: u64) -> Result<Option<L2Block>, SourceError> {
        let error = |err: tributary_storage::StorageError| SourceError(err.to_string());
        let Some(header) = self.sealed_header(number).map_err(error)? else { return Ok(None) };
        let transactions = self.body(number).map_err(error)?.unwrap_or_default();
        Ok(Some(L2Block { header, transactions }))
    }
}
