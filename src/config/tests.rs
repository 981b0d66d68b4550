//! Tests of the whole config layer: loading from files and overlays, the example file, every
//! validation rule with a bad value, and redaction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use super::*;

/// A temp working dir with an optional secrets dir; loads with a given env.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    fn try_load(
        &self,
        explicit: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Result<Loaded, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let secrets = self.path("secrets");
        load(&LoadOptions {
            explicit_path: explicit,
            env: &env,
            cwd: self.dir.path(),
            secrets_dir: &secrets,
        })
    }

    fn load(&self, env: &[(&str, &str)]) -> Config {
        self.try_load(None, env).expect("loads").config
    }
}

fn keys_of(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.key.as_str()).collect()
}

const DISCORD_TOKEN_VALUE: &str = "discord-token-0123456789-0123456789-0123456789-0123";
const OPENAI_KEY_VALUE: &str = "sk-openai-0123456789-0123456789-0123456789";
/// A well-formed status page password hash (1000 iterations).
const STATUS_HASH_VALUE: &str = "$pbkdf2-sha256$i=1000$00112233445566778899aabbccddeeff$0011223344556677889900112233445566778899001122334455667788990011";
const WEBHOOK_SECRET_VALUE: &str = "webhook-secret-0123456789-0123456789";

// ---- file lookup ----

#[test]
fn no_file_gives_defaults_that_pass_offline_validation() {
    let fx = Fixture::new();
    let loaded = fx.try_load(None, &[]).expect("loads");
    assert_eq!(loaded.path, None);
    let config = loaded.config;
    assert_eq!(config.llm.model, "gpt-4o-mini");
    assert_eq!(config.llm.provider, LlmProvider::Builtin);
    assert_eq!(config.storage.path, PathBuf::from(DEV_STORAGE_PATH));
    assert_eq!(config.cache.ttl, Duration::from_secs(3600));
    assert_eq!(config.validate(Scope::Offline), []);
    assert_eq!(keys_of(&config.validate(Scope::Full)), ["discord.token"]);
    assert_eq!(Config::default().validate(Scope::Offline), []);
}

#[test]
fn explicit_or_env_named_file_must_exist() {
    let fx = Fixture::new();
    let missing = fx.path("nope.toml");
    assert!(matches!(
        fx.try_load(Some(&missing), &[]),
        Err(ConfigError::NotFound { path }) if path == missing
    ));
    assert!(matches!(
        fx.try_load(None, &[("SUMMARYBOT_CONFIG", "nope.toml")]),
        Err(ConfigError::NotFound { path }) if path == missing
    ));
}

#[test]
fn lookup_order_is_explicit_then_env_then_cwd() {
    let fx = Fixture::new();
    let local = fx.write("summarybot.toml", "[llm]\nmodel = \"local\"\n");
    let named = fx.write("named.toml", "[llm]\nmodel = \"named\"\n");
    let explicit = fx.write("explicit.toml", "[llm]\nmodel = \"explicit\"\n");
    let found = fx.try_load(None, &[]).expect("loads");
    assert_eq!(
        (found.path, found.config.llm.model.as_str()),
        (Some(local), "local")
    );
    let via_env = fx
        .try_load(None, &[("SUMMARYBOT_CONFIG", "named.toml")])
        .expect("loads");
    assert_eq!(via_env.path, Some(named));
    let via_flag = fx
        .try_load(Some(&explicit), &[("SUMMARYBOT_CONFIG", "named.toml")])
        .expect("loads");
    assert_eq!(via_flag.config.llm.model, "explicit");
}

#[test]
fn toml_syntax_error_names_file_line_and_column() {
    let fx = Fixture::new();
    let path = fx.write("bad.toml", "[llm]\nmodel = \"x\"\ntemperature = = 3\n");
    let err = fx.try_load(Some(&path), &[]).expect_err("syntax error");
    let ConfigError::Parse { path: at, message } = &err else {
        panic!("expected a parse error, got {err:?}");
    };
    assert_eq!(at, &path);
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("column"), "{message}");
    assert!(err.to_string().starts_with(&path.display().to_string()));
}

