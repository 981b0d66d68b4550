//! Parsing and validating `POST /webhook` bodies into jobs; every error names the field to fix.

use serde_json::{Map, Value};

use crate::jobs::SummaryJob;
use crate::model::{ChannelId, Detail, Timestamp};
use crate::summarize::focus::Topic;
use crate::web::ApiError;

/// Longest window a request may ask for, in hours (one year).
const MAX_HOURS: u64 = 24 * 366;
/// Longest `request_id`.
const MAX_REQUEST_ID: usize = 200;
/// Fields a `summary_request` may carry.
const SUMMARY_FIELDS: [&str; 11] = [
    "type",
    "request_id",
    "channel_id",
    "hours",
    "since",
    "until",
    "post_to_channel_id",
    "provider",
    "language",
    "detail",
    "topic",
];

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRequest {
    /// Summarize a channel window.
    Summary(SummaryJob),
    /// Create, change or delete a digest schedule.
    Schedule(super::schedule_update::ScheduleUpdate),
}

/// Parse a signed body received at `now`.
pub fn parse(body: &[u8], now: Timestamp) -> Result<WebhookRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let kind = match object.get("type") {
        None => return Err(ApiError::bad_request("missing field `type`")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::bad_request("field `type` must be a string")),
    };
    request_id(&object)?;
    match kind {
        "summary_request" => summary(&object, now).map(WebhookRequest::Summary),
        "schedule_update" => super::schedule_update::parse(&object).map(WebhookRequest::Schedule),
        other => Err(ApiError::unprocessable(format!(
            "unknown type {other:?}; supported: summary_request, schedule_update"
        ))),
    }
}

/// A `summary_request`.
fn summary(object: &Map<String, Value>, now: Timestamp) -> Result<SummaryJob, ApiError> {
    if let Some(unknown) = object
        .keys()
        .find(|k| !SUMMARY_FIELDS.contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unknown field `{unknown}`; a summary_request takes {}",
            SUMMARY_FIELDS.join(", ")
        )));
    }
    let channel_id = snowflake(object, "channel_id")?
        .ok_or_else(|| ApiError::bad_request("missing field `channel_id`"))?;
    let hours = hours(object)?;
    let since = time(object, "since")?;
    let until = time(object, "until")?.unwrap_or(now);
    if hours.is_some() && since.is_some() {
        return Err(ApiError::bad_request(
            "give either `hours` or `since`, not both",
        ));
    }
    let start = match (hours, since) {
        (_, Some(s)) => s,
        (h, None) => until.minus_hours(h.unwrap_or(24)),
    };
    if start >= until {
        return Err(ApiError::bad_request("`since` must be before `until`"));
    }
    if until.0 - start.0 > i64::try_from(MAX_HOURS * 3_600_000).unwrap_or(i64::MAX) {
        return Err(ApiError::bad_request(format!(
            "the window from `since` to `until` spans more than {MAX_HOURS} hours (a year); ask for a shorter one"
        )));
    }
    let provider = text(object, "provider")?;
    if let Some(p) = provider
        .as_deref()
        .filter(|p| !matches!(*p, "builtin" | "openai"))
    {
        return Err(ApiError::bad_request(format!(
            "field `provider` is {p:?}; use \"builtin\" or \"openai\""
        )));
    }
    // A name only (it reaches the prompt): the rule of the server setting.
    let language = text(object, "language")?
        .map(|l| crate::settings::parse_language(&l))
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("field `language`: {e}")))?;
    let detail = text(object, "detail")?
        .map(|d| d.parse::<Detail>())
        .transpose()
        .map_err(|e| ApiError::unprocessable(format!("field `detail`: {e}")))?
        .unwrap_or_default();
    let topic = text(object, "topic")?
        .map(|t| Topic::parse(&t))
        .transpose()
        .map_err(|e| ApiError::unprocessable(format!("field `topic`: {e}")))?
        .map(|t| t.as_str().to_owned());
    Ok(SummaryJob {
        channel_id: ChannelId(channel_id),
        since: start,
        until,
        post_to_channel_id: snowflake(object, "post_to_channel_id")?.map(ChannelId),
        provider,
        language,
        detail,
        topic,
    })
}

/// The optional `request_id`: any short text. Signed with the body, it makes two otherwise
/// identical requests different deliveries (a repeated signed body is a duplicate).
fn request_id(object: &Map<String, Value>) -> Result<(), ApiError> {
    match text(object, "request_id")? {
        Some(id) if id.trim().is_empty() || id.chars().count() > MAX_REQUEST_ID => {
            Err(ApiError::bad_request(format!(
                "field `request_id` must be 1 to {MAX_REQUEST_ID} characters"
            )))
        }
        _ => Ok(()),
    }
}

/// A Discord id given as a string of digits (as Discord sends them) or a number.
fn snowflake(object: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    let wrong = || {
        ApiError::bad_request(format!(
            "field `{field}` must be a Discord id (a string of digits)"
        ))
    };
    let id = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| wrong())?,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(wrong)?,
        Some(_) => return Err(wrong()),
    };
    if id == 0 {
        return Err(wrong());
    }
    Ok(Some(id))
}

