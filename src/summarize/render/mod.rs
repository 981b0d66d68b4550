//! Rendering of a finished [`Summary`]: Markdown, plain text, JSON and Discord embeds. Citations
//! are numbered in order of first appearance, the same numbers in every format.

mod embeds;
mod visible;

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

pub(crate) use crate::text::one_line;

use crate::model::{
    jump_link, ChannelInfo, MessageId, SectionKind, Summary, TimeWindow, Timestamp, TokenUsage,
};
use crate::summarize::lang::{keeps_english_note, Lang, Strings};

pub use visible::{cut_visible, visible_chars};

pub use embeds::{
    embeds, Embed, EmbedMessage, DESCRIPTION_MAX, EMBEDS_PER_MESSAGE, FOOTER_MAX, MESSAGE_MAX,
    TITLE_MAX,
};

/// Participants named in the header before "(+N)".
const SHOWN_PARTICIPANTS: usize = 3;

/// Markdown: a header line, a fallback note when the LLM failed, then `## Section` lists of
/// points each followed by numbered jump links. Empty sections are omitted.
pub fn markdown(summary: &Summary) -> String {
    let numbers = CitationNumbers::new(summary);
    let words = strings(summary);
    let mut lines = vec![format!(
        "**#{}** · {}",
        escape(&summary.channel.name),
        header_tail(summary)
    )];
    if let Some(reason) = &summary.fallback_reason {
        lines.push(String::new());
        lines.push(format!("> ⚠️ {}", fallback_note(summary, reason)));
    }
    if let Some(note) = keeps_english(summary) {
        lines.push(String::new());
        lines.push(format!("> {note}"));
    }
    if let Some(note) = empty_note(summary) {
        lines.push(String::new());
        lines.push(format!("_{note}_"));
    }
    for section in summary.sections.iter().filter(|s| !s.points.is_empty()) {
        lines.push(String::new());
        lines.push(format!("## {}", words.section(section.kind)));
        for point in &section.points {
            let cites: String = point.citations.iter().fold(String::new(), |mut s, &id| {
                let _ = write!(s, " [{}]({})", numbers.number(id), numbers.link(id));
                s
            });
            lines.push(format!("- {}{cites}", one_line(&point.text)));
        }
    }
    for note in footnotes(summary) {
        lines.push(String::new());
        lines.push(format!("_{note}_"));
    }
    lines.join("\n") + "\n"
}

/// Plain text for terminals and logs: no Markdown, citations as `[n]` with a source list at the end.
pub fn plain_text(summary: &Summary) -> String {
    let numbers = CitationNumbers::new(summary);
    let words = strings(summary);
    let mut lines = vec![format!(
        "#{} · {}",
        summary.channel.name,
        header_tail_plain(summary)
    )];
    if let Some(reason) = &summary.fallback_reason {
        lines.push(format!(
            "{}: {}",
            words.note,
            fallback_note(summary, reason)
        ));
    }
    if let Some(note) = keeps_english(summary) {
        lines.push(format!("Note: {note}"));
    }
    if let Some(note) = empty_note(summary) {
        lines.push(String::new());
        lines.push(note.to_string());
    }
    for section in summary.sections.iter().filter(|s| !s.points.is_empty()) {
        lines.push(String::new());
        lines.push(words.section(section.kind).to_string());
        for point in &section.points {
            let cites: String = point.citations.iter().fold(String::new(), |mut s, &id| {
                let _ = write!(s, " [{}]", numbers.number(id));
                s
            });
            lines.push(format!(
                "  - {}{cites}",
                strip_markdown(&one_line(&point.text))
            ));
        }
    }
    if !numbers.order.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", words.sources));
        for (i, id) in numbers.order.iter().enumerate() {
            lines.push(format!("  [{}] {}", i + 1, numbers.link(*id)));
        }
    }
    for note in footnotes(summary) {
        lines.push(String::new());
        lines.push(note);
    }
    lines.join("\n") + "\n"
}

