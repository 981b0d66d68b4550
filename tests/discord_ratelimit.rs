//! Discord's rate limits (issue #19 item 4): the real binary against a fake Discord that enforces
//! per-route buckets and the global limit as Discord documents them and sends their headers. The
//! bot must keep within them ahead of time: every 429 counts towards Discord's invalid-request
//! limit (10,000 per 10 minutes, then an IP ban).

mod support;

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use support::discord_bot::{DiscordBot as Bot, WAIT};
use support::fake_discord::{
    embeds_text, id_ago, message, now_ms, snowflake_at, FakeDiscord, RestCall, ALICE, BOB, GENERAL,
};
use support::fake_openai::{FakeOpenAi, Fault};

/// A summary long enough for several Discord messages (6,000 characters of embeds each).
fn long_answer() -> String {
    let mut answer = String::new();
    for h in [
        "Key Discussion Points",
        "Decisions",
        "Action Items",
        "Details",
    ] {
        let _ = writeln!(answer, "## {h}");
        for i in 0..30 {
            let _ = writeln!(
                answer,
                "- Point {i} of {h}: {}",
                "a long explanation of what was said about the deploy plan and why ".repeat(2)
            );
        }
    }
    answer
}

#[test]
fn a_long_backfill_and_a_multi_part_summary_keep_within_the_buckets_without_a_429() {
    let llm = FakeOpenAi::start();
    llm.answer_all(Fault::Reply(long_answer()));
    let fake = FakeDiscord::start();
    // Discord-like limits: 3 requests a second per bucket (route + channel), 50 a second in all.
    fake.set_bucket_limit(3, Duration::from_secs(1));
    fake.set_global_limit(50);
    // 550 messages in the last 2 h (6 pages of 100), then an older one that ends the paging.
    let mut history: Vec<Value> = (0..550u64)
        .map(|i| {
            let sent = now_ms() - 6_000_000 + i * 10_000;
            let text = format!("History message {i}: the deploy plan needs review number {i}.");
            message(GENERAL, snowflake_at(sent, i), BOB, &text, sent)
        })
        .collect();
    let old = now_ms() - 5 * 3_600_000;
    history.push(message(
        GENERAL,
        snowflake_at(old, 999),
        BOB,
        "too old",
        old,
    ));
    fake.add_history(history);
    let dir = tempfile::tempdir().expect("tempdir");
    let llm_section = format!(
        "provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"fake-model\"",
        llm.base_url()
    );
    let mut bot = Bot::start_with_llm(dir.path(), &fake, "cooldown = \"0s\"", &llm_section);
    bot.wait_connected(&fake);

    fake.inject_message(
        GENERAL,
        id_ago(Duration::ZERO, 5000),
        ALICE,
        "!summary 2h full",
    );
    let sends = |c: &RestCall| {
        c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
    };
    // The last part carries the answer's last point.
    let last = fake.wait_for_call(WAIT * 2, |c| {
        sends(c) && embeds_text(c).contains("Point 29 of Details")
    });
    let last = last.unwrap_or_else(|| panic!("no summary:\n{}", bot.log()));
    let parts: Vec<RestCall> = fake.calls().into_iter().filter(|c| sends(c)).collect();
    let pages = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path == format!("/api/v10/channels/{GENERAL}/messages"))
        .count();
    bot.stop();

    assert_eq!(
        fake.served_429s(),
        0,
        "the bot drew 429s ({pages} history pages, {} parts):\n{}",
        parts.len(),
        bot.log()
    );
    assert_eq!(fake.invalid_requests(), 0);
    // Enough requests to one bucket that keeping within it took waiting.
    assert!(pages >= 6, "{pages} history pages");
    assert!(
        parts.len() >= 4,
        "{} parts: {}",
        parts.len(),
        embeds_text(&parts[0])
    );
    // The summary is whole: every message of the window (the command too), every part once.
    let footer = embeds_text(&last);
    assert!(footer.contains("551 messages"), "{footer}");
    let text: String = parts.iter().map(embeds_text).collect();
    for h in [
        "Key Discussion Points",
        "Decisions",
        "Action Items",
        "Details",
    ] {
        assert_eq!(
            text.matches(&format!("Point 29 of {h}")).count(),
            1,
            "{text}"
        );
    }
    assert_eq!(fake.created_messages(GENERAL), parts.len());
}

