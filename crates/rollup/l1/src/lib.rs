//! A small L1 JSON-RPC client for the sequencer, the batcher and `devnet init`.
//!
//! It speaks plain Ethereum JSON-RPC over HTTP (jsonrpsee's client, which the workspace
//! already builds), so it works against `tributary l1 --dev`, anvil, hardhat or geth alike.
//! Every call has a timeout; a failure is [`L1Error::Rpc`], which callers treat as temporary:
//! they keep their state and try again on the next tick.
//!
//! Beside it: `beacon.rs`, the few beacon API reads a rollup node makes for blob batches
//! ([`BeaconClient`], [`blobs_for`] checking each blob against its KZG commitment);
//! `blob_tx.rs`, the batcher's type-3 transactions ([`sign_blob_tx`]: payloads OP-encoded into
//! blobs, sidecar with KZG commitments and proofs); and, behind the `test-utils` feature, a
//! generated L1 and beacon node for tests of whatever reads L1 (`test_l1.rs`).

use alloy::rpc::types::{Block, BlockNumberOrTag, Filter, Log, TransactionReceipt};
use alloy_primitives::{Address, B256, Bytes, U256};
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use std::time::Duration;

mod beacon;
mod blob_tx;
#[cfg(any(test, feature = "test-utils"))]
mod test_l1;
#[cfg(any(test, feature = "test-utils"))]
pub use beacon::test_sidecars;
pub use beacon::{BeaconClient, BlobSidecar, blobs_for};
pub use blob_tx::{BlobTxError, BlobTxFields, MAX_BLOBS_PER_TX, blob_sidecar, sign_blob_tx};
#[cfg(any(test, feature = "test-utils"))]
pub use test_l1::{TEST_GENESIS_TIME, TEST_SECONDS_PER_SLOT, serve_test_l1, sidecars_json};

