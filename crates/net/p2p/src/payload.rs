//! Blocks as the OP Stack's P2P layer carries them: SSZ execution payloads (op-alloy's codec),
//! the payload version each fork uses, and the check that a payload's block hash is the hash
//! of the header it implies.

use alloy::{
    consensus::{BlockBody, Header},
    eips::eip7685::EMPTY_REQUESTS_HASH,
};
use alloy_primitives::B256;
use alloy_rpc_types_engine::{CancunPayloadFields, PraguePayloadFields};
use op_alloy::rpc_types_engine::{
    OpExecutionPayload, OpExecutionPayloadSidecar, OpExecutionPayloadV4,
};
use ssz::{Decode, Encode};
use tributary_chainspec::{ChainSpec, OpHardforks};
use tributary_primitives::{Block, OpTxEnvelope, TxEnvelope};

/// The execution payload version a block travels as, fixed by its timestamp's fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockVersion {
    /// Before Canyon.
    V1,
    /// Canyon, Delta: withdrawals (always empty).
    V2,
    /// Ecotone to Holocene: the parent beacon block root travels before the payload.
    V3,
    /// Isthmus on (Jovian too): the payload carries the withdrawals root.
    V4,
}

impl BlockVersion {
    /// All versions, oldest first.
    pub const ALL: [Self; 4] = [Self::V1, Self::V2, Self::V3, Self::V4];

    /// The version of a block at `timestamp`.
    pub fn at(chain: &ChainSpec, timestamp: u64) -> Self {
        let forks = chain.hardforks();
        if forks.is_isthmus_active_at_timestamp(timestamp) {
            Self::V4
        } else if forks.is_ecotone_active_at_timestamp(timestamp) {
            Self::V3
        } else if forks.is_canyon_active_at_timestamp(timestamp) {
            Self::V2
        } else {
            Self::V1
        }
    }

    /// The number in the gossip topic (`/optimism/<chain id>/<n>/blocks`).
    pub const fn topic_number(self) -> u8 {
        match self {
            Self::V1 => 0,
            Self::V2 => 1,
            Self::V3 => 2,
            Self::V4 => 3,
        }
    }

    /// Whether the 32-byte parent beacon block root comes before the SSZ payload.
    pub const fn has_beacon_root(self) -> bool {
        matches!(self, Self::V3 | Self::V4)
    }
}

/// Why a payload is not a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The bytes are not an SSZ payload of the expected version.
    #[error("malformed {0:?} payload")]
    Malformed(BlockVersion),
    /// The payload's fields are not a valid block (transactions, withdrawals, blobs).
    #[error("invalid payload: {0}")]
    Invalid(String),
    /// The block hash in the payload is not the hash of its header.
    #[error("block hash {claimed} is not the header's hash {actual}")]
    BlockHash {
        /// In the payload.
        claimed: B256,
        /// Recomputed.
        actual: B256,
    },
    /// The block belongs to another version than the one it came as.
    #[error("a {actual:?} block sent as {sent:?}")]
    WrongVersion {
        /// What it came as.
        sent: BlockVersion,
        /// What its timestamp says.
        actual: BlockVersion,
    },
}

/// The payload bytes of `block` as signed and sent: `parentBeaconBlockRoot ++ SSZ(payload)` for
/// V3 and V4, `SSZ(payload)` before.
pub fn encode_payload(block: &Block, hash: B256) -> Vec<u8> {
    let (payload, sidecar) = OpExecutionPayload::from_block_unchecked(hash, block);
    let mut out = Vec::new();
    if let Some(root) = sidecar.parent_beacon_block_root() {
        out.extend_from_slice(root.as_slice());
    }
    match payload {
        OpExecutionPayload::V1(p) => p.ssz_append(&mut out),
        OpExecutionPayload::V2(p) => p.ssz_append(&mut out),
        OpExecutionPayload::V3(p) => p.ssz_append(&mut out),
        OpExecutionPayload::V4(p) => p.ssz_append(&mut out),
    }
    out
}

