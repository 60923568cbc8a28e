//! Backups of the relay's store, taken while it runs, and restoring one.
//!
//! A backup is every entry of every sled tree, read at one instant: while it
//! is read, [`Pausable`] holds back the store's writes (appends, snapshots,
//! registrations, hellos), so no append is half in it (a record without its
//! index entry, or a device's `last_seq` past its records). Reads go on.
//! A running relay takes the backup itself, asked through its control socket
//! ([`crate::control`]); a stopped one is opened directly. Either way the
//! file holds only what the store holds: sealed records and snapshots, token
//! hashes, device ids and sequence numbers. Never a key, never plaintext.
//!
//! The file: [`MAGIC`], a version, the store's next id (relay sequence
//! numbers come from sled's id generator, and a restored store must not hand
//! out one it already used), then tree and entry frames, then an end frame
//! with the entry count and a SHA-256 of every byte before it. A backup that
//! was cut short or damaged is refused whole, before anything is replaced.
//!
//! A restore builds the store in `<data>/store.restoring` and renames it to
//! `<data>/store` only once it is complete. It never removes a store that
//! holds anything: it refuses, or with `replace` keeps the old one aside.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use interlog_core::wire::{DeviceInfo, SealedRecord, Snapshot};
use sha2::{Digest, Sha256};

use crate::store::{Appended, Page, RelayStore, RelayStoreError, SledRelayStore, VaultMeta};

/// The first bytes of every backup file.
pub const MAGIC: &[u8] = b"INTERLOG-RELAY-BACKUP\n";
const VERSION: u32 = 1;
const TAG_END: u8 = 0;
const TAG_TREE: u8 = 1;
const TAG_ENTRY: u8 = 2;

/// Why a backup or a restore did not happen. Each says what was (not)
/// changed and what to do next.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no relay store in {dir} (a relay keeps it in DIR/store once it has run); check --data")]
    NoStore { dir: PathBuf },
    #[error("the relay using {dir} is running but did not answer on {socket} (it may still be starting, or be an older relay without backups while running); try again in a moment, or upgrade the relay")]
    RunningWithoutControl { dir: PathBuf, socket: PathBuf },
    #[error("the relay refused the backup: {0}; see its log")]
    Refused(String),
    #[error("the relay stopped sending the backup before its end ({why}); see the relay's log, then try again. {out} was not changed")]
    Interrupted { why: String, out: PathBuf },
    #[error("a relay is running on {dir}; stop it first (for example `systemctl stop interlog-relay`), then restore again. Nothing was changed")]
    Running { dir: PathBuf },
    #[error("{store} already holds data ({vaults} vault(s)); nothing was changed. Restore into a new, empty data directory and start the relay there, or, with the relay stopped, pass --replace: the store there is then kept aside, renamed to store.replaced-TIME, and the backup put in its place")]
    NotEmpty { store: PathBuf, vaults: usize },
    #[error("{path} is not a complete relay backup ({why}); nothing was changed. Use another backup file")]
    Damaged { path: PathBuf, why: String },
    #[error(transparent)]
    Store(#[from] RelayStoreError),
    #[error("could not {what} {path}: {error}")]
    Io {
        what: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |error| BackupError::Io { what, path, error }
}

/// What a backup holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub vaults: u64,
    pub records: u64,
    pub snapshots: u64,
    /// Entries of every tree, the ones above included.
    pub entries: u64,
    /// The size of the backup file.
    pub bytes: u64,
}

impl Summary {
    fn count(&mut self, tree: &[u8]) {
        self.entries += 1;
        match tree {
            b"vaults" => self.vaults += 1,
            b"records" => self.records += 1,
            b"snapshots" => self.snapshots += 1,
            _ => {}
        }
    }
}

/// A store whose writes can be held back while a backup reads it. Writes
/// share the gate; a backup takes it alone.
pub struct Pausable<S> {
    inner: S,
    writes: RwLock<()>,
}

impl<S> Pausable<S> {
    pub fn new(inner: S) -> Self {
        Pausable {
            inner,
            writes: RwLock::new(()),
        }
    }

