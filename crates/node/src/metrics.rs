//! Prometheus metrics: every number an operator might watch.

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::PrometheusBuilder;
use std::{net::SocketAddr, time::Duration};
use tributary_storage::ExecutedBlock;
use tributary_txpool::TxPool;

/// Serves `/metrics` on `addr`.
///
/// # Errors
///
/// The exporter cannot be installed (address in use, or installed twice).
pub fn install_exporter(addr: SocketAddr) -> Result<(), String> {
    PrometheusBuilder::new().with_http_listener(addr).install().map_err(|err| err.to_string())
}

/// The node's metrics. Recording is a no-op when no exporter is installed.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeMetrics;

impl NodeMetrics {
    /// After a block is committed.
    pub fn record_block(&self, block: &ExecutedBlock, elapsed: Duration, pool: &TxPool) {
        let header = &block.header;
        gauge!("tributary_head_block_number").set(header.number as f64);
        gauge!("tributary_head_block_timestamp").set(header.timestamp as f64);
        gauge!("tributary_head_base_fee_wei")
            .set(header.base_fee_per_gas.unwrap_or_default() as f64);
        counter!("tributary_blocks_total").increment(1);
        counter!("tributary_transactions_total").increment(block.body.len() as u64);
        counter!("tributary_gas_used_total").increment(header.gas_used);
        histogram!("tributary_block_build_seconds").record(elapsed.as_secs_f64());
        histogram!("tributary_block_transactions").record(block.body.len() as f64);
        let status = pool.status();
        gauge!("tributary_txpool_pending").set(status.pending as f64);
        gauge!("tributary_txpool_queued").set(status.queued as f64);
    }
}
