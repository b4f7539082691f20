//! [`ReceiptEnvelope`]: the receipt of any transaction in [`crate::TxEnvelope`]: op-alloy's
//! [`OpReceiptEnvelope`] for every L2 type, and an EIP-4844 receipt for the L1 dev chain's blob
//! transactions, which op-alloy's envelope has no variant for. Its encodings are exactly
//! op-alloy's for the former and alloy's for the latter, so receipt roots are unchanged. RPC
//! does not serve a blob receipt yet (it answers an error; none can be in a block while the
//! pools refuse blob transactions).

use alloy::{
    consensus::{Eip658Value, Receipt, ReceiptWithBloom, TxReceipt, Typed2718},
    eips::eip2718::{Decodable2718, Eip2718Error, Eip2718Result, Encodable2718},
    primitives::{Bloom, Log},
    rlp::{BufMut, Decodable, Encodable},
};
use op_alloy::consensus::OpReceiptEnvelope;

/// The EIP-2718 type of a blob transaction and its receipt.
const EIP4844: u8 = 3;

/// A receipt of either chain (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptEnvelope {
    /// Any OP transaction's receipt, deposits included.
    Op(OpReceiptEnvelope),
    /// A blob transaction's receipt (the L1 dev chain only).
    Eip4844(ReceiptWithBloom<Receipt<Log>>),
}

impl ReceiptEnvelope {
    /// The receipt's bloom.
    pub const fn logs_bloom(&self) -> &Bloom {
        match self {
            Self::Op(receipt) => receipt.logs_bloom(),
            Self::Eip4844(receipt) => &receipt.logs_bloom,
        }
    }

    /// Whether the transaction succeeded.
    pub fn status(&self) -> bool {
        TxReceipt::status(self)
    }

    /// Gas used by the block up to and including this transaction.
    pub fn cumulative_gas_used(&self) -> u64 {
        TxReceipt::cumulative_gas_used(self)
    }

    /// The logs.
    pub fn logs(&self) -> &[Log] {
        TxReceipt::logs(self)
    }

    /// The op-alloy envelope, if it is an OP type (every type but the blob one).
    pub const fn as_op(&self) -> Option<&OpReceiptEnvelope> {
        match self {
            Self::Op(receipt) => Some(receipt),
            Self::Eip4844(_) => None,
        }
    }

    /// The deposit receipt, if it is one (its nonce and receipt version).
    pub const fn as_deposit_receipt(&self) -> Option<&op_alloy::consensus::OpDepositReceipt> {
        match self {
            Self::Op(receipt) => receipt.as_deposit_receipt(),
            Self::Eip4844(_) => None,
        }
    }
}

impl From<OpReceiptEnvelope> for ReceiptEnvelope {
    fn from(receipt: OpReceiptEnvelope) -> Self {
        Self::Op(receipt)
    }
}

impl TxReceipt for ReceiptEnvelope {
    type Log = Log;

    fn status_or_post_state(&self) -> Eip658Value {
        match self {
            Self::Op(receipt) => receipt.status_or_post_state(),
            Self::Eip4844(receipt) => receipt.receipt.status,
        }
    }

    fn status(&self) -> bool {
        match self {
            Self::Op(receipt) => TxReceipt::status(receipt),
            Self::Eip4844(receipt) => receipt.receipt.status.coerce_status(),
        }
    }

    fn bloom(&self) -> Bloom {
        match self {
            Self::Op(receipt) => TxReceipt::bloom(receipt),
            Self::Eip4844(receipt) => receipt.logs_bloom,
        }
    }

    fn cumulative_gas_used(&self) -> u64 {
        match self {
            Self::Op(receipt) => TxReceipt::cumulative_gas_used(receipt),
            Self::Eip4844(receipt) => receipt.receipt.cumulative_gas_used,
        }
    }

    fn logs(&self) -> &[Log] {
        match self {
            Self::Op(receipt) => TxReceipt::logs(receipt),
            Self::Eip4844(receipt) => &receipt.receipt.logs,
        }
    }
}

impl Typed2718 for ReceiptEnvelope {
    fn ty(&self) -> u8 {
        match self {
            Self::Op(receipt) => receipt.ty(),
            Self::Eip4844(_) => EIP4844,
        }
    }
}

impl Encodable2718 for ReceiptEnvelope {
    fn encode_2718_len(&self) -> usize {
        match self {
            Self::Op(receipt) => receipt.encode_2718_len(),
            Self::Eip4844(receipt) => 1 + receipt.length(),
        }
    }

