//! The admin status page under `/status` on the webhook server: health, schedules, jobs and
//! plots behind a password login, with a JSON twin of every view under `/status/api/`.
//!
//! Only [`http`] sees rouille; the data gathering, views, plots and sessions are plain functions
//! tested on their own. The page reads only what [`StatusSite`] holds: never the webhook's secrets
//! or its job enqueuer.

pub mod data;
pub mod form;
pub mod html;
pub mod http;
pub mod session;
pub mod svg;
pub mod views;

use std::sync::Arc;

use crate::config::Config;
use crate::jobs::JobStats;
use crate::password::PasswordHash;
use crate::runtime::Runtime;
use crate::store::Store;
use crate::web::RateLimiter;

use self::session::Sessions;

/// The running parts the status page reads, handed over by whoever serves it.
pub struct Live {
    /// The database.
    pub store: Arc<Store>,
    /// Live Discord, scheduler and update state.
    pub runtime: Arc<Runtime>,
    /// The job workers' counters.
    pub jobs: Arc<JobStats>,
    /// Size of the worker pool.
    pub workers: usize,
}

/// Everything the status page reads: its settings, its sessions and the [`Live`] parts. Built
/// by the webhook server, which routes `/status` here.
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
    /// What the page shows.
    pub live: Live,
}

impl StatusSite {
    /// The site for `config` showing `live`; an unusable password hash on an enabled page is an
    /// error (config validation reports it first).
    pub fn new(config: &Config, live: Live) -> Result<Self, String> {
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
            live,
        })
    }

    /// True when `password` is the configured one (false when the page is off).
    pub fn check_password(&self, password: &str) -> bool {
        self.password.as_ref().is_some_and(|h| h.verify(password))
    }
}
