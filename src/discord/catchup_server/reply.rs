//! The server-wide `/catchup` answer as one Discord message: an embed listing the ranked
//! channels (what concerns the member, a one- or two-line TL;DR, a jump link), within Discord's
//! embed limits; or the "nothing new" line.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::rank::Signals;
use super::words::Words;
use crate::model::{ChannelId, SectionKind, Summary};
use crate::summarize::lang::Lang;
use crate::summarize::render::{cut_visible, one_line, DESCRIPTION_MAX, FOOTER_MAX, TITLE_MAX};

/// Lines of TL;DR per channel.
pub const TLDR_LINES: usize = 2;
/// Visible characters of one TL;DR line.
pub const TLDR_LINE_CHARS: usize = 150;
/// Embed colour (Discord blurple, as summaries).
const COLOR: u32 = 0x0058_65F2;

/// One listed channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The channel or thread.
    pub channel: ChannelId,
    /// What concerns the member there.
    pub signals: Signals,
    /// At most [`TLDR_LINES`] lines (may be empty).
    pub tldr: Vec<String>,
    /// Jump link to the first new message.
    pub link: String,
}

/// The TL;DR of a (brief) summary: its first points in display order (links and threads left
/// out), each on one line and cut to [`TLDR_LINE_CHARS`] visible characters.
pub fn tldr(summary: &Summary) -> Vec<String> {
    summary
        .sections
        .iter()
        .filter(|s| !matches!(s.kind, SectionKind::Links | SectionKind::Threads))
        .flat_map(|s| &s.points)
        .filter_map(|p| cut_visible(&one_line(&p.text), TLDR_LINE_CHARS))
        .filter(|l| !l.is_empty())
        .take(TLDR_LINES)
        .collect()
}

/// One channel's lines: `**n.** <#id> — what concerns you · count · [jump](link)` and its TL;DR
/// quoted below.
fn entry_text(n: usize, e: &Entry, lang: Lang, w: &Words) -> String {
    let s = &e.signals;
    let mut parts = Vec::new();
    if s.mentions > 0 {
        parts.push(lang.count(&w.mentions, s.mentions));
    }
    if s.replies > 0 {
        parts.push(lang.count(&w.replies, s.replies));
    }
    if s.posted_in_thread {
        parts.push(w.posted_thread.to_owned());
    }
    parts.push(lang.count(&lang.strings().messages, s.messages));
    parts.push(format!("[{}]({})", w.jump, e.link));
    let mut out = format!("**{n}.** <#{}> — {}\n", e.channel, parts.join(" · "));
    for line in &e.tldr {
        let _ = writeln!(out, "> {line}");
    }
    out
}

/// The reply body: one embed whose description lists `entries` in order while they fit
/// (those that do not are counted with `more`), the `note` (what "since" is) as its footer.
pub fn body(entries: &[Entry], more: usize, note: &str, lang: Lang, w: &Words) -> Value {
    let more_line = |n: usize| format!("\n{}", lang.count(&w.more, n));
    // Room kept for the "+N more" line, whatever N becomes.
    let reserve = more_line(entries.len() + more).chars().count();
    let mut description = String::new();
    let mut shown = 0;
    for e in entries {
        let text = entry_text(shown + 1, e, lang, w);
        if description.chars().count() + text.chars().count() + reserve > DESCRIPTION_MAX {
            break;
        }
        description.push_str(&text);
        shown += 1;
    }
    let hidden = more + entries.len() - shown;
    if hidden > 0 {
        description.push_str(&more_line(hidden));
    }
    let title = lang.count(&w.title, shown);
    json!({
        "content": "",
        "embeds": [{
            "title": crate::text::one_line(&cut(&title, TITLE_MAX)),
            "description": description.trim_end(),
            "footer": {"text": cut(note, FOOTER_MAX)},
            "color": COLOR,
        }]
    })
}

