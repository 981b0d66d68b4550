//! Table definitions, the schema-version record and the migration step run on open.

use std::path::Path;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::{OrStore, StoreError};

/// The schema version this build writes. Bump it and add a migration step when tables change.
pub const SCHEMA_VERSION: u64 = 1;

/// Bookkeeping: schema version and id counters.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `(channel, timestamp ms, message id)` → encoded `ChatMessage`.
pub(super) const MESSAGES: TableDefinition<(u64, i64, u64), &[u8]> =
    TableDefinition::new("messages");
/// `(channel, message id)` → timestamp ms: finds a message's key for edits and deletes.
pub(super) const MESSAGE_IDS: TableDefinition<(u64, u64), i64> =
    TableDefinition::new("message_ids");
/// Channel id → encoded `ChannelInfo`.
pub(super) const CHANNELS: TableDefinition<u64, &[u8]> = TableDefinition::new("channels");
/// Cache key → `(sequence, channel, expires at ms, encoded summary)`.
pub(super) const SUMMARIES: TableDefinition<&str, (u64, u64, i64, &[u8])> =
    TableDefinition::new("summaries");
/// Insertion sequence → cache key (oldest-first eviction).
pub(super) const SUMMARY_ORDER: TableDefinition<u64, &str> = TableDefinition::new("summary_order");
/// `(channel, sequence)` → () : a channel's cached summaries.
pub(super) const SUMMARY_CHANNELS: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("summary_channels");
/// `(expires at ms, sequence)` → () : cached summaries by expiry.
pub(super) const SUMMARY_EXPIRY: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("summary_expiry");
/// Idempotency key → `(expires at ms, stored value)`.
pub(super) const IDEMPOTENCY: TableDefinition<&str, (i64, &str)> =
    TableDefinition::new("idempotency");
/// `(expires at ms, key)` → () : idempotency keys by expiry.
pub(super) const IDEMPOTENCY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("idempotency_expiry");
/// Schedule id → encoded `Schedule`.
pub(super) const SCHEDULES: TableDefinition<u64, &[u8]> = TableDefinition::new("schedules");
/// Job id → encoded `Job`.
pub(super) const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("jobs");
/// `(state, time ms, job id)` → () : the queue index (time = next attempt, or last update when finished).
pub(super) const JOB_QUEUE: TableDefinition<(u8, i64, u64), ()> = TableDefinition::new("job_queue");
/// `(day number, guild, provider, model)` → `(prompt tokens, completion tokens)`.
pub(super) const USAGE: TableDefinition<UsageKey, (u64, u64)> = TableDefinition::new("usage");

/// Guild id → encoded `GuildSettings` (per-server settings).
pub(super) const GUILD_SETTINGS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("guild_settings");

/// Channel id → `(since ms, through ms)`: every message of the channel sent in that span is
/// stored (the summary service's persisted coverage).
pub(super) const COVERAGE: TableDefinition<u64, (i64, i64)> = TableDefinition::new("coverage");

/// User id → when they opted out (ms): members who asked to be forgotten; their messages are
/// neither stored nor summarized (`/summarybot forget-me`, `summarybot forget`).
pub(super) const OPTED_OUT_USERS: TableDefinition<u64, i64> =
    TableDefinition::new("opted_out_users");

/// Subscription id → a member's personal digest (`/digest subscribe`).
pub(super) const SUBSCRIPTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("subscriptions");

/// Key of [`USAGE`]: day number, guild (None outside guilds), provider, model.
pub(super) type UsageKey = (i32, Option<u64>, &'static str, &'static str);

/// Meta key of the schema version.
const VERSION_KEY: &str = "schema_version";

/// The schema version recorded in the file, if any.
pub(super) fn version(txn: &ReadTransaction) -> Result<Option<u64>, StoreError> {
    match txn.open_table(META) {
        Ok(table) => Ok(table.get(VERSION_KEY).or_store()?.map(|v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e).or_store(),
    }
}

/// Bring the file to [`SCHEMA_VERSION`]: refuse a newer one, a foreign redb file, or run each
/// step from the recorded version up.
pub(super) fn migrate(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let found = recorded_version(txn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 0 && txn.list_tables().or_store()?.next().is_some() {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
            detail: "it is a redb file without a summarybot schema version".to_string(),
        });
    }
    for from in found..SCHEMA_VERSION {
        step(txn, from)?;
    }
    create_additive_tables(txn)?;
    txn.open_table(META)
        .or_store()?
        .insert(VERSION_KEY, SCHEMA_VERSION)
        .or_store()?;
    Ok(())
}

