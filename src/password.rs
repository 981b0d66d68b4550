//! The status page password hash: PBKDF2-HMAC-SHA256 (RFC 8018) in the text form
//! `$pbkdf2-sha256$i=<iterations>$<salt hex>$<hash hex>`, checked in constant time.
//!
//! The same value can be made without summarybot, e.g. in Python:
//! `hashlib.pbkdf2_hmac("sha256", password, salt, iterations).hex()`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::encoding::{constant_time_eq, from_hex, to_hex};

/// Iterations `summarybot status hash-password` uses by default (a fraction of a second per
/// login in a release build, even on a Raspberry Pi).
pub const DEFAULT_ITERATIONS: u32 = 100_000;
/// Fewest iterations accepted.
pub const MIN_ITERATIONS: u32 = 1_000;
/// Most iterations accepted (a login must not take minutes).
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Salt bytes of new hashes.
const SALT_BYTES: usize = 16;
/// Bytes of the derived key.
const HASH_BYTES: usize = 32;
/// The scheme prefix.
const PREFIX: &str = "$pbkdf2-sha256$i=";

/// A parsed password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHash")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Why a password hash text is not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a usable password hash: {0}; expected \"$pbkdf2-sha256$i=<iterations>$<salt hex>$<hash hex>\" as printed by `summarybot status hash-password`")]
pub struct HashError(String);

impl PasswordHash {
    /// Parse `$pbkdf2-sha256$i=<iterations>$<salt hex>$<hash hex>`.
    pub fn parse(text: &str) -> Result<Self, HashError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| HashError(format!("it does not start with {PREFIX:?}")))?;
        let mut parts = rest.split('$');
        let (Some(iterations), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HashError(
                "it needs exactly three $-separated fields after the scheme".into(),
            ));
        };
        let iterations: u32 = iterations.parse().map_err(|_| {
            HashError(format!(
                "the iteration count {iterations:?} is not a number"
            ))
        })?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(HashError(format!(
                "the iteration count {iterations} is outside {MIN_ITERATIONS}-{MAX_ITERATIONS}"
            )));
        }
        let salt = from_hex(salt)
            .filter(|s| s.len() >= 8)
            .ok_or_else(|| HashError("the salt must be at least 8 bytes of hex".into()))?;
        let hash = from_hex(hash)
            .filter(|h| h.len() >= 16)
            .ok_or_else(|| HashError("the hash must be at least 16 bytes of hex".into()))?;
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    /// Hash `password` with a fresh random salt.
    pub fn create(password: &str, iterations: u32) -> Result<Self, String> {
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!(
                "iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}"
            ));
        }
        let salt = crate::random::bytes(SALT_BYTES)?;
        let hash = pbkdf2_sha256(password.as_bytes(), &salt, iterations, HASH_BYTES);
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    /// True when `password` matches (compared in constant time).
    pub fn verify(&self, password: &str) -> bool {
        let derived = pbkdf2_sha256(
            password.as_bytes(),
            &self.salt,
            self.iterations,
            self.hash.len(),
        );
        constant_time_eq(&derived, &self.hash)
    }
}

impl std::fmt::Display for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}{}${}${}",
            self.iterations,
            to_hex(&self.salt),
            to_hex(&self.hash)
        )
    }
}

/// PBKDF2 with HMAC-SHA256 as the PRF (RFC 8018 section 5.2), `len` output bytes.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
    let Ok(prf) = Hmac::<Sha256>::new_from_slice(password) else {
        // HMAC accepts keys of any length; this branch cannot be taken.
        return Vec::new();
    };
    let mut out = Vec::with_capacity(len);
    let mut block = 1_u32;
    while out.len() < len {
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&block.to_be_bytes());
        let mut u = mac.finalize().into_bytes();
        let mut t = u;
        for _ in 1..iterations {
            let mut mac = prf.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes();
            for (acc, byte) in t.iter_mut().zip(u.iter()) {
                *acc ^= byte;
            }
        }
        let take = (len - out.len()).min(t.len());
        out.extend_from_slice(&t[..take]);
        block += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_7914_test_vectors() {
        assert_eq!(
            to_hex(&pbkdf2_sha256(b"passwd", b"salt", 1, 64)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert_eq!(
            to_hex(&pbkdf2_sha256(b"Password", b"NaCl", 80_000, 64)),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
    }

    #[test]
    fn created_hashes_round_trip_and_verify() {
        let hash = PasswordHash::create("correct horse", MIN_ITERATIONS).expect("hash");
        let text = hash.to_string();
        assert!(text.starts_with("$pbkdf2-sha256$i=1000$"), "{text}");
        let parsed = PasswordHash::parse(&text).expect("parse");
        assert_eq!(parsed, hash);
        assert!(parsed.verify("correct horse"));
        assert!(!parsed.verify("correct horse "));
        assert!(!parsed.verify(""));
        assert!(!format!("{parsed:?}").contains(&text[25..]));
        assert!(PasswordHash::create("x", 10).is_err());
    }

    #[test]
    fn malformed_hashes_are_refused_with_the_reason() {
        let salt = "00".repeat(16);
        let hash = "11".repeat(32);
        for (text, reason) in [
            (String::new(), "does not start with"),
            ("plaintext-password".into(), "does not start with"),
            ("$pbkdf2-sha256$i=1000$abcd".into(), "exactly three"),
            (
                format!("$pbkdf2-sha256$i=1000${salt}${hash}$x"),
                "exactly three",
            ),
            (
                format!("$pbkdf2-sha256$i=lots${salt}${hash}"),
                "not a number",
            ),
            (format!("$pbkdf2-sha256$i=10${salt}${hash}"), "outside"),
            (format!("$pbkdf2-sha256$i=1000$zz${hash}"), "salt"),
            (format!("$pbkdf2-sha256$i=1000${salt}$abc"), "hash must"),
        ] {
            let err = PasswordHash::parse(&text).expect_err(&text).to_string();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(err.contains("summarybot status hash-password"), "{err}");
        }
        assert!(PasswordHash::parse(&format!("$pbkdf2-sha256$i=1000${salt}${hash}")).is_ok());
    }
}
