//! Network measurements: a loopback proxy that counts the bytes and the
//! round trips of what passes through it, and raw WebSocket timings (the
//! handshake, a ping) that serve as floors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// Which way bytes went: client to relay, or relay to client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

/// A TCP proxy on 127.0.0.1:0 in front of the relay.
pub struct Proxy {
    pub addr: String,
    down: Arc<AtomicU64>,
    up: Arc<AtomicU64>,
    /// Each turn of the conversation, in order over all connections: which
    /// way, and how many bytes before the other side spoke.
    turns: Arc<Mutex<Vec<(Dir, usize)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &str) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let down = Arc::new(AtomicU64::new(0));
        let up = Arc::new(AtomicU64::new(0));
        let turns = Arc::new(Mutex::new(Vec::new()));
        let target = target.to_string();
        let (d, u, t) = (down.clone(), up.clone(), turns.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(relay) = TcpStream::connect(&target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = relay.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (rr, rw) = relay.into_split();
                tokio::spawn(pump(cr, rw, u.clone(), t.clone(), Dir::Up));
                tokio::spawn(pump(rr, cw, d.clone(), t.clone(), Dir::Down));
            }
        });
        Ok(Proxy {
            addr,
            down,
            up,
            turns,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Bytes the relay sent to clients.
    pub fn received(&self) -> u64 {
        self.down.load(Ordering::Relaxed)
    }

    pub fn sent(&self) -> u64 {
        self.up.load(Ordering::Relaxed)
    }

    /// Times the client spoke and the relay answered, not counting the
    /// HTTP upgrade (the first) or the closing handshake (a last turn of
    /// one close frame, at most 8 bytes, which the client does not wait on).
    pub fn round_trips(&self) -> usize {
        let turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        let last = turns.len().saturating_sub(2);
        for (i, w) in turns.windows(2).enumerate() {
            let (up, down) = (w[0], w[1]);
            let close = i == last && up.1 <= 8;
            if up.0 == Dir::Up && down.0 == Dir::Down && i > 0 && !close {
                n += 1;
            }
        }
        n
    }

    /// The conversation, e.g. `>161 <166 >274 <220 >6 <4`.
    pub fn turns(&self) -> String {
        let turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        turns
            .iter()
            .map(|(d, n)| format!("{}{n}", if *d == Dir::Up { '>' } else { '<' }))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn reset(&self) {
        self.down.store(0, Ordering::Relaxed);
        self.up.store(0, Ordering::Relaxed);
        self.turns.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<AtomicU64>,
    turns: Arc<Mutex<Vec<(Dir, usize)>>>,
    dir: Dir,
) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        count.fetch_add(n as u64, Ordering::Relaxed);
        {
            let mut t = turns.lock().unwrap_or_else(|p| p.into_inner());
            match t.last_mut() {
                Some((d, bytes)) if *d == dir => *bytes += n,
                _ => t.push((dir, n)),
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The sync endpoint of a relay URL.
pub fn endpoint(relay: &str) -> String {
    format!("{}/v1/sync", relay.trim_end_matches('/'))
}

/// One WebSocket handshake (TCP connect and HTTP upgrade) to the relay.
pub async fn handshake(relay: &str) -> Result<Duration> {
    let started = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(endpoint(relay))
        .await
        .context("WebSocket handshake with the relay")?;
    let took = started.elapsed();
    let _ = ws.close(None).await;
    Ok(took)
}

/// Time to connect as the CLI does: TCP, TLS for `wss://` (trusting `pin`)
/// and the WebSocket handshake.
pub async fn client_handshake(relay: &str, pin: Option<&str>) -> Result<Duration> {
    let pin = pin.map(str::parse).transpose()?;
    let started = Instant::now();
    let mut conn = interlog_core::sync::Connection::connect(relay, pin).await?;
    let took = started.elapsed();
    conn.close().await;
    Ok(took)
}

/// Round trips of a WebSocket ping on one open connection to the relay,
/// which the relay's WebSocket layer answers without touching the protocol.
pub async fn ping_round_trips(relay: &str, n: usize) -> Result<Vec<Duration>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(endpoint(relay))
        .await
        .context("WebSocket handshake with the relay")?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let payload = (i as u64).to_be_bytes().to_vec();
        let started = Instant::now();
        ws.send(Message::Ping(payload.clone().into())).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Pong(p))) if p.as_ref() == payload.as_slice() => break,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => anyhow::bail!("the relay closed the connection"),
            }
        }
        out.push(started.elapsed());
    }
    let _ = ws.close(None).await;
    Ok(out)
}
