//! Prometheus text exposition of the server's counters: connections open and refused, requests
//! by route and status, jobs by state and outcome, summaries by provider and cache hit, LLM
//! tokens used by jobs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::jobs::JobStats;
use crate::model::JobState;
use crate::store::Store;

/// Route label of requests the HTTP layer answered before routing (bad, too slow or too large
/// heads).
const UNPARSED: &str = "unparsed";

/// Request and connection counters of the HTTP server.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    connections: Arc<tiny_http::ConnectionStats>,
}

impl Metrics {
    /// Counters that also report `connections`, the HTTP server's own.
    pub fn new(connections: Arc<tiny_http::ConnectionStats>) -> Self {
        Self {
            requests: Mutex::default(),
            connections,
        }
    }

    /// Count one answered request.
    pub fn record(&self, route: &'static str, status: u16) {
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((route, status)).or_insert(0) += 1;
    }

    /// The Prometheus text of every counter (job states are read from `store`).
    pub fn render(&self, store: &Store, jobs: &JobStats) -> String {
        let mut out = String::new();
        self.render_connections(&mut out);
        self.render_requests(&mut out);
        header(
            &mut out,
            "summarybot_jobs",
            "gauge",
            "Jobs in the queue, by state.",
        );
        for (state, name) in [
            (JobState::Queued, "queued"),
            (JobState::Running, "running"),
            (JobState::Done, "done"),
            (JobState::Failed, "failed"),
        ] {
            if let Ok(n) = store.job_count(state) {
                let _ = writeln!(out, "summarybot_jobs{{state=\"{name}\"}} {n}");
            }
        }
        header(
            &mut out,
            "summarybot_job_attempts_total",
            "counter",
            "Finished job attempts, by kind and outcome.",
        );
        for ((kind, outcome), n) in jobs.outcomes() {
            let _ = writeln!(
                out,
                "summarybot_job_attempts_total{{kind=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(&kind)
            );
        }
        header(
            &mut out,
            "summarybot_summaries_total",
            "counter",
            "Summaries made by jobs, by provider and cache hit.",
        );
        for ((provider, cached), n) in jobs.summaries() {
            let _ = writeln!(
                out,
                "summarybot_summaries_total{{provider=\"{}\",cache_hit=\"{cached}\"}} {n}",
                escape(&provider)
            );
        }
        header(
            &mut out,
            "summarybot_llm_tokens_total",
            "counter",
            "LLM tokens used by job summaries.",
        );
        let _ = writeln!(
            out,
            "summarybot_llm_tokens_total {}",
            jobs.tokens.load(Ordering::Relaxed)
        );
        let singles = [
            (
                "summarybot_enqueue_commits_total",
                "counter",
                "Durable group commits of incoming jobs.",
                jobs.enqueue_commits.load(Ordering::Relaxed),
            ),
            (
                "summarybot_enqueue_submissions_total",
                "counter",
                "Deliveries written by those commits (new and duplicate).",
                jobs.enqueue_submissions.load(Ordering::Relaxed),
            ),
            (
                "summarybot_workers_busy",
                "gauge",
                "Workers running a job now.",
                jobs.busy.load(Ordering::Relaxed) as u64,
            ),
        ];
        for (name, kind, help, value) in singles {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }

    /// Requests by route and status, those the HTTP layer answered before routing included.
    fn render_requests(&self, out: &mut String) {
        header(
            out,
            "summarybot_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let unparsed = self
            .connections
            .answered()
            .into_iter()
            .map(|(status, n)| ((UNPARSED, status), n));
        for ((route, status), n) in requests.into_iter().chain(unparsed) {
            let _ = writeln!(
                out,
                "summarybot_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
    }

    /// Connections open now and refused since the start.
    fn render_connections(&self, out: &mut String) {
        let lines = [
            (
                "summarybot_http_connections_open",
                "gauge",
                "HTTP connections open now (at most webhook.max_connections).",
                self.connections.open() as u64,
            ),
            (
                "summarybot_http_connections_refused_total",
                "counter",
                "HTTP connections closed right after accept: over webhook.max_connections (answered 503), or no file descriptor or thread was left.",
                self.connections.refused(),
            ),
        ];
        for (name, kind, help, value) in lines {
            header(out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
    }
}

/// `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Escape a label value.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_in_prometheus_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("m.redb")).expect("open");
        store
            .enqueue_job("summary_request", "{}", crate::model::Timestamp(0))
            .expect("enqueue");
        let metrics = Metrics::default();
        metrics.record("/webhook", 202);
        metrics.record("/webhook", 202);
        metrics.record("/health", 200);
        let jobs = JobStats::default();
        jobs.record_outcome("summary_request", "retry");
        let text = metrics.render(&store, &jobs);
        assert!(
            text.contains("summarybot_http_requests_total{route=\"/webhook\",status=\"202\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("summarybot_jobs{state=\"queued\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "summarybot_job_attempts_total{kind=\"summary_request\",outcome=\"retry\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE summarybot_llm_tokens_total counter\n"),
            "{text}"
        );
        assert_eq!(escape("a\"b"), "a\\\"b");
    }
}
