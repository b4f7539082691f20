//! The OP Stack block gossip: topics, the signed message, its id, and the validation a block
//! passes before it is imported or forwarded.
//!
//! A message is `snappy(signature(65) ++ payload)`, snappy's block format without frames. The
//! payload is what [`encode_payload`] writes. The signature is the unsafe block signer's
//! secp256k1 signature, `v` 0 or 1, over `keccak(domain(32 zero bytes) ++ chain id (32, big
//! endian) ++ keccak(payload))`.

use crate::payload::{BlockVersion, decode_payload, encode_payload};
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use alloy_primitives::{Address, B256, Signature, keccak256};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use tributary_chainspec::ChainSpec;
use tributary_primitives::Block;

/// Largest decompressed message (op-node's `maxGossipSize`).
pub const MAX_GOSSIP_SIZE: usize = 10 * 1024 * 1024;
/// Smallest decompressed message: a signature and one byte.
pub const MIN_GOSSIP_SIZE: usize = 66;
/// A block older than this many seconds is rejected.
pub const MAX_BLOCK_AGE: u64 = 60;
/// A block this many seconds in the future is rejected.
pub const MAX_CLOCK_SKEW: u64 = 5;
/// Once more than this many distinct blocks were seen at one height, any further block there
/// is rejected as equivocation (op-node's rule: so at most 6 are accepted).
pub const MAX_BLOCKS_PER_HEIGHT: usize = 5;
/// Heights whose block hashes are remembered.
const SEEN_HEIGHTS: usize = 1000;

/// The gossip topic of `version` blocks on `chain_id`.
pub fn block_topic(chain_id: u64, version: BlockVersion) -> String {
    format!("/optimism/{chain_id}/{}/blocks", version.topic_number())
}

/// The hash the unsafe block signer signs for `payload`.
pub fn signing_hash(chain_id: u64, payload: &[u8]) -> B256 {
    let mut msg = [0u8; 96];
    msg[56..64].copy_from_slice(&chain_id.to_be_bytes());
    msg[64..].copy_from_slice(keccak256(payload).as_slice());
    keccak256(msg)
}

/// Encodes, signs and compresses `block` into a gossip message.
///
/// # Errors
///
/// The signer fails (a local key does not).
pub fn encode_message(
    block: &Block,
    hash: B256,
    chain_id: u64,
    signer: &PrivateKeySigner,
) -> Result<Vec<u8>, String> {
    let payload = encode_payload(block, hash);
    let signature = signer
        .sign_hash_sync(&signing_hash(chain_id, &payload))
        .map_err(|err| format!("signing: {err}"))?;
    let mut raw = Vec::with_capacity(65 + payload.len());
    raw.extend_from_slice(&signature.as_bytes()[..64]);
    raw.push(u8::from(signature.v()));
    raw.extend_from_slice(&payload);
    snap::raw::Encoder::new().compress_vec(&raw).map_err(|err| format!("snappy: {err}"))
}

/// op-node's message id: `SHA256(domain ++ u64_le(len(topic)) ++ topic ++ data)[..20]`, where
/// data is the decompressed message (domain `01000000`) or, when it does not decompress, the
/// raw one (domain `00000000`). Ids must agree across implementations, or duplicates pass.
pub fn message_id(topic: &str, data: &[u8]) -> Vec<u8> {
    let decompressed = snap::raw::decompress_len(data)
        .ok()
        .filter(|len| *len <= MAX_GOSSIP_SIZE)
        .and_then(|_| snap::raw::Decoder::new().decompress_vec(data).ok());
    let (domain, payload): ([u8; 4], &[u8]) = match &decompressed {
        Some(decompressed) => ([1, 0, 0, 0], decompressed),
        None => ([0, 0, 0, 0], data),
    };
    let mut hasher = Sha256::new();
    hasher.update(domain);
    hasher.update((topic.len() as u64).to_le_bytes());
    hasher.update(topic.as_bytes());
    hasher.update(payload);
    hasher.finalize()[..20].to_vec()
}

