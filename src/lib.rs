//! summarybot: a self-hosted Discord summary bot in one static binary.
//!
//! The binary (`src/main.rs`) only parses the command line and calls into this library, so
//! every capability is reachable from tests.
//!
//! # How the parts fit
//!
//! - Triggers parse their input, check the invoker's permissions and deliver the result:
//!   [`discord`] (`/summarize`, `!summary`, `/catchup`), [`webhook`] (signed `summary_request`,
//!   queued as [`jobs`]), [`schedule`] (cron → digest jobs) and [`commands`]
//!   (`summarybot summarize --channel`).
//! - Every summary goes through [`channel_summary`]: admission (operator exclusions, server
//!   opt-outs, threads of either; unreadable settings refuse), a complete window (the REST
//!   history the store lacks, coverage persisted in [`store`], gap fill after downtime), prompt
//!   kind and language, and the engines of [`summarize`] built once.
//! - [`store`] is the only module touching redb; [`model`] holds the domain types every module
//!   shares; framework types stay inside their adapter (serenity in [`discord`], async-openai in
//!   [`llm`], rouille in [`webhook`]/[`status`], self_update in [`update`]).
//! - [`app`] only wires the parts together at start and stops them in reverse; the `run`
//!   command is its one caller.

/// Wiring only: starts the parts of the appliance, connects them, stops them.
pub mod app;
/// Exponential backoff with jitter: the one delay schedule and jitter source of every retry loop.
pub mod backoff;
/// The one summary path of every trigger: admission, complete windows, gap fill, kind,
/// language, the shared engines.
pub mod channel_summary;
/// Command-line definitions.
pub mod cli;
/// One function per subcommand.
pub mod commands;
/// Settings: file, `.env`, environment and secret files; validation; redaction.
pub mod config;
/// The local control socket of a running service (health for `summarybot healthcheck`).
pub mod control;
/// The Discord bot: gateway ingest, slash and prefix commands, permission checks, safe posting.
pub mod discord;
/// Hex encoding and constant-time comparison of secrets and digests.
pub mod encoding;
/// Bounded reads of the small text files the operator points at.
pub mod files;
/// The appliance's health, shared by `GET /health` and the control socket.
pub mod health;
/// DiscordChatExporter JSON exports to messages, streamed.
pub mod import;
/// The durable job queue: group-commit enqueue and the worker pool.
pub mod jobs;
/// The `ChatModel` trait and the OpenAI-compatible client with retries.
pub mod llm;
/// tracing setup: text or JSON lines on stderr, redacted.
pub mod logging;
/// Domain types shared by every module.
pub mod model;
/// What a panic ends: the request or job it happened in, or (anywhere else) the process.
pub mod panic_policy;
/// The status page's login password hash: PBKDF2-HMAC-SHA256 in `$pbkdf2-sha256$...` text form.
pub mod password;
/// LLM prices per million tokens and cost estimates.
pub mod pricing;
/// Member privacy: forgetting a member and opting them back in, for every trigger.
pub mod privacy;
/// Unpredictable bytes and tokens from the kernel's CSPRNG.
pub mod random;
/// Secrets and credential-looking tokens masked in every text the process writes out.
pub mod redact;
/// Live state of the running appliance (Discord, scheduler, updates) for health and status.
pub mod runtime;
/// Scheduled digests: cron in a time zone, validation, stored-schedule operations, the scheduler.
pub mod schedule;
/// A string type that never prints its value.
pub mod secret;
/// Per-server settings stored in the database, their validation, resolution and change log.
pub mod settings;
/// The admin status page: health, schedules, jobs and plots behind a login, under `/status`.
pub mod status;
/// The redb database: the only module that touches redb.
pub mod store;
/// Summaries: engine, builtin summarizer, prompts, token budget, map-reduce, rendering.
pub mod summarize;
/// Small shared text helpers.
pub mod text;
/// Self-update from signed GitHub releases.
pub mod update;
/// The usage and cost report: tokens per period, provider and model, costs, budget left.
pub mod usage;
/// HTTP pieces shared by the webhook server and the status page: JSON errors, rate limits.
pub mod web;
/// The webhook HTTP server: signed triggers, job status, health, metrics.
pub mod webhook;

/// `--version` text: version, git commit and target triple.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SUMMARYBOT_GIT_COMMIT"),
    ", ",
    env!("SUMMARYBOT_TARGET"),
    ")"
);
