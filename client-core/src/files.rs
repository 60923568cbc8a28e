//! Files a device writes beside its store (exports, the key file, the view
//! cache, markers): owner-only from the moment they exist, whatever the
//! umask.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Opens `path` for writing, creating it with mode 0600 (an existing file
/// keeps its mode). `truncate` empties it first; without it, bytes are
/// overwritten in place.
pub fn owner_only(path: &Path, truncate: bool) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// The temporary file [`replace`] writes `path`'s new bytes to: what a
/// write interrupted by a crash leaves beside it.
pub fn temp_of(path: &Path) -> std::path::PathBuf {
    path.with_extension("interlog-tmp")
}

/// Writes `bytes` to `path` whole or not at all: into an owner-only
/// temporary file beside it, flushed to disk, then renamed over `path`.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_of(path);
    let mut f = owner_only(&tmp, true)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_are_owner_only_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.json");
        replace(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        // Replaced whole, and no temporary file left beside it.
        replace(&path, b"[1]").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"[1]");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
