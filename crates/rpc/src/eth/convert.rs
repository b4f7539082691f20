//! Stored blocks, transactions and receipts into their RPC shapes.

use crate::{
    RpcError,
    api::{RpcBlock, RpcReceipt, RpcTransaction},
};
use alloy::{
    consensus::{ReceiptWithBloom, Transaction, transaction::Recovered},
    eips::{Encodable2718, eip4844::DATA_GAS_PER_BLOB, eip7840::BlobParams},
    rpc::types::{BlockTransactions, Log},
};
use alloy_primitives::{Address, B256, U256};
use alloy_rlp::Encodable;
use op_alloy::{
    consensus::OpReceipt,
    rpc_types::{L1BlockInfo as RpcL1BlockInfo, OpTransactionReceipt},
};
use op_revm::{L1BlockInfo, OpSpecId};
use tributary_primitives::{Receipt, SealedHeader, TxEnvelope};

/// Where a transaction sits, for the RPC fields that say so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxPosition {
    pub(crate) block_hash: B256,
    pub(crate) block_number: u64,
    pub(crate) timestamp: u64,
    pub(crate) index: u64,
    pub(crate) base_fee: Option<u64>,
}

pub(crate) fn rpc_header(header: &SealedHeader) -> alloy::rpc::types::Header {
    alloy::rpc::types::Header {
        hash: header.hash(),
        inner: header.inner().clone(),
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(header.inner().length())),
    }
}

pub(crate) fn rpc_transaction(
    tx: &TxEnvelope,
    sender: Address,
    at: Option<TxPosition>,
    receipt: Option<&Receipt>,
) -> RpcTransaction {
    let effective_gas_price =
        at.map(|at| if tx.is_deposit() { 0 } else { tx.effective_gas_price(at.base_fee) });
    let (deposit_nonce, deposit_receipt_version) = match receipt {
        Some(receipt) => match receipt.as_deposit_receipt() {
            Some(r) => (r.deposit_nonce, r.deposit_receipt_version),
            None => (None, None),
        },
        None => (None, None),
    };
    RpcTransaction {
        inner: alloy::rpc::types::Transaction {
            inner: Recovered::new_unchecked(tx.clone(), sender),
            block_hash: at.map(|at| at.block_hash),
            block_number: at.map(|at| at.block_number),
            transaction_index: at.map(|at| at.index),
            effective_gas_price,
            block_timestamp: at.map(|at| at.timestamp),
        },
        deposit_nonce,
        deposit_receipt_version,
    }
}

/// A whole block: transactions as hashes, or in full.
pub(crate) fn rpc_block(
    header: &SealedHeader,
    body: &[TxEnvelope],
    senders: &[Address],
    receipts: Option<&[Receipt]>,
    full: bool,
) -> RpcBlock {
    let transactions = if full {
        let txs = body
            .iter()
            .zip(senders)
            .enumerate()
            .map(|(index, (tx, sender))| {
                let at = position(header, index);
                rpc_transaction(tx, *sender, Some(at), receipts.and_then(|r| r.get(index)))
            })
            .collect();
        BlockTransactions::Full(txs)
    } else {
        BlockTransactions::Hashes(body.iter().map(|tx| tx.tx_hash()).collect())
    };
    RpcBlock {
        header: rpc_header(header),
        uncles: Vec::new(),
        transactions,
        withdrawals: header.withdrawals_root.map(|_| Default::default()),
    }
}

pub(crate) fn position(header: &SealedHeader, index: usize) -> TxPosition {
    TxPosition {
        block_hash: header.hash(),
        block_number: header.number,
        timestamp: header.timestamp,
        index: index as u64,
        base_fee: header.base_fee_per_gas,
    }
}

/// Every receipt of a block, with logs indexed across the block and the L1 fee fields.
pub(crate) fn rpc_receipts(
    header: &SealedHeader,
    body: &[TxEnvelope],
    senders: &[Address],
    receipts: &[Receipt],
    l1_info: Option<&(L1BlockInfo, OpSpecId)>,
) -> Result<Vec<RpcReceipt>, RpcError> {
    let mut first_log_index = 0u64;
    let mut previous_cumulative = 0u64;
    let mut out = Vec::with_capacity(receipts.len());
    for (index, ((tx, sender), receipt)) in body.iter().zip(senders).zip(receipts).enumerate() {
        let at = ReceiptPosition { index, previous_cumulative, first_log_index };
        out.push(rpc_receipt(header, at, tx, *sender, receipt, l1_info)?);
        previous_cumulative = receipt.cumulative_gas_used();
        first_log_index += receipt.logs().len() as u64;
    }
    Ok(out)
}

/// Where a receipt sits in its block: what its gas used and log indexes are counted from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceiptPosition {
    /// The transaction's index.
    pub(crate) index: usize,
    /// The cumulative gas used of the receipt before it (0 for the first).
    pub(crate) previous_cumulative: u64,
    /// How many logs the block's earlier receipts hold.
    pub(crate) first_log_index: u64,
}

