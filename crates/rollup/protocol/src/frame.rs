//! Frames and batcher transactions.
//!
//! A batcher transaction's calldata is the derivation version byte `0x00` followed by one or
//! more frames. A frame is `channel_id (16) ++ frame_number (u16 BE) ++ frame_data_length
//! (u32 BE) ++ frame_data ++ is_last (1)`.

/// The only derivation version.
pub const DERIVATION_VERSION_0: u8 = 0;
/// Bytes a frame adds around its data.
pub const FRAME_OVERHEAD: usize = 16 + 2 + 4 + 1;
/// Largest frame data the specs allow.
pub const MAX_FRAME_LEN: usize = 1_000_000;

/// A channel's id.
pub type ChannelId = [u8; 16];

/// One frame of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The channel it belongs to.
    pub channel_id: ChannelId,
    /// Its position in the channel.
    pub number: u16,
    /// A slice of the channel's compressed data.
    pub data: Vec<u8>,
    /// Whether it closes the channel.
    pub is_last: bool,
}

/// Frame bytes that do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// No bytes at all.
    #[error("empty batcher transaction")]
    Empty,
    /// A version byte other than 0.
    #[error("unknown derivation version {0}")]
    WrongVersion(u8),
    /// The bytes end inside a frame.
    #[error("truncated frame: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the frame needs from here.
        needed: usize,
        /// Bytes left.
        have: usize,
    },
    /// A frame longer than the specs allow.
    #[error("frame data length {0} exceeds {MAX_FRAME_LEN}")]
    TooLong(usize),
    /// `is_last` is neither 0 nor 1.
    #[error("bad is_last byte {0}")]
    BadIsLast(u8),
    /// A version byte and nothing after it.
    #[error("batcher transaction has no frames")]
    NoFrames,
}

impl Frame {
    /// The encoded size.
    pub fn encoded_len(&self) -> usize {
        FRAME_OVERHEAD + self.data.len()
    }

    /// Appends the frame's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.channel_id);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.data);
        out.push(self.is_last as u8);
    }

    /// Decodes one frame from the front of `input`, returning it and the rest.
    ///
    /// # Errors
    ///
    /// Truncation, an over-long length, or a bad `is_last` byte.
    pub fn decode(input: &[u8]) -> Result<(Self, &[u8]), FrameError> {
        let truncated = |needed: usize| FrameError::Truncated { needed, have: input.len() };
        let header = input.get(..22).ok_or_else(|| truncated(22))?;
        let mut channel_id = [0u8; 16];
        channel_id.copy_from_slice(&header[..16]);
        let number = u16::from_be_bytes([header[16], header[17]]);
        let len = u32::from_be_bytes([header[18], header[19], header[20], header[21]]) as usize;
        if len > MAX_FRAME_LEN {
            return Err(FrameError::TooLong(len));
        }
        let end = 22 + len;
        let data = input.get(22..end).ok_or_else(|| truncated(end + 1))?.to_vec();
        let is_last = match input.get(end) {
            Some(0) => false,
            Some(1) => true,
            Some(other) => return Err(FrameError::BadIsLast(*other)),
            None => return Err(truncated(end + 1)),
        };
        Ok((Self { channel_id, number, data, is_last }, &input[end + 1..]))
    }
}

/// Calldata of a batcher transaction carrying `frames`.
pub fn encode_batcher_tx(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + frames.iter().map(Frame::encoded_len).sum::<usize>());
    out.push(DERIVATION_VERSION_0);
    for frame in frames {
        frame.encode(&mut out);
    }
    out
}

/// The frames in a batcher transaction's calldata. Any malformed frame rejects the whole
/// transaction, as the derivation spec says.
///
/// # Errors
///
/// See [`FrameError`].
pub fn decode_batcher_tx(calldata: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let (&version, mut rest) = calldata.split_first().ok_or(FrameError::Empty)?;
    if version != DERIVATION_VERSION_0 {
        return Err(FrameError::WrongVersion(version));
    }
    if rest.is_empty() {
        return Err(FrameError::NoFrames);
    }
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let (frame, tail) = Frame::decode(rest)?;
        frames.push(frame);
        rest = tail;
    }
    Ok(frames)
}

