//! Protocol v1: message types and their codec (docs/protocol.md).
//!
//! Frames are CBOR maps with a `type` tag, sent as binary WebSocket messages.
//! This module has no dependency on automerge or sled so that the relay (and
//! its fuzzers) can use it alone. Decoding never trusts a peer: input larger
//! than [`MAX_FRAME_BYTES`] is refused before it is parsed, collections are
//! bounded after parsing, and every failure is a typed [`WireError`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts, in bytes. A snapshot of a
/// five-year vault is a few MiB; this leaves room.
pub const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;

/// The most entries a cursor map may hold (one per device of a vault).
pub const MAX_DEVICES: usize = 1024;

/// Longest id (vault or device) either side accepts.
pub const MAX_ID_LEN: usize = 64;

/// What a sealed record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Automerge changes (`save_after` the heads the device last pushed),
    /// bare: what older devices seal.
    Change,
    /// An envelope: Automerge changes or a part of them, with what the
    /// sender had seen of every log (docs/protocol.md, "Record contents").
    Envelope,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Change => "change",
            RecordKind::Envelope => "envelope",
        }
    }
}

/// One sealed entry of a device's log: (vault, device, seq).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub device: String,
    pub seq: u64,
    pub kind: RecordKind,
    /// nonce (24 bytes) || XChaCha20-Poly1305 ciphertext and tag.
    pub payload: ByteBuf,
}

/// A sealed full document, with the cursors it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The device that made it.
    pub device: String,
    /// That device's snapshot counter, from 1; newer snapshots have higher ids
    /// per device, and the relay keeps the newest it was given.
    pub id: u64,
    /// For each device, the last seq whose changes the snapshot includes.
    pub covers: BTreeMap<String, u64>,
    pub payload: ByteBuf,
}

/// A device of a vault as the relay knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device: String,
    /// The highest seq the relay holds from it.
    pub last_seq: u64,
    /// Unix seconds of its last connection.
    pub last_seen: i64,
}

/// A protocol message. See docs/protocol.md for who sends what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// Client, first: who it is and, as proof of membership, the access token
    /// derived from the vault key. `register` asks the relay to create the vault.
    Hello {
        version: u32,
        capabilities: Vec<String>,
        vault: String,
        device: String,
        token: ByteBuf,
        register: bool,
        invite: Option<String>,
    },
    /// Relay, in answer to a good hello.
    Welcome {
        version: u32,
        capabilities: Vec<String>,
        devices: Vec<DeviceInfo>,
    },
    /// Client: send me what I have not applied yet; with `live`, keep
    /// forwarding new records afterwards.
    Sync {
        cursors: BTreeMap<String, u64>,
        live: bool,
        /// Start from the newest snapshot when it covers more than `cursors`.
        want_snapshot: bool,
    },
    /// Client: append one record of its own log.
    Append { record: Record },
    /// Relay: the record (device, seq) is durably stored.
    Ack { device: String, seq: u64 },
    /// Both ways: a snapshot upload (client) or a bootstrap (relay).
    Snapshot { snapshot: Snapshot },
    /// Relay: a snapshot upload is durably stored.
    SnapshotAck { id: u64 },
    /// Relay: records the client is missing, in the order the relay got them.
    Records { records: Vec<Record> },
    /// Relay: everything missing at sync time has been sent.
    CaughtUp,
    /// A refusal. `code` is for programs, `message` for people.
    Error { code: String, message: String },
}

/// Error codes a relay sends in [`Frame::Error`].
pub mod codes {
    pub const VERSION: &str = "version_mismatch";
    pub const AUTH: &str = "unauthorized";
    pub const DEVICE_ID_REUSED: &str = "device_id_reused";
    pub const BAD_FRAME: &str = "bad_frame";
    pub const TOO_LARGE: &str = "too_large";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";
    pub const TOO_SLOW: &str = "too_slow";
    pub const OUT_OF_ORDER: &str = "out_of_order";
    pub const STORAGE: &str = "storage";
    pub const SHUTTING_DOWN: &str = "shutting_down";
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("frame of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error(
        "protocol version mismatch: this build speaks v{ours}, the peer speaks v{theirs}; \
         upgrade whichever side is older"
    )]
    VersionMismatch { ours: u32, theirs: u32 },
}

/// Checks a peer's protocol version against this build.
pub fn check_version(theirs: u32) -> Result<(), WireError> {
    if theirs == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(WireError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs,
        })
    }
}

/// Encodes a frame as CBOR.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    ciborium::into_writer(frame, &mut out).map_err(|e| WireError::Malformed(e.to_string()))?;
    if out.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            size: out.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    Ok(out)
}

/// Decodes a frame, refusing oversized input before parsing it and
/// out-of-bounds ids and cursor maps after.
pub fn decode(bytes: &[u8]) -> Result<Frame, WireError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    let frame: Frame =
        ciborium::from_reader(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    validate(&frame)?;
    Ok(frame)
}

