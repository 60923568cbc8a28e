//! HTTPS and `wss://` for the relay: where its certificate comes from, and
//! the listener that turns accepted TCP connections into TLS streams.
//!
//! Three sources, one per setting (see [`crate::settings::Tls`]):
//! - **Files** (`--tls-cert`, `--tls-key`): PEM files, read again whenever
//!   they change (a certbot renewal), checked every [`RELOAD_EVERY`]. A
//!   change that does not load (a half-written file, a key that does not
//!   match) keeps the certificate in use and logs why.
//! - **Self-signed** (`--tls self-signed`): a key and a certificate made on
//!   first start in `<data>/tls/`, owner-only. Devices trust it by its pin,
//!   which the relay logs at start-up and puts in every invite code.
//! - **ACME** (`--tls-acme DOMAIN`): a certificate from Let's Encrypt (or
//!   any ACME directory), obtained and renewed by `rustls-acme` with the
//!   TLS-ALPN-01 challenge on the listening port, cached in
//!   `<data>/tls/acme/`.
//!
//! The handshake runs in each connection's own task, under a deadline
//! ([`HANDSHAKE_TIMEOUT`]), as one of the things a stranger may do within
//! the limits of [`crate::gate`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use interlog_core::tls::{provider, Pin};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;

use crate::settings::{AcmeSettings, Tls};

/// How often certificate files are checked for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// How long a peer has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Let's Encrypt's directories, for `--acme-directory production|staging`.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not load the TLS certificate {cert} with the key {key}: {detail}")]
    Load {
        cert: String,
        key: String,
        detail: String,
    },
    #[error("could not set up the self-signed certificate in {dir}: {detail}; check that the data directory is writable by the relay")]
    SelfSigned { dir: String, detail: String },
    #[error("could not set up TLS: {0}")]
    Config(String),
}

/// Where the self-signed key and certificate live.
fn self_signed_dir(data: &Path) -> PathBuf {
    data.join("tls")
}

fn self_signed_paths(data: &Path) -> (PathBuf, PathBuf) {
    let dir = self_signed_dir(data);
    (
        dir.join("self-signed-cert.pem"),
        dir.join("self-signed-key.pem"),
    )
}

/// Where a relay with `--tls self-signed` records its pin at each start,
/// and a relay in any other mode removes it.
fn pin_path(data: &Path) -> PathBuf {
    self_signed_dir(data).join("pin")
}

