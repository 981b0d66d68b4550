//! `POST /admin/backup?at=<unix seconds>`: a consistent copy of the database for
//! `summarybot db backup`, which cannot open the file while the service holds it. The service
//! writes the copy beside the database and answers only its file name; the command copies it
//! from there and removes it. The data never crosses the network, so only someone who can read
//! the service's data directory gets it (holders of `webhook.secret`, such as webhook senders,
//! or clients behind a reverse proxy do not). Authorized like `GET /jobs` (bearer token, or
//! `X-Signature-256` of the path and query), and `at` must lie within
//! `webhook.timestamp_tolerance`, so a captured request stops working. At most one copy is kept:
//! a new request removes the previous one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rouille::{Request, Response};

use super::routes::{authorize_read, State};
use crate::model::Timestamp;
use crate::web::ApiError;

/// The route.
pub const PATH: &str = "/admin/backup";

/// The request path with its `at` parameter, as the CLI signs it.
pub fn request_path(at_unix_secs: i64) -> String {
    format!("{PATH}?at={at_unix_secs}")
}

/// The name prefix of the copies beside the database file `db`.
pub fn name_prefix(db: &Path) -> String {
    format!(
        "{}.backup-",
        db.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// Answer `POST /admin/backup`: `{"file": "<name beside the database>", "bytes": N}`.
pub fn handle(state: &State, request: &Request) -> Result<Response, ApiError> {
    authorize_read(state, request)?;
    fresh(
        request,
        state.tolerance.as_secs(),
        Timestamp::now().0 / 1000,
    )?;
    // One copy at a time: each is as large as the database.
    let Ok(_writing) = WRITING.try_lock() else {
        return Err(ApiError::conflict(
            "a backup is being written already; try again when it is done",
        ));
    };
    let db = state.store.path();
    remove_previous(db);
    let name = format!(
        "{}{}-{}",
        name_prefix(db),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let report = state
        .store
        .backup_to(&db.with_file_name(&name))
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    tracing::info!(
        file = %report.path.display(),
        bytes = report.file_bytes,
        "database backup written for `summarybot db backup`"
    );
    Ok(Response::json(
        &serde_json::json!({ "file": name, "bytes": report.file_bytes }),
    ))
}

/// Numbers the copies of this process.
static NEXT: AtomicU64 = AtomicU64::new(1);
/// Held while a copy is written.
static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// 401 unless `at` is within `tolerance_secs` of `now`.
fn fresh(request: &Request, tolerance_secs: u64, now: i64) -> Result<(), ApiError> {
    let at: i64 = request
        .get_param("at")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("add ?at=<Unix seconds now> to the path (and sign it)")
        })?;
    if now.abs_diff(at) > tolerance_secs {
        return Err(ApiError::unauthorized(
            "the request's `at` is outside webhook.timestamp_tolerance; check both clocks and send it again",
        ));
    }
    Ok(())
}

/// Remove copies an earlier request left (its command died before removing it).
fn remove_previous(db: &Path) {
    let prefix = name_prefix(db);
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_or_missing_times_are_refused() {
        let request = |path: &str| Request::fake_http("POST", path, vec![], vec![]);
        let now = 1_800_000_000;
        assert!(fresh(&request(&request_path(now - 30)), 300, now).is_ok());
        let stale = fresh(&request(&request_path(now - 301)), 300, now).expect_err("stale");
        assert_eq!(stale.status, 401);
        let missing = fresh(&request(PATH), 300, now).expect_err("missing");
        assert_eq!(missing.status, 400);
    }

    #[test]
    fn earlier_copies_beside_the_database_are_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("s.redb");
        for name in [
            "s.redb",
            "s.redb.backup-1-1",
            "s.redb.backup-9-3",
            "other.redb",
        ] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        remove_previous(&db);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["other.redb", "s.redb"]);
    }
}
