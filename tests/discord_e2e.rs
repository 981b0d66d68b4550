//! End-to-end: the real binary (`summarybot run`) against the fake Discord, with the builtin
//! summarizer: ingest surviving a restart, `/summarize` (deferred, private, refused, cooldown),
//! `!summary`, backfill with pagination, 429 retries, `allowed_mentions` on every send, and a
//! clean exit on SIGTERM.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use summarybot::model::{ChannelId, TimeWindow, Timestamp};
use summarybot::store::Store;
use support::discord_bot::{DiscordBot as Bot, WAIT};
use support::fake_discord::{
    embeds_text, id_ago, message, now_ms, slash_command, snowflake_at, FakeDiscord, RestCall,
    SendFault, ALICE, APP_ID, BOB, EXCLUDED, GENERAL, GUILD, SECRET,
};

/// Start a fake and a bot and wait until the bot has identified and registered its commands.
fn connected(dir: &Path) -> (FakeDiscord, Bot) {
    let fake = FakeDiscord::start();
    let bot = Bot::start(dir, &fake);
    connect(&fake, &bot);
    (fake, bot)
}

fn connect(fake: &FakeDiscord, bot: &Bot) {
    let identify = fake.wait_for_identify(WAIT);
    let identify = identify.unwrap_or_else(|| panic!("the bot never identified:\n{}", bot.log()));
    // GUILDS (1) | GUILD_MESSAGES (512) | MESSAGE_CONTENT (32768)
    assert_eq!(identify["intents"], json!(1 | 512 | 32768));
    let registered = fake.wait_for_call(WAIT, |c| {
        c.method == "PUT" && c.path.ends_with(&format!("/guilds/{GUILD}/commands"))
    });
    assert!(
        registered.is_some(),
        "no guild command registration:\n{}",
        bot.log()
    );
}

fn all_messages(store: &Store, channel: u64) -> Vec<summarybot::model::ChatMessage> {
    let window = TimeWindow {
        start: Timestamp(0),
        end: Timestamp(i64::MAX),
    };
    store
        .messages_in(ChannelId(channel), window)
        .expect("read messages")
}

fn is_send(c: &RestCall) -> bool {
    (c.method == "POST" && c.path.contains("/channels/") && c.path.ends_with("/messages"))
        || (c.method == "PATCH" && c.path.contains("/webhooks/"))
        || (c.method == "POST" && c.path.starts_with("/api/v10/webhooks/"))
}

fn assert_no_mentions_on_sends(fake: &FakeDiscord) {
    let sends: Vec<RestCall> = fake.calls().into_iter().filter(is_send).collect();
    assert!(!sends.is_empty(), "nothing was sent");
    for s in sends {
        assert_eq!(
            s.json["allowed_mentions"],
            json!({"parse": []}),
            "{} {} lacks allowed_mentions",
            s.method,
            s.path
        );
    }
}

fn inject_discussion(fake: &FakeDiscord, channel: u64, base_seq: u64) -> Vec<u64> {
    let lines = [
        "We decided to ship the release on Friday after the final review.",
        "Action item: Bob will update the changelog before Thursday.",
        "Should we also bump the minimum Rust version to 1.85?",
        "The database migration takes about two minutes on the Pi.",
    ];
    lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let id = id_ago(
                Duration::from_secs(600 - i as u64 * 60),
                base_seq + i as u64,
            );
            fake.inject_message(channel, id, ALICE, text);
            id
        })
        .collect()
}

fn interaction_callbacks(fake: &FakeDiscord, interaction: u64) -> Vec<RestCall> {
    fake.calls()
        .into_iter()
        .filter(|c| {
            c.path == format!("/api/v10/interactions/{interaction}/token-{interaction}/callback")
        })
        .collect()
}

fn wait_edit(fake: &FakeDiscord, interaction: u64, bot: &Bot) -> RestCall {
    let path = format!("/api/v10/webhooks/{APP_ID}/token-{interaction}/messages/@original");
    fake.wait_for_call(WAIT, |c| {
        c.method == "PATCH"
            && c.path == path
            && c.json.get("embeds").is_some_and(|e| e != &json!([]))
    })
    .unwrap_or_else(|| panic!("no edited response:\n{}", bot.log()))
}

