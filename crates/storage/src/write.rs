//! Block commits and unwinds: one `WriteBatch` each.

use crate::{
    Database, Result, StateRootOutput, StorageError,
    db::encode_rlp,
    tables::{
        META_HEAD, account_change_key, account_history_key, cf, decode_account, decode_u256,
        encode_account, encode_hashed_account, encode_path, hashed_storage_key, number_key,
        storage_change_key, storage_history_key, storage_key,
    },
};
use alloy::{
    eips::{Encodable2718, eip4844::BlobTransactionSidecar},
    genesis::Genesis,
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use rocksdb::WriteBatch;
use std::{collections::BTreeMap, sync::Arc};
use tributary_primitives::{Account, KECCAK_EMPTY, Receipt, SealedHeader, TxEnvelope};
use tributary_trie::TrieUpdates;

/// One account's change in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    /// The account.
    pub address: Address,
    /// Before the block (`None`: did not exist).
    pub old: Option<Account>,
    /// After the block (`None`: deleted).
    pub new: Option<Account>,
}

/// One account's storage changes in a block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageChange {
    /// The account.
    pub address: Address,
    /// All storage the account had was cleared first (the account was destroyed or recreated).
    pub wiped: bool,
    /// `(slot, value before, value after)`.
    pub slots: Vec<(B256, U256, U256)>,
}

/// Everything a block changed in state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Changed accounts.
    pub accounts: Vec<AccountChange>,
    /// Changed storage, per account.
    pub storage: Vec<StorageChange>,
    /// New code, by hash.
    pub contracts: Vec<(B256, Bytes)>,
}

impl StateDiff {
    /// The state a genesis `alloc` creates.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let mut diff = Self::default();
        for (address, account) in &genesis.alloc {
            let code_hash = match &account.code {
                Some(code) if !code.is_empty() => {
                    let hash = keccak256(code);
                    diff.contracts.push((hash, code.clone()));
                    hash
                }
                _ => KECCAK_EMPTY,
            };
            let new = Account {
                nonce: account.nonce.unwrap_or_default(),
                balance: account.balance,
                code_hash,
            };
            diff.accounts.push(AccountChange { address: *address, old: None, new: Some(new) });
            if let Some(storage) = &account.storage {
                let slots = storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(slot, value)| (*slot, U256::ZERO, U256::from_be_bytes(value.0)))
                    .collect();
                diff.storage.push(StorageChange { address: *address, wiped: false, slots });
            }
        }
        diff
    }
}

/// A block after execution, ready to be written.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    /// The sealed header (its state root already computed).
    pub header: SealedHeader,
    /// Transactions.
    pub body: Vec<TxEnvelope>,
    /// Senders, one per transaction.
    pub senders: Vec<Address>,
    /// Receipts, one per transaction.
    pub receipts: Vec<Receipt>,
    /// State changes.
    pub state: StateDiff,
    /// Batches of inference records the block settled, for the index (`batches.rs`).
    pub batches: Vec<crate::SettledBatch>,
    /// The sidecars of the block's blob transactions, in block order (the L1 dev chain: the
    /// builder takes them from the pool). Empty when the block has none or they are not at
    /// hand (a block imported without them).
    pub blob_sidecars: Vec<Arc<BlobTransactionSidecar>>,
}

impl Database {
    /// Writes `block` on top of the head, with the trie changes `root` computed for it by
    /// [`Database::state_root`].
    ///
    /// # Errors
    ///
    /// A block that does not extend the head, a root that is not the header's, RocksDB failures.
    pub fn commit_block(&self, block: &ExecutedBlock, root: StateRootOutput) -> Result<()> {
        // The head is checked under the write lock, so an unwind cannot slip in between.
        let _guard = self.inner.write_lock.lock();
        self.wait_persisted()?;
        self.check_next_block(block, &root)?;
        self.write_block(WriteBatch::default(), block, root)
    }

    /// Whether `block` with `root` may be written on the head. The caller holds the write
    /// lock and nothing is in flight.
    pub(crate) fn check_next_block(
        &self,
        block: &ExecutedBlock,
        root: &StateRootOutput,
    ) -> Result<()> {
        let head = self.head();
        if block.header.number != head.number + 1 || block.header.parent_hash != head.hash() {
            return Err(StorageError::NotNextBlock {
                number: block.header.number,
                head: head.number,
            });
        }
        if root.root != block.header.state_root {
            return Err(StorageError::StateRootMismatch {
                number: block.header.number,
                computed: root.root,
                expected: block.header.state_root,
            });
        }
        Ok(())
    }

