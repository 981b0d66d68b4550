//! Attribution checks of an LLM summary: the people a bullet names as its actors must be
//! authors of the messages it cites, or mentioned in them.
//!
//! The rule. A bullet's *actors* are the names it opens with:
//! - a bold lead, `**Alex**`, `**Alex and Bo:**` (each name a window participant's shown name
//!   or username, or — for names the model made up — words that look like a name: one to three
//!   capitalized words without digits; a bold lead that is a section label such as
//!   `**Decision:**` is not a name);
//! - a `Name:` lead whose names are all participants of the window;
//! - participant names opening the sentence, joined by commas or "and" in any supported
//!   language (`Alex and Bo agreed …`, `Alex's PR …`).
//!
//! Each actor must be backed by a cited message: a participant is its author, or is mentioned
//! in it (`<@id>` or one of their names as a word); a name that is not a participant appears in
//! a cited message. When an actor is not backed, the bullet's lead is replaced by the authors of
//! its cited messages ("Alex and Mara"), or the bullet is dropped when it cites nothing. Either
//! is logged with the section and the bullet's position, never its text. Names later in the
//! sentence (objects, "thanks to …") are not checked.

use std::collections::HashMap;
use std::ops::Range;

use crate::model::{ChatMessage, MessageId, Point, Section, UserId};
use crate::summarize::lang::{Lang, Strings};

/// Apply the attribution rule to every bullet of `sections` (see the module docs).
/// `messages` are those the model was shown (their ids are what the points cite).
pub fn enforce(sections: Vec<Section>, messages: &[ChatMessage], lang: Lang) -> Vec<Section> {
    let people = People::new(messages);
    let by_id: HashMap<MessageId, &ChatMessage> = messages.iter().map(|m| (m.id, m)).collect();
    let words = lang.strings();
    sections
        .into_iter()
        .filter_map(|mut section| {
            let kind = section.kind;
            let mut kept = Vec::with_capacity(section.points.len());
            for (index, point) in section.points.into_iter().enumerate() {
                match check(point, &people, &by_id, words) {
                    Verdict::Backed(point) => kept.push(point),
                    Verdict::Replaced(point) => {
                        tracing::warn!(
                            section = ?kind,
                            bullet = index + 1,
                            "a summary bullet credited someone who is neither author of nor \
                             mentioned in its cited messages; credited the cited authors instead"
                        );
                        kept.push(point);
                    }
                    Verdict::Dropped => tracing::warn!(
                        section = ?kind,
                        bullet = index + 1,
                        "a summary bullet credited someone it cites no message of; dropped it"
                    ),
                }
            }
            section.points = kept;
            (!section.points.is_empty()).then_some(section)
        })
        .collect()
}

/// What became of a bullet.
enum Verdict {
    Backed(Point),
    Replaced(Point),
    Dropped,
}

/// A name a bullet credits.
#[derive(Debug, PartialEq, Eq)]
enum Actor {
    /// A participant of the window.
    Known(UserId),
    /// A name-like lead that is nobody in the window.
    Unknown(String),
}

/// The opening names of a bullet: where they are in its text, and whom they name.
#[derive(Debug, PartialEq, Eq)]
struct Lead {
    span: Range<usize>,
    actors: Vec<Actor>,
}

/// The participants of a window by every name they go by (lower-case).
struct People<'a> {
    by_name: HashMap<String, UserId>,
    names: HashMap<UserId, Vec<String>>,
    shown: HashMap<UserId, &'a str>,
}

impl<'a> People<'a> {
    fn new(messages: &'a [ChatMessage]) -> Self {
        let mut people = Self {
            by_name: HashMap::new(),
            names: HashMap::new(),
            shown: HashMap::new(),
        };
        // First words of multi-word display names ("Mara" of "Mara (maintainer)"), kept only
        // when no one else goes by them.
        let mut short: HashMap<String, Option<UserId>> = HashMap::new();
        for m in messages {
            let a = &m.author;
            people.shown.entry(a.id).or_insert_with(|| a.shown_name());
            for name in [Some(a.name.as_str()), a.display_name.as_deref()]
                .into_iter()
                .flatten()
            {
                let name = name.trim().to_lowercase();
                if name.chars().count() < 2 {
                    continue;
                }
                if let Some(first) = name.split_whitespace().next().filter(|f| *f != name) {
                    let first = first.trim_matches(|c: char| !c.is_alphanumeric());
                    if first.chars().count() >= 3 && !COMMON_WORDS.contains(&first) {
                        short
                            .entry(first.to_string())
                            .and_modify(|id| *id = id.filter(|id| *id == a.id))
                            .or_insert(Some(a.id));
                    }
                }
                people.add(a.id, name);
            }
        }
        for (name, id) in short {
            if let Some(id) = id.filter(|_| !people.by_name.contains_key(&name)) {
                people.add(id, name);
            }
        }
        people
    }

