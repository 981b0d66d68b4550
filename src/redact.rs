//! Redaction of secrets from every text that leaves the process: log lines, job results,
//! Discord messages, the status page and command output.
//!
//! A [`Redactor`] replaces with [`MASK`]:
//! - every value it was told to protect ([`Redactor::protect`]) of at least
//!   [`MIN_SECRET_CHARS`] characters, wherever it occurs (inside words too; overlapping and
//!   repeated occurrences are merged into one mask), and its JSON-escaped form;
//! - the credential after an HTTP `Bearer` scheme (any case, any whitespace between), unless it
//!   is a short plain lower-case word as in "bearer token";
//! - API-key-looking words: `sk-` followed by at least [`MIN_KEY_TAIL`] letters, digits, `-` or
//!   `_` (OpenAI, Anthropic and OpenRouter keys), even when no config names them.
//!
//! The process has one registry ([`protect`], [`redact`]): every [`crate::secret::Secret`] made
//! registers its value when it is created, so whatever holds secrets (config keys, secret files,
//! per-client keys) is covered without a list to keep in step. Values shorter than
//! [`MIN_SECRET_CHARS`] are not matched by value: a 7-character "secret" would mask ordinary
//! words and numbers in every log line, and is no protection worth hiding (placeholder keys such
//! as `none` for local LLM servers).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{PoisonError, RwLock};

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

/// Shortest protected value (in characters) that is matched by value.
pub const MIN_SECRET_CHARS: usize = 8;

/// Least characters after `sk-` for a word to count as an API key.
pub const MIN_KEY_TAIL: usize = 20;

/// The HTTP authentication scheme whose credential is always masked.
const BEARER: &[u8] = b"bearer";

/// Replaces protected values and credential-looking tokens in text. Deliberately has no `Debug`:
/// it holds the secrets.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Protected values, each at least [`MIN_SECRET_CHARS`] characters, no duplicates.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor protecting no values yet (it still masks bearer tokens and key-like words).
    pub const fn new() -> Self {
        Self {
            secrets: Vec::new(),
        }
    }

    /// Protect `value` (surrounding whitespace ignored). Values shorter than
    /// [`MIN_SECRET_CHARS`] are ignored; returns whether anything new was added.
    pub fn protect(&mut self, value: &str) -> bool {
        let value = value.trim();
        if value.chars().count() < MIN_SECRET_CHARS {
            return false;
        }
        let mut added = false;
        // A secret with a quote, backslash or control character appears escaped in JSON logs
        // and JSON bodies; protect that spelling too.
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped
            .strip_prefix('"')
            .and_then(|e| e.strip_suffix('"'))
            .unwrap_or(value);
        for form in [value, escaped] {
            if !self.secrets.iter().any(|s| s == form) {
                self.secrets.push(form.to_owned());
                added = true;
            }
        }
        added
    }

    /// Whether `value` would be masked by value (it was protected and is long enough).
    pub fn protects(&self, value: &str) -> bool {
        self.secrets.iter().any(|s| s == value.trim())
    }

    /// `text` with every protected value, bearer credential and key-like word replaced by
    /// [`MASK`]. Borrows when there is nothing to mask.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let spans = self.spans(text);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(mask(text, spans))
    }

    /// Byte ranges of `text` [`Redactor::redact`] masks (unsorted, possibly overlapping).
    pub(crate) fn spans(&self, text: &str) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        for secret in &self.secrets {
            occurrences(text, secret, &mut spans);
        }
        bearer_credentials(text, &mut spans);
        key_like_words(text, &mut spans);
        spans
    }
}

/// The process-wide registry behind [`protect`] and [`redact`].
static REGISTRY: RwLock<Redactor> = RwLock::new(Redactor::new());

/// Protect `value` in everything the process writes from now on (see [`Redactor::protect`]).
pub fn protect(value: &str) {
    let registry = || REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    if value.trim().chars().count() < MIN_SECRET_CHARS || registry().protects(value) {
        return;
    }
    REGISTRY
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .protect(value);
}

/// `text` redacted by the process-wide registry.
pub fn redact(text: &str) -> Cow<'_, str> {
    REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .redact(text)
}

/// Byte ranges of `text` the process-wide registry would mask: protected values (the bot's
/// own tokens and keys), bearer credentials and `sk-` keys. Unsorted, possibly overlapping.
pub(crate) fn registered_spans(text: &str) -> Vec<Range<usize>> {
    REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .spans(text)
}

/// [`redact`] into an owned `String`.
pub fn redacted(text: &str) -> String {
    redact(text).into_owned()
}

