//! Fault-injecting storage for the reliability suites: power cuts on a
//! device's [`Storage`], and power cuts, a full disk and a lying relay on a
//! [`RelayStore`].
//!
//! Power cuts follow the storage contracts: every mutating call is durable
//! when it returns. A cut during call *k* therefore either loses that call's
//! write or keeps it, and in both cases the caller sees an error (the
//! process died before the call returned), and nothing works until a
//! reboot. Whatever was acknowledged before the cut must survive it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use interlog_core::store::{MemoryStorage, Storage, StoreError, Stored};
use interlog_core::wire::{DeviceInfo, SealedRecord, Snapshot};
use interlog_relay::store::{Appended, Page, RelayStore, RelayStoreError as RelayError, VaultMeta};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// When the power goes.
#[derive(Debug, Default, Clone)]
pub struct PowerPlan {
    /// Mutating calls seen so far (counted while the power is on).
    pub writes: usize,
    /// Cut during this mutating call (1-based); `None`: never.
    pub cut_at: Option<usize>,
    /// Whether the write of the call during which the power went reached
    /// the disk anyway.
    pub keep_last: bool,
    /// The power is out: every call fails until [`PowerPlan::reboot`].
    pub down: bool,
}

impl PowerPlan {
    pub fn cut_at(k: usize, keep_last: bool) -> Self {
        PowerPlan {
            cut_at: Some(k),
            keep_last,
            ..Default::default()
        }
    }

    /// Decides the fate of the next mutating call: `Ok(true)` applies it and
    /// returns success, `Ok(false)` applies it and fails, `Err(())` drops it.
    fn next_write(&mut self) -> Result<bool, ()> {
        if self.down {
            return Err(());
        }
        self.writes += 1;
        if self.cut_at == Some(self.writes) {
            self.down = true;
            return if self.keep_last { Ok(false) } else { Err(()) };
        }
        Ok(true)
    }

    /// Power is back; no further cut.
    pub fn reboot(&mut self) {
        self.down = false;
        self.cut_at = None;
    }
}

/// A device's storage on a disk that can lose power. Clones share the disk
/// and the plan, so a clone is the same disk after a reboot.
#[derive(Clone, Default)]
pub struct PowerCutStorage {
    disk: Arc<Mutex<MemoryStorage>>,
    pub plan: Arc<Mutex<PowerPlan>>,
}

impl PowerCutStorage {
    pub fn new(plan: PowerPlan) -> Self {
        PowerCutStorage {
            disk: Default::default(),
            plan: Arc::new(Mutex::new(plan)),
        }
    }

    pub fn is_down(&self) -> bool {
        lock(&self.plan).down
    }

    pub fn reboot(&self) {
        lock(&self.plan).reboot();
    }

    pub fn writes(&self) -> usize {
        lock(&self.plan).writes
    }

    fn lost() -> StoreError {
        StoreError::Io {
            path: "power-cut disk".into(),
            detail: "the power went".into(),
        }
    }

    fn write<T>(
        &mut self,
        f: impl FnOnce(&mut MemoryStorage) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fate = lock(&self.plan).next_write();
        match fate {
            Ok(ack) => {
                let out = f(&mut lock(&self.disk))?;
                if ack {
                    Ok(out)
                } else {
                    Err(Self::lost())
                }
            }
            Err(()) => Err(Self::lost()),
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&MemoryStorage) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.is_down() {
            return Err(Self::lost());
        }
        f(&lock(&self.disk))
    }
}

impl Storage for PowerCutStorage {
    fn location(&self) -> String {
        "power-cut disk".into()
    }

    fn load(&self) -> Result<Stored, StoreError> {
        self.read(|d| d.load())
    }

    fn append(&mut self, chunk: &[u8]) -> Result<u64, StoreError> {
        self.write(|d| d.append(chunk))
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        self.read(|d| d.last_seq())
    }

    fn compact(&mut self, snapshot: &[u8], through: u64) -> Result<(), StoreError> {
        self.write(|d| d.compact(snapshot, through))
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|d| d.get_meta(key))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(|d| d.put_meta(key, value))
    }
}

/// How a lying relay alters what it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Flips one byte of the first record's payload.
    FlipByte,
    /// Serves the first record's payload under the second record's
    /// device and seq, and the other way round.
    SwapRecords,
    /// Serves the second record's payload again as the first record (a
    /// replay under another seq).
    Replay,
    /// Leaves out the first record of each page.
    Withhold,
    /// Serves the vault's first snapshot labelled as its newest.
    OldSnapshotAsNew,
    /// Serves the vault's first snapshot as it was (old, but honest).
    OldSnapshot,
}

/// What is wrong with the relay's storage right now.
#[derive(Debug, Default)]
pub struct RelayFaults {
    pub power: PowerPlan,
    /// Every write fails as on a full disk; reads still work.
    pub disk_full: bool,
    pub tamper: Option<Tamper>,
    /// Writes refused because the disk was full.
    pub refused_full: usize,
}

