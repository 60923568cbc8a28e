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

fn store_path(home: &Path) -> PathBuf {
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
    let storage = SledStorage::open(&path)?;
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
    let storage = SledStorage::open(&path)?;
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
    Ok(SledStorage::open(&path)?)
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

/// The file a running `sync --watch` polls to notice local writes.
pub fn changed_marker(home: &Path) -> PathBuf {
    home.join("changed")
}

/// Tells a running `sync --watch` (if any) that this device wrote something.
/// Best effort: the next sync pushes the change anyway.
pub fn mark_changed(v: &DeviceVault) {
    use interlog_core::store::Storage;
    let store = PathBuf::from(v.storage().location());
    if let Some(home) = store.parent() {
        let _ = std::fs::write(changed_marker(home), b"");
    }
}

/// The vault key file.
pub fn key_file(home: &Path) -> PathBuf {
    home.join("vault.key")
}
