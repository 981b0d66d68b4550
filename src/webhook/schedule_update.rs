//! `schedule_update` requests: parse the JSON fields (400 naming the field), then create,
//! update, pause, resume or delete through [`crate::schedule::ops`], the same validation path
//! as the CLI and Discord. The change is committed before the response and wakes the scheduler.

use serde_json::{json, Map, Value};

use crate::model::{ChannelId, ChannelKind, Detail, GuildId, Schedule, Timestamp};
use crate::schedule::ops::{self, OpError};
use crate::schedule::{parse_detail, parse_kind, Draft, Field, Rules};
use crate::store::Store;
use crate::web::ApiError;

/// Fields a `schedule_update` may carry.
const FIELDS: [&str; 15] = [
    "type",
    "request_id",
    "action",
    "id",
    "guild_id",
    "channel_ids",
    "channel_id",
    "post_to_channel_id",
    "cron",
    "timezone",
    "hours",
    "language",
    "kind",
    "detail",
    "quiet_day",
];

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make a new schedule.
    Create,
    /// Change fields of an existing one.
    Update,
    /// Stop it firing.
    Pause,
    /// Let it fire again.
    Resume,
    /// Remove it.
    Delete,
}

/// A parsed (not yet validated) `schedule_update`. `None` means "not given"; for `hours`,
/// `language` and `kind`, `Some(None)` (JSON null) clears the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleUpdate {
    /// What to do.
    pub action: Action,
    /// The schedule (all actions but `create`).
    pub id: Option<u64>,
    /// Guild (required to create; scopes the other actions when given).
    pub guild_id: Option<u64>,
    /// Source channels.
    pub channels: Option<Vec<u64>>,
    /// Target channel.
    pub post_to: Option<u64>,
    /// Cron expression.
    pub cron: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Fixed window.
    pub hours: Option<Option<u32>>,
    /// Language.
    pub language: Option<Option<String>>,
    /// Prompt variant.
    pub kind: Option<Option<ChannelKind>>,
    /// Detail level.
    pub detail: Option<Detail>,
    /// Quiet-day note.
    pub quiet_day: Option<bool>,
}

/// Parse the fields of a `schedule_update` body.
pub fn parse(object: &Map<String, Value>) -> Result<ScheduleUpdate, ApiError> {
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field `{unknown}`; a schedule_update takes {}",
            FIELDS.join(", ")
        )));
    }
    let action = match object.get("action").and_then(Value::as_str) {
        Some("create") => Action::Create,
        Some("update") => Action::Update,
        Some("pause") => Action::Pause,
        Some("resume") => Action::Resume,
        Some("delete") => Action::Delete,
        _ => {
            return Err(ApiError::bad_request(
                "field `action` must be one of create, update, pause, resume, delete",
            ))
        }
    };
    let id = match object.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|id| *id > 0).ok_or_else(|| {
            ApiError::bad_request("field `id` must be a schedule id (a positive whole number)")
        })?),
    };
    if action != Action::Create && id.is_none() {
        return Err(ApiError::bad_request(
            "missing field `id`: which schedule to change",
        ));
    }
    let channels = match (object.get("channel_ids"), snowflake(object, "channel_id")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either `channel_ids` or `channel_id`, not both",
            ))
        }
        (Some(list), None) => Some(id_list(list)?),
        (None, single) => single.map(|c| vec![c]),
    };
    Ok(ScheduleUpdate {
        action,
        id,
        guild_id: snowflake(object, "guild_id")?,
        channels,
        post_to: snowflake(object, "post_to_channel_id")?,
        cron: string(object, "cron")?,
        timezone: string(object, "timezone")?,
        hours: nullable(object, "hours", |v| {
            v.as_u64()
                .and_then(|h| u32::try_from(h).ok())
                .ok_or_else(|| {
                    ApiError::bad_request("field `hours` must be a whole number of hours, or null")
                })
        })?,
        language: nullable(object, "language", |v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::bad_request("field `language` must be a string or null"))
        })?,
        kind: nullable(object, "kind", |v| {
            let text = v.as_str().ok_or_else(|| {
                ApiError::bad_request("field `kind` must be \"dev\" or \"general\"")
            })?;
            parse_kind(text).map_err(|e| ApiError::bad_request(format!("field `kind`: {e}")))
        })?,
        detail: match object.get("detail") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                parse_detail(s)
                    .map_err(|e| ApiError::unprocessable(format!("field `detail`: {e}")))?,
            ),
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "field `detail` must be \"brief\", \"standard\" or \"full\"",
                ))
            }
        },
        quiet_day: match object.get("quiet_day") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "field `quiet_day` must be true or false",
                ))
            }
        },
    })
}

