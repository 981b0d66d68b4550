//! Logged-in sessions: a bounded in-memory table of random session ids (kept only as SHA-256
//! digests) with an expiry and a per-session CSRF token. A restart logs everyone out.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Most sessions kept; the one closest to expiry is dropped to make room.
pub const MAX_SESSIONS: usize = 256;

/// One session.
#[derive(Clone, Debug)]
struct Session {
    csrf: String,
    expires: Instant,
}

/// A new session's secrets, for the cookie and the forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The cookie value.
    pub id: String,
    /// The token every form of this session must carry.
    pub csrf: String,
}

/// The session table.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    table: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// An empty table whose sessions last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Start a session at `now`, evicting expired ones (and the oldest when full).
    pub fn create(&self, now: Instant) -> Result<NewSession, String> {
        let session = NewSession {
            id: crate::random::token()?,
            csrf: crate::random::token()?,
        };
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.retain(|_, s| s.expires > now);
        if table.len() >= MAX_SESSIONS {
            if let Some(oldest) = table.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) {
                table.remove(&oldest);
            }
        }
        table.insert(
            digest(&session.id),
            Session {
                csrf: session.csrf.clone(),
                expires: now + self.ttl,
            },
        );
        Ok(session)
    }

    /// The CSRF token of the live session `id` at `now`; None when unknown or expired.
    pub fn csrf(&self, id: &str, now: Instant) -> Option<String> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let key = digest(id);
        match table.get(&key) {
            Some(s) if s.expires > now => Some(s.csrf.clone()),
            Some(_) => {
                table.remove(&key);
                None
            }
            None => None,
        }
    }

    /// End the session `id` (logout).
    pub fn remove(&self, id: &str) {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest(id));
    }

    /// Sessions currently held (live or not yet evicted).
    pub fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The table key of a session id.
fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end_on_logout() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let s = sessions.create(t0).expect("session");
        assert_eq!(sessions.csrf(&s.id, t0), Some(s.csrf.clone()));
        assert_eq!(sessions.csrf("not-a-session", t0), None);
        assert_eq!(sessions.csrf(&s.id, t0 + Duration::from_secs(61)), None);
        assert!(
            sessions.is_empty(),
            "an expired session is dropped when seen"
        );
        let s = sessions.create(t0).expect("session");
        sessions.remove(&s.id);
        assert_eq!(sessions.csrf(&s.id, t0), None);
    }

    #[test]
    fn the_table_is_bounded_and_drops_the_oldest() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let first = sessions.create(t0).expect("session");
        for i in 1..=MAX_SESSIONS {
            sessions
                .create(t0 + Duration::from_millis(i as u64))
                .expect("session");
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert_eq!(sessions.csrf(&first.id, t0), None, "the oldest made room");
    }
}
