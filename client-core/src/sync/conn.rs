//! The client side of a WebSocket connection to the relay.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::SyncError;
use crate::wire::{self, Frame, MAX_FRAME_BYTES};

pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
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

impl Connection {
    pub async fn connect(relay: &str) -> Result<Self, SyncError> {
        let url = endpoint(relay);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let connect =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true);
        match tokio::time::timeout(Duration::from_secs(10), connect).await {
            Ok(Ok((ws, _))) => Ok(Connection { ws }),
            Ok(Err(e)) => Err(SyncError::Connect {
                url,
                detail: e.to_string(),
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
    pub async fn send_all(&mut self, frames: &[&Frame]) -> Result<(), SyncError> {
        let broken =
            |e: tokio_tungstenite::tungstenite::Error| SyncError::Connection(e.to_string());
        for frame in frames {
            let bytes = wire::encode(frame)?;
            self.ws
                .feed(Message::Binary(bytes.into()))
                .await
                .map_err(broken)?;
        }
        self.ws.flush().await.map_err(broken)
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
                Some(Ok(Message::Binary(b))) => return Ok(wire::decode(&b)?),
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
}
