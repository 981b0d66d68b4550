//! The parts (Discord messages) a job has posted: each part's nonce and message id, kept in
//! the job's stored payload as soon as Discord acknowledges it, so a retry skips what was
//! posted. Discord drops a repeated nonce only for a few minutes; a retry after a reboot, a
//! lease expiry or a long rate limit comes later than that.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::model::Job;
use crate::store::Store;

use super::{payload, PublishError};

/// The posted parts of one job, read when the attempt starts and written through to the store.
pub struct PartLog {
    store: Arc<Store>,
    job_id: u64,
    posted: Mutex<BTreeMap<String, String>>,
}

impl PartLog {
    /// The parts `job` posted on earlier attempts (none for a job stored before parts were
    /// recorded); [`PartLog::record`] writes new ones to `store`.
    pub fn new(store: Arc<Store>, job: &Job) -> Self {
        Self {
            store,
            job_id: job.id,
            posted: Mutex::new(payload::posted_parts(&job.payload)),
        }
    }

    /// The message id of the part with `nonce` when an earlier attempt posted it.
    pub fn posted(&self, nonce: &str) -> Option<String> {
        self.lock().get(nonce).cloned()
    }

    /// Record that the part with `nonce` was posted as `message_id`, durably, before the next
    /// part is sent. A failed write is a retryable error (the nonce still covers a quick retry).
    pub async fn record(&self, nonce: &str, message_id: &str) -> Result<(), PublishError> {
        self.lock().insert(nonce.to_owned(), message_id.to_owned());
        let (store, id) = (Arc::clone(&self.store), self.job_id);
        let (part, message) = (nonce.to_owned(), message_id.to_owned());
        let written = tokio::task::spawn_blocking(move || {
            store.update_job_payload(id, |p| payload::with_posted_part(p, &part, &message))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
        written.map_err(|e| {
            PublishError::transient(format!(
                "message {message_id} was posted but job {id} could not record it: {e}"
            ))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.posted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
