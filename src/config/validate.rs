//! The validation rules. Every rule runs, so one call reports every problem; each names the key,
//! the offending value (never a secret's) and the env var it came from.

use std::fmt;
use std::time::Duration;

use super::duration::format_duration;
use super::{Config, Environment, LlmProvider, Problem, Scope};
use crate::secret::Secret;

const MIN_DISCORD_TOKEN: usize = 50;
const MIN_OPENAI_KEY: usize = 40;
const MIN_WEBHOOK_SECRET: usize = 32;
const MIN_BEARER_TOKEN: usize = 16;
const OPENAI_HOST: &str = "api.openai.com";
/// Headroom the prompt needs beside the completion inside the context window.
const PROMPT_HEADROOM: u32 = 512;
/// Length of a base64-encoded 32-byte ed25519 public key, with padding.
const ED25519_KEY_BASE64_LEN: usize = 44;

/// Collects problems, labelling each with where its key's value came from.
struct Checker<'a> {
    config: &'a Config,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report(&mut self, key: &str, value: Option<String>, message: impl Into<String>) {
        let mut problem = Problem::new(key, message).with_source(self.config.origin(key));
        problem.value = value;
        self.problems.push(problem);
    }

    /// Report unless `ok`, showing `value`.
    fn ensure(&mut self, ok: bool, key: &str, value: String, message: &str) {
        if !ok {
            self.report(key, Some(value), message);
        }
    }

    /// Report unless `min <= value <= max`. `Debug` formatting keeps floats as `0.0`.
    fn range<T: PartialOrd + fmt::Debug + Copy>(&mut self, key: &str, value: T, min: T, max: T) {
        if value < min || value > max {
            let message = format!("must be between {min:?} and {max:?}");
            self.report(key, Some(format!("{value:?}")), message);
        }
    }

    fn duration_range(&mut self, key: &str, value: Duration, min: Duration, max: Duration) {
        if value < min || value > max {
            let message = format!(
                "must be between {} and {}",
                format_duration(min),
                format_duration(max)
            );
            self.report(key, Some(format!("{:?}", format_duration(value))), message);
        }
    }

    /// A secret must be at least `min` characters; the message gives its length, not its value.
    fn secret(&mut self, key: &str, secret: &Secret, min: usize, why: &str) {
        if secret.is_empty() {
            self.report(key, None, format!("is required {why}"));
        } else if secret.len() < min {
            let message = format!(
                "must be at least {min} characters {why} (it has {})",
                secret.len()
            );
            self.report(key, None, message);
        }
    }

    fn url(&mut self, key: &str, url: &str) {
        if http_host(url).is_none() {
            self.report(
                key,
                Some(format!("{url:?}")),
                "must be an http:// or https:// URL with a host",
            );
        }
    }
}

/// An IP address, or a host name of letters, digits, `-` and `.`.
fn is_bind_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
            }))
}

/// The host of an `http(s)://` URL, or `None` when `url` is not one.
fn http_host(url: &str) -> Option<&str> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let rest = &url.trim()[scheme_len..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some(host)
}

/// Run every rule for `scope`, after the problems found while loading.
pub(crate) fn check(config: &Config, scope: Scope) -> Vec<Problem> {
    let mut checker = Checker {
        config,
        problems: config.load_problems.clone(),
    };
    general(&mut checker);
    discord(&mut checker, scope);
    llm(&mut checker);
    summary(&mut checker);
    webhook(&mut checker, scope);
    jobs(&mut checker);
    storage_cache_scheduler(&mut checker);
    update(&mut checker);
    status(&mut checker, scope);
    checker.problems
}

fn general(c: &mut Checker<'_>) {
    let config = c.config;
    if config.debug && config.environment == Environment::Production {
        c.report(
            "debug",
            Some("true".to_owned()),
            "must be false in production",
        );
    }
}

fn discord(c: &mut Checker<'_>, scope: Scope) {
    let discord = &c.config.discord;
    if discord.enabled && scope == Scope::Full {
        let why = "when Discord is enabled (set DISCORD_TOKEN, or discord.enabled = false)";
        c.secret("discord.token", &discord.token, MIN_DISCORD_TOKEN, why);
    }
    let prefix = &discord.command_prefix;
    c.ensure(
        !prefix.is_empty() && !prefix.contains(char::is_whitespace),
        "discord.command_prefix",
        format!("{prefix:?}"),
        "must be non-empty and contain no spaces",
    );
    c.url("discord.api_base_url", &discord.api_base_url);
    let (cooldown, deadline) = (discord.cooldown, discord.shutdown_deadline);
    c.duration_range(
        "discord.cooldown",
        cooldown,
        Duration::ZERO,
        Duration::from_secs(3600),
    );
    c.duration_range(
        "discord.shutdown_deadline",
        deadline,
        Duration::from_secs(1),
        Duration::from_secs(300),
    );
    c.duration_range(
        "discord.catchup_max",
        discord.catchup_max,
        Duration::from_secs(3600),
        Duration::from_secs(30 * 24 * 3600),
    );
}

