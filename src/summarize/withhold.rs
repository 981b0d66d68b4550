//! Withholding secrets from what an LLM is sent: access tokens and API keys, passwords (after
//! `password=` and in URLs) and, when configured, e-mail addresses in chat messages are replaced
//! by placeholders before any prompt is built, and counted for the summary's footer.
//!
//! Found by pattern, in this order (a later match overlapping an earlier one is skipped):
//! - what the log redaction masks ([`crate::redact`]): the process's own secrets (bot token, API
//!   keys), `Bearer` credentials, `sk-` keys;
//! - GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), Slack (`xoxb-` …, `xapp-`)
//!   and AWS (`AKIA`/`ASIA` + 16) keys, JWTs and Discord bot tokens (three dotted base64 parts);
//! - passwords in URLs (`https://user:pass@host` → `https://user:***@host`);
//! - values after `password=`, `token=`, `api_key: ` … (passwords of any length from 3, tokens
//!   when they look like one: 16 or more base64/hex characters with a digit);
//! - e-mail addresses (`llm.withhold_emails`).

use std::borrow::Cow;
use std::ops::Range;

use crate::model::ChatMessage;
use crate::redact::{is_token_byte, is_word_byte};

/// Replaces an access token or key.
pub const TOKEN: &str = "[token withheld]";
/// Replaces a password given as `password=…`.
pub const PASSWORD: &str = "[password withheld]";
/// Replaces an e-mail address.
pub const EMAIL: &str = "[email withheld]";
/// Replaces the password of a URL (`user:***@host`).
pub const URL_PASSWORD: &str = "***";

/// What is withheld besides tokens and passwords (always withheld).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Withhold e-mail addresses too.
    pub emails: bool,
}

impl Default for Policy {
    /// E-mail addresses withheld.
    fn default() -> Self {
        Self { emails: true }
    }
}

/// Messages as they may be sent to an LLM, and how many secrets were replaced in them.
pub fn messages(messages: &[ChatMessage], policy: Policy) -> (Vec<ChatMessage>, usize) {
    let mut count = 0;
    let out = messages
        .iter()
        .map(|m| {
            let (content, n) = text(&m.content, policy);
            count += n;
            let mut out = match content {
                Cow::Borrowed(_) => m.clone(),
                Cow::Owned(content) => ChatMessage {
                    content,
                    ..m.clone()
                },
            };
            // File names are quoted in the prompt too (`[attachment: …]`).
            for attachment in &mut out.attachments {
                let (name, n) = text(&attachment.file_name, policy);
                if let Cow::Owned(name) = name {
                    attachment.file_name = name;
                    count += n;
                }
            }
            out
        })
        .collect();
    (out, count)
}

/// How many secrets [`messages`] replaces in `messages`, without copying them.
pub fn count(messages: &[ChatMessage], policy: Policy) -> usize {
    messages
        .iter()
        .map(|m| {
            text(&m.content, policy).1
                + m.attachments
                    .iter()
                    .map(|a| text(&a.file_name, policy).1)
                    .sum::<usize>()
        })
        .sum()
}

