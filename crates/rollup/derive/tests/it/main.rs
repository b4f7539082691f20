//! Derivation on a scripted L1: a sequencer's chain is built in memory, its batches posted in
//! L1 blocks the test chooses, and the pipeline must derive exactly that chain back (or, where
//! the batches are bad or missing, exactly what the spec says instead).

mod scenario;

use alloy_primitives::B256;
use scenario::*;
use tributary_derive::DeriveError;
use tributary_protocol::Compression;

/// Two channels of singular batches in order, one frame per transaction: the whole chain.
#[test]
fn singular_batches_rebuild_the_chain() {
    let mut s = Scenario::new(12);
    let blocks = s.l2_until(16);
    s.post(5, &[Post::channel(1, &blocks[1..9], Kind::Singular)]);
    s.post(9, &[Post::channel(2, &blocks[9..], Kind::Singular)]);
    let derived = s.derive();
    assert_eq!(derived.numbers(), (1..=16).collect::<Vec<_>>());
    derived.assert_matches(&s);
}

/// A span batch whose blocks cross epochs, compressed with brotli, split over frames in
/// transactions of two L1 blocks.
#[test]
fn a_span_batch_across_epochs_in_frames_over_two_l1_blocks() {
    let mut s = Scenario::new(10);
    let blocks = s.l2_until(10);
    let epochs: std::collections::BTreeSet<u64> =
        blocks[1..].iter().map(|b| b.info.l1_origin.number).collect();
    assert!(epochs.len() >= 3, "the span crosses epochs: {epochs:?}");
    let frames = Post::channel(7, &blocks[1..], Kind::Span(Compression::Brotli)).split(3);
    s.post(6, &frames[..2]);
    s.post(7, &frames[2..]);
    let derived = s.derive();
    assert_eq!(derived.numbers(), (1..=10).collect::<Vec<_>>());
    derived.assert_matches(&s);
}

/// Every transaction of a channel is handed out for sender recovery once, as soon as the
/// channel is read: before the blocks that carry it are derived.
#[test]
fn read_transactions_come_out_once_and_ahead_of_their_blocks() {
    let mut s = Scenario::new(10);
    let blocks = s.l2_until(10);
    s.post(6, &[Post::channel(3, &blocks[1..6], Kind::Span(Compression::Zlib))]);
    s.post(7, &[Post::channel(4, &blocks[6..], Kind::Singular)]);
    let all: Vec<_> = blocks[1..].iter().flat_map(|b| b.batch.transactions.clone()).collect();
    assert!(all.len() >= 10, "the scenario's blocks carry transactions");
    let mut run = s.start();
    run.until_l1(6);
    // the span's channel is read whole when its first block is derived
    let first_channel: Vec<_> =
        blocks[1..6].iter().flat_map(|b| b.batch.transactions.clone()).collect();
    assert_eq!(run.read, first_channel);
    run.until_end();
    assert_eq!(run.read, all);
    run.derived.assert_matches(&s);
}

/// With L1 blocks pushed ahead, each channel's transactions come out when its L1 block is
/// pushed, before the blocks of the channels before it are derived.
#[test]
fn read_transactions_of_l1_pushed_ahead_come_before_earlier_blocks_are_derived() {
    let mut s = Scenario::new(10);
    let blocks = s.l2_until(10);
    s.post(6, &[Post::channel(3, &blocks[1..6], Kind::Span(Compression::Brotli))]);
    s.post(7, &[Post::channel(4, &blocks[6..], Kind::Singular)]);
    let second_channel: Vec<_> =
        blocks[6..].iter().flat_map(|b| b.batch.transactions.clone()).collect();
    let mut run = s.start();
    run.until_l1(5);
    assert!(run.derived.blocks.is_empty() && run.read.is_empty());
    let l1_6 = s.l1(6);
    run.push(l1_6).unwrap();
    run.push(s.l1(7)).unwrap();
    let err = run.push(s.l1(7)).unwrap_err();
    assert!(matches!(err, DeriveError::L1Reorg { number: 7, .. }), "{err}");
    // One block derived from L1 block 6: L1 block 7's channel has been read already.
    run.step();
    assert_eq!(run.derived.numbers(), vec![1]);
    assert!(run.read.ends_with(&second_channel), "the second channel is handed out ahead");
    let read_so_far = run.read.len();
    run.until_end();
    assert_eq!(run.read.len(), read_so_far, "each transaction comes out once");
    assert_eq!(run.derived.numbers(), (1..=10).collect::<Vec<_>>());
    run.derived.assert_matches(&s);
}

/// Holocene's in-order rule: a channel whose frame 1 arrives before frame 0 is not read, so
/// its blocks come from the next channel that carries them.
#[test]
fn out_of_order_frames_are_dropped() {
    let mut s = Scenario::new(10);
    let blocks = s.l2_until(6);
    let frames = Post::channel(1, &blocks[1..], Kind::Singular).split(2);
    s.post(4, &frames[1..]);
    s.post(5, &frames[..1]);
    s.post(6, &[Post::channel(2, &blocks[1..], Kind::Singular)]);
    let derived = s.derive();
    assert_eq!(derived.numbers(), (1..=6).collect::<Vec<_>>());
    assert!(derived.all_from_l1_at_least(6), "nothing came from the out-of-order channel");
    derived.assert_matches(&s);
}

