//! What a connection costs: many concurrent SSE connections to one server
//! on 127.0.0.1, events published to Redis at a steady rate, measured from
//! outside the server process (a benchmark program, not a test).
//!
//! Three servers, each its own process:
//! - `shared`: a replica of `examples/cluster.rs` (each entry encoded once,
//!   every connection sends a clone of the same `Bytes`);
//! - `axum`: the same stream served with axum's `Sse` (each connection
//!   encodes each event itself), fed by the same Redis reader;
//! - `bare`: hyper with a body that never sends anything, the floor for
//!   what a connection costs in hyper and tokio themselves.
//!
//! The driver starts `redis-server` (no persistence) and the server, opens
//! the connections, reads the server's memory (heap, from a counting
//! allocator, and RSS) before and after, then publishes events at a steady
//! rate and reads the server's CPU time (`/proc/PID/stat`, in user space and
//! in the kernel) over the window against the events the clients received.
//! One connection reads one event and then stops reading for a while: it
//! must be cut by the replica and resume from Redis with nothing missing,
//! while the others keep their rate.
//!
//! ```sh
//! cargo run --release --example connections --features http-body,tokio -- shared --conns 10000
//! cargo run --release --example connections --features http-body,tokio -- axum --conns 10000
//! cargo run --release --example connections --features http-body,tokio -- bare --conns 10000
//! ```
//!
//! `--rate N` events a second (default 20), `--size N` bytes of data each
//! (200), `--seconds N` in the window (10), and `--linger MS` (0): the
//! replica's `--linger`, and the same wait in the reader feeding axum, whose
//! stream then hands each read's entries to hyper back to back.
#![allow(dead_code)]
// The counting allocator below is the one place that needs `unsafe`.
#![allow(unsafe_code)]

#[path = "cluster.rs"]
mod cluster;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Live heap bytes, counted by the server process's allocator.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is
// kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout, as `alloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `dealloc`; `new` is the caller's.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Raises this process's open-file limit to its hard limit (10,000
/// connections need more than the usual soft limit of 1,024), with
/// util-linux's `prlimit`.
fn raise_file_limit() {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let hard = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap_or("unlimited")
        .to_string();
    let hard = if hard == "unlimited" {
        "1048576".to_string()
    } else {
        hard
    };
    let pid = std::process::id().to_string();
    let ok = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("could not raise the open-file limit to {hard} (prlimit)");
    }
}

// ---------------------------------------------------------------- servers

/// The server process: prints `listening ADDR` once ready, then answers
/// `heap` on standard input with the live heap bytes.
async fn serve(mode: &str, redis: &str, linger: Duration) -> Result<(), BoxError> {
    raise_file_limit();
    // Every server gets the same socket: a fixed 32 KiB send buffer per
    // connection (accepted sockets inherit it), as a server holding many
    // connections sets, instead of loopback's autotuning up to 4 MiB.
    let socket = TcpSocket::new_v4()?;
    socket.set_send_buffer_size(32 * 1024)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = socket.listen(4096)?;
    let addr = listener.local_addr()?;
    let mut opts = cluster::Options {
        redis: redis.to_string(),
        key: "bench".into(),
        buffer: 64,
        linger,
        ..cluster::Options::default()
    };
    opts.limits.max_connections = 60_000;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    match mode {
        "shared" => {
            tokio::spawn(async move { cluster::serve_replica(listener, opts, shutdown).await });
        }
        "axum" => {
            let (tx, _) = tokio::sync::broadcast::channel::<Arc<Vec<cluster::Entry>>>(64);
            let sender = tx.clone();
            let client = redis::Client::open(redis)?;
            cluster::follow(&client, "bench", linger, move |read| {
                let _ = sender.send(Arc::new(read));
            })
            .await?;
            let app = axum::Router::new().route(
                "/events",
                axum::routing::get(move || {
                    let rx = tx.subscribe();
                    async move { axum_sse(rx) }
                }),
            );
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        "bare" => {
            tokio::spawn(async move { bare(listener).await });
        }
        _ => return Err(format!("unknown server {mode}").into()),
    }
    println!("listening {addr}");
    // Answer the driver's questions.
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    loop {
        line.clear();
        if tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line).await? == 0 {
            return Ok(());
        }
        println!("heap {}", LIVE.load(Ordering::Relaxed));
    }
}

