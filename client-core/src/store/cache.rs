//! Opening a vault to read only, fast.
//!
//! Loading the Automerge document is most of what a command costs on a big
//! vault: for five years of interviews, an Automerge load plus reading every
//! record through it takes well over 100 ms, while the same records as JSON
//! parse in a fraction of that. Commands that only read (`list`, `show`,
//! `today`, `stats`, `search`) therefore go through [`open_view`]: it keeps
//! a rendering of the document ([`crate::doc::VaultDoc::to_view`]) in a cache file next
//! to the store, keyed by a hash of everything stored, and answers from it
//! while the store is unchanged. Any write changes the stored bytes and so
//! the key. A command that writes brings the cache up to date itself
//! ([`refresh_view`]), since it holds the document anyway: it appends the
//! records its change touched, so the next read still answers from the
//! cache. Otherwise (a sync, a crash in between, no cache yet) the next read
//! loads the document and renders it again.
//!
//! The cache is only ever a copy: a missing, stale, damaged or unwritable
//! cache costs speed, never correctness, and it is never synced.
//!
//! # When the cache is believed
//!
//! A cache file is `MAGIC`, the key, a checksum, then the view. The key
//! binds the view to the store: a hash of the vault id and every stored
//! byte (the snapshot and every chunk with its sequence number, so the
//! document's heads and the last seq too), so a cache from another home,
//! another vault or an older state of this store does not match. The
//! checksum binds the view to the key: a hash of the key and every byte of
//! the view, so a view edited, truncated (even at a frame boundary, which
//! still decodes) or spliced from two files does not match either. Only a
//! file whose checksum and key both match is served; one whose checksum
//! matches but whose key does not (a view of an older state) is only a
//! starting point, brought up to date from the document, whose heads it
//! names; anything else is ignored and rendered again. Both hashes are
//! SipHash, which catches accidents and mix-ups, not a forger: whoever can
//! write the cache can write the store beside it too (docs/security.md).

use std::hash::{Hash, Hasher};
use std::path::Path;

use super::{Storage, StoreError, Stored, Vault};
use crate::doc::{ReadJournal, VaultView};

/// Starts every cache file, before the key.
const MAGIC: &[u8; 8] = b"ILVIEW4\n";

/// A read-only document of the vault in `store` (see the module docs).
/// The caller holds the store open, so no write can happen meanwhile.
pub fn open_view<S: Storage>(store: &S, cache: &Path) -> Result<VaultView, StoreError> {
    let path = store.location();
    let Some(vault_id) = store.get_meta("vault_id")? else {
        return Err(StoreError::NoVault { path });
    };
    let stored = store.load()?;
    let key = key(&vault_id, &stored);
    let old = std::fs::read(cache).ok();
    let rendered = old.as_deref().and_then(parse);
    if let Some((old_key, view)) = rendered {
        if old_key == key.as_slice() {
            if let Ok(doc) = VaultView::from_bytes(view) {
                if doc.vault_id().as_deref().map(str::as_bytes) == Some(vault_id.as_slice()) {
                    // Writers append patches (see `refresh_view`); once they
                    // add up, this read writes the view back as one piece.
                    if crate::doc::needs_folding(view) {
                        let _ = write(cache, &key, &doc.to_bytes());
                    }
                    return Ok(doc);
                }
            }
        }
    }
    let doc = super::vault::load_checked(path, &vault_id, &stored)?;
    // Stale: re-read only what changed since the old rendering, and answer
    // the command from the new one (reading no record twice).
    let previous = rendered.map(|(_, view)| view);
    let (view, bytes) = doc.into_view(previous);
    // Best effort: a cache that cannot be written only costs speed.
    let _ = write(cache, &key, &bytes);
    Ok(view)
}

