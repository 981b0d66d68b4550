//! HTTP pieces shared by the webhook server and the status page it serves: the JSON error answer
//! ([`ApiError`]) and per-client rate limits ([`RateLimiter`]).

pub mod errors;
pub mod ratelimit;

pub use errors::ApiError;
pub use ratelimit::RateLimiter;
