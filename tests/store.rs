//! Black-box story of the store through its public API: everything written before a restart
//! is there after it, and the queue and caches keep their promises across it.

use std::time::Duration;

use chrono::NaiveDate;
use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChatMessage, GuildId, Job, JobState, MessageId, MessageKind,
    Schedule, Summary, TimeWindow, Timestamp, TokenUsage, UserId,
};
use summarybot::store::{Store, SCHEMA_VERSION};

const GUILD: GuildId = GuildId(10);
const CHANNEL: ChannelId = ChannelId(20);
const HOUR: i64 = 3_600_000;

fn channel() -> ChannelInfo {
    ChannelInfo {
        id: CHANNEL,
        guild_id: Some(GUILD),
        guild_name: Some("Rustaceans".into()),
        name: "dev".into(),
        topic: Some("ship it".into()),
        parent_id: None,
    }
}

fn message(id: u64, hour: i64) -> ChatMessage {
    ChatMessage {
        id: MessageId(id),
        channel_id: CHANNEL,
        guild_id: Some(GUILD),
        author: Author {
            id: UserId(id % 3 + 1),
            name: format!("user{}", id % 3),
            display_name: Some("Nick".into()),
            is_bot: false,
        },
        timestamp: Timestamp(hour * HOUR),
        edited_at: None,
        kind: MessageKind::Default,
        content: format!("message {id}"),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: 1,
        pinned: false,
    }
}

fn summary(now: Timestamp) -> Summary {
    Summary {
        channel: channel(),
        window: TimeWindow::last_hours(now, 24),
        message_count: 48,
        participants: vec!["Nick".into()],
        sections: Vec::new(),
        provider: "builtin".into(),
        model: "extractive-v1".into(),
        usage: TokenUsage::default(),
        cached: false,
        fallback_reason: Some("LLM quota exhausted".into()),
        focus: None,
        created_at: now,
        language: None,
        withheld: 0,
        left_out: 0,
        cache_entry: None,
    }
}

#[test]
fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested").join("summarybot.redb");
    let now = Timestamp(48 * HOUR);
    let lease = Duration::from_secs(300);
    let day = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");

    let running_job = {
        let store = Store::open(&path).expect("first open creates the file");
        store.put_channel(&channel()).expect("channel");
        let msgs: Vec<_> = (1..=48).map(|i| message(i, i as i64)).collect();
        assert_eq!(store.upsert_messages(&msgs).expect("ingest"), 48);
        store
            .cache_summary("k1", &summary(now), Timestamp(now.0 + HOUR), 100)
            .expect("cache");
        store
            .delete_messages(CHANNEL, &[MessageId(48)])
            .expect("delete");
        assert_eq!(
            store
                .claim_idempotency_key("delivery-1", "job:1", Timestamp(now.0 + HOUR), now)
                .expect("claim"),
            None
        );
        store
            .add_usage(
                Some(GUILD),
                day,
                "openai",
                "gpt-4o-mini",
                TokenUsage {
                    prompt_tokens: 900,
                    completion_tokens: 100,
                },
            )
            .expect("usage");
        let job = store
            .enqueue_job("summary_request", "{\"channel\":20}", now)
            .expect("enqueue");
        store
            .enqueue_job("digest", "{}", Timestamp(now.0 + HOUR))
            .expect("enqueue later");
        let claimed = store
            .claim_next_job(now, lease)
            .expect("claim")
            .expect("a job");
        assert_eq!(claimed.id, job.id);
        store.close().expect("clean shutdown");
        claimed
    };

    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.channel(CHANNEL).expect("channel"), Some(channel()));
    let day_window = TimeWindow::last_hours(now, 24);
    let recent = store.messages_in(CHANNEL, day_window).expect("window");
    assert_eq!(
        recent.len(),
        24,
        "hours 24..=47 are in the window; 48 was deleted"
    );
    assert_eq!(recent.first().map(|m| m.id), Some(MessageId(24)));
    assert_eq!(
        store.latest_message_time(CHANNEL).expect("latest"),
        Some(Timestamp(47 * HOUR))
    );

    // The delete invalidated the channel's cache before the restart; a fresh entry still works.
    assert!(store.cached_summary("k1", now).expect("cache").is_none());
    store
        .cache_summary("k2", &summary(now), Timestamp(now.0 + HOUR), 100)
        .expect("cache");
    let hit = store
        .cached_summary("k2", now)
        .expect("cache")
        .expect("hit");
    assert!(hit.cached);
    assert_eq!(hit.fallback_reason.as_deref(), Some("LLM quota exhausted"));

    assert_eq!(
        store
            .claim_idempotency_key("delivery-1", "job:2", Timestamp(now.0 + HOUR), now)
            .expect("claim"),
        Some("job:1".to_string())
    );
    assert_eq!(
        store.usage_on(Some(GUILD), day).expect("usage").total(),
        1000
    );

    check_queue_after_restart(&store, &running_job, now, lease);
    check_schedules_and_stats(&store);
}

/// The job claimed before the restart is re-claimable once its lease lapses, not before.
fn check_queue_after_restart(store: &Store, running_job: &Job, now: Timestamp, lease: Duration) {
    let before_lease = Timestamp(now.0 + 1000);
    assert!(store
        .claim_next_job(before_lease, lease)
        .expect("claim")
        .is_none());
    let after_lease = Timestamp(running_job.next_attempt_at.0);
    let recovered = store
        .claim_next_job(after_lease, lease)
        .expect("claim")
        .expect("recovered");
    assert_eq!((recovered.id, recovered.attempts), (running_job.id, 2));
    store
        .complete_job(recovered.id, "{}", after_lease)
        .expect("complete");
    assert_eq!(store.job_count(JobState::Done).expect("count"), 1);
    assert_eq!(store.job_count(JobState::Queued).expect("count"), 1);
}

/// Schedules still work after the restart, and the stats describe the file.
fn check_schedules_and_stats(store: &Store) {
    let id = store
        .insert_schedule(&Schedule {
            id: 0,
            guild_id: GUILD,
            source_channels: vec![CHANNEL],
            target_channel: ChannelId(21),
            cron: "0 9 * * MON-FRI".into(),
            timezone: "UTC".into(),
            window_hours: None,
            kind: None,
            language: Some("en".into()),
            enabled: true,
            created_by: "cli".into(),
            last_run: None,
            next_run: None,
            quiet_day: false,
            last_outcome: None,
            last_error: None,
            detail: summarybot::model::Detail::default(),
        })
        .expect("schedule");
    assert_eq!(store.schedules().expect("list").len(), 1);
    assert!(store.delete_schedule(id).expect("delete"));

    let stats = store.stats().expect("stats");
    assert_eq!(stats.schema_version, SCHEMA_VERSION);
    let rows = |name: &str| stats.tables.iter().find(|(n, _)| n == name).map(|r| r.1);
    assert_eq!(rows("messages"), Some(47));
    assert_eq!(rows("jobs"), Some(2));
    assert!(store.check_consistency().expect("check").is_ok());
}
