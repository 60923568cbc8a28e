//! The shared test vectors in `tests/vectors/`, which the phone app's tests
//! (`web/test/vectors.test.ts`) read too: key derivation, sealed records and
//! snapshots, every frame type, and a document written by each side and read
//! by the other. They keep the Rust and TypeScript clients byte-compatible.
//!
//! `INTERLOG_WRITE_VECTORS=1 cargo test -p interlog-core --test vectors`
//! rewrites `v1.json` and `doc-rust.json`; the phone's side writes
//! `doc-ts.json` the same way (see docs/phone.md).
#![cfg(feature = "sync")]

use interlog_core::ReadJournal as _;
use std::collections::BTreeMap;
use std::path::PathBuf;

use automerge::{ObjId, ObjType, ReadDoc, ROOT};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use interlog_core::crypto::{record_aad, snapshot_aad, token_hash, VaultKey};
use interlog_core::doc::VaultDoc;
use interlog_core::model::{self, Kind};
use interlog_core::wire::{self, DeviceInfo, Frame, RecordKind, SealedRecord, Snapshot};
use serde_bytes::ByteBuf;
use serde_json::{json, Value};

const VAULT: &str = "01JD3Q8Z6QK4T9X2V7M5N3B1CA";
const DEVICE_A: &str = "9b1f2e3d4c5b6a798877665544332211";
const DEVICE_B: &str = "0123456789abcdef0123456789abcdef";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn writing() -> bool {
    std::env::var_os("INTERLOG_WRITE_VECTORS").is_some()
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (see docs/phone.md, test vectors)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn write(name: &str, v: &Value) {
    std::fs::create_dir_all(dir()).unwrap();
    let text = serde_json::to_string_pretty(v).unwrap() + "\n";
    std::fs::write(dir().join(name), text).unwrap();
}

fn vault_key() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

fn nonce(start: u8) -> [u8; 24] {
    std::array::from_fn(|i| start + i as u8)
}

fn seal_key() -> [u8; 32] {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"interlog/v1"), &vault_key());
    let mut out = [0u8; 32];
    hk.expand(b"seal", &mut out).unwrap();
    out
}

/// Seals with a fixed nonce, so the vector is reproducible.
fn seal_with(nonce: [u8; 24], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(&seal_key().into());
    let body = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap();
    [nonce.to_vec(), body].concat()
}

