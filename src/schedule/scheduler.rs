//! The scheduler task: sleeps until the earliest next run (no per-second polling), wakes early
//! when schedules change, and enqueues one `digest` job per fire time under the idempotency key
//! `schedule:{id}:{fire_millis}`, so a fire time never yields two digests, even across restarts.
//!
//! Catch-up: when a run was missed (the service was down), the latest missed fire time runs once
//! if it is within `scheduler.catch_up` (a fire time less than a minute late always runs);
//! older ones are skipped and logged.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{window, Spec};
use crate::jobs::{DigestJob, Enqueuer, JobPayload};
use crate::model::{Schedule, Timestamp};
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

/// Look at every enabled schedule once: fire what is due, plan the next wake-up.
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
    for schedule in store.schedules()?.iter().filter(|s| s.enabled) {
        plan.watched += 1;
        let next = match visit(store, enqueuer, schedule, catch_up, now) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(schedule_id = schedule.id, error = %e, "firing a schedule failed; retrying");
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

/// Fire `s` when due; returns its next run.
fn visit(
    store: &Store,
    enqueuer: &Enqueuer,
    s: &Schedule,
    catch_up: Duration,
    now: Timestamp,
) -> Result<Option<Timestamp>, String> {
    let spec = match Spec::parse(&s.cron, &s.timezone) {
        Ok(spec) => spec,
        Err(e) => {
            let message = format!("the schedule cannot run: {e}");
            if s.last_error.as_deref() != Some(message.as_str()) {
                tracing::error!(schedule_id = s.id, error = %e, "invalid schedule skipped");
                record(store, s, |c| c.last_error = Some(message))?;
            }
            return Ok(None);
        }
    };
    let planned = match s.next_run {
        Some(t) if t <= now => t,
        Some(t) => return Ok(Some(t)),
        None => {
            let next = spec.next_after(now);
            if next.is_some() {
                record(store, s, |c| c.next_run = next)?;
            }
            return Ok(next);
        }
    };
    let decision = decide(&spec, planned, now, catch_up);
    if decision.skipped {
        tracing::warn!(schedule_id = s.id, missed_from = %planned, ran = ?decision.fire.map(|t| t.to_string()),
            catch_up = ?catch_up, "missed fire times older than scheduler.catch_up were skipped");
    }
    if let Some(fire) = decision.fire {
        enqueue(enqueuer, s, fire, catch_up)?;
    }
    record(store, s, |c| {
        if let Some(fire) = decision.fire {
            c.last_run = Some(fire);
        }
        c.next_run = decision.next;
    })?;
    Ok(decision.next)
}

/// Enqueue the digest of fire time `fire` (a duplicate of an earlier enqueue is a no-op).
fn enqueue(
    enqueuer: &Enqueuer,
    s: &Schedule,
    fire: Timestamp,
    catch_up: Duration,
) -> Result<(), String> {
    let (since, until) = window(s, fire);
    let job = DigestJob {
        schedule_id: s.id,
        fire: until,
        since,
        source_channels: s.source_channels.clone(),
        target_channel: s.target_channel,
        kind: s.kind,
        language: s.language.clone(),
        detail: s.detail,
        quiet_day: s.quiet_day,
    };
    let job = JobPayload::Digest(job);
    let key = format!("schedule:{}:{}", s.id, fire.0);
    let stored = enqueuer
        .enqueue(&key, catch_up + KEY_MARGIN, job.kind(), &job.encode())
        .map_err(|e| e.to_string())?;
    tracing::info!(schedule_id = s.id, fire = %fire, job_id = stored.job_id,
        duplicate = stored.duplicate, "digest enqueued");
    Ok(())
}

/// Store a change to `s`, unless someone changed its timing or state since it was read (then
/// the next pass, which their change woke, sees the new version).
fn record(store: &Store, s: &Schedule, change: impl FnOnce(&mut Schedule)) -> Result<(), String> {
    store
        .modify_schedule(s.id, |current| {
            let same = current.cron == s.cron
                && current.timezone == s.timezone
                && current.enabled == s.enabled
                && current.next_run == s.next_run;
            if same {
                change(current);
            }
            same
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
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
