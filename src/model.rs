//! Domain types shared by every module: ids, chat messages, channels, summaries, schedules, jobs,
//! per-server settings.
//!
//! Nothing here depends on serenity, redb or async-openai; adapters convert at their edge.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// In JSON (and other human-readable formats) it is a string, as in Discord's API, because
        /// snowflakes exceed the 2^53 integers that JavaScript and jq read exactly; in the
        /// database's compact encoding it is a plain `u64`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(&self.0)
                } else {
                    s.serialize_u64(self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    d.deserialize_any(SnowflakeVisitor).map(Self)
                } else {
                    u64::deserialize(d).map(Self)
                }
            }
        }
    };
}

/// Accepts a snowflake written as a JSON string of digits or as a number.
struct SnowflakeVisitor;

impl serde::de::Visitor<'_> for SnowflakeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Discord id (a string of digits or a number)")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("a Discord id cannot be negative: {v}")))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("not a Discord id: {v:?}")))
    }
}

snowflake!(
    /// A Discord guild (server) id.
    GuildId
);
snowflake!(
    /// A Discord channel or thread id.
    ChannelId
);
snowflake!(
    /// A Discord message id.
    MessageId
);
snowflake!(
    /// A Discord user id.
    UserId
);

/// Milliseconds since the Unix epoch, UTC. The one time type stored and compared everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This instant as a chrono value (clamped to the epoch if out of range).
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or_default()
    }

    /// Parse an RFC 3339 / ISO 8601 timestamp such as `2024-03-01T12:00:00.123+00:00`.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|d| Self(d.timestamp_millis()))
    }

    /// This instant minus a number of hours.
    #[must_use]
    pub fn minus_hours(self, hours: u32) -> Self {
        Self(self.0 - i64::from(hours) * 3_600_000)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_datetime().format("%Y-%m-%d %H:%M UTC"))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(d: DateTime<Utc>) -> Self {
        Self(d.timestamp_millis())
    }
}

/// What kind of Discord message this is; only the kinds that matter for summaries are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MessageKind {
    /// An ordinary message.
    #[default]
    Default,
    /// A reply to another message (see [`ChatMessage::reply_to`]).
    Reply,
    /// "X joined the server".
    MemberJoin,
    /// "X pinned a message".
    ChannelPinned,
    /// "X started a thread".
    ThreadCreated,
    /// The response to a slash command.
    ChatInputCommand,
    /// Any other system message.
    Other,
}

impl MessageKind {
    /// True for system notices (joins, pins, ...) that carry no discussion.
    pub fn is_system(self) -> bool {
        matches!(
            self,
            Self::MemberJoin | Self::ChannelPinned | Self::ThreadCreated | Self::Other
        )
    }
}

/// The author of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Discord user id.
    pub id: UserId,
    /// Account name (`name` in exports, `username` on the gateway).
    pub name: String,
    /// Server nickname or global display name, when different from `name`.
    pub display_name: Option<String>,
    /// True for bots and webhooks.
    pub is_bot: bool,
}

impl Author {
    /// The name to show: nickname/display name if present, otherwise the account name.
    pub fn shown_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.name)
    }
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name as uploaded.
    pub file_name: String,
    /// Where Discord serves it.
    pub url: String,
}

/// One chat message, as stored and summarized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Message id (a snowflake; orders messages in a channel).
    pub id: MessageId,
    /// Channel or thread the message is in.
    pub channel_id: ChannelId,
    /// Guild, when known (None for DMs or exports without one).
    pub guild_id: Option<GuildId>,
    /// Who wrote it.
    pub author: Author,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// When it was last edited, if ever.
    pub edited_at: Option<Timestamp>,
    /// What kind of message.
    pub kind: MessageKind,
    /// Text content (may be empty for attachment-only messages).
    pub content: String,
    /// The message this one replies to.
    pub reply_to: Option<MessageId>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Total reaction count over all emoji.
    pub reaction_count: u32,
    /// True when pinned.
    pub pinned: bool,
}

