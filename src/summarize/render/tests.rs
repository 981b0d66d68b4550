//! Tests of rendering: exact Markdown/plain/JSON output and property tests of the embed splitter
//! on seeded pseudo-random summaries.

use super::*;
use crate::model::{ChannelId, GuildId, Point, Section};

/// xorshift64*: a tiny deterministic generator so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn summary(sections: Vec<Section>) -> Summary {
    Summary {
        channel: ChannelInfo {
            id: ChannelId(22),
            guild_id: Some(GuildId(11)),
            guild_name: None,
            name: "general".to_string(),
            topic: None,
            parent_id: None,
        },
        window: TimeWindow {
            start: Timestamp(1_709_251_200_000),
            end: Timestamp(1_709_337_600_000),
        },
        message_count: 120,
        participants: ["Alex", "Sam_1", "Kim", "Lee", "Max"]
            .map(str::to_string)
            .to_vec(),
        sections,
        provider: "builtin".to_string(),
        model: "extractive-v1".to_string(),
        usage: TokenUsage::default(),
        cached: false,
        fallback_reason: None,
        focus: None,
        created_at: Timestamp(1_709_337_600_000),
        language: None,
        withheld: 0,
        left_out: 0,
        cache_entry: None,
    }
}

fn small() -> Summary {
    summary(vec![
        Section {
            kind: SectionKind::KeyPoints,
            points: vec![
                Point {
                    text: "**Alex**: ship on Friday".to_string(),
                    citations: vec![MessageId(5), MessageId(6)],
                },
                Point {
                    text: "see [the docs](https://a.io/x)".to_string(),
                    citations: vec![],
                },
            ],
        },
        Section {
            kind: SectionKind::Decisions,
            points: vec![],
        },
        Section {
            kind: SectionKind::ActionItems,
            points: vec![Point {
                text: "**Sam** will `cargo test`".to_string(),
                citations: vec![MessageId(6)],
            }],
        },
    ])
}

#[test]
fn markdown_has_header_sections_and_numbered_links() {
    let md = markdown(&small());
    let expected = "**#general** · 2024-03-01 00:00 – 2024-03-02 00:00 UTC · 120 messages · participants: Alex, Sam\\_1, Kim (+2)\n\
        \n## Key Discussion Points\n\
        - **Alex**: ship on Friday [1](https://discord.com/channels/11/22/5) [2](https://discord.com/channels/11/22/6)\n\
        - see [the docs](https://a.io/x)\n\
        \n## Action Items\n\
        - **Sam** will `cargo test` [2](https://discord.com/channels/11/22/6)\n";
    assert_eq!(md, expected);
    let mut fallback = small();
    fallback.fallback_reason = Some("timeout".to_string());
    assert!(markdown(&fallback).contains("\n> ⚠️ The LLM could not be used (timeout)"));
}

#[test]
fn plain_text_has_no_markup() {
    let text = plain_text(&small());
    assert!(text.starts_with("#general · 2024-03-01 00:00 – 2024-03-02 00:00 UTC · 120 messages"));
    assert!(text.contains("  - Alex: ship on Friday [1] [2]\n"));
    assert!(text.contains("  - see the docs (https://a.io/x)\n"));
    assert!(text.contains("  - Sam will cargo test [2]\n"));
    assert!(text.ends_with("Sources:\n  [1] https://discord.com/channels/11/22/5\n  [2] https://discord.com/channels/11/22/6\n"));
    assert!(!text.contains("**") && !text.contains('`') && !text.contains("Important Decisions"));
}

#[test]
fn json_expands_citations() {
    let value: serde_json::Value = serde_json::from_str(&json(&small())).expect("valid JSON");
    assert_eq!(value["model"], "extractive-v1");
    assert_eq!(value["cached"], false);
    assert_eq!(value["usage"]["prompt_tokens"], 0);
    let cite = &value["sections"][0]["points"][0]["citations"][1];
    assert_eq!(cite["number"], 2);
    assert_eq!(cite["message_id"], "6", "ids are strings in JSON");
    assert_eq!(cite["link"], "https://discord.com/channels/11/22/6");
    assert_eq!(value["sections"][2]["title"], "Action Items");
    assert!(value.get("fallback_reason").is_none());
}

