//! Text helpers for the builtin summarizer: Discord markup cleanup, word tokens, sentence
//! splitting and trimming long text to a readable point.

use std::collections::HashMap;

use crate::model::{Timestamp, UserId};

/// Shown names of the users seen in a window, used to turn `<@123>` into `@Name`.
pub(crate) type NameMap = HashMap<UserId, String>;

/// Longest text of a point before it is cut (in chars).
pub(crate) const POINT_CHARS: usize = 220;

/// Common English words that carry no topic; sorted for binary search.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does",
    "doing", "don", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her",
    "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "ll",
    "me", "might", "more", "most", "much", "my", "no", "not", "now", "of", "off", "oh", "ok",
    "okay", "on", "one", "only", "or", "other", "our", "out", "over", "re", "really", "s", "she",
    "should", "so", "some", "such", "t", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "too", "up", "us", "ve", "very", "was", "way", "we",
    "well", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with",
    "would", "yeah", "yes", "you", "your", "yours",
];

/// Abbreviations whose trailing dot does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "dr", "e.g", "etc", "i.e", "jr", "mr", "mrs", "ms", "mt", "no", "prof", "sr", "st", "vs",
];

/// True for words too common to say anything about the topic.
pub(crate) fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Lowercase alphanumeric words of `s`, in order.
pub(crate) fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Words that describe the topic: lowercase, no stopwords, no single letters or bare numbers.
pub(crate) fn content_words(s: &str) -> impl Iterator<Item = String> + '_ {
    words(s).filter(|w| {
        let long_enough = w.chars().nth(1).is_some() || !w.is_ascii();
        long_enough && !is_stopword(w) && !w.chars().all(|c| c.is_ascii_digit())
    })
}

/// Replace Discord markup (`<@id>`, `<#id>`, `<:emoji:id>`, `<t:secs>`, `<url>`) with readable text.
/// Newlines are kept; see [`one_line`] to collapse them.
pub(crate) fn clean_markup(s: &str, names: &NameMap) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let tag = after
            .find('>')
            .filter(|&close| close <= 100)
            .and_then(|close| Some((close, replace_tag(&after[..close], names)?)));
        if let Some((close, text)) = tag {
            out.push_str(&text);
            rest = &after[close + 1..];
        } else {
            out.push('<');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The readable form of one `<...>` tag's inside, or None when it is not Discord markup.
fn replace_tag(inner: &str, names: &NameMap) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(id) = inner.strip_prefix("@&") {
        return digits(id).then(|| "@role".to_string());
    }
    if let Some(id) = inner.strip_prefix('@') {
        let id = id.strip_prefix('!').unwrap_or(id);
        let user = id.parse().ok().map(UserId)?;
        return Some(
            names
                .get(&user)
                .map_or_else(|| "@user".to_string(), |name| format!("@{name}")),
        );
    }
    if let Some(id) = inner.strip_prefix('#') {
        return digits(id).then(|| "#channel".to_string());
    }
    if let Some(spec) = inner.strip_prefix("t:") {
        let secs: i64 = spec.split(':').next()?.parse().ok()?;
        return Some(Timestamp(secs.saturating_mul(1000)).to_string());
    }
    if inner.starts_with("http://") || inner.starts_with("https://") {
        return (!inner.contains(char::is_whitespace)).then(|| inner.to_string());
    }
    let emoji = inner
        .strip_prefix('a')
        .filter(|rest| rest.starts_with(':'))
        .unwrap_or(inner);
    let mut parts = emoji.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(name), Some(id), None) if digits(id) && !name.is_empty() => {
            Some(format!(":{name}:"))
        }
        _ => None,
    }
}

/// Remove fenced code blocks (```...```), leaving the prose around them.
pub(crate) fn without_code_blocks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split("```").enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
            out.push(' ');
        }
    }
    out
}

