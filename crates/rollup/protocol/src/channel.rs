//! Channels: frames reassembled, decompressed (zlib, or brotli behind a `0x01` byte), and read
//! as a stream of batches, each an RLP byte string holding `version ++ content`.
//!
//! Singular batches (version 0, one block, RLP) are here, span batches (version 1, many
//! blocks) in `span_batch.rs`, and [`Batch`] holds either. [`encode_batches`] and
//! [`decode_batches`] handle singular batches alone; [`BatchReader`],
//! [`encode_channel_batches`] and [`decode_channel_batches`] handle both, given the chain's
//! [`SpanBatchConfig`].

use crate::{
    frame::{ChannelId, Frame},
    span_batch::{SpanBatch, SpanBatchConfig, SpanBatchError},
};
use alloy_primitives::{B256, Bytes};
use alloy_rlp::{Decodable, Encodable, Header, RlpDecodable, RlpEncodable};
use std::{collections::BTreeMap, io::Read};

/// The brotli marker byte in front of a brotli channel.
pub const BROTLI_MARKER: u8 = 0x01;
/// Most bytes a channel may decompress to (Fjord's limit).
pub const MAX_RLP_BYTES_PER_CHANNEL: usize = 100_000_000;
/// The singular batch version byte.
pub const SINGULAR_BATCH: u8 = 0;
/// The span batch version byte.
pub const SPAN_BATCH: u8 = 1;

/// How a channel's data is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zlib (RFC 1950).
    Zlib,
    /// brotli, behind [`BROTLI_MARKER`].
    Brotli,
}

/// A channel that cannot be assembled or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// A frame of another channel.
    #[error("frame belongs to another channel")]
    WrongChannel,
    /// Two frames with one number.
    #[error("duplicate frame number {0}")]
    DuplicateFrame(u16),
    /// A frame numbered after the closing frame, or a second closing frame.
    #[error("frame {0} comes after the channel closed")]
    AfterLast(u16),
    /// Neither zlib nor the brotli marker.
    #[error("unknown compression (first byte {0:#04x})")]
    UnknownCompression(u8),
    /// The compressed stream is corrupt.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// The channel decompresses to more than the limit.
    #[error("channel decompresses past {MAX_RLP_BYTES_PER_CHANNEL} bytes")]
    TooLarge,
    /// A batch that does not decode.
    #[error("bad batch: {0}")]
    BadBatch(String),
    /// A batch version this reader does not read: 1 for [`decode_batches`], 2 and up for all.
    #[error("unsupported batch version {0}")]
    UnsupportedBatch(u8),
    /// A span batch that does not decode, or cannot be encoded.
    #[error("bad span batch: {0}")]
    SpanBatch(#[from] SpanBatchError),
}

/// Frames of one channel as they arrive.
#[derive(Debug, Clone)]
pub struct Channel {
    id: ChannelId,
    frames: BTreeMap<u16, Vec<u8>>,
    last: Option<u16>,
}

impl Channel {
    /// An empty channel.
    pub fn new(id: ChannelId) -> Self {
        Self { id, frames: BTreeMap::new(), last: None }
    }

    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// Adds a frame.
    ///
    /// # Errors
    ///
    /// Another channel's frame, a duplicate number, or a frame past the closing one.
    pub fn add_frame(&mut self, frame: Frame) -> Result<(), ChannelError> {
        if frame.channel_id != self.id {
            return Err(ChannelError::WrongChannel);
        }
        if self.frames.contains_key(&frame.number) {
            return Err(ChannelError::DuplicateFrame(frame.number));
        }
        if let Some(last) = self.last
            && (frame.number > last || frame.is_last)
        {
            return Err(ChannelError::AfterLast(frame.number));
        }
        if frame.is_last {
            if self.frames.keys().next_back().is_some_and(|max| *max > frame.number) {
                return Err(ChannelError::AfterLast(frame.number));
            }
            self.last = Some(frame.number);
        }
        self.frames.insert(frame.number, frame.data);
        Ok(())
    }

    /// Whether every frame up to the closing one is here.
    pub fn is_ready(&self) -> bool {
        self.last.is_some_and(|last| self.frames.len() == usize::from(last) + 1)
    }

    /// The compressed channel data, once ready.
    pub fn data(&self) -> Option<Vec<u8>> {
        self.is_ready().then(|| self.frames.values().flatten().copied().collect())
    }
}

