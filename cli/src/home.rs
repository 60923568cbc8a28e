//! Where a device keeps its vault, and opening it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use interlog_core::store::{SledStorage, StoreError};
use interlog_core::Vault;

pub type DeviceVault = Vault<SledStorage>;

/// The home directory: `--home`, then `INTERLOG_HOME` (both via clap), then
/// the platform's data directory.
pub fn resolve(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p);
    }
    directories::ProjectDirs::from("", "", "interlog")
        .map(|d| d.data_dir().to_path_buf())
        .context(
            "could not find a data directory for this user; pass --home DIR or set INTERLOG_HOME",
        )
}

pub fn store_path(home: &Path) -> PathBuf {
    home.join("store")
}

/// Opens the vault in `home`, refusing to create one by accident.
pub fn open(home: &Path) -> Result<DeviceVault> {
    let (storage, _) = open_store(home)?;
    Ok(Vault::open(storage)?)
}

/// The store of the vault in `home` and the vault's id, without loading the
/// document: for `sync`, which often does not need it.
pub fn open_store(home: &Path) -> Result<(SledStorage, String)> {
    use interlog_core::store::Storage;
    let path = store_path(home);
    let no_vault = || StoreError::NoVault {
        path: home.display().to_string(),
    };
    if !path.exists() {
        return Err(no_vault().into());
    }
    let storage = open_sled(home, &path)?;
    restrict_home(home);
    let id = storage.get_meta("vault_id")?.ok_or_else(no_vault)?;
    Ok((storage, String::from_utf8_lossy(&id).into_owned()))
}

/// A vault opened to read only: its document, possibly a cached view of it
/// (see `interlog_core::store::open_view`).
pub struct ReadVault {
    pub doc: interlog_core::VaultDoc,
}

/// Opens the vault in `home` to read only. The store stays locked while the
/// view is checked, so no write can slip in between.
pub fn open_read(home: &Path) -> Result<ReadVault> {
    let path = store_path(home);
    if !path.exists() {
        return Err(StoreError::NoVault {
            path: home.display().to_string(),
        }
        .into());
    }
    let storage = open_sled(home, &path)?;
    restrict_home(home);
    let doc = interlog_core::store::open_view(&storage, &view_cache(home))?;
    Ok(ReadVault { doc })
}

/// The view cache: a rendering of the document for reads, rebuilt after
/// any change. Deleting it is always safe.
pub fn view_cache(home: &Path) -> PathBuf {
    home.join("view.cache")
}

/// Creates the home directory (owner-only) and opens a store in it; `init`
/// refuses it if it already holds a vault.
pub fn create_store(home: &Path) -> Result<SledStorage> {
    let path = store_path(home);
    std::fs::create_dir_all(home)
        .with_context(|| format!("could not create the home directory {}", home.display()))?;
    restrict(home)?;
    open_sled(home, &path)
}

/// Opens the store at `path`. A running `sync --watch` holds the store
/// between events; if the store is busy, ask it to let go (see
/// [`watch_socket`]), then wait for the store as usual.
fn open_sled(home: &Path, path: &Path) -> Result<SledStorage> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match SledStorage::open_waiting(path, std::time::Duration::ZERO) {
            Err(StoreError::Busy { .. }) if std::time::Instant::now() < deadline => {
                // A watcher that is just starting may not listen yet: keep
                // trying both the store and the watcher until the deadline.
                #[cfg(unix)]
                if !IS_WATCHER.load(std::sync::atomic::Ordering::Relaxed)
                    && borrow_from_watcher(home)
                {
                    return Ok(SledStorage::open(path)?);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return Ok(other?),
        }
    }
}

/// The socket a running `sync --watch` listens on. A process that finds the
/// store busy connects; the watcher closes the store, answers with a byte,
/// and opens it again only once this connection closes, which happens when
/// the process exits. Before it exits, a process that wrote may send the
/// record it staged (see [`stage_for_watcher`]).
pub fn watch_socket(home: &Path) -> PathBuf {
    home.join("watch.sock")
}

/// Set in the `sync --watch` process, which must never ask itself.
static IS_WATCHER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks this process as the watcher: when it finds the store busy, it
/// waits for it instead of asking (itself) to let go.
pub fn become_watcher() {
    IS_WATCHER.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Connections to the watcher, kept open until the process exits.
#[cfg(unix)]
static BORROWED: std::sync::Mutex<Vec<std::os::unix::net::UnixStream>> =
    std::sync::Mutex::new(Vec::new());

/// Asks a running watcher to let go of the store, and waits for its answer
/// (at most as long as for the store itself). Whether it let go; without a
/// watcher listening, or without an answer, the caller keeps waiting for
/// the store.
#[cfg(unix)]
fn borrow_from_watcher(home: &Path) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(watch_socket(home)) else {
        return false;
    };
    // Connecting is the request; the answer is one byte.
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let answered = matches!(s.read(&mut [0u8; 1]), Ok(1));
    // Kept open either way: the watcher may still answer, and lends the
    // store until this process exits.
    if let Ok(mut held) = BORROWED.lock() {
        held.push(s);
    }
    answered
}

