//! The swarm task: one tokio task owns the libp2p swarm, validates gossip, serves and sends
//! block requests, scores and bans peers. The node talks to it through [`P2pHandle`] and hears
//! from it through a channel of [`P2pEvent`].

use crate::{
    BlockSource, P2pConfig,
    gossip::{BlockValidator, Verdict, block_topic, encode_message, message_id},
    payload::{BlockVersion, decode_payload, encode_payload},
    sync::{PayloadByNumberCodec, PayloadResponse, sync_protocol},
};
use alloy_primitives::B256;
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, allow_block_list, gossipsub, identify,
    multiaddr::Protocol,
    noise, ping,
    request_response::{self, OutboundRequestId, ProtocolSupport},
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, yamux,
};
use parking_lot::RwLock;
use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tributary_primitives::Block;

/// A peer at or below this gossip score is disconnected and banned (op-node's default).
pub const BAN_THRESHOLD: f64 = -100.0;
/// How long a ban lasts.
pub const BAN_DURATION: Duration = Duration::from_secs(3600);
/// Block requests a peer may make per second (and in a burst).
const REQUESTS_PER_SECOND: f64 = 20.0;
const REQUEST_BURST: f64 = 40.0;
/// Score added for a block request answered with the wrong block (op-node's weight).
const BAD_RESPONSE_SCORE: f64 = -20.0;
/// How often static peers are redialled and scores checked.
const MAINTENANCE: Duration = Duration::from_secs(2);

/// Network errors at start.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The transport, behaviour or listener could not be set up.
    #[error("p2p: {0}")]
    Setup(String),
}

/// What the network tells the node.
#[derive(Debug)]
pub enum P2pEvent {
    /// A signed block from gossip: valid, and new at its height.
    Gossip {
        /// The block.
        block: Box<Block>,
        /// Its hash (checked).
        hash: B256,
    },
    /// A block fetched by number, with the hash that was asked for.
    Fetched {
        /// The block.
        block: Box<Block>,
        /// Its hash (the requested one).
        hash: B256,
    },
    /// A request for `number` failed (no peer, no block, or a wrong answer).
    FetchFailed {
        /// The block number asked for.
        number: u64,
    },
}

/// A peer as the node reports it (`opp2p_peers`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    /// Peer id.
    pub peer_id: String,
    /// The address of its connection (or the last one).
    pub address: String,
    /// Connected now.
    pub connected: bool,
    /// Its gossipsub score (negative for peers that sent invalid blocks).
    pub gossip_score: f64,
    /// Gossip messages and block responses of it that were rejected.
    pub rejected: u64,
    /// Banned (disconnected and refused) until the ban ends.
    pub banned: bool,
    /// Its identify agent version.
    pub agent: Option<String>,
}

/// The network as the node reports it (`opp2p_self`, `opp2p_peers`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStatus {
    /// Our peer id.
    pub peer_id: String,
    /// Where we listen, each with `/p2p/<peer id>`.
    pub listen_addrs: Vec<String>,
    /// Known peers.
    pub peers: Vec<PeerStatus>,
}

impl NetworkStatus {
    /// Peers connected now.
    pub fn connected(&self) -> usize {
        self.peers.iter().filter(|peer| peer.connected).count()
    }
}

enum Command {
    Publish(Box<Block>, B256),
    Fetch { number: u64, hash: B256 },
}

/// The node's side of the network.
#[derive(Debug, Clone)]
pub struct P2pHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: Arc<RwLock<NetworkStatus>>,
}

impl P2pHandle {
    /// Signs and gossips a block (on the sequencer; elsewhere it is not sent).
    pub fn publish(&self, block: Block, hash: B256) {
        let _ = self.commands.send(Command::Publish(Box::new(block), hash));
    }

    /// Asks a peer for block `number`, which must hash to `hash`; the answer comes as
    /// [`P2pEvent::Fetched`] or [`P2pEvent::FetchFailed`].
    pub fn fetch(&self, number: u64, hash: B256) {
        let _ = self.commands.send(Command::Fetch { number, hash });
    }

