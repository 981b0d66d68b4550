//! Backups: a consistent copy of the database in a new file, made from one read transaction (a
//! snapshot), so writers go on meanwhile. The copy is a fresh redb file with every table copied
//! row by row. A byte copy of the live file would not be consistent: commits rewrite its header
//! and reuse freed pages while it is read.

use std::fs;
use std::path::{Path, PathBuf};

use redb::{
    Database, Key, ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value,
    WriteTransaction,
};

use super::feedback::FEEDBACK;
use super::history::{INGEST_HOURLY, LATENCY_DAILY};
use super::schema::{
    CHANNELS, COVERAGE, GUILD_SETTINGS, IDEMPOTENCY, IDEMPOTENCY_EXPIRY, JOBS, JOB_QUEUE, MESSAGES,
    MESSAGE_IDS, META, OPTED_OUT_USERS, SCHEDULES, SUBSCRIPTIONS, SUMMARIES, SUMMARY_CHANNELS,
    SUMMARY_EXPIRY, SUMMARY_ORDER, USAGE,
};
use super::{OrStore, Store, StoreError, CACHE_BYTES};

/// What [`Store::backup_to`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup file.
    pub path: PathBuf,
    /// Its size.
    pub file_bytes: u64,
    /// Every table with the rows copied, by name.
    pub tables: Vec<(String, u64)>,
}

impl Store {
    /// Write a consistent copy of the whole database to `dest`, a new file (an existing one is
    /// refused). It is written as `dest` + `.partial`, synced, then renamed, so `dest` is either
    /// absent or complete.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport, StoreError> {
        let failed = |detail: String| StoreError::Backup {
            path: dest.to_path_buf(),
            detail,
        };
        if dest.exists() {
            return Err(failed(
                "the file exists; choose a new name or remove it first".into(),
            ));
        }
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let partial = dest.with_file_name(name);
        let _ = fs::remove_file(&partial);
        let copied = self.read(|src| copy_all(src, &partial)).and_then(|tables| {
            fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .and_then(|()| fs::rename(&partial, dest))
                .map_err(|e| failed(e.to_string()))?;
            Ok(tables)
        });
        let tables = match copied {
            Ok(tables) => tables,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                return Err(e);
            }
        };
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced.
            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
        }
        let file_bytes = fs::metadata(dest).map_err(|e| failed(e.to_string()))?.len();
        Ok(BackupReport {
            path: dest.to_path_buf(),
            file_bytes,
            tables,
        })
    }
}

