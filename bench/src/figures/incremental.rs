//! Figure 2: incremental sync. A new interview logged on device A reaches
//! device B, both in watch mode, over `edits` edits on the small vault:
//!
//! - as a user runs it: `interlog sync --watch` on both devices and
//!   `interlog log` on A; from the moment `log` exits (its change is saved)
//!   to B's watcher reporting the change applied (durably);
//! - the sync path alone, in one process: A saves an edit and pushes it on a
//!   live session, B receives and applies it durably;
//!
//! next to the raw WebSocket round trip (a ping the relay's WebSocket layer
//! answers) and a durable append's round trip, measured in the same run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use interlog_core::crypto::VaultKey;
use interlog_core::model::Kind;
use interlog_core::sync::{self, device_name, Membership, Session, SyncState};
use interlog_core::wire::Frame;
use serde_json::json;

use super::open;
use crate::net;
use crate::procs::{cli, time_cli, Relay};
use crate::table::{ms, percentile, Row};
use crate::workload::Built;

/// A running `interlog sync --watch`, its standard error read line by line.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
}

impl Watcher {
    fn start(bin: &Path, home: &Path) -> Result<Watcher> {
        let mut child = cli(bin, home, &["sync", "--watch"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("start interlog sync --watch")?;
        let stderr = child.stderr.take().context("watcher stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let w = Watcher { child, lines: rx };
        w.wait_for("watching", Duration::from_secs(60))?;
        Ok(w)
    }

    /// When the next line containing `what` arrived.
    fn wait_for(&self, what: &str, timeout: Duration) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.contains(what) => return Ok(at),
                Ok((_, line)) if line.contains("error") || line.contains("warning") => {
                    bail!("watcher: {line}")
                }
                Ok(_) => continue,
                Err(_) => bail!("no '{what}' from the watcher within {timeout:?}"),
            }
        }
    }

