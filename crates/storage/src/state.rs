use crate::{
    Database, Result, StorageError,
    prefetch::PrefetchKey,
    tables::{
        account_change_key, account_history_key, cf, decode_account, decode_u256,
        storage_change_key, storage_history_key, storage_key,
    },
};
use alloy_primitives::{Address, B256, Bytes, U256};
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};
use tributary_primitives::{Account, KECCAK_EMPTY};

impl DBErrorMarker for StorageError {}

/// Reads state as of one block, or the current plain state for the block writer.
#[derive(Debug, Clone)]
pub struct StateProvider {
    db: Database,
    /// `None`: plain state, no history lookups.
    at: Option<u64>,
    /// Where the keys read go, for the state root's read-ahead (latest state only).
    prefetch: Option<std::sync::mpsc::Sender<PrefetchKey>>,
}

impl StateProvider {
    pub(crate) fn historical(db: Database, number: u64) -> Self {
        Self { db, at: Some(number), prefetch: None }
    }

    pub(crate) fn latest(db: Database) -> Self {
        Self { db, at: None, prefetch: None }
    }

    pub(crate) fn latest_prefetching(
        db: Database,
        prefetch: std::sync::mpsc::Sender<PrefetchKey>,
    ) -> Self {
        Self { db, at: None, prefetch: Some(prefetch) }
    }

    fn send_prefetch(&self, key: PrefetchKey) {
        if let Some(prefetch) = &self.prefetch {
            // A finished prefetch has nobody listening; the root then reads RocksDB.
            let _ = prefetch.send(key);
        }
    }

    /// The block whose post-state this reads (`None`: the live plain state).
    pub fn block_number(&self) -> Option<u64> {
        self.at
    }

    /// The account at `address`, if it exists.
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn account(&self, address: &Address) -> Result<Option<Account>> {
        let hot = &self.db.inner.hot;
        if self.at.is_none() {
            self.send_prefetch(PrefetchKey::Account(*address));
            if let Some(account) = self.db.pending().and_then(|pending| pending.account(address)) {
                return Ok(account);
            }
            if let Some(account) = hot.account(address) {
                return Ok(account);
            }
            let generation = hot.generation();
            let account =
                self.db.get(cf::ACCOUNTS, address)?.map(|raw| decode_account(&raw)).transpose()?;
            hot.fill_account(generation, *address, account);
            return Ok(account);
        }
        // Plain state first, history second: see the crate docs on concurrency.
        let plain = self.db.get(cf::ACCOUNTS, address)?;
        if let Some(number) = self.at
            && let Some(changed_at) = self.first_change_after(
                cf::ACCOUNT_HISTORY,
                address.as_slice(),
                &account_history_key(address, number.saturating_add(1)),
            )?
        {
            let before = self
                .db
                .get(cf::ACCOUNT_CHANGES, account_change_key(changed_at, address))?
                .ok_or(StorageError::corrupt("account change set"))?;
            return if before.is_empty() { Ok(None) } else { decode_account(&before).map(Some) };
        }
        plain.map(|raw| decode_account(&raw)).transpose()
    }

    /// The value of `slot` in `address`'s storage (zero when unset).
    ///
    /// # Errors
    ///
    /// RocksDB or decoding failures.
    pub fn storage(&self, address: &Address, slot: &B256) -> Result<U256> {
        let hot = &self.db.inner.hot;
        if self.at.is_none() {
            self.send_prefetch(PrefetchKey::Slot(*address, *slot));
            if let Some(value) =
                self.db.pending().and_then(|pending| pending.storage(address, slot))
            {
                return Ok(value);
            }
            if let Some(value) = hot.storage(address, slot) {
                return Ok(value);
            }
            let generation = hot.generation();
            let value = match self.db.get(cf::STORAGE, storage_key(address, slot))? {
                Some(raw) => decode_u256(&raw)?,
                None => U256::ZERO,
            };
            hot.fill_storage(generation, *address, *slot, value);
            return Ok(value);
        }
        let plain = self.db.get(cf::STORAGE, storage_key(address, slot))?;
        if let Some(number) = self.at {
            let prefix = storage_key(address, slot);
            if let Some(changed_at) = self.first_change_after(
                cf::STORAGE_HISTORY,
                &prefix,
                &storage_history_key(address, slot, number.saturating_add(1)),
            )? {
                let before = self
                    .db
                    .get(cf::STORAGE_CHANGES, storage_change_key(changed_at, address, slot))?
                    .ok_or(StorageError::corrupt("storage change set"))?;
                return decode_u256(&before);
            }
        }
        plain.map_or(Ok(U256::ZERO), |raw| decode_u256(&raw))
    }

    /// Code by its hash.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn code(&self, code_hash: &B256) -> Result<Option<Bytes>> {
        if *code_hash == KECCAK_EMPTY {
            return Ok(Some(Bytes::new()));
        }
        if self.at.is_none()
            && let Some(code) =
                self.db.pending().and_then(|pending| pending.code(code_hash).cloned())
        {
            return Ok(Some(code));
        }
        Ok(self.db.get(cf::BYTECODE, code_hash)?.map(Bytes::from))
    }

    /// The code of the account at `address` (empty when none).
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn code_at(&self, address: &Address) -> Result<Bytes> {
        match self.account(address)? {
            Some(account) => Ok(self.code(&account.code_hash)?.unwrap_or_default()),
            None => Ok(Bytes::new()),
        }
    }

    /// The canonical hash of block `number`.
    ///
    /// # Errors
    ///
    /// RocksDB failures.
    pub fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        if self.at.is_none()
            && let Some(hash) = self.db.pending().and_then(|pending| pending.block_hash(number))
        {
            return Ok(Some(hash));
        }
        self.db.block_hash(number)
    }

    /// The block number of the first change to `prefix`'s key at or after `from_key`.
    fn first_change_after(
        &self,
        table: &str,
        prefix: &[u8],
        from_key: &[u8],
    ) -> Result<Option<u64>> {
        let mut iter = self.db.inner.db.raw_iterator_cf(self.db.cf(table));
        iter.seek(from_key);
        if !iter.valid() {
            iter.status()?;
            return Ok(None);
        }
        let key = iter.key().unwrap_or_default();
        if key.len() != prefix.len() + 8 || !key.starts_with(prefix) {
            return Ok(None);
        }
        crate::tables::decode_number(&key[prefix.len()..]).map(Some)
    }
}

impl DatabaseRef for StateProvider {
    type Error = StorageError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>> {
        Ok(self.account(&address)?.map(|account| AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
            account_id: None,
            code: (account.code_hash == KECCAK_EMPTY).then(Bytecode::default),
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode> {
        let hot = &self.db.inner.hot;
        if let Some(code) = hot.code(&code_hash) {
            return Ok(code);
        }
        let code = self.code(&code_hash)?.ok_or(StorageError::corrupt("missing bytecode"))?;
        let code = Bytecode::new_raw(code);
        hot.fill_code(code_hash, code.clone());
        Ok(code)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256> {
        self.storage(&address, &B256::from(index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256> {
        Ok(self.block_hash(number)?.unwrap_or_default())
    }
}