/// Brings the view cache up to date after `vault` has written (its change
/// already durable), so that the next read answers from the cache instead
/// of loading the document: the writer holds the document anyway, and
/// re-reading the few records its change touched is cheap next to the
/// load the next read would pay. Returns whether it wrote the cache.
///
/// Only an existing view is brought up to date (a first rendering reads
/// every record, which is the next read's job, not a write's). When it
/// cannot be, it is left stale, and the next read renders it as before. A
/// crash anywhere in here is harmless: the view is only believed when its
/// key matches the store, so a view left behind by a crash before this
/// ran (or by one that rolled the store back) is rebuilt, never served.
/// The caller must still hold the store open, so no other write can land
/// between its save and this.
pub fn refresh_view<S: Storage>(vault: &mut Vault<S>, cache: &Path) -> Result<bool, StoreError> {
    let store = vault.storage();
    let Some(vault_id) = store.get_meta("vault_id")? else {
        return Ok(false);
    };
    let Ok(old) = std::fs::read(cache) else {
        return Ok(false);
    };
    // A view that fails its checksum is never built upon.
    let Some((old_key, previous)) = parse(&old) else {
        return Ok(false);
    };
    let key = key(&vault_id, &store.load()?);
    if old_key == key.as_slice() {
        return Ok(false);
    }
    let Some(view) = vault.doc.update_view(previous) else {
        return Ok(false);
    };
    write(cache, &key, &view).map_err(|e| StoreError::Io {
        path: cache.display().to_string(),
        detail: e.to_string(),
    })?;
    Ok(true)
}

/// The length of [`key`]'s hash.
const KEY_LEN: usize = 8;
/// The length of [`checksum`]'s hash.
const SUM_LEN: usize = 8;

/// A cache file's key and view, if it is one and its checksum matches.
fn parse(file: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = file.strip_prefix(MAGIC.as_slice())?;
    if rest.len() < KEY_LEN + SUM_LEN {
        return None;
    }
    let (key, rest) = rest.split_at(KEY_LEN);
    let (sum, view) = rest.split_at(SUM_LEN);
    (sum == checksum(key, view).as_slice()).then_some((key, view))
}

/// A hash of a cache's key and view: any change to either, or a cut,
/// changes it.
fn checksum(key: &[u8], view: &[u8]) -> [u8; SUM_LEN] {
    use std::hash::Hasher as _;
    let mut h = std::hash::DefaultHasher::new();
    h.write(b"interlog view checksum");
    h.write(key);
    h.write_usize(view.len());
    h.write(view);
    h.finish().to_be_bytes()
}

/// A hash of the vault id and every stored byte, in order. Any write
/// changes it (appends add a chunk; compaction replaces the snapshot).
fn key(vault_id: &[u8], stored: &Stored) -> [u8; KEY_LEN] {
    // SipHash with fixed keys: stable within a build, which is all a cache
    // needs (another build at worst misses once).
    let mut h = std::hash::DefaultHasher::new();
    vault_id.hash(&mut h);
    stored.snapshot.hash(&mut h);
    stored.chunks.hash(&mut h);
    h.finish().to_be_bytes()
}

