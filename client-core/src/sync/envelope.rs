//! What a sealed record holds (docs/protocol.md, "Record contents").
//!
//! Older devices sealed a bare Automerge chunk. Devices now seal an
//! *envelope*: a CBOR map with the chunk, and
//! - `part`: when a change is too large for one record, it is split into
//!   up to [`MAX_PARTS`] consecutive records of the device's log, each
//!   holding one fragment of at most [`PART_BYTES`];
//! - `reach`: how far the sender had seen each device's log when it sealed
//!   the record. Receivers keep the largest value per device, so they can
//!   tell when the relay serves less of a log than another device saw.
//!
//! An envelope with an empty chunk is a *placeholder*: the seq exists but
//! carries nothing, used to refill seqs a relay lost (see
//! [`super::Session::push`]). The envelope is inside the seal, so the relay
//! learns nothing from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::wire::{valid_id, RecordKind, MAX_DEVICES};

/// The largest fragment a device puts in one record.
pub const PART_BYTES: usize = 4 * 1024 * 1024;

/// The most records one change may be split over: with [`PART_BYTES`],
/// changes up to 256 MiB travel.
pub const MAX_PARTS: u32 = 64;

/// The most bytes a receiver buffers for the parts of one change.
pub const MAX_ASSEMBLED_BYTES: usize = PART_BYTES * MAX_PARTS as usize;

/// Automerge's magic bytes, which start every chunk. Automerge skips
/// bytes without them quietly, so a chunk is checked before it is applied
/// (or stored).
const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Whether `chunk` looks like Automerge changes.
pub fn is_automerge(chunk: &[u8]) -> bool {
    chunk.starts_with(&AUTOMERGE_MAGIC)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub chunk: ByteBuf,
    /// `(index, count)`: this record holds fragment `index` of a change
    /// split over `count` consecutive records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<(u32, u32)>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reach: BTreeMap<String, u64>,
    /// The change (with its other parts) is the sender's whole document, so
    /// every change `reach` names is in it: a device whose own records the
    /// relay lost need not send its copy of those again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole: bool,
}

impl Envelope {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.chunk.len() + 64);
        // ok: writing bytes, integers and strings to a Vec cannot fail.
        let _ = ciborium::into_writer(self, &mut out);
        out
    }

    /// Reads the plaintext of a record of `kind`: a bare chunk, or an
    /// envelope.
    pub fn from_bytes(kind: RecordKind, plain: Vec<u8>) -> Result<Envelope, String> {
        if kind == RecordKind::Change {
            return Ok(Envelope {
                chunk: ByteBuf::from(plain),
                ..Envelope::default()
            });
        }
        let e: Envelope = ciborium::from_reader(plain.as_slice())
            .map_err(|e| format!("not a record this version can read ({e})"))?;
        if e.reach.len() > MAX_DEVICES || !e.reach.keys().all(|d| valid_id(d)) {
            return Err("its reach lists too many devices, or invalid ones".into());
        }
        if let Some((index, count)) = e.part {
            if !(2..=MAX_PARTS).contains(&count) || index >= count {
                return Err(format!("it claims to be part {index} of {count}"));
            }
        }
        Ok(e)
    }

    /// Nothing to apply: a seq refilled after a relay lost it.
    pub fn is_placeholder(&self) -> bool {
        self.chunk.is_empty() && self.part.is_none()
    }
}

/// Splits a chunk into the envelopes of consecutive records: one, or up to
/// [`MAX_PARTS`] parts. `None` when it is too large even for that.
pub fn split(chunk: &[u8], reach: &BTreeMap<String, u64>) -> Option<Vec<Envelope>> {
    if chunk.len() <= PART_BYTES {
        return Some(vec![Envelope {
            chunk: ByteBuf::from(chunk.to_vec()),
            part: None,
            reach: reach.clone(),
            whole: false,
        }]);
    }
    let count = chunk.len().div_ceil(PART_BYTES);
    if count > MAX_PARTS as usize {
        return None;
    }
    Some(
        chunk
            .chunks(PART_BYTES)
            .enumerate()
            .map(|(i, fragment)| Envelope {
                chunk: ByteBuf::from(fragment.to_vec()),
                part: Some((i as u32, count as u32)),
                reach: reach.clone(),
                whole: false,
            })
            .collect(),
    )
}

/// The fragments of one device's change received so far.
#[derive(Debug, Default)]
struct Run {
    next_index: u32,
    count: u32,
    next_seq: u64,
    bytes: Vec<u8>,
}

/// Reassembles split changes, per device, in log order.
#[derive(Debug, Default)]
pub struct Assembler {
    runs: BTreeMap<String, Run>,
}

/// What a record brought: a whole chunk to apply, nothing yet (a fragment
/// of a change still incomplete), or nothing at all (a placeholder).
pub enum Piece {
    Chunk(Vec<u8>),
    Fragment,
    Placeholder,
}

