//! Authors' names the same whichever way a message came. Discord's precedence (server nickname,
//! then global display name, then username) on every path, and the server nicknames that REST
//! messages lack (Discord sends `member` only with MESSAGE_CREATE/UPDATE): remembered from
//! gateway messages and member fetches in a small expiring cache, else read from serenity's
//! cache, else fetched (`GET /guilds/{guild}/members/{user}`), once per author per backfill.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serenity::cache::Cache;
use serenity::model::channel::Message;

use super::post::{PostError, Poster};
use crate::model::{GuildId, UserId};

/// Members remembered at most; when full, expired entries go first, then the oldest.
pub const CAPACITY: usize = 512;
/// How long a remembered nickname is trusted: a renamed member shows the new name after this.
pub const TTL: Duration = Duration::from_secs(15 * 60);

/// The name Discord shows for an author: the server nickname, else the global display name;
/// `None` means the username. Blank names are skipped.
pub fn display_name(nick: Option<&str>, global_name: Option<&str>) -> Option<String> {
    [nick, global_name]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .map(str::to_owned)
}

/// What is known of a member's nickname: `Known(None)` is "they have none" (or left).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Known(Option<String>);

/// A bounded map from a member to their nickname (`None`: none, or no member any more), each
/// entry trusted for a limited time.
struct Recent {
    entries: HashMap<(GuildId, UserId), (Option<String>, Instant)>,
    capacity: usize,
    ttl: Duration,
}

impl Recent {
    fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            ttl,
        }
    }

    /// The nickname remembered for `key` at `now`, if still fresh.
    fn get(&self, key: (GuildId, UserId), now: Instant) -> Option<Known> {
        let (nick, at) = self.entries.get(&key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| Known(nick.clone()))
    }

    fn put(&mut self, key: (GuildId, UserId), nick: Option<String>, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity {
                let oldest = self.entries.iter().min_by_key(|(_, (_, at))| *at);
                if let Some(k) = oldest.map(|(k, _)| *k) {
                    self.entries.remove(&k);
                }
            }
        }
        self.entries.insert(key, (nick, now));
    }
}

/// Server nicknames of message authors, for messages that arrive without their member.
pub struct MemberNames {
    poster: Poster,
    /// serenity's cache once connected (members of GUILD_CREATE).
    cache: Arc<OnceLock<Arc<Cache>>>,
    recent: Mutex<Recent>,
}

impl MemberNames {
    /// Look-ups through `poster`, reading `cache` once it is set.
    pub fn new(poster: Poster, cache: Arc<OnceLock<Arc<Cache>>>) -> Self {
        Self {
            poster,
            cache,
            recent: Mutex::new(Recent::new(CAPACITY, TTL)),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A gateway message carried `user`'s member in `guild`: remember the nickname.
    pub fn remember(&self, guild: GuildId, user: UserId, nick: Option<String>) {
        self.recent().put((guild, user), nick, Instant::now());
    }

    /// `user`'s nickname in `guild`: remembered, else from serenity's cache, else fetched. None
    /// when they have none, are no member any more, or the fetch failed (logged).
    pub async fn nickname(&self, guild: GuildId, user: UserId) -> Option<String> {
        let known = self.recent().get((guild, user), Instant::now());
        if let Some(Known(nick)) = known.or_else(|| self.cached(guild, user)) {
            return nick;
        }
        match self.poster.guild_member(guild, user).await {
            Ok(member) => {
                let nick = member["nick"].as_str().map(str::to_owned);
                self.remember(guild, user, nick.clone());
                nick
            }
            Err(PostError::Status { status: 404, .. }) => {
                // Unknown Member: they left; the global name or username is shown.
                self.remember(guild, user, None);
                None
            }
            Err(e) => {
                tracing::warn!(guild_id = %guild, user_id = %user, error = %e,
                    "cannot look up a member's nickname; showing their global name");
                None
            }
        }
    }

    /// The nickname serenity's cache holds for a member it knows.
    fn cached(&self, guild: GuildId, user: UserId) -> Option<Known> {
        let cache = self.cache.get()?;
        let g = serenity::all::GuildId::new(std::num::NonZeroU64::new(guild.0)?.get());
        let u = serenity::all::UserId::new(std::num::NonZeroU64::new(user.0)?.get());
        let guild = cache.guild(g)?;
        guild.members.get(&u).map(|m| Known(m.nick.clone()))
    }
}

/// Nicknames for one backfill of one channel of `guild`: each distinct author is looked up at
/// most once, however many messages and pages they have.
pub struct Authors<'a> {
    names: &'a MemberNames,
    guild: Option<GuildId>,
    known: HashMap<UserId, Option<String>>,
}

impl<'a> Authors<'a> {
    /// Authors of a channel of `guild` (None: not a server's, no nicknames).
    pub fn new(names: &'a MemberNames, guild: Option<GuildId>) -> Self {
        Self {
            names,
            guild,
            known: HashMap::new(),
        }
    }

