//! What a device remembers about syncing, kept in its store's metadata and
//! written (flushed) at each step, so a sync can stop anywhere and resume.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::store::{Storage, StoreError, Vault};
use crate::wire::SealedRecord;

const KEY: &str = "sync";

/// Sealed records waiting for the relay's acknowledgement (one, or the
/// parts of a large change), and the heads they bring the device to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    pub record: SealedRecord,
    /// The parts after the first, for a change split over several records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    more: Vec<SealedRecord>,
    heads: Vec<ByteBuf>,
}

impl Outbox {
    /// `record`, then `more` parts of the same change.
    pub fn new(record: SealedRecord, more: Vec<SealedRecord>, heads: &[ChangeHash]) -> Self {
        Outbox {
            record,
            more,
            heads: heads.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect(),
        }
    }

    /// Its records, in log order.
    pub fn records(&self) -> impl Iterator<Item = &SealedRecord> {
        std::iter::once(&self.record).chain(&self.more)
    }

    /// The heads its records bring the device to.
    pub fn heads(&self) -> Vec<ChangeHash> {
        to_heads(&self.heads)
    }

    /// The outbox with `records` sent after these, bringing the device to
    /// `heads`.
    pub fn then(mut self, records: Vec<SealedRecord>, heads: &[ChangeHash]) -> Self {
        self.more.extend(records);
        self.heads = heads.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect();
        self
    }

    /// The seq of its last record.
    pub fn last_seq(&self) -> u64 {
        self.more.last().unwrap_or(&self.record).seq
    }
}

fn to_heads(raw: &[ByteBuf]) -> Vec<ChangeHash> {
    raw.iter()
        .filter_map(|b| ChangeHash::try_from(b.as_slice()).ok())
        .collect()
}

/// The device's sync state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// The seq this device's next record gets (from 1).
    pub next_seq: u64,
    #[serde(skip)]
    pub pushed_heads: Vec<ChangeHash>,
    pushed: Vec<ByteBuf>,
    /// Per device, the last seq applied here.
    pub cursors: BTreeMap<String, u64>,
    pub outbox: Option<Outbox>,
    /// Whether the relay knows this vault (registration happened).
    pub registered: bool,
    /// This device's last snapshot id.
    pub snapshot_id: u64,
    /// Records pushed or applied since this device's last snapshot.
    pub since_snapshot: u64,
    /// Where versions before `last-sync.json` kept the last sync's time
    /// and error (see `interlog sync status`): read, never written again.
    #[serde(default, rename = "last_sync", skip_serializing)]
    pub legacy_last_sync: Option<i64>,
    #[serde(default, rename = "last_error", skip_serializing)]
    pub legacy_last_error: Option<String>,
    /// The store's last seq when a sync last left it with every local change
    /// on the relay. While it still is, and there is no outbox, there is
    /// nothing to push, and a sync need not load the document to know it.
    #[serde(default)]
    pub clean_at: Option<u64>,
    /// Per device, the furthest seq any device is known to have seen of
    /// its log (from sealed records and snapshots): more than the cursor
    /// means the relay serves less than exists.
    #[serde(default)]
    pub known: BTreeMap<String, u64>,
}

impl SyncState {
    /// The logs of other devices the relay serves less of than is known to
    /// exist (see [`Self::known`]).
    pub fn withheld(&self, me: &str) -> Vec<Withheld> {
        withheld(me, &self.cursors, &self.known)
    }

    /// Whether a store whose last seq is `last_seq` has nothing to push:
    /// registered, no outbox, nothing written since a sync left every local
    /// change on the relay, and no snapshot due.
    pub fn is_clean(&self, last_seq: u64) -> bool {
        self.registered
            && self.outbox.is_none()
            && self.since_snapshot < super::SNAPSHOT_EVERY
            && self.clean_at == Some(last_seq)
    }

    /// Whether every local change is on the relay: nothing in the outbox,
    /// and the document still at the heads this device last pushed.
    pub fn all_pushed<S: Storage>(&self, v: &mut Vault<S>) -> bool {
        self.outbox.is_none() && v.doc.heads() == self.pushed_heads
    }

    /// Records that every local change is on the relay: what the document
    /// holds beyond the pushed heads came from the relay (so the caller
    /// checked [`Self::all_pushed`] before applying it), and the store is
    /// clean at its last seq (see [`Self::is_clean`]). The caller saves.
    pub fn mark_pushed<S: Storage>(&mut self, v: &mut Vault<S>) -> Result<(), StoreError> {
        self.pushed_heads = v.doc.heads();
        self.clean_at = Some(v.storage().last_seq()?);
        Ok(())
    }