#[test]
fn a_directory_is_not_a_config_file() {
    let fx = Fixture::new();
    let dir = fx.path("dir.toml");
    std::fs::create_dir(&dir).expect("mkdir");
    let err = fx
        .try_load(Some(&dir), &[])
        .expect_err("a directory is refused");
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

// ---- the example file ----

#[test]
fn example_loads_and_passes_offline_validation() {
    let fx = Fixture::new();
    let path = fx.path("example.toml");
    write_example(&path).expect("written");
    let config = fx.try_load(Some(&path), &[]).expect("loads").config;
    assert_eq!(config.validate(Scope::Offline), []);
}

/// Uncomment `# key = value` lines so optional keys are checked too.
fn uncommented_example() -> String {
    EXAMPLE
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("# ").unwrap_or(line);
            let is_key = rest
                .split_once(" = ")
                .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            if is_key {
                rest
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn example_documents_exactly_the_real_keys() {
    let text = uncommented_example();
    let table: toml::Table = toml::from_str(&text).expect("uncommented example parses");
    let mut documented: Vec<String> = Vec::new();
    for (name, value) in &table {
        match value.as_table() {
            Some(section) => documented.extend(section.keys().map(|k| format!("{name}.{k}"))),
            None => documented.push(name.clone()),
        }
    }
    documented.sort();
    let mut real: Vec<String> = keys::KEYS.iter().map(|k| k.path.to_owned()).collect();
    real.sort();
    assert_eq!(documented, real);

    let fx = Fixture::new();
    let path = fx.write("full.toml", &text);
    let config = fx.try_load(Some(&path), &[]).expect("loads").config;
    assert_eq!(config.validate(Scope::Offline), []);
    assert_eq!(config.discord.shards.map(|s| s.total), Some(16));
}

#[test]
fn write_example_never_overwrites() {
    let fx = Fixture::new();
    let path = fx.write("mine.toml", "debug = true\n");
    let err = write_example(&path).expect_err("exists");
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "debug = true\n"
    );
}

// ---- overlays ----

#[test]
fn overlay_precedence_is_file_then_dotenv_then_env() {
    let fx = Fixture::new();
    fx.write(
        "summarybot.toml",
        "[llm]\nmodel = \"from-file\"\nmax_tokens = 500\ntemperature = 0.1\n",
    );
    fx.write(".env", "OPENAI_MODEL=from-dotenv\nOPENAI_MAX_TOKENS=600\n");
    let config = fx.load(&[("OPENAI_MODEL", "from-env")]);
    assert_eq!(config.llm.model, "from-env");
    assert_eq!(config.llm.max_tokens, 600);
    assert!((config.llm.temperature - 0.1).abs() < f32::EPSILON);
    assert_eq!(config.origin("llm.model"), Some("OPENAI_MODEL"));
    assert!(config
        .origin("llm.max_tokens")
        .is_some_and(|o| o.starts_with("OPENAI_MAX_TOKENS in ")
            && o.ends_with(&format!("{}", fx.path(".env").display()))));
    // A file value's origin is its line, for problems found when the config is checked.
    assert_eq!(
        config.origin("llm.temperature"),
        Some(format!("{} line 4", fx.path("summarybot.toml").display()).as_str())
    );
    fx.write("summarybot.toml", "[webhook]\nenabled = true\nport = 80\n");
    let problems = fx.load(&[]).validate(Scope::Offline);
    let port = problems
        .iter()
        .find(|p| p.key == "webhook.port")
        .expect("port 80 is refused");
    assert!(
        port.to_string().contains("summarybot.toml line 3)"),
        "{port}"
    );
}

#[test]
fn prefixed_name_beats_well_known_name_and_empty_means_unset() {
    let fx = Fixture::new();
    let config = fx.load(&[
        ("OPENAI_MODEL", "short"),
        ("SUMMARYBOT_LLM__MODEL", "prefixed"),
        ("SUMMARYBOT_ENVIRONMENT", "staging"),
        ("WEBHOOK_HOST", ""),
        ("CACHE_TTL", "7200"),
        ("DISCORD_GUILD_IDS", "11, 22"),
    ]);
    assert_eq!(config.llm.model, "prefixed");
    assert_eq!(config.environment, Environment::Staging);
    assert_eq!(config.webhook.host, "127.0.0.1");
    assert_eq!(config.cache.ttl, Duration::from_secs(7200));
    assert_eq!(config.discord.guild_ids, [GuildId(11), GuildId(22)]);
}

#[test]
fn dotenv_sits_next_to_the_config_file() {
    let fx = Fixture::new();
    let path = fx.write("conf/bot.toml", "");
    fx.write("conf/.env", "export OPENAI_MODEL='next-to-file'\n");
    fx.write(".env", "OPENAI_MODEL=in-cwd\n");
    let config = fx.try_load(Some(&path), &[]).expect("loads").config;
    assert_eq!(config.llm.model, "next-to-file");
}

#[test]
fn bad_dotenv_lines_are_problems() {
    let fx = Fixture::new();
    fx.write(".env", "OPENAI_MODEL=ok\nthis is not a variable\n");
    let config = fx.load(&[]);
    let problems = config.validate(Scope::Offline);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].key.ends_with(".env line 2"), "{}", problems[0]);
    assert_eq!(config.llm.model, "ok");
}

