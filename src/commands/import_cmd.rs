//! `summarybot import FILE...`: load DiscordChatExporter exports into the database.

use crate::channel_summary::{Admission, Barred};
use crate::cli::ImportArgs;
use crate::config::{Config, Scope};
use crate::import::{self, ReadOptions};
use crate::model::Timestamp;
use crate::store::Store;

use super::output::outln;
use super::{Context, Failure};

/// Messages written per database transaction while importing.
const BATCH: usize = 2_000;

/// Run `import`: every file is attempted; a failed file is reported and the others still load.
pub fn run(ctx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = ctx.store(&config)?;
    let admission = Admission::load(&config, std::sync::Arc::clone(&store)).map_err(|e| {
        Failure::Runtime(anyhow::anyhow!("cannot read the per-server settings: {e}"))
    })?;
    let mut failed = 0;
    for path in &args.files {
        if let Err(message) = import_file(&config, &store, &admission, path) {
            eprintln!("error: {message}");
            failed += 1;
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Runtime(anyhow::anyhow!(
            "{failed} of {} file(s) could not be imported completely (see above)",
            args.files.len()
        )))
    }
}

/// Import one file; on failure, say how much of it was stored before the problem.
fn import_file(
    config: &Config,
    store: &Store,
    admission: &Admission,
    path: &std::path::Path,
) -> Result<(), String> {
    let mut barred: Option<Option<Barred>> = None;
    let retention_days = config.storage.retention_days;
    let cutoff = (retention_days > 0)
        .then(|| Timestamp(Timestamp::now().millis() - i64::from(retention_days) * 86_400_000));
    let mut stored = 0usize;
    let mut too_old = 0usize;
    let mut channel_saved = false;
    let result = import::stream_export(
        path,
        &ReadOptions { progress: true },
        BATCH,
        |channel, batch| -> Result<(), String> {
            let reason = barred.get_or_insert_with(|| admission.check(channel).err());
            if reason.is_some() {
                return Ok(());
            }
            if !channel_saved {
                store.put_channel(channel).map_err(|e| e.to_string())?;
                channel_saved = true;
            }
            if let Some(cutoff) = cutoff {
                too_old += batch.iter().filter(|m| m.timestamp < cutoff).count();
            }
            stored += store.upsert_messages(&batch).map_err(|e| e.to_string())?;
            Ok(())
        },
    );
    let (channel, stats) = match result {
        Ok(done) => done,
        Err(e) if stored > 0 => {
            return Err(format!(
                "{e}\n  ({stored} message(s) before the problem were stored; fix the file and import it again — \
                 messages already stored are replaced, not duplicated)"
            ))
        }
        Err(e) => return Err(e.to_string()),
    };
    let reason = barred.unwrap_or_else(|| admission.check(&channel).err());
    if let Some(reason) = reason {
        outln!(
            "{}: skipped: channel #{} ({}): {reason}",
            path.display(),
            channel.name,
            channel.id
        );
        return Ok(());
    }
    outln!(
        "{}: imported {stored} message(s) into #{} ({}); {} duplicate(s), {} unreadable message(s) skipped",
        path.display(),
        channel.name,
        channel.id,
        stats.duplicates,
        stats.skipped
    );
    if too_old > 0 {
        eprintln!(
            "warning: {too_old} of these messages are older than storage.retention_days ({retention_days}) \
             and will be deleted by the next prune; set storage.retention_days = 0 (keep forever) or a \
             larger value to keep them"
        );
    }
    Ok(())
}
