//! Focus on a topic (`/summarize topic:`, `--topic`, a webhook's `topic`): keep the messages
//! that mention one of its words, and their reply chains (what they answer and the replies to
//! them), before summarizing. Words match case-insensitively with a simple stem and prefix
//! tolerance: `release` finds "Released", "releasing" and "releases"; `bench` finds "benchmark".

use std::collections::{HashMap, HashSet};

use crate::model::{ChatMessage, MessageId};

/// Longest topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 100;
/// Most words in a topic.
pub const MAX_TOPIC_WORDS: usize = 10;
/// Shortest stem matched as a prefix; shorter words must match exactly (`pi`, `ui`).
const MIN_PREFIX_CHARS: usize = 3;
/// Suffixes dropped from a topic word before prefix matching, longest first.
const SUFFIXES: [&str; 9] = ["ions", "ing", "ers", "ion", "ed", "es", "er", "ly", "s"];

/// A validated topic: its text as the user wrote it and the words it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    text: String,
    words: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Word {
    /// Lower-cased as written.
    exact: String,
    /// What a message word must start with (None: exact matches only).
    stem: Option<String>,
    /// A word of a script written without spaces (CJK): matched anywhere in the text.
    anywhere: bool,
}

impl Topic {
    /// Check a topic as typed: 1 to [`MAX_TOPIC_WORDS`] words, at most [`MAX_TOPIC_CHARS`]
    /// characters. The error says what to write instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = crate::text::one_line(text).trim().to_owned();
        let chars = text.chars().count();
        if chars > MAX_TOPIC_CHARS {
            return Err(format!(
                "the topic is {chars} characters long; use at most {MAX_TOPIC_CHARS} \
                 (a few words, e.g. \"release date\")"
            ));
        }
        let mut words: Vec<Word> = Vec::new();
        for w in split_words(&text) {
            if !words.iter().any(|x| x.exact == w) {
                words.push(Word::new(w));
            }
        }
        if words.is_empty() {
            return Err(
                "the topic has no words; give one or more, e.g. \"release\" or \"lua wasm\""
                    .to_owned(),
            );
        }
        if words.len() > MAX_TOPIC_WORDS {
            return Err(format!(
                "the topic has {} words; use at most {MAX_TOPIC_WORDS}",
                words.len()
            ));
        }
        Ok(Self { text, words })
    }

    /// The topic as the user wrote it (one line, trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when `content` mentions one of the topic's words.
    pub fn matches(&self, content: &str) -> bool {
        let lower = content.to_lowercase();
        self.words.iter().any(|t| {
            (t.anywhere && lower.contains(&t.exact))
                || split_words(&lower).any(|w| t.matches_word(&w))
        })
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Word {
    fn new(exact: String) -> Self {
        let anywhere = exact.chars().any(is_unspaced_script);
        let mut stem = exact.as_str();
        if let Some(cut) = SUFFIXES
            .iter()
            .find_map(|s| stem.strip_suffix(s))
            .filter(|rest| rest.chars().count() >= MIN_PREFIX_CHARS)
        {
            stem = cut;
        }
        // "release" and "releasing" share "releas".
        if let Some(cut) = stem
            .strip_suffix('e')
            .filter(|rest| rest.chars().count() >= MIN_PREFIX_CHARS)
        {
            stem = cut;
        }
        let stem = (stem.chars().count() >= MIN_PREFIX_CHARS).then(|| stem.to_owned());
        Self {
            exact,
            stem,
            anywhere,
        }
    }

    fn matches_word(&self, word: &str) -> bool {
        word == self.exact || self.stem.as_deref().is_some_and(|s| word.starts_with(s))
    }
}

/// Lower-cased runs of letters and digits.
fn split_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Scripts written without spaces between words (CJK ideographs, kana, Hangul syllables).
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}