/// Compresses channel data.
pub fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Zlib => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            std::io::Write::write_all(&mut encoder, data).expect("writing to a Vec");
            encoder.finish().expect("writing to a Vec")
        }
        Compression::Brotli => {
            let mut out = vec![BROTLI_MARKER];
            let params =
                brotli::enc::BrotliEncoderParams { quality: 10, lgwin: 22, ..Default::default() };
            brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("writing to a Vec");
            out
        }
    }
}

/// Decompresses channel data, detecting the algorithm, up to [`MAX_RLP_BYTES_PER_CHANNEL`].
///
/// # Errors
///
/// Unknown compression, a corrupt stream, or too much output.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, ChannelError> {
    let first = *data.first().ok_or(ChannelError::UnknownCompression(0))?;
    let limit = MAX_RLP_BYTES_PER_CHANNEL as u64 + 1;
    let mut out = Vec::new();
    let read = if first == BROTLI_MARKER {
        brotli::Decompressor::new(&data[1..], 4096).take(limit).read_to_end(&mut out)
    } else if first & 0x0f == 8 || first & 0x0f == 15 {
        flate2::read::ZlibDecoder::new(data).take(limit).read_to_end(&mut out)
    } else {
        return Err(ChannelError::UnknownCompression(first));
    };
    read.map_err(|err| ChannelError::Decompress(err.to_string()))?;
    if out.len() > MAX_RLP_BYTES_PER_CHANNEL {
        return Err(ChannelError::TooLarge);
    }
    Ok(out)
}

/// A version-0 batch: one L2 block.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct SingularBatch {
    /// The L2 parent's hash.
    pub parent_hash: B256,
    /// The L1 origin's number.
    pub epoch_num: u64,
    /// The L1 origin's hash.
    pub epoch_hash: B256,
    /// The block's timestamp.
    pub timestamp: u64,
    /// The block's non-deposit transactions, EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
}

/// A batch of either version, as a channel carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// Version 0: one block.
    Singular(SingularBatch),
    /// Version 1: consecutive blocks.
    Span(SpanBatch),
}

impl From<SingularBatch> for Batch {
    fn from(batch: SingularBatch) -> Self {
        Self::Singular(batch)
    }
}

impl From<SpanBatch> for Batch {
    fn from(batch: SpanBatch) -> Self {
        Self::Span(batch)
    }
}

impl Batch {
    /// The version byte.
    pub fn version(&self) -> u8 {
        match self {
            Self::Singular(_) => SINGULAR_BATCH,
            Self::Span(_) => SPAN_BATCH,
        }
    }

    /// Appends the batch as a channel holds it: an RLP byte string of `version ++ content`.
    /// Nothing is appended on error.
    ///
    /// # Errors
    ///
    /// A span batch that cannot be encoded ([`SpanBatch::encode`]).
    pub fn encode(
        &self,
        config: &SpanBatchConfig,
        out: &mut Vec<u8>,
    ) -> Result<(), SpanBatchError> {
        let mut inner = vec![self.version()];
        match self {
            Self::Singular(batch) => batch.encode(&mut inner),
            Self::Span(batch) => batch.encode(config, &mut inner)?,
        }
        inner.as_slice().encode(out);
        Ok(())
    }

    /// Decodes `version ++ content`, the inside of one RLP-wrapped batch.
    ///
    /// # Errors
    ///
    /// An empty batch, an unknown version, or content that does not decode.
    pub fn decode(versioned: &[u8], config: &SpanBatchConfig) -> Result<Self, ChannelError> {
        let (&version, body) =
            versioned.split_first().ok_or(ChannelError::BadBatch("empty batch".into()))?;
        match version {
            SINGULAR_BATCH => decode_singular(body).map(Self::Singular),
            SPAN_BATCH => Ok(Self::Span(SpanBatch::decode(body, config)?)),
            other => Err(ChannelError::UnsupportedBatch(other)),
        }
    }
}

/// Reads the batches out of a channel's uncompressed data one at a time. It stops after the
/// first error: derivation keeps the batches before a bad one and drops the rest of the
/// channel.
#[derive(Debug, Clone)]
pub struct BatchReader<'a> {
    data: &'a [u8],
    config: SpanBatchConfig,
    failed: bool,
}

