//! # interlog-bench
//!
//! The benchmark harness: it builds realistic vaults and measures sync speed,
//! latency, relay capacity, CLI responsiveness and storage, each next to a
//! floor measured in the same run. Machines are shared and noisy, so the
//! ratios are what count, not the absolute times. This is a benchmark, not a
//! test: nothing here fails on timing. `docs/benchmarks.md` has the command,
//! the figures and what limits them.
//!
//! # Layout
//! - [`workload`]: the five-year and small vaults, built through thousands
//!   of small edits on two devices that sync through a real relay.
//! - [`procs`]: the real `interlog` binary and relay process (started by
//!   the end-to-end tests' launcher, `interlog_e2e::launch`), `/proc` readings.
//! - [`net`]: a byte-counting loopback proxy and raw WebSocket timings.
//! - [`figures`]: one module per figure of issue 5.
//! - [`table`]: the result rows and the Markdown table.
//! - [`rng`]: a seeded generator, so every run builds the same vaults.

pub mod figures;
pub mod net;
pub mod procs;
pub mod rng;
pub mod table;
pub mod workload;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use table::Row;
use workload::Sizes;

/// What to run, and how big.
#[derive(Debug, Clone)]
pub struct Config {
    /// The big vault (five years of interviewing).
    pub big: Sizes,
    /// The small vault (50 interviews).
    pub small: Sizes,
    /// Repetitions of each timed command or bootstrap.
    pub repeats: usize,
    /// Edits for the incremental-sync percentiles.
    pub edits: usize,
    /// Vaults in the capacity figure (two devices each).
    pub vaults: usize,
    /// Seconds of each append phase of the capacity figure.
    pub stream_secs: f64,
    /// Appends per second offered in the steady phase (all vaults together).
    pub steady_rate: f64,
    /// Keep the vaults and relay data here instead of a temporary directory.
    pub keep: Option<PathBuf>,
    /// Figures to run (1 to 7); empty: all.
    pub only: Vec<u8>,
}

impl Config {
    /// The benchmark as issue 5 specifies it.
    pub fn full() -> Config {
        Config {
            big: Sizes::five_year(),
            small: Sizes::scaled(50),
            repeats: 7,
            edits: 1000,
            vaults: 500,
            stream_secs: 10.0,
            steady_rate: 500.0,
            keep: None,
            only: Vec::new(),
        }
    }

    /// Tiny sizes, for the smoke test: every code path, a few seconds.
    pub fn quick() -> Config {
        Config {
            big: Sizes::scaled(12),
            small: Sizes::scaled(5),
            repeats: 1,
            edits: 5,
            vaults: 5,
            stream_secs: 0.5,
            steady_rate: 20.0,
            keep: None,
            only: Vec::new(),
        }
    }

    fn wants(&self, figure: u8) -> bool {
        self.only.is_empty() || self.only.contains(&figure)
    }
}

/// Everything a run produced.
pub struct Outcome {
    pub rows: Vec<Row>,
    /// Facts about the run: sizes, load, durations.
    pub notes: Vec<String>,
}

/// Runs the benchmark and returns the table rows.
pub fn run(cfg: &Config, progress: &dyn Fn(&str)) -> Result<Outcome> {
    let started = Instant::now();
    let temp = tempfile::tempdir().context("temporary directory")?;
    let dir = match &cfg.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let fds = procs::raise_fd_limit();
    let bin = procs::interlog_binary()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    let mut notes = vec![format!("open-file limit: {fds}")];
    notes.push(format!("load average at start: {}", load_average()));

    let relay = procs::Relay::start(&bin, &dir.join("relay"))?;
    let needs_big = [1, 4, 5, 6, 7].iter().any(|f| cfg.wants(*f));
    let big = if needs_big {
        progress(&format!(
            "building the big vault ({} interviews, {} contacts, {} opportunities, {} offers, {} follow-ups)...",
            cfg.big.interviews, cfg.big.contacts, cfg.big.opportunities, cfg.big.offers, cfg.big.followups
        ));
        let t = Instant::now();
        let b = workload::build(&rt, &dir, "big", &relay.url(), cfg.big, 5)?;
        notes.push(format!(
            "big vault: {} interviews, {} contacts, {} opportunities, {} offers, {} follow-ups; {} separate edits on two devices, {} syncs; built in {:.1} s",
            cfg.big.interviews, cfg.big.contacts, cfg.big.opportunities, cfg.big.offers, cfg.big.followups,
            b.edits, b.syncs, t.elapsed().as_secs_f64()
        ));
        Some(b)
    } else {
        None
    };
    if let Some(b) = &big {
        if cfg.wants(1) {
            progress("figure 1: cold bootstrap...");
            rows.extend(figures::bootstrap::run(&rt, b, &dir, cfg.repeats)?);
        }
        if cfg.wants(4) {
            progress("figure 4: CLI responsiveness...");
            rows.extend(figures::cli::run(&bin, b, cfg.repeats)?);
        }
        if cfg.wants(6) {
            progress("figure 6: no-op sync...");
            rows.extend(figures::noop::run(&rt, &bin, b, &relay, cfg.repeats)?);
        }
        // Last of the big vault's figures: it compacts the laptop's store.
        if cfg.wants(5) {
            progress("figure 5: storage...");
            rows.extend(figures::storage::run(&rt, b, &relay)?);
        }
    }
    if cfg.wants(2) {
        progress(&format!(
            "building the small vault ({} interviews)...",
            cfg.small.interviews
        ));
        let small = workload::build(&rt, &dir, "small", &relay.url(), cfg.small, 7)?;
        notes.push(format!(
            "small vault: {} interviews; {} separate edits, {} syncs",
            cfg.small.interviews, small.edits, small.syncs
        ));
        progress(&format!(
            "figure 2: incremental sync over {} edits...",
            cfg.edits
        ));
        rows.extend(figures::incremental::run(
            &rt, &bin, &small, &relay, cfg.edits,
        )?);
    }
    drop(relay);
    if let Some(b) = big.as_ref().filter(|_| cfg.wants(7)) {
        progress("figure 7: no-op sync and join over wss:// and ws://...");
        rows.extend(figures::tls::run(&rt, &bin, b, &dir, cfg.repeats)?);
    }
    if cfg.wants(3) {
        progress(&format!(
            "figure 3: relay capacity with {} devices...",
            cfg.vaults * 2
        ));
        let (r, n) = figures::capacity::run(
            &rt,
            &bin,
            &dir.join("capacity-relay"),
            cfg,
            figures::capacity::Store::Sled,
        )?;
        rows.extend(r);
        notes.extend(n);
        for instances in [1, 2] {
            use interlog_relay::store::postgres::testing::ScratchDatabase;
            let Some(db) = ScratchDatabase::from_env("figure 3 on Postgres") else {
                notes.push(format!(
                    "figure 3 on Postgres skipped: set {} (`eval \"$(bash .ci/postgres start)\"`)",
                    interlog_relay::store::postgres::testing::URL_VAR
                ));
                break;
            };
            progress(&format!(
                "figure 3 on Postgres, {instances} instance(s), {} devices...",
                cfg.vaults * 2
            ));
            let (r, n) = figures::capacity::run(
                &rt,
                &bin,
                &dir.join(format!("capacity-pg-{instances}")),
                cfg,
                figures::capacity::Store::Postgres {
                    url: db.url(),
                    instances,
                },
            )?;
            rows.extend(r);
            notes.extend(n);
        }
    }
    notes.push(format!("load average at end: {}", load_average()));
    notes.push(format!(
        "whole run: {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(Outcome { rows, notes })
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
