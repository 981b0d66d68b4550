//! The registry of every config key: its dotted path, the env vars that set it, whether it is a
//! secret, and how to store a raw value into [`Config`]. File loading, env overlays, unknown-key
//! suggestions and the example-file test all read this one table.

use super::env::{
    CACHE_TTL, DEBUG, DISCORD_GUILD_IDS, DISCORD_TOKEN, ENVIRONMENT, ENV_PREFIX, LOG_LEVEL,
    MAX_CACHE_SIZE, MAX_RETRIES, OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MAX_TOKENS, OPENAI_MODEL,
    OPENAI_TEMPERATURE, RATE_LIMIT_PER_MINUTE, WEBHOOK_HOST, WEBHOOK_PORT, WEBHOOK_SECRET,
};
use super::input::{FromInput, Input};
use super::Config;
use crate::secret::Secret;

/// Extra facts about a secret key.
pub(crate) struct SecretDef {
    /// File name looked up in the secrets dir (`/run/secrets`) in production.
    pub file: &'static str,
    /// The current value.
    pub get: fn(&Config) -> &Secret,
}

/// One settable key.
pub(crate) struct KeyDef {
    /// Dotted path, e.g. `llm.model`; top-level keys have no dot.
    pub path: &'static str,
    /// Well-known env var names (beside the generated `SUMMARYBOT_<SECTION>__<KEY>`).
    pub aliases: &'static [&'static str],
    /// For secrets: how to find them in files and in the config.
    pub secret: Option<SecretDef>,
    /// Store a raw value into the config.
    pub set: fn(&mut Config, Input<'_>) -> Result<(), String>,
}

impl KeyDef {
    /// True for secrets (never shown in problems; may come from `<NAME>_FILE`).
    pub fn is_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// Every env var that sets this key, in increasing precedence: the well-known names, then
    /// the `SUMMARYBOT_` form.
    pub fn env_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.aliases.iter().map(|&n| n.to_owned()).collect();
        names.push(prefixed_env_name(self.path));
        names
    }
}

/// `llm.model` → `SUMMARYBOT_LLM__MODEL`; `environment` → `SUMMARYBOT_ENVIRONMENT`.
pub(crate) fn prefixed_env_name(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.replace('.', "__").to_ascii_uppercase()
    )
}

macro_rules! key {
    (@secret [$($field:ident).+]) => { None };
    (@secret [$($field:ident).+] $file:literal) => {
        Some(SecretDef { file: $file, get: |config: &Config| &config.$($field).+ })
    };
    ($path:literal => $($field:ident).+ $(, env: [$($alias:expr),*])? $(, secret: $file:literal)?) => {
        KeyDef {
            path: $path,
            aliases: &[$($($alias),*)?],
            secret: key!(@secret [$($field).+] $($file)?),
            set: |config: &mut Config, input: Input<'_>| {
                config.$($field).+ = FromInput::from_input(input)?;
                Ok(())
            },
        }
    };
}

