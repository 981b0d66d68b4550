//! Configuration: typed settings, loading (TOML file → `.env` → process environment → secret
//! files), validation that reports every problem at once, and secret redaction.
//!
//! The value is built once by [`load`], checked by [`Config::validate`] and then passed explicitly;
//! there is no global. Loading never stops at a bad value: a file key or env var that does not
//! parse becomes a [`Problem`] kept inside the [`Config`] and returned by [`Config::validate`]
//! together with the rule violations, so the user sees everything to fix in one run. Only a
//! missing explicit file, an unreadable file and TOML syntax errors abort [`load`].

mod duration;
pub mod env;
mod input;
mod keys;
mod load;
mod types;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::model::{ChannelId, GuildId};
use crate::secret::Secret;
use crate::text::clip;

pub use duration::{format_duration, parse_duration};
pub use load::{load, LoadOptions, Loaded, DEFAULT_SECRETS_DIR, SEARCH_PATHS};
pub use types::{Environment, LlmProvider, LogFormat, LogLevel, ShardSpec};

/// The shipped example configuration: every key, its env var, default and rule.
pub const EXAMPLE: &str = include_str!("../../assets/config.example.toml");

/// Default database path in development and staging.
pub const DEV_STORAGE_PATH: &str = "./data/summarybot.redb";
/// Default database path in production.
pub const PROD_STORAGE_PATH: &str = "/var/lib/summarybot/summarybot.redb";

/// The whole validated-once configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Deployment environment (`environment`).
    pub environment: Environment,
    /// Extra diagnostics; forbidden in production (`debug`).
    pub debug: bool,
    /// `[discord]`: the gateway bot.
    pub discord: DiscordConfig,
    /// `[llm]`: the summarizer backend.
    pub llm: LlmConfig,
    /// `[summary]`: prompt and channel choices.
    pub summary: SummaryConfig,
    /// `[webhook]`: the signed HTTP trigger.
    pub webhook: WebhookConfig,
    /// `[jobs]`: the worker pool that runs every trigger's jobs.
    pub jobs: JobsConfig,
    /// `[storage]`: the redb database.
    pub storage: StorageConfig,
    /// `[cache]`: the summary cache.
    pub cache: CacheConfig,
    /// `[scheduler]`: scheduled summaries.
    pub scheduler: SchedulerConfig,
    /// `[logging]`: tracing output.
    pub logging: LoggingConfig,
    /// `[update]`: self-update.
    pub update: UpdateConfig,
    /// `[status]`: the admin status page.
    pub status: StatusConfig,
    /// Problems found while loading (unknown keys, values that do not parse); reported by
    /// [`Config::validate`].
    #[serde(skip)]
    load_problems: Vec<Problem>,
    /// Where a key's value came from when not the config file (env var name or secret file),
    /// so problems can name it.
    #[serde(skip)]
    origins: BTreeMap<&'static str, String>,
}

/// `[discord]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct DiscordConfig {
    /// Connect to Discord at all (`discord.enabled`).
    pub enabled: bool,
    /// Bot token (`DISCORD_TOKEN`).
    pub token: Secret,
    /// Guilds the bot serves; empty = every guild it is in.
    pub guild_ids: Vec<GuildId>,
    /// Prefix for text commands.
    pub command_prefix: String,
    /// REST API base URL (a fake server's URL in tests).
    pub api_base_url: String,
    /// Which shards this process runs; `None` = all (Discord's recommendation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardSpec>,
    /// Least time between two summaries asked by the same user; 0s = no cooldown.
    #[serde(serialize_with = "duration::serialize")]
    pub cooldown: Duration,
    /// On SIGTERM, how long in-flight summaries may take to finish.
    #[serde(serialize_with = "duration::serialize")]
    pub shutdown_deadline: Duration,
    /// Longest window `/catchup` looks back for the invoker's last message.
    #[serde(serialize_with = "duration::serialize")]
    pub catchup_max: Duration,
}

