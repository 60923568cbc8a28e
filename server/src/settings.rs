//! Relay settings: flags, then environment variables, then an optional TOML
//! file, then safe defaults (localhost, registration by invite, metrics on
//! localhost). The relay never writes its own configuration.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How new vaults may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone who can reach the relay may register a vault.
    Open,
    /// Registering needs a one-time code from `interlog relay invite`.
    Invite,
}

/// The relay's command-line flags (shared by `interlog relay` and
/// `interlog-relay`). Every flag also reads an environment variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RelayArgs {
    /// Address to listen on [default: 127.0.0.1:7878]
    #[arg(long, env = "INTERLOG_RELAY_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Directory for the relay's data (created if missing)
    #[arg(long, env = "INTERLOG_RELAY_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Who may register a new vault [default: invite]
    #[arg(long, env = "INTERLOG_RELAY_REGISTRATION", value_enum)]
    pub registration: Option<Registration>,
    /// Address for Prometheus metrics, or "off" [default: 127.0.0.1:7879]
    #[arg(long, env = "INTERLOG_RELAY_METRICS", value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Serve the phone app at /app/ from this directory instead of the copy
    /// built into the relay (for developing the app: the output of npm run
    /// build in web/)
    #[arg(long, env = "INTERLOG_RELAY_APP_DIR", value_name = "DIR")]
    pub app_dir: Option<PathBuf>,
    /// A TOML file with any of these settings (flags and environment win)
    #[arg(long, env = "INTERLOG_RELAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The optional TOML file; same names as the flags, plus the limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data: Option<PathBuf>,
    registration: Option<Registration>,
    metrics: Option<String>,
    app_dir: Option<PathBuf>,
    #[serde(default)]
    limits: FileLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_frame_bytes: Option<usize>,
    max_pending_bytes: Option<usize>,
    max_connections_per_vault: Option<usize>,
    appends_per_second: Option<u32>,
}

/// Limits that keep one peer from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest WebSocket message accepted.
    pub max_frame_bytes: usize,
    /// Bytes a connection may have queued for sending before it is closed.
    pub max_pending_bytes: usize,
    pub max_connections_per_vault: usize,
    /// Sustained appends per second per connection (bursts of twice that).
    pub appends_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: interlog_core::wire::MAX_FRAME_BYTES,
            // A whole frame must fit: a large snapshot is one frame.
            max_pending_bytes: interlog_core::wire::MAX_FRAME_BYTES + 1024 * 1024,
            max_connections_per_vault: 16,
            appends_per_second: 200,
        }
    }
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub data: PathBuf,
    pub registration: Registration,
    /// `None`: no metrics listener.
    pub metrics: Option<String>,
    /// A directory to serve the phone app from at `/app/` instead of the
    /// copy built into the relay (for developing the app).
    pub app_dir: Option<PathBuf>,
    pub limits: Limits,
}

impl Settings {
    /// Settings for tests: data in `data`, open registration, no metrics.
    pub fn for_tests(data: &Path) -> Self {
        Settings {
            listen: "127.0.0.1:0".into(),
            data: data.to_path_buf(),
            registration: Registration::Open,
            metrics: None,
            app_dir: None,
            limits: Limits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not read the config file {path}: {detail}")]
    File { path: String, detail: String },
    #[error("the relay needs a data directory: pass --data DIR, set INTERLOG_RELAY_DATA, or put `data = \"...\"` in the config file")]
    NoData,
}

impl RelayArgs {
    pub fn resolve(self) -> Result<Settings, SettingsError> {
        let file = match &self.config {
            Some(path) => {
                let err = |detail: String| SettingsError::File {
                    path: path.display().to_string(),
                    detail,
                };
                let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
                toml::from_str::<FileSettings>(&text).map_err(|e| err(e.to_string()))?
            }
            None => FileSettings::default(),
        };
        let defaults = Limits::default();
        let metrics = self
            .metrics
            .or(file.metrics)
            .unwrap_or_else(|| "127.0.0.1:7879".into());
        Ok(Settings {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:7878".into()),
            data: self.data.or(file.data).ok_or(SettingsError::NoData)?,
            registration: self
                .registration
                .or(file.registration)
                .unwrap_or(Registration::Invite),
            metrics: (metrics != "off").then_some(metrics),
            app_dir: self.app_dir.or(file.app_dir),
            limits: Limits {
                max_frame_bytes: file
                    .limits
                    .max_frame_bytes
                    .unwrap_or(defaults.max_frame_bytes),
                max_pending_bytes: file
                    .limits
                    .max_pending_bytes
                    .unwrap_or(defaults.max_pending_bytes),
                max_connections_per_vault: file
                    .limits
                    .max_connections_per_vault
                    .unwrap_or(defaults.max_connections_per_vault),
                appends_per_second: file
                    .limits
                    .appends_per_second
                    .unwrap_or(defaults.appends_per_second),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_defaults_are_safe() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("relay.toml");
        std::fs::write(
            &cfg,
            "listen = \"0.0.0.0:9000\"\ndata = \"/srv/interlog\"\n[limits]\nappends_per_second = 5\n",
        )
        .unwrap();
        let s = RelayArgs {
            listen: Some("127.0.0.1:1234".into()),
            config: Some(cfg.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(s.listen, "127.0.0.1:1234");
        assert_eq!(s.data, PathBuf::from("/srv/interlog"));
        assert_eq!(s.registration, Registration::Invite);
        assert_eq!(s.metrics.as_deref(), Some("127.0.0.1:7879"));
        assert_eq!(s.limits.appends_per_second, 5);
        assert_eq!(s.app_dir, None, "the app built into the relay");

        std::fs::write(&cfg, "colour = \"blue\"\n").unwrap();
        let err = RelayArgs {
            config: Some(cfg),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        assert!(matches!(
            RelayArgs::default().resolve(),
            Err(SettingsError::NoData)
        ));
    }
}
