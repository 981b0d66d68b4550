//! The status page's HTML: a shared layout, one function per view, and the plots built from
//! [`super::data::Plots`]. Plain strings, every dynamic value escaped; no framework types.

use std::fmt::Write;

use super::data::{FeedbackRow, JobRow, Named, Outcome, Overview, Plots, ScheduleRow};
use super::html::{bytes, compact, escape, millis};
use super::svg::{self, Limit, Plot, Series, Style};
use crate::model::{JobState, Timestamp};

/// The views, for the navigation bar and the JSON links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Health at a glance.
    Overview,
    /// Scheduled digests.
    Schedules,
    /// Recent jobs.
    Jobs,
    /// Tokens, ingest and latency plots.
    Plots,
}

impl View {
    /// Every view, in navigation order.
    pub const ALL: [View; 4] = [View::Overview, View::Schedules, View::Jobs, View::Plots];

    /// The path segment after `/status/` (and `/status/api/`).
    pub fn slug(self) -> &'static str {
        match self {
            View::Overview => "overview",
            View::Schedules => "schedules",
            View::Jobs => "jobs",
            View::Plots => "plots",
        }
    }

    /// The heading.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Schedules => "Schedules",
            View::Jobs => "Jobs",
            View::Plots => "Plots",
        }
    }

    /// The view a slug names.
    pub fn from_slug(slug: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.slug() == slug)
    }

    /// The HTML path.
    pub fn path(self) -> String {
        match self {
            View::Overview => "/status".to_string(),
            other => format!("/status/{}", other.slug()),
        }
    }
}

/// The document around a view's body, with navigation and the logout form.
pub fn page(view: View, csrf: &str, body: &str) -> String {
    let mut nav = String::new();
    for v in View::ALL {
        let current = if v == view {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(nav, r#"<a href="{}"{current}>{}</a>"#, v.path(), v.title());
    }
    let header = format!(
        r#"<header><strong class="brand">summarybot</strong><nav>{nav}</nav><form method="post" action="/status/logout"><input type="hidden" name="csrf" value="{}"><button type="submit">Log out</button></form></header>"#,
        escape(csrf)
    );
    let footer = format!(
        r#"<footer>Times are UTC; your browser's local time is added beside them. Same data as JSON: <a href="/status/api/{}">/status/api/{}</a></footer>"#,
        view.slug(),
        view.slug()
    );
    document(
        view.title(),
        &format!(
            "{header}<main><h1>{}</h1>{body}</main>{footer}",
            view.title()
        ),
    )
}

/// The login form (with the login CSRF token) and an optional error.
pub fn login(csrf: &str, error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))
    });
    document(
        "Log in",
        &format!(
            r#"<main class="login"><h1>summarybot status</h1>{error}<form method="post" action="/status/login"><input type="hidden" name="csrf" value="{}"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required autofocus><button type="submit">Log in</button></form></main>"#,
            escape(csrf)
        ),
    )
}

/// A full HTML document.
fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>summarybot · {}</title><link rel="stylesheet" href="/status/static/style.css"><script src="/status/static/app.js" defer></script></head><body>{body}</body></html>"#,
        escape(title)
    )
}

/// A time in UTC inside `<time>` (which the page's script localizes), or a dash.
pub fn time(ts: Option<Timestamp>) -> String {
    match ts {
        Some(t) => format!(
            r#"<time datetime="{}">{t}</time>"#,
            t.to_datetime().format("%Y-%m-%dT%H:%M:%SZ")
        ),
        None => "—".to_string(),
    }
}

/// A yes/no/warning badge.
fn badge(ok: bool, yes: &str, no: &str) -> String {
    let (class, text) = if ok { ("ok", yes) } else { ("bad", no) };
    format!(r#"<span class="badge {class}">{}</span>"#, escape(text))
}

/// One card of label/value rows.
fn card(title: &str, rows: &[(&str, String)]) -> String {
    let mut out = format!(r#"<section class="card"><h2>{}</h2><dl>"#, escape(title));
    for (label, value) in rows {
        let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", escape(label));
    }
    out.push_str("</dl></section>");
    out
}

fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "?".to_string(), |n| n.to_string())
}

