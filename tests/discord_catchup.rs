//! End-to-end: `/catchup` and threads/forums, the real binary against the fake Discord with the
//! builtin summarizer — catch-up since the invoker's last message (private by default, public
//! on request), the last 24 h for someone who never wrote there, a summary inside a thread, a
//! channel summary listing its active public threads (never a private one), `threads:true`,
//! and a forum summary over its posts.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::discord_bot::{DiscordBot, WAIT};
use support::fake_discord::{
    command, embeds_text, forum, id_ago, message, now_ms, slash_command, snowflake_at, thread,
    FakeDiscord, RestCall, ALICE, BOB, GENERAL, GUILD, SECRET,
};

/// A member who has never written anywhere.
const CAROL: u64 = 400_000_000_000_000_003;
/// A public thread of `GENERAL`.
const THREAD: u64 = 210_000_000_000_000_001;
/// A private thread of `GENERAL`.
const PRIVATE_THREAD: u64 = 210_000_000_000_000_002;
/// A forum channel.
const FORUM: u64 = 220_000_000_000_000_001;
/// Two posts of `FORUM`.
const POST_INSTALL: u64 = 221_000_000_000_000_001;
const POST_CRASH: u64 = 221_000_000_000_000_002;

fn footer(call: &RestCall) -> String {
    call.json["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `/catchup channel:<channel>` invoked in `channel` (without `channel:` it covers the whole
/// server, see tests/discord_catchup_server.rs).
fn catchup(id: u64, user: u64, channel: u64, options: &Value) -> Value {
    let mut options = options.as_array().cloned().unwrap_or_default();
    options.push(json!({"name": "channel", "type": 7, "value": channel.to_string()}));
    command("catchup", id, user, channel, &json!(options))
}

fn thread_link(thread: u64) -> String {
    format!("https://discord.com/channels/{GUILD}/{thread}")
}

/// Five messages in `GENERAL` (Bob 30 h and 5 h ago, Alice 3 h ago, Bob 2 h and 1 h ago);
/// returns their ids, oldest first.
fn conversation(fake: &FakeDiscord) -> [u64; 5] {
    let hour = Duration::from_secs(3600);
    let lines = [
        (30, BOB, "Ancient history about the build server."),
        (5, BOB, "We should move the CI to the new runner."),
        (3, ALICE, "I will be offline this afternoon."),
        (2, BOB, "We decided to ship the release on Friday."),
        (1, BOB, "Action item: Alice will update the changelog."),
    ];
    let mut ids = [0; 5];
    for (i, (hours, author, text)) in lines.into_iter().enumerate() {
        ids[i] = id_ago(hours * hour, i as u64 + 1);
        fake.inject_message(GENERAL, ids[i], author, text);
    }
    ids
}

/// Every reply to an interaction was sent with `allowed_mentions` none.
fn assert_no_mentions(fake: &FakeDiscord) {
    let replies: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET" && c.path.contains("/webhooks/"))
        .collect();
    assert!(!replies.is_empty());
    for call in replies {
        assert_eq!(
            call.json["allowed_mentions"],
            json!({"parse": []}),
            "{}",
            call.path
        );
    }
}

#[test]
fn catchup_covers_what_came_after_your_last_message_or_the_last_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    let ids = conversation(&fake);

    // Alice: only what came after her last message, visible only to her.
    fake.inject_interaction(&catchup(7001, ALICE, GENERAL, &json!([])));
    let defer = bot.wait_defer(&fake, 7001);
    assert_eq!(defer.json["type"], 5);
    assert_eq!(defer.json["data"]["flags"], 64, "private by default");
    let reply = bot.wait_summary(&fake, 7001);
    let text = embeds_text(&reply);
    assert!(text.contains("Summary of #general"), "{text}");
    assert!(text.contains(" 2 messages"), "{text}");
    for id in &ids[..3] {
        assert!(!text.contains(&id.to_string()), "cites {id}:\n{text}");
    }
    assert!(
        ids[3..].iter().any(|id| text.contains(&id.to_string())),
        "no citation of a message after hers:\n{text}"
    );
    let note = footer(&reply);
    assert!(
        note.starts_with("catch-up since your last message here, 3 h 0 min ago ("),
        "{note}"
    );

    // Carol never wrote here: the last 24 h (not the 30 h old message), shared on request.
    fake.inject_interaction(&catchup(
        7002,
        CAROL,
        GENERAL,
        &json!([{"name": "public", "type": 5, "value": true}]),
    ));
    assert_eq!(bot.wait_defer(&fake, 7002).json["data"]["flags"], 0);
    let reply = bot.wait_summary(&fake, 7002);
    let text = embeds_text(&reply);
    assert!(text.contains(" 4 messages"), "{text}");
    assert!(!text.contains(&ids[0].to_string()), "{text}");
    let note = footer(&reply);
    assert!(
        note.starts_with(
            "catch-up: last 24 h (you haven't written here in the last 7d) · 4 messages"
        ),
        "{note}"
    );
    assert_no_mentions(&fake);
    bot.stop();
}

#[test]
fn a_text_command_counts_as_your_last_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    conversation(&fake);
    fake.inject_message(
        GENERAL,
        id_ago(Duration::from_secs(60), 6),
        BOB,
        "!summary 1",
    );
    fake.wait_for_call(WAIT, |c| {
        c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
    })
    .unwrap_or_else(|| panic!("no reply to !summary:\n{}", bot.log()));
    fake.inject_interaction(&catchup(7003, BOB, GENERAL, &json!([])));
    let reply = bot.wait_summary(&fake, 7003);
    assert!(embeds_text(&reply).contains(" 0 messages"));
    let note = footer(&reply);
    assert!(
        note.starts_with("catch-up since your last message here, 1 min ago ("),
        "{note}"
    );
    bot.stop();
}

