//! The pool's journal: every transaction the pool acknowledges, on disk before its hash is
//! returned, so a node killed with SIGKILL finds its pending transactions again on restart.
//!
//! The file is a sequence of records `len (u32 big-endian) ++ raw EIP-2718 bytes`. An add
//! appends one record with a single `write`: the page cache keeps it when the process dies, so
//! a crash of the node loses nothing; a crash of the machine can lose the last records (the
//! journal is not fsynced per transaction, as geth's is not). A torn last record is ignored. A
//! write that fails (a full disk) is cut off the file again, so the records after it stay
//! readable, and the transaction is refused rather than acknowledged.
//!
//! Records of mined, replaced or dropped transactions stay until the journal is compacted:
//! rewritten from the pool's content (to a temporary file, fsynced, renamed over) at every open,
//! and after a new block once it holds more than 4096 records and more than twice the pool's
//! transactions, or more than 64 MiB and more than twice the bytes of the pool's transactions
//! (a blob transaction is up to 1.2 MB). On open the records are added
//! back through the pool's normal checks, so the ones mined meanwhile fall out as
//! "nonce too low".

use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

/// Compaction waits for at least this many records.
const MIN_RECORDS_TO_COMPACT: usize = 4096;

/// Or for at least this many bytes (blob transactions are up to 1.2 MB a record).
const MIN_BYTES_TO_COMPACT: u64 = 64 * 1024 * 1024;

/// An open journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes of whole records in the file.
    len: u64,
    /// Records in the file.
    records: usize,
}

impl Journal {
    /// Reads the records of the journal at `path`, if there is one.
    pub(crate) fn read(path: &Path) -> io::Result<Vec<Vec<u8>>> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut file) => file.read_to_end(&mut bytes)?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut records = Vec::new();
        let mut rest = bytes.as_slice();
        while let Some((len, tail)) = rest.split_first_chunk::<4>() {
            let len = u32::from_be_bytes(*len) as usize;
            let Some(raw) = tail.get(..len) else {
                tracing::warn!(target: "txpool", path = %path.display(), "journal ends in a torn record; ignored");
                break;
            };
            records.push(raw.to_vec());
            rest = &tail[len..];
        }
        Ok(records)
    }

    /// Writes `transactions` as the whole journal at `path` and opens it for appending.
    pub(crate) fn rewrite<'a>(
        path: &Path,
        transactions: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<Self> {
        let tmp = path.with_extension("journal.tmp");
        let mut buffer = Vec::new();
        let mut records = 0;
        for raw in transactions {
            push_record(&mut buffer, raw);
            records += 1;
        }
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&buffer)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self { path: path.to_path_buf(), file, len: buffer.len() as u64, records })
    }

    /// Appends one transaction, in one write. On failure the file is cut back to its whole
    /// records, so a torn record never hides the ones written after it.
    pub(crate) fn append(&mut self, raw: &[u8]) -> io::Result<()> {
        let mut record = Vec::with_capacity(raw.len() + 4);
        push_record(&mut record, raw);
        if let Err(err) = self.file.write_all(&record) {
            if let Err(cut) = self.file.set_len(self.len) {
                tracing::error!(target: "txpool", %cut, "cannot cut a failed journal write off");
            }
            return Err(err);
        }
        self.len += record.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// Whether the journal has grown past twice the `live` transactions (of `live_bytes`) it
    /// needs to hold, in records or in bytes.
    pub(crate) fn wants_compaction(&self, live: usize, live_bytes: u64) -> bool {
        self.records > MIN_RECORDS_TO_COMPACT.max(live.saturating_mul(2))
            || self.len > MIN_BYTES_TO_COMPACT.max(live_bytes.saturating_mul(2))
    }

    /// Where the journal lives.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

fn push_record(out: &mut Vec<u8>, raw: &[u8]) {
    // A pooled transaction is at most 128 KiB plus nine blobs (about 1.2 MB), far below
    // u32::MAX.
    out.extend_from_slice(&(raw.len() as u32).to_be_bytes());
    out.extend_from_slice(raw);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("txpool.journal");
        assert!(Journal::read(&path).unwrap().is_empty());
        let mut journal = Journal::rewrite(&path, [&b"one"[..], b""]).unwrap();
        journal.append(b"three").unwrap();
        assert_eq!(Journal::read(&path).unwrap(), vec![b"one".to_vec(), vec![], b"three".to_vec()]);
        // a record cut short by a crash mid-write
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[0, 0, 0, 9, 1])
            .unwrap();
        assert_eq!(Journal::read(&path).unwrap().len(), 3);
        let journal = Journal::rewrite(&path, [&b"x"[..]]).unwrap();
        assert_eq!(Journal::read(&path).unwrap(), vec![b"x".to_vec()]);
        assert!(!journal.wants_compaction(0, 0));
    }
}
