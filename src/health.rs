//! The appliance's health in one place: what `GET /health` answers and what the local control
//! socket ([`crate::control`]) tells `summarybot healthcheck`, so both say the same.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::jobs::JobStats;
use crate::model::JobState;
use crate::runtime::Runtime;
use crate::store::Store;

/// The parts whose state makes up the health.
#[derive(Clone)]
pub struct HealthSources {
    /// The database.
    pub store: Arc<Store>,
    /// Discord and scheduler state.
    pub runtime: Arc<Runtime>,
    /// Worker counters.
    pub jobs: Arc<JobStats>,
    /// Worker count.
    pub workers: usize,
}

/// One reading of the health.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// False while the store has failed (then `/health` answers 503).
    pub ok: bool,
    /// The JSON body: `status`, `store`, `store_error`, `discord`, `scheduler`, `workers`.
    pub body: Value,
}

impl HealthSources {
    /// Read the health now.
    pub fn read(&self) -> Health {
        let queued = self.store.job_count(JobState::Queued);
        let store_error = match (self.store.failure(), &queued) {
            (Some(failure), _) => Some(failure.reason),
            (None, Err(e)) => Some(e.to_string()),
            (None, Ok(_)) => None,
        };
        let ok = store_error.is_none();
        let body = json!({
            "status": if ok { "ok" } else { "unavailable" },
            "store": if ok { "ok" } else { "failed" },
            "store_error": store_error,
            "discord": self.runtime.discord(),
            "scheduler": self.runtime.scheduler(),
            "workers": {
                "count": self.workers,
                "busy": self.jobs.busy.load(Ordering::Relaxed),
                "queued": queued.ok(),
            },
        });
        Health { ok, body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_store_is_healthy_and_a_failed_one_is_not() {
        let (_dir, store) = crate::store::test_support::temp_store();
        let sources = HealthSources {
            store: Arc::new(store),
            runtime: Arc::default(),
            jobs: Arc::default(),
            workers: 3,
        };
        let health = sources.read();
        assert!(health.ok);
        assert_eq!(health.body["status"], "ok");
        assert_eq!(health.body["workers"]["count"], 3);
        assert_eq!(health.body["workers"]["queued"], 0);
        sources.store.fail_for_test("disk full");
        let health = sources.read();
        assert!(!health.ok);
        assert_eq!(
            (&health.body["status"], &health.body["store"]),
            (&json!("unavailable"), &json!("failed"))
        );
        assert!(health.body["store_error"]
            .as_str()
            .is_some_and(|e| e.contains("disk full")));
    }
}
