//! The open redb `Database`, and getting it back after a disk error: redb latches its first I/O
//! failure and refuses every later write until the file is closed and opened again. An I/O error
//! marks the store failed; the next use of the store at least [`RETRY_EVERY`] after the last try
//! writes a probe file beside the database, and once that succeeds closes the database and opens
//! it again (redb repairs it on open), so a full disk heals without a restart.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redb::Database;

use super::{open_error, StoreError};
use crate::model::Timestamp;

/// Least time between two attempts to reopen a failed database.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Bytes the probe writes (and syncs) beside the database before a reopen is tried.
const PROBE_BYTES: usize = 1024 * 1024;
/// Longest wait for transactions in flight to end before the database is closed for a reopen.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Why the store cannot write at the moment (for `/health` and the status page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFailure {
    /// The error that failed it, or why the last reopen did not work.
    pub reason: String,
    /// When it failed.
    pub since: Timestamp,
}

/// A failed store: what went wrong and when a reopen was last tried.
struct Failed {
    failure: StoreFailure,
    /// When it failed, for the log line on recovery.
    started: Instant,
    last_attempt: Instant,
}

/// The database behind a lock, with the failure state.
pub(super) struct Handle {
    path: PathBuf,
    verify: bool,
    cache_bytes: usize,
    /// `None` after a reopen failed (until one works).
    db: RwLock<Option<Arc<Database>>>,
    failed: Mutex<Option<Failed>>,
    /// Held by the one thread trying a reopen.
    reopening: Mutex<()>,
}

impl Handle {
    /// Open the database at `path` (verifying every page first when `verify`) with a page
    /// cache of `cache_bytes`.
    pub fn open(path: &Path, verify: bool, cache_bytes: usize) -> Result<Self, StoreError> {
        let db = open_database(path, verify, cache_bytes)?;
        Ok(Self {
            path: path.to_path_buf(),
            verify,
            cache_bytes,
            db: RwLock::new(Some(Arc::new(db))),
            failed: Mutex::new(None),
            reopening: Mutex::new(()),
        })
    }

    /// The database for a read: the failed one still answers from its cache.
    pub fn for_read(&self) -> Result<Arc<Database>, StoreError> {
        self.reopen_if_due();
        if let Some(db) = self.current() {
            return Ok(db);
        }
        // Closed for a reopen right now: wait for it to end (at most the drain wait plus the
        // open) rather than fail a read that the reopened file will answer.
        drop(
            self.reopening
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.current().ok_or_else(|| self.unavailable())
    }

    /// The database for a write: none while the store is failed.
    pub fn for_write(&self) -> Result<Arc<Database>, StoreError> {
        self.reopen_if_due();
        if self.failure().is_some() {
            return Err(self.unavailable());
        }
        self.current().ok_or_else(|| self.unavailable())
    }

    /// Note the outcome of an operation: an I/O error fails the store.
    pub fn note<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Io { detail }) = &result {
            let mut failed = self.lock_failed();
            if failed.is_none() {
                tracing::error!(
                    path = %self.path.display(),
                    error = %detail,
                    "database I/O failed; writes are refused until the file is reopened, which is \
                     tried every second once a probe write beside it succeeds (free disk space)"
                );
                let now = Instant::now();
                *failed = Some(Failed {
                    failure: StoreFailure {
                        reason: detail.clone(),
                        since: Timestamp::now(),
                    },
                    started: now,
                    last_attempt: now,
                });
            }
        }
        result
    }

    /// Why the store cannot write, if it cannot.
    pub fn failure(&self) -> Option<StoreFailure> {
        self.lock_failed().as_ref().map(|f| f.failure.clone())
    }

    /// The database for exclusive use (compaction); `None` while shared or closed.
    pub fn exclusive(&mut self) -> Option<&mut Database> {
        self.db
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .and_then(Arc::get_mut)
    }

    /// Take the database out for closing; `None` when it is closed or still shared.
    pub fn into_database(self) -> Option<Database> {
        let db = self
            .db
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)?;
        Arc::try_unwrap(db).ok()
    }

    fn current(&self) -> Option<Arc<Database>> {
        self.db
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn lock_failed(&self) -> MutexGuard<'_, Option<Failed>> {
        self.failed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unavailable(&self) -> StoreError {
        StoreError::Unavailable {
            reason: self
                .failure()
                .map_or_else(|| "it is being reopened".to_string(), |f| f.reason),
        }
    }

    /// Try a reopen when the store is failed and the last try is [`RETRY_EVERY`] ago; one
    /// thread at a time, the others go on at once.
    fn reopen_if_due(&self) {
        if !self.reopen_due() {
            return;
        }
        let Ok(_reopening) = self.reopening.try_lock() else {
            return;
        };
        // Checked again under the lock: another thread may have reopened the file between the
        // check above and here, and a second reopen would close the healthy database under
        // everyone using it.
        if !self.reopen_due() {
            return;
        }
        let outcome = self.reopen();
        let mut failed = self.lock_failed();
        match outcome {
            Ok(()) => {
                if let Some(f) = failed.take() {
                    tracing::info!(
                        path = %self.path.display(),
                        failed_for_ms = f.started.elapsed().as_millis() as u64,
                        "database reopened; writes work again"
                    );
                }
            }
            Err(reason) => {
                if let Some(f) = failed.as_mut() {
                    f.last_attempt = Instant::now();
                    f.failure.reason = reason;
                }
            }
        }
    }

    /// The store is failed and the last reopen was tried at least [`RETRY_EVERY`] ago.
    fn reopen_due(&self) -> bool {
        self.lock_failed()
            .as_ref()
            .is_some_and(|f| f.last_attempt.elapsed() >= RETRY_EVERY)
    }

    /// Probe, then close and open the file again. The error says why not.
    fn reopen(&self) -> Result<(), String> {
        probe(&self.path).map_err(|e| {
            format!(
                "the disk still refuses writes ({e}) beside {}",
                self.path.display()
            )
        })?;
        let taken = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(db) = taken {
            match drain(db) {
                Ok(db) => drop(db),
                Err(db) => {
                    *self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(db);
                    return Err("transactions still running; the reopen is tried again".into());
                }
            }
        }
        let db = open_database(&self.path, self.verify, self.cache_bytes)
            .map_err(|e| format!("reopening the database failed: {e}"))?;
        *self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(db));
        Ok(())
    }
}