fn llm(c: &mut Checker<'_>) {
    let llm = &c.config.llm;
    if llm.provider == LlmProvider::OpenAi {
        if http_host(&llm.base_url).is_some_and(|host| host.eq_ignore_ascii_case(OPENAI_HOST)) {
            let why = "when llm.provider = \"openai\" uses api.openai.com (set OPENAI_API_KEY)";
            c.secret("llm.api_key", &llm.api_key, MIN_OPENAI_KEY, why);
        }
        c.ensure(
            !llm.model.trim().is_empty(),
            "llm.model",
            "\"\"".to_owned(),
            "must name a model when llm.provider = \"openai\"",
        );
    }
    c.url("llm.base_url", &llm.base_url);
    c.range("llm.max_tokens", llm.max_tokens, 100, 2000);
    c.range("llm.temperature", llm.temperature, 0.0, 2.0);
    c.duration_range(
        "llm.timeout",
        llm.timeout,
        Duration::from_secs(1),
        Duration::from_secs(600),
    );
    c.range("llm.max_retries", llm.max_retries, 1, 10);
    c.ensure(
        llm.context_tokens > llm.max_tokens.saturating_add(PROMPT_HEADROOM),
        "llm.context_tokens",
        llm.context_tokens.to_string(),
        &format!(
            "must be greater than llm.max_tokens + {PROMPT_HEADROOM} = {}",
            llm.max_tokens.saturating_add(PROMPT_HEADROOM)
        ),
    );
    c.range("llm.concurrency", llm.concurrency, 1, 16);
}

fn summary(c: &mut Checker<'_>) {
    let summary = &c.config.summary;
    if let Some(language) = &summary.language {
        c.ensure(
            !language.trim().is_empty(),
            "summary.language",
            format!("{language:?}"),
            "must not be blank (leave it out to follow the conversation's language)",
        );
    }
    for id in &summary.dev_channels {
        c.ensure(
            !summary.general_channels.contains(id),
            "summary.dev_channels",
            id.to_string(),
            "channel is also in summary.general_channels; keep it in one list",
        );
    }
    c.range(
        "summary.max_window_messages",
        summary.max_window_messages,
        1_000,
        5_000_000,
    );
}

fn webhook(c: &mut Checker<'_>, scope: Scope) {
    let webhook = &c.config.webhook;
    if webhook.enabled && scope == Scope::Full {
        let why = "when the webhook is enabled (set WEBHOOK_SECRET)";
        c.secret("webhook.secret", &webhook.secret, MIN_WEBHOOK_SECRET, why);
    }
    if !webhook.bearer_token.is_empty() {
        c.secret(
            "webhook.bearer_token",
            &webhook.bearer_token,
            MIN_BEARER_TOKEN,
            "when set",
        );
    }
    c.ensure(
        is_bind_host(&webhook.host),
        "webhook.host",
        format!("{:?}", webhook.host),
        "must be an IP address or host name to listen on, such as 127.0.0.1, 0.0.0.0 or ::",
    );
    c.range("webhook.port", webhook.port, 1024, 65535);
    c.ensure(
        webhook.rate_limit_per_minute >= 1,
        "webhook.rate_limit_per_minute",
        webhook.rate_limit_per_minute.to_string(),
        "must be at least 1",
    );
    c.range(
        "webhook.max_body_bytes",
        webhook.max_body_bytes,
        1024,
        64 << 20,
    );
    c.duration_range(
        "webhook.timestamp_tolerance",
        webhook.timestamp_tolerance,
        Duration::from_secs(1),
        Duration::from_secs(3600),
    );
    c.duration_range(
        "webhook.idempotency_ttl",
        webhook.idempotency_ttl,
        Duration::from_secs(60),
        Duration::from_secs(30 * 86_400),
    );
    c.duration_range(
        "webhook.read_timeout",
        webhook.read_timeout,
        Duration::from_secs(1),
        Duration::from_secs(300),
    );
    c.range("webhook.http_threads", webhook.http_threads, 2, 256);
    c.range("webhook.max_connections", webhook.max_connections, 8, 2048);
}

/// `[jobs]`: the worker pool's size and attempts per job.
fn jobs(c: &mut Checker<'_>) {
    let jobs = &c.config.jobs;
    c.range("jobs.workers", jobs.workers, 1, 32);
    c.range("jobs.max_attempts", jobs.max_attempts, 1, 20);
}

fn storage_cache_scheduler(c: &mut Checker<'_>) {
    let config = c.config;
    c.ensure(
        !config.storage.path.as_os_str().is_empty(),
        "storage.path",
        "\"\"".to_owned(),
        "must be a file path",
    );
    c.ensure(
        config.cache.ttl >= Duration::from_secs(60),
        "cache.ttl",
        format!("{:?}", format_duration(config.cache.ttl)),
        "must be at least 60s",
    );
    c.ensure(
        config.cache.max_entries >= 10,
        "cache.max_entries",
        config.cache.max_entries.to_string(),
        "must be at least 10",
    );
    c.duration_range(
        "scheduler.catch_up",
        config.scheduler.catch_up,
        Duration::ZERO,
        Duration::from_secs(7 * 86_400),
    );
    c.duration_range(
        "scheduler.min_interval",
        config.scheduler.min_interval,
        Duration::ZERO,
        Duration::from_secs(7 * 86_400),
    );
    c.ensure(
        config.scheduler.manager_role != Some(0),
        "scheduler.manager_role",
        "0".to_owned(),
        "must be a role id (Server Settings → Roles → right-click → Copy Role ID)",
    );
}

