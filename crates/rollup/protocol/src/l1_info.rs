use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use op_alloy::consensus::TxDeposit;

/// The L1Block predeploy.
pub const L1_BLOCK_ADDRESS: Address = address!("4200000000000000000000000000000000000015");

/// The sender of the L1 attributes deposit.
pub const L1_ATTRIBUTES_DEPOSITOR: Address = address!("deaddeaddeaddeaddeaddeaddeaddeaddead0001");

/// Gas limit of the L1 attributes deposit (Regolith and later).
pub const L1_INFO_DEPOSIT_GAS: u64 = 1_000_000;

/// The DA footprint scalar Jovian uses when the system config says zero.
pub const DEFAULT_DA_FOOTPRINT_GAS_SCALAR: u16 = 400;

const ECOTONE_SELECTOR: [u8; 4] = [0x44, 0x0a, 0x5e, 0x20];
const ISTHMUS_SELECTOR: [u8; 4] = [0x09, 0x89, 0x99, 0xbe];
const JOVIAN_SELECTOR: [u8; 4] = [0x3d, 0xb6, 0xbe, 0x2b];
const ECOTONE_LEN: usize = 4 + 160;
const ISTHMUS_LEN: usize = ECOTONE_LEN + 12;
const JOVIAN_LEN: usize = ISTHMUS_LEN + 2;

/// Which calldata layout an L1 attributes deposit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L1InfoFormat {
    /// Ecotone through Holocene.
    Ecotone,
    /// Isthmus: adds the operator fee.
    Isthmus,
    /// Jovian: adds the DA footprint scalar.
    Jovian,
}

impl L1InfoFormat {
    /// The format for a block given which forks are active at it and at its parent: a fork's
    /// activation block keeps the previous format.
    pub fn for_block(isthmus: (bool, bool), jovian: (bool, bool)) -> Self {
        let (isthmus_here, isthmus_parent) = isthmus;
        let (jovian_here, jovian_parent) = jovian;
        if jovian_here && jovian_parent {
            Self::Jovian
        } else if isthmus_here && isthmus_parent {
            Self::Isthmus
        } else {
            Self::Ecotone
        }
    }
}

/// The L1 values an L2 block commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct L1BlockInfo {
    /// L1 origin number.
    pub number: u64,
    /// L1 origin timestamp.
    pub timestamp: u64,
    /// L1 origin base fee.
    pub base_fee: U256,
    /// L1 origin hash.
    pub hash: B256,
    /// L2 blocks since the epoch started.
    pub sequence_number: u64,
    /// Batcher address, left-padded to 32 bytes.
    pub batcher_hash: B256,
    /// L1 blob base fee.
    pub blob_base_fee: U256,
    /// Scalar on the L1 base fee.
    pub base_fee_scalar: u32,
    /// Scalar on the L1 blob base fee.
    pub blob_base_fee_scalar: u32,
    /// Isthmus operator fee scalar.
    pub operator_fee_scalar: u32,
    /// Isthmus operator fee constant.
    pub operator_fee_constant: u64,
    /// Jovian DA footprint gas scalar.
    pub da_footprint_gas_scalar: u16,
}

/// L1 attributes calldata that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L1InfoError {
    /// Unknown selector.
    #[error("unknown L1 info selector {0:#010x}")]
    UnknownSelector(u32),
    /// Wrong length for the selector's format.
    #[error("L1 info calldata is {got} bytes, {format:?} needs {expected}")]
    BadLength {
        /// The format the selector names.
        format: L1InfoFormat,
        /// Bytes given.
        got: usize,
        /// Bytes required.
        expected: usize,
    },
    /// The block does not open with a deposit.
    #[error("first transaction is not the L1 attributes deposit")]
    NotADeposit,
}

impl L1BlockInfo {
    /// The packed calldata in `format`.
    pub fn encode_calldata(&self, format: L1InfoFormat) -> Bytes {
        let mut out = Vec::with_capacity(JOVIAN_LEN);
        out.extend_from_slice(match format {
            L1InfoFormat::Ecotone => &ECOTONE_SELECTOR,
            L1InfoFormat::Isthmus => &ISTHMUS_SELECTOR,
            L1InfoFormat::Jovian => &JOVIAN_SELECTOR,
        });
        out.extend_from_slice(&self.base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.blob_base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes::<32>());
        out.extend_from_slice(&self.blob_base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.hash.as_slice());
        out.extend_from_slice(self.batcher_hash.as_slice());
        if matches!(format, L1InfoFormat::Isthmus | L1InfoFormat::Jovian) {
            out.extend_from_slice(&self.operator_fee_scalar.to_be_bytes());
            out.extend_from_slice(&self.operator_fee_constant.to_be_bytes());
        }
        if format == L1InfoFormat::Jovian {
            out.extend_from_slice(&self.da_footprint_gas_scalar.to_be_bytes());
        }
        out.into()
    }

