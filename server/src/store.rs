//! The relay's storage: sealed records, snapshots, devices and vault tokens.
//!
//! [`RelayStore`] is the seam; [`SledRelayStore`] is the default,
//! [`postgres::PostgresRelayStore`] serves relays that share one database,
//! and [`MemoryRelayStore`] serves tests. All three pass one contract suite
//! (`relay_store_tests!`, one named test per promise and store). The relay
//! never looks inside a payload: it stores bytes under (vault, device, seq)
//! and streams them back in the order it received them (its own `relay_seq`),
//! which keeps every device's changes after the changes they depend on.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use interlog_core::wire::{DeviceInfo, SealedRecord, Snapshot, MAX_DEVICES, MAX_RECORDS_PER_FRAME};
use serde::{Deserialize, Serialize};

mod group_commit;
pub mod postgres;

pub use postgres::PostgresRelayStore;

/// What changed in a store that other relay processes share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Another relay stored records of this vault.
    Vault(String),
    /// Anything may have changed (notifications may have been missed).
    Everything,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayStoreError {
    #[error("relay storage at {path} failed: {detail}")]
    Io { path: String, detail: String },
    #[error("relay storage at {path} is out of disk space")]
    Full { path: String },
    #[error("relay storage at {path} is in use by another relay process (or a restore); stop that one, or give this relay another --data directory")]
    Busy { path: String },
    #[error("relay storage holds a malformed entry: {0}")]
    Corrupt(String),
}

/// What the relay keeps about a vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultMeta {
    /// SHA-256 of the access token derived from the vault key.
    #[serde(with = "serde_bytes")]
    pub token_hash: Vec<u8>,
    pub created: i64,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored durably under this relay sequence number.
    Stored(u64),
    /// The same (device, seq) with the same bytes was already stored.
    Duplicate,
    /// The same (device, seq) with different bytes: the device id was reused.
    Conflict,
    /// The device skipped a seq; it must send `expected` first.
    Gap { expected: u64 },
    /// A new device's first record, and the vault already has
    /// [`MAX_DEVICES`] devices: nothing stored.
    TooManyDevices,
}

/// A page of records, and where the next page starts.
pub struct Page {
    pub records: Vec<SealedRecord>,
    pub next: Option<u64>,
}

/// A place to keep every vault's sealed records.
pub trait RelayStore: Send + Sync + 'static {
    fn vault(&self, vault: &str) -> Result<Option<VaultMeta>, RelayStoreError>;
    /// The vault registered with this token hash (a recovery from the
    /// words alone, and telling a wiped vault from a wrong key).
    fn vault_by_token(&self, token_hash: &[u8]) -> Result<Option<String>, RelayStoreError>;
    fn create_vault(&self, vault: &str, meta: &VaultMeta) -> Result<(), RelayStoreError>;
    /// Stores a record durably (flushed) before returning `Stored`.
    fn append(
        &self,
        vault: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<Appended, RelayStoreError>;
    /// Records with relay seq >= `from` whose seq is above the device's
    /// cursor (absent: 0): at most `max_bytes` of payload and
    /// [`MAX_RECORDS_PER_FRAME`] records, except that the first record
    /// always comes, however large.
    fn page(
        &self,
        vault: &str,
        cursors: &BTreeMap<String, u64>,
        from: u64,
        max_bytes: usize,
    ) -> Result<Page, RelayStoreError>;
    /// Stores a snapshot durably, replacing the vault's previous one.
    fn put_snapshot(&self, vault: &str, snapshot: &Snapshot) -> Result<(), RelayStoreError>;
    fn snapshot(&self, vault: &str) -> Result<Option<Snapshot>, RelayStoreError>;
    /// The devices the relay holds records from (at most [`MAX_DEVICES`]):
    /// a hello alone adds nobody, so strangers' ids cannot grow the list.
    fn devices(&self, vault: &str) -> Result<Vec<DeviceInfo>, RelayStoreError>;
    /// Records that a device connected; only a device the relay holds
    /// records from is remembered.
    fn touch(&self, vault: &str, device: &str, now: i64) -> Result<(), RelayStoreError>;

    /// Whether invite codes live in this store (a store several relays
    /// share), rather than as files in the data directory.
    fn keeps_invites(&self) -> bool {
        false
    }
    /// Keeps a new one-time invite code (only if [`Self::keeps_invites`]).
    fn add_invite(&self, _code: &str, _now: i64) -> Result<(), RelayStoreError> {
        Ok(())
    }
    /// Uses up an invite code: true if it was there and unused.
    fn take_invite(&self, _code: &str, _now: i64) -> Result<bool, RelayStoreError> {
        Ok(false)
    }
    /// For a store other relay processes write to as well: the vaults they
    /// append to, as they do. `None` (the default): only this process
    /// writes. Called once, from inside the relay's runtime.
    fn changes(&self) -> Option<tokio::sync::mpsc::Receiver<Change>> {
        None
    }
}

