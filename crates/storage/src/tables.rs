//! Column families and their key and value encodings.
//!
//! Keys are fixed-width big-endian so RocksDB's byte order is the order we need: block numbers
//! ascend, and all entries of one address (or hashed address) are adjacent.

use crate::{Result, StorageError};
use alloy_primitives::{Address, B256, U256};
use tributary_primitives::Account;
use tributary_trie::Nibbles;

/// Column family names. Each constant's doc gives `key -> value`.
pub(crate) mod cf {
    /// `"chain_id" | "genesis_hash" | "head"` -> raw bytes.
    pub(crate) const META: &str = "meta";
    /// `number` -> RLP header.
    pub(crate) const HEADERS: &str = "headers";
    /// `number` -> block hash (the canonical chain).
    pub(crate) const CANONICAL: &str = "canonical";
    /// `block hash` -> `number`.
    pub(crate) const BLOCK_NUMBERS: &str = "block_numbers";
    /// `number` -> RLP list of EIP-2718 transactions.
    pub(crate) const BODIES: &str = "bodies";
    /// `number` -> concatenated 20-byte senders, one per transaction.
    pub(crate) const SENDERS: &str = "senders";
    /// `number` -> RLP list of EIP-2718 receipts.
    pub(crate) const RECEIPTS: &str = "receipts";
    /// `tx hash` -> `number ++ index (u32)`.
    pub(crate) const TX_INDEX: &str = "tx_index";
    /// `address` -> account (see [`super::encode_account`]).
    pub(crate) const ACCOUNTS: &str = "accounts";
    /// `address ++ slot` -> value (non-zero only).
    pub(crate) const STORAGE: &str = "storage";
    /// `code hash` -> bytecode.
    pub(crate) const BYTECODE: &str = "bytecode";
    /// `number ++ address` -> the account before block `number` (empty: did not exist).
    pub(crate) const ACCOUNT_CHANGES: &str = "account_changes";
    /// `number ++ address ++ slot` -> the slot's value before block `number`.
    pub(crate) const STORAGE_CHANGES: &str = "storage_changes";
    /// `address ++ number` -> empty: block `number` changed the account.
    pub(crate) const ACCOUNT_HISTORY: &str = "account_history";
    /// `address ++ slot ++ number` -> empty: block `number` changed the slot.
    pub(crate) const STORAGE_HISTORY: &str = "storage_history";
    /// `keccak(address)` -> account plus storage root (the account trie's leaves).
    pub(crate) const HASHED_ACCOUNTS: &str = "hashed_accounts";
    /// `keccak(address) ++ keccak(slot)` -> value (the storage tries' leaves).
    pub(crate) const HASHED_STORAGE: &str = "hashed_storage";
    /// nibble path (one byte per nibble) -> branch node of the account trie.
    pub(crate) const ACCOUNT_TRIE: &str = "account_trie";
    /// `keccak(address) ++ nibble path` -> branch node of that account's storage trie.
    pub(crate) const STORAGE_TRIE: &str = "storage_trie";

    /// `batch id` (its first inference id) -> `number ++ tx index (u32) ++ operator ++ root ++
    /// packed records`: every batch `settleBatch` settled, outside the state trie.
    pub(crate) const INFERENCE_BATCHES: &str = "inference_batches";
    /// Lifetime totals of batched settlement, which the state does not keep: `0x01 ++ model id`
    /// -> inferences (u64) ++ tokens (u128) ++ fees (u128); `0x02 ++ address` -> credits (u128).
    pub(crate) const BATCH_TOTALS: &str = "batch_totals";
    /// `number` -> RLP list of blob sidecars, one per blob transaction of the block in block
    /// order (the L1 dev chain; absent for a block without blobs). Outside the block, as a
    /// consensus client keeps them, for the beacon API.
    pub(crate) const BLOB_SIDECARS: &str = "blob_sidecars";

    /// Every column family, in creation order.
    pub(crate) const ALL: [&str; 22] = [
        META,
        HEADERS,
        CANONICAL,
        BLOCK_NUMBERS,
        BODIES,
        SENDERS,
        RECEIPTS,
        TX_INDEX,
        ACCOUNTS,
        STORAGE,
        BYTECODE,
        ACCOUNT_CHANGES,
        STORAGE_CHANGES,
        ACCOUNT_HISTORY,
        STORAGE_HISTORY,
        HASHED_ACCOUNTS,
        HASHED_STORAGE,
        ACCOUNT_TRIE,
        STORAGE_TRIE,
        INFERENCE_BATCHES,
        BATCH_TOTALS,
        BLOB_SIDECARS,
    ];
}

