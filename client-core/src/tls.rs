//! TLS trust for connections to a relay, shared by the sync client and the
//! relay (whose ACME client fetches certificates over TLS too).
//!
//! One TLS stack (rustls) and one crypto provider (ring), chosen here
//! explicitly, so nothing has to pick a provider at run time.
//!
//! A device trusts a relay in one of two ways:
//! - **By a certificate authority**: the bundled Mozilla roots plus the
//!   operating system's store, which `SSL_CERT_FILE` and `SSL_CERT_DIR`
//!   replace. That covers a public CA, a private one and a TLS proxy.
//! - **By a pin**: the SHA-256 of the relay's SubjectPublicKeyInfo. A pinned
//!   connection accepts exactly that key, whatever signed the certificate and
//!   whatever name it carries (a relay with `--tls self-signed` is reached by
//!   IP address, often), and still checks the handshake's signature, so only
//!   the holder of the private key gets through. A certificate renewed with
//!   the same key keeps its pin.
//!
//! A failed handshake is explained by [`Problem`], which names the cause and
//! what to do: expired, unknown issuer, wrong name, pin mismatch.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use sha2::{Digest, Sha256};

pub use rustls;

/// The crypto provider everything in Interlog uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A relay's public-key pin: SHA-256 of its SubjectPublicKeyInfo, written
/// `sha256:` and 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pin([u8; 32]);

impl Pin {
    /// The pin of a DER-encoded SubjectPublicKeyInfo.
    pub fn of_spki(spki_der: &[u8]) -> Pin {
        Pin(Sha256::digest(spki_der).into())
    }

    /// The pin of a DER-encoded certificate's public key.
    pub fn of_certificate(cert_der: &[u8]) -> Result<Pin, rustls::Error> {
        let der = CertificateDer::from(cert_der);
        let cert = webpki::EndEntityCert::try_from(&der)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        Ok(Pin::of_spki(cert.subject_public_key_info().as_ref()))
    }

    /// Compares in constant time: a pin is not secret, but there is no
    /// reason to tell an attacker how much of a forged key matched.
    fn matches(&self, other: &Pin) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A pin that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a relay pin: a pin is `sha256:` and 64 hex digits, as the relay prints it at start-up")]
pub struct BadPin(pub String);

impl FromStr for Pin {
    type Err = BadPin;

    fn from_str(s: &str) -> Result<Pin, BadPin> {
        let bad = || BadPin(s.chars().take(80).collect());
        let hexits = s.trim().strip_prefix("sha256:").ok_or_else(bad)?;
        let bytes = hex::decode(hexits).map_err(|_| bad())?;
        Ok(Pin(bytes.try_into().map_err(|_| bad())?))
    }
}

/// An invite code that carries the relay's pin: `CODE@sha256:HEX`. A relay
/// with a self-signed certificate mints these, so the first device needs
/// nothing else to trust it.
pub fn invite_with_pin(code: &str, pin: Option<Pin>) -> String {
    match pin {
        Some(pin) => format!("{code}@{pin}"),
        None => code.to_string(),
    }
}

/// An invite code's code and the pin it carries, if any.
pub fn split_invite(invite: &str) -> Result<(String, Option<Pin>), BadPin> {
    match invite.trim().split_once('@') {
        Some((code, pin)) => Ok((code.to_string(), Some(pin.parse()?))),
        None => Ok((invite.trim().to_string(), None)),
    }
}

/// The roots a device trusts: the bundled Mozilla roots, plus the operating
/// system's store (or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set).
pub fn root_store() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    roots
}

