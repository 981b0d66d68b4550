//! The service end to end over a real store and a scripted history source: the decision table,
//! complete windows and persisted coverage, gap fill, kind and language.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::gap_fill::Candidate;
use super::*;
use crate::model::{snowflake_at, GuildId, UserId};
use crate::settings::Change;
use crate::store::test_support::{msg, temp_store};

#[path = "../../tests/support/fake_openai.rs"]
#[allow(dead_code, reason = "one test here uses the fake OpenAI server")]
mod fake_openai;

const HOUR: i64 = 3_600_000;

/// Discord's side: the messages it has; a fetch stores those in the window.
#[derive(Default)]
struct FakeHistory {
    store: Mutex<Option<Arc<Store>>>,
    discord: Mutex<Vec<ChatMessage>>,
    fetches: AtomicUsize,
}

impl HistorySource for FakeHistory {
    fn fetch<'a>(
        &'a self,
        channel: ChannelId,
        window: TimeWindow,
        max_messages: usize,
        allowed: &'a (dyn Fn() -> bool + Send + Sync),
    ) -> crate::llm::BoxFuture<'a, Result<Fetched, String>> {
        Box::pin(async move {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let mut found: Vec<ChatMessage> = self
                .discord
                .lock()
                .expect("lock")
                .iter()
                .filter(|m| m.channel_id == channel && window.contains(m.timestamp))
                .cloned()
                .collect();
            found.sort_by_key(|m| std::cmp::Reverse(m.timestamp));
            let complete = found.len() <= max_messages;
            found.truncate(max_messages);
            if !allowed() {
                return Ok(Fetched::default());
            }
            let store = self.store.lock().expect("lock").clone().expect("store");
            store.upsert_messages(&found).map_err(|e| e.to_string())?;
            Ok(Fetched {
                messages: found.len(),
                requests: 1,
                complete,
                oldest: found.last().map(|m| m.timestamp),
            })
        })
    }

    fn channel_info(&self, channel: ChannelId) -> crate::llm::BoxFuture<'_, Option<ChannelInfo>> {
        Box::pin(async move {
            Some(ChannelInfo {
                name: format!("fetched-{channel}"),
                guild_name: Some("Fetched Guild".into()),
                ..ChannelInfo::unknown(channel, Some(GuildId(1)))
            })
        })
    }
}

fn service_over(store: &Arc<Store>, config: Config) -> ChannelSummaries {
    ChannelSummaries::new(config, Arc::clone(store), true).expect("service")
}

fn with_history(service: &ChannelSummaries, store: &Arc<Store>) -> Arc<FakeHistory> {
    let history = Arc::new(FakeHistory::default());
    *history.store.lock().expect("lock") = Some(Arc::clone(store));
    service.attach_history(Arc::clone(&history) as Arc<dyn HistorySource>);
    history
}

fn info(id: u64, parent: Option<u64>) -> ChannelInfo {
    ChannelInfo {
        parent_id: parent.map(ChannelId),
        name: format!("channel-{id}"),
        ..ChannelInfo::unknown(ChannelId(id), Some(GuildId(1)))
    }
}

fn guild_msg(channel: u64, id: u64, ts: i64, text: &str) -> ChatMessage {
    let mut m = msg(channel, id, ts, text);
    m.guild_id = Some(GuildId(1));
    m
}

fn window(start: i64, end: i64) -> TimeWindow {
    TimeWindow {
        start: Timestamp(start),
        end: Timestamp(end),
    }
}

