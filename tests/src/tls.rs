//! TLS fixtures for the end-to-end tests: a throwaway certificate authority
//! whose certificates are written as PEM files, a small https client, and
//! the ports and programs the TLS recipes need (pebble, caddy).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// A certificate authority made for one test, its files in a temporary
/// directory.
pub struct TestCa {
    key: KeyPair,
    cert: rcgen::Certificate,
    pub dir: tempfile::TempDir,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Interlog test CA");
        let cert = params.self_signed(&key).expect("a CA certificate");
        let dir = tempfile::tempdir().expect("a directory for certificates");
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).expect("write ca.pem");
        TestCa { key, cert, dir }
    }

    /// The CA's certificate, for `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A new key and a certificate for `names` (host names or IP
    /// addresses), written as `<file>-cert.pem` and `<file>-key.pem`.
    pub fn issue(&self, file: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().expect("a key");
        let key_path = self.dir.path().join(format!("{file}-key.pem"));
        std::fs::write(&key_path, key.serialize_pem()).expect("write the key");
        let cert_path = self.dir.path().join(format!("{file}-cert.pem"));
        self.reissue(&cert_path, &key_path, names, false);
        (cert_path, key_path)
    }

    /// Writes to `cert_path` a new certificate for the key in `key_path`:
    /// valid now, or expired since 2021.
    pub fn reissue(&self, cert_path: &Path, key_path: &Path, names: &[&str], expired: bool) {
        let key_pem = std::fs::read_to_string(key_path).expect("read the key");
        let key = KeyPair::from_pem(&key_pem).expect("parse the key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("certificate params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = if expired {
            rcgen::date_time_ymd(2021, 1, 1)
        } else {
            rcgen::date_time_ymd(2100, 1, 1)
        };
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign a certificate");
        // Written whole, then renamed, as certbot does: the relay never
        // reads half a file.
        let tmp = cert_path.with_extension("tmp");
        std::fs::write(&tmp, cert.pem()).expect("write the certificate");
        std::fs::rename(&tmp, cert_path).expect("rename the certificate");
    }
}

/// A port that was free a moment ago on 127.0.0.1, for a server that must
/// be told its port in advance (pebble, caddy; a relay answering ACME).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// GETs `path` from `https://{host}:{port}` on 127.0.0.1, trusting only the
/// PEM certificates in `ca`. Returns the status code and the body.
pub fn https_get(host: &str, port: u16, path: &str, ca: &Path) -> std::io::Result<(u16, Vec<u8>)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(std::io::Error::other)? {
        roots
            .add(cert.map_err(std::io::Error::other)?)
            .map_err(std::io::Error::other)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(interlog_core::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(std::io::Error::other)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let get = async {
            let mut tls = connector.connect(name, tcp).await?;
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
            tls.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            // A server that closes without close_notify still sent it all.
            let _ = tls.read_to_end(&mut response).await;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(std::time::Duration::from_secs(10), get)
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        parse_response(&response)
    })
}

/// The status and body of an HTTP/1.1 response (plain or chunked).
fn parse_response(response: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let bad = || std::io::Error::other("not an HTTP response");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let mut body = response[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .map_err(|_| bad())?;
            if size == 0 {
                break;
            }
            let start = eol + 2;
            out.extend_from_slice(rest.get(start..start + size).ok_or_else(bad)?);
            rest = rest.get(start + size + 2..).unwrap_or(&[]);
        }
        body = out;
    }
    Ok((status, body))
}

/// The path of `program` if it is installed, else `None` after saying why
/// the test is skipped. In CI (`CI` set) a missing program fails instead:
/// `.ci/run` installs it.
pub fn installed(program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is missing in CI: .ci/run installs Debian's {package}"
        );
        eprintln!("skipped: {program} is not installed (apt-get install -y {package})");
    }
    found
}

/// A server process for a test, killed on drop.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
