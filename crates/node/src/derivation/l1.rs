//! L1 blocks for the pipeline, read over L1 JSON-RPC: header fields, every transaction (the
//! pipeline authenticates batcher transactions itself) and the portal's deposits.
//!
//! A batcher transaction that carries blobs (type 3, to the inbox, from the batcher) has its
//! data in the blobs, not its calldata: each blob, read from the beacon API (`--l1.beacon`)
//! and decoded with the OP blob encoding, goes to the pipeline as one batcher transaction of
//! its own, as op-node's blob data source hands them on. A blob that does not decode is
//! skipped, as op-node skips it.

use alloy::{
    consensus::Transaction as _,
    rpc::types::{BlockNumberOrTag, BlockTransactions},
};
use alloy_primitives::U256;
use tributary_chainspec::RollupConfig;
use tributary_derive::{L1Block, L1Transaction};
use tributary_l1::{BeaconClient, L1Client};

/// L1 block `number`, or None when the L1 does not have it yet.
///
/// # Errors
///
/// The L1 did not answer, or answered with something unusable: try again later.
pub(crate) async fn fetch_l1_block(
    l1: &L1Client,
    beacon: Option<&BeaconClient>,
    rollup: &RollupConfig,
    number: u64,
) -> Result<Option<L1Block>, String> {
    let Some(block) =
        l1.block(BlockNumberOrTag::Number(number), true).await.map_err(|err| err.to_string())?
    else {
        return Ok(None);
    };
    let header = &block.header;
    let BlockTransactions::Full(txs) = &block.transactions else {
        return Err(format!("L1 block {number} came without its transactions"));
    };
    let batcher = rollup.genesis.system_config.batcher_addr;
    let mut sidecars = None;
    let mut transactions = Vec::with_capacity(txs.len());
    for tx in txs {
        let (from, to) = (tx.inner.signer(), tx.to());
        let hashes = tx.blob_versioned_hashes().unwrap_or_default();
        let blob_batch =
            !hashes.is_empty() && to == Some(rollup.batch_inbox_address) && from == batcher;
        if !blob_batch {
            transactions.push(L1Transaction { from, to, input: tx.input().clone() });
            continue;
        }
        let beacon = beacon.ok_or_else(|| {
            format!("L1 block {number} carries batches in blobs: the node needs --l1.beacon")
        })?;
        if sidecars.is_none() {
            let read =
                beacon.blob_sidecars(header.timestamp).await.map_err(|err| err.to_string())?;
            sidecars = Some(read);
        }
        let blobs = tributary_l1::blobs_for(hashes, sidecars.as_deref().unwrap_or_default())
            .map_err(|err| format!("L1 block {number}: {err}"))?;
        for (index, blob) in blobs.iter().enumerate() {
            match tributary_protocol::decode_blob(blob) {
                Ok(data) => {
                    metrics::counter!("tributary_derive_blobs_total").increment(1);
                    transactions.push(L1Transaction { from, to, input: data.into() });
                }
                Err(err) => tracing::warn!(
                    target: "derive::l1",
                    block = number,
                    tx = %tx.inner.tx_hash(),
                    index,
                    %err,
                    "skipping a blob that does not decode"
                ),
            }
        }
    }
    let deposits = tributary_sequencer::epoch_deposits(
        l1,
        rollup.deposit_contract_address,
        header.hash,
        header.number,
    )
    .await?;
    Ok(Some(L1Block {
        number: header.number,
        hash: header.hash,
        parent_hash: header.parent_hash,
        timestamp: header.timestamp,
        base_fee: U256::from(header.base_fee_per_gas.unwrap_or_default()),
        blob_base_fee: tributary_sequencer::l1_blob_base_fee(header.excess_blob_gas),
        mix_hash: header.mix_hash,
        parent_beacon_block_root: header.parent_beacon_block_root.unwrap_or_default(),
        transactions,
        deposits,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{
        consensus::{SignableTransaction, TxEip4844, TxEnvelope, transaction::Recovered},
        network::TxSignerSync,
        rpc::types::{Block, Header as RpcHeader, Transaction},
        signers::local::PrivateKeySigner,
    };
    use alloy_primitives::{Address, B256, Bytes};
    use serde_json::json;

    use tributary_l1::TEST_GENESIS_TIME as GENESIS_TIME;

    fn rollup(batcher: Address) -> RollupConfig {
        let rollup = json!({
            "genesis": {
                "l1": { "hash": B256::ZERO, "number": 0 },
                "l2": { "hash": B256::ZERO, "number": 0 },
                "l2_time": GENESIS_TIME,
                "system_config": { "batcherAddr": batcher, "overhead": B256::ZERO,
                                   "scalar": B256::ZERO, "gasLimit": 30_000_000 },
            },
            "block_time": 2, "max_sequencer_drift": 1800, "seq_window_size": 3600,
            "channel_timeout": 50, "l1_chain_id": 900, "l2_chain_id": 901,
            "batch_inbox_address": RollupConfig::default_batch_inbox(901),
            "deposit_contract_address": Address::repeat_byte(0xde),
        });
        RollupConfig::from_json(&rollup.to_string()).unwrap()
    }

    /// A type-3 transaction from `from` to `to` naming `hashes`, as L1 RPC shows it.
    fn blob_tx(from: &PrivateKeySigner, to: Address, hashes: Vec<B256>) -> Transaction {
        let mut tx = TxEip4844 {
            chain_id: 900,
            to,
            input: Bytes::from_static(b"calldata is not the batch"),
            blob_versioned_hashes: hashes,
            gas_limit: 21_000,
            max_fee_per_blob_gas: 1,
            ..Default::default()
        };
        let signature = from.sign_transaction_sync(&mut tx).unwrap();
        let envelope = TxEnvelope::Eip4844(tx.into_signed(signature).into());
        Transaction {
            inner: Recovered::new_unchecked(envelope, from.address()),
            block_hash: None,
            block_number: Some(7),
            transaction_index: Some(0),
            effective_gas_price: None,
            block_timestamp: None,
        }
    }

    /// A blob batcher transaction's blobs reach the pipeline decoded, one batcher
    /// transaction each and in the transaction's order, and its calldata does not; a blob
    /// transaction from another sender keeps its calldata and fetches nothing; without a
    /// beacon URL the block is an error that says what to pass.
    #[tokio::test]
    async fn blob_batches_reach_the_pipeline_decoded() {
        let batcher: PrivateKeySigner =
            "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97".parse().unwrap();
        let stranger = PrivateKeySigner::random();
        let rollup = rollup(batcher.address());
        let inbox = rollup.batch_inbox_address;
        let payloads = [b"frames of channel one".to_vec(), b"and of channel two".to_vec()];
        // Real KZG commitments and proofs: the reader checks every blob against its commitment.
        let made = tributary_l1::test_sidecars(&[&payloads[0], &payloads[1]]);
        let hash = |i: usize| made[i].versioned_hash();
        // The transaction names them in the other order.
        let ours = blob_tx(&batcher, inbox, vec![hash(1), hash(0)]);
        let theirs = blob_tx(&stranger, inbox, vec![hash(0)]);
        let header = alloy::consensus::Header {
            number: 7,
            // Slot 2 of the 12-second beacon clock.
            timestamp: GENESIS_TIME + 2 * 12 + 5,
            excess_blob_gas: Some(0),
            ..Default::default()
        };
        let block = Block::new(
            RpcHeader::new(header),
            alloy::rpc::types::BlockTransactions::Full(vec![ours, theirs]),
        );
        let sidecars = vec![(2, tributary_l1::sidecars_json(&made))];
        let url =
            tributary_l1::serve_test_l1(vec![serde_json::to_value(block).unwrap()], sidecars).await;
        let l1 = L1Client::new(&url).unwrap();
        let beacon = BeaconClient::new(&url).unwrap();

        let read = fetch_l1_block(&l1, Some(&beacon), &rollup, 7).await.unwrap().unwrap();
        let inputs: Vec<&[u8]> = read.transactions.iter().map(|tx| tx.input.as_ref()).collect();
        assert_eq!(
            inputs,
            vec![&payloads[1][..], &payloads[0][..], &b"calldata is not the batch"[..]],
            "the batcher's blobs in its order, then the stranger's transaction as it came"
        );
        assert!(read.transactions[..2].iter().all(|tx| tx.from == batcher.address()));

        let err = fetch_l1_block(&l1, None, &rollup, 7).await.unwrap_err();
        assert!(err.contains("--l1.beacon"), "{err}");
    }
}
