//! The sled-backed [`Storage`]: the default, embedded store of a device.
//!
//! Chunks live in the `chunks` tree keyed by big-endian sequence numbers,
//! metadata in the `meta` tree. The snapshot lives in a file of its own next
//! to sled, `document.<generation>`, which the `meta` tree names: kept inside
//! sled, a replaced snapshot lingered as a blob file until sled's log moved
//! on, so a store held several. Every write is followed by `flush()`, which
//! fsyncs sled's log, before it is acknowledged. sled holds an exclusive lock
//! on the directory while open; so do we, one step earlier, so a second
//! process waits briefly for it and then gets [`StoreError::Busy`].
//!
//! A sync that leaves every local change on the relay may leave a *clean
//! stamp* beside sled ([`SledStorage::stamp_clean`]): what the next sync
//! needs to ask the relay for news, so that a sync with nothing to push can
//! run without opening sled ([`SledStorage::read_clean`]). Any change to
//! the store removes the stamp, durably, before it writes.
//!
//! # Compaction and crashes
//!
//! [`Storage::compact`] must be atomic: after a crash the store holds the old
//! snapshot and all its chunks or the new snapshot and the chunks after it.
//! It runs these steps ([`Step`]); the argument for a crash before each:
//!
//! 1. Write the new snapshot to `document.<gen>.tmp` (owner-only). A crash
//!    leaves a partial temporary file, which nothing names: the old state.
//! 2. fsync it. Same as 1.
//! 3. Rename it to `document.<gen>`, `gen` one above the current file's. A
//!    crash leaves a complete file that nothing names: the old state.
//! 4. fsync the directory, so the new name survives a power cut before
//!    anything points at it. Same as 3.
//! 5. One sled transaction points `meta` at `gen`, records
//!    `compacted_through`, drops the covered chunks (and a snapshot an older
//!    version kept inside sled); then sled's log is fsynced. sled applies a
//!    transaction whole or not at all, so a crash leaves the old state (the
//!    old file is still there) or the new one (whose file is durable since
//!    step 4).
//! 6. Remove the old file. A crash leaves it behind: the new state.
//!
//! Opening the store (under its lock, so no compaction is running) removes
//! every `document.*` file the pointer does not name: the leftovers of a crash
//! at steps 1 to 4 or 6. Otherwise a compaction deletes only its own new files
//! when it fails before step 5, and the old file at step 6: the file the
//! pointer names is never deleted, and the new one is named only once its
//! data and its name are durable.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Storage, StoreError, Stored};

/// Where stores written by earlier versions keep the snapshot, inside sled.
/// Read while present; the next compaction moves it out.
const INLINE_SNAPSHOT_KEY: &[u8] = b"snapshot";
/// The generation of the snapshot file (big-endian u64), when there is one.
const SNAPSHOT_GEN_KEY: &[u8] = b"snapshot_file";
const COMPACTED_THROUGH_KEY: &[u8] = b"compacted_through";
/// Snapshot files are `document.<generation as 16 hex digits>`, written as
/// `<that>.tmp` first. sled ignores them: it only reads `conf`, `db`,
/// `blobs/` and `snap.*`.
const SNAPSHOT_FILE_PREFIX: &str = "document.";
/// Our own lock file inside the store directory (see [`SledStorage::open`]).
const LOCK_FILE: &str = "interlog.lock";
/// The clean stamp (see [`SledStorage::stamp_clean`]). sled ignores it.
/// It is named like a snapshot file on purpose: versions before the stamp
/// delete every `document.*` file the store does not point at whenever they
/// open it, so an older binary that opens this store (and might write to
/// it, not knowing to remove the stamp) removes it first.
const STAMP_FILE: &str = "document.clean";
const META_PREFIX: &str = "meta:";
/// How long to wait for another interlog process to release the store.
const LOCK_WAIT: Duration = Duration::from_secs(10);

