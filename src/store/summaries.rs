//! The summary cache: entries with an expiry, evicted oldest-first beyond a size limit and
//! invalidated per channel when its messages change.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::schema::{next_id, SUMMARIES, SUMMARY_CHANNELS, SUMMARY_EXPIRY, SUMMARY_ORDER};
use super::{codec, OrStore, Store, StoreError};
use crate::model::{
    ChannelId, ChannelInfo, MessageId, Point, Section, SectionKind, Summary, TimeWindow, Timestamp,
    TokenUsage,
};

/// Record name used in decode errors.
const WHAT: &str = "cached summary";
/// Meta counter giving each cache entry its insertion sequence.
const SEQ_COUNTER: &str = "summary_seq";

/// A point's text and citations.
type StoredPoint = (String, Vec<MessageId>);

/// The stored form of a [`Summary`]. The model type skips empty fields when serialized, which
/// a non-self-describing format such as postcard cannot read back, so every field is kept here.
#[derive(Serialize, Deserialize)]
struct StoredSummary {
    channel: ChannelInfo,
    window: TimeWindow,
    message_count: u64,
    participants: Vec<String>,
    sections: Vec<(SectionKind, Vec<StoredPoint>)>,
    provider: String,
    model: String,
    usage: TokenUsage,
    fallback_reason: Option<String>,
    created_at: Timestamp,
}

impl From<&Summary> for StoredSummary {
    fn from(s: &Summary) -> Self {
        Self {
            channel: s.channel.clone(),
            window: s.window,
            message_count: s.message_count as u64,
            participants: s.participants.clone(),
            sections: s
                .sections
                .iter()
                .map(|sec| {
                    let points = sec
                        .points
                        .iter()
                        .map(|p| (p.text.clone(), p.citations.clone()));
                    (sec.kind, points.collect())
                })
                .collect(),
            provider: s.provider.clone(),
            model: s.model.clone(),
            usage: s.usage,
            fallback_reason: s.fallback_reason.clone(),
            created_at: s.created_at,
        }
    }
}

impl StoredSummary {
    /// Back to the model type, marked as served from the cache.
    fn into_summary(self) -> Summary {
        Summary {
            channel: self.channel,
            window: self.window,
            message_count: usize::try_from(self.message_count).unwrap_or(usize::MAX),
            participants: self.participants,
            sections: self
                .sections
                .into_iter()
                .map(|(kind, points)| Section {
                    kind,
                    points: points
                        .into_iter()
                        .map(|(text, citations)| Point { text, citations })
                        .collect(),
                })
                .collect(),
            provider: self.provider,
            model: self.model,
            usage: self.usage,
            cached: true,
            fallback_reason: self.fallback_reason,
            focus: None,
            created_at: self.created_at,
            // Not stored: the cache key covers the language and the messages, so the engine
            // fills both in from the request on a hit.
            language: None,
            withheld: 0,
            left_out: 0,
            cache_entry: None,
        }
    }
}

impl Store {
    /// The cached summary under `key`, marked `cached`; None when absent or expired at `now`.
    pub fn cached_summary(&self, key: &str, now: Timestamp) -> Result<Option<Summary>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(SUMMARIES).or_store()?;
            let Some(entry) = table.get(key).or_store()? else {
                return Ok(None);
            };
            let (_, _, expires_at, bytes) = entry.value();
            if expires_at <= now.0 {
                return Ok(None);
            }
            let stored: StoredSummary = codec::decode(WHAT, bytes)?;
            Ok(Some(stored.into_summary()))
        })
    }

    /// Cache `summary` under `key` until `expires_at`, replacing any entry with that key. Entries
    /// expired at the summary's `created_at` are dropped, then the oldest beyond `max_entries`.
    pub fn cache_summary(
        &self,
        key: &str,
        summary: &Summary,
        expires_at: Timestamp,
        max_entries: usize,
    ) -> Result<(), StoreError> {
        let bytes = codec::encode(WHAT, &StoredSummary::from(summary))?;
        self.write(|txn| {
            remove_entry(txn, key)?;
            drop_expired(txn, summary.created_at)?;
            let seq = next_id(txn, SEQ_COUNTER)?;
            let channel = summary.channel.id.0;
            let record = (seq, channel, expires_at.0, bytes.as_slice());
            txn.open_table(SUMMARIES)
                .or_store()?
                .insert(key, record)
                .or_store()?;
            txn.open_table(SUMMARY_ORDER)
                .or_store()?
                .insert(seq, key)
                .or_store()?;
            txn.open_table(SUMMARY_CHANNELS)
                .or_store()?
                .insert((channel, seq), ())
                .or_store()?;
            txn.open_table(SUMMARY_EXPIRY)
                .or_store()?
                .insert((expires_at.0, seq), ())
                .or_store()?;
            evict_beyond(txn, max_entries)
        })
    }

    /// Drop every cached summary of `channel`. Returns how many were dropped.
    pub fn invalidate_channel_summaries(&self, channel: ChannelId) -> Result<usize, StoreError> {
        self.write(|txn| invalidate_channel(txn, channel))
    }

    /// Drop every cached summary expired at `now`. Returns how many were dropped.
    pub fn purge_expired_summaries(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.write(|txn| drop_expired(txn, now))
    }
}

