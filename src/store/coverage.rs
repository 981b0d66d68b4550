//! Coverage: per channel, the span of time whose messages are all stored, so a restart neither
//! fetches a covered window again nor trusts an uncovered one.

use super::schema::COVERAGE;
use super::{OrStore, Store, StoreError};
use crate::model::{ChannelId, Timestamp};

/// A span `[since, through]` of a channel whose messages are all stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Every message from here on...
    pub since: Timestamp,
    /// ...up to here is stored.
    pub through: Timestamp,
}

impl Store {
    /// The stored coverage of `channel`, if any.
    pub fn coverage(&self, channel: ChannelId) -> Result<Option<Span>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(COVERAGE).or_store()?;
            Ok(table.get(channel.0).or_store()?.map(|v| {
                let (since, through) = v.value();
                Span {
                    since: Timestamp(since),
                    through: Timestamp(through),
                }
            }))
        })
    }

    /// Record several channels' coverage in one transaction (replacing what was recorded).
    pub fn put_coverage(&self, spans: &[(ChannelId, Span)]) -> Result<(), StoreError> {
        if spans.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            let mut table = txn.open_table(COVERAGE).or_store()?;
            for (channel, span) in spans {
                table
                    .insert(channel.0, (span.since.0, span.through.0))
                    .or_store()?;
            }
            Ok(())
        })
    }

    /// Forget every channel's coverage (an opt-out deleted messages, an opt-in left a gap).
    pub fn clear_coverage(&self) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(COVERAGE).or_store()?;
            table.retain(|_, _| false).or_store()?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[test]
    fn coverage_is_recorded_replaced_cleared_and_survives_a_reopen() {
        let (dir, store) = temp_store();
        let span = |a, b| Span {
            since: Timestamp(a),
            through: Timestamp(b),
        };
        assert_eq!(store.coverage(ChannelId(1)).expect("read"), None);
        store
            .put_coverage(&[(ChannelId(1), span(10, 20)), (ChannelId(2), span(5, 6))])
            .expect("put");
        store
            .put_coverage(&[(ChannelId(1), span(10, 30))])
            .expect("replace");
        let path = store.path().to_path_buf();
        drop(store);
        let store = Store::open(&path).expect("reopen");
        assert_eq!(
            store.coverage(ChannelId(1)).expect("read"),
            Some(span(10, 30))
        );
        assert_eq!(
            store.coverage(ChannelId(2)).expect("read"),
            Some(span(5, 6))
        );
        store.clear_coverage().expect("clear");
        assert_eq!(store.coverage(ChannelId(1)).expect("read"), None);
        drop(dir);
    }
}
