//! Interactions as Discord times them: the initial response within 3 seconds, edits and
//! follow-ups with the token for 15 minutes (the fake enforces both, shortened for tests). A
//! summary that outlives its token is posted in the channel mentioning only the invoker, or
//! (private) sent as a DM, and no edit is sent with an expired token; `/schedule` answers in time
//! while the store is busy; commands during shutdown are told to try again.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use summarybot::model::{
    Author, ChannelId, ChatMessage, GuildId, MessageId, MessageKind, Timestamp, UserId,
};
use summarybot::store::Store;
use support::discord_bot::{DiscordBot as Bot, WAIT};
use support::fake_discord::{
    command, embeds_text, id_ago, slash_command, FakeDiscord, RestCall, ALICE, APP_ID, BOB,
    GENERAL, GUILD, INITIAL_RESPONSE_WINDOW,
};
use support::fake_openai::{FakeOpenAi, Fault};

/// The token lifetime both the fake and the bot use in the late-summary test.
const SHORT_LIFETIME: Duration = Duration::from_secs(4);
/// Manage Server.
const MANAGE_GUILD: u64 = 1 << 5;
/// Manage Channels.
const MANAGE_CHANNELS: u64 = 1 << 4;

/// A bot against `fake` whose summaries call `llm` in several slow parts (600 messages, small
/// context, one call at a time), believing tokens live [`SHORT_LIFETIME`].
fn slow_bot(dir: &Path, fake: &FakeDiscord, llm: &FakeOpenAi) -> Bot {
    let llm_section = format!(
        "provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n\
         context_tokens = 3000\nmax_tokens = 500\nconcurrency = 1",
        llm.base_url()
    );
    let lifetime = format!("{}s", SHORT_LIFETIME.as_secs());
    let env = [("SUMMARYBOT_INTERACTION_TOKEN_LIFETIME", lifetime.as_str())];
    let bot = Bot::start_with_env(dir, fake, "cooldown = \"0s\"", &llm_section, &env);
    bot.wait_connected(fake);
    for i in 0..600u64 {
        let id = id_ago(Duration::from_secs(3000 - i * 4), 1000 + i);
        let text = format!(
            "Message {i}: the team reviewed module {i}, agreed the parser needs a fix, and \
             asked who owns the deployment checklist for release {i}."
        );
        fake.inject_message(GENERAL, id, ALICE, &text);
    }
    bot
}

/// Poll `done` until it holds, failing after [`WAIT`].
fn wait_until(bot: &Bot, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{}", bot.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_edit_of(c: &RestCall, id: u64) -> bool {
    c.method == "PATCH" && c.path.ends_with(&format!("token-{id}/messages/@original"))
}

#[test]
fn a_summary_outliving_its_token_is_posted_in_the_channel_mentioning_only_the_invoker() {
    let llm = FakeOpenAi::start();
    // Four slow parts (6 s) outlast the 4 s token; the others answer at once.
    llm.push_faults(vec![Fault::Hang(Duration::from_millis(1500)); 4]);
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    fake.set_token_lifetime(SHORT_LIFETIME);
    let mut bot = slow_bot(dir.path(), &fake, &llm);

    fake.inject_interaction(&slash_command(9401, ALICE, GENERAL, &json!([])));
    let posted = fake
        .wait_for_call(WAIT, |c| {
            c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
        })
        .unwrap_or_else(|| panic!("no late summary in the channel:\n{}", bot.log()));
    let content = posted.json["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with(&format!(
            "<@{ALICE}> your summary of <#{GENERAL}> took longer"
        )),
        "{content}"
    );
    assert_eq!(
        posted.json["allowed_mentions"],
        json!({"parse": [], "users": [ALICE.to_string()]}),
        "only the invoker is pinged"
    );
    assert!(
        embeds_text(&posted).contains("openai/fake-model"),
        "{}",
        embeds_text(&posted)
    );
    let calls = fake.calls();
    assert!(
        calls.iter().any(|c| is_edit_of(c, 9401)
            && c.json["content"]
                .as_str()
                .is_some_and(|t| t.starts_with("Reading "))),
        "progress was shown while the token lived:\n{}",
        bot.log()
    );
    assert!(
        !calls
            .iter()
            .any(|c| is_edit_of(c, 9401) && c.json.get("embeds").is_some_and(|e| e != &json!([]))),
        "the summary was not sent as an edit"
    );
    assert_eq!(
        fake.late_interaction_calls(),
        Vec::<(String, u16)>::new(),
        "nothing was sent with an expired token"
    );
    assert_late_notice(
        &fake,
        9401,
        "I'll post it in this channel and mention you when it is ready.",
    );
    bot.stop();
}

