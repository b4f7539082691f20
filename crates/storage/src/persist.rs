//! Writing a block while the next one executes.
//!
//! A block's `WriteBatch` (some 20 000 rows for 2 000 transfers) takes about as long as
//! executing the next block. [`Database::commit_block_in_background`] hands the write to a
//! thread and returns, so the writer can execute block N+1 while N is written:
//!
//! - **The head stays the written head.** [`Database::head`] and every block, receipt and
//!   historical read see N only once its batch is in RocksDB, so nothing a client is told
//!   about is lost to `kill -9`. The caller's `on_written` hook, run on the writing thread
//!   after the write, is where a block is announced.
//! - **The writer builds on the tip.** [`Database::tip`] is N from the hand-off on. The latest
//!   state ([`Database::latest_state`]) reads N's changes from an in-memory overlay of its
//!   diff ([`Pending`]) before the hot state and RocksDB; a key N did not change reads the
//!   same either side of the write, so the overlay is exact at every moment of it. The
//!   overlay also answers `BLOCKHASH` for N.
//! - **A barrier before anything that reads the trie or the chain.** The state root (hashed
//!   leaves and storage-trie nodes come from RocksDB, the account trie from memory updated
//!   after the write), the trie read-ahead, commits and unwinds first wait for the write in
//!   flight ([`Database::wait_persisted`]). At most one write is in flight.
//! - **A failed write stops the writer.** It is a disk failure: the tip falls back to the
//!   head, and every later wait and commit reports the failure.

use crate::{Database, ExecutedBlock, Result, StateRootOutput, StorageError};
use alloy_primitives::{
    Address, B256, Bytes, U256,
    map::{HashMap, HashSet},
};
use std::{sync::Arc, thread::JoinHandle};
use tributary_primitives::{Account, SealedHeader};

/// A block handed to the writing thread and not yet written: its header and state changes,
/// for the latest-state reads of the block built on it.
#[derive(Debug)]
pub(crate) struct Pending {
    block: Arc<ExecutedBlock>,
    accounts: HashMap<Address, Option<Account>>,
    storage: HashMap<(Address, B256), U256>,
    /// Accounts whose storage the block cleared: a slot it did not set reads zero.
    wiped: HashSet<Address>,
    codes: HashMap<B256, Bytes>,
}

impl Pending {
    fn new(block: Arc<ExecutedBlock>) -> Self {
        let diff = &block.state;
        Self {
            accounts: diff.accounts.iter().map(|change| (change.address, change.new)).collect(),
            storage: diff
                .storage
                .iter()
                .flat_map(|change| {
                    change.slots.iter().map(|(slot, _, new)| ((change.address, *slot), *new))
                })
                .collect(),
            wiped: diff
                .storage
                .iter()
                .filter(|change| change.wiped)
                .map(|change| change.address)
                .collect(),
            codes: diff.contracts.iter().cloned().collect(),
            block,
        }
    }

    /// The account as the block left it, or None when the block did not change it.
    pub(crate) fn account(&self, address: &Address) -> Option<Option<Account>> {
        self.accounts.get(address).copied()
    }

    /// The slot as the block left it, or None when the block did not change it.
    pub(crate) fn storage(&self, address: &Address, slot: &B256) -> Option<U256> {
        match self.storage.get(&(*address, *slot)) {
            Some(value) => Some(*value),
            None => self.wiped.contains(address).then_some(U256::ZERO),
        }
    }

    /// Code the block created.
    pub(crate) fn code(&self, hash: &B256) -> Option<&Bytes> {
        self.codes.get(hash)
    }

    /// The block's hash, when it is block `number`.
    pub(crate) fn block_hash(&self, number: u64) -> Option<B256> {
        let header = &self.block.header;
        (header.number == number).then(|| header.hash())
    }
}

/// The write in flight, or why writing stopped.
#[derive(Debug, Default)]
pub(crate) enum InFlight {
    /// Nothing is being written.
    #[default]
    Idle,
    /// A thread is writing this block.
    Writing(u64, JoinHandle<Result<()>>),
    /// A write failed; nothing is written after it.
    Failed(String),
}

/// Called on the writing thread once a block handed to
/// [`Database::commit_block_in_background`] is written (or failed to be). It must not wait
/// for the write itself ([`Database::wait_persisted`]): that would wait for its own thread.
pub type OnWritten = Box<dyn FnOnce(&Arc<ExecutedBlock>, &Result<()>) + Send>;

impl Database {
    /// The block the writer builds on: the block handed to
    /// [`Database::commit_block_in_background`] and still being written, else the head.
    pub fn tip(&self) -> SealedHeader {
        // The pending block first: the writing thread moves the head before clearing it.
        if let Some(pending) = self.inner.pending.read().as_ref() {
            return pending.block.header.clone();
        }
        self.head()
    }

