//! The bot's own permissions, end to end against the fake Discord (which refuses sends as
//! Discord does: 403 Missing Permissions without Send Messages, Send Messages in Threads in a
//! thread, Embed Links for embeds, or Read Message History for a reply): `!summary` refusals
//! reach the user without the reply reference when the bot cannot reply, nothing is summarized
//! where the bot cannot post the result, and a reply Discord refuses is sent again plainly; a
//! schedule's `post_to` is refused where the bot cannot post its digests (`/schedule add`, the
//! webhook's `schedule_update`, `summarybot schedule add`).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::appliance::Appliance;
use support::discord_bot::{DiscordBot as Bot, WAIT};
use support::fake_discord::{
    command, embeds_text, id_ago, thread, FakeDiscord, RestCall, ALICE, EMBED_LINKS,
    EVERYONE_PERMS, GENERAL, GUILD, READ_MESSAGE_HISTORY, SECRET, SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS, TOKEN,
};

/// Manage Server.
const MANAGE_GUILD: u64 = 1 << 5;

/// A thread under `SECRET` (readable by the staff role, which the bot has).
const THREAD: u64 = 210_000_000_000_000_001;

fn posts_in(channel: u64) -> impl Fn(&RestCall) -> bool {
    let path = format!("/api/v10/channels/{channel}/messages");
    move |c: &RestCall| c.method == "POST" && c.path == path
}

fn inject_discussion(fake: &FakeDiscord, channel: u64, seq: u64) {
    for (i, text) in [
        "We decided to ship the release on Friday after the final review.",
        "Action item: Bob will update the changelog before Thursday.",
    ]
    .iter()
    .enumerate()
    {
        let id = id_ago(Duration::from_secs(300 - i as u64 * 60), seq + i as u64);
        fake.inject_message(channel, id, ALICE, text);
    }
}

/// Wait (polling) until the bot's log contains `needle`.
fn wait_log(bot: &Bot, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = bot.log();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn refusals_reach_the_user_even_when_the_bot_cannot_reply_and_embeds_are_checked_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");

    // Without Read Message History the bot may not reply: the refusal is a plain message.
    fake.deny_bot(GENERAL, READ_MESSAGE_HISTORY);
    fake.inject_message(GENERAL, id_ago(Duration::ZERO, 1), ALICE, "!summary");
    let refusal = fake
        .wait_for_call(WAIT, posts_in(GENERAL))
        .unwrap_or_else(|| panic!("no refusal:\n{}", bot.log()));
    assert_eq!(
        refusal.json["content"],
        format!("I need the Read Message History permission in <#{GENERAL}> to summarize it.")
    );
    assert!(
        refusal.json["message_reference"].is_null(),
        "{}",
        refusal.json
    );
    assert_eq!(fake.created_messages(GENERAL), 1, "Discord refused it");

    // Without Embed Links no summary can be posted: refused (as a reply) before summarizing.
    inject_discussion(&fake, SECRET, 10);
    fake.deny_bot(SECRET, EMBED_LINKS);
    let cmd = id_ago(Duration::ZERO, 20);
    fake.inject_message(SECRET, cmd, ALICE, "!summary");
    let refusal = fake
        .wait_for_call(WAIT, posts_in(SECRET))
        .unwrap_or_else(|| panic!("no refusal:\n{}", bot.log()));
    assert_eq!(
        refusal.json["content"],
        format!("I need the Embed Links permission in <#{SECRET}> to post a summary there.")
    );
    assert_eq!(
        refusal.json["message_reference"]["message_id"],
        cmd.to_string()
    );
    assert_eq!(fake.created_messages(SECRET), 1, "Discord refused it");
    bot.stop();
    let summaries = fake
        .calls()
        .into_iter()
        .filter(|c| c.json.get("embeds").is_some_and(|e| e != &json!([])))
        .count();
    assert_eq!(summaries, 0, "a summary was made where it cannot be posted");
}

#[test]
fn without_send_messages_nothing_is_summarized_and_the_log_names_the_permission() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    inject_discussion(&fake, GENERAL, 1);
    fake.deny_bot(GENERAL, SEND_MESSAGES);
    fake.inject_message(GENERAL, id_ago(Duration::ZERO, 5), ALICE, "!summary");
    let log = wait_log(&bot, "cannot answer !summary");
    assert!(log.contains("missing=\"Send Messages\""), "{log}");

    // In a thread, posting needs Send Messages in Threads (taken from its parent's overwrites).
    fake.dispatch("THREAD_CREATE", &thread(THREAD, SECRET, "plans", 11));
    fake.deny_bot(SECRET, SEND_MESSAGES_IN_THREADS);
    inject_discussion(&fake, THREAD, 10);
    fake.inject_message(THREAD, id_ago(Duration::ZERO, 20), ALICE, "!summary");
    let log = wait_log(&bot, "missing=\"Send Messages in Threads\"");
    bot.stop();
    let sends = fake
        .calls()
        .into_iter()
        .filter(|c| posts_in(GENERAL)(c) || posts_in(THREAD)(c))
        .count();
    assert_eq!(sends, 0, "the bot sent where Discord refuses it:\n{log}");
}

