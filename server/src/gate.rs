//! The relay's front door: every connection passes here, over plain TCP or
//! TLS, before the HTTP router sees it.
//!
//! A connection is a *stranger* from its accept until its hello is admitted
//! (`peer::serve` calls [`Stranger::admit`]). What a stranger can make the
//! relay hold is bounded, so a public relay survives people who have no
//! token:
//! - **how many**: at most [`GateLimits::max_strangers`] at once, and
//!   [`GateLimits::max_strangers_per_address`] from one address other than
//!   127.0.0.1 and ::1 (a reverse proxy on the same machine brings everyone
//!   from there); a connection beyond either is closed at once;
//! - **how many bytes**: [`GateLimits::stranger_bytes`] in all (TLS
//!   handshake, HTTP request, WebSocket upgrade and hello), so a huge first
//!   frame is cut off long before the WebSocket layer buffers it;
//! - **how long**: the TLS handshake within [`crate::tls::HANDSHAKE_TIMEOUT`],
//!   each request's headers (and an idle keep-alive) within
//!   [`GateLimits::header_timeout`], all of its HTTP within
//!   [`GateLimits::stranger_lifetime`] (a peer that drips requests or never
//!   reads a response), the hello within `peer::HELLO_TIMEOUT`.
//!
//! On shutdown, connections still in HTTP get [`GateLimits::shutdown_grace`]
//! to finish, then the relay stops anyway.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// What strangers may do; see the module's header.
#[derive(Debug, Clone)]
pub struct GateLimits {
    pub max_strangers: usize,
    pub max_strangers_per_address: usize,
    pub stranger_bytes: usize,
    pub header_timeout: Duration,
    /// How long a connection may stay in HTTP without saying hello: cuts
    /// off a peer that drips requests or never reads a response.
    pub stranger_lifetime: Duration,
    pub shutdown_grace: Duration,
}

impl Default for GateLimits {
    fn default() -> Self {
        GateLimits {
            max_strangers: 512,
            max_strangers_per_address: 32,
            // A hello is under 1 KiB; with the TLS handshake, the HTTP
            // request and the upgrade, an honest device sends about 3 KiB.
            // A browser loading the app sends small GETs, many per
            // connection: this is a few dozen of them.
            stranger_bytes: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            // Long enough to load the app (3.7 MB) over a slow phone link.
            stranger_lifetime: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A connection not yet admitted by a hello; what it holds of the limits.
#[derive(Clone)]
pub struct Stranger(Arc<StrangerState>);

struct StrangerState {
    admitted: AtomicBool,
    held: Mutex<Option<(OwnedSemaphorePermit, Option<Counted>)>>,
}

impl Stranger {
    /// The connection said a good hello: it no longer counts as a stranger.
    pub fn admit(&self) {
        self.0.admitted.store(true, Ordering::Release);
        if let Ok(mut held) = self.0.held.lock() {
            held.take();
        }
    }

    fn admitted(&self) -> bool {
        self.0.admitted.load(Ordering::Acquire)
    }
}

/// Counts connections per source address.
#[derive(Default)]
pub struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One connection counted in [`PerAddress`], until dropped.
pub struct Counted(Arc<PerAddress>, IpAddr);

impl PerAddress {
    /// Counts one more from `ip`, unless `max` are there already.
    pub fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Counted> {
        let mut map = self.0.lock().ok()?;
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Counted(self.clone(), ip))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Ok(mut map) = (self.0).0.lock() {
            if let Some(n) = map.get_mut(&self.1) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.1);
                }
            }
        }
    }
}