/// `[llm]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct LlmConfig {
    /// Which summarizer runs; defaults to `openai` when an API key is set, else `builtin`.
    pub provider: LlmProvider,
    /// API key (`OPENAI_API_KEY`); may be empty for local OpenAI-compatible servers.
    pub api_key: Secret,
    /// OpenAI-compatible API base URL.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Maximum completion tokens per call.
    pub max_tokens: u32,
    /// Sampling temperature, 0.0–2.0.
    pub temperature: f32,
    /// Per-request timeout.
    #[serde(serialize_with = "duration::serialize")]
    pub timeout: Duration,
    /// Retries after a failed call, 1–10.
    pub max_retries: u32,
    /// The model's context window in tokens; must exceed `max_tokens + 512`.
    pub context_tokens: u32,
    /// Tokens allowed per UTC day; 0 = unlimited.
    pub daily_token_budget: u64,
    /// Parallel chunk calls, 1–16.
    pub concurrency: usize,
    /// Replace e-mail addresses by a placeholder in what the LLM is sent (tokens and passwords
    /// always are).
    pub withhold_emails: bool,
    /// USD per 1M input/output tokens by model, for `usage` cost estimates (`llm.prices`).
    pub prices: crate::pricing::PriceTable,
}

/// `[summary]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryConfig {
    /// Language to write summaries in; `None` = the conversation's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Directory whose prompt files override the built-in ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts_dir: Option<PathBuf>,
    /// Channels always summarized with the development prompt.
    pub dev_channels: Vec<ChannelId>,
    /// Channels always summarized with the general prompt.
    pub general_channels: Vec<ChannelId>,
    /// Channels never stored or summarized.
    pub exclude_channels: Vec<ChannelId>,
    /// Most messages one summary reads, 1,000–5,000,000: a longer window is summarized from its
    /// newest this many and says how many older ones it left out. Bounds a summary's memory
    /// (about 1.1 KiB a message with the builtin engine).
    pub max_window_messages: usize,
}

/// Default of `summary.max_window_messages`: a 100,000-message window peaks near 110 MiB with
/// the builtin engine (README, performance), well inside a Pi Zero 2 W's 512 MB.
pub const DEFAULT_MAX_WINDOW_MESSAGES: usize = 100_000;

impl Default for SummaryConfig {
    fn default() -> Self {
        Self {
            language: None,
            prompts_dir: None,
            dev_channels: Vec::new(),
            general_channels: Vec::new(),
            exclude_channels: Vec::new(),
            max_window_messages: DEFAULT_MAX_WINDOW_MESSAGES,
        }
    }
}

/// `[webhook]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookConfig {
    /// Start the HTTP server.
    pub enabled: bool,
    /// Listen address.
    pub host: String,
    /// Listen port, 1024–65535.
    pub port: u16,
    /// HMAC-SHA256 signing secret, at least 32 characters.
    pub secret: Secret,
    /// Optional extra `Authorization: Bearer` token; empty = not required.
    pub bearer_token: Secret,
    /// Accepted requests per minute per client.
    pub rate_limit_per_minute: u32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Accepted clock skew of signed requests, 1s–1h.
    #[serde(serialize_with = "duration::serialize")]
    pub timestamp_tolerance: Duration,
    /// How long a delivery's idempotency key is remembered, 1m–30d.
    #[serde(serialize_with = "duration::serialize")]
    pub idempotency_ttl: Duration,
    /// Longest wait for the next bytes of a request (or for the client to take the response)
    /// and longest time to receive a whole body, 1s–5m; idle keep-alive connections close after it.
    #[serde(serialize_with = "duration::serialize")]
    pub read_timeout: Duration,
    /// Threads answering requests, 2–256; each waits for its delivery's group commit, so this
    /// also caps how many deliveries one commit can hold.
    pub http_threads: usize,
    /// Connections open at once, 8–2048 (each holds two file descriptors and a thread); one
    /// more is answered 503 and closed at once.
    pub max_connections: usize,
}

/// `[jobs]` settings: the durable job queue's worker pool (webhook, scheduled and other jobs).
#[derive(Debug, Clone, Serialize)]
pub struct JobsConfig {
    /// Jobs run at the same time by the worker pool, 1–32.
    pub workers: usize,
    /// Attempts of a job before it fails for good, 1–20.
    pub max_attempts: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            max_attempts: 5,
        }
    }
}

