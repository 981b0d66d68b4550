//! What the status page shows, gathered from the store and the live runtime into plain
//! serializable records (the JSON API is exactly these). Metadata only: no message content,
//! summary text, job result or job payload is put into them (a digest job's payload is read
//! only for its `schedule_id`).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration as Days, NaiveDate};
use serde::Serialize;

use crate::model::{ChannelId, GuildId, Job, JobState, Schedule, Timestamp};
use crate::runtime::{DiscordStatus, Runtime, SchedulerStatus};
use crate::store::{Store, StoreError};

/// Jobs listed on the jobs view.
pub const RECENT_JOBS: usize = 100;
/// Days of the token and latency plots.
pub const PLOT_DAYS: i64 = 30;
/// Hours of the ingest plot.
pub const PLOT_HOURS: i64 = 48;
/// Longest job error shown (errors are ours, not user content, but may be long).
const MAX_ERROR_CHARS: usize = 300;

/// Where the page reads from.
pub struct Sources<'a> {
    /// The database.
    pub store: &'a Store,
    /// Live Discord/scheduler/update state.
    pub runtime: &'a Runtime,
    /// Worker pool size.
    pub workers: usize,
    /// Workers executing a job right now.
    pub busy_workers: usize,
    /// `llm.daily_token_budget` (0: none).
    pub daily_token_budget: u64,
    /// The time the page is rendered for.
    pub now: Timestamp,
}

/// The health overview.
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    /// True when the store answers and Discord (if enabled) is connected.
    pub healthy: bool,
    /// `summarybot --version` text.
    pub version: String,
    /// A newer release found by the update watcher.
    pub update_available: Option<String>,
    /// When this process started.
    pub started_at: Timestamp,
    /// When this page was made.
    pub generated_at: Timestamp,
    /// The gateway connection.
    pub discord: DiscordStatus,
    /// The digest scheduler.
    pub scheduler: SchedulerStatus,
    /// The database.
    pub store: StoreHealth,
    /// The job workers.
    pub workers: WorkerHealth,
    /// Up to three most recent failed jobs among the last 100.
    pub recent_failures: Vec<JobRow>,
    /// LLM tokens, all servers.
    pub cost: Cost,
    /// Members' 👍/👎 on summaries per provider/model over the last 30 days.
    pub feedback: Vec<FeedbackRow>,
}

/// Members' votes on one provider/model's summaries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedbackRow {
    /// Provider (`builtin`, `openai`).
    pub provider: String,
    /// Model.
    pub model: String,
    /// 👍 votes.
    pub up: u64,
    /// 👎 votes.
    pub down: u64,
    /// 👍 share of the votes, in whole percent (rounded).
    pub up_percent: u64,
}

/// The feedback rates of the last [`crate::store::FEEDBACK_DAYS`] days (none when the store
/// does not answer).
fn feedback(src: &Sources<'_>) -> Vec<FeedbackRow> {
    let since = Timestamp(src.now.millis() - crate::store::FEEDBACK_DAYS * 86_400_000);
    let tallies = src.store.feedback_tallies(since).unwrap_or_default();
    tallies
        .into_iter()
        .map(|t| {
            let votes = t.up + t.down;
            FeedbackRow {
                up_percent: (t.up * 100 + votes / 2) / votes.max(1),
                provider: t.provider,
                model: t.model,
                up: t.up,
                down: t.down,
            }
        })
        .collect()
}

/// What the LLM costs, in tokens over all servers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Cost {
    /// Today (UTC).
    pub tokens_today: u64,
    /// The last 30 days including today.
    pub tokens_30_days: u64,
    /// `llm.daily_token_budget` per server (0: none).
    pub daily_token_budget: u64,
}

/// Database health.
#[derive(Clone, Debug, Serialize)]
pub struct StoreHealth {
    /// It answered.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
    /// File size.
    pub file_bytes: u64,
    /// Schema version.
    pub schema_version: u64,
    /// Last successful write commit by this process.
    pub last_commit: Option<Timestamp>,
    /// Row counts by table.
    pub tables: BTreeMap<String, u64>,
}

/// Worker pool and queue.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerHealth {
    /// Pool size.
    pub count: usize,
    /// Executing now.
    pub busy: usize,
    /// Jobs by state (None when the store did not answer).
    pub queued: Option<u64>,
    /// Claimed by a worker.
    pub running: Option<u64>,
    /// Gave up.
    pub failed: Option<u64>,
    /// Finished.
    pub done: Option<u64>,
}

/// A guild or channel by id with its name when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    /// The snowflake (a string in JSON).
    pub id: String,
    /// Its name, when stored.
    pub name: Option<String>,
}