/// A connection's byte stream, cut off once a stranger has sent more than
/// its budget.
struct Budgeted<IO> {
    io: IO,
    stranger: Stranger,
    left: usize,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Budgeted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.stranger.admitted() {
            return Pin::new(&mut self.io).poll_read(cx, buf);
        }
        if self.left == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "sent too much before a hello",
            )));
        }
        // As tokio's `Take` does.
        let room = buf.remaining().min(self.left);
        let mut limited = buf.take(room);
        let start = limited.filled().as_ptr();
        std::task::ready!(Pin::new(&mut self.io).poll_read(cx, &mut limited))?;
        // The inner reader filled the buffer it was given, not another.
        assert_eq!(start, limited.filled().as_ptr());
        let n = limited.filled().len().min(self.left);
        // SAFETY: the first `n` bytes of the unfilled part were filled
        // (and so initialised) by the read above, through `limited`.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        self.left -= n;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Budgeted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Says, at most every 10 s, that connections were turned away.
struct Shedding {
    count: u64,
    said_at: Option<Instant>,
}

impl Shedding {
    fn shed(&mut self, limits: &GateLimits) {
        self.count += 1;
        if self
            .said_at
            .is_none_or(|t| t.elapsed() > Duration::from_secs(10))
        {
            tracing::warn!(
                closed = self.count,
                "closed new connections: too many that have not said hello ({} in all, {} per address); raise the open-file limit and these limits only if honest devices are turned away",
                limits.max_strangers,
                limits.max_strangers_per_address
            );
            self.said_at = Some(Instant::now());
        }
    }
}

