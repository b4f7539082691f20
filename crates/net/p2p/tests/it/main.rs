//! The gossip wire format against op-alloy's decoder, validation verdicts, and two networks
//! on loopback: a block published by one arrives at the other, and a gap is fetched by number.

use alloy::{
    consensus::{Header, SignableTransaction, TxEip1559},
    eips::eip7685::EMPTY_REQUESTS_HASH,
    signers::{SignerSync, local::PrivateKeySigner},
};
use alloy_primitives::{Address, B256, Bytes, Sealed, TxKind, U256};
use op_alloy::{consensus::TxDeposit, rpc_types_engine::OpNetworkPayloadEnvelope};
use std::{sync::Arc, time::Duration};
use tributary_chainspec::ChainSpec;
use tributary_p2p::{
    BlockSource, BlockValidator, BlockVersion, P2pConfig, P2pEvent, P2pNetwork, Verdict,
    block_from_parts, block_topic, encode_message, message_id,
};
use tributary_primitives::{Block, TxEnvelope};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn key(byte: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(byte)).unwrap()
}

/// A block in the shape the sequencer seals (Isthmus/Jovian fields), with a deposit and a
/// signed transfer.
fn block(chain: &ChainSpec, number: u64, parent_hash: B256, timestamp: u64, salt: u8) -> Block {
    let deposit = TxEnvelope::Deposit(Sealed::new(TxDeposit {
        source_hash: B256::repeat_byte(salt),
        from: Address::repeat_byte(0xde),
        to: TxKind::Call(Address::repeat_byte(0x15)),
        gas_limit: 1_000_000,
        input: Bytes::from_static(b"l1 info"),
        ..Default::default()
    }));
    let tx = TxEip1559 {
        chain_id: chain.chain_id(),
        nonce: u64::from(salt),
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(Address::repeat_byte(0xaa)),
        value: U256::from(7),
        ..Default::default()
    };
    let signature = key(0x11).sign_hash_sync(&tx.signature_hash()).unwrap();
    let transfer = TxEnvelope::Eip1559(tx.into_signed(signature));
    let txs = vec![deposit, transfer];
    let header = Header {
        ommers_hash: alloy::consensus::constants::EMPTY_OMMER_ROOT_HASH,
        transactions_root: alloy::consensus::proofs::calculate_transaction_root(&txs),
        parent_hash,
        number,
        timestamp,
        gas_limit: 60_000_000,
        gas_used: 21_000,
        base_fee_per_gas: Some(1_000),
        extra_data: chain.extra_data_at(timestamp),
        state_root: B256::repeat_byte(salt),
        mix_hash: B256::repeat_byte(2),
        withdrawals_root: Some(alloy::consensus::constants::EMPTY_ROOT_HASH),
        blob_gas_used: Some(1_600),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::repeat_byte(3)),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    };
    block_from_parts(chain, header, txs)
}

fn chain() -> Arc<ChainSpec> {
    Arc::new(ChainSpec::dev())
}

/// Our message decodes with op-alloy's own network envelope decoder, and its signature is
/// the signer's over op-alloy's signing message.
#[test]
fn a_gossip_message_is_what_op_alloy_decodes() {
    let chain = chain();
    let block = block(&chain, 5, B256::repeat_byte(9), now(), 1);
    let hash = block.header.hash_slow();
    let signer = key(0x22);
    assert_eq!(BlockVersion::at(&chain, block.header.timestamp), BlockVersion::V4);
    let message = encode_message(&block, hash, chain.chain_id(), &signer).unwrap();

    let envelope = OpNetworkPayloadEnvelope::decode_v4(&message).unwrap();
    assert_eq!(envelope.payload.block_hash(), hash);
    assert_eq!(envelope.parent_beacon_block_root, Some(B256::repeat_byte(3)));
    let signing = envelope.payload_hash.signature_message(chain.chain_id());
    assert_eq!(
        envelope.signature.recover_address_from_prehash(&signing).unwrap(),
        signer.address()
    );

    let mut validator = BlockValidator::new(chain.clone(), signer.address());
    match validator.validate(BlockVersion::V4, &message, now()) {
        Verdict::Accept(decoded, decoded_hash) => {
            assert_eq!(decoded_hash, hash);
            assert_eq!(*decoded, block);
        }
        other => panic!("expected accept, got {other:?}"),
    }
    assert!(matches!(validator.validate(BlockVersion::V4, &message, now()), Verdict::Ignore(_)));
}

