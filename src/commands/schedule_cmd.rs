//! `summarybot schedule add|list|remove|pause|resume`, on the same database as the service.
//!
//! The database is locked while `summarybot run` is running; these commands then refuse with a
//! clear message (stop the service, or use the webhook's `schedule_update`).

use crate::cli::ScheduleCommand;
use crate::config::Scope;
use crate::store::Store;

use super::output::outln;
use super::{open_store, Context, Failure};

/// Run a `schedule` subcommand.
pub fn run(ctx: &Context, cmd: &ScheduleCommand) -> Result<(), Failure> {
    if let ScheduleCommand::Add(_) = cmd {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "adding schedules is not available in this build yet: cron parsing and time zones arrive \
             with the scheduler; `schedule list|remove|pause|resume` already work"
        )));
    }
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = open_store(&config)?;
    match cmd {
        ScheduleCommand::Add(_) => Ok(()),
        ScheduleCommand::List => list(&store),
        ScheduleCommand::Remove { id } => {
            if store.delete_schedule(*id).map_err(anyhow::Error::from)? {
                outln!("removed schedule {id}");
                Ok(())
            } else {
                Err(not_found(*id))
            }
        }
        ScheduleCommand::Pause { id } => set_enabled(&store, *id, false),
        ScheduleCommand::Resume { id } => set_enabled(&store, *id, true),
    }
}

fn list(store: &Store) -> Result<(), Failure> {
    let schedules = store.schedules().map_err(anyhow::Error::from)?;
    if schedules.is_empty() {
        outln!("no schedules");
        return Ok(());
    }
    outln!(
        "{:>4}  {:<8} {:<20} {:<16} {:<22} {:<20}",
        "id",
        "state",
        "cron",
        "zone",
        "channels -> target",
        "next run"
    );
    for s in schedules {
        let channels: Vec<String> = s.source_channels.iter().map(ToString::to_string).collect();
        outln!(
            "{:>4}  {:<8} {:<20} {:<16} {:<22} {:<20}",
            s.id,
            if s.enabled { "active" } else { "paused" },
            s.cron,
            s.timezone,
            format!("{} -> {}", channels.join(","), s.target_channel),
            s.next_run
                .map_or_else(|| "-".to_string(), |t| t.to_string()),
        );
    }
    Ok(())
}

fn set_enabled(store: &Store, id: u64, enabled: bool) -> Result<(), Failure> {
    let Some(mut schedule) = store.schedule(id).map_err(anyhow::Error::from)? else {
        return Err(not_found(id));
    };
    schedule.enabled = enabled;
    store
        .update_schedule(&schedule)
        .map_err(anyhow::Error::from)?;
    outln!(
        "schedule {id} {}",
        if enabled { "resumed" } else { "paused" }
    );
    Ok(())
}

fn not_found(id: u64) -> Failure {
    Failure::Usage(format!(
        "no schedule with id {id}; `summarybot schedule list` shows the ids"
    ))
}