impl Assembler {
    /// Takes record `seq` of `device`. An error names what is wrong; the
    /// caller stops applying that device's log.
    pub fn take(&mut self, device: &str, seq: u64, e: Envelope) -> Result<Piece, String> {
        let run = self.runs.remove(device);
        let Some((index, count)) = e.part else {
            if run.is_some() {
                return Err(format!(
                    "record {seq} arrived while the change it follows was incomplete"
                ));
            }
            return Ok(if e.is_placeholder() {
                Piece::Placeholder
            } else {
                Piece::Chunk(e.chunk.into_vec())
            });
        };
        let mut run = match run {
            None if index == 0 => Run {
                count,
                next_seq: seq,
                ..Run::default()
            },
            None => {
                return Err(format!(
                    "record {seq} is part of a change whose first part is missing"
                ))
            }
            Some(run) => run,
        };
        if index != run.next_index || count != run.count || seq != run.next_seq {
            return Err(format!(
                "record {seq} is part {index} of {count}, out of sequence"
            ));
        }
        if run.bytes.len() + e.chunk.len() > MAX_ASSEMBLED_BYTES {
            return Err(format!(
                "the change ending at record {seq} is larger than {} MiB",
                MAX_ASSEMBLED_BYTES >> 20
            ));
        }
        run.bytes.extend_from_slice(&e.chunk);
        if index + 1 == count {
            return Ok(Piece::Chunk(run.bytes));
        }
        run.next_index += 1;
        run.next_seq += 1;
        self.runs.insert(device.to_string(), run);
        Ok(Piece::Fragment)
    }

    /// The seq the next record of `device` must have while one of its
    /// changes is incomplete.
    pub fn next_seq(&self, device: &str) -> Option<u64> {
        self.runs.get(device).map(|r| r.next_seq)
    }

    /// Forgets the incomplete change of `device` (its cursor did not move,
    /// so the next sync fetches it whole again).
    pub fn drop_device(&mut self, device: &str) {
        self.runs.remove(device);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach() -> BTreeMap<String, u64> {
        [("a".to_string(), 3), ("b".to_string(), 9)].into()
    }

    #[test]
    fn envelopes_round_trip_and_bare_chunks_still_read() {
        let e = split(b"changes", &reach()).unwrap().remove(0);
        let kind = RecordKind::Envelope;
        assert_eq!(Envelope::from_bytes(kind, e.to_bytes()).unwrap(), e);
        let mut bare = AUTOMERGE_MAGIC.to_vec();
        bare.extend_from_slice(b"rest");
        let read = Envelope::from_bytes(RecordKind::Change, bare.clone()).unwrap();
        assert_eq!((read.chunk.to_vec(), read.part), (bare, None));
        assert!(Envelope::from_bytes(kind, b"\xffjunk".to_vec()).is_err());
        // The bytes the phone's tests pin (web/test/envelope.test.ts).
        let phone = Envelope {
            chunk: ByteBuf::from(vec![1, 2]),
            part: Some((1, 2)),
            reach: [("a".to_string(), 1), ("b".to_string(), 2)].into(),
            whole: false,
        };
        assert_eq!(
            hex::encode(phone.to_bytes()),
            "a3656368756e6b4201026470617274820102657265616368a2616101616202"
        );
        // A whole document says so in one more key; older readers ignore it.
        let whole = Envelope {
            whole: true,
            ..Envelope::default()
        };
        assert_eq!(
            hex::encode(whole.to_bytes()),
            "a2656368756e6b406577686f6c65f5"
        );
        let read = Envelope::from_bytes(kind, whole.to_bytes()).unwrap();
        assert!(read.whole);
        assert_eq!(
            hex::encode(Envelope::default().to_bytes()),
            "a1656368756e6b40"
        );
    }

    #[test]
    fn a_large_change_is_split_and_reassembled_in_order() {
        let chunk: Vec<u8> = (0..PART_BYTES * 2 + 10).map(|i| i as u8).collect();
        let parts = split(&chunk, &reach()).unwrap();
        assert_eq!(parts.len(), 3);
        let mut a = Assembler::default();
        assert!(matches!(
            a.take("d", 5, parts[0].clone()),
            Ok(Piece::Fragment)
        ));
        assert!(matches!(
            a.take("d", 6, parts[1].clone()),
            Ok(Piece::Fragment)
        ));
        match a.take("d", 7, parts[2].clone()) {
            Ok(Piece::Chunk(whole)) => assert_eq!(whole, chunk),
            _ => panic!("the last part completes the change"),
        }
        assert!(split(&vec![0; MAX_ASSEMBLED_BYTES + 1], &reach()).is_none());
    }

    #[test]
    fn parts_out_of_sequence_are_refused() {
        let chunk = vec![1u8; PART_BYTES * 2 + 1];
        let parts = split(&chunk, &BTreeMap::new()).unwrap();
        let mut a = Assembler::default();
        assert!(
            a.take("d", 6, parts[1].clone()).is_err(),
            "first part missing"
        );
        a.take("d", 5, parts[0].clone()).ok();
        assert!(a.take("d", 7, parts[1].clone()).is_err(), "a gap in seqs");
        let mut b = Assembler::default();
        b.take("d", 5, parts[0].clone()).ok();
        let whole = split(b"x", &BTreeMap::new()).unwrap().remove(0);
        assert!(b.take("d", 6, whole).is_err(), "a change inside a run");
        let placeholder = Envelope::default();
        assert!(matches!(
            Assembler::default().take("d", 1, placeholder),
            Ok(Piece::Placeholder)
        ));
        let forged = Envelope {
            part: Some((3, 200)),
            ..Envelope::default()
        };
        assert!(Envelope::from_bytes(RecordKind::Envelope, forged.to_bytes()).is_err());
    }
}
