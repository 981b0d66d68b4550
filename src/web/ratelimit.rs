//! Per-client-IP token buckets with a bounded table: a flood from one address cannot starve
//! others, and a flood of addresses cannot grow memory without bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most addresses tracked at once.
const MAX_CLIENTS: usize = 10_000;

/// One client's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets: `per_minute` requests per minute per address, bursts up to `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per minute per address.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take a token for `ip` at `now`: `Ok` when allowed, `Err(seconds to wait)` when not.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&ip) {
            evict(&mut buckets, now);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.per_minute,
            updated: now,
        });
        let rate = self.per_minute / 60.0;
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a small positive number of seconds"
            )]
            Err(wait.max(1.0) as u64)
        }
    }

    /// Addresses currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Make room: drop buckets that refilled completely (idle clients); if none did, the least
/// recently seen one.
fn evict(buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
    let full_after = 60.0;
    buckets.retain(|_, b| now.saturating_duration_since(b.updated).as_secs_f64() < full_after);
    if buckets.len() >= MAX_CLIENTS {
        if let Some(oldest) = buckets
            .iter()
            .min_by_key(|(_, b)| b.updated)
            .map(|(ip, _)| *ip)
        {
            buckets.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn allows_a_burst_then_limits_with_a_wait_then_refills() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), t0), Ok(()));
        }
        assert_eq!(limiter.check(ip(1), t0), Err(20));
        // Another client is not affected.
        assert_eq!(limiter.check(ip(2), t0), Ok(()));
        assert_eq!(limiter.check(ip(1), t0 + Duration::from_secs(20)), Ok(()));
        assert!(limiter.check(ip(1), t0 + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for n in 0..(MAX_CLIENTS as u32 + 500) {
            let _ = limiter.check(ip(n), t0);
        }
        assert!(limiter.tracked() <= MAX_CLIENTS);
        // Idle clients are dropped first once the table is full.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(limiter.check(ip(u32::MAX), later), Ok(()));
        assert_eq!(limiter.tracked(), 1);
    }
}
