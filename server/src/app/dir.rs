//! The phone app from a directory, for developing it: `--app-dir DIR` (or
//! `INTERLOG_RELAY_APP_DIR`, or `app_dir` in the config file) serves the
//! files of `DIR`, read at each request, so a fresh `npm run build` shows at
//! the next reload.
//!
//! It must never serve anything outside that directory: a request path is
//! accepted only when every component is a plain name (no `..`, no root, no
//! drive, no backslash), and the file it names must still lie inside the
//! directory once symbolic links are resolved.

use std::path::{Component, Path, PathBuf};

/// Why a file could not be read from the app directory.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// The directory has no `index.html`: it is not a built app.
    #[error("the app directory has no index.html")]
    NoApp,
    /// No such file inside the directory, or a path that tries to leave it.
    #[error("no such file in the app directory")]
    NotFound,
    #[error("could not read a file of the app directory: {0}")]
    Read(#[from] std::io::Error),
}

/// The file `rel` names inside `dir`, or `None` when `rel` tries to leave it.
pub fn resolve(dir: &Path, rel: &str) -> Option<PathBuf> {
    if rel.is_empty() || rel.contains(['\\', '\0']) {
        return None;
    }
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let full = root.join(rel).canonicalize().ok()?;
    (full.starts_with(&root) && full.is_file()).then_some(full)
}

/// The contents of the file `rel` names inside `dir`, read off the runtime's
/// threads.
pub async fn read(dir: &Path, rel: &str) -> Result<Vec<u8>, DirError> {
    let (dir, rel) = (dir.to_path_buf(), rel.to_string());
    tokio::task::spawn_blocking(move || {
        if !dir.join("index.html").is_file() {
            return Err(DirError::NoApp);
        }
        let path = resolve(&dir, &rel).ok_or(DirError::NotFound)?;
        Ok(std::fs::read(path)?)
    })
    .await
    .unwrap_or_else(|e| Err(DirError::Read(std::io::Error::other(e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_app_dir_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("dist");
        std::fs::create_dir_all(app.join("assets")).unwrap();
        std::fs::write(app.join("index.html"), "app").unwrap();
        std::fs::write(app.join("assets/a.js"), "js").unwrap();
        std::fs::write(root.path().join("secret"), "key").unwrap();
        assert!(resolve(&app, "index.html").is_some());
        assert!(resolve(&app, "assets/a.js").is_some());
        for bad in [
            "",
            "../secret",
            "assets/../../secret",
            "/etc/passwd",
            "..\\secret",
            "./index.html",
            "assets",
            "missing.js",
            "index.html\0",
        ] {
            assert_eq!(resolve(&app, bad), None, "{bad:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret"), app.join("link")).unwrap();
            assert_eq!(resolve(&app, "link"), None);
        }
    }
}