    fn encode_2718(&self, out: &mut dyn BufMut) {
        match self {
            Self::Op(receipt) => receipt.encode_2718(out),
            Self::Eip4844(receipt) => {
                out.put_u8(EIP4844);
                receipt.encode(out);
            }
        }
    }
}

impl Decodable2718 for ReceiptEnvelope {
    fn typed_decode(ty: u8, buf: &mut &[u8]) -> Eip2718Result<Self> {
        match ty {
            EIP4844 => Ok(Self::Eip4844(ReceiptWithBloom::decode(buf)?)),
            _ => OpReceiptEnvelope::typed_decode(ty, buf).map(Self::Op),
        }
    }

    fn fallback_decode(buf: &mut &[u8]) -> Eip2718Result<Self> {
        OpReceiptEnvelope::fallback_decode(buf).map(Self::Op)
    }
}

/// RLP as op-alloy's envelope does it: the network form (a typed receipt as a string).
impl Encodable for ReceiptEnvelope {
    fn encode(&self, out: &mut dyn BufMut) {
        self.network_encode(out)
    }

    fn length(&self) -> usize {
        self.network_len()
    }
}

impl Decodable for ReceiptEnvelope {
    fn decode(buf: &mut &[u8]) -> alloy::rlp::Result<Self> {
        Self::network_decode(buf).map_err(|err| match err {
            Eip2718Error::RlpError(err) => err,
            _ => alloy::rlp::Error::Custom("unknown receipt type"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{
            ReceiptEnvelope as EthReceiptEnvelope, proofs::ordered_trie_root_with_encoder,
        },
        primitives::{Address, B256, Bytes, LogData},
    };
    use op_alloy::consensus::{OpDepositReceipt, OpDepositReceiptWithBloom};

    fn receipt(gas: u64) -> ReceiptWithBloom<Receipt<Log>> {
        let log = Log {
            address: Address::repeat_byte(1),
            data: LogData::new_unchecked(vec![B256::repeat_byte(2)], Bytes::from_static(b"x")),
        };
        Receipt { status: true.into(), cumulative_gas_used: gas, logs: vec![log] }.into()
    }

    /// OP receipts encode exactly as op-alloy's envelope, a blob receipt exactly as alloy's;
    /// all decode back, in EIP-2718 and RLP form, and a receipt root over a mixed list is
    /// what each side's envelopes give.
    #[test]
    fn receipts_keep_op_alloys_and_alloys_encoding() {
        let deposit =
            OpReceiptEnvelope::Deposit(OpDepositReceiptWithBloom::from(OpDepositReceipt {
                inner: receipt(21_000).receipt,
                deposit_nonce: Some(3),
                deposit_receipt_version: Some(1),
            }));
        let op = [OpReceiptEnvelope::Eip1559(receipt(42_000)), deposit];
        let blob = EthReceiptEnvelope::Eip4844(receipt(63_000));
        let ours: Vec<ReceiptEnvelope> = op
            .iter()
            .cloned()
            .map(ReceiptEnvelope::from)
            .chain([ReceiptEnvelope::Eip4844(receipt(63_000))])
            .collect();
        for (mine, theirs) in ours.iter().zip(&op) {
            assert_eq!(mine.encoded_2718(), theirs.encoded_2718());
            assert_eq!(alloy::rlp::encode(mine), alloy::rlp::encode(theirs));
        }
        assert_eq!(ours[2].encoded_2718(), blob.encoded_2718());
        assert_eq!((ours[2].ty(), ours[2].cumulative_gas_used()), (3, 63_000));
        assert_eq!(ours[1].as_deposit_receipt().and_then(|d| d.deposit_nonce), Some(3));
        assert!(ours[2].as_deposit_receipt().is_none());
        assert_eq!(ours[2].logs_bloom(), blob.logs_bloom());
        for mine in &ours {
            assert_eq!(
                &ReceiptEnvelope::decode_2718(&mut mine.encoded_2718().as_slice()).unwrap(),
                mine
            );
            let rlp = alloy::rlp::encode(mine);
            assert_eq!(&ReceiptEnvelope::decode(&mut rlp.as_slice()).unwrap(), mine);
        }
        let root = ordered_trie_root_with_encoder(&ours, |r, out| r.encode_2718(out));
        let encoded: Vec<Vec<u8>> =
            op.iter().map(Encodable2718::encoded_2718).chain([blob.encoded_2718()]).collect();
        let expected = ordered_trie_root_with_encoder(&encoded, |r, out| out.put_slice(r));
        assert_eq!(root, expected);
    }
}
