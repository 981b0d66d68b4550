//! Commands beside the running service: the database lock lets one process open the file, so
//! while `summarybot run` holds it, the read-only commands below are sent to the service over
//! its control socket ([`crate::control`]) and run there, on its database, with the same output.
//! The socket is owner-only: the service user and root can use it, nobody else.

use std::sync::Arc;

use anyhow::anyhow;

use super::{dispatch, output, Context, Failure};
use crate::cli::{Cli, Command, DbCommand, ScheduleCommand};
use crate::config::{Config, Scope};
use crate::control::{Answer, CommandRunner};
use crate::store::Store;

/// Whether the service runs `command` for a client: the read-only commands that need the
/// database (`schedule list`, `usage`, `db stats`, `summarize --channel`), and `forget` (a
/// member's request that cannot wait for a restart).
pub fn forwardable(command: &Command) -> bool {
    match command {
        Command::Schedule(ScheduleCommand::List)
        | Command::Usage(_)
        | Command::Forget(_)
        | Command::Db(DbCommand::Stats) => true,
        Command::Summarize(args) => args.channel.is_some(),
        _ => false,
    }
}

/// Send this process's command line to the running service and relay its answer; `held` is
/// the error to report when no service answers.
pub fn through_service(ctx: &Context, held: &str) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let socket = crate::control::socket_path(&config.storage.path);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let answer = crate::control::run_command(&socket, &args).map_err(|why| {
        Failure::Held(format!("{held}; asking the running service failed: {why}"))
    })?;
    output::write(&answer.output);
    match (answer.exit, answer.error) {
        (0, _) => Ok(()),
        (2, error) => Err(Failure::Usage(error.unwrap_or_default())),
        (_, error) => Err(Failure::Runtime(anyhow!(
            "{}",
            error.unwrap_or_else(|| "the command failed in the service".into())
        ))),
    }
}

/// What the service runs for a client: the command line parsed as the CLI would, refused unless
/// [`forwardable`], run on the service's configuration and database with its output collected.
pub fn runner(config: Config, store: Arc<Store>) -> CommandRunner {
    Arc::new(move |args: &[String]| run_here(&config, &store, args))
}

fn run_here(config: &Config, store: &Arc<Store>, args: &[String]) -> Answer {
    let refused = |exit: u8, error: String| Answer {
        output: String::new(),
        error: Some(crate::redact::redacted(&error)),
        exit,
    };
    let command_line = std::iter::once("summarybot".to_string()).chain(args.iter().cloned());
    let cli = match <Cli as clap::Parser>::try_parse_from(command_line) {
        Ok(cli) => cli,
        Err(e) => return refused(2, e.to_string()),
    };
    if !forwardable(&cli.command) {
        return refused(
            2,
            "the running service runs only `schedule list`, `usage`, `db stats`, \
             `summarize --channel` and `forget` for the command line; stop it for the others"
                .into(),
        );
    }
    let ctx = Context::inside_service(&cli, config.clone(), Arc::clone(store));
    // A bug in the command fails this command alone, as in a request or a job.
    let (result, output) = output::capture(|| {
        let _inside = crate::panic_policy::Boundary::enter();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(&ctx, cli.command)))
            .unwrap_or_else(|panic| {
                Err(Failure::Runtime(anyhow!(
                    "the command failed inside the service ({}); see its log",
                    crate::panic_policy::message(panic.as_ref())
                )))
            })
    });
    match result {
        Ok(()) => Answer {
            output,
            error: None,
            exit: 0,
        },
        Err(failure) => Answer {
            output,
            error: Some(crate::redact::redacted(&failure.to_string())),
            exit: match failure {
                Failure::Usage(_) => 2,
                Failure::Runtime(_) | Failure::Held(_) => 1,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(store: &Arc<Store>, args: &[&str]) -> Answer {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        run_here(&Config::default(), store, &args)
    }

    #[test]
    fn read_only_commands_run_on_the_services_store_and_others_are_refused() {
        let (_dir, store) = crate::store::test_support::temp_store();
        let store = Arc::new(store);
        let stats = answer(&store, &["db", "stats"]);
        assert_eq!((stats.exit, &stats.error), (0, &None));
        assert!(stats.output.contains("messages"), "{}", stats.output);
        let list = answer(&store, &["schedule", "list"]);
        assert_eq!(list.exit, 0, "{list:?}");
        for refused in [
            vec!["db", "prune"],
            vec!["import", "x.json"],
            vec!["schedule", "remove", "1"],
            vec!["run"],
            vec!["summarize", "--input", "x.json"],
        ] {
            let a = answer(&store, &refused);
            assert_eq!(a.exit, 2, "{refused:?}: {a:?}");
            assert!(
                a.error.as_deref().is_some_and(|e| e.contains("runs only")),
                "{a:?}"
            );
        }
        let bad = answer(&store, &["db", "--nope"]);
        assert_eq!(bad.exit, 2, "{bad:?}");
    }
}
