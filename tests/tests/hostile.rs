//! Hostile peers against a real relay process: random and malformed frames,
//! protocol misuse (frames out of turn, records for another device, replayed
//! and gapped seqs, huge cursor maps), slow readers that never read a large
//! backlog and slow writers that trickle a handshake or a huge frame. Meanwhile
//! a device of another vault keeps appending, and the run prints its latency
//! next to the same measurement without the attack, and the relay's memory.
//! The relay must never panic and must stay bounded. Strangers, who have no
//! token, get their own tests: a huge first frame, and connections that
//! never finish their request (idle, trickled, keep-alive), then SIGTERM.
//! Results:
//! docs/reliability.md. Longer run: `INTERLOG_HOSTILE_SECS=120`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use interlog_core::sync::{self, Session};
use interlog_core::wire::{self, Frame, RecordKind, SealedRecord, Snapshot, PROTOCOL_VERSION};
use interlog_e2e::sim::{count_from_env, random_edit, Rng, SimDevice};
use interlog_e2e::TestRelay;
use serde_bytes::ByteBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

/// Appends one edit at a time through an open session for `secs`, one
/// every 20 ms; returns each append's round trip.
async fn appends_for(
    d: &mut SimDevice,
    s: &mut Session,
    rng: &mut Rng,
    secs: u64,
) -> Vec<Duration> {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    while Instant::now() < until {
        random_edit(&mut d.v.doc, rng);
        d.v.save("edit").unwrap();
        let t = Instant::now();
        s.push(&mut d.v)
            .await
            .expect("the good vault's appends go on");
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out
}

/// The runtime the attacks and the honest device share.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A device of a vault of its own, registered, with an open session.
async fn honest_device(url: &str) -> (SimDevice, Session) {
    let good = SimDevice::first(url).await;
    let name = sync::device_name(good.v.device_id());
    let session = Session::open(&good.m, &name, false, None).await.unwrap();
    (good, session)
}

/// A hello at `version` whose token is 32 bytes of `token`.
fn hello(vault: &str, device: &str, token: u8, register: bool, version: u32) -> Frame {
    let mut f = Frame::hello(vault, device, &[token; 32], register);
    if let Frame::Hello { version: v, .. } = &mut f {
        *v = version;
    }
    f
}

fn record(device: &str, seq: u64, size: usize) -> SealedRecord {
    SealedRecord {
        device: device.into(),
        seq,
        kind: RecordKind::Change,
        payload: ByteBuf::from(vec![0xab; size]),
    }
}

fn bin(f: &Frame) -> Message {
    Message::Binary(wire::encode(f).unwrap().into())
}

/// One hostile connection: a few messages of a random kind of abuse. Kinds
/// 9 to 12 are a member of the good vault (`good` holds its token).
async fn abuse(url: &str, good: &sync::Membership, rng: &mut Rng, n: u64) {
    let good_vault = &good.vault;
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("{url}/v1/sync")).await else {
        return;
    };
    let vault = format!("attacker-{n}");
    let me = format!("dev-{n}");
    let mut msgs: Vec<Message> = Vec::new();
    let member_hello = |device: &str| {
        bin(&Frame::hello(
            good_vault,
            device,
            &good.key.derive().token,
            false,
        ))
    };
    match rng.below(13) {
        // A hello under a new device id, and nothing else.
        9 => msgs.push(member_hello(&format!("ghost-{n}"))),
        // An idle live subscription.
        10 => {
            msgs.push(member_hello(&format!("squatter-{}", n % 20)));
            msgs.push(bin(&Frame::Sync {
                cursors: Default::default(),
                live: true,
                want_snapshot: false,
            }));
        }
        // 1 MiB of tiny CBOR items: decoded, about 30 MiB.
        11 => {
            msgs.push(member_hello(&format!("squatter-{}", n % 20)));
            let mut b = tiny_items_head();
            b.resize(1024 * 1024, 0x00);
            b.extend_from_slice(&tiny_items_tail());
            msgs.push(Message::Binary(b.into()));
        }
        // A garbage snapshot claiming absurd covers.
        12 => {
            let device = format!("squatter-{}", n % 20);
            msgs.push(member_hello(&device));
            msgs.push(bin(&Frame::Snapshot {
                snapshot: Snapshot {
                    device,
                    id: 1 + n,
                    covers: [("a-real-one".to_string(), 1u64 << 60)].into(),
                    payload: ByteBuf::from(vec![7; 64]),
                },
            }));
        }
        0 => msgs.push(Message::Binary(
            (0..rng.below(4000))
                .map(|_| rng.next_u64() as u8)
                .collect::<Vec<_>>()
                .into(),
        )),
        1 => msgs.push(Message::Text("{\"type\":\"hello\"}".into())),
        2 => msgs.push(bin(&hello(&vault, &me, 1, true, 99))),
        3 => msgs.push(bin(&hello(good_vault, &me, 1, false, PROTOCOL_VERSION))),
        4 => msgs.push(bin(&Frame::Append {
            record: record(&me, 1, 100),
        })),
        5 => {
            let mut b = wire::encode(&hello(&vault, &me, 1, true, PROTOCOL_VERSION)).unwrap();
            b.truncate(rng.below(b.len()));
            msgs.push(Message::Binary(b.into()));
        }
        _ => {
            // A member of its own vault misbehaving after a valid hello.
            msgs.push(bin(&hello(&vault, &me, 7, true, PROTOCOL_VERSION)));
            for _ in 0..1 + rng.below(4) {
                let f = match rng.below(8) {
                    0 => Frame::Append {
                        record: record("someone-else", 1, 64),
                    },
                    1 => Frame::Append {
                        record: record(&me, 1 + rng.below(3) as u64, 64 + rng.below(64)),
                    },
                    2 => Frame::Append {
                        record: record(&me, 1 << 40, 64),
                    },
                    3 => Frame::Sync {
                        cursors: (0..2000).map(|i| (format!("d{i}"), i as u64)).collect(),
                        live: true,
                        want_snapshot: true,
                    },
                    4 => Frame::Snapshot {
                        snapshot: Snapshot {
                            device: "someone-else".into(),
                            id: 1,
                            covers: Default::default(),
                            payload: ByteBuf::from(vec![1; 32]),
                        },
                    },
                    5 => hello(&vault, &me, 7, false, PROTOCOL_VERSION),
                    6 => Frame::Records {
                        records: vec![record(&me, 1, 8)],
                    },
                    _ => Frame::CaughtUp,
                };
                msgs.push(bin(&f));
            }
        }
    }
    for m in msgs {
        if ws.send(m).await.is_err() {
            break;
        }
    }
    // Read whatever comes back for a moment, then go.
    let _ = tokio::time::timeout(Duration::from_millis(100), async {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// A raw TCP peer that trickles an HTTP upgrade, or a huge WebSocket frame
/// after the upgrade, one small piece at a time until `stop`.
async fn slow_writer(
    addr: String,
    huge_frame: bool,
    stop: Arc<AtomicBool>,
    closed: Arc<AtomicU64>,
) {
    let Ok(mut tcp) = tokio::net::TcpStream::connect(&addr).await else {
        return;
    };
    let request = format!(
        "GET /v1/sync HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let mut trickle: Vec<u8> = if huge_frame {
        if tcp.write_all(request.as_bytes()).await.is_err() {
            return;
        }
        let mut buf = [0u8; 1024];
        let _ = tcp.read(&mut buf).await;
        // Binary frame, masked (zero mask), declaring 30 MiB.
        let mut h = vec![0x82, 0xff];
        h.extend_from_slice(&(30u64 << 20).to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h
    } else {
        request.into_bytes()
    };
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        if trickle.is_empty() {
            trickle = vec![0u8; 512];
        }
        let piece: Vec<u8> = trickle
            .drain(..trickle.len().min(if huge_frame { 512 } else { 1 }))
            .collect();
        if tcp.write_all(&piece).await.is_err() {
            closed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(if i < 20 { 20 } else { 200 })).await;
    }
}

#[test]
fn hostile_peers_do_not_panic_the_relay_or_stall_other_vaults() {
    let relay = TestRelay::start();
    let pid = relay.pid().unwrap();
    let secs = count_from_env("INTERLOG_HOSTILE_SECS", 10) as u64;
    let rt = runtime();
    rt.block_on(async {
        let url = relay.url();
        let mut rng = Rng::new(99);
        let (mut good, mut session) = honest_device(&url).await;
        let mut quiet = appends_for(&mut good, &mut session, &mut rng, 2).await;
        let rss_quiet = interlog_e2e::proc_kib(pid, "VmRSS:");

        // A vault with a 16 MiB backlog for the slow readers.
        let (mut z, _) = tokio_tungstenite::connect_async(format!("{url}/v1/sync")).await.unwrap();
        z.send(bin(&hello("backlog", "writer", 5, true, PROTOCOL_VERSION))).await.unwrap();
        for seq in 1..=64 {
            z.send(bin(&Frame::Append { record: record("writer", seq, 256 * 1024) })).await.unwrap();
        }
        drop(z);
        tokio::time::sleep(Duration::from_millis(300)).await;

        let stop = Arc::new(AtomicBool::new(false));
        let hostile = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for f in 0..3u64 {
            let (url, m, stop, hostile) = (url.clone(), good.m.clone(), stop.clone(), hostile.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng::new(1000 + f);
                while !stop.load(Ordering::Relaxed) {
                    let n = hostile.fetch_add(1, Ordering::Relaxed);
                    abuse(&url, &m, &mut rng, n).await;
                }
            }));
        }
        // Slow readers: ask for the backlog live, then never read.
        let mut readers = Vec::new();
        for r in 0..8 {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}/v1/sync")).await.unwrap();
            ws.send(bin(&hello("backlog", &format!("reader-{r}"), 5, false, PROTOCOL_VERSION))).await.unwrap();
            ws.send(bin(&Frame::Sync { cursors: Default::default(), live: true, want_snapshot: false })).await.unwrap();
            readers.push(ws);
        }
        for w in 0..16 {
            tasks.push(tokio::spawn(slow_writer(relay.addr.clone(), w % 2 == 0, stop.clone(), closed.clone())));
        }
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(interlog_e2e::proc_kib(pid, "VmRSS:"), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let mut attacked = appends_for(&mut good, &mut session, &mut rng, secs).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let _ = sampler.await;
        drop(readers);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_after = interlog_e2e::proc_kib(pid, "VmRSS:");
        session.close().await;

        // Still serving: a new device joins the good vault and gets everything.
        let fresh = SimDevice::join(&good.m).await.expect("the relay still serves");
        assert_eq!(fresh.export(), good.export());

        let (q50, q99) = (percentile(&mut quiet, 0.5), percentile(&mut quiet, 0.99));
        let (a50, a99) = (percentile(&mut attacked, 0.5), percentile(&mut attacked, 0.99));
        let peak = peak.load(Ordering::Relaxed);
        let hwm = interlog_e2e::proc_kib(pid, "VmHWM:");
        eprintln!("hostile run, {secs} s: {} hostile connections, 8 slow readers, 16 slow writers ({} cut off by the relay)", hostile.load(Ordering::Relaxed), closed.load(Ordering::Relaxed));
        eprintln!("other vault's append round trip: quiet p50 {q50:?} p99 {q99:?} ({} appends); under attack p50 {a50:?} p99 {a99:?} ({} appends)", quiet.len(), attacked.len());
        eprintln!("relay RSS: quiet {rss_quiet} KiB, peak under attack {peak} KiB (VmHWM {hwm} KiB), after {rss_after} KiB");

        let panics = relay.panics();
        assert!(panics.is_empty(), "the relay panicked: {panics:?}");
        assert!(hostile.load(Ordering::Relaxed) > 50, "the attack must actually run");
        // Bounded: 8 slow readers may each hold about a page plus a frame in
        // flight, the slow writers at most what they sent. Far below 256 MiB.
        assert!(peak < rss_quiet + 256 * 1024, "relay memory grew from {rss_quiet} KiB to {peak} KiB");
        // Issue 13's goal, over the whole run: members' many-item frames
        // included (each 1 MiB of them cost the relay about 40 MiB).
        assert!(hwm < 64 * 1024, "the relay's peak memory reached {hwm} KiB");
        // The other vault was served throughout (no append waited 5 s).
        assert!(a99 < Duration::from_secs(5), "the other vault stalled: p99 {a99:?}");
    });
}

/// A connection from `from` (an address of 127.0.0.0/8 other than
/// 127.0.0.1, which the relay treats as a reverse proxy) to `addr`.
async fn connect_from(from: &str, addr: &str) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().unwrap())?;
    socket.connect(addr.parse().unwrap()).await
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Raises this process's open-file limit to its hard limit (children, the
/// relay among them, inherit it).
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[test]
fn a_stranger_s_huge_first_frame_is_cut_off_and_the_relay_stays_small() {
    let relay = TestRelay::start();
    let pid = relay.pid().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let url = relay.url();
        let mut rng = Rng::new(7);
        let (mut good, mut session) = honest_device(&url).await;
        let mut quiet = appends_for(&mut good, &mut session, &mut rng, 1).await;
        let before = interlog_e2e::proc_kib(pid, "VmRSS:");
        // Eight strangers at once, each sending a first frame of 32 MiB of
        // tiny CBOR items (an indefinite array of zeros): decoded, each
        // would take the relay past a gigabyte.
        let mut frame = vec![0x9f];
        frame.resize(32 * 1024 * 1024 - 16, 0x00);
        frame.push(0xff);
        let frame = Arc::new(frame);
        let mut strangers = Vec::new();
        for _ in 0..8 {
            let (url, frame) = (url.clone(), frame.clone());
            strangers.push(tokio::spawn(async move {
                let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("{url}/v1/sync")).await else {
                    return;
                };
                let _ = ws.send(Message::Binary(frame.to_vec().into())).await;
            }));
        }
        let mut attacked = appends_for(&mut good, &mut session, &mut rng, 3).await;
        for s in strangers {
            tokio::time::timeout(Duration::from_secs(30), s)
                .await
                .expect("the relay never cut a stranger's huge frame off")
                .unwrap();
        }
        let peak = interlog_e2e::proc_kib(pid, "VmHWM:");
        let (q99, a99) = (percentile(&mut quiet, 0.99), percentile(&mut attacked, 0.99));
        eprintln!("huge first frames: relay RSS {before} KiB before, peak {peak} KiB; other vault's append p99 {q99:?} quiet, {a99:?} under attack");
        assert!(peak < 64 * 1024, "the relay reached {peak} KiB");
        assert!(a99 < Duration::from_secs(1), "the other vault stalled: p99 {a99:?}");
        let panics = relay.panics();
        assert!(panics.is_empty(), "the relay panicked: {panics:?}");
        session.close().await;
    });
}