    /// Decodes packed calldata of any supported format.
    ///
    /// # Errors
    ///
    /// An unknown selector or a length that does not match it.
    pub fn decode_calldata(data: &[u8]) -> Result<(Self, L1InfoFormat), L1InfoError> {
        let selector: [u8; 4] =
            data.get(..4).and_then(|s| s.try_into().ok()).ok_or(L1InfoError::UnknownSelector(0))?;
        let (format, expected) = match selector {
            ECOTONE_SELECTOR => (L1InfoFormat::Ecotone, ECOTONE_LEN),
            ISTHMUS_SELECTOR => (L1InfoFormat::Isthmus, ISTHMUS_LEN),
            JOVIAN_SELECTOR => (L1InfoFormat::Jovian, JOVIAN_LEN),
            other => return Err(L1InfoError::UnknownSelector(u32::from_be_bytes(other))),
        };
        if data.len() != expected {
            return Err(L1InfoError::BadLength { format, got: data.len(), expected });
        }
        let mut reader = Reader { data, at: 4 };
        let mut info = Self {
            base_fee_scalar: u32::from_be_bytes(reader.take()),
            blob_base_fee_scalar: u32::from_be_bytes(reader.take()),
            sequence_number: u64::from_be_bytes(reader.take()),
            timestamp: u64::from_be_bytes(reader.take()),
            number: u64::from_be_bytes(reader.take()),
            base_fee: U256::from_be_bytes::<32>(reader.take()),
            blob_base_fee: U256::from_be_bytes::<32>(reader.take()),
            hash: B256::from(reader.take::<32>()),
            batcher_hash: B256::from(reader.take::<32>()),
            ..Default::default()
        };
        if matches!(format, L1InfoFormat::Isthmus | L1InfoFormat::Jovian) {
            info.operator_fee_scalar = u32::from_be_bytes(reader.take());
            info.operator_fee_constant = u64::from_be_bytes(reader.take());
        }
        if format == L1InfoFormat::Jovian {
            info.da_footprint_gas_scalar = u16::from_be_bytes(reader.take());
        }
        Ok((info, format))
    }

    /// The L1 attributes of an L2 block, read from its first transaction, which must be the
    /// L1 attributes deposit (every L2 block but genesis opens with it).
    ///
    /// # Errors
    ///
    /// No first transaction, one that is not a deposit, or calldata that does not decode.
    pub fn from_first_tx<T: op_alloy::consensus::OpTransaction>(
        first: Option<&T>,
    ) -> Result<Self, L1InfoError> {
        match first.and_then(|tx| tx.as_deposit()) {
            Some(deposit) => Self::decode_calldata(&deposit.input).map(|(info, _)| info),
            None => Err(L1InfoError::NotADeposit),
        }
    }

    /// The deposit's source hash: domain 1, over the L1 origin hash and sequence number.
    pub fn source_hash(&self) -> B256 {
        let mut inner = [0u8; 64];
        inner[..32].copy_from_slice(self.hash.as_slice());
        inner[56..].copy_from_slice(&self.sequence_number.to_be_bytes());
        let deposit_id = keccak256(inner);
        let mut outer = [0u8; 64];
        outer[31] = 1;
        outer[32..].copy_from_slice(deposit_id.as_slice());
        keccak256(outer)
    }

    /// The L1 attributes deposit transaction.
    pub fn deposit_tx(&self, format: L1InfoFormat) -> TxDeposit {
        TxDeposit {
            source_hash: self.source_hash(),
            from: L1_ATTRIBUTES_DEPOSITOR,
            to: alloy_primitives::TxKind::Call(L1_BLOCK_ADDRESS),
            mint: 0,
            value: U256::ZERO,
            gas_limit: L1_INFO_DEPOSIT_GAS,
            is_system_transaction: false,
            input: self.encode_calldata(format),
        }
    }
}

/// Reads fixed-size fields; lengths are checked once before reading.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.data.get(self.at..self.at + N) {
            out.copy_from_slice(src);
        }
        self.at += N;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> L1BlockInfo {
        L1BlockInfo {
            number: 123,
            timestamp: 456,
            base_fee: U256::from(7_000_000_000u64),
            hash: B256::repeat_byte(0xaa),
            sequence_number: 3,
            batcher_hash: B256::left_padding_from(&[0xbb; 20]),
            blob_base_fee: U256::from(1),
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810_949,
            operator_fee_scalar: 5,
            operator_fee_constant: 6,
            da_footprint_gas_scalar: 400,
        }
    }

    #[test]
    fn round_trips_every_format() {
        let info = sample();
        for (format, len) in [
            (L1InfoFormat::Ecotone, 164),
            (L1InfoFormat::Isthmus, 176),
            (L1InfoFormat::Jovian, 178),
        ] {
            let data = info.encode_calldata(format);
            assert_eq!(data.len(), len);
            let (decoded, got) = L1BlockInfo::decode_calldata(&data).unwrap();
            assert_eq!(got, format);
            let mut expected = info;
            if format == L1InfoFormat::Ecotone {
                expected.operator_fee_scalar = 0;
                expected.operator_fee_constant = 0;
            }
            if format != L1InfoFormat::Jovian {
                expected.da_footprint_gas_scalar = 0;
            }
            assert_eq!(decoded, expected);
        }
    }

    #[test]
    fn rejects_bad_calldata() {
        let data = sample().encode_calldata(L1InfoFormat::Jovian);
        assert!(matches!(
            L1BlockInfo::decode_calldata(&data[..100]),
            Err(L1InfoError::BadLength { .. })
        ));
        assert!(matches!(
            L1BlockInfo::decode_calldata(&[1, 2]),
            Err(L1InfoError::UnknownSelector(_))
        ));
        assert!(matches!(
            L1BlockInfo::decode_calldata(&[0xde, 0xad, 0xbe, 0xef]),
            Err(L1InfoError::UnknownSelector(0xdeadbeef))
        ));
    }

    #[test]
    fn activation_block_keeps_previous_format() {
        assert_eq!(L1InfoFormat::for_block((true, true), (true, false)), L1InfoFormat::Isthmus);
        assert_eq!(L1InfoFormat::for_block((true, false), (false, false)), L1InfoFormat::Ecotone);
        assert_eq!(L1InfoFormat::for_block((true, true), (true, true)), L1InfoFormat::Jovian);
    }
}
