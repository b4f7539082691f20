//! The few beacon-node REST endpoints an OP Stack rollup node reads from L1
//! (`--l1.beacon`), served by the L1 dev chain on its JSON-RPC port: a `GET` under `/eth/v1/`
//! is answered here, anything else goes on to JSON-RPC.
//!
//! - `/eth/v1/beacon/genesis`: `genesis_time` is the L1 genesis block's timestamp.
//! - `/eth/v1/config/spec`: `SECONDS_PER_SLOT` is the dev chain's block time.
//! - `/eth/v1/node/version`: this node's name and version (op-node asks at start).
//! - `/eth/v1/beacon/blob_sidecars/{block_id}[?indices=i,j]`: the sidecars of the block in
//!   that slot. Slot `n` is the time window `[genesis + n * SECONDS_PER_SLOT, genesis + (n +
//!   1) * SECONDS_PER_SLOT)`, and at most one block falls in it (the dev chain mines at most
//!   one block per block time); a slot with no block is a 404, as a missed slot is on a beacon
//!   node. `block_id` may also be `head`, `genesis` or `finalized`.
//!
//! A sidecar's `index` is the blob's position among all blobs of the block, in transaction
//! order: what op-node and kona-node match the blob hashes of batcher transactions against.
//! `blob`, `kzg_commitment` and `kzg_proof` are the ones the pool checked and the block kept
//! (`Database::blob_sidecars`). There is no beacon chain behind this: `signed_block_header`
//! carries the slot and the execution block's parent hash, state root and hash, unsigned, and
//! `kzg_commitment_inclusion_proof` is 17 zero hashes. Rollup nodes check each blob against
//! its versioned hash instead, which holds. A block whose sidecars were not kept (imported
//! without them) answers 500 with the reason, never a partial list.

use crate::{
    RpcContext,
    gate::{BoxError, Gate, ResponseFuture},
};
use alloy::eips::Typed2718;
use jsonrpsee::server::{HttpBody, HttpRequest};
use serde_json::{Value, json};
use std::sync::Arc;

/// Answers the beacon endpoints in front of JSON-RPC.
#[derive(Clone)]
pub(crate) struct BeaconGate {
    pub(crate) ctx: Arc<RpcContext>,
    pub(crate) seconds_per_slot: u64,
}

impl Gate for BeaconGate {
    fn answer(&self, request: &HttpRequest) -> Option<ResponseFuture> {
        let path = request.uri().path().to_string();
        if request.method() != http::Method::GET || !path.starts_with("/eth/v1/") {
            return None;
        }
        let query = request.uri().query().map(str::to_string);
        let beacon = self.clone();
        Some(Box::pin(async move {
            let answer =
                tokio::task::spawn_blocking(move || beacon.answer_path(&path, query.as_deref()))
                    .await
                    .unwrap_or_else(|err| Err((500, err.to_string())));
            let (status, body) = match answer {
                Ok(data) => (200, json!({ "data": data })),
                Err((code, message)) => (code, json!({ "code": code, "message": message })),
            };
            http::Response::builder()
                .status(status)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(HttpBody::from(body.to_string()))
                .map_err(|err| -> BoxError { Box::new(err) })
        }))
    }
}

impl BeaconGate {
    /// The `data` of the endpoint at `path`, or an HTTP status and message.
    fn answer_path(&self, path: &str, query: Option<&str>) -> Result<Value, (u16, String)> {
        let genesis = self.ctx.evm.chain().genesis_header().timestamp;
        match path.trim_end_matches('/') {
            "/eth/v1/beacon/genesis" => Ok(json!({
                "genesis_time": genesis.to_string(),
                "genesis_validators_root": format!("0x{}", "00".repeat(32)),
                "genesis_fork_version": "0x00000000",
            })),
            // op-node asks for it at start.
            "/eth/v1/node/version" => Ok(json!({
                "version": format!("Tributary/v{}", env!("CARGO_PKG_VERSION")),
            })),
            "/eth/v1/config/spec" => Ok(json!({
                "SECONDS_PER_SLOT": self.seconds_per_slot.to_string(),
                "SECONDS_PER_ETH1_BLOCK": self.seconds_per_slot.to_string(),
                "SLOTS_PER_EPOCH": "32",
            })),
            other => match other.strip_prefix("/eth/v1/beacon/blob_sidecars/") {
                Some(block_id) => {
                    let indices = blob_indices(query)?;
                    self.blob_sidecars(block_id, genesis, indices.as_deref())
                }
                None => Err((404, format!("{other} is not served by the dev chain"))),
            },
        }
    }

