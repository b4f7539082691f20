//! What the pipeline reads (L1 blocks, the L2 safe chain) and what it produces (payload
//! attributes).

use alloy_primitives::{Address, B256, Bytes, U256};
use tributary_chainspec::{BlockId, RollupConfig};
use tributary_primitives::TxDeposit;
use tributary_protocol::L1BlockInfo;

/// A transaction of an L1 block, as far as derivation looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Transaction {
    /// The recovered sender.
    pub from: Address,
    /// The recipient (None for a contract creation).
    pub to: Option<Address>,
    /// The calldata.
    pub input: Bytes,
}

/// One L1 block with what derivation needs from it. The I/O side fills it from L1 RPC (or a
/// test scripts it); [`crate::Pipeline::push_l1`] takes them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Block {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// Its parent's hash.
    pub parent_hash: B256,
    /// Its timestamp.
    pub timestamp: u64,
    /// Its base fee.
    pub base_fee: U256,
    /// Its blob base fee (from `excess_blob_gas`; 1 without blobs).
    pub blob_base_fee: U256,
    /// `mixHash`: the RANDAO value L2 blocks of this epoch carry.
    pub mix_hash: B256,
    /// Its parent beacon block root (zero before Cancun).
    pub parent_beacon_block_root: B256,
    /// Its transactions in block order (only those to the batch inbox matter).
    pub transactions: Vec<L1Transaction>,
    /// The portal's deposits, in log order, already decoded.
    pub deposits: Vec<TxDeposit>,
}

impl L1Block {
    /// Number and hash.
    pub fn id(&self) -> BlockId {
        BlockId { number: self.number, hash: self.hash }
    }

    /// The L1 attributes an L2 block with this block as origin carries, as the sequencer
    /// builds them: the rollup's scalars and batcher, sequence number `sequence_number`.
    pub fn l1_info(&self, rollup: &RollupConfig, sequence_number: u64) -> L1BlockInfo {
        let system = &rollup.genesis.system_config;
        let (base_fee_scalar, blob_base_fee_scalar) = system.scalars();
        L1BlockInfo {
            number: self.number,
            timestamp: self.timestamp,
            base_fee: self.base_fee,
            hash: self.hash,
            sequence_number,
            batcher_hash: system.batcher_addr.into_word(),
            blob_base_fee: self.blob_base_fee,
            base_fee_scalar,
            blob_base_fee_scalar,
            operator_fee_scalar: 0,
            operator_fee_constant: 0,
            da_footprint_gas_scalar: system.effective_da_footprint_gas_scalar(),
        }
    }
}

/// An L2 block as derivation sees it: its place in the chain and its L1 origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2BlockInfo {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// Its timestamp.
    pub timestamp: u64,
    /// Its L1 origin.
    pub l1_origin: BlockId,
    /// Its position in the epoch (the L1 attributes' sequence number).
    pub sequence_number: u64,
}

/// Read access to the L2 chain below the safe head, for span batches that overlap it.
pub trait L2Chain {
    /// The canonical L2 block `number`, with its non-deposit transactions (EIP-2718 bytes), or
    /// None when it is not known.
    fn block(&self, number: u64) -> Option<(L2BlockInfo, Vec<Bytes>)>;
}

/// The inputs of the next safe L2 block: what the execution side turns into a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadAttributes {
    /// The safe block this one builds on.
    pub parent: L2BlockInfo,
    /// Its timestamp.
    pub timestamp: u64,
    /// `mixHash`: the L1 origin's RANDAO.
    pub prev_randao: B256,
    /// The L1 origin's parent beacon block root.
    pub parent_beacon_block_root: B256,
    /// The L1 attributes deposit's values.
    pub l1_info: L1BlockInfo,
    /// User deposits (only in the first block of an epoch).
    pub deposits: Vec<TxDeposit>,
    /// The batch's transactions, EIP-2718 encoded, after the deposits.
    pub transactions: Vec<Bytes>,
    /// The L1 block the batch was read from: finality follows it.
    pub derived_from: BlockId,
}

impl PayloadAttributes {
    /// The same block with only its deposits: what Holocene builds when the batch's block is
    /// invalid.
    pub fn deposits_only(&self) -> Self {
        Self { transactions: Vec::new(), ..self.clone() }
    }
}
