//! A fake Discord for black-box tests: REST under `/api/v10` (rouille) and a gateway websocket
//! (a small RFC 6455 server on std sockets), both on 127.0.0.1 port 0, one scripted guild, a
//! control API to inject gateway events and script send failures, and a log of every REST call.
//!
//! It keeps what real Discord keeps: a gateway session outlives its connection, so after
//! [`FakeDiscord::drop_gateway`] a RESUME gets the events it missed and `RESUMED` (or op 9
//! INVALID_SESSION with [`FakeDiscord::refuse_resumes`]); a dispatched message is in the REST
//! history too (edits and deletes applied); channels and threads created on the gateway are in
//! the next GUILD_CREATE; and every channel there carries `last_message_id`.
//!
//! ```ignore
//! let fake = FakeDiscord::start();
//! // config: [discord] api_base_url = fake.api_base_url(), token = fake::TOKEN
//! fake.wait_for_identify(Duration::from_secs(20));
//! fake.inject_message(GENERAL, 1001, ALICE, "hello");
//! let calls = fake.calls(); // every REST request with method, path, query and JSON body
//! ```
//!
//! The guild: `GUILD` with channels `GENERAL` (everyone may read), `SECRET` (hidden from
//! `@everyone`, readable by the `STAFF` role) and `EXCLUDED`; users `ALICE` (staff), `BOB` (no
//! role) and the bot `BOT` (staff). Every fixture is checked against serenity's models in the
//! tests at the bottom, because serenity silently drops an event whose payload misses a field.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rouille::{Request, Response};
use serde_json::{json, Value};

// A `#[path]` relative to this file's directory, so the benches that include this file by path
// find it too.
#[path = "fake_discord/components.rs"]
pub mod components;

/// Bot token the fake accepts (any token works; this one is long enough for validation).
pub const TOKEN: &str = "fake-discord-token-0123456789-0123456789-0123456789-0123456789";
/// Application id of the bot.
pub const APP_ID: u64 = 900_000_000_000_000_001;
/// The bot user.
pub const BOT: u64 = 900_000_000_000_000_001;
/// The scripted guild.
pub const GUILD: u64 = 100_000_000_000_000_001;
/// A channel everyone can read.
pub const GENERAL: u64 = 200_000_000_000_000_001;
/// A channel only the `STAFF` role can read.
pub const SECRET: u64 = 200_000_000_000_000_002;
/// A channel the tests list in `summary.exclude_channels`.
pub const EXCLUDED: u64 = 200_000_000_000_000_003;
/// Role that can see `SECRET`.
pub const STAFF: u64 = 300_000_000_000_000_001;
/// A staff member.
pub const ALICE: u64 = 400_000_000_000_000_001;
/// A member without the staff role.
pub const BOB: u64 = 400_000_000_000_000_002;
/// A member with a global display name ("Carol G") and a server nickname ("Caz"), not in the
/// GUILD_CREATE member list (Discord sends only a few members there without the privileged
/// GUILD_MEMBERS intent).
pub const CAROL: u64 = 400_000_000_000_000_003;
/// A member with a server nickname ("Dee") and no global display name, not in GUILD_CREATE.
pub const DAVE: u64 = 400_000_000_000_000_004;

/// VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
/// | SEND_MESSAGES_IN_THREADS (a new server's `@everyone` has it).
pub const EVERYONE_PERMS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31) | (1 << 38);
/// VIEW_CHANNEL.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// SEND_MESSAGES.
pub const SEND_MESSAGES: u64 = 1 << 11;
/// EMBED_LINKS.
pub const EMBED_LINKS: u64 = 1 << 14;
/// READ_MESSAGE_HISTORY.
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
/// SEND_MESSAGES_IN_THREADS.
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
/// Gateway heartbeat interval announced in HELLO, in milliseconds.
pub const HEARTBEAT_MS: u64 = 41_250;
/// Epoch used by Discord snowflakes (2015-01-01T00:00:00Z), in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// One REST call the bot made.
#[derive(Clone, Debug)]
pub struct RestCall {
    /// HTTP method.
    pub method: String,
    /// Path without the query string (e.g. `/api/v10/channels/1/messages`).
    pub path: String,
    /// Raw query string without `?` (serenity sends `&limit=100&before=...`).
    pub query: String,
    /// Body parsed as JSON (`Value::Null` when empty or not JSON).
    pub json: Value,
    /// The `Authorization` header as sent (empty when none).
    pub authorization: String,
    /// When the fake received it.
    pub at: Instant,
}

impl RestCall {
    /// The value of query parameter `name`, if present.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// A scripted answer to the next message send (POST channel messages, PATCH @original, POST
/// follow-up).
#[derive(Clone, Debug, PartialEq)]
pub enum SendFault {
    /// 429 with `Retry-After` seconds (fractions allowed, as Discord sends them).
    RateLimited {
        /// Seconds to wait.
        retry_after: f64,
    },
    /// A 5xx status.
    ServerError(u16),
    /// 400 whose error message quotes the request's `Authorization` header (`Bot <token>`), as
    /// a misbehaving proxy in front of Discord might.
    EchoAuthorization,
    /// No fault: this send goes through (so that a later one fails).
    Pass,
}

/// How long Discord remembers an enforced nonce: "checked for uniqueness in the past few
/// minutes" (https://discord.com/developers/docs/resources/message#create-message, `nonce` and
/// `enforce_nonce`). Tests shorten it with [`FakeDiscord::set_nonce_window`].
pub const NONCE_WINDOW: Duration = Duration::from_secs(5 * 60);

#[derive(Default)]
struct State {
    calls: Vec<RestCall>,
    /// Channel history served by GET /channels/{id}/messages, any order, one entry per id.
    history: HashMap<u64, Vec<Value>>,
    /// Per channel (or thread), the newest message id ever known there: history, dispatched and
    /// created messages. A delete does not lower it (Discord's `last_message_id` may point to a
    /// deleted message too).
    last_message_ids: HashMap<u64, u64>,
    /// Channels and threads of `GUILD` dispatched with CHANNEL_/THREAD_CREATE or _UPDATE (and
    /// not deleted since), for the next GUILD_CREATE.
    created_channels: Vec<Value>,
    /// Channels and threads dispatched with CHANNEL_/THREAD_DELETE.
    deleted_channels: Vec<u64>,
    send_faults: VecDeque<SendFault>,
    /// Open gateway connections (identified or not).
    connections: Vec<Arc<Conn>>,
    /// Gateway sessions, one per IDENTIFY answered with READY, in order.
    sessions: Vec<Arc<Session>>,
    identified: Vec<Value>,
    /// RESUME payloads (`d`), after they were answered.
    resumes: Vec<Value>,
    /// Answer RESUME with INVALID_SESSION (`d: false`) instead of RESUMED.
    refuse_resumes: bool,
    /// Close new gateway connections at once (Discord unreachable for a while).
    gateway_down: bool,
    /// Extra generated guilds (beside `GUILD`) and channels in each, for benchmarks.
    extra_guilds: u64,
    channels_per_guild: u64,
    /// Answer every REST call 401, as Discord does for a wrong token.
    reject_token: bool,
    /// Channels the bot may not read: their GETs answer 403 Missing Access.
    denied: HashSet<u64>,
    next_message_id: u64,
    /// Messages sent with `enforce_nonce`, by (channel, nonce), with when they were sent: a
    /// repeat within `nonce_window` returns the first, a later one creates a new message.
    nonces: HashMap<(u64, String), (Instant, Value)>,
    nonce_window: Duration,
    /// Messages actually created (a deduplicated repeat creates none): (channel, message id).
    created: Vec<(u64, u64)>,
    /// Discord's rate limits: per-route buckets, the global limit, 429s served.
    rate: RateLimiter,
    /// Threads archived before the bot's session (never dispatched): served only by
    /// GET /channels/{id}/threads/archived/public, never in GUILD_CREATE.
    archived_threads: Vec<Value>,
    /// Private threads the bot is a member of.
    joined_threads: HashSet<u64>,
    /// Private threads (id) whose messages only members may read.
    private_threads: HashSet<u64>,
    /// Interactions dispatched with [`FakeDiscord::inject_interaction`] and what became of them.
    interactions: Interactions,
    /// Buttons on the bot's messages and clicks on them (see [`components`]).
    components: components::Components,
}

impl State {
    /// Put `m` into its channel's REST history, replacing the message with its id.
    fn upsert_message(&mut self, m: Value) {
        let channel = id_of(&m["channel_id"]);
        let id = id_of(&m["id"]);
        self.note_message(channel, id);
        let list = self.history.entry(channel).or_default();
        match list.iter_mut().find(|x| id_of(&x["id"]) == id) {
            Some(old) => *old = m,
            None => list.push(m),
        }
    }

    /// Message `id` exists in `channel`: raise the channel's `last_message_id`.
    fn note_message(&mut self, channel: u64, id: u64) {
        let last = self.last_message_ids.entry(channel).or_default();
        *last = (*last).max(id);
    }

    fn remove_messages(&mut self, channel: u64, ids: &[u64]) {
        if let Some(list) = self.history.get_mut(&channel) {
            list.retain(|m| !ids.contains(&id_of(&m["id"])));
        }
    }

    /// Apply a dispatched event to the fake's world (REST history, next GUILD_CREATE).
    fn apply(&mut self, event: &str, data: &Value) {
        let channel = id_of(&data["channel_id"]);
        match event {
            "MESSAGE_CREATE" => self.upsert_message(data.clone()),
            "MESSAGE_UPDATE" => {
                // Discord may send a partial update: merge it into the stored message.
                let id = id_of(&data["id"]);
                let old = self
                    .history
                    .get(&channel)
                    .and_then(|l| l.iter().find(|m| id_of(&m["id"]) == id))
                    .cloned();
                match (old, data.as_object()) {
                    (Some(mut old), Some(fields)) => {
                        for (k, v) in fields {
                            old[k] = v.clone();
                        }
                        self.upsert_message(old);
                    }
                    _ if data.get("author").is_some() => self.upsert_message(data.clone()),
                    _ => {}
                }
            }
            "MESSAGE_DELETE" => self.remove_messages(channel, &[id_of(&data["id"])]),
            "MESSAGE_DELETE_BULK" => {
                let ids: Vec<u64> = data["ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(id_of)
                    .collect();
                self.remove_messages(channel, &ids);
            }
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "THREAD_CREATE" | "THREAD_UPDATE" => {
                let mut c = data.clone();
                if let Some(fields) = c.as_object_mut() {
                    // Only THREAD_CREATE of a new thread carries it; GUILD_CREATE never does.
                    fields.remove("newly_created");
                }
                let id = id_of(&c["id"]);
                self.deleted_channels.retain(|d| *d != id);
                match self
                    .created_channels
                    .iter_mut()
                    .find(|x| id_of(&x["id"]) == id)
                {
                    Some(old) => *old = c,
                    None => self.created_channels.push(c),
                }
            }
            "CHANNEL_DELETE" | "THREAD_DELETE" => {
                let id = id_of(&data["id"]);
                self.created_channels.retain(|x| id_of(&x["id"]) != id);
                self.deleted_channels.push(id);
            }
            _ => {}
        }
    }
}

/// One gateway websocket connection.
struct Conn {
    writer: Mutex<TcpStream>,
}

impl Conn {
    fn send(&self, payload: &Value) -> std::io::Result<()> {
        let text = payload.to_string();
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        write_frame(&mut *w, 0x1, text.as_bytes())
    }

    fn write_frame(&self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        write_frame(&mut *w, opcode, payload)
    }

