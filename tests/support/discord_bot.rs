//! The real bot (`summarybot run`) in a temp dir, configured against a [`FakeDiscord`] with the
//! builtin summarizer: started, awaited until connected (by polling the fake), stopped with
//! SIGTERM, killed on drop; its stderr is kept for failure messages.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use serde_json::json;
use summarybot::store::Store;

use super::bot_process::BotProcess;
use super::fake_discord::{FakeDiscord, RestCall, APP_ID, EXCLUDED, GUILD, TOKEN};

/// Generous bound for anything the bot does in response to an event (debug build, busy CI).
pub const WAIT: Duration = Duration::from_secs(20);

/// A running bot (killed on drop).
pub struct DiscordBot(BotProcess);

impl DiscordBot {
    /// Start with extra `[discord]` keys (e.g. `cooldown = "0s"`) and wait until it identified
    /// and registered its commands.
    pub fn connected(dir: &Path, fake: &FakeDiscord, discord_extra: &str) -> Self {
        let bot = Self::start_with(dir, fake, discord_extra);
        bot.wait_connected(fake);
        bot
    }

    /// Write the default config and spawn the bot.
    pub fn start(dir: &Path, fake: &FakeDiscord) -> Self {
        Self::start_with(dir, fake, "")
    }

    /// Spawn with extra `[discord]` keys.
    pub fn start_with(dir: &Path, fake: &FakeDiscord, discord_extra: &str) -> Self {
        Self::start_with_llm(dir, fake, discord_extra, "provider = \"builtin\"")
    }

    /// Spawn with extra `[discord]` keys and the body of the `[llm]` section.
    pub fn start_with_llm(dir: &Path, fake: &FakeDiscord, discord_extra: &str, llm: &str) -> Self {
        Self::start_with_env(dir, fake, discord_extra, llm, &[])
    }

    /// Like [`DiscordBot::start_with_llm`], with extra environment variables.
    pub fn start_with_env(
        dir: &Path,
        fake: &FakeDiscord,
        discord_extra: &str,
        llm: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let config = format!(
            r#"
[discord]
token = "{TOKEN}"
api_base_url = "{}"
guild_ids = ["{GUILD}"]
{discord_extra}

[summary]
exclude_channels = ["{EXCLUDED}"]

[llm]
{llm}

[scheduler]
enabled = false

[storage]
path = "db/summarybot.redb"
"#,
            fake.api_base_url()
        );
        Self(BotProcess::start_with_env(dir, &config, env))
    }

    /// Wait until the bot identified on the gateway and registered its guild commands.
    pub fn wait_connected(&self, fake: &FakeDiscord) {
        let identified = fake.wait_for_identify(WAIT).is_some();
        assert!(identified, "the bot never identified:\n{}", self.log());
        let registered = fake.wait_for_call(WAIT, |c| {
            c.method == "PUT" && c.path.ends_with(&format!("/guilds/{GUILD}/commands"))
        });
        assert!(
            registered.is_some(),
            "no command registration:\n{}",
            self.log()
        );
    }

    /// Everything the bot logged so far.
    pub fn log(&self) -> String {
        self.0.log()
    }

    /// The deferral (interaction callback) of interaction `id`.
    pub fn wait_defer(&self, fake: &FakeDiscord, id: u64) -> RestCall {
        let path = format!("/api/v10/interactions/{id}/token-{id}/callback");
        fake.wait_for_call(WAIT, |c| c.path == path)
            .unwrap_or_else(|| panic!("interaction {id} was not answered:\n{}", self.log()))
    }

    /// The edit of interaction `id`'s reply that carries the summary embeds.
    pub fn wait_summary(&self, fake: &FakeDiscord, id: u64) -> RestCall {
        let path = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
        fake.wait_for_call(WAIT, |c| {
            c.method == "PATCH"
                && c.path == path
                && c.json.get("embeds").is_some_and(|e| e != &json!([]))
        })
        .unwrap_or_else(|| panic!("no summary for interaction {id}:\n{}", self.log()))
    }

    /// SIGTERM, then wait for exit 0 within 30 s.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Send SIGTERM and return at once.
    pub fn terminate(&mut self) {
        self.0.terminate();
    }

    /// Wait (polling) until the bot exits on its own within `within`; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        self.0.wait_exit(within)
    }

    /// The bot's database (only after [`DiscordBot::stop`]: redb allows one opener).
    pub fn store(&self) -> Store {
        Store::open(&self.0.dir().join("db/summarybot.redb")).expect("open the bot's database")
    }
}