/// Decodes payload bytes of `version` (as [`encode_payload`] writes them) into a block, and
/// checks its hash. Returns the block and its hash.
///
/// # Errors
///
/// Malformed SSZ, a payload that is not a valid block, or a block hash that does not match.
pub fn decode_payload(
    chain: &ChainSpec,
    version: BlockVersion,
    bytes: &[u8],
) -> Result<(Block, B256), PayloadError> {
    let malformed = |_| PayloadError::Malformed(version);
    let (root, ssz) = if version.has_beacon_root() {
        let root = bytes.get(..32).ok_or(PayloadError::Malformed(version))?;
        (Some(B256::from_slice(root)), bytes.get(32..).unwrap_or_default())
    } else {
        (None, bytes)
    };
    let payload = match version {
        BlockVersion::V1 => OpExecutionPayload::V1(
            alloy_rpc_types_engine::ExecutionPayloadV1::from_ssz_bytes(ssz).map_err(malformed)?,
        ),
        BlockVersion::V2 => OpExecutionPayload::V2(
            alloy_rpc_types_engine::ExecutionPayloadV2::from_ssz_bytes(ssz).map_err(malformed)?,
        ),
        BlockVersion::V3 => OpExecutionPayload::V3(
            alloy_rpc_types_engine::ExecutionPayloadV3::from_ssz_bytes(ssz).map_err(malformed)?,
        ),
        BlockVersion::V4 => {
            OpExecutionPayload::V4(OpExecutionPayloadV4::from_ssz_bytes(ssz).map_err(malformed)?)
        }
    };
    let claimed = payload.block_hash();
    let sidecar = match (version, root) {
        (BlockVersion::V4, Some(root)) => OpExecutionPayloadSidecar::v4(
            CancunPayloadFields::new(root, Vec::new()),
            PraguePayloadFields::new(EMPTY_REQUESTS_HASH),
        ),
        (BlockVersion::V3, Some(root)) => {
            OpExecutionPayloadSidecar::v3(CancunPayloadFields::new(root, Vec::new()))
        }
        _ => OpExecutionPayloadSidecar::default(),
    };
    // Decoded as op-alloy's envelope, which has no blob type: an OP block carries none.
    let block = payload
        .try_into_block_with_sidecar::<OpTxEnvelope>(&sidecar)
        .map_err(|err| PayloadError::Invalid(err.to_string()))?
        .try_map_transactions(TxEnvelope::try_from)
        .map_err(|err| PayloadError::Invalid(err.to_string()))?;
    let actual = BlockVersion::at(chain, block.header.timestamp);
    if actual != version {
        return Err(PayloadError::WrongVersion { sent: version, actual });
    }
    check_deposits_first(&block.body)?;
    let hash = block.header.hash_slow();
    if hash != claimed {
        return Err(PayloadError::BlockHash { claimed, actual: hash });
    }
    Ok((block, hash))
}

/// Deposits come first in an OP block, and nothing else may pose as one later.
fn check_deposits_first(body: &BlockBody<TxEnvelope>) -> Result<(), PayloadError> {
    let first_user = body.transactions.iter().position(|tx| !tx.is_deposit());
    if let Some(first_user) = first_user
        && body.transactions.iter().skip(first_user).any(|tx| tx.is_deposit())
    {
        return Err(PayloadError::Invalid("a deposit after a user transaction".into()));
    }
    Ok(())
}

/// A block from its stored parts: header and transactions (OP blocks carry an empty
/// withdrawals list from Canyon on).
pub fn block_from_parts(chain: &ChainSpec, header: Header, txs: Vec<TxEnvelope>) -> Block {
    let withdrawals =
        chain.hardforks().is_canyon_active_at_timestamp(header.timestamp).then(Default::default);
    Block { header, body: BlockBody { transactions: txs, ommers: Vec::new(), withdrawals } }
}