/// The messages of `messages` (oldest first) about `topic`, with the messages they reply to
/// (up their chain) and the replies to them (down every chain), in their original order.
pub fn select(messages: &[ChatMessage], topic: &Topic) -> Vec<ChatMessage> {
    let index: HashMap<MessageId, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    let matched: Vec<bool> = messages.iter().map(|m| topic.matches(&m.content)).collect();
    let mut keep = matched.clone();
    // Replies come after what they answer: one pass oldest-first follows every chain down.
    let mut down: HashSet<MessageId> = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        if matched[i] || m.reply_to.is_some_and(|r| down.contains(&r)) {
            down.insert(m.id);
            keep[i] = true;
        }
    }
    // Up each chain from a matched message to its root (bounded: a cycle cannot loop).
    for (i, m) in messages.iter().enumerate().filter(|(i, _)| matched[*i]) {
        let mut parent = m.reply_to;
        let mut steps = 0;
        while let Some(&j) = parent.and_then(|p| index.get(&p)) {
            if j == i || steps > messages.len() {
                break;
            }
            keep[j] = true;
            parent = messages[j].reply_to;
            steps += 1;
        }
    }
    messages
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(m, _)| m.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Author, ChannelId, MessageKind, Timestamp, UserId};

    fn msg(id: u64, content: &str, reply_to: Option<u64>) -> ChatMessage {
        ChatMessage {
            id: MessageId(id),
            channel_id: ChannelId(1),
            guild_id: None,
            author: Author {
                id: UserId(9),
                name: "kim".into(),
                display_name: None,
                is_bot: false,
            },
            timestamp: Timestamp(i64::try_from(id).expect("small id") * 1000),
            edited_at: None,
            kind: MessageKind::Default,
            content: content.into(),
            reply_to: reply_to.map(MessageId),
            attachments: Vec::new(),
            reaction_count: 0,
            pinned: false,
        }
    }

    fn topic(text: &str) -> Topic {
        Topic::parse(text).expect(text)
    }

    #[test]
    fn words_match_case_insensitively_with_stems_and_prefixes() {
        let t = topic("  Release ");
        assert_eq!(t.as_str(), "Release");
        for yes in [
            "the RELEASE is out",
            "we released it",
            "releasing Friday",
            "two releases",
            "release-notes are done",
        ] {
            assert!(t.matches(yes), "{yes}");
        }
        for no in ["relay is down", "a lease", "", "rel"] {
            assert!(!t.matches(no), "{no}");
        }
        assert!(topic("bench").matches("benchmark numbers"));
        assert!(topic("benchmarks").matches("the benchmark"));
        assert!(topic("merged").matches("I merge it now"));
        assert!(
            topic("lua wasm").matches("WASM plugins"),
            "any word of the topic"
        );
        assert!(topic("pi").matches("on the Pi 3"));
        assert!(
            !topic("pi").matches("pinned pipeline"),
            "short words match exactly"
        );
        assert!(topic("日本").matches("来週日本に行きます"));
    }

    #[test]
    fn bad_topics_say_what_to_write() {
        let empty = Topic::parse("  ?! ").expect_err("no words");
        assert!(empty.contains("give one or more"), "{empty}");
        let long = Topic::parse(&"a".repeat(101)).expect_err("too long");
        assert!(long.contains("at most 100"), "{long}");
        let many = Topic::parse("a b c d e f g h i j k").expect_err("too many words");
        assert!(many.contains("at most 10"), "{many}");
    }

    #[test]
    fn reply_chains_come_along_in_order() {
        let messages = vec![
            msg(1, "what do we do about plugins?", None),
            msg(2, "Lua is simpler", Some(1)),
            msg(3, "unrelated: lunch?", None),
            msg(4, "I'd pick WASM for sandboxing", Some(2)),
            msg(5, "agreed", Some(4)),
            msg(6, "+1", Some(5)),
            msg(7, "sure, pizza", Some(3)),
            msg(8, "reply to something outside the window", Some(99)),
        ];
        let kept: Vec<u64> = select(&messages, &topic("wasm"))
            .iter()
            .map(|m| m.id.0)
            .collect();
        assert_eq!(kept, [1, 2, 4, 5, 6], "ancestors, the match, its replies");
        assert!(select(&messages, &topic("zigbee")).is_empty());
        // A reply cycle (ids edited by hand in an export) does not loop.
        let cycle = vec![msg(1, "wasm", Some(2)), msg(2, "x", Some(1))];
        assert_eq!(select(&cycle, &topic("wasm")).len(), 2);
    }
}
