//! # interlog-relay
//!
//! The self-hosted relay: it stores and forwards sealed change records so a
//! user's devices converge, and it cannot read them. Devices hold the truth;
//! the relay only helps them meet. Protocol: docs/protocol.md.
//!
//! # Layout
//! - [`settings`]: flags, environment, TOML file, defaults.
//! - [`store`]: the storage trait, its sled, Postgres and in-memory
//!   implementations.
//! - [`backup`]: a consistent backup of a running relay's store, and restoring one.
//! - [`control`]: the owner-only socket in the data directory through which
//!   `interlog relay backup` reaches a running relay.
//! - [`gate`]: the front door: what a connection may do before its hello
//!   (how many, how many bytes, how long), plain or TLS, and shutdown.
//! - [`peer`]: one WebSocket connection's protocol state machine.
//! - [`hub`]: per-vault live fan-out and connection limits.
//! - [`invites`]: one-time registration codes.
//! - [`app`]: the phone app at `/app/`, built in or from `--app-dir`.
//! - [`landing`]: the page at `/`, saying what the relay is.
//! - [`tls`]: HTTPS and `wss://`: certificate files, self-signed, ACME.
//!
//! [`run`] takes a bound listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and stop the relay cleanly. [`runtime`] is the tokio
//! runtime it runs on, and [`program`] is the `interlog-relay` binary
//! (built by the `interlog` package beside `interlog`, which starts it for
//! `interlog relay`).

pub mod app;
pub mod backup;
pub mod control;
pub mod gate;
pub mod hub;
pub mod invites;
pub mod landing;
pub mod peer;
pub mod settings;
pub mod store;
pub mod tls;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

pub use settings::{Limits, Registration, RelayArgs, Settings, Tls};
use store::{Change, PostgresRelayStore, RelayStore, SledRelayStore};

/// Counters served on the metrics listener.
#[derive(Default)]
pub struct Metrics {
    pub connections_total: AtomicU64,
    pub connections_open: AtomicU64,
    pub appends_total: AtomicU64,
    pub append_bytes_total: AtomicU64,
    pub records_sent_total: AtomicU64,
    pub refusals_total: AtomicU64,
}

impl Metrics {
    fn render(&self) -> String {
        let mut out = String::new();
        for (name, v) in [
            ("interlog_relay_connections_total", &self.connections_total),
            ("interlog_relay_connections_open", &self.connections_open),
            ("interlog_relay_appends_total", &self.appends_total),
            (
                "interlog_relay_append_bytes_total",
                &self.append_bytes_total,
            ),
            (
                "interlog_relay_records_sent_total",
                &self.records_sent_total,
            ),
            ("interlog_relay_refusals_total", &self.refusals_total),
        ] {
            out.push_str(&format!("{name} {}\n", v.load(Ordering::Relaxed)));
        }
        out
    }
}

/// Everything a connection needs.
pub struct Shared<S: RelayStore> {
    pub settings: Settings,
    pub store: Arc<S>,
    pub hub: hub::Hub,
    pub metrics: Metrics,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Every WebSocket connection task holds a receiver of this until it
    /// ends, so shutdown can wait for them to say goodbye.
    pub connections: tokio::sync::watch::Sender<()>,
    /// Other relay processes write to the same store: live devices also
    /// read from their cursors now and then, in case a wake-up was lost.
    pub peers: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] store::RelayStoreError),
    #[error("relay I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "could not listen on {addr} for the relay's {what}: {error}; {}",
        bind_advice(error, flag)
    )]
    Bind {
        what: &'static str,
        addr: String,
        flag: &'static str,
        error: std::io::Error,
    },
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// What to do about an address the relay could not listen on.
fn bind_advice(error: &std::io::Error, flag: &str) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            format!("another relay (or program) uses that address: stop it, or pick another with {flag}")
        }
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need privileges (see docs/self-hosting.md), or pick another with {flag}"
        ),
        _ => format!("give {flag} as HOST:PORT, for example 127.0.0.1:7878 or 0.0.0.0:7878"),
    }
}

