//! Group commit: appends that arrive together share one flush.
//!
//! Each append writes its record (in memory, in sled's log), takes a ticket,
//! and waits until a flush that started after its write has finished. The
//! first waiter to find no flush running becomes the leader: it flushes
//! everything written so far and wakes every append its flush covered.
//! Appends that arrive meanwhile wait for the next flush, which one of
//! them leads. So a burst of N appends costs about two flushes, not N, and
//! no append is acknowledged before a flush that covers it has returned.
//!
//! A failed flush fails its leader; the waiters it would have covered find
//! no flush running and one of them tries again (and gets its own error).

use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
    flushed: Condvar,
}

#[derive(Default)]
struct State {
    /// Tickets handed out: writes that are in sled's log.
    written: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    flushing: bool,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called right after a write: its place in line.
    pub(super) fn written(&self) -> u64 {
        let mut s = self.lock();
        s.written += 1;
        s.written
    }

    /// Returns once `ticket`'s write is durable, flushing with `flush` if no
    /// flush that covers it is already running.
    pub(super) fn durable<E>(
        &self,
        ticket: u64,
        flush: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let mut s = self.lock();
        loop {
            if s.durable >= ticket {
                return Ok(());
            }
            if !s.flushing {
                s.flushing = true;
                let upto = s.written;
                drop(s);
                let result = flush();
                let mut s = self.lock();
                s.flushing = false;
                if result.is_ok() {
                    s.durable = s.durable.max(upto);
                }
                drop(s);
                self.flushed.notify_all();
                return result;
            }
            s = self.flushed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// Eight threads appending 200 times each: every append returns only
    /// after a flush that started after its write, and the flushes are far
    /// fewer than the appends.
    #[test]
    fn concurrent_appends_share_flushes_and_none_returns_before_its_flush() {
        let gc = Arc::new(GroupCommit::default());
        // A "disk": writes bump `pending`; a flush makes them durable.
        let written = Arc::new(AtomicU64::new(0));
        let durable = Arc::new(AtomicU64::new(0));
        let flushes = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gc, written, durable, flushes) = (
                    gc.clone(),
                    written.clone(),
                    durable.clone(),
                    flushes.clone(),
                );
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                        let ticket = gc.written();
                        gc.durable(ticket, || {
                            let upto = written.load(Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            durable.fetch_max(upto, Ordering::SeqCst);
                            flushes.fetch_add(1, Ordering::SeqCst);
                            Ok::<(), ()>(())
                        })
                        .unwrap();
                        assert!(durable.load(Ordering::SeqCst) >= mine);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let flushes = flushes.load(Ordering::SeqCst);
        assert!(flushes < 1600 / 2, "{flushes} flushes for 1600 appends");
    }

    #[test]
    fn a_failed_flush_fails_its_leader_and_the_next_waiter_flushes_again() {
        let gc = GroupCommit::default();
        let t = gc.written();
        assert_eq!(gc.durable(t, || Err("disk full")), Err("disk full"));
        assert_eq!(gc.durable(t, || Ok::<(), &str>(())), Ok(()));
        // Already durable: no flush needed.
        assert_eq!(gc.durable(t, || Err("not called")), Ok(()));
    }
}
