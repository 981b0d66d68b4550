//! `/summarybot settings|optout|optin|usage`: per-server settings, channel opt-out and opt-in,
//! and the usage and cost report. Permission checks run first (Manage Server, or Manage Channels
//! on the channel); every answer is ephemeral and mentions nobody. A member's own
//! `forget-me|optin-me|my-data` are parsed and answered by [`super::privacy_cmd`].

use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};
use serenity::all::{
    ChannelId as SChannelId, CommandDataOption, CommandDataOptionValue, CommandInteraction,
};

use super::interaction::PrivateAnswer;
use super::permissions::{self, MANAGE_CHANNELS, MANAGE_GUILD};
use super::Shared;
use crate::model::{ChannelId, GuildId, UserId};
use crate::settings::{self, Change, SettingsError};
use crate::usage::{self, Periods, Pricing};

/// Discord's limit on a message's content.
const MAX_CONTENT: usize = 2000;

/// The `/summarybot` command definition: the server's subcommands and a member's own
/// (`forget-me`, `optin-me`, `my-data`).
pub fn definition() -> Value {
    let mut def = server_definition();
    if let Some(options) = def["options"].as_array_mut() {
        options.extend(super::privacy_cmd::subcommands());
    }
    def
}

/// The subcommands about the server (settings, channel opt-out, usage).
fn server_definition() -> Value {
    let resettable: Vec<Value> = settings::RESETTABLE
        .iter()
        .map(|n| json!({"name": n, "value": n}))
        .collect();
    let kinds: Vec<Value> = ["general", "dev", "auto"]
        .iter()
        .map(|n| json!({"name": n, "value": n}))
        .collect();
    let text_channels = json!([0, 5, 15]);
    json!({
        "name": "summarybot", "type": 1, "contexts": [0],
        "description": "Server settings, channel opt-out, usage, and your own data in the summary bot",
        "options": [
            {"type": 1, "name": "settings",
             "description": "Show the server's settings, or change them (Manage Server)",
             "options": [
                {"type": 3, "name": "language", "description": "Language summaries are written in, e.g. German",
                    "max_length": settings::MAX_LANGUAGE_CHARS},
                {"type": 4, "name": "window", "description": "Default hours for /summarize (1-168)",
                    "min_value": 1, "max_value": settings::MAX_HOURS},
                {"type": 3, "name": "cooldown", "description": "Time between two summaries per user, e.g. 30s, 2m, 0s"},
                {"type": 4, "name": "budget", "description": "LLM tokens per UTC day, at most the operator's limit (0 = that limit)",
                    "min_value": 0, "max_value": settings::MAX_BUDGET},
                {"type": 7, "name": "channel", "description": "Channel whose kind to set (with kind)",
                    "channel_types": text_channels},
                {"type": 3, "name": "kind", "description": "Prompt for that channel", "choices": kinds},
                {"type": 8, "name": "schedule_role", "description": "Role that may manage schedules"},
                {"type": 5, "name": "personal_digests", "description": "Members may get personal digests by DM (/digest)"},
                {"type": 3, "name": "reset", "description": "Back to the config file's value",
                    "choices": resettable}
             ]},
            {"type": 1, "name": "optout",
             "description": "Stop storing and summarizing a channel and delete what is stored (Manage Channels)",
             "options": [
                {"type": 7, "name": "channel", "description": "The channel", "required": true,
                    "channel_types": text_channels},
                {"type": 5, "name": "confirm", "description": "Yes, delete its stored messages"}
             ]},
            {"type": 1, "name": "optin",
             "description": "Resume storing and summarizing a channel (Manage Channels)",
             "options": [
                {"type": 7, "name": "channel", "description": "The channel", "required": true,
                    "channel_types": text_channels}
             ]},
            {"type": 1, "name": "usage",
             "description": "LLM tokens and estimated cost today, this week and this month (Manage Server)"}
        ]
    })
}

/// A parsed `/summarybot` request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Admin {
    /// Show the settings (no changes), or apply these changes.
    Settings(Vec<Change>),
    /// Opt a channel out; deletes only when confirmed.
    OptOut { channel: ChannelId, confirm: bool },
    /// Opt a channel back in.
    OptIn { channel: ChannelId },
    /// The usage report.
    Usage,
    /// A member's request about their own data (any member).
    Privacy(super::privacy_cmd::Request),
}

/// Handle `/summarybot`: parse and check at once, then answer in a task.
pub(super) fn handle(shared: &Arc<Shared>, cmd: &CommandInteraction) {
    let Some(guild) = cmd.guild_id.map(|g| GuildId(g.get())) else {
        return;
    };
    let user = UserId(cmd.user.id.get());
    let verdict = parse(cmd).and_then(|admin| {
        check_permissions(cmd, &admin)?;
        Ok(admin)
    });
    tracing::info!(guild_id = %guild, user_id = %user, command = "summarybot",
        admitted = verdict.is_ok(), "command received");
    let answer = PrivateAnswer::to(cmd, "summarybot");
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        match verdict {
            Err(text) => answer.now(&shared.poster, &text).await,
            Ok(admin) => {
                let made = async { clip(&run(&shared, guild, user, admin).await) };
                answer.deferred(&shared.poster, made).await;
            }
        }
    });
}

