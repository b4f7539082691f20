//! Test transactions for the span-batch tests: random ones of every supported type, and
//! really signed ones.

use alloy::{
    consensus::{SignableTransaction, Signed, TxEip1559, TxEip2930, TxEip7702, TxLegacy},
    eips::{
        eip2718::Encodable2718,
        eip2930::{AccessList, AccessListItem},
        eip7702::{Authorization, SignedAuthorization},
    },
    signers::{SignerSync, local::PrivateKeySigner},
};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use op_alloy::consensus::OpTxEnvelope;
use proptest::{collection::vec, prelude::*};

/// The chain the test transactions are signed for.
pub(crate) const CHAIN_ID: u64 = 42_069;

fn arb_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        any::<u64>().prop_map(U256::from),
        any::<[u64; 4]>().prop_map(U256::from_limbs),
    ]
}

fn arb_access_list() -> impl Strategy<Value = AccessList> {
    vec((any::<[u8; 20]>(), vec(any::<[u8; 32]>(), 0..3)), 0..3).prop_map(|items| {
        AccessList(
            items
                .into_iter()
                .map(|(address, keys)| AccessListItem {
                    address: Address::from(address),
                    storage_keys: keys.into_iter().map(B256::from).collect(),
                })
                .collect(),
        )
    })
}

fn arb_authorizations() -> impl Strategy<Value = Vec<SignedAuthorization>> {
    vec((arb_u256(), any::<[u8; 20]>(), any::<u64>(), 0u8..2, arb_u256(), arb_u256()), 0..3)
        .prop_map(|auths| {
            auths
                .into_iter()
                .map(|(chain_id, address, nonce, y_parity, r, s)| {
                    let inner = Authorization { chain_id, address: address.into(), nonce };
                    SignedAuthorization::new_unchecked(inner, y_parity, r, s)
                })
                .collect()
        })
}

/// Fields every transaction type has.
#[derive(Debug, Clone)]
struct Common {
    nonce: u64,
    gas: u64,
    value: U256,
    input: Bytes,
    to: Option<Address>,
    signature: Signature,
}

fn arb_common() -> impl Strategy<Value = Common> {
    (
        any::<u64>(),
        any::<u64>(),
        arb_u256(),
        vec(any::<u8>(), 0..80),
        proptest::option::of(any::<[u8; 20]>()),
        (arb_u256(), arb_u256(), any::<bool>()),
    )
        .prop_map(|(nonce, gas, value, input, to, (r, s, parity))| Common {
            nonce,
            gas,
            value,
            input: input.into(),
            to: to.map(Address::from),
            signature: Signature::new(r, s, parity),
        })
}

/// A transaction of a random supported type for [`CHAIN_ID`], with a random (not valid)
/// signature: the codec does not recover senders.
pub(crate) fn arb_tx() -> impl Strategy<Value = Bytes> {
    let kind = |to: Option<Address>| to.map_or(TxKind::Create, TxKind::Call);
    let encode = |envelope: OpTxEnvelope| Bytes::from(envelope.encoded_2718());
    prop_oneof![
        (arb_common(), any::<u128>(), any::<bool>()).prop_map(move |(c, gas_price, protected)| {
            let tx = TxLegacy {
                chain_id: protected.then_some(CHAIN_ID),
                nonce: c.nonce,
                gas_price,
                gas_limit: c.gas,
                to: kind(c.to),
                value: c.value,
                input: c.input,
            };
            encode(Signed::new_unhashed(tx, c.signature).into())
        }),
        (arb_common(), any::<u128>(), arb_access_list()).prop_map(
            move |(c, gas_price, access_list)| {
                let tx = TxEip2930 {
                    chain_id: CHAIN_ID,
                    nonce: c.nonce,
                    gas_price,
                    gas_limit: c.gas,
                    to: kind(c.to),
                    value: c.value,
                    access_list,
                    input: c.input,
                };
                encode(Signed::new_unhashed(tx, c.signature).into())
            }
        ),
        (arb_common(), any::<u128>(), any::<u128>(), arb_access_list()).prop_map(
            move |(c, max_priority_fee_per_gas, max_fee_per_gas, access_list)| {
                let tx = TxEip1559 {
                    chain_id: CHAIN_ID,
                    nonce: c.nonce,
                    gas_limit: c.gas,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to: kind(c.to),
                    value: c.value,
                    access_list,
                    input: c.input,
                };
                encode(Signed::new_unhashed(tx, c.signature).into())
            }
        ),
        (
            arb_common(),
            any::<u128>(),
            any::<u128>(),
            arb_access_list(),
            arb_authorizations(),
            any::<[u8; 20]>()
        )
            .prop_map(
                move |(c, tip, max_fee_per_gas, access_list, authorization_list, to)| {
                    let tx = TxEip7702 {
                        chain_id: CHAIN_ID,
                        nonce: c.nonce,
                        gas_limit: c.gas,
                        max_fee_per_gas,
                        max_priority_fee_per_gas: tip,
                        to: c.to.unwrap_or(Address::from(to)),
                        value: c.value,
                        access_list,
                        authorization_list,
                        input: c.input,
                    };
                    encode(Signed::new_unhashed(tx, c.signature).into())
                }
            ),
    ]
}