/// `[storage]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct StorageConfig {
    /// The redb file.
    pub path: PathBuf,
    /// Days messages are kept; 0 = forever.
    pub retention_days: u32,
}

/// `[cache]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct CacheConfig {
    /// How long a cached summary stays valid (at least 60s).
    #[serde(serialize_with = "duration::serialize")]
    pub ttl: Duration,
    /// Most cached summaries kept (at least 10).
    pub max_entries: usize,
}

/// `[scheduler]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct SchedulerConfig {
    /// Run scheduled summaries.
    pub enabled: bool,
    /// After downtime, runs missed within this window are run once.
    #[serde(serialize_with = "duration::serialize")]
    pub catch_up: Duration,
    /// Members with this role may change schedules (beside those with Manage Server).
    pub manager_role: Option<u64>,
    /// Least time between two fires of one schedule (0 = no minimum).
    #[serde(serialize_with = "duration::serialize")]
    pub min_interval: Duration,
}

/// `[logging]` settings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoggingConfig {
    /// Minimum level.
    pub level: LogLevel,
    /// Output format.
    pub format: LogFormat,
}

/// `[update]` settings.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateConfig {
    /// Check for a newer release at start-up.
    pub check_on_start: bool,
    /// GitHub `owner/name` releases come from.
    pub repository: String,
    /// GitHub API base URL.
    pub api_base_url: String,
    /// Base64 ed25519 public keys accepted for release signatures.
    pub verifying_keys: Vec<String>,
    /// How often the running service checks for a newer release (0 = never).
    #[serde(serialize_with = "duration::serialize")]
    pub check_interval: Duration,
    /// Install newer signed releases automatically (otherwise only log that one exists).
    pub auto: bool,
}

/// `[status]` settings: the admin status page served by the webhook server under `/status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusConfig {
    /// Serve the page (needs the webhook server and a password hash).
    pub enabled: bool,
    /// `$pbkdf2-sha256$i=<iterations>$<salt hex>$<hash hex>` of the login password.
    pub password_hash: Secret,
    /// Always mark the session cookie `Secure` (it is also set when `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// How long a login lasts, 5m-30d.
    #[serde(serialize_with = "duration::serialize")]
    pub session_ttl: Duration,
    /// Login attempts per minute per client address, 1-60.
    pub login_attempts_per_minute: u32,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            password_hash: Secret::default(),
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts_per_minute: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            debug: false,
            discord: DiscordConfig::default(),
            llm: LlmConfig::default(),
            summary: SummaryConfig::default(),
            webhook: WebhookConfig::default(),
            jobs: JobsConfig::default(),
            storage: StorageConfig::default(),
            cache: CacheConfig::default(),
            scheduler: SchedulerConfig::default(),
            logging: LoggingConfig::default(),
            update: UpdateConfig::default(),
            status: StatusConfig::default(),
            load_problems: Vec::new(),
            origins: BTreeMap::new(),
        }
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: Secret::default(),
            guild_ids: Vec::new(),
            command_prefix: "!".to_owned(),
            api_base_url: "https://discord.com/api".to_owned(),
            shards: None,
            cooldown: Duration::from_secs(30),
            shutdown_deadline: Duration::from_secs(20),
            catchup_max: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            provider: LlmProvider::Builtin,
            api_key: Secret::default(),
            base_url: "https://api.openai.com/v1".to_owned(),
            model: "gpt-4o-mini".to_owned(),
            max_tokens: 1000,
            temperature: 0.3,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            context_tokens: 16_000,
            daily_token_budget: 0,
            concurrency: 4,
            withhold_emails: true,
            prices: crate::pricing::PriceTable::default(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "127.0.0.1".to_owned(),
            port: 8080,
            secret: Secret::default(),
            bearer_token: Secret::default(),
            rate_limit_per_minute: 30,
            max_body_bytes: 1_048_576,
            timestamp_tolerance: Duration::from_secs(300),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            read_timeout: Duration::from_secs(10),
            http_threads: 32,
            max_connections: 256,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            path: StorageConfig::default_path(Environment::Development),
            retention_days: 90,
        }
    }
}