/// Redact every string value inside a JSON value (object keys are left as they are), in place.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = redact(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Every occurrence of `needle` in `text`, overlapping ones included.
fn occurrences(text: &str, needle: &str, spans: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(found) = text[from..].find(needle) {
        let start = from + found;
        spans.push(start..start + needle.len());
        // Step one character, so an occurrence overlapping this one is found too.
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
}

/// A byte of a word: a letter, digit or underscore.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A byte of an RFC 6750 `b64token` (`=` padding included).
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Length of the whitespace at the start of `bytes`: ASCII whitespace, or the JSON escapes
/// `\t`, `\n`, `\r` (as a JSON log line spells them).
fn gap_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match bytes.get(i..) {
            Some([b, ..]) if b.is_ascii_whitespace() => i += 1,
            Some([b'\\', b't' | b'n' | b'r', ..]) => i += 2,
            _ => return i,
        }
    }
}

/// The credentials after each `Bearer` (case-insensitive, at a word start, then whitespace).
fn bearer_credentials(text: &str, spans: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + BEARER.len() < bytes.len() {
        let at_word_start = i == 0 || !is_word_byte(bytes[i - 1]);
        if !(at_word_start && bytes[i..i + BEARER.len()].eq_ignore_ascii_case(BEARER)) {
            i += 1;
            continue;
        }
        let after = i + BEARER.len();
        let start = after + gap_len(&bytes[after..]);
        let mut end = start
            + bytes[start..]
                .iter()
                .take_while(|&&b| is_token_byte(b))
                .count();
        // A sentence's full stop is not part of the token.
        while end > start && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let token = &bytes[start..end];
        let prose_word = token.iter().all(u8::is_ascii_lowercase) && token.len() < MIN_KEY_TAIL;
        if start > after && !token.is_empty() && !prose_word {
            spans.push(start..end);
        }
        i = end.max(after);
    }
}

/// `sk-` at a word start followed by at least [`MIN_KEY_TAIL`] key characters.
fn key_like_words(text: &str, spans: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let is_key_byte = |b: u8| is_word_byte(b) || b == b'-';
    for (start, prefix) in text.match_indices("sk-") {
        if start > 0 && is_key_byte(bytes[start - 1]) {
            continue;
        }
        let tail_start = start + prefix.len();
        let tail = bytes[tail_start..]
            .iter()
            .take_while(|&&b| is_key_byte(b))
            .count();
        if tail >= MIN_KEY_TAIL {
            spans.push(start..tail_start + tail);
        }
    }
}

