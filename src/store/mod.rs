//! The embedded redb database: the only module that touches redb. One file per table family.
//!
//! [`Store`] is opened once per process and shared as `Arc<Store>`. Every write is one durable
//! transaction (callers batch for throughput); values are postcard with a leading format-version
//! byte (`codec.rs`); the schema version is checked and migrated on open (`schema.rs`).

mod backup;
mod channels;
mod codec;
mod coverage;
mod feedback;
mod handle;
mod history;
mod idempotency;
mod job_batch;
mod jobs;
mod messages;
mod privacy;
mod schedules;
mod schema;
mod settings;
mod subscriptions;
mod summaries;
mod usage;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use redb::{ReadTransaction, ReadableDatabase, ReadableTableMetadata, WriteTransaction};

pub use backup::BackupReport;
pub use coverage::Span;
pub use feedback::{FeedbackTally, Recorded, Vote, FEEDBACK_DAYS};
pub use handle::{StoreFailure, RETRY_EVERY};
pub use history::{HourCount, LatencyDay, HISTORY_DAYS};
pub use job_batch::{JobBatch, JobBatchResult, JobOutcome};
pub use jobs::{Enqueued, KeyedJob};
pub use messages::Newest;
pub use privacy::{Forgotten, JobRedaction, UserData};
pub use schema::SCHEMA_VERSION;
pub use usage::UsageRow;
pub use verify::{ConsistencyReport, FileReport};

/// Page cache size: small enough for a Raspberry Pi, large enough for a day of a busy channel.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Page cache of a store opened for one pass over its messages ([`Store::open_for_one_read`]).
const ONE_READ_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// Everything that can go wrong in the store, each message saying what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database file open.
    #[error(
        "the database file {} is already in use by another summarybot process; stop that process or point the database path at another file",
        path.display()
    )]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The directory for the database file could not be created.
    #[error("cannot create the directory for the database file {}: {source}; check the path and its permissions", path.display())]
    CreateDir {
        /// The directory that could not be created.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file could not be opened or read.
    #[error("cannot open the database file {}: {detail}; check the path, its permissions and free disk space", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The file exists but is not a summarybot (redb) database.
    #[error("{} is not a summarybot database ({detail}); move the file away or point the database path at another file", path.display())]
    NotADatabase {
        /// The offending file.
        path: PathBuf,
        /// Why it was rejected.
        detail: String,
    },
    /// The file was written by a newer summarybot with a schema this build does not know.
    #[error(
        "the database file {} has schema version {found}, newer than the {supported} this summarybot supports; upgrade summarybot or restore a backup made by this version",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Schema version found in the file.
        found: u64,
        /// Newest schema version this build supports.
        supported: u64,
    },
    /// redb found the file damaged.
    #[error("the database file is damaged ({detail}); restore a backup made with `summarybot db backup` (copy it over the file while summarybot is stopped), or move the file away to start with an empty database")]
    Corrupt {
        /// redb's description.
        detail: String,
    },
    /// Reading or writing the file failed.
    #[error("database I/O failed: {detail}; check free disk space and the file's permissions")]
    Io {
        /// The underlying error.
        detail: String,
    },
    /// An earlier I/O error failed the store and it is not reopened yet.
    #[error("the database refuses writes after a disk error ({reason}); it is reopened by itself once the disk accepts writes again: free disk space or fix the disk")]
    Unavailable {
        /// The error that failed it, or why the last reopen did not work.
        reason: String,
    },
    /// A stored value could not be decoded.
    #[error("a stored {what} could not be decoded ({detail}); the database may be damaged or written by an incompatible summarybot version")]
    Decode {
        /// What kind of record.
        what: &'static str,
        /// Why decoding failed.
        detail: String,
    },
    /// A backup could not be written.
    #[error("cannot write the backup {}: {detail}", path.display())]
    Backup {
        /// The backup file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A value could not be encoded for storage.
    #[error("a {what} could not be encoded for storage: {detail}")]
    Encode {
        /// What kind of record.
        what: &'static str,
        /// Why encoding failed.
        detail: String,
    },
    /// A job id that does not exist.
    #[error("there is no job with id {id}")]
    JobNotFound {
        /// The unknown id.
        id: u64,
    },
    /// Any other database failure.
    #[error("database operation failed: {detail}")]
    Database {
        /// redb's description.
        detail: String,
    },
}