#[test]
fn a_private_summary_outliving_its_token_is_sent_as_a_dm() {
    let llm = FakeOpenAi::start();
    // Four slow parts (6 s) outlast the 4 s token; the others answer at once.
    llm.push_faults(vec![Fault::Hang(Duration::from_millis(1500)); 4]);
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    fake.set_token_lifetime(SHORT_LIFETIME);
    let mut bot = slow_bot(dir.path(), &fake, &llm);

    let private = json!([{"name": "private", "type": 5, "value": true}]);
    fake.inject_interaction(&slash_command(9402, ALICE, GENERAL, &private));
    let dm = fake
        .wait_for_call(WAIT, |c| {
            c.method == "POST" && c.path.starts_with("/api/v10/channels/6")
        })
        .unwrap_or_else(|| panic!("no DM:\n{}", bot.log()));
    let channel = fake
        .dm_channel(ALICE)
        .expect("a DM channel with the invoker");
    assert_eq!(dm.path, format!("/api/v10/channels/{channel}/messages"));
    let content = dm.json["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with(&format!("Your summary of <#{GENERAL}> took longer")),
        "{content}"
    );
    assert_eq!(dm.json["allowed_mentions"], json!({"parse": []}));
    assert!(embeds_text(&dm).contains("openai/fake-model"));
    assert!(
        fake.posts_to(GENERAL).is_empty(),
        "a private summary is never posted in the channel"
    );
    assert_eq!(fake.late_interaction_calls(), Vec::<(String, u16)>::new());
    assert_late_notice(&fake, 9402, "I'll send it to you as a DM when it is ready.");

    // Bob accepts no DMs: his late summary is lost, and his next one says so.
    fake.close_dms(BOB);
    llm.push_faults(vec![Fault::Hang(Duration::from_millis(1500)); 4]);
    // (another detail level than Alice's, so it is not served from the cache)
    let uncached = json!([{"name": "private", "type": 5, "value": true},
        {"name": "detail", "type": 3, "value": "full"}]);
    fake.inject_interaction(&slash_command(9403, BOB, GENERAL, &uncached));
    let opened = fake.wait_for_call(WAIT, |c| {
        c.path == "/api/v10/users/@me/channels"
            && c.json["recipient_id"].as_str().and_then(|r| r.parse().ok()) == Some(BOB)
    });
    assert!(opened.is_some(), "no DM opened:\n{}", bot.log());
    let dm = fake.dm_channel(BOB).expect("Bob's DM channel");
    let refused = fake.wait_for_call(WAIT, |c| {
        c.path == format!("/api/v10/channels/{dm}/messages")
    });
    assert!(refused.is_some(), "no DM attempt:\n{}", bot.log());
    assert_eq!(fake.created_messages(dm), 0);
    fake.inject_interaction(&slash_command(9404, BOB, GENERAL, &private));
    let next = fake
        .wait_for_call(WAIT, |c| {
            is_edit_of(c, 9404) && c.json.get("embeds").is_some_and(|e| e != &json!([]))
        })
        .unwrap_or_else(|| panic!("no next summary:\n{}", bot.log()));
    let content = next.json["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with(&format!(
            "Your previous summary of <#{GENERAL}> took longer"
        )) && content.contains("could not be sent to you as a DM"),
        "{content}"
    );
    bot.stop();
}

