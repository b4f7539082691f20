//! Blob transactions (EIP-4844) for the batch poster: payloads OP-encoded into blobs
//! (`tributary_protocol::encode_blob`), a sidecar with the KZG commitment and proof of each
//! (c-kzg with Ethereum's trusted setup), and the signed type-3 transaction in its network form
//! (with the sidecar), as `eth_sendRawTransaction` takes it.

use crate::SignedTx;
use alloy::{
    consensus::{
        SignableTransaction, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar, TxEnvelope,
    },
    eips::{
        eip2718::Encodable2718,
        eip4844::{Blob, BlobTransactionSidecar, env_settings::EnvKzgSettings},
        eip7594::BlobTransactionSidecarVariant,
    },
    network::TxSignerSync,
};
use alloy_primitives::{Address, Bytes, U256};

/// Blobs one transaction may carry at most (Prague's per-block maximum target is 6; op-batcher's
/// `--target-num-frames` for blobs).
pub const MAX_BLOBS_PER_TX: usize = 6;

/// Why a blob transaction could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BlobTxError {
    /// A payload does not fit one blob.
    #[error(transparent)]
    Encoding(#[from] tributary_protocol::BlobError),
    /// No payload, or more than [`MAX_BLOBS_PER_TX`].
    #[error("a blob transaction carries 1 to {MAX_BLOBS_PER_TX} blobs, not {0}")]
    BlobCount(usize),
    /// Computing a KZG commitment or proof failed.
    #[error("KZG: {0}")]
    Kzg(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(#[from] alloy::signers::Error),
}

/// Fields of a blob transaction the caller chooses.
#[derive(Debug, Clone)]
pub struct BlobTxFields {
    /// Chain id.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Recipient (a blob transaction cannot create a contract).
    pub to: Address,
    /// Gas limit.
    pub gas_limit: u64,
    /// Max fee per gas.
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas.
    pub max_priority_fee_per_gas: u128,
    /// Max fee per blob gas.
    pub max_fee_per_blob_gas: u128,
    /// The data, one blob each.
    pub payloads: Vec<Bytes>,
}

/// The sidecar of `payloads`, each OP-encoded into one blob, with real KZG commitments and
/// proofs.
///
/// # Errors
///
/// A payload too large for a blob; a KZG failure.
pub fn blob_sidecar(payloads: &[impl AsRef<[u8]>]) -> Result<BlobTransactionSidecar, BlobTxError> {
    // Filled in place: a blob is 128 KiB, too big to move around on the stack.
    let mut blobs = vec![Blob::ZERO; payloads.len()];
    for (blob, data) in blobs.iter_mut().zip(payloads) {
        let encoded = tributary_protocol::encode_blob(data.as_ref())?;
        blob.as_mut_slice().copy_from_slice(encoded.as_slice());
    }
    BlobTransactionSidecar::try_from_blobs_with_settings(blobs, EnvKzgSettings::Default.get())
        .map_err(|err| BlobTxError::Kzg(err.to_string()))
}

/// Signs a type-3 transaction carrying `fields.payloads` in blobs (no calldata).
///
/// # Errors
///
/// See [`BlobTxError`].
pub fn sign_blob_tx(
    signer: &alloy::signers::local::PrivateKeySigner,
    fields: BlobTxFields,
) -> Result<SignedTx, BlobTxError> {
    if fields.payloads.is_empty() || fields.payloads.len() > MAX_BLOBS_PER_TX {
        return Err(BlobTxError::BlobCount(fields.payloads.len()));
    }
    let sidecar = blob_sidecar(&fields.payloads)?;
    let mut tx = TxEip4844 {
        chain_id: fields.chain_id,
        nonce: fields.nonce,
        gas_limit: fields.gas_limit,
        max_fee_per_gas: fields.max_fee_per_gas,
        max_priority_fee_per_gas: fields.max_priority_fee_per_gas,
        to: fields.to,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: sidecar.versioned_hashes().collect(),
        max_fee_per_blob_gas: fields.max_fee_per_blob_gas,
        input: Bytes::new(),
    };
    let signature = signer.sign_transaction_sync(&mut tx)?;
    let with_sidecar = TxEip4844WithSidecar::from_tx_and_sidecar(
        tx,
        BlobTransactionSidecarVariant::Eip4844(sidecar),
    );
    let envelope = TxEnvelope::Eip4844(
        TxEip4844Variant::TxEip4844WithSidecar(with_sidecar).into_signed(signature),
    );
    Ok(SignedTx { hash: *envelope.tx_hash(), raw: envelope.encoded_2718().into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{Transaction, transaction::SignerRecoverable},
        eips::eip2718::Decodable2718,
        signers::local::PrivateKeySigner,
    };

    fn fields(payloads: Vec<Bytes>) -> BlobTxFields {
        BlobTxFields {
            chain_id: 900,
            nonce: 3,
            to: Address::repeat_byte(0xff),
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            max_fee_per_blob_gas: 1_000_000_000,
            payloads,
        }
    }

    /// The signed transaction decodes as a pooled type-3 transaction from the signer, naming
    /// each blob by its commitment's versioned hash; each blob verifies against its commitment
    /// and decodes back to its payload; the hash is the transaction's without the sidecar.
    #[test]
    fn a_blob_transaction_carries_each_payload_in_a_verified_blob() {
        let key = PrivateKeySigner::random();
        let payloads: Vec<Bytes> = vec![vec![0u8, 1, 2, 3].into(), vec![7u8; 130_044].into()];
        let signed = sign_blob_tx(&key, fields(payloads.clone())).unwrap();
        let pooled = TxEnvelope::decode_2718(&mut signed.raw.as_ref()).unwrap();
        assert_eq!(*pooled.tx_hash(), signed.hash);
        assert_eq!(pooled.recover_signer().unwrap(), key.address());
        assert_eq!(pooled.to(), Some(Address::repeat_byte(0xff)));
        assert!(pooled.input().is_empty());
        let TxEnvelope::Eip4844(signed_tx) = &pooled else { panic!("type 3: {pooled:?}") };
        let TxEip4844Variant::TxEip4844WithSidecar(tx) = signed_tx.tx() else {
            panic!("the network form carries the sidecar")
        };
        let sidecar = tx.sidecar.as_eip4844().unwrap();
        let hashes: Vec<_> = sidecar.versioned_hashes().collect();
        assert_eq!(tx.tx.blob_versioned_hashes, hashes);
        for (item, payload) in sidecar.clone().into_iter().zip(&payloads) {
            let served = crate::BlobSidecar {
                index: item.index,
                blob: Bytes::copy_from_slice(item.blob.as_slice()),
                kzg_commitment: Bytes::copy_from_slice(item.kzg_commitment.as_slice()),
                kzg_proof: Bytes::copy_from_slice(item.kzg_proof.as_slice()),
            };
            assert!(served.verifies());
            assert_eq!(tributary_protocol::decode_blob(&served.blob).unwrap(), payload.as_ref());
        }
    }

    /// No blob, too many blobs, or a payload past a blob's capacity is refused.
    #[test]
    fn blob_counts_and_sizes_are_bounded() {
        let key = PrivateKeySigner::random();
        assert!(matches!(sign_blob_tx(&key, fields(vec![])), Err(BlobTxError::BlobCount(0))));
        let seven = vec![Bytes::from_static(b"x"); MAX_BLOBS_PER_TX + 1];
        assert!(matches!(sign_blob_tx(&key, fields(seven)), Err(BlobTxError::BlobCount(7))));
        let big = vec![Bytes::from(vec![1u8; 130_045])];
        assert!(matches!(sign_blob_tx(&key, fields(big)), Err(BlobTxError::Encoding(_))));
    }
}
