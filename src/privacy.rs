//! Member privacy, one operation for every trigger (`/summarybot forget-me|optin-me|my-data`
//! and `summarybot forget`): forgetting a member (opt-out, deletion of their stored messages
//! and of the summaries that may quote them) and opting them back in. The rule itself (no
//! message of an opted-out member is stored or summarized) lives in the store's write path and
//! the summary service.

use crate::model::{Timestamp, UserId};
use crate::store::{Forgotten, JobRedaction, Store, StoreError};

/// What a finished job's result becomes when a member whose messages it summarized is
/// forgotten.
pub const FORGOTTEN_RESULT: &str = r#"{"redacted":"a member whose messages this summary covered asked to be forgotten; its text was deleted"}"#;

/// What forgetting applies to, said in every answer: the opt-out is per member, for the whole
/// instance.
pub const SCOPE: &str = "on every server this bot serves";

/// Forget `user` in one transaction: opt them out, delete their stored messages and the
/// cached summaries of those channels, and blank the summaries finished webhook and digest jobs
/// hold of those channels (`GET /jobs/{id}` would show them).
pub fn forget(store: &Store, user: UserId) -> Result<Forgotten, StoreError> {
    let jobs = JobRedaction {
        summarizes: &|job, channels| crate::jobs::summarizes_any(job, channels),
        note: FORGOTTEN_RESULT,
    };
    let forgotten = store.forget_user(user, Timestamp::now(), Some(&jobs))?;
    tracing::info!(user_id = %user, deleted = forgotten.messages,
        channels = forgotten.channels.len(), jobs = forgotten.jobs_redacted, "member forgotten");
    Ok(forgotten)
}

/// Opt `user` back in (their new messages are stored again); false when they were not opted
/// out.
pub fn opt_in(store: &Store, user: UserId) -> Result<bool, StoreError> {
    let changed = store.opt_user_in(user)?;
    if changed {
        tracing::info!(user_id = %user, "member opted in again");
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelId;
    use crate::store::test_support::{msg, temp_store};

    #[test]
    fn forgetting_blanks_the_finished_jobs_that_summarized_their_channels_only() {
        let (_d, store) = temp_store();
        let mut mine = msg(5, 1, 10, "mine");
        mine.author.id = UserId(42);
        store.upsert_messages(&[mine]).expect("store");
        let job = |channel: u64| {
            let payload = format!(r#"{{"channel_id":{channel},"since":0,"until":1}}"#);
            let job = store
                .enqueue_job(crate::jobs::SUMMARY_REQUEST, &payload, Timestamp(1))
                .expect("enqueue");
            store
                .complete_job(job.id, "summary quoting them", Timestamp(2))
                .expect("complete");
            job.id
        };
        let theirs = job(5);
        let other = job(6);
        let forgotten = forget(&store, UserId(42)).expect("forget");
        assert_eq!(forgotten.channels, [ChannelId(5)]);
        assert_eq!(forgotten.jobs_redacted, 1);
        let result = |id: u64| store.job(id).expect("read").and_then(|j| j.result);
        assert_eq!(result(theirs).as_deref(), Some(FORGOTTEN_RESULT));
        assert_eq!(result(other).as_deref(), Some("summary quoting them"));
    }
}