/// Ask `!summary` (cooldown off) until the summary counts `expected` messages besides the
/// probes themselves: then every event injected before has been applied. Returns the probes sent.
fn wait_until_applied(fake: &FakeDiscord, bot: &Bot, expected: usize) -> usize {
    let deadline = Instant::now() + WAIT;
    for k in 1.. {
        assert!(
            Instant::now() < deadline,
            "events never applied:\n{}",
            bot.log()
        );
        fake.inject_message(
            GENERAL,
            id_ago(Duration::ZERO, 100 + k as u64),
            ALICE,
            "!summary 1",
        );
        let replies = fake.wait_for_calls(WAIT, k, |c| {
            c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
        });
        let last = replies.last().map(embeds_text).unwrap_or_default();
        if last.contains(&format!(" {} messages", expected + k)) {
            return k;
        }
    }
    unreachable!()
}

#[test]
fn messages_are_ingested_edited_deleted_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::start_with(dir.path(), &fake, "cooldown = \"0s\"");
    connect(&fake, &bot);
    let ids = inject_discussion(&fake, GENERAL, 1);
    fake.inject_message(
        EXCLUDED,
        id_ago(Duration::from_secs(5), 9),
        ALICE,
        "never stored",
    );
    fake.inject_edit(
        GENERAL,
        ids[0],
        ALICE,
        "We decided to ship on Monday instead.",
    );
    fake.inject_delete(GENERAL, ids[3]);
    fake.inject_bulk_delete(GENERAL, &[ids[2]]);
    let probes = wait_until_applied(&fake, &bot, 2);
    bot.stop();

    {
        let store = bot.store();
        let stored = all_messages(&store, GENERAL);
        let texts: Vec<&str> = stored
            .iter()
            .map(|m| m.content.as_str())
            .filter(|t| !t.starts_with("!summary"))
            .collect();
        assert_eq!(
            texts,
            [
                "We decided to ship on Monday instead.",
                "Action item: Bob will update the changelog before Thursday."
            ]
        );
        assert!(
            all_messages(&store, EXCLUDED).is_empty(),
            "excluded channel stored"
        );
        let general = store
            .channel(ChannelId(GENERAL))
            .expect("read")
            .expect("channel stored");
        assert_eq!(general.name, "general");
        assert!(store.channel(ChannelId(EXCLUDED)).expect("read").is_none());
    }

    // Restart on the same database: old messages stay, new ones are added.
    let fake2 = FakeDiscord::start();
    let mut bot2 = Bot::start_with(dir.path(), &fake2, "cooldown = \"0s\"");
    connect(&fake2, &bot2);
    fake2.inject_message(
        GENERAL,
        id_ago(Duration::from_secs(1), 20),
        BOB,
        "after the restart",
    );
    wait_until_applied(&fake2, &bot2, 3 + probes);
    bot2.stop();
    let store = bot2.store();
    let kept = all_messages(&store, GENERAL)
        .into_iter()
        .filter(|m| !m.content.starts_with("!summary"))
        .count();
    assert_eq!(kept, 3);
    drop(fake);
}

#[test]
fn slash_summarize_defers_at_once_then_edits_with_a_cited_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fake, mut bot) = connected(dir.path());
    let ids = inject_discussion(&fake, GENERAL, 1);
    let sent = Instant::now();
    fake.inject_interaction(&slash_command(
        5001,
        ALICE,
        GENERAL,
        &json!([{"name": "hours", "type": 4, "value": 2}]),
    ));
    let defer = fake
        .wait_for_call(WAIT, |c| {
            c.path.ends_with("/interactions/5001/token-5001/callback")
        })
        .unwrap_or_else(|| panic!("not deferred:\n{}", bot.log()));
    assert!(
        defer.at.duration_since(sent) < Duration::from_secs(3),
        "deferred too late"
    );
    assert_eq!(defer.json["type"], 5);
    assert_eq!(defer.json["data"]["flags"], 0, "public by default");

    let edit = wait_edit(&fake, 5001, &bot);
    let text = embeds_text(&edit);
    assert!(text.contains("Summary of #general"), "{text}");
    assert!(text.contains("4 messages"), "{text}");
    assert!(text.contains("builtin"), "{text}");
    let cited = ids.iter().any(|id| {
        text.contains(&format!(
            "https://discord.com/channels/{GUILD}/{GENERAL}/{id}"
        ))
    });
    assert!(cited, "no jump link to an injected message:\n{text}");
    assert_no_mentions_on_sends(&fake);
    bot.stop();
}

