//! [`TxEnvelope`]: every transaction type either of Tributary's chains carries, the L2's
//! (op-alloy's [`OpTxEnvelope`]: legacy, EIP-2930, EIP-1559, EIP-7702, deposits) and the L1 dev
//! chain's blob transactions (EIP-4844), in one envelope.
//!
//! Blocks, storage, the pool and RPC carry it on both chains; its EIP-2718 encoding, hash and
//! RPC JSON are alloy's for the Ethereum types and op-alloy's for deposits, so blocks stored
//! before read back the same bytes and hashes. The OP executor, payloads and batches take
//! op-alloy's [`OpTxEnvelope`] (converted at those boundaries): a blob transaction has no
//! place on the L2. The L1 dev chain's pool takes type 3 in network form
//! ([`crate::PooledTransaction`]); the L2's refuses it.

use alloy::consensus::{
    Sealed, Signed, TransactionEnvelope, TxEip1559, TxEip2930, TxEip4844, TxEip7702, TxLegacy,
    crypto::RecoveryError, transaction::SignerRecoverable,
};
use alloy_primitives::{Address, B256};
use op_alloy::consensus::{OpTransaction, OpTxEnvelope, TxDeposit, TxPostExec};

/// A transaction of either chain (see the module docs).
#[derive(Debug, Clone, TransactionEnvelope)]
#[envelope(
    alloy_consensus = alloy::consensus,
    tx_type_name = TxType,
    typed = TypedTransaction,
    serde_cfg(all())
)]
pub enum TxEnvelope {
    /// Legacy.
    #[envelope(ty = 0)]
    Legacy(Signed<TxLegacy>),
    /// EIP-2930.
    #[envelope(ty = 1)]
    Eip2930(Signed<TxEip2930>),
    /// EIP-1559.
    #[envelope(ty = 2)]
    Eip1559(Signed<TxEip1559>),
    /// EIP-4844 (the L1 dev chain only; an OP chain has none), without its sidecar.
    #[envelope(ty = 3)]
    Eip4844(Signed<TxEip4844>),
    /// EIP-7702.
    #[envelope(ty = 4)]
    Eip7702(Signed<TxEip7702>),
    /// An OP deposit (the L2 only), shown over RPC as op-alloy shows it.
    #[envelope(ty = 126)]
    #[serde(serialize_with = "op_alloy::consensus::serde_deposit_tx_rpc")]
    Deposit(Sealed<TxDeposit>),
}

impl TxEnvelope {
    /// The transaction's hash.
    pub fn tx_hash(&self) -> B256 {
        match self {
            Self::Legacy(tx) => *tx.hash(),
            Self::Eip2930(tx) => *tx.hash(),
            Self::Eip1559(tx) => *tx.hash(),
            Self::Eip4844(tx) => *tx.hash(),
            Self::Eip7702(tx) => *tx.hash(),
            Self::Deposit(tx) => tx.hash(),
        }
    }

    /// Whether it is an OP deposit.
    pub const fn is_deposit(&self) -> bool {
        matches!(self, Self::Deposit(_))
    }

    /// The deposit, if it is one.
    pub const fn as_deposit(&self) -> Option<&Sealed<TxDeposit>> {
        match self {
            Self::Deposit(tx) => Some(tx),
            _ => None,
        }
    }
}

impl OpTransaction for TxEnvelope {
    fn is_deposit(&self) -> bool {
        Self::is_deposit(self)
    }

    fn as_deposit(&self) -> Option<&Sealed<TxDeposit>> {
        Self::as_deposit(self)
    }

    fn as_post_exec(&self) -> Option<&Sealed<TxPostExec>> {
        None
    }
}

/// `$on_signed` with `$signed` bound to the signed transaction, or `Ok` of a deposit's `from`:
/// a deposit is not signed, its sender is the `from` it names, as op-alloy recovers it.
macro_rules! signed_or_from {
    ($tx:expr, |$signed:ident| $on_signed:expr) => {
        match $tx {
            TxEnvelope::Legacy($signed) => $on_signed,
            TxEnvelope::Eip2930($signed) => $on_signed,
            TxEnvelope::Eip1559($signed) => $on_signed,
            TxEnvelope::Eip4844($signed) => $on_signed,
            TxEnvelope::Eip7702($signed) => $on_signed,
            TxEnvelope::Deposit(deposit) => Ok(deposit.from),
        }
    };
}

