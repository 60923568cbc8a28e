//! Protocol message types and their codec.
//!
//! Frames are CBOR maps sent as binary WebSocket messages. This module has no
//! dependency on automerge or sled so that the relay (and its fuzzers) can use
//! it alone. Decoding never trusts a peer: input larger than
//! [`MAX_FRAME_BYTES`] is refused before it is parsed, and every failure is a
//! typed [`WireError`], never a panic.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks. A peer with another version gets
/// [`WireError::VersionMismatch`] and a message saying which side to upgrade.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;

/// The first message on every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's protocol version.
    pub version: u32,
    /// Optional features the sender understands, e.g. `"snapshot"`.
    pub capabilities: Vec<String>,
}

impl Hello {
    /// The hello this build sends.
    pub fn current() -> Self {
        Hello {
            version: PROTOCOL_VERSION,
            capabilities: Vec::new(),
        }
    }

    /// Checks a peer's hello against this build.
    pub fn check(&self) -> Result<(), WireError> {
        if self.version == PROTOCOL_VERSION {
            Ok(())
        } else {
            Err(WireError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: self.version,
            })
        }
    }
}

/// A protocol message. The relay issue grows this enum; the encoding rules
/// (a CBOR map with a `type` tag) stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Hello(Hello),
    /// A refusal, with a message meant for the user.
    Error {
        code: String,
        message: String,
    },
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

/// Decodes a frame, refusing oversized input before parsing it.
pub fn decode(bytes: &[u8]) -> Result<Frame, WireError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    ciborium::from_reader(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hello_round_trips() {
        let f = Frame::Hello(Hello::current());
        assert_eq!(decode(&encode(&f).unwrap()).unwrap(), f);
    }

    #[test]
    fn version_mismatch_is_reported() {
        let h = Hello {
            version: 99,
            capabilities: vec![],
        };
        let err = h.check().unwrap_err().to_string();
        assert!(err.contains("v1") && err.contains("v99"), "{err}");
    }

    #[test]
    fn oversized_input_is_refused_unparsed() {
        let big = vec![0u8; MAX_FRAME_BYTES + 1];
        assert!(matches!(decode(&big), Err(WireError::TooLarge { .. })));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn error_frames_round_trip(code in ".{0,20}", message in ".{0,200}") {
            let f = Frame::Error { code, message };
            prop_assert_eq!(decode(&encode(&f).unwrap()).unwrap(), f);
        }
    }
}
