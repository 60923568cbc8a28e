//! A device's home directory: what it holds beside the store, and keeping
//! it its owner's alone. The CLI keeps a vault in one; the benchmarks and
//! tests build homes the CLI then opens.
//!
//! ```text
//! <home>/store            the vault (sled)
//!        vault.key        the vault key and relay (sync::Membership)
//!        view.cache       a rendering of the document for reads
//!        last-sync.json   the last one-shot sync's outcome (sync::LastSync)
//!        changed          touched by each write, for a running `sync --watch`
//!        watch.sock       where that watcher lends the store
//!        words.reminded   the recovery words were mentioned once
//!        join.pending     a join is under way, or was interrupted
//! ```

use std::path::{Path, PathBuf};

/// Something in a home that could not be read, made or restricted.
#[derive(Debug, thiserror::Error)]
#[error("could not {what} {}: {source}", path.display())]
pub struct HomeError {
    what: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

impl HomeError {
    fn at(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> HomeError {
        let path = path.to_path_buf();
        move |source| HomeError { what, path, source }
    }
}

/// The vault's store.
pub fn store_path(home: &Path) -> PathBuf {
    home.join("store")
}

/// The vault key file.
pub fn key_file(home: &Path) -> PathBuf {
    home.join("vault.key")
}

/// The view cache: a rendering of the document for reads, rebuilt after
/// any change. Deleting it is always safe.
pub fn view_cache(home: &Path) -> PathBuf {
    home.join("view.cache")
}

/// The outcome of the last one-shot sync, for `sync status`.
pub fn last_sync_file(home: &Path) -> PathBuf {
    home.join("last-sync.json")
}

/// The file a running `sync --watch` polls to notice local writes.
pub fn changed_marker(home: &Path) -> PathBuf {
    home.join("changed")
}

/// The socket a running `sync --watch` listens on. A process that finds the
/// store busy connects; the watcher closes the store, answers with a byte,
/// and opens it again only once this connection closes, which happens when
/// the process exits. Before it exits, a process that wrote may send the
/// record it staged.
pub fn watch_socket(home: &Path) -> PathBuf {
    home.join("watch.sock")
}

/// Where a home notes that it reminded its user to write the recovery
/// words down (once).
pub fn words_marker(home: &Path) -> PathBuf {
    home.join("words.reminded")
}

/// Left in the home by a running join until it ends: a home that holds it
/// and no vault holds only what an interrupted join wrote
/// ([`JOIN_LEFTOVERS`]), which the next join may clear.
pub fn join_marker(home: &Path) -> PathBuf {
    home.join("join.pending")
}

/// What an interrupted join may leave in a home: its marker, the store, the
/// key, and the key's temporary file (`files::temp_of`; `vault.tmp` as
/// older versions named it).
pub const JOIN_LEFTOVERS: [&str; 5] = [
    "join.pending",
    "store",
    "vault.key",
    "vault.interlog-tmp",
    "vault.tmp",
];

/// Whether a home holding these entries holds only what a join writes.
pub fn only_join_leftovers(names: &[String]) -> bool {
    names.iter().all(|n| JOIN_LEFTOVERS.contains(&n.as_str()))
}

/// Writes the join's marker, durably, before the join writes anything else.
pub fn mark_joining(home: &Path) -> Result<(), HomeError> {
    let marker = join_marker(home);
    let written = std::fs::File::create(&marker).and_then(|f| f.sync_all());
    #[cfg(unix)]
    let written = written.and_then(|()| std::fs::File::open(home)?.sync_all());
    written.map_err(HomeError::at("write", &marker))
}

/// The names of the entries in `home`, sorted; none if it does not exist.
pub fn entries(home: &Path) -> Result<Vec<String>, HomeError> {
    let list = match std::fs::read_dir(home) {
        Ok(list) => list,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(HomeError::at("read the home", home)(e)),
    };
    let mut names = Vec::new();
    for entry in list {
        let entry = entry.map_err(HomeError::at("read the home", home))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Creates the home directory owner-only, and any missing parent. Whether
/// it was created now.
pub fn create(home: &Path) -> Result<bool, HomeError> {
    if home.is_dir() {
        return Ok(false);
    }
    std::fs::create_dir_all(home).map_err(HomeError::at("create the home directory", home))?;
    restrict(home)?;
    Ok(true)
}

/// Makes a directory or file readable by its owner only.
pub fn restrict(path: &Path) -> Result<(), HomeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(HomeError::at("restrict permissions on", path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Makes the home and the files beside its store owner-only where a version
/// that did not (or a loose umask) left them readable by others. The
/// store's own files are seen to by `SledStorage::open`. Best effort:
/// reading the journal does not depend on it.
pub fn tighten(home: &Path) {
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
