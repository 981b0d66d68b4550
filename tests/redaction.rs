//! End to end: endpoints that echo the `Authorization` header (an OpenAI-compatible proxy, a
//! proxy in front of Discord) never get the LLM key or the Discord token into anything the
//! running appliance writes out: its log, `GET /jobs/{id}`, the message posted to the channel,
//! the status page.

mod support;

use serde_json::Value;
use support::appliance::{Appliance, BEARER, SECRET};
use support::fake_discord::{FakeDiscord, SendFault, ALICE, BOB, GENERAL, TOKEN};
use support::fake_openai::{FakeOpenAi, Fault};
use support::status_site;
use support::webhook_http as http;

/// The configured LLM key, shaped like OpenAI's.
const LLM_KEY: &str = "sk-proj-e2eRedaction0123456789abcdefGHIJ";

/// Fail with `what` unless `text` holds no configured secret.
fn assert_no_secret(what: &str, text: &str) {
    for secret in [LLM_KEY, TOKEN, SECRET, BEARER] {
        assert!(!text.contains(secret), "{what} holds a secret:\n{text}");
    }
}

#[test]
fn echoed_credentials_reach_no_log_job_discord_message_or_status_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let discord = FakeDiscord::start();
    let llm = FakeOpenAi::start();
    llm.answer_all(Fault::EchoAuthorization {
        status: 400,
        padding: 0,
    });
    let sections = format!(
        "[llm]\nprovider = \"openai\"\napi_key = \"{LLM_KEY}\"\nbase_url = \"{}\"\n\
         model = \"echo-model\"\ntimeout = \"5s\"\nmax_retries = 1\n\n\
         [status]\nenabled = true\npassword_hash = \"{}\"\n",
        llm.base_url(),
        status_site::password_hash(dir.path()),
    );
    let app = Appliance::start_with(dir.path(), &discord, "", "enabled = false", &sections);
    app.wait_connected();

    app.seed(
        &discord,
        GENERAL,
        &[
            (ALICE, "the release is blocked on the flaky login test"),
            (BOB, "I'll fix the login test today"),
        ],
    );

    // 1. The LLM echoes the key: the builtin summary is posted, saying why, with the key masked.
    let job = app.finished_job(app.request_summary(GENERAL, "deliver-1", Some(GENERAL)));
    assert_eq!(job["state"], "done", "{job}\n{}", app.log());
    let reason = job["summary"]["fallback_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("Authorization: Bearer *** (credential ***)"),
        "{job}"
    );
    assert_no_secret("the job", &job.to_string());
    let posts: Vec<Value> = discord
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == format!("/api/v10/channels/{GENERAL}/messages"))
        .map(|c| c.json)
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = posts[0].to_string();
    assert!(
        post.contains("Bearer ***"),
        "the reason is in the post: {post}"
    );
    assert_no_secret("the Discord message", &post);

    // 2. Discord (a proxy before it) echoes the bot token: the job fails, its error masked.
    discord.push_send_fault(SendFault::EchoAuthorization);
    let failed = app.finished_job(app.request_summary(GENERAL, "deliver-2", Some(GENERAL)));
    assert_eq!(failed["state"], "failed", "{failed}\n{}", app.log());
    let error = failed["error"].as_str().unwrap_or("");
    assert!(error.contains("Authorization: Bot ***"), "{failed}");
    assert_no_secret("the failed job", &failed.to_string());

    // 3. The status page lists that error, masked.
    let cookie = status_site::login(app.addr);
    for path in ["/status/jobs", "/status/api/jobs"] {
        let page =
            http::request(app.addr, "GET", path, &[("Cookie", &cookie)], b"").expect("status page");
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            page.body.contains("Authorization: Bot ***"),
            "{path}: {}",
            page.body
        );
        assert_no_secret(path, &page.body);
    }

    // 4. The log quoted both echoes (the LLM's WARN lines, the failed post), masked.
    let log = app.log();
    assert!(log.contains("Bearer ***"), "{log}");
    assert!(log.contains("Bot ***"), "{log}");
    assert_no_secret("the log", &log);
    // The real credentials were sent all along.
    assert_eq!(
        llm.chat_requests()[0].header("authorization"),
        Some(format!("Bearer {LLM_KEY}").as_str())
    );
}
