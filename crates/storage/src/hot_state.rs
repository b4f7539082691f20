//! Accounts, storage slots and code the newest blocks read or wrote, held in memory across
//! blocks (reth's cached state provider).
//!
//! Execution reads every account a transaction touches (its sender and recipient at least),
//! and a RocksDB point read costs a few microseconds through the memtable and the levels,
//! several times what executing a transfer costs. The same accounts come back block after
//! block (a busy sender, a token contract and its holders), so the latest-state reads
//! ([`Database::latest_state`]: the block writer and the pool) look here first.
//!
//! # Staying equal to plain state
//!
//! After each write of plain state (a commit or an unwind), under the database's write lock,
//! every key the block changed is set to its new value and the generation moves on. A reader
//! that missed notes the generation before its RocksDB read and fills the entry only if the
//! generation has not moved since: a value read before a commit is never put in after it
//! (and a value read before the write but put in before [`HotState::apply`] is overwritten
//! by it, since apply sets every changed key). Code is immutable under its hash.
//!
//! The maps are bounded: past their limit they are cleared and refill with what is read next.
//!
//! [`Database::latest_state`]: crate::Database::latest_state

use crate::StateDiff;
use alloy_primitives::{Address, B256, U256, map::HashMap};
use parking_lot::RwLock;
use revm::bytecode::Bytecode;
use tributary_primitives::Account;

/// Accounts kept at most (about 150 bytes each).
const MAX_ACCOUNTS: usize = 1 << 18;
/// Storage slots kept at most (about 120 bytes each).
const MAX_SLOTS: usize = 1 << 19;
/// Contracts' code kept at most.
const MAX_CODES: usize = 1 << 10;

#[derive(Debug, Default)]
struct Maps {
    generation: u64,
    accounts: HashMap<Address, Option<Account>>,
    storage: HashMap<(Address, B256), U256>,
}

/// The cache; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct HotState {
    maps: RwLock<Maps>,
    codes: RwLock<HashMap<B256, Bytecode>>,
}

impl HotState {
    /// The account at `address` (`Some(None)`: known not to exist), or None on a miss.
    pub(crate) fn account(&self, address: &Address) -> Option<Option<Account>> {
        self.maps.read().accounts.get(address).copied()
    }

    /// The value of a slot, or None on a miss.
    pub(crate) fn storage(&self, address: &Address, slot: &B256) -> Option<U256> {
        self.maps.read().storage.get(&(*address, *slot)).copied()
    }

    /// Code by hash, or None on a miss.
    pub(crate) fn code(&self, hash: &B256) -> Option<Bytecode> {
        self.codes.read().get(hash).cloned()
    }

    /// The generation to pass to the `fill_*` calls after a miss's RocksDB read.
    pub(crate) fn generation(&self) -> u64 {
        self.maps.read().generation
    }

    /// Keeps `account`, read from RocksDB after [`HotState::generation`] gave `generation`.
    pub(crate) fn fill_account(&self, generation: u64, address: Address, account: Option<Account>) {
        let mut maps = self.maps.write();
        if maps.generation != generation {
            return;
        }
        if maps.accounts.len() >= MAX_ACCOUNTS {
            maps.accounts.clear();
        }
        maps.accounts.insert(address, account);
    }

    /// Keeps a slot's value, read from RocksDB after [`HotState::generation`] gave `generation`.
    pub(crate) fn fill_storage(&self, generation: u64, address: Address, slot: B256, value: U256) {
        let mut maps = self.maps.write();
        if maps.generation != generation {
            return;
        }
        if maps.storage.len() >= MAX_SLOTS {
            maps.storage.clear();
        }
        maps.storage.insert((address, slot), value);
    }

    /// Keeps code under its hash.
    pub(crate) fn fill_code(&self, hash: B256, code: Bytecode) {
        let mut codes = self.codes.write();
        if codes.len() >= MAX_CODES {
            codes.clear();
        }
        codes.insert(hash, code);
    }

    /// Sets every key `diff` changed to its new value. Called after the write that holds the
    /// same changes, under the database's write lock.
    pub(crate) fn apply(&self, diff: &StateDiff) {
        let mut maps = self.maps.write();
        maps.generation = maps.generation.wrapping_add(1);
        if maps.accounts.len().saturating_add(diff.accounts.len()) > MAX_ACCOUNTS {
            maps.accounts.clear();
        }
        for change in &diff.accounts {
            maps.accounts.insert(change.address, change.new);
        }
        let slots: usize = diff.storage.iter().map(|change| change.slots.len()).sum();
        if diff.storage.iter().any(|change| change.wiped)
            || maps.storage.len().saturating_add(slots) > MAX_SLOTS
        {
            // A wiped account's old slots are not listed: forget all (wipes are rare).
            maps.storage.clear();
        }
        for change in &diff.storage {
            for (slot, _, value) in &change.slots {
                maps.storage.insert((change.address, *slot), *value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountChange, StorageChange};

    fn account(nonce: u64) -> Account {
        Account { nonce, ..Default::default() }
    }

    #[test]
    fn a_read_from_before_a_write_is_not_kept() {
        let hot = HotState::default();
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let before = hot.generation();
        hot.apply(&StateDiff {
            accounts: vec![AccountChange { address: a, old: None, new: Some(account(1)) }],
            ..Default::default()
        });
        // Read before the write, filled after it: dropped.
        hot.fill_account(before, b, Some(account(7)));
        assert_eq!(hot.account(&b), None);
        assert_eq!(hot.account(&a), Some(Some(account(1))), "written keys are kept");
        hot.fill_account(hot.generation(), b, None);
        assert_eq!(hot.account(&b), Some(None), "a missing account is remembered");
    }

    #[test]
    fn writes_set_slots_and_a_wipe_forgets_them() {
        let hot = HotState::default();
        let (a, slot) = (Address::repeat_byte(1), B256::repeat_byte(9));
        hot.fill_storage(hot.generation(), a, B256::ZERO, U256::from(5));
        hot.apply(&StateDiff {
            storage: vec![StorageChange {
                address: a,
                wiped: false,
                slots: vec![(slot, U256::ZERO, U256::from(3))],
            }],
            ..Default::default()
        });
        assert_eq!(hot.storage(&a, &slot), Some(U256::from(3)));
        assert_eq!(hot.storage(&a, &B256::ZERO), Some(U256::from(5)));
        hot.apply(&StateDiff {
            storage: vec![StorageChange { address: a, wiped: true, slots: Vec::new() }],
            ..Default::default()
        });
        assert_eq!(hot.storage(&a, &B256::ZERO), None, "a wipe drops what it does not list");
    }
}
