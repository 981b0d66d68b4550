//! Live state of the running appliance, written by the parts that know it (the Discord adapter,
//! the scheduler, the update watcher) and read by `/health`, `/metrics` and the status page.
//! Plain data behind short-held locks: no framework types, no I/O.

use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::Notify;

use crate::model::Timestamp;

/// The Discord connection as last reported by the gateway adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiscordStatus {
    /// The bot is configured to run.
    pub enabled: bool,
    /// A gateway session is established (READY received and not yet lost).
    pub connected: bool,
    /// Guilds this process serves that the gateway announced.
    pub guilds: usize,
    /// Shards this process runs.
    pub shards: u32,
    /// When the last gateway event arrived.
    pub last_event: Option<Timestamp>,
    /// The last gap fill (what was posted while the bot was away), if one ran.
    pub gap_fill: Option<GapFill>,
}

/// What a gap fill did (or is doing): the messages posted while the bot was away, fetched when
/// a gateway session starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GapFill {
    /// When it started.
    pub started_at: Timestamp,
    /// Still running.
    pub running: bool,
    /// Stored channels checked.
    pub channels_checked: usize,
    /// Channels that had missed messages.
    pub channels_filled: usize,
    /// Messages fetched.
    pub messages: usize,
    /// REST requests made.
    pub requests: usize,
    /// Channels whose fetch failed or hit the cap (their windows are fetched when summarized).
    pub incomplete: usize,
    /// How long it took (so far), in milliseconds.
    pub duration_ms: u64,
}

/// The digest scheduler as last reported by its task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SchedulerStatus {
    /// `scheduler.enabled` is set.
    pub enabled: bool,
    /// The scheduler task is running.
    pub running: bool,
    /// Enabled schedules it watches.
    pub schedules: usize,
    /// The next fire time over all enabled schedules.
    pub next_fire: Option<Timestamp>,
}

/// Shared live state; one per process, passed around as `Arc<Runtime>`.
#[derive(Debug)]
pub struct Runtime {
    started_at: Timestamp,
    discord: Mutex<DiscordStatus>,
    scheduler: Mutex<SchedulerStatus>,
    update_available: Mutex<Option<String>>,
    /// Wakes the scheduler when a schedule was created, changed or deleted in this process.
    schedules_changed: Notify,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new(Timestamp::now())
    }
}

impl Runtime {
    /// State of a process that started at `started_at`, with nothing reported yet.
    pub fn new(started_at: Timestamp) -> Self {
        Self {
            started_at,
            discord: Mutex::new(DiscordStatus::default()),
            scheduler: Mutex::new(SchedulerStatus::default()),
            update_available: Mutex::new(None),
            schedules_changed: Notify::new(),
        }
    }

    /// When the process started.
    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    /// A copy of the Discord status.
    pub fn discord(&self) -> DiscordStatus {
        self.discord
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Change the Discord status in place.
    pub fn update_discord(&self, change: impl FnOnce(&mut DiscordStatus)) {
        change(&mut self.discord.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// A copy of the scheduler status.
    pub fn scheduler(&self) -> SchedulerStatus {
        self.scheduler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Change the scheduler status in place.
    pub fn update_scheduler(&self, change: impl FnOnce(&mut SchedulerStatus)) {
        change(
            &mut self
                .scheduler
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// Tell the scheduler that schedules changed (it re-reads them at once). A change made
    /// while it is busy is remembered, not lost.
    pub fn notify_schedules_changed(&self) {
        self.schedules_changed.notify_one();
    }

    /// Resolves at the next [`Runtime::notify_schedules_changed`] (or at once for one made
    /// since the last wait).
    pub async fn schedules_changed(&self) {
        self.schedules_changed.notified().await;
    }

    /// The newer release the update watcher found, if any (its version).
    pub fn update_available(&self) -> Option<String> {
        self.update_available
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Record the newer release found (or `None` when up to date).
    pub fn set_update_available(&self, version: Option<String>) {
        *self
            .update_available
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = version;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_visible_to_readers() {
        let rt = Runtime::new(Timestamp(5));
        assert_eq!(rt.started_at(), Timestamp(5));
        assert!(!rt.discord().connected);
        rt.update_discord(|d| {
            d.connected = true;
            d.guilds = 3;
        });
        assert_eq!(rt.discord().guilds, 3);
        rt.update_scheduler(|s| s.next_fire = Some(Timestamp(9)));
        assert_eq!(rt.scheduler().next_fire, Some(Timestamp(9)));
        rt.set_update_available(Some("1.2.3".into()));
        assert_eq!(rt.update_available().as_deref(), Some("1.2.3"));
    }

    #[tokio::test]
    async fn a_schedule_change_before_the_wait_is_not_lost() {
        let rt = Runtime::new(Timestamp(0));
        rt.notify_schedules_changed();
        tokio::time::timeout(std::time::Duration::from_secs(5), rt.schedules_changed())
            .await
            .expect("woken by the earlier notification");
    }
}
