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
//! The handshake runs in a task of its own per connection, under a deadline
//! ([`HANDSHAKE_TIMEOUT`]) and a cap on handshakes in flight
//! ([`MAX_HANDSHAKES`]), so a slow or silent peer holds up nobody else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use interlog_core::tls::{provider, Pin};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::server::TlsStream;

use crate::settings::{AcmeSettings, Tls};

/// How often certificate files are checked for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// How long a peer has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TLS handshakes in flight at once; further connections wait to be accepted.
pub const MAX_HANDSHAKES: usize = 256;

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

/// The pin of the self-signed certificate in `data`, if the relay made one:
/// `interlog relay invite` puts it in the codes it mints.
pub fn self_signed_pin(data: &Path) -> Option<Pin> {
    let (cert, _) = self_signed_paths(data);
    let der = CertificateDer::from_pem_file(cert).ok()?;
    Pin::of_certificate(&der).ok()
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

/// The self-signed certificate in `data`, made on first use.
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
        // The certificate's names do not matter: devices trust it by its
        // key, whatever address they reach the relay at. Its validity is
        // rcgen's default, 1975 to 4096: it never needs renewing.
        let params = rcgen::CertificateParams::new(vec!["interlog-relay".to_string()])
            .map_err(|e| err(e.to_string()))?;
        let cert = params.self_signed(&key).map_err(|e| err(e.to_string()))?;
        // The key first, then the certificate: a start interrupted between
        // the two finds a key without a certificate and starts over.
        let _ = std::fs::remove_file(&cert_path);
        let tmp = key_path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let write = |path: &Path, text: &str| -> std::io::Result<()> {
            use std::io::Write;
            let mut f = create_private(path)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        write(&tmp, &key.serialize_pem()).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, &key_path).map_err(|e| err(e.to_string()))?;
        write(&cert_path, &cert.pem()).map_err(|e| err(e.to_string()))?;
    } else if !cert_path.exists() {
        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| err(e.to_string()))?;
        let key = rcgen::KeyPair::from_pem(&key_pem).map_err(|e| err(e.to_string()))?;
        let params = rcgen::CertificateParams::new(vec!["interlog-relay".to_string()])
            .map_err(|e| err(e.to_string()))?;
        let cert = params.self_signed(&key).map_err(|e| err(e.to_string()))?;
        let mut f = create_private(&cert_path).map_err(|e| err(e.to_string()))?;
        use std::io::Write;
        f.write_all(cert.pem().as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| err(e.to_string()))?;
    }
    let pair = load_pair(&cert_path, &key_path)?;
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
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Checks the files every [`RELOAD_EVERY`] until shutdown, and swaps in a
/// changed pair once it loads.
async fn watch_files(
    resolver: Arc<Reloading>,
    cert: PathBuf,
    key: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut seen = (stamp(&cert), stamp(&key));
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
            Tls::Off => return Ok(None),
            Tls::Files { cert, key } => {
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
                    shutdown,
                ));
                resolver
            }
            Tls::SelfSigned => {
                let data = data.to_path_buf();
                let (pair, p) = tokio::task::spawn_blocking(move || self_signed(&data))
                    .await
                    .map_err(|e| TlsError::Config(e.to_string()))??;
                pin = Some(p);
                Arc::new(rustls::sign::SingleCertAndKey::from(pair))
            }
            Tls::Acme(acme) => {
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

    /// Accepts connections on `listener`, each handshake in a task of its
    /// own, until the returned listener is dropped.
    pub fn listen(&self, listener: TcpListener) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config.clone());
        tokio::spawn(accept_loop(listener, acceptor, tx));
        Ok(TlsListener { rx, local })
    }
}

fn acme_state(
    acme: &AcmeSettings,
    data: &Path,
) -> Result<rustls_acme::AcmeState<std::io::Error, std::io::Error>, TlsError> {
    let dir = data.join("tls").join("acme");
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

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = tokio::select! {
            p = handshakes.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = tx.closed() => return,
        };
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = tx.closed() => return,
        };
        // Small frames go out at once (see `run_with_store`).
        let _ = tcp.set_nodelay(true);
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(permit);
            let tls = match handshake {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            // An ACME server checking the TLS-ALPN-01 challenge: the
            // handshake was the whole answer.
            if tls.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
                return;
            }
            let _ = tx.send((tls, addr)).await;
        });
    }
}

/// TLS connections, handshake done, for `axum::serve`.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop ended (it never does while this listener
            // lives): no more connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
