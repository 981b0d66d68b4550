//! Text units smaller than a message for the short summaries: sentences, and the items of a list
//! (a recap, a plan) each on its own, with the owner a `Name: task` item names. Acknowledgments
//! ("agreed", "👍", "lgtm") are not units: they count for what they answer instead.

use std::collections::HashMap;

use super::detect::find_any;
use super::intern::{Docs, Interner};
use super::text;
use super::Msg;
use crate::model::MessageId;

/// One sentence or list item of a message.
pub(crate) struct Unit {
    /// Index of its message in the window.
    pub msg: usize,
    /// Position among all units (chronological).
    pub order: usize,
    /// The text: markup emphasis removed, leading filler ("ok, ", "alright, ") dropped.
    pub text: String,
    /// The author wrote it in **bold**: people bold what matters (an outcome, a date).
    pub emphasized: bool,
    /// For a `Name: task` list item naming a participant: the participant's shown name.
    pub owner: Option<String>,
    /// Ends with a question mark.
    pub question: bool,
}

/// The units of a window with their words: one copy of each distinct word, a `u32` per use.
#[derive(Default)]
pub(crate) struct Units {
    /// The units, chronological (a unit's `order` is its index).
    pub list: Vec<Unit>,
    /// Each unit's content words, lightly stemmed and de-duplicated, as sorted ids of `vocab`.
    words: Docs,
    /// The stems of all units.
    vocab: Interner,
}

impl Units {
    /// The word ids of `unit`, sorted.
    pub fn words(&self, unit: &Unit) -> &[u32] {
        self.words.get(unit.order)
    }

    /// The words of `unit` as [`stems`] gives them (sorted strings).
    pub fn stems(&self, unit: &Unit) -> Vec<String> {
        let mut words: Vec<String> = self
            .words(unit)
            .iter()
            .map(|&id| self.vocab.word(id).to_string())
            .collect();
        words.sort_unstable();
        words
    }

    /// The units' words for [`super::rank::centrality`] and the number of distinct ones.
    pub fn docs(&self) -> (&Docs, usize) {
        (&self.words, self.vocab.len())
    }
}

/// Short replies that only agree or acknowledge; compared to the whole message, lowercased and
/// trimmed of punctuation.
const ACKS: &[&str] = &[
    "+1",
    "agreed",
    "approved",
    "sounds good",
    "lgtm",
    "go",
    "go for it",
    "yes",
    "yep",
    "yeah",
    "sure",
    "ok",
    "okay",
    "done",
    "deal",
    "works for me",
    "ship it",
    "thanks",
    "thank you",
    "thx",
    "nice",
    "great",
    "cool",
    "fair",
    "looking",
    "on it",
    "will do",
    "lol",
    "same",
    "ack",
    "noted",
    "perfect",
];

/// Words that open a sentence without saying anything; dropped from the unit's text.
const FILLERS: &[&str] = &[
    "alright", "ok", "okay", "so", "well", "yeah", "agreed", "ah", "hm", "oh", "right", "fwiw",
];

/// True when a message only acknowledges or agrees: an emoji, "agreed", "👍 lgtm", "approved ✅".
pub(crate) fn is_ack(text: &str) -> bool {
    let core = text
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '+')
        .to_lowercase();
    if !core.chars().any(char::is_alphanumeric) {
        return true;
    }
    let core = core.trim_end_matches(|c: char| !c.is_alphanumeric());
    ACKS.iter().any(|a| {
        core == *a
            || core.strip_prefix(a).is_some_and(|rest| {
                rest.starts_with([',', '.', '!', ' '])
                    && word_count(rest) <= 2
                    && !rest.contains(|c: char| c.is_ascii_digit() || c == '#')
            })
    })
}

fn word_count(s: &str) -> usize {
    s.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// Lowercase content words with `s`/`es`/`ed`/`ing` suffixes removed, sorted, de-duplicated.
pub(crate) fn stems(s: &str) -> Vec<String> {
    let mut words: Vec<String> = text::content_words(s).map(|w| light_stem(&w)).collect();
    words.sort_unstable();
    words.dedup();
    words
}

fn light_stem(w: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = w.strip_suffix(suffix) {
            if stem.chars().count() >= 4 {
                return stem.to_string();
            }
        }
    }
    w.to_string()
}