    fn add(&mut self, id: UserId, name: String) {
        let known = self.names.entry(id).or_default();
        if !known.contains(&name) {
            known.push(name.clone());
        }
        self.by_name.entry(name).or_insert(id);
    }

    fn lookup(&self, name: &str) -> Option<UserId> {
        self.by_name.get(&name.trim().to_lowercase()).copied()
    }

    /// The longest participant name `text` starts with (whole word, any case), and its length
    /// in bytes of `text`.
    fn name_at(&self, text: &str) -> Option<(UserId, usize)> {
        // Lower-casing can change a character's byte length (İ, the Kelvin sign): compare only
        // when no character's did, so an offset in `lower` is the same offset in `text`.
        let same_lengths = text.chars().all(|c| {
            let mut lowered = c.to_lowercase();
            lowered.len() == 1 && lowered.next().map(char::len_utf8) == Some(c.len_utf8())
        });
        if !same_lengths {
            return None;
        }
        let lower = text.to_lowercase();
        self.by_name
            .iter()
            .filter(|(name, _)| {
                lower.starts_with(name.as_str())
                    && lower[name.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric())
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(name, id)| (*id, name.len()))
    }
}

/// Decide one bullet.
fn check(
    point: Point,
    people: &People<'_>,
    by_id: &HashMap<MessageId, &ChatMessage>,
    words: &Strings,
) -> Verdict {
    let Some(lead) = lead(&point.text, people) else {
        return Verdict::Backed(point);
    };
    let cited: Vec<&ChatMessage> = point
        .citations
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .collect();
    if lead.actors.iter().all(|a| backed(a, &cited, people)) {
        return Verdict::Backed(point);
    }
    let mut authors: Vec<(UserId, &str)> = Vec::new();
    for m in &cited {
        if !authors.iter().any(|(id, _)| *id == m.author.id) {
            authors.push((m.author.id, m.author.shown_name()));
        }
    }
    if authors.is_empty() {
        return Verdict::Dropped;
    }
    let names: Vec<&str> = authors.iter().map(|(_, n)| *n).collect();
    let text = format!(
        "{}{}{}",
        &point.text[..lead.span.start],
        words.join_names(&names),
        &point.text[lead.span.end..]
    );
    Verdict::Replaced(Point { text, ..point })
}

/// Whether a cited message backs an actor.
fn backed(actor: &Actor, cited: &[&ChatMessage], people: &People<'_>) -> bool {
    match actor {
        Actor::Known(id) => cited.iter().any(|m| {
            let content = m.content.to_lowercase();
            m.author.id == *id
                || content.contains(&format!("<@{id}>"))
                || content.contains(&format!("<@!{id}>"))
                || people
                    .names
                    .get(id)
                    .is_some_and(|names| names.iter().any(|n| has_word(&content, n)))
        }),
        Actor::Unknown(name) => {
            let name = name.to_lowercase();
            cited
                .iter()
                .any(|m| has_word(&m.content.to_lowercase(), &name))
        }
    }
}

/// `needle` occurs in `haystack` with no letter or digit right before or after it.
fn has_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The names a bullet opens with, if it opens with names (see the module docs).
fn lead(text: &str, people: &People<'_>) -> Option<Lead> {
    if let Some(inner) = text.strip_prefix("**") {
        let close = inner.find("**")?;
        let names = inner[..close].trim_end_matches([':', ' ']);
        let parts = split_names(names);
        let all_known = parts.iter().all(|p| people.lookup(p).is_some());
        if !all_known && super::prompt::heading_kind(names).is_some() {
            return None;
        }
        let actors = parts
            .into_iter()
            .map(|part| match people.lookup(part) {
                Some(id) => Some(Actor::Known(id)),
                None => looks_like_a_name(part).then(|| Actor::Unknown(part.to_string())),
            })
            .collect::<Option<Vec<_>>>()?;
        return (!actors.is_empty()).then(|| Lead {
            span: 2..2 + names.len(),
            actors,
        });
    }
    if let Some(colon) = text.find(':').filter(|&c| c <= 60) {
        let names = &text[..colon];
        let actors: Option<Vec<Actor>> = split_names(names)
            .into_iter()
            .map(|part| people.lookup(part).map(Actor::Known))
            .collect();
        if let Some(actors) = actors.filter(|a| !a.is_empty()) {
            return Some(Lead {
                span: 0..colon,
                actors,
            });
        }
    }
    opening_names(text, people)
}

/// Participant names opening a sentence, joined by separators (`Alex, Bo and Kim agreed`).
fn opening_names(text: &str, people: &People<'_>) -> Option<Lead> {
    let mut actors = Vec::new();
    let mut pos = 0;
    let mut end = 0;
    while let Some((id, len)) = people.name_at(&text[pos..]) {
        actors.push(Actor::Known(id));
        pos += len;
        end = pos;
        let Some(sep) = separator_at(&text[pos..]) else {
            break;
        };
        pos += sep;
    }
    (!actors.is_empty()).then_some(Lead {
        span: 0..end,
        actors,
    })
}

/// Length of a list separator (", ", " and ", " und ", "、", "と" …) at the start of `text`.
fn separator_at(text: &str) -> Option<usize> {
    Lang::ALL
        .iter()
        .flat_map(|l| [l.strings().and, l.strings().list_sep])
        .chain([" & ", "/", " or "])
        .filter(|sep| text.starts_with(sep))
        .map(str::len)
        .max()
}

/// A lead split into names at list separators.
fn split_names(names: &str) -> Vec<&str> {
    let mut parts = vec![names];
    for l in Lang::ALL {
        for sep in [l.strings().and, l.strings().list_sep, " & ", "/"] {
            parts = parts.into_iter().flat_map(|p| p.split(sep)).collect();
        }
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// One to three capitalized words of letters (and `.`, `-`, `'`), no digits: `Zed`,
/// `Mary-Ann O'Neil`.
fn looks_like_a_name(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    (1..=3).contains(&words.len())
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, '.' | '-' | '\''))
                && !COMMON_WORDS.contains(&w.to_lowercase().as_str())
        })
}

