//! The relay client: end-to-end encrypted push, pull, live sync and joining.
//!
//! Each device appends to its own log of sealed records (vault, device, seq).
//! Pushing seals the changes since the heads this device last pushed
//! (`save_after`) as the next record, or as several ([`envelope`]) when
//! they are large; the sealed records are stored in the local outbox
//! *before* they are sent, so a retry after a crash resends the same bytes
//! and the relay's idempotent append acknowledges them again. Pulling sends
//! this device's cursors (the last seq applied from each device); a cursor
//! moves only after the record is applied and flushed, so an interrupted
//! sync resumes where it stopped. Protocol: docs/protocol.md.
//!
//! A relay is not trusted to be honest or alive. A one-shot sync ([`run`])
//! holds the store only for its local steps, never while it waits on the
//! network, and gives up when the relay stops making progress. A relay
//! that lost records it had acknowledged gets them again ([`Session::push`]);
//! one that serves less of another device's log than a sealed record says
//! exists is reported ([`Withheld`]).
//!
//! # Layout
//! - here: [`run`], the one way to sync a device, one-shot or live
//!   ([`Mode`]); [`Session`], one authenticated connection and its push,
//!   pull and apply steps; [`join`] and [`recover`]; sealing and opening
//!   records.
//! - `live`: the live loop [`run`] enters in [`Mode::Live`], and the
//!   session's live steps ([`Session::pull`], [`Session::apply_live`]).
//! - `local`: where a sync finds the device ([`Local`]): a vault held open,
//!   one opened only when needed ([`Reopening`]), or a sled store on disk
//!   with its clean stamp ([`OnDisk`]); and what happens on a device while
//!   a live sync waits ([`Happened`], [`News`]).
//! - `state`: what a device remembers about syncing ([`SyncState`]), and the
//!   clean stamp ([`CleanStamp`]).
//! - [`envelope`]: what a sealed record holds, and large changes split over
//!   several records.
//! - `conn`: the WebSocket connection, with a deadline on every wait.
//! - `membership`: the relay, its pin, the vault and its key; join codes.

mod conn;
pub mod envelope;
mod live;
mod local;
mod membership;
mod state;

use crate::doc::ReadJournal as _;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;

pub use conn::{plaintext_warning, Connection};
pub use local::{Happened, Local, News, OnDisk, Reopening};
pub use membership::{JoinCode, Membership};
pub use state::{CleanStamp, LastSync, SyncState, Withheld};

use crate::crypto::{self, CryptoError, Derived};
use crate::doc::VaultDoc;
use crate::store::{Storage, StoreError, Vault};
use crate::wire::{self, codes, DeviceInfo, Frame, RecordKind, SealedRecord, Snapshot};
use envelope::{Assembler, Envelope, Piece};

/// How long to wait for the relay to answer one request.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a one-shot sync waits for the relay to make progress (a
/// record it did not have, an acknowledgement, the end of the answer)
/// before it gives up. Pings and records it already had do not count.
pub const STALL: Duration = Duration::from_secs(60);

/// Upload a fresh snapshot once this many records arrived or left since the
/// last one, so new devices bootstrap from a recent state.
const SNAPSHOT_EVERY: u64 = 500;

/// Records a one-shot sync keeps in memory before it applies them.
const BUFFER_BYTES: usize = 64 * 1024 * 1024;

/// Appends sent before awaiting their acknowledgements.
const APPEND_WINDOW: usize = 64;

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
    #[error("the relay made no progress for {0:?} (it kept the connection open but sent nothing new, or stopped reading what this device sent); gave up. Your changes are safe on this device; run `interlog sync` again later, and tell the relay's operator if this persists")]
    Stalled(Duration),
    #[error("the relay refused: {message}")]
    Refused { code: String, message: String },
    #[error("the vault key on this device does not match the vault on the relay: {0}. To fix: run `interlog pair` on a device that syncs correctly and `interlog join CODE` here")]
    WrongKey(String),
    #[error("the relay holds no vault with this device's key ({0})")]
    UnknownVault(String),
    #[error("the relay holds different records under this device's id (a home restored from a backup, or copied from another device?): {0}. Nothing was lost: this device keeps everything it has. Keep this home as it is and see \"Restored backups\" in docs/reliability.md")]
    DeviceIdReused(String),
    #[error("a record from device {device} (seq {seq}) failed authentication: it was altered or does not belong here; nothing of it was applied. Tell the relay's operator; run `interlog sync` again once fixed")]
    Tampered { device: String, seq: u64 },
    #[error("the vault snapshot from device {device} failed authentication: it was altered or relabelled by the relay; nothing was applied. Tell the relay's operator; run `interlog join` again once fixed")]
    TamperedSnapshot { device: String },
    #[error("a record from device {device} (seq {seq}) could not be applied: {detail}; nothing after it from that device was applied")]
    Unapplicable {
        device: String,
        seq: u64,
        detail: String,
    },
    #[error(
        "the relay sent an unexpected {0} frame (is it an Interlog relay of the same version?); nothing of it was applied. Try again later, and tell the relay's operator if this persists"
    )]
    Protocol(String),
    #[error("the relay sent a frame this device refuses: {0}; nothing of it was applied. Try again later, and tell the relay's operator if this persists")]
    BadFrame(wire::WireError),
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

impl SyncError {
    /// Whether syncing again cannot fix this: a wrong key, a relay that is
    /// not the pinned one, a device id the relay knows from elsewhere, or
    /// records that were tampered with. A live sync stops on these instead
    /// of reconnecting.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SyncError::WrongKey(_)
                | SyncError::Tls {
                    problem: crate::tls::Problem::PinMismatch { .. },
                    ..
                }
                | SyncError::DeviceIdReused(_)
                | SyncError::Tampered { .. }
                | SyncError::TamperedSnapshot { .. }
        )
    }
}

/// What a sync did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    pub pushed: usize,
    pub pulled: usize,
    pub snapshot_uploaded: bool,
    pub devices: Vec<DeviceInfo>,
    /// Records of this device the relay had acknowledged but lost (a relay
    /// restored from a backup, or a forged acknowledgement), first and
    /// last seq: sent again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resent: Option<(u64, u64)>,
    /// Other devices' records known to exist that the relay did not serve.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<Withheld>,
    /// Why a join skipped the relay's newest snapshot and read the records
    /// instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_refused: Option<String>,
    /// The relay did not know the vault (wiped, or a new relay at its
    /// address): this device registered it again and sent everything it
    /// has.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reseeded: bool,
    /// This home was restored from a backup: it is a new device now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<Restored>,
    /// The relay the journal says the vault moved to (`interlog sync
    /// move`), when it is not the one this sync used: the device follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<MovedTo>,
}

