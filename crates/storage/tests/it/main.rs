//! Storage integration tests: genesis, commits, history, unwind, reopen.

use alloy::consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use tributary_chainspec::ChainSpec;
use tributary_primitives::{Account, KECCAK_EMPTY, SealedHeader};
use tributary_storage::{
    AccountChange, Database, DatabaseConfig, ExecutedBlock, StateDiff, StorageChange, StorageError,
};

fn open(dir: &std::path::Path) -> Database {
    Database::open(dir, &ChainSpec::dev(), DatabaseConfig::default()).unwrap()
}

/// Commits `diff` as the next block, with the root the database computes.
fn commit(db: &Database, diff: StateDiff) -> SealedHeader {
    let root = db.state_root(&diff).unwrap();
    commit_with(db, diff, root)
}

fn account(balance: u64, nonce: u64) -> Account {
    Account { nonce, balance: U256::from(balance), code_hash: KECCAK_EMPTY }
}

/// A diff that sets `address` to `new` and writes `slots`, reading old values from the head.
fn set(db: &Database, address: Address, new: Option<Account>, slots: &[(u64, u64)]) -> StateDiff {
    let state = db.latest_state();
    let old = state.account(&address).unwrap();
    let slots = slots
        .iter()
        .map(|(k, v)| {
            let key = B256::from(U256::from(*k));
            (key, state.storage(&address, &key).unwrap(), U256::from(*v))
        })
        .collect::<Vec<_>>();
    let storage = if slots.is_empty() {
        vec![]
    } else {
        vec![StorageChange { address, wiped: false, slots }]
    };
    StateDiff { accounts: vec![AccountChange { address, old, new }], storage, contracts: vec![] }
}

/// A block of `count` accounts from `seed` on: most set, one in seven deleted, and a storage
/// slot written (set or cleared) on one in five.
fn many_accounts(db: &Database, seed: u64, count: u64) -> StateDiff {
    let mut diff = StateDiff::default();
    for i in 0..count {
        let address = Address::left_padding_from(&(seed * 1000 + i).to_be_bytes());
        let new = (i % 7 != 3).then(|| account(seed + i, seed));
        let slots =
            if i % 5 == 0 && new.is_some() { vec![(i % 3, (seed + i) % 4)] } else { vec![] };
        let one = set(db, address, new, &slots);
        diff.accounts.extend(one.accounts);
        diff.storage.extend(one.storage);
    }
    diff
}

/// Latest-state reads go through the hot state cache; after every commit and unwind they
/// answer what the state at the head (plain state and history, no cache) answers.
#[test]
fn hot_state_reads_follow_commits_and_unwinds() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let agree = |db: &Database| {
        let (latest, at_head) = (db.latest_state(), db.state_at(db.head_number()));
        for seed in 0..6u64 {
            for i in 0..120u64 {
                let address = Address::left_padding_from(&(seed * 1000 + i).to_be_bytes());
                assert_eq!(latest.account(&address).unwrap(), at_head.account(&address).unwrap());
                for slot in 0..3u64 {
                    let slot = B256::from(U256::from(slot));
                    assert_eq!(
                        latest.storage(&address, &slot).unwrap(),
                        at_head.storage(&address, &slot).unwrap(),
                        "{address} slot {slot}"
                    );
                }
            }
        }
    };
    for block in 0..12 {
        // `many_accounts` reads every account and slot it changes through the cache first.
        commit(&db, many_accounts(&db, block % 6, 60 + block * 5));
        agree(&db);
    }
    db.unwind(5).unwrap();
    agree(&db);
    commit(&db, many_accounts(&db, 4, 100));
    agree(&db);
}

/// The account trie nodes and storage roots held in memory stay equal to their tables through
/// commits (storage set and cleared, accounts deleted), unwinds and a reopen.
#[test]
fn in_memory_trie_copies_follow_commits_unwinds_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    for block in 0..20 {
        // overlapping address ranges: inserts, updates and deletions
        commit(&db, many_accounts(&db, block % 6, 60 + block * 5));
    }
    // the last block (seed 1) set slot 0 of its first account, 1000, to 1: roots are held
    let with_storage = Address::left_padding_from(&1000u64.to_be_bytes());
    assert!(!db.latest_state().storage(&with_storage, &B256::ZERO).unwrap().is_zero());
    assert!(db.in_memory_copies_match().unwrap());
    db.unwind(8).unwrap();
    assert!(db.in_memory_copies_match().unwrap());
    commit(&db, many_accounts(&db, 9, 200));
    assert!(db.in_memory_copies_match().unwrap());
    let head = db.head();
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.head(), head);
    db.unwind(1).unwrap();
    assert!(db.in_memory_copies_match().unwrap());
}

