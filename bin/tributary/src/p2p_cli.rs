//! `--p2p.*`: unsafe-block gossip flags of `tributary node`.

use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use eyre::WrapErr;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
};
use tributary_chainspec::{ChainSpec, RollupConfig};
use tributary_devnet::accounts::dev_signer;
use tributary_p2p::{DEFAULT_P2P_PORT, Multiaddr, P2pConfig};

/// The default listen address of a rollup node's P2P.
pub(crate) const DEFAULT_P2P_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_P2P_PORT);

/// P2P flags (op-node's names where they exist).
#[derive(Debug, Args, PartialEq, Eq, Default)]
pub(crate) struct P2pArgs {
    /// Do not join the P2P network: a follower then follows L1 alone (its unsafe head is its
    /// safe head), a sequencer gossips nothing.
    #[arg(long = "p2p.disable", env = "TRIBUTARY_P2P_DISABLE")]
    pub(crate) disable: bool,
    /// TCP address to listen on [default: 0.0.0.0:9222; with --dev, P2P is off unless set].
    #[arg(long = "p2p.listen", value_name = "ADDR", env = "TRIBUTARY_P2P_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// Peers to dial at start (multiaddrs, comma-separated), e.g.
    /// /ip4/10.0.0.2/tcp/9222/p2p/16Uiu2….
    #[arg(long = "p2p.bootnodes", value_delimiter = ',', env = "TRIBUTARY_P2P_BOOTNODES")]
    pub(crate) bootnodes: Vec<Multiaddr>,
    /// Peers to stay connected to: redialled whenever the connection drops.
    #[arg(long = "p2p.static", value_delimiter = ',', env = "TRIBUTARY_P2P_STATIC")]
    pub(crate) static_peers: Vec<Multiaddr>,
    /// The node key file (hex secp256k1 secret); created on first start. Defaults to
    /// `<datadir>/p2p-key`, so the peer id survives restarts.
    #[arg(long = "p2p.priv-key", value_name = "FILE", env = "TRIBUTARY_P2P_PRIV_KEY")]
    pub(crate) priv_key: Option<PathBuf>,
    /// Sequencer: the unsafe block signer's private key (hex), which signs gossiped blocks.
    /// Defaults to the dev signer when the rollup config names it.
    #[arg(long = "p2p.sequencer.key", env = "TRIBUTARY_P2P_SEQUENCER_KEY", hide_env_values = true)]
    pub(crate) sequencer_key: Option<String>,
}

impl P2pArgs {
    /// The network config, or None when P2P is off (`--p2p.disable`, or `--dev` without
    /// `--p2p.listen`).
    pub(crate) fn config(
        &self,
        dev: bool,
        datadir: &Path,
        chain: Arc<ChainSpec>,
        rollup: &RollupConfig,
        sequencer: bool,
    ) -> eyre::Result<Option<P2pConfig>> {
        if self.disable || (dev && self.listen.is_none()) {
            return Ok(None);
        }
        let key_path = self.priv_key.clone().unwrap_or_else(|| datadir.join("p2p-key"));
        let key = tributary_p2p::load_or_generate_key(&key_path).map_err(|err| eyre::eyre!(err))?;
        let sequencer_key = if sequencer { Some(self.sequencer_key(rollup)?) } else { None };
        Ok(Some(P2pConfig {
            listen: self.listen.unwrap_or(DEFAULT_P2P_LISTEN),
            bootnodes: self.bootnodes.clone(),
            static_peers: self.static_peers.clone(),
            key,
            chain,
            unsafe_block_signer: rollup.unsafe_block_signer,
            sequencer_key,
        }))
    }

    fn sequencer_key(&self, rollup: &RollupConfig) -> eyre::Result<PrivateKeySigner> {
        let signer = rollup.unsafe_block_signer;
        let key: PrivateKeySigner = match &self.sequencer_key {
            Some(key) => key.parse().wrap_err("--p2p.sequencer.key")?,
            None => {
                let dev = dev_signer(tributary_devnet::DEV_SIGNER_INDEX);
                if dev.address() != signer {
                    eyre::bail!(
                        "the sequencer signs gossiped blocks: pass --p2p.sequencer.key (the key of \
                         the rollup config's unsafe_block_signer {signer}) or --p2p.disable"
                    );
                }
                dev
            }
        };
        if key.address() != signer {
            eyre::bail!(
                "--p2p.sequencer.key is {}, but the rollup config's unsafe_block_signer is \
                 {signer}: followers would reject every block",
                key.address()
            );
        }
        Ok(key)
    }
}
