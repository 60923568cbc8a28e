//! The sled-backed [`Storage`]: the default, embedded store of a device.
//!
//! Chunks live in the `chunks` tree keyed by big-endian sequence numbers, the
//! snapshot and metadata in the `meta` tree. Every write is followed by
//! `flush()`, which fsyncs sled's log, before it is acknowledged. sled holds an
//! exclusive lock on the directory while open; so do we, one step earlier, so
//! a second process waits briefly for it and then gets [`StoreError::Busy`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Storage, StoreError, Stored};

const SNAPSHOT_KEY: &[u8] = b"snapshot";
/// Our own lock file inside the store directory (see [`SledStorage::open`]).
const LOCK_FILE: &str = "interlog.lock";
const META_PREFIX: &str = "meta:";
/// How long to wait for another interlog process to release the store.
const LOCK_WAIT: Duration = Duration::from_secs(10);

pub struct SledStorage {
    path: PathBuf,
    db: sled::Db,
    chunks: sled::Tree,
    meta: sled::Tree,
    /// Held for as long as the store is open; released by the OS if the
    /// process dies.
    _lock: std::fs::File,
}

impl SledStorage {
    /// Opens (creating if needed) the store in directory `path`.
    ///
    /// Takes the store's own lock first, then clears snapshot files that a
    /// killed process left half-written (see [`crate::sled_quirks`]),
    /// then opens sled.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_waiting(path, LOCK_WAIT)
    }

    /// [`Self::open`], waiting at most `wait` for another process to let go.
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join(LOCK_FILE))
            .map_err(io)?;
        let started = Instant::now();
        // Commands are short: poll often at first (a watcher that woke on a
        // command's write retries while that command exits), then less.
        let mut pause = Duration::from_millis(1);
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy {
                        path: path.display().to_string(),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        crate::sled_quirks::clear_interrupted_snapshots(path).map_err(io)?;
        let db = loop {
            match sled::Config::new()
                .path(path)
                .segment_size(segment_size(path))
                // Every write is flushed before it is acknowledged; sled's
                // periodic flusher thread would only add wakeups.
                .flush_every_ms(None)
                .open()
            {
                Ok(db) => break db,
                // We hold our own lock, so sled's is held only by this
                // process's previous handle: sled releases it from a
                // background thread (a page-table snapshot in progress) a
                // little after the handle is dropped. Seen when one process
                // reopens the store, as `sync --watch` does per event.
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && started.elapsed() < wait =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(map_err(path, e)),
            }
        };
        let chunks = db.open_tree("chunks").map_err(|e| map_err(path, e))?;
        let meta = db.open_tree("meta").map_err(|e| map_err(path, e))?;
        Ok(SledStorage {
            path: path.to_path_buf(),
            db,
            chunks,
            meta,
            _lock: lock,
        })
    }

    fn err(&self, e: sled::Error) -> StoreError {
        map_err(&self.path, e)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }
}

/// sled's log segment size for new stores. sled deletes a replaced large
/// value (a snapshot is kept as a blob file) only once the segment that
/// recorded its replacement is full; with sled's default of 512 KiB that
/// takes so many small writes that a dozen old snapshots or more sit on disk.
/// 64 KiB segments fill between two compactions.
const SEGMENT_SIZE: usize = 64 * 1024;

/// The segment size to open `path` with: sled refuses to open a store with
/// another size than the one it was created with, so an existing store keeps
/// its own (sled's `conf` file records it).
fn segment_size(path: &Path) -> usize {
    // The file ends in a binary checksum: read it as bytes.
    std::fs::read(path.join("conf"))
        .ok()
        .and_then(|conf| {
            String::from_utf8_lossy(&conf)
                .lines()
                .find_map(|l| l.strip_prefix("segment_size: ").map(str::to_string))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(SEGMENT_SIZE)
}

fn seq_of(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_be_bytes(buf)
}

fn map_err(path: &Path, e: sled::Error) -> StoreError {
    let path = path.display().to_string();
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            path,
            detail: e.to_string(),
        },
        sled::Error::Unsupported(detail) => StoreError::Corrupt { path, detail },
        other => StoreError::Io {
            path,
            detail: other.to_string(),
        },
    }
}

impl Storage for SledStorage {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<Stored, StoreError> {
        let snapshot = self
            .meta
            .get(SNAPSHOT_KEY)
            .map_err(|e| self.err(e))?
            .map(|v| v.to_vec());
        let mut chunks = Vec::new();
        for item in self.chunks.iter() {
            let (k, v) = item.map_err(|e| self.err(e))?;
            chunks.push((seq_of(&k), v.to_vec()));
        }
        Ok(Stored { snapshot, chunks })
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        let last_chunk = self.chunks.last().map_err(|e| self.err(e))?;
        let from_chunks = last_chunk.map(|(k, _)| seq_of(&k)).unwrap_or(0);
        let compacted = self
            .meta
            .get(b"compacted_through")
            .map_err(|e| self.err(e))?
            .map(|v| seq_of(&v))
            .unwrap_or(0);
        Ok(from_chunks.max(compacted))
    }

