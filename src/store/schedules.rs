//! Stored digest schedules, keyed by an id the store assigns.

use redb::ReadableTable;
use serde::Deserialize;

use super::idempotency::claim_in;
use super::schema::{next_id, SCHEDULES};
use super::{codec, OrStore, Store, StoreError};
use crate::model::{ChannelId, ChannelKind, Detail, GuildId, Schedule, Timestamp};

/// Record name used in decode errors.
const WHAT: &str = "schedule";
/// Meta counter of schedule ids (never reused, even after a delete).
const ID_COUNTER: &str = "next_schedule_id";

/// A schedule as written before it had a detail level. Postcard stores fields in order without
/// names, so such a record ends where `detail` would begin and the current layout cannot read
/// it: it is read with this one and gets the default detail (`standard`). Written back in the
/// current layout by the next change.
#[derive(Deserialize)]
struct ScheduleV1 {
    id: u64,
    guild_id: GuildId,
    source_channels: Vec<ChannelId>,
    target_channel: ChannelId,
    cron: String,
    timezone: String,
    window_hours: Option<u32>,
    kind: Option<ChannelKind>,
    language: Option<String>,
    enabled: bool,
    created_by: String,
    last_run: Option<Timestamp>,
    next_run: Option<Timestamp>,
    quiet_day: bool,
    last_outcome: Option<String>,
    last_error: Option<String>,
}

impl From<ScheduleV1> for Schedule {
    fn from(s: ScheduleV1) -> Self {
        Self {
            id: s.id,
            guild_id: s.guild_id,
            source_channels: s.source_channels,
            target_channel: s.target_channel,
            cron: s.cron,
            timezone: s.timezone,
            window_hours: s.window_hours,
            kind: s.kind,
            language: s.language,
            enabled: s.enabled,
            created_by: s.created_by,
            last_run: s.last_run,
            next_run: s.next_run,
            quiet_day: s.quiet_day,
            last_outcome: s.last_outcome,
            last_error: s.last_error,
            detail: Detail::default(),
        }
    }
}

/// A stored schedule in the current layout, else in the layout before `detail`. The two cannot
/// be confused: each is exactly the other's length plus or minus the `detail` field, and
/// decoding refuses both missing and trailing bytes.
pub(super) fn decode(bytes: &[u8]) -> Result<Schedule, StoreError> {
    codec::decode::<Schedule>(WHAT, bytes).or_else(|current| {
        codec::decode::<ScheduleV1>(WHAT, bytes)
            .map(Schedule::from)
            .map_err(|_| current)
    })
}

impl Store {
    /// Store a new schedule; its `id` field is ignored and the assigned id returned.
    pub fn insert_schedule(&self, s: &Schedule) -> Result<u64, StoreError> {
        self.write(|txn| {
            let id = next_id(txn, ID_COUNTER)?;
            let stored = Schedule { id, ..s.clone() };
            let bytes = codec::encode(WHAT, &stored)?;
            txn.open_table(SCHEDULES)
                .or_store()?
                .insert(id, bytes.as_slice())
                .or_store()?;
            Ok(id)
        })
    }

    /// Store a new schedule under idempotency `key` (remembered until `key_expires_at`), both
    /// in one transaction. Returns the id and whether the key was already claimed, in which
    /// case nothing new is stored and the id is the one created with that key.
    pub fn insert_schedule_once(
        &self,
        key: &str,
        key_expires_at: Timestamp,
        now: Timestamp,
        s: &Schedule,
    ) -> Result<(u64, bool), StoreError> {
        self.write(|txn| {
            let mut created = 0;
            let earlier = claim_in(txn, key, key_expires_at, now, || {
                created = next_id(txn, ID_COUNTER)?;
                let bytes = codec::encode(
                    WHAT,
                    &Schedule {
                        id: created,
                        ..s.clone()
                    },
                )?;
                txn.open_table(SCHEDULES)
                    .or_store()?
                    .insert(created, bytes.as_slice())
                    .or_store()?;
                Ok(format!("schedule:{created}"))
            })?;
            match earlier {
                None => Ok((created, false)),
                Some(value) => value
                    .strip_prefix("schedule:")
                    .and_then(|id| id.parse().ok())
                    .map(|id| (id, true))
                    .ok_or_else(|| StoreError::Decode {
                        what: "schedule idempotency key",
                        detail: format!("key {key:?} was used for something else: {value:?}"),
                    }),
            }
        })
    }

