//! Randomness, hashing and the key-encryption key: the one place grantd makes
//! random values and compares secrets.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

/// `n` random bytes from the system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG does not fail on supported platforms; if it ever does,
    // continuing with predictable bytes would be worse than stopping.
    aws_lc_rs::rand::fill(&mut buf).expect("system random number generator failed");
    buf
}

/// A 256-bit random token, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A random identifier of `len` characters from [A-Za-z0-9].
pub fn random_id(len: usize) -> String {
    random_chars(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        len,
    )
}

/// `len` characters drawn uniformly from `alphabet` (ASCII, 1 to 256 symbols).
pub fn random_chars(alphabet: &[u8], len: usize) -> String {
    // Bytes at or above the largest multiple of the alphabet's size are
    // skipped (rejection sampling), so every symbol is equally likely.
    let size = alphabet.len().clamp(1, 256);
    let accept = 256 - 256 % size;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>() {
            if usize::from(b) < accept && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % size]));
            }
        }
    }
    out
}

/// A random id of `len` characters (at least 16) whose first ten sort, as
/// bytes, in the order this process made them: the second `now` and a
/// counter, then random characters. Sessions get these so that "the oldest"
/// is well defined among sessions opened in the same second.
pub fn ordered_id(now: crate::clock::UnixTime, len: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    const SORTED: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    fn digits(mut n: u64, width: usize, out: &mut String) {
        let mut buf = vec![b'0'; width];
        for slot in buf.iter_mut().rev() {
            *slot = SORTED[(n % 62) as usize];
            n /= 62;
        }
        out.extend(buf.into_iter().map(char::from));
    }
    let mut id = String::with_capacity(len.max(16));
    digits(now.max(0) as u64, 6, &mut id);
    digits(
        SEQUENCE.fetch_add(1, Ordering::Relaxed) % 62u64.pow(4),
        4,
        &mut id,
    );
    id.push_str(&random_id(len.max(16) - 10));
    id
}

/// A random numeric id (RingCentral account and extension ids are numbers).
pub fn random_numeric_id() -> String {
    let n = u64::from_le_bytes(random_bytes::<8>()) % 9_000_000_000_000 + 1_000_000_000_000;
    n.to_string()
}

/// SHA-256, for high-entropy values (client secrets, tokens). Passwords use argon2.
pub fn sha256(value: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, value);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HMAC-SHA-256 under a server secret: keyed hashes of values that must not
/// be stored or compared in clear (the admin token) and of rate-limit keys
/// that every node must compute alike.
#[derive(Clone)]
pub struct KeyedHash(aws_lc_rs::hmac::Key);

impl KeyedHash {
    pub fn new(key: &[u8]) -> Self {
        Self(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key))
    }

    /// A key for one purpose, derived from this one, so that one secret
    /// serves several uses without one's hashes meaning anything to another.
    pub fn derive(&self, purpose: &str) -> KeyedHash {
        KeyedHash::new(&self.digest(&[b"grantd key for ", purpose.as_bytes()]))
    }

    /// The MAC of `parts`, each length-prefixed so that no two lists of
    /// parts hash alike (`["ab", "c"]` and `["a", "bc"]` differ).
    pub fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.0);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

impl std::fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHash([redacted])")
    }
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key-encryption key that seals signing keys at rest (AES-256-GCM).
pub struct Kek(LessSafeKey);

#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error("the master key must be 32 bytes, base64 or hex encoded (got {0} bytes)")]
    WrongLength(usize),
    #[error("the master key is neither base64 nor hex")]
    Encoding,
    #[error(
        "a signing key could not be decrypted: the master key is not the one it was sealed with"
    )]
    Decrypt,
}