/// Serves `app` on `listener` (TLS through `tls` if given) until
/// `shutdown` turns true; then lets connections in HTTP finish for
/// [`GateLimits::shutdown_grace`] at most.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    limits: GateLimits,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let strangers = Arc::new(Semaphore::new(limits.max_strangers));
    let per_address = Arc::new(PerAddress::default());
    let mut shedding = Shedding {
        count: 0,
        said_at: None,
    };
    // Every connection task holds a receiver; when all are gone, all ended.
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if out_of_resources(&e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = stopped(&mut shutdown) => break,
                    }
                    continue;
                }
                // That one connection failed (reset before it was accepted).
                Err(_) => continue,
            },
            _ = stopped(&mut shutdown) => break,
        };
        let Some(stranger) = admit_stranger(&strangers, &per_address, addr, &limits) else {
            shedding.shed(&limits);
            continue;
        };
        // Small frames go out at once: without TCP_NODELAY, Nagle's
        // algorithm and delayed ACKs hold each reply back by up to 40 ms.
        let _ = tcp.set_nodelay(true);
        let io = Budgeted {
            io: tcp,
            stranger: stranger.clone(),
            left: limits.stranger_bytes,
        };
        let (app, tls, limits) = (app.clone(), tls.clone(), limits.clone());
        let (shutdown, close_rx) = (shutdown.clone(), close_rx.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_http(io, app, stranger, &limits, shutdown).await,
                Some(tls) => {
                    let handshake =
                        tokio::time::timeout(crate::tls::HANDSHAKE_TIMEOUT, tls.accept(io));
                    let mut stop = shutdown.clone();
                    let accepted = tokio::select! {
                        a = handshake => a,
                        _ = stopped(&mut stop) => return,
                    };
                    match accepted {
                        Ok(Ok(io)) if !crate::tls::is_acme_challenge(&io) => {
                            serve_http(io, app, stranger, &limits, shutdown).await
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, close_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still in HTTP after {:?}; stopping anyway",
            limits.shutdown_grace
        );
    }
    Ok(())
}

/// Whether an accept failed for want of resources (file descriptors,
/// memory), which waiting may cure, rather than for one connection.
fn out_of_resources(e: &io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        return [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM].contains(&code);
    }
    e.kind() == io::ErrorKind::OutOfMemory
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// What counts as one host: an IPv4 address, or an IPv6 /64 (a host
/// normally holds a whole /64).
fn host_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// Counts a new connection as a stranger, or `None` when over a limit.
fn admit_stranger(
    strangers: &Arc<Semaphore>,
    per_address: &Arc<PerAddress>,
    addr: SocketAddr,
    limits: &GateLimits,
) -> Option<Stranger> {
    let permit = strangers.clone().try_acquire_owned().ok()?;
    // A reverse proxy on this machine brings every device from 127.0.0.1
    // or ::1: it has limits of its own. Other addresses, the rest of
    // 127.0.0.0/8 included, are counted.
    // `to_canonical`: a relay listening on [::] sees IPv4 peers, a local
    // proxy among them, as ::ffff:a.b.c.d.
    let ip = addr.ip().to_canonical();
    let proxy = ip == IpAddr::from([127, 0, 0, 1]) || ip == std::net::Ipv6Addr::LOCALHOST;
    let counted = if proxy {
        None
    } else {
        Some(per_address.enter(host_key(ip), limits.max_strangers_per_address)?)
    };
    Some(Stranger(Arc::new(StrangerState {
        admitted: AtomicBool::new(false),
        held: Mutex::new(Some((permit, counted))),
    })))
}

/// One connection's HTTP, upgrades included, until it ends or, on
/// shutdown, finishes what it is doing.
async fn serve_http<IO>(
    io: IO,
    app: Router,
    stranger: Stranger,
    limits: &GateLimits,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(stranger.clone());
        let mut app = app.clone();
        async move { tower_service::Service::call(&mut app, req.map(axum::body::Body::new)).await }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = http
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    // An upgraded connection leaves this function at once (the WebSocket
    // goes on in a task of its own): only strangers' HTTP meets the limit.
    let deadline = tokio::time::sleep(limits.stranger_lifetime);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended");
            }
            return;
        }
        _ = deadline => {
            tracing::debug!("closing a connection that stayed in HTTP too long without a hello");
            return;
        }
        _ = stopped(&mut shutdown) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.shutdown_grace, conn).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_its_slash_64_and_a_mapped_proxy_is_exempt() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(host_key(a), host_key(b));
        let strangers = Arc::new(Semaphore::new(8));
        let per = Arc::new(PerAddress::default());
        let limits = GateLimits {
            max_strangers_per_address: 1,
            ..GateLimits::default()
        };
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 1);
        let _one = admit_stranger(&strangers, &per, at("2001:db8:1:2::1"), &limits).unwrap();
        assert!(admit_stranger(&strangers, &per, at("2001:db8:1:2::2"), &limits).is_none());
        let _p = admit_stranger(&strangers, &per, at("::ffff:127.0.0.1"), &limits).unwrap();
        let _q = admit_stranger(&strangers, &per, at("::ffff:127.0.0.1"), &limits).unwrap();
    }

    #[test]
    fn per_address_counts_come_and_go() {
        let per = Arc::new(PerAddress::default());
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = per.enter(ip, 2).unwrap();
        let _b = per.enter(ip, 2).unwrap();
        assert!(per.enter(ip, 2).is_none(), "a third is over the limit");
        assert!(per.enter("203.0.113.8".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(per.enter(ip, 2).is_some(), "one left, one may come");
    }

    #[tokio::test]
    async fn a_stranger_is_cut_off_after_its_budget_and_admitted_ones_are_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let strangers = Arc::new(Semaphore::new(1));
        let per = Arc::new(PerAddress::default());
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let limits = GateLimits::default();
        let stranger = admit_stranger(&strangers, &per, addr, &limits).unwrap();
        assert!(
            admit_stranger(&strangers, &per, addr, &limits).is_none(),
            "one stranger at a time here"
        );
        let (mut far, near) = tokio::io::duplex(1 << 20);
        let mut io = Budgeted {
            io: near,
            stranger: stranger.clone(),
            left: 1000,
        };
        far.write_all(&[7; 3000]).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        let err = loop {
            match io.read(&mut buf).await {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
        };
        assert_eq!(got.len(), 1000, "exactly the budget, then an error");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        stranger.admit();
        assert_eq!(strangers.available_permits(), 1, "no longer counted");
        let n = io.read(&mut buf).await.unwrap();
        assert!(n > 0, "admitted: the rest flows");
    }
}