/// Shared words of two sorted stem lists.
pub(crate) fn shared(left: &[String], right: &[String]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

/// The units of every human message that is not an acknowledgment.
pub(crate) fn units(msgs: &[Msg<'_>]) -> Units {
    let owners = owner_names(msgs);
    let mut out = Units::default();
    for m in msgs.iter().filter(|m| m.human && !is_ack(&m.prose)) {
        let body = text::without_code_blocks(&m.full);
        let mut lead: Vec<&str> = Vec::new();
        let mut items: Vec<&str> = Vec::new();
        for line in body.lines() {
            if let Some(item) = list_item(line) {
                let named = item
                    .split_once(':')
                    .is_some_and(|(name, _)| owners.contains_key(&name.trim().to_lowercase()));
                if named {
                    push(&mut out, m.index, item, true, &owners);
                } else {
                    items.push(item);
                }
                continue;
            }
            // A quoted draft is not the author's own statement.
            if line.trim_start().starts_with('>') {
                continue;
            }
            for sentence in text::sentences(line) {
                if items.is_empty() {
                    lead.push(sentence);
                } else {
                    push(&mut out, m.index, sentence, false, &owners);
                }
            }
        }
        // Items of an unnamed list (a plan, a status) make one point with the sentence before them.
        let introduces = lead.last().is_some_and(|s| s.trim_end().ends_with(':'));
        let list_lead = (!items.is_empty() && introduces)
            .then(|| lead.pop())
            .flatten();
        for sentence in lead {
            push(&mut out, m.index, sentence, false, &owners);
        }
        if list_lead.is_none() {
            for item in items {
                push(&mut out, m.index, item, false, &owners);
            }
        } else {
            let joined = items.join("; ");
            let whole = match list_lead {
                Some(lead) => format!("{} {joined}", lead.trim_end()),
                None => joined,
            };
            push(&mut out, m.index, &whole, false, &owners);
        }
    }
    out
}

fn push(out: &mut Units, msg: usize, raw: &str, list_item: bool, owners: &HashMap<String, String>) {
    let emphasized = raw.contains("**");
    let cleaned = raw.replace("**", "").replace('\u{2019}', "'");
    let cleaned = without_filler(cleaned.trim());
    if is_ack(cleaned) || word_count(cleaned) < 2 || is_greeting(cleaned) {
        return;
    }
    let owner = list_item
        .then(|| cleaned.split_once(':'))
        .flatten()
        .and_then(|(name, _)| owners.get(&name.trim().to_lowercase()).cloned());
    let text = text::one_line(cleaned);
    // Interned unit by unit, each unit's words in sorted order: the ids, and with them the order
    // in which centrality adds up its floats, depend only on the units.
    let vocab = &mut out.vocab;
    out.words.push(
        stems(&text::without_urls(&text))
            .iter()
            .map(|w| vocab.id(w)),
    );
    out.list.push(Unit {
        msg,
        order: out.list.len(),
        emphasized,
        owner,
        question: text.ends_with('?'),
        text,
    });
}

/// A greeting with little else: "good morning all ☀️ Release week!".
fn is_greeting(s: &str) -> bool {
    const GREETINGS: &[&str] = &[
        "good morning",
        "morning",
        "hi",
        "hello",
        "hey",
        "good night",
        "gn",
        "welcome",
    ];
    let lower = s.to_lowercase();
    find_any(&lower, GREETINGS).is_some_and(|(pos, _)| pos == 0)
        && text::content_words(&lower).count() <= 5
}

/// The item of a `- item`, `• item`, `* item` or `1. item` line.
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for bullet in ["- ", "• ", "* ", "– "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return Some(rest);
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && digits <= 2)
        .then(|| {
            t[digits..]
                .strip_prefix(". ")
                .or(t[digits..].strip_prefix(") "))
        })
        .flatten()
}

/// The sentence without leading filler words ("alright, decided: ..." → "decided: ...").
fn without_filler(s: &str) -> &str {
    let mut rest = s;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some((_, filler)) = find_any(&lower, FILLERS).filter(|(pos, _)| *pos == 0) else {
            return rest;
        };
        let after = &rest[filler.len()..];
        if !after.starts_with([',', '.', '!', ' ']) {
            return rest;
        }
        let trimmed = after.trim_start_matches([',', '.', '!', ' ']);
        if word_count(trimmed) < 2 {
            return rest;
        }
        rest = trimmed;
    }
}

