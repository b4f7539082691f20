//! Tributary's P2P layer: unsafe L2 blocks gossiped from the sequencer to followers over
//! libp2p, as the OP Stack's rollup-node P2P spec lays it out, and a request protocol that
//! fills gaps.
//!
//! # Parts
//!
//! - `payload.rs`: blocks as SSZ execution payloads (op-alloy's codec), the payload version
//!   of each fork ([`BlockVersion`]), and the block hash recomputed from the header a payload
//!   implies.
//! - `gossip.rs`: topics `/optimism/<chain id>/<0..3>/blocks`, the signed and
//!   snappy-compressed message, op-node's message id, and [`BlockValidator`]: size, signature
//!   by the rollup config's unsafe block signer, payload version, timestamp window (60 s old,
//!   5 s ahead), block hash, and at most 5 distinct blocks per height (equivocation).
//! - `sync.rs`: `/opstack/req/payload_by_number/<chain id>/0`, request and response as
//!   op-node writes them.
//! - `service.rs`: [`P2pNetwork`], the task that owns the swarm (TCP, noise, yamux, gossipsub,
//!   identify, ping, request-response), and [`P2pHandle`], the node's side of it.
//!
//! # Use
//!
//! ```text
//! let (network, handle, events) = P2pNetwork::start(config, blocks_from_db).await?;
//! spawn(network.run(shutdown));
//! handle.publish(block, hash);           // sequencer: sign and gossip each sealed block
//! while let Some(event) = events.recv()  // follower: P2pEvent::Gossip / Fetched blocks
//! handle.fetch(number, expected_hash);   // fill a gap below a block held
//! ```
//!
//! The network validates and forwards; it does not execute. The node imports what it hears
//! (executing each block through the same executor the sequencer seals with) and derivation
//! from L1 later confirms or replaces it.
//!
//! # Scoring
//!
//! Gossipsub peer scoring with op-node's thresholds and mesh parameters. Each block topic
//! scores invalid deliveries at -1000 with topic weight 0.2, so one rejected block puts its
//! sender at -200: past the graylist threshold (-40), so gossipsub ignores it from then on,
//! and past the ban threshold (-100), so [`P2pNetwork`] disconnects it and refuses it for an
//! hour. (The penalty decays by 0.9998 every 2 s, so a graylisted peer that is no longer
//! heard from would otherwise drift back.) A wrong answer to a block request costs -20 of
//! application score. Loopback is exempt from the IP colocation penalty so that a local
//! devnet's nodes do not penalize each other.
//!
//! # Where we depart from the OP Stack P2P spec
//!
//! - **No discv5.** Peers come from `--p2p.bootnodes` (dialled once) and `--p2p.static`
//!   (redialled whenever the connection drops). Tributary networks are a sequencer and the
//!   followers its operator lists; discovery over the open internet is not a goal yet.
//! - **No mplex.** rust-libp2p no longer ships it; yamux is what op-node prefers anyway.
//! - **`payload_by_number` is served and used.** op-node deprecated it (off by default,
//!   client removed in 2026); we keep it because a follower that missed gossip would otherwise
//!   wait for the batch on L1. Its server allows 20 requests a second per peer (burst 40),
//!   more than op-node's 4, because a restarted follower fetches its whole unsafe gap.
//! - **Topic scoring is on.** Current op-node scores no topic (the P4 penalty comes from
//!   libp2p alone); we score invalid deliveries so a peer that sends bad blocks is banned.
//! - **The node key** is a secp256k1 key in the datadir (`p2p-key`, 64 hex characters, mode
//!   0600), created on first start, as op-node's `p2p.priv.path`.

mod config;
mod gossip;
mod payload;
mod service;
mod sync;

pub use config::{DEFAULT_P2P_PORT, P2pConfig, load_or_generate_key};
pub use gossip::{
    BlockValidator, MAX_BLOCK_AGE, MAX_BLOCKS_PER_HEIGHT, MAX_CLOCK_SKEW, MAX_GOSSIP_SIZE,
    MIN_GOSSIP_SIZE, Verdict, block_topic, encode_message, message_id, signing_hash,
};
pub use libp2p::{Multiaddr, PeerId, identity::Keypair};
pub use payload::{BlockVersion, PayloadError, block_from_parts, decode_payload, encode_payload};
pub use service::{
    BAN_DURATION, BAN_THRESHOLD, NetworkStatus, P2pError, P2pEvent, P2pHandle, P2pNetwork,
    PeerStatus,
};
pub use sync::{MAX_RESPONSE_SIZE, PayloadByNumberCodec, PayloadResponse, sync_protocol};

use alloy_primitives::B256;
use tributary_primitives::Block;

/// Where the network reads the blocks it serves to `payload_by_number` requests.
pub trait BlockSource: Send + 'static {
    /// Canonical block `number` and its hash.
    fn block(&self, number: u64) -> Option<(Block, B256)>;
}
