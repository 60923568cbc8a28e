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
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
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
    /// TLS from these PEM files (with --tls-key), read again when they change
    #[arg(long, env = "INTERLOG_RELAY_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key for --tls-cert (PEM)
    #[arg(long, env = "INTERLOG_RELAY_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// `self-signed`: TLS with a certificate made on first start in the data
    /// directory; devices trust it by the pin the relay prints
    #[arg(long, env = "INTERLOG_RELAY_TLS", value_name = "MODE")]
    pub tls: Option<TlsMode>,
    /// Get and renew a certificate for DOMAIN from Let's Encrypt (TLS-ALPN-01
    /// on the listening port, which must be reachable as DOMAIN:443)
    #[arg(long, env = "INTERLOG_RELAY_TLS_ACME", value_name = "DOMAIN")]
    pub tls_acme: Option<String>,
    /// A contact address for the ACME account (optional)
    #[arg(long, env = "INTERLOG_RELAY_ACME_EMAIL", value_name = "EMAIL")]
    pub acme_email: Option<String>,
    /// `production` (Let's Encrypt), `staging` (Let's Encrypt's staging, for
    /// trying things out) or a directory URL [default: production]
    #[arg(long, env = "INTERLOG_RELAY_ACME_DIRECTORY", value_name = "URL")]
    pub acme_directory: Option<String>,
    /// Where to keep vaults and records: `sled` (the default, in the data
    /// directory) or a Postgres URL, postgres://USER:PASSWORD@HOST/DB,
    /// which several relays may share
    #[arg(
        long,
        env = "INTERLOG_RELAY_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub store: Option<String>,
    /// A TOML file with any of these settings (flags and environment win)
    #[arg(long, env = "INTERLOG_RELAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl RelayArgs {
    /// These settings as the environment variables `interlog-relay` reads,
    /// for `interlog relay` to start it with: reading them back gives
    /// `self`. The environment, not the arguments, so that a Postgres
    /// password stays out of the process list, and any value (one that
    /// starts with `-`, a path that is not UTF-8) arrives as it was.
    pub fn to_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        use clap::ValueEnum;
        use std::ffi::OsString;
        fn os<T: Clone + Into<OsString>>(v: &Option<T>) -> Option<OsString> {
            v.clone().map(Into::into)
        }
        fn name<T: ValueEnum>(v: &Option<T>) -> Option<OsString> {
            Some(v.as_ref()?.to_possible_value()?.get_name().into())
        }
        let vars = [
            ("INTERLOG_RELAY_LISTEN", os(&self.listen)),
            ("INTERLOG_RELAY_DATA", os(&self.data)),
            ("INTERLOG_RELAY_REGISTRATION", name(&self.registration)),
            ("INTERLOG_RELAY_METRICS", os(&self.metrics)),
            ("INTERLOG_RELAY_APP_DIR", os(&self.app_dir)),
            ("INTERLOG_RELAY_TLS_CERT", os(&self.tls_cert)),
            ("INTERLOG_RELAY_TLS_KEY", os(&self.tls_key)),
            ("INTERLOG_RELAY_TLS", name(&self.tls)),
            ("INTERLOG_RELAY_TLS_ACME", os(&self.tls_acme)),
            ("INTERLOG_RELAY_ACME_EMAIL", os(&self.acme_email)),
            ("INTERLOG_RELAY_ACME_DIRECTORY", os(&self.acme_directory)),
            ("INTERLOG_RELAY_STORE", os(&self.store)),
            ("INTERLOG_RELAY_CONFIG", os(&self.config)),
        ];
        vars.into_iter()
            .filter_map(|(var, value)| Some((var, value?)))
            .collect()
    }
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
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls: Option<TlsMode>,
    tls_acme: Option<String>,
    acme_email: Option<String>,
    acme_directory: Option<String>,
    store: Option<String>,
    #[serde(default)]
    limits: FileLimits,
}

/// `--tls`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS (the default; for a relay behind a TLS proxy, or on loopback)
    Off,
    /// A self-signed certificate, trusted by pin
    SelfSigned,
}

