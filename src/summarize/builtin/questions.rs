//! Open questions: questions nobody answered in the window. A question counts as answered when
//! someone else replies to it, when the next message by someone else soon after is not itself a
//! question, or when a later message settles it (a resolution word and the question's subject).
//! An answer that defers ("good question, I don't know", "open question for ...") keeps it open,
//! and so does a question its author calls open. Near-duplicate questions are merged.

use std::collections::{HashMap, HashSet};

use super::detect::{find_any, sentences_of, Candidate};
use super::units::{is_ack, shared, stems};
use super::Msg;
use crate::model::MessageId;

/// Unanswered questions followed at once while scanning for later resolutions.
const PENDING: usize = 64;
/// Open questions kept from a huge window (the most recent), so merging stays cheap.
const KEPT: usize = 256;
/// Messages after a question searched for a direct answer.
const LOOK_AHEAD: usize = 3;
/// How soon a direct answer comes.
const ANSWER_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Answers that say the question stays open.
const DEFERRALS: &[&str] = &[
    "open question",
    "don't know",
    "dont know",
    "not sure",
    "no idea",
    "good question",
    "dunno",
    "tbd",
    "decide later",
];

/// Words of a message that settles an earlier question.
const RESOLUTIONS: &[&str] = &[
    "decided",
    "decision",
    "merged",
    "merging",
    "finished",
    "landed",
    "shipped",
    "released",
    "fixed",
    "confirmed",
    "resolved",
    "done",
    "works",
    "we'll go with",
    "going with",
    "let's say",
    "answer is",
];

struct Question<'m, 'a> {
    msg: &'m Msg<'a>,
    text: String,
    stems: Vec<String>,
}

/// Questions still open at the end of the window, as attributed points.
pub(crate) fn open_questions(msgs: &[Msg<'_>]) -> Vec<Candidate> {
    let humans: Vec<&Msg<'_>> = msgs.iter().filter(|m| m.human).collect();
    let authors: HashMap<MessageId, _> = msgs.iter().map(|m| (m.raw.id, m.raw.author.id)).collect();
    let replied: HashSet<MessageId> = humans
        .iter()
        .filter(|m| !defers(m))
        .filter_map(|m| {
            let parent = m.raw.reply_to?;
            let author = authors.get(&parent)?;
            (*author != m.raw.author.id).then_some(parent)
        })
        .collect();
    let mut pending: Vec<Question<'_, '_>> = Vec::new();
    let mut out = Vec::new();
    for (k, m) in humans.iter().enumerate() {
        // Does this message settle an earlier question?
        if !m.prose.trim_end().ends_with('?') && find_any(&m.lower(), RESOLUTIONS).is_some() {
            let words = stems(&m.prose);
            pending.retain(|q| shared(&q.stems, &words) < 2);
        }
        let Some((text, flagged_open)) = question_of(m) else {
            continue;
        };
        let answered =
            !flagged_open && (replied.contains(&m.raw.id) || answered_soon(m, &humans[k + 1..]));
        if answered {
            continue;
        }
        if pending.len() == PENDING {
            out.push(pending.remove(0));
            if out.len() > KEPT {
                out.remove(0);
            }
        }
        pending.push(Question {
            msg: m,
            stems: stems(&text),
            text,
        });
    }
    out.extend(pending);
    let mut merged: Vec<Question<'_, '_>> = Vec::new();
    for q in out {
        // A later question on the same subject replaces an earlier one.
        merged.retain(|p| shared(&p.stems, &q.stems) * 2 < p.stems.len().min(q.stems.len()).max(2));
        merged.push(q);
    }
    merged
        .into_iter()
        .map(|q| Candidate::from_msg(q.msg, 0.0, &q.text))
        .collect()
}

/// The message's last real question (four words or more), and whether its author calls it open.
fn question_of(m: &Msg<'_>) -> Option<(String, bool)> {
    let question = sentences_of(m)
        .map(|(s, _)| s)
        .filter(|s| s.ends_with('?') && s.split_whitespace().count() >= 4)
        .last()?;
    let flagged = find_any(&question.to_ascii_lowercase(), &["open question"]).is_some();
    Some((question.to_string(), flagged))
}

fn defers(m: &Msg<'_>) -> bool {
    find_any(&m.lower(), DEFERRALS).is_some()
}

/// True when one of the next few messages by someone else, soon after, answers: it is not a
/// question itself (its first sentence) and does not defer.
fn answered_soon(m: &Msg<'_>, after: &[&Msg<'_>]) -> bool {
    after
        .iter()
        .take(LOOK_AHEAD)
        .filter(|n| n.raw.author.id != m.raw.author.id)
        .find(|n| n.raw.timestamp.millis() - m.raw.timestamp.millis() <= ANSWER_WINDOW_MS)
        .is_some_and(|n| {
            if is_ack(&n.prose) {
                return true;
            }
            let first = sentences_of(n).next();
            first.is_some_and(|(s, lower)| {
                !s.ends_with('?') && find_any(&lower, DEFERRALS).is_none()
            })
        })
}