/// The key the really signed test transactions come from.
pub(crate) fn test_key() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap()
}

fn sign<T: SignableTransaction<Signature>>(key: &PrivateKeySigner, tx: T) -> Signed<T> {
    let signature = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    tx.into_signed(signature)
}

/// One really signed transaction of every supported kind: protected and unprotected
/// legacy, 2930, 1559 and 7702, calls and contract creations.
pub(crate) fn signed_txs() -> Vec<Bytes> {
    let key = test_key();
    let to = TxKind::Call(Address::repeat_byte(0xaa));
    let access_list = AccessList(vec![AccessListItem {
        address: Address::repeat_byte(0xbb),
        storage_keys: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
    }]);
    let legacy = |nonce, chain_id, to| TxLegacy {
        chain_id,
        nonce,
        gas_price: 1_000_000_007,
        gas_limit: 21_000,
        to,
        value: U256::from(nonce * 1_000),
        input: Bytes::from(vec![nonce as u8; nonce as usize]),
    };
    let eip1559 = |nonce, to| TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000,
        to,
        value: U256::from(7),
        access_list: access_list.clone(),
        input: Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]),
    };
    let authorization = {
        let auth = Authorization {
            chain_id: U256::from(CHAIN_ID),
            address: Address::repeat_byte(0xcc),
            nonce: 9,
        };
        let signature = key.sign_hash_sync(&auth.signature_hash()).unwrap();
        auth.into_signed(signature)
    };
    let envelopes: Vec<OpTxEnvelope> = vec![
        sign(&key, legacy(0, Some(CHAIN_ID), to)).into(),
        sign(&key, legacy(1, None, to)).into(),
        sign(&key, legacy(2, Some(CHAIN_ID), TxKind::Create)).into(),
        sign(&key, legacy(3, None, TxKind::Create)).into(),
        sign(
            &key,
            TxEip2930 {
                chain_id: CHAIN_ID,
                nonce: 4,
                gas_price: 5,
                gas_limit: 60_000,
                to,
                value: U256::ZERO,
                access_list: access_list.clone(),
                input: Bytes::new(),
            },
        )
        .into(),
        sign(&key, eip1559(5, to)).into(),
        sign(&key, eip1559(6, TxKind::Create)).into(),
        sign(
            &key,
            TxEip7702 {
                chain_id: CHAIN_ID,
                nonce: 7,
                gas_limit: 80_000,
                max_fee_per_gas: 3,
                max_priority_fee_per_gas: 2,
                to: Address::repeat_byte(0xdd),
                value: U256::from(1),
                access_list: AccessList::default(),
                authorization_list: vec![authorization],
                input: Bytes::from_static(b"hi"),
            },
        )
        .into(),
    ];
    envelopes.into_iter().map(|envelope| envelope.encoded_2718().into()).collect()
}
