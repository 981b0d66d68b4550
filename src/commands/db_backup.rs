//! `summarybot db backup PATH`: a consistent copy of the database, verified before it is
//! reported. When the file is free the copy is made here; while `summarybot run` holds it (redb
//! allows one process per file), the service is asked over its webhook port (`POST
//! /admin/backup`, signed with `webhook.secret`) to write the copy beside the database, and it is
//! moved from there: the data never crosses the network.

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

/// Longest wait for the service to write the copy (a large file on a Pi).
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

/// Ask the running service for the copy: it writes it beside the database and names it; the
/// copy is moved from there to `dest` (via `dest.partial`).
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
    let runtime = super::runtime().map_err(|e| anyhow!("{e}"))?;
    let (status, body) = runtime.block_on(async {
        let response = request.send().await.with_context(|| {
            format!("the database is in use, and the running service did not answer at {url}")
        })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .context("the service's answer broke off")?;
        anyhow::Ok((status, body))
    })?;
    if !status.is_success() {
        bail!("the running service refused the backup (HTTP {status}): {body}");
    }
    let db = &config.storage.path;
    let written = written_copy(db, &body)?;
    let moved = copy_to(&written, dest);
    if let Err(e) = std::fs::remove_file(&written) {
        tracing::warn!(file = %written.display(), error = %e, "cannot remove the service's copy; remove it yourself");
    }
    moved
}

/// The file the service says it wrote: a name beside the database with the backup prefix.
fn written_copy(db: &Path, answer: &str) -> anyhow::Result<PathBuf> {
    let name = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| v["file"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow!("the service's answer names no file: {answer}"))?;
    if !name.starts_with(&backup::name_prefix(db)) || name.contains(['/', '\\']) {
        bail!("the service named an unexpected file {name:?}");
    }
    Ok(db.with_file_name(name))
}

/// Copy `from` to `dest` through `dest.partial`, synced, then renamed.
fn copy_to(from: &Path, dest: &Path) -> anyhow::Result<()> {
    let mut partial = dest.as_os_str().to_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let copied = std::fs::copy(from, &partial)
        .map_err(|e| {
            anyhow!(
                "the running service wrote the copy to {}, but it cannot be copied to {} ({e}); \
                 run `summarybot db backup` as root or as the service's user",
                from.display(),
                partial.display()
            )
        })
        .and_then(|_| {
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&partial, dest))
                .with_context(|| format!("cannot write {}", dest.display()))
        });
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_backup_file_beside_the_database_is_taken() {
        let db = Path::new("/var/lib/summarybot/summarybot.redb");
        assert_eq!(
            written_copy(db, r#"{"file":"summarybot.redb.backup-7-1","bytes":9}"#).expect("ok"),
            Path::new("/var/lib/summarybot/summarybot.redb.backup-7-1")
        );
        for answer in [
            r#"{"file":"../../etc/shadow"}"#,
            r#"{"file":"summarybot.redb.backup-1/../../x"}"#,
            r#"{"file":"summarybot.redb"}"#,
            r#"{"bytes":9}"#,
            "not json",
        ] {
            assert!(written_copy(db, answer).is_err(), "{answer}");
        }
    }
}
