//! `eth_getLogs`, polled filters and WebSocket subscriptions.

use super::{EthHandler, convert::rpc_header};
use crate::reorg::Reorg;
use crate::{RpcError, error::code};
use alloy::rpc::types::{Filter, FilterBlockOption, FilterChanges, Log};
use alloy_primitives::{B256, U256, map::HashMap};
use jsonrpsee::{
    PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink, core::SubscriptionResult,
    types::ErrorObject,
};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::broadcast::{self, error::RecvError};
use tributary_primitives::SealedHeader;

/// Filters not polled for this long are dropped, as geth does.
const FILTER_TIMEOUT: Duration = Duration::from_secs(300);

/// `next`: the first block not reported yet; `reorgs`: the last reorg taken into account.
enum Kind {
    Blocks { next: u64, reorgs: u64 },
    Logs { filter: Box<Filter>, next: u64, reorgs: u64 },
    Pending(broadcast::Receiver<B256>),
}

struct Installed {
    kind: Kind,
    polled: Instant,
}

/// Filters installed with `eth_new*Filter`.
pub(crate) struct Filters {
    installed: Mutex<HashMap<U256, Installed>>,
    next_id: AtomicU64,
    max: usize,
}

impl Filters {
    pub(crate) fn new(max: usize) -> Self {
        Self { installed: Mutex::new(HashMap::default()), next_id: AtomicU64::new(1), max }
    }

    fn install(&self, kind: Kind) -> Result<U256, RpcError> {
        let mut installed = self.installed.lock();
        installed.retain(|_, f| f.polled.elapsed() < FILTER_TIMEOUT);
        if installed.len() >= self.max {
            return Err(RpcError::LimitExceeded(format!("too many filters (max {})", self.max)));
        }
        let id = U256::from(self.next_id.fetch_add(1, Ordering::Relaxed));
        installed.insert(id, Installed { kind, polled: Instant::now() });
        Ok(id)
    }

    pub(crate) fn install_logs(
        &self,
        filter: Filter,
        head: u64,
        reorgs: u64,
    ) -> Result<U256, RpcError> {
        self.install(Kind::Logs { filter: Box::new(filter), next: head + 1, reorgs })
    }

    pub(crate) fn install_blocks(&self, head: u64, reorgs: u64) -> Result<U256, RpcError> {
        self.install(Kind::Blocks { next: head + 1, reorgs })
    }

    pub(crate) fn install_pending(&self, rx: broadcast::Receiver<B256>) -> Result<U256, RpcError> {
        self.install(Kind::Pending(rx))
    }

    pub(crate) fn uninstall(&self, id: U256) -> bool {
        self.installed.lock().remove(&id).is_some()
    }

    pub(crate) fn log_filter(&self, id: U256) -> Result<Filter, RpcError> {
        match self.installed.lock().get(&id).map(|f| &f.kind) {
            Some(Kind::Logs { filter, .. }) => Ok((**filter).clone()),
            Some(_) => Err(RpcError::InvalidParams("not a log filter".into())),
            None => Err(RpcError::FilterNotFound),
        }
    }
}

impl EthHandler {
    /// The logs of block `number` that match `filter`, in RPC form.
    fn block_logs(&self, header: &SealedHeader, filter: &Filter) -> Result<Vec<Log>, RpcError> {
        if !filter.matches_bloom(header.logs_bloom) {
            return Ok(Vec::new());
        }
        let body = self.ctx.db.body(header.number)?.unwrap_or_default();
        let receipts = self.ctx.db.receipts(header.number)?.unwrap_or_default();
        Ok(matching_logs(header, &body, &receipts, filter, false))
    }

    /// Logs in `[from, to]`, bounded by the configured range and result count.
    fn logs_in_range(&self, filter: &Filter, from: u64, to: u64) -> Result<Vec<Log>, RpcError> {
        let config = &self.ctx.config;
        if to < from {
            return Err(RpcError::InvalidParams(format!("fromBlock {from} is after toBlock {to}")));
        }
        if to - from >= config.max_log_block_range {
            return Err(RpcError::LimitExceeded(format!(
                "query exceeds max block range {}",
                config.max_log_block_range
            )));
        }
        let mut logs = Vec::new();
        for number in from..=to {
            let header = self.sealed_header(number)?;
            logs.extend(self.block_logs(&header, filter)?);
            if logs.len() > config.max_logs {
                return Err(RpcError::LimitExceeded(format!(
                    "query exceeds max results {}",
                    config.max_logs
                )));
            }
        }
        Ok(logs)
    }

