//! The one summary path, end to end against the fake Discord with the real binary: every
//! trigger sees the whole conversation (history the bot never saw live is fetched), the gap a
//! downtime or a refused resume left is filled, and coverage persists across restarts.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::appliance::{Appliance, WAIT};
use support::fake_discord::{
    embeds_text, id_ago, message, snowflake_time_ms, FakeDiscord, RestCall, ALICE, BOB, GENERAL,
    GUILD,
};
use support::webhook_http as http;

/// Where digests are posted.
const TARGET: u64 = 200_000_000_000_000_009;

/// Put `lines` into `#general`'s REST history (not on the gateway), the first `secs_ago`
/// seconds before now and each one second later; returns their ids.
fn history(fake: &FakeDiscord, lines: &[&str], secs_ago: u64, seq: u64) -> Vec<u64> {
    let msgs: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let ago = Duration::from_secs(secs_ago.saturating_sub(i as u64));
            let id = id_ago(ago, seq + i as u64);
            let author = if i % 2 == 0 { ALICE } else { BOB };
            message(GENERAL, id, author, text, snowflake_time_ms(id))
        })
        .collect();
    let ids = msgs
        .iter()
        .map(|m| m["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0))
        .collect();
    fake.add_history(msgs);
    ids
}

fn health(app: &Appliance) -> Value {
    http::request(app.addr, "GET", "/health", &[], b"").map_or(Value::Null, |r| r.json())
}

/// Wait until a gap fill that started after `after` (RFC 3339 or null) has finished.
fn wait_gap_fill_done(app: &Appliance, after: &Value) -> Value {
    let mut last = Value::Null;
    app.wait_until(|| {
        last = health(app)["discord"]["gap_fill"].clone();
        last["running"] == false && last["started_at"] != *after
    });
    last
}

fn history_reads(fake: &FakeDiscord) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path == format!("/api/v10/channels/{GENERAL}/messages"))
        .count()
}

/// POST a signed `summary_request` of `#general` over the last `hours`; the finished job.
fn summary_job(app: &Appliance, hours: u32, delivery: &str) -> Value {
    let body =
        json!({"type": "summary_request", "channel_id": GENERAL.to_string(), "hours": hours});
    let r = app.post(&body, delivery);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["job_id"].as_u64().expect("job id");
    let job = app.finished_job(id);
    assert_eq!(job["state"], "done", "{job}\n{}", app.log());
    job
}

/// `summarybot summarize --channel #general --hours 2 --format json` with the service stopped.
fn summarize_offline(dir: &Path) -> Value {
    let out = support::summarybot(dir)
        .args([
            "summarize",
            "--channel",
            &GENERAL.to_string(),
            "--hours",
            "2",
            "--format",
            "json",
        ])
        .output()
        .expect("run summarize");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json summary")
}

#[test]
fn a_webhook_summary_of_a_channel_never_seen_live_covers_its_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    history(
        &fake,
        &[
            "the migration to postgres is scheduled for friday",
            "I will write the rollback plan before then",
            "great, then we freeze the schema on thursday",
        ],
        1800,
        1,
    );
    let app = Appliance::start(dir.path(), &fake, "enabled = false");
    app.wait_connected();
    let job = summary_job(&app, 1, "never-seen");
    let summary: Value = job["summary"].clone();
    assert_eq!(summary["message_count"], 3, "{summary}");
    assert_eq!(
        summary["channel"]["guild_id"],
        GUILD.to_string(),
        "{summary}"
    );
    assert_eq!(summary["channel"]["name"], "general", "{summary}");
    assert!(history_reads(&fake) >= 1);

    // A channel the bot may not read: the job still finishes, and says what it covers.
    fake.deny_channel(GENERAL);
    let job = summary_job(&app, 2, "denied");
    let note = job["summary"]["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("fetching the rest from Discord failed"),
        "{job}"
    );
}