#[test]
fn secrets_come_from_file_vars_trimmed() {
    let fx = Fixture::new();
    fx.write("token.txt", &format!("{DISCORD_TOKEN_VALUE}\n"));
    // A relative path is resolved against the working directory given to `load`.
    let config = fx.load(&[
        ("DISCORD_TOKEN", "ignored"),
        ("DISCORD_TOKEN_FILE", "token.txt"),
    ]);
    assert_eq!(config.discord.token.expose(), DISCORD_TOKEN_VALUE);
    assert!(config
        .origin("discord.token")
        .is_some_and(|o| o.starts_with("DISCORD_TOKEN_FILE")));
    assert_eq!(config.validate(Scope::Full), []);
}

#[test]
fn missing_secret_file_is_a_problem_naming_the_variable() {
    let fx = Fixture::new();
    let missing = fx.path("absent");
    let config = fx.load(&[("WEBHOOK_SECRET_FILE", &missing.to_string_lossy())]);
    let problems = config.validate(Scope::Offline);
    assert_eq!(keys_of(&problems), ["webhook.secret"]);
    assert!(
        problems[0]
            .to_string()
            .contains("(from WEBHOOK_SECRET_FILE"),
        "{}",
        problems[0]
    );
}

#[test]
fn secrets_dir_is_used_in_production_only_when_unset() {
    let fx = Fixture::new();
    fx.write("secrets/discord_token", &format!("{DISCORD_TOKEN_VALUE}\n"));
    fx.write("secrets/openai_api_key", OPENAI_KEY_VALUE);
    let dev = fx.load(&[]);
    assert!(dev.discord.token.is_empty());
    let prod = fx.load(&[
        ("ENVIRONMENT", "production"),
        ("OPENAI_API_KEY", "sk-from-env"),
    ]);
    assert_eq!(prod.discord.token.expose(), DISCORD_TOKEN_VALUE);
    assert_eq!(prod.llm.api_key.expose(), "sk-from-env");
    assert_eq!(prod.storage.path, PathBuf::from(PROD_STORAGE_PATH));
    assert!(prod
        .origin("discord.token")
        .is_some_and(|o| o.ends_with("discord_token")));
}

#[test]
fn provider_defaults_to_openai_only_when_a_key_is_set() {
    let fx = Fixture::new();
    assert_eq!(fx.load(&[]).llm.provider, LlmProvider::Builtin);
    let with_key = fx.load(&[("OPENAI_API_KEY", OPENAI_KEY_VALUE)]);
    assert_eq!(with_key.llm.provider, LlmProvider::OpenAi);
    assert_eq!(with_key.validate(Scope::Offline), []);
    let pinned = fx.load(&[
        ("OPENAI_API_KEY", OPENAI_KEY_VALUE),
        ("SUMMARYBOT_LLM__PROVIDER", "builtin"),
    ]);
    assert_eq!(pinned.llm.provider, LlmProvider::Builtin);
}

