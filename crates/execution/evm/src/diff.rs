use alloy_primitives::{B256, U256};
use revm::{database::BundleState, state::AccountInfo};
use tributary_primitives::Account;
use tributary_storage::{AccountChange, StateDiff, StorageChange};

fn account(info: &AccountInfo) -> Account {
    Account { nonce: info.nonce, balance: info.balance, code_hash: info.code_hash }
}

/// Turns one block's bundle into a [`StateDiff`]: accounts whose info changed, storage slots
/// whose value changed (with their value before the block), wiped storage, and new code.
///
/// The bundle must hold exactly one block (merged with `BundleRetention::PlainState`), so each
/// slot's `previous_or_original_value` is its value before the block.
pub fn bundle_to_diff(bundle: BundleState) -> StateDiff {
    let mut diff = StateDiff::default();
    let mut addresses: Vec<_> = bundle.state.keys().copied().collect();
    addresses.sort_unstable();
    for address in addresses {
        let Some(bundle_account) = bundle.state.get(&address) else { continue };
        let old = bundle_account.original_info.as_ref().map(account);
        let new = bundle_account.info.as_ref().map(account);
        if old != new {
            diff.accounts.push(AccountChange { address, old, new });
        }
        let wiped = bundle_account.was_destroyed();
        let mut slots: Vec<(B256, U256, U256)> = bundle_account
            .storage
            .iter()
            .filter(|(_, slot)| wiped || slot.previous_or_original_value != slot.present_value)
            .map(|(key, slot)| {
                (B256::from(*key), slot.previous_or_original_value, slot.present_value)
            })
            .collect();
        slots.sort_unstable_by_key(|(key, _, _)| *key);
        if wiped || !slots.is_empty() {
            diff.storage.push(StorageChange { address, wiped, slots });
        }
    }
    let mut contracts: Vec<_> = bundle
        .contracts
        .iter()
        .map(|(hash, code)| (*hash, code.original_bytes()))
        .filter(|(_, code)| !code.is_empty())
        .collect();
    contracts.sort_unstable_by_key(|(hash, _)| *hash);
    diff.contracts = contracts;
    diff
}
