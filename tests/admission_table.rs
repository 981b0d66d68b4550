//! The admission table, end to end with the real binary against the fake Discord: the six
//! triggers of the one summary path — `/summarize`, `!summary`, `/catchup`, a webhook
//! `summary_request`, a scheduled digest and `summarybot summarize --channel` — for a channel in
//! each of five states: allowed, excluded by the operator, opted out by its server, a thread of
//! an opted-out channel, and its server's settings unreadable (a damaged record).
//!
//! In every state all six take the same decision, and every refusal says why in the trigger's
//! own words: the member-facing text (`Barred::user_message`) on Discord — except `!summary` in
//! a channel the operator excluded, which stays silent by design — the reason (`Barred`'s
//! Display) on a failed job (retried when the settings are unreadable), in the log line of a
//! digest that leaves the channel out (posting nothing, not even its quiet-day note, and
//! recording that on the schedule) or in the schedule's `last_error` when the attempt fails,
//! and on the CLI's stderr with exit code 2.
//!
//! Each state is one database, prepared before the bot starts (settings, a per-second digest
//! schedule, and the channel's record from an earlier session, which the offline CLI needs to
//! know the channel at all), and one appliance run in which the Discord and webhook triggers
//! fire at once; the CLI runs after the bot stopped.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use summarybot::channel_summary::Barred;
use summarybot::model::{
    ChannelId, ChannelInfo, GuildId, JobState, Schedule, TimeWindow, Timestamp, UserId,
};
use summarybot::settings::Change;
use summarybot::store::Store;
use support::appliance::{Appliance, WAIT};
use support::fake_discord::{
    command, embeds_text, id_ago, message, slash_command, snowflake_time_ms, thread, FakeDiscord,
    RestCall, ALICE, APP_ID, BOB, EXCLUDED, GENERAL, GUILD,
};
use support::webhook_http as http;

/// A public thread of `GENERAL`.
const THREAD: u64 = 210_000_000_000_000_001;
/// Where the digest is posted.
const TARGET: u64 = 200_000_000_000_000_009;
/// A member who never wrote anywhere (`/catchup` covers the last day for them).
const CAROL: u64 = 400_000_000_000_000_003;
/// Interaction ids of `/summarize` and `/catchup`.
const SLASH: u64 = 7_001;
const CATCHUP: u64 = 7_002;

/// The triggers, in the order of a row.
const TRIGGERS: [&str; 6] = [
    "/summarize",
    "!summary",
    "/catchup",
    "webhook summary_request",
    "scheduled digest",
    "summarybot summarize",
];

/// The state of the channel the triggers ask for.
#[derive(Clone, Copy, Debug)]
enum State {
    Allowed,
    Excluded,
    OptedOut,
    ThreadOfOptedOut,
    SettingsUnreadable,
}

impl State {
    /// The channel every trigger asks for.
    fn target(self) -> u64 {
        match self {
            Self::Excluded => EXCLUDED,
            Self::ThreadOfOptedOut => THREAD,
            Self::Allowed | Self::OptedOut | Self::SettingsUnreadable => GENERAL,
        }
    }
}

/// What one trigger did.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// A summary of the channel was delivered (shown, posted, returned or printed).
    Summarized,
    /// Refused for good, with this text.
    Refused(String),
    /// Refused with this text; the attempt is retried later.
    RefusedRetrying(String),
    /// A digest left the channel out and logged this reason.
    LeftOut(String),
    /// No answer at all.
    Silent,
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("db").join("summarybot.redb")
}

/// The channel's record as an earlier session stored it.
fn record(id: u64, name: &str, parent: Option<u64>) -> ChannelInfo {
    ChannelInfo {
        id: ChannelId(id),
        guild_id: Some(GuildId(GUILD)),
        guild_name: Some("Fake Guild".into()),
        name: name.into(),
        topic: None,
        parent_id: parent.map(ChannelId),
    }
}