#[test]
fn env_value_that_does_not_parse_is_collected_with_other_problems() {
    let fx = Fixture::new();
    fx.write("summarybot.toml", "[webhook]\nport = 80\n");
    let config = fx.load(&[
        ("OPENAI_TEMPERATURE", "abc"),
        ("ENVIRONMENT", "prod"),
        ("LOG_LEVEL", "verbose"),
        ("DISCORD_GUILD_IDS", "1,two"),
        ("SUMMARYBOT_DISCORD__SHARDS", "4-2/8"),
        ("SUMMARYBOT_LOGGING__FORMAT", "xml"),
    ]);
    let problems = config.validate(Scope::Offline);
    assert_eq!(
        keys_of(&problems),
        [
            "environment",
            "discord.guild_ids",
            "discord.shards",
            "llm.temperature",
            "logging.level",
            "logging.format",
            "webhook.port"
        ]
    );
    assert_eq!(
        problems[3].to_string(),
        "llm.temperature = \"abc\" (from OPENAI_TEMPERATURE): expected a number such as 0.3"
    );
    assert_eq!(
        problems[0].to_string(),
        "environment = \"prod\" (from ENVIRONMENT): must be one of development, staging, production"
    );
    assert!(problems[1].message.contains("`two`"));
}

#[test]
fn unknown_keys_and_sections_suggest_the_intended_one() {
    let fx = Fixture::new();
    let file = fx.write(
        "summarybot.toml",
        "enviroment = \"staging\"\n[llm]\nmodle = \"x\"\n[llms]\nmodel = \"y\"\n[cache]\nbogus_thing = 1\n",
    );
    let problems = fx
        .load(&[("SUMMARYBOT_LLM__MODLE", "x")])
        .validate(Scope::Offline);
    let found: Vec<(&str, &str, Option<&str>)> = problems
        .iter()
        .map(|p| (p.key.as_str(), p.message.as_str(), p.source.as_deref()))
        .collect();
    let at = |line: usize| format!("{} line {line}", file.display());
    assert_eq!(
        found,
        [
            ("cache.bogus_thing", "unknown key", Some(at(7).as_str())),
            (
                "enviroment",
                "unknown key; did you mean `environment`?",
                Some(at(1).as_str())
            ),
            (
                "llm.modle",
                "unknown key; did you mean `llm.model`?",
                Some(at(3).as_str())
            ),
            (
                "llms",
                "unknown section; did you mean `llm`?",
                Some(at(4).as_str())
            ),
            (
                "SUMMARYBOT_LLM__MODLE",
                "unknown setting; did you mean SUMMARYBOT_LLM__MODEL?",
                None
            ),
        ]
    );
}

#[test]
fn file_value_of_the_wrong_type_is_a_problem_naming_the_key() {
    let fx = Fixture::new();
    fx.write(
        "summarybot.toml",
        "debug = \"yes\"\nllm = 3\n[cache]\nttl = \"10 parsecs\"\n",
    );
    let problems = fx.load(&[]).validate(Scope::Offline);
    assert_eq!(keys_of(&problems), ["cache.ttl", "debug", "llm"]);
    assert!(problems[1].message.contains("expected true or false"));
    assert!(problems[2].message.contains("must be a [llm] table"));
    let source = problems[0].source.as_deref().unwrap_or_default();
    assert!(source.ends_with("summarybot.toml line 4"), "{source}");
}

#[test]
fn withhold_emails_defaults_on_loads_from_file_and_env_and_rejects_non_booleans() {
    assert!(Config::default().llm.withhold_emails);
    let fx = Fixture::new();
    fx.write("summarybot.toml", "[llm]\nwithhold_emails = false\n");
    assert!(!fx.load(&[]).llm.withhold_emails);
    let env = fx.load(&[("SUMMARYBOT_LLM__WITHHOLD_EMAILS", "true")]);
    assert!(env.llm.withhold_emails);
    fx.write(
        "summarybot.toml",
        "[llm]\nwithhold_emails = \"sometimes\"\n",
    );
    let problems = fx.load(&[]).validate(Scope::Offline);
    assert_eq!(keys_of(&problems), ["llm.withhold_emails"]);
    assert!(
        problems[0].message.contains("expected true or false"),
        "{}",
        problems[0].message
    );
}