/// A [`RelayStore`] with faults switched on and off by the test.
pub struct FaultyRelayStore<S: RelayStore> {
    inner: S,
    pub faults: Mutex<RelayFaults>,
    /// The first snapshot stored per vault, for the snapshot tampering.
    first_snapshot: Mutex<BTreeMap<String, Snapshot>>,
}

impl<S: RelayStore> FaultyRelayStore<S> {
    pub fn new(inner: S) -> Self {
        FaultyRelayStore {
            inner,
            faults: Default::default(),
            first_snapshot: Default::default(),
        }
    }

    pub fn faults(&self) -> MutexGuard<'_, RelayFaults> {
        lock(&self.faults)
    }

    fn power_lost() -> RelayError {
        RelayError::Io {
            path: "faulty relay store".into(),
            detail: "the power went".into(),
        }
    }

    /// Runs a mutating call through the power plan and the full disk.
    fn write<T>(&self, f: impl FnOnce() -> Result<T, RelayError>) -> Result<T, RelayError> {
        let fate = {
            let mut faults = self.faults();
            if faults.disk_full && !faults.power.down {
                faults.refused_full += 1;
                return Err(RelayError::Full {
                    path: "faulty relay store".into(),
                });
            }
            faults.power.next_write()
        };
        match fate {
            Ok(true) => f(),
            Ok(false) => {
                f()?;
                Err(Self::power_lost())
            }
            Err(()) => Err(Self::power_lost()),
        }
    }

    fn read<T>(&self, f: impl FnOnce() -> Result<T, RelayError>) -> Result<T, RelayError> {
        if self.faults().power.down {
            return Err(Self::power_lost());
        }
        f()
    }
}

impl<S: RelayStore> RelayStore for FaultyRelayStore<S> {
    fn vault(&self, vault: &str) -> Result<Option<VaultMeta>, RelayError> {
        self.read(|| self.inner.vault(vault))
    }

    fn vault_by_token(&self, token_hash: &[u8]) -> Result<Option<String>, RelayError> {
        self.read(|| self.inner.vault_by_token(token_hash))
    }

    fn create_vault(&self, vault: &str, meta: &VaultMeta) -> Result<(), RelayError> {
        self.write(|| self.inner.create_vault(vault, meta))
    }

    fn append(&self, vault: &str, record: &SealedRecord, now: i64) -> Result<Appended, RelayError> {
        self.write(|| self.inner.append(vault, record, now))
    }

    fn page(
        &self,
        vault: &str,
        cursors: &BTreeMap<String, u64>,
        from: u64,
        max_bytes: usize,
    ) -> Result<Page, RelayError> {
        let mut page = self.read(|| self.inner.page(vault, cursors, from, max_bytes))?;
        let tamper = self.faults().tamper;
        let records = &mut page.records;
        match tamper {
            Some(Tamper::FlipByte) => {
                if let Some(r) = records.first_mut() {
                    if let Some(b) = r.payload.last_mut() {
                        *b ^= 0x40;
                    }
                }
            }
            Some(Tamper::SwapRecords) if records.len() >= 2 => {
                let (a, b) = records.split_at_mut(1);
                std::mem::swap(&mut a[0].payload, &mut b[0].payload);
            }
            Some(Tamper::Replay) if records.len() >= 2 => {
                records[0].payload = records[1].payload.clone();
            }
            Some(Tamper::Withhold) if !records.is_empty() => {
                records.remove(0);
            }
            _ => {}
        }
        Ok(page)
    }

    fn put_snapshot(&self, vault: &str, snapshot: &Snapshot) -> Result<(), RelayError> {
        self.write(|| self.inner.put_snapshot(vault, snapshot))?;
        lock(&self.first_snapshot)
            .entry(vault.to_string())
            .or_insert_with(|| snapshot.clone());
        Ok(())
    }

    fn snapshot(&self, vault: &str) -> Result<Option<Snapshot>, RelayError> {
        let newest = self.read(|| self.inner.snapshot(vault))?;
        let first = lock(&self.first_snapshot).get(vault).cloned();
        Ok(match (self.faults().tamper, newest, first) {
            (Some(Tamper::OldSnapshotAsNew), Some(newest), Some(first)) => Some(Snapshot {
                payload: first.payload,
                ..newest
            }),
            (Some(Tamper::OldSnapshot), Some(_), Some(first)) => Some(first),
            (_, newest, _) => newest,
        })
    }

    fn devices(&self, vault: &str) -> Result<Vec<DeviceInfo>, RelayError> {
        self.read(|| self.inner.devices(vault))
    }

    fn touch(&self, vault: &str, device: &str, now: i64) -> Result<(), RelayError> {
        self.write(|| self.inner.touch(vault, device, now))
    }
}
