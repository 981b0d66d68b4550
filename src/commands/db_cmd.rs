//! `summarybot db stats|prune|verify|backup`.

use std::path::Path;

use anyhow::anyhow;

use crate::cli::DbCommand;
use crate::config::{Config, Scope};
use crate::model::Timestamp;
use crate::store::{Store, StoreError};

use super::output::outln;
use super::{db_backup, Context, Failure};

/// Run a `db` subcommand.
pub fn run(ctx: &Context, cmd: &DbCommand) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    match cmd {
        DbCommand::Stats => stats(&*ctx.store(&config)?),
        DbCommand::Prune => prune(&*ctx.store(&config)?, &config),
        DbCommand::Verify { path } => verify(path.as_deref().unwrap_or(&config.storage.path)),
        DbCommand::Backup { path } => db_backup::run(&config, path),
    }
}

/// `db stats`.
fn stats(store: &Store) -> Result<(), Failure> {
    let stats = store.stats().map_err(anyhow::Error::from)?;
    outln!("database:       {}", stats.path.display());
    outln!("file size:      {}", human_bytes(stats.file_bytes));
    outln!("schema version: {}", stats.schema_version);
    outln!();
    outln!("{:<24} {:>12}", "table", "rows");
    for (name, rows) in &stats.tables {
        outln!("{name:<24} {rows:>12}");
    }
    Ok(())
}

/// `db prune`.
fn prune(store: &Store, config: &Config) -> Result<(), Failure> {
    let now = Timestamp::now();
    let days = config.storage.retention_days;
    let pruned = if days == 0 {
        outln!("storage.retention_days = 0: messages are kept forever");
        0
    } else {
        let cutoff = Timestamp(now.millis() - i64::from(days) * 86_400_000);
        store
            .prune_messages_before(cutoff)
            .map_err(anyhow::Error::from)?
    };
    let keys = store
        .purge_expired_idempotency_keys(now)
        .map_err(anyhow::Error::from)?;
    let votes = store.prune_feedback(now).map_err(anyhow::Error::from)?;
    outln!(
        "pruned {pruned} message(s) older than {days} day(s), {keys} expired idempotency key(s) \
         and {votes} feedback vote(s) older than {} days",
        crate::store::FEEDBACK_DAYS
    );
    Ok(())
}

/// `db verify`: exit 0 with a summary, or 1 saying what is wrong and what to do.
fn verify(path: &Path) -> Result<(), Failure> {
    let report = Store::verify_file(path).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow!(
            "{e}. `db verify` needs the file to itself: stop the service first, or check a copy \
             (`summarybot db backup /tmp/check.redb && summarybot db verify /tmp/check.redb`)"
        ),
        other => anyhow!("{} failed verification: {other}", path.display()),
    })?;
    let c = &report.consistency;
    outln!("database:  {}", path.display());
    outln!("file size: {}", human_bytes(report.stats.file_bytes));
    outln!("pages:     every checksum matches");
    outln!(
        "records:   {} messages, {} jobs, {} cached summaries, {} idempotency keys, {} feedback votes",
        c.messages,
        c.jobs,
        c.cached_summaries,
        c.idempotency_keys,
        c.feedback_votes
    );
    outln!(
        "           {} schedules, {} personal digests, {} server settings, {} channels",
        c.schedules,
        c.subscriptions,
        c.server_settings,
        c.channels
    );
    if c.is_ok() {
        outln!("indexes:   consistent");
        return Ok(());
    }
    for problem in &c.problems {
        outln!("problem:   {problem}");
    }
    Err(Failure::Runtime(anyhow!(
        "{} has {} problem(s) in its records or indexes; restore a backup made with \
         `summarybot db backup` before the damage, or move the file away to start with an empty \
         database",
        path.display(),
        c.problem_count
    )))
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn formats_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