    /// Forgets what was pushed: the next push sends the whole document, as
    /// this device's next record. The caller saves.
    pub fn push_all_again(&mut self) {
        self.outbox = None;
        self.pushed_heads = Vec::new();
        self.clean_at = None;
    }

    pub fn load<S: Storage>(store: &S) -> Result<Self, StoreError> {
        let mut s: SyncState = match store.get_meta(KEY)? {
            Some(bytes) => {
                ciborium::from_reader(bytes.as_slice()).map_err(|e| StoreError::Corrupt {
                    path: store.location(),
                    detail: format!("sync state: {e}"),
                })?
            }
            None => SyncState::default(),
        };
        s.next_seq = s.next_seq.max(1);
        s.pushed_heads = to_heads(&s.pushed);
        Ok(s)
    }

    pub fn save<S: Storage>(&mut self, store: &mut S) -> Result<(), StoreError> {
        self.pushed = self
            .pushed_heads
            .iter()
            .map(|h| ByteBuf::from(h.0.to_vec()))
            .collect();
        let mut bytes = Vec::new();
        ciborium::into_writer(self, &mut bytes).map_err(|e| StoreError::Io {
            path: store.location(),
            detail: e.to_string(),
        })?;
        store.put_meta(KEY, &bytes)
    }

    /// The relay acknowledged the outbox record.
    pub fn finish_push(&mut self, outbox: &Outbox) {
        self.next_seq = outbox.last_seq() + 1;
        self.pushed_heads = to_heads(&outbox.heads);
        self.outbox = None;
        self.since_snapshot += 1;
    }
}

/// Records of another device's log that some device saw but the relay did
/// not serve here: it lost them, or withholds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withheld {
    pub device: String,
    /// The last seq the relay served of that log.
    pub served: u64,
    /// The last seq known to exist.
    pub known: u64,
}

impl std::fmt::Display for Withheld {
    /// The warning, for a person; the device id (from the relay) is escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the relay is missing records {}–{} of device {}, which another device has seen: it lost them or is withholding them. They come back when that device syncs again; if they do not, tell the relay's operator",
            self.served + 1,
            self.known,
            crate::peer_id(&self.device, 12),
        )
    }
}

/// The outcome of the last one-shot sync, for `sync status`. It lives in a
/// file of its own in the home (`home::last_sync_file`), not in the store,
/// so that a sync that never opens the store records it too.
/// Informational, so it is not fsynced.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LastSync {
    /// Unix seconds of the last successful sync.
    pub at: Option<i64>,
    /// The error of the last sync, if it failed.
    pub error: Option<String>,
}

impl LastSync {
    /// The last outcome recorded in `home`, or what `state` kept of it
    /// (versions before the file kept it there).
    pub fn load(home: &std::path::Path, state: &SyncState) -> LastSync {
        Self::read(home).unwrap_or_else(|| LastSync {
            at: state.legacy_last_sync,
            error: state.legacy_last_error.clone(),
        })
    }

