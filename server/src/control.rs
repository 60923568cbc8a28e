//! The relay's control socket, `<data>/control.sock`: how a command on the
//! relay's machine reaches a running relay, which holds sled's lock on its
//! store so that no other process can open it. Today it serves one request,
//! `backup` ([`crate::backup`]).
//!
//! Who may connect is who may read the store: the socket lives in the data
//! directory, which is owner-only (0700), and is itself 0600. It is never on
//! the network. A request is one line; the answer is the backup's bytes, or
//! a line `error: …`. A socket file left by a relay that died is removed at
//! the next start, which holds the store's lock, so no live relay owns it.

use std::path::{Path, PathBuf};

/// The request for a backup.
pub const BACKUP: &str = "backup";

/// The control socket of the relay that uses `data`.
pub fn path(data: &Path) -> PathBuf {
    data.join("control.sock")
}

/// Connects to the relay on `data` and sends `request`; `None` when no relay
/// listens there.
#[cfg(unix)]
pub fn ask(data: &Path, request: &str) -> std::io::Result<Option<std::os::unix::net::UnixStream>> {
    use std::io::Write;
    match std::os::unix::net::UnixStream::connect(path(data)) {
        Ok(mut stream) => {
            // A backup waits for appends in progress, then streams without pause.
            stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
            stream.write_all(format!("{request}\n").as_bytes())?;
            Ok(Some(stream))
        }
        Err(e) if is_nobody(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Without Unix sockets there is no control socket: never an answer.
#[cfg(not(unix))]
pub fn ask(_data: &Path, _request: &str) -> std::io::Result<Option<std::io::Empty>> {
    Ok(None)
}

/// Whether a relay answers on `data`'s control socket.
pub fn answers(data: &Path) -> bool {
    #[cfg(unix)]
    {
        std::os::unix::net::UnixStream::connect(path(data)).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = data;
        false
    }
}

#[cfg(unix)]
fn is_nobody(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionRefused, NotFound};
    matches!(e.kind(), NotFound | ConnectionRefused)
}

#[cfg(unix)]
pub(crate) use serve::{remove, spawn};

#[cfg(unix)]
mod serve {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::backup::Pausable;
    use crate::store::SledRelayStore;

    /// How long a client may take to send its request line.
    const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
    /// How long one write of the backup may wait for the client to read:
    /// writes to the store wait while a backup is written, so a client that
    /// stops reading must not hold them back for long.
    const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

    /// Listens on the control socket. The caller holds the store's lock.
    /// Without a socket (a path too long for one, say) the relay runs on,
    /// and says that backups need it stopped.
    pub(crate) fn spawn(
        data: &Path,
        store: Arc<Pausable<SledRelayStore>>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let path = super::path(data);
        let _ = std::fs::remove_file(&path);
        let listener = match tokio::net::UnixListener::bind(&path).and_then(|l| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            Ok(l)
        }) {
            Ok(l) => l,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "no control socket: `interlog relay backup` needs this relay stopped");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(handle(stream, store.clone()));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }))
    }

    /// Stops listening and removes the socket file.
    pub(crate) fn remove(data: &Path, task: Option<tokio::task::JoinHandle<()>>) {
        if let Some(task) = task {
            task.abort();
            let _ = std::fs::remove_file(super::path(data));
        }
    }

    async fn handle(mut stream: tokio::net::UnixStream, store: Arc<Pausable<SledRelayStore>>) {
        let mut line = Vec::new();
        let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
            // Byte by byte: nothing past the line is read, and a line is short.
            while line.len() < 64 {
                match stream.read_u8().await {
                    Ok(b'\n') | Err(_) => break,
                    Ok(b) => line.push(b),
                }
            }
        })
        .await;
        let request = String::from_utf8_lossy(&line).trim().to_string();
        if read.is_err() || request.is_empty() {
            // A check whether a relay answers, or a client that said nothing.
            return;
        }
        if request != super::BACKUP {
            let _ = stream
                .write_all(b"error: unknown request; this relay serves `backup`\n")
                .await;
            return;
        }
        let stream = match stream.into_std().and_then(|s| {
            s.set_nonblocking(false)?;
            s.set_write_timeout(Some(WRITE_TIMEOUT))?;
            Ok(s)
        }) {
            Ok(s) => s,
            Err(error) => {
                tracing::warn!(%error, "control socket: could not answer a backup request");
                return;
            }
        };
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let mut out = Counting {
                inner: &stream,
                bytes: 0,
            };
            let result = store.backup(&mut out);
            if let Err(e) = &result {
                if out.bytes == 0 {
                    use std::io::Write;
                    let _ = writeln!(&stream, "error: {e}");
                }
            }
            result
        })
        .await;
        match result {
            Ok(Ok(summary)) => tracing::info!(
                vaults = summary.vaults,
                records = summary.records,
                bytes = summary.bytes,
                took_ms = started.elapsed().as_millis() as u64,
                "backup taken"
            ),
            Ok(Err(error)) => tracing::warn!(%error, "backup failed"),
            Err(error) => tracing::warn!(%error, "backup task failed"),
        }
    }

    struct Counting<W> {
        inner: W,
        bytes: u64,
    }

    impl<W: std::io::Write> std::io::Write for Counting<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.bytes += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
}
