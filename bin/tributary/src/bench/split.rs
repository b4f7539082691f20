//! Where a benchmark's block path spent its time, summed over the timed blocks (`bench
//! import`, `bench derive`).

/// Seconds per stage, summed over the timed blocks; `total` is the whole path, so what the
/// stages do not cover prints as "other".
#[derive(Default, Clone, Copy)]
pub(crate) struct Split {
    /// Sender recovery not done ahead (and, deriving, decoding the batch's transactions).
    pub(crate) recover: f64,
    pub(crate) execute: f64,
    /// Waiting after execution for the parent's background write (`--persist background`).
    pub(crate) parent_write: f64,
    pub(crate) state_root: f64,
    pub(crate) commit: f64,
    pub(crate) total: f64,
}

impl Split {
    pub(crate) fn add(&mut self, timings: &tributary_evm::ImportTimings) {
        self.recover += timings.recover.as_secs_f64();
        self.execute += timings.execute.as_secs_f64();
        self.parent_write += timings.parent_write.as_secs_f64();
        self.state_root += timings.state_root.as_secs_f64();
    }

    pub(crate) fn print(&self, label: &str, blocks: usize) {
        let other = self.total
            - self.recover
            - self.execute
            - self.parent_write
            - self.state_root
            - self.commit;
        let per_block = |secs: f64| secs * 1e3 / blocks as f64;
        println!(
            "  {label} per block: recover {:.2} ms, execute {:.2} ms, wait for the parent's \
             write {:.2} ms, state root {:.2} ms, commit {:.2} ms, other {:.2} ms (total {:.2} ms)",
            per_block(self.recover),
            per_block(self.execute),
            per_block(self.parent_write),
            per_block(self.state_root),
            per_block(self.commit),
            per_block(other),
            per_block(self.total),
        );
    }
}

/// How a benchmark writes its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Persist {
    /// On a writer thread while the next block executes, as the node imports and derives.
    Background,
    /// In line, before the next block starts.
    Inline,
}

impl Persist {
    /// Writes `block` (as the node does in this mode); returns it, shared.
    pub(crate) fn commit(
        self,
        db: &tributary_storage::Database,
        block: tributary_storage::ExecutedBlock,
        root: tributary_storage::StateRootOutput,
    ) -> eyre::Result<std::sync::Arc<tributary_storage::ExecutedBlock>> {
        let block = std::sync::Arc::new(block);
        match self {
            Self::Background => {
                db.commit_block_in_background(block.clone(), root, Box::new(|_, _| {}))?
            }
            Self::Inline => db.commit_block(&block, root)?,
        }
        Ok(block)
    }
}