    pub(super) fn logs_inner(&self, filter: &Filter) -> Result<Vec<Log>, RpcError> {
        let head = self.ctx.db.head_number();
        match &filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let number = self.ctx.db.block_number(hash)?.ok_or(RpcError::HeaderNotFound)?;
                self.logs_in_range(filter, number, number)
            }
            FilterBlockOption::Range { from_block, to_block } => {
                let resolve = |tag: Option<alloy::eips::BlockNumberOrTag>| match tag {
                    None => head,
                    Some(tag) => self.resolve_tag(tag).unwrap_or(head),
                };
                let from = resolve(*from_block);
                let to = resolve(*to_block);
                self.logs_in_range(filter, from, to)
            }
        }
    }

    /// Where a polled filter goes on from: its next block, or the first block after a reorg's
    /// fork point if one came since; moves the filter to after `head`. Returns the reorgs
    /// since, and that block.
    fn resume(&self, next: &mut u64, reorgs: &mut u64, head: u64) -> (Vec<Arc<Reorg>>, u64) {
        let (since, latest) = self.ctx.reorgs.since(*reorgs);
        let from = since.iter().map(|r| r.to + 1).fold(*next, u64::min);
        (*next, *reorgs) = (head + 1, latest);
        (since, from)
    }

    pub(super) fn filter_changes_inner(&self, id: U256) -> Result<FilterChanges, RpcError> {
        let head = self.ctx.db.head_number();
        let mut installed = self.ctx.filters.installed.lock();
        let entry = installed.get_mut(&id).ok_or(RpcError::FilterNotFound)?;
        entry.polled = Instant::now();
        match &mut entry.kind {
            Kind::Blocks { next, reorgs } => {
                // After a reorg, the blocks from the fork point on are new.
                let (_, from) = self.resume(next, reorgs, head);
                drop(installed);
                let mut hashes = Vec::new();
                for number in from..=head {
                    hashes.extend(self.ctx.db.block_hash(number)?);
                }
                Ok(FilterChanges::Hashes(hashes))
            }
            Kind::Logs { filter, next, reorgs } => {
                let filter = (**filter).clone();
                let reported_until = *next;
                let (since, from) = self.resume(next, reorgs, head);
                drop(installed);
                // Logs already reported from blocks a reorg removed come back as removed.
                let mut logs: Vec<Log> = since
                    .iter()
                    .flat_map(|reorg| removed_logs(reorg, &filter))
                    .filter(|log| log.block_number.is_some_and(|n| n < reported_until))
                    .collect();
                if from <= head {
                    let to = match filter.get_to_block() {
                        Some(to) => to.min(head),
                        None => head,
                    };
                    let from = from.max(filter.get_from_block().unwrap_or(from));
                    if from <= to {
                        logs.extend(self.logs_in_range(&filter, from, to)?);
                    }
                }
                if logs.is_empty() {
                    return Ok(FilterChanges::Empty);
                }
                Ok(FilterChanges::Logs(logs))
            }
            Kind::Pending(rx) => {
                let mut hashes = Vec::new();
                loop {
                    match rx.try_recv() {
                        Ok(hash) => hashes.push(hash),
                        Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                        Err(_) => break,
                    }
                }
                Ok(FilterChanges::Hashes(hashes))
            }
        }
    }

    pub(super) async fn subscribe_inner(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        params: Option<Value>,
    ) -> SubscriptionResult {
        match kind.as_str() {
            "newHeads" => {
                // Listen before accepting: the client may act as soon as it has the id.
                let rx = self.ctx.blocks.subscribe();
                let sink = pending.accept().await?;
                tokio::spawn(forward(sink, rx, |block| vec![rpc_header(&block.header)]));
            }
            "logs" => {
                let filter: Filter = match params.map(serde_json::from_value).transpose() {
                    Ok(filter) => filter.unwrap_or_default(),
                    Err(err) => {
                        let message = format!("invalid logs filter: {err}");
                        pending
                            .reject(ErrorObject::owned(code::INVALID_PARAMS, message, None::<()>))
                            .await;
                        return Ok(());
                    }
                };
                let rx = self.ctx.blocks.subscribe();
                let reorgs = self.ctx.reorgs.subscribe();
                let sink = pending.accept().await?;
                let this = self.clone();
                tokio::spawn(forward_logs(sink, rx, reorgs, move |event| match event {
                    // Receipts come from RocksDB: keep the read off the async workers' hot path.
                    LogEvent::Block(block) => {
                        tokio::task::block_in_place(|| this.block_logs(&block.header, &filter))
                            .unwrap_or_default()
                    }
                    LogEvent::Reorg(reorg) => removed_logs(&reorg, &filter),
                }));
            }
            "newPendingTransactions" => {
                let rx = self.ctx.pool.subscribe();
                let sink = pending.accept().await?;
                tokio::spawn(forward(sink, rx, |hash| vec![hash]));
            }
            other => {
                let message = format!("unsupported subscription: {other}");
                pending.reject(ErrorObject::owned(code::INVALID_PARAMS, message, None::<()>)).await;
            }
        }
        Ok(())
    }
}

