//! Quality benchmark of the builtin summarizer on DialogSum, with the protocol of issue #17:
//! ROUGE-1/2/L F1 with Google `rouge-score` semantics (lowercase, every non-`[a-z0-9]` character
//! a separator, Porter stemmer on tokens longer than three letters, ROUGE-L = LCS F1), the best of
//! the three references per dialogue and metric, mean over dialogues. The builtin is scored on
//! the plain text a user sees: its rendered Markdown without the header line and without the
//! citation links. LEAD-3 (the first three turns) is computed the same way in the same run.
//! Besides all dialogues, each half of the file is scored on its own ("other dialogues").
//!
//! The data is read from disk, never copied into the repository:
//! `SUMMARYBOT_DIALOGSUM=/path/dev250.jsonl cargo bench --bench rouge` (or the path as first
//! argument; default `../shared/data/dialogsum/dev250.jsonl` beside the crate).
//! `cargo bench --bench rouge -- --dump <file>` also writes each (system, candidate, references)
//! as JSON lines, for cross-checking against the Python package.

#[path = "rouge/porter.rs"]
mod porter;

use std::collections::HashMap;

use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChannelKind, ChatMessage, Detail, MessageId, MessageKind,
    Summary, TimeWindow, Timestamp, TokenUsage, UserId,
};
use summarybot::summarize::builtin::BuiltinSummarizer;
use summarybot::summarize::engine::participants;
use summarybot::summarize::render::markdown;
use summarybot::summarize::SummaryInput;

const DEFAULT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/dialogsum/dev250.jsonl"
);

/// One dialogue: its turns as chat messages and its human reference summaries.
struct Dialogue {
    messages: Vec<ChatMessage>,
    references: Vec<String>,
}

/// F1 scores (0..1) of one candidate, or their sums over dialogues.
#[derive(Default, Clone, Copy, Debug)]
struct Scores {
    rouge1: f64,
    rouge2: f64,
    rouge_l: f64,
}

fn arg_after(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

fn data_path() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with('-') && (*i == 0 || args[i - 1] != "--dump"))
        .map(|(_, a)| a.clone());
    std::env::var("SUMMARYBOT_DIALOGSUM")
        .ok()
        .or(positional)
        .unwrap_or_else(|| DEFAULT_PATH.to_string())
}

/// rouge-score's tokenizer: lowercase, non-`[a-z0-9]` to spaces, stem words longer than 3.
fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.len() > 3 {
                porter::stem(t)
            } else {
                t.to_string()
            }
        })
        .collect()
}

fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

fn f1(overlap: usize, candidate: usize, reference: usize) -> f64 {
    if overlap == 0 || candidate == 0 || reference == 0 {
        return 0.0;
    }
    let precision = overlap as f64 / candidate as f64;
    let recall = overlap as f64 / reference as f64;
    2.0 * precision * recall / (precision + recall)
}

/// ROUGE-N F1 with clipped n-gram counts.
fn rouge_n(candidate: &[String], reference: &[String], n: usize) -> f64 {
    let cand = ngram_counts(candidate, n);
    let refs = ngram_counts(reference, n);
    let overlap: usize = cand
        .iter()
        .map(|(gram, &c)| c.min(refs.get(gram).copied().unwrap_or(0)))
        .sum();
    f1(
        overlap,
        candidate.len().saturating_sub(n - 1),
        reference.len().saturating_sub(n - 1),
    )
}