#[test]
fn a_gap_fill_of_many_pages_after_downtime_keeps_within_the_buckets_without_a_429() {
    use summarybot::model::{
        Author, ChannelId, ChatMessage, GuildId, MessageId, MessageKind, TimeWindow, Timestamp,
        UserId,
    };
    use summarybot::store::Store;
    use support::fake_discord::{GUILD, SECRET};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db/summarybot.redb");
    std::fs::create_dir_all(db.parent().expect("db dir")).expect("db dir");
    // What an earlier run stored: one message a channel, 15 minutes ago.
    let before = now_ms() - 900_000;
    {
        let store = Store::open(&db).expect("open");
        for (seq, channel) in [(1, GENERAL), (2, SECRET)] {
            let stored = ChatMessage {
                id: MessageId(snowflake_at(before, seq)),
                channel_id: ChannelId(channel),
                guild_id: Some(GuildId(GUILD)),
                author: Author {
                    id: UserId(ALICE),
                    name: "alice".into(),
                    display_name: None,
                    is_bot: false,
                },
                timestamp: Timestamp(i64::try_from(before).expect("time")),
                edited_at: None,
                kind: MessageKind::Default,
                content: "before the downtime".into(),
                reply_to: None,
                attachments: Vec::new(),
                reaction_count: 0,
                pinned: false,
            };
            store.upsert_messages(&[stored]).expect("store");
        }
    }
    // While the bot was down, 420 messages a channel were posted (5 pages of 100 each).
    let fake = FakeDiscord::start();
    let mut history = Vec::new();
    for (k, channel) in [GENERAL, SECRET].into_iter().enumerate() {
        for i in 0..420u64 {
            let sent = before + 60_000 + i * 1_000;
            let seq = 10 + k as u64 * 1000 + i;
            let text = format!("Posted while the bot was down, number {i}.");
            history.push(message(channel, snowflake_at(sent, seq), BOB, &text, sent));
        }
    }
    fake.add_history(history);
    fake.set_bucket_limit(3, Duration::from_secs(1));
    fake.set_global_limit(50);

    let mut bot = Bot::connected(dir.path(), &fake, "");
    let deadline = std::time::Instant::now() + WAIT * 2;
    while !bot.log().contains("gap fill finished") {
        assert!(
            std::time::Instant::now() < deadline,
            "no gap fill:\n{}",
            bot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pages = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/messages"))
        .count();
    bot.stop();
    assert_eq!(
        fake.served_429s(),
        0,
        "the gap fill drew 429s ({pages} pages):\n{}",
        bot.log()
    );
    assert!(pages >= 10, "{pages} pages");
    let store = bot.store();
    let all = TimeWindow {
        start: Timestamp(0),
        end: Timestamp(i64::MAX),
    };
    for channel in [GENERAL, SECRET] {
        let stored = store.messages_in(ChannelId(channel), all).expect("read");
        assert_eq!(stored.len(), 421, "channel {channel}");
    }
}

#[test]
fn a_digest_post_waits_for_a_bucket_the_bots_replies_used_up() {
    use support::appliance::Appliance;
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let app = Appliance::start_with(
        dir.path(),
        &fake,
        "cooldown = \"0s\"",
        "enabled = false",
        "",
    );
    app.wait_connected();
    fake.inject_message(
        GENERAL,
        id_ago(Duration::from_secs(60), 1),
        ALICE,
        "we ship on friday",
    );
    // Two sends a window per bucket: the bot's two replies use up the channel's.
    fake.set_bucket_limit(2, Duration::from_secs(6));
    let posts = |fake: &FakeDiscord| {
        fake.calls()
            .into_iter()
            .filter(|c| {
                c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
            })
            .collect::<Vec<_>>()
    };
    for seq in [2, 3] {
        fake.inject_message(GENERAL, id_ago(Duration::ZERO, seq), ALICE, "!summary 1");
    }
    app.wait_until(|| posts(&fake).len() == 2);
    // A webhook job posts to the same channel through the job workers' client.
    let job = app.finished_job(app.request_summary(GENERAL, "after-replies", Some(GENERAL)));
    assert_eq!(job["state"], "done", "{job}\n{}", app.log());
    let posts = posts(&fake);
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert_eq!(
        fake.served_429s(),
        0,
        "the job's post drew a 429:\n{}",
        app.log()
    );
    // It went once the bucket reset, not at once.
    assert!(posts[2].at.duration_since(posts[0].at) >= Duration::from_secs(5));
}
