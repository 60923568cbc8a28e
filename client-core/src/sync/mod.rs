//! The relay client: end-to-end encrypted push, pull, live sync and joining.
//!
//! Each device appends to its own log of sealed records (vault, device, seq).
//! Pushing seals the changes since the heads this device last pushed
//! (`save_after`) as the next record; the sealed record is stored in the
//! local outbox *before* it is sent, so a retry after a crash resends the
//! same bytes and the relay's idempotent append acknowledges it again.
//! Pulling sends this device's cursors (the last seq applied from each
//! device); a cursor moves only after the record is applied and flushed, so an
//! interrupted sync resumes where it stopped. Protocol: docs/protocol.md.

mod conn;
mod membership;
mod state;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_bytes::ByteBuf;

pub use conn::{plaintext_warning, Connection};
pub use membership::{JoinCode, Membership};
pub use state::{CleanStamp, SyncState};

use crate::crypto::{self, CryptoError, Derived};
use crate::doc::VaultDoc;
use crate::store::{Storage, StoreError, Vault};
use crate::wire::{self, codes, DeviceInfo, Frame, Record, RecordKind, Snapshot};

/// How long to wait for the relay to answer one request.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Upload a fresh snapshot once this many records arrived or left since the
/// last one, so new devices bootstrap from a recent state.
const SNAPSHOT_EVERY: u64 = 500;

/// Why a sync failed. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("could not reach the relay at {url}: {detail}; check the URL and that the relay is running, then retry (your changes are safe on this device)")]
    Connect { url: String, detail: String },
    #[error("could not connect securely to the relay at {url}: {problem}. Nothing was sent; your changes are safe on this device")]
    Tls {
        url: String,
        problem: crate::tls::Problem,
    },
    #[error("the connection to the relay broke: {0}; run `interlog sync` again to resume where it stopped")]
    Connection(String),
    #[error("the relay did not answer within {0:?}; run `interlog sync` again to resume")]
    Timeout(Duration),
    #[error("the relay refused: {message}")]
    Refused { code: String, message: String },
    #[error("the vault key on this device does not match the vault on the relay: {0}. To fix: run `interlog pair` on a device that syncs correctly and `interlog join CODE` here")]
    WrongKey(String),
    #[error("this device's id was already used for different records (a restored backup or a copied home directory?): {0}. Move this home aside and `interlog join` again with a code from `interlog pair`")]
    DeviceIdReused(String),
    #[error("a record from device {device} (seq {seq}) failed authentication: it was altered or does not belong here; nothing was applied. Tell the relay's operator; run `interlog sync` again once fixed")]
    Tampered { device: String, seq: u64 },
    #[error("the vault snapshot from device {device} failed authentication: it was altered or relabelled by the relay; nothing was applied. Tell the relay's operator; run `interlog join` again once fixed")]
    TamperedSnapshot { device: String },
    #[error("a record from device {device} (seq {seq}) could not be applied: {detail}; nothing after it was applied")]
    Unapplicable {
        device: String,
        seq: u64,
        detail: String,
    },
    #[error(
        "the relay sent an unexpected {0} frame; is it an Interlog relay of the same version?"
    )]
    Protocol(String),
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("this device is not a member of a vault on a relay yet: run `interlog sync --relay URL` to start syncing, or `interlog join CODE` to join a vault")]
    NotConfigured,
    #[error("{0}")]
    Other(String),
}

/// What a sync did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    pub pushed: usize,
    pub pulled: usize,
    pub snapshot_uploaded: bool,
    pub devices: Vec<DeviceInfo>,
}

/// The wire device id of a store's device.
pub fn device_name(device_id: &[u8]) -> String {
    hex::encode(device_id)
}

/// An authenticated connection to the relay for one vault and device.
pub struct Session {
    conn: Connection,
    /// Live records that arrived while waiting for an acknowledgement.
    pending: std::collections::VecDeque<Frame>,
    /// A record sent by [`Self::send_early`] whose acknowledgement is still
    /// to be awaited, by the push that finds it in the outbox.
    early: Option<(String, u64)>,
    vault: String,
    device: String,
    keys: Derived,
    pub devices: Vec<DeviceInfo>,
}

