//! Gas price suggestions and `eth_feeHistory`.

use super::EthHandler;
use crate::RpcError;
use alloy::{
    consensus::{Header, Transaction},
    eips::{BlockNumberOrTag, eip7840::BlobParams},
    rpc::types::FeeHistory,
};
use alloy_primitives::U256;

/// The blob base fee of `header`'s block (from its excess blob gas at Prague's parameters); 0
/// for a block from before blobs.
fn blob_fee(header: &Header) -> u128 {
    header.blob_fee(BlobParams::prague()).unwrap_or_default()
}

/// The blob base fee of the block after `header`. An OP chain carries no blobs (from Jovian its
/// headers' `blob_gas_used` holds the DA footprint instead), so its excess stays 0 and the
/// fee at its 1 wei floor.
pub(crate) fn next_blob_fee(header: &Header, optimism: bool) -> u128 {
    let next = if optimism { None } else { header.next_block_blob_fee(BlobParams::prague()) };
    next.unwrap_or(BlobParams::prague().min_blob_fee)
}

/// The tip suggested when recent blocks hold no transactions: op-geth's floor, 0.001 gwei.
pub(crate) const MIN_SUGGESTED_TIP: u128 = 1_000_000;
/// Blocks looked at for the tip suggestion.
const TIP_LOOKBACK: u64 = 20;
/// Most blocks one `eth_feeHistory` call covers.
const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;

impl EthHandler {
    /// The 60th percentile of recent non-deposit tips, at least [`MIN_SUGGESTED_TIP`].
    pub(super) fn suggested_tip(&self) -> Result<u128, RpcError> {
        let head = self.ctx.db.head_number();
        let mut tips = Vec::new();
        for number in head.saturating_sub(TIP_LOOKBACK - 1)..=head {
            let Some(header) = self.ctx.db.header(number)? else { continue };
            let base_fee = header.base_fee_per_gas.unwrap_or_default();
            for tx in self.ctx.db.body(number)?.unwrap_or_default() {
                if !tx.is_deposit()
                    && let Some(tip) = tx.effective_tip_per_gas(base_fee)
                {
                    tips.push(tip);
                }
            }
        }
        tips.sort_unstable();
        let tip = tips.get(tips.len() * 6 / 10).copied().unwrap_or_default();
        Ok(tip.max(MIN_SUGGESTED_TIP))
    }

    pub(super) fn gas_price_inner(&self) -> Result<U256, RpcError> {
        let head = self.ctx.db.head();
        let next_base_fee = self.ctx.evm.chain().next_base_fee(&head, head.timestamp + 1);
        Ok(U256::from(u128::from(next_base_fee) + self.suggested_tip()?))
    }

    pub(super) fn fee_history_inner(
        &self,
        block_count: u64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> Result<FeeHistory, RpcError> {
        if let Some(p) = &percentiles
            && (p.iter().any(|x| !(0.0..=100.0).contains(x)) || p.windows(2).any(|w| w[0] > w[1]))
        {
            return Err(RpcError::InvalidParams(
                "reward percentiles must be ascending and within [0, 100]".into(),
            ));
        }
        let newest = self.resolve_tag(newest).ok_or(RpcError::HeaderNotFound)?;
        let count = block_count.min(MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
        if count == 0 {
            return Ok(FeeHistory::default());
        }
        let oldest = newest + 1 - count;
        let optimism = self.ctx.evm.chain().is_optimism();
        let mut history = FeeHistory { oldest_block: oldest, ..Default::default() };
        let mut rewards = Vec::new();
        let mut last = None;
        for number in oldest..=newest {
            let header = self.sealed_header(number)?;
            let base_fee = header.base_fee_per_gas.unwrap_or_default();
            history.base_fee_per_gas.push(base_fee.into());
            history.gas_used_ratio.push(header.gas_used as f64 / header.gas_limit.max(1) as f64);
            history.base_fee_per_blob_gas.push(blob_fee(&header));
            let blob_gas_used = if optimism { 0 } else { header.blob_gas_used.unwrap_or_default() };
            history
                .blob_gas_used_ratio
                .push(blob_gas_used as f64 / BlobParams::prague().max_blob_gas_per_block() as f64);
            if let Some(percentiles) = &percentiles {
                rewards.push(self.block_rewards(number, base_fee, percentiles)?);
            }
            last = Some(header);
        }
        if let Some(last) = last {
            let next = self.ctx.evm.chain().next_base_fee(&last, last.timestamp + 1);
            history.base_fee_per_gas.push(next.into());
            history.base_fee_per_blob_gas.push(next_blob_fee(&last, optimism));
        }
        history.reward = percentiles.map(|_| rewards);
        Ok(history)
    }

    /// Tips at the given percentiles of gas used in block `number`.
    fn block_rewards(
        &self,
        number: u64,
        base_fee: u64,
        percentiles: &[f64],
    ) -> Result<Vec<u128>, RpcError> {
        let body = self.ctx.db.body(number)?.unwrap_or_default();
        let receipts = self.ctx.db.receipts(number)?.unwrap_or_default();
        let mut previous = 0u64;
        let mut by_tip: Vec<(u128, u64)> = Vec::new();
        for (tx, receipt) in body.iter().zip(&receipts) {
            let cumulative = receipt.cumulative_gas_used();
            let gas = cumulative.saturating_sub(previous);
            previous = cumulative;
            if tx.is_deposit() {
                continue;
            }
            by_tip.push((tx.effective_tip_per_gas(base_fee).unwrap_or_default(), gas));
        }
        if by_tip.is_empty() {
            return Ok(vec![0; percentiles.len()]);
        }
        by_tip.sort_unstable_by_key(|(tip, _)| *tip);
        let total: u64 = by_tip.iter().map(|(_, gas)| gas).sum();
        let mut out = Vec::with_capacity(percentiles.len());
        let (mut index, mut sum) = (0usize, by_tip[0].1);
        for p in percentiles {
            let threshold = (total as f64 * p / 100.0) as u64;
            while sum < threshold && index + 1 < by_tip.len() {
                index += 1;
                sum += by_tip[index].1;
            }
            out.push(by_tip[index].0);
        }
        Ok(out)
    }
}