fn cbor<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Serializing plain structs into a Vec cannot fail.
    ciborium::into_writer(v, &mut out).expect("CBOR into memory"); // ok: our own structs into a Vec, no peer input
    out
}

fn uncbor<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, RelayStoreError> {
    ciborium::from_reader(bytes).map_err(|e| RelayStoreError::Corrupt(e.to_string()))
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// Whether `record` may join a page that holds `records` (`bytes` of
/// payload): the first always does, so one record always goes out alone
/// (the codec's [`interlog_core::wire::MAX_PAYLOAD_BYTES`] makes sure it fits
/// in a frame); after it, up to `max_bytes` of payload and
/// [`MAX_RECORDS_PER_FRAME`] records.
fn fits(records: &[SealedRecord], bytes: usize, record: &SealedRecord, max_bytes: usize) -> bool {
    records.is_empty()
        || (records.len() < MAX_RECORDS_PER_FRAME
            && bytes.saturating_add(record.payload.len()) <= max_bytes)
}

/// Room a reopened store needs (sled's default segment size, twice).
const ROOM_PROBE: usize = 1024 * 1024;

/// A sled error as a store error; a full disk (or quota) is told apart, so
/// devices hear that their changes wait for space rather than a vague failure.
fn sled_error(path: &str, e: sled::Error) -> RelayStoreError {
    let full = match &e {
        sled::Error::Io(io) => {
            // ENOSPC and EDQUOT on Linux.
            io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(28 | 122))
        }
        _ => false,
    };
    // sled's words when another process holds the store's lock.
    let busy =
        matches!(&e, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock"));
    if full {
        RelayStoreError::Full { path: path.into() }
    } else if busy {
        RelayStoreError::Busy { path: path.into() }
    } else {
        RelayStoreError::Io {
            path: path.into(),
            detail: e.to_string(),
        }
    }
}

/// The sled-backed store. Trees: `vaults`, `records` (vault, relay_seq),
/// `index` (vault, device, seq) -> relay_seq, `devices`, `snapshots`.
///
/// sled 0.34 remembers its first I/O error (a full disk, say) and fails
/// every later call until it is opened again, so after an I/O error the
/// store reopens itself on the next call: once space is back, the relay
/// recovers without a restart.
pub struct SledRelayStore {
    dir: std::path::PathBuf,
    path: String,
    trees: RwLock<Option<Arc<Trees>>>,
    broken: AtomicBool,
    /// Held while a device's first record is counted and stored, so the
    /// cap of [`MAX_DEVICES`] per vault holds under concurrent appends.
    new_devices: Mutex<()>,
    /// Appends that arrive together share one flush.
    commits: group_commit::GroupCommit,
}

struct Trees {
    db: sled::Db,
    vaults: sled::Tree,
    records: sled::Tree,
    index: sled::Tree,
    devices: sled::Tree,
    /// (vault, device) -> unix seconds of its last hello.
    seen: sled::Tree,
    snapshots: sled::Tree,
    /// token hash -> vault.
    tokens: sled::Tree,
}

impl Trees {
    fn open(path: &Path) -> Result<Trees, RelayStoreError> {
        let p = path.display().to_string();
        let io = |e: sled::Error| sled_error(&p, e);
        // Before opening, no other handle can be writing a snapshot.
        interlog_core::sled_quirks::clear_interrupted_snapshots(path).map_err(|e| {
            RelayStoreError::Io {
                path: p.clone(),
                detail: e.to_string(),
            }
        })?;
        let db = sled::Config::new().path(path).open().map_err(io)?;
        let t = Trees {
            vaults: db.open_tree("vaults").map_err(io)?,
            records: db.open_tree("records").map_err(io)?,
            index: db.open_tree("index").map_err(io)?,
            devices: db.open_tree("devices").map_err(io)?,
            seen: db.open_tree("seen").map_err(io)?,
            snapshots: db.open_tree("snapshots").map_err(io)?,
            tokens: db.open_tree("tokens").map_err(io)?,
            db,
        };
        // Stores from before the token index get it now (once: the index
        // is written with every vault since).
        if t.tokens.is_empty() && !t.vaults.is_empty() {
            for entry in t.vaults.iter() {
                let (vault, meta) = entry.map_err(io)?;
                let meta: VaultMeta = uncbor(&meta)?;
                t.tokens.insert(meta.token_hash, vault).map_err(io)?;
            }
            t.db.flush().map_err(io)?;
        }
        Ok(t)
    }
}

impl SledRelayStore {
    pub fn open(dir: &Path) -> Result<Self, RelayStoreError> {
        let path = dir.join("store");
        let trees = Trees::open(&path)?;
        Ok(SledRelayStore {
            path: path.display().to_string(),
            dir: path,
            trees: RwLock::new(Some(Arc::new(trees))),
            broken: Default::default(),
            new_devices: Mutex::new(()),
            commits: Default::default(),
        })
    }

    /// The open trees for reading. After an I/O error the old instance
    /// still serves reads (sled fails only its writes).
    fn t(&self) -> Result<Arc<Trees>, RelayStoreError> {
        {
            let guard = self.trees.read().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = guard.as_ref() {
                return Ok(t.clone());
            }
        }
        self.reopen()
    }

    /// The open trees for writing: after an I/O error, sled opened afresh
    /// once the disk has room again.
    fn w(&self) -> Result<Arc<Trees>, RelayStoreError> {
        if self.broken.load(Ordering::Acquire) {
            if !self.has_room() {
                return Err(RelayStoreError::Full {
                    path: self.path.clone(),
                });
            }
            return self.reopen();
        }
        self.t()
    }

    /// Whether a write of [`ROOM_PROBE`] bytes fits: sled needs about one
    /// segment of room to open and write.
    fn has_room(&self) -> bool {
        use std::io::Write;
        let probe = self.dir.with_extension("room-probe");
        let ok = std::fs::File::create(&probe)
            .and_then(|mut f| {
                f.write_all(&vec![0; ROOM_PROBE])?;
                f.sync_all()
            })
            .is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }

    fn reopen(&self) -> Result<Arc<Trees>, RelayStoreError> {
        let mut guard = self.trees.write().unwrap_or_else(|p| p.into_inner());
        if self.broken.load(Ordering::Acquire) {
            // Drop our handle first: sled allows one open instance per path.
            guard.take();
        }
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        tracing::warn!("reopening the relay store after an I/O error");
        let t = Arc::new(Trees::open(&self.dir)?);
        *guard = Some(t.clone());
        self.broken.store(false, Ordering::Release);
        Ok(t)
    }

    fn io(&self, e: sled::Error) -> RelayStoreError {
        if matches!(e, sled::Error::Io(_)) {
            self.broken.store(true, Ordering::Release);
        }
        sled_error(&self.path, e)
    }

    /// The sled database, for a backup (`crate::backup`) that reads every
    /// tree while writes are held back.
    pub fn db(&self) -> Result<sled::Db, RelayStoreError> {
        Ok(self.t()?.db.clone())
    }

    fn flush(&self, t: &Trees) -> Result<(), RelayStoreError> {
        t.db.flush().map(|_| ()).map_err(|e| self.io(e))
    }
}

impl RelayStore for SledRelayStore {
    fn vault(&self, vault: &str) -> Result<Option<VaultMeta>, RelayStoreError> {
        let t = self.t()?;
        match t.vaults.get(vault).map_err(|e| self.io(e))? {
            Some(v) => Ok(Some(uncbor(&v)?)),
            None => Ok(None),
        }
    }

    fn vault_by_token(&self, token_hash: &[u8]) -> Result<Option<String>, RelayStoreError> {
        let t = self.t()?;
        match t.tokens.get(token_hash).map_err(|e| self.io(e))? {
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| RelayStoreError::Corrupt("a vault id is not UTF-8".into())),
            None => Ok(None),
        }
    }

    fn create_vault(&self, vault: &str, meta: &VaultMeta) -> Result<(), RelayStoreError> {
        let t = self.w()?;
        // The index first: a vault is never registered without it.
        t.tokens
            .insert(meta.token_hash.as_slice(), vault)
            .map_err(|e| self.io(e))?;
        t.vaults.insert(vault, cbor(meta)).map_err(|e| self.io(e))?;
        self.flush(&t)
    }

    fn append(
        &self,
        vault: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<Appended, RelayStoreError> {
        let t = self.w()?;
        use sled::transaction::{ConflictableTransactionError as Abort, TransactionError};
        use sled::Transactional;
        let index_key = key(&[
            vault.as_bytes(),
            record.device.as_bytes(),
            &record.seq.to_be_bytes(),
        ]);
        let device_key = key(&[vault.as_bytes(), record.device.as_bytes()]);
        let relay_seq = t.db.generate_id().map_err(|e| self.io(e))?;
        let body = cbor(record);
        // Only a first record can add a device: count them then, under a
        // lock every first record takes.
        let first =
            (record.seq == 1).then(|| self.new_devices.lock().unwrap_or_else(|p| p.into_inner()));
        let full = if record.seq == 1 {
            let mut prefix = vault.as_bytes().to_vec();
            prefix.push(0);
            let mut n = 0;
            for item in t.devices.scan_prefix(&prefix).keys() {
                item.map_err(|e| self.io(e))?;
                n += 1;
            }
            n >= MAX_DEVICES
        } else {
            false
        };
        // Check and write in one transaction, so two connections of one
        // device racing with the same seq cannot both store it.
        let outcome =
            (&t.records, &t.index, &t.devices).transaction(|(records, index, devices)| {
                let corrupt = |m: String| Abort::Abort(RelayStoreError::Corrupt(m));
                if let Some(at) = index.get(&index_key)? {
                    let stored = records
                        .get(key(&[vault.as_bytes(), &at]))?
                        .ok_or_else(|| corrupt("index points at a missing record".into()))?;
                    let stored: SealedRecord = ciborium::from_reader(stored.as_ref())
                        .map_err(|e| corrupt(e.to_string()))?;
                    return Ok(if stored == *record {
                        Appended::Duplicate
                    } else {
                        Appended::Conflict
                    });
                }
                let mut info = match devices.get(&device_key)? {
                    Some(v) => ciborium::from_reader::<DeviceInfo, _>(v.as_ref())
                        .map_err(|e| corrupt(e.to_string()))?,
                    None if full && record.seq == 1 => return Ok(Appended::TooManyDevices),
                    None => DeviceInfo {
                        device: record.device.clone(),
                        last_seq: 0,
                        last_seen: now,
                    },
                };
                if record.seq != info.last_seq + 1 {
                    return Ok(Appended::Gap {
                        expected: info.last_seq + 1,
                    });
                }
                info.last_seq = record.seq;
                info.last_seen = now;
                records.insert(
                    key(&[vault.as_bytes(), &relay_seq.to_be_bytes()]),
                    body.as_slice(),
                )?;
                index.insert(index_key.as_slice(), &relay_seq.to_be_bytes())?;
                devices.insert(device_key.as_slice(), cbor(&info))?;
                Ok(Appended::Stored(relay_seq))
            });
        let outcome = match outcome {
            Ok(o) => o,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(self.io(e)),
        };
        if matches!(outcome, Appended::Stored(_)) {
            let ticket = self.commits.written();
            drop(first);
            self.commits.durable(ticket, || self.flush(&t))?;
        }
        Ok(outcome)
    }

    fn page(
        &self,
        vault: &str,
        cursors: &BTreeMap<String, u64>,
        from: u64,
        max_bytes: usize,
    ) -> Result<Page, RelayStoreError> {
        let t = self.t()?;
        // Find the missing records through the index, device by device,
        // instead of reading every record of the vault: a sync that is up to
        // date then costs a few lookups, not a pass over the whole log.
        let mut prefix = vault.as_bytes().to_vec();
        prefix.push(0);
        let mut wanted: Vec<u64> = Vec::new();
        for item in t.devices.scan_prefix(&prefix) {
            let (_, v) = item.map_err(|e| self.io(e))?;
            let info: DeviceInfo = uncbor(&v)?;
            let after = cursors.get(&info.device).copied().unwrap_or(0);
            if info.last_seq <= after {
                continue;
            }
            let at =
                |seq: u64| key(&[vault.as_bytes(), info.device.as_bytes(), &seq.to_be_bytes()]);
            for item in t.index.range(at(after + 1)..=at(info.last_seq)) {
                let (_, v) = item.map_err(|e| self.io(e))?;
                let relay_seq = <[u8; 8]>::try_from(v.as_ref())
                    .map(u64::from_be_bytes)
                    .map_err(|_| RelayStoreError::Corrupt("short index entry".into()))?;
                if relay_seq >= from {
                    wanted.push(relay_seq);
                }
            }
        }
        // Arrival order, which keeps every record after its dependencies.
        wanted.sort_unstable();
        let mut records = Vec::new();
        let mut bytes = 0;
        for relay_seq in wanted {
            let v = t
                .records
                .get(key(&[vault.as_bytes(), &relay_seq.to_be_bytes()]))
                .map_err(|e| self.io(e))?
                .ok_or_else(|| {
                    RelayStoreError::Corrupt("index points at a missing record".into())
                })?;
            let record: SealedRecord = uncbor(&v)?;
            if !fits(&records, bytes, &record, max_bytes) {
                return Ok(Page {
                    records,
                    next: Some(relay_seq),
                });
            }
            bytes += record.payload.len();
            records.push(record);
        }
        Ok(Page {
            records,
            next: None,
        })
    }

    fn put_snapshot(&self, vault: &str, snapshot: &Snapshot) -> Result<(), RelayStoreError> {
        let t = self.w()?;
        t.snapshots
            .insert(vault, cbor(snapshot))
            .map_err(|e| self.io(e))?;
        self.flush(&t)
    }

    fn snapshot(&self, vault: &str) -> Result<Option<Snapshot>, RelayStoreError> {
        let t = self.t()?;
        match t.snapshots.get(vault).map_err(|e| self.io(e))? {
            Some(v) => Ok(Some(uncbor(&v)?)),
            None => Ok(None),
        }
    }

    fn devices(&self, vault: &str) -> Result<Vec<DeviceInfo>, RelayStoreError> {
        let t = self.t()?;
        let mut prefix = vault.as_bytes().to_vec();
        prefix.push(0);
        let mut out: BTreeMap<String, DeviceInfo> = BTreeMap::new();
        for item in t.devices.scan_prefix(&prefix) {
            let (_, v) = item.map_err(|e| self.io(e))?;
            let info: DeviceInfo = uncbor(&v)?;
            out.insert(info.device.clone(), info);
        }
        // Last-seen times of the devices listed. (`seen` may hold entries
        // for ids that never appended, written before hellos stopped
        // adding devices: they are not listed.)
        for info in out.values_mut() {
            let k = key(&[vault.as_bytes(), info.device.as_bytes()]);
            if let Some(v) = t.seen.get(k).map_err(|e| self.io(e))? {
                let seen = <[u8; 8]>::try_from(v.as_ref())
                    .map(i64::from_be_bytes)
                    .unwrap_or(0);
                info.last_seen = info.last_seen.max(seen);
            }
        }
        Ok(out.into_values().take(MAX_DEVICES).collect())
    }

    fn touch(&self, vault: &str, device: &str, now: i64) -> Result<(), RelayStoreError> {
        let t = self.w()?;
        // Its own tree: a hello never rewrites the entry appends maintain.
        let k = key(&[vault.as_bytes(), device.as_bytes()]);
        if !t.devices.contains_key(&k).map_err(|e| self.io(e))? {
            return Ok(());
        }
        t.seen
            .insert(k, &now.to_be_bytes())
            .map_err(|e| self.io(e))?;
        Ok(())
    }
}

/// An in-memory store for tests.
#[derive(Default)]
pub struct MemoryRelayStore {
    inner: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    vaults: HashMap<String, VaultMeta>,
    /// vault -> relay_seq -> record
    records: HashMap<String, BTreeMap<u64, SealedRecord>>,
    devices: HashMap<String, BTreeMap<String, DeviceInfo>>,
    snapshots: HashMap<String, Snapshot>,
    next: u64,
}

impl MemoryRelayStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A poisoned lock only means a test panicked mid-write; carry on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RelayStore for MemoryRelayStore {
    fn vault(&self, vault: &str) -> Result<Option<VaultMeta>, RelayStoreError> {
        Ok(self.lock().vaults.get(vault).cloned())
    }

    fn vault_by_token(&self, token_hash: &[u8]) -> Result<Option<String>, RelayStoreError> {
        Ok(self
            .lock()
            .vaults
            .iter()
            .find(|(_, meta)| meta.token_hash == token_hash)
            .map(|(vault, _)| vault.clone()))
    }

    fn create_vault(&self, vault: &str, meta: &VaultMeta) -> Result<(), RelayStoreError> {
        self.lock().vaults.insert(vault.into(), meta.clone());
        Ok(())
    }

    fn append(
        &self,
        vault: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<Appended, RelayStoreError> {
        let mut m = self.lock();
        if let Some(existing) = m.records.get(vault).and_then(|r| {
            r.values()
                .find(|r| r.device == record.device && r.seq == record.seq)
        }) {
            return Ok(if existing == record {
                Appended::Duplicate
            } else {
                Appended::Conflict
            });
        }
        let known = m.devices.get(vault);
        let last = known
            .and_then(|d| d.get(&record.device))
            .map_or(0, |d| d.last_seq);
        if record.seq != last + 1 {
            return Ok(Appended::Gap { expected: last + 1 });
        }
        if last == 0 && known.is_some_and(|d| d.len() >= MAX_DEVICES) {
            return Ok(Appended::TooManyDevices);
        }
        m.next += 1;
        let relay_seq = m.next;
        m.records
            .entry(vault.into())
            .or_default()
            .insert(relay_seq, record.clone());
        m.devices.entry(vault.into()).or_default().insert(
            record.device.clone(),
            DeviceInfo {
                device: record.device.clone(),
                last_seq: record.seq,
                last_seen: now,
            },
        );
        Ok(Appended::Stored(relay_seq))
    }

    fn page(
        &self,
        vault: &str,
        cursors: &BTreeMap<String, u64>,
        from: u64,
        max_bytes: usize,
    ) -> Result<Page, RelayStoreError> {
        let m = self.lock();
        let mut records = Vec::new();
        let mut bytes = 0;
        if let Some(all) = m.records.get(vault) {
            for (relay_seq, r) in all.range(from..) {
                if r.seq > cursors.get(&r.device).copied().unwrap_or(0) {
                    if !fits(&records, bytes, r, max_bytes) {
                        return Ok(Page {
                            records,
                            next: Some(*relay_seq),
                        });
                    }
                    bytes += r.payload.len();
                    records.push(r.clone());
                }
            }
        }
        Ok(Page {
            records,
            next: None,
        })
    }

    fn put_snapshot(&self, vault: &str, snapshot: &Snapshot) -> Result<(), RelayStoreError> {
        self.lock().snapshots.insert(vault.into(), snapshot.clone());
        Ok(())
    }

    fn snapshot(&self, vault: &str) -> Result<Option<Snapshot>, RelayStoreError> {
        Ok(self.lock().snapshots.get(vault).cloned())
    }

    fn devices(&self, vault: &str) -> Result<Vec<DeviceInfo>, RelayStoreError> {
        Ok(self
            .lock()
            .devices
            .get(vault)
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default())
    }

    fn touch(&self, vault: &str, device: &str, now: i64) -> Result<(), RelayStoreError> {
        let mut m = self.lock();
        if let Some(d) = m.devices.get_mut(vault).and_then(|d| d.get_mut(device)) {
            d.last_seen = now;
        }
        Ok(())
    }
}

#[cfg(test)]
mod contract {
    use super::*;
    use serde_bytes::ByteBuf;

    fn rec(device: &str, seq: u64, body: u8) -> SealedRecord {
        SealedRecord {
            device: device.into(),
            seq,
            kind: interlog_core::wire::RecordKind::Change,
            payload: ByteBuf::from(vec![body; 10]),
        }
    }

    #[test]
    fn a_store_another_relay_holds_is_busy_and_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledRelayStore::open(dir.path()).unwrap();
        match SledRelayStore::open(dir.path()) {
            Err(e @ RelayStoreError::Busy { .. }) => {
                assert!(e.to_string().contains("another --data"), "{e}")
            }
            Err(e) => panic!("not named as busy: {e}"),
            Ok(_) => panic!("two relays opened one store"),
        }
    }

    fn contract(s: &dyn RelayStore) {
        assert_eq!(s.vault("v").unwrap(), None);
        let meta = VaultMeta {
            token_hash: vec![1; 32],
            created: 5,
        };
        assert_eq!(s.vault_by_token(&[1; 32]).unwrap(), None);
        s.create_vault("v", &meta).unwrap();
        assert_eq!(s.vault("v").unwrap(), Some(meta));
        assert_eq!(s.vault_by_token(&[1; 32]).unwrap().as_deref(), Some("v"));
        assert_eq!(s.vault_by_token(&[2; 32]).unwrap(), None);

        assert!(matches!(
            s.append("v", &rec("a", 1, 1), 10).unwrap(),
            Appended::Stored(_)
        ));
        assert_eq!(
            s.append("v", &rec("a", 1, 1), 10).unwrap(),
            Appended::Duplicate
        );
        assert_eq!(
            s.append("v", &rec("a", 1, 2), 10).unwrap(),
            Appended::Conflict
        );
        assert_eq!(
            s.append("v", &rec("a", 3, 3), 10).unwrap(),
            Appended::Gap { expected: 2 }
        );
        assert!(matches!(
            s.append("v", &rec("b", 1, 4), 11).unwrap(),
            Appended::Stored(_)
        ));
        assert!(matches!(
            s.append("v", &rec("a", 2, 5), 12).unwrap(),
            Appended::Stored(_)
        ));
        assert!(matches!(
            s.append("w", &rec("a", 1, 9), 12).unwrap(),
            Appended::Stored(_)
        ));

        // Everything, in arrival order; then only what a cursor lacks.
        let all = s.page("v", &BTreeMap::new(), 0, usize::MAX).unwrap();
        let order: Vec<(String, u64)> = all
            .records
            .iter()
            .map(|r| (r.device.clone(), r.seq))
            .collect();
        assert_eq!(
            order,
            vec![("a".into(), 1), ("b".into(), 1), ("a".into(), 2)]
        );
        assert!(all.next.is_none());
        let cursors = BTreeMap::from([("a".to_string(), 1)]);
        let some = s.page("v", &cursors, 0, usize::MAX).unwrap();
        assert_eq!(some.records.len(), 2);
        // Paging: small pages still return everything, in order.
        let mut got = Vec::new();
        let mut from = 0;
        loop {
            let p = s.page("v", &BTreeMap::new(), from, 1).unwrap();
            got.extend(p.records);
            match p.next {
                Some(n) => from = n,
                None => break,
            }
        }
        assert_eq!(got, all.records);

        let mut devices = s.devices("v").unwrap();
        devices.sort_by(|a, b| a.device.cmp(&b.device));
        assert_eq!(
            devices.iter().map(|d| d.last_seq).collect::<Vec<_>>(),
            vec![2, 1]
        );
        // A hello alone adds no device; it refreshes a known one.
        s.touch("v", "c", 20).unwrap();
        assert_eq!(s.devices("v").unwrap().len(), 2);
        s.touch("v", "b", 21).unwrap();
        let b = s
            .devices("v")
            .unwrap()
            .into_iter()
            .find(|d| d.device == "b");
        assert_eq!(b.map(|d| d.last_seen), Some(21));

        let snap = Snapshot {
            device: "a".into(),
            id: 1,
            covers: cursors,
            payload: ByteBuf::from(vec![7; 4]),
        };
        assert_eq!(s.snapshot("v").unwrap(), None);
        s.put_snapshot("v", &snap).unwrap();
        assert_eq!(s.snapshot("v").unwrap(), Some(snap));
        assert_eq!(s.snapshot("w").unwrap(), None);
    }

    /// A page never holds more than its budget after its first record, so
    /// a small record followed by one of the largest payloads go out in
    /// two frames, each within the frame limit (the old page took both:
    /// a frame over the limit, and every later sync of the vault failed).
    fn packing(s: &dyn RelayStore, many: u64) {
        use interlog_core::wire::{encode, Frame, MAX_FRAME_BYTES, MAX_PAYLOAD_BYTES};
        s.create_vault(
            "p",
            &VaultMeta {
                token_hash: vec![1; 32],
                created: 1,
            },
        )
        .unwrap();
        let mut small = rec("a", 1, 1);
        small.payload = ByteBuf::from(vec![1; 200 * 1024]);
        let mut big = rec("b", 1, 2);
        big.payload = ByteBuf::from(vec![2; MAX_PAYLOAD_BYTES]);
        s.append("p", &small, 1).unwrap();
        s.append("p", &big, 1).unwrap();
        for seq in 2..=many {
            s.append("p", &rec("a", seq, 3), 1).unwrap();
        }
        let mut from = 0;
        let mut pages = Vec::new();
        loop {
            let p = s.page("p", &BTreeMap::new(), from, 1024 * 1024).unwrap();
            let frame = encode(&Frame::Records {
                records: p.records.clone(),
            });
            assert!(frame.is_ok_and(|b| b.len() <= MAX_FRAME_BYTES));
            pages.push(p.records.len());
            match p.next {
                Some(n) => from = n,
                None => break,
            }
        }
        assert_eq!(pages[..2], [1, 1], "{pages:?}");
        assert!(
            pages.iter().all(|n| *n <= MAX_RECORDS_PER_FRAME),
            "{pages:?}"
        );
        assert_eq!(pages.iter().sum::<usize>() as u64, many + 1);
    }

    /// A vault keeps at most MAX_DEVICES devices: the next new device's
    /// first record is refused, known devices go on appending.
    fn device_cap(s: &dyn RelayStore) {
        for i in 0..MAX_DEVICES {
            let r = rec(&format!("d{i}"), 1, 1);
            assert!(matches!(
                s.append("cap", &r, 1).unwrap(),
                Appended::Stored(_)
            ));
        }
        assert_eq!(
            s.append("cap", &rec("one-too-many", 1, 1), 1).unwrap(),
            Appended::TooManyDevices
        );
        assert_eq!(
            s.append("cap", &rec("d0", 1, 1), 1).unwrap(),
            Appended::Duplicate
        );
        assert!(matches!(
            s.append("cap", &rec("d0", 2, 1), 1).unwrap(),
            Appended::Stored(_)
        ));
        assert_eq!(s.devices("cap").unwrap().len(), MAX_DEVICES);
    }

    /// One named test per promise, for one store: `$open` gives the store
    /// and whatever must outlive it (a directory, a database), or `None`
    /// when the store cannot be had here (it says why).
    macro_rules! relay_store_tests {
        ($backend:ident, $open:expr, packing = $many:expr) => {
            mod $backend {
                use super::*;

                #[test]
                fn keeps_vaults_appends_pages_devices_and_snapshots() {
                    let Some((s, keep)) = $open else { return };
                    contract(&*s);
                    drop(s);
                    drop(keep);
                }

                #[test]
                fn packs_pages_within_the_frame_limit() {
                    let Some((s, keep)) = $open else { return };
                    packing(&*s, $many);
                    drop(s);
                    drop(keep);
                }

                #[test]
                fn caps_the_devices_of_a_vault() {
                    let Some((s, keep)) = $open else { return };
                    device_cap(&*s);
                    drop(s);
                    drop(keep);
                }
            }
        };
    }

    type Opened = Option<(Box<dyn RelayStore>, Box<dyn std::any::Any>)>;

    fn memory() -> Opened {
        Some((Box::new(MemoryRelayStore::default()), Box::new(())))
    }

    fn sled() -> Opened {
        let dir = tempfile::tempdir().unwrap();
        let s = SledRelayStore::open(dir.path()).unwrap();
        Some((Box::new(s), Box::new(dir)))
    }

    fn postgres() -> Opened {
        let (store, db) = super::postgres::testing::scratch_store()?;
        Some((Box::new(store), Box::new(db)))
    }

    relay_store_tests!(memory_store, memory(), packing = 5000);
    // Sled flushes each append: the count limit is the memory store's part.
    relay_store_tests!(sled_store, sled(), packing = 20);
    // Each append commits; the Postgres page's own count limit has a test
    // of its own (`postgres::testing`), which writes its records in bulk.
    relay_store_tests!(postgres_store, postgres(), packing = 20);

    #[test]
    fn sled_store_keeps_data_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledRelayStore::open(dir.path()).unwrap();
            contract(&s);
        }
        let s = SledRelayStore::open(dir.path()).unwrap();
        assert_eq!(
            s.page("v", &BTreeMap::new(), 0, usize::MAX)
                .unwrap()
                .records
                .len(),
            3
        );
        assert!(s.snapshot("v").unwrap().is_some());
        drop(s);
        // A store from before the token index gets it when opened.
        {
            let db = sled::open(dir.path().join("store")).unwrap();
            db.drop_tree("tokens").unwrap();
            db.flush().unwrap();
        }
        let s = SledRelayStore::open(dir.path()).unwrap();
        assert_eq!(s.vault_by_token(&[1; 32]).unwrap().as_deref(), Some("v"));
    }
}