    /// The server the messages belong to (REST messages do not say).
    pub fn guild(&self) -> Option<GuildId> {
        self.guild
    }

    /// The nickname of `m`'s author: the member it carries, else looked up (once per author).
    /// None for webhooks (no members) and outside a server.
    pub async fn nick(&mut self, m: &Message) -> Option<String> {
        if let Some(member) = &m.member {
            return member.nick.clone();
        }
        let guild = self.guild.filter(|_| m.webhook_id.is_none())?;
        let user = UserId(m.author.id.get());
        if let Some(nick) = self.known.get(&user) {
            return nick.clone();
        }
        let nick = self.names.nickname(guild, user).await;
        self.known.insert(user, nick.clone());
        nick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickname_beats_global_name_beats_username() {
        assert_eq!(
            display_name(Some("Caz"), Some("Carol G")).as_deref(),
            Some("Caz")
        );
        assert_eq!(
            display_name(None, Some("Carol G")).as_deref(),
            Some("Carol G")
        );
        assert_eq!(display_name(None, None), None, "the username is shown");
        assert_eq!(
            display_name(Some("  "), Some("Carol G")).as_deref(),
            Some("Carol G"),
            "a blank nickname is no name"
        );
        assert_eq!(display_name(Some(""), Some("")), None);
    }

    const G: GuildId = GuildId(1);

    #[test]
    fn remembered_nicknames_expire() {
        let mut r = Recent::new(4, Duration::from_secs(60));
        let t0 = Instant::now();
        r.put((G, UserId(1)), Some("Caz".into()), t0);
        r.put((G, UserId(2)), None, t0);
        assert_eq!(r.get((G, UserId(1)), t0), Some(Known(Some("Caz".into()))));
        assert_eq!(
            r.get((G, UserId(2)), t0),
            Some(Known(None)),
            "no nickname is known too"
        );
        assert_eq!(r.get((GuildId(2), UserId(1)), t0), None, "per server");
        let later = t0 + Duration::from_secs(61);
        assert_eq!(r.get((G, UserId(1)), later), None);
    }

    #[test]
    fn the_cache_stays_bounded_dropping_expired_then_oldest() {
        let mut r = Recent::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            r.put((G, UserId(i)), None, t0 + Duration::from_secs(i));
        }
        r.put((G, UserId(10)), None, t0 + Duration::from_secs(5));
        assert_eq!(r.entries.len(), 3);
        assert!(!r.entries.contains_key(&(G, UserId(0))), "the oldest went");
        // Expired entries all go before a fresh one is evicted.
        let late = t0 + Duration::from_secs(63);
        r.put((G, UserId(11)), None, late);
        assert_eq!(r.entries.len(), 2, "{:?}", r.entries.keys());
        assert!(r.get((G, UserId(10)), late).is_some());
        for i in 0..1000 {
            r.put((G, UserId(100 + i)), None, late);
        }
        assert_eq!(r.entries.len(), 3);
    }
}
