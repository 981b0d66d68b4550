//! End to end: personal digests by DM (`/digest`) with the real binary against the fake
//! Discord. A member subscribes (a first DM proves they can be reached), lists and
//! unsubscribes; every refusal says why (a channel they cannot read, an excluded one, a bad
//! option, closed DMs, the server's switch off). A due digest is sent by DM with only the
//! channels the member can read at send time (asked of Discord then, not of the bot's cache:
//! a member overwrite it has not seen leaves a channel out),
//! from messages the bot never saw live; closed DMs pause it and the member is told once,
//! after the answer to their next command.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use summarybot::model::{Cadence, ChannelId, Detail, GuildId, Subscription, Timestamp, UserId};
use summarybot::store::Store;
use support::bot_process::BotProcess;
use support::fake_discord::{
    embeds_text, id_ago, message, now_ms, snowflake_time_ms, FakeDiscord, ALICE, APP_ID, BOB,
    CAROL, DAVE, EVERYONE_PERMS, EXCLUDED, GENERAL, GUILD, SECRET, TOKEN, VIEW_CHANNEL,
};
use support::private_answers::{answer, ask, subcommand, Ids};

/// Generous bound for anything the bot does in response to an event (debug build, busy CI).
const WAIT: Duration = Duration::from_secs(20);
/// Manage Server (for `/summarybot settings`).
const ADMIN_PERMS: u64 = EVERYONE_PERMS | (1 << 5);

fn config(fake: &FakeDiscord) -> String {
    format!(
        r#"
[discord]
token = "{TOKEN}"
api_base_url = "{}"
guild_ids = ["{GUILD}"]
cooldown = "0s"

[summary]
exclude_channels = ["{EXCLUDED}"]

[llm]
provider = "builtin"

[scheduler]
enabled = true

[storage]
path = "db/summarybot.redb"
"#,
        fake.api_base_url()
    )
}

/// Start the bot and wait until it registered its commands (with `/digest`).
fn start(dir: &Path, fake: &FakeDiscord) -> BotProcess {
    let bot = BotProcess::start(dir, &config(fake));
    let registered = fake.wait_for_call(WAIT, |c| {
        c.method == "PUT" && c.path.ends_with(&format!("/guilds/{GUILD}/commands"))
    });
    let registered = registered.unwrap_or_else(|| panic!("no registration:\n{}", bot.log()));
    let digest = registered
        .json
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "digest");
    assert!(digest.is_some(), "no /digest command registered");
    bot
}

/// A `/digest <sub>` by `user` with string/int options.
fn digest(ids: &Ids, user: u64, sub: &str, opts: &Value) -> Value {
    subcommand(ids.next(), user, "digest", sub, opts, EVERYONE_PERMS)
}

