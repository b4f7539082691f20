//! Batch validity: which batch makes the next safe block, under Holocene's rules (no
//! buffering: a batch from the future is dropped, one from the past is skipped).

use crate::{L1Block, L2BlockInfo, L2Chain};
use tributary_chainspec::RollupConfig;
use tributary_protocol::{SingularBatch, SpanBatch};

/// The deposit transaction type, which no batch may carry.
const DEPOSIT_TX_TYPE: u8 = 0x7e;

/// What to do with a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Validity {
    /// It makes the next block.
    Accept,
    /// It is for blocks the safe chain already has: skip it, keep reading the channel.
    Past,
    /// It is invalid: drop it and the rest of its channel.
    Drop(String),
    /// Not decidable with what is known (an L1 block not seen yet): treated as a drop of this
    /// batch only, as Holocene does, without flushing.
    Undecided,
}

/// What a batch is checked against.
pub(crate) struct BatchContext<'a> {
    pub(crate) rollup: &'a RollupConfig,
    /// The safe head: the batch must build on it.
    pub(crate) safe: &'a L2BlockInfo,
    /// L1 blocks from the safe head's origin up to the current one.
    pub(crate) window: &'a [L1Block],
    /// The L1 block the batch was read from.
    pub(crate) inclusion: u64,
}

impl BatchContext<'_> {
    fn next_timestamp(&self) -> u64 {
        self.safe.timestamp.saturating_add(self.rollup.block_time)
    }

    fn window_block(&self, number: u64) -> Option<&L1Block> {
        self.window.iter().find(|block| block.number == number)
    }
}

/// The singular-batch rules (the OP Stack's batch queue, Holocene variant).
pub(crate) fn check_singular(ctx: &BatchContext<'_>, batch: &SingularBatch) -> Validity {
    let Some(epoch) = ctx.window.first() else { return Validity::Undecided };
    let next_timestamp = ctx.next_timestamp();
    if batch.timestamp > next_timestamp {
        return Validity::Drop(format!(
            "batch for {} is ahead of the next block at {next_timestamp}",
            batch.timestamp
        ));
    }
    if batch.timestamp < next_timestamp {
        return Validity::Past;
    }
    if batch.parent_hash != ctx.safe.hash {
        return Validity::Drop(format!("parent {} is not the safe head", batch.parent_hash));
    }
    if batch.epoch_num.saturating_add(ctx.rollup.seq_window_size) < ctx.inclusion {
        return Validity::Drop(format!(
            "batch for epoch {} included at {}, past the sequencing window",
            batch.epoch_num, ctx.inclusion
        ));
    }
    let origin = if batch.epoch_num == epoch.number {
        epoch
    } else if Some(batch.epoch_num) == epoch.number.checked_add(1) {
        match ctx.window.get(1) {
            Some(next) => next,
            None => return Validity::Undecided,
        }
    } else {
        return Validity::Drop(format!(
            "epoch {} is neither the safe head's ({}) nor the next",
            batch.epoch_num, epoch.number
        ));
    };
    if batch.epoch_hash != origin.hash {
        return Validity::Drop(format!("epoch {} hash mismatch", batch.epoch_num));
    }
    if batch.timestamp < origin.timestamp {
        return Validity::Drop(format!(
            "timestamp {} before its L1 origin's {}",
            batch.timestamp, origin.timestamp
        ));
    }
    let max = origin.timestamp.saturating_add(RollupConfig::FJORD_MAX_SEQUENCER_DRIFT);
    if batch.timestamp > max {
        if !batch.transactions.is_empty() {
            return Validity::Drop(format!("past the sequencer drift ({max}) with transactions"));
        }
        // An empty batch may exceed the drift only to keep L2 time ahead of L1 time, while the
        // next origin is not yet usable.
        if epoch.number == origin.number {
            match ctx.window.get(1) {
                None => return Validity::Undecided,
                Some(next) if batch.timestamp >= next.timestamp => {
                    return Validity::Drop(
                        "past the drift while the next origin was usable".into(),
                    );
                }
                Some(_) => {}
            }
        }
    }
    check_transactions(&batch.transactions)
}

/// No empty transactions and no deposits: those come from L1 only.
fn check_transactions(txs: &[alloy_primitives::Bytes]) -> Validity {
    for (index, tx) in txs.iter().enumerate() {
        match tx.first() {
            None => return Validity::Drop(format!("transaction {index} is empty")),
            Some(&DEPOSIT_TX_TYPE) => {
                return Validity::Drop(format!("transaction {index} is a deposit"));
            }
            Some(_) => {}
        }
    }
    Validity::Accept
}