// ---- renamed keys ----

#[test]
fn jobs_keys_load_from_file_and_env_and_validate() {
    let fx = Fixture::new();
    fx.write(
        "summarybot.toml",
        "[jobs]\nworkers = 8\nmax_attempts = 10\n",
    );
    let loaded = fx
        .try_load(None, &[("SUMMARYBOT_JOBS__MAX_ATTEMPTS", "12")])
        .expect("loads");
    assert_eq!(loaded.warnings, []);
    let config = loaded.config;
    assert_eq!((config.jobs.workers, config.jobs.max_attempts), (8, 12));
    assert_eq!(config.validate(Scope::Offline), []);
    let defaults = Config::default().jobs;
    assert_eq!((defaults.workers, defaults.max_attempts), (2, 5));
}

#[test]
fn old_webhook_keys_still_work_with_a_warning_naming_the_new_key() {
    let fx = Fixture::new();
    let file = fx.write("summarybot.toml", "[webhook]\nworkers = 4\n");
    let loaded = fx
        .try_load(None, &[("SUMMARYBOT_WEBHOOK__MAX_ATTEMPTS", "7")])
        .expect("loads");
    let config = &loaded.config;
    assert_eq!((config.jobs.workers, config.jobs.max_attempts), (4, 7));
    assert_eq!(
        config.validate(Scope::Offline),
        [],
        "no unknown-key problem"
    );
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            format!(
                "webhook.workers = 4 (from {} line 2): was renamed to jobs.workers; the old name still works for now, but move it to `workers` in the [jobs] section",
                file.display()
            ),
            "webhook.max_attempts = \"7\" (from SUMMARYBOT_WEBHOOK__MAX_ATTEMPTS): was renamed to jobs.max_attempts; the old name still works for now, but set SUMMARYBOT_JOBS__MAX_ATTEMPTS instead".to_owned(),
        ]
    );
}

#[test]
fn the_new_key_wins_over_the_old_one_wherever_each_is_set() {
    let ignored =
        "is ignored because jobs.workers is also set (the new key wins); remove the old setting";
    // Old key in the file, new key in the environment.
    let fx = Fixture::new();
    fx.write("summarybot.toml", "[webhook]\nworkers = 4\n");
    let loaded = fx
        .try_load(None, &[("SUMMARYBOT_JOBS__WORKERS", "6")])
        .expect("loads");
    assert_eq!(loaded.config.jobs.workers, 6);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].key, "webhook.workers");
    assert_eq!(loaded.warnings[0].message, ignored);
    // New key in the file, old key in the (otherwise stronger) environment.
    let fx = Fixture::new();
    fx.write("summarybot.toml", "[jobs]\nworkers = 6\n");
    let loaded = fx
        .try_load(None, &[("SUMMARYBOT_WEBHOOK__WORKERS", "4")])
        .expect("loads");
    assert_eq!(loaded.config.jobs.workers, 6);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].message, ignored);
    assert_eq!(
        loaded.warnings[0].source.as_deref(),
        Some("SUMMARYBOT_WEBHOOK__WORKERS")
    );
}

#[test]
fn out_of_range_worker_counts_name_jobs_workers() {
    let fx = Fixture::new();
    let file = fx.write("summarybot.toml", "[jobs]\nworkers = 0\n");
    let problems = fx.load(&[]).validate(Scope::Offline);
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "jobs.workers = 0 (from {} line 2): must be between 1 and 32",
            file.display()
        )]
    );
    // Through the old name, the problem still names jobs.workers and says where the value is.
    let fx = Fixture::new();
    let file = fx.write("summarybot.toml", "[webhook]\nworkers = 40\n");
    let problems = fx
        .load(&[("SUMMARYBOT_WEBHOOK__MAX_ATTEMPTS", "many")])
        .validate(Scope::Offline);
    assert_eq!(keys_of(&problems), ["jobs.max_attempts", "jobs.workers"]);
    assert_eq!(
        problems[0].source.as_deref(),
        Some("SUMMARYBOT_WEBHOOK__MAX_ATTEMPTS")
    );
    assert_eq!(
        problems[1].to_string(),
        format!(
            "jobs.workers = 40 (from {} line 2): must be between 1 and 32",
            file.display()
        )
    );
}