fn text_opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// Poll `done` (outside the fake's lock) until it holds or [`WAIT`] passes.
fn wait_until(done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn a_member_subscribes_lists_and_unsubscribes_and_each_refusal_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let bot = start(dir.path(), &fake);
    fake.wait_for_identify(WAIT).expect("identified");
    let ids = Ids::from(1000);

    // Nothing yet.
    let none = ask(&fake, &bot, &digest(&ids, BOB, "list", &json!([])));
    assert!(none.starts_with("You have no personal digests"), "{none}");

    // Subscribe: a first DM proves Bob can be reached, then it is stored.
    let opts = json!([text_opt("every", "daily"), {"name": "hour", "type": 4, "value": 7},
        text_opt("timezone", "Europe/Berlin")]);
    let done = ask(&fake, &bot, &digest(&ids, BOB, "subscribe", &opts));
    assert!(
        done.starts_with("Subscribed: **daily** at 07:00 Europe/Berlin, every channel you can read, brief detail — next <t:"),
        "{done}"
    );
    let dm = fake.dm_channel(BOB).expect("a DM channel was opened");
    let hello = fake.posts_to(dm);
    assert_eq!(hello.len(), 1);
    let hello_text = hello[0].json["content"].as_str().unwrap_or_default();
    assert!(
        hello_text.starts_with("You will get your daily digest of **Fake Guild** here"),
        "{hello_text}"
    );
    assert_eq!(hello[0].json["allowed_mentions"], json!({"parse": []}));

    // Again with other options: the same digest changes.
    let opts = json!([
        text_opt("every", "daily"),
        text_opt("channels", &format!("<#{GENERAL}>")),
        text_opt("detail", "standard")
    ]);
    let updated = ask(&fake, &bot, &digest(&ids, BOB, "subscribe", &opts));
    assert!(
        updated.starts_with(&format!(
            "Updated: **daily** at 09:00 UTC, <#{GENERAL}>, standard detail"
        )),
        "{updated}"
    );
    let weekly = json!([text_opt("every", "weekly"), text_opt("weekday", "friday")]);
    ask(&fake, &bot, &digest(&ids, BOB, "subscribe", &weekly));
    let list = ask(&fake, &bot, &digest(&ids, BOB, "list", &json!([])));
    assert!(
        list.contains(&format!("**daily** at 09:00 UTC, <#{GENERAL}>")),
        "{list}"
    );
    assert!(list.contains("**weekly on friday** at 09:00 UTC"), "{list}");
    // Another day changes the weekly digest; it does not add a second one.
    let sunday = json!([text_opt("every", "weekly"), text_opt("weekday", "sunday")]);
    let moved = ask(&fake, &bot, &digest(&ids, BOB, "subscribe", &sunday));
    assert!(
        moved.starts_with("Updated: **weekly on sunday**"),
        "{moved}"
    );
    let list = ask(&fake, &bot, &digest(&ids, BOB, "list", &json!([])));
    assert_eq!(list.matches("weekly").count(), 1, "{list}");

    refusals_say_why(&fake, &bot, &ids);
    switched_off_then_unsubscribed(&fake, &bot, &ids);
}

/// A channel Bob cannot read, an excluded one, bad options, closed DMs: refused, saying why.
fn refusals_say_why(fake: &FakeDiscord, bot: &BotProcess, ids: &Ids) {
    // Refusals: a channel Bob cannot read, an excluded one, bad options.
    let secret = json!([
        text_opt("every", "daily"),
        text_opt("channels", &format!("<#{GENERAL}> <#{SECRET}>"))
    ]);
    let refused = ask(fake, bot, &digest(ids, BOB, "subscribe", &secret));
    assert_eq!(
        refused,
        format!("You need the View Channel permission in <#{SECRET}> to get it in your digest.")
    );
    let excluded = json!([
        text_opt("every", "daily"),
        text_opt("channels", &format!("<#{EXCLUDED}>"))
    ]);
    let refused = ask(fake, bot, &digest(ids, BOB, "subscribe", &excluded));
    assert!(refused.contains("excluded from summaries"), "{refused}");
    let zone = json!([
        text_opt("every", "daily"),
        text_opt("timezone", "Mars/Olympus")
    ]);
    let refused = ask(fake, bot, &digest(ids, BOB, "subscribe", &zone));
    assert!(refused.starts_with("`timezone`:"), "{refused}");
    let words = json!([text_opt("every", "daily"), text_opt("channels", "general")]);
    let refused = ask(fake, bot, &digest(ids, BOB, "subscribe", &words));
    assert!(
        refused.starts_with("`channels`: \"general\" is not a channel"),
        "{refused}"
    );
    let day = json!([text_opt("every", "daily"), text_opt("weekday", "monday")]);
    let refused = ask(fake, bot, &digest(ids, BOB, "subscribe", &day));
    assert!(
        refused.starts_with("`weekday` applies to weekly digests"),
        "{refused}"
    );

    // Closed DMs: nothing is set up, and the member is told how to fix it.
    fake.close_dms(CAROL);
    let refused = ask(
        fake,
        bot,
        &digest(
            ids,
            CAROL,
            "subscribe",
            &json!([text_opt("every", "daily")]),
        ),
    );
    assert!(
        refused.starts_with("I cannot send you DMs, so nothing was set up"),
        "{refused}"
    );
    let none = ask(fake, bot, &digest(ids, CAROL, "list", &json!([])));
    assert!(none.starts_with("You have no personal digests"), "{none}");
}

