//! One module per figure of issue 5. Each returns its table rows, every
//! value next to a floor measured in the same run.

pub mod bootstrap;
pub mod capacity;
pub mod cli;
pub mod incremental;
pub mod noop;
pub mod storage;
pub mod tls;

use std::path::Path;

use anyhow::Result;
use interlog_core::store::SledStorage;
use interlog_core::Vault;

/// Opens a device's vault as the CLI does.
pub fn open(home: &Path) -> Result<Vault<SledStorage>> {
    Ok(Vault::open(open_store(home)?)?)
}

/// The store in `home`.
pub fn open_store(home: &Path) -> Result<SledStorage> {
    Ok(SledStorage::open(&interlog_core::home::store_path(home))?)
}