#[test]
fn a_reply_discord_refuses_is_sent_again_without_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    inject_discussion(&fake, GENERAL, 1);
    // Discord took Read Message History away, and the bot's cache has not heard of it.
    fake.deny_bot_unannounced(GENERAL, READ_MESSAGE_HISTORY);
    let cmd = id_ago(Duration::ZERO, 5);
    fake.inject_message(GENERAL, cmd, ALICE, "!summary");
    let posts = fake.wait_for_calls(WAIT, 2, posts_in(GENERAL));
    assert_eq!(posts.len(), 2, "no second try:\n{}", bot.log());
    assert_eq!(
        posts[0].json["message_reference"]["message_id"],
        cmd.to_string()
    );
    assert!(posts[1].json["message_reference"].is_null());
    assert!(
        embeds_text(&posts[1]).contains("Summary of #general"),
        "{}",
        embeds_text(&posts[1])
    );
    assert_eq!(fake.created_messages(GENERAL), 1);
    bot.stop();
}

/// `/schedule add` by a member with Manage Server, posting to `post_to`.
fn schedule_add(id: u64, post_to: u64) -> serde_json::Value {
    let options = json!([
        {"name": "cron", "type": 3, "value": "@daily"},
        {"name": "channel", "type": 7, "value": GENERAL.to_string()},
        {"name": "post_to", "type": 7, "value": post_to.to_string()}
    ]);
    let mut i = command("schedule", id, ALICE, GENERAL, &json!([]));
    i["data"]["options"] = json!([{"name": "add", "type": 1, "options": options}]);
    for c in [GENERAL, post_to] {
        i["data"]["resolved"]["channels"][c.to_string()] = json!({"id": c.to_string(),
            "name": "c", "type": 0, "permissions": EVERYONE_PERMS.to_string()});
    }
    i["member"]["permissions"] = json!((EVERYONE_PERMS | MANAGE_GUILD).to_string());
    i
}

#[test]
fn a_schedule_is_refused_where_the_bot_cannot_post_its_digests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::connected(dir.path(), &fake, "");
    fake.deny_bot(SECRET, EMBED_LINKS);
    let answer = |id: u64| {
        fake.inject_interaction(&schedule_add(id, if id == 1 { SECRET } else { GENERAL }));
        // `/schedule` defers before it touches the store: the answer may be the reply's edit.
        fake.wait_answer_text(&format!("token-{id}"), WAIT)
            .unwrap_or_else(|| panic!("no answer:\n{}", bot.log()))
    };
    assert_eq!(
        answer(1),
        format!("I need the Embed Links permission in <#{SECRET}> to post digests there.")
    );
    let added = answer(2);
    assert!(added.starts_with("Schedule **1** added"), "{added}");
    bot.stop();
    let stored = bot.store().schedules().expect("schedules");
    assert_eq!(stored.len(), 1, "the refused schedule was stored");
}

#[test]
fn the_webhook_refuses_a_post_to_where_the_bot_cannot_post_and_its_jobs_fail_before_summarizing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut app = Appliance::start(dir.path(), &fake, "enabled = true");
    app.wait_connected();
    fake.deny_bot(SECRET, SEND_MESSAGES);
    let create = |post_to: u64, delivery: &str| {
        app.post(
            &json!({"type": "schedule_update", "action": "create",
                "guild_id": GUILD.to_string(), "channel_ids": [GENERAL.to_string()],
                "post_to_channel_id": post_to.to_string(), "cron": "0 9 * * *"}),
            delivery,
        )
    };
    let refused = create(SECRET, "to-secret");
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(
        refused.json()["detail"],
        format!(
            "field `post_to_channel_id`: the bot needs the Send Messages permission in channel \
             {SECRET} to post summaries there"
        )
    );
    let created = create(GENERAL, "to-general");
    assert_eq!(created.status, 201, "{}", created.body);
    // A repeated delivery gets its stored answer even after the bot lost the permission there.
    fake.deny_bot(GENERAL, SEND_MESSAGES);
    let replayed = create(GENERAL, "to-general");
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    assert_eq!(replayed.json()["status"], "already_processed");
    let refused = create(GENERAL, "to-general-again");
    assert_eq!(refused.status, 400, "{}", refused.body);

    // A summary_request posting there fails before anything is summarized.
    let job = app.request_summary(GENERAL, "post-to-secret", Some(SECRET));
    let job = app.finished_job(job);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["error"],
        format!(
            "the bot needs the Send Messages permission in channel {SECRET} to post summaries \
             there"
        )
    );
    assert_eq!(job["attempts"], 1, "not retried: {job}");
    assert!(job["summary"].is_null(), "{job}");
    app.terminate();
}

#[test]
fn cli_schedule_add_refuses_a_post_to_where_the_bot_cannot_post() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    fake.deny_bot(SECRET, EMBED_LINKS);
    let config = format!(
        "[discord]\ntoken = \"{TOKEN}\"\napi_base_url = \"{}\"\n\n[storage]\npath = \"db/summarybot.redb\"\n",
        fake.api_base_url()
    );
    std::fs::write(dir.path().join("summarybot.toml"), config).expect("config");
    let add = |post_to: u64| {
        support::summarybot(dir.path())
            .args(["schedule", "add", "--guild"])
            .arg(GUILD.to_string())
            .args([
                "--channel",
                &GENERAL.to_string(),
                "--cron",
                "@daily",
                "--post-to",
            ])
            .arg(post_to.to_string())
            .output()
            .expect("binary runs")
    };
    let refused = add(SECRET);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--post-to: the bot needs the Embed Links permission in channel {SECRET} to post \
             summaries there"
        )),
        "{stderr}"
    );
    let added = add(GENERAL);
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        added.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(stdout.starts_with("added schedule 1"), "{stdout}");
}