fn write(cache: &Path, key: &[u8], view: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = cache.with_extension("tmp");
    let mut f = crate::files::owner_only(&tmp, true)?;
    f.write_all(MAGIC)?;
    f.write_all(key)?;
    f.write_all(&checksum(key, view))?;
    f.write_all(view)?;
    // No fsync: after a crash the rename may be lost or the file short, and
    // either way the next read rebuilds it.
    drop(f);
    std::fs::rename(&tmp, cache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::store::{MemoryStorage, Vault};
    use serde_json::json;

    fn fields(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    /// Whether a read answers from the cache: the cache is doctored first
    /// (same key), so only a cached answer shows the doctored name.
    fn answered_from_cache<S: Storage>(store: &S, cache: &Path, id: &str) -> bool {
        doctor(cache, true);
        let doc = open_view(store, cache).unwrap();
        let name = doc.record(Kind::Company, id).unwrap();
        name.str("name").unwrap().starts_with("cached ")
    }

    /// Prefixes every name in the cached view with "cached ", keeping its
    /// key; with `sum`, as the cache's writer would (a new checksum), else
    /// as an edit of the file would (the old one).
    fn doctor(cache: &Path, sum: bool) {
        let bytes = std::fs::read(cache).unwrap();
        let (top, view) = bytes.split_at(MAGIC.len() + KEY_LEN + SUM_LEN);
        let key = &top[MAGIC.len()..MAGIC.len() + KEY_LEN];
        let mut doctored = Vec::new();
        for frame in crate::doc::view::frames(view).unwrap() {
            let text = String::from_utf8(frame.to_vec()).unwrap();
            let text = text.replace("\"name\":\"", "\"name\":\"cached ");
            crate::doc::view::push_frame(&mut doctored, text.as_bytes()).unwrap();
        }
        if sum {
            write(cache, key, &doctored).unwrap();
        } else {
            let mut file = top.to_vec();
            file.extend_from_slice(&doctored);
            std::fs::write(cache, file).unwrap();
        }
    }

    fn frame_count(cache: &Path) -> usize {
        let bytes = std::fs::read(cache).unwrap();
        crate::doc::view::frames(&bytes[MAGIC.len() + KEY_LEN + SUM_LEN..])
            .unwrap()
            .len()
    }

    #[test]
    fn a_write_brings_the_view_up_to_date_and_the_next_read_answers_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        let acme = v
            .doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        v.save("add").unwrap();
        // Without a view there is nothing to bring up to date: rendering
        // every record is a read's job, not a write's.
        assert!(!refresh_view(&mut v, &cache).unwrap());
        assert!(!cache.exists());
        open_view(v.storage(), &cache).unwrap();

        let globex = v
            .doc
            .create(Kind::Company, &fields(json!({"name": "Globex"})))
            .unwrap();
        v.doc
            .update(Kind::Company, &acme, &fields(json!({"priority": "dream"})))
            .unwrap();
        v.save("edit").unwrap();
        assert!(refresh_view(&mut v, &cache).unwrap());
        // Nothing new since: nothing to do.
        assert!(!refresh_view(&mut v, &cache).unwrap());
        assert_eq!(
            open_view(v.storage(), &cache).unwrap().to_json(),
            v.doc.to_json()
        );
        // Served from the cache, and showing the write.
        assert!(answered_from_cache(v.storage(), &cache, &globex));
        let view = open_view(v.storage(), &cache).unwrap();
        let acme = view.record(Kind::Company, &acme).unwrap();
        assert_eq!(acme.str("priority"), Some("dream"));
        assert_eq!(acme.str("name"), Some("cached Acme"));

        // A delete, and a write the view missed (a crash between the
        // durable write and the update): the next update covers both.
        v.doc.unset(Kind::Company, &acme.id, &["priority"]).unwrap();
        v.save("unset").unwrap();
        v.doc
            .create(Kind::Contact, &fields(json!({"name": "Sam"})))
            .unwrap();
        v.save("add").unwrap();
        assert!(refresh_view(&mut v, &cache).unwrap());
        let view = open_view(v.storage(), &cache).unwrap();
        assert_eq!(view.records(Kind::Contact).len(), 1);
        assert_eq!(
            view.record(Kind::Company, &acme.id)
                .unwrap()
                .str("priority"),
            None
        );
        assert!(answered_from_cache(v.storage(), &cache, &globex));
    }

    #[test]
    fn a_view_the_writer_left_behind_is_rebuilt_not_believed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        let acme = v
            .doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        v.save("add").unwrap();
        open_view(v.storage(), &cache).unwrap();
        let backup = v.storage().clone();
        v.doc
            .update(Kind::Company, &acme, &fields(json!({"name": "Acme Corp"})))
            .unwrap();
        v.save("rename").unwrap();
        let before_update = std::fs::read(&cache).unwrap();

        // Killed between the durable write and the update: the old view's
        // key no longer matches, and the read renders it again.
        let read = open_view(v.storage(), &cache).unwrap();
        assert_eq!(read.to_json(), v.doc.to_json());

        // Brought up to date, then the store goes back to a backup from
        // before the write: the view is ahead of the store, and ignored.
        std::fs::write(&cache, &before_update).unwrap();
        assert!(refresh_view(&mut v, &cache).unwrap());
        let mut restored = Vault::open(backup).unwrap();
        let read = open_view(restored.storage(), &cache).unwrap();
        assert_eq!(read.to_json(), restored.doc.to_json());
        assert_eq!(
            read.record(Kind::Company, &acme).unwrap().str("name"),
            Some("Acme")
        );
        // And a writer there cannot bring a view it cannot place up to date.
        std::fs::write(&cache, &before_update).unwrap();
        assert!(refresh_view(&mut v, &cache).unwrap());
        restored
            .doc
            .create(Kind::Company, &fields(json!({"name": "Globex"})))
            .unwrap();
        restored.save("add").unwrap();
        assert!(!refresh_view(&mut restored, &cache).unwrap());
        let read = open_view(restored.storage(), &cache).unwrap();
        assert_eq!(read.to_json(), restored.doc.to_json());
    }

    #[test]
    fn patches_from_many_writes_are_folded_by_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        open_view(v.storage(), &cache).unwrap();
        for i in 0..10 {
            v.doc
                .create(Kind::Company, &fields(json!({"name": format!("Co {i}")})))
                .unwrap();
            v.save("add").unwrap();
            assert!(refresh_view(&mut v, &cache).unwrap());
        }
        assert_eq!(frame_count(&cache), 12, "a head, a base and ten patches");
        let read = open_view(v.storage(), &cache).unwrap();
        assert_eq!(read.to_json(), v.doc.to_json());
        assert_eq!(frame_count(&cache), 2, "folded into one base");
        assert_eq!(
            open_view(v.storage(), &cache).unwrap().to_json(),
            v.doc.to_json()
        );
    }

    #[test]
    fn a_view_reads_like_the_document_and_follows_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        let id = v
            .doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        v.save("add").unwrap();

        // The first read renders the cache, and reads like the document.
        let view = open_view(v.storage(), &cache).unwrap();
        assert_eq!(view.to_json(), v.doc.to_json());
        assert_eq!(view.vault_id(), v.doc.vault_id());
        assert_eq!(view.find(&id[..12], &Kind::ALL).unwrap().id, id);
        assert_eq!(view.short_ids().get(&id), v.doc.short_ids().get(&id));
        assert_eq!(view.find_by_name(Kind::Company, "acme").unwrap().id, id);
        assert_eq!(view.profile(), v.doc.profile());
        assert_eq!(view.records(Kind::Company).len(), 1);
        // While nothing is written, reads answer from it.
        assert!(answered_from_cache(v.storage(), &cache, &id));

        // A write makes the cache stale: the next read sees it.
        v.doc
            .update(Kind::Company, &id, &fields(json!({"name": "Acme Corp"})))
            .unwrap();
        v.save("rename").unwrap();
        // (The record it re-reads drops the doctored name.)
        let after = open_view(v.storage(), &cache).unwrap();
        assert_eq!(after.to_json(), v.doc.to_json());
        assert!(answered_from_cache(v.storage(), &cache, &id));
        // So does compaction, which rewrites the same document: the next
        // read renders it again (carrying over what did not change).
        let before = std::fs::read(&cache).unwrap();
        v.compact().unwrap();
        let view = open_view(v.storage(), &cache).unwrap();
        assert_ne!(std::fs::read(&cache).unwrap(), before);
        assert!(answered_from_cache(v.storage(), &cache, &id));
        drop(view);
    }

    #[test]
    fn a_stale_view_brought_up_to_date_reads_like_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        let acme = v
            .doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        let opp = v
            .doc
            .create(Kind::Opportunity, &fields(json!({"company": acme})))
            .unwrap();
        let gone = v
            .doc
            .create(Kind::Contact, &fields(json!({"name": "Sam"})))
            .unwrap();
        v.save("add").unwrap();
        open_view(v.storage(), &cache).unwrap();

        // Several writes of several shapes before the next read.
        v.doc
            .update(Kind::Company, &acme, &fields(json!({"priority": "dream"})))
            .unwrap();
        v.doc
            .add_entry(
                Kind::Opportunity,
                &opp,
                "stages",
                &fields(json!({"stage": "screen", "at": "2026-01-01T09:00:00Z"})),
            )
            .unwrap();
        v.doc
            .set_members(Kind::Opportunity, &opp, "purpose", &["network".into()])
            .unwrap();
        v.doc
            .create(
                Kind::Interview,
                &fields(json!({"company": acme, "rating": 4})),
            )
            .unwrap();
        v.doc
            .update(
                Kind::Contact,
                &gone,
                &fields(json!({"deleted_at": "2026-01-02T00:00:00Z"})),
            )
            .unwrap();
        v.doc
            .update_profile(&fields(json!({"monthly_goal": 3})))
            .unwrap();
        v.save("edits").unwrap();
        v.doc.unset(Kind::Company, &acme, &["priority"]).unwrap();
        v.save("unset").unwrap();

        let view = open_view(v.storage(), &cache).unwrap();
        assert_eq!(view.to_json(), v.doc.to_json());
        // And what it wrote reads the same.
        let again = open_view(v.storage(), &cache).unwrap();
        assert_eq!(again.to_json(), v.doc.to_json());
    }

    /// A view edited in the file, cut at a frame boundary (it still
    /// decodes, and its key still matches), or copied from another vault's
    /// home, is not served: the read shows the document.
    #[test]
    fn an_edited_cut_or_swapped_view_is_not_believed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let mut v = Vault::init(MemoryStorage::new()).unwrap();
        let acme = v
            .doc
            .create(Kind::Company, &fields(json!({"name": "Acme"})))
            .unwrap();
        v.save("add").unwrap();
        open_view(v.storage(), &cache).unwrap();
        let name = |doc: &dyn ReadJournal| {
            doc.record(Kind::Company, &acme)
                .unwrap()
                .str("name")
                .map(str::to_string)
        };

        doctor(&cache, false);
        let read = open_view(v.storage(), &cache).unwrap();
        assert_eq!(name(&read).as_deref(), Some("Acme"));
        assert_eq!(read.to_json(), v.doc.to_json());
        // Rewritten, so the next read is served from the cache again.
        assert!(answered_from_cache(v.storage(), &cache, &acme));

        // A write appends a patch; cutting it off leaves frames that decode.
        open_view(v.storage(), &cache).unwrap();
        v.doc
            .update(Kind::Company, &acme, &fields(json!({"name": "Acme Corp"})))
            .unwrap();
        v.save("rename").unwrap();
        let before = std::fs::read(&cache).unwrap();
        assert!(refresh_view(&mut v, &cache).unwrap());
        let after = std::fs::read(&cache).unwrap();
        let patch = frame_count(&cache);
        assert!(patch >= 3, "a patch frame was appended");
        // Keep the new key and checksum, drop the patch: the old body.
        let mut cut = after[..MAGIC.len() + KEY_LEN + SUM_LEN].to_vec();
        cut.extend_from_slice(&before[MAGIC.len() + KEY_LEN + SUM_LEN..]);
        std::fs::write(&cache, &cut).unwrap();
        let read = open_view(v.storage(), &cache).unwrap();
        assert_eq!(name(&read).as_deref(), Some("Acme Corp"));

        // Another vault's cache copied over this one.
        let other_dir = tempfile::tempdir().unwrap();
        let other_cache = other_dir.path().join("view");
        let mut other = Vault::init(MemoryStorage::new()).unwrap();
        other
            .doc
            .create(Kind::Company, &fields(json!({"name": "Globex"})))
            .unwrap();
        other.save("add").unwrap();
        open_view(other.storage(), &other_cache).unwrap();
        std::fs::copy(&other_cache, &cache).unwrap();
        let read = open_view(v.storage(), &cache).unwrap();
        assert_eq!(read.to_json(), v.doc.to_json());

        // And a writer does not build on an edited view.
        doctor(&cache, false);
        v.doc
            .create(Kind::Contact, &fields(json!({"name": "Sam"})))
            .unwrap();
        v.save("add").unwrap();
        assert!(!refresh_view(&mut v, &cache).unwrap());
        let read = open_view(v.storage(), &cache).unwrap();
        assert_eq!(read.to_json(), v.doc.to_json());
    }

    #[test]
    fn a_damaged_cache_is_rebuilt_not_believed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("view");
        let v = Vault::init(MemoryStorage::new()).unwrap();
        open_view(v.storage(), &cache).unwrap();
        let mut bytes = std::fs::read(&cache).unwrap();
        let n = bytes.len();
        bytes.truncate(n / 2);
        std::fs::write(&cache, &bytes).unwrap();
        let doc = open_view(v.storage(), &cache).unwrap();
        assert_eq!(doc.vault_id(), Some(v.vault_id()));
        assert_eq!(std::fs::read(&cache).unwrap().len(), n, "rewritten whole");
    }
}
