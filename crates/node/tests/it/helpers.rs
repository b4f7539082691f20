//! A real node on 127.0.0.1 and a JSON-RPC client for it.

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
};
use jsonrpsee::{
    core::{ClientError, client::ClientT},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde_json::Value;
use std::{sync::Arc, time::Duration};
use tributary_chainspec::ChainSpec;
use tributary_node::{DevConfig, NodeConfig, RunningNode};
use tributary_primitives::OpTxEnvelope;
use tributary_rpc::RpcConfig;

pub(crate) struct TestNode {
    pub(crate) node: Option<RunningNode>,
    pub(crate) client: HttpClient,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
}

impl TestNode {
    pub(crate) async fn start(block_time: Duration) -> Self {
        Self::start_chain(ChainSpec::dev(), block_time).await
    }

    /// A node on `chain` producing dev blocks.
    pub(crate) async fn start_chain(chain: ChainSpec, block_time: Duration) -> Self {
        Self::start_with(chain, block_time, false).await
    }

    /// A dev node that also serves `debug_setHead`.
    pub(crate) async fn start_rewindable(block_time: Duration) -> Self {
        Self::start_with(ChainSpec::dev(), block_time, true).await
    }

    async fn start_with(chain: ChainSpec, block_time: Duration, allow_set_head: bool) -> Self {
        let rpc = RpcConfig { allow_set_head, ..Default::default() };
        Self::start_with_rpc(chain, block_time, rpc).await
    }

    /// A dev node on `chain` with the RPC settings `rpc` (on an ephemeral port).
    pub(crate) async fn start_with_rpc(
        chain: ChainSpec,
        block_time: Duration,
        rpc: RpcConfig,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            datadir: dir.path().to_path_buf(),
            chain: Arc::new(chain),
            rpc: RpcConfig { addr: "127.0.0.1:0".parse().unwrap(), ..rpc },
            pool: Default::default(),
            dev: Some(DevConfig { block_time, ..Default::default() }),
            metrics: None,
            rollup: None,
            authrpc: None,
        };
        let node = tributary_node::launch(config).await.unwrap();
        let url = format!("http://{}", node.rpc_addr);
        let client = HttpClientBuilder::default().build(&url).unwrap();
        Self { node: Some(node), client, url, dir }
    }

    /// `GET path` over plain HTTP/1.1: the status and the JSON body.
    pub(crate) async fn http_get(&self, path: &str) -> (u16, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response.split(' ').nth(1).unwrap().parse().unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    pub(crate) async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }

    pub(crate) async fn rpc(&self, method: &str, params: Vec<Value>) -> Value {
        self.try_rpc(method, params).await.unwrap_or_else(|err| panic!("{method}: {err}"))
    }

    pub(crate) async fn try_rpc(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<Value, ClientError> {
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        for v in params {
            p.insert(v).unwrap();
        }
        self.client.request(method, p).await
    }

    pub(crate) async fn block_number(&self) -> u64 {
        hex_u64(&self.client.request::<Value, _>("eth_blockNumber", rpc_params![]).await.unwrap())
    }

    pub(crate) async fn nonce(&self, address: Address) -> u64 {
        hex_u64(&self.rpc("eth_getTransactionCount", vec![addr(address), "pending".into()]).await)
    }

    pub(crate) async fn balance(&self, address: Address, block: &str) -> U256 {
        let v = self.rpc("eth_getBalance", vec![addr(address), block.into()]).await;
        v.as_str().unwrap().parse().unwrap()
    }

    /// Sends a signed transaction and returns its hash.
    pub(crate) async fn send(&self, raw: Vec<u8>) -> Result<B256, ClientError> {
        let v = self
            .try_rpc("eth_sendRawTransaction", vec![Bytes::from(raw).to_string().into()])
            .await?;
        Ok(v.as_str().unwrap().parse().unwrap())
    }

    pub(crate) async fn receipt(&self, hash: B256) -> Value {
        for _ in 0..300 {
            let r = self.rpc("eth_getTransactionReceipt", vec![hash.to_string().into()]).await;
            if !r.is_null() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no receipt for {hash}");
    }
}

pub(crate) fn dev_key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(index)
        .unwrap()
        .build()
        .unwrap()
}

pub(crate) const GWEI: u128 = 1_000_000_000;

/// `maxFeePerGas` and `maxPriorityFeePerGas`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fees {
    pub(crate) max: u128,
    pub(crate) tip: u128,
}

/// 2 gwei cap, 1 gwei tip.
pub(crate) const FEES: Fees = Fees { max: 2 * GWEI, tip: GWEI };

/// An EIP-1559 transaction signed by `key`.
pub(crate) fn sign(
    key: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    fees: Fees,
) -> Vec<u8> {
    let Fees { max: max_fee, tip } = fees;
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to,
        value,
        input,
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    OpTxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718()
}

pub(crate) fn transfer(key: &PrivateKeySigner, nonce: u64, to: Address, value: u64) -> Vec<u8> {
    sign(key, nonce, TxKind::Call(to), U256::from(value), Bytes::new(), 21_000, FEES)
}

pub(crate) fn addr(a: Address) -> Value {
    Value::String(a.to_string())
}

pub(crate) fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

pub(crate) fn hex_u256(v: &Value) -> U256 {
    v.as_str().unwrap().parse().unwrap()
}

/// The JSON-RPC error code and data of a failed call.
pub(crate) fn error_parts(err: ClientError) -> (i32, String, Option<String>) {
    match err {
        ClientError::Call(obj) => {
            let data = obj.data().map(|d| d.get().trim_matches('"').to_string());
            (obj.code(), obj.message().to_string(), data)
        }
        other => panic!("not a call error: {other}"),
    }
}
