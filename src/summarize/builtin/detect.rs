//! Detectors of the builtin summarizer: each turns the window's messages into scored candidate
//! points for one section (key points, decisions, action items, open questions, technical
//! details, code changes, links).

use std::collections::{HashMap, HashSet};

use super::text::{self, POINT_CHARS};
use super::Msg;
use crate::model::MessageId;

/// A possible point: its text, where it comes from and how good it is.
pub(crate) struct Candidate {
    /// Higher is better.
    pub score: f32,
    /// Position of the (first) source message, for chronological display.
    pub order: usize,
    /// The point text (Markdown inline).
    pub text: String,
    /// Source messages.
    pub citations: Vec<MessageId>,
    /// Distinct content words of `text`, sorted, for near-duplicate checks.
    pub words: Vec<String>,
}

impl Candidate {
    /// A candidate point; its words are computed from the text.
    pub fn new(score: f32, order: usize, text: String, citations: Vec<MessageId>) -> Self {
        let mut words: Vec<String> = text::content_words(&text).collect();
        words.sort_unstable();
        words.dedup();
        Self {
            score,
            order,
            text,
            citations,
            words,
        }
    }

    fn from_msg(m: &Msg<'_>, bonus: f32, body: &str) -> Self {
        let text = format!("**{}**: {}", m.author, text::shorten(body, POINT_CHARS));
        Self::new(m.score + bonus, m.index, text, vec![m.raw.id])
    }
}

const DECISION_MARKERS: &[&str] = &[
    "we decided",
    "we've decided",
    "we have decided",
    "decided to",
    "decided on",
    "decision:",
    "decision is",
    "let's go with",
    "lets go with",
    "we'll go with",
    "we're going with",
    "going with",
    "we'll use",
    "we will use",
    "let's use",
    "agreed",
    "settled on",
    "consensus",
    "approved",
    "final call",
];

const AGREEMENTS: &[&str] = &[
    "agreed",
    "+1",
    "sounds good",
    "lgtm",
    "let's do it",
    "lets do it",
    "let's do that",
    "deal",
    "works for me",
    "ship it",
    "yes",
    "yep",
];

/// Phrases that make a message a proposal someone can agree to.
const PROPOSALS: &[&str] = &[
    "should we",
    "shall we",
    "let's",
    "lets ",
    "how about",
    "what about",
    "i propose",
    "proposal",
    "i suggest",
    "we could",
    "we should",
    "why don't we",
    "can we",
    "could we",
    "i'd go with",
];

const SELF_ACTIONS: &[&str] = &[
    "i'll ",
    "i will ",
    "i'm going to ",
    "i am going to ",
    "i can take ",
];

const REQUESTS: &[&str] = &["can you ", "could you ", "would you ", "please "];

const TASK_MARKERS: &[&str] = &["todo", "to-do", "action item", "assigned to", "will handle"];

/// Messages cited per link (the first shares).
const LINK_CITATIONS: usize = 5;
/// People named per link before "+N".
const LINK_SHARERS: usize = 3;

const CHANGE_MARKERS: &[&str] = &[
    "pull request",
    "pr #",
    "pr#",
    "merged",
    "merge ",
    "commit",
    "branch",
    "released",
    "release v",
    "new release",
    "releasing",
    "tagged",
    "deployed",
    "/pull/",
    "/commit/",
    "rebased",
    "cherry-pick",
    "pushed",
];

const ERROR_MARKERS: &[&str] = &[
    "traceback (most recent call last)",
    "panicked at",
    "exception",
    "error:",
    "error[e",
    "stack trace",
    "segfault",
    "fatal:",
];

const COMMANDS: &[&str] = &[
    "$ ",
    "apt ",
    "cargo ",
    "curl ",
    "docker ",
    "git ",
    "go ",
    "kubectl ",
    "make ",
    "npm ",
    "pip ",
    "pnpm ",
    "python ",
    "rustup ",
    "sudo ",
    "systemctl ",
    "yarn ",
];

const FILE_EXTENSIONS: &[&str] = &[
    "c", "cfg", "cpp", "css", "go", "h", "html", "ini", "java", "js", "json", "kt", "lock", "md",
    "py", "rb", "rs", "sh", "sql", "toml", "ts", "tsx", "yaml", "yml",
];

/// Byte offset of the first occurrence of `marker` in `lower` that starts on a word boundary.
fn find_marker(lower: &str, marker: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = lower[from..].find(marker).map(|p| p + from) {
        let boundary = lower[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '\'');
        if boundary {
            return Some(pos);
        }
        from = pos + marker.len();
    }
    None
}