/// The logs of a block that `filter` matches, `removed` as given.
fn matching_logs(
    header: &SealedHeader,
    transactions: &[tributary_primitives::TxEnvelope],
    receipts: &[tributary_primitives::Receipt],
    filter: &Filter,
    removed: bool,
) -> Vec<Log> {
    if !filter.matches_bloom(header.logs_bloom) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut log_index = 0u64;
    for (index, (tx, receipt)) in transactions.iter().zip(receipts).enumerate() {
        for log in receipt.logs() {
            if filter.matches(log) {
                out.push(Log {
                    inner: log.clone(),
                    block_hash: Some(header.hash()),
                    block_number: Some(header.number),
                    block_timestamp: Some(header.timestamp),
                    transaction_hash: Some(tx.tx_hash()),
                    transaction_index: Some(index as u64),
                    log_index: Some(log_index),
                    removed,
                });
            }
            log_index += 1;
        }
    }
    out
}

/// The logs a reorg removed that `filter` matches, newest block first (as geth sends them).
fn removed_logs(reorg: &Reorg, filter: &Filter) -> Vec<Log> {
    reorg
        .blocks
        .iter()
        .rev()
        .flat_map(|block| {
            matching_logs(&block.header, &block.transactions, &block.receipts, filter, true)
        })
        .collect()
}

enum LogEvent {
    Block(Arc<tributary_storage::ExecutedBlock>),
    Reorg(Arc<Reorg>),
}

/// [`forward`] for log subscriptions: a reorg's removed logs go out before the logs of the
/// blocks that replace them (a reorg is announced before its first new block is committed).
async fn forward_logs(
    sink: SubscriptionSink,
    mut blocks: broadcast::Receiver<Arc<tributary_storage::ExecutedBlock>>,
    mut reorgs: broadcast::Receiver<Arc<Reorg>>,
    map: impl Fn(LogEvent) -> Vec<Log>,
) {
    loop {
        let event = tokio::select! {
            biased;
            _ = sink.closed() => break,
            reorg = reorgs.recv() => match reorg {
                Ok(reorg) => LogEvent::Reorg(reorg),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            block = blocks.recv() => match block {
                Ok(block) => LogEvent::Block(block),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
        };
        for log in map(event) {
            let Ok(raw) = serde_json::value::to_raw_value(&log) else { continue };
            if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                return;
            }
        }
    }
}

/// Sends what `map` makes of each broadcast item until the client goes away.
async fn forward<T: Clone, U: Serialize>(
    sink: SubscriptionSink,
    mut rx: broadcast::Receiver<T>,
    map: impl Fn(T) -> Vec<U>,
) {
    loop {
        tokio::select! {
            _ = sink.closed() => break,
            item = rx.recv() => match item {
                Ok(item) => {
                    for value in map(item) {
                        let Ok(raw) = serde_json::value::to_raw_value(&value) else { continue };
                        if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
        }
    }
}
