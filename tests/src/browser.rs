//! Headless Chromium for looking at what Interlog writes: open a local
//! page, record every request the page makes, measure it and take a
//! full-page screenshot.
//!
//! Chromium is driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: JSON messages separated by NUL bytes on file
//! descriptors 3 and 4), which is what Playwright does too, without a port
//! or a WebSocket. The page's requests come from `Network.requestWillBeSent`
//! for the page's own target, so they include `file:` and `data:` loads
//! and exclude the browser's own background traffic (component updates,
//! network time), which would otherwise make a "no request" check flaky.
//! That background traffic is still kept on the machine: every `http(s)`
//! request goes to a proxy that is a listener in this process, which
//! refuses it and counts it.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::fd::{FromRawFd as _, RawFd};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Chromium (`CHROMIUM` overrides the one on `PATH`), or `None` after
/// saying why the test is skipped; in CI (`CI` set) a missing Chromium
/// fails instead, as [`crate::tls::installed`] does.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    crate::tls::installed("chromium", "chromium")
}

/// What a page did once loaded.
pub struct Visit {
    /// Every URL the page requested, the page itself first.
    pub requests: Vec<String>,
    /// The PNG of the whole page.
    pub png: Vec<u8>,
    /// The page's width and height in CSS pixels (`scrollWidth`,
    /// `scrollHeight`): a width above the viewport's scrolls sideways.
    pub size: (u64, u64),
    /// The result of `probe`, a JavaScript expression run in the page.
    pub probe: Value,
    /// Requests of the browser's own that the proxy refused.
    pub background: usize,
}

/// A running headless Chromium, ended on drop.
pub struct Browser {
    child: Child,
    to: File,
    from: Receiver<Value>,
    next: u64,
    events: Vec<Value>,
    background: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _profile: tempfile::TempDir,
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}

impl Browser {
    pub fn launch(chromium: &Path) -> Browser {
        let proxy = TcpListener::bind("127.0.0.1:0").expect("bind the refusing proxy");
        let port = proxy.local_addr().unwrap().port();
        let background = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = background.clone();
        std::thread::spawn(move || {
            for conn in proxy.incoming() {
                let Ok(mut conn) = conn else { break };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                let _ = BufReader::new(&conn).read_line(&mut line);
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = conn.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        let profile = tempfile::tempdir().expect("chromium profile");
        // Chromium reads commands from fd 3 and writes answers to fd 4.
        let (cmd_read, cmd_write) = pipe();
        let (ans_read, ans_write) = pipe();
        let mut command = Command::new(chromium);
        command
            .args([
                "--headless",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-sync",
                "--mute-audio",
                &format!("--proxy-server=http://127.0.0.1:{port}"),
                "--proxy-bypass-list=<-loopback>",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(profile.path().join("stderr.log")).expect("chromium log"),
            );
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork
        // and exec. Both ends are first moved above 4, so that placing one
        // on 3 or 4 cannot close the other; dup2 clears close-on-exec.
        unsafe {
            command.pre_exec(move || {
                let high_read = libc::fcntl(cmd_read, libc::F_DUPFD, 10);
                let high_write = libc::fcntl(ans_write, libc::F_DUPFD, 10);
                if high_read < 0
                    || high_write < 0
                    || libc::dup2(high_read, 3) < 0
                    || libc::dup2(high_write, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("start chromium");
        // SAFETY: each descriptor came from pipe2 above and is owned once.
        let (to, from, _r, _w) = unsafe {
            (
                File::from_raw_fd(cmd_write),
                File::from_raw_fd(ans_read),
                File::from_raw_fd(cmd_read),
                File::from_raw_fd(ans_write),
            )
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            loop {
                let mut buf = Vec::new();
                match reader.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                buf.pop();
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        Browser {
            child,
            to,
            from: rx,
            next: 0,
            events: Vec::new(),
            background,
            _profile: profile,
        }
    }

    fn next_message(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.from
            .recv_timeout(left)
            .expect("chromium stopped answering within 60 s")
    }

    /// Sends one DevTools command (to a page's session, if given) and
    /// returns its result; events that arrive meanwhile are kept.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        if let Err(e) = self.to.write_all(&bytes) {
            let log = std::fs::read_to_string(self._profile.path().join("stderr.log"));
            panic!(
                "chromium is gone ({e}); it said: {}",
                log.unwrap_or_default()
            );
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let m = self.next_message(deadline);
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method} failed: {m}");
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    fn wait_for(&mut self, session: &str, method: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let seen = |e: &Value| e["method"] == method && e["sessionId"] == session;
        if self.events.iter().any(seen) {
            return;
        }
        loop {
            let m = self.next_message(deadline);
            let done = seen(&m);
            self.events.push(m);
            if done {
                return;
            }
        }
    }

    /// Opens `page` (a local file) in a fresh tab of `width` CSS pixels
    /// (a phone's touch screen with `mobile`), waits for it to load, runs
    /// `probe` in it and takes a screenshot of the page, at most
    /// `max_height` pixels of it from the top.
    pub fn visit(
        &mut self,
        page: &Path,
        width: u32,
        mobile: bool,
        probe: &str,
        max_height: u64,
    ) -> Visit {
        let url = format!(
            "file://{}",
            page.canonicalize().expect("page path").display()
        );
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().unwrap().to_string();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        let s = attached["sessionId"].as_str().unwrap().to_string();
        let s = s.as_str();
        self.call(Some(s), "Network.enable", json!({}));
        self.call(Some(s), "Page.enable", json!({}));
        self.call(
            Some(s),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        self.events.clear();
        self.call(Some(s), "Page.navigate", json!({"url": url}));
        self.wait_for(s, "Page.loadEventFired");
        // Anything the page would still start after load (it has no
        // script, but a test should not assume that) gets a moment.
        std::thread::sleep(Duration::from_millis(300));
        while let Ok(m) = self.from.try_recv() {
            self.events.push(m);
        }
        let requests: Vec<String> = self
            .events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent" && e["sessionId"] == s)
            .map(|e| {
                e["params"]["request"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let eval = |b: &mut Browser, expr: &str| {
            b.call(
                Some(s),
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true}),
            )["result"]["value"]
                .clone()
        };
        let size = eval(
            self,
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
        );
        let size = (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0));
        let probe = eval(self, probe);
        let shot = self.call(
            Some(s),
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": width, "height": size.1.min(max_height), "scale": 1}}),
        );
        let png = data_encoding::BASE64
            .decode(shot["data"].as_str().unwrap_or("").as_bytes())
            .expect("screenshot is base64");
        self.call(None, "Target.closeTarget", json!({"targetId": target}));
        Visit {
            requests,
            png,
            size,
            probe,
            background: self.background.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}

impl Browser {
    /// Prints `page` (a local file) to PDF on A4, as a browser's "Print"
    /// does, with the page's print styles.
    pub fn print(&mut self, page: &Path) -> Vec<u8> {
        let url = format!(
            "file://{}",
            page.canonicalize().expect("page path").display()
        );
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().unwrap().to_string();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        let s = attached["sessionId"].as_str().unwrap().to_string();
        let s = s.as_str();
        self.call(Some(s), "Page.enable", json!({}));
        self.events.clear();
        self.call(Some(s), "Page.navigate", json!({"url": url}));
        self.wait_for(s, "Page.loadEventFired");
        let pdf = self.call(
            Some(s),
            "Page.printToPDF",
            json!({"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": true}),
        );
        self.call(None, "Target.closeTarget", json!({"targetId": target}));
        data_encoding::BASE64
            .decode(pdf["data"].as_str().unwrap_or("").as_bytes())
            .expect("the PDF is base64")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
