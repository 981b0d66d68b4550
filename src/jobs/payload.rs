//! Job payloads: one typed enum, written to and read from the stored `(kind, payload JSON)` pair
//! here and nowhere else. Ids are the model's (`ChannelId`, `Timestamp`); rows written before
//! (ids as JSON numbers) still decode, since a `ChannelId` reads a number or a string.

use serde::{Deserialize, Serialize};

use crate::model::{ChannelId, ChannelKind, Detail, Job, Timestamp};

/// Job kind: summarize a channel window (payload [`SummaryJob`]).
pub const SUMMARY_REQUEST: &str = "summary_request";

/// Job kind: a scheduled digest (payload [`DigestJob`]).
pub const DIGEST: &str = "digest";

/// Job kind: a member's personal digest by DM (payload [`PersonalDigestJob`]).
pub const PERSONAL_DIGEST: &str = "personal_digest";

/// What a job does, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum JobPayload {
    /// A webhook `summary_request`.
    SummaryRequest(SummaryJob),
    /// A scheduled digest.
    Digest(DigestJob),
    /// A member's personal digest.
    PersonalDigest(PersonalDigestJob),
}

/// Why a stored job cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// A kind this version does not know.
    #[error("unknown job kind {0:?}; this summarybot cannot run it")]
    UnknownKind(String),
    /// The payload does not fit its kind.
    #[error("the stored {kind} payload is invalid: {detail}")]
    Invalid {
        /// The job's kind.
        kind: String,
        /// What is wrong.
        detail: String,
    },
}

impl JobPayload {
    /// The stored kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SummaryRequest(_) => SUMMARY_REQUEST,
            Self::Digest(_) => DIGEST,
            Self::PersonalDigest(_) => PERSONAL_DIGEST,
        }
    }

    /// The payload JSON stored beside [`JobPayload::kind`].
    pub fn encode(&self) -> String {
        let value = match self {
            Self::SummaryRequest(p) => serde_json::to_string(p),
            Self::Digest(p) => serde_json::to_string(p),
            Self::PersonalDigest(p) => serde_json::to_string(p),
        };
        // Plain structs of ids, numbers and strings always serialize.
        value.unwrap_or_default()
    }

    /// Read a stored job's payload.
    pub fn decode(job: &Job) -> Result<Self, PayloadError> {
        let invalid = |e: serde_json::Error| PayloadError::Invalid {
            kind: job.kind.clone(),
            detail: e.to_string(),
        };
        match job.kind.as_str() {
            SUMMARY_REQUEST => serde_json::from_str(&job.payload)
                .map(Self::SummaryRequest)
                .map_err(invalid),
            DIGEST => serde_json::from_str(&job.payload)
                .map(Self::Digest)
                .map_err(invalid),
            PERSONAL_DIGEST => serde_json::from_str(&job.payload)
                .map(Self::PersonalDigest)
                .map_err(invalid),
            other => Err(PayloadError::UnknownKind(other.to_owned())),
        }
    }

    /// The channels whose summaries its result holds (the channel of a request, a digest's
    /// sources; none for a personal digest, whose result is only its outcome line).
    pub fn summarized_channels(&self) -> &[ChannelId] {
        match self {
            Self::SummaryRequest(p) => std::slice::from_ref(&p.channel_id),
            Self::Digest(p) => &p.source_channels,
            Self::PersonalDigest(_) => &[],
        }
    }
}

/// The key of a stored payload under which the job's posted parts are kept (see
/// `parts.rs`): `{nonce: message id}`. The payload structs ignore it, so payloads stored before
/// it existed, and with it, decode alike.
const POSTED: &str = "posted";

/// The parts a job posted on earlier attempts, by nonce (empty for a payload without them).
pub(super) fn posted_parts(payload: &str) -> std::collections::BTreeMap<String, String> {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|mut v| v.get_mut(POSTED).map(serde_json::Value::take))
        .and_then(|posted| serde_json::from_value(posted).ok())
        .unwrap_or_default()
}

/// `payload` with the part `nonce` recorded as posted as `message_id`; a payload that is not a
/// JSON object stays as it is (it cannot be run anyway).
pub(super) fn with_posted_part(payload: &str, nonce: &str, message_id: &str) -> String {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(payload) else {
        return payload.to_owned();
    };
    let posted = map.entry(POSTED).or_insert_with(|| serde_json::json!({}));
    if let serde_json::Value::Object(posted) = posted {
        posted.insert(nonce.to_owned(), serde_json::json!(message_id));
    }
    serde_json::Value::Object(map).to_string()
}

/// The stored payload of a `summary_request` job: the window is fixed when the request is
/// accepted, so a retry summarizes the same messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryJob {
    /// The channel summarized.
    pub channel_id: ChannelId,
    /// Window start (inclusive).
    pub since: Timestamp,
    /// Window end (exclusive).
    pub until: Timestamp,
    /// Post the summary to this channel when done.
    pub post_to_channel_id: Option<ChannelId>,
    /// Summarizer override: `builtin` or `openai`.
    pub provider: Option<String>,
    /// Output language override.
    pub language: Option<String>,
    /// How long the summary may be (jobs stored before it existed read `standard`).
    #[serde(default)]
    pub detail: Detail,
    /// Keep only the messages about this topic (and their reply chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// The stored payload of a `digest` job, fixed when the scheduler fires, so a retry posts the