#[test]
fn invalid_blocks_are_rejected() {
    let chain = chain();
    let signer = key(0x22);
    let t = now();
    let good = block(&chain, 5, B256::repeat_byte(9), t, 1);
    let hash = good.header.hash_slow();
    let mut validator = BlockValidator::new(chain.clone(), signer.address());
    let reject = |validator: &mut BlockValidator, message: &[u8], version| match validator
        .validate(version, message, t)
    {
        Verdict::Reject(reason) => reason,
        other => panic!("expected reject, got {other:?}"),
    };

    let wrong_key = encode_message(&good, hash, chain.chain_id(), &key(0x33)).unwrap();
    assert!(reject(&mut validator, &wrong_key, BlockVersion::V4).contains("signed by"));

    let other_chain = encode_message(&good, hash, 1, &signer).unwrap();
    assert!(reject(&mut validator, &other_chain, BlockVersion::V4).contains("signed by"));

    let wrong_hash =
        encode_message(&good, B256::repeat_byte(0xee), chain.chain_id(), &signer).unwrap();
    assert!(reject(&mut validator, &wrong_hash, BlockVersion::V4).contains("block hash"));

    let old = block(&chain, 5, B256::repeat_byte(9), t - 61, 1);
    let message = encode_message(&old, old.header.hash_slow(), chain.chain_id(), &signer).unwrap();
    assert!(reject(&mut validator, &message, BlockVersion::V4).contains("old"));

    let future = block(&chain, 5, B256::repeat_byte(9), t + 6, 1);
    let message =
        encode_message(&future, future.header.hash_slow(), chain.chain_id(), &signer).unwrap();
    assert!(reject(&mut validator, &message, BlockVersion::V4).contains("future"));

    let message = encode_message(&good, hash, chain.chain_id(), &signer).unwrap();
    assert!(reject(&mut validator, &message, BlockVersion::V3).contains("V3"));
    assert!(reject(&mut validator, b"not snappy at all", BlockVersion::V4).contains("snappy"));
    let short = snap::raw::Encoder::new().compress_vec(&[0u8; 40]).unwrap();
    assert!(reject(&mut validator, &short, BlockVersion::V4).contains("under"));
}

/// At most six distinct blocks are taken at one height; the seventh is equivocation.
#[test]
fn equivocation_is_bounded_per_height() {
    let chain = chain();
    let signer = key(0x22);
    let mut validator = BlockValidator::new(chain.clone(), signer.address());
    let t = now();
    for salt in 1..=7u8 {
        let block = block(&chain, 9, B256::repeat_byte(9), t, salt);
        let message =
            encode_message(&block, block.header.hash_slow(), chain.chain_id(), &signer).unwrap();
        let verdict = validator.validate(BlockVersion::V4, &message, t);
        if salt <= 6 {
            assert!(matches!(verdict, Verdict::Accept(..)), "block {salt}: {verdict:?}");
        } else {
            assert!(matches!(verdict, Verdict::Reject(_)), "block {salt}: {verdict:?}");
        }
    }
}

#[test]
fn message_ids_follow_op_node() {
    let topic = block_topic(901, BlockVersion::V4);
    assert_eq!(topic, "/optimism/901/3/blocks");
    let data = snap::raw::Encoder::new().compress_vec(&[7u8; 100]).unwrap();
    let id = message_id(&topic, &data);
    assert_eq!(id.len(), 20);
    // SHA256(01000000 ++ u64_le(len(topic)) ++ topic ++ decompressed)[..20], by hand.
    use sha2::Digest;
    let mut preimage = vec![1u8, 0, 0, 0];
    preimage.extend_from_slice(&(topic.len() as u64).to_le_bytes());
    preimage.extend_from_slice(topic.as_bytes());
    preimage.extend_from_slice(&[7u8; 100]);
    assert_eq!(id, sha2::Sha256::digest(&preimage)[..20].to_vec());
    assert_ne!(message_id(&topic, b"\xff\xff\xff raw"), message_id("/other", b"\xff\xff\xff raw"));
}

