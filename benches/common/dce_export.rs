//! A DiscordChatExporter JSON export of a made-up dev channel of any size (seeded, so every run
//! writes the same file), with every field DCE writes, chat-like message lengths (many short
//! lines, some paragraphs and code blocks) and a vocabulary that grows with the window (issue
//! numbers, versions, paths). Shared by `benches/window_memory.rs` and `tests/window_memory.rs`.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::rng::Rng;

/// The exported channel.
pub const CHANNEL_ID: u64 = 871_325_106_388_582_430;
/// First message time, milliseconds since the epoch (2026-11-01).
const START_MS: i64 = 1_793_491_200_000;

const PEOPLE: &[(&str, &str)] = &[
    ("mara.k", "Mara (maintainer)"),
    ("tobiasw", "Tobias"),
    ("priya_dev", "Priya"),
    ("kim.s", "Kim"),
    ("jordan", "Jordan"),
    ("lee-h", "Lee"),
    ("mika", "Mika"),
    ("noor.a", "Noor"),
    ("omar_b", "Omar"),
    ("rosa", "Rosa"),
    ("tomas.r", "Tomás"),
    ("yuki", "Yuki"),
    ("zoe.m", "Zoe"),
    ("ivan", "Ivan"),
    ("lena.f", "Lena"),
    ("chen.w", "Chen"),
    ("ada", "Ada"),
    ("bo", "Bo"),
    ("cleo", "Cleo"),
    ("dev.p", "Dev"),
    ("ana_g", "Ana"),
    ("felix", "Felix"),
    ("gus", "Gus"),
    ("hana", "Hana"),
];
const CHATTER: &[&str] = &[
    "lol",
    "nice",
    "thanks!",
    "ok",
    "brb",
    "same here",
    "haha true",
    "moin",
    "+1",
    "👍",
    "on it",
    "good morning all ☀️",
    "yep",
    "agreed",
    "ty",
    "looks good to me",
    "will do",
    "ah I see",
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
    "the webhook retries",
    "the arm64 image",
    "the flaky integration test",
    "the config loader",
    "the scheduler",
    "the websocket reconnect",
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
    "panics when the disk is full",
    "drops events under load",
    "was rolled back last night",
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
    " on Windows only",
    " with the new TLS stack",
];
const WORDS: &[&str] = &[
    "latency",
    "throughput",
    "rollback",
    "hotfix",
    "regression",
    "backport",
    "benchmark",
    "allocation",
    "timeout",
    "retry",
    "backoff",
    "deadline",
    "milestone",
    "changelog",
    "tarball",
    "checksum",
    "signature",
    "manifest",
    "container",
    "runner",
    "artifact",
    "coverage",
    "fixture",
    "snapshot",
    "cursor",
    "pagination",
    "shard",
    "replica",
    "quorum",
    "lease",
    "mutex",
    "channel",
    "buffer",
    "parser",
    "tokenizer",
    "encoder",
    "schema",
    "index",
    "vacuum",
    "compaction",
    "eviction",
    "threshold",
    "quota",
    "budget",
    "cron",
    "daemon",
    "socket",
    "proxy",
    "certificate",
    "handshake",
    "firmware",
    "kernel",
    "driver",
    "scheduler",
    "profile",
    "flamegraph",
    "heap",
    "stack",
    "panic",
    "unwind",
    "feature",
    "flag",
    "toggle",
    "rollout",
    "canary",
    "dashboard",
    "alert",
    "pager",
    "incident",
    "postmortem",
    "runbook",
    "ticket",
    "sprint",
    "standup",
    "review",
    "approval",
    "merge",
    "rebase",
    "conflict",
    "branch",
    "tag",
    "release",
    "candidate",
    "freeze",
];

/// Message text: chat-like lengths (median about 60 characters, a long tail of paragraphs and
/// code blocks) and a vocabulary that keeps growing (issue numbers, versions, paths).
fn content(rng: &mut Rng, i: usize) -> String {
    let subject = rng.pick(SUBJECTS);
    match rng.below(40) {
        0..=11 => rng.pick(CHATTER).to_string(),
        12..=25 => format!("I think {subject} {}{}.", rng.pick(VERBS), rng.pick(TAILS)),
        26 => format!("Does anyone know why {subject} {}?", rng.pick(VERBS)),
        27 => format!("I'll take a look at {subject} tomorrow and report back."),
        28 => format!(
            "<@{}> can you check {subject} before the release?",
            318_204_576_401_227_776_u64 + rng.below(PEOPLE.len()) as u64
        ),
        29 => format!("We decided to freeze {subject} until Friday, see #{}.", 1000 + rng.below(9000)),
        30 => format!(
            "Notes on {subject}: https://wiki.example.com/page/{}-{}",
            rng.pick(WORDS),
            rng.below(3000)
        ),
        31 => format!(
            "Error from {subject}:\n```\nthread 'main' panicked at src/{}/{}.rs:{}:{}\n{} reset by peer (os error 104)\n```",
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.below(900),
            rng.below(80),
            rng.pick(WORDS)
        ),
        32 => format!(
            "Try `cargo build --release -p {}-{}` after pulling v1.{}.{}",
            rng.pick(WORDS),
            i % 13,
            rng.below(40),
            rng.below(10)
        ),
        33 => format!(
            "Merged PR #{} for {subject}, branch feature/{}-{}.",
            100 + rng.below(9900),
            rng.pick(WORDS),
            rng.below(500)
        ),
        34..=37 => {
            let n = 3 + rng.below(4);
            paragraph(rng, subject, n)
        }
        38 => {
            let n = 8 + rng.below(10);
            paragraph(rng, subject, n)
        }
        _ => format!("{subject} {} :) <:party:{}>", rng.pick(VERBS), 1000 + rng.below(50)),
    }
}

