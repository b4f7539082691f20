//! The `txs` section of a span batch: signed transactions taken apart into columns, and put
//! back together byte for byte.
//!
//! ```text
//! txs = contract_creation_bits ++ y_parity_bits ++ tx_sigs ++ tx_tos ++ tx_datas
//!       ++ tx_nonces ++ tx_gases ++ protected_bits
//! ```
//!
//! `tx_datas` holds what the columns do not, RLP encoded after the EIP-2718 type byte (none for
//! legacy): `[value, gas_price, data]` (legacy), `[value, gas_price, data, access_list]` (2930),
//! `[value, max_priority_fee, max_fee, data, access_list]` (1559), and 1559's fields followed by
//! `authorization_list` (7702, from Isthmus). The chain id is the rollup's own, so it is left out,
//! and `v` is rebuilt from the y-parity bit, plus the protected bit for legacy transactions.

use crate::{
    MAX_SPAN_BATCH_ELEMENT_COUNT,
    span_batch::SpanBatchError,
    span_wire::{Reader, write_bitlist, write_uvarint},
};
use alloy::{
    consensus::{Signed, TxEip1559, TxEip2930, TxEip7702, TxLegacy},
    eips::{
        eip2718::{Decodable2718, Encodable2718, Typed2718},
        eip2930::AccessList,
        eip7702::SignedAuthorization,
    },
};
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_rlp::{Decodable, Encodable, Header};
use op_alloy::consensus::OpTxEnvelope;

/// The transaction types a span batch carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanTxType {
    Legacy,
    Eip2930,
    Eip1559,
    Eip7702,
}

/// Transactions split into the span-batch columns, ready to write.
#[derive(Debug, Default)]
pub(crate) struct TxColumns {
    creation: Vec<bool>,
    y_parity: Vec<bool>,
    sigs: Vec<u8>,
    tos: Vec<u8>,
    datas: Vec<u8>,
    nonces: Vec<u8>,
    gases: Vec<u8>,
    protected: Vec<bool>,
}

impl TxColumns {
    /// How many transactions are in.
    pub(crate) fn len(&self) -> usize {
        self.creation.len()
    }

    /// Splits one EIP-2718 transaction into the columns. `index` is its position in the batch,
    /// for errors.
    pub(crate) fn push(
        &mut self,
        index: usize,
        raw: &[u8],
        chain_id: u64,
    ) -> Result<(), SpanBatchError> {
        if raw.is_empty() {
            return Err(SpanBatchError::EmptyTransaction { index });
        }
        let envelope = OpTxEnvelope::decode_2718_exact(raw).map_err(|err| {
            SpanBatchError::MalformedTransaction { index, reason: err.to_string() }
        })?;
        // The batch rebuilds the canonical encoding; anything else would not survive the trip.
        if envelope.encoded_2718() != raw {
            return Err(SpanBatchError::NonCanonicalTransaction { index });
        }
        let check_chain = |found: u64| {
            if found == chain_id {
                Ok(())
            } else {
                Err(SpanBatchError::ChainIdMismatch { index, found })
            }
        };
        let (to, signature, nonce, gas) = match &envelope {
            OpTxEnvelope::Legacy(signed) => {
                let tx = signed.tx();
                if let Some(found) = tx.chain_id {
                    check_chain(found)?;
                }
                self.protected.push(tx.chain_id.is_some());
                write_rlp_list(&mut self.datas, &[&tx.value, &tx.gas_price, &tx.input]);
                (tx.to.to().copied(), signed.signature(), tx.nonce, tx.gas_limit)
            }
            OpTxEnvelope::Eip2930(signed) => {
                let tx = signed.tx();
                check_chain(tx.chain_id)?;
                self.datas.push(envelope.ty());
                write_rlp_list(
                    &mut self.datas,
                    &[&tx.value, &tx.gas_price, &tx.input, &tx.access_list],
                );
                (tx.to.to().copied(), signed.signature(), tx.nonce, tx.gas_limit)
            }
            OpTxEnvelope::Eip1559(signed) => {
                let tx = signed.tx();
                check_chain(tx.chain_id)?;
                self.datas.push(envelope.ty());
                write_rlp_list(
                    &mut self.datas,
                    &[
                        &tx.value,
                        &tx.max_priority_fee_per_gas,
                        &tx.max_fee_per_gas,
                        &tx.input,
                        &tx.access_list,
                    ],
                );
                (tx.to.to().copied(), signed.signature(), tx.nonce, tx.gas_limit)
            }
            OpTxEnvelope::Eip7702(signed) => {
                let tx = signed.tx();
                check_chain(tx.chain_id)?;
                self.datas.push(envelope.ty());
                write_rlp_list(
                    &mut self.datas,
                    &[
                        &tx.value,
                        &tx.max_priority_fee_per_gas,
                        &tx.max_fee_per_gas,
                        &tx.input,
                        &tx.access_list,
                        &tx.authorization_list,
                    ],
                );
                (Some(tx.to), signed.signature(), tx.nonce, tx.gas_limit)
            }
            other => return Err(SpanBatchError::UnsupportedTxType { index, ty: other.ty() }),
        };
        self.creation.push(to.is_none());
        if let Some(to) = to {
            self.tos.extend_from_slice(to.as_slice());
        }
        self.y_parity.push(signature.v());
        self.sigs.extend_from_slice(&signature.r().to_be_bytes::<32>());
        self.sigs.extend_from_slice(&signature.s().to_be_bytes::<32>());
        write_uvarint(&mut self.nonces, nonce);
        write_uvarint(&mut self.gases, gas);
        Ok(())
    }

