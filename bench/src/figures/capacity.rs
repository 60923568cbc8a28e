//! Figure 3: relay capacity. A real relay process serves `2 x vaults`
//! devices connected at once, each vault's second device subscribed live,
//! while the first ones append: first a steady stream at a fixed offered
//! rate, then as fast as the relay acknowledges. Memory comes from the relay's
//! `/proc/<pid>/status` (VmRSS, VmHWM), CPU time from `/proc/<pid>/stat`.
//!
//! The same figure runs on sled (one relay) and on Postgres with one and
//! with two relay instances on one database; with two, every vault's writer
//! is on the first instance and its reader on the second, so every record
//! crosses instances (NOTIFY, then a read from the reader's cursors). The
//! flat-out rate stands next to the store's own ceiling, measured in the
//! same run: the same store in the bench's process, 32 threads appending
//! as fast as it acknowledges (no network, no protocol).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use interlog_core::crypto::{Derived, VaultKey};
use interlog_core::sync::{self, Connection};
use interlog_core::wire::{Frame, PROTOCOL_VERSION};
use serde_bytes::ByteBuf;

use std::sync::Arc;

use interlog_core::wire::{RecordKind, SealedRecord};
use interlog_relay::store::{Appended, PostgresRelayStore, RelayStore, SledRelayStore};

use crate::procs::Relay;
use crate::table::{bytes, ms, percentile, Row};
use crate::Config;

/// One vault: a writer device and a live reader device.
struct Pair {
    vault: String,
    keys: Derived,
    writer: Connection,
    reader: Connection,
    seq: u64,
}

async fn hello(
    relay: &str,
    vault: &str,
    device: &str,
    keys: &Derived,
    register: bool,
) -> Result<Connection> {
    let mut c = Connection::connect(relay, None).await?;
    c.send(&Frame::Hello {
        version: PROTOCOL_VERSION,
        capabilities: vec!["snapshot".into(), "live".into()],
        vault: vault.into(),
        device: device.into(),
        token: ByteBuf::from(keys.token.to_vec()),
        register,
        invite: None,
    })
    .await?;
    match c.recv(sync::TIMEOUT).await? {
        Frame::Welcome { .. } => Ok(c),
        other => bail!("expected welcome, got {other:?}"),
    }
}

async fn subscribe(c: &mut Connection) -> Result<()> {
    c.send(&Frame::Sync {
        cursors: BTreeMap::new(),
        live: true,
        want_snapshot: false,
    })
    .await?;
    loop {
        match c.recv(sync::TIMEOUT).await? {
            Frame::CaughtUp => return Ok(()),
            Frame::Records { .. } => {}
            other => bail!("expected caught_up, got {other:?}"),
        }
    }
}

async fn connect_pair(writer_relay: String, reader_relay: String, i: usize) -> Result<Pair> {
    let vault = format!("cap-{i:04}-{}", std::process::id());
    let keys = VaultKey::generate()?.derive();
    let mut writer = hello(&writer_relay, &vault, "writer", &keys, true).await?;
    let mut reader = hello(&reader_relay, &vault, "reader", &keys, false).await?;
    subscribe(&mut writer).await?;
    subscribe(&mut reader).await?;
    Ok(Pair {
        vault,
        keys,
        writer,
        reader,
        seq: 0,
    })
}

/// Appends until `until`, every `gap` (at least); returns the fan-out
/// latencies (append sent → record at the other device).
async fn stream(
    mut p: Pair,
    gap: Duration,
    offset: Duration,
    until: Instant,
    payload: usize,
) -> Result<(Pair, Vec<Duration>)> {
    let mut lat = Vec::new();
    tokio::time::sleep(offset).await;
    let mut next = Instant::now();
    let body = vec![0x5au8; payload];
    while Instant::now() < until {
        let now = Instant::now();
        if now < next {
            tokio::time::sleep(next - now).await;
        }
        next += gap;
        p.seq += 1;
        let record = sync::seal_record(&p.keys, &p.vault, "writer", p.seq, &body)?;
        let sent = Instant::now();
        let Pair { writer, reader, .. } = &mut p;
        writer.send(&Frame::Append { record }).await?;
        let ack = async {
            match writer.recv(sync::TIMEOUT).await? {
                Frame::Ack { .. } => Ok(()),
                other => bail!("expected ack, got {other:?}"),
            }
        };
        let arrived = async {
            loop {
                match reader.recv(sync::TIMEOUT).await? {
                    Frame::Records { .. } => return Ok::<_, anyhow::Error>(Instant::now()),
                    Frame::CaughtUp => {}
                    other => bail!("unexpected {other:?}"),
                }
            }
        };
        let both = async { tokio::try_join!(ack, arrived) };
        let (_, arrived) = tokio::time::timeout(Duration::from_secs(30), both)
            .await
            .context("no ack or fan-out within 30 s")??;
        lat.push(arrived.saturating_duration_since(sent));
    }
    Ok((p, lat))
}

