//! Discord's REST rate limits, kept on the client side so that a request that would exceed a
//! limit waits instead of drawing a 429: 429s count towards Discord's invalid-request limit
//! (10,000 per 10 minutes, then a temporary IP ban). As documented in Discord's developer docs,
//! "Rate Limits" (<https://discord.com/developers/docs/topics/rate-limits>):
//!
//! - per-route buckets: a route (method and path) with its major parameter (`channel_id`,
//!   `guild_id`, or webhook id and token) is limited separately; responses name the bucket
//!   (`X-RateLimit-Bucket`, shared by routes with the same limit) and say how many requests are
//!   left (`X-RateLimit-Remaining`) and when it refills (`X-RateLimit-Reset-After`, seconds);
//! - the global limit: 50 requests a second per bot, interaction endpoints exempt;
//! - a 429 carries `retry_after` (seconds) and `global`; a global one stops every request.
//!
//! One [`RateLimits`] is shared by every clone of the bot's REST client ([`super::Poster`]),
//! which is every REST caller (commands, backfill, gap fill, names, digests). Requests to one
//! bucket go one at a time, so what the last answer said is exact for the next. Buckets whose
//! reset has passed carry nothing worth keeping and are dropped, which bounds memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::Value;

/// Discord's global limit: requests a second per bot token.
pub const GLOBAL_PER_SECOND: usize = 50;
/// The longest wait a header or 429 body is taken to ask for.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);
/// Buckets kept before idle, reset ones are dropped.
const KEEP_BUCKETS: usize = 64;
/// Route-to-bucket-hash entries kept (routes are a small fixed set; this only bounds them).
const KEEP_HASHES: usize = 256;

/// A request's route as Discord limits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Method and path with ids replaced by `:id` (e.g. `GET /channels/:id/messages`).
    pub template: String,
    /// The major parameter: channel or guild id, webhook or interaction id and token ("" when
    /// none).
    pub major: String,
    /// Interaction callbacks are not bound by the global limit.
    pub interaction: bool,
}

impl Route {
    /// The route of `method` on `path` (query string ignored).
    pub fn of(method: &str, path: &str) -> Self {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let first = segments.first().copied().unwrap_or_default();
        let major_len = match first {
            "channels" | "guilds" => 1,
            "webhooks" | "interactions" => 2,
            _ => 0,
        };
        let major = segments
            .iter()
            .skip(1)
            .take(major_len)
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        let mut template = method.to_owned();
        for (i, s) in segments.iter().enumerate() {
            let is_major = i >= 1 && i <= major_len;
            let id = is_major || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
            template.push('/');
            template.push_str(if id { ":id" } else { s });
        }
        Self {
            template,
            major,
            interaction: first == "interactions",
        }
    }
}

