//! `summarybot usage`: for every server, LLM tokens in and out today, this week and this month
//! per provider and model, the estimated cost and the daily budget left; `--days N` adds the
//! per-day table.

use chrono::{Days, NaiveDate, Utc};

use crate::cli::UsageArgs;
use crate::config::{Config, Scope};
use crate::pricing::DEFAULT_PRICES_CHECKED;
use crate::store::{Store, StoreError};
use crate::usage::{self, Periods, Pricing};

use super::output::outln;
use super::{Context, Failure};

/// Print the usage report of every server, then the per-day table when `--days` is given.
pub fn run(ctx: &Context, args: &UsageArgs) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = ctx.store(&config)?;
    let today = Utc::now().date_naive();
    report(&config, &store, Periods::containing(today)).map_err(anyhow::Error::from)?;
    if let Some(days) = args.days {
        let from = today
            .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
            .unwrap_or(today);
        daily_table(&config, &store, from, today).map_err(anyhow::Error::from)?;
    }
    Ok(())
}

/// One block per server (and one for usage outside servers) with the three periods.
fn report(config: &Config, store: &Store, periods: Periods) -> Result<(), StoreError> {
    let rows = store.usage_rows(periods.first_day(), periods.today)?;
    let groups = usage::group(&rows, periods);
    outln!(
        "LLM usage, UTC (today {}, week from {}, month from {})",
        periods.today,
        periods.week_start,
        periods.month_start
    );
    outln!(
        "Prices: llm.prices, then on api.openai.com the built-in list checked \
         {DEFAULT_PRICES_CHECKED}."
    );
    if groups.is_empty() {
        outln!("no LLM usage recorded this month");
        return Ok(());
    }
    for group in &groups {
        let budget = match group.guild {
            Some(g) => {
                store
                    .guild_settings(g)?
                    .unwrap_or_default()
                    .effective(config)
                    .daily_token_budget
            }
            None => config.llm.daily_token_budget,
        };
        outln!("");
        match group.guild {
            Some(g) => outln!("server {g}"),
            None => outln!("outside servers (CLI, jobs without a server)"),
        }
        for line in usage::render(group, Pricing::of(config), budget).lines() {
            outln!("  {line}");
        }
    }
    Ok(())
}

/// The tokens of every day from `from` to `to`, by server, provider and model.
fn daily_table(
    config: &Config,
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), StoreError> {
    let rows = store.usage_rows(from, to)?;
    outln!("");
    if rows.is_empty() {
        outln!("no LLM usage recorded from {from} to {to}");
        return Ok(());
    }
    outln!(
        "{:<20} {:<10} {:<10} {:<24} {:>12} {:>12}",
        "guild",
        "day",
        "provider",
        "model",
        "prompt",
        "completion"
    );
    let (mut total_in, mut total_out) = (0, 0);
    for row in &rows {
        total_in += row.usage.prompt_tokens;
        total_out += row.usage.completion_tokens;
        outln!(
            "{:<20} {:<10} {:<10} {:<24} {:>12} {:>12}",
            row.guild.map_or_else(|| "-".to_string(), |g| g.to_string()),
            row.day,
            row.provider,
            row.model,
            row.usage.prompt_tokens,
            row.usage.completion_tokens
        );
    }
    outln!("total: {total_in} prompt + {total_out} completion tokens");
    let budget = config.llm.daily_token_budget;
    if budget > 0 {
        outln!("configured daily budget per server: {budget} tokens");
    }
    Ok(())
}