    /// Writes a block. The caller holds the write lock, or is the thread of a background
    /// commit (`persist.rs`), which every other writer waits for under that lock.
    pub(crate) fn write_block(
        &self,
        mut batch: WriteBatch,
        block: &ExecutedBlock,
        root: StateRootOutput,
    ) -> Result<()> {
        let number = block.header.number;
        let key = number_key(number);
        let hash = block.header.hash();
        batch.put_cf(self.cf(cf::HEADERS), key, encode_rlp(block.header.inner()));
        batch.put_cf(self.cf(cf::CANONICAL), key, hash);
        batch.put_cf(self.cf(cf::BLOCK_NUMBERS), hash, key);
        batch.put_cf(self.cf(cf::BODIES), key, encode_rlp(&block.body));
        batch.put_cf(
            self.cf(cf::SENDERS),
            key,
            block.senders.iter().flat_map(|a| a.0).collect::<Vec<u8>>(),
        );
        batch.put_cf(self.cf(cf::RECEIPTS), key, encode_rlp(&block.receipts));
        for (index, tx) in block.body.iter().enumerate() {
            let location = [&key[..], &(index as u32).to_be_bytes()].concat();
            batch.put_cf(self.cf(cf::TX_INDEX), tx.trie_hash(), location);
        }
        self.write_state(&mut batch, number, &block.state)?;
        self.write_batches(&mut batch, &block.batches)?;
        if !block.blob_sidecars.is_empty() {
            let mut sidecars = Vec::new();
            alloy_rlp::encode_list::<_, BlobTransactionSidecar>(
                &block.blob_sidecars,
                &mut sidecars,
            );
            batch.put_cf(self.cf(cf::BLOB_SIDECARS), key, sidecars);
        }
        let (account_nodes, storage_roots) = self.write_hashed_state(&mut batch, root);
        batch.put_cf(self.cf(cf::META), META_HEAD, key);
        self.inner.db.write(batch)?;
        self.inner.account_nodes.apply(account_nodes);
        self.inner.storage_roots.apply(storage_roots);
        self.inner.hot.apply(&block.state);
        *self.inner.head.write() = block.header.clone();
        Ok(())
    }

    /// Plain state, change sets and history for block `number`.
    fn write_state(&self, batch: &mut WriteBatch, number: u64, diff: &StateDiff) -> Result<()> {
        for change in &diff.accounts {
            let address = &change.address;
            match &change.new {
                Some(account) => {
                    batch.put_cf(self.cf(cf::ACCOUNTS), address, encode_account(account))
                }
                None => batch.delete_cf(self.cf(cf::ACCOUNTS), address),
            }
            let before =
                change.old.as_ref().map(|a| encode_account(a).to_vec()).unwrap_or_default();
            batch.put_cf(self.cf(cf::ACCOUNT_CHANGES), account_change_key(number, address), before);
            batch.put_cf(self.cf(cf::ACCOUNT_HISTORY), account_history_key(address, number), []);
        }
        for change in &diff.storage {
            let address = &change.address;
            let record = |batch: &mut WriteBatch, slot: &B256, old: U256| {
                let key = storage_change_key(number, address, slot);
                batch.put_cf(self.cf(cf::STORAGE_CHANGES), key, old.to_be_bytes::<32>());
                batch.put_cf(
                    self.cf(cf::STORAGE_HISTORY),
                    storage_history_key(address, slot, number),
                    [],
                );
            };
            let mut written: BTreeMap<B256, U256> = BTreeMap::new();
            if change.wiped {
                // Every slot the account had before goes, and its old value is kept.
                for (slot, old) in self.plain_storage_of(address)? {
                    written.insert(slot, old);
                }
            }
            for (slot, old, _) in &change.slots {
                written.entry(*slot).or_insert(if change.wiped {
                    // the stored value is the real pre-block value; revm reports zero here
                    U256::ZERO
                } else {
                    *old
                });
            }
            let new_values: BTreeMap<B256, U256> =
                change.slots.iter().map(|(slot, _, new)| (*slot, *new)).collect();
            for (slot, old) in &written {
                let new = new_values.get(slot).copied().unwrap_or(U256::ZERO);
                if new == *old {
                    continue;
                }
                record(batch, slot, *old);
                let key = storage_key(address, slot);
                if new.is_zero() {
                    batch.delete_cf(self.cf(cf::STORAGE), key);
                } else {
                    batch.put_cf(self.cf(cf::STORAGE), key, new.to_be_bytes::<32>());
                }
            }
        }
        for (hash, code) in &diff.contracts {
            batch.put_cf(self.cf(cf::BYTECODE), hash, code);
        }
        Ok(())
    }