/// The server's admins turn the feature off; Bob stops his digests.
fn switched_off_then_unsubscribed(fake: &FakeDiscord, bot: &BotProcess, ids: &Ids) {
    // The server's admins turn the feature off: new subscriptions are refused; Bob's list says so.
    let off = json!([{"name": "personal_digests", "type": 5, "value": false}]);
    let changed = ask(
        fake,
        bot,
        &subcommand(
            ids.next(),
            ALICE,
            "summarybot",
            "settings",
            &off,
            ADMIN_PERMS,
        ),
    );
    assert!(changed.contains("personal_digests"), "{changed}");
    let refused = ask(
        fake,
        bot,
        &digest(
            ids,
            ALICE,
            "subscribe",
            &json!([text_opt("every", "daily")]),
        ),
    );
    assert!(
        refused.starts_with("Personal digests are turned off in this server"),
        "{refused}"
    );
    let list = ask(fake, bot, &digest(ids, BOB, "list", &json!([])));
    assert!(
        list.contains("Nothing is sent until they turn them on again"),
        "{list}"
    );

    // Unsubscribe one cadence, then the rest, then nothing is left.
    let stop = ask(
        fake,
        bot,
        &digest(
            ids,
            BOB,
            "unsubscribe",
            &json!([text_opt("every", "weekly")]),
        ),
    );
    assert_eq!(
        stop,
        "Stopped: your weekly on sunday digest from this server."
    );
    let stop = ask(fake, bot, &digest(ids, BOB, "unsubscribe", &json!([])));
    assert_eq!(stop, "Stopped: your daily digest from this server.");
    let stop = ask(fake, bot, &digest(ids, BOB, "unsubscribe", &json!([])));
    assert_eq!(stop, "You have no personal digest in this server to stop.");
}

/// A daily digest of `user` due a minute ago.
fn due(user: u64, channels: &[u64]) -> Subscription {
    let now = i64::try_from(now_ms()).expect("now");
    Subscription {
        id: 0,
        guild_id: GuildId(GUILD),
        user_id: UserId(user),
        cadence: Cadence::Daily,
        hour: 9,
        timezone: "UTC".into(),
        channels: channels.iter().copied().map(ChannelId).collect(),
        detail: Detail::Brief,
        created_at: Timestamp(now - 86_400_000),
        last_run: None,
        next_run: Some(Timestamp(now - 60_000)),
        paused_at: None,
        pause_told: false,
        last_outcome: None,
    }
}