/// What validation decided about a message: forward it (and import the block), drop it
/// quietly, or drop it and penalize the peer that sent it.
#[derive(Debug)]
pub enum Verdict {
    /// A valid block, new at its height.
    Accept(Box<Block>, B256),
    /// Nothing wrong with the sender (a block seen already).
    Ignore(String),
    /// Invalid: the sender is scored down.
    Reject(String),
}

/// Validates gossiped blocks, remembering the hashes seen at each recent height.
#[derive(Debug)]
pub struct BlockValidator {
    chain: std::sync::Arc<ChainSpec>,
    signer: Address,
    seen: BTreeMap<u64, Vec<B256>>,
}

impl BlockValidator {
    /// A validator for blocks signed by `signer` on `chain`.
    pub fn new(chain: std::sync::Arc<ChainSpec>, signer: Address) -> Self {
        Self { chain, signer, seen: BTreeMap::new() }
    }

    /// Validates a message that came on the `version` topic, at unix time `now`.
    pub fn validate(&mut self, version: BlockVersion, data: &[u8], now: u64) -> Verdict {
        let raw = match decompress(data) {
            Ok(raw) => raw,
            Err(reason) => return Verdict::Reject(reason),
        };
        let (Some(sig), Some(payload)) = (raw.get(..65), raw.get(65..)) else {
            return Verdict::Reject("shorter than a signature".into());
        };
        if self.signer == Address::ZERO {
            return Verdict::Ignore("no unsafe block signer configured".into());
        }
        match recover_signer(self.chain.chain_id(), sig, payload) {
            Some(signer) if signer == self.signer => {}
            Some(signer) => {
                return Verdict::Reject(format!("signed by {signer}, not by {}", self.signer));
            }
            None => return Verdict::Reject("bad signature".into()),
        }
        let (block, hash) = match decode_payload(&self.chain, version, payload) {
            Ok(decoded) => decoded,
            Err(err) => return Verdict::Reject(err.to_string()),
        };
        let timestamp = block.header.timestamp;
        if timestamp < now.saturating_sub(MAX_BLOCK_AGE) {
            return Verdict::Reject(format!(
                "block {} is {}s old",
                block.header.number,
                now - timestamp
            ));
        }
        if timestamp > now.saturating_add(MAX_CLOCK_SKEW) {
            return Verdict::Reject(format!(
                "block {} is {}s in the future",
                block.header.number,
                timestamp - now
            ));
        }
        let number = block.header.number;
        let seen = self.seen.entry(number).or_default();
        if seen.len() > MAX_BLOCKS_PER_HEIGHT {
            return Verdict::Reject(format!(
                "more than {MAX_BLOCKS_PER_HEIGHT} blocks at height {number}"
            ));
        }
        if seen.contains(&hash) {
            return Verdict::Ignore(format!("block {number} {hash} seen already"));
        }
        seen.push(hash);
        if seen.len() > 1 {
            tracing::warn!(target: "p2p::gossip", number, %hash, blocks = seen.len(), "several signed blocks at one height");
        }
        while self.seen.len() > SEEN_HEIGHTS {
            self.seen.pop_first();
        }
        Verdict::Accept(Box::new(block), hash)
    }
}

fn decompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let len = snap::raw::decompress_len(data).map_err(|err| format!("snappy: {err}"))?;
    if len > MAX_GOSSIP_SIZE {
        return Err(format!("{len} bytes decompressed, over {MAX_GOSSIP_SIZE}"));
    }
    if len < MIN_GOSSIP_SIZE {
        return Err(format!("{len} bytes decompressed, under {MIN_GOSSIP_SIZE}"));
    }
    snap::raw::Decoder::new().decompress_vec(data).map_err(|err| format!("snappy: {err}"))
}

/// The address that signed `payload`, if the 65-byte signature (`v` 0 or 1) recovers.
fn recover_signer(chain_id: u64, sig: &[u8], payload: &[u8]) -> Option<Address> {
    let parity = match sig.get(64)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let signature = Signature::from_bytes_and_parity(sig.get(..64)?, parity);
    signature.recover_address_from_prehash(&signing_hash(chain_id, payload)).ok()
}
