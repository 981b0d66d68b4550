//! Stored personal digests (`/digest subscribe`), keyed by an id the store assigns; at most one
//! per member, server and cadence (daily, or weekly on any day: subscribing again replaces it,
//! keeping its id).

use redb::{ReadableTable, WriteTransaction};

use super::schema::{next_id, SUBSCRIPTIONS};
use super::{codec, OrStore, Store, StoreError};
use crate::model::{Cadence, GuildId, Subscription, UserId};

/// Record name used in decode errors.
const WHAT: &str = "personal digest";
/// Meta counter of subscription ids (never reused).
const ID_COUNTER: &str = "next_subscription_id";

impl Store {
    /// Store `sub` as its member's subscription of its cadence in its server: a new one gets
    /// an id, an existing one is replaced (same id). Returns the stored subscription and
    /// whether one was replaced.
    pub fn put_subscription(&self, sub: &Subscription) -> Result<(Subscription, bool), StoreError> {
        self.write(|txn| {
            let existing = all_in(txn)?.into_iter().find(|s| {
                s.guild_id == sub.guild_id
                    && s.user_id == sub.user_id
                    && same_kind(s.cadence, sub.cadence)
            });
            let id = match &existing {
                Some(s) => s.id,
                None => next_id(txn, ID_COUNTER)?,
            };
            let stored = Subscription { id, ..sub.clone() };
            let bytes = codec::encode(WHAT, &stored)?;
            txn.open_table(SUBSCRIPTIONS)
                .or_store()?
                .insert(id, bytes.as_slice())
                .or_store()?;
            Ok((stored, existing.is_some()))
        })
    }

    /// One subscription by id.
    pub fn subscription(&self, id: u64) -> Result<Option<Subscription>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(SUBSCRIPTIONS).or_store()?;
            let value = table.get(id).or_store()?;
            value.map(|v| codec::decode(WHAT, v.value())).transpose()
        })
    }

    /// Every subscription, by id.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(SUBSCRIPTIONS).or_store()?;
            table
                .iter()
                .or_store()?
                .map(|e| codec::decode(WHAT, e.or_store()?.1.value()))
                .collect()
        })
    }

    /// A member's subscriptions (in one server, or in all).
    pub fn subscriptions_of(
        &self,
        user: UserId,
        guild: Option<GuildId>,
    ) -> Result<Vec<Subscription>, StoreError> {
        Ok(self
            .subscriptions()?
            .into_iter()
            .filter(|s| s.user_id == user && guild.is_none_or(|g| s.guild_id == g))
            .collect())
    }

    /// Change the subscription `id` in one write transaction: `change` sees the stored value
    /// and returns true to store it back. Returns it as stored afterwards (None: no such one).
    pub fn modify_subscription(
        &self,
        id: u64,
        change: impl FnOnce(&mut Subscription) -> bool,
    ) -> Result<Option<Subscription>, StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(SUBSCRIPTIONS).or_store()?;
            let stored = table.get(id).or_store()?;
            let Some(mut sub) = stored
                .map(|v| codec::decode::<Subscription>(WHAT, v.value()))
                .transpose()?
            else {
                return Ok(None);
            };
            if change(&mut sub) {
                sub.id = id;
                let bytes = codec::encode(WHAT, &sub)?;
                table.insert(id, bytes.as_slice()).or_store()?;
            }
            Ok(Some(sub))
        })
    }

    /// Delete a member's subscriptions in `guild` (of `cadence`'s kind only, daily or weekly,
    /// when given). Returns what was deleted.
    pub fn delete_subscriptions(
        &self,
        guild: GuildId,
        user: UserId,
        cadence: Option<Cadence>,
    ) -> Result<Vec<Subscription>, StoreError> {
        self.write(|txn| {
            remove_where(txn, |s| {
                s.guild_id == guild
                    && s.user_id == user
                    && cadence.is_none_or(|c| same_kind(c, s.cadence))
            })
        })
    }
}

/// True when `a` and `b` are both daily or both weekly (whatever the day).
fn same_kind(a: Cadence, b: Cadence) -> bool {
    matches!(
        (a, b),
        (Cadence::Daily, Cadence::Daily) | (Cadence::Weekly(_), Cadence::Weekly(_))
    )
}

