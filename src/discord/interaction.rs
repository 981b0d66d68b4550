//! An interaction's reply and its token's lifetime. Discord takes edits and follow-ups with an
//! interaction token for 15 minutes only ("Receiving and Responding"): [`Reply`] knows when the
//! interaction arrived, so progress edits stop before the token expires, and a summary finished
//! later is delivered another way — a message in the channel mentioning only the invoker (a
//! public request, where the bot may post), else a DM, else a note on the invoker's next
//! summary ([`Undelivered`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::permissions;
use super::post::{PostError, Poster};
use crate::model::ChannelId;

/// How long Discord accepts edits and follow-ups with an interaction token.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Environment variable that shortens the assumed token lifetime (e.g. `5s`), for tests
/// against a fake Discord whose tokens expire sooner; longer values are capped at
/// [`TOKEN_LIFETIME`].
pub const LIFETIME_ENV: &str = "SUMMARYBOT_INTERACTION_TOKEN_LIFETIME";
/// Interaction response flag: only the invoker sees it.
pub const EPHEMERAL: u64 = 64;
/// The answer to a command that arrives while the bot shuts down.
pub const RESTARTING: &str = "I'm restarting right now: please try again in a minute.";

/// The token lifetime the bot assumes: [`TOKEN_LIFETIME`], or a shorter one from
/// [`LIFETIME_ENV`]'s value (ignored with a warning when it is not a duration).
pub fn token_lifetime(env: Option<&str>) -> Duration {
    let Some(text) = env.map(str::trim).filter(|t| !t.is_empty()) else {
        return TOKEN_LIFETIME;
    };
    match crate::config::parse_duration(text) {
        Ok(d) if !d.is_zero() => d.min(TOKEN_LIFETIME),
        _ => {
            tracing::warn!(
                value = text,
                "{LIFETIME_ENV} is not a duration like 5s; using 15m"
            );
            TOKEN_LIFETIME
        }
    }
}

/// Where a slash command's answer goes: the interaction (while its token lives), else the
/// channel it was invoked in or the invoker's DMs.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Interaction id.
    pub id: u64,
    /// Application id (for the webhook edits).
    pub app_id: u64,
    /// Interaction token.
    pub token: String,
    /// Channel the command was invoked in.
    pub channel: ChannelId,
    /// The invoker.
    pub user: u64,
    /// The bot's permissions in `channel`, as the interaction carried them.
    pub bot_permissions: u64,
    /// `channel` is a thread.
    pub in_thread: bool,
    received: Instant,
    usable_for: Duration,
}

impl Reply {
    /// A reply to an interaction received now, whose token lives `lifetime`.
    pub fn new(
        (id, app_id, token): (u64, u64, String),
        channel: ChannelId,
        user: u64,
        bot_permissions: u64,
        lifetime: Duration,
    ) -> Self {
        Self {
            id,
            app_id,
            token,
            channel,
            user,
            bot_permissions,
            in_thread: false,
            received: Instant::now(),
            usable_for: usable_for(lifetime),
        }
    }

    /// True while edits and follow-ups may still be sent with the token.
    pub fn token_usable(&self) -> bool {
        self.received.elapsed() < self.usable_for
    }

    /// When edits and follow-ups stop: the token's lifetime less a margin for the sends.
    pub fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.received + self.usable_for)
    }

    /// Whether the bot may post the summary (embeds) in the invocation channel (a thread needs
    /// Send Messages in Threads instead of Send Messages).
    fn may_post_here(&self) -> bool {
        permissions::missing_to_post(self.bot_permissions, self.in_thread).is_none()
    }
}

/// The part of a token's lifetime the bot uses: all but a fifteenth (a minute of Discord's 15),
/// which leaves time for the sends themselves.
fn usable_for(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(lifetime / 15)
}

/// Whether a failed edit or follow-up means the token is no longer valid (401 Invalid Webhook
/// Token, code 50027; 404 Unknown Webhook).
fn token_rejected(e: &PostError) -> bool {
    matches!(
        e,
        PostError::Status {
            status: 401 | 404,
            ..
        }
    )
}

/// What a late answer is about.
pub struct Late {
    /// The channel summarized.
    pub about: ChannelId,
    /// Only the invoker may see the answer.
    pub private: bool,
}

/// The reply's last edit when the summary outlives the token: where the summary will go (see
/// [`deliver`]).
pub fn late_notice(reply: &Reply, private: bool) -> String {
    let route = if !private && reply.may_post_here() {
        "I'll post it in this channel and mention you when it is ready"
    } else {
        "I'll send it to you as a DM when it is ready"
    };
    format!(
        "This summary takes longer than Discord lets me update this reply ({} minutes): {route}.",
        TOKEN_LIFETIME.as_secs() / 60
    )
}

/// Most members remembered for a "your previous summary was lost" note.
const MAX_UNDELIVERED: usize = 1_000;

