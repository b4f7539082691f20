//! The batches of inference records a block settled (`settleBatch`), for the storage index:
//! each `BatchSettled` log of a successful transaction names a Merkle root, and the records
//! under it come from what the precompile kept while the block executed (keyed by the root it
//! computed from them), or else from the transaction's own input when it called the
//! precompile directly (checked against the root). A batch whose records are at hand neither
//! way (a contract settled it and the cache lost them) is still indexed with its id, count,
//! root and credits, so proofs of its epoch's other batches still work. The batch's credits come from its
//! `BatchPaid` event and its per-model totals from its records, for the index's lifetime
//! totals (the state keeps none for batches).

use crate::EvmConfig;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_primitives::{B256, Bytes};
use std::collections::BTreeMap;
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, IAttribution, IRoyalties, ROYALTIES_ADDRESS, decode_batch, decode_credits,
    records_root,
};
use tributary_primitives::{Receipt, TxEnvelope};
use tributary_storage::{ModelTotals, SettledBatch};

impl EvmConfig {
    /// The batches block `number` settled, in order.
    pub(crate) fn settled_batches(
        &self,
        number: u64,
        body: &[TxEnvelope],
        receipts: &[Receipt],
    ) -> Vec<SettledBatch> {
        let mut out = Vec::new();
        for (index, (tx, receipt)) in body.iter().zip(receipts).enumerate() {
            for log in receipt.logs() {
                if log.address != ATTRIBUTION_ADDRESS
                    || log.topics().first() != Some(&IAttribution::BatchSettled::SIGNATURE_HASH)
                {
                    continue;
                }
                let Ok(event) = IAttribution::BatchSettled::decode_log_data(&log.data) else {
                    continue;
                };
                let records = self
                    .evm_factory()
                    .settled_records()
                    .get(&event.root)
                    .or_else(|| from_input(tx, event.root));
                if records.is_none() {
                    tracing::warn!(
                        target: "evm::batches",
                        number,
                        batch = event.batchId,
                        root = %event.root,
                        "a settled batch's records are not at hand: the index keeps its link \
                         and credits, so its epoch stays provable, but not its records"
                    );
                }
                let records = records.unwrap_or_default();
                out.push(SettledBatch {
                    id: event.batchId,
                    block_number: number,
                    tx_index: index as u32,
                    operator: event.operator,
                    root: event.root,
                    count: event.count,
                    models: model_totals(&records),
                    credits: credits(receipt, event.batchId),
                    records,
                });
            }
        }
        out
    }
}

/// What the records add to each model's totals.
fn model_totals(records: &[u8]) -> Vec<ModelTotals> {
    let mut models: BTreeMap<u64, ModelTotals> = BTreeMap::new();
    for (record, _) in decode_batch(records).unwrap_or_default() {
        let model = models
            .entry(record.model_id)
            .or_insert(ModelTotals { model_id: record.model_id, ..Default::default() });
        model.inferences = model.inferences.saturating_add(1);
        model.tokens = model.tokens.saturating_add(u128::from(record.tokens));
        model.fees = model.fees.saturating_add(record.fee);
    }
    models.into_values().collect()
}

/// The credits of batch `batch` from the `BatchPaid` event in its transaction's receipt.
fn credits(receipt: &Receipt, batch: u64) -> Vec<(alloy_primitives::Address, u128)> {
    receipt
        .logs()
        .iter()
        .filter(|log| log.address == ROYALTIES_ADDRESS)
        .filter_map(|log| IRoyalties::BatchPaid::decode_log_data(&log.data).ok())
        .find(|paid| paid.batchId == batch)
        .and_then(|paid| decode_credits(&paid.credits))
        .unwrap_or_default()
}

/// The records of a direct `settleBatch` call, if its input holds the ones under `root`.
fn from_input(tx: &TxEnvelope, root: B256) -> Option<Bytes> {
    use alloy::consensus::Transaction;
    if tx.to() != Some(ATTRIBUTION_ADDRESS) {
        return None;
    }
    let call = IAttribution::settleBatchCall::abi_decode(tx.input()).ok()?;
    (records_root(&call.records) == Some(root)).then_some(call.records)
}

#[cfg(test)]
mod tests {
    use crate::{BlockAttributes, EvmConfig};
    use alloy::{
        consensus::{BlockBody, SignableTransaction, TxEip1559, transaction::Recovered},
        network::TxSignerSync,
        signers::local::PrivateKeySigner,
        sol_types::SolCall,
    };
    use alloy_primitives::{Address, B256, TxKind, U256};
    use std::sync::Arc;
    use tributary_chainspec::ChainSpec;
    use tributary_precompiles::{
        ATTRIBUTION_ADDRESS, IAttribution as A, IRoyalties as R, InferenceRecord,
        ROYALTIES_ADDRESS, encode_batch,
    };
    use tributary_primitives::{Block, TxEnvelope};
    use tributary_storage::Database;

