//! Where a sync finds the device's vault ([`Local`]), and what happens on
//! the device while a live sync waits.
//!
//! A sync takes the vault only for its local steps and gives it back before
//! it waits on the network, so other commands never wait for the relay.
//! The clean stamp lives here too: [`OnDisk`] reads it instead of opening
//! the store, and leaves a new one when a sync is done, so that a sync with
//! nothing to do opens nothing (docs/data-model.md, section 7).

use std::future::Future;
use std::path::PathBuf;

use super::{CleanStamp, Report, SyncError};
use crate::store::{Kept, SledStorage, Storage, StoreError, Vault};
use crate::wire::SealedRecord;

/// The device's side of a sync ([`super::run`]): its vault, and, for a live
/// sync, what happens on the device meanwhile. Everything but
/// [`Self::vault`] has a default that suits a vault held open throughout.
pub trait Local<S: Storage> {
    /// The open vault.
    fn vault(&mut self) -> Result<&mut Vault<S>, SyncError>;
    /// Done with the vault for now: the store may close (the document may
    /// stay in memory, see [`Reopening`]).
    fn release(&mut self) {}
    /// The clean stamp a sync left beside the store, if it is still valid
    /// (see [`CleanStamp`]); read without opening the store. Asked at most
    /// once per one-shot sync, and never by a live one. A stamp is good for
    /// one sync: [`OnDisk`] hands out the one it read once in its life.
    fn stamp(&mut self) -> Option<CleanStamp> {
        None
    }
    /// A one-shot sync succeeded: leave a clean stamp beside the store if
    /// it is clean and open. Best effort: without a stamp the next sync
    /// opens the store.
    fn leave_stamp(&mut self) {}

    /// For a live sync: waits for something to happen on this device.
    /// It must be cancel-safe: the sync drops it when the relay speaks
    /// first, and calls it again.
    fn wait(&mut self) -> impl Future<Output = Happened> {
        std::future::pending()
    }
    /// For a live sync: tells the process that asked for the store
    /// ([`Happened::Asked`]) that it is free. Called once the sync released
    /// it.
    fn lend(&mut self) -> impl Future<Output = ()> {
        std::future::ready(())
    }
    /// For a live sync: whether the store may stay open between events
    /// (someone can ask for it); otherwise it is released after each.
    fn holds(&self) -> bool {
        true
    }
    /// For a live sync: what it did, for the user; an error ends the sync.
    fn tell(&mut self, news: News<'_>) -> Result<(), SyncError> {
        let _ = news;
        Ok(())
    }
}

/// Something that happened on the device while a live sync waited.
#[derive(Debug)]
pub enum Happened {
    /// Another process asks for the store: the sync releases it, calls
    /// [`Local::lend`], and leaves the vault alone until it is
    /// [`Happened::Returned`]. Records from the relay wait meanwhile.
    Asked,
    /// The process gave the store back. It may have written, and staged its
    /// change as this record ([`super::stage`]): that is sent at once.
    Returned(Option<SealedRecord>),
    /// Something was written here: push it.
    Wrote,
}

/// What a live sync did, as [`Local::tell`] hears it.
#[derive(Debug)]
pub enum News<'a> {
    /// The one-shot sync that starts a live sync is done. If the vault
    /// moved (`moved_to`), the live sync ends there with this report.
    CaughtUp(&'a Report),
    /// Up to date; from now on the relay sends records as they come.
    Watching,
    /// This many records of this device reached the relay.
    Sent(usize),
    /// This many records from the relay were applied (the vault is open).
    Received(usize),
    /// A step ended with everything received applied and everything local
    /// pushed.
    Synced,
}

/// A vault held open throughout (tests, benchmarks, the relay's own tools).
impl<S: Storage> Local<S> for Vault<S> {
    fn vault(&mut self) -> Result<&mut Vault<S>, SyncError> {
        Ok(self)
    }
}

/// A vault that is opened when needed and closed when released, keeping
/// the document in memory between, so that opening it again only applies
/// what other processes appended meanwhile ([`Vault::reopen`]).
pub struct Reopening<S: Storage, F: FnMut() -> Result<S, SyncError>> {
    open: F,
    /// The store opened without its document (see [`Self::storage`]).
    first: Option<S>,
    vault: Option<Vault<S>>,
    kept: Option<Kept>,
}