/// What one response said about the limits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// `X-RateLimit-Bucket`.
    pub bucket: Option<String>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset-After` (preferred to `X-RateLimit-Reset`: no clock skew).
    pub reset_after: Option<Duration>,
    /// A 429: how long to wait (`retry_after` in the body, else `Retry-After`).
    pub retry_after: Option<Duration>,
    /// The 429 is the global limit (`X-RateLimit-Global` or `"global": true`).
    pub global: bool,
}

impl Observed {
    /// Read a response's rate-limit headers and, for a 429, its body.
    pub fn read(status: u16, headers: &HeaderMap, body: &Value) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        // A wait beyond an hour is not a rate limit anyone should honour to the letter (and
        // `Instant + Duration` must not overflow): it is read as an hour.
        let secs = |v: Option<f64>| {
            v.map(|s| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(LONGEST_WAIT))
                .map(|d| d.min(LONGEST_WAIT))
        };
        let mut seen = Self {
            bucket: header("x-ratelimit-bucket").map(str::to_owned),
            remaining: header("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset_after: secs(header("x-ratelimit-reset-after").and_then(|v| v.parse().ok())),
            ..Self::default()
        };
        if status == 429 {
            let wait = body["retry_after"]
                .as_f64()
                .or_else(|| header("retry-after").and_then(|v| v.parse().ok()));
            seen.retry_after = secs(wait).or(Some(Duration::from_secs(1)));
            seen.global = body["global"] == true
                || header("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        }
        seen
    }
}

/// One bucket's state, as the last answer left it.
#[derive(Debug, Default)]
struct Bucket {
    remaining: Option<u32>,
    reset_at: Option<Instant>,
}

impl Bucket {
    /// How long to wait before the next request (None: go now).
    fn wait(&self, now: Instant) -> Option<Duration> {
        let reset = self.reset_at.filter(|r| *r > now)?;
        (self.remaining == Some(0)).then(|| reset - now)
    }

    fn stale(&self, now: Instant) -> bool {
        self.reset_at.is_none_or(|r| r <= now)
    }
}

/// A bucket as several routes and waiting requests hold it.
type BucketRef = Arc<tokio::sync::Mutex<Bucket>>;

#[derive(Debug, Default)]
struct State {
    /// Route template → Discord's bucket hash.
    hashes: HashMap<String, String>,
    /// (bucket hash or route template, major parameter) → bucket.
    buckets: HashMap<(String, String), BucketRef>,
    /// No request before this (a global 429).
    global_until: Option<Instant>,
    /// When the last requests bound by the global limit started (at most
    /// [`GLOBAL_PER_SECOND`], oldest first).
    recent: VecDeque<Instant>,
}

impl State {
    fn key(&self, route: &Route) -> (String, String) {
        let name = self.hashes.get(&route.template).unwrap_or(&route.template);
        (name.clone(), route.major.clone())
    }

    /// The bucket of `route` (created empty when unknown), dropping stale unused ones first
    /// when many are kept.
    fn bucket(&mut self, route: &Route, now: Instant) -> BucketRef {
        if self.buckets.len() >= KEEP_BUCKETS {
            // A bucket in use is locked; a stale one says nothing the next answer will not.
            self.buckets
                .retain(|_, b| b.try_lock().map_or(true, |b| !b.stale(now)));
        }
        let key = self.key(route);
        Arc::clone(self.buckets.entry(key).or_default())
    }

    /// Take a slot of the global limit now, or say how long to wait for one.
    fn global_slot(&mut self, now: Instant) -> Option<Duration> {
        if let Some(until) = self.global_until.filter(|u| *u > now) {
            return Some(until - now);
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= GLOBAL_PER_SECOND {
            let oldest = self.recent.front().copied().unwrap_or(now);
            return Some((oldest + Duration::from_secs(1)).saturating_duration_since(now));
        }
        self.recent.push_back(now);
        None
    }

    /// Learn that `route` is in bucket `hash`: its bucket (the one just used) is that bucket's
    /// for `major` from now on, unless another route already brought one.
    fn learn_hash(&mut self, route: &Route, hash: &str, used: &BucketRef) {
        if self.hashes.get(&route.template).is_some_and(|h| h == hash) {
            return;
        }
        if self.hashes.len() >= KEEP_HASHES {
            self.hashes.clear();
        }
        self.hashes.insert(route.template.clone(), hash.to_owned());
        self.buckets
            .entry((hash.to_owned(), route.major.clone()))
            .or_insert_with(|| Arc::clone(used));
    }
}

/// The rate-limit state of one bot token, shared by all its REST callers.
#[derive(Debug, Default)]
pub struct RateLimits {
    state: Mutex<State>,
}

/// Leave to send one request on a route; hold it until the answer is recorded.
pub struct Permit<'a> {
    limits: &'a RateLimits,
    route: Route,
    bucket: tokio::sync::OwnedMutexGuard<Bucket>,
    shared: BucketRef,
}

impl RateLimits {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait until a request to `route` is within the limits (its bucket's, then the global one)
    /// and return the leave to send it. `Err(wait)` when the wait would exceed `longest`.
    pub async fn acquire(&self, route: Route, longest: Duration) -> Result<Permit<'_>, Duration> {
        let shared = self.state().bucket(&route, Instant::now());
        let bucket = Arc::clone(&shared).lock_owned().await;
        if let Some(wait) = bucket.wait(Instant::now()) {
            if wait > longest {
                return Err(wait);
            }
            tracing::debug!(route = %route.template, wait_ms = wait.as_millis() as u64, "waiting for the rate limit bucket");
            tokio::time::sleep(wait).await;
        }
        if !route.interaction {
            loop {
                let wait = self.state().global_slot(Instant::now());
                match wait {
                    None => break,
                    Some(w) if w > longest => return Err(w),
                    Some(w) => tokio::time::sleep(w).await,
                }
            }
        }
        Ok(Permit {
            limits: self,
            route,
            bucket,
            shared,
        })
    }

    /// Buckets kept (for tests of the memory bound).
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.state().buckets.len()
    }
}

impl Permit<'_> {
    /// Record what the answer said; the next request to the bucket may then go (or wait).
    pub fn record(mut self, seen: &Observed) {
        let now = Instant::now();
        if let Some(remaining) = seen.remaining {
            self.bucket.remaining = Some(remaining);
        }
        if let Some(after) = seen.reset_after {
            self.bucket.reset_at = Some(now + after);
        }
        let mut state = self.limits.state();
        if let Some(wait) = seen.retry_after {
            if seen.global {
                state.global_until = Some(now + wait);
            } else {
                self.bucket.remaining = Some(0);
                let until = now + wait;
                self.bucket.reset_at = Some(self.bucket.reset_at.map_or(until, |r| r.max(until)));
            }
        }
        if let Some(hash) = &seen.bucket {
            state.learn_hash(&self.route, hash, &self.shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn routes_are_keyed_by_their_major_parameter_and_ids_are_templated() {
        let r = Route::of("GET", "/channels/123/messages?limit=100&before=9");
        assert_eq!(r.template, "GET/channels/:id/messages");
        assert_eq!(r.major, "123");
        let r = Route::of("PATCH", "/webhooks/900/tok-en/messages/@original");
        assert_eq!(r.template, "PATCH/webhooks/:id/:id/messages/@original");
        assert_eq!(r.major, "900/tok-en");
        assert!(!r.interaction);
        let r = Route::of("GET", "/guilds/5/members/77");
        assert_eq!(
            (r.template.as_str(), r.major.as_str()),
            ("GET/guilds/:id/members/:id", "5")
        );
        let r = Route::of("POST", "/interactions/1/tok/callback");
        assert!(r.interaction);
        let r = Route::of("PUT", "/applications/9/guilds/5/commands");
        assert_eq!(
            (r.template.as_str(), r.major.as_str()),
            ("PUT/applications/:id/guilds/:id/commands", "")
        );
    }

    #[test]
    fn headers_and_429_bodies_are_read_as_discord_sends_them() {
        let h = headers(&[
            ("X-RateLimit-Limit", "5"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1470173023.123"),
            ("X-RateLimit-Reset-After", "0.75"),
            ("X-RateLimit-Bucket", "abcd1234"),
        ]);
        let seen = Observed::read(200, &h, &Value::Null);
        assert_eq!(seen.remaining, Some(0));
        assert_eq!(seen.reset_after, Some(Duration::from_millis(750)));
        assert_eq!(seen.bucket.as_deref(), Some("abcd1234"));
        assert_eq!(seen.retry_after, None);
        let body =
            json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": true});
        let seen = Observed::read(429, &headers(&[("Retry-After", "2")]), &body);
        assert_eq!(seen.retry_after, Some(Duration::from_millis(1500)));
        assert!(seen.global);
        let h = headers(&[("Retry-After", "2"), ("X-RateLimit-Global", "true")]);
        let seen = Observed::read(429, &h, &Value::Null);
        assert_eq!(seen.retry_after, Some(Duration::from_secs(2)));
        assert!(seen.global);
    }

    #[tokio::test]
    async fn absurd_waits_are_read_as_an_hour_and_recorded_without_overflow() {
        let h = headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset-After", "1e300"),
        ]);
        let body = json!({"retry_after": 1e19, "global": false});
        let seen = Observed::read(429, &h, &body);
        assert_eq!(seen.reset_after, Some(LONGEST_WAIT));
        assert_eq!(seen.retry_after, Some(LONGEST_WAIT));
        let limits = RateLimits::default();
        let route = Route::of("GET", "/channels/1/messages");
        let permit = limits.acquire(route.clone(), LONG).await.expect("first");
        permit.record(&seen); // used to overflow `Instant + Duration` and panic
                              // The caller allows a minute: refused at once, not held for an hour.
        assert!(limits.acquire(route, LONG).await.is_err());
    }

    #[tokio::test]
    async fn an_exhausted_bucket_waits_for_its_reset_and_other_majors_do_not() {
        let limits = RateLimits::default();
        let route = Route::of("GET", "/channels/1/messages");
        let seen = Observed {
            bucket: Some("h".into()),
            remaining: Some(0),
            reset_after: Some(Duration::from_millis(300)),
            ..Observed::default()
        };
        limits
            .acquire(route.clone(), LONG)
            .await
            .expect("first")
            .record(&seen);
        let other = Instant::now();
        drop(
            limits
                .acquire(Route::of("GET", "/channels/2/messages"), LONG)
                .await,
        );
        assert!(
            other.elapsed() < Duration::from_millis(100),
            "another channel waited"
        );
        let start = Instant::now();
        drop(limits.acquire(route.clone(), LONG).await.expect("second"));
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(250),
            "went after {waited:?}"
        );
        // A wait longer than the caller allows is refused at once.
        limits
            .acquire(route.clone(), LONG)
            .await
            .expect("third")
            .record(&seen);
        let refused = limits.acquire(route, Duration::from_millis(10)).await;
        assert!(refused.is_err());
    }

    #[tokio::test]
    async fn routes_sharing_a_bucket_hash_share_its_state() {
        let limits = RateLimits::default();
        let seen = Observed {
            bucket: Some("shared".into()),
            remaining: Some(0),
            reset_after: Some(Duration::from_millis(300)),
            ..Observed::default()
        };
        let a = Route::of("GET", "/channels/1/messages");
        let b = Route::of("POST", "/channels/1/messages");
        limits.acquire(a, LONG).await.expect("a").record(&seen);
        limits
            .acquire(b.clone(), LONG)
            .await
            .expect("b")
            .record(&seen);
        let start = Instant::now();
        drop(limits.acquire(b, LONG).await);
        assert!(start.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn a_global_429_holds_every_route_and_interactions_skip_the_global_limit() {
        let limits = RateLimits::default();
        let seen = Observed {
            retry_after: Some(Duration::from_millis(300)),
            global: true,
            ..Observed::default()
        };
        limits
            .acquire(Route::of("GET", "/channels/1/messages"), LONG)
            .await
            .expect("first")
            .record(&seen);
        let start = Instant::now();
        drop(
            limits
                .acquire(Route::of("POST", "/interactions/1/t/callback"), LONG)
                .await,
        );
        assert!(start.elapsed() < Duration::from_millis(100));
        drop(
            limits
                .acquire(Route::of("GET", "/guilds/3/members/4"), LONG)
                .await,
        );
        assert!(start.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn no_more_than_fifty_requests_start_in_any_second() {
        let limits = RateLimits::default();
        let start = Instant::now();
        for i in 0..=GLOBAL_PER_SECOND {
            let route = Route::of("GET", &format!("/channels/{i}"));
            drop(limits.acquire(route, LONG).await);
            if i + 1 == GLOBAL_PER_SECOND {
                assert!(start.elapsed() < Duration::from_millis(500));
            }
        }
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "the 51st went early"
        );
    }

    #[tokio::test]
    async fn stale_buckets_are_dropped_so_memory_stays_bounded() {
        let limits = RateLimits::default();
        let seen = Observed {
            remaining: Some(3),
            reset_after: Some(Duration::ZERO),
            ..Observed::default()
        };
        for i in 0..1000 {
            let route = Route::of("POST", &format!("/webhooks/9/token-{i}"));
            let permit = limits.acquire(route, LONG).await.expect("go");
            permit.record(&seen);
            // Stay under the global limit without waiting a second.
            limits.state().recent.clear();
        }
        assert!(
            limits.kept() <= KEEP_BUCKETS,
            "{} buckets kept",
            limits.kept()
        );
    }
}