/// axum's `Sse` over the broadcast of entries (one message per read from
/// Redis, as the replica's): each connection encodes each entry, and the
/// entries of one read are handed to hyper back to back, so that it can
/// write them together.
fn axum_sse(
    rx: tokio::sync::broadcast::Receiver<Arc<Vec<cluster::Entry>>>,
) -> axum::response::sse::Sse<
    impl futures::Stream<Item = Result<axum::response::sse::Event, Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // A connection that falls behind ends (`Lagged`), as the replica's.
    let events = futures::stream::unfold(
        (rx, None::<Arc<Vec<cluster::Entry>>>, 0),
        |(mut rx, mut read, mut next)| async move {
            loop {
                if let Some(e) = read.as_ref().and_then(|r| r.get(next)) {
                    let mut ev = Event::default().id(e.id.to_string()).data(&e.data);
                    if let Some(t) = &e.event {
                        ev = ev.event(t);
                    }
                    return Some((Ok(ev), (rx, read, next + 1)));
                }
                read = Some(rx.recv().await.ok()?);
                next = 0;
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// hyper, a body that never sends: what a held connection costs by itself.
async fn bare(listener: TcpListener) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_req| async {
                let body = http_body_util::StreamBody::new(futures::stream::pending::<
                    Result<hyper::body::Frame<Bytes>, Infallible>,
                >());
                Ok::<_, Infallible>(hyper::Response::new(body))
            });
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
        });
    }
}

// ---------------------------------------------------------------- driver

/// A `redis-server` on a free loopback port, killed when dropped.
struct Redis(Child, String);

impl Redis {
    fn start() -> Result<Redis, BoxError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Redis(child, format!("redis://127.0.0.1:{port}/")))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server child: its pid, address, and a way to ask for its heap.
struct Server {
    child: Child,
    addr: String,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(mode: &str, redis: &str, linger: Duration) -> Result<Server, BoxError> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(["serve", mode, redis, &linger.as_millis().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let input = child.stdin.take().ok_or("stdin")?;
        let mut output = BufReader::new(child.stdout.take().ok_or("stdout")?);
        let mut line = String::new();
        output.read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or("no address")?
            .to_string();
        Ok(Server {
            child,
            addr,
            input,
            output,
        })
    }

    fn heap(&mut self) -> Result<u64, BoxError> {
        use std::io::Write;
        writeln!(self.input, "heap")?;
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        Ok(line
            .trim()
            .strip_prefix("heap ")
            .ok_or("no heap")?
            .parse()?)
    }

    /// RSS in bytes.
    fn rss(&self) -> Result<u64, BoxError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .ok_or("no VmRSS")?;
        Ok(kb.parse::<u64>()? * 1024)
    }

