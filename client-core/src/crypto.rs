//! End-to-end encryption: the vault key, what is derived from it, and sealing.
//!
//! A vault has a random 256-bit key that never leaves the user's devices.
//! HKDF-SHA256 derives two independent values from it: the key that seals
//! records (XChaCha20-Poly1305) and the access token a device shows the relay.
//! The relay stores only a hash of the token, so it can check membership but
//! holds nothing that opens a record. Each sealed payload binds its vault,
//! device, sequence number and kind as associated data: the relay cannot
//! reorder, splice or swap records without the device noticing.

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use crate::wire::RecordKind;

const NONCE_LEN: usize = 24;
const HKDF_SALT: &[u8] = b"interlog/v1";

/// Why a payload could not be opened or a key read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error(
        "a record failed authentication: it was altered, moved, or sealed with another vault key"
    )]
    Tampered,
    #[error("the vault key is not 64 hex characters")]
    BadKey,
    #[error("those are not this vault's recovery words: {0}. Check each word against what you wrote down (24 words, in order)")]
    BadWords(String),
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// The vault key. Its `Debug` never prints the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultKey([u8; 32]);

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

/// Keys derived from a [`VaultKey`].
pub struct Derived {
    seal: XChaCha20Poly1305,
    /// What a device presents to the relay; the relay keeps its SHA-256.
    pub token: [u8; 32],
}

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(out)
}

impl VaultKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(VaultKey(random()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(s.trim()).map_err(|_| CryptoError::BadKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(VaultKey(arr))
    }

    /// The key as 24 recovery words (BIP39, English): the 256 bits of the
    /// key and an 8-bit checksum, so a mistyped word is caught.
    pub fn to_words(&self) -> String {
        // 32 bytes is a valid BIP39 entropy length: cannot fail.
        bip39::Mnemonic::from_entropy(&self.0)
            .expect("32 bytes of entropy") // ok: 256 bits is one of BIP39's lengths
            .to_string()
    }

    /// The key from its recovery words, in any case and spacing.
    pub fn from_words(words: &str) -> Result<Self, CryptoError> {
        let normal = words
            .split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>();
        if normal.len() != 24 {
            return Err(CryptoError::BadWords(format!(
                "{} words, where the key has 24",
                normal.len()
            )));
        }
        let m = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &normal.join(" "))
            .map_err(|e| CryptoError::BadWords(words_problem(&e)))?;
        let arr: [u8; 32] = m
            .to_entropy()
            .try_into()
            .map_err(|_| CryptoError::BadWords("not a 256-bit key".into()))?;
        Ok(VaultKey(arr))
    }

    /// Derives the sealing key and the relay access token.
    pub fn derive(&self) -> Derived {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.0);
        let mut seal = [0u8; 32];
        let mut token = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160: cannot fail.
        hk.expand(b"seal", &mut seal).expect("32-byte HKDF output");
        hk.expand(b"relay-token", &mut token)
            .expect("32-byte HKDF output");
        Derived {
            seal: XChaCha20Poly1305::new(&seal.into()),
            token,
        }
    }
}

/// What is wrong with a set of recovery words, by position: the words are
/// a secret, so none is echoed.
fn words_problem(e: &bip39::Error) -> String {
    match e {
        bip39::Error::UnknownWord(i) => {
            format!("word {} is not in the BIP39 English list", i + 1)
        }
        bip39::Error::InvalidChecksum => {
            "the checksum does not match: a word is wrong or two are swapped".into()
        }
        other => other.to_string(),
    }
}

/// The SHA-256 of an access token: what the relay stores.
pub fn token_hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl Derived {
    /// Seals `plaintext` with a fresh random nonce: nonce || ciphertext+tag.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce: [u8; NONCE_LEN] = random()?;
        let sealed = self
            .seal
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Self::seal`] made, checking it against `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Tampered);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Tampered)?;
        self.seal
            .decrypt(&nonce, Payload { msg: body, aad })
            .map_err(|_| CryptoError::Tampered)
    }
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