/// The fixed words for the summary's output language (English when it has none or an
/// unsupported one).
pub fn strings(summary: &Summary) -> &'static Strings {
    Lang::for_output(summary.language.as_deref()).strings()
}

/// What to say instead of sections when there are none, in the summary's language.
pub fn empty_note(summary: &Summary) -> Option<&'static str> {
    let words = strings(summary);
    if summary.sections.iter().any(|s| !s.points.is_empty()) {
        None
    } else if summary.message_count == 0 {
        Some(words.no_messages)
    } else {
        Some(words.nothing_stood_out)
    }
}

/// The notes closing a summary, in its language: "50000 older messages left out (window
/// limit)" when the window held more than `summary.max_window_messages`, and "3 secrets withheld
/// from the LLM" when any were.
pub fn footnotes(summary: &Summary) -> impl Iterator<Item = String> {
    let lang = Lang::for_output(summary.language.as_deref());
    let words = lang.strings();
    [
        (&words.left_out, summary.left_out),
        (&words.withheld, summary.withheld),
    ]
    .into_iter()
    .filter(|&(_, n)| n > 0)
    .map(move |(forms, n)| lang.count(forms, n))
}

/// The builtin summary's note (in English) that it has no words for the language asked for.
fn keeps_english(summary: &Summary) -> Option<String> {
    if summary.provider != crate::summarize::BUILTIN_PROVIDER {
        return None;
    }
    keeps_english_note(summary.language.as_deref())
}

/// [`json`] with a `"note"` field ("this summary {note}") when the window was incomplete.
pub fn json_with_note(summary: &Summary, note: Option<&str>) -> String {
    let text = json(summary);
    let Some(note) = note else {
        return text;
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut value) => {
            value["note"] = serde_json::Value::String(note.to_owned());
            serde_json::to_string_pretty(&value).unwrap_or(text)
        }
        Err(_) => text,
    }
}