/// One receipt, as `eth_getTransactionReceipt` serves it: only this transaction's L1 fee is
/// computed, so a lookup in a block of thousands costs one transaction's work, not the
/// block's.
pub(crate) fn rpc_receipt(
    header: &SealedHeader,
    position: ReceiptPosition,
    tx: &TxEnvelope,
    sender: Address,
    receipt: &Receipt,
    l1_info: Option<&(L1BlockInfo, OpSpecId)>,
) -> Result<RpcReceipt, RpcError> {
    let at = self::position(header, position.index);
    let gas_used = receipt.cumulative_gas_used().saturating_sub(position.previous_cumulative);
    let tx_hash = tx.tx_hash();
    let logs_bloom = *receipt.logs_bloom();
    let mut log_index = position.first_log_index;
    let rpc_log = |inner| {
        let log = Log {
            inner,
            block_hash: Some(at.block_hash),
            block_number: Some(at.block_number),
            block_timestamp: Some(at.timestamp),
            transaction_hash: Some(tx_hash),
            transaction_index: Some(at.index),
            log_index: Some(log_index),
            removed: false,
        };
        log_index += 1;
        log
    };
    // The fields every receipt shares, around a receipt body filled in below.
    let fields = alloy::rpc::types::TransactionReceipt {
        inner: (),
        transaction_hash: tx_hash,
        transaction_index: Some(at.index),
        block_hash: Some(at.block_hash),
        block_number: Some(at.block_number),
        gas_used,
        effective_gas_price: if tx.is_deposit() { 0 } else { tx.effective_gas_price(at.base_fee) },
        blob_gas_used: None,
        blob_gas_price: None,
        from: sender,
        to: tx.to(),
        contract_address: tx.kind().is_create().then(|| sender.create(tx.nonce())),
    };
    Ok(match receipt {
        Receipt::Op(op) => {
            let receipt = OpReceipt::from(op.clone()).map_logs(rpc_log);
            let l1_block_info = match l1_info {
                Some((info, spec)) if !tx.is_deposit() => l1_fields(info, *spec, tx),
                _ => RpcL1BlockInfo::default(),
            };
            RpcReceipt::Op(Box::new(OpTransactionReceipt {
                inner: fields.map_inner(|()| ReceiptWithBloom { receipt, logs_bloom }),
                l1_block_info,
                op_gas_refund: None,
            }))
        }
        Receipt::Eip4844(blob) => {
            let receipt = blob.receipt.clone().map_logs(rpc_log);
            let blobs = tx.blob_versioned_hashes().map_or(0, <[B256]>::len) as u64;
            let blob_gas_price = header
                .excess_blob_gas
                .map(|excess| BlobParams::prague().calc_blob_fee(excess))
                .ok_or_else(|| {
                    RpcError::internal(format!(
                        "{tx_hash}: a blob receipt in a block without blob gas"
                    ))
                })?;
            RpcReceipt::Blob(Box::new(alloy::rpc::types::TransactionReceipt {
                blob_gas_used: Some(blobs * DATA_GAS_PER_BLOB),
                blob_gas_price: Some(blob_gas_price),
                ..fields.map_inner(|()| {
                    alloy::consensus::ReceiptEnvelope::Eip4844(ReceiptWithBloom {
                        receipt,
                        logs_bloom,
                    })
                })
            }))
        }
    })
}

/// The L1 fee a transaction paid, as op-revm charged it.
fn l1_fields(info: &L1BlockInfo, spec: OpSpecId, tx: &TxEnvelope) -> RpcL1BlockInfo {
    let encoded = tx.encoded_2718();
    let mut info = info.clone();
    info.clear_tx_l1_cost();
    let l1_fee = info.calculate_tx_l1_cost(&encoded, spec);
    let l1_gas_used = info.data_gas(&encoded, spec);
    let as_u128 = |v: U256| v.try_into().unwrap_or(u128::MAX);
    RpcL1BlockInfo {
        l1_gas_price: Some(as_u128(info.l1_base_fee)),
        l1_gas_used: Some(as_u128(l1_gas_used)),
        l1_fee: Some(as_u128(l1_fee)),
        l1_fee_scalar: None,
        l1_base_fee_scalar: Some(as_u128(info.l1_base_fee_scalar)),
        l1_blob_base_fee: info.l1_blob_base_fee.map(as_u128),
        l1_blob_base_fee_scalar: info.l1_blob_base_fee_scalar.map(as_u128),
        operator_fee_scalar: info.operator_fee_scalar.map(as_u128),
        operator_fee_constant: info.operator_fee_constant.map(as_u128),
        da_footprint_gas_scalar: info.da_footprint_gas_scalar,
    }
}
