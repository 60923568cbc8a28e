//! The client side of a WebSocket connection to the relay, over TLS for
//! `wss://` (trusting the roots or a pin, see [`crate::tls`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::SyncError;

/// How long a send may take before the relay counts as not reading: long
/// enough for the largest frame (a 32 MiB snapshot) on a slow uplink,
/// 1 Mbit/s. It is this many times the stall limit of a one-shot sync
/// ([`SEND_DEADLINE`] for the default limit, [`super::STALL`]).
pub const SEND_STALLS: u32 = 5;

/// How long a send may take when no stall limit is set (a live sync).
pub const SEND_DEADLINE: Duration = Duration::from_secs(300);
use crate::tls::{self, printable, Pin};
use crate::wire::{self, Frame, MAX_FRAME_BYTES};

pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// How long one [`Self::send_all`] may take.
    send_deadline: Duration,
}

/// `ws://host:port` (or `http://`) to the relay's sync endpoint.
pub fn endpoint(relay: &str) -> String {
    let url = relay.trim().trim_end_matches('/');
    let url = if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if url.starts_with("ws://") || url.starts_with("wss://") {
        url.to_string()
    } else {
        format!("ws://{url}")
    };
    if url.ends_with("/v1/sync") {
        url
    } else {
        format!("{url}/v1/sync")
    }
}

/// The host of a relay URL as [`endpoint`] spells it: without brackets
/// for IPv6, without port and path.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

/// Whether `host` is this machine or on a private network, where a
/// plaintext connection stays off the internet: loopback, RFC 1918, link
/// local, IPv6 unique local, and names that only resolve locally.
fn is_local(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            // 100.64.0.0/10, carrier-grade NAT: where Tailscale puts its
            // (WireGuard-encrypted) addresses.
            let tailnet = ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64;
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || tailnet
        }
        Ok(IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
        Err(_) => {
            !host.contains('.')
                || [
                    ".localhost",
                    ".local",
                    ".lan",
                    ".home",
                    ".internal",
                    ".home.arpa",
                ]
                .iter()
                .any(|suffix| host.ends_with(suffix))
        }
    }
}

/// A one-line warning for a relay URL that would carry the access token
/// in the clear over the internet, `None` for TLS or a local address.
pub fn plaintext_warning(relay: &str) -> Option<String> {
    let url = endpoint(relay);
    let host = host(&url);
    (url.starts_with("ws://") && !is_local(host)).then(|| {
        format!(
            "{} is not encrypted: the relay's access token travels in the clear (your records stay sealed); use wss:// (see docs/self-hosting.md)",
            printable(host)
        )
    })
}

impl Connection {
    /// Connects to `relay`: over TLS for `wss://`, trusting only `pin` when
    /// there is one, or else the roots of [`tls::root_store`].
    pub async fn connect(relay: &str, pin: Option<Pin>) -> Result<Self, SyncError> {
        let url = endpoint(relay);
        if pin.is_some() && !url.starts_with("wss://") {
            return Err(SyncError::Other(format!(
                "{} has a pin but is not a wss:// URL, so the pin could not be checked; nothing was sent. Use wss://, or `--pin none` for a relay without TLS",
                printable(relay)
            )));
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let connector = if url.starts_with("wss://") {
            Connector::Rustls(Arc::new(tls::client_config(pin)))
        } else {
            Connector::Plain
        };
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            Some(config),
            true,
            Some(connector),
        );
        match tokio::time::timeout(Duration::from_secs(10), connect).await {
            Ok(Ok((ws, _))) => Ok(Connection {
                ws,
                send_deadline: SEND_DEADLINE,
            }),
            Ok(Err(e)) => Err(match tls::Problem::find(&e) {
                Some(problem) => SyncError::Tls { url, problem },
                None => SyncError::Connect {
                    url,
                    detail: e.to_string(),
                },
            }),
            Err(_) => Err(SyncError::Connect {
                url,
                detail: "timed out".into(),
            }),
        }
    }

    pub async fn send(&mut self, frame: &Frame) -> Result<(), SyncError> {
        self.send_all(&[frame]).await
    }

    /// Sends `frames` in one write, so a request sent right behind another
    /// reaches the relay with it rather than after the relay has answered
    /// the first.
    /// A relay that stops reading ends the send with
    /// [`SyncError::Stalled`] after [`SEND_DEADLINE`], or after
    /// [`SEND_STALLS`] times the stall limit ([`Self::stall_after`]).
    pub async fn send_all(&mut self, frames: &[&Frame]) -> Result<(), SyncError> {
        let broken =
            |e: tokio_tungstenite::tungstenite::Error| SyncError::Connection(e.to_string());
        let mut encoded = Vec::with_capacity(frames.len());
        for frame in frames {
            encoded.push(wire::encode(frame)?);
        }
        let send = async {
            for bytes in encoded {
                self.ws
                    .feed(Message::Binary(bytes.into()))
                    .await
                    .map_err(broken)?;
            }
            self.ws.flush().await.map_err(broken)
        };
        tokio::time::timeout(self.send_deadline, send)
            .await
            .unwrap_or(Err(SyncError::Stalled(self.send_deadline)))
    }

    /// A send may take [`SEND_STALLS`] times `limit` from now on.
    pub fn stall_after(&mut self, limit: Duration) {
        self.send_deadline = limit.checked_mul(SEND_STALLS).unwrap_or(limit);
    }

    /// Says goodbye properly; best effort.
    pub async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }

    /// The next frame, or an error if none comes within `timeout`.
    /// Any message, pings included, proves the connection is alive and
    /// restarts the clock.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Frame, SyncError> {
        let closed = || SyncError::Connection("the relay closed the connection".into());
        loop {
            let next = tokio::time::timeout(timeout, self.ws.next())
                .await
                .map_err(|_| SyncError::Timeout(timeout))?;
            match next {
                None | Some(Ok(Message::Close(_))) => return Err(closed()),
                Some(Err(e)) => return Err(SyncError::Connection(e.to_string())),
                Some(Ok(Message::Binary(b))) => {
                    return wire::decode(&b).map_err(SyncError::BadFrame)
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn endpoints_accept_common_spellings() {
        for (given, want) in [
            ("127.0.0.1:7878", "ws://127.0.0.1:7878/v1/sync"),
            ("http://relay.home:7878/", "ws://relay.home:7878/v1/sync"),
            ("wss://relay.example.com", "wss://relay.example.com/v1/sync"),
            ("ws://h/v1/sync", "ws://h/v1/sync"),
        ] {
            assert_eq!(super::endpoint(given), want);
        }
    }

    #[test]
    fn plaintext_to_the_internet_draws_a_warning_and_local_addresses_do_not() {
        for local in [
            "127.0.0.1:7878",
            "ws://localhost:7878",
            "ws://192.168.1.20:7878",
            "ws://10.0.0.2",
            "ws://172.20.1.1:80/",
            "ws://[::1]:7878",
            "ws://[fd00::5]:7878",
            "ws://100.101.102.103:7878",
            "ws://relay.home:7878",
            "ws://nas.local",
            "ws://nas:7878",
            "wss://relay.example.com",
            "https://relay.example.com",
        ] {
            assert_eq!(super::plaintext_warning(local), None, "{local}");
        }
        for public in [
            "ws://relay.example.com:7878",
            "http://203.0.113.9:7878",
            "ws://[2001:db8::1]:7878",
            "relay.example.com",
        ] {
            let w = super::plaintext_warning(public).expect(public);
            assert!(w.contains("wss://") && !w.contains('\n'), "{w}");
        }
    }
}