/// Pretty JSON: every [`Summary`] field, with each citation expanded to its number and jump link.
pub fn json(summary: &Summary) -> String {
    let numbers = CitationNumbers::new(summary);
    let sections = summary
        .sections
        .iter()
        .map(|s| JsonSection {
            kind: s.kind,
            title: strings(summary).section(s.kind),
            points: s
                .points
                .iter()
                .map(|p| JsonPoint {
                    text: &p.text,
                    citations: p
                        .citations
                        .iter()
                        .map(|&id| JsonCitation {
                            number: numbers.number(id),
                            message_id: id,
                            link: numbers.link(id),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let doc = JsonSummary {
        channel: &summary.channel,
        window: &summary.window,
        message_count: summary.message_count,
        participants: &summary.participants,
        sections,
        provider: &summary.provider,
        model: &summary.model,
        usage: &summary.usage,
        cached: summary.cached,
        fallback_reason: summary.fallback_reason.as_deref(),
        focus: summary.focus.as_deref(),
        created_at: summary.created_at,
        language: summary.language.as_deref(),
        withheld: summary.withheld,
        left_out: summary.left_out,
    };
    // Every field is a string, number, bool or a struct of those: serializing cannot fail.
    serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render summary as JSON: {e}\"}}"))
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    channel: &'a ChannelInfo,
    window: &'a TimeWindow,
    message_count: usize,
    participants: &'a [String],
    sections: Vec<JsonSection<'a>>,
    provider: &'a str,
    model: &'a str,
    usage: &'a TokenUsage,
    cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    focus: Option<&'a str>,
    created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    withheld: usize,
    #[serde(skip_serializing_if = "crate::model::is_zero")]
    left_out: usize,
}

#[derive(Serialize)]
struct JsonSection<'a> {
    kind: SectionKind,
    title: &'static str,
    points: Vec<JsonPoint<'a>>,
}

#[derive(Serialize)]
struct JsonPoint<'a> {
    text: &'a str,
    citations: Vec<JsonCitation>,
}

#[derive(Serialize)]
struct JsonCitation {
    number: usize,
    message_id: MessageId,
    link: String,
}

/// Citation numbers in order of first appearance, and the jump links they stand for.
pub(crate) struct CitationNumbers<'a> {
    summary: &'a Summary,
    order: Vec<MessageId>,
    numbers: HashMap<MessageId, usize>,
}

impl<'a> CitationNumbers<'a> {
    pub(crate) fn new(summary: &'a Summary) -> Self {
        let mut order = Vec::new();
        let mut numbers = HashMap::new();
        let cited = summary
            .sections
            .iter()
            .flat_map(|s| &s.points)
            .flat_map(|p| &p.citations);
        for &id in cited {
            numbers.entry(id).or_insert_with(|| {
                order.push(id);
                order.len()
            });
        }
        Self {
            summary,
            order,
            numbers,
        }
    }

    /// The 1-based number of a cited message (0 for a message never cited).
    pub(crate) fn number(&self, id: MessageId) -> usize {
        self.numbers.get(&id).copied().unwrap_or(0)
    }

    /// The jump link of a message of the summarized channel.
    pub(crate) fn link(&self, id: MessageId) -> String {
        let channel = &self.summary.channel;
        jump_link(channel.guild_id, channel.id, id)
    }
}

/// "<window> · N messages · focused on “topic” · participants: A, B, C (+4)" with names (and
/// the topic) escaped for Markdown.
fn header_tail(summary: &Summary) -> String {
    header_parts(summary, escape)
}

fn header_tail_plain(summary: &Summary) -> String {
    header_parts(summary, str::to_string)
}

fn header_parts(summary: &Summary, name: fn(&str) -> String) -> String {
    let lang = Lang::for_output(summary.language.as_deref());
    let count = lang.count(&lang.strings().messages, summary.message_count);
    // An empty window (e.g. an export without messages) has no meaningful time span to show.
    let mut out = if summary.window.start >= summary.window.end {
        count
    } else {
        format!("{} · {count}", window_text(&summary.window))
    };
    if let Some(topic) = &summary.focus {
        let _ = write!(out, " · focused on “{}”", name(topic));
    }
    if !summary.participants.is_empty() {
        let shown: Vec<String> = summary
            .participants
            .iter()
            .take(SHOWN_PARTICIPANTS)
            .map(|p| name(p))
            .collect();
        let _ = write!(
            out,
            " · {}: {}",
            lang.strings().participants,
            shown.join(", ")
        );
        let more = summary
            .participants
            .len()
            .saturating_sub(SHOWN_PARTICIPANTS);
        if more > 0 {
            let _ = write!(out, " (+{more})");
        }
    }
    out
}

/// `2024-03-01 12:00 – 2024-03-02 12:00 UTC`.
pub(crate) fn window_text(window: &TimeWindow) -> String {
    let fmt = "%Y-%m-%d %H:%M";
    format!(
        "{} – {} UTC",
        window.start.to_datetime().format(fmt),
        window.end.to_datetime().format(fmt)
    )
}

/// The note shown when the builtin summarizer stood in for a failed LLM (the reason stays
/// English: it is an error message).
pub(crate) fn fallback_note(summary: &Summary, reason: &str) -> String {
    strings(summary)
        .fallback
        .replace("{reason}", &one_line(reason))
}

/// Escape the Markdown characters Discord interprets in names.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '_' | '~' | '`' | '|' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Remove bold/italic/code markers and turn `[label](url)` into `label (url)`.
pub(crate) fn strip_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let link = rest[open..].find("](").and_then(|mid| {
            let close = rest[open + mid..].find(')')? + open + mid;
            Some((open + mid, close))
        });
        match link {
            Some((mid, close)) if !rest[open + 1..mid].contains('[') => {
                out.push_str(&rest[..open]);
                let _ = write!(out, "{} ({})", &rest[open + 1..mid], &rest[mid + 2..close]);
                rest = &rest[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out.replace("**", "").replace("__", "").replace('`', "")
}

#[cfg(test)]
mod tests;