/// `text` with its secrets replaced by placeholders, and how many there were. Borrows when
/// there is nothing to withhold.
pub fn text(text: &str, policy: Policy) -> (Cow<'_, str>, usize) {
    let mut found: Vec<(Range<usize>, &'static str)> = Vec::new();
    let mut add = |spans: Vec<Range<usize>>, placeholder: &'static str| {
        for span in spans {
            let overlaps = found
                .iter()
                .any(|(f, _)| f.start < span.end && span.start < f.end);
            if !overlaps && !span.is_empty() {
                found.push((span, placeholder));
            }
        }
    };
    add(crate::redact::registered_spans(text), TOKEN);
    add(prefixed_keys(text), TOKEN);
    add(dotted_tokens(text), TOKEN);
    add(url_passwords(text), URL_PASSWORD);
    let (passwords, tokens) = assignments(text);
    add(passwords, PASSWORD);
    add(tokens, TOKEN);
    if policy.emails {
        add(emails(text), EMAIL);
    }
    if found.is_empty() {
        return (Cow::Borrowed(text), 0);
    }
    found.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (span, placeholder) in &found {
        out.push_str(&text[copied..span.start]);
        out.push_str(placeholder);
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    (Cow::Owned(out), found.len())
}

/// A byte of a key: letter, digit, `_` or `-`.
fn is_key_byte(b: u8) -> bool {
    is_word_byte(b) || b == b'-'
}

/// Length of the run of bytes from `start` satisfying `f`.
fn run(bytes: &[u8], start: usize, f: impl Fn(u8) -> bool) -> usize {
    bytes[start..].iter().take_while(|&&b| f(b)).count()
}

/// Provider keys recognized by their prefix (at a word start) and least tail length.
fn prefixed_keys(text: &str) -> Vec<Range<usize>> {
    const PREFIXES: &[(&str, usize)] = &[
        ("ghp_", 30),
        ("gho_", 30),
        ("ghu_", 30),
        ("ghs_", 30),
        ("ghr_", 30),
        ("github_pat_", 20),
        ("xoxb-", 10),
        ("xoxp-", 10),
        ("xoxa-", 10),
        ("xoxr-", 10),
        ("xoxs-", 10),
        ("xapp-", 10),
    ];
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    for (prefix, least) in PREFIXES {
        for (start, _) in text.match_indices(prefix) {
            if start > 0 && is_key_byte(bytes[start - 1]) {
                continue;
            }
            let tail = run(bytes, start + prefix.len(), is_key_byte);
            if tail >= *least {
                spans.push(start..start + prefix.len() + tail);
            }
        }
    }
    // AWS access key ids: AKIA/ASIA and 16 upper-case letters or digits, a whole word.
    for prefix in ["AKIA", "ASIA"] {
        for (start, _) in text.match_indices(prefix) {
            let tail = run(bytes, start + 4, |b| {
                b.is_ascii_uppercase() || b.is_ascii_digit()
            });
            let end = start + 4 + tail;
            let whole = (start == 0 || !is_word_byte(bytes[start - 1]))
                && bytes.get(end).is_none_or(|&b| !is_word_byte(b));
            if tail == 16 && whole {
                spans.push(start..end);
            }
        }
    }
    spans
}

/// JWTs (`eyJ….eyJ….sig`) and Discord bot tokens (base64 user id, timestamp, HMAC: parts of
/// at least 23, 6 and 27 characters), as whole dotted words.
fn dotted_tokens(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_key_byte(bytes[i]) || (i > 0 && is_key_byte(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let mut end = i + run(bytes, i, |b| is_key_byte(b) || b == b'.');
        while end > i && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let parts: Vec<&str> = text[i..end].split('.').collect();
        let token = match parts.as_slice() {
            [a, b, c] if a.starts_with("eyJ") && b.starts_with("eyJ") => {
                a.len() >= 10 && b.len() >= 10 && !c.is_empty()
            }
            [a, b, c] => {
                a.len() >= 23
                    && (6..=7).contains(&b.len())
                    && c.len() >= 27
                    && [a, b, c]
                        .iter()
                        .all(|p| p.bytes().any(|x| x.is_ascii_digit()) || p.len() < 8)
            }
            _ => false,
        };
        if token {
            spans.push(i..end);
        }
        i = end.max(i + 1);
    }
    spans
}

/// The password part of `scheme://user:password@host`.
fn url_passwords(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    for (sep, _) in text.match_indices("://") {
        let start = sep + 3;
        let len = run(bytes, start, |b| {
            !b.is_ascii_whitespace() && !matches!(b, b'/' | b'?' | b'#' | b'>' | b')' | b'"')
        });
        let authority = &text[start..start + len];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        if let Some(colon) = authority[..at].find(':') {
            if colon + 1 < at {
                spans.push(start + colon + 1..start + at);
            }
        }
    }
    spans
}

/// Names whose value is a password.
const PASSWORD_NAMES: &[&str] = &["password", "passwd", "passwort", "pwd", "pass"];
/// Names whose value is a token or key.
const TOKEN_NAMES: &[&str] = &["token", "secret", "key", "apikey", "auth", "credential"];

/// Values after `name=` / `name: ` (quotes allowed) where the name, or the last part of it
/// (`DB_PASSWORD`, `x-api-key`, `github_token`), is a password or token name. Returns
/// (passwords, tokens).
fn assignments(text: &str) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let (mut passwords, mut tokens) = (Vec::new(), Vec::new());
    for (op, sign) in text.match_indices(['=', ':']) {
        // The name ends before spaces and one closing quote: `password = x`, `"api_key": "x"`.
        let mut name_end = op;
        name_end -= bytes[..name_end]
            .iter()
            .rev()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if name_end > 0 && matches!(bytes[name_end - 1], b'"' | b'\'') {
            name_end -= 1;
        }
        let name_start = bytes[..name_end]
            .iter()
            .rposition(|&b| !is_key_byte(b))
            .map_or(0, |p| p + 1);
        let name = text[name_start..name_end].to_ascii_lowercase();
        let last = name.rsplit(['_', '-']).next().unwrap_or("");
        // `PGPASSWORD`, `mysqlpwd`, `AWS_SECRET_ACCESS_KEY`: names ending in a password or
        // token name count too.
        let is_password = PASSWORD_NAMES.contains(&last)
            || ["password", "passwd", "passwort"]
                .iter()
                .any(|p| last.ends_with(p));
        let is_token = TOKEN_NAMES.contains(&last)
            || name.ends_with("api_key")
            || ["token", "secret", "apikey"]
                .iter()
                .any(|t| last.ends_with(t));
        if !(is_password || is_token) || text[op + 1..].starts_with("//") {
            continue;
        }
        let mut start = op + 1;
        start += run(bytes, start, |b| b == b' ' || b == b'\t');
        start += run(bytes, start, |b| b == b'"' || b == b'\'');
        let len = run(bytes, start, |b| {
            !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b',' | b';' | b'&' | b'`')
        });
        let value = &text[start..start + len];
        let value = value.trim_end_matches(['.', ')']);
        let span = start..start + value.len();
        if is_password {
            // After a colon ("password: is wrong") only a value with a digit or symbol counts.
            let plain_word = value.chars().all(char::is_alphabetic);
            if value.chars().count() >= 3 && (sign == "=" || !plain_word) && value != "***" {
                passwords.push(span);
            }
        } else if value.len() >= 16
            && value.bytes().all(is_token_byte)
            && value.bytes().any(|b| b.is_ascii_digit())
        {
            tokens.push(span);
        }
    }
    (passwords, tokens)
}