impl ChatMessage {
    /// The last time the content changed: the edit time, or the send time.
    pub fn version(&self) -> Timestamp {
        self.edited_at.unwrap_or(self.timestamp)
    }
}

/// Which prompt and section set a channel gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Ordinary discussion.
    #[default]
    General,
    /// Development channel: adds a "Code Changes" section.
    Dev,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [ChannelKind; 2] = [ChannelKind::General, ChannelKind::Dev];

    /// The lowercase name (`general`, `dev`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Dev => "dev",
        }
    }

    /// Guess the kind from a channel's name and topic (`dev`, `code`, `eng`, `backend`, ...).
    pub fn guess(name: &str, topic: Option<&str>) -> Self {
        const DEV_WORDS: &[&str] = &[
            "dev",
            "code",
            "eng",
            "engineering",
            "backend",
            "frontend",
            "programming",
            "pr",
            "commits",
            "ci",
            "build",
            "rust",
            "api",
            "infra",
            "ops",
        ];
        let text = format!("{} {}", name, topic.unwrap_or("")).to_lowercase();
        let is_dev = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| DEV_WORDS.contains(&w) || w.starts_with("develop"));
        if is_dev {
            Self::Dev
        } else {
            Self::General
        }
    }
}

/// How long a summary may be: `brief` (a few lines), `standard` (the default, at most
/// [`Detail::STANDARD_CHARS`] visible characters) or `full` (every point the engine found).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    /// A TL;DR: the outcome and the few points that matter most.
    Brief,
    /// A summary a member reads in a minute.
    #[default]
    Standard,
    /// Every point found, with all its citations (the index the builtin made before).
    Full,
}

impl Detail {
    /// Every level, shortest first.
    pub const ALL: [Self; 3] = [Self::Brief, Self::Standard, Self::Full];
    /// Visible characters (links counted as their text) a `standard` summary may hold.
    pub const STANDARD_CHARS: usize = 2_000;
    /// Visible characters a `brief` summary may hold.
    pub const BRIEF_CHARS: usize = 700;

    /// The name users type (`brief`, `standard`, `full`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brief => "brief",
            Self::Standard => "standard",
            Self::Full => "full",
        }
    }

    /// The most visible characters a summary at this level may hold (None for `full`).
    pub fn char_budget(self) -> Option<usize> {
        match self {
            Self::Brief => Some(Self::BRIEF_CHARS),
            Self::Standard => Some(Self::STANDARD_CHARS),
            Self::Full => None,
        }
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Detail {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == wanted)
            .ok_or_else(|| format!("unknown detail level {s:?}: use brief, standard or full"))
    }
}

/// What is known about a channel (from the gateway, REST or an export).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Channel id.
    pub id: ChannelId,
    /// Guild it belongs to.
    pub guild_id: Option<GuildId>,
    /// Guild name, when known.
    pub guild_name: Option<String>,
    /// Channel name (without `#`).
    pub name: String,
    /// Channel topic.
    pub topic: Option<String>,
    /// Parent channel for threads.
    pub parent_id: Option<ChannelId>,
}

impl ChannelInfo {
    /// What is known of a channel with no stored metadata: its id as its name.
    pub fn unknown(id: ChannelId, guild_id: Option<GuildId>) -> Self {
        Self {
            id,
            guild_id,
            guild_name: None,
            name: id.to_string(),
            topic: None,
            parent_id: None,
        }
    }
}

/// A half-open time window `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

impl TimeWindow {
    /// The last `hours` hours up to `end`.
    pub fn last_hours(end: Timestamp, hours: u32) -> Self {
        Self {
            start: end.minus_hours(hours),
            end,
        }
    }

    /// True when `t` lies inside the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t < self.end
    }
}

/// The sections of a summary, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Key Discussion Points.
    KeyPoints,
    /// Important Decisions/Outcomes.
    Decisions,
    /// Action Items.
    ActionItems,
    /// Open Questions.
    OpenQuestions,
    /// Technical Details.
    Technical,
    /// Code Changes (dev channels).
    CodeChanges,
    /// Links shared.
    Links,
    /// Active threads of the channel, one point each with a jump link (added by the Discord
    /// commands, never produced by a summarizer, so not in [`SectionKind::ALL`]).
    Threads,
}

