//! Starting a relay process (`interlog relay`) and waiting until it listens:
//! the one launcher behind the tests' [`TestRelay`](crate::TestRelay) and the
//! benchmark's relays (`interlog-bench`, `procs::Relay`).
//!
//! It must hand back the address the relay bound (it listens on port 0
//! unless told otherwise), and it must keep reading the relay's stderr for
//! as long as the relay runs, so the relay never blocks on a full pipe. It
//! returns errors instead of panicking, so the benchmark can report them;
//! the tests turn them into panics. Only the standard library, so the
//! benchmark's build gains nothing heavy from it.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// How a relay process is started (and started again, on a restart): on
/// top of `relay --listen LISTEN --metrics off --data DIR`, open
/// registration unless `args` says otherwise, and nothing from the
/// environment that would point it at another app directory, config file
/// or store.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The `interlog` binary to run.
    pub bin: PathBuf,
    /// Its working directory; `None`: the caller's own.
    pub cwd: Option<PathBuf>,
    /// `INTERLOG_LOG`.
    pub level: String,
    /// Flags beyond the defaults (`--tls self-signed`, say; `--registration`
    /// replaces the default `open`).
    pub args: Vec<String>,
    /// Environment beyond the defaults.
    pub env: Vec<(String, String)>,
}

/// A relay that has said where it listens.
pub struct Listening {
    pub child: Child,
    /// `HOST:PORT`.
    pub addr: String,
    /// The key a relay with `--tls self-signed` trusts devices to pin.
    pub pin: Option<String>,
}

impl Launch {
    /// `bin relay`, logging at `info`, with no other flags.
    pub fn new(bin: &Path) -> Launch {
        Launch {
            bin: bin.to_path_buf(),
            cwd: None,
            level: "info".into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Whether the relay serves TLS (`--tls …`).
    pub fn tls(&self) -> bool {
        self.args.iter().any(|a| a.starts_with("--tls"))
    }

    /// `ws://ADDR`, or `wss://ADDR` for a relay with TLS.
    pub fn url(&self, addr: &str) -> String {
        format!("{}://{addr}", if self.tls() { "wss" } else { "ws" })
    }

    /// Starts the relay with its data in `data`, listening on `listen`, and
    /// waits for the line that names its address. Every line it writes to
    /// stderr, that one included, goes to `on_line`, from a thread that
    /// drains the pipe for the life of the process.
    pub fn spawn(
        &self,
        data: &Path,
        listen: &str,
        mut on_line: impl FnMut(&str) + Send + 'static,
    ) -> io::Result<Listening> {
        let mut cmd = Command::new(&self.bin);
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        cmd.args(["relay", "--listen", listen, "--metrics", "off", "--data"])
            .arg(data)
            .args(&self.args);
        if !self.args.iter().any(|a| a == "--registration") {
            cmd.args(["--registration", "open"]);
        }
        let mut child = cmd
            // Only the flags above: no app directory, config file or store
            // from the environment the caller runs in.
            .env_remove("INTERLOG_RELAY_APP_DIR")
            .env_remove("INTERLOG_RELAY_CONFIG")
            .env_remove("INTERLOG_RELAY_STORE")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("NO_COLOR", "1")
            .env("INTERLOG_LOG", &self.level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("the relay's stderr was not captured"))?;
        let mut lines = BufReader::new(stderr).lines();
        let (addr, pin) = loop {
            let Some(line) = lines.next() else {
                // Reap it: the caller gets an error, not a process.
                let _ = child.wait();
                return Err(io::Error::other("the relay exited before listening"));
            };
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e);
                }
            };
            on_line(&line);
            if let Some(addr) = field(&line, "addr=") {
                break (addr, field(&line, "pin="));
            }
        };
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                on_line(&line);
            }
        });
        Ok(Listening { child, addr, pin })
    }
}

/// The value of `name` (`addr=`, say) in a log line.
fn field(line: &str, name: &str) -> Option<String> {
    line.split(name)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_address_and_pin_come_from_the_listening_line() {
        let line = "INFO interlog_relay: relay listening with TLS (self-signed): devices \
                    trust it by this pin, with `interlog sync --pin PIN` addr=127.0.0.1:4242 \
                    pin=abc123";
        assert_eq!(
            super::field(line, "addr=").as_deref(),
            Some("127.0.0.1:4242")
        );
        assert_eq!(super::field(line, "pin=").as_deref(), Some("abc123"));
        assert_eq!(super::field("relay listening addr=[::1]:80", "pin="), None);
    }
}