#[tokio::test]
async fn every_state_gets_one_decision_and_refusals_say_why() {
    // The states of the decision table; each trigger goes through `admit`/`summarize`.
    let cases: [(&str, ChannelInfo, Option<&str>); 5] = [
        ("allowed", info(4, None), None),
        (
            "excluded by the operator",
            info(7, None),
            Some("summary.exclude_channels"),
        ),
        ("opted out", info(5, None), Some("opted out")),
        (
            "thread of an opted-out channel",
            info(6, Some(5)),
            Some("opted out"),
        ),
        ("settings unreadable", info(4, None), Some("cannot be read")),
    ];
    for (state, channel, refusal) in cases {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        if state == "settings unreadable" {
            store
                .put_raw_guild_settings(GuildId(1), &[1, 0xFF, 0xFF])
                .expect("damage");
        } else {
            store
                .update_guild_settings(GuildId(1), |s| {
                    s.apply(&Change::OptOut(ChannelId(5)), UserId(2), Timestamp(0));
                })
                .expect("settings");
        }
        store
            .upsert_messages(&[guild_msg(channel.id.0, 1, 10, "we ship on friday")])
            .expect("store");
        let mut config = Config::default();
        config.summary.exclude_channels = vec![ChannelId(7)];
        let service = service_over(&store, config);
        let admitted = service.admit(&channel);
        let summarized = service
            .summarize(
                ChannelRequest::new(channel.clone(), window(0, 100)),
                &|_| {},
            )
            .await;
        match refusal {
            None => {
                assert!(admitted.is_ok(), "{state}");
                assert_eq!(summarized.expect(state).summary.message_count, 1);
            }
            Some(why) => {
                let barred = admitted.expect_err(state);
                assert!(barred.to_string().contains(why), "{state}: {barred}");
                let err = summarized.expect_err(state);
                assert!(err.to_string().contains(why), "{state}: {err}");
                assert_eq!(
                    err.is_retryable(),
                    state == "settings unreadable",
                    "{state}: only a damaged record may be retried"
                );
                assert!(!barred.user_message(channel.id).is_empty());
            }
        }
    }
}

#[tokio::test]
async fn a_window_is_completed_once_and_the_coverage_survives_a_restart() {
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let now = Timestamp::now().0;
    let old = (1..=3).map(|i| {
        guild_msg(
            4,
            i,
            now - 20 * HOUR + i64::try_from(i).unwrap_or(0),
            "history",
        )
    });
    let service = service_over(&store, Config::default());
    let history = with_history(&service, &store);
    history.discord.lock().expect("lock").extend(old);
    service.coverage().session_started(Timestamp(now - HOUR));
    let w = window(now - 24 * HOUR, now);
    let served = service
        .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
        .await
        .expect("summary");
    assert_eq!(served.summary.message_count, 3, "the history was fetched");
    assert_eq!(served.completeness, Completeness::Complete);
    assert_eq!(history.fetches.load(Ordering::SeqCst), 1);
    service
        .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
        .await
        .expect("again");
    assert_eq!(
        history.fetches.load(Ordering::SeqCst),
        1,
        "covered: no fetch"
    );
    service.checkpoint(&[info(4, None)]);

    // A restart: the covered window is not fetched again; one reaching past the downtime is.
    let restarted = service_over(&store, Config::default());
    let history2 = with_history(&restarted, &store);
    restarted.coverage().session_started(Timestamp::now());
    restarted
        .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
        .await
        .expect("covered before the restart");
    assert_eq!(history2.fetches.load(Ordering::SeqCst), 0);
    let later = window(now - 24 * HOUR, Timestamp::now().0 + HOUR);
    restarted
        .summarize(ChannelRequest::new(info(4, None), later), &|_| {})
        .await
        .expect("past the downtime");
    assert_eq!(history2.fetches.load(Ordering::SeqCst), 1, "not trusted");

    // Offline (no Discord): stored messages only, and it says so.
    let offline = service_over(&store, Config::default());
    let served = offline
        .summarize(ChannelRequest::new(info(4, None), later), &|_| {})
        .await
        .expect("offline");
    assert_eq!(served.completeness, Completeness::StoredOnly);
    let strings = crate::summarize::lang::Lang::De.strings();
    assert_eq!(
        served.completeness.note(strings),
        Some("Diese Zusammenfassung umfasst nur gespeicherte Nachrichten (hier keine Verbindung zu Discord).")
    );
}

