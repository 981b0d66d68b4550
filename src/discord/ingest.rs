//! Batched ingest: gateway events become [`Op`]s on a bounded queue (back-pressure when the
//! disk is slow); one writer task applies them to the store in group commits, flushing on batch
//! size or after [`FLUSH_EVERY`], and drains everything queued when closed. What the store
//! refuses (a full disk) is held and retried every [`RETRY_EVERY`], at most [`HELD_MAX`]
//! operations.

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
/// Wait between attempts to store held operations while the store refuses writes.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Most operations held while the store refuses writes (about 10 MB of messages). Beyond it new
/// messages, edits and channel updates are dropped; deletions are still held, up to twice as many
/// operations in all, so a deleted message does not outlive the outage in the database.
pub const HELD_MAX: usize = 20_000;

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
        /// Discord's `edited_timestamp` (none when only link previews were added).
        edited_at: Option<Timestamp>,
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

/// Called whenever the writer drops an event it could not hold, so the live session's coverage
/// stops vouching for what was dropped.
pub type LossHook = Box<dyn Fn() + Send + Sync>;

/// Start the writer over `store`.
pub fn start(store: Arc<Store>, on_loss: LossHook) -> (Ingest, Writer) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let ingest = Ingest { tx };
    let task = tokio::spawn(run(store, rx, on_loss));
    (ingest.clone(), Writer { ingest, task })
}

impl Ingest {
    /// Queue an operation, waiting while the queue is full. False once the writer stopped.
    pub async fn push(&self, op: Op) -> bool {
        self.tx.send(Command::Apply(op)).await.is_ok()
    }

    /// Wait until everything queued before this call is in the store (while the store refuses
    /// writes: until it takes them again, or the writer closes).
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

/// Operations not stored yet, in order: the batch being gathered, and what the store refused.
/// Bounded by [`HELD_MAX`]; what does not fit is counted, logged and reported to the loss hook.
struct Held {
    ops: Vec<Op>,
    /// Dropped since the store last took a batch.
    dropped: u64,
    on_loss: LossHook,
}

impl Held {
    /// Nothing held; `on_loss` is called for every dropped operation.
    fn new(on_loss: LossHook) -> Self {
        Self {
            ops: Vec::new(),
            dropped: 0,
            on_loss,
        }
    }

    /// Hold `op`, or drop it when full: the oldest are kept (they are next in line to be stored,
    /// and edits and deletes apply in order after them); a deletion still fits up to twice the cap.
    fn push(&mut self, op: Op) {
        let room = if matches!(op, Op::Delete { .. }) {
            2 * HELD_MAX
        } else {
            HELD_MAX
        };
        if self.ops.len() < room {
            self.ops.push(op);
            return;
        }
        self.dropped += 1;
        if self.dropped == 1 {
            tracing::warn!(
                held = self.ops.len(),
                "the store still refuses writes and {HELD_MAX} events are held: newer messages, \
                 edits and channel updates are dropped from now on (summaries fetch those \
                 windows from Discord again)"
            );
        }
        (self.on_loss)();
    }

    /// The store failed `refused`'s first operation for another reason than the disk (a damaged
    /// record, say): retrying would fail the same way and hold everything behind it, so that one
    /// is skipped (a loss) and the rest held for the next round.
    fn skip_failed(&mut self, error: &StoreError, mut refused: Vec<Op>) {
        tracing::warn!(error = %error, "an ingested event could not be stored and is skipped");
        if !refused.is_empty() {
            refused.remove(0);
            (self.on_loss)();
        }
        self.restore(refused);
    }

    /// Operations held.
    fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when nothing is held.
    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Events dropped since the store last took a batch.
    fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Take everything held, to be applied.
    fn take(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.ops)
    }

    /// Put back what the store refused, ahead of what arrived meanwhile.
    fn restore(&mut self, mut refused: Vec<Op>) {
        refused.append(&mut self.ops);
        self.ops = refused;
    }
}

