//! End to end across the appliance: a signed webhook `summary_request` for messages the bot
//! ingested from the (fake) Discord gateway ends with the summary posted to a Discord channel,
//! without pinging anyone.

mod support;

use support::bot_process::BotProcess;
use support::webhook_http as http;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use summarybot::webhook::signature;
use support::fake_discord::{
    now_ms, snowflake_at, FakeDiscord, RestCall, ALICE, BOB, GENERAL, GUILD, TOKEN,
};

const SECRET: &str = "0123456789abcdef0123456789abcdef-e2e";
const BEARER: &str = "bearer-token-0123456789abcdef0123456789";

/// The running appliance (killed on drop) and its webhook address.
struct Appliance {
    process: BotProcess,
    addr: SocketAddr,
}

impl Appliance {
    fn start(dir: &Path, fake: &FakeDiscord) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = format!(
            r#"
[discord]
token = "{TOKEN}"
api_base_url = "{api}"
guild_ids = ["{GUILD}"]

[webhook]
enabled = true
host = "127.0.0.1"
port = {port}
secret = "{SECRET}"
bearer_token = "{BEARER}"

[scheduler]
enabled = false

[storage]
path = "db/summarybot.redb"
"#,
            api = fake.api_base_url()
        );
        let app = Self {
            process: BotProcess::start(dir, &config),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        app.wait_until(|| {
            http::request(app.addr, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200)
        });
        app
    }

    fn log(&self) -> String {
        self.process.log()
    }

    /// Poll (no fixed sleeps) until `ready` holds, failing with the log after 30 s.
    fn wait_until(&self, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready() {
            assert!(Instant::now() < deadline, "timed out; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// POST a signed summary request; returns the job id.
    fn request_summary(&self, delivery: &str, post_to: Option<u64>) -> u64 {
        let mut body =
            json!({"type": "summary_request", "channel_id": GENERAL.to_string(), "hours": 1});
        if let Some(channel) = post_to {
            body["post_to_channel_id"] = json!(channel.to_string());
        }
        let body = body.to_string();
        let sig = signature::sign_header(SECRET.as_bytes(), body.as_bytes());
        let r = http::request(
            self.addr,
            "POST",
            "/webhook",
            &[("X-Signature-256", &sig), ("X-GitHub-Delivery", delivery)],
            body.as_bytes(),
        )
        .expect("POST /webhook");
        assert_eq!(r.status, 202, "{}", r.body);
        r.json()["job_id"].as_u64().expect("job id")
    }

    fn finished_job(&self, id: u64) -> Value {
        let auth = format!("Bearer {BEARER}");
        let mut job = Value::Null;
        self.wait_until(|| {
            job = http::request(
                self.addr,
                "GET",
                &format!("/jobs/{id}"),
                &[("Authorization", &auth)],
                b"",
            )
            .map_or(Value::Null, |r| r.json());
            job["state"] == "done" || job["state"] == "failed"
        });
        job
    }
}

fn is_channel_post(call: &RestCall, channel: u64) -> bool {
    call.method == "POST" && call.path == format!("/api/v10/channels/{channel}/messages")
}

#[test]
fn a_signed_summary_request_ends_with_the_summary_posted_to_discord_without_pings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let app = Appliance::start(dir.path(), &fake);
    assert!(
        fake.wait_for_identify(Duration::from_secs(20)).is_some(),
        "{}",
        app.log()
    );

    // /health reports the live gateway session once READY and GUILD_CREATE arrived.
    app.wait_until(|| {
        http::request(app.addr, "GET", "/health", &[], b"").is_ok_and(|r| {
            let health = r.json();
            health["discord"]["connected"] == true && health["discord"]["guilds"] == 1
        })
    });

    let now = now_ms();
    let lines = [
        (
            ALICE,
            "@everyone the release is blocked on the flaky login test",
        ),
        (
            BOB,
            "I'll fix the login test today and ping you when it's green",
        ),
        (
            ALICE,
            "decided: we ship 2.1 on friday once the test is fixed",
        ),
    ];
    for (i, (author, text)) in lines.iter().enumerate() {
        fake.inject_message(
            GENERAL,
            snowflake_at(now - 60_000 + i as u64 * 1000, i as u64),
            *author,
            text,
        );
    }
    // The bot ingests in batches: ask (without posting) until all three messages are stored.
    let mut round = 0;
    app.wait_until(|| {
        round += 1;
        let job = app.finished_job(app.request_summary(&format!("probe-{round}"), None));
        job["summary"]["message_count"].as_u64() == Some(3)
    });

    let id = app.request_summary("deliver-1", Some(GENERAL));
    let job = app.finished_job(id);
    assert_eq!(job["state"], "done", "{job}\n{}", app.log());

    let posts: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(|c| is_channel_post(c, GENERAL))
        .collect();
    assert_eq!(
        posts.len(),
        1,
        "exactly one post for one delivery: {posts:?}"
    );
    let post = &posts[0];
    assert_eq!(
        post.json["allowed_mentions"],
        json!({"parse": []}),
        "{}",
        post.json
    );
    let embeds = post.json["embeds"].to_string();
    assert!(
        embeds.contains("login test"),
        "the summary is not in the post: {embeds}"
    );
    assert!(
        embeds.contains(&format!("https://discord.com/channels/{GUILD}/{GENERAL}/")),
        "no jump links: {embeds}"
    );
}
