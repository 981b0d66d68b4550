//! Loading: find the config file, read it, then overlay `.env`, the process environment and (in
//! production) the secrets dir, and fill the defaults that depend on other keys.
//!
//! Values that do not parse and unknown keys do not stop loading; they are kept in the
//! [`Config`] and reported by [`Config::validate`](super::Config::validate).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use super::env::{self, CONFIG_PATH};
use super::input::{Input, OwnedInput};
use super::keys::{self, prefixed_env_name, KeyDef, KEYS};
use super::types::{Environment, LlmProvider};
use super::{Config, ConfigError, Problem, StorageConfig};

/// Where secrets are looked up in production (Docker/Podman/systemd credentials).
pub const DEFAULT_SECRETS_DIR: &str = "/run/secrets";

/// Config files tried in order when neither `--config` nor `SUMMARYBOT_CONFIG` is given; a
/// relative entry is resolved against the working directory.
pub const SEARCH_PATHS: [&str; 2] = ["summarybot.toml", "/etc/summarybot/config.toml"];

/// Name of the env file read next to the config file (or in the working directory).
const DOTENV: &str = ".env";

/// Inputs of [`load`]; everything the outside world contributes, so tests need no globals.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// `--config`: must exist when given.
    pub explicit_path: Option<&'a Path>,
    /// The process environment (`main` passes `std::env::vars()` collected).
    pub env: &'a HashMap<String, String>,
    /// Base for relative paths.
    pub cwd: &'a Path,
    /// Where production secrets are looked up ([`DEFAULT_SECRETS_DIR`] outside tests).
    pub secrets_dir: &'a Path,
}

impl<'a> LoadOptions<'a> {
    /// Options with no `--config` and the default secrets dir.
    pub fn new(env: &'a HashMap<String, String>, cwd: &'a Path) -> Self {
        Self {
            explicit_path: None,
            env,
            cwd,
            secrets_dir: Path::new(DEFAULT_SECRETS_DIR),
        }
    }
}

/// A loaded, not yet validated configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective settings; call [`Config::validate`] before use.
    pub config: Config,
    /// The config file read, if any (none found means pure defaults + environment).
    pub path: Option<PathBuf>,
    /// Things that work but should change (a renamed key's old name), each naming what to do.
    pub warnings: Vec<Problem>,
}

/// Find and read the config file and apply every overlay. Does not validate.
pub fn load(opts: &LoadOptions<'_>) -> Result<Loaded, ConfigError> {
    let path = locate(opts)?;
    let mut loader = Loader::new(opts.cwd);
    if let Some(path) = &path {
        let text = read(path)?;
        let table: Table = toml::from_str(&text).map_err(|err| ConfigError::Parse {
            path: path.clone(),
            message: err.to_string().trim_end().to_owned(),
        })?;
        loader.file = Some(SourceFile {
            label: path.display().to_string(),
            text,
        });
        loader.apply_table(&table);
    }
    let dotenv = path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(opts.cwd)
        .join(DOTENV);
    loader.apply_dotenv(&dotenv)?;
    env::apply(&mut loader, opts.env, None);
    if loader.config.environment == Environment::Production {
        loader.apply_secrets_dir(opts.secrets_dir);
    }
    let (config, warnings) = loader.finish();
    Ok(Loaded {
        config,
        path,
        warnings,
    })
}