    fn write(&self) -> RwLockReadGuard<'_, ()> {
        // The gate guards no data: a panic while holding it leaves nothing half done.
        self.writes.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl Pausable<SledRelayStore> {
    /// Writes a backup of the whole store to `out`, with writes held back
    /// until it is written (or `out` fails).
    pub fn backup(&self, out: &mut impl Write) -> Result<Summary, BackupError> {
        let _alone = self.writes.write().unwrap_or_else(|p| p.into_inner());
        write(&self.inner.db()?, out)
    }
}

impl<S: RelayStore> RelayStore for Pausable<S> {
    fn vault(&self, vault: &str) -> Result<Option<VaultMeta>, RelayStoreError> {
        self.inner.vault(vault)
    }
    fn vault_by_token(&self, token_hash: &[u8]) -> Result<Option<String>, RelayStoreError> {
        self.inner.vault_by_token(token_hash)
    }
    fn create_vault(&self, vault: &str, meta: &VaultMeta) -> Result<(), RelayStoreError> {
        let _w = self.write();
        self.inner.create_vault(vault, meta)
    }
    fn append(
        &self,
        vault: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<Appended, RelayStoreError> {
        let _w = self.write();
        self.inner.append(vault, record, now)
    }
    fn page(
        &self,
        vault: &str,
        cursors: &std::collections::BTreeMap<String, u64>,
        from: u64,
        max_bytes: usize,
    ) -> Result<Page, RelayStoreError> {
        self.inner.page(vault, cursors, from, max_bytes)
    }
    fn put_snapshot(&self, vault: &str, snapshot: &Snapshot) -> Result<(), RelayStoreError> {
        let _w = self.write();
        self.inner.put_snapshot(vault, snapshot)
    }
    fn snapshot(&self, vault: &str) -> Result<Option<Snapshot>, RelayStoreError> {
        self.inner.snapshot(vault)
    }
    fn devices(&self, vault: &str) -> Result<Vec<DeviceInfo>, RelayStoreError> {
        self.inner.devices(vault)
    }
    fn touch(&self, vault: &str, device: &str, now: i64) -> Result<(), RelayStoreError> {
        let _w = self.write();
        self.inner.touch(vault, device, now)
    }
}

/// Counts and hashes what passes through to `inner`.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn sled_io(e: sled::Error) -> BackupError {
    BackupError::Store(RelayStoreError::Io {
        path: "relay store".into(),
        detail: e.to_string(),
    })
}

/// Writes every tree of `db` to `out`. The caller keeps writers away.
pub fn write(db: &sled::Db, out: &mut impl Write) -> Result<Summary, BackupError> {
    let failed = |error: io::Error| BackupError::Io {
        what: "write the backup to",
        path: PathBuf::from("its destination"),
        error,
    };
    let mut out = Hashing {
        inner: BufWriter::new(out),
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut summary = Summary::default();
    // Above every relay sequence number handed out so far.
    let next_id = db.generate_id().map_err(sled_io)?;
    out.write_all(MAGIC).map_err(failed)?;
    out.write_all(&VERSION.to_be_bytes()).map_err(failed)?;
    out.write_all(&next_id.to_be_bytes()).map_err(failed)?;
    for name in db.tree_names() {
        let tree = db.open_tree(&name).map_err(sled_io)?;
        out.write_all(&[TAG_TREE]).map_err(failed)?;
        put(&mut out, &name).map_err(failed)?;
        for item in tree.iter() {
            let (k, v) = item.map_err(sled_io)?;
            out.write_all(&[TAG_ENTRY]).map_err(failed)?;
            put(&mut out, &k).map_err(failed)?;
            put(&mut out, &v).map_err(failed)?;
            summary.count(&name);
        }
    }
    out.write_all(&[TAG_END]).map_err(failed)?;
    out.write_all(&summary.entries.to_be_bytes())
        .map_err(failed)?;
    let hash = out.hash.clone().finalize();
    out.inner.write_all(&hash).map_err(failed)?;
    out.inner.flush().map_err(failed)?;
    summary.bytes = out.bytes + hash.len() as u64;
    Ok(summary)
}

fn put(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::other("an entry over 4 GiB cannot be backed up"))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

/// Why reading a backup stopped.
enum ReadError {
    /// The bytes are not a complete backup.
    Bad(String),
    /// Where the entries went failed.
    Sink(BackupError),
}

fn bad(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadError::Bad("it ends early".into())
    } else {
        ReadError::Bad(format!("reading it failed: {e}"))
    }
}

fn get<const N: usize>(r: &mut impl Read) -> Result<[u8; N], ReadError> {
    let mut buf = [0; N];
    r.read_exact(&mut buf).map_err(bad)?;
    Ok(buf)
}

fn get_bytes(r: &mut impl Read) -> Result<Vec<u8>, ReadError> {
    let len = u32::from_be_bytes(get(r)?) as u64;
    // Grows as bytes arrive: a damaged length cannot ask for gigabytes up front.
    let mut out = Vec::new();
    r.take(len).read_to_end(&mut out).map_err(bad)?;
    if out.len() as u64 != len {
        return Err(ReadError::Bad("it ends early".into()));
    }
    Ok(out)
}

/// Reads a whole backup, handing each entry to `each` (tree, key, value),
/// and checks its end: the count, the hash, and nothing after them. Returns
/// the next id it recorded and what it holds.
fn read(
    r: &mut impl Read,
    mut each: impl FnMut(&[u8], &[u8], &[u8]) -> Result<(), BackupError>,
) -> Result<(u64, Summary), ReadError> {
    let mut r = Hashing {
        inner: r,
        hash: Sha256::new(),
        bytes: 0,
    };
    let magic: [u8; MAGIC.len()] = get(&mut r)?;
    if magic != MAGIC {
        return Err(ReadError::Bad("it does not start as one".into()));
    }
    let version = u32::from_be_bytes(get(&mut r)?);
    if version != VERSION {
        return Err(ReadError::Bad(format!(
            "it is format version {version}, this relay reads version {VERSION}: restore it with the relay version that made it"
        )));
    }
    let next_id = u64::from_be_bytes(get(&mut r)?);
    let mut summary = Summary::default();
    let mut tree: Option<Vec<u8>> = None;
    loop {
        let [tag] = get(&mut r)?;
        match tag {
            TAG_TREE => tree = Some(get_bytes(&mut r)?),
            TAG_ENTRY => {
                let name = tree
                    .as_deref()
                    .ok_or_else(|| ReadError::Bad("an entry outside any tree".into()))?;
                let k = get_bytes(&mut r)?;
                let v = get_bytes(&mut r)?;
                each(name, &k, &v).map_err(ReadError::Sink)?;
                summary.count(name);
            }
            TAG_END => break,
            other => return Err(ReadError::Bad(format!("an unknown frame {other}"))),
        }
    }
    let count = u64::from_be_bytes(get(&mut r)?);
    let expected = r.hash.clone().finalize();
    let mut stored = [0; 32];
    r.inner.read_exact(&mut stored).map_err(bad)?;
    if count != summary.entries || stored[..] != expected[..] {
        return Err(ReadError::Bad("its checksum does not match".into()));
    }
    let mut extra = [0; 1];
    if r.inner.read(&mut extra).map_err(bad)? != 0 {
        return Err(ReadError::Bad("bytes follow its end".into()));
    }
    summary.bytes = r.bytes + 32;
    Ok((next_id, summary))
}

/// A backup taken by [`backup`].
#[derive(Debug)]
pub struct Taken {
    pub summary: Summary,
    /// Whether the running relay took it (else the store was opened here).
    pub from_running_relay: bool,
}

/// Backs up the relay store in `data` to `out`, owner-only (0600), replacing
/// `out` only once the backup is complete and checked. A running relay is
/// asked through its control socket; a stopped one is opened here.
pub fn backup(data: &Path, out: &Path) -> Result<Taken, BackupError> {
    let partial = sibling(out, ".partial");
    let file = private_file(&partial)?;
    let taken = take(data, out, file);
    let taken = taken.and_then(|taken| {
        std::fs::rename(&partial, out).map_err(io_err("rename the finished backup to", out))?;
        sync_parent(out);
        Ok(taken)
    });
    if taken.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    taken
}

fn take(data: &Path, out: &Path, file: std::fs::File) -> Result<Taken, BackupError> {
    let mut writer = BufWriter::new(file);
    let taken = match crate::control::ask(data, crate::control::BACKUP).map_err(io_err(
        "ask the relay for a backup through",
        &crate::control::path(data),
    ))? {
        Some(stream) => {
            let mut first = [0u8; MAGIC.len()];
            let mut stream = io::BufReader::new(stream);
            let interrupted = |why: String| BackupError::Interrupted {
                why,
                out: out.to_path_buf(),
            };
            stream
                .read_exact(&mut first)
                .map_err(|e| interrupted(e.to_string()))?;
            if first.starts_with(b"error: ") {
                let mut rest = String::new();
                let _ = stream.take(4096).read_to_string(&mut rest);
                let all = String::from_utf8_lossy(&first).into_owned() + &rest;
                return Err(BackupError::Refused(
                    all.trim_start_matches("error: ").trim().to_string(),
                ));
            }
            let mut tee = Tee {
                from: (&first[..]).chain(stream),
                to: &mut writer,
            };
            let (_, summary) = read(&mut tee, |_, _, _| Ok(())).map_err(|e| match e {
                ReadError::Bad(why) => interrupted(why),
                ReadError::Sink(e) => e,
            })?;
            Taken {
                summary,
                from_running_relay: true,
            }
        }
        None => {
            let db = open_stopped(data)?;
            let summary = write(&db, &mut writer)?;
            drop(db);
            // sled may have made files with this process's umask.
            crate::owner_only(&data.join("store")).map_err(io_err("make owner-only", data))?;
            Taken {
                summary,
                from_running_relay: false,
            }
        }
    };
    let file = writer.into_inner().map_err(|e| BackupError::Io {
        what: "write",
        path: out.to_path_buf(),
        error: e.into_error(),
    })?;
    file.sync_all().map_err(io_err("flush", out))?;
    Ok(taken)
}

/// Copies what is read from `from` to `to`: the backup is checked on its
/// way to the file.
struct Tee<R, W> {
    from: R,
    to: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        self.to.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// The store of a relay that is not running, opened here; a relay that
/// holds it is named.
fn open_stopped(data: &Path) -> Result<sled::Db, BackupError> {
    let dir = data.join("store");
    if !dir.is_dir() {
        return Err(BackupError::NoStore {
            dir: data.to_path_buf(),
        });
    }
    let locked = |e: &dyn std::fmt::Display| e.to_string().contains("could not acquire lock");
    // First as it is: only once sled's lock is known to be free may the
    // relay's own open clean up after a crash (which a relay running
    // without a control socket would not survive).
    match sled::Config::new().path(&dir).open() {
        Ok(db) => Ok(db),
        Err(e) if locked(&e) => Err(BackupError::RunningWithoutControl {
            dir: data.to_path_buf(),
            socket: crate::control::path(data),
        }),
        Err(_) => Ok(SledRelayStore::open(data)?.db()?),
    }
}

/// A restore done by [`restore`].
#[derive(Debug)]
pub struct Restored {
    pub summary: Summary,
    /// Where the store that was there before now is (only with `replace`).
    pub set_aside: Option<PathBuf>,
}

/// Restores the backup `from` into `data`'s store. Refuses while a relay
/// runs on `data`, and refuses a store that holds anything unless
/// `replace`, which renames it to `store.replaced-TIME` first. Nothing is
/// replaced until the whole backup was read and checked.
pub fn restore(data: &Path, from: &Path, replace: bool) -> Result<Restored, BackupError> {
    let running = || BackupError::Running {
        dir: data.to_path_buf(),
    };
    if crate::control::answers(data) {
        return Err(running());
    }
    let mut file = io::BufReader::new(std::fs::File::open(from).map_err(io_err("open", from))?);
    crate::private_data_dir(data).map_err(io_err("create", data))?;
    let store_dir = data.join("store");
    // What is there now, held open (and so locked) while we look.
    let old = if store_dir.exists() {
        // Opened as it is: a relay that runs without a control socket may be
        // writing a sled snapshot file, which a cleanup would remove.
        let db = sled::Config::new().path(&store_dir).open().map_err(|e| {
            if e.to_string().contains("could not acquire lock") {
                running()
            } else {
                sled_io(e)
            }
        })?;
        // Only trees that exist: looking must not add one.
        let (mut vaults, mut empty) = (0, true);
        for name in db.tree_names() {
            let tree = db.open_tree(&name).map_err(sled_io)?;
            empty &= tree.is_empty();
            if name == "vaults" {
                vaults = tree.len();
            }
        }
        if !empty && !replace {
            return Err(BackupError::NotEmpty {
                store: store_dir,
                vaults,
            });
        }
        Some((db, empty))
    } else {
        None
    };
    let staging = data.join("store.restoring");
    // Only a restore that did not finish leaves this behind: it is ours.
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_err("remove the unfinished", &staging))?;
    }
    let summary = match fill(&staging, &mut file) {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(match e {
                ReadError::Bad(why) => BackupError::Damaged {
                    path: from.to_path_buf(),
                    why,
                },
                ReadError::Sink(e) => e,
            });
        }
    };
    let mut set_aside = None;
    if let Some((db, empty)) = old {
        drop(db);
        if empty {
            std::fs::remove_dir_all(&store_dir).map_err(io_err("remove the empty", &store_dir))?;
        } else {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let aside = data.join(format!("store.replaced-{now}"));
            std::fs::rename(&store_dir, &aside).map_err(io_err("keep aside", &store_dir))?;
            set_aside = Some(aside);
        }
    }
    std::fs::rename(&staging, &store_dir)
        .map_err(io_err("move the restored store to", &store_dir))?;
    sync_parent(&store_dir);
    crate::owner_only(&store_dir).map_err(io_err("make owner-only", &store_dir))?;
    Ok(Restored { summary, set_aside })
}

