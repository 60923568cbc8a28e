//! The relay against raw WebSocket peers: refusals that reveal nothing,
//! version mismatches, garbage, limits, and a clean shutdown.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use interlog_core::wire::{self, codes, Frame, RecordKind, SealedRecord};
use interlog_relay::settings::Settings;
use interlog_relay::store::MemoryRelayStore;
use serde_bytes::ByteBuf;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Relay {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn relay_with(f: impl FnOnce(&mut Settings)) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path());
    f(&mut settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let store = Arc::new(MemoryRelayStore::default());
    let task = tokio::spawn(async move {
        let _keep = dir;
        interlog_relay::run_with_store(listener, None, settings, store, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Relay {
        addr,
        stop: Some(tx),
        task,
    }
}

async fn connect(r: &Relay) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}/v1/sync", r.addr))
        .await
        .unwrap()
        .0
}

async fn send(ws: &mut Ws, f: &Frame) {
    ws.send(Message::Binary(wire::encode(f).unwrap().into()))
        .await
        .unwrap();
}

async fn recv(ws: &mut Ws) -> Option<Frame> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Binary(b)) => return Some(wire::decode(&b).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A hello whose token is 32 bytes of `token`.
fn hello(vault: &str, device: &str, token: u8, register: bool) -> Frame {
    Frame::hello(vault, device, &[token; 32], register)
}

fn record(device: &str, seq: u64) -> Frame {
    Frame::Append {
        record: SealedRecord {
            device: device.into(),
            seq,
            kind: RecordKind::Change,
            payload: ByteBuf::from(vec![seq as u8; 40]),
        },
    }
}

async fn member(r: &Relay, vault: &str, device: &str, token: u8) -> Ws {
    let mut ws = connect(r).await;
    send(&mut ws, &hello(vault, device, token, true)).await;
    assert!(matches!(recv(&mut ws).await, Some(Frame::Welcome { .. })));
    ws
}

fn error_code(f: Option<Frame>) -> String {
    match f {
        Some(Frame::Error { code, .. }) => code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test]
async fn strangers_learn_nothing_about_which_vaults_exist() {
    let r = relay_with(|_| {}).await;
    let _owner = member(&r, "vault-a", "dev-1", 7).await;
    let mut unknown = connect(&r).await;
    send(&mut unknown, &hello("vault-zz", "dev-9", 7, false)).await;
    let Some(Frame::Error {
        code: c1,
        message: m1,
    }) = recv(&mut unknown).await
    else {
        panic!()
    };
    let mut wrong_token = connect(&r).await;
    send(&mut wrong_token, &hello("vault-a", "dev-9", 8, false)).await;
    let Some(Frame::Error {
        code: c2,
        message: m2,
    }) = recv(&mut wrong_token).await
    else {
        panic!()
    };
    assert_eq!(
        (c1.as_str(), &m1),
        (codes::UNKNOWN_VAULT, &m2),
        "same answer for unknown vault and wrong key"
    );
    assert_eq!(c2, c1);
    // Registering over an existing vault with another token is refused too.
    let mut hijack = connect(&r).await;
    send(&mut hijack, &hello("vault-a", "dev-9", 9, true)).await;
    assert_eq!(error_code(recv(&mut hijack).await), codes::AUTH);
    // Asking for the vault of a token no vault has: the same answer again.
    let mut finder = connect(&r).await;
    send(&mut finder, &hello(wire::VAULT_BY_KEY, "dev-9", 9, false)).await;
    assert_eq!(error_code(recv(&mut finder).await), codes::UNKNOWN_VAULT);
}

#[tokio::test]
async fn a_member_s_key_finds_its_vault_and_registers_nothing() {
    let r = relay_with(|_| {}).await;
    let _owner = member(&r, "vault-a", "dev-1", 7).await;
    let mut finder = connect(&r).await;
    // Even with `register`, a hello by key never creates a vault.
    send(&mut finder, &hello(wire::VAULT_BY_KEY, "dev-2", 7, true)).await;
    match recv(&mut finder).await {
        Some(Frame::Welcome { vault, .. }) => assert_eq!(vault.as_deref(), Some("vault-a")),
        other => panic!("expected a welcome, got {other:?}"),
    }
    let mut stranger = connect(&r).await;
    send(&mut stranger, &hello(wire::VAULT_BY_KEY, "dev-3", 8, true)).await;
    assert_eq!(error_code(recv(&mut stranger).await), codes::UNKNOWN_VAULT);
    // A plain hello's welcome does not name the vault.
    let mut plain = connect(&r).await;
    send(&mut plain, &hello("vault-a", "dev-4", 7, false)).await;
    assert!(matches!(
        recv(&mut plain).await,
        Some(Frame::Welcome { vault: None, .. })
    ));
}

#[tokio::test]
async fn a_version_mismatch_gets_a_clear_error() {
    let r = relay_with(|_| {}).await;
    let mut ws = connect(&r).await;
    let mut h = hello("vault-a", "dev-1", 7, true);
    if let Frame::Hello { version, .. } = &mut h {
        *version = 99;
    }
    send(&mut ws, &h).await;
    match recv(&mut ws).await {
        Some(Frame::Error { code, message }) => {
            assert_eq!(code, codes::VERSION);
            assert!(
                message.contains("v1") && message.contains("v99"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn appends_are_idempotent_and_a_reused_device_id_is_refused() {
    let r = relay_with(|_| {}).await;
    let mut ws = member(&r, "vault-a", "dev-1", 7).await;
    send(&mut ws, &record("dev-1", 1)).await;
    assert!(matches!(
        recv(&mut ws).await,
        Some(Frame::Ack { seq: 1, .. })
    ));
    send(&mut ws, &record("dev-1", 1)).await;
    assert!(
        matches!(recv(&mut ws).await, Some(Frame::Ack { seq: 1, .. })),
        "same bytes: acknowledged again"
    );
    // Another device's log, or a gap, or different bytes at a known seq.
    send(&mut ws, &record("dev-2", 1)).await;
    assert_eq!(error_code(recv(&mut ws).await), codes::BAD_FRAME);
    let mut ws = member(&r, "vault-a", "dev-1", 7).await;
    send(&mut ws, &record("dev-1", 3)).await;
    assert_eq!(error_code(recv(&mut ws).await), codes::OUT_OF_ORDER);
    let mut ws = member(&r, "vault-a", "dev-1", 7).await;
    let mut other = record("dev-1", 1);
    if let Frame::Append { record } = &mut other {
        record.payload = ByteBuf::from(vec![0xee; 40]);
    }
    send(&mut ws, &other).await;
    assert_eq!(error_code(recv(&mut ws).await), codes::DEVICE_ID_REUSED);
}

#[tokio::test]
async fn garbage_closes_one_connection_and_the_relay_keeps_serving() {
    let r = relay_with(|_| {}).await;
    let mut good = member(&r, "vault-a", "dev-1", 7).await;
    for junk in [
        vec![],
        vec![0xff; 100],
        b"not cbor at all".to_vec(),
        vec![0xa1, 0x64, 0x74, 0x79, 0x70, 0x65],
    ] {
        let mut bad = connect(&r).await;
        bad.send(Message::Binary(junk.into())).await.unwrap();
        assert_eq!(error_code(recv(&mut bad).await), codes::BAD_FRAME);
    }
    let mut text = connect(&r).await;
    text.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(error_code(recv(&mut text).await), codes::BAD_FRAME);
    // A frame a device never sends, after a good hello.
    let mut odd = member(&r, "vault-a", "dev-2", 7).await;
    send(&mut odd, &Frame::CaughtUp).await;
    assert_eq!(error_code(recv(&mut odd).await), codes::BAD_FRAME);

    send(&mut good, &record("dev-1", 1)).await;
    assert!(matches!(recv(&mut good).await, Some(Frame::Ack { .. })));
}

#[tokio::test]
async fn oversized_frames_are_refused() {
    let r = relay_with(|s| s.limits.max_frame_bytes = 4096).await;
    let mut ws = member(&r, "vault-a", "dev-1", 7).await;
    let mut big = record("dev-1", 1);
    if let Frame::Append { record } = &mut big {
        record.payload = ByteBuf::from(vec![1; 10_000]);
    }
    let _ = ws
        .send(Message::Binary(wire::encode(&big).unwrap().into()))
        .await;
    // The relay drops the connection rather than buffering the frame.
    assert!(!matches!(recv(&mut ws).await, Some(Frame::Ack { .. })));
    let mut again = member(&r, "vault-a", "dev-1", 7).await;
    send(&mut again, &record("dev-1", 1)).await;
    assert!(matches!(recv(&mut again).await, Some(Frame::Ack { .. })));
}

#[tokio::test]
async fn connections_per_vault_and_append_rate_are_limited() {
    let r = relay_with(|s| {
        s.limits.max_connections_per_vault = 2;
        s.limits.appends_per_second = 5;
    })
    .await;
    let mut a = member(&r, "vault-a", "dev-1", 7).await;
    let _b = member(&r, "vault-a", "dev-2", 7).await;
    let mut c = connect(&r).await;
    send(&mut c, &hello("vault-a", "dev-3", 7, false)).await;
    assert_eq!(error_code(recv(&mut c).await), codes::TOO_MANY_CONNECTIONS);
    // Other vaults are unaffected.
    let _other = member(&r, "vault-b", "dev-1", 3).await;

    let mut refused = None;
    for seq in 1..=30 {
        send(&mut a, &record("dev-1", seq)).await;
        match recv(&mut a).await {
            Some(Frame::Ack { .. }) => {}
            other => {
                refused = Some(error_code(other));
                break;
            }
        }
    }
    assert_eq!(refused.as_deref(), Some(codes::RATE_LIMITED));
}

#[tokio::test]
async fn live_records_reach_the_other_devices_and_shutdown_is_announced() {
    let mut r = relay_with(|_| {}).await;
    let mut a = member(&r, "vault-a", "dev-1", 7).await;
    let mut b = member(&r, "vault-a", "dev-2", 7).await;
    send(
        &mut b,
        &Frame::Sync {
            cursors: Default::default(),
            live: true,
            want_snapshot: false,
        },
    )
    .await;
    assert_eq!(recv(&mut b).await, Some(Frame::CaughtUp));
    send(&mut a, &record("dev-1", 1)).await;
    assert!(matches!(recv(&mut a).await, Some(Frame::Ack { .. })));
    match recv(&mut b).await {
        Some(Frame::Records { records }) => {
            assert_eq!((records[0].device.as_str(), records[0].seq), ("dev-1", 1))
        }
        other => panic!("{other:?}"),
    }
    let _ = r.stop.take().unwrap().send(());
    assert_eq!(error_code(recv(&mut b).await), codes::SHUTTING_DOWN);
    tokio::time::timeout(Duration::from_secs(5), &mut r.task)
        .await
        .unwrap()
        .unwrap();
}

/// A live subscriber that stops reading is dropped once more than the live
/// backlog (256 records) waits for it: it gets `too_slow` and, before it, an
/// unbroken run of records, so it resumes from its cursors without a gap.
#[tokio::test]
async fn a_live_subscriber_that_falls_behind_is_told_it_is_too_slow() {
    let r = relay_with(|s| s.limits.appends_per_second = 100_000).await;
    let mut a = member(&r, "vault-a", "dev-1", 7).await;
    // The slow device's socket buffers little, so the relay's sends to it
    // block soon and the rest waits in its live queue.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(r.addr.parse().unwrap()).await.unwrap();
    let tcp = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let url = format!("ws://{}/v1/sync", r.addr);
    let (mut b, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    send(&mut b, &hello("vault-a", "dev-2", 7, false)).await;
    assert!(matches!(recv(&mut b).await, Some(Frame::Welcome { .. })));
    send(
        &mut b,
        &Frame::Sync {
            cursors: Default::default(),
            live: true,
            want_snapshot: false,
        },
    )
    .await;
    assert_eq!(recv(&mut b).await, Some(Frame::CaughtUp));
    let appended = 700u64;
    for seq in 1..=appended {
        let mut f = record("dev-1", seq);
        if let Frame::Append { record } = &mut f {
            record.payload = ByteBuf::from(vec![seq as u8; 16 * 1024]);
        }
        send(&mut a, &f).await;
        assert!(matches!(recv(&mut a).await, Some(Frame::Ack { .. })));
    }
    let mut next = 1;
    let (code, message) = loop {
        match recv(&mut b).await {
            Some(Frame::Records { records }) => {
                for rec in records {
                    assert_eq!(rec.seq, next, "records arrive in order, without a gap");
                    next += 1;
                }
            }
            Some(Frame::Error { code, message }) => break (code, message),
            other => panic!("expected records, then too_slow; got {other:?}"),
        }
    };
    assert_eq!(code, codes::TOO_SLOW);
    assert!(message.contains("fell behind"), "{message}");
    assert!(
        next <= appended - 256,
        "got {} records of {appended}",
        next - 1
    );
}
