//! Retry policy for LLM calls as pure functions: what one failed attempt means
//! ([`classify`]), how long the server asked us to wait ([`retry_after`]), the jittered
//! exponential backoff ([`RetryPolicy::schedule`], a [`Backoff`]) and the retry-or-give-up
//! decision ([`RetryPolicy::decide`]).
//!
//! Policy (modelled on the official OpenAI clients):
//! - retried: 429 rate limits, 408, 409, every 5xx, connection errors and timeouts;
//! - never retried: `insufficient_quota` (a 429 whose error `code` or `type` says so, or a 402
//!   as OpenRouter sends when credits run out), 400, 401, 403, 404 and other 4xx, and a 200 whose
//!   body cannot be read (the tokens are already billed and a broken server rarely heals within
//!   a second, so a retry would only double the cost);
//! - the wait is the server's `retry-after-ms` / `Retry-After` (seconds or HTTP date) when given,
//!   else `backoff_base * 2^n` capped at `max_backoff`, with ±25% jitter;
//! - a server-requested wait above `max_retry_wait` is refused: we give up at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

use crate::backoff::Backoff;
use crate::llm::LlmError;

/// Longest provider error message quoted back to the user.
const MAX_DETAIL_CHARS: usize = 300;

/// Why one attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 that is a plain rate limit.
    RateLimited,
    /// Out of credits (`insufficient_quota`, or HTTP 402).
    QuotaExhausted,
    /// 401 or 403.
    Unauthorized(u16),
    /// 404.
    NotFound,
    /// 400 or another 4xx that retrying cannot fix; the provider's message.
    BadRequest(String),
    /// 5xx, 408 or 409.
    Server(u16),
    /// No answer within the request timeout.
    Timeout,
    /// Connection refused, DNS, TLS or a broken connection.
    Unreachable(String),
    /// The answer could not be understood.
    Malformed(String),
}

impl std::fmt::Display for Failure {
    /// A short log description of one failed attempt.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RateLimited => f.write_str("rate limited (429)"),
            Self::QuotaExhausted => f.write_str("out of credits"),
            Self::Unauthorized(status) => write!(f, "key rejected ({status})"),
            Self::NotFound => f.write_str("model or URL not found (404)"),
            Self::BadRequest(detail) => write!(f, "request refused: {detail}"),
            Self::Server(status) => write!(f, "server error ({status})"),
            Self::Timeout => f.write_str("timed out"),
            Self::Unreachable(detail) => write!(f, "unreachable: {detail}"),
            Self::Malformed(detail) => write!(f, "unreadable answer: {detail}"),
        }
    }
}

impl Failure {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Server(_) | Self::Timeout | Self::Unreachable(_)
        )
    }

    /// The user-facing error for this failure. `wait_hint` is the wait the server asked for
    /// (or the next backoff), used for the "try again in N s" of a rate limit.
    pub fn into_error(self, ctx: &ErrorContext, wait_hint: Duration) -> LlmError {
        match self {
            Self::RateLimited => LlmError::RateLimited {
                retry_after_secs: ceil_secs(wait_hint),
            },
            Self::QuotaExhausted => LlmError::QuotaExhausted,
            Self::Unauthorized(status) => LlmError::Unauthorized { status },
            Self::NotFound => LlmError::NotFound {
                model: ctx.model.clone(),
            },
            Self::BadRequest(detail) => LlmError::BadRequest { detail },
            Self::Server(status) => LlmError::ServerError { status },
            Self::Timeout => LlmError::Timeout {
                timeout_secs: ceil_secs(ctx.timeout),
            },
            Self::Unreachable(detail) => LlmError::Unreachable {
                base_url: ctx.base_url.clone(),
                detail,
            },
            Self::Malformed(detail) => LlmError::Malformed { detail },
        }
    }
}

/// What the error messages need to know about the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorContext {
    /// Configured model name.
    pub model: String,
    /// Configured base URL.
    pub base_url: String,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

/// What the retry loop does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop with this error.
    GiveUp(LlmError),
}

/// Retry limits and backoff shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before retry number `n + 1` (step `n`) when the server names no wait.
    pub schedule: Backoff,
    /// Longest server-requested wait we accept; longer means give up at once.
    pub max_retry_wait: Duration,
}

