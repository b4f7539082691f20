use crate::{
    Result, StateProvider, StorageError,
    node_cache::{AccountTrieNodes, StorageRoots},
    tables::{
        self, META_CHAIN_ID, META_FINALIZED, META_GENESIS_HASH, META_HEAD, META_LAYOUT, META_SAFE,
        STORAGE_LAYOUT, cf, decode_number, number_key,
    },
    write::StateDiff,
};
use alloy::eips::eip4844::BlobTransactionSidecar;
use alloy_primitives::{Address, B256};
use alloy_rlp::{Decodable, Encodable};
use parking_lot::{Mutex, RwLock};
use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Options};
use std::{path::Path, sync::Arc};
use tributary_chainspec::ChainSpec;
use tributary_primitives::{Header, Receipt, SealedHeader, TxEnvelope};

/// Called with `(key suffix, value)` for each row of a scan.
pub(crate) type RowVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Tuning knobs for RocksDB.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseConfig {
    /// Shared block cache, in bytes.
    pub block_cache_bytes: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { block_cache_bytes: 256 << 20 }
    }
}

/// Where a transaction was included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredTxLocation {
    /// Block number.
    pub block_number: u64,
    /// Index in the block.
    pub index: u32,
}

/// The node's database. Cheap to clone; all clones share one RocksDB instance.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: DB,
    pub(crate) head: RwLock<SealedHeader>,
    /// Serializes writers: commits and unwinds must each see the head they build on.
    pub(crate) write_lock: Mutex<()>,
    /// The account trie's nodes, equal to the `account_trie` table at the head.
    pub(crate) account_nodes: AccountTrieNodes,
    /// Non-empty storage roots, equal to those in `hashed_accounts` at the head.
    pub(crate) storage_roots: StorageRoots,
    /// Recently read and written accounts, slots and code (`hot_state.rs`).
    pub(crate) hot: crate::hot_state::HotState,
    /// The block being written in the background, read by the latest state (`persist.rs`).
    pub(crate) pending: RwLock<Option<Arc<crate::persist::Pending>>>,
    /// The background write in flight (`persist.rs`).
    pub(crate) in_flight: Mutex<crate::persist::InFlight>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("head", &self.head().number).finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (or creates) the database in `path` for `chain`, writing genesis into a new one.
    ///
    /// # Errors
    ///
    /// RocksDB failures, a datadir made for another chain, or a genesis whose state root our
    /// trie does not reproduce.
    pub fn open(path: impl AsRef<Path>, chain: &ChainSpec, config: DatabaseConfig) -> Result<Self> {
        let cache = Cache::new_lru_cache(config.block_cache_bytes);
        let mut table_options = BlockBasedOptions::default();
        table_options.set_block_cache(&cache);
        table_options.set_bloom_filter(10.0, false);
        table_options.set_cache_index_and_filter_blocks(true);
        let mut cf_options = Options::default();
        cf_options.set_block_based_table_factory(&table_options);
        cf_options.set_compression_type(rocksdb::DBCompressionType::Lz4);

        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.increase_parallelism(2);
        db_options.set_max_open_files(512);
        let descriptors = tables::cf::ALL
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_options.clone()));
        let db = DB::open_cf_descriptors(&db_options, path, descriptors)?;

        let genesis = chain.genesis_header();
        let stored_chain = db.get_cf(db.cf_handle(cf::META).expect("cf"), META_CHAIN_ID)?;
        let database = match stored_chain {
            Some(raw) => {
                let found = decode_number(&raw)?;
                let meta = db.cf_handle(cf::META).expect("cf");
                let found_genesis = db
                    .get_cf(meta, META_GENESIS_HASH)?
                    .map(|raw| B256::try_from(raw.as_slice()))
                    .transpose()
                    .map_err(|_| StorageError::corrupt("genesis hash"))?
                    .unwrap_or_default();
                if found != chain.chain_id() || found_genesis != genesis.hash() {
                    return Err(StorageError::WrongChain {
                        expected: chain.chain_id(),
                        expected_genesis: genesis.hash(),
                        found,
                        found_genesis,
                    });
                }
                check_layout(&db)?;
                let head_number = db
                    .get_cf(meta, META_HEAD)?
                    .map(|raw| decode_number(&raw))
                    .transpose()?
                    .ok_or(StorageError::corrupt("head"))?;
                let account_nodes = AccountTrieNodes::load(&db)?;
                let storage_roots = StorageRoots::load(&db)?;
                let inner = Inner {
                    db,
                    head: RwLock::new(genesis.clone()),
                    write_lock: Mutex::new(()),
                    account_nodes,
                    storage_roots,
                    hot: Default::default(),
                    pending: Default::default(),
                    in_flight: Default::default(),
                };
                let database = Self { inner: Arc::new(inner) };
                let head = database
                    .sealed_header(head_number)?
                    .ok_or(StorageError::corrupt("head header"))?;
                *database.inner.head.write() = head;
                database
            }
            None => {
                let inner = Inner {
                    db,
                    head: RwLock::new(genesis.clone()),
                    write_lock: Mutex::new(()),
                    account_nodes: AccountTrieNodes::default(),
                    storage_roots: StorageRoots::default(),
                    hot: Default::default(),
                    pending: Default::default(),
                    in_flight: Default::default(),
                };
                let database = Self { inner: Arc::new(inner) };
                database.write_genesis(chain)?;
                database
            }
        };
        Ok(database)
    }

    fn write_genesis(&self, chain: &ChainSpec) -> Result<()> {
        let header = chain.genesis_header().clone();
        let diff = StateDiff::from_genesis(chain.genesis());
        let root = self.state_root(&diff)?;
        if root.root != header.state_root {
            return Err(StorageError::StateRootMismatch {
                number: 0,
                computed: root.root,
                expected: header.state_root,
            });
        }
        let block = crate::ExecutedBlock {
            header,
            body: Vec::new(),
            senders: Vec::new(),
            receipts: Vec::new(),
            state: diff,
            batches: vec![],
            blob_sidecars: vec![],
        };
        let mut batch = rocksdb::WriteBatch::default();
        let meta = self.cf(cf::META);
        batch.put_cf(meta, META_CHAIN_ID, number_key(chain.chain_id()));
        batch.put_cf(meta, META_GENESIS_HASH, chain.genesis_header().hash());
        batch.put_cf(meta, META_LAYOUT, number_key(STORAGE_LAYOUT));
        let _guard = self.inner.write_lock.lock();
        self.write_block(batch, &block, root)
    }

    pub(crate) fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.inner.db.cf_handle(name).expect("column families are created at open")
    }

    pub(crate) fn get(&self, table: &str, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.db.get_cf(self.cf(table), key)?)
    }

    /// Calls `f(key without the prefix, value)` for every row of `table` whose key starts with
    /// `prefix`, in key order.
    pub(crate) fn for_each_prefixed(
        &self,
        table: &str,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.for_each_from(table, prefix, prefix, None, &mut f)
    }

    /// Calls `f(key without the prefix, value)` for the rows of `table` from `start` on that
    /// start with `prefix` and sort below `upper`, in key order.
    pub(crate) fn for_each_from(
        &self,
        table: &str,
        prefix: &[u8],
        start: &[u8],
        upper: Option<Vec<u8>>,
        f: &mut RowVisitor<'_>,
    ) -> Result<()> {
        let mut opts = rocksdb::ReadOptions::default();
        if let Some(upper) = upper {
            opts.set_iterate_upper_bound(upper);
        }
        let mut iter = self.inner.db.raw_iterator_cf_opt(self.cf(table), opts);
        iter.seek(start);
        while iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else { break };
            if !key.starts_with(prefix) {
                break;
            }
            f(&key[prefix.len()..], value)?;
            iter.next();
        }
        iter.status()?;
        Ok(())
    }

    /// The current head.
    pub fn head(&self) -> SealedHeader {
        self.inner.head.read().clone()
    }

    /// The current head's number.
    pub fn head_number(&self) -> u64 {
        self.inner.head.read().number
    }

    /// The `safe` and `finalized` block numbers derivation last recorded (0 and 0 before it
    /// ever did), clamped to the head.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn safety_heads(&self) -> Result<(u64, u64)> {
        let head = self.head_number();
        let read = |key: &[u8]| -> Result<u64> {
            Ok(self.get(cf::META, key)?.map(|raw| decode_number(&raw)).transpose()?.unwrap_or(0))
        };
        Ok((read(META_SAFE)?.min(head), read(META_FINALIZED)?.min(head)))
    }

    /// Records the `safe` and `finalized` block numbers, so a restarted node resumes
    /// derivation from its safe head rather than from genesis.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn set_safety_heads(&self, safe: u64, finalized: u64) -> Result<()> {
        let meta = self.cf(cf::META);
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(meta, META_SAFE, number_key(safe));
        batch.put_cf(meta, META_FINALIZED, number_key(finalized));
        Ok(self.inner.db.write(batch)?)
    }

    /// The canonical header at `number`.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn header(&self, number: u64) -> Result<Option<Header>> {
        self.get(cf::HEADERS, number_key(number))?
            .map(|raw| Header::decode(&mut raw.as_slice()).map_err(Into::into))
            .transpose()
    }

    /// The canonical header at `number`, with its hash.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn sealed_header(&self, number: u64) -> Result<Option<SealedHeader>> {
        let Some(header) = self.header(number)? else { return Ok(None) };
        let hash = self.block_hash(number)?.ok_or(StorageError::corrupt("canonical hash"))?;
        Ok(Some(SealedHeader::new_unchecked(header, hash)))
    }

    /// The canonical hash at `number`.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        self.get(cf::CANONICAL, number_key(number))?
            .map(|raw| B256::try_from(raw.as_slice()).map_err(|_| StorageError::corrupt("hash")))
            .transpose()
    }

    /// The number of the canonical block with `hash`.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn block_number(&self, hash: &B256) -> Result<Option<u64>> {
        self.get(cf::BLOCK_NUMBERS, hash)?.map(|raw| decode_number(&raw)).transpose()
    }

    /// The transactions of block `number`.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn body(&self, number: u64) -> Result<Option<Vec<TxEnvelope>>> {
        self.get(cf::BODIES, number_key(number))?
            .map(|raw| Vec::<TxEnvelope>::decode(&mut raw.as_slice()).map_err(Into::into))
            .transpose()
    }

    /// Transaction `index` of block `number`, decoding only that one: the others are skipped
    /// by their RLP headers, so a lookup in a block of thousands does not hash them all.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn transaction_at(&self, number: u64, index: usize) -> Result<Option<TxEnvelope>> {
        let Some(raw) = self.get(cf::BODIES, number_key(number))? else { return Ok(None) };
        let mut list = raw.as_slice();
        let header = alloy_rlp::Header::decode(&mut list)?;
        if !header.list {
            return Err(StorageError::corrupt("block body is not a list"));
        }
        let mut items = list.get(..header.payload_length).ok_or(alloy_rlp::Error::InputTooShort)?;
        for _ in 0..index {
            if items.is_empty() {
                return Ok(None);
            }
            let mut rest = items;
            let item = alloy_rlp::Header::decode(&mut rest)?;
            let skip = item.payload_length;
            items = rest.get(skip..).ok_or(alloy_rlp::Error::InputTooShort)?;
        }
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(TxEnvelope::decode(&mut items)?))
    }

    /// The senders of block `number`'s transactions, in order.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn senders(&self, number: u64) -> Result<Option<Vec<Address>>> {
        Ok(self
            .get(cf::SENDERS, number_key(number))?
            .map(|raw| raw.chunks_exact(20).map(Address::from_slice).collect()))
    }

    /// The receipts of block `number`.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>> {
        self.get(cf::RECEIPTS, number_key(number))?
            .map(|raw| Vec::<Receipt>::decode(&mut raw.as_slice()).map_err(Into::into))
            .transpose()
    }

    /// The sidecars of block `number`'s blob transactions, in block order; empty when it has
    /// none or none were kept.
    ///
    /// # Errors
    ///
    /// RocksDB failures, a damaged entry.
    pub fn blob_sidecars(&self, number: u64) -> Result<Vec<BlobTransactionSidecar>> {
        self.get(cf::BLOB_SIDECARS, number_key(number))?
            .map(|raw| {
                Vec::<BlobTransactionSidecar>::decode(&mut raw.as_slice()).map_err(Into::into)
            })
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Where the transaction with `hash` was included.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn transaction_location(&self, hash: &B256) -> Result<Option<StoredTxLocation>> {
        let Some(raw) = self.get(cf::TX_INDEX, hash)? else { return Ok(None) };
        if raw.len() != 12 {
            return Err(StorageError::corrupt("tx index"));
        }
        let block_number = decode_number(&raw[..8])?;
        let index = u32::from_be_bytes(raw[8..12].try_into().expect("4 bytes"));
        Ok(Some(StoredTxLocation { block_number, index }))
    }

    /// State after block `number`, for readers.
    pub fn state_at(&self, number: u64) -> StateProvider {
        StateProvider::historical(self.clone(), number)
    }

    /// The current plain state, without history lookups, through the hot state cache: for the
    /// block writer (no other commit runs meanwhile) and for readers that want the newest
    /// values rather than one block's (the pool).
    pub fn latest_state(&self) -> StateProvider {
        StateProvider::latest(self.clone())
    }
}