/// Everything `v1.json` holds, computed by this build.
fn expected_v1() -> (Value, Vec<(&'static str, Frame)>) {
    let key = VaultKey::from_hex(&hex::encode(vault_key())).unwrap();
    let derived = key.derive();
    let token = derived.token;

    let record_plain = b"an automerge chunk, as save_after writes it".to_vec();
    let raad = record_aad(VAULT, DEVICE_A, 7, RecordKind::Change);
    let record_sealed = seal_with(nonce(0x40), &raad, &record_plain);
    assert_eq!(derived.open(&raad, &record_sealed).unwrap(), record_plain);

    let covers: BTreeMap<String, u64> =
        [(DEVICE_B.to_string(), 4), (DEVICE_A.to_string(), 12)].into();
    let snap_plain = b"a whole automerge document".to_vec();
    let saad = snapshot_aad(VAULT, DEVICE_A, 3, &covers);
    let snap_sealed = seal_with(nonce(0x80), &saad, &snap_plain);
    assert_eq!(derived.open(&saad, &snap_sealed).unwrap(), snap_plain);

    let record = SealedRecord {
        device: DEVICE_A.into(),
        seq: 7,
        kind: RecordKind::Change,
        payload: ByteBuf::from(record_sealed.clone()),
    };
    let caps = || vec!["snapshot".to_string(), "live".to_string()];
    let frames = vec![
        (
            "hello",
            Frame::Hello {
                version: 1,
                capabilities: caps(),
                vault: VAULT.into(),
                device: DEVICE_A.into(),
                token: ByteBuf::from(token.to_vec()),
                register: false,
                invite: None,
            },
        ),
        (
            "hello_register",
            Frame::Hello {
                version: 1,
                capabilities: caps(),
                vault: VAULT.into(),
                device: DEVICE_B.into(),
                token: ByteBuf::from(token.to_vec()),
                register: true,
                invite: Some("9f3c1a".into()),
            },
        ),
        (
            "welcome",
            Frame::Welcome {
                version: 1,
                capabilities: caps(),
                devices: vec![
                    DeviceInfo {
                        device: DEVICE_A.into(),
                        last_seq: 12,
                        last_seen: 1_767_225_600,
                    },
                    DeviceInfo {
                        device: DEVICE_B.into(),
                        last_seq: 0,
                        last_seen: 1_767_229_200,
                    },
                ],
                vault: None,
            },
        ),
        (
            "sync",
            Frame::Sync {
                cursors: [(DEVICE_B.to_string(), 300), (DEVICE_A.to_string(), 7)].into(),
                live: true,
                want_snapshot: false,
            },
        ),
        (
            "append",
            Frame::Append {
                record: record.clone(),
            },
        ),
        (
            "ack",
            Frame::Ack {
                device: DEVICE_A.into(),
                seq: 70_000,
            },
        ),
        (
            "snapshot",
            Frame::Snapshot {
                snapshot: Snapshot {
                    device: DEVICE_A.into(),
                    id: 3,
                    covers: covers.clone(),
                    payload: ByteBuf::from(snap_sealed.clone()),
                },
            },
        ),
        ("snapshot_ack", Frame::SnapshotAck { id: 3 }),
        (
            "records",
            Frame::Records {
                records: vec![
                    record.clone(),
                    SealedRecord {
                        seq: 8,
                        payload: ByteBuf::from(vec![1, 2, 3]),
                        ..record.clone()
                    },
                ],
            },
        ),
        ("caught_up", Frame::CaughtUp),
        (
            "error",
            Frame::Error {
                code: "out_of_order".into(),
                message: "expected record 8 of this device next, got 9 — «»".into(),
            },
        ),
    ];
    let frame_vectors: Vec<Value> = frames
        .iter()
        .map(|(name, f)| {
            json!({
                "name": name,
                "frame": serde_json::to_value(f).unwrap(),
                "cbor": hex::encode(wire::encode(f).unwrap()),
            })
        })
        .collect();
    let v = json!({
        "about": "Shared test vectors of protocol v1, read by client-core/tests/vectors.rs and web/test/vectors.test.ts. Byte fields are lowercase hex; in `frame`, byte strings are arrays of numbers.",
        "keys": {
            "vault_key": hex::encode(vault_key()),
            "seal_key": hex::encode(seal_key()),
            "token": hex::encode(token),
            "token_hash": hex::encode(token_hash(&token)),
        },
        "record": {
            "vault": VAULT, "device": DEVICE_A, "seq": 7, "kind": "change",
            "plaintext": hex::encode(&record_plain),
            "nonce": hex::encode(nonce(0x40)),
            "aad": hex::encode(&raad),
            "sealed": hex::encode(&record_sealed),
        },
        "snapshot": {
            "vault": VAULT, "device": DEVICE_A, "id": 3, "covers": covers,
            "plaintext": hex::encode(&snap_plain),
            "nonce": hex::encode(nonce(0x80)),
            "aad": hex::encode(&saad),
            "sealed": hex::encode(&snap_sealed),
        },
        "frames": frame_vectors,
    });
    (v, frames)
}

#[test]
fn keys_sealing_and_frames_match_the_shared_vectors() {
    let (v, frames) = expected_v1();
    if writing() {
        write("v1.json", &v);
    }
    let file = read("v1.json");
    assert_eq!(
        file, v,
        "tests/vectors/v1.json differs from what this build computes"
    );
    // Decoding the checked-in bytes gives the frames back.
    for ((name, frame), fv) in frames.iter().zip(file["frames"].as_array().unwrap()) {
        let bytes = hex::decode(fv["cbor"].as_str().unwrap()).unwrap();
        assert_eq!(&wire::decode(&bytes).unwrap(), frame, "{name}");
    }
}

/// A small journal made by this build: what a phone reads after joining.
fn rust_document() -> VaultDoc {
    let mut doc = VaultDoc::new_vault(VAULT, &hex::decode(DEVICE_A).unwrap()).unwrap();
    let obj = |v: Value| v.as_object().unwrap().clone();
    let acme = doc
        .create(
            Kind::Company,
            &obj(json!({"name": "Acme", "priority": "dream"})),
        )
        .unwrap();
    doc.set_members(Kind::Company, &acme, "aliases", &["ACME Corp".into()])
        .unwrap();
    let ana = doc
        .create(
            Kind::Contact,
            &obj(json!({"name": "Ana Lima", "kind": "recruiter", "keep_in_touch_days": 30, "last_contacted": "2026-01-05"})),
        )
        .unwrap();
    let opp = doc
        .create(
            Kind::Opportunity,
            &obj(json!({"company": acme, "role": "Staff Engineer", "recruiter": ana})),
        )
        .unwrap();
    doc.add_entry(
        Kind::Opportunity,
        &opp,
        "stages",
        &obj(json!({"stage": "interviewing", "at": "2026-01-10T09:00:00+01:00[Europe/Paris]"})),
    )
    .unwrap();
    let iv = doc
        .create(
            Kind::Interview,
            &obj(json!({
                "company": acme, "opportunity": opp, "kind": "technical", "rating": 4, "status": "done",
                "start": "2026-01-12T14:00:00+01:00[Europe/Paris]", "notes": "Graphs; café ☕ and \"quotes\"",
            })),
        )
        .unwrap();
    doc.set_members(
        Kind::Interview,
        &iv,
        "interviewers",
        std::slice::from_ref(&ana),
    )
    .unwrap();
    doc.create(
        Kind::FollowUp,
        &obj(json!({"due": "2026-01-13", "kind": "thank_you", "target": ana, "note": "thank Ana", "done": false})),
    )
    .unwrap();
    doc.commit("vectors");
    doc
}

#[test]
fn a_document_written_here_reads_back_from_its_checked_in_bytes() {
    if writing() {
        let mut doc = rust_document();
        write(
            "doc-rust.json",
            &json!({"automerge": hex::encode(doc.save()), "json": doc.to_json()}),
        );
    }
    let file = read("doc-rust.json");
    let bytes = hex::decode(file["automerge"].as_str().unwrap()).unwrap();
    let doc = VaultDoc::load(Some(&bytes), []).unwrap();
    assert_eq!(doc.to_json(), file["json"]);
    assert_eq!(doc.vault_id().as_deref(), Some(VAULT));
}

/// Walks a document and lists every Automerge Text object and list: the
/// Rust side writes strings as scalars and never lists, and so must the phone.
fn text_objects(doc: &automerge::AutoCommit, obj: &ObjId, path: &str, out: &mut Vec<String>) {
    for item in doc.map_range(obj, ..) {
        let here = format!("{path}/{}", item.key);
        let id = item.id();
        if let automerge::Value::Object(t) = item.value.into_value() {
            match t {
                ObjType::Map | ObjType::Table => text_objects(doc, &id, &here, out),
                ObjType::Text => out.push(here),
                ObjType::List => out.push(format!("{here} (a list)")),
            }
        }
    }
}

#[test]
fn a_document_the_phone_wrote_reads_here_without_unknown_fields_or_text() {
    let file = read("doc-ts.json");
    let bytes = hex::decode(file["automerge"].as_str().unwrap()).unwrap();
    let doc = VaultDoc::load(Some(&bytes), []).unwrap();
    assert_eq!(doc.vault_id().as_deref(), Some(VAULT));
    assert_eq!(
        doc.to_json(),
        file["json"],
        "the phone and this build read it the same"
    );

    for kind in Kind::ALL {
        for r in doc.records(kind) {
            for name in r.fields.keys() {
                assert!(
                    model::field(Some(kind), name).is_ok(),
                    "{kind} {} has unknown field {name}",
                    r.id
                );
            }
        }
    }
    let interviews = doc.live(Kind::Interview);
    let logged = interviews
        .iter()
        .find(|i| i.str("notes") == Some("logged on the phone, on a train"))
        .expect("the interview the phone logged");
    assert_eq!(logged.int("rating"), Some(3));
    assert_eq!(logged.str("kind"), Some("hiring_manager"));
    for field in ["start", "created_at"] {
        let value = logged.str(field).unwrap_or_default();
        assert!(
            interlog_core::time::stored_zoned(value).is_some(),
            "{field} = {value:?} does not read as an instant"
        );
    }
    let raw = automerge::AutoCommit::load(&bytes).unwrap();
    let mut texts = Vec::new();
    text_objects(&raw, &ROOT, "", &mut texts);
    assert!(texts.is_empty(), "the phone wrote Text or lists: {texts:?}");
}

#[test]
fn the_recovery_words_match_the_shared_vectors() {
    let v = read("words.json");
    let cases = v["words"].as_array().expect("words.json lists cases");
    assert!(cases.len() >= 4);
    for case in cases {
        let key = VaultKey::from_hex(case["key"].as_str().unwrap()).unwrap();
        let words = case["words"].as_str().unwrap();
        assert_eq!(key.to_words(), words, "the words of {}", case["key"]);
        assert_eq!(VaultKey::from_words(words).unwrap(), key);
    }
}
