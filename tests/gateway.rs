//! The example proxy as a deployed gateway, on 127.0.0.1: third-party
//! clients read it while its upstream (the example server) is killed and
//! started again twice, and get every event once, in order, in one
//! response (`curl --http2-prior-knowledge` over HTTP/2; undici's
//! EventSource over HTTP/1.1; both `#[ignore]`d, as they need programs
//! besides the Rust toolchain, which `.ci/run` installs); and each of its limits holds: a client that
//! never finishes its headers is cut at the header timeout, clients that
//! stop reading are cut at the write timeout while new ones are served at
//! the connection cap, an upstream that accepts and never answers is
//! reported within the upstream timeout. Timeouts only guard against
//! hangs.
#![cfg(all(feature = "http-body", feature = "tokio", feature = "reqwest"))]
// The examples share `examples/support`: each brings its own copy.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/proxy.rs"]
#[allow(unused)]
mod proxy;
#[path = "../examples/server.rs"]
#[allow(unused)]
mod server;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUARD: Duration = Duration::from_secs(90);

/// The example server on `addr` in a runtime of its own, so that stopping
/// it kills every connection it has, as killing the process would.
fn start_upstream(addr: SocketAddr, events: u64) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ready = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind(addr).await.unwrap();
            ready.0.send(()).unwrap();
            let opts = server::Options {
                events,
                interval: Duration::from_millis(120),
                retry_ms: Some(300),
                ..server::Options::default()
            };
            tokio::select! {
                _ = server::serve(listener, opts) => {}
                _ = stopped => {}
            }
        });
    });
    ready.1.recv().unwrap();
    stop
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// The example proxy (its whole service: HTTP/1.1 and HTTP/2, limits) in
/// front of `upstream`; counts the client connections it accepted.
async fn start_proxy(upstream: SocketAddr, rules: proxy::Rules) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let rules = Arc::new(rules);
    let connect = Arc::new(move || TcpStream::connect(upstream));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(proxy::serve_connection(
                tcp,
                Arc::clone(&connect),
                "upstream".into(),
                Arc::clone(&rules),
            ));
        }
    });
    (addr, accepted)
}

/// Kills the upstream twice for 2 s, starting it again each time.
fn restart_twice(upstream: SocketAddr, events: u64) -> tokio::task::JoinHandle<()> {
    let stop = start_upstream(upstream, events);
    tokio::spawn(async move {
        let mut stop = stop;
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(900)).await;
            let _ = stop.send(());
            tokio::time::sleep(Duration::from_millis(2000)).await;
            stop = start_upstream(upstream, events);
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = stop.send(());
    })
}

/// The ids of the events in an event stream's bytes.
fn ids(stream: &[u8]) -> Vec<String> {
    let mut dec = ssewire::Decoder::new();
    let mut out = Vec::new();
    dec.feed_all(stream, |item| {
        if let Ok(ssewire::Item::Event(ev)) = item {
            out.push(ev.last_event_id_lossy().into_owned());
        }
    });
    out
}

fn want(events: u64) -> Vec<String> {
    (1..=events).map(|n| n.to_string()).collect()
}

#[ignore = "needs curl with HTTP/2: `apt-get install curl` (CI does)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_over_http2_reads_every_event_once_through_upstream_restarts() {
    let events = 20;
    let upstream = free_port();
    let (proxy, accepted) = start_proxy(upstream, proxy::Rules::default()).await;
    let restarts = restart_twice(upstream, events);
    // curl reads until the proxy ends the response (after the last event
    // the upstream has nothing more: it says 204, the proxy ends).
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sN", "--http2-prior-knowledge", "--max-time", "80"])
            .arg(format!("http://{proxy}/events"))
            .stderr(Stdio::inherit())
            .output()
            .expect("curl runs")
    })
    .await
    .unwrap();
    restarts.abort();
    assert_eq!(
        ids(&output.stdout),
        want(events),
        "every event once, in order"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection");
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "the restarts happened meanwhile"
    );
}

#[ignore = "needs Node.js and undici: `npm install undici@6` in $UNDICI_DIR (CI does)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undici_event_source_reads_every_event_once_through_upstream_restarts() {
    let modules = std::env::var("UNDICI_DIR").expect("UNDICI_DIR: where undici is installed");
    let events = 20;
    let upstream = free_port();
    let (proxy, accepted) = start_proxy(upstream, proxy::Rules::default()).await;
    let restarts = restart_twice(upstream, events);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/undici_client.js");
    let output = tokio::time::timeout(
        GUARD,
        tokio::process::Command::new("node")
            .arg(script)
            .arg(format!("http://{proxy}/events"))
            .arg(events.to_string())
            .env("NODE_PATH", format!("{modules}/node_modules"))
            .output(),
    )
    .await
    .expect("guard")
    .expect("node runs");
    restarts.abort();
    let report = String::from_utf8_lossy(&output.stdout);
    let got: Vec<String> = serde_json::from_str(report.trim())
        .unwrap_or_else(|e| panic!("{e}: {report} {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(got, want(events), "every event once, in order");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection");
}