impl SignerRecoverable for TxEnvelope {
    fn recover_signer(&self) -> Result<Address, RecoveryError> {
        signed_or_from!(self, |tx| SignerRecoverable::recover_signer(tx))
    }

    fn recover_signer_unchecked(&self) -> Result<Address, RecoveryError> {
        signed_or_from!(self, |tx| SignerRecoverable::recover_signer_unchecked(tx))
    }
}

/// The envelope has a variant the other side has not.
#[derive(Debug, Clone, thiserror::Error)]
#[error("a {0} transaction has no place in the other envelope")]
pub struct UnsupportedTxType(pub &'static str);

impl TryFrom<OpTxEnvelope> for TxEnvelope {
    type Error = UnsupportedTxType;

    fn try_from(tx: OpTxEnvelope) -> Result<Self, Self::Error> {
        Ok(match tx {
            OpTxEnvelope::Legacy(tx) => Self::Legacy(tx),
            OpTxEnvelope::Eip2930(tx) => Self::Eip2930(tx),
            OpTxEnvelope::Eip1559(tx) => Self::Eip1559(tx),
            OpTxEnvelope::Eip7702(tx) => Self::Eip7702(tx),
            OpTxEnvelope::Deposit(tx) => Self::Deposit(tx),
            OpTxEnvelope::PostExec(_) => return Err(UnsupportedTxType("post-exec (0x7d)")),
        })
    }
}

impl TryFrom<TxEnvelope> for OpTxEnvelope {
    type Error = UnsupportedTxType;

    fn try_from(tx: TxEnvelope) -> Result<Self, Self::Error> {
        Ok(match tx {
            TxEnvelope::Legacy(tx) => Self::Legacy(tx),
            TxEnvelope::Eip2930(tx) => Self::Eip2930(tx),
            TxEnvelope::Eip1559(tx) => Self::Eip1559(tx),
            TxEnvelope::Eip7702(tx) => Self::Eip7702(tx),
            TxEnvelope::Deposit(tx) => Self::Deposit(tx),
            TxEnvelope::Eip4844(_) => return Err(UnsupportedTxType("blob (EIP-4844)")),
        })
    }
}

impl TryFrom<TxEnvelope> for alloy::consensus::TxEnvelope {
    type Error = UnsupportedTxType;

    fn try_from(tx: TxEnvelope) -> Result<Self, Self::Error> {
        Ok(match tx {
            TxEnvelope::Legacy(tx) => Self::Legacy(tx),
            TxEnvelope::Eip2930(tx) => Self::Eip2930(tx),
            TxEnvelope::Eip1559(tx) => Self::Eip1559(tx),
            TxEnvelope::Eip4844(tx) => Self::Eip4844(tx.map(Into::into)),
            TxEnvelope::Eip7702(tx) => Self::Eip7702(tx),
            TxEnvelope::Deposit(_) => return Err(UnsupportedTxType("deposit (0x7e)")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{SignableTransaction, Transaction},
        eips::eip2718::{Decodable2718, Encodable2718},
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{Address, B256, Bytes, TxKind, U256};

    fn key() -> PrivateKeySigner {
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap()
    }

    fn eip1559() -> Signed<TxEip1559> {
        let mut tx = TxEip1559 {
            chain_id: 901,
            nonce: 7,
            gas_limit: 21_000,
            max_fee_per_gas: 2,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(5),
            input: Bytes::from_static(b"hi"),
            ..Default::default()
        };
        let signature = key().sign_transaction_sync(&mut tx).unwrap();
        tx.into_signed(signature)
    }

    fn blob() -> Signed<TxEip4844> {
        let mut tx = TxEip4844 {
            chain_id: 900,
            nonce: 1,
            gas_limit: 21_000,
            max_fee_per_gas: 2,
            max_priority_fee_per_gas: 1,
            to: Address::repeat_byte(0xff),
            blob_versioned_hashes: vec![B256::with_last_byte(1)],
            max_fee_per_blob_gas: 1,
            ..Default::default()
        };
        let signature = key().sign_transaction_sync(&mut tx).unwrap();
        tx.into_signed(signature)
    }

    fn deposit() -> Sealed<TxDeposit> {
        Sealed::new(TxDeposit {
            source_hash: B256::repeat_byte(3),
            from: Address::repeat_byte(4),
            to: TxKind::Call(Address::repeat_byte(5)),
            mint: 10,
            value: U256::from(10),
            gas_limit: 100_000,
            is_system_transaction: false,
            input: Bytes::new(),
        })
    }

    /// A block body stored as a list of either envelope is the same bytes (RLP of the network
    /// forms), so moving storage to this envelope needs no new layout; hashes, senders and
    /// deposits read the same.
    #[test]
    fn bodies_store_the_same_bytes_and_read_the_same() {
        let op = vec![OpTxEnvelope::Deposit(deposit()), OpTxEnvelope::Eip1559(eip1559())];
        let ours: Vec<TxEnvelope> =
            op.iter().cloned().map(|tx| TxEnvelope::try_from(tx).unwrap()).collect();
        assert_eq!(alloy::rlp::encode(&ours), alloy::rlp::encode(&op));
        let decoded: Vec<TxEnvelope> =
            alloy::rlp::Decodable::decode(&mut alloy::rlp::encode(&op).as_slice()).unwrap();
        for (mine, theirs) in decoded.iter().zip(&op) {
            assert_eq!(mine.tx_hash(), theirs.tx_hash());
            assert_eq!(mine.recover_signer().unwrap(), theirs.recover_signer().unwrap());
            assert_eq!(mine.is_deposit(), theirs.is_deposit());
        }
        assert_eq!(decoded[0].as_deposit().map(|d| d.from), Some(Address::repeat_byte(4)));
        assert_eq!(decoded[1].recover_signer().unwrap(), key().address());
        assert_eq!(TxEnvelope::Eip4844(blob()).recover_signer().unwrap(), key().address());
    }

    /// Each type encodes to exactly the bytes, and hashes to exactly the hash, that op-alloy's
    /// envelope (the L2's types) or alloy's (the blob type) gives it, decodes back, and
    /// converts to and from those envelopes; a blob transaction has no OP form and a deposit
    /// no Ethereum one.
    #[test]
    fn the_envelope_keeps_op_alloys_and_alloys_wire_format() {
        for op in [OpTxEnvelope::Eip1559(eip1559()), OpTxEnvelope::Deposit(deposit())] {
            let ours = TxEnvelope::try_from(op.clone()).unwrap();
            // RPC shows them as op-alloy does (deposits with their RPC fields).
            assert_eq!(serde_json::to_value(&ours).unwrap(), serde_json::to_value(&op).unwrap());
            assert_eq!(ours.encoded_2718(), op.encoded_2718());
            assert_eq!(ours.trie_hash(), op.trie_hash());
            let decoded = TxEnvelope::decode_2718(&mut ours.encoded_2718().as_slice()).unwrap();
            assert_eq!(decoded.trie_hash(), ours.trie_hash());
            assert_eq!(OpTxEnvelope::try_from(decoded).unwrap(), op);
        }
        let eth = alloy::consensus::TxEnvelope::Eip4844(blob().map(Into::into));
        let ours = TxEnvelope::Eip4844(blob());
        assert_eq!(ours.encoded_2718(), eth.encoded_2718());
        assert_eq!(ours.trie_hash(), *eth.tx_hash());
        let decoded = TxEnvelope::decode_2718(&mut ours.encoded_2718().as_slice()).unwrap();
        assert_eq!(decoded.blob_versioned_hashes(), Some(&[B256::with_last_byte(1)][..]));
        assert_eq!(alloy::consensus::TxEnvelope::try_from(decoded).unwrap(), eth);
        let json = serde_json::to_value(&ours).unwrap();
        assert_eq!(json["type"], "0x3", "tagged by type, as RPC shows transactions");
        let back: TxEnvelope = serde_json::from_value(json).unwrap();
        assert_eq!(back.trie_hash(), ours.trie_hash());
        assert!(OpTxEnvelope::try_from(ours).is_err(), "no blobs on an OP chain");
        assert!(alloy::consensus::TxEnvelope::try_from(TxEnvelope::Deposit(deposit())).is_err());
    }
}
