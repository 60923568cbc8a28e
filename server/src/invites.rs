//! One-time invite codes, kept as files in `<data>/invites/` so that
//! `interlog relay invite` can mint one while the relay runs (sled holds an
//! exclusive lock on the store). Using a code renames it away atomically.
//! A code is its file's name, so the directory is owner-only: listing it
//! must not hand out registrations to other users of the machine.

use std::path::{Path, PathBuf};

fn dir(data: &Path) -> PathBuf {
    data.join("invites")
}

/// Mints a new code. For a relay with a self-signed certificate the code
/// carries its pin (`CODE@sha256:…`), so the device that registers with it
/// trusts the relay without another step.
pub fn mint(data: &Path) -> std::io::Result<String> {
    let code = new_code()?;
    // The data directory too is owner-only, even when this is the first
    // thing ever to create it (before the relay's first start).
    crate::private_data_dir(data)?;
    std::fs::create_dir_all(dir(data))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir(data), std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::write(dir(data).join(&code), b"")?;
    Ok(interlog_core::tls::invite_with_pin(
        &code,
        crate::tls::self_signed_pin(data),
    ))
}

/// What became of a code a device presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// It was valid, and is used up now.
    Taken,
    /// It was minted here and has registered a vault already.
    AlreadyUsed,
    /// No such code was minted here.
    Unknown,
}

/// A new code (32 hex digits), for a store that keeps codes itself.
pub fn new_code() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// A code as stored: without a pin, lowercase; `None` if it cannot be one.
pub fn normalize(code: &str) -> Option<String> {
    // Devices send the code without the pin; accept it with one too.
    let code = code
        .split('@')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (code.len() == 32 && code.bytes().all(|b| b.is_ascii_hexdigit())).then_some(code)
}

/// Mints a code kept in a Postgres store that several relays share, for
/// `interlog relay invite --store URL`. Runs its own runtime: call it from
/// outside one.
pub fn mint_in_store(url: &str) -> Result<String, crate::store::RelayStoreError> {
    use crate::store::RelayStore;
    let io = |e: std::io::Error| crate::store::RelayStoreError::Io {
        path: "postgres".into(),
        detail: e.to_string(),
    };
    let code = new_code().map_err(io)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(io)?;
    let store = rt.block_on(crate::store::PostgresRelayStore::connect(url))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    store.add_invite(&code, now)?;
    Ok(code)
}

/// Consumes a code.
pub fn take(data: &Path, code: &str) -> Taken {
    let Some(code) = normalize(code) else {
        return Taken::Unknown;
    };
    let from = dir(data).join(&code);
    let used = dir(data).join(format!("{code}.used"));
    if std::fs::rename(from, &used).is_ok() {
        Taken::Taken
    } else if used.exists() {
        Taken::AlreadyUsed
    } else {
        Taken::Unknown
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_work_once() {
        let dir = tempfile::tempdir().unwrap();
        let code = super::mint(dir.path()).unwrap();
        use super::Taken;
        assert_eq!(super::take(dir.path(), &code), Taken::Taken);
        assert_eq!(super::take(dir.path(), &code), Taken::AlreadyUsed);
        assert_eq!(super::take(dir.path(), "../../etc/passwd"), Taken::Unknown);
        assert_eq!(super::take(dir.path(), &"0".repeat(32)), Taken::Unknown);
    }
}
