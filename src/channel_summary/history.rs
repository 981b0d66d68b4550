//! Where the messages the store lacks come from: Discord's REST history, implemented by the
//! Discord adapter. Offline (`summarize --channel` with the service stopped) there is none.

use crate::llm::BoxFuture;
use crate::model::{ChannelId, ChannelInfo, TimeWindow, Timestamp};

/// What one fetch brought into the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Messages stored.
    pub messages: usize,
    /// Requests made.
    pub requests: usize,
    /// False when the cap stopped it before the window's start (or admission stopped it).
    pub complete: bool,
    /// Send time of the oldest message fetched, if any.
    pub oldest: Option<Timestamp>,
}

/// Fetches a channel's history into the store.
pub trait HistorySource: Send + Sync {
    /// Fetch `channel`'s messages in `window`, newest first, at most `max_messages`, and store
    /// them before returning; `allowed()` is asked before each message is stored, and a `false`
    /// stops the fetch.
    fn fetch<'a>(
        &'a self,
        channel: ChannelId,
        window: TimeWindow,
        max_messages: usize,
        allowed: &'a (dyn Fn() -> bool + Send + Sync),
    ) -> BoxFuture<'a, Result<Fetched, String>>;

    /// What Discord says about a channel the store does not know (name, server, parent).
    fn channel_info(&self, channel: ChannelId) -> BoxFuture<'_, Option<ChannelInfo>>;
}
