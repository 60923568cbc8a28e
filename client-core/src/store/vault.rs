//! [`Vault`]: one device's document bound to its storage.

use crate::doc::ReadJournal as _;
use automerge::ChangeHash;

use super::{Storage, StoreError};
use crate::doc::VaultDoc;

/// Compact once this many chunks sit on top of the snapshot... sled's log
/// file never shrinks, and grows with what the chunks between two
/// compactions leave in it: at 128 a compacted five-year store was 1.8x to
/// 2.1x its `save()`, at 64 1.4x to 1.6x (docs/benchmarks.md, figure 5),
/// for a compaction (about 30 ms) every 64 writes instead of 128.
pub const COMPACT_AFTER_CHUNKS: usize = 64;
/// ...or once the chunks outweigh the snapshot (and are worth the rewrite).
const COMPACT_MIN_BYTES: usize = 256 * 1024;

/// The outcome of [`Vault::save`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// Whether anything was written.
    pub wrote: bool,
    /// Whether the store was compacted afterwards.
    pub compacted: bool,
    /// A failed compaction does not undo the (already durable) write; it is
    /// retried next time, and reported here so the user can be told.
    pub compaction_error: Option<String>,
}

/// A vault's document without its store, from [`Vault::close`].
pub struct Kept {
    doc: VaultDoc,
    saved_heads: Vec<ChangeHash>,
    chunk_count: usize,
    chunk_bytes: usize,
    snapshot_bytes: usize,
    last_seq: u64,
    device_id: Vec<u8>,
}

/// A device's vault: the document, its storage and this device's identity.
pub struct Vault<S: Storage> {
    pub doc: VaultDoc,
    store: S,
    saved_heads: Vec<ChangeHash>,
    chunk_count: usize,
    chunk_bytes: usize,
    snapshot_bytes: usize,
    last_seq: u64,
    device_id: Vec<u8>,
}

impl<S: Storage> Vault<S> {
    /// Creates a new vault in an empty storage.
    pub fn init(store: S) -> Result<Self, StoreError> {
        let device_id = automerge::ActorId::random().to_bytes().to_vec();
        let doc =
            VaultDoc::new_vault(&crate::doc::new_id(), &device_id).map_err(|e| StoreError::Io {
                path: store.location(),
                detail: e.to_string(),
            })?;
        Self::start(store, doc, device_id)
    }

    /// Makes this storage a new device of an existing vault, starting from a
    /// full document of it (`save()` bytes from another device).
    pub fn join(store: S, document: &[u8]) -> Result<Self, StoreError> {
        let device_id = automerge::ActorId::random().to_bytes().to_vec();
        Self::join_as(store, document, device_id)
    }

    /// [`Self::join`] with a device id chosen by the caller (the sync client
    /// picks one before it connects).
    pub fn join_as(store: S, document: &[u8], device_id: Vec<u8>) -> Result<Self, StoreError> {
        let doc = VaultDoc::load(Some(document), []).map_err(|e| StoreError::NotAVault {
            detail: e.to_string(),
        })?;
        Self::join_loaded(store, doc, None, device_id)
    }

    /// [`Self::join_as`] with a document already loaded. `saved` is the full
    /// document it was loaded from, if nothing was applied since: the store
    /// keeps those bytes as its snapshot instead of saving the document
    /// again, which for a large vault is most of the cost of joining.
    pub fn join_loaded(
        store: S,
        mut doc: VaultDoc,
        saved: Option<Vec<u8>>,
        device_id: Vec<u8>,
    ) -> Result<Self, StoreError> {
        if doc.vault_id().is_none() {
            return Err(StoreError::NotAVault {
                detail: "it has no vault id".into(),
            });
        }
        doc.set_actor(&device_id);
        Self::start_with(store, doc, saved, device_id)
    }

    fn start(store: S, doc: VaultDoc, device_id: Vec<u8>) -> Result<Self, StoreError> {
        Self::start_with(store, doc, None, device_id)
    }