impl Kek {
    /// From the configured form: 32 bytes as base64 (standard or url-safe) or hex.
    pub fn parse(encoded: &str) -> Result<Self, KekError> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let s = encoded.trim();
        let bytes = if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KekError::Encoding)?
        } else {
            STANDARD
                .decode(s)
                .or_else(|_| URL_SAFE.decode(s))
                .or_else(|_| URL_SAFE_NO_PAD.decode(s))
                .map_err(|_| KekError::Encoding)?
        };
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KekError> {
        let key =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KekError::WrongLength(bytes.len()))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A new random key, base64-encoded, for first start.
    pub fn generate_encoded() -> String {
        base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>())
    }

    /// nonce ‖ ciphertext ‖ tag; `aad` binds the sealed value to its owner (the key id).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut buf,
            )
            .expect("AES-GCM sealing a small buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        if sealed.len() < NONCE_LEN {
            return Err(KekError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::Decrypt)?;
        let mut buf = ct.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| KekError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

/// Seals `plaintext` with a key derived from a high-entropy token, so only
/// someone who presents that token again can open it (refresh replay).
pub fn seal_with_token(token: &str, plaintext: &[u8]) -> Vec<u8> {
    token_kek(token).seal(plaintext, b"grantd refresh replay")
}

pub fn open_with_token(token: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    token_kek(token).open(sealed, b"grantd refresh replay").ok()
}

fn token_kek(token: &str) -> Kek {
    let mut input = b"grantd replay key v1:".to_vec();
    input.extend_from_slice(token.as_bytes());
    // 32 bytes: always a valid AES-256 key.
    Kek::from_bytes(&sha256(&input)).expect("32-byte key")
}

/// A Unix time as RFC 3339, for messages.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert_eq!(random_id(22).len(), 22);
    }

    #[test]
    fn random_chars_use_every_symbol_of_the_alphabet_only() {
        let alphabet = b"BCDFGHJKLMNPQRSTVWXZ";
        let drawn = random_chars(alphabet, 20_000);
        assert_eq!(drawn.len(), 20_000);
        for symbol in alphabet {
            let n = drawn.bytes().filter(|b| b == symbol).count();
            // 1,000 expected; far outside this range is not chance.
            assert!(
                (700..1300).contains(&n),
                "{} drawn {n} times",
                *symbol as char
            );
        }
        assert!(drawn.bytes().all(|b| alphabet.contains(&b)));
    }

    #[test]
    fn kek_round_trip_and_binding() {
        let kek = Kek::parse(&Kek::generate_encoded()).unwrap();
        let sealed = kek.seal(b"private key", b"kid-1");
        assert_eq!(kek.open(&sealed, b"kid-1").unwrap(), b"private key");
        assert!(kek.open(&sealed, b"kid-2").is_err());
        let other = Kek::parse(&Kek::generate_encoded()).unwrap();
        assert!(other.open(&sealed, b"kid-1").is_err());
    }

    #[test]
    fn kek_formats() {
        assert!(Kek::parse(&"ab".repeat(32)).is_ok());
        assert!(matches!(
            Kek::parse("c2hvcnQ="),
            Err(KekError::WrongLength(5))
        ));
    }

    #[test]
    fn keyed_hashes_depend_on_key_purpose_and_part_boundaries() {
        let k = KeyedHash::new(b"server secret");
        // RFC 4231 test case 2 shape: a known HMAC-SHA-256, through one part.
        let rfc = KeyedHash::new(b"Jefe").0;
        let tag = aws_lc_rs::hmac::sign(&rfc, b"what do ya want for nothing?");
        assert_eq!(
            tag.as_ref()[..4],
            [0x5b, 0xdc, 0xc1, 0x46],
            "HMAC-SHA-256 as in RFC 4231"
        );
        assert_eq!(k.digest(&[b"a", b"b"]), k.digest(&[b"a", b"b"]));
        assert_ne!(k.digest(&[b"ab", b"c"]), k.digest(&[b"a", b"bc"]));
        assert_ne!(
            k.derive("admin token").digest(&[b"x"]),
            k.derive("rate limits").digest(&[b"x"])
        );
        assert_ne!(KeyedHash::new(b"other").digest(&[b"x"]), k.digest(&[b"x"]));
        assert_eq!(format!("{k:?}"), "KeyedHash([redacted])");
    }

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

#[cfg(test)]
mod ordered_id_tests {
    use super::ordered_id;

    #[test]
    fn ids_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..1000)
            .map(|i| ordered_id(1_700_000_000 + i / 300, 22))
            .collect();
        assert!(ids.iter().all(|id| id.len() == 22));
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
    }
}