    fn plain_storage_of(&self, address: &Address) -> Result<Vec<(B256, U256)>> {
        let mut out = Vec::new();
        self.for_each_prefixed(cf::STORAGE, address.as_slice(), |key, value| {
            let slot = B256::try_from(key).map_err(|_| StorageError::corrupt("storage key"))?;
            out.push((slot, decode_u256(value)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// Puts the hashed state and trie nodes of `root` into `batch`, and returns what the
    /// in-memory copies take once the batch is written: the account trie's node changes and
    /// each changed account's storage root (`None`: deleted).
    fn write_hashed_state(
        &self,
        batch: &mut WriteBatch,
        root: StateRootOutput,
    ) -> (TrieUpdates, Vec<(B256, Option<B256>)>) {
        for (hashed, leaf) in &root.accounts {
            match leaf {
                Some((account, storage_root)) => batch.put_cf(
                    self.cf(cf::HASHED_ACCOUNTS),
                    hashed,
                    encode_hashed_account(account, storage_root),
                ),
                None => batch.delete_cf(self.cf(cf::HASHED_ACCOUNTS), hashed),
            }
        }
        for storage in &root.storage {
            let prefix = storage.hashed_address;
            if storage.wiped {
                let end = hashed_storage_key(&prefix, &B256::repeat_byte(0xff));
                batch.delete_range_cf(self.cf(cf::HASHED_STORAGE), prefix.as_slice(), &end[..]);
                batch.delete_cf(self.cf(cf::HASHED_STORAGE), end);
                let mut trie_end = prefix.to_vec();
                trie_end.push(0xff);
                batch.delete_range_cf(self.cf(cf::STORAGE_TRIE), prefix.as_slice(), &trie_end[..]);
            }
            for (slot, value) in &storage.slots {
                let key = hashed_storage_key(&prefix, slot);
                if value.is_zero() {
                    batch.delete_cf(self.cf(cf::HASHED_STORAGE), key);
                } else {
                    batch.put_cf(self.cf(cf::HASHED_STORAGE), key, value.to_be_bytes::<32>());
                }
            }
            for path in &storage.nodes.removed {
                batch.delete_cf(
                    self.cf(cf::STORAGE_TRIE),
                    [prefix.as_slice(), &encode_path(path)].concat(),
                );
            }
            for (path, node) in &storage.nodes.updated {
                let key = [prefix.as_slice(), &encode_path(path)].concat();
                batch.put_cf(self.cf(cf::STORAGE_TRIE), key, tributary_trie::encode_node(node));
            }
        }
        for path in &root.account_nodes.removed {
            batch.delete_cf(self.cf(cf::ACCOUNT_TRIE), encode_path(path));
        }
        for (path, node) in &root.account_nodes.updated {
            batch.put_cf(
                self.cf(cf::ACCOUNT_TRIE),
                encode_path(path),
                tributary_trie::encode_node(node),
            );
        }
        let storage_roots = root
            .accounts
            .iter()
            .map(|(hashed, leaf)| (*hashed, leaf.as_ref().map(|(_, storage_root)| *storage_root)))
            .collect();
        (root.account_nodes, storage_roots)
    }

    /// Removes the top `count` blocks, restoring state, trie and indexes exactly as they were.
    ///
    /// # Errors
    ///
    /// Unwinding genesis, a restored root that is not the parent's (the datadir is damaged),
    /// RocksDB failures.
    pub fn unwind(&self, count: u64) -> Result<()> {
        let _guard = self.inner.write_lock.lock();
        self.wait_persisted()?;
        let head = self.head_number();
        if count > head {
            return Err(StorageError::UnwindPastGenesis { requested: count, head });
        }
        for _ in 0..count {
            self.unwind_one()?;
        }
        Ok(())
    }

    /// Removes every block above `number`; the head is read under the write lock, so a block
    /// committed meanwhile is removed too. Nothing happens when the head is at or below it.
    ///
    /// # Errors
    ///
    /// See [`Database::unwind`].
    pub fn unwind_to(&self, number: u64) -> Result<()> {
        let _guard = self.inner.write_lock.lock();
        self.wait_persisted()?;
        while self.head_number() > number {
            self.unwind_one()?;
        }
        Ok(())
    }

    /// Removes the head block. The caller holds the write lock.
    fn unwind_one(&self) -> Result<()> {
        let number = self.head_number();
        let parent =
            self.sealed_header(number - 1)?.ok_or(StorageError::corrupt("parent header"))?;
        let reverse = self.reverse_diff(number)?;
        let root = self.state_root(&reverse)?;
        if root.root != parent.state_root {
            return Err(StorageError::StateRootMismatch {
                number: number - 1,
                computed: root.root,
                expected: parent.state_root,
            });
        }

        let mut batch = WriteBatch::default();
        let key = number_key(number);
        let hash = self.block_hash(number)?.unwrap_or_default();
        for tx in self.body(number)?.unwrap_or_default() {
            batch.delete_cf(self.cf(cf::TX_INDEX), tx.trie_hash());
        }
        for table in
            [cf::HEADERS, cf::CANONICAL, cf::BODIES, cf::SENDERS, cf::RECEIPTS, cf::BLOB_SIDECARS]
        {
            batch.delete_cf(self.cf(table), key);
        }
        batch.delete_cf(self.cf(cf::BLOCK_NUMBERS), hash);
        self.unwind_batches(&mut batch, number)?;

        for change in &reverse.accounts {
            match &change.new {
                Some(account) => {
                    batch.put_cf(self.cf(cf::ACCOUNTS), change.address, encode_account(account))
                }
                None => batch.delete_cf(self.cf(cf::ACCOUNTS), change.address),
            }
            batch.delete_cf(
                self.cf(cf::ACCOUNT_CHANGES),
                account_change_key(number, &change.address),
            );
            batch.delete_cf(
                self.cf(cf::ACCOUNT_HISTORY),
                account_history_key(&change.address, number),
            );
        }
        for change in &reverse.storage {
            for (slot, _, before) in &change.slots {
                let plain = storage_key(&change.address, slot);
                if before.is_zero() {
                    batch.delete_cf(self.cf(cf::STORAGE), plain);
                } else {
                    batch.put_cf(self.cf(cf::STORAGE), plain, before.to_be_bytes::<32>());
                }
                batch.delete_cf(
                    self.cf(cf::STORAGE_CHANGES),
                    storage_change_key(number, &change.address, slot),
                );
                batch.delete_cf(
                    self.cf(cf::STORAGE_HISTORY),
                    storage_history_key(&change.address, slot, number),
                );
            }
        }
        let (account_nodes, storage_roots) = self.write_hashed_state(&mut batch, root);
        batch.put_cf(self.cf(cf::META), META_HEAD, number_key(number - 1));
        self.inner.db.write(batch)?;
        self.inner.account_nodes.apply(account_nodes);
        self.inner.storage_roots.apply(storage_roots);
        self.inner.hot.apply(&reverse);
        *self.inner.head.write() = parent;
        Ok(())
    }

    /// The diff that takes the state after block `number` back to the state before it.
    fn reverse_diff(&self, number: u64) -> Result<StateDiff> {
        let mut diff = StateDiff::default();
        let prefix = number_key(number);
        self.for_each_prefixed(cf::ACCOUNT_CHANGES, &prefix, |key, value| {
            let address =
                Address::try_from(key).map_err(|_| StorageError::corrupt("change set key"))?;
            let before = if value.is_empty() { None } else { Some(decode_account(value)?) };
            let now = self.latest_state().account(&address)?;
            diff.accounts.push(AccountChange { address, old: now, new: before });
            Ok(())
        })?;

        let mut storage: BTreeMap<Address, Vec<(B256, U256, U256)>> = BTreeMap::new();
        self.for_each_prefixed(cf::STORAGE_CHANGES, &prefix, |key, value| {
            if key.len() != 52 {
                return Err(StorageError::corrupt("storage change key"));
            }
            let address = Address::from_slice(&key[..20]);
            let slot = B256::from_slice(&key[20..52]);
            let now = self.latest_state().storage(&address, &slot)?;
            storage.entry(address).or_default().push((slot, now, decode_u256(value)?));
            Ok(())
        })?;
        diff.storage = storage
            .into_iter()
            .map(|(address, slots)| StorageChange { address, wiped: false, slots })
            .collect();
        Ok(diff)
    }
}
