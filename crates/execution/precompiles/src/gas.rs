//! The gas schedule: each primitive costs what the EVM charges for the same work (EIP-2929
//! access costs, EIP-2200 storage costs, LOG costs, CALL's account-creation cost).

/// Cold SLOAD (EIP-2929).
pub(crate) const COLD_SLOAD: u64 = 2_100;
/// Warm storage or account access.
pub(crate) const WARM_ACCESS: u64 = 100;
/// Cold account access (EIP-2929).
pub(crate) const COLD_ACCOUNT_ACCESS: u64 = 2_600;
/// SSTORE zero to non-zero.
pub(crate) const SSTORE_SET: u64 = 20_000;
/// SSTORE non-zero to another value (5000 minus the cold SLOAD part).
pub(crate) const SSTORE_RESET: u64 = 2_900;
/// Crediting an account that did not exist (CALL's new-account cost).
pub(crate) const NEW_ACCOUNT: u64 = 25_000;
/// Every call: the selector dispatch and ABI decoding, as a Solidity function entry costs.
pub(crate) const BASE: u64 = 200;
/// Per 32-byte word of calldata read (CALLDATACOPY's copy cost).
pub(crate) const CALLDATA_WORD: u64 = 3;
/// Batched settlement, per record: decoding it, the fee arithmetic and the checks against the
/// batch's cached state (what the same work costs in EVM opcodes and memory at least).
pub(crate) const BATCH_RECORD: u64 = 200;
/// Batched settlement, per attribution: decoding, the duplicate check, the share's MUL and DIV
/// and adding it to its recipient's credit.
pub(crate) const BATCH_ATTRIBUTION: u64 = 50;
/// keccak256 per call site (30) plus per word (6).
pub(crate) const KECCAK_BASE: u64 = 30;
pub(crate) const KECCAK_WORD: u64 = 6;

/// LOG cost: 375 + 375 per topic + 8 per byte of data.
pub(crate) const fn log_cost(topics: usize, data_len: usize) -> u64 {
    375 + 375 * topics as u64 + 8 * data_len as u64
}

/// Calldata copy cost for `len` bytes.
pub(crate) const fn calldata_cost(len: usize) -> u64 {
    CALLDATA_WORD * (len as u64).div_ceil(32)
}

/// keccak256 of `len` bytes.
pub(crate) const fn keccak_cost(len: usize) -> u64 {
    KECCAK_BASE + KECCAK_WORD * (len as u64).div_ceil(32)
}