impl<S: Storage, F: FnMut() -> Result<S, SyncError>> Reopening<S, F> {
    pub fn new(open: F) -> Self {
        Reopening {
            open,
            first: None,
            vault: None,
            kept: None,
        }
    }

    /// The vault, if it is open.
    pub fn opened(&mut self) -> Option<&mut Vault<S>> {
        self.vault.as_mut()
    }

    /// The store, opened without loading the document if it is not open:
    /// for its metadata. The vault then loads from this store.
    pub fn storage(&mut self) -> Result<&S, SyncError> {
        if let Some(v) = &self.vault {
            return Ok(v.storage());
        }
        let store = match self.first.take() {
            Some(store) => store,
            None => (self.open)()?,
        };
        Ok(self.first.insert(store))
    }
}

impl<S: Storage, F: FnMut() -> Result<S, SyncError>> Local<S> for Reopening<S, F> {
    fn vault(&mut self) -> Result<&mut Vault<S>, SyncError> {
        let v = match self.vault.take() {
            Some(v) => v,
            None => {
                let store = match self.first.take() {
                    Some(store) => store,
                    None => (self.open)()?,
                };
                match self.kept.take() {
                    Some(k) => Vault::reopen(store, k)?,
                    None => Vault::open(store)?,
                }
            }
        };
        Ok(self.vault.insert(v))
    }

    fn release(&mut self) {
        if let Some(v) = self.vault.take() {
            self.kept = Some(v.close());
        }
    }
}

/// The device's vault in a sled store on disk, for a one-shot sync: the
/// clean stamp beside the store, and the store itself, opened (by `open`)
/// only for the sync's local steps.
pub struct OnDisk<F: FnMut() -> Result<SledStorage, SyncError>> {
    path: PathBuf,
    /// The stamp, once read; taken by the sync.
    stamp: Option<Option<CleanStamp>>,
    store: Reopening<SledStorage, F>,
}

impl<F: FnMut() -> Result<SledStorage, SyncError>> OnDisk<F> {
    /// The store at `path`, which `open` opens.
    pub fn new(path: impl Into<PathBuf>, open: F) -> Self {
        OnDisk {
            path: path.into(),
            stamp: None,
            store: Reopening::new(open),
        }
    }

    /// The vault's id: from the clean stamp if there is one (read under the
    /// store's lock, let go at once), else from the store, opened without
    /// loading the document.
    pub fn vault_id(&mut self) -> Result<String, SyncError> {
        if self.stamp.is_none() {
            self.stamp = Some(self.read_stamp()?);
        }
        if let Some(Some(stamp)) = &self.stamp {
            return Ok(stamp.vault.clone());
        }
        let store = self.store.storage()?;
        let id = store
            .get_meta("vault_id")?
            .ok_or_else(|| StoreError::NoVault {
                path: store.location(),
            })?;
        Ok(String::from_utf8_lossy(&id).into_owned())
    }

    fn read_stamp(&self) -> Result<Option<CleanStamp>, StoreError> {
        Ok(SledStorage::read_clean(&self.path)?.and_then(|c| CleanStamp::from_bytes(&c.stamp)))
    }
}

impl<F: FnMut() -> Result<SledStorage, SyncError>> Local<SledStorage> for OnDisk<F> {
    fn vault(&mut self) -> Result<&mut Vault<SledStorage>, SyncError> {
        self.store.vault()
    }

    fn release(&mut self) {
        self.store.release()
    }

    fn stamp(&mut self) -> Option<CleanStamp> {
        match &mut self.stamp {
            Some(stamp) => stamp.take(),
            None => {
                self.stamp = Some(None);
                self.read_stamp().ok().flatten()
            }
        }
    }

    fn leave_stamp(&mut self) {
        if let Some(v) = self.store.opened() {
            let store = v.storage_mut();
            if let Ok(Some(stamp)) = CleanStamp::of(store) {
                let _ = store.stamp_clean(&stamp.to_bytes());
            }
        }
    }
}
