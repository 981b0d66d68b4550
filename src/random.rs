//! Unpredictable bytes for salts, session ids and CSRF tokens, read from the kernel's CSPRNG.

use std::fs::File;
use std::io::Read;

use crate::encoding::to_hex;

/// The kernel's random source (Linux, the only platform summarybot ships for).
const SOURCE: &str = "/dev/urandom";

/// `n` random bytes, or an error naming the source.
pub fn bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0; n];
    File::open(SOURCE)
        .and_then(|mut f| f.read_exact(&mut out))
        .map_err(|e| format!("cannot read random bytes from {SOURCE}: {e}"))?;
    Ok(out)
}

/// A random 256-bit token as 64 lowercase hex characters.
pub fn token() -> Result<String, String> {
    bytes(32).map(|b| to_hex(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hex_and_differ() {
        let a = token().expect("token");
        let b = token().expect("token");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(bytes(0).expect("empty"), Vec::<u8>::new());
    }
}