/// Where the relay's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP and `ws://`.
    Off,
    /// PEM files, reloaded when they change.
    Files { cert: PathBuf, key: PathBuf },
    /// Made on first start in the data directory.
    SelfSigned,
    /// From an ACME directory.
    Acme(AcmeSettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    pub domains: Vec<String>,
    pub email: Option<String>,
    /// The directory URL.
    pub directory: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_frame_bytes: Option<usize>,
    max_pending_bytes: Option<usize>,
    max_connections_per_vault: Option<usize>,
    appends_per_second: Option<u32>,
    max_strangers: Option<usize>,
    max_strangers_per_address: Option<usize>,
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
    /// What connections may do before their hello.
    pub gate: crate::gate::GateLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: interlog_core::wire::MAX_FRAME_BYTES,
            // A whole frame must fit: a large snapshot is one frame.
            max_pending_bytes: interlog_core::wire::MAX_FRAME_BYTES + 1024 * 1024,
            max_connections_per_vault: 16,
            appends_per_second: 200,
            gate: crate::gate::GateLimits::default(),
        }
    }
}

/// Where the relay keeps vaults and records.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// sled, in `<data>/store`: one relay process.
    Sled,
    /// A Postgres database, which several relay processes may share.
    Postgres(String),
}

impl std::fmt::Debug for StoreChoice {
    /// Never the URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreChoice::Sled => f.write_str("Sled"),
            StoreChoice::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl StoreChoice {
    fn parse(value: &str) -> Result<Self, SettingsError> {
        if value == "sled" {
            Ok(StoreChoice::Sled)
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(StoreChoice::Postgres(value.to_string()))
        } else {
            // Not the value itself: it may be a URL with a password.
            Err(SettingsError::Store)
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
    pub tls: Tls,
    pub store: StoreChoice,
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
            tls: Tls::Off,
            store: StoreChoice::Sled,
            limits: Limits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not read the config file {path}: {detail}")]
    File { path: String, detail: String },
    #[error("choose one source of TLS certificates: {0}")]
    TlsConflict(String),
    #[error("--tls-cert and --tls-key go together: {0}")]
    TlsHalf(String),
    #[error("--tls-acme needs a domain name, not {0:?}")]
    AcmeDomain(String),
    #[error("--acme-directory is `production`, `staging` or an https:// URL, not {0:?}")]
    AcmeDirectory(String),
    #[error("--acme-email and --acme-directory go with --tls-acme DOMAIN, which is not set")]
    AcmeWithout,
    #[error("limits.{0} must be between 1 and 1000000")]
    Limit(&'static str),
    #[error("--store is `sled` or a Postgres URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")]
    Store,
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
        // The source of certificates comes whole from the highest layer
        // that names one, so `--tls off` or `--tls self-signed` overrides a
        // file with `tls_acme`, rather than conflicting with it.
        let flags_choose = self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls.is_some()
            || self.tls_acme.is_some();
        let (cert, key, mode, acme) = if flags_choose {
            (self.tls_cert, self.tls_key, self.tls, self.tls_acme)
        } else {
            (file.tls_cert, file.tls_key, file.tls, file.tls_acme)
        };
        // ACME's email and directory alone are a mistake in the layer that
        // chose the source; a file's are inert under a flag's source.
        let stray = self.acme_email.is_some()
            || self.acme_directory.is_some()
            || (!flags_choose && (file.acme_email.is_some() || file.acme_directory.is_some()));
        let tls = resolve_tls(
            cert,
            key,
            mode,
            acme,
            self.acme_email.or(file.acme_email),
            self.acme_directory.or(file.acme_directory),
            stray,
        )?;
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
            tls,
            store: match self.store.or(file.store) {
                Some(v) => StoreChoice::parse(&v)?,
                None => StoreChoice::Sled,
            },
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
                gate: crate::gate::GateLimits {
                    max_strangers: limit(
                        "max_strangers",
                        file.limits.max_strangers,
                        defaults.gate.max_strangers,
                    )?,
                    max_strangers_per_address: limit(
                        "max_strangers_per_address",
                        file.limits.max_strangers_per_address,
                        defaults.gate.max_strangers_per_address,
                    )?,
                    ..defaults.gate.clone()
                },
            },
        })
    }
}