/// Runs a relay on `listener` with the store `settings` name (sled in
/// `settings.data`, or Postgres) until `shutdown` resolves; then connections
/// finish their in-flight append, are told the relay is going away, and
/// close.
pub async fn run(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    private_data_dir(&settings.data)?;
    if let settings::StoreChoice::Postgres(url) = &settings.store {
        let store = PostgresRelayStore::connect(url).await?;
        return run_with_store(listener, metrics, settings, Arc::new(store), shutdown).await;
    }
    let data = settings.data.clone();
    let store = tokio::task::spawn_blocking(move || {
        let store = SledRelayStore::open(&data)?;
        owner_only(&data.join("store"))?;
        Ok::<_, RelayError>(store)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    // Writes can be held back while a backup reads the store.
    let store = Arc::new(backup::Pausable::new(store));
    #[cfg(unix)]
    let control = control::spawn(&settings.data, store.clone());
    #[cfg(unix)]
    let data = settings.data.clone();
    let result = run_with_store(listener, metrics, settings, store, shutdown).await;
    #[cfg(unix)]
    control::remove(&data, control);
    result
}

/// Creates the relay's data directory owner-only (0700), whatever the
/// umask, and makes an existing one owner-only: it may have been created
/// before the relay set its umask (`interlog relay invite` before the first
/// start, or by hand), and it holds the vaults' token hashes and TLS keys.
pub fn private_data_dir(data: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data)?;
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(data)?;
    Ok(())
}

/// Makes everything under `dir` owner-only: directories 0700, files 0600
/// (sled creates its files with the process's umask, and an in-process
/// relay does not set one).
pub(crate) fn owner_only(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.is_dir() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            for entry in std::fs::read_dir(dir)? {
                owner_only(&entry?.path())?;
            }
        } else if meta.is_file() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// [`run`] with any store.
pub async fn run_with_store<S: RelayStore>(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    settings: Settings,
    store: Arc<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let (connections, _) = tokio::sync::watch::channel(());
    let changes = store.changes();
    let shared = Arc::new(Shared {
        peers: changes.is_some(),
        hub: hub::Hub::new(settings.limits.max_connections_per_vault),
        settings,
        store,
        metrics: Metrics::default(),
        shutdown: rx.clone(),
        connections,
    });
    if let Some(changes) = changes {
        tokio::spawn(wake_on_changes(shared.clone(), changes));
    }
    let stopping = Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    {
        let stopping = stopping.clone();
        tokio::spawn(async move {
            shutdown.await;
            if let Ok(mut at) = stopping.lock() {
                *at = Some(std::time::Instant::now());
            }
            let _ = tx.send(true);
        });
    }
    if let Some(ml) = metrics_listener {
        let shared = shared.clone();
        let mut stop = rx.clone();
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let shared = shared.clone();
                async move { shared.metrics.render() }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(ml, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        });
    }
    let app = Router::new()
        .route("/", get(landing::page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/v1/sync", get(upgrade::<S>))
        .merge(app::routes(app::AppFiles::new(
            shared.settings.app_dir.clone(),
        )))
        .with_state(shared.clone());
    let acceptor =
        tls::Acceptor::new(&shared.settings.tls, &shared.settings.data, rx.clone()).await?;
    let addr = listener.local_addr()?;
    match acceptor.as_ref().map(|a| a.pin) {
        None => tracing::info!(%addr, "relay listening"),
        Some(None) => tracing::info!(%addr, "relay listening with TLS"),
        Some(Some(pin)) => tracing::info!(
            %addr,
            %pin,
            "relay listening with TLS (self-signed): devices trust it by this pin, with `interlog sync --relay wss://HOST:PORT --pin PIN` or an invite or join code that carries it"
        ),
    }
    gate::serve(
        listener,
        acceptor.map(|a| a.acceptor()),
        app,
        shared.settings.limits.gate.clone(),
        rx.clone(),
    )
    .await?;
    // The WebSocket connections heard the shutdown when the gate did: they
    // finish their frame in progress, say `shutting_down` and close. Wait
    // for them within the same grace, counted from the signal.
    let grace = shared.settings.limits.gate.shutdown_grace;
    let since = stopping
        .lock()
        .ok()
        .and_then(|at| *at)
        .map_or(Duration::ZERO, |at| at.elapsed());
    let left = grace.saturating_sub(since).max(Duration::from_millis(500));
    if tokio::time::timeout(left, shared.connections.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = shared.connections.receiver_count(),
            "connections still open {grace:?} after the shutdown signal; stopping anyway"
        );
    }
    tracing::info!("relay stopped");
    Ok(())
}

/// Wakes the live devices of each vault another relay appended to (they
/// read what they lack from the store), until the relay stops.
async fn wake_on_changes<S: RelayStore>(
    shared: Arc<Shared<S>>,
    mut changes: tokio::sync::mpsc::Receiver<Change>,
) {
    let mut stop = shared.shutdown.clone();
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(Change::Vault(vault)) => shared.hub.wake(&vault),
                Some(Change::Everything) => shared.hub.wake_all(),
                None => return,
            },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Per connection, the WebSocket layer's read buffer (default 128 KiB) and
/// write buffer. Most connections sit idle in live sync, so these dominate
/// the relay's memory per device; a big frame still arrives whole (it is
/// assembled outside this buffer) and leaves with one flush.
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;

async fn upgrade<S: RelayStore>(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared<S>>>,
    stranger: Option<axum::Extension<gate::Stranger>>,
) -> impl IntoResponse {
    let stranger = stranger.map(|axum::Extension(s)| s);
    let limits = &shared.settings.limits;
    ws.max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(limits.max_pending_bytes)
        .on_upgrade(move |socket| peer::serve(Box::new(socket), shared, stranger))
}

/// Most blocking threads the relay's runtime starts for storage (tokio's
/// default is 512). An append holds its thread while sled flushes, and one
/// sled flush covers every append already written, so a few dozen threads
/// keep the disk as busy as hundreds. Hundreds cost memory: a burst of a
/// thousand connections, each registering or touching its vault, started 60
/// to 150, each with its touched stack and, for the first 16, a malloc arena
/// of its own (about 4 KiB per connection in benchmark figure 3).
pub const MAX_BLOCKING_THREADS: usize = 32;

/// The runtime the relay is meant to run on; both binaries use it.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
}

