//! Discord REST sends: messages, interaction responses and history pages, with
//! `allowed_mentions` forced to nothing on every message body, Discord's rate limits kept ahead
//! of time ([`super::ratelimit`], shared by all clones), a 429's `Retry-After` honoured and
//! transient 5xx retried with backoff. Usable without a gateway (webhook jobs, digests).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::ratelimit::{Observed, Permit, RateLimits, Route};
use crate::backoff::Backoff;
use crate::model::{ChannelId, GuildId, Summary, UserId};
use crate::secret::Secret;
use crate::summarize::lang::Lang;
use crate::summarize::render::{self, Embed, EmbedMessage};

/// Attempts per request, the first included.
const MAX_ATTEMPTS: u32 = 5;
/// Longest `Retry-After` honoured; a longer one fails the send instead of stalling it.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Backoff after a 5xx or an unreachable server: 250 ms, doubled per retry, at most 16 s.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(16));
/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Discord's default REST API base.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api";

/// Why a Discord REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// `discord.api_base_url` is not a usable URL.
    #[error("discord.api_base_url {0:?} is not an http(s) URL (e.g. https://discord.com/api)")]
    BadBaseUrl(String),
    /// The HTTP client could not be built or the server could not be reached.
    #[error("cannot reach Discord at {url}: {detail}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// Discord answered with an error status after all retries.
    #[error("Discord answered {status} to {method} {path}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// HTTP method.
        method: String,
        /// API path called.
        path: String,
        /// Discord's error message.
        message: String,
        /// Discord's JSON error code (e.g. 50013 Missing Permissions; 0 when none).
        code: u64,
    },
    /// Discord asked to wait longer than this client is willing to.
    #[error(
        "Discord rate-limited {path} for {wait:?}, longer than the {MAX_RETRY_WAIT:?} allowed"
    )]
    RateLimitedTooLong {
        /// API path called.
        path: String,
        /// Wait asked for.
        wait: Duration,
    },
}

/// Discord's JSON error code for a permission the bot lacks in the channel.
pub const MISSING_PERMISSIONS: u64 = 50013;

impl PostError {
    /// True when Discord refused the request for a permission the bot lacks (403, 50013).
    pub fn is_missing_permissions(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 403,
                code: MISSING_PERMISSIONS,
                ..
            }
        )
    }
}

/// A Discord REST client for the bot's sends; clones share the rate-limit state.
#[derive(Clone, Debug)]
pub struct Poster {
    http: reqwest::Client,
    /// `{api_base_url}/v10`.
    base: String,
    token: Secret,
    limits: Arc<RateLimits>,
    /// Interactions whose answer someone waits for (see [`Poster::watch_answer`]).
    answered: Arc<AnswerWatch>,
}

/// Interaction tokens whose first answer (an immediate message, or the first edit of a
/// deferred one) someone waits for, to send a follow-up after it. Only watched tokens are
/// kept, each until it is answered or forgotten.
#[derive(Debug, Default)]
struct AnswerWatch(std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Notify>>>);