    /// Appends the `txs` section.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        write_bitlist(out, &self.creation);
        write_bitlist(out, &self.y_parity);
        out.extend_from_slice(&self.sigs);
        out.extend_from_slice(&self.tos);
        out.extend_from_slice(&self.datas);
        out.extend_from_slice(&self.nonces);
        out.extend_from_slice(&self.gases);
        write_bitlist(out, &self.protected);
    }
}

/// Reads a `txs` section of `count` transactions (at most [`MAX_SPAN_BATCH_ELEMENT_COUNT`],
/// checked by the caller) and rebuilds each as its EIP-2718 encoding.
pub(crate) fn read_txs(
    reader: &mut Reader<'_>,
    count: usize,
    chain_id: u64,
) -> Result<Vec<Bytes>, SpanBatchError> {
    let creation = reader.bitlist(count, "contract_creation_bits")?;
    let y_parity = reader.bitlist(count, "y_parity_bits")?;
    let sig_bytes = count.checked_mul(64).ok_or(SpanBatchError::Truncated("tx_sigs"))?;
    // From here on `count` is bounded by the input: every transaction took 64 bytes.
    let mut sigs = reader.take(sig_bytes, "tx_sigs")?.chunks_exact(64);
    let calls = count.saturating_sub(creation.count_ones());
    let to_bytes = calls.checked_mul(20).ok_or(SpanBatchError::Truncated("tx_tos"))?;
    let mut tos = reader.take(to_bytes, "tx_tos")?.chunks_exact(20);

    let mut datas = Vec::new();
    let mut legacy_count = 0usize;
    for index in 0..count {
        let (ty, payload) = read_tx_data(reader, index)?;
        if ty == SpanTxType::Legacy {
            legacy_count += 1;
        }
        datas.push((ty, payload));
    }
    let nonces = (0..count).map(|_| reader.uvarint("tx_nonces")).collect::<Result<Vec<_>, _>>()?;
    let gases = (0..count).map(|_| reader.uvarint("tx_gases")).collect::<Result<Vec<_>, _>>()?;
    let protected = reader.bitlist(legacy_count, "protected_bits")?;

    let mut out = Vec::with_capacity(count);
    let mut legacy_index = 0usize;
    for (index, ((ty, payload), (nonce, gas))) in
        datas.into_iter().zip(nonces.into_iter().zip(gases)).enumerate()
    {
        let to = if creation.get(index) {
            None
        } else {
            let to = tos.next().ok_or(SpanBatchError::Truncated("tx_tos"))?;
            Some(Address::from_slice(to))
        };
        let sig = sigs
            .next()
            .and_then(|sig| sig.split_first_chunk::<32>())
            .and_then(|(r, s)| Some((r, s.first_chunk::<32>()?)))
            .ok_or(SpanBatchError::Truncated("tx_sigs"))?;
        let signature = Signature::new(
            U256::from_be_bytes(*sig.0),
            U256::from_be_bytes(*sig.1),
            y_parity.get(index),
        );
        let protected_bit = if ty == SpanTxType::Legacy {
            let bit = protected.get(legacy_index);
            legacy_index += 1;
            bit
        } else {
            true
        };
        let parts = TxParts { to, signature, nonce, gas, protected: protected_bit, chain_id };
        out.push(Bytes::from(parts.rebuild(index, ty, payload)?.encoded_2718()));
    }
    Ok(out)
}

