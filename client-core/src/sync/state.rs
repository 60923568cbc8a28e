//! What a device remembers about syncing, kept in its store's metadata and
//! written (flushed) at each step, so a sync can stop anywhere and resume.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::store::{Storage, StoreError};
use crate::wire::Record;

const KEY: &str = "sync";

/// A sealed record waiting for the relay's acknowledgement, and the heads it
/// brings the device to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    pub record: Record,
    heads: Vec<ByteBuf>,
}

impl Outbox {
    pub fn new(record: Record, heads: &[ChangeHash]) -> Self {
        Outbox {
            record,
            heads: heads.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect(),
        }
    }
}

fn to_heads(raw: &[ByteBuf]) -> Vec<ChangeHash> {
    raw.iter()
        .filter_map(|b| ChangeHash::try_from(b.as_slice()).ok())
        .collect()
}

/// The device's sync state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// The seq this device's next record gets (from 1).
    pub next_seq: u64,
    #[serde(skip)]
    pub pushed_heads: Vec<ChangeHash>,
    pushed: Vec<ByteBuf>,
    /// Per device, the last seq applied here.
    pub cursors: BTreeMap<String, u64>,
    pub outbox: Option<Outbox>,
    /// Whether the relay knows this vault (registration happened).
    pub registered: bool,
    /// This device's last snapshot id.
    pub snapshot_id: u64,
    /// Records pushed or applied since this device's last snapshot.
    pub since_snapshot: u64,
    /// Unix seconds of the last successful sync, and the last error.
    pub last_sync: Option<i64>,
    pub last_error: Option<String>,
    /// The store's last seq when a sync last left it with every local change
    /// on the relay. While it still is, and there is no outbox, there is
    /// nothing to push, and a sync need not load the document to know it.
    #[serde(default)]
    pub clean_at: Option<u64>,
}

impl SyncState {
    pub fn load<S: Storage>(store: &S) -> Result<Self, StoreError> {
        let mut s: SyncState = match store.get_meta(KEY)? {
            Some(bytes) => {
                ciborium::from_reader(bytes.as_slice()).map_err(|e| StoreError::Corrupt {
                    path: store.location(),
                    detail: format!("sync state: {e}"),
                })?
            }
            None => SyncState::default(),
        };
        s.next_seq = s.next_seq.max(1);
        s.pushed_heads = to_heads(&s.pushed);
        Ok(s)
    }

    pub fn save<S: Storage>(&mut self, store: &mut S) -> Result<(), StoreError> {
        self.pushed = self
            .pushed_heads
            .iter()
            .map(|h| ByteBuf::from(h.0.to_vec()))
            .collect();
        let mut bytes = Vec::new();
        ciborium::into_writer(self, &mut bytes).map_err(|e| StoreError::Io {
            path: store.location(),
            detail: e.to_string(),
        })?;
        store.put_meta(KEY, &bytes)
    }

    /// The relay acknowledged the outbox record.
    pub fn finish_push(&mut self, outbox: &Outbox) {
        self.next_seq = outbox.record.seq + 1;
        self.pushed_heads = to_heads(&outbox.heads);
        self.outbox = None;
        self.since_snapshot += 1;
    }
}
