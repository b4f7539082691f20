//! The JSON-RPC method signatures, one trait per namespace.

use crate::RpcResult;
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    rpc::types::{
        BlockOverrides, FeeHistory, Filter, FilterChanges, Log, SyncStatus, TransactionRequest,
        state::StateOverride,
    },
};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use jsonrpsee::{core::SubscriptionResult, proc_macros::rpc};
use op_alloy::rpc_types::OpTransactionReceipt;
use serde_json::Value;

/// A receipt as served: op-alloy's for every OP type (with the L1 fee fields on the L2), or
/// alloy's for a blob transaction on the L1 dev chain (type `0x3`, with `blobGasUsed` and
/// `blobGasPrice`), which op-alloy's receipt has no variant for.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum RpcReceipt {
    /// An OP transaction's receipt.
    Op(Box<OpTransactionReceipt>),
    /// A blob transaction's receipt.
    Blob(Box<alloy::rpc::types::TransactionReceipt>),
}

/// A block as served.
pub type RpcBlock = alloy::rpc::types::Block<RpcTransaction>;
/// A transaction as served (OP fields included).
pub type RpcTransaction = op_alloy::rpc_types::Transaction<tributary_primitives::TxEnvelope>;

/// `eth_` methods.
#[rpc(server, namespace = "eth")]
pub trait EthApi {
    /// The chain id.
    #[method(name = "chainId")]
    async fn chain_id(&self) -> RpcResult<U64>;
    /// Always not syncing for now.
    #[method(name = "syncing")]
    async fn syncing(&self) -> RpcResult<SyncStatus>;
    /// The head's number.
    #[method(name = "blockNumber")]
    async fn block_number(&self) -> RpcResult<U64>;
    /// No unlocked accounts: keys stay in wallets.
    #[method(name = "accounts")]
    async fn accounts(&self) -> RpcResult<Vec<Address>>;
    /// A block by number or tag.
    #[method(name = "getBlockByNumber")]
    async fn block_by_number(
        &self,
        block: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<RpcBlock>>;
    /// A block by hash.
    #[method(name = "getBlockByHash")]
    async fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>>;
    /// Transaction count of a block by number.
    #[method(name = "getBlockTransactionCountByNumber")]
    async fn block_tx_count_by_number(&self, block: BlockNumberOrTag) -> RpcResult<Option<U64>>;
    /// Transaction count of a block by hash.
    #[method(name = "getBlockTransactionCountByHash")]
    async fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    /// Balance at a block.
    #[method(name = "getBalance")]
    async fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// Code at a block.
    #[method(name = "getCode")]
    async fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    /// A storage slot at a block.
    #[method(name = "getStorageAt")]
    async fn storage_at(
        &self,
        address: Address,
        slot: U256,
        block: Option<BlockId>,
    ) -> RpcResult<B256>;
    /// Nonce at a block; `pending` counts pool transactions.
    #[method(name = "getTransactionCount")]
    async fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    /// Runs a call without a transaction.
    #[method(name = "call")]
    async fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes>;
    /// The least gas a call needs to succeed.
    #[method(name = "estimateGas")]
    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
    ) -> RpcResult<U64>;
    /// Suggested legacy gas price.
    #[method(name = "gasPrice")]
    async fn gas_price(&self) -> RpcResult<U256>;
    /// The blob base fee of the next block (EIP-4844, at Prague's parameters).
    #[method(name = "blobBaseFee")]
    async fn blob_base_fee(&self) -> RpcResult<U256>;
    /// Suggested priority fee.
    #[method(name = "maxPriorityFeePerGas")]
    async fn max_priority_fee(&self) -> RpcResult<U256>;
    /// Base fees, gas ratios and tip percentiles of recent blocks.
    #[method(name = "feeHistory")]
    async fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    /// Submits a signed transaction.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    /// A transaction by hash (mined or pooled).
    #[method(name = "getTransactionByHash")]
    async fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTransaction>>;
    /// A transaction by block hash and index.
    #[method(name = "getTransactionByBlockHashAndIndex")]
    async fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>>;
    /// A transaction by block number and index.
    #[method(name = "getTransactionByBlockNumberAndIndex")]
    async fn transaction_by_block_number_and_index(
        &self,
        block: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>>;
    /// A receipt with the OP L1 fee fields.
    #[method(name = "getTransactionReceipt")]
    async fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<RpcReceipt>>;
    /// All receipts of a block.
    #[method(name = "getBlockReceipts")]
    async fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<RpcReceipt>>>;
    /// Logs matching a filter, over a bounded range.
    #[method(name = "getLogs")]
    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    /// Installs a log filter.
    #[method(name = "newFilter")]
    async fn new_filter(&self, filter: Filter) -> RpcResult<U256>;
    /// Installs a new-block filter.
    #[method(name = "newBlockFilter")]
    async fn new_block_filter(&self) -> RpcResult<U256>;
    /// Installs a pending-transaction filter.
    #[method(name = "newPendingTransactionFilter")]
    async fn new_pending_transaction_filter(&self) -> RpcResult<U256>;
    /// What a filter saw since the last poll.
    #[method(name = "getFilterChanges")]
    async fn filter_changes(&self, id: U256) -> RpcResult<FilterChanges>;
    /// All logs a log filter matches.
    #[method(name = "getFilterLogs")]
    async fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>>;
    /// Removes a filter.
    #[method(name = "uninstallFilter")]
    async fn uninstall_filter(&self, id: U256) -> RpcResult<bool>;
    /// `newHeads`, `logs` or `newPendingTransactions` over WebSocket.
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = Value)]
    async fn subscribe(&self, kind: String, params: Option<Value>) -> SubscriptionResult;
}

/// `net_` methods.
#[rpc(server, namespace = "net")]
pub trait NetApi {
    /// The chain id, in decimal.
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
    /// Whether the node listens for peers.
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;
    /// Connected peers.
    #[method(name = "peerCount")]
    fn peer_count(&self) -> RpcResult<U64>;
}

/// `web3_` methods.
#[rpc(server, namespace = "web3")]
pub trait Web3Api {
    /// `tributary/v<version>`.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// keccak256 of the input.
    #[method(name = "sha3")]
    fn sha3(&self, input: Bytes) -> RpcResult<B256>;
}

/// `txpool_` methods.
#[rpc(server, namespace = "txpool")]
pub trait TxPoolApi {
    /// Pending and queued counts.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<Value>;
    /// Every pooled transaction by sender and nonce.
    #[method(name = "content")]
    fn content(&self) -> RpcResult<Value>;
}