fn update(c: &mut Checker<'_>) {
    let update = &c.config.update;
    let repo_ok = update
        .repository
        .split_once('/')
        .is_some_and(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'));
    c.ensure(
        repo_ok,
        "update.repository",
        format!("{:?}", update.repository),
        "must be a GitHub \"owner/name\"",
    );
    c.url("update.api_base_url", &update.api_base_url);
    if !update.check_interval.is_zero() {
        c.duration_range(
            "update.check_interval",
            update.check_interval,
            Duration::from_secs(3600),
            Duration::from_secs(30 * 86_400),
        );
    }
    c.ensure(
        !update.auto || !update.check_interval.is_zero(),
        "update.auto",
        "true".to_owned(),
        "needs update.check_interval (e.g. \"1d\"): automatic updates happen at each check",
    );
    for key in &update.verifying_keys {
        c.ensure(
            is_ed25519_base64(key),
            "update.verifying_keys",
            format!("{key:?}"),
            "must be a base64 ed25519 public key (44 characters ending in '=')",
        );
    }
}

/// True when `key` is standard base64 of exactly 32 bytes.
fn is_ed25519_base64(key: &str) -> bool {
    let body = key.trim();
    body.len() == ED25519_KEY_BASE64_LEN
        && body.ends_with('=')
        && !body[..ED25519_KEY_BASE64_LEN - 1].contains('=')
        && body[..ED25519_KEY_BASE64_LEN - 1]
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '+' || ch == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_host_extracts_the_host() {
        assert_eq!(
            http_host("https://api.openai.com/v1"),
            Some("api.openai.com")
        );
        assert_eq!(http_host("HTTP://localhost:11434/v1"), Some("localhost"));
        assert_eq!(http_host("http://user@[::1]:8080/x"), Some("[::1]"));
        assert_eq!(http_host("http://example.com?q=1"), Some("example.com"));
        for bad in [
            "ftp://x",
            "api.openai.com",
            "https://",
            "http:///path",
            "https://a b",
        ] {
            assert_eq!(http_host(bad), None, "{bad}");
        }
    }

    #[test]
    fn ed25519_keys_are_44_base64_characters() {
        assert!(is_ed25519_base64(
            "GJ0pB8nEsuRt/ZuDqNHpn3j0OXyWaBbg4cErdfTPv6Q="
        ));
        assert!(!is_ed25519_base64(
            "GJ0pB8nEsuRt/ZuDqNHpn3j0OXyWaBbg4cErdfTPv6Q"
        ));
        assert!(!is_ed25519_base64(
            "GJ0pB8nEsuRt/ZuDqNHpn3j0OXyWaBbg4cErdfTP=6Q="
        ));
        assert!(!is_ed25519_base64(
            "GJ0pB8nEsuRt/ZuDqNHpn3j0OXyWaBbg4cErdfTPv6!="
        ));
    }
}

#[cfg(test)]
mod host_tests {
    use super::is_bind_host;

    #[test]
    fn bind_hosts() {
        for good in [
            "127.0.0.1",
            "0.0.0.0",
            "::",
            "[::1]",
            "localhost",
            "bot.example.org",
        ] {
            assert!(is_bind_host(good), "{good}");
        }
        for bad in ["", "not a host!!", "a..b", "http://x", "256.1.1.1.1 x"] {
            assert!(!is_bind_host(bad), "{bad}");
        }
    }
}

/// `[status]`: a password hash that parses (required when enabled), served by the webhook server.
fn status(c: &mut Checker<'_>, scope: Scope) {
    let status = &c.config.status;
    if status.enabled && scope == Scope::Full {
        if status.password_hash.is_empty() {
            c.report(
                "status.password_hash",
                None,
                "is required when the status page is enabled; make one with `summarybot status hash-password` and set it here or in SUMMARYBOT_STATUS__PASSWORD_HASH",
            );
        }
        c.ensure(
            c.config.webhook.enabled,
            "status.enabled",
            "true".to_owned(),
            "the status page is served by the webhook server; set webhook.enabled = true (and webhook.secret) or turn the status page off",
        );
    }
    if !status.password_hash.is_empty() {
        if let Err(e) = crate::password::PasswordHash::parse(status.password_hash.expose()) {
            c.report("status.password_hash", None, e.to_string());
        }
    }
    c.duration_range(
        "status.session_ttl",
        status.session_ttl,
        Duration::from_secs(300),
        Duration::from_secs(30 * 86_400),
    );
    c.range(
        "status.login_attempts_per_minute",
        status.login_attempts_per_minute,
        1,
        60,
    );
}
