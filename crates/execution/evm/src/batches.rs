//! The batches of inference records a block settled (`settleBatch`), for the storage index:
//! each `BatchSettled` log of a successful transaction names a Merkle root, and the records
//! under it come from what the precompile kept while the block executed, or else from the
//! transaction's own input when it called the precompile directly. Either way they are checked
//! against the root.

use crate::EvmConfig;
use alloy::sol_types::{SolCall, SolEvent};
use alloy_primitives::{B256, Bytes};
use tributary_precompiles::{
    ATTRIBUTION_ADDRESS, IAttribution, decode_batch, leaf_hash, merkle_root,
};
use tributary_primitives::{OpTxEnvelope, Receipt};
use tributary_storage::SettledBatch;

impl EvmConfig {
    /// The batches block `number` settled, in order.
    pub(crate) fn settled_batches(
        &self,
        number: u64,
        body: &[OpTxEnvelope],
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
                let kept = self.evm_factory().settled_records().get(&event.root);
                let records = kept
                    .filter(|records| root_of(records) == Some(event.root))
                    .or_else(|| from_input(tx, event.root));
                match records {
                    Some(records) => out.push(SettledBatch {
                        id: event.batchId,
                        block_number: number,
                        tx_index: index as u32,
                        operator: event.operator,
                        root: event.root,
                        records,
                    }),
                    None => tracing::error!(
                        target: "evm::batches",
                        number,
                        batch = event.batchId,
                        root = %event.root,
                        "a settled batch's records are not at hand; it is left out of the index"
                    ),
                }
            }
        }
        out
    }
}

/// The Merkle root of packed records, or None when they do not decode.
fn root_of(records: &[u8]) -> Option<B256> {
    let decoded = decode_batch(records).ok()?;
    let leaves: Vec<B256> =
        decoded.iter().filter_map(|(_, range)| records.get(range.clone()).map(leaf_hash)).collect();
    Some(merkle_root(&leaves))
}

/// The records of a direct `settleBatch` call, if its input holds the ones under `root`.
fn from_input(tx: &OpTxEnvelope, root: B256) -> Option<Bytes> {
    use alloy::consensus::Transaction;
    if tx.to() != Some(ATTRIBUTION_ADDRESS) {
        return None;
    }
    let call = IAttribution::settleBatchCall::abi_decode(tx.input()).ok()?;
    (root_of(&call.records) == Some(root)).then_some(call.records)
}
