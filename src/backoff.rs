//! Exponential backoff with jitter: one delay schedule (a base doubled per step, capped, then
//! scaled by a jitter factor) and one source of jitter, shared by every retry loop (LLM calls,
//! job retries, Discord REST sends).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A delay schedule: step `n` waits `base * 2^n`, capped at `cap`, then scaled by a factor in
/// `[jitter_low, jitter_high)` picked by a jitter draw in `[0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Delay of step 0; doubled per step.
    pub base: Duration,
    /// Longest delay before jitter.
    pub cap: Duration,
    /// Jitter factor at a draw of 0.
    pub jitter_low: f64,
    /// Jitter factor approached as the draw nears 1.
    pub jitter_high: f64,
}

impl Backoff {
    /// `base` doubled per step up to `cap`, without jitter (factor 1).
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            jitter_low: 1.0,
            jitter_high: 1.0,
        }
    }

    /// The same schedule with the capped delay scaled into `[low, high)` by the jitter draw.
    #[must_use]
    pub const fn with_jitter(self, low: f64, high: f64) -> Self {
        Self {
            jitter_low: low,
            jitter_high: high,
            ..self
        }
    }

    /// The delay of step `step` (0 = the first retry) before jitter: `base * 2^step`, at most `cap`.
    pub fn capped(&self, step: u32) -> Duration {
        let factor = 2_u32.saturating_pow(step.min(31));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay of step `step` scaled by the jitter draw `unit` in `[0, 1)` (clamped).
    pub fn delay(&self, step: u32, unit: f64) -> Duration {
        let spread = self.jitter_high - self.jitter_low;
        self.capped(step)
            .mul_f64(self.jitter_low + spread * unit.clamp(0.0, 1.0))
    }
}

/// A small lock-free source of jitter draws (SplitMix64 over a time-seeded counter). Not
/// cryptographic; it only has to spread the retries of concurrent callers apart.
#[derive(Debug)]
pub struct Jitter {
    state: AtomicU64,
}

impl Jitter {
    /// Seeded from the clock.
    pub fn from_clock() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::with_seed(nanos)
    }

    /// Seeded explicitly (for reproducible tests).
    pub fn with_seed(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// The next draw, uniform in `[0, 1)`.
    pub fn next_unit(&self) -> f64 {
        const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GOLDEN, Ordering::Relaxed)
            .wrapping_add(GOLDEN);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_per_step_and_caps() {
        let b = Backoff::new(SECOND, 10 * SECOND);
        let steps: Vec<Duration> = (0..6).map(|n| b.capped(n)).collect();
        assert_eq!(
            steps,
            [1, 2, 4, 8, 10, 10].map(Duration::from_secs).to_vec()
        );
        assert_eq!(b.capped(u32::MAX), 10 * SECOND);
        assert_eq!(b.delay(2, 0.7), 4 * SECOND, "no jitter by default");
    }

    #[test]
    fn jitter_scales_the_capped_delay_into_its_range() {
        let b = Backoff::new(SECOND, 8 * SECOND).with_jitter(0.5, 1.5);
        assert_eq!(b.delay(1, 0.0), SECOND);
        assert_eq!(b.delay(1, 0.5), 2 * SECOND);
        assert!(b.delay(1, 0.999_999) < 3 * SECOND);
        assert_eq!(b.delay(9, 0.0), 4 * SECOND, "jitter applies after the cap");
        assert_eq!(b.delay(1, -3.0), SECOND, "draws are clamped");
        assert_eq!(b.delay(1, 7.0), 3 * SECOND, "draws are clamped");
    }

    #[test]
    fn a_huge_base_saturates_instead_of_overflowing() {
        let b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.capped(40), Duration::MAX);
    }

    #[test]
    fn jitter_is_in_unit_range_and_varies() {
        let j = Jitter::with_seed(42);
        let draws: Vec<f64> = (0..1000).map(|_| j.next_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
        assert!(draws.iter().any(|u| *u < 0.1) && draws.iter().any(|u| *u > 0.9));
        let clocked = Jitter::from_clock();
        assert!((0.0..1.0).contains(&clocked.next_unit()));
    }
}