/// Length of the longest common subsequence of two token lists.
fn lcs(a: &[String], b: &[String]) -> usize {
    let mut row = vec![0_usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// ROUGE-1, -2 and -L F1 of a candidate against one reference.
fn score_one(candidate: &str, reference: &str) -> Scores {
    let cand = tokens(candidate);
    let refs = tokens(reference);
    Scores {
        rouge1: rouge_n(&cand, &refs, 1),
        rouge2: rouge_n(&cand, &refs, 2),
        rouge_l: f1(lcs(&cand, &refs), cand.len(), refs.len()),
    }
}

/// Each metric's best F1 over the references (rouge-score's `score_multi`).
fn score(candidate: &str, references: &[String]) -> Scores {
    references
        .iter()
        .map(|r| score_one(candidate, r))
        .fold(Scores::default(), |best, s| Scores {
            rouge1: best.rouge1.max(s.rouge1),
            rouge2: best.rouge2.max(s.rouge2),
            rouge_l: best.rouge_l.max(s.rouge_l),
        })
}

/// `#Person1#: text` lines as chat messages by Person1, Person2, ... half a minute apart.
fn to_messages(dialogue: &str) -> Vec<ChatMessage> {
    dialogue
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix('#')?;
            let (speaker, text) = rest.split_once("#:")?;
            Some((speaker.trim().to_string(), text.trim().to_string()))
        })
        .enumerate()
        .map(|(i, (speaker, content))| {
            let number: u64 = speaker
                .trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(99);
            ChatMessage {
                id: MessageId(1 + i as u64),
                channel_id: ChannelId(1),
                guild_id: None,
                author: Author {
                    id: UserId(number),
                    name: speaker,
                    display_name: None,
                    is_bot: false,
                },
                timestamp: Timestamp(1_700_000_000_000 + i as i64 * 30_000),
                edited_at: None,
                kind: MessageKind::Default,
                content,
                reply_to: None,
                attachments: Vec::new(),
                reaction_count: 0,
                pinned: false,
            }
        })
        .collect()
}

fn load(path: &str) -> Result<Vec<Dialogue>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{path} line {}: not JSON: {e}", n + 1))?;
        let dialogue = value["dialogue"]
            .as_str()
            .ok_or_else(|| format!("{path} line {}: no \"dialogue\" string", n + 1))?;
        let references: Vec<String> = ["summary1", "summary2", "summary3"]
            .iter()
            .filter_map(|k| value[*k].as_str().map(str::to_string))
            .collect();
        if references.is_empty() {
            return Err(format!("{path} line {}: no summary1..3 references", n + 1));
        }
        out.push(Dialogue {
            messages: to_messages(dialogue),
            references,
        });
    }
    Ok(out)
}

/// The builtin's summary as the user reads it: rendered Markdown without the header line and
/// without the citation links.
fn builtin(messages: &[ChatMessage], detail: Detail) -> String {
    let channel = ChannelInfo {
        id: ChannelId(1),
        guild_id: None,
        guild_name: None,
        name: "dialogue".to_string(),
        topic: None,
        parent_id: None,
    };
    let end = messages
        .last()
        .map_or(Timestamp(1_700_000_000_000), |m| m.timestamp);
    let window = TimeWindow::last_hours(end, 1);
    let draft = BuiltinSummarizer::new().summarize_now(SummaryInput {
        channel: &channel,
        kind: ChannelKind::General,
        window,
        messages,
        language: None,
        detail,
    });
    let summary = Summary {
        channel,
        window,
        message_count: messages.len(),
        participants: participants(messages),
        sections: draft.sections,
        provider: "builtin".to_string(),
        model: String::new(),
        usage: TokenUsage::default(),
        cached: false,
        fallback_reason: None,
        focus: None,
        created_at: end,
        language: None,
        withheld: 0,
        left_out: 0,
        cache_entry: None,
    };
    let rendered = markdown(&summary);
    let body = rendered.split_once('\n').map_or("", |(_, rest)| rest);
    without_citation_links(body)
}