    /// Writes a new device's first state. The vault id goes last: it is the
    /// commit point, so a store killed halfway through holds no vault and a
    /// new `init` simply starts over.
    fn start_with(
        mut store: S,
        mut doc: VaultDoc,
        saved: Option<Vec<u8>>,
        device_id: Vec<u8>,
    ) -> Result<Self, StoreError> {
        if store.get_meta("vault_id")?.is_some() {
            return Err(StoreError::AlreadyExists {
                path: store.location(),
            });
        }
        let vault_id = doc.vault_id().unwrap_or_default();
        let bytes = match saved {
            Some(bytes) => bytes,
            None => doc.save(),
        };
        let leftover = store.load()?.chunks.last().map_or(0, |(seq, _)| *seq);
        store.put_meta("device_id", &device_id)?;
        // One atomic step: the document as a snapshot, and any chunks an
        // interrupted init left behind dropped.
        store.compact(&bytes, leftover)?;
        store.put_meta("vault_id", vault_id.as_bytes())?;
        let saved_heads = doc.heads();
        Ok(Vault {
            doc,
            store,
            saved_heads,
            chunk_count: 0,
            chunk_bytes: 0,
            snapshot_bytes: bytes.len(),
            last_seq: leftover,
            device_id,
        })
    }

    /// Opens the vault in a storage, refusing an empty or corrupt one.
    pub fn open(store: S) -> Result<Self, StoreError> {
        let path = store.location();
        let Some(vault_id) = store.get_meta("vault_id")? else {
            return Err(StoreError::NoVault { path });
        };
        let device_id = store
            .get_meta("device_id")?
            .ok_or_else(|| StoreError::Corrupt {
                path: path.clone(),
                detail: "the device id is missing".into(),
            })?;
        let stored = store.load()?;
        let mut doc = load_checked(path, &vault_id, &stored)?;
        doc.set_actor(&device_id);
        let saved_heads = doc.heads();
        Ok(Vault {
            doc,
            saved_heads,
            chunk_count: stored.chunks.len(),
            chunk_bytes: stored.chunks.iter().map(|(_, c)| c.len()).sum(),
            snapshot_bytes: stored.snapshot.as_ref().map_or(0, Vec::len),
            // Not the last chunk's: after a compaction there may be none,
            // and compacting "through 0" would move the store's seq back.
            last_seq: store.last_seq()?,
            device_id,
            store,
        })
    }

    /// Gives the store back (closing it) but keeps the document, for a
    /// long-running process that holds the store only while it works and
    /// should not load the whole document again each time: see [`Self::reopen`].
    pub fn close(self) -> Kept {
        Kept {
            doc: self.doc,
            saved_heads: self.saved_heads,
            chunk_count: self.chunk_count,
            chunk_bytes: self.chunk_bytes,
            snapshot_bytes: self.snapshot_bytes,
            last_seq: self.last_seq,
            device_id: self.device_id,
        }
    }

    /// Opens `store` again with a document kept by [`Self::close`], applying
    /// only the chunks other processes appended since. When a compaction
    /// swallowed some of those, or the store is not the one it was, this is
    /// a plain [`Self::open`].
    pub fn reopen(store: S, kept: Kept) -> Result<Self, StoreError> {
        let same_device =
            store.get_meta("device_id")?.as_deref() == Some(kept.device_id.as_slice());
        let same_vault = store
            .get_meta("vault_id")?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            == kept.doc.vault_id();
        if !same_device || !same_vault {
            return Self::open(store);
        }
        let seq = store.last_seq()?;
        let mut v = Vault {
            doc: kept.doc,
            store,
            saved_heads: kept.saved_heads,
            chunk_count: kept.chunk_count,
            chunk_bytes: kept.chunk_bytes,
            snapshot_bytes: kept.snapshot_bytes,
            last_seq: kept.last_seq,
            device_id: kept.device_id,
        };
        if seq == v.last_seq {
            return Ok(v);
        }
        let stored = v.store.load()?;
        let new: Vec<&(u64, Vec<u8>)> = stored
            .chunks
            .iter()
            .filter(|(s, _)| *s > v.last_seq)
            .collect();
        let complete = new.first().map(|(s, _)| *s) == Some(v.last_seq + 1)
            && new.last().map(|(s, _)| *s) == Some(seq);
        if !complete {
            return Self::open(v.store);
        }
        for (_, chunk) in &new {
            if v.doc.apply_chunk(chunk).is_err() {
                return Self::open(v.store);
            }
        }
        v.saved_heads = v.doc.heads();
        v.chunk_count = stored.chunks.len();
        v.chunk_bytes = stored.chunks.iter().map(|(_, c)| c.len()).sum();
        v.snapshot_bytes = stored.snapshot.as_ref().map_or(0, Vec::len);
        v.last_seq = seq;
        Ok(v)
    }

