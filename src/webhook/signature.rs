//! HMAC-SHA256 signatures in the `sha256=<hex>` form used by GitHub (`X-Hub-Signature-256`) and
//! summarybot's own `X-Signature-256` header, with constant-time verification.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::encoding::{from_hex, to_hex};

type HmacSha256 = Hmac<Sha256>;

/// The raw HMAC-SHA256 of `body` under `secret`.
pub fn hmac_sha256(secret: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The header value `sha256=<lowercase hex>` for `body`.
pub fn sign_header(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", to_hex(&hmac_sha256(secret, body)))
}

/// Check a `sha256=<hex>` header value against `body` in constant time.
/// Returns false for a malformed header (wrong prefix, bad hex, wrong length).
pub fn verify_header(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = from_hex(hex) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc4231_test_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verifies_good_and_rejects_bad_signatures() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let body = br#"{"type":"summary_request","channel_id":"1"}"#;
        let header = sign_header(secret, body);
        assert!(verify_header(secret, body, &header));
        assert!(verify_header(
            secret,
            body,
            &header.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify_header(secret, b"tampered", &header));
        assert!(!verify_header(b"other secret", body, &header));
        assert!(!verify_header(secret, body, "sha1=abcd"));
        assert!(!verify_header(secret, body, "sha256=zz"));
        assert!(!verify_header(secret, body, "sha256=abc"));
        assert!(!verify_header(secret, body, ""));
    }
}