/// Prepare the state's database (the bot is not running) and return why the target is barred,
/// if it is.
fn prepare(dir: &Path, state: State) -> Option<Barred> {
    std::fs::create_dir_all(dir.join("db")).expect("db dir");
    let store = Store::open(&db_path(dir)).expect("open the database");
    // The offline CLI summarizes only a channel the database has a record of, and the gateway
    // records no barred channel: this is the record an earlier session left, before the
    // exclusion, the opt-out or the damage.
    let known = match state {
        State::Excluded => record(EXCLUDED, "private-notes", None),
        State::ThreadOfOptedOut => record(THREAD, "release-plan", Some(GENERAL)),
        _ => record(GENERAL, "general", None),
    };
    store.put_channel(&known).expect("channel record");
    store
        .insert_schedule(&Schedule {
            id: 0,
            guild_id: GuildId(GUILD),
            source_channels: vec![ChannelId(state.target())],
            target_channel: ChannelId(TARGET),
            cron: "* * * * * *".into(),
            timezone: "UTC".into(),
            window_hours: Some(2),
            kind: None,
            language: None,
            enabled: true,
            created_by: "test".into(),
            last_run: None,
            next_run: None,
            // A barred source is left out, never called quiet.
            quiet_day: true,
            last_outcome: None,
            last_error: None,
            detail: summarybot::model::Detail::default(),
        })
        .expect("schedule");
    let opt_out = |s: &mut summarybot::model::GuildSettings| {
        s.apply(
            &Change::OptOut(ChannelId(GENERAL)),
            UserId(ALICE),
            Timestamp::now(),
        );
    };
    match state {
        State::Allowed => None,
        State::Excluded => Some(Barred::Excluded {
            listed: ChannelId(EXCLUDED),
        }),
        State::OptedOut | State::ThreadOfOptedOut => {
            store
                .update_guild_settings(GuildId(GUILD), opt_out)
                .expect("opt out");
            Some(Barred::OptedOut {
                opted_out: ChannelId(GENERAL),
            })
        }
        State::SettingsUnreadable => {
            store
                .put_raw_guild_settings(GuildId(GUILD), &[1, 0xFF, 0xFF])
                .expect("damage the record");
            let reason = store
                .each_guild_settings()
                .expect("read settings")
                .into_iter()
                .find(|(g, _)| *g == GuildId(GUILD))
                .and_then(|(_, s)| s.err())
                .expect("the record is damaged")
                .to_string();
            Some(Barred::SettingsUnreadable {
                guild: GuildId(GUILD),
                reason,
            })
        }
    }
}

/// The row the state must give: every trigger summarizes, or every one refuses in its own words.
fn expected(barred: Option<&Barred>, target: u64) -> [Outcome; 6] {
    let Some(why) = barred else {
        return std::array::from_fn(|_| Outcome::Summarized);
    };
    let member = Outcome::Refused(why.user_message(ChannelId(target)));
    let reason = why.to_string();
    let (job, digest) = if why.is_decision() {
        (
            Outcome::Refused(reason.clone()),
            Outcome::LeftOut(reason.clone()),
        )
    } else {
        (
            Outcome::RefusedRetrying(reason.clone()),
            Outcome::RefusedRetrying(reason.clone()),
        )
    };
    // The operator's exclusions stay silent in the channel itself (discord::client, `message`).
    let prefix = match why {
        Barred::Excluded { .. } => Outcome::Silent,
        _ => member.clone(),
    };
    [
        member.clone(),
        prefix,
        member,
        job,
        digest,
        Outcome::Refused(reason),
    ]
}

/// The same Discord in every state: a public thread of `#general`, and three messages of the
/// last half hour in `#general`, the excluded channel and the thread, in the REST history only
/// (every trigger has to fetch them).
fn world(fake: &FakeDiscord) {
    // Dispatched before the bot connects: it is in the GUILD_CREATE the bot gets.
    fake.dispatch(
        "THREAD_CREATE",
        &thread(THREAD, GENERAL, "release-plan", 11),
    );
    let lines = [
        (ALICE, "We decided to ship the release on Friday."),
        (BOB, "Action item: Bob will update the changelog."),
        (ALICE, "The migration takes two minutes on the Pi."),
    ];
    let mut history = Vec::new();
    for (c, channel) in [GENERAL, EXCLUDED, THREAD].into_iter().enumerate() {
        for (i, (author, text)) in lines.iter().enumerate() {
            let seq = (c * 10 + i) as u64 + 1;
            let id = id_ago(Duration::from_secs(1800 - i as u64 * 600), seq);
            history.push(message(channel, id, *author, text, snowflake_time_ms(id)));
        }
    }
    fake.add_history(history);
}

fn health(app: &Appliance) -> Value {
    http::request(app.addr, "GET", "/health", &[], b"").map_or(Value::Null, |r| r.json())
}

/// The answer to interaction `id`: its refusal, or the edit of its deferred reply.
fn interaction(fake: &FakeDiscord, app: &Appliance, id: u64) -> Outcome {
    let callback = format!("/api/v10/interactions/{id}/token-{id}/callback");
    let answer = fake
        .wait_for_call(WAIT, |c| c.method == "POST" && c.path == callback)
        .unwrap_or_else(|| panic!("interaction {id} was not answered:\n{}", app.log()));
    if answer.json["type"] == 4 {
        return Outcome::Refused(text_of(&answer));
    }
    assert_eq!(answer.json["type"], 5, "{}", answer.json);
    let original = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
    let is_final = |c: &RestCall| {
        c.method == "PATCH"
            && c.path == original
            && (has_embeds(c) || !text_of(c).is_empty() && !text_of(c).starts_with("Reading "))
    };
    let edit = fake
        .wait_for_call(WAIT, is_final)
        .unwrap_or_else(|| panic!("interaction {id} got no result:\n{}", app.log()));
    summarized_or_refused(&edit)
}