    /// The number of [`Database::tip`].
    pub fn tip_number(&self) -> u64 {
        if let Some(pending) = self.inner.pending.read().as_ref() {
            return pending.block.header.number;
        }
        self.head_number()
    }

    /// The block handed to [`Database::commit_block_in_background`] and not yet written: the
    /// tip, when it is not the head. For the writer, which builds on it before the block
    /// reads see it.
    pub fn unwritten_block(&self) -> Option<Arc<ExecutedBlock>> {
        self.inner.pending.read().as_ref().map(|pending| pending.block.clone())
    }

    /// The block being written, if any (for the latest-state reads).
    pub(crate) fn pending(&self) -> Option<Arc<Pending>> {
        self.inner.pending.read().clone()
    }

    /// Writes `block` on top of the tip on another thread and returns once it is handed over;
    /// `on_written` runs on that thread after the write. The block becomes the head (and is
    /// read by [`Database::head`] and the block reads) only when written. Waits first for a
    /// write still in flight. See the module docs.
    ///
    /// # Errors
    ///
    /// A block that does not extend the head, a root that is not the header's, a failed
    /// earlier write; when no thread can be started the block is written here, and its
    /// RocksDB failure is returned.
    pub fn commit_block_in_background(
        &self,
        block: Arc<ExecutedBlock>,
        root: StateRootOutput,
        on_written: OnWritten,
    ) -> Result<()> {
        let _guard = self.inner.write_lock.lock();
        let mut in_flight = self.inner.in_flight.lock();
        self.finish_write(&mut in_flight)?;
        self.check_next_block(&block, &root)?;
        *self.inner.pending.write() = Some(Arc::new(Pending::new(block.clone())));
        let number = block.header.number;
        let db = self.clone();
        // The block and root move into the closure: when the OS will not start the thread,
        // the error hands the closure back, and the write happens here instead.
        let write = move || {
            let written = db.write_block(rocksdb::WriteBatch::default(), &block, root);
            // After the head moved: a reader sees the block in one place or the other.
            *db.inner.pending.write() = None;
            on_written(&block, &written);
            written
        };
        match spawn_or_run(write) {
            Ok(handle) => {
                *in_flight = InFlight::Writing(number, handle);
                Ok(())
            }
            Err(written) => written.map_err(|err| self.fail(&mut in_flight, number, err)),
        }
    }

    /// Waits until the block handed to [`Database::commit_block_in_background`], if any, is
    /// written: after it the head is the tip.
    ///
    /// # Errors
    ///
    /// The write failed (now or before: writing stops at the first failure).
    pub fn wait_persisted(&self) -> Result<()> {
        let mut in_flight = self.inner.in_flight.lock();
        self.finish_write(&mut in_flight)
    }

    /// Joins the write in flight under the lock.
    fn finish_write(&self, in_flight: &mut InFlight) -> Result<()> {
        match std::mem::take(in_flight) {
            InFlight::Idle => Ok(()),
            InFlight::Failed(reason) => {
                *in_flight = InFlight::Failed(reason.clone());
                Err(StorageError::WriteFailed(reason))
            }
            InFlight::Writing(number, handle) => match handle.join() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(self.fail(in_flight, number, err)),
                Err(_) => Err(self.fail(
                    in_flight,
                    number,
                    StorageError::WriteFailed("the writing thread panicked".into()),
                )),
            },
        }
    }

    /// Records a failed write: the tip falls back to the head, and writing stops.
    fn fail(&self, in_flight: &mut InFlight, number: u64, err: StorageError) -> StorageError {
        let reason = format!("block {number}: {err}");
        tracing::error!(target: "storage", %reason, "a block write failed; writing stops");
        *self.inner.pending.write() = None;
        *in_flight = InFlight::Failed(reason.clone());
        StorageError::WriteFailed(reason)
    }
}

