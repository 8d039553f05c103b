//! Replicas sharing one stream through a real Redis server
//! (`examples/cluster.rs`): clients cut on one replica resume on the other
//! with every event exactly once, in order; a trimmed or unknown id gets
//! the documented `reset`; a reader that falls behind the broadcast is cut
//! and catches up from Redis while a fast one on the same replica is not
//! held up.
//!
//! Needs `redis-server` on the `PATH` (Debian's package; `.ci/run` installs
//! it), started here on a free loopback port without persistence: run with
//! `cargo test --all-features --test cluster -- --ignored`. Timeouts only
//! guard against hangs.
#![cfg(all(
    feature = "futures",
    feature = "http-body",
    feature = "tokio",
    feature = "reqwest"
))]

#[path = "../examples/client.rs"]
#[allow(unused)]
mod client;
#[path = "../examples/cluster.rs"]
#[allow(unused)]
mod cluster;
#[path = "common/counting.rs"]
mod counting;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use ssewire::bytes::BytesEvent;
use ssewire::client::{ClientConfig, ReconnectingStream, RequestHeaders};
use tokio::net::TcpListener;
use tokio::sync::watch;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const GUARD: Duration = Duration::from_secs(90);

/// A `redis-server` on a free loopback port, killed when dropped.
struct Redis {
    child: Child,
    url: String,
    /// One test at a time: the heap test counts the whole process.
    _one: std::sync::MutexGuard<'static, ()>,
}

