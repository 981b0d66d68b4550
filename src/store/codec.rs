//! Value encoding: one format-version byte followed by postcard, so a later format can be told apart.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// The current value format: postcard of the serde types in this module's callers.
pub(super) const FORMAT_V1: u8 = 1;

/// Encode `value` as `[FORMAT_V1, postcard...]`.
pub(super) fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(value, vec![FORMAT_V1]).map_err(|e| StoreError::Encode {
        what,
        detail: e.to_string(),
    })
}

/// Decode bytes written by [`encode`]; an unknown version or malformed body is a clear error.
pub(super) fn decode<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => {
            let (value, rest) =
                postcard::take_from_bytes(body).map_err(|e| StoreError::Decode {
                    what,
                    detail: e.to_string(),
                })?;
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(StoreError::Decode {
                    what,
                    detail: format!("{} unexpected trailing bytes", rest.len()),
                })
            }
        }
        Some((version, _)) => Err(StoreError::Decode {
            what,
            detail: format!("unknown value format version {version}"),
        }),
        None => Err(StoreError::Decode {
            what,
            detail: "empty value".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let bytes = encode("pair", &(7_u32, "x".to_string())).expect("encodes");
        assert_eq!(bytes[0], FORMAT_V1);
        let back: (u32, String) = decode("pair", &bytes).expect("decodes");
        assert_eq!(back, (7, "x".to_string()));

        let err = decode::<(u32, String)>("pair", &[9, 1, 2]).expect_err("unknown version");
        assert!(
            err.to_string().contains("unknown value format version 9"),
            "{err}"
        );
        assert!(decode::<u32>("pair", &[]).is_err());
        assert!(decode::<String>("pair", &[FORMAT_V1, 200]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode::<(u32, String)>("pair", &long).is_err());
    }
}