impl Report {
    /// Warnings about what the relay lost or withholds, for a person.
    pub fn warnings(&self) -> Vec<String> {
        let short = |d: &str| crate::peer_id(d, 12);
        let mut out = Vec::new();
        if self.reseeded {
            out.push(
                "the relay did not know this vault (it was wiped, or is a new relay at this address): this device registered it again and sent everything it has; the other devices carry on by themselves at their next sync".to_string(),
            );
        }
        if let Some(r) = &self.restored {
            out.push(format!(
                "this home was restored from an older copy of itself: the relay held records {}–{} of its device {} that it did not remember writing. It is device {} now, read those records back, and kept everything written here since the restore",
                r.missed.0,
                r.missed.1,
                short(&r.old_device),
                short(&r.new_device),
            ));
        }
        if let Some((first, last)) = self.resent {
            out.push(format!(
                "the relay had lost records {first}–{last} of this device, which it had acknowledged (restored from a backup?); this device sent its whole journal again, so no device misses anything"
            ));
        }
        out.extend(self.withheld.iter().map(Withheld::to_string));
        if let Some(why) = &self.snapshot_refused {
            out.push(format!(
                "the relay's newest snapshot was refused ({why}); joined from the records instead"
            ));
        }
        out
    }
}

/// Where the vault moved, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MovedTo {
    pub relay: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

impl MovedTo {
    /// Where `doc` says the vault's devices meet, if not at `relay`.
    pub fn of(doc: &VaultDoc, relay: &str) -> Option<MovedTo> {
        let (url, pin) = doc.relay()?;
        (url != relay).then_some(MovedTo { relay: url, pin })
    }
}

