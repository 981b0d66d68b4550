//! A running `summarybot run` with the status page on, over a database seeded with schedules,
//! jobs, usage, ingest and latency history, and messages and job results carrying [`MARKER`]
//! (which must never reach the page). Shared by the HTTP and browser tests of the status page.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, MessageKind, Schedule,
    Timestamp, TokenUsage, UserId,
};
use summarybot::store::Store;

use super::bot_process::BotProcess;
use super::webhook_http::{request, Response};

/// The login password.
pub const PASSWORD: &str = "correct horse battery staple";
/// Text in every seeded message, job payload and job result; no status response may contain it.
pub const MARKER: &str = "ZZSECRETCONTENTMARKER";
/// The webhook secret.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
/// The seeded guild and its name.
pub const GUILD: u64 = 424_242_424_242_424_242;
/// Shown guild name.
pub const GUILD_NAME: &str = "Pi Makers";
/// The seeded channel.
pub const CHANNEL: u64 = 515_151_515_151_515_151;
/// The seeded schedule's cron.
pub const CRON: &str = "30 7 * * 1-5";
/// The seeded failed job's error.
pub const JOB_ERROR: &str = "Discord answered 403: the bot may not post in #announcements";

/// A running server, killed on drop.
pub struct StatusServer {
    /// Its directory (config, database, log).
    pub dir: tempfile::TempDir,
    process: BotProcess,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Ids of the seeded jobs: (done digest, failed summary request).
    pub jobs: (u64, u64),
}

/// `summarybot status hash-password` of [`PASSWORD`] with few iterations (fast logins in tests).
pub fn password_hash(dir: &Path) -> String {
    use std::io::Write;
    let mut child = super::summarybot(dir)
        .args(["status", "hash-password", "--iterations", "1000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("hash-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

impl StatusServer {
    /// Seed the database, write a config with `[status]` plus `status_extra`, and start.
    pub fn start(status_extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let hash = password_hash(dir.path());
        let jobs = seed(&dir.path().join("db/s.redb"));
        let port = super::webhook_http::free_port();
        let config = format!(
            "[discord]\nenabled = false\n[scheduler]\nenabled = false\n[storage]\npath = \"db/s.redb\"\n\
             [llm]\ndaily_token_budget = 50000\n\
             [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nsecret = \"{SECRET}\"\n\
             [status]\nenabled = true\npassword_hash = \"{hash}\"\n{status_extra}\n"
        );
        let process = BotProcess::start(dir.path(), &config);
        let mut server = Self {
            dir,
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            jobs,
        };
        server.process.wait_healthy(server.addr);
        server
    }

    /// The server's log.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// One request.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(self.addr, "GET", path, headers, b"").expect("request")
    }

    /// A form POST.
    pub fn post_form(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        request(self.addr, "POST", path, &all, body.as_bytes()).expect("request")
    }

    /// Post a signed summary request for the seeded channel and wait until the job finishes.
    pub fn summarize_via_webhook(&self) {
        let body = format!(r#"{{"type":"summary_request","channel_id":"{CHANNEL}","hours":48}}"#);
        let sig = summarybot::webhook::signature::sign_header(SECRET.as_bytes(), body.as_bytes());
        let r = request(
            self.addr,
            "POST",
            "/webhook",
            &[("X-Signature-256", &sig)],
            body.as_bytes(),
        )
        .expect("webhook");
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.json()["job_id"].as_u64().expect("job id");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sig = summarybot::webhook::signature::sign_header(
                SECRET.as_bytes(),
                format!("/jobs/{id}").as_bytes(),
            );
            let job = request(
                self.addr,
                "GET",
                &format!("/jobs/{id}"),
                &[("X-Signature-256", &sig)],
                b"",
            )
            .expect("job")
            .json();
            if job["state"] == "done" {
                assert!(
                    job["summary"].to_string().contains(MARKER),
                    "the summary should quote the marker so the no-content check means something: {job}"
                );
                return;
            }
            assert_ne!(job["state"], "failed", "{job}");
            assert!(
                Instant::now() < deadline,
                "job {id} not done: {job}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Log in; returns the `Cookie` header value of the session.
    pub fn login(&self) -> String {
        login(self.addr)
    }

    /// `GET /status/login`: the `Cookie` header value with the login token, and the form token.
    pub fn login_form(&self, headers: &[(&str, &str)]) -> (String, String) {
        login_form(self.addr, headers)
    }
}

/// Log in with [`PASSWORD`] to the status page of the server at `addr`; returns the `Cookie`
/// header value of the session.
pub fn login(addr: SocketAddr) -> String {
    let (cookie, csrf) = login_form(addr, &[]);
    let r = request(
        addr,
        "POST",
        "/status/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        format!("csrf={csrf}&password={}", form_encode(PASSWORD)).as_bytes(),
    )
    .expect("request");
    assert_eq!(r.status, 303, "{}", r.body);
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("sb_session=") && !c.starts_with("sb_session=;"))
        .expect("session cookie");
    session.split(';').next().expect("pair").to_string()
}

/// `GET /status/login` at `addr`: the `Cookie` header value with the login token, and the form
/// token.
pub fn login_form(addr: SocketAddr, headers: &[(&str, &str)]) -> (String, String) {
    let r = request(addr, "GET", "/status/login", headers, b"").expect("request");
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("sb_login_csrf="))
        .expect("login csrf cookie");
    let pair = cookie.split(';').next().expect("pair").to_string();
    (pair, form_token(&r.body))
}

/// Every `Set-Cookie` value of a response.
pub fn set_cookies(r: &Response) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone())
        .collect()
}

/// The value of the first `name="csrf"` input of a page.
pub fn form_token(html: &str) -> String {
    let start = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().expect("token").to_string()
}

/// `application/x-www-form-urlencoded` encoding of a value.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn message(id: u64, ts: Timestamp, text: &str) -> ChatMessage {
    ChatMessage {
        id: MessageId(id),
        channel_id: ChannelId(CHANNEL),
        guild_id: Some(GuildId(GUILD)),
        author: Author {
            id: UserId(id % 3 + 1),
            name: ["ana", "bo", "cy"][(id % 3) as usize].into(),
            display_name: None,
            is_bot: false,
        },
        timestamp: ts,
        edited_at: None,
        kind: MessageKind::Default,
        content: text.into(),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: 0,
        pinned: false,
    }
}