// ---- validation rules, each with a bad value ----

/// Apply `change` to a config valid in both scopes and return the problem keys for `scope`.
fn problems_after(scope: Scope, change: impl FnOnce(&mut Config)) -> Vec<String> {
    let mut config = valid_config();
    assert_eq!(config.validate(Scope::Full), [], "baseline must be valid");
    change(&mut config);
    config.validate(scope).into_iter().map(|p| p.key).collect()
}

fn valid_config() -> Config {
    let mut config = Config::default();
    config.discord.token = Secret::new(DISCORD_TOKEN_VALUE);
    config
}

#[test]
#[expect(clippy::too_many_lines, reason = "one table row per validation rule")]
fn every_rule_rejects_a_bad_value() {
    type Change = fn(&mut Config);
    let cases: &[(&str, Change)] = &[
        ("discord.token", |c| c.discord.token = Secret::new("short")),
        ("discord.command_prefix", |c| {
            c.discord.command_prefix = "a b".into();
        }),
        ("discord.api_base_url", |c| {
            c.discord.api_base_url = "discord.com/api".into();
        }),
        ("discord.cooldown", |c| {
            c.discord.cooldown = Duration::from_secs(3601);
        }),
        ("discord.shutdown_deadline", |c| {
            c.discord.shutdown_deadline = Duration::ZERO;
        }),
        ("discord.catchup_max", |c| {
            c.discord.catchup_max = Duration::from_secs(60);
        }),
        ("debug", |c| {
            c.environment = Environment::Production;
            c.debug = true;
        }),
        ("llm.api_key", |c| {
            c.llm.provider = LlmProvider::OpenAi;
            c.llm.api_key = Secret::new("sk-too-short");
        }),
        ("llm.model", |c| {
            c.llm.provider = LlmProvider::OpenAi;
            c.llm.base_url = "http://localhost:11434/v1".into();
            c.llm.model = " ".into();
        }),
        ("llm.base_url", |c| {
            c.llm.base_url = "ftp://example.com".into();
        }),
        ("llm.max_tokens", |c| c.llm.max_tokens = 99),
        ("llm.max_tokens", |c| c.llm.max_tokens = 2001),
        ("llm.temperature", |c| c.llm.temperature = 2.5),
        ("llm.temperature", |c| c.llm.temperature = -0.1),
        ("llm.timeout", |c| {
            c.llm.timeout = Duration::from_millis(500);
        }),
        ("llm.max_retries", |c| c.llm.max_retries = 0),
        ("llm.max_retries", |c| c.llm.max_retries = 11),
        ("llm.context_tokens", |c| c.llm.context_tokens = 1512),
        ("llm.concurrency", |c| c.llm.concurrency = 0),
        ("llm.concurrency", |c| c.llm.concurrency = 17),
        ("summary.language", |c| {
            c.summary.language = Some(" ".into());
        }),
        ("summary.max_window_messages", |c| {
            c.summary.max_window_messages = 999;
        }),
        ("summary.max_window_messages", |c| {
            c.summary.max_window_messages = 5_000_001;
        }),
        ("summary.dev_channels", |c| {
            c.summary.dev_channels = vec![ChannelId(5)];
            c.summary.general_channels = vec![ChannelId(5)];
        }),
        ("webhook.secret", |c| {
            c.webhook.enabled = true;
            c.webhook.secret = Secret::new("0123456789012345678901234567890");
        }),
        ("webhook.bearer_token", |c| {
            c.webhook.bearer_token = Secret::new("short");
        }),
        ("webhook.host", |c| c.webhook.host = String::new()),
        ("webhook.port", |c| c.webhook.port = 1023),
        ("webhook.rate_limit_per_minute", |c| {
            c.webhook.rate_limit_per_minute = 0;
        }),
        ("webhook.max_body_bytes", |c| c.webhook.max_body_bytes = 10),
        ("webhook.timestamp_tolerance", |c| {
            c.webhook.timestamp_tolerance = Duration::ZERO;
        }),
        ("webhook.timestamp_tolerance", |c| {
            c.webhook.timestamp_tolerance = Duration::from_secs(3601);
        }),
        ("webhook.idempotency_ttl", |c| {
            c.webhook.idempotency_ttl = Duration::from_secs(59);
        }),
        ("webhook.read_timeout", |c| {
            c.webhook.read_timeout = Duration::from_millis(500);
        }),
        ("webhook.read_timeout", |c| {
            c.webhook.read_timeout = Duration::from_secs(301);
        }),
        ("webhook.http_threads", |c| c.webhook.http_threads = 1),
        ("webhook.http_threads", |c| c.webhook.http_threads = 257),
        ("webhook.max_connections", |c| c.webhook.max_connections = 7),
        ("webhook.max_connections", |c| {
            c.webhook.max_connections = 2049;
        }),
        ("jobs.workers", |c| c.jobs.workers = 0),
        ("jobs.workers", |c| c.jobs.workers = 33),
        ("jobs.max_attempts", |c| c.jobs.max_attempts = 0),
        ("jobs.max_attempts", |c| c.jobs.max_attempts = 21),
        ("storage.path", |c| c.storage.path = PathBuf::new()),
        ("cache.ttl", |c| c.cache.ttl = Duration::from_secs(59)),
        ("cache.max_entries", |c| c.cache.max_entries = 9),
        ("scheduler.catch_up", |c| {
            c.scheduler.catch_up = Duration::from_secs(8 * 86_400);
        }),
        ("scheduler.min_interval", |c| {
            c.scheduler.min_interval = Duration::from_secs(8 * 86_400);
        }),
        ("update.repository", |c| {
            c.update.repository = "no-slash".into();
        }),
        ("update.api_base_url", |c| {
            c.update.api_base_url = "github".into();
        }),
        ("update.verifying_keys", |c| {
            c.update.verifying_keys = vec!["not-a-key".into()];
        }),
        ("update.check_interval", |c| {
            c.update.check_interval = Duration::from_secs(60);
        }),
        ("update.auto", |c| c.update.auto = true),
        ("status.password_hash", |c| {
            c.status.enabled = true;
            c.webhook.enabled = true;
            c.webhook.secret = Secret::new(WEBHOOK_SECRET_VALUE);
        }),
        ("status.password_hash", |c| {
            c.status.password_hash = Secret::new("hunter2");
        }),
        ("status.enabled", |c| {
            c.status.enabled = true;
            c.status.password_hash = Secret::new(STATUS_HASH_VALUE);
        }),
        ("status.session_ttl", |c| {
            c.status.session_ttl = Duration::from_secs(60);
        }),
        ("status.login_attempts_per_minute", |c| {
            c.status.login_attempts_per_minute = 0;
        }),
    ];
    for (key, change) in cases {
        assert_eq!(
            problems_after(Scope::Full, change),
            [*key],
            "rule for {key}"
        );
    }
}