/// A few sentences about `subject`, each mentioning some work words and an identifier.
fn paragraph(rng: &mut Rng, subject: &str, sentences: usize) -> String {
    let mut text = String::new();
    for s in 0..sentences {
        if s > 0 {
            text.push(' ');
        }
        let _ = match rng.below(4) {
            0 => write!(
                text,
                "The {} on {subject} {}{}.",
                rng.pick(WORDS),
                rng.pick(VERBS),
                rng.pick(TAILS)
            ),
            1 => write!(
                text,
                "After the {} the {} went from {} to {} ms.",
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.below(900),
                rng.below(900)
            ),
            2 => write!(
                text,
                "I opened #{} to track the {} and the {} separately.",
                1000 + rng.below(9000),
                rng.pick(WORDS),
                rng.pick(WORDS)
            ),
            _ => write!(
                text,
                "Can we get the {} into {}-{} before the {}?",
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.below(200),
                rng.pick(WORDS)
            ),
        };
    }
    text
}

/// RFC 3339 as DCE writes it (`2026-11-17T07:53:16.638+00:00`).
fn dce_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("valid time")
        .format("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        .to_string()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("string encodes")
}

/// Write a `messages`-long export of the bench channel to `path`; returns the total and median
/// content length.
pub fn write_export(path: &Path, messages: usize, seed: u64) -> (usize, usize) {
    let file = std::fs::File::create(path).expect("create export");
    let mut out = BufWriter::new(file);
    let mut rng = Rng(seed);
    write!(
        out,
        r#"{{"guild":{{"id":"871320551248576512","name":"Porchlight","iconUrl":"https://cdn.discordapp.com/icons/871320551248576512/a1b2c3d4.png?size=512"}},"channel":{{"id":"{CHANNEL_ID}","type":"GuildTextChat","categoryId":"871325038474420234","category":"Development","name":"dev","topic":"Porchlight core development"}},"dateRange":{{"after":null,"before":null}},"exportedAt":"2026-11-19T07:12:45.3318021+00:00","messages":["#
    )
    .expect("write");
    let mut lengths = Vec::with_capacity(messages);
    let first_id = 1_572_157_665_105_281_025_u64;
    for i in 0..messages {
        let id = first_id + (i as u64) * 4_096;
        let ms = START_MS + (i as i64) * 3_000 + rng.below(2_000) as i64;
        let who = rng.below(PEOPLE.len());
        let bot = rng.below(30) == 0;
        let (name, nick) = if bot { ("ci-bot", "CI") } else { PEOPLE[who] };
        let user_id = if bot {
            999_000_000_000_000_001
        } else {
            318_204_576_401_227_776 + who as u64
        };
        let text = content(&mut rng, i);
        lengths.push(text.len());
        let reply = (i > 0 && rng.below(6) == 0)
            .then(|| first_id + (i - 1 - rng.below(i.min(50))) as u64 * 4_096);
        let edited = (rng.below(15) == 0).then(|| dce_time(ms + 60_000));
        if i > 0 {
            out.write_all(b",").expect("write");
        }
        write!(
            out,
            r##"{{"id":"{id}","type":"{}","timestamp":"{}","timestampEdited":{},"callEndedTimestamp":null,"isPinned":{},"content":{},"author":{{"id":"{user_id}","name":"{name}","discriminator":"0000","nickname":"{nick}","color":"#E67E22","isBot":{bot},"roles":[{{"id":"1019374650118144004","name":"Contributors","color":"#2ECC71","position":2}}],"avatarUrl":"https://cdn.discordapp.com/avatars/{user_id}/f42daa1a3ad0.png?size=512"}},"attachments":["##,
            if reply.is_some() { "Reply" } else { "Default" },
            dce_time(ms),
            edited.map_or_else(|| "null".to_string(), |t| json_str(&t)),
            rng.below(800) == 0,
            json_str(&text),
        )
        .expect("write");
        if rng.below(40) == 0 {
            write!(
                out,
                r#"{{"id":"{}","url":"https://cdn.discordapp.com/attachments/{CHANNEL_ID}/{id}/trace-{i}.log","fileName":"trace-{i}.log","fileSizeBytes":{}}}"#,
                id + 1,
                1000 + rng.below(50_000)
            )
            .expect("write");
        }
        out.write_all(br#"],"components":[],"embeds":[],"stickers":[],"reactions":["#)
            .expect("write");
        if rng.below(8) == 0 {
            write!(
                out,
                r#"{{"emoji":{{"id":"","name":"👍","code":"thumbsup","isAnimated":false,"imageUrl":"https://cdn.jsdelivr.net/gh/twitter/twemoji@latest/assets/svg/1f44d.svg"}},"count":{},"users":[]}}"#,
                1 + rng.below(9)
            )
            .expect("write");
        }
        out.write_all(br#"],"mentions":[],"inlineEmojis":[]"#)
            .expect("write");
        if let Some(parent) = reply {
            write!(
                out,
                r#","reference":{{"messageId":"{parent}","channelId":"{CHANNEL_ID}","guildId":"871320551248576512"}}"#
            )
            .expect("write");
        }
        out.write_all(b"}").expect("write");
    }
    write!(out, r#"],"messageCount":{messages}}}"#).expect("write");
    out.flush().expect("flush");
    let total = lengths.iter().sum();
    lengths.sort_unstable();
    (total, lengths.get(lengths.len() / 2).copied().unwrap_or(0))
}
