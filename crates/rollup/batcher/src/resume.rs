//! Reading back what the batcher already posted: the complete channels on L1.

use crate::channel::span_config;
use alloy::{consensus::Transaction as _, rpc::types::BlockNumberOrTag};
use alloy_primitives::{Address, B256};
use std::collections::HashMap;
use tributary_chainspec::RollupConfig;
use tributary_l1::{BeaconClient, L1Client, L1Error, blobs_for};
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
/// them. A blob transaction's frames are read from its blobs through `beacon`.
///
/// # Errors
///
/// The L1 or the beacon node fails, or one of the batcher's blob transactions is found with
/// no `beacon` to read it.
pub async fn read_posted_channels(
    l1: &L1Client,
    beacon: Option<&BeaconClient>,
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
            let mut datas = vec![tx.input().clone()];
            if let Some(hashes) = tx.blob_versioned_hashes().filter(|h| !h.is_empty()) {
                let beacon = beacon.ok_or_else(|| L1Error::Beacon {
                    path: "blob_sidecars".into(),
                    message: format!(
                        "L1 block {number} has the batcher's batches in blobs: pass --l1.beacon"
                    ),
                })?;
                let sidecars = beacon.blob_sidecars(block.header.timestamp).await?;
                datas = blobs_for(hashes, &sidecars)?
                    .iter()
                    .filter_map(|blob| tributary_protocol::decode_blob(blob).ok())
                    .map(Into::into)
                    .collect();
            }
            let frames = datas.iter().filter_map(|data| decode_batcher_tx(data).ok()).flatten();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchType, ChannelBuilder, channel::tests};
    use alloy::{
        consensus::{Signed, TxEip4844Variant, TxEnvelope, transaction::Recovered},
        eips::eip2718::Decodable2718,
        rpc::types::{Block, BlockTransactions, Header as RpcHeader, Transaction},
        signers::local::PrivateKeySigner,
    };
    use tributary_l1::{BeaconClient, BlobTxFields, TEST_GENESIS_TIME, sign_blob_tx};
    use tributary_protocol::{BLOB_MAX_DATA_SIZE, Compression};

    /// A channel posted in blobs (cut to a blob's capacity, several blobs in one type-3
    /// transaction, as the batcher posts with `--batcher.data-availability-type blobs`) is
    /// read back through the beacon API with its last block and closing transaction; without
    /// a beacon URL the read says what to pass instead of skipping the channel.
    #[tokio::test]
    async fn channels_posted_in_blobs_are_read_back_through_the_beacon() {
        let key = PrivateKeySigner::random();
        let rollup = tests::rollup();
        // Two channels, one blob each, in one transaction.
        let mut blocks = tests::blocks(12).into_iter();
        let mut payloads = Vec::new();
        for id in [[5; 16], [6; 16]] {
            let mut builder = ChannelBuilder::new(
                &rollup,
                BatchType::Span,
                Compression::Brotli,
                BLOB_MAX_DATA_SIZE,
            );
            for block in blocks.by_ref().take(6) {
                builder.add_block(block).unwrap();
            }
            let built = builder.finish(id).unwrap().unwrap();
            assert_eq!(built.frames.len(), 1);
            payloads.extend(built.frames);
        }
        let signed = sign_blob_tx(
            &key,
            BlobTxFields {
                chain_id: 900,
                nonce: 0,
                to: rollup.batch_inbox_address,
                gas_limit: 21_000,
                max_fee_per_gas: 2,
                max_priority_fee_per_gas: 1,
                max_fee_per_blob_gas: 1,
                payloads: payloads.clone(),
            },
        )
        .unwrap();
        // The L1 block shows the transaction without its sidecar; the beacon serves that.
        let TxEnvelope::Eip4844(with_sidecar) =
            TxEnvelope::decode_2718(&mut signed.raw.as_ref()).unwrap()
        else {
            panic!("type 3")
        };
        let (variant, signature, hash) = with_sidecar.into_parts();
        let plain = TxEip4844Variant::TxEip4844(variant.into());
        let tx = TxEnvelope::Eip4844(Signed::new_unchecked(plain, signature, hash));
        let header = alloy::consensus::Header {
            number: 1,
            timestamp: TEST_GENESIS_TIME + 3 * 12,
            ..Default::default()
        };
        let transaction = Transaction {
            inner: Recovered::new_unchecked(tx, key.address()),
            block_hash: None,
            block_number: Some(1),
            transaction_index: Some(0),
            effective_gas_price: None,
            block_timestamp: None,
        };
        let block = Block::new(RpcHeader::new(header), BlockTransactions::Full(vec![transaction]));
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_ref()).collect();
        let sidecars = tributary_l1::sidecars_json(&tributary_l1::test_sidecars(&refs));
        let url = tributary_l1::serve_test_l1(
            vec![serde_json::to_value(block).unwrap()],
            vec![(3, sidecars)],
        )
        .await;
        let l1 = L1Client::new(&url).unwrap();
        let beacon = BeaconClient::new(&url).unwrap();

        let posted =
            read_posted_channels(&l1, Some(&beacon), &rollup, key.address()).await.unwrap();
        let read: Vec<_> = posted.iter().map(|c| (c.id, c.last_l2_block, c.closing_tx)).collect();
        assert_eq!(read, vec![([5; 16], 6, signed.hash), ([6; 16], 12, signed.hash)]);
        assert_eq!(posted[1].l1_block_number, 1);
        let stranger = read_posted_channels(&l1, Some(&beacon), &rollup, Address::ZERO).await;
        assert!(stranger.unwrap().is_empty(), "someone else's transactions are skipped");

        let err = read_posted_channels(&l1, None, &rollup, key.address()).await.unwrap_err();
        assert!(err.to_string().contains("--l1.beacon"), "{err}");
    }
}
