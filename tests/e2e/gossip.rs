//! Unsafe blocks over P2P between real processes: a follower takes the sequencer's blocks by
//! gossip ahead of L1, refuses a block signed by another key and bans its sender, keeps
//! serving reads with a stalled unsafe head while the sequencer is down, and resumes when it
//! is back.

use crate::{
    follower::{block, start_follower},
    rollup::{block_number, free_port, start_l1_and_init, start_sequencer, wait_for},
};
use alloy::{
    consensus::{BlockBody, Header},
    eips::eip7685::EMPTY_REQUESTS_HASH,
};
use alloy_primitives::B256;
use std::{sync::Arc, time::Duration};
use tributary_chainspec::ChainSpec;
use tributary_devnet::accounts::dev_signer;
use tributary_p2p::{P2pConfig, P2pNetwork};
use tributary_primitives::Block;

struct NoBlocks;

impl tributary_p2p::BlockSource for NoBlocks {
    fn block(&self, _: u64) -> Option<(Block, B256)> {
        None
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_take_gossiped_blocks_refuse_a_wrong_signer_and_outlive_the_sequencer() {
    let dir = tempfile::tempdir().unwrap();
    let (_l1, _port, l1_url, rollup) = start_l1_and_init(dir.path(), 1);
    let p2p_port = free_port();
    let listen = format!("127.0.0.1:{p2p_port}");
    // Batches every 10 L1 blocks: the safe head lags, so blocks ahead of it came by gossip.
    let seq_args = ["--p2p.listen", &listen, "--batcher.max-channel-duration", "10"];
    let sequencer = start_sequencer(dir.path(), &l1_url, &seq_args);
    let me = sequencer.rpc("opp2p_self", vec![]).await;
    let peer = me["addresses"][0].as_str().unwrap().to_string();
    assert!(peer.contains(&format!("/tcp/{p2p_port}/p2p/")), "{me}");
    let follower = start_follower(dir.path(), &l1_url, &sequencer.url, "follower", Some(&peer));

    // The follower's unsafe head runs ahead of its safe head, on the sequencer's blocks.
    let ahead =
        wait_for("gossiped blocks ahead of the safe head", Duration::from_secs(60), async || {
            let (latest, safe) =
                (block_number(&follower, "latest").await, block_number(&follower, "safe").await);
            (latest >= safe + 3).then_some(latest)
        })
        .await;
    assert_eq!(block(&follower, ahead).await["hash"], block(&sequencer, ahead).await["hash"]);
    let peers = follower.rpc("net_peerCount", vec![]).await;
    assert_eq!(peers, "0x1");

    // An attacker on the network signs a block with another key.
    let chain = Arc::new(ChainSpec::from_file(dir.path().join("genesis.json")).unwrap());
    let key_dir = tempfile::tempdir().unwrap();
    let config = P2pConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        bootnodes: Vec::new(),
        static_peers: vec![
            follower.rpc("opp2p_self", vec![]).await["addresses"][0]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ],
        key: tributary_p2p::load_or_generate_key(&key_dir.path().join("key")).unwrap(),
        chain: chain.clone(),
        unsafe_block_signer: rollup.unsafe_block_signer,
        sequencer_key: Some(dev_signer(5)),
    };
    let (attacker, handle, _) = P2pNetwork::start(config, NoBlocks).await.unwrap();
    let attacker_id = handle.status().peer_id;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(attacker.run(async move { stopped.await.unwrap_or(()) }));
    let head = block_number(&follower, "latest").await;
    let forged = |number: u64| {
        let timestamp = unix_now();
        let header = Header {
            number,
            timestamp,
            gas_limit: 60_000_000,
            base_fee_per_gas: Some(1),
            extra_data: chain.extra_data_at(timestamp),
            withdrawals_root: Some(alloy::consensus::constants::EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        Block {
            header,
            body: BlockBody { withdrawals: Some(Default::default()), ..Default::default() },
        }
    };
    let banned = wait_for(
        "the forged block rejected and its sender banned",
        Duration::from_secs(30),
        async || {
            let block = forged(head + 1);
            let hash = block.header.hash_slow();
            handle.publish(block, hash);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let peers = follower.rpc("opp2p_peers", vec![]).await;
            let entry = peers["peers"]
                .as_array()?
                .iter()
                .find(|p| p["peerId"] == attacker_id.as_str())?
                .clone();
            (entry["rejected"].as_u64()? >= 1 && entry["banned"] == true).then_some(entry)
        },
    )
    .await;
    assert!(banned["gossipScore"].as_f64().unwrap() <= tributary_p2p::BAN_THRESHOLD, "{banned}");
    let _ = stop.send(());
    task.await.unwrap();
    // The forged block never entered the chain: the follower's block at that height is the
    // sequencer's.
    wait_for("the follower past the forged height", Duration::from_secs(30), async || {
        (block_number(&follower, "latest").await > head + 1).then_some(())
    })
    .await;
    assert_eq!(block(&follower, head + 1).await["hash"], block(&sequencer, head + 1).await["hash"]);

    // The sequencer goes down: the follower serves reads, its unsafe head stalls.
    sequencer.terminate();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stalled = block_number(&follower, "latest").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(block_number(&follower, "latest").await, stalled, "no sequencer, no new blocks");
    let balance = follower
        .rpc("eth_getBalance", vec![dev_signer(1).address().to_string().into(), "latest".into()])
        .await;
    assert!(balance.as_str().unwrap().len() > 3, "{balance}");
    let status = follower.rpc("optimism_syncStatus", vec![]).await;
    assert_eq!(status["unsafe_l2"]["number"].as_u64(), Some(stalled), "{status}");

    // Back on the same P2P port and key: the follower redials it and follows again.
    let sequencer = start_sequencer(dir.path(), &l1_url, &seq_args);
    let resumed = wait_for(
        "the follower following the restarted sequencer",
        Duration::from_secs(60),
        async || {
            let latest = block_number(&follower, "latest").await;
            (latest > stalled + 3 && latest > block_number(&follower, "safe").await)
                .then_some(latest)
        },
    )
    .await;
    assert_eq!(block(&follower, resumed).await["hash"], block(&sequencer, resumed).await["hash"]);
}