    fn blob_sidecars(
        &self,
        block_id: &str,
        genesis: u64,
        indices: Option<&[u64]>,
    ) -> Result<Value, (u16, String)> {
        let db = &self.ctx.db;
        let internal = |err: tributary_storage::StorageError| (500, err.to_string());
        let number = match block_id {
            "head" => Some(db.head_number()),
            "genesis" => Some(0),
            "finalized" => Some(self.ctx.heads.finalized()),
            slot => {
                let slot: u64 = slot.parse().map_err(|_| {
                    (400, format!("block id {slot:?}: a slot, head, genesis or finalized"))
                })?;
                let start = slot
                    .checked_mul(self.seconds_per_slot)
                    .and_then(|offset| offset.checked_add(genesis))
                    .ok_or((400, format!("slot {slot} is out of range")))?;
                block_in_window(db, start, start.saturating_add(self.seconds_per_slot))
                    .map_err(internal)?
            }
        };
        let number = number.ok_or((404, format!("no block in slot {block_id}")))?;
        let header = db
            .sealed_header(number)
            .map_err(internal)?
            .ok_or((404, format!("no block {number}")))?;
        let body = db.body(number).map_err(internal)?.unwrap_or_default();
        let blob_txs = body.iter().filter(|tx| tx.ty() == 3).count();
        let kept = db.blob_sidecars(number).map_err(internal)?;
        if kept.len() != blob_txs {
            return Err((
                500,
                format!(
                    "block {number} has {blob_txs} blob transactions and {} kept sidecars: it \
                     was imported without them",
                    kept.len()
                ),
            ));
        }
        let slot = header.timestamp.saturating_sub(genesis) / self.seconds_per_slot.max(1);
        let signed_block_header = json!({
            "message": {
                "slot": slot.to_string(),
                "proposer_index": "0",
                "parent_root": header.parent_hash,
                "state_root": header.state_root,
                "body_root": header.hash(),
            },
            "signature": format!("0x{}", "00".repeat(96)),
        });
        let items = kept.iter().flat_map(|sidecar| {
            sidecar.blobs.iter().zip(&sidecar.commitments).zip(&sidecar.proofs)
        });
        let sidecars = items
            .enumerate()
            .filter(|(index, _)| indices.is_none_or(|wanted| wanted.contains(&(*index as u64))))
            .map(|(index, ((blob, commitment), proof))| {
                json!({
                    "index": index.to_string(),
                    "blob": blob,
                    "kzg_commitment": commitment,
                    "kzg_proof": proof,
                    "signed_block_header": signed_block_header,
                    "kzg_commitment_inclusion_proof":
                        vec![alloy_primitives::B256::ZERO; KZG_COMMITMENT_INCLUSION_PROOF_DEPTH],
                })
            })
            .collect();
        Ok(Value::Array(sidecars))
    }
}

/// The depth of a blob sidecar's commitment inclusion proof (Deneb).
const KZG_COMMITMENT_INCLUSION_PROOF_DEPTH: usize = 17;

/// The `indices` query parameter (`indices=0,2` or repeated `indices=0&indices=2`), if given.
fn blob_indices(query: Option<&str>) -> Result<Option<Vec<u64>>, (u16, String)> {
    let mut indices: Option<Vec<u64>> = None;
    for pair in query.unwrap_or_default().split('&') {
        let Some(list) = pair.strip_prefix("indices=") else { continue };
        let list = list.replace("%2C", ",").replace("%2c", ",");
        for item in list.split(',').filter(|item| !item.is_empty()) {
            let index =
                item.parse().map_err(|_| (400, format!("indices: {item:?} is not an index")))?;
            indices.get_or_insert_default().push(index);
        }
    }
    Ok(indices)
}

/// The block whose timestamp is in `[start, end)`, by binary search over the chain.
fn block_in_window(
    db: &tributary_storage::Database,
    start: u64,
    end: u64,
) -> Result<Option<u64>, tributary_storage::StorageError> {
    let (mut low, mut high) = (0u64, db.head_number().saturating_add(1));
    // The first block at or after `start`.
    while low < high {
        let middle = low + (high - low) / 2;
        let timestamp = db.sealed_header(middle)?.map_or(u64::MAX, |header| header.timestamp);
        if timestamp < start {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    let found = db.sealed_header(low)?.filter(|header| header.timestamp < end);
    Ok(found.map(|header| header.number))
}