    pub fn vault_id(&self) -> String {
        self.doc.vault_id().unwrap_or_default()
    }

    pub fn device_id(&self) -> &[u8] {
        &self.device_id
    }

    pub fn storage(&self) -> &S {
        &self.store
    }

    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Applies a chunk from another device and stores it durably. A chunk
    /// that does not apply (or depends on changes not received yet) is not
    /// stored.
    pub fn apply_remote(&mut self, chunk: &[u8]) -> Result<(), crate::DocError> {
        self.doc.apply_chunk(chunk)?;
        self.last_seq = self
            .store
            .append(chunk)
            .map_err(|e| crate::DocError::Store(e.to_string()))?;
        self.saved_heads = self.doc.heads();
        self.chunk_count += 1;
        self.chunk_bytes += chunk.len();
        Ok(())
    }

    /// Commits pending edits and appends them durably as one chunk. Returns
    /// only after the chunk is flushed; then compacts if it is time.
    pub fn save(&mut self, message: &str) -> Result<Saved, StoreError> {
        self.doc.commit(message);
        let chunk = self.doc.save_after(&self.saved_heads);
        if chunk.is_empty() {
            return Ok(Saved::default());
        }
        self.last_seq = self.store.append(&chunk)?;
        self.saved_heads = self.doc.heads();
        self.chunk_count += 1;
        self.chunk_bytes += chunk.len();
        let mut saved = Saved {
            wrote: true,
            ..Saved::default()
        };
        if self.should_compact() {
            match self.compact() {
                Ok(()) => saved.compacted = true,
                Err(e) => saved.compaction_error = Some(e.to_string()),
            }
        }
        Ok(saved)
    }

    fn should_compact(&self) -> bool {
        self.chunk_count >= COMPACT_AFTER_CHUNKS
            || (self.chunk_bytes >= COMPACT_MIN_BYTES && self.chunk_bytes > self.snapshot_bytes)
    }

    /// Makes this device a new one, for a home restored from a backup:
    /// a new device id, and the changes it made beyond `base` (what the
    /// relay holds of its old self) re-issued under it (see
    /// [`VaultDoc::reissued`]). The document is rewritten first; a crash
    /// before the new id is stored leaves the old id with a document that
    /// holds the re-issued changes, and the next sync does this again.
    pub fn become_new_device(&mut self, base: &[ChangeHash]) -> Result<Vec<u8>, StoreError> {
        let new_id = automerge::ActorId::random().to_bytes().to_vec();
        let location = self.store.location();
        let doc = self
            .doc
            .reissued(base, &self.device_id, &new_id)
            .map_err(|e| StoreError::Corrupt {
                path: location,
                detail: e.to_string(),
            })?;
        self.doc = doc;
        self.compact()?;
        self.store.put_meta("device_id", &new_id)?;
        self.device_id = new_id.clone();
        self.saved_heads = self.doc.heads();
        Ok(new_id)
    }

    /// Rewrites the store as one snapshot, atomically.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let snapshot = self.doc.save();
        self.store.compact(&snapshot, self.last_seq)?;
        self.snapshot_bytes = snapshot.len();
        self.chunk_count = 0;
        self.chunk_bytes = 0;
        Ok(())
    }
}