/// Where a home notes that it reminded its user to write the recovery
/// words down (once).
pub fn words_marker(home: &Path) -> PathBuf {
    home.join("words.reminded")
}

/// Makes a directory or file readable by its owner only.
pub fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("could not restrict permissions on {}", path.display()))?;
    }
    Ok(())
}

/// Brings the view cache up to date after this process wrote, so the next
/// read answers from it instead of loading the document again. Best effort:
/// a cache left stale only makes the next read slower.
pub fn refresh_view(v: &mut DeviceVault) {
    use interlog_core::store::Storage;
    let store = PathBuf::from(v.storage().location());
    if let Some(home) = store.parent() {
        let _ = interlog_core::store::refresh_view(v, &view_cache(home));
    }
}

/// The outcome of the last one-shot sync, for `sync status`.
pub fn last_sync_file(home: &Path) -> PathBuf {
    home.join("last-sync.json")
}

/// The file a running `sync --watch` polls to notice local writes.
pub fn changed_marker(home: &Path) -> PathBuf {
    home.join("changed")
}

/// Whether this process wrote to its vault (see [`notify_watcher`]).
static WROTE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes that this process wrote something a running `sync --watch` should
/// push.
pub fn mark_changed() {
    WROTE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Tells a running `sync --watch` (if any) that this process wrote
/// something, by touching the `changed` marker. Call it once the store is
/// closed: the watcher wakes on the marker and opens the store at once.
/// Best effort: the next sync pushes the change anyway.
pub fn notify_watcher(home: &Path) {
    if !WROTE.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    #[cfg(unix)]
    hand_staged_to_watcher();
    let _ = std::fs::write(changed_marker(home), b"");
}

/// A record this process staged for the watcher that lent it the store:
/// an encoded `append` frame.
#[cfg(unix)]
static STAGED: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(None);

/// If a watcher lent this process the store, seals what this process wrote
/// as the device's next record, in the outbox (see
/// `interlog_core::sync::stage`), for the watcher to send the moment this
/// process exits, before it has even opened the store again. Best effort:
/// otherwise the watcher pushes the change as usual.
pub fn stage_for_watcher(v: &mut DeviceVault) {
    #[cfg(unix)]
    {
        use interlog_core::store::Storage;
        use interlog_core::sync::{self, Membership};
        use interlog_core::wire::{self, Frame};
        if BORROWED.lock().map_or(true, |b| b.is_empty()) {
            return;
        }
        let store = PathBuf::from(v.storage().location());
        let Some(home) = store.parent() else { return };
        let Ok(Some(m)) = Membership::load(&key_file(home)) else {
            return;
        };
        if m.vault != v.vault_id() {
            return;
        }
        if let Ok(Some(record)) = sync::stage(&m, v) {
            if let (Ok(frame), Ok(mut staged)) =
                (wire::encode(&Frame::Append { record }), STAGED.lock())
            {
                *staged = Some(frame);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = v;
}

/// Sends the staged record, if any, to the watcher that lent the store.
#[cfg(unix)]
fn hand_staged_to_watcher() {
    use std::io::Write;
    let Some(frame) = STAGED.lock().ok().and_then(|mut s| s.take()) else {
        return;
    };
    if let Ok(mut lent) = BORROWED.lock() {
        if let Some(s) = lent.first_mut() {
            let _ = s.write_all(&frame);
        }
    }
}

/// The vault key file.
pub fn key_file(home: &Path) -> PathBuf {
    home.join("vault.key")
}

/// Left in the home by a running `join` until it ends (see
/// `cmd::sync::join`): a home that holds it and no vault holds only what an
/// interrupted join wrote, which the next join may clear.
pub fn join_marker(home: &Path) -> PathBuf {
    home.join("join.pending")
}

/// The names of the entries in `home`, sorted; none if it does not exist.
pub fn entries(home: &Path) -> Result<Vec<String>> {
    let list = match std::fs::read_dir(home) {
        Ok(list) => list,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("could not read the home {}", home.display()))
        }
    };
    let mut names = Vec::new();
    for entry in list {
        let entry = entry.with_context(|| format!("could not read the home {}", home.display()))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Creates the home directory owner-only, and any missing parent. Whether
/// it was created now.
pub fn create_home(home: &Path) -> Result<bool> {
    if home.is_dir() {
        return Ok(false);
    }
    std::fs::create_dir_all(home)
        .with_context(|| format!("could not create the home directory {}", home.display()))?;
    restrict(home)?;
    Ok(true)
}

/// Makes the files this CLI keeps in `home` owner-only where a version that
/// did not (or a loose umask) left them readable by others: the home itself
/// and the files beside the store. The store's own files are seen to by
/// `SledStorage::open`. Best effort: reading the journal does not depend
/// on it.
pub fn restrict_home(home: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let files = [
            key_file(home),
            view_cache(home),
            last_sync_file(home),
            changed_marker(home),
            watch_socket(home),
            words_marker(home),
        ];
        for p in std::iter::once(home.to_path_buf()).chain(files) {
            if let Ok(meta) = p.symlink_metadata() {
                if !meta.file_type().is_symlink() && meta.permissions().mode() & 0o077 != 0 {
                    let _ = restrict(&p);
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = home;
}
