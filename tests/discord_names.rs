//! End-to-end: an author's name is the same whichever way their messages came. The real binary
//! against the fake Discord, whose REST history lacks `member` and `guild_id` as Discord's does:
//! a backfilled message names its author by the server nickname like a live one, found with at
//! most one member fetch per distinct author.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::discord_bot::DiscordBot as Bot;
use support::fake_discord::{
    embeds_text, id_ago, message, now_ms, slash_command, snowflake_at, FakeDiscord, RestCall,
    ALICE, CAROL, DAVE, GENERAL, GUILD,
};

/// GETs of `user`'s member object in `GUILD`.
fn member_fetches(calls: &[RestCall], user: u64) -> usize {
    let path = format!("/api/v10/guilds/{GUILD}/members/{user}");
    calls
        .iter()
        .filter(|c| c.method == "GET" && c.path == path)
        .count()
}

#[test]
fn live_and_backfilled_messages_name_an_author_once_by_the_server_nickname() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    // Before the bot runs: Carol (nickname "Caz", global name "Carol G") three times, and Dave
    // (nickname "Dee") over two pages, so a lookup per message or per page would show.
    let start = now_ms() - 3_600_000;
    let mut history: Vec<Value> = (0..3u64)
        .map(|i| {
            let sent = start + i * 1000;
            let text = format!("Carol's earlier point {i} about the release plan.");
            message(GENERAL, snowflake_at(sent, i), CAROL, &text, sent)
        })
        .collect();
    history.extend((0..150u64).map(|i| {
        let sent = start + 10_000 + i * 1000;
        let text = format!("Dave's note {i} on the database migration timing.");
        message(GENERAL, snowflake_at(sent, 100 + i), DAVE, &text, sent)
    }));
    fake.add_history(history);
    let mut bot = Bot::connected(dir.path(), &fake, "");

    // Live: Carol's message arrives with her member (nickname) on the gateway.
    let live = id_ago(Duration::from_secs(1), 900);
    fake.inject_message(
        GENERAL,
        live,
        CAROL,
        "Carol says live: we ship the release on Friday.",
    );
    fake.inject_interaction(&slash_command(
        8101,
        ALICE,
        GENERAL,
        &json!([{"name": "hours", "type": 4, "value": 2}]),
    ));
    let edit = bot.wait_summary(&fake, 8101);
    let text = embeds_text(&edit);
    assert!(text.contains("154 messages"), "{text}\n{}", bot.log());
    // Most active first; each author once, by the server nickname.
    assert!(text.contains("participants: Dee, Caz"), "{text}");
    for other in ["Carol G", "carol", "dave"] {
        assert!(!text.contains(other), "{other:?} named in: {text}");
    }

    let calls = fake.calls();
    let pages = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path == format!("/api/v10/channels/{GENERAL}/messages"))
        .count();
    assert_eq!(pages, 2, "the backfill read two pages");
    assert_eq!(
        member_fetches(&calls, DAVE),
        1,
        "one member fetch for Dave's 150 messages"
    );
    assert!(
        member_fetches(&calls, CAROL) <= 1,
        "Carol's member fetched more than once"
    );
    assert_eq!(
        member_fetches(&calls, ALICE),
        0,
        "no fetch for a member in the cache"
    );
    bot.stop();
}