/// The document in `stored`, refused as corrupt when it does not load or
/// belongs to another vault.
pub(crate) fn load_checked(
    path: String,
    vault_id: &[u8],
    stored: &super::Stored,
) -> Result<VaultDoc, StoreError> {
    let doc = VaultDoc::load(
        stored.snapshot.as_deref(),
        stored.chunks.iter().map(|(_, c)| c.as_slice()),
    )
    .map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if doc.vault_id().as_deref().map(str::as_bytes) != Some(vault_id) {
        return Err(StoreError::Corrupt {
            path,
            detail: "the document does not belong to this store's vault".into(),
        });
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::store::{MemoryStorage, SledStorage};
    use serde_json::json;

    fn fields(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn open_without_init_says_to_run_init() {
        let err = Vault::open(MemoryStorage::new()).err().unwrap();
        assert!(err.to_string().contains("interlog init"), "{err}");
    }

    #[test]
    fn init_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        drop(Vault::init(SledStorage::open(&path).unwrap()).unwrap());
        let err = Vault::init(SledStorage::open(&path).unwrap())
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::AlreadyExists { .. }));
    }

    #[test]
    fn writes_survive_reopen_and_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let mut v = Vault::init(SledStorage::open(&path).unwrap()).unwrap();
        let vault_id = v.vault_id();
        let mut ids = Vec::new();
        let mut compactions = 0;
        for i in 0..(COMPACT_AFTER_CHUNKS + 10) {
            let id = v
                .doc
                .create(Kind::Company, &fields(json!({"name": format!("Co {i}")})))
                .unwrap();
            ids.push(id);
            if v.save("add").unwrap().compacted {
                compactions += 1;
            }
        }
        assert!(compactions >= 1, "the store compacted at least once");
        drop(v);
        let v = Vault::open(SledStorage::open(&path).unwrap()).unwrap();
        assert_eq!(v.vault_id(), vault_id);
        assert_eq!(v.doc.live(Kind::Company).len(), ids.len());
        let stored = v.storage().load().unwrap();
        assert!(stored.snapshot.is_some());
        assert!(stored.chunks.len() < COMPACT_AFTER_CHUNKS);
    }

    #[test]
    fn a_corrupt_chunk_is_an_error_naming_the_path_not_an_empty_vault() {
        let mut store = MemoryStorage::new();
        let v = Vault::init(store.clone()).unwrap();
        drop(v);
        store = {
            let mut s = MemoryStorage::new();
            s.put_meta("device_id", b"0123456789abcdef").unwrap();
            s.put_meta("vault_id", b"whatever").unwrap();
            s.append(b"definitely not automerge").unwrap();
            s
        };
        let err = Vault::open(store).err().unwrap();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("memory"));
    }

    #[test]
    fn a_joined_device_shares_the_vault_with_its_own_identity() {
        let mut a = Vault::init(MemoryStorage::new()).unwrap();
        a.doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        a.save("add").unwrap();
        let b = Vault::join(MemoryStorage::new(), &a.doc.save()).unwrap();
        assert_eq!(a.vault_id(), b.vault_id());
        assert_ne!(a.device_id(), b.device_id());
        assert_eq!(a.doc.to_json(), b.doc.to_json());
        assert!(matches!(
            Vault::join(MemoryStorage::new(), b"junk"),
            Err(StoreError::NotAVault { .. })
        ));
    }

    #[test]
    fn an_init_interrupted_before_its_commit_point_can_be_redone() {
        let mut store = MemoryStorage::new();
        // What a kill -9 after the first writes of an init leaves behind.
        store.put_meta("device_id", b"0123456789abcdef").unwrap();
        store.append(b"half of something").unwrap();
        assert!(matches!(
            Vault::open(store.clone()),
            Err(StoreError::NoVault { .. })
        ));
        let mut v = Vault::init(store).unwrap();
        v.doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        v.save("add").unwrap();
        let reopened = Vault::open(v.storage().clone()).unwrap();
        assert_eq!(reopened.doc.live(Kind::Company).len(), 1);
    }

    #[test]
    fn a_kept_document_reopens_with_what_others_wrote_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let v = Vault::init(SledStorage::open(&path).unwrap()).unwrap();
        let kept = v.close();
        // Another process writes, then compacts, then writes again.
        let mut other = Vault::open(SledStorage::open(&path).unwrap()).unwrap();
        other
            .doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        other.save("add").unwrap();
        let expected = other.doc.to_json();
        drop(other);
        let v = Vault::reopen(SledStorage::open(&path).unwrap(), kept).unwrap();
        assert_eq!(v.doc.to_json(), expected, "the new chunk was applied");
        let kept = v.close();
        let mut other = Vault::open(SledStorage::open(&path).unwrap()).unwrap();
        other.compact().unwrap();
        other
            .doc
            .create(Kind::Company, &fields(json!({"name": "Globex"})))
            .unwrap();
        other.save("add").unwrap();
        let expected = other.doc.to_json();
        drop(other);
        let mut v = Vault::reopen(SledStorage::open(&path).unwrap(), kept).unwrap();
        assert_eq!(v.doc.to_json(), expected);
        // And it keeps writing where the store is.
        v.doc
            .create(Kind::Company, &fields(json!({"name": "Initech"})))
            .unwrap();
        v.save("add").unwrap();
        let expected = v.doc.to_json();
        drop(v);
        let v = Vault::open(SledStorage::open(&path).unwrap()).unwrap();
        assert_eq!(v.doc.to_json(), expected);
    }

    #[test]
    fn saving_nothing_writes_nothing() {
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        assert_eq!(v.save("noop").unwrap(), Saved::default());
    }
}