    /// CPU time in user space and in the kernel, in seconds.
    fn cpu(&self) -> Result<Cpu, BoxError> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        let after = stat.rsplit_once(')').ok_or("stat")?.1;
        let f: Vec<&str> = after.split_whitespace().collect();
        // utime and stime, in clock ticks of 1/100 s.
        Ok(Cpu {
            user: f[11].parse::<u64>()? as f64 / 100.0,
            system: f[12].parse::<u64>()? as f64 / 100.0,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's CPU time so far, in seconds.
#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

/// Events received by every client together, and connections ready.
#[derive(Default)]
struct Counts {
    events: AtomicU64,
    open: AtomicUsize,
}

/// One client connection: a GET, then counts events by their `id:` lines
/// (each event has one; keep-alive comments and HTTP/1.1 chunk sizes never
/// look like one), carrying 4 bytes over from each read so that a line
/// split between reads is counted once. A small receive buffer, as a
/// phone's would be.
async fn client(addr: String, counts: Arc<Counts>) -> Result<(), BoxError> {
    const CARRY: usize = 4;
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(16 * 1024)?;
    let mut tcp = socket.connect(addr.parse()?).await?;
    let req = format!("GET /events HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n");
    tcp.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; CARRY + 16 * 1024];
    let mut head = true;
    loop {
        let n = tcp.read(&mut buf[CARRY..]).await?;
        if n == 0 {
            return Ok(());
        }
        let mut start = 0;
        if head {
            let Some(end) = memchr::memmem::find(&buf[CARRY..CARRY + n], b"\r\n\r\n") else {
                continue;
            };
            start = CARRY + end + 2; // keep the head's last LF: a first `id:` follows it
            head = false;
            counts.open.fetch_add(1, Ordering::Relaxed);
        }
        let ids = memchr::memmem::find_iter(&buf[start..CARRY + n], b"\nid: ").count();
        counts.events.fetch_add(ids as u64, Ordering::Relaxed);
        buf.copy_within(n..CARRY + n, 0);
    }
}

/// The slow reader: reads its first event, stops reading until `resume`
/// fires, then reads on; when its connection ends it reconnects with `Last-Event-ID`
/// and reads until `last`. Returns the ids it received, in order, and how
/// many connections that took.
async fn slow_reader(
    addr: String,
    mut resume: tokio::sync::watch::Receiver<bool>,
    last: tokio::sync::watch::Receiver<String>,
    progress: Arc<std::sync::Mutex<(usize, String)>>,
) -> Result<(Vec<String>, usize), BoxError> {
    use ssewire::client::{ClientConfig, ReconnectingStream, RequestHeaders};
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let connector = move |headers: RequestHeaders| {
        counter.fetch_add(1, Ordering::SeqCst);
        let addr = addr.clone();
        async move { open(addr, headers).await }
    };
    let mut config = ClientConfig::default();
    config.retry_range(Duration::from_millis(10), Duration::from_secs(1));
    let mut events = Box::pin(ReconnectingStream::new(
        &config,
        connector,
        tokio::time::sleep,
    ));
    let mut ids = Vec::new();
    let mut last = last;
    let mut stalled = false;
    loop {
        tokio::select! {
            item = events.next() => match item {
                Some(Ok(ev)) => {
                    ids.push(ev.last_event_id_lossy().into_owned());
                    *progress.lock().unwrap() = (ids.len(), ids[ids.len() - 1].clone());
                    if !stalled {
                        stalled = true;
                        let _ = resume.wait_for(|r| *r).await;
                    }
                }
                Some(Err(_)) => {}
                None => break,
            },
            _ = last.changed() => {}
        }
        let want = last.borrow().clone();
        if !want.is_empty() && ids.last() == Some(&want) {
            break;
        }
    }
    Ok((ids, connections.load(Ordering::SeqCst)))
}

/// One GET over a new hyper connection with a small receive buffer.
async fn open(
    addr: String,
    headers: ssewire::client::RequestHeaders,
) -> Result<
    ssewire::client::Opened<futures::stream::BoxStream<'static, Result<Bytes, BoxError>>>,
    BoxError,
> {
    use futures::TryStreamExt;
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4 * 1024)?;
    let tcp = socket.connect(addr.parse()?).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    let task = tokio::spawn(conn);
    let mut req = hyper::Request::get("/events").header("host", &addr);
    for (name, value) in headers.iter() {
        req = req.header(name, value);
    }
    let resp = sender
        .send_request(req.body(http_body_util::Empty::<Bytes>::new())?)
        .await?;
    let header = |name| {
        resp.headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| v.as_bytes().to_vec())
    };
    Ok(ssewire::client::Opened {
        status: resp.status().as_u16(),
        content_type: header(hyper::header::CONTENT_TYPE),
        retry_after: header(hyper::header::RETRY_AFTER),
        body: http_body_util::BodyDataStream::new(resp.into_body())
            .map_err(BoxError::from)
            .map(move |c| {
                let _ = &task;
                c
            })
            .boxed(),
    })
}

struct Args {
    mode: String,
    conns: usize,
    rate: u64,
    seconds: u64,
    size: usize,
    linger: Duration,
}

