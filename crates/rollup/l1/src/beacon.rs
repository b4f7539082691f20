//! The little of a beacon node's REST API a rollup node reads (`--l1.beacon`): the slot clock
//! (`/eth/v1/beacon/genesis`, `/eth/v1/config/spec`) and a block's blob sidecars
//! (`/eth/v1/beacon/blob_sidecars/{slot}`), for batches posted as EIP-4844 blobs.
//!
//! Plain HTTP only (a local beacon node), as the dev chain serves it. Sidecars are matched to a
//! transaction's versioned hashes by their KZG commitment (`kzg_to_versioned_hash`), and each
//! blob is checked against its commitment with its KZG proof (c-kzg, Ethereum's trusted
//! setup), as op-node checks it: a beacon node cannot hand derivation other data than the L1
//! transaction committed to.

use crate::{L1Error, Result};
use alloy_primitives::{B256, Bytes};
use serde_json::Value;
use std::time::Duration;

/// One blob sidecar as the beacon API serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSidecar {
    /// Its index in the block.
    pub index: u64,
    /// The blob, 131 072 bytes.
    pub blob: Bytes,
    /// The blob's KZG commitment, 48 bytes.
    pub kzg_commitment: Bytes,
    /// The KZG proof of the blob against the commitment, 48 bytes.
    pub kzg_proof: Bytes,
}

impl BlobSidecar {
    /// The versioned hash a type-3 transaction names this blob by.
    pub fn versioned_hash(&self) -> B256 {
        alloy_eips::eip4844::kzg_to_versioned_hash(&self.kzg_commitment)
    }

    /// Whether the blob is what its commitment commits to (the KZG proof verifies).
    pub fn verifies(&self) -> bool {
        use alloy_eips::eip4844::{BlobTransactionSidecarItem, Bytes48};
        let (Ok(blob), Ok(commitment), Ok(proof)) = (
            alloy_eips::eip4844::Blob::try_from(self.blob.as_ref()),
            Bytes48::try_from(self.kzg_commitment.as_ref()),
            Bytes48::try_from(self.kzg_proof.as_ref()),
        ) else {
            return false;
        };
        let item = BlobTransactionSidecarItem {
            index: self.index,
            blob: Box::new(blob),
            kzg_commitment: commitment,
            kzg_proof: proof,
        };
        item.verify_blob_kzg_proof().is_ok()
    }
}

/// A beacon API client.
#[derive(Debug, Clone)]
pub struct BeaconClient {
    http: reqwest::Client,
    base: String,
    clock: std::sync::Arc<tokio::sync::OnceCell<(u64, u64)>>,
}

fn beacon_error(path: &str, message: impl std::fmt::Display) -> L1Error {
    L1Error::Beacon { path: path.to_string(), message: message.to_string() }
}

/// A JSON number or decimal string (beacon APIs send numbers as strings).
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.parse().ok(),
        other => other.as_u64(),
    }
}

fn hex_bytes(value: &Value) -> Option<Bytes> {
    value.as_str()?.parse().ok()
}

impl BeaconClient {
    /// A client for the beacon node at `url` (`http://host:port`).
    ///
    /// # Errors
    ///
    /// [`L1Error::BadUrl`] for anything but a plain-HTTP URL.
    pub fn new(url: &str) -> Result<Self> {
        if !url.starts_with("http://") {
            return Err(L1Error::BadUrl(format!("{url}: the beacon API is read over http://")));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|err| L1Error::BadUrl(format!("{url}: {err}")))?;
        Ok(Self { http, base: url.trim_end_matches('/').to_string(), clock: Default::default() })
    }

