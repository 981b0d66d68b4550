//! Subcommand implementations: each turns parsed CLI arguments into calls on the library.

mod config_cmd;
mod db_backup;
mod db_cmd;
mod dry_run;
mod forget_cmd;
mod import_cmd;
pub mod output;
mod remote;
mod run_cmd;
mod schedule_cmd;
mod status_cmd;
mod summarize_cmd;
mod update_cmd;
mod usage_cmd;
mod webhook_cmd;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{Cli, Command, LogFormatArg};
use crate::config::{self, Config, LoadOptions, Scope};
use crate::logging;
use crate::store::Store;

/// Where production secrets are mounted (Docker/Podman/systemd credentials).
const SECRETS_DIR: &str = "/run/secrets";

/// Why a command failed; decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or configuration: exit 2.
    Usage(String),
    /// The command ran and failed: exit 1.
    Runtime(anyhow::Error),
    /// The database is held by the running service (exit 1); the commands it can run for us
    /// are sent to it over the control socket instead.
    Held(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Runtime(_) | Self::Held(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(msg) | Self::Held(msg) => f.write_str(msg),
            // `{:#}` prints the whole context chain on one line: "loading X: file not found".
            Self::Runtime(err) => write!(f, "{err:#}"),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::Runtime(err)
    }
}

/// What every command may need: the global flags and the process environment.
pub struct Context {
    config_path: Option<PathBuf>,
    log_level: Option<String>,
    log_format: Option<LogFormatArg>,
    env: HashMap<String, String>,
    cwd: PathBuf,
    command: &'static str,
    /// Inside the service (a command sent over the control socket): its configuration and its
    /// open database, used instead of loading and opening them.
    service: Option<(Config, Arc<Store>)>,
}

impl Context {
    /// Build the context from the parsed command line and the real process environment.
    pub fn from_cli(cli: &Cli) -> Self {
        Self {
            config_path: cli.config.clone(),
            log_level: cli.log_level.clone(),
            log_format: cli.log_format,
            env: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            command: command_name(&cli.command),
            service: None,
        }
    }

    /// The context of a command the running service runs for a local client: the service's
    /// configuration and database (the client's flags are not used).
    pub fn inside_service(cli: &Cli, config: Config, store: Arc<Store>) -> Self {
        Self {
            config_path: None,
            log_level: None,
            log_format: None,
            env: HashMap::new(),
            cwd: PathBuf::from("."),
            command: command_name(&cli.command),
            service: Some((config, store)),
        }
    }

    /// The database: the service's when running inside it, else opened now. While the running
    /// service holds it, [`Failure::Held`].
    pub fn store(&self, config: &Config) -> Result<Arc<Store>, Failure> {
        if let Some((_, store)) = &self.service {
            return Ok(Arc::clone(store));
        }
        open_store(config).map(Arc::new)
    }

    /// Like [`Context::store`], opened with a small page cache when opened now: for a command
    /// that reads its window once ([`Store::open_for_one_read`]).
    pub fn store_for_one_read(&self, config: &Config) -> Result<Arc<Store>, Failure> {
        if let Some((_, store)) = &self.service {
            return Ok(Arc::clone(store));
        }
        opened(config, Store::open_for_one_read(&config.storage.path)).map(Arc::new)
    }

    /// Load the configuration (file, `.env`, environment, secret files) and validate it for `scope`.
    /// Every problem is reported at once, as a usage failure (exit 2).
    pub fn config(&self, scope: Scope) -> Result<Config, Failure> {
        self.config_with(scope, |_| {})
    }

    /// Like [`Context::config`], applying command-line overrides before validation.
    pub fn config_with(
        &self,
        scope: Scope,
        overrides: impl FnOnce(&mut Config),
    ) -> Result<Config, Failure> {
        if let Some((config, _)) = &self.service {
            let mut config = config.clone();
            overrides(&mut config);
            return Ok(config);
        }
        let mut loaded = self.load()?;
        overrides(&mut loaded.config);
        let problems = loaded.config.validate(scope);
        if problems.is_empty() {
            Ok(loaded.config)
        } else {
            Err(Failure::Usage(problem_report(
                loaded.path.as_deref(),
                &problems,
            )))
        }
    }

    /// Load without validating (for `config show` and `config check`). Warnings (a renamed key's
    /// old name) go to stderr at once: logging is not set up before the config is known.
    fn load(&self) -> Result<config::Loaded, Failure> {
        let opts = LoadOptions {
            explicit_path: self.config_path.as_deref(),
            env: &self.env,
            cwd: &self.cwd,
            secrets_dir: Path::new(SECRETS_DIR),
        };
        let loaded = config::load(&opts).map_err(|e| Failure::Usage(e.to_string()))?;
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
        Ok(loaded)
    }

