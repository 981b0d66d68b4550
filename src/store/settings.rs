//! Per-server settings, keyed by guild id: stored and loaded as [`GuildSettings`] values; what
//! they mean and how they change belongs to the settings module.

use std::collections::{BTreeMap, BTreeSet};

use redb::ReadableTable;
use serde::Deserialize;

use super::schema::GUILD_SETTINGS;
use super::{codec, OrStore, Store, StoreError};
use crate::model::{ChangeRecord, ChannelId, ChannelKind, GuildId, GuildSettings};

/// One server's settings as read by [`Store::each_guild_settings`]: decoded, or why not.
pub type EachSettings = (GuildId, Result<GuildSettings, StoreError>);

/// Record name used in decode errors.
const WHAT: &str = "server settings";

/// Settings as written before `personal_digests_off` existed. Postcard stores fields in order
/// without names, so such a record ends where the new field would begin: it is read with this
/// layout and means "personal digests on". Written back in the current layout by the next change.
#[derive(Deserialize)]
struct SettingsV1 {
    language: Option<String>,
    default_hours: Option<u32>,
    cooldown_ms: Option<u64>,
    daily_token_budget: Option<u64>,
    channel_kinds: BTreeMap<ChannelId, ChannelKind>,
    opted_out: BTreeSet<ChannelId>,
    schedule_manager_role: Option<u64>,
    changes: BTreeMap<String, ChangeRecord>,
}

impl From<SettingsV1> for GuildSettings {
    fn from(s: SettingsV1) -> Self {
        Self {
            language: s.language,
            default_hours: s.default_hours,
            cooldown_ms: s.cooldown_ms,
            daily_token_budget: s.daily_token_budget,
            channel_kinds: s.channel_kinds,
            opted_out: s.opted_out,
            schedule_manager_role: s.schedule_manager_role,
            changes: s.changes,
            personal_digests_off: false,
        }
    }
}

/// Stored settings in the current layout, else in the layout before `personal_digests_off`
/// (decoding refuses both missing and trailing bytes, so the two cannot be confused).
pub(super) fn decode(bytes: &[u8]) -> Result<GuildSettings, StoreError> {
    codec::decode::<GuildSettings>(WHAT, bytes).or_else(|current| {
        codec::decode::<SettingsV1>(WHAT, bytes)
            .map(GuildSettings::from)
            .map_err(|_| current)
    })
}

impl Store {
    /// One server's stored settings, if it ever changed any.
    pub fn guild_settings(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(GUILD_SETTINGS).or_store()?;
            let value = table.get(guild.0).or_store()?;
            value.map(|v| decode(v.value())).transpose()
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
                    Ok((GuildId(key.value()), decode(value.value())))
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
                Some(v) => decode(v.value())?,
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

    /// The fields of `GuildSettings` before `personal_digests_off`, as the previous release
    /// serialized them.
    #[derive(serde::Serialize)]
    struct OldSettings {
        language: Option<String>,
        default_hours: Option<u32>,
        cooldown_ms: Option<u64>,
        daily_token_budget: Option<u64>,
        channel_kinds: std::collections::BTreeMap<ChannelId, crate::model::ChannelKind>,
        opted_out: std::collections::BTreeSet<ChannelId>,
        schedule_manager_role: Option<u64>,
        changes: std::collections::BTreeMap<String, ChangeRecord>,
    }

    #[test]
    fn settings_stored_before_personal_digests_existed_still_load_with_them_on() {
        let (_d, s) = temp_store();
        let old = OldSettings {
            language: Some("German".into()),
            default_hours: Some(6),
            cooldown_ms: None,
            daily_token_budget: Some(10),
            channel_kinds: std::collections::BTreeMap::default(),
            opted_out: [ChannelId(3)].into(),
            schedule_manager_role: Some(4),
            changes: std::collections::BTreeMap::default(),
        };
        let bytes = crate::store::codec::encode("server settings", &old).expect("encode");
        s.put_raw_guild_settings(GuildId(1), &bytes).expect("raw");
        let back = s.guild_settings(GuildId(1)).expect("read").expect("stored");
        assert_eq!(back.language.as_deref(), Some("German"));
        assert!(back.opted_out.contains(&ChannelId(3)));
        assert!(!back.personal_digests_off);
        // The next change writes the current layout, keeping the old values.
        let changed = s
            .update_guild_settings(GuildId(1), |g| g.personal_digests_off = true)
            .expect("write");
        assert_eq!(changed.schedule_manager_role, Some(4));
        let again = s.guild_settings(GuildId(1)).expect("read").expect("stored");
        assert!(again.personal_digests_off);
    }
}