/// The status page's one schedule, last run 20 h before `now`.
fn schedule(now: Timestamp) -> Schedule {
    Schedule {
        id: 0,
        guild_id: GuildId(GUILD),
        source_channels: vec![ChannelId(CHANNEL)],
        target_channel: ChannelId(CHANNEL),
        cron: CRON.into(),
        timezone: "Europe/Berlin".into(),
        window_hours: Some(24),
        kind: None,
        language: None,
        enabled: true,
        created_by: "cli".into(),
        last_run: Some(now.minus_hours(20)),
        next_run: Some(Timestamp(now.0 + 4 * 3_600_000)),
        quiet_day: false,
        last_outcome: None,
        last_error: None,
        detail: summarybot::model::Detail::default(),
    }
}

/// Fill the database; returns the seeded job ids (done digest, failed summary request).
fn seed(path: &Path) -> (u64, u64) {
    let store = Store::open(path).expect("open store");
    let now = Timestamp::now();
    store
        .put_channel(&ChannelInfo {
            id: ChannelId(CHANNEL),
            guild_id: Some(GuildId(GUILD)),
            guild_name: Some(GUILD_NAME.into()),
            name: "general".into(),
            topic: Some(format!("topic {MARKER}")),
            parent_id: None,
        })
        .expect("channel");
    let msgs: Vec<ChatMessage> = (1..=12)
        .map(|i| {
            message(
                i,
                Timestamp(now.0 - 3_600_000 + i as i64 * 1000),
                &format!("We decided to ship the release {MARKER} on Friday, number {i}."),
            )
        })
        .collect();
    store
        .ingest_messages(&msgs, now.minus_hours(2))
        .expect("ingest");
    store
        .ingest_messages(&msgs[..3], now.minus_hours(30))
        .expect("ingest");
    let schedule = store.insert_schedule(&schedule(now)).expect("schedule");
    let today = Utc::now().date_naive();
    for (days_ago, tokens) in [(0, 12_000), (1, 61_000), (5, 3_000)] {
        store
            .add_usage(
                Some(GuildId(GUILD)),
                today - chrono::Duration::days(days_ago),
                "openai",
                "gpt-4o-mini",
                TokenUsage {
                    prompt_tokens: tokens,
                    completion_tokens: 500,
                },
            )
            .expect("usage");
    }
    for ms in [800, 1200, 2500, 9000] {
        store.record_summary_latency(today, ms).expect("latency");
    }
    let early = Timestamp(now.0 - 600_000);
    let lease = Duration::from_secs(60);
    let done = store
        .enqueue_job(
            "digest",
            &format!(
                r#"{{"schedule_id":{schedule},"fire":0,"since":0,"source_channels":["1"],
                    "target_channel":"2","kind":null,"language":"{MARKER}","quiet_day":false}}"#
            ),
            early,
        )
        .expect("enqueue")
        .id;
    store.claim_next_job(early, lease).expect("claim");
    store
        .complete_job(
            done,
            &format!(r#"{{"text":"{MARKER}"}}"#),
            Timestamp(early.0 + 4200),
        )
        .expect("complete");
    let failed = store
        .enqueue_job(
            "summary_request",
            &format!(r#"{{"note":"{MARKER}"}}"#),
            early,
        )
        .expect("enqueue")
        .id;
    store.claim_next_job(early, lease).expect("claim");
    store
        .fail_job(failed, JOB_ERROR, None, Timestamp(early.0 + 9000))
        .expect("fail");
    store.close().expect("close");
    (done, failed)
}
