//! Admission: the one rule deciding whether a channel (or a thread of it) may be stored and
//! summarized — not excluded by the operator, not opted out by its server — with one failure
//! policy: when the server's settings cannot be read, refuse and say why.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::model::{ChannelId, ChannelInfo, GuildId, Timestamp};
use crate::settings::{GuildSettings, Registry};
use crate::store::{Store, StoreError};

/// The operator's exclusions and every server's settings: what admission decides on.
#[derive(Debug)]
pub struct Admission {
    excluded: HashSet<ChannelId>,
    settings: Arc<Registry>,
}

impl Admission {
    /// Load every server's settings from `store` (a damaged record makes only its server
    /// unreadable) and take the operator's `summary.exclude_channels`.
    pub fn load(config: &Config, store: Arc<Store>) -> Result<Self, StoreError> {
        Ok(Self {
            excluded: config.summary.exclude_channels.iter().copied().collect(),
            settings: Arc::new(Registry::load(store)?),
        })
    }

    /// May `channel` (its `parent_id` set for a thread) be stored and summarized? Returns the
    /// server's settings in force when it may (the defaults outside a server).
    pub fn check(&self, channel: &ChannelInfo) -> Result<Arc<GuildSettings>, Barred> {
        let settings = match channel.guild_id {
            Some(guild) => self.settings.lookup(guild).map(Some),
            None => Ok(None),
        };
        decide(&self.excluded, channel, settings).map(Option::unwrap_or_default)
    }

    /// Every server's settings (changed through it by `/summarybot`).
    pub fn settings(&self) -> &Arc<Registry> {
        &self.settings
    }

    /// When `channel` (or the channel of a thread) was last opted back in, if ever.
    pub fn opted_in(&self, channel: &ChannelInfo) -> Option<Timestamp> {
        std::iter::once(channel.id)
            .chain(channel.parent_id)
            .filter_map(|c| self.settings.opted_in_at(c))
            .max()
    }
}

/// Why a channel may be neither stored nor summarized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Barred {
    /// In `summary.exclude_channels` (the channel itself, or the channel of a thread).
    Excluded {
        /// The channel that is listed.
        listed: ChannelId,
    },
    /// Opted out by its server with `/summarybot optout` (itself, or the channel of a thread).
    OptedOut {
        /// The channel that is opted out.
        opted_out: ChannelId,
    },
    /// The server's stored settings cannot be read, so its opt-outs are unknown.
    SettingsUnreadable {
        /// The server.
        guild: GuildId,
        /// What went wrong reading them.
        reason: String,
    },
}

impl Barred {
    /// Trying again later cannot help (the operator or the server decided); an unreadable
    /// settings record may be repaired, but nothing is summarized until it is.
    pub fn is_decision(&self) -> bool {
        !matches!(self, Self::SettingsUnreadable { .. })
    }

    /// The text shown to a Discord member, who may not know the channel ids involved.
    pub fn user_message(&self, target: ChannelId) -> String {
        match self {
            Self::Excluded { .. } => format!("<#{target}> is excluded from summaries."),
            Self::OptedOut { .. } => format!(
                "<#{target}> is opted out of summaries on this server; someone with Manage \
                 Channels can run `/summarybot optin` to allow them again."
            ),
            Self::SettingsUnreadable { .. } => format!(
                "<#{target}> cannot be summarized right now: this server's summarybot settings \
                 cannot be read, so it is unknown whether the channel is opted out. The bot's \
                 operator has the details in the log."
            ),
        }
    }
}

impl fmt::Display for Barred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Excluded { listed } => write!(
                f,
                "channel {listed} is excluded from summaries (summary.exclude_channels)"
            ),
            Self::OptedOut { opted_out } => write!(
                f,
                "channel {opted_out} is opted out of summaries on its server (/summarybot optin allows them again)"
            ),
            Self::SettingsUnreadable { guild, reason } => write!(
                f,
                "the settings of server {guild} cannot be read ({reason}), so whether the channel is opted out is unknown; \
                 nothing of that server is summarized until they can be read (check the database with `summarybot db verify`)"
            ),
        }
    }
}

/// Decide for `channel` (its `parent_id` set for a thread): `excluded` is the operator's list,
/// `settings` the server's settings or why they could not be read (`Ok(None)`: outside a
/// server). Returns the server's settings when allowed.
pub fn decide<S: AsRef<GuildSettings>, H: std::hash::BuildHasher>(
    excluded: &HashSet<ChannelId, H>,
    channel: &ChannelInfo,
    settings: Result<Option<S>, String>,
) -> Result<Option<S>, Barred> {
    let lineage = std::iter::once(channel.id).chain(channel.parent_id);
    if let Some(listed) = lineage.clone().find(|c| excluded.contains(c)) {
        return Err(Barred::Excluded { listed });
    }
    let settings = settings.map_err(|reason| Barred::SettingsUnreadable {
        guild: channel.guild_id.unwrap_or(GuildId(0)),
        reason,
    })?;
    if let Some(s) = &settings {
        if let Some(opted_out) = lineage.clone().find(|c| s.as_ref().is_opted_out(*c)) {
            return Err(Barred::OptedOut { opted_out });
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Timestamp, UserId};
    use crate::settings::Change;
    use std::sync::Arc;

    fn info(id: u64, parent: Option<u64>) -> ChannelInfo {
        ChannelInfo {
            parent_id: parent.map(ChannelId),
            ..ChannelInfo::unknown(ChannelId(id), Some(GuildId(1)))
        }
    }

    #[test]
    fn the_rule_covers_channels_threads_and_unreadable_settings() {
        let excluded: HashSet<ChannelId> = [ChannelId(7)].into();
        let mut settings = GuildSettings::default();
        settings.apply(&Change::OptOut(ChannelId(5)), UserId(2), Timestamp(0));
        let settings = Arc::new(settings);
        let ok = || Ok(Some(Arc::clone(&settings)));
        let d = |c: ChannelInfo| decide(&excluded, &c, ok());
        assert_eq!(
            d(info(7, None)).expect_err("excluded"),
            Barred::Excluded {
                listed: ChannelId(7)
            }
        );
        assert_eq!(
            d(info(8, Some(7))).expect_err("thread of excluded"),
            Barred::Excluded {
                listed: ChannelId(7)
            }
        );
        assert_eq!(
            d(info(5, None)).expect_err("opted out"),
            Barred::OptedOut {
                opted_out: ChannelId(5)
            }
        );
        assert_eq!(
            d(info(6, Some(5))).expect_err("thread of opted out"),
            Barred::OptedOut {
                opted_out: ChannelId(5)
            }
        );
        assert!(d(info(4, None)).is_ok());
        let unreadable =
            decide::<Arc<GuildSettings>, _>(&excluded, &info(4, None), Err("bad record".into()))
                .expect_err("refused");
        assert!(!unreadable.is_decision());
        assert!(unreadable.to_string().contains("bad record"));
        // The operator's exclusion is known without the server's settings.
        assert!(matches!(
            decide::<Arc<GuildSettings>, _>(&excluded, &info(7, None), Err("x".into())),
            Err(Barred::Excluded { .. })
        ));
        // Outside a server there are no opt-outs.
        assert!(decide::<Arc<GuildSettings>, _>(&excluded, &info(4, None), Ok(None)).is_ok());
    }
}
