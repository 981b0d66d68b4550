//! Discord embeds: a summary split into embeds and messages within Discord's limits, breaking
//! between points or lines, never inside a word or a Markdown link, counting chars.

use std::fmt::Write as _;

use super::{
    escape, fallback_note, header_tail, keeps_english, one_line, strings, CitationNumbers,
};
use crate::model::Summary;

/// Most chars in an embed title.
pub const TITLE_MAX: usize = 256;
/// Most chars in an embed description.
pub const DESCRIPTION_MAX: usize = 4096;
/// Most chars in an embed footer.
pub const FOOTER_MAX: usize = 2048;
/// Most embeds in one message.
pub const EMBEDS_PER_MESSAGE: usize = 10;
/// Most chars of all embeds of one message together (titles, descriptions and footers).
pub const MESSAGE_MAX: usize = 6000;

/// Citations shown per point in embeds; more are summarized as "(+N)".
const CITATIONS_SHOWN: usize = 5;
/// Embed colour of a normal summary (Discord blurple).
const COLOR: u32 = 0x0058_65F2;
/// Embed colour when the builtin summarizer stood in for a failed LLM (amber).
const FALLBACK_COLOR: u32 = 0x00FA_A61A;

/// One Discord embed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embed {
    /// Title (may be empty for continuation embeds).
    pub title: String,
    /// Markdown body.
    pub description: String,
    /// Link of the title.
    pub url: Option<String>,
    /// Small text at the bottom.
    pub footer: Option<String>,
    /// Side colour, `0xRRGGBB`.
    pub color: u32,
}

impl Embed {
    /// Chars this embed counts toward the per-message total.
    pub fn chars(&self) -> usize {
        chars(&self.title) + chars(&self.description) + self.footer.as_deref().map_or(0, chars)
    }
}

/// The embeds of one Discord message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EmbedMessage {
    /// At most [`EMBEDS_PER_MESSAGE`] embeds totalling at most [`MESSAGE_MAX`] chars.
    pub embeds: Vec<Embed>,
}

/// The summary as Discord messages of embeds. The first embed is titled with the channel, each
/// message's last embed carries `footer` (cut to [`FOOTER_MAX`]); every limit is respected.
pub fn embeds(summary: &Summary, footer: &str) -> Vec<EmbedMessage> {
    let channel = format!("#{}", summary.channel.name);
    let title = truncate(
        &strings(summary).summary_of.replace("{channel}", &channel),
        TITLE_MAX,
    );
    let footer = truncate(&one_line(footer), FOOTER_MAX);
    let url = summary
        .channel
        .guild_id
        .map(|g| format!("https://discord.com/channels/{g}/{}", summary.channel.id));
    let color = if summary.fallback_reason.is_some() {
        FALLBACK_COLOR
    } else {
        COLOR
    };
    let mut packer = Packer::new(title, footer, url, color);
    for block in blocks(summary) {
        packer.add(&block);
    }
    packer.finish()
}

/// The description as blocks to keep whole where possible: the header, the fallback note, and
/// each point (the first point of a section carries the section heading).
fn blocks(summary: &Summary) -> Vec<String> {
    let numbers = CitationNumbers::new(summary);
    let mut out = vec![header_tail(summary)];
    if let Some(reason) = &summary.fallback_reason {
        out.push(format!("⚠️ {}", fallback_note(summary, reason)));
    }
    if let Some(note) = keeps_english(summary) {
        out.push(note);
    }
    for section in summary.sections.iter().filter(|s| !s.points.is_empty()) {
        let mut heading = Some(format!(
            "\n**{}**",
            escape(strings(summary).section(section.kind))
        ));
        for point in &section.points {
            let cites: String =
                point
                    .citations
                    .iter()
                    .take(CITATIONS_SHOWN)
                    .fold(String::new(), |mut s, &id| {
                        let _ = write!(s, " [{}]({})", numbers.number(id), numbers.link(id));
                        s
                    });
            let hidden = point.citations.len().saturating_sub(CITATIONS_SHOWN);
            let hidden = if hidden > 0 {
                format!(" (+{hidden})")
            } else {
                String::new()
            };
            let line = format!("• {}{cites}{hidden}", one_line(&point.text));
            out.push(match heading.take() {
                Some(h) => format!("{h}\n{line}"),
                None => line,
            });
        }
    }
    out
}

/// Fills embeds and messages block by block.
struct Packer {
    title: String,
    footer: String,
    url: Option<String>,
    color: u32,
    messages: Vec<EmbedMessage>,
    current: EmbedMessage,
    description: String,
}

impl Packer {
    fn new(title: String, footer: String, url: Option<String>, color: u32) -> Self {
        Self {
            title,
            footer,
            url,
            color,
            messages: Vec::new(),
            current: EmbedMessage::default(),
            description: String::new(),
        }
    }

    /// Title of the embed being filled: the channel title on the first embed of each message.
    fn embed_title(&self) -> String {
        match (self.current.embeds.is_empty(), self.messages.is_empty()) {
            (true, true) => self.title.clone(),
            (true, false) => truncate(&format!("{} (continued)", self.title), TITLE_MAX),
            (false, _) => String::new(),
        }
    }