#[tokio::test]
async fn gap_fill_fetches_what_was_missed_and_skips_what_is_current() {
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let now = Timestamp::now().0;
    let at = |h: i64| now - h * HOUR;
    let id = |t: i64| snowflake_at(Timestamp(t)) + 1;
    // Channel 4: stored up to 10 h ago, three messages posted while the bot was away.
    // Channel 8: nothing new. Channel 5: opted out. Channel 9: never stored.
    store
        .upsert_messages(&[
            guild_msg(4, id(at(10)), at(10), "before"),
            guild_msg(8, id(at(9)), at(9), "x"),
        ])
        .expect("store");
    store
        .update_guild_settings(GuildId(1), |s| {
            s.apply(&Change::OptOut(ChannelId(5)), UserId(2), Timestamp(0));
        })
        .expect("settings");
    let service = service_over(&store, Config::default());
    let history = with_history(&service, &store);
    let missed: Vec<ChatMessage> = (1..=3)
        .map(|h| guild_msg(4, id(at(h)), at(h), "while away"))
        .collect();
    history.discord.lock().expect("lock").extend(missed);
    service.coverage().session_started(Timestamp(now));
    let candidates = vec![
        Candidate {
            channel: info(4, None),
            last_message_id: Some(id(at(1))),
        },
        Candidate {
            channel: info(8, None),
            last_message_id: Some(id(at(9))),
        },
        Candidate {
            channel: info(5, None),
            last_message_id: Some(id(at(1))),
        },
        Candidate {
            channel: info(9, None),
            last_message_id: Some(id(at(1))),
        },
    ];
    let reports = Mutex::new(Vec::new());
    let report = service
        .gap_fill(candidates, gap_fill::MAX_PER_CHANNEL, &|r| {
            reports.lock().expect("lock").push(r.clone());
        })
        .await;
    assert_eq!(report.channels_checked, 2, "{report:?}");
    assert_eq!(report.channels_filled, 1);
    assert_eq!(report.messages, 3);
    assert!(!report.running);
    assert_eq!(
        history.fetches.load(Ordering::SeqCst),
        1,
        "only the channel with a gap"
    );
    assert!(reports
        .lock()
        .expect("lock")
        .first()
        .is_some_and(|r| r.running));
    let stored = store
        .messages_in(ChannelId(4), window(at(11), now))
        .expect("read");
    assert_eq!(stored.len(), 4);
    // Both are joined to the session: a window reaching back before the downtime is covered.
    assert!(service
        .coverage()
        .covers(ChannelId(4), None, window(at(10), now + HOUR))
        .expect("read"));
    assert!(service
        .coverage()
        .covers(ChannelId(8), None, window(at(9), now + HOUR))
        .expect("read"));
}

#[tokio::test]
async fn kind_and_language_follow_thread_server_and_request() {
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let mut dev = info(4, None);
    dev.name = "backend-dev".into();
    store.put_channel(&dev).expect("parent stored");
    store
        .update_guild_settings(GuildId(1), |s| {
            s.apply(
                &Change::Language(Some("German".into())),
                UserId(2),
                Timestamp(0),
            );
        })
        .expect("settings");
    let mut config = Config::default();
    config.summary.language = Some("French".into());
    let service = service_over(&store, config);
    let settings = service.admit(&info(10, Some(4))).expect("allowed");
    assert_eq!(
        service.kind(&settings, &info(10, Some(4))),
        ChannelKind::Dev,
        "thread → its channel"
    );
    assert_eq!(
        service.kind(&settings, &info(11, None)),
        ChannelKind::General
    );
    assert_eq!(
        service.language(&settings, Some("Dutch".into())).as_deref(),
        Some("Dutch")
    );
    assert_eq!(service.language(&settings, None).as_deref(), Some("German"));
    let other = service
        .admit(&ChannelInfo::unknown(ChannelId(3), Some(GuildId(2))))
        .expect("ok");
    assert_eq!(
        service.language(&other, None).as_deref(),
        Some("French"),
        "the operator's"
    );
}

