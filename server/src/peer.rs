//! One WebSocket connection: hello, then sync, appends and snapshots.
//!
//! Nothing a peer sends can panic the relay: every frame is decoded into a
//! typed [`Frame`], a bad one closes this connection with an error frame, and
//! storage runs on blocking threads so a slow disk cannot stall the runtime.
//! Tokens, keys and payloads are never logged.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::{Delivery, Full, Lagged, Seat, Subscription};
use crate::store::{Appended, RelayStore, VaultMeta};
use crate::{Registration, Shared};
use axum::extract::ws::{Message, WebSocket};
use interlog_core::wire::{
    self, codes, DeviceInfo, Frame, MAX_DEVICES, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a peer has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one send may wait on a peer that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an idle connection is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// Payload bytes per `Records` frame.
const PAGE_BYTES: usize = 1024 * 1024;

/// Why a connection ends early; becomes the error frame the peer gets.
struct Refusal {
    code: &'static str,
    message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

fn unauthorized() -> Refusal {
    refuse(
        codes::AUTH,
        "this relay does not know that vault with that key; check the relay URL, or join the vault again with a fresh code from `interlog pair`",
    )
}

/// No vault here has the hello's token: the same answer whether the named
/// vault exists or not, so a stranger learns nothing about which vaults
/// exist. A member hears that the relay lost the vault (and registers it
/// again, see docs/protocol.md, "Re-seeding").
fn unknown_vault() -> Refusal {
    refuse(
        codes::UNKNOWN_VAULT,
        "this relay holds no vault with this key: it was wiped, or is a new relay at this address",
    )
}

fn shutting_down() -> Refusal {
    refuse(
        codes::SHUTTING_DOWN,
        "the relay is restarting; reconnect in a moment",
    )
}

fn replaced() -> Refusal {
    refuse(
        codes::TOO_MANY_CONNECTIONS,
        "a newer connection took this idle one's place (this device's, or another device's in a full vault); reconnect when there is something to sync",
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A live subscription and, per device, the last seq sent on it.
type Live = (Subscription, BTreeMap<String, u64>);

struct Conn<S: RelayStore> {
    shared: Arc<Shared<S>>,
    socket: Box<WebSocket>,
    vault: String,
    device: String,
    /// Token bucket for appends.
    tokens: f64,
    refilled: Instant,
}

/// Serves one upgraded connection to the end.
///
/// The connection's task is as large as this future's largest state, for as
/// long as the device stays connected, and most devices stay connected idle.
/// So the socket comes boxed (an async fn keeps its arguments for its whole
/// life), and the hello and each frame are handled in futures of their own,
/// which exist only while they run.
pub async fn serve<S: RelayStore>(
    mut socket: Box<WebSocket>,
    shared: Arc<Shared<S>>,
    stranger: Option<crate::gate::Stranger>,
) {
    // Held until this connection ends: shutdown waits for it.
    let _tracked = shared.connections.subscribe();
    shared
        .metrics
        .connections_total
        .fetch_add(1, Ordering::Relaxed);
    shared
        .metrics
        .connections_open
        .fetch_add(1, Ordering::Relaxed);
    let hello = tokio::time::timeout(HELLO_TIMEOUT, recv_frame(&mut socket)).await;
    let result = match hello {
        Err(_) => Err(refuse(codes::BAD_FRAME, "no hello within 10 seconds")),
        Ok(Err(r)) => Err(r),
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(frame))) => match Box::pin(admit(&shared, frame)).await {
            Err(r) => Err(r),
            Ok(Admitted {
                vault,
                device,
                seat,
                welcome,
            }) => {
                if let Some(s) = &stranger {
                    s.admit();
                }
                drop(stranger);
                tracing::info!(vault = %vault, device = %device, "device connected");
                let mut conn = Conn {
                    tokens: shared.settings.limits.appends_per_second as f64 * 2.0,
                    refilled: Instant::now(),
                    shared: shared.clone(),
                    socket,
                    vault,
                    device,
                };
                let welcomed = conn.send(&welcome).await;
                // An idle connection keeps nothing of its handshake.
                drop(welcome);
                let r = match welcomed {
                    Ok(()) => conn.run(&seat).await,
                    Err(r) => Err(r),
                };
                tracing::info!(vault = %conn.vault, device = %conn.device, "device disconnected");
                socket = conn.socket;
                r
            }
        },
    };
    if let Err(r) = result {
        shared
            .metrics
            .refusals_total
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(code = r.code, "closing connection: {}", r.message);
        let frame = Frame::Error {
            code: r.code.into(),
            message: r.message,
        };
        // When the relay is stopping, a peer that does not read gets a
        // second, not ten: shutdown waits for this connection.
        let limit = if *shared.shutdown.borrow() {
            Duration::from_secs(1)
        } else {
            SEND_TIMEOUT
        };
        if let Ok(bytes) = wire::encode(&frame) {
            let _ = tokio::time::timeout(limit, socket.send(Message::Binary(bytes.into()))).await;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(None))).await;
    shared
        .metrics
        .connections_open
        .fetch_sub(1, Ordering::Relaxed);
}

/// Reads the next protocol frame; `None` when the peer closed.
async fn recv_frame(socket: &mut WebSocket) -> Result<Option<Frame>, Refusal> {
    loop {
        match socket.recv().await {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Err(e)) => {
                // A peer that goes away without a closing handshake is not
                // misbehaving; there is nobody left to tell.
                tracing::debug!("connection ended: {e}");
                return Ok(None);
            }
            Some(Ok(Message::Binary(bytes))) => {
                return wire::decode(&bytes).map(Some).map_err(|e| match e {
                    wire::WireError::TooLarge { .. } => refuse(codes::TOO_LARGE, e.to_string()),
                    other => refuse(codes::BAD_FRAME, other.to_string()),
                })
            }
            Some(Ok(Message::Text(_))) => {
                return Err(refuse(codes::BAD_FRAME, "frames are binary CBOR, not text"))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
        }
    }
}

/// What the relay keeps of a vault's access token.
fn token_hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Whether `token` is the one whose hash the vault was registered with.
///
/// The comparison is constant-time (`subtle`): how long a refusal takes says
/// nothing about how many bytes of a guess were right. Comparing hashes, not
/// tokens, already hides that, since a guess cannot steer its own hash; the
/// constant-time compare keeps the guarantee from resting on that alone.
/// Only the stored hash's length (always 32) can end the compare early.
fn token_matches(stored_hash: &[u8], token: &[u8]) -> bool {
    stored_hash.ct_eq(&token_hash(token)).into()
}

/// Checks a hello: version, then membership (or registration).
async fn admit<S: RelayStore>(shared: &Arc<Shared<S>>, frame: Frame) -> Result<Admitted, Refusal> {
    let Frame::Hello {
        version,
        vault,
        device,
        token,
        register,
        invite,
        ..
    } = frame
    else {
        return Err(refuse(codes::BAD_FRAME, "the first frame must be a hello"));
    };
    if version != PROTOCOL_VERSION {
        return Err(refuse(
            codes::VERSION,
            wire::WireError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: version,
            }
            .to_string(),
        ));
    }
    let hash = token_hash(&token).to_vec();
    // A hello naming no vault asks for the one registered with its token
    // (a recovery from the words): the relay learns nothing a sync with
    // that vault's token would not tell it.
    let by_key = vault == wire::VAULT_BY_KEY;
    let vault = if by_key {
        let store = shared.store.clone();
        let h = hash.clone();
        match blocking(move || store.vault_by_token(&h)).await? {
            Some(v) => v,
            None => return Err(unknown_vault()),
        }
    } else {
        vault
    };
    let store = shared.store.clone();
    let v = vault.clone();
    let existing = blocking(move || store.vault(&v)).await?;
    match existing {
        Some(meta) => {
            if !token_matches(&meta.token_hash, &token) {
                if register {
                    return Err(unauthorized());
                }
                // A token no vault has gets the same answer whether this
                // vault exists or not, so strangers learn nothing; a
                // member's token for another vault is refused as such.
                let store = shared.store.clone();
                let h = hash.clone();
                return Err(match blocking(move || store.vault_by_token(&h)).await? {
                    Some(_) => unauthorized(),
                    None => unknown_vault(),
                });
            }
        }
        None if register && !by_key => {
            if shared.settings.registration == Registration::Invite {
                use crate::invites::Taken;
                match take_invite(shared, invite.as_deref()).await? {
                    Taken::Taken => {}
                    Taken::AlreadyUsed => return Err(refuse(
                        codes::AUTH,
                        "this invite code was already used to register a vault, and each code works once: ask the relay's operator for a new one (`interlog relay invite`) and pass it with --invite",
                    )),
                    Taken::Unknown => return Err(refuse(
                        codes::AUTH,
                        "this relay registers vaults by invite: ask its operator for a code (`interlog relay invite`) and pass it with --invite",
                    )),
                }
            }
            let store = shared.store.clone();
            let v = vault.clone();
            let meta = VaultMeta {
                token_hash: hash,
                created: now(),
            };
            blocking(move || store.create_vault(&v, &meta)).await?;
            tracing::info!(vault = %vault, "vault registered");
        }
        None => return Err(unknown_vault()),
    }
    let seat = shared.hub.join(&vault, &device).map_err(|full| match full {
        Full::Vault => refuse(
            codes::TOO_MANY_CONNECTIONS,
            "too many devices of this vault are connected and busy; retry in a few seconds",
        ),
        Full::Device => refuse(
            codes::TOO_MANY_CONNECTIONS,
            "this device already has the most connections allowed, all of them busy; retry in a few seconds",
        ),
    })?;
    let store = shared.store.clone();
    let (v, d) = (vault.clone(), device.clone());
    let devices = blocking(move || {
        // Last-seen times are a courtesy: a relay that cannot write (a full
        // disk) still serves reads.
        if let Err(e) = store.touch(&v, &d, now()) {
            tracing::warn!("could not record the device's last connection: {e}");
        }
        let mut devices = store.devices(&v)?;
        // The welcome lists this device too, if the relay holds nothing of
        // it yet (it is not stored until its first record).
        if devices.len() < MAX_DEVICES && !devices.iter().any(|i| i.device == d) {
            devices.push(DeviceInfo {
                device: d,
                last_seq: 0,
                last_seen: now(),
            });
        }
        Ok(devices)
    })
    .await?;
    let welcome = Frame::Welcome {
        version: PROTOCOL_VERSION,
        capabilities: vec!["snapshot".into(), "live".into()],
        devices,
        vault: by_key.then(|| vault.clone()),
    };
    Ok(Admitted {
        vault,
        device,
        seat,
        welcome,
    })
}

/// Uses up an invite code: from the store, when it keeps them (one shared by
/// several relays), else from the data directory's files.
async fn take_invite<S: RelayStore>(
    shared: &Arc<Shared<S>>,
    code: Option<&str>,
) -> Result<crate::invites::Taken, Refusal> {
    use crate::invites::Taken;
    let Some(code) = code.and_then(crate::invites::normalize) else {
        return Ok(Taken::Unknown);
    };
    let taken = crate::invites::take(&shared.settings.data, &code);
    if taken != Taken::Unknown || !shared.store.keeps_invites() {
        return Ok(taken);
    }
    let store = shared.store.clone();
    let kept = blocking(move || store.take_invite(&code, now())).await?;
    Ok(if kept { Taken::Taken } else { Taken::Unknown })
}

struct Admitted {
    vault: String,
    device: String,
    seat: Seat,
    welcome: Frame,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::RelayStoreError> + Send + 'static,
) -> Result<T, Refusal> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e @ crate::store::RelayStoreError::Full { .. })) => {
            tracing::error!("storage failed: {e}");
            Err(refuse(
                codes::STORAGE,
                "the relay is out of disk space, so it cannot store new changes; they are safe on this device. Sync again once the relay's operator has freed space",
            ))
        }
        Ok(Err(e)) => {
            tracing::error!("storage failed: {e}");
            Err(refuse(
                codes::STORAGE,
                "the relay could not read or write its storage; try again later",
            ))
        }
        Err(_) => Err(refuse(
            codes::STORAGE,
            "the relay's storage task failed; try again later",
        )),
    }
}

