//! Protocol v1: message types and their codec (docs/protocol.md).
//!
//! Frames are CBOR maps with a `type` tag, sent as binary WebSocket messages.
//! This module has no dependency on automerge or sled so that the relay (and
//! its fuzzers) can use it alone. Decoding never trusts a peer: input larger
//! than [`MAX_FRAME_BYTES`] is refused before it is parsed; a pass over the
//! CBOR headers alone then refuses frames with more than [`MAX_ITEMS`] data
//! items or nested deeper than [`MAX_DEPTH`], before anything is built (a
//! 32 MiB frame of tiny items would otherwise cost 40 times its size);
//! collections are bounded again after parsing, and every failure is a
//! typed [`WireError`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts, in bytes. A snapshot of a
/// five-year vault is a few MiB; this leaves room.
pub const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;

/// The most entries a cursor map may hold (one per device of a vault), the
/// most devices a `welcome` lists, and the most devices a relay keeps per
/// vault (it refuses a new device's first append beyond this with
/// [`codes::TOO_MANY_DEVICES`]).
pub const MAX_DEVICES: usize = 1024;

/// The largest sealed payload of a record or snapshot a relay accepts. The
/// rest of [`MAX_FRAME_BYTES`] (128 KiB) is room for the frame around it: a
/// `records` frame holding one such record, or a `snapshot` frame with a
/// full cursor map ([`MAX_DEVICES`] ids of [`MAX_ID_LEN`] characters) always
/// encodes within [`MAX_FRAME_BYTES`], so whatever a relay accepts it can
/// deliver. Honest clients split big changes far below this.
pub const MAX_PAYLOAD_BYTES: usize = MAX_FRAME_BYTES - 128 * 1024;

/// The most records one `records` frame may carry. A relay packs backlog
/// pages of about 1 MiB of payload; a page of 4096 records means records of
/// 256 bytes on average, and a page of small records simply ends earlier.
pub const MAX_RECORDS_PER_FRAME: usize = 4096;

/// The most entries of a `capabilities` list (v1 sends two).
pub const MAX_CAPABILITIES: usize = 32;

/// The most CBOR data items (every header counts: map keys, values,
/// array elements, string chunks, tags) one frame may hold. The largest
/// honest frames: a `records` frame of [`MAX_RECORDS_PER_FRAME`] records, 9
/// items each (36,868 in all); a `welcome` of [`MAX_DEVICES`] devices, 7
/// each (7,178 or so); a cursor map of [`MAX_DEVICES`] entries (2,049).
/// At 65,536 items, whatever the decoder builds stays within a few MiB
/// beyond the frame's own bytes.
pub const MAX_ITEMS: usize = 65_536;

/// The deepest nesting a frame may have. Honest frames nest 4 deep (frame
/// map, `records` array, record map, payload; or frame map, `snapshot`,
/// `covers`, a seq).
pub const MAX_DEPTH: usize = 8;

/// The vault id a hello names to ask for the vault registered with its
/// token: a recovery from the words alone. Vault ids are ULIDs, which never
/// hold `_`, so no vault can be named this.
pub const VAULT_BY_KEY: &str = "_by_key";

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
pub struct SealedRecord {
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
        /// The vault's id, in answer to a hello that named
        /// [`VAULT_BY_KEY`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vault: Option<String>,
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
    Append { record: SealedRecord },
    /// Relay: the record (device, seq) is durably stored.
    Ack { device: String, seq: u64 },
    /// Both ways: a snapshot upload (client) or a bootstrap (relay).
    Snapshot { snapshot: Snapshot },
    /// Relay: a snapshot upload is durably stored.
    SnapshotAck { id: u64 },
    /// Relay: records the client is missing, in the order the relay got them.
    Records { records: Vec<SealedRecord> },
    /// Relay: everything missing at sync time has been sent.
    CaughtUp,
    /// A refusal. `code` is for programs, `message` for people.
    Error { code: String, message: String },
}

