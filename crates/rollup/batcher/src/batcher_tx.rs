//! What one batcher transaction carries and pays: frames as calldata or blobs
//! ([`DataAvailability`]), the fees of a first send and of a replacement, and the choice
//! `auto` makes between calldata and blobs.

use alloy_primitives::Bytes;
use tributary_protocol::BLOB_MAX_DATA_SIZE;

/// Percent by which a resubmission raises both fee caps (geth asks for at least 10).
pub const FEE_BUMP_PERCENT: u128 = 20;

/// Where batches go on L1 (`--batcher.data-availability-type`, op-batcher's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataAvailability {
    /// Transaction calldata, one frame per transaction.
    #[default]
    Calldata,
    /// EIP-4844 blobs, one frame per blob, several blobs per transaction.
    Blobs,
    /// Blobs when the L1 has them and they cost less, per channel.
    Auto,
}

impl std::str::FromStr for DataAvailability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "calldata" => Ok(Self::Calldata),
            "blobs" => Ok(Self::Blobs),
            "auto" => Ok(Self::Auto),
            other => {
                Err(format!("unknown data availability type {other:?}: calldata, blobs or auto"))
            }
        }
    }
}

/// Blob gas per blob (EIP-4844).
const BLOB_GAS_PER_BLOB: u128 = 131_072;
/// Calldata gas per byte of compressed batch data: Prague's EIP-7623 floor for non-zero bytes.
const CALLDATA_GAS_PER_BYTE: u128 = 40;
/// The least blob fee cap offered (op-batcher's minimum blob fee, 1 gwei).
pub(crate) const MIN_BLOB_FEE_CAP: u128 = 1_000_000_000;

/// A frame waiting to be posted.
#[derive(Debug, Clone)]
pub(crate) struct PendingFrame {
    /// The batcher transaction data: version byte and frame.
    pub(crate) data: Bytes,
    /// Set on a channel's last frame: the channel's last L2 block.
    pub(crate) closes: Option<u64>,
    /// Goes in a blob (cut to a blob's capacity), not calldata.
    pub(crate) blob: bool,
}

/// What one batcher transaction carries: one calldata frame, or one frame per blob.
#[derive(Debug, Clone)]
pub(crate) struct PendingTx {
    pub(crate) parts: Vec<PendingFrame>,
    pub(crate) blob: bool,
}

impl PendingTx {
    pub(crate) fn bytes(&self) -> usize {
        self.parts.iter().map(|part| part.data.len()).sum()
    }

    pub(crate) fn payloads(&self) -> Vec<Bytes> {
        self.parts.iter().map(|part| part.data.clone()).collect()
    }

    /// The last L2 block of the newest channel this transaction completes, if any.
    pub(crate) fn closes(&self) -> Option<u64> {
        self.parts.iter().filter_map(|part| part.closes).max()
    }
}

/// What a batcher transaction pays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fees {
    pub(crate) max_fee: u128,
    pub(crate) tip: u128,
    pub(crate) gas_limit: u64,
    /// Max fee per blob gas, for a blob transaction.
    pub(crate) blob_fee: Option<u128>,
}

impl Fees {
    /// The fees of a replacement: each cap raised by [`FEE_BUMP_PERCENT`], or doubled for a
    /// blob transaction (geth's blob pool takes a replacement only at twice every cap).
    pub(crate) fn bumped(self) -> Self {
        let percent = if self.blob_fee.is_some() { 100 } else { FEE_BUMP_PERCENT };
        let bump = |fee: u128| fee.saturating_mul(100 + percent) / 100 + 1;
        Self {
            max_fee: bump(self.max_fee),
            tip: bump(self.tip),
            gas_limit: self.gas_limit,
            blob_fee: self.blob_fee.map(bump),
        }
    }
}

/// Whether a full blob costs less than the same bytes as calldata at these fees (op-batcher's
/// `auto` compares the two the same way; the transaction's 21 000 gas is common to both).
pub(crate) fn blobs_cheaper(base_fee: u128, blob_base_fee: u128) -> bool {
    let as_calldata =
        (BLOB_MAX_DATA_SIZE as u128).saturating_mul(CALLDATA_GAS_PER_BYTE).saturating_mul(base_fee);
    let as_blob = BLOB_GAS_PER_BLOB.saturating_mul(blob_base_fee);
    as_blob < as_calldata
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob is cheaper at the blob floor and at equal fees; calldata wins once the blob
    /// base fee is about 40 times the base fee.
    #[test]
    fn auto_takes_blobs_while_they_cost_less() {
        assert!(blobs_cheaper(1_000_000_000, 1));
        assert!(blobs_cheaper(1_000_000_000, 1_000_000_000));
        assert!(blobs_cheaper(1_000_000_000, 39_000_000_000));
        assert!(!blobs_cheaper(1_000_000_000, 40_000_000_000));
        assert!(!blobs_cheaper(0, 1), "free calldata");
    }

    /// A replacement raises calldata fees by the bump, and doubles all of a blob
    /// transaction's caps.
    #[test]
    fn replacements_bump_fees_as_the_pools_ask() {
        let calldata = Fees { max_fee: 100, tip: 10, gas_limit: 50_000, blob_fee: None }.bumped();
        assert_eq!((calldata.max_fee, calldata.tip, calldata.gas_limit), (121, 13, 50_000));
        let blob = Fees { max_fee: 100, tip: 10, gas_limit: 21_000, blob_fee: Some(7) }.bumped();
        assert_eq!((blob.max_fee, blob.tip, blob.blob_fee), (201, 21, Some(15)));
    }

    #[test]
    fn data_availability_names_are_op_batchers() {
        assert_eq!("calldata".parse(), Ok(DataAvailability::Calldata));
        assert_eq!("blobs".parse(), Ok(DataAvailability::Blobs));
        assert_eq!("auto".parse(), Ok(DataAvailability::Auto));
        assert!("blob".parse::<DataAvailability>().is_err());
    }
}
