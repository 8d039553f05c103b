//! Server replicas behind a load balancer, one event stream shared through
//! Redis Streams: any replica resumes any client exactly.
//!
//! - A publisher `XADD`s each event to a Redis stream; the entry id Redis
//!   gives it (`1700000000000-0`) is the event's SSE `id`.
//! - Each replica reads the stream once (`XREAD BLOCK`), encodes each entry
//!   once into an [`Encoded`] frame and broadcasts it to its connections:
//!   every connection sends a clone of the same `Bytes`.
//! - `GET /events` with a `Last-Event-ID` first replays the entries after
//!   it from Redis (`XRANGE`), then follows the broadcast, skipping what the
//!   replay already sent. Without an id, the stream starts with the next
//!   entry.
//! - Retention: the publisher trims the stream (`XADD MAXLEN N`). When a
//!   client's id is older than the oldest entry kept in a trimmed stream
//!   (Redis does not say where trimming stopped, so the id just before the
//!   oldest kept one counts as trimmed too: a needless reset, never a
//!   silent gap), or is not an id this stream could have given, or lies in
//!   its future, the replica sends a
//!   `reset` event (`data` is the oldest id still kept, empty when the
//!   stream is empty) and then every entry still kept: the client learns
//!   that it missed events, and goes on from there.
//! - A connection that falls more than `--buffer` entries behind the
//!   broadcast (a reader slower than the stream) is ended with a `retry`
//!   hint; it comes back with its last id and catches up from Redis. The
//!   others are never held up by it.
//! - `--linger MS` (default 0): after each read from Redis, wait this long
//!   before the next one, so that the entries published meanwhile go out
//!   together: one frame, and one write per connection, for all of them.
//!   An entry after a quiet spell still goes out at once; others wait at
//!   most `MS`. With thousands of connections a write costs far more than
//!   an encoding (`benches/README.md`, many connections), so this is what
//!   makes a busy replica cheaper per event, at the price of that latency.
//!   The broadcast holds at most `--buffer` reads (of at most 512 entries
//!   each, kept both joined and one by one), for the slowest connection.
//! - Keep-alives, the connection cap and the header and write timeouts of
//!   `examples/server.rs`; on Ctrl-C or SIGTERM every stream ends with a
//!   `retry` hint.
//!
//! ```sh
//! redis-server --port 6390 --save '' --appendonly no &
//! cargo run --example cluster --features http-body,tokio -- replica 127.0.0.1:8081 --redis redis://127.0.0.1:6390/ &
//! cargo run --example cluster --features http-body,tokio -- replica 127.0.0.1:8082 --redis redis://127.0.0.1:6390/ &
//! cargo run --example cluster --features http-body,tokio -- publish --redis redis://127.0.0.1:6390/ --count 100
//! curl -N http://127.0.0.1:8082/events -H 'Last-Event-ID: 0-1'
//! ```
#![allow(dead_code)]

#[path = "support/mod.rs"]
mod support;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use redis::aio::MultiplexedConnection;
use ssewire::body::{response_headers, EventBody};
use ssewire::encode::{Encoded, EventId, EventType, Message, Retry};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A Redis stream entry id: milliseconds and a sequence number, compared
/// as a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EntryId(pub u64, pub u64);

impl EntryId {
    /// Parses `ms-seq` (both decimal). Anything else is not an entry id.
    pub(crate) fn parse(text: &[u8]) -> Option<EntryId> {
        let text = std::str::from_utf8(text).ok()?;
        let (ms, seq) = text.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(EntryId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// One stream entry, decoded from Redis: its id, event type and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub id: EntryId,
    pub event: Option<String>,
    pub data: String,
}

impl Entry {
    /// The SSE encoding, made once.
    pub(crate) fn encode(&self) -> Encoded {
        let id = self.id.to_string();
        let mut message =
            Message::new(&self.data).id(EventId::new(&id).expect("digits and a dash"));
        let event_type = self.event.as_deref().and_then(|e| EventType::new(e).ok());
        if let Some(t) = event_type {
            message = message.event_type(t);
        }
        Encoded::new(&message)
    }
}

/// What a replica serves, and its limits.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// The Redis server, as a `redis://` URL.
    pub redis: String,
    /// The stream's key.
    pub key: String,
    /// How many entries a connection may fall behind before it is ended.
    pub buffer: usize,
    /// How long the replica waits after each read from Redis before the
    /// next, gathering what is published meanwhile into one frame.
    pub linger: Duration,
    /// The `retry` hint sent to a connection ended for falling behind, and
    /// on shutdown, in milliseconds.
    pub retry_ms: u64,
    /// A keep-alive comment after this long without an event.
    pub keep_alive: Duration,
    /// Connection cap and timeouts.
    pub limits: support::Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            redis: "redis://127.0.0.1:6379/".into(),
            key: "events".into(),
            buffer: 1024,
            linger: Duration::ZERO,
            retry_ms: 1000,
            keep_alive: Duration::from_secs(15),
            limits: support::Limits::default(),
        }
    }
}