fn text_of(call: &RestCall) -> String {
    let content = &call.json["data"]["content"];
    let content = if content.is_string() {
        content
    } else {
        &call.json["content"]
    };
    content.as_str().unwrap_or_default().to_owned()
}

fn has_embeds(call: &RestCall) -> bool {
    call.json
        .get("embeds")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty())
}

/// A message the bot sent: a summary (embeds titled "Summary of #…"), or a refusal (text).
fn summarized_or_refused(call: &RestCall) -> Outcome {
    if has_embeds(call) {
        let text = embeds_text(call);
        assert!(text.contains("Summary of #"), "{text}");
        Outcome::Summarized
    } else {
        Outcome::Refused(text_of(call))
    }
}

fn is_reply_to(call: &RestCall, channel: u64, message: u64) -> bool {
    call.method == "POST"
        && call.path == format!("/api/v10/channels/{channel}/messages")
        && call.json["message_reference"]["message_id"].as_str() == Some(&*message.to_string())
}

/// Post a signed `summary_request` for `channel`; the job id.
fn request_summary(app: &Appliance, channel: u64, delivery: &str) -> u64 {
    let body = json!({"type": "summary_request", "channel_id": channel.to_string(), "hours": 2});
    let r = app.post(&body, delivery);
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["job_id"].as_u64().expect("job id")
}

/// What became of job `id`: done, failed for good, or failed and queued again.
fn job(app: &Appliance, id: u64) -> Outcome {
    let auth = format!("Bearer {}", support::appliance::BEARER);
    let mut job = Value::Null;
    app.wait_until(|| {
        job = http::request(
            app.addr,
            "GET",
            &format!("/jobs/{id}"),
            &[("Authorization", &auth)],
            b"",
        )
        .map_or(Value::Null, |r| r.json());
        job["state"] == "done" || job["state"] == "failed" || job["error"].is_string()
    });
    let error = job["error"].as_str().unwrap_or_default().to_owned();
    match job["state"].as_str() {
        Some("done") => {
            let count = job["summary"]["message_count"].as_u64().unwrap_or(0);
            assert!(count >= 3, "{job}");
            Outcome::Summarized
        }
        Some("failed") => Outcome::Refused(error),
        _ => {
            assert_eq!(job["attempts"], 1, "{job}");
            Outcome::RefusedRetrying(error)
        }
    }
}

fn is_digest_post(call: &RestCall) -> bool {
    call.method == "POST" && call.path == format!("/api/v10/channels/{TARGET}/messages")
}

const LEFT_OUT: &str = "channel left out of the digest";

/// Wait until a digest attempt decided on the source and recorded it on the schedule: a digest
/// was posted, or an attempt that left the source out (or failed) finished.
fn wait_digest(fake: &FakeDiscord, app: &Appliance) {
    app.wait_until(|| {
        let log = app.log();
        let finished = |ok: bool| {
            log.lines()
                .any(|l| l.contains("digest finished") && l.contains(&format!("ok={ok}")))
        };
        fake.calls().iter().any(is_digest_post)
            || (log.contains(LEFT_OUT) && finished(true))
            || finished(false)
    });
}

/// What the digest did, from what it posted, logged and recorded (the bot has stopped).
fn digest(fake: &FakeDiscord, log: &str, store: &Store) -> Outcome {
    let posts: Vec<RestCall> = fake.calls().into_iter().filter(is_digest_post).collect();
    if !posts.is_empty() {
        // A quiet-day note (text, no embeds) would say the channel had no messages.
        let note = posts.iter().find(|p| !has_embeds(p));
        return summarized_or_refused(note.unwrap_or(&posts[0]));
    }
    if let Some(line) = log.lines().find(|l| l.contains(LEFT_OUT)) {
        let reason = line.split_once("reason=").map_or("", |(_, r)| r);
        // Nothing was posted, and the schedule records why.
        let outcome = store
            .schedule(1)
            .expect("read")
            .and_then(|s| s.last_outcome);
        assert!(
            outcome.as_deref().is_some_and(|o| o.contains("left out")),
            "{outcome:?}"
        );
        return Outcome::LeftOut(reason.trim().to_owned());
    }
    let schedule = store.schedule(1).expect("read").expect("schedule 1");
    let Some(error) = schedule.last_error else {
        return Outcome::Silent;
    };
    // The digest job of that attempt waits for its retry.
    let jobs = store.recent_jobs(1000).expect("jobs");
    let retrying = jobs.iter().any(|j| {
        j.kind == "digest"
            && j.state == JobState::Queued
            && j.last_error.as_deref() == Some(error.as_str())
    });
    assert!(retrying, "no digest job waits for a retry: {jobs:?}");
    Outcome::RefusedRetrying(error)
}

