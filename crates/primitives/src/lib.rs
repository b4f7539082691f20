//! Block, transaction and receipt types shared by every Tributary crate.
//!
//! Almost everything here is op-alloy's: Tributary's transactions are OP transactions
//! ([`OpTxEnvelope`]: legacy, EIP-2930, EIP-1559, EIP-7702 and deposits) and its receipts are
//! OP receipts. Our own: [`Account`], the plain-state account record the storage, execution
//! and RPC crates pass around; and [`TxEnvelope`] / [`ReceiptEnvelope`], op-alloy's types plus
//! EIP-4844 in one envelope each, with op-alloy's and alloy's wire format: what blocks,
//! storage, pool and RPC carry on both chains. op-alloy's [`OpTxEnvelope`] stays at the L2
//! boundaries (its executor, payloads, batches), where decoding into it refuses blob
//! transactions. [`PooledTransaction`] is the network form the pools take: a blob
//! transaction with its sidecar.

mod envelope;
mod pooled;
mod receipt;

pub use alloy::consensus::{Header, Sealable, Sealed};
pub use envelope::{TxEnvelope, TxType, TypedTransaction, UnsupportedTxType};
pub use pooled::PooledTransaction;
pub use receipt::ReceiptEnvelope;

/// A header with its hash.
pub type SealedHeader = Sealed<Header>;
pub use op_alloy::consensus::{
    OpDepositReceipt, OpReceiptEnvelope, OpTxEnvelope, OpTxType, TxDeposit,
};

use alloy_primitives::{B256, U256};

/// A block of either chain: header plus transactions.
pub type Block = alloy::consensus::Block<TxEnvelope>;

/// A receipt as stored and served.
pub type Receipt = ReceiptEnvelope;

/// `keccak256` of empty code.
pub const KECCAK_EMPTY: B256 = alloy::primitives::KECCAK256_EMPTY;

/// An account in plain state: what revm calls `AccountInfo`, minus the code itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    /// Transactions sent (or contracts created, for a contract).
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// `keccak256` of the code; [`KECCAK_EMPTY`] for none.
    pub code_hash: B256,
}

impl Account {
    /// Whether the account has code.
    pub fn has_code(&self) -> bool {
        self.code_hash != KECCAK_EMPTY && self.code_hash != B256::ZERO
    }
}
