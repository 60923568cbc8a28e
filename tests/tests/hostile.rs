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
use interlog_core::wire::{self, Frame, Record, RecordKind, Snapshot, PROTOCOL_VERSION};
use interlog_e2e::sim::{count_from_env, random_edit, Rng, SimDevice};
use interlog_e2e::TestRelay;
use serde_bytes::ByteBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

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

fn hello(vault: &str, device: &str, token: u8, register: bool, version: u32) -> Frame {
    Frame::Hello {
        version,
        capabilities: vec![],
        vault: vault.into(),
        device: device.into(),
        token: ByteBuf::from(vec![token; 32]),
        register,
        invite: None,
    }
}

fn record(device: &str, seq: u64, size: usize) -> Record {
    Record {
        device: device.into(),
        seq,
        kind: RecordKind::Change,
        payload: ByteBuf::from(vec![0xab; size]),
    }
}

fn bin(f: &Frame) -> Message {
    Message::Binary(wire::encode(f).unwrap().into())
}

/// One hostile connection: a few messages of a random kind of abuse.
async fn abuse(url: &str, good_vault: &str, rng: &mut Rng, n: u64) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("{url}/v1/sync")).await else {
        return;
    };
    let vault = format!("attacker-{n}");
    let me = format!("dev-{n}");
    let mut msgs: Vec<Message> = Vec::new();
    match rng.below(9) {
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
        let rss_quiet = rss_kib(pid, "VmRSS:");

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
            let (url, vault, stop, hostile) = (url.clone(), good.m.vault.clone(), stop.clone(), hostile.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng::new(1000 + f);
                while !stop.load(Ordering::Relaxed) {
                    let n = hostile.fetch_add(1, Ordering::Relaxed);
                    abuse(&url, &vault, &mut rng, n).await;
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
                    peak.fetch_max(rss_kib(pid, "VmRSS:"), Ordering::Relaxed);
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
        let rss_after = rss_kib(pid, "VmRSS:");
        session.close().await;

        // Still serving: a new device joins the good vault and gets everything.
        let fresh = SimDevice::join(&good.m).await.expect("the relay still serves");
        assert_eq!(fresh.export(), good.export());

        let (q50, q99) = (percentile(&mut quiet, 0.5), percentile(&mut quiet, 0.99));
        let (a50, a99) = (percentile(&mut attacked, 0.5), percentile(&mut attacked, 0.99));
        let peak = peak.load(Ordering::Relaxed);
        eprintln!("hostile run, {secs} s: {} hostile connections, 8 slow readers, 16 slow writers ({} cut off by the relay)", hostile.load(Ordering::Relaxed), closed.load(Ordering::Relaxed));
        eprintln!("other vault's append round trip: quiet p50 {q50:?} p99 {q99:?} ({} appends); under attack p50 {a50:?} p99 {a99:?} ({} appends)", quiet.len(), attacked.len());
        eprintln!("relay RSS: quiet {rss_quiet} KiB, peak under attack {peak} KiB, after {rss_after} KiB");

        let panics = relay.panics();
        assert!(panics.is_empty(), "the relay panicked: {panics:?}");
        assert!(hostile.load(Ordering::Relaxed) > 50, "the attack must actually run");
        // Bounded: 8 slow readers may each hold about a page plus a frame in
        // flight, the slow writers at most what they sent. Far below 256 MiB.
        assert!(peak < rss_quiet + 256 * 1024, "relay memory grew from {rss_quiet} KiB to {peak} KiB");
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
        let before = rss_kib(pid, "VmRSS:");
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
        let peak = rss_kib(pid, "VmHWM:");
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