    fn read(home: &std::path::Path) -> Option<LastSync> {
        let bytes = std::fs::read(crate::home::last_sync_file(home)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records a sync's outcome in `home`: its error, or now as the last
    /// success. Best effort: failing to write it must not turn a good sync
    /// into an error.
    pub fn record(home: &std::path::Path, error: Option<String>) {
        let mut last = Self::read(home).unwrap_or_default();
        match error {
            None => (last.at, last.error) = (Some(jiff::Timestamp::now().as_second()), None),
            Some(e) => last.error = Some(e),
        }
        let Ok(bytes) = serde_json::to_vec(&last) else {
            return;
        };
        // Overwritten in place, not truncated to nothing or renamed over:
        // ext4 writes a file's data out at once when either replaces it
        // (auto_da_alloc), a tenth of a no-op sync's time. A torn file
        // reads as "never synced" until the next sync.
        let file = crate::files::owner_only(&crate::home::last_sync_file(home), false);
        let _ = file.and_then(|mut f| {
            use std::io::Write;
            f.write_all(&bytes)?;
            f.set_len(bytes.len() as u64)
        });
    }
}

pub(super) fn withheld(
    me: &str,
    cursors: &BTreeMap<String, u64>,
    known: &BTreeMap<String, u64>,
) -> Vec<Withheld> {
    known
        .iter()
        .filter(|(d, _)| d.as_str() != me)
        .filter_map(|(d, &k)| {
            let served = cursors.get(d).copied().unwrap_or(0);
            (k > served).then(|| Withheld {
                device: d.clone(),
                served,
                known: k,
            })
        })
        .collect()
}

/// What a sync with nothing to push needs: kept beside a store that a sync
/// left clean (`SledStorage::stamp_clean`), so that the next sync can ask the
/// relay for news without opening the store, and open it only if some came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanStamp {
    pub vault: String,
    pub device: String,
    /// Per device, the last seq applied here, as in [`SyncState::cursors`].
    pub cursors: BTreeMap<String, u64>,
    /// As in [`SyncState::known`].
    #[serde(default)]
    pub known: BTreeMap<String, u64>,
    /// The last seq of this device the relay acknowledged.
    #[serde(default)]
    pub acked: u64,
}

impl CleanStamp {
    /// The stamp for `store` as it is now, or `None` if it has something to
    /// push (or is not a synced vault).
    pub fn of<S: Storage>(store: &S) -> Result<Option<CleanStamp>, StoreError> {
        let state = SyncState::load(store)?;
        if !state.is_clean(store.last_seq()?) {
            return Ok(None);
        }
        let (Some(vault), Some(device)) =
            (store.get_meta("vault_id")?, store.get_meta("device_id")?)
        else {
            return Ok(None);
        };
        Ok(Some(CleanStamp {
            vault: String::from_utf8_lossy(&vault).into_owned(),
            device: super::device_name(&device),
            acked: state.next_seq - 1,
            cursors: state.cursors,
            known: state.known,
        }))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // ok: writing plain strings and integers to a Vec cannot fail.
        let _ = ciborium::into_writer(self, &mut bytes);
        bytes
    }

    /// `None` for bytes that are not a stamp (a torn write, say): the caller
    /// then opens the store instead.
    pub fn from_bytes(bytes: &[u8]) -> Option<CleanStamp> {
        ciborium::from_reader(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStorage;

    #[test]
    fn the_outcome_older_versions_kept_here_is_read_but_not_written_again() {
        // Today's state, plus the two entries an older version wrote.
        let mut store = MemoryStorage::new();
        let mut state = SyncState {
            next_seq: 4,
            ..SyncState::default()
        };
        state.save(&mut store).unwrap();
        let bytes = store.get_meta(KEY).unwrap().unwrap();
        let mut value: ciborium::Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        let (at, error) = (Some(1_700_000_000), Some("relay down".to_string()));
        if let ciborium::Value::Map(entries) = &mut value {
            entries.push(("last_sync".into(), at.unwrap().into()));
            entries.push(("last_error".into(), error.clone().unwrap().into()));
        }
        let mut old = Vec::new();
        ciborium::into_writer(&value, &mut old).unwrap();
        store.put_meta(KEY, &old).unwrap();
        let mut state = SyncState::load(&store).unwrap();
        assert_eq!((state.next_seq, state.legacy_last_sync), (4, at));
        assert_eq!(state.legacy_last_error, error);
        state.save(&mut store).unwrap();
        let again = SyncState::load(&store).unwrap();
        assert_eq!(
            (again.legacy_last_sync, again.legacy_last_error),
            (None, None)
        );
    }

    #[test]
    fn a_stamp_exists_only_while_nothing_waits_to_be_pushed() {
        let mut store = MemoryStorage::new();
        store.put_meta("vault_id", b"v1").unwrap();
        store.put_meta("device_id", &[0xab, 0xcd]).unwrap();
        store.append(b"change").unwrap();
        assert_eq!(CleanStamp::of(&store).unwrap(), None, "never synced");

        let mut state = SyncState {
            registered: true,
            clean_at: Some(store.last_seq().unwrap()),
            ..SyncState::default()
        };
        state.cursors.insert("other".into(), 7);
        state.save(&mut store).unwrap();
        let stamp = CleanStamp::of(&store).unwrap().expect("clean after a sync");
        assert_eq!(
            (stamp.vault.as_str(), stamp.device.as_str()),
            ("v1", "abcd")
        );
        assert_eq!(stamp.cursors.get("other"), Some(&7));
        assert_eq!(CleanStamp::from_bytes(&stamp.to_bytes()), Some(stamp));
        assert_eq!(CleanStamp::from_bytes(b"\xff torn"), None);

        store.append(b"a new change").unwrap();
        assert_eq!(CleanStamp::of(&store).unwrap(), None, "a change to push");
        state.clean_at = Some(store.last_seq().unwrap());
        state.since_snapshot = super::super::SNAPSHOT_EVERY;
        state.save(&mut store).unwrap();
        assert_eq!(CleanStamp::of(&store).unwrap(), None, "a snapshot is due");
    }
}