    /// `GET path`'s `data`; None on a 404 (a missed slot).
    async fn data(&self, path: &str) -> Result<Option<Value>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|err| beacon_error(path, err))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(beacon_error(path, format!("HTTP {}", response.status())));
        }
        let mut body: Value = response.json().await.map_err(|err| beacon_error(path, err))?;
        Ok(Some(body["data"].take()))
    }

    /// The beacon chain's genesis time and seconds per slot (read once).
    ///
    /// # Errors
    ///
    /// The beacon node did not answer both, or answered without the fields.
    pub async fn slot_clock(&self) -> Result<(u64, u64)> {
        self.clock
            .get_or_try_init(|| async {
                let genesis = self.data("/eth/v1/beacon/genesis").await?.unwrap_or_default();
                let spec = self.data("/eth/v1/config/spec").await?.unwrap_or_default();
                let genesis_time = number(&genesis["genesis_time"])
                    .ok_or_else(|| beacon_error("/eth/v1/beacon/genesis", "no genesis_time"))?;
                let seconds = number(&spec["SECONDS_PER_SLOT"])
                    .filter(|seconds| *seconds > 0)
                    .ok_or_else(|| beacon_error("/eth/v1/config/spec", "no SECONDS_PER_SLOT"))?;
                Ok((genesis_time, seconds))
            })
            .await
            .copied()
    }

    /// The blob sidecars of the L1 block with `timestamp`.
    ///
    /// # Errors
    ///
    /// The beacon node did not answer, has no block in that slot, or answered malformed
    /// sidecars.
    pub async fn blob_sidecars(&self, timestamp: u64) -> Result<Vec<BlobSidecar>> {
        let (genesis, seconds) = self.slot_clock().await?;
        let slot =
            timestamp.checked_sub(genesis).map(|offset| offset / seconds).ok_or_else(|| {
                beacon_error("/eth/v1/beacon/blob_sidecars", "a block before beacon genesis")
            })?;
        let path = format!("/eth/v1/beacon/blob_sidecars/{slot}");
        let data =
            self.data(&path).await?.ok_or_else(|| beacon_error(&path, "no block in that slot"))?;
        let items = data.as_array().ok_or_else(|| beacon_error(&path, "data is not a list"))?;
        items
            .iter()
            .map(|item| {
                Some(BlobSidecar {
                    index: number(&item["index"])?,
                    blob: hex_bytes(&item["blob"])?,
                    kzg_commitment: hex_bytes(&item["kzg_commitment"])?,
                    kzg_proof: hex_bytes(&item["kzg_proof"])?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| beacon_error(&path, "a malformed sidecar"))
    }
}

/// The blobs a transaction names by `hashes`, in its order, from a block's `sidecars`, each
/// checked against its commitment.
///
/// # Errors
///
/// A hash no sidecar commits to (the beacon node is missing blobs the L1 block has), or a blob
/// whose KZG proof does not verify (the beacon node served other data).
pub fn blobs_for(hashes: &[B256], sidecars: &[BlobSidecar]) -> Result<Vec<Bytes>> {
    hashes
        .iter()
        .map(|hash| {
            let sidecar =
                sidecars.iter().find(|sidecar| sidecar.versioned_hash() == *hash).ok_or_else(
                    || beacon_error("blob_sidecars", format!("no sidecar for blob {hash}")),
                )?;
            if !sidecar.verifies() {
                let message = format!("blob {hash} does not match its KZG commitment");
                return Err(beacon_error("blob_sidecars", message));
            }
            Ok(sidecar.blob.clone())
        })
        .collect()
}

/// Sidecars with real KZG commitments and proofs for `payloads`, each OP-encoded into a blob
/// (for tests of whatever reads blobs).
///
/// # Panics
///
/// A payload too large for a blob.
#[cfg(any(test, feature = "test-utils"))]
pub fn test_sidecars(payloads: &[&[u8]]) -> Vec<BlobSidecar> {
    let sidecar = crate::blob_sidecar(payloads).expect("payloads that fit in blobs");
    sidecar
        .into_iter()
        .map(|item| BlobSidecar {
            index: item.index,
            blob: Bytes::copy_from_slice(item.blob.as_slice()),
            kzg_commitment: Bytes::copy_from_slice(item.kzg_commitment.as_slice()),
            kzg_proof: Bytes::copy_from_slice(item.kzg_proof.as_slice()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blobs come back in the transaction's order, found by their commitments' versioned
    /// hashes and checked with their proofs; a hash no sidecar has, or a blob that is not
    /// what its commitment commits to, is an error.
    #[test]
    fn blobs_are_matched_by_versioned_hash_and_checked() {
        let sidecars = test_sidecars(&[b"one", b"two", b"three"]);
        let hashes = [sidecars[2].versioned_hash(), sidecars[0].versioned_hash()];
        assert_eq!(hashes[0][0], 0x01, "KZG versioned hashes start with version 1");
        let blobs = blobs_for(&hashes, &sidecars).unwrap();
        assert_eq!(blobs, vec![sidecars[2].blob.clone(), sidecars[0].blob.clone()]);
        assert_eq!(tributary_protocol::decode_blob(&blobs[0]).unwrap(), b"three");
        assert!(blobs_for(&[B256::repeat_byte(9)], &sidecars).is_err());

        let mut forged = sidecars.clone();
        forged[0].blob = sidecars[1].blob.clone();
        let err = blobs_for(&[forged[0].versioned_hash()], &forged).unwrap_err();
        assert!(err.to_string().contains("KZG"), "{err}");
    }

    #[test]
    fn numbers_come_as_strings_or_numbers() {
        assert_eq!(number(&Value::from("12")), Some(12));
        assert_eq!(number(&Value::from(12)), Some(12));
        assert_eq!(number(&Value::from("x")), None);
        assert!(BeaconClient::new("https://beacon.example").is_err());
    }
}
