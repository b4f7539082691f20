//! Where a benchmark's block path spent its time, summed over the timed blocks (`bench
//! import`, `bench derive`).

/// Seconds per stage, summed over the timed blocks; `total` is the whole path, so what the
/// stages do not cover prints as "other".
#[derive(Default, Clone, Copy)]
pub(crate) struct Split {
    /// Sender recovery not done ahead (and, deriving, decoding the batch's transactions).
    pub(crate) recover: f64,
    pub(crate) execute: f64,
    pub(crate) state_root: f64,
    pub(crate) commit: f64,
    pub(crate) total: f64,
}

impl Split {
    pub(crate) fn add(&mut self, timings: &tributary_evm::ImportTimings) {
        self.recover += timings.recover.as_secs_f64();
        self.execute += timings.execute.as_secs_f64();
        self.state_root += timings.state_root.as_secs_f64();
    }

    pub(crate) fn print(&self, label: &str, blocks: usize) {
        let other = self.total - self.recover - self.execute - self.state_root - self.commit;
        let per_block = |secs: f64| secs * 1e3 / blocks as f64;
        println!(
            "  {label} per block: recover {:.2} ms, execute {:.2} ms, state root {:.2} ms, \
             commit {:.2} ms, other {:.2} ms (total {:.2} ms)",
            per_block(self.recover),
            per_block(self.execute),
            per_block(self.state_root),
            per_block(self.commit),
            per_block(other),
            per_block(self.total),
        );
    }
}