impl RetryPolicy {
    /// `max_retries` retries; the backoff is `backoff_base * 2^n`, capped at `max_backoff`, then
    /// scaled by a factor in [0.75, 1.25) (±25% jitter).
    pub fn new(
        max_retries: u32,
        backoff_base: Duration,
        max_backoff: Duration,
        max_retry_wait: Duration,
    ) -> Self {
        Self {
            max_retries,
            schedule: Backoff::new(backoff_base, max_backoff).with_jitter(0.75, 1.25),
            max_retry_wait,
        }
    }

    /// Decide what to do after a failed attempt, `retries_done` retries having already been made.
    /// `retry_after` is the server's requested wait, `unit` a jitter draw in [0, 1).
    pub fn decide(
        &self,
        failure: Failure,
        retry_after: Option<Duration>,
        retries_done: u32,
        unit: f64,
        ctx: &ErrorContext,
    ) -> Decision {
        let wait = retry_after.unwrap_or_else(|| self.schedule.delay(retries_done, unit));
        let give_up = !failure.is_retryable()
            || retries_done >= self.max_retries
            || wait > self.max_retry_wait;
        if give_up {
            Decision::GiveUp(failure.into_error(ctx, wait))
        } else {
            Decision::Retry(wait)
        }
    }
}

/// Classify a non-2xx HTTP answer from its status, headers and body.
pub fn classify(status: u16, headers: &HeaderMap, body: &str) -> Failure {
    let info = ApiErrorInfo::parse(body);
    match status {
        429 if info.says("insufficient_quota") => Failure::QuotaExhausted,
        429 => Failure::RateLimited,
        402 => Failure::QuotaExhausted,
        401 | 403 => Failure::Unauthorized(status),
        404 => Failure::NotFound,
        408 | 409 | 500..=599 => Failure::Server(status),
        400 => Failure::BadRequest(format!("HTTP 400: {}", info.detail(body))),
        401..=499 => Failure::BadRequest(format!("HTTP {status}: {}", info.detail(body))),
        _ => Failure::Malformed(format!(
            "unexpected HTTP status {status}{}",
            content_type_note(headers)
        )),
    }
}

/// The wait the server asked for: `retry-after-ms` (milliseconds) first, then `Retry-After`
/// as seconds or as an HTTP date (relative to `now`). Unparseable or negative values are ignored;
/// a date in the past means "now".
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(parse_non_negative) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?;
    if let Some(secs) = parse_non_negative(value) {
        return Some(Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = UNIX_EPOCH.checked_add(Duration::from_millis(
        u64::try_from(date.timestamp_millis()).ok()?,
    ))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A finite, non-negative number of at most a year (larger values are treated as absurd but
/// still returned so the caller refuses them; `Duration` creation must not overflow).
fn parse_non_negative(text: &str) -> Option<f64> {
    const YEAR_SECS: f64 = 365.0 * 24.0 * 3600.0;
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value.min(YEAR_SECS * 1000.0))
}

/// Whole seconds, rounded up, at least 1 (so a message never says "0 s").
fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

fn content_type_note(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| format!(" ({ct})"))
        .unwrap_or_default()
}

/// The parts of an error body we look at. Accepts OpenAI's `{"error":{"message","type","code"}}`
/// as well as the `{"error":"text"}`, `{"message":..}` and `{"detail":..}` shapes of
/// compatible servers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ApiErrorInfo {
    code: Option<String>,
    kind: Option<String>,
    message: Option<String>,
}

