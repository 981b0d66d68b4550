//! The builtin extractive summarizer: no network, no model download. Ranks messages by TF-IDF
//! centrality, replies, reactions and recency, detects decisions, action items, open questions,
//! technical details, code changes and links, and fills the summary sections with cited points.

mod code;
mod detect;
mod digest;
mod intern;
mod links;
mod phrases;
mod questions;
mod rank;
mod text;
mod units;

use std::collections::{HashMap, HashSet};

use crate::llm::{BoxFuture, LlmError};
use crate::model::{
    ChannelKind, ChatMessage, Detail, MessageId, Point, Section, SectionKind, TokenUsage,
};
use crate::summarize::engine::participants;
use crate::summarize::{Draft, Progress, ProgressFn, Summarizer, SummaryInput};

use rank::Signals;
use text::NameMap;

/// Model name reported by the builtin summarizer.
pub const MODEL: &str = "extractive-v1";

/// Provider name reported by the builtin summarizer.
pub const PROVIDER: &str = "builtin";

/// Algorithm version, part of cache keys; bump when the output changes.
pub const VERSION: &str = "3";

/// The offline extractive summarizer. Deterministic: the same messages give the same draft.
/// Being extractive, it quotes the chat in its own language; `SummaryInput::language` is ignored.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinSummarizer {
    _private: (),
}

impl BuiltinSummarizer {
    /// A builtin summarizer with the default section caps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Summarize a window synchronously (the work is CPU-only and fast). `brief` and `standard`
    /// give a summary that fits the level's character budget; `full` gives the index of every
    /// point found.
    pub fn summarize_now(&self, input: SummaryInput<'_>) -> Draft {
        let msgs = prepare(input.messages);
        let ph = phrases::for_language(input.language);
        if input.detail != Detail::Full {
            let header = digest::header_chars(
                &input.channel.name,
                &participants(input.messages),
                input.messages.len(),
            );
            let dev = input.kind == ChannelKind::Dev;
            return Draft {
                sections: digest::sections(&msgs, input.detail, dev, header, ph),
                usage: TokenUsage::default(),
            };
        }
        let mut sections: Vec<Section> = SectionKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let candidates = match kind {
                    // Key points are chosen last; threads are listed by the Discord commands.
                    SectionKind::KeyPoints | SectionKind::Threads => return None,
                    SectionKind::Decisions => detect::decisions(&msgs, ph),
                    SectionKind::ActionItems => detect::action_items(&msgs, ph),
                    SectionKind::OpenQuestions => questions::open_questions(&msgs),
                    SectionKind::Technical => code::technical(&msgs, ph),
                    SectionKind::CodeChanges if input.kind != ChannelKind::Dev => return None,
                    SectionKind::CodeChanges => code::code_changes(&msgs, ph),
                    SectionKind::Links => links::links(&msgs, ph),
                };
                let points = select(candidates, section_cap(kind));
                (!points.is_empty()).then_some(Section { kind, points })
            })
            .collect();
        let key_points = key_points(&msgs, &sections);
        drop_repeats_of(&key_points, &mut sections);
        if !key_points.is_empty() {
            sections.insert(
                0,
                Section {
                    kind: SectionKind::KeyPoints,
                    points: key_points,
                },
            );
        }
        Draft {
            sections,
            usage: TokenUsage::default(),
        }
    }
}

/// Technical details and code changes that only restate a key point are left out: the same
/// message shown three times in one summary is noise.
fn drop_repeats_of(key_points: &[Point], sections: &mut Vec<Section>) {
    let cited: HashSet<MessageId> = key_points
        .iter()
        .flat_map(|p| p.citations.iter().copied())
        .collect();
    for section in sections.iter_mut() {
        if matches!(
            section.kind,
            SectionKind::Technical | SectionKind::CodeChanges
        ) {
            section
                .points
                .retain(|p| !p.citations.iter().all(|id| cited.contains(id)));
        }
    }
    sections.retain(|s| !s.points.is_empty());
}

/// Most points of a section other than key points.
fn section_cap(kind: SectionKind) -> usize {
    match kind {
        SectionKind::Links => 10,
        SectionKind::ActionItems | SectionKind::CodeChanges => 7,
        _ => 5,
    }
}

/// Key points from the most central messages not already shown as a decision, action item or
/// open question (unless nothing else is left).
fn key_points(msgs: &[Msg<'_>], sections: &[Section]) -> Vec<Point> {
    let cap = key_point_cap(msgs);
    let shown: HashSet<MessageId> = sections
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                SectionKind::Decisions | SectionKind::ActionItems | SectionKind::OpenQuestions
            )
        })
        .flat_map(|s| s.points.iter().flat_map(|p| p.citations.iter().copied()))
        .collect();
    let fresh = select(detect::key_points(msgs, 8 * cap, &shown), cap);
    if fresh.is_empty() {
        select(detect::key_points(msgs, 8 * cap, &HashSet::new()), cap)
    } else {
        fresh
    }
}