#[tokio::test]
async fn an_unknown_channel_is_looked_up_on_discord_and_kept() {
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let service = service_over(&store, Config::default());
    assert_eq!(
        service.channel(ChannelId(77), None).await.name,
        "77",
        "offline placeholder"
    );
    with_history(&service, &store);
    let found = service.channel(ChannelId(78), None).await;
    assert_eq!(found.name, "fetched-78");
    assert_eq!(found.guild_id, Some(GuildId(1)));
    assert_eq!(store.channel(ChannelId(78)).expect("read"), Some(found));
}

#[tokio::test]
async fn an_opted_out_members_messages_reach_no_summary_and_no_gap_fill() {
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let now = Timestamp::now().0;
    let id = |t: i64| snowflake_at(Timestamp(t)) + 1;
    let by = |user: u64, name: &str, t: i64, text: &str| {
        let mut m = guild_msg(4, id(t), t, text);
        m.author.id = UserId(user);
        m.author.name = name.into();
        m
    };
    store
        .forget_user(UserId(66), Timestamp(now - 30 * HOUR), None)
        .expect("forget");
    // Gap fill checks channels the store knows: one message from before the downtime.
    store
        .upsert_messages(&[by(5, "ann", now - 10 * HOUR, "the release needs testing")])
        .expect("store");
    let service = service_over(&store, Config::default());
    let history = with_history(&service, &store);
    history.discord.lock().expect("lock").extend([
        by(5, "ann", now - 3 * HOUR, "we ship the release on friday"),
        by(66, "zed", now - 2 * HOUR, "my secret plan is the migration"),
        by(7, "bob", now - HOUR, "friday works for the release"),
    ]);
    service.coverage().session_started(Timestamp(now));
    // Gap fill: the missed messages are fetched, theirs is not stored.
    let report = service
        .gap_fill(
            vec![Candidate {
                channel: info(4, None),
                last_message_id: Some(id(now - HOUR)),
            }],
            gap_fill::MAX_PER_CHANNEL,
            &|_| {},
        )
        .await;
    assert_eq!(report.channels_filled, 1, "{report:?}");
    let stored = store
        .messages_in(ChannelId(4), window(now - 24 * HOUR, now))
        .expect("read");
    let authors: Vec<u64> = stored.iter().map(|m| m.author.id.0).collect();
    assert_eq!(authors, [5, 5, 7]);
    // A trigger that adds messages after `prepare` (a channel's threads) cannot bring theirs in.
    let req = ChannelRequest::new(info(4, None), window(now - 24 * HOUR, now));
    let mut prepared = service.prepare(req).await.expect("prepare");
    assert_eq!(prepared.messages.len(), 3);
    prepared
        .messages
        .push(by(66, "zed", now - 30 * 60_000, "the secret plan again"));
    let served = service.finish(prepared, &|_| {}).await.expect("summary");
    let summary = served.summary;
    assert_eq!(summary.message_count, 3);
    assert!(
        !summary.participants.iter().any(|p| p == "zed"),
        "{summary:?}"
    );
    let text = format!("{summary:?}");
    assert!(!text.contains("secret"), "{text}");
    let cited = cited_ids(&summary);
    assert!(
        !cited.is_empty() && !cited.contains(&id(now - 2 * HOUR)),
        "{cited:?}"
    );
}

/// Every message id the summary cites.
fn cited_ids(summary: &Summary) -> Vec<u64> {
    summary
        .sections
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .flat_map(|p| p.citations.iter().map(|c| c.0))
        })
        .collect()
}

