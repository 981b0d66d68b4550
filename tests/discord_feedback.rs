//! End to end: 👍/👎 feedback on posted summaries. The real binary against the fake Discord,
//! with the webhook server and the status page on: `/summarize` and a webhook-posted summary
//! carry the buttons; members' clicks (MESSAGE_COMPONENT interactions) are answered
//! ephemerally and counted once per member; the status page shows the rate per provider/model;
//! an unreadable button and a summary whose cache entry is gone are refused and record nothing.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::appliance::Appliance;
use support::fake_discord::components::custom_ids;
use support::fake_discord::{
    id_ago, slash_command, FakeDiscord, RestCall, ALICE, APP_ID, BOB, CAROL, GENERAL,
};
use support::status_site::{login, password_hash};
use support::webhook_http as http;

const WAIT: Duration = Duration::from_secs(30);

/// The ephemeral text the bot answered click `id` with: a message (type 4), or for a closed
/// summary an acknowledgement (type 6), the buttons taken off the message and a follow-up.
fn answer(fake: &FakeDiscord, app: &Appliance, id: u64) -> String {
    let body = fake
        .wait_for_click_answer(id, WAIT)
        .unwrap_or_else(|| panic!("click {id} was not answered:\n{}", app.log()));
    if body["type"] == 6 {
        return closed_answer(fake, app, id);
    }
    assert_eq!(body["type"], 4, "{body}");
    assert_eq!(body["data"]["flags"], 64, "only the member sees it: {body}");
    assert_eq!(body["data"]["allowed_mentions"], json!({"parse": []}));
    body["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// After a type-6 acknowledgement of click `id`: the message's buttons are taken off (an edit of
/// `@original` with no components) and the member gets a private follow-up; its text.
fn closed_answer(fake: &FakeDiscord, app: &Appliance, id: u64) -> String {
    let original = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
    let edit = fake
        .wait_for_call(WAIT, |c| c.method == "PATCH" && c.path == original)
        .unwrap_or_else(|| panic!("the buttons were not taken off:\n{}", app.log()));
    assert_eq!(edit.json["components"], json!([]), "{}", edit.json);
    let followup = format!("/api/v10/webhooks/{APP_ID}/token-{id}");
    let note = fake
        .wait_for_call(WAIT, |c| c.method == "POST" && c.path == followup)
        .unwrap_or_else(|| panic!("no follow-up to click {id}:\n{}", app.log()));
    assert_eq!(
        note.json["flags"], 64,
        "only the member sees it: {}",
        note.json
    );
    note.json["content"].as_str().unwrap_or_default().to_owned()
}

/// Click `custom_id` of `message` as `user`; the answer's text.
fn click(
    fake: &FakeDiscord,
    app: &Appliance,
    message: &Value,
    custom_id: &str,
    user: u64,
) -> String {
    let id = fake.click(message, custom_id, user);
    answer(fake, app, id)
}

/// The feedback rows of the status page's overview JSON.
fn feedback_json(app: &Appliance, cookie: &str) -> Value {
    let r = http::request(
        app.addr,
        "GET",
        "/status/api/overview",
        &[("Cookie", cookie)],
        b"",
    )
    .expect("GET overview");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["feedback"].clone()
}

fn is_post(call: &RestCall) -> bool {
    call.method == "POST" && call.path == format!("/api/v10/channels/{GENERAL}/messages")
}

/// The appliance with the status page on, connected to `fake`, with no cooldown.
fn start(dir: &std::path::Path, fake: &FakeDiscord) -> Appliance {
    let status = format!(
        "[status]\nenabled = true\npassword_hash = \"{}\"\n",
        password_hash(dir)
    );
    let app = Appliance::start_with(dir, fake, "cooldown = \"0s\"", "enabled = false", &status);
    app.wait_connected();
    app
}

/// The reply to `!summary` and a summary posted by a webhook job carry the buttons too.
fn other_posts_carry_buttons(fake: &FakeDiscord, app: &Appliance) {
    // The reply to `!summary`.
    fake.inject_message(
        GENERAL,
        id_ago(Duration::from_millis(10), 99),
        BOB,
        "!summary",
    );
    let reply = fake
        .wait_for_call(WAIT, |c| {
            is_post(c) && c.json.get("message_reference").is_some()
        })
        .unwrap_or_else(|| panic!("no !summary reply:\n{}", app.log()));
    let last_reply = fake
        .wait_for_call(WAIT, |c| is_post(c) && c.json.get("components").is_some())
        .unwrap_or_else(|| panic!("the !summary reply has no buttons: {}", reply.json));
    assert_eq!(
        custom_ids(&json!({"components": last_reply.json["components"]})).len(),
        2
    );

    // A summary posted by a webhook job carries the buttons too.
    let before = fake.calls().into_iter().filter(is_post).count();
    let job = app.finished_job(app.request_summary(GENERAL, "posted-1", Some(GENERAL)));
    assert_eq!(job["state"], "done", "{job}");
    let posts: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(is_post)
        .skip(before)
        .collect();
    let last = posts.last().expect("the job posted");
    let posted_ids: Vec<String> = custom_ids(&json!({"components": last.json["components"]}));
    assert_eq!(posted_ids.len(), 2, "{}", last.json);
}

#[test]
fn members_rate_posted_summaries_once_each_and_the_status_page_shows_the_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let app = start(dir.path(), &fake);
    let cookie = login(app.addr);
    let empty = http::request(app.addr, "GET", "/status", &[("Cookie", &cookie)], b"")
        .expect("GET /status");
    assert!(empty.body.contains("No feedback yet"), "{}", empty.body);
    assert_eq!(feedback_json(&app, &cookie), json!([]));

    app.seed(
        &fake,
        GENERAL,
        &[
            (ALICE, "the release is blocked on the flaky login test"),
            (
                BOB,
                "I'll fix the login test today and ping you when it's green",
            ),
            (
                ALICE,
                "decided: we ship 2.1 on friday once the test is fixed",
            ),
        ],
    );

    // /summarize: the summary's (last) message carries one row of 👍/👎 buttons.
    fake.inject_interaction(&slash_command(1, ALICE, GENERAL, &json!([])));
    let path = format!("/api/v10/webhooks/{APP_ID}/token-1/messages/@original");
    let edit = fake
        .wait_for_call(WAIT, |c| {
            c.path == path && c.json.get("components").is_some()
        })
        .unwrap_or_else(|| panic!("no summary with buttons:\n{}", app.log()));
    let row = &edit.json["components"][0];
    assert_eq!(row["type"], 1, "{row}");
    assert_eq!(row["components"][0]["emoji"]["name"], "👍");
    assert_eq!(row["components"][1]["emoji"]["name"], "👎");
    let summary = fake.wait_for_components(WAIT, 1).remove(0);
    let ids = custom_ids(&summary);
    assert_eq!(ids.len(), 2, "{summary}");
    assert!(
        ids.iter()
            .all(|id| id.starts_with("fb:") && id.len() <= 100),
        "{ids:?}"
    );
    let (up, down) = (&ids[0], &ids[1]);

    // Alice 👍, twice: counted once. Bob 👎.
    assert!(click(&fake, &app, &summary, up, ALICE).contains("👍 is recorded"));
    let again = click(&fake, &app, &summary, up, ALICE);
    assert!(again.contains("already gave this summary 👍"), "{again}");
    assert!(click(&fake, &app, &summary, down, BOB).contains("👎 is recorded"));
    let rows = feedback_json(&app, &cookie);
    assert_eq!(
        rows,
        json!([{"provider": "builtin", "model": "extractive-v1", "up": 1, "down": 1, "up_percent": 50}]),
        "{}",
        app.log()
    );
    let page = http::request(app.addr, "GET", "/status", &[("Cookie", &cookie)], b"")
        .expect("GET /status");
    assert!(
        page.body
            .contains("<td>builtin/extractive-v1</td><td>1</td><td>1</td><td>50%</td>"),
        "{}",
        page.body
    );

    // A button whose id cannot be read is refused and records nothing.
    let bad = click(
        &fake,
        &app,
        &summary,
        "fb:up:general:standard:not-a-key",
        CAROL,
    );
    assert!(bad.contains("could not be read"), "{bad}");

    other_posts_carry_buttons(&fake, &app);

    edit_closes_feedback(&fake, &app, &summary, up, &cookie);
}

/// An edit in the window drops the channel's cached summaries: feedback on them closes, and a
/// later click records nothing.
fn edit_closes_feedback(
    fake: &FakeDiscord,
    app: &Appliance,
    summary: &Value,
    up: &str,
    cookie: &str,
) {
    // An edit in the window drops the channel's cached summaries: feedback on them closes. Alice
    // clicks her 👍 again (which changes nothing while it is open) until the edit has landed.
    let open = click(fake, app, summary, up, ALICE);
    assert!(
        open.contains("already gave"),
        "still open before the edit: {open}"
    );
    let created = fake.dispatched("MESSAGE_CREATE");
    let first = &created[0]["d"];
    let first_id: u64 = first["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    fake.inject_edit(
        GENERAL,
        first_id,
        ALICE,
        "the release is blocked on the login test",
    );
    let mut closed = String::new();
    app.wait_until(|| {
        closed = click(fake, app, summary, up, ALICE);
        closed.contains("has closed")
    });
    let late = click(fake, app, summary, up, CAROL);
    assert!(
        late.contains("Feedback on this summary has closed"),
        "{late}"
    );
    assert_eq!(
        feedback_json(app, cookie)[0]["up"],
        1,
        "a click after the cache entry went records nothing"
    );
}
