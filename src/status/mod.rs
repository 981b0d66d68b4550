//! The admin status page under `/status` on the webhook server: health, schedules, jobs and
//! plots behind a password login, with a JSON twin of every view under `/status/api/`.
//!
//! Only [`http`] sees rouille; the data gathering, views, plots, sessions and password hashing
//! are plain functions tested on their own.

pub mod data;
pub mod form;
pub mod html;
pub mod http;
pub mod password;
pub mod random;
pub mod session;
pub mod svg;
pub mod views;

use crate::config::Config;
use crate::webhook::ratelimit::RateLimiter;

use self::password::PasswordHash;
use self::session::Sessions;

/// The status page's settings and state, held by the webhook server.
#[derive(Debug)]
pub struct StatusSite {
    /// Serve the page at all.
    pub enabled: bool,
    password: Option<PasswordHash>,
    /// Logged-in sessions.
    pub sessions: Sessions,
    /// Login attempts per client address.
    pub login_limiter: RateLimiter,
    /// Always mark cookies `Secure`.
    pub secure_cookies: bool,
    /// `llm.daily_token_budget`, drawn on the token plot.
    pub daily_token_budget: u64,
}

impl StatusSite {
    /// The site for `config`; an unusable password hash on an enabled page is an error (config
    /// validation reports it first).
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let status = &config.status;
        let password = if status.enabled {
            let hash = PasswordHash::parse(status.password_hash.expose())
                .map_err(|e| format!("status.password_hash {e}"))?;
            Some(hash)
        } else {
            None
        };
        Ok(Self {
            enabled: status.enabled,
            password,
            sessions: Sessions::new(status.session_ttl),
            login_limiter: RateLimiter::new(status.login_attempts_per_minute),
            secure_cookies: status.secure_cookies,
            daily_token_budget: config.llm.daily_token_budget,
        })
    }

    /// True when `password` is the configured one (false when the page is off).
    pub fn check_password(&self, password: &str) -> bool {
        self.password.as_ref().is_some_and(|h| h.verify(password))
    }
}
