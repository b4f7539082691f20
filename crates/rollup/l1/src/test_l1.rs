//! A generated L1 for tests of whatever reads one (derivation, the batcher's read-back): a
//! JSON-RPC server answering `eth_chainId`, `eth_blockNumber` and `eth_getBlockByNumber` from
//! the blocks given, and the beacon endpoints (`/eth/v1/beacon/genesis`,
//! `/eth/v1/config/spec`, `/eth/v1/beacon/blob_sidecars/{slot}`) from the sidecars given, one
//! HTTP request per connection, on 127.0.0.1. Other methods answer `[]`.

use crate::BlobSidecar;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The beacon chain's genesis time.
pub const TEST_GENESIS_TIME: u64 = 1_000;
/// Seconds per beacon slot.
pub const TEST_SECONDS_PER_SLOT: u64 = 12;

/// Sidecars as the beacon API lists them.
pub fn sidecars_json(sidecars: &[BlobSidecar]) -> Value {
    sidecars
        .iter()
        .map(|sidecar| {
            json!({
                "index": sidecar.index.to_string(),
                "blob": sidecar.blob,
                "kzg_commitment": sidecar.kzg_commitment,
                "kzg_proof": sidecar.kzg_proof,
            })
        })
        .collect()
}

/// Serves `blocks` (RPC JSON, each with its `number`) and `sidecars` by slot until the test
/// ends; returns the base URL (JSON-RPC at `/`, beacon paths under it).
///
/// # Panics
///
/// No port on 127.0.0.1.
pub async fn serve_test_l1(blocks: Vec<Value>, sidecars: Vec<(u64, Value)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let (blocks, sidecars) = (blocks.clone(), sidecars.clone());
            tokio::spawn(async move {
                let Some(request) = read_request(&mut stream).await else { return };
                let body = answer(&request, &blocks, &sidecars).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

/// The request's head and body, once the body is all there.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request);
        let Some(end) = text.find("\r\n\r\n") else {
            if n == 0 {
                return None;
            }
            continue;
        };
        let length = text[..end]
            .lines()
            .find_map(|l| l.to_lowercase().strip_prefix("content-length: ").map(str::to_string))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if request.len() >= end + 4 + length || n == 0 {
            return Some(String::from_utf8_lossy(&request).into_owned());
        }
    }
}

fn answer(request: &str, blocks: &[Value], sidecars: &[(u64, Value)]) -> Value {
    let path = request.split(' ').nth(1).unwrap_or_default();
    if path.starts_with("/eth/v1/beacon/genesis") {
        return json!({ "data": { "genesis_time": TEST_GENESIS_TIME.to_string() } });
    }
    if path.starts_with("/eth/v1/config/spec") {
        return json!({ "data": { "SECONDS_PER_SLOT": TEST_SECONDS_PER_SLOT.to_string() } });
    }
    if let Some(slot) = path.strip_prefix("/eth/v1/beacon/blob_sidecars/") {
        let found = sidecars.iter().find(|(s, _)| s.to_string() == slot);
        return json!({ "data": found.map(|(_, list)| list.clone()).unwrap_or(json!([])) });
    }
    let call: Value =
        serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap_or("{}")).unwrap_or_default();
    let number = |block: &Value| {
        block["number"]
            .as_str()
            .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
    };
    let head = blocks.iter().filter_map(number).max().unwrap_or_default();
    let result = match call["method"].as_str() {
        Some("eth_chainId") => json!("0x384"),
        Some("eth_blockNumber") => json!(format!("{head:#x}")),
        Some("eth_getBlockByNumber") => {
            let wanted = match call["params"][0].as_str() {
                Some("latest" | "safe" | "finalized") => Some(head),
                Some(n) => u64::from_str_radix(n.trim_start_matches("0x"), 16).ok(),
                None => None,
            };
            blocks.iter().find(|b| number(b) == wanted).cloned().unwrap_or(Value::Null)
        }
        _ => json!([]),
    };
    json!({ "jsonrpc": "2.0", "id": call["id"], "result": result })
}
