//! Gateway reconnects, the real binary against the fake Discord: after a dropped connection the
//! bot RESUMEs (no new IDENTIFY) and gets what it missed; when the resume is refused it
//! IDENTIFYs again and gets READY and GUILD_CREATE again; either way it keeps answering. And the
//! fake's GUILD_CREATE carries each channel's `last_message_id` as serenity reads it. While the
//! gateway is down, the live session vouches for nothing after its last event: a summary
//! requested meanwhile fetches what Discord has.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serenity::model::guild::Guild;
use serenity::model::id::{ChannelId, MessageId};
use support::appliance::Appliance;
use support::discord_bot::{DiscordBot, WAIT};
use support::fake_discord::{
    embeds_text, id_ago, message, now_ms, snowflake_at, thread, FakeDiscord, RestCall, ALICE, BOB,
    EXCLUDED, GENERAL, GUILD, SECRET, TOKEN,
};
use support::webhook_http as http;

/// Inject `!summary 1` as message `id` and wait for the bot's reply to it.
fn ask_summary(fake: &FakeDiscord, bot: &DiscordBot, id: u64) -> RestCall {
    fake.inject_message(GENERAL, id, ALICE, "!summary 1");
    let reply = fake
        .wait_for_call(WAIT, |c| replies_to(c, id))
        .unwrap_or_else(|| panic!("no reply to !summary {id}:\n{}", bot.log()));
    assert!(
        embeds_text(&reply).contains("Summary of #general"),
        "{}",
        embeds_text(&reply)
    );
    reply
}

fn replies_to(call: &RestCall, id: u64) -> bool {
    call.method == "POST"
        && call.path == format!("/api/v10/channels/{GENERAL}/messages")
        && is_id(&call.json["message_reference"]["message_id"], id)
}

/// A snowflake as Discord's JSON has it (a string).
fn is_id(v: &Value, id: u64) -> bool {
    v.as_str().and_then(|s| s.parse().ok()) == Some(id)
}

fn registers_commands(call: &RestCall) -> bool {
    call.method == "PUT" && call.path.ends_with(&format!("/guilds/{GUILD}/commands"))
}

#[test]
fn after_a_dropped_connection_the_bot_resumes_and_gets_what_it_missed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    let identify = fake.wait_for_identify(WAIT).expect("identified");
    ask_summary(&fake, &bot, id_ago(Duration::from_secs(2), 1));

    fake.drop_gateway();
    // Sent while the bot is (almost surely) still disconnected: only the replay after its
    // RESUME can bring it. A command is used because backfill over REST cannot stand in for it.
    let missed = id_ago(Duration::from_secs(1), 2);
    fake.inject_message(GENERAL, missed, ALICE, "!summary 1");
    let resumes = fake.wait_for_resumes(WAIT, 1);
    assert_eq!(resumes.len(), 1, "no RESUME:\n{}", bot.log());
    assert_eq!(resumes[0]["session_id"], "session-1");
    assert_eq!(resumes[0]["token"], identify["token"]);
    // READY, GUILD_CREATE and the first command at least.
    assert!(resumes[0]["seq"].as_u64() >= Some(3), "{}", resumes[0]);
    let reply = fake
        .wait_for_call(WAIT, |c| replies_to(c, missed))
        .unwrap_or_else(|| panic!("the missed command was lost:\n{}", bot.log()));
    assert!(embeds_text(&reply).contains("Summary of #general"));
    assert_eq!(fake.dispatched("RESUMED").len(), 1);
    let missed_seq = fake
        .dispatched("MESSAGE_CREATE")
        .iter()
        .find(|p| is_id(&p["d"]["id"], missed))
        .and_then(|p| p["s"].as_u64());
    eprintln!(
        "RESUME seq {}, the missed command was s {missed_seq:?} ({})",
        resumes[0]["seq"],
        if missed_seq > resumes[0]["seq"].as_u64() {
            "replayed"
        } else {
            "sent live"
        }
    );

    // Still connected on the resumed session.
    ask_summary(&fake, &bot, id_ago(Duration::ZERO, 3));
    let replies = fake
        .calls()
        .iter()
        .filter(|c| replies_to(c, missed))
        .count();
    assert_eq!(replies, 1, "the replayed command was answered twice");
    assert!(
        fake.wait_for_identifies(Duration::ZERO, 2).is_empty(),
        "identified again instead of resuming:\n{}",
        bot.log()
    );
    assert_eq!(fake.dispatched("READY").len(), 1);
    assert_eq!(fake.resumes().len(), 1);
    bot.stop();
}