impl Frame {
    /// A hello at this protocol version, offering no capabilities and
    /// carrying no invite: the plainest a client may say. Tests and tools
    /// that speak to a relay directly start here.
    pub fn hello(vault: &str, device: &str, token: &[u8], register: bool) -> Frame {
        Frame::Hello {
            version: PROTOCOL_VERSION,
            capabilities: vec![],
            vault: vault.into(),
            device: device.into(),
            token: ByteBuf::from(token.to_vec()),
            register,
            invite: None,
        }
    }
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
    /// The vault already has [`super::MAX_DEVICES`] devices on this relay,
    /// and a new one tried to append its first record.
    pub const TOO_MANY_DEVICES: &str = "too_many_devices";
    /// A snapshot upload claims to cover records the relay does not hold,
    /// so it cannot be a snapshot of this vault's logs; it was not kept.
    pub const SNAPSHOT_REFUSED: &str = "snapshot_refused";
    /// No vault on the relay has the hello's key: the relay was wiped, or
    /// is a new one at that address (a device then registers it again), or
    /// the key is not a member's.
    pub const UNKNOWN_VAULT: &str = "unknown_vault";
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("frame of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("frame holds more than {limit} CBOR items")]
    TooManyItems { limit: usize },
    #[error("frame nests deeper than {limit} levels")]
    TooDeep { limit: usize },
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

/// Decodes a frame, refusing oversized input before parsing it, frames of
/// too many items or too deep ([`check_shape`]) before building anything,
/// and out-of-bounds ids and collections after.
pub fn decode(bytes: &[u8]) -> Result<Frame, WireError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    check_shape(bytes)?;
    let frame: Frame =
        ciborium::from_reader(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    validate(&frame)?;
    Ok(frame)
}

/// What the header walker has open: a definite container with this many
/// items still to come, or an indefinite one (array, map or string of
/// chunks of the given major type) waiting for its break.
enum Open {
    Items(u64),
    Indefinite,
    Chunks(u8),
}

/// Walks the CBOR headers of the first data item of `bytes` without
/// building anything: O(1) memory beyond a stack of [`MAX_DEPTH`], and it
/// stops at the first of [`MAX_ITEMS`] + 1 items. Refuses more items than
/// [`MAX_ITEMS`], nesting deeper than [`MAX_DEPTH`], a length or count that
/// the rest of the input cannot hold, reserved headers, a misplaced break,
/// and truncated input. Definite and indefinite lengths are both handled;
/// each chunk of an indefinite string counts as an item.
pub fn check_shape(bytes: &[u8]) -> Result<(), WireError> {
    let bad = |what: &str| WireError::Malformed(format!("bad CBOR: {what}"));
    let mut pos = 0usize;
    let mut items = 0usize;
    let mut stack: Vec<Open> = Vec::with_capacity(MAX_DEPTH);
    loop {
        let &initial = bytes.get(pos).ok_or_else(|| bad("truncated"))?;
        pos += 1;
        let (major, info) = (initial >> 5, initial & 0x1f);
        // A container (or string of chunks) opened by this header, if any.
        let mut opened: Option<Open> = None;
        if initial == 0xff {
            match stack.last() {
                Some(Open::Indefinite | Open::Chunks(_)) => {
                    stack.pop();
                }
                _ => return Err(bad("a break outside an indefinite item")),
            }
        } else {
            if let Some(Open::Chunks(m)) = stack.last() {
                if major != *m || info == 31 {
                    return Err(bad("an indefinite string holds something else than chunks"));
                }
            }
            items += 1;
            if items > MAX_ITEMS {
                return Err(WireError::TooManyItems { limit: MAX_ITEMS });
            }
            let arg = match info {
                0..=23 => Some(u64::from(info)),
                24..=27 => {
                    let n = 1usize << (info - 24);
                    let raw = bytes.get(pos..pos + n).ok_or_else(|| bad("truncated"))?;
                    pos += n;
                    Some(raw.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
                }
                31 => None,
                _ => return Err(bad("a reserved header")),
            };
            let left_now = (bytes.len() - pos) as u64;
            match (major, arg) {
                // Integers, and floats and simple values (their bytes were
                // skipped as the argument).
                (0 | 1 | 7, Some(_)) => {}
                (0 | 1 | 7, None) => return Err(bad("an indefinite scalar")),
                (2 | 3, Some(len)) => {
                    if len > left_now {
                        return Err(bad("a string longer than the frame"));
                    }
                    pos += len as usize;
                }
                (2 | 3, None) => opened = Some(Open::Chunks(major)),
                (4 | 5, Some(n)) => {
                    let needed = if major == 5 {
                        n.checked_mul(2)
                    } else {
                        Some(n)
                    };
                    match needed {
                        Some(0) => {}
                        // Every item takes a byte at least.
                        Some(k) if k <= left_now => opened = Some(Open::Items(k)),
                        _ => return Err(bad("a count larger than the frame")),
                    }
                }
                (4 | 5, None) => opened = Some(Open::Indefinite),
                // A tag wraps exactly one item.
                (6, Some(_)) => opened = Some(Open::Items(1)),
                _ => return Err(bad("an indefinite tag")),
            }
        }
        if let Some(open) = opened {
            if stack.len() >= MAX_DEPTH {
                return Err(WireError::TooDeep { limit: MAX_DEPTH });
            }
            stack.push(open);
            continue;
        }
        // One item is complete (a scalar, a string, an empty or a closed
        // container): count it in its parent, closing parents as they fill.
        loop {
            match stack.last_mut() {
                None => return Ok(()),
                Some(Open::Items(n)) => {
                    *n -= 1;
                    if *n == 0 {
                        stack.pop();
                        continue;
                    }
                    break;
                }
                Some(Open::Indefinite | Open::Chunks(_)) => break,
            }
        }
    }
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
        Frame::Hello { capabilities, .. } if capabilities.len() > MAX_CAPABILITIES => {
            bad("too many capabilities")
        }
        Frame::Welcome {
            capabilities,
            devices,
            vault,
            ..
        } if capabilities.len() > MAX_CAPABILITIES
            || devices.len() > MAX_DEVICES
            || devices.iter().any(|d| !valid_id(&d.device))
            || vault.as_deref().is_some_and(|v| !valid_id(v)) =>
        {
            bad("invalid device list")
        }
        Frame::Records { records }
            if records.len() > MAX_RECORDS_PER_FRAME
                || records.iter().any(|r| !valid_id(&r.device)) =>
        {
            bad("invalid records")
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
                record: SealedRecord {
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

    fn long_id(i: usize) -> String {
        format!("{i:0>64}")
    }

    /// The largest frames honest peers send still decode, and a record or
    /// snapshot of [`MAX_PAYLOAD_BYTES`] always fits in a frame.
    #[test]
    fn honest_frames_of_maximal_size_decode() {
        let cursors: BTreeMap<String, u64> =
            (0..MAX_DEVICES).map(|i| (long_id(i), u64::MAX)).collect();
        let small = |i: usize| SealedRecord {
            device: long_id(i),
            seq: u64::MAX,
            kind: RecordKind::Change,
            payload: ByteBuf::from(vec![1; 40]),
        };
        let frames = vec![
            Frame::Records {
                records: (0..MAX_RECORDS_PER_FRAME).map(small).collect(),
            },
            Frame::Welcome {
                version: PROTOCOL_VERSION,
                capabilities: (0..MAX_CAPABILITIES).map(|i| format!("cap-{i}")).collect(),
                devices: (0..MAX_DEVICES)
                    .map(|i| DeviceInfo {
                        device: long_id(i),
                        last_seq: u64::MAX,
                        last_seen: i64::MIN,
                    })
                    .collect(),
                vault: Some(long_id(0)),
            },
            Frame::Sync {
                cursors: cursors.clone(),
                live: true,
                want_snapshot: true,
            },
        ];
        for f in frames {
            assert_eq!(decode(&encode(&f).unwrap()).unwrap(), f);
        }
        let big = ByteBuf::from(vec![0xee; MAX_PAYLOAD_BYTES]);
        let record = SealedRecord {
            device: long_id(7),
            seq: u64::MAX,
            kind: RecordKind::Change,
            payload: big.clone(),
        };
        for f in [
            Frame::Records {
                records: vec![record.clone()],
            },
            Frame::Append { record },
            Frame::Snapshot {
                snapshot: Snapshot {
                    device: long_id(7),
                    id: u64::MAX,
                    covers: cursors,
                    payload: big,
                },
            },
        ] {
            let bytes = encode(&f).expect("a maximal payload fits in a frame");
            assert!(bytes.len() <= MAX_FRAME_BYTES);
            assert_eq!(decode(&bytes).unwrap(), f);
        }
    }

    #[test]
    fn indefinite_lengths_are_accepted_and_counted() {
        // The hello as a map of indefinite length, its capabilities an
        // indefinite array and its token an indefinite byte string.
        let f = hello();
        let definite = encode(&f).unwrap();
        assert_eq!(definite[0], 0xa8, "a map of 8 pairs");
        let mut b = vec![0xbf];
        b.extend_from_slice(&definite[1..]);
        b.push(0xff);
        assert_eq!(decode(&b).unwrap(), f);
        // An indefinite string of too many empty chunks.
        let mut b = vec![0xa2, 0x64];
        b.extend_from_slice(b"type");
        b.push(0x7f);
        b.extend(std::iter::repeat_n(0x60, MAX_ITEMS + 1));
        b.push(0xff);
        assert!(matches!(
            check_shape(&b),
            Err(WireError::TooManyItems { .. })
        ));
        // Breaks and chunks out of place.
        for bad in [
            &[0xff][..],
            &[0x9f, 0x00],
            &[0x5f, 0x00, 0xff],
            &[0x81, 0xff],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let mut b = vec![0x81; MAX_DEPTH + 1];
        b.push(0x00);
        assert!(matches!(check_shape(&b), Err(WireError::TooDeep { .. })));
        let mut b = vec![0x9f; 100_000];
        b.extend(vec![0xff; 100_000]);
        assert!(matches!(decode(&b), Err(WireError::TooDeep { .. })));
        let mut ok = vec![0x81; MAX_DEPTH - 1];
        ok.push(0x00);
        assert!(check_shape(&ok).is_ok());
    }

    /// A frame of `MAX_FRAME_BYTES` built of `unit` repeated, after `head`.
    fn filled(head: &[u8], unit: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut b = head.to_vec();
        while b.len() + unit.len() + tail.len() <= MAX_FRAME_BYTES {
            b.extend_from_slice(unit);
        }
        b.extend_from_slice(tail);
        b
    }

    /// The amplifying frames a stranger or a lying relay can send (millions
    /// of tiny items in 32 MiB) fail fast, from the headers alone: the
    /// decoder builds nothing (it took a client to 1.4 GB before).
    #[test]
    fn many_item_frames_of_32_mib_fail_fast_without_building_them() {
        let text = |s: &str| {
            let mut b = vec![0x60 + s.len() as u8];
            b.extend_from_slice(s.as_bytes());
            b
        };
        // {"type": "welcome", "version": 1, "capabilities": [], "devices": [_ {"device": "d", "last_seq": 0, "last_seen": 0} ...]}
        let mut welcome = vec![0xa4];
        welcome.extend(text("type"));
        welcome.extend(text("welcome"));
        welcome.extend(text("version"));
        welcome.push(0x01);
        welcome.extend(text("capabilities"));
        welcome.push(0x80);
        welcome.extend(text("devices"));
        welcome.push(0x9f);
        let mut device = vec![0xa3];
        device.extend(text("device"));
        device.extend(text("d"));
        device.extend(text("last_seq"));
        device.push(0x00);
        device.extend(text("last_seen"));
        device.push(0x00);
        let mut caps = vec![0xa2];
        caps.extend(text("type"));
        caps.extend(text("hello"));
        caps.extend(text("capabilities"));
        caps.push(0x9f);
        let mut records = vec![0xa2];
        records.extend(text("type"));
        records.extend(text("records"));
        records.extend(text("records"));
        records.push(0x9f);
        let mut record = vec![0xa4];
        record.extend(text("device"));
        record.extend(text("d"));
        record.extend(text("seq"));
        record.push(0x01);
        record.extend(text("kind"));
        record.extend(text("change"));
        record.extend(text("payload"));
        record.push(0x40);
        let frames = [
            filled(&[0x9f], &[0x00], &[0xff]),
            filled(&welcome, &device, &[0xff, 0xff]),
            filled(&caps, &[0x60], &[0xff]),
            filled(&records, &record, &[0xff]),
        ];
        for f in &frames {
            assert!(f.len() > MAX_FRAME_BYTES - 64 && f.len() <= MAX_FRAME_BYTES);
            let started = std::time::Instant::now();
            let r = decode(f);
            let took = started.elapsed();
            assert!(
                matches!(r, Err(WireError::TooManyItems { .. })),
                "{:?}",
                r.map(|_| ())
            );
            // Walking 65,536 headers; building the frame took seconds and
            // gigabytes.
            assert!(took < std::time::Duration::from_millis(500), "{took:?}");
        }
    }

    fn sample_frames() -> Vec<Frame> {
        let record = SealedRecord {
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