/// The last edit of interaction `id`'s reply: the note saying where the summary will go.
fn assert_late_notice(fake: &FakeDiscord, id: u64, route: &str) {
    let last = fake.calls().into_iter().rfind(|c| is_edit_of(c, id));
    let text = last
        .as_ref()
        .and_then(|c| c.json["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.starts_with("This summary takes longer than Discord lets me update this reply")
            && text.ends_with(route),
        "{text}"
    );
}

/// A `/schedule <sub>` or `/summarybot <sub>` interaction from Alice with Manage Server and
/// Manage Channels.
fn admin_command(name: &str, id: u64, sub: &str, options: &Value) -> Value {
    let mut i = command(name, id, ALICE, GENERAL, &json!([]));
    i["data"]["options"] = json!([{"name": sub, "type": 1, "options": options}]);
    let perms = support::fake_discord::EVERYONE_PERMS | MANAGE_GUILD | MANAGE_CHANNELS;
    i["data"]["resolved"]["channels"][GENERAL.to_string()] = json!({"id": GENERAL.to_string(),
        "name": "general", "type": 0, "permissions": perms.to_string()});
    i["member"]["permissions"] = json!(perms.to_string());
    i
}

/// `count` stored messages in `channel`, written straight into the database.
fn seed(store: &Store, channel: u64, count: u64) {
    let now = Timestamp::now().0;
    for start in (0..count).step_by(10_000) {
        let batch: Vec<ChatMessage> = (start..(start + 10_000).min(count))
            .map(|i| ChatMessage {
                id: MessageId(1_000_000 + i),
                channel_id: ChannelId(channel),
                guild_id: Some(GuildId(GUILD)),
                author: Author {
                    id: UserId(ALICE),
                    name: "alice".into(),
                    display_name: None,
                    is_bot: false,
                },
                timestamp: Timestamp(now - 3_600_000 + i as i64),
                edited_at: None,
                kind: MessageKind::Default,
                content: format!("message {i} about the release checklist"),
                reply_to: None,
                attachments: Vec::new(),
                reaction_count: 0,
                pinned: false,
            })
            .collect();
        store.upsert_messages(&batch).expect("seed messages");
    }
}

#[test]
fn schedule_answers_in_time_while_an_opt_out_holds_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("db")).expect("db dir");
    {
        let store = Store::open(&dir.path().join("db/summarybot.redb")).expect("store");
        seed(&store, GENERAL, 200_000);
    }
    let fake = FakeDiscord::start();
    let mut bot = Bot::connected(dir.path(), &fake, "");
    let add = json!([{"name": "cron", "type": 3, "value": "0 9 * * *"},
        {"name": "channel", "type": 7, "value": GENERAL.to_string()}]);
    let added = fake.inject_interaction(&admin_command("schedule", 9500, "add", &add));
    let text = fake.wait_answer_text(&added, WAIT).unwrap_or_default();
    assert!(
        text.starts_with("Schedule **1** added"),
        "{text}\n{}",
        bot.log()
    );

    // Opting out a busy channel deletes its 200,000 messages in one write, for seconds; pausing
    // the schedule meanwhile waits for the store, but its initial response must not.
    let confirm = json!([{"name": "channel", "type": 7, "value": GENERAL.to_string()},
        {"name": "confirm", "type": 5, "value": true}]);
    let optout = fake.inject_interaction(&admin_command("summarybot", 9501, "optout", &confirm));
    assert!(
        fake.wait_initial_response(&optout, WAIT).is_some(),
        "the opt-out was not deferred:\n{}",
        bot.log()
    );
    let optout_done = |fake: &FakeDiscord| {
        fake.calls().iter().any(|c| {
            c.method == "PATCH" && c.path.ends_with(&format!("{optout}/messages/@original"))
        })
    };
    let pause = json!([{"name": "id", "type": 4, "value": 1}]);
    let mut pauses = Vec::new();
    for id in 9510..9590 {
        if optout_done(&fake) {
            break;
        }
        pauses.push(fake.inject_interaction(&admin_command("schedule", id, "pause", &pause)));
        std::thread::sleep(Duration::from_millis(250)); // one /schedule every quarter second
    }
    let opted_out = fake.wait_answer_text(&optout, WAIT).unwrap_or_default();
    assert!(
        opted_out.contains("200000 stored messages deleted"),
        "{opted_out}"
    );
    assert!(
        pauses.len() >= 2,
        "the opt-out took {} pauses",
        pauses.len()
    );
    let late: Vec<&String> = pauses
        .iter()
        .filter(|t| fake.wait_initial_response(t, WAIT).is_none())
        .collect();
    assert!(
        late.is_empty(),
        "not answered within 3 s: {late:?} of {}\n{:?}",
        pauses.len(),
        fake.late_interaction_calls()
    );
    for token in &pauses {
        let (after, initial) = fake.wait_initial_response(token, WAIT).expect("answered");
        assert!(after <= INITIAL_RESPONSE_WINDOW, "{after:?}");
        assert_eq!(initial["type"], 5, "deferred: {initial}");
        assert_eq!(initial["data"]["flags"], 64, "only the invoker sees it");
        let text = fake.wait_answer_text(token, WAIT).unwrap_or_default();
        assert!(text.starts_with("Schedule **1** paused"), "{text}");
    }
    assert_eq!(fake.late_interaction_calls(), Vec::<(String, u16)>::new());
    bot.stop();
}

