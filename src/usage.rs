//! The usage and cost report shown by `summarybot usage` and `/summarybot usage`: LLM tokens in
//! and out today, this week (from Monday) and this month (all UTC), per provider and model, with
//! the estimated cost from the price table and the daily budget left.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};

use crate::config::Config;
use crate::model::{GuildId, TokenUsage};
use crate::pricing::{format_usd, PriceTable, Rate};
use crate::store::UsageRow;
use crate::text::thousands;

/// The UTC days a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periods {
    /// Today.
    pub today: NaiveDate,
    /// Monday of this week.
    pub week_start: NaiveDate,
    /// The 1st of this month.
    pub month_start: NaiveDate,
}

impl Periods {
    /// The periods containing `today`.
    pub fn containing(today: NaiveDate) -> Self {
        let back = u64::from(today.weekday().num_days_from_monday());
        Self {
            today,
            week_start: today.checked_sub_days(Days::new(back)).unwrap_or(today),
            month_start: today.with_day(1).unwrap_or(today),
        }
    }

    /// The first day any period needs (the week may start in the previous month).
    pub fn first_day(&self) -> NaiveDate {
        self.week_start.min(self.month_start)
    }
}

/// Tokens of one provider and model in each period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelUsage {
    /// Provider name (`openai`, `builtin`).
    pub provider: String,
    /// Model name.
    pub model: String,
    /// Today's tokens.
    pub today: TokenUsage,
    /// This week's tokens.
    pub week: TokenUsage,
    /// This month's tokens.
    pub month: TokenUsage,
}

/// One server's (or, for `None`, the CLI's and DMs') usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuildUsage {
    /// The server.
    pub guild: Option<GuildId>,
    /// Per provider and model, sorted by provider then model.
    pub models: Vec<ModelUsage>,
}

impl GuildUsage {
    /// Tokens used today over every model.
    pub fn today_total(&self) -> u64 {
        self.models.iter().map(|m| m.today.total()).sum()
    }
}

/// Group `rows` by server, then provider and model, into `periods`; rows outside the periods
/// are ignored. Servers are sorted with `None` first.
pub fn group(rows: &[UsageRow], periods: Periods) -> Vec<GuildUsage> {
    let mut by_guild: BTreeMap<Option<GuildId>, BTreeMap<(String, String), ModelUsage>> =
        BTreeMap::new();
    for row in rows {
        if row.day > periods.today || row.day < periods.first_day() {
            continue;
        }
        let entry = by_guild
            .entry(row.guild)
            .or_default()
            .entry((row.provider.clone(), row.model.clone()))
            .or_insert_with(|| ModelUsage {
                provider: row.provider.clone(),
                model: row.model.clone(),
                ..ModelUsage::default()
            });
        if row.day == periods.today {
            entry.today += row.usage;
        }
        if row.day >= periods.week_start {
            entry.week += row.usage;
        }
        if row.day >= periods.month_start {
            entry.month += row.usage;
        }
    }
    by_guild
        .into_iter()
        .map(|(guild, models)| GuildUsage {
            guild,
            models: models.into_values().collect(),
        })
        .collect()
}

/// How prices are looked up for a report.
#[derive(Clone, Copy, Debug)]
pub struct Pricing<'a> {
    /// `llm.prices`.
    pub table: &'a PriceTable,
    /// Whether `llm.base_url` is OpenAI's API (built-in prices apply).
    pub openai_endpoint: bool,
}

impl<'a> Pricing<'a> {
    /// The pricing of `config`.
    pub fn of(config: &'a Config) -> Self {
        Self {
            table: &config.llm.prices,
            openai_endpoint: is_openai_endpoint(&config.llm.base_url),
        }
    }
}

/// True when `base_url` points at `api.openai.com`.
pub fn is_openai_endpoint(base_url: &str) -> bool {
    let lower = base_url.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = rest.split(['/', ':', '?']).next().unwrap_or_default();
    host == "api.openai.com"
}

fn cost_text(rate: Rate, usage: TokenUsage) -> String {
    match rate.cost(usage) {
        Some(c) => format!("≈ {}", format_usd(c)),
        None => "unknown price".to_owned(),
    }
}

