//! Operational history for the status page: messages ingested per hour, a fixed-size latency
//! histogram of generated summaries per day, and the time of the last successful commit.
//!
//! Both tables are small and bounded: one row per hour and at most [`LATENCY_BUCKETS`] rows per
//! day, pruned after [`HISTORY_DAYS`] days by maintenance. They are created by their first write;
//! reads of a database that has none yet see empty history.

use std::sync::atomic::Ordering;

use chrono::NaiveDate;
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::usage::{day_key, key_day};
use super::{messages, OrStore, Store, StoreError};
use crate::model::{ChatMessage, Timestamp};

/// Hour number (Unix millis / 3 600 000) → messages ingested in that hour.
pub(super) const INGEST_HOURLY: TableDefinition<i64, u64> =
    TableDefinition::new("history_ingest_hourly");
/// `(day number, bucket)` → summaries whose generation time fell in that bucket that day.
pub(super) const LATENCY_DAILY: TableDefinition<(i32, u8), u64> =
    TableDefinition::new("history_latency_daily");

/// Days of history kept.
pub const HISTORY_DAYS: i64 = 31;
/// Buckets of the latency histogram: bucket 0 is under 100 ms, bucket `i` ≥ 1 covers
/// `[100·2^((i-1)/4), 100·2^(i/4))` ms (each about 19% wider than the last), and the last bucket
/// is open-ended (over about 80 minutes).
pub const LATENCY_BUCKETS: u8 = 64;
/// Upper bound of bucket 0, in milliseconds.
const FIRST_BUCKET_MS: f64 = 100.0;
/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;

/// Messages ingested in one hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourCount {
    /// Start of the hour.
    pub hour: Timestamp,
    /// Messages stored by the ingest writer in that hour.
    pub messages: u64,
}

/// One day's summary latency histogram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyDay {
    /// UTC day.
    pub day: NaiveDate,
    /// Count per bucket, [`LATENCY_BUCKETS`] long.
    pub buckets: Vec<u64>,
}

impl LatencyDay {
    /// Summaries recorded that day.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The `q`-quantile (0 < q ≤ 1) in milliseconds: the upper bound of the bucket holding it
    /// (the lower bound for the open-ended last bucket). None without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_upper_ms(i as u8));
            }
        }
        Some(bucket_upper_ms(LATENCY_BUCKETS - 1))
    }
}

/// The histogram bucket of a duration in milliseconds.
pub fn latency_bucket(ms: u64) -> u8 {
    let ms = ms as f64;
    if ms < FIRST_BUCKET_MS {
        return 0;
    }
    let index = (4.0 * (ms / FIRST_BUCKET_MS).log2()).floor() + 1.0;
    index.min(f64::from(LATENCY_BUCKETS - 1)) as u8
}

/// The upper bound of `bucket` in milliseconds (the lower bound for the last, open-ended one).
pub fn bucket_upper_ms(bucket: u8) -> u64 {
    let exponent = if bucket >= LATENCY_BUCKETS - 1 {
        f64::from(bucket.min(LATENCY_BUCKETS - 1)) - 1.0
    } else {
        f64::from(bucket)
    };
    (FIRST_BUCKET_MS * (exponent / 4.0).exp2()).round() as u64
}

/// The hour number of a time.
fn hour_key(at: Timestamp) -> i64 {
    at.millis().div_euclid(HOUR_MS)
}

impl Store {
    /// Store a batch of messages ingested at `at` (like [`Store::upsert_messages`]) and count
    /// them in the hourly ingest history, in the same single transaction.
    pub fn ingest_messages(
        &self,
        msgs: &[ChatMessage],
        at: Timestamp,
    ) -> Result<usize, StoreError> {
        if msgs.is_empty() {
            return Ok(0);
        }
        self.write(|txn| {
            let written = messages::upsert_in(txn, msgs)?;
            count_ingest(txn, at, written as u64)?;
            Ok(written)
        })
    }

    /// Messages ingested per hour for the hours starting at `from` up to `to` (inclusive), oldest
    /// first; hours without messages are absent.
    pub fn ingest_hourly(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<HourCount>, StoreError> {
        if to < from {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let Some(table) = open_read(txn, INGEST_HOURLY)? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for entry in table.range(hour_key(from)..=hour_key(to)).or_store()? {
                let (hour, count) = entry.or_store()?;
                out.push(HourCount {
                    hour: Timestamp(hour.value().saturating_mul(HOUR_MS)),
                    messages: count.value(),
                });
            }
            Ok(out)
        })
    }

    /// Record that generating one summary took `ms` milliseconds on `day`.
    pub fn record_summary_latency(&self, day: NaiveDate, ms: u64) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(LATENCY_DAILY).or_store()?;
            let key = (day_key(day), latency_bucket(ms));
            let count = table.get(key).or_store()?.map_or(0, |v| v.value());
            table.insert(key, count.saturating_add(1)).or_store()?;
            Ok(())
        })
    }

    /// The latency histograms of days `from..=to` that have samples, oldest first.
    pub fn summary_latency(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LatencyDay>, StoreError> {
        if to < from {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let Some(table) = open_read(txn, LATENCY_DAILY)? else {
                return Ok(Vec::new());
            };
            let mut days: Vec<LatencyDay> = Vec::new();
            for entry in table
                .range((day_key(from), 0)..=(day_key(to), u8::MAX))
                .or_store()?
            {
                let (key, count) = entry.or_store()?;
                let (day, bucket) = key.value();
                let day = key_day(day)?;
                if days.last().is_none_or(|d| d.day != day) {
                    days.push(LatencyDay {
                        day,
                        buckets: vec![0; usize::from(LATENCY_BUCKETS)],
                    });
                }
                if let Some(slot) = days
                    .last_mut()
                    .and_then(|d| d.buckets.get_mut(usize::from(bucket)))
                {
                    *slot += count.value();
                }
            }
            Ok(days)
        })
    }

    /// Drop history older than [`HISTORY_DAYS`] days before `now`. Returns rows removed.
    pub fn prune_history(&self, now: Timestamp) -> Result<u64, StoreError> {
        let cutoff = Timestamp(now.millis() - HISTORY_DAYS * 86_400_000);
        let cutoff_day = day_key(cutoff.to_datetime().date_naive());
        self.write(|txn| {
            let mut removed = 0_u64;
            txn.open_table(INGEST_HOURLY)
                .or_store()?
                .retain_in(..hour_key(cutoff), |_, _| {
                    removed += 1;
                    false
                })
                .or_store()?;
            txn.open_table(LATENCY_DAILY)
                .or_store()?
                .retain_in(..(cutoff_day, 0), |_, _| {
                    removed += 1;
                    false
                })
                .or_store()?;
            Ok(removed)
        })
    }

    /// When a write transaction last committed successfully (in this process).
    pub fn last_commit(&self) -> Option<Timestamp> {
        match self.last_commit.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Timestamp(ms)),
        }
    }
}