#[test]
fn a_due_digest_is_sent_by_dm_with_only_what_the_member_can_read_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("db")).expect("db dir");
    {
        let store = Store::open(&dir.path().join("db/summarybot.redb")).expect("open");
        store
            .put_subscription(&due(BOB, &[]))
            .expect("bob: every channel he can read");
        store
            .put_subscription(&due(ALICE, &[GENERAL, SECRET]))
            .expect("alice: general and secret");
        store
            .put_subscription(&due(CAROL, &[GENERAL]))
            .expect("carol");
        store
            .put_subscription(&due(DAVE, &[GENERAL]))
            .expect("dave: id 4");
    }
    let fake = FakeDiscord::start();
    // Discussion the bot never saw live: only in Discord's history.
    let hour = Duration::from_secs(3600);
    let history = |channel: u64, seq: u64, author: u64, text: &str| {
        let id = id_ago(hour, seq);
        message(channel, id, author, text, snowflake_time_ms(id))
    };
    fake.add_history(vec![
        history(
            GENERAL,
            1,
            ALICE,
            "the release train leaves on friday, freeze is thursday",
        ),
        history(
            GENERAL,
            2,
            BOB,
            "I will update the changelog for the release",
        ),
        history(
            SECRET,
            3,
            ALICE,
            "salary bands for the new hires are attached",
        ),
        history(SECRET, 4, ALICE, "keep the salary numbers between us"),
        history(EXCLUDED, 5, ALICE, "my private notes on the audit"),
    ]);
    // Dave lost #general after subscribing (a member overwrite the bot's cache does not know).
    fake.deny_member_unannounced(GENERAL, DAVE, VIEW_CHANNEL);
    fake.close_dms(CAROL);
    let bot = start(dir.path(), &fake);

    // Bob, Alice, Carol and Dave are subscriptions 1 to 4.
    for id in 1..=4 {
        let finished = wait_until(|| {
            bot.log().lines().any(|l| {
                l.contains("personal digest finished")
                    && l.contains(&format!("subscription_id={id} "))
            })
        });
        assert!(finished, "digest {id} did not run:\n{}", bot.log());
    }
    for user in [BOB, ALICE] {
        let dm = fake.dm_channel(user).expect("dm");
        let posts = fake.posts_to(dm);
        let heading = posts[0].json["content"].as_str().unwrap_or_default();
        assert!(
            heading.starts_with("Your daily digest of **Fake Guild** since <t:"),
            "{heading}"
        );
        let text: String = posts.iter().map(embeds_text).collect();
        // Bob reads #general only (#secret is hidden from @everyone); Alice, the owner, both.
        assert!(text.contains("release"), "{user}: {text}");
        assert_eq!(text.contains("salary"), user == ALICE, "{user}: {text}");
        for p in &posts {
            assert_eq!(p.json["allowed_mentions"], json!({"parse": []}), "no pings");
            assert!(p.json["nonce"].is_string() && p.json["enforce_nonce"] == true);
            let body = p.json.to_string();
            assert!(
                !body.contains("audit"),
                "{user} got the excluded channel: {body}"
            );
        }
    }
    // Dave can read none of his channels now: nothing is sent to him.
    assert_eq!(fake.dm_channel(DAVE), None, "no DM for Dave");
    // The member's permissions were asked of Discord at send time.
    let asked = fake
        .calls()
        .into_iter()
        .any(|c| c.method == "GET" && c.path == format!("/api/v10/guilds/{GUILD}/channels"));
    assert!(asked);

    carol_is_told_once(&fake, &bot);
}

/// Carol's DMs are closed: her digest is paused, and she is told once, after the answer to her
/// next command (whatever it is).
fn carol_is_told_once(fake: &FakeDiscord, bot: &BotProcess) {
    let ids = Ids::from(3000);
    let dm_refused = wait_until(|| {
        fake.dm_channel(CAROL)
            .is_some_and(|dm| !fake.posts_to(dm).is_empty())
    });
    assert!(dm_refused, "no DM attempt for Carol:\n{}", bot.log());
    let paused = wait_until(|| bot.log().contains("the personal digest is paused"));
    assert!(paused, "Carol's digest was not paused:\n{}", bot.log());
    let catchup = digest(&ids, CAROL, "list", &json!([]));
    let id = ids.0.load(std::sync::atomic::Ordering::SeqCst) - 1;
    fake.inject_interaction(&catchup);
    let list = answer(fake, bot, id);
    assert!(list.contains("**paused**"), "{list}");
    let followup = format!("/api/v10/webhooks/{APP_ID}/token-{id}");
    let told = fake
        .wait_for_call(WAIT, |c| c.method == "POST" && c.path == followup)
        .unwrap_or_else(|| panic!("Carol was not told:\n{}", bot.log()));
    let notice = told.json["content"].as_str().unwrap_or_default();
    assert!(
        notice.starts_with("Your personal digest from **Fake Guild** is paused"),
        "{notice}"
    );
    assert_eq!(told.json["flags"], 64, "only Carol sees it");
    // Told once: her next command gets no second notice.
    let again = digest(&ids, CAROL, "list", &json!([]));
    let id = ids.0.load(std::sync::atomic::Ordering::SeqCst) - 1;
    fake.inject_interaction(&again);
    answer(fake, bot, id);
    std::thread::sleep(Duration::from_secs(1));
    let second = format!("/api/v10/webhooks/{APP_ID}/token-{id}");
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.method == "POST" && c.path == second),
        "told twice"
    );
}
