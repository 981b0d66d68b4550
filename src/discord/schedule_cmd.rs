//! `/schedule add|list|remove|pause|resume`: who may change schedules (Manage Server, or the
//! configured manager role), the options turned into [`crate::schedule::ops`] calls (the same
//! validation as the CLI and the webhook), and ephemeral replies that never ping.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{json, Value};
use serenity::all::{
    ChannelId as SChannelId, CommandDataOption, CommandDataOptionValue, CommandInteraction,
};

use super::interaction::PrivateAnswer;
use super::{permissions, Shared};
use crate::model::{ChannelId, GuildId, Schedule, Timestamp};
use crate::schedule::ops::{self, OpError};
use crate::schedule::{
    parse_detail, parse_kind, Draft, Field, Invalid, Rules, Spec, MAX_WINDOW_HOURS,
};

/// Manage Server (Manage Guild) permission bit.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Longest reply Discord accepts, with room for the "more" line.
const MAX_REPLY: usize = 1900;
/// Channel types a digest can read: text, announcement, public threads (a private thread is
/// refused: Discord resolves its permissions from the parent, so membership is unknown here).
const CHANNEL_TYPES: [u8; 4] = [0, 5, 10, 11];

/// The `/schedule` command definition (appended to the registered commands).
pub fn definition() -> Value {
    let id_option = |verb: &str| {
        json!([{"type": 4, "name": "id", "description": format!("Schedule id to {verb} (see /schedule list)"),
            "min_value": 1, "required": true}])
    };
    json!({
        "name": "schedule", "type": 1, "contexts": [0],
        "description": "Scheduled digests of channels",
        "options": [
            {"type": 1, "name": "add", "description": "Post a digest of channels on a schedule",
                "options": [
                    {"type": 3, "name": "cron", "required": true,
                        "description": "When, as cron: \"0 9 * * 1-5\" = 09:00 on weekdays; or @daily, @weekly"},
                    {"type": 7, "name": "channel", "required": true, "channel_types": CHANNEL_TYPES,
                        "description": "Channel to summarize"},
                    {"type": 7, "name": "post_to", "channel_types": CHANNEL_TYPES,
                        "description": "Where to post the digest (default: this channel)"},
                    {"type": 3, "name": "timezone",
                        "description": "IANA time zone, e.g. Europe/Berlin (default UTC)"},
                    {"type": 4, "name": "hours", "min_value": 1, "max_value": MAX_WINDOW_HOURS,
                        "description": "Hours covered (default: since the previous digest)"},
                    {"type": 3, "name": "language", "description": "Language of the digest"},
                    {"type": 3, "name": "kind", "description": "Prompt variant",
                        "choices": [{"name": "general", "value": "general"}, {"name": "dev", "value": "dev"}]},
                    {"type": 3, "name": "detail",
                        "description": "How long: brief, standard (default) or full",
                        "choices": crate::model::Detail::ALL.map(|d| json!({"name": d.as_str(), "value": d.as_str()}))},
                    {"type": 5, "name": "quiet_day",
                        "description": "Post a short note when nothing was said (default: post nothing)"},
                    {"type": 7, "name": "channel_2", "channel_types": CHANNEL_TYPES,
                        "description": "Another channel to summarize"},
                    {"type": 7, "name": "channel_3", "channel_types": CHANNEL_TYPES,
                        "description": "Another channel to summarize"}
                ]},
            {"type": 1, "name": "list", "description": "Show this server's schedules"},
            {"type": 1, "name": "remove", "description": "Delete a schedule", "options": id_option("delete")},
            {"type": 1, "name": "pause", "description": "Stop a schedule for now", "options": id_option("pause")},
            {"type": 1, "name": "resume", "description": "Restart a paused schedule", "options": id_option("resume")}
        ]
    })
}

/// An option value, without serenity's types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opt {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A channel id.
    Channel(u64),
}

/// A parsed `/schedule` subcommand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sub {
    /// Create from these options.
    Add(Vec<(String, Opt)>),
    /// Show the guild's schedules.
    List,
    /// Delete one.
    Remove(u64),
    /// Pause (false) or resume (true) one.
    Enable(u64, bool),
}