#[test]
fn genesis_root_matches_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let spec = ChainSpec::dev();
    // `open` already refuses a mismatch; check the stored header too.
    assert_eq!(db.head().state_root, tributary_chainspec::genesis_state_root(spec.genesis()));
    assert_eq!(db.head().hash(), spec.genesis_header().hash());
    let dev0: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse().unwrap();
    let balance = db.state_at(0).account(&dev0).unwrap().unwrap().balance;
    assert_eq!(balance, U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18)));
}

#[test]
fn history_unwind_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = Address::repeat_byte(0xaa);
    let b = Address::repeat_byte(0xbb);
    let (root_1, root_3) = {
        let db = open(dir.path());
        let h1 = commit(&db, set(&db, a, Some(account(100, 1)), &[(1, 10), (2, 20)]));
        let h2 = commit(&db, set(&db, a, Some(account(50, 2)), &[(1, 11), (2, 0)]));
        let h3 = commit(&db, set(&db, b, Some(account(7, 0)), &[]));

        // the state after each block
        assert_eq!(db.state_at(0).account(&a).unwrap(), None);
        assert_eq!(db.state_at(1).account(&a).unwrap(), Some(account(100, 1)));
        assert_eq!(db.state_at(2).account(&a).unwrap(), Some(account(50, 2)));
        assert_eq!(db.state_at(3).account(&a).unwrap(), Some(account(50, 2)));
        let slot = |n| B256::from(U256::from(n));
        assert_eq!(db.state_at(1).storage(&a, &slot(1)).unwrap(), U256::from(10));
        assert_eq!(db.state_at(1).storage(&a, &slot(2)).unwrap(), U256::from(20));
        assert_eq!(db.state_at(2).storage(&a, &slot(1)).unwrap(), U256::from(11));
        assert_eq!(db.state_at(2).storage(&a, &slot(2)).unwrap(), U256::ZERO);
        assert_eq!(db.state_at(2).account(&b).unwrap(), None);
        assert_eq!(db.state_at(3).account(&b).unwrap(), Some(account(7, 0)));
        assert_ne!(h1.state_root, h2.state_root);
        (h1.state_root, h3.state_root)
    };

    // reopen: the head and state survive
    let db = open(dir.path());
    assert_eq!(db.head_number(), 3);
    assert_eq!(db.head().state_root, root_3);

    // unwind two blocks: state, storage and root come back exactly
    db.unwind(2).unwrap();
    assert_eq!(db.head_number(), 1);
    assert_eq!(db.head().state_root, root_1);
    assert_eq!(db.latest_state().account(&a).unwrap(), Some(account(100, 1)));
    assert_eq!(db.latest_state().account(&b).unwrap(), None);
    assert_eq!(db.latest_state().storage(&a, &B256::from(U256::from(2))).unwrap(), U256::from(20));
    assert!(db.header(2).unwrap().is_none());

    // the same changes again give the same roots
    let h2 = commit(&db, set(&db, a, Some(account(50, 2)), &[(1, 11), (2, 0)]));
    let h3 = commit(&db, set(&db, b, Some(account(7, 0)), &[]));
    assert_eq!(h3.state_root, root_3);
    assert_eq!(db.state_at(2).account(&a).unwrap().unwrap(), account(50, 2));
    let _ = h2;

    assert!(matches!(db.unwind(10), Err(StorageError::UnwindPastGenesis { .. })));
}