/// L1 client errors.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The L1 did not answer, or answered with an error. Temporary: retry later.
    #[error("L1 RPC {method}: {message}")]
    Rpc {
        /// The method called.
        method: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The URL is not usable.
    #[error("bad L1 RPC URL {0}")]
    BadUrl(String),
    /// The beacon node did not answer, or answered with something unusable. Temporary.
    #[error("L1 beacon {path}: {message}")]
    Beacon {
        /// The path asked.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// The client's `Result`.
pub type Result<T, E = L1Error> = std::result::Result<T, E>;

/// A JSON-RPC client for an L1 node.
#[derive(Debug, Clone)]
pub struct L1Client {
    client: HttpClient,
    url: String,
}

impl L1Client {
    /// Default per-request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A client for `url` (http://…).
    ///
    /// # Errors
    ///
    /// [`L1Error::BadUrl`] when jsonrpsee cannot use the URL.
    pub fn new(url: &str) -> Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(Self::DEFAULT_TIMEOUT)
            .max_response_size(256 * 1024 * 1024)
            .build(url)
            .map_err(|err| L1Error::BadUrl(format!("{url}: {err}")))?;
        Ok(Self { client, url: url.to_string() })
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<T> {
        self.client
            .request(method, params)
            .await
            .map_err(|err| L1Error::Rpc { method, message: err.to_string() })
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64> {
        let id: alloy_primitives::U64 = self.call("eth_chainId", rpc_params![]).await?;
        Ok(id.to())
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64> {
        let n: alloy_primitives::U64 = self.call("eth_blockNumber", rpc_params![]).await?;
        Ok(n.to())
    }

    /// `eth_getBlockByNumber`, with full transactions when `full`.
    pub async fn block(&self, number: BlockNumberOrTag, full: bool) -> Result<Option<Block>> {
        self.call("eth_getBlockByNumber", rpc_params![number, full]).await
    }

    /// `eth_getBlockByHash`, headers and hashes only.
    pub async fn block_by_hash(&self, hash: B256) -> Result<Option<Block>> {
        self.call("eth_getBlockByHash", rpc_params![hash, false]).await
    }

    /// `eth_getLogs`.
    pub async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.call("eth_getLogs", rpc_params![filter]).await
    }

    /// `eth_getTransactionReceipt`.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.call("eth_getTransactionReceipt", rpc_params![hash]).await
    }

    /// `eth_sendRawTransaction`.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<B256> {
        self.call("eth_sendRawTransaction", rpc_params![Bytes::copy_from_slice(raw)]).await
    }

    /// `eth_getTransactionCount` at `tag` (`latest` or `pending`).
    pub async fn nonce(&self, address: Address, tag: BlockNumberOrTag) -> Result<u64> {
        let n: alloy_primitives::U64 =
            self.call("eth_getTransactionCount", rpc_params![address, tag]).await?;
        Ok(n.to())
    }

    /// `eth_getBalance` at the head.
    pub async fn balance(&self, address: Address) -> Result<U256> {
        self.call("eth_getBalance", rpc_params![address, BlockNumberOrTag::Latest]).await
    }

    /// `eth_getCode` at the head.
    pub async fn code(&self, address: Address) -> Result<Bytes> {
        self.call("eth_getCode", rpc_params![address, BlockNumberOrTag::Latest]).await
    }

    /// `eth_call` of `data` on `to` at the head.
    pub async fn eth_call(&self, to: Address, data: &[u8]) -> Result<Bytes> {
        let request = serde_json::json!({ "to": to, "input": Bytes::copy_from_slice(data) });
        self.call("eth_call", rpc_params![request, BlockNumberOrTag::Latest]).await
    }

    /// `eth_maxPriorityFeePerGas`; 1 gwei where the node does not have the method. Other
    /// failures (a timeout, a refused connection) are errors, not a guess.
    pub async fn max_priority_fee(&self) -> Result<u128> {
        const METHOD_NOT_FOUND: i32 = -32601;
        match self.client.request::<U256, _>("eth_maxPriorityFeePerGas", rpc_params![]).await {
            Ok(fee) => Ok(fee.saturating_to()),
            Err(jsonrpsee::core::ClientError::Call(err)) if err.code() == METHOD_NOT_FOUND => {
                Ok(1_000_000_000)
            }
            Err(err) => {
                Err(L1Error::Rpc { method: "eth_maxPriorityFeePerGas", message: err.to_string() })
            }
        }
    }

    /// `eth_blobBaseFee`: the fee per blob gas of the next L1 block. An L1 without blobs (or
    /// without the method) answers with an error.
    pub async fn blob_base_fee(&self) -> Result<u128> {
        let fee: U256 = self.call("eth_blobBaseFee", rpc_params![]).await?;
        Ok(fee.saturating_to())
    }

    /// `eth_estimateGas` for a call from `from` to `to` (None: a creation) with `data`.
    pub async fn estimate_gas(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: &[u8],
    ) -> Result<u64> {
        let mut request = serde_json::json!({
            "from": from,
            "value": value,
            "input": Bytes::copy_from_slice(data),
        });
        if let Some(to) = to {
            request["to"] = serde_json::json!(to);
        }
        let gas: alloy_primitives::U64 = self.call("eth_estimateGas", rpc_params![request]).await?;
        Ok(gas.to())
    }
}

/// A signed EIP-1559 transaction, ready for [`L1Client::send_raw`].
#[derive(Debug, Clone)]
pub struct SignedTx {
    /// Its hash.
    pub hash: B256,
    /// Its EIP-2718 bytes.
    pub raw: Bytes,
}

/// Fields of an EIP-1559 transaction the caller chooses.
#[derive(Debug, Clone)]
pub struct TxFields {
    /// Chain id.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Recipient; None creates a contract.
    pub to: Option<Address>,
    /// Value in wei.
    pub value: U256,
    /// Calldata or init code.
    pub input: Bytes,
    /// Gas limit.
    pub gas_limit: u64,
    /// Max fee per gas.
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas.
    pub max_priority_fee_per_gas: u128,
}

/// Signs `fields` with `signer`.
///
/// # Errors
///
/// The signer failed (it does not for a local key).
pub fn sign_eip1559(
    signer: &alloy::signers::local::PrivateKeySigner,
    fields: TxFields,
) -> Result<SignedTx, alloy::signers::Error> {
    use alloy::{
        consensus::{SignableTransaction, TxEip1559, TxEnvelope},
        eips::eip2718::Encodable2718,
        network::TxSignerSync,
        primitives::TxKind,
    };
    let mut tx = TxEip1559 {
        chain_id: fields.chain_id,
        nonce: fields.nonce,
        gas_limit: fields.gas_limit,
        max_fee_per_gas: fields.max_fee_per_gas,
        max_priority_fee_per_gas: fields.max_priority_fee_per_gas,
        to: fields.to.map_or(TxKind::Create, TxKind::Call),
        value: fields.value,
        access_list: Default::default(),
        input: fields.input,
    };
    let signature = signer.sign_transaction_sync(&mut tx)?;
    let envelope = TxEnvelope::Eip1559(tx.into_signed(signature));
    Ok(SignedTx { hash: *envelope.tx_hash(), raw: envelope.encoded_2718().into() })
}