#[test]
fn the_first_digest_of_a_new_schedule_covers_history_from_before_the_bot_joined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    history(
        &fake,
        &[
            "we agreed to ship the dark mode toggle next sprint",
            "design review for dark mode is on tuesday",
        ],
        2400,
        10,
    );
    let app = Appliance::start(
        dir.path(),
        &fake,
        "enabled = true\n# a 10 s test schedule\nmin_interval = \"0s\"",
    );
    app.wait_connected();
    let create = json!({"type": "schedule_update", "action": "create", "guild_id": GUILD.to_string(),
        "channel_ids": [GENERAL.to_string()], "post_to_channel_id": TARGET.to_string(),
        "cron": "*/10 * * * * *", "hours": 1});
    let created = app.post(&create, "create-digest");
    assert_eq!(created.status, 201, "{}", created.body);
    let is_digest = |c: &RestCall| {
        c.method == "POST" && c.path == format!("/api/v10/channels/{TARGET}/messages")
    };
    let first = fake.wait_for_call(WAIT, is_digest).expect("a digest");
    let text = embeds_text(&first);
    assert!(text.contains("2 messages"), "{text}");
    assert!(text.to_lowercase().contains("dark mode"), "{text}");
}

#[test]
fn messages_posted_while_the_bot_was_down_are_filled_in_and_coverage_persists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut app = Appliance::start(dir.path(), &fake, "enabled = false");
    app.wait_connected();
    let first_fill = wait_gap_fill_done(&app, &Value::Null);
    fake.inject_message(
        GENERAL,
        id_ago(Duration::from_secs(90 * 60), 1),
        ALICE,
        "seen live before the restart",
    );
    // A summary completes the last 2 h (REST), which is then covered.
    summary_job(&app, 2, "before-restart");
    app.terminate();

    // While the bot is down, three messages are posted.
    history(
        &fake,
        &[
            "posted while the bot was down: the build is green again",
            "posted while the bot was down: release notes are drafted",
            "posted while the bot was down: tag v2.1 tomorrow",
        ],
        0,
        100,
    );
    let reads_before = history_reads(&fake);
    let app = Appliance::start(dir.path(), &fake, "enabled = false");
    app.wait_connected();
    let fill = wait_gap_fill_done(&app, &first_fill["started_at"]);
    assert_eq!(fill["messages"], 3, "{fill}\n{}", app.log());
    assert_eq!(fill["channels_filled"], 1, "{fill}");
    assert!(app.log().contains("gap fill finished"), "{}", app.log());
    let reads_for_fill = history_reads(&fake) - reads_before;
    assert!(reads_for_fill >= 1);

    // A window covered before the restart (and joined by the gap fill) is not fetched again.
    summary_job(&app, 2, "after-restart");
    assert_eq!(
        history_reads(&fake) - reads_before,
        reads_for_fill,
        "a covered window was fetched again"
    );
    drop(app);

    let summary = summarize_offline(dir.path());
    assert_eq!(summary["message_count"], 4, "{summary}");
    assert!(
        summary["note"]
            .as_str()
            .is_some_and(|n| n.contains("stored messages only")),
        "{summary}"
    );
}

#[test]
fn a_session_discord_refuses_to_resume_is_followed_by_a_gap_fill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let app = Appliance::start(dir.path(), &fake, "enabled = false");
    app.wait_connected();
    let first_fill = wait_gap_fill_done(&app, &Value::Null);
    fake.inject_message(
        GENERAL,
        id_ago(Duration::from_secs(600), 1),
        ALICE,
        "seen live",
    );
    fake.refuse_resumes(true);
    // Posted while the connection is down (never dispatched to the bot).
    history(
        &fake,
        &["missed during the outage: standup moved to 10:30"],
        0,
        200,
    );
    fake.drop_gateway();
    assert_eq!(fake.wait_for_identifies(WAIT, 2).len(), 2, "{}", app.log());
    let fill = wait_gap_fill_done(&app, &first_fill["started_at"]);
    assert_eq!(fill["messages"], 1, "{fill}\n{}", app.log());
    drop(app);
    let summary = summarize_offline(dir.path());
    assert_eq!(summary["message_count"], 2, "{summary}");
}