/// A count limit from the file: 0 would turn everyone away.
fn limit(name: &'static str, given: Option<usize>, default: usize) -> Result<usize, SettingsError> {
    match given {
        None => Ok(default),
        Some(n) if (1..=1_000_000).contains(&n) => Ok(n),
        Some(_) => Err(SettingsError::Limit(name)),
    }
}

/// The one source of certificates the settings name.
fn resolve_tls(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    mode: Option<TlsMode>,
    acme: Option<String>,
    email: Option<String>,
    directory: Option<String>,
    stray_acme_settings: bool,
) -> Result<Tls, SettingsError> {
    let mut chosen = Vec::new();
    let files = match (cert, key) {
        (Some(cert), Some(key)) => {
            chosen.push("--tls-cert/--tls-key");
            Some(Tls::Files { cert, key })
        }
        (None, None) => None,
        (Some(_), None) => return Err(SettingsError::TlsHalf("the key is missing".into())),
        (None, Some(_)) => return Err(SettingsError::TlsHalf("the certificate is missing".into())),
    };
    if mode == Some(TlsMode::SelfSigned) {
        chosen.push("--tls self-signed");
    }
    let acme = match acme {
        Some(domains) => {
            chosen.push("--tls-acme");
            let domains: Vec<String> = domains
                .split(',')
                .map(|d| d.trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect();
            if domains.is_empty() || domains.iter().any(|d| d.contains(['/', ':', ' '])) {
                return Err(SettingsError::AcmeDomain(domains.join(",")));
            }
            let directory = match directory.as_deref() {
                None | Some("production") => crate::tls::LETS_ENCRYPT.to_string(),
                Some("staging") => crate::tls::LETS_ENCRYPT_STAGING.to_string(),
                Some(url) if url.starts_with("https://") => url.to_string(),
                Some(other) => return Err(SettingsError::AcmeDirectory(other.to_string())),
            };
            Some(Tls::Acme(AcmeSettings {
                domains,
                email,
                directory,
            }))
        }
        None if stray_acme_settings => return Err(SettingsError::AcmeWithout),
        None => None,
    };
    if mode == Some(TlsMode::Off) && !chosen.is_empty() {
        chosen.push("--tls off");
    }
    if chosen.len() > 1 {
        return Err(SettingsError::TlsConflict(format!(
            "{} were all given",
            chosen.join(", ")
        )));
    }
    Ok(files
        .or(acme)
        .unwrap_or(if mode == Some(TlsMode::SelfSigned) {
            Tls::SelfSigned
        } else {
            Tls::Off
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_env_gives_back_the_same_settings() {
        #[derive(clap::Parser)]
        struct P {
            #[command(flatten)]
            a: RelayArgs,
        }
        let command = <P as clap::CommandFactory>::command();
        let all = RelayArgs {
            listen: Some("0.0.0.0:443".into()),
            data: Some("/var/lib/interlog relay".into()),
            registration: Some(Registration::Open),
            metrics: Some("off".into()),
            app_dir: Some("-dist".into()),
            tls_cert: Some("/etc/c=1.pem".into()),
            tls_key: Some("/etc/k.pem".into()),
            tls: Some(TlsMode::SelfSigned),
            tls_acme: Some("relay.example.org".into()),
            acme_email: Some("me@example.org".into()),
            acme_directory: Some("staging".into()),
            store: Some("postgres://u:p@h/db".into()),
            config: Some("/etc/interlog-relay.toml".into()),
        };
        let env = all.to_env();
        let settings = command.get_arguments().filter(|a| a.get_env().is_some());
        assert_eq!(env.len(), settings.count(), "every setting is passed on");
        // Each variable, as the flag that reads it: parsed, the same settings.
        let flags = env.iter().map(|(var, value)| {
            let arg = command
                .get_arguments()
                .find(|a| a.get_env() == Some(std::ffi::OsStr::new(var)))
                .unwrap_or_else(|| panic!("no flag reads {var}"));
            let mut flag = std::ffi::OsString::from(format!("--{}=", arg.get_long().unwrap()));
            flag.push(value);
            flag
        });
        let args = std::iter::once("interlog-relay".into()).chain(flags);
        let parsed = <P as clap::Parser>::try_parse_from(args.collect::<Vec<std::ffi::OsString>>());
        assert_eq!(parsed.unwrap().a, all);
        assert!(RelayArgs::default().to_env().is_empty());
    }

    /// sled unless told otherwise; a Postgres URL from the flag or the
    /// file (the flag wins); anything else refused; and the URL, which may
    /// hold a password, is never printed.
    #[test]
    fn the_store_is_sled_or_a_postgres_url_and_its_password_is_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("relay.toml");
        let url = "postgres://relay:s3cret@db.internal/interlog";
        std::fs::write(&cfg, format!("data = \"/d\"\nstore = \"{url}\"\n")).unwrap();
        let args = |store: Option<&str>, config: Option<&Path>| RelayArgs {
            data: Some("/d".into()),
            store: store.map(str::to_string),
            config: config.map(Path::to_path_buf),
            ..Default::default()
        };
        assert_eq!(args(None, None).resolve().unwrap().store, StoreChoice::Sled);
        let from_file = args(None, Some(&cfg)).resolve().unwrap();
        assert_eq!(from_file.store, StoreChoice::Postgres(url.into()));
        assert!(!format!("{from_file:?}").contains("s3cret"));
        let flag = args(Some("sled"), Some(&cfg)).resolve().unwrap();
        assert_eq!(flag.store, StoreChoice::Sled);
        let wrong = args(Some("mysql://relay:s3cret@db/x"), None).resolve();
        let message = wrong.unwrap_err().to_string();
        assert!(
            message.contains("Postgres URL") && !message.contains("s3cret"),
            "{message}"
        );
    }

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

    #[test]
    fn one_source_of_certificates_and_a_flag_replaces_the_file_s() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("relay.toml");
        let args = |toml: &str, f: fn(&mut RelayArgs)| {
            std::fs::write(&cfg, format!("data = \"/srv\"\n{toml}")).unwrap();
            let mut a = RelayArgs {
                config: Some(cfg.clone()),
                ..Default::default()
            };
            f(&mut a);
            a.resolve()
        };
        let both = "tls = \"self-signed\"\ntls_acme = \"relay.example.com\"\n";
        // Two sources in one layer conflict, naming both.
        let err = args(both, |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("--tls self-signed") && err.contains("--tls-acme"),
            "{err}"
        );
        let err = args("", |a| {
            a.tls = Some(TlsMode::SelfSigned);
            a.tls_acme = Some("relay.example.com".into());
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--tls self-signed") && err.contains("--tls-acme"),
            "{err}"
        );
        // A flag's source replaces the file's whole.
        let acme = "tls_acme = \"relay.example.com\"\nacme_directory = \"staging\"\n";
        assert_eq!(
            args(acme, |a| a.tls = Some(TlsMode::Off)).unwrap().tls,
            Tls::Off
        );
        let s = args(acme, |a| {
            a.tls_cert = Some("c.pem".into());
            a.tls_key = Some("k.pem".into());
        })
        .unwrap();
        assert_eq!(
            s.tls,
            Tls::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
        let s = args(acme, |a| a.tls = Some(TlsMode::SelfSigned)).unwrap();
        assert_eq!(s.tls, Tls::SelfSigned);
        // ACME from the file, its email from a flag.
        let s = args(
            "tls_acme = \"Relay.Example.com\"\nacme_directory = \"staging\"\n",
            |a| a.acme_email = Some("me@example.com".into()),
        )
        .unwrap();
        assert_eq!(
            s.tls,
            Tls::Acme(AcmeSettings {
                domains: vec!["relay.example.com".into()],
                email: Some("me@example.com".into()),
                directory: crate::tls::LETS_ENCRYPT_STAGING.into(),
            })
        );
        let err = args(acme, |a| a.acme_directory = Some("prod".into())).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
        assert_eq!(args("", |_| {}).unwrap().tls, Tls::Off);
        let err = args("", |a| a.acme_email = Some("me@example.com".into())).unwrap_err();
        assert!(err.to_string().contains("--tls-acme"), "{err}");
        let err = args("", |a| a.tls_cert = Some("c.pem".into())).unwrap_err();
        assert!(err.to_string().contains("key is missing"), "{err}");
    }
}
