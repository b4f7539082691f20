use alloy::{
    consensus::{Transaction, transaction::SignerRecoverable},
    eips::{Decodable2718, Typed2718},
};
use alloy_primitives::{Address, U256};
use op_revm::OpSpecId;
use revm::context_interface::cfg::gas::calculate_initial_tx_gas;
use tributary_primitives::TxEnvelope;

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
    /// Deposits and blob transactions do not enter the pool.
    #[error("transaction type not supported")]
    TypeNotSupported,
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
}

/// A decoded, signature-checked transaction, before the state checks.
pub(crate) struct Checked {
    pub(crate) tx: TxEnvelope,
    pub(crate) sender: Address,
    pub(crate) size: usize,
}

/// Stateless checks: size, decoding, type, chain id, signature, fees, intrinsic gas.
pub(crate) fn check_stateless(
    raw: &[u8],
    limits: &ChainLimits,
    max_size: usize,
) -> Result<Checked, PoolError> {
    if raw.len() > max_size {
        return Err(PoolError::Oversized { size: raw.len(), limit: max_size });
    }
    let mut buf = raw;
    let tx = TxEnvelope::decode_2718(&mut buf).map_err(|err| PoolError::Decode(err.to_string()))?;
    if !buf.is_empty() {
        return Err(PoolError::Decode("trailing bytes after the transaction".into()));
    }
    if tx.is_deposit() || tx.ty() == 3 {
        return Err(PoolError::TypeNotSupported);
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
    Ok(Checked { tx, sender, size: raw.len() })
}

/// `gas * maxFee + value`: what the sender must hold. Saturating: U256 arithmetic wraps, and
/// a huge `value` must not wrap into a small cost.
pub(crate) fn max_cost(tx: &TxEnvelope) -> U256 {
    U256::from(tx.gas_limit())
        .saturating_mul(U256::from(tx.max_fee_per_gas()))
        .saturating_add(tx.value())
}