async fn run(store: Arc<Store>, mut rx: mpsc::Receiver<Command>, on_loss: LossHook) {
    let mut held = Held::new(on_loss);
    let mut waiters = Vec::new();
    let recent = Arc::new(std::sync::Mutex::new(Recent::default()));
    // Set while the store refuses writes: gather for RETRY_EVERY instead of a batch.
    let mut refusing: Option<StoreError> = None;
    loop {
        let mut closing = false;
        if held.is_empty() && waiters.is_empty() {
            let Some(first) = rx.recv().await else { break };
            closing = absorb(first, &mut held, &mut waiters);
        }
        let wait = if refusing.is_some() {
            RETRY_EVERY
        } else {
            FLUSH_EVERY
        };
        let deadline = tokio::time::Instant::now() + wait;
        while !closing && (refusing.is_some() || (waiters.is_empty() && held.len() < BATCH_MAX)) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(cmd)) => closing = absorb(cmd, &mut held, &mut waiters),
                Ok(None) => closing = true,
                Err(_) => break,
            }
        }
        if closing {
            // Take whatever else was queued before the close.
            while let Ok(cmd) = rx.try_recv() {
                absorb(cmd, &mut held, &mut waiters);
            }
        }
        let ops = held.take();
        let count = ops.len();
        let store = Arc::clone(&store);
        let recent = Arc::clone(&recent);
        let job = move || {
            let mut recent = recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            apply(&store, &ops, &mut recent)
        };
        match tokio::task::spawn_blocking(job).await {
            Ok(Ok(n)) => {
                if let Some(e) = refusing.take() {
                    tracing::info!(
                        stored = n,
                        dropped = held.dropped(),
                        "the store takes writes again: the held events are stored (it had refused them: {e})"
                    );
                }
                if held.dropped() > 0 {
                    tracing::warn!(
                        dropped = held.dropped(),
                        "events were dropped while the store refused writes; summaries of that time fetch them from Discord"
                    );
                    held.dropped = 0;
                }
                if n > 0 {
                    tracing::debug!(applied = n, "ingest batch stored");
                }
                for w in waiters.drain(..) {
                    let _ = w.send(());
                }
            }
            Ok(Err(Unapplied { error, rest })) if !error.is_disk_failure() => {
                held.skip_failed(&error, rest);
                if held.is_empty() {
                    waiters.drain(..).for_each(|w| {
                        let _ = w.send(());
                    });
                }
            }
            Ok(Err(Unapplied { error, rest })) => {
                if refusing.is_none() {
                    tracing::warn!(
                        error = %error,
                        held = rest.len(),
                        "the store refused ingested events; they are held and retried every {}s (at most {HELD_MAX})",
                        RETRY_EVERY.as_secs()
                    );
                }
                held.restore(rest);
                refusing = Some(error);
            }
            Err(e) => {
                tracing::error!(error = %e, events = count, "ingest batch panicked; events lost");
            }
        }
        if closing {
            if !held.is_empty() {
                tracing::error!(
                    lost = held.len(),
                    "stopping while the store refuses writes: the held events are lost"
                );
            }
            for w in waiters.drain(..) {
                let _ = w.send(());
            }
            break;
        }
    }
}

/// Add a command to the batch; true when it asks to close.
fn absorb(
    cmd: Command,
    held: &mut Held,
    waiters: &mut Vec<tokio::sync::oneshot::Sender<()>>,
) -> bool {
    match cmd {
        Command::Apply(op) => {
            held.push(op);
            false
        }
        Command::Flush(w) => {
            waiters.push(w);
            false
        }
        Command::Close => true,
    }
}

/// What [`apply`] could not store: the error, and the operations still to apply (from the first
/// one not stored; channel updates gathered before it come first).
#[derive(Debug)]
pub struct Unapplied {
    /// Why the store refused.
    pub error: StoreError,
    /// To apply again later, in order.
    pub rest: Vec<Op>,
}

impl Unapplied {
    fn new(error: StoreError, channels: Vec<ChannelInfo>, from: &[Op]) -> Self {
        let rest = channels
            .into_iter()
            .map(Op::Channel)
            .chain(from.iter().cloned())
            .collect();
        Self { error, rest }
    }
}

/// Apply operations in order; runs of upserts go in one transaction, and changed channel
/// metadata (independent of messages) in one more; a create older than an edit or delete already
/// applied is skipped. Returns ops applied; on a store error, what is left to apply (applying an
/// operation twice changes nothing, and nothing stored is counted twice).
pub fn apply(store: &Store, ops: &[Op], recent: &mut Recent) -> Result<usize, Unapplied> {
    let mut upserts: Vec<ChatMessage> = Vec::new();
    // Index of the first op of the run in `upserts`.
    let mut run_start = 0;
    let mut channels: Vec<ChannelInfo> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if !matches!(op, Op::Upsert(_)) && !upserts.is_empty() {
            if let Err(e) = store.ingest_messages(&std::mem::take(&mut upserts), Timestamp::now()) {
                return Err(Unapplied::new(e, channels, &ops[run_start..]));
            }
        }
        let applied = match op {
            Op::Upsert(m) if recent.is_stale(m) => Ok(()),
            Op::Upsert(m) => {
                if upserts.is_empty() {
                    run_start = i;
                }
                upserts.push(m.clone());
                Ok(())
            }
            other => apply_change(store, other, recent, &mut channels),
        };
        if let Err(e) = applied {
            return Err(Unapplied::new(e, channels, &ops[i..]));
        }
    }
    if let Err(e) = store.ingest_messages(&upserts, Timestamp::now()) {
        return Err(Unapplied::new(e, channels, &ops[run_start..]));
    }
    if let Err(e) = store.put_channels(&channels) {
        return Err(Unapplied::new(e, channels, &[]));
    }
    Ok(ops.len())
}