/// Add `n` to the hour of `at`.
fn count_ingest(txn: &WriteTransaction, at: Timestamp, n: u64) -> Result<(), StoreError> {
    let mut table = txn.open_table(INGEST_HOURLY).or_store()?;
    let key = hour_key(at);
    let count = table.get(key).or_store()?.map_or(0, |v| v.value());
    table.insert(key, count.saturating_add(n)).or_store()?;
    Ok(())
}

/// Open a history table for reading; None when no write has created it yet.
fn open_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e).or_store(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{msg, temp_store};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("valid date")
    }

    #[test]
    fn buckets_grow_geometrically_and_clamp() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(99), 0);
        assert_eq!(latency_bucket(100), 1);
        assert_eq!(latency_bucket(200), 5);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS - 1);
        for ms in [1, 150, 999, 4_321, 60_000, 1_000_000] {
            let b = latency_bucket(ms);
            assert!(bucket_upper_ms(b) >= ms, "{ms} in bucket {b}");
            if b > 0 {
                assert!(bucket_upper_ms(b - 1) <= ms, "{ms} in bucket {b}");
            }
        }
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        let mut d = LatencyDay {
            day: day(1),
            buckets: vec![0; usize::from(LATENCY_BUCKETS)],
        };
        assert_eq!(d.quantile_ms(0.5), None);
        for _ in 0..90 {
            d.buckets[usize::from(latency_bucket(1_000))] += 1;
        }
        for _ in 0..10 {
            d.buckets[usize::from(latency_bucket(30_000))] += 1;
        }
        let p50 = d.quantile_ms(0.5).expect("p50");
        let p95 = d.quantile_ms(0.95).expect("p95");
        assert!((1_000..1_200).contains(&p50), "{p50}");
        assert!((30_000..36_000).contains(&p95), "{p95}");
        assert_eq!(d.count(), 100);
    }

    #[test]
    fn ingest_counts_per_hour_in_the_same_write() {
        let (_d, s) = temp_store();
        let t = Timestamp(10 * HOUR_MS + 5);
        assert_eq!(s.ingest_hourly(Timestamp(0), t).expect("empty"), []);
        let n = s
            .ingest_messages(&[msg(1, 1, 1, "a"), msg(1, 2, 2, "b")], t)
            .expect("ingest");
        assert_eq!(n, 2);
        s.ingest_messages(&[msg(1, 3, 3, "c")], Timestamp(t.0 + 60_000))
            .expect("ingest");
        s.ingest_messages(&[], t).expect("nothing");
        s.ingest_messages(&[msg(1, 4, 4, "d")], Timestamp(t.0 + HOUR_MS))
            .expect("ingest");
        let rows = s
            .ingest_hourly(Timestamp(0), Timestamp(t.0 + HOUR_MS))
            .expect("rows");
        assert_eq!(
            rows,
            [
                HourCount {
                    hour: Timestamp(10 * HOUR_MS),
                    messages: 3
                },
                HourCount {
                    hour: Timestamp(11 * HOUR_MS),
                    messages: 1
                },
            ]
        );
        assert!(s
            .message(crate::model::ChannelId(1), crate::model::MessageId(4))
            .expect("read")
            .is_some());
        assert!(s.last_commit().is_some());
    }

    #[test]
    fn latency_is_grouped_by_day_and_pruned() {
        let (_d, s) = temp_store();
        assert!(s
            .summary_latency(day(1), day(31))
            .expect("empty")
            .is_empty());
        s.record_summary_latency(day(1), 500).expect("record");
        s.record_summary_latency(day(1), 500).expect("record");
        s.record_summary_latency(day(3), 9_000).expect("record");
        let days = s.summary_latency(day(1), day(31)).expect("days");
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].day, days[0].count()), (day(1), 2));
        assert_eq!((days[1].day, days[1].count()), (day(3), 1));
        s.ingest_messages(&[msg(1, 1, 1, "a")], Timestamp(0))
            .expect("old hour");
        let now = Timestamp(
            day(3)
                .and_hms_opt(0, 0, 0)
                .expect("time")
                .and_utc()
                .timestamp_millis()
                + HISTORY_DAYS * 86_400_000,
        );
        // Day 1 and the 1970 hour are older than 31 days; day 3 is exactly at the cutoff.
        assert_eq!(s.prune_history(now).expect("prune"), 2);
        let days = s.summary_latency(day(1), day(31)).expect("days");
        assert_eq!(days.len(), 1);
        assert!(s
            .ingest_hourly(Timestamp(0), now)
            .expect("hours")
            .is_empty());
    }
}