/// same window to the same place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestJob {
    /// The schedule that fired.
    pub schedule_id: u64,
    /// The fire time; also the window's end.
    pub fire: Timestamp,
    /// Window start (inclusive).
    pub since: Timestamp,
    /// Channels summarized.
    pub source_channels: Vec<ChannelId>,
    /// Channel the digest is posted to.
    pub target_channel: ChannelId,
    /// Prompt variant override.
    pub kind: Option<ChannelKind>,
    /// Output language override.
    pub language: Option<String>,
    /// How long each summary may be (jobs stored before it existed read `standard`).
    #[serde(default)]
    pub detail: Detail,
    /// Post a "quiet day" line when the window holds no messages.
    pub quiet_day: bool,
}

/// The stored payload of a `personal_digest` job, fixed when the scheduler fires: the window
/// stays the same on a retry; the channels and the member's permissions are read when it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDigestJob {
    /// The subscription that fired.
    pub subscription_id: u64,
    /// The fire time; also the window's end.
    pub fire: Timestamp,
    /// Window start (inclusive).
    pub since: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JobState;

    fn job(kind: &str, payload: &str) -> Job {
        Job {
            id: 1,
            kind: kind.into(),
            payload: payload.into(),
            state: JobState::Queued,
            attempts: 0,
            next_attempt_at: Timestamp(0),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            last_error: None,
            result: None,
        }
    }

    #[test]
    fn rows_of_the_previous_version_decode_and_new_ones_round_trip() {
        // Written by the previous version: ids and times as JSON numbers.
        let old = job(
            SUMMARY_REQUEST,
            r#"{"channel_id":5,"since":0,"until":1000,"post_to_channel_id":9,"provider":null,"language":null}"#,
        );
        let JobPayload::SummaryRequest(p) = JobPayload::decode(&old).expect("decodes") else {
            panic!("wrong kind");
        };
        assert_eq!((p.channel_id, p.until), (ChannelId(5), Timestamp(1000)));
        assert_eq!(p.post_to_channel_id, Some(ChannelId(9)));
        assert_eq!(
            (p.detail, p.topic),
            (Detail::Standard, None),
            "before detail and topic"
        );
        let again = job(
            SUMMARY_REQUEST,
            &JobPayload::SummaryRequest(SummaryJob {
                detail: Detail::Brief,
                topic: Some("release".into()),
                ..p
            })
            .encode(),
        );
        let JobPayload::SummaryRequest(p) = JobPayload::decode(&again).expect("decodes") else {
            panic!("wrong kind");
        };
        assert_eq!(
            (p.detail, p.topic.as_deref()),
            (Detail::Brief, Some("release"))
        );
        let old_digest = job(
            DIGEST,
            r#"{"schedule_id":1,"fire":2000,"since":1000,"source_channels":[8,9],
                "target_channel":3,"kind":null,"language":null,"quiet_day":false}"#,
        );
        let digest = JobPayload::decode(&old_digest).expect("decodes");
        assert_eq!(digest.summarized_channels(), [ChannelId(8), ChannelId(9)]);
        let JobPayload::Digest(d) = &digest else {
            panic!("wrong kind");
        };
        assert_eq!(
            d.detail,
            Detail::Standard,
            "a digest queued before detail existed"
        );
        let again = job(digest.kind(), &digest.encode());
        assert_eq!(JobPayload::decode(&again).expect("round trip"), digest);
        // The serde tags are the stored kind names.
        let tagged = serde_json::to_value(&digest).expect("json");
        assert_eq!(tagged["kind"], DIGEST);
    }

    #[test]
    fn posted_parts_are_kept_beside_the_payload_which_still_decodes() {
        let old = r#"{"schedule_id":1,"fire":2000,"since":1000,"source_channels":[8,9],
            "target_channel":3,"kind":null,"language":null,"quiet_day":false}"#;
        assert!(
            posted_parts(old).is_empty(),
            "a job stored before parts were kept"
        );
        let once = with_posted_part(old, "1:2:0:0", "111");
        let twice = with_posted_part(&once, "1:2:1:0", "222");
        let parts = posted_parts(&twice);
        assert_eq!(parts.get("1:2:0:0").map(String::as_str), Some("111"));
        assert_eq!(parts.get("1:2:1:0").map(String::as_str), Some("222"));
        assert_eq!(
            JobPayload::decode(&job(DIGEST, &twice)).expect("decodes"),
            JobPayload::decode(&job(DIGEST, old)).expect("decodes"),
            "the parts do not change what the job does"
        );
        assert_eq!(with_posted_part("not json", "n", "1"), "not json");
    }

    #[test]
    fn unknown_kinds_and_bad_payloads_say_what_is_wrong() {
        let err = JobPayload::decode(&job("other", "{}")).expect_err("unknown");
        assert!(
            err.to_string().contains("unknown job kind \"other\""),
            "{err}"
        );
        let err = JobPayload::decode(&job(DIGEST, r#"{"schedule_id":"x"}"#)).expect_err("bad");
        assert!(
            err.to_string().contains("digest payload is invalid"),
            "{err}"
        );
    }
}
