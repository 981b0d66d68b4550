//! Consistency check: every index agrees with the table it indexes (after a crash, for `doctor`),
//! and the whole-file check of `summarybot db verify`.

use std::path::Path;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::feedback::{Vote, FEEDBACK};
use super::schema::{
    CHANNELS, GUILD_SETTINGS, IDEMPOTENCY, IDEMPOTENCY_EXPIRY, JOBS, JOB_QUEUE, MESSAGES,
    MESSAGE_IDS, SCHEDULES, SUBSCRIPTIONS, SUMMARIES, SUMMARY_CHANNELS, SUMMARY_EXPIRY,
    SUMMARY_ORDER,
};
use super::{codec, jobs, schedules, settings, OrStore, Store, StoreError, StoreStats};
use crate::model::{ChannelInfo, ChatMessage, Job, Subscription};

/// At most this many problems are listed; the count is still exact.
const MAX_LISTED: usize = 50;

/// What [`Store::check_consistency`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsistencyReport {
    /// Stored messages.
    pub messages: u64,
    /// Stored jobs.
    pub jobs: u64,
    /// Cached summaries.
    pub cached_summaries: u64,
    /// Idempotency keys.
    pub idempotency_keys: u64,
    /// Feedback votes on summaries.
    pub feedback_votes: u64,
    /// Digest schedules.
    pub schedules: u64,
    /// Personal digest subscriptions.
    pub subscriptions: u64,
    /// Servers with stored settings.
    pub server_settings: u64,
    /// Known channels (names, servers, kinds).
    pub channels: u64,
    /// Number of problems found.
    pub problem_count: u64,
    /// Descriptions of the first problems found.
    pub problems: Vec<String>,
}

impl ConsistencyReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problem_count == 0
    }

    /// Record one problem.
    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(text);
        }
    }

    /// Record a problem when an index's row count differs from its table's.
    fn same_len(&mut self, index: &str, index_rows: u64, table: &str, table_rows: u64) {
        if index_rows != table_rows {
            self.problem(format!(
                "{index} has {index_rows} rows but {table} has {table_rows}"
            ));
        }
    }
}

/// What [`Store::verify_file`] found in a file whose every page checksum matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// Size, schema version and rows per table.
    pub stats: StoreStats,
    /// Values and indexes.
    pub consistency: ConsistencyReport,
}

impl Store {
    /// Check the database file at `path` (which must exist) the way `summarybot db verify` does:
    /// open it as `run` does, verifying every page's checksum (a damaged page is
    /// [`StoreError::Corrupt`]), then decode every message, job, cached summary and idempotency
    /// key and check the indexes ([`FileReport::consistency`]). Needs the file to itself.
    pub fn verify_file(path: &Path) -> Result<FileReport, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                detail: "there is no such file".to_string(),
            });
        }
        let store = Store::open_verified(path)?;
        let mut report = FileReport {
            stats: store.stats()?,
            consistency: store.check_consistency()?,
        };
        store.close()?;
        // redb may extend the file while it is open; report its size as it is left.
        report.stats.file_bytes = std::fs::metadata(path)
            .map_err(|e| StoreError::Io {
                detail: format!("{}: {e}", path.display()),
            })?
            .len();
        Ok(report)
    }

    /// Check, in one snapshot, that every value decodes and every index agrees with its table.
    /// Reading fails only on I/O; damaged records are reported as problems.
    pub fn check_consistency(&self) -> Result<ConsistencyReport, StoreError> {
        self.read(|txn| {
            let mut report = ConsistencyReport::default();
            check_messages(txn, &mut report)?;
            check_jobs(txn, &mut report)?;
            check_summaries(txn, &mut report)?;
            check_idempotency(txn, &mut report)?;
            check_feedback(txn, &mut report)?;
            report.schedules = check_records(txn, &mut report, SCHEDULES, "schedule", |b| {
                schedules::decode(b).map(|s| s.id)
            })?;
            report.subscriptions =
                check_records(txn, &mut report, SUBSCRIPTIONS, "personal digest", |b| {
                    codec::decode::<Subscription>("personal digest", b).map(|s| s.id)
                })?;
            report.server_settings =
                check_records(txn, &mut report, GUILD_SETTINGS, "server settings", |b| {
                    settings::decode(b).map(|_| None::<u64>)
                })?;
            report.channels = check_records(txn, &mut report, CHANNELS, "channel", |b| {
                codec::decode::<ChannelInfo>("channel", b).map(|c| c.id.0)
            })?;
            Ok(report)
        })
    }
}

