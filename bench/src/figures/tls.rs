//! Figure 7: what TLS costs a user. A no-op `interlog sync` and an
//! `interlog join` of the big vault, over `wss://` (a relay with
//! `--tls self-signed`, trusted by pin) and over `ws://`, on the same relay
//! data. Each against its floor from the same run: starting a process plus
//! the connection's handshake (TCP, TLS and WebSocket, as the CLI connects),
//! and for the join, the same join over `ws://` plus what the TLS handshake
//! adds.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::net;
use crate::procs::{cli, time_cli, Relay};
use crate::table::{median, ms, Row};
use crate::workload::Built;

/// What one transport measured.
struct Measured {
    noop: Duration,
    join: Duration,
    start: Duration,
    handshake: Duration,
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &Path,
    b: &Built,
    dir: &Path,
    repeats: usize,
) -> Result<Vec<Row>> {
    let data = dir.join("relay");
    // One relay at a time on the relay's data: the plain one, then TLS.
    let plain = {
        let relay = Relay::start(bin, &data)?;
        measure(rt, bin, b, dir, &relay, repeats)?
    };
    let tls = {
        let relay = Relay::start_with(bin, &data, &["--tls", "self-signed"])?;
        measure(rt, bin, b, dir, &relay, repeats)?
    };
    let noop_floor = |m: &Measured| m.start + m.handshake;
    let join_floor = plain.join + tls.handshake.saturating_sub(plain.handshake);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let mut rows = Vec::new();
    for (scheme, m) in [("wss://", &tls), ("ws://", &plain)] {
        let f = noop_floor(m);
        rows.push(
            Row::new(
                "7",
                &format!("no-op `interlog sync` over {scheme}"),
                ms(m.noop),
            )
            .floor(
                format!(
                    "{} (start {} + handshake {})",
                    ms(f),
                    ms(m.start),
                    ms(m.handshake)
                ),
                m.noop.as_secs_f64(),
                f.as_secs_f64(),
            )
            .target("<= 1.5x floor", ratio(m.noop, f) <= 1.5),
        );
    }
    rows.push(
        Row::new(
            "7",
            "`interlog join` of the big vault over wss://",
            ms(tls.join),
        )
        .floor(
            format!(
                "{} (join over ws:// {} + TLS handshake {})",
                ms(join_floor),
                ms(plain.join),
                ms(tls.handshake.saturating_sub(plain.handshake))
            ),
            tls.join.as_secs_f64(),
            join_floor.as_secs_f64(),
        )
        .target("<= 1.2x floor", ratio(tls.join, join_floor) <= 1.2),
    );
    Ok(rows)
}

fn measure(
    rt: &tokio::runtime::Runtime,
    bin: &Path,
    b: &Built,
    dir: &Path,
    relay: &Relay,
    repeats: usize,
) -> Result<Measured> {
    let home = &b.laptop;
    let url = relay.url();
    let mut point = vec!["sync", "--relay", url.as_str()];
    if let Some(pin) = &relay.pin {
        point.extend(["--pin", pin.as_str()]);
    }
    // Points the laptop at this relay and leaves it up to date.
    time_cli(bin, home, &point)?;
    time_cli(bin, home, &["sync"])?;
    let out = cli(bin, home, &["--json", "pair"]).output()?;
    anyhow::ensure!(
        out.status.success(),
        "interlog pair failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let code = code["code"]
        .as_str()
        .context("pair printed no code")?
        .to_string();

    let (mut noops, mut joins, mut starts, mut handshakes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..repeats.max(3) {
        noops.push(time_cli(bin, home, &["sync"])?);
        starts.push(time_cli(bin, home, &["--version"])?);
        handshakes.push(rt.block_on(net::client_handshake(&url, relay.pin.as_deref()))?);
        let fresh = dir.join(format!("tls-join-{i}"));
        std::fs::create_dir_all(&fresh)?;
        joins.push(time_cli(bin, &fresh, &["join", &code])?);
        std::fs::remove_dir_all(&fresh)?;
    }
    Ok(Measured {
        noop: median(&mut noops),
        join: median(&mut joins),
        start: median(&mut starts),
        handshake: median(&mut handshakes),
    })
}
