//! Standard Webhooks (v1): `webhook-id`, `webhook-timestamp` and `webhook-signature` headers; the
//! signature is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several may be listed
//! (key rotation), the secret may be `whsec_<base64>`, and old or future timestamps are refused.

use super::signature::hmac_sha256;
use crate::encoding::constant_time_eq;

/// Why a Standard Webhooks signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandardError {
    /// `webhook-timestamp` is not a number of seconds.
    #[error("webhook-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    /// The timestamp is outside the tolerance.
    #[error("webhook-timestamp is {0} s away from now, outside the allowed tolerance; check the sender's clock or resend")]
    OutOfTolerance(i64),
    /// No listed signature matches.
    #[error("no v1 signature in webhook-signature matches the body")]
    Mismatch,
}

/// The HMAC key for a configured secret: the decoded bytes of `whsec_<base64>`, else the text.
pub fn secret_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(base64_decode)
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` value `v1,<base64>` for a message.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", base64_encode(&mac(key, id, timestamp, body)))
}

/// Verify the headers against `body` at `now` (Unix seconds) within `tolerance_secs`.
pub fn verify(
    key: &[u8],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), StandardError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| StandardError::BadTimestamp)?;
    let skew = ts.saturating_sub(now);
    if skew.saturating_abs() > tolerance_secs {
        return Err(StandardError::OutOfTolerance(skew));
    }
    let expected = mac(key, id, ts, body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(base64_decode)
        .any(|given| constant_time_eq(&given, &expected));
    if matches {
        Ok(())
    } else {
        Err(StandardError::Mismatch)
    }
}

/// HMAC of `id.timestamp.body`.
fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut message = Vec::with_capacity(id.len() + body.len() + 24);
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    hmac_sha256(key, &message)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 (padding optional); None for any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0_u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    // Leftover bits must be zero padding, and a single leftover char is never valid.
    if bits >= 6 || acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_rfc4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), coded);
            assert_eq!(base64_decode(coded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base64_decode("Zg"), Some(b"f".to_vec()));
        assert_eq!(base64_decode("Z"), None);
        assert_eq!(base64_decode("Zh=="), None);
        assert_eq!(base64_decode("Z!=="), None);
    }

    #[test]
    fn matches_the_standard_webhooks_reference_example() {
        // The example from the standard-webhooks reference implementations' tests.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_rotation_lists_and_rejects_bad_input() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let good = sign(&key, "id1", 1000, b"body");
        let list = format!("v1,AAAA {good} v2,zzz");
        assert_eq!(
            verify(&key, "id1", "1000", &list, b"body", 1000, 300),
            Ok(())
        );
        assert_eq!(
            verify(&key, "id1", "1000", &good, b"body", 1300, 300),
            Ok(())
        );
        assert_eq!(
            verify(&key, "id1", "1000", &good, b"body", 1301, 300),
            Err(StandardError::OutOfTolerance(-301))
        );
        assert_eq!(
            verify(&key, "id1", "1000", &good, b"body", 699, 300),
            Err(StandardError::OutOfTolerance(301))
        );
        assert_eq!(
            verify(&key, "id2", "1000", &good, b"body", 1000, 300),
            Err(StandardError::Mismatch)
        );
        assert_eq!(
            verify(&key, "id1", "1000", &good, b"bodx", 1000, 300),
            Err(StandardError::Mismatch)
        );
        assert_eq!(
            verify(&key, "id1", "soon", &good, b"body", 1000, 300),
            Err(StandardError::BadTimestamp)
        );
        assert_eq!(
            verify(&key, "id1", "1000", "", b"body", 1000, 300),
            Err(StandardError::Mismatch)
        );
        assert_eq!(secret_key("plain-secret"), b"plain-secret".to_vec());
    }
}