#[test]
fn json_says_when_the_window_was_incomplete() {
    assert_eq!(json_with_note(&small(), None), json(&small()));
    let noted: serde_json::Value = serde_json::from_str(&json_with_note(
        &small(),
        Some("This summary covers stored messages only."),
    ))
    .expect("valid JSON");
    assert_eq!(noted["note"], "This summary covers stored messages only.");
    assert_eq!(noted["model"], "extractive-v1");
}

#[test]
fn the_threads_section_renders_its_links_in_every_format() {
    let mut s = small();
    s.sections.push(Section {
        kind: SectionKind::Threads,
        points: vec![Point {
            text: "[release (v2)](https://discord.com/channels/11/77) — 3 messages".to_string(),
            citations: vec![],
        }],
    });
    let md = markdown(&s);
    assert!(
        md.ends_with(
            "## Threads\n- [release (v2)](https://discord.com/channels/11/77) — 3 messages\n"
        ),
        "{md}"
    );
    let plain = plain_text(&s);
    assert!(
        plain.contains(
            "Threads\n  - release (v2) (https://discord.com/channels/11/77) — 3 messages"
        ),
        "{plain}"
    );
    let out = embeds(&s, "f");
    let description = &out[0].embeds[0].description;
    assert!(
        description.ends_with(
            "**Threads**\n• [release (v2)](https://discord.com/channels/11/77) — 3 messages"
        ),
        "{description}"
    );
    assert!(json(&s).contains("\"kind\": \"threads\""));
}

#[test]
fn small_summary_is_one_embed() {
    let out = embeds(&small(), "builtin · extractive-v1");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].embeds.len(), 1);
    let embed = &out[0].embeds[0];
    assert_eq!(embed.title, "Summary of #general");
    assert_eq!(
        embed.url.as_deref(),
        Some("https://discord.com/channels/11/22")
    );
    assert_eq!(embed.footer.as_deref(), Some("builtin · extractive-v1"));
    assert!(embed.description.contains("\n**Key Discussion Points**\n• **Alex**: ship on Friday [1](https://discord.com/channels/11/22/5)"));
}

const WORDS: &[&str] = &[
    "deploy",
    "the",
    "cache",
    "naïve",
    "日本語のテキスト",
    "emoji😀🎉",
    "x",
    "Straße",
    "redis",
    "a-very-long-identifier-name_with_parts",
    "é́",
    "`code`",
    "**bold**",
    "—",
    "v1.2.3",
];

fn random_text(rng: &mut Rng, words: usize) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut links = Vec::new();
    for _ in 0..words {
        if !text.is_empty() {
            text.push(if rng.below(20) == 0 { '\n' } else { ' ' });
        }
        if rng.below(15) == 0 {
            let link = format!(
                "[label {} ü](https://example.com/{}/path?q={})",
                rng.below(99),
                rng.below(1000),
                rng.next()
            );
            links.push(link.clone());
            text.push_str(&link);
        } else {
            text.push_str(WORDS[rng.below(WORDS.len())]);
        }
    }
    (text, links)
}

fn random_summary(rng: &mut Rng) -> (Summary, Vec<String>) {
    let mut links = Vec::new();
    let mut sections = Vec::new();
    // Threads: the section the Discord commands append (not produced by summarizers).
    for kind in SectionKind::ALL.into_iter().chain([SectionKind::Threads]) {
        let count = match rng.below(4) {
            0 => 0,
            1 => rng.below(5),
            2 => rng.below(60),
            _ => rng.below(700),
        };
        let points = (0..count)
            .map(|_| {
                let words = if rng.below(50) == 0 {
                    2000 + rng.below(3000)
                } else {
                    1 + rng.below(40)
                };
                let (text, mut found) = random_text(rng, words);
                links.append(&mut found);
                let citations = (0..rng.below(9))
                    .map(|_| MessageId(rng.next() >> 4))
                    .collect();
                Point { text, citations }
            })
            .collect();
        sections.push(Section { kind, points });
    }
    let mut s = summary(sections);
    s.channel.name = "ch-ünïcode-".repeat(rng.below(40));
    if rng.below(3) == 0 {
        s.fallback_reason = Some("rate limited ".repeat(rng.below(30)));
    }
    (s, links)
}

