//! OP Stack wire formats for Tributary. Pure encoding and decoding: no I/O, no async.
//!
//! The parts:
//!
//! - the L1 attributes deposit ([`L1BlockInfo`]), the first transaction of every L2 block
//!   (`l1_info.rs`), and user deposits from the portal's logs (`deposit.rs`);
//! - frames and batcher transactions (`frame.rs`);
//! - channels, their zlib or brotli compression, singular batches and the [`Batch`] enum over
//!   both batch versions (`channel.rs`);
//! - span batches ([`SpanBatch`], version 1, from Delta; `span_batch.rs`), with their
//!   transaction columns in `span_txs.rs` and their uvarints and bitlists in `span_wire.rs`;
//! - the blob encoding a batcher transaction travels in when it is posted as EIP-4844 blobs
//!   ([`encode_blob`], [`decode_blob`]; `blob.rs`).
//!
//! The batcher goes blocks → [`SpanBatch::from_singular`] → [`encode_channel_batches`] →
//! [`compress`] → [`split_into_frames`] → [`encode_batcher_tx`]; derivation goes back with
//! [`decode_batcher_tx`] → [`Channel`] → [`decompress`] → [`BatchReader`].
//!
//! # Span batches
//!
//! A span batch holds consecutive L2 blocks with little per-block overhead: the first block's
//! timestamp relative to genesis, the last block's L1 origin number, one bit per block for
//! "the L1 origin moved on by one", 20-byte prefixes of the first parent hash and the last
//! L1 origin hash, and the transactions taken apart into columns (signatures, recipients,
//! RLP `tx_data`, nonces, gas limits) that compress better than whole transactions. What the
//! encoding leaves out, the genesis timestamp, block time and chain id, comes from a
//! [`SpanBatchConfig`]. Decoding rebuilds every transaction byte for byte, and encoding
//! refuses a transaction it could not rebuild (another chain's, a deposit, non-canonical RLP).
//! Legacy, EIP-2930, EIP-1559 and EIP-7702 transactions are carried; whether 7702 is allowed
//! yet (Isthmus) is for derivation to decide.
//!
//! # L1 attributes calldata
//!
//! The deposit calls our L1Block predeploy (`contracts/L1Block.sol`) with packed, not
//! ABI-encoded, arguments after a 4-byte selector, as the OP Stack specs define them:
//!
//! | format | selector | fields after the selector |
//! |---|---|---|
//! | Ecotone | `0x440a5e20` | baseFeeScalar u32, blobBaseFeeScalar u32, sequenceNumber u64, timestamp u64, number u64, basefee u256, blobBaseFee u256, hash b256, batcherHash b256 |
//! | Isthmus | `0x098999be` | Ecotone's, then operatorFeeScalar u32, operatorFeeConstant u64 |
//! | Jovian | `0x3db6be2b` | Isthmus', then daFootprintGasScalar u16 |
//!
//! A fork's first block still uses the previous fork's format (the specs' activation-block
//! rule), so [`L1InfoFormat::for_block`] takes the parent's forks into account.

mod blob;
mod channel;
mod deposit;
mod frame;
mod l1_info;
mod span_batch;
mod span_txs;
mod span_wire;
#[cfg(test)]
mod test_txs;

pub use blob::{
    BLOB_ENCODING_VERSION, BLOB_MAX_DATA_SIZE, BYTES_PER_BLOB, BlobError, decode_blob, encode_blob,
    encode_blobs,
};
pub use channel::{
    BROTLI_MARKER, Batch, BatchReader, Channel, ChannelError, Compression,
    MAX_RLP_BYTES_PER_CHANNEL, SINGULAR_BATCH, SPAN_BATCH, SingularBatch, compress, decode_batches,
    decode_channel_batches, decompress, encode_batches, encode_channel_batches,
};
pub use deposit::{
    DepositError, L1_TO_L2_ALIAS_OFFSET, TRANSACTION_DEPOSITED_TOPIC, apply_l1_to_l2_alias,
    decode_deposit_log, encode_opaque_data, user_deposit_source_hash,
};
pub use frame::{
    ChannelId, DERIVATION_VERSION_0, FRAME_OVERHEAD, Frame, FrameError, MAX_FRAME_LEN,
    decode_batcher_tx, encode_batcher_tx, split_into_frames,
};
pub use l1_info::{
    DEFAULT_DA_FOOTPRINT_GAS_SCALAR, L1_ATTRIBUTES_DEPOSITOR, L1_BLOCK_ADDRESS,
    L1_INFO_DEPOSIT_GAS, L1BlockInfo, L1InfoError, L1InfoFormat,
};
pub use span_batch::{
    MAX_SPAN_BATCH_ELEMENT_COUNT, SpanBatch, SpanBatchConfig, SpanBatchElement, SpanBatchError,
};