    fn drain(&self) {
        while self.lines.try_recv().is_ok() {}
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // SAFETY: signalling our own child; Ctrl-C stops a watch cleanly.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &Path,
    small: &Built,
    relay: &Relay,
    edits: usize,
) -> Result<Vec<Row>> {
    let edits = edits.max(1);
    // As a user runs it.
    let mut cli_lat = Vec::with_capacity(edits);
    {
        let a = Watcher::start(bin, &small.laptop)?;
        let b = Watcher::start(bin, &small.phone)?;
        for i in 0..edits {
            b.drain();
            a.drain();
            let company = format!("Company {}", i % 40);
            time_cli(
                bin,
                &small.laptop,
                &["log", &company, "--kind", "technical", "--rating", "3"],
            )?;
            let logged = Instant::now();
            let arrived = b.wait_for("received", Duration::from_secs(30))?;
            cli_lat.push(arrived.saturating_duration_since(logged));
        }
    }

    // The sync path alone.
    let lib_lat = rt.block_on(library_path(small, edits))?;

    // Floors: a WebSocket ping, and a durable append on a vault of its own.
    let mut pings = rt.block_on(net::ping_round_trips(&relay.url(), edits))?;
    let mut appends = rt.block_on(append_round_trips(&relay.url(), edits.min(500)))?;
    let (ping50, ping99) = (percentile(&mut pings, 50.0), percentile(&mut pings, 99.0));
    let append50 = percentile(&mut appends, 50.0);
    let append99 = percentile(&mut appends, 99.0);
    let floor = format!("ws ping p50 {} / p99 {}", ms(ping50), ms(ping99));

    let mut rows = Vec::new();
    for (name, lat) in [
        ("A→B, `interlog log` + 2x `sync --watch`", cli_lat),
        ("A→B, sync path in-process (save, push, apply)", lib_lat),
    ] {
        let mut lat = lat;
        let p50 = percentile(&mut lat, 50.0);
        let p99 = percentile(&mut lat, 99.0);
        rows.push(
            Row::new("2", &format!("{name}: p50"), ms(p50))
                .floor(floor.clone(), p50.as_secs_f64(), ping50.as_secs_f64())
                .target("< 5 ms", p50 < Duration::from_millis(5)),
        );
        rows.push(
            Row::new("2", &format!("{name}: p99"), ms(p99))
                .floor(floor.clone(), p99.as_secs_f64(), ping99.as_secs_f64())
                .target("< 20 ms", p99 < Duration::from_millis(20)),
        );
    }
    rows.push(
        Row::new(
            "2",
            "(durable append round trip on the relay: p50 / p99)",
            format!("{} / {}", ms(append50), ms(append99)),
        )
        .floor(floor, append50.as_secs_f64(), ping50.as_secs_f64()),
    );
    Ok(rows)
}

/// A saves an interview and pushes it on its session; B, subscribed live,
/// applies it durably. Both vaults are open in this process throughout.
async fn library_path(small: &Built, edits: usize) -> Result<Vec<Duration>> {
    let m = &small.membership;
    let mut a = open(&small.laptop)?;
    let mut b = open(&small.phone)?;
    let mut sa = Session::open(m, &device_name(a.device_id()), false, None).await?;
    let mut sb = Session::open(m, &device_name(b.device_id()), false, None).await?;
    sa.push(&mut a).await?;
    sa.pull(&mut a).await?;
    sb.push(&mut b).await?;
    sb.pull(&mut b).await?;
    let cursors = SyncState::load(b.storage())?.cursors;
    sb.send(&Frame::Sync {
        cursors,
        live: true,
        want_snapshot: false,
    })
    .await?;
    loop {
        match sb.recv(sync::TIMEOUT).await? {
            Frame::CaughtUp => break,
            Frame::Records { records } => {
                sb.apply_live(&mut b, &records).await?;
            }
            other => bail!("unexpected {other:?}"),
        }
    }
    let company = a.doc.create(
        Kind::Company,
        &crate::workload::obj(json!({"name": "Live Co"})),
    )?;
    a.save("company")?;
    let mut out = Vec::with_capacity(edits);
    for i in 0..=edits {
        a.doc.create(
            Kind::Interview,
            &crate::workload::obj(json!({
                "company": company,
                "start": interlog_core::time::now().to_string(),
                "status": "done",
                "kind": "technical",
                "rating": 3,
                "notes": format!("live edit {i}"),
            })),
        )?;
        // A person does not log 200 interviews a second: stay well under
        // the relay's per-connection append rate.
        tokio::time::sleep(Duration::from_millis(10)).await;
        a.save("log interview")?;
        let logged = Instant::now();
        let pushed = async { sa.push(&mut a).await.map_err(anyhow::Error::from) };
        let arrived = async {
            loop {
                match sb.recv(sync::TIMEOUT).await? {
                    Frame::Records { records } => {
                        let (_, applied) = sb.apply_live(&mut b, &records).await?;
                        if applied > 0 {
                            return Ok::<_, anyhow::Error>(Instant::now());
                        }
                    }
                    Frame::CaughtUp => {}
                    other => return Err(anyhow!("unexpected {other:?}")),
                }
            }
        };
        let both = async { tokio::try_join!(pushed, arrived) };
        let (_, arrived) = tokio::time::timeout(Duration::from_secs(30), both)
            .await
            .map_err(|_| anyhow!("edit {i} did not reach device B within 30 s"))??;
        // The first edit also carries the company: not counted.
        if i > 0 {
            out.push(arrived.saturating_duration_since(logged));
        }
    }
    sa.close().await;
    sb.close().await;
    Ok(out)
}

/// Durable appends (append → ack) on a vault registered for this alone.
async fn append_round_trips(relay: &str, n: usize) -> Result<Vec<Duration>> {
    let m = Membership {
        relay: relay.to_string(),
        pin: None,
        vault: format!("bench-append-{}", std::process::id()),
        key: VaultKey::generate()?,
    };
    let device = "bench-append-device";
    let keys = m.key.derive();
    let mut s = Session::open(&m, device, true, None).await?;
    let payload = vec![7u8; 400];
    let mut out = Vec::with_capacity(n);
    let mut last = Instant::now();
    for seq in 1..=n as u64 {
        // Stay under the relay's per-connection rate limit (200/s).
        let gap = Duration::from_millis(6);
        let since = last.elapsed();
        if since < gap {
            tokio::time::sleep(gap - since).await;
        }
        last = Instant::now();
        let record = sync::seal_record(&keys, &m.vault, device, seq, &payload)?;
        let started = Instant::now();
        s.send(&Frame::Append { record }).await?;
        match s.recv(sync::TIMEOUT).await? {
            Frame::Ack { .. } => out.push(started.elapsed()),
            other => bail!("unexpected {other:?}"),
        }
    }
    s.close().await;
    Ok(out)
}
