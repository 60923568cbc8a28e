//! Helpers for the end-to-end tests in `tests/tests/`: each test drives the
//! real `interlog` binary as a user would, one [`Device`] per home directory.
//!
//! The binary is built once per test run with the same profile as the tests
//! (`cargo build -p interlog`), so `cargo test --workspace` is all it takes;
//! `INTERLOG_E2E_BIN=PATH` runs the tests against another build instead.
//!
//! A real relay process is a [`TestRelay`], started by [`launch`], the one
//! relay launcher, which the benchmarks (`interlog-bench`) use too.

pub mod balancer;
pub mod browser;
pub mod faults;
pub mod launch;
pub mod liar;
pub mod png;
pub mod redaction;
pub mod sim;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use launch::Launch;

/// The `interlog` binary, built on first use with `interlog-relay` beside it
/// (which `interlog relay` starts).
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Another build of the CLI (an older commit's, to see a new test
        // fail on it), used as it is.
        if let Some(bin) = std::env::var_os("INTERLOG_E2E_BIN") {
            return PathBuf::from(bin);
        }
        // target/<profile>/deps/<test-binary>
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary lives in target/<profile>/deps");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "interlog", "--bins"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the interlog binary failed");
        profile_dir.join(format!("interlog{}", std::env::consts::EXE_SUFFIX))
    })
}

/// One device: its own home directory, removed on drop.
pub struct Device {
    pub home: tempfile::TempDir,
    /// Extra environment for every command (`SSL_CERT_FILE`, say).
    env: Vec<(String, String)>,
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    /// A device with no vault yet.
    pub fn new() -> Self {
        Device {
            home: tempfile::tempdir().expect("temp home"),
            env: Vec::new(),
        }
    }

