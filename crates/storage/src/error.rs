use alloy_primitives::B256;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored record does not decode: the datadir is damaged.
    #[error("corrupt {0} record in the database")]
    Corrupt(&'static str),
    /// A stored RLP record does not decode.
    #[error("corrupt RLP record: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// A stored trie node does not decode.
    #[error(transparent)]
    TrieNode(#[from] tributary_trie::DecodeNodeError),
    /// The datadir was made for another chain.
    #[error(
        "datadir belongs to chain {found} (genesis {found_genesis}), but this node runs chain \
         {expected} (genesis {expected_genesis}); use another --datadir"
    )]
    WrongChain {
        /// Chain id of the running spec.
        expected: u64,
        /// Genesis hash of the running spec.
        expected_genesis: B256,
        /// Chain id in the datadir.
        found: u64,
        /// Genesis hash in the datadir.
        found_genesis: B256,
    },
    /// The datadir was written with an older layout this version does not read.
    #[error(
        "the datadir was written by an older Tributary (storage layout {found}, this one reads \
         {expected}): {reason}; use a fresh --datadir"
    )]
    OldLayout {
        /// The layout this version writes and reads.
        expected: u64,
        /// The datadir's (0: from before layouts were numbered).
        found: u64,
        /// What changed.
        reason: &'static str,
    },
    /// The computed state root is not the expected one.
    #[error("state root mismatch at block {number}: computed {computed}, expected {expected}")]
    StateRootMismatch {
        /// Block the root is for.
        number: u64,
        /// What the trie gave.
        computed: B256,
        /// What the header says.
        expected: B256,
    },
    /// A block that does not extend the head.
    #[error("block {number} does not extend head {head}")]
    NotNextBlock {
        /// The block's number.
        number: u64,
        /// The current head.
        head: u64,
    },
    /// An unwind that would remove genesis.
    #[error("cannot unwind {requested} blocks from head {head}: genesis stays")]
    UnwindPastGenesis {
        /// Blocks asked for.
        requested: u64,
        /// The current head.
        head: u64,
    },
    /// A block write failed (the disk is full or failing); nothing is written after it.
    #[error("a block write failed: {0}; restart the node once the disk is fixed")]
    WriteFailed(String),
}

impl StorageError {
    pub(crate) fn corrupt(what: &'static str) -> Self {
        Self::Corrupt(what)
    }
}

/// The storage `Result`.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
