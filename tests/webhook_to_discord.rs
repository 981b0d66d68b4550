//! End to end across the appliance: a signed webhook `summary_request` for messages the bot
//! ingested from the (fake) Discord gateway ends with the summary posted to a Discord channel,
//! without pinging anyone.

mod support;

use support::appliance::Appliance;
use support::webhook_http as http;

use std::time::Duration;

use serde_json::json;
use support::fake_discord::{FakeDiscord, RestCall, ALICE, BOB, GENERAL, GUILD};

fn is_channel_post(call: &RestCall, channel: u64) -> bool {
    call.method == "POST" && call.path == format!("/api/v10/channels/{channel}/messages")
}

#[test]
fn a_signed_summary_request_ends_with_the_summary_posted_to_discord_without_pings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let app = Appliance::start(dir.path(), &fake, "enabled = false");
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
    app.seed(&fake, GENERAL, &lines);

    let id = app.request_summary(GENERAL, "deliver-1", Some(GENERAL));
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
    // A three-message window's summary: its decision and its owner-named action item.
    assert!(
        embeds.contains("we ship 2.1 on friday") && embeds.contains("login test"),
        "the summary is not in the post: {embeds}"
    );
    assert!(
        embeds.contains(&format!("https://discord.com/channels/{GUILD}/{GENERAL}/")),
        "no jump links: {embeds}"
    );
}

#[test]
fn a_summary_request_with_detail_and_topic_reaches_the_llm_and_the_post() {
    use support::fake_openai::FakeOpenAi;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm = FakeOpenAi::start();
    let sections = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\nmax_retries = 1\n",
        llm.base_url()
    );
    let app = Appliance::start_with(dir.path(), &fake, "", "enabled = false", &sections);
    app.wait_connected();
    let lines = [
        (ALICE, "the release is blocked on the flaky login test"),
        (BOB, "lunch at noon anyone?"),
        (ALICE, "decided: we ship 2.1 on friday"),
    ];
    app.seed(&fake, GENERAL, &lines);
    let before = llm.chat_requests().len();

    let body = json!({"type": "summary_request", "channel_id": GENERAL.to_string(), "hours": 1,
        "detail": "brief", "topic": "Login", "post_to_channel_id": GENERAL.to_string()});
    let r = app.post(&body, "focused-1");
    assert_eq!(r.status, 202, "{}", r.body);
    let job = app.finished_job(r.json()["job_id"].as_u64().expect("job id"));
    assert_eq!(job["state"], "done", "{job}\n{}", app.log());
    assert_eq!(job["summary"]["focus"], "Login", "{job}");
    assert_eq!(job["summary"]["message_count"], 1, "{job}");
    let requests = llm.chat_requests();
    assert_eq!(requests.len(), before + 1);
    let prompt = requests[before].prompt_text();
    assert!(prompt.contains("at most 700 characters"), "{prompt}");
    assert!(prompt.contains("flaky login test"), "{prompt}");
    assert!(
        !prompt.contains("lunch"),
        "off-topic message sent: {prompt}"
    );
    let post = fake
        .wait_for_call(Duration::from_secs(20), |c| is_channel_post(c, GENERAL))
        .expect("posted");
    assert!(
        post.json["embeds"]
            .to_string()
            .contains("focused on “Login”"),
        "{}",
        post.json
    );

    // Nothing about the topic: the job fails at once with a clear reason, no LLM call.
    let body = json!({"type": "summary_request", "channel_id": GENERAL.to_string(), "hours": 1,
        "topic": "xylophone"});
    let r = app.post(&body, "focused-2");
    assert_eq!(r.status, 202, "{}", r.body);
    let job = app.finished_job(r.json()["job_id"].as_u64().expect("job id"));
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "not retried: {job}");
    assert!(
        job["error"].to_string().contains("is about “xylophone”"),
        "{job}"
    );
    assert_eq!(llm.chat_requests().len(), before + 1);
}
