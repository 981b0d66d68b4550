//! Operations on stored schedules — create, update, pause, resume, remove, list — shared by the
//! CLI, Discord and the webhook, so each validates and stores exactly the same way. Blocking
//! (redb): async callers use `spawn_blocking`. The caller wakes the scheduler afterwards.

use std::fmt;

use super::{Draft, Invalid, Rules, Spec};
use crate::model::{GuildId, Schedule, Timestamp};
use crate::store::{Store, StoreError};

/// Most schedules one guild may have.
pub const MAX_PER_GUILD: usize = 25;

/// Why an operation failed.
#[derive(Debug)]
pub enum OpError {
    /// A field is invalid.
    Invalid(Invalid),
    /// No schedule with this id (in the caller's guild).
    NotFound(u64),
    /// The guild already has [`MAX_PER_GUILD`] schedules.
    TooMany,
    /// The database failed.
    Store(StoreError),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(e) => write!(f, "{e}"),
            Self::NotFound(id) => write!(f, "there is no schedule {id}"),
            Self::TooMany => write!(
                f,
                "this server already has {MAX_PER_GUILD} schedules; remove one first"
            ),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OpError {}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<Invalid> for OpError {
    fn from(e: Invalid) -> Self {
        Self::Invalid(e)
    }
}

/// Validate `draft` and store it as a new enabled schedule; returns it with its id.
pub fn create(
    store: &Store,
    draft: Draft,
    rules: &Rules,
    now: Timestamp,
) -> Result<Schedule, OpError> {
    create_once(store, draft, rules, now, None).map(|(s, _)| s)
}

/// Like [`create`], under an idempotency key `(key, expires_at)` when given: a key seen before
/// creates nothing and returns the schedule made with it (and `true`).
pub fn create_once(
    store: &Store,
    mut draft: Draft,
    rules: &Rules,
    now: Timestamp,
    key: Option<(&str, Timestamp)>,
) -> Result<(Schedule, bool), OpError> {
    let (_, next) = draft.validate(rules, now)?;
    let existing = store
        .schedules()?
        .iter()
        .filter(|s| s.guild_id == draft.guild_id)
        .count();
    if existing >= MAX_PER_GUILD {
        return Err(OpError::TooMany);
    }
    let mut schedule = draft.into_schedule(next);
    let (id, duplicate) = match key {
        Some((key, expires_at)) => store.insert_schedule_once(key, expires_at, now, &schedule)?,
        None => (store.insert_schedule(&schedule)?, false),
    };
    if duplicate {
        // The earlier delivery's schedule, as it is now (or as asked, if deleted since).
        schedule = store.schedule(id)?.unwrap_or(Schedule { id, ..schedule });
        return Ok((schedule, true));
    }
    schedule.id = id;
    Ok((schedule, false))
}

/// Change some fields of schedule `id` (in `guild`, when given) through `change`, validated
/// like a new one; a new cron expression or zone moves the next run.
pub fn update(
    store: &Store,
    id: u64,
    guild: Option<GuildId>,
    rules: &Rules,
    now: Timestamp,
    change: impl FnOnce(&mut Draft),
) -> Result<Schedule, OpError> {
    let mut outcome = Ok(());
    let stored = store.modify_schedule(id, |s| {
        if guild.is_some_and(|g| g != s.guild_id) {
            outcome = Err(OpError::NotFound(id));
            return false;
        }
        let mut draft = Draft::of(s);
        let created_by = draft.created_by.clone();
        change(&mut draft);
        match draft.validate(rules, now) {
            Ok((_, next)) => {
                let timing_changed = draft.cron != s.cron || draft.timezone != s.timezone;
                let mut updated = Draft {
                    created_by,
                    ..draft
                }
                .into_schedule(next);
                updated.id = s.id;
                updated.enabled = s.enabled;
                updated.last_run = s.last_run;
                updated.last_outcome = s.last_outcome.take();
                updated.last_error = s.last_error.take();
                if !timing_changed {
                    updated.next_run = s.next_run.or(Some(next));
                }
                *s = updated;
                true
            }
            Err(e) => {
                outcome = Err(OpError::Invalid(e));
                false
            }
        }
    })?;
    outcome?;
    stored.ok_or(OpError::NotFound(id))
}

/// Pause or resume schedule `id` (in `guild`, when given). Resuming plans the next run after
/// `now`: runs missed while paused are not caught up.
pub fn set_enabled(
    store: &Store,
    id: u64,
    guild: Option<GuildId>,
    enabled: bool,
    now: Timestamp,
) -> Result<Schedule, OpError> {
    let mut found = true;
    let stored = store.modify_schedule(id, |s| {
        if guild.is_some_and(|g| g != s.guild_id) {
            found = false;
            return false;
        }
        if enabled && !s.enabled {
            s.next_run = Spec::parse(&s.cron, &s.timezone)
                .ok()
                .and_then(|spec| spec.next_after(now));
        }
        s.enabled = enabled;
        true
    })?;
    match stored {
        Some(s) if found => Ok(s),
        _ => Err(OpError::NotFound(id)),
    }
}

/// Delete schedule `id` (in `guild`, when given); returns what was deleted.
pub fn remove(store: &Store, id: u64, guild: Option<GuildId>) -> Result<Schedule, OpError> {
    let schedule = store
        .schedule(id)?
        .filter(|s| guild.is_none_or(|g| g == s.guild_id))
        .ok_or(OpError::NotFound(id))?;
    if store.delete_schedule(id)? {
        Ok(schedule)
    } else {
        Err(OpError::NotFound(id))
    }
}

/// Every schedule, or those of `guild`, by id.
pub fn list(store: &Store, guild: Option<GuildId>) -> Result<Vec<Schedule>, StoreError> {
    let mut all = store.schedules()?;
    all.retain(|s| guild.is_none_or(|g| g == s.guild_id));
    Ok(all)
}

/// The next run in the schedule's zone and in UTC, e.g. `2026-11-30 09:00 CET (08:00 UTC)`;
/// `paused` or `-` when it will not run.
pub fn next_run_text(s: &Schedule) -> String {
    if !s.enabled {
        return "paused".to_owned();
    }
    let (Some(next), Ok(spec)) = (s.next_run, Spec::parse(&s.cron, &s.timezone)) else {
        return "-".to_owned();
    };
    format!(
        "{} ({} UTC)",
        spec.local(next),
        next.to_datetime().format("%H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::tests::draft;
    use crate::schedule::Field;
    use crate::store::test_support::temp_store;

    const NOW: Timestamp = Timestamp(1_764_000_000_000);

    #[test]
    fn create_update_pause_resume_remove() {
        let (_d, store) = temp_store();
        let s = create(&store, draft(), &Rules::default(), NOW).expect("create");
        assert_eq!(s.id, 1);
        assert!(next_run_text(&s).contains("UTC)"), "{}", next_run_text(&s));
        let before = s.next_run;
        let u = update(&store, 1, Some(GuildId(1)), &Rules::default(), NOW, |d| {
            d.window_hours = Some(12);
        })
        .expect("update");
        assert_eq!((u.window_hours, u.next_run), (Some(12), before));
        let moved = update(&store, 1, None, &Rules::default(), NOW, |d| {
            d.cron = "@hourly".into();
        })
        .expect("update");
        assert_ne!(moved.next_run, before);
        let bad = update(&store, 1, None, &Rules::default(), NOW, |d| {
            d.timezone = "Nowhere".into();
        })
        .expect_err("bad zone");
        assert!(matches!(
            bad,
            OpError::Invalid(Invalid {
                field: Field::Timezone,
                ..
            })
        ));
        assert!(matches!(
            update(&store, 1, Some(GuildId(9)), &Rules::default(), NOW, |_| {}),
            Err(OpError::NotFound(1))
        ));
        let paused = set_enabled(&store, 1, None, false, NOW).expect("pause");
        assert_eq!(next_run_text(&paused), "paused");
        let later = Timestamp(NOW.0 + 10 * 86_400_000);
        let resumed = set_enabled(&store, 1, None, true, later).expect("resume");
        assert!(resumed.enabled && resumed.next_run > Some(later));
        assert!(matches!(
            set_enabled(&store, 1, Some(GuildId(9)), false, NOW),
            Err(OpError::NotFound(1))
        ));
        assert!(matches!(
            remove(&store, 1, Some(GuildId(9))),
            Err(OpError::NotFound(1))
        ));
        assert_eq!(list(&store, Some(GuildId(1))).expect("list").len(), 1);
        assert_eq!(remove(&store, 1, None).expect("remove").id, 1);
        assert!(matches!(remove(&store, 1, None), Err(OpError::NotFound(1))));
        assert!(matches!(
            set_enabled(&store, 7, None, true, NOW),
            Err(OpError::NotFound(7))
        ));
    }

    #[test]
    fn a_guild_has_a_limit() {
        let (_d, store) = temp_store();
        for _ in 0..MAX_PER_GUILD {
            create(&store, draft(), &Rules::default(), NOW).expect("create");
        }
        assert!(matches!(
            create(&store, draft(), &Rules::default(), NOW),
            Err(OpError::TooMany)
        ));
        let other = Draft {
            guild_id: GuildId(2),
            ..draft()
        };
        create(&store, other, &Rules::default(), NOW).expect("another guild");
    }
}