#[test]
fn private_summaries_are_ephemeral_and_the_cooldown_refuses_a_second_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fake, mut bot) = connected(dir.path());
    inject_discussion(&fake, GENERAL, 1);
    fake.inject_interaction(&slash_command(
        6001,
        ALICE,
        GENERAL,
        &json!([{"name": "private", "type": 5, "value": true}]),
    ));
    let defer = fake
        .wait_for_call(WAIT, |c| {
            c.path.ends_with("/interactions/6001/token-6001/callback")
        })
        .unwrap_or_else(|| panic!("not deferred:\n{}", bot.log()));
    assert_eq!(defer.json["type"], 5);
    assert_eq!(defer.json["data"]["flags"], 64);
    wait_edit(&fake, 6001, &bot);

    fake.inject_interaction(&slash_command(6002, ALICE, GENERAL, &json!([])));
    let refusal = fake
        .wait_for_call(WAIT, |c| {
            c.path.ends_with("/interactions/6002/token-6002/callback")
        })
        .unwrap_or_else(|| panic!("no answer to the second command:\n{}", bot.log()));
    assert_eq!(refusal.json["type"], 4);
    assert_eq!(refusal.json["data"]["flags"], 64);
    let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("This command is on cooldown. Try again in "),
        "{content}"
    );
    assert!(content.ends_with(" s."), "{content}");
    assert_no_mentions_on_sends(&fake);
    bot.stop();
}

#[test]
fn a_user_without_access_is_refused_and_shown_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fake, mut bot) = connected(dir.path());
    inject_discussion(&fake, SECRET, 1);
    let opts = json!([{"name": "channel", "type": 7, "value": SECRET.to_string()}]);
    fake.inject_interaction(&slash_command(7001, BOB, GENERAL, &opts));
    let refusal = fake
        .wait_for_call(WAIT, |c| {
            c.path.ends_with("/interactions/7001/token-7001/callback")
        })
        .unwrap_or_else(|| panic!("no refusal:\n{}", bot.log()));
    assert_eq!(refusal.json["type"], 4);
    assert_eq!(refusal.json["data"]["flags"], 64);
    let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("View Channel"), "{content}");
    bot.stop();
    assert_eq!(interaction_callbacks(&fake, 7001).len(), 1);
    let leaked = fake.calls().into_iter().any(|c| {
        c.path.contains(&format!("/channels/{SECRET}/")) || c.path.contains("token-7001/messages")
    });
    assert!(!leaked, "the secret channel was read or a summary shown");
}

#[test]
fn prefix_command_replies_with_embeds_after_a_502_and_a_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fake, mut bot) = connected(dir.path());
    inject_discussion(&fake, GENERAL, 1);
    fake.push_send_fault(SendFault::ServerError(502));
    fake.push_send_fault(SendFault::RateLimited { retry_after: 0.6 });
    let cmd = id_ago(Duration::ZERO, 50);
    fake.inject_message(GENERAL, cmd, ALICE, "!summary 2");
    let posts = fake.wait_for_calls(WAIT, 3, |c| {
        c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
    });
    assert_eq!(posts.len(), 3, "502/429 not retried:\n{}", bot.log());
    let waited = posts[2].at.duration_since(posts[1].at);
    assert!(
        waited >= Duration::from_millis(600),
        "retried after {waited:?}"
    );
    let reply = &posts[2];
    assert_eq!(
        reply.json["message_reference"]["message_id"],
        cmd.to_string()
    );
    assert!(
        embeds_text(reply).contains("Summary of #general"),
        "{}",
        embeds_text(reply)
    );
    assert_no_mentions_on_sends(&fake);
    bot.stop();
}

