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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use interlog_core::wire::Record;
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
    records: VecDeque<Arc<Record>>,
    lagged: bool,
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
    /// The next record published after subscribing, in publish order.
    ///
    /// Cancel-safe: a record is taken from the queue only when it is
    /// returned, so one dropped in a `select!` is never lost.
    pub async fn recv(&mut self) -> Result<Arc<Record>, Lagged> {
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
                    return Ok(r);
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

struct VaultHub {
    channel: Arc<Channel>,
    connections: usize,
}

pub struct Hub {
    vaults: Arc<Mutex<HashMap<String, VaultHub>>>,
    max_per_vault: usize,
}

/// A connection's place in its vault; dropping it frees the slot.
pub struct Membership {
    vault: String,
    vaults: Arc<Mutex<HashMap<String, VaultHub>>>,
    channel: Arc<Channel>,
}

impl Membership {
    /// Subscribes to the records published from now on.
    pub fn subscribe(&self) -> Subscription {
        let me = Arc::new(Subscriber::default());
        lock(&self.channel.subscribers).push(me.clone());
        Subscription {
            me,
            channel: self.channel.clone(),
        }
    }

    /// Queues `record` for every subscriber of the vault.
    pub fn publish(&self, record: Arc<Record>) {
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

impl Drop for Membership {
    fn drop(&mut self) {
        let mut v = lock(&self.vaults);
        if let Some(h) = v.get_mut(&self.vault) {
            h.connections = h.connections.saturating_sub(1);
            if h.connections == 0 {
                v.remove(&self.vault);
            }
        }
    }
}

impl Hub {
    pub fn new(max_per_vault: usize) -> Self {
        Hub {
            vaults: Arc::default(),
            max_per_vault,
        }
    }

    /// Joins a vault, or `None` when it already has the most connections allowed.
    pub fn join(&self, vault: &str) -> Option<Membership> {
        let mut v = lock(&self.vaults);
        let h = v.entry(vault.to_string()).or_insert_with(|| VaultHub {
            channel: Arc::default(),
            connections: 0,
        });
        if h.connections >= self.max_per_vault {
            return None;
        }
        h.connections += 1;
        Some(Membership {
            vault: vault.to_string(),
            vaults: self.vaults.clone(),
            channel: h.channel.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use interlog_core::wire::RecordKind;
    use serde_bytes::ByteBuf;

    use super::*;

    fn rec(device: &str, seq: u64) -> Arc<Record> {
        Arc::new(Record {
            device: device.into(),
            seq,
            kind: RecordKind::Change,
            payload: ByteBuf::from(vec![1; 8]),
        })
    }

    fn ids(r: &Record) -> (String, u64) {
        (r.device.clone(), r.seq)
    }

    fn queued(s: &Subscription) -> (usize, usize) {
        let q = lock(&s.me.queue);
        (q.records.len(), q.records.capacity())
    }

    #[tokio::test]
    async fn every_subscriber_gets_the_vaults_records_in_publish_order() {
        let hub = Hub::new(16);
        let (a, b) = (hub.join("v").unwrap(), hub.join("v").unwrap());
        let other = hub.join("w").unwrap();
        let mut subs = [a.subscribe(), b.subscribe(), a.subscribe()];
        let mut elsewhere = other.subscribe();
        let mut sent = Vec::new();
        for seq in 1..=100 {
            // Two devices interleaved, published from two memberships.
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
                got.push(ids(&s.recv().await.unwrap()));
            }
            assert_eq!(got, sent);
        }
        let nothing = tokio::time::timeout(Duration::from_millis(20), elsewhere.recv()).await;
        assert!(nothing.is_err(), "another vault's subscriber got a record");
    }

    #[tokio::test]
    async fn a_subscriber_more_than_the_backlog_behind_lags_and_the_others_do_not() {
        let hub = Hub::new(16);
        let m = hub.join("v").unwrap();
        let mut slow = m.subscribe();
        let mut fast = m.subscribe();
        for seq in 1..=LIVE_BACKLOG as u64 {
            m.publish(rec("dev", seq));
            assert_eq!(fast.recv().await.unwrap().seq, seq);
        }
        // Exactly the backlog behind: nothing lost yet.
        let n = LIVE_BACKLOG as u64;
        assert_eq!(queued(&slow).0, LIVE_BACKLOG);
        assert_eq!(slow.recv().await.unwrap().seq, 1);
        m.publish(rec("dev", n + 1));
        assert_eq!(queued(&slow).0, LIVE_BACKLOG);
        // One past it: the subscriber lags from its next receive on, before
        // the records still queued, and its queue is freed.
        m.publish(rec("dev", n + 2));
        assert_eq!(slow.recv().await, Err(Lagged));
        assert_eq!(slow.recv().await, Err(Lagged));
        assert_eq!(queued(&slow), (0, 0));
        m.publish(rec("dev", n + 3));
        assert_eq!(queued(&slow), (0, 0));
        for seq in n + 1..=n + 3 {
            assert_eq!(fast.recv().await.unwrap().seq, seq);
        }
    }

    #[tokio::test]
    async fn memory_follows_what_is_queued() {
        let hub = Hub::new(16);
        let m = hub.join("v").unwrap();
        let mut s = m.subscribe();
        assert_eq!(queued(&s), (0, 0), "an idle subscriber holds no buffer");
        for seq in 1..=200 {
            m.publish(rec("dev", seq));
        }
        assert!(queued(&s).1 >= 200);
        for _ in 0..200 {
            s.recv().await.unwrap();
        }
        assert_eq!(queued(&s), (0, 0), "a drained burst gives its buffer back");
        drop(s);
        assert!(lock(&m.channel.subscribers).is_empty());
    }

    #[tokio::test]
    async fn a_waiting_subscriber_wakes_for_a_publish_and_a_cancelled_wait_loses_nothing() {
        let hub = Hub::new(16);
        let m = Arc::new(hub.join("v").unwrap());
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
            let r = tokio::time::timeout(Duration::from_secs(5), s.recv()).await;
            assert_eq!(r.unwrap().unwrap().seq, seq);
        }
        publisher.await.unwrap();
    }
}
