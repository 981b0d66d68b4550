//! Environment overlays: the env var names, the `.env` file parser, and applying a set of
//! variables (from `.env` or the process) over the config, including `<NAME>_FILE` secrets.
//!
//! Within one layer the `SUMMARYBOT_<SECTION>__<KEY>` form beats the well-known name
//! (`OPENAI_MODEL`), and `<NAME>_FILE` beats `<NAME>`. An empty variable counts as unset, so
//! `OPENAI_MODEL=${OPENAI_MODEL}` in a compose file does not blank the default.

use std::collections::HashMap;
use std::path::Path;

use super::input::Input;
use super::keys::{self, prefixed_env_name, KEYS};
use super::load::Loader;
use super::Problem;

/// Path of the config file (after `--config`, before `./summarybot.toml`).
pub const CONFIG_PATH: &str = "SUMMARYBOT_CONFIG";
/// Prefix of the `SUMMARYBOT_<SECTION>__<KEY>` names that exist for every key.
pub const ENV_PREFIX: &str = "SUMMARYBOT_";
/// Suffix naming a file that holds a secret: `DISCORD_TOKEN_FILE=/path`.
pub const FILE_SUFFIX: &str = "_FILE";
/// `environment`.
pub const ENVIRONMENT: &str = "ENVIRONMENT";
/// `debug`.
pub const DEBUG: &str = "DEBUG";
/// `discord.token`.
pub const DISCORD_TOKEN: &str = "DISCORD_TOKEN";
/// `discord.guild_ids`, comma-separated.
pub const DISCORD_GUILD_IDS: &str = "DISCORD_GUILD_IDS";
/// `llm.api_key`.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// `llm.model`.
pub const OPENAI_MODEL: &str = "OPENAI_MODEL";
/// `llm.max_tokens`.
pub const OPENAI_MAX_TOKENS: &str = "OPENAI_MAX_TOKENS";
/// `llm.temperature`.
pub const OPENAI_TEMPERATURE: &str = "OPENAI_TEMPERATURE";
/// `llm.base_url`.
pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
/// `llm.max_retries`.
pub const MAX_RETRIES: &str = "MAX_RETRIES";
/// `webhook.secret`.
pub const WEBHOOK_SECRET: &str = "WEBHOOK_SECRET";
/// `webhook.host`.
pub const WEBHOOK_HOST: &str = "WEBHOOK_HOST";
/// `webhook.port`.
pub const WEBHOOK_PORT: &str = "WEBHOOK_PORT";
/// `webhook.rate_limit_per_minute`.
pub const RATE_LIMIT_PER_MINUTE: &str = "RATE_LIMIT_PER_MINUTE";
/// `logging.level`.
pub const LOG_LEVEL: &str = "LOG_LEVEL";
/// `cache.ttl` (a duration; a bare number is seconds).
pub const CACHE_TTL: &str = "CACHE_TTL";
/// `cache.max_entries`.
pub const MAX_CACHE_SIZE: &str = "MAX_CACHE_SIZE";

/// Parse a `.env` file: `KEY=VALUE` lines, `#` comments, optional `export ` prefix, values
/// optionally in single or double quotes (double quotes understand `\n`, `\"`, `\\`).
/// Bad lines are returned as `(line number, message)` and skipped.
pub fn parse_dotenv(text: &str) -> (HashMap<String, String>, Vec<(usize, String)>) {
    let mut vars = HashMap::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_dotenv_line(line) {
            Ok((name, value)) => {
                vars.insert(name.to_owned(), value);
            }
            Err(message) => errors.push((index + 1, message)),
        }
    }
    (vars, errors)
}

fn parse_dotenv_line(line: &str) -> Result<(&str, String), String> {
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    let (name, value) = line.split_once('=').ok_or("expected NAME=value")?;
    let name = name.trim();
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!(
            "`{name}` is not a variable name (letters, digits and _ only)"
        ));
    }
    Ok((name, dotenv_value(value.trim())?))
}

fn dotenv_value(value: &str) -> Result<String, String> {
    let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        // Unquoted: an inline comment starts at " #".
        let end = value.find(" #").unwrap_or(value.len());
        return Ok(value[..end].trim_end().to_owned());
    };
    let body = &value[1..];
    let close = closing_quote(body, quote).ok_or(format!("missing closing {quote}"))?;
    let rest = body[close + 1..].trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(format!("unexpected text after the closing quote: `{rest}`"));
    }
    let inner = &body[..close];
    Ok(if quote == '"' {
        unescape(inner)
    } else {
        inner.to_owned()
    })
}

/// Byte index of the closing quote; inside double quotes a backslash escapes the next char.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote == '"' => escaped = true,
            _ if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Read a secret file (a regular file of at most 64 KiB), trimming the trailing newline editors