/// Drop every ` [n](https://discord.com/channels/...)` citation link.
fn without_citation_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(" [") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let link = (digits > 0 && after[digits..].starts_with("](")).then(|| {
            after[digits + 2..]
                .find(')')
                .map(|close| digits + 2 + close + 1)
        });
        if let Some(end) = link.flatten() {
            rest = &after[end..];
        } else {
            out.push_str(" [");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The first three turns, joined.
fn lead3(messages: &[ChatMessage]) -> String {
    messages
        .iter()
        .take(3)
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A summarizer under evaluation: dialogue turns in, the text a user reads out.
type System = fn(&[ChatMessage]) -> String;

const SYSTEMS: &[(&str, System)] = &[
    ("builtin standard", |m| builtin(m, Detail::Standard)),
    ("builtin brief", |m| builtin(m, Detail::Brief)),
    ("LEAD-3", lead3),
];

fn main() {
    if let Err(e) = self_check() {
        eprintln!("rouge: {e}");
        std::process::exit(1);
    }
    let path = data_path();
    if !std::path::Path::new(&path).exists() {
        println!("rouge: skipped, DialogSum file not found at {path} (set SUMMARYBOT_DIALOGSUM or pass the path)");
        return;
    }
    let dialogues = match load(&path) {
        Ok(d) if !d.is_empty() => d,
        Ok(_) => {
            println!("rouge: skipped, {path} holds no dialogues");
            return;
        }
        Err(e) => {
            eprintln!("rouge: {e}");
            std::process::exit(1);
        }
    };
    let outputs: Vec<Vec<String>> = SYSTEMS
        .iter()
        .map(|(_, system)| dialogues.iter().map(|d| system(&d.messages)).collect())
        .collect();
    if let Some(file) = arg_after("--dump") {
        if let Err(e) = dump(&file, &dialogues, &outputs) {
            eprintln!("rouge: cannot write {file}: {e}");
            std::process::exit(1);
        }
    }
    let half = dialogues.len() / 2;
    let parts = [
        ("all", 0..dialogues.len()),
        ("first half", 0..half),
        ("second half", half..dialogues.len()),
    ];
    println!("ROUGE F1 x100 on DialogSum {path}: best of the references per dialogue, mean over dialogues");
    println!(
        "{:<12} {:<18} {:>7} {:>7} {:>7} {:>10}",
        "dialogues", "system", "R-1", "R-2", "R-L", "avg words"
    );
    for (label, range) in parts {
        for ((name, _), texts) in SYSTEMS.iter().zip(&outputs) {
            let mut sum = Scores::default();
            let mut words = 0;
            for i in range.clone() {
                let s = score(&texts[i], &dialogues[i].references);
                sum.rouge1 += s.rouge1;
                sum.rouge2 += s.rouge2;
                sum.rouge_l += s.rouge_l;
                words += tokens(&texts[i]).len();
            }
            let n = range.len().max(1) as f64;
            println!(
                "{:<12} {name:<18} {:>7.2} {:>7.2} {:>7.2} {:>10.1}",
                format!("{label} ({})", range.len()),
                100.0 * sum.rouge1 / n,
                100.0 * sum.rouge2 / n,
                100.0 * sum.rouge_l / n,
                words as f64 / n
            );
        }
    }
}

/// One JSON line per (system, dialogue): the candidate, its references and this scorer's F1s.
fn dump(file: &str, dialogues: &[Dialogue], outputs: &[Vec<String>]) -> std::io::Result<()> {
    let mut lines = String::new();
    for ((name, _), texts) in SYSTEMS.iter().zip(outputs) {
        for (d, text) in dialogues.iter().zip(texts) {
            let s = score(text, &d.references);
            let line = serde_json::json!({
                "system": name,
                "candidate": text,
                "references": d.references,
                "rouge1": s.rouge1,
                "rouge2": s.rouge2,
                "rougeL": s.rouge_l,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    std::fs::write(file, lines)
}

/// Check the scorer against hand-computed values before trusting its figures (a bench with
/// `harness = false` runs no `#[test]`s, so the check runs on every bench run).
fn self_check() -> Result<(), String> {
    let stems = [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("ties", "tie"),
        ("agreed", "agre"),
        ("hopping", "hop"),
        ("filing", "file"),
        ("happy", "happi"),
        ("relational", "relat"),
        ("generalization", "gener"),
        ("electrical", "electr"),
        ("adjustment", "adjust"),
        ("controll", "control"),
        ("dying", "die"),
        ("meetings", "meet"),
    ];
    for (word, want) in stems {
        let got = porter::stem(word);
        if got != want {
            return Err(format!("stemmer self-check: {word} -> {got}, want {want}"));
        }
    }
    let s = score_one("The cat sat on the mat.", "the cat lay on the MAT");
    let checks = [
        ("ROUGE-1", s.rouge1, 5.0 / 6.0),
        ("ROUGE-2", s.rouge2, 3.0 / 5.0),
        ("ROUGE-L", s.rouge_l, 5.0 / 6.0),
        ("empty reference", score_one("cat", "").rouge1, 0.0),
    ];
    for (name, got, want) in checks {
        if (got - want).abs() > 1e-9 {
            return Err(format!("{name} self-check failed: got {got}, want {want}"));
        }
    }
    let stripped =
        without_citation_links("- **A**: ok [1](https://x/1) [12](https://x/2) [a](b)\n");
    if stripped != "- **A**: ok [a](b)\n" {
        return Err(format!("citation stripping self-check: {stripped:?}"));
    }
    Ok(())
}