/// A home that went back in time (restored from a backup): the relay holds
/// more of its device's log than it remembers sending. It became a new
/// device, and reads what its old self wrote after the backup like any
/// other device's records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    /// The device id the backup had, and the one this home has now.
    pub old_device: String,
    pub new_device: String,
    /// The old device's records written after the backup: read back.
    pub missed: (u64, u64),
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
    /// Split changes being reassembled.
    parts: Assembler,
    /// Devices whose logs stopped applying in this session, and why.
    blocked: BTreeMap<String, SyncError>,
    /// For a one-shot sync: how long the relay may go without progress,
    /// and until when it may now.
    stall: Option<(Duration, Instant)>,
    /// Seqs of this device that the relay had lost and got again.
    pub resent: Option<(u64, u64)>,
    /// The last seq of this device the relay holds: as its welcome said,
    /// then as it acknowledged.
    held: Option<u64>,
    /// This session registered the vault again (see [`Report::reseeded`]).
    reseeded: bool,
    /// Per device, how much of its log the whole documents received in
    /// this session hold (see [`envelope::Envelope::whole`]).
    covered: BTreeMap<String, u64>,
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
                let held = devices
                    .iter()
                    .find(|d| d.device == device)
                    .map(|d| d.last_seq);
                Ok(Session {
                    held,
                    conn,
                    pending: Default::default(),
                    early: None,
                    vault: membership.vault.clone(),
                    device: device.to_string(),
                    keys,
                    devices,
                    parts: Assembler::default(),
                    blocked: BTreeMap::new(),
                    stall: None,
                    resent: None,
                    reseeded: false,
                    covered: BTreeMap::new(),
                })
            }
            other => Err(unexpected(other)),
        }
    }

    /// From now on, gives up with [`SyncError::Stalled`] when the relay
    /// makes no progress for `limit` (see [`STALL`]), or takes more than
    /// [`conn::SEND_STALLS`] times `limit` to read what this device sends.
    pub fn stall_after(&mut self, limit: Duration) {
        self.stall = Some((limit, Instant::now() + limit));
        self.conn.stall_after(limit);
    }

    /// The relay made progress: the stall clock starts again.
    fn progressed(&mut self) {
        if let Some((limit, until)) = &mut self.stall {
            *until = Instant::now() + *limit;
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
        match self.recv_raw(timeout).await? {
            Frame::Error { code, message } => Err(refused(code, message)),
            other => Ok(other),
        }
    }

    /// The next frame from the connection, within `timeout` and the stall
    /// limit.
    async fn recv_raw(&mut self, timeout: Duration) -> Result<Frame, SyncError> {
        let Some((limit, until)) = self.stall else {
            return self.conn.recv(timeout).await;
        };
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.conn.recv(timeout)).await {
            Ok(frame) => frame,
            Err(_) => Err(SyncError::Stalled(limit)),
        }
    }

    /// The last seq of this device the relay holds, as its welcome said or
    /// it acknowledged since; `None` if the welcome did not list this
    /// device.
    fn held_by_relay(&self) -> Option<u64> {
        self.held
    }

    /// The relay acknowledged record `seq` of this device.
    fn acknowledged(&mut self, seq: u64) {
        self.held = Some(self.held.unwrap_or(0).max(seq));
        self.progressed();
    }

    /// Records of this device the relay acknowledged once and no longer
    /// holds: `(first, last)`. `held` is what it holds.
    fn lost(&self, state: &SyncState) -> Option<(u64, u64)> {
        let acked = state.next_seq - 1;
        let held = self.held_by_relay().unwrap_or(0);
        (state.registered && held < acked).then_some((held + 1, acked))
    }

    /// When the relay lost records it had acknowledged, prepares to send
    /// them again: this device does not keep its old records, so the lost
    /// seqs are refilled with placeholders (a device that had them skips
    /// them, one that did not applies nothing), and the whole document
    /// follows as the next record, so every device gets every change.
    /// A vault registered again (see [`Report::reseeded`]) gets the whole
    /// document too, even from a device that had sent nothing: the other
    /// devices' records are gone with the old relay. Saves the state first,
    /// so a crash midway repeats this. Returns the placeholders to send.
    ///
    /// Without `whole`, only the placeholders: the caller sends the whole
    /// document later if no other device's whole document covers this
    /// one's (see [`attempt`]).
    fn prepare_resend<S: Storage>(
        &mut self,
        v: &mut Vault<S>,
        state: &mut SyncState,
        whole: bool,
    ) -> Result<Vec<SealedRecord>, SyncError> {
        let lost = self.lost(state);
        if lost.is_none() && !self.reseeded {
            return Ok(Vec::new());
        }
        if whole {
            state.push_all_again();
            state.save(v.storage_mut())?;
        }
        let Some((first, last)) = lost else {
            return Ok(Vec::new());
        };
        self.resent = Some((first, last));
        let reach = self.reach(state, last);
        (first..=last)
            .map(|seq| {
                let e = Envelope {
                    reach: reach.clone(),
                    ..Envelope::default()
                };
                seal_envelope(&self.keys, &self.vault, &self.device, seq, &e)
            })
            .collect()
    }

    /// Whether the relay holds every change this device had when `plan`
    /// was made, its own included, although it lost records of this device:
    /// each log as far as this device had it is held on the relay, or in a
    /// whole document received in this session (placeholders hold nothing,
    /// so this device's own log always needs one).
    fn holds_everything(&self, plan: &Plan) -> bool {
        let covered = |d: &str| self.covered.get(d).copied().unwrap_or(0);
        let held = |d: &str| {
            self.devices
                .iter()
                .find(|i| i.device == d)
                .map_or(0, |i| i.last_seq)
        };
        covered(&plan.device) >= plan.acked
            && plan
                .cursors
                .iter()
                .all(|(d, &seq)| covered(d) >= seq || held(d) >= seq)
    }

    /// What this device has seen of every log, for a record it seals as
    /// `seq`.
    fn reach(&self, state: &SyncState, seq: u64) -> BTreeMap<String, u64> {
        reach(&self.device, state, seq)
    }

    /// Pushes this device's unpushed changes: records the relay lost (see
    /// [`Self::prepare_resend`]), a change left in the outbox by an
    /// interrupted sync (or staged by another command, see [`stage`]), then
    /// a new one. Returns records pushed.
    pub async fn push<S: Storage>(&mut self, v: &mut Vault<S>) -> Result<usize, SyncError> {
        let mut state = SyncState::load(v.storage())?;
        let resend = self.prepare_resend(v, &mut state, true)?;
        self.append_all(&resend).await?;
        let Some(outbox) = stage_with(&self.keys, &self.vault, &self.device, v, &mut state)? else {
            return Ok(resend.len());
        };
        let records: Vec<SealedRecord> = outbox.records().cloned().collect();
        self.append_all(&records).await?;
        state.finish_push(&outbox);
        state.save(v.storage_mut())?;
        Ok(resend.len() + records.len())
    }

    /// Sends a record that another command staged in the outbox (see
    /// [`stage`]) before this process has opened the store to see it: the
    /// next [`Self::push`] finds it there and only awaits its
    /// acknowledgement. If the record is not what the outbox holds, that
    /// push sends the outbox's record anyway.
    pub async fn send_early(&mut self, record: SealedRecord) -> Result<(), SyncError> {
        let key = (record.device.clone(), record.seq);
        self.send(&Frame::Append { record }).await?;
        self.early = Some(key);
        Ok(())
    }

    /// Appends `records` in order, a window at a time, and awaits each
    /// acknowledgement.
    async fn append_all(&mut self, records: &[SealedRecord]) -> Result<(), SyncError> {
        for window in records.chunks(APPEND_WINDOW) {
            let early = self.early.take();
            let frames: Vec<Frame> = window
                .iter()
                .filter(|r| early.as_ref() != Some(&(r.device.clone(), r.seq)))
                .map(|r| Frame::Append { record: r.clone() })
                .collect();
            self.conn
                .send_all(&frames.iter().collect::<Vec<_>>())
                .await?;
            for r in window {
                self.await_reply(|f| matches!(f, Frame::Ack { device, seq } if *device == r.device && *seq == r.seq))
                    .await?;
                self.acknowledged(r.seq);
            }
        }
        Ok(())
    }

    /// Waits for the frame `is_reply` accepts, keeping live records that
    /// arrive meanwhile for the next `recv`.
    async fn await_reply(&mut self, is_reply: impl Fn(&Frame) -> bool) -> Result<(), SyncError> {
        loop {
            let f = match self.recv_raw(TIMEOUT).await? {
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
    pub fn open_record(&self, r: &SealedRecord) -> Result<Vec<u8>, SyncError> {
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
    ///
    /// A record that does not open or apply stops its device's log for the
    /// rest of the session; the other devices' records still apply, and
    /// [`Self::finish`] reports the failure.
    pub fn apply<S: Storage>(
        &mut self,
        v: &mut Vault<S>,
        state: &mut SyncState,
        records: &[SealedRecord],
    ) -> Result<usize, SyncError> {
        let mut applied = 0;
        for r in records {
            if r.device == self.device || self.blocked.contains_key(&r.device) {
                continue;
            }
            let cursor = state.cursors.get(&r.device).copied().unwrap_or(0);
            let next = self.parts.next_seq(&r.device).unwrap_or(cursor + 1);
            if r.seq < next {
                continue;
            }
            match self.apply_one(v, state, r, next) {
                Ok(n) => applied += n,
                Err(SyncError::Store(e)) => return Err(SyncError::Store(e)),
                Err(e) => {
                    self.parts.drop_device(&r.device);
                    self.blocked.insert(r.device.clone(), e);
                }
            }
        }
        Ok(applied)
    }

    fn apply_one<S: Storage>(
        &mut self,
        v: &mut Vault<S>,
        state: &mut SyncState,
        r: &SealedRecord,
        next: u64,
    ) -> Result<usize, SyncError> {
        let piece = take(
            &self.keys,
            &self.vault,
            &mut self.parts,
            &mut state.known,
            &mut self.covered,
            r,
            next,
        )?;
        self.progressed();
        let chunk = match piece {
            Piece::Fragment => return Ok(0),
            Piece::Placeholder => None,
            Piece::Chunk(chunk) => Some(chunk),
        };
        let unapplicable = |detail: String| SyncError::Unapplicable {
            device: r.device.clone(),
            seq: r.seq,
            detail,
        };
        let nothing_to_push = state.all_pushed(v);
        if let Some(chunk) = chunk {
            v.apply_remote(&chunk)
                .map_err(|e| unapplicable(e.to_string()))?;
        }
        if nothing_to_push {
            state.mark_pushed(v)?;
        }
        state.cursors.insert(r.device.clone(), r.seq);
        state.since_snapshot += 1;
        state.save(v.storage_mut())?;
        Ok(1)
    }

    /// After the relay caught up: the first device log that stopped
    /// applying, as an error; otherwise the logs the relay served less of
    /// than is known to exist.
    pub fn finish(&mut self, state: &SyncState) -> Result<Vec<Withheld>, SyncError> {
        if let Some(device) = self.blocked.keys().next().cloned() {
            if let Some(e) = self.blocked.remove(&device) {
                return Err(e);
            }
        }
        Ok(state.withheld(&self.device))
    }

    /// Seals and uploads a snapshot of the whole vault, covering this
    /// device's pushed records and every cursor.
    pub async fn upload_snapshot<S: Storage>(&mut self, v: &mut Vault<S>) -> Result<(), SyncError> {
        let state = SyncState::load(v.storage())?;
        let snapshot = self.seal_snapshot(v, &state)?;
        let id = snapshot.id;
        self.send_snapshot(snapshot).await?;
        snapshot_sent(v, id)
    }

    /// A sealed snapshot of the whole vault as it is now.
    fn seal_snapshot<S: Storage>(
        &self,
        v: &mut Vault<S>,
        state: &SyncState,
    ) -> Result<Snapshot, SyncError> {
        let mut covers = state.cursors.clone();
        if self.reseeded {
            // The relay holds only what was sent since it was registered
            // again, and refuses a snapshot that claims more.
            for (device, seq) in covers.iter_mut() {
                let held = self.devices.iter().find(|d| &d.device == device);
                *seq = (*seq).min(held.map_or(0, |d| d.last_seq));
            }
            covers.retain(|_, seq| *seq > 0);
        }
        covers.insert(self.device.clone(), state.next_seq - 1);
        let id = state.snapshot_id + 1;
        let aad = crypto::snapshot_aad(&self.vault, &self.device, id, &covers);
        let payload = ByteBuf::from(self.keys.seal(&aad, &v.doc.save())?);
        Ok(Snapshot {
            device: self.device.clone(),
            id,
            covers,
            payload,
        })
    }

    async fn send_snapshot(&mut self, snapshot: Snapshot) -> Result<(), SyncError> {
        let id = snapshot.id;
        self.send(&Frame::Snapshot { snapshot }).await?;
        self.await_reply(|f| matches!(f, Frame::SnapshotAck { id: acked, .. } if *acked == id))
            .await
    }
}

/// Takes record `r` of another device, expected as seq `next` of its log:
/// opens it, learns its reach into `known`, and reassembles a split change.
/// A [`Piece::Chunk`] holds Automerge changes.
/// A complete whole document (see [`Envelope::whole`]) also raises
/// `covered` to its reach.
fn take(
    keys: &Derived,
    vault: &str,
    parts: &mut Assembler,
    known: &mut BTreeMap<String, u64>,
    covered: &mut BTreeMap<String, u64>,
    r: &SealedRecord,
    next: u64,
) -> Result<Piece, SyncError> {
    let unapplicable = |detail: String| SyncError::Unapplicable {
        device: r.device.clone(),
        seq: r.seq,
        detail,
    };
    if r.seq != next {
        return Err(unapplicable(format!(
            "record {next} of that device is missing"
        )));
    }
    let e = open_envelope(keys, vault, r)?;
    learn(known, &e.reach);
    let whole = e.whole.then(|| e.reach.clone());
    match parts.take(&r.device, r.seq, e).map_err(unapplicable)? {
        Piece::Chunk(chunk) if !envelope::is_automerge(&chunk) => {
            Err(unapplicable("it holds no Automerge changes".into()))
        }
        piece => {
            if let (Piece::Chunk(_), Some(reach)) = (&piece, whole) {
                learn(covered, &reach);
            }
            Ok(piece)
        }
    }
}

/// Records that the relay stored snapshot `id`.
fn snapshot_sent<S: Storage>(v: &mut Vault<S>, id: u64) -> Result<(), SyncError> {
    let mut state = SyncState::load(v.storage())?;
    state.snapshot_id = state.snapshot_id.max(id);
    state.since_snapshot = 0;
    state.save(v.storage_mut())?;
    Ok(())
}

/// What `device` has seen of every log, for a record it seals as `seq`.
fn reach(device: &str, state: &SyncState, seq: u64) -> BTreeMap<String, u64> {
    let mut reach = state.cursors.clone();
    reach.insert(device.to_string(), seq);
    reach
}

/// Seals this device's changes that are not on the relay yet as its next
/// record and stores it in the outbox, durably, so that a process holding a
/// connection can send it at once (`Session::send_early`) without opening
/// the store first. Does nothing if a record already waits in the outbox or
/// nothing is unpushed, and returns nothing for a change split over several
/// records (the watcher pushes those itself). Returns the staged record.
pub fn stage<S: Storage>(
    membership: &Membership,
    v: &mut Vault<S>,
) -> Result<Option<SealedRecord>, SyncError> {
    let mut state = SyncState::load(v.storage())?;
    if state.outbox.is_some() {
        return Ok(None);
    }
    let device = device_name(v.device_id());
    let keys = membership.key.derive();
    let staged = stage_with(&keys, &membership.vault, &device, v, &mut state)?;
    Ok(staged
        .filter(|o| o.records().count() == 1)
        .map(|o| o.record))
}

/// The outbox for the changes after the pushed heads: the outbox left by an
/// interrupted sync (or another command) with any change made since sealed
/// after it, or a new one. Saved before it is returned (a retry must resend
/// these exact bytes); `None` if nothing is unpushed.
fn stage_with<S: Storage>(
    keys: &Derived,
    vault: &str,
    device: &str,
    v: &mut Vault<S>,
    state: &mut SyncState,
) -> Result<Option<state::Outbox>, SyncError> {
    let heads = v.doc.heads();
    let (after, first) = match &state.outbox {
        Some(o) => (o.heads(), o.last_seq() + 1),
        None => (state.pushed_heads.clone(), state.next_seq),
    };
    let chunk = v.doc.save_after(&after);
    if chunk.is_empty() {
        return Ok(state.outbox.clone());
    }
    let too_large = || {
        SyncError::Other(format!(
            "the changes waiting to be sent are {} MiB, more than the {} MiB one sync can carry; nothing was sent or lost. Report this as a bug, with the command that made them",
            chunk.len() >> 20,
            envelope::MAX_ASSEMBLED_BYTES >> 20
        ))
    };
    let count = chunk.len().div_ceil(envelope::PART_BYTES).max(1) as u64;
    let reach = reach(device, state, first + count - 1);
    let mut parts = envelope::split(&chunk, &reach).ok_or_else(too_large)?;
    // Changes since no heads at all: the whole document.
    let whole = after.is_empty();
    for e in &mut parts {
        e.whole = whole;
    }
    let mut records = parts
        .iter()
        .zip(first..)
        .map(|(e, seq)| seal_envelope(keys, vault, device, seq, e))
        .collect::<Result<Vec<_>, _>>()?;
    let outbox = match state.outbox.take() {
        Some(o) => o.then(records, &heads),
        None => {
            let more = records.split_off(1);
            let Some(record) = records.pop() else {
                return Ok(None);
            };
            state::Outbox::new(record, more, &heads)
        }
    };
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
) -> Result<SealedRecord, SyncError> {
    seal_as(keys, vault, device, seq, RecordKind::Change, chunk)
}

/// Seals an envelope as record `seq` of `device`'s log in `vault`.
pub fn seal_envelope(
    keys: &Derived,
    vault: &str,
    device: &str,
    seq: u64,
    e: &Envelope,
) -> Result<SealedRecord, SyncError> {
    seal_as(
        keys,
        vault,
        device,
        seq,
        RecordKind::Envelope,
        &e.to_bytes(),
    )
}

/// Seals `plain` as record `seq` of `device`'s log in `vault`, of `kind`.
fn seal_as(
    keys: &Derived,
    vault: &str,
    device: &str,
    seq: u64,
    kind: RecordKind,
    plain: &[u8],
) -> Result<SealedRecord, SyncError> {
    let aad = crypto::record_aad(vault, device, seq, kind);
    Ok(SealedRecord {
        device: device.to_string(),
        seq,
        kind,
        payload: ByteBuf::from(keys.seal(&aad, plain)?),
    })
}

/// Opens a record as an envelope (a bare chunk in one, for an older
/// device's record).
pub fn open_envelope(keys: &Derived, vault: &str, r: &SealedRecord) -> Result<Envelope, SyncError> {
    Envelope::from_bytes(r.kind, open_record(keys, vault, r)?).map_err(|detail| {
        SyncError::Unapplicable {
            device: r.device.clone(),
            seq: r.seq,
            detail,
        }
    })
}

/// Opens a record, checking that it is the record it claims to be: this
/// vault, that device, that seq, that kind.
pub fn open_record(keys: &Derived, vault: &str, r: &SealedRecord) -> Result<Vec<u8>, SyncError> {
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

/// A relay's refusal. Its text is the relay's, so it is escaped: a lying
/// relay must not drive the terminal.
fn refused(code: String, message: String) -> SyncError {
    let code = crate::peer_text(&code, 40);
    let message = crate::peer_text(&message, 400);
    match code.as_str() {
        codes::AUTH if message.contains("invite") => SyncError::Refused { code, message },
        codes::AUTH => SyncError::WrongKey(message),
        codes::DEVICE_ID_REUSED => SyncError::DeviceIdReused(message),
        codes::UNKNOWN_VAULT => SyncError::UnknownVault(message),
        _ => SyncError::Refused { code, message },
    }
}

/// What a one-shot sync asks for and sends, decided before it connects.
struct Plan {
    device: String,
    registered: bool,
    cursors: BTreeMap<String, u64>,
    /// The records to append: a change left in (or just staged into) the
    /// outbox.
    outbox: Option<state::Outbox>,
    /// The last seq of this device the relay acknowledged.
    acked: u64,
    /// An outbox an earlier sync left (it may have reached the relay):
    /// the heads it brings the device to, and its last seq.
    leftover: Option<(Vec<automerge::ChangeHash>, u64)>,
    known: BTreeMap<String, u64>,
    /// Made from the clean stamp: nothing was due here but news.
    stamped: bool,
}

impl Plan {
    /// From the clean stamp, without opening the store, when it is valid
    /// for this membership.
    fn stamped(stamp: CleanStamp, membership: &Membership) -> Option<Plan> {
        (stamp.vault == membership.vault).then_some(Plan {
            device: stamp.device,
            registered: true,
            cursors: stamp.cursors,
            outbox: None,
            acked: stamp.acked,
            leftover: None,
            known: stamp.known,
            stamped: true,
        })
    }

    /// From the store: stages what is unpushed into the outbox first.
    fn staged<S: Storage>(v: &mut Vault<S>, membership: &Membership) -> Result<Plan, SyncError> {
        let device = device_name(v.device_id());
        let mut state = SyncState::load(v.storage())?;
        let leftover = state.outbox.as_ref().map(|o| (o.heads(), o.last_seq()));
        let keys = membership.key.derive();
        stage_with(&keys, &membership.vault, &device, v, &mut state)?;
        Ok(Plan {
            device,
            registered: state.registered,
            cursors: state.cursors.clone(),
            acked: state.next_seq - 1,
            leftover,
            outbox: state.outbox,
            known: state.known,
            stamped: false,
        })
    }
}

/// How [`run`] syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Push, pull everything missing, report.
    #[default]
    Once,
    /// A one-shot sync, then stay connected: records from the relay are
    /// applied as they come, and local changes pushed as the device says
    /// they happen ([`Local::wait`]). Ends with an error, or when the vault
    /// moved (the report's `moved_to`).
    Live,
}

/// What [`run`] is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// An invite code, for registering the vault on a relay that asks for
    /// one.
    pub invite: Option<String>,
    /// Upload a snapshot even if none is due (in a live sync, during the
    /// one-shot sync it starts with).
    pub force_snapshot: bool,
    /// How long the relay may go without progress in a one-shot sync.
    pub stall: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Once,
            invite: None,
            force_snapshot: false,
            stall: STALL,
        }
    }
}