/// The pin of the relay that last started on `data`, if it serves its
/// self-signed certificate: `interlog relay invite` puts it in the codes it
/// mints. A relay that moved to a CA-signed certificate has none, so codes
/// never carry a stale pin.
pub fn self_signed_pin(data: &Path) -> Option<Pin> {
    std::fs::read_to_string(pin_path(data))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Records (or, with `None`, forgets) the pin devices should trust.
fn record_pin(data: &Path, pin: Option<Pin>) -> std::io::Result<()> {
    let path = pin_path(data);
    match pin {
        Some(pin) => {
            private_dir(&self_signed_dir(data))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{pin}\n"))?;
            std::fs::rename(tmp, path)
        }
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

/// Reads a PEM certificate chain and its key into a [`CertifiedKey`],
/// checking that they belong together.
fn load_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let err = |detail: String| TlsError::Load {
        cert: cert.display().to_string(),
        key: key.display().to_string(),
        detail,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if chain.is_empty() {
        return Err(err("the certificate file holds no certificate".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| err(e.to_string()))?;
    CertifiedKey::from_der(chain, key_der, &provider()).map_err(|e| err(e.to_string()))
}

/// Opens `path` for writing, owner-only from the moment it exists.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Makes the data directory's `tls/` owner-only, creating it if needed.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file, owner-only from the
/// moment it exists, so a crash leaves the old file or the new one.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_private(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A certificate for `key`. Its names do not matter: devices trust it by
/// its key, whatever address they reach the relay at. Its validity is
/// rcgen's default, 1975 to 4096: it never needs renewing.
fn certificate_for(key: &rcgen::KeyPair) -> Result<String, rcgen::Error> {
    let params = rcgen::CertificateParams::new(vec!["interlog-relay".to_string()])?;
    Ok(params.self_signed(key)?.pem())
}

/// The self-signed certificate in `data`, made on first use. The key is
/// what devices pin: it is made once and kept; the certificate can always
/// be made again from it (after a crash while writing it, say), with the
/// same pin.
fn self_signed(data: &Path) -> Result<(CertifiedKey, Pin), TlsError> {
    let dir = self_signed_dir(data);
    let err = |detail: String| TlsError::SelfSigned {
        dir: dir.display().to_string(),
        detail,
    };
    let (cert_path, key_path) = self_signed_paths(data);
    private_dir(&dir).map_err(|e| err(e.to_string()))?;
    if !key_path.exists() {
        let key = rcgen::KeyPair::generate().map_err(|e| err(e.to_string()))?;
        write_private(&key_path, &key.serialize_pem()).map_err(|e| err(e.to_string()))?;
        let _ = std::fs::remove_file(&cert_path);
    }
    let pair = match load_pair(&cert_path, &key_path) {
        Ok(pair) => pair,
        Err(_) => {
            let key_pem = std::fs::read_to_string(&key_path).map_err(|e| err(e.to_string()))?;
            let key = rcgen::KeyPair::from_pem(&key_pem).map_err(|e| {
                err(format!(
                    "the key {} does not load ({e}); move it aside only if devices may trust a new pin",
                    key_path.display()
                ))
            })?;
            let cert = certificate_for(&key).map_err(|e| err(e.to_string()))?;
            write_private(&cert_path, &cert).map_err(|e| err(e.to_string()))?;
            load_pair(&cert_path, &key_path)?
        }
    };
    let pin = Pin::of_certificate(pair.end_entity_cert().map_err(|e| err(e.to_string()))?)
        .map_err(|e| err(e.to_string()))?;
    Ok((pair, pin))
}

/// Serves the certificate last loaded from two files.
#[derive(Debug)]
struct Reloading {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

/// What identifies a version of a file: its modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Checks the files every [`RELOAD_EVERY`] until shutdown, and swaps in a
/// changed pair once it loads.
async fn watch_files(
    resolver: Arc<Reloading>,
    cert: PathBuf,
    key: PathBuf,
    mut seen: (Stamp, Stamp),
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failed_at = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let now = (stamp(&cert), stamp(&key));
        if now == seen || failed_at == Some(now) {
            continue;
        }
        let (c, k) = (cert.clone(), key.clone());
        match tokio::task::spawn_blocking(move || load_pair(&c, &k)).await {
            Ok(Ok(pair)) => {
                if let Ok(mut current) = resolver.current.write() {
                    *current = Arc::new(pair);
                }
                seen = now;
                failed_at = None;
                tracing::info!(cert = %cert.display(), "loaded the renewed TLS certificate");
            }
            Ok(Err(e)) => {
                // Said once per version of the files: a renewal in progress
                // may have written one file and not yet the other.
                failed_at = Some(now);
                tracing::warn!(error = %e, "the TLS certificate files changed but do not load; still serving the previous certificate");
            }
            Err(_) => {}
        }
    }
}

/// Drives ACME: orders, renews, and logs what happened.
async fn drive_acme(
    mut state: rustls_acme::AcmeState<std::io::Error, std::io::Error>,
    mut shutdown: watch::Receiver<bool>,
) {
    use futures_util::StreamExt;
    loop {
        let event = tokio::select! {
            e = state.next() => e,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match event {
            Some(Ok(ok)) => tracing::info!(event = ?ok, "ACME"),
            Some(Err(err)) => {
                tracing::warn!(error = ?err, "ACME: could not get or renew the certificate; retrying")
            }
            None => return,
        }
    }
}

/// The relay's TLS, ready to accept connections.
pub struct Acceptor {
    config: Arc<ServerConfig>,
    /// The pin devices trust, for a self-signed certificate.
    pub pin: Option<Pin>,
}

impl Acceptor {
    /// Sets up `tls` (`None` when it is off), starting the tasks that
    /// reload files or drive ACME until `shutdown`.
    pub async fn new(
        tls: &Tls,
        data: &Path,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Option<Acceptor>, TlsError> {
        let mut pin = None;
        let mut alpn = vec![b"http/1.1".to_vec()];
        let resolver: Arc<dyn ResolvesServerCert> = match tls {
            Tls::Off => {
                forget_pin(data);
                return Ok(None);
            }
            Tls::Files { cert, key } => {
                forget_pin(data);
                // Taken before loading: a renewal during the load is seen.
                let seen = (stamp(cert), stamp(key));
                let (c, k) = (cert.clone(), key.clone());
                let pair = tokio::task::spawn_blocking(move || load_pair(&c, &k))
                    .await
                    .map_err(|e| TlsError::Config(e.to_string()))??;
                let resolver = Arc::new(Reloading {
                    current: RwLock::new(Arc::new(pair)),
                });
                tokio::spawn(watch_files(
                    resolver.clone(),
                    cert.clone(),
                    key.clone(),
                    seen,
                    shutdown,
                ));
                resolver
            }
            Tls::SelfSigned => {
                let dir = data.to_path_buf();
                let (pair, p) = tokio::task::spawn_blocking(move || self_signed(&dir))
                    .await
                    .map_err(|e| TlsError::Config(e.to_string()))??;
                pin = Some(p);
                let dir = data.to_path_buf();
                tokio::task::spawn_blocking(move || record_pin(&dir, Some(p)))
                    .await
                    .map_err(|e| TlsError::Config(e.to_string()))?
                    .map_err(|e| TlsError::Config(format!("could not record the pin: {e}")))?;
                Arc::new(rustls::sign::SingleCertAndKey::from(pair))
            }
            Tls::Acme(acme) => {
                forget_pin(data);
                let state = acme_state(acme, data)?;
                let resolver = state.resolver();
                tokio::spawn(drive_acme(state, shutdown));
                alpn.push(ACME_TLS_ALPN.to_vec());
                resolver
            }
        };
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        config.alpn_protocols = alpn;
        Ok(Some(Acceptor {
            config: Arc::new(config),
            pin,
        }))
    }

    /// What performs each connection's handshake (see [`crate::gate`]).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

/// Forgets a self-signed pin from an earlier start, so invite codes stop
/// carrying it. Logged, not fatal: the relay serves as configured anyway.
fn forget_pin(data: &Path) {
    if let Err(e) = record_pin(data, None) {
        tracing::warn!(error = %e, "could not remove the old self-signed pin; invite codes may still carry it");
    }
}

fn acme_state(
    acme: &AcmeSettings,
    data: &Path,
) -> Result<rustls_acme::AcmeState<std::io::Error, std::io::Error>, TlsError> {
    private_dir(&self_signed_dir(data))
        .map_err(|e| TlsError::Config(format!("{}: {e}", data.display())))?;
    let dir = self_signed_dir(data).join("acme");
    private_dir(&dir).map_err(|e| TlsError::Config(format!("{}: {e}", dir.display())))?;
    // The ACME client trusts what devices trust, SSL_CERT_FILE included (a
    // test's ACME server has a private CA).
    let client = Arc::new(interlog_core::tls::client_config(None));
    let config = rustls_acme::AcmeConfig::new_with_client_config(&acme.domains, client)
        .contact(acme.email.iter().map(|e| format!("mailto:{e}")))
        .directory(&acme.directory)
        .cache(rustls_acme::caches::DirCache::new(dir));
    Ok(config.state())
}

/// Whether `tls` is an ACME server checking the TLS-ALPN-01 challenge: the
/// handshake was the whole answer, and the connection ends there.
pub fn is_acme_challenge<IO>(tls: &TlsStream<IO>) -> bool {
    tls.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invite_codes_carry_the_pin_only_while_the_relay_is_self_signed() {
        let data = tempfile::tempdir().unwrap();
        let (_tx, stop) = watch::channel(false);
        let acceptor = Acceptor::new(&Tls::SelfSigned, data.path(), stop.clone())
            .await
            .unwrap()
            .unwrap();
        let pin = acceptor.pin.expect("a self-signed relay has a pin");
        assert_eq!(self_signed_pin(data.path()), Some(pin));
        let code = crate::invites::mint(data.path()).unwrap();
        assert!(code.ends_with(&format!("@{pin}")), "{code}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(self_signed_dir(data.path())), 0o700);
            assert_eq!(mode(self_signed_paths(data.path()).1), 0o600);
        }

        // A certificate lost in a crash is made again from the key: same pin.
        std::fs::write(self_signed_paths(data.path()).0, "-----BEGIN CERT").unwrap();
        let again = Acceptor::new(&Tls::SelfSigned, data.path(), stop.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.pin, Some(pin));

        // The operator moves to a CA's certificate: codes stop carrying the
        // old pin, which devices would otherwise pin for good.
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["relay.example".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_path, key_path) = (data.path().join("c.pem"), data.path().join("k.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let files = Tls::Files {
            cert: cert_path,
            key: key_path,
        };
        let acceptor = Acceptor::new(&files, data.path(), stop)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acceptor.pin, None);
        assert_eq!(self_signed_pin(data.path()), None);
        let code = crate::invites::mint(data.path()).unwrap();
        assert!(!code.contains('@'), "{code}");
    }
}
