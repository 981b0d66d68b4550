//! Member privacy benchmark: the commands that scan every stored message by author
//! (`/summarybot my-data`, `forget-me`, `summarybot forget`) on a store of 200k messages, and
//! what the opt-out check costs the ingest path.
//!
//! Run with `cargo bench --bench privacy` (or `--profile dev` for a debug figure); prints one
//! line per figure.

use std::time::Instant;

use summarybot::model::{
    Author, ChannelId, ChatMessage, GuildId, MessageId, MessageKind, Timestamp, UserId,
};
use summarybot::store::Store;

/// Messages stored before the scans.
const MESSAGES: u64 = 200_000;
/// Channels they are spread over.
const CHANNELS: u64 = 20;
/// Distinct authors (each wrote MESSAGES / AUTHORS).
const AUTHORS: u64 = 40;
/// Messages per durable transaction.
const BATCH: usize = 1_000;

/// Message `n`: channel, author and time spread evenly.
fn message(n: u64) -> ChatMessage {
    ChatMessage {
        id: MessageId(n + 1),
        channel_id: ChannelId((n / 7) % CHANNELS + 1),
        guild_id: Some(GuildId(1)),
        author: Author {
            id: UserId(n % AUTHORS + 1),
            name: format!("member{}", n % AUTHORS),
            display_name: None,
            is_bot: false,
        },
        timestamp: Timestamp(1_700_000_000_000 + (n as i64) * 1_000),
        edited_at: None,
        kind: MessageKind::Default,
        content: format!(
            "message {n}: a typical chat line about the deploy, the review queue and lunch plans"
        ),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: 0,
        pinned: false,
    }
}

/// Seconds to store `msgs` in batches of [`BATCH`].
fn ingest(store: &Store, msgs: &[ChatMessage]) -> Result<f64, Box<dyn std::error::Error>> {
    let started = Instant::now();
    for batch in msgs.chunks(BATCH) {
        store.ingest_messages(batch, Timestamp(0))?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all: Vec<ChatMessage> = (0..MESSAGES).map(message).collect();
    // The same messages into two stores, the second with one member opted out (who wrote
    // nothing here): every write of the second checks the opt-out table.
    let other = tempfile::tempdir()?;
    let unchecked = Store::open(&other.path().join("bench.redb"))?;
    let plain = ingest(&unchecked, &all)?;
    unchecked.close()?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.redb"))?;
    store.forget_user(UserId(AUTHORS + 7), Timestamp(0), None)?;
    let checked = ingest(&store, &all)?;
    println!(
        "ingest of {MESSAGES} msgs: {:.0} msgs/s with no member opted out, {:.0} msgs/s with one \
         ({:.2}x the time)",
        all.len() as f64 / plain,
        all.len() as f64 / checked,
        checked / plain
    );

    let user = UserId(3);
    let started = Instant::now();
    let data = store.user_data(user)?;
    let scan = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "my-data: {} of {MESSAGES} msgs in {} channels found in {scan:.0} ms",
        data.messages(),
        data.channels.len()
    );

    let started = Instant::now();
    let forgotten = store.forget_user(user, Timestamp(1), None)?;
    let forget = started.elapsed().as_secs_f64() * 1000.0;
    if forgotten.messages != data.messages() {
        return Err(format!("forgot {} of {}", forgotten.messages, data.messages()).into());
    }
    println!(
        "forget: {} msgs deleted of {MESSAGES} (one transaction) in {forget:.0} ms",
        forgotten.messages
    );
    store.close()?;
    Ok(())
}