/// Syncs the device's vault with the relay: the one entry point, one-shot
/// or live ([`Mode`]).
///
/// A one-shot sync pushes, pulls everything missing, and reports. The
/// store is taken only to stage what is unpushed, to record what the
/// relay acknowledged and to apply what it sent; it is released while the
/// sync waits on the network. When a clean stamp says nothing waits to be
/// pushed, the store is not even opened unless records arrive; a sync that
/// leaves the store clean leaves a new stamp ([`Local::leave_stamp`]). The
/// relay must make progress: a relay that stalls, pings forever or resends
/// what this device has ends the sync with [`SyncError::Stalled`] after
/// `stall`.
///
/// A live sync starts with a one-shot sync (without the stamp: a watcher
/// keeps the store), then stays connected (see the `live` module).
pub async fn run<S: Storage, L: Local<S>>(
    local: &mut L,
    membership: &Membership,
    options: Options,
) -> Result<Report, SyncError> {
    let Options {
        mode,
        invite,
        force_snapshot,
        stall,
    } = options;
    let live = mode == Mode::Live;
    let stamped = !live && !force_snapshot && invite.is_none();
    let report = once(local, membership, invite, force_snapshot, stamped, stall).await?;
    if !live {
        local.leave_stamp();
        return Ok(report);
    }
    local.tell(News::CaughtUp(&report))?;
    if report.moved_to.is_some() {
        return Ok(report);
    }
    match live::watch(local, membership).await? {}
}

