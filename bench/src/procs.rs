//! The real programs the benchmark drives: the `interlog` binary (built with
//! the benchmark's own profile) and a relay process (`interlog relay`) whose
//! memory and CPU time are read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use interlog_e2e::launch::Launch;

/// `target/<profile>`, the directory of the running benchmark (or test).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("find the benchmark's own path")?;
    let mut dir = exe.parent().context("the benchmark has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir
            .parent()
            .context("target/<profile>/deps has no parent")?;
    }
    Ok(dir.to_path_buf())
}

/// The `interlog` binary of the same profile, built first (with
/// `interlog-relay` beside it, which `interlog relay` starts) so both are
/// current.
pub fn interlog_binary() -> Result<PathBuf> {
    let dir = profile_dir()?;
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "interlog", "--bins"]);
    // target/debug is the dev profile; every other directory is named
    // after its profile (release, profiling).
    if profile != "debug" {
        build.args(["--profile", profile]);
    }
    let bin = dir.join(format!("interlog{}", std::env::consts::EXE_SUFFIX));
    match build.status() {
        Ok(s) if s.success() => {}
        // Run outside cargo (a copied binary): use what is there.
        _ if bin.exists() => {}
        _ => bail!("building the interlog binary failed"),
    }
    Ok(bin)
}

/// Raises the soft limit on open files to the hard limit, for the 1,000
/// connections of the capacity figure (children inherit it).
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 0;
        }
        if l.rlim_cur < l.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
        l.rlim_cur
    }
}

/// A relay process on 127.0.0.1:0 with open registration; killed on drop.
/// It is started by the end-to-end tests' launcher, so both run the relay
/// the same way.
pub struct Relay {
    child: Child,
    pub data: PathBuf,
    pub addr: String,
    /// The key of a relay with `--tls self-signed`.
    pub pin: Option<String>,
    launch: Launch,
}

impl Relay {
    pub fn start(bin: &Path, data: &Path) -> Result<Relay> {
        Self::start_with(bin, data, &[])
    }

    /// [`Self::start`] with more flags (`--tls self-signed`, say).
    pub fn start_with(bin: &Path, data: &Path, extra: &[&str]) -> Result<Relay> {
        let launch = Launch {
            args: extra.iter().map(|a| a.to_string()).collect(),
            // Info logs a line per connection: noise in CPU time per append.
            level: "info".into(),
            ..Launch::new(bin)
        };
        // Its log is drained and dropped.
        let relay = launch
            .spawn(data, "127.0.0.1:0", |_| {})
            .context("start the relay")?;
        Ok(Relay {
            child: relay.child,
            data: data.to_path_buf(),
            addr: relay.addr,
            pin: relay.pin,
            launch,
        })
    }

    /// `ws://ADDR`, or `wss://ADDR` for a relay with TLS.
    pub fn url(&self) -> String {
        self.launch.url(&self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (VmRSS, VmHWM) in bytes.
    pub fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0, |kib| kib * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// User plus system CPU time used so far.
    pub fn cpu(&self) -> Duration {
        cpu_of(self.pid())
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User plus system CPU time of a process, from `/proc/<pid>/stat`.
pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may contain spaces, in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 from 0 here.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / hz)
}

/// Bytes of every file under `dir`.
pub fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            total += disk_usage(&p);
        } else if let Ok(m) = e.metadata() {
            total += m.len();
        }
    }
    total
}

/// Runs `interlog` with `home`, discarding output; returns its wall time.
pub fn time_cli(bin: &Path, home: &Path, args: &[&str]) -> Result<Duration> {
    let started = Instant::now();
    let out = cli(bin, home, args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("run interlog")?;
    let took = started.elapsed();
    if !out.status.success() {
        bail!(
            "interlog {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(took)
}

/// A command for the `interlog` binary in `home`, with a clean environment.
pub fn cli(bin: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args)
        .env("INTERLOG_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("VISUAL")
        .env_remove("EDITOR")
        .stdin(Stdio::null());
    c
}
