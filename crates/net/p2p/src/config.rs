//! What the network needs to start, and the node key kept in the datadir.

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::Address;
use libp2p::{Multiaddr, identity::Keypair};
use std::{net::SocketAddr, path::Path, sync::Arc};
use tributary_chainspec::ChainSpec;

/// The default P2P port (op-node's).
pub const DEFAULT_P2P_PORT: u16 = 9222;

/// Everything [`crate::P2pNetwork::start`] needs.
#[derive(Clone)]
pub struct P2pConfig {
    /// TCP address to listen on.
    pub listen: SocketAddr,
    /// Peers dialled at start.
    pub bootnodes: Vec<Multiaddr>,
    /// Peers dialled at start and redialled whenever the connection drops.
    pub static_peers: Vec<Multiaddr>,
    /// The node's identity (its peer id).
    pub key: Keypair,
    /// The L2 chain: its id names the topics, its forks pick payload versions.
    pub chain: Arc<ChainSpec>,
    /// The rollup config's unsafe block signer: only its blocks are accepted.
    pub unsafe_block_signer: Address,
    /// On the sequencer: the key blocks are published with.
    pub sequencer_key: Option<PrivateKeySigner>,
}

impl std::fmt::Debug for P2pConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pConfig")
            .field("listen", &self.listen)
            .field("bootnodes", &self.bootnodes)
            .field("static_peers", &self.static_peers)
            .field("peer_id", &self.key.public().to_peer_id())
            .field("unsafe_block_signer", &self.unsafe_block_signer)
            .field("sequencer", &self.sequencer_key.as_ref().map(|key| key.address()))
            .finish()
    }
}

/// Reads the node key at `path` (64 hex characters: a secp256k1 secret, as op-node keeps
/// it), or creates one there (mode 0600) when the file does not exist, so the peer id stays
/// the same across restarts.
///
/// # Errors
///
/// The file cannot be read or written, or does not hold a valid key.
pub fn load_or_generate_key(path: &Path) -> Result<Keypair, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim().trim_start_matches("0x"))
                .map_err(|err| format!("{}: not hex: {err}", path.display()))?;
            let secret = libp2p::identity::secp256k1::SecretKey::try_from_bytes(bytes)
                .map_err(|err| format!("{}: not a secp256k1 key: {err}", path.display()))?;
            Ok(libp2p::identity::secp256k1::Keypair::from(secret).into())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let keypair = libp2p::identity::secp256k1::Keypair::generate();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
            }
            write_private(path, &hex::encode(keypair.secret().to_bytes()))
                .map_err(|err| format!("{}: {err}", path.display()))?;
            tracing::info!(target: "p2p", path = %path.display(), "generated a node key");
            Ok(keypair.into())
        }
        Err(err) => Err(format!("{}: {err}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}
