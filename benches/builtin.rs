//! Benchmark of the builtin summarizer: time to summarize a synthetic (seeded) 10,000-message
//! channel at each detail level, and peak memory (VmHWM) while doing it. Run with
//! `cargo bench --bench builtin`.

use std::time::{Duration, Instant};

use summarybot::model::Detail;
use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChannelKind, ChatMessage, GuildId, MessageId, MessageKind,
    Summary, TimeWindow, Timestamp, UserId,
};
use summarybot::summarize::builtin::BuiltinSummarizer;
use summarybot::summarize::SummaryInput;

const MESSAGES: usize = 10_000;
const RUNS: usize = 5;

#[path = "common/rng.rs"]
#[allow(dead_code, reason = "each benchmark uses a part of it")]
mod rng;
use rng::Rng;

const NAMES: &[&str] = &[
    "Alex", "Sam", "Priya", "Kim", "Jordan", "Lee", "Mika", "Noor", "Omar", "Rosa", "Tomás",
    "Yuki", "Zoe", "Ivan", "Lena", "Chen", "Ada", "Bo", "Cleo", "Dev",
];
const SUBJECTS: &[&str] = &[
    "the deploy pipeline",
    "the redis cache",
    "the login page",
    "our API rate limits",
    "the billing export",
    "the mobile build",
    "the search index",
    "the onboarding docs",
    "the staging cluster",
    "the release notes",
    "the metrics dashboard",
    "the database migration",
];
const VERBS: &[&str] = &[
    "keeps timing out",
    "looks much faster now",
    "needs a review",
    "broke again after the update",
    "should move to the new region",
    "is blocked on the vendor",
    "passed all the checks",
    "uses too much memory on small boxes",
    "needs better error messages",
    "is ready for testing",
];
const TAILS: &[&str] = &[
    "",
    " since yesterday",
    " for most users",
    " on the Pi builds",
    " after the last merge",
    " according to the logs",
    " in the EU region",
    " when traffic spikes",
];
const CHATTER: &[&str] = &[
    "lol",
    "nice",
    "thanks!",
    "ok",
    "brb",
    "same here",
    "haha true",
    "good morning all",
    "+1",
];

fn content(rng: &mut Rng, i: usize) -> String {
    let subject = rng.pick(SUBJECTS);
    match rng.below(20) {
        0..=7 => format!("I think {subject} {}{}.", rng.pick(VERBS), rng.pick(TAILS)),
        8..=10 => rng.pick(CHATTER).to_string(),
        11 => format!("Does anyone know why {subject} {}?", rng.pick(VERBS)),
        12 => format!("I'll take a look at {subject} tomorrow and report back."),
        13 => format!("<@{}> can you check {subject} before the release?", 1 + rng.below(NAMES.len())),
        14 => format!("We decided to freeze {subject} until Friday."),
        15 => format!("Notes on {subject}: https://wiki.example.com/page/{}", rng.below(300)),
        16 => format!("Error from {subject}:\n```\nthread 'main' panicked at src/worker.rs:{}: connection reset\n```", rng.below(500)),
        17 => format!("Try `cargo build --release -p worker-{}` after pulling v1.{}.{}", i % 7, rng.below(20), rng.below(10)),
        18 => format!("Merged PR #{} for {subject}, branch feature/{}.", 100 + rng.below(900), rng.below(50)),
        _ => format!("{subject} {} :) <:party:{}>", rng.pick(VERBS), 1000 + rng.below(50)),
    }
}

fn channel_messages(count: usize, seed: u64) -> Vec<ChatMessage> {
    let mut rng = Rng(seed);
    let start = 1_700_000_000_000_i64;
    (0..count)
        .map(|i| {
            let user = rng.below(NAMES.len());
            let is_bot = rng.below(25) == 0;
            let reply_to = (i > 0 && rng.below(5) == 0).then(|| MessageId(1 + rng.below(i) as u64));
            ChatMessage {
                id: MessageId(1 + i as u64),
                channel_id: ChannelId(2),
                guild_id: Some(GuildId(1)),
                author: Author {
                    id: UserId(if is_bot { 999 } else { 1 + user as u64 }),
                    name: if is_bot {
                        "ci-bot".into()
                    } else {
                        NAMES[user].to_lowercase()
                    },
                    display_name: (!is_bot).then(|| NAMES[user].to_string()),
                    is_bot,
                },
                timestamp: Timestamp(start + i as i64 * 8_000),
                edited_at: None,
                kind: if reply_to.is_some() {
                    MessageKind::Reply
                } else {
                    MessageKind::Default
                },
                content: content(&mut rng, i),
                reply_to,
                attachments: Vec::new(),
                reaction_count: if rng.below(10) == 0 {
                    rng.below(12) as u32
                } else {
                    0
                },
                pinned: rng.below(500) == 0,
            }
        })
        .collect()
}

/// Peak resident set size so far (VmHWM), in kB, when /proc is available.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Print the Markdown rendering of the benchmark channel's summary, to eyeball its quality.
fn print_summary(input: SummaryInput<'_>) {
    let draft = BuiltinSummarizer::new().summarize_now(input);
    let summary = Summary {
        channel: input.channel.clone(),
        window: input.window,
        message_count: input.messages.len(),
        participants: NAMES.iter().map(|n| (*n).to_string()).collect(),
        sections: draft.sections,
        provider: "builtin".into(),
        model: summarybot::summarize::builtin::MODEL.into(),
        usage: draft.usage,
        cached: false,
        fallback_reason: None,
        focus: None,
        created_at: input.window.end,
        language: input.language.map(str::to_string),
        withheld: 0,
        left_out: 0,
        cache_entry: None,
    };
    println!("{}", summarybot::summarize::render::markdown(&summary));
}

fn main() {
    let channel = ChannelInfo {
        id: ChannelId(2),
        guild_id: Some(GuildId(1)),
        guild_name: Some("bench".into()),
        name: "dev-chat".into(),
        topic: None,
        parent_id: None,
    };
    let messages = channel_messages(MESSAGES, 0x5EED_1234_ABCD_0001);
    let bytes: usize = messages.iter().map(|m| m.content.len()).sum();
    let summarizer = BuiltinSummarizer::new();
    let before = peak_rss_kb();
    println!(
        "builtin summarizer, {MESSAGES} messages ({:.1} MB of text), {RUNS} runs per detail level",
        bytes as f64 / 1e6
    );
    for detail in Detail::ALL {
        let input = SummaryInput {
            channel: &channel,
            kind: ChannelKind::Dev,
            window: TimeWindow::last_hours(Timestamp(1_700_000_000_000 + 90_000_000), 25),
            messages: &messages,
            language: None,
            detail,
        };
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut points = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let draft = summarizer.summarize_now(input);
            times.push(started.elapsed());
            points = draft.sections.iter().map(|s| s.points.len()).sum();
        }
        if std::env::args().any(|a| a == "--print") {
            print_summary(input);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  {:<8}: min {:.1} ms, median {:.1} ms, max {:.1} ms; {points} points",
            detail.as_str(),
            ms(times[0]),
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1])
        );
    }
    let after = peak_rss_kb();
    match (before, after) {
        (Some(b), Some(a)) => println!(
            "  peak memory (VmHWM): {:.1} MB before, {:.1} MB after, +{:.1} MB while summarizing",
            b as f64 / 1024.0,
            a as f64 / 1024.0,
            a.saturating_sub(b) as f64 / 1024.0
        ),
        _ => println!("  peak memory: /proc/self/status not available on this system"),
    }
}