/// `text` with each (possibly overlapping) span replaced; touching spans become one mask.
fn mask(text: &str, mut spans: Vec<Range<usize>>) -> String {
    spans.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some(span) = spans.next() {
        let mut end = span.end;
        while let Some(next) = spans.next_if(|next| next.start <= end) {
            end = end.max(next.end);
        }
        out.push_str(&text[copied..span.start]);
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        let mut r = Redactor::new();
        for s in secrets {
            r.protect(s);
        }
        r
    }

    #[test]
    fn a_secret_is_masked_everywhere_even_inside_words() {
        let r = redactor(&["hunter2hunter2"]);
        assert_eq!(
            r.redact("key=hunter2hunter2, again:xxhunter2hunter2yy"),
            "key=***, again:xx***yy"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn several_secrets_are_all_masked() {
        let r = redactor(&["discord-token-abcdef", "webhook-secret-123456"]);
        assert_eq!(
            r.redact("a discord-token-abcdef b webhook-secret-123456 c discord-token-abcdef"),
            "a *** b *** c ***"
        );
    }

    #[test]
    fn overlapping_and_touching_secrets_leave_no_fragment() {
        // The second secret starts inside the first: masking one first must not leave the rest.
        let r = redactor(&["abcdefgh1234", "1234wxyz5678"]);
        assert_eq!(r.redact("<abcdefgh1234wxyz5678>"), "<***>");
        // A secret contained in another.
        let r = redactor(&["0123456789abcdef", "456789ab"]);
        assert_eq!(r.redact("x0123456789abcdefx 456789ab"), "x***x ***");
        // Self-overlapping occurrences of one secret.
        let r = redactor(&["xyxyxyxy"]);
        assert_eq!(r.redact("[xyxyxyxyxy]"), "[***]");
        // Two secrets back to back are one mask.
        let r = redactor(&["firstsecret", "secondsecret"]);
        assert_eq!(r.redact("firstsecretsecondsecret."), "***.");
    }

    #[test]
    fn short_values_are_not_matched_by_value() {
        let mut r = Redactor::new();
        assert!(!r.protect("none"));
        assert!(!r.protect("  1234567  "), "7 characters after trimming");
        assert!(!r.protect(""));
        assert_eq!(r.redact("none of 1234567"), "none of 1234567");
        assert!(r.protect(" 12345678\n"), "8 characters after trimming");
        assert_eq!(r.redact("id 12345678"), "id ***");
        assert!(!r.protect("12345678"), "already protected");
    }

    #[test]
    fn unicode_secrets_and_text_keep_their_characters() {
        let r = redactor(&["pässwörd-ünï-🔑"]);
        assert_eq!(
            r.redact("⚠️ échec (pässwörd-ünï-🔑) — fin"),
            "⚠️ échec (***) — fin"
        );
        // Multi-byte characters right before and after a bearer token.
        assert_eq!(r.redact("é Bearer Zx9-token.é"), "é Bearer ***.é");
        let r = redactor(&["ééééééééé"]);
        assert_eq!(r.redact("éééééééééé!"), "***!");
    }

    #[test]
    fn bearer_credentials_are_masked_whatever_the_spacing_and_case() {
        let r = Redactor::new();
        for (text, want) in [
            (
                "Authorization: Bearer sk-abc123",
                "Authorization: Bearer ***",
            ),
            ("(… Bearer sk-abc123)", "(… Bearer ***)"),
            ("bearer   Abc.Def-ghi_jkl~+/==, next", "bearer   ***, next"),
            ("BEARER\tq1w2e3", "BEARER\t***"),
            ("Bearer\n\n  tok3n", "Bearer\n\n  ***"),
            (r#"{"m":"Bearer\tq1w2e3"}"#, r#"{"m":"Bearer\t***"}"#),
            (
                r#"{"m":"header Bearer abc123\" x"}"#,
                r#"{"m":"header Bearer ***\" x"}"#,
            ),
            ("ends with Bearer Abc1.", "ends with Bearer ***."),
            (
                "two: Bearer a1 and bearer B2",
                "two: Bearer *** and bearer ***",
            ),
            ("bearer abcdefghijklmnopqrstuvwxyz", "bearer ***"),
        ] {
            assert_eq!(r.redact(text), want, "{text}");
        }
    }

    #[test]
    fn prose_about_bearer_tokens_is_left_alone() {
        let r = Redactor::new();
        for text in [
            "the bearer token is wrong",
            "send Authorization: Bearer <webhook.bearer_token>",
            "Bearer",
            "Bearer ",
            "xBearer abc123",
            "bearer_token = Bearer",
            "Bearer ***",
        ] {
            assert_eq!(r.redact(text), text);
        }
    }

    #[test]
    fn api_key_looking_words_are_masked() {
        let r = Redactor::new();
        let key = "sk-proj-AbCdEf0123456789_xyz";
        assert_eq!(r.redact(&format!("key {key}, ok")), "key ***, ok");
        assert_eq!(r.redact("sk-ant-api03-0123456789abcdefghij"), "***");
        // Too short, or inside another word: not a key.
        for text in [
            "sk-learn",
            "task-0123456789abcdefghijklmno",
            "disk-0123456789abcdefghijkl",
        ] {
            assert_eq!(r.redact(text), text);
        }
    }

    #[test]
    fn json_escaped_secrets_are_masked_in_json_text() {
        let r = redactor(&["quote\"and\\slash"]);
        let json = serde_json::json!({ "error": "bad quote\"and\\slash here" }).to_string();
        assert_eq!(r.redact(&json), r#"{"error":"bad *** here"}"#);
        assert_eq!(r.redact("raw quote\"and\\slash"), "raw ***");
    }

    #[test]
    fn redaction_is_stable() {
        let r = redactor(&["0123456789abcdef"]);
        let once = r
            .redact("Bearer 0123456789abcdef and sk-0123456789abcdefghijk")
            .into_owned();
        assert_eq!(once, "Bearer *** and ***");
        assert_eq!(r.redact(&once), once);
    }

    #[test]
    fn the_process_registry_masks_what_was_protected_and_json_strings() {
        protect("registry-test-secret-5f3a");
        assert_eq!(redact("x registry-test-secret-5f3a y"), "x *** y");
        let mut value = serde_json::json!({
            "content": "",
            "embeds": [{"description": "failed (registry-test-secret-5f3a)", "n": 3}],
        });
        redact_json(&mut value);
        assert_eq!(value["embeds"][0]["description"], "failed (***)");
        assert_eq!(value["embeds"][0]["n"], 3);
    }
}
