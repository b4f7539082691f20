//! The few JSON-RPC calls a load run makes, over jsonrpsee's HTTP client.

use alloy_primitives::{Address, B256, Bytes, U256};
use jsonrpsee::{
    core::{ClientError, client::ClientT, params::ArrayParams},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde_json::Value;
use std::time::Duration;

/// What can stop a load run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The URL is not an `http://` address on this machine.
    #[error("{0}: the load generator only targets loopback (127.0.0.0/8, localhost, [::1])")]
    NotLoopback(String),
    /// A bad argument.
    #[error("{0}")]
    Config(String),
    /// A call failed that the run cannot go on without (set-up, funding).
    #[error("{method}: {message}")]
    Rpc {
        /// The method.
        method: &'static str,
        /// What the node or the transport said.
        message: String,
    },
    /// Funding did not complete in time.
    #[error("timed out {0}")]
    Timeout(String),
}

/// The crate's `Result`.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;

/// One HTTP connection to the node.
#[derive(Debug, Clone)]
pub(crate) struct Rpc {
    client: HttpClient,
}

/// Why `eth_sendRawTransaction` did not return a hash.
pub(crate) enum SendError {
    /// The node answered with an error: it refused the transaction.
    Refused(String),
    /// No answer (timeout, connection): the node may or may not hold the transaction.
    Transport(String),
}

impl Rpc {
    pub(crate) fn connect(url: &str) -> Result<Self> {
        check_loopback(url)?;
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .max_concurrent_requests(1024)
            .build(url)
            .map_err(|err| LoadError::Config(format!("{url}: {err}")))?;
        Ok(Self { client })
    }

    async fn call(&self, method: &'static str, params: ArrayParams) -> Result<Value> {
        self.client
            .request(method, params)
            .await
            .map_err(|err| LoadError::Rpc { method, message: err.to_string() })
    }

    pub(crate) async fn chain_id(&self) -> Result<u64> {
        hex_u64(&self.call("eth_chainId", rpc_params![]).await?, "eth_chainId")
    }

    pub(crate) async fn block_number(&self) -> Result<u64> {
        hex_u64(&self.call("eth_blockNumber", rpc_params![]).await?, "eth_blockNumber")
    }

    pub(crate) async fn gas_price(&self) -> Result<u128> {
        let value = self.call("eth_gasPrice", rpc_params![]).await?;
        let price: U256 = parse(&value, "eth_gasPrice")?;
        Ok(price.saturating_to())
    }

    /// `eth_getTransactionCount` at `tag`.
    pub(crate) async fn nonce(&self, address: Address, tag: &str) -> Result<u64> {
        let value = self.call("eth_getTransactionCount", rpc_params![address, tag]).await?;
        hex_u64(&value, "eth_getTransactionCount")
    }

    /// The transaction hashes of block `number`, or None when there is no such block yet.
    pub(crate) async fn block_tx_hashes(&self, number: u64) -> Result<Option<Vec<B256>>> {
        let tag = format!("0x{number:x}");
        let block = self.call("eth_getBlockByNumber", rpc_params![tag, false]).await?;
        if block.is_null() {
            return Ok(None);
        }
        let hashes = block["transactions"].as_array().cloned().unwrap_or_default();
        hashes
            .iter()
            .map(|hash| parse(hash, "eth_getBlockByNumber"))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// `eth_getTransactionReceipt`: None when there is none; Some(success) otherwise.
    pub(crate) async fn receipt_status(&self, hash: B256) -> Result<Option<bool>> {
        let receipt = self.call("eth_getTransactionReceipt", rpc_params![hash]).await?;
        if receipt.is_null() {
            return Ok(None);
        }
        Ok(Some(receipt["status"].as_str() == Some("0x1")))
    }

    /// Whether `eth_getTransactionByHash` knows `hash`.
    pub(crate) async fn knows_transaction(&self, hash: B256) -> Result<bool> {
        Ok(!self.call("eth_getTransactionByHash", rpc_params![hash]).await?.is_null())
    }

    pub(crate) async fn send_raw(&self, raw: &Bytes) -> Result<B256, SendError> {
        match self.client.request::<Value, _>("eth_sendRawTransaction", rpc_params![raw]).await {
            Ok(value) => parse(&value, "eth_sendRawTransaction")
                .map_err(|err| SendError::Transport(err.to_string())),
            Err(ClientError::Call(obj)) => Err(SendError::Refused(obj.message().to_string())),
            Err(err) => Err(SendError::Transport(err.to_string())),
        }
    }
}

/// Accepts only `http://` URLs whose host is on loopback.
fn check_loopback(url: &str) -> Result<()> {
    let rest = url.strip_prefix("http://").ok_or_else(|| LoadError::NotLoopback(url.into()))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    let loopback =
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback { Ok(()) } else { Err(LoadError::NotLoopback(url.into())) }
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value, method: &'static str) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|err| LoadError::Rpc {
        method,
        message: format!("unexpected answer {value}: {err}"),
    })
}

fn hex_u64(value: &Value, method: &'static str) -> Result<u64> {
    let n: alloy_primitives::U64 = parse(value, method)?;
    Ok(n.to())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_targets() {
        for url in [
            "http://127.0.0.1:8545",
            "http://localhost:8545/",
            "http://[::1]:8545",
            "http://127.3.4.5",
        ] {
            assert!(check_loopback(url).is_ok(), "{url}");
        }
        for url in [
            "http://10.0.0.1:8545",
            "http://example.com:8545",
            "https://127.0.0.1:8545",
            "ws://127.0.0.1:8545",
        ] {
            assert!(check_loopback(url).is_err(), "{url}");
        }
    }
}
