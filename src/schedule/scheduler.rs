//! The scheduler task: sleeps until the earliest next run (no per-second polling), wakes early
//! when schedules or personal digests change, and enqueues one `digest` job per fire time under
//! the idempotency key `schedule:{id}:{fire_millis}` (a personal digest: one `personal_digest`
//! job under `personal:{id}:{fire_millis}`), so a fire time never yields two digests, even
//! across restarts.
//!
//! Catch-up: when a run was missed (the service was down), the latest missed fire time runs once
//! if it is within `scheduler.catch_up` (a fire time less than a minute late always runs);
//! older ones are skipped and logged.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{personal, window, Spec};
use crate::jobs::{DigestJob, Enqueuer, JobPayload, PersonalDigestJob};
use crate::model::{Schedule, Subscription, Timestamp};
use crate::runtime::Runtime;
use crate::store::{Store, StoreError};

/// A fire time this late still runs, whatever `scheduler.catch_up` says.
const LATE_OK: Duration = Duration::from_secs(60);
/// Longest sleep: the wall clock is re-read at least this often (a Raspberry Pi without a
/// real-time clock may jump forward when NTP syncs after boot).
const MAX_SLEEP: Duration = Duration::from_secs(300);
/// Pause before trying again after a database or queue failure.
const RETRY: Duration = Duration::from_secs(30);
/// How long a fire time's idempotency key outlives the catch-up window.
const KEY_MARGIN: Duration = Duration::from_secs(86_400);

/// The running scheduler.
pub struct Scheduler {
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

/// What to do about one schedule whose next run is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The fire time to run now (None: every missed one is too old).
    pub fire: Option<Timestamp>,
    /// True when fire times were missed and not run.
    pub skipped: bool,
    /// The next fire time after now.
    pub next: Option<Timestamp>,
}

/// Decide, at `now`, about a schedule planned to fire at `planned` (≤ `now`): run the latest
/// fire time up to `now` if it is within `catch_up` (at least [`LATE_OK`]); skip older ones.
pub fn decide(spec: &Spec, planned: Timestamp, now: Timestamp, catch_up: Duration) -> Decision {
    let grace = i64::try_from(catch_up.max(LATE_OK).as_millis()).unwrap_or(i64::MAX);
    let oldest_ok = Timestamp(now.0.saturating_sub(grace));
    let mut candidate = if planned >= oldest_ok {
        Some(planned)
    } else {
        spec.next_after(Timestamp(oldest_ok.0 - 1))
    };
    let mut fire = None;
    while let Some(t) = candidate.filter(|t| *t <= now) {
        fire = Some(t);
        candidate = spec.next_after(t);
    }
    Decision {
        fire,
        skipped: fire != Some(planned),
        next: spec.next_after(now),
    }
}

impl Scheduler {
    /// Start the scheduler on the current tokio runtime. Digests go through `enqueuer`;
    /// [`Runtime::notify_schedules_changed`] wakes it; its state is reported to `runtime`.
    pub fn start(
        store: Arc<Store>,
        enqueuer: Enqueuer,
        runtime: Arc<Runtime>,
        catch_up: Duration,
    ) -> Scheduler {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(store, enqueuer, runtime, catch_up, stopped));
        Scheduler { task, stop }
    }

    /// Stop the task (a pass already under way finishes first, so nothing is half-recorded).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the scheduler task failed");
        }
        tracing::info!("scheduler stopped");
    }
}