struct Phase {
    appends: usize,
    secs: f64,
    lat: Vec<Duration>,
    cpu: Duration,
}

fn cpu(relays: &[Relay]) -> Duration {
    relays.iter().map(Relay::cpu).sum()
}

/// (VmRSS, VmHWM) of every instance, added up.
fn memory(relays: &[Relay]) -> (u64, u64) {
    relays
        .iter()
        .map(Relay::memory)
        .fold((0, 0), |(r, h), (r2, h2)| (r + r2, h + h2))
}

async fn phase(
    pairs: Vec<Pair>,
    gap: Duration,
    secs: f64,
    relay: &[Relay],
) -> Result<(Vec<Pair>, Phase)> {
    let n = pairs.len().max(1);
    let cpu0 = cpu(relay);
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in pairs.into_iter().enumerate() {
        // Spread the vaults' first appends over one gap.
        let offset = gap.mul_f64(i as f64 / n as f64);
        set.spawn(stream(p, gap, offset, until, 400));
    }
    let mut pairs = Vec::new();
    let mut lat = Vec::new();
    while let Some(r) = set.join_next().await {
        let (p, l) = r.context("append task")??;
        pairs.push(p);
        lat.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu(relay).saturating_sub(cpu0);
    Ok((
        pairs,
        Phase {
            appends: lat.len(),
            secs: elapsed,
            lat,
            cpu,
        },
    ))
}

/// Where the relays of the figure keep their records.
pub enum Store<'a> {
    /// One relay, sled in its data directory.
    Sled,
    /// `instances` relays on the Postgres database at `url`.
    Postgres { url: &'a str, instances: usize },
}

/// Appends per second the store takes alone: 32 threads (the relay's
/// blocking threads) appending 400-byte records, each to its own log, for
/// `secs`, in this process.
fn ceiling(store: Arc<dyn RelayStore>, secs: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let vault = format!("ceiling-{t}-{}", std::process::id());
                let mut n = 0u64;
                while Instant::now() < until {
                    let record = SealedRecord {
                        device: "writer".into(),
                        seq: n + 1,
                        kind: RecordKind::Envelope,
                        payload: ByteBuf::from(vec![0x5a; 400]),
                    };
                    match store.append(&vault, &record, 1) {
                        Ok(Appended::Stored(_)) => n += 1,
                        _ => break,
                    }
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

pub fn run(
    rt: &tokio::runtime::Runtime,
    bin: &Path,
    data: &Path,
    cfg: &Config,
    store: Store,
) -> Result<(Vec<Row>, Vec<String>)> {
    let (label, relays, ceil) = match store {
        Store::Sled => {
            let relays = vec![Relay::start(bin, data)?];
            let dir = data.with_extension("ceiling");
            let s = SledRelayStore::open(&dir).context("open the ceiling's sled store")?;
            let ceil = ceiling(Arc::new(s), cfg.stream_secs / 2.0);
            let _ = std::fs::remove_dir_all(&dir);
            (String::new(), relays, ceil)
        }
        Store::Postgres { url, instances } => {
            let relays = (0..instances)
                .map(|i| {
                    Relay::start_with(bin, &data.join(format!("relay-{i}")), &["--store", url])
                })
                .collect::<Result<Vec<_>>>()?;
            let s = rt
                .block_on(PostgresRelayStore::connect(url))
                .context("connect to Postgres for the ceiling")?;
            let ceil = ceiling(Arc::new(s), cfg.stream_secs / 2.0);
            let label = match instances {
                1 => "[postgres, 1 instance] ".to_string(),
                n => format!("[postgres, {n} instances] "),
            };
            (label, relays, ceil)
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    let (rss0, _) = memory(&relays);
    let devices = cfg.vaults * 2;

    let url = relays[0].url();
    let reader_url = relays[relays.len() - 1].url();
    let pairs = rt.block_on(async {
        let mut pairs = Vec::with_capacity(cfg.vaults);
        let mut set = tokio::task::JoinSet::new();
        let mut next = 0;
        // At most 50 handshakes in flight.
        while next < cfg.vaults || !set.is_empty() {
            while next < cfg.vaults && set.len() < 50 {
                set.spawn(connect_pair(url.clone(), reader_url.clone(), next));
                next += 1;
            }
            if let Some(r) = set.join_next().await {
                pairs.push(r.context("connect task")??);
            }
        }
        Ok::<_, anyhow::Error>(pairs)
    })?;
    std::thread::sleep(Duration::from_secs(1));
    let (rss_idle, _) = memory(&relays);
    let per_conn = rss_idle.saturating_sub(rss0) / devices.max(1) as u64;

    // Steady: the offered rate spread over every vault.
    let gap = Duration::from_secs_f64(cfg.vaults as f64 / cfg.steady_rate);
    let (pairs, steady) = rt.block_on(phase(pairs, gap, cfg.stream_secs, &relays))?;
    // Saturation: each vault appends again as soon as it is acknowledged and
    // delivered, staying under the per-connection rate limit (200/s).
    let (pairs, flat) = rt.block_on(phase(
        pairs,
        Duration::from_micros(5_500),
        cfg.stream_secs,
        &relays,
    ))?;
    let (rss_end, hwm) = memory(&relays);
    drop(pairs);

    let mut rows = Vec::new();
    let mut s_lat = steady.lat;
    let mut f_lat = flat.lat;
    let s_rate = steady.appends as f64 / steady.secs;
    let f_rate = flat.appends as f64 / flat.secs;
    let s99 = percentile(&mut s_lat, 99.0);
    let s50 = percentile(&mut s_lat, 50.0);
    let f99 = percentile(&mut f_lat, 99.0);
    let per_append = |p: &Duration, n: usize| p.div_f64(n.max(1) as f64);
    rows.push(Row::new(
        "3",
        &format!(
            "{label}{devices} devices connected ({} vaults x 2)",
            cfg.vaults
        ),
        format!("{devices}"),
    ));
    rows.push(
        Row::new(
            "3",
            &format!(
                "{label}steady stream ({:.0}/s offered): appends/s",
                cfg.steady_rate
            ),
            format!("{s_rate:.0}"),
        )
        .floor(
            format!("offered {:.0}/s", cfg.steady_rate),
            s_rate,
            cfg.steady_rate,
        ),
    );
    rows.push(Row::new(
        "3",
        &format!("{label}steady stream: fan-out latency p50 / p99"),
        format!("{} / {}", ms(s50), ms(s99)),
    ));
    rows.push(Row::new(
        "3",
        &format!("{label}steady stream: relay CPU time per append"),
        ms(per_append(&steady.cpu, steady.appends)),
    ));
    rows.push(
        Row::new(
            "3",
            &format!("{label}flat out: appends/s (acknowledged and delivered)"),
            format!("{f_rate:.0}"),
        )
        .floor(
            format!("store alone, 32 threads in-process: {ceil:.0}/s"),
            f_rate,
            ceil,
        ),
    );
    rows.push(Row::new(
        "3",
        &format!("{label}flat out: fan-out latency p99; relay CPU per append"),
        format!("{} ; {}", ms(f99), ms(per_append(&flat.cpu, flat.appends))),
    ));
    rows.push(Row::new(
        "3",
        &format!("{label}relay peak memory (VmHWM, all instances)"),
        bytes(hwm),
    ));
    rows.push(
        Row::new(
            "3",
            &format!("{label}relay memory per idle connection"),
            bytes(per_conn),
        )
        .floor(
            format!("RSS {} idle - {} before", bytes(rss_idle), bytes(rss0)),
            0.0,
            0.0,
        )
        .target("<= 16 KiB", per_conn <= 16 * 1024),
    );
    let notes = vec![format!(
        "{label}capacity relay: RSS {} before connections, {} with {devices} idle connections, {} at the end",
        bytes(rss0),
        bytes(rss_idle),
        bytes(rss_end)
    )];
    Ok((rows, notes))
}
