use super::*;
use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxLegacy},
    eips::Encodable2718,
    network::TxSignerSync,
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{Bytes, TxKind, U256};
use parking_lot::Mutex;

const CHAIN: u64 = 901;

#[derive(Default)]
struct MapState(Mutex<HashMap<Address, (u64, U256)>>);

impl StateView for MapState {
    fn nonce_and_balance(&self, address: &Address) -> Result<(u64, U256), String> {
        Ok(self.0.lock().get(address).copied().unwrap_or_default())
    }
}

struct Fixture {
    pool: TxPool,
    state: Arc<MapState>,
    key: PrivateKeySigner,
}

fn fixture(config: PoolConfig) -> Fixture {
    let state = Arc::new(MapState::default());
    let key = PrivateKeySigner::random();
    state.0.lock().insert(key.address(), (0, U256::from(10u128.pow(20))));
    let pool = TxPool::new(config, CHAIN, OpSpecId::JOVIAN, 30_000_000, 1_000, state.clone());
    Fixture { pool, state, key }
}

fn eip1559(key: &PrivateKeySigner, nonce: u64, max_fee: u128, tip: u128) -> Vec<u8> {
    let mut tx = TxEip1559 {
        chain_id: CHAIN,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(Address::repeat_byte(7)),
        value: U256::from(1),
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718()
}

#[test]
fn accepts_and_orders_by_tip() {
    let f = fixture(PoolConfig::default());
    let other = PrivateKeySigner::random();
    f.state.0.lock().insert(other.address(), (0, U256::from(10u128.pow(20))));
    let low = f.pool.add_raw(&eip1559(&f.key, 0, 10_000, 10)).unwrap();
    let high = f.pool.add_raw(&eip1559(&other, 0, 10_000, 500)).unwrap();
    let best: Vec<B256> = f.pool.best_transactions(1_000).iter().map(|t| t.tx_hash()).collect();
    assert_eq!(best, vec![high, low]);
    assert_eq!(f.pool.status(), PoolStatus { pending: 2, queued: 0 });
    assert_eq!(f.pool.add_raw(&eip1559(&f.key, 0, 10_000, 10)), Err(PoolError::AlreadyKnown));
}

#[test]
fn nonce_gap_is_queued_then_promoted() {
    let f = fixture(PoolConfig::default());
    f.pool.add_raw(&eip1559(&f.key, 1, 10_000, 10)).unwrap();
    assert_eq!(f.pool.status(), PoolStatus { pending: 0, queued: 1 });
    assert!(f.pool.best_transactions(1_000).is_empty());
    f.pool.add_raw(&eip1559(&f.key, 0, 10_000, 10)).unwrap();
    assert_eq!(f.pool.status(), PoolStatus { pending: 2, queued: 0 });
    let best = f.pool.best_transactions(1_000);
    assert_eq!(best.iter().map(|t| t.nonce()).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(f.pool.pending_nonce(&f.key.address()), Some(2));

    // nonce 0 mined: the pool drops it and keeps nonce 1 pending
    f.state.0.lock().get_mut(&f.key.address()).unwrap().0 = 1;
    f.pool.on_new_block(1_000, 30_000_000, OpSpecId::JOVIAN);
    assert_eq!(f.pool.status(), PoolStatus { pending: 1, queued: 0 });
    let err = f.pool.add_raw(&eip1559(&f.key, 0, 20_000, 20)).unwrap_err();
    assert!(err.to_string().starts_with("nonce too low"), "{err}");
}

#[test]
fn replacement_needs_ten_percent() {
    let f = fixture(PoolConfig::default());
    let first = f.pool.add_raw(&eip1559(&f.key, 0, 10_000, 100)).unwrap();
    let err = f.pool.add_raw(&eip1559(&f.key, 0, 10_999, 110)).unwrap_err();
    assert_eq!(err.to_string(), "replacement transaction underpriced");
    let err = f.pool.add_raw(&eip1559(&f.key, 0, 11_000, 109)).unwrap_err();
    assert_eq!(err, PoolError::ReplacementUnderpriced);
    let second = f.pool.add_raw(&eip1559(&f.key, 0, 11_000, 110)).unwrap();
    assert!(f.pool.get(&first).is_none());
    assert!(f.pool.get(&second).is_some());
    assert_eq!(f.pool.len(), 1);
}

#[test]
fn full_pool_evicts_the_cheapest() {
    let f = fixture(PoolConfig { max_count: 2, ..Default::default() });
    let a = PrivateKeySigner::random();
    let b = PrivateKeySigner::random();
    for k in [&a, &b] {
        f.state.0.lock().insert(k.address(), (0, U256::from(10u128.pow(20))));
    }
    let cheap = f.pool.add_raw(&eip1559(&f.key, 0, 2_000, 1)).unwrap();
    f.pool.add_raw(&eip1559(&a, 0, 5_000, 1)).unwrap();
    assert_eq!(f.pool.add_raw(&eip1559(&b, 0, 1_500, 1)), Err(PoolError::PoolFull));
    f.pool.add_raw(&eip1559(&b, 0, 9_000, 1)).unwrap();
    assert!(f.pool.get(&cheap).is_none());
    assert_eq!(f.pool.len(), 2);
}

/// A full pool never makes room by evicting the incoming sender's own last transaction: the
/// new one would be stuck behind the gap it left.
#[test]
fn a_full_pool_does_not_evict_the_senders_own_tail() {
    let f = fixture(PoolConfig { max_count: 2, ..Default::default() });
    let a = PrivateKeySigner::random();
    f.state.0.lock().insert(a.address(), (0, U256::from(10u128.pow(20))));
    let own_tail = f.pool.add_raw(&eip1559(&f.key, 0, 2_000, 1)).unwrap();
    let other = f.pool.add_raw(&eip1559(&a, 0, 3_000, 1)).unwrap();
    // The cheapest tail is the sender's own nonce 0: the other sender's goes instead.
    f.pool.add_raw(&eip1559(&f.key, 1, 9_000, 1)).unwrap();
    assert!(f.pool.get(&own_tail).is_some(), "nonce 0 stays, so nonce 1 can run");
    assert!(f.pool.get(&other).is_none());
    // Only the sender's own transactions left: nothing to evict.
    assert_eq!(f.pool.add_raw(&eip1559(&f.key, 2, 9_000, 1)), Err(PoolError::PoolFull));
}

#[test]
fn stateless_and_state_rejections() {
    let f = fixture(PoolConfig::default());
    let poor = PrivateKeySigner::random();
    let err = f.pool.add_raw(&eip1559(&poor, 0, 10_000, 1)).unwrap_err();
    assert!(err.to_string().starts_with("insufficient funds for gas * price + value"), "{err}");

    // a value near 2^256 must not wrap the cost into something affordable
    let mut tx = TxEip1559 {
        chain_id: CHAIN,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000,
        to: TxKind::Call(Address::ZERO),
        value: U256::MAX,
        ..Default::default()
    };
    let sig = f.key.sign_transaction_sync(&mut tx).unwrap();
    let raw = TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718();
    assert!(matches!(f.pool.add_raw(&raw), Err(PoolError::InsufficientFunds { .. })));

    assert!(matches!(f.pool.add_raw(&[0xde, 0xad]), Err(PoolError::Decode(_))));
    assert!(matches!(f.pool.add_raw(&[]), Err(PoolError::Decode(_))));
    let mut big = eip1559(&f.key, 0, 10_000, 1);
    big.resize(200 * 1024, 0);
    assert!(matches!(f.pool.add_raw(&big), Err(PoolError::Oversized { .. })));

    // fee cap below the base fee
    assert!(matches!(
        f.pool.add_raw(&eip1559(&f.key, 0, 999, 1)),
        Err(PoolError::FeeCapTooLow { .. })
    ));
    // tip above cap
    assert_eq!(f.pool.add_raw(&eip1559(&f.key, 0, 2_000, 3_000)), Err(PoolError::TipAboveFeeCap));
    // nonce far ahead
    assert!(matches!(
        f.pool.add_raw(&eip1559(&f.key, 1_000, 2_000, 1)),
        Err(PoolError::NonceTooHigh { .. })
    ));

    // wrong chain id
    let mut tx = TxLegacy {
        chain_id: Some(1),
        nonce: 0,
        gas_price: 10_000,
        gas_limit: 21_000,
        to: TxKind::Call(Address::ZERO),
        value: U256::ZERO,
        input: Bytes::new(),
    };
    let sig = f.key.sign_transaction_sync(&mut tx).unwrap();
    let raw = TxEnvelope::Legacy(tx.into_signed(sig)).encoded_2718();
    assert!(matches!(f.pool.add_raw(&raw), Err(PoolError::WrongChainId { .. })));

    // intrinsic gas: a call with data needs more than 21000
    let mut tx = TxEip1559 {
        chain_id: CHAIN,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000,
        to: TxKind::Call(Address::ZERO),
        input: Bytes::from(vec![1u8; 100]),
        ..Default::default()
    };
    let sig = f.key.sign_transaction_sync(&mut tx).unwrap();
    let raw = TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718();
    let err = f.pool.add_raw(&raw).unwrap_err();
    assert!(err.to_string().starts_with("intrinsic gas too low"), "{err}");
    assert!(f.pool.is_empty());
}

/// Deploy scripts and airdrops send many transactions from one key before a block: the gap
/// limit counts from the sender's next pool nonce, so an in-order burst is never "too high".
#[test]
fn in_order_burst_is_accepted_and_the_gap_counts_from_the_pool() {
    let f = fixture(PoolConfig::dev());
    for nonce in 0..1_000 {
        f.pool.add_raw(&eip1559(&f.key, nonce, 10_000, 10)).unwrap_or_else(|err| {
            panic!("nonce {nonce}: {err}");
        });
    }
    assert_eq!(f.pool.status(), PoolStatus { pending: 1_000, queued: 0 });
    let best = f.pool.best_transactions(1_000);
    assert!(best.iter().map(|t| t.nonce()).eq(0..1_000), "one sender's chain in nonce order");
    assert_eq!(f.pool.pending_nonce(&f.key.address()), Some(1_000));

    // A gap may reach max_nonce_gap past the pool's next nonce (1000), not the state's (0).
    let gap = PoolConfig::DEFAULT_MAX_NONCE_GAP;
    f.pool.add_raw(&eip1559(&f.key, 1_000 + gap, 10_000, 10)).unwrap();
    assert_eq!(
        f.pool.add_raw(&eip1559(&f.key, 1_001 + gap, 10_000, 10)),
        Err(PoolError::NonceTooHigh { state: 1_000, tx: 1_001 + gap })
    );
    assert_eq!(f.pool.status(), PoolStatus { pending: 1_000, queued: 1 });
}

#[test]
fn one_sender_holds_at_most_its_account_slots() {
    let f = fixture(PoolConfig { max_account_slots: 3, ..Default::default() });
    for nonce in 0..3 {
        f.pool.add_raw(&eip1559(&f.key, nonce, 10_000, 10)).unwrap();
    }
    let err = f.pool.add_raw(&eip1559(&f.key, 3, 10_000, 10)).unwrap_err();
    assert_eq!(err, PoolError::AccountLimit { held: 3, limit: 3 });
    assert_eq!(
        err.to_string(),
        "account limit exceeded: sender has 3 transactions in the pool, limit 3"
    );
    // a replacement is not a new slot
    f.pool.add_raw(&eip1559(&f.key, 2, 20_000, 20)).unwrap();
    // another sender is not limited by this one
    let other = PrivateKeySigner::random();
    f.state.0.lock().insert(other.address(), (0, U256::from(10u128.pow(20))));
    f.pool.add_raw(&eip1559(&other, 0, 10_000, 10)).unwrap();
    // once a block mines some, the sender has room again
    f.state.0.lock().get_mut(&f.key.address()).unwrap().0 = 2;
    f.pool.on_new_block(1_000, 30_000_000, OpSpecId::JOVIAN);
    f.pool.add_raw(&eip1559(&f.key, 3, 10_000, 10)).unwrap();
}

/// A transaction the builder refused for its own fault is dropped; the sender's later ones
/// stay (queued behind the gap) until a replacement fills it.
#[test]
fn dropping_an_invalid_transaction_keeps_the_later_ones() {
    let f = fixture(PoolConfig::default());
    let hashes: Vec<B256> =
        (0..3).map(|n| f.pool.add_raw(&eip1559(&f.key, n, 10_000, 10)).unwrap()).collect();
    f.pool.drop_invalid(&[(hashes[1], "insufficient funds".into())]);
    assert!(f.pool.get(&hashes[1]).is_none());
    assert!(f.pool.get(&hashes[2]).is_some(), "still answered by hash while it waits");
    assert_eq!(f.pool.status(), PoolStatus { pending: 1, queued: 1 });
    f.pool.add_raw(&eip1559(&f.key, 1, 10_000, 10)).unwrap();
    assert_eq!(f.pool.status(), PoolStatus { pending: 3, queued: 0 });
}

/// A nonce read before a block was committed must not overwrite the fresher one the block
/// set: the sender's pending chain would look empty until the next block.
#[test]
fn a_stale_nonce_read_does_not_hide_pending_transactions() {
    let f = fixture(PoolConfig::default());
    f.pool.add_raw(&eip1559(&f.key, 0, 10_000, 10)).unwrap();
    f.pool.add_raw(&eip1559(&f.key, 1, 10_000, 10)).unwrap();
    f.state.0.lock().get_mut(&f.key.address()).unwrap().0 = 1;
    f.pool.on_new_block(1_000, 30_000_000, OpSpecId::JOVIAN);
    // The state view lags (as a read taken before the commit would).
    f.state.0.lock().get_mut(&f.key.address()).unwrap().0 = 0;
    f.pool.add_raw(&eip1559(&f.key, 2, 10_000, 10)).unwrap();
    assert_eq!(f.pool.status(), PoolStatus { pending: 2, queued: 0 });
}

#[test]
fn journal_brings_back_what_a_crash_left_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("txpool.journal");
    let f = fixture(PoolConfig::default());
    assert_eq!(f.pool.open_journal(&path).unwrap(), (0, 0));
    let hashes: Vec<B256> =
        (0..4).map(|n| f.pool.add_raw(&eip1559(&f.key, n, 10_000, 10)).unwrap()).collect();
    // nonce 1 replaced with a 10% bump: the journal holds both, the pool the new one
    let bumped = f.pool.add_raw(&eip1559(&f.key, 1, 11_000, 11)).unwrap();
    // a refused transaction is not journaled
    assert!(f.pool.add_raw(&eip1559(&f.key, 0, 10_000, 10)).is_err());

    // "crash": the pool is dropped without any shutdown step; nonce 0 was mined meanwhile
    drop(f.pool);
    f.state.0.lock().get_mut(&f.key.address()).unwrap().0 = 1;
    let pool = TxPool::new(
        PoolConfig::default(),
        CHAIN,
        OpSpecId::JOVIAN,
        30_000_000,
        1_000,
        f.state.clone(),
    );
    let (restored, refused) = pool.open_journal(&path).unwrap();
    assert_eq!((restored, refused), (4, 1), "nonce 0 mined; 1 (old), 1 (bumped), 2, 3 back");
    assert!(pool.get(&hashes[0]).is_none() && pool.get(&hashes[1]).is_none());
    for hash in [bumped, hashes[2], hashes[3]] {
        assert!(pool.get(&hash).is_some(), "{hash} restored");
    }
    // the journal was rewritten to exactly the pool's content
    assert_eq!(super::Journal::read(&path).unwrap().len(), 3);
}

mod blobs {
    use super::*;
    use alloy::{
        consensus::TxEip4844,
        eips::eip4844::{Blob, BlobTransactionSidecar, DATA_GAS_PER_BLOB},
    };
    use alloy_eips::eip4844::env_settings::EnvKzgSettings;
    use tributary_primitives::PooledTransaction;

    /// A fresh pool that takes blob transactions over `state`, as the L1 dev chain's does.
    fn l1_pool(state: &Arc<MapState>) -> TxPool {
        TxPool::new(
            PoolConfig::default(),
            CHAIN,
            OpSpecId::JOVIAN,
            30_000_000,
            1_000,
            state.clone(),
        )
        .with_blob_transactions()
    }

    /// A pool that takes blob transactions, as the L1 dev chain's does.
    fn l1_fixture() -> Fixture {
        let f = fixture(PoolConfig::default());
        Fixture { pool: f.pool.with_blob_transactions(), state: f.state, key: f.key }
    }

    fn sidecar(blobs: usize) -> BlobTransactionSidecar {
        let blobs = (0..blobs).map(|i| Blob::repeat_byte(0).map_last(i as u8)).collect();
        BlobTransactionSidecar::try_from_blobs_with_settings(blobs, EnvKzgSettings::Default.get())
            .unwrap()
    }

    trait MapLast {
        fn map_last(self, byte: u8) -> Self;
    }

    impl MapLast for Blob {
        /// Sets the last byte of the first field element, keeping it below the modulus.
        fn map_last(mut self, byte: u8) -> Self {
            self.0[31] = byte;
            self
        }
    }

    /// A signed blob transaction naming `sidecar`'s blobs, and its pooled (network) bytes.
    fn blob_tx(
        key: &PrivateKeySigner,
        nonce: u64,
        blob_fee_cap: u128,
        sidecar: Option<BlobTransactionSidecar>,
        hashes: Vec<B256>,
    ) -> (B256, Vec<u8>) {
        let mut tx = TxEip4844 {
            chain_id: CHAIN,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 10_000,
            max_priority_fee_per_gas: 10,
            to: Address::repeat_byte(7),
            blob_versioned_hashes: hashes,
            max_fee_per_blob_gas: blob_fee_cap,
            ..Default::default()
        };
        let signature = key.sign_transaction_sync(&mut tx).unwrap();
        let tx = TxEnvelope::Eip4844(tx.into_signed(signature));
        (tx.tx_hash(), PooledTransaction { tx, sidecar }.encode())
    }

    fn valid(key: &PrivateKeySigner, nonce: u64, blob_fee_cap: u128, blobs: usize) -> Vec<u8> {
        let sidecar = sidecar(blobs);
        let hashes = sidecar.versioned_hashes().collect();
        blob_tx(key, nonce, blob_fee_cap, Some(sidecar), hashes).1
    }

    /// An L2's pool refuses a blob transaction in any form.
    #[test]
    fn an_l2_pool_refuses_blob_transactions() {
        let f = fixture(PoolConfig::default());
        assert_eq!(f.pool.add_raw(&valid(&f.key, 0, 1, 1)), Err(PoolError::TypeNotSupported));
    }

    /// The L1's pool takes a blob transaction with a sidecar that verifies, keeps the sidecar,
    /// measures the size without it, and charges the blob gas against the balance.
    #[test]
    fn a_blob_transaction_with_a_verified_sidecar_is_pooled_with_it() {
        let f = l1_fixture();
        let raw = valid(&f.key, 0, 7, 2);
        assert!(raw.len() > 2 * 131_072, "the network form carries the blobs");
        let hash = f.pool.add_raw(&raw).unwrap();
        let pooled = f.pool.get(&hash).unwrap();
        assert_eq!(pooled.sidecar.as_ref().unwrap().blobs.len(), 2);
        assert!(pooled.size < 1_000, "size without the sidecar: {}", pooled.size);
        assert_eq!(pooled.pooled_encoding(), raw);
        assert_eq!(f.pool.best_transactions(1_000).len(), 1);

        // the balance must cover gas, value and 2 blobs at the blob fee cap
        let poor = PrivateKeySigner::random();
        let need = 21_000u128 * 10_000 + 2 * u128::from(DATA_GAS_PER_BLOB) * 7;
        f.state.0.lock().insert(poor.address(), (0, U256::from(need - 1)));
        assert_eq!(
            f.pool.add_raw(&valid(&poor, 0, 7, 2)),
            Err(PoolError::InsufficientFunds {
                balance: U256::from(need - 1),
                cost: U256::from(need)
            })
        );
        f.state.0.lock().insert(poor.address(), (0, U256::from(need)));
        f.pool.add_raw(&valid(&poor, 0, 7, 2)).unwrap();
    }

    /// No sidecar, a sidecar that does not match the hashes, a blob that does not match its
    /// commitment, no blob at all, and a zero blob fee cap are each refused with their reason.
    #[test]
    fn blob_transactions_that_do_not_verify_are_refused() {
        let f = l1_fixture();
        let good = sidecar(1);
        let hashes: Vec<B256> = good.versioned_hashes().collect();

        let (_, bare) = blob_tx(&f.key, 0, 1, None, hashes.clone());
        assert_eq!(f.pool.add_raw(&bare), Err(PoolError::MissingSidecar));

        let (_, other_hash) = blob_tx(&f.key, 0, 1, Some(good.clone()), vec![B256::repeat_byte(1)]);
        assert!(matches!(f.pool.add_raw(&other_hash), Err(PoolError::InvalidSidecar(_))));

        let mut tampered = good.clone();
        tampered.blobs[0] = Blob::repeat_byte(0).map_last(9);
        let (_, tampered) = blob_tx(&f.key, 0, 1, Some(tampered), hashes.clone());
        assert!(matches!(f.pool.add_raw(&tampered), Err(PoolError::InvalidSidecar(_))));

        let (_, none) = blob_tx(&f.key, 0, 1, Some(sidecar(0)), vec![]);
        assert_eq!(f.pool.add_raw(&none), Err(PoolError::BlobCount { count: 0 }));

        let (_, free) = blob_tx(&f.key, 0, 0, Some(good), hashes);
        assert_eq!(f.pool.add_raw(&free), Err(PoolError::BlobFeeCapTooLow));
        assert!(f.pool.is_empty());
    }

    /// A replacement must raise the blob fee cap as well as the gas fees.
    #[test]
    fn a_blob_replacement_bumps_the_blob_fee_cap() {
        let f = l1_fixture();
        f.pool.add_raw(&valid(&f.key, 0, 100, 1)).unwrap();
        let same_blob_fee = {
            let sidecar = sidecar(1);
            let mut tx = TxEip4844 {
                chain_id: CHAIN,
                gas_limit: 21_000,
                max_fee_per_gas: 20_000,
                max_priority_fee_per_gas: 20,
                to: Address::repeat_byte(7),
                blob_versioned_hashes: sidecar.versioned_hashes().collect(),
                max_fee_per_blob_gas: 100,
                ..Default::default()
            };
            let signature = f.key.sign_transaction_sync(&mut tx).unwrap();
            let tx = TxEnvelope::Eip4844(tx.into_signed(signature));
            PooledTransaction { tx, sidecar: Some(sidecar) }.encode()
        };
        assert_eq!(f.pool.add_raw(&same_blob_fee), Err(PoolError::ReplacementUnderpriced));
    }

    /// One sender holds at most 16 blob transactions; ordinary ones are not counted.
    #[test]
    fn a_sender_holds_at_most_sixteen_blob_transactions() {
        let f = l1_fixture();
        for nonce in 0..16 {
            f.pool.add_raw(&valid(&f.key, nonce, 1, 1)).unwrap();
        }
        assert_eq!(
            f.pool.add_raw(&valid(&f.key, 16, 1, 1)),
            Err(PoolError::BlobLimit { held: 16, limit: 16 })
        );
        f.pool.add_raw(&eip1559(&f.key, 16, 10_000, 10)).unwrap();
        // replacing one of the sixteen is not a seventeenth
        f.pool.add_raw(&valid(&f.key, 3, 2, 1)).unwrap_err();
        let sidecar = sidecar(1);
        let hashes = sidecar.versioned_hashes().collect();
        let mut tx = TxEip4844 {
            chain_id: CHAIN,
            nonce: 3,
            gas_limit: 21_000,
            max_fee_per_gas: 20_000,
            max_priority_fee_per_gas: 20,
            to: Address::repeat_byte(7),
            blob_versioned_hashes: hashes,
            max_fee_per_blob_gas: 2,
            ..Default::default()
        };
        let signature = f.key.sign_transaction_sync(&mut tx).unwrap();
        let tx = TxEnvelope::Eip4844(tx.into_signed(signature));
        f.pool.add_raw(&PooledTransaction { tx, sidecar: Some(sidecar) }.encode()).unwrap();
        assert_eq!(f.pool.len(), 17);
    }

    /// The journal keeps the network form: after a crash the blob transaction comes back with
    /// its sidecar.
    #[test]
    fn the_journal_keeps_blob_sidecars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("txpool.journal");
        let f = l1_fixture();
        f.pool.open_journal(&path).unwrap();
        let hash = f.pool.add_raw(&valid(&f.key, 0, 7, 1)).unwrap();
        drop(f.pool);
        let pool = l1_pool(&f.state);
        assert_eq!(pool.open_journal(&path).unwrap(), (1, 0));
        assert_eq!(pool.get(&hash).unwrap().sidecar.as_ref().unwrap().blobs.len(), 1);
        // and the rewritten journal still holds it whole
        drop(pool);
        let again = l1_pool(&f.state);
        assert_eq!(again.open_journal(&path).unwrap(), (1, 0));
    }
}