/// `summarybot summarize --channel` over the last 2 h, offline.
fn cli(dir: &Path, channel: u64) -> Outcome {
    let out = support::summarybot(dir)
        .args(["summarize", "--channel", &channel.to_string()])
        .args(["--hours", "2", "--format", "json"])
        .output()
        .expect("run summarize");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
            assert!(summary["message_count"].as_u64() >= Some(3), "{summary}");
            Outcome::Summarized
        }
        Some(2) => {
            assert!(
                out.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
            let line = stderr.lines().find_map(|l| l.strip_prefix("error: "));
            Outcome::Refused(line.unwrap_or_default().to_owned())
        }
        other => panic!("summarize exited with {other:?}:\n{stderr}"),
    }
}

/// Run every trigger in `state` and check the row.
fn table_row(state: State) {
    let dir = tempfile::tempdir().expect("tempdir");
    let barred = prepare(dir.path(), state);
    let target = state.target();
    let want = expected(barred.as_ref(), target);

    let fake = FakeDiscord::start();
    world(&fake);
    let mut app = Appliance::start_with(
        dir.path(),
        &fake,
        "cooldown = \"0s\"",
        "enabled = true\n# a per-second test schedule\nmin_interval = \"0s\"",
        &format!("[summary]\nexclude_channels = [\"{EXCLUDED}\"]"),
    );
    app.wait_until(|| health(&app)["discord"]["guilds"] == 1);

    // Every Discord and webhook trigger at once; `!summary` first, so that when the others have
    // been answered a silent `!summary` had every chance to speak.
    let cmd = id_ago(Duration::ZERO, 100);
    fake.inject_message(target, cmd, ALICE, "!summary 2");
    fake.inject_interaction(&slash_command(SLASH, ALICE, target, &json!([])));
    let here = json!([{"name": "channel", "type": 7, "value": target.to_string()}]);
    fake.inject_interaction(&command("catchup", CATCHUP, CAROL, target, &here));
    let job_id = request_summary(&app, target, &format!("table-{state:?}"));

    let slash = interaction(&fake, &app, SLASH);
    let catchup = interaction(&fake, &app, CATCHUP);
    let webhook = job(&app, job_id);
    wait_digest(&fake, &app);
    if want[1] != Outcome::Silent {
        fake.wait_for_call(WAIT, |c| is_reply_to(c, target, cmd))
            .unwrap_or_else(|| panic!("no reply to !summary:\n{}", app.log()));
    }
    // SIGTERM waits for commands in flight.
    app.terminate();
    let log = app.log();
    let prefix = fake
        .calls()
        .iter()
        .find(|c| is_reply_to(c, target, cmd))
        .map_or(Outcome::Silent, summarized_or_refused);
    let digest = digest(
        &fake,
        &log,
        &Store::open(&db_path(dir.path())).expect("open"),
    );
    let cli = cli(dir.path(), target);
    let got = [slash, prefix, catchup, webhook, digest, cli];

    let row: Vec<String> = TRIGGERS
        .iter()
        .zip(&got)
        .map(|(t, o)| format!("  {t:<24} {o:?}"))
        .collect();
    eprintln!("{state:?} (channel {target}):\n{}", row.join("\n"));
    for ((trigger, got), want) in TRIGGERS.iter().zip(&got).zip(&want) {
        assert_eq!(got, want, "{state:?}: {trigger}\nlog:\n{log}");
    }

    // A barred channel was neither read from Discord nor stored; an allowed one was both.
    let reads = fake
        .calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path == format!("/api/v10/channels/{target}/messages"))
        .count();
    let store = Store::open(&db_path(dir.path())).expect("open");
    let all = TimeWindow {
        start: Timestamp(0),
        end: Timestamp(i64::MAX),
    };
    let stored = store
        .messages_in(ChannelId(target), all)
        .expect("read")
        .len();
    if barred.is_some() {
        assert_eq!((reads, stored), (0, 0), "{state:?}: read or stored");
    } else {
        assert!(
            reads >= 1 && stored >= 3,
            "{state:?}: {reads} reads, {stored} stored"
        );
    }
}

#[test]
fn allowed_every_trigger_summarizes() {
    table_row(State::Allowed);
}

#[test]
fn excluded_by_the_operator_every_trigger_refuses_and_says_so() {
    table_row(State::Excluded);
}

#[test]
fn opted_out_every_trigger_refuses_and_says_so() {
    table_row(State::OptedOut);
}

#[test]
fn a_thread_of_an_opted_out_channel_every_trigger_refuses_and_says_so() {
    table_row(State::ThreadOfOptedOut);
}

#[test]
fn settings_unreadable_every_trigger_refuses_and_says_so_and_jobs_retry() {
    table_row(State::SettingsUnreadable);
}