impl AnswerWatch {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<tokio::sync::Notify>>>
    {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The interaction with `token` has an answer now.
    fn answered(&self, token: &str) {
        if let Some(notify) = self.lock().remove(token) {
            // Keeps a permit when nobody waits yet.
            notify.notify_one();
        }
    }
}

/// What the next attempt should do after a failed one.
#[derive(Debug, PartialEq)]
enum Next {
    Retry(Duration),
    Fail,
}

impl Poster {
    /// A client for `api_base_url` (e.g. `https://discord.com/api`) with the bot token.
    pub fn new(api_base_url: &str, token: Secret) -> Result<Self, PostError> {
        let base = api_base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PostError::BadBaseUrl(api_base_url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!(
                "DiscordBot (https://github.com/summarybot, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()
            .map_err(|e| PostError::Unreachable {
                url: base.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: format!("{base}/v10"),
            token,
            limits: Arc::default(),
            answered: Arc::default(),
        })
    }

    /// Post a summary into a channel as one or more messages of embeds.
    pub async fn post_summary(
        &self,
        channel: ChannelId,
        summary: &Summary,
    ) -> Result<(), PostError> {
        for body in summary_bodies(summary) {
            self.create_message(channel, &body).await?;
        }
        Ok(())
    }

    /// POST a message to a channel; returns the created message.
    pub async fn create_message(
        &self,
        channel: ChannelId,
        body: &Value,
    ) -> Result<Value, PostError> {
        let path = format!("/channels/{channel}/messages");
        self.send(reqwest::Method::POST, &path, Some(&with_no_mentions(body)))
            .await
    }

    /// Answer an interaction (`type` 4 message, 5 deferred).
    pub async fn interaction_callback(
        &self,
        interaction_id: u64,
        token: &str,
        body: &Value,
    ) -> Result<(), PostError> {
        let mut body = body.clone();
        if let Some(data) = body.get_mut("data") {
            *data = with_no_mentions(data);
        }
        let path = format!("/interactions/{interaction_id}/{token}/callback");
        self.send(reqwest::Method::POST, &path, Some(&body)).await?;
        if body["type"] == 4 {
            self.answered.answered(token);
        }
        Ok(())
    }

    /// Resolves once the interaction with `token` has its first answer (a message, or the
    /// first edit of a deferred answer): call before the interaction is handled, then
    /// [`Poster::forget_answer`] when no longer waiting.
    pub fn watch_answer(&self, token: &str) -> Arc<tokio::sync::Notify> {
        Arc::clone(self.answered.lock().entry(token.to_owned()).or_default())
    }

    /// Stop watching the interaction with `token`.
    pub fn forget_answer(&self, token: &str) {
        self.answered.lock().remove(token);
    }

    /// Edit the original (deferred) interaction response.
    pub async fn edit_original(
        &self,
        app_id: u64,
        token: &str,
        body: &Value,
    ) -> Result<Value, PostError> {
        let path = format!("/webhooks/{app_id}/{token}/messages/@original");
        let edited = self
            .send(reqwest::Method::PATCH, &path, Some(&with_no_mentions(body)))
            .await?;
        self.answered.answered(token);
        Ok(edited)
    }

    /// Send a follow-up message to an interaction.
    pub async fn followup(
        &self,
        app_id: u64,
        token: &str,
        body: &Value,
    ) -> Result<Value, PostError> {
        let path = format!("/webhooks/{app_id}/{token}");
        self.send(reqwest::Method::POST, &path, Some(&with_no_mentions(body)))
            .await
    }

    /// Replace the application's slash commands in one guild, or globally when `guild` is None.
    pub async fn register_commands(
        &self,
        app_id: u64,
        guild: Option<u64>,
        commands: &Value,
    ) -> Result<(), PostError> {
        let path = match guild {
            Some(g) => format!("/applications/{app_id}/guilds/{g}/commands"),
            None => format!("/applications/{app_id}/commands"),
        };
        self.send(reqwest::Method::PUT, &path, Some(commands))
            .await?;
        Ok(())
    }

    /// The bot's own user (`GET /users/@me`): checks the token.
    pub async fn current_user(&self) -> Result<Value, PostError> {
        self.send(reqwest::Method::GET, "/users/@me", None).await
    }

    /// A channel or thread (`GET /channels/{id}`).
    pub async fn channel(&self, channel: ChannelId) -> Result<Value, PostError> {
        self.send(reqwest::Method::GET, &format!("/channels/{channel}"), None)
            .await
    }

    /// One page (at most 100) of a channel's or forum's archived public threads, most recently
    /// archived first, archived before `before` (an ISO 8601 timestamp) when given:
    /// `{threads, members, has_more}`.
    pub async fn archived_public_threads(
        &self,
        channel: ChannelId,
        before: Option<&str>,
        limit: u8,
    ) -> Result<Value, PostError> {
        // A timestamp's `+` and `:` escaped, so the query keeps them.
        let before = before.map_or_else(String::new, |b| {
            format!("&before={}", b.replace('+', "%2B").replace(':', "%3A"))
        });
        let path = format!(
            "/channels/{channel}/threads/archived/public?limit={}{before}",
            limit.min(100)
        );
        self.send(reqwest::Method::GET, &path, None).await
    }

    /// Whether the bot is a member of `thread` (`GET /channels/{thread}/thread-members/@me`,
    /// 404 for a non-member).
    pub async fn is_thread_member(&self, thread: ChannelId) -> Result<bool, PostError> {
        let path = format!("/channels/{thread}/thread-members/@me");
        match self.send(reqwest::Method::GET, &path, None).await {
            Ok(_) => Ok(true),
            Err(PostError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One page (at most 100) of a channel's messages, newest first, older than `before`.
    pub async fn messages_before(
        &self,
        channel: ChannelId,
        before: u64,
        limit: u8,
    ) -> Result<Vec<Value>, PostError> {
        let path = format!(
            "/channels/{channel}/messages?limit={}&before={before}",
            limit.min(100)
        );
        let page = self.send(reqwest::Method::GET, &path, None).await?;
        Ok(match page {
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// A server (`GET /guilds/{guild}`): its roles and owner.
    pub async fn guild(&self, guild: GuildId) -> Result<Value, PostError> {
        self.send(reqwest::Method::GET, &format!("/guilds/{guild}"), None)
            .await
    }

    /// A server's channels with their permission overwrites (`GET /guilds/{guild}/channels`;
    /// threads are not listed).
    pub async fn guild_channels(&self, guild: GuildId) -> Result<Vec<Value>, PostError> {
        let list = self
            .send(
                reqwest::Method::GET,
                &format!("/guilds/{guild}/channels"),
                None,
            )
            .await?;
        Ok(match list {
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// A server's member (`GET /guilds/{guild}/members/{user}`): their nickname there.
    pub async fn guild_member(&self, guild: GuildId, user: UserId) -> Result<Value, PostError> {
        let path = format!("/guilds/{guild}/members/{user}");
        self.send(reqwest::Method::GET, &path, None).await
    }

    /// POST a message to a channel that mentions `user` and nobody else (`allowed_mentions`
    /// lists only that user): the late answer to a command.
    pub async fn create_message_mentioning(
        &self,
        channel: ChannelId,
        body: &Value,
        user: u64,
    ) -> Result<Value, PostError> {
        let mut body = with_no_mentions(body);
        body["allowed_mentions"] = json!({"parse": [], "users": [user.to_string()]});
        let path = format!("/channels/{channel}/messages");
        self.send(reqwest::Method::POST, &path, Some(&body)).await
    }

    /// The DM channel with `user` (`POST /users/@me/channels`), opened when needed.
    pub async fn open_dm(&self, user: u64) -> Result<ChannelId, PostError> {
        let body = json!({"recipient_id": user.to_string()});
        let dm = self
            .send(reqwest::Method::POST, "/users/@me/channels", Some(&body))
            .await?;
        dm["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .map(ChannelId)
            .ok_or_else(|| PostError::Status {
                status: 200,
                code: 0,
                method: "POST".into(),
                path: "/users/@me/channels".into(),
                message: format!("no channel id in the answer: {dm}"),
            })
    }

    /// Send with retries: each attempt waits for the rate limits first; 429 waits `Retry-After`,
    /// 5xx and transport errors back off.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, PostError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let route = Route::of(method.as_str(), path);
            let permit = self
                .limits
                .acquire(route, MAX_RETRY_WAIT)
                .await
                .map_err(|wait| PostError::RateLimitedTooLong {
                    path: path.to_owned(),
                    wait,
                })?;
            let (result, next) = self
                .attempt(permit, &method, &url, path, body, attempt)
                .await;
            match (result, next) {
                (Ok(v), _) => return Ok(v),
                (Err(e), Next::Fail) => return Err(e),
                (Err(e), Next::Retry(wait)) => {
                    tracing::warn!(path, attempt, wait_ms = wait.as_millis() as u64, error = %e, "Discord send retried");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        permit: Permit<'_>,
        method: &reqwest::Method,
        url: &str,
        path: &str,
        body: Option<&Value>,
        attempt: u32,
    ) -> (Result<Value, PostError>, Next) {
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("Authorization", format!("Bot {}", self.token.expose()));
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(wire_body(body));
        }
        let last = attempt >= MAX_ATTEMPTS;
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let err = PostError::Unreachable {
                    url: url.to_owned(),
                    detail: e.to_string(),
                };
                return (
                    Err(err),
                    if last {
                        Next::Fail
                    } else {
                        Next::Retry(backoff(attempt))
                    },
                );
            }
        };
        let status = response.status().as_u16();
        let header_wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        permit.record(&Observed::read(status, &headers, &json));
        if (200..300).contains(&status) {
            return (Ok(json), Next::Fail);
        }
        let err = PostError::Status {
            status,
            method: method.to_string(),
            path: path.to_owned(),
            message: json["message"].as_str().unwrap_or(text.trim()).to_owned(),
            code: json["code"].as_u64().unwrap_or(0),
        };
        (
            Err(err),
            next_step(status, &json, header_wait, attempt, path),
        )
    }
}

/// Decide whether to retry a failed status.
fn next_step(
    status: u16,
    json: &Value,
    header_wait: Option<f64>,
    attempt: u32,
    path: &str,
) -> Next {
    if attempt >= MAX_ATTEMPTS {
        return Next::Fail;
    }
    match status {
        429 => {
            let secs = json["retry_after"].as_f64().or(header_wait).unwrap_or(1.0);
            // Unrepresentable (huge) is too long, not "the longest we accept".
            let wait = Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX);
            if wait > MAX_RETRY_WAIT {
                tracing::warn!(
                    path,
                    wait_ms = wait.as_millis() as u64,
                    "rate limit too long"
                );
                Next::Fail
            } else {
                Next::Retry(wait)
            }
        }
        500..=599 => Next::Retry(backoff(attempt)),
        _ => Next::Fail,
    }
}

/// The wait after failed attempt `attempt` (1-based): 250 ms, 500 ms, 1 s, 2 s... (no jitter).
fn backoff(attempt: u32) -> Duration {
    BACKOFF.capped(attempt.saturating_sub(1))
}

/// `body` with `allowed_mentions` set to parse nothing (model output never pings anyone).
pub fn with_no_mentions(body: &Value) -> Value {
    let mut body = body.clone();
    if let Value::Object(map) = &mut body {
        map.insert("allowed_mentions".into(), json!({"parse": []}));
    }
    body
}

/// The message bodies of a posted summary, in order, the last with the feedback buttons.
pub fn summary_bodies(summary: &Summary) -> Vec<Value> {
    summary_bodies_with(summary, &footer(summary))
}

/// [`summary_bodies`] with the footer `footer`.
pub fn summary_bodies_with(summary: &Summary, footer: &str) -> Vec<Value> {
    let mut bodies: Vec<Value> = render::embeds(summary, footer)
        .iter()
        .map(embeds_body)
        .collect();
    super::feedback::attach(&mut bodies, summary);
    bodies
}

/// Ask Discord to create the message only once: a second send with the same `nonce` (at most
/// 25 characters) by the bot within a few minutes returns the first message (`enforce_nonce`).
pub fn with_nonce(body: &mut Value, nonce: &str) {
    if let Value::Object(map) = body {
        map.insert("nonce".into(), json!(nonce));
        map.insert("enforce_nonce".into(), json!(true));
    }
}

/// The footer of a posted summary, in its language: message count, window, provider/model,
/// "cached", how many older messages were left out and how many secrets were withheld from the LLM.
pub fn footer(summary: &Summary) -> String {
    let lang = Lang::for_output(summary.language.as_deref());
    let words = lang.strings();
    let mut parts = vec![
        lang.count(&words.messages, summary.message_count),
        format!("{} – {}", summary.window.start, summary.window.end),
        format!("{}/{}", summary.provider, summary.model),
    ];
    if summary.cached {
        parts.push(words.cached.into());
    }
    parts.extend(render::footnotes(summary));
    parts.join(" · ")
}

/// A request body as sent: JSON with every string redacted, so nothing posted to Discord
/// carries a secret (e.g. an LLM error echoing the API key, quoted in a summary).
fn wire_body(body: &Value) -> String {
    let mut body = body.clone();
    crate::redact::redact_json(&mut body);
    body.to_string()
}

/// The JSON body of one message of embeds.
pub fn embeds_body(msg: &EmbedMessage) -> Value {
    let embeds: Vec<Value> = msg.embeds.iter().map(embed_json).collect();
    json!({ "content": "", "embeds": embeds })
}

fn embed_json(e: &Embed) -> Value {
    let mut v = json!({ "description": e.description, "color": e.color });
    if !e.title.is_empty() {
        v["title"] = json!(e.title);
    }
    if let Some(url) = &e.url {
        v["url"] = json!(url);
    }
    if let Some(text) = &e.footer {
        v["footer"] = json!({ "text": text });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_gets_empty_allowed_mentions() {
        let body = with_no_mentions(
            &json!({"content": "@everyone hi", "allowed_mentions": {"parse": ["everyone"]}}),
        );
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
        assert_eq!(body["content"], "@everyone hi");
    }

    #[test]
    fn bodies_are_sent_without_secrets() {
        crate::redact::protect("post-test-llm-key-8f2a41");
        let body = json!({
            "content": "",
            "embeds": [{
                "title": "Summary",
                "footer": {"text": "⚠️ The LLM could not be used (… Bearer post-test-llm-key-8f2a41)"},
            }],
            "nonce": "1234:0",
        });
        let sent: Value = serde_json::from_str(&wire_body(&body)).expect("JSON");
        assert_eq!(
            sent["embeds"][0]["footer"]["text"],
            "⚠️ The LLM could not be used (… Bearer ***)"
        );
        assert_eq!(sent["embeds"][0]["title"], "Summary");
        assert_eq!(sent["nonce"], "1234:0");
    }

    #[test]
    fn backoff_doubles_from_250_ms_without_jitter() {
        let waits: Vec<u64> = (1..=8).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 16_000, 16_000]);
        assert_eq!(backoff(0), Duration::from_millis(250));
    }

    #[test]
    fn rate_limits_wait_retry_after_and_5xx_back_off() {
        let body = json!({"retry_after": 0.25});
        assert_eq!(
            next_step(429, &body, Some(1.0), 1, "/p"),
            Next::Retry(Duration::from_millis(250))
        );
        assert_eq!(
            next_step(429, &Value::Null, Some(2.0), 1, "/p"),
            Next::Retry(Duration::from_secs(2))
        );
        assert_eq!(
            next_step(429, &json!({"retry_after": 3600.0}), None, 1, "/p"),
            Next::Fail
        );
        assert_eq!(
            next_step(503, &Value::Null, None, 2, "/p"),
            Next::Retry(Duration::from_millis(500))
        );
        assert_eq!(
            next_step(503, &Value::Null, None, MAX_ATTEMPTS, "/p"),
            Next::Fail
        );
        assert_eq!(next_step(403, &Value::Null, None, 1, "/p"), Next::Fail);
    }

    #[test]
    fn bad_base_url_is_refused_with_the_key_name() {
        let err = Poster::new("discord.com/api", Secret::new("t")).expect_err("no scheme");
        assert!(err.to_string().contains("discord.api_base_url"), "{err}");
    }
}