#[test]
fn wiped_storage_is_restored_by_unwind() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let c = Address::repeat_byte(0xcc);
    let many: Vec<(u64, u64)> = (1..=40).map(|i| (i, i * 3)).collect();
    let h1 = commit(&db, set(&db, c, Some(account(1, 1)), &many));
    // destroy and recreate with one slot
    let wipe = StateDiff {
        accounts: vec![AccountChange {
            address: c,
            old: Some(account(1, 1)),
            new: Some(account(2, 1)),
        }],
        storage: vec![StorageChange {
            address: c,
            wiped: true,
            slots: vec![(B256::from(U256::from(99)), U256::ZERO, U256::from(5))],
        }],
        contracts: vec![],
    };
    commit(&db, wipe);
    assert_eq!(db.latest_state().storage(&c, &B256::from(U256::from(3))).unwrap(), U256::ZERO);
    assert_eq!(db.state_at(1).storage(&c, &B256::from(U256::from(3))).unwrap(), U256::from(9));
    db.unwind(1).unwrap();
    assert_eq!(db.head().state_root, h1.state_root);
    assert_eq!(db.latest_state().storage(&c, &B256::from(U256::from(3))).unwrap(), U256::from(9));
    assert_eq!(db.latest_state().storage(&c, &B256::from(U256::from(99))).unwrap(), U256::ZERO);
}

#[test]
fn another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let mut genesis = ChainSpec::dev().genesis().clone();
    genesis.config.chain_id = 902;
    let other = ChainSpec::from_genesis(genesis).unwrap();
    let err = Database::open(dir.path(), &other, DatabaseConfig::default()).unwrap_err();
    assert!(matches!(err, StorageError::WrongChain { expected: 902, found: 901, .. }), "{err}");
    assert!(err.to_string().contains("--datadir"));
}

#[test]
fn code_is_stored_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let code = alloy_primitives::Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]);
    let hash = keccak256(&code);
    let address = Address::repeat_byte(0xdd);
    let diff = StateDiff {
        accounts: vec![AccountChange {
            address,
            old: None,
            new: Some(Account { nonce: 1, balance: U256::ZERO, code_hash: hash }),
        }],
        storage: vec![],
        contracts: vec![(hash, code.clone())],
    };
    commit(&db, diff);
    assert_eq!(db.state_at(1).code_at(&address).unwrap(), code);
    assert!(db.state_at(0).code_at(&address).unwrap().is_empty());
}

/// `transaction_at` reads one transaction of a stored body, of every envelope kind, without
/// decoding the rest, and gives the same as the whole body.
#[test]
fn one_transaction_of_a_body_by_index() {
    use alloy::{
        consensus::{Sealed, SignableTransaction, TxEip1559, TxLegacy},
        primitives::{Bytes, Signature, TxKind},
    };
    use tributary_primitives::{TxDeposit, TxEnvelope};
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let signature = Signature::new(U256::from(1), U256::from(2), false);
    let legacy = TxLegacy {
        chain_id: Some(901),
        nonce: 3,
        gas_price: 7,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(1)),
        value: U256::from(5),
        input: Bytes::from(vec![0xab; 40]),
    };
    let eip1559 = TxEip1559 {
        chain_id: 901,
        nonce: 4,
        gas_limit: 50_000,
        max_fee_per_gas: 9,
        max_priority_fee_per_gas: 1,
        to: TxKind::Create,
        input: Bytes::from(vec![0xcd; 300]),
        ..Default::default()
    };
    let deposit = TxDeposit { from: Address::repeat_byte(2), gas_limit: 1, ..Default::default() };
    let body = vec![
        TxEnvelope::Deposit(Sealed::new(deposit)),
        TxEnvelope::Legacy(legacy.into_signed(signature)),
        TxEnvelope::Eip1559(eip1559.into_signed(signature)),
    ];
    let parent = db.head();
    let diff = StateDiff::default();
    let root = db.state_root(&diff).unwrap();
    let header = Header {
        parent_hash: parent.hash(),
        number: 1,
        timestamp: parent.timestamp + 2,
        state_root: root.root,
        ..Default::default()
    };
    let block = ExecutedBlock {
        header: SealedHeader::new(header),
        body: body.clone(),
        senders: vec![Address::ZERO; 3],
        receipts: vec![],
        state: diff,
        batches: vec![],
        blob_sidecars: vec![],
    };
    db.commit_block(&block, root).unwrap();
    for (index, tx) in body.iter().enumerate() {
        assert_eq!(db.transaction_at(1, index).unwrap().as_ref(), Some(tx), "index {index}");
    }
    assert_eq!(db.transaction_at(1, 3).unwrap(), None);
    assert_eq!(db.transaction_at(2, 0).unwrap(), None);
}