    /// The network now.
    pub fn status(&self) -> NetworkStatus {
        self.status.read().clone()
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    sync: request_response::Behaviour<PayloadByNumberCodec>,
}

#[derive(Debug)]
struct PeerRecord {
    address: Multiaddr,
    connections: u32,
    rejected: u64,
    app_score: f64,
    banned_until: Option<Instant>,
    agent: Option<String>,
    requests: TokenBucket,
}

#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn full() -> Self {
        Self { tokens: REQUEST_BURST, at: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * REQUESTS_PER_SECOND;
        self.tokens = (self.tokens + refill).min(REQUEST_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The running network; [`P2pNetwork::run`] drives it.
pub struct P2pNetwork<S> {
    swarm: Swarm<Behaviour>,
    config: P2pConfig,
    source: S,
    validator: BlockValidator,
    topics: HashMap<gossipsub::TopicHash, BlockVersion>,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<P2pEvent>,
    status: Arc<RwLock<NetworkStatus>>,
    peers: HashMap<PeerId, PeerRecord>,
    fetches: HashMap<OutboundRequestId, (u64, B256, PeerId)>,
    next_peer: usize,
}

impl<S: BlockSource> P2pNetwork<S> {
    /// Builds the swarm, starts listening (and waits until it does) and dials the bootnodes
    /// and static peers.
    ///
    /// # Errors
    ///
    /// The listen address cannot be bound, or the libp2p setup fails.
    pub async fn start(
        config: P2pConfig,
        source: S,
    ) -> Result<(Self, P2pHandle, mpsc::Receiver<P2pEvent>), P2pError> {
        let setup = |err: &dyn std::fmt::Display| P2pError::Setup(err.to_string());
        let chain_id = config.chain.chain_id();
        let gossipsub = gossipsub_behaviour(chain_id).map_err(|err| setup(&err))?;
        let identify = identify::Behaviour::new(
            identify::Config::new("/opstack/1".into(), config.key.public())
                .with_agent_version(format!("tributary/{}", env!("CARGO_PKG_VERSION"))),
        );
        let sync = request_response::Behaviour::with_codec(
            PayloadByNumberCodec,
            [(sync_protocol(chain_id), ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
        );
        let behaviour = Behaviour {
            blocked: Default::default(),
            gossipsub,
            identify,
            ping: ping::Behaviour::default(),
            sync,
        };
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.key.clone())
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|err| setup(&err))?
            .with_dns()
            .map_err(|err| setup(&err))?
            .with_behaviour(|_| behaviour)
            .map_err(|err| setup(&err))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
            .build();

        let mut topics = HashMap::new();
        for version in BlockVersion::ALL {
            let topic = gossipsub::IdentTopic::new(block_topic(chain_id, version));
            swarm.behaviour_mut().gossipsub.subscribe(&topic).map_err(|err| setup(&err))?;
            topics.insert(topic.hash(), version);
        }
        let listen = Multiaddr::from(config.listen.ip()).with(Protocol::Tcp(config.listen.port()));
        swarm.listen_on(listen).map_err(|err| setup(&err))?;
        let peer_id = *swarm.local_peer_id();
        let mut listen_addrs = Vec::new();
        let started = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => {
                        listen_addrs.push(address);
                        return Ok(());
                    }
                    SwarmEvent::ListenerError { error, .. } => return Err(error.to_string()),
                    SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                        return Err(error.to_string());
                    }
                    _ => {}
                }
            }
        })
        .await;
        match started {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                return Err(P2pError::Setup(format!("listen on {}: {err}", config.listen)));
            }
            Err(_) => {
                return Err(P2pError::Setup(format!("listen on {}: timed out", config.listen)));
            }
        }
        let status = Arc::new(RwLock::new(NetworkStatus {
            peer_id: peer_id.to_string(),
            listen_addrs: listen_addrs
                .iter()
                .map(|addr| addr.clone().with(Protocol::P2p(peer_id)).to_string())
                .collect(),
            peers: Vec::new(),
        }));
        tracing::info!(
            target: "p2p",
            %peer_id,
            listen = ?status.read().listen_addrs,
            sequencer = config.sequencer_key.is_some(),
            "p2p listening"
        );
        for addr in config.bootnodes.iter().chain(&config.static_peers) {
            if let Err(err) = swarm.dial(addr.clone()) {
                tracing::warn!(target: "p2p", %addr, %err, "cannot dial");
            }
        }
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::channel(1024);
        let validator = BlockValidator::new(config.chain.clone(), config.unsafe_block_signer);
        let network = Self {
            swarm,
            config,
            source,
            validator,
            topics,
            commands,
            events,
            status: status.clone(),
            peers: HashMap::new(),
            fetches: HashMap::new(),
            next_peer: 0,
        };
        Ok((network, P2pHandle { commands: commands_tx, status }, events_rx))
    }

    /// Drives the swarm until `shutdown` resolves.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut maintenance = tokio::time::interval(MAINTENANCE);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(command) = self.commands.recv() => self.on_command(command),
                _ = maintenance.tick() => self.maintain(),
            }
        }
        tracing::info!(target: "p2p", "p2p stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish(block, hash) => self.publish(&block, hash),
            Command::Fetch { number, hash } => self.fetch(number, hash),
        }
    }

    fn publish(&mut self, block: &Block, hash: B256) {
        let Some(key) = &self.config.sequencer_key else { return };
        let chain_id = self.config.chain.chain_id();
        let version = BlockVersion::at(&self.config.chain, block.header.timestamp);
        let message = match encode_message(block, hash, chain_id, key) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(target: "p2p::gossip", %err, "cannot encode a block");
                return;
            }
        };
        let topic = gossipsub::IdentTopic::new(block_topic(chain_id, version));
        match self.swarm.behaviour_mut().gossipsub.publish(topic, message) {
            Ok(_) => {
                metrics::counter!("tributary_p2p_blocks_published_total").increment(1);
                tracing::debug!(target: "p2p::gossip", number = block.header.number, %hash, "published block");
            }
            Err(err) => {
                tracing::debug!(target: "p2p::gossip", number = block.header.number, %err, "block not published");
            }
        }
    }

    fn fetch(&mut self, number: u64, hash: B256) {
        let candidates: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, peer)| peer.connections > 0 && peer.banned_until.is_none())
            .map(|(id, _)| *id)
            .collect();
        if candidates.is_empty() {
            let _ = self.events.try_send(P2pEvent::FetchFailed { number });
            return;
        }
        self.next_peer = self.next_peer.wrapping_add(1);
        let peer = candidates[self.next_peer % candidates.len()];
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, number);
        self.fetches.insert(id, (number, hash, peer));
        metrics::counter!("tributary_p2p_block_requests_total", "side" => "sent").increment(1);
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.agent = Some(info.agent_version);
                }
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                let address = endpoint.get_remote_address().clone();
                let peer = self.peers.entry(peer_id).or_insert_with(|| PeerRecord {
                    address: address.clone(),
                    connections: 0,
                    rejected: 0,
                    app_score: 0.0,
                    banned_until: None,
                    agent: None,
                    requests: TokenBucket::full(),
                });
                peer.address = address;
                peer.connections += 1;
                if peer.connections == 1 {
                    tracing::info!(target: "p2p", %peer_id, address = %peer.address, "peer connected");
                }
                self.publish_status();
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.connections = num_established;
                }
                if num_established == 0 {
                    tracing::info!(target: "p2p", %peer_id, "peer disconnected");
                }
                self.publish_status();
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(target: "p2p", ?peer_id, %error, "dial failed");
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message { propagation_source, message_id, message } = event else {
            return;
        };
        let Some(version) = self.topics.get(&message.topic).copied() else {
            self.report(
                &message_id,
                &propagation_source,
                gossipsub::MessageAcceptance::Reject,
                "unknown topic",
            );
            return;
        };
        let verdict = self.validator.validate(version, &message.data, unix_now());
        match verdict {
            Verdict::Accept(block, hash) => {
                tracing::debug!(
                    target: "p2p::gossip",
                    number = block.header.number,
                    %hash,
                    peer = %propagation_source,
                    "gossiped block"
                );
                self.report(
                    &message_id,
                    &propagation_source,
                    gossipsub::MessageAcceptance::Accept,
                    "",
                );
                if self.events.try_send(P2pEvent::Gossip { block, hash }).is_err() {
                    tracing::warn!(target: "p2p::gossip", "the node is behind on blocks; one dropped (it will be fetched)");
                }
            }
            Verdict::Ignore(reason) => {
                self.report(
                    &message_id,
                    &propagation_source,
                    gossipsub::MessageAcceptance::Ignore,
                    &reason,
                );
            }
            Verdict::Reject(reason) => {
                tracing::warn!(
                    target: "p2p::gossip",
                    peer = %propagation_source,
                    %reason,
                    "rejected a gossiped block"
                );
                if let Some(peer) = self.peers.get_mut(&propagation_source) {
                    peer.rejected += 1;
                }
                self.report(
                    &message_id,
                    &propagation_source,
                    gossipsub::MessageAcceptance::Reject,
                    &reason,
                );
                self.publish_status();
            }
        }
    }

    fn report(
        &mut self,
        id: &gossipsub::MessageId,
        peer: &PeerId,
        acceptance: gossipsub::MessageAcceptance,
        reason: &str,
    ) {
        let result = match acceptance {
            gossipsub::MessageAcceptance::Accept => "accept",
            gossipsub::MessageAcceptance::Ignore => "ignore",
            gossipsub::MessageAcceptance::Reject => "reject",
        };
        metrics::counter!("tributary_p2p_gossip_messages_total", "result" => result).increment(1);
        if !reason.is_empty() {
            tracing::debug!(target: "p2p::gossip", %peer, result, reason, "gossip verdict");
        }
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(id, peer, acceptance);
    }

    fn on_sync(&mut self, event: request_response::Event<u64, PayloadResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    let response = self.serve(&peer, request);
                    let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
                    metrics::counter!("tributary_p2p_block_requests_total", "side" => "served")
                        .increment(1);
                }
                request_response::Message::Response { request_id, response } => {
                    let Some((number, hash, peer)) = self.fetches.remove(&request_id) else {
                        return;
                    };
                    self.on_fetched(number, hash, peer, response);
                }
            },
            request_response::Event::OutboundFailure { request_id, error, peer, .. } => {
                if let Some((number, _, _)) = self.fetches.remove(&request_id) {
                    tracing::debug!(target: "p2p::sync", %peer, number, %error, "block request failed");
                    let _ = self.events.try_send(P2pEvent::FetchFailed { number });
                }
            }
            _ => {}
        }
    }

    fn serve(&mut self, peer: &PeerId, number: u64) -> PayloadResponse {
        let allowed = self.peers.get_mut(peer).is_some_and(|record| record.requests.take());
        if !allowed {
            return PayloadResponse::InvalidRequest;
        }
        match self.source.block(number) {
            Some((block, hash)) => {
                let version = BlockVersion::at(&self.config.chain, block.header.timestamp);
                PayloadResponse::Found {
                    version: u32::from(version.has_beacon_root()),
                    payload: encode_payload(&block, hash),
                }
            }
            None => PayloadResponse::NotFound,
        }
    }

    fn on_fetched(&mut self, number: u64, hash: B256, peer: PeerId, response: PayloadResponse) {
        let PayloadResponse::Found { version, payload } = response else {
            tracing::debug!(target: "p2p::sync", %peer, number, ?response, "no block");
            let _ = self.events.try_send(P2pEvent::FetchFailed { number });
            return;
        };
        // Version 1 is V3 or V4 and version 0 is V1 or V2; the block's timestamp decides,
        // and decoding checks it.
        let versions: &[BlockVersion] = match version {
            0 => &[BlockVersion::V2, BlockVersion::V1],
            1 => &[BlockVersion::V4, BlockVersion::V3],
            _ => &[],
        };
        let decoded = versions
            .iter()
            .find_map(|version| decode_payload(&self.config.chain, *version, &payload).ok());
        match decoded {
            Some((block, got)) if got == hash && block.header.number == number => {
                let _ = self.events.try_send(P2pEvent::Fetched { block: Box::new(block), hash });
            }
            _ => {
                tracing::warn!(target: "p2p::sync", %peer, number, "a peer answered with the wrong block");
                if let Some(record) = self.peers.get_mut(&peer) {
                    record.rejected += 1;
                    record.app_score += BAD_RESPONSE_SCORE;
                    let score = record.app_score;
                    self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, score);
                }
                self.publish_status();
                let _ = self.events.try_send(P2pEvent::FetchFailed { number });
            }
        }
    }

    /// Bans peers whose score fell to [`BAN_THRESHOLD`], lifts expired bans, redials static
    /// peers, and refreshes the status.
    fn maintain(&mut self) {
        let now = Instant::now();
        let mut to_ban = Vec::new();
        for (id, peer) in &mut self.peers {
            if let Some(until) = peer.banned_until
                && until <= now
            {
                peer.banned_until = None;
                self.swarm.behaviour_mut().blocked.unblock_peer(*id);
            }
            let score = self.swarm.behaviour().gossipsub.peer_score(id).unwrap_or(0.0);
            if peer.banned_until.is_none() && score <= BAN_THRESHOLD {
                to_ban.push((*id, score));
            }
        }
        for (id, score) in to_ban {
            tracing::warn!(target: "p2p", peer = %id, score, "banning a peer for its score");
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.banned_until = Some(now + BAN_DURATION);
            }
            self.swarm.behaviour_mut().blocked.block_peer(id);
        }
        let connected: HashSet<PeerId> =
            self.peers.iter().filter(|(_, peer)| peer.connections > 0).map(|(id, _)| *id).collect();
        for addr in &self.config.static_peers {
            let peer = addr.iter().find_map(|p| match p {
                Protocol::P2p(id) => Some(id),
                _ => None,
            });
            let wanted = match peer {
                Some(id) => !connected.contains(&id),
                None => connected.is_empty(),
            };
            if wanted {
                let _ = self.swarm.dial(addr.clone());
            }
        }
        self.publish_status();
    }

    fn publish_status(&mut self) {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mut peers: Vec<PeerStatus> = self
            .peers
            .iter()
            .map(|(id, peer)| PeerStatus {
                peer_id: id.to_string(),
                address: peer.address.to_string(),
                connected: peer.connections > 0,
                gossip_score: gossipsub.peer_score(id).unwrap_or(0.0),
                rejected: peer.rejected,
                banned: peer.banned_until.is_some(),
                agent: peer.agent.clone(),
            })
            .collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        let connected = peers.iter().filter(|peer| peer.connected).count();
        metrics::gauge!("tributary_p2p_peers").set(connected as f64);
        self.status.write().peers = peers;
    }
}

