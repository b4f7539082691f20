use alloy::{
    consensus::{Transaction, transaction::SignerRecoverable},
    eips::{
        Encodable2718, Typed2718,
        eip4844::{BYTES_PER_BLOB, BlobTransactionSidecar, DATA_GAS_PER_BLOB},
        eip7840::BlobParams,
    },
};
use alloy_eips::eip4844::env_settings::EnvKzgSettings;
use alloy_primitives::{Address, U256};
use op_revm::OpSpecId;
use revm::context_interface::cfg::gas::calculate_initial_tx_gas;
use std::sync::Arc;
use tributary_primitives::{PooledTransaction, TxEnvelope};

/// Most blobs one transaction may carry: as many as a Prague block holds.
pub(crate) const MAX_BLOBS_PER_TX: usize = 9;

/// Most blob transactions one sender holds in the pool (geth's blob pool allows 16).
pub(crate) const MAX_BLOB_TXS_PER_SENDER: usize = 16;

/// Most blob transactions the pool holds: at most about 300 MB of blobs.
pub(crate) const MAX_BLOB_TXS: usize = 256;

/// What a sidecar adds to a transaction's size at most, per blob: the blob, its commitment and
/// proof, and RLP headers.
const SIDECAR_BYTES_PER_BLOB: usize = BYTES_PER_BLOB + 48 + 48 + 16;

/// Why a transaction was refused. The messages follow geth's and reth's, which wallets match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Over the size limit.
    #[error("oversized data: transaction size {size}, limit {limit}")]
    Oversized {
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes that are not a transaction.
    #[error("failed to decode signed transaction: {0}")]
    Decode(String),
    /// Deposits never enter a pool, nor blob transactions an L2's.
    #[error("transaction type not supported")]
    TypeNotSupported,
    /// A blob transaction without its sidecar (the network form carries it).
    #[error("blob transaction missing its sidecar: send it in network form, with the blobs")]
    MissingSidecar,
    /// A blob transaction naming no blob, or more than a block holds.
    #[error("blob transaction carries {count} blobs: 1 to {MAX_BLOBS_PER_TX} are allowed")]
    BlobCount {
        /// Blob hashes the transaction names.
        count: usize,
    },
    /// The sidecar does not match the transaction's blob hashes, or a KZG proof fails.
    #[error("invalid blob sidecar: {0}")]
    InvalidSidecar(String),
    /// A blob fee cap of zero, below any blob base fee.
    #[error("max fee per blob gas less than the minimum blob base fee of 1 wei")]
    BlobFeeCapTooLow,
    /// The sender already holds as many blob transactions as one sender may, or the pool as
    /// many as it keeps (each holds up to 1.2 MB of blobs).
    #[error("blob transaction limit: {held} blob transactions held, limit {limit}")]
    BlobLimit {
        /// Blob transactions held (the sender's, or the pool's).
        held: usize,
        /// The limit.
        limit: usize,
    },
    /// Signed for another chain (or a legacy transaction without EIP-155).
    #[error("invalid chain id: expected {expected}, got {got:?}")]
    WrongChainId {
        /// This chain.
        expected: u64,
        /// The transaction's.
        got: Option<u64>,
    },
    /// Signature does not recover.
    #[error("invalid sender: signature does not recover")]
    InvalidSignature,
    /// Same hash already in the pool.
    #[error("already known")]
    AlreadyKnown,
    /// Nonce below the account's.
    #[error("nonce too low: next nonce {state}, tx nonce {tx}")]
    NonceTooLow {
        /// Account nonce.
        state: u64,
        /// Transaction nonce.
        tx: u64,
    },
    /// Nonce too far ahead of the sender's next nonce (its state nonce plus the transactions
    /// it has pending in the pool).
    #[error("nonce too high: next nonce {state}, tx nonce {tx}")]
    NonceTooHigh {
        /// The sender's next nonce, counting its pending pool transactions.
        state: u64,
        /// Transaction nonce.
        tx: u64,
    },
    /// Cannot pay for gas and value.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}")]
    InsufficientFunds {
        /// Sender balance.
        balance: U256,
        /// `gas * maxFee + value`.
        cost: U256,
    },
    /// Gas limit below the intrinsic cost.
    #[error("intrinsic gas too low: gas {gas}, minimum needed {needed}")]
    IntrinsicGasTooLow {
        /// Gas limit.
        gas: u64,
        /// Intrinsic gas.
        needed: u64,
    },
    /// Gas limit above the block's.
    #[error("exceeds block gas limit")]
    GasLimitExceeded,
    /// Tip above the fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// Fee cap below the floor the chain can ever reach.
    #[error(
        "max fee per gas less than block base fee: maxFeePerGas: {fee_cap}, baseFee: {base_fee}"
    )]
    FeeCapTooLow {
        /// The transaction's fee cap.
        fee_cap: u128,
        /// The current base fee.
        base_fee: u64,
    },
    /// Same nonce with too small a bump.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The sender already holds as many transactions as one sender may.
    #[error("account limit exceeded: sender has {held} transactions in the pool, limit {limit}")]
    AccountLimit {
        /// Transactions the sender holds.
        held: usize,
        /// The per-sender limit.
        limit: usize,
    },
    /// Full, and this transaction pays no more than what is there.
    #[error("txpool is full")]
    PoolFull,
    /// The state could not be read.
    #[error("internal error: {0}")]
    State(String),
    /// The journal could not be written, so the transaction is not acknowledged.
    #[error("internal error: cannot journal the transaction: {0}")]
    Journal(String),
}

