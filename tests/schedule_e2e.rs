//! End to end: scheduled digests from the real binary against the fake Discord. A per-second
//! schedule made over the signed webhook posts digests (no pings) and never enqueues a fire
//! time twice across SIGKILL and SIGTERM restarts; catch-up runs a recent missed fire once and
//! skips an old one; a digest whose second part failed and is retried after Discord's nonce
//! window posts each part once; `/schedule` changes are refused without Manage Server or the manager role
//! and, when allowed, wake the scheduler at once.

mod support;

use support::appliance::{Appliance, BEARER, WAIT};
use support::webhook_http as http;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use summarybot::model::{ChannelId, GuildId, JobState, Schedule, Timestamp};
use summarybot::store::Store;
use support::fake_discord::{
    message, now_ms, slash_command, snowflake_at, FakeDiscord, RestCall, SendFault, ALICE, BOB,
    EXCLUDED, GENERAL, GUILD, STAFF,
};

/// Where digests are posted.
const TARGET: u64 = 200_000_000_000_000_009;
/// A second target, for the schedule whose missed run is too old.
const OTHER_TARGET: u64 = 200_000_000_000_000_010;
/// Manage Server.
const MANAGE_GUILD: u64 = 1 << 5;
/// `[scheduler]` with a one-hour catch-up window.
const CATCH_UP_1H: &str = "catch_up = \"1h\"";

/// The appliance with the scheduler on (per-second schedules allowed) and `extra` in
/// `[scheduler]`, once its gateway session is up.
fn start(dir: &Path, fake: &FakeDiscord, extra: &str) -> Appliance {
    let app = Appliance::start(
        dir,
        fake,
        &format!(
            "enabled = true\n# The tests use per-second schedules.\nmin_interval = \"0s\"\n{extra}"
        ),
    );
    app.wait_connected();
    app
}

fn is_post_to(call: &RestCall, channel: u64) -> bool {
    call.method == "POST" && call.path == format!("/api/v10/channels/{channel}/messages")
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("db").join("summarybot.redb")
}

#[test]
fn a_per_second_schedule_posts_digests_and_never_enqueues_a_fire_time_twice_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut app = start(dir.path(), &fake, CATCH_UP_1H);
    let now = now_ms();
    let lines = [
        (
            ALICE,
            "@everyone the release is blocked on the flaky login test",
        ),
        (BOB, "I'll fix the login test today"),
    ];
    for (i, (author, text)) in lines.iter().enumerate() {
        fake.inject_message(
            GENERAL,
            snowflake_at(now - 60_000 + i as u64 * 1000, i as u64),
            *author,
            text,
        );
    }

    rejects_bad_schedule_updates(&app);

    let create = json!({"type": "schedule_update", "action": "create", "guild_id": GUILD.to_string(),
        "channel_ids": [GENERAL.to_string()], "post_to_channel_id": TARGET.to_string(),
        "cron": "* * * * * *", "hours": 1});
    let created = app.post(&create, "create-1");
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["schedule"]["id"], 1);
    let again = app.post(&create, "create-1");
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["status"], "already_processed");

    // Digests arrive (once the messages are ingested), as embeds, pinging nobody.
    let first = fake.wait_for_calls(WAIT, 2, |c| is_post_to(c, TARGET));
    assert_eq!(first.len(), 2, "{}", app.log());
    for post in &first {
        assert_eq!(
            post.json["allowed_mentions"],
            json!({"parse": []}),
            "{}",
            post.json
        );
        assert!(
            post.json["embeds"].to_string().contains("login test"),
            "{}",
            post.json
        );
        assert_eq!(
            post.json["components"][0]["components"][0]["emoji"]["name"], "👍",
            "a digest carries the feedback buttons: {}",
            post.json
        );
    }

    // SIGKILL, start again on the same database: digests go on.
    app.kill();
    let before = fake.posts_to(TARGET).len();
    let mut app = start(dir.path(), &fake, CATCH_UP_1H);
    let more = fake.wait_for_calls(WAIT, before + 2, |c| is_post_to(c, TARGET));
    assert!(more.len() >= before + 2, "{}", app.log());
    app.terminate();
    let after_term = fake.posts_to(TARGET).len();

    // SIGTERM and start again: still no fire time twice.
    let mut app = start(dir.path(), &fake, CATCH_UP_1H);
    let last = fake.wait_for_calls(WAIT, after_term + 1, |c| is_post_to(c, TARGET));
    assert!(last.len() > after_term, "{}", app.log());
    app.terminate();

    assert_each_fire_time_posted_once(dir.path(), &fake);
}

