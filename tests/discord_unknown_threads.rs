//! Threads the bot's gateway cache does not know, end to end against the fake Discord (which,
//! like Discord, leaves archived threads out of GUILD_CREATE and sends no event for them): a
//! `threads:true` (or forum) summary finds the threads archived within its window over REST, paging only
//! as far back as the window needs, and a private thread the bot is not a member of is refused
//! with the reason instead of summarized as empty.

mod support;

use std::time::Duration;

use serde_json::json;
use support::discord_bot::{DiscordBot as Bot, WAIT};
use support::fake_discord::{
    embeds_text, forum, id_ago, message, slash_command, snowflake_time_ms, thread, FakeDiscord,
    RestCall, ALICE, APP_ID, GENERAL, GUILD,
};

/// The archived thread with messages in the window (archived 20 h ago: on the second page).
const ARCHIVED: u64 = 219_000_000_000_000_999;
/// A private thread the bot is not a member of.
const PRIVATE: u64 = 218_000_000_000_000_001;

fn hours(h: u64) -> Duration {
    Duration::from_secs(3600 * h)
}

fn archived_listings(fake: &FakeDiscord) -> Vec<RestCall> {
    let path = format!("/api/v10/channels/{GENERAL}/threads/archived/public");
    fake.calls()
        .into_iter()
        .filter(|c| c.path == path)
        .collect()
}

#[test]
fn threads_archived_before_the_bot_connected_are_found_over_rest_as_far_back_as_the_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    // 51 threads archived in the last hour, one 20 h ago with messages, 60 archived days ago.
    for i in 0..51 {
        let t = thread(
            219_000_000_000_000_000 + i,
            GENERAL,
            &format!("recent-{i}"),
            11,
        );
        fake.add_archived_thread(t, Duration::from_secs(60 + i * 10));
    }
    let plans = thread(ARCHIVED, GENERAL, "archived-release-plans", 11);
    fake.add_archived_thread(plans, hours(20));
    for i in 0..60 {
        let t = thread(
            217_000_000_000_000_000 + i,
            GENERAL,
            &format!("old-{i}"),
            11,
        );
        fake.add_archived_thread(t, hours(48 + i));
    }
    let history: Vec<_> = [
        "Action item: Bob will tag v2.0 after the review.",
        "The release notes are ready for review.",
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| {
        let id = id_ago(hours(22), i as u64 + 1);
        message(ARCHIVED, id, ALICE, text, snowflake_time_ms(id))
    })
    .collect();
    fake.add_history(history);
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    assert!(
        fake.guild_create_payload()["threads"] == json!([]),
        "archived threads are not in GUILD_CREATE"
    );
    fake.inject_message(
        GENERAL,
        id_ago(hours(1), 9),
        ALICE,
        "We decided to ship on Friday.",
    );

    let opts = json!([{"name": "threads", "type": 5, "value": true}]);
    fake.inject_interaction(&slash_command(9101, ALICE, GENERAL, &opts));
    let text = embeds_text(&bot.wait_summary(&fake, 9101));
    assert!(text.contains("archived-release-plans"), "{text}");
    assert!(
        text.contains(&ARCHIVED.to_string()),
        "no thread link: {text}"
    );

    // Page 1 (100 threads, has_more) ends at a thread archived before the window: no page 2.
    let listings = archived_listings(&fake);
    assert_eq!(listings.len(), 1, "{listings:?}");
    assert_eq!(listings[0].query_param("before"), None);
    bot.stop();
}

#[test]
fn listing_pages_back_with_before_until_the_window_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    // 110 threads archived within the last 2 hours (the one with messages last), none older.
    for i in 0..110 {
        let t = thread(
            219_000_000_000_000_000 + i,
            GENERAL,
            &format!("recent-{i}"),
            11,
        );
        fake.add_archived_thread(t, Duration::from_secs(60 + i * 10));
    }
    fake.add_archived_thread(thread(ARCHIVED, GENERAL, "late-plans", 11), hours(2));
    let id = id_ago(hours(3), 1);
    let text = "The release notes are ready for review.";
    fake.add_history(vec![message(
        ARCHIVED,
        id,
        ALICE,
        text,
        snowflake_time_ms(id),
    )]);
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    fake.inject_message(GENERAL, id_ago(hours(1), 9), ALICE, "Ship on Friday.");

    let opts = json!([{"name": "threads", "type": 5, "value": true}]);
    fake.inject_interaction(&slash_command(9102, ALICE, GENERAL, &opts));
    let summary = embeds_text(&bot.wait_summary(&fake, 9102));
    assert!(summary.contains("late-plans"), "{summary}");
    let listings = archived_listings(&fake);
    assert_eq!(listings.len(), 2, "{listings:?}");
    let before = listings[1]
        .query_param("before")
        .expect("page 2 has before");
    assert!(before.contains("%3A"), "the timestamp is escaped: {before}");
    bot.stop();
}

#[test]
fn a_forum_summary_covers_posts_archived_before_the_bot_connected() {
    const FORUM: u64 = 220_000_000_000_000_001;
    const POST: u64 = 221_000_000_000_000_001;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    fake.dispatch("CHANNEL_CREATE", &forum(FORUM, "help-forum"));
    fake.add_archived_thread(
        thread(POST, FORUM, "How do I install on a Pi?", 11),
        hours(3),
    );
    let lines = [
        "Download the aarch64 archive and run install.sh.",
        "The install script needs sudo for the systemd unit.",
    ];
    let history = lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let id = id_ago(hours(4), i as u64 + 1);
            message(POST, id, ALICE, text, snowflake_time_ms(id))
        })
        .collect();
    fake.add_history(history);
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    let opts = json!([{"name": "channel", "type": 7, "value": FORUM.to_string()}]);
    fake.inject_interaction(&slash_command(9301, ALICE, GENERAL, &opts));
    let text = embeds_text(&bot.wait_summary(&fake, 9301));
    assert!(text.contains("Summary of #help-forum"), "{text}");
    assert!(text.contains(" 2 messages"), "{text}");
    assert!(
        text.contains(&format!(
            "[How do I install on a Pi?](https://discord.com/channels/{GUILD}/{POST}) — 2 messages"
        )),
        "{text}"
    );
    bot.stop();
}

#[test]
fn a_private_thread_the_bot_is_not_in_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    fake.make_private_thread(PRIVATE);
    let id = id_ago(hours(1), 1);
    let text = "Salary numbers for the staff meeting.";
    fake.add_history(vec![message(
        PRIVATE,
        id,
        ALICE,
        text,
        snowflake_time_ms(id),
    )]);
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    // Run inside the thread; the bot never got its THREAD_CREATE (it is not a member).
    let ask = |id: u64| {
        let mut i = slash_command(id, ALICE, PRIVATE, &json!([]));
        i["channel"]["type"] = json!(12);
        fake.inject_interaction(&i);
    };
    ask(9201);
    let path = format!("/api/v10/webhooks/{APP_ID}/token-9201/messages/@original");
    let answer = fake
        .wait_for_call(WAIT, |c| c.method == "PATCH" && c.path == path)
        .unwrap_or_else(|| panic!("no answer:\n{}", bot.log()));
    assert_eq!(
        answer.json["content"],
        format!(
            "I am not a member of the private thread <#{PRIVATE}>, so I cannot read it: add me \
             to the thread (mention me in it), then try again."
        )
    );

    fake.add_bot_to_thread(PRIVATE);
    ask(9202);
    let summary = embeds_text(&bot.wait_summary(&fake, 9202));
    assert!(summary.contains(" 1 message"), "{summary}");
    bot.stop();
}
