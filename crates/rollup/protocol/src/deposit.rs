//! User deposits: the portal's `TransactionDeposited` logs turned into deposit transactions.
//!
//! `event TransactionDeposited(address indexed from, address indexed to, uint256 indexed
//! version, bytes opaqueData)`, version 0, where `opaqueData` is
//! `abi.encodePacked(uint256 mint, uint256 value, uint64 gasLimit, bool isCreation, bytes data)`.
//! The portal emits `from` already aliased when the sender is a contract
//! ([`apply_l1_to_l2_alias`]). A user deposit's source hash is domain 0 over the L1 block hash
//! and the log's index in that block.

use alloy_primitives::{Address, B256, Bytes, Log, TxKind, U256, b256, keccak256};
use op_alloy::consensus::TxDeposit;

/// `keccak256("TransactionDeposited(address,address,uint256,bytes)")`.
pub const TRANSACTION_DEPOSITED_TOPIC: B256 =
    b256!("b3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32");

/// The offset added to a contract's address when it sends from L1.
pub const L1_TO_L2_ALIAS_OFFSET: Address =
    Address::new([0x11, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x11]);

/// A deposit log that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositError {
    /// Not a `TransactionDeposited` log, or the wrong number of topics.
    #[error("not a TransactionDeposited log")]
    NotADeposit,
    /// A version other than 0.
    #[error("unsupported deposit version {0}")]
    UnsupportedVersion(U256),
    /// `opaqueData` is malformed.
    #[error("malformed deposit data: {0}")]
    Malformed(&'static str),
}

/// `address + 0x1111000000000000000000000000000000001111`, wrapping, as the portal aliases a
/// contract sender.
pub fn apply_l1_to_l2_alias(address: Address) -> Address {
    let sum = U256::from_be_slice(address.as_slice())
        .wrapping_add(U256::from_be_slice(L1_TO_L2_ALIAS_OFFSET.as_slice()));
    Address::from_slice(&sum.to_be_bytes::<32>()[12..])
}

/// The source hash of the user deposit at `log_index` in L1 block `l1_block_hash`.
pub fn user_deposit_source_hash(l1_block_hash: B256, log_index: u64) -> B256 {
    let mut inner = [0u8; 64];
    inner[..32].copy_from_slice(l1_block_hash.as_slice());
    inner[56..].copy_from_slice(&log_index.to_be_bytes());
    let mut outer = [0u8; 64];
    outer[32..].copy_from_slice(keccak256(inner).as_slice());
    keccak256(outer)
}

/// The `opaqueData` of a deposit, as the portal packs it.
pub fn encode_opaque_data(
    mint: U256,
    value: U256,
    gas_limit: u64,
    is_creation: bool,
    data: &[u8],
) -> Bytes {
    let mut out = Vec::with_capacity(73 + data.len());
    out.extend_from_slice(&mint.to_be_bytes::<32>());
    out.extend_from_slice(&value.to_be_bytes::<32>());
    out.extend_from_slice(&gas_limit.to_be_bytes());
    out.push(is_creation as u8);
    out.extend_from_slice(data);
    out.into()
}