/// Builds a store in `dir` from a backup, flushed and closed.
fn fill(dir: &Path, from: &mut impl Read) -> Result<Summary, ReadError> {
    let db = sled::Config::new()
        .path(dir)
        .open()
        .map_err(|e| ReadError::Sink(sled_io(e)))?;
    let mut trees: std::collections::HashMap<Vec<u8>, sled::Tree> = Default::default();
    let (next_id, summary) = read(from, |name, k, v| {
        if !trees.contains_key(name) {
            trees.insert(name.to_vec(), db.open_tree(name).map_err(sled_io)?);
        }
        if let Some(tree) = trees.get(name) {
            tree.insert(k, v).map_err(sled_io)?;
        }
        Ok(())
    })?;
    // Relay sequence numbers come from this generator: it must not hand
    // out one the backup already holds. One counter step per id is the
    // only way sled moves it forward.
    while db.generate_id().map_err(|e| ReadError::Sink(sled_io(e)))? < next_id {}
    db.flush().map_err(|e| ReadError::Sink(sled_io(e)))?;
    Ok(summary)
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// A new file readable by its owner only, whatever the umask.
fn private_file(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(io_err("create", path))?;
    // The mode above applies only to a file that did not exist.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("make owner-only", path))?;
    }
    Ok(file)
}

