//! Where the batcher reads L2 blocks: the node's database when it runs inside the sequencer.

use std::future::Future;
use tributary_primitives::{SealedHeader, TxEnvelope};
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
    pub transactions: Vec<TxEnvelope>,
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

/// L2 blocks over JSON-RPC, for `tributary batcher` running apart from the sequencer.
#[derive(Debug, Clone)]
pub struct RpcL2Source {
    client: jsonrpsee::http_client::HttpClient,
}

impl RpcL2Source {
    /// A source reading from the L2 node at `url`.
    ///
    /// # Errors
    ///
    /// The URL is not usable.
    pub fn new(url: &str) -> Result<Self, SourceError> {
        let client = jsonrpsee::http_client::HttpClientBuilder::default()
            .request_timeout(std::time::Duration::from_secs(10))
            .max_response_size(256 * 1024 * 1024)
            .build(url)
            .map_err(|err| SourceError(format!("L2 RPC URL {url}: {err}")))?;
        Ok(Self { client })
    }
}

type RpcBlock = alloy::rpc::types::Block<op_alloy::rpc_types::Transaction>;

impl L2Source for RpcL2Source {
    async fn head(&self) -> Result<u64, SourceError> {
        use jsonrpsee::core::client::ClientT;
        let number: alloy_primitives::U64 = self
            .client
            .request("eth_blockNumber", jsonrpsee::rpc_params![])
            .await
            .map_err(|err| SourceError(format!("eth_blockNumber: {err}")))?;
        Ok(number.to())
    }

    async fn block(&self, number: u64) -> Result<Option<L2Block>, SourceError> {
        use jsonrpsee::core::client::ClientT;
        let block: Option<RpcBlock> = self
            .client
            .request(
                "eth_getBlockByNumber",
                jsonrpsee::rpc_params![alloy_primitives::U64::from(number), true],
            )
            .await
            .map_err(|err| SourceError(format!("eth_getBlockByNumber {number}: {err}")))?;
        let Some(block) = block else { return Ok(None) };
        let header = SealedHeader::new_unchecked(block.header.inner, block.header.hash);
        let transactions = block
            .transactions
            .into_transactions()
            .map(|tx| TxEnvelope::try_from(tx.inner.inner.into_inner()))
            .collect::<Result<_, _>>()
            .map_err(|err| SourceError(format!("block {number}: {err}")))?;
        Ok(Some(L2Block { header, transactions }))
    }
}
