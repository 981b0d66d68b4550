//! Batched ingest: gateway events become [`Op`]s on a bounded queue (back-pressure when the
//! disk is slow); one writer task applies them to the store in group commits, flushing on batch
//! size or after [`FLUSH_EVERY`], and drains everything queued when closed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::model::{ChannelId, ChannelInfo, ChatMessage, MessageId, Timestamp};
use crate::store::{Store, StoreError};

/// Queue capacity; senders wait when it is full.
pub const QUEUE_CAPACITY: usize = 4096;
/// Most operations applied per batch.
pub const BATCH_MAX: usize = 512;
/// Longest time an operation waits in a partial batch.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Most edits and deletes remembered to order late creates (serenity handles each gateway
/// event in its own task, so a create can reach the writer after its edit or delete).
pub const RECENT_MAX: usize = 50_000;

/// What recently happened to a message: its latest edit time, or deleted (`None`).
#[derive(Debug, Default)]
pub struct Recent {
    seen: HashMap<(ChannelId, MessageId), Option<Timestamp>>,
}

impl Recent {
    fn edited(&mut self, channel: ChannelId, id: MessageId, at: Timestamp) {
        self.make_room();
        let entry = self.seen.entry((channel, id)).or_insert(Some(at));
        if let Some(t) = entry {
            *t = (*t).max(at);
        }
    }

    fn deleted(&mut self, channel: ChannelId, id: MessageId) {
        self.make_room();
        self.seen.insert((channel, id), None);
    }

    /// True when `msg` is older than what was already applied (a late create).
    fn is_stale(&self, msg: &ChatMessage) -> bool {
        match self.seen.get(&(msg.channel_id, msg.id)) {
            None => false,
            Some(None) => true,
            Some(Some(edited)) => *edited > msg.version(),
        }
    }

    fn make_room(&mut self) {
        if self.seen.len() >= RECENT_MAX {
            self.seen.clear();
        }
    }
}

/// One change to apply to the store.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A new (or fully re-sent) message.
    Upsert(ChatMessage),
    /// An edit; `full` is the whole message when the event carried it (stored if unknown).
    Edit {
        /// Channel of the message.
        channel: ChannelId,
        /// The message.
        id: MessageId,
        /// New text.
        content: String,
        /// Edit time.
        edited_at: Timestamp,
        /// The whole message, when known.
        full: Option<Box<ChatMessage>>,
    },
    /// Deleted messages (one or a bulk delete).
    Delete {
        /// Channel of the messages.
        channel: ChannelId,
        /// The messages.
        ids: Vec<MessageId>,
    },
    /// Channel metadata seen on the gateway.
    Channel(ChannelInfo),
}

/// The sending side, cheap to clone into event handlers.
#[derive(Clone, Debug)]
pub struct Ingest {
    tx: mpsc::Sender<Command>,
}

#[derive(Debug)]
enum Command {
    Apply(Op),
    /// Apply everything queued so far, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
    Close,
}

/// The writer task; [`Writer::close`] flushes and stops it.
#[derive(Debug)]
pub struct Writer {
    ingest: Ingest,
    task: JoinHandle<()>,
}

/// Start the writer over `store`.
pub fn start(store: Arc<Store>) -> (Ingest, Writer) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let ingest = Ingest { tx };
    let task = tokio::spawn(run(store, rx));
    (ingest.clone(), Writer { ingest, task })
}

impl Ingest {
    /// Queue an operation, waiting while the queue is full. False once the writer stopped.
    pub async fn push(&self, op: Op) -> bool {
        self.tx.send(Command::Apply(op)).await.is_ok()
    }

    /// Wait until everything queued before this call is in the store.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Command::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl Writer {
    /// Apply everything queued, then stop the writer.
    pub async fn close(self) {
        let _ = self.ingest.tx.send(Command::Close).await;
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "ingest writer panicked");
        }
    }
}