/// The same changes committed in blocks too small for the parallel root (under 512 changed
/// keys per trie) and in one block that takes it (600 accounts, and 700 slots of one storage
/// trie) reach the same state roots, and the trie nodes they leave stay consistent.
#[test]
fn parallel_and_serial_roots_agree_on_the_same_changes() {
    let (small_dir, large_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (small, large) = (open(small_dir.path()), open(large_dir.path()));
    let contract = Address::repeat_byte(0xc0);
    for seed in 1..4u64 {
        let slots: Vec<(u64, u64)> =
            (0..700u64).map(|i| (i * 7 % 1000, (seed * 31 + i) % 3)).collect();
        for chunk in slots.chunks(100) {
            commit(&small, set(&small, contract, Some(account(seed, 1)), chunk));
        }
        commit(&large, set(&large, contract, Some(account(seed, 1)), &slots));
        for start in (0..600).step_by(100) {
            commit(&small, accounts_in(&small, seed, start..start + 100));
        }
        commit(&large, accounts_in(&large, seed, 0..600));
        assert_eq!(small.head().state_root, large.head().state_root, "seed {seed}");
    }
    assert!(small.in_memory_copies_match().unwrap());
    assert!(large.in_memory_copies_match().unwrap());
}

/// Accounts `range` of `seed`'s address space: set, or deleted one in seven.
fn accounts_in(db: &Database, seed: u64, range: std::ops::Range<u64>) -> StateDiff {
    let mut diff = StateDiff::default();
    for i in range {
        let address = Address::left_padding_from(&(0x5000_0000 + i).to_be_bytes());
        let new = ((i + seed) % 7 != 3).then(|| account(seed * 1000 + i, seed));
        diff.accounts.extend(set(db, address, new, &[]).accounts);
    }
    diff
}

/// Roots computed with the leaves read ahead while the keys were read (as a block's execution
/// reads them) equal the roots read from RocksDB alone, for changed, new and deleted accounts
/// and slots, and the nodes they leave stay consistent.
#[test]
fn prefetched_roots_equal_roots_read_from_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let contract = Address::repeat_byte(0xc1);
    for block in 0..4u64 {
        commit(&db, accounts_in(&db, 1, block * 5_000..(block + 1) * 5_000));
        let slots: Vec<(u64, u64)> =
            (block * 1_000..(block + 1) * 1_000).map(|i| (i, i + 1)).collect();
        commit(&db, set(&db, contract, Some(account(1, 1)), &slots));
    }
    for seed in 2..6u64 {
        // Some of the 20 000 accounts, some new ones, one in seven deleted; slots of the
        // contract set, cleared and new.
        let mut diff = accounts_in(&db, seed, seed * 3_000..seed * 3_000 + 700);
        let slots: Vec<(u64, u64)> =
            (0..600u64).map(|i| (i * 7 + seed * 1_500, (seed + i) % 3)).collect();
        let contract_change = set(&db, contract, Some(account(seed, 1)), &slots);
        diff.accounts.extend(contract_change.accounts);
        diff.storage.extend(contract_change.storage);

        let prefetch = db.prefetch_trie().unwrap();
        let reader = db.latest_state_prefetching(&prefetch);
        for change in &diff.accounts {
            reader.account(&change.address).unwrap();
        }
        for change in &diff.storage {
            for (slot, _, _) in &change.slots {
                reader.storage(&change.address, slot).unwrap();
            }
        }
        drop(reader);
        let prefetched = prefetch.complete().expect("the prefetch worker succeeded");
        assert!(prefetched.len() > 1_300, "read ahead {} leaves", prefetched.len());

        let plain = db.state_root(&diff).unwrap();
        let ahead = db.state_root_prefetched(&diff, Some(&prefetched)).unwrap();
        assert_eq!(ahead.root, plain.root, "seed {seed}");
        let header = commit_with(&db, diff, ahead);
        assert_eq!(header.state_root, plain.root);
    }
    assert!(db.in_memory_copies_match().unwrap());
}

