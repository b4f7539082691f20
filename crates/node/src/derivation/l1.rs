//! L1 blocks for the pipeline, read over L1 JSON-RPC: header fields, every transaction (the
//! pipeline authenticates batcher transactions itself) and the portal's deposits.

use alloy::{
    consensus::Transaction as _,
    rpc::types::{BlockNumberOrTag, BlockTransactions},
};
use alloy_primitives::U256;
use tributary_chainspec::RollupConfig;
use tributary_derive::{L1Block, L1Transaction};
use tributary_l1::L1Client;

/// L1 block `number`, or None when the L1 does not have it yet.
///
/// # Errors
///
/// The L1 did not answer, or answered with something unusable: try again later.
pub(crate) async fn fetch_l1_block(
    l1: &L1Client,
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
    let transactions = txs
        .iter()
        .map(|tx| L1Transaction { from: tx.inner.signer(), to: tx.to(), input: tx.input().clone() })
        .collect();
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
