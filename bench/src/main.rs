//! `interlog-bench`: builds the benchmark vaults, runs every figure and
//! prints the table. `cargo run --profile profiling -p interlog-bench`; see
//! docs/benchmarks.md.

use std::path::PathBuf;

use clap::Parser;

/// Interlog's benchmarks, each figure next to its floor from the same run.
#[derive(Parser)]
#[command(name = "interlog-bench")]
struct Args {
    /// Tiny sizes: every code path in a few seconds (the smoke test's mode)
    #[arg(long)]
    quick: bool,
    /// Only these figures (1-7), e.g. --only 1,4
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
    /// Repetitions of each timed command
    #[arg(long)]
    repeats: Option<usize>,
    /// Edits for the incremental-sync percentiles
    #[arg(long)]
    edits: Option<usize>,
    /// Vaults (of two devices each) for the capacity figure
    #[arg(long)]
    vaults: Option<usize>,
    /// Keep the vaults and the relay data in DIR
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

fn main() {
    let a = Args::parse();
    let mut cfg = if a.quick {
        interlog_bench::Config::quick()
    } else {
        interlog_bench::Config::full()
    };
    cfg.only = a.only;
    cfg.keep = a.keep;
    if let Some(r) = a.repeats {
        cfg.repeats = r;
    }
    if let Some(e) = a.edits {
        cfg.edits = e;
    }
    if let Some(v) = a.vaults {
        cfg.vaults = v;
    }
    let started = std::time::Instant::now();
    let progress = |s: &str| eprintln!("[{:6.1}s] {s}", started.elapsed().as_secs_f64());
    match interlog_bench::run(&cfg, &progress) {
        Ok(out) => {
            println!("{}", interlog_bench::table::render(&out.rows));
            for n in out.notes {
                println!("- {n}");
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