fn check_limits(out: &[EmbedMessage]) {
    assert!(!out.is_empty());
    for message in out {
        assert!(!message.embeds.is_empty() && message.embeds.len() <= EMBEDS_PER_MESSAGE);
        let total: usize = message.embeds.iter().map(Embed::chars).sum();
        assert!(total <= MESSAGE_MAX, "message of {total} chars");
        for embed in &message.embeds {
            assert!(embed.title.chars().count() <= TITLE_MAX);
            assert!(embed.description.chars().count() <= DESCRIPTION_MAX);
            assert!(!embed.description.trim().is_empty());
            assert!(embed
                .footer
                .as_ref()
                .is_none_or(|f| f.chars().count() <= FOOTER_MAX));
        }
    }
}

/// Every point's words appear, whole and in order, in the concatenated descriptions.
fn check_nothing_lost(summary: &Summary, out: &[EmbedMessage]) {
    let all: String = out
        .iter()
        .flat_map(|m| &m.embeds)
        .map(|e| e.description.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let produced: Vec<&str> = all.split_whitespace().collect();
    let mut at = 0;
    for point in summary.sections.iter().flat_map(|s| &s.points) {
        for word in point.text.split_whitespace() {
            let found = produced[at..].iter().position(|w| *w == word);
            let Some(offset) = found else {
                panic!("word {word:?} of a point is missing or out of order");
            };
            at += offset + 1;
        }
    }
}

#[test]
fn embeds_respect_limits_on_random_summaries() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..30 {
        let (summary, links) = random_summary(&mut rng);
        let footer = "footer ".repeat(rng.below(400));
        let out = embeds(&summary, &footer);
        check_limits(&out);
        check_nothing_lost(&summary, &out);
        let produced = link_tokens(&out);
        let targets: std::collections::HashSet<&str> = produced
            .iter()
            .filter_map(|t| {
                t.rsplit_once("](")
                    .map(|(_, url)| url.trim_end_matches(')'))
            })
            .collect();
        for link in &links {
            assert!(
                produced.contains(link),
                "round {round}: link {link} was split"
            );
        }
        let cited = summary
            .sections
            .iter()
            .flat_map(|s| &s.points)
            .flat_map(|p| p.citations.iter().take(5));
        for id in cited {
            let url = jump_link(Some(GuildId(11)), ChannelId(22), *id);
            assert!(
                targets.contains(url.as_str()),
                "round {round}: citation link {url} was split"
            );
        }
    }
}

/// Every whole Markdown link `[...](...)` token of the output descriptions.
fn link_tokens(out: &[EmbedMessage]) -> std::collections::HashSet<String> {
    let mut found = std::collections::HashSet::new();
    for embed in out.iter().flat_map(|m| &m.embeds) {
        for (start, end) in embeds::tokens(&embed.description) {
            let token = &embed.description[start..end];
            if token.starts_with('[') && token.ends_with(')') && token.contains("](") {
                found.insert(token.to_string());
            }
        }
    }
    found
}

#[test]
fn a_single_huge_point_is_split_on_words() {
    let text = "wörd ".repeat(5000);
    let s = summary(vec![Section {
        kind: SectionKind::KeyPoints,
        points: vec![Point {
            text: text.clone(),
            citations: vec![MessageId(1)],
        }],
    }]);
    let out = embeds(&s, "f");
    check_limits(&out);
    check_nothing_lost(&s, &out);
    assert!(out.iter().flat_map(|m| &m.embeds).count() >= 7);
    let whole: usize = out
        .iter()
        .flat_map(|m| &m.embeds)
        .map(|e| {
            e.description
                .split_whitespace()
                .filter(|w| *w == "wörd")
                .count()
        })
        .sum();
    assert_eq!(whole, 5000, "a word was cut");
    assert!(!out
        .iter()
        .flat_map(|m| &m.embeds)
        .any(|e| e.description.contains("wö ") || e.description.contains(" rd")));
}