/// E-mail addresses: `local@domain.tld` with a letters-only top-level domain of 2 or more.
fn emails(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let is_local =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut spans = Vec::new();
    for (at, _) in text.match_indices('@') {
        let local = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| is_local(b))
            .count();
        let mut start = at - local;
        while start < at && bytes[start] == b'.' {
            start += 1;
        }
        let domain_len = run(bytes, at + 1, |b| {
            b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
        });
        let domain = text[at + 1..at + 1 + domain_len].trim_end_matches(['.', '-']);
        let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
        });
        if start < at && tld_ok {
            spans.push(start..at + 1 + domain.len());
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withheld(input: &str) -> (String, usize) {
        let (out, n) = text(input, Policy::default());
        (out.into_owned(), n)
    }

    #[test]
    fn tokens_and_keys_are_withheld() {
        for (secret, kind) in [
            ("ghp_0123456789abcdefghijklmnopqrstuvwxyz", "github"),
            ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv", "github pat"),
            ("sk-proj-AbCdEf0123456789_xyzXYZ", "openai"),
            ("AKIAIOSFODNN7EXAMPLE", "aws"),
            ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", "slack"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
            ),
            (
                "MTA4NzY1NDMyMTAxMjM0NTY3OA.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB",
                "discord",
            ),
        ] {
            let (out, n) = withheld(&format!("my {kind} key is {secret}, oops"));
            assert_eq!(out, format!("my {kind} key is {TOKEN}, oops"), "{kind}");
            assert_eq!(n, 1, "{kind}");
        }
    }

    #[test]
    fn config_snippets_with_spaces_and_quotes_are_withheld() {
        for (snippet, placeholder) in [
            (r#"{"password": "hunter2x"}"#, PASSWORD),
            (r#"password = "hunter2x""#, PASSWORD),
            ("PGPASSWORD=s3cretpw", PASSWORD),
            (r#""api_key": "a1b2c3d4e5f6a7b8c9d0""#, TOKEN),
            (
                "AWS_SECRET_ACCESS_KEY = wJalrXUtnFEMI1K7MDENGbPxRfiCYEXAMPLEKEY",
                TOKEN,
            ),
            ("github_token: 0123456789abcdef0123456789abcdef", TOKEN),
        ] {
            let (out, n) = withheld(snippet);
            assert_eq!(n, 1, "{snippet} -> {out}");
            assert!(out.contains(placeholder), "{snippet} -> {out}");
        }
        let (out, n) = withheld("the password: is wrong, try the keyboard");
        assert_eq!(
            (out.as_str(), n),
            ("the password: is wrong, try the keyboard", 0)
        );
    }

    #[test]
    fn attachment_names_are_withheld_too() {
        let msg = ChatMessage {
            id: crate::model::MessageId(1),
            channel_id: crate::model::ChannelId(1),
            guild_id: None,
            author: crate::model::Author {
                id: crate::model::UserId(1),
                name: "a".into(),
                display_name: None,
                is_bot: false,
            },
            timestamp: crate::model::Timestamp(0),
            edited_at: None,
            kind: crate::model::MessageKind::Default,
            content: "see the file".into(),
            reply_to: None,
            attachments: vec![crate::model::Attachment {
                file_name: "db-password=hunter2x.txt".into(),
                url: "https://cdn.example/x".into(),
            }],
            reaction_count: 0,
            pinned: false,
        };
        let (out, n) = messages(&[msg], Policy::default());
        assert_eq!(n, 1);
        assert!(!out[0].attachments[0].file_name.contains("hunter2x"));
    }

    #[test]
    fn assignments_passwords_in_urls_and_emails_are_withheld() {
        let (out, n) = withheld(
            "set DB_PASSWORD=hunter2 and api_key: 'a1b2c3d4e5f6a7b8c9d0' then \
             clone https://bob:s3cr3t@git.example.com/repo.git, mail bob.smith+dev@example.co.uk.",
        );
        assert_eq!(
            out,
            format!(
                "set DB_PASSWORD={PASSWORD} and api_key: '{TOKEN}' then \
                 clone https://bob:{URL_PASSWORD}@git.example.com/repo.git, mail {EMAIL}."
            )
        );
        assert_eq!(n, 4);
        // E-mail addresses only when the policy says so.
        let (out, n) = text("write to ops@example.org", Policy { emails: false });
        assert_eq!((out.as_ref(), n), ("write to ops@example.org", 0));
    }

    #[test]
    fn ordinary_chat_is_left_alone() {
        for chat in [
            "the key: we need more tests",
            "password: forgotten again",
            "token=short",
            "see https://github.com/org/repo/pull/42 and <@123456789>",
            "@everyone release at 09:00 UTC, v0.9.0-rc2 is out",
            "ping @mara about src/main.rs",
            "version 1.2.3 of a.b.c",
            "sk-learn and task-0123456789abcdefghijklmno",
        ] {
            let (out, n) = withheld(chat);
            assert_eq!((out.as_str(), n), (chat, 0), "{chat}");
        }
    }

    #[test]
    fn messages_keep_everything_but_the_secrets() {
        let msg = |content: &str| ChatMessage {
            id: crate::model::MessageId(1),
            channel_id: crate::model::ChannelId(2),
            guild_id: None,
            author: crate::model::Author {
                id: crate::model::UserId(3),
                name: "alex".into(),
                display_name: None,
                is_bot: false,
            },
            timestamp: crate::model::Timestamp(0),
            edited_at: None,
            kind: crate::model::MessageKind::Default,
            content: content.into(),
            reply_to: None,
            attachments: vec![],
            reaction_count: 0,
            pinned: false,
        };
        let input = [msg("hi"), msg("token=0123456789abcdef0123 and x@y.io")];
        let (out, n) = messages(&input, Policy::default());
        assert_eq!(n, 2);
        assert_eq!(out[0], input[0]);
        assert_eq!(out[1].content, format!("token={TOKEN} and {EMAIL}"));
        assert_eq!(out[1].id, input[1].id);
    }
}