    /// This device, with `key=value` in every command's environment.
    pub fn with_env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        let value = value.as_ref().to_string_lossy().into_owned();
        self.env.push((key.to_string(), value));
        self
    }

    /// A device with a fresh vault.
    pub fn init() -> Self {
        let d = Self::new();
        d.ok(&["init"]);
        d
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// A command for this device, with a clean, predictable environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.args(args)
            .env("INTERLOG_HOME", self.home())
            .env("NO_COLOR", "1")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// `interlog sync --watch` in the background, stopped on drop.
    pub fn watch(&self) -> Watch {
        let child = self
            .cmd(&["sync", "--watch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sync --watch");
        Watch(child)
    }

    /// Whether this device has an interview with `id`.
    pub fn has_interview(&self, id: &str) -> bool {
        let out = self.run(&["--json", "list", "interviews"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains(id)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run interlog")
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "interlog {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs a command that must fail; returns its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "interlog {args:?} should have failed but printed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 output")
    }

    /// Runs a command with `--json` and parses its output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?} printed invalid JSON ({e}): {out}"))
    }

    /// The full JSON export, as text.
    pub fn export(&self) -> String {
        self.ok(&["export", "--format", "json"])
    }

    /// Logs an interview and returns its id.
    pub fn log(&self, args: &[&str]) -> String {
        let mut all = vec!["log"];
        all.extend_from_slice(args);
        self.ok(&all).trim().to_string()
    }
}

/// A device that created the vault and synced it to `relay`.
pub fn first_device(relay: &TestRelay) -> Device {
    let d = Device::init();
    d.ok(&["sync", "--relay", &relay.url()]);
    d
}

/// A new device joined to `of`'s vault through `pair` / `join`.
pub fn joined(of: &Device) -> Device {
    let code = of.json(&["pair"])["code"].as_str().unwrap().to_string();
    let d = Device::new();
    d.ok(&["join", &code]);
    d
}

/// A background `interlog sync --watch`, killed on drop.
pub struct Watch(std::process::Child);

impl Watch {
    /// Whether the watcher still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// The watcher's exit code once it ended (`None` while it runs, or if
    /// a signal ended it).
    pub fn exit_code(&mut self) -> Option<i32> {
        self.0.try_wait().ok().flatten().and_then(|s| s.code())
    }

    /// The watcher's peak resident memory so far (`VmHWM`), KiB; 0 once it
    /// ended, or where `/proc` does not say.
    pub fn peak_kib(&self) -> u64 {
        proc_kib(self.0.id(), "VmHWM:")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `what` holds, or fails with `why` after 20 s.
pub fn eventually(why: &str, what: impl FnMut() -> bool) {
    eventually_within(std::time::Duration::from_secs(20), why, what)
}

/// Waits until `what` holds, or fails with `why` after `limit`.
pub fn eventually_within(limit: std::time::Duration, why: &str, mut what: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !what() {
        assert!(std::time::Instant::now() < deadline, "{why}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The offline story both transports (files, relay) must merge: the same
/// interview edited on two devices, different fields on each (rating and
/// `improve` on the laptop, notes and `improve` on the phone), so that
/// `improve` ends in a conflict.
pub fn edit_offline_on_both(laptop: &Device, phone: &Device, interview: &str) {
    laptop.ok(&[
        "edit",
        interview,
        "--set",
        "rating=4",
        "--set",
        "improve=talk less",
    ]);
    phone.ok(&[
        "edit",
        interview,
        "--set",
        "notes=they want a tech lead",
        "--set",
        "improve=ask more questions",
    ]);
}

/// A real relay process (`interlog relay`) on 127.0.0.1 with its own data
/// directory; killed on drop. Everything it logs is kept, across restarts.
pub struct TestRelay {
    child: Option<std::process::Child>,
    pub data: tempfile::TempDir,
    pub addr: String,
    /// How it is started, again on each restart.
    launch: Launch,
    log: Arc<Mutex<String>>,
}

/// One HTTP response from [`TestRelay::http_get`].
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of header `name` (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl TestRelay {
    /// Starts a relay on a free port, with open registration.
    pub fn start() -> Self {
        Self::start_logging("info")
    }

    /// [`Self::start`] with `INTERLOG_LOG` set to `level`.
    pub fn start_logging(level: &str) -> Self {
        Self::start_in(tempfile::tempdir().expect("relay data dir"), level)
    }

    /// A relay with its data in a given directory and `INTERLOG_LOG=level`.
    pub fn start_in(data: tempfile::TempDir, level: &str) -> Self {
        let launch = Launch {
            level: level.to_string(),
            ..Launch::new(binary())
        };
        Self::launch(data, "127.0.0.1:0", launch)
    }

    /// A relay listening on `listen`, with more flags (`--tls self-signed`,
    /// say; `--registration` replaces the default `open`) and environment.
    pub fn start_with(
        data: tempfile::TempDir,
        listen: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let launch = Launch {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Launch::new(binary())
        };
        Self::launch(data, listen, launch)
    }

    /// A relay run as an installed copy would be: `bin` (a copy of the
    /// `interlog` binary, away from the source tree) with its working
    /// directory in `cwd`.
    pub fn start_installed(bin: &Path, cwd: &Path) -> Self {
        let launch = Launch {
            cwd: Some(cwd.to_path_buf()),
            ..Launch::new(bin)
        };
        Self::launch(
            tempfile::tempdir().expect("relay data dir"),
            "127.0.0.1:0",
            launch,
        )
    }

    fn launch(data: tempfile::TempDir, listen: &str, launch: Launch) -> Self {
        let log = Arc::default();
        let (child, addr) =
            Self::spawn(&launch, data.path(), listen, &log).expect("start the relay");
        TestRelay {
            child: Some(child),
            data,
            addr,
            launch,
            log,
        }
    }

    /// The pin a relay with `--tls self-signed` logged at start-up.
    pub fn pin(&self) -> Option<String> {
        let log = self.log();
        let at = log.rfind("pin=")?;
        log[at + 4..].split_whitespace().next().map(str::to_string)
    }

    /// The relay process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Log lines that mention a panic.
    pub fn panics(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("panicked"))
            .map(str::to_string)
            .collect()
    }

    /// Everything the relay wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("relay log").clone()
    }

    /// Starts the process, keeping every line it logs in `log`.
    fn spawn(
        launch: &Launch,
        data: &Path,
        listen: &str,
        log: &Arc<Mutex<String>>,
    ) -> std::io::Result<(std::process::Child, String)> {
        let log = Arc::clone(log);
        let keep = move |line: &str| {
            let mut log = log.lock().expect("relay log");
            log.push_str(line);
            log.push('\n');
        };
        let relay = launch.spawn(data, listen, keep)?;
        Ok((relay.child, relay.addr))
    }

    /// `ws://ADDR`, or `wss://ADDR` for a relay with TLS.
    pub fn url(&self) -> String {
        self.launch.url(&self.addr)
    }

    /// The relay's port.
    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the relay's address has a port")
    }

    /// One plain HTTP/1.1 GET of `path` from the relay, as a browser would
    /// send it.
    pub fn http_get(&self, path: &str) -> HttpResponse {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&self.addr).expect("connect to the relay");
        conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("set a read timeout");
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .expect("send the request");
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).expect("read the response");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete HTTP response");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("an HTTP status line");
        let response = HttpResponse {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        };
        assert!(
            response.header("transfer-encoding").is_none(),
            "http_get reads whole bodies, not chunked ones: {}",
            response.head
        );
        response
    }

    /// SIGTERM, the graceful stop; then waits up to `limit` for the relay
    /// to exit. Whether it did.
    #[cfg(unix)]
    pub fn terminate(&mut self, limit: std::time::Duration) -> bool {
        let Some(child) = self.child.as_mut() else {
            return true;
        };
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }

    /// kill -9, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the relay again on the same address and data.
    pub fn restart(&mut self) {
        self.kill9();
        // The port may take a moment to be free again.
        for attempt in 0..50 {
            match Self::spawn(&self.launch, self.data.path(), &self.addr, &self.log) {
                Ok((child, _)) => {
                    self.child = Some(child);
                    return;
                }
                Err(_) if attempt < 49 => std::thread::sleep(std::time::Duration::from_millis(100)),
                Err(e) => panic!("start the relay again: {e}"),
            }
        }
    }

    /// Loses everything: stops the relay, deletes its data and starts it
    /// again, empty, on the same address (a wiped disk, or a new relay at
    /// the old address).
    pub fn wipe(&mut self) {
        self.kill9();
        for e in std::fs::read_dir(self.data.path())
            .expect("relay data dir")
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p).expect("wipe the relay's data");
            } else {
                std::fs::remove_file(&p).expect("wipe the relay's data");
            }
        }
        self.restart();
    }

    /// Every regular file under the data directory, for looking at what the
    /// relay keeps.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.is_file() {
                    // Not the relay's control socket: nothing to read there.
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data.path(), &mut out);
        out
    }
}

/// Relay instances sharing one Postgres database (a scratch one, dropped
/// with this), as a relay run for many people is deployed; `None`, after
/// saying so, without a Postgres to use (see `.ci/postgres`).
pub struct PostgresRelays {
    pub instances: Vec<TestRelay>,
    // Dropped after the instances: a database in use cannot be dropped
    // gracefully.
    pub db: interlog_relay::store::postgres::testing::ScratchDatabase,
}

impl PostgresRelays {
    /// `n` relays on one new database, each with its own data directory.
    pub fn start(n: usize, what: &str) -> Option<Self> {
        let db = interlog_relay::store::postgres::testing::ScratchDatabase::from_env(what)?;
        let instances = (0..n)
            .map(|_| {
                TestRelay::start_with(
                    tempfile::tempdir().expect("relay data dir"),
                    "127.0.0.1:0",
                    &[],
                    // In the environment, as an operator would, so the URL
                    // (and a password in it) is not in the process list.
                    &[("INTERLOG_RELAY_STORE", db.url())],
                )
            })
            .collect();
        Some(PostgresRelays { instances, db })
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A field of `/proc/PID/status` (`VmRSS`, `VmHWM`…), in KiB; 0 when it
/// cannot be read.
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}