#[test]
fn the_node_key_is_created_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p2p-key");
    let first = tributary_p2p::load_or_generate_key(&path).unwrap();
    let second = tributary_p2p::load_or_generate_key(&path).unwrap();
    assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
    std::fs::write(dir.path().join("bad"), "zz").unwrap();
    assert!(tributary_p2p::load_or_generate_key(&dir.path().join("bad")).is_err());
}

/// Blocks the test "sequencer" serves to block requests.
#[derive(Clone, Default)]
struct Blocks(Arc<parking_lot::Mutex<Vec<Block>>>);

impl BlockSource for Blocks {
    fn block(&self, number: u64) -> Option<(Block, B256)> {
        let blocks = self.0.lock();
        let block = blocks.iter().find(|block| block.header.number == number)?.clone();
        let hash = block.header.hash_slow();
        Some((block, hash))
    }
}

fn config(chain: &Arc<ChainSpec>, signer: Address, key: Option<PrivateKeySigner>) -> P2pConfig {
    P2pConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        bootnodes: Vec::new(),
        static_peers: Vec::new(),
        key: libp2p_key(),
        chain: chain.clone(),
        unsafe_block_signer: signer,
        sequencer_key: key,
    }
}

fn libp2p_key() -> tributary_p2p::Keypair {
    let dir = tempfile::tempdir().unwrap();
    tributary_p2p::load_or_generate_key(&dir.path().join("k")).unwrap()
}

/// A block the sequencer publishes reaches a follower on loopback, and the follower fetches
/// the block below it by number with the hash it must have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_block_arrives_and_its_parent_is_fetched() {
    let chain = chain();
    let signer = key(0x22);
    let source = Blocks::default();
    let t = now();
    let parent = block(&chain, 1, B256::repeat_byte(9), t - 2, 1);
    let child = block(&chain, 2, parent.header.hash_slow(), t, 2);
    source.0.lock().extend([parent.clone(), child.clone()]);

    let (sequencer, seq_handle, _) =
        P2pNetwork::start(config(&chain, signer.address(), Some(signer.clone())), source.clone())
            .await
            .unwrap();
    let seq_addr: tributary_p2p::Multiaddr = seq_handle.status().listen_addrs[0].parse().unwrap();
    let mut follower_config = config(&chain, signer.address(), None);
    follower_config.static_peers = vec![seq_addr];
    let (follower, handle, mut events) =
        P2pNetwork::start(follower_config, Blocks::default()).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_tx2, stop_rx2) = tokio::sync::oneshot::channel::<()>();
    let seq_task = tokio::spawn(sequencer.run(async move { stop_rx.await.unwrap_or(()) }));
    let fol_task = tokio::spawn(follower.run(async move { stop_rx2.await.unwrap_or(()) }));

    // Publish until the mesh forms and the block arrives.
    let hash = child.header.hash_slow();
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            seq_handle.publish(child.clone(), hash);
            if let Ok(Some(event)) =
                tokio::time::timeout(Duration::from_millis(700), events.recv()).await
            {
                return event;
            }
        }
    })
    .await
    .expect("the block arrives by gossip");
    match got {
        P2pEvent::Gossip { block, hash: got } => {
            assert_eq!(got, hash);
            assert_eq!(*block, child);
        }
        other => panic!("expected a gossiped block, got {other:?}"),
    }
    assert_eq!(handle.status().connected(), 1);

    handle.fetch(1, child.header.parent_hash);
    match tokio::time::timeout(Duration::from_secs(10), events.recv()).await.unwrap().unwrap() {
        P2pEvent::Fetched { block, hash } => {
            assert_eq!(hash, parent.header.hash_slow());
            assert_eq!(*block, parent);
        }
        other => panic!("expected the fetched parent, got {other:?}"),
    }
    // A block whose hash is not the one asked for is refused.
    handle.fetch(1, B256::repeat_byte(0x77));
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(10), events.recv()).await.unwrap().unwrap(),
        P2pEvent::FetchFailed { number: 1 }
    ));
    let peer = &handle.status().peers[0];
    assert_eq!(peer.rejected, 1, "the wrong answer counts against the peer: {peer:?}");

    let _ = (stop_tx.send(()), stop_tx2.send(()));
    seq_task.await.unwrap();
    fol_task.await.unwrap();
}