#[test]
fn an_empty_store_is_backfilled_over_rest_page_by_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let history: Vec<Value> = (0..250u64)
        .map(|i| {
            let sent = now_ms() - 3_600_000 + i * 10_000;
            let text = format!("History message {i}: the deploy plan needs review number {i}.");
            message(GENERAL, snowflake_at(sent, i), BOB, &text, sent)
        })
        .collect();
    // One older message outside a 2 h window ends the paging.
    let old = now_ms() - 5 * 3_600_000;
    let mut history = history;
    history.push(message(
        GENERAL,
        snowflake_at(old, 999),
        BOB,
        "too old",
        old,
    ));
    fake.add_history(history);
    let mut bot = Bot::start(dir.path(), &fake);
    connect(&fake, &bot);

    fake.inject_interaction(&slash_command(
        8001,
        ALICE,
        GENERAL,
        &json!([{"name": "hours", "type": 4, "value": 2}]),
    ));
    let edit = wait_edit(&fake, 8001, &bot);
    assert!(
        embeds_text(&edit).contains("250 messages"),
        "{}",
        embeds_text(&edit)
    );
    let pages: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path == format!("/api/v10/channels/{GENERAL}/messages"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for p in &pages {
        assert_eq!(p.query_param("limit").as_deref(), Some("100"));
        assert!(p.query_param("before").is_some());
    }
    bot.stop();
    assert_eq!(all_messages(&bot.store(), GENERAL).len(), 250);
}

#[test]
fn sigterm_lets_an_in_flight_summary_finish_then_exits_cleanly() {
    use support::fake_openai::{FakeOpenAi, Fault};
    let llm = FakeOpenAi::start();
    llm.push_fault(Fault::Hang(Duration::from_secs(2)));
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm_section = llm.llm_section();
    let mut bot = Bot::start_with_llm(
        dir.path(),
        &fake,
        "shutdown_deadline = \"15s\"",
        &llm_section,
    );
    connect(&fake, &bot);
    inject_discussion(&fake, GENERAL, 1);
    fake.inject_interaction(&slash_command(9101, ALICE, GENERAL, &json!([])));
    fake.wait_for_call(WAIT, |c| {
        c.path.ends_with("/interactions/9101/token-9101/callback")
    })
    .unwrap_or_else(|| panic!("not deferred:\n{}", bot.log()));
    // The LLM call is hanging now; SIGTERM must wait for it, not cut it off.
    bot.stop();
    let edit = fake.calls().into_iter().find(|c| {
        c.method == "PATCH"
            && c.path.ends_with("token-9101/messages/@original")
            && c.json.get("embeds").is_some_and(|e| e != &json!([]))
    });
    assert!(
        edit.is_some(),
        "the in-flight summary was not delivered:\n{}",
        bot.log()
    );
}

#[test]
fn a_long_window_shows_progress_edits_at_most_every_two_seconds() {
    use support::fake_openai::{FakeOpenAi, Fault};
    let llm = FakeOpenAi::start();
    // Slow chunk calls so the summary takes several seconds.
    for _ in 0..3 {
        llm.push_fault(Fault::Hang(Duration::from_millis(1500)));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm_section = format!(
        "provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n\
         context_tokens = 3000\nmax_tokens = 500\nconcurrency = 1",
        llm.base_url()
    );
    let mut bot = Bot::start_with_llm(dir.path(), &fake, "", &llm_section);
    connect(&fake, &bot);
    for i in 0..600u64 {
        let id = id_ago(Duration::from_secs(3000 - i * 4), 1000 + i);
        let text = format!(
            "Message {i}: the team reviewed module {i}, agreed the parser needs a fix, and \
             asked who owns the deployment checklist for release {i}."
        );
        fake.inject_message(GENERAL, id, ALICE, &text);
    }
    fake.inject_interaction(&slash_command(9201, ALICE, GENERAL, &json!([])));
    let done = wait_edit(&fake, 9201, &bot);
    let progress: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(|c| {
            c.method == "PATCH"
                && c.path.ends_with("token-9201/messages/@original")
                && c.json["content"]
                    .as_str()
                    // The count is whatever ingest had stored when the command came (≤ 600).
                    .is_some_and(|t| t.starts_with("Reading ") && t.contains(" messages… part "))
        })
        .collect();
    assert!(
        progress.len() >= 2,
        "progress edits: {progress:?}\n{}",
        bot.log()
    );
    for pair in progress.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(1950), "edits {gap:?} apart");
    }
    assert!(
        progress.iter().all(|p| p.at <= done.at),
        "progress after the result"
    );
    assert!(
        embeds_text(&done).contains("openai/fake-model"),
        "{}",
        embeds_text(&done)
    );
    assert_no_mentions_on_sends(&fake);
    bot.stop();
}