/// The subcommand and its options, validated.
fn parse(cmd: &CommandInteraction) -> Result<Admin, String> {
    let Some(sub) = cmd.data.options.first() else {
        return Err(usage_hint());
    };
    let CommandDataOptionValue::SubCommand(opts) = &sub.value else {
        return Err(usage_hint());
    };
    let channel_opt = || {
        opts.iter().find_map(|o| match (o.name.as_str(), &o.value) {
            ("channel", CommandDataOptionValue::Channel(c)) => Some(ChannelId(c.get())),
            _ => None,
        })
    };
    match sub.name.as_str() {
        "settings" => settings_changes(opts).map(Admin::Settings).map_err(|e| e.0),
        "optout" | "optin" => {
            let channel = channel_opt().ok_or("Give the channel: `channel:#name`.")?;
            if sub.name == "optin" {
                return Ok(Admin::OptIn { channel });
            }
            let confirm = opts.iter().any(|o| {
                o.name == "confirm" && matches!(o.value, CommandDataOptionValue::Boolean(true))
            });
            Ok(Admin::OptOut { channel, confirm })
        }
        "usage" => Ok(Admin::Usage),
        name => super::privacy_cmd::parse(name, opts)
            .map(Admin::Privacy)
            .ok_or_else(usage_hint),
    }
}

fn usage_hint() -> String {
    "Use `/summarybot settings`, `/summarybot optout`, `/summarybot optin`, `/summarybot usage`, \
     `/summarybot my-data`, `/summarybot forget-me` or `/summarybot optin-me`."
        .to_owned()
}

/// Every change the `settings` options ask for, all validated before any is applied.
fn settings_changes(opts: &[CommandDataOption]) -> Result<Vec<Change>, SettingsError> {
    use CommandDataOptionValue as V;
    let mut changes = Vec::new();
    let (mut channel, mut kind) = (None, None);
    for o in opts {
        match (o.name.as_str(), &o.value) {
            ("language", V::String(s)) => {
                changes.push(Change::Language(Some(settings::parse_language(s)?)));
            }
            ("window", V::Integer(h)) => {
                changes.push(Change::Window(Some(settings::check_window(*h)?)));
            }
            ("cooldown", V::String(s)) => {
                changes.push(Change::Cooldown(Some(settings::parse_cooldown(s)?)));
            }
            ("budget", V::Integer(b)) => {
                changes.push(Change::Budget(Some(settings::check_budget(*b)?)));
            }
            ("channel", V::Channel(c)) => channel = Some(ChannelId(c.get())),
            ("kind", V::String(s)) => kind = Some(settings::parse_kind(s)?),
            ("schedule_role", V::Role(r)) => changes.push(Change::ScheduleRole(Some(r.get()))),
            ("personal_digests", V::Boolean(on)) => changes.push(Change::PersonalDigests(*on)),
            ("reset", V::String(s)) => changes.push(Change::reset(s)?),
            (name, _) => {
                return Err(SettingsError(format!("`{name}` is not a setting option")));
            }
        }
    }
    match (channel, kind) {
        (Some(c), Some(k)) => changes.push(Change::ChannelKind(c, k)),
        (None, None) => {}
        (Some(_), None) => {
            return Err(SettingsError(
                "Give `kind` (general, dev or auto) with `channel`.".to_owned(),
            ))
        }
        (None, Some(_)) => {
            return Err(SettingsError(
                "Give the `channel` whose kind to set with `kind`.".to_owned(),
            ))
        }
    }
    Ok(changes)
}

/// Refuse unless the invoker may do `admin`: Manage Server for settings and usage, Manage
/// Channels on the channel for opt-out and opt-in.
fn check_permissions(cmd: &CommandInteraction, admin: &Admin) -> Result<(), String> {
    let member = cmd
        .member
        .as_ref()
        .and_then(|m| m.permissions)
        .map_or(0, |p| p.bits());
    match admin {
        // About the invoker only: any member.
        Admin::Privacy(_) => Ok(()),
        Admin::Settings(_) | Admin::Usage => {
            if permissions::has(member, MANAGE_GUILD) {
                Ok(())
            } else {
                Err("You need the Manage Server permission to use this.".to_owned())
            }
        }
        Admin::OptOut { channel, .. } | Admin::OptIn { channel } => {
            let in_channel = if channel.0 == cmd.channel_id.get() {
                Some(member)
            } else {
                cmd.data
                    .resolved
                    .channels
                    .get(&SChannelId::new(channel.0))
                    .and_then(|c| c.permissions)
                    .map(|p| p.bits())
            };
            if in_channel.is_some_and(|p| permissions::has(p, MANAGE_CHANNELS)) {
                Ok(())
            } else {
                Err(format!(
                    "You need the Manage Channels permission in <#{channel}> to opt it out or in."
                ))
            }
        }
    }
}