impl StoreError {
    /// True for the errors of a disk that refuses writes (I/O, or the store failed by one and
    /// not reopened yet): worth holding the write and retrying; any other error would repeat.
    pub fn is_disk_failure(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Unavailable { .. })
    }

    /// Convert a redb error (any of its per-operation types) into a store error.
    fn from_redb(err: redb::Error) -> Self {
        match err {
            redb::Error::Corrupted(detail) => Self::Corrupt { detail },
            redb::Error::Io(e) => Self::Io {
                detail: e.to_string(),
            },
            redb::Error::PreviousIo => Self::Io {
                detail: "an earlier disk write failed".to_string(),
            },
            other => Self::Database {
                detail: other.to_string(),
            },
        }
    }
}

/// Maps any redb result into a [`StoreError`] result, keeping redb types inside this module.
trait OrStore<T> {
    /// Convert the error side.
    fn or_store(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OrStore<T> for Result<T, E> {
    fn or_store(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::from_redb(e.into()))
    }
}

/// Size and contents of the database, for `summarybot status` and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStats {
    /// The database file.
    pub path: PathBuf,
    /// Its size on disk.
    pub file_bytes: u64,
    /// The schema version recorded in it.
    pub schema_version: u64,
    /// Every table with its row count, by name.
    pub tables: Vec<(String, u64)>,
}

/// The summarybot database: one redb file, opened once per process. `Send + Sync`; share it as
/// `Arc<Store>` and drop it (or call [`Store::close`]) on shutdown.
pub struct Store {
    db: handle::Handle,
    path: PathBuf,
    /// Unix millis of the last successful commit in this process (0: none yet).
    last_commit: AtomicI64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Open (or create) the database at `path`, creating parent directories, checking the
    /// schema version and migrating an older file. After an unclean shutdown redb repairs the
    /// file first (logged).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_inner(path, false, CACHE_BYTES)
    }

    /// Like [`Store::open`], with a small page cache: for a command that reads a window once
    /// (`summarize --channel`), where caching the pages it read would only add the window's
    /// stored size to its peak memory.
    pub fn open_for_one_read(path: &Path) -> Result<Store, StoreError> {
        Self::open_inner(path, false, ONE_READ_CACHE_BYTES)
    }

    /// Like [`Store::open`], but first verify the checksum of every page, so a file damaged
    /// on disk is refused with [`StoreError::Corrupt`] instead of failing later. Reads the whole
    /// file: meant for `doctor`-style checks and for starts after a suspected disk fault.
    pub fn open_verified(path: &Path) -> Result<Store, StoreError> {
        Self::open_inner(path, true, CACHE_BYTES)
    }

    /// Open with or without the full integrity check.
    fn open_inner(path: &Path, verify: bool, cache_bytes: usize) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let store = Store {
            db: handle::Handle::open(path, verify, cache_bytes)?,
            path: path.to_path_buf(),
            last_commit: AtomicI64::new(0),
        };
        store.write(|txn| schema::migrate(txn, &store.path))?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Close the database cleanly, so the next open needs no repair. Dropping does the same but
    /// cannot report a failure.
    pub fn close(self) -> Result<(), StoreError> {
        match self.db.into_database() {
            Some(db) => db.close().or_store(),
            None => Ok(()),
        }
    }

    /// Fail the store as an I/O error would (for tests of what reports it).
    #[cfg(test)]
    pub(crate) fn fail_for_test(&self, reason: &str) {
        let _ = self.db.note::<()>(Err(StoreError::Io {
            detail: reason.to_string(),
        }));
    }

    /// Why the store refuses writes at the moment (a disk error it has not recovered from yet),
    /// if it does.
    pub fn failure(&self) -> Option<StoreFailure> {
        self.db.failure()
    }

    /// Shrink the file after large deletions (retention, `forget_channel`). Needs exclusive
    /// access, so run it at startup or from the CLI, before sharing the store. Returns the
    /// bytes saved.
    pub fn compact(&mut self) -> Result<u64, StoreError> {
        let before = self.file_bytes()?;
        let db = self.db.exclusive().ok_or_else(|| StoreError::Database {
            detail: "compaction needs the only handle to the database".to_string(),
        })?;
        while db.compact().or_store()? {}
        Ok(before.saturating_sub(self.file_bytes()?))
    }

    /// The file's current size on disk.
    fn file_bytes(&self) -> Result<u64, StoreError> {
        fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|e| StoreError::Io {
                detail: format!("{}: {e}", self.path.display()),
            })
    }

    /// Sizes and row counts of every table.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let file_bytes = self.file_bytes()?;
        self.read(|txn| {
            let schema_version = schema::version(txn)?.unwrap_or(0);
            let mut tables = Vec::new();
            for handle in txn.list_tables().or_store()? {
                let name = redb::TableHandle::name(&handle).to_string();
                let rows = txn
                    .open_untyped_table(handle)
                    .or_store()?
                    .len()
                    .or_store()?;
                tables.push((name, rows));
            }
            tables.sort();
            Ok(StoreStats {
                path: self.path.clone(),
                file_bytes,
                schema_version,
                tables,
            })
        })
    }

    /// Run `f` in one durable write transaction and commit it.
    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.db.for_write()?;
        let out = self.db.note((|| {
            let txn = db.begin_write().or_store()?;
            let out = f(&txn)?;
            txn.commit().or_store()?;
            Ok(out)
        })())?;
        self.last_commit
            .store(crate::model::Timestamp::now().millis(), Ordering::Relaxed);
        Ok(out)
    }

    /// Run `f` in a read transaction (a consistent snapshot).
    fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.db.for_read()?;
        self.db
            .note(db.begin_read().or_store().and_then(|txn| f(&txn)))
    }
}

