//! Per-vault live fan-out and connection counting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use interlog_core::wire::Record;
use tokio::sync::broadcast;

/// How many records a live subscriber may fall behind before it is dropped
/// (it reconnects and resumes from its cursors).
const LIVE_BACKLOG: usize = 256;

struct VaultHub {
    tx: broadcast::Sender<Arc<Record>>,
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
    pub tx: broadcast::Sender<Arc<Record>>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut v = self.vaults.lock().unwrap_or_else(|p| p.into_inner());
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
        let mut v = self.vaults.lock().unwrap_or_else(|p| p.into_inner());
        let h = v.entry(vault.to_string()).or_insert_with(|| VaultHub {
            tx: broadcast::channel(LIVE_BACKLOG).0,
            connections: 0,
        });
        if h.connections >= self.max_per_vault {
            return None;
        }
        h.connections += 1;
        Some(Membership {
            vault: vault.to_string(),
            vaults: self.vaults.clone(),
            tx: h.tx.clone(),
        })
    }
}