#[test]
fn continuation_embeds_are_labelled_and_footed() {
    let points = (0..400)
        .map(|i| Point {
            text: format!("point number {i} with a few words of text to fill the embed"),
            citations: vec![MessageId(i)],
        })
        .collect();
    let mut s = summary(vec![Section {
        kind: SectionKind::KeyPoints,
        points,
    }]);
    s.fallback_reason = Some("timeout".to_string());
    let out = embeds(&s, "builtin");
    check_limits(&out);
    check_nothing_lost(&s, &out);
    assert!(out.len() >= 2);
    let all: Vec<&Embed> = out.iter().flat_map(|m| &m.embeds).collect();
    assert!(all[0]
        .description
        .contains("⚠️ The LLM could not be used (timeout)"));
    assert!(all.iter().all(|e| e.color == 0x00FA_A61A));
    assert_eq!(all.iter().filter(|e| e.url.is_some()).count(), 1);
    assert_eq!(out[1].embeds[0].title, "Summary of #general (continued)");
    for message in &out {
        let (last, rest) = message.embeds.split_last().expect("non-empty");
        assert_eq!(last.footer.as_deref(), Some("builtin"));
        assert!(rest.iter().all(|e| e.footer.is_none()));
        assert!(rest.iter().skip(1).all(|e| e.title.is_empty()));
    }
    let point_lines = all
        .iter()
        .flat_map(|e| e.description.lines())
        .filter(|l| l.starts_with("• "))
        .count();
    assert_eq!(point_lines, 400, "a point was split although it fits");
}

#[test]
fn an_empty_window_says_so_instead_of_showing_nothing() {
    let mut empty = summary(Vec::new());
    empty.message_count = 0;
    assert!(markdown(&empty).contains("_No messages in this window._"));
    assert!(plain_text(&empty).contains("No messages in this window."));
    empty.message_count = 3;
    assert!(markdown(&empty).contains("stood out"));
    assert_eq!(empty_note(&small()), None);
    assert!(!markdown(&small()).contains("No messages"));
}

#[test]
fn a_summary_in_german_has_german_words_everywhere_summarybot_writes() {
    let mut s = small();
    s.language = Some("Deutsch".into());
    s.fallback_reason = Some("timeout".into());
    s.withheld = 3;
    let md = markdown(&s);
    assert!(md.contains("## Wichtigste Diskussionspunkte"), "{md}");
    assert!(md.contains("## Aufgaben"), "{md}");
    assert!(md.contains("120 Nachrichten · Teilnehmende: Alex"), "{md}");
    assert!(md.contains("Das LLM war nicht verfügbar (timeout)"), "{md}");
    assert!(
        md.ends_with("_3 Geheimnisse dem LLM vorenthalten_\n"),
        "{md}"
    );
    let text = plain_text(&s);
    assert!(text.contains("Hinweis: Das LLM"), "{text}");
    assert!(text.contains("Quellen:"), "{text}");
    let json = json(&s);
    assert!(json.contains("\"title\": \"Aufgaben\""), "{json}");
    assert!(json.contains("\"withheld\": 3"), "{json}");
    let first = &embeds(&s, "f")[0].embeds[0];
    assert_eq!(first.title, "Zusammenfassung von #general");
    assert!(
        first.description.contains("**Aufgaben**"),
        "{}",
        first.description
    );
    let mut empty = summary(vec![]);
    empty.language = Some("ru".into());
    empty.message_count = 0;
    assert_eq!(empty_note(&empty), Some("За этот период сообщений нет."));
}

#[test]
fn an_unknown_language_keeps_english_and_the_builtin_says_so() {
    let mut s = small();
    s.language = Some("Klingon".into());
    let md = markdown(&s);
    assert!(md.contains("## Key Discussion Points"), "{md}");
    assert!(md.contains("has no words for \"Klingon\""), "{md}");
    // An LLM wrote the points in the language: no note about English then.
    s.provider = "openai".into();
    assert!(!markdown(&s).contains("has no words"));
}
