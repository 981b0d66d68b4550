//! Per-user command cooldown: one summary per user per period, with the wait shown to the user.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::GuildId;

/// Tracks when each user last started a summary, per server: a cooldown in one server does not
/// hold the user back in another, and a server that shortens its cooldown frees its users at once.
#[derive(Debug)]
pub struct Cooldown {
    period: Duration,
    /// Entries older than this are forgotten (the longest period any server may use).
    longest: Duration,
    started: Mutex<HashMap<(GuildId, u64), Instant>>,
}

impl Cooldown {
    /// A cooldown of `period` by default (zero disables it); servers may set up to `longest`.
    pub fn new(period: Duration, longest: Duration) -> Self {
        Self {
            period,
            longest: longest.max(period),
            started: Mutex::new(HashMap::new()),
        }
    }

    /// Admit `user` in `guild` at `now` (and start their cooldown), or return how long they
    /// must wait, with the default period.
    pub fn try_start(&self, guild: GuildId, user: u64, now: Instant) -> Result<(), Duration> {
        self.try_start_with(guild, user, now, self.period)
    }

    /// Like [`Cooldown::try_start`] with the cooldown `period` of the user's server (a server
    /// setting); zero admits and starts nothing.
    pub fn try_start_with(
        &self,
        guild: GuildId,
        user: u64,
        now: Instant,
        period: Duration,
    ) -> Result<(), Duration> {
        if period.is_zero() {
            return Ok(());
        }
        let mut started = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(wait) = started
            .get(&(guild, user))
            .map(|t| period.saturating_sub(now.saturating_duration_since(*t)))
            .filter(|w| !w.is_zero())
        {
            return Err(wait);
        }
        // Forget expired entries so the map stays as small as the set of recent users.
        let longest = self.longest;
        started.retain(|_, t| now.saturating_duration_since(*t) < longest);
        started.insert((guild, user), now);
        Ok(())
    }
}

/// The refusal shown to a user on cooldown.
pub fn message(wait: Duration) -> String {
    format!(
        "This command is on cooldown. Try again in {:.2} s.",
        wait.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: GuildId = GuildId(1);
    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn second_use_within_the_period_is_refused_with_the_wait() {
        let cd = Cooldown::new(Duration::from_secs(30), HOUR);
        let t0 = Instant::now();
        assert_eq!(cd.try_start(G, 1, t0), Ok(()));
        let wait = cd
            .try_start(G, 1, t0 + Duration::from_millis(17_660))
            .expect_err("cooling down");
        assert_eq!(wait, Duration::from_millis(12_340));
        assert_eq!(
            message(wait),
            "This command is on cooldown. Try again in 12.34 s."
        );
        assert_eq!(
            cd.try_start(G, 2, t0),
            Ok(()),
            "other users are not affected"
        );
        assert_eq!(
            cd.try_start(GuildId(2), 1, t0),
            Ok(()),
            "nor the user in another server"
        );
        assert_eq!(cd.try_start(G, 1, t0 + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn a_per_server_period_overrides_the_default() {
        let cd = Cooldown::new(Duration::from_secs(30), HOUR);
        let t0 = Instant::now();
        let short = Duration::from_secs(2);
        assert_eq!(cd.try_start_with(G, 1, t0, short), Ok(()));
        assert_eq!(
            cd.try_start_with(G, 1, t0 + Duration::from_secs(1), short),
            Err(Duration::from_secs(1))
        );
        assert_eq!(cd.try_start_with(G, 1, t0 + short, short), Ok(()));
        assert_eq!(cd.try_start_with(G, 2, t0, Duration::ZERO), Ok(()));
        assert_eq!(cd.try_start_with(G, 2, t0, Duration::ZERO), Ok(()));
    }

    #[test]
    fn a_shortened_period_frees_users_already_waiting() {
        let cd = Cooldown::new(Duration::ZERO, HOUR);
        let t0 = Instant::now();
        assert_eq!(cd.try_start_with(G, 1, t0, HOUR), Ok(()));
        let later = t0 + Duration::from_secs(60);
        assert!(cd.try_start_with(G, 1, later, HOUR).is_err());
        assert_eq!(
            cd.try_start_with(G, 1, later, Duration::from_secs(30)),
            Ok(()),
            "the server lowered its cooldown to 30 s"
        );
    }

    #[test]
    fn zero_period_disables_the_cooldown() {
        let cd = Cooldown::new(Duration::ZERO, HOUR);
        let t0 = Instant::now();
        assert_eq!(cd.try_start(G, 1, t0), Ok(()));
        assert_eq!(cd.try_start(G, 1, t0), Ok(()));
    }
}