/// Commits `diff` as the next block with the trie changes `root`.
fn commit_with(
    db: &Database,
    diff: StateDiff,
    root: tributary_storage::StateRootOutput,
) -> SealedHeader {
    let block = next_block(db, diff, &root);
    db.commit_block(&block, root).unwrap();
    block.header
}

/// The child of the tip with `diff` and the root in `root`.
fn next_block(
    db: &Database,
    diff: StateDiff,
    root: &tributary_storage::StateRootOutput,
) -> ExecutedBlock {
    let parent = db.tip();
    let header = Header {
        parent_hash: parent.hash(),
        number: parent.number + 1,
        timestamp: parent.timestamp + 2,
        state_root: root.root,
        gas_limit: parent.gas_limit,
        ..Default::default()
    };
    ExecutedBlock {
        header: SealedHeader::new(header),
        body: vec![],
        senders: vec![],
        receipts: vec![],
        state: diff,
        batches: vec![],
        blob_sidecars: vec![],
    }
}

/// A block that bumps the same `count` accounts again (nonce + 1, balance + `seed`) and adds
/// 1 to one of their slots, every value read from the latest state: what executing the next
/// block on top of the tip reads.
fn bump(db: &Database, seed: u64, count: u64) -> StateDiff {
    let state = db.latest_state();
    let mut diff = StateDiff::default();
    for i in 0..count {
        let address = Address::left_padding_from(&(0xb0_0000 + i).to_be_bytes());
        let old = state.account(&address).unwrap();
        let new = match old {
            Some(old) => {
                Account { nonce: old.nonce + 1, balance: old.balance + U256::from(seed), ..old }
            }
            None => account(seed, 1),
        };
        diff.accounts.push(AccountChange { address, old, new: Some(new) });
        let slot = B256::from(U256::from(i % 3));
        let value = state.storage(&address, &slot).unwrap();
        diff.storage.push(StorageChange {
            address,
            wiped: false,
            slots: vec![(slot, value, value + U256::from(1))],
        });
    }
    diff
}