impl Session {
    /// Connects, says hello and waits for the welcome.
    pub async fn open(
        membership: &Membership,
        device: &str,
        register: bool,
        invite: Option<String>,
    ) -> Result<Session, SyncError> {
        Self::open_then(membership, device, register, invite, &[]).await
    }

    /// [`Self::open`], sending `then` right behind the hello instead of after
    /// the welcome: the relay handles frames in order, so a request that does
    /// not depend on the welcome saves a round trip.
    pub async fn open_then(
        membership: &Membership,
        device: &str,
        register: bool,
        invite: Option<String>,
        then: &[Frame],
    ) -> Result<Session, SyncError> {
        let keys = membership.key.derive();
        let mut conn = Connection::connect(&membership.relay, membership.pin).await?;
        let hello = Frame::Hello {
            version: wire::PROTOCOL_VERSION,
            capabilities: vec!["snapshot".into(), "live".into()],
            vault: membership.vault.clone(),
            device: device.to_string(),
            token: ByteBuf::from(keys.token.to_vec()),
            register,
            invite,
        };
        let frames: Vec<&Frame> = std::iter::once(&hello).chain(then).collect();
        conn.send_all(&frames).await?;
        match conn.recv(TIMEOUT).await? {
            Frame::Welcome {
                version, devices, ..
            } => {
                wire::check_version(version)?;
                Ok(Session {
                    conn,
                    pending: Default::default(),
                    early: None,
                    vault: membership.vault.clone(),
                    device: device.to_string(),
                    keys,
                    devices,
                })
            }
            other => Err(unexpected(other)),
        }
    }

    pub async fn send(&mut self, frame: &Frame) -> Result<(), SyncError> {
        self.conn.send(frame).await
    }

    /// Ends the session with a closing handshake.
    pub async fn close(mut self) {
        self.conn.close().await;
    }

    pub async fn recv(&mut self, timeout: Duration) -> Result<Frame, SyncError> {
        if let Some(f) = self.pending.pop_front() {
            return Ok(f);
        }
        match self.conn.recv(timeout).await? {
            Frame::Error { code, message } => Err(refused(code, message)),
            other => Ok(other),
        }
    }

    /// Pushes this device's unpushed changes: first a record left in the
    /// outbox by an interrupted sync (or staged by another command, see
    /// [`stage`]), then a new one. Returns records pushed.
    pub async fn push<S: Storage>(&mut self, v: &mut Vault<S>) -> Result<usize, SyncError> {
        let mut state = SyncState::load(v.storage())?;
        let mut pushed = 0;
        if let Some(outbox) = state.outbox.clone() {
            self.append(&outbox.record).await?;
            state.finish_push(&outbox);
            state.save(v.storage_mut())?;
            pushed += 1;
        }
        let Some(outbox) = stage_with(&self.keys, &self.vault, &self.device, v, &mut state)? else {
            return Ok(pushed);
        };
        self.append(&outbox.record).await?;
        state.finish_push(&outbox);
        state.save(v.storage_mut())?;
        Ok(pushed + 1)
    }

    /// Sends a record that another command staged in the outbox (see
    /// [`stage`]) before this process has opened the store to see it: the
    /// next [`Self::push`] finds it there and only awaits its
    /// acknowledgement. If the record is not what the outbox holds, that
    /// push sends the outbox's record anyway.
    pub async fn send_early(&mut self, record: Record) -> Result<(), SyncError> {
        let key = (record.device.clone(), record.seq);
        self.send(&Frame::Append { record }).await?;
        self.early = Some(key);
        Ok(())
    }

    async fn append(&mut self, record: &Record) -> Result<(), SyncError> {
        let sent = self.early.take() == Some((record.device.clone(), record.seq));
        if !sent {
            self.send(&Frame::Append {
                record: record.clone(),
            })
            .await?;
        }
        self.await_reply(|f| matches!(f, Frame::Ack { device, seq } if *device == record.device && *seq == record.seq))
            .await
    }

