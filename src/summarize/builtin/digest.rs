//! The short summaries (`brief`, `standard`): sentence- and list-item-sized points chosen by
//! importance until the reader's character budget is spent. Outcomes and decisions first, then
//! owner-named action items, questions still open, the central discussion points, and code
//! changes, technical details and links only if room is left. Acknowledgments count for what they
//! answer; duplicates are merged.

use std::collections::{HashMap, HashSet};

use super::detect::{action_text, Candidate};
use super::phrases::Phrases;
use super::rank::{self, Signals};
use super::units::{self, shared, Unit, Units};
use super::{code, links, questions, text, Msg};
use crate::model::{Detail, MessageId, Point, Section, SectionKind};

/// Longest point text in a standard summary (chars).
const STANDARD_POINT: usize = 160;
/// Longest point text in a brief summary (chars).
const BRIEF_POINT: usize = 110;
/// Estimated visible characters of one citation (" 12").
const CITATION_CHARS: usize = 3;
/// Best candidates per section compared with each other for duplicates.
const MERGE_POOL: usize = 256;
/// Most citations a short summary's point carries.
const POINT_CITATIONS: usize = 2;

/// How much a window of this size and this level may say: the reader's budget, and for small
/// windows a share of what was written (a summary is shorter than what it summarizes).
pub(crate) fn budget(msgs: &[Msg<'_>], detail: Detail, header: usize) -> usize {
    let Some(limit) = detail.char_budget() else {
        return usize::MAX;
    };
    let written: usize = msgs
        .iter()
        .filter(|m| m.human)
        .map(|m| m.prose.chars().count())
        .sum();
    // A share of what was written, over a floor that leaves room for a decision and an action
    // item with their headings (a three-message window still gets both). Floors and shares
    // measured on DialogSum (benches/rouge.rs): both levels beat LEAD-3 on ROUGE-1/2/L.
    let (floor, share) = if detail == Detail::Brief {
        (200, 8)
    } else {
        (160, 4)
    };
    limit.min(header + floor + written / share)
}

/// The sections of a short summary within `budget` visible characters, `header` of which the
/// summary's header line takes.
pub(crate) fn sections(
    msgs: &[Msg<'_>],
    detail: Detail,
    dev: bool,
    header: usize,
    ph: &Phrases,
) -> Vec<Section> {
    let budget = budget(msgs, detail, header);
    let point_chars = if detail == Detail::Brief {
        BRIEF_POINT
    } else {
        STANDARD_POINT
    };
    let units = units::units(msgs);
    let scores = unit_scores(msgs, &units);
    let by_id: HashMap<MessageId, &Msg<'_>> = msgs.iter().map(|m| (m.raw.id, m)).collect();

    let mut decisions = Pool::default();
    let mut actions = Pool::default();
    let mut keys = Pool::default();
    for (u, &score) in units.list.iter().zip(&scores) {
        let m = &msgs[u.msg];
        let lower = u.text.to_ascii_lowercase();
        let point = |body: &str| format!("**{}**: {}", m.author, text::shorten(body, point_chars));
        if let Some(owner) = &u.owner {
            let task = u
                .text
                .split_once(':')
                .map_or(u.text.as_str(), |(_, t)| t.trim());
            let text = format!("**{owner}**: {}", text::shorten(task, point_chars));
            actions.push(candidate(score + 2.0, u, text, m));
        } else if u.question {
            // Open questions come from `questions`, which knows whether they were answered.
        } else if let Some(text) = action_text(m, &u.text, &lower, &by_id, false, ph) {
            // "put the numbers in it": the task needs the rest of the sentence to be understood.
            let vague = [" it", " that", " this", " them"]
                .iter()
                .any(|p| text.trim_end_matches(['.', '!']).ends_with(p));
            let text = if vague { point(&u.text) } else { text };
            actions.push(candidate(score + 1.0, u, text, m));
        } else if units::is_outcome(u, &lower) {
            decisions.push(candidate(score + 1.0, u, point(&u.text), m));
        } else if units.words(u).len() >= 3 {
            keys.push(candidate(score, u, point(&u.text), m));
        }
    }
    let mut wanted: Vec<(SectionKind, Vec<Candidate>)> = vec![
        (
            SectionKind::Decisions,
            merge_duplicates(decisions.best(&units), true),
        ),
        (
            SectionKind::ActionItems,
            merge_duplicates(actions.best(&units), true),
        ),
        (SectionKind::OpenQuestions, questions::open_questions(msgs)),
        (
            SectionKind::KeyPoints,
            merge_duplicates(keys.best(&units), false),
        ),
    ];
    if detail == Detail::Standard {
        if dev {
            wanted.push((SectionKind::CodeChanges, code::code_changes(msgs, ph)));
        }
        wanted.push((SectionKind::Technical, code::technical(msgs, ph)));
        wanted.push((SectionKind::Links, links::links(msgs, ph)));
    }
    fit(wanted, detail, budget.saturating_sub(header), point_chars)
}

/// A unit's candidate; its words are filled in by [`Pool::best`] if it is among the best.
fn candidate(score: f32, u: &Unit, text: String, m: &Msg<'_>) -> Candidate {
    Candidate::with_words(score, u.order, text, vec![m.raw.id], Vec::new())
}

/// Best first: higher score, then earlier.
fn best_first(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.order.cmp(&b.order))
}

/// The best [`MERGE_POOL`] candidates of one kind from the units: a huge window has a candidate
/// in nearly every sentence, but only the best are ever compared, so the rest are dropped as the
/// window is read (kept state is bounded, the result is the same as sorting them all).
#[derive(Default)]
struct Pool {
    kept: Vec<Candidate>,
}

impl Pool {
    fn push(&mut self, c: Candidate) {
        self.kept.push(c);
        if self.kept.len() >= 2 * MERGE_POOL {
            self.keep_best();
        }
    }

    fn keep_best(&mut self) {
        self.kept.sort_by(best_first);
        self.kept.truncate(MERGE_POOL);
    }

    /// The best candidates, best first, with their units' words.
    fn best(mut self, units: &Units) -> Vec<Candidate> {
        self.keep_best();
        for c in &mut self.kept {
            c.words = units.stems(&units.list[c.order]);
        }
        self.kept
    }
}

/// Each unit's importance: TF-IDF centrality among all units, weighted by its message's replies,
/// acknowledgments, reactions, pin and recency, and by emphasis.
fn unit_scores(msgs: &[Msg<'_>], units: &Units) -> Vec<f32> {
    let acks = units::acknowledgments(msgs);
    let (docs, terms) = units.docs();
    let central = rank::centrality(docs, terms);
    units
        .list
        .iter()
        .zip(central)
        .map(|(u, c)| {
            let m = &msgs[u.msg];
            let signals = Signals {
                replies: m.replies + acks.get(&m.raw.id).copied().unwrap_or(0),
                reactions: m.raw.reaction_count,
                pinned: m.raw.pinned,
                position: m.index as f32 / msgs.len().max(1) as f32,
                // A unit is a sentence: five content words say enough.
                words: units.words(u).len() * 8 / 5,
            };
            let emphasis = if u.emphasized { 1.5 } else { 1.0 };
            rank::combine(c, &signals) * emphasis
        })
        .collect()
}

/// Candidates on the same subject (and the same owner) merged into one that cites both: the more
/// important one, or with `later_wins` (decisions, tasks) the later statement, which supersedes.
fn merge_duplicates(mut candidates: Vec<Candidate>, later_wins: bool) -> Vec<Candidate> {
    candidates.sort_by(best_first);
    // Only the best few can be shown; comparing all of a huge window's would be quadratic.
    candidates.truncate(MERGE_POOL);
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        let owner = owner_of(&c.text);
        let same = kept.iter_mut().find(|k| {
            let overlap = shared(&k.words, &c.words);
            let similar = overlap * 2 >= k.words.len().min(c.words.len()).max(2);
            similar && (owner.is_none() || owner_of(&k.text) == owner) || k.text == c.text
        });
        match same {
            Some(k) => {
                if later_wins && c.order > k.order {
                    k.text = c.text;
                    k.order = c.order;
                    k.words = c.words;
                    let mut ids = c.citations;
                    ids.append(&mut k.citations);
                    k.citations = ids;
                    k.citations.dedup();
                    k.citations.truncate(POINT_CITATIONS);
                    continue;
                }
                for id in c.citations {
                    if !k.citations.contains(&id) && k.citations.len() < POINT_CITATIONS {
                        k.citations.push(id);
                    }
                }
            }
            None => kept.push(c),
        }
    }
    kept
}

/// The bold name a point starts with.
fn owner_of(text: &str) -> Option<&str> {
    text.strip_prefix("**")?.split("**").next()
}

/// Most points per section at each level.
fn cap(kind: SectionKind, detail: Detail) -> usize {
    let brief = detail == Detail::Brief;
    match kind {
        SectionKind::Decisions if brief => 5,
        SectionKind::Decisions => 6,
        SectionKind::ActionItems if brief => 3,
        SectionKind::ActionItems => 8,
        SectionKind::OpenQuestions if brief => 1,
        SectionKind::KeyPoints if brief => 2,
        SectionKind::OpenQuestions | SectionKind::KeyPoints => 4,
        _ => 2,
    }
}

/// Visible characters of a section heading with its blank line ("\n## Title\n").
fn heading_chars(kind: SectionKind) -> usize {
    kind.title().chars().count() + 5
}

/// Visible characters of a point's line ("- text 1 2\n").
fn point_chars(c: &Candidate) -> usize {
    c.text.chars().count() + 3 + CITATION_CHARS * c.citations.len()
}

/// Take the best candidates section by section, in priority order, while they fit the budget;
/// a message already shown is not shown again. Sections come back in display order.
fn fit(
    wanted: Vec<(SectionKind, Vec<Candidate>)>,
    detail: Detail,
    budget: usize,
    max_chars: usize,
) -> Vec<Section> {
    let mut left = budget;
    let mut shown: HashSet<MessageId> = HashSet::new();
    let mut shown_words: Vec<Vec<String>> = Vec::new();
    let mut sections = Vec::new();
    for (kind, mut candidates) in wanted {
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
        let mut chosen: Vec<Candidate> = Vec::new();
        for mut c in candidates {
            if chosen.len() >= cap(kind, detail) {
                break;
            }
            let minor = matches!(
                kind,
                SectionKind::Technical | SectionKind::CodeChanges | SectionKind::Links
            );
            if minor && c.citations.iter().all(|id| shown.contains(id)) {
                continue;
            }
            // An open question stays even when a task restates it ("open a discussion on X").
            let repeats = kind != SectionKind::OpenQuestions
                && shown_words
                    .iter()
                    .any(|w| shared(w, &c.words) * 5 >= 3 * w.len().min(c.words.len()).max(1));
            if repeats {
                continue;
            }
            c.text = text::shorten(&c.text, max_chars + 40);
            let cost = point_chars(&c)
                + if chosen.is_empty() {
                    heading_chars(kind)
                } else {
                    0
                };
            if cost > left {
                continue;
            }
            left -= cost;
            shown.extend(c.citations.iter().copied());
            shown_words.push(c.words.clone());
            chosen.push(c);
        }
        if !chosen.is_empty() {
            chosen.sort_by_key(|c| c.order);
            sections.push(Section {
                kind,
                points: chosen
                    .into_iter()
                    .map(|c| Point {
                        text: c.text,
                        citations: c.citations,
                    })
                    .collect(),
            });
        }
    }
    sections.sort_by_key(|s| SectionKind::ALL.iter().position(|k| *k == s.kind));
    sections
}

/// The summary's header line as the reader sees it, estimated: channel name, window, count and
/// up to three participants.
pub(crate) fn header_chars(channel: &str, participants: &[String], messages: usize) -> usize {
    let names: usize = participants
        .iter()
        .take(3)
        .map(|p| p.chars().count() + 2)
        .sum();
    let more = if participants.len() > 3 { 6 } else { 0 };
    // "**#" name "** · " window (41) " · N messages · participants: " names
    channel.chars().count() + 8 + 41 + 3 + messages.to_string().len() + 9 + 17 + names + more
}
