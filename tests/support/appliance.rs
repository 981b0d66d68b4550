//! The whole appliance (`summarybot run`) against a [`FakeDiscord`] with the webhook server on a
//! free port: started, awaited until `/health` answers, signed webhook posts, killed on drop.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use summarybot::webhook::signature;

use super::bot_process::BotProcess;
use super::fake_discord::{now_ms, snowflake_at, FakeDiscord, GUILD, TOKEN};
use super::webhook_http as http;

/// The webhook secret the appliance is configured with.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-e2e";
/// The bearer token for `GET /jobs/{id}`.
pub const BEARER: &str = "bearer-token-0123456789abcdef0123456789";
/// Generous bound for anything the appliance does (debug build, busy CI).
pub const WAIT: Duration = Duration::from_secs(30);

/// The running appliance (killed on drop) and its webhook address.
pub struct Appliance {
    process: BotProcess,
    /// Where the webhook server listens.
    pub addr: SocketAddr,
}

impl Appliance {
    /// Start with Discord pointed at `fake`, the webhook enabled, and `scheduler` as the body of
    /// `[scheduler]`; ready once `/health` answers 200.
    pub fn start(dir: &Path, fake: &FakeDiscord, scheduler: &str) -> Self {
        Self::start_with(dir, fake, "", scheduler, "")
    }

    /// Like [`Appliance::start`], with extra `[discord]` keys (e.g. `cooldown = "0s"`) and
    /// `sections` (e.g. a `[summary]` section) appended to the config.
    pub fn start_with(
        dir: &Path,
        fake: &FakeDiscord,
        discord_extra: &str,
        scheduler: &str,
        sections: &str,
    ) -> Self {
        let port = http::free_port();
        let config = format!(
            r#"
[discord]
token = "{TOKEN}"
api_base_url = "{api}"
guild_ids = ["{GUILD}"]
{discord_extra}

[webhook]
enabled = true
host = "127.0.0.1"
port = {port}
secret = "{SECRET}"
bearer_token = "{BEARER}"

[scheduler]
{scheduler}

[storage]
path = "db/summarybot.redb"

{sections}
"#,
            api = fake.api_base_url()
        );
        let mut app = Self {
            process: BotProcess::start(dir, &config),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        app.process.wait_healthy(app.addr);
        app
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Poll (no fixed sleeps) until `ready` holds, failing with the log after [`WAIT`].
    pub fn wait_until(&self, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !ready() {
            assert!(Instant::now() < deadline, "timed out; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Wait until `/health` reports the gateway session as connected.
    pub fn wait_connected(&self) {
        self.wait_until(|| {
            http::request(self.addr, "GET", "/health", &[], b"")
                .is_ok_and(|r| r.json()["discord"]["connected"] == true)
        });
    }

    /// POST `body` to `/webhook`, signed GitHub-style, with `delivery` as its delivery id and,
    /// for an object without one, as its `request_id` (the signature covers only the body, so
    /// the server tells deliveries apart by the body: the same body twice is one job).
    pub fn post(&self, body: &Value, delivery: &str) -> http::Response {
        let mut body = body.clone();
        if let Some(object) = body.as_object_mut() {
            object
                .entry("request_id")
                .or_insert_with(|| Value::String(delivery.to_string()));
        }
        let body = body.to_string();
        let sig = signature::sign_header(SECRET.as_bytes(), body.as_bytes());
        http::request(
            self.addr,
            "POST",
            "/webhook",
            &[("X-Signature-256", &sig), ("X-GitHub-Delivery", delivery)],
            body.as_bytes(),
        )
        .expect("POST /webhook")
    }

    /// Wait until job `id` is done or failed (`GET /jobs/{id}` with the bearer token); its
    /// status JSON.
    pub fn finished_job(&self, id: u64) -> Value {
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

    /// POST a signed `summary_request` of `channel` over the last hour (posted to `post_to`
    /// when given); the job id.
    pub fn request_summary(&self, channel: u64, delivery: &str, post_to: Option<u64>) -> u64 {
        let mut body = serde_json::json!({"type": "summary_request", "channel_id": channel.to_string(), "hours": 1});
        if let Some(target) = post_to {
            body["post_to_channel_id"] = serde_json::json!(target.to_string());
        }
        let r = self.post(&body, delivery);
        assert_eq!(r.status, 202, "{}", r.body);
        r.json()["job_id"].as_u64().expect("job id")
    }

    /// Send `lines` (author, text) to `channel` through `discord`, a second apart within the
    /// last minute, and wait until the bot stored them all (it ingests in batches: ask, without
    /// posting, until a summary counts them).
    pub fn seed(&self, discord: &FakeDiscord, channel: u64, lines: &[(u64, &str)]) {
        let now = now_ms();
        for (i, (author, text)) in lines.iter().enumerate() {
            discord.inject_message(
                channel,
                snowflake_at(now - 60_000 + i as u64 * 1000, i as u64),
                *author,
                text,
            );
        }
        let mut round = 0;
        self.wait_until(|| {
            round += 1;
            let job =
                self.finished_job(self.request_summary(channel, &format!("probe-{round}"), None));
            job["summary"]["message_count"].as_u64() == Some(lines.len() as u64)
        });
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) {
        self.process.stop();
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}