/// Words that open a bullet as a topic label (`**Performance:**`, `**Release Date**:`) or
/// start a display name ("The Doctor") without naming anyone: never taken for a person.
const COMMON_WORDS: &[&str] = &[
    "the",
    "and",
    "not",
    "our",
    "your",
    "big",
    "little",
    "old",
    "new",
    "real",
    "official",
    "team",
    "admin",
    "mod",
    "bot",
    "sir",
    "lady",
    "lord",
    "king",
    "queen",
    "captain",
    "action",
    "actions",
    "agenda",
    "announcement",
    "api",
    "background",
    "benchmark",
    "benchmarks",
    "blocker",
    "blockers",
    "budget",
    "bug",
    "bugs",
    "build",
    "builds",
    "change",
    "changes",
    "changelog",
    "compatibility",
    "config",
    "configuration",
    "context",
    "cost",
    "date",
    "deadline",
    "decision",
    "decisions",
    "deploy",
    "deployment",
    "design",
    "discussion",
    "docs",
    "documentation",
    "feature",
    "features",
    "fix",
    "fixes",
    "frontend",
    "backend",
    "database",
    "highlights",
    "impact",
    "infra",
    "infrastructure",
    "issue",
    "issues",
    "license",
    "meeting",
    "migration",
    "next",
    "note",
    "notes",
    "outcome",
    "outcomes",
    "overview",
    "performance",
    "plan",
    "plans",
    "priority",
    "problem",
    "problems",
    "proposal",
    "question",
    "questions",
    "release",
    "releases",
    "reminder",
    "result",
    "results",
    "review",
    "reviews",
    "risk",
    "risks",
    "roadmap",
    "schedule",
    "security",
    "status",
    "steps",
    "summary",
    "support",
    "testing",
    "tests",
    "timeline",
    "todo",
    "topic",
    "update",
    "updates",
    "version",
    "versions",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Author, ChannelId, MessageKind, SectionKind, Timestamp};

    fn msg(id: u64, user: u64, name: &str, nick: Option<&str>, content: &str) -> ChatMessage {
        ChatMessage {
            id: MessageId(id),
            channel_id: ChannelId(1),
            guild_id: None,
            author: Author {
                id: UserId(user),
                name: name.into(),
                display_name: nick.map(str::to_string),
                is_bot: false,
            },
            timestamp: Timestamp(0),
            edited_at: None,
            kind: MessageKind::Default,
            content: content.into(),
            reply_to: None,
            attachments: vec![],
            reaction_count: 0,
            pinned: false,
        }
    }

    fn window() -> Vec<ChatMessage> {
        vec![
            msg(
                1,
                10,
                "mara.k",
                Some("Mara (maintainer)"),
                "decided: no lazy-loading in 0.9.0",
            ),
            msg(2, 20, "sam", None, "approved, thanks <@10>"),
            msg(
                3,
                30,
                "jonas",
                Some("Jonas"),
                "I'll write the changelog, Mara",
            ),
            msg(4, 40, "ci-bot", None, "build failed"),
        ]
    }

    fn point(text: &str, cites: &[u64]) -> Point {
        Point {
            text: text.into(),
            citations: cites.iter().map(|&c| MessageId(c)).collect(),
        }
    }

    fn run(points: Vec<Point>, lang: Lang) -> Vec<String> {
        let sections = vec![Section {
            kind: SectionKind::Decisions,
            points,
        }];
        enforce(sections, &window(), lang)
            .into_iter()
            .flat_map(|s| s.points)
            .map(|p| p.text)
            .collect()
    }

    #[test]
    fn characters_whose_lower_case_changes_length_never_split_a_character() {
        // İ grows by a byte when lower-cased, the Kelvin sign shrinks by one: together the
        // line keeps its length while offsets inside it move.
        for text in [
            "İlkay and the \u{212A}elvin fix were approved",
            "\u{212A}elvin İ: decided",
            "**İlkay** decided Ω",
        ] {
            let got = run(vec![point(text, &[1])], Lang::En);
            assert_eq!(got.len(), 1, "{text}");
        }
    }

    #[test]
    fn topic_labels_and_common_words_are_not_people() {
        let points = vec![
            point("**Performance:** the parser is 2x faster", &[4]),
            point("**Release Date**: Thursday", &[1]),
            point("**Security**: tokens are masked", &[]),
        ];
        let want: Vec<String> = points.iter().map(|p| p.text.clone()).collect();
        assert_eq!(run(points, Lang::En), want);
        // "The Doctor" does not make every sentence that starts with "The" about them.
        let window = vec![msg(1, 10, "doc", Some("The Doctor"), "lgtm")];
        let people = People::new(&window);
        assert_eq!(people.lookup("the"), None);
        assert_eq!(people.lookup("the doctor"), Some(UserId(10)));
    }

    #[test]
    fn backed_actors_are_kept() {
        let points = vec![
            point("**Mara** decided no lazy-loading in 0.9.0", &[1]),
            point("Sam approved it and thanked Mara", &[2]),
            // Mara is mentioned (by id) in Sam's message.
            point("Mara and Sam agreed", &[2]),
            point("jonas: writes the changelog", &[3]),
            point("**Release plan:** 0.9.0 on Thursday", &[1]),
            point("**Decision:** no lazy-loading", &[1]),
            point("The build failed on CI", &[4]),
            point("Mara's plan was approved", &[1, 2]),
        ];
        let want: Vec<String> = points.iter().map(|p| p.text.clone()).collect();
        assert_eq!(run(points, Lang::En), want);
    }

    #[test]
    fn unbacked_actors_are_replaced_by_the_cited_authors_or_dropped() {
        let got = run(
            vec![
                // Someone not in the window at all.
                point("**Zed** decided no lazy-loading in 0.9.0", &[1]),
                // Known by the first word of her display name, but not in the cited message.
                point("**Mara** decided no lazy-loading in 0.9.0", &[4]),
                // A participant who neither wrote nor is mentioned in the cited message.
                point("Jonas approved the release", &[2]),
                point("**Sam, Jonas:** decided it", &[1, 3]),
                point("Sam: will write the changelog", &[3]),
                // Nothing cited: nobody to credit.
                point("**Zed** will release on Friday", &[]),
            ],
            Lang::En,
        );
        assert_eq!(
            got,
            [
                "**Mara (maintainer)** decided no lazy-loading in 0.9.0",
                "**ci-bot** decided no lazy-loading in 0.9.0",
                "sam approved the release",
                "**Mara (maintainer) and Jonas:** decided it",
                "Jonas: will write the changelog",
            ]
        );
        let german = run(vec![point("**Zed** hat entschieden", &[1, 2])], Lang::De);
        assert_eq!(german, ["**Mara (maintainer) und sam** hat entschieden"]);
    }

    #[test]
    fn leads_are_found_in_every_form() {
        let people_window = window();
        let people = People::new(&people_window);
        let lead_of = |t: &str| lead(t, &people).map(|l| (l.span, l.actors.len()));
        assert_eq!(lead_of("**Mara und Jonas**: x"), Some((2..16, 2)));
        assert_eq!(lead_of("MARA, Sam and jonas agreed"), Some((0..19, 3)));
        assert_eq!(lead_of("Jonas's PR"), Some((0..5, 1)));
        assert_eq!(lead_of("Note: something"), None);
        assert_eq!(lead_of("**release date**: Friday"), None);
        assert_eq!(
            lead_of("Samantha said"),
            None,
            "a longer word is not the name"
        );
        assert_eq!(lead_of("The team agreed"), None);
    }
}