/// Drop every cached summary of `channel` inside `txn`.
pub(super) fn invalidate_channel(
    txn: &WriteTransaction,
    channel: ChannelId,
) -> Result<usize, StoreError> {
    let seqs: Vec<u64> = {
        let table = txn.open_table(SUMMARY_CHANNELS).or_store()?;
        let range = (channel.0, 0)..=(channel.0, u64::MAX);
        table
            .range(range)
            .or_store()?
            .map(|e| Ok(e.or_store()?.0.value().1))
            .collect::<Result<_, StoreError>>()?
    };
    remove_seqs(txn, &seqs)
}

/// Drop every cached summary inside `txn`. Returns how many were dropped.
pub(super) fn invalidate_all(txn: &WriteTransaction) -> Result<usize, StoreError> {
    let seqs: Vec<u64> = {
        let order = txn.open_table(SUMMARY_ORDER).or_store()?;
        order
            .iter()
            .or_store()?
            .map(|e| Ok(e.or_store()?.0.value()))
            .collect::<Result<_, StoreError>>()?
    };
    remove_seqs(txn, &seqs)
}

/// Drop entries whose expiry is at or before `now`.
fn drop_expired(txn: &WriteTransaction, now: Timestamp) -> Result<usize, StoreError> {
    let seqs: Vec<u64> = {
        let table = txn.open_table(SUMMARY_EXPIRY).or_store()?;
        table
            .range(..=(now.0, u64::MAX))
            .or_store()?
            .map(|e| Ok(e.or_store()?.0.value().1))
            .collect::<Result<_, StoreError>>()?
    };
    remove_seqs(txn, &seqs)
}

/// Evict the oldest entries until at most `max_entries` remain.
fn evict_beyond(txn: &WriteTransaction, max_entries: usize) -> Result<(), StoreError> {
    let len = txn.open_table(SUMMARIES).or_store()?.len().or_store()?;
    let excess = usize::try_from(len)
        .unwrap_or(usize::MAX)
        .saturating_sub(max_entries);
    let seqs: Vec<u64> = {
        let order = txn.open_table(SUMMARY_ORDER).or_store()?;
        order
            .iter()
            .or_store()?
            .take(excess)
            .map(|e| Ok(e.or_store()?.0.value()))
            .collect::<Result<_, StoreError>>()?
    };
    remove_seqs(txn, &seqs).map(|_| ())
}