/// Summaries that could be delivered neither with the token nor in a DM (the invoker's DMs are
/// closed), by invoker: the channel each was about, for a note on their next summary.
#[derive(Debug, Default)]
pub struct Undelivered(Mutex<HashMap<u64, ChannelId>>);

impl Undelivered {
    fn remember(&self, user: u64, about: ChannelId) {
        let mut lost = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Members who never come back must not grow this for ever: past the cap, the notes
        // are dropped (they are a courtesy; the log has every loss).
        if lost.len() >= MAX_UNDELIVERED && !lost.contains_key(&user) {
            lost.clear();
        }
        lost.insert(user, about);
    }

    /// The note for `user`'s next summary, once, if one of theirs was lost.
    pub fn take_note(&self, user: u64) -> Option<String> {
        let about = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&user)?;
        Some(format!(
            "Your previous summary of <#{about}> took longer than Discord lets me answer a \
             command ({} minutes) and could not be sent to you as a DM (are your DMs from server \
             members closed?).",
            TOKEN_LIFETIME.as_secs() / 60
        ))
    }
}

/// The answer to a command that only its invoker sees: given at once, or deferred and then
/// edited in (a command that reads or writes the store).
pub struct PrivateAnswer {
    id: u64,
    app_id: u64,
    token: String,
    /// The command's name, for logs.
    command: &'static str,
}

impl PrivateAnswer {
    /// The answer to `cmd` (`command` names it in logs).
    pub fn to(cmd: &serenity::all::CommandInteraction, command: &'static str) -> Self {
        Self {
            id: cmd.id.get(),
            app_id: cmd.application_id.get(),
            token: cmd.token.clone(),
            command,
        }
    }

    /// Answer at once (nothing to wait for).
    pub async fn now(&self, poster: &Poster, text: &str) {
        answer_now(poster, self.id, &self.token, text, self.command).await;
    }

    /// Defer the answer; false when Discord refused it.
    pub async fn defer(&self, poster: &Poster) -> bool {
        let body = json!({"type": 5, "data": {"flags": EPHEMERAL}});
        let sent = poster
            .interaction_callback(self.id, &self.token, &body)
            .await;
        if let Err(e) = &sent {
            tracing::error!(error = %e, command = self.command, "could not defer the interaction");
        }
        sent.is_ok()
    }

    /// Replace the deferred answer with `text`.
    pub async fn edit(&self, poster: &Poster, text: &str) {
        let body = json!({"content": text});
        if let Err(e) = poster.edit_original(self.app_id, &self.token, &body).await {
            tracing::error!(error = %e, command = self.command, "could not send the answer");
        }
    }

    /// Defer, then edit in what `make` answers.
    pub async fn deferred<F: std::future::Future<Output = String>>(
        &self,
        poster: &Poster,
        make: F,
    ) {
        if self.defer(poster).await {
            let text = make.await;
            self.edit(poster, &text).await;
        }
    }
}

/// `body` with `note` before its content.
pub fn with_note(body: &Value, note: &str) -> Value {
    let mut body = body.clone();
    let content = body["content"].as_str().unwrap_or_default();
    body["content"] = json!(if content.is_empty() {
        note.to_owned()
    } else {
        format!("{note}\n\n{content}")
    });
    body
}