/// The report for one server as lines of text (Markdown-safe, no mentions): per model the three
/// periods with tokens and cost, the month's known total, and the budget left today
/// (`budget` 0 = unlimited).
pub fn render(usage: &GuildUsage, pricing: Pricing<'_>, budget: u64) -> String {
    let mut out = String::new();
    if usage.models.is_empty() {
        out.push_str("No LLM tokens used this month.\n");
    }
    let mut month_cost = 0.0;
    let mut unknown = false;
    for m in &usage.models {
        let rate = pricing
            .table
            .rate(&m.provider, &m.model, pricing.openai_endpoint);
        let _ = writeln!(out, "{} / {}", m.provider, m.model);
        for (label, u) in [
            ("today", m.today),
            ("this week", m.week),
            ("this month", m.month),
        ] {
            let _ = writeln!(
                out,
                "  {label:<10} {:>12} in {:>10} out  {}",
                thousands(u.prompt_tokens),
                thousands(u.completion_tokens),
                cost_text(rate, u)
            );
        }
        match rate.cost(m.month) {
            Some(c) => month_cost += c,
            None => unknown = true,
        }
    }
    if !usage.models.is_empty() {
        let note = if unknown {
            " (models with unknown prices not counted; add them to llm.prices)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "Estimated cost this month: {}{note}",
            format_usd(month_cost)
        );
    }
    let used = usage.today_total();
    if budget == 0 {
        let _ = writeln!(
            out,
            "Daily token budget: unlimited ({} used today)",
            thousands(used)
        );
    } else {
        let _ = writeln!(
            out,
            "Daily token budget: {} of {} tokens left today",
            thousands(budget.saturating_sub(used)),
            thousands(budget)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::Price;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("date")
    }

    fn row(guild: Option<u64>, day: NaiveDate, model: &str, p: u64, c: u64) -> UsageRow {
        UsageRow {
            guild: guild.map(GuildId),
            day,
            provider: "openai".into(),
            model: model.into(),
            usage: TokenUsage {
                prompt_tokens: p,
                completion_tokens: c,
            },
        }
    }

    #[test]
    fn periods_start_on_monday_and_the_first() {
        // 2026-11-25 is a Wednesday; 2026-10-01 a Thursday.
        let p = Periods::containing(day(11, 25));
        assert_eq!((p.week_start, p.month_start), (day(11, 23), day(11, 1)));
        assert_eq!(p.first_day(), day(11, 1));
        let p = Periods::containing(day(10, 2));
        assert_eq!((p.week_start, p.month_start), (day(9, 28), day(10, 1)));
        assert_eq!(p.first_day(), day(9, 28));
        let monday = Periods::containing(day(11, 23));
        assert_eq!(monday.week_start, day(11, 23));
    }

    #[test]
    fn rows_fall_into_every_period_they_belong_to() {
        let p = Periods::containing(day(10, 2));
        let rows = [
            row(Some(1), day(10, 2), "gpt-4o", 100, 10),
            row(Some(1), day(10, 1), "gpt-4o", 1000, 100),
            row(Some(1), day(9, 29), "gpt-4o", 5, 5),
            row(Some(1), day(9, 1), "gpt-4o", 7, 7),
            row(Some(2), day(10, 2), "x", 1, 1),
            row(None, day(10, 2), "x", 2, 2),
        ];
        let groups = group(&rows, p);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].guild, None);
        let g1 = &groups[1];
        assert_eq!(g1.models.len(), 1);
        let m = &g1.models[0];
        assert_eq!(m.today.total(), 110);
        assert_eq!(m.week.total(), 1220);
        assert_eq!(m.month.total(), 1210);
        assert_eq!(g1.today_total(), 110);
    }

    #[test]
    fn render_shows_costs_unknown_prices_and_the_budget() {
        let p = Periods::containing(day(11, 25));
        let rows = [
            row(Some(1), day(11, 25), "gpt-4o-mini", 1_000_000, 100_000),
            row(Some(1), day(11, 25), "llama3", 500, 50),
        ];
        let usage = &group(&rows, p)[0];
        let mut table = PriceTable::default();
        table
            .insert("gpt-4o-mini", Price::new(0.15, 0.60).expect("valid"))
            .expect("insert");
        let pricing = Pricing {
            table: &table,
            openai_endpoint: false,
        };
        let text = render(usage, pricing, 2_000_000);
        assert!(text.contains("openai / gpt-4o-mini"), "{text}");
        assert!(text.contains("1,000,000 in"), "{text}");
        assert!(text.contains("≈ $0.21"), "{text}");
        assert!(text.contains("unknown price"), "{text}");
        assert!(
            text.contains("Estimated cost this month: $0.21 (models with unknown"),
            "{text}"
        );
        assert!(
            text.contains("899,450 of 2,000,000 tokens left today"),
            "{text}"
        );
        let empty = GuildUsage {
            guild: None,
            models: Vec::new(),
        };
        let text = render(&empty, pricing, 0);
        assert!(text.contains("No LLM tokens used this month."), "{text}");
        assert!(text.contains("unlimited (0 used today)"), "{text}");
    }

    #[test]
    fn openai_endpoint_is_recognised_by_host() {
        assert!(is_openai_endpoint("https://api.openai.com/v1"));
        assert!(is_openai_endpoint("HTTPS://API.OPENAI.COM"));
        assert!(!is_openai_endpoint("http://localhost:11434/v1"));
        assert!(!is_openai_endpoint(
            "https://api.openai.com.evil.example/v1"
        ));
    }
}