/// Carry out an admitted request; the text is the answer.
async fn run(shared: &Arc<Shared>, guild: GuildId, user: UserId, admin: Admin) -> String {
    let result = match admin {
        Admin::Settings(changes) => change_settings(shared, guild, user, &changes),
        Admin::OptOut { channel, confirm } => opt_out(shared, guild, user, channel, confirm).await,
        Admin::OptIn { channel } => opt_in(shared, guild, user, channel),
        Admin::Usage => usage_report(shared, guild),
        Admin::Privacy(request) => super::privacy_cmd::run(shared, user, request).await,
    };
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, guild_id = %guild, command = "summarybot", "database error");
        "Sorry, the database could not be read or written. Please try again later.".to_owned()
    })
}

fn change_settings(
    shared: &Shared,
    guild: GuildId,
    user: UserId,
    changes: &[Change],
) -> Result<String, crate::store::StoreError> {
    let now = if changes.is_empty() {
        shared.settings.get(guild)
    } else {
        shared.settings.change_all(guild, changes, user)?
    };
    let done: Vec<String> = changes
        .iter()
        .map(|c| format!("{} → {}", c.key(), c.shown_value()))
        .collect();
    let described = now.describe(&shared.config);
    Ok(if done.is_empty() {
        described
    } else {
        format!("Changed: {}.\n\n{described}", done.join(", "))
    })
}

async fn opt_out(
    shared: &Arc<Shared>,
    guild: GuildId,
    user: UserId,
    channel: ChannelId,
    confirm: bool,
) -> Result<String, crate::store::StoreError> {
    let already = shared.settings.get(guild).is_opted_out(channel);
    if !confirm {
        let stored = shared.store.message_count(channel)?;
        let state = if already {
            format!("<#{channel}> is already opted out.")
        } else {
            format!("Opting out <#{channel}> stops storing and summarizing it.")
        };
        return Ok(format!(
            "{state} Confirming deletes the {stored} messages stored for it (and its threads) and \
             its cached summaries. Nothing was changed. To confirm, run \
             `/summarybot optout channel:#channel confirm:True`."
        ));
    }
    shared
        .settings
        .change(guild, &Change::OptOut(channel), user)?;
    shared.forget_coverage();
    // Writes queued before the opt-out land first, so the deletion removes them too. An event
    // checked just before the opt-out may be queued while the first pass runs: a second pass
    // (flush, delete) catches it.
    let mut deleted = 0;
    for _ in 0..2 {
        shared.ingest.flush().await;
        let store = Arc::clone(&shared.store);
        deleted += tokio::task::spawn_blocking(move || forget_with_threads(&store, channel))
            .await
            .map_err(|e| crate::store::StoreError::Database {
                detail: e.to_string(),
            })??;
    }
    tracing::info!(guild_id = %guild, channel_id = %channel, user_id = %user, deleted,
        "channel opted out and its stored messages deleted");
    Ok(format!(
        "<#{channel}> is opted out: {deleted} stored messages deleted; it will not be stored or \
         summarized until someone with Manage Channels runs `/summarybot optin`."
    ))
}

/// Forget `channel` and every stored thread under it, and blank the summaries finished jobs
/// hold of them (`GET /jobs/{id}` would show them); the number of messages deleted.
fn forget_with_threads(
    store: &crate::store::Store,
    channel: ChannelId,
) -> Result<u64, crate::store::StoreError> {
    let mut all: Vec<ChannelId> = store
        .channels()?
        .into_iter()
        .filter(|c| c.parent_id == Some(channel))
        .map(|c| c.id)
        .collect();
    all.push(channel);
    let mut deleted = 0;
    for c in &all {
        deleted += store.forget_channel(*c)?;
    }
    store.redact_job_results(
        |job| crate::jobs::summarizes_any(job, &all),
        crate::jobs::REDACTED_RESULT,
    )?;
    Ok(deleted)
}

fn opt_in(
    shared: &Shared,
    guild: GuildId,
    user: UserId,
    channel: ChannelId,
) -> Result<String, crate::store::StoreError> {
    if !shared.settings.get(guild).is_opted_out(channel) {
        let excluded = shared.config.summary.exclude_channels.contains(&channel);
        let state = if excluded {
            "but the bot's operator excluded it (`summary.exclude_channels`), so it is neither \
             stored nor summarized"
        } else {
            "it is stored and summarized"
        };
        return Ok(format!("<#{channel}> is not opted out; {state}."));
    }
    shared
        .settings
        .change(guild, &Change::OptIn(channel), user)?;
    shared.forget_coverage();
    Ok(format!(
        "<#{channel}> is opted in again: new messages are stored and it can be summarized \
         (earlier messages are fetched from Discord when a summary needs them)."
    ))
}

