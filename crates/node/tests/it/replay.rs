//! Re-execution: unwinding and re-importing blocks, and replaying a chain from genesis into a
//! fresh database, must give the same hashes and state roots.

use crate::helpers::*;
use alloy::{
    consensus::BlockBody,
    primitives::{Address, Bytes, TxKind, U256},
    sol_types::SolCall,
};
use std::{sync::Arc, time::Duration};
use tributary_chainspec::ChainSpec;
use tributary_evm::EvmConfig;
use tributary_primitives::Block;
use tributary_storage::{Database, DatabaseConfig};

alloy::sol! {
    function set(uint256 k, uint256 v);
}

fn stored_block(db: &Database, number: u64) -> Block {
    Block {
        header: db.header(number).unwrap().unwrap(),
        body: BlockBody {
            transactions: db.body(number).unwrap().unwrap(),
            ommers: vec![],
            withdrawals: Some(Default::default()),
        },
    }
}

/// Runs a node, sends a mix of transactions, and returns its database after stopping it.
async fn busy_chain() -> (Database, tempfile::TempDir) {
    let node = TestNode::start(Duration::ZERO).await;
    let key = dev_key(6);
    let init = {
        let artifact: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/contracts/build/Storage.json"))
                .unwrap();
        artifact["bytecode"].as_str().unwrap().parse::<Bytes>().unwrap()
    };
    let deploy = sign(&key, 0, TxKind::Create, U256::ZERO, init, 500_000, FEES);
    let receipt = node.receipt(node.send(deploy).await.unwrap()).await;
    let storage: Address = receipt["contractAddress"].as_str().unwrap().parse().unwrap();
    // set(k, v) then clear some: storage writes and deletions
    for (nonce, (k, v)) in [(1u64, (1u64, 10u64)), (2, (2, 20)), (3, (1, 0)), (4, (3, 30))] {
        let input = setCall { k: U256::from(k), v: U256::from(v) }.abi_encode();
        let raw = sign(&key, nonce, TxKind::Call(storage), U256::ZERO, input.into(), 100_000, FEES);
        assert_eq!(node.receipt(node.send(raw).await.unwrap()).await["status"], "0x1");
    }
    for nonce in 5..9u64 {
        let to = Address::with_last_byte(nonce as u8);
        node.receipt(node.send(transfer(&key, nonce, to, 1_000 + nonce)).await.unwrap()).await;
    }
    // Attribution and Royalties state: it lives in the precompile accounts' storage, and the
    // replay below must reproduce its roots.
    use tributary_precompiles::{
        ATTRIBUTION_ADDRESS as ATTR, IAttribution as A, IRoyalties as R, ROYALTIES_ADDRESS as ROY,
    };
    let calls: Vec<(Address, U256, Vec<u8>)> = vec![
        (ATTR, U256::ZERO, A::createDatanetCall { metadataUri: "ipfs://d".into() }.abi_encode()),
        (
            ATTR,
            U256::ZERO,
            A::submitContributionCall { datanetId: 1, contentHash: Default::default(), weight: 1 }
                .abi_encode(),
        ),
        (
            ATTR,
            U256::ZERO,
            A::reviewContributionCall { contributionId: 1, accepted: true }.abi_encode(),
        ),
        (
            ATTR,
            U256::ZERO,
            A::registerModelCall {
                modelHash: alloy::primitives::B256::repeat_byte(1),
                metadataUri: "m".into(),
                pricePerKiloToken: U256::from(2_000_000_000_000_000u64),
                dataBps: 3_000,
                operatorBps: 1_000,
                datanetIds: vec![1],
            }
            .abi_encode(),
        ),
        (
            ATTR,
            U256::from(1_600_000_000_000_000u64),
            A::recordInferenceCall {
                modelId: 1,
                payer: key.address(),
                tokens: 800,
                inferenceHash: Default::default(),
                contributionIds: vec![1],
                weights: vec![1],
            }
            .abi_encode(),
        ),
        (ROY, U256::from(10u64.pow(18)), R::depositCall {}.abi_encode()),
    ];
    for (i, (to, value, data)) in calls.into_iter().enumerate() {
        let raw = sign(&key, 9 + i as u64, TxKind::Call(to), value, data.into(), 1_000_000, FEES);
        let receipt = node.receipt(node.send(raw).await.unwrap()).await;
        assert_eq!(receipt["status"], "0x1", "precompile call {i}");
    }
    let TestNode { node: running, dir, .. } = node;
    let running = running.unwrap();
    let db = running.db.clone();
    running.stop().await;
    (db, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn unwind_then_reimport_gives_the_same_chain() {
    let (db, _dir) = busy_chain().await;
    let head = db.head_number();
    assert!(head >= 9);
    let k = 5;
    let blocks: Vec<Block> = (head - k + 1..=head).map(|n| stored_block(&db, n)).collect();
    let hashes: Vec<_> =
        (head - k + 1..=head).map(|n| db.block_hash(n).unwrap().unwrap()).collect();

    db.unwind(k).unwrap();
    assert_eq!(db.head_number(), head - k);
    assert!(db.header(head).unwrap().is_none());

    let evm = EvmConfig::new(Arc::new(ChainSpec::dev()));
    for (block, hash) in blocks.iter().zip(&hashes) {
        let (executed, root) = evm.execute_block(&db, block).unwrap();
        assert_eq!(executed.header.hash(), *hash);
        db.commit_block(&executed, root).unwrap();
    }
    assert_eq!(db.head_number(), head);
    assert_eq!(db.head().hash(), *hashes.last().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_from_genesis_into_a_fresh_database() {
    let (db, _dir) = busy_chain().await;
    let fresh_dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::dev();
    let fresh = Database::open(fresh_dir.path(), &spec, DatabaseConfig::default()).unwrap();
    let evm = EvmConfig::new(Arc::new(spec));
    for number in 1..=db.head_number() {
        let block = stored_block(&db, number);
        let (executed, root) = evm.execute_block(&fresh, &block).unwrap();
        assert_eq!(executed.header.state_root, db.header(number).unwrap().unwrap().state_root);
        fresh.commit_block(&executed, root).unwrap();
    }
    assert_eq!(fresh.head().hash(), db.head().hash());

    // a block with a wrong state root is refused
    let next = db.head_number();
    fresh.unwind(1).unwrap();
    let mut bad = stored_block(&db, next);
    bad.header.state_root = Default::default();
    let err = evm.execute_block(&fresh, &bad).unwrap_err();
    assert!(err.to_string().contains("state root"), "{err}");
    // Every header field execution does not decide is checked too: a block that claims
    // another base fee, extra data, DA footprint or gas limit is refused.
    let good = stored_block(&db, next);
    type Tamper = fn(&mut Block);
    let tampered: [(&str, Tamper); 5] = [
        ("base fee per gas", |b| b.header.base_fee_per_gas = Some(1)),
        ("extra data", |b| b.header.extra_data = vec![9u8; 4].into()),
        ("blob gas used", |b| b.header.blob_gas_used = Some(123_456)),
        ("gas limit", |b| b.header.gas_limit += 1),
        ("timestamp", |b| b.header.timestamp = 0),
    ];
    for (what, tamper) in tampered {
        let mut bad = good.clone();
        tamper(&mut bad);
        let err = evm.execute_block(&fresh, &bad).unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    evm.execute_block(&fresh, &good).unwrap();
}