impl ScheduleUpdate {
    /// Apply the given fields to `draft`.
    fn apply(&self, draft: &mut Draft) {
        if let Some(c) = &self.channels {
            draft.source_channels = c.iter().copied().map(ChannelId).collect();
        }
        if let Some(t) = self.post_to {
            draft.target_channel = ChannelId(t);
        }
        if let Some(c) = &self.cron {
            draft.cron.clone_from(c);
        }
        if let Some(z) = &self.timezone {
            draft.timezone.clone_from(z);
        }
        if let Some(h) = self.hours {
            draft.window_hours = h;
        }
        if let Some(l) = &self.language {
            draft.language.clone_from(l);
        }
        if let Some(k) = self.kind {
            draft.kind = k;
        }
        if let Some(d) = self.detail {
            draft.detail = d;
        }
        if let Some(q) = self.quiet_day {
            draft.quiet_day = q;
        }
    }

    /// The new schedule a `create` asks for; required fields are checked here.
    fn draft(&self) -> Result<Draft, ApiError> {
        let missing = |f: &str| ApiError::bad_request(format!("missing field `{f}`"));
        let mut draft = Draft {
            guild_id: GuildId(self.guild_id.ok_or_else(|| missing("guild_id"))?),
            source_channels: Vec::new(),
            target_channel: ChannelId(self.post_to.ok_or_else(|| missing("post_to_channel_id"))?),
            cron: self.cron.clone().ok_or_else(|| missing("cron"))?,
            timezone: "UTC".to_owned(),
            window_hours: None,
            kind: None,
            language: None,
            detail: Detail::default(),
            quiet_day: false,
            created_by: "webhook".to_owned(),
        };
        if self.channels.is_none() {
            return Err(missing("channel_ids"));
        }
        self.apply(&mut draft);
        Ok(draft)
    }
}

/// Apply `update` and answer: 201 (created), 200 (changed, or a create already processed),
/// 400 naming the field, 404 for an unknown id. `key` deduplicates creates.
pub fn apply(
    store: &Store,
    rules: &Rules,
    update: &ScheduleUpdate,
    key: (&str, Timestamp),
    now: Timestamp,
) -> Result<(u16, Value), ApiError> {
    let guild = update.guild_id.map(GuildId);
    let id = update.id.unwrap_or(0);
    let (status, label, schedule) = match update.action {
        Action::Create => {
            let (s, duplicate) =
                ops::create_once(store, update.draft()?, rules, now, Some(key)).map_err(error)?;
            if duplicate {
                (200, "already_processed", s)
            } else {
                (201, "created", s)
            }
        }
        Action::Update => {
            let s =
                ops::update(store, id, guild, rules, now, |d| update.apply(d)).map_err(error)?;
            (200, "updated", s)
        }
        Action::Pause | Action::Resume => {
            let resume = update.action == Action::Resume;
            let s = ops::set_enabled(store, id, guild, resume, now).map_err(error)?;
            (200, if resume { "resumed" } else { "paused" }, s)
        }
        Action::Delete => (
            200,
            "deleted",
            ops::remove(store, id, guild).map_err(error)?,
        ),
    };
    Ok((
        status,
        json!({"status": label, "schedule": schedule_json(&schedule)}),
    ))
}

/// A schedule as JSON, with its next run in words.
pub fn schedule_json(s: &Schedule) -> Value {
    let mut value = serde_json::to_value(s).unwrap_or(Value::Null);
    value["next_run_text"] = json!(ops::next_run_text(s));
    value
}

/// An operation failure as an API error naming the JSON field.
fn error(e: OpError) -> ApiError {
    match e {
        OpError::Invalid(e) => {
            let field = match e.field {
                Field::Guild => "guild_id",
                Field::Cron => "cron",
                Field::Timezone => "timezone",
                Field::Channels => "channel_ids",
                Field::PostTo => "post_to_channel_id",
                Field::Hours => "hours",
                Field::Language => "language",
                Field::Kind => "kind",
                Field::Detail => "detail",
            };
            ApiError::bad_request(format!("field `{field}`: {}", e.message))
        }
        OpError::NotFound(id) => ApiError::not_found(format!("there is no schedule {id}")),
        OpError::TooMany => ApiError::unprocessable(e.to_string()),
        OpError::Store(e) => ApiError::unavailable(e.to_string()),
    }
}

/// A Discord id: a string of digits or a number, not 0.
fn snowflake(object: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => id_value(v).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "field `{field}` must be a Discord id (a string of digits)"
            ))
        }),
    }
}

fn id_value(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

fn id_list(v: &Value) -> Result<Vec<u64>, ApiError> {
    let wrong = || {
        ApiError::bad_request(
            "field `channel_ids` must be a list of Discord ids, e.g. [\"123456789012345678\"]",
        )
    };
    v.as_array()
        .ok_or_else(wrong)?
        .iter()
        .map(|item| id_value(item).ok_or_else(wrong))
        .collect()
}

fn string(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!(
            "field `{field}` must be a string"
        ))),
    }
}