/// Classify a failure to open the file.
fn open_error(path: &Path, err: redb::Error) -> StoreError {
    let path = path.to_path_buf();
    match err {
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
            StoreError::Locked { path }
        }
        redb::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::NotADatabase {
                path,
                detail: e.to_string(),
            }
        }
        redb::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            StoreError::NotADatabase {
                path,
                detail: "the file is too short to hold a database".to_string(),
            }
        }
        redb::Error::UpgradeRequired(v) => StoreError::NotADatabase {
            path,
            detail: format!("it uses the old redb file format {v}"),
        },
        redb::Error::Corrupted(detail) => StoreError::Corrupt { detail },
        other => StoreError::Open {
            path,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the store's unit tests.

    use super::Store;
    use crate::model::{Author, ChannelId, ChatMessage, MessageId, MessageKind, Timestamp, UserId};

    /// A plain message for tests (also used by other modules' tests).
    pub fn msg(channel: u64, id: u64, ts: i64, content: &str) -> ChatMessage {
        ChatMessage {
            id: MessageId(id),
            channel_id: ChannelId(channel),
            guild_id: None,
            author: Author {
                id: UserId(9),
                name: "ann".into(),
                display_name: None,
                is_bot: false,
            },
            timestamp: Timestamp(ts),
            edited_at: None,
            kind: MessageKind::Default,
            content: content.into(),
            reply_to: None,
            attachments: Vec::new(),
            reaction_count: 0,
            pinned: false,
        }
    }

    /// A store in a fresh temporary directory (kept alive by the returned guard).
    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db").join("test.redb")).expect("open store");
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::temp_store;
    use super::*;

    #[test]
    fn store_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Store>();
        shared::<StoreError>();
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_clearly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notes.txt");
        fs::write(&path, "these are my notes, not a database\n".repeat(200)).expect("write");
        let err = Store::open(&path).expect_err("refused");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(
            err.to_string().contains("is not a summarybot database"),
            "{err}"
        );
        // The file is left untouched.
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("these are my notes"));
    }

    #[test]
    fn damaged_files_give_errors_not_panics() {
        let (dir, store) = temp_store();
        let msgs: Vec<_> = (0..2000)
            .map(|i| super::messages::tests::msg(1, i + 1, i64::from(i as u32), "some text"))
            .collect();
        store.upsert_messages(&msgs).expect("upsert");
        let path = store.path().to_path_buf();
        store.close().expect("close");
        let bytes = fs::read(&path).expect("read db");

        let short = dir.path().join("short.redb");
        fs::write(&short, &bytes[..100]).expect("write");
        let err = Store::open(&short).expect_err("too short");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");

        let truncated = dir.path().join("truncated.redb");
        fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
        let err = Store::open(&truncated).expect_err("truncated");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("restore a backup made with `summarybot db backup`"),
            "{err}"
        );

        let mut flipped = bytes;
        for i in (8192..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5a;
        }
        let damaged = dir.path().join("damaged.redb");
        fs::write(&damaged, &flipped).expect("write");
        let err = Store::open_verified(&damaged).expect_err("damaged pages refused");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn compaction_shrinks_after_pruning() {
        let (_d, mut store) = temp_store();
        let text = "a fairly long message body ".repeat(8);
        for chunk in 0..10_u64 {
            let msgs: Vec<_> = (0..500)
                .map(|i| {
                    super::messages::tests::msg(
                        1,
                        chunk * 500 + i + 1,
                        (chunk * 500 + i) as i64,
                        &text,
                    )
                })
                .collect();
            store.upsert_messages(&msgs).expect("upsert");
        }
        assert_eq!(
            store
                .prune_messages_before(crate::model::Timestamp(4_900))
                .expect("prune"),
            4_900
        );
        let saved = store.compact().expect("compact");
        assert!(saved > 0, "compaction saved nothing");
        assert_eq!(
            store
                .message_count(crate::model::ChannelId(1))
                .expect("count"),
            100
        );
        assert!(store.check_consistency().expect("check").is_ok());
    }

    #[test]
    fn verified_open_accepts_a_healthy_file() {
        let (_d, store) = temp_store();
        store
            .upsert_messages(&[super::messages::tests::msg(1, 1, 1, "x")])
            .expect("upsert");
        let path = store.path().to_path_buf();
        drop(store);
        let again = Store::open_verified(&path).expect("healthy file opens");
        assert_eq!(
            again
                .message_count(crate::model::ChannelId(1))
                .expect("count"),
            1
        );
    }

    #[test]
    fn second_open_in_the_same_process_is_locked() {
        let (_d, store) = temp_store();
        let err = Store::open(store.path()).expect_err("locked");
        assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        assert!(err
            .to_string()
            .contains("already in use by another summarybot process"));
    }

    #[test]
    fn unwritable_parent_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("plain-file");
        fs::write(&file, b"x").expect("write");
        let err = Store::open(&file.join("sub").join("db.redb")).expect_err("cannot create dir");
        assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    }

    #[test]
    fn stats_list_tables_and_reopen_after_close() {
        let (_d, store) = temp_store();
        let stats = store.stats().expect("stats");
        assert_eq!(stats.schema_version, SCHEMA_VERSION);
        assert!(stats.file_bytes > 0);
        let names: Vec<_> = stats.tables.iter().map(|(n, _)| n.as_str()).collect();
        for t in [
            "messages",
            "message_ids",
            "jobs",
            "job_queue",
            "usage",
            "meta",
        ] {
            assert!(names.contains(&t), "{t} missing from {names:?}");
        }
        let path = store.path().to_path_buf();
        store.close().expect("close");
        Store::open(&path).expect("reopen after close");
    }
}