/// The deposit transaction a portal log asks for.
///
/// # Errors
///
/// A log of another kind, another version, or malformed `opaqueData`.
pub fn decode_deposit_log(
    log: &Log,
    l1_block_hash: B256,
    log_index: u64,
) -> Result<TxDeposit, DepositError> {
    let topics = log.topics();
    if topics.len() != 4 || topics[0] != TRANSACTION_DEPOSITED_TOPIC {
        return Err(DepositError::NotADeposit);
    }
    let from = Address::from_word(topics[1]);
    let to = Address::from_word(topics[2]);
    let version = U256::from_be_bytes(topics[3].0);
    if !version.is_zero() {
        return Err(DepositError::UnsupportedVersion(version));
    }
    // log data is the ABI encoding of `bytes opaqueData`: offset, length, bytes
    let data = &log.data.data;
    let word = |at: usize| data.get(at..at.checked_add(32)?).map(U256::from_be_slice);
    let offset: usize = word(0)
        .ok_or(DepositError::Malformed("missing offset"))?
        .try_into()
        .map_err(|_| DepositError::Malformed("offset"))?;
    let len: usize = word(offset)
        .ok_or(DepositError::Malformed("missing length"))?
        .try_into()
        .map_err(|_| DepositError::Malformed("length"))?;
    let start = offset.checked_add(32).ok_or(DepositError::Malformed("offset"))?;
    let opaque =
        data.get(start..start.saturating_add(len)).ok_or(DepositError::Malformed("truncated"))?;
    if opaque.len() < 73 {
        return Err(DepositError::Malformed("opaqueData shorter than 73 bytes"));
    }
    let mint = U256::from_be_slice(&opaque[..32]);
    let value = U256::from_be_slice(&opaque[32..64]);
    let gas_limit =
        u64::from_be_bytes(opaque[64..72].try_into().map_err(|_| DepositError::Malformed("gas"))?);
    let is_creation = match opaque[72] {
        0 => false,
        1 => true,
        _ => return Err(DepositError::Malformed("isCreation is not a bool")),
    };
    Ok(TxDeposit {
        source_hash: user_deposit_source_hash(l1_block_hash, log_index),
        from,
        to: if is_creation { TxKind::Create } else { TxKind::Call(to) },
        mint: mint.try_into().map_err(|_| DepositError::Malformed("mint above u128"))?,
        value,
        gas_limit,
        is_system_transaction: false,
        input: Bytes::copy_from_slice(&opaque[73..]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;
    use alloy_primitives::{LogData, address};
    use proptest::prelude::*;

    fn deposit_log(from: Address, to: Address, opaque: Bytes) -> Log {
        let topics =
            vec![TRANSACTION_DEPOSITED_TOPIC, from.into_word(), to.into_word(), B256::ZERO];
        let data = opaque.abi_encode();
        Log {
            address: Address::repeat_byte(0x99),
            data: LogData::new_unchecked(topics, data.into()),
        }
    }

    #[test]
    fn topic_is_the_event_signature() {
        assert_eq!(
            TRANSACTION_DEPOSITED_TOPIC,
            keccak256("TransactionDeposited(address,address,uint256,bytes)")
        );
    }

    /// Vectors published with an independent OP Stack implementation (viem's source-hash tests).
    #[test]
    fn source_hash_vectors() {
        let block = b256!("9ba3933dc6ce43c145349770a39c30f9b647f17668f004bd2e05c80a2e7262f7");
        assert_eq!(
            user_deposit_source_hash(block, 196),
            b256!("d0868c8764d81f1749edb7dec4a550966963540d9fe50aefce8cdb38ea7b2213")
        );
        let info = crate::L1BlockInfo { hash: block, sequence_number: 1, ..Default::default() };
        assert_eq!(
            info.source_hash(),
            b256!("722c43232e2f9dc07ebc07a02a3056993a2ed1328a1c81377ea99d135af39536")
        );
    }

    #[test]
    fn alias_wraps() {
        assert_eq!(
            apply_l1_to_l2_alias(address!("0000000000000000000000000000000000000001")),
            address!("1111000000000000000000000000000000001112")
        );
        assert_eq!(
            apply_l1_to_l2_alias(address!("ffffffffffffffffffffffffffffffffffffffff")),
            address!("1111000000000000000000000000000000001110")
        );
    }

    #[test]
    fn rejects_bad_logs() {
        let mut log = deposit_log(
            Address::ZERO,
            Address::ZERO,
            encode_opaque_data(U256::ZERO, U256::ZERO, 1, false, &[]),
        );
        assert!(decode_deposit_log(&log, B256::ZERO, 0).is_ok());
        let short = deposit_log(Address::ZERO, Address::ZERO, Bytes::from(vec![0; 72]));
        assert!(matches!(
            decode_deposit_log(&short, B256::ZERO, 0),
            Err(DepositError::Malformed(_))
        ));
        let mut topics = log.data.topics().to_vec();
        topics[3] = B256::with_last_byte(1);
        log.data = LogData::new_unchecked(topics, log.data.data.clone());
        assert!(matches!(
            decode_deposit_log(&log, B256::ZERO, 0),
            Err(DepositError::UnsupportedVersion(_))
        ));
        // an ABI offset near usize::MAX is malformed, not a panic
        let mut huge = vec![0xff; 32];
        huge.extend_from_slice(&[0; 64]);
        let topics = log.data.topics().to_vec();
        let mut topics0 = topics.clone();
        topics0[3] = B256::ZERO;
        let far =
            Log { address: Address::ZERO, data: LogData::new_unchecked(topics0, huge.into()) };
        assert!(matches!(decode_deposit_log(&far, B256::ZERO, 0), Err(DepositError::Malformed(_))));
        let other = Log {
            address: Address::ZERO,
            data: LogData::new_unchecked(vec![B256::ZERO], Bytes::new()),
        };
        assert_eq!(decode_deposit_log(&other, B256::ZERO, 0), Err(DepositError::NotADeposit));
    }

    proptest! {
        #[test]
        fn opaque_data_round_trips(
            mint in any::<u128>(),
            value in any::<u128>(),
            gas in any::<u64>(),
            create in any::<bool>(),
            data in proptest::collection::vec(any::<u8>(), 0..200),
            index in any::<u64>(),
        ) {
            let from = Address::repeat_byte(1);
            let to = Address::repeat_byte(2);
            let log = deposit_log(from, to, encode_opaque_data(U256::from(mint), U256::from(value), gas, create, &data));
            let tx = decode_deposit_log(&log, B256::repeat_byte(3), index).unwrap();
            prop_assert_eq!(tx.mint, mint);
            prop_assert_eq!(tx.value, U256::from(value));
            prop_assert_eq!(tx.gas_limit, gas);
            prop_assert_eq!(tx.to, if create { TxKind::Create } else { TxKind::Call(to) });
            prop_assert_eq!(tx.from, from);
            prop_assert_eq!(tx.input.to_vec(), data);
            prop_assert_eq!(tx.source_hash, user_deposit_source_hash(B256::repeat_byte(3), index));
        }
    }
}