/// Remove the entries with these insertion sequences; returns how many existed.
fn remove_seqs(txn: &WriteTransaction, seqs: &[u64]) -> Result<usize, StoreError> {
    let mut removed = 0;
    for &seq in seqs {
        let key = txn
            .open_table(SUMMARY_ORDER)
            .or_store()?
            .get(seq)
            .or_store()?
            .map(|k| k.value().to_string());
        if let Some(key) = key {
            if remove_entry(txn, &key)? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Remove the entry under `key` and its index rows; false when there was none.
fn remove_entry(txn: &WriteTransaction, key: &str) -> Result<bool, StoreError> {
    let removed = txn
        .open_table(SUMMARIES)
        .or_store()?
        .remove(key)
        .or_store()?
        .map(|v| {
            let (seq, channel, expires_at, _) = v.value();
            (seq, channel, expires_at)
        });
    let Some((seq, channel, expires_at)) = removed else {
        return Ok(false);
    };
    txn.open_table(SUMMARY_ORDER)
        .or_store()?
        .remove(seq)
        .or_store()?;
    txn.open_table(SUMMARY_CHANNELS)
        .or_store()?
        .remove((channel, seq))
        .or_store()?;
    txn.open_table(SUMMARY_EXPIRY)
        .or_store()?
        .remove((expires_at, seq))
        .or_store()?;
    Ok(true)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::messages::tests::msg;
    use crate::store::test_support::temp_store;

    pub(in crate::store) fn summary(channel: u64, created: i64) -> Summary {
        Summary {
            channel: ChannelInfo {
                id: ChannelId(channel),
                guild_id: None,
                guild_name: None,
                name: "general".into(),
                topic: None,
                parent_id: None,
            },
            window: TimeWindow {
                start: Timestamp(0),
                end: Timestamp(10),
            },
            message_count: 3,
            participants: vec!["ann".into()],
            sections: vec![Section {
                kind: SectionKind::KeyPoints,
                points: vec![
                    Point {
                        text: "no citations".into(),
                        citations: vec![],
                    },
                    Point {
                        text: "cited".into(),
                        citations: vec![MessageId(4)],
                    },
                ],
            }],
            provider: "builtin".into(),
            model: "extractive-v1".into(),
            usage: TokenUsage::default(),
            cached: false,
            fallback_reason: None,
            focus: None,
            created_at: Timestamp(created),
            language: None,
            withheld: 0,
            left_out: 0,
            cache_entry: None,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let (_d, s) = temp_store();
        let sum = summary(1, 100);
        s.cache_summary("k", &sum, Timestamp(200), 10)
            .expect("cache");
        let got = s
            .cached_summary("k", Timestamp(150))
            .expect("get")
            .expect("hit");
        assert!(got.cached);
        assert_eq!(
            Summary {
                cached: false,
                ..got
            },
            sum
        );
        assert!(s
            .cached_summary("k", Timestamp(200))
            .expect("get")
            .is_none());
        assert!(s
            .cached_summary("missing", Timestamp(0))
            .expect("get")
            .is_none());
        assert_eq!(s.purge_expired_summaries(Timestamp(200)).expect("purge"), 1);
        assert_eq!(s.purge_expired_summaries(Timestamp(200)).expect("purge"), 0);
    }

    #[test]
    fn eviction_is_oldest_first_and_replacing_refreshes() {
        let (_d, s) = temp_store();
        for k in ["a", "b", "c"] {
            s.cache_summary(k, &summary(1, 0), Timestamp(1000), 3)
                .expect("cache");
        }
        s.cache_summary("a", &summary(1, 0), Timestamp(1000), 3)
            .expect("re-cache a");
        s.cache_summary("d", &summary(1, 0), Timestamp(1000), 3)
            .expect("cache d");
        let present: Vec<_> = ["a", "b", "c", "d"]
            .into_iter()
            .filter(|k| s.cached_summary(k, Timestamp(1)).expect("get").is_some())
            .collect();
        assert_eq!(present, vec!["a", "c", "d"]);
    }

    #[test]
    fn expired_entries_are_dropped_on_insert() {
        let (_d, s) = temp_store();
        s.cache_summary("old", &summary(1, 0), Timestamp(50), 10)
            .expect("cache");
        s.cache_summary("new", &summary(1, 60), Timestamp(500), 10)
            .expect("cache");
        let rows = s.stats().expect("stats").tables;
        let count = rows.iter().find(|(n, _)| n == "summaries").map(|r| r.1);
        assert_eq!(count, Some(1));
    }

    #[test]
    fn invalidation_by_channel_and_by_message_delete() {
        let (_d, s) = temp_store();
        s.cache_summary("c1a", &summary(1, 0), Timestamp(1000), 10)
            .expect("cache");
        s.cache_summary("c1b", &summary(1, 0), Timestamp(1000), 10)
            .expect("cache");
        s.cache_summary("c2", &summary(2, 0), Timestamp(1000), 10)
            .expect("cache");
        assert_eq!(
            s.invalidate_channel_summaries(ChannelId(1)).expect("inv"),
            2
        );
        assert!(s
            .cached_summary("c1a", Timestamp(1))
            .expect("get")
            .is_none());
        assert!(s.cached_summary("c2", Timestamp(1)).expect("get").is_some());

        s.upsert_messages(&[msg(2, 5, 5, "x")]).expect("upsert");
        assert_eq!(
            s.delete_messages(ChannelId(2), &[MessageId(5)])
                .expect("delete"),
            1
        );
        assert!(s.cached_summary("c2", Timestamp(1)).expect("get").is_none());
    }

    #[test]
    fn link_previews_are_not_edits_but_a_new_text_or_edit_time_is() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[msg(1, 5, 5, "see https://example.org")])
            .expect("upsert");
        s.cache_summary("c1", &summary(1, 0), Timestamp(1000), 10)
            .expect("cache");
        let (id, now) = (MessageId(5), Timestamp(900));
        // Discord's unfurl: the same text, `edited_timestamp` null.
        let text = "see https://example.org";
        assert!(!s
            .edit_message(ChannelId(1), id, text, None, now)
            .expect("unfurl"));
        assert!(s.cached_summary("c1", Timestamp(1)).expect("get").is_some());
        let stored = s.message(ChannelId(1), id).expect("get").expect("present");
        assert_eq!(stored.edited_at, None, "an unfurl is no edit time");

        // A real edit (new edit time), then its own unfurl (same text and edit time).
        let edited = Some(Timestamp(700));
        assert!(s
            .edit_message(ChannelId(1), id, text, edited, now)
            .expect("edit"));
        assert!(s.cached_summary("c1", Timestamp(1)).expect("get").is_none());
        s.cache_summary("c1", &summary(1, 0), Timestamp(1000), 10)
            .expect("cache");
        assert!(!s
            .edit_message(ChannelId(1), id, text, edited, now)
            .expect("unfurl"));
        assert!(s.cached_summary("c1", Timestamp(1)).expect("get").is_some());

        // A changed text without an edit time is an edit at `now`.
        assert!(s
            .edit_message(ChannelId(1), id, "new", None, now)
            .expect("edit"));
        let stored = s.message(ChannelId(1), id).expect("get").expect("present");
        assert_eq!(
            (stored.content.as_str(), stored.edited_at),
            ("new", Some(now))
        );
        assert!(s.cached_summary("c1", Timestamp(1)).expect("get").is_none());
    }
}