#[test]
fn catchup_finds_your_last_message_over_rest_when_the_store_lacks_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let hour = 3_600_000;
    let history = [
        (5, BOB, "We should move the CI to the new runner."),
        (3, ALICE, "I will be offline this afternoon."),
        (2, BOB, "We decided to ship the release on Friday."),
        (1, BOB, "Action item: Alice will update the changelog."),
    ];
    let messages: Vec<Value> = history
        .iter()
        .enumerate()
        .map(|(i, (hours, author, text))| {
            let sent = now_ms() - hours * hour;
            message(
                GENERAL,
                snowflake_at(sent, i as u64 + 1),
                *author,
                text,
                sent,
            )
        })
        .collect();
    // Sent while the bot was offline: only REST history has them.
    fake.add_history(messages);
    let mut bot = DiscordBot::connected(dir.path(), &fake, "");
    fake.inject_interaction(&catchup(7101, ALICE, GENERAL, &json!([])));
    let reply = bot.wait_summary(&fake, 7101);
    assert!(
        embeds_text(&reply).contains(" 2 messages"),
        "{}",
        embeds_text(&reply)
    );
    let note = footer(&reply);
    assert!(
        note.starts_with("catch-up since your last message here, 3 h 0 min ago ("),
        "{note}"
    );
    let fetched = fake
        .calls()
        .iter()
        .any(|c| c.method == "GET" && c.path == format!("/api/v10/channels/{GENERAL}/messages"));
    assert!(fetched, "no backfill:\n{}", bot.log());
    bot.stop();
}

#[test]
fn catchup_shares_the_access_checks_and_the_cooldown_of_summarize() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "");
    conversation(&fake);

    // Bob cannot read #secret: refused, privately, naming the permission.
    fake.inject_interaction(&catchup(7201, BOB, SECRET, &json!([])));
    let refusal = bot.wait_defer(&fake, 7201);
    assert_eq!(refusal.json["type"], 4);
    assert_eq!(refusal.json["data"]["flags"], 64);
    assert_eq!(
        refusal.json["data"]["content"],
        format!("You need the View Channel permission in <#{SECRET}> to summarize it.")
    );

    // Alice catches up, then /summarize at once hits the shared cooldown (default 30 s).
    fake.inject_interaction(&catchup(7202, ALICE, GENERAL, &json!([])));
    bot.wait_summary(&fake, 7202);
    fake.inject_interaction(&slash_command(7203, ALICE, GENERAL, &json!([])));
    let refusal = bot.wait_defer(&fake, 7203);
    assert_eq!(refusal.json["type"], 4);
    let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("This command is on cooldown."),
        "{content}"
    );
    assert_no_mentions(&fake);
    bot.stop();
}

/// Threads under `GENERAL` (one public, one private) and a forum with two posts, each with
/// messages from the last hour.
fn threads_and_forum(fake: &FakeDiscord) {
    fake.dispatch(
        "THREAD_CREATE",
        &thread(THREAD, GENERAL, "release-plan", 11),
    );
    fake.dispatch(
        "THREAD_CREATE",
        &thread(PRIVATE_THREAD, GENERAL, "staff-only-plans", 12),
    );
    fake.dispatch("CHANNEL_CREATE", &forum(FORUM, "help-forum"));
    fake.dispatch(
        "THREAD_CREATE",
        &thread(POST_INSTALL, FORUM, "How do I install on a Pi?", 11),
    );
    fake.dispatch(
        "THREAD_CREATE",
        &thread(POST_CRASH, FORUM, "Crash after the update", 11),
    );
    let minutes = |m: u64| Duration::from_secs(60 * m);
    let lines: [(u64, &str); 8] = [
        (GENERAL, "We decided to ship the release on Friday."),
        (GENERAL, "Should we also bump the minimum Rust version?"),
        (THREAD, "Action item: Bob will tag v2.0 after the review."),
        (THREAD, "The release notes are ready for review."),
        (PRIVATE_THREAD, "Salary numbers for the staff meeting."),
        (
            POST_INSTALL,
            "Download the aarch64 archive and run install.sh.",
        ),
        (
            POST_INSTALL,
            "The install script needs sudo for the systemd unit.",
        ),
        (
            POST_CRASH,
            "It crashed with a database error after updating.",
        ),
    ];
    for (i, (channel, text)) in lines.into_iter().enumerate() {
        let seq = i as u64 + 1;
        fake.inject_message(channel, id_ago(minutes(50 - seq * 5), seq), ALICE, text);
    }
}

