//! The derivation pipeline: the L2 chain rebuilt from L1 data alone, to the OP Stack spec.
//!
//! Pure, synchronous and single-threaded: no I/O here. The caller (the node's derivation
//! driver, or a test with a scripted L1) pushes L1 blocks in order with
//! [`Pipeline::push_l1`] and asks [`Pipeline::next`] for the attributes of the block after its
//! safe head; it executes them through the same executor the sequencer uses, and asks again.
//! `None` means "the L1 blocks held have nothing more: push the next one". The caller may
//! push L1 blocks ahead of need (the node keeps a few while catching up): stages 1-4 below
//! depend on the L1 alone, so they run when a block is pushed, and the batch stage takes
//! the block as its origin once the blocks before it are used up. That is how a channel's
//! transactions reach [`Pipeline::take_read_transactions`] (sender recovery on another core)
//! before the blocks of the channels before it are built.
//!
//! # Stages (Holocene)
//!
//! Tributary chains run Jovian from genesis, so only the post-Holocene rules are implemented
//! (no channel bank, no batch buffering):
//!
//! 1. **L1 retrieval** (`channels.rs`): transactions to the batch inbox from the rollup's batcher
//!    address, in block order; a transaction whose frames do not all parse is ignored whole.
//! 2. **Frame queue**: within one transaction, each channel's frames must be contiguous and in
//!    order; a new first frame discards the unclosed channel before it.
//! 3. **Channel assembler**: one channel at a time, frames strictly in order, dropped when open
//!    longer than `channel_timeout` L1 blocks or larger than `MAX_RLP_BYTES_PER_CHANNEL`.
//! 4. **Channel reader**: zlib or brotli, then batches one by one; a batch that does not
//!    decode ends the channel.
//! 5. **Batch stage** (`batches.rs`): each batch is checked against the safe head: accepted, a
//!    batch from the past (skipped), or invalid (dropped with the rest of its channel and span:
//!    Holocene's flush). Span batches are checked on their prefix, including that blocks they
//!    share with the safe chain are the same blocks, then split into singular batches. When an
//!    L1 block's data is used up and the safe head's epoch is `seq_window_size` L1 blocks old,
//!    a deposit-only block is derived instead (the sequencing window closed).
//! 6. **Attributes**: the L1 attributes deposit (sequence number 0 at a new epoch), the epoch's
//!    deposits in its first block, then the batch's transactions.
//!
//! The batch stage keeps a window of L1 blocks from the safe head's origin to the current L1
//! origin: batches name their epoch by number and hash, and the first block of an epoch
//! carries that L1 block's deposits.
//!
//! # Resets
//!
//! Every [`DeriveError`] means the same: the L1 or the safe chain is not what the pipeline was
//! built on (an L1 reorg). The driver walks its safe chain back to a block whose L1 origin is
//! canonical, and calls [`Pipeline::reset`] with the L1 block [`Pipeline::start_l1_number`]
//! names (one channel timeout earlier, so channels opened before are read whole). Batches read
//! from L1 blocks at or below the safe head's origin are drained, not applied.
//!
//! # Where we differ from op-node
//!
//! - A channel whose decompressed data exceeds the limit is dropped whole (as kona does); the
//!   spec keeps the batches before the limit.
//! - The L1 system config is the rollup config's genesis one: there is no SystemConfig contract
//!   on L1 to update it.
//!
//! The sequencer drift is Fjord's constant 1800 s, as op-node has it, whatever the rollup
//! config's `max_sequencer_drift` says (our sequencer stays within the smaller of the two).

mod batches;
mod channels;
mod pipeline;
mod types;

pub use pipeline::{DeriveError, Pipeline};
pub use types::{L1Block, L1Transaction, L2BlockInfo, L2Chain, PayloadAttributes};
