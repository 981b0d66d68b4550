//! Store benchmark: durable batched ingest throughput and the read time of a 24 h window.
//!
//! Run with `cargo bench --bench store`; prints one line per figure.

use std::time::Instant;

use summarybot::model::{
    Author, ChannelId, ChatMessage, GuildId, MessageId, MessageKind, TimeWindow, Timestamp, UserId,
};
use summarybot::store::Store;

/// Messages per durable transaction.
const BATCH: usize = 1_000;
/// Messages in the summarized channel's 24 h window.
const WINDOW_MESSAGES: u64 = 50_000;
/// The end of the window.
const END_MS: i64 = 1_767_225_600_000;
/// 24 hours in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// Window reads to average over.
const READS: u32 = 5;

/// Message `n` of `channel`, spread evenly over the day ending `day_end`.
fn message(channel: u64, n: u64, total: u64, day_end: i64) -> ChatMessage {
    let offset = (n as i64) * DAY_MS / (total as i64);
    ChatMessage {
        id: MessageId(channel * 10_000_000 + n + 1),
        channel_id: ChannelId(channel),
        guild_id: Some(GuildId(1)),
        author: Author {
            id: UserId(n % 40 + 1),
            name: format!("member{}", n % 40),
            display_name: None,
            is_bot: false,
        },
        timestamp: Timestamp(day_end - DAY_MS + offset),
        edited_at: None,
        kind: MessageKind::Default,
        content: format!(
            "message {n}: a typical chat line about the deploy, the review queue and lunch plans"
        ),
        reply_to: (n.is_multiple_of(5) && n > 0).then(|| MessageId(channel * 10_000_000 + n)),
        attachments: Vec::new(),
        reaction_count: (n % 3) as u32,
        pinned: false,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.redb"))?;

    // The summarized channel's day, plus as much older traffic in another channel.
    let mut all: Vec<ChatMessage> = (0..WINDOW_MESSAGES)
        .map(|n| message(1, n, WINDOW_MESSAGES, END_MS))
        .collect();
    all.extend((0..WINDOW_MESSAGES).map(|n| message(2, n, WINDOW_MESSAGES, END_MS - DAY_MS)));

    let started = Instant::now();
    for batch in all.chunks(BATCH) {
        store.upsert_messages(batch)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "store ingest: {} msgs in {secs:.2} s = {:.0} msgs/s (batch {BATCH}, durable commits)",
        all.len(),
        all.len() as f64 / secs
    );

    let window = TimeWindow::last_hours(Timestamp(END_MS), 24);
    let mut read = 0;
    let started = Instant::now();
    for _ in 0..READS {
        read = store.messages_in(ChannelId(1), window)?.len();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(READS);
    if read as u64 != WINDOW_MESSAGES {
        return Err(format!("read {read} messages, expected {WINDOW_MESSAGES}").into());
    }
    println!("store window read: {read} msgs (24 h, one channel) in {ms:.1} ms (mean of {READS})");

    let stats = store.stats()?;
    println!(
        "store file: {:.1} MB for {} msgs",
        stats.file_bytes as f64 / 1e6,
        all.len()
    );
    store.close()?;
    Ok(())
}
