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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn recorded_parts_outlive_the_attempt_and_the_payload_still_decodes() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let payload = r#"{"schedule_id":1,"fire":2000,"since":1000,"source_channels":[8],
            "target_channel":3,"kind":null,"language":null,"quiet_day":false}"#;
        let job = store
            .enqueue_job(super::super::DIGEST, payload, Timestamp(0))
            .expect("enqueue");
        let first = PartLog::new(Arc::clone(&store), &job);
        assert_eq!(first.posted("1:2:0:0"), None);
        first.record("1:2:0:0", "555").await.expect("recorded");
        assert_eq!(first.posted("1:2:0:0").as_deref(), Some("555"));

        // The next attempt reads the job from the store again.
        let stored = store.job(job.id).expect("read").expect("present");
        let retry = PartLog::new(Arc::clone(&store), &stored);
        assert_eq!(retry.posted("1:2:0:0").as_deref(), Some("555"));
        assert_eq!(retry.posted("1:2:1:0"), None);
        assert_eq!(
            super::super::JobPayload::decode(&stored).expect("decodes"),
            super::super::JobPayload::decode(&job).expect("decodes"),
        );

        // A job that is gone cannot record: a retryable error naming the message.
        let gone = Job { id: 999, ..stored };
        let err = PartLog::new(Arc::clone(&store), &gone)
            .record("x", "777")
            .await
            .expect_err("no job 999");
        assert!(
            err.retryable && err.message.contains("message 777"),
            "{err}"
        );
    }
}
