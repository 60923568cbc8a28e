//! Figure 4: CLI responsiveness on the big vault: the wall time of the
//! commands a user runs most, each a fresh `interlog` process, against the
//! floor of starting a process plus reading the document's bytes.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use interlog_core::store::Storage;

use super::open;
use crate::procs::time_cli;
use crate::table::{median, ms, Row};
use crate::workload::Built;

/// The floor's parts: process start (`interlog --version`) and reading the
/// store's bytes (sled open and load, in this process).
pub fn floor(bin: &Path, home: &Path, repeats: usize) -> Result<(Duration, Duration)> {
    let mut start = Vec::new();
    let mut read = Vec::new();
    for _ in 0..repeats.max(3) {
        start.push(time_cli(bin, home, &["--version"])?);
        let t = Instant::now();
        let s = super::open_store(home)?;
        let stored = s.load()?;
        read.push(t.elapsed());
        drop((s, stored));
    }
    Ok((median(&mut start), median(&mut read)))
}

pub fn run(bin: &Path, b: &Built, repeats: usize) -> Result<Vec<Row>> {
    let home = &b.laptop;
    let (start, read) = floor(bin, home, repeats)?;
    let f = start + read;
    let floor_text = format!("{} (start {} + read {})", ms(f), ms(start), ms(read));
    let mut loads = Vec::new();
    for _ in 0..repeats.max(3) {
        let t = Instant::now();
        let v = open(home)?;
        loads.push(t.elapsed());
        drop(v);
    }
    let load = median(&mut loads);
    let mid = &b.interviews[b.interviews.len() / 2];
    let id = &mid[..12];
    let commands: [(&str, Vec<&str>); 5] = [
        (
            "interlog log Acme --kind technical --rating 4",
            vec!["log", "Acme", "--kind", "technical", "--rating", "4"],
        ),
        ("interlog list interviews", vec!["list", "interviews"]),
        ("interlog show <id>", vec!["show", id]),
        ("interlog stats", vec!["stats"]),
        ("interlog today", vec!["today"]),
    ];
    let mut rows = Vec::new();
    for (name, args) in &commands {
        let mut times = Vec::new();
        for _ in 0..repeats.max(1) {
            times.push(time_cli(bin, home, args)?);
        }
        let t = median(&mut times);
        rows.push(
            Row::new("4", name, ms(t))
                .floor(floor_text.clone(), t.as_secs_f64(), f.as_secs_f64())
                .target("< 100 ms", t < Duration::from_millis(100)),
        );
    }
    // The first read after a write renders the view cache again.
    let mut first = Vec::new();
    for _ in 0..repeats.max(1) {
        time_cli(bin, home, &commands[0].1)?;
        first.push(time_cli(bin, home, &["today"])?);
    }
    let first = median(&mut first);
    rows.push(
        Row::new(
            "4",
            "interlog today, first read after a write (view updated by the write)",
            ms(first),
        )
        .floor(floor_text.clone(), first.as_secs_f64(), f.as_secs_f64())
        .target("< 100 ms", first < Duration::from_millis(100)),
    );
    rows.push(
        Row::new(
            "4",
            "(in-process: open the vault, i.e. read + Automerge load)",
            ms(load),
        )
        .floor(floor_text, load.as_secs_f64(), read.as_secs_f64()),
    );
    Ok(rows)
}
