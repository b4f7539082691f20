//! Wire primitives of the span-batch format: protobuf uvarints, the spec's "standard bitlists",
//! and a reader that never reads past its input.
//!
//! A standard bitlist of `n` bits is the big-endian integer whose bit `i` is item `i`'s bit,
//! left-padded with zeroes to `ceil(n / 8)` bytes. Item 0 is therefore the lowest bit of the
//! *last* byte, which is easy to get backwards.

use crate::span_batch::SpanBatchError;

/// The longest uvarint of a `u64`.
const MAX_UVARINT_LEN: usize = 10;

/// Appends `value` as an unsigned protobuf varint.
pub(crate) fn write_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `bits` as a standard bitlist.
pub(crate) fn write_bitlist(out: &mut Vec<u8>, bits: &[bool]) {
    let mut bytes = vec![0u8; bits.len().div_ceil(8)];
    let len = bytes.len();
    for (i, _) in bits.iter().enumerate().filter(|(_, bit)| **bit) {
        // i < bits.len() <= 8 * len, so the subtraction cannot underflow
        if let Some(byte) = bytes.get_mut(len - 1 - i / 8) {
            *byte |= 1 << (i % 8);
        }
    }
    out.extend_from_slice(&bytes);
}

/// A standard bitlist borrowed from the input, already checked to have no bits past its length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bitlist<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl Bitlist<'_> {
    /// Bit `i`; `false` past the end.
    pub(crate) fn get(&self, i: usize) -> bool {
        if i >= self.len {
            return false;
        }
        self.bytes
            .len()
            .checked_sub(1 + i / 8)
            .and_then(|at| self.bytes.get(at))
            .is_some_and(|byte| (byte >> (i % 8)) & 1 == 1)
    }

    /// How many bits are set.
    pub(crate) fn count_ones(&self) -> usize {
        self.bytes.iter().map(|byte| byte.count_ones() as usize).sum()
    }
}

/// A cursor over untrusted span-batch bytes. Every read names the section it is in, so a
/// truncated batch says where it ends.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Takes the next `len` bytes.
    pub(crate) fn take(
        &mut self,
        len: usize,
        section: &'static str,
    ) -> Result<&'a [u8], SpanBatchError> {
        let (head, tail) =
            self.rest.split_at_checked(len).ok_or(SpanBatchError::Truncated(section))?;
        self.rest = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        section: &'static str,
    ) -> Result<[u8; N], SpanBatchError> {
        let (head, tail) =
            self.rest.split_first_chunk::<N>().ok_or(SpanBatchError::Truncated(section))?;
        self.rest = tail;
        Ok(*head)
    }

    /// Reads a uvarint the way Go's `binary.ReadUvarint` does, which op-node uses: at most ten
    /// bytes, the tenth at most 1, and non-minimal encodings accepted.
    pub(crate) fn uvarint(&mut self, section: &'static str) -> Result<u64, SpanBatchError> {
        let mut value = 0u64;
        for (i, byte) in self.rest.iter().take(MAX_UVARINT_LEN).enumerate() {
            // i <= 9, so the shift is at most 63
            let shift = 7 * i as u32;
            if *byte < 0x80 {
                if i == MAX_UVARINT_LEN - 1 && *byte > 1 {
                    return Err(SpanBatchError::VarintOverflow(section));
                }
                self.rest = self.rest.get(i + 1..).unwrap_or_default();
                return Ok(value | (u64::from(*byte) << shift));
            }
            value |= u64::from(byte & 0x7f) << shift;
        }
        if self.rest.len() >= MAX_UVARINT_LEN {
            Err(SpanBatchError::VarintOverflow(section))
        } else {
            Err(SpanBatchError::Truncated(section))
        }
    }

    /// Reads a standard bitlist of `len` bits, rejecting set bits in the padding.
    pub(crate) fn bitlist(
        &mut self,
        len: usize,
        section: &'static str,
    ) -> Result<Bitlist<'a>, SpanBatchError> {
        let bytes = self.take(len.div_ceil(8), section)?;
        let used_in_top = len % 8;
        if used_in_top != 0 && bytes.first().is_some_and(|top| top >> used_in_top != 0) {
            return Err(SpanBatchError::BadBitlist(section));
        }
        Ok(Bitlist { bytes, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uvarint_vectors() {
        for (value, bytes) in [
            (0u64, &[0x00][..]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (u64::MAX, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ] {
            let mut out = Vec::new();
            write_uvarint(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            let mut reader = Reader::new(bytes);
            assert_eq!(reader.uvarint("x"), Ok(value));
            assert!(reader.rest().is_empty());
        }
        // non-minimal, as Go accepts
        assert_eq!(Reader::new(&[0x81, 0x00]).uvarint("x"), Ok(1));
    }

    #[test]
    fn uvarint_rejects_overflow_and_truncation() {
        let ten_with_two = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader::new(&ten_with_two).uvarint("x"),
            Err(SpanBatchError::VarintOverflow("x"))
        );
        assert_eq!(Reader::new(&[0x80; 11]).uvarint("x"), Err(SpanBatchError::VarintOverflow("x")));
        assert_eq!(Reader::new(&[0x80; 3]).uvarint("x"), Err(SpanBatchError::Truncated("x")));
        assert_eq!(Reader::new(&[]).uvarint("x"), Err(SpanBatchError::Truncated("x")));
    }

    #[test]
    fn bitlist_is_a_big_endian_integer() {
        // bits 0 and 9 of a 10-bit list: 0b10_0000_0001 = 0x0201
        let mut bits = [false; 10];
        bits[0] = true;
        bits[9] = true;
        let mut out = Vec::new();
        write_bitlist(&mut out, &bits);
        assert_eq!(out, [0x02, 0x01]);
        let list = Reader::new(&out).bitlist(10, "x").unwrap();
        assert!((0..10).all(|i| list.get(i) == bits[i]));
        assert_eq!(list.count_ones(), 2);
        // empty lists take no bytes
        let mut out = Vec::new();
        write_bitlist(&mut out, &[]);
        assert!(out.is_empty());
    }

    #[test]
    fn bitlist_rejects_padding_bits_and_truncation() {
        // bit 10 of a 10-bit list
        assert_eq!(
            Reader::new(&[0x04, 0x00]).bitlist(10, "x").unwrap_err(),
            SpanBatchError::BadBitlist("x")
        );
        assert_eq!(
            Reader::new(&[0x01]).bitlist(9, "x").unwrap_err(),
            SpanBatchError::Truncated("x")
        );
        // a full top byte is all data
        assert!(Reader::new(&[0xff]).bitlist(8, "x").is_ok());
    }

    proptest! {
        #[test]
        fn uvarint_round_trips(value in any::<u64>()) {
            let mut out = Vec::new();
            write_uvarint(&mut out, value);
            let mut reader = Reader::new(&out);
            prop_assert_eq!(reader.uvarint("x"), Ok(value));
            prop_assert!(reader.rest().is_empty());
        }

        #[test]
        fn bitlist_round_trips(bits in proptest::collection::vec(any::<bool>(), 0..100)) {
            let mut out = Vec::new();
            write_bitlist(&mut out, &bits);
            let mut reader = Reader::new(&out);
            let list = reader.bitlist(bits.len(), "x").unwrap();
            prop_assert!(reader.rest().is_empty());
            for (i, bit) in bits.iter().enumerate() {
                prop_assert_eq!(list.get(i), *bit);
            }
            prop_assert_eq!(list.count_ones(), bits.iter().filter(|b| **b).count());
        }
    }
}
