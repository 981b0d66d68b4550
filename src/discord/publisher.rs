//! Job results posted to Discord: the jobs' [`Publisher`] over the bot's REST poster
//! (`allowed_mentions` none, retries, nonces), usable without a gateway.

use crate::jobs::{BoxFuture, PartLog, PublishError, Publisher};
use crate::model::{ChannelId, GuildId, Summary, UserId};

use super::post::{self, PostError, Poster};

/// The Discord side of [`Publisher`].
pub struct DiscordPublisher(Poster);

impl DiscordPublisher {
    /// Publish through `poster`.
    pub fn new(poster: Poster) -> Self {
        Self(poster)
    }
}

impl Publisher for DiscordPublisher {
    fn post_summary(
        &self,
        channel: ChannelId,
        summary: &Summary,
    ) -> BoxFuture<'_, Result<(), PublishError>> {
        let summary = summary.clone();
        Box::pin(async move {
            self.0
                .post_summary(channel, &summary)
                .await
                .map_err(|e| publish_error(&e))
        })
    }

    fn post_summary_once<'a>(
        &'a self,
        channel: ChannelId,
        summary: &Summary,
        nonce: &str,
        parts: &'a PartLog,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        let bodies = post::summary_bodies(summary);
        let nonce = nonce.to_owned();
        Box::pin(async move {
            for (i, body) in bodies.into_iter().enumerate() {
                self.post_part(channel, body, &format!("{nonce}:{i}"), parts)
                    .await?;
            }
            Ok(())
        })
    }

    fn cannot_post(&self, channel: ChannelId) -> BoxFuture<'_, Option<String>> {
        Box::pin(self.missing_to_post(channel))
    }

    fn post_text<'a>(
        &'a self,
        channel: ChannelId,
        text: &str,
        nonce: &str,
        parts: &'a PartLog,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        let body = serde_json::json!({ "content": text });
        let nonce = nonce.to_owned();
        Box::pin(async move { self.post_part(channel, body, &nonce, parts).await })
    }

    fn open_dm(&self, user: UserId) -> BoxFuture<'_, Result<ChannelId, PublishError>> {
        Box::pin(async move { self.0.open_dm(user.0).await.map_err(|e| publish_error(&e)) })
    }

    fn readable_by(
        &self,
        guild: GuildId,
        user: UserId,
        channels: Vec<ChannelId>,
    ) -> BoxFuture<'_, Result<Option<crate::jobs::Readable>, PublishError>> {
        Box::pin(async move {
            super::access::readable_by(&self.0, guild, user, &channels)
                .await
                .map_err(|e| publish_error(&e))
        })
    }
}

impl DiscordPublisher {
    /// [`Publisher::cannot_post`], asked of Discord (see [`super::access`]).
    async fn missing_to_post(&self, channel: ChannelId) -> Option<String> {
        match super::access::missing_to_post(&self.0, channel).await {
            Ok(missing) => missing.map(|p| super::access::cannot_post_summaries(p, channel)),
            Err(e) => {
                tracing::warn!(channel_id = %channel, error = %e, "cannot check the bot's permissions before posting");
                None
            }
        }
    }

    /// Send `body` as the part `nonce` unless an earlier attempt posted it; record its message
    /// id once Discord created it.
    async fn post_part(
        &self,
        channel: ChannelId,
        mut body: serde_json::Value,
        nonce: &str,
        parts: &PartLog,
    ) -> Result<(), PublishError> {
        if let Some(id) = parts.posted(nonce) {
            tracing::info!(%channel, nonce, message_id = %id, "part posted by an earlier attempt; skipped");
            return Ok(());
        }
        post::with_nonce(&mut body, nonce);
        let created = self
            .0
            .create_message(channel, &body)
            .await
            .map_err(|e| publish_error(&e))?;
        let id = created["id"].as_str().unwrap_or("unknown");
        parts.record(nonce, id).await
    }
}

/// Whether a failed send may succeed later: unreachable, 5xx, 408 and rate limits may; other
/// answers (no permission, unknown channel, a bad request) and a bad base URL will not.
fn publish_error(e: &PostError) -> PublishError {
    let retryable = match e {
        PostError::Unreachable { .. } | PostError::RateLimitedTooLong { .. } => true,
        PostError::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
        PostError::BadBaseUrl(_) => false,
    };
    let code = match e {
        PostError::Status { code, .. } => *code,
        _ => 0,
    };
    PublishError {
        retryable,
        message: e.to_string(),
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_a_retry_can_fix_are_retryable() {
        let status = |status| PostError::Status {
            status,
            method: "POST".into(),
            path: "/channels/1/messages".into(),
            message: "no".into(),
            code: 0,
        };
        for (e, retryable) in [
            (status(503), true),
            (status(429), true),
            (status(403), false),
            (status(404), false),
            (PostError::BadBaseUrl("x".into()), false),
            (
                PostError::Unreachable {
                    url: "u".into(),
                    detail: "refused".into(),
                },
                true,
            ),
        ] {
            let got = publish_error(&e);
            assert_eq!(got.retryable, retryable, "{e}");
            assert_eq!(got.message, e.to_string());
        }
    }
}