/// Send `bodies` (message bodies: content and embeds) as the answer: the first as the edit of
/// the deferred reply, the others as follow-ups (`flags` on them), while the token is usable;
/// what is left then goes to the channel or the invoker's DMs (see [`deliver_late`]), or is
/// remembered in `lost` when neither takes it.
pub async fn deliver(
    poster: &Poster,
    reply: &Reply,
    flags: u64,
    bodies: &[Value],
    late: &Late,
    lost: &Undelivered,
) -> Result<(), PostError> {
    let mut sent = 0;
    for body in bodies {
        if !reply.token_usable() {
            break;
        }
        let result = if sent == 0 {
            poster.edit_original(reply.app_id, &reply.token, body).await
        } else {
            let mut body = body.clone();
            body["flags"] = json!(flags);
            poster.followup(reply.app_id, &reply.token, &body).await
        };
        match result {
            Ok(_) => sent += 1,
            Err(e) if token_rejected(&e) => {
                tracing::warn!(error = %e, "the interaction token was refused; answering another way");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if sent == bodies.len() {
        return Ok(());
    }
    let result = deliver_late(poster, reply, late, &bodies[sent..], sent > 0).await;
    if result.is_err() {
        lost.remember(reply.user, late.about);
    }
    result
}

/// Deliver what the interaction token could not: in the invocation channel, mentioning only the
/// invoker, when the request was public and the bot may post there; else (or when that fails)
/// in the invoker's DMs.
async fn deliver_late(
    poster: &Poster,
    reply: &Reply,
    late: &Late,
    bodies: &[Value],
    continued: bool,
) -> Result<(), PostError> {
    let what = if continued {
        "the rest of your summary"
    } else {
        "your summary"
    };
    let why = format!(
        "took longer than Discord lets a bot answer a command ({} minutes)",
        TOKEN_LIFETIME.as_secs() / 60
    );
    let mut shown = 0;
    if !late.private && reply.may_post_here() {
        let note = format!(
            "<@{}> {what} of <#{}> {why}, so here it is.",
            reply.user, late.about
        );
        let first = with_note(&bodies[0], &note);
        let in_channel = async {
            poster
                .create_message_mentioning(reply.channel, &first, reply.user)
                .await?;
            shown = 1;
            for body in &bodies[1..] {
                poster.create_message(reply.channel, body).await?;
                shown += 1;
            }
            Ok::<(), PostError>(())
        }
        .await;
        match in_channel {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, channel_id = %reply.channel, shown, "could not post the late summary in its channel; sending the rest as a DM");
            }
        }
    }
    // What the channel already shows is not sent again.
    let bodies = &bodies[shown..];
    let what = if shown > 0 {
        "the rest of your summary"
    } else {
        what
    };
    let note = format!(
        "{} of <#{}> {why}, so here it is.",
        capitalized(what),
        late.about
    );
    let dm = poster.open_dm(reply.user).await?;
    let Some((first, rest)) = bodies.split_first() else {
        return Ok(());
    };
    poster.create_message(dm, &with_note(first, &note)).await?;
    for body in rest {
        poster.create_message(dm, body).await?;
    }
    tracing::info!(user_id = reply.user, "late summary sent as a DM");
    Ok(())
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Answer an interaction at once with `text`, visible only to the invoker (a refusal, or
/// [`RESTARTING`]).
pub async fn answer_now(poster: &Poster, id: u64, token: &str, text: &str, command: &str) {
    let body = json!({"type": 4, "data": {"content": text, "flags": EPHEMERAL}});
    if let Err(e) = poster.interaction_callback(id, token, &body).await {
        tracing::error!(error = %e, command, "could not answer the interaction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::permissions::{
        EMBED_LINKS, SEND_MESSAGES, SEND_MESSAGES_IN_THREADS, VIEW_CHANNEL,
    };

    #[test]
    fn lost_summary_notes_are_bounded_and_given_once() {
        let lost = Undelivered::default();
        for user in 0..(MAX_UNDELIVERED as u64 + 5) {
            lost.remember(user, ChannelId(7));
        }
        let kept = lost.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        assert!(kept <= MAX_UNDELIVERED, "{kept} notes kept");
        let newest = MAX_UNDELIVERED as u64 + 4;
        assert!(lost.take_note(newest).is_some_and(|n| n.contains("<#7>")));
        assert!(lost.take_note(newest).is_none());
    }

    #[test]
    fn the_lifetime_is_fifteen_minutes_unless_shortened() {
        assert_eq!(token_lifetime(None), TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("5s")), Duration::from_secs(5));
        assert_eq!(token_lifetime(Some("1h")), TOKEN_LIFETIME, "capped");
        assert_eq!(token_lifetime(Some("soon")), TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("0s")), TOKEN_LIFETIME);
    }

    #[test]
    fn edits_stop_a_minute_before_the_token_expires() {
        assert_eq!(usable_for(TOKEN_LIFETIME), Duration::from_secs(14 * 60));
        let reply = Reply::new((1, 2, "t".into()), ChannelId(3), 4, 0, TOKEN_LIFETIME);
        assert!(reply.token_usable());
        let expired = Reply::new((1, 2, "t".into()), ChannelId(3), 4, 0, Duration::ZERO);
        assert!(!expired.token_usable());
    }

    #[test]
    fn posting_in_the_channel_needs_send_and_embed_permissions() {
        let reply = |perms| Reply::new((1, 2, "t".into()), ChannelId(3), 4, perms, TOKEN_LIFETIME);
        let all = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS;
        assert!(reply(all).may_post_here());
        assert!(!reply(all & !EMBED_LINKS).may_post_here());
        let thread = |perms| Reply {
            in_thread: true,
            ..reply(perms)
        };
        assert!(
            !thread(all).may_post_here(),
            "a thread needs Send Messages in Threads"
        );
        assert!(thread(all | SEND_MESSAGES_IN_THREADS).may_post_here());
    }

    #[test]
    fn the_note_goes_before_the_content() {
        let note = with_note(&json!({"content": "", "embeds": [1]}), "Hi");
        assert_eq!(note, json!({"content": "Hi", "embeds": [1]}));
        let both = with_note(&json!({"content": "Sorry"}), "Hi");
        assert_eq!(both["content"], "Hi\n\nSorry");
        assert_eq!(capitalized("your summary"), "Your summary");
    }

    #[test]
    fn a_lost_summary_is_noted_once() {
        let lost = Undelivered::default();
        assert_eq!(lost.take_note(4), None);
        lost.remember(4, ChannelId(7));
        let note = lost.take_note(4).expect("a note");
        assert!(
            note.starts_with("Your previous summary of <#7> took longer"),
            "{note}"
        );
        assert_eq!(lost.take_note(4), None, "once");
    }
}
