//! Per-user command cooldown: one summary per user per period, with the wait shown to the user.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tracks until when each user is cooling down.
#[derive(Debug)]
pub struct Cooldown {
    period: Duration,
    until: Mutex<HashMap<u64, Instant>>,
}

impl Cooldown {
    /// A cooldown of `period` (zero disables it).
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// Admit `user` at `now` (and start their cooldown), or return how long they must wait.
    pub fn try_start(&self, user: u64, now: Instant) -> Result<(), Duration> {
        self.try_start_with(user, now, self.period)
    }

    /// Like [`Cooldown::try_start`] with the cooldown `period` of the user's server (a server
    /// setting); zero admits and starts nothing.
    pub fn try_start_with(
        &self,
        user: u64,
        now: Instant,
        period: Duration,
    ) -> Result<(), Duration> {
        if period.is_zero() {
            return Ok(());
        }
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(wait) = until
            .get(&user)
            .map(|t| t.saturating_duration_since(now))
            .filter(|w| !w.is_zero())
        {
            return Err(wait);
        }
        // Forget expired entries so the map stays as small as the set of recent users.
        until.retain(|_, t| *t > now);
        until.insert(user, now + period);
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

    #[test]
    fn second_use_within_the_period_is_refused_with_the_wait() {
        let cd = Cooldown::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(cd.try_start(1, t0), Ok(()));
        let wait = cd
            .try_start(1, t0 + Duration::from_millis(17_660))
            .expect_err("cooling down");
        assert_eq!(wait, Duration::from_millis(12_340));
        assert_eq!(
            message(wait),
            "This command is on cooldown. Try again in 12.34 s."
        );
        assert_eq!(cd.try_start(2, t0), Ok(()), "other users are not affected");
        assert_eq!(cd.try_start(1, t0 + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn a_per_server_period_overrides_the_default() {
        let cd = Cooldown::new(Duration::from_secs(30));
        let t0 = Instant::now();
        let short = Duration::from_secs(2);
        assert_eq!(cd.try_start_with(1, t0, short), Ok(()));
        assert_eq!(
            cd.try_start_with(1, t0 + Duration::from_secs(1), short),
            Err(Duration::from_secs(1))
        );
        assert_eq!(cd.try_start_with(1, t0 + short, short), Ok(()));
        assert_eq!(cd.try_start_with(2, t0, Duration::ZERO), Ok(()));
        assert_eq!(cd.try_start_with(2, t0, Duration::ZERO), Ok(()));
    }

    #[test]
    fn zero_period_disables_the_cooldown() {
        let cd = Cooldown::new(Duration::ZERO);
        let t0 = Instant::now();
        assert_eq!(cd.try_start(1, t0), Ok(()));
        assert_eq!(cd.try_start(1, t0), Ok(()));
    }
}