impl Redis {
    async fn start() -> Redis {
        let one = counting::LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (apt-get install redis-server)");
        let url = format!("redis://127.0.0.1:{port}/");
        let redis = Redis {
            child,
            url,
            _one: one,
        };
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        for _ in 0..200 {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut c).await;
                if pong.is_ok() {
                    return redis;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not answer on {}", redis.url);
    }

    async fn conn(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        cluster::connect(&client).await.unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options(redis: &Redis, key: &str) -> cluster::Options {
    cluster::Options {
        redis: redis.url.clone(),
        key: key.into(),
        retry_ms: 20,
        ..cluster::Options::default()
    }
}

/// The same, gathering what is published within `ms` into one frame.
fn lingering(redis: &Redis, key: &str, ms: u64) -> cluster::Options {
    cluster::Options {
        linger: Duration::from_millis(ms),
        ..options(redis, key)
    }
}

/// A replica serving on `addr` (0 for any port) until `stop` fires.
struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn replica(opts: cluster::Options, addr: &str) -> Running {
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(async move {
        cluster::serve_replica(listener, opts, shutdown)
            .await
            .unwrap();
    });
    Running { addr, stop, task }
}

impl Running {
    /// Ends every stream (each with a `retry` hint) and stops listening.
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(GUARD, self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// What a client should receive, in order: (id, type, data).
type Expected = Vec<(String, String, String)>;

/// Publishes events `numbers`, one every `every`, each `size` bytes of
/// data at least; data spans lines now and then.
async fn publish(
    url: &str,
    key: &str,
    numbers: std::ops::RangeInclusive<u64>,
    every: Duration,
    size: usize,
) -> Expected {
    let client = redis::Client::open(url).unwrap();
    let mut conn = cluster::connect(&client).await.unwrap();
    let mut sent = Vec::new();
    for n in numbers {
        let event = if n % 3 == 0 { "update" } else { "tick" };
        let mut data = if n % 5 == 0 {
            format!("event {n}\nsecond line")
        } else {
            format!("event {n}")
        };
        data.extend(std::iter::repeat_n('x', size.saturating_sub(data.len())));
        let id = cluster::publish(&mut conn, key, Some(event), &data, None)
            .await
            .unwrap();
        sent.push((id.to_string(), event.to_string(), data));
        tokio::time::sleep(every).await;
    }
    sent
}

fn triple(ev: &BytesEvent) -> (String, String, String) {
    (
        ev.last_event_id_lossy().into_owned(),
        ev.event_type_lossy().into_owned(),
        ev.data_lossy().into_owned(),
    )
}

/// A body that fails after `budget` bytes: a connection cut on the wire,
/// wherever that falls.
fn cut_after(
    body: BoxStream<'static, Result<bytes::Bytes, BoxError>>,
    budget: usize,
) -> BoxStream<'static, Result<bytes::Bytes, BoxError>> {
    stream::unfold((body, budget, false), |(mut body, left, cut)| async move {
        if cut {
            return None;
        }
        match body.next().await? {
            Ok(chunk) if chunk.len() >= left => Some((Ok(chunk.slice(..left)), (body, 0, true))),
            Ok(chunk) => {
                let left = left - chunk.len();
                Some((Ok(chunk), (body, left, false)))
            }
            Err(e) => Some((Err(e), (body, left, true))),
        }
    })
    .chain(stream::once(async {
        Err::<bytes::Bytes, BoxError>("cut".into())
    }))
    .boxed()
}

fn fast() -> ClientConfig {
    let mut config = ClientConfig::default();
    config
        .retry_range(Duration::from_millis(5), Duration::from_secs(1))
        .backoff(1, Duration::from_secs(1))
        .retry_status(ssewire::client::retry_server_errors);
    config
}

/// A reconnecting client over `replicas`, resuming after `after`: attempt `k` of client `i` goes to
/// replica `(i + k) % n` (a load balancer's round robin), and its first
/// connection is cut on the wire after `first_cut` bytes.
fn reconnecting_from(
    replicas: Vec<SocketAddr>,
    i: usize,
    first_cut: Option<usize>,
    connections: &Arc<AtomicUsize>,
    after: &str,
) -> std::pin::Pin<
    Box<impl futures::Stream<Item = Result<BytesEvent, ssewire::client::ClientError<BoxError>>>>,
> {
    let connections = Arc::clone(connections);
    let attempt = AtomicUsize::new(0);
    let connector = move |headers: RequestHeaders| {
        let k = attempt.fetch_add(1, Ordering::SeqCst);
        connections.fetch_add(1, Ordering::SeqCst);
        let addr = replicas[(i + k) % replicas.len()].to_string();
        let cut = if k == 0 { first_cut } else { None };
        async move {
            let mut opened = client::connect(addr, headers).await?;
            if let Some(n) = cut {
                opened.body = cut_after(opened.body, n);
            }
            Ok::<_, BoxError>(opened)
        }
    };
    let mut stream = ReconnectingStream::new(&fast(), connector, tokio::time::sleep);
    stream.set_last_event_id(after.as_bytes()).unwrap();
    Box::pin(stream)
}

/// Reads `stream` until the event with id `last` (or an error ends it).
async fn read_until<S>(mut stream: S, last: &str) -> Expected
where
    S: futures::Stream<Item = Result<BytesEvent, ssewire::client::ClientError<BoxError>>> + Unpin,
{
    let mut got = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(ev) => {
                let t = triple(&ev);
                let done = t.0 == last;
                got.push(t);
                if done {
                    break;
                }
            }
            Err(ssewire::client::ClientError::Closed { cause, .. }) => panic!("closed: {cause}"),
            Err(_) => {} // a reconnection: the stream goes on
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (run by .ci/run)"]
async fn a_hundred_clients_cut_at_once_resume_on_any_replica_exactly_once() {
    let redis = Redis::start().await;
    let key = "events";
    // Entries published before the replicas started are replayed by id.
    let early = publish(&redis.url, key, 1..=3, Duration::ZERO, 0).await;
    // B sends what is published within 30 ms as one frame (several entries
    // a frame at this rate), so clients also meet the seam where a replay
    // covers part of a frame.
    let a = replica(options(&redis, key), "127.0.0.1:0").await;
    let b = replica(lingering(&redis, key, 30), "127.0.0.1:0").await;
    let (a_addr, b_addr) = (a.addr, b.addr);
    let connections = Arc::new(AtomicUsize::new(0));
    let (last_tx, last_rx) = watch::channel(String::new());
    let mut clients = Vec::new();
    for i in 0..100 {
        // Each client resumes after the first entry, its first connection
        // cut on the wire somewhere in the first 500 bytes.
        let mut stream = reconnecting_from(
            vec![a_addr, b_addr],
            i,
            Some(1 + (i * 37) % 500),
            &connections,
            &early[0].0,
        );
        let mut last_rx = last_rx.clone();
        clients.push(tokio::spawn(async move {
            // Read until the publisher is done and its last event arrived.
            let mut got = Vec::new();
            loop {
                tokio::select! {
                    item = stream.next() => match item {
                        Some(Ok(ev)) => got.push(triple(&ev)),
                        Some(Err(ssewire::client::ClientError::Closed { cause, .. })) => panic!("client {i} closed: {cause}"),
                        Some(Err(_)) => {}
                        None => panic!("client {i}: the stream ended"),
                    },
                    _ = last_rx.changed() => {}
                }
                let last = last_rx.borrow().clone();
                if !last.is_empty() && got.last().is_some_and(|g: &(String, String, String)| g.0 == last) {
                    return got;
                }
            }
        }));
    }
    // Faults at chosen points of the publication: replica A stops (its
    // clients are cut at once and go to B), comes back on the same port,
    // then B stops (every client on it goes to A).
    let every = Duration::from_millis(10);
    let mut sent = publish(&redis.url, key, 4..=50, every, 0).await;
    a.stop().await;
    sent.extend(publish(&redis.url, key, 51..=90, every, 0).await);
    let a = replica(options(&redis, key), &a_addr.to_string()).await;
    sent.extend(publish(&redis.url, key, 91..=120, every, 0).await);
    b.stop().await;
    sent.extend(publish(&redis.url, key, 121..=150, every, 0).await);
    last_tx.send(sent.last().unwrap().0.clone()).unwrap();
    let mut want: Expected = early[1..].to_vec();
    want.extend(sent);
    for (i, c) in clients.into_iter().enumerate() {
        let got = tokio::time::timeout(GUARD, c).await.unwrap().unwrap();
        assert_eq!(got.len(), want.len(), "client {i}: every event once");
        assert_eq!(got, want, "client {i}: in order, exactly as published");
    }
    // Each client was cut at least twice (its first connection, and the
    // replica it was on when that stopped).
    assert!(connections.load(Ordering::SeqCst) >= 300, "{connections:?}");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (run by .ci/run)"]
async fn a_trimmed_or_unknown_id_gets_a_reset_then_what_is_kept() {
    let redis = Redis::start().await;
    let key = "trimmed";
    let mut conn = redis.conn().await;
    let mut ids = Vec::new();
    for n in 1..=10 {
        let id = cluster::publish(&mut conn, key, None, &format!("e{n}"), Some(4))
            .await
            .unwrap();
        ids.push(id.to_string());
    }
    let r = replica(options(&redis, key), "127.0.0.1:0").await;
    let read = |last_id: String, want: usize| {
        let addr = r.addr.to_string();
        async move {
            let opened = client::connect(addr, RequestHeaders::new(last_id.as_bytes()))
                .await
                .unwrap();
            assert_eq!(opened.status, 200);
            let events = ssewire::stream::EventStream::new(opened.body);
            let got: Vec<_> = tokio::time::timeout(GUARD, events.take(want).collect::<Vec<_>>())
                .await
                .unwrap();
            got.into_iter()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.event_type_lossy().into_owned(),
                        e.data_lossy().into_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let kept: Vec<_> = (7..=10)
        .map(|n| ("message".to_string(), format!("e{n}")))
        .collect();
    let mut reset = vec![("reset".to_string(), ids[6].clone())];
    reset.extend(kept.iter().cloned());
    // Trimmed: event 3 is gone, so what followed event 2 cannot be replayed.
    assert_eq!(read(ids[1].clone(), 5).await, reset);
    // Not an id this stream gives, or one from its future.
    assert_eq!(read("garbage".into(), 5).await, reset);
    assert_eq!(read("99999999999999-0".into(), 5).await, reset);
    // Kept: event 7 is there, so after event 8 come 9 and 10, no reset.
    assert_eq!(read(ids[7].clone(), 2).await, kept[2..].to_vec());
    // The oldest kept id itself: the entries after it, no reset.
    assert_eq!(read(ids[6].clone(), 3).await, kept[1..].to_vec());
    // The one just before it: Redis does not say where trimming stopped,
    // so this gets the (needless) reset rather than risk a gap.
    assert_eq!(read(ids[5].clone(), 5).await, reset);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (run by .ci/run)"]
async fn a_reader_that_falls_behind_is_cut_and_catches_up_from_redis() {
    reader_falls_behind(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (run by .ci/run)"]
async fn a_reader_that_falls_behind_entries_sent_together_is_cut_too() {
    // With a linger, frames hold several entries: about a dozen frames for
    // the 300 entries, fewer than the buffer of 16, which counts entries.
    reader_falls_behind(100).await;
}

async fn reader_falls_behind(linger_ms: u64) {
    let redis = Redis::start().await;
    let key = "slow";
    let mut opts = lingering(&redis, key, linger_ms);
    opts.buffer = 16;
    let r = replica(opts, "127.0.0.1:0").await;
    let start = publish(&redis.url, key, 0..=0, Duration::ZERO, 0).await;
    let slow_connections = Arc::new(AtomicUsize::new(0));
    let fast_connections = Arc::new(AtomicUsize::new(0));
    let mut slow = reconnecting_from(vec![r.addr], 0, None, &slow_connections, &start[0].0);
    let fast = reconnecting_from(vec![r.addr], 0, None, &fast_connections, &start[0].0);
    let fast = tokio::spawn(async move {
        let mut fast = fast;
        let mut got = Vec::new();
        while got.len() < 300 {
            match fast.next().await {
                Some(Ok(ev)) => got.push(triple(&ev)),
                Some(Err(e)) => panic!("the fast reader: {e}"),
                None => panic!("the fast reader's stream ended"),
            }
        }
        (got, ())
    });
    // 300 events of 64 KiB (19 MiB: more than the socket buffers hold),
    // published while the slow reader, after one event, does not read.
    let publisher = {
        let url = redis.url.clone();
        tokio::spawn(async move {
            publish(&url, "slow", 1..=300, Duration::from_millis(3), 64 * 1024).await
        })
    };
    let first = tokio::time::timeout(GUARD, slow.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let sent = tokio::time::timeout(GUARD, publisher)
        .await
        .unwrap()
        .unwrap();
    let last = sent.last().unwrap().0.clone();
    let (fast_got, ()) = tokio::time::timeout(GUARD, fast).await.unwrap().unwrap();
    assert_eq!(fast_got, sent, "the fast reader got everything");
    assert_eq!(
        fast_connections.load(Ordering::SeqCst),
        1,
        "on one connection"
    );
    // Now the slow one reads again: cut for falling behind, it comes back
    // with its last id and gets the rest from Redis, nothing twice.
    let mut slow_got = vec![triple(&first)];
    slow_got.extend(
        tokio::time::timeout(GUARD, read_until(slow, &last))
            .await
            .unwrap(),
    );
    assert_eq!(slow_got, sent);
    assert!(slow_connections.load(Ordering::SeqCst) >= 2, "it was cut");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (run by .ci/run)"]
async fn a_frame_every_connection_sends_is_held_once_not_once_per_connection() {
    use tokio::io::AsyncWriteExt;
    let redis = Redis::start().await;
    let key = "shared";
    // Entries published within 200 ms go out as one frame.
    let r = replica(lingering(&redis, key, 200), "127.0.0.1:0").await;
    // 40 connections that ask for the stream and never read it: each holds
    // whatever the server keeps for it.
    let mut idle = Vec::new();
    for _ in 0..40 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut tcp = socket.connect(r.addr).await.unwrap();
        tcp.write_all(b"GET /events HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        idle.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = counting::live_in_process();
    // 1 MiB of entries, published at once: a few frames, far more than
    // the sockets and hyper's 32 KiB buffer take.
    publish(&redis.url, key, 1..=64, Duration::ZERO, 16 * 1024).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let grown = (counting::live_in_process() - before).max(0);
    // Shared, the frames cost about 2 MiB (each entry's own frame and the
    // joined one); copied per connection they would cost 40 MiB.
    assert!(
        grown < 8 << 20,
        "the server holds {grown} bytes more for 1 MiB sent to 40 connections"
    );
    drop(idle);
    r.stop().await;
}