#[test]
fn a_repeated_summary_comes_from_the_cache_and_excluded_channels_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::start_with(dir.path(), &fake, "cooldown = \"0s\"");
    connect(&fake, &bot);
    inject_discussion(&fake, GENERAL, 1);
    fake.inject_interaction(&slash_command(9301, ALICE, GENERAL, &json!([])));
    let first = wait_edit(&fake, 9301, &bot);
    assert!(
        !embeds_text(&first).contains("cached"),
        "{}",
        embeds_text(&first)
    );
    fake.inject_interaction(&slash_command(9302, ALICE, GENERAL, &json!([])));
    let second = wait_edit(&fake, 9302, &bot);
    assert!(
        embeds_text(&second).contains("cached"),
        "{}",
        embeds_text(&second)
    );

    let opts = json!([{"name": "channel", "type": 7, "value": EXCLUDED.to_string()}]);
    fake.inject_interaction(&slash_command(9303, ALICE, GENERAL, &opts));
    let refusal = fake
        .wait_for_call(WAIT, |c| {
            c.path.ends_with("/interactions/9303/token-9303/callback")
        })
        .unwrap_or_else(|| panic!("no refusal:\n{}", bot.log()));
    assert_eq!(refusal.json["type"], 4);
    let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("excluded from summaries"), "{content}");
    bot.stop();
}

/// Discord re-sends a message when it adds link previews (MESSAGE_UPDATE, same text, no
/// `edited_timestamp`): that is no edit, so the cached summary stays; a real edit still
/// invalidates it.
#[test]
fn a_link_preview_keeps_the_cached_summary_and_a_real_edit_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::start_with(dir.path(), &fake, "cooldown = \"0s\"");
    connect(&fake, &bot);
    let ids = inject_discussion(&fake, GENERAL, 1);
    let summary = |id: u64| {
        fake.inject_interaction(&slash_command(id, ALICE, GENERAL, &json!([])));
        embeds_text(&wait_edit(&fake, id, &bot))
    };
    let first = summary(9351);
    assert!(!first.contains("cached"), "{first}");
    let text = "We decided to ship the release on Friday after the final review.";
    fake.inject_unfurl(GENERAL, ids[0], ALICE, text);
    let after_unfurl = summary(9352);
    assert!(
        after_unfurl.contains("cached"),
        "a link preview made the summary stale:\n{after_unfurl}"
    );
    fake.inject_edit(
        GENERAL,
        ids[0],
        ALICE,
        "We decided to ship on Monday instead.",
    );
    let after_edit = summary(9353);
    assert!(!after_edit.contains("cached"), "{after_edit}");
    bot.stop();
}

#[test]
fn a_rejected_token_stops_the_bot_with_exit_1_and_says_what_to_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    fake.reject_token();
    let mut bot = Bot::start(dir.path(), &fake);
    let exit = bot.wait_exit(WAIT);
    assert_eq!(exit.code(), Some(1), "{}", bot.log());
    // The log thread may lag the exit a little.
    let deadline = Instant::now() + WAIT;
    while !bot.log().contains("DISCORD_TOKEN") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(bot.log().contains("DISCORD_TOKEN"), "{}", bot.log());
}

#[test]
fn a_shard_range_runs_exactly_those_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = Bot::start_with(dir.path(), &fake, "shards = \"1-2/4\"");
    let identifies = fake.wait_for_identifies(WAIT, 2);
    assert_eq!(identifies.len(), 2, "{}", bot.log());
    let mut shards: Vec<Value> = identifies.iter().map(|d| d["shard"].clone()).collect();
    shards.sort_by_key(|s| s[0].as_u64());
    assert_eq!(shards, [json!([1, 4]), json!([2, 4])]);
    bot.stop();
    let all: Vec<Value> = fake
        .wait_for_identifies(Duration::ZERO, 3)
        .iter()
        .map(|d| d["shard"].clone())
        .collect();
    assert!(all.is_empty(), "a third shard ran: {all:?}\n{}", bot.log());
}