#[test]
fn a_refused_resume_makes_the_bot_identify_again_and_it_keeps_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    let said = id_ago(Duration::from_secs(5), 1);
    fake.inject_message(
        GENERAL,
        said,
        BOB,
        "We decided to ship the release on Friday.",
    );
    fake.refuse_resumes(true);

    // serenity 0.12.5 answers INVALID_SESSION(false) with a shard restart that first waits out
    // its own 5 s shutdown timeout, so the new IDENTIFY comes about 5 s after the refusal.
    let dropped = Instant::now();
    fake.drop_gateway();
    let resumes = fake.wait_for_resumes(WAIT, 1);
    assert_eq!(resumes.len(), 1, "no RESUME:\n{}", bot.log());
    let refused = dropped.elapsed();
    let identifies = fake.wait_for_identifies(WAIT, 2);
    assert_eq!(identifies.len(), 2, "no second IDENTIFY:\n{}", bot.log());
    assert!(fake.wait_for_identify(WAIT).is_some(), "{}", bot.log());
    eprintln!(
        "RESUME {refused:?} after the drop, IDENTIFY again {:?} after the drop",
        dropped.elapsed()
    );
    assert_eq!(identifies[1]["token"], identifies[0]["token"]);
    assert!(fake.dispatched("RESUMED").is_empty());

    let ready = fake.dispatched("READY");
    assert_eq!(ready.len(), 2);
    assert_ne!(ready[0]["d"]["session_id"], ready[1]["d"]["session_id"]);
    let guilds = fake.dispatched("GUILD_CREATE");
    assert_eq!(guilds.len(), 2);
    // The new GUILD_CREATE knows the message sent before (and nothing newer was sent).
    assert_eq!(guilds[1]["d"]["channels"][0]["id"], GENERAL.to_string());
    assert_eq!(
        guilds[1]["d"]["channels"][0]["last_message_id"],
        said.to_string()
    );
    // The bot handled the new READY: it registers its commands on every READY.
    let registrations = fake.wait_for_calls(WAIT, 2, registers_commands);
    assert_eq!(registrations.len(), 2, "{}", bot.log());

    ask_summary(&fake, &bot, id_ago(Duration::ZERO, 2));
    bot.stop();
}

/// Discord unreachable for a while (the connection dropped, reconnects refused): messages sent
/// meanwhile never reach the bot on the gateway. A webhook summary of a window inside the live
/// session, requested during the outage, must still hold them (fetched over REST, since the
/// session stopped vouching at its last event), and so must one after the bot reconnected.
#[test]
fn while_the_gateway_is_down_summaries_fetch_what_the_session_missed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let app = Appliance::start(dir.path(), &fake, "");
    app.wait_connected();
    // A window that starts inside the live session: without the outage the store alone
    // answers it.
    let since = support::fake_discord::rfc3339(now_ms());
    let count = |delivery: &str| {
        let body = json!({"type": "summary_request", "channel_id": GENERAL.to_string(),
            "since": since});
        let r = app.post(&body, delivery);
        assert_eq!(r.status, 202, "{}", r.body);
        let job = app.finished_job(r.json()["job_id"].as_u64().expect("job id"));
        assert_eq!(job["state"], "done", "{job}");
        job["summary"]["message_count"].as_u64().unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(20));
    fake.inject_message(
        GENERAL,
        id_ago(Duration::ZERO, 1),
        ALICE,
        "We ship on Friday.",
    );
    fake.inject_message(
        GENERAL,
        id_ago(Duration::ZERO, 2),
        BOB,
        "I write the changelog.",
    );
    let mut probe = 0;
    app.wait_until(|| {
        probe += 1;
        count(&format!("probe-{probe}")) == 2
    });

    fake.set_gateway_down(true);
    fake.drop_gateway();
    app.wait_until(|| app.log().contains("gateway session lost"));
    let health = http::request(app.addr, "GET", "/health", &[], b"").expect("health");
    assert_eq!(
        health.json()["discord"]["connected"],
        false,
        "{}",
        health.body
    );
    // Sent while the bot is away: only in Discord's history.
    let sent = now_ms();
    fake.add_history(vec![message(
        GENERAL,
        snowflake_at(sent, 3),
        BOB,
        "The release moved to Monday because of the CI outage.",
        sent,
    )]);
    // A window ends before the millisecond of its request: let one pass.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        count("during-outage"),
        3,
        "the message sent during the outage is fetched:\n{}",
        app.log()
    );

    // serenity's RESUME failed while the gateway was down, so it IDENTIFYs afresh once it is up
    // again (READY, then the gap fill).
    fake.set_gateway_down(false);
    let identifies = fake.wait_for_identifies(WAIT, 2);
    assert_eq!(identifies.len(), 2, "no new IDENTIFY:\n{}", app.log());
    app.wait_connected();
    assert_eq!(count("after-reconnect"), 3);
}

