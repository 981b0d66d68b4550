//! Black-box tests of the DiscordChatExporter import: every fixture in `tests/fixtures/exports`,
//! the bundled sample export, the streaming API and a large synthetic export.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use summarybot::import::{read_export, stream_export, Export, ImportError, ReadOptions};
use summarybot::model::{ChannelId, ChatMessage, GuildId, MessageId, MessageKind, UserId};

const QUIET: ReadOptions = ReadOptions { progress: false };

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exports")
        .join(name)
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/dev-channel-export.json")
}

fn read(name: &str) -> Export {
    read_export(&fixture(name), &QUIET).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn read_err(name: &str) -> ImportError {
    match read_export(&fixture(name), &QUIET) {
        Ok(e) => panic!(
            "{name}: expected an error, got {} messages",
            e.messages.len()
        ),
        Err(e) => e,
    }
}

fn by_id(export: &Export, id: u64) -> &ChatMessage {
    export
        .messages
        .iter()
        .find(|m| m.id == MessageId(id))
        .unwrap_or_else(|| panic!("message {id} missing"))
}

#[test]
fn sample_export_parses_with_every_kind_of_message() {
    let export = read_export(&sample(), &QUIET).expect("sample parses");
    let n = export.messages.len();
    assert!((250..=400).contains(&n), "{n} messages");
    assert_eq!(export.stats.messages, n);
    assert_eq!(export.stats.skipped, 0);
    assert_eq!(export.stats.duplicates, 0);

    assert_eq!(export.channel.name, "dev");
    assert_eq!(export.channel.guild_name.as_deref(), Some("Porchlight"));
    assert!(export.channel.topic.is_some());
    assert!(export.channel.guild_id.is_some());

    let kinds: HashSet<_> = export
        .messages
        .iter()
        .map(|m| format!("{:?}", m.kind))
        .collect();
    for kind in [
        MessageKind::Default,
        MessageKind::Reply,
        MessageKind::MemberJoin,
        MessageKind::ChannelPinned,
        MessageKind::ThreadCreated,
    ] {
        assert!(kinds.contains(&format!("{kind:?}")), "no {kind:?} message");
    }
    let ids: HashSet<_> = export.messages.iter().map(|m| m.id).collect();
    for m in &export.messages {
        assert_eq!(m.channel_id, export.channel.id);
        if m.kind == MessageKind::Reply {
            let target = m.reply_to.expect("replies have a target");
            assert!(
                ids.contains(&target),
                "reply to a message outside the export"
            );
        }
    }
    assert!(export.messages.iter().any(|m| m.author.is_bot));
    assert!(export.messages.iter().any(|m| m.pinned));
    assert!(
        export
            .messages
            .iter()
            .filter(|m| m.edited_at.is_some())
            .count()
            >= 3
    );
    assert!(export.messages.iter().any(|m| m.reaction_count > 0));
    assert!(export.messages.iter().any(|m| !m.attachments.is_empty()));
    assert!(export.messages.iter().any(|m| m.content.contains("```")));
    assert!(export
        .messages
        .iter()
        .any(|m| m.author.id == UserId(456_226_577_798_135_808)));
    let people: HashSet<_> = export
        .messages
        .iter()
        .filter(|m| !m.author.is_bot)
        .map(|m| m.author.shown_name())
        .collect();
    assert!((8..=12).contains(&people.len()), "{people:?}");
    assert!(people.contains("Sam"), "nicknames are shown: {people:?}");
    assert!(export
        .messages
        .windows(2)
        .all(|w| (w[0].timestamp, w[0].id) <= (w[1].timestamp, w[1].id)));
    let span = export.messages[n - 1].timestamp.millis() - export.messages[0].timestamp.millis();
    assert!(
        (24 * 3_600_000..=72 * 3_600_000).contains(&span),
        "span {span} ms"
    );
}

#[test]
fn sample_streams_in_batches_equal_to_the_whole_read() {
    let whole = read_export(&sample(), &QUIET).expect("sample parses");
    let mut streamed = Vec::new();
    let mut sizes = Vec::new();
    let (channel, stats) = stream_export(&sample(), &QUIET, 50, |ch, batch| {
        assert_eq!(ch.id, whole.channel.id);
        sizes.push(batch.len());
        streamed.extend(batch);
        Ok::<(), String>(())
    })
    .expect("streams");
    assert_eq!(channel, whole.channel);
    assert_eq!(stats, whole.stats);
    assert_eq!(streamed, whole.messages);
    assert_eq!(sizes.len(), whole.messages.len().div_ceil(50));
    assert!(
        sizes[..sizes.len() - 1].iter().all(|&s| s == 50),
        "{sizes:?}"
    );
}

#[test]
fn old_format_export_maps_fields() {
    let export = read("old-format.json");
    assert_eq!(export.stats.messages, 4);
    assert_eq!(export.channel.id, ChannelId(210_519_834_823_913_473));
    assert_eq!(
        export.channel.guild_id,
        Some(GuildId(210_519_834_823_913_472))
    );
    assert_eq!(export.channel.name, "general");
    assert_eq!(export.channel.topic, None);

    let first = by_id(&export, 751_114_237_040_574_485);
    assert_eq!(first.author.shown_name(), "Wren");
    assert_eq!(first.author.name, "wren");
    assert_eq!(first.timestamp.millis(), 1_599_157_243_123);

    let reply = by_id(&export, 751_114_342_225_330_206);
    assert_eq!(reply.kind, MessageKind::Reply);
    assert_eq!(reply.reply_to, Some(MessageId(751_114_237_040_574_485)));
    assert_eq!(reply.author.display_name, None, "no nickname field");
    assert_eq!(
        reply.edited_at.map(summarybot::model::Timestamp::millis),
        Some(1_599_157_320_000)
    );
    assert_eq!(reply.reaction_count, 2);
    assert_eq!(reply.attachments[0].file_name, "bench.png");
    assert!(reply.attachments[0].url.ends_with("/bench.png"));

    let pin = by_id(&export, 751_114_570_944_938_045);
    assert_eq!(pin.kind, MessageKind::ChannelPinned);
    assert!(pin.kind.is_system());
    let join = by_id(&export, 751_120_034_511_831_080);
    assert_eq!(join.kind, MessageKind::MemberJoin);
}

#[test]
fn duplicate_ids_keep_the_last_occurrence() {
    let export = read("duplicate-ids.json");
    assert_eq!(export.stats.messages, 3);
    assert_eq!(export.stats.duplicates, 2);
    let contents: Vec<_> = export.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        contents,
        ["first (edited)", "second", "third"],
        "sorted oldest first"
    );
    assert!(export.messages[0].edited_at.is_some());
}