#[tokio::test]
async fn a_window_over_the_cap_is_summarized_from_its_newest_messages_and_says_so() {
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let base = Timestamp::now().0 - 10 * HOUR;
    let batch: Vec<ChatMessage> = (0..1_250u64)
        .map(|i| {
            let text = format!("release {i} of the parser shipped, please review issue #{i}");
            guild_msg(
                4,
                10_000 + i,
                base + i64::try_from(i).unwrap_or(0) * 1_000,
                &text,
            )
        })
        .collect();
    store.upsert_messages(&batch).expect("store");
    let mut config = Config::default();
    config.summary.max_window_messages = 1_000;
    let service = service_over(&store, config);
    let w = window(base - HOUR, base + 2 * HOUR);
    let served = service
        .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
        .await
        .expect("summary");
    assert_eq!(served.summary.message_count, 1_000, "the newest 1,000");
    assert_eq!(served.summary.left_out, 250);
    let cited = cited_ids(&served.summary);
    assert!(!cited.is_empty(), "{:?}", served.summary.sections);
    assert!(
        cited.iter().all(|&id| id >= 10_250),
        "only the newest are read: {cited:?}"
    );
    let text = crate::summarize::render::markdown(&served.summary);
    assert!(
        text.contains("_250 older messages left out (window limit)_"),
        "{text}"
    );

    // Served from the cache the next time, still saying what it left out.
    let again = service
        .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
        .await
        .expect("again");
    assert!(again.summary.cached);
    assert_eq!(again.summary.left_out, 250);
    // Under the cap nothing is left out and nothing is said.
    let small = window(base + 900_000, base + 2 * HOUR);
    let served = service
        .summarize(ChannelRequest::new(info(4, None), small), &|_| {})
        .await
        .expect("summary");
    assert_eq!(
        (served.summary.message_count, served.summary.left_out),
        (350, 0)
    );
    assert!(!crate::summarize::render::markdown(&served.summary).contains("left out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_opts_out_while_the_llm_works_is_not_in_the_summary_served() {
    let fake = fake_openai::FakeOpenAi::start();
    // The first call takes a while: the member runs forget-me meanwhile.
    fake.push_fault(fake_openai::Fault::Hang(std::time::Duration::from_millis(
        1_500,
    )));
    let (_d, store) = temp_store();
    let store = Arc::new(store);
    let base = Timestamp::now().0 - HOUR;
    let mut batch = Vec::new();
    for i in 0..6u64 {
        let at = base + i64::try_from(i).unwrap_or(0) * 1_000;
        let mut theirs = guild_msg(4, 100 + i, at, &format!("leaver plan number {i}"));
        theirs.author.id = UserId(66);
        batch.push(theirs);
        batch.push(guild_msg(
            4,
            200 + i,
            at + 500,
            &format!("ordinary note {i}"),
        ));
    }
    store.upsert_messages(&batch).expect("store");
    let mut config = Config::default();
    config.llm.provider = LlmProvider::OpenAi;
    config.llm.base_url = fake.base_url();
    config.llm.model = fake_openai::FAKE_MODEL.into();
    config.llm.max_retries = 1;
    let service = Arc::new(service_over(&store, config));
    let w = window(base - HOUR, base + HOUR);
    let task = tokio::spawn({
        let service = Arc::clone(&service);
        async move {
            service
                .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
                .await
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fake.chat_requests().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the LLM was never asked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    store
        .forget_user(UserId(66), Timestamp::now(), None)
        .expect("forget");
    let served = task.await.expect("joined").expect("summary");
    let calls = fake.chat_requests();
    assert_eq!(calls.len(), 2, "made again without them");
    assert!(calls[0].prompt_text().contains("leaver plan"));
    assert!(!calls[1].prompt_text().contains("leaver plan"));
    assert_eq!(served.summary.message_count, 6);
    let cited = cited_ids(&served.summary);
    assert!(!cited.is_empty());
    assert!(cited.iter().all(|&id| id >= 200), "{cited:?}");
    // And the first summary, which may quote them, is not served from the cache later.
    let again = service
        .summarize(ChannelRequest::new(info(4, None), w), &|_| {})
        .await
        .expect("again");
    assert!(again.summary.cached);
    assert_eq!(again.summary.sections, served.summary.sections);
    // The draft that read them is gone from the cache: only the summary made without them is.
    assert_eq!(
        store
            .invalidate_channel_summaries(ChannelId(4))
            .expect("cache"),
        1
    );
}