/// The text without its URLs (words containing `://`), so links do not count as topic words.
pub(crate) fn without_urls(s: &str) -> String {
    s.split_whitespace()
        .filter(|w| !w.contains("://"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) use crate::text::one_line;

/// Split text into sentences on `.`, `!`, `?` followed by whitespace, and on newlines.
/// Abbreviations such as `Mr.` or `e.g.` do not end a sentence.
pub(crate) fn sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in s.lines() {
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (k, &(pos, c)) in chars.iter().enumerate() {
            // Closing emphasis stays with its sentence: "**done.** Next" ends after the stars.
            let closing_stars = chars[k + 1..]
                .iter()
                .take_while(|&&(_, n)| n == '*')
                .count();
            let next_is_space = chars
                .get(k + 1 + closing_stars)
                .is_none_or(|&(_, n)| n.is_whitespace());
            // An ellipsis ("wasm... performance?") trails off inside the sentence.
            let ellipsis = c == '.' && k > 0 && chars[k - 1].1 == '.';
            if matches!(c, '.' | '!' | '?')
                && !ellipsis
                && next_is_space
                && !ends_with_abbreviation(&line[start..pos])
            {
                let end = pos + c.len_utf8() + closing_stars;
                push_trimmed(&mut out, &line[start..end]);
                start = end;
            }
        }
        push_trimmed(&mut out, &line[start..]);
    }
    out
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s);
    }
}

fn ends_with_abbreviation(before_dot: &str) -> bool {
    let last = before_dot
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
        || (last.chars().count() == 1 && last.chars().all(char::is_alphabetic))
}

/// Cut `s` to at most `max` chars: its first sentence when that is long enough to stand alone,
/// otherwise on a word boundary with "…" appended. Never leaves an inline-code span open.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if let Some(first) = sentences(s).first() {
        let len = first.chars().count();
        if len >= 40 && len <= max {
            return close_code(first.to_string(), "");
        }
    }
    let limit = max.saturating_sub(1);
    let cut_at = s.char_indices().nth(limit).map_or(s.len(), |(i, _)| i);
    let head = &s[..cut_at];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space > head.len() / 2 => &head[..space],
        _ => head,
    };
    let head =
        head.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-'));
    close_code(head.to_string(), "…")
}

/// Close a dangling inline-code backtick, then add `suffix`.
fn close_code(mut s: String, suffix: &str) -> String {
    if s.matches('`').count() % 2 == 1 {
        s.push('`');
    }
    s.push_str(suffix);
    s
}

/// Jaccard similarity of two sorted, de-duplicated word lists (used to skip near-duplicates).
pub(crate) fn jaccard(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.iter().filter(|w| b.contains(w)).count();
    let union = a.len() + b.len() - shared;
    shared as f32 / union as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn markup_is_cleaned() {
        let mut names = NameMap::new();
        names.insert(UserId(42), "Alex".to_string());
        let s = "hi <@42> and <@!7> in <#9> <:party:123> <a:wave:5> <@&3> <https://x.io/a> a<b";
        assert_eq!(
            clean_markup(s, &names),
            "hi @Alex and @user in #channel :party: :wave: @role https://x.io/a a<b"
        );
        assert_eq!(clean_markup("<t:0:R>", &names), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn sentences_respect_abbreviations() {
        assert_eq!(sentences("wasm... speed?"), vec!["wasm... speed?"]);
        assert_eq!(
            sentences("**Decided: WASM.** Lua keeps working."),
            vec!["**Decided: WASM.**", "Lua keeps working."]
        );
        let s = sentences("Ms. Dawson, take this. Is it ready? Yes!\nnew line e.g. this");
        assert_eq!(
            s,
            vec![
                "Ms. Dawson, take this.",
                "Is it ready?",
                "Yes!",
                "new line e.g. this"
            ]
        );
    }

    #[test]
    fn shorten_cuts_on_words() {
        let long = "word ".repeat(100);
        let short = shorten(&long, 50);
        assert!(short.chars().count() <= 50);
        assert!(short.ends_with("word…"));
        let code = format!("run `{}` now", "x y ".repeat(40));
        assert_eq!(shorten(&code, 30).matches('`').count() % 2, 0);
        let sentence = format!("This first sentence is long enough to stand alone. {long}");
        assert_eq!(
            shorten(&sentence, 100),
            "This first sentence is long enough to stand alone."
        );
    }

    #[test]
    fn content_words_skip_noise() {
        let w: Vec<String> = content_words("We'll use the Redis cache, v2 and 123!").collect();
        assert_eq!(w, vec!["use", "redis", "cache", "v2"]);
    }
}