#[test]
fn range_message_matches_the_documented_form() {
    let mut config = valid_config();
    config.llm.temperature = 3.5;
    let problems = config.validate(Scope::Full);
    assert_eq!(
        problems[0].to_string(),
        "llm.temperature = 3.5: must be between 0.0 and 2.0"
    );
}

#[test]
fn offline_scope_skips_credentials_of_services_not_started() {
    let skip = |c: &mut Config| {
        c.discord.token = Secret::default();
        c.webhook.enabled = true;
    };
    assert_eq!(problems_after(Scope::Offline, skip), Vec::<String>::new());
    assert_eq!(
        problems_after(Scope::Full, skip),
        ["discord.token", "webhook.secret"]
    );
    let openai = |c: &mut Config| c.llm.provider = LlmProvider::OpenAi;
    assert_eq!(problems_after(Scope::Offline, openai), ["llm.api_key"]);
}

#[test]
fn local_openai_compatible_servers_need_no_key() {
    let local = |c: &mut Config| {
        c.llm.provider = LlmProvider::OpenAi;
        c.llm.base_url = "http://127.0.0.1:11434/v1".into();
    };
    assert_eq!(problems_after(Scope::Full, local), Vec::<String>::new());
}

#[test]
fn rules_pass_at_their_boundaries() {
    let edges = |c: &mut Config| {
        c.llm.max_tokens = 2000;
        c.llm.context_tokens = 2513;
        c.llm.temperature = 2.0;
        c.llm.max_retries = 10;
        c.llm.concurrency = 16;
        c.webhook.port = 65535;
        c.webhook.timestamp_tolerance = Duration::from_secs(3600);
        c.jobs.workers = 32;
        c.jobs.max_attempts = 20;
        c.cache.ttl = Duration::from_secs(60);
        c.cache.max_entries = 10;
        c.update.verifying_keys = vec!["MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqo=".into()];
    };
    assert_eq!(problems_after(Scope::Full, edges), Vec::<String>::new());
}

