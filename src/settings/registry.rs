//! The bot's in-memory view of every server's settings, loaded once from the store and written
//! through on each change (which is also logged with who made it).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use crate::model::{ChannelId, GuildId, Timestamp, UserId};
use crate::store::{Store, StoreError};

use super::{Change, GuildSettings};

/// Every server's settings, shared by the gateway handlers and commands.
#[derive(Debug)]
pub struct Registry {
    store: Arc<Store>,
    guilds: RwLock<HashMap<GuildId, Arc<GuildSettings>>>,
    /// Opted-out channels of every server (channel ids are unique across servers), checked on
    /// every ingested event.
    opted_out: RwLock<HashSet<ChannelId>>,
    /// Servers whose stored settings could not be read, with why: nothing of theirs is stored
    /// or summarized until they are fixed (when in doubt, refuse).
    unreadable: RwLock<HashMap<GuildId, String>>,
}

impl Registry {
    /// Load every server's settings from `store`.
    pub fn load(store: Arc<Store>) -> Result<Self, StoreError> {
        let mut all = Vec::new();
        let mut unreadable = HashMap::new();
        for (guild, settings) in store.each_guild_settings()? {
            match settings {
                Ok(settings) => all.push((guild, settings)),
                Err(e) => {
                    tracing::error!(guild_id = %guild, error = %e,
                        "this server's settings cannot be read; nothing of it is stored or summarized");
                    unreadable.insert(guild, e.to_string());
                }
            }
        }
        let opted_out = all
            .iter()
            .flat_map(|(_, s)| s.opted_out.iter().copied())
            .collect();
        let guilds = all.into_iter().map(|(g, s)| (g, Arc::new(s))).collect();
        Ok(Self {
            store,
            guilds: RwLock::new(guilds),
            opted_out: RwLock::new(opted_out),
            unreadable: RwLock::new(unreadable),
        })
    }

    /// A server's settings, or why they cannot be read (then nothing of the server may be
    /// stored or summarized).
    pub fn lookup(&self, guild: GuildId) -> Result<Arc<GuildSettings>, String> {
        if let Some(why) = self
            .unreadable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&guild)
        {
            return Err(why.clone());
        }
        Ok(self.get(guild))
    }

    /// A server's settings (all unset when it never changed any).
    pub fn get(&self, guild: GuildId) -> Arc<GuildSettings> {
        self.guilds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// True when some server opted `channel` out.
    pub fn is_opted_out(&self, channel: ChannelId) -> bool {
        self.opted_out
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&channel)
    }

    /// When `channel` was last opted back in by its server, if ever (and not opted out now).
    pub fn opted_in_at(&self, channel: ChannelId) -> Option<Timestamp> {
        self.guilds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find_map(|s| s.opted_in_at(channel))
    }

    /// Apply `change` by `by` to `guild`; see [`Registry::change_all`].
    pub fn change(
        &self,
        guild: GuildId,
        change: &Change,
        by: UserId,
    ) -> Result<Arc<GuildSettings>, StoreError> {
        self.change_all(guild, std::slice::from_ref(change), by)
    }

    /// Apply `changes` by `by` to `guild`, all or none: written to the store in one
    /// transaction first, then to memory, then each logged. Returns the settings now in force.
    pub fn change_all(
        &self,
        guild: GuildId,
        changes: &[Change],
        by: UserId,
    ) -> Result<Arc<GuildSettings>, StoreError> {
        let now = Timestamp::now();
        let written = Arc::new(self.store.update_guild_settings(guild, |s| {
            for change in changes {
                s.apply(change, by, now);
            }
        })?);
        {
            let mut opted = self
                .opted_out
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for change in changes {
                match change {
                    Change::OptOut(c) => {
                        opted.insert(*c);
                    }
                    Change::OptIn(c) => {
                        opted.remove(c);
                    }
                    _ => {}
                }
            }
        }
        self.guilds
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(guild, Arc::clone(&written));
        self.unreadable
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&guild);
        for change in changes {
            tracing::info!(guild_id = %guild, user_id = %by, setting = %change.key(),
                value = %change.shown_value(), "server setting changed");
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[test]
    fn a_damaged_record_makes_only_its_server_unreadable() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        store
            .update_guild_settings(GuildId(1), |s| {
                s.apply(&Change::OptOut(ChannelId(5)), UserId(2), Timestamp(0));
            })
            .expect("settings");
        store
            .put_raw_guild_settings(GuildId(2), &[1, 0xFF, 0xFF, 0xFF])
            .expect("damage");
        let reg = Registry::load(store).expect("load");
        assert!(reg.lookup(GuildId(1)).is_ok());
        assert!(reg.is_opted_out(ChannelId(5)));
        let why = reg.lookup(GuildId(2)).expect_err("damaged");
        assert!(why.contains("server settings"), "{why}");
    }

    #[test]
    fn changes_are_written_through_and_survive_a_reload() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let reg = Registry::load(Arc::clone(&store)).expect("load");
        assert_eq!(*reg.get(GuildId(1)), GuildSettings::default());
        reg.change(GuildId(1), &Change::OptOut(ChannelId(5)), UserId(2))
            .expect("change");
        reg.change(GuildId(1), &Change::Window(Some(3)), UserId(2))
            .expect("change");
        assert!(reg.is_opted_out(ChannelId(5)));
        assert_eq!(reg.get(GuildId(1)).default_hours, Some(3));

        let again = Registry::load(Arc::clone(&store)).expect("reload");
        assert!(again.is_opted_out(ChannelId(5)));
        assert_eq!(again.get(GuildId(1)).default_hours, Some(3));
        again
            .change(GuildId(1), &Change::OptIn(ChannelId(5)), UserId(2))
            .expect("change");
        assert!(!again.is_opted_out(ChannelId(5)));
        assert!(!Registry::load(store)
            .expect("reload")
            .is_opted_out(ChannelId(5)));
    }
}
