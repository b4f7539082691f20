//! The OP Stack's blob encoding (version 0): how a batcher transaction's bytes travel in an
//! EIP-4844 blob, as op-batcher writes them and op-node and kona read them.
//!
//! A blob is 4096 field elements of 32 bytes, and a field element must stay below the BLS
//! modulus, so its top two bits are always zero. The encoding uses the other 254 bits: each
//! element carries 31 whole bytes (its bytes 1..32) and 6 bits in its byte 0. Data goes in
//! 1024 rounds of four elements; a round carries 127 bytes: four times 31, plus 3 bytes
//! `x, y, z` split into the four 6-bit fields (`e0 = x[0..6]`, `e1 = y[0..4] | x[6..8] << 4`,
//! `e2 = z[0..6]`, `e3 = y[4..8] | z[6..8] << 4`). In the byte stream of a round the three
//! split bytes sit between the elements' 31-byte runs: `31 | x | 31 | y | 31 | z | 31`.
//! Round 0 gives 4 of its first element's 31 bytes to the header: the version byte (0) and the
//! data length (24-bit big-endian), so it carries 123 data bytes. At most
//! 123 + 1023 * 127 = 130 044 bytes fit in a blob; everything after the data is zero.

/// A blob's size in bytes.
pub const BYTES_PER_BLOB: usize = 4096 * 32;
/// Most data bytes one blob carries.
pub const BLOB_MAX_DATA_SIZE: usize = (4 * 31 + 3) * 1024 - 4;
/// The encoding version this module writes and reads.
pub const BLOB_ENCODING_VERSION: u8 = 0;
const ROUNDS: usize = 1024;

/// Why a blob could not be decoded, or data not encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// More data than one blob carries.
    #[error("{0} bytes do not fit in a blob (at most {BLOB_MAX_DATA_SIZE})")]
    TooLarge(usize),
    /// The blob is not `BYTES_PER_BLOB` long.
    #[error("a blob is {BYTES_PER_BLOB} bytes, not {0}")]
    WrongSize(usize),
    /// An encoding version other than 0.
    #[error("blob encoding version {0} is not known")]
    UnknownVersion(u8),
    /// The length field is over [`BLOB_MAX_DATA_SIZE`].
    #[error("the blob's length field says {0} bytes, over the maximum")]
    BadLength(usize),
    /// A field element with one of its top two bits set, or non-zero bytes after the data.
    #[error("the blob is not canonically encoded")]
    NotCanonical,
}

/// Encodes `data` into one blob.
///
/// # Errors
///
/// [`BlobError::TooLarge`] past [`BLOB_MAX_DATA_SIZE`] bytes.
pub fn encode_blob(data: &[u8]) -> Result<Box<[u8; BYTES_PER_BLOB]>, BlobError> {
    if data.len() > BLOB_MAX_DATA_SIZE {
        return Err(BlobError::TooLarge(data.len()));
    }
    let mut blob = Box::new([0u8; BYTES_PER_BLOB]);
    // The data stream with the header in front: version, then the 24-bit length.
    let len = data.len() as u32;
    let mut stream = Vec::with_capacity(4 + data.len());
    stream.push(BLOB_ENCODING_VERSION);
    stream.extend_from_slice(&len.to_be_bytes()[1..]);
    stream.extend_from_slice(data);
    // Whole rounds of 127 bytes, zero-padded.
    let rounds = stream.len().div_ceil(127).max(1);
    stream.resize(rounds * 127, 0);
    for (round, bytes) in stream.chunks(127).enumerate() {
        let element = |i: usize| (round * 4 + i) * 32;
        // `31 | x | 31 | y | 31 | z | 31`
        for i in 0..4 {
            let from = i * 32;
            blob[element(i) + 1..element(i) + 32].copy_from_slice(&bytes[from..from + 31]);
        }
        let (x, y, z) = (bytes[31], bytes[63], bytes[95]);
        blob[element(0)] = x & 0b0011_1111;
        blob[element(1)] = (y & 0b0000_1111) | ((x & 0b1100_0000) >> 2);
        blob[element(2)] = z & 0b0011_1111;
        blob[element(3)] = (y >> 4) | ((z & 0b1100_0000) >> 2);
    }
    Ok(blob)
}

