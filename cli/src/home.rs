//! Where a device keeps its vault, and opening it. What a home holds, and
//! keeping it owner-only, is `interlog_core::home`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use interlog_core::store::{SledStorage, StoreError};
use interlog_core::Vault;

use crate::lending::Loans;

pub use interlog_core::home::{
    changed_marker, join_marker, key_file, store_path, view_cache, watch_socket, words_marker,
};

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
        interlog_core::home::restrict(self)?;
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
        interlog_core::home::tighten(self);
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
