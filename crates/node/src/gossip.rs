//! Unsafe blocks over P2P: the sequencer publishes each block it seals; a follower imports
//! the blocks it hears ahead of derivation.
//!
//! # Import on a follower
//!
//! Gossiped blocks wait in a bounded buffer by number. The child of the head is executed and
//! checked against its header (the same executor the sequencer seals with) and committed.
//! When the buffer starts above the head, the missing block just below it is fetched by
//! number, and must have the hash its child names as parent: only a chain that ends in a
//! signed block is taken. A block at or below the head that is not ours (the sequencer
//! replaced a block) replaces the unsafe chain from its height when its parent is ours; safe
//! blocks are never replaced from gossip, only by derivation.

use crate::{NodeError, SenderCache, sealer::BlockSealer, tasks::Shutdown};
use alloy_primitives::B256;
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{broadcast, mpsc};
use tributary_chainspec::ChainSpec;
use tributary_p2p::{BlockSource, P2pEvent, P2pHandle, block_from_parts};
use tributary_primitives::Block;
use tributary_rpc::SafetyHeads;
use tributary_storage::{Database, ExecutedBlock};

/// Unsafe blocks held ahead of the head, at most.
const MAX_BUFFERED: usize = 1024;
/// A block request unanswered this long is sent again.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Blocks older than this are not gossiped: receivers would reject them (60 s window).
const PUBLISH_MAX_AGE: u64 = 50;

/// Serves `payload_by_number` from the database.
pub(crate) struct DatabaseBlocks {
    pub(crate) db: Database,
    pub(crate) chain: Arc<ChainSpec>,
}

impl BlockSource for DatabaseBlocks {
    fn block(&self, number: u64) -> Option<(Block, B256)> {
        let header = self.db.sealed_header(number).ok()??;
        let body = self.db.body(number).ok()??;
        let hash = header.hash();
        Some((block_from_parts(&self.chain, header.into_inner(), body), hash))
    }
}

