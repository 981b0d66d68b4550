//! The bot's own permission to post summaries in a channel, asked of Discord over REST, for
//! callers without the gateway cache: the CLI's `schedule add` and the webhook's
//! `schedule_update` (`/schedule add` reads the cache instead). The arithmetic is
//! [`permissions::compute`]'s; this module only gathers its inputs: the channel (a thread's
//! parent for the overwrites), the server's roles and owner, and the bot's member.

use std::time::Duration;

use serde_json::Value;

use super::permissions::{self, MemberContext, Overwrite, Target};
use super::post::{PostError, Poster};
use crate::model::{ChannelId, GuildId, UserId};

/// Longest wait for Discord's answers in [`PostAccess::missing_to_post`].
const BLOCKING_TIMEOUT: Duration = Duration::from_secs(20);

/// The first permission the bot lacks to post a summary in `channel` (see
/// [`permissions::missing_to_post`]); "View Channel" when Discord hides the channel from it
/// (403).
pub async fn missing_to_post(
    poster: &Poster,
    channel: ChannelId,
) -> Result<Option<&'static str>, PostError> {
    let chan = match poster.channel(channel).await {
        Err(e @ PostError::Status { status: 403, .. }) => {
            tracing::debug!(error = %e, channel_id = %channel, "the bot cannot see the channel");
            return Ok(Some("View Channel"));
        }
        other => other?,
    };
    let thread = chan.get("thread_metadata").is_some_and(|m| !m.is_null());
    let overwrites_of = if thread {
        poster.channel(ChannelId(id(&chan["parent_id"]))).await?
    } else {
        chan.clone()
    };
    let guild = GuildId(id(&chan["guild_id"]));
    let me = UserId(id(&poster.current_user().await?["id"]));
    let server = poster.guild(guild).await?;
    let member = poster.guild_member(guild, me).await?;
    let perms = member_permissions(&server, &member, me, &overwrites_of);
    Ok(permissions::missing_to_post(perms, thread))
}

/// `user`'s permissions in a channel of `server` (the Get Guild object: roles, owner), as
/// `member` (the Get Guild Member object) with the overwrites of `channel` (a channel object).
fn member_permissions(server: &Value, member: &Value, user: UserId, channel: &Value) -> u64 {
    let role_perms = |role: u64| {
        server["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| id(&r["id"]) == role)
            .map_or(0, |r| id(&r["permissions"]))
    };
    let roles: Vec<(u64, u64)> = member["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (id(r), role_perms(id(r))))
        .collect();
    let overwrites: Vec<Overwrite> = channel["permission_overwrites"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| Overwrite {
            target: if o["type"].as_u64() == Some(1) {
                Target::Member(id(&o["id"]))
            } else {
                Target::Role(id(&o["id"]))
            },
            allow: id(&o["allow"]),
            deny: id(&o["deny"]),
        })
        .collect();
    let guild = id(&server["id"]);
    permissions::compute(&MemberContext {
        guild_id: guild,
        owner_id: id(&server["owner_id"]),
        user_id: user.0,
        everyone: role_perms(guild),
        roles: &roles,
        overwrites: &overwrites,
    })
}

/// Of `channels` (channels of `guild`, not threads; none: every text and announcement channel
/// of the server), those `user` may read now: View Channel and Read Message History there, as
/// `/summarize` checks them, computed from what Discord answers (`GET /guilds/{guild}`, its
/// member, `GET /guilds/{guild}/channels`). A channel the server no longer has is left out;
/// None when `user` is no longer a member. The server's name comes with them.
pub async fn readable_by(
    poster: &Poster,
    guild: GuildId,
    user: UserId,
    channels: &[ChannelId],
) -> Result<Option<crate::jobs::Readable>, PostError> {
    let member = match poster.guild_member(guild, user).await {
        Err(PostError::Status { status: 404, .. }) => return Ok(None),
        other => other?,
    };
    let server = poster.guild(guild).await?;
    let listed = poster.guild_channels(guild).await?;
    // None picked: every text and announcement channel, in the server's order.
    let picked: Vec<&Value> = if channels.is_empty() {
        let mut all: Vec<&Value> = listed
            .iter()
            .filter(|c| matches!(c["type"].as_u64(), Some(0 | 5)))
            .collect();
        all.sort_by_key(|c| c["position"].as_i64().unwrap_or(0));
        all
    } else {
        channels
            .iter()
            .filter_map(|c| listed.iter().find(|l| id(&l["id"]) == c.0))
            .collect()
    };
    let readable = picked
        .into_iter()
        .filter(|chan| {
            let perms = member_permissions(&server, &member, user, chan);
            permissions::missing_to_read(perms).is_none()
        })
        .map(|chan| ChannelId(id(&chan["id"])))
        .collect();
    Ok(Some(crate::jobs::Readable {
        server: server["name"].as_str().unwrap_or_default().to_owned(),
        channels: readable,
    }))
}

/// Why summaries may not be posted to `channel` (for the CLI, the webhook and jobs).
pub fn cannot_post_summaries(permission: &str, channel: ChannelId) -> String {
    format!(
        "the bot needs the {permission} permission in channel {channel} to post summaries there"
    )
}

/// A snowflake or permission bit set as Discord's JSON carries it (a string), 0 when absent.
fn id(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// [`missing_to_post`] for threads outside the async runtime (the webhook's request threads):
/// the check runs as a task on the runtime while the calling thread waits for its answer.
#[derive(Clone, Debug)]
pub struct PostAccess {
    poster: Poster,
    runtime: tokio::runtime::Handle,
}

impl PostAccess {
    /// Checks through `poster`, run on `runtime`.
    pub fn new(poster: Poster, runtime: tokio::runtime::Handle) -> Self {
        Self { poster, runtime }
    }

    /// The first permission the bot lacks to post in `channel`; Err (why) when Discord could
    /// not be asked within 20 s.
    pub fn missing_to_post(&self, channel: ChannelId) -> Result<Option<&'static str>, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let poster = self.poster.clone();
        self.runtime.spawn(async move {
            let _ = tx.send(missing_to_post(&poster, channel).await);
        });
        match rx.recv_timeout(BLOCKING_TIMEOUT) {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "Discord did not answer within {BLOCKING_TIMEOUT:?}"
            )),
        }
    }
}