/// Makes a rename in `path`'s directory durable (best effort: on Unix).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_bytes::ByteBuf;
    use std::collections::BTreeMap;

    fn rec(device: &str, seq: u64) -> SealedRecord {
        SealedRecord {
            device: device.into(),
            seq,
            kind: interlog_core::wire::RecordKind::Change,
            payload: ByteBuf::from(vec![seq as u8; 10]),
        }
    }

    fn all(s: &dyn RelayStore, vault: &str) -> Vec<SealedRecord> {
        s.page(vault, &BTreeMap::new(), 0, usize::MAX)
            .unwrap()
            .records
    }

    fn meta() -> VaultMeta {
        VaultMeta {
            token_hash: vec![1; 32],
            created: 5,
        }
    }

    /// A restored store holds what the old one held, and its next append
    /// gets a relay sequence number of its own: a fresh generator would
    /// start again at 0 and overwrite the oldest record.
    #[test]
    fn a_restored_store_holds_everything_and_appends_after_it() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        let file = root.path().join("relay.backup");
        {
            let s = SledRelayStore::open(&old).unwrap();
            s.create_vault("v", &meta()).unwrap();
            for seq in 1..=3 {
                s.append("v", &rec("a", seq), 1).unwrap();
            }
        }
        let taken = backup(&old, &file).unwrap();
        assert!(!taken.from_running_relay);
        assert_eq!((taken.summary.vaults, taken.summary.records), (1, 3));
        let restored = restore(&new, &file, false).unwrap();
        assert_eq!(restored.summary, taken.summary);
        let s = SledRelayStore::open(&new).unwrap();
        assert_eq!(s.vault("v").unwrap(), Some(meta()));
        assert_eq!(
            all(&s, "v"),
            (1..=3).map(|i| rec("a", i)).collect::<Vec<_>>()
        );
        assert!(matches!(
            s.append("v", &rec("a", 4), 2).unwrap(),
            Appended::Stored(_)
        ));
        assert_eq!(
            all(&s, "v"),
            (1..=4).map(|i| rec("a", i)).collect::<Vec<_>>()
        );
    }

    /// A backup cut anywhere, or with a byte changed, restores nothing.
    #[test]
    fn a_cut_or_damaged_backup_is_refused_whole() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        {
            let s = SledRelayStore::open(&data).unwrap();
            s.create_vault("v", &meta()).unwrap();
            s.append("v", &rec("a", 1), 1).unwrap();
        }
        let file = root.path().join("b");
        backup(&data, &file).unwrap();
        let good = std::fs::read(&file).unwrap();
        let mut cases: Vec<Vec<u8>> = (0..good.len())
            .step_by(7)
            .map(|n| good[..n].to_vec())
            .collect();
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 1;
        cases.push(flipped);
        let mut longer = good.clone();
        longer.push(0);
        cases.push(longer);
        for (i, bytes) in cases.into_iter().enumerate() {
            std::fs::write(&file, bytes).unwrap();
            let into = root.path().join(format!("into-{i}"));
            let err = restore(&into, &file, false).unwrap_err();
            assert!(matches!(err, BackupError::Damaged { .. }), "{i}: {err}");
            assert!(!into.join("store").exists() && !into.join("store.restoring").exists());
        }
    }

    /// Restore never removes a store that holds anything: it refuses, and
    /// with `replace` keeps it aside whole.
    #[test]
    fn restore_refuses_a_store_with_data_and_replace_keeps_it_aside() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        for (dir, vault) in [(&a, "va"), (&b, "vb")] {
            let s = SledRelayStore::open(dir).unwrap();
            s.create_vault(vault, &meta()).unwrap();
        }
        let file = root.path().join("a.backup");
        backup(&a, &file).unwrap();
        let err = restore(&b, &file, false).unwrap_err();
        assert!(
            matches!(err, BackupError::NotEmpty { vaults: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert!(SledRelayStore::open(&b)
            .unwrap()
            .vault("vb")
            .unwrap()
            .is_some());
        let restored = restore(&b, &file, true).unwrap();
        let aside = restored.set_aside.unwrap();
        let kept = sled::Config::new().path(&aside).open().unwrap();
        assert!(kept
            .open_tree("vaults")
            .unwrap()
            .contains_key("vb")
            .unwrap());
        let now = SledRelayStore::open(&b).unwrap();
        assert!(now.vault("va").unwrap().is_some() && now.vault("vb").unwrap().is_none());
    }

    /// Writes wait while a backup reads, and go through after it.
    #[test]
    fn writes_wait_for_a_backup_in_progress() {
        let root = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(Pausable::new(SledRelayStore::open(root.path()).unwrap()));
        s.create_vault("v", &meta()).unwrap();
        let (started_tx, started) = std::sync::mpsc::channel();
        struct Slow(std::sync::mpsc::Sender<()>, Vec<u8>);
        impl Write for Slow {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let _ = self.0.send(());
                std::thread::sleep(std::time::Duration::from_millis(300));
                self.1.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let backing = {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut out = Slow(started_tx, Vec::new());
                s.backup(&mut out).unwrap();
                out.1
            })
        };
        started.recv().unwrap();
        s.append("v", &rec("a", 1), 1).unwrap();
        let bytes = backing.join().unwrap();
        // The backup was taken before the append: it holds no record.
        let (_, summary) = read(&mut &bytes[..], |_, _, _| Ok(())).ok().unwrap();
        assert_eq!((summary.vaults, summary.records), (1, 0));
        assert_eq!(all(&*s, "v"), vec![rec("a", 1)]);
    }
}
