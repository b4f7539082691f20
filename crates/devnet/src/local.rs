//! `tributary devnet up | status | down`: a whole devnet as local processes.
//!
//! `up` starts, each as its own process detached from the terminal: the L1 dev chain, the
//! sequencer with its batch poster (posting blobs: `auto`), and N followers that take unsafe
//! blocks from the sequencer over P2P and derive the chain from L1 (`--l1.beacon` for the
//! blobs). The first `up` in a datadir runs
//! `devnet init` against the fresh L1; later ones reuse its genesis and rollup config, so a
//! devnet stopped with `down` comes back with its chain.
//!
//! Everything lives under the devnet's datadir:
//!
//! ```text
//! <datadir>/devnet.json      the nodes: name, role, pid, RPC URL, P2P port, log file
//! <datadir>/config/          genesis.json and rollup.json from `devnet init`
//! <datadir>/<node>/          each node's datadir (l1, sequencer, follower-1, ...)
//! <datadir>/logs/<node>.log  each node's output
//! ```

use crate::{DevnetError, accounts::dev_signer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Ports of a local devnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevnetPorts {
    /// The L1's RPC.
    pub l1: u16,
    /// The sequencer's RPC.
    pub sequencer: u16,
    /// Follower `i` (from 1) listens on `sequencer + i * follower_step`.
    pub follower_step: u16,
    /// The sequencer's P2P port; follower `i` uses `p2p + i`.
    pub p2p: u16,
}

impl DevnetPorts {
    /// The documented ports: L1 8645, sequencer 8545, followers 9545, 10545, ..., P2P 9222 on.
    pub const DEFAULT: Self = Self { l1: 8645, sequencer: 8545, follower_step: 1000, p2p: 9222 };

    /// Consecutive ports from `base`: L1, sequencer, followers, then P2P (for tests and a
    /// second devnet beside the first); None when they would pass 65535.
    pub fn from_base(base: u16, followers: usize) -> Option<Self> {
        let followers = u16::try_from(followers).ok()?;
        // L1, sequencer, followers, then P2P for the sequencer and each follower.
        let last = base.checked_add(2)?.checked_add(followers.checked_mul(2)?)?;
        let p2p = last.checked_sub(followers)?;
        Some(Self { l1: base, sequencer: base + 1, follower_step: 1, p2p })
    }

    /// Whether every port of `followers` followers fits in a u16.
    pub fn fit(&self, followers: usize) -> bool {
        let followers = followers as u32;
        u32::from(self.sequencer) + u32::from(self.follower_step) * followers <= 65_535
            && u32::from(self.p2p) + followers <= 65_535
    }

    fn follower(&self, index: usize) -> u16 {
        self.sequencer + self.follower_step * index as u16
    }
}

/// What `up` needs.
#[derive(Debug, Clone)]
pub struct UpConfig {
    /// The devnet's datadir.
    pub datadir: PathBuf,
    /// The `tributary` binary to run.
    pub binary: PathBuf,
    /// Followers to start.
    pub followers: usize,
    /// Ports.
    pub ports: DevnetPorts,
    /// L2 block time, seconds.
    pub block_time: u64,
    /// L1 block time, seconds.
    pub l1_block_time: u64,
}

/// A node's role in the devnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The L1 dev chain.
    L1,
    /// The L2 sequencer with its batch poster.
    Sequencer,
    /// An L2 follower.
    Follower,
}

/// One process of the devnet, as `devnet.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetNode {
    /// `l1`, `sequencer`, `follower-<i>`.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its process id.
    pub pid: u32,
    /// Its HTTP (and WS) RPC URL.
    pub rpc: String,
    /// Its P2P port, on L2 nodes.
    pub p2p_port: Option<u16>,
    /// Its output.
    pub log: PathBuf,
}

/// `devnet.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetState {
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// The processes, L1 first.
    pub nodes: Vec<DevnetNode>,
}

impl DevnetState {
    fn path(datadir: &Path) -> PathBuf {
        datadir.join("devnet.json")
    }

