//! L1 retrieval, the frame queue and the channel assembler, with Holocene's rules: one
//! batcher transaction at a time, frames strictly in order, one channel at a time.

use alloy_primitives::Address;
use std::collections::VecDeque;
use tributary_protocol::{ChannelId, Frame, MAX_RLP_BYTES_PER_CHANNEL, decode_batcher_tx};

use crate::L1Block;

/// Per-frame overhead counted against the channel size limit (the specs' 200 bytes).
const FRAME_SIZE_OVERHEAD: usize = 200;

/// The frames of the batcher transactions of one L1 block, authenticated and pruned.
///
/// A transaction counts when it goes to the inbox from the batcher. Frames that do not parse
/// void their whole transaction. Within each transaction, Holocene's pruning keeps each
/// channel's frames contiguous and in order, and a new first frame of another channel
/// discards the unclosed channel before it.
pub(crate) fn frames_of(block: &L1Block, inbox: Address, batcher: Address) -> VecDeque<Frame> {
    let mut out = VecDeque::new();
    for tx in &block.transactions {
        if tx.to != Some(inbox) || tx.from != batcher {
            continue;
        }
        match decode_batcher_tx(&tx.input) {
            Ok(frames) => out.extend(prune(frames)),
            Err(err) => tracing::debug!(
                target: "derive::frames",
                l1_block = block.number,
                %err,
                "ignoring a batcher transaction"
            ),
        }
    }
    out
}

/// Holocene's frame queue pruning over one transaction's frames.
fn prune(frames: Vec<Frame>) -> Vec<Frame> {
    let mut kept: Vec<Frame> = Vec::with_capacity(frames.len());
    for frame in frames {
        let Some(prev) = kept.last() else {
            kept.push(frame);
            continue;
        };
        if prev.channel_id == frame.channel_id {
            if prev.is_last || Some(frame.number) != prev.number.checked_add(1) {
                continue;
            }
        } else if frame.number != 0 {
            continue;
        } else if !prev.is_last {
            // A new channel starts before the previous one closed: drop what is left of it.
            let id = prev.channel_id;
            while kept.last().is_some_and(|f| f.channel_id == id) {
                kept.pop();
            }
        }
        kept.push(frame);
    }
    kept
}

/// The one channel being assembled.
#[derive(Debug)]
struct Staging {
    id: ChannelId,
    /// The L1 block its first frame came in.
    opened_at: u64,
    data: Vec<u8>,
    frames: u16,
    size: usize,
}

/// Holocene's channel assembler: frames in, complete channels (compressed data) out.
#[derive(Debug, Default)]
pub(crate) struct ChannelAssembler {
    staging: Option<Staging>,
}

impl ChannelAssembler {
    /// Drops the staged channel if it has been open longer than `timeout` L1 blocks at
    /// `origin`.
    pub(crate) fn expire(&mut self, origin: u64, timeout: u64) {
        if self
            .staging
            .as_ref()
            .is_some_and(|channel| channel.opened_at.saturating_add(timeout) < origin)
        {
            let channel = self.staging.take();
            tracing::debug!(target: "derive::channel", id = ?channel.map(|c| c.id), "channel timed out");
        }
    }

    /// Adds one frame read at L1 block `origin`; returns the channel's data when this frame
    /// completes it.
    pub(crate) fn add(&mut self, frame: Frame, origin: u64) -> Option<(ChannelId, Vec<u8>)> {
        if frame.number == 0 {
            if let Some(old) = &self.staging {
                tracing::debug!(target: "derive::channel", id = ?old.id, "unfinished channel replaced");
            }
            self.staging = Some(Staging {
                id: frame.channel_id,
                opened_at: origin,
                data: Vec::new(),
                frames: 0,
                size: 0,
            });
        }
        let channel = self.staging.as_mut()?;
        if channel.id != frame.channel_id || channel.frames != frame.number {
            // Out of order, a duplicate, or another channel's: dropped, the channel stays.
            return None;
        }
        let Some(count) = channel.frames.checked_add(1) else {
            self.staging = None;
            return None;
        };
        channel.frames = count;
        channel.size = channel.size.saturating_add(frame.data.len() + FRAME_SIZE_OVERHEAD);
        channel.data.extend_from_slice(&frame.data);
        if channel.size > MAX_RLP_BYTES_PER_CHANNEL {
            tracing::debug!(target: "derive::channel", id = ?channel.id, "channel over the size limit");
            self.staging = None;
            return None;
        }
        if frame.is_last {
            let channel = self.staging.take()?;
            return Some((channel.id, channel.data));
        }
        None
    }

    /// Forgets the staged channel (a pipeline reset).
    pub(crate) fn clear(&mut self) {
        self.staging = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u8, number: u16, is_last: bool) -> Frame {
        Frame { channel_id: [id; 16], number, data: vec![id, number as u8], is_last }
    }

    fn ids(frames: &[Frame]) -> Vec<(u8, u16)> {
        frames.iter().map(|f| (f.channel_id[0], f.number)).collect()
    }

    #[test]
    fn pruning_keeps_contiguous_in_order_frames() {
        // a gap drops the late frame; a frame after the closing one is dropped
        let kept = prune(vec![
            frame(1, 0, false),
            frame(1, 2, false),
            frame(1, 1, true),
            frame(1, 2, false),
        ]);
        assert_eq!(ids(&kept), [(1, 0), (1, 1)]);
        // a new first frame discards the unclosed channel before it
        let kept = prune(vec![frame(1, 0, false), frame(1, 1, false), frame(2, 0, true)]);
        assert_eq!(ids(&kept), [(2, 0)]);
        // another channel's non-first frame is dropped
        let kept = prune(vec![frame(1, 0, true), frame(2, 1, false), frame(3, 0, true)]);
        assert_eq!(ids(&kept), [(1, 0), (3, 0)]);
    }

    #[test]
    fn assembler_takes_one_channel_in_order_and_times_out() {
        let mut assembler = ChannelAssembler::default();
        assert_eq!(assembler.add(frame(1, 1, false), 10), None, "no channel open");
        assert_eq!(assembler.add(frame(1, 0, false), 10), None);
        assert_eq!(assembler.add(frame(1, 2, true), 10), None, "out of order is dropped");
        assert_eq!(assembler.add(frame(1, 1, true), 11), Some(([1; 16], vec![1, 0, 1, 1])));

        // a channel open longer than the timeout is dropped
        assert_eq!(assembler.add(frame(2, 0, false), 20), None);
        assembler.expire(70, 50);
        assert_eq!(assembler.add(frame(2, 1, true), 70), Some(([2; 16], vec![2, 0, 2, 1])));
        assert_eq!(assembler.add(frame(3, 0, false), 20), None);
        assembler.expire(71, 50);
        assert_eq!(assembler.add(frame(3, 1, true), 71), None, "timed out at 71 > 20 + 50");

        // a new first frame replaces an unfinished channel
        assert_eq!(assembler.add(frame(4, 0, false), 80), None);
        assert_eq!(assembler.add(frame(5, 0, true), 80), Some(([5; 16], vec![5, 0])));
        assert_eq!(assembler.add(frame(4, 1, true), 80), None);
    }
}
