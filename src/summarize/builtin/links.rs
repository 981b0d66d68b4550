//! Links for the builtin summarizer: every distinct URL shared in the window, de-duplicated,
//! labelled with its Markdown label or the text around it, citing the messages that shared it.

use std::collections::HashMap;

use super::detect::Candidate;
use super::phrases::{fill, Phrases};
use super::text;
use super::Msg;
use crate::model::MessageId;

/// Messages cited per link (the first shares).
const LINK_CITATIONS: usize = 5;
/// People named per link before "+N".
const LINK_SHARERS: usize = 3;

/// Every distinct URL, labelled with its Markdown label or the text around it, citing each share.
pub(crate) fn links(msgs: &[Msg<'_>], ph: &Phrases) -> Vec<Candidate> {
    struct Shared {
        url: String,
        label: String,
        order: usize,
        score: f32,
        citations: Vec<MessageId>,
        sharers: Vec<String>,
    }
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut shared: Vec<Shared> = Vec::new();
    for m in msgs.iter().filter(|m| m.human) {
        for (url, label) in urls(&m.full) {
            let key = url_key(url);
            let slot = *by_key.entry(key).or_insert_with(|| {
                shared.push(Shared {
                    url: url.to_string(),
                    label: label.map_or_else(|| surrounding_label(&m.prose, url), str::to_string),
                    order: m.index,
                    score: 0.0,
                    citations: Vec::new(),
                    sharers: Vec::new(),
                });
                shared.len() - 1
            });
            let entry = &mut shared[slot];
            entry.score += 1.0 + m.score;
            if !entry.citations.contains(&m.raw.id) && entry.citations.len() < LINK_CITATIONS {
                entry.citations.push(m.raw.id);
            }
            if !entry.sharers.iter().any(|s| s == m.author) {
                entry.sharers.push(m.author.to_string());
            }
        }
    }
    shared
        .into_iter()
        .map(|s| {
            let label = s.label.replace(['[', ']'], "");
            let more = s.sharers.len().saturating_sub(LINK_SHARERS);
            let more = if more > 0 {
                format!(" +{more}")
            } else {
                String::new()
            };
            let sharers = s.sharers[..s.sharers.len().min(LINK_SHARERS)].join(", ");
            let sharers = format!("{sharers}{more}");
            let text = fill(
                ph.shared_link,
                &[("label", &label), ("url", &s.url), ("sharers", &sharers)],
            );
            Candidate::new(s.score, s.order, text, s.citations)
        })
        .collect()
}

/// URLs in a text with their Markdown label when written as `[label](url)`.
fn urls(full: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = ["https://", "http://"]
        .iter()
        .filter_map(|p| full[from..].find(p))
        .min()
        .map(|p| p + from)
    {
        let len = full[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .unwrap_or(full.len() - start);
        let mut url =
            full[start..start + len].trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*']);
        let label = full[..start]
            .strip_suffix("](")
            .and_then(|before| before.rfind('[').map(|open| &before[open + 1..]));
        if label.is_some() || (url.ends_with(')') && !url.contains('(')) {
            url = url.strip_suffix(')').unwrap_or(url);
        }
        if url.len() > "https://".len() + 2 {
            out.push((url, label.filter(|l| !l.trim().is_empty())));
        }
        from = start + len;
    }
    out
}

/// A URL normalized for de-duplication: lowercase scheme and host, no fragment, no trailing slash.
fn url_key(url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    let url = url.trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let scheme = if scheme.eq_ignore_ascii_case("http") {
        "https"
    } else {
        scheme
    };
    format!("{}://{host}/{path}", scheme.to_ascii_lowercase())
}

/// The message text without its URLs, or the URL's host when nothing else is said.
fn surrounding_label(prose: &str, url: &str) -> String {
    let without = text::without_urls(prose);
    let without = without.trim_matches(|c: char| matches!(c, ':' | '-' | '—' | ' '));
    if without.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
        text::shorten(without, 100)
    } else {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_and_labelled() {
        let found = urls("see [the docs](https://a.io/x) and (https://b.io/y). <https://c.io>");
        assert_eq!(
            found,
            vec![
                ("https://a.io/x", Some("the docs")),
                ("https://b.io/y", None),
                ("https://c.io", None)
            ]
        );
        assert_eq!(
            url_key("http://WWW.A.io/x/#frag"),
            url_key("https://a.io/x")
        );
        assert_ne!(url_key("https://a.io/X"), url_key("https://a.io/x"));
    }
}
