//! The store a running `sync --watch` lends to other commands.
//!
//! A watcher keeps the device's store open between events, so that a
//! change it receives is applied at once. Any other command that finds the
//! store busy asks the watcher for it over the home's socket
//! ([`crate::home::watch_socket`]): connecting is the request, one byte is
//! the answer, and the loan ends when the command exits and its end of the
//! socket closes. Before it exits, a command that wrote seals its change as
//! the device's next record and hands it over the same socket, so the
//! watcher sends it before it has even opened the store again. It also
//! touches the home's `changed` marker, which wakes the watcher.
//!
//! Both sides live here: [`Loans`], the borrowing side, is one value per
//! process, carried in the command context (see `crate::home::Home`);
//! [`Lender`] and [`Borrower`] are the watcher's.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Result};
use interlog_core::wire::Frame;
use interlog_core::wire::SealedRecord;

use crate::home::{self, DeviceVault, Home};
use crate::out;

/// What this process borrowed from a watcher, and what it owes it back.
#[derive(Default)]
pub struct Loans {
    /// This process lends the store (it is the watcher, with its socket
    /// bound): when it finds the store busy it waits instead of asking
    /// (itself) to let go.
    lends: AtomicBool,
    /// Connections to the watcher, kept open until the process exits.
    #[cfg(unix)]
    borrowed: Mutex<Vec<std::os::unix::net::UnixStream>>,
    /// Whether this process wrote to its vault (see [`Self::notify`]).
    wrote: AtomicBool,
    /// A record staged for the watcher that lent the store: an encoded
    /// `append` frame.
    staged: Mutex<Option<Vec<u8>>>,
}

impl Loans {
    /// Asks a running watcher to let go of the store in `home`, and waits
    /// for its answer (at most as long as for the store itself). Whether it
    /// let go; without a watcher listening, or without an answer, the
    /// caller keeps waiting for the store. A process that lends never asks.
    pub fn borrow(&self, home: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::io::Read;
            if self.lends.load(Ordering::Relaxed) {
                return false;
            }
            let Ok(mut s) = std::os::unix::net::UnixStream::connect(home::watch_socket(home))
            else {
                return false;
            };
            // Connecting is the request; the answer is one byte.
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let answered = matches!(s.read(&mut [0u8; 1]), Ok(1));
            // Kept open either way: the watcher may still answer, and lends
            // the store until this process exits.
            if let Ok(mut held) = self.borrowed.lock() {
                held.push(s);
            }
            answered
        }
        #[cfg(not(unix))]
        {
            let _ = home;
            false
        }
    }

    /// Notes that `v` was written (and its change is durable). If a watcher
    /// lent this process the store, seals the change as the device's next
    /// record, in the outbox (see `interlog_core::sync::stage`), for
    /// [`Self::notify`] to hand over. Best effort: otherwise the watcher
    /// pushes the change as usual.
    pub fn wrote(&self, v: &mut DeviceVault) {
        self.wrote.store(true, Ordering::Relaxed);
        #[cfg(unix)]
        {
            use interlog_core::store::Storage;
            use interlog_core::sync::{self, Membership};
            if self.borrowed.lock().map_or(true, |b| b.is_empty()) {
                return;
            }
            let store = std::path::PathBuf::from(v.storage().location());
            let Some(home) = store.parent() else { return };
            let Ok(Some(m)) = Membership::load(&home::key_file(home)) else {
                return;
            };
            if m.vault != v.vault_id() {
                return;
            }
            if let Ok(Some(record)) = sync::stage(&m, v) {
                if let (Ok(frame), Ok(mut staged)) = (
                    interlog_core::wire::encode(&Frame::Append { record }),
                    self.staged.lock(),
                ) {
                    *staged = Some(frame);
                }
            }
        }
        #[cfg(not(unix))]
        let _ = v;
    }

    /// Tells a running watcher (if any) that this process wrote something:
    /// hands over the staged record, if any, and touches the `changed`
    /// marker. Call it once the store is closed: the watcher wakes on the
    /// marker and opens the store at once. Best effort: the next sync
    /// pushes the change anyway.
    pub fn notify(&self, home: &Path) {
        if !self.wrote.load(Ordering::Relaxed) {
            return;
        }
        #[cfg(unix)]
        if let Some(frame) = self.staged.lock().ok().and_then(|mut s| s.take()) {
            use std::io::Write;
            if let Ok(mut lent) = self.borrowed.lock() {
                if let Some(s) = lent.first_mut() {
                    let _ = s.write_all(&frame);
                }
            }
        }
        let _ = std::fs::write(home::changed_marker(home), b"");
    }
}

/// Lends the store to other commands while `sync --watch` holds it between
/// events (see [`crate::home::watch_socket`]). Without one (not on Unix, or the
/// socket could not be made), the watcher holds the store only while it
/// works on an event, and other commands wait for that to end.
pub struct Lender {
    #[cfg(unix)]
    listener: Option<(tokio::net::UnixListener, std::path::PathBuf)>,
}

