//! `payload_by_number`: the request/response protocol that fills a gap of unsafe blocks.
//!
//! Protocol id `/opstack/req/payload_by_number/<chain id>/0` (op-node's string, no trailing
//! slash). The request is the block number as 8 bytes little endian; the client then closes
//! its side. The response is `result(1)`, and on success `version(u32 LE)` and the payload in
//! snappy's *framed* format: version 0 is a bare SSZ payload (before Ecotone), version 1 is
//! `parentBeaconBlockRoot ++ SSZ payload`. The client reads to the end, at most
//! [`MAX_RESPONSE_SIZE`].
//!
//! Responses carry no signature: the client asks for a block whose hash it already knows (the
//! parent hash of a signed block it holds) and drops anything else.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::io::{self, Read, Write};

/// Largest response read, compressed or not.
pub const MAX_RESPONSE_SIZE: usize = 10 * 1024 * 1024;

/// The protocol id for `chain_id`.
pub fn sync_protocol(chain_id: u64) -> StreamProtocol {
    StreamProtocol::try_from_owned(format!("/opstack/req/payload_by_number/{chain_id}/0"))
        .expect("the id starts with a slash")
}

/// A response to a block request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadResponse {
    /// The block: the payload version and bytes (as `encode_payload` writes them).
    Found {
        /// 0: bare payload; 1: with the parent beacon block root before it.
        version: u32,
        /// The payload bytes, decompressed.
        payload: Vec<u8>,
    },
    /// The server has no such block.
    NotFound,
    /// The request was malformed or out of range (or over the rate limit).
    InvalidRequest,
    /// The server failed.
    ServerError,
}

impl PayloadResponse {
    fn code(&self) -> u8 {
        match self {
            Self::Found { .. } => 0,
            Self::NotFound => 1,
            Self::InvalidRequest => 2,
            Self::ServerError => 3,
        }
    }
}

/// The [`libp2p::request_response::Codec`] of `payload_by_number`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PayloadByNumberCodec;

impl libp2p::request_response::Codec for PayloadByNumberCodec {
    type Protocol = StreamProtocol;
    type Request = u64;
    type Response = PayloadResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<u64>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut number = [0u8; 8];
        io.read_exact(&mut number).await?;
        Ok(u64::from_le_bytes(number))
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<PayloadResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut raw = Vec::new();
        io.take(MAX_RESPONSE_SIZE as u64 + 1).read_to_end(&mut raw).await?;
        if raw.len() > MAX_RESPONSE_SIZE {
            return Err(invalid("response over 10 MiB"));
        }
        let (&code, rest) = raw.split_first().ok_or_else(|| invalid("empty response"))?;
        match code {
            0 => {}
            1 => return Ok(PayloadResponse::NotFound),
            2 => return Ok(PayloadResponse::InvalidRequest),
            _ => return Ok(PayloadResponse::ServerError),
        }
        let version = rest.get(..4).ok_or_else(|| invalid("no payload version"))?;
        let version = u32::from_le_bytes(version.try_into().map_err(|_| invalid("version"))?);
        let mut payload = Vec::new();
        snap::read::FrameDecoder::new(rest.get(4..).unwrap_or_default())
            .take(MAX_RESPONSE_SIZE as u64 + 1)
            .read_to_end(&mut payload)?;
        if payload.len() > MAX_RESPONSE_SIZE {
            return Err(invalid("payload over 10 MiB"));
        }
        Ok(PayloadResponse::Found { version, payload })
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        number: u64,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&number.to_le_bytes()).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: PayloadResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let mut out = vec![response.code()];
        if let PayloadResponse::Found { version, payload } = &response {
            out.extend_from_slice(&version.to_le_bytes());
            let mut encoder = snap::write::FrameEncoder::new(Vec::new());
            encoder.write_all(payload)?;
            out.extend_from_slice(&encoder.into_inner().map_err(|err| invalid(&err.to_string()))?);
        }
        io.write_all(&out).await?;
        io.close().await
    }
}

fn invalid(reason: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason.to_string())
}