pub(crate) const META_CHAIN_ID: &[u8] = b"chain_id";
pub(crate) const META_GENESIS_HASH: &[u8] = b"genesis_hash";
pub(crate) const META_HEAD: &[u8] = b"head";
pub(crate) const META_SAFE: &[u8] = b"safe";
pub(crate) const META_FINALIZED: &[u8] = b"finalized";
/// The storage layout the datadir was written with ([`STORAGE_LAYOUT`]).
pub(crate) const META_LAYOUT: &[u8] = b"layout";
/// The layout this version writes. 1: settled batches stored with their count, per-model
/// totals and credits (session 11); datadirs from before hold no number.
pub(crate) const STORAGE_LAYOUT: u64 = 1;

pub(crate) fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    for part in parts {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    debug_assert_eq!(at, N);
    out
}

pub(crate) fn number_key(number: u64) -> [u8; 8] {
    number.to_be_bytes()
}

pub(crate) fn decode_number(bytes: &[u8]) -> Result<u64> {
    let raw: [u8; 8] = bytes.try_into().map_err(|_| StorageError::corrupt("block number"))?;
    Ok(u64::from_be_bytes(raw))
}

/// Encodes an account as `nonce (8) ++ balance (32) ++ code hash (32)`.
pub(crate) fn encode_account(account: &Account) -> [u8; 72] {
    concat(&[
        &account.nonce.to_be_bytes(),
        &account.balance.to_be_bytes::<32>(),
        account.code_hash.as_slice(),
    ])
}

pub(crate) fn decode_account(bytes: &[u8]) -> Result<Account> {
    if bytes.len() < 72 {
        return Err(StorageError::corrupt("account"));
    }
    Ok(Account {
        nonce: u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
        balance: U256::from_be_slice(&bytes[8..40]),
        code_hash: B256::from_slice(&bytes[40..72]),
    })
}

/// A hashed-state account: the plain account plus its storage root.
pub(crate) fn encode_hashed_account(account: &Account, storage_root: &B256) -> [u8; 104] {
    concat(&[&encode_account(account), storage_root.as_slice()])
}

pub(crate) fn decode_hashed_account(bytes: &[u8]) -> Result<(Account, B256)> {
    let account = decode_account(bytes)?;
    let root = bytes.get(72..104).ok_or(StorageError::corrupt("hashed account"))?;
    Ok((account, B256::from_slice(root)))
}

pub(crate) fn storage_key(address: &Address, slot: &B256) -> [u8; 52] {
    concat(&[address.as_slice(), slot.as_slice()])
}

pub(crate) fn hashed_storage_key(hashed_address: &B256, hashed_slot: &B256) -> [u8; 64] {
    concat(&[hashed_address.as_slice(), hashed_slot.as_slice()])
}

pub(crate) fn account_change_key(number: u64, address: &Address) -> [u8; 28] {
    concat(&[&number.to_be_bytes(), address.as_slice()])
}

pub(crate) fn storage_change_key(number: u64, address: &Address, slot: &B256) -> [u8; 60] {
    concat(&[&number.to_be_bytes(), address.as_slice(), slot.as_slice()])
}

pub(crate) fn account_history_key(address: &Address, number: u64) -> [u8; 28] {
    concat(&[address.as_slice(), &number.to_be_bytes()])
}

pub(crate) fn storage_history_key(address: &Address, slot: &B256, number: u64) -> [u8; 60] {
    concat(&[address.as_slice(), slot.as_slice(), &number.to_be_bytes()])
}

pub(crate) fn decode_u256(bytes: &[u8]) -> Result<U256> {
    if bytes.len() != 32 {
        return Err(StorageError::corrupt("storage value"));
    }
    Ok(U256::from_be_slice(bytes))
}

/// A nibble path as stored: one byte per nibble, so shorter paths sort first.
pub(crate) fn encode_path(path: &Nibbles) -> Vec<u8> {
    path.to_vec()
}

pub(crate) fn decode_path(bytes: &[u8]) -> Result<Nibbles> {
    if bytes.len() > 64 || bytes.iter().any(|n| *n > 0xf) {
        return Err(StorageError::corrupt("trie path"));
    }
    Ok(Nibbles::from_nibbles_unchecked(bytes))
}