fn usage_report(shared: &Shared, guild: GuildId) -> Result<String, crate::store::StoreError> {
    let periods = Periods::containing(Utc::now().date_naive());
    let rows = shared
        .store
        .usage_rows(periods.first_day(), periods.today)?;
    let mine: Vec<_> = rows
        .into_iter()
        .filter(|r| r.guild == Some(guild))
        .collect();
    let grouped = usage::group(&mine, periods)
        .pop()
        .unwrap_or(usage::GuildUsage {
            guild: Some(guild),
            models: Vec::new(),
        });
    let budget = shared
        .settings
        .get(guild)
        .effective(&shared.config)
        .daily_token_budget;
    let text = usage::render(&grouped, Pricing::of(&shared.config), budget);
    Ok(fenced(
        "**LLM usage of this server** (UTC; the week starts on Monday)",
        &text,
    ))
}

/// `title` and `body` in a code block, the body clipped so the closing fence always fits.
fn fenced(title: &str, body: &str) -> String {
    let frame = format!("{title}\n```\n\n```");
    let room = MAX_CONTENT.saturating_sub(frame.chars().count());
    let body = clip_to(body.trim_end(), room);
    format!("{title}\n```\n{body}\n```")
}

/// Cut `text` to Discord's content limit, on a character boundary.
fn clip(text: &str) -> String {
    clip_to(text, MAX_CONTENT)
}

/// Cut `text` to `max` characters, the last one an ellipsis when cut.
fn clip_to(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_lists_the_server_and_member_subcommands() {
        let def = definition();
        let names: Vec<&str> = def["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "settings",
                "optout",
                "optin",
                "usage",
                "forget-me",
                "optin-me",
                "my-data"
            ]
        );
        assert_eq!(def["name"], "summarybot");
    }

    /// Discord rejects the whole registration when a name or description breaks its limits.
    fn check_limits(v: &Value) {
        if let Some(name) = v["name"].as_str() {
            let ok = (1..=32).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            assert!(ok, "bad name {name:?}");
        }
        if let Some(d) = v["description"].as_str() {
            assert!((1..=100).contains(&d.chars().count()), "too long: {d}");
        }
        for o in v["options"].as_array().into_iter().flatten() {
            check_limits(o);
        }
    }

    #[test]
    fn names_and_descriptions_fit_discords_limits() {
        check_limits(&definition());
        for def in super::super::commands::definitions()
            .as_array()
            .into_iter()
            .flatten()
        {
            check_limits(def);
        }
    }

    #[test]
    fn long_answers_are_clipped_to_discords_limit() {
        let long = "é".repeat(3000);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MAX_CONTENT);
        assert!(clipped.ends_with('…'));
        assert_eq!(clip("short"), "short");
        let report = fenced("**usage**", &"row of numbers\n".repeat(400));
        assert_eq!(report.chars().count(), MAX_CONTENT);
        assert!(
            report.ends_with("…\n```"),
            "the closing fence survives the cut"
        );
    }

    fn opt(name: &str, value: CommandDataOptionValue) -> CommandDataOption {
        serde_json::from_value::<CommandDataOption>(json!({"name": name, "type": 3, "value": "x"}))
            .map(|mut o| {
                o.value = value;
                o
            })
            .expect("option")
    }

    #[test]
    fn settings_options_are_validated_together() {
        use CommandDataOptionValue as V;
        let ok = settings_changes(&[
            opt("language", V::String("German".into())),
            opt("window", V::Integer(6)),
            opt("cooldown", V::String("5s".into())),
            opt("channel", V::Channel(SChannelId::new(9))),
            opt("kind", V::String("dev".into())),
        ])
        .expect("valid");
        assert_eq!(ok.len(), 4);
        assert_eq!(
            ok[3],
            Change::ChannelKind(ChannelId(9), Some(crate::model::ChannelKind::Dev))
        );
        let err = settings_changes(&[opt("cooldown", V::String("3h".into()))]).expect_err("long");
        assert!(err.0.contains("at most 1h"), "{err}");
        let err =
            settings_changes(&[opt("kind", V::String("dev".into()))]).expect_err("no channel");
        assert!(err.0.contains("Give the `channel`"), "{err}");
        let err = settings_changes(&[opt("channel", V::Channel(SChannelId::new(9)))])
            .expect_err("no kind");
        assert!(err.0.contains("Give `kind`"), "{err}");
        assert_eq!(settings_changes(&[]).expect("show"), Vec::new());
    }
}
