//! Working around sled 0.34.7 when a process is killed mid-write. Shared by
//! the device store and the relay store; plain `std`, so it builds with or
//! without the `vault` feature.

use std::path::Path;

/// Removes `snap.*.generating` files from a sled directory. sled 0.34.7
/// writes a snapshot of its page table to `snap.<lsn>.generating` and renames
/// it when complete, but on open it considers every `snap.*` file and picks
/// the last by name, so a process killed mid-snapshot leaves a file that
/// makes every later open fail with "Read corrupted data" (sled issues #1527,
/// #1533). A `.generating` file is incomplete by construction and the log it
/// summarises is intact, so removing it is safe. Call it only while holding
/// the store's lock, when no other process can be writing one. A missing
/// directory is not an error. tests/tests/crash.rs found this.
pub fn clear_interrupted_snapshots(path: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