/// Create the redb file at `path` and copy every table of `src` into it, one table per commit.
fn copy_all(src: &ReadTransaction, path: &Path) -> Result<Vec<(String, u64)>, StoreError> {
    let mut db = Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|e| StoreError::Backup {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    let mut tables = Vec::new();
    for handle in src.list_tables().or_store()? {
        let name = handle.name().to_string();
        let dst = db.begin_write().or_copy(path)?;
        let rows = copy_named(&name, src, &dst, path)?;
        dst.commit().or_copy(path)?;
        tables.push((name, rows));
    }
    // Rows inserted in key order leave pages half full; compaction packs them.
    while db.compact().or_copy(path)? {}
    db.close().or_copy(path)?;
    tables.sort();
    Ok(tables)
}

/// Maps a redb error of the copy (not of the live database) to [`StoreError::Backup`]: a full
/// disk under the backup's directory must not mark the live store failed.
trait OrCopy<T> {
    fn or_copy(self, path: &Path) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OrCopy<T> for Result<T, E> {
    fn or_copy(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Backup {
            path: path.to_path_buf(),
            detail: e.into().to_string(),
        })
    }
}

/// Copy the table called `name` with its definition; a table this build does not know is an
/// error (its types are unknown, so it cannot be copied).
fn copy_named(
    name: &str,
    src: &ReadTransaction,
    dst: &WriteTransaction,
    path: &Path,
) -> Result<u64, StoreError> {
    macro_rules! copy_known {
        ($($table:expr),+ $(,)?) => {
            $(if name == $table.name() {
                return copy(src, dst, $table, path);
            })+
        };
    }
    copy_known!(
        META,
        MESSAGES,
        MESSAGE_IDS,
        CHANNELS,
        SUMMARIES,
        SUMMARY_ORDER,
        SUMMARY_CHANNELS,
        SUMMARY_EXPIRY,
        IDEMPOTENCY,
        IDEMPOTENCY_EXPIRY,
        SCHEDULES,
        JOBS,
        JOB_QUEUE,
        USAGE,
        GUILD_SETTINGS,
        COVERAGE,
        OPTED_OUT_USERS,
        INGEST_HOURLY,
        LATENCY_DAILY,
        FEEDBACK,
        SUBSCRIPTIONS,
    );
    Err(StoreError::Database {
        detail: format!(
            "the database has a table {name:?} this summarybot does not know; back it up with the version that wrote it"
        ),
    })
}

/// Copy every row of `table`, in key order, into the copy at `path`; the rows copied.
fn copy<K: Key + 'static, V: Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    table: TableDefinition<K, V>,
    path: &Path,
) -> Result<u64, StoreError> {
    let from = src.open_table(table).or_store()?;
    let mut to = dst.open_table(table).or_copy(path)?;
    let mut rows = 0;
    for entry in from.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        to.insert(key.value(), value.value()).or_copy(path)?;
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelId, Timestamp, UserId};
    use crate::store::test_support::{msg, temp_store};

    #[test]
    fn a_backup_holds_every_table_and_opens_verified() {
        let (dir, store) = temp_store();
        store
            .upsert_messages(&[msg(1, 1, 10, "a"), msg(1, 2, 20, "b")])
            .expect("upsert");
        store
            .ingest_messages(&[msg(2, 3, 30, "c")], Timestamp(30))
            .expect("ingest");
        store
            .enqueue_job("digest", "{}", Timestamp(0))
            .expect("enqueue");
        store
            .claim_idempotency_key("k", "v", Timestamp(9), Timestamp(0))
            .expect("claim");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("day");
        store.record_summary_latency(day, 1500).expect("latency");
        let vote = crate::store::Vote {
            up: true,
            provider: "builtin".into(),
            model: "extractive-v1".into(),
            kind: "general".into(),
            detail: "standard".into(),
            at: Timestamp(5),
        };
        store
            .record_feedback("key", UserId(78), &vote)
            .expect("a vote");
        store
            .forget_user(UserId(77), Timestamp(5), None)
            .expect("a member opted out");
        let dest = dir.path().join("backups").join("copy.redb");
        let missing_dir = store.backup_to(&dest).expect_err("no such directory");
        assert!(
            missing_dir.to_string().contains("cannot write the backup"),
            "{missing_dir}"
        );
        fs::create_dir(dir.path().join("backups")).expect("dir");
        let report = store.backup_to(&dest).expect("backup");
        assert!(!dest.with_file_name("copy.redb.partial").exists());
        let stats = store.stats().expect("stats");
        assert_eq!(report.tables, stats.tables, "every table, every row");
        assert!(report.file_bytes > 0);

        let copy = Store::open_verified(&dest).expect("the backup verifies");
        assert_eq!(copy.stats().expect("stats").tables, stats.tables);
        assert_eq!(copy.message_count(ChannelId(1)).expect("count"), 2);
        assert!(copy.check_consistency().expect("check").is_ok());
        assert_eq!(
            copy.feedback_tallies(Timestamp(0)).expect("votes")[0].up,
            1,
            "a restored backup keeps the feedback"
        );
        assert!(
            copy.opted_out_users().expect("read").contains(&UserId(77)),
            "a restored backup keeps the opt-outs"
        );

        let again = store.backup_to(&dest).expect_err("existing file refused");
        assert!(again.to_string().contains("the file exists"), "{again}");
    }
}
