//! OP Stack wire formats for Tributary. Pure encoding and decoding: no I/O, no async.
//!
//! So far: the L1 attributes deposit ([`L1BlockInfo`]), the first transaction of every L2
//! block; frames and batcher transactions (`frame.rs`); channels, their zlib or brotli
//! compression and singular batches (`channel.rs`); user deposits from the portal's logs
//! (`deposit.rs`). Span batches come with the rest of the rollup issue.
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

mod channel;
mod deposit;
mod frame;
mod l1_info;

pub use channel::{
    BROTLI_MARKER, Channel, ChannelError, Compression, MAX_RLP_BYTES_PER_CHANNEL, SINGULAR_BATCH,
    SPAN_BATCH, SingularBatch, compress, decode_batches, decompress, encode_batches,
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