    /// Reads `devnet.json`, if the devnet was ever started.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read or parsed.
    pub fn read(datadir: &Path) -> Result<Option<Self>, DevnetError> {
        let path = Self::path(datadir);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|err| DevnetError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(err),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DevnetError::Io { path: path.display().to_string(), source }),
        }
    }

    fn write(&self, datadir: &Path) -> Result<(), DevnetError> {
        let path = Self::path(datadir);
        let text = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        std::fs::write(&path, text)
            .map_err(|source| DevnetError::Io { path: path.display().to_string(), source })
    }
}

/// Whether process `pid` is alive (and not a zombie).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesized command name.
        Ok(stat) => {
            stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z")
        }
        Err(_) => false,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DevnetError + '_ {
    move |source| DevnetError::Io { path: path.display().to_string(), source }
}

/// Starts the devnet and waits until every node answers; returns what `devnet.json` records.
///
/// # Errors
///
/// A node of this devnet is still running (nothing is started then), a process cannot be
/// started, or a node does not become healthy within a minute (its log says why); on those
/// the nodes this call started are stopped again.
pub async fn up(config: &UpConfig) -> Result<DevnetState, DevnetError> {
    let datadir = &config.datadir;
    if let Some(state) = DevnetState::read(datadir)?
        && let Some(node) = state.nodes.iter().find(|node| is_alive(node.pid))
    {
        return Err(DevnetError::Local(format!(
            "{} (pid {}) of this devnet is running: `tributary devnet down` first",
            node.name, node.pid
        )));
    }
    let logs = datadir.join("logs");
    std::fs::create_dir_all(&logs).map_err(io_err(&logs))?;
    let ports = config.ports;
    let mut nodes = Vec::new();
    let mut state = DevnetState { l1_chain_id: 0, l2_chain_id: 0, nodes: Vec::new() };
    let result = async {
        let l1_url = format!("http://127.0.0.1:{}", ports.l1);
        let l1_args = vec![
            "l1".to_string(),
            "--dev".into(),
            "--block-time".into(),
            config.l1_block_time.to_string(),
            "--http.port".into(),
            ports.l1.to_string(),
            "--datadir".into(),
            datadir.join("l1").display().to_string(),
        ];
        nodes.push(spawn(config, "l1", Role::L1, l1_args, &l1_url, None)?);
        let l1 = tributary_l1::L1Client::new(&l1_url)?;
        wait_healthy(&nodes[0], Duration::from_secs(60)).await?;
        state.l1_chain_id = l1.chain_id().await?;

        let config_dir = datadir.join("config");
        if crate::Devnet::read(&config_dir)?.is_none() {
            let mut init = crate::InitConfig::dev();
            init.block_time = config.block_time;
            let devnet = crate::init(&l1, init).await?;
            devnet.write(&config_dir)?;
        }
        let devnet = crate::Devnet::read(&config_dir)?
            .ok_or_else(|| DevnetError::Local("devnet init wrote nothing".into()))?;
        state.l2_chain_id = devnet.rollup.l2_chain_id;

        let seq_url = format!("http://127.0.0.1:{}", ports.sequencer);
        let mut args = l2_args(datadir, "sequencer", &l1_url, ports.sequencer, ports.p2p);
        args.extend(["--sequencer".into(), "--batcher".into()]);
        // As OP chains post them: blobs, which `auto` picks on the dev L1.
        args.extend(["--batcher.data-availability-type".into(), "auto".into()]);
        let batcher = dev_signer(crate::DEV_BATCHER_INDEX).to_bytes();
        let signer = dev_signer(crate::DEV_SIGNER_INDEX).to_bytes();
        args.extend(["--batcher.private-key".into(), batcher.to_string()]);
        args.extend(["--p2p.sequencer.key".into(), signer.to_string()]);
        nodes.push(spawn(config, "sequencer", Role::Sequencer, args, &seq_url, Some(ports.p2p))?);
        wait_healthy(&nodes[1], Duration::from_secs(60)).await?;
        let peer_id = rpc(&seq_url, "opp2p_self", json!([]))
            .await
            .ok()
            .and_then(|me| me["peerID"].as_str().map(str::to_string))
            .ok_or_else(|| DevnetError::Local("the sequencer reports no peer id".into()))?;
        let sequencer_peer = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", ports.p2p);

        for index in 1..=config.followers {
            let name = format!("follower-{index}");
            let port = ports.follower(index);
            let p2p = ports.p2p + index as u16;
            let mut args = l2_args(datadir, &name, &l1_url, port, p2p);
            args.extend(["--p2p.static".into(), sequencer_peer.clone()]);
            args.extend(["--rollup.sequencer-http".into(), seq_url.clone()]);
            let url = format!("http://127.0.0.1:{port}");
            nodes.push(spawn(config, &name, Role::Follower, args, &url, Some(p2p))?);
        }
        for node in nodes.iter().skip(2) {
            wait_healthy(node, Duration::from_secs(60)).await?;
        }
        Ok::<(), DevnetError>(())
    }
    .await;
    state.nodes = nodes;
    if let Err(err) = result {
        // Stop what this call started; nothing else is touched.
        stop(&state.nodes).await;
        return Err(err);
    }
    state.write(datadir)?;
    Ok(state)
}