impl<'a> BatchReader<'a> {
    /// A reader over a channel's uncompressed data.
    pub fn new(data: &'a [u8], config: SpanBatchConfig) -> Self {
        Self { data, config, failed: false }
    }
}

impl Iterator for BatchReader<'_> {
    type Item = Result<Batch, ChannelError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.data.is_empty() {
            return None;
        }
        let batch =
            next_versioned(&mut self.data).and_then(|inner| Batch::decode(inner, &self.config));
        self.failed = batch.is_err();
        Some(batch)
    }
}

/// Encodes batches of either version as a channel's uncompressed data.
///
/// # Errors
///
/// A span batch that cannot be encoded.
pub fn encode_channel_batches(
    batches: &[Batch],
    config: &SpanBatchConfig,
) -> Result<Vec<u8>, ChannelError> {
    let mut out = Vec::new();
    for batch in batches {
        batch.encode(config, &mut out)?;
    }
    Ok(out)
}

/// Reads all the batches, of either version, out of a channel's uncompressed data.
///
/// # Errors
///
/// The first batch that does not decode; [`BatchReader`] keeps the ones before it.
pub fn decode_channel_batches(
    data: &[u8],
    config: &SpanBatchConfig,
) -> Result<Vec<Batch>, ChannelError> {
    BatchReader::new(data, *config).collect()
}

/// Encodes singular batches as a channel's uncompressed data: each is an RLP byte string
/// holding the version byte and the batch's RLP.
pub fn encode_batches(batches: &[SingularBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    for batch in batches {
        let mut inner = vec![SINGULAR_BATCH];
        batch.encode(&mut inner);
        inner.as_slice().encode(&mut out);
    }
    out
}

/// Reads the singular batches out of a channel's uncompressed data. Span batches need the
/// chain's parameters: read them with [`decode_channel_batches`].
///
/// # Errors
///
/// Malformed RLP, an empty batch, or a version other than 0.
pub fn decode_batches(mut data: &[u8]) -> Result<Vec<SingularBatch>, ChannelError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (&version, body) = next_versioned(&mut data)?
            .split_first()
            .ok_or(ChannelError::BadBatch("empty batch".into()))?;
        match version {
            SINGULAR_BATCH => out.push(decode_singular(body)?),
            other => return Err(ChannelError::UnsupportedBatch(other)),
        }
    }
    Ok(out)
}

/// Takes the next RLP byte string off the channel data.
fn next_versioned<'a>(data: &mut &'a [u8]) -> Result<&'a [u8], ChannelError> {
    Header::decode_bytes(data, false).map_err(|err| ChannelError::BadBatch(err.to_string()))
}