#[test]
fn secret_problems_never_show_the_value() {
    let mut config = valid_config();
    config.webhook.enabled = true;
    config.webhook.secret = Secret::new("tiny-secret-value");
    let problems = config.validate(Scope::Full);
    let text = problems[0].to_string();
    assert!(!text.contains("tiny-secret-value"), "{text}");
    assert!(text.contains("it has 17"), "{text}");
}

#[test]
fn invalid_error_lists_every_problem() {
    let mut config = valid_config();
    config.llm.max_tokens = 5;
    config.cache.max_entries = 1;
    let err = config.validated(Scope::Full).expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.starts_with("invalid configuration (2 problems):"),
        "{text}"
    );
    assert!(
        text.contains("  - llm.max_tokens = 5: must be between 100 and 2000"),
        "{text}"
    );
    assert!(
        text.contains("  - cache.max_entries = 1: must be at least 10"),
        "{text}"
    );
}

// ---- redaction ----

#[test]
fn debug_and_show_never_reveal_secrets() {
    let mut config = valid_config();
    config.llm.api_key = Secret::new(OPENAI_KEY_VALUE);
    config.webhook.secret = Secret::new(WEBHOOK_SECRET_VALUE);
    let debug = format!("{config:?}");
    let shown = config.to_redacted_toml();
    for secret in [DISCORD_TOKEN_VALUE, OPENAI_KEY_VALUE, WEBHOOK_SECRET_VALUE] {
        assert!(!debug.contains(secret));
        assert!(!shown.contains(secret));
    }
    assert!(shown.contains("token = \"***\""), "{shown}");
    assert!(shown.contains("bearer_token = \"\""), "{shown}");
    assert!(shown.contains("ttl = \"1h\""), "{shown}");
}

#[test]
fn redacted_toml_loads_back_to_the_same_settings() {
    let fx = Fixture::new();
    let mut config = valid_config();
    config.discord.shards = Some("0-1/2".parse().expect("spec"));
    config.discord.guild_ids = vec![GuildId(42)];
    config.llm.timeout = Duration::from_millis(1500);
    config.summary.language = Some("French".into());
    config.logging.level = LogLevel::Warn;
    let path = fx.write("shown.toml", &config.to_redacted_toml());
    let back = fx.try_load(Some(&path), &[]).expect("loads").config;
    assert_eq!(back.validate(Scope::Offline), []);
    assert_eq!(back.to_redacted_toml(), config.to_redacted_toml());
}

#[test]
fn rule_violations_name_the_env_var_the_value_came_from() {
    let fx = Fixture::new();
    fx.write(".env", "DEBUG=true\n");
    let config = fx.load(&[("OPENAI_TEMPERATURE", "3.5"), ("ENVIRONMENT", "production")]);
    let lines: Vec<String> = config
        .validate(Scope::Offline)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            format!(
                "debug = true (from DEBUG in {}): must be false in production",
                fx.path(".env").display()
            ),
            "llm.temperature = 3.5 (from OPENAI_TEMPERATURE): must be between 0.0 and 2.0"
                .to_owned(),
        ]
    );
}