/// Messages against their id index.
fn check_messages(txn: &ReadTransaction, report: &mut ConsistencyReport) -> Result<(), StoreError> {
    let messages = txn.open_table(MESSAGES).or_store()?;
    let ids = txn.open_table(MESSAGE_IDS).or_store()?;
    for entry in messages.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        let (channel, ts, id) = key.value();
        report.messages += 1;
        match codec::decode::<ChatMessage>("message", value.value()) {
            Ok(m) if (m.channel_id.0, m.timestamp.0, m.id.0) == (channel, ts, id) => {}
            Ok(_) => report.problem(format!(
                "message {id} in channel {channel} is stored under the wrong key"
            )),
            Err(e) => report.problem(format!("message {id} in channel {channel}: {e}")),
        }
        let indexed = ids.get((channel, id)).or_store()?.map(|v| v.value());
        if indexed != Some(ts) {
            report.problem(format!(
                "message {id} in channel {channel} at {ts} is indexed at {indexed:?}"
            ));
        }
    }
    report.same_len(
        "message_ids",
        ids.len().or_store()?,
        "messages",
        report.messages,
    );
    Ok(())
}

/// Jobs against the queue index.
fn check_jobs(txn: &ReadTransaction, report: &mut ConsistencyReport) -> Result<(), StoreError> {
    let table = txn.open_table(JOBS).or_store()?;
    let queue = txn.open_table(JOB_QUEUE).or_store()?;
    for entry in table.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        let id = key.value();
        report.jobs += 1;
        match codec::decode::<Job>("job", value.value()) {
            Ok(job) if job.id != id => {
                report.problem(format!("job {id} holds the record of job {}", job.id));
            }
            Ok(job) => {
                if queue.get(jobs::queue_key(&job)).or_store()?.is_none() {
                    report.problem(format!(
                        "job {id} ({:?}) is missing from the queue index",
                        job.state
                    ));
                }
            }
            Err(e) => report.problem(format!("job {id}: {e}")),
        }
    }
    report.same_len("job_queue", queue.len().or_store()?, "jobs", report.jobs);
    Ok(())
}

/// Cached summaries against their three indexes.
fn check_summaries(
    txn: &ReadTransaction,
    report: &mut ConsistencyReport,
) -> Result<(), StoreError> {
    let table = txn.open_table(SUMMARIES).or_store()?;
    let order = txn.open_table(SUMMARY_ORDER).or_store()?;
    let channels = txn.open_table(SUMMARY_CHANNELS).or_store()?;
    let expiry = txn.open_table(SUMMARY_EXPIRY).or_store()?;
    for entry in table.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        let (seq, channel, expires_at, _) = value.value();
        report.cached_summaries += 1;
        let ordered = order
            .get(seq)
            .or_store()?
            .is_some_and(|k| k.value() == key.value());
        if !ordered
            || channels.get((channel, seq)).or_store()?.is_none()
            || expiry.get((expires_at, seq)).or_store()?.is_none()
        {
            report.problem(format!(
                "cached summary {:?} is missing from an index",
                key.value()
            ));
        }
    }
    let rows = report.cached_summaries;
    report.same_len("summary_order", order.len().or_store()?, "summaries", rows);
    report.same_len(
        "summary_channels",
        channels.len().or_store()?,
        "summaries",
        rows,
    );
    report.same_len(
        "summary_expiry",
        expiry.len().or_store()?,
        "summaries",
        rows,
    );
    Ok(())
}

/// Idempotency keys against their expiry index.
fn check_idempotency(
    txn: &ReadTransaction,
    report: &mut ConsistencyReport,
) -> Result<(), StoreError> {
    let keys = txn.open_table(IDEMPOTENCY).or_store()?;
    let expiry = txn.open_table(IDEMPOTENCY_EXPIRY).or_store()?;
    for entry in keys.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        report.idempotency_keys += 1;
        let (expires_at, _) = value.value();
        if expiry.get((expires_at, key.value())).or_store()?.is_none() {
            report.problem(format!(
                "idempotency key {:?} is missing from the expiry index",
                key.value()
            ));
        }
    }
    let rows = report.idempotency_keys;
    report.same_len(
        "idempotency_expiry",
        expiry.len().or_store()?,
        "idempotency",
        rows,
    );
    Ok(())
}