/// Gossipsub as op-node configures it: anonymous messages, op-node's message ids, its mesh
/// sizes and timings, 10 MiB messages, application validation, and peer scoring in which a
/// rejected block costs its sender 200 points, past the ban threshold (-100).
fn gossipsub_behaviour(chain_id: u64) -> Result<gossipsub::Behaviour, String> {
    let config = gossipsub::ConfigBuilder::default()
        .mesh_n(8)
        .mesh_n_low(6)
        .mesh_n_high(12)
        .gossip_lazy(6)
        .heartbeat_interval(Duration::from_millis(500))
        .fanout_ttl(Duration::from_secs(24))
        .history_length(12)
        .history_gossip(3)
        .duplicate_cache_time(Duration::from_secs(65))
        .max_transmit_size(crate::gossip::MAX_GOSSIP_SIZE)
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::new(&message_id(message.topic.as_str(), &message.data))
        })
        .build()
        .map_err(|err| err.to_string())?;
    let mut behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)?;
    let mut params = gossipsub::PeerScoreParams {
        app_specific_weight: 1.0,
        ip_colocation_factor_weight: -35.0,
        ip_colocation_factor_threshold: 10.0,
        behaviour_penalty_weight: -16.0,
        behaviour_penalty_threshold: 6.0,
        decay_interval: Duration::from_secs(2),
        decay_to_zero: 0.01,
        retain_score: Duration::from_secs(2 * 6 * 100),
        ..Default::default()
    };
    params.ip_colocation_factor_whitelist.insert(std::net::Ipv4Addr::LOCALHOST.into());
    for version in BlockVersion::ALL {
        let topic = gossipsub::IdentTopic::new(block_topic(chain_id, version));
        params.topics.insert(
            topic.hash(),
            gossipsub::TopicScoreParams {
                topic_weight: 0.2,
                time_in_mesh_weight: 0.00027,
                time_in_mesh_quantum: Duration::from_secs(1),
                time_in_mesh_cap: 1.0,
                first_message_deliveries_weight: 5.0,
                first_message_deliveries_decay: 0.9998,
                first_message_deliveries_cap: 100.0,
                // Followers never publish: no penalty for delivering nothing.
                mesh_message_deliveries_weight: 0.0,
                mesh_failure_penalty_weight: 0.0,
                invalid_message_deliveries_weight: -1000.0,
                invalid_message_deliveries_decay: 0.9998,
                ..Default::default()
            },
        );
    }
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -40.0,
        graylist_threshold: -40.0,
        accept_px_threshold: 20.0,
        opportunistic_graft_threshold: 0.05,
    };
    behaviour.with_peer_score(params, thresholds)?;
    Ok(behaviour)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