impl Named {
    /// `name` or the id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// One schedule.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleRow {
    /// Schedule id.
    pub id: u64,
    /// Its guild.
    pub guild: Named,
    /// Channels summarized.
    pub sources: Vec<Named>,
    /// Where the digest goes.
    pub target: Named,
    /// Cron expression.
    pub cron: String,
    /// IANA zone.
    pub timezone: String,
    /// Window in hours (None: since the previous run).
    pub window_hours: Option<u32>,
    /// Paused schedules do not fire.
    pub enabled: bool,
    /// Last fire time.
    pub last_run: Option<Timestamp>,
    /// Next fire time.
    pub next_run: Option<Timestamp>,
    /// State and error of the newest of the last 100 `digest` jobs whose payload names this
    /// schedule (`"schedule_id"`), if any.
    pub last_outcome: Option<Outcome>,
}

/// How a schedule's last digest job ended (or that it is still pending).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The job.
    pub job_id: u64,
    /// Its state.
    pub state: JobState,
    /// Its last error.
    pub error: Option<String>,
}

/// One job (never its payload or result).
#[derive(Clone, Debug, Serialize)]
pub struct JobRow {
    /// Job id.
    pub id: u64,
    /// Job kind.
    pub kind: String,
    /// What started it: `webhook`, `schedule` or `other`, from the kind.
    pub trigger: &'static str,
    /// `queued`, `running`, `done` or `failed`.
    pub state: JobState,
    /// Attempts made.
    pub attempts: u32,
    /// Enqueued.
    pub created_at: Timestamp,
    /// Last state change.
    pub updated_at: Timestamp,
    /// For finished jobs: `updated_at - created_at` (queue wait included).
    pub duration_ms: Option<i64>,
    /// Last error, shortened.
    pub error: Option<String>,
}

/// Tokens one guild used per day.
#[derive(Clone, Debug, Serialize)]
pub struct GuildTokens {
    /// The guild (id `none` for usage outside guilds, e.g. the CLI).
    pub guild: Named,
    /// Tokens per day, aligned with [`Plots::days`].
    pub tokens: Vec<u64>,
}

/// The data behind the plots.
#[derive(Clone, Debug, Serialize)]
pub struct Plots {
    /// The last 30 UTC days, oldest first (`YYYY-MM-DD`).
    pub days: Vec<String>,
    /// `llm.daily_token_budget` per guild (0: none).
    pub daily_token_budget: u64,
    /// Tokens per guild per day.
    pub tokens: Vec<GuildTokens>,
    /// Starts of the last 48 hours, oldest first.
    pub hours: Vec<Timestamp>,
    /// Messages ingested per hour, aligned with `hours`.
    pub messages_per_hour: Vec<u64>,
    /// Median summary generation time per day (ms), aligned with `days`.
    pub latency_p50_ms: Vec<Option<u64>>,
    /// 95th percentile per day (ms).
    pub latency_p95_ms: Vec<Option<u64>>,
    /// Summaries generated per day.
    pub summaries: Vec<u64>,
}

/// The overview; a store failure is reported in it, not returned.
pub fn overview(src: &Sources<'_>) -> Overview {
    let store = store_health(src.store);
    let count = |state| src.store.job_count(state).ok();
    let discord = src.runtime.discord();
    let recent_failures = jobs(src.store)
        .map(|rows| {
            rows.into_iter()
                .filter(|j| j.state == JobState::Failed)
                .take(3)
                .collect()
        })
        .unwrap_or_default();
    Overview {
        recent_failures,
        cost: cost(src),
        feedback: feedback(src),
        healthy: store.ok && (!discord.enabled || discord.connected),
        version: crate::VERSION_LINE.to_string(),
        update_available: src.runtime.update_available(),
        started_at: src.runtime.started_at(),
        generated_at: src.now,
        discord,
        scheduler: src.runtime.scheduler(),
        workers: WorkerHealth {
            count: src.workers,
            busy: src.busy_workers,
            queued: count(JobState::Queued),
            running: count(JobState::Running),
            failed: count(JobState::Failed),
            done: count(JobState::Done),
        },
        store,
    }
}

/// Token totals for today and the last 30 days (zero when the store does not answer).
fn cost(src: &Sources<'_>) -> Cost {
    let today = src.now.to_datetime().date_naive();
    let rows = src
        .store
        .usage_rows(today - Days::days(PLOT_DAYS - 1), today)
        .unwrap_or_default();
    let sum = |keep: &dyn Fn(NaiveDate) -> bool| -> u64 {
        rows.iter()
            .filter(|r| keep(r.day))
            .map(|r| r.usage.total())
            .fold(0, u64::saturating_add)
    };
    Cost {
        tokens_today: sum(&|d| d == today),
        tokens_30_days: sum(&|_| true),
        daily_token_budget: src.daily_token_budget,
    }
}