/// Opens and binds what `settings` name, then runs until Ctrl-C or SIGTERM.
/// Everything the relay creates from here on is owner-only, whatever the
/// umask it was started with: its data, TLS keys and the ACME account key
/// (which `rustls-acme` writes with the process's umask).
pub async fn serve_forever(settings: Settings) -> Result<(), RelayError> {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let bind = |what, flag, addr: String| async move {
        TcpListener::bind(&addr)
            .await
            .map_err(|error| RelayError::Bind {
                what,
                addr,
                flag,
                error,
            })
    };
    let listener = bind("devices", "--listen", settings.listen.clone()).await?;
    let metrics = match &settings.metrics {
        Some(addr) => Some(bind("metrics", "--metrics (or `off`)", addr.clone()).await?),
        None => None,
    };
    run(listener, metrics, settings, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The Interlog relay: stores and forwards end-to-end encrypted change records.
#[derive(clap::Parser)]
#[command(name = "interlog-relay", version)]
struct Program {
    #[command(flatten)]
    args: RelayArgs,
}

/// The `interlog-relay` program, which `interlog relay` also starts: reads
/// its settings and serves until stopped. It is a program of its own so that
/// it runs on the system's allocator while the journal's commands run on
/// mimalloc (cli/src/main.rs says why). Exits 2 on bad settings, 1 when the
/// relay cannot start or stops on an error. Errors may quote a file, a
/// database or an ACME server, so control characters are escaped.
pub fn program() -> std::process::ExitCode {
    init_logging();
    let error = |e: &dyn std::fmt::Display| {
        eprintln!(
            "error: {}",
            interlog_core::tls::printable_lines(&e.to_string())
        )
    };
    let settings = match <Program as clap::Parser>::parse().args.resolve() {
        Ok(s) => s,
        Err(e) => {
            error(&e);
            return std::process::ExitCode::from(2);
        }
    };
    let result = match runtime() {
        Ok(rt) => rt
            .block_on(serve_forever(settings))
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("could not start the relay runtime: {e}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            error(&e);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Sets up logging from `INTERLOG_LOG` or `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = std::env::var("INTERLOG_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    /// The data directory is 0700 and sled's files 0600 whatever the
    /// umask, also when `interlog relay invite` created the directory
    /// before the relay ever started (and set its umask), or an operator
    /// made it by hand.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_data_directory_and_store_are_owner_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let by_invite = root.path().join("by-invite");
        let by_hand = root.path().join("by-hand");
        // SAFETY: umask only sets the process's file-creation mask; 022 is
        // the usual default, restored below.
        let old = unsafe { libc::umask(0o022) };
        crate::invites::mint(&by_invite).unwrap();
        std::fs::create_dir(&by_hand).unwrap();
        for data in [&by_invite, &by_hand] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let settings = crate::settings::Settings::for_tests(data);
            super::run(listener, None, settings, async {})
                .await
                .unwrap();
        }
        unsafe { libc::umask(old) };
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for data in [&by_invite, &by_hand] {
            assert_eq!(mode(data), 0o700, "{}", data.display());
            let mut files = 0;
            for entry in std::fs::read_dir(data.join("store")).unwrap() {
                let p = entry.unwrap().path();
                if p.is_file() {
                    files += 1;
                    assert_eq!(mode(&p), 0o600, "{}", p.display());
                }
            }
            assert!(files > 0);
        }
    }

    #[tokio::test]
    async fn an_address_in_use_is_named_with_the_flag_that_moves_it() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let data = tempfile::tempdir().unwrap();
        let mut settings = crate::settings::Settings::for_tests(data.path());
        settings.listen = "127.0.0.1:0".into();
        settings.metrics = Some(addr.clone());
        let err = super::serve_forever(settings)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&addr) && err.contains("metrics") && err.contains("--metrics"),
            "{err}"
        );
    }
}
