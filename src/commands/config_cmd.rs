//! `summarybot config init|check|show`.

use crate::cli::ConfigCommand;
use crate::config::{self, Scope};

use super::output::outln;
use super::{problem_report, Context, Failure};

/// Run a `config` subcommand.
pub fn run(ctx: &Context, cmd: &ConfigCommand) -> Result<(), Failure> {
    match cmd {
        ConfigCommand::Init { path } => match config::write_example(path) {
            Ok(()) => {
                outln!(
                    "wrote {} — fill in discord.token (and llm settings), then run `summarybot config check`",
                    path.display()
                );
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Failure::Usage(format!(
                "{} already exists; not overwriting it (move it away first to get a fresh example)",
                path.display()
            )))
            }
            Err(e) => Err(Failure::Runtime(anyhow::anyhow!(
                "cannot write {}: {e}",
                path.display()
            ))),
        },
        ConfigCommand::Check => {
            let loaded = ctx.load()?;
            let problems = loaded.config.validate(Scope::Full);
            if problems.is_empty() {
                let source = loaded.path.as_deref().map_or_else(
                    || "defaults (no config file found)".to_string(),
                    |p| p.display().to_string(),
                );
                outln!("configuration OK ({source})");
                Ok(())
            } else {
                Err(Failure::Usage(problem_report(
                    loaded.path.as_deref(),
                    &problems,
                )))
            }
        }
        ConfigCommand::Show => {
            let loaded = ctx.load()?;
            if let Some(path) = &loaded.path {
                outln!(
                    "# effective configuration from {} + .env + environment",
                    path.display()
                );
            } else {
                outln!("# effective configuration: defaults + environment (no config file found)");
            }
            super::output::write(&loaded.config.to_redacted_toml());
            // Values that did not parse are shown at their defaults above: say so, and fail.
            let problems = loaded.config.validate(Scope::Offline);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(Failure::Usage(problem_report(
                    loaded.path.as_deref(),
                    &problems,
                )))
            }
        }
    }
}
