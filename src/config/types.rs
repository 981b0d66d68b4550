//! Small typed config values parsed from text: environment, LLM provider, log level and format,
//! shard spec. Each parses case-insensitively and its error lists what is accepted.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Deployment environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Local development (the default).
    #[default]
    Development,
    /// A staging deployment.
    Staging,
    /// Production: `debug` is forbidden, secrets may come from `/run/secrets`.
    Production,
}

/// Which summarizer backend runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum LlmProvider {
    /// The built-in offline extractive summarizer.
    #[default]
    #[serde(rename = "builtin")]
    Builtin,
    /// Any OpenAI-compatible chat-completions API.
    #[serde(rename = "openai")]
    OpenAi,
}

impl LlmProvider {
    /// The name used in the config file: `builtin` or `openai`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::OpenAi => "openai",
        }
    }
}

/// Minimum log level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Something odd but handled (`WARNING` is accepted too).
    Warn,
    /// Failures (`CRITICAL` is accepted too).
    Error,
}

impl LogLevel {
    /// The directive for `tracing_subscriber::EnvFilter`.
    pub fn as_filter(&self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Find `text` (case-insensitive, trimmed) among `choices`, or say which are accepted.
fn choose<T: Copy>(text: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let wanted = text.trim();
    choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            format!("must be one of {}", names.join(", "))
        })
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        choose(
            s,
            &[
                ("development", Self::Development),
                ("staging", Self::Staging),
                ("production", Self::Production),
            ],
        )
    }
}

impl FromStr for LlmProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        choose(s, &[("builtin", Self::Builtin), ("openai", Self::OpenAi)])
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        choose(
            s,
            &[
                ("TRACE", Self::Trace),
                ("DEBUG", Self::Debug),
                ("INFO", Self::Info),
                ("WARN", Self::Warn),
                ("WARNING", Self::Warn),
                ("ERROR", Self::Error),
                ("CRITICAL", Self::Error),
            ],
        )
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        choose(s, &[("text", Self::Text), ("json", Self::Json)])
    }
}

/// The shards one process runs: `first..=last` out of `total`, written `"0-3/16"` (or `"2/16"`
/// for a single shard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// First shard id run here.
    pub first: u32,
    /// Last shard id run here (inclusive).
    pub last: u32,
    /// Shard count of the whole bot.
    pub total: u32,
}

impl FromStr for ShardSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let format =
            || format!("`{s}` is not a shard spec: expected \"first-last/total\", e.g. \"0-3/16\"");
        let (range, total) = s.trim().split_once('/').ok_or_else(format)?;
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let number = |t: &str| t.trim().parse::<u32>().map_err(|_| format());
        let spec = Self {
            first: number(first)?,
            last: number(last)?,
            total: number(total)?,
        };
        if spec.total == 0 {
            return Err("the shard total must be at least 1".to_owned());
        }
        if spec.first > spec.last {
            return Err(format!(
                "the first shard ({}) is after the last ({})",
                spec.first, spec.last
            ));
        }
        if spec.last >= spec.total {
            return Err(format!(
                "shard ids run from 0 to total-1: {} is not below {}",
                spec.last, spec.total
            ));
        }
        Ok(spec)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}/{}", self.first, self.last, self.total)
    }
}

impl Serialize for ShardSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_parses_case_insensitively_and_lists_choices() {
        assert_eq!("Production".parse(), Ok(Environment::Production));
        assert_eq!(" staging ".parse(), Ok(Environment::Staging));
        let err = "prod"
            .parse::<Environment>()
            .expect_err("prod is not a name");
        assert_eq!(err, "must be one of development, staging, production");
    }

    #[test]
    fn log_level_accepts_aliases() {
        assert_eq!("warning".parse(), Ok(LogLevel::Warn));
        assert_eq!("CRITICAL".parse(), Ok(LogLevel::Error));
        assert_eq!("Info".parse(), Ok(LogLevel::Info));
        assert_eq!(LogLevel::Warn.as_filter(), "warn");
        assert!("verbose".parse::<LogLevel>().is_err());
    }

    #[test]
    fn provider_and_format_reject_unknown_names() {
        assert_eq!("OpenAI".parse(), Ok(LlmProvider::OpenAi));
        assert!("anthropic".parse::<LlmProvider>().is_err());
        assert_eq!("JSON".parse(), Ok(LogFormat::Json));
        assert_eq!(
            "xml".parse::<LogFormat>(),
            Err("must be one of text, json".to_owned())
        );
    }

    #[test]
    fn shard_spec_parses_ranges_and_single_shards() {
        let spec: ShardSpec = "0-3/16".parse().expect("valid");
        assert_eq!((spec.first, spec.last, spec.total), (0, 3, 16));
        assert_eq!(spec.to_string(), "0-3/16");
        let single: ShardSpec = "5/8".parse().expect("valid");
        assert_eq!((single.first, single.last), (5, 5));
    }

    #[test]
    fn shard_spec_rejects_bad_shapes_and_ranges() {
        for bad in [
            "", "16", "a-b/c", "0-3", "3-1/8", "0-16/16", "0/0", "-1-2/4",
        ] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad} should fail");
        }
    }
}