    /// Shut the TCP socket down (no close frame): the reader sees the end of the stream.
    fn shutdown(&self) {
        let w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = w.shutdown(std::net::Shutdown::Both);
    }
}

/// One gateway session, from the READY that answered an IDENTIFY until it is invalidated. Like
/// on Discord it outlives its connection: events dispatched while it has none are kept, and a
/// RESUME on a new connection replays what the client missed.
struct Session {
    id: String,
    log: Mutex<SessionLog>,
}

struct SessionLog {
    /// The connection it is attached to, if any.
    conn: Option<Arc<Conn>>,
    /// Sequence number of the last dispatch.
    seq: u64,
    /// Every dispatch (`{"op":0,"s",..}`), in order, for replay after a RESUME.
    sent: Vec<Value>,
    /// Invalidated (a clean close or a refused resume): receives nothing, cannot be resumed.
    invalid: bool,
}

impl Session {
    fn new(id: String, conn: &Arc<Conn>) -> Self {
        Self {
            id,
            log: Mutex::new(SessionLog {
                conn: Some(Arc::clone(conn)),
                seq: 0,
                sent: Vec::new(),
                invalid: false,
            }),
        }
    }

    fn log(&self) -> MutexGuard<'_, SessionLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sequence, keep and send (when connected) one dispatch; the lock keeps the order.
    fn dispatch(&self, event: &str, data: &Value) -> std::io::Result<()> {
        Self::dispatch_locked(&mut self.log(), event, data)
    }

    fn dispatch_locked(log: &mut SessionLog, event: &str, data: &Value) -> std::io::Result<()> {
        if log.invalid {
            return Ok(());
        }
        log.seq += 1;
        let payload = json!({"op": 0, "s": log.seq, "t": event, "d": data});
        log.sent.push(payload.clone());
        match &log.conn {
            Some(conn) => conn.send(&payload),
            None => Ok(()),
        }
    }

    /// Attach to `conn` for a RESUME whose client saw up to `seq`: replay the later dispatches,
    /// then dispatch RESUMED. False (nothing sent) when it cannot be resumed.
    fn resume(&self, conn: &Arc<Conn>, seq: u64) -> std::io::Result<bool> {
        let mut log = self.log();
        if log.invalid || seq > log.seq {
            return Ok(false);
        }
        log.conn = Some(Arc::clone(conn));
        let replayed = log
            .sent
            .iter()
            .filter(|p| p["s"].as_u64() > Some(seq))
            .try_for_each(|missed| conn.send(missed));
        match replayed.and_then(|()| Self::dispatch_locked(&mut log, "RESUMED", &json!({}))) {
            Ok(()) => Ok(true),
            Err(e) => {
                // The new connection failed already: the session waits for the next RESUME.
                log.conn = None;
                Err(e)
            }
        }
    }

    /// `conn` ended: keep the session for a RESUME, unless `invalidate`.
    fn detach(&self, conn: &Arc<Conn>, invalidate: bool) {
        let mut log = self.log();
        if log.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            log.conn = None;
            log.invalid |= invalidate;
        }
    }

    fn invalidate(&self) {
        let mut log = self.log();
        log.invalid = true;
        log.conn = None;
    }

