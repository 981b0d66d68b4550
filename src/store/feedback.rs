//! Feedback on posted summaries: one 👍/👎 vote per member per summary (named by its cache key),
//! with the summary's provider, model, kind and detail level and the time — never its content.
//! Votes older than [`FEEDBACK_DAYS`] days are pruned by maintenance; forgetting a member
//! deletes theirs.

use std::collections::BTreeMap;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{codec, OrStore, Store, StoreError};
use crate::model::{Timestamp, UserId};

/// `(summary cache key, user id)` → encoded [`Vote`].
pub(super) const FEEDBACK: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("feedback");

/// Days votes are kept (and the status page's rate covers).
pub const FEEDBACK_DAYS: i64 = 30;
/// Record name used in decode errors.
const WHAT: &str = "feedback vote";

/// One member's vote on one summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// 👍 (true) or 👎.
    pub up: bool,
    /// The summary's provider (`builtin`, `openai`).
    pub provider: String,
    /// Its model.
    pub model: String,
    /// Its prompt variant (`general`, `dev`).
    pub kind: String,
    /// Its detail level (`brief`, `standard`, `full`).
    pub detail: String,
    /// When the vote was cast (or last changed).
    pub at: Timestamp,
}

/// What recording a vote did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The member's first vote on this summary.
    New,
    /// The member had voted the other way; the vote now counts as this one.
    Changed,
    /// The member had already voted this way; nothing changed.
    Unchanged,
}

/// Votes on one provider/model's summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedbackTally {
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// 👍 votes.
    pub up: u64,
    /// 👎 votes.
    pub down: u64,
}

impl Store {
    /// Record `user`'s vote on the summary cached under `summary_key`: a member counts once per
    /// summary, so a second vote replaces the first (and the same vote again changes nothing).
    pub fn record_feedback(
        &self,
        summary_key: &str,
        user: UserId,
        vote: &Vote,
    ) -> Result<Recorded, StoreError> {
        let bytes = codec::encode(WHAT, vote)?;
        self.write(|txn| {
            let mut table = txn.open_table(FEEDBACK).or_store()?;
            let before = table
                .get((summary_key, user.0))
                .or_store()?
                .map(|v| codec::decode::<Vote>(WHAT, v.value()).map(|old| old.up));
            let outcome = match before {
                Some(Ok(up)) if up == vote.up => return Ok(Recorded::Unchanged),
                Some(_) => Recorded::Changed,
                None => Recorded::New,
            };
            table
                .insert((summary_key, user.0), bytes.as_slice())
                .or_store()?;
            Ok(outcome)
        })
    }

    /// 👍 and 👎 counts per provider/model of the votes cast at or after `since`, by provider
    /// then model. An unreadable vote is skipped (and logged), not fatal to the page.
    pub fn feedback_tallies(&self, since: Timestamp) -> Result<Vec<FeedbackTally>, StoreError> {
        self.read(|txn| {
            let mut tallies: BTreeMap<(String, String), FeedbackTally> = BTreeMap::new();
            let table = txn.open_table(FEEDBACK).or_store()?;
            for entry in table.iter().or_store()? {
                let (_, value) = entry.or_store()?;
                let vote: Vote = match codec::decode(WHAT, value.value()) {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping an unreadable feedback vote");
                        continue;
                    }
                };
                if vote.at < since {
                    continue;
                }
                let tally = tallies
                    .entry((vote.provider.clone(), vote.model.clone()))
                    .or_insert_with(|| FeedbackTally {
                        provider: vote.provider,
                        model: vote.model,
                        ..FeedbackTally::default()
                    });
                if vote.up {
                    tally.up += 1;
                } else {
                    tally.down += 1;
                }
            }
            Ok(tallies.into_values().collect())
        })
    }

    /// Drop votes cast more than [`FEEDBACK_DAYS`] days before `now` (and unreadable ones).
    /// Returns how many were dropped. The table holds a few rows per summary, so a scan is cheap.
    pub fn prune_feedback(&self, now: Timestamp) -> Result<u64, StoreError> {
        let cutoff = Timestamp(now.millis() - FEEDBACK_DAYS * 86_400_000);
        self.write(|txn| {
            let mut removed = 0;
            txn.open_table(FEEDBACK)
                .or_store()?
                .retain(|_, value| {
                    let keep = codec::decode::<Vote>(WHAT, value).is_ok_and(|v| v.at >= cutoff);
                    if !keep {
                        removed += 1;
                    }
                    keep
                })
                .or_store()?;
            Ok(removed)
        })
    }
}