/// The config file to read: `--config`, then `$SUMMARYBOT_CONFIG` (both must exist), then the
/// first of [`SEARCH_PATHS`] that exists, else none.
fn locate(opts: &LoadOptions<'_>) -> Result<Option<PathBuf>, ConfigError> {
    let named = opts.explicit_path.map(Path::to_path_buf).or_else(|| {
        opts.env
            .get(CONFIG_PATH)
            .filter(|value| !value.trim().is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = named {
        let path = opts.cwd.join(path);
        return if path.is_file() {
            Ok(Some(path))
        } else if path.exists() {
            Err(ConfigError::Io {
                path,
                source: std::io::Error::other(
                    "not a regular file (a directory or a device?): give the path of the TOML file",
                ),
            })
        } else {
            Err(ConfigError::NotFound { path })
        };
    }
    Ok(SEARCH_PATHS
        .iter()
        .map(|candidate| opts.cwd.join(candidate))
        .find(|candidate| candidate.is_file()))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES).map_err(|source| {
        ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// The config file's text, kept to point problems at a line.
struct SourceFile {
    label: String,
    text: String,
}

impl SourceFile {
    /// `"<file> line N"` for the dotted key `path`, when the key is found in the file.
    fn locate(&self, path: &str) -> Option<String> {
        let root = DeTable::parse(&self.text).ok()?;
        let mut table = root.get_ref();
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let (key, value) = table.iter().find(|(key, _)| key.get_ref() == part)?;
            if parts.peek().is_none() {
                let line = self.text[..key.span().start].matches('\n').count() + 1;
                return Some(format!("{} line {line}", self.label));
            }
            let DeValue::Table(inner) = value.get_ref() else {
                return None;
            };
            table = inner;
        }
        None
    }
}

/// A value given under a renamed key's old path; applied once every layer is read, so that the
/// new key wins wherever it is set.
struct RenamedValue {
    /// The old dotted path.
    old: &'static str,
    /// The key it sets now.
    key: &'static KeyDef,
    input: OwnedInput,
    /// The env var it came from, or the file and line.
    source: Option<String>,
    /// True when it came from an env var (`.env` or the process).
    from_env: bool,
}

/// The config being built, with what was set explicitly (for the derived defaults).
pub(crate) struct Loader {
    config: Config,
    explicit: HashSet<&'static str>,
    /// Base for relative secret-file paths.
    cwd: PathBuf,
    /// The config file, once read.
    file: Option<SourceFile>,
    /// Values given under old key names, in the order read.
    renamed: Vec<RenamedValue>,
    /// Warnings for [`Loaded::warnings`].
    warnings: Vec<Problem>,
}

impl Loader {
    fn new(cwd: &Path) -> Self {
        Self {
            config: Config::default(),
            explicit: HashSet::new(),
            cwd: cwd.to_path_buf(),
            file: None,
            renamed: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// `path` resolved against the working directory given to [`load`].
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        self.cwd.join(path)
    }

    /// Where in the config file `key` is, for problems with file values.
    fn file_location(&self, key: &str) -> Option<String> {
        self.file.as_ref().and_then(|file| file.locate(key))
    }

    /// Store one raw value; a value that does not convert becomes a problem naming the key,
    /// the value (never for secrets) and its source.
    pub(crate) fn set(&mut self, key: &'static KeyDef, input: Input<'_>, source: Option<String>) {
        match (key.set)(&mut self.config, input) {
            Ok(()) => {
                self.explicit.insert(key.path);
                // A file value's origin is its line, so that a later check points at it too.
                match source.or_else(|| self.file_location(key.path)) {
                    Some(source) => self.config.origins.insert(key.path, source),
                    None => self.config.origins.remove(key.path),
                };
            }
            Err(message) => {
                let source = source.or_else(|| self.file_location(key.path));
                let mut problem = Problem::new(key.path, message).with_source(source);
                if !key.is_secret() {
                    problem.value = Some(input.shown());
                }
                self.problem(problem);
            }
        }
    }

    /// Keep a value given under `old`, the old name of `key`, for [`Loader::finish`].
    /// `env_source` names the env var; `None` means the config file.
    pub(crate) fn set_renamed(
        &mut self,
        old: &'static str,
        key: &'static KeyDef,
        input: Input<'_>,
        env_source: Option<String>,
    ) {
        let from_env = env_source.is_some();
        let source = env_source.or_else(|| self.file_location(old));
        self.renamed.push(RenamedValue {
            old,
            key,
            input: OwnedInput::of(input),
            source,
            from_env,
        });
    }

    /// Apply the values given under old key names unless the new key is set too (the new key
    /// wins), each with a warning naming the new key.
    fn apply_renamed(&mut self) {
        let values = std::mem::take(&mut self.renamed);
        let set_by_new: HashSet<&str> = values
            .iter()
            .map(|value| value.key.path)
            .filter(|path| self.explicit.contains(path))
            .collect();
        for value in values {
            let new = value.key.path;
            let message = if set_by_new.contains(new) {
                format!(
                    "is ignored because {new} is also set (the new key wins); remove the old setting"
                )
            } else {
                self.set(value.key, value.input.as_input(), value.source.clone());
                let instead = if value.from_env {
                    format!("set {} instead", prefixed_env_name(new))
                } else {
                    let (section, leaf) = new.split_once('.').unwrap_or(("", new));
                    format!("move it to `{leaf}` in the [{section}] section")
                };
                format!("was renamed to {new}; the old name still works for now, but {instead}")
            };
            let mut warning = Problem::new(value.old, message).with_source(value.source);
            if !value.key.is_secret() {
                warning.value = Some(value.input.as_input().shown());
            }
            self.warnings.push(warning);
        }
    }

    /// Record a problem found while loading.
    pub(crate) fn problem(&mut self, problem: Problem) {
        self.config.load_problems.push(problem);
    }

    /// Apply the config file: top-level keys and one table per section.
    fn apply_table(&mut self, table: &Table) {
        for (name, value) in table {
            if let Some(key) = keys::find(name) {
                self.set(key, Input::Toml(value), None);
            } else if keys::is_section(name) {
                self.apply_section(name, value);
            } else {
                self.unknown(name, value.is_table());
            }
        }
    }

    fn apply_section(&mut self, section: &str, value: &Value) {
        let Some(table) = value.as_table() else {
            let message = format!("must be a [{section}] table, found {}", value.type_str());
            let source = self.file_location(section);
            self.problem(Problem::new(section, message).with_source(source));
            return;
        };
        for (name, value) in table {
            let path = format!("{section}.{name}");
            if let Some(key) = keys::find(&path) {
                self.set(key, Input::Toml(value), None);
            } else if let Some((old, key)) = keys::renamed(&path) {
                self.set_renamed(old, key, Input::Toml(value), None);
            } else {
                self.unknown(&path, false);
            }
        }
    }

    fn unknown(&mut self, path: &str, is_table: bool) {
        let (what, hint) = if is_table {
            ("section", keys::suggest(path, true))
        } else {
            ("key", keys::suggest(path, false))
        };
        let hint = hint
            .map(|known| format!("; did you mean `{known}`?"))
            .unwrap_or_default();
        let source = self.file_location(path);
        self.problem(Problem::new(path, format!("unknown {what}{hint}")).with_source(source));
    }

    /// Apply `.env` if it exists; its bad lines become problems.
    fn apply_dotenv(&mut self, path: &Path) -> Result<(), ConfigError> {
        if !path.is_file() {
            return Ok(());
        }
        let (vars, errors) = env::parse_dotenv(&read(path)?);
        let label = path.display().to_string();
        for (line, message) in errors {
            self.problem(Problem::new(format!("{label} line {line}"), message));
        }
        env::apply(self, &vars, Some(&label));
        Ok(())
    }

    /// Production only: a secret still empty is read from `<dir>/<name>` when that file exists.
    fn apply_secrets_dir(&mut self, dir: &Path) {
        for key in KEYS {
            let Some(secret) = &key.secret else { continue };
            if !(secret.get)(&self.config).is_empty() {
                continue;
            }
            let path = dir.join(secret.file);
            match env::read_secret_file(&path) {
                Ok(value) => self.set(key, Input::Text(&value), Some(path.display().to_string())),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => self.problem(
                    Problem::new(key.path, format!("cannot read the secret file: {err}"))
                        .with_source(Some(path.display().to_string())),
                ),
            }
        }
    }

    /// Apply the renamed keys' values, fill the defaults that depend on other keys and hand out
    /// the config with the warnings.
    fn finish(mut self) -> (Config, Vec<Problem>) {
        self.apply_renamed();
        if !self.explicit.contains("llm.provider") {
            self.config.llm.provider = if self.config.llm.api_key.is_empty() {
                LlmProvider::Builtin
            } else {
                LlmProvider::OpenAi
            };
        }
        if !self.explicit.contains("storage.path") {
            self.config.storage.path = StorageConfig::default_path(self.config.environment);
        }
        (self.config, self.warnings)
    }
}
