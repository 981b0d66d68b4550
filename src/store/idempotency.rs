//! Idempotency keys (webhook deliveries, commands): claimed once, remembered until they expire.

use redb::{ReadableTable, Table, WriteTransaction};

use super::schema::{IDEMPOTENCY, IDEMPOTENCY_EXPIRY};
use super::{OrStore, Store, StoreError};
use crate::model::Timestamp;

impl Store {
    /// Claim `key` with `value` until `expires_at`. Returns None when newly claimed (or the
    /// previous claim had expired at `now`), or `Some(stored value)` for a duplicate.
    pub fn claim_idempotency_key(
        &self,
        key: &str,
        value: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.write(|txn| claim_in(txn, key, expires_at, now, || Ok(value.to_string())))
    }

    /// The value `key` holds while its claim is live at `now`, from the last committed (so
    /// durable) state; a read, without a disk sync.
    pub fn live_idempotency_value(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.read(|txn| {
            let keys = txn.open_table(IDEMPOTENCY).or_store()?;
            let found = keys.get(key).or_store()?;
            Ok(found.and_then(|v| {
                let (expires, stored) = v.value();
                (expires > now.0).then(|| stored.to_string())
            }))
        })
    }

    /// Forget every key expired at `now`. Returns how many were removed.
    pub fn purge_expired_idempotency_keys(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.write(|txn| {
            let mut keys = txn.open_table(IDEMPOTENCY).or_store()?;
            let mut expiry = txn.open_table(IDEMPOTENCY_EXPIRY).or_store()?;
            let mut removed = 0;
            // Every key at or before `now` sorts below `(now + 1, "")`.
            let end = (now.0.saturating_add(1), "");
            for entry in expiry.extract_from_if(..end, |_, ()| true).or_store()? {
                let (k, ()) = entry
                    .or_store()
                    .map(|(k, v)| (k.value().1.to_string(), v.value()))?;
                keys.remove(k.as_str()).or_store()?;
                removed += 1;
            }
            Ok(removed)
        })
    }
}

/// Claim `key` inside `txn`: `Some(stored value)` while an earlier claim is live at `now`;
/// otherwise store `value()` (called only then) until `expires_at` and return None.
pub(super) fn claim_in(
    txn: &WriteTransaction,
    key: &str,
    expires_at: Timestamp,
    now: Timestamp,
    value: impl FnOnce() -> Result<String, StoreError>,
) -> Result<Option<String>, StoreError> {
    KeyTables::open(txn)?.claim(key, expires_at, now, value)
}

/// The idempotency tables, open in a write transaction (a group commit opens them once for all
/// its keys).
pub(super) struct KeyTables<'t> {
    keys: Table<'t, &'static str, (i64, &'static str)>,
    expiry: Table<'t, (i64, &'static str), ()>,
}

impl<'t> KeyTables<'t> {
    /// Open both tables in `txn`.
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(KeyTables {
            keys: txn.open_table(IDEMPOTENCY).or_store()?,
            expiry: txn.open_table(IDEMPOTENCY_EXPIRY).or_store()?,
        })
    }

    /// [`claim_in`] in these tables.
    pub(super) fn claim(
        &mut self,
        key: &str,
        expires_at: Timestamp,
        now: Timestamp,
        value: impl FnOnce() -> Result<String, StoreError>,
    ) -> Result<Option<String>, StoreError> {
        let KeyTables { keys, expiry } = self;
        claim_with(keys, expiry, key, expires_at, now, value)
    }
}

/// The claim itself, in the open tables.
fn claim_with(
    keys: &mut Table<'_, &'static str, (i64, &'static str)>,
    expiry: &mut Table<'_, (i64, &'static str), ()>,
    key: &str,
    expires_at: Timestamp,
    now: Timestamp,
    value: impl FnOnce() -> Result<String, StoreError>,
) -> Result<Option<String>, StoreError> {
    let existing = keys.get(key).or_store()?.map(|v| {
        let (exp, stored) = v.value();
        (exp, stored.to_string())
    });
    if let Some((old_expiry, stored)) = existing {
        if old_expiry > now.0 {
            return Ok(Some(stored));
        }
        expiry.remove((old_expiry, key)).or_store()?;
    }
    let value = value()?;
    keys.insert(key, (expires_at.0, value.as_str()))
        .or_store()?;
    expiry.insert((expires_at.0, key), ()).or_store()?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use crate::model::Timestamp;
    use crate::store::test_support::temp_store;

    #[test]
    fn duplicate_then_expiry() {
        let (_d, s) = temp_store();
        let t = Timestamp;
        assert_eq!(
            s.claim_idempotency_key("k", "job:1", t(100), t(0))
                .expect("claim"),
            None
        );
        assert_eq!(
            s.claim_idempotency_key("k", "job:2", t(100), t(50))
                .expect("claim"),
            Some("job:1".to_string())
        );
        // Expired at 100: claimable again, with the new value.
        assert_eq!(
            s.claim_idempotency_key("k", "job:3", t(300), t(100))
                .expect("claim"),
            None
        );
        assert_eq!(
            s.claim_idempotency_key("k", "x", t(300), t(101))
                .expect("claim"),
            Some("job:3".to_string())
        );
        assert_eq!(
            s.live_idempotency_value("k", t(299)).expect("read"),
            Some("job:3".to_string())
        );
        assert_eq!(s.live_idempotency_value("k", t(300)).expect("read"), None);
        assert_eq!(
            s.live_idempotency_value("nobody", t(0)).expect("read"),
            None
        );
        s.claim_idempotency_key("other", "v", t(200), t(0))
            .expect("claim");
        assert_eq!(s.purge_expired_idempotency_keys(t(250)).expect("purge"), 1);
        assert_eq!(s.purge_expired_idempotency_keys(t(250)).expect("purge"), 0);
        assert_eq!(s.purge_expired_idempotency_keys(t(300)).expect("purge"), 1);
        assert_eq!(
            s.claim_idempotency_key("k", "y", t(400), t(300))
                .expect("claim"),
            None
        );
    }
}