#[test]
fn threads_are_summarized_alone_listed_in_channel_summaries_and_forums_cover_their_posts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    threads_and_forum(&fake);

    // Inside a thread: that thread only.
    fake.inject_interaction(&slash_command(8001, BOB, THREAD, &json!([])));
    let text = embeds_text(&bot.wait_summary(&fake, 8001));
    assert!(text.contains("Summary of #release-plan"), "{text}");
    assert!(text.contains(" 2 messages"), "{text}");
    assert!(!text.contains("**Threads**"), "{text}");

    // The channel: its own messages, plus a Threads part linking the public thread only.
    fake.inject_interaction(&slash_command(8002, BOB, GENERAL, &json!([])));
    let text = embeds_text(&bot.wait_summary(&fake, 8002));
    assert!(text.contains("Summary of #general"), "{text}");
    assert!(text.contains(" 2 messages"), "{text}");
    assert!(text.contains("**Threads**"), "{text}");
    assert!(
        text.contains(&format!(
            "[release-plan]({}) — 2 messages",
            thread_link(THREAD)
        )),
        "{text}"
    );
    assert!(!text.contains(&PRIVATE_THREAD.to_string()), "{text}");
    assert!(!text.contains("staff-only"), "{text}");

    // threads:true reads the public thread's messages too, never the private one's.
    fake.inject_interaction(&slash_command(
        8003,
        BOB,
        GENERAL,
        &json!([{"name": "threads", "type": 5, "value": true}]),
    ));
    let text = embeds_text(&bot.wait_summary(&fake, 8003));
    assert_eq!(
        bot.wait_defer(&fake, 8003).json["data"]["flags"],
        0,
        "this channel: public"
    );
    assert!(text.contains(" 4 messages"), "{text}");
    assert!(!text.contains("Salary"), "{text}");
    assert!(text.contains(&thread_link(THREAD)), "{text}");

    // A forum: its active posts, each listed with its link.
    fake.inject_interaction(&slash_command(
        8004,
        BOB,
        GENERAL,
        &json!([{"name": "channel", "type": 7, "value": FORUM.to_string()}]),
    ));
    let text = embeds_text(&bot.wait_summary(&fake, 8004));
    assert_eq!(
        bot.wait_defer(&fake, 8004).json["data"]["flags"],
        64,
        "another channel's summary is shown only to the invoker"
    );
    assert!(text.contains("Summary of #help-forum"), "{text}");
    assert!(text.contains(" 3 messages"), "{text}");
    assert!(
        text.contains(&format!(
            "[How do I install on a Pi?]({}) — 2 messages",
            thread_link(POST_INSTALL)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "[Crash after the update]({}) — 1 message",
            thread_link(POST_CRASH)
        )),
        "{text}"
    );

    // /catchup inside a (since renamed) thread: since Bob's last message there (none: the last day).
    fake.dispatch(
        "THREAD_UPDATE",
        &thread(THREAD, GENERAL, "release-plan-v2", 11),
    );
    fake.inject_interaction(&catchup(8005, BOB, THREAD, &json!([])));
    let reply = bot.wait_summary(&fake, 8005);
    let text = embeds_text(&reply);
    assert!(text.contains("Summary of #release-plan-v2"), "{text}");
    assert!(
        footer(&reply).starts_with("catch-up: last 24 h"),
        "{}",
        footer(&reply)
    );
    bot.stop();
}

#[test]
fn a_private_thread_is_summarized_only_from_inside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    threads_and_forum(&fake);

    // Named from the parent channel: refused, privately, and nothing of it is shown.
    fake.inject_interaction(&slash_command(
        9001,
        BOB,
        GENERAL,
        &json!([{"name": "channel", "type": 7, "value": PRIVATE_THREAD.to_string()}]),
    ));
    let refusal = bot.wait_defer(&fake, 9001);
    assert_eq!(refusal.json["type"], 4);
    assert_eq!(refusal.json["data"]["flags"], 64);
    assert_eq!(
        refusal.json["data"]["content"],
        format!(
            "<#{PRIVATE_THREAD}> is a private thread: run the command inside it to summarize it."
        )
    );

    // Inside it (only its members can run commands there): summarized like any thread.
    fake.inject_interaction(&slash_command(9002, ALICE, PRIVATE_THREAD, &json!([])));
    let text = embeds_text(&bot.wait_summary(&fake, 9002));
    assert!(text.contains("Summary of #staff-only-plans"), "{text}");
    assert!(text.contains(" 1 message"), "{text}");
    let edits: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(|c| c.path.contains("token-9001") && c.method != "POST")
        .collect();
    assert!(
        edits.is_empty(),
        "the refused command got a reply: {edits:?}"
    );
    bot.stop();
}