/// The first marker found in `lower` and its offset.
fn find_any<'m>(lower: &str, markers: &[&'m str]) -> Option<(usize, &'m str)> {
    markers
        .iter()
        .filter_map(|m| find_marker(lower, m).map(|pos| (pos, *m)))
        .min()
}

/// The sentences of a message's prose, with their ASCII-lowercase forms.
fn sentences_of<'a>(m: &'a Msg<'_>) -> impl Iterator<Item = (&'a str, String)> {
    text::sentences(&m.prose)
        .into_iter()
        .map(|s| (s, s.to_ascii_lowercase()))
}

/// The most central messages of the window, as attributed, trimmed points.
/// Messages in `skip` are left out; at most `pool` candidates are made.
pub(crate) fn key_points(
    msgs: &[Msg<'_>],
    pool: usize,
    skip: &HashSet<MessageId>,
) -> Vec<Candidate> {
    let mut ranked: Vec<&Msg<'_>> = msgs
        .iter()
        .filter(|m| m.human && m.words.len() >= 3 && !skip.contains(&m.raw.id))
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    ranked
        .into_iter()
        .take(pool)
        .map(|m| Candidate::from_msg(m, 0.0, &m.prose))
        .collect()
}

/// Statements of a decision, and proposals that someone else agreed to in a reply.
pub(crate) fn decisions(msgs: &[Msg<'_>]) -> Vec<Candidate> {
    let by_id: HashMap<MessageId, &Msg<'_>> = msgs.iter().map(|m| (m.raw.id, m)).collect();
    let mut out = Vec::new();
    for m in msgs.iter().filter(|m| m.human) {
        if let Some(parent) = agreed_parent(m, &by_id) {
            let text = format!(
                "**{}**: {} (agreed by **{}**)",
                parent.author,
                text::shorten(&parent.prose, POINT_CHARS),
                m.author
            );
            let citations = vec![parent.raw.id, m.raw.id];
            out.push(Candidate::new(
                parent.score + 1.0,
                parent.index,
                text,
                citations,
            ));
            continue;
        }
        let stated = sentences_of(m)
            .find(|(s, lower)| !s.ends_with('?') && find_any(lower, DECISION_MARKERS).is_some());
        if let Some((sentence, _)) = stated {
            out.push(Candidate::from_msg(m, 1.0, sentence));
        }
    }
    out
}

/// The message `m` agrees to, when `m` is only an agreement ("agreed", "+1") replying to it.
fn agreed_parent<'m, 'a>(
    m: &Msg<'a>,
    by_id: &HashMap<MessageId, &'m Msg<'a>>,
) -> Option<&'m Msg<'a>> {
    let reply = m
        .lower
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '\'');
    if !AGREEMENTS.iter().any(|a| reply.starts_with(a)) || m.words.len() > 4 {
        return None;
    }
    let parent = by_id.get(&m.raw.reply_to?)?;
    let proposal = find_any(&parent.lower, PROPOSALS).is_some();
    (proposal && parent.human && parent.raw.author.id != m.raw.author.id).then_some(*parent)
}

/// Who will do what: "I'll ...", "@name can you ...", "TODO ...", "assigned to ...".
pub(crate) fn action_items(msgs: &[Msg<'_>]) -> Vec<Candidate> {
    let by_id: HashMap<MessageId, &Msg<'_>> = msgs.iter().map(|m| (m.raw.id, m)).collect();
    let mut out = Vec::new();
    for m in msgs.iter().filter(|m| m.human) {
        for (sentence, lower) in sentences_of(m) {
            if let Some(text) = action_text(m, sentence, &lower, &by_id) {
                out.push(Candidate::new(m.score + 1.0, m.index, text, vec![m.raw.id]));
                break;
            }
        }
    }
    out
}

fn action_text(
    m: &Msg<'_>,
    sentence: &str,
    lower: &str,
    by_id: &HashMap<MessageId, &Msg<'_>>,
) -> Option<String> {
    let short = |s: &str| text::shorten(s.trim(), POINT_CHARS);
    if let Some((pos, marker)) = find_any(lower, SELF_ACTIONS) {
        let task = sentence[pos + marker.len()..].trim();
        if !sentence.ends_with('?') && task.split_whitespace().count() >= 2 {
            return Some(format!("**{}** will {}", m.author, short(task)));
        }
    }
    if let Some((pos, marker)) = find_any(lower, REQUESTS) {
        let task = sentence[pos + marker.len()..].trim_end_matches('?');
        let owner = mentioned(sentence).or_else(|| {
            let parent = by_id.get(&m.raw.reply_to?)?;
            (parent.raw.author.id != m.raw.author.id).then(|| parent.author.to_string())
        });
        if let Some(owner) = owner.filter(|_| task.split_whitespace().count() >= 2) {
            return Some(format!(
                "**{owner}** to {} (asked by **{}**)",
                short(task),
                m.author
            ));
        }
    }
    if let Some((pos, _)) = find_any(lower, TASK_MARKERS) {
        let owner = assignee(&sentence[pos..]).unwrap_or_else(|| m.author.to_string());
        return Some(format!("**{owner}**: {}", short(sentence)));
    }
    None
}

/// The first `@name` mentioned in a sentence (as cleaned: `@Alex`), without the `@`.
fn mentioned(sentence: &str) -> Option<String> {
    let at = sentence.find('@')?;
    let name: String = sentence[at + 1..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    let name = name.trim_end_matches('.').to_string();
    (!name.is_empty() && name != "user" && name != "role").then_some(name)
}

/// The person after "assigned to", as `@name` or a bare name.
fn assignee(from_marker: &str) -> Option<String> {
    mentioned(from_marker).or_else(|| {
        let lower = from_marker.to_ascii_lowercase();
        let rest = from_marker[find_marker(&lower, "assigned to")? + "assigned to".len()..].trim();
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
        (!name.is_empty() && !text::is_stopword(&name.to_lowercase())).then_some(name)
    })
}

/// Questions nobody answered: no reply, and the next message is not another person's answer.
pub(crate) fn open_questions(msgs: &[Msg<'_>]) -> Vec<Candidate> {
    let humans: Vec<&Msg<'_>> = msgs.iter().filter(|m| m.human).collect();
    let mut out = Vec::new();
    for (k, m) in humans.iter().enumerate() {
        let question = sentences_of(m)
            .map(|(s, _)| s)
            .filter(|s| s.ends_with('?') && s.split_whitespace().count() >= 4)
            .last();
        let Some(question) = question else { continue };
        if m.replies > 0 || answered_next(m, humans.get(k + 1).copied()) {
            continue;
        }
        out.push(Candidate::from_msg(m, 0.0, question));
    }
    out
}

/// True when `next` looks like a direct answer to `m`: another person, within 15 minutes,
/// not itself a question and not a reply to something else.
fn answered_next(m: &Msg<'_>, next: Option<&Msg<'_>>) -> bool {
    next.is_some_and(|n| {
        n.raw.author.id != m.raw.author.id
            && n.raw.timestamp.millis() - m.raw.timestamp.millis() <= 15 * 60 * 1000
            && !n.prose.trim_end().ends_with('?')
            && n.raw.reply_to.is_none_or(|r| r == m.raw.id)
    })
}

/// Code blocks, errors, commands, file paths and versions.
pub(crate) fn technical(msgs: &[Msg<'_>]) -> Vec<Candidate> {
    msgs.iter()
        .filter(|m| m.human)
        .filter_map(|m| {
            technical_point(m).map(|(bonus, text)| {
                let text = format!("**{}** {}", m.author, text);
                Candidate::new(m.score + bonus, m.index, text, vec![m.raw.id])
            })
        })
        .collect()
}

/// What the message contributes technically, phrased after the author's name, with a bonus.
fn technical_point(m: &Msg<'_>) -> Option<(f32, String)> {
    let code = |s: &str| format!("`{}`", text::shorten(&s.replace('`', "'"), 100));
    if let Some(line) = error_line(&m.full) {
        return Some((1.0, format!("reported an error: {}", code(line))));
    }
    if let Some((lang, first)) = code_block(&m.full) {
        let what = if lang.is_empty() {
            "a snippet".to_string()
        } else {
            format!("a {lang} snippet")
        };
        let context = if m.words.len() >= 3 {
            format!(" ({})", text::shorten(&m.prose, 120))
        } else {
            String::new()
        };
        return Some((0.8, format!("shared {what}{context}: {}", code(first))));
    }
    if let Some(cmd) = command(&m.full) {
        return Some((0.6, format!("ran/suggested {}", code(cmd))));
    }
    let has_tech = m.prose.contains('`') || m.prose.split_whitespace().any(is_path_or_version);
    has_tech.then(|| {
        (
            0.4,
            format!("noted: {}", text::shorten(&m.prose, POINT_CHARS)),
        )
    })
}

/// The first line that looks like an error or stack trace.
fn error_line(full: &str) -> Option<&str> {
    full.lines()
        .map(|l| l.trim().trim_matches('`'))
        .find(|l| find_any(&l.to_ascii_lowercase(), ERROR_MARKERS).is_some())
        .filter(|l| !l.is_empty())
}

/// The language tag and first non-empty line of the first fenced code block.
fn code_block(full: &str) -> Option<(&str, &str)> {
    let body = full.split("```").nth(1)?;
    let (tag, rest) = body.split_once('\n').unwrap_or(("", body));
    let tag = tag.trim();
    let is_tag = !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '+');
    let (lang, code) = if is_tag { (tag, rest) } else { ("", body) };
    let first = code.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some((lang, first))
}

/// A shell command: a line or inline code span starting with `$ ` or a known tool.
fn command(full: &str) -> Option<&str> {
    let inline = full.split('`').skip(1).step_by(2);
    let lines = full.lines();
    inline.chain(lines).map(str::trim).find(|s| {
        let lower = s.to_ascii_lowercase();
        COMMANDS.iter().any(|c| lower.starts_with(c)) && s.split_whitespace().count() >= 2
    })
}

/// `src/main.rs`, `config.toml`, `v1.2.3`, `2.0.1`.
fn is_path_or_version(word: &str) -> bool {
    let word = word
        .trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '"' | '\'' | '!' | '?'));
    let word = word.strip_suffix('.').unwrap_or(word);
    if word.contains("://") {
        return false;
    }
    let version = word.strip_prefix('v').unwrap_or(word);
    let parts: Vec<&str> = version.split('.').collect();
    let is_version = parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let is_file = word.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    });
    let is_path = word.matches('/').count() >= 2 && word.chars().all(|c| !c.is_whitespace());
    is_version || is_file || is_path
}