/// Every key, in the order of the example file.
pub(crate) static KEYS: &[KeyDef] = &[
    key!("environment" => environment, env: [ENVIRONMENT]),
    key!("debug" => debug, env: [DEBUG]),
    key!("discord.enabled" => discord.enabled),
    key!("discord.token" => discord.token, env: [DISCORD_TOKEN], secret: "discord_token"),
    key!("discord.guild_ids" => discord.guild_ids, env: [DISCORD_GUILD_IDS]),
    key!("discord.command_prefix" => discord.command_prefix),
    key!("discord.api_base_url" => discord.api_base_url),
    key!("discord.shards" => discord.shards),
    key!("discord.cooldown" => discord.cooldown),
    key!("discord.shutdown_deadline" => discord.shutdown_deadline),
    key!("discord.catchup_max" => discord.catchup_max),
    key!("llm.provider" => llm.provider),
    key!("llm.api_key" => llm.api_key, env: [OPENAI_API_KEY], secret: "openai_api_key"),
    key!("llm.base_url" => llm.base_url, env: [OPENAI_BASE_URL]),
    key!("llm.model" => llm.model, env: [OPENAI_MODEL]),
    key!("llm.max_tokens" => llm.max_tokens, env: [OPENAI_MAX_TOKENS]),
    key!("llm.temperature" => llm.temperature, env: [OPENAI_TEMPERATURE]),
    key!("llm.timeout" => llm.timeout),
    key!("llm.max_retries" => llm.max_retries, env: [MAX_RETRIES]),
    key!("llm.context_tokens" => llm.context_tokens),
    key!("llm.daily_token_budget" => llm.daily_token_budget),
    key!("llm.concurrency" => llm.concurrency),
    key!("llm.withhold_emails" => llm.withhold_emails),
    key!("llm.prices" => llm.prices),
    key!("summary.language" => summary.language),
    key!("summary.prompts_dir" => summary.prompts_dir),
    key!("summary.dev_channels" => summary.dev_channels),
    key!("summary.general_channels" => summary.general_channels),
    key!("summary.exclude_channels" => summary.exclude_channels),
    key!("summary.max_window_messages" => summary.max_window_messages),
    key!("webhook.enabled" => webhook.enabled),
    key!("webhook.host" => webhook.host, env: [WEBHOOK_HOST]),
    key!("webhook.port" => webhook.port, env: [WEBHOOK_PORT]),
    key!("webhook.secret" => webhook.secret, env: [WEBHOOK_SECRET], secret: "webhook_secret"),
    key!("webhook.bearer_token" => webhook.bearer_token, secret: "webhook_bearer_token"),
    key!("webhook.rate_limit_per_minute" => webhook.rate_limit_per_minute, env: [RATE_LIMIT_PER_MINUTE]),
    key!("webhook.max_body_bytes" => webhook.max_body_bytes),
    key!("webhook.timestamp_tolerance" => webhook.timestamp_tolerance),
    key!("webhook.idempotency_ttl" => webhook.idempotency_ttl),
    key!("webhook.read_timeout" => webhook.read_timeout),
    key!("webhook.http_threads" => webhook.http_threads),
    key!("webhook.max_connections" => webhook.max_connections),
    key!("jobs.workers" => jobs.workers),
    key!("jobs.max_attempts" => jobs.max_attempts),
    key!("storage.path" => storage.path),
    key!("storage.retention_days" => storage.retention_days),
    key!("cache.ttl" => cache.ttl, env: [CACHE_TTL]),
    key!("cache.max_entries" => cache.max_entries, env: [MAX_CACHE_SIZE]),
    key!("scheduler.enabled" => scheduler.enabled),
    key!("scheduler.catch_up" => scheduler.catch_up),
    key!("scheduler.manager_role" => scheduler.manager_role),
    key!("scheduler.min_interval" => scheduler.min_interval),
    key!("logging.level" => logging.level, env: [LOG_LEVEL]),
    key!("logging.format" => logging.format),
    key!("update.check_on_start" => update.check_on_start),
    key!("update.repository" => update.repository),
    key!("update.api_base_url" => update.api_base_url),
    key!("update.verifying_keys" => update.verifying_keys),
    key!("update.check_interval" => update.check_interval),
    key!("update.auto" => update.auto),
    key!("status.enabled" => status.enabled),
    key!("status.password_hash" => status.password_hash, secret: "status_password_hash"),
    key!("status.secure_cookies" => status.secure_cookies),
    key!("status.session_ttl" => status.session_ttl),
    key!("status.login_attempts_per_minute" => status.login_attempts_per_minute),
];

/// Keys that moved, as (old dotted path, new dotted path). The old path (in the file, and as
/// `SUMMARYBOT_<SECTION>__<KEY>`) still sets the new key, with a warning naming the new one; the
/// new key wins when both are set.
pub(crate) static RENAMED: &[(&str, &str)] = &[
    ("webhook.workers", "jobs.workers"),
    ("webhook.max_attempts", "jobs.max_attempts"),
];