/// One `tx_datas` entry: the type and the RLP list's payload. op-node reads it through an RLP
/// stream limited to [`MAX_SPAN_BATCH_ELEMENT_COUNT`] bytes, so longer ones are rejected too.
fn read_tx_data<'a>(
    reader: &mut Reader<'a>,
    index: usize,
) -> Result<(SpanTxType, &'a [u8]), SpanBatchError> {
    const SECTION: &str = "tx_datas";
    let rest = reader.rest();
    let first = *rest.first().ok_or(SpanBatchError::Truncated(SECTION))?;
    let (ty, type_len) = match first {
        0x01 => (SpanTxType::Eip2930, 1),
        0x02 => (SpanTxType::Eip1559, 1),
        0x04 => (SpanTxType::Eip7702, 1),
        ty @ 0x00..=0x7f => return Err(SpanBatchError::UnsupportedTxType { index, ty }),
        _ => (SpanTxType::Legacy, 0),
    };
    let mut list = rest.get(type_len..).unwrap_or_default();
    let before = list.len();
    let header = Header::decode(&mut list).map_err(|err| match err {
        alloy_rlp::Error::InputTooShort => SpanBatchError::Truncated(SECTION),
        err => SpanBatchError::MalformedTransaction { index, reason: err.to_string() },
    })?;
    if !header.list {
        return Err(SpanBatchError::MalformedTransaction {
            index,
            reason: "tx_data is not an RLP list".into(),
        });
    }
    // `list` is a suffix of what it was, so this cannot underflow
    let header_len = before.saturating_sub(list.len());
    let item_len = header_len
        .checked_add(header.payload_length)
        .filter(|len| *len <= MAX_SPAN_BATCH_ELEMENT_COUNT as usize)
        .ok_or(SpanBatchError::TxDataTooLarge { index })?;
    // both at most MAX_SPAN_BATCH_ELEMENT_COUNT + 1
    let item = reader.take(type_len + item_len, SECTION)?;
    Ok((ty, item.get(type_len + header_len..).unwrap_or_default()))
}

/// The column values of one transaction.
struct TxParts {
    to: Option<Address>,
    signature: Signature,
    nonce: u64,
    gas: u64,
    /// EIP-155 protection; only read for legacy transactions.
    protected: bool,
    chain_id: u64,
}

