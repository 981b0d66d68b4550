//! `summarybot db stats|prune`.

use crate::cli::DbCommand;
use crate::config::Scope;
use crate::model::Timestamp;

use super::output::outln;
use super::{open_store, Context, Failure};

/// Run a `db` subcommand.
pub fn run(ctx: &Context, cmd: &DbCommand) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = open_store(&config)?;
    match cmd {
        DbCommand::Stats => {
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
        DbCommand::Prune => {
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
            outln!(
                "pruned {pruned} message(s) older than {days} day(s) and {keys} expired idempotency key(s)"
            );
            Ok(())
        }
    }
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
