use alloy_primitives::B256;
use alloy_trie::{BranchNodeCompact, TrieMask};
use std::sync::Arc;

/// A stored trie node that does not decode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt trie node: {0}")]
pub struct DecodeNodeError(&'static str);

/// Encodes a branch node as stored: `state_mask | tree_mask | hash_mask` (u16 BE each), a flag
/// byte (1 when a root hash follows), the root hash, then the child hashes.
pub fn encode_node(node: &BranchNodeCompact) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + 32 * (node.hashes.len() + 1));
    out.extend_from_slice(&node.state_mask.get().to_be_bytes());
    out.extend_from_slice(&node.tree_mask.get().to_be_bytes());
    out.extend_from_slice(&node.hash_mask.get().to_be_bytes());
    match node.root_hash {
        Some(root) => {
            out.push(1);
            out.extend_from_slice(root.as_slice());
        }
        None => out.push(0),
    }
    for hash in node.hashes.iter() {
        out.extend_from_slice(hash.as_slice());
    }
    out
}

/// Decodes a node written by [`encode_node`].
///
/// # Errors
///
/// A truncated record, a bad flag, or a hash count that does not match `hash_mask`.
pub fn decode_node(bytes: &[u8]) -> Result<BranchNodeCompact, DecodeNodeError> {
    let mask = |i: usize| -> Result<TrieMask, DecodeNodeError> {
        let raw = bytes.get(i..i + 2).ok_or(DecodeNodeError("truncated masks"))?;
        Ok(TrieMask::new(u16::from_be_bytes([raw[0], raw[1]])))
    };
    let (state_mask, tree_mask, hash_mask) = (mask(0)?, mask(2)?, mask(4)?);
    let mut rest = bytes.get(6..).ok_or(DecodeNodeError("truncated"))?;
    let (&flag, tail) = rest.split_first().ok_or(DecodeNodeError("missing root flag"))?;
    rest = tail;
    let root_hash = match flag {
        0 => None,
        1 => {
            let root = rest.get(..32).ok_or(DecodeNodeError("truncated root hash"))?;
            rest = &rest[32..];
            Some(B256::from_slice(root))
        }
        _ => return Err(DecodeNodeError("bad root flag")),
    };
    if rest.len() % 32 != 0 || rest.len() / 32 != hash_mask.count_ones() as usize {
        return Err(DecodeNodeError("hash count does not match hash mask"));
    }
    let hashes = rest.chunks_exact(32).map(B256::from_slice).collect();
    Ok(BranchNodeCompact { state_mask, tree_mask, hash_mask, hashes: Arc::new(hashes), root_hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let node = BranchNodeCompact::new(
            TrieMask::new(0b1011),
            TrieMask::new(0b0001),
            TrieMask::new(0b1001),
            vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            Some(B256::repeat_byte(9)),
        );
        let bytes = encode_node(&node);
        assert_eq!(decode_node(&bytes).unwrap(), node);
        assert!(decode_node(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_node(&[]).is_err());
        let mut bad = bytes.clone();
        bad[6] = 7;
        assert!(decode_node(&bad).is_err());
    }
}