pub struct SledStorage {
    path: PathBuf,
    db: sled::Db,
    chunks: sled::Tree,
    meta: sled::Tree,
    /// Whether a clean stamp may be beside the store, for
    /// [`Self::unstamp`] to remove before the first change.
    stamp_may_exist: bool,
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
        create_private_dir(path).map_err(io)?;
        let started = Instant::now();
        let lock = lock(path, wait)?;
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
                // reopens the store, as `sync --watch` does per event, or
                // `join` after finding a half-joined store. (Or by a killed
                // process whose files the kernel is still closing.) So this
                // wait does not depend on `wait`, which is for other
                // processes' hold on our lock: a caller that will not wait
                // for them still waits for this.
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && started.elapsed() < LOCK_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(map_err(path, e)),
            }
        };
        let chunks = db.open_tree("chunks").map_err(|e| map_err(path, e))?;
        let meta = db.open_tree("meta").map_err(|e| map_err(path, e))?;
        let store = SledStorage {
            path: path.to_path_buf(),
            db,
            chunks,
            meta,
            stamp_may_exist: true,
            _lock: lock,
        };
        store.remove_stray_snapshots()?;
        // After sled's open, which may have made files of its own.
        restrict_owner_only(path).map_err(io)?;
        Ok(store)
    }

    /// The clean stamp of the store in `path` (see [`Self::stamp_clean`]),
    /// read under the store's lock without opening sled, and holding the
    /// lock until the returned value is dropped. `None` when there is no
    /// stamp, or another process holds the store: then open it as usual.
    pub fn read_clean(path: &Path) -> Result<Option<CleanStore>, StoreError> {
        if !path.join(STAMP_FILE).exists() {
            // Cheaper than the lock, and no lock file is made where there
            // is no store.
            return Ok(None);
        }
        let lock = match lock(path, Duration::ZERO) {
            Ok(lock) => lock,
            Err(StoreError::Busy { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        match std::fs::read(path.join(STAMP_FILE)) {
            Ok(stamp) => Ok(Some(CleanStore { stamp, _lock: lock })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io {
                path: path.display().to_string(),
                detail: format!("reading {STAMP_FILE}: {e}"),
            }),
        }
    }

    /// Leaves `stamp` beside the store, to be read by [`Self::read_clean`]
    /// until the store changes: the first change after it (an append, a
    /// compaction or a metadata value) removes it, durably, before it
    /// writes anything. The sync uses it to answer a sync with nothing to
    /// push without opening sled (docs/data-model.md, section 7).
    ///
    /// It is written to a temporary file and renamed, without an fsync: a
    /// crash may lose it (the next sync opens the store and writes it
    /// again), but nothing can bring back a stamp that a change removed.
    pub fn stamp_clean(&mut self, stamp: &[u8]) -> Result<(), StoreError> {
        let tmp = self.path.join(format!("{STAMP_FILE}.tmp"));
        let file = self.path.join(STAMP_FILE);
        let written = create_owner_only(&tmp)
            .and_then(|mut f| f.write_all(stamp))
            .and_then(|()| std::fs::rename(&tmp, &file));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("writing the clean stamp", e));
        }
        self.stamp_may_exist = true;
        Ok(())
    }

    /// Removes the clean stamp before the store changes, and makes the
    /// removal durable first: a stamp that survived a crash beside a change
    /// it does not describe would hide that change from the next sync.
    fn unstamp(&mut self) -> Result<(), StoreError> {
        if !self.stamp_may_exist {
            return Ok(());
        }
        match std::fs::remove_file(self.path.join(STAMP_FILE)) {
            Ok(()) => sync_dir(&self.path).map_err(|e| self.io("removing the clean stamp", e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io("removing the clean stamp", e)),
        }
        self.stamp_may_exist = false;
        Ok(())
    }

    fn io(&self, what: &str, e: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.location(),
            detail: format!("{what}: {e}"),
        }
    }

    /// The generation of the current snapshot file, if the snapshot is in one.
    fn snapshot_gen(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .meta
            .get(SNAPSHOT_GEN_KEY)
            .map_err(|e| self.err(e))?
            .map(|v| seq_of(&v)))
    }

    fn snapshot_path(&self, gen: u64) -> PathBuf {
        self.path.join(snapshot_file_name(gen))
    }

    /// Removes the snapshot files the store does not point at: what a crash
    /// during a compaction leaves (see the module's documentation). Only
    /// called while holding the store's lock.
    fn remove_stray_snapshots(&self) -> Result<(), StoreError> {
        let current = self.snapshot_gen()?.map(snapshot_file_name);
        let entries = std::fs::read_dir(&self.path).map_err(|e| self.io("listing the store", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.io("listing the store", e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(SNAPSHOT_FILE_PREFIX)
                && current.as_deref() != Some(&*name)
                && name != STAMP_FILE
            {
                std::fs::remove_file(entry.path())
                    .map_err(|e| self.io(&format!("removing the stray {name}"), e))?;
            }
        }
        Ok(())
    }

    /// [`Storage::compact`], calling `before` ahead of each step; an error
    /// from it stops the compaction right there, as a crash would, without
    /// cleaning up. Tests use it to crash at every step.
    fn compact_steps(
        &mut self,
        snapshot: &[u8],
        through: u64,
        before: &mut dyn FnMut(Step, &Path) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use sled::Transactional;
        let old = self.snapshot_gen()?;
        let gen = old.map_or(1, |g| g + 1);
        let file = self.snapshot_path(gen);
        let tmp = self.path.join(format!("{}.tmp", snapshot_file_name(gen)));
        // Steps 1 to 4: nothing names these files yet, so on a failure they
        // can go (and if that fails too, the next open removes them). A
        // crash from `before` returns without this, as a real one would.
        let abandon = |what: &str, e: std::io::Error| {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(&file);
            self.io(what, e)
        };
        before(Step::WriteTemp, &self.path)?;
        let mut f = create_owner_only(&tmp).map_err(|e| abandon("writing the snapshot", e))?;
        f.write_all(snapshot)
            .map_err(|e| abandon("writing the snapshot", e))?;
        before(Step::SyncTemp, &self.path)?;
        f.sync_all()
            .map_err(|e| abandon("writing the snapshot", e))?;
        drop(f);
        before(Step::Rename, &self.path)?;
        std::fs::rename(&tmp, &file).map_err(|e| abandon("renaming the snapshot", e))?;
        before(Step::SyncDir, &self.path)?;
        sync_dir(&self.path).map_err(|e| abandon("syncing the store directory", e))?;
        let covered: Vec<sled::IVec> = self
            .chunks
            .range(..=through.to_be_bytes())
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        before(Step::Commit, &self.path)?;
        // From here on the new file may be the current one, even when sled
        // reports an error: it is left for the next open to sort out.
        (&self.chunks, &self.meta)
            .transaction(|(chunks, meta)| {
                meta.insert(SNAPSHOT_GEN_KEY, &gen.to_be_bytes())?;
                meta.remove(INLINE_SNAPSHOT_KEY)?;
                meta.insert(COMPACTED_THROUGH_KEY, &through.to_be_bytes())?;
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
        self.flush()?;
        before(Step::RemoveOld, &self.path)?;
        if let Some(old) = old {
            // The compaction is complete and durable; a file left behind
            // here is removed by the next open.
            let _ = std::fs::remove_file(self.snapshot_path(old));
        }
        Ok(())
    }

    fn err(&self, e: sled::Error) -> StoreError {
        map_err(&self.path, e)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }
}

/// Creates the store directory (and any missing parent) owner-only.
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}

/// Makes the store directory 0700 and everything in it (sled's `db`,
/// `conf`, `blobs/` and `snap.*`, our snapshot files, stamp and lock) 0700
/// for directories and 0600 for files, wherever it is looser: sled creates
/// its files with the process's umask (0644 under the usual 022), and they
/// hold the journal in plain text. A store made by an older version, or by a
/// library caller with a loose umask, is fixed the next time it is opened.
/// Only what is looser is changed, so an open usually writes nothing; links
/// are left alone (sled makes none).
fn restrict_owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fn fix(p: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
            let mode = meta.permissions().mode() & 0o777;
            let want = if meta.is_dir() { 0o700 } else { 0o600 };
            if mode & 0o077 != 0 {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(want))?;
            }
            Ok(())
        }
        fn walk(dir: &Path, depth: usize) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let meta = match entry.path().symlink_metadata() {
                    Ok(m) => m,
                    // Gone meanwhile (sled removing an old snapshot).
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                if meta.file_type().is_symlink() {
                    continue;
                }
                match fix(&entry.path(), &meta) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    r => r?,
                }
                if meta.is_dir() && depth < 4 {
                    walk(&entry.path(), depth + 1)?;
                }
            }
            Ok(())
        }
        fix(path, &path.symlink_metadata()?)?;
        walk(path, 0)?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Takes the store's own lock file in `path`, waiting at most `wait` for