impl Lender {
    #[cfg(unix)]
    pub fn bind(home: &Home) -> Result<Lender> {
        home.loans().lends.store(true, Ordering::Relaxed);
        let path = home::watch_socket(home);
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            bail!(
                "another `interlog sync --watch` is already running for {}; stop it first (one watcher per device is enough)",
                home.display()
            );
        }
        // A socket file nobody listens on is left from a watcher that died.
        let _ = std::fs::remove_file(&path);
        let bound = tokio::net::UnixListener::bind(&path).and_then(|l| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            Ok(l)
        });
        let listener = match bound {
            Ok(l) => Some((l, path)),
            Err(e) => {
                out::warn(&format!(
                    "could not listen on {} ({e}); other commands will wait while the watcher works",
                    path.display()
                ));
                None
            }
        };
        Ok(Lender { listener })
    }

    #[cfg(not(unix))]
    pub fn bind(home: &Home) -> Result<Lender> {
        home.loans().lends.store(true, Ordering::Relaxed);
        Ok(Lender {})
    }

    /// Whether the watcher may hold the store between events.
    pub fn holds(&self) -> bool {
        #[cfg(unix)]
        return self.listener.is_some();
        #[cfg(not(unix))]
        false
    }

    /// The next command asking for the store; never, without a socket.
    pub async fn request(&self) -> Borrower {
        #[cfg(unix)]
        if let Some((l, _)) = &self.listener {
            loop {
                if let Ok((s, _)) = l.accept().await {
                    return Borrower {
                        stream: s,
                        sent: Vec::new(),
                    };
                }
            }
        }
        std::future::pending().await
    }
}

#[cfg(unix)]
impl Drop for Lender {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.listener {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A command that has the store: it gives it back by exiting.
pub struct Borrower {
    #[cfg(unix)]
    stream: tokio::net::UnixStream,
    /// What the command sent so far.
    #[cfg(unix)]
    sent: Vec<u8>,
}

impl Borrower {
    /// Tells the command the store is free (best effort: if it is gone,
    /// [`Self::returned`] ends at once).
    pub async fn lend(&mut self) {
        #[cfg(unix)]
        {
            use tokio::io::AsyncWriteExt;
            let _ = self.stream.write_all(b"!").await;
        }
    }

    /// Ends when the command closes its end, by exiting, with the record it
    /// staged for this watcher to send, if any (see
    /// [`Loans::wrote`]).
    pub async fn returned(&mut self) -> Option<SealedRecord> {
        #[cfg(unix)]
        {
            use tokio::io::AsyncReadExt;
            // At most one frame; anything longer is not a staged record.
            // What arrived is kept in `self`: this future may be dropped
            // (by the watcher's select) and called again.
            let mut buf = [0u8; 4096];
            while let Ok(n) = self.stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if self.sent.len() + n <= interlog_core::wire::MAX_FRAME_BYTES {
                    self.sent.extend_from_slice(&buf[..n]);
                }
            }
            match interlog_core::wire::decode(&self.sent) {
                Ok(Frame::Append { record }) => Some(record),
                _ => None,
            }
        }
        #[cfg(not(unix))]
        None
    }
}

/// While the store is lent out, the end of the loan; otherwise never.
pub async fn returned(borrower: &mut Option<Borrower>) -> Option<SealedRecord> {
    match borrower {
        Some(b) => b.returned().await,
        None => std::future::pending().await,
    }
}

/// Wakes the watcher as soon as a command touches the home's `changed`
/// marker, instead of at the next 50 ms tick: on Linux through inotify on
/// the home directory (any event there is only a hint; the marker's time
/// decides). Elsewhere, or if inotify is unavailable, the tick alone.
pub fn marker_wakeups(home: &std::path::Path) -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(target_os = "linux")]
    inotify_wakeups(home, tx);
    #[cfg(not(target_os = "linux"))]
    let _ = (home, tx);
    rx
}

#[cfg(target_os = "linux")]
fn inotify_wakeups(home: &std::path::Path, tx: tokio::sync::mpsc::Sender<()>) {
    use std::os::unix::ffi::OsStrExt;
    use tokio::sync::mpsc::error::TrySendError;
    let Ok(dir) = std::ffi::CString::new(home.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: inotify_init1 has no preconditions; the descriptor is ours.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    if fd < 0 {
        return;
    }
    let mask = libc::IN_CLOSE_WRITE | libc::IN_ATTRIB | libc::IN_MOVED_TO | libc::IN_CREATE;
    // SAFETY: `dir` is a valid C string and `fd` an inotify descriptor.
    if unsafe { libc::inotify_add_watch(fd, dir.as_ptr(), mask) } < 0 {
        // SAFETY: closing the descriptor opened above, once.
        unsafe { libc::close(fd) };
        return;
    }
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reading into a buffer of the given length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            if let Err(TrySendError::Closed(_)) = tx.try_send(()) {
                break;
            }
        }
        // SAFETY: closing the descriptor this thread owns, once.
        unsafe { libc::close(fd) };
    });
}