/// True when a member with `perms` (in the invoking channel) and `roles` may change schedules.
pub fn may_manage(perms: u64, roles: &[u64], manager_role: Option<u64>) -> bool {
    perms & (MANAGE_GUILD | permissions::ADMINISTRATOR) != 0
        || manager_role.is_some_and(|r| roles.contains(&r))
}

/// The subcommand and its options; None for an unknown shape.
pub fn parse_sub(name: &str, options: &[(String, Opt)]) -> Option<Sub> {
    let id = || {
        options.iter().find_map(|(n, v)| match (n.as_str(), v) {
            ("id", Opt::Int(i)) => u64::try_from(*i).ok(),
            _ => None,
        })
    };
    match name {
        "add" => Some(Sub::Add(options.to_vec())),
        "list" => Some(Sub::List),
        "remove" => id().map(Sub::Remove),
        "pause" => id().map(|i| Sub::Enable(i, false)),
        "resume" => id().map(|i| Sub::Enable(i, true)),
        _ => None,
    }
}

/// Why `sub` is refused before anything is stored: changes need `allowed` (see
/// [`may_manage`]); `add` also needs every source channel readable by the invoker (`unreadable`
/// is the first one that is not). Everyone may list.
pub fn refusal(sub: &Sub, allowed: bool, inaccessible: Option<Inaccessible>) -> Option<String> {
    match sub {
        Sub::List => None,
        _ if !allowed => Some(
            "You need the Manage Server permission (or the schedule manager role) to change \
             schedules; `/schedule list` shows them."
                .to_owned(),
        ),
        Sub::Add(_) => inaccessible.map(|i| match i {
            Inaccessible::Source(c) => {
                format!("You cannot read <#{c}>, so you cannot schedule digests of it.")
            }
            Inaccessible::Target(c) => format!(
                "You cannot read and post in <#{c}>, so you cannot have digests posted there."
            ),
            Inaccessible::Blocked(c) => format!(
                "<#{c}> is opted out of summaries on this server (or excluded by the bot's \
                 operator), so it cannot be in a digest."
            ),
            Inaccessible::BotCannotPost(c, p) => {
                format!("I need the {p} permission in <#{c}> to post digests there.")
            }
        }),
        _ => None,
    }
}

/// The draft `/schedule add` asks for, invoked in `here` by `user`.
pub fn draft(
    guild: GuildId,
    here: ChannelId,
    user: u64,
    options: &[(String, Opt)],
) -> Result<Draft, Invalid> {
    let mut d = Draft {
        guild_id: guild,
        source_channels: Vec::new(),
        target_channel: here,
        cron: String::new(),
        timezone: "UTC".to_owned(),
        window_hours: None,
        kind: None,
        language: None,
        detail: crate::model::Detail::default(),
        quiet_day: false,
        created_by: user.to_string(),
    };
    for (name, value) in options {
        match (name.as_str(), value) {
            ("cron", Opt::Text(t)) => d.cron.clone_from(t),
            ("channel" | "channel_2" | "channel_3", Opt::Channel(c)) => {
                d.source_channels.push(ChannelId(*c));
            }
            ("post_to", Opt::Channel(c)) => d.target_channel = ChannelId(*c),
            ("timezone", Opt::Text(t)) => d.timezone.clone_from(t),
            ("hours", Opt::Int(h)) => d.window_hours = Some(u32::try_from(*h).unwrap_or(0)),
            ("language", Opt::Text(t)) => d.language = Some(t.clone()),
            ("kind", Opt::Text(t)) => d.kind = Some(parse_kind(t)?),
            ("detail", Opt::Text(t)) => d.detail = parse_detail(t)?,
            ("quiet_day", Opt::Bool(b)) => d.quiet_day = *b,
            _ => {}
        }
    }
    Ok(d)
}

/// The reply text of a failed operation, naming the option to fix.
pub fn error_text(e: &OpError) -> String {
    match e {
        OpError::Invalid(e) => {
            let option = match e.field {
                Field::Guild => "server",
                Field::Cron => "cron",
                Field::Timezone => "timezone",
                Field::Channels => "channel",
                Field::PostTo => "post_to",
                Field::Hours => "hours",
                Field::Language => "language",
                Field::Kind => "kind",
                Field::Detail => "detail",
            };
            format!("`{option}`: {}", e.message)
        }
        OpError::NotFound(id) => {
            format!("There is no schedule {id} in this server; see `/schedule list`.")
        }
        OpError::TooMany => format!("{e}."),
        OpError::Store(_) => {
            "Sorry, the schedule could not be saved right now. Please try again later.".to_owned()
        }
    }
}

