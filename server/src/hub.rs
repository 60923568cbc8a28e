//! Per-vault live fan-out and connection counting.
//!
//! Each live subscriber has its own queue of records it has not sent yet,
//! bounded at [`LIVE_BACKLOG`]: one more record and it is marked lagged, its
//! queue is dropped, and its connection closes with `too_slow` (the device
//! reconnects and resumes from its cursors). Most devices sit idle in live
//! sync, so a queue holds memory only for what is queued, not for the whole
//! backlog it may hold. Records are pushed to every subscriber of a vault
//! under one lock, so all of them see the vault's records in the same order.
//! The queues share the records, and each holds only records among the
//! vault's last 256, so a peer that stops reading pins at most those 256
//! records plus a pointer per queued record.
//!
//! # Connection slots
//!
//! A vault has [`Hub::new`]'s `max_per_vault` slots (16 by default). Holding
//! the vault key lets anyone open connections under any device ids, so the
//! slots are shared out so that the vault's real devices always get in:
//! - one device id holds at most [`MAX_CONNECTIONS_PER_DEVICE`]; its next
//!   connection replaces its own longest-idle one (a device reconnecting
//!   after a network change replaces its half-dead connection), or is
//!   refused if all of them are in the middle of a request;
//! - when the vault is full, a new connection replaces the connection that
//!   has been idle longest, if it has been idle (no frame from its peer,
//!   nothing in progress) for at least [`EVICTABLE_AFTER`]; only when every
//!   slot is busy or was used within that time is it refused with
//!   `too_many_connections`.
//!
//! So idle subscriptions cannot lock a vault: whoever holds them must keep
//! every one of them busy to keep its slots, and a replaced connection is
//! told why (`too_many_connections`) and reconnects with backoff.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use interlog_core::wire::SealedRecord;
use tokio::sync::Notify;

/// How many records a live subscriber may fall behind before it is dropped
/// (it reconnects and resumes from its cursors).
pub const LIVE_BACKLOG: usize = 256;

/// Queue capacity a drained subscriber may keep; a burst's larger buffer is
/// given back once it is sent.
const IDLE_CAPACITY: usize = 8;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A vault's live subscribers.
#[derive(Default)]
struct Channel {
    subscribers: Mutex<Vec<Arc<Subscriber>>>,
}

#[derive(Default)]
struct Subscriber {
    queue: Mutex<Queue>,
    ready: Notify,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<Arc<SealedRecord>>,
    lagged: bool,
    /// Another relay stored records of the vault: read them from the store.
    woken: bool,
}

/// What a live subscriber gets next.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A record this relay stored, to send as it is.
    SealedRecord(Arc<SealedRecord>),
    /// Records were stored elsewhere (another relay on the same store):
    /// read what the device lacks from the store, from its cursors.
    Read,
}

/// The subscriber fell more than [`LIVE_BACKLOG`] records behind; the
/// records it missed are gone from its queue.
#[derive(Debug, PartialEq, Eq)]
pub struct Lagged;

/// One connection's live subscription; dropping it unsubscribes.
pub struct Subscription {
    me: Arc<Subscriber>,
    channel: Arc<Channel>,
}

impl Subscription {
    /// The next record published after subscribing, in publish order, or
    /// word that other relays stored records (after the queued ones).
    ///
    /// Cancel-safe: a record is taken from the queue only when it is
    /// returned, so one dropped in a `select!` is never lost.
    pub async fn recv(&mut self) -> Result<Delivery, Lagged> {
        loop {
            {
                let mut q = lock(&self.me.queue);
                if q.lagged {
                    return Err(Lagged);
                }
                if let Some(r) = q.records.pop_front() {
                    if q.records.is_empty() && q.records.capacity() > IDLE_CAPACITY {
                        q.records = VecDeque::new();
                    }
                    return Ok(Delivery::SealedRecord(r));
                }
                if std::mem::take(&mut q.woken) {
                    return Ok(Delivery::Read);
                }
            }
            // A publish between the check above and this wait leaves a
            // permit behind, so the wake-up is not missed.
            self.me.ready.notified().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.channel.subscribers).retain(|s| !Arc::ptr_eq(s, &self.me));
    }
}

/// How many connections one device id may hold in a vault. Two, so that a
/// device's new connection and the one it is replacing (a phone switching
/// networks, a watcher and a one-shot command) can overlap.
pub const MAX_CONNECTIONS_PER_DEVICE: usize = 2;

/// How long a connection must have been idle before a new connection of
/// another device may take its slot in a full vault. A one-shot sync is
/// never idle that long between its frames; a watcher is, between records.
pub const EVICTABLE_AFTER: Duration = Duration::from_secs(5);

