//! One module per figure of issue 5. Each returns its table rows, every
//! value next to a floor measured in the same run.

pub mod bootstrap;
pub mod capacity;
pub mod cli;
pub mod incremental;
pub mod noop;
pub mod storage;

use std::path::Path;

use anyhow::Result;
use interlog_core::store::SledStorage;
use interlog_core::Vault;

/// Opens a device's vault as the CLI does.
///
/// sled releases its own file lock from a background thread shortly after
/// the last handle is dropped, so reopening a store in the same process
/// right away can fail with "could not acquire lock"; it is retried here.
pub fn open(home: &Path) -> Result<Vault<SledStorage>> {
    Ok(Vault::open(open_store(home)?)?)
}

/// The store in `home`, retried as [`open`] explains.
pub fn open_store(home: &Path) -> Result<SledStorage> {
    let mut tries = 0;
    loop {
        match SledStorage::open(&home.join("store")) {
            Ok(s) => return Ok(s),
            Err(e) if tries < 100 && e.to_string().contains("could not acquire lock") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