impl StorageConfig {
    /// The database path used when none is configured in `environment`.
    pub fn default_path(environment: Environment) -> PathBuf {
        PathBuf::from(match environment {
            Environment::Production => PROD_STORAGE_PATH,
            Environment::Development | Environment::Staging => DEV_STORAGE_PATH,
        })
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            max_entries: 1000,
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            catch_up: Duration::from_secs(6 * 3600),
            manager_role: None,
            min_interval: Duration::from_secs(3600),
        }
    }
}

impl Default for UpdateConfig {
    fn default() -> Self {
        Self {
            check_on_start: false,
            repository: "summarybot/summarybot".to_owned(),
            api_base_url: "https://api.github.com".to_owned(),
            verifying_keys: Vec::new(),
            check_interval: Duration::ZERO,
            auto: false,
        }
    }
}

/// Which checks [`Config::validate`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything, for `run` and `config check`.
    Full,
    /// Skips credentials of services that are not started (Discord token, webhook secret), for
    /// `summarize`, `import`, `db`, `schedule` and `webhook sign`. An OpenAI key is still required
    /// when `llm.provider = "openai"`.
    Offline,
}

impl Config {
    /// Every problem in this configuration: those found while loading plus every rule
    /// violation for `scope`. Empty means valid.
    pub fn validate(&self, scope: Scope) -> Vec<Problem> {
        validate::check(self, scope)
    }

    /// `Ok(self)` when [`Config::validate`] finds nothing, else [`ConfigError::Invalid`].
    pub fn validated(self, scope: Scope) -> Result<Self, ConfigError> {
        let problems = self.validate(scope);
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The effective configuration as TOML, secrets shown as `***` (unset ones as `""`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|err| format!("# the configuration could not be rendered: {err}\n"))
    }

    /// The env var or secret file a key's value came from, if not the config file or a default.
    pub fn origin(&self, key: &str) -> Option<&str> {
        self.origins.get(key).map(String::as_str)
    }
}

/// Write [`EXAMPLE`] to `path`. Never overwrites: an existing file gives
/// [`std::io::ErrorKind::AlreadyExists`].
pub fn write_example(path: &Path) -> Result<(), std::io::Error> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // 0600: the file is meant to hold the Discord token and API keys.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(EXAMPLE.as_bytes())?;
    file.sync_all()
}

/// One thing wrong with the configuration, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `llm.temperature` (or a file/env location for syntax problems).
    pub key: String,
    /// The rule that is broken, e.g. `must be between 0.0 and 2.0`.
    pub message: String,
    /// The offending value, never set for secrets.
    pub value: Option<String>,
    /// The env var (or file) the value came from, when not the config file.
    pub source: Option<String>,
}

impl Problem {
    /// A problem with `key` and `message` only.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            value: None,
            source: None,
        }
    }

    /// Attach the offending value (shown as `key = value`).
    #[must_use]
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Attach where the value came from (shown as `(from SOURCE)`).
    #[must_use]
    pub fn with_source(mut self, source: Option<impl Into<String>>) -> Self {
        self.source = source.map(Into::into);
        self
    }
}

/// Characters of an echoed value (or key, or source) shown in a problem.
const MAX_ECHO: usize = 200;

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values and messages echo what the operator gave: cut so a huge value stays readable.
        write!(f, "{}", clip(&self.key, MAX_ECHO))?;
        if let Some(value) = &self.value {
            write!(f, " = {}", clip(value, MAX_ECHO))?;
        }
        if let Some(source) = &self.source {
            write!(f, " (from {})", clip(source, MAX_ECHO))?;
        }
        write!(f, ": {}", clip(&self.message, MAX_ECHO * 2))
    }
}

/// Why the configuration could not be loaded or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An explicitly named config file does not exist.
    #[error("config file {} not found: check the --config option or SUMMARYBOT_CONFIG", path.display())]
    NotFound {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// A config, `.env` or secret file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message with line and column.
        message: String,
    },
    /// The configuration loaded but breaks rules; each problem names its key.
    #[error("invalid configuration ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
    Invalid(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