impl TxParts {
    /// The signed transaction, from these values and its `tx_data` list payload.
    fn rebuild(
        self,
        index: usize,
        ty: SpanTxType,
        payload: &[u8],
    ) -> Result<OpTxEnvelope, SpanBatchError> {
        let bad = |err: alloy_rlp::Error| SpanBatchError::MalformedTransaction {
            index,
            reason: err.to_string(),
        };
        let mut buf = payload;
        let kind = self.to.map_or(TxKind::Create, TxKind::Call);
        let envelope = match ty {
            SpanTxType::Legacy => {
                let value = U256::decode(&mut buf).map_err(bad)?;
                let gas_price = u128::decode(&mut buf).map_err(bad)?;
                let input = Bytes::decode(&mut buf).map_err(bad)?;
                let tx = TxLegacy {
                    chain_id: self.protected.then_some(self.chain_id),
                    nonce: self.nonce,
                    gas_price,
                    gas_limit: self.gas,
                    to: kind,
                    value,
                    input,
                };
                OpTxEnvelope::Legacy(Signed::new_unhashed(tx, self.signature))
            }
            SpanTxType::Eip2930 => {
                let value = U256::decode(&mut buf).map_err(bad)?;
                let gas_price = u128::decode(&mut buf).map_err(bad)?;
                let input = Bytes::decode(&mut buf).map_err(bad)?;
                let access_list = AccessList::decode(&mut buf).map_err(bad)?;
                let tx = TxEip2930 {
                    chain_id: self.chain_id,
                    nonce: self.nonce,
                    gas_price,
                    gas_limit: self.gas,
                    to: kind,
                    value,
                    access_list,
                    input,
                };
                OpTxEnvelope::Eip2930(Signed::new_unhashed(tx, self.signature))
            }
            SpanTxType::Eip1559 => {
                let value = U256::decode(&mut buf).map_err(bad)?;
                let max_priority_fee_per_gas = u128::decode(&mut buf).map_err(bad)?;
                let max_fee_per_gas = u128::decode(&mut buf).map_err(bad)?;
                let input = Bytes::decode(&mut buf).map_err(bad)?;
                let access_list = AccessList::decode(&mut buf).map_err(bad)?;
                let tx = TxEip1559 {
                    chain_id: self.chain_id,
                    nonce: self.nonce,
                    gas_limit: self.gas,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to: kind,
                    value,
                    access_list,
                    input,
                };
                OpTxEnvelope::Eip1559(Signed::new_unhashed(tx, self.signature))
            }
            SpanTxType::Eip7702 => {
                let to = self.to.ok_or(SpanBatchError::SetCodeCreate { index })?;
                let value = U256::decode(&mut buf).map_err(bad)?;
                let max_priority_fee_per_gas = u128::decode(&mut buf).map_err(bad)?;
                let max_fee_per_gas = u128::decode(&mut buf).map_err(bad)?;
                let input = Bytes::decode(&mut buf).map_err(bad)?;
                let access_list = AccessList::decode(&mut buf).map_err(bad)?;
                let authorization_list =
                    Vec::<SignedAuthorization>::decode(&mut buf).map_err(bad)?;
                let tx = TxEip7702 {
                    chain_id: self.chain_id,
                    nonce: self.nonce,
                    gas_limit: self.gas,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to,
                    value,
                    access_list,
                    authorization_list,
                    input,
                };
                OpTxEnvelope::Eip7702(Signed::new_unhashed(tx, self.signature))
            }
        };
        if !buf.is_empty() {
            return Err(SpanBatchError::MalformedTransaction {
                index,
                reason: format!("{} bytes after the tx_data fields", buf.len()),
            });
        }
        Ok(envelope)
    }
}

