//! Figure 6: `interlog sync` on a device that is already up to date, against
//! the floor of starting a process plus one WebSocket handshake. A proxy
//! counts the round trips it takes.

use std::path::Path;

use anyhow::Result;
use interlog_core::store::SledStorage;

use crate::net::{self, Proxy};
use crate::procs::{time_cli, Relay};
use crate::table::{median, ms, Row};
use crate::workload::Built;

pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &Path,
    b: &Built,
    relay: &Relay,
    repeats: usize,
) -> Result<Vec<Row>> {
    let home = &b.laptop;
    // Up to date first.
    time_cli(bin, home, &["sync"])?;
    let mut syncs = Vec::new();
    let mut starts = Vec::new();
    let mut handshakes = Vec::new();
    for _ in 0..repeats.max(3) {
        syncs.push(time_cli(bin, home, &["sync"])?);
        starts.push(time_cli(bin, home, &["--version"])?);
        handshakes.push(rt.block_on(net::handshake(&relay.url()))?);
    }
    // What the no-op sync reads instead of opening sled: the clean stamp the
    // previous sync left, under the store's lock. Without one, every sync
    // above opened the store, and this figure would not be what it says.
    let mut reads = Vec::new();
    for _ in 0..repeats.max(3) {
        let t = std::time::Instant::now();
        let clean = SledStorage::read_clean(&interlog_core::home::store_path(home))?;
        reads.push(t.elapsed());
        anyhow::ensure!(
            clean.is_some(),
            "no clean stamp beside {}: a no-op sync opened the store",
            home.display()
        );
    }
    let read = median(&mut reads);
    let (s, start, hs) = (
        median(&mut syncs),
        median(&mut starts),
        median(&mut handshakes),
    );
    let f = start + hs;

    // Round trips, through a proxy (the key file points at it meanwhile).
    let proxy = rt.block_on(Proxy::start(&relay.addr))?;
    proxy.reset();
    time_cli(bin, home, &["sync", "--relay", &proxy.url()])?;
    let trips = proxy.round_trips();
    let turns = proxy.turns();
    time_cli(bin, home, &["sync", "--relay", &relay.url()])?;
    drop(proxy);

    Ok(vec![
        Row::new("6", "no-op `interlog sync` (big vault)", ms(s))
            .floor(
                format!("{} (start {} + handshake {})", ms(f), ms(start), ms(hs)),
                s.as_secs_f64(),
                f.as_secs_f64(),
            )
            .target("<= 1.5x floor", s.as_secs_f64() <= 1.5 * f.as_secs_f64()),
        Row::new(
            "6",
            "(in-process: read the clean stamp, under the store's lock)",
            ms(read),
        )
        .floor(
            format!("{} (start + handshake)", ms(f)),
            read.as_secs_f64(),
            f.as_secs_f64(),
        ),
        Row::new(
            "6",
            "no-op sync: round trips after the WebSocket handshake",
            trips.to_string(),
        )
        .floor(format!("bytes by turn: {turns}"), 0.0, 0.0)
        .target("1", trips <= 1),
    ])
}