    /// Start logging at the level from `--log-level`, else the config; format likewise. Returns
    /// the entered `command` span, so every log line of the command carries `command=<name>`.
    #[must_use = "the span ends when the returned guard is dropped"]
    pub fn init_logging(&self, config: &Config) -> tracing::span::EnteredSpan {
        if self.service.is_some() {
            // The service's logging is set up already.
            return tracing::info_span!("control", command = self.command).entered();
        }
        let level = self
            .log_level
            .as_deref()
            .and_then(|l| l.parse::<config::LogLevel>().ok())
            .unwrap_or(config.logging.level);
        let format = match self.log_format {
            Some(LogFormatArg::Json) => logging::Format::Json,
            Some(LogFormatArg::Text) => logging::Format::Text,
            None => match config.logging.format {
                config::LogFormat::Json => logging::Format::Json,
                config::LogFormat::Text => logging::Format::Text,
            },
        };
        logging::init(level.as_filter(), format);
        tracing::info_span!("cmd", command = self.command).entered()
    }

    /// Reject a `--log-level` that is not a level, before anything else runs.
    fn check_flags(&self) -> Result<(), Failure> {
        if let Some(level) = &self.log_level {
            level
                .parse::<config::LogLevel>()
                .map_err(|e| Failure::Usage(format!("--log-level: {e}")))?;
        }
        Ok(())
    }
}

/// The subcommand's name for log fields.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Run => "run",
        Command::Summarize(_) => "summarize",
        Command::Import(_) => "import",
        Command::Schedule(_) => "schedule",
        Command::Config(_) => "config",
        Command::Db(_) => "db",
        Command::Usage(_) => "usage",
        Command::Forget(_) => "forget",
        Command::Webhook(_) => "webhook",
        Command::Status(_) => "status",
        Command::Update(_) => "update",
        Command::Healthcheck => "healthcheck",
        Command::Completions { .. } => "completions",
    }
}

/// "configuration problems in X:" followed by one line per problem.
fn problem_report(path: Option<&Path>, problems: &[config::Problem]) -> String {
    let source = path.map_or_else(
        || "defaults and environment (no config file found)".to_string(),
        |p| p.display().to_string(),
    );
    let mut out = format!(
        "{} configuration problem{} in {source}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}

/// Open the database named by the configuration, with a message that says what to do on failure.
pub fn open_store(config: &Config) -> Result<Store, Failure> {
    opened(config, Store::open(&config.storage.path))
}

/// Like [`open_store`], verifying every page's checksum first, so a damaged file is refused
/// before anything reads it (for `run`).
pub fn open_store_verified(config: &Config) -> Result<Store, Failure> {
    opened(config, Store::open_verified(&config.storage.path))
}

/// The outcome of an open, its error saying which file and what to do.
fn opened(
    config: &Config,
    result: Result<Store, crate::store::StoreError>,
) -> Result<Store, Failure> {
    result.map_err(|e| match e {
        crate::store::StoreError::Locked { .. } => Failure::Held(format!(
            "cannot open the database {}: {e}",
            config.storage.path.display()
        )),
        other => Failure::Runtime(anyhow::anyhow!(
            "cannot open the database {}: {other}",
            config.storage.path.display()
        )),
    })
}

/// A single-purpose tokio runtime for commands that do async work.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("summarybot")
        .build()
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot start the async runtime: {e}")))
}

/// Run the parsed command. One the database lock refuses because the service runs is sent to
/// the service, when it can run it ([`remote`]).
pub fn execute(cli: Cli) -> Result<(), Failure> {
    let ctx = Context::from_cli(&cli);
    ctx.check_flags()?;
    let forwardable = remote::forwardable(&cli.command);
    match dispatch(&ctx, cli.command) {
        Err(Failure::Held(why)) if forwardable => remote::through_service(&ctx, &why),
        other => other,
    }
}

/// Run one command in `ctx`.
fn dispatch(ctx: &Context, command: Command) -> Result<(), Failure> {
    match command {
        Command::Run => run_cmd::run(ctx),
        Command::Summarize(args) => summarize_cmd::run(ctx, &args),
        Command::Import(args) => import_cmd::run(ctx, &args),
        Command::Schedule(cmd) => schedule_cmd::run(ctx, &cmd),
        Command::Config(cmd) => config_cmd::run(ctx, &cmd),
        Command::Db(cmd) => db_cmd::run(ctx, &cmd),
        Command::Usage(args) => usage_cmd::run(ctx, &args),
        Command::Forget(args) => forget_cmd::run(ctx, &args),
        Command::Webhook(cmd) => webhook_cmd::run(ctx, &cmd),
        Command::Status(cmd) => status_cmd::run(&cmd),
        Command::Update(args) => update_cmd::run(ctx, &args),
        Command::Healthcheck => update_cmd::healthcheck(ctx),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "summarybot", &mut script);
            output::write(&String::from_utf8_lossy(&script));
            Ok(())
        }
    }
}