/// Associated data of a record: length-prefixed vault, device, kind, then seq.
pub fn record_aad(vault: &str, device: &str, seq: u64, kind: RecordKind) -> Vec<u8> {
    let mut out = b"interlog/v1/record".to_vec();
    push_field(&mut out, vault.as_bytes());
    push_field(&mut out, device.as_bytes());
    push_field(&mut out, kind.as_str().as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// Associated data of a snapshot: vault, device, snapshot id and every cursor
/// it covers, so the relay cannot pass off one snapshot as covering more.
pub fn snapshot_aad(vault: &str, device: &str, id: u64, covers: &BTreeMap<String, u64>) -> Vec<u8> {
    let mut out = b"interlog/v1/snapshot".to_vec();
    push_field(&mut out, vault.as_bytes());
    push_field(&mut out, device.as_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(covers.len() as u32).to_be_bytes());
    for (d, seq) in covers {
        push_field(&mut out, d.as_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_only_with_their_own_place() {
        let key = VaultKey::generate().unwrap();
        let d = key.derive();
        let aad = record_aad("v", "dev-a", 1, RecordKind::Change);
        let sealed = d.seal(&aad, b"hello").unwrap();
        assert_eq!(d.open(&aad, &sealed).unwrap(), b"hello");
        for other in [
            record_aad("v", "dev-a", 2, RecordKind::Change),
            record_aad("v", "dev-b", 1, RecordKind::Change),
            record_aad("w", "dev-a", 1, RecordKind::Change),
        ] {
            assert_eq!(d.open(&other, &sealed), Err(CryptoError::Tampered));
        }
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert_eq!(d.open(&aad, &flipped), Err(CryptoError::Tampered));
        let other_key = VaultKey::generate().unwrap().derive();
        assert_eq!(other_key.open(&aad, &sealed), Err(CryptoError::Tampered));
        assert_eq!(d.open(&aad, &sealed[..10]), Err(CryptoError::Tampered));
    }

    #[test]
    fn keys_round_trip_as_recovery_words_and_a_wrong_word_is_caught() {
        let key = VaultKey::generate().unwrap();
        let words = key.to_words();
        assert_eq!(words.split(' ').count(), 24);
        assert_eq!(VaultKey::from_words(&words).unwrap(), key);
        // Case and spacing do not matter; a typed list often has both.
        let shouted = format!("  {}\n", words.to_uppercase().replace(' ', "   "));
        assert_eq!(VaultKey::from_words(&shouted).unwrap(), key);
        // The BIP39 vector for 32 zero bytes pins the encoding.
        let zero = VaultKey([0; 32]).to_words();
        assert!(zero.starts_with("abandon abandon"), "{zero}");
        assert!(zero.ends_with(" art"), "{zero}");
        // One word changed: refused by the checksum, never a different key
        // (a fixed key, since one change in 256 passes an 8-bit checksum).
        let fixed = VaultKey([7; 32]).to_words();
        let mut list: Vec<&str> = fixed.split(' ').collect();
        list[3] = if list[3] == "zoo" { "zone" } else { "zoo" };
        let e = VaultKey::from_words(&list.join(" "))
            .unwrap_err()
            .to_string();
        assert!(e.contains("checksum"), "{e}");
        list[3] = "notaword";
        let e = VaultKey::from_words(&list.join(" "))
            .unwrap_err()
            .to_string();
        assert!(e.contains("word 4 is not in the BIP39 English list"), "{e}");
        assert!(!e.contains("notaword"), "the words are a secret: {e}");
        let e = VaultKey::from_words(&list[..12].join(" "))
            .unwrap_err()
            .to_string();
        assert!(e.contains("12 words, where the key has 24"), "{e}");
    }

    #[test]
    fn keys_round_trip_as_hex_and_derive_deterministically() {
        let key = VaultKey::generate().unwrap();
        let again = VaultKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(key.derive().token, again.derive().token);
        assert_ne!(
            key.derive().token,
            VaultKey::generate().unwrap().derive().token
        );
        assert!(VaultKey::from_hex("abcd").is_err());
        assert_eq!(format!("{key:?}"), "VaultKey(..)");
    }

    #[test]
    fn ambiguous_field_boundaries_do_not_collide() {
        assert_ne!(
            record_aad("ab", "c", 1, RecordKind::Change),
            record_aad("a", "bc", 1, RecordKind::Change)
        );
    }
}