/// The one-shot sync of [`run`]; `stamped` if it may start from the clean
/// stamp.
async fn once<S: Storage, L: Local<S>>(
    local: &mut L,
    membership: &Membership,
    invite: Option<String>,
    force_snapshot: bool,
    stamped: bool,
    stall: Duration,
) -> Result<Report, SyncError> {
    let mut restored = None;
    // A restore happens once at most (the new device's log is empty on the
    // relay); another process's push seen in the welcome, a few times.
    for _ in 0..4 {
        match attempt(
            local,
            membership,
            invite.clone(),
            force_snapshot,
            stamped,
            stall,
        )
        .await?
        {
            Attempt::Done(mut report) => {
                report.restored = restored;
                return Ok(report);
            }
            Attempt::Restored(r) if restored.is_none() => restored = Some(r),
            Attempt::Restored(_) | Attempt::Again => {}
        }
    }
    Err(SyncError::Other(
        "the relay kept listing more of this device's records than this home sent; nothing was changed here. Run `interlog sync` again, and if this persists, stop other syncs of this home".into(),
    ))
}

/// How one try of [`run`] ended.
enum Attempt {
    Done(Report),
    /// This home was restored from a backup and is a new device now: sync
    /// again as that device.
    Restored(Restored),
    /// The relay held more of this device's log than planned, because
    /// another process of this home sent it meanwhile: sync again.
    Again,
}