/// The arguments every L2 node of the devnet shares.
fn l2_args(datadir: &Path, name: &str, l1_url: &str, port: u16, p2p: u16) -> Vec<String> {
    let config = datadir.join("config");
    vec![
        "node".into(),
        "--chain".into(),
        config.join("genesis.json").display().to_string(),
        "--rollup.config".into(),
        config.join("rollup.json").display().to_string(),
        "--datadir".into(),
        datadir.join(name).display().to_string(),
        "--l1.rpc".into(),
        l1_url.into(),
        // The L1 dev chain's beacon API, on its RPC port: batches come in blobs.
        "--l1.beacon".into(),
        l1_url.into(),
        "--http.port".into(),
        port.to_string(),
        "--p2p.listen".into(),
        format!("127.0.0.1:{p2p}"),
    ]
}

fn spawn(
    config: &UpConfig,
    name: &str,
    role: Role,
    args: Vec<String>,
    rpc: &str,
    p2p_port: Option<u16>,
) -> Result<DevnetNode, DevnetError> {
    use std::os::unix::process::CommandExt;
    let log = config.datadir.join("logs").join(format!("{name}.log"));
    let file =
        std::fs::OpenOptions::new().create(true).append(true).open(&log).map_err(io_err(&log))?;
    let stderr = file.try_clone().map_err(io_err(&log))?;
    let child = Command::new(&config.binary)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        // Its own process group: Ctrl-C on `up` does not reach the devnet.
        .process_group(0)
        .spawn()
        .map_err(io_err(&config.binary))?;
    tracing::info!(target: "devnet", name, pid = child.id(), "started");
    Ok(DevnetNode { name: name.into(), role, pid: child.id(), rpc: rpc.into(), p2p_port, log })
}