/// Pull requests, commits, merges, branches and releases (CI bot messages included).
pub(crate) fn code_changes(msgs: &[Msg<'_>]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for m in msgs
        .iter()
        .filter(|m| m.human || (m.raw.author.is_bot && !m.raw.kind.is_system()))
    {
        let found = sentences_of(m).find(|(_, lower)| find_any(lower, CHANGE_MARKERS).is_some());
        if let Some((sentence, _)) = found {
            let bot_bonus = if m.human { 0.5 } else { 0.3 };
            out.push(Candidate::from_msg(m, bot_bonus, sentence));
        }
    }
    out
}

/// Every distinct URL, labelled with its Markdown label or the text around it, citing each share.
pub(crate) fn links(msgs: &[Msg<'_>]) -> Vec<Candidate> {
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
            let text = format!("{label} — {} (shared by {sharers}{more})", s.url);
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
    fn markers_need_word_boundaries() {
        assert_eq!(find_marker("we disagreed", "agreed"), None);
        assert_eq!(find_marker("ok agreed", "agreed"), Some(3));
        assert_eq!(find_marker("we'll use redis", "we'll use"), Some(0));
    }

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

    #[test]
    fn tech_words() {
        assert!(is_path_or_version("src/main.rs"));
        assert!(is_path_or_version("v1.2.3,"));
        assert!(is_path_or_version("Cargo.toml."));
        assert!(!is_path_or_version("e.g."));
        assert!(!is_path_or_version("https://a.io/x/y"));
        assert!(!is_path_or_version("and/or"));
    }

    #[test]
    fn code_blocks_and_commands() {
        assert_eq!(
            code_block("look:\n```rust\nfn main() {}\n```"),
            Some(("rust", "fn main() {}"))
        );
        assert_eq!(code_block("```let x = 1;```"), Some(("", "let x = 1;")));
        assert_eq!(
            command("try `cargo build --release` now"),
            Some("cargo build --release")
        );
        assert_eq!(command("the git history"), None);
        assert_eq!(
            error_line("it fails\nthread 'main' panicked at src/x.rs:3"),
            Some("thread 'main' panicked at src/x.rs:3")
        );
    }

    #[test]
    fn mentions_and_assignees() {
        assert_eq!(
            mentioned("@Sam can you review it?"),
            Some("Sam".to_string())
        );
        assert_eq!(mentioned("ping @user"), None);
        assert_eq!(assignee("assigned to Priya."), Some("Priya".to_string()));
        assert_eq!(assignee("assigned to the team"), None);
    }
}