fn store_health(store: &Store) -> StoreHealth {
    match store.stats() {
        Ok(stats) => StoreHealth {
            ok: store.failure().is_none(),
            error: store.failure().map(|f| f.reason),
            file_bytes: stats.file_bytes,
            schema_version: stats.schema_version,
            last_commit: store.last_commit(),
            tables: stats.tables.into_iter().collect(),
        },
        Err(e) => StoreHealth {
            ok: false,
            error: Some(e.to_string()),
            file_bytes: 0,
            schema_version: 0,
            last_commit: store.last_commit(),
            tables: BTreeMap::new(),
        },
    }
}

/// Guild and channel names known to the store.
struct Names {
    guilds: HashMap<GuildId, String>,
    channels: HashMap<ChannelId, String>,
}

impl Names {
    fn load(store: &Store) -> Result<Self, StoreError> {
        let mut names = Self {
            guilds: HashMap::new(),
            channels: HashMap::new(),
        };
        for channel in store.channels()? {
            if let (Some(g), Some(n)) = (channel.guild_id, channel.guild_name) {
                names.guilds.insert(g, n);
            }
            names.channels.insert(channel.id, channel.name);
        }
        Ok(names)
    }

    fn guild(&self, id: Option<GuildId>) -> Named {
        match id {
            Some(id) => Named {
                id: id.to_string(),
                name: self.guilds.get(&id).cloned(),
            },
            None => Named {
                id: "none".into(),
                name: Some("outside servers (CLI)".into()),
            },
        }
    }

    fn channel(&self, id: ChannelId) -> Named {
        Named {
            id: id.to_string(),
            name: self.channels.get(&id).map(|n| format!("#{n}")),
        }
    }
}

/// Every schedule, by id.
pub fn schedules(store: &Store) -> Result<Vec<ScheduleRow>, StoreError> {
    let names = Names::load(store)?;
    let outcomes = digest_outcomes(store)?;
    let mut rows: Vec<ScheduleRow> = store
        .schedules()?
        .into_iter()
        .map(|s| {
            let outcome = outcomes.get(&s.id).cloned();
            ScheduleRow {
                last_outcome: outcome,
                ..schedule_row(&names, s)
            }
        })
        .collect();
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

fn schedule_row(names: &Names, s: Schedule) -> ScheduleRow {
    ScheduleRow {
        id: s.id,
        guild: names.guild(Some(s.guild_id)),
        sources: s
            .source_channels
            .iter()
            .map(|c| names.channel(*c))
            .collect(),
        target: names.channel(s.target_channel),
        cron: s.cron,
        timezone: s.timezone,
        window_hours: s.window_hours,
        enabled: s.enabled,
        last_run: s.last_run,
        next_run: s.next_run,
        last_outcome: None,
    }
}

/// The newest outcome per schedule id among the recent `digest` jobs.
fn digest_outcomes(store: &Store) -> Result<HashMap<u64, Outcome>, StoreError> {
    let mut outcomes = HashMap::new();
    for job in store.recent_jobs(RECENT_JOBS)? {
        let Ok(crate::jobs::JobPayload::Digest(digest)) = crate::jobs::JobPayload::decode(&job)
        else {
            continue;
        };
        let id = digest.schedule_id;
        outcomes.entry(id).or_insert_with(|| Outcome {
            job_id: job.id,
            state: job.state,
            error: job.last_error.as_deref().map(short_error),
        });
    }
    Ok(outcomes)
}

/// An error on one line, redacted (before it is cut, so no part of a secret survives the cut),
/// at most [`MAX_ERROR_CHARS`] characters.
fn short_error(error: &str) -> String {
    crate::text::one_line(&crate::redact::redact(error))
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect()
}

/// The last [`RECENT_JOBS`] jobs, newest first.
pub fn jobs(store: &Store) -> Result<Vec<JobRow>, StoreError> {
    Ok(store
        .recent_jobs(RECENT_JOBS)?
        .into_iter()
        .map(job_row)
        .collect())
}

/// What started a job, from its kind.
pub fn trigger(kind: &str) -> &'static str {
    match kind {
        crate::jobs::SUMMARY_REQUEST => "webhook",
        crate::jobs::DIGEST => "schedule",
        crate::jobs::PERSONAL_DIGEST => "personal digest",
        _ => "other",
    }
}

