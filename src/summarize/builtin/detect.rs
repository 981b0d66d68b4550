//! Detectors of the builtin summarizer: scored candidate points for key points, decisions,
//! action items and open questions, and the marker matching shared with `code` and `links`.

use std::collections::{HashMap, HashSet};

use super::phrases::{fill, Phrases};
use super::text::{self, POINT_CHARS};
use super::units::is_ack;
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
        Self::with_words(score, order, text, citations, words)
    }

    /// A candidate point with the given words (distinct, sorted).
    pub fn with_words(
        score: f32,
        order: usize,
        text: String,
        citations: Vec<MessageId>,
        words: Vec<String>,
    ) -> Self {
        Self {
            score,
            order,
            text,
            citations,
            words,
        }
    }

    /// An attributed point `**Author**: body` (trimmed) citing message `m`.
    pub fn from_msg(m: &Msg<'_>, bonus: f32, body: &str) -> Self {
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

/// Byte offset of the first occurrence of `marker` in `lower` that starts on a word boundary.
pub(super) fn find_marker(lower: &str, marker: &str) -> Option<usize> {
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
pub(super) fn find_any<'m>(lower: &str, markers: &[&'m str]) -> Option<(usize, &'m str)> {
    markers
        .iter()
        .filter_map(|m| find_marker(lower, m).map(|pos| (pos, *m)))
        .min()
}

/// The sentences of a message's prose, with their ASCII-lowercase forms.
pub(super) fn sentences_of<'a>(m: &'a Msg<'_>) -> impl Iterator<Item = (&'a str, String)> {
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
        .filter(|m| m.human && m.words >= 3 && !skip.contains(&m.raw.id))
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    ranked
        .into_iter()
        .take(pool)
        .map(|m| Candidate::from_msg(m, 0.0, &m.prose))
        .collect()
}

/// Statements of a decision, and proposals that someone else agreed to in a reply.
pub(crate) fn decisions(msgs: &[Msg<'_>], ph: &Phrases) -> Vec<Candidate> {
    let by_id: HashMap<MessageId, &Msg<'_>> = msgs.iter().map(|m| (m.raw.id, m)).collect();
    let mut out = Vec::new();
    for m in msgs.iter().filter(|m| m.human) {
        if let Some(parent) = agreed_parent(m, &by_id) {
            let proposal = format!(
                "**{}**: {}",
                parent.author,
                text::shorten(&parent.prose, POINT_CHARS)
            );
            let text = fill(ph.agreed_by, &[("text", &proposal), ("who", m.author)]);
            let citations = vec![parent.raw.id, m.raw.id];
            out.push(Candidate::new(
                parent.score + 1.0,
                parent.index,
                text,
                citations,
            ));
            continue;
        }
        // "agreed." or "otherwise approved" alone says nothing about what was decided.
        let stated = sentences_of(m).find(|(s, lower)| {
            !s.ends_with('?')
                && find_any(lower, DECISION_MARKERS).is_some()
                && !is_ack(s)
                && (content_count(s) > 2 || super::code::substance(s).is_some())
        });
        if let Some((sentence, _)) = stated {
            out.push(Candidate::from_msg(m, 1.0, sentence));
        }
    }
    out
}

fn content_count(s: &str) -> usize {
    text::content_words(s).count()
}

/// The message `m` agrees to, when `m` is only an agreement ("agreed", "+1") replying to it.
fn agreed_parent<'m, 'a>(
    m: &Msg<'a>,
    by_id: &HashMap<MessageId, &'m Msg<'a>>,
) -> Option<&'m Msg<'a>> {
    if m.words > 4 {
        return None;
    }
    let lower = m.lower();
    let reply = lower.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '\'');
    if !AGREEMENTS.iter().any(|a| reply.starts_with(a)) {
        return None;
    }
    let parent = by_id.get(&m.raw.reply_to?)?;
    let proposal = find_any(&parent.lower(), PROPOSALS).is_some();
    (proposal && parent.human && parent.raw.author.id != m.raw.author.id).then_some(*parent)
}

/// Who will do what: "I'll ...", "@name can you ...", "TODO ...", "assigned to ...".
pub(crate) fn action_items(msgs: &[Msg<'_>], ph: &Phrases) -> Vec<Candidate> {
    let by_id: HashMap<MessageId, &Msg<'_>> = msgs.iter().map(|m| (m.raw.id, m)).collect();
    let mut out = Vec::new();
    for m in msgs.iter().filter(|m| m.human) {
        for (sentence, lower) in sentences_of(m) {
            if let Some(text) = action_text(m, sentence, &lower, &by_id, true, ph) {
                out.push(Candidate::new(m.score + 1.0, m.index, text, vec![m.raw.id]));
                break;
            }
        }
    }
    out
}

/// The action item a sentence of `m` states, naming who asked when `asker` is set.
pub(crate) fn action_text(
    m: &Msg<'_>,
    sentence: &str,
    lower: &str,
    by_id: &HashMap<MessageId, &Msg<'_>>,
    asker: bool,
    ph: &Phrases,
) -> Option<String> {
    let short = |s: &str| text::shorten(s.trim(), POINT_CHARS);
    if let Some((pos, marker)) = find_any(lower, SELF_ACTIONS) {
        let task = sentence[pos + marker.len()..].trim();
        if !sentence.ends_with('?') && task.split_whitespace().count() >= 2 {
            return Some(fill(
                ph.will,
                &[("owner", m.author), ("task", &short(task))],
            ));
        }
    }
    if let Some((pos, marker)) = find_any(lower, REQUESTS) {
        let task = sentence[pos + marker.len()..].trim_end_matches('?');
        let owner = mentioned(sentence).or_else(|| {
            let parent = by_id.get(&m.raw.reply_to?)?;
            (parent.raw.author.id != m.raw.author.id).then(|| parent.author.to_string())
        });
        if let Some(owner) = owner.filter(|_| task.split_whitespace().count() >= 2) {
            let template = if asker { ph.asked_to } else { ph.to_do };
            return Some(fill(
                template,
                &[
                    ("owner", &owner),
                    ("task", &short(task)),
                    ("asker", m.author),
                ],
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