/// The answer when no channel they can read has news.
pub fn nothing(note: &str, w: &Words) -> Value {
    json!({"content": w.nothing.replace("{since}", note), "embeds": []})
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Point, Section, Timestamp};
    use crate::summarize::render::MESSAGE_MAX;

    fn signals(mentions: usize, replies: usize, messages: usize) -> Signals {
        Signals {
            mentions,
            replies,
            posted_in_thread: false,
            messages,
            latest: Timestamp(0),
        }
    }

    fn entry(id: u64, s: Signals, tldr: &[&str]) -> Entry {
        Entry {
            channel: ChannelId(id),
            signals: s,
            tldr: tldr.iter().map(|t| (*t).to_owned()).collect(),
            link: format!("https://discord.com/channels/1/{id}/5"),
        }
    }

    #[test]
    fn each_channel_says_what_concerns_you_with_its_tldr_and_link() {
        let en = super::super::words::words(Lang::En);
        let v = body(
            &[
                entry(2, signals(1, 0, 3), &["Ship on Friday.", "Bob reviews."]),
                entry(3, signals(0, 2, 1), &[]),
            ],
            4,
            "since …",
            Lang::En,
            en,
        );
        let embed = &v["embeds"][0];
        assert_eq!(embed["title"], "What you missed: 2 channels");
        assert_eq!(
            embed["description"],
            "**1.** <#2> — 1 mention of you · 3 messages · [jump](https://discord.com/channels/1/2/5)\n\
             > Ship on Friday.\n> Bob reviews.\n\
             **2.** <#3> — 2 replies to you · 1 message · [jump](https://discord.com/channels/1/3/5)\n\
             \n+4 more channels with new messages."
        );
        assert_eq!(embed["footer"]["text"], "since …");

        let de = super::super::words::words(Lang::De);
        let v = body(
            &[entry(2, signals(2, 0, 1), &[])],
            0,
            "seit …",
            Lang::De,
            de,
        );
        assert_eq!(v["embeds"][0]["title"], "Verpasst: 1 Kanal");
        assert_eq!(
            v["embeds"][0]["description"],
            "**1.** <#2> — 2 Erwähnungen von dir · 1 Nachricht · \
             [hinspringen](https://discord.com/channels/1/2/5)"
        );
        assert_eq!(
            nothing("seit …", de)["content"],
            "Nichts Neues in den Kanälen, die du lesen kannst: seit …."
        );
    }

    #[test]
    fn many_long_entries_stay_within_discords_limits() {
        let en = super::super::words::words(Lang::En);
        let long = "word ".repeat(30);
        let entries: Vec<Entry> = (0..40)
            .map(|i| {
                entry(
                    1_000_000_000_000_000_000 + i,
                    signals(3, 3, 999),
                    &[&long, &long],
                )
            })
            .collect();
        let v = body(&entries, 0, &"n".repeat(5000), Lang::En, en);
        let embed = &v["embeds"][0];
        let chars = |k: &Value| k.as_str().map_or(0, |s| s.chars().count());
        assert!(chars(&embed["description"]) <= DESCRIPTION_MAX);
        assert!(chars(&embed["footer"]["text"]) <= FOOTER_MAX);
        let total =
            chars(&embed["title"]) + chars(&embed["description"]) + chars(&embed["footer"]["text"]);
        assert!(total <= MESSAGE_MAX, "{total}");
        let text = embed["description"].as_str().unwrap_or_default();
        assert!(text.ends_with("more channels with new messages."), "{text}");
        assert!(!text.contains("**40.**"), "not every entry fits");
    }

    #[test]
    fn the_tldr_is_the_first_points_on_one_line_each() {
        let point = |t: &str| Point {
            text: t.to_owned(),
            citations: Vec::new(),
        };
        let mut summary = Summary {
            channel: crate::model::ChannelInfo::unknown(ChannelId(2), None),
            window: crate::model::TimeWindow {
                start: Timestamp(0),
                end: Timestamp(1),
            },
            message_count: 3,
            participants: Vec::new(),
            sections: Vec::new(),
            provider: "builtin".to_owned(),
            model: "extractive-v1".to_owned(),
            usage: crate::model::TokenUsage::default(),
            cached: false,
            fallback_reason: None,
            focus: None,
            created_at: Timestamp(1),
            language: None,
            withheld: 0,
            left_out: 0,
            cache_entry: None,
        };
        summary.sections = vec![
            Section {
                kind: SectionKind::KeyPoints,
                points: vec![point("Release\non Friday"), point("CI moved")],
            },
            Section {
                kind: SectionKind::Links,
                points: vec![point("https://example.com")],
            },
            Section {
                kind: SectionKind::Decisions,
                points: vec![point("third")],
            },
        ];
        assert_eq!(tldr(&summary), ["Release on Friday", "CI moved"]);
        summary.sections[0].points = vec![point(&"word ".repeat(100))];
        let lines = tldr(&summary);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].ends_with('…') && lines[0].chars().count() <= TLDR_LINE_CHARS);
        assert_eq!(lines[1], "third", "links are no TL;DR");
    }
}
