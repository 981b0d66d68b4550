//! Benchmark of the token budget: fitting and chunking 100,000 formatted chat messages
//! (`cargo bench --bench budget`; prints one line per measurement, median of several runs).

use std::time::{Duration, Instant};

use summarybot::model::{
    Author, ChannelId, ChatMessage, MessageId, MessageKind, Timestamp, UserId,
};
use summarybot::summarize::budget::{chunk_by_budget, count_tokens, fit_to_budget};
use summarybot::summarize::prompt::format_messages;

const MODEL: &str = "gpt-4o-mini";
const MESSAGES: usize = 100_000;
/// A 128k-context model minus an 8k output budget.
const BUDGET: usize = 120_000;
const RUNS: usize = 7;

const WORDS: &[&str] = &[
    "the",
    "deploy",
    "failed",
    "again",
    "because",
    "of",
    "a",
    "flaky",
    "test",
    "in",
    "CI",
    "I",
    "will",
    "look",
    "into",
    "it",
    "tomorrow",
    "can",
    "someone",
    "review",
    "PR",
    "#1234",
    "please",
    "thanks",
    "merged",
    "release",
    "v2.3.1",
    "is",
    "out",
    "🎉",
    "config",
    "timeout",
    "30s",
    "database",
    "migration",
    "rollback",
    "käse",
    "über",
    "naïve",
    "ok",
    "lol",
    "agreed",
];

/// Seeded xorshift, so every run measures the same input.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn chat(n: usize) -> Vec<ChatMessage> {
    let mut rng = Rng(0x00C0_FFEE);
    (0..n)
        .map(|i| {
            // Mostly short messages, some long ones, like a real channel.
            let words = if rng.below(20) == 0 {
                60 + rng.below(200)
            } else {
                2 + rng.below(25)
            };
            let content: Vec<&str> = (0..words).map(|_| WORDS[rng.below(WORDS.len())]).collect();
            let user = rng.below(40) as u64;
            ChatMessage {
                id: MessageId(1_000_000 + i as u64),
                channel_id: ChannelId(1),
                guild_id: None,
                author: Author {
                    id: UserId(user),
                    name: format!("member{user}"),
                    display_name: None,
                    is_bot: false,
                },
                timestamp: Timestamp(1_709_294_400_000 + 1_000 * i as i64),
                edited_at: None,
                kind: MessageKind::Default,
                content: content.join(" "),
                reply_to: None,
                attachments: Vec::new(),
                reaction_count: 0,
                pinned: false,
            }
        })
        .collect()
}

/// Median wall time of `RUNS` runs of `f`, and its last result.
fn measure<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    match last {
        Some(value) => (times[RUNS / 2], value),
        None => unreachable!("RUNS is not zero"),
    }
}

fn main() {
    let messages = chat(MESSAGES);
    let (format_time, lines) = measure(|| format_messages(&messages));
    println!(
        "format_messages: {MESSAGES} msgs, {} ms",
        format_time.as_millis()
    );

    let start = Instant::now();
    count_tokens(MODEL, "warm up");
    println!(
        "o200k encoder first use: {} ms",
        start.elapsed().as_millis()
    );

    let (fit_time, fit) = measure(|| fit_to_budget(MODEL, &lines, BUDGET));
    println!(
        "fit_to_budget: {MESSAGES} msgs -> kept {} ({} tokens of {BUDGET}, {} cut), {} ms",
        fit.lines.len(),
        fit.tokens,
        fit.cut,
        fit_time.as_millis()
    );

    let (all_time, all) = measure(|| fit_to_budget(MODEL, &lines, usize::MAX / 2));
    println!(
        "fit_to_budget (unbounded, counts every message): {MESSAGES} msgs -> {} tokens, {} ms",
        all.tokens,
        all_time.as_millis()
    );

    let (chunk_time, chunks) = measure(|| chunk_by_budget(MODEL, &lines, 8_000));
    println!(
        "chunk_by_budget: {MESSAGES} msgs -> {} chunks of <= 8000 tokens, {} ms",
        chunks.len(),
        chunk_time.as_millis()
    );
}