/// Appends `fields` as one RLP list.
fn write_rlp_list(out: &mut Vec<u8>, fields: &[&dyn Encodable]) {
    let payload_length = fields.iter().map(|field| field.length()).sum();
    Header { list: true, payload_length }.encode(out);
    for field in fields {
        field.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        span_batch::SpanBatchError as E,
        test_txs::{CHAIN_ID, arb_tx, signed_txs, test_key},
    };
    use alloy::consensus::transaction::SignerRecoverable;
    use alloy_primitives::keccak256;
    use proptest::{collection::vec, prelude::*};

    fn columns(txs: &[Bytes]) -> Result<Vec<u8>, SpanBatchError> {
        let mut columns = TxColumns::default();
        for tx in txs {
            columns.push(columns.len(), tx, CHAIN_ID)?;
        }
        let mut out = Vec::new();
        columns.write(&mut out);
        Ok(out)
    }

    fn read_all(data: &[u8], count: usize) -> Result<Vec<Bytes>, SpanBatchError> {
        let mut reader = Reader::new(data);
        let txs = read_txs(&mut reader, count, CHAIN_ID)?;
        assert!(reader.rest().is_empty(), "{} bytes left", reader.rest().len());
        Ok(txs)
    }

    #[test]
    fn real_transactions_keep_their_bytes_hashes_and_senders() {
        let txs = signed_txs();
        let decoded = read_all(&columns(&txs).unwrap(), txs.len()).unwrap();
        assert_eq!(decoded, txs);
        let sender = test_key().address();
        for (original, rebuilt) in txs.iter().zip(&decoded) {
            let envelope = OpTxEnvelope::decode_2718_exact(rebuilt).unwrap();
            assert_eq!(envelope.tx_hash(), keccak256(original));
            assert_eq!(envelope.recover_signer().unwrap(), sender);
        }
    }

    #[test]
    fn layout_follows_the_spec() {
        // An unprotected legacy contract creation, then a 1559 call.
        let legacy = Signed::new_unhashed(
            TxLegacy {
                chain_id: None,
                nonce: 300,
                gas_price: 7,
                gas_limit: 21_000,
                to: TxKind::Create,
                value: U256::from(1),
                input: Bytes::from_static(&[0xab]),
            },
            Signature::new(U256::from(0x0102), U256::from(0x0304), true),
        );
        let eip1559 = Signed::new_unhashed(
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: 1,
                gas_limit: 2,
                max_fee_per_gas: 4,
                max_priority_fee_per_gas: 3,
                to: TxKind::Call(Address::repeat_byte(0xee)),
                value: U256::ZERO,
                access_list: AccessList::default(),
                input: Bytes::new(),
            },
            Signature::new(U256::from(5), U256::from(6), false),
        );
        let txs: Vec<Bytes> = [OpTxEnvelope::from(legacy), eip1559.into()]
            .iter()
            .map(|envelope| envelope.encoded_2718().into())
            .collect();

        let mut expected = vec![
            0b01, // contract_creation_bits: tx 0 creates
            0b01, // y_parity_bits: tx 0 odd
        ];
        for word in [0x0102u64, 0x0304, 5, 6] {
            expected.extend_from_slice(&U256::from(word).to_be_bytes::<32>());
        }
        expected.extend_from_slice(&[0xee; 20]); // tx_tos: only tx 1's
        expected.extend_from_slice(&[0xc4, 0x01, 0x07, 0x81, 0xab]); // [value, gas_price, data]
        expected.extend_from_slice(&[0x02, 0xc5, 0x80, 0x03, 0x04, 0x80, 0xc0]); // 1559 fields
        expected.extend_from_slice(&[0xac, 0x02, 0x01]); // tx_nonces: 300, 1
        expected.extend_from_slice(&[0x88, 0xa4, 0x01, 0x02]); // tx_gases: 21000, 2
        expected.push(0b0); // protected_bits: one legacy tx, unprotected
        assert_eq!(columns(&txs).unwrap(), expected);
        assert_eq!(read_all(&expected, 2).unwrap(), txs);
    }

    #[test]
    fn refuses_transactions_it_cannot_rebuild() {
        let deposit = OpTxEnvelope::from(op_alloy::consensus::TxDeposit::default());
        let other_chain: OpTxEnvelope = Signed::new_unhashed(
            TxEip1559 { chain_id: CHAIN_ID + 1, ..Default::default() },
            Signature::test_signature(),
        )
        .into();
        let other_legacy: OpTxEnvelope = Signed::new_unhashed(
            TxLegacy { chain_id: Some(1), ..Default::default() },
            Signature::test_signature(),
        )
        .into();
        let blob = [vec![0x03], vec![0xc0]].concat();
        for (raw, expected) in [
            (Vec::new(), E::EmptyTransaction { index: 0 }),
            (deposit.encoded_2718(), E::UnsupportedTxType { index: 0, ty: 0x7e }),
            (other_chain.encoded_2718(), E::ChainIdMismatch { index: 0, found: CHAIN_ID + 1 }),
            (other_legacy.encoded_2718(), E::ChainIdMismatch { index: 0, found: 1 }),
        ] {
            assert_eq!(columns(&[raw.into()]), Err(expected));
        }
        for raw in [blob, vec![0xc0], vec![0x02, 0xc0], signed_txs()[0].to_vec()[1..].to_vec()] {
            assert!(matches!(
                columns(&[raw.into()]),
                Err(E::MalformedTransaction { index: 0, .. })
            ),);
        }
    }

    /// The columns of one call with the given `tx_data` and, for legacy ones, protected bit.
    fn one_call(tx_data: &[u8], creation: bool, protected: Option<bool>) -> Vec<u8> {
        let mut out = vec![u8::from(creation), 0];
        out.extend_from_slice(&[0; 64]);
        if !creation {
            out.extend_from_slice(&[0x11; 20]);
        }
        out.extend_from_slice(tx_data);
        out.extend_from_slice(&[0, 0]);
        out.extend(protected.map(u8::from));
        out
    }

    #[test]
    fn rejects_bad_tx_datas() {
        // the minimal valid 1559 call and legacy call decode
        let eip1559 = [0x02, 0xc5, 0x80, 0x80, 0x80, 0x80, 0xc0];
        let legacy = [0xc3, 0x80, 0x80, 0x80];
        assert!(read_all(&one_call(&eip1559, false, None), 1).is_ok());
        assert!(read_all(&one_call(&legacy, false, Some(true)), 1).is_ok());

        let unsupported = |ty| E::UnsupportedTxType { index: 0, ty };
        for (data, err) in [
            (vec![0x00, 0xc0], unsupported(0)),
            (vec![0x03, 0xc0], unsupported(3)),
            (vec![0x7e, 0xc0], unsupported(0x7e)),
            (vec![0x7f, 0xc0], unsupported(0x7f)),
        ] {
            assert_eq!(read_all(&one_call(&data, false, None), 1), Err(err));
        }
        for data in [
            vec![0x83, 0x80, 0x80, 0x80], // legacy fields as a string
            vec![0x02, 0x85, 0x80, 0x80, 0x80, 0x80, 0xc0], // 1559 fields as a string
            vec![0xc4, 0x80, 0x80, 0x80, 0x80], // one field too many
            vec![0xc2, 0x80, 0x80],       // one field too few
            vec![0xc4, 0x80, 0x80, 0x81, 0x05], // non-canonical single byte
            vec![0xc5, 0x82, 0x00, 0x01, 0x80, 0x80], // value with a leading zero
        ] {
            let result = read_all(&one_call(&data, false, Some(false)), 1);
            assert!(matches!(result, Err(E::MalformedTransaction { index: 0, .. })), "{data:02x?}");
        }
        // a 7702 creation
        let eip7702 = [0x04, 0xc6, 0x80, 0x80, 0x80, 0x80, 0xc0, 0xc0];
        assert!(read_all(&one_call(&eip7702, false, None), 1).is_ok());
        assert_eq!(
            read_all(&one_call(&eip7702, true, None), 1),
            Err(E::SetCodeCreate { index: 0 })
        );
        // a tx_data claiming more than the limit, and one claiming more than there is
        let mut huge = vec![0xfa, 0x98, 0x96, 0x80]; // a list of 10_000_000 bytes, plus header
        huge.resize(4 + 10_000_000, 0x80);
        assert_eq!(read_all(&one_call(&huge, false, None), 1), Err(E::TxDataTooLarge { index: 0 }));
        let short = [0xf8, 0x40, 0x80];
        assert_eq!(read_all(&one_call(&short, false, None), 1), Err(E::Truncated("tx_datas")));
        // contract_creation_bits with a bit past the single transaction
        let mut stray = one_call(&legacy, false, Some(true));
        stray[0] = 0b10;
        assert_eq!(read_all(&stray, 1), Err(E::BadBitlist("contract_creation_bits")));
        // a protected bit past the single legacy transaction
        let stray = one_call(&legacy, false, Some(false)).into_iter().rev().skip(1).rev();
        let stray: Vec<u8> = stray.chain([0b10]).collect();
        assert_eq!(read_all(&stray, 1), Err(E::BadBitlist("protected_bits")));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let txs = signed_txs();
        let data = columns(&txs).unwrap();
        for cut in 0..data.len() {
            let mut reader = Reader::new(&data[..cut]);
            assert!(read_txs(&mut reader, txs.len(), CHAIN_ID).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn columns_round_trip(txs in vec(arb_tx(), 0..24)) {
            let data = columns(&txs).unwrap();
            prop_assert_eq!(read_all(&data, txs.len()).unwrap(), txs);
        }

        #[test]
        fn garbage_never_panics(data in vec(any::<u8>(), 0..400), count in 0usize..8) {
            let _ = read_txs(&mut Reader::new(&data), count, CHAIN_ID);
        }
    }
}