/// Every subscription, read inside a write transaction.
fn all_in(txn: &WriteTransaction) -> Result<Vec<Subscription>, StoreError> {
    let table = txn.open_table(SUBSCRIPTIONS).or_store()?;
    let all = table
        .iter()
        .or_store()?
        .map(|e| codec::decode(WHAT, e.or_store()?.1.value()))
        .collect();
    all
}

/// Delete, inside `txn`, every subscription `doomed` picks; returns them.
pub(super) fn remove_where(
    txn: &WriteTransaction,
    doomed: impl Fn(&Subscription) -> bool,
) -> Result<Vec<Subscription>, StoreError> {
    let gone: Vec<Subscription> = all_in(txn)?.into_iter().filter(|s| doomed(s)).collect();
    let mut table = txn.open_table(SUBSCRIPTIONS).or_store()?;
    for s in &gone {
        table.remove(s.id).or_store()?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use crate::model::{Cadence, ChannelId, Detail, GuildId, Subscription, Timestamp, UserId};
    use crate::store::test_support::temp_store;

    fn sub(user: u64, cadence: Cadence) -> Subscription {
        Subscription {
            id: 0,
            guild_id: GuildId(1),
            user_id: UserId(user),
            cadence,
            hour: 9,
            timezone: "UTC".into(),
            channels: vec![ChannelId(5)],
            detail: Detail::Brief,
            created_at: Timestamp(1),
            last_run: None,
            next_run: Some(Timestamp(2)),
            paused_at: None,
            pause_told: false,
            last_outcome: None,
        }
    }

    #[test]
    fn one_subscription_per_member_server_and_cadence() {
        let (_d, store) = temp_store();
        let (daily, replaced) = store
            .put_subscription(&sub(7, Cadence::Daily))
            .expect("put");
        assert!(!replaced);
        let (weekly, _) = store
            .put_subscription(&sub(7, Cadence::Weekly(1)))
            .expect("put");
        let (other, _) = store
            .put_subscription(&sub(8, Cadence::Daily))
            .expect("put");
        assert_ne!(daily.id, weekly.id);
        assert_ne!(daily.id, other.id);
        let mut again = sub(7, Cadence::Daily);
        again.hour = 18;
        let (again, replaced) = store.put_subscription(&again).expect("replace");
        assert!(replaced);
        assert_eq!(again.id, daily.id, "same id");
        // Another weekday changes the weekly digest; it does not add a second one.
        let (friday, replaced) = store
            .put_subscription(&sub(7, Cadence::Weekly(5)))
            .expect("replace");
        assert!(replaced);
        assert_eq!(friday.id, weekly.id);
        assert_eq!(store.subscriptions().expect("all").len(), 3);
        let mine = store.subscriptions_of(UserId(7), None).expect("mine");
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].hour, 18);
        assert!(store
            .subscriptions_of(UserId(7), Some(GuildId(2)))
            .expect("other server")
            .is_empty());
    }

    #[test]
    fn changes_and_deletes_are_per_member() {
        let (_d, store) = temp_store();
        let (daily, _) = store
            .put_subscription(&sub(7, Cadence::Daily))
            .expect("put");
        store
            .put_subscription(&sub(7, Cadence::Weekly(3)))
            .expect("put");
        store
            .put_subscription(&sub(8, Cadence::Daily))
            .expect("put");
        let paused = store
            .modify_subscription(daily.id, |s| {
                s.paused_at = Some(Timestamp(9));
                true
            })
            .expect("modify")
            .expect("present");
        assert_eq!(paused.paused_at, Some(Timestamp(9)));
        assert_eq!(
            store
                .subscription(daily.id)
                .expect("get")
                .expect("present")
                .paused_at,
            Some(Timestamp(9))
        );
        assert!(store
            .modify_subscription(99, |_| true)
            .expect("none")
            .is_none());
        let gone = store
            .delete_subscriptions(GuildId(1), UserId(7), Some(Cadence::Weekly(0)))
            .expect("delete weekly");
        assert_eq!(gone.len(), 1, "any weekday");
        let gone = store
            .delete_subscriptions(GuildId(1), UserId(7), None)
            .expect("delete all");
        assert_eq!(gone.len(), 1);
        assert_eq!(
            store.subscriptions().expect("left").len(),
            1,
            "member 8 keeps theirs"
        );
    }
}