async fn drive(args: Args) -> Result<(), BoxError> {
    raise_file_limit();
    let redis = Redis::start()?;
    let mut server = Server::start(&args.mode, &redis.1, args.linger)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (heap0, rss0) = (server.heap()?, server.rss()?);
    let counts = Arc::new(Counts::default());
    for i in 0..args.conns {
        let (addr, counts) = (server.addr.clone(), Arc::clone(&counts));
        tokio::spawn(async move {
            if let Err(e) = client(addr, counts).await {
                eprintln!("client {i}: {e}");
            }
        });
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let started = Instant::now();
    while counts.open.load(Ordering::Relaxed) < args.conns
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open = counts.open.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (heap1, rss1) = (server.heap()?, server.rss()?);
    println!(
        "{}: {open} connections open; per idle connection: heap {:.0} B, RSS {:.0} B",
        args.mode,
        (heap1 as f64 - heap0 as f64) / open.max(1) as f64,
        (rss1 as f64 - rss0 as f64) / open.max(1) as f64,
    );
    if args.mode == "bare" {
        return Ok(());
    }
    // The slow reader, then events at a steady rate.
    let (last_tx, last_rx) = tokio::sync::watch::channel(String::new());
    let (resume_tx, resume_rx) = tokio::sync::watch::channel(false);
    let progress = Arc::new(std::sync::Mutex::new((0, String::new())));
    let slow = tokio::time::timeout(
        Duration::from_secs(args.seconds + 40),
        slow_reader(
            server.addr.clone(),
            resume_rx,
            last_rx.clone(),
            Arc::clone(&progress),
        ),
    );
    let publishing = async {
        let client = redis::Client::open(redis.1.as_str())?;
        let mut conn = cluster::connect(&client).await?;
        let data = "x".repeat(args.size);
        let mut interval = tokio::time::interval(Duration::from_nanos(1_000_000_000 / args.rate));
        // Warm up for a second, then measure.
        let total = args.rate * (args.seconds + 1);
        let mut window = None;
        let mut published = 0u64;
        let mut last_id = String::new();
        for n in 0..total {
            interval.tick().await;
            if n == args.rate {
                window = Some((
                    server.cpu()?,
                    counts.events.load(Ordering::Relaxed),
                    Instant::now(),
                    n,
                ));
            }
            last_id = cluster::publish(&mut conn, "bench", Some("tick"), &data, None)
                .await?
                .to_string();
            published += 1;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (cpu0, ev0, t0, n0) = window.ok_or("no window")?;
        let (cpu1, ev1, t1) = (
            server.cpu()?,
            counts.events.load(Ordering::Relaxed),
            Instant::now(),
        );
        let delivered = ev1 - ev0;
        let secs = (t1 - t0).as_secs_f64();
        let (user, system) = (cpu1.user - cpu0.user, cpu1.system - cpu0.system);
        let per_event = |s: f64| s * 1e9 / delivered.max(1) as f64;
        // The kernel's part (a socket write per connection, the copy into
        // its buffers, the wake-ups) is paid per write whoever encodes:
        // shown apart, it is the floor under any user-space saving.
        println!(
        "{}: {} events published ({} in the window), {} delivered in {:.1} s ({:.0}/s, {:.2} per connection per published event); server CPU {:.2} s: {:.0} ns per delivered event (user {:.0}, kernel {:.0})",
        args.mode,
        published,
        published - n0,
        delivered,
        secs,
        delivered as f64 / secs,
        delivered as f64 / open.max(1) as f64 / (published - n0) as f64,
        user + system,
        per_event(user + system),
        per_event(user),
        per_event(system),
    );
        // Then a burst the slow reader, still not reading, cannot hold:
        // 300 events of 4 KiB (more than its socket buffers and the
        // replica's 64-entry broadcast buffer), and it reads again.
        let big = "y".repeat(4096);
        for _ in 0..300 {
            last_id = cluster::publish(&mut conn, "bench", Some("burst"), &big, None)
                .await?
                .to_string();
            published += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // What the burst costs the server while every connection has it
        // (the slow one still not reading): one copy of each frame.
        tokio::time::sleep(Duration::from_millis(300)).await;
        println!(
            "{}: after the burst: server heap {:.1} MB above idle, RSS {:.1} MB above idle",
            args.mode,
            (server.heap()? as f64 - heap1 as f64) / 1e6,
            (server.rss()? as f64 - rss1 as f64) / 1e6,
        );
        resume_tx.send(true)?;
        last_tx.send(last_id)?;
        Ok::<_, BoxError>(published)
    };
    let (slow, published) = tokio::join!(slow, publishing);
    let published = published?;
    match slow {
        Ok(Ok((ids, connections))) => {
            let in_order = ids.windows(2).all(|w| {
                cluster::EntryId::parse(w[0].as_bytes()) < cluster::EntryId::parse(w[1].as_bytes())
            });
            println!(
                "{}: the slow reader got {} of {} events ({}), over {} connections",
                args.mode,
                ids.len(),
                published,
                if in_order && ids.len() as u64 == published {
                    "every one once, in order"
                } else {
                    "NOT every one once in order"
                },
                connections
            );
        }
        other => {
            let got = progress.lock().unwrap().clone();
            println!(
                "{}: the slow reader did not finish: {:?}; it had {} of {} events, \
                 the last {:?} (the last published {:?})",
                args.mode,
                other.map(|r| r.map(|(i, c)| (i.len(), c))),
                got.0,
                published,
                got.1,
                last_rx.borrow().clone(),
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("serve") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let linger = Duration::from_millis(argv.get(3).and_then(|v| v.parse().ok()).unwrap_or(0));
        return rt.block_on(serve(&argv[1], &argv[2], linger));
    }
    let mut args = Args {
        mode: argv.first().cloned().unwrap_or_else(|| "shared".into()),
        conns: 10_000,
        rate: 20,
        seconds: 10,
        size: 200,
        linger: Duration::ZERO,
    };
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let mut v = || {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(format!("{a} needs a number"))
        };
        match a.as_str() {
            "--conns" => args.conns = v()? as usize,
            "--rate" => args.rate = v()?,
            "--seconds" => args.seconds = v()?,
            "--size" => args.size = v()? as usize,
            "--linger" => args.linger = Duration::from_millis(v()?),
            _ => return Err(format!("unknown option {a}").into()),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(drive(args))
}
