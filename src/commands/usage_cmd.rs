//! `summarybot usage`: LLM tokens per server, day, provider and model.

use chrono::{Days, Utc};

use crate::cli::UsageArgs;
use crate::config::Scope;

use super::output::outln;
use super::{open_store, Context, Failure};

/// Print the usage table for the last `args.days` days.
pub fn run(ctx: &Context, args: &UsageArgs) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = open_store(&config)?;
    let today = Utc::now().date_naive();
    let from = today
        .checked_sub_days(Days::new(u64::from(args.days.saturating_sub(1))))
        .unwrap_or(today);
    let rows = store.usage_rows(from, today).map_err(anyhow::Error::from)?;
    if rows.is_empty() {
        outln!("no LLM usage recorded from {from} to {today}");
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
    let mut total_in = 0;
    let mut total_out = 0;
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
        outln!("daily budget per server: {budget} tokens");
    }
    Ok(())
}