impl SectionKind {
    /// Every section a summarizer produces, in display order.
    pub const ALL: [Self; 7] = [
        Self::KeyPoints,
        Self::Decisions,
        Self::ActionItems,
        Self::OpenQuestions,
        Self::Technical,
        Self::CodeChanges,
        Self::Links,
    ];

    /// The heading shown to users.
    pub fn title(self) -> &'static str {
        match self {
            Self::KeyPoints => "Key Discussion Points",
            Self::Decisions => "Important Decisions/Outcomes",
            Self::ActionItems => "Action Items",
            Self::OpenQuestions => "Open Questions",
            Self::Technical => "Technical Details",
            Self::CodeChanges => "Code Changes",
            Self::Links => "Links",
            Self::Threads => "Threads",
        }
    }
}

/// One bullet point of a summary, with the messages it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// The text of the point (Markdown inline).
    pub text: String,
    /// Messages this point is based on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<MessageId>,
}

/// A titled list of points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Which section.
    pub kind: SectionKind,
    /// Its points (a section with none is not shown).
    pub points: Vec<Point>,
}

/// Tokens spent on one summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
}

impl TokenUsage {
    /// Sum of prompt and completion tokens.
    pub fn total(self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, rhs: Self) {
        self.prompt_tokens += rhs.prompt_tokens;
        self.completion_tokens += rhs.completion_tokens;
    }
}

/// A finished summary of one channel window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The channel summarized.
    pub channel: ChannelInfo,
    /// The window covered.
    pub window: TimeWindow,
    /// Messages in the window that were considered.
    pub message_count: usize,
    /// Distinct participants (shown names), most active first.
    pub participants: Vec<String>,
    /// Non-empty sections in display order.
    pub sections: Vec<Section>,
    /// `builtin` or `openai`.
    pub provider: String,
    /// Model name (`extractive-v1` for builtin).
    pub model: String,
    /// Tokens spent (zero for builtin).
    pub usage: TokenUsage,
    /// True when served from the cache.
    pub cached: bool,
    /// Set when the configured LLM failed and the builtin engine stood in: the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The topic the summary is focused on (`/summarize topic:`, `--topic`), shown in the
    /// header; None for the whole window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
    /// When the summary was made.
    pub created_at: Timestamp,
    /// Output language asked for (e.g. `German`, `de`); None: the language of the chat.
    /// summarybot's own words (headings, notes) follow it when it is a supported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Secrets (tokens, passwords, e-mail addresses) replaced by placeholders in what the LLM
    /// was sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub withheld: usize,
    /// Older messages of the window left out: it held more than `summary.max_window_messages`,
    /// and the summary was made from the newest ones. Set by the summary path, not cached.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_out: usize,
    /// The cache entry holding this summary, set by the engine while it is cached: what feedback
    /// buttons name (they close with the entry). None for an uncached summary.
    #[serde(skip)]
    pub cache_entry: Option<CacheEntryRef>,
}

/// A cached summary's identity for feedback: its cache key and the options the key covers that
/// feedback is reported by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntryRef {
    /// The cache key (64 hex digits).
    pub key: String,
    /// The prompt variant.
    pub kind: ChannelKind,
    /// The detail level.
    pub detail: Detail,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "shaped for serde's skip_serializing_if"
)]
pub(crate) fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Discord's snowflake epoch (2015-01-01T00:00:00Z) in Unix millis.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The smallest snowflake at or after `t` (for `before=`/`after=` bounds).
pub fn snowflake_at(t: Timestamp) -> u64 {
    u64::try_from(t.millis() - DISCORD_EPOCH_MS).unwrap_or(0) << 22
}

/// When the object with snowflake id `id` was created.
pub fn snowflake_time(id: u64) -> Timestamp {
    Timestamp(
        i64::try_from(id >> 22)
            .unwrap_or(i64::MAX)
            .saturating_add(DISCORD_EPOCH_MS),
    )
}

