//! What a load run saw, and how it prints.

use alloy_primitives::{Address, B256};
use std::{collections::BTreeMap, fmt, time::Duration};

/// One sender's nonce at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderNonce {
    /// The sender.
    pub address: Address,
    /// Transactions planned for it.
    pub planned: u64,
    /// Of those, how many the node acknowledged with a hash.
    pub acknowledged: u64,
    /// Of those whose send got no answer, how many were mined all the same.
    pub unanswered_mined: u64,
    /// Its nonce at the head after the run.
    pub final_nonce: u64,
}

impl SenderNonce {
    /// Whether every acknowledged transaction of this sender was mined (and nothing else):
    /// senders start at nonce 0, so the final nonce must equal the acknowledged count plus the
    /// unanswered sends that were mined anyway.
    pub fn is_right(&self) -> bool {
        self.final_nonce == self.acknowledged.saturating_add(self.unanswered_mined)
    }
}

/// The accounting of one load run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Transactions sent.
    pub sent: usize,
    /// Hashes the node acknowledged.
    pub accepted: Vec<B256>,
    /// The node's messages for the transactions it refused.
    pub refused: Vec<String>,
    /// Sends that got no answer (a timeout or a broken connection).
    pub unanswered: Vec<String>,
    /// Acknowledged transactions with a receipt.
    pub included: usize,
    /// Of those, how many reverted.
    pub reverted: usize,
    /// Acknowledged transactions with no receipt after the chain moved on.
    pub lost: Vec<B256>,
    /// Of the lost, how many `eth_getTransactionByHash` still knows (waiting, not vanished).
    pub still_pooled: usize,
    /// From the first send to the last answer.
    pub send_duration: Duration,
    /// From the first send to the first poll that saw the last of ours in a block.
    pub include_duration: Option<Duration>,
    /// Send-to-block latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Every sender's final nonce.
    pub senders: Vec<SenderNonce>,
}

impl LoadReport {
    /// Acknowledged transactions per second of sending.
    pub fn accepted_per_sec(&self) -> f64 {
        per_sec(self.accepted.len(), Some(self.send_duration))
    }

    /// Included transactions per second, from the first send to the last inclusion.
    pub fn included_per_sec(&self) -> f64 {
        per_sec(self.included, self.include_duration)
    }

    /// The `p`-th percentile (0..=100) of the send-to-block latency.
    pub fn latency_percentile(&self, p: f64) -> Option<Duration> {
        let last = self.latencies.len().checked_sub(1)?;
        let rank = ((p / 100.0) * last as f64).round() as usize;
        self.latencies.get(rank.min(last)).copied()
    }

    /// Senders whose final nonce is not the count of their acknowledged transactions.
    pub fn wrong_nonces(&self) -> Vec<&SenderNonce> {
        self.senders.iter().filter(|s| !s.is_right()).collect()
    }

    /// Nothing acknowledged went missing, every sender's nonce is right, and every send was
    /// answered (an unanswered one leaves the run unable to vouch for it).
    pub fn is_lossless(&self) -> bool {
        self.lost.is_empty() && self.wrong_nonces().is_empty() && self.unanswered.is_empty()
    }
}

fn per_sec(count: usize, over: Option<Duration>) -> f64 {
    match over {
        Some(over) if !over.is_zero() => count as f64 / over.as_secs_f64(),
        _ => 0.0,
    }
}

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "-".into(), |d| format!("{:.3} s", d.as_secs_f64()))
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let right = self.senders.len() - self.wrong_nonces().len();
        writeln!(f, "sent            {}", self.sent)?;
        writeln!(
            f,
            "accepted        {} (refused {}, unanswered {})",
            self.accepted.len(),
            self.refused.len(),
            self.unanswered.len()
        )?;
        writeln!(f, "included        {} (reverted {})", self.included, self.reverted)?;
        writeln!(
            f,
            "lost            {} (still in the pool {}, vanished {})",
            self.lost.len(),
            self.still_pooled,
            self.lost.len() - self.still_pooled
        )?;
        writeln!(f, "nonces right    {right}/{} senders", self.senders.len())?;
        writeln!(
            f,
            "accepted tx/s   {:.1} ({} in {})",
            self.accepted_per_sec(),
            self.accepted.len(),
            seconds(Some(self.send_duration))
        )?;
        writeln!(
            f,
            "included tx/s   {:.1} (first send to last inclusion {})",
            self.included_per_sec(),
            seconds(self.include_duration)
        )?;
        writeln!(
            f,
            "latency         p50 {}, p99 {}, max {}",
            seconds(self.latency_percentile(50.0)),
            seconds(self.latency_percentile(99.0)),
            seconds(self.latencies.last().copied())
        )?;
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for message in self.refused.iter().chain(&self.unanswered) {
            *reasons.entry(message.as_str()).or_default() += 1;
        }
        for (message, count) in reasons.iter().take(5) {
            writeln!(f, "  {count} x {message}")?;
        }
        let ratio = if self.accepted_per_sec() > 0.0 {
            self.included_per_sec() / self.accepted_per_sec()
        } else {
            0.0
        };
        write!(f, "ratio: {ratio:.3} (included tx/s / accepted tx/s)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(latencies_ms: &[u64]) -> LoadReport {
        LoadReport {
            sent: 4,
            accepted: vec![B256::ZERO; 4],
            refused: Vec::new(),
            unanswered: Vec::new(),
            included: 4,
            reverted: 0,
            lost: Vec::new(),
            still_pooled: 0,
            send_duration: Duration::from_secs(2),
            include_duration: Some(Duration::from_secs(4)),
            latencies: latencies_ms.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            senders: vec![SenderNonce {
                address: Address::ZERO,
                planned: 4,
                acknowledged: 4,
                unanswered_mined: 0,
                final_nonce: 4,
            }],
        }
    }

    #[test]
    fn rates_percentiles_and_losses() {
        let mut r = report(&[100, 200, 300, 400, 500]);
        assert_eq!(r.accepted_per_sec(), 2.0);
        assert_eq!(r.included_per_sec(), 1.0);
        assert_eq!(r.latency_percentile(50.0), Some(Duration::from_millis(300)));
        assert_eq!(r.latency_percentile(99.0), Some(Duration::from_millis(500)));
        assert!(r.is_lossless());
        assert!(r.to_string().ends_with("ratio: 0.500 (included tx/s / accepted tx/s)"));

        r.senders[0].final_nonce = 3;
        assert!(!r.is_lossless(), "a sender one nonce short lost a transaction");
        r.senders[0].final_nonce = 4;
        r.lost.push(B256::ZERO);
        assert!(!r.is_lossless());
        r.lost.clear();
        r.unanswered.push("connection reset".into());
        assert!(!r.is_lossless(), "an unanswered send cannot be vouched for");
        assert_eq!(report(&[]).latency_percentile(50.0), None);
    }
}