    /// Attached to a connection and valid: dispatches reach a client now.
    fn live(&self) -> bool {
        let log = self.log();
        log.conn.is_some() && !log.invalid
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    gateway_addr: SocketAddr,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running fake; stops when dropped.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    rest_addr: SocketAddr,
    rest_stop: Option<std::sync::mpsc::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeDiscord {
    /// Start REST and gateway on 127.0.0.1, port 0 each.
    pub fn start() -> Self {
        Self::start_with_guilds(0, 0)
    }

    /// Like [`FakeDiscord::start`], plus `extra` generated guilds of `channels` channels each
    /// (ids from [`extra_guild_id`]); every shard receives all of them.
    pub fn start_with_guilds(extra: u64, channels: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind gateway");
        let gateway_addr = listener.local_addr().expect("gateway addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                nonces: HashMap::new(),
                nonce_window: NONCE_WINDOW,
                created: Vec::new(),
                extra_guilds: extra,
                channels_per_guild: channels,
                ..State::default()
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            gateway_addr,
        });
        let for_rest = Arc::clone(&shared);
        let server = rouille::Server::new("127.0.0.1:0", move |req| handle_rest(&for_rest, req))
            .expect("bind REST");
        let rest_addr = server.server_addr();
        let (rest_handle, rest_stop) = server.stoppable();
        let for_gateway = Arc::clone(&shared);
        let gateway = std::thread::spawn(move || accept_loop(&for_gateway, &listener));
        Self {
            shared,
            rest_addr,
            rest_stop: Some(rest_stop),
            threads: vec![rest_handle, gateway],
        }
    }

    /// The value for `discord.api_base_url`.
    pub fn api_base_url(&self) -> String {
        format!("http://{}/api", self.rest_addr)
    }

    /// Every REST call so far, in arrival order.
    pub fn calls(&self) -> Vec<RestCall> {
        self.shared.lock().calls.clone()
    }

    /// How many messages were created in `channel` (a send repeated with the same enforced
    /// nonce creates none, as on Discord).
    pub fn created_messages(&self, channel: u64) -> usize {
        self.shared
            .lock()
            .created
            .iter()
            .filter(|(c, _)| *c == channel)
            .count()
    }

    /// Wait until a REST call matches `pred`; returns it, or None after `timeout`.
    pub fn wait_for_call(
        &self,
        timeout: Duration,
        pred: impl Fn(&RestCall) -> bool,
    ) -> Option<RestCall> {
        self.wait_until(timeout, |s| s.calls.iter().find(|c| pred(c)).cloned())
    }

    /// Wait until `count` REST calls match `pred`.
    pub fn wait_for_calls(
        &self,
        timeout: Duration,
        count: usize,
        pred: impl Fn(&RestCall) -> bool,
    ) -> Vec<RestCall> {
        self.wait_until(timeout, |s| {
            let found: Vec<RestCall> = s.calls.iter().filter(|c| pred(c)).cloned().collect();
            (found.len() >= count).then_some(found)
        })
        .unwrap_or_default()
    }

    /// Wait until a shard has identified and been sent READY and GUILD_CREATE, and its session
    /// is connected; returns the last IDENTIFY payload (`d`).
    pub fn wait_for_identify(&self, timeout: Duration) -> Option<Value> {
        self.wait_until(timeout, |s| {
            let ready = s.sessions.iter().any(|x| x.live());
            ready.then(|| s.identified.last().cloned()).flatten()
        })
    }

    /// Every RESUME payload (`d`: `token`, `session_id`, `seq`) answered so far, in order.
    pub fn resumes(&self) -> Vec<Value> {
        self.shared.lock().resumes.clone()
    }

    /// Wait until `count` RESUMEs have been answered (with RESUMED, or INVALID_SESSION when
    /// refused); returns their payloads, or an empty list after `timeout`.
    pub fn wait_for_resumes(&self, timeout: Duration, count: usize) -> Vec<Value> {
        self.wait_until(timeout, |s| {
            (s.resumes.len() >= count).then(|| s.resumes.clone())
        })
        .unwrap_or_default()
    }

    /// Every dispatch of event `t` (e.g. `READY`, `GUILD_CREATE`, `RESUMED`) sent in any gateway
    /// session, as whole payloads (`{"op":0,"s",..,"t",..,"d",..}`), session by session.
    /// Replays after a RESUME are not counted twice.
    pub fn dispatched(&self, event: &str) -> Vec<Value> {
        let sessions = self.shared.lock().sessions.clone();
        sessions
            .iter()
            .flat_map(|s| {
                let log = s.log();
                log.sent
                    .iter()
                    .filter(|p| p["t"] == event)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// From now on answer a RESUME with op 9 INVALID_SESSION (`d: false`, the session is gone)
    /// when `refuse`, or with the missed events and RESUMED when not (the default).
    pub fn refuse_resumes(&self, refuse: bool) {
        self.shared.lock().refuse_resumes = refuse;
    }

    /// While `down`, close every new gateway connection at once, before the WebSocket
    /// handshake, as an unreachable gateway would; the bot keeps retrying until it is up again.
    pub fn set_gateway_down(&self, down: bool) {
        self.shared.lock().gateway_down = down;
    }

    /// Close every open gateway connection abruptly (TCP shutdown, no close frame), as a network
    /// failure would. Sessions stay resumable; events dispatched meanwhile are kept for them.
    pub fn drop_gateway(&self) {
        let (conns, sessions) = {
            let state = self.shared.lock();
            (state.connections.clone(), state.sessions.clone())
        };
        for conn in &conns {
            conn.shutdown();
            for s in &sessions {
                s.detach(conn, false);
            }
        }
        self.shared.changed.notify_all();
    }

    /// The GUILD_CREATE payload of `GUILD` as an IDENTIFY now would get it: the scripted
    /// channels plus those created on the gateway, each with its `last_message_id`.
    pub fn guild_create_payload(&self) -> Value {
        guild_create_from(&self.shared.lock(), guild_create())
    }

    /// Wait until `count` shards have identified; returns their IDENTIFY payloads.
    pub fn wait_for_identifies(&self, timeout: Duration, count: usize) -> Vec<Value> {
        self.wait_until(timeout, |s| {
            (s.identified.len() >= count).then(|| s.identified.clone())
        })
        .unwrap_or_default()
    }

    fn wait_until<T>(
        &self,
        timeout: Duration,
        mut found: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(t) = found(&state) {
                return Some(t);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self
                .shared
                .changed
                .wait_timeout(state, left.min(Duration::from_millis(50)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// From now on, answer every REST call with 401 Unauthorized.
    pub fn reject_token(&self) {
        self.shared.lock().reject_token = true;
    }

    /// From now on, answer reads of `channel` (the channel and its messages) with 403 Missing
    /// Access, as Discord does when the bot lacks View Channel or Read Message History.
    pub fn deny_channel(&self, channel: u64) {
        self.shared.lock().denied.insert(channel);
    }

    /// Take `deny` away from the bot in `channel` (a channel or thread of `GUILD`) with a member
    /// overwrite, as a server admin would: dispatches the CHANNEL_UPDATE (THREAD_UPDATE) Discord
    /// sends, so the bot's cache and the fake's checks on sends both see it.
    pub fn deny_bot(&self, channel: u64, deny: u64) {
        let (event, c) = self.bot_denied(channel, deny);
        self.dispatch(event, &c);
    }

    /// Like [`FakeDiscord::deny_bot`], but the bot is not told (its cache is behind Discord,
    /// as after an event it missed): only the fake's checks on sends see the change.
    pub fn deny_bot_unannounced(&self, channel: u64, deny: u64) {
        let (event, c) = self.bot_denied(channel, deny);
        self.shared.lock().apply(event, &c);
    }

    /// Take `deny` away from `user` in `channel` with a member overwrite, without telling the
    /// bot (as a change it has not seen yet): only what Discord answers over REST shows it.
    pub fn deny_member_unannounced(&self, channel: u64, user: u64, deny: u64) {
        let (event, c) = self.member_denied(channel, user, deny);
        self.shared.lock().apply(event, &c);
    }

    /// The update event and payload of `channel` with a member overwrite denying `deny` to the
    /// bot.
    fn bot_denied(&self, channel: u64, deny: u64) -> (&'static str, Value) {
        self.member_denied(channel, BOT, deny)
    }

    /// The update event and payload of `channel` with a member overwrite denying `deny` to
    /// `user`.
    fn member_denied(&self, channel: u64, user: u64, deny: u64) -> (&'static str, Value) {
        let guild = self.guild_create_payload();
        let found = ["channels", "threads"].iter().find_map(|key| {
            guild[*key]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| id_of(&c["id"]) == channel)
                .map(|c| (*key, c.clone()))
        });
        let Some((key, mut c)) = found else {
            panic!("deny_bot: {channel} is no channel or thread of the guild");
        };
        let overwrite = json!({"id": user.to_string(), "type": 1, "allow": "0",
            "deny": deny.to_string()});
        match c["permission_overwrites"].as_array_mut() {
            Some(list) => list.push(overwrite),
            None => c["permission_overwrites"] = json!([overwrite]),
        }
        let event = if key == "threads" {
            "THREAD_UPDATE"
        } else {
            "CHANNEL_UPDATE"
        };
        (event, c)
    }

    /// A public thread (see [`thread`]) that was archived `archived_ago` before now, before the
    /// bot connected: Discord lists it only under GET /channels/{parent}/threads/archived/public,
    /// never in GUILD_CREATE, and sends no event for it.
    pub fn add_archived_thread(&self, mut thread: Value, archived_ago: Duration) {
        thread["thread_metadata"]["archived"] = json!(true);
        thread["thread_metadata"]["archive_timestamp"] =
            json!(rfc3339(now_ms() - archived_ago.as_millis() as u64));
        if let Some(fields) = thread.as_object_mut() {
            fields.remove("newly_created");
        }
        self.shared.lock().archived_threads.push(thread);
    }

    /// Make `thread` a private thread whose messages only its members read (403 Missing Access
    /// for the bot until [`FakeDiscord::add_bot_to_thread`]).
    pub fn make_private_thread(&self, thread: u64) {
        self.shared.lock().private_threads.insert(thread);
    }

    /// Add the bot to a private thread (Discord's Add Thread Member).
    pub fn add_bot_to_thread(&self, thread: u64) {
        self.shared.lock().joined_threads.insert(thread);
    }

    /// Remember enforced nonces for `window` instead of [`NONCE_WINDOW`].
    pub fn set_nonce_window(&self, window: Duration) {
        self.shared.lock().nonce_window = window;
    }

    /// Script the next message sends to fail (in order).
    pub fn push_send_fault(&self, fault: SendFault) {
        self.shared.lock().send_faults.push_back(fault);
    }

    /// Put messages into a channel's REST history (served by GET channel messages) without
    /// dispatching them on the gateway.
    pub fn add_history(&self, messages: Vec<Value>) {
        let mut state = self.shared.lock();
        for m in messages {
            state.upsert_message(m);
        }
    }

    /// Dispatch an event to every gateway session (all shards get every event). A session
    /// whose connection dropped keeps it for its RESUME; one invalidated misses it.
    ///
    /// The fake's world follows what is dispatched, as Discord's does: MESSAGE_CREATE and
    /// MESSAGE_UPDATE put the message into the REST history (and `last_message_id`),
    /// MESSAGE_DELETE(_BULK) take it out, and channels or threads of `GUILD` created, updated
    /// or deleted are so in the next GUILD_CREATE.
    pub fn dispatch(&self, event: &str, data: &Value) {
        let sessions: Vec<Arc<Session>> = {
            let mut state = self.shared.lock();
            state.apply(event, data);
            state.sessions.clone()
        };
        for s in &sessions {
            // A write to a connection that just dropped fails; the session keeps the event.
            let _ = s.dispatch(event, data);
        }
    }

    /// Dispatch MESSAGE_CREATE for a message sent at the time of its snowflake `id` (see
    /// [`id_ago`]); it is then in the channel's REST history too. Returns the payload.
    pub fn inject_message(&self, channel: u64, id: u64, author: u64, content: &str) -> Value {
        let msg = message(channel, id, author, content, snowflake_time_ms(id));
        self.dispatch("MESSAGE_CREATE", &msg);
        msg
    }

    /// Dispatch MESSAGE_UPDATE with new content.
    pub fn inject_edit(&self, channel: u64, id: u64, author: u64, content: &str) {
        let mut msg = message(channel, id, author, content, snowflake_time_ms(id));
        msg["edited_timestamp"] = json!(rfc3339(now_ms()));
        self.dispatch("MESSAGE_UPDATE", &msg);
    }

    /// Dispatch the MESSAGE_UPDATE Discord sends when it adds link previews to a message it
    /// already delivered (<https://discord.com/developers/docs/topics/gateway-events#message-update>:
    /// the whole message with MESSAGE_CREATE's extra fields): same content, the unfurled
    /// `embeds` added, `edited_timestamp` unchanged (null for a message never edited).
    pub fn inject_unfurl(&self, channel: u64, id: u64, author: u64, content: &str) {
        self.dispatch("MESSAGE_UPDATE", &unfurled(channel, id, author, content));
    }

    /// Dispatch MESSAGE_DELETE.
    pub fn inject_delete(&self, channel: u64, id: u64) {
        let data = json!({"id": id.to_string(), "channel_id": channel.to_string(),
            "guild_id": GUILD.to_string()});
        self.dispatch("MESSAGE_DELETE", &data);
    }

    /// Dispatch MESSAGE_DELETE_BULK.
    pub fn inject_bulk_delete(&self, channel: u64, ids: &[u64]) {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        let data = json!({"ids": ids, "channel_id": channel.to_string(),
            "guild_id": GUILD.to_string()});
        self.dispatch("MESSAGE_DELETE_BULK", &data);
    }

    /// Dispatch an INTERACTION_CREATE built by [`slash_command`]; returns its token.
    pub fn inject_interaction(&self, interaction: &Value) -> String {
        self.note_interaction(interaction);
        self.dispatch("INTERACTION_CREATE", interaction);
        interaction["token"].as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(stop) = self.rest_stop.take() {
            let _ = stop.send(());
        }
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.shared.gateway_addr);
        let conns: Vec<Arc<Conn>> = self.shared.lock().connections.drain(..).collect();
        for c in conns {
            c.shutdown();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures (checked against serenity's models in the tests below).

/// The Discord snowflake whose timestamp is `ms` (Unix millis), with `seq` in the low bits.
pub fn snowflake_at(ms: u64, seq: u64) -> u64 {
    ((ms - DISCORD_EPOCH_MS) << 22) | (seq & 0x3F_FFFF)
}

/// A message id for a message sent `ago` before now (`seq` keeps ids of one instant apart).
pub fn id_ago(ago: std::time::Duration, seq: u64) -> u64 {
    snowflake_at(now_ms() - ago.as_millis() as u64, seq)
}

/// Titles, descriptions and footers of a REST call's embeds, as one text.
pub fn embeds_text(call: &RestCall) -> String {
    call.json["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}\n{}\n{}",
                e["title"], e["description"], e["footer"]["text"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Unix millis encoded in a snowflake.
pub fn snowflake_time_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// Now in Unix millis.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// RFC 3339 text of Unix millis.
pub fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn user(id: u64) -> Value {
    let (name, global_name) = match id {
        ALICE => ("alice", None),
        BOB => ("bob", None),
        CAROL => ("carol", Some("Carol G")),
        DAVE => ("dave", None),
        BOT => ("summarybot", None),
        _ => ("someone", None),
    };
    json!({"id": id.to_string(), "username": name, "global_name": global_name,
        "discriminator": "0", "avatar": null, "bot": id == BOT})
}

/// A user's server nickname in `GUILD`.
fn nick(id: u64) -> Option<&'static str> {
    match id {
        CAROL => Some("Caz"),
        DAVE => Some("Dee"),
        _ => None,
    }
}

/// A user's roles in `GUILD`.
fn roles_of(id: u64) -> &'static [u64] {
    if id == ALICE || id == BOT {
        &[STAFF]
    } else {
        &[]
    }
}

/// A message object as MESSAGE_CREATE sends it: with `guild_id` and the author's `member`
/// (without `user`). REST answers drop both, see [`rest_shape`].
pub fn message(channel: u64, id: u64, author: u64, content: &str, sent_ms: u64) -> Value {
    let mut member = member(author, roles_of(author));
    if let Some(fields) = member.as_object_mut() {
        fields.remove("user");
    }
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "guild_id": GUILD.to_string(),
        "member": member,
        "author": user(author), "content": content, "timestamp": rfc3339(sent_ms),
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
    })
}

/// Message `id` (never edited) as the MESSAGE_UPDATE of its link previews carries it: the
/// whole message, one `link` embed added, `edited_timestamp` null.
pub fn unfurled(channel: u64, id: u64, author: u64, content: &str) -> Value {
    let mut msg = message(channel, id, author, content, snowflake_time_ms(id));
    msg["embeds"] = json!([{"type": "link", "url": "https://example.org/",
        "title": "Example Domain", "description": "An unfurled link preview."}]);
    msg
}

/// A message as Discord's REST API returns it (history pages, sends): without `guild_id` and
/// `member`, which are extra fields of the MESSAGE_CREATE and MESSAGE_UPDATE gateway events
/// only (<https://discord.com/developers/docs/topics/gateway-events#message-create-message-create-extra-fields>;
/// the message object itself: <https://discord.com/developers/docs/resources/message#message-object>).
pub fn rest_shape(m: &Value) -> Value {
    let mut m = m.clone();
    if let Some(fields) = m.as_object_mut() {
        fields.remove("guild_id");
        fields.remove("member");
    }
    m
}

fn role(id: u64, name: &str, permissions: u64, position: u16) -> Value {
    json!({"id": id.to_string(), "name": name, "color": 0, "colors": {"primary_color": 0},
        "hoist": false, "managed": false, "mentionable": false,
        "permissions": permissions.to_string(), "position": position, "icon": null,
        "unicode_emoji": null, "flags": 0})
}

fn member(id: u64, roles: &[u64]) -> Value {
    let roles: Vec<String> = roles.iter().map(u64::to_string).collect();
    json!({"user": user(id), "nick": nick(id), "roles": roles, "joined_at": rfc3339(now_ms()),
        "deaf": false, "mute": false, "flags": 0})
}

/// A text channel; `last_message_id` is null here and filled from what the fake knows when it
/// goes out in a GUILD_CREATE.
fn channel(id: u64, name: &str, overwrites: &Value) -> Value {
    json!({"id": id.to_string(), "type": 0, "guild_id": GUILD.to_string(), "name": name,
        "position": 0, "topic": null, "nsfw": false, "permission_overwrites": overwrites,
        "last_message_id": null})
}

/// A thread under `parent` as THREAD_CREATE sends it: `kind` 11 = public, 12 = private
/// (forum posts are public threads whose parent is the forum).
pub fn thread(id: u64, parent: u64, name: &str, kind: u8) -> Value {
    json!({"id": id.to_string(), "type": kind, "guild_id": GUILD.to_string(), "name": name,
        "parent_id": parent.to_string(), "owner_id": ALICE.to_string(), "last_message_id": null,
        "rate_limit_per_user": 0, "message_count": 0, "member_count": 1, "flags": 0,
        "total_message_sent": 0, "newly_created": true,
        "thread_metadata": {"archived": false, "auto_archive_duration": 1440,
            "archive_timestamp": rfc3339(now_ms()), "locked": false,
            "create_timestamp": rfc3339(now_ms())}})
}

/// A forum channel (type 15) as CHANNEL_CREATE sends it; everyone may read it.
pub fn forum(id: u64, name: &str) -> Value {
    let mut c = channel(id, name, &json!([]));
    c["type"] = json!(15);
    c["available_tags"] = json!([]);
    c
}

/// The channels of the guild.
pub fn channels() -> Vec<Value> {
    let hide_from_everyone = json!([
        {"id": GUILD.to_string(), "type": 0, "allow": "0", "deny": VIEW_CHANNEL.to_string()},
        {"id": STAFF.to_string(), "type": 0, "allow": VIEW_CHANNEL.to_string(), "deny": "0"},
    ]);
    vec![
        channel(GENERAL, "general", &json!([])),
        channel(SECRET, "secret", &hide_from_everyone),
        channel(EXCLUDED, "private-notes", &json!([])),
    ]
}

/// `guild` (a GUILD_CREATE payload) as the fake sends it now: plus the channels and active
/// threads of that guild created on the gateway, minus those deleted, and every channel's and
/// thread's `last_message_id` set to the newest message the fake knows there (null if none).
fn guild_create_from(state: &State, mut guild: Value) -> Value {
    let gid = guild["id"].clone();
    for c in state
        .created_channels
        .iter()
        .filter(|c| c["guild_id"] == gid)
    {
        let is_thread = matches!(c["type"].as_u64(), Some(10..=12));
        if is_thread && c["thread_metadata"]["archived"] == true {
            continue; // GUILD_CREATE lists the active threads only.
        }
        let key = if is_thread { "threads" } else { "channels" };
        if let Some(list) = guild[key].as_array_mut() {
            match list.iter_mut().find(|x| x["id"] == c["id"]) {
                Some(old) => *old = c.clone(),
                None => list.push(c.clone()),
            }
        }
    }
    for key in ["channels", "threads"] {
        if let Some(list) = guild[key].as_array_mut() {
            list.retain(|c| !state.deleted_channels.contains(&id_of(&c["id"])));
            for c in list {
                c["last_message_id"] = state
                    .last_message_ids
                    .get(&id_of(&c["id"]))
                    .map_or(Value::Null, |id| json!(id.to_string()));
            }
        }
    }
    guild
}

/// The GUILD_CREATE payload of the scripted guild as a fresh fake sends it (no messages yet:
/// every `last_message_id` is null); see [`FakeDiscord::guild_create_payload`].
pub fn guild_create() -> Value {
    json!({
        "id": GUILD.to_string(), "name": "Fake Guild", "icon": null, "splash": null,
        "discovery_splash": null, "owner_id": ALICE.to_string(), "afk_channel_id": null,
        "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role(GUILD, "@everyone", EVERYONE_PERMS, 0), role(STAFF, "staff", 0, 1)],
        "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "vanity_url_code": null, "description": null, "banner": null, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": null, "nsfw_level": 0,
        "stickers": [], "premium_progress_bar_enabled": false,
        "joined_at": rfc3339(now_ms()), "large": false, "unavailable": false,
        "member_count": 3, "voice_states": [],
        "members": [member(ALICE, &[STAFF]), member(BOB, &[]), member(BOT, &[STAFF])],
        "channels": channels(), "threads": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [],
    })
}

/// The id of generated guild `i` (1-based).
pub fn extra_guild_id(i: u64) -> u64 {
    GUILD + i
}

/// GUILD_CREATE of generated guild `i` with `channels` text channels and no overwrites.
pub fn extra_guild_create(i: u64, channels: u64) -> Value {
    let id = extra_guild_id(i);
    let mut g = guild_create();
    g["id"] = json!(id.to_string());
    g["name"] = json!(format!("Guild {i}"));
    g["roles"] = json!([role(id, "@everyone", EVERYONE_PERMS, 0)]);
    g["members"] = json!([member(ALICE, &[]), member(BOT, &[])]);
    let list: Vec<Value> = (0..channels)
        .map(|j| {
            let mut c = channel(
                500_000_000_000_000_000 + i * 1000 + j,
                &format!("channel-{j}"),
                &json!([]),
            );
            c["guild_id"] = json!(id.to_string());
            c
        })
        .collect();
    g["channels"] = json!(list);
    g["member_count"] = json!(2);
    g
}

/// The READY payload (the scripted guild plus `extra` generated ones).
pub fn ready(session: u64, gateway_url: &str) -> Value {
    ready_with(session, gateway_url, 0)
}

fn ready_with(session: u64, gateway_url: &str, extra: u64) -> Value {
    let guilds: Vec<Value> = std::iter::once(GUILD)
        .chain((1..=extra).map(extra_guild_id))
        .map(|g| json!({"id": g.to_string(), "unavailable": true}))
        .collect();
    json!({
        "v": 10, "user": user(BOT), "guilds": guilds,
        "session_id": format!("session-{session}"), "resume_gateway_url": gateway_url,
        "application": {"id": APP_ID.to_string(), "flags": 0},
    })
}

/// Permissions the interaction's `member.permissions` carries for `user` in `channel`.
pub fn member_permissions(user: u64, channel: u64) -> u64 {
    if channel == SECRET && user != ALICE && user != BOT {
        EVERYONE_PERMS & !VIEW_CHANNEL
    } else {
        EVERYONE_PERMS
    }
}

/// An INTERACTION_CREATE for `/summarize` invoked by `user` in `channel` with `options`
/// (e.g. `[{"name":"hours","type":4,"value":2}]`). A `channel` option gets its resolved entry
/// with the invoker's permissions there, as Discord sends it.
pub fn slash_command(id: u64, user: u64, channel: u64, options: &Value) -> Value {
    command("summarize", id, user, channel, options)
}

/// An INTERACTION_CREATE for the slash command `name` (`summarize`, `catchup`...), built like
/// [`slash_command`].
pub fn command(name: &str, id: u64, user: u64, channel: u64, options: &Value) -> Value {
    let mut resolved_channels = serde_json::Map::new();
    for opt in options.as_array().into_iter().flatten() {
        if opt["name"] == "channel" {
            let target = id_of(&opt["value"]);
            resolved_channels.insert(
                target.to_string(),
                json!({"id": target.to_string(), "name": channel_name(target), "type": 0,
                    "permissions": member_permissions(user, target).to_string()}),
            );
        }
    }
    let mut member = member(user, roles_of(user));
    member["permissions"] = json!(member_permissions(user, channel).to_string());
    json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 2,
        "data": {"id": "800000000000000001", "name": name, "type": 1,
            "options": options, "resolved": {"channels": resolved_channels}},
        "guild_id": GUILD.to_string(), "channel_id": channel.to_string(),
        "channel": {"id": channel.to_string(), "type": 0, "name": channel_name(channel)},
        "member": member, "token": format!("token-{id}"), "version": 1, "locale": "en-US",
        "guild_locale": "en-US", "app_permissions": EVERYONE_PERMS.to_string(),
        "entitlements": [], "attachment_size_limit": 8_388_608,
    })
}

fn channel_name(id: u64) -> &'static str {
    match id {
        GENERAL => "general",
        SECRET => "secret",
        EXCLUDED => "private-notes",
        _ => "unknown",
    }
}

fn id_of(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// REST.

fn handle_rest(shared: &Shared, req: &Request) -> Response {
    let mut body = String::new();
    if let Some(mut data) = req.data() {
        let _ = data.read_to_string(&mut body);
    }
    let call = RestCall {
        method: req.method().to_owned(),
        path: req.url(),
        query: req.raw_query_string().trim_start_matches('&').to_owned(),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        authorization: req.header("Authorization").unwrap_or("").to_owned(),
        at: Instant::now(),
    };
    let response = rate_limited(shared, &call, route);
    shared.lock().calls.push(call);
    shared.changed.notify_all();
    response
}

fn route(shared: &Shared, call: &RestCall) -> Response {
    if shared.lock().reject_token {
        return Response::json(&json!({"message": "401: Unauthorized", "code": 0}))
            .with_status_code(401);
    }
    let Some(path) = call.path.strip_prefix("/api/v10/") else {
        return not_found();
    };
    let parts: Vec<&str> = path.split('/').collect();
    match (call.method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => {
            Response::json(&json!({"url": format!("ws://{}", shared.gateway_addr)}))
        }
        ("GET", ["gateway", "bot"]) => Response::json(&json!({
            "url": format!("ws://{}", shared.gateway_addr), "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                "max_concurrency": 1}})),
        ("GET", ["users", "@me"]) => Response::json(&user(BOT)),
        ("GET", ["oauth2", "applications", "@me"]) => Response::json(&json!({
            "id": APP_ID.to_string(), "name": "summarybot", "icon": null, "description": "",
            "bot_public": true, "bot_require_code_grant": false, "verify_key": "00",
            "flags": 0, "owner": user(ALICE)})),
        ("PUT", ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]) => {
            Response::json(&registered_commands(&call.json))
        }
        ("GET", ["channels", ch, ..])
            if shared.lock().denied.contains(&ch.parse().unwrap_or(0)) =>
        {
            Response::json(&json!({"message": "Missing Access", "code": 50001}))
                .with_status_code(403)
        }
        ("GET", ["channels", ch]) => {
            // A channel or thread of the guild, as Discord answers it (404 for others).
            let id: u64 = ch.parse().unwrap_or(0);
            let guild = guild_create_from(&shared.lock(), guild_create());
            let found = ["channels", "threads"]
                .iter()
                .filter_map(|list| guild[*list].as_array())
                .flatten()
                .find(|c| id_of(&c["id"]) == id)
                .cloned();
            match found {
                Some(mut c) => {
                    c["guild_id"] = json!(GUILD.to_string());
                    Response::json(&c)
                }
                None => not_found(),
            }
        }
        ("GET", ["channels", ch, "messages"]) if !bot_may_read_thread(shared, ch) => {
            Response::json(&json!({"message": "Missing Access", "code": 50001}))
                .with_status_code(403)
        }
        ("GET", ["channels", ch, "messages"]) => {
            Response::json(&history_page(shared, ch.parse().unwrap_or(0), call))
        }
        ("GET", ["channels", ch, "threads", "archived", "public"]) => Response::json(
            &archived_public_threads(shared, ch.parse().unwrap_or(0), call),
        ),
        ("GET", ["channels", ch, "thread-members", "@me"]) => thread_member_me(shared, ch),
        ("GET", ["guilds", g, "members", u]) => guild_member(g, u),
        ("GET", ["guilds", g, "channels"]) => guild_channels(shared, g),
        ("GET", ["guilds", g]) => get_guild(shared, g),
        ("POST", ["channels", ch, "messages"])
            if shared
                .lock()
                .interactions
                .dm_closed(ch.parse().unwrap_or(0)) =>
        {
            Response::json(&json!({"message": "Cannot send messages to this user", "code": 50007}))
                .with_status_code(403)
        }
        ("POST", ["channels", ch, "messages"]) => {
            let channel = ch.parse().unwrap_or(0);
            send_forbidden(shared, channel, &call.json)
                .unwrap_or_else(|| send_message(shared, channel, call))
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            // A click on a button (see `components`), else a command's interaction.
            let clicked = components::callback(&mut shared.lock(), id, call);
            clicked.unwrap_or_else(|| interaction_callback(shared, token, call))
        }
        ("PATCH", ["webhooks", _, token, "messages", _]) | ("POST", ["webhooks", _, token])
            if shared.lock().interactions.token_invalid(token) =>
        {
            invalid_webhook_token(shared, call)
        }
        ("POST", ["users", "@me", "channels"]) => open_dm(shared, call),
        ("PATCH", ["webhooks", _, _, "messages", _]) | ("POST", ["webhooks", _, _]) => {
            send_message(shared, 0, call)
        }
        _ => not_found(),
    }
}

/// `GET /guilds/{guild}/members/{user}`: the member with their nickname, or 404 Unknown
/// Member (code 10007) for other guilds and users
/// (<https://discord.com/developers/docs/resources/guild#get-guild-member>).
fn guild_member(guild: &str, user: &str) -> Response {
    let id: u64 = user.parse().unwrap_or(0);
    if guild.parse() == Ok(GUILD) && [ALICE, BOB, CAROL, DAVE, BOT].contains(&id) {
        Response::json(&member(id, roles_of(id)))
    } else {
        Response::json(&json!({"message": "Unknown Member", "code": 10007})).with_status_code(404)
    }
}

fn not_found() -> Response {
    Response::json(&json!({"message": "404: Not Found", "code": 0})).with_status_code(404)
}

fn registered_commands(body: &Value) -> Value {
    let list = body.as_array().cloned().unwrap_or_default();
    let out: Vec<Value> = list
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            c["id"] = json!((800_000_000_000_000_001 + i as u64).to_string());
            c["application_id"] = json!(APP_ID.to_string());
            c["version"] = json!("1");
            c["type"] = c.get("type").cloned().unwrap_or(json!(1));
            c["default_member_permissions"] = json!(null);
            c
        })
        .collect();
    Value::Array(out)
}

/// A page's `limit`: 1–100, 50 when not given (Discord's rule for history and thread lists).
fn page_limit(call: &RestCall) -> usize {
    call.query_param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100)
}

/// Discord's paging: newest first; `before`/`after` exclusive; `limit` 1–100 (default 50).
fn history_page(shared: &Shared, channel: u64, call: &RestCall) -> Value {
    let limit = page_limit(call);
    let before = call
        .query_param("before")
        .and_then(|v| v.parse::<u64>().ok());
    let after = call
        .query_param("after")
        .and_then(|v| v.parse::<u64>().ok());
    let mut msgs: Vec<Value> = shared
        .lock()
        .history
        .get(&channel)
        .cloned()
        .unwrap_or_default();
    msgs.retain(|m| {
        let id = id_of(&m["id"]);
        before.is_none_or(|b| id < b) && after.is_none_or(|a| id > a)
    });
    msgs.sort_by_key(|m| std::cmp::Reverse(id_of(&m["id"])));
    if after.is_some() && before.is_none() {
        // With only `after`, Discord returns the oldest `limit` messages after it.
        msgs.reverse();
        msgs.truncate(limit);
        msgs.reverse();
    } else {
        msgs.truncate(limit);
    }
    Value::Array(msgs.iter().map(rest_shape).collect())
}

fn send_message(shared: &Shared, channel: u64, call: &RestCall) -> Response {
    let mut state = shared.lock();
    if let Some(fault) = state.send_faults.pop_front() {
        return match fault {
            SendFault::RateLimited { retry_after } => Response::json(&json!({
                "message": "You are being rate limited.", "retry_after": retry_after,
                "global": false}))
            .with_status_code(429)
            .with_additional_header("Retry-After", format!("{}", retry_after.ceil() as u64))
            .with_additional_header("X-RateLimit-Reset-After", format!("{retry_after:.3}")),
            SendFault::ServerError(code) => {
                Response::json(&json!({"message": "Server error", "code": 0}))
                    .with_status_code(code)
            }
            SendFault::EchoAuthorization => Response::json(&json!({
                "message": format!("Invalid header Authorization: {}", call.authorization),
                "code": 50035}))
            .with_status_code(400),
            SendFault::Pass => {
                drop(state);
                create_message(shared, channel, call)
            }
        };
    }
    drop(state);
    create_message(shared, channel, call)
}

/// Create the message of a send that did not fail (or return the first of a repeated nonce).
fn create_message(shared: &Shared, channel: u64, call: &RestCall) -> Response {
    let mut state = shared.lock();
    let channel = if channel == 0 { GENERAL } else { channel };
    let nonce = call
        .json
        .get("nonce")
        .and_then(Value::as_str)
        .filter(|_| call.json["enforce_nonce"] == true)
        .map(|n| (channel, n.to_owned()));
    let window = state.nonce_window;
    let remembered = nonce.as_ref().and_then(|k| state.nonces.get(k));
    if let Some((_, first)) = remembered.filter(|(at, _)| at.elapsed() < window) {
        return Response::json(first);
    }
    // A snowflake of now, as Discord makes (worker bit 21 set keeps it apart from the ids tests
    // build with `snowflake_at(now, seq)`), strictly increasing.
    let id = (state.next_message_id + 1).max(snowflake_at(now_ms(), 1 << 21));
    state.next_message_id = id;
    state.created.push((channel, id));
    state.note_message(channel, id);
    let mut msg = message(channel, id, BOT, "", now_ms());
    if let Some(content) = call.json.get("content").and_then(Value::as_str) {
        msg["content"] = json!(content);
    }
    if let Some(embeds) = call.json.get("embeds") {
        msg["embeds"] = embeds.clone();
    }
    let mut msg = rest_shape(&msg);
    components::keep(&mut state, &mut msg, call);
    if let Some(key) = nonce {
        state.nonces.insert(key, (Instant::now(), msg.clone()));
    }
    Response::json(&msg)
}

// ---------------------------------------------------------------------------------------------
// Rate limits, as Discord's developer docs describe them ("Rate Limits",
// https://discord.com/developers/docs/topics/rate-limits): every route has a bucket per major
// parameter (channel id, guild id, webhook id + token; the interaction id + token for callbacks),
// named in `X-RateLimit-Bucket`; every answer carries `X-RateLimit-Limit`, `-Remaining`, `-Reset`
// (Unix seconds) and `-Reset-After` (seconds); a request over a bucket's limit gets 429 with
// `{"message", "retry_after", "global": false}`, `Retry-After` and `X-RateLimit-Scope: user`; a
// request over the global limit (50 a second per bot on Discord; interaction callbacks exempt)
// gets the same with `"global": true`, `X-RateLimit-Global: true` and `X-RateLimit-Scope: global`.
// 401, 403 and 429 answers count towards the invalid-request limit (10,000 per 10 minutes on
// Discord, then an IP ban); the fake counts them. Limits default to far more than any test sends
// so that only tests that set them wait; [`FakeDiscord::set_bucket_limit`] sets Discord-like ones.

/// The fake's rate-limit state.
struct RateLimiter {
    /// Requests per bucket window, and the window.
    per_bucket: u32,
    bucket_window: Duration,
    /// Requests a second bound by the global limit.
    global_per_second: u32,
    /// (route, major parameter) → (window end, requests in the window).
    buckets: HashMap<(String, String), (Instant, u32)>,
    global: (Instant, u32),
    served_429: usize,
    invalid: usize,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            per_bucket: 100_000,
            bucket_window: Duration::from_secs(1),
            global_per_second: 100_000,
            buckets: HashMap::new(),
            global: (Instant::now(), 0),
            served_429: 0,
            invalid: 0,
        }
    }
}

/// A request's route as Discord limits it: method and path with ids as `:id`, and the major
/// parameter.
fn limited_route(method: &str, path: &str) -> (String, String, bool) {
    let segments: Vec<&str> = path
        .trim_start_matches("/api/v10")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let first = segments.first().copied().unwrap_or_default();
    let major_len = match first {
        "channels" | "guilds" => 1,
        "webhooks" | "interactions" => 2,
        _ => 0,
    };
    let major = segments[1.min(segments.len())..(1 + major_len).min(segments.len())].join("/");
    let route = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let is_major = i >= 1 && i <= major_len;
            if is_major || s.bytes().all(|b| b.is_ascii_digit()) {
                ":id"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    (format!("{method} /{route}"), major, first == "interactions")
}

/// The bucket hash Discord would name for `route` (stable within a run).
fn bucket_hash(route: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    route.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// What the limiter decided for one request.
enum Verdict {
    /// Within the limits: these headers go on the answer.
    Pass(Vec<(&'static str, String)>),
    /// Over a limit: this 429 is the answer.
    Limited(Response),
}

impl RateLimiter {
    fn check(&mut self, method: &str, path: &str, now: Instant) -> Verdict {
        let (route, major, interaction) = limited_route(method, path);
        if !interaction {
            if now >= self.global.0 {
                self.global = (now + Duration::from_secs(1), 0);
            }
            if self.global.1 >= self.global_per_second {
                return Verdict::Limited(too_many(self.global.0 - now, true, Vec::new()));
            }
            self.global.1 += 1;
        }
        let window = self.bucket_window;
        if self.buckets.len() > 10_000 {
            self.buckets.retain(|_, (end, _)| *end > now);
        }
        let (end, used) = self
            .buckets
            .entry((route.clone(), major))
            .or_insert((now, 0));
        if now >= *end {
            *end = now + window;
            *used = 0;
        }
        let reset_after = *end - now;
        let reset_at = std::time::SystemTime::now() + reset_after;
        let reset_unix = reset_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let over = *used >= self.per_bucket;
        if !over {
            *used += 1;
        }
        let headers = vec![
            ("X-RateLimit-Limit", self.per_bucket.to_string()),
            (
                "X-RateLimit-Remaining",
                (self.per_bucket - *used).to_string(),
            ),
            ("X-RateLimit-Reset", format!("{reset_unix:.3}")),
            (
                "X-RateLimit-Reset-After",
                format!("{:.3}", reset_after.as_secs_f64()),
            ),
            ("X-RateLimit-Bucket", bucket_hash(&route)),
        ];
        if over {
            return Verdict::Limited(too_many(reset_after, false, headers));
        }
        Verdict::Pass(headers)
    }
}

/// Discord's 429: body, `Retry-After` and the scope.
fn too_many(wait: Duration, global: bool, headers: Vec<(&'static str, String)>) -> Response {
    let secs = wait.as_secs_f64();
    let mut r = Response::json(&json!({
        "message": "You are being rate limited.", "retry_after": (secs * 1000.0).ceil() / 1000.0,
        "global": global}))
    .with_status_code(429)
    .with_additional_header("Retry-After", format!("{}", secs.ceil() as u64));
    for (name, value) in headers {
        r = r.with_additional_header(name, value);
    }
    if global {
        r = r.with_additional_header("X-RateLimit-Global", "true");
    }
    r.with_additional_header("X-RateLimit-Scope", if global { "global" } else { "user" })
}

/// Answer `call` with `route` within the rate limits (with their headers), or with a 429; count
/// the 429s and other invalid requests served.
fn rate_limited(
    shared: &Shared,
    call: &RestCall,
    route: fn(&Shared, &RestCall) -> Response,
) -> Response {
    let verdict = shared.lock().rate.check(&call.method, &call.path, call.at);
    let response = match verdict {
        Verdict::Limited(r) => r,
        Verdict::Pass(headers) => {
            let mut r = route(shared, call);
            for (name, value) in headers {
                // A scripted fault's own headers stay.
                if !r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    r = r.with_additional_header(name, value);
                }
            }
            r
        }
    };
    let mut state = shared.lock();
    match response.status_code {
        429 => {
            state.rate.served_429 += 1;
            state.rate.invalid += 1;
        }
        401 | 403 => state.rate.invalid += 1,
        _ => {}
    }
    drop(state);
    response
}

impl FakeDiscord {
    /// Limit every bucket to `limit` requests per `window` (Discord's message routes allow
    /// about 5 per 5 s per channel); the default is far above what tests send.
    pub fn set_bucket_limit(&self, limit: u32, window: Duration) {
        let mut state = self.shared.lock();
        state.rate.per_bucket = limit;
        state.rate.bucket_window = window;
    }

    /// Limit requests outside interaction callbacks to `per_second` (Discord: 50).
    pub fn set_global_limit(&self, per_second: u32) {
        self.shared.lock().rate.global_per_second = per_second;
    }

    /// 429s served so far (by the limits and by scripted [`SendFault::RateLimited`]).
    pub fn served_429s(&self) -> usize {
        self.shared.lock().rate.served_429
    }

    /// Answers that count towards Discord's invalid-request limit (401, 403, 429) so far.
    pub fn invalid_requests(&self) -> usize {
        self.shared.lock().rate.invalid
    }
}

#[cfg(test)]
mod rate_limit_tests {
    use super::*;

    fn header(r: &Response, name: &str) -> Option<String> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_string())
    }

    fn passed(v: Verdict) -> Vec<(&'static str, String)> {
        match v {
            Verdict::Pass(h) => h,
            Verdict::Limited(_) => panic!("limited"),
        }
    }

    fn limited(v: Verdict) -> Response {
        match v {
            Verdict::Limited(r) => r,
            Verdict::Pass(_) => panic!("passed"),
        }
    }

    #[test]
    fn buckets_are_per_route_and_major_parameter_and_send_discords_headers() {
        let mut rate = RateLimiter {
            per_bucket: 2,
            bucket_window: Duration::from_secs(1),
            ..RateLimiter::default()
        };
        let t = Instant::now();
        let path = format!("/api/v10/channels/{GENERAL}/messages");
        let first = passed(rate.check("GET", &path, t));
        let get =
            |h: &[(&str, String)], n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
        assert_eq!(get(&first, "X-RateLimit-Limit").as_deref(), Some("2"));
        assert_eq!(get(&first, "X-RateLimit-Remaining").as_deref(), Some("1"));
        assert_eq!(
            get(&first, "X-RateLimit-Reset-After").as_deref(),
            Some("1.000")
        );
        assert!(get(&first, "X-RateLimit-Reset").is_some());
        let second = passed(rate.check("GET", &path, t + Duration::from_millis(400)));
        assert_eq!(get(&second, "X-RateLimit-Remaining").as_deref(), Some("0"));
        assert_eq!(
            get(&second, "X-RateLimit-Reset-After").as_deref(),
            Some("0.600")
        );
        assert_eq!(
            get(&first, "X-RateLimit-Bucket"),
            get(&second, "X-RateLimit-Bucket")
        );
        // Another channel, another method: other buckets.
        passed(rate.check("GET", &format!("/api/v10/channels/{SECRET}/messages"), t));
        passed(rate.check("POST", &path, t));
        let r = limited(rate.check("GET", &path, t + Duration::from_millis(500)));
        assert_eq!(r.status_code, 429);
        assert_eq!(header(&r, "X-RateLimit-Scope").as_deref(), Some("user"));
        assert_eq!(header(&r, "Retry-After").as_deref(), Some("1"));
        assert_eq!(header(&r, "X-RateLimit-Global"), None);
        // After the reset the bucket is full again.
        passed(rate.check("GET", &path, t + Duration::from_secs(1)));
    }

    #[test]
    fn the_global_limit_spares_interaction_callbacks() {
        let mut rate = RateLimiter {
            global_per_second: 2,
            ..RateLimiter::default()
        };
        let t = Instant::now();
        passed(rate.check("GET", "/api/v10/users/@me", t));
        passed(rate.check("GET", "/api/v10/channels/1", t));
        passed(rate.check("POST", "/api/v10/interactions/5/token-5/callback", t));
        let r = limited(rate.check("GET", "/api/v10/guilds/1/members/2", t));
        assert_eq!(header(&r, "X-RateLimit-Global").as_deref(), Some("true"));
        assert_eq!(header(&r, "X-RateLimit-Scope").as_deref(), Some("global"));
        passed(rate.check("GET", "/api/v10/channels/1", t + Duration::from_secs(1)));
    }

    #[test]
    fn webhook_tokens_are_part_of_the_major_parameter() {
        let (route, major, interaction) =
            limited_route("PATCH", "/api/v10/webhooks/9/token-1/messages/@original");
        assert_eq!(route, "PATCH /webhooks/:id/:id/messages/@original");
        assert_eq!(major, "9/token-1");
        assert!(!interaction);
    }
}

// ---------------------------------------------------------------------------------------------
// Threads the gateway does not announce: archived ones
// (<https://discord.com/developers/docs/resources/channel#list-public-archived-threads>: "Returns
// archived threads in the channel that are public", newest `archive_timestamp` first, `before`
// an ISO8601 timestamp, `limit` optional, answered as `{threads, members, has_more}`, where
// `members` are thread members for the threads the current user has joined), and private
// threads the bot is not a member of (Get Thread Member answers 404 to a non-member:
// <https://discord.com/developers/docs/resources/channel#get-thread-member>).

/// GET /guilds/{guild}: the guild object (roles, owner; no channels, members or threads, which
/// only GUILD_CREATE carries: <https://discord.com/developers/docs/resources/guild#get-guild>).
fn get_guild(shared: &Shared, guild: &str) -> Response {
    if guild.parse() != Ok(GUILD) {
        return Response::json(&json!({"message": "Unknown Guild", "code": 10004}))
            .with_status_code(404);
    }
    let mut g = guild_create_from(&shared.lock(), guild_create());
    if let Some(fields) = g.as_object_mut() {
        for extra in [
            "channels",
            "threads",
            "members",
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "voice_states",
            "presences",
            "stage_instances",
            "guild_scheduled_events",
        ] {
            fields.remove(extra);
        }
    }
    Response::json(&g)
}

/// One page of `channel`'s archived public threads.
fn archived_public_threads(shared: &Shared, channel: u64, call: &RestCall) -> Value {
    let limit = page_limit(call);
    let before = call
        .query_param("before")
        .map(|b| b.replace("%3A", ":").replace("%2B", "+"));
    let state = shared.lock();
    let stamp = |t: &Value| {
        t["thread_metadata"]["archive_timestamp"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let cutoff = before
        .as_deref()
        .and_then(|b| chrono::DateTime::parse_from_rfc3339(b).ok());
    let mut threads: Vec<Value> = state
        .archived_threads
        .iter()
        .filter(|t| id_of(&t["parent_id"]) == channel)
        .filter(|t| cutoff.is_none_or(|c| stamp(t).is_some_and(|s| s < c)))
        .cloned()
        .collect();
    threads.sort_by_key(|t| std::cmp::Reverse(stamp(t)));
    let has_more = threads.len() > limit;
    threads.truncate(limit);
    let members: Vec<Value> = threads
        .iter()
        .filter(|t| bot_is_member(&state, id_of(&t["id"])))
        .map(|t| {
            json!({"id": t["id"], "user_id": BOT.to_string(),
            "join_timestamp": rfc3339(now_ms()), "flags": 0})
        })
        .collect();
    json!({"threads": threads, "members": members, "has_more": has_more})
}

/// True when the bot is a member of thread `id`: added to it, or sent its THREAD_CREATE as a
/// private thread (Discord sends that only to its members and to those who may manage threads,
/// which the bot may not: <https://discord.com/developers/docs/topics/threads#gateway-events>).
fn bot_is_member(state: &State, id: u64) -> bool {
    state.joined_threads.contains(&id)
        || state
            .created_channels
            .iter()
            .any(|c| id_of(&c["id"]) == id && c["type"] == 12)
}

/// False for a private thread the bot is not a member of.
fn bot_may_read_thread(shared: &Shared, thread: &str) -> bool {
    let id: u64 = thread.parse().unwrap_or(0);
    let state = shared.lock();
    !state.private_threads.contains(&id) || bot_is_member(&state, id)
}

/// GET /channels/{thread}/thread-members/@me: the bot's thread member, or 404 Unknown Member.
fn thread_member_me(shared: &Shared, thread: &str) -> Response {
    let id: u64 = thread.parse().unwrap_or(0);
    if bot_is_member(&shared.lock(), id) {
        Response::json(&json!({"id": id.to_string(), "user_id": BOT.to_string(),
            "join_timestamp": rfc3339(now_ms()), "flags": 0}))
    } else {
        Response::json(&json!({"message": "Unknown Member", "code": 10007})).with_status_code(404)
    }
}

// ---------------------------------------------------------------------------------------------
// What a send needs (Create Message,
// <https://discord.com/developers/docs/resources/message#create-message>): Send Messages in a
// channel, Send Messages in Threads in a thread; Read Message History for a reply
// (`message_reference`); Embed Links for embeds. Discord answers a missing one 403 Missing
// Permissions (50013), and one that cannot see the channel 403 Missing Access (50001)
// (<https://discord.com/developers/docs/topics/opcodes-and-status-codes#json>).

/// The 403 Discord answers a send to `channel` of `GUILD` with `body` that the bot's
/// permissions do not allow; None when allowed (or the channel is not one of `GUILD`'s).
fn send_forbidden(shared: &Shared, channel: u64, body: &Value) -> Option<Response> {
    let guild = guild_create_from(&shared.lock(), guild_create());
    let perms = bot_permissions_in(&guild, channel)?;
    let thread = guild["threads"]
        .as_array()
        .is_some_and(|l| l.iter().any(|t| id_of(&t["id"]) == channel));
    let send = if thread {
        SEND_MESSAGES_IN_THREADS
    } else {
        SEND_MESSAGES
    };
    let has = |bit: u64| perms & bit != 0;
    let embeds = body["embeds"].as_array().is_some_and(|e| !e.is_empty());
    let reply = !body["message_reference"].is_null();
    if !has(VIEW_CHANNEL) {
        return Some(
            Response::json(&json!({"message": "Missing Access", "code": 50001}))
                .with_status_code(403),
        );
    }
    let missing =
        !has(send) || (embeds && !has(EMBED_LINKS)) || (reply && !has(READ_MESSAGE_HISTORY));
    missing.then(|| {
        Response::json(&json!({"message": "Missing Permissions", "code": 50013}))
            .with_status_code(403)
    })
}

/// The bot's permissions in `channel` of `guild` (a GUILD_CREATE payload), computed as Discord
/// documents (<https://discord.com/developers/docs/topics/permissions#permission-overwrites>):
/// owner and Administrator have all; else `@everyone` and role permissions, then the
/// `@everyone` overwrite, the role overwrites together (deny, then allow), then the member's. A
/// thread takes its parent's overwrites. None for a channel the guild does not have.
fn bot_permissions_in(guild: &Value, channel: u64) -> Option<u64> {
    let list = |key: &str| guild[key].as_array().cloned().unwrap_or_default();
    let find = |id: u64| {
        list("channels")
            .into_iter()
            .chain(list("threads"))
            .find(|c| id_of(&c["id"]) == id)
    };
    let mut chan = find(channel)?;
    if matches!(chan["type"].as_u64(), Some(10..=12)) {
        chan = find(id_of(&chan["parent_id"]))?;
    }
    let guild_id = id_of(&guild["id"]);
    if id_of(&guild["owner_id"]) == BOT {
        return Some(u64::MAX);
    }
    let bits = |v: &Value| id_of(v);
    let role_perms = |role: u64| {
        list("roles")
            .iter()
            .find(|r| id_of(&r["id"]) == role)
            .map_or(0, |r| bits(&r["permissions"]))
    };
    let roles: Vec<u64> = list("members")
        .iter()
        .find(|m| id_of(&m["user"]["id"]) == BOT)
        .and_then(|m| m["roles"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(id_of)
        .collect();
    let mut perms = roles
        .iter()
        .fold(role_perms(guild_id), |acc, r| acc | role_perms(*r));
    if perms & (1 << 3) != 0 {
        return Some(u64::MAX);
    }
    let overwrites = chan["permission_overwrites"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let overwrite = |id: u64, kind: u64| {
        overwrites
            .iter()
            .find(|o| id_of(&o["id"]) == id && o["type"].as_u64() == Some(kind))
            .map(|o| (bits(&o["allow"]), bits(&o["deny"])))
    };
    if let Some((allow, deny)) = overwrite(guild_id, 0) {
        perms = (perms & !deny) | allow;
    }
    let (allow, deny) = roles
        .iter()
        .filter_map(|r| overwrite(*r, 0))
        .fold((0, 0), |(a, d), (allow, deny)| (a | allow, d | deny));
    perms = (perms & !deny) | allow;
    if let Some((allow, deny)) = overwrite(BOT, 1) {
        perms = (perms & !deny) | allow;
    }
    Some(perms)
}

// ---------------------------------------------------------------------------------------------
// Interactions: the initial response's deadline, the token's lifetime, and DMs.
//
// "Interaction tokens are valid for 15 minutes and can be used to send followup messages",
// and an initial response must be sent "within 3 seconds of receiving the event. If the 3
// second deadline is exceeded, the token will be invalidated"
// (https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
// The error codes are those of
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json: 10062 Unknown
// interaction, 40060 Interaction has already been acknowledged, 50027 Invalid Webhook Token.

/// How long after the event an interaction's initial response is accepted (tests shorten it
/// with [`FakeDiscord::set_initial_response_window`]).
pub const INITIAL_RESPONSE_WINDOW: Duration = Duration::from_secs(3);
/// How long an interaction token may be used for edits and follow-ups (tests shorten it with
/// [`FakeDiscord::set_token_lifetime`]).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// First id of the DM channels the fake opens.
const FIRST_DM_CHANNEL: u64 = 600_000_000_000_000_001;

/// What became of one interaction.
struct InteractionLog {
    dispatched: Instant,
    /// How long after the dispatch the accepted initial response arrived, and its body.
    initial: Option<(Duration, Value)>,
}

/// Interactions by token, the fake's deadlines, the calls refused for them, and DM channels.
#[derive(Default)]
struct Interactions {
    by_token: HashMap<String, InteractionLog>,
    response_window: Option<Duration>,
    token_lifetime: Option<Duration>,
    /// Paths of calls refused because they were late, with the status answered.
    refused: Vec<(String, u16)>,
    /// DM channel per user (`POST /users/@me/channels`).
    dm_channels: HashMap<u64, u64>,
    /// Users who accept no DMs from the bot.
    closed_dms: HashSet<u64>,
}

impl Interactions {
    fn window(&self) -> Duration {
        self.response_window.unwrap_or(INITIAL_RESPONSE_WINDOW)
    }

    fn lifetime(&self) -> Duration {
        self.token_lifetime.unwrap_or(TOKEN_LIFETIME)
    }

    /// Whether `channel` is the DM channel of a user who accepts no DMs.
    fn dm_closed(&self, channel: u64) -> bool {
        self.dm_channels
            .iter()
            .any(|(user, dm)| *dm == channel && self.closed_dms.contains(user))
    }

    /// Whether edits and follow-ups with `token` fail: it is older than its lifetime, or it was
    /// not answered within the initial response window. Tokens the fake did not dispatch pass.
    fn token_invalid(&self, token: &str) -> bool {
        self.by_token.get(token).is_some_and(|i| {
            let age = i.dispatched.elapsed();
            age >= self.lifetime() || (i.initial.is_none() && age > self.window())
        })
    }
}

impl FakeDiscord {
    fn note_interaction(&self, interaction: &Value) {
        if let Some(token) = interaction["token"].as_str() {
            let log = InteractionLog {
                dispatched: Instant::now(),
                initial: None,
            };
            self.shared
                .lock()
                .interactions
                .by_token
                .insert(token.to_owned(), log);
        }
    }

    /// Accept initial responses up to `window` after the event instead of
    /// [`INITIAL_RESPONSE_WINDOW`].
    pub fn set_initial_response_window(&self, window: Duration) {
        self.shared.lock().interactions.response_window = Some(window);
    }

    /// Let interaction tokens live `lifetime` instead of [`TOKEN_LIFETIME`].
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().interactions.token_lifetime = Some(lifetime);
    }

    /// The accepted initial response to the interaction with `token`: how long after the
    /// event it arrived, and its body. None when none was accepted within `timeout`.
    pub fn wait_initial_response(
        &self,
        token: &str,
        timeout: Duration,
    ) -> Option<(Duration, Value)> {
        self.wait_until(timeout, |s| {
            s.interactions.by_token.get(token)?.initial.clone()
        })
    }

    /// The text the invoker is shown for the interaction with `token`: the content of an
    /// immediate answer (type 4), or after a deferral (type 5) that of the reply's edit.
    pub fn wait_answer_text(&self, token: &str, timeout: Duration) -> Option<String> {
        let (_, initial) = self.wait_initial_response(token, timeout)?;
        if initial["type"] == 4 {
            return initial["data"]["content"].as_str().map(str::to_owned);
        }
        let edit = format!("/webhooks/{APP_ID}/{token}/messages/@original");
        self.wait_for_call(timeout, |c| {
            c.method == "PATCH" && c.path.ends_with(&edit) && c.json["content"].is_string()
        })
        .and_then(|c| c.json["content"].as_str().map(str::to_owned))
    }

    /// Calls refused because they came too late for their interaction (path, status): a late
    /// initial response (404) or an edit or follow-up with an invalid token (401).
    pub fn late_interaction_calls(&self) -> Vec<(String, u16)> {
        self.shared.lock().interactions.refused.clone()
    }

    /// From now on `user` accepts no DMs from the bot: sends to their DM channel answer 403
    /// Cannot send messages to this user (code 50007), as when a member turned off DMs from
    /// server members.
    pub fn close_dms(&self, user: u64) {
        self.shared.lock().interactions.closed_dms.insert(user);
    }

    /// The DM channel the fake opened for `user`, if the bot asked for one.
    pub fn dm_channel(&self, user: u64) -> Option<u64> {
        self.shared
            .lock()
            .interactions
            .dm_channels
            .get(&user)
            .copied()
    }
}

/// `POST /interactions/{id}/{token}/callback`: 204, or 404 Unknown interaction when later than
/// the initial response window, or 400 when the interaction was answered already.
fn interaction_callback(shared: &Shared, token: &str, call: &RestCall) -> Response {
    let mut state = shared.lock();
    let interactions = &mut state.interactions;
    let window = interactions.window();
    let Some(log) = interactions.by_token.get_mut(token) else {
        return Response::empty_204();
    };
    if log.initial.is_some() {
        return Response::json(
            &json!({"message": "Interaction has already been acknowledged.",
            "code": 40060}),
        )
        .with_status_code(400);
    }
    let age = log.dispatched.elapsed();
    if age > window {
        interactions.refused.push((call.path.clone(), 404));
        return Response::json(&json!({"message": "Unknown interaction", "code": 10062}))
            .with_status_code(404);
    }
    log.initial = Some((age, call.json.clone()));
    Response::empty_204()
}

/// 401 Invalid Webhook Token, for an edit or follow-up with an expired token.
fn invalid_webhook_token(shared: &Shared, call: &RestCall) -> Response {
    shared
        .lock()
        .interactions
        .refused
        .push((call.path.clone(), 401));
    Response::json(&json!({"message": "Invalid Webhook Token", "code": 50027}))
        .with_status_code(401)
}

/// `POST /users/@me/channels` with `recipient_id`: the DM channel with that user
/// (https://discord.com/developers/docs/resources/user#create-dm).
fn open_dm(shared: &Shared, call: &RestCall) -> Response {
    let user = id_of(&call.json["recipient_id"]);
    let mut state = shared.lock();
    let next = FIRST_DM_CHANNEL + state.interactions.dm_channels.len() as u64;
    let id = *state.interactions.dm_channels.entry(user).or_insert(next);
    Response::json(
        &json!({"id": id.to_string(), "type": 1, "last_message_id": null,
        "recipients": [self::user(user)]}),
    )
}

// ---------------------------------------------------------------------------------------------
// Fixtures for server-wide /catchup: more text channels and replies.

/// A text channel of `GUILD` that everyone may read, as CHANNEL_CREATE sends it.
pub fn text_channel(id: u64, name: &str) -> Value {
    channel(id, name, &json!([]))
}

impl FakeDiscord {
    /// Dispatch MESSAGE_CREATE for a reply (type 19) to `to` in the same channel, sent at the
    /// time of its snowflake `id`. Returns the payload.
    pub fn inject_reply(
        &self,
        channel: u64,
        id: u64,
        author: u64,
        content: &str,
        to: u64,
    ) -> Value {
        let mut msg = message(channel, id, author, content, snowflake_time_ms(id));
        msg["type"] = json!(19);
        msg["message_reference"] = json!({"message_id": to.to_string(),
            "channel_id": channel.to_string(), "guild_id": GUILD.to_string()});
        self.dispatch("MESSAGE_CREATE", &msg);
        msg
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway: a minimal RFC 6455 server (text frames, no compression, no fragmentation).

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    let mut session_no = 0;
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if shared.lock().gateway_down {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            continue;
        }
        session_no += 1;
        let shared = Arc::clone(shared);
        let n = session_no;
        std::thread::spawn(move || {
            let _ = serve_gateway(&shared, &stream, n);
        });
    }
}

fn serve_gateway(shared: &Arc<Shared>, stream: &TcpStream, n: u64) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let key = read_upgrade_request(&mut reader)?;
    let mut writer = stream.try_clone()?;
    write!(
        writer,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(&key)
    )?;
    let conn = Arc::new(Conn {
        writer: Mutex::new(writer),
    });
    shared.lock().connections.push(Arc::clone(&conn));
    // The session this connection carries (after IDENTIFY or a successful RESUME).
    let mut session: Option<Arc<Session>> = None;
    let result = serve_frames(shared, &conn, &mut session, &mut reader, n);
    // Discord invalidates a session its client closes with 1000 or 1001; any other end (a
    // dropped connection, another close code) leaves it resumable.
    let clean_close = matches!(result, Ok(Some(1000 | 1001)));
    if let Some(s) = &session {
        s.detach(&conn, clean_close);
    }
    shared.lock().connections.retain(|c| !Arc::ptr_eq(c, &conn));
    shared.changed.notify_all();
    // Close the TCP connection too (the connection's writer holds a clone of the socket).
    conn.shutdown();
    result.map(|_| ())
}

/// Serve frames until the client closes (its close code, if any) or the stream ends (None).
fn serve_frames(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    session: &mut Option<Arc<Session>>,
    reader: &mut impl Read,
    n: u64,
) -> std::io::Result<Option<u16>> {
    conn.send(&json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}))?;
    while let Some((opcode, payload)) = read_frame(reader)? {
        match opcode {
            0x1 => on_gateway_text(shared, conn, session, n, &payload)?,
            0x8 => {
                let _ = conn.write_frame(0x8, &payload);
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return Ok(code);
            }
            0x9 => conn.write_frame(0xA, &payload)?,
            _ => {}
        }
    }
    Ok(None)
}

fn on_gateway_text(
    shared: &Shared,
    conn: &Arc<Conn>,
    session: &mut Option<Arc<Session>>,
    n: u64,
    payload: &[u8],
) -> std::io::Result<()> {
    let msg: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    match msg["op"].as_u64() {
        Some(1) => conn.send(&json!({"op": 11})),
        Some(2) => {
            let url = format!("ws://{}", shared.gateway_addr);
            let (extra, guilds) = {
                let state = shared.lock();
                let (extra, channels) = (state.extra_guilds, state.channels_per_guild);
                let guilds: Vec<Value> = std::iter::once(guild_create())
                    .chain((1..=extra).map(|i| extra_guild_create(i, channels)))
                    .map(|g| guild_create_from(&state, g))
                    .collect();
                (extra, guilds)
            };
            let new = Arc::new(Session::new(format!("session-{n}"), conn));
            new.dispatch("READY", &ready_with(n, &url, extra))?;
            for g in &guilds {
                new.dispatch("GUILD_CREATE", g)?;
            }
            let mut state = shared.lock();
            state.sessions.push(Arc::clone(&new));
            state.identified.push(msg["d"].clone());
            drop(state);
            *session = Some(new);
            shared.changed.notify_all();
            Ok(())
        }
        Some(6) => {
            let d = &msg["d"];
            let (refuse, found) = {
                let state = shared.lock();
                let found = state
                    .sessions
                    .iter()
                    .find(|s| d["session_id"] == s.id.as_str())
                    .cloned();
                (state.refuse_resumes, found)
            };
            let seq = d["seq"].as_u64().unwrap_or(0);
            let resumed = match &found {
                Some(s) if !refuse => s.resume(conn, seq)?,
                Some(s) => {
                    s.invalidate();
                    false
                }
                None => false,
            };
            if resumed {
                *session = found;
            } else {
                conn.send(&json!({"op": 9, "d": false}))?;
            }
            shared.lock().resumes.push(d.clone());
            shared.changed.notify_all();
            Ok(())
        }
        _ => Ok(()),
    }
}

fn read_upgrade_request(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut key = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(key);
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("sec-websocket-key") {
                value.trim().clone_into(&mut key);
            }
        }
    }
}

fn write_frame(w: &mut impl Write, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut frame = vec![0x80 | opcode];
    let len = payload.len();
    if len < 126 {
        frame.push(len as u8);
    } else if len <= 0xFFFF {
        frame.push(126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(payload);
    w.write_all(&frame)?;
    w.flush()
}

/// One frame (opcode, unmasked payload); None at end of stream.
fn read_frame(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 2];
    if r.read_exact(&mut head).is_err() {
        return Ok(None);
    }
    let opcode = head[0] & 0x0F;
    let masked = head[1] & 0x80 != 0;
    let len = match head[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask)?;
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok(Some((opcode, payload)))
}

/// `Sec-WebSocket-Accept`: base64(sha1(key + GUID)).
fn accept_key(key: &str) -> String {
    let digest = sha1(format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes());
    base64(&digest)
}

#[expect(
    clippy::many_single_char_names,
    reason = "the variable names of FIPS 180-4, so the code can be checked against it"
)]
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::model::prelude::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn fixtures_deserialize_with_serenity_models() {
        let url = "ws://127.0.0.1:1";
        serde_json::from_value::<Ready>(ready(1, url)).expect("READY");
        serde_json::from_value::<Guild>(guild_create()).expect("GUILD_CREATE");
        let extra =
            serde_json::from_value::<Guild>(extra_guild_create(3, 20)).expect("extra guild");
        assert_eq!(extra.channels.len(), 20);
        for c in channels() {
            serde_json::from_value::<GuildChannel>(c).expect("channel");
        }
        let forum = serde_json::from_value::<GuildChannel>(forum(7, "help")).expect("forum");
        assert_eq!(forum.kind, ChannelType::Forum);
        for (kind, expected) in [
            (11, ChannelType::PublicThread),
            (12, ChannelType::PrivateThread),
        ] {
            let t = serde_json::from_value::<GuildChannel>(thread(8, GENERAL, "t", kind))
                .expect("thread");
            assert_eq!(t.kind, expected);
            assert!(t.thread_metadata.is_some());
        }
        let msg = message(GENERAL, snowflake_at(now_ms(), 1), ALICE, "hi", now_ms());
        serde_json::from_value::<Message>(msg).expect("MESSAGE_CREATE");
        let opts = json!([{"name": "hours", "type": 4, "value": 2},
            {"name": "channel", "type": 7, "value": SECRET.to_string()}]);
        let i = serde_json::from_value::<Interaction>(slash_command(5, BOB, GENERAL, &opts))
            .expect("INTERACTION_CREATE");
        assert!(matches!(i, Interaction::Command(_)), "{i:?}");
    }

    #[test]
    fn events_deserialize_as_known_gateway_events() {
        let msg = message(GENERAL, snowflake_at(now_ms(), 1), ALICE, "hi", now_ms());
        for (t, d) in [
            ("MESSAGE_CREATE", msg.clone()),
            ("MESSAGE_UPDATE", msg),
            (
                "MESSAGE_UPDATE",
                unfurled(GENERAL, 9, ALICE, "see https://example.org/"),
            ),
            ("GUILD_CREATE", guild_create()),
            ("READY", ready(1, "ws://x")),
            (
                "MESSAGE_DELETE",
                json!({"id": "5", "channel_id": GENERAL.to_string(), "guild_id": GUILD.to_string()}),
            ),
            (
                "INTERACTION_CREATE",
                slash_command(5, ALICE, GENERAL, &json!([])),
            ),
            (
                "INTERACTION_CREATE",
                command("catchup", 6, BOB, GENERAL, &json!([])),
            ),
            ("THREAD_CREATE", thread(8, GENERAL, "t", 11)),
            ("THREAD_UPDATE", thread(8, GENERAL, "renamed", 11)),
            ("CHANNEL_CREATE", forum(7, "help")),
            ("RESUMED", json!({})),
        ] {
            let payload = json!({"op": 0, "s": 1, "t": t, "d": d});
            let ev: serenity::model::event::GatewayEvent =
                serde_json::from_value(payload).expect(t);
            let serenity::model::event::GatewayEvent::Dispatch(_, event) = ev else {
                panic!("{t} is not a dispatch");
            };
            assert!(
                !matches!(event, serenity::model::event::Event::Unknown(_)),
                "{t} became Unknown"
            );
        }
    }

    #[test]
    fn rest_messages_lack_member_and_guild_while_the_gateway_carries_them() {
        let fake = FakeDiscord::start();
        let id = snowflake_at(now_ms(), 1);
        let sent = fake.inject_message(GENERAL, id, CAROL, "hi");
        let live: Message = serde_json::from_value(sent).expect("MESSAGE_CREATE");
        assert_eq!(live.guild_id.map(GuildId::get), Some(GUILD));
        assert_eq!(live.member.and_then(|m| m.nick).as_deref(), Some("Caz"));
        let page = history_page(
            &fake.shared,
            GENERAL,
            &RestCall {
                method: "GET".into(),
                path: String::new(),
                query: "limit=100".into(),
                json: Value::Null,
                authorization: String::new(),
                at: Instant::now(),
            },
        );
        let rest: Vec<Message> = serde_json::from_value(page).expect("REST page");
        assert_eq!(rest.len(), 1);
        assert!(rest[0].guild_id.is_none() && rest[0].member.is_none());
        assert_eq!(rest[0].author.global_name.as_deref(), Some("Carol G"));
        let found: Member = serde_json::from_str(
            &String::from_utf8(body_of(guild_member(
                &GUILD.to_string(),
                &CAROL.to_string(),
            )))
            .expect("utf-8"),
        )
        .expect("guild member");
        assert_eq!(found.nick.as_deref(), Some("Caz"));
        assert_eq!(guild_member(&GUILD.to_string(), "5").status_code, 404);
    }

    #[test]
    fn archived_threads_come_newest_first_in_discords_shape_and_not_in_guild_create() {
        let fake = FakeDiscord::start();
        fake.add_archived_thread(thread(8, GENERAL, "older", 11), Duration::from_secs(7200));
        fake.add_archived_thread(thread(9, GENERAL, "newer", 11), Duration::from_secs(60));
        let page = |query: &str| {
            archived_public_threads(
                &fake.shared,
                GENERAL,
                &RestCall {
                    method: "GET".into(),
                    path: String::new(),
                    query: query.into(),
                    json: Value::Null,
                    authorization: String::new(),
                    at: Instant::now(),
                },
            )
        };
        let first = page("limit=1");
        assert_eq!(first["has_more"], true);
        assert_eq!(first["members"], json!([]));
        let t: GuildChannel = serde_json::from_value(first["threads"][0].clone()).expect("thread");
        assert_eq!(t.id.get(), 9);
        assert!(t.thread_metadata.is_some_and(|m| m.archived));
        let stamp = first["threads"][0]["thread_metadata"]["archive_timestamp"]
            .as_str()
            .expect("archive_timestamp")
            .replace(':', "%3A");
        let rest = page(&format!("limit=100&before={stamp}"));
        assert_eq!(rest["has_more"], false);
        assert_eq!(rest["threads"].as_array().map(Vec::len), Some(1));
        assert_eq!(rest["threads"][0]["id"], "8");
        assert_eq!(fake.guild_create_payload()["threads"], json!([]));
        let g: serenity::model::guild::PartialGuild =
            serde_json::from_slice(&body_of(get_guild(&fake.shared, &GUILD.to_string())))
                .expect("GET /guilds/{id}");
        assert_eq!(g.owner_id.get(), ALICE);
    }

    fn body_of(r: Response) -> Vec<u8> {
        let (mut reader, _) = r.data.into_reader_and_size();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("body");
        out
    }

    /// A bare websocket client of the fake's gateway (it accepts unmasked client frames).
    struct Client(BufReader<TcpStream>);

    impl Client {
        /// Connect and read HELLO.
        fn connect(addr: SocketAddr) -> Self {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            write!(
                stream,
                "GET /?v=10 HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            )
            .expect("upgrade");
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while line != "\r\n" {
                line.clear();
                assert!(reader.read_line(&mut line).expect("response") > 0);
            }
            let mut client = Self(reader);
            assert_eq!(client.recv()["op"], 10, "HELLO first");
            client
        }

        fn send(&mut self, payload: &Value) {
            write_frame(self.0.get_mut(), 0x1, payload.to_string().as_bytes()).expect("send");
        }

        /// The next text frame as JSON; None when the server ended the connection.
        fn try_recv(&mut self) -> Option<Value> {
            let (opcode, payload) = read_frame(&mut self.0).ok().flatten()?;
            assert_eq!(opcode, 0x1);
            Some(serde_json::from_slice(&payload).expect("JSON"))
        }

        fn recv(&mut self) -> Value {
            self.try_recv().expect("a frame")
        }
    }

    #[test]
    fn a_resume_gets_the_missed_events_then_resumed_and_a_refused_one_invalid_session() {
        use serenity::model::event::{Event, GatewayEvent};
        let fake = FakeDiscord::start();
        let addr = fake.shared.gateway_addr;
        let mut first = Client::connect(addr);
        first.send(&json!({"op": 2, "d": {"token": TOKEN}}));
        let ready = first.recv();
        assert_eq!(
            (ready["t"].as_str(), ready["s"].as_u64()),
            (Some("READY"), Some(1))
        );
        assert_eq!(ready["d"]["resume_gateway_url"], format!("ws://{addr}"));
        let session_id = ready["d"]["session_id"].clone();
        assert_eq!(first.recv()["t"], "GUILD_CREATE");
        fake.inject_message(GENERAL, snowflake_at(now_ms(), 1), ALICE, "seen");
        assert_eq!(first.recv()["s"], 3);

        fake.drop_gateway();
        assert!(first.try_recv().is_none(), "the connection was not dropped");
        let missed = snowflake_at(now_ms(), 2);
        fake.inject_message(GENERAL, missed, BOB, "sent while disconnected");
        let mut second = Client::connect(addr);
        second.send(&json!({"op": 6, "d": {"token": TOKEN, "session_id": session_id, "seq": 3}}));
        let replayed = second.recv();
        assert_eq!(replayed["s"], 4);
        assert_eq!(replayed["d"]["id"], missed.to_string());
        let resumed = second.recv();
        assert_eq!(resumed, json!({"op": 0, "s": 5, "t": "RESUMED", "d": {}}));
        let event: GatewayEvent = serde_json::from_value(resumed).expect("RESUMED");
        assert!(matches!(
            event,
            GatewayEvent::Dispatch(5, Event::Resumed(_))
        ));
        let newest = snowflake_at(now_ms(), 3);
        fake.inject_message(GENERAL, newest, ALICE, "live again");
        assert_eq!(second.recv()["s"], 6, "the sequence continues");
        assert_eq!(fake.resumes().len(), 1);
        assert_eq!(fake.dispatched("RESUMED").len(), 1);

        fake.refuse_resumes(true);
        fake.drop_gateway();
        let mut third = Client::connect(addr);
        third.send(&json!({"op": 6, "d": {"token": TOKEN, "session_id": session_id, "seq": 6}}));
        let invalid = third.recv();
        assert_eq!(invalid, json!({"op": 9, "d": false}));
        let event: GatewayEvent = serde_json::from_value(invalid).expect("INVALID_SESSION");
        assert!(matches!(event, GatewayEvent::InvalidateSession(false)));
        // A refused session is gone for good, and an unknown one cannot be resumed either.
        fake.refuse_resumes(false);
        for id in [session_id.clone(), json!("session-999")] {
            let mut again = Client::connect(addr);
            again.send(&json!({"op": 6, "d": {"token": TOKEN, "session_id": id, "seq": 6}}));
            assert_eq!(again.recv(), json!({"op": 9, "d": false}));
        }
        assert_eq!(fake.wait_for_resumes(Duration::from_secs(5), 4).len(), 4);
        // IDENTIFY again: a new session, its GUILD_CREATE knows the newest message.
        third.send(&json!({"op": 2, "d": {"token": TOKEN}}));
        let ready = third.recv();
        assert_eq!(
            (ready["t"].as_str(), ready["s"].as_u64()),
            (Some("READY"), Some(1))
        );
        assert_ne!(ready["d"]["session_id"], session_id);
        let guild = third.recv();
        assert_eq!(guild["t"], "GUILD_CREATE");
        assert_eq!(guild["d"]["channels"][0]["id"], GENERAL.to_string());
        assert_eq!(
            guild["d"]["channels"][0]["last_message_id"],
            newest.to_string()
        );
        assert_eq!(fake.dispatched("READY").len(), 2);
        assert_eq!(fake.dispatched("GUILD_CREATE").len(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Personal digests: the server's channel list with their overwrites.

/// `GET /guilds/{guild}/channels`: the guild's channels (not threads) with their permission
/// overwrites, as they are now (<https://discord.com/developers/docs/resources/guild#get-guild-channels>).
fn guild_channels(shared: &Shared, guild: &str) -> Response {
    if guild.parse() != Ok(GUILD) {
        return Response::json(&json!({"message": "Unknown Guild", "code": 10004}))
            .with_status_code(404);
    }
    let g = guild_create_from(&shared.lock(), guild_create());
    Response::json(&g["channels"])
}

impl FakeDiscord {
    /// The messages the bot posted (`POST /channels/{channel}/messages`) to `channel`, a
    /// channel or a DM channel, in order.
    pub fn posts_to(&self, channel: u64) -> Vec<RestCall> {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path == path)
            .collect()
    }
}