#[test]
fn duplicates_are_counted_when_streaming_too() {
    let mut batches = Vec::new();
    let (_, stats) = stream_export(&fixture("duplicate-ids.json"), &QUIET, 2, |_, b| {
        batches.push(b.iter().map(|m| m.content.clone()).collect::<Vec<_>>());
        Ok::<(), String>(())
    })
    .expect("streams");
    assert_eq!(stats.messages, 3);
    assert_eq!(stats.duplicates, 2);
    assert_eq!(
        batches,
        [
            vec!["first (original)", "third"],
            vec!["first (edited)", "second"],
            vec!["second"]
        ]
    );
}

#[test]
fn deleted_user_is_kept_as_an_author() {
    let export = read("deleted-user.json");
    let m = &export.messages[0];
    assert_eq!(m.author.id, UserId(456_226_577_798_135_808));
    assert_eq!(m.author.shown_name(), "Deleted User");
    assert_eq!(m.author.display_name, None);
    assert_eq!(export.channel.topic.as_deref(), Some("hello"));
}

#[test]
fn null_emoji_ids_and_null_emoji_are_tolerated() {
    let export = read("null-emoji.json");
    assert_eq!(export.messages[0].reaction_count, 7);
    assert_eq!(export.messages[0].author.display_name, None);
}