/// When a schedule runs next: a Discord timestamp (shown in each reader's own zone) and the
/// time in the schedule's zone.
pub fn next_text(s: &Schedule) -> String {
    if !s.enabled {
        return "paused".to_owned();
    }
    match (s.next_run, Spec::parse(&s.cron, &s.timezone)) {
        (Some(t), Ok(spec)) => format!("next <t:{}:F> ({})", t.0.div_euclid(1000), spec.local(t)),
        _ => "no next run".to_owned(),
    }
}

/// One line of `/schedule list`.
pub fn line(s: &Schedule) -> String {
    let sources: Vec<String> = s
        .source_channels
        .iter()
        .map(|c| format!("<#{c}>"))
        .collect();
    let detail = if s.detail == crate::model::Detail::default() {
        String::new()
    } else {
        format!(" · {}", s.detail)
    };
    format!(
        "**{}** · `{}` {} · {} → <#{}>{detail} · {}",
        s.id,
        s.cron,
        s.timezone,
        sources.join(", "),
        s.target_channel,
        next_text(s)
    )
}

/// The whole `/schedule list` reply, cut to Discord's message size.
pub fn list_text(schedules: &[Schedule]) -> String {
    if schedules.is_empty() {
        return "No schedules in this server yet. Add one with `/schedule add`.".to_owned();
    }
    let mut text = String::new();
    for (i, s) in schedules.iter().enumerate() {
        let l = line(s);
        if text.len() + l.len() + 1 > MAX_REPLY {
            let _ = write!(text, "…and {} more.", schedules.len() - i);
            break;
        }
        text.push_str(&l);
        text.push('\n');
    }
    text
}

/// Start `/schedule`: checks run at once (no I/O), the change and the reply in a task.
pub(super) fn start(shared: &Arc<Shared>, cmd: &CommandInteraction) {
    let Some(guild) = cmd.guild_id.map(|g| GuildId(g.get())) else {
        return;
    };
    let Some((name, options)) = subcommand(cmd) else {
        return;
    };
    let user = cmd.user.id.get();
    let perms = cmd
        .member
        .as_ref()
        .and_then(|m| m.permissions)
        .map_or(0, |p| p.bits());
    let roles: Vec<u64> = cmd
        .member
        .as_ref()
        .map(|m| m.roles.iter().map(|r| r.get()).collect())
        .unwrap_or_default();
    let here = ChannelId(cmd.channel_id.get());
    let sub = parse_sub(&name, &options);
    let allowed = may_manage(perms, &roles, shared.schedule_manager_role(guild));
    tracing::info!(guild_id = %guild, user_id = user, command = "schedule", subcommand = %name, allowed, "command received");
    let reply_to = PrivateAnswer::to(cmd, "schedule");
    let refused = sub.as_ref().and_then(|s| {
        let blocked = || {
            sources(&options)
                .find(|c| shared.admit(guild, ChannelId(*c)).is_err())
                .map(Inaccessible::Blocked)
        };
        // The bot must be able to post the digests where they go (from its cached permissions).
        let bot_cannot_post = || {
            let target = post_target(cmd, &options);
            let cache = shared.cache.get()?;
            super::client::bot_missing_to_post(cache, guild, ChannelId(target))
                .map(|p| Inaccessible::BotCannotPost(target, p))
        };
        let refused_for = inaccessible(cmd, &options)
            .or_else(blocked)
            .or_else(bot_cannot_post);
        refusal(s, allowed, refused_for)
    });
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        let sub = match (sub, refused) {
            (None, _) => {
                return reply_to
                    .now(&shared.poster, "Unknown /schedule subcommand.")
                    .await
            }
            (Some(_), Some(refused)) => return reply_to.now(&shared.poster, &refused).await,
            (Some(sub), None) => sub,
        };
        // The store may be slow (a large database, a busy disk): defer first, as Discord wants
        // an initial response within 3 seconds.
        if !reply_to.defer(&shared.poster).await {
            return;
        }
        let text = match sub {
            Sub::List => {
                run(&shared, move |store| {
                    Ok(list_text(&ops::list(store, Some(guild))?))
                })
                .await
            }
            sub => change(&shared, guild, here, user, sub).await,
        };
        reply_to.edit(&shared.poster, &text).await;
    });
}