/// A channel still open `channel_timeout` L1 blocks after its first frame is dropped; its
/// closing frame arriving later is ignored.
#[test]
fn a_channel_past_its_timeout_is_dropped() {
    let mut s = Scenario::new(3 + CHANNEL_TIMEOUT + 2);
    let blocks = s.l2_until(4);
    let frames = Post::channel(1, &blocks[1..], Kind::Singular).split(2);
    s.post(3, &frames[..1]);
    s.post(3 + CHANNEL_TIMEOUT + 1, &frames[1..]);
    s.post(3 + CHANNEL_TIMEOUT + 2, &[Post::channel(2, &blocks[1..], Kind::Singular)]);
    let derived = s.derive();
    assert_eq!(derived.numbers(), (1..=4).collect::<Vec<_>>());
    assert!(derived.all_from_l1_at_least(3 + CHANNEL_TIMEOUT + 2));
    derived.assert_matches(&s);
}

/// An invalid batch (wrong parent) is dropped with the rest of its channel; the next channel's
/// valid batches are taken.
#[test]
fn an_invalid_batch_is_dropped_and_the_next_valid_one_taken() {
    let mut s = Scenario::new(10);
    let blocks = s.l2_until(6);
    let mut bad = blocks[1..].to_vec();
    bad[2].batch.parent_hash = B256::repeat_byte(0xee);
    s.post(4, &[Post::channel(1, &bad, Kind::Singular)]);
    s.post(5, &[Post::channel(2, &blocks[3..], Kind::Singular)]);
    let derived = s.derive();
    assert_eq!(derived.numbers(), (1..=6).collect::<Vec<_>>());
    // Blocks 1 and 2 came from the first channel, the rest from the second.
    assert_eq!(derived.blocks[0].derived_from.number, 4);
    assert_eq!(derived.blocks[1].derived_from.number, 4);
    assert!(derived.blocks[2..].iter().all(|a| a.derived_from.number == 5));
    derived.assert_matches(&s);
}

/// With no batches at all, once the sequencing window of an epoch has passed, deposit-only
/// blocks are derived: one L1 origin after another, each epoch's first block carrying its
/// deposits, and L2 time never behind L1 time. L1 blocks are 4 s apart and L2 blocks 2 s, so
/// each epoch gets two blocks, and each L1 block past the window closes one more epoch.
#[test]
fn the_sequencing_window_closes_with_deposit_only_blocks() {
    let mut s = Scenario::new(SEQ_WINDOW + 6);
    s.deposit_at(2);
    let derived = s.derive();
    let epochs: Vec<u64> = derived.blocks.iter().map(|a| a.l1_info.number).collect();
    assert_eq!(epochs, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    for (i, attrs) in derived.blocks.iter().enumerate() {
        assert_eq!(attrs.timestamp, GENESIS_TIME + BLOCK_TIME * (i as u64 + 1));
        assert!(attrs.transactions.is_empty());
        assert!(attrs.timestamp >= attrs.l1_info.timestamp, "L2 time is not behind L1 time");
        let epoch = attrs.l1_info.number;
        assert_eq!(attrs.derived_from.number, SEQ_WINDOW + epoch, "closed at epoch + window");
        let first_of_epoch = i == 0 || epochs[i - 1] != epoch;
        assert_eq!(attrs.l1_info.sequence_number == 0, first_of_epoch && epoch != 0);
        assert_eq!(attrs.deposits.len(), usize::from(first_of_epoch && epoch == 2));
    }
}

/// An L1 reorg under the pipeline: L1 block 5, which carried the batch of blocks 5..8, is
/// replaced. The next block does not extend the origin, the pipeline says so, and after a reset
/// from an earlier safe head it derives the same blocks from the batch reposted in block 6.
#[test]
fn an_l1_reorg_resets_the_pipeline() {
    let mut s = Scenario::new(10);
    let blocks = s.l2_until(8);
    assert!(blocks.iter().all(|b| b.info.l1_origin.number < 5), "origins survive the reorg");
    s.post(3, &[Post::channel(1, &blocks[1..5], Kind::Singular)]);
    s.post(5, &[Post::channel(2, &blocks[5..], Kind::Singular)]);
    let mut run = s.start();
    run.until_l1(5);
    assert_eq!(run.safe.number, 8);
    let mut forked = s.fork_l1_at(5);
    forked.post(6, &[Post::channel(3, &blocks[5..], Kind::Singular)]);
    let err = run.push(forked.l1(6)).unwrap_err();
    assert!(matches!(err, DeriveError::L1Reorg { number: 6, .. }), "{err}");
    run.reset_onto(&forked, 2);
    run.derived.blocks.clear();
    run.until_end();
    assert_eq!(run.derived.numbers(), (3..=8).collect::<Vec<_>>());
    assert!(run.derived.blocks[..2].iter().all(|a| a.derived_from.number == 3));
    assert!(run.derived.blocks[2..].iter().all(|a| a.derived_from.number == 6));
    run.derived.assert_matches(&s);
}