/// Cuts `data` into frames whose encoding, with the version byte of a batcher transaction
/// holding one frame each, fits `max_tx_size`.
pub fn split_into_frames(channel_id: ChannelId, data: &[u8], max_tx_size: usize) -> Vec<Frame> {
    let max_data = max_tx_size.saturating_sub(1 + FRAME_OVERHEAD).clamp(1, MAX_FRAME_LEN);
    let chunks: Vec<&[u8]> =
        if data.is_empty() { vec![&[][..]] } else { data.chunks(max_data).collect() };
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| Frame {
            channel_id,
            number: i as u16,
            data: chunk.to_vec(),
            is_last: i == last,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(number: u16, data: &[u8], is_last: bool) -> Frame {
        Frame { channel_id: [7; 16], number, data: data.to_vec(), is_last }
    }

    #[test]
    fn spec_layout() {
        let bytes = encode_batcher_tx(&[frame(1, b"ab", true)]);
        let mut expected = vec![0u8];
        expected.extend_from_slice(&[7; 16]);
        expected.extend_from_slice(&[0, 1, 0, 0, 0, 2, b'a', b'b', 1]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn rejects_malformed() {
        let good = encode_batcher_tx(&[frame(0, b"hello", false), frame(1, b"", true)]);
        assert_eq!(decode_batcher_tx(&good).unwrap().len(), 2);
        assert_eq!(decode_batcher_tx(&[]), Err(FrameError::Empty));
        assert_eq!(decode_batcher_tx(&[0]), Err(FrameError::NoFrames));
        let mut wrong = good.clone();
        wrong[0] = 1;
        assert_eq!(decode_batcher_tx(&wrong), Err(FrameError::WrongVersion(1)));
        let first_frame_end = 1 + FRAME_OVERHEAD + 5;
        for cut in 1..good.len() {
            // cutting exactly after the first frame leaves a valid one-frame transaction
            if cut != first_frame_end {
                assert!(decode_batcher_tx(&good[..cut]).is_err(), "cut at {cut}");
            }
        }
        let mut bad_last = good.clone();
        let at = 1 + FRAME_OVERHEAD + 5 - 1;
        bad_last[at] = 2;
        assert_eq!(decode_batcher_tx(&bad_last), Err(FrameError::BadIsLast(2)));
        let mut long = good;
        long[1 + 18..1 + 22].copy_from_slice(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes());
        assert!(matches!(decode_batcher_tx(&long), Err(FrameError::TooLong(_))));
    }

    #[test]
    fn rejects_lengths_that_disagree_with_the_data() {
        let good = encode_batcher_tx(&[frame(0, b"hello", true)]);
        let with_len = |len: u32| {
            let mut tx = good.clone();
            tx[1 + 18..1 + 22].copy_from_slice(&len.to_be_bytes());
            decode_batcher_tx(&tx)
        };
        // longer than the bytes there: the frame runs off the end
        assert_eq!(with_len(100), Err(FrameError::Truncated { needed: 123, have: good.len() - 1 }));
        assert_eq!(with_len(6), Err(FrameError::Truncated { needed: 29, have: good.len() - 1 }));
        // shorter: the byte after the data is not a valid is_last
        assert_eq!(with_len(4), Err(FrameError::BadIsLast(b'o')));
        assert!(matches!(with_len(u32::MAX), Err(FrameError::TooLong(_))));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_batcher_tx(&data);
            let mut versioned = vec![DERIVATION_VERSION_0];
            versioned.extend_from_slice(&data);
            let _ = decode_batcher_tx(&versioned);
        }

        #[test]
        fn encode_then_decode_is_identity(
            frames in proptest::collection::vec(
                (any::<[u8; 16]>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..300), any::<bool>()),
                1..6,
            ),
        ) {
            let frames: Vec<Frame> = frames
                .into_iter()
                .map(|(channel_id, number, data, is_last)| Frame { channel_id, number, data, is_last })
                .collect();
            prop_assert_eq!(decode_batcher_tx(&encode_batcher_tx(&frames)).unwrap(), frames);
        }

        #[test]
        fn split_respects_the_size_and_reassembles(data in proptest::collection::vec(any::<u8>(), 0..5_000), max in 30usize..2_000) {
            let frames = split_into_frames([1; 16], &data, max);
            for f in &frames {
                prop_assert!(f.encoded_len() < max.max(FRAME_OVERHEAD + 2));
            }
            prop_assert!(frames.last().unwrap().is_last);
            let joined: Vec<u8> = frames.iter().flat_map(|f| f.data.clone()).collect();
            prop_assert_eq!(joined, data);
        }
    }
}