fn job_row(job: Job) -> JobRow {
    let finished = matches!(job.state, JobState::Done | JobState::Failed);
    JobRow {
        id: job.id,
        trigger: trigger(&job.kind),
        kind: job.kind,
        state: job.state,
        attempts: job.attempts,
        created_at: job.created_at,
        updated_at: job.updated_at,
        duration_ms: finished.then(|| (job.updated_at.0 - job.created_at.0).max(0)),
        error: job.last_error.as_deref().map(short_error),
    }
}

/// The plot data for the 30 days and 48 hours up to `src.now`.
pub fn plots(src: &Sources<'_>) -> Result<Plots, StoreError> {
    let today = src.now.to_datetime().date_naive();
    let first = today - Days::days(PLOT_DAYS - 1);
    let days: Vec<NaiveDate> = first.iter_days().take(PLOT_DAYS as usize).collect();
    let names = Names::load(src.store)?;
    let tokens = tokens_by_guild(src.store, &names, &days)?;
    let latency = src.store.summary_latency(first, today)?;
    let by_day: HashMap<NaiveDate, _> = latency.iter().map(|d| (d.day, d)).collect();
    let quantile = |q| -> Vec<Option<u64>> {
        days.iter()
            .map(|d| by_day.get(d).and_then(|l| l.quantile_ms(q)))
            .collect()
    };
    let (hours, messages_per_hour) = ingest(src)?;
    Ok(Plots {
        daily_token_budget: src.daily_token_budget,
        tokens,
        hours,
        messages_per_hour,
        latency_p50_ms: quantile(0.5),
        latency_p95_ms: quantile(0.95),
        summaries: days
            .iter()
            .map(|d| by_day.get(d).map_or(0, |l| l.count()))
            .collect(),
        days: days
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect(),
    })
}

fn tokens_by_guild(
    store: &Store,
    names: &Names,
    days: &[NaiveDate],
) -> Result<Vec<GuildTokens>, StoreError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(Vec::new());
    };
    let mut per_guild: BTreeMap<Option<GuildId>, Vec<u64>> = BTreeMap::new();
    for row in store.usage_rows(*first, *last)? {
        let Ok(slot) = usize::try_from((row.day - *first).num_days()) else {
            continue;
        };
        let series = per_guild
            .entry(row.guild)
            .or_insert_with(|| vec![0; days.len()]);
        if let Some(v) = series.get_mut(slot) {
            *v = v.saturating_add(row.usage.total());
        }
    }
    Ok(per_guild
        .into_iter()
        .map(|(guild, tokens)| GuildTokens {
            guild: names.guild(guild),
            tokens,
        })
        .collect())
}

