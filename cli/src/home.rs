//! Where a device keeps its vault, and opening it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use interlog_core::store::{SledStorage, StoreError};
use interlog_core::Vault;

use crate::lending::Loans;

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

/// A device's home directory, and this process's loans of its store from
/// a running `sync --watch` (see [`crate::lending`]). It reads as the
/// directory's path.
#[derive(Clone)]
pub struct Home {
    path: PathBuf,
    loans: Arc<Loans>,
}

impl std::ops::Deref for Home {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Home {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Home {
    pub fn new(path: PathBuf) -> Home {
        Home {
            path,
            loans: Arc::default(),
        }
    }

    pub fn loans(&self) -> &Loans {
        &self.loans
    }

    /// Opens the vault, refusing to create one by accident.
    pub fn open(&self) -> Result<DeviceVault> {
        let (storage, _) = self.open_store()?;
        Ok(Vault::open(storage)?)
    }

    /// The vault's store and id, without loading the document: for `sync`,
    /// which often does not need it.
    pub fn open_store(&self) -> Result<(SledStorage, String)> {
        use interlog_core::store::Storage;
        let storage = self.existing_store()?;
        let id = storage
            .get_meta("vault_id")?
            .ok_or_else(|| self.no_vault())?;
        Ok((storage, String::from_utf8_lossy(&id).into_owned()))
    }

    /// Opens the vault to read only. The store stays locked while the view
    /// is checked, so no write can slip in between.
    pub fn open_read(&self) -> Result<ReadVault> {
        let storage = self.existing_store()?;
        let doc = interlog_core::store::open_view(&storage, &view_cache(self))?;
        Ok(ReadVault { doc })
    }

    /// Creates the home directory (owner-only) and opens a store in it;
    /// `init` refuses it if it already holds a vault.
    pub fn create_store(&self) -> Result<SledStorage> {
        std::fs::create_dir_all(self)
            .with_context(|| format!("could not create the home directory {}", self.display()))?;
        restrict(self)?;
        self.open_sled()
    }

    fn no_vault(&self) -> StoreError {
        StoreError::NoVault {
            path: self.display().to_string(),
        }
    }

    fn existing_store(&self) -> Result<SledStorage> {
        if !store_path(self).exists() {
            return Err(self.no_vault().into());
        }
        let storage = self.open_sled()?;
        restrict_home(self);
        Ok(storage)
    }

    /// Opens the store. A running `sync --watch` holds the store between
    /// events; if the store is busy, ask it to let go, then wait for the
    /// store as usual.
    fn open_sled(&self) -> Result<SledStorage> {
        let path = store_path(self);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match SledStorage::open_waiting(&path, std::time::Duration::ZERO) {
                Err(StoreError::Busy { .. }) if std::time::Instant::now() < deadline => {
                    // A watcher that is just starting may not listen yet:
                    // keep trying both the store and the watcher until the
                    // deadline.
                    if self.loans.borrow(self) {
                        return Ok(SledStorage::open(&path)?);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => return Ok(other?),
            }
        }
    }
}

/// A vault opened to read only: a cached view of its document (see
/// `interlog_core::store::open_view`).
pub struct ReadVault {
    pub doc: interlog_core::VaultView,
}

/// The view cache: a rendering of the document for reads, rebuilt after
/// any change. Deleting it is always safe.
pub fn view_cache(home: &Path) -> PathBuf {
    home.join("view.cache")
}

/// The socket a running `sync --watch` listens on. A process that finds the
/// store busy connects; the watcher closes the store, answers with a byte,
/// and opens it again only once this connection closes, which happens when
/// the process exits. Before it exits, a process that wrote may send the
/// record it staged (see [`Loans::wrote`]).
pub fn watch_socket(home: &Path) -> PathBuf {
    home.join("watch.sock")
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