async fn run(store: Arc<Store>, mut rx: mpsc::Receiver<Command>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    let mut waiters = Vec::new();
    let recent = Arc::new(std::sync::Mutex::new(Recent::default()));
    loop {
        let Some(first) = rx.recv().await else { break };
        let mut closing = absorb(first, &mut batch, &mut waiters);
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while !closing && waiters.is_empty() && batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(cmd)) => closing = absorb(cmd, &mut batch, &mut waiters),
                Ok(None) => closing = true,
                Err(_) => break,
            }
        }
        if closing {
            // Take whatever else was queued before the close.
            while let Ok(cmd) = rx.try_recv() {
                absorb(cmd, &mut batch, &mut waiters);
            }
        }
        let ops = std::mem::take(&mut batch);
        let store = Arc::clone(&store);
        let recent = Arc::clone(&recent);
        let job = move || {
            let mut recent = recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            apply(&store, ops, &mut recent)
        };
        match tokio::task::spawn_blocking(job).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(applied = n, "ingest batch stored"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "ingest batch failed; events lost"),
            Err(e) => tracing::error!(error = %e, "ingest batch panicked"),
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
        if closing {
            break;
        }
    }
}

/// Add a command to the batch; true when it asks to close.
fn absorb(
    cmd: Command,
    batch: &mut Vec<Op>,
    waiters: &mut Vec<tokio::sync::oneshot::Sender<()>>,
) -> bool {
    match cmd {
        Command::Apply(op) => {
            batch.push(op);
            false
        }
        Command::Flush(w) => {
            waiters.push(w);
            false
        }
        Command::Close => true,
    }
}

