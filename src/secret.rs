//! A wrapper for secrets (tokens, API keys, webhook secrets) that never prints its value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string. `Debug`, `Display` and `Serialize` all print `***`; use [`Secret::expose`]
/// at the one place the value is really needed. Making one registers its value with
/// [`crate::redact::protect`], so the value is masked in everything the process writes out
/// (logs, job results, Discord messages, the status page, command output) wherever it leaks in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::protect(&value);
        Self(value)
    }

    /// The real value. Call only where it is sent to the service that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Length in characters (for validation messages that must not show the value).
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "\"\"" } else { "***" })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "" } else { "***" })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "" } else { "***" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(serde_json::to_string(&s).expect("serializes"), "\"***\"");
        assert_eq!(s.expose(), "hunter2-very-secret");
        assert_eq!(s.len(), 19);
        assert!(Secret::default().is_empty());
    }

    #[test]
    fn a_new_secret_is_masked_in_output_at_once() {
        let text = "echoed: Authorization: Key secret-made-by-new-1c9e";
        assert_eq!(crate::redact::redact(text), text, "not yet protected");
        let _made = Secret::new("secret-made-by-new-1c9e");
        assert_eq!(
            crate::redact::redact(text),
            "echoed: Authorization: Key ***"
        );
        let _read: Secret = serde_json::from_str("\"secret-read-by-serde-77d2\"").expect("parses");
        assert_eq!(
            crate::redact::redact("x secret-read-by-serde-77d2"),
            "x ***"
        );
    }
}