/// The overview body.
pub fn overview(o: &Overview) -> String {
    let mut out = format!(
        r#"<p class="summary" id="health">{}</p><div class="cards">"#,
        badge(o.healthy, "Healthy", "Needs attention")
    );
    out.push_str(&discord_card(o));
    out.push_str(&store_card(o));
    out.push_str(&card(
        "Scheduler",
        &[
            ("State", scheduler_state(o)),
            ("Schedules", o.scheduler.schedules.to_string()),
            ("Next fire", time(o.scheduler.next_fire)),
        ],
    ));
    let w = &o.workers;
    out.push_str(&card(
        "Workers",
        &[
            ("Busy", format!("{} of {}", w.busy, w.count)),
            ("Queued", count(w.queued)),
            ("Running", count(w.running)),
            ("Failed", failed_count(w.failed)),
            ("Done", count(w.done)),
        ],
    ));
    let update = match &o.update_available {
        Some(v) => format!(
            r#"<span class="badge warn">{} available</span> (<code>summarybot update</code>)"#,
            escape(v)
        ),
        None => "up to date (or not checked)".to_string(),
    };
    out.push_str(&card(
        "Version",
        &[
            ("Running", escape(&o.version)),
            ("Update", update),
            ("Started", time(Some(o.started_at))),
        ],
    ));
    out.push_str(&cost_card(o));
    out.push_str("</div>");
    out.push_str(&feedback(&o.feedback));
    out.push_str(&failures(&o.recent_failures));
    out
}

/// Members' 👍 rate per provider/model, or a note that there is none yet.
fn feedback(rows: &[FeedbackRow]) -> String {
    let mut body = String::new();
    for r in rows {
        let _ = write!(
            body,
            "<tr><td>{}/{}</td><td>{}</td><td>{}</td><td>{}%</td></tr>",
            escape(&r.provider),
            escape(&r.model),
            r.up,
            r.down,
            r.up_percent
        );
    }
    format!(
        r#"<h2 class="feedback">Summary feedback, last 30 days</h2>{}"#,
        table(
            "feedback",
            &["Provider/model", "👍", "👎", "👍 rate"],
            &body,
            "No feedback yet: members rate posted summaries with the 👍/👎 buttons under them.",
        )
    )
}

fn cost_card(o: &Overview) -> String {
    let c = &o.cost;
    let budget = if c.daily_token_budget == 0 {
        "none".to_string()
    } else {
        format!(
            "{} per server per day",
            compact(c.daily_token_budget as f64)
        )
    };
    card(
        "LLM tokens",
        &[
            ("Today", compact(c.tokens_today as f64)),
            ("30 days", compact(c.tokens_30_days as f64)),
            ("Budget", budget),
        ],
    )
}