/// The Discord jump link to a message.
pub fn jump_link(guild: Option<GuildId>, channel: ChannelId, message: MessageId) -> String {
    let guild = guild.map_or_else(|| "@me".to_string(), |g| g.to_string());
    format!("https://discord.com/channels/{guild}/{channel}/{message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_follow_the_discord_epoch() {
        assert_eq!(snowflake_at(Timestamp(DISCORD_EPOCH_MS)), 0);
        assert_eq!(snowflake_at(Timestamp(DISCORD_EPOCH_MS + 1)), 1 << 22);
        assert_eq!(snowflake_at(Timestamp(0)), 0, "before the epoch clamps");
        let t = Timestamp(1_700_000_000_123);
        assert_eq!(snowflake_time(snowflake_at(t) | 0x3F_FFFF), t);
    }

    #[test]
    fn channel_kind_guess() {
        assert_eq!(ChannelKind::guess("dev-chat", None), ChannelKind::Dev);
        assert_eq!(
            ChannelKind::guess("general", Some("backend talk")),
            ChannelKind::Dev
        );
        assert_eq!(
            ChannelKind::guess("general", Some("hello")),
            ChannelKind::General
        );
        assert_eq!(ChannelKind::guess("development", None), ChannelKind::Dev);
        assert_eq!(
            ChannelKind::guess("devoted-fans", None),
            ChannelKind::General
        );
    }

    #[test]
    fn ids_are_strings_in_json_and_u64_in_the_database_encoding() {
        let id = MessageId(1_572_157_665_105_281_025);
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            "\"1572157665105281025\""
        );
        let back: MessageId = serde_json::from_str("\"1572157665105281025\"").expect("string");
        assert_eq!(back, id);
        let number: MessageId = serde_json::from_str("42").expect("number");
        assert_eq!(number, MessageId(42));
        assert!(serde_json::from_str::<MessageId>("\"abc\"").is_err());
        assert!(serde_json::from_str::<MessageId>("-1").is_err());
        let bytes = postcard::to_allocvec(&id).expect("postcard");
        assert!(bytes.len() <= 10, "compact varint, not a string");
        assert_eq!(
            postcard::from_bytes::<MessageId>(&bytes).expect("decode"),
            id
        );
    }

    #[test]
    fn timestamps_parse_and_links_render() {
        let t = Timestamp::parse_rfc3339("2024-03-01T12:00:00.500+00:00").expect("parses");
        assert_eq!(t.millis(), 1_709_294_400_500);
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
        assert_eq!(
            jump_link(Some(GuildId(1)), ChannelId(2), MessageId(3)),
            "https://discord.com/channels/1/2/3"
        );
    }
}

/// A stored digest schedule: built and validated by `schedule::Draft`, stored by
/// `store::schedules`, fired by the scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Schedule id (assigned by the store).
    pub id: u64,
    /// Guild the schedule belongs to.
    pub guild_id: GuildId,
    /// Channels summarized.
    pub source_channels: Vec<ChannelId>,
    /// Channel the digest is posted to.
    pub target_channel: ChannelId,
    /// Cron expression as the user wrote it.
    pub cron: String,
    /// IANA time zone name.
    pub timezone: String,
    /// Window in hours; None means "since the previous run" (24 h for the first).
    pub window_hours: Option<u32>,
    /// Prompt variant override.
    pub kind: Option<ChannelKind>,
    /// Output language.
    pub language: Option<String>,
    /// Paused schedules do not fire.
    pub enabled: bool,
    /// Who created it (user id, or a label such as `cli`).
    pub created_by: String,
    /// Last fire time that was run (its digest enqueued).
    pub last_run: Option<Timestamp>,
    /// Next fire time.
    pub next_run: Option<Timestamp>,
    /// Post a one-line "quiet day" note when the window holds no messages (else post nothing).
    pub quiet_day: bool,
    /// What the last digest did, e.g. `posted 2 summaries (31 messages)`.
    pub last_outcome: Option<String>,
    /// Why the last digest attempt failed (cleared by the next success).
    pub last_error: Option<String>,
    /// How long each digest may be (schedules stored before it existed read `standard`).
    #[serde(default)]
    pub detail: Detail,
}