/// Absent → None; null → Some(None); a value → Some(Some(parsed)).
#[expect(
    clippy::option_option,
    reason = "absent (keep), null (clear) and a value are three different requests"
)]
fn nullable<T>(
    object: &Map<String, Value>,
    field: &str,
    parse: impl FnOnce(&Value) -> Result<T, ApiError>,
) -> Result<Option<Option<T>>, ApiError> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => parse(v).map(|t| Some(Some(t))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    const NOW: Timestamp = Timestamp(1_764_000_000_000);
    const KEY_EXPIRY: Timestamp = Timestamp(1_864_000_000_000);

    fn parsed(body: &str) -> Result<ScheduleUpdate, ApiError> {
        let Value::Object(o) = serde_json::from_str(body).expect("json") else {
            panic!("not an object")
        };
        parse(&o)
    }

    fn run(store: &Store, body: &str, key: &str) -> Result<(u16, Value), ApiError> {
        apply(
            store,
            &Rules::default(),
            &parsed(body)?,
            (key, KEY_EXPIRY),
            NOW,
        )
    }

    const CREATE: &str = r#"{"type":"schedule_update","action":"create","guild_id":"1",
        "channel_ids":["2","3"],"post_to_channel_id":"4","cron":"0 9 * * 1-5",
        "timezone":"Europe/Berlin","quiet_day":true}"#;

    #[test]
    fn create_update_pause_delete() {
        let (_d, store) = temp_store();
        let (status, body) = run(&store, CREATE, "a").expect("create");
        assert_eq!((status, body["status"].as_str()), (201, Some("created")));
        assert_eq!(body["schedule"]["id"], 1);
        assert_eq!(body["schedule"]["source_channels"], json!(["2", "3"]));
        assert_eq!(body["schedule"]["quiet_day"], true);
        let (status, body) = run(&store, CREATE, "a").expect("redelivery");
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("already_processed"))
        );
        assert_eq!(store.schedules().expect("list").len(), 1);
        let (status, body) = run(
            &store,
            r#"{"type":"schedule_update","action":"update","id":1,"hours":12,"kind":"dev","language":null}"#,
            "b",
        )
        .expect("update");
        assert_eq!(status, 200);
        assert_eq!(
            (
                body["schedule"]["window_hours"].as_u64(),
                body["schedule"]["kind"].as_str()
            ),
            (Some(12), Some("dev"))
        );
        let (_, body) = run(
            &store,
            r#"{"type":"schedule_update","action":"pause","id":1}"#,
            "c",
        )
        .expect("pause");
        assert_eq!(body["schedule"]["enabled"], false);
        let e = run(
            &store,
            r#"{"type":"schedule_update","action":"resume","id":1,"guild_id":"9"}"#,
            "d",
        )
        .expect_err("other guild");
        assert_eq!(e.status, 404);
        let (_, body) = run(
            &store,
            r#"{"type":"schedule_update","action":"delete","id":1}"#,
            "e",
        )
        .expect("delete");
        assert_eq!(body["status"], "deleted");
        let e = run(
            &store,
            r#"{"type":"schedule_update","action":"delete","id":1}"#,
            "f",
        )
        .expect_err("gone");
        assert_eq!(e.status, 404);
    }

    #[test]
    fn bad_fields_are_named() {
        let (_d, store) = temp_store();
        let cases = [
            (r#"{"type":"schedule_update"}"#, "`action`"),
            (
                r#"{"type":"schedule_update","action":"explode"}"#,
                "`action`",
            ),
            (r#"{"type":"schedule_update","action":"pause"}"#, "`id`"),
            (
                r#"{"type":"schedule_update","action":"pause","id":"x"}"#,
                "`id`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","cron":5}"#,
                "`cron`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","channel_ids":"2"}"#,
                "`channel_ids`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","channel_ids":["2"],"channel_id":"3"}"#,
                "not both",
            ),
            (
                r#"{"type":"schedule_update","action":"create","hours":-1}"#,
                "`hours`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","kind":"news"}"#,
                "`kind`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","quiet_day":"yes"}"#,
                "`quiet_day`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","crn":"x"}"#,
                "unknown field `crn`",
            ),
            (
                r#"{"type":"schedule_update","action":"create","channel_ids":["2"],"post_to_channel_id":"4","cron":"@daily"}"#,
                "`guild_id`",
            ),
        ];
        for (body, needle) in cases {
            let e = run(&store, body, "k").expect_err(body);
            assert_eq!(e.status, 400, "{body}: {e:?}");
            assert!(e.detail.contains(needle), "{body}: {e:?}");
        }
        let bad_cron = CREATE.replace("0 9 * * 1-5", "0 9 * *");
        let e = run(&store, &bad_cron, "k2").expect_err("bad cron");
        assert!(
            e.detail.starts_with("field `cron`:") && e.detail.contains("0 9 * * 1-5"),
            "{e:?}"
        );
        let bad_zone = CREATE.replace("Europe/Berlin", "Mars/Base");
        let e = run(&store, &bad_zone, "k3").expect_err("bad zone");
        assert!(e.detail.starts_with("field `timezone`:"), "{e:?}");
        assert!(
            store.schedules().expect("list").is_empty(),
            "nothing stored"
        );
    }
}
