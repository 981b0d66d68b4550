//! `POST /admin/backup?at=<unix seconds>`: a consistent copy of the database for
//! `summarybot db backup`, which cannot open the file while the service holds it. Only from this
//! machine (a loopback peer), authorized like `GET /jobs` (bearer token, or `X-Signature-256` of
//! the path and query), and `at` must lie within `webhook.timestamp_tolerance`, so a captured
//! request stops working. The copy is written beside the database, unlinked, and streamed.

use std::fs::File;
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

/// Answer `POST /admin/backup`.
pub fn handle(state: &State, request: &Request) -> Result<Response, ApiError> {
    if !request.remote_addr().ip().is_loopback() {
        return Err(ApiError::forbidden(
            "database backups are only served to this machine; run `summarybot db backup` on it",
        ));
    }
    authorize_read(state, request)?;
    fresh(
        request,
        state.tolerance.as_secs(),
        Timestamp::now().0 / 1000,
    )?;
    let temp = temp_path(state.store.path());
    let report = state
        .store
        .backup_to(&temp)
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let file = File::open(&temp);
    // The open file is streamed; its name is gone at once, so nothing is left behind.
    let _ = std::fs::remove_file(&temp);
    let file = file.map_err(|e| ApiError::internal(format!("cannot read the backup: {e}")))?;
    tracing::info!(
        bytes = report.file_bytes,
        tables = report.tables.len(),
        "database backup sent"
    );
    Ok(Response::from_file("application/octet-stream", file))
}

/// 401 unless `at` is within `tolerance_secs` of `now`.
fn fresh(request: &Request, tolerance_secs: u64, now: i64) -> Result<(), ApiError> {
    let at: i64 = request
        .get_param("at")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("add ?at=<Unix seconds now> to the path (and sign it)")
        })?;
    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    if now.abs_diff(at) > tolerance.unsigned_abs() {
        return Err(ApiError::unauthorized(
            "the request's `at` is outside webhook.timestamp_tolerance; check both clocks and send it again",
        ));
    }
    Ok(())
}

/// A new file name beside the database (one per request).
fn temp_path(db: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".backup-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    db.with_file_name(name)
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
}