/// Opens the session for a one-shot sync. A relay that does not know the
/// vault (wiped, or a new relay at its address) gets it registered again,
/// with `invite` when it asks for one.
async fn open_for_sync(
    membership: &Membership,
    plan: &Plan,
    invite: Option<String>,
    ask: Frame,
) -> Result<Session, SyncError> {
    let first = Session::open_then(
        membership,
        &plan.device,
        !plan.registered,
        invite.clone(),
        std::slice::from_ref(&ask),
    )
    .await;
    match first {
        Err(SyncError::UnknownVault(_)) if plan.registered => {
            let mut session = Session::open_then(membership, &plan.device, true, invite, &[ask])
                .await
                .map_err(|e| match e {
                    SyncError::Refused { message, .. } if message.contains("invite") => {
                        SyncError::Refused {
                            code: codes::AUTH.into(),
                            message: format!(
                                "the relay at {} no longer knows this vault (it was wiped, or is a new relay at that address), and it registers vaults by invite: ask its operator for a code (`interlog relay invite`) and run `interlog sync --invite CODE`. Your journal is safe on this device",
                                crate::peer_text(&membership.relay, 200)
                            ),
                        }
                    }
                    other => other,
                })?;
            session.reseeded = true;
            Ok(session)
        }
        other => other,
    }
}

/// This home went back in time: its device becomes a new one whose
/// changes since `base` are re-issued ([`Vault::become_new_device`]), and
/// its old self's records after `base` are read like another device's.
/// `held` is the old self's last seq on the relay.
/// `leftover` is the outbox an earlier sync left, which may be on the relay.
fn become_new_device<S: Storage>(
    v: &mut Vault<S>,
    held: u64,
    leftover: Option<(Vec<automerge::ChangeHash>, u64)>,
) -> Result<Option<Restored>, SyncError> {
    let mut state = SyncState::load(v.storage())?;
    if held < state.next_seq {
        // Not restored: another process of this home sent those meanwhile.
        return Ok(None);
    }
    // What the relay holds of the old self: what it acknowledged, and the
    // leftover outbox too when the relay has as many records (an outbox
    // only ever grows at its end, so those are the same bytes).
    let (base, base_seq) = match leftover {
        Some((heads, last)) if held >= last => (heads, last),
        _ => (state.pushed_heads.clone(), state.next_seq - 1),
    };
    let old_device = device_name(v.device_id());
    v.become_new_device(&base)?;
    state.cursors.insert(old_device.clone(), base_seq);
    state.next_seq = 1;
    state.outbox = None;
    state.pushed_heads = base;
    state.clean_at = None;
    state.snapshot_id = 0;
    state.save(v.storage_mut())?;
    Ok(Some(Restored {
        old_device,
        new_device: device_name(v.device_id()),
        missed: (base_seq + 1, held),
    }))
}