/// Decodes a blob written by [`encode_blob`] (or op-batcher).
///
/// # Errors
///
/// A blob of the wrong size, an unknown version, a length over the maximum, a field element
/// with a top bit set, or non-zero bytes after the data.
pub fn decode_blob(blob: &[u8]) -> Result<Vec<u8>, BlobError> {
    if blob.len() != BYTES_PER_BLOB {
        return Err(BlobError::WrongSize(blob.len()));
    }
    if blob[1] != BLOB_ENCODING_VERSION {
        return Err(BlobError::UnknownVersion(blob[1]));
    }
    let len = u32::from_be_bytes([0, blob[2], blob[3], blob[4]]) as usize;
    if len > BLOB_MAX_DATA_SIZE {
        return Err(BlobError::BadLength(len));
    }
    // The whole stream (header included), every round.
    let mut stream = Vec::with_capacity(ROUNDS * 127);
    for round in 0..ROUNDS {
        let mut six = [0u8; 4];
        for (i, bits) in six.iter_mut().enumerate() {
            let start = (round * 4 + i) * 32;
            let element = &blob[start..start + 32];
            if element[0] & 0b1100_0000 != 0 {
                return Err(BlobError::NotCanonical);
            }
            *bits = element[0];
            stream.extend_from_slice(&element[1..]);
            if i < 3 {
                stream.push(0);
            }
        }
        let x = (six[0] & 0b0011_1111) | ((six[1] & 0b0011_0000) << 2);
        let y = (six[1] & 0b0000_1111) | ((six[3] & 0b0000_1111) << 4);
        let z = (six[2] & 0b0011_1111) | ((six[3] & 0b0011_0000) << 2);
        let base = round * 127;
        stream[base + 31] = x;
        stream[base + 63] = y;
        stream[base + 95] = z;
    }
    let data = stream.get(4..4 + len).ok_or(BlobError::BadLength(len))?;
    if stream[4 + len..].iter().any(|byte| *byte != 0) {
        return Err(BlobError::NotCanonical);
    }
    Ok(data.to_vec())
}

/// Splits `data` into as few blobs as carry it.
///
/// # Errors
///
/// Never for data that fits; see [`encode_blob`].
pub fn encode_blobs(data: &[u8]) -> Result<Vec<Box<[u8; BYTES_PER_BLOB]>>, BlobError> {
    if data.is_empty() {
        return Ok(vec![encode_blob(&[])?]);
    }
    data.chunks(BLOB_MAX_DATA_SIZE).map(encode_blob).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The header and the first round's layout, byte by byte, as the spec draws it.
    #[test]
    fn the_first_round_is_laid_out_as_specified() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        let blob = encode_blob(&data).unwrap();
        assert_eq!(blob[1], 0, "version");
        assert_eq!(&blob[2..5], &[0, 0, 200], "24-bit length");
        assert_eq!(&blob[5..32], &data[..27], "27 data bytes in the first element");
        assert_eq!(&blob[33..64], &data[28..59], "x = data[27] is split");
        let x = data[27];
        assert_eq!(blob[0], x & 0x3f);
        assert_eq!(blob[32] >> 4, x >> 6);
        for element in blob.chunks(32) {
            assert_eq!(element[0] & 0xc0, 0, "the top two bits stay zero");
        }
        assert!(blob[32 * 8..].iter().all(|b| *b == 0), "two rounds carry 200 bytes");
    }

    /// A blob with bytes after the data, a top bit set, or another version is refused.
    #[test]
    fn non_canonical_blobs_are_refused() {
        let blob = encode_blob(b"hello").unwrap();
        assert_eq!(decode_blob(&blob[..]).unwrap(), b"hello");
        let mut trailing = blob.clone();
        trailing[BYTES_PER_BLOB - 1] = 1;
        assert_eq!(decode_blob(&trailing[..]), Err(BlobError::NotCanonical));
        let mut high = blob.clone();
        high[64] |= 0x80;
        assert_eq!(decode_blob(&high[..]), Err(BlobError::NotCanonical));
        let mut version = blob.clone();
        version[1] = 1;
        assert_eq!(decode_blob(&version[..]), Err(BlobError::UnknownVersion(1)));
        assert_eq!(decode_blob(&blob[..100]), Err(BlobError::WrongSize(100)));
        assert!(matches!(
            encode_blob(&vec![1; BLOB_MAX_DATA_SIZE + 1]),
            Err(BlobError::TooLarge(_))
        ));
    }

    /// The largest payload fills the blob to its last element.
    #[test]
    fn a_full_blob_round_trips() {
        let data: Vec<u8> = (0..BLOB_MAX_DATA_SIZE).map(|i| (i % 251) as u8 ^ 0xff).collect();
        let blob = encode_blob(&data).unwrap();
        assert_eq!(decode_blob(&blob[..]).unwrap(), data);
        assert_ne!(&blob[BYTES_PER_BLOB - 31..], &[0u8; 31][..]);
        let blobs = encode_blobs(&[data.clone(), data].concat()).unwrap();
        assert_eq!(blobs.len(), 2);
    }

    proptest! {
        #[test]
        fn any_data_round_trips(data in proptest::collection::vec(any::<u8>(), 0..3_000)) {
            let blob = encode_blob(&data).unwrap();
            prop_assert_eq!(decode_blob(&blob[..]).unwrap(), data);
        }
    }
}
