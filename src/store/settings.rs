//! Per-server settings, keyed by guild id: stored and loaded as [`GuildSettings`] values; what
//! they mean and how they change belongs to the settings module.

use redb::ReadableTable;

use super::schema::GUILD_SETTINGS;
use super::{codec, OrStore, Store, StoreError};
use crate::model::{GuildId, GuildSettings};

/// One server's settings as read by [`Store::each_guild_settings`]: decoded, or why not.
pub type EachSettings = (GuildId, Result<GuildSettings, StoreError>);

/// Record name used in decode errors.
const WHAT: &str = "server settings";

impl Store {
    /// One server's stored settings, if it ever changed any.
    pub fn guild_settings(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(GUILD_SETTINGS).or_store()?;
            let value = table.get(guild.0).or_store()?;
            value.map(|v| codec::decode(WHAT, v.value())).transpose()
        })
    }

    /// Every server's stored settings, by guild id; fails on the first damaged record (see
    /// [`Store::each_guild_settings`] to read past one).
    pub fn all_guild_settings(&self) -> Result<Vec<(GuildId, GuildSettings)>, StoreError> {
        self.each_guild_settings()?
            .into_iter()
            .map(|(guild, settings)| Ok((guild, settings?)))
            .collect()
    }

    /// Every server's stored settings, by guild id, each decoded on its own: one damaged record
    /// is reported for its server instead of failing them all.
    pub fn each_guild_settings(&self) -> Result<Vec<EachSettings>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(GUILD_SETTINGS).or_store()?;
            table
                .iter()
                .or_store()?
                .map(|entry| {
                    let (key, value) = entry.or_store()?;
                    Ok((GuildId(key.value()), codec::decode(WHAT, value.value())))
                })
                .collect()
        })
    }

    /// Overwrite one server's stored settings with raw bytes (tests of damaged records only).
    #[doc(hidden)]
    pub fn put_raw_guild_settings(&self, guild: GuildId, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(GUILD_SETTINGS).or_store()?;
            table.insert(guild.0, bytes).or_store()?;
            Ok(())
        })
    }

    /// Change one server's settings with `f` in one write transaction (read, modify, write), so
    /// concurrent changes never lose each other. Returns the settings as written.
    pub fn update_guild_settings(
        &self,
        guild: GuildId,
        f: impl FnOnce(&mut GuildSettings),
    ) -> Result<GuildSettings, StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(GUILD_SETTINGS).or_store()?;
            let mut settings: GuildSettings = match table.get(guild.0).or_store()? {
                Some(v) => codec::decode(WHAT, v.value())?,
                None => GuildSettings::default(),
            };
            f(&mut settings);
            let bytes = codec::encode(WHAT, &settings)?;
            table.insert(guild.0, bytes.as_slice()).or_store()?;
            Ok(settings)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ChangeRecord, ChannelId, GuildId, Timestamp, UserId};
    use crate::store::test_support::temp_store;

    #[test]
    fn settings_round_trip_per_guild() {
        let (_d, s) = temp_store();
        assert_eq!(s.guild_settings(GuildId(1)).expect("read"), None);
        let written = s
            .update_guild_settings(GuildId(1), |g| {
                g.default_hours = Some(6);
                g.opted_out.insert(ChannelId(3));
                g.changes.insert(
                    "window".into(),
                    ChangeRecord {
                        by: UserId(5),
                        at: Timestamp(9),
                        value: "6 h".into(),
                    },
                );
            })
            .expect("write");
        s.update_guild_settings(GuildId(2), |g| g.language = Some("German".into()))
            .expect("write");
        let back = s.guild_settings(GuildId(1)).expect("read").expect("stored");
        assert_eq!(back, written);
        assert_eq!(back.default_hours, Some(6));
        assert!(back.opted_out.contains(&ChannelId(3)));
        assert_eq!(back.changes["window"].by, UserId(5));
        let all = s.all_guild_settings().expect("list");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].1.language.as_deref(), Some("German"));
    }

    #[test]
    fn an_update_starts_from_the_stored_value() {
        let (_d, s) = temp_store();
        s.update_guild_settings(GuildId(1), |g| g.default_hours = Some(6))
            .expect("write");
        let both = s
            .update_guild_settings(GuildId(1), |g| g.cooldown_ms = Some(1000))
            .expect("write");
        assert_eq!(
            (both.default_hours, both.cooldown_ms),
            (Some(6), Some(1000))
        );
    }
}