/// Whether an id is one the protocol accepts: 1 to 64 ASCII letters, digits,
/// `-` or `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn validate(frame: &Frame) -> Result<(), WireError> {
    let bad = |what: &str| Err(WireError::Malformed(what.to_string()));
    let cursors_ok =
        |c: &BTreeMap<String, u64>| c.len() <= MAX_DEVICES && c.keys().all(|k| valid_id(k));
    match frame {
        Frame::Hello { vault, device, .. } if !valid_id(vault) || !valid_id(device) => {
            bad("invalid vault or device id")
        }
        Frame::Sync { cursors, .. } if !cursors_ok(cursors) => bad("invalid cursors"),
        Frame::Append { record } if !valid_id(&record.device) || record.seq == 0 => {
            bad("invalid record id")
        }
        Frame::Snapshot { snapshot }
            if !valid_id(&snapshot.device) || !cursors_ok(&snapshot.covers) =>
        {
            bad("invalid snapshot")
        }
        Frame::Records { records } if records.iter().any(|r| !valid_id(&r.device)) => {
            bad("invalid record id")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hello() -> Frame {
        Frame::Hello {
            version: PROTOCOL_VERSION,
            capabilities: vec!["snapshot".into()],
            vault: "01ABC".into(),
            device: "dev-1".into(),
            token: ByteBuf::from(vec![7; 32]),
            register: false,
            invite: None,
        }
    }

    #[test]
    fn frames_round_trip() {
        let frames = vec![
            hello(),
            Frame::Sync {
                cursors: [("dev-1".to_string(), 3)].into(),
                live: true,
                want_snapshot: false,
            },
            Frame::Append {
                record: Record {
                    device: "dev-1".into(),
                    seq: 1,
                    kind: RecordKind::Change,
                    payload: ByteBuf::from(vec![1, 2, 3]),
                },
            },
            Frame::CaughtUp,
            Frame::Error {
                code: codes::AUTH.into(),
                message: "no".into(),
            },
        ];
        for f in frames {
            assert_eq!(decode(&encode(&f).unwrap()).unwrap(), f);
        }
    }

    #[test]
    fn version_mismatch_is_reported_both_ways() {
        let err = check_version(99).unwrap_err().to_string();
        assert!(err.contains("v1") && err.contains("v99"), "{err}");
        assert!(check_version(PROTOCOL_VERSION).is_ok());
    }

    #[test]
    fn oversized_input_is_refused_unparsed() {
        let big = vec![0u8; MAX_FRAME_BYTES + 1];
        assert!(matches!(decode(&big), Err(WireError::TooLarge { .. })));
    }

    #[test]
    fn hostile_ids_are_refused() {
        let mut f = hello();
        if let Frame::Hello { vault, .. } = &mut f {
            *vault = "../../etc".into();
        }
        assert!(decode(&encode(&f).unwrap()).is_err());
    }

    /// A CBOR map `{"type": "records", "records": [<count> items...]}` whose
    /// array header claims `count` items but carries none.
    fn records_claiming(count: u64) -> Vec<u8> {
        let mut b = vec![0xa2, 0x64];
        b.extend_from_slice(b"type");
        b.push(0x67);
        b.extend_from_slice(b"records");
        b.push(0x67);
        b.extend_from_slice(b"records");
        b.push(0x9b); // array, 8-byte length
        b.extend_from_slice(&count.to_be_bytes());
        b
    }

    #[test]
    fn huge_declared_counts_fail_without_allocating() {
        // A decoder that trusted the count would try to allocate it and abort.
        for count in [u64::MAX, 1 << 40, 1 << 24] {
            assert!(decode(&records_claiming(count)).is_err());
        }
        // A cursor map claiming 2^40 entries.
        let mut b = vec![0xa2, 0x64];
        b.extend_from_slice(b"type");
        b.push(0x64);
        b.extend_from_slice(b"sync");
        b.push(0x67);
        b.extend_from_slice(b"cursors");
        b.push(0xbb);
        b.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert!(decode(&b).is_err());
    }

    fn sample_frames() -> Vec<Frame> {
        let record = Record {
            device: "dev-1".into(),
            seq: 1,
            kind: RecordKind::Change,
            payload: ByteBuf::from(vec![9; 40]),
        };
        vec![
            hello(),
            Frame::Sync {
                cursors: [("dev-1".to_string(), 3)].into(),
                live: true,
                want_snapshot: true,
            },
            Frame::Append {
                record: record.clone(),
            },
            Frame::Records {
                records: vec![record.clone(), record],
            },
            Frame::Snapshot {
                snapshot: Snapshot {
                    device: "dev-1".into(),
                    id: 2,
                    covers: [("dev-2".to_string(), 5)].into(),
                    payload: ByteBuf::from(vec![1; 64]),
                },
            },
            Frame::CaughtUp,
        ]
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        /// Valid frames cut short, with bytes flipped or spliced: decoding
        /// returns a frame or an error, never panics.
        #[test]
        fn mutated_frames_never_panic(
            which in 0..6usize,
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        ) {
            let mut bytes = encode(&sample_frames()[which]).unwrap();
            for (at, v) in flips {
                let i = at.index(bytes.len());
                bytes[i] = v;
            }
            let end = cut.index(bytes.len() + 1);
            let _ = decode(&bytes[..end]);
        }

        #[test]
        fn error_frames_round_trip(code in ".{0,20}", message in ".{0,200}") {
            let f = Frame::Error { code, message };
            prop_assert_eq!(decode(&encode(&f).unwrap()).unwrap(), f);
        }
    }
}