/// and `echo` add.
pub(crate) fn read_secret_file(path: &Path) -> std::io::Result<String> {
    let text = crate::files::read_text(path, crate::files::MAX_SECRET_BYTES)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// Apply one layer of variables. `layer` names where they came from for messages (`None` for
/// the process environment, `Some(".env path")` for a `.env` file).
pub(crate) fn apply(loader: &mut Loader, vars: &HashMap<String, String>, layer: Option<&str>) {
    let origin = |name: &str| match layer {
        Some(file) => format!("{name} in {file}"),
        None => name.to_owned(),
    };
    for key in KEYS {
        for name in key.env_names() {
            if let Some(value) = vars.get(&name).filter(|v| !v.is_empty()) {
                loader.set(key, Input::Text(value), Some(origin(&name)));
            }
            if !key.is_secret() {
                continue;
            }
            let file_var = format!("{name}{FILE_SUFFIX}");
            if let Some(path) = vars.get(&file_var).filter(|v| !v.is_empty()) {
                let source = format!("{} = {path}", origin(&file_var));
                match read_secret_file(&loader.resolve(path)) {
                    Ok(secret) => loader.set(key, Input::Text(&secret), Some(source)),
                    Err(err) => loader.problem(
                        Problem::new(key.path, format!("cannot read the secret file: {err}"))
                            .with_source(Some(source)),
                    ),
                }
            }
        }
    }
    for (old, key) in keys::renamed_keys() {
        let name = prefixed_env_name(old);
        if let Some(value) = vars.get(&name).filter(|v| !v.is_empty()) {
            loader.set_renamed(old, key, Input::Text(value), Some(origin(&name)));
        }
    }
    report_unknown(loader, vars, layer);
}

/// `SUMMARYBOT_<SECTION>__<KEY>` variables that name no key are problems (a typo would
/// otherwise be ignored silently).
fn report_unknown(loader: &mut Loader, vars: &HashMap<String, String>, layer: Option<&str>) {
    let mut unknown: Vec<&String> = vars
        .keys()
        .filter(|name| name.starts_with(ENV_PREFIX) && name.contains("__"))
        .filter(|name| !is_known(name))
        .collect();
    unknown.sort();
    for name in unknown {
        let path = name[ENV_PREFIX.len()..]
            .trim_end_matches(FILE_SUFFIX)
            .replace("__", ".")
            .to_ascii_lowercase();
        let hint = keys::suggest(&path, false)
            .map(|known| format!("; did you mean {}?", prefixed_env_name(known)))
            .unwrap_or_default();
        let source = layer.map(|file| format!("{name} in {file}"));
        loader.problem(
            Problem::new(name.clone(), format!("unknown setting{hint}")).with_source(source),
        );
    }
}

fn is_known(name: &str) -> bool {
    let current = KEYS.iter().any(|key| {
        let own = prefixed_env_name(key.path);
        name == own
            || (key.is_secret()
                && name
                    .strip_suffix(FILE_SUFFIX)
                    .is_some_and(|base| base == own))
    });
    current || keys::renamed_keys().any(|(old, _)| name == prefixed_env_name(old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_handles_comments_quotes_and_export() {
        let text = "# comment\n\
                    \n\
                    export DISCORD_TOKEN=abc\n\
                    OPENAI_MODEL = \"gpt-4o\" # trailing comment\n\
                    SINGLE='a \\n # b'\n\
                    PLAIN=value # comment\n\
                    ESCAPED=\"a\\\"b\\nc\"\n\
                    EMPTY=\n\
                    HASH=a#b\n";
        let (vars, errors) = parse_dotenv(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(vars["DISCORD_TOKEN"], "abc");
        assert_eq!(vars["OPENAI_MODEL"], "gpt-4o");
        assert_eq!(vars["PLAIN"], "value");
        assert_eq!(vars["ESCAPED"], "a\"b\nc");
        assert_eq!(vars["EMPTY"], "");
        assert_eq!(vars["HASH"], "a#b");
        assert_eq!(vars["SINGLE"], "a \\n # b");
    }

    #[test]
    fn dotenv_reports_bad_lines_with_numbers() {
        let (vars, errors) = parse_dotenv("GOOD=1\nno equals sign\n1BAD=x\nOPEN=\"unterminated\n");
        assert_eq!(vars.len(), 1);
        let lines: Vec<usize> = errors.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(errors[2].1.contains("missing closing"));
    }

    #[test]
    fn secret_files_lose_only_the_trailing_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "  s3cret \r\n\n").expect("write");
        assert_eq!(read_secret_file(&path).expect("read"), "  s3cret ");
    }

    #[test]
    fn known_prefixed_names() {
        assert!(is_known("SUMMARYBOT_LLM__MODEL"));
        assert!(is_known("SUMMARYBOT_DISCORD__TOKEN_FILE"));
        assert!(!is_known("SUMMARYBOT_LLM__MODEL_FILE"));
        assert!(!is_known("SUMMARYBOT_LLM__MODLE"));
        assert!(is_known("SUMMARYBOT_JOBS__WORKERS"));
        assert!(
            is_known("SUMMARYBOT_WEBHOOK__WORKERS"),
            "renamed keys still work"
        );
        assert!(!is_known("SUMMARYBOT_WEBHOOK__WORKERS_FILE"));
    }
}