/// What went wrong reading the roots `SSL_CERT_FILE` or `SSL_CERT_DIR`
/// name, if they are set and something did.
fn cert_env_errors() -> Option<String> {
    if std::env::var_os("SSL_CERT_FILE").is_none() && std::env::var_os("SSL_CERT_DIR").is_none() {
        return None;
    }
    let errors = rustls_native_certs::load_native_certs().errors;
    (!errors.is_empty()).then(|| {
        errors
            .iter()
            .take(3)
            .map(|e| printable(&e.to_string()))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// A client configuration that trusts [`root_store`], or only `pin`.
pub fn client_config(pin: Option<Pin>) -> ClientConfig {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ok: ring supports the default protocol versions.
        .expect("ring supports TLS 1.2 and 1.3");
    let mut config = match pin {
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier { pin, algorithms }))
            .with_no_client_auth(),
        None => builder
            .with_root_certificates(root_store())
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Accepts exactly the pinned key, and checks that the server holds it.
#[derive(Debug)]
struct PinVerifier {
    pin: Pin,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The error a [`PinVerifier`] refuses a certificate with.
#[derive(Debug, thiserror::Error)]
#[error("the relay's key is {got}, not the pinned {want}")]
struct PinMismatch {
    want: Pin,
    got: Pin,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Pin::of_certificate(end_entity)?;
        if got.matches(&self.pin) {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(PinMismatch {
                want: self.pin,
                got,
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Why a TLS handshake with the relay failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the relay presented a different key ({got}) from the one this device trusts ({want}). If the relay's operator replaced its key (a new data directory, or a certificate from a CA now), check the pin it prints at start-up and run `interlog sync --relay URL --pin NEW` (or `--pin none` for a CA-signed certificate). If nobody changed it, someone may be intercepting the connection: do not sync over this network")]
    PinMismatch { want: String, got: String },
    #[error("the relay's certificate has expired (or this device's clock is wrong). Its operator must renew it: `certbot renew` and the relay picks it up, and a relay with --tls-acme renews by itself")]
    Expired,
    #[error("the relay's certificate is not valid yet: check this device's clock")]
    NotYetValid,
    #[error("the relay's certificate is signed by an authority this device does not trust. For a private CA or a TLS proxy, point SSL_CERT_FILE at its CA certificate (PEM) and retry. For a relay started with `--tls self-signed`, pass `--pin` with the pin it prints at start-up, or join with a code that carries it")]
    UnknownIssuer,
    #[error("the relay's certificate is not valid for the name in the URL{presented}. Use the host name the certificate was issued for (check for typos), or ask the relay's operator")]
    WrongName { presented: String },
    #[error("the server answered in plain text, not TLS: it may be a relay without TLS (then use ws://, but only on a network you trust) or another service on that port")]
    NotTls,
    #[error("the certificate authorities in SSL_CERT_FILE or SSL_CERT_DIR could not be read ({0}), so the relay's certificate could not be checked. Point SSL_CERT_FILE at a readable PEM file and retry")]
    BadCertEnv(String),
    #[error("the TLS handshake failed: {0}")]
    Other(String),
}

impl Problem {
    /// The TLS problem behind `err`, if any: looks through the error's
    /// sources and the I/O errors wrapping them.
    pub fn find(err: &(dyn std::error::Error + 'static)) -> Option<Problem> {
        let mut next = Some(err);
        while let Some(e) = next {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Some(Problem::of(tls));
            }
            if let Some(inner) = e
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                if let Some(p) = Problem::find(inner) {
                    return Some(p);
                }
            }
            next = e.source();
        }
        None
    }

    /// The problem a rustls error describes.
    pub fn of(err: &rustls::Error) -> Problem {
        use rustls::Error as E;
        use CertificateError as C;
        match err {
            E::InvalidCertificate(cert) => match cert {
                C::Expired | C::ExpiredContext { .. } => Problem::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => Problem::NotYetValid,
                C::UnknownIssuer => match cert_env_errors() {
                    Some(errors) => Problem::BadCertEnv(errors),
                    None => Problem::UnknownIssuer,
                },
                C::NotValidForName => Problem::WrongName {
                    presented: String::new(),
                },
                C::NotValidForNameContext { presented, .. } => Problem::WrongName {
                    presented: format!(
                        " (it names {})",
                        presented
                            .iter()
                            .take(5)
                            .map(|n| printable(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                C::Other(other) => match other.0.downcast_ref::<PinMismatch>() {
                    Some(m) => Problem::PinMismatch {
                        want: m.want.to_string(),
                        got: m.got.to_string(),
                    },
                    None => Problem::Other(err.to_string()),
                },
                _ => Problem::Other(err.to_string()),
            },
            E::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => Problem::NotTls,
            _ => Problem::Other(err.to_string()),
        }
    }
}

/// Peer- or user-supplied text (a certificate's names, a URL), safe to print:
/// no control characters (see [`is_unsafe`]), at most 100 characters.
pub fn printable(s: &str) -> String {
    crate::peer_text(s, 100)
}

/// Text of any length that may carry peer- or file-supplied parts (an error
/// chain, a stored sync error, a warning), safe to print on a terminal:
/// [`printable`]'s rule without its length limit, except that line breaks
/// (`\n`) and tabs are kept, so a message of our own that spans lines stays
/// readable. Nothing else that a terminal acts on gets through: no escape
/// sequence can set the title, move the cursor, repaint a line (`\r`),
/// ring the bell or reorder what is shown (bidi overrides).
pub fn printable_lines(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c != '\n' && c != '\t' && is_unsafe(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

pub use crate::is_unsafe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let hostile = "\x1b]0;pwned\x07\x1b[31mALERT\r\u{9b}2J\u{202e}gnp.exe\u{2066}x\u{7f}";
        for out in [printable(hostile), printable_lines(hostile)] {
            assert!(!out.chars().any(is_unsafe), "{out:?}");
            assert!(out.contains("ALERT") && out.contains("gnp.exe"), "{out:?}");
        }
        assert_eq!(printable_lines("one\n\ttwo"), "one\n\ttwo");
        assert_eq!(printable("one\ntwo"), "one?two");
        let cut = printable(&"x".repeat(300));
        assert_eq!((cut.chars().count(), cut.ends_with('…')), (101, true));
        assert_eq!(printable_lines(&"x".repeat(300)).len(), 300);
        assert_eq!(printable_lines("Zoë, Ünïcode: ok"), "Zoë, Ünïcode: ok");
    }

    #[test]
    fn pins_round_trip_and_refuse_garbage() {
        let pin = Pin::of_spki(b"a key");
        let text = pin.to_string();
        assert!(
            text.starts_with("sha256:") && text.len() == 7 + 64,
            "{text}"
        );
        assert_eq!(text.parse::<Pin>().unwrap(), pin);
        assert_eq!(
            text.to_uppercase()
                .replace("SHA256", "sha256")
                .parse::<Pin>()
                .unwrap(),
            pin
        );
        for bad in [
            "",
            "sha256:",
            "sha256:zz",
            &text[7..],
            "sha1:00",
            &text[..70],
        ] {
            let err = bad.parse::<Pin>().unwrap_err().to_string();
            assert!(err.contains("sha256:"), "{err}");
        }
        assert!(pin.matches(&pin) && !pin.matches(&Pin::of_spki(b"another")));
    }

    /// A TLS handshake in memory between a server presenting `cert` while
    /// signing with `key`, and a client trusting only `pin`; the client's
    /// error, if any.
    fn pinned_handshake(
        cert: &rcgen::Certificate,
        key: &rcgen::KeyPair,
        pin: Pin,
    ) -> Result<(), rustls::Error> {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = provider();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signer = provider.key_provider.load_private_key(der).unwrap();
        // `new`, unlike `from_der`, does not check that the key matches.
        let certified = rustls::sign::CertifiedKey::new(vec![cert.der().clone()], signer);
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
        let mut server = rustls::ServerConnection::new(Arc::new(server_config)).unwrap();
        let name = ServerName::try_from("relay.example").unwrap();
        let mut client =
            rustls::ClientConnection::new(Arc::new(client_config(Some(pin))), name).unwrap();
        for _ in 0..10 {
            let mut to_server = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut to_server).unwrap();
            }
            server.read_tls(&mut &to_server[..]).unwrap();
            // The server's own view does not matter: the client decides.
            let _ = server.process_new_packets();
            let mut to_client = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut to_client).unwrap();
            }
            client.read_tls(&mut &to_client[..]).unwrap();
            client.process_new_packets()?;
            if !client.is_handshaking() {
                return Ok(());
            }
        }
        panic!("the handshake neither finished nor failed");
    }

    #[test]
    fn a_pinned_connection_checks_the_handshake_signature_not_just_the_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = || rcgen::CertificateParams::new(vec!["anything".to_string()]).unwrap();
        let cert = params().self_signed(&key).unwrap();
        let pin = Pin::of_certificate(cert.der()).unwrap();
        // Any name, any issuer: the pinned key is what counts.
        pinned_handshake(&cert, &key, pin).expect("the relay with the pinned key");
        // The pinned certificate, replayed by someone without its key.
        let impostor = rcgen::KeyPair::generate().unwrap();
        let err = pinned_handshake(&cert, &impostor, pin).unwrap_err();
        assert!(format!("{err:?}").contains("BadSignature"), "{err:?}");
        // Another key altogether.
        let other = params().self_signed(&impostor).unwrap();
        let err = pinned_handshake(&other, &impostor, pin).unwrap_err();
        assert!(
            matches!(Problem::of(&err), Problem::PinMismatch { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn invites_carry_the_pin() {
        let pin = Pin::of_spki(b"relay");
        let code = invite_with_pin("0123abcd", Some(pin));
        assert_eq!(split_invite(&code).unwrap(), ("0123abcd".into(), Some(pin)));
        assert_eq!(
            split_invite(" 0123abcd\n").unwrap(),
            ("0123abcd".into(), None)
        );
        assert!(split_invite("0123abcd@sha256:00").is_err());
    }

    #[test]
    fn a_pin_mismatch_is_explained_with_both_keys() {
        let (want, got) = (Pin::of_spki(b"a"), Pin::of_spki(b"b"));
        let err = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
            Arc::new(PinMismatch { want, got }),
        )));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err);
        let problem = Problem::find(&io).unwrap();
        let text = problem.to_string();
        assert!(
            text.contains(&want.to_string()) && text.contains(&got.to_string()),
            "{text}"
        );
        assert!(text.contains("--pin"), "{text}");
    }
}