/// A singular batch's RLP, all of `body`.
fn decode_singular(mut body: &[u8]) -> Result<SingularBatch, ChannelError> {
    let batch =
        SingularBatch::decode(&mut body).map_err(|err| ChannelError::BadBatch(err.to_string()))?;
    if !body.is_empty() {
        return Err(ChannelError::BadBatch("trailing bytes in batch".into()));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        frame::{decode_batcher_tx, encode_batcher_tx, split_into_frames},
        test_txs::{CHAIN_ID, arb_tx, signed_txs},
    };
    use proptest::prelude::*;

    const CONFIG: SpanBatchConfig =
        SpanBatchConfig { genesis_timestamp: 1_000, block_time: 2, chain_id: CHAIN_ID };

    /// A span of `blocks` blocks from timestamp `start`, `txs` spread over them.
    fn span_batch(start: u64, blocks: u64, txs: &[Bytes]) -> SpanBatch {
        let singular: Vec<_> = (0..blocks)
            .map(|i| SingularBatch {
                parent_hash: B256::repeat_byte(3),
                epoch_num: 10 + i / 4,
                epoch_hash: B256::repeat_byte(4),
                timestamp: start + 2 * i,
                transactions: txs
                    .iter()
                    .skip(i as usize)
                    .step_by(blocks as usize)
                    .cloned()
                    .collect(),
            })
            .collect();
        SpanBatch::from_singular(&singular, true, &CONFIG).unwrap()
    }

    /// Sends `data` through compression, frames, batcher transactions (out of order) and a
    /// channel, and returns what comes out of decompression.
    fn through_frames(data: &[u8], compression: Compression) -> Vec<u8> {
        let compressed = compress(data, compression);
        let frames = split_into_frames([3; 16], &compressed, 200);
        let txs: Vec<Vec<u8>> =
            frames.iter().rev().map(|f| encode_batcher_tx(std::slice::from_ref(f))).collect();
        let mut channel = Channel::new([3; 16]);
        for tx in txs {
            for frame in decode_batcher_tx(&tx).unwrap() {
                channel.add_frame(frame).unwrap();
            }
        }
        decompress(&channel.data().unwrap()).unwrap()
    }

    fn batch(i: u64, txs: usize) -> SingularBatch {
        SingularBatch {
            parent_hash: B256::with_last_byte(i as u8),
            epoch_num: i / 3,
            epoch_hash: B256::repeat_byte(9),
            timestamp: 1_000 + 2 * i,
            transactions: (0..txs).map(|t| Bytes::from(vec![t as u8; 50 + t])).collect(),
        }
    }

    #[test]
    fn frames_to_batches_through_both_compressions() {
        let batches: Vec<_> = (0..10).map(|i| batch(i, 5)).collect();
        for compression in [Compression::Zlib, Compression::Brotli] {
            // `through_frames` only gets data out of a channel whose every frame arrived.
            let decoded = decode_batches(&through_frames(&encode_batches(&batches), compression));
            assert_eq!(decoded.unwrap(), batches, "{compression:?}");
        }
    }

    #[test]
    fn channel_rejects_bad_frames() {
        let frame = |n: u16, last: bool| Frame {
            channel_id: [1; 16],
            number: n,
            data: vec![n as u8],
            is_last: last,
        };
        let mut channel = Channel::new([1; 16]);
        channel.add_frame(frame(0, false)).unwrap();
        assert_eq!(channel.add_frame(frame(0, false)), Err(ChannelError::DuplicateFrame(0)));
        assert_eq!(
            channel.add_frame(Frame { channel_id: [2; 16], ..frame(1, false) }),
            Err(ChannelError::WrongChannel)
        );
        channel.add_frame(frame(2, true)).unwrap();
        assert!(!channel.is_ready(), "frame 1 missing");
        assert_eq!(channel.add_frame(frame(3, false)), Err(ChannelError::AfterLast(3)));
        channel.add_frame(frame(1, false)).unwrap();
        assert_eq!(channel.data().unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn rejects_bad_channel_data() {
        assert!(matches!(decompress(&[0x77, 1, 2]), Err(ChannelError::UnknownCompression(0x77))));
        assert!(matches!(decompress(&[0x78, 0xff, 0xff]), Err(ChannelError::Decompress(_))));
        assert!(matches!(
            decompress(&[BROTLI_MARKER, 0xff, 0xff, 0xff]),
            Err(ChannelError::Decompress(_))
        ));
        assert!(decode_batches(&[0x85, 0x01, 0x02]).is_err());
        let span = {
            let mut out = Vec::new();
            Bytes::from(vec![SPAN_BATCH, 0xc0]).encode(&mut out);
            out
        };
        assert_eq!(decode_batches(&span), Err(ChannelError::UnsupportedBatch(1)));
    }

    #[test]
    fn span_and_singular_batches_through_both_compressions() {
        let txs = signed_txs();
        let batches = vec![
            Batch::Singular(batch(0, 2)),
            Batch::Span(span_batch(1_002, 5, &txs)),
            Batch::Span(span_batch(1_012, 1, &[])),
            Batch::Singular(batch(7, 0)),
        ];
        let data = encode_channel_batches(&batches, &CONFIG).unwrap();
        for compression in [Compression::Zlib, Compression::Brotli] {
            let out = through_frames(&data, compression);
            assert_eq!(decode_channel_batches(&out, &CONFIG).unwrap(), batches, "{compression:?}");
        }
        // the singular-only reader stops at the first span batch
        assert_eq!(decode_batches(&data), Err(ChannelError::UnsupportedBatch(SPAN_BATCH)));
        // and singular batches read the same either way
        let singular = encode_batches(&[batch(0, 2), batch(1, 1)]);
        assert_eq!(
            decode_channel_batches(&singular, &CONFIG).unwrap(),
            vec![Batch::from(batch(0, 2)), batch(1, 1).into()]
        );
    }

    #[test]
    fn reader_keeps_the_batches_before_a_bad_one() {
        let good = span_batch(1_000, 3, &signed_txs());
        let mut data = encode_channel_batches(&[good.clone().into()], &CONFIG).unwrap();
        // a span batch with trailing bytes, then a good batch the reader must not reach
        let mut bad = vec![SPAN_BATCH];
        good.encode(&CONFIG, &mut bad).unwrap();
        bad.push(0);
        bad.as_slice().encode(&mut data);
        data.extend_from_slice(&encode_batches(&[batch(1, 1)]));

        let read: Vec<_> = BatchReader::new(&data, CONFIG).collect();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0], Ok(Batch::Span(good)));
        assert_eq!(read[1], Err(ChannelError::SpanBatch(SpanBatchError::TrailingBytes(1))));
        assert!(decode_channel_batches(&data, &CONFIG).is_err());
    }

    #[test]
    fn rejects_unknown_versions_and_bad_span_batches() {
        let wrap = |inner: &[u8]| {
            let mut out = Vec::new();
            inner.encode(&mut out);
            out
        };
        assert_eq!(
            decode_channel_batches(&wrap(&[2, 0xc0]), &CONFIG),
            Err(ChannelError::UnsupportedBatch(2))
        );
        assert_eq!(
            decode_channel_batches(&wrap(&[]), &CONFIG),
            Err(ChannelError::BadBatch("empty batch".into()))
        );
        assert_eq!(
            decode_channel_batches(&wrap(&[SPAN_BATCH]), &CONFIG),
            Err(ChannelError::SpanBatch(SpanBatchError::Truncated("rel_timestamp")))
        );
        // a span batch that cannot be encoded is an error, not a panic
        let mut unencodable = span_batch(1_000, 2, &[]);
        unencodable.blocks[1].timestamp += 1;
        assert_eq!(
            encode_channel_batches(&[unencodable.into()], &CONFIG),
            Err(ChannelError::SpanBatch(SpanBatchError::TimestampGap { index: 1 }))
        );
    }

    #[test]
    fn channel_rejects_a_second_closing_frame_and_frames_past_it() {
        let frame = |n: u16, last: bool| Frame {
            channel_id: [1; 16],
            number: n,
            data: vec![],
            is_last: last,
        };
        let mut channel = Channel::new([1; 16]);
        channel.add_frame(frame(3, false)).unwrap();
        // closing below a frame already seen
        assert_eq!(channel.add_frame(frame(2, true)), Err(ChannelError::AfterLast(2)));
        channel.add_frame(frame(4, true)).unwrap();
        assert_eq!(channel.add_frame(frame(1, true)), Err(ChannelError::AfterLast(1)));
        assert_eq!(channel.add_frame(frame(5, false)), Err(ChannelError::AfterLast(5)));
        assert_eq!(channel.add_frame(frame(4, true)), Err(ChannelError::DuplicateFrame(4)));
        assert_eq!(channel.add_frame(frame(3, false)), Err(ChannelError::DuplicateFrame(3)));
        assert!(!channel.is_ready());
        assert_eq!(channel.data(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn mixed_batches_round_trip(
            spans in proptest::collection::vec((1u64..6, proptest::collection::vec(arb_tx(), 0..6)), 0..4),
            brotli in any::<bool>(),
        ) {
            let batches: Vec<Batch> = spans
                .iter()
                .enumerate()
                .flat_map(|(i, (blocks, txs))| {
                    [batch(i as u64, 1).into(), span_batch(1_000 + 100 * i as u64, *blocks, txs).into()]
                })
                .collect();
            let compression = if brotli { Compression::Brotli } else { Compression::Zlib };
            let data = encode_channel_batches(&batches, &CONFIG).unwrap();
            let out = decompress(&compress(&data, compression)).unwrap();
            prop_assert_eq!(decode_channel_batches(&out, &CONFIG).unwrap(), batches);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decompress(&data);
            let _ = decode_batches(&data);
            let _ = decode_channel_batches(&data, &CONFIG);
        }
        #[test]
        fn batches_round_trip(n in 0u64..8, txs in 0usize..6, brotli in any::<bool>()) {
            let batches: Vec<_> = (0..n).map(|i| batch(i, txs)).collect();
            let compression = if brotli { Compression::Brotli } else { Compression::Zlib };
            let data = decompress(&compress(&encode_batches(&batches), compression)).unwrap();
            prop_assert_eq!(decode_batches(&data).unwrap(), batches);
        }
    }
}