async fn attempt<S: Storage, L: Local<S>>(
    local: &mut L,
    membership: &Membership,
    invite: Option<String>,
    force_snapshot: bool,
    stamped: bool,
    stall: Duration,
) -> Result<Attempt, SyncError> {
    let stamp = stamped.then(|| local.stamp()).flatten();
    let mut plan = match stamp.and_then(|s| Plan::stamped(s, membership)) {
        Some(plan) => plan,
        None => Plan::staged(local.vault()?, membership)?,
    };
    local.release();
    let ask = Frame::Sync {
        cursors: plan.cursors.clone(),
        live: false,
        want_snapshot: false,
    };
    let mut session = open_for_sync(membership, &plan, invite, ask).await?;
    session.stall_after(stall);
    let held = session.held_by_relay().unwrap_or(0);
    let sent = plan.leftover.as_ref().map_or(plan.acked, |(_, last)| *last);
    if plan.registered && held > sent {
        session.close().await;
        let restored = become_new_device(local.vault()?, held, plan.leftover)?;
        local.release();
        return Ok(restored.map_or(Attempt::Again, Attempt::Restored));
    }
    let force_snapshot = force_snapshot || session.reseeded;
    let mut to_send: Vec<SealedRecord> = Vec::new();
    // The relay lost records of this device another device registered the
    // vault again, or the relay was restored from a backup): placeholders
    // now, and this device's whole document only if no other device's
    // whole document received in this sync holds everything it had.
    let deferred = held < plan.acked && !session.reseeded;
    if held < plan.acked || session.reseeded {
        // The relay lost records it had acknowledged, or the whole vault:
        // resend from the store.
        let v = local.vault()?;
        let mut state = SyncState::load(v.storage())?;
        to_send = session.prepare_resend(v, &mut state, !deferred)?;
        plan.outbox = if deferred {
            // Sent after catching up, behind whatever whole document it
            // builds on: its changes may depend on the lost ones.
            None
        } else {
            let keys = membership.key.derive();
            stage_with(&keys, &membership.vault, &plan.device, v, &mut state)?
        };
        local.release();
    }
    if let Some(outbox) = &plan.outbox {
        to_send.extend(outbox.records().cloned());
    }
    let mut report = Report {
        devices: session.devices.clone(),
        resent: session.resent,
        reseeded: session.reseeded,
        ..Report::default()
    };
    // The relay answers the sync first, then the appends: records (kept
    // here, and applied in rounds when they pile up), `caught_up`, then
    // one acknowledgement per append.
    let appends: Vec<Frame> = to_send
        .iter()
        .map(|r| Frame::Append { record: r.clone() })
        .collect();
    session
        .conn
        .send_all(&appends.iter().collect::<Vec<_>>())
        .await?;
    drop(appends);
    let mut acked = 0;
    let mut caught_up = false;
    let mut buffered: Vec<SealedRecord> = Vec::new();
    let mut buffered_bytes = 0;
    // The last seq of each log held here or buffered: a record at or below
    // it is one this device has, which is no progress, and not kept.
    let mut have = plan.cursors.clone();
    while !caught_up || acked < to_send.len() {
        match session.recv(TIMEOUT).await? {
            Frame::Records { records } if !caught_up => {
                for r in records {
                    let last = have.entry(r.device.clone()).or_insert(0);
                    if r.device == plan.device || r.seq <= *last {
                        continue;
                    }
                    *last = r.seq;
                    session.progressed();
                    buffered_bytes += r.payload.len();
                    buffered.push(r);
                }
                if buffered_bytes > BUFFER_BYTES {
                    let v = local.vault()?;
                    let mut state = SyncState::load(v.storage())?;
                    report.pulled += session.apply(v, &mut state, &buffered)?;
                    local.release();
                    buffered.clear();
                    buffered_bytes = 0;
                }
            }
            Frame::CaughtUp if !caught_up => {
                caught_up = true;
                session.progressed();
            }
            Frame::Snapshot { .. } => {} // only sent when asked for
            Frame::Ack { device, seq }
                if to_send
                    .get(acked)
                    .is_some_and(|r| r.device == device && r.seq == seq) =>
            {
                acked += 1;
                session.acknowledged(seq);
            }
            other => return Err(unexpected(other)),
        }
    }
    // Everything acknowledged and received: record it.
    let pushed = to_send.len();
    let (v, mut state) = match (pushed, report.pulled, buffered.is_empty(), plan.stamped) {
        (0, 0, true, true) => {
            // Nothing changed here: the stamp (or the store) stays valid.
            report.withheld = state::withheld(&plan.device, &plan.cursors, &plan.known);
            session.close().await;
            return Ok(Attempt::Done(report));
        }
        _ => {
            let v = local.vault()?;
            let state = SyncState::load(v.storage())?;
            (v, state)
        }
    };
    state.registered = true;
    if let (Some(done), Some(now)) = (&plan.outbox, &state.outbox) {
        // Unless another sync finished it meanwhile.
        if done == now {
            state.finish_push(done);
        }
    }
    if plan.outbox.is_some() && state.outbox.is_none() && state.all_pushed(v) {
        state.mark_pushed(v)?;
    }
    state.save(v.storage_mut())?;
    report.pushed = pushed;
    report.pulled += session.apply(v, &mut state, &buffered)?;
    if state.all_pushed(v) {
        state.mark_pushed(v)?;
    }
    state.save(v.storage_mut())?;
    report.moved_to = MovedTo::of(&v.doc, &membership.relay);
    report.withheld = session.finish(&state)?;
    if deferred {
        if !session.holds_everything(&plan) {
            // No whole document on the relay holds everything this device
            // had: it sends its own.
            state.push_all_again();
        }
        let keys = membership.key.derive();
        if let Some(outbox) = stage_with(&keys, &membership.vault, &plan.device, v, &mut state)? {
            let records: Vec<SealedRecord> = outbox.records().cloned().collect();
            local.release();
            session.append_all(&records).await?;
            report.pushed += records.len();
            let v = local.vault()?;
            let mut state = SyncState::load(v.storage())?;
            if state.outbox.as_ref() == Some(&outbox) {
                state.finish_push(&outbox);
            }
            if state.all_pushed(v) {
                state.mark_pushed(v)?;
            }
            state.save(v.storage_mut())?;
        }
    }
    let v = local.vault()?;
    let state = SyncState::load(v.storage())?;
    if force_snapshot || state.since_snapshot >= SNAPSHOT_EVERY {
        let snapshot = session.seal_snapshot(v, &state)?;
        let id = snapshot.id;
        local.release();
        session.send_snapshot(snapshot).await?;
        snapshot_sent(local.vault()?, id)?;
        report.snapshot_uploaded = true;
    }
    session.close().await;
    Ok(Attempt::Done(report))
}

/// Joins a vault from a join code: fetches the newest snapshot and the
/// records after it, checks them, and only then creates the local store.
/// A snapshot that does not open or load (the relay's, or a member's,
/// garbage) is skipped: the join starts again from the records alone, and
/// the report says why.
pub async fn join<S: Storage>(code: &JoinCode, store: S) -> Result<(Vault<S>, Report), SyncError> {
    let membership = code.membership();
    let device_id = crypto::random::<16>()?.to_vec();
    let device = device_name(&device_id);
    let (fetched, refused) = match fetch(&membership, &device, true).await {
        Err(e @ SyncError::TamperedSnapshot { .. }) => {
            (fetch(&membership, &device, false).await?, Some(e))
        }
        other => (other?, None),
    };
    let mut doc = fetched.doc.ok_or_else(|| SyncError::Other("the relay holds nothing for this vault yet: run `interlog sync` on a device of the vault first".into()))?;
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
    state.cursors = fetched.cursors;
    state.known = fetched.known;
    state.registered = true;
    state.pushed_heads = doc.heads();
    state.save(&mut store)?;
    let withheld = state.withheld(&device);
    let v = Vault::join_loaded(store, doc, fetched.saved, device_id)?;
    Ok((
        v,
        Report {
            pulled: fetched.pulled,
            devices: fetched.devices,
            withheld,
            snapshot_refused: refused.map(|e| e.to_string()),
            ..Report::default()
        },
    ))
}

