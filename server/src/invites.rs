//! One-time invite codes, kept as files in `<data>/invites/` so that
//! `interlog relay invite` can mint one while the relay runs (sled holds an
//! exclusive lock on the store). Using a code renames it away atomically.
//! A code is its file's name, so the directory is owner-only: listing it
//! must not hand out registrations to other users of the machine.

use std::path::{Path, PathBuf};

fn dir(data: &Path) -> PathBuf {
    data.join("invites")
}

/// Mints a new code.
pub fn mint(data: &Path) -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let code = hex::encode(bytes);
    std::fs::create_dir_all(dir(data))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir(data), std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::write(dir(data).join(&code), b"")?;
    Ok(code)
}

/// Consumes a code: true if it existed (and now no longer does).
pub fn take(data: &Path, code: &str) -> bool {
    let code = code.trim().to_ascii_lowercase();
    if code.len() != 32 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let from = dir(data).join(&code);
    let used = dir(data).join(format!("{code}.used"));
    std::fs::rename(from, used).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_work_once() {
        let dir = tempfile::tempdir().unwrap();
        let code = super::mint(dir.path()).unwrap();
        assert!(super::take(dir.path(), &code));
        assert!(!super::take(dir.path(), &code));
        assert!(!super::take(dir.path(), "../../etc/passwd"));
    }
}