impl<S: RelayStore> Conn<S> {
    async fn send(&mut self, frame: &Frame) -> Result<(), Refusal> {
        let bytes = wire::encode(frame).map_err(|e| refuse(codes::TOO_LARGE, e.to_string()))?;
        let mut shutdown = self.shared.shutdown.clone();
        // A send blocked on a peer that does not read gives way to a
        // shutdown, which waits for this connection.
        tokio::select! {
            sent = tokio::time::timeout(
                SEND_TIMEOUT,
                self.socket.send(Message::Binary(bytes.into())),
            ) => match sent {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(refuse(codes::TOO_SLOW, format!("could not send: {e}"))),
                Err(_) => Err(refuse(codes::TOO_SLOW, "the device stopped reading")),
            },
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => Err(shutting_down()),
        }
    }

    /// The main loop: frames from the device, live records from the vault's
    /// other devices, and shutdown.
    async fn run(&mut self, seat: &Seat) -> Result<(), Refusal> {
        let mut live: Option<Live> = None;
        let mut shutdown = self.shared.shutdown.clone();
        // Pings keep idle connections alive through proxies and NATs, and let
        // a watching device notice a dead connection.
        // The first ping is due after a full period. (Not `interval` plus
        // awaiting its first, immediate tick: that tick waits for the timer
        // driver, up to a millisecond, before the first frame is handled.)
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    if tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Ping(Default::default()))).await.is_err() {
                        return Err(refuse(codes::TOO_SLOW, "the device stopped reading"));
                    }
                    // With other relays on the store, a lost wake-up delays
                    // a record by at most one ping period.
                    if self.shared.peers {
                        if let Some((_, sent)) = live.as_mut() {
                            Box::pin(self.catch_up(sent)).await?;
                        }
                    }
                }
                frame = recv_frame(&mut self.socket) => {
                    let Some(frame) = frame? else { return Ok(()) };
                    if seat.is_replaced() {
                        return Err(replaced());
                    }
                    seat.busy();
                    // Boxed, like the hello: see `serve`.
                    let handled = Box::pin(self.handle(frame, seat, &mut live)).await;
                    seat.idle();
                    handled?;
                }
                _ = seat.replaced() => return Err(replaced()),
                rec = async {
                    match live.as_mut() {
                        Some((rx, _)) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    let Some((_, sent)) = live.as_mut() else { continue };
                    match rec {
                        Ok(Delivery::SealedRecord(record)) => {
                            let seen = sent.get(&record.device).copied().unwrap_or(0);
                            if record.device == self.device || record.seq <= seen {
                                continue;
                            }
                            if record.seq == seen + 1 {
                                sent.insert(record.device.clone(), record.seq);
                                self.shared.metrics.records_sent_total.fetch_add(1, Ordering::Relaxed);
                                Box::pin(self.send(&Frame::Records { records: vec![(*record).clone()] })).await?;
                            } else {
                                // Records of that device came in between
                                // (through another relay, or a race of its
                                // two connections): they are in the store.
                                Box::pin(self.catch_up(sent)).await?;
                            }
                        }
                        Ok(Delivery::Read) => Box::pin(self.catch_up(sent)).await?,
                        Err(Lagged) => {
                            return Err(refuse(codes::TOO_SLOW, "fell behind the live stream; reconnect to resume"));
                        }
                    }
                }
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => return Err(shutting_down()),
            }
        }
    }

    async fn handle(
        &mut self,
        frame: Frame,
        seat: &Seat,
        live: &mut Option<Live>,
    ) -> Result<(), Refusal> {
        match frame {
            Frame::Sync {
                cursors,
                live: want_live,
                want_snapshot,
            } => {
                // Subscribe before reading the backlog, so nothing appended in
                // between is missed; duplicates are filtered by seq.
                let rx = want_live.then(|| seat.subscribe());
                let mut sent = cursors.clone();
                // A device has its own records; never send them back.
                sent.insert(self.device.clone(), u64::MAX);
                if want_snapshot {
                    let store = self.shared.store.clone();
                    let vault = self.vault.clone();
                    let snap = blocking(move || {
                        let Some(snap) = store.snapshot(&vault)? else { return Ok(None) };
                        // A snapshot stored before uploads were checked may
                        // claim records the relay does not hold: serving it
                        // would make a joining device skip real records.
                        if let Some((device, seq)) = beyond(&snap, &held(store.devices(&vault)?)) {
                            tracing::warn!(vault = %vault, device = %device, seq, "not serving the vault's snapshot: it claims records the relay does not hold");
                            return Ok(None);
                        }
                        Ok(Some(snap))
                    })
                    .await?;
                    if let Some(snap) = snap {
                        let newer = snap
                            .covers
                            .iter()
                            .any(|(d, seq)| *seq > cursors.get(d).copied().unwrap_or(0));
                        if newer {
                            for (d, seq) in &snap.covers {
                                let e = sent.entry(d.clone()).or_insert(0);
                                *e = (*e).max(*seq);
                            }
                            self.send(&Frame::Snapshot { snapshot: snap }).await?;
                        }
                    }
                }
                self.catch_up(&mut sent).await?;
                self.send(&Frame::CaughtUp).await?;
                *live = rx.map(|rx| (rx, sent));
                Ok(())
            }
            Frame::Append { record } => {
                if record.device != self.device {
                    return Err(refuse(
                        codes::BAD_FRAME,
                        "a device may only append to its own log",
                    ));
                }
                if record.payload.len() > MAX_PAYLOAD_BYTES {
                    return Err(refuse(
                        codes::TOO_LARGE,
                        format!(
                            "record {} is {} bytes; the relay accepts records of at most {MAX_PAYLOAD_BYTES} bytes (so that it can always deliver them); split it",
                            record.seq,
                            record.payload.len()
                        ),
                    ));
                }
                self.take_token()?;
                let store = self.shared.store.clone();
                let vault = self.vault.clone();
                let r = record.clone();
                let size = record.payload.len() as u64;
                match blocking(move || store.append(&vault, &r, now())).await? {
                    Appended::Stored(_) => {
                        self.shared.metrics.appends_total.fetch_add(1, Ordering::Relaxed);
                        self.shared.metrics.append_bytes_total.fetch_add(size, Ordering::Relaxed);
                        let seq = record.seq;
                        seat.publish(Arc::new(record));
                        self.send(&Frame::Ack { device: self.device.clone(), seq }).await
                    }
                    Appended::Duplicate => {
                        self.send(&Frame::Ack { device: self.device.clone(), seq: record.seq }).await
                    }
                    Appended::Conflict => Err(refuse(
                        codes::DEVICE_ID_REUSED,
                        format!(
                            "record {} of device {} already exists with different contents: this device id was reused (a restored backup?); the device must take a new id",
                            record.seq, record.device
                        ),
                    )),
                    Appended::TooManyDevices => Err(refuse(
                        codes::TOO_MANY_DEVICES,
                        format!(
                            "this vault already has {MAX_DEVICES} devices on this relay, the most it keeps; this device's records are not stored"
                        ),
                    )),
                    Appended::Gap { expected } => Err(refuse(
                        codes::OUT_OF_ORDER,
                        format!("expected record {expected} of this device next, got {}", record.seq),
                    )),
                }
            }
            Frame::Snapshot { snapshot } => {
                if snapshot.device != self.device {
                    return Err(refuse(
                        codes::BAD_FRAME,
                        "a device may only upload its own snapshots",
                    ));
                }
                if snapshot.payload.len() > MAX_PAYLOAD_BYTES {
                    return Err(refuse(
                        codes::TOO_LARGE,
                        format!(
                            "the snapshot is {} bytes; the relay accepts snapshots of at most {MAX_PAYLOAD_BYTES} bytes",
                            snapshot.payload.len()
                        ),
                    ));
                }
                let store = self.shared.store.clone();
                let vault = self.vault.clone();
                let id = snapshot.id;
                let kept = blocking(move || {
                    let held = held(store.devices(&vault)?);
                    if let Some((device, seq)) = beyond(&snapshot, &held) {
                        let holds = held.get(&device).copied().unwrap_or(0);
                        return Ok(Err((device, seq, holds)));
                    }
                    // Keep whichever covers more of what the relay holds; on
                    // a tie, the newer upload. An old one uploaded late
                    // never replaces a newer one, and one the relay cannot
                    // open cannot hold its place against a device's next
                    // snapshot of as much (a `pair`, say).
                    match store.snapshot(&vault)? {
                        Some(old) if covered(&old, &held) > covered(&snapshot, &held) => {}
                        _ => store.put_snapshot(&vault, &snapshot)?,
                    }
                    Ok(Ok(()))
                })
                .await?;
                if let Err((device, seq, holds)) = kept {
                    return Err(refuse(
                        codes::SNAPSHOT_REFUSED,
                        format!(
                            "the snapshot claims to cover record {seq} of device {device}, but the relay holds {holds} of its records; it was not kept (was the relay restored from an older backup?)"
                        ),
                    ));
                }
                self.send(&Frame::SnapshotAck { id }).await
            }
            Frame::Hello { .. } => Err(refuse(codes::BAD_FRAME, "hello was already said")),
            other => Err(refuse(
                codes::BAD_FRAME,
                format!("a device does not send {}", frame_name(&other)),
            )),
        }
    }

    /// Sends a live device every record the store holds above what it was
    /// sent, in arrival order: what other relays stored, or what the live
    /// stream skipped.
    async fn catch_up(&mut self, sent: &mut BTreeMap<String, u64>) -> Result<(), Refusal> {
        let mut from = 0;
        loop {
            let store = self.shared.store.clone();
            let (vault, c) = (self.vault.clone(), sent.clone());
            let page = blocking(move || store.page(&vault, &c, from, PAGE_BYTES)).await?;
            for r in &page.records {
                let e = sent.entry(r.device.clone()).or_insert(0);
                *e = (*e).max(r.seq);
            }
            if !page.records.is_empty() {
                self.shared
                    .metrics
                    .records_sent_total
                    .fetch_add(page.records.len() as u64, Ordering::Relaxed);
                self.send(&Frame::Records {
                    records: page.records,
                })
                .await?;
            }
            match page.next {
                Some(n) => from = n,
                None => return Ok(()),
            }
        }
    }

    fn take_token(&mut self) -> Result<(), Refusal> {
        let rate = self.shared.settings.limits.appends_per_second as f64;
        let elapsed = self.refilled.elapsed().as_secs_f64();
        self.refilled = Instant::now();
        self.tokens = (self.tokens + elapsed * rate).min(rate * 2.0);
        if self.tokens < 1.0 {
            return Err(refuse(
                codes::RATE_LIMITED,
                format!("more than {rate} appends per second; slow down and reconnect"),
            ));
        }
        self.tokens -= 1.0;
        Ok(())
    }
}