/// Reads the entries of an `XRANGE` / `XREAD` reply (`[[id, [field,
/// value, ...]], ...]`).
fn entries(value: &redis::Value) -> Vec<Entry> {
    let mut out = Vec::new();
    let redis::Value::Array(items) = value else {
        return out;
    };
    for item in items {
        let redis::Value::Array(pair) = item else {
            continue;
        };
        let (Some(id), Some(redis::Value::Array(fields))) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let Some(id) = bulk(id).and_then(EntryId::parse) else {
            continue;
        };
        let mut entry = Entry {
            id,
            event: None,
            data: String::new(),
        };
        for kv in fields.chunks(2) {
            let (Some(k), Some(v)) = (kv.first().and_then(bulk), kv.get(1).and_then(bulk)) else {
                continue;
            };
            let v = String::from_utf8_lossy(v).into_owned();
            match k {
                b"data" => entry.data = v,
                b"event" => entry.event = Some(v),
                _ => {}
            }
        }
        out.push(entry);
    }
    out
}

/// An integer reply (0 for anything else).
fn int(v: &redis::Value) -> i64 {
    match v {
        redis::Value::Int(n) => *n,
        _ => 0,
    }
}

/// The bytes of a bulk or simple string.
fn bulk(v: &redis::Value) -> Option<&[u8]> {
    match v {
        redis::Value::BulkString(b) => Some(b),
        redis::Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// A connection for ordinary commands. Its replies may take up to 10 s
/// (the redis crate's default gives up much sooner, which a replica busy
/// with thousands of connections can exceed without anything being wrong).
pub(crate) async fn connect(client: &redis::Client) -> redis::RedisResult<MultiplexedConnection> {
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// The entries after `after`, at most `count`, in order.
pub(crate) async fn range_after(
    conn: &mut MultiplexedConnection,
    key: &str,
    after: EntryId,
    count: usize,
) -> redis::RedisResult<Vec<Entry>> {
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(key)
        .arg(format!("({after}"))
        .arg("+")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await?;
    Ok(entries(&reply))
}

/// What `XINFO STREAM` says about retention (all `None` or 0 for a stream
/// that does not exist).
#[derive(Debug, Default)]
struct Retention {
    /// The greatest id removed by `XDEL` (trimming does not set it).
    max_deleted: Option<EntryId>,
    /// The last id given.
    last: Option<EntryId>,
    /// The oldest id kept.
    first: Option<EntryId>,
    /// Entries ever added, and kept now: they differ once any was trimmed.
    added: i64,
    length: i64,
}

impl Retention {
    /// Whether the stream can give everything after `id`: `id` is at or
    /// after the oldest entry kept (or nothing was ever removed), no entry
    /// after it was deleted, and it is not in the stream's future. An id
    /// just before the oldest kept entry is answered as trimmed too: Redis
    /// does not say where trimming stopped, and a needless `reset` is
    /// better than a silent gap.
    fn can_resume(&self, id: EntryId) -> bool {
        let trimmed = self.added > self.length;
        let kept = !trimmed || self.first.is_some_and(|f| id >= f);
        kept && self.max_deleted.is_none_or(|d| id >= d) && self.last.is_none_or(|l| id <= l)
    }
}

async fn retention(conn: &mut MultiplexedConnection, key: &str) -> redis::RedisResult<Retention> {
    let reply: redis::RedisResult<redis::Value> = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .query_async(conn)
        .await;
    let Ok(redis::Value::Array(kv)) = reply else {
        // No such key (an error reply): nothing was ever published.
        return Ok(Retention::default());
    };
    let mut r = Retention::default();
    for pair in kv.chunks(2) {
        let (Some(k), Some(v)) = (pair.first().and_then(bulk), pair.get(1)) else {
            continue;
        };
        match k {
            b"max-deleted-entry-id" => r.max_deleted = bulk(v).and_then(EntryId::parse),
            b"last-generated-id" => r.last = bulk(v).and_then(EntryId::parse),
            b"first-entry" => {
                r.first = entries(&redis::Value::Array(vec![v.clone()]))
                    .first()
                    .map(|e| e.id);
            }
            b"entries-added" => r.added = int(v),
            b"length" => r.length = int(v),
            _ => {}
        }
    }
    Ok(r)
}

/// The entries of one read from Redis, encoded once.
pub(crate) struct Batch {
    /// Their ids, ascending.
    ids: Vec<EntryId>,
    /// Each entry's frame, for a connection whose replay already sent the
    /// first ones (only at the seam between replay and broadcast).
    frames: Vec<Encoded>,
    /// All of them in one frame: what every other connection sends.
    joined: Encoded,
    /// How many entries the hub had broadcast once this batch was sent.
    end: u64,
}

impl Batch {
    fn new(entries: &[Entry], end: u64) -> Batch {
        let frames: Vec<Encoded> = entries.iter().map(Entry::encode).collect();
        let joined = match &frames[..] {
            [one] => one.clone(),
            all => Encoded::new(all),
        };
        Batch {
            ids: entries.iter().map(|e| e.id).collect(),
            frames,
            joined,
            end,
        }
    }
}

/// The broadcast of one replica: every entry after the replica started, in
/// order, encoded once.
#[derive(Clone)]
pub(crate) struct Hub {
    tx: broadcast::Sender<Arc<Batch>>,
    /// Entries broadcast so far: how far behind a connection is.
    sent: Arc<AtomicU64>,
}

impl Hub {
    /// Starts the task that reads the stream from Redis (on a connection of
    /// its own: `XREAD BLOCK` holds it) and broadcasts each read's entries
    /// as one batch. Redis errors are logged and the read is retried from
    /// the last entry seen, so nothing is skipped.
    pub(crate) async fn start(client: &redis::Client, opts: &Options) -> redis::RedisResult<Hub> {
        // Each batch holds at least one entry, so a connection `buffer`
        // batches behind is at least `buffer` entries behind.
        let (tx, _) = broadcast::channel(opts.buffer.max(1));
        let sent = Arc::new(AtomicU64::new(0));
        let (sender, count) = (tx.clone(), Arc::clone(&sent));
        follow(client, &opts.key, opts.linger, move |entries| {
            let end =
                count.fetch_add(entries.len() as u64, Ordering::Relaxed) + entries.len() as u64;
            // No receiver is not an error: nobody listens.
            let _ = sender.send(Arc::new(Batch::new(&entries, end)));
        })
        .await?;
        Ok(Hub { tx, sent })
    }
}

/// Calls `f` with every entry of the stream `key` added from now on, in
/// order, one call per read (never empty), from a task reading Redis on a
/// connection of its own (`XREAD BLOCK` holds it). After a read that
/// returned entries it waits `linger` before the next. Redis errors are
/// logged and the read is retried from the last entry seen, so nothing is
/// skipped.
pub(crate) async fn follow(
    client: &redis::Client,
    key: &str,
    linger: Duration,
    mut f: impl FnMut(Vec<Entry>) + Send + 'static,
) -> redis::RedisResult<()> {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    // Start after the newest entry now: earlier ones are replayed from
    // Redis by the connections that ask for them.
    let mut last = retention(&mut conn, key)
        .await?
        .last
        .unwrap_or(EntryId(0, 0));
    let (client, key) = (client.clone(), key.to_string());
    tokio::spawn(async move {
        loop {
            let reply: redis::RedisResult<redis::Value> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(512)
                .arg("BLOCK")
                .arg(5000)
                .arg("STREAMS")
                .arg(&key)
                .arg(last.to_string())
                .query_async(&mut conn)
                .await;
            match reply {
                Ok(redis::Value::Array(streams)) => {
                    let read: Vec<Entry> = streams
                        .iter()
                        .filter_map(|s| match s {
                            redis::Value::Array(pair) => pair.get(1).map(entries),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    if let Some(newest) = read.last() {
                        last = newest.id;
                        f(read);
                        if !linger.is_zero() {
                            tokio::time::sleep(linger).await;
                        }
                    }
                }
                Ok(_) => {} // BLOCK timed out: read again.
                Err(e) => {
                    eprintln!("reading {key} from Redis failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    match client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                    {
                        Ok(c) => conn = c,
                        Err(e) => eprintln!("reconnecting to Redis failed: {e}"),
                    }
                }
            }
        }
    });
    Ok(())
}

/// Where a connection starts.
enum Start {
    /// With the next entry broadcast (no `Last-Event-ID`).
    Now,
    /// After this entry, replayed from Redis first.
    After(EntryId),
    /// The id is gone or unknown: a `reset` event, then every entry kept.
    Reset,
}

async fn start_for(
    conn: &mut MultiplexedConnection,
    key: &str,
    id: Option<&[u8]>,
) -> redis::RedisResult<Start> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok(Start::Now);
    };
    let r = retention(conn, key).await?;
    Ok(match EntryId::parse(id) {
        Some(id) if r.can_resume(id) => Start::After(id),
        _ => Start::Reset,
    })
}

/// The `reset` event: the oldest id still kept, as data.
fn reset_frame(first: Option<EntryId>) -> Encoded {
    let oldest = first.map(|f| f.to_string()).unwrap_or_default();
    Encoded::new(&Message::new(&oldest).event_type(EventType::new("reset").expect("valid")))
}

/// Replay from Redis, then the broadcast: one connection's frames.
struct Feed {
    conn: MultiplexedConnection,
    key: String,
    rx: broadcast::Receiver<Arc<Batch>>,
    /// The hub's count of entries broadcast.
    sent: Arc<AtomicU64>,
    /// How many entries this connection may fall behind.
    buffer: u64,
    /// The last entry sent: replay continues after it, and the broadcast
    /// skips what it covers.
    after: Option<EntryId>,
    replaying: bool,
    /// Frames to send before reading on: the rest of a replay page, or of
    /// a batch the replay covered in part.
    queued: std::collections::VecDeque<Encoded>,
    retry_ms: u64,
    ended: bool,
}

/// Entries replayed per `XRANGE`.
const PAGE: usize = 256;

impl Feed {
    /// The next frame, or `None` when the connection should end. A live
    /// entry is the broadcast's frame itself: nothing is allocated or
    /// encoded per connection.
    async fn next(&mut self) -> Option<Encoded> {
        if self.ended {
            return None;
        }
        if let Some(frame) = self.queued.pop_front() {
            return Some(frame);
        }
        if self.replaying {
            let after = self.after.unwrap_or(EntryId(0, 0));
            match range_after(&mut self.conn, &self.key, after, PAGE).await {
                Ok(page) if !page.is_empty() => {
                    self.after = page.last().map(|e| e.id);
                    self.queued.extend(page.iter().map(Entry::encode));
                    return self.queued.pop_front();
                }
                Ok(_) => self.replaying = false,
                Err(e) => {
                    eprintln!("replay from Redis failed: {e}");
                    return self.end_with_retry();
                }
            }
        }
        loop {
            match self.rx.recv().await {
                Ok(batch) => {
                    // Entries the replay sent already are skipped.
                    let fresh = match self.after {
                        Some(a) => batch.ids.partition_point(|&id| id <= a),
                        None => 0,
                    };
                    let Some(&newest) = batch.ids.get(fresh..).and_then(<[_]>::last) else {
                        continue;
                    };
                    // Behind by what the hub broadcast after this batch;
                    // batches the replay covered do not count.
                    let behind = self.sent.load(Ordering::Relaxed).saturating_sub(batch.end);
                    if behind > self.buffer {
                        return self.end_with_retry();
                    }
                    self.after = Some(newest);
                    if fresh == 0 {
                        return Some(batch.joined.clone());
                    }
                    self.queued.extend(batch.frames[fresh..].iter().cloned());
                    return self.queued.pop_front();
                }
                // Fell behind the broadcast: end, and come back by id.
                Err(broadcast::error::RecvError::Lagged(_)) => return self.end_with_retry(),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    fn end_with_retry(&mut self) -> Option<Encoded> {
        self.ended = true;
        Some(Encoded::new(&Retry::new(std::time::Duration::from_millis(
            self.retry_ms,
        ))))
    }
}

/// The frames of one `GET /events`.
pub(crate) async fn frames(
    hub: &Hub,
    mut conn: MultiplexedConnection,
    opts: &Options,
    last_event_id: Option<&[u8]>,
) -> redis::RedisResult<impl Stream<Item = Encoded> + Send + 'static> {
    // Subscribe before reading Redis: every entry after the replay's end is
    // then in the broadcast.
    let rx = hub.tx.subscribe();
    let start = start_for(&mut conn, &opts.key, last_event_id).await?;
    let mut first = Vec::new();
    let (after, replaying) = match start {
        Start::Now => (None, false),
        Start::After(id) => (Some(id), true),
        Start::Reset => {
            let kept = retention(&mut conn, &opts.key).await?.first;
            first.push(reset_frame(kept));
            (None, true)
        }
    };
    let feed = Feed {
        conn,
        key: opts.key.clone(),
        rx,
        sent: Arc::clone(&hub.sent),
        buffer: opts.buffer as u64,
        after,
        replaying,
        queued: std::collections::VecDeque::new(),
        retry_ms: opts.retry_ms,
        ended: false,
    };
    let rest = stream::unfold(feed, |mut feed| async move {
        let frame = feed.next().await?;
        Some((frame, feed))
    });
    Ok(stream::iter(first).chain(rest))
}

type AnyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, std::convert::Infallible>;

fn plain(status: u16, text: &'static str) -> Response<AnyBody> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync());
    *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("valid status");
    resp
}

/// One replica: the hub, a Redis connection for replays, the options.
#[derive(Clone)]
pub(crate) struct Replica {
    hub: Hub,
    conn: MultiplexedConnection,
    opts: Arc<Options>,
    shutdown: support::Shutdown,
}

impl Replica {
    /// Connects to Redis and starts reading the stream.
    pub(crate) async fn new(
        opts: Options,
        shutdown: support::Shutdown,
    ) -> redis::RedisResult<Replica> {
        let client = redis::Client::open(opts.redis.as_str())?;
        let hub = Hub::start(&client, &opts).await?;
        let conn = connect(&client).await?;
        Ok(Replica {
            hub,
            conn,
            opts: Arc::new(opts),
            shutdown,
        })
    }

    async fn respond(self, req: Request<Incoming>) -> Response<AnyBody> {
        if req.uri().path() != "/events" {
            return plain(404, "not found\n");
        }
        let id = req
            .headers()
            .get("last-event-id")
            .map(|v| v.as_bytes().to_vec());
        let frames = match frames(&self.hub, self.conn.clone(), &self.opts, id.as_deref()).await {
            Ok(f) => f,
            // Redis is down: a 503 that the reconnecting client (with
            // retry_server_errors) and load balancers retry.
            Err(e) => {
                eprintln!("Redis: {e}");
                return plain(503, "the event store is unavailable\n");
            }
        };
        let body = EventBody::new(frames).keep_alive(self.opts.keep_alive);
        let body = support::Draining::new(body, self.shutdown.clone(), self.opts.retry_ms);
        let mut resp = Response::new(body.boxed_unsync());
        response_headers(resp.headers_mut());
        resp
    }
}

impl support::App for Replica {
    type Body = AnyBody;
    type Future = Pin<Box<dyn std::future::Future<Output = Response<AnyBody>> + Send>>;
    fn call(&self, req: Request<Incoming>) -> Self::Future {
        Box::pin(self.clone().respond(req))
    }
}

/// Serves a replica on `listener` until `shutdown` fires.
pub(crate) async fn serve_replica(
    listener: TcpListener,
    opts: Options,
    shutdown: support::Shutdown,
) -> redis::RedisResult<()> {
    let limits = opts.limits.clone();
    let replica = Replica::new(opts, shutdown.clone()).await?;
    support::serve(listener, replica, limits, shutdown).await;
    Ok(())
}

/// Appends one event; returns its id. `maxlen` trims the stream to that
/// many entries (`MAXLEN`, exact: `~` would trim only whole nodes of about
/// 100 entries).
pub(crate) async fn publish(
    conn: &mut MultiplexedConnection,
    key: &str,
    event: Option<&str>,
    data: &str,
    maxlen: Option<usize>,
) -> redis::RedisResult<EntryId> {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(key);
    if let Some(n) = maxlen {
        cmd.arg("MAXLEN").arg(n);
    }
    cmd.arg("*");
    if let Some(e) = event {
        cmd.arg("event").arg(e);
    }
    cmd.arg("data").arg(data);
    let id: String = cmd.query_async(conn).await?;
    EntryId::parse(id.as_bytes()).ok_or_else(|| {
        redis::RedisError::from(io::Error::other(format!("XADD gave {id}, not an entry id")))
    })
}

const HELP: &str = "\
usage: cluster replica [LISTEN] [options]
       cluster publish [options]

replica: serves http://LISTEN/events (default 127.0.0.1:8081) from a Redis
stream; a Last-Event-ID is a Redis entry id, so every replica resumes every
client.
  --buffer N            entries a connection may fall behind (default 1024)
  --linger MS           wait after each read from Redis, so that what is
                        published meanwhile goes out as one frame (default 0)

publish: appends events to the stream.
  --count N             events to publish (default 100)
  --interval MS         between events (default 100)
  --maxlen N            keep the newest N entries (XADD MAXLEN N)

both:
  --redis URL           the Redis server (default redis://127.0.0.1:6379/)
  --key KEY             the stream's key (default events)
";

fn number<T: std::str::FromStr>(
    args: &mut impl Iterator<Item = String>,
    what: &str,
) -> Result<T, String> {
    args.next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{what} needs a whole number"))
}

async fn run_publisher(
    opts: &Options,
    mut args: impl Iterator<Item = String>,
) -> Result<(), BoxError> {
    let (mut count, mut interval, mut maxlen) = (100u64, 100u64, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => count = number(&mut args, "--count")?,
            "--interval" => interval = number(&mut args, "--interval")?,
            "--maxlen" => maxlen = Some(number(&mut args, "--maxlen")?),
            other => return Err(format!("unknown option {other}\n\n{HELP}").into()),
        }
    }
    let client = redis::Client::open(opts.redis.as_str())?;
    let mut conn = connect(&client).await?;
    for n in 1..=count {
        let id = publish(
            &mut conn,
            &opts.key,
            Some("tick"),
            &format!("event {n}"),
            maxlen,
        )
        .await?;
        println!("{id}");
        tokio::time::sleep(Duration::from_millis(interval)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut opts = Options::default();
    let mut listen = "127.0.0.1:8081".to_string();
    let mut rest = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                print!("{HELP}\n{}", support::LIMITS_HELP);
                return Ok(());
            }
            "--redis" => opts.redis = args.next().ok_or("--redis needs a URL")?,
            "--key" => opts.key = args.next().ok_or("--key needs a name")?,
            "--buffer" => opts.buffer = number(&mut args, "--buffer")?,
            "--linger" => opts.linger = Duration::from_millis(number(&mut args, "--linger")?),
            a if support::limit_arg(&mut opts.limits, a, &mut args)? => {}
            a if mode == "replica" && !a.starts_with('-') => listen = a.to_string(),
            _ => rest.push(arg),
        }
    }
    match mode.as_str() {
        "replica" if rest.is_empty() => {
            let listener = TcpListener::bind(&listen).await?;
            eprintln!("replica on http://{}/events", listener.local_addr()?);
            serve_replica(listener, opts, support::on_signals()).await?;
            Ok(())
        }
        "publish" => run_publisher(&opts, rest.into_iter()).await,
        _ => Err(io::Error::other(format!("usage:\n{HELP}")).into()),
    }
}