async fn wait_healthy(node: &DevnetNode, timeout: Duration) -> Result<(), DevnetError> {
    let started = Instant::now();
    loop {
        if rpc(&node.rpc, "eth_blockNumber", json!([])).await.is_ok() {
            return Ok(());
        }
        if !is_alive(node.pid) || started.elapsed() > timeout {
            return Err(DevnetError::Local(format!(
                "{} did not come up; see {}",
                node.name,
                node.log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One JSON-RPC call over HTTP.
///
/// # Errors
///
/// The node does not answer, or answers with an error.
pub async fn rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
    use jsonrpsee::core::{client::ClientT, params::ArrayParams};
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build(url)
        .map_err(|err| err.to_string())?;
    let mut array = ArrayParams::new();
    for param in params.as_array().into_iter().flatten() {
        array.insert(param).map_err(|err| err.to_string())?;
    }
    client.request(method, array).await.map_err(|err| err.to_string())
}

/// One node's view, as `devnet status` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// The node.
    pub node: DevnetNode,
    /// The process is alive.
    pub alive: bool,
    /// `(unsafe, safe, finalized)` block numbers, when it answers.
    pub heads: Option<(u64, u64, u64)>,
    /// Connected P2P peers (L2 nodes).
    pub peers: Option<u64>,
}

/// Every node's heads and peers, and whether the L2 nodes agree: the same block hash at the
/// lowest safe head among them.
///
/// # Errors
///
/// The devnet was never started here.
pub async fn status(datadir: &Path) -> Result<(Vec<NodeStatus>, Option<bool>), DevnetError> {
    let state = DevnetState::read(datadir)?
        .ok_or_else(|| DevnetError::Local(format!("no devnet in {}", datadir.display())))?;
    let mut out = Vec::new();
    for node in state.nodes {
        let alive = is_alive(node.pid);
        let (heads, peers) = if alive { node_heads(&node).await } else { (None, None) };
        out.push(NodeStatus { node, alive, heads, peers });
    }
    let l2: Vec<&NodeStatus> = out.iter().filter(|s| s.node.role != Role::L1).collect();
    let lowest_safe = l2.iter().filter_map(|s| s.heads.map(|h| h.1)).min();
    let agree = match lowest_safe {
        Some(safe) if l2.iter().all(|s| s.heads.is_some()) => {
            let mut hashes = Vec::new();
            for s in &l2 {
                let block =
                    rpc(&s.node.rpc, "eth_getBlockByNumber", json!([format!("{safe:#x}"), false]))
                        .await
                        .ok();
                hashes.push(block.and_then(|b| b["hash"].as_str().map(str::to_string)));
            }
            Some(hashes.iter().all(|h| h.is_some() && *h == hashes[0]))
        }
        _ => None,
    };
    Ok((out, agree))
}

async fn node_heads(node: &DevnetNode) -> (Option<(u64, u64, u64)>, Option<u64>) {
    let number = |block: Result<Value, String>| {
        block.ok().and_then(|b| b["number"].as_str().and_then(parse_hex))
    };
    let mut heads = Vec::new();
    for tag in ["latest", "safe", "finalized"] {
        heads.push(number(rpc(&node.rpc, "eth_getBlockByNumber", json!([tag, false])).await));
    }
    let heads = match heads[..] {
        [Some(latest), safe, finalized] => {
            Some((latest, safe.unwrap_or_default(), finalized.unwrap_or_default()))
        }
        _ => None,
    };
    let peers = if node.role == Role::L1 {
        None
    } else {
        rpc(&node.rpc, "net_peerCount", json!([]))
            .await
            .ok()
            .and_then(|v| v.as_str().and_then(parse_hex))
    };
    (heads, peers)
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// Stops every node (SIGTERM, then SIGKILL after 20 s), followers first, and with `wipe`
/// deletes the datadir. Returns the nodes that were running.
///
/// # Errors
///
/// The devnet's files cannot be read or removed.
pub async fn down(datadir: &Path, wipe: bool) -> Result<Vec<String>, DevnetError> {
    let stopped = match DevnetState::read(datadir)? {
        Some(state) => stop(&state.nodes).await,
        None => Vec::new(),
    };
    if wipe && datadir.exists() {
        std::fs::remove_dir_all(datadir).map_err(io_err(datadir))?;
    }
    Ok(stopped)
}

/// SIGTERM to each live node, last first, then SIGKILL to any still up after 20 s; returns
/// the names of those that were running.
async fn stop(nodes: &[DevnetNode]) -> Vec<String> {
    let mut stopped = Vec::new();
    for node in nodes.iter().rev() {
        if !is_alive(node.pid) {
            continue;
        }
        signal(node.pid, "TERM");
        let started = Instant::now();
        while is_alive(node.pid) && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if is_alive(node.pid) {
            signal(node.pid, "KILL");
        }
        stopped.push(node.name.clone());
    }
    stopped
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill").args([format!("-{name}"), pid.to_string()]).status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_a_base_are_consecutive_and_bounded() {
        let ports = DevnetPorts::from_base(30_000, 2).unwrap();
        let all = [ports.l1, ports.sequencer, ports.follower(1), ports.follower(2)];
        assert_eq!(all, [30_000, 30_001, 30_002, 30_003]);
        assert_eq!(ports.p2p, 30_004, "sequencer P2P, then followers' at 30005 and 30006");
        assert!(ports.fit(2));
        assert!(DevnetPorts::from_base(65_530, 2).is_none(), "would pass 65535");
        assert!(DevnetPorts::DEFAULT.fit(50) && !DevnetPorts::DEFAULT.fit(60));
    }
}
