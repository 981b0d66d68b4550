//! Job results posted to Discord: the jobs' [`Publisher`] over the bot's REST poster
//! (`allowed_mentions` none, retries, nonces), usable without a gateway.

use crate::jobs::{BoxFuture, Publisher};
use crate::model::{ChannelId, Summary};

use super::post::{self, Poster};

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
    ) -> BoxFuture<'_, Result<(), String>> {
        let summary = summary.clone();
        Box::pin(async move {
            self.0
                .post_summary(channel, &summary)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn post_summary_once(
        &self,
        channel: ChannelId,
        summary: &Summary,
        nonce: &str,
    ) -> BoxFuture<'_, Result<(), String>> {
        let (summary, nonce) = (summary.clone(), nonce.to_owned());
        Box::pin(async move {
            self.0
                .post_summary_once(channel, &summary, Some(&nonce))
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn post_text(
        &self,
        channel: ChannelId,
        text: &str,
        nonce: &str,
    ) -> BoxFuture<'_, Result<(), String>> {
        let mut body = serde_json::json!({ "content": text });
        post::with_nonce(&mut body, nonce);
        Box::pin(async move {
            self.0
                .create_message(channel, &body)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}
