//! Vault membership: the relay, its pin (for a relay with a self-signed
//! certificate), the vault id and the vault key, kept in a key file readable
//! by its owner only; and the join code that carries them to a new device.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::crypto::VaultKey;
use crate::sync::SyncError;
use crate::tls::Pin;

/// What a device needs to sync a vault.
#[derive(Debug, Clone)]
pub struct Membership {
    pub relay: String,
    /// The relay's key, when it is trusted by pin rather than by a CA.
    pub pin: Option<Pin>,
    pub vault: String,
    pub key: VaultKey,
}

/// The key file's and the join code's contents. Files and codes from before
/// pins have none, which means "trust the CA roots".
#[derive(Serialize, Deserialize)]
struct KeyFile {
    relay: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pin: Option<String>,
    vault: String,
    key: String,
}

impl KeyFile {
    fn of(m: &Membership) -> KeyFile {
        KeyFile {
            relay: m.relay.clone(),
            pin: m.pin.map(|p| p.to_string()),
            vault: m.vault.clone(),
            key: m.key.to_hex(),
        }
    }

    fn pin(&self) -> Result<Option<Pin>, crate::tls::BadPin> {
        self.pin.as_deref().map(str::parse).transpose()
    }
}

impl Membership {
    /// Reads the key file, `None` if there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, SyncError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(SyncError::Other(format!(
                    "could not read the key file {}: {e}",
                    path.display()
                )))
            }
        };
        let f: KeyFile = serde_json::from_str(&text).map_err(|e| {
            SyncError::Other(format!(
                "the key file {} is damaged ({e}); your journal on this device is intact. Restore the key file from a backup, or copy it from another device of the vault (see \"A damaged key file\" in docs/reliability.md)",
                path.display()
            ))
        })?;
        let pin = f.pin().map_err(|e| {
            SyncError::Other(format!(
                "the relay pin in the key file {} is damaged ({e}); the vault key in it is intact. Edit the file to correct the \"pin\" line, or delete that line to trust the relay through a CA, then sync again",
                path.display()
            ))
        })?;
        Ok(Some(Membership {
            relay: f.relay,
            pin,
            vault: f.vault,
            key: VaultKey::from_hex(&f.key)?,
        }))
    }

    /// Writes the key file, owner-only from the moment it exists.
    pub fn save(&self, path: &Path) -> Result<(), SyncError> {
        let text = serde_json::to_string_pretty(&KeyFile::of(self))
            .map_err(|e| SyncError::Other(e.to_string()))?;
        crate::files::replace(path, text.as_bytes()).map_err(|e| {
            SyncError::Other(format!(
                "could not write the key file {}: {e}",
                path.display()
            ))
        })?;
        Ok(())
    }
}

/// A join code: `interlog1:` then the relay URL, vault id and key, so that
/// `interlog join` needs nothing else. It is a secret: whoever holds it can
/// read the vault.
#[derive(Debug, Clone)]
pub struct JoinCode(Membership);

const PREFIX: &str = "interlog1:";

impl JoinCode {
    pub fn new(m: &Membership) -> Self {
        JoinCode(m.clone())
    }

    pub fn membership(&self) -> Membership {
        self.0.clone()
    }

    pub fn parse(code: &str) -> Result<Self, SyncError> {
        let bad = || {
            SyncError::Other("that is not an Interlog join code; copy the whole line `interlog pair` printed (it starts with interlog1:)".into())
        };
        let rest = code.trim().strip_prefix(PREFIX).ok_or_else(bad)?;
        let bytes = hex::decode(rest).map_err(|_| bad())?;
        let f: KeyFile = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if !crate::wire::valid_id(&f.vault) {
            return Err(bad());
        }
        Ok(JoinCode(Membership {
            pin: f.pin().map_err(|_| bad())?,
            relay: f.relay,
            vault: f.vault,
            key: VaultKey::from_hex(&f.key).map_err(|_| bad())?,
        }))
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(&KeyFile::of(&self.0)).unwrap_or_default();
        format!("{PREFIX}{}", hex::encode(json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_codes_round_trip_and_refuse_garbage() {
        let mut m = Membership {
            relay: "ws://127.0.0.1:7878".into(),
            pin: None,
            vault: "01ABC".into(),
            key: VaultKey::generate().unwrap(),
        };
        let code = JoinCode::new(&m).encode();
        let back = JoinCode::parse(&code).unwrap().membership();
        assert_eq!(
            (back.relay, back.pin, back.vault, back.key),
            (m.relay.clone(), None, m.vault.clone(), m.key.clone())
        );
        m.pin = Some(Pin::of_spki(b"relay key"));
        let back = JoinCode::parse(&JoinCode::new(&m).encode())
            .unwrap()
            .membership();
        assert_eq!(back.pin, m.pin, "the pin travels in the code");
        assert!(JoinCode::parse("hello").is_err());
        assert!(JoinCode::parse("interlog1:zz").is_err());
    }

    #[test]
    fn key_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.key");
        let m = Membership {
            relay: "ws://x".into(),
            pin: Some(Pin::of_spki(b"k")),
            vault: "v".into(),
            key: VaultKey::generate().unwrap(),
        };
        m.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let back = Membership::load(&path).unwrap().unwrap();
        assert_eq!((back.key, back.pin), (m.key, m.pin));
        assert!(Membership::load(&dir.path().join("none"))
            .unwrap()
            .is_none());
    }
}
