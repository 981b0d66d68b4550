//! Quality benchmark of the builtin ranking: ROUGE-1/2/L F1 of its top sentences against the
//! three human references of each DialogSum dialogue, beside the LEAD-3 baseline (first three
//! turns). The data is read from disk, never copied into the repository:
//! `SUMMARYBOT_DIALOGSUM=/path/dev250.jsonl cargo bench --bench rouge` (or the path as first
//! argument; default `../shared/data/dialogsum/dev250.jsonl` beside the crate).

use std::collections::HashMap;

use summarybot::model::{
    Author, ChannelId, ChatMessage, MessageId, MessageKind, Timestamp, UserId,
};
use summarybot::summarize::builtin::extract_sentences;

/// Sentences the builtin extracts per dialogue: three, so its output is about as long as LEAD-3's
/// (a fair comparison; top-2 is printed too).
const BUILTIN_SENTENCES: usize = 3;

const DEFAULT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/dialogsum/dev250.jsonl"
);

/// One dialogue: its turns as chat messages and its human reference summaries.
struct Dialogue {
    messages: Vec<ChatMessage>,
    references: Vec<String>,
}

/// F1 scores of one system, summed over dialogues.
#[derive(Default, Clone, Copy)]
struct Scores {
    rouge1: f64,
    rouge2: f64,
    rouge_l: f64,
}

fn data_path() -> String {
    std::env::var("SUMMARYBOT_DIALOGSUM")
        .ok()
        .or_else(|| std::env::args().skip(1).find(|a| !a.starts_with('-')))
        .unwrap_or_else(|| DEFAULT_PATH.to_string())
}

/// Lowercase alphanumeric tokens, no stemming.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
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

/// ROUGE-1, -2 and -L F1 of a candidate, each averaged over the references.
fn score(candidate: &str, references: &[String]) -> Scores {
    let cand = tokens(candidate);
    let mut total = Scores::default();
    for reference in references {
        let refs = tokens(reference);
        total.rouge1 += rouge_n(&cand, &refs, 1);
        total.rouge2 += rouge_n(&cand, &refs, 2);
        total.rouge_l += f1(lcs(&cand, &refs), cand.len(), refs.len());
    }
    let n = references.len().max(1) as f64;
    Scores {
        rouge1: total.rouge1 / n,
        rouge2: total.rouge2 / n,
        rouge_l: total.rouge_l / n,
    }
}

/// `#Person1#: text` lines as chat messages by Person1, Person2, ...
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

/// A summarizer under evaluation: dialogue turns in, summary text out.
type System = Box<dyn Fn(&[ChatMessage]) -> String>;

fn lead(messages: &[ChatMessage], turns: usize) -> String {
    messages
        .iter()
        .take(turns)
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

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
    let systems: Vec<(String, System)> = vec![
        (
            format!("builtin top-{BUILTIN_SENTENCES} sentences"),
            Box::new(|m: &[ChatMessage]| extract_sentences(m, BUILTIN_SENTENCES).join(" ")),
        ),
        (
            "builtin top-2 sentences".to_string(),
            Box::new(|m: &[ChatMessage]| extract_sentences(m, 2).join(" ")),
        ),
        (
            "LEAD-3 (first 3 turns)".to_string(),
            Box::new(|m: &[ChatMessage]| lead(m, 3)),
        ),
    ];
    println!(
        "ROUGE F1 on {} DialogSum dialogues (mean over dialogues of the mean over 3 references)",
        dialogues.len()
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>10}",
        "system", "R-1", "R-2", "R-L", "avg words"
    );
    for (name, system) in &systems {
        let mut sum = Scores::default();
        let mut words = 0;
        for d in &dialogues {
            let candidate = system(&d.messages);
            words += tokens(&candidate).len();
            let s = score(&candidate, &d.references);
            sum.rouge1 += s.rouge1;
            sum.rouge2 += s.rouge2;
            sum.rouge_l += s.rouge_l;
        }
        let n = dialogues.len() as f64;
        println!(
            "{name:<28} {:>8.4} {:>8.4} {:>8.4} {:>10.1}",
            sum.rouge1 / n,
            sum.rouge2 / n,
            sum.rouge_l / n,
            words as f64 / n
        );
    }
}

/// Check the ROUGE code against hand-computed values before trusting its figures (a bench with
/// `harness = false` runs no `#[test]`s, so the check runs on every bench run).
fn self_check() -> Result<(), String> {
    let cand = tokens("The cat sat on the mat.");
    let refs = tokens("the cat lay on the MAT");
    let checks = [
        ("ROUGE-1", rouge_n(&cand, &refs, 1), 5.0 / 6.0),
        ("ROUGE-2", rouge_n(&cand, &refs, 2), 3.0 / 5.0),
        (
            "ROUGE-L",
            f1(lcs(&cand, &refs), cand.len(), refs.len()),
            5.0 / 6.0,
        ),
        ("empty reference", rouge_n(&cand, &[], 1), 0.0),
    ];
    for (name, got, want) in checks {
        if (got - want).abs() > 1e-9 {
            return Err(format!("{name} self-check failed: got {got}, want {want}"));
        }
    }
    Ok(())
}