#[test]
fn missing_fields_are_defaulted_or_skipped() {
    let export = read("missing-fields.json");
    assert_eq!(export.stats.messages, 5);
    assert_eq!(
        export.stats.skipped, 8,
        "4 bad objects + null + number + 2 with a wrong-typed field"
    );
    let after = by_id(&export, 1_345_000_000_000_000_022);
    assert_eq!(after.content, "still read after the bad ones");
    assert_eq!(export.channel.name, "missing-fields", "from the file name");
    assert_eq!(export.channel.guild_id, None);

    let bare = by_id(&export, 1_345_000_000_000_000_001);
    assert!(bare.content.is_empty());
    assert_eq!(bare.kind, MessageKind::Default);
    let untyped_reply = by_id(&export, 1_345_000_000_000_000_003);
    assert_eq!(untyped_reply.kind, MessageKind::Reply);
    let unknown = by_id(&export, 1_345_000_000_000_000_008);
    assert_eq!(unknown.kind, MessageKind::Other);
    assert!(export
        .messages
        .iter()
        .all(|m| m.channel_id == export.channel.id));
}

#[test]
fn channel_after_messages_relabels_when_reading_whole() {
    let name = "messages-first [4242].json";
    let export = read(name);
    assert_eq!(export.channel.id, ChannelId(5555));
    assert_eq!(export.channel.name, "late-channel");
    assert_eq!(export.channel.guild_id, Some(GuildId(6666)));
    assert_eq!(export.messages[0].channel_id, ChannelId(5555));
    assert_eq!(export.messages[0].guild_id, Some(GuildId(6666)));

    let (channel, stats) = stream_export(&fixture(name), &QUIET, 10, |ch, batch| {
        assert!(batch.iter().all(|m| m.channel_id == ch.id));
        Ok::<(), String>(())
    })
    .expect("streams");
    assert_eq!(channel.id, ChannelId(4242), "id from the file name");
    assert_eq!(stats.messages, 1);
}

fn assert_json_error(name: &str, want_line: usize, hint: &str) {
    let err = read_err(name);
    let ImportError::Json { line, column, .. } = &err else {
        panic!("{name}: expected a JSON error, got {err:?}");
    };
    assert_eq!(*line, want_line, "{name}: {err}");
    assert!(*column >= 1, "{name}: {err}");
    let text = err.to_string();
    assert!(text.contains(name), "names the file: {text}");
    assert!(text.contains(&format!(":{line}:{column}:")), "{text}");
    assert!(text.contains(hint), "{text}");
}

#[test]
fn malformed_files_name_file_line_and_column() {
    assert_json_error("truncated.json", 54, "ends too early");
    assert_json_error("not-json.json", 1, "--format Json");
    assert_json_error("syntax-error.json", 5, "expected");
}

fn assert_not_export(path: &Path, reason: &str) {
    match read_export(path, &QUIET) {
        Err(err @ ImportError::NotAnExport { .. }) => {
            let text = err.to_string();
            assert!(text.contains(reason), "{text}");
            assert!(text.contains("not a DiscordChatExporter export"), "{text}");
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            assert!(text.contains(file), "{text}");
        }
        other => panic!("{}: expected NotAnExport, got {other:?}", path.display()),
    }
}

#[test]
fn json_that_is_not_an_export_is_rejected() {
    assert_not_export(&fixture("not-an-export.json"), "missing `messages`");
    assert_not_export(&fixture("list.json"), "JSON list");
    assert_not_export(
        &fixture("messages-not-a-list.json"),
        "`messages` is not a list",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").expect("write");
    assert_not_export(&empty, "empty");
    let scalar = dir.path().join("scalar.json");
    std::fs::write(&scalar, "\"hello\"").expect("write");
    assert_not_export(&scalar, "string");
}

#[test]
fn byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bom.json");
    std::fs::write(
        &path,
        "\u{feff}{\"channel\":{\"id\":\"3\",\"name\":\"bom\"},\"messages\":[{\"id\":\"1\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
    )
    .expect("write");
    let export = read_export(&path, &QUIET).expect("BOM is skipped");
    assert_eq!(export.channel.name, "bom");
    assert_eq!(export.messages.len(), 1);
}