/// Apply a change and wake the scheduler; returns the reply.
async fn change(
    shared: &Arc<Shared>,
    guild: GuildId,
    here: ChannelId,
    user: u64,
    sub: Sub,
) -> String {
    let rules = Rules::of(&shared.config);
    let text = run(shared, move |store| {
        let now = Timestamp::now();
        match sub {
            Sub::Add(options) => {
                let d = draft(guild, here, user, &options)?;
                let s = ops::create(store, d, &rules, now)?;
                Ok(format!("Schedule **{}** added: {}", s.id, line(&s)))
            }
            Sub::Remove(id) => ops::remove(store, id, Some(guild))
                .map(|s| format!("Schedule **{}** removed.", s.id)),
            Sub::Enable(id, on) => ops::set_enabled(store, id, Some(guild), on, now).map(|s| {
                format!(
                    "Schedule **{}** {}: {}",
                    s.id,
                    if on { "resumed" } else { "paused" },
                    next_text(&s)
                )
            }),
            Sub::List => Ok(String::new()),
        }
    })
    .await;
    shared.runtime.notify_schedules_changed();
    text
}

/// Run a store operation off the async runtime; its error becomes the reply.
async fn run(
    shared: &Arc<Shared>,
    op: impl FnOnce(&crate::store::Store) -> Result<String, OpError> + Send + 'static,
) -> String {
    let store = Arc::clone(&shared.store);
    match tokio::task::spawn_blocking(move || op(&store)).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => {
            if let OpError::Store(err) = &e {
                tracing::error!(error = %err, command = "schedule", "schedule change failed");
            }
            error_text(&e)
        }
        Err(e) => {
            tracing::error!(error = %e, command = "schedule", "schedule change failed");
            error_text(&OpError::Store(crate::store::StoreError::Decode {
                what: "task",
                detail: e.to_string(),
            }))
        }
    }
}

/// The subcommand's name and options.
fn subcommand(cmd: &CommandInteraction) -> Option<(String, Vec<(String, Opt)>)> {
    let first = cmd.data.options.first()?;
    let CommandDataOptionValue::SubCommand(options) = &first.value else {
        return None;
    };
    Some((
        first.name.clone(),
        options.iter().filter_map(plain).collect(),
    ))
}

fn plain(o: &CommandDataOption) -> Option<(String, Opt)> {
    let value = match &o.value {
        CommandDataOptionValue::String(s) => Opt::Text(s.clone()),
        CommandDataOptionValue::Integer(i) => Opt::Int(*i),
        CommandDataOptionValue::Boolean(b) => Opt::Bool(*b),
        CommandDataOptionValue::Channel(c) => Opt::Channel(c.get()),
        _ => return None,
    };
    Some((o.name.clone(), value))
}

/// A channel of `/schedule add` the invoker may not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inaccessible {
    /// A source channel the invoker cannot read.
    Source(u64),
    /// The `post_to` channel, where the invoker cannot read or post.
    Target(u64),
    /// A source channel the server opted out (or the operator excluded).
    Blocked(u64),
    /// The `post_to` channel, where the bot lacks this permission to post digests.
    BotCannotPost(u64, &'static str),
}

/// The channel `/schedule add` posts to: its `post_to`, else the channel it was run in.
fn post_target(cmd: &CommandInteraction, options: &[(String, Opt)]) -> u64 {
    named_post_to(options).unwrap_or_else(|| cmd.channel_id.get())
}

/// The `post_to` option, if given.
fn named_post_to(options: &[(String, Opt)]) -> Option<u64> {
    options
        .iter()
        .find_map(|(name, value)| match (name.as_str(), value) {
            ("post_to", Opt::Channel(c)) => Some(*c),
            _ => None,
        })
}