/// Apply operations in order; runs of upserts go in one transaction, and changed channel
/// metadata (independent of messages) in one more; a create older than an edit or delete already
/// applied is skipped. Returns ops applied.
pub fn apply(store: &Store, ops: Vec<Op>, recent: &mut Recent) -> Result<usize, StoreError> {
    let total = ops.len();
    let mut upserts: Vec<ChatMessage> = Vec::new();
    let mut channels: Vec<ChannelInfo> = Vec::new();
    for op in ops {
        if !matches!(op, Op::Upsert(_)) && !upserts.is_empty() {
            store.ingest_messages(&std::mem::take(&mut upserts), Timestamp::now())?;
        }
        match op {
            Op::Upsert(m) if recent.is_stale(&m) => {}
            Op::Upsert(m) => upserts.push(m),
            Op::Edit {
                channel,
                id,
                content,
                edited_at,
                full,
            } => {
                recent.edited(channel, id, edited_at);
                let known = store.edit_message(channel, id, &content, edited_at)?;
                if let (false, Some(full), None) = (known, full, store.message(channel, id)?) {
                    store.upsert_messages(&[*full])?;
                }
            }
            Op::Delete { channel, ids } => {
                for id in &ids {
                    recent.deleted(channel, *id);
                }
                store.delete_messages(channel, &ids)?;
            }
            Op::Channel(info) => {
                if store.channel(info.id)?.as_ref() != Some(&info) {
                    channels.retain(|c| c.id != info.id);
                    channels.push(info);
                }
            }
        }
    }
    store.ingest_messages(&upserts, Timestamp::now())?;
    store.put_channels(&channels)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TimeWindow;
    use crate::store::test_support::temp_store;

    use crate::store::test_support::msg;

    fn all(store: &Store, channel: u64) -> Vec<ChatMessage> {
        let window = TimeWindow {
            start: Timestamp(0),
            end: Timestamp(i64::MAX),
        };
        store.messages_in(ChannelId(channel), window).expect("read")
    }

    #[test]
    fn apply_keeps_order_of_creates_edits_and_deletes() {
        let (_dir, store) = temp_store();
        let ops = vec![
            Op::Upsert(msg(1, 10, 1000, "first")),
            Op::Upsert(msg(1, 11, 2000, "second")),
            Op::Edit {
                channel: ChannelId(1),
                id: MessageId(10),
                content: "first, edited".into(),
                edited_at: Timestamp(3000),
                full: None,
            },
            Op::Delete {
                channel: ChannelId(1),
                ids: vec![MessageId(11)],
            },
            Op::Upsert(msg(1, 12, 4000, "third")),
        ];
        assert_eq!(
            apply(&store, ops, &mut Recent::default()).expect("applied"),
            5
        );
        let texts: Vec<String> = all(&store, 1).into_iter().map(|m| m.content).collect();
        assert_eq!(texts, ["first, edited", "third"]);
        // The three created messages are counted in the status page's hourly ingest history.
        let hours = store
            .ingest_hourly(Timestamp::now().minus_hours(1), Timestamp::now())
            .expect("history");
        assert_eq!(hours.iter().map(|h| h.messages).sum::<u64>(), 3);
    }

    #[test]
    fn channel_updates_in_a_batch_are_stored_and_the_last_one_wins() {
        let (_dir, store) = temp_store();
        let named = |id: u64, name: &str| ChannelInfo {
            name: name.into(),
            ..ChannelInfo::unknown(ChannelId(id), None)
        };
        let ops = vec![
            Op::Channel(named(1, "general")),
            Op::Upsert(msg(1, 10, 1000, "hello")),
            Op::Channel(named(2, "dev")),
            Op::Channel(named(1, "general-renamed")),
        ];
        apply(&store, ops, &mut Recent::default()).expect("applied");
        let mut stored: Vec<(u64, String)> = store
            .channels()
            .expect("channels")
            .into_iter()
            .map(|c| (c.id.0, c.name))
            .collect();
        stored.sort();
        assert_eq!(
            stored,
            [(1, "general-renamed".to_string()), (2, "dev".to_string())]
        );
        assert_eq!(all(&store, 1).len(), 1);
    }

    #[test]
    fn edit_of_an_unknown_message_stores_the_full_message() {
        let (_dir, store) = temp_store();
        let mut full = msg(2, 20, 1000, "edited text");
        full.edited_at = Some(Timestamp(1500));
        let op = Op::Edit {
            channel: ChannelId(2),
            id: MessageId(20),
            content: "edited text".into(),
            edited_at: Timestamp(1500),
            full: Some(Box::new(full.clone())),
        };
        apply(&store, vec![op], &mut Recent::default()).expect("applied");
        assert_eq!(all(&store, 2), [full]);
    }

    #[test]
    fn late_creates_do_not_undo_edits_or_deletes() {
        let (_dir, store) = temp_store();
        let mut recent = Recent::default();
        let edit = Op::Edit {
            channel: ChannelId(4),
            id: MessageId(40),
            content: "edited".into(),
            edited_at: Timestamp(2000),
            full: Some(Box::new(ChatMessage {
                edited_at: Some(Timestamp(2000)),
                ..msg(4, 40, 1000, "edited")
            })),
        };
        let delete = Op::Delete {
            channel: ChannelId(4),
            ids: vec![MessageId(41)],
        };
        apply(&store, vec![edit, delete], &mut recent).expect("applied");
        let late = vec![
            Op::Upsert(msg(4, 40, 1000, "original")),
            Op::Upsert(msg(4, 41, 1100, "deleted one")),
        ];
        apply(&store, late, &mut recent).expect("applied");
        let texts: Vec<String> = all(&store, 4).into_iter().map(|m| m.content).collect();
        assert_eq!(texts, ["edited"]);
    }

    #[tokio::test]
    async fn writer_flushes_on_timer_and_drains_on_close() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let (ingest, writer) = start(Arc::clone(&store));
        assert!(ingest.push(Op::Upsert(msg(3, 30, 1000, "a"))).await);
        ingest.flush().await;
        assert_eq!(all(&store, 3).len(), 1);
        for i in 0..1000 {
            assert!(
                ingest
                    .push(Op::Upsert(msg(3, 100 + i, 2000 + i as i64, "b")))
                    .await
            );
        }
        writer.close().await;
        assert_eq!(all(&store, 3).len(), 1001);
        assert!(!ingest.push(Op::Upsert(msg(3, 5000, 1, "late"))).await);
    }
}
