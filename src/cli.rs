//! Command-line definitions (clap derive). No I/O here: `main` parses, `commands` acts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Detail;
use crate::summarize::focus::Topic;

/// Self-hosted Discord summary bot: one binary, one database file, any OpenAI-compatible LLM or a
/// built-in offline summarizer.
#[derive(Debug, Parser)]
#[command(name = "summarybot", version = crate::VERSION_LINE, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: $SUMMARYBOT_CONFIG, ./summarybot.toml, /etc/summarybot/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log level: trace, debug, info, warn, error (overrides the config file and LOG_LEVEL).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Log format (overrides the config file).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance: Discord bot, webhook server, scheduler and job workers.
    Run,
    /// Summarize messages from an export file or from the database, and print the summary.
    Summarize(SummarizeArgs),
    /// Load DiscordChatExporter JSON exports into the database.
    Import(ImportArgs),
    /// Manage scheduled digests.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Create, validate or show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Inspect or maintain the database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Show LLM token usage per server and day.
    Usage(UsageArgs),
    /// Forget a member on every server this bot serves: delete their stored messages and the
    /// cached summaries that may quote them, and store or summarize none of their messages from
    /// now on (`--undo` opts them back in).
    Forget(ForgetArgs),
    /// Webhook helpers.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Admin status page helpers.
    #[command(subcommand)]
    Status(StatusCommand),
    /// Update summarybot to the latest signed release.
    Update(UpdateArgs),
    /// Exit 0 when the local webhook server answers `GET /health` with 200 (for container
    /// health checks), 1 otherwise.
    Healthcheck,
    /// Print shell completions to stdout, e.g. `summarybot completions bash >
    /// /etc/bash_completion.d/summarybot`, zsh: `> "${fpath[1]}/_summarybot"`, fish:
    /// `> ~/.config/fish/completions/summarybot.fish`.
    Completions {
        /// Shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Where the messages come from and which window to summarize.
#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent command-line switches, as clap defines them"
)]
pub struct SummarizeArgs {
    /// A DiscordChatExporter JSON export to summarize (no database needed).
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with = "channel")]
    pub input: Option<PathBuf>,

    /// A channel or thread id whose stored messages to summarize.
    #[arg(
        long,
        short = 'c',
        value_name = "ID",
        value_parser = discord_id,
        required_unless_present = "input"
    )]
    pub channel: Option<u64>,

    /// Summarize the last N hours (1-8760). Default: 24 for --channel, the whole file for --input.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8760),
          conflicts_with_all = ["since", "until"])]
    pub hours: Option<u32>,

    /// Every message: with --channel all stored ones, oldest to newest (e.g. an imported export,
    /// whatever its age); with --input the whole file, as without a window.
    #[arg(long, conflicts_with_all = ["hours", "since", "until"])]
    pub all: bool,

    /// Window start, RFC 3339 (e.g. 2024-03-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Window end, RFC 3339 (default: now, or the end of the file).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Summarizer to use (overrides llm.provider).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Markdown)]
    pub format: OutputFormat,

    /// Write the summary in this language (e.g. "German").
    #[arg(long, value_name = "LANGUAGE")]
    pub language: Option<String>,

    /// Prompt and section set (default: from config, else guessed from the channel name/topic).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,

    /// How long the summary may be: brief (a TL;DR), standard (about 2,000 characters) or
    /// full (every point found).
    #[arg(long, value_name = "LEVEL", value_parser = detail, default_value = "standard")]
    pub detail: Detail,

    /// Only what is about these words, with the replies around it (e.g. --topic "release date").
    #[arg(long, value_name = "WORDS", value_parser = topic)]
    pub topic: Option<Topic>,

    /// Print the messages, input tokens, map-reduce parts, output tokens reserved and the
    /// estimated cost for the configured model, without calling the LLM.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not read or write the summary cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Fail (exit 1) when the LLM fails instead of falling back to the builtin summarizer.
    #[arg(long)]
    pub no_fallback: bool,
}

/// Summarizer choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// The built-in offline extractive summarizer.
    Builtin,
    /// The configured OpenAI-compatible endpoint.
    Openai,
}

/// Channel kind on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Ordinary discussion.
    General,
    /// Development channel (adds Code Changes).
    Dev,
}

/// How to print a summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Markdown with sections and jump links.
    Markdown,
    /// JSON with sections, citations, model, usage and cache flag.
    Json,
    /// Plain text.
    Text,
}

/// Import arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Export files (DiscordChatExporter JSON).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Schedule management.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add a digest schedule.
    Add(ScheduleAddArgs),
    /// List schedules.
    List,
    /// Remove a schedule.
    Remove {
        /// Schedule id (see `schedule list`).
        id: u64,
    },
    /// Pause a schedule.
    Pause {
        /// Schedule id.
        id: u64,
    },
    /// Resume a paused schedule.
    Resume {
        /// Schedule id.
        id: u64,
    },
}