fn channel_of(guild: &Value, key: &str, id: u64) -> Value {
    guild[key]
        .as_array()
        .and_then(|l| l.iter().find(|c| is_id(&c["id"], id)))
        .cloned()
        .unwrap_or_else(|| panic!("no {key} {id} in {guild}"))
}

#[test]
fn guild_create_carries_the_newest_known_message_id_and_serenity_reads_it() {
    const THREAD: u64 = 210_000_000_000_000_001;
    let fake = FakeDiscord::start();
    let fresh = fake.guild_create_payload();
    for c in fresh["channels"].as_array().expect("channels") {
        assert_eq!(c["last_message_id"], Value::Null, "{c}");
    }
    serde_json::from_value::<Guild>(fresh).expect("GUILD_CREATE without messages");

    // History in any order: the newest id counts, not the last added.
    let base = now_ms() - 3_600_000;
    let ids: Vec<u64> = (0..3).map(|i| snowflake_at(base + i * 60_000, i)).collect();
    let history: Vec<Value> = [ids[1], ids[2], ids[0]]
        .iter()
        .map(|&id| message(GENERAL, id, BOB, "history", base))
        .collect();
    fake.add_history(history);
    // A dispatched message is known (and served over REST), even once deleted.
    let secret = snowflake_at(now_ms(), 7);
    fake.inject_message(SECRET, secret, ALICE, "staff only");
    // A thread created on the gateway is in the next GUILD_CREATE, with its newest message.
    fake.dispatch(
        "THREAD_CREATE",
        &thread(THREAD, GENERAL, "release-plan", 11),
    );
    let in_thread = snowflake_at(now_ms(), 8);
    fake.inject_message(THREAD, in_thread, BOB, "in the thread");
    fake.inject_delete(THREAD, in_thread);

    let payload = fake.guild_create_payload();
    let last = |key: &str, id: u64| channel_of(&payload, key, id)["last_message_id"].clone();
    assert_eq!(last("channels", GENERAL), json!(ids[2].to_string()));
    assert_eq!(last("channels", SECRET), json!(secret.to_string()));
    assert_eq!(last("channels", EXCLUDED), Value::Null);
    assert_eq!(last("threads", THREAD), json!(in_thread.to_string()));
    assert!(channel_of(&payload, "threads", THREAD)
        .get("newly_created")
        .is_none());

    let guild = serde_json::from_value::<Guild>(payload.clone()).expect("GUILD_CREATE");
    let general = &guild.channels[&ChannelId::new(GENERAL)];
    assert_eq!(general.last_message_id, Some(MessageId::new(ids[2])));
    assert_eq!(
        guild.channels[&ChannelId::new(EXCLUDED)].last_message_id,
        None
    );
    assert_eq!(guild.threads.len(), 1);
    assert_eq!(
        guild.threads[0].last_message_id,
        Some(MessageId::new(in_thread))
    );
    let event = json!({"op": 0, "s": 2, "t": "GUILD_CREATE", "d": payload});
    let event: serenity::model::event::GatewayEvent =
        serde_json::from_value(event).expect("GUILD_CREATE event");
    assert!(matches!(
        event,
        serenity::model::event::GatewayEvent::Dispatch(
            2,
            serenity::model::event::Event::GuildCreate(_)
        )
    ));

    // REST: the dispatched message is in the history, the deleted one is not.
    let rest: std::net::SocketAddr = fake
        .api_base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .parse()
        .expect("REST address");
    let get = |channel: u64| -> Value {
        let path = format!("/api/v10/channels/{channel}/messages?limit=100");
        let r = support::webhook_http::request(rest, "GET", &path, &[], b"").expect("GET");
        serde_json::from_str(&r.body).expect("JSON")
    };
    assert_eq!(get(SECRET)[0]["id"], secret.to_string());
    assert_eq!(get(THREAD), json!([]));

    // A message the bot creates is the newest in its channel.
    let auth = format!("Bot {TOKEN}");
    let sent = support::webhook_http::request(
        rest,
        "POST",
        &format!("/api/v10/channels/{EXCLUDED}/messages"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"content": "a reply"}"#,
    )
    .expect("POST");
    let created: Value = serde_json::from_str(&sent.body).expect("JSON");
    let created_id = created["id"].as_str().expect("id").to_owned();
    assert!(created_id.parse::<u64>().expect("snowflake") > secret);
    let payload = fake.guild_create_payload();
    assert_eq!(
        channel_of(&payload, "channels", EXCLUDED)["last_message_id"],
        json!(created_id)
    );
}
