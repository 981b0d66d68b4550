//! Job results posted to Discord: the jobs' [`Publisher`] over the bot's REST poster
//! (`allowed_mentions` none, retries, nonces), usable without a gateway.

use crate::jobs::{BoxFuture, PublishError, Publisher};
use crate::model::{ChannelId, Summary};

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

    fn post_summary_once(
        &self,
        channel: ChannelId,
        summary: &Summary,
        nonce: &str,
    ) -> BoxFuture<'_, Result<(), PublishError>> {
        let (summary, nonce) = (summary.clone(), nonce.to_owned());
        Box::pin(async move {
            self.0
                .post_summary_once(channel, &summary, Some(&nonce))
                .await
                .map_err(|e| publish_error(&e))
        })
    }

    fn post_text(
        &self,
        channel: ChannelId,
        text: &str,
        nonce: &str,
    ) -> BoxFuture<'_, Result<(), PublishError>> {
        let mut body = serde_json::json!({ "content": text });
        post::with_nonce(&mut body, nonce);
        Box::pin(async move {
            self.0
                .create_message(channel, &body)
                .await
                .map(|_| ())
                .map_err(|e| publish_error(&e))
        })
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
    PublishError {
        retryable,
        message: e.to_string(),
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