/// `hours`: a whole number from 1 to [`MAX_HOURS`].
fn hours(object: &Map<String, Value>) -> Result<Option<u32>, ApiError> {
    match object.get("hours") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|h| (1..=MAX_HOURS).contains(h))
            .and_then(|h| u32::try_from(h).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "field `hours` must be a whole number from 1 to {MAX_HOURS}"
                ))
            }),
    }
}

/// An RFC 3339 time.
fn time(object: &Map<String, Value>, field: &str) -> Result<Option<Timestamp>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Timestamp::parse_rfc3339(s).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "field `{field}` is not an RFC 3339 time; use e.g. 2024-03-01T09:00:00Z"
            ))
        }),
        Some(_) => Err(ApiError::bad_request(format!(
            "field `{field}` must be a string"
        ))),
    }
}

/// An optional string field.
fn text(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!(
            "field `{field}` must be a string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_700_000_000_000);

    fn err(body: &str) -> ApiError {
        parse(body.as_bytes(), NOW).expect_err(body)
    }

    #[test]
    fn accepts_a_minimal_and_a_full_request() {
        let Ok(WebhookRequest::Summary(job)) =
            parse(br#"{"type":"summary_request","channel_id":"42"}"#, NOW)
        else {
            panic!("a valid summary_request")
        };
        assert_eq!(
            (job.channel_id, job.until.0 - job.since.0),
            (ChannelId(42), 24 * 3_600_000)
        );
        let body = r#"{"type":"summary_request","channel_id":7,"since":"2024-03-01T00:00:00Z",
            "until":"2024-03-02T00:00:00Z","post_to_channel_id":"9","provider":"builtin","language":"de"}"#;
        let Ok(WebhookRequest::Summary(job)) = parse(body.as_bytes(), NOW) else {
            panic!("a valid summary_request")
        };
        assert_eq!(job.until.0 - job.since.0, 86_400_000);
        assert_eq!(
            (job.post_to_channel_id, job.provider.as_deref()),
            (Some(ChannelId(9)), Some("builtin"))
        );
    }

    #[test]
    fn a_year_long_window_and_a_request_id_are_accepted() {
        let body = r#"{"type":"summary_request","channel_id":"1","since":"2024-01-01T00:00:00Z",
            "until":"2025-01-01T00:00:00Z","request_id":"run-42"}"#;
        let Ok(WebhookRequest::Summary(job)) = parse(body.as_bytes(), NOW) else {
            panic!("366 days is the longest window and still valid")
        };
        assert_eq!(job.until.0 - job.since.0, 8784 * 3_600_000);
    }

    #[test]
    fn names_the_field_to_fix() {
        let cases = [
            ("not json", 400, "not valid JSON"),
            ("[1]", 400, "JSON object"),
            ("{}", 400, "`type`"),
            (r#"{"type":5}"#, 400, "`type` must be a string"),
            (r#"{"type":"nope"}"#, 422, "unknown type"),
            (r#"{"type":"schedule_update"}"#, 400, "`action`"),
            (r#"{"type":"summary_request"}"#, 400, "`channel_id`"),
            (
                r#"{"type":"summary_request","channel_id":"abc"}"#,
                400,
                "`channel_id`",
            ),
            (
                r#"{"type":"summary_request","channel_id":true}"#,
                400,
                "`channel_id`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"0"}"#,
                400,
                "`channel_id`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","hours":0}"#,
                400,
                "`hours`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","hours":"5"}"#,
                400,
                "`hours`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","hours":1.5}"#,
                400,
                "`hours`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","since":"yesterday"}"#,
                400,
                "`since`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","until":3}"#,
                400,
                "`until`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","hours":2,"since":"2024-03-01T00:00:00Z"}"#,
                400,
                "not both",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","since":"2024-03-02T00:00:00Z","until":"2024-03-01T00:00:00Z"}"#,
                400,
                "before",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","provider":"gpt"}"#,
                400,
                "`provider`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","language":""}"#,
                400,
                "`language`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","chanel":"2"}"#,
                400,
                "unknown field `chanel`",
            ),
        ];
        assert_refused(&cases);
    }

    #[test]
    fn refuses_a_window_longer_than_a_year_and_a_bad_request_id() {
        let cases = [
            (
                r#"{"type":"summary_request","channel_id":"1","since":"0001-01-01T00:00:00Z","until":"9999-12-31T00:00:00Z"}"#,
                400,
                "more than 8784 hours",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","since":"2023-01-01T00:00:00Z","until":"2024-01-02T00:00:01Z"}"#,
                400,
                "more than 8784 hours",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","request_id":""}"#,
                400,
                "`request_id`",
            ),
            (
                r#"{"type":"summary_request","channel_id":"1","request_id":7}"#,
                400,
                "`request_id`",
            ),
            (
                r#"{"type":"schedule_update","action":"delete","id":1,"request_id":" "}"#,
                400,
                "`request_id`",
            ),
        ];
        assert_refused(&cases);
    }

    /// Each body is refused with its status and a detail containing its needle.
    fn assert_refused(cases: &[(&str, u16, &str)]) {
        for &(body, status, needle) in cases {
            let e = err(body);
            assert_eq!(e.status, status, "{body}: {e:?}");
            assert!(e.detail.contains(needle), "{body}: {e:?}");
        }
    }
}
