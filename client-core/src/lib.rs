//! # interlog-core
//!
//! The logic behind Interlog, a private, offline-first journal of interviews,
//! contacts, offers and follow-ups. Every device holds the whole journal (the
//! *vault*) as one Automerge document in a local store; binaries stay thin and
//! call into this crate.
//!
//! # Layout
//! - [`wire`]: protocol message types and their CBOR codec. It builds without
//!   automerge or sled (`default-features = false`), so the relay can depend
//!   on it alone.
//! - [`sled_quirks`]: a repair for sled's half-written snapshots, shared with
//!   the relay.
//! - [`model`] (feature `vault`): the schema (record kinds, fields, enums),
//!   parsing of user input into field values, and read-only record views.
//! - [`doc`] (feature `vault`): the vault document: typed edits on top of
//!   Automerge, conflict discovery, JSON conversion.
//! - [`store`] (feature `vault`): the storage trait, its sled and in-memory
//!   implementations, and [`store::Vault`], which ties a document to a store
//!   with flushed, append-only writes and atomic compaction; the read-only
//!   view's cache file (`store/cache.rs`).
//! - [`files`] (feature `vault`): owner-only files beside the store.
//! - [`home`] (feature `vault`): a device's home directory, what it holds
//!   and keeping it owner-only.
//! - [`journal`] (feature `vault`): the operations users perform (log an
//!   interview, add, edit or delete a record, a retro, a negotiation
//!   round…), each a typed request in and a typed result out. Both shells
//!   call these.
//! - [`report`] (feature `vault`): `today`, `stats` and `search`, a record's
//!   fields and a list's columns as text (`report::text`), and the HTML
//!   report of a period with its inline SVG charts.
//! - [`export`] (feature `vault`): JSON, CSV and iCalendar exports, JSON import.
//! - [`redact`] (feature `vault`): the journal with names, contact details
//!   and prose replaced, numbers and dates kept, for `--redact` exports and
//!   reports.
//! - [`tls`] (feature `tls`): the roots a device trusts, relay pins, and
//!   what a failed handshake means; the relay uses it too.
//! - [`crypto`] (feature `sync`): the vault key, key derivation and sealing.
//! - [`sync`] (feature `sync`): the relay client. One entry point,
//!   [`sync::run`], one-shot or live, with the clean-stamp fast path inside
//!   it; snapshots, joining and recovering a vault.

pub mod sled_quirks;
pub mod wire;

#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "sync")]
pub mod crypto;
#[cfg(feature = "sync")]
pub mod sync;

#[cfg(feature = "vault")]
pub mod doc;
#[cfg(feature = "vault")]
pub mod export;
#[cfg(feature = "vault")]
pub mod files;
#[cfg(feature = "vault")]
pub mod home;
#[cfg(feature = "vault")]
pub mod journal;
#[cfg(feature = "vault")]
pub mod model;
#[cfg(feature = "vault")]
pub mod redact;
#[cfg(feature = "vault")]
pub mod report;
#[cfg(feature = "vault")]
pub mod store;
#[cfg(feature = "vault")]
pub mod time;

#[cfg(feature = "vault")]
pub use doc::{DocError, ReadJournal, VaultDoc, VaultView};
#[cfg(feature = "vault")]
pub use model::{Kind, Record};
#[cfg(feature = "vault")]
pub use store::{StoreError, Vault};

/// A peer-supplied id (a device id from the relay) cut to its first `chars`
/// characters, with no ellipsis, and made safe to print ([`peer_text`]).
pub fn peer_id(id: &str, chars: usize) -> String {
    peer_text(&id.chars().take(chars).collect::<String>(), chars)
}

/// Text a peer (a relay, a server's certificate, a file) supplied, made
/// safe to print: at most `max` characters, with every character a
/// terminal would act on ([`is_unsafe`]) shown as `?`.
pub fn peer_text(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if is_unsafe(c) { '?' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Whether `c` must not reach a terminal as it is: C0 and C1 control
/// characters and DEL (ESC starts escape sequences; U+009B is a one-byte
/// CSI on some terminals), and the Unicode controls that reorder text
/// (bidi embeddings, overrides and isolates, and the marks, which make text
/// read differently from what it says).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}
