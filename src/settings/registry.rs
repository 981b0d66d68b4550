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
}

impl Registry {
    /// Load every server's settings from `store`.
    pub fn load(store: Arc<Store>) -> Result<Self, StoreError> {
        let all = store.all_guild_settings()?;
        let opted_out = all
            .iter()
            .flat_map(|(_, s)| s.opted_out.iter().copied())
            .collect();
        let guilds = all.into_iter().map(|(g, s)| (g, Arc::new(s))).collect();
        Ok(Self {
            store,
            guilds: RwLock::new(guilds),
            opted_out: RwLock::new(opted_out),
        })
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