#[test]
fn connections_that_never_finish_their_request_are_bounded_and_timed_out() {
    raise_fd_limit();
    let mut relay = TestRelay::start();
    let pid = relay.pid().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let url = relay.url();
        let mut good = SimDevice::first(&url).await;
        let fds_before = open_fds(pid);
        // One host opens 1,100 connections and never sends a byte (more
        // than the default open-file limit of 1,024), trickles headers on
        // some, and leaves a keep-alive idle after one request.
        let mut idle = Vec::new();
        for _ in 0..1100 {
            if let Ok(c) = connect_from("127.0.0.2", &relay.addr).await {
                idle.push(c);
            }
        }
        let mut keep_alive = connect_from("127.0.0.3", &relay.addr).await.unwrap();
        keep_alive
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
            .await
            .unwrap();
        let mut trickle = connect_from("127.0.0.4", &relay.addr).await.unwrap();
        let trickling = tokio::spawn(async move {
            let started = Instant::now();
            for b in b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ".iter().cycle() {
                if trickle.write_all(&[*b]).await.is_err() {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let fds_during = open_fds(pid);
        // Honest devices still sync meanwhile.
        let started = Instant::now();
        good.sync().await.expect("an honest device syncs during the attack");
        let synced_in = started.elapsed();

        // The headers never finished: the relay hangs up within its header
        // timeout (10 s), not never.
        let trickled_for = trickling.await.unwrap();
        // The keep-alive got its answer, then nothing: it is closed (EOF)
        // within the header timeout, not left open.
        let mut buf = [0u8; 1024];
        let idle_answer = tokio::time::timeout(Duration::from_secs(5), async {
            while keep_alive.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        })
        .await;
        eprintln!(
            "1,100 idle connections from one host: relay fds {fds_before} before, {fds_during} during; an honest sync took {synced_in:?}; a trickled request was cut off after {trickled_for:?}"
        );
        assert!(fds_during < fds_before + 100, "the relay held {fds_during} fds");
        assert!(synced_in < Duration::from_secs(5), "an honest sync took {synced_in:?}");
        assert!(trickled_for < Duration::from_secs(15), "a trickled request was held {trickled_for:?}");
        assert!(idle_answer.is_ok(), "an idle keep-alive was still open");
        assert!(relay.log().contains("closed new connections"), "the limit was not logged:\n{}", relay.log());
        drop(idle);
    });
    // A partial request does not keep SIGTERM from stopping the relay.
    let mut partial = std::net::TcpStream::connect(&relay.addr).unwrap();
    std::io::Write::write_all(&mut partial, b"GET / HT").unwrap();
    let started = Instant::now();
    assert!(
        relay.terminate(Duration::from_secs(8)),
        "the relay did not stop on SIGTERM"
    );
    eprintln!(
        "stopped on SIGTERM in {:?} with a partial request open",
        started.elapsed()
    );
    drop(partial);
}

// Members: peers that hold the vault's token (a stolen key, a device gone
// rogue, or anyone on an open relay for a vault of their own). Each test
// below failed on the relay before its fix (docs/reliability.md).

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next protocol frame on a raw connection (pings skipped), or `None`
/// when it closes or nothing comes within 30 s.
async fn next_frame(ws: &mut Ws) -> Option<Frame> {
    use futures_util::StreamExt;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => return wire::decode(&b).ok(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// A member's raw connection to `m`'s vault as `device`, and the relay's
/// answer to its hello.
async fn member(m: &sync::Membership, device: &str) -> (Ws, Option<Frame>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/v1/sync", m.relay))
        .await
        .expect("connect");
    let hello = Frame::hello(&m.vault, device, &m.key.derive().token, false);
    ws.send(bin(&hello)).await.expect("send hello");
    let answer = next_frame(&mut ws).await;
    (ws, answer)
}

fn error_code(f: &Option<Frame>) -> Option<&str> {
    match f {
        Some(Frame::Error { code, .. }) => Some(code),
        _ => None,
    }
}

/// A member appends a record whose `append` frame is exactly 32 MiB: its
/// delivery frame (`records`) would be 3 bytes over. The relay used to
/// store it, and every other device's sync and every join failed from then
/// on. Now it refuses the record (`too_large`) and the vault syncs.
#[test]
fn a_record_too_large_to_deliver_is_refused_and_the_vault_still_syncs() {
    let relay = TestRelay::start();
    let pid = relay.pid().unwrap();
    runtime().block_on(async {
        let mut good = SimDevice::first(&relay.url()).await;
        let (mut ws, welcome) = member(&good.m, "squatter").await;
        assert!(matches!(welcome, Some(Frame::Welcome { .. })), "{welcome:?}");
        let mut record = record("squatter", 1, 0);
        let empty = wire::encode(&Frame::Append { record: record.clone() }).unwrap().len();
        // An 8-byte length header replaces the empty one's 1 byte... 4-byte here.
        record.payload = ByteBuf::from(vec![0xab; wire::MAX_FRAME_BYTES - empty - 4]);
        let append = Frame::Append { record: record.clone() };
        assert_eq!(wire::encode(&append).unwrap().len(), wire::MAX_FRAME_BYTES);
        assert!(
            wire::encode(&Frame::Records { records: vec![record] }).is_err(),
            "its delivery frame is over the limit"
        );
        ws.send(bin(&append)).await.unwrap();
        let answer = next_frame(&mut ws).await;
        drop(ws);
        let joined = SimDevice::join(&good.m).await;
        let synced = good.sync().await;
        eprintln!(
            "append of a record whose delivery is 3 bytes over: relay answered {:?}; join {:?}; relay peak {} KiB",
            error_code(&answer).unwrap_or("ack"),
            joined.as_ref().map(|_| "ok").map_err(|e| e.to_string()),
            interlog_e2e::proc_kib(pid, "VmHWM:"),
        );
        assert_eq!(error_code(&answer), Some(wire::codes::TOO_LARGE), "{answer:?}");
        let joined = joined.expect("a device joins after the oversized append");
        assert_eq!(joined.export(), good.export());
        synced.expect("the vault's devices still sync");
    });
}

/// One member holds sixteen idle live subscriptions under one device id,
/// then under sixteen: the vault's real device still gets in (it used to
/// get `too_many_connections` for as long as they stayed).
#[test]
fn idle_subscriptions_of_one_member_do_not_lock_the_vault_s_devices_out() {
    let relay = TestRelay::start();
    runtime().block_on(async {
        let mut good = SimDevice::first(&relay.url()).await;
        let vault = good.m.clone();
        let subscribe = |device: String| {
            let m = vault.clone();
            async move {
                let (mut ws, welcome) = member(&m, &device).await;
                if !matches!(welcome, Some(Frame::Welcome { .. })) {
                    return None;
                }
                let sync = Frame::Sync { cursors: Default::default(), live: true, want_snapshot: false };
                ws.send(bin(&sync)).await.ok()?;
                while !matches!(next_frame(&mut ws).await?, Frame::CaughtUp) {}
                Some(ws)
            }
        };
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(subscribe("squatter".into()).await);
        }
        let started = Instant::now();
        let one_id = good.sync().await.map(|_| started.elapsed());
        drop(held);
        // Sixteen ids: their slots are taken from them once they have been
        // idle a few seconds (hub::EVICTABLE_AFTER).
        let mut held = Vec::new();
        for i in 0..16 {
            held.push(subscribe(format!("squatter-{i}")).await);
        }
        let started = Instant::now();
        let many_ids = loop {
            match good.sync().await {
                Ok(_) => break Ok(started.elapsed()),
                Err(e) if started.elapsed() > Duration::from_secs(12) => break Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        eprintln!("sixteen idle subscriptions under one device id: the real device synced {one_id:?}; under sixteen ids: synced after {many_ids:?}");
        one_id.expect("the real device syncs past one id's idle subscriptions");
        let waited = many_ids.expect("the real device syncs past sixteen ids' idle subscriptions");
        assert!(waited < Duration::from_secs(9), "waited {waited:?}");
        drop(held);
    });
}

/// A member says hello under two thousand new device ids (the attack used
/// twenty thousand, making every welcome 2 MB): the welcome stays small,
/// because a device is listed only once it has stored a record.
#[test]
fn hellos_under_new_device_ids_do_not_grow_the_welcome() {
    let relay = TestRelay::start();
    let pid = relay.pid().unwrap();
    runtime().block_on(async {
        let good = SimDevice::first(&relay.url()).await;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..4 {
            let m = good.m.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..500 {
                    let (ws, _) = member(&m, &format!("ghost-{t}-{i}")).await;
                    drop(ws);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (_ws, welcome) = member(&good.m, "looker").await;
        let Some(Frame::Welcome { devices, .. }) = welcome else {
            panic!("no welcome: {welcome:?}");
        };
        let size = wire::encode(&Frame::Welcome { version: 1, capabilities: vec![], devices: devices.clone(), vault: None }).unwrap().len();
        eprintln!(
            "2,000 hellos under new ids in {:?}: the next welcome lists {} devices, {size} bytes; relay peak {} KiB",
            started.elapsed(),
            devices.len(),
            interlog_e2e::proc_kib(pid, "VmHWM:")
        );
        // The real device and the one saying hello.
        assert_eq!(devices.len(), 2, "{:?}", devices.iter().map(|d| &d.device).collect::<Vec<_>>());
        assert!(size < 1024);
    });
}

/// A member uploads a garbage snapshot claiming absurd `covers`: it used
/// to be kept (the largest covers won), and every later join failed while
/// `pair` reported success. Now it is refused (`snapshot_refused`); one
/// with believable covers is kept only until a device's next snapshot of
/// as much (a `pair`), and joins work.
#[test]
fn a_garbage_snapshot_does_not_block_joins() {
    let relay = TestRelay::start();
    runtime().block_on(async {
        let mut good = SimDevice::first(&relay.url()).await;
        let good_id = sync::device_name(good.v.device_id());
        let garbage = |seq: u64| Frame::Snapshot {
            snapshot: Snapshot {
                device: "squatter".into(),
                id: 1,
                covers: [(good_id.clone(), seq)].into(),
                payload: ByteBuf::from(vec![0x5a; 64]),
            },
        };
        let (mut ws, _) = member(&good.m, "squatter").await;
        ws.send(bin(&garbage(1_000_000_000_000_000_000)))
            .await
            .unwrap();
        let absurd = next_frame(&mut ws).await;
        drop(ws);
        let joined = SimDevice::join(&good.m).await.map(|d| d.export());
        eprintln!(
            "a snapshot covering seq 10^18: relay answered {:?}; a join then {:?}",
            error_code(&absurd).unwrap_or("snapshot_ack"),
            joined.as_ref().map(|_| "ok").map_err(|e| e.to_string())
        );
        assert_eq!(
            error_code(&absurd),
            Some(wire::codes::SNAPSHOT_REFUSED),
            "{absurd:?}"
        );
        assert_eq!(
            joined.expect("a device joins after the garbage snapshot"),
            good.export()
        );

        // Believable covers (all the relay holds): the relay cannot tell,
        // and keeps it; the real device's next snapshot (as `pair` uploads)
        // replaces it.
        let (mut ws, _) = member(&good.m, "squatter").await;
        ws.send(bin(&garbage(1))).await.unwrap();
        let believable = next_frame(&mut ws).await;
        drop(ws);
        assert!(
            matches!(believable, Some(Frame::SnapshotAck { id: 1 })),
            "{believable:?}"
        );
        good.sync_snapshot()
            .await
            .expect("pair's sync and snapshot");
        let joined = SimDevice::join(&good.m).await.map(|d| d.export());
        eprintln!(
            "a garbage snapshot with believable covers, then a pair: a join {:?}",
            joined.as_ref().map(|_| "ok").map_err(|e| e.to_string())
        );
        assert_eq!(joined.expect("a device joins after pair"), good.export());
    });
}

/// `{"pad": [_ 0, 0, 0, …], "type": …}` opened: a frame whose first key
/// is not `type`, so serde buffers everything before the tag (tens of
/// bytes per tiny item) until it finds it.
fn tiny_items_head() -> Vec<u8> {
    let mut b = vec![0xbf];
    b.extend(cbor_text("pad"));
    b.push(0x9f);
    b
}

/// Closes [`tiny_items_head`]'s array and names the frame.
fn tiny_items_tail() -> Vec<u8> {
    let mut b = vec![0xff];
    b.extend(cbor_text("type"));
    b.extend(cbor_text("caught_up"));
    b.push(0xff);
    b
}

/// 32 MiB of `unit` after `head`, closed by `tail`.
fn filled(head: &[u8], unit: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut b = head.to_vec();
    while b.len() + unit.len() + tail.len() <= wire::MAX_FRAME_BYTES {
        b.extend_from_slice(unit);
    }
    b.extend_from_slice(tail);
    b
}

fn cbor_text(s: &str) -> Vec<u8> {
    let mut b = vec![0x60 + s.len() as u8];
    b.extend_from_slice(s.as_bytes());
    b
}

/// A welcome of 32 MiB listing millions of tiny devices.
fn huge_welcome() -> Vec<u8> {
    let mut head = vec![0xa4];
    for part in ["type", "welcome", "version"] {
        head.extend(cbor_text(part));
    }
    head.push(0x01);
    head.extend(cbor_text("capabilities"));
    head.push(0x80);
    head.extend(cbor_text("devices"));
    head.push(0x9f);
    let mut device = vec![0xa3];
    device.extend(cbor_text("device"));
    device.extend(cbor_text("d"));
    device.extend(cbor_text("last_seq"));
    device.push(0x00);
    device.extend(cbor_text("last_seen"));
    device.push(0x00);
    filled(&head, &device, &[0xff])
}

/// A lying relay answers `interlog sync` with a 32 MiB welcome of tiny
/// device entries. The CLI used to build it (1.4 GB); now its decoder
/// refuses it from the headers, and the CLI fails fast and small.
#[test]
fn a_lying_relay_s_huge_welcome_fails_fast_and_small_in_the_cli() {
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let welcome = Arc::new(huge_welcome());
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let welcome = welcome.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                use futures_util::StreamExt;
                let _hello = ws.next().await;
                let _ = ws.send(Message::Binary(welcome.to_vec().into())).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let device = interlog_e2e::Device::init();
    let started = Instant::now();
    let mut child = device
        .cmd(&["sync", "--relay", &format!("ws://{addr}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        peak = peak.max(interlog_e2e::proc_kib(child.id(), "VmHWM:"));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    eprintln!("a lying relay's 32 MiB welcome: `interlog sync` failed after {took:?}, peak {peak} KiB: {}", err.trim());
    assert!(!status.success());
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // The 32 MiB message itself, read and assembled: well under 200 MiB.
    assert!(peak < 200 * 1024, "the CLI reached {peak} KiB");
    drop(rt);
}

/// A member sends, after its hello, one 32 MiB frame of tiny CBOR items
/// (a member passed the front door's 64 KiB budget). Decoded, it took the
/// relay past a gigabyte; now the decoder refuses it from its headers, and
/// the relay holds only the message itself.
#[test]
fn a_member_s_huge_frame_of_tiny_items_is_refused_from_its_headers() {
    let relay = TestRelay::start();
    let pid = relay.pid().unwrap();
    runtime().block_on(async {
        let url = relay.url();
        let mut rng = Rng::new(3);
        let (mut good, mut session) = honest_device(&url).await;
        let before = interlog_e2e::proc_kib(pid, "VmRSS:");
        let mut quiet = appends_for(&mut good, &mut session, &mut rng, 1).await;
        let (mut ws, _) = member(&good.m, "squatter").await;
        let frame = filled(&tiny_items_head(), &[0x00], &tiny_items_tail());
        let sending = tokio::spawn(async move {
            let _ = ws.send(Message::Binary(frame.into())).await;
            next_frame(&mut ws).await
        });
        let mut attacked = appends_for(&mut good, &mut session, &mut rng, 3).await;
        let answer = sending.await.unwrap();
        let peak = interlog_e2e::proc_kib(pid, "VmHWM:");
        let (q99, a99) = (percentile(&mut quiet, 0.99), percentile(&mut attacked, 0.99));
        eprintln!("a member's 32 MiB frame of tiny items: relay answered {:?}; RSS {before} KiB before, peak {peak} KiB; other device's append p99 {q99:?} quiet, {a99:?} meanwhile", error_code(&answer));
        assert_eq!(error_code(&answer), Some(wire::codes::BAD_FRAME), "{answer:?}");
        // The 32 MiB message is held while it arrives; nothing is built.
        assert!(peak < 96 * 1024, "the relay reached {peak} KiB");
        assert!(a99 < Duration::from_secs(1), "the other device stalled: p99 {a99:?}");
        session.close().await;
    });
}

/// SIGTERM while devices are subscribed live and a member's subscription
/// does not read its backlog: the relay tells every live device
/// `shutting_down` and exits well within its grace (5 s), the stuck send
/// included. It used to exit without waiting for its WebSocket
/// connections: whichever had not said goodbye by then heard nothing.
#[test]
fn sigterm_with_live_subscriptions_says_goodbye_within_the_grace() {
    let mut relay = TestRelay::start();
    let rt = runtime();
    let (watchers, reader) = rt.block_on(async {
        let good = SimDevice::first(&relay.url()).await;
        let live = Frame::Sync {
            cursors: Default::default(),
            live: true,
            want_snapshot: false,
        };
        let mut watchers = Vec::new();
        for i in 0..12 {
            let (mut watcher, _) = member(&good.m, &format!("watcher-{i}")).await;
            watcher.send(bin(&live)).await.unwrap();
            while !matches!(next_frame(&mut watcher).await, Some(Frame::CaughtUp) | None) {}
            watchers.push(watcher);
        }
        // Another vault: an 8 MiB backlog, and a subscriber that never reads.
        let other = SimDevice::first(&relay.url()).await;
        let (mut writer, _) = member(&other.m, "writer").await;
        for seq in 1..=8 {
            writer
                .send(bin(&Frame::Append {
                    record: record("writer", seq, 1024 * 1024),
                }))
                .await
                .unwrap();
            next_frame(&mut writer).await;
        }
        let (mut reader, _) = member(&other.m, "reader").await;
        reader.send(bin(&live)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        (watchers, reader)
    });
    let started = Instant::now();
    let stopped = relay.terminate(Duration::from_secs(10));
    let took = started.elapsed();
    let heard: Vec<Option<String>> = rt.block_on(async {
        let mut heard = Vec::new();
        for mut w in watchers {
            heard.push(error_code(&next_frame(&mut w).await).map(str::to_string));
        }
        heard
    });
    let told = heard
        .iter()
        .filter(|h| h.as_deref() == Some(wire::codes::SHUTTING_DOWN))
        .count();
    eprintln!("SIGTERM with 12 live subscriptions and a reader that does not read: stopped {stopped} in {took:?}; {told} of 12 live devices heard shutting_down: {heard:?}");
    assert!(stopped && took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(told, 12, "{heard:?}");
    drop(reader);
}