/// The pool's window on chain state at the head.
pub trait StateView: Send + Sync {
    /// `(nonce, balance)` of `address` at the head (zero for a missing account).
    ///
    /// # Errors
    ///
    /// A message when state cannot be read.
    fn nonce_and_balance(&self, address: &Address) -> Result<(u64, U256), String>;
}

/// What validation needs to know about the chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainLimits {
    pub(crate) chain_id: u64,
    pub(crate) block_gas_limit: u64,
    pub(crate) base_fee: u64,
    pub(crate) spec: OpSpecId,
    /// Whether blob transactions are taken (the L1 dev chain's pool).
    pub(crate) blobs: bool,
}

/// A decoded, signature-checked transaction, before the state checks.
pub(crate) struct Checked {
    pub(crate) tx: TxEnvelope,
    pub(crate) sender: Address,
    /// Encoded size without the sidecar.
    pub(crate) size: usize,
    /// A blob transaction's sidecar, checked against its blob hashes.
    pub(crate) sidecar: Option<Arc<BlobTransactionSidecar>>,
}

/// Stateless checks: size, decoding, type, blobs, chain id, signature, fees, intrinsic gas.
/// The size limit holds for the transaction without its sidecar (the blobs are bounded by
/// their count instead), as geth's blob pool measures it.
pub(crate) fn check_stateless(
    raw: &[u8],
    limits: &ChainLimits,
    max_size: usize,
) -> Result<Checked, PoolError> {
    let blob_type = raw.first() == Some(&3);
    if blob_type && !limits.blobs {
        // Said before the size, which a blob transaction in network form is always past.
        return Err(PoolError::TypeNotSupported);
    }
    let blob_room = if blob_type { MAX_BLOBS_PER_TX * SIDECAR_BYTES_PER_BLOB } else { 0 };
    if raw.len() > max_size + blob_room {
        return Err(PoolError::Oversized { size: raw.len(), limit: max_size + blob_room });
    }
    let PooledTransaction { tx, sidecar } =
        PooledTransaction::decode(raw).map_err(|err| PoolError::Decode(err.to_string()))?;
    if tx.is_deposit() || (tx.ty() == 3 && !limits.blobs) {
        return Err(PoolError::TypeNotSupported);
    }
    let size = if sidecar.is_some() { tx.encode_2718_len() } else { raw.len() };
    if size > max_size {
        return Err(PoolError::Oversized { size, limit: max_size });
    }
    if tx.chain_id() != Some(limits.chain_id) {
        return Err(PoolError::WrongChainId { expected: limits.chain_id, got: tx.chain_id() });
    }
    let sender = tx.recover_signer().map_err(|_| PoolError::InvalidSignature)?;
    if let Some(tip) = tx.max_priority_fee_per_gas()
        && tip > tx.max_fee_per_gas()
    {
        return Err(PoolError::TipAboveFeeCap);
    }
    if tx.max_fee_per_gas() < u128::from(limits.base_fee) {
        return Err(PoolError::FeeCapTooLow {
            fee_cap: tx.max_fee_per_gas(),
            base_fee: limits.base_fee,
        });
    }
    if tx.gas_limit() > limits.block_gas_limit {
        return Err(PoolError::GasLimitExceeded);
    }
    let (accounts, slots) = tx.access_list().map_or((0, 0), |list| {
        (list.len() as u64, list.iter().map(|item| item.storage_keys.len() as u64).sum())
    });
    let auths = tx.authorization_list().map_or(0, |list| list.len() as u64);
    let gas = calculate_initial_tx_gas(
        limits.spec.into_eth_spec(),
        tx.input(),
        tx.kind().is_create(),
        accounts,
        slots,
        auths,
    );
    let needed = gas.initial_total_gas.max(gas.floor_gas);
    if tx.gas_limit() < needed {
        return Err(PoolError::IntrinsicGasTooLow { gas: tx.gas_limit(), needed });
    }
    // The blobs' shape here; their KZG proofs only once the sender's nonce and balance pass
    // (`verify_sidecar`), so that neither junk nor a mined journal entry costs a KZG check.
    let sidecar = match tx.blob_versioned_hashes() {
        Some(hashes) => Some(Arc::new(check_blobs(&tx, hashes, sidecar)?)),
        None => None,
    };
    Ok(Checked { tx, sender, size, sidecar })
}