/// How often a personal digest comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Every day.
    Daily,
    /// Once a week, on this day (0 = Sunday … 6 = Saturday).
    Weekly(u8),
}

/// A member's personal digest: summaries of the channels they picked (none = every text and
/// announcement channel of the server they can read), sent to them by DM at their hour in their time zone. Made by
/// `/digest subscribe` (validated by `schedule::personal`), stored by `store::subscriptions`,
/// fired by the scheduler, run as a `personal_digest` job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Subscription id (assigned by the store).
    pub id: u64,
    /// Server whose channels are summarized.
    pub guild_id: GuildId,
    /// The member it is sent to.
    pub user_id: UserId,
    /// Daily or weekly (one subscription per member, server and kind of cadence).
    pub cadence: Cadence,
    /// Local hour it is sent at (0–23).
    pub hour: u8,
    /// IANA time zone of `hour`.
    pub timezone: String,
    /// Channels picked; empty = every text and announcement channel of the server the member
    /// can read.
    pub channels: Vec<ChannelId>,
    /// How long each channel's summary may be.
    pub detail: Detail,
    /// When it was made (or last changed by its member).
    pub created_at: Timestamp,
    /// Last fire time that was run (its job enqueued).
    pub last_run: Option<Timestamp>,
    /// Next fire time.
    pub next_run: Option<Timestamp>,
    /// Set when a DM could not be delivered (the member's DMs are closed): no digest is made
    /// until they subscribe again.
    pub paused_at: Option<Timestamp>,
    /// True once the member was told about the pause (on their next command).
    pub pause_told: bool,
    /// What the last digest did, e.g. `sent 2 summaries (31 messages)`.
    pub last_outcome: Option<String>,
}

/// State of a queued job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (possibly until `next_attempt_at`).
    Queued,
    /// Claimed by a worker.
    Running,
    /// Finished successfully.
    Done,
    /// Gave up after the last attempt.
    Failed,
}

/// A durable job in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Job id (assigned by the store, increasing).
    pub id: u64,
    /// Job kind, e.g. `summary_request` or `digest`.
    pub kind: String,
    /// Kind-specific parameters as JSON text.
    pub payload: String,
    /// Current state.
    pub state: JobState,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time the next attempt may start (also the lease expiry while running).
    pub next_attempt_at: Timestamp,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// Last state change.
    pub updated_at: Timestamp,
    /// Last error, for failed attempts.
    pub last_error: Option<String>,
    /// Result (JSON text) when done.
    pub result: Option<String>,
}

/// One server's settings as stored (changed with `/summarybot settings`, `optout`, `optin`;
/// validated, resolved and changed by `settings`, stored by `store::settings`). `None` / absent =
/// the config file's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildSettings {
    /// Output language of summaries.
    pub language: Option<String>,
    /// Window of `/summarize` and `!summary` without hours.
    pub default_hours: Option<u32>,
    /// Per-user cooldown, in milliseconds.
    pub cooldown_ms: Option<u64>,
    /// LLM tokens allowed per UTC day; 0 = unlimited.
    pub daily_token_budget: Option<u64>,
    /// Prompt variant forced per channel.
    pub channel_kinds: BTreeMap<ChannelId, ChannelKind>,
    /// Channels neither stored nor summarized.
    pub opted_out: BTreeSet<ChannelId>,
    /// Role whose members may manage schedules (besides Manage Server).
    pub schedule_manager_role: Option<u64>,
    /// Who last changed each key, and when.
    pub changes: BTreeMap<String, ChangeRecord>,
    /// The server's admins turned personal digests (`/digest`) off (settings stored before it
    /// existed read `false`: on).
    #[serde(default)]
    pub personal_digests_off: bool,
}

/// Who changed a setting, when, and to what (as shown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The Discord user.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// The new value as shown to people (`default` for a reset).
    pub value: String,
}