/// The newest failed jobs, or nothing.
fn failures(rows: &[JobRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = r#"<h2 class="failures">Recent failures</h2>"#.to_string();
    out.push_str(&jobs_table("failures", rows));
    out
}

fn failed_count(n: Option<u64>) -> String {
    match n {
        Some(n) if n > 0 => format!(r#"<a class="badge bad" href="/status/jobs">{n}</a>"#),
        other => count(other),
    }
}

fn scheduler_state(o: &Overview) -> String {
    match (o.scheduler.enabled, o.scheduler.running) {
        (false, _) => r#"<span class="badge off">off</span>"#.to_string(),
        (true, running) => badge(running, "running", "not running"),
    }
}

fn discord_card(o: &Overview) -> String {
    let d = &o.discord;
    let state = if d.enabled {
        badge(d.connected, "connected", "disconnected")
    } else {
        r#"<span class="badge off">off</span>"#.to_string()
    };
    card(
        "Discord",
        &[
            ("Gateway", state),
            ("Servers", d.guilds.to_string()),
            ("Shards", d.shards.to_string()),
            ("Last event", time(d.last_event)),
            ("Last gap fill", gap_fill(d.gap_fill.as_ref())),
        ],
    )
}

/// What the last gap fill did: when, channels, messages, duration (plain numbers, no user text).
fn gap_fill(g: Option<&crate::runtime::GapFill>) -> String {
    let Some(g) = g else {
        return "none yet".to_string();
    };
    let state = if g.running { "running: " } else { "" };
    format!(
        "{state}{} · {} of {} channels filled · {} messages · {} requests · {:.1} s",
        time(Some(g.started_at)),
        g.channels_filled,
        g.channels_checked,
        g.messages,
        g.requests,
        g.duration_ms as f64 / 1000.0
    )
}

fn store_card(o: &Overview) -> String {
    let s = &o.store;
    let rows = |name: &str| {
        s.tables
            .get(name)
            .map_or("0".into(), |n| compact(*n as f64))
    };
    let state = match &s.error {
        None => badge(true, "ok", ""),
        Some(e) => format!("{} {}", badge(false, "", "failing"), escape(e)),
    };
    card(
        "Database",
        &[
            ("State", state),
            ("File size", bytes(s.file_bytes)),
            ("Last commit", time(s.last_commit)),
            ("Messages", rows("messages")),
            ("Channels", rows("channels")),
            ("Cached summaries", rows("summaries")),
            ("Schema", s.schema_version.to_string()),
        ],
    )
}

fn named(n: &Named) -> String {
    match &n.name {
        Some(name) => format!(
            r#"{} <small class="id">{}</small>"#,
            escape(name),
            escape(&n.id)
        ),
        None => format!(r#"<span class="id">{}</span>"#, escape(&n.id)),
    }
}

/// Wrap table rows with a header, scrollable on narrow screens.
fn table(id: &str, headers: &[&str], rows: &str, empty: &str) -> String {
    if rows.is_empty() {
        return format!(r#"<p class="empty" id="{id}">{}</p>"#, escape(empty));
    }
    let mut head = String::new();
    for h in headers {
        let _ = write!(head, r#"<th scope="col">{}</th>"#, escape(h));
    }
    format!(
        r#"<div class="scroll"><table id="{id}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

/// The schedules body.
pub fn schedules(rows: &[ScheduleRow]) -> String {
    let mut body = String::new();
    for s in rows {
        let sources: Vec<String> = s.sources.iter().map(named).collect();
        let window = s
            .window_hours
            .map_or("since last run".to_string(), |h| format!("{h} h"));
        let _ = write!(
            body,
            r#"<tr class="schedule" data-id="{id}"><td>{id}</td><td>{guild}</td><td>{sources} → {target}</td><td><code>{cron}</code><br><small>{zone}</small></td><td>{window}</td><td>{enabled}</td><td>{next}</td><td>{last}</td><td>{outcome}</td></tr>"#,
            id = s.id,
            guild = named(&s.guild),
            sources = sources.join(", "),
            target = named(&s.target),
            cron = escape(&s.cron),
            zone = escape(&s.timezone),
            enabled = badge(s.enabled, "active", "paused"),
            next = time(s.next_run),
            last = time(s.last_run),
            outcome = outcome(s.last_outcome.as_ref()),
        );
    }
    table(
        "schedules",
        &[
            "#",
            "Server",
            "Channels → digest",
            "Cron / zone",
            "Window",
            "State",
            "Next run",
            "Last run",
            "Last digest",
        ],
        &body,
        "No schedules yet. Add one with `summarybot schedule add` or /schedule in Discord.",
    )
}

/// A schedule's last digest job: its state badge, job number and error.
fn outcome(o: Option<&Outcome>) -> String {
    let Some(o) = o else {
        return "—".to_string();
    };
    let error = o.error.as_deref().map_or(String::new(), |e| {
        format!(r#"<br><small class="error">{}</small>"#, escape(e))
    });
    format!(
        r#"{} <a href="/status/jobs">job #{}</a>{error}"#,
        state_badge(o.state),
        o.job_id
    )
}

/// The badge class and the name of a job state.
fn state_badge_parts(state: JobState) -> (&'static str, &'static str) {
    match state {
        JobState::Queued => ("off", "queued"),
        JobState::Running => ("warn", "running"),
        JobState::Done => ("ok", "done"),
        JobState::Failed => ("bad", "failed"),
    }
}

fn state_badge(state: JobState) -> String {
    let (class, text) = state_badge_parts(state);
    format!(r#"<span class="badge {class}">{text}</span>"#)
}

/// The jobs body.
pub fn jobs(rows: &[JobRow]) -> String {
    let mut out = jobs_table("jobs", rows);
    out.push_str(r#"<p class="note">The last 100 jobs, newest first. Duration is the time from enqueueing to the last state change of a finished job, so it includes queue wait and retries. The trigger comes from the job kind: <code>summary_request</code> = webhook, <code>digest</code> = schedule.</p>"#);
    out
}

/// A table of jobs with the element id `id`.
fn jobs_table(id: &str, rows: &[JobRow]) -> String {
    let mut body = String::new();
    for j in rows {
        let duration = j.duration_ms.map_or("—".to_string(), |ms| {
            millis(u64::try_from(ms).unwrap_or(0))
        });
        let _ = write!(
            body,
            r#"<tr class="job {state_name}" data-id="{id}"><td>{id}</td><td>{kind}</td><td>{trigger}</td><td>{state}</td><td>{attempts}</td><td>{created}</td><td>{duration}</td><td class="error">{error}</td></tr>"#,
            id = j.id,
            kind = escape(&j.kind),
            trigger = j.trigger,
            state_name = state_badge_parts(j.state).1,
            state = state_badge(j.state),
            attempts = j.attempts,
            created = time(Some(j.created_at)),
            error = escape(j.error.as_deref().unwrap_or("")),
        );
    }
    table(
        id,
        &[
            "#", "Kind", "Trigger", "State", "Attempts", "Enqueued", "Duration", "Error",
        ],
        &body,
        "No jobs yet.",
    )
}

/// The plots body: tokens per guild per day with the budget, messages per hour, latency.
pub fn plots(p: &Plots) -> String {
    let mut out = String::new();
    for (id, caption, plot) in [
        ("tokens", "LLM tokens per day per server, last 30 days (dashed: llm.daily_token_budget, per server)", tokens_plot(p)),
        ("ingest", "Messages the bot stored per hour (gateway and backfill; not imports), last 48 hours (UTC)", ingest_plot(p)),
        ("latency", "Summary generation time per day, median and 95th percentile (from a histogram, within about 19%)", latency_plot(p)),
    ] {
        let _ = write!(
            out,
            r#"<figure id="{id}">{}<figcaption>{}</figcaption></figure>"#,
            svg::render(&plot),
            escape(caption)
        );
    }
    out
}

/// Day labels `MM-DD`.
fn short_days(days: &[String]) -> Vec<String> {
    days.iter()
        .map(|d| d.get(5..).unwrap_or(d).to_string())
        .collect()
}

/// Servers drawn one by one on the token plot; the rest are summed into one line.
const MAX_TOKEN_SERIES: usize = 5;

/// One line per server with the most tokens, the others summed (the JSON has every server).
fn token_series(p: &Plots) -> Vec<Series> {
    let mut guilds: Vec<_> = p.tokens.iter().collect();
    guilds.sort_by_key(|g| {
        std::cmp::Reverse(g.tokens.iter().fold(0_u64, |a, t| a.saturating_add(*t)))
    });
    let line = |name: String, tokens: Vec<u64>| Series {
        name,
        values: tokens.into_iter().map(|t| Some(t as f64)).collect(),
    };
    let mut series: Vec<Series> = guilds
        .iter()
        .take(MAX_TOKEN_SERIES)
        .map(|g| line(g.guild.label().to_string(), g.tokens.clone()))
        .collect();
    let rest = &guilds[guilds.len().min(MAX_TOKEN_SERIES)..];
    if !rest.is_empty() {
        let mut sum = vec![0_u64; p.days.len()];
        for g in rest {
            for (acc, t) in sum.iter_mut().zip(&g.tokens) {
                *acc = acc.saturating_add(*t);
            }
        }
        series.push(line(format!("{} other servers (sum)", rest.len()), sum));
    }
    series
}

fn tokens_plot(p: &Plots) -> Plot {
    Plot {
        title: "LLM tokens per day".into(),
        unit: "tokens".into(),
        slots: short_days(&p.days),
        series: token_series(p),
        style: Style::Lines,
        limit: (p.daily_token_budget > 0).then(|| Limit {
            value: p.daily_token_budget as f64,
            label: format!("budget {}", compact(p.daily_token_budget as f64)),
        }),
    }
}

fn ingest_plot(p: &Plots) -> Plot {
    Plot {
        title: "Messages ingested per hour".into(),
        unit: "messages".into(),
        slots: p
            .hours
            .iter()
            .map(|h| h.to_datetime().format("%H:00").to_string())
            .collect(),
        series: vec![Series {
            name: "messages".into(),
            values: p
                .messages_per_hour
                .iter()
                .map(|n| Some(*n as f64))
                .collect(),
        }],
        style: Style::Bars,
        limit: None,
    }
}

fn latency_plot(p: &Plots) -> Plot {
    let seconds = |v: &[Option<u64>]| -> Vec<Option<f64>> {
        v.iter().map(|ms| ms.map(|ms| ms as f64 / 1000.0)).collect()
    };
    Plot {
        title: "Summary latency per day".into(),
        unit: "s".into(),
        slots: short_days(&p.days),
        series: vec![
            Series {
                name: "p50".into(),
                values: seconds(&p.latency_p50_ms),
            },
            Series {
                name: "p95".into(),
                values: seconds(&p.latency_p95_ms),
            },
        ],
        style: Style::Lines,
        limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_machine_and_utc_text() {
        let t = Timestamp::parse_rfc3339("2026-03-01T12:05:09Z").expect("time");
        assert_eq!(
            time(Some(t)),
            r#"<time datetime="2026-03-01T12:05:09Z">2026-03-01 12:05 UTC</time>"#
        );
        assert_eq!(time(None), "—");
    }

    #[test]
    fn the_last_gap_fill_is_shown_in_numbers() {
        assert_eq!(gap_fill(None), "none yet");
        let g = crate::runtime::GapFill {
            started_at: Timestamp::parse_rfc3339("2026-03-01T12:05:09Z").expect("time"),
            running: false,
            channels_checked: 12,
            channels_filled: 3,
            messages: 240,
            requests: 5,
            incomplete: 0,
            duration_ms: 1_250,
        };
        let text = gap_fill(Some(&g));
        assert!(
            text.ends_with("3 of 12 channels filled · 240 messages · 5 requests · 1.2 s")
                || text.ends_with("3 of 12 channels filled · 240 messages · 5 requests · 1.3 s"),
            "{text}"
        );
        assert!(text.starts_with("<time"), "{text}");
        assert!(
            gap_fill(Some(&crate::runtime::GapFill { running: true, ..g }))
                .starts_with("running: ")
        );
    }

    #[test]
    fn pages_escape_and_mark_the_current_view() {
        let html = page(View::Jobs, "tok\"en", "<p>x</p>");
        assert!(html.contains(r#"<a href="/status/jobs" aria-current="page">Jobs</a>"#));
        assert!(html.contains(r#"value="tok&quot;en""#));
        assert!(html.contains(r#"<meta name="viewport""#));
        assert!(!html.contains("<style") && !html.contains("<script>"));
        let login = login("c", Some("<b>wrong</b>"));
        assert!(login.contains("&lt;b&gt;wrong") && login.contains(r#"name="csrf" value="c""#));
        for v in View::ALL {
            assert_eq!(View::from_slug(v.slug()), Some(v));
        }
        assert_eq!(View::from_slug("nope"), None);
    }

    #[test]
    fn job_tables_show_state_and_the_note_only_on_the_jobs_view() {
        let row = JobRow {
            id: 7,
            kind: "digest".into(),
            trigger: "schedule",
            state: JobState::Failed,
            attempts: 3,
            created_at: Timestamp(0),
            updated_at: Timestamp(1500),
            duration_ms: Some(1500),
            error: Some("<boom>".into()),
        };
        let html = jobs(std::slice::from_ref(&row));
        assert_eq!(html.matches("The last 100 jobs").count(), 1);
        assert!(
            html.contains(r#"<tr class="job failed" data-id="7">"#),
            "{html}"
        );
        assert!(html.contains("1.5 s") && html.contains("&lt;boom&gt;"));
        let failures = failures(&[row]);
        assert!(failures.contains(r#"id="failures""#) && !failures.contains("The last 100"));
        assert_eq!(super::failures(&[]), "");
    }

    #[test]
    fn the_token_plot_keeps_the_biggest_servers_and_sums_the_rest() {
        use super::super::data::GuildTokens;
        let guild = |n: u64, total: u64| GuildTokens {
            guild: Named {
                id: n.to_string(),
                name: Some(format!("g{n}")),
            },
            tokens: vec![0, total],
        };
        let plots = Plots {
            days: vec!["2026-03-01".into(), "2026-03-02".into()],
            daily_token_budget: 0,
            tokens: (1..=8).map(|n| guild(n, n * 10)).collect(),
            hours: Vec::new(),
            messages_per_hour: Vec::new(),
            latency_p50_ms: Vec::new(),
            latency_p95_ms: Vec::new(),
            summaries: Vec::new(),
        };
        let series = token_series(&plots);
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["g8", "g7", "g6", "g5", "g4", "3 other servers (sum)"]
        );
        assert_eq!(series[5].values, [Some(0.0), Some(60.0)]);
        assert!(tokens_plot(&plots).limit.is_none(), "no budget, no line");
    }

    #[test]
    fn schedules_have_a_header_for_every_cell() {
        let named = |id: &str| Named {
            id: id.into(),
            name: None,
        };
        let row = ScheduleRow {
            id: 1,
            guild: named("10"),
            sources: vec![named("11")],
            target: named("12"),
            cron: "0 9 * * 1-5".into(),
            timezone: "UTC".into(),
            window_hours: None,
            enabled: true,
            last_run: None,
            next_run: None,
            last_outcome: None,
        };
        let html = schedules(&[row]);
        assert_eq!(
            html.matches("<th ").count(),
            html.matches("<td>").count(),
            "{html}"
        );
        assert!(html.contains(">Last digest</th>"), "{html}");
    }

    #[test]
    fn empty_lists_say_so() {
        assert!(schedules(&[]).contains("No schedules yet"));
        assert!(jobs(&[]).contains("No jobs yet"));
        assert!(feedback(&[]).contains("No feedback yet"));
    }

    #[test]
    fn feedback_shows_the_rate_per_provider_and_model_escaped() {
        let row = FeedbackRow {
            provider: "openai".into(),
            model: "<gpt>".into(),
            up: 3,
            down: 1,
            up_percent: 75,
        };
        let html = feedback(&[row]);
        assert!(
            html.contains("<td>openai/&lt;gpt&gt;</td><td>3</td><td>1</td><td>75%</td>"),
            "{html}"
        );
        assert!(!html.contains("No feedback yet"), "{html}");
    }
}