    fn append(&mut self, chunk: &[u8]) -> Result<u64, StoreError> {
        let seq = self.last_seq()? + 1;
        self.chunks
            .insert(seq.to_be_bytes(), chunk)
            .map_err(|e| self.err(e))?;
        self.flush()?;
        Ok(seq)
    }

    fn compact(&mut self, snapshot: &[u8], through: u64) -> Result<(), StoreError> {
        use sled::Transactional;
        let covered: Vec<sled::IVec> = self
            .chunks
            .range(..=through.to_be_bytes())
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        (&self.chunks, &self.meta)
            .transaction(|(chunks, meta)| {
                meta.insert(SNAPSHOT_KEY, snapshot)?;
                meta.insert(b"compacted_through", &through.to_be_bytes())?;
                for k in &covered {
                    chunks.remove(k)?;
                }
                Ok(())
            })
            .map_err(|e: sled::transaction::TransactionError<()>| match e {
                sled::transaction::TransactionError::Storage(e) => self.err(e),
                sled::transaction::TransactionError::Abort(()) => StoreError::Io {
                    path: self.location(),
                    detail: "compaction aborted".into(),
                },
            })?;
        self.flush()
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.meta
            .get(format!("{META_PREFIX}{key}"))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.err(e))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta
            .insert(format!("{META_PREFIX}{key}"), value)
            .map_err(|e| self.err(e))?;
        self.flush()
    }
}

#[cfg(test)]
mod contract {
    fn make() -> (super::SledStorage, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (
            super::SledStorage::open(&dir.path().join("store")).unwrap(),
            dir,
        )
    }

    fn reopen(s: super::SledStorage, dir: &tempfile::TempDir) -> super::SledStorage {
        drop(s);
        super::SledStorage::open(&dir.path().join("store")).unwrap()
    }

    super::super::storage_contract!(make(), reopen);

    #[test]
    fn an_interrupted_sled_snapshot_does_not_make_the_store_unreadable() {
        use super::super::Storage;
        let (mut s, dir) = make();
        s.append(b"one").unwrap();
        drop(s);
        // What a process killed while sled writes its snapshot leaves behind.
        let store = dir.path().join("store");
        std::fs::write(store.join("snap.FFFFFFFFFFFFFFFF.generating"), b"").unwrap();
        let s = super::SledStorage::open(&store).unwrap();
        assert_eq!(s.load().unwrap().chunks.len(), 1);
    }

    #[test]
    fn stores_made_with_another_segment_size_still_open() {
        use super::super::Storage;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old");
        // A store created by an earlier build, with sled's default segments.
        drop(sled::Config::new().path(&old).open().unwrap());
        let mut s = super::SledStorage::open(&old).unwrap();
        s.append(b"one").unwrap();
        drop(s);
        assert_eq!(super::segment_size(&old), 512 * 1024);
        let s = super::SledStorage::open(&old).unwrap();
        assert_eq!(s.load().unwrap().chunks.len(), 1);

        let new = dir.path().join("new");
        drop(super::SledStorage::open(&new).unwrap());
        assert_eq!(super::segment_size(&new), super::SEGMENT_SIZE);
    }

    #[test]
    fn sled_lock_still_held_by_this_process_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        drop(super::SledStorage::open(&path).unwrap());
        // What a dropped handle's lingering background work looks like:
        // sled's own lock held a little longer, ours free.
        // (The handle just dropped may itself still hold it a moment.)
        let started = std::time::Instant::now();
        let held = loop {
            match sled::Config::new()
                .path(&path)
                .segment_size(super::segment_size(&path))
                .open()
            {
                Ok(db) => break db,
                Err(e) if started.elapsed().as_secs() > 10 => panic!("{e}"),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        };
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(held);
        });
        let s = super::SledStorage::open(&path);
        t.join().unwrap();
        assert!(s.is_ok(), "{:?}", s.err());
    }

    #[test]
    fn a_second_opener_waits_for_the_lock() {
        let (_s, dir) = make();
        let wait = std::time::Duration::from_millis(200);
        let started = std::time::Instant::now();
        let err = super::SledStorage::open_waiting(&dir.path().join("store"), wait)
            .err()
            .unwrap();
        assert!(matches!(err, super::StoreError::Busy { .. }), "{err}");
        assert!(started.elapsed() >= wait);
    }
}