/// Finds the vault registered with `key` on the relay (a hello naming
/// [`wire::VAULT_BY_KEY`]): the relay learns nothing a sync would not tell
/// it, since every hello carries the token.
pub async fn find_vault(
    relay: &str,
    pin: Option<crate::tls::Pin>,
    key: &crate::crypto::VaultKey,
) -> Result<Membership, SyncError> {
    let mut m = Membership {
        relay: relay.to_string(),
        pin,
        vault: wire::VAULT_BY_KEY.to_string(),
        key: key.clone(),
    };
    let device = device_name(&crypto::random::<16>()?);
    let mut conn = Connection::connect(relay, pin).await?;
    let hello = Frame::Hello {
        version: wire::PROTOCOL_VERSION,
        capabilities: vec!["snapshot".into(), "live".into()],
        vault: m.vault.clone(),
        device,
        token: ByteBuf::from(key.derive().token.to_vec()),
        register: false,
        invite: None,
    };
    conn.send_all(&[&hello]).await?;
    let found = match conn.recv(TIMEOUT).await? {
        Frame::Welcome {
            version,
            vault: Some(vault),
            ..
        } => {
            wire::check_version(version)?;
            vault
        }
        Frame::Error { code, message } => {
            return Err(match refused(code, message) {
                SyncError::UnknownVault(_) => SyncError::Other(format!(
                    "the relay at {} holds no vault with these words: check the relay's address and the words. If the relay was wiped, recover from another relay that has the vault, or re-seed this one from a device that still has the journal (`interlog sync` there)",
                    crate::peer_text(relay, 200)
                )),
                other => other,
            })
        }
        other => return Err(unexpected(other)),
    };
    conn.close().await;
    m.vault = found;
    Ok(m)
}

/// Restores a whole vault on a new device from its key (the recovery
/// words) and its relay: finds the vault, then joins it.
pub async fn recover<S: Storage>(
    relay: &str,
    pin: Option<crate::tls::Pin>,
    key: &crate::crypto::VaultKey,
    store: S,
) -> Result<(Vault<S>, Membership, Report), SyncError> {
    let m = find_vault(relay, pin, key).await?;
    let (v, report) = join(&JoinCode::new(&m), store).await?;
    Ok((v, m, report))
}

/// What a join fetched from the relay, before anything is stored.
struct Fetched {
    doc: Option<VaultDoc>,
    /// The snapshot's document bytes, while nothing has been applied on top.
    saved: Option<Vec<u8>>,
    cursors: BTreeMap<String, u64>,
    known: BTreeMap<String, u64>,
    pulled: usize,
    devices: Vec<DeviceInfo>,
}

/// Fetches the vault for a join: from the newest snapshot if `snapshot`,
/// then the records after it. A snapshot that does not load counts as
/// tampered.
async fn fetch(
    membership: &Membership,
    device: &str,
    snapshot: bool,
) -> Result<Fetched, SyncError> {
    let ask = Frame::Sync {
        cursors: BTreeMap::new(),
        live: false,
        want_snapshot: snapshot,
    };
    let mut session = Session::open_then(membership, device, false, None, &[ask]).await?;
    session.stall_after(STALL);
    let mut f = Fetched {
        doc: None,
        saved: None,
        cursors: BTreeMap::new(),
        known: BTreeMap::new(),
        pulled: 0,
        devices: session.devices.clone(),
    };
    let mut parts = Assembler::default();
    loop {
        match session.recv(TIMEOUT).await? {
            Frame::Snapshot { snapshot: s } if snapshot && f.doc.is_none() && f.pulled == 0 => {
                let bytes = session.open_snapshot(&s)?;
                let d =
                    VaultDoc::load(Some(&bytes), []).map_err(|_| SyncError::TamperedSnapshot {
                        device: s.device.clone(),
                    })?;
                session.progressed();
                f.doc = Some(d);
                f.saved = Some(bytes);
                f.cursors = s.covers.clone();
                learn(&mut f.known, &s.covers);
            }
            Frame::Records { records } => {
                for r in records {
                    let cursor = f.cursors.get(&r.device).copied().unwrap_or(0);
                    let next = parts.next_seq(&r.device).unwrap_or(cursor + 1);
                    if r.seq < next {
                        continue;
                    }
                    let piece = take(
                        &session.keys,
                        &session.vault,
                        &mut parts,
                        &mut f.known,
                        &mut BTreeMap::new(),
                        &r,
                        next,
                    )?;
                    session.progressed();
                    let chunk = match piece {
                        Piece::Fragment => continue,
                        Piece::Placeholder => None,
                        Piece::Chunk(c) => Some(c),
                    };
                    let unapplicable = |detail: String| SyncError::Unapplicable {
                        device: r.device.clone(),
                        seq: r.seq,
                        detail,
                    };
                    if let Some(chunk) = chunk {
                        let d = match f.doc.as_mut() {
                            Some(d) => d,
                            None => f.doc.insert(
                                VaultDoc::load(None, [])
                                    .map_err(|e| SyncError::Other(e.to_string()))?,
                            ),
                        };
                        d.apply_chunk(&chunk)
                            .map_err(|e| unapplicable(e.to_string()))?;
                        f.saved = None;
                    }
                    f.cursors.insert(r.device.clone(), r.seq);
                    f.pulled += 1;
                }
            }
            Frame::Snapshot { .. } => {}
            Frame::CaughtUp => break,
            other => return Err(unexpected(other)),
        }
    }
    session.close().await;
    Ok(f)
}

fn learn(known: &mut BTreeMap<String, u64>, reach: &BTreeMap<String, u64>) {
    for (device, &seq) in reach {
        let k = known.entry(device.clone()).or_insert(0);
        *k = (*k).max(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::VaultKey;

    #[test]
    fn a_relay_s_words_never_drive_the_terminal() {
        let evil = "\u{1b}]0;pwned\u{7}\u{1b}[31mALERT\r\u{9b}2J\u{202e}txt.exe";
        for code in [codes::AUTH, codes::DEVICE_ID_REUSED, "other"] {
            let shown = refused(code.into(), evil.into()).to_string();
            assert!(shown.contains("ALERT"), "{shown}");
            assert!(!shown.chars().any(crate::is_unsafe), "{shown:?}");
        }
        let shown = refused(evil.into(), "no".into()).to_string();
        assert!(!shown.chars().any(crate::is_unsafe), "{shown:?}");
    }

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
        let swapped_payload = SealedRecord {
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