    /// Replace the schedule with `s.id`. Returns false (and stores nothing) when it does not exist.
    pub fn update_schedule(&self, s: &Schedule) -> Result<bool, StoreError> {
        let bytes = codec::encode(WHAT, s)?;
        self.write(|txn| {
            let mut table = txn.open_table(SCHEDULES).or_store()?;
            if table.get(s.id).or_store()?.is_none() {
                return Ok(false);
            }
            table.insert(s.id, bytes.as_slice()).or_store()?;
            Ok(true)
        })
    }

    /// Change the schedule with `id` in one write transaction: `change` sees the stored value
    /// and returns true to store it back. Returns the schedule as stored afterwards, or None
    /// when there is no such schedule.
    pub fn modify_schedule(
        &self,
        id: u64,
        change: impl FnOnce(&mut Schedule) -> bool,
    ) -> Result<Option<Schedule>, StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(SCHEDULES).or_store()?;
            let stored = table.get(id).or_store()?;
            let Some(mut schedule) = stored.map(|v| decode(v.value())).transpose()? else {
                return Ok(None);
            };
            if change(&mut schedule) {
                schedule.id = id;
                let bytes = codec::encode(WHAT, &schedule)?;
                table.insert(id, bytes.as_slice()).or_store()?;
            }
            Ok(Some(schedule))
        })
    }

    /// One schedule by id.
    pub fn schedule(&self, id: u64) -> Result<Option<Schedule>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(SCHEDULES).or_store()?;
            let value = table.get(id).or_store()?;
            value.map(|v| decode(v.value())).transpose()
        })
    }

    /// Every schedule, by id.
    pub fn schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(SCHEDULES).or_store()?;
            table
                .iter()
                .or_store()?
                .map(|e| decode(e.or_store()?.1.value()))
                .collect()
        })
    }

    /// Delete a schedule. Returns false when it did not exist.
    pub fn delete_schedule(&self, id: u64) -> Result<bool, StoreError> {
        self.write(|txn| {
            let removed = txn
                .open_table(SCHEDULES)
                .or_store()?
                .remove(id)
                .or_store()?
                .is_some();
            Ok(removed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SCHEDULES;
    use crate::model::{ChannelId, ChannelKind, Detail, GuildId, Schedule, Timestamp};
    use crate::store::test_support::temp_store;
    use crate::store::OrStore;

    fn schedule() -> Schedule {
        Schedule {
            id: 0,
            guild_id: GuildId(1),
            source_channels: vec![ChannelId(2), ChannelId(3)],
            target_channel: ChannelId(4),
            cron: "0 9 * * *".into(),
            timezone: "Europe/Paris".into(),
            window_hours: Some(24),
            kind: Some(ChannelKind::Dev),
            language: None,
            enabled: true,
            created_by: "cli".into(),
            last_run: None,
            next_run: Some(Timestamp(5)),
            quiet_day: true,
            last_outcome: None,
            last_error: Some("x".into()),
            detail: crate::model::Detail::Brief,
        }
    }

    /// The fields of [`Schedule`] before `detail`, as the previous release serialized them.
    #[derive(serde::Serialize)]
    struct OldSchedule<'a> {
        id: u64,
        guild_id: GuildId,
        source_channels: &'a [ChannelId],
        target_channel: ChannelId,
        cron: &'a str,
        timezone: &'a str,
        window_hours: Option<u32>,
        kind: Option<ChannelKind>,
        language: Option<&'a str>,
        enabled: bool,
        created_by: &'a str,
        last_run: Option<Timestamp>,
        next_run: Option<Timestamp>,
        quiet_day: bool,
        last_outcome: Option<&'a str>,
        last_error: Option<&'a str>,
    }

    #[test]
    fn a_schedule_stored_before_detail_existed_still_loads_as_standard() {
        let (_d, s) = temp_store();
        let old = schedule();
        let bytes = crate::store::codec::encode(
            "schedule",
            &OldSchedule {
                id: 7,
                guild_id: old.guild_id,
                source_channels: &old.source_channels,
                target_channel: old.target_channel,
                cron: &old.cron,
                timezone: &old.timezone,
                window_hours: old.window_hours,
                kind: old.kind,
                language: Some("German"),
                enabled: true,
                created_by: "cli",
                last_run: Some(Timestamp(3)),
                next_run: old.next_run,
                quiet_day: true,
                last_outcome: Some("posted 1 summary (4 messages)"),
                last_error: None,
            },
        )
        .expect("encode");
        assert!(
            crate::store::codec::decode::<Schedule>("schedule", &bytes).is_err(),
            "the current layout alone cannot read the old record"
        );
        s.write(|txn| {
            txn.open_table(SCHEDULES)
                .or_store()?
                .insert(7_u64, bytes.as_slice())
                .or_store()?;
            Ok(())
        })
        .expect("write the old record");
        let loaded = s.schedule(7).expect("decodes").expect("present");
        assert_eq!(loaded.detail, Detail::Standard);
        assert_eq!(loaded.language.as_deref(), Some("German"));
        assert_eq!(loaded.last_run, Some(Timestamp(3)));
        assert_eq!(
            loaded.last_outcome.as_deref(),
            Some("posted 1 summary (4 messages)")
        );
        assert_eq!(s.schedules().expect("list").len(), 1);
        // A change writes it back in the current layout, detail included.
        let changed = s
            .modify_schedule(7, |x| {
                x.detail = Detail::Full;
                true
            })
            .expect("modify")
            .expect("present");
        assert_eq!(changed.detail, Detail::Full);
        assert_eq!(
            s.schedule(7).expect("get").expect("present").detail,
            Detail::Full
        );
        // A current record keeps its detail.
        let id = s.insert_schedule(&schedule()).expect("insert");
        assert_eq!(
            s.schedule(id).expect("get").expect("present").detail,
            Detail::Brief
        );
    }

    #[test]
    fn crud_and_ids_not_reused() {
        let (_d, s) = temp_store();
        let a = s.insert_schedule(&schedule()).expect("insert");
        let b = s.insert_schedule(&schedule()).expect("insert");
        assert_eq!((a, b), (1, 2));
        let mut got = s.schedule(a).expect("get").expect("present");
        assert_eq!(
            got,
            Schedule {
                id: a,
                ..schedule()
            }
        );
        got.enabled = false;
        assert!(s.update_schedule(&got).expect("update"));
        assert!(!s
            .update_schedule(&Schedule {
                id: 99,
                ..schedule()
            })
            .expect("update"));
        assert_eq!(
            s.schedules()
                .expect("list")
                .iter()
                .map(|x| (x.id, x.enabled))
                .collect::<Vec<_>>(),
            vec![(1, false), (2, true)]
        );
        assert!(s.delete_schedule(b).expect("delete"));
        assert!(!s.delete_schedule(b).expect("delete again"));
        assert_eq!(s.insert_schedule(&schedule()).expect("insert"), 3);
        assert!(s.schedule(99).expect("get").is_none());
    }

    #[test]
    fn insert_once_deduplicates_by_key() {
        let (_d, s) = temp_store();
        let (t0, exp) = (Timestamp(0), Timestamp(1_000));
        assert_eq!(
            s.insert_schedule_once("k", exp, t0, &schedule())
                .expect("insert"),
            (1, false)
        );
        assert_eq!(
            s.insert_schedule_once("k", exp, t0, &schedule())
                .expect("again"),
            (1, true)
        );
        assert_eq!(s.schedules().expect("list").len(), 1);
        assert_eq!(
            s.insert_schedule_once("k2", exp, t0, &schedule())
                .expect("other"),
            (2, false)
        );
        s.claim_idempotency_key("job-key", "job:5", exp, t0)
            .expect("claim");
        assert!(s
            .insert_schedule_once("job-key", exp, t0, &schedule())
            .is_err());
    }

    #[test]
    fn modify_writes_only_when_asked() {
        let (_d, s) = temp_store();
        let id = s.insert_schedule(&schedule()).expect("insert");
        let changed = s
            .modify_schedule(id, |x| {
                x.last_run = Some(Timestamp(7));
                x.id = 999; // the id cannot be changed
                true
            })
            .expect("modify")
            .expect("present");
        assert_eq!((changed.id, changed.last_run), (id, Some(Timestamp(7))));
        let unchanged = s
            .modify_schedule(id, |x| {
                x.enabled = false;
                false
            })
            .expect("modify")
            .expect("present");
        assert!(!unchanged.enabled);
        let stored = s.schedule(id).expect("get").expect("present");
        assert!(stored.enabled && stored.last_run == Some(Timestamp(7)));
        assert!(s.modify_schedule(42, |_| true).expect("modify").is_none());
    }
}
