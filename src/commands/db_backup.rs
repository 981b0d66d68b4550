//! `summarybot db backup PATH`: a consistent copy of the database, verified before it is
//! reported. When the file is free the copy is made here; while `summarybot run` holds it (redb
//! allows one process per file), the service makes the copy and streams it over its local webhook
//! port (`POST /admin/backup`, signed with `webhook.secret`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};

use super::db_cmd::human_bytes;
use super::output::outln;
use super::update_cmd::connect_host;
use super::Failure;
use crate::config::Config;
use crate::model::Timestamp;
use crate::store::{Store, StoreError};
use crate::webhook::{backup, signature};

/// Longest silence while the service makes the copy or streams it (a large file on a Pi).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest wait for the service to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Run `db backup`.
pub fn run(config: &Config, dest: &Path) -> Result<(), Failure> {
    if dest.exists() {
        return Err(Failure::Runtime(anyhow!(
            "{} exists; choose a new name or remove it first",
            dest.display()
        )));
    }
    let db = &config.storage.path;
    if !db.is_file() {
        return Err(Failure::Runtime(anyhow!(
            "there is no database at {} (storage.path) to back up",
            db.display()
        )));
    }
    let source = match Store::open_verified(db) {
        Ok(store) => {
            store.backup_to(dest).map_err(anyhow::Error::from)?;
            store.close().map_err(anyhow::Error::from)?;
            "copied from the database file"
        }
        Err(StoreError::Locked { .. }) => {
            from_service(config, dest)?;
            "copied by the running service"
        }
        Err(e) => {
            return Err(Failure::Runtime(anyhow!(
                "cannot back up {}: {e}",
                db.display()
            )))
        }
    };
    let report = Store::verify_file(dest)
        .map_err(|e| anyhow!("the backup {} does not verify: {e}", dest.display()))?;
    let tables = &report.stats.tables;
    let rows = |name: &str| tables.iter().find(|(n, _)| n == name).map_or(0, |t| t.1);
    outln!(
        "backup written to {} ({}; {source})",
        dest.display(),
        human_bytes(report.stats.file_bytes)
    );
    outln!(
        "verified: every page checksum, {} messages, {} jobs, {} tables",
        rows("messages"),
        rows("jobs"),
        tables.len()
    );
    if report.consistency.is_ok() {
        Ok(())
    } else {
        Err(Failure::Runtime(anyhow!(
            "the backup holds {} problem(s) in its records or indexes, copied from the database: {}",
            report.consistency.problem_count,
            report.consistency.problems.join("; ")
        )))
    }
}

/// Ask the running service for the copy and write it to `dest` (via `dest.partial`).
fn from_service(config: &Config, dest: &Path) -> anyhow::Result<()> {
    let web = &config.webhook;
    if !web.enabled || (web.secret.is_empty() && web.bearer_token.is_empty()) {
        bail!(
            "the running service holds the database and its webhook server is off (webhook.enabled), \
             so it cannot be asked for a copy: stop the service, run `summarybot db backup` again, \
             then start it"
        );
    }
    let host = connect_host(&web.host);
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let path = backup::request_path(Timestamp::now().0 / 1000);
    let url = format!("http://{host}:{}{path}", web.port);
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .context("cannot set up the HTTP client")?;
    let request = if web.secret.is_empty() {
        client.post(&url).bearer_auth(web.bearer_token.expose())
    } else {
        let signed = signature::sign_header(web.secret.expose().as_bytes(), path.as_bytes());
        client.post(&url).header("X-Signature-256", signed)
    };
    let mut partial = dest.as_os_str().to_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let runtime = super::runtime().map_err(|e| anyhow!("{e}"))?;
    let fetched = runtime.block_on(async {
        let mut response = request.send().await.with_context(|| {
            format!("the database is in use, and the running service did not answer at {url}")
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("the running service refused the backup (HTTP {status}): {body}");
        }
        let expected = response.content_length();
        let mut file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut received = 0_u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .context("the backup stream broke off")?
        {
            file.write_all(&chunk)
                .with_context(|| format!("cannot write {}", partial.display()))?;
            received += chunk.len() as u64;
        }
        if expected.is_some_and(|n| n != received) {
            bail!(
                "the backup stream ended early ({received} of {} bytes)",
                expected.unwrap_or_default()
            );
        }
        file.sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))
    });
    let done = fetched.and_then(|()| {
        std::fs::rename(&partial, dest)
            .with_context(|| format!("cannot rename the backup to {}", dest.display()))
    });
    if done.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    done
}