#[test]
fn commands_during_shutdown_are_told_to_try_again() {
    let llm = FakeOpenAi::start();
    // The first summary hangs, so the shutdown waits for it while new commands arrive.
    llm.push_fault(Fault::Hang(Duration::from_secs(6)));
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm_section = llm.llm_section();
    let mut bot = Bot::start_with_llm(
        dir.path(),
        &fake,
        "shutdown_deadline = \"20s\"\ncooldown = \"0s\"",
        &llm_section,
    );
    bot.wait_connected(&fake);
    fake.inject_message(
        GENERAL,
        id_ago(Duration::from_secs(60), 1),
        ALICE,
        "ship it friday",
    );
    let running = fake.inject_interaction(&slash_command(9601, ALICE, GENERAL, &json!([])));
    assert!(fake.wait_initial_response(&running, WAIT).is_some());
    wait_until(&bot, || !llm.chat_requests().is_empty());
    bot.terminate();
    wait_until(&bot, || bot.log().contains("no longer taking commands"));

    let summarize = fake.inject_interaction(&slash_command(9602, ALICE, GENERAL, &json!([])));
    let schedule = fake.inject_interaction(&admin_command("schedule", 9603, "list", &json!([])));
    let settings =
        fake.inject_interaction(&admin_command("summarybot", 9604, "settings", &json!([])));
    for token in [summarize, schedule, settings] {
        let (_, answer) = fake
            .wait_initial_response(&token, WAIT)
            .unwrap_or_else(|| panic!("{token} not answered:\n{}", bot.log()));
        assert_eq!(answer["type"], 4, "{answer}");
        assert_eq!(answer["data"]["flags"], 64, "{answer}");
        let text = answer["data"]["content"].as_str().unwrap_or_default();
        assert!(
            text.contains("restarting") && text.contains("try again"),
            "{text}"
        );
    }
    let prefix = fake.inject_message(GENERAL, id_ago(Duration::ZERO, 2), ALICE, "!summary");
    let reply = fake
        .wait_for_call(WAIT, |c| {
            c.method == "POST"
                && c.path == format!("/api/v10/channels/{GENERAL}/messages")
                && c.json["message_reference"]["message_id"] == prefix["id"]
        })
        .unwrap_or_else(|| panic!("!summary not answered:\n{}", bot.log()));
    assert!(reply.json["content"]
        .as_str()
        .is_some_and(|t| t.contains("restarting")));

    // The summary that was running still arrives, then the bot exits cleanly.
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code(), Some(0), "{}", bot.log());
    assert!(fake.calls().iter().any(|c| c
        .path
        .ends_with(&format!("/webhooks/{APP_ID}/{running}/messages/@original"))
        && c.json.get("embeds").is_some_and(|e| e != &json!([]))));
}
