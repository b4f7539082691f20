//! A transaction in its *pooled* (network) form: what `eth_sendRawTransaction` takes and the
//! pool's journal keeps. For every type but EIP-4844 it is the EIP-2718 encoding. A blob
//! transaction travels with its sidecar (`0x03 ++ rlp([tx_fields, blobs, commitments,
//! proofs])`), which the block leaves out: the L1 keeps the sidecar beside the block for the
//! beacon API, and the transaction's hash never covers it.
//!
//! Only Prague's sidecar (version 0, one KZG proof per blob) is taken. Osaka's cell-proof
//! sidecar (EIP-7594) is refused: the L1 dev chain runs Prague.

use crate::TxEnvelope;
use alloy::{
    consensus::{Signed, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar},
    eips::{
        eip2718::{Decodable2718, Eip2718Error, Encodable2718},
        eip4844::BlobTransactionSidecar,
        eip7594::BlobTransactionSidecarVariant,
    },
};

/// A decoded pooled transaction: the transaction as blocks carry it, and the sidecar of a
/// blob transaction sent in network form.
#[derive(Debug, Clone)]
pub struct PooledTransaction {
    /// The transaction (a blob transaction without its sidecar).
    pub tx: TxEnvelope,
    /// The blob sidecar, when the transaction came in network form.
    pub sidecar: Option<BlobTransactionSidecar>,
}

impl PooledTransaction {
    /// Decodes `raw` (all of it). A blob transaction may come with a version-0 sidecar or
    /// without one; the caller decides whether a missing sidecar is acceptable.
    ///
    /// # Errors
    ///
    /// Bytes that are not one transaction, trailing bytes, or an EIP-7594 sidecar.
    pub fn decode(raw: &[u8]) -> Result<Self, Eip2718Error> {
        let mut buf = raw;
        let decoded = if raw.first() == Some(&3) {
            match alloy::consensus::TxEnvelope::decode_2718(&mut buf)? {
                alloy::consensus::TxEnvelope::Eip4844(signed) => {
                    let (variant, signature, hash) = signed.into_parts();
                    let (tx, sidecar) = match variant {
                        TxEip4844Variant::TxEip4844(tx) => (tx, None),
                        TxEip4844Variant::TxEip4844WithSidecar(with) => {
                            let (tx, sidecar) = with.into_parts();
                            match sidecar {
                                BlobTransactionSidecarVariant::Eip4844(sidecar) => {
                                    (tx, Some(sidecar))
                                }
                                BlobTransactionSidecarVariant::Eip7594(_) => {
                                    return Err(alloy::rlp::Error::Custom(
                                        "cell-proof blob sidecars (EIP-7594) are not taken \
                                         before Osaka",
                                    )
                                    .into());
                                }
                            }
                        }
                    };
                    Self {
                        tx: TxEnvelope::Eip4844(Signed::new_unchecked(tx, signature, hash)),
                        sidecar,
                    }
                }
                _ => return Err(Eip2718Error::UnexpectedType(3)),
            }
        } else {
            Self { tx: TxEnvelope::decode_2718(&mut buf)?, sidecar: None }
        };
        if !buf.is_empty() {
            return Err(alloy::rlp::Error::Custom("trailing bytes after the transaction").into());
        }
        Ok(decoded)
    }

    /// The pooled encoding: the EIP-2718 bytes, with the sidecar for a blob transaction that
    /// has one.
    pub fn encode(&self) -> Vec<u8> {
        match (&self.tx, &self.sidecar) {
            (TxEnvelope::Eip4844(signed), Some(sidecar)) => {
                network_blob_tx(signed, sidecar.clone()).encoded_2718()
            }
            (tx, _) => tx.encoded_2718(),
        }
    }
}

/// `signed` with `sidecar` as alloy's envelope, which encodes the network form.
fn network_blob_tx(
    signed: &Signed<TxEip4844>,
    sidecar: BlobTransactionSidecar,
) -> alloy::consensus::TxEnvelope {
    let with = TxEip4844WithSidecar::from_tx_and_sidecar(
        signed.tx().clone(),
        BlobTransactionSidecarVariant::Eip4844(sidecar),
    );
    alloy::consensus::TxEnvelope::Eip4844(Signed::new_unchecked(
        TxEip4844Variant::TxEip4844WithSidecar(with),
        *signed.signature(),
        *signed.hash(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::SignableTransaction,
        eips::eip4844::{Blob, Bytes48},
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{Address, B256};

    fn blob_tx() -> Signed<TxEip4844> {
        let key = PrivateKeySigner::random();
        let mut tx = TxEip4844 {
            chain_id: 900,
            to: Address::repeat_byte(1),
            gas_limit: 21_000,
            max_fee_per_gas: 10,
            blob_versioned_hashes: vec![B256::repeat_byte(1)],
            max_fee_per_blob_gas: 1,
            ..Default::default()
        };
        let signature = key.sign_transaction_sync(&mut tx).unwrap();
        tx.into_signed(signature)
    }

    /// A blob transaction with its sidecar round-trips through the network form, keeps the
    /// hash of the form without it, and decodes without one too; other bytes are refused.
    #[test]
    fn the_network_form_carries_the_sidecar_and_not_the_hash() {
        let signed = blob_tx();
        let sidecar = BlobTransactionSidecar::new(
            vec![Blob::repeat_byte(7)],
            vec![Bytes48::repeat_byte(8)],
            vec![Bytes48::repeat_byte(9)],
        );
        let pooled = PooledTransaction {
            tx: TxEnvelope::Eip4844(signed.clone()),
            sidecar: Some(sidecar.clone()),
        };
        let raw = pooled.encode();
        assert!(raw.len() > 131_072);
        let back = PooledTransaction::decode(&raw).unwrap();
        assert_eq!(back.tx.tx_hash(), *signed.hash());
        assert_eq!(back.sidecar.as_ref(), Some(&sidecar));
        assert_eq!(back.encode(), raw);

        let bare = TxEnvelope::Eip4844(signed.clone()).encoded_2718();
        let back = PooledTransaction::decode(&bare).unwrap();
        assert!(back.sidecar.is_none());
        assert_eq!(back.tx.tx_hash(), *signed.hash());
        assert_eq!(back.encode(), bare);

        let mut trailing = raw.clone();
        trailing.push(0);
        assert!(PooledTransaction::decode(&trailing).is_err());
        assert!(PooledTransaction::decode(&raw[..raw.len() - 1]).is_err());
        assert!(PooledTransaction::decode(&[]).is_err());
    }
}