/// One connection's slot in its vault.
struct Slot {
    device: String,
    /// When the peer last sent a frame or a request finished.
    last_active: Mutex<Instant>,
    /// A request (a frame) is being handled.
    busy: AtomicBool,
    /// Set when a newer connection took this slot.
    evicted: AtomicBool,
    wake: Notify,
}

impl Slot {
    fn idle_for(&self, now: Instant) -> Option<Duration> {
        if self.busy.load(Ordering::Acquire) {
            return None;
        }
        Some(now.saturating_duration_since(*lock(&self.last_active)))
    }
}

struct VaultHub {
    channel: Arc<Channel>,
    slots: Vec<Arc<Slot>>,
}

pub struct Hub {
    vaults: Arc<Mutex<HashMap<String, VaultHub>>>,
    max_per_vault: usize,
}

/// Why [`Hub::join`] turned a connection away.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// Every slot of the vault is busy or was used within [`EVICTABLE_AFTER`].
    Vault,
    /// The device's own connections are all in the middle of a request.
    Device,
}

/// A connection's place in its vault; dropping it frees the slot.
pub struct Seat {
    vault: String,
    vaults: Arc<Mutex<HashMap<String, VaultHub>>>,
    channel: Arc<Channel>,
    slot: Arc<Slot>,
}

impl Seat {
    /// The connection started handling a frame: its slot is not idle.
    pub fn busy(&self) {
        self.slot.busy.store(true, Ordering::Release);
        *lock(&self.slot.last_active) = Instant::now();
    }

    /// The connection finished handling a frame: idle from now.
    pub fn idle(&self) {
        *lock(&self.slot.last_active) = Instant::now();
        self.slot.busy.store(false, Ordering::Release);
    }

    /// Whether a newer connection took this one's slot.
    pub fn is_replaced(&self) -> bool {
        self.slot.evicted.load(Ordering::Acquire)
    }

    /// Resolves once a newer connection took this one's slot.
    pub async fn replaced(&self) {
        loop {
            if self.slot.evicted.load(Ordering::Acquire) {
                return;
            }
            self.slot.wake.notified().await;
        }
    }

    /// Subscribes to the records published from now on.
    pub fn subscribe(&self) -> Subscription {
        let me = Arc::new(Subscriber::default());
        lock(&self.channel.subscribers).push(me.clone());
        Subscription {
            me,
            channel: self.channel.clone(),
        }
    }

    /// Queues `record` for every subscriber of the vault on this relay.
    pub fn publish(&self, record: Arc<SealedRecord>) {
        let subscribers = lock(&self.channel.subscribers);
        for s in subscribers.iter() {
            {
                let mut q = lock(&s.queue);
                if q.lagged {
                    continue;
                }
                if q.records.len() >= LIVE_BACKLOG {
                    q.lagged = true;
                    q.records = VecDeque::new();
                } else {
                    q.records.push_back(record.clone());
                }
            }
            s.ready.notify_one();
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut v = lock(&self.vaults);
        if let Some(h) = v.get_mut(&self.vault) {
            h.slots.retain(|s| !Arc::ptr_eq(s, &self.slot));
            if h.slots.is_empty() {
                v.remove(&self.vault);
            }
        }
    }
}

fn wake(channel: &Channel) {
    for s in lock(&channel.subscribers).iter() {
        lock(&s.queue).woken = true;
        s.ready.notify_one();
    }
}

/// Takes `victim` out of the vault's slots and tells its connection.
fn evict(slots: &mut Vec<Arc<Slot>>, victim: &Arc<Slot>) {
    slots.retain(|s| !Arc::ptr_eq(s, victim));
    victim.evicted.store(true, Ordering::Release);
    victim.wake.notify_one();
}

impl Hub {
    pub fn new(max_per_vault: usize) -> Self {
        Hub {
            vaults: Arc::default(),
            max_per_vault: max_per_vault.max(1),
        }
    }

    /// Tells every live subscriber of `vault` to read from the store:
    /// another relay stored records of it.
    pub fn wake(&self, vault: &str) {
        let channel = lock(&self.vaults).get(vault).map(|h| h.channel.clone());
        if let Some(channel) = channel {
            wake(&channel);
        }
    }

    /// [`Self::wake`] for every vault (wake-ups may have been missed).
    pub fn wake_all(&self) {
        let channels: Vec<_> = lock(&self.vaults)
            .values()
            .map(|h| h.channel.clone())
            .collect();
        for channel in channels {
            wake(&channel);
        }
    }

