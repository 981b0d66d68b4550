//! Members who asked to be forgotten: the opted-out user ids, deleting a member's stored
//! messages, and what is stored of one member. The write path of messages
//! ([`super::messages::upsert_in`]) asks [`opted_out_in`] inside its own transaction, so no
//! message of an opted-out member is stored, whichever path brings it.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::messages::{self, WHAT};
use super::schema::{CHANNELS, MESSAGES, MESSAGE_IDS, OPTED_OUT_USERS};
use super::{codec, jobs, summaries, OrStore, Store, StoreError};
use crate::model::{ChannelId, ChannelInfo, ChatMessage, Job, Timestamp, UserId};

/// What [`Store::forget_user`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Messages deleted.
    pub messages: u64,
    /// The channels they were deleted from (their cached summaries were dropped), by id.
    pub channels: Vec<ChannelId>,
    /// The member was opted out already (before this call).
    pub already: bool,
    /// Finished jobs whose results were blanked.
    pub jobs_redacted: u64,
}

/// Which finished jobs' results [`Store::forget_user`] blanks, and with what.
pub struct JobRedaction<'a> {
    /// True when the job summarized one of these channels (the ones messages were deleted from).
    pub summarizes: &'a dyn Fn(&Job, &[ChannelId]) -> bool,
    /// The result such a job gets instead.
    pub note: &'a str,
}

/// What is stored of one member ([`Store::user_data`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserData {
    /// Per channel: how many of their messages are stored, and the oldest one's send time.
    pub channels: BTreeMap<ChannelId, (u64, Timestamp)>,
    /// Since when they are opted out, if they are.
    pub opted_out_since: Option<Timestamp>,
}

impl UserData {
    /// Their stored messages in every channel.
    pub fn messages(&self) -> u64 {
        self.channels.values().map(|(n, _)| n).sum()
    }
}

/// The opted-out user ids, read inside a write transaction (the table is small: one row per
/// member who opted out).
pub(super) fn opted_out_in(txn: &WriteTransaction) -> Result<BTreeSet<UserId>, StoreError> {
    let table = txn.open_table(OPTED_OUT_USERS).or_store()?;
    if table.is_empty().or_store()? {
        return Ok(BTreeSet::new());
    }
    table
        .iter()
        .or_store()?
        .map(|e| Ok(UserId(e.or_store()?.0.value())))
        .collect()
}

impl Store {
    /// Every member who opted out.
    pub fn opted_out_users(&self) -> Result<BTreeSet<UserId>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(OPTED_OUT_USERS).or_store()?;
            table
                .iter()
                .or_store()?
                .map(|e| Ok(UserId(e.or_store()?.0.value())))
                .collect()
        })
    }

    /// Forget `user` in ONE transaction: opt them out (from now on no write path stores their
    /// messages), delete their stored messages in every channel, drop the cached summaries of
    /// those channels and of the channels those threads belong to (they may quote them), and
    /// blank the results of the finished jobs `jobs` picks (None: jobs are left alone). Reads
    /// every stored message once.
    pub fn forget_user(
        &self,
        user: UserId,
        now: Timestamp,
        jobs: Option<&JobRedaction<'_>>,
    ) -> Result<Forgotten, StoreError> {
        self.write(|txn| {
            let already = {
                let mut table = txn.open_table(OPTED_OUT_USERS).or_store()?;
                let previous = table.get(user.0).or_store()?.map(|v| v.value());
                if previous.is_none() {
                    table.insert(user.0, now.0).or_store()?;
                }
                previous.is_some()
            };
            let mut messages = txn.open_table(MESSAGES).or_store()?;
            let mut ids = txn.open_table(MESSAGE_IDS).or_store()?;
            // Already opted out: no write path stored anything of theirs since, so the scan
            // (which holds the one writer) is skipped.
            let doomed = if already {
                Vec::new()
            } else {
                keys_by(&messages, user)?
            };
            let removed = messages::remove_keys(&mut messages, &mut ids, &doomed)?;
            drop((messages, ids));
            let channels: BTreeSet<ChannelId> =
                doomed.iter().map(|&(c, _, _)| ChannelId(c)).collect();
            invalidate_with_parents(txn, &channels)?;
            super::feedback::forget_votes(txn, user)?;
            let channels: Vec<ChannelId> = channels.into_iter().collect();
            let jobs_redacted = match jobs {
                Some(r) if !channels.is_empty() => {
                    jobs::redact_in(txn, |job| (r.summarizes)(job, &channels), r.note)?
                }
                _ => 0,
            };
            Ok(Forgotten {
                messages: removed,
                channels,
                already,
                jobs_redacted,
            })
        })
    }

    /// Opt `user` back in: their new messages are stored again. False when they were not
    /// opted out.
    pub fn opt_user_in(&self, user: UserId) -> Result<bool, StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(OPTED_OUT_USERS).or_store()?;
            let removed = table.remove(user.0).or_store()?.is_some();
            Ok(removed)
        })
    }

    /// What is stored of `user`: their messages per channel (count, oldest) and whether they
    /// opted out. Reads every stored message once.
    pub fn user_data(&self, user: UserId) -> Result<UserData, StoreError> {
        self.read(|txn| {
            let opted_out_since = txn
                .open_table(OPTED_OUT_USERS)
                .or_store()?
                .get(user.0)
                .or_store()?
                .map(|v| Timestamp(v.value()));
            let messages = txn.open_table(MESSAGES).or_store()?;
            let mut channels = BTreeMap::new();
            for key in keys_by(&messages, user)? {
                let (channel, ts, _) = key;
                // Keys are in time order within a channel: the first one seen is the oldest.
                channels
                    .entry(ChannelId(channel))
                    .or_insert((0, Timestamp(ts)))
                    .0 += 1;
            }
            Ok(UserData {
                channels,
                opted_out_since,
            })
        })
    }
}

