use crate::ChainSpec;
use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header, Sealed},
    eips::eip7685::EMPTY_REQUESTS_HASH,
    genesis::Genesis,
};
use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount, root::storage_root_unhashed};

/// The state root of a genesis `alloc`, computed from scratch with alloy-trie.
///
/// This is deliberately not our incremental trie: the storage crate checks the root it builds
/// while writing genesis against this one.
pub fn genesis_state_root(genesis: &Genesis) -> B256 {
    let accounts = genesis.alloc.iter().map(|(address, account)| {
        let storage = account.storage.clone().unwrap_or_default();
        let storage_root = if storage.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            storage_root_unhashed(
                storage.into_iter().map(|(slot, value)| (slot, U256::from_be_bytes(value.0))),
            )
        };
        let code_hash = account.code.as_ref().map_or(KECCAK_EMPTY, keccak256);
        let trie_account = TrieAccount {
            nonce: account.nonce.unwrap_or_default(),
            balance: account.balance,
            storage_root,
            code_hash,
        };
        (*address, trie_account)
    });
    alloy_trie::root::state_root_unhashed(accounts)
}

/// The genesis block header of `spec`.
pub fn genesis_header(spec: &ChainSpec) -> Sealed<Header> {
    let genesis = spec.genesis();
    let timestamp = genesis.timestamp;
    let forks = spec.hardforks();
    let cancun =
        alloy_hardforks::EthereumHardforks::is_cancun_active_at_timestamp(forks, timestamp);
    let prague =
        alloy_hardforks::EthereumHardforks::is_prague_active_at_timestamp(forks, timestamp);
    let shanghai =
        alloy_hardforks::EthereumHardforks::is_shanghai_active_at_timestamp(forks, timestamp);
    let extra_data = if genesis.extra_data.is_empty() {
        spec.extra_data_at(timestamp)
    } else {
        genesis.extra_data.clone()
    };
    let header = Header {
        parent_hash: B256::ZERO,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: genesis.coinbase,
        state_root: genesis_state_root(genesis),
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        logs_bloom: Default::default(),
        difficulty: genesis.difficulty,
        number: 0,
        gas_limit: genesis.gas_limit,
        gas_used: 0,
        timestamp,
        extra_data,
        mix_hash: genesis.mix_hash,
        nonce: genesis.nonce.into(),
        base_fee_per_gas: genesis.base_fee_per_gas.map(|fee| fee as u64),
        // The L2ToL1MessagePasser holds no storage, so Isthmus' withdrawals root is empty.
        withdrawals_root: shanghai.then_some(EMPTY_ROOT_HASH),
        blob_gas_used: cancun.then_some(genesis.blob_gas_used.unwrap_or_default()),
        excess_blob_gas: cancun.then_some(genesis.excess_blob_gas.unwrap_or_default()),
        parent_beacon_block_root: cancun.then_some(B256::ZERO),
        requests_hash: prague.then_some(EMPTY_REQUESTS_HASH),
        block_access_list_hash: None,
        slot_number: None,
    };
    Sealed::new(header)
}