async fn run(
    store: Arc<Store>,
    enqueuer: Enqueuer,
    runtime: Arc<Runtime>,
    catch_up: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    runtime.update_scheduler(|s| s.running = true);
    tracing::info!(catch_up = ?catch_up, "scheduler started");
    while !*stopped.borrow() {
        let (store2, enqueuer2) = (Arc::clone(&store), enqueuer.clone());
        let now = Timestamp::now();
        let pass =
            tokio::task::spawn_blocking(move || pass(&store2, &enqueuer2, catch_up, now)).await;
        let sleep = match pass {
            Ok(Ok(plan)) => {
                runtime.update_scheduler(|s| {
                    s.schedules = plan.watched;
                    s.next_fire = plan.next;
                });
                plan.next.map_or(MAX_SLEEP, |t| until(t).min(MAX_SLEEP))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the scheduler cannot read the schedules; retrying");
                RETRY
            }
            Err(e) => {
                tracing::error!(error = %e, "a scheduler pass failed; retrying");
                RETRY
            }
        };
        tokio::select! {
            _ = stopped.changed() => {}
            () = runtime.schedules_changed() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
    runtime.update_scheduler(|s| s.running = false);
}

/// Time from now until `t` (zero when past), rounded up so a wake-up is never early.
fn until(t: Timestamp) -> Duration {
    let ms = t.0.saturating_sub(Timestamp::now().0).max(0);
    Duration::from_millis(u64::try_from(ms).unwrap_or(0) + 1)
}

/// What one pass saw.
struct Plan {
    watched: usize,
    next: Option<Timestamp>,
}

/// Look at every enabled schedule and active personal digest once: fire what is due, plan the
/// next wake-up.
fn pass(
    store: &Store,
    enqueuer: &Enqueuer,
    catch_up: Duration,
    now: Timestamp,
) -> Result<Plan, StoreError> {
    let mut plan = Plan {
        watched: 0,
        next: None,
    };
    let schedules = store.schedules()?;
    // A damaged personal digest must not stop the servers' schedules.
    let subscriptions = store.subscriptions().unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the personal digests; only schedules run");
        Vec::new()
    });
    let timed = schedules
        .iter()
        .filter(|s| s.enabled)
        .map(|s| s as &dyn Timed)
        .chain(
            subscriptions
                .iter()
                .filter(|s| s.paused_at.is_none())
                .map(|s| s as &dyn Timed),
        );
    for item in timed {
        plan.watched += 1;
        let next = match visit(store, enqueuer, item, catch_up, now) {
            Ok(next) => next,
            Err(e) => {
                let (schedule_id, subscription_id) = item.ids();
                tracing::error!(schedule_id, subscription_id, error = %e, "firing failed; retrying");
                Some(Timestamp(
                    now.0 + i64::try_from(RETRY.as_millis()).unwrap_or(0),
                ))
            }
        };
        plan.next = match (plan.next, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(plan)
}

/// What changes on a fired item after a visit.
enum Mark {
    /// It cannot run: why (shown to its owner).
    Invalid(String),
    /// Its next run (first time seen, or after a fire).
    Next {
        /// The fire time run now, if any.
        fired: Option<Timestamp>,
        /// The next fire time.
        next: Option<Timestamp>,
    },
}

impl Mark {
    /// Write this mark into an item's problem, last run and next run fields.
    fn apply(
        self,
        problem: &mut Option<String>,
        last_run: &mut Option<Timestamp>,
        next_run: &mut Option<Timestamp>,
    ) {
        match self {
            Self::Invalid(message) => *problem = Some(message),
            Self::Next { fired, next } => {
                if fired.is_some() {
                    *last_run = fired;
                }
                *next_run = next;
            }
        }
    }
}

/// Something the scheduler fires: a server's digest schedule or a member's personal digest.
trait Timed {
    /// Its id, for logs: `(schedule_id, None)` or `(None, subscription_id)` (a field that is
    /// None is left out of the log line).
    fn ids(&self) -> (Option<u64>, Option<u64>);
    /// When it fires.
    fn spec(&self) -> Result<Spec, super::SpecError>;
    /// Its planned next fire time.
    fn next_run(&self) -> Option<Timestamp>;
    /// The problem last recorded on it, if any.
    fn recorded_problem(&self) -> Option<&str>;
    /// Enqueue its job for fire time `fire` (a duplicate of an earlier enqueue is a no-op).
    fn enqueue(
        &self,
        enqueuer: &Enqueuer,
        fire: Timestamp,
        catch_up: Duration,
    ) -> Result<(), String>;
    /// Store `mark`, unless someone changed its timing or state since it was read (then the
    /// next pass, which their change woke, sees the new version).
    fn mark(&self, store: &Store, mark: Mark) -> Result<(), String>;
}

/// Fire `item` when due; returns its next run.
fn visit(
    store: &Store,
    enqueuer: &Enqueuer,
    item: &dyn Timed,
    catch_up: Duration,
    now: Timestamp,
) -> Result<Option<Timestamp>, String> {
    let (schedule_id, subscription_id) = item.ids();
    let spec = match item.spec() {
        Ok(spec) => spec,
        Err(e) => {
            let message = format!("the schedule cannot run: {e}");
            if item.recorded_problem() != Some(message.as_str()) {
                tracing::error!(schedule_id, subscription_id, error = %e, "invalid schedule skipped");
                item.mark(store, Mark::Invalid(message))?;
            }
            return Ok(None);
        }
    };
    let planned = match item.next_run() {
        Some(t) if t <= now => t,
        Some(t) => return Ok(Some(t)),
        None => {
            let next = spec.next_after(now);
            if next.is_some() {
                item.mark(store, Mark::Next { fired: None, next })?;
            }
            return Ok(next);
        }
    };
    let decision = decide(&spec, planned, now, catch_up);
    if decision.skipped {
        tracing::warn!(schedule_id, subscription_id, missed_from = %planned, ran = ?decision.fire.map(|t| t.to_string()),
            catch_up = ?catch_up, "missed fire times older than scheduler.catch_up were skipped");
    }
    if let Some(fire) = decision.fire {
        item.enqueue(enqueuer, fire, catch_up)?;
    }
    item.mark(
        store,
        Mark::Next {
            fired: decision.fire,
            next: decision.next,
        },
    )?;
    Ok(decision.next)
}

/// Enqueue `job` under the idempotency key `key` (kept past the catch-up window).
fn enqueue_once(
    enqueuer: &Enqueuer,
    key: &str,
    job: &JobPayload,
    catch_up: Duration,
) -> Result<u64, String> {
    let stored = enqueuer
        .enqueue(key, catch_up + KEY_MARGIN, job.kind(), &job.encode())
        .map_err(|e| e.to_string())?;
    tracing::info!(
        key,
        job_id = stored.job_id,
        duplicate = stored.duplicate,
        "job enqueued"
    );
    Ok(stored.job_id)
}

impl Timed for Schedule {
    fn ids(&self) -> (Option<u64>, Option<u64>) {
        (Some(self.id), None)
    }

    fn spec(&self) -> Result<Spec, super::SpecError> {
        Spec::parse(&self.cron, &self.timezone)
    }

    fn next_run(&self) -> Option<Timestamp> {
        self.next_run
    }

    fn recorded_problem(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    fn enqueue(
        &self,
        enqueuer: &Enqueuer,
        fire: Timestamp,
        catch_up: Duration,
    ) -> Result<(), String> {
        let (since, until) = window(self, fire);
        let job = JobPayload::Digest(DigestJob {
            schedule_id: self.id,
            fire: until,
            since,
            source_channels: self.source_channels.clone(),
            target_channel: self.target_channel,
            kind: self.kind,
            language: self.language.clone(),
            detail: self.detail,
            quiet_day: self.quiet_day,
        });
        let key = format!("schedule:{}:{}", self.id, fire.0);
        enqueue_once(enqueuer, &key, &job, catch_up).map(|_| ())
    }

    fn mark(&self, store: &Store, mark: Mark) -> Result<(), String> {
        store
            .modify_schedule(self.id, |current| {
                let same = current.cron == self.cron
                    && current.timezone == self.timezone
                    && current.enabled == self.enabled
                    && current.next_run == self.next_run;
                if same {
                    mark.apply(
                        &mut current.last_error,
                        &mut current.last_run,
                        &mut current.next_run,
                    );
                }
                same
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Timed for Subscription {
    fn ids(&self) -> (Option<u64>, Option<u64>) {
        (None, Some(self.id))
    }

    fn spec(&self) -> Result<Spec, super::SpecError> {
        personal::spec(self)
    }

    fn next_run(&self) -> Option<Timestamp> {
        self.next_run
    }

    fn recorded_problem(&self) -> Option<&str> {
        self.last_outcome.as_deref()
    }

    fn enqueue(
        &self,
        enqueuer: &Enqueuer,
        fire: Timestamp,
        catch_up: Duration,
    ) -> Result<(), String> {
        let (since, until) = personal::window(self, fire);
        let job = JobPayload::PersonalDigest(PersonalDigestJob {
            subscription_id: self.id,
            fire: until,
            since,
        });
        let key = format!("personal:{}:{}", self.id, fire.0);
        enqueue_once(enqueuer, &key, &job, catch_up).map(|_| ())
    }

    fn mark(&self, store: &Store, mark: Mark) -> Result<(), String> {
        store
            .modify_subscription(self.id, |current| {
                let same = current.cadence == self.cadence
                    && current.hour == self.hour
                    && current.timezone == self.timezone
                    && current.paused_at == self.paused_at
                    && current.next_run == self.next_run;
                if same {
                    mark.apply(
                        &mut current.last_outcome,
                        &mut current.last_run,
                        &mut current.next_run,
                    );
                }
                same
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect(text)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn an_on_time_fire_runs() {
        let spec = Spec::parse("0 9 * * *", "UTC").expect("spec");
        let d = decide(
            &spec,
            at("2026-11-25T09:00:00Z"),
            at("2026-11-25T09:00:00.020Z"),
            Duration::ZERO,
        );
        assert_eq!(d.fire, Some(at("2026-11-25T09:00:00Z")));
        assert!(!d.skipped);
        assert_eq!(d.next, Some(at("2026-11-26T09:00:00Z")));
    }

    #[test]
    fn only_the_latest_missed_fire_within_the_window_runs() {
        let spec = Spec::parse("0 * * * *", "UTC").expect("spec");
        // Down from 06:00 to 09:30: 06:00..09:00 were missed; 09:00 is within 6 h.
        let d = decide(
            &spec,
            at("2026-11-25T06:00:00Z"),
            at("2026-11-25T09:30:00Z"),
            6 * HOUR,
        );
        assert_eq!(d.fire, Some(at("2026-11-25T09:00:00Z")));
        assert!(d.skipped);
        assert_eq!(d.next, Some(at("2026-11-25T10:00:00Z")));
    }

    #[test]
    fn a_missed_fire_beyond_the_window_is_skipped() {
        let spec = Spec::parse("0 9 * * *", "UTC").expect("spec");
        let d = decide(
            &spec,
            at("2026-11-25T09:00:00Z"),
            at("2026-11-25T17:00:00Z"),
            6 * HOUR,
        );
        assert_eq!((d.fire, d.skipped), (None, true));
        assert_eq!(d.next, Some(at("2026-11-26T09:00:00Z")));
        // With catch-up off, a fire time half a minute late still runs; two minutes late does not.
        let late = decide(
            &spec,
            at("2026-11-25T09:00:00Z"),
            at("2026-11-25T09:00:30Z"),
            Duration::ZERO,
        );
        assert_eq!(late.fire, Some(at("2026-11-25T09:00:00Z")));
        let too_late = decide(
            &spec,
            at("2026-11-25T09:00:00Z"),
            at("2026-11-25T09:02:00Z"),
            Duration::ZERO,
        );
        assert_eq!(too_late.fire, None);
    }
}