/// Apply an edit or delete at once; gather a changed channel into `channels`.
fn apply_change(
    store: &Store,
    op: &Op,
    recent: &mut Recent,
    channels: &mut Vec<ChannelInfo>,
) -> Result<(), StoreError> {
    match op {
        Op::Upsert(_) => {}
        Op::Edit {
            channel,
            id,
            content,
            edited_at,
            full,
        } => {
            if let Some(at) = edited_at {
                recent.edited(*channel, *id, *at);
            }
            let known = store.edit_message(*channel, *id, content, *edited_at, Timestamp::now())?;
            if let (false, Some(full)) = (known, full) {
                if store.message(*channel, *id)?.is_none() {
                    store.upsert_messages(&[(**full).clone()])?;
                }
            }
        }
        Op::Delete { channel, ids } => {
            for id in ids {
                recent.deleted(*channel, *id);
            }
            store.delete_messages(*channel, ids)?;
        }
        Op::Channel(info) => {
            if store.channel(info.id)?.as_ref() != Some(info) {
                channels.retain(|c| c.id != info.id);
                channels.push(info.clone());
            }
        }
    }
    Ok(())
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
                edited_at: Some(Timestamp(3000)),
                full: None,
            },
            Op::Delete {
                channel: ChannelId(1),
                ids: vec![MessageId(11)],
            },
            Op::Upsert(msg(1, 12, 4000, "third")),
        ];
        assert_eq!(
            apply(&store, &ops, &mut Recent::default()).expect("applied"),
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
        apply(&store, &ops, &mut Recent::default()).expect("applied");
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
            edited_at: Some(Timestamp(1500)),
            full: Some(Box::new(full.clone())),
        };
        apply(&store, &[op], &mut Recent::default()).expect("applied");
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
            edited_at: Some(Timestamp(2000)),
            full: Some(Box::new(ChatMessage {
                edited_at: Some(Timestamp(2000)),
                ..msg(4, 40, 1000, "edited")
            })),
        };
        let delete = Op::Delete {
            channel: ChannelId(4),
            ids: vec![MessageId(41)],
        };
        apply(&store, &[edit, delete], &mut recent).expect("applied");
        let late = vec![
            Op::Upsert(msg(4, 40, 1000, "original")),
            Op::Upsert(msg(4, 41, 1100, "deleted one")),
        ];
        apply(&store, &late, &mut recent).expect("applied");
        let texts: Vec<String> = all(&store, 4).into_iter().map(|m| m.content).collect();
        assert_eq!(texts, ["edited"]);
    }

    #[test]
    fn an_event_refused_for_another_reason_than_the_disk_is_skipped_alone() {
        let losses = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&losses);
        let mut held = Held::new(Box::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        held.push(Op::Upsert(msg(1, 9, 1, "arrived meanwhile")));
        let damaged = StoreError::Decode {
            what: "message",
            detail: "bad bytes".into(),
        };
        assert!(!damaged.is_disk_failure());
        assert!(StoreError::Io {
            detail: "ENOSPC".into()
        }
        .is_disk_failure());
        let refused = vec![
            Op::Upsert(msg(1, 1, 1, "the one that fails")),
            Op::Upsert(msg(1, 2, 1, "next")),
        ];
        held.skip_failed(&damaged, refused);
        let ids: Vec<u64> = held
            .take()
            .iter()
            .map(|op| match op {
                Op::Upsert(m) => m.id.0,
                _ => 0,
            })
            .collect();
        assert_eq!(
            ids,
            [2, 9],
            "the failing event is skipped, the rest kept in order"
        );
        assert_eq!(losses.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn held_keeps_the_oldest_drops_the_newest_and_still_takes_deletions() {
        let losses = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&losses);
        let mut held = Held::new(Box::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        for i in 0..HELD_MAX as u64 + 3 {
            held.push(Op::Upsert(msg(1, i + 1, 1, "x")));
        }
        assert_eq!((held.len(), held.dropped()), (HELD_MAX, 3));
        assert_eq!(losses.load(std::sync::atomic::Ordering::SeqCst), 3);
        held.push(Op::Delete {
            channel: ChannelId(1),
            ids: vec![MessageId(1)],
        });
        assert_eq!(held.len(), HELD_MAX + 1, "a deletion fits past the cap");
        let ops = held.take();
        assert_eq!(
            ops.first(),
            Some(&Op::Upsert(msg(1, 1, 1, "x"))),
            "oldest kept"
        );
        held.push(Op::Upsert(msg(1, 99_999_999, 1, "new")));
        held.restore(ops);
        assert_eq!(held.len(), HELD_MAX + 2);
        assert_eq!(
            held.take().last(),
            Some(&Op::Upsert(msg(1, 99_999_999, 1, "new"))),
            "what was refused goes back ahead of what arrived meanwhile"
        );
    }

    #[tokio::test]
    async fn writer_flushes_on_timer_and_drains_on_close() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let (ingest, writer) = start(Arc::clone(&store), Box::new(|| {}));
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