/// On the sequencer: gossips every block it commits while the block is recent.
pub(crate) async fn publish_blocks(
    mut blocks: broadcast::Receiver<Arc<ExecutedBlock>>,
    p2p: P2pHandle,
    chain: Arc<ChainSpec>,
    mut shutdown: Shutdown,
) -> Result<(), NodeError> {
    loop {
        let block = tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            block = blocks.recv() => block,
        };
        match block {
            Ok(block) => {
                if block.header.timestamp + PUBLISH_MAX_AGE < unix_now() {
                    continue;
                }
                let hash = block.header.hash();
                let full =
                    block_from_parts(&chain, block.header.inner().clone(), block.body.clone());
                p2p.publish(full, hash);
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(target: "p2p", missed, "publisher lagged; peers fetch the gap");
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

/// On a follower: imports gossiped blocks.
pub(crate) struct UnsafeImporter {
    pub(crate) sealer: BlockSealer,
    pub(crate) heads: Arc<SafetyHeads>,
    pub(crate) p2p: P2pHandle,
    pub(crate) events: mpsc::Receiver<P2pEvent>,
}

struct Buffer {
    blocks: BTreeMap<u64, (Block, B256)>,
    /// The block asked for, and when.
    fetching: Option<(u64, Instant)>,
    /// Senders of the block after the one being imported, recovered meanwhile.
    senders: Arc<SenderCache>,
    /// The highest block whose senders went to `senders`.
    prefetched: u64,
}

impl UnsafeImporter {
    pub(crate) async fn run(mut self, mut shutdown: Shutdown) -> Result<(), NodeError> {
        let mut buffer = Buffer {
            blocks: BTreeMap::new(),
            fetching: None,
            senders: SenderCache::new(),
            prefetched: 0,
        };
        let mut retry = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                event = self.events.recv() => match event {
                    Some(P2pEvent::Gossip { block, hash }) => {
                        metrics::gauge!("tributary_p2p_unsafe_gossip_head")
                            .set(block.header.number as f64);
                        buffer.insert(*block, hash);
                    }
                    Some(P2pEvent::Fetched { block, hash }) => {
                        if buffer.fetching.is_some_and(|(n, _)| n == block.header.number) {
                            buffer.fetching = None;
                        }
                        buffer.insert(*block, hash);
                    }
                    Some(P2pEvent::FetchFailed { number }) => {
                        if buffer.fetching.is_some_and(|(n, _)| n == number) {
                            buffer.fetching = None;
                        }
                        continue;
                    }
                    None => break,
                },
                _ = retry.tick() => {}
            }
            let sealer = self.sealer.clone();
            let heads = self.heads.clone();
            let fetch;
            (buffer, fetch) = tokio::task::spawn_blocking(move || {
                let fetch = import_ready(&sealer, &heads, &mut buffer);
                (buffer, fetch)
            })
            .await
            .map_err(|err| NodeError::Task(err.to_string()))?;
            if let Some((number, hash)) = fetch? {
                self.p2p.fetch(number, hash);
            }
        }
        Ok(())
    }
}

impl Buffer {
    fn insert(&mut self, block: Block, hash: B256) {
        let number = block.header.number;
        self.blocks.insert(number, (block, hash));
        while self.blocks.len() > MAX_BUFFERED {
            // Keep the lowest: they are what the head needs next.
            self.blocks.pop_last();
        }
    }

    /// Block `number`, which must hash to `hash`, to fetch now; None while a request for it
    /// is still in flight.
    fn want(&mut self, number: u64, hash: B256) -> Option<(u64, B256)> {
        if self.fetching.is_some_and(|(n, at)| n == number && at.elapsed() < FETCH_TIMEOUT) {
            return None;
        }
        self.fetching = Some((number, Instant::now()));
        Some((number, hash))
    }
}

/// Imports every buffered block that extends the head; returns the block to fetch next (its
/// number and the hash it must have), if the buffer does not reach down to the head.
fn import_ready(
    sealer: &BlockSealer,
    heads: &SafetyHeads,
    buffer: &mut Buffer,
) -> Result<Option<(u64, B256)>, NodeError> {
    let db = &sealer.db;
    loop {
        let safe = heads.safe();
        buffer.blocks.retain(|number, _| *number > safe);
        let Some((&lowest, (first, _))) = buffer.blocks.first_key_value() else {
            return Ok(None);
        };
        let parent_hash = first.header.parent_hash;
        // The tip: the block imported last may still be being written.
        let head = db.tip();
        if lowest > head.number + 1 {
            return Ok(buffer.want(lowest - 1, parent_hash));
        }
        if lowest == head.number + 1 && parent_hash != head.hash() {
            // The child of a block we do not have at the head: the head is not the
            // sequencer's. Fetch the sequencer's block at the head's height (it replaces ours
            // when it arrives); a safe head is never replaced from gossip.
            if head.number > safe {
                return Ok(buffer.want(head.number, parent_hash));
            }
            tracing::warn!(
                target: "node::gossip",
                number = lowest,
                "a gossiped block does not extend the safe chain; dropped"
            );
            buffer.blocks.remove(&lowest);
            continue;
        }
        let Some((block, hash)) = buffer.blocks.remove(&lowest) else { return Ok(None) };
        if lowest <= head.number {
            db.wait_persisted()?;
        }
        if db.block_hash(lowest)? == Some(hash) {
            continue;
        }
        // Catching up (the next block is here too): its senders are recovered while this one
        // executes. At the tip there is no next block, and nothing is recovered twice.
        if let Some((next, _)) = buffer.blocks.get(&(lowest + 1))
            && buffer.prefetched < lowest + 1
        {
            buffer.senders.prefetch_decoded(next.body.transactions.clone());
            buffer.prefetched = lowest + 1;
        }
        match sealer.import(&block, Some(&buffer.senders)) {
            Ok(Some(imported)) => {
                metrics::gauge!("tributary_unsafe_head").set(imported.header.number as f64);
            }
            Ok(None) => {}
            Err(NodeError::Execution(err)) => {
                tracing::warn!(
                    target: "node::gossip",
                    number = lowest,
                    %hash,
                    %err,
                    "a signed block does not execute; dropped"
                );
            }
            Err(err) => return Err(err),
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