/// Reads from `tcp` until it closes; the time that took.
async fn time_to_close(mut tcp: TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(GUARD, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("guard");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_at_the_header_timeout() {
    let upstream = free_port();
    let _server = start_upstream(upstream, 3);
    let mut rules = proxy::Rules::default();
    rules.limits.header_timeout = Duration::from_millis(500);
    let (proxy, _) = start_proxy(upstream, rules).await;
    let mut slow = TcpStream::connect(proxy).await.unwrap();
    slow.write_all(b"GET /events HTTP/1.1\r\nhost: slow")
        .await
        .unwrap();
    let took = time_to_close(slow).await;
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_stop_are_cut_and_new_clients_are_served_at_the_cap() {
    // A server that writes as fast as it can, capped at two connections,
    // with a one-second write timeout.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let big = Arc::new("x".repeat(256 << 10));
    let opts = server::Options {
        events: 1_000_000,
        interval: Duration::ZERO,
        max_connections: 2,
        write_timeout: Duration::from_secs(1),
        script: Arc::new(move |_| ssewire::encode::OwnedMessage::new(big.as_str())),
        ..server::Options::default()
    };
    tokio::spawn(server::serve(listener, opts));
    // Two clients that ask for the stream and never read it.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        stalled.push(tcp);
    }
    // A third is served once the write timeout frees a place.
    let started = Instant::now();
    let response = tokio::time::timeout(GUARD, reqwest_like_get(addr))
        .await
        .expect("guard");
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800),
        "served before a place was free: {waited:?}"
    );
    assert!(waited < Duration::from_secs(20), "{waited:?}");
    // The one that made room was cut: it ends after what the kernel had
    // buffered (a live one would stream on and on).
    let mut cut = 0;
    for tcp in stalled {
        if ends_within(tcp, 64 << 20).await {
            cut += 1;
        }
    }
    assert!(cut >= 1, "a stalled reader was cut");
}

/// Whether `tcp` ends (EOF or reset) before `limit` bytes were read.
async fn ends_within(mut tcp: TcpStream, limit: usize) -> bool {
    let mut buf = vec![0u8; 64 << 10];
    let mut read = 0;
    tokio::time::timeout(GUARD, async {
        while read < limit {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => read += n,
            }
        }
        false
    })
    .await
    .expect("guard")
}

/// A GET of `/events` on a raw connection: the first bytes of the answer.
async fn reqwest_like_get(addr: SocketAddr) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64];
    let n = tcp.read(&mut buf).await.unwrap();
    buf.truncate(n);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_is_reported_within_the_upstream_timeout() {
    // It accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            held.push(tcp);
        }
    });
    let rules = proxy::Rules {
        reconnect: false,
        upstream_timeout: Some(Duration::from_secs(1)),
        ..proxy::Rules::default()
    };
    let (proxy, _) = start_proxy(upstream, rules).await;
    let started = Instant::now();
    let body = tokio::time::timeout(GUARD, async {
        let response = reqwest::get(format!("http://{proxy}/events"))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "never a status that stops a browser"
        );
        response.text().await.unwrap()
    })
    .await
    .expect("guard");
    let took = started.elapsed();
    assert!(body.contains("did not answer in time"), "{body}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_ends_each_stream_with_a_retry_hint() {
    use futures::StreamExt;
    let upstream = free_port();
    let _server = start_upstream(upstream, 1000);
    // The proxy, told to shut down while a client reads through it.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let (shutdown, signal) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn(proxy::serve_until(
        listener,
        upstream.to_string(),
        proxy::Rules::default(),
        signal,
    ));
    let response = reqwest::get(format!("http://{proxy}/events"))
        .await
        .unwrap();
    let mut chunks = response.bytes_stream();
    let mut got = Vec::new();
    while ids(&got).len() < 3 {
        got.extend_from_slice(&chunks.next().await.unwrap().unwrap());
    }
    shutdown.send(true).unwrap();
    tokio::time::timeout(GUARD, async {
        while let Some(Ok(chunk)) = chunks.next().await {
            got.extend_from_slice(&chunk);
        }
    })
    .await
    .expect("the response ends");
    assert!(
        got.ends_with(b"retry: 1000\n\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // Whole events only before the hint.
    let events = ids(&got);
    assert!(events.len() >= 3);
    assert_eq!(events, want(events.len() as u64));
    tokio::time::timeout(GUARD, serving)
        .await
        .expect("the proxy stops once its streams have ended")
        .unwrap();
}
