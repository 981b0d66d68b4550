//! Channel and guild metadata, keyed by channel id.

use redb::ReadableTable;

use super::schema::CHANNELS;
use super::{codec, OrStore, Store, StoreError};
use crate::model::{ChannelId, ChannelInfo};

/// Record name used in decode errors.
const WHAT: &str = "channel";

impl Store {
    /// Insert or replace what is known about a channel.
    pub fn put_channel(&self, info: &ChannelInfo) -> Result<(), StoreError> {
        self.put_channels(std::slice::from_ref(info))
    }

    /// Insert or replace several channels in one transaction (a guild's channels arrive
    /// together on connect: one commit, not one per channel).
    pub fn put_channels(&self, infos: &[ChannelInfo]) -> Result<(), StoreError> {
        if infos.is_empty() {
            return Ok(());
        }
        let encoded = infos
            .iter()
            .map(|info| codec::encode(WHAT, info).map(|bytes| (info.id.0, bytes)))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(|txn| {
            let mut table = txn.open_table(CHANNELS).or_store()?;
            for (id, bytes) in &encoded {
                table.insert(*id, bytes.as_slice()).or_store()?;
            }
            Ok(())
        })
    }

    /// One channel's metadata, if known.
    pub fn channel(&self, id: ChannelId) -> Result<Option<ChannelInfo>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(CHANNELS).or_store()?;
            let value = table.get(id.0).or_store()?;
            value.map(|v| codec::decode(WHAT, v.value())).transpose()
        })
    }

    /// Every known channel, by id.
    pub fn channels(&self) -> Result<Vec<ChannelInfo>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(CHANNELS).or_store()?;
            table
                .iter()
                .or_store()?
                .map(|e| codec::decode(WHAT, e.or_store()?.1.value()))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ChannelId, ChannelInfo, GuildId};
    use crate::store::test_support::temp_store;

    fn info(id: u64, name: &str) -> ChannelInfo {
        ChannelInfo {
            id: ChannelId(id),
            guild_id: Some(GuildId(7)),
            guild_name: Some("guild".into()),
            name: name.into(),
            topic: None,
            parent_id: (id > 5).then_some(ChannelId(1)),
        }
    }

    #[test]
    fn put_get_list_replace() {
        let (_d, s) = temp_store();
        s.put_channel(&info(9, "thread")).expect("put");
        s.put_channel(&info(1, "general")).expect("put");
        s.put_channel(&info(1, "renamed")).expect("replace");
        assert_eq!(
            s.channel(ChannelId(9)).expect("get"),
            Some(info(9, "thread"))
        );
        assert_eq!(s.channel(ChannelId(2)).expect("get"), None);
        assert_eq!(
            s.channels().expect("list"),
            vec![info(1, "renamed"), info(9, "thread")]
        );
    }
}