/// The highest seq the relay holds of each device.
fn held(devices: Vec<DeviceInfo>) -> BTreeMap<String, u64> {
    devices
        .into_iter()
        .map(|d| (d.device, d.last_seq))
        .collect()
}

/// The first (device, seq) a snapshot claims to cover that the relay does
/// not hold: no snapshot of this vault can include records it never had.
fn beyond(snapshot: &wire::Snapshot, held: &BTreeMap<String, u64>) -> Option<(String, u64)> {
    snapshot
        .covers
        .iter()
        .find(|(d, seq)| **seq > held.get(*d).copied().unwrap_or(0))
        .map(|(d, seq)| (d.clone(), *seq))
}

/// How many of the records the relay holds a snapshot covers.
fn covered(snapshot: &wire::Snapshot, held: &BTreeMap<String, u64>) -> u64 {
    snapshot.covers.iter().fold(0u64, |sum, (d, seq)| {
        sum.saturating_add((*seq).min(held.get(d).copied().unwrap_or(0)))
    })
}

fn frame_name(f: &Frame) -> &'static str {
    match f {
        Frame::Hello { .. } => "hello",
        Frame::Welcome { .. } => "welcome",
        Frame::Sync { .. } => "sync",
        Frame::Append { .. } => "append",
        Frame::Ack { .. } => "ack",
        Frame::Snapshot { .. } => "snapshot",
        Frame::SnapshotAck { .. } => "snapshot_ack",
        Frame::Records { .. } => "records",
        Frame::CaughtUp => "caught_up",
        Frame::Error { .. } => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_registered_token_matches() {
        let token = [7u8; 32];
        let stored = token_hash(&token);
        assert!(token_matches(&stored, &token));
        let mut last_byte_off = token;
        last_byte_off[31] ^= 1;
        for wrong in [&last_byte_off[..], &token[..31], &[], &stored[..]] {
            assert!(!token_matches(&stored, wrong));
        }
        // A stored hash that is not 32 bytes (damaged) matches nothing.
        assert!(!token_matches(&stored[..31], &token));
    }
}