    /// Joins a vault as `device`, replacing an idle connection when the
    /// device or the vault is at its limit (see the module's header).
    pub fn join(&self, vault: &str, device: &str) -> Result<Seat, Full> {
        let mut v = lock(&self.vaults);
        let h = v.entry(vault.to_string()).or_insert_with(|| VaultHub {
            channel: Arc::default(),
            slots: Vec::new(),
        });
        let now = Instant::now();
        let longest_idle = |slots: &[Arc<Slot>], mine: bool, at_least: Duration| {
            slots
                .iter()
                .filter(|s| !mine || s.device == device)
                .filter_map(|s| Some((s.idle_for(now)?, s)))
                .filter(|(idle, _)| *idle >= at_least)
                .max_by_key(|(idle, _)| *idle)
                .map(|(_, s)| s.clone())
        };
        let own = h.slots.iter().filter(|s| s.device == device).count();
        if own >= MAX_CONNECTIONS_PER_DEVICE {
            let victim = longest_idle(&h.slots, true, Duration::ZERO).ok_or(Full::Device)?;
            evict(&mut h.slots, &victim);
        } else if h.slots.len() >= self.max_per_vault {
            let victim = longest_idle(&h.slots, false, EVICTABLE_AFTER).ok_or(Full::Vault)?;
            evict(&mut h.slots, &victim);
        }
        let slot = Arc::new(Slot {
            device: device.to_string(),
            last_active: Mutex::new(now),
            busy: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        });
        h.slots.push(slot.clone());
        Ok(Seat {
            vault: vault.to_string(),
            vaults: self.vaults.clone(),
            channel: h.channel.clone(),
            slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use interlog_core::wire::RecordKind;
    use serde_bytes::ByteBuf;

    use super::*;

    fn rec(device: &str, seq: u64) -> Arc<SealedRecord> {
        Arc::new(SealedRecord {
            device: device.into(),
            seq,
            kind: RecordKind::Change,
            payload: ByteBuf::from(vec![1; 8]),
        })
    }

    fn ids(r: &SealedRecord) -> (String, u64) {
        (r.device.clone(), r.seq)
    }

    impl Subscription {
        /// The next delivery, which must be a record.
        async fn record(&mut self) -> Result<Arc<SealedRecord>, Lagged> {
            match self.recv().await? {
                Delivery::SealedRecord(r) => Ok(r),
                Delivery::Read => panic!("a wake-up where a record was due"),
            }
        }
    }

    fn queued(s: &Subscription) -> (usize, usize) {
        let q = lock(&s.me.queue);
        (q.records.len(), q.records.capacity())
    }

    #[tokio::test]
    async fn a_device_s_third_connection_replaces_its_longest_idle_one() {
        let hub = Hub::new(16);
        let first = hub.join("v", "d").unwrap();
        let second = hub.join("v", "d").unwrap();
        second.busy();
        let third = hub.join("v", "d").unwrap();
        tokio::time::timeout(Duration::from_secs(1), first.replaced())
            .await
            .expect("the idle one is replaced");
        assert!(!second.slot.evicted.load(Ordering::Acquire));
        // Both remaining are busy: a fourth is refused, other devices not.
        third.busy();
        assert_eq!(hub.join("v", "d").err(), Some(Full::Device));
        assert!(hub.join("v", "e").is_ok());
        drop(first);
        assert_eq!(lock(&hub.vaults)["v"].slots.len(), 2);
    }

    #[test]
    fn a_full_vault_makes_room_from_a_connection_idle_long_enough() {
        let hub = Hub::new(4);
        let held: Vec<_> = (0..4)
            .map(|i| hub.join("v", &format!("x{i}")).unwrap())
            .collect();
        // All four were active just now: the vault is full.
        assert_eq!(hub.join("v", "real").err(), Some(Full::Vault));
        held[0].busy();
        // Age them by hand rather than wait.
        *lock(&held[0].slot.last_active) = Instant::now() - EVICTABLE_AFTER * 9;
        for m in &held[1..] {
            *lock(&m.slot.last_active) = Instant::now() - EVICTABLE_AFTER * 2;
        }
        *lock(&held[2].slot.last_active) = Instant::now() - EVICTABLE_AFTER * 3;
        let real = hub.join("v", "real").unwrap();
        assert!(
            held[2].slot.evicted.load(Ordering::Acquire),
            "the longest idle goes"
        );
        assert!(
            !held[0].slot.evicted.load(Ordering::Acquire),
            "a busy one stays"
        );
        drop(real);
    }

    #[tokio::test]
    async fn every_subscriber_gets_the_vaults_records_in_publish_order() {
        let hub = Hub::new(16);
        let (a, b) = (hub.join("v", "a").unwrap(), hub.join("v", "b").unwrap());
        let other = hub.join("w", "a").unwrap();
        let mut subs = [a.subscribe(), b.subscribe(), a.subscribe()];
        let mut elsewhere = other.subscribe();
        let mut sent = Vec::new();
        for seq in 1..=100 {
            // Two devices interleaved, published from two seats.
            let (m, d) = if seq % 3 == 0 {
                (&b, "dev-b")
            } else {
                (&a, "dev-a")
            };
            let r = rec(d, seq);
            sent.push(ids(&r));
            m.publish(r);
        }
        for s in &mut subs {
            let mut got = Vec::new();
            for _ in 0..sent.len() {
                got.push(ids(&s.record().await.unwrap()));
            }
            assert_eq!(got, sent);
        }
        let nothing = tokio::time::timeout(Duration::from_millis(20), elsewhere.recv()).await;
        assert!(nothing.is_err(), "another vault's subscriber got a record");
    }

    #[tokio::test]
    async fn a_subscriber_more_than_the_backlog_behind_lags_and_the_others_do_not() {
        let hub = Hub::new(16);
        let m = hub.join("v", "d").unwrap();
        let mut slow = m.subscribe();
        let mut fast = m.subscribe();
        for seq in 1..=LIVE_BACKLOG as u64 {
            m.publish(rec("dev", seq));
            assert_eq!(fast.record().await.unwrap().seq, seq);
        }
        // Exactly the backlog behind: nothing lost yet.
        let n = LIVE_BACKLOG as u64;
        assert_eq!(queued(&slow).0, LIVE_BACKLOG);
        assert_eq!(slow.record().await.unwrap().seq, 1);
        m.publish(rec("dev", n + 1));
        assert_eq!(queued(&slow).0, LIVE_BACKLOG);
        // One past it: the subscriber lags from its next receive on, before
        // the records still queued, and its queue is freed.
        m.publish(rec("dev", n + 2));
        assert_eq!(slow.record().await, Err(Lagged));
        assert_eq!(slow.record().await, Err(Lagged));
        assert_eq!(queued(&slow), (0, 0));
        m.publish(rec("dev", n + 3));
        assert_eq!(queued(&slow), (0, 0));
        for seq in n + 1..=n + 3 {
            assert_eq!(fast.record().await.unwrap().seq, seq);
        }
    }

    #[tokio::test]
    async fn a_wake_up_reaches_the_vault_s_subscribers_once_after_their_queued_records() {
        let hub = Hub::new(16);
        let m = hub.join("v", "d").unwrap();
        let other = hub.join("w", "d").unwrap();
        let mut s = m.subscribe();
        let mut elsewhere = other.subscribe();
        m.publish(rec("dev", 1));
        hub.wake("v");
        hub.wake("v");
        hub.wake("nobody-here");
        assert_eq!(s.record().await.unwrap().seq, 1);
        assert_eq!(s.recv().await, Ok(Delivery::Read));
        let nothing = tokio::time::timeout(Duration::from_millis(20), s.recv()).await;
        assert!(nothing.is_err(), "two wake-ups before a read are one read");
        let nothing = tokio::time::timeout(Duration::from_millis(20), elsewhere.recv()).await;
        assert!(nothing.is_err(), "another vault's subscriber was woken");
        hub.wake_all();
        assert_eq!(elsewhere.recv().await, Ok(Delivery::Read));
        assert_eq!(s.recv().await, Ok(Delivery::Read));
    }

    #[tokio::test]
    async fn memory_follows_what_is_queued() {
        let hub = Hub::new(16);
        let m = hub.join("v", "d").unwrap();
        let mut s = m.subscribe();
        assert_eq!(queued(&s), (0, 0), "an idle subscriber holds no buffer");
        for seq in 1..=200 {
            m.publish(rec("dev", seq));
        }
        assert!(queued(&s).1 >= 200);
        for _ in 0..200 {
            s.record().await.unwrap();
        }
        assert_eq!(queued(&s), (0, 0), "a drained burst gives its buffer back");
        drop(s);
        assert!(lock(&m.channel.subscribers).is_empty());
    }

    #[tokio::test]
    async fn a_waiting_subscriber_wakes_for_a_publish_and_a_cancelled_wait_loses_nothing() {
        let hub = Hub::new(16);
        let m = Arc::new(hub.join("v", "d").unwrap());
        let mut s = m.subscribe();
        let cancelled = tokio::time::timeout(Duration::from_millis(10), s.recv()).await;
        assert!(cancelled.is_err());
        let publisher = {
            let m = m.clone();
            tokio::spawn(async move {
                for seq in 1..=3 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    m.publish(rec("dev", seq));
                }
            })
        };
        for seq in 1..=3 {
            let r = tokio::time::timeout(Duration::from_secs(5), s.record()).await;
            assert_eq!(r.unwrap().unwrap().seq, seq);
        }
        publisher.await.unwrap();
    }
}