/// Keys of every stored message `user` wrote, in key order (channel, time, id).
fn keys_by(
    messages: &impl ReadableTable<(u64, i64, u64), &'static [u8]>,
    user: UserId,
) -> Result<Vec<(u64, i64, u64)>, StoreError> {
    let mut keys = Vec::new();
    for entry in messages.iter().or_store()? {
        let (key, value) = entry.or_store()?;
        let msg: ChatMessage = codec::decode(WHAT, value.value())?;
        if msg.author.id == user {
            keys.push(key.value());
        }
    }
    Ok(keys)
}

/// Drop the cached summaries of `channels` and of the channels those threads belong to. A
/// channel record that cannot be read hides its parent: then every cached summary goes.
fn invalidate_with_parents(
    txn: &WriteTransaction,
    channels: &BTreeSet<ChannelId>,
) -> Result<(), StoreError> {
    let mut all = channels.clone();
    {
        let table = txn.open_table(CHANNELS).or_store()?;
        for channel in channels {
            let Some(value) = table.get(channel.0).or_store()? else {
                continue;
            };
            let Ok(info) = codec::decode::<ChannelInfo>("channel", value.value()) else {
                summaries::invalidate_all(txn)?;
                return Ok(());
            };
            all.extend(info.parent_id);
        }
    }
    for channel in all {
        summaries::invalidate_channel(txn, channel)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TimeWindow;
    use crate::store::test_support::{msg, temp_store};

    fn by(user: u64, channel: u64, id: u64, ts: i64, text: &str) -> ChatMessage {
        let mut m = msg(channel, id, ts, text);
        m.author.id = UserId(user);
        m
    }

    fn all_ids(s: &Store, channel: u64) -> Vec<u64> {
        let all = TimeWindow {
            start: Timestamp(i64::MIN),
            end: Timestamp(i64::MAX),
        };
        s.messages_in(ChannelId(channel), all)
            .expect("scan")
            .iter()
            .map(|m| m.id.0)
            .collect()
    }

    fn cache(s: &Store, key: &str, channel: u64) {
        let summary = crate::store::summaries::tests::summary(channel, 1);
        s.cache_summary(key, &summary, Timestamp(i64::MAX), 100)
            .expect("cache");
    }

    #[test]
    fn forget_deletes_exactly_that_members_messages_in_every_channel_and_survives_reopen() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[
            by(5, 1, 10, 100, "mine in one"),
            by(6, 1, 11, 110, "someone else"),
            by(5, 2, 12, 50, "mine in two"),
            by(5, 2, 13, 60, "mine again"),
            by(6, 3, 14, 70, "other channel, other member"),
        ])
        .expect("upsert");
        cache(&s, "one", 1);
        cache(&s, "three", 3);
        let forgotten = s
            .forget_user(UserId(5), Timestamp(1000), None)
            .expect("forget");
        assert_eq!(
            forgotten,
            Forgotten {
                messages: 3,
                channels: vec![ChannelId(1), ChannelId(2)],
                already: false,
                jobs_redacted: 0,
            }
        );
        let path = s.path().to_path_buf();
        drop(s);
        let s = Store::open(&path).expect("reopen");
        assert_eq!(all_ids(&s, 1), vec![11]);
        assert!(all_ids(&s, 2).is_empty());
        assert_eq!(all_ids(&s, 3), vec![14]);
        assert!(s.check_consistency().expect("check").is_ok());
        assert!(
            s.cached_summary("one", Timestamp(2))
                .expect("read")
                .is_none(),
            "a summary of a channel they wrote in may quote them"
        );
        assert!(
            s.cached_summary("three", Timestamp(2))
                .expect("read")
                .is_some(),
            "other channels' summaries stay"
        );
        assert_eq!(
            s.opted_out_users().expect("read"),
            BTreeSet::from([UserId(5)])
        );
        let data = s.user_data(UserId(5)).expect("data");
        assert_eq!(data.messages(), 0);
        assert_eq!(data.opted_out_since, Some(Timestamp(1000)));
        let again = s
            .forget_user(UserId(5), Timestamp(2000), None)
            .expect("again");
        assert!(again.already && again.messages == 0, "{again:?}");
        assert_eq!(
            s.user_data(UserId(5)).expect("data").opted_out_since,
            Some(Timestamp(1000)),
            "the first opt-out's time is kept"
        );
    }

    #[test]
    fn no_write_path_stores_an_opted_out_members_messages_until_they_opt_in() {
        let (_d, s) = temp_store();
        s.forget_user(UserId(5), Timestamp(1), None)
            .expect("forget");
        let batch = [by(5, 1, 10, 100, "mine"), by(6, 1, 11, 110, "theirs")];
        assert_eq!(s.upsert_messages(&batch).expect("upsert"), 1);
        assert_eq!(
            s.ingest_messages(&[by(5, 1, 12, 120, "live")], Timestamp(2))
                .expect("ingest"),
            0
        );
        assert_eq!(all_ids(&s, 1), vec![11]);
        assert!(s.opt_user_in(UserId(5)).expect("opt in"));
        assert!(!s.opt_user_in(UserId(5)).expect("not opted out"));
        assert_eq!(
            s.upsert_messages(&[by(5, 1, 13, 130, "back")])
                .expect("upsert"),
            1
        );
        assert_eq!(all_ids(&s, 1), vec![11, 13]);
    }

    #[test]
    fn a_database_from_before_the_table_opens_and_reads_it_empty() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[by(5, 1, 10, 100, "kept")])
            .expect("upsert");
        s.write(|txn| {
            txn.delete_table(OPTED_OUT_USERS).or_store()?;
            Ok(())
        })
        .expect("drop the table, as in an older file");
        let path = s.path().to_path_buf();
        drop(s);
        let s = Store::open(&path).expect("reopen");
        assert!(s.opted_out_users().expect("read").is_empty());
        assert_eq!(s.user_data(UserId(5)).expect("data").messages(), 1);
    }

    #[test]
    fn user_data_counts_per_channel_with_the_oldest_time() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[
            by(5, 2, 12, 300, "later"),
            by(5, 2, 13, 200, "oldest in two"),
            by(5, 1, 10, 900, "only in one"),
            by(6, 1, 11, 100, "not theirs"),
        ])
        .expect("upsert");
        let data = s.user_data(UserId(5)).expect("data");
        assert_eq!(
            data.channels,
            BTreeMap::from([
                (ChannelId(1), (1, Timestamp(900))),
                (ChannelId(2), (2, Timestamp(200))),
            ])
        );
        assert_eq!((data.messages(), data.opted_out_since), (3, None));
        assert_eq!(s.user_data(UserId(7)).expect("data"), UserData::default());
    }

    #[test]
    fn forgetting_a_thread_drops_the_cached_summaries_of_its_parent() {
        let (_d, s) = temp_store();
        let mut thread = ChannelInfo::unknown(ChannelId(20), None);
        thread.parent_id = Some(ChannelId(2));
        s.put_channel(&thread).expect("channel");
        s.upsert_messages(&[by(5, 20, 10, 100, "in a thread")])
            .expect("upsert");
        cache(&s, "parent", 2);
        s.forget_user(UserId(5), Timestamp(1), None)
            .expect("forget");
        assert!(s
            .cached_summary("parent", Timestamp(2))
            .expect("read")
            .is_none());
    }
}