#[test]
fn a_directory_is_an_io_error_saying_what_to_give() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = read_export(dir.path(), &QUIET).expect_err("directory");
    assert!(matches!(err, ImportError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("directory"), "{err}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = fixture("does-not-exist.json");
    let err = read_export(&path, &QUIET).expect_err("missing");
    assert!(matches!(err, ImportError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist.json"), "{err}");
}

#[test]
fn callback_error_stops_the_import() {
    let mut calls = 0;
    let err = stream_export(&sample(), &QUIET, 10, |_, _| {
        calls += 1;
        if calls == 3 {
            Err("disk full")
        } else {
            Ok(())
        }
    })
    .expect_err("callback fails");
    assert_eq!(calls, 3, "no batch after the failure");
    match &err {
        ImportError::Callback { message, .. } => assert_eq!(message, "disk full"),
        other => panic!("expected Callback, got {other:?}"),
    }
    assert!(err.to_string().contains("dev-channel-export.json"), "{err}");
}

/// Write a synthetic export of `count` messages, each with some padding text.
fn write_synthetic(path: &Path, count: u64) {
    let file = std::fs::File::create(path).expect("create");
    let mut w = std::io::BufWriter::new(file);
    let pad = "lorem ipsum dolor sit amet ".repeat(8);
    write!(
        w,
        r#"{{"guild":{{"id":"1","name":"Big"}},"channel":{{"id":"2","type":"GuildTextChat","name":"big"}},"messages":["#
    )
    .expect("write");
    for i in 0..count {
        let sep = if i == 0 { "" } else { "," };
        let secs = i % 60;
        let mins = (i / 60) % 60;
        let hours = i / 3600;
        write!(
            w,
            r#"{sep}{{"id":"{}","type":"Default","timestamp":"2025-01-01T00:00:00+00:00","timestampEdited":null,"isPinned":false,"content":"message {i} at {hours}:{mins:02}:{secs:02} {pad}","author":{{"id":"{}","name":"user{}","nickname":"User {}","isBot":false,"roles":[]}},"attachments":[],"embeds":[],"reactions":[{{"emoji":{{"id":null,"name":"👍"}},"count":1}}],"mentions":[]}}"#,
            1_000_000 + i,
            i % 10,
            i % 10,
            i % 10
        )
        .expect("write");
    }
    writeln!(w, "],\"messageCount\":{count}}}").expect("write");
    w.flush().expect("flush");
}

#[test]
fn large_export_streams_in_bounded_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.json");
    let count = 30_000;
    write_synthetic(&path, count);
    let size = std::fs::metadata(&path).expect("meta").len();
    assert!(size > 10_000_000, "synthetic export is {size} bytes");

    let mut batches = 0;
    let mut total = 0;
    let mut largest = 0;
    let (channel, stats) = stream_export(&path, &QUIET, 1000, |_, batch| {
        batches += 1;
        total += batch.len();
        largest = largest.max(batch.len());
        Ok::<(), String>(())
    })
    .expect("streams");
    assert_eq!(channel.name, "big");
    assert_eq!(total, count as usize);
    assert_eq!(stats.messages, count as usize);
    assert_eq!(batches, 30);
    assert_eq!(largest, 1000);
}

/// Proof that messages are handed out while the file is still being read: the export comes
/// through a named pipe whose writer only sends the second half after the first batch arrived.
#[cfg(unix)]
#[test]
fn batches_arrive_before_the_end_of_the_input() {
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let pipe = dir.path().join("live.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());

    let (first_batch_tx, first_batch_rx) = mpsc::channel::<()>();
    let writer_path = pipe.clone();
    let writer = std::thread::spawn(move || -> bool {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .expect("open pipe");
        let msg = |i: u32| {
            format!(r#"{{"id":"{i}","timestamp":"2025-01-01T00:00:00Z","content":"m{i}"}}"#)
        };
        let first: Vec<String> = (1..=3).map(msg).collect();
        write!(
            f,
            r#"{{"channel":{{"id":"7","name":"live"}},"messages":[{},"#,
            first.join(",")
        )
        .expect("write");
        f.flush().expect("flush");
        // Generous guard against a hang, not a readiness wait: the reader signals when ready.
        let got_batch = first_batch_rx.recv_timeout(Duration::from_secs(60)).is_ok();
        write!(f, "{}]}}", msg(4)).expect("write");
        got_batch
    });
    let mut sizes = Vec::new();
    let (_, stats) = stream_export(&pipe, &QUIET, 3, |_, batch| {
        if sizes.is_empty() {
            let _ = first_batch_tx.send(());
        }
        sizes.push(batch.len());
        Ok::<(), String>(())
    })
    .expect("streams from a pipe");
    assert!(
        writer.join().expect("writer thread"),
        "first batch only came after the whole input"
    );
    assert_eq!(sizes, [3, 1]);
    assert_eq!(stats.messages, 4);
}