impl ApiErrorInfo {
    fn parse(body: &str) -> Self {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
            return Self::default();
        };
        let field =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        match json.get("error") {
            Some(serde_json::Value::String(message)) => Self {
                message: Some(message.clone()),
                ..Self::default()
            },
            Some(error) => Self {
                code: field(error, "code"),
                kind: field(error, "type"),
                message: field(error, "message"),
            },
            None => Self {
                message: field(&json, "message").or_else(|| field(&json, "detail")),
                ..Self::default()
            },
        }
    }

    fn says(&self, what: &str) -> bool {
        self.code.as_deref() == Some(what) || self.kind.as_deref() == Some(what)
    }

    /// The provider's message, or the start of the raw body, on one line and bounded.
    fn detail(&self, body: &str) -> String {
        let text = self.message.as_deref().unwrap_or(body);
        let one_line = crate::text::one_line(text);
        if one_line.is_empty() {
            return "no details given".to_owned();
        }
        let mut out: String = one_line.chars().take(MAX_DETAIL_CHARS).collect();
        if one_line.chars().count() > MAX_DETAIL_CHARS {
            out.push('…');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).expect("valid header value"),
            );
        }
        map
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::new(
            2,
            Duration::from_millis(500),
            Duration::from_secs(8),
            Duration::from_secs(120),
        )
    }

    fn ctx() -> ErrorContext {
        ErrorContext {
            model: "gpt-x".into(),
            base_url: "http://h/v1".into(),
            timeout: Duration::from_millis(300),
        }
    }

    const QUOTA: &str = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;

    #[test]
    fn classifies_statuses() {
        let none = HeaderMap::new();
        let rate =
            r#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert_eq!(classify(429, &none, rate), Failure::RateLimited);
        assert_eq!(classify(429, &none, "not json"), Failure::RateLimited);
        assert_eq!(classify(429, &none, QUOTA), Failure::QuotaExhausted);
        let type_only = r#"{"error":{"message":"m","type":"insufficient_quota"}}"#;
        assert_eq!(classify(429, &none, type_only), Failure::QuotaExhausted);
        assert_eq!(classify(402, &none, ""), Failure::QuotaExhausted);
        assert_eq!(classify(401, &none, ""), Failure::Unauthorized(401));
        assert_eq!(classify(403, &none, ""), Failure::Unauthorized(403));
        assert_eq!(classify(404, &none, ""), Failure::NotFound);
        for s in [408, 409, 500, 502, 503, 504, 599] {
            assert_eq!(classify(s, &none, ""), Failure::Server(s), "status {s}");
        }
        let bad =
            r#"{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}"#;
        assert_eq!(
            classify(400, &none, bad),
            Failure::BadRequest("HTTP 400: max_tokens is too large".into())
        );
        assert_eq!(
            classify(422, &none, r#"{"detail":"field required"}"#),
            Failure::BadRequest("HTTP 422: field required".into())
        );
        assert!(matches!(classify(302, &none, ""), Failure::Malformed(_)));
    }

    #[test]
    fn error_details_are_bounded_and_one_line() {
        let none = HeaderMap::new();
        let Failure::BadRequest(d) = classify(400, &none, r#"{"error":"model\n  is   required"}"#)
        else {
            panic!("expected BadRequest")
        };
        assert_eq!(d, "HTTP 400: model is required");
        let long = "x".repeat(1000);
        let Failure::BadRequest(d) = classify(400, &none, &long) else {
            panic!("expected BadRequest")
        };
        assert_eq!(d.chars().count(), "HTTP 400: ".len() + MAX_DETAIL_CHARS + 1);
        let Failure::BadRequest(d) = classify(400, &none, "") else {
            panic!("expected BadRequest")
        };
        assert_eq!(d, "HTTP 400: no details given");
    }

    #[test]
    fn retryable_set() {
        assert!(Failure::RateLimited.is_retryable());
        assert!(Failure::Server(503).is_retryable());
        assert!(Failure::Timeout.is_retryable());
        assert!(Failure::Unreachable("refused".into()).is_retryable());
        assert!(!Failure::QuotaExhausted.is_retryable());
        assert!(!Failure::Unauthorized(401).is_retryable());
        assert!(!Failure::NotFound.is_retryable());
        assert!(!Failure::BadRequest(String::new()).is_retryable());
        assert!(!Failure::Malformed(String::new()).is_retryable());
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_000); // 2015-10-21 07:20:00 UTC
        let get = |pairs: &[(&'static str, &str)]| retry_after(&headers(pairs), now);
        assert_eq!(get(&[]), None);
        assert_eq!(get(&[("retry-after", "3")]), Some(Duration::from_secs(3)));
        assert_eq!(
            get(&[("retry-after", "1.5")]),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            get(&[("retry-after-ms", "200")]),
            Some(Duration::from_millis(200))
        );
        // retry-after-ms is the more precise one and wins.
        assert_eq!(
            get(&[("retry-after", "5"), ("retry-after-ms", "250")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            get(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            Some(Duration::from_secs(480))
        );
        assert_eq!(
            get(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(get(&[("retry-after", "-4")]), None);
        assert_eq!(get(&[("retry-after", "soon")]), None);
        assert_eq!(get(&[("retry-after", "NaN")]), None);
        assert!(get(&[("retry-after", "1e300")]).is_some_and(|d| d > Duration::from_secs(120)));
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let b = policy().schedule;
        assert_eq!(b.delay(0, 0.5), Duration::from_millis(500));
        assert_eq!(b.delay(1, 0.5), Duration::from_secs(1));
        assert_eq!(b.delay(3, 0.5), Duration::from_secs(4));
        assert_eq!(b.delay(4, 0.5), Duration::from_secs(8));
        assert_eq!(b.delay(40, 0.5), Duration::from_secs(8));
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(375));
        assert_eq!(b.delay(4, 0.0), Duration::from_secs(6));
        assert!(b.delay(4, 0.999_999) < Duration::from_secs(10));
        assert!(b.delay(4, 0.999_999) > Duration::from_millis(9_999));
    }

    #[test]
    fn decide_retries_then_gives_up() {
        let p = policy();
        let c = ctx();
        assert_eq!(
            p.decide(Failure::Server(500), None, 0, 0.5, &c),
            Decision::Retry(Duration::from_millis(500))
        );
        assert_eq!(
            p.decide(Failure::Server(500), None, 1, 0.5, &c),
            Decision::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            p.decide(Failure::Server(502), None, 2, 0.5, &c),
            Decision::GiveUp(LlmError::ServerError { status: 502 })
        );
    }

    #[test]
    fn decide_honours_and_caps_retry_after() {
        let p = policy();
        let c = ctx();
        let secs = Some(Duration::from_secs(7));
        assert_eq!(
            p.decide(Failure::RateLimited, secs, 0, 0.5, &c),
            Decision::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            p.decide(Failure::RateLimited, secs, 2, 0.5, &c),
            Decision::GiveUp(LlmError::RateLimited {
                retry_after_secs: 7
            })
        );
        let absurd = Some(Duration::from_secs(3600));
        assert_eq!(
            p.decide(Failure::RateLimited, absurd, 0, 0.5, &c),
            Decision::GiveUp(LlmError::RateLimited {
                retry_after_secs: 3600
            })
        );
        assert_eq!(
            p.decide(
                Failure::RateLimited,
                Some(Duration::from_millis(1)),
                2,
                0.5,
                &c
            ),
            Decision::GiveUp(LlmError::RateLimited {
                retry_after_secs: 1
            })
        );
    }

    #[test]
    fn decide_never_retries_final_failures() {
        let p = policy();
        let c = ctx();
        let cases = [
            (Failure::QuotaExhausted, LlmError::QuotaExhausted),
            (
                Failure::Unauthorized(401),
                LlmError::Unauthorized { status: 401 },
            ),
            (
                Failure::NotFound,
                LlmError::NotFound {
                    model: "gpt-x".into(),
                },
            ),
            (
                Failure::Malformed("bad".into()),
                LlmError::Malformed {
                    detail: "bad".into(),
                },
            ),
        ];
        for (failure, error) in cases {
            assert_eq!(p.decide(failure, None, 0, 0.5, &c), Decision::GiveUp(error));
        }
    }

    #[test]
    fn errors_carry_context() {
        let c = ctx();
        assert_eq!(
            Failure::Timeout.into_error(&c, Duration::ZERO),
            LlmError::Timeout { timeout_secs: 1 }
        );
        assert_eq!(
            Failure::Unreachable("connection refused".into()).into_error(&c, Duration::ZERO),
            LlmError::Unreachable {
                base_url: "http://h/v1".into(),
                detail: "connection refused".into()
            }
        );
        let zero_retries = RetryPolicy {
            max_retries: 0,
            ..policy()
        };
        assert_eq!(
            zero_retries.decide(Failure::Timeout, None, 0, 0.5, &c),
            Decision::GiveUp(LlmError::Timeout { timeout_secs: 1 })
        );
    }
}
