//! Black-box tests of the webhook server: the real binary on a real loopback port, signed with
//! both schemes, every bad input, duplicates, rate limiting, health, metrics, job results, and a
//! job surviving SIGKILL.

#[path = "support/webhook_http.rs"]
#[allow(dead_code, reason = "the benchmark uses other parts of the client")]
mod http;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::{request, Response};
use summarybot::webhook::{signature, standard};

const BIN: &str = env!("CARGO_BIN_EXE_summarybot");
const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/examples/dev-channel-export.json"
);
const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
const TOKEN: &str = "bearer-token-0123456789abcdef0123456789";
const SAMPLE_CHANNEL: &str = "871325106388582430";

/// A running `summarybot run` in a temp directory, killed on drop.
struct Server {
    dir: tempfile::TempDir,
    child: Option<Child>,
    addr: SocketAddr,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("addr").port()
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdin(Stdio::null());
    cmd
}

impl Server {
    /// Write the config (with `extra` appended to `[webhook]`... sections) and start.
    fn start(webhook_extra: &str, rest: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "[discord]\nenabled = false\n[scheduler]\nenabled = false\n[storage]\npath = \"db/s.redb\"\n\
             [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nsecret = \"{SECRET}\"\n\
             bearer_token = \"{TOKEN}\"\n{webhook_extra}\n{rest}\n"
        );
        std::fs::write(dir.path().join("summarybot.toml"), config).expect("config");
        let mut server = Self {
            dir,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = command(self.dir.path(), &["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.path().join("log.txt")).expect("log"),
            ))
            .spawn()
            .expect("start binary");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = request(self.addr, "GET", "/health", &[], b"") {
                if r.status == 200 {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("server exited with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "server not ready: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log.txt")).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn post(&self, headers: &[(&str, &str)], body: &str) -> Response {
        request(self.addr, "POST", "/webhook", headers, body.as_bytes()).expect("request")
    }

    fn post_signed(&self, extra: &[(&str, &str)], body: &str) -> Response {
        let sig = signature::sign_header(SECRET.as_bytes(), body.as_bytes());
        let mut headers = vec![("X-Signature-256", sig.as_str())];
        headers.extend_from_slice(extra);
        self.post(&headers, body)
    }

    fn job(&self, id: u64) -> Response {
        let auth = format!("Bearer {TOKEN}");
        request(
            self.addr,
            "GET",
            &format!("/jobs/{id}"),
            &[("Authorization", &auth)],
            b"",
        )
        .expect("request")
    }

    /// Poll the job until it is done or failed.
    fn finished_job(&self, id: u64) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.job(id).json();
            if job["state"] == "done" || job["state"] == "failed" {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} not finished: {job}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn metrics(&self) -> String {
        request(self.addr, "GET", "/metrics", &[], b"")
            .expect("metrics")
            .body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn job_id(r: &Response) -> u64 {
    r.json()["job_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no job_id: {}", r.body))
}

/// `body` (a JSON object) with a `request_id` field: a different signed body per `n`.
fn with_request_id(body: &str, n: u32) -> String {
    body.replacen('{', &format!(r#"{{"request_id":"req-{n}","#), 1)
}

fn sample_request() -> String {
    format!(
        r#"{{"type":"summary_request","channel_id":"{SAMPLE_CHANNEL}","since":"2026-11-17T00:00:00Z","until":"2026-11-19T00:00:00Z"}}"#
    )
}

#[test]
fn signed_request_is_queued_once_and_ends_with_a_summary() {
    // The running server holds the database lock: stop it, import messages, start again.
    let mut server = Server::start("", "");
    server.kill();
    let out = command(server.dir.path(), &["import", SAMPLE])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.launch();

    let body = sample_request();
    let first = server.post_signed(&[("X-GitHub-Delivery", "delivery-1")], &body);
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.json()["status"], "queued");
    let id = job_id(&first);
    let again = server.post_signed(&[("X-GitHub-Delivery", "delivery-1")], &body);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["status"], "already_processed");
    assert_eq!(job_id(&again), id);
    // The signature covers the body alone, so the body's hash is the key: a captured request
    // replayed with a new (unsigned) delivery id, another id header, none, or under GitHub's
    // header name is the same job, not a new one.
    let hub = signature::sign_header(SECRET.as_bytes(), body.as_bytes());
    let replays: [&[(&str, &str)]; 4] = [
        &[("X-GitHub-Delivery", "delivery-2")],
        &[("X-Request-Id", "fresh-id")],
        &[("X-Request-Id", &"x".repeat(300))],
        &[],
    ];
    for extra in replays {
        let replay = server.post_signed(extra, &body);
        assert_eq!((replay.status, job_id(&replay)), (200, id), "{extra:?}");
    }
    let by_hub = server.post(&[("X-Hub-Signature-256", &hub)], &body);
    assert_eq!((by_hub.status, job_id(&by_hub)), (200, id));
    // A sender that repeats a request on purpose makes the signed body differ.
    let distinct = body.replacen('{', r#"{"request_id":"second run","#, 1);
    let second = server.post_signed(&[], &distinct);
    assert_eq!(second.status, 202, "{}", second.body);
    assert_ne!(job_id(&second), id);

    let job = server.finished_job(id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["summary"]["message_count"], 276, "{job}");
    assert_eq!(job["summary"]["provider"], "builtin");
    assert!(
        job["summary"]["sections"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{job}"
    );

    let metrics = server.metrics();
    for needle in [
        "summarybot_http_requests_total{route=\"/webhook\",status=\"202\"} 2",
        "summarybot_http_requests_total{route=\"/webhook\",status=\"200\"} 6",
        "summarybot_summaries_total{provider=\"builtin\"",
        "summarybot_job_attempts_total{kind=\"summary_request\",outcome=\"done\"}",
        "summarybot_jobs{state=\"done\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} missing:\n{metrics}");
    }
}

#[test]
fn a_standard_webhook_replayed_with_a_new_request_id_is_a_duplicate() {
    let server = Server::start("", "");
    let body = r#"{"type":"summary_request","channel_id":"5"}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let sig = standard::sign(&standard::secret_key(SECRET), "msg_9", now, body.as_bytes());
    let ts = now.to_string();
    let signed = [
        ("webhook-id", "msg_9"),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    let first = server.post(&signed, body);
    assert_eq!(first.status, 202, "{}", first.body);
    // The signed webhook-id is the key; an unsigned X-Request-Id changes nothing.
    let mut replay = signed.to_vec();
    replay.push(("X-Request-Id", "a-new-id"));
    let again = server.post(&replay, body);
    assert_eq!((again.status, job_id(&again)), (200, job_id(&first)));
}

#[test]
fn standard_webhooks_headers_from_the_cli_are_accepted_and_checked() {
    let server = Server::start("", "");
    let body = r#"{"type":"summary_request","channel_id":"5","hours":2}"#;
    let file = server.dir.path().join("body.json");
    std::fs::write(&file, body).expect("body");
    let out = command(
        server.dir.path(),
        &[
            "webhook",
            "sign",
            "--standard",
            "--id",
            "msg_1",
            "--secret",
            SECRET,
            "--file",
        ],
    )
    .arg(&file)
    .output()
    .expect("sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let headers: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(headers.len(), 3, "{text}");
    assert_eq!(headers[0], ("webhook-id", "msg_1"));
    let ok = server.post(&headers, body);
    assert_eq!(ok.status, 202, "{}", ok.body);
    // webhook-id is the idempotency key.
    let dup = server.post(&headers, body);
    assert_eq!((dup.status, job_id(&dup)), (200, job_id(&ok)));

    let key = standard::secret_key(SECRET);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    for (ts, why) in [(now - 301, "old"), (now + 301, "future")] {
        let sig = standard::sign(&key, "msg_2", ts, body.as_bytes());
        let ts = ts.to_string();
        let r = server.post(
            &[
                ("webhook-id", "msg_2"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &sig),
            ],
            body,
        );
        assert_eq!(r.status, 401, "{why}: {}", r.body);
        assert!(
            r.json()["detail"]
                .as_str()
                .is_some_and(|d| d.contains("tolerance")),
            "{}",
            r.body
        );
    }
    let ts = now.to_string();
    let good = standard::sign(&key, "msg_3", now, body.as_bytes());
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("webhook-id", "msg_3"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", "v1,AAAA"),
            ],
            "matches",
        ),
        (
            &[
                ("webhook-id", "msg_3"),
                ("webhook-timestamp", "soon"),
                ("webhook-signature", &good),
            ],
            "Unix time",
        ),
        (
            &[("webhook-timestamp", &ts), ("webhook-signature", &good)],
            "webhook-id",
        ),
        (
            &[
                ("webhook-id", "other"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &good),
            ],
            "matches",
        ),
    ];
    for (headers, needle) in cases {
        let r = server.post(headers, body);
        assert_eq!(r.status, 401, "{headers:?}: {}", r.body);
        assert!(r.body.contains(needle), "{headers:?}: {}", r.body);
    }
    assert!(
        server.job(3).json()["error"] == "not_found",
        "nothing but job 1 was stored"
    );
}

/// Expected status, headers, body, and a fragment of the error detail.
type Case = (u16, Vec<(&'static str, String)>, String, &'static str);

/// Each case gets its status and an error whose detail contains its needle (signed with the
/// right secret unless the case expects 401).
fn assert_refused(server: &Server, cases: Vec<Case>) {
    for (status, mut headers, body, needle) in cases {
        if status != 401 {
            headers.push((
                "X-Signature-256",
                signature::sign_header(SECRET.as_bytes(), body.as_bytes()),
            ));
        }
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = server.post(&refs, &body);
        assert_eq!(r.status, status, "{body:.80}: {}", r.body);
        let json = r.json();
        assert!(json["error"].is_string(), "{}", r.body);
        assert!(
            json["detail"].as_str().is_some_and(|d| d.contains(needle)),
            "{needle}: {}",
            r.body
        );
    }
}

#[test]
fn bad_detail_and_topic_values_get_422_naming_the_allowed_ones() {
    let server = Server::start("", "");
    let cases: Vec<Case> = vec![
        (
            422,
            vec![],
            r#"{"type":"summary_request","channel_id":"5","detail":"tiny"}"#.into(),
            "field `detail`: unknown detail level \"tiny\": use brief, standard or full",
        ),
        (
            422,
            vec![],
            r#"{"type":"summary_request","channel_id":"5","topic":" ?! "}"#.into(),
            "field `topic`: the topic has no words",
        ),
        (
            422,
            vec![],
            r#"{"type":"schedule_update","action":"update","id":1,"detail":"long"}"#.into(),
            "use brief, standard or full",
        ),
    ];
    assert_refused(&server, cases);
    assert!(server
        .metrics()
        .contains("summarybot_jobs{state=\"queued\"} 0"));
}

#[test]
fn bad_requests_get_their_status_and_nothing_is_stored() {
    let server = Server::start("max_body_bytes = 2048", "");
    let valid = r#"{"type":"summary_request","channel_id":"5"}"#;
    let wrong_sig = signature::sign_header(b"another secret", valid.as_bytes());
    let huge = format!(
        r#"{{"type":"summary_request","channel_id":"5","language":"{}"}}"#,
        "x".repeat(4000)
    );
    let cases: Vec<Case> = vec![
        (401, vec![], valid.to_string(), "missing signature"),
        (
            401,
            vec![("X-Signature-256", wrong_sig)],
            valid.to_string(),
            "does not match",
        ),
        (
            401,
            vec![("X-Signature-256", "sha256=zz".into())],
            valid.to_string(),
            "does not match",
        ),
        (
            401,
            vec![("X-Signature-256", "md5=abc".into())],
            valid.to_string(),
            "does not match",
        ),
        (413, vec![], huge.clone(), "max_body_bytes"),
        (400, vec![], "{not json".into(), "not valid JSON"),
        (400, vec![], "[]".into(), "JSON object"),
        (400, vec![], r#"{"channel_id":"5"}"#.into(), "`type`"),
        (
            400,
            vec![],
            r#"{"type":"summary_request"}"#.into(),
            "`channel_id`",
        ),
        (
            400,
            vec![],
            r#"{"type":"summary_request","channel_id":[1]}"#.into(),
            "`channel_id`",
        ),
        (
            400,
            vec![],
            r#"{"type":"summary_request","channel_id":"5","hours":"x"}"#.into(),
            "`hours`",
        ),
        (
            422,
            vec![],
            r#"{"type":"launch_rockets"}"#.into(),
            "unknown type",
        ),
        (
            400,
            vec![],
            r#"{"type":"schedule_update"}"#.into(),
            "field `action`",
        ),
    ];
    assert_refused(&server, cases);
    // Nothing was stored.
    assert!(
        server
            .metrics()
            .contains("summarybot_jobs{state=\"queued\"} 0"),
        "{}",
        server.metrics()
    );
    assert!(server
        .metrics()
        .contains("summarybot_jobs{state=\"done\"} 0"));
}

#[test]
fn routing_errors_body_limits_and_job_status_auth() {
    let server = Server::start("max_body_bytes = 2048", "");
    // A declared huge body is refused before it is sent.
    let r = request(
        server.addr,
        "POST",
        "/webhook",
        &[("Content-Length", "999999999")],
        b"",
    )
    .expect("request");
    assert_eq!(r.status, 413, "{}", r.body);
    // Routing errors.
    let r = request(server.addr, "GET", "/webhook", &[], b"").expect("request");
    assert_eq!(r.status, 405, "{}", r.body);
    assert!(r.json()["detail"]
        .as_str()
        .is_some_and(|d| d.contains("POST")));
    let r = request(server.addr, "POST", "/health", &[], b"").expect("request");
    assert_eq!(r.status, 405);
    let r = request(server.addr, "GET", "/nope", &[], b"").expect("request");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (404, Some("not_found"))
    );
    // Job status needs credentials.
    let r = request(server.addr, "GET", "/jobs/1", &[], b"").expect("request");
    assert_eq!(r.status, 401);
    let r = request(
        server.addr,
        "GET",
        "/jobs/1",
        &[("Authorization", "Bearer wrong")],
        b"",
    )
    .expect("request");
    assert_eq!(r.status, 401);
    let sig = signature::sign_header(SECRET.as_bytes(), b"/jobs/1");
    let r = request(
        server.addr,
        "GET",
        "/jobs/1",
        &[("X-Signature-256", &sig)],
        b"",
    )
    .expect("request");
    assert_eq!(
        r.status, 404,
        "signed path is authorized; the job does not exist: {}",
        r.body
    );
    let auth = format!("Bearer {TOKEN}");
    let r = request(
        server.addr,
        "GET",
        "/jobs/abc",
        &[("Authorization", &auth)],
        b"",
    )
    .expect("request");
    assert_eq!(r.status, 400);
}

#[test]
fn rate_limit_answers_429_with_retry_after_per_client() {
    let server = Server::start("rate_limit_per_minute = 3", "");
    let body = r#"{"type":"summary_request","channel_id":"5"}"#;
    let statuses: Vec<u16> = (0..3)
        .map(|i| server.post_signed(&[], &with_request_id(body, i)).status)
        .collect();
    assert_eq!(statuses, vec![202, 202, 202]);
    let limited = server.post_signed(&[], &with_request_id(body, 4));
    assert_eq!(limited.status, 429, "{}", limited.body);
    let wait: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=20).contains(&wait), "{wait}");
    // Health and metrics are not limited.
    let health = request(server.addr, "GET", "/health", &[], b"").expect("health");
    assert_eq!(health.status, 200);
    let json = health.json();
    assert_eq!(
        (json["status"].as_str(), json["store"].as_str()),
        (Some("ok"), Some("ok"))
    );
    assert_eq!(json["workers"]["count"], 2);
    assert!(server
        .metrics()
        .contains("route=\"/webhook\",status=\"429\"} 1"));
}

#[test]
fn a_job_stored_before_redaction_is_answered_without_the_secret() {
    // A job written with the bearer token in its error and result (as before redaction), then
    // read back through GET /jobs/{id} from the running service.
    let mut server = Server::start("", "");
    server.kill();
    {
        let store = summarybot::store::Store::open(&server.dir.path().join("db/s.redb"))
            .expect("open the server's database");
        let now = summarybot::model::Timestamp::now();
        let job = store
            .enqueue_job("summary_request", "{}", now)
            .expect("enqueue");
        store
            .complete_job(
                job.id,
                &format!(r#"{{"note":"echoed Bearer {TOKEN}"}}"#),
                now,
            )
            .expect("complete");
        let failed = store
            .enqueue_job("summary_request", "{}", now)
            .expect("enqueue");
        store
            .fail_job(
                failed.id,
                &format!("upstream said: token {TOKEN}"),
                None,
                now,
            )
            .expect("fail");
    }
    server.launch();
    for id in [1, 2] {
        let body = server.job(id).body;
        assert!(!body.contains(TOKEN), "job {id} leaks the token: {body}");
        assert!(body.contains("***"), "{body}");
    }
}

#[test]
fn posting_without_discord_is_refused_at_once() {
    let server = Server::start("", "");
    let body = r#"{"type":"summary_request","channel_id":"5","post_to_channel_id":"77"}"#;
    let r = server.post_signed(&[], body);
    assert_eq!(r.status, 422, "{}", r.body);
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        detail.contains("`post_to_channel_id`") && detail.contains("discord.enabled = false"),
        "{detail}"
    );
    // Nothing was queued: the same request without the field is the first job.
    let ok = server.post_signed(&[], r#"{"type":"summary_request","channel_id":"5"}"#);
    assert_eq!((ok.status, job_id(&ok)), (202, 1), "{}", ok.body);
}

#[test]
fn a_job_running_at_sigkill_runs_after_restart() {
    // An LLM endpoint that accepts connections and never answers keeps the job running.
    let hang = TcpListener::bind("127.0.0.1:0").expect("bind");
    let llm = format!(
        "[llm]\nprovider = \"openai\"\napi_key = \"sk-test-0123456789\"\nbase_url = \"http://{}/v1\"\ntimeout = \"5m\"\nmax_retries = 1\n",
        hang.local_addr().expect("addr")
    );
    let mut server = Server::start("", &llm);
    let accepted = std::thread::spawn(move || {
        let conn = hang.accept();
        // Hold the connection open until the test ends.
        std::thread::sleep(Duration::from_secs(30));
        drop(conn);
    });
    // The window must hold messages or the engine answers without the LLM: import first.
    server.kill();
    let export = command(server.dir.path(), &["import", SAMPLE])
        .output()
        .expect("import");
    assert!(export.status.success());
    server.launch();
    let r = server.post_signed(&[], &sample_request());
    assert_eq!(r.status, 202, "{}", r.body);
    let id = job_id(&r);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.job(id).json()["state"] != "running" {
        assert!(
            Instant::now() < deadline,
            "job never started: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill(); // SIGKILL
                   // Restart with the builtin summarizer: the interrupted job runs and completes.
    let config_path = server.dir.path().join("summarybot.toml");
    let config = std::fs::read_to_string(&config_path).expect("config");
    std::fs::write(
        &config_path,
        config.replace("provider = \"openai\"", "provider = \"builtin\""),
    )
    .expect("config");
    server.launch();
    let job = server.finished_job(id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["summary"]["message_count"], 276);
    drop(accepted);
}

/// Many deliveries at once (the workers claim and finish jobs in the same group commits as the
/// enqueues), then SIGKILL: after a restart every acknowledged job is there and ends done, and a
/// job reported done before the kill is not run again (its finish was on disk when reported).
#[test]
fn acknowledged_and_finished_jobs_survive_a_sigkill_during_a_burst() {
    let mut server = Server::start("rate_limit_per_minute = 100000", "");
    let addr = server.addr;
    let senders: Vec<_> = (0..8u32)
        .map(|t| {
            std::thread::spawn(move || {
                (0..10u32)
                    .map(|i| {
                        let body = with_request_id(
                            r#"{"type":"summary_request","channel_id":"5"}"#,
                            t * 100 + i,
                        );
                        let sig = signature::sign_header(SECRET.as_bytes(), body.as_bytes());
                        let r = request(
                            addr,
                            "POST",
                            "/webhook",
                            &[("X-Signature-256", &sig)],
                            body.as_bytes(),
                        )
                        .expect("request");
                        assert_eq!(r.status, 202, "{}", r.body);
                        job_id(&r)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<u64> = senders
        .into_iter()
        .flat_map(|t| t.join().expect("sender"))
        .collect();
    assert_eq!(ids.len(), 80);
    // What the server reported as done just before the kill.
    let done_before: Vec<(u64, serde_json::Value)> = ids
        .iter()
        .map(|&id| (id, server.job(id).json()))
        .filter(|(_, job)| job["state"] == "done")
        .collect();
    server.kill(); // SIGKILL
    server.launch();
    for &id in &ids {
        let job = server.finished_job(id);
        assert_eq!(job["state"], "done", "{job}");
    }
    for (id, before) in &done_before {
        let after = server.job(*id).json();
        assert_eq!(
            (&after["attempts"], &after["updated_at"]),
            (&before["attempts"], &before["updated_at"]),
            "job {id} ran again: before {before}, after {after}"
        );
    }
    let distinct: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 80, "one job per delivery");
}

#[test]
fn a_port_in_use_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let config = format!(
        "[discord]\nenabled = false\n[scheduler]\nenabled = false\n[storage]\npath = \"db/s.redb\"\n\
         [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nsecret = \"{SECRET}\"\n"
    );
    std::fs::write(dir.path().join("summarybot.toml"), config).expect("config");
    let out = command(dir.path(), &["run"]).output().expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("webhook.port"), "{stderr}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start("", "");
    let r = server.post_signed(&[], r#"{"type":"summary_request","channel_id":"5"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    let mut child = server.child.take().expect("running");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "{exit}: {}", server.log());
    let log = server.log();
    assert!(
        log.contains("webhook server stopped") && log.contains("stopped cleanly"),
        "{log}"
    );
    assert!(
        request(server.addr, "GET", "/health", &[], b"").is_err(),
        "no longer listening"
    );
}

/// 20 silent connections, 20 that stop inside the headers and 20 that stop inside a 4 KiB
/// body (more than the server's request threads) do not delay valid requests, and the server
/// closes every one of them after `webhook.read_timeout` (2 s here), the stalled bodies with 408.
#[test]
fn slow_and_silent_connections_time_out_without_blocking_valid_requests() {
    let server = Server::start("read_timeout = \"2s\"\nrate_limit_per_minute = 100000", "");
    let partial_body = format!(
        "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\nX-Signature-256: sha256=00\r\n\r\n{}",
        "{\"type\":\"summary_request\"".repeat(4)
    );
    let partials: [&[u8]; 3] = [
        b"",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Le",
        partial_body.as_bytes(),
    ];
    let opened = Instant::now();
    let mut slow: Vec<(usize, std::net::TcpStream)> = (0..60)
        .map(|i| {
            let kind = i % 3;
            (
                kind,
                http::open_raw(server.addr, partials[kind]).expect("open slow connection"),
            )
        })
        .collect();

    for i in 0..10 {
        let started = Instant::now();
        let r = server.post_signed(
            &[],
            &with_request_id(r#"{"type":"summary_request","channel_id":"5"}"#, i),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "valid request {i} took {took:?} behind the slow connections"
        );
    }

    // Silence or headers that never end: closed after one read timeout. A stalled body: 408
    // after one, and closed with it (the rest is not drained). Plus 3 s of slack for a loaded
    // machine.
    for (kind, stream) in &mut slow {
        let deadline = opened + Duration::from_secs(5);
        let sent = http::wait_closed(stream, deadline)
            .unwrap_or_else(|e| panic!("kind {kind} connection still open: {e}"));
        let text = String::from_utf8_lossy(&sent);
        if *kind == 2 {
            assert!(
                text.starts_with("HTTP/1.1 408") && text.contains("webhook.read_timeout"),
                "{text}"
            );
        } else {
            assert!(text.is_empty(), "{text}");
        }
    }
    assert!(
        opened.elapsed() >= Duration::from_millis(1500),
        "closed before the timeout: {:?}",
        opened.elapsed()
    );
    let metrics = server.metrics();
    assert!(
        metrics.contains("summarybot_http_requests_total{route=\"unread\",status=\"408\"} 20"),
        "{metrics}"
    );
    assert!(
        metrics.contains("summarybot_http_requests_total{route=\"/webhook\",status=\"202\"} 10"),
        "{metrics}"
    );
}

/// A declared body far beyond any memory is refused with 413 without being read, and the server
/// lives on (tiny_http 0.12.0 allocated the declared size when dropping the request).
#[test]
fn a_huge_declared_body_is_413_and_the_server_survives() {
    let server = Server::start("read_timeout = \"1s\"", "");
    for length in ["99999999999999", "18446744073709551615", "2000000"] {
        let r = request(
            server.addr,
            "POST",
            "/webhook",
            &[("Content-Length", length)],
            b"{}",
        )
        .expect("answered");
        assert_eq!(r.status, 413, "{length}: {}", r.body);
        let health = request(server.addr, "GET", "/health", &[], b"").expect("still running");
        assert_eq!(health.status, 200, "{length}");
    }
}

/// An idle keep-alive connection is closed after `webhook.read_timeout`; an active one is not.
#[test]
fn idle_keep_alive_connections_are_closed() {
    let server = Server::start("read_timeout = \"1s\"", "");
    let mut conn = http::Conn::open(server.addr).expect("connect");
    for _ in 0..3 {
        let r = conn.send("GET", "/health", &[], b"").expect("health");
        assert_eq!(r.status, 200);
    }
    let started = Instant::now();
    let mut stream = conn.into_stream();
    let sent = http::wait_closed(&mut stream, started + Duration::from_secs(8)).expect("closed");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
    assert!(started.elapsed() >= Duration::from_millis(800));
    // A read timeout on the listener bounds `accept` too: after three idle timeout periods the
    // server must still take new connections.
    std::thread::sleep(Duration::from_secs(3));
    let r = request(server.addr, "GET", "/health", &[], b"").expect("still accepting");
    assert_eq!(r.status, 200);
}

/// Bodies still arriving are received on their own threads, at most 64 at once: the 65th and
/// later stalled uploads are refused with 503 at once instead of piling up body buffers.
#[test]
fn stalled_uploads_beyond_the_cap_get_503_at_once() {
    let server = Server::start("read_timeout = \"3s\"\nrate_limit_per_minute = 100000", "");
    let stalled: &[u8] =
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n{\"type\":";
    let opened = Instant::now();
    let mut conns: Vec<std::net::TcpStream> = (0..70)
        .map(|_| http::open_raw(server.addr, stalled).expect("open"))
        .collect();
    // Refusing the surplus never holds a request thread: valid requests still pass at once.
    for i in 0..5 {
        let started = Instant::now();
        let r = server.post_signed(
            &[],
            &with_request_id(r#"{"type":"summary_request","channel_id":"5"}"#, 100 + i),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        assert!(started.elapsed() < Duration::from_millis(1500));
    }
    let (mut busy, mut timed_out) = (0, 0);
    for conn in &mut conns {
        // The 408s come after one read timeout and close their connections (plus 3 s slack).
        let sent =
            http::wait_closed(conn, opened + Duration::from_secs(3 + 3)).expect("closed in time");
        let text = String::from_utf8_lossy(&sent);
        if text.starts_with("HTTP/1.1 503") {
            assert!(text.contains("retry later"), "{text}");
            busy += 1;
        } else {
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            timed_out += 1;
        }
    }
    assert_eq!((timed_out, busy), (64, 6));
}