/// another process to let go.
fn lock(path: &Path, wait: Duration) -> Result<File, StoreError> {
    let io = |e: std::io::Error| StoreError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
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
            Ok(()) => return Ok(lock),
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
}

/// A store's clean stamp, read with [`SledStorage::read_clean`]; the store
/// stays locked, so unchanged, while this lives.
pub struct CleanStore {
    pub stamp: Vec<u8>,
    _lock: File,
}

/// The steps of a compaction, in order (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    WriteTemp,
    SyncTemp,
    Rename,
    SyncDir,
    Commit,
    RemoveOld,
}

fn snapshot_file_name(gen: u64) -> String {
    format!("{SNAPSHOT_FILE_PREFIX}{gen:016x}")
}

/// Creates `path` readable and writable by its owner only, like the rest of
/// the store. A leftover of that name (from a failed compaction) is removed
/// first rather than reused, so the new bytes never sit in a file with
/// looser permissions.
fn create_owner_only(path: &Path) -> std::io::Result<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// fsyncs a directory, making the names in it durable. Unix only: elsewhere
/// a directory cannot be opened as a file, and the rename is all we have.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(path)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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
        let snapshot = match self.snapshot_gen()? {
            Some(gen) => {
                let name = snapshot_file_name(gen);
                match std::fs::read(self.path.join(&name)) {
                    Ok(bytes) => Some(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StoreError::Corrupt {
                            path: self.location(),
                            detail: format!("its snapshot file {name} is missing"),
                        })
                    }
                    Err(e) => return Err(self.io(&format!("reading {name}"), e)),
                }
            }
            None => self
                .meta
                .get(INLINE_SNAPSHOT_KEY)
                .map_err(|e| self.err(e))?
                .map(|v| v.to_vec()),
        };
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
            .get(COMPACTED_THROUGH_KEY)
            .map_err(|e| self.err(e))?
            .map(|v| seq_of(&v))
            .unwrap_or(0);
        Ok(from_chunks.max(compacted))
    }

    fn append(&mut self, chunk: &[u8]) -> Result<u64, StoreError> {
        self.unstamp()?;
        let seq = self.last_seq()? + 1;
        self.chunks
            .insert(seq.to_be_bytes(), chunk)
            .map_err(|e| self.err(e))?;
        self.flush()?;
        Ok(seq)
    }

    fn compact(&mut self, snapshot: &[u8], through: u64) -> Result<(), StoreError> {
        self.unstamp()?;
        self.compact_steps(snapshot, through, &mut |_, _| Ok(()))
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.meta
            .get(format!("{META_PREFIX}{key}"))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.err(e))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.unstamp()?;
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
        // Even by a caller that will not wait for other processes (as the
        // CLI asks, to turn to a watcher instead): `join` reopening a
        // half-joined store failed here.
        let s = super::SledStorage::open_waiting(&path, std::time::Duration::ZERO);
        t.join().unwrap();
        assert!(s.is_ok(), "{:?}", s.err());
    }

    /// The `document.*` files in a store directory, sorted.
    fn snapshot_files(store: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(store)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(super::SNAPSHOT_FILE_PREFIX))
            .collect();
        names.sort();
        names
    }

    /// How a store looked before the compaction under test.
    #[derive(Debug, Clone, Copy)]
    enum Before {
        NoSnapshot,
        /// As stores written by earlier versions keep it.
        SnapshotInSled,
        SnapshotInFile,
    }

    const STEPS: [super::Step; 6] = [
        super::Step::WriteTemp,
        super::Step::SyncTemp,
        super::Step::Rename,
        super::Step::SyncDir,
        super::Step::Commit,
        super::Step::RemoveOld,
    ];

    #[test]
    fn a_compaction_runs_every_step_in_order() {
        let (mut s, _dir) = make();
        let mut seen = Vec::new();
        s.compact_steps(b"snap", 0, &mut |step, _| {
            seen.push(step);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, STEPS, "the crash test below must cover every step");
    }

    /// A process killed (or a power cut) before each step of a compaction,
    /// from each kind of store: reopened, the store holds the old snapshot
    /// and all its chunks or the new one and the chunks after it, nothing
    /// else, and no leftover file; and it compacts again normally.
    #[test]
    fn a_crash_before_any_step_of_a_compaction_leaves_the_old_state_or_the_new() {
        use super::super::Storage;
        for before in [
            Before::NoSnapshot,
            Before::SnapshotInSled,
            Before::SnapshotInFile,
        ] {
            for crash_at in STEPS.map(Some).into_iter().chain([None]) {
                let case = format!("{before:?}, crash before {crash_at:?}");
                let (mut s, dir) = make();
                let store = dir.path().join("store");
                let old = match before {
                    Before::NoSnapshot => None,
                    Before::SnapshotInSled => {
                        s.meta.insert(super::INLINE_SNAPSHOT_KEY, b"old").unwrap();
                        s.meta
                            .insert(super::COMPACTED_THROUGH_KEY, &0u64.to_be_bytes())
                            .unwrap();
                        s.flush().unwrap();
                        Some(b"old".to_vec())
                    }
                    Before::SnapshotInFile => {
                        s.compact(b"old", 0).unwrap();
                        Some(b"old".to_vec())
                    }
                };
                let files_before = snapshot_files(&store);
                s.append(b"one").unwrap();
                let two = s.append(b"two").unwrap();
                let three = s.append(b"three").unwrap();
                let result = s.compact_steps(b"new snapshot", two, &mut |step, path| {
                    if Some(step) != crash_at {
                        return Ok(());
                    }
                    if step == super::Step::SyncTemp {
                        // Written but not yet fsynced: a power cut may keep
                        // any prefix of it.
                        let tmp = std::fs::read_dir(path)
                            .unwrap()
                            .map(|e| e.unwrap().path())
                            .find(|p| p.extension().is_some_and(|x| x == "tmp"))
                            .expect("the temporary snapshot file");
                        std::fs::write(&tmp, b"new sn").unwrap();
                    }
                    Err(super::StoreError::Io {
                        path: path.display().to_string(),
                        detail: "simulated crash".into(),
                    })
                });
                assert_eq!(result.is_ok(), crash_at.is_none(), "{case}");
                let s = reopen(s, &dir);

                let loaded = s.load().unwrap();
                let chunks: Vec<&[u8]> = loaded.chunks.iter().map(|(_, c)| c.as_slice()).collect();
                let committed = !matches!(
                    crash_at,
                    Some(
                        super::Step::WriteTemp
                            | super::Step::SyncTemp
                            | super::Step::Rename
                            | super::Step::SyncDir
                            | super::Step::Commit
                    )
                );
                if committed {
                    assert_eq!(
                        loaded.snapshot.as_deref(),
                        Some(b"new snapshot".as_slice()),
                        "{case}"
                    );
                    assert_eq!(chunks, vec![b"three".as_slice()], "{case}");
                    assert_eq!(
                        snapshot_files(&store).len(),
                        1,
                        "{case}: only the new file is left"
                    );
                    assert_ne!(snapshot_files(&store), files_before, "{case}");
                } else {
                    assert_eq!(loaded.snapshot, old, "{case}");
                    assert_eq!(
                        chunks,
                        vec![b"one".as_slice(), b"two".as_slice(), b"three".as_slice()],
                        "{case}"
                    );
                    assert_eq!(
                        snapshot_files(&store),
                        files_before,
                        "{case}: strays removed"
                    );
                }
                assert_eq!(s.last_seq().unwrap(), three, "{case}");

                // The store carries on as usual.
                let mut s = s;
                let four = s.append(b"four").unwrap();
                assert!(four > three, "{case}");
                s.compact(b"after", four).unwrap();
                let s = reopen(s, &dir);
                let loaded = s.load().unwrap();
                assert_eq!(
                    loaded.snapshot.as_deref(),
                    Some(b"after".as_slice()),
                    "{case}"
                );
                assert!(loaded.chunks.is_empty(), "{case}");
                assert_eq!(snapshot_files(&store).len(), 1, "{case}");
                assert_eq!(
                    s.meta.get(super::INLINE_SNAPSHOT_KEY).unwrap(),
                    None,
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn a_missing_snapshot_file_is_reported_as_corrupt() {
        use super::super::Storage;
        let (mut s, dir) = make();
        s.compact(b"snap", 0).unwrap();
        drop(s);
        let store = dir.path().join("store");
        for name in snapshot_files(&store) {
            std::fs::remove_file(store.join(name)).unwrap();
        }
        let err = super::SledStorage::open(&store)
            .unwrap()
            .load()
            .unwrap_err();
        assert!(
            matches!(&err, super::StoreError::Corrupt { detail, .. } if detail.contains("document.")),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn snapshot_files_are_owner_only() {
        use super::super::Storage;
        use std::os::unix::fs::PermissionsExt;
        let (mut s, dir) = make();
        let store = dir.path().join("store");
        // A leftover temporary file with looser permissions is not reused as is.
        let tmp = store.join(format!("{}.tmp", super::snapshot_file_name(1)));
        std::fs::write(&tmp, b"").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        s.compact(b"snap", 0).unwrap();
        let files = snapshot_files(&store);
        assert_eq!(files.len(), 1);
        let mode = std::fs::metadata(store.join(&files[0]))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// Every file and directory of the store, with its mode.
    #[cfg(unix)]
    fn modes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
        use std::os::unix::fs::PermissionsExt;
        let mut all = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let meta = p.symlink_metadata().unwrap();
            all.push((p.clone(), meta.permissions().mode() & 0o777));
            if meta.is_dir() {
                all.extend(modes(&p));
            }
        }
        all
    }

    /// A store made under a loose umask (sled's files were 0644), or by an
    /// older version, is owner-only once opened again.
    #[cfg(unix)]
    #[test]
    fn opening_a_store_makes_it_owner_only() {
        use super::super::Storage;
        use std::os::unix::fs::PermissionsExt;
        let (mut s, dir) = make();
        s.append(b"plain text notes").unwrap();
        s.compact(b"snap", 1).unwrap();
        drop(s);
        let store = dir.path().join("store");
        let loose = |p: &std::path::Path, mode| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        for (p, _) in modes(&store) {
            loose(&p, if p.is_dir() { 0o755 } else { 0o644 });
        }
        loose(&store, 0o755);
        let s = super::SledStorage::open(&store).unwrap();
        let all = modes(&store);
        assert!(all.len() >= 4, "{all:?}");
        for (p, mode) in all.iter().chain([&(store.clone(), {
            std::fs::metadata(&store).unwrap().permissions().mode() & 0o777
        })]) {
            let want = if p.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(*mode, want, "{}", p.display());
        }
        drop(s);
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

    fn read_stamp(store: &std::path::Path) -> Option<Vec<u8>> {
        super::SledStorage::read_clean(store)
            .unwrap()
            .map(|c| c.stamp)
    }

    #[test]
    fn a_clean_stamp_is_read_until_the_store_changes_in_any_way() {
        use super::super::Storage;
        type Change = fn(&mut super::SledStorage);
        let changes: [(&str, Change); 3] = [
            ("append", |s| {
                s.append(b"chunk").unwrap();
            }),
            ("put_meta", |s| s.put_meta("sync", b"cursors").unwrap()),
            ("compact", |s| {
                let through = s.last_seq().unwrap();
                s.compact(b"snapshot", through).unwrap()
            }),
        ];
        for (what, change) in changes {
            let (mut s, dir) = make();
            let store = dir.path().join("store");
            s.append(b"one").unwrap();
            s.stamp_clean(b"stamp").unwrap();
            // The store is open (locked) here: no one may read it.
            assert_eq!(read_stamp(&store), None, "read while the store is open");
            drop(s);
            assert_eq!(read_stamp(&store).as_deref(), Some(&b"stamp"[..]));
            // While the stamp is read, the store stays locked.
            let held = super::SledStorage::read_clean(&store).unwrap();
            assert!(matches!(
                super::SledStorage::open_waiting(&store, std::time::Duration::ZERO),
                Err(super::StoreError::Busy { .. })
            ));
            drop(held);

            let mut s = super::SledStorage::open(&store).unwrap();
            change(&mut s);
            drop(s);
            assert_eq!(read_stamp(&store), None, "a stamp outlived {what}");
        }
    }

    #[test]
    fn opening_the_store_keeps_its_stamp_and_removes_a_half_written_one() {
        let (mut s, dir) = make();
        s.stamp_clean(b"stamp").unwrap();
        drop(s);
        let store = dir.path().join("store");
        let tmp = store.join(format!("{}.tmp", super::STAMP_FILE));
        std::fs::write(&tmp, b"torn").unwrap();
        drop(super::SledStorage::open(&store).unwrap());
        assert_eq!(read_stamp(&store).as_deref(), Some(&b"stamp"[..]));
        assert!(!tmp.exists());
        // An older version removes every `document.*` file it does not
        // point at on open: the stamp is one of them.
        assert!(super::STAMP_FILE.starts_with(super::SNAPSHOT_FILE_PREFIX));
    }

    #[test]
    fn a_home_without_a_store_has_no_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        assert_eq!(read_stamp(&store), None);
        assert!(!store.exists(), "reading made a store directory");
    }

    #[test]
    fn a_store_stamped_again_after_a_change_reads_the_new_stamp() {
        use super::super::Storage;
        let (mut s, dir) = make();
        s.stamp_clean(b"old").unwrap();
        s.append(b"one").unwrap();
        s.stamp_clean(b"new").unwrap();
        drop(s);
        let store = dir.path().join("store");
        assert_eq!(read_stamp(&store).as_deref(), Some(&b"new"[..]));
        let mut s = super::SledStorage::open(&store).unwrap();
        s.append(b"two").unwrap();
        drop(s);
        assert_eq!(read_stamp(&store), None);
    }
}
