//! `summarybot schedule add|list|remove|pause|resume`, on the same database as the service.
//!
//! The database is locked while `summarybot run` is running; these commands then refuse with a
//! clear message (stop the service, or use `/schedule` in Discord or the webhook's
//! `schedule_update`, which the running service applies at once).

use crate::cli::{ScheduleAddArgs, ScheduleCommand};
use crate::config::{Config, Scope};
use crate::discord::access;
use crate::model::{ChannelId, Detail, GuildId, Schedule, Timestamp};
use crate::schedule::ops::{self, OpError};
use crate::schedule::{parse_detail, parse_kind, Draft, Field, Invalid, Rules};
use crate::store::Store;

use super::output::outln;
use super::{Context, Failure};

/// Run a `schedule` subcommand.
pub fn run(ctx: &Context, cmd: &ScheduleCommand) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let now = Timestamp::now();
    // Check the arguments before touching the database, so a typo is reported even while the
    // service holds the lock.
    let draft = match cmd {
        ScheduleCommand::Add(args) => Some(draft(&config, args, now)?),
        _ => None,
    };
    if let Some(d) = &draft {
        check_post_to(&config, d.target_channel)?;
    }
    let store = ctx.store(&config).map_err(|failure| match failure {
        // Only `schedule list` goes through the service; changes have their own routes there.
        Failure::Held(why) if !matches!(cmd, ScheduleCommand::List) => {
            Failure::Runtime(anyhow::anyhow!(
            "{why}. While `summarybot run` is running, change schedules with /schedule in Discord \
             or the webhook's schedule_update instead (the service applies them at once)"
        ))
        }
        other => other,
    })?;
    match (cmd, draft) {
        (ScheduleCommand::Add(_), Some(draft)) => {
            let s = ops::create(&store, draft, &Rules::of(&config), now).map_err(failure)?;
            outln!(
                "added schedule {}: \"{}\" in {}, next run {}",
                s.id,
                s.cron,
                s.timezone,
                ops::next_run_text(&s)
            );
        }
        (ScheduleCommand::List, _) => list(&store)?,
        (ScheduleCommand::Remove { id }, _) => {
            ops::remove(&store, *id, None).map_err(failure)?;
            outln!("removed schedule {id}");
        }
        (ScheduleCommand::Pause { id }, _) => {
            ops::set_enabled(&store, *id, None, false, now).map_err(failure)?;
            outln!("schedule {id} paused");
        }
        (ScheduleCommand::Resume { id }, _) => {
            let s = ops::set_enabled(&store, *id, None, true, now).map_err(failure)?;
            outln!("schedule {id} resumed, next run {}", ops::next_run_text(&s));
        }
        (ScheduleCommand::Add(_), None) => {}
    }
    Ok(())
}

/// The validated schedule `add` asks for.
fn draft(config: &Config, args: &ScheduleAddArgs, now: Timestamp) -> Result<Draft, Failure> {
    let kind = args
        .kind
        .as_deref()
        .map(parse_kind)
        .transpose()
        .map_err(|e| usage(&e))?;
    let mut draft = Draft {
        guild_id: GuildId(args.guild),
        source_channels: args.channels.iter().copied().map(ChannelId).collect(),
        target_channel: ChannelId(args.post_to),
        cron: args.cron.clone(),
        timezone: args.timezone.clone(),
        window_hours: args.hours,
        kind,
        language: args.language.clone(),
        detail: args
            .detail
            .as_deref()
            .map(parse_detail)
            .transpose()
            .map_err(|e| usage(&e))?
            .unwrap_or_default(),
        quiet_day: args.quiet_day,
        created_by: "cli".to_owned(),
    };
    draft
        .validate(&Rules::of(config), now)
        .map_err(|e| usage(&e))?;
    Ok(draft)
}

/// Refuse `--post-to` where the bot lacks a permission to post digests, asked of Discord when
/// it is configured; when Discord cannot be asked, a warning and the schedule is added.
fn check_post_to(config: &Config, target: ChannelId) -> Result<(), Failure> {
    if !config.discord.enabled || config.discord.token.expose().is_empty() {
        return Ok(());
    }
    let poster = crate::discord::poster(config).map_err(|e| Failure::Usage(e.to_string()))?;
    let answer = super::runtime()?.block_on(access::missing_to_post(&poster, target));
    match answer {
        Ok(None) => Ok(()),
        Ok(Some(p)) => Err(Failure::Usage(format!(
            "--post-to: {}",
            access::cannot_post_summaries(p, target)
        ))),
        Err(e) => {
            eprintln!(
                "warning: could not check the bot's permissions in channel {target} ({e});                  adding the schedule unchecked"
            );
            Ok(())
        }
    }
}

fn list(store: &Store) -> Result<(), Failure> {
    let schedules = ops::list(store, None).map_err(anyhow::Error::from)?;
    if schedules.is_empty() {
        outln!("no schedules");
        return Ok(());
    }
    outln!(
        "{:>4}  {:<6}  {:<20} {:<18} {:<28} next run",
        "id",
        "state",
        "cron",
        "zone",
        "channels -> target"
    );
    for s in &schedules {
        outln!("{}", row(s));
        if s.detail != Detail::default() {
            outln!("      detail: {}", s.detail);
        }
        if let Some(outcome) = &s.last_outcome {
            outln!("      last digest: {outcome}");
        }
        if let Some(error) = &s.last_error {
            outln!("      last error: {error}");
        }
    }
    Ok(())
}

/// One line of `schedule list`.
fn row(s: &Schedule) -> String {
    let channels: Vec<String> = s.source_channels.iter().map(ToString::to_string).collect();
    format!(
        "{:>4}  {:<6}  {:<20} {:<18} {:<28} {}",
        s.id,
        if s.enabled { "active" } else { "paused" },
        s.cron,
        s.timezone,
        format!("{} -> {}", channels.join(","), s.target_channel),
        ops::next_run_text(s),
    )
}

/// A validation error, naming the flag to fix.
fn usage(e: &Invalid) -> Failure {
    let flag = match e.field {
        Field::Guild => "--guild",
        Field::Cron => "--cron",
        Field::Timezone => "--timezone",
        Field::Channels => "--channel",
        Field::PostTo => "--post-to",
        Field::Hours => "--hours",
        Field::Language => "--language",
        Field::Kind => "--kind",
        Field::Detail => "--detail",
    };
    Failure::Usage(format!("{flag}: {}", e.message))
}

fn failure(e: OpError) -> Failure {
    match e {
        OpError::Invalid(e) => usage(&e),
        OpError::NotFound(id) => Failure::Usage(format!(
            "no schedule with id {id}; `summarybot schedule list` shows the ids"
        )),
        OpError::TooMany => Failure::Usage(e.to_string()),
        OpError::Store(e) => Failure::Runtime(anyhow::Error::from(e)),
    }
}
