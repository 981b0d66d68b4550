//! Slash commands whose answers only their invoker sees (`/summarybot`, `/digest`): building
//! a subcommand interaction, and reading its answer (an immediate refusal, or the edit of a
//! deferred reply), checking both are ephemeral and mention nobody.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use super::bot_process::BotProcess;
use super::fake_discord::{slash_command, FakeDiscord, APP_ID, GENERAL};

/// Generous bound for anything the bot does in response to an event (debug build, busy CI).
const WAIT: Duration = Duration::from_secs(20);

/// Fresh interaction ids for one test.
pub struct Ids(pub AtomicU64);

impl Ids {
    /// Ids from `first` on.
    pub fn from(first: u64) -> Self {
        Self(AtomicU64::new(first))
    }

    /// The next id.
    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// A `/{command} <sub>` interaction by `user` in `#general` with `perms` there (and in any
/// channel option).
pub fn subcommand(id: u64, user: u64, command: &str, sub: &str, opts: &Value, perms: u64) -> Value {
    let mut v = slash_command(id, user, GENERAL, &json!([]));
    v["data"]["name"] = json!(command);
    v["data"]["options"] = json!([{"name": sub, "type": 1, "options": opts}]);
    v["member"]["permissions"] = json!(perms.to_string());
    for o in opts.as_array().into_iter().flatten() {
        if o["name"] == "channel" {
            let channel = o["value"].as_str().unwrap_or_default().to_owned();
            v["data"]["resolved"]["channels"][&channel] = json!({"id": channel, "name": "general",
                "type": 0, "permissions": perms.to_string()});
        }
    }
    v
}

/// The answer to interaction `id`: an immediate (refusal) message, or the edit of a deferred
/// reply. Both must be ephemeral and mention nobody.
pub fn answer(fake: &FakeDiscord, bot: &BotProcess, id: u64) -> String {
    let callback = format!("/api/v10/interactions/{id}/token-{id}/callback");
    let original = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
    let found = fake.wait_for_call(WAIT, |c| {
        (c.path == callback && c.json["type"] == 4)
            || (c.path == original && c.json["content"].as_str().is_some_and(|t| !t.is_empty()))
    });
    let call = found.unwrap_or_else(|| panic!("no answer to {id}:\n{}", bot.log()));
    if call.path == callback {
        assert_eq!(call.json["data"]["flags"], 64, "refusals are ephemeral");
        assert_eq!(call.json["data"]["allowed_mentions"], json!({"parse": []}));
        return call.json["data"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
    let deferred = fake
        .calls()
        .into_iter()
        .find(|c| c.path == callback)
        .expect("deferred first");
    assert_eq!(deferred.json["data"]["flags"], 64, "answers are ephemeral");
    assert_eq!(call.json["allowed_mentions"], json!({"parse": []}));
    call.json["content"].as_str().unwrap_or_default().to_owned()
}

/// Send `interaction` and wait for its answer.
pub fn ask(fake: &FakeDiscord, bot: &BotProcess, interaction: &Value) -> String {
    let id: u64 = interaction["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    fake.inject_interaction(interaction);
    answer(fake, bot, id)
}