pub(crate) fn encode_rlp<T: Encodable>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.length());
    value.encode(&mut out);
    out
}

/// Refuses a datadir whose layout this version does not read. One from before layouts were
/// numbered is read, and marked, when it holds no settled batches (the only records whose
/// encoding changed); with batches it is refused, since they would decode as something else.
fn check_layout(db: &DB) -> Result<()> {
    let meta = db.cf_handle(cf::META).expect("cf");
    let found = db.get_cf(meta, META_LAYOUT)?.map(|raw| decode_number(&raw)).transpose()?;
    match found {
        Some(STORAGE_LAYOUT) => Ok(()),
        Some(found) => Err(StorageError::OldLayout {
            expected: STORAGE_LAYOUT,
            found,
            reason: "its records are encoded otherwise",
        }),
        None => {
            let batches = db.cf_handle(cf::INFERENCE_BATCHES).expect("cf");
            let mut iter = db.raw_iterator_cf(batches);
            iter.seek_to_first();
            if iter.valid() {
                return Err(StorageError::OldLayout {
                    expected: STORAGE_LAYOUT,
                    found: 0,
                    reason: "settled inference batches are stored with more fields now",
                });
            }
            iter.status()?;
            db.put_cf(meta, META_LAYOUT, number_key(STORAGE_LAYOUT))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datadir from before layouts were numbered opens (and is marked) when it holds no
    /// settled batches, and is refused with a clear error when it does; a marked one opens.
    #[test]
    fn an_unnumbered_datadir_with_batches_is_refused() {
        let chain = ChainSpec::dev();
        let dir = tempfile::tempdir().unwrap();
        let unmark = |db: &Database| {
            db.inner.db.delete_cf(db.cf(cf::META), META_LAYOUT).unwrap();
        };
        let db = Database::open(dir.path(), &chain, Default::default()).unwrap();
        unmark(&db);
        drop(db);
        let db = Database::open(dir.path(), &chain, Default::default()).unwrap();
        assert_eq!(
            db.get(cf::META, META_LAYOUT).unwrap(),
            Some(number_key(STORAGE_LAYOUT).to_vec())
        );

        unmark(&db);
        let old_batch = [number_key(1).as_slice(), &[0u8; 56], b"records"].concat();
        db.inner.db.put_cf(db.cf(cf::INFERENCE_BATCHES), number_key(1), old_batch).unwrap();
        drop(db);
        let Err(err) = Database::open(dir.path(), &chain, Default::default()) else {
            panic!("an old datadir with batches must be refused")
        };
        assert!(matches!(err, StorageError::OldLayout { found: 0, .. }), "{err}");
        assert!(err.to_string().contains("fresh --datadir"), "{err}");
    }
}