/// Delete every vote of `user` inside `txn` (forgetting a member); returns how many.
pub(super) fn forget_votes(txn: &WriteTransaction, user: UserId) -> Result<u64, StoreError> {
    let mut removed = 0;
    txn.open_table(FEEDBACK)
        .or_store()?
        .retain(|(_, voter), _| {
            let keep = voter != user.0;
            if !keep {
                removed += 1;
            }
            keep
        })
        .or_store()?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn vote(up: bool, model: &str, at: i64) -> Vote {
        Vote {
            up,
            provider: "openai".into(),
            model: model.into(),
            kind: "general".into(),
            detail: "standard".into(),
            at: Timestamp(at),
        }
    }

    #[test]
    fn a_member_counts_once_per_summary_and_may_change_the_vote() {
        let (_d, s) = temp_store();
        let ann = UserId(1);
        let bob = UserId(2);
        assert_eq!(
            s.record_feedback("k1", ann, &vote(true, "m", 10))
                .expect("first"),
            Recorded::New
        );
        assert_eq!(
            s.record_feedback("k1", ann, &vote(true, "m", 11))
                .expect("again"),
            Recorded::Unchanged
        );
        assert_eq!(
            s.record_feedback("k1", bob, &vote(false, "m", 12))
                .expect("bob"),
            Recorded::New
        );
        assert_eq!(
            s.record_feedback("k2", ann, &vote(true, "m", 13))
                .expect("another summary"),
            Recorded::New
        );
        let tallies = s.feedback_tallies(Timestamp(0)).expect("tally");
        assert_eq!(
            tallies,
            vec![FeedbackTally {
                provider: "openai".into(),
                model: "m".into(),
                up: 2,
                down: 1
            }]
        );
        assert_eq!(
            s.record_feedback("k1", bob, &vote(true, "m", 14))
                .expect("change"),
            Recorded::Changed
        );
        let tallies = s.feedback_tallies(Timestamp(0)).expect("tally");
        assert_eq!((tallies[0].up, tallies[0].down), (3, 0));
    }

    #[test]
    fn tallies_are_per_model_within_the_window_and_old_votes_are_pruned() {
        let (_d, s) = temp_store();
        let day = 86_400_000;
        let now = 40 * day;
        s.record_feedback("a", UserId(1), &vote(true, "big", now - 31 * day))
            .expect("old");
        s.record_feedback("b", UserId(1), &vote(false, "big", now - day))
            .expect("recent");
        s.record_feedback("b", UserId(2), &vote(true, "small", now))
            .expect("recent");
        let since = Timestamp(now - FEEDBACK_DAYS * day);
        let tallies = s.feedback_tallies(since).expect("tally");
        let got: Vec<_> = tallies
            .iter()
            .map(|t| (t.model.as_str(), t.up, t.down))
            .collect();
        assert_eq!(got, [("big", 0, 1), ("small", 1, 0)]);
        assert_eq!(s.prune_feedback(Timestamp(now)).expect("prune"), 1);
        assert_eq!(s.prune_feedback(Timestamp(now)).expect("prune"), 0);
        let all = s.feedback_tallies(Timestamp(0)).expect("tally");
        assert_eq!(all.iter().map(|t| t.up + t.down).sum::<u64>(), 2);
    }

    #[test]
    fn an_unreadable_vote_is_reported_by_verify_skipped_by_the_page_and_pruned() {
        let (_d, s) = temp_store();
        s.record_feedback("good", UserId(1), &vote(true, "m", 1))
            .expect("vote");
        s.write(|txn| {
            txn.open_table(FEEDBACK)
                .or_store()?
                .insert(("bad", 2), [0xff_u8, 0xff, 0xff].as_slice())
                .or_store()?;
            Ok(())
        })
        .expect("damage");
        let report = s.check_consistency().expect("check");
        assert_eq!(report.feedback_votes, 2);
        assert_eq!(report.problem_count, 1, "{:?}", report.problems);
        assert!(
            report.problems[0].contains("feedback of user 2 on summary bad"),
            "{:?}",
            report.problems
        );
        assert_eq!(s.feedback_tallies(Timestamp(0)).expect("tally")[0].up, 1);
        assert_eq!(s.prune_feedback(Timestamp(1)).expect("prune"), 1);
        assert!(s.check_consistency().expect("check").is_ok());
    }

    #[test]
    fn forgetting_a_member_deletes_their_votes_only() {
        let (_d, s) = temp_store();
        s.record_feedback("a", UserId(1), &vote(true, "m", 1))
            .expect("vote");
        s.record_feedback("b", UserId(1), &vote(true, "m", 1))
            .expect("vote");
        s.record_feedback("a", UserId(2), &vote(false, "m", 1))
            .expect("vote");
        s.forget_user(UserId(1), Timestamp(2), None)
            .expect("forget");
        let tallies = s.feedback_tallies(Timestamp(0)).expect("tally");
        assert_eq!((tallies[0].up, tallies[0].down), (0, 1));
    }
}
