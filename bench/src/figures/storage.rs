//! Figure 5: bytes on disk, on a device and on the relay, against the size
//! of the Automerge `save()` of the same document; then again after the
//! device compacts its store. A device's store is everything under
//! `<home>/store`: sled's files and the snapshot file beside them. The "as
//! used" figures add its view cache (`<home>/view.cache`), which the CLI
//! figure has written by then.

use anyhow::Result;

use super::open;
use crate::procs::{disk_usage, Relay};
use crate::table::{bytes, Row};
use crate::workload::Built;

pub fn run(_rt: &tokio::runtime::Runtime, b: &Built, relay: &Relay) -> Result<Vec<Row>> {
    let save_size = open(&b.laptop)?.doc.save().len() as u64;
    let cache = |home: &std::path::Path| {
        std::fs::metadata(interlog_core::home::view_cache(home)).map_or(0, |m| m.len())
    };
    let view = cache(&b.laptop);
    let laptop = disk_usage(&interlog_core::home::store_path(&b.laptop));
    let phone = disk_usage(&interlog_core::home::store_path(&b.phone)) + cache(&b.phone);
    // The relay holds every vault built so far; this is the only one yet.
    let relay_bytes = disk_usage(&relay.data);
    {
        let mut v = open(&b.laptop)?;
        v.compact()?;
    }
    let compacted = disk_usage(&interlog_core::home::store_path(&b.laptop));
    let laptop = laptop + view;
    let floor = format!("save() {}", bytes(save_size));
    let sf = save_size as f64;
    Ok(vec![
        Row::new(
            "5",
            "(of which the laptop's view cache, for reads)",
            bytes(view),
        )
        .floor(floor.clone(), view as f64, sf),
        Row::new("5", "device store (laptop), as used", bytes(laptop)).floor(
            floor.clone(),
            laptop as f64,
            sf,
        ),
        Row::new("5", "device store (phone), as used", bytes(phone)).floor(
            floor.clone(),
            phone as f64,
            sf,
        ),
        Row::new("5", "device sled store after compaction", bytes(compacted))
            .floor(floor.clone(), compacted as f64, sf)
            .target("<= 2x", compacted as f64 <= 2.0 * sf),
        Row::new("5", "relay data (records + snapshot)", bytes(relay_bytes)).floor(
            floor,
            relay_bytes as f64,
            sf,
        ),
    ])
}
