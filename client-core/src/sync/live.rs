//! Live sync: after the one-shot sync that [`super::run`] starts with, the
//! device stays connected. Records from the relay are applied as they come,
//! and local changes pushed as soon as the device says they happened
//! ([`Local::wait`]).
//!
//! Another process may borrow the store meanwhile ([`Happened::Asked`]):
//! until it gives it back, the vault is left alone and the relay's records
//! wait, up to [`MAX_WAITING`]; then the relay's own backlog limit takes
//! over (it closes the link as too slow, and the next live sync resumes
//! from the cursors). Before every apply, local changes are pushed first,
//! so that the pushed heads can move past what was applied.

use std::time::Duration;

use super::{
    unexpected, Happened, Local, Membership, News, Session, SyncError, SyncState, TIMEOUT,
};
use crate::store::{Storage, Vault};
use crate::wire::{Frame, SealedRecord};

/// Live records kept in memory while another process has the store; their
/// payloads are held to the one-shot sync's `BUFFER_BYTES` too.
const MAX_WAITING: usize = 1024;

/// The relay pings every 30 s; silence for this long is a dead link.
const SILENCE: Duration = Duration::from_secs(180);

/// Stays connected until an error, the only way it ends: catches up once
/// more on a live session, asks for records as they come, and then applies
/// them and pushes local changes as they happen.
pub(super) async fn watch<S: Storage, L: Local<S>>(
    local: &mut L,
    membership: &Membership,
) -> Result<std::convert::Infallible, SyncError> {
    let device = super::device_name(local.vault()?.device_id());
    let mut session = Session::open(membership, &device, false, None).await?;
    let cursors = {
        let v = local.vault()?;
        let mut state = SyncState::load(v.storage())?;
        state.registered = true;
        state.save(v.storage_mut())?;
        session.push(v).await?;
        session.pull(v).await?;
        SyncState::load(v.storage())?.cursors
    };
    local.tell(News::Synced)?;
    if !local.holds() {
        local.release();
    }
    session
        .send(&Frame::Sync {
            cursors,
            live: true,
            want_snapshot: false,
        })
        .await?;
    local.tell(News::Watching)?;
    // Live records that arrive while the store is lent out wait here.
    let mut waiting: Vec<SealedRecord> = Vec::new();
    let mut waiting_bytes = 0;
    let mut lent = false;
    loop {
        let mut push = false;
        tokio::select! {
            frame = session.recv(SILENCE), if waiting.len() < MAX_WAITING && waiting_bytes < super::BUFFER_BYTES => {
                match frame? {
                    Frame::Records { records } => {
                        waiting_bytes += records.iter().map(|r| r.payload.len()).sum::<usize>();
                        waiting.extend(records);
                    }
                    Frame::CaughtUp => {}
                    other => {
                        // The relay's text, bounded and made printable.
                        let frame = crate::peer_text(&format!("{other:?}"), 200);
                        return Err(SyncError::Other(format!(
                            "the relay sent an unexpected frame: {frame}"
                        )));
                    }
                }
            }
            happened = local.wait() => match happened {
                Happened::Asked => {
                    local.release();
                    local.lend().await;
                    lent = true;
                }
                Happened::Returned(staged) => {
                    // The process that had the store may have written; if
                    // it staged its change, that is on its way before the
                    // store is even open again (the push below awaits its
                    // acknowledgement).
                    lent = false;
                    push = true;
                    if let Some(record) = staged {
                        session.send_early(record).await?;
                    }
                }
                Happened::Wrote => push = true,
            }
        }
        if lent || (waiting.is_empty() && !push) {
            continue;
        }
        if !waiting.is_empty() {
            let records = std::mem::take(&mut waiting);
            waiting_bytes = 0;
            let (pushed, applied) = session.apply_live(local.vault()?, &records).await?;
            // Applied and flushed: say so before the bookkeeping.
            if pushed > 0 {
                local.tell(News::Sent(pushed))?;
            }
            if applied > 0 {
                local.tell(News::Received(applied))?;
            }
        }
        if push {
            let pushed = session.push(local.vault()?).await?;
            if pushed > 0 {
                local.tell(News::Sent(pushed))?;
            }
        }
        local.tell(News::Synced)?;
        if !local.holds() {
            local.release();
        }
    }
}

impl Session {
    /// Asks for everything missing and applies it. When every local change
    /// was pushed before, the pushed heads then move to the current heads;
    /// otherwise the next push still sends the local changes. Returns
    /// records applied.
    pub async fn pull<S: Storage>(&mut self, v: &mut Vault<S>) -> Result<usize, SyncError> {
        let mut state = SyncState::load(v.storage())?;
        let all_pushed = state.all_pushed(v);
        self.send(&Frame::Sync {
            cursors: state.cursors.clone(),
            live: false,
            want_snapshot: false,
        })
        .await?;
        let mut pulled = 0;
        loop {
            match self.recv(TIMEOUT).await? {
                Frame::Records { records } => pulled += self.apply(v, &mut state, &records)?,
                Frame::CaughtUp => break,
                Frame::Snapshot { .. } => {} // only sent when asked for
                other => return Err(unexpected(other)),
            }
        }
        // Every change beyond the pushed heads now came from the relay.
        if all_pushed {
            state.mark_pushed(v)?;
        }
        state.save(v.storage_mut())?;
        self.finish(&state)?;
        Ok(pulled)
    }

    /// Applies live records: pushes local changes first (the caller holds
    /// the store), then applies, so the pushed heads can move to the
    /// current heads. Returns records pushed and applied.
    pub async fn apply_live<S: Storage>(
        &mut self,
        v: &mut Vault<S>,
        records: &[SealedRecord],
    ) -> Result<(usize, usize), SyncError> {
        let pushed = self.push(v).await?;
        let mut state = SyncState::load(v.storage())?;
        let all_pushed = state.all_pushed(v);
        let applied = self.apply(v, &mut state, records)?;
        // Each applied record saved the state, clean mark included; only
        // with none applied is there something left to record.
        if all_pushed && applied == 0 {
            state.mark_pushed(v)?;
            state.save(v.storage_mut())?;
        }
        if let Some(device) = self.blocked.keys().next().cloned() {
            if let Some(e) = self.blocked.remove(&device) {
                return Err(e);
            }
        }
        Ok((pushed, applied))
    }
}