/// Bad `schedule_update`s: 400 naming the field, 404 for an unknown id; nothing is created.
fn rejects_bad_schedule_updates(app: &Appliance) {
    let bad = app.post(
        &json!({"type": "schedule_update", "action": "create", "guild_id": GUILD.to_string(),
            "channel_ids": [GENERAL.to_string()], "post_to_channel_id": TARGET.to_string(),
            "cron": "0 9 * *"}),
        "bad-cron",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.json()["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("field `cron`")),
        "{}",
        bad.body
    );
    let bad = app.post(
        &json!({"type": "schedule_update", "action": "create", "cron": 9}),
        "bad-type",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let unknown = app.post(
        &json!({"type": "schedule_update", "action": "pause", "id": 42}),
        "unknown",
    );
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

/// No fire time was enqueued twice, and each was posted (created in Discord) at most once.
fn assert_each_fire_time_posted_once(dir: &Path, fake: &FakeDiscord) {
    let store = Store::open(&db_path(dir)).expect("open the database");
    let digests: Vec<_> = store
        .recent_jobs(100_000)
        .expect("jobs")
        .into_iter()
        .filter(|j| j.kind == "digest")
        .collect();
    let fires: Vec<i64> = digests
        .iter()
        .map(|j| {
            serde_json::from_str::<Value>(&j.payload).expect("payload")["fire"]
                .as_i64()
                .expect("fire")
        })
        .collect();
    let unique: HashSet<i64> = fires.iter().copied().collect();
    assert_eq!(
        unique.len(),
        fires.len(),
        "a fire time was enqueued twice: {fires:?}"
    );
    assert!(
        fires.iter().all(|f| f % 1000 == 0),
        "fire times are whole seconds: {fires:?}"
    );
    // Each fire time is posted once: every digest message carries an enforced nonce of its
    // schedule and fire time, so a job cut off by SIGKILL after posting and run again creates no
    // second message (the fake, like Discord, returns the first one).
    let posts = fake.posts_to(TARGET);
    assert!(posts
        .iter()
        .all(|p| p.json["enforce_nonce"] == true && p.json["nonce"].is_string()));
    let nonces: HashSet<&str> = posts
        .iter()
        .filter_map(|p| p.json["nonce"].as_str())
        .collect();
    assert_eq!(fake.created_messages(TARGET), nonces.len());
    let done = digests.iter().filter(|j| j.state == JobState::Done).count();
    assert!(nonces.len() <= done, "{nonces:?} for {done} digests");
    for nonce in &nonces {
        let fire: i64 = nonce
            .split(':')
            .nth(1)
            .and_then(|f| f.parse().ok())
            .expect("fire");
        assert!(
            unique.contains(&(fire * 1000)),
            "{nonce} is not a fire time"
        );
    }
    let schedule = store.schedule(1).expect("read").expect("schedule 1");
    assert!(
        schedule.last_run.is_some() && schedule.last_outcome.is_some(),
        "{schedule:?}"
    );
}

/// A schedule firing once a day at `fire` (UTC, whole minutes), due at `fire`.
fn daily_at(fire: i64, target: u64) -> Schedule {
    let t = Timestamp(fire).to_datetime();
    Schedule {
        id: 0,
        guild_id: GuildId(GUILD),
        source_channels: vec![ChannelId(GENERAL)],
        target_channel: ChannelId(target),
        cron: t.format("0 %M %H * * *").to_string(),
        timezone: "UTC".into(),
        window_hours: Some(24),
        kind: None,
        language: None,
        enabled: true,
        created_by: "test".into(),
        last_run: None,
        next_run: Some(Timestamp(fire)),
        quiet_day: true,
        last_outcome: None,
        last_error: None,
        detail: summarybot::model::Detail::default(),
    }
}

#[test]
fn catch_up_runs_a_recent_missed_fire_once_and_skips_an_old_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let minute = 60_000;
    let now = i64::try_from(now_ms()).expect("now") / minute * minute;
    {
        std::fs::create_dir_all(dir.path().join("db")).expect("db dir");
        let store = Store::open(&db_path(dir.path())).expect("open");
        // Missed 20 minutes ago (within the 1 h catch-up) and 3 hours ago (beyond it).
        store
            .insert_schedule(&daily_at(now - 20 * minute, TARGET))
            .expect("recent");
        store
            .insert_schedule(&daily_at(now - 180 * minute, OTHER_TARGET))
            .expect("old");
    }
    let fake = FakeDiscord::start();
    let app = start(dir.path(), &fake, CATCH_UP_1H);

    // The recent one runs: the window is empty, so its quiet-day line is posted.
    let quiet = fake
        .wait_for_call(WAIT, |c| is_post_to(c, TARGET))
        .expect("a quiet-day post");
    let content = quiet.json["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("Quiet day: no new messages in <#"),
        "{content}"
    );
    assert_eq!(quiet.json["allowed_mentions"], json!({"parse": []}));

    // The old one is skipped and logged; its next run moves to tomorrow.
    app.wait_until(|| {
        let log = app.log();
        log.contains("were skipped") && log.contains("schedule_id=2")
    });
    app.wait_until(|| {
        http::request(app.addr, "GET", "/health", &[], b"").is_ok_and(|r| {
            let s = &r.json()["scheduler"];
            s["running"] == true
                && s["schedules"] == 2
                && s["next_fire"].as_i64() > Some(now + 3_600_000)
        })
    });
    // Exactly one digest job exists (job 1, done); there is no job 2.
    let auth = format!("Bearer {BEARER}");
    app.wait_until(|| {
        http::request(app.addr, "GET", "/jobs/1", &[("Authorization", &auth)], b"")
            .is_ok_and(|r| r.json()["state"] == "done")
    });
    let missing =
        http::request(app.addr, "GET", "/jobs/2", &[("Authorization", &auth)], b"").expect("GET");
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(fake.posts_to(TARGET).len(), 1);
    assert!(fake.posts_to(OTHER_TARGET).is_empty());
}

#[test]
fn a_digest_retried_after_the_nonce_window_posts_each_part_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let minute = 60_000;
    let fire = i64::try_from(now_ms()).expect("now") / minute * minute - 20 * minute;
    {
        std::fs::create_dir_all(dir.path().join("db")).expect("db dir");
        let store = Store::open(&db_path(dir.path())).expect("open");
        let mut schedule = daily_at(fire, TARGET);
        schedule.source_channels = vec![ChannelId(GENERAL), ChannelId(EXCLUDED)];
        store.insert_schedule(&schedule).expect("schedule");
    }
    let fake = FakeDiscord::start();
    // Discord forgets a nonce after a few minutes; here after 200 ms, well before the retry.
    fake.set_nonce_window(std::time::Duration::from_millis(200));
    let sent = u64::try_from(fire - 10 * minute).expect("time");
    fake.add_history(vec![
        message(
            GENERAL,
            snowflake_at(sent, 1),
            ALICE,
            "we ship on friday",
            sent,
        ),
        message(
            EXCLUDED,
            snowflake_at(sent, 2),
            BOB,
            "the docs are done",
            sent,
        ),
    ]);
    // The first part is created; every attempt of the second fails (5xx), so the job is
    // retried, seconds later.
    fake.push_send_fault(SendFault::Pass);
    for _ in 0..5 {
        fake.push_send_fault(SendFault::ServerError(500));
    }
    let app = start(dir.path(), &fake, CATCH_UP_1H);

    let auth = format!("Bearer {BEARER}");
    let mut job = Value::Null;
    app.wait_until(|| {
        // Polled gently: the webhook limits requests per address.
        std::thread::sleep(std::time::Duration::from_millis(500));
        job = http::request(app.addr, "GET", "/jobs/1", &[("Authorization", &auth)], b"")
            .expect("GET")
            .json();
        job["state"] == "done"
    });
    assert_eq!(job["attempts"], 2, "{job}");
    // Each part was created once: the retry skipped the part its first attempt had posted.
    assert_eq!(
        fake.created_messages(TARGET),
        2,
        "{:#?}",
        fake.posts_to(TARGET)
    );
    let created: HashSet<String> = fake
        .posts_to(TARGET)
        .iter()
        .map(|p| p.json["nonce"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(created.len(), 2, "{created:?}");
    // The job's stored state holds both parts' message ids.
    drop(app);
    let store = Store::open(&db_path(dir.path())).expect("reopen");
    let stored = store.job(1).expect("read").expect("job 1");
    let payload: Value = serde_json::from_str(&stored.payload).expect("json");
    assert_eq!(
        payload["posted"].as_object().map(serde_json::Map::len),
        Some(2),
        "{payload}"
    );
}

/// A `/schedule <sub>` interaction from `user` with guild permissions `perms`.
fn schedule_command(id: u64, user: u64, perms: u64, sub: &str, options: &Value) -> Value {
    let mut i = slash_command(id, user, GENERAL, &json!([]));
    i["data"]["name"] = json!("schedule");
    i["data"]["options"] = json!([{"name": sub, "type": 1, "options": options}]);
    // Discord resolves every channel option with the invoker's permissions there.
    for channel in [GENERAL, TARGET] {
        i["data"]["resolved"]["channels"][channel.to_string()] = json!({"id": channel.to_string(),
            "name": "general", "type": 0, "permissions": perms.to_string()});
    }
    i["member"]["permissions"] = json!(perms.to_string());
    i
}

/// The answer the invoker sees for interaction `id`, as a callback body: the immediate answer
/// (type 4), or for a deferred one (type 5, whose flags it keeps) the edit's content and
/// `allowed_mentions`.
fn callback(fake: &FakeDiscord, id: u64) -> Value {
    let token = format!("token-{id}");
    let (_, mut initial) = fake
        .wait_initial_response(&token, WAIT)
        .expect("an answer to the interaction");
    if initial["type"] == 5 {
        let edit = format!("/{token}/messages/@original");
        let edited = fake
            .wait_for_call(WAIT, |c| c.method == "PATCH" && c.path.ends_with(&edit))
            .expect("the deferred answer");
        initial["data"]["content"] = edited.json["content"].clone();
        initial["data"]["allowed_mentions"] = edited.json["allowed_mentions"].clone();
    }
    initial
}

#[test]
fn schedule_changes_need_manage_server_or_the_manager_role_and_wake_the_scheduler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let app = start(dir.path(), &fake, &format!("manager_role = {STAFF}"));
    let everyone = support::fake_discord::EVERYONE_PERMS;
    let add = json!([
        {"name": "cron", "type": 3, "value": "* * * * * *"},
        {"name": "channel", "type": 7, "value": GENERAL.to_string()},
        {"name": "post_to", "type": 7, "value": TARGET.to_string()},
        {"name": "quiet_day", "type": 5, "value": true}
    ]);

    fake.inject_interaction(&schedule_command(
        800_000_000_000_000_101,
        BOB,
        everyone,
        "add",
        &add,
    ));
    let refused = callback(&fake, 800_000_000_000_000_101);
    let text = refused["data"]["content"].as_str().unwrap_or_default();
    assert!(text.contains("Manage Server"), "{refused}");
    assert_eq!(refused["data"]["flags"], 64, "only the invoker sees it");
    assert_eq!(refused["data"]["allowed_mentions"], json!({"parse": []}));

    let bad = json!([{"name": "cron", "type": 3, "value": "every day"},
        {"name": "channel", "type": 7, "value": GENERAL.to_string()}]);
    fake.inject_interaction(&schedule_command(
        800_000_000_000_000_102,
        ALICE,
        everyone | MANAGE_GUILD,
        "add",
        &bad,
    ));
    let invalid = callback(&fake, 800_000_000_000_000_102);
    assert!(
        invalid["data"]["content"]
            .as_str()
            .is_some_and(|t| t.starts_with("`cron`:") && t.contains("0 9 * * 1-5")),
        "{invalid}"
    );

    // A manager who may not post in the target channel cannot send digests there.
    let mut mute = schedule_command(800_000_000_000_000_110, ALICE, everyone, "add", &add);
    mute["data"]["resolved"]["channels"][TARGET.to_string()]["permissions"] =
        json!((everyone & !(1u64 << 11)).to_string());
    fake.inject_interaction(&mute);
    let refused = callback(&fake, 800_000_000_000_000_110);
    assert!(
        refused["data"]["content"]
            .as_str()
            .is_some_and(|t| t.contains(&format!("post in <#{TARGET}>"))),
        "{refused}"
    );

    // Alice lacks Manage Server but has the manager role (scheduler.manager_role = STAFF).
    fake.inject_interaction(&schedule_command(
        800_000_000_000_000_103,
        ALICE,
        everyone,
        "add",
        &add,
    ));
    let added = callback(&fake, 800_000_000_000_000_103);
    let text = added["data"]["content"].as_str().unwrap_or_default();
    assert!(text.starts_with("Schedule **1** added"), "{added}");
    assert!(text.contains("<t:"), "{added}");

    // Woken at once (it would otherwise sleep for minutes): the quiet-day note arrives.
    let posted = fake
        .wait_for_call(WAIT, |c| is_post_to(c, TARGET))
        .expect("a digest post");
    assert_eq!(posted.json["allowed_mentions"], json!({"parse": []}));

    // Everyone sees the list.
    fake.inject_interaction(&schedule_command(
        800_000_000_000_000_104,
        BOB,
        everyone,
        "list",
        &json!([]),
    ));
    let list = callback(&fake, 800_000_000_000_000_104);
    let text = list["data"]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("**1**") && text.contains("`* * * * * *` UTC") && text.contains("next <t:"),
        "{list}"
    );

    // Bob, given Manage Server (and no role), may pause it; a paused schedule is not watched.
    fake.inject_interaction(&schedule_command(
        800_000_000_000_000_105,
        BOB,
        everyone | MANAGE_GUILD,
        "pause",
        &json!([{"name": "id", "type": 4, "value": 1}]),
    ));
    assert!(callback(&fake, 800_000_000_000_000_105)["data"]["content"]
        .as_str()
        .is_some_and(|t| t.contains("paused")));
    app.wait_until(|| {
        http::request(app.addr, "GET", "/health", &[], b"")
            .is_ok_and(|r| r.json()["scheduler"]["schedules"] == 0)
    });
}

#[test]
fn a_schedules_detail_from_schedule_or_the_webhook_reaches_its_digests() {
    use support::fake_openai::FakeOpenAi;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm = FakeOpenAi::start();
    let sections = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\nmax_retries = 1\n",
        llm.base_url()
    );
    let app = Appliance::start_with(
        dir.path(),
        &fake,
        "",
        "enabled = true\nmin_interval = \"0s\"",
        &sections,
    );
    app.wait_connected();
    let now = now_ms();
    for (i, text) in [
        "the login test is flaky again",
        "I'll fix the login test today",
    ]
    .iter()
    .enumerate()
    {
        fake.inject_message(
            GENERAL,
            snowflake_at(now - 60_000 + i as u64 * 1000, i as u64),
            ALICE,
            text,
        );
    }
    let prompt_with = |wanted: &dyn Fn(&str) -> bool| {
        app.wait_until(|| {
            llm.chat_requests()
                .iter()
                .any(|r| r.prompt_text().contains("login test") && wanted(&r.prompt_text()))
        });
    };

    // /schedule add detail:brief: its digests ask for the brief length.
    let add = json!([
        {"name": "cron", "type": 3, "value": "* * * * * *"},
        {"name": "channel", "type": 7, "value": GENERAL.to_string()},
        {"name": "post_to", "type": 7, "value": TARGET.to_string()},
        {"name": "hours", "type": 4, "value": 1},
        {"name": "detail", "type": 3, "value": "brief"}
    ]);
    let everyone = support::fake_discord::EVERYONE_PERMS;
    fake.inject_interaction(&schedule_command(
        800_000_000_000_000_201,
        ALICE,
        everyone | MANAGE_GUILD,
        "add",
        &add,
    ));
    let added = callback(&fake, 800_000_000_000_000_201);
    let text = added["data"]["content"].as_str().unwrap_or_default();
    assert!(text.contains(" · brief · "), "{added}");
    prompt_with(&|p| p.contains("at most 700 characters"));
    app.wait_until(|| !fake.posts_to(TARGET).is_empty());

    // The webhook changes it to full: the next digests ask for no length.
    let bad = app.post(
        &json!({"type": "schedule_update", "action": "update", "id": 1, "detail": "huge"}),
        "detail-bad",
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("use brief, standard or full"),
        "{}",
        bad.body
    );
    let changed = app.post(
        &json!({"type": "schedule_update", "action": "update", "id": 1, "detail": "full"}),
        "detail-full",
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.json()["schedule"]["detail"],
        "full",
        "{}",
        changed.body
    );
    prompt_with(&|p| !p.contains("Length:"));
}
