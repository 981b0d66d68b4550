//! `summarybot import FILE...`: load DiscordChatExporter exports into the database.

use crate::cli::ImportArgs;
use crate::config::Scope;
use crate::import::{self, ReadOptions};

use super::output::outln;
use super::{open_store, Context, Failure};

/// Messages written per database transaction while importing.
const BATCH: usize = 2_000;

/// Run `import`.
pub fn run(ctx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = open_store(&config)?;
    let excluded = &config.summary.exclude_channels;
    for path in &args.files {
        let mut stored = 0usize;
        let mut channel_saved = false;
        let (channel, stats) = import::stream_export(
            path,
            &ReadOptions { progress: true },
            BATCH,
            |channel, batch| -> Result<(), String> {
                if excluded.contains(&channel.id) {
                    return Ok(());
                }
                if !channel_saved {
                    store.put_channel(channel).map_err(|e| e.to_string())?;
                    channel_saved = true;
                }
                stored += store.upsert_messages(&batch).map_err(|e| e.to_string())?;
                Ok(())
            },
        )
        .map_err(|e| Failure::Runtime(e.into()))?;
        if excluded.contains(&channel.id) {
            outln!(
                "{}: skipped: channel #{} ({}) is in summary.exclude_channels",
                path.display(),
                channel.name,
                channel.id
            );
            continue;
        }
        outln!(
            "{}: imported {stored} message(s) into #{} ({}); {} duplicate(s), {} unreadable message(s) skipped",
            path.display(),
            channel.name,
            channel.id,
            stats.duplicates,
            stats.skipped
        );
    }
    Ok(())
}