/// A blob transaction's blobs: counted, priced above zero, and one blob and proof per
/// versioned hash. The proofs are checked by [`verify_sidecar`].
fn check_blobs(
    tx: &TxEnvelope,
    hashes: &[alloy_primitives::B256],
    sidecar: Option<BlobTransactionSidecar>,
) -> Result<BlobTransactionSidecar, PoolError> {
    if hashes.is_empty() || hashes.len() > MAX_BLOBS_PER_TX {
        return Err(PoolError::BlobCount { count: hashes.len() });
    }
    if tx.max_fee_per_blob_gas().unwrap_or_default() < BlobParams::prague().min_blob_fee {
        return Err(PoolError::BlobFeeCapTooLow);
    }
    let sidecar = sidecar.ok_or(PoolError::MissingSidecar)?;
    if sidecar.blobs.len() != hashes.len() || sidecar.proofs.len() != hashes.len() {
        return Err(PoolError::InvalidSidecar(format!(
            "{} blobs and {} proofs for {} blob hashes",
            sidecar.blobs.len(),
            sidecar.proofs.len(),
            hashes.len()
        )));
    }
    Ok(sidecar)
}

/// Each blob of `sidecar` matches its versioned hash in `tx` (the commitment) and its KZG
/// proof verifies (c-kzg, Ethereum's trusted setup).
pub(crate) fn verify_sidecar(
    tx: &TxEnvelope,
    sidecar: &BlobTransactionSidecar,
) -> Result<(), PoolError> {
    let hashes = tx.blob_versioned_hashes().unwrap_or_default();
    sidecar
        .validate(hashes, EnvKzgSettings::Default.get())
        .map_err(|err| PoolError::InvalidSidecar(err.to_string()))
}

/// `gas * maxFee + value`, plus `blob gas * maxFeePerBlobGas` for a blob transaction: what the
/// sender must hold. Saturating: U256 arithmetic wraps, and a huge `value` must not wrap into
/// a small cost.
pub(crate) fn max_cost(tx: &TxEnvelope) -> U256 {
    let blob_gas = tx
        .blob_versioned_hashes()
        .map_or(0, |hashes| (hashes.len() as u64).saturating_mul(DATA_GAS_PER_BLOB));
    U256::from(tx.gas_limit())
        .saturating_mul(U256::from(tx.max_fee_per_gas()))
        .saturating_add(tx.value())
        .saturating_add(
            U256::from(blob_gas)
                .saturating_mul(U256::from(tx.max_fee_per_blob_gas().unwrap_or_default())),
        )
}
