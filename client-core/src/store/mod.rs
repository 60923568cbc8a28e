//! Local storage of the vault document.
//!
//! The [`Storage`] trait is the seam: [`SledStorage`] is the real, embedded
//! store; [`MemoryStorage`] serves tests. Both pass one contract suite
//! ([`storage_contract!`]). The model is an append-only log of incremental
//! Automerge chunks on top of an optional snapshot:
//!
//! - `append` stores one chunk and returns only once it is flushed to disk, so
//!   a command that reports success has a durable write behind it;
//! - `compact` replaces the snapshot and the chunks it covers in one atomic
//!   step: after a crash the store holds either the old snapshot and all its
//!   chunks or the new snapshot and the chunks after it, never a mix.
//!
//! [`Vault`] ties a [`crate::VaultDoc`] to a storage and decides when to compact.
//! [`open_view`] opens a vault to read only, from a cached rendering while
//! the store is unchanged; [`refresh_view`] keeps that rendering current
//! after a write.

mod cache;
mod memory;
mod sled_store;
mod vault;

pub use cache::{open_view, refresh_view};
pub use memory::MemoryStorage;
pub use sled_store::{CleanStore, SledStorage};
pub use vault::{Kept, Saved, Vault, COMPACT_AFTER_CHUNKS};

/// What a storage holds: the latest snapshot and the chunks appended after it,
/// in append order, each with its sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub snapshot: Option<Vec<u8>>,
    pub chunks: Vec<(u64, Vec<u8>)>,
}

/// A place to keep one vault's document and a few metadata values.
pub trait Storage {
    /// Where the data lives, for error messages (a path, or `memory`).
    fn location(&self) -> String;
    /// Everything stored.
    fn load(&self) -> Result<Stored, StoreError>;
    /// Appends a chunk durably and returns its sequence number.
    fn append(&mut self, chunk: &[u8]) -> Result<u64, StoreError>;
    /// The sequence number of the last append (0 before any). It only grows,
    /// across compactions too, so an unchanged value means nothing was
    /// appended since.
    fn last_seq(&self) -> Result<u64, StoreError>;
    /// Atomically stores `snapshot` and drops every chunk with seq <= `through`.
    fn compact(&mut self, snapshot: &[u8], through: u64) -> Result<(), StoreError>;
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a metadata value durably.
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}

/// Why the store could not be used. Each message names the path and says
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no vault at {path}; run `interlog init` to create one, or pass --home / INTERLOG_HOME to use another")]
    NoVault { path: String },
    #[error("that is not an Interlog vault document (as written by `interlog export --format automerge`): {detail}; nothing was written")]
    NotAVault { detail: String },
    #[error("a vault already exists at {path}; nothing was changed")]
    AlreadyExists { path: String },
    #[error("the vault at {path} is in use by another interlog process; wait for it to finish and try again")]
    Busy { path: String },
    #[error("the vault store at {path} is corrupt ({detail}); nothing was changed. Keep it as it is, since it may hold entries no other device has: first copy the whole home directory somewhere safe, then follow docs/reliability.md (\"A store that does not open\")")]
    Corrupt { path: String, detail: String },
    #[error("could not read or write the vault store at {path}: {detail}")]
    Io { path: String, detail: String },
}

/// The contract every [`Storage`] implementation must meet. Invoke it with an
/// expression that builds a fresh, empty storage, and one that reopens it.
#[cfg(test)]
macro_rules! storage_contract {
    ($make:expr, $reopen:expr) => {
        use $crate::store::{Storage, Stored};

        #[test]
        fn empty_store_loads_empty() {
            let (s, _g) = $make;
            assert_eq!(s.load().unwrap(), Stored::default());
            assert_eq!(s.get_meta("x").unwrap(), None);
        }

        #[test]
        fn appends_come_back_in_order_after_reopen() {
            let (mut s, g) = $make;
            let a = s.append(b"one").unwrap();
            let b = s.append(b"two").unwrap();
            assert!(b > a);
            s.put_meta("device", b"d1").unwrap();
            let s = $reopen(s, &g);
            let loaded = s.load().unwrap();
            assert_eq!(loaded.snapshot, None);
            let chunks: Vec<_> = loaded.chunks.iter().map(|(_, c)| c.as_slice()).collect();
            assert_eq!(chunks, vec![b"one".as_slice(), b"two".as_slice()]);
            assert_eq!(
                s.get_meta("device").unwrap().as_deref(),
                Some(b"d1".as_slice())
            );
        }

        #[test]
        fn compaction_replaces_covered_chunks_only() {
            let (mut s, g) = $make;
            s.append(b"one").unwrap();
            let two = s.append(b"two").unwrap();
            s.append(b"three").unwrap();
            s.compact(b"snap", two).unwrap();
            let s = $reopen(s, &g);
            let loaded = s.load().unwrap();
            assert_eq!(loaded.snapshot.as_deref(), Some(b"snap".as_slice()));
            let chunks: Vec<_> = loaded.chunks.iter().map(|(_, c)| c.as_slice()).collect();
            assert_eq!(chunks, vec![b"three".as_slice()]);
        }

        #[test]
        fn seqs_keep_growing_after_compaction() {
            let (mut s, _g) = $make;
            let one = s.append(b"one").unwrap();
            s.compact(b"snap", one).unwrap();
            let two = s.append(b"two").unwrap();
            assert!(two > one);
            assert_eq!(s.last_seq().unwrap(), two);
            let mut s2 = s;
            s2.compact(b"snap2", two).unwrap();
            let loaded = s2.load().unwrap();
            assert_eq!(loaded.snapshot.as_deref(), Some(b"snap2".as_slice()));
            assert!(loaded.chunks.is_empty());
            assert_eq!(s2.last_seq().unwrap(), two, "compaction keeps the last seq");
        }

        #[test]
        fn meta_values_overwrite() {
            let (mut s, _g) = $make;
            s.put_meta("k", b"1").unwrap();
            s.put_meta("k", b"2").unwrap();
            assert_eq!(s.get_meta("k").unwrap().as_deref(), Some(b"2".as_slice()));
        }
    };
}

#[cfg(test)]
pub(crate) use storage_contract;