fn ingest(src: &Sources<'_>) -> Result<(Vec<Timestamp>, Vec<u64>), StoreError> {
    const HOUR: i64 = 3_600_000;
    let this_hour = src.now.0.div_euclid(HOUR) * HOUR;
    let hours: Vec<Timestamp> = (0..PLOT_HOURS)
        .rev()
        .map(|h| Timestamp(this_hour - h * HOUR))
        .collect();
    let counts: HashMap<Timestamp, u64> = src
        .store
        .ingest_hourly(hours[0], src.now)?
        .into_iter()
        .map(|c| (c.hour, c.messages))
        .collect();
    let messages = hours
        .iter()
        .map(|h| counts.get(h).copied().unwrap_or(0))
        .collect();
    Ok((hours, messages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelInfo, TokenUsage};
    use crate::store::test_support::{msg, temp_store};

    fn sources<'a>(store: &'a Store, runtime: &'a Runtime, now: Timestamp) -> Sources<'a> {
        Sources {
            store,
            runtime,
            workers: 2,
            busy_workers: 1,
            daily_token_budget: 5000,
            now,
        }
    }

    #[test]
    fn plots_align_usage_ingest_and_latency_to_their_slots() {
        let (_d, store) = temp_store();
        let runtime = Runtime::new(Timestamp(0));
        let now = Timestamp::parse_rfc3339("2026-03-30T12:30:00Z").expect("time");
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("day");
        store
            .put_channel(&ChannelInfo {
                guild_name: Some("Rustaceans".into()),
                ..ChannelInfo::unknown(ChannelId(7), Some(GuildId(70)))
            })
            .expect("channel");
        let usage = TokenUsage {
            prompt_tokens: 100,
            completion_tokens: 20,
        };
        for d in [30, 30, 1, 2] {
            store
                .add_usage(Some(GuildId(70)), day(d), "openai", "m", usage)
                .expect("usage");
        }
        store
            .record_summary_latency(day(29), 1500)
            .expect("latency");
        store
            .ingest_messages(&[msg(7, 1, 1, "x")], now.minus_hours(3))
            .expect("ingest");
        let rt = sources(&store, &runtime, now);
        let plots = plots(&rt).expect("plots");
        assert_eq!(plots.days.len(), 30);
        assert_eq!(plots.days.first().map(String::as_str), Some("2026-03-01"));
        assert_eq!(plots.days.last().map(String::as_str), Some("2026-03-30"));
        assert_eq!(plots.tokens.len(), 1);
        assert_eq!(plots.tokens[0].guild.label(), "Rustaceans");
        assert_eq!(plots.tokens[0].tokens[29], 240);
        assert_eq!(plots.tokens[0].tokens[0], 120);
        assert_eq!(plots.tokens[0].tokens.iter().sum::<u64>(), 480);
        assert_eq!(plots.hours.len(), 48);
        assert_eq!(
            plots.messages_per_hour[44], 1,
            "three hours before this hour"
        );
        assert_eq!(plots.messages_per_hour.iter().sum::<u64>(), 1);
        assert!(plots.latency_p50_ms[28].is_some() && plots.latency_p50_ms[29].is_none());
        assert_eq!(plots.summaries[28], 1);
    }

    #[test]
    fn jobs_carry_trigger_and_duration_but_never_payload_or_result() {
        let (_d, store) = temp_store();
        let id = store
            .enqueue_job("digest", "{\"secret\":\"PAYLOAD\"}", Timestamp(1000))
            .expect("enqueue")
            .id;
        store
            .claim_next_job(Timestamp(2000), std::time::Duration::from_secs(60))
            .expect("claim");
        store
            .complete_job(id, "{\"text\":\"RESULT\"}", Timestamp(4500))
            .expect("done");
        let rows = jobs(&store).expect("jobs");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].trigger, rows[0].duration_ms),
            ("schedule", Some(3500))
        );
        let json = serde_json::to_string(&rows).expect("json");
        assert!(
            !json.contains("PAYLOAD") && !json.contains("RESULT"),
            "{json}"
        );
        assert_eq!(trigger("summary_request"), "webhook");
        assert_eq!(trigger("something"), "other");
    }

    #[test]
    fn job_errors_are_shown_redacted_even_where_they_are_cut() {
        let (_d, store) = temp_store();
        let token = "status-test-token-0123456789abcdef";
        crate::redact::protect(token);
        // The second error puts the token across the cut at MAX_ERROR_CHARS.
        let padding = "x".repeat(MAX_ERROR_CHARS - 20);
        for error in [
            format!("Discord answered 400: Authorization: Bot {token}"),
            format!("{padding} Bot {token}"),
        ] {
            let id = store
                .enqueue_job("digest", "{}", Timestamp(1000))
                .expect("enqueue")
                .id;
            store
                .claim_next_job(Timestamp(2000), std::time::Duration::from_secs(60))
                .expect("claim");
            store
                .fail_job(id, &error, None, Timestamp(3000))
                .expect("fail");
        }
        let rows = jobs(&store).expect("jobs");
        let shown: Vec<&str> = rows.iter().filter_map(|r| r.error.as_deref()).collect();
        assert_eq!(shown.len(), 2);
        for error in &shown {
            assert!(!error.contains(&token[..8]), "{error}");
        }
        assert!(
            shown.contains(&"Discord answered 400: Authorization: Bot ***"),
            "{shown:?}"
        );
    }

    #[test]
    fn overview_reports_health() {
        let (_d, store) = temp_store();
        let runtime = Runtime::new(Timestamp(0));
        runtime.update_discord(|d| d.enabled = true);
        let o = overview(&sources(&store, &runtime, Timestamp(5)));
        assert!(!o.healthy, "Discord enabled but not connected");
        assert!(o.store.ok && o.store.tables.contains_key("messages"));
        assert_eq!(
            (o.workers.count, o.workers.busy, o.workers.queued),
            (2, 1, Some(0))
        );
        runtime.update_discord(|d| d.connected = true);
        assert!(overview(&sources(&store, &runtime, Timestamp(5))).healthy);

        // A store refusing writes after a disk error (it still answers reads) is not healthy.
        store.fail_for_test("No space left on device (os error 28)");
        let o = overview(&sources(&store, &runtime, Timestamp(5)));
        assert!(!o.healthy && !o.store.ok, "{:?}", o.store);
        assert_eq!(
            o.store.error.as_deref(),
            Some("No space left on device (os error 28)")
        );
    }
}