/// The source channels named by `/schedule add`'s options.
fn sources(options: &[(String, Opt)]) -> impl Iterator<Item = u64> + '_ {
    options
        .iter()
        .filter_map(|(name, value)| match (name.as_str(), value) {
            ("channel" | "channel_2" | "channel_3", Opt::Channel(c)) => Some(*c),
            _ => None,
        })
}

/// The first channel option of `/schedule add` the invoker may not use (Discord resolves each
/// channel option with the invoker's permissions there): digests must not show a channel to
/// someone who cannot see it, nor post where the invoker could not post.
fn inaccessible(cmd: &CommandInteraction, options: &[(String, Opt)]) -> Option<Inaccessible> {
    let resolved = |c: u64| cmd.data.resolved.channels.get(&SChannelId::new(c));
    let perms = |c: u64| {
        resolved(c)
            .and_then(|ch| ch.permissions)
            .map_or(0, |p| p.bits())
    };
    let unreadable = sources(options)
        .find(|c| permissions::missing_to_read(perms(*c)).is_some())
        .map(Inaccessible::Source);
    unreadable.or_else(|| {
        let named = named_post_to(options);
        // Without `post_to` the digest goes to the channel the command was run in.
        let (target, p, thread) = match named {
            Some(c) => (
                c,
                perms(c),
                resolved(c).is_some_and(|ch| ch.thread_metadata.is_some()),
            ),
            None => (
                cmd.channel_id.get(),
                cmd.member
                    .as_ref()
                    .and_then(|m| m.permissions)
                    .map_or(0, |p| p.bits()),
                false,
            ),
        };
        let send = if thread {
            permissions::SEND_MESSAGES_IN_THREADS
        } else {
            permissions::SEND_MESSAGES
        };
        let can_post = permissions::missing_to_read(p).is_none() && permissions::has(p, send);
        (!can_post).then_some(Inaccessible::Target(target))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[(&str, Opt)]) -> Vec<(String, Opt)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn only_managers_change_schedules() {
        assert!(may_manage(MANAGE_GUILD, &[], None));
        assert!(may_manage(permissions::ADMINISTRATOR, &[], None));
        assert!(!may_manage(permissions::VIEW_CHANNEL, &[7], None));
        assert!(may_manage(0, &[7, 8], Some(8)));
        assert!(!may_manage(0, &[7], Some(8)));
    }

    #[test]
    fn refusals_before_anything_is_stored() {
        let add = Sub::Add(Vec::new());
        assert!(
            refusal(&Sub::List, false, Some(Inaccessible::Source(1))).is_none(),
            "everyone may list"
        );
        assert!(refusal(&add, false, None).is_some_and(|t| t.contains("Manage Server")));
        assert!(refusal(&Sub::Remove(1), false, None).is_some());
        assert!(refusal(&add, true, Some(Inaccessible::Source(9)))
            .is_some_and(|t| t.contains("cannot read <#9>")));
        assert!(refusal(&add, true, Some(Inaccessible::Target(8)))
            .is_some_and(|t| t.contains("post in <#8>")));
        assert!(refusal(&add, true, Some(Inaccessible::Blocked(7)))
            .is_some_and(|t| t.contains("<#7> is opted out")));
        let named = opts(&[
            ("cron", Opt::Text("@daily".into())),
            ("channel", Opt::Channel(4)),
            ("post_to", Opt::Channel(5)),
            ("channel_2", Opt::Channel(6)),
        ]);
        assert_eq!(sources(&named).collect::<Vec<_>>(), [4, 6]);
        assert!(refusal(&add, true, None).is_none());
        assert!(refusal(&Sub::Enable(1, true), true, Some(Inaccessible::Source(9))).is_none());
    }

    #[test]
    fn subcommands_and_add_options() {
        assert_eq!(parse_sub("list", &[]), Some(Sub::List));
        assert_eq!(
            parse_sub("pause", &opts(&[("id", Opt::Int(3))])),
            Some(Sub::Enable(3, false))
        );
        assert_eq!(parse_sub("remove", &[]), None);
        assert_eq!(parse_sub("explode", &[]), None);
        let add = opts(&[
            ("cron", Opt::Text("0 9 * * 1-5".into())),
            ("channel", Opt::Channel(10)),
            ("channel_2", Opt::Channel(11)),
            ("timezone", Opt::Text("Europe/Berlin".into())),
            ("hours", Opt::Int(12)),
            ("kind", Opt::Text("dev".into())),
            ("quiet_day", Opt::Bool(true)),
        ]);
        let d = draft(GuildId(1), ChannelId(5), 42, &add).expect("draft");
        assert_eq!(d.source_channels, [ChannelId(10), ChannelId(11)]);
        assert_eq!(
            (d.target_channel, d.window_hours, d.quiet_day),
            (ChannelId(5), Some(12), true)
        );
        assert_eq!(d.created_by, "42");
        let e = draft(
            GuildId(1),
            ChannelId(5),
            42,
            &opts(&[("kind", Opt::Text("x".into()))]),
        )
        .expect_err("bad kind");
        assert!(error_text(&OpError::Invalid(e)).starts_with("`kind`:"));
        let brief = opts(&[("detail", Opt::Text("brief".into()))]);
        let d = draft(GuildId(1), ChannelId(5), 42, &brief).expect("draft");
        assert_eq!(d.detail, crate::model::Detail::Brief);
        let bad = opts(&[("detail", Opt::Text("tiny".into()))]);
        let e = draft(GuildId(1), ChannelId(5), 42, &bad).expect_err("bad detail");
        assert_eq!(
            error_text(&OpError::Invalid(e)),
            "`detail`: unknown detail level \"tiny\": use brief, standard or full"
        );
    }

    #[test]
    fn list_shows_discord_timestamps_and_local_time_and_fits() {
        let mut d = draft(
            GuildId(1),
            ChannelId(5),
            42,
            &opts(&[("channel", Opt::Channel(10))]),
        )
        .expect("draft");
        d.cron = "0 9 * * *".into();
        d.timezone = "Europe/Berlin".into();
        let s = Schedule {
            id: 7,
            guild_id: d.guild_id,
            source_channels: d.source_channels,
            target_channel: d.target_channel,
            cron: d.cron,
            timezone: d.timezone,
            window_hours: None,
            kind: None,
            language: None,
            enabled: true,
            created_by: d.created_by,
            last_run: None,
            next_run: Some(Timestamp(1_764_835_200_000)), // 2025-12-04 08:00 UTC
            quiet_day: false,
            last_outcome: None,
            last_error: None,
            detail: crate::model::Detail::default(),
        };
        assert_eq!(
            line(&s),
            "**7** · `0 9 * * *` Europe/Berlin · <#10> → <#5> · next <t:1764835200:F> (2025-12-04 09:00 CET)"
        );
        let brief = Schedule {
            detail: crate::model::Detail::Brief,
            ..s.clone()
        };
        assert!(
            line(&brief).contains("<#5> · brief · next"),
            "{}",
            line(&brief)
        );
        let many = vec![s; 40];
        let text = list_text(&many);
        assert!(text.len() <= 2000 && text.contains("more."), "{text}");
        assert!(list_text(&[]).contains("No schedules"));
        assert!(error_text(&OpError::NotFound(3)).contains("no schedule 3"));
    }

    /// Discord refuses to register a command whose names or descriptions break its limits, or
    /// whose required options follow optional ones.
    fn check_options(options: &[Value]) {
        let mut optional_seen = false;
        for o in options {
            let name = o["name"].as_str().expect("name");
            assert!(
                (1..=32).contains(&name.len())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
            let description = o["description"].as_str().expect("description");
            assert!(
                (1..=100).contains(&description.chars().count()),
                "{description}"
            );
            let required = o["required"] == true;
            assert!(
                !(required && optional_seen),
                "required {name} after an optional option"
            );
            optional_seen |= !required;
            if let Some(sub) = o["options"].as_array() {
                check_options(sub);
            }
        }
    }

    #[test]
    fn the_definition_is_within_discords_limits() {
        let def = definition();
        check_options(std::slice::from_ref(&def));
        assert!(def.to_string().len() < 4000);
    }

    #[test]
    fn the_definition_has_five_subcommands() {
        let def = definition();
        let names: Vec<&str> = def["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str())
            .collect();
        assert_eq!(names, ["add", "list", "remove", "pause", "resume"]);
    }
}