#[test]
fn detail_and_topic_reach_the_llm_from_every_command_and_bad_values_are_refused() {
    use support::fake_discord::command;
    use support::fake_openai::FakeOpenAi;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm = FakeOpenAi::start();
    let llm_section = llm.llm_section();
    let mut bot = Bot::start_with_llm(dir.path(), &fake, "cooldown = \"0s\"", &llm_section);
    connect(&fake, &bot);
    inject_discussion(&fake, GENERAL, 1);
    let last_prompt = |count: usize| {
        let requests = llm.chat_requests();
        assert_eq!(requests.len(), count, "LLM calls:\n{}", bot.log());
        requests[count - 1].prompt_text()
    };

    // /summarize detail:brief topic:changelog — only that message, the brief length, the header.
    let opts = json!([{"name": "detail", "type": 3, "value": "brief"},
        {"name": "topic", "type": 3, "value": "Changelog"}]);
    fake.inject_interaction(&slash_command(9301, ALICE, GENERAL, &opts));
    let text = embeds_text(&wait_edit(&fake, 9301, &bot));
    assert!(text.contains("focused on “Changelog”"), "{text}");
    assert!(text.contains("1 message"), "{text}");
    let prompt = last_prompt(1);
    assert!(prompt.contains("at most 700 characters"), "{prompt}");
    assert!(prompt.contains("update the changelog"), "{prompt}");
    assert!(
        !prompt.contains("database migration"),
        "off-topic message sent"
    );

    // A topic nothing is about: a clear answer, no LLM call.
    let opts = json!([{"name": "topic", "type": 3, "value": "zigbee"}]);
    fake.inject_interaction(&slash_command(9302, ALICE, GENERAL, &opts));
    let answer = fake
        .wait_for_call(WAIT, |c| {
            c.method == "PATCH"
                && c.path.ends_with("token-9302/messages/@original")
                && c.json["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("zigbee"))
        })
        .unwrap_or_else(|| panic!("no answer:\n{}", bot.log()));
    let content = answer.json["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("Nothing in this window of <#")
            && content.contains("is about “zigbee”"),
        "{content}"
    );
    assert_eq!(llm.chat_requests().len(), 1);

    // !summary 24h brief: the whole window, the brief length.
    fake.inject_message(
        GENERAL,
        id_ago(Duration::ZERO, 60),
        ALICE,
        "!summary 24h brief",
    );
    fake.wait_for_call(WAIT, |c| {
        c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
    })
    .unwrap_or_else(|| panic!("no reply to !summary:\n{}", bot.log()));
    let prompt = last_prompt(2);
    assert!(prompt.contains("at most 700 characters"), "{prompt}");
    assert!(prompt.contains("database migration"), "{prompt}");

    // /catchup detail:full (Bob has not written here: the last 24 h), no length asked.
    let opts = json!([{"name": "detail", "type": 3, "value": "full"},
        {"name": "channel", "type": 7, "value": GENERAL.to_string()}]);
    fake.inject_interaction(&command("catchup", 9303, BOB, GENERAL, &opts));
    wait_edit(&fake, 9303, &bot);
    let prompt = last_prompt(3);
    assert!(!prompt.contains("Length:"), "{prompt}");
    assert!(prompt.contains("database migration"), "{prompt}");

    // A value Discord's choices would not allow: refused, naming the allowed ones.
    let opts = json!([{"name": "detail", "type": 3, "value": "tiny"}]);
    fake.inject_interaction(&slash_command(9304, ALICE, GENERAL, &opts));
    let refusal = bot.wait_defer(&fake, 9304);
    assert_eq!(refusal.json["type"], 4);
    assert_eq!(refusal.json["data"]["flags"], 64);
    let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("use brief, standard or full"), "{content}");
    fake.inject_message(
        GENERAL,
        id_ago(Duration::ZERO, 61),
        ALICE,
        "!summary 24h tiny",
    );
    let replies = fake.wait_for_calls(WAIT, 2, |c| {
        c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages")
    });
    let text = replies[1].json["content"].as_str().unwrap_or_default();
    assert!(text.contains("`tiny` is neither"), "{text}");
    assert!(text.contains("brief, standard or full"), "{text}");
    assert_eq!(llm.chat_requests().len(), 3, "nothing sent for bad values");
    assert_no_mentions_on_sends(&fake);
    bot.stop();
}