    /// Waits for the frame `is_reply` accepts, keeping live records that
    /// arrive meanwhile for the next `recv`.
    async fn await_reply(&mut self, is_reply: impl Fn(&Frame) -> bool) -> Result<(), SyncError> {
        loop {
            let f = match self.conn.recv(TIMEOUT).await? {
                Frame::Error { code, message } => return Err(refused(code, message)),
                f => f,
            };
            if is_reply(&f) {
                return Ok(());
            }
            match f {
                Frame::Records { .. } => self.pending.push_back(f),
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Opens a record from another device, checking where it claims to be from.
    pub fn open_record(&self, r: &Record) -> Result<Vec<u8>, SyncError> {
        open_record(&self.keys, &self.vault, r)
    }

    /// Opens a snapshot, checking its vault, device, id and covers.
    pub fn open_snapshot(&self, s: &Snapshot) -> Result<Vec<u8>, SyncError> {
        let aad = crypto::snapshot_aad(&self.vault, &s.device, s.id, &s.covers);
        self.keys
            .open(&aad, &s.payload)
            .map_err(|_| SyncError::TamperedSnapshot {
                device: s.device.clone(),
            })
    }

    /// Applies records to the vault in order, advancing and persisting each
    /// device's cursor after its record is flushed. Records at or below a
    /// cursor (already applied) are skipped. While nothing local waits to be
    /// pushed, the pushed heads move along with each record, in the same
    /// save as its cursor: a sync cut off midway then never sends what it
    /// received back to the relay.
    pub fn apply<S: Storage>(
        &self,
        v: &mut Vault<S>,
        state: &mut SyncState,
        records: &[Record],
    ) -> Result<usize, SyncError> {
        let mut applied = 0;
        for r in records {
            let cursor = state.cursors.get(&r.device).copied().unwrap_or(0);
            if r.device == self.device || r.seq <= cursor {
                continue;
            }
            if r.seq != cursor + 1 {
                return Err(SyncError::Unapplicable {
                    device: r.device.clone(),
                    seq: r.seq,
                    detail: format!("record {} of that device is missing", cursor + 1),
                });
            }
            let chunk = self.open_record(r)?;
            let nothing_to_push = all_pushed(v, state);
            v.apply_remote(&chunk)
                .map_err(|e| SyncError::Unapplicable {
                    device: r.device.clone(),
                    seq: r.seq,
                    detail: e.to_string(),
                })?;
            if nothing_to_push {
                state.pushed_heads = v.doc.heads();
                state.clean_at = Some(v.storage().last_seq()?);
            }
            state.cursors.insert(r.device.clone(), r.seq);
            state.since_snapshot += 1;
            state.save(v.storage_mut())?;
            applied += 1;
        }
        Ok(applied)
    }

    /// Seals and uploads a snapshot of the whole vault, covering this
    /// device's pushed records and every cursor.
    pub async fn upload_snapshot<S: Storage>(&mut self, v: &mut Vault<S>) -> Result<(), SyncError> {
        let mut state = SyncState::load(v.storage())?;
        let mut covers = state.cursors.clone();
        covers.insert(self.device.clone(), state.next_seq - 1);
        let id = state.snapshot_id + 1;
        let aad = crypto::snapshot_aad(&self.vault, &self.device, id, &covers);
        let payload = ByteBuf::from(self.keys.seal(&aad, &v.doc.save())?);
        self.send(&Frame::Snapshot {
            snapshot: Snapshot {
                device: self.device.clone(),
                id,
                covers,
                payload,
            },
        })
        .await?;
        self.await_reply(|f| matches!(f, Frame::SnapshotAck { id: acked } if *acked == id))
            .await?;
        state.snapshot_id = id;
        state.since_snapshot = 0;
        state.save(v.storage_mut())?;
        Ok(())
    }
}

/// Seals this device's changes that are not on the relay yet as its next
/// record and stores it in the outbox, durably, so that a process holding a
/// connection can send it at once (`Session::send_early`) without opening
/// the store first. Does nothing if a record already waits in the outbox or
/// nothing is unpushed. Returns the staged record.
pub fn stage<S: Storage>(
    membership: &Membership,
    v: &mut Vault<S>,
) -> Result<Option<Record>, SyncError> {
    let mut state = SyncState::load(v.storage())?;
    if state.outbox.is_some() {
        return Ok(None);
    }
    let device = device_name(v.device_id());
    let keys = membership.key.derive();
    Ok(stage_with(&keys, &membership.vault, &device, v, &mut state)?.map(|o| o.record))
}

/// The outbox for the changes after the pushed heads, saved before it is
/// returned (a retry must resend these exact bytes); `None` if there are
/// none.
fn stage_with<S: Storage>(
    keys: &Derived,
    vault: &str,
    device: &str,
    v: &mut Vault<S>,
    state: &mut SyncState,
) -> Result<Option<state::Outbox>, SyncError> {
    let heads = v.doc.heads();
    let chunk = v.doc.save_after(&state.pushed_heads);
    if chunk.is_empty() {
        return Ok(None);
    }
    let record = seal_record(keys, vault, device, state.next_seq, &chunk)?;
    let outbox = state::Outbox::new(record, &heads);
    state.outbox = Some(outbox.clone());
    state.save(v.storage_mut())?;
    Ok(Some(outbox))
}

/// Seals a chunk as record `seq` of `device`'s log in `vault`.
pub fn seal_record(
    keys: &Derived,
    vault: &str,
    device: &str,
    seq: u64,
    chunk: &[u8],
) -> Result<Record, SyncError> {
    let aad = crypto::record_aad(vault, device, seq, RecordKind::Change);
    Ok(Record {
        device: device.to_string(),
        seq,
        kind: RecordKind::Change,
        payload: ByteBuf::from(keys.seal(&aad, chunk)?),
    })
}

/// Opens a record, checking that it is the record it claims to be: this
/// vault, that device, that seq, that kind.
pub fn open_record(keys: &Derived, vault: &str, r: &Record) -> Result<Vec<u8>, SyncError> {
    let aad = crypto::record_aad(vault, &r.device, r.seq, r.kind);
    keys.open(&aad, &r.payload)
        .map_err(|_| SyncError::Tampered {
            device: r.device.clone(),
            seq: r.seq,
        })
}

fn unexpected(f: Frame) -> SyncError {
    match f {
        Frame::Error { code, message } => refused(code, message),
        other => SyncError::Protocol(
            format!("{other:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or("?")
                .to_string(),
        ),
    }
}

fn refused(code: String, message: String) -> SyncError {
    match code.as_str() {
        codes::AUTH if message.contains("invite") => SyncError::Refused { code, message },
        codes::AUTH => SyncError::WrongKey(message),
        codes::DEVICE_ID_REUSED => SyncError::DeviceIdReused(message),
        _ => SyncError::Refused { code, message },
    }
}

/// One-shot sync: push, pull everything missing, report.
pub async fn sync_once<S: Storage>(
    v: &mut Vault<S>,
    membership: &Membership,
    invite: Option<String>,
    force_snapshot: bool,
) -> Result<Report, SyncError> {
    let device = device_name(v.device_id());
    let registered = SyncState::load(v.storage())?.registered;
    let mut session = Session::open(membership, &device, !registered, invite).await?;
    if !registered {
        let mut state = SyncState::load(v.storage())?;
        state.registered = true;
        state.save(v.storage_mut())?;
    }
    let pushed = session.push(v).await?;
    let pulled = pull(&mut session, v).await?;
    let mut report = Report {
        pushed,
        pulled,
        snapshot_uploaded: false,
        devices: session.devices.clone(),
    };
    if force_snapshot || SyncState::load(v.storage())?.since_snapshot >= SNAPSHOT_EVERY {
        session.upload_snapshot(v).await?;
        report.snapshot_uploaded = true;
    }
    session.close().await;
    Ok(report)
}

/// A store, opened as a [`Vault`] only once its document was needed.
pub enum Opened<S: Storage> {
    Store(S),
    Vault(Box<Vault<S>>),
}

impl<S: Storage> Opened<S> {
    pub fn storage_mut(&mut self) -> &mut S {
        match self {
            Opened::Store(s) => s,
            Opened::Vault(v) => v.storage_mut(),
        }
    }

    /// The vault, loading the document if that has not happened yet.
    pub fn into_vault(self) -> Result<Vault<S>, StoreError> {
        match self {
            Opened::Store(s) => Vault::open(s),
            Opened::Vault(v) => Ok(*v),
        }
    }
}

/// One-shot sync of the vault in `store`, loading its document only when
/// needed. When nothing was written since the last sync left every local
/// change on the relay (see [`SyncState::clean_at`]) there is nothing to
/// push: it sends `sync` right behind `hello`, one round trip, and loads the
/// document only if records arrive. Otherwise it is [`sync_once`].
/// Failing to open the vault is the outer error; the sync's own outcome is
/// returned with the store, so the caller can record it there.
pub async fn sync_store<S: Storage>(
    store: S,
    membership: &Membership,
    invite: Option<String>,
    force_snapshot: bool,
) -> Result<(Opened<S>, Result<Report, SyncError>), StoreError> {
    let state = SyncState::load(&store)?;
    let clean = !force_snapshot && state.is_clean(store.last_seq()?);
    let device_id = store.get_meta("device_id")?;
    let (true, Some(device_id)) = (clean, device_id) else {
        let mut v = Vault::open(store)?;
        let r = sync_once(&mut v, membership, invite, force_snapshot).await;
        return Ok((Opened::Vault(Box::new(v)), r));
    };
    sync_clean(store, state, &device_name(&device_id), membership).await
}

/// A sync with nothing to push, from a store's [`CleanStamp`] alone: asks
/// the relay for news in one round trip. `Ok(None)` when records arrived,
/// which need the document: the caller then syncs with the store opened
/// ([`sync_store`]), which asks again.
pub async fn sync_stamped(
    stamp: &CleanStamp,
    membership: &Membership,
) -> Result<Option<Report>, SyncError> {
    if stamp.vault != membership.vault {
        return Ok(None);
    }
    let (session, news) = ask_news(membership, &stamp.device, &stamp.cursors).await?;
    let report = news.is_none().then(|| Report {
        devices: session.devices.clone(),
        ..Report::default()
    });
    session.close().await;
    Ok(report)
}

/// Says hello with `sync` right behind it, and reads the answer up to the
/// first records this device lacks (returned, the rest of the answer still
/// to read) or to `caught_up` (`None`).
async fn ask_news(
    membership: &Membership,
    device: &str,
    cursors: &BTreeMap<String, u64>,
) -> Result<(Session, Option<Vec<Record>>), SyncError> {
    let ask = Frame::Sync {
        cursors: cursors.clone(),
        live: false,
        want_snapshot: false,
    };
    let mut session = Session::open_then(membership, device, false, None, &[ask]).await?;
    loop {
        match session.recv(TIMEOUT).await {
            Ok(Frame::Records { records }) => {
                let new = records.iter().any(|r| {
                    r.device != device && r.seq > cursors.get(&r.device).copied().unwrap_or(0)
                });
                if new {
                    return Ok((session, Some(records)));
                }
            }
            Ok(Frame::CaughtUp) => return Ok((session, None)),
            Ok(Frame::Snapshot { .. }) => {}
            other => {
                session.close().await;
                return Err(other.map_or_else(|e| e, unexpected));
            }
        }
    }
}

/// [`sync_store`] when there is nothing to push.
async fn sync_clean<S: Storage>(
    store: S,
    mut state: SyncState,
    device: &str,
    membership: &Membership,
) -> Result<(Opened<S>, Result<Report, SyncError>), StoreError> {
    let mut opened = Opened::Store(store);
    let (mut session, news) = match ask_news(membership, device, &state.cursors).await {
        Ok(asked) => asked,
        Err(e) => return Ok((opened, Err(e))),
    };
    let mut report = Report {
        devices: session.devices.clone(),
        ..Report::default()
    };
    let outcome = match news {
        None => Ok(report),
        Some(records) => {
            // Something to apply: now the document is needed.
            let mut v = Box::new(opened.into_vault()?);
            let applied = apply_news(&mut session, &mut v, &mut state, records, &mut report).await;
            opened = Opened::Vault(v);
            applied.map(|()| report)
        }
    };
    session.close().await;
    Ok((opened, outcome))
}

/// [`sync_clean`] once records arrived: applies them and the rest of the
/// answer up to `caught_up`; then, as nothing was unpushed, every change
/// here is on the relay.
async fn apply_news<S: Storage>(
    session: &mut Session,
    v: &mut Vault<S>,
    state: &mut SyncState,
    mut records: Vec<Record>,
    report: &mut Report,
) -> Result<(), SyncError> {
    loop {
        report.pulled += session.apply(v, state, &records)?;
        records = loop {
            match session.recv(TIMEOUT).await? {
                Frame::Records { records } => break records,
                Frame::Snapshot { .. } => {}
                Frame::CaughtUp => {
                    state.pushed_heads = v.doc.heads();
                    state.clean_at = Some(v.storage().last_seq()?);
                    state.save(v.storage_mut())?;
                    if state.since_snapshot >= SNAPSHOT_EVERY {
                        session.upload_snapshot(v).await?;
                        report.snapshot_uploaded = true;
                    }
                    return Ok(());
                }
                other => return Err(unexpected(other)),
            }
        };
    }
}

/// Applies live records: pushes local changes first (the caller holds the
/// store), then applies, so the pushed heads can move to the current heads.
pub async fn apply_live<S: Storage>(
    session: &mut Session,
    v: &mut Vault<S>,
    records: &[Record],
) -> Result<(usize, usize), SyncError> {
    let pushed = session.push(v).await?;
    let mut state = SyncState::load(v.storage())?;
    let all_pushed = all_pushed(v, &state);
    let applied = session.apply(v, &mut state, records)?;
    // Each applied record saved the state, clean mark included; only with
    // none applied is there something left to record.
    if all_pushed && applied == 0 {
        state.pushed_heads = v.doc.heads();
        state.clean_at = Some(v.storage().last_seq()?);
        state.save(v.storage_mut())?;
    }
    Ok((pushed, applied))
}

/// Whether every local change is on the relay: then, after applying records
/// from the relay, the pushed heads can move to the current heads (the
/// relay has all of those changes too).
fn all_pushed<S: Storage>(v: &mut Vault<S>, state: &SyncState) -> bool {
    state.outbox.is_none() && v.doc.heads() == state.pushed_heads
}

/// Asks for everything missing and applies it. When every local change was
/// pushed before (as `sync_once` does), the pushed heads then move to the
/// current heads; otherwise the next push still sends the local changes.
pub async fn pull<S: Storage>(session: &mut Session, v: &mut Vault<S>) -> Result<usize, SyncError> {
    let mut state = SyncState::load(v.storage())?;
    let all_pushed = all_pushed(v, &state);
    session
        .send(&Frame::Sync {
            cursors: state.cursors.clone(),
            live: false,
            want_snapshot: false,
        })
        .await?;
    let mut pulled = 0;
    loop {
        match session.recv(TIMEOUT).await? {
            Frame::Records { records } => pulled += session.apply(v, &mut state, &records)?,
            Frame::CaughtUp => break,
            Frame::Snapshot { .. } => {} // only sent when asked for
            other => return Err(unexpected(other)),
        }
    }
    // Every change beyond the pushed heads now came from the relay.
    if all_pushed {
        state.pushed_heads = v.doc.heads();
        state.clean_at = Some(v.storage().last_seq()?);
    }
    state.save(v.storage_mut())?;
    Ok(pulled)
}

/// Joins a vault from a join code: fetches the newest snapshot and the
/// records after it, checks them, and only then creates the local store.
pub async fn join<S: Storage>(code: &JoinCode, store: S) -> Result<(Vault<S>, Report), SyncError> {
    let membership = code.membership();
    let device_id = crypto::random::<16>()?.to_vec();
    let device = device_name(&device_id);
    let mut session = Session::open(&membership, &device, false, None).await?;
    session
        .send(&Frame::Sync {
            cursors: BTreeMap::new(),
            live: false,
            want_snapshot: true,
        })
        .await?;
    let mut doc: Option<VaultDoc> = None;
    // The snapshot's document bytes, while nothing has been applied on top.
    let mut saved: Option<Vec<u8>> = None;
    let mut cursors: BTreeMap<String, u64> = BTreeMap::new();
    let mut pulled = 0;
    loop {
        match session.recv(TIMEOUT).await? {
            Frame::Snapshot { snapshot } => {
                let bytes = session.open_snapshot(&snapshot)?;
                let d = VaultDoc::load(Some(&bytes), []).map_err(|e| SyncError::Unapplicable {
                    device: snapshot.device.clone(),
                    seq: 0,
                    detail: e.to_string(),
                })?;
                doc = Some(d);
                saved = Some(bytes);
                cursors = snapshot.covers.clone();
            }
            Frame::Records { records } => {
                for r in records {
                    let cursor = cursors.get(&r.device).copied().unwrap_or(0);
                    if r.seq <= cursor {
                        continue;
                    }
                    let chunk = session.open_record(&r)?;
                    let d = match doc.as_mut() {
                        Some(d) => d,
                        None => doc.insert(
                            VaultDoc::load(None, [])
                                .map_err(|e| SyncError::Other(e.to_string()))?,
                        ),
                    };
                    d.apply_chunk(&chunk).map_err(|e| SyncError::Unapplicable {
                        device: r.device.clone(),
                        seq: r.seq,
                        detail: e.to_string(),
                    })?;
                    cursors.insert(r.device.clone(), r.seq);
                    saved = None;
                    pulled += 1;
                }
            }
            Frame::CaughtUp => break,
            other => return Err(unexpected(other)),
        }
    }
    let mut doc = doc.ok_or_else(|| SyncError::Other("the relay holds nothing for this vault yet: run `interlog sync` on a device of the vault first".into()))?;
    if doc.vault_id().as_deref() != Some(membership.vault.as_str()) {
        return Err(SyncError::WrongKey(
            "the relay's data belongs to another vault".into(),
        ));
    }
    // The sync state goes in before the vault id commits the vault, so a
    // join killed in between leaves either no vault (join again) or a
    // device that knows what it holds, and never one that would send the
    // whole vault back to the relay as its own first record.
    let mut store = store;
    let mut state = SyncState::load(&store)?;
    state.cursors = cursors;
    state.registered = true;
    state.pushed_heads = doc.heads();
    state.save(&mut store)?;
    let v = Vault::join_loaded(store, doc, saved, device_id)?;
    let devices = session.devices.clone();
    session.close().await;
    Ok((
        v,
        Report {
            pushed: 0,
            pulled,
            snapshot_uploaded: false,
            devices,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::VaultKey;

    #[test]
    fn tampered_moved_and_foreign_records_are_refused() {
        let key = VaultKey::generate().unwrap();
        let keys = key.derive();
        let good = seal_record(&keys, "vault", "dev-a", 3, b"changes").unwrap();
        assert_eq!(open_record(&keys, "vault", &good).unwrap(), b"changes");

        let mut flipped = good.clone();
        let last = flipped.payload.len() - 1;
        flipped.payload[last] ^= 0x01;
        let mut other_seq = good.clone();
        other_seq.seq = 4;
        let mut other_device = good.clone();
        other_device.device = "dev-b".into();
        let swapped_payload = Record {
            payload: seal_record(&keys, "vault", "dev-a", 2, b"older")
                .unwrap()
                .payload,
            ..good.clone()
        };
        for bad in [flipped, other_seq, other_device, swapped_payload] {
            assert!(
                matches!(
                    open_record(&keys, "vault", &bad),
                    Err(SyncError::Tampered { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            open_record(&keys, "another-vault", &good),
            Err(SyncError::Tampered { .. })
        ));
        let stranger = VaultKey::generate().unwrap().derive();
        assert!(matches!(
            open_record(&stranger, "vault", &good),
            Err(SyncError::Tampered { .. })
        ));
    }
}
