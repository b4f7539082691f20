use alloy_primitives::B256;
use alloy_trie::Nibbles;

/// The sorted set of changed leaf keys, asked "does any changed key start with this path?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixSet {
    keys: Vec<Nibbles>,
}

impl PrefixSet {
    /// Builds the set from hashed keys in any order; duplicates are dropped.
    pub fn from_hashed_keys(keys: impl IntoIterator<Item = B256>) -> Self {
        let mut keys: Vec<Nibbles> = keys.into_iter().map(|k| Nibbles::unpack(k)).collect();
        keys.sort_unstable();
        keys.dedup();
        Self { keys }
    }

    /// True when no key changed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of changed keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether any changed key starts with `prefix`.
    pub fn contains_prefix(&self, prefix: &Nibbles) -> bool {
        let idx = self.keys.partition_point(|k| k < prefix);
        self.keys.get(idx).is_some_and(|k| k.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;

    #[test]
    fn prefix_lookup() {
        let set = PrefixSet::from_hashed_keys([
            b256!("0x1200000000000000000000000000000000000000000000000000000000000000"),
            b256!("0xab00000000000000000000000000000000000000000000000000000000000000"),
        ]);
        assert!(set.contains_prefix(&Nibbles::default()));
        assert!(set.contains_prefix(&Nibbles::from_nibbles([1])));
        assert!(set.contains_prefix(&Nibbles::from_nibbles([1, 2])));
        assert!(!set.contains_prefix(&Nibbles::from_nibbles([1, 3])));
        assert!(set.contains_prefix(&Nibbles::from_nibbles([0xa, 0xb, 0])));
        assert!(!set.contains_prefix(&Nibbles::from_nibbles([0xf])));
        assert!(!PrefixSet::default().contains_prefix(&Nibbles::default()));
    }
}