    /// Chars the description being filled may still take.
    fn room(&self) -> usize {
        let used: usize = self.current.embeds.iter().map(Embed::chars).sum();
        let reserved = used + chars(&self.embed_title()) + chars(&self.footer);
        let budget = MESSAGE_MAX.saturating_sub(reserved).min(DESCRIPTION_MAX);
        budget.saturating_sub(chars(&self.description))
    }

    /// Chars a description may take in a fresh message (the most any block can get).
    fn fresh_room(&self) -> usize {
        let title = chars(&self.title) + " (continued)".len();
        MESSAGE_MAX
            .saturating_sub(title.min(TITLE_MAX) + chars(&self.footer))
            .min(DESCRIPTION_MAX)
    }

    fn add(&mut self, block: &str) {
        let mut rest = block.to_string();
        while !rest.is_empty() {
            if self.description.is_empty() {
                rest = rest.trim_start().to_string();
            }
            let sep = usize::from(!self.description.is_empty());
            let len = chars(&rest);
            if len + sep <= self.room() {
                if sep == 1 {
                    self.description.push('\n');
                }
                self.description.push_str(&rest);
                return;
            }
            if !self.description.is_empty() {
                self.close_embed();
                continue;
            }
            if len <= self.fresh_room() || self.room() < self.fresh_room().min(len) / 2 {
                self.close_message();
                if len <= self.room() {
                    continue;
                }
            }
            let room = self.room();
            let (head, tail) = split_fitting(&rest, room);
            self.description.push_str(&head);
            rest = tail;
            self.close_embed();
        }
    }

    fn close_embed(&mut self) {
        if self.description.is_empty() {
            return;
        }
        let embed = Embed {
            title: self.embed_title(),
            description: std::mem::take(&mut self.description),
            url: if self.current.embeds.is_empty() && self.messages.is_empty() {
                self.url.clone()
            } else {
                None
            },
            footer: None,
            color: self.color,
        };
        self.current.embeds.push(embed);
        if self.current.embeds.len() >= EMBEDS_PER_MESSAGE {
            self.close_message();
        }
    }

    fn close_message(&mut self) {
        self.close_embed();
        if self.current.embeds.is_empty() {
            return;
        }
        if let Some(last) = self.current.embeds.last_mut() {
            if !self.footer.is_empty() {
                last.footer = Some(self.footer.clone());
            }
        }
        self.messages.push(std::mem::take(&mut self.current));
    }

    fn finish(mut self) -> Vec<EmbedMessage> {
        self.close_message();
        self.messages
    }
}

/// Split `text` into a head of at most `room` chars ending on a token boundary and the rest.
/// Tokens are words and whole Markdown links; a single token longer than `room` is cut by chars.
fn split_fitting(text: &str, room: usize) -> (String, String) {
    let mut end = 0;
    let mut used = 0;
    for (start, stop) in tokens(text) {
        let gap = chars(&text[end..start]);
        let token = chars(&text[start..stop]);
        if used + gap + token > room {
            break;
        }
        used += gap + token;
        end = stop;
    }
    if end == 0 {
        end = text
            .char_indices()
            .nth(room.max(1))
            .map_or(text.len(), |(i, _)| i);
    }
    (
        text[..end].trim_end().to_string(),
        text[end..].trim_start().to_string(),
    )
}

/// Byte ranges of the tokens of `text`: runs of non-whitespace, where a Markdown link
/// `[label with spaces](url)` counts as part of one token.
pub(super) fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
            i += c.len_utf8();
            continue;
        }
        start.get_or_insert(i);
        i += if c == '[' {
            link_len(&text[i..]).unwrap_or(1)
        } else {
            c.len_utf8()
        };
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// Byte length of the Markdown link `[label](url)` at the start of `s`, if one is there.
pub(super) fn link_len(s: &str) -> Option<usize> {
    let mid = s.find("](")?;
    if s[1..mid].contains(['[', '\n']) {
        return None;
    }
    let close = s[mid + 2..].find(|c: char| c == ')' || c.is_whitespace())? + mid + 2;
    (s[close..].starts_with(')')).then_some(close + 1)
}

/// Number of chars (what Discord counts).
fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `max` chars on a word boundary when possible, with "…".
fn truncate(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    let (head, _) = split_fitting(s, max.saturating_sub(1));
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_single_tokens() {
        let text = "see [the big docs](https://a.io/x) now";
        let found: Vec<&str> = tokens(text).into_iter().map(|(a, b)| &text[a..b]).collect();
        assert_eq!(found, vec!["see", "[the big docs](https://a.io/x)", "now"]);
        assert_eq!(link_len("[a b] c"), None);
        assert_eq!(link_len("[1](u) x"), Some(6));
    }

    #[test]
    fn split_keeps_words_and_cuts_giants() {
        let (head, tail) = split_fitting("alpha beta gamma", 11);
        assert_eq!((head.as_str(), tail.as_str()), ("alpha beta", "gamma"));
        let giant = "é".repeat(30);
        let (head, tail) = split_fitting(&giant, 10);
        assert_eq!(chars(&head), 10);
        assert_eq!(chars(&tail), 20);
        assert_eq!(truncate("one two three", 9), "one two…");
    }
}
