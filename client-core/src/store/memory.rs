//! An in-memory [`Storage`] for tests.

use std::collections::BTreeMap;

use super::{Storage, StoreError, Stored};

/// Keeps everything in memory; cloning shares nothing.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    snapshot: Option<Vec<u8>>,
    chunks: BTreeMap<u64, Vec<u8>>,
    next_seq: u64,
    meta: BTreeMap<String, Vec<u8>>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemoryStorage {
    fn location(&self) -> String {
        "memory".into()
    }

    fn load(&self) -> Result<Stored, StoreError> {
        Ok(Stored {
            snapshot: self.snapshot.clone(),
            chunks: self.chunks.iter().map(|(k, v)| (*k, v.clone())).collect(),
        })
    }

    fn append(&mut self, chunk: &[u8]) -> Result<u64, StoreError> {
        self.next_seq += 1;
        self.chunks.insert(self.next_seq, chunk.to_vec());
        Ok(self.next_seq)
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.next_seq)
    }

    fn compact(&mut self, snapshot: &[u8], through: u64) -> Result<(), StoreError> {
        self.snapshot = Some(snapshot.to_vec());
        self.chunks.retain(|seq, _| *seq > through);
        Ok(())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key).cloned())
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(key.into(), value.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod contract {
    super::super::storage_contract!(
        (super::MemoryStorage::new(), ()),
        |s: super::MemoryStorage, _g: &()| s
    );
}
