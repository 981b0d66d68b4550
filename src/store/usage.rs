//! Token usage per guild, day, provider and model (for budgets and `summarybot usage`).

use chrono::{Datelike, NaiveDate};
use redb::ReadableTable;

use super::schema::USAGE;
use super::{OrStore, Store, StoreError};
use crate::model::{GuildId, TokenUsage};

/// One row of token usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRow {
    /// Guild, or None for usage outside a guild (CLI, DMs).
    pub guild: Option<GuildId>,
    /// UTC day.
    pub day: NaiveDate,
    /// `openai`, `builtin`, ...
    pub provider: String,
    /// Model name.
    pub model: String,
    /// Tokens spent.
    pub usage: TokenUsage,
}

/// The key's day number (days since 0001-01-01, so keys sort by date).
pub(super) fn day_key(day: NaiveDate) -> i32 {
    day.num_days_from_ce()
}

/// Back from a day number; a number no date has is a damaged key.
pub(super) fn key_day(n: i32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_num_days_from_ce_opt(n).ok_or(StoreError::Decode {
        what: "usage day",
        detail: format!("day number {n} is out of range"),
    })
}

impl Store {
    /// Add `usage` to the running total of (guild, day, provider, model).
    pub fn add_usage(
        &self,
        guild: Option<GuildId>,
        day: NaiveDate,
        provider: &str,
        model: &str,
        usage: TokenUsage,
    ) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(USAGE).or_store()?;
            let key = (day_key(day), guild.map(|g| g.0), provider, model);
            let (prompt, completion) = table.get(key).or_store()?.map_or((0, 0), |v| v.value());
            let sum = (
                prompt.saturating_add(usage.prompt_tokens),
                completion.saturating_add(usage.completion_tokens),
            );
            table.insert(key, sum).or_store()?;
            Ok(())
        })
    }

    /// The guild's usage on `day`, summed over providers and models.
    pub fn usage_on(
        &self,
        guild: Option<GuildId>,
        day: NaiveDate,
    ) -> Result<TokenUsage, StoreError> {
        let wanted = guild.map(|g| g.0);
        let rows = self.usage_between(day, day, |g| g == wanted)?;
        let mut total = TokenUsage::default();
        for row in rows {
            total += row.usage;
        }
        Ok(total)
    }

    /// Every usage row from `from` to `to` inclusive, by day, guild, provider and model.
    pub fn usage_rows(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<UsageRow>, StoreError> {
        self.usage_between(from, to, |_| true)
    }

    /// Rows of days `from..=to` whose guild passes `keep`.
    fn usage_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        keep: impl Fn(Option<u64>) -> bool,
    ) -> Result<Vec<UsageRow>, StoreError> {
        if to < from {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let table = txn.open_table(USAGE).or_store()?;
            let start = (day_key(from), None, "", "");
            let mut rows = Vec::new();
            for entry in table.range(start..).or_store()? {
                let (key, value) = entry.or_store()?;
                let (day, guild, provider, model) = key.value();
                if day > day_key(to) {
                    break;
                }
                if keep(guild) {
                    let (prompt_tokens, completion_tokens) = value.value();
                    rows.push(UsageRow {
                        guild: guild.map(GuildId),
                        day: key_day(day)?,
                        provider: provider.to_string(),
                        model: model.to_string(),
                        usage: TokenUsage {
                            prompt_tokens,
                            completion_tokens,
                        },
                    });
                }
            }
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("valid date")
    }

    fn tokens(p: u64, c: u64) -> TokenUsage {
        TokenUsage {
            prompt_tokens: p,
            completion_tokens: c,
        }
    }

    #[test]
    fn sums_per_guild_and_day() {
        let (_d, s) = temp_store();
        let g = Some(GuildId(5));
        s.add_usage(g, day(1), "openai", "gpt-a", tokens(10, 1))
            .expect("add");
        s.add_usage(g, day(1), "openai", "gpt-a", tokens(5, 2))
            .expect("add");
        s.add_usage(g, day(1), "openai", "gpt-b", tokens(100, 10))
            .expect("add");
        s.add_usage(Some(GuildId(6)), day(1), "openai", "gpt-a", tokens(1000, 0))
            .expect("add");
        s.add_usage(None, day(1), "openai", "gpt-a", tokens(7, 7))
            .expect("add");
        s.add_usage(g, day(2), "openai", "gpt-a", tokens(1, 1))
            .expect("add");
        assert_eq!(s.usage_on(g, day(1)).expect("sum"), tokens(115, 13));
        assert_eq!(s.usage_on(None, day(1)).expect("sum"), tokens(7, 7));
        assert_eq!(s.usage_on(g, day(3)).expect("sum"), TokenUsage::default());
        let rows = s.usage_rows(day(1), day(1)).expect("rows");
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].guild, None);
        assert_eq!(s.usage_rows(day(2), day(9)).expect("rows").len(), 1);
        assert!(s.usage_rows(day(2), day(1)).expect("rows").is_empty());
        let first = &s.usage_rows(day(1), day(2)).expect("rows")[1];
        assert_eq!(
            (first.guild, first.model.as_str(), first.usage),
            (g, "gpt-a", tokens(15, 3))
        );
    }
}