/// Wait (bounded) until no transaction holds `db` any more; it back when they do not end.
fn drain(mut db: Arc<Database>) -> Result<Database, Arc<Database>> {
    let deadline = Instant::now() + DRAIN_WAIT;
    loop {
        match Arc::try_unwrap(db) {
            Ok(db) => return Ok(db),
            Err(shared) if Instant::now() < deadline => {
                db = shared;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(shared) => return Err(shared),
        }
    }
}

/// Write and sync [`PROBE_BYTES`] in a file beside the database, then remove it.
fn probe(path: &Path) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".write-probe");
    let probe = path.with_file_name(name);
    let result = fs::File::create(&probe).and_then(|mut f| {
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_data()
    });
    let _ = fs::remove_file(&probe);
    result
}

/// Open (or create) the redb file with a page cache of `cache_bytes`; with `verify`, check
/// every page's checksum first.
pub(super) fn open_database(
    path: &Path,
    verify: bool,
    cache_bytes: usize,
) -> Result<Database, StoreError> {
    let shown = path.display().to_string();
    Database::builder()
        .set_cache_size(cache_bytes)
        .set_check_integrity_on_open(verify)
        .set_repair_callback(move |session| {
            // Called at 0 %, then as each of redb's passes over the file ends.
            if session.progress() > 0.0 {
                tracing::debug!(path = %shown, progress = session.progress(), "checking the database");
            } else if verify {
                tracing::info!(path = %shown, "checking every page of the database file");
            } else {
                tracing::warn!(path = %shown, "repairing the database after an unclean shutdown");
            }
        })
        .create(path)
        .map_err(|e| open_error(path, e.into()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use redb::ReadableDatabase;

    use super::*;

    #[test]
    fn reads_during_a_reopen_wait_for_it_instead_of_failing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let handle = Arc::new(
            Handle::open(
                &dir.path().join("db.redb"),
                false,
                crate::store::CACHE_BYTES,
            )
            .expect("open"),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let failed_reads = Arc::new(AtomicUsize::new(0));
        let reads = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..6)
            .map(|_| {
                let (handle, stop) = (Arc::clone(&handle), Arc::clone(&stop));
                let (failed_reads, reads) = (Arc::clone(&failed_reads), Arc::clone(&reads));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match handle.for_read().map(|db| db.begin_read().is_ok()) {
                            Ok(true) => reads.fetch_add(1, Ordering::Relaxed),
                            _ => failed_reads.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        // Three failures in a row, each healed by a reopen that the readers trigger.
        for _ in 0..3 {
            let _ = handle.note::<()>(Err(StoreError::Io {
                detail: "simulated I/O error".into(),
            }));
            let healed = Instant::now() + Duration::from_secs(10);
            while handle.failure().is_some() {
                assert!(Instant::now() < healed, "never reopened");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().expect("reader");
        }
        assert!(reads.load(Ordering::Relaxed) > 0);
        assert_eq!(failed_reads.load(Ordering::Relaxed), 0, "a read failed");
    }
}
