//! Reading back what the batcher already posted: the complete channels on L1.

use crate::channel::span_config;
use alloy::{consensus::Transaction as _, rpc::types::BlockNumberOrTag};
use alloy_primitives::{Address, B256};
use std::collections::HashMap;
use tributary_chainspec::RollupConfig;
use tributary_l1::{L1Client, L1Error};
use tributary_protocol::{
    Batch, Channel, ChannelId, decode_batcher_tx, decode_channel_batches, decompress,
};

/// A channel whose every frame is on L1.
#[derive(Debug, Clone)]
pub struct PostedChannel {
    /// Its id.
    pub id: ChannelId,
    /// Its batches.
    pub batches: Vec<Batch>,
    /// The last L2 block in it.
    pub last_l2_block: u64,
    /// The transaction with its closing frame.
    pub closing_tx: B256,
    /// The L1 block holding that transaction.
    pub l1_block_number: u64,
    /// That block's hash.
    pub l1_block_hash: B256,
}

/// Reads `batcher`'s transactions to the inbox in the last sequencing window of L1 blocks
/// (older ones cannot matter: an epoch's batches must land within its window) and returns
/// the channels that are complete, in the order they completed. Transactions from anyone
/// else, malformed frames and channels that do not decode are skipped, as derivation skips
/// them.
///
/// # Errors
///
/// The L1 fails.
pub async fn read_posted_channels(
    l1: &L1Client,
    rollup: &RollupConfig,
    batcher: Address,
) -> Result<Vec<PostedChannel>, L1Error> {
    let head = l1.block_number().await?;
    let start = rollup.genesis.l1.number.max(head.saturating_sub(rollup.seq_window_size));
    let config = span_config(rollup);
    let mut open: HashMap<ChannelId, Channel> = HashMap::new();
    let mut posted = Vec::new();
    for number in start..=head {
        let Some(block) = l1.block(BlockNumberOrTag::Number(number), true).await? else {
            continue;
        };
        for tx in block.transactions.txns() {
            if tx.to() != Some(rollup.batch_inbox_address) || tx.inner.signer() != batcher {
                continue;
            }
            let Ok(frames) = decode_batcher_tx(tx.input()) else { continue };
            for frame in frames {
                let id = frame.channel_id;
                let channel = open.entry(id).or_insert_with(|| Channel::new(id));
                if channel.add_frame(frame).is_err() || !channel.is_ready() {
                    continue;
                }
                let Some(channel) = open.remove(&id) else { continue };
                let Some(data) = channel.data() else { continue };
                let Ok(raw) = decompress(&data) else { continue };
                let Ok(batches) = decode_channel_batches(&raw, &config) else { continue };
                let Some(last_timestamp) = batches.iter().filter_map(last_timestamp).max() else {
                    continue;
                };
                let Some(last_l2_block) = rollup.l2_number_at(last_timestamp) else { continue };
                posted.push(PostedChannel {
                    id,
                    batches,
                    last_l2_block,
                    closing_tx: *tx.inner.tx_hash(),
                    l1_block_number: number,
                    l1_block_hash: block.header.hash,
                });
            }
        }
    }
    Ok(posted)
}

fn last_timestamp(batch: &Batch) -> Option<u64> {
    match batch {
        Batch::Singular(batch) => Some(batch.timestamp),
        Batch::Span(span) => span.blocks.last().map(|block| block.timestamp),
    }
}