/// Participants by every name a list item may call them: the shown name, its first word and its
/// letters before a digit or parenthesis ("Ada R." → "ada", "jonasb" → "jonas" is not guessed).
fn owner_names(msgs: &[Msg<'_>]) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for m in msgs.iter().filter(|m| m.human) {
        let shown = m.author.to_string();
        let lower = shown.to_lowercase();
        let first = lower
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_string();
        for key in [lower.clone(), first, m.raw.author.name.to_lowercase()] {
            if !key.is_empty() {
                names.entry(key).or_insert_with(|| shown.clone());
            }
        }
    }
    names
}

/// The message each acknowledgment answers: its reply target, or else the nearest earlier
/// message by someone else among the three before it (within 15 minutes). Counted per target.
pub(crate) fn acknowledgments(msgs: &[Msg<'_>]) -> HashMap<MessageId, u32> {
    let index: HashMap<MessageId, usize> = msgs.iter().map(|m| (m.raw.id, m.index)).collect();
    let mut counts = HashMap::new();
    for (k, m) in msgs.iter().enumerate() {
        if !m.human || !is_ack(&m.prose) {
            continue;
        }
        let target = m
            .raw
            .reply_to
            .and_then(|id| index.get(&id).copied())
            .or_else(|| {
                msgs[k.saturating_sub(3)..k]
                    .iter()
                    .rev()
                    .find(|p| {
                        p.human
                            && !is_ack(&p.prose)
                            && p.raw.author.id != m.raw.author.id
                            && m.raw.timestamp.millis() - p.raw.timestamp.millis() <= 15 * 60_000
                    })
                    .map(|p| p.index)
            });
        if let Some(t) = target.filter(|&t| msgs[t].raw.author.id != m.raw.author.id) {
            *counts.entry(msgs[t].raw.id).or_insert(0) += 1;
        }
    }
    counts
}

/// True when the unit (`lower`: its text in ASCII lowercase) looks like a settled outcome or
/// decision.
pub(crate) fn is_outcome(unit: &Unit, lower: &str) -> bool {
    const OUTCOMES: &[&str] = &[
        "decided",
        "decision",
        "we'll go with",
        "let's go with",
        "going with",
        "settled on",
        "final call",
        "is out",
        "in effect",
        "released",
        "is live",
        "shipped",
        "we'll use",
        "let's say",
    ];
    !unit.question && (unit.emphasized || find_any(lower, OUTCOMES).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgments_are_recognized() {
        for ack in [
            "agreed.",
            "👍",
            "LGTM!",
            "approved ✅",
            "go",
            "+1",
            "ok thanks",
            "🚀",
        ] {
            assert!(is_ack(ack), "{ack}");
        }
        for not in [
            "agreed. decision: no lazy-loading in 0.9.0",
            "approved #420, merging",
            "go with wasm for the rules runtime",
        ] {
            assert!(!is_ack(not), "{not}");
        }
    }

    #[test]
    fn fillers_and_list_items() {
        assert_eq!(
            without_filler("alright, decided: we go with WASM"),
            "decided: we go with WASM"
        );
        assert_eq!(without_filler("ok"), "ok");
        assert_eq!(list_item("- Q: RFC feedback"), Some("Q: RFC feedback"));
        assert_eq!(list_item("2. rc2: Wednesday"), Some("rc2: Wednesday"));
        assert_eq!(list_item("2026. was a year"), None);
        assert_eq!(
            shared(&stems("supported pi boards"), &stems("support the Pi")),
            2
        );
    }
}