/// The version recorded in the file being migrated (0 for a new file).
fn recorded_version(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let exists = txn
        .list_tables()
        .or_store()?
        .any(|t| redb::TableHandle::name(&t) == redb::TableHandle::name(&META));
    if !exists {
        return Ok(0);
    }
    let table = txn.open_table(META).or_store()?;
    let version = table.get(VERSION_KEY).or_store()?.map_or(0, |v| v.value());
    Ok(version)
}

/// One migration step, from version `from` to `from + 1`.
fn step(txn: &WriteTransaction, from: u64) -> Result<(), StoreError> {
    match from {
        0 => create_v1_tables(txn),
        _ => Err(StoreError::Database {
            detail: format!("no migration is defined from schema version {from}"),
        }),
    }
}

/// Version 1: create every table so read transactions can always open them.
fn create_v1_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META).or_store()?;
    txn.open_table(MESSAGES).or_store()?;
    txn.open_table(MESSAGE_IDS).or_store()?;
    txn.open_table(CHANNELS).or_store()?;
    txn.open_table(SUMMARIES).or_store()?;
    txn.open_table(SUMMARY_ORDER).or_store()?;
    txn.open_table(SUMMARY_CHANNELS).or_store()?;
    txn.open_table(SUMMARY_EXPIRY).or_store()?;
    txn.open_table(IDEMPOTENCY).or_store()?;
    txn.open_table(IDEMPOTENCY_EXPIRY).or_store()?;
    txn.open_table(SCHEDULES).or_store()?;
    txn.open_table(JOBS).or_store()?;
    txn.open_table(JOB_QUEUE).or_store()?;
    txn.open_table(USAGE).or_store()?;
    Ok(())
}

/// Tables added after version 1 that old files may lack: created on every open when missing
/// (creating an empty table changes nothing else, so no version bump is needed).
fn create_additive_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(GUILD_SETTINGS).or_store()?;
    txn.open_table(COVERAGE).or_store()?;
    txn.open_table(OPTED_OUT_USERS).or_store()?;
    txn.open_table(super::feedback::FEEDBACK).or_store()?;
    txn.open_table(SUBSCRIPTIONS).or_store()?;
    Ok(())
}

/// Take the next value of the counter `name` (starting at 1) inside a write transaction.
pub(super) fn next_id(txn: &WriteTransaction, name: &str) -> Result<u64, StoreError> {
    next_id_in(&mut txn.open_table(META).or_store()?, name)
}

/// [`next_id`] in an open META table (a group commit opens it once for all its ids).
pub(super) fn next_id_in(
    meta: &mut redb::Table<'_, &'static str, u64>,
    name: &str,
) -> Result<u64, StoreError> {
    let next = meta.get(name).or_store()?.map_or(1, |v| v.value());
    meta.insert(name, next + 1).or_store()?;
    Ok(next)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::{test_support::temp_store, Store};

    /// Overwrite the recorded schema version (test-only).
    pub fn set_version(store: &Store, version: u64) {
        store
            .write(|txn| {
                txn.open_table(META)
                    .or_store()?
                    .insert(VERSION_KEY, version)
                    .or_store()?;
                Ok(())
            })
            .expect("set version");
    }

    #[test]
    fn new_file_gets_current_version_and_reopens() {
        let (dir, store) = temp_store();
        let path = store.path().to_path_buf();
        assert_eq!(store.stats().expect("stats").schema_version, SCHEMA_VERSION);
        drop(store);
        let again = Store::open(&path).expect("reopen");
        assert_eq!(again.stats().expect("stats").schema_version, SCHEMA_VERSION);
        drop(dir);
    }

    #[test]
    fn newer_schema_is_refused() {
        let (_dir, store) = temp_store();
        let path = store.path().to_path_buf();
        set_version(&store, SCHEMA_VERSION + 1);
        drop(store);
        let err = Store::open(&path).expect_err("newer schema refused");
        assert!(
            matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade summarybot"), "{err}");
    }

    #[test]
    fn foreign_redb_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("other.redb");
        {
            let db = redb::Database::create(&path).expect("create");
            let txn = db.begin_write().expect("begin");
            let def: TableDefinition<u64, u64> = TableDefinition::new("something_else");
            txn.open_table(def)
                .expect("table")
                .insert(1, 2)
                .expect("insert");
            txn.commit().expect("commit");
        }
        let err = Store::open(&path).expect_err("foreign file refused");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    }

    #[test]
    fn counters_increase() {
        let (_dir, store) = temp_store();
        let a = store.write(|txn| next_id(txn, "c")).expect("id");
        let b = store.write(|txn| next_id(txn, "c")).expect("id");
        assert_eq!((a, b), (1, 2));
    }
}