    /// Dev account 0's calls, nonces from 0.
    fn calls(calls: Vec<(Address, U256, Vec<u8>)>) -> Vec<Recovered<TxEnvelope>> {
        let key: PrivateKeySigner =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap();
        calls
            .into_iter()
            .enumerate()
            .map(|(nonce, (to, value, input))| {
                let mut tx = TxEip1559 {
                    chain_id: tributary_chainspec::DEV_CHAIN_ID,
                    nonce: nonce as u64,
                    gas_limit: 1_000_000,
                    max_fee_per_gas: 10_000_000_000,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(to),
                    value,
                    input: input.into(),
                    ..Default::default()
                };
                let signature = key.sign_transaction_sync(&mut tx).unwrap();
                Recovered::new_unchecked(
                    TxEnvelope::Eip1559(tx.into_signed(signature)),
                    key.address(),
                )
            })
            .collect()
    }

    /// A block that settles a batch carries it for the index, whether it is built (records
    /// from what the precompile kept) or imported by another node (records from the
    /// transaction's input), and both carry the same.
    #[test]
    fn built_and_imported_blocks_carry_their_settled_batches() {
        let chain = Arc::new(ChainSpec::dev());
        let (built_dir, imported_dir) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let built_db = Database::open(built_dir.path(), &chain, Default::default()).unwrap();
        let imported_db = Database::open(imported_dir.path(), &chain, Default::default()).unwrap();
        let payer: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse().unwrap();
        let price = U256::from(2_000_000_000_000_000u64);
        let records: Vec<InferenceRecord> = (0..3u8)
            .map(|i| InferenceRecord {
                model_id: 1,
                payer,
                tokens: 800 + u64::from(i),
                fee: (800 + u128::from(i)) * 2_000_000_000_000_000 / 1000,
                output_hash: B256::repeat_byte(i + 1),
                attributions: vec![(1, 1)],
            })
            .collect();
        let z = U256::ZERO;
        let txs = calls(vec![
            (ATTRIBUTION_ADDRESS, z, A::createDatanetCall { metadataUri: "d".into() }.abi_encode()),
            (
                ATTRIBUTION_ADDRESS,
                z,
                A::submitContributionCall {
                    datanetId: 1,
                    contentHash: B256::repeat_byte(1),
                    weight: 1,
                }
                .abi_encode(),
            ),
            (
                ATTRIBUTION_ADDRESS,
                z,
                A::reviewContributionCall { contributionId: 1, accepted: true }.abi_encode(),
            ),
            (
                ATTRIBUTION_ADDRESS,
                z,
                A::registerModelCall {
                    modelHash: B256::repeat_byte(9),
                    metadataUri: "m".into(),
                    pricePerKiloToken: price,
                    dataBps: 4_000,
                    operatorBps: 1_000,
                    datanetIds: vec![1],
                }
                .abi_encode(),
            ),
            (ROYALTIES_ADDRESS, U256::from(10u64.pow(18)), R::depositCall {}.abi_encode()),
            (ROYALTIES_ADDRESS, z, R::approveCall { modelId: 1, cap: U256::MAX }.abi_encode()),
            (
                ATTRIBUTION_ADDRESS,
                z,
                A::settleBatchCall { records: encode_batch(&records).into() }.abi_encode(),
            ),
        ]);
        let parent = built_db.head();
        let attrs = BlockAttributes {
            timestamp: parent.timestamp + 2,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            l1_info: Default::default(),
            deposits: Vec::new(),
        };
        let evm = EvmConfig::new(chain.clone());
        let built = evm.build_block(&built_db, &parent, attrs, txs).unwrap();
        assert!(built.rejected.is_empty(), "{:?}", built.rejected);
        let batches = &built.block.batches;
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        assert_eq!((batch.id, batch.block_number, batch.tx_index), (1, 1, 7));
        assert_eq!(batch.records.as_ref(), encode_batch(&records).as_slice());
        let fees: u128 = records.iter().map(|r| r.fee).sum();
        let totals =
            tributary_storage::ModelTotals { model_id: 1, inferences: 3, tokens: 2_403, fees };
        assert_eq!(batch.models, vec![totals]);
        // Dev account 0 is creator, contributor and operator; the treasury takes the rest.
        assert_eq!(batch.credits.len(), 2, "{:?}", batch.credits);
        assert_eq!(batch.credits[1].0, payer);
        assert_eq!(batch.credits.iter().map(|(_, amount)| amount).sum::<u128>(), fees);
        assert!(
            evm.evm_factory().settled_records().get(&batch.root).is_some(),
            "the builder kept the records as the precompile settled them"
        );

        // Another node, with nothing kept from the build: the records come from the input.
        let block = Block {
            header: built.block.header.inner().clone(),
            body: BlockBody {
                transactions: built.block.body.clone(),
                ommers: vec![],
                withdrawals: Some(Default::default()),
            },
        };
        let (imported, _) =
            EvmConfig::new(chain.clone()).execute_block(&imported_db, &block).unwrap();
        assert_eq!(&imported.batches, batches);

        // Records neither kept nor in the settling transaction's input (as when a contract
        // settles and the cache lost them): the batch is indexed without them, with its
        // count, root and credits, so its epoch's chain stays whole.
        let mut body = built.block.body.clone();
        body[7] = body[0].clone();
        let blind = EvmConfig::new(chain).settled_batches(1, &body, &built.block.receipts);
        let expected = tributary_storage::SettledBatch {
            records: Default::default(),
            models: vec![],
            ..batch.clone()
        };
        assert_eq!(blind, vec![expected]);
        assert_eq!(blind[0].count, 3);
    }
}
