//! Figure 1: cold bootstrap. A new device joins the big vault from the relay
//! on loopback (`sync::join`, what `interlog join` runs), against the floor:
//! opening the same sealed snapshot bytes from memory, an Automerge load of
//! them and one sled write. Bytes received are counted by a proxy and set
//! against the sealed snapshot's size.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use interlog_core::crypto;
use interlog_core::store::{SledStorage, Storage};
use interlog_core::sync::{self, JoinCode, Membership, Session};
use interlog_core::wire::{Frame, Snapshot};
use interlog_core::VaultDoc;

use super::open;
use crate::net::Proxy;
use crate::table::{bytes, median, ms, Row};
use crate::workload::Built;

pub fn run(
    rt: &tokio::runtime::Runtime,
    b: &Built,
    dir: &Path,
    repeats: usize,
) -> Result<Vec<Row>> {
    // A fresh snapshot, as `interlog pair` uploads before it prints a code.
    {
        let mut v = open(&b.laptop)?;
        rt.block_on(sync::run(
            &mut v,
            &b.membership,
            sync::Options {
                force_snapshot: true,
                ..sync::Options::default()
            },
        ))?;
    }
    let code = JoinCode::new(&b.membership);
    let snap = rt.block_on(fetch_snapshot(&b.membership))?;
    let keys = b.membership.key.derive();
    let aad = crypto::snapshot_aad(&b.membership.vault, &snap.device, snap.id, &snap.covers);

    let mut floor = Vec::new();
    let mut joins = Vec::new();
    for i in 0..repeats.max(1) {
        // Alternate, so drift in the machine's load hits both alike.
        let path = dir.join(format!("bootstrap-floor-{i}"));
        let started = Instant::now();
        let plain = keys.open(&aad, &snap.payload)?;
        let doc = VaultDoc::load(Some(&plain), [])?;
        let mut store = SledStorage::open(&path)?;
        store.append(&plain)?;
        floor.push(started.elapsed());
        drop((doc, store));
        std::fs::remove_dir_all(&path)?;

        let path = dir.join(format!("bootstrap-join-{i}"));
        let started = Instant::now();
        let store = SledStorage::open(&path)?;
        let (v, _) = rt.block_on(sync::join(&code, store))?;
        joins.push(started.elapsed());
        drop(v);
        std::fs::remove_dir_all(&path)?;
    }

    let target = b.membership.relay.trim_start_matches("ws://").to_string();
    let proxy = rt.block_on(Proxy::start(&target))?;
    let mut via = b.membership.clone();
    via.relay = proxy.url();
    let path = dir.join("bootstrap-bytes");
    let (v, _) = rt.block_on(sync::join(&JoinCode::new(&via), SledStorage::open(&path)?))?;
    drop(v);
    std::fs::remove_dir_all(&path)?;
    let received = proxy.received();
    let sealed = snap.payload.len() as u64;

    let (j, f) = (median(&mut joins), median(&mut floor));
    Ok(vec![
        Row::new("1", "cold bootstrap: join the big vault", ms(j))
            .floor(
                format!("{} (open + load + 1 sled write)", ms(f)),
                j.as_secs_f64(),
                f.as_secs_f64(),
            )
            .target("<= 2x floor", j.as_secs_f64() <= 2.0 * f.as_secs_f64()),
        Row::new("1", "cold bootstrap: bytes received", bytes(received))
            .floor(
                format!("sealed snapshot {}", bytes(sealed)),
                received as f64,
                sealed as f64,
            )
            .target("<= 1.2x", received as f64 <= 1.2 * sealed as f64),
    ])
}

/// The sealed snapshot the relay serves a joining device.
async fn fetch_snapshot(m: &Membership) -> Result<Snapshot> {
    let mut s = Session::open(m, "bench-probe", false, None).await?;
    s.send(&Frame::Sync {
        cursors: BTreeMap::new(),
        live: false,
        want_snapshot: true,
    })
    .await?;
    let mut snap = None;
    loop {
        match s.recv(sync::TIMEOUT).await? {
            Frame::Snapshot { snapshot } => snap = Some(snapshot),
            Frame::CaughtUp => break,
            _ => {}
        }
    }
    s.close().await;
    snap.context("the relay holds no snapshot of the big vault")
}