/// The key with this dotted path.
pub(crate) fn find(path: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|key| key.path == path)
}

/// Every renamed key as (old dotted path, the key it sets now).
pub(crate) fn renamed_keys() -> impl Iterator<Item = (&'static str, &'static KeyDef)> {
    RENAMED
        .iter()
        .filter_map(|&(old, new)| Some((old, find(new)?)))
}

/// The old dotted path and the key it sets now, when `path` is a renamed key's old path.
pub(crate) fn renamed(path: &str) -> Option<(&'static str, &'static KeyDef)> {
    renamed_keys().find(|(old, _)| *old == path)
}

/// True when `name` is a section (`llm`, `discord`, ...).
pub(crate) fn is_section(name: &str) -> bool {
    KEYS.iter().any(|key| {
        key.path
            .split_once('.')
            .is_some_and(|(section, _)| section == name)
    })
}

/// The section names, for suggestions.
fn sections() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter_map(|key| key.path.split_once('.').map(|(section, _)| section))
}

/// The closest real key (or section, when `section_only`) to a misspelt one, if close enough.
/// A right key name in the wrong section (`discord.model`) suggests where it belongs
/// (`llm.model`); otherwise the nearest by edit distance within a third of the name's length.
pub(crate) fn suggest(unknown: &str, section_only: bool) -> Option<&'static str> {
    let candidates: Vec<&'static str> = if section_only {
        sections().collect()
    } else {
        KEYS.iter().map(|key| key.path).collect()
    };
    let lower = unknown.to_ascii_lowercase();
    let leaf = lower.rsplit('.').next().unwrap_or_default();
    if lower.contains('.') {
        let moved = candidates
            .iter()
            .find(|candidate| candidate.rsplit('.').next() == Some(leaf));
        if let Some(moved) = moved {
            return Some(moved);
        }
    }
    let limit = (leaf.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&lower, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance between two strings, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_put_the_prefixed_form_last() {
        let key = find("llm.model").expect("registered");
        assert_eq!(key.env_names(), ["OPENAI_MODEL", "SUMMARYBOT_LLM__MODEL"]);
        assert_eq!(prefixed_env_name("environment"), "SUMMARYBOT_ENVIRONMENT");
    }

    #[test]
    fn paths_are_unique_and_secrets_marked() {
        let mut paths: Vec<&str> = KEYS.iter().map(|k| k.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), KEYS.len());
        let secrets: Vec<&str> = KEYS
            .iter()
            .filter(|k| k.is_secret())
            .map(|k| k.path)
            .collect();
        assert_eq!(
            secrets,
            [
                "discord.token",
                "llm.api_key",
                "webhook.secret",
                "webhook.bearer_token",
                "status.password_hash"
            ]
        );
    }

    #[test]
    fn renamed_keys_point_at_current_keys() {
        assert_eq!(renamed_keys().count(), RENAMED.len());
        for (old, key) in renamed_keys() {
            assert!(find(old).is_none(), "{old} is still a current key");
            assert!(!key.is_secret());
        }
        assert_eq!(
            renamed("webhook.workers").map(|(_, key)| key.path),
            Some("jobs.workers")
        );
        assert!(renamed("jobs.workers").is_none());
    }

    #[test]
    fn suggests_close_keys_and_sections() {
        assert_eq!(suggest("llm.modle", false), Some("llm.model"));
        assert_eq!(suggest("discord.model", false), Some("llm.model"));
        assert_eq!(suggest("llms", true), Some("llm"));
        assert_eq!(suggest("completely.unrelated", false), None);
        assert_eq!(suggest("discord.tokn", false), Some("discord.token"));
        assert_eq!(suggest("enviroment", false), Some("environment"));
        assert!(is_section("webhook"));
        assert!(!is_section("model"));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