/// Every record of a table keyed by id decodes (a damaged one is what the scheduler, the digest
/// jobs or the permission checks would otherwise fail on later) and, when the record carries
/// its id (`id_of` gives `Some`), names its own key. Returns the table's rows.
fn check_records<I: Into<Option<u64>>>(
    txn: &ReadTransaction,
    report: &mut ConsistencyReport,
    table: TableDefinition<u64, &[u8]>,
    what: &str,
    id_of: impl Fn(&[u8]) -> Result<I, StoreError>,
) -> Result<u64, StoreError> {
    let table = txn.open_table(table).or_store()?;
    let mut rows = 0;
    for entry in table.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        let key = key.value();
        rows += 1;
        match id_of(value.value()).map(Into::into) {
            Ok(Some(id)) if id != key => {
                report.problem(format!("{what} {key} holds the record of {what} {id}"));
            }
            Ok(_) => {}
            Err(e) => report.problem(format!("{what} {key}: {e}")),
        }
    }
    Ok(rows)
}

/// Every feedback vote decodes.
fn check_feedback(txn: &ReadTransaction, report: &mut ConsistencyReport) -> Result<(), StoreError> {
    let votes = txn.open_table(FEEDBACK).or_store()?;
    for entry in votes.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        report.feedback_votes += 1;
        if let Err(e) = codec::decode::<Vote>("feedback vote", value.value()) {
            let (summary, user) = key.value();
            report.problem(format!("feedback of user {user} on summary {summary}: {e}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Timestamp;
    use crate::store::messages::tests::msg;
    use crate::store::test_support::temp_store;

    #[test]
    fn healthy_store_is_consistent_and_damage_is_reported() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[msg(1, 1, 10, "a"), msg(1, 2, 20, "b")])
            .expect("upsert");
        let job = s
            .enqueue_job("digest", "{}", Timestamp(0))
            .expect("enqueue");
        s.claim_next_job(Timestamp(0), Duration::from_secs(1))
            .expect("claim");
        s.claim_idempotency_key("k", "v", Timestamp(9), Timestamp(0))
            .expect("claim");
        let report = s.check_consistency().expect("check");
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(
            (report.messages, report.jobs, report.idempotency_keys),
            (2, 1, 1)
        );

        s.write(|txn| {
            txn.open_table(MESSAGE_IDS)
                .or_store()?
                .remove((1, 2))
                .or_store()?;
            txn.open_table(JOB_QUEUE)
                .or_store()?
                .insert((0, 5, job.id), ())
                .or_store()?;
            Ok(())
        })
        .expect("damage");
        let report = s.check_consistency().expect("check");
        assert!(!report.is_ok());
        assert_eq!(report.problem_count, 3, "{report:?}");
    }

    #[test]
    fn damaged_schedules_subscriptions_settings_and_channels_are_named() {
        let (_d, s) = temp_store();
        s.put_channel(&crate::model::ChannelInfo::unknown(
            crate::model::ChannelId(7),
            None,
        ))
        .expect("channel");
        let report = s.check_consistency().expect("check");
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.channels, 1);
        s.write(|txn| {
            let garbage: &[u8] = &[0xff, 0xff, 0xff];
            txn.open_table(SCHEDULES)
                .or_store()?
                .insert(3, garbage)
                .or_store()?;
            txn.open_table(SUBSCRIPTIONS)
                .or_store()?
                .insert(4, garbage)
                .or_store()?;
            txn.open_table(GUILD_SETTINGS)
                .or_store()?
                .insert(5, garbage)
                .or_store()?;
            // A channel record under another channel's id.
            let moved = codec::encode(
                "channel",
                &crate::model::ChannelInfo::unknown(crate::model::ChannelId(7), None),
            )?;
            txn.open_table(CHANNELS)
                .or_store()?
                .insert(8, moved.as_slice())
                .or_store()?;
            Ok(())
        })
        .expect("damage");
        let report = s.check_consistency().expect("check");
        assert_eq!(
            (
                report.schedules,
                report.subscriptions,
                report.server_settings,
                report.channels
            ),
            (1, 1, 1, 2)
        );
        assert_eq!(report.problem_count, 4, "{report:?}");
        let text = report.problems.join("\n");
        for expected in [
            "schedule 3: ",
            "personal digest 4: ",
            "server settings 5: ",
            "channel 8 holds the record of channel 7",
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
    }
}