/// Arguments of `schedule add`.
#[derive(Debug, Args)]
pub struct ScheduleAddArgs {
    /// Guild (server) id.
    #[arg(long, value_parser = discord_id)]
    pub guild: u64,
    /// Channel to summarize (repeat for several).
    #[arg(long = "channel", required = true, value_parser = discord_id)]
    pub channels: Vec<u64>,
    /// Channel to post the digest to.
    #[arg(long, value_parser = discord_id)]
    pub post_to: u64,
    /// Cron expression, e.g. "0 9 * * 1-5" or "@daily".
    #[arg(long)]
    pub cron: String,
    /// IANA time zone, e.g. Europe/Berlin.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Window in hours (default: since the previous run, 24 h for the first).
    #[arg(long)]
    pub hours: Option<u32>,
    /// Output language (default: summary.language).
    #[arg(long)]
    pub language: Option<String>,
    /// Prompt variant: dev or general (default: guessed per channel).
    #[arg(long)]
    pub kind: Option<String>,
    /// How long each digest may be: brief, standard (default) or full.
    #[arg(long, value_name = "LEVEL")]
    pub detail: Option<String>,
    /// Post a one-line "quiet day" note when the window has no messages (default: post nothing).
    #[arg(long)]
    pub quiet_day: bool,
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented example configuration (never overwrites an existing file).
    Init {
        /// Where to write it.
        #[arg(default_value = "summarybot.toml")]
        path: PathBuf,
    },
    /// Validate the configuration: exit 0, or print every problem and exit 2.
    Check,
    /// Print the effective configuration (file + .env + environment), secrets as ***.
    Show,
}

/// Database commands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Tables, row counts and file size.
    Stats,
    /// Delete messages older than storage.retention_days, and expired cache and idempotency entries.
    Prune,
    /// Check a database file: every page's checksum, every stored value, every index. Exit 1
    /// with what to do when it is damaged. Needs the file to itself: stop the service first, or
    /// check a backup.
    Verify {
        /// The file to check (default: storage.path).
        #[arg(value_name = "PATH")]
        path: Option<PathBuf>,
    },
    /// Write a consistent copy of the database to PATH (a new file) and verify it. While the
    /// service runs, the copy comes from it over the local webhook port.
    Backup {
        /// Where to write the backup; must not exist yet.
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
}

/// `forget` arguments.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The member's Discord user id.
    #[arg(long, value_name = "ID", value_parser = discord_id)]
    pub user: u64,
    /// Opt the member back in: their new messages are stored and summarized again (the deleted
    /// ones are not restored).
    #[arg(long)]
    pub undo: bool,
}

/// Usage report arguments.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Also list the tokens of every day of the last N days (ending today).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: Option<u32>,
}

/// Webhook helpers.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Print the `sha256=<hex>` signature of a request body (or, with `--standard`, the three
    /// Standard Webhooks header lines), for calling the webhook with curl.
    Sign {
        /// Print `webhook-id`, `webhook-timestamp` and `webhook-signature` header lines instead.
        #[arg(long)]
        standard: bool,
        /// The message id for `--standard` (default: derived from the body and the time).
        #[arg(long, requires = "standard")]
        id: Option<String>,
        /// The Unix timestamp (seconds) for `--standard` (default: now).
        #[arg(long, requires = "standard")]
        timestamp: Option<i64>,
        /// The webhook secret (default: webhook.secret from the configuration).
        #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// File holding the exact body to sign (default: standard input).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// Status page helpers.
#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// Read a password from standard input (one line) and print its hash for
    /// `status.password_hash`: `$pbkdf2-sha256$i=<iterations>$<salt hex>$<hash hex>`.
    HashPassword {
        /// PBKDF2 iterations (1000-10000000); more is slower to guess and to log in.
        #[arg(long, default_value_t = crate::password::DEFAULT_ITERATIONS)]
        iterations: u32,
    },
}

/// Self-update arguments.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Only check whether an update is available: print the current and latest versions.
    #[arg(long)]
    pub check: bool,
    /// Install exactly this release (e.g. 1.2.3) instead of the newest.
    #[arg(long, value_name = "X.Y.Z", conflicts_with = "check")]
    pub version: Option<String>,
    /// After a successful update, restart the systemd service (`systemctl restart summarybot`).
    #[arg(long, conflicts_with = "check")]
    pub restart: bool,
}

/// A Discord id (server, channel) given on the command line: digits only, with a hint where to
/// find one when a name was given instead.
fn detail(text: &str) -> Result<Detail, String> {
    text.parse()
}

fn topic(text: &str) -> Result<Topic, String> {
    Topic::parse(text)
}

fn discord_id(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!(
            "{text:?} is not a Discord id; ids are numbers such as 871325106388582430 (in Discord: \
             Settings > Advanced > Developer Mode on, then right-click the channel or server > Copy ID)"
        )),
    }
}