/// Blocks written in the background while the next one is read and rooted build the chain
/// inline commits build; each is announced once written, and survives a reopen.
#[test]
fn background_commits_build_the_chain_inline_commits_build() {
    let (background_dir, inline_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let background = open(background_dir.path());
    let inline = open(inline_dir.path());
    let announced = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    for seed in 1..=12 {
        // The next block reads the one still being written (through the overlay).
        let tip = background.tip();
        assert_eq!(background.latest_state().block_hash(tip.number).unwrap(), Some(tip.hash()));
        let diff = bump(&background, seed, 300);
        assert_eq!(diff, bump(&inline, seed, 300), "block {seed} read other values");
        let root = background.state_root(&diff).unwrap();
        let block = std::sync::Arc::new(next_block(&background, diff.clone(), &root));
        let seen = announced.clone();
        let db = background.clone();
        background
            .commit_block_in_background(
                block.clone(),
                root,
                Box::new(move |block, written| {
                    assert!(written.is_ok());
                    // Announced only once it is the head, readable as a stored block.
                    let stored = db.block_hash(block.header.number).unwrap();
                    seen.lock().push((block.header.number, db.head_number(), stored));
                }),
            )
            .unwrap();
        assert_eq!(background.tip_number(), seed, "the tip moves at the hand-off");
        let header = commit(&inline, diff);
        assert_eq!(header.hash(), block.header.hash(), "block {seed}");
    }
    background.wait_persisted().unwrap();
    assert_eq!(background.head().hash(), inline.head().hash());
    assert!(background.in_memory_copies_match().unwrap());
    let announced = announced.lock().clone();
    assert_eq!(announced.len(), 12);
    for (number, head, stored) in announced {
        assert_eq!(head, number, "block {number} announced before it was the head");
        assert_eq!(stored, background.block_hash(number).unwrap());
        assert!(stored.is_some());
    }
    let head = background.head();
    drop(background);
    assert_eq!(open(background_dir.path()).head().hash(), head.hash());
}

/// Settled batches are indexed with their block, found by any inference id they hold, and
/// removed when the block is unwound; their totals are added with the block and taken off
/// with it.
#[test]
fn settled_batches_are_indexed_with_their_block_and_unwound_with_it() {
    use tributary_storage::{ModelTotals, SettledBatch};
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let creator = Address::repeat_byte(0x0c);
    let totals = |inferences: u64| ModelTotals {
        model_id: 7,
        inferences,
        tokens: 800 * u128::from(inferences),
        fees: 1_600 * u128::from(inferences),
    };
    let settled = |id: u64, block_number: u64| SettledBatch {
        id,
        block_number,
        tx_index: 1,
        operator: Address::repeat_byte(0x0e),
        root: B256::repeat_byte(id as u8),
        count: id as u32,
        models: vec![totals(id)],
        credits: vec![(creator, 1_000 * u128::from(id))],
        records: vec![id as u8; 5].into(),
    };
    for (number, batches) in [(1, vec![settled(1, 1), settled(4, 1)]), (2, vec![settled(9, 2)])] {
        let diff = set(&db, Address::repeat_byte(number as u8), Some(account(1, 0)), &[]);
        let root = db.state_root(&diff).unwrap();
        let mut block = next_block(&db, diff, &root);
        block.batches = batches;
        db.commit_block(&block, root).unwrap();
    }
    assert_eq!(db.inference_batch(4).unwrap(), Some(settled(4, 1)));
    assert_eq!(db.inference_batch_at_or_below(7).unwrap(), Some(settled(4, 1)));
    assert_eq!(db.inference_batch_at_or_below(100).unwrap(), Some(settled(9, 2)));
    assert_eq!(db.inference_batch_at_or_below(0).unwrap(), None);
    let ids = |from, to| -> Vec<u64> {
        db.inference_batches_in(from, to).unwrap().iter().map(|b| b.id).collect()
    };
    assert_eq!(ids(0, 64), vec![1, 4, 9]);
    assert_eq!(ids(2, 9), vec![4]);
    assert_eq!(db.batched_model_totals(7).unwrap(), totals(14));
    assert_eq!(db.batched_credits(&creator).unwrap(), 14_000);
    assert_eq!(
        db.batched_model_totals(8).unwrap(),
        ModelTotals { model_id: 8, ..Default::default() }
    );
    db.unwind(1).unwrap();
    assert_eq!(db.inference_batch(9).unwrap(), None, "block 2's batch went with it");
    assert_eq!(db.inference_batch_at_or_below(100).unwrap(), Some(settled(4, 1)));
    assert_eq!(db.batched_model_totals(7).unwrap(), totals(5), "block 2's totals too");
    assert_eq!(db.batched_credits(&creator).unwrap(), 5_000);
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.inference_batch(1).unwrap(), Some(settled(1, 1)));
    assert_eq!(db.batched_model_totals(7).unwrap(), totals(5));
}

/// A block's blob sidecars are stored beside it, read back in order after a reopen, and
/// removed when the block is unwound; a block without blobs has none.
#[test]
fn blob_sidecars_are_kept_with_their_block_and_unwound_with_it() {
    use alloy::eips::eip4844::{Blob, BlobTransactionSidecar, Bytes48};
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let sidecar = |byte: u8, blobs: usize| {
        BlobTransactionSidecar::new(
            vec![Blob::repeat_byte(byte); blobs],
            vec![Bytes48::repeat_byte(byte); blobs],
            vec![Bytes48::repeat_byte(byte + 1); blobs],
        )
    };
    let kept = vec![sidecar(1, 2), sidecar(5, 1)];
    let diff = set(&db, Address::repeat_byte(1), Some(account(1, 0)), &[]);
    let root = db.state_root(&diff).unwrap();
    let mut block = next_block(&db, diff, &root);
    block.blob_sidecars = kept.iter().cloned().map(std::sync::Arc::new).collect();
    db.commit_block(&block, root).unwrap();
    commit(&db, set(&db, Address::repeat_byte(2), Some(account(1, 0)), &[]));
    assert_eq!(db.blob_sidecars(1).unwrap(), kept);
    assert!(db.blob_sidecars(2).unwrap().is_empty());
    drop(db);

    let db = open(dir.path());
    assert_eq!(db.blob_sidecars(1).unwrap(), kept, "kept across a reopen");
    db.unwind(2).unwrap();
    assert!(db.blob_sidecars(1).unwrap().is_empty(), "unwound with the block");
}