/// The span-batch prefix rules (Holocene runs these before splitting the span into
/// singular batches, each then checked with [`check_singular`]), including the check that
/// blocks the span shares with the safe chain are the same blocks.
pub(crate) fn check_span(
    ctx: &BatchContext<'_>,
    span: &SpanBatch,
    chain: &impl L2Chain,
) -> Validity {
    let (Some(first), Some(last)) = (span.blocks.first(), span.blocks.last()) else {
        return Validity::Drop("empty span batch".into());
    };
    let Some(epoch) = ctx.window.first() else { return Validity::Undecided };
    if Some(first.epoch_num) == epoch.number.checked_add(1) && ctx.window.len() < 2 {
        return Validity::Undecided;
    }
    let next_timestamp = ctx.next_timestamp();
    if first.timestamp > next_timestamp {
        return Validity::Drop(format!(
            "span starts at {}, after the next block at {next_timestamp}",
            first.timestamp
        ));
    }
    if last.timestamp < next_timestamp {
        return Validity::Past;
    }
    let block_time = ctx.rollup.block_time.max(1);
    let parent = if first.timestamp < next_timestamp {
        let behind = ctx.safe.timestamp.saturating_sub(first.timestamp);
        if first.timestamp > ctx.safe.timestamp || behind % block_time != 0 {
            return Validity::Drop("overlapping span is not block-aligned".into());
        }
        let Some(number) =
            ctx.safe.number.checked_sub(behind / block_time).and_then(|n| n.checked_sub(1))
        else {
            return Validity::Drop("overlapping span starts before genesis".into());
        };
        match chain.block(number) {
            Some((info, _)) => info,
            None => return Validity::Undecided,
        }
    } else {
        *ctx.safe
    };
    if !span.check_parent_hash(&parent.hash) {
        return Validity::Drop(format!("parent check does not match block {}", parent.number));
    }
    if first.epoch_num.saturating_add(ctx.rollup.seq_window_size) < ctx.inclusion {
        return Validity::Drop("span included past the sequencing window".into());
    }
    if first.epoch_num > parent.l1_origin.number.saturating_add(1) {
        return Validity::Drop("span's first origin skips an L1 block".into());
    }
    match ctx.window_block(last.epoch_num) {
        Some(block) if !span.check_origin_hash(&block.hash) => {
            return Validity::Drop("L1 origin check does not match".into());
        }
        Some(_) => {}
        None => return Validity::Undecided,
    }
    if first.epoch_num < parent.l1_origin.number {
        return Validity::Drop("span's first origin is older than its parent's".into());
    }
    // Blocks the safe chain already has must be the same blocks.
    for block in span.blocks.iter().take_while(|block| block.timestamp < next_timestamp) {
        let behind = (ctx.safe.timestamp.saturating_sub(block.timestamp)) / block_time;
        let Some((info, txs)) = ctx.safe.number.checked_sub(behind).and_then(|n| chain.block(n))
        else {
            return Validity::Undecided;
        };
        if info.l1_origin.number != block.epoch_num || txs != block.transactions {
            return Validity::Drop(format!("span differs from safe block {}", info.number));
        }
    }
    Validity::Accept
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{B256, Bytes, U256};
    use tributary_chainspec::BlockId;

    fn rollup() -> RollupConfig {
        let mut config = tributary_chainspec::RollupConfig::from_json(
            r#"{"genesis":{"l1":{"hash":"0x0000000000000000000000000000000000000000000000000000000000000001","number":0},
            "l2":{"hash":"0x0000000000000000000000000000000000000000000000000000000000000002","number":0},"l2_time":1000,
            "system_config":{"batcherAddr":"0x0000000000000000000000000000000000000003","overhead":"0x0000000000000000000000000000000000000000000000000000000000000000",
            "scalar":"0x0000000000000000000000000000000000000000000000000000000000000000","gasLimit":30000000}},
            "block_time":2,"max_sequencer_drift":10,"seq_window_size":4,"channel_timeout":3,"l1_chain_id":900,"l2_chain_id":901,
            "batch_inbox_address":"0xff00000000000000000000000000000000000385","deposit_contract_address":"0x0000000000000000000000000000000000000004",
            "unsafe_block_signer":"0x0000000000000000000000000000000000000005"}"#,
        )
        .unwrap();
        config.block_time = 2;
        config
    }

    fn l1(number: u64, timestamp: u64) -> L1Block {
        L1Block {
            number,
            hash: B256::with_last_byte(number as u8 + 0x10),
            parent_hash: B256::with_last_byte((number as u8).wrapping_sub(1) + 0x10),
            timestamp,
            base_fee: U256::from(1),
            blob_base_fee: U256::from(1),
            mix_hash: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            transactions: vec![],
            deposits: vec![],
        }
    }

    fn safe() -> L2BlockInfo {
        L2BlockInfo {
            number: 5,
            hash: B256::repeat_byte(0xaa),
            timestamp: 1010,
            l1_origin: BlockId { number: 1, hash: B256::with_last_byte(0x11) },
            sequence_number: 2,
        }
    }

    fn batch(timestamp: u64, epoch: u64, txs: Vec<Bytes>) -> SingularBatch {
        SingularBatch {
            parent_hash: B256::repeat_byte(0xaa),
            epoch_num: epoch,
            epoch_hash: B256::with_last_byte(epoch as u8 + 0x10),
            timestamp,
            transactions: txs,
        }
    }

    #[test]
    fn singular_batch_rules() {
        let rollup = rollup();
        let safe = safe();
        let window = [l1(1, 1000), l1(2, 1012)];
        let ctx = BatchContext { rollup: &rollup, safe: &safe, window: &window, inclusion: 3 };
        let tx = Bytes::from(vec![2, 0xc0]);
        assert_eq!(check_singular(&ctx, &batch(1012, 1, vec![tx.clone()])), Validity::Accept);
        assert_eq!(check_singular(&ctx, &batch(1012, 2, vec![tx.clone()])), Validity::Accept);
        assert_eq!(check_singular(&ctx, &batch(1010, 1, vec![])), Validity::Past);
        assert!(matches!(check_singular(&ctx, &batch(1014, 1, vec![])), Validity::Drop(_)));
        let mut wrong_parent = batch(1012, 1, vec![]);
        wrong_parent.parent_hash = B256::ZERO;
        assert!(matches!(check_singular(&ctx, &wrong_parent), Validity::Drop(_)));
        let mut wrong_hash = batch(1012, 1, vec![]);
        wrong_hash.epoch_hash = B256::ZERO;
        assert!(matches!(check_singular(&ctx, &wrong_hash), Validity::Drop(_)));
        assert!(matches!(check_singular(&ctx, &batch(1012, 3, vec![])), Validity::Drop(_)));
        assert!(matches!(check_singular(&ctx, &batch(1012, 0, vec![])), Validity::Drop(_)));
        // deposits and empty transactions are never in a batch
        let deposit = Bytes::from(vec![0x7e, 1]);
        assert!(matches!(check_singular(&ctx, &batch(1012, 1, vec![deposit])), Validity::Drop(_)));
        assert!(matches!(
            check_singular(&ctx, &batch(1012, 1, vec![Bytes::new()])),
            Validity::Drop(_)
        ));
        // the sequencing window: epoch 1 + 4 < inclusion 6
        let late = BatchContext { inclusion: 6, ..ctx };
        assert!(matches!(check_singular(&late, &batch(1012, 1, vec![])), Validity::Drop(_)));
        // L2 time before its origin's
        let window = [l1(1, 1000), l1(2, 1013)];
        let ctx = BatchContext { window: &window, ..ctx };
        assert!(matches!(check_singular(&ctx, &batch(1012, 2, vec![])), Validity::Drop(_)));
    }

    #[test]
    fn drift_allows_only_empty_batches_that_could_not_move_on() {
        let rollup = rollup();
        // Fjord's drift is 1800 s: origin 1 at 1000, the next block at 2802 is past it.
        let safe = L2BlockInfo { timestamp: 2800, ..safe() };
        let tx = Bytes::from(vec![2, 0xc0]);
        let window = [l1(1, 1000)];
        let ctx = BatchContext { rollup: &rollup, safe: &safe, window: &window, inclusion: 2 };
        assert!(matches!(
            check_singular(&ctx, &batch(2802, 1, vec![tx.clone()])),
            Validity::Drop(_)
        ));
        assert_eq!(check_singular(&ctx, &batch(2802, 1, vec![])), Validity::Undecided);
        // the next origin is not usable yet (it is newer than the block): empty is fine
        let window = [l1(1, 1000), l1(2, 2810)];
        let ctx = BatchContext { window: &window, ..ctx };
        assert_eq!(check_singular(&ctx, &batch(2802, 1, vec![])), Validity::Accept);
        // it was usable: the batch should have moved on
        let window = [l1(1, 1000), l1(2, 2801)];
        let ctx = BatchContext { window: &window, ..ctx };
        assert!(matches!(check_singular(&ctx, &batch(2802, 1, vec![])), Validity::Drop(_)));
        // within the drift, transactions are fine
        let safe = L2BlockInfo { timestamp: 2790, ..self::safe() };
        let ctx = BatchContext { safe: &safe, ..ctx };
        assert_eq!(check_singular(&ctx, &batch(2792, 1, vec![tx])), Validity::Accept);
    }
}