/// Starts `write` on a thread named `block-writer`; when the OS will not start one, runs it
/// here and returns what it returned.
fn spawn_or_run(
    write: impl FnOnce() -> Result<()> + Send + 'static,
) -> std::result::Result<JoinHandle<Result<()>>, Result<()>> {
    // `spawn` drops its closure when it fails: keep `write` in a slot to get it back.
    let slot = Arc::new(parking_lot::Mutex::new(Some(write)));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("block-writer".into())
        .spawn(move || theirs.lock().take().map_or(Ok(()), |write| write()));
    match spawned {
        Ok(handle) => Ok(handle),
        Err(err) => {
            tracing::warn!(target: "storage", %err, "no block-writer thread; writing inline");
            Err(slot.lock().take().map_or(Ok(()), |write| write()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountChange, StateDiff, StorageChange};
    use alloy::consensus::Header;
    use tributary_chainspec::ChainSpec;
    use tributary_primitives::KECCAK_EMPTY;

    fn account(nonce: u64) -> Account {
        Account { nonce, balance: U256::from(nonce), code_hash: KECCAK_EMPTY }
    }

    fn block(parent: &SealedHeader, state: StateDiff) -> ExecutedBlock {
        let header = Header {
            parent_hash: parent.hash(),
            number: parent.number + 1,
            timestamp: parent.timestamp + 2,
            ..Default::default()
        };
        ExecutedBlock {
            header: SealedHeader::new(header),
            body: vec![],
            senders: vec![],
            receipts: vec![],
            state,
            batches: vec![],
            blob_sidecars: vec![],
        }
    }

    /// While a block is being written (its overlay installed, RocksDB still without it), the
    /// latest state reads it; the head and the block reads do not.
    #[test]
    fn the_latest_state_reads_the_block_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), &ChainSpec::dev(), Default::default()).unwrap();
        let (a, b, c) =
            (Address::repeat_byte(0xa), Address::repeat_byte(0xb), Address::repeat_byte(0xc));
        let (one, two) = (B256::with_last_byte(1), B256::with_last_byte(2));
        let first = StateDiff {
            accounts: [a, b, c]
                .map(|address| AccountChange { address, old: None, new: Some(account(1)) })
                .to_vec(),
            storage: vec![StorageChange {
                address: b,
                wiped: false,
                slots: vec![(one, U256::ZERO, U256::from(5)), (two, U256::ZERO, U256::from(6))],
            }],
            contracts: vec![],
        };
        let root = db.state_root(&first).unwrap();
        let mut first = block(&db.head(), first);
        first.header =
            SealedHeader::new(Header { state_root: root.root, ..first.header.inner().clone() });
        db.commit_block(&first, root).unwrap();

        // Block 2: `a` bumped, `c` deleted, `b`'s storage wiped and slot 2 set again, new code.
        let code = Bytes::from_static(&[0x60, 0x00]);
        let code_hash = alloy_primitives::keccak256(&code);
        let second = block(
            &db.head(),
            StateDiff {
                accounts: vec![
                    AccountChange { address: a, old: Some(account(1)), new: Some(account(2)) },
                    AccountChange { address: c, old: Some(account(1)), new: None },
                ],
                storage: vec![StorageChange {
                    address: b,
                    wiped: true,
                    slots: vec![(two, U256::from(6), U256::from(7))],
                }],
                contracts: vec![(code_hash, code.clone())],
            },
        );
        let second = Arc::new(second);
        *db.inner.pending.write() = Some(Arc::new(Pending::new(second.clone())));

        let state = db.latest_state();
        assert_eq!(state.account(&a).unwrap(), Some(account(2)));
        assert_eq!(state.account(&b).unwrap(), Some(account(1)), "not changed: RocksDB");
        assert_eq!(state.account(&c).unwrap(), None, "deleted in the block");
        assert_eq!(state.storage(&b, &one).unwrap(), U256::ZERO, "wiped");
        assert_eq!(state.storage(&b, &two).unwrap(), U256::from(7));
        assert_eq!(state.code(&code_hash).unwrap(), Some(code));
        assert_eq!(state.block_hash(2).unwrap(), Some(second.header.hash()));
        assert_eq!(state.block_hash(1).unwrap(), Some(first.header.hash()));
        assert_eq!(db.tip().hash(), second.header.hash());
        assert_eq!(db.tip_number(), 2);

        // Readers of the chain see the written head only.
        assert_eq!(db.head_number(), 1);
        assert_eq!(db.block_hash(2).unwrap(), None);
        let at_head = db.state_at(1);
        assert_eq!(at_head.account(&a).unwrap(), Some(account(1)));
        assert_eq!(at_head.storage(&b, &one).unwrap(), U256::from(5));
        assert_eq!(at_head.block_hash(2).unwrap(), None);

        *db.inner.pending.write() = None;
        assert_eq!(db.latest_state().account(&a).unwrap(), Some(account(1)));
        assert_eq!(db.tip().hash(), first.header.hash());
    }

    /// After a failed write, the tip falls back to the head and nothing more is written.
    #[test]
    fn a_failed_write_stops_writing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), &ChainSpec::dev(), Default::default()).unwrap();
        let child = Arc::new(block(&db.head(), StateDiff::default()));
        *db.inner.pending.write() = Some(Arc::new(Pending::new(child.clone())));
        let failing = std::thread::spawn(|| Err(StorageError::corrupt("test")));
        *db.inner.in_flight.lock() = InFlight::Writing(1, failing);
        assert!(matches!(db.wait_persisted(), Err(StorageError::WriteFailed(_))));
        assert_eq!(db.tip_number(), 0, "the tip is the head again");
        assert!(
            matches!(db.wait_persisted(), Err(StorageError::WriteFailed(_))),
            "it stays failed"
        );
        let root = db.state_root(&StateDiff::default());
        assert!(matches!(root, Err(StorageError::WriteFailed(_))));
        let commit = db.commit_block_in_background(child, Default::default(), Box::new(|_, _| {}));
        assert!(matches!(commit, Err(StorageError::WriteFailed(_))));
    }
}