impl Summarizer for BuiltinSummarizer {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        MODEL
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn summarize<'a>(
        &'a self,
        input: SummaryInput<'a>,
        progress: ProgressFn<'a>,
    ) -> BoxFuture<'a, Result<Draft, LlmError>> {
        Box::pin(async move {
            let draft = self.summarize_now(input);
            progress(Progress { done: 1, total: 1 });
            Ok(draft)
        })
    }
}

/// One message of the window, cleaned and scored.
pub(crate) struct Msg<'a> {
    /// The original message.
    pub raw: &'a ChatMessage,
    /// Position in the window.
    pub index: usize,
    /// Shown author name.
    pub author: &'a str,
    /// Content with Discord markup replaced; code blocks and newlines kept.
    pub full: String,
    /// One line of prose: no code blocks, straight apostrophes.
    pub prose: String,
    /// Content words in `prose` (0 for bots and system messages).
    pub words: usize,
    /// Written by a person (not a bot, not a system notice).
    pub human: bool,
    /// Replies received from other people.
    pub replies: u32,
    /// Ranking score (0 for bots and system messages).
    pub score: f32,
}

impl Msg<'_> {
    /// `prose` in ASCII lowercase (same byte offsets as `prose`); made when asked, not kept.
    pub fn lower(&self) -> String {
        self.prose.to_ascii_lowercase()
    }
}

/// The window's messages cleaned and scored. Their content words are kept only as word ids
/// while ranking (a huge window's words as strings would take several times its text).
fn prepare(messages: &[ChatMessage]) -> Vec<Msg<'_>> {
    let names = names(messages);
    let replies = reply_counts(messages);
    let mut vocab = intern::Interner::default();
    let mut docs = intern::Docs::default();
    let mut msgs: Vec<Msg<'_>> = Vec::with_capacity(messages.len());
    for (index, raw) in messages.iter().enumerate() {
        let full = text::clean_markup(&raw.content, &names).replace('\u{2019}', "'");
        let prose = prose_of(&full);
        let human = is_human(raw);
        if human {
            docs.push(text::content_words(&text::without_urls(&prose)).map(|w| vocab.id(&w)));
        } else {
            docs.push([]);
        }
        msgs.push(Msg {
            raw,
            index,
            author: raw.author.shown_name(),
            full,
            prose,
            words: docs.get(index).len(),
            human,
            replies: replies.get(&raw.id).copied().unwrap_or(0),
            score: 0.0,
        });
    }
    let central = rank::centrality(&docs, vocab.len());
    drop(docs);
    drop(vocab);
    for (m, c) in msgs.iter_mut().zip(central) {
        if m.human {
            m.score = rank::combine(c, &signals(messages, m.index, &replies, m.words));
        }
    }
    msgs
}

fn prose_of(full: &str) -> String {
    text::one_line(&text::without_code_blocks(full)).replace('\u{2019}', "'")
}

fn is_human(m: &ChatMessage) -> bool {
    !m.author.is_bot && !m.kind.is_system() && !m.content.trim().is_empty()
}

fn names(messages: &[ChatMessage]) -> NameMap {
    messages
        .iter()
        .map(|m| (m.author.id, m.author.shown_name().to_string()))
        .collect()
}

/// Replies each message received from people other than its author.
fn reply_counts(messages: &[ChatMessage]) -> HashMap<MessageId, u32> {
    let authors: HashMap<MessageId, _> = messages.iter().map(|m| (m.id, m.author.id)).collect();
    let mut counts = HashMap::new();
    for m in messages.iter().filter(|m| is_human(m)) {
        if let Some(parent) = m.reply_to {
            if authors.get(&parent).is_some_and(|&a| a != m.author.id) {
                *counts.entry(parent).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn signals(
    messages: &[ChatMessage],
    index: usize,
    replies: &HashMap<MessageId, u32>,
    words: usize,
) -> Signals {
    let m = &messages[index];
    Signals {
        replies: replies.get(&m.id).copied().unwrap_or(0),
        reactions: m.reaction_count,
        pinned: m.pinned,
        position: index as f32 / messages.len().max(1) as f32,
        words,
    }
}

/// Key points grow with the window: 4 for a handful of messages, up to 7 for thousands.
fn key_point_cap(msgs: &[Msg<'_>]) -> usize {
    let humans = msgs.iter().filter(|m| m.human).count().max(1);
    (3.0 + (humans as f32).log10() * 1.5)
        .round()
        .clamp(3.0, 7.0) as usize
}

/// The best `cap` candidates, skipping near-duplicates, in the order they were written.
fn select(mut candidates: Vec<detect::Candidate>, cap: usize) -> Vec<Point> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
    let mut chosen: Vec<detect::Candidate> = Vec::new();
    for candidate in candidates {
        if chosen.len() >= cap {
            break;
        }
        let duplicate = chosen
            .iter()
            .any(|c| text::jaccard(&c.words, &candidate.words) >= 0.6 || c.text == candidate.text);
        if !duplicate {
            chosen.push(candidate);
        }
    }
    chosen.sort_by_key(|c| c.order);
    chosen
        .into_iter()
        .map(|c| Point {
            text: c.text,
            citations: c.citations,
        })
        .collect()
}

#[cfg(test)]
mod tests;
