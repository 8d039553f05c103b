//! The EventSource rules end to end on 127.0.0.1: the reqwest stream and
//! the example client (hyper) against scripted servers that reset the first
//! connection, answer 500 / 200 text/plain / 204, cut connections mid-event
//! at random bytes, or go silent. No event is lost or repeated, nothing is
//! dispatched from a failed response, and a closed client makes no further
//! request. Timeouts only guard against hangs.
#![cfg(all(feature = "reqwest", feature = "tokio-util"))]

#[path = "../examples/client.rs"]
#[allow(unused)]
mod client;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use ssewire::client::{event_stream, Cause, ClientConfig, ClientError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUARD: Duration = Duration::from_secs(60);

/// What the scripted server does with one connection.
#[derive(Clone, Debug)]
enum Reply {
    /// Close the connection without answering.
    Reset,
    /// Answer with this status line and content type, then the body; close
    /// after `cut` body bytes if given, or keep the connection open (and
    /// silent) after the body if `hold`.
    Answer {
        status: &'static str,
        content_type: &'static str,
        body: Vec<u8>,
        cut: Option<usize>,
        hold: bool,
    },
}

type Script = Arc<dyn Fn(usize, Option<u64>) -> Reply + Send + Sync>;

/// Requests seen: the `Last-Event-ID` each connection sent.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    last_ids: Mutex<Vec<Option<u64>>>,
}

async fn serve(script: Script) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let n = seen2.connections.fetch_add(1, Ordering::SeqCst);
            let script = Arc::clone(&script);
            let seen = Arc::clone(&seen2);
            tokio::spawn(async move { handle(tcp, n, &*script, &seen).await });
        }
    });
    (addr, seen)
}

async fn handle(
    mut tcp: TcpStream,
    n: usize,
    script: &(dyn Fn(usize, Option<u64>) -> Reply + Send + Sync),
    seen: &Seen,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let last_id = head
        .lines()
        .find_map(|l| l.strip_prefix("last-event-id:"))
        .and_then(|v| v.trim().parse().ok());
    seen.last_ids.lock().unwrap().push(last_id);
    match script(n, last_id) {
        Reply::Reset => {}
        Reply::Answer {
            status,
            content_type,
            body,
            cut,
            hold,
        } => {
            let header = format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n");
            if tcp.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            let end = cut.unwrap_or(body.len()).min(body.len());
            let _ = tcp.write_all(&body[..end]).await;
            let _ = tcp.flush().await;
            if hold {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
    }
}

/// Events `from..=to`: `id: n`, `data: event n`.
fn events(from: u64, to: u64) -> Vec<u8> {
    (from..=to)
        .flat_map(|n| {
            format!("id: {n}\nevent: tick\ndata: event {n}\ndata: line two\n\n").into_bytes()
        })
        .collect()
}

fn sse(body: Vec<u8>) -> Reply {
    Reply::Answer {
        status: "200 OK",
        content_type: "text/event-stream; charset=utf-8",
        body,
        cut: None,
        hold: false,
    }
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.initial_retry(Duration::from_millis(5))
        .retry_range(Duration::from_millis(1), Duration::from_secs(1))
        .backoff(1, Duration::from_secs(1))
        .jitter(0, 1);
    c
}

/// Reads with the reqwest stream until `want` events arrived or the source
/// closed; returns the ids received and the closing cause, if any.
async fn with_reqwest(addr: &str, config: &ClientConfig, want: usize) -> (Vec<u64>, Option<Cause>) {
    let request = reqwest::Client::new().get(format!("http://{addr}/events"));
    let mut stream = event_stream(request, config).unwrap();
    let mut ids = Vec::new();
    let run = async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => {
                    assert_eq!(ev.event_type(), b"tick");
                    let id: u64 = std::str::from_utf8(ev.last_event_id())
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert_eq!(ev.data_lossy(), format!("event {id}\nline two"));
                    ids.push(id);
                    if ids.len() == want {
                        stream.close();
                    }
                }
                Err(ClientError::Closed { cause, .. }) => {
                    assert!(stream.next().await.is_none(), "nothing after Closed");
                    return Some(cause);
                }
                Err(_) => {}
            }
        }
        None
    };
    let cause = tokio::time::timeout(GUARD, run).await.expect("guard");
    (ids, cause)
}

/// The same through the example client (hyper).
async fn with_example(addr: &str, config: &ClientConfig, want: u64) -> Result<Vec<u64>, String> {
    let session = tokio::time::timeout(GUARD, client::run(addr, want, 10_000, config))
        .await
        .expect("guard");
    session
        .map(|s| {
            s.events
                .iter()
                .map(|e| {
                    std::str::from_utf8(e.last_event_id())
                        .unwrap()
                        .parse()
                        .unwrap()
                })
                .collect()
        })
        .map_err(|e| e.to_string())
}

/// Serves events `last+1..=total` to each connection and closes.
fn resume(total: u64) -> impl Fn(Option<u64>) -> Reply {
    move |last| sse(events(last.unwrap_or(0) + 1, total))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_before_the_response_is_retried() {
    let script: Script = Arc::new(|n, last| {
        if n == 0 {
            Reply::Reset
        } else {
            resume(3)(last)
        }
    });
    let (addr, seen) = serve(script.clone()).await;
    let (ids, cause) = with_reqwest(&addr, &config(), 3).await;
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(cause, Some(Cause::Closed));
    assert!(seen.connections.load(Ordering::SeqCst) >= 2);
    let (addr, _) = serve(script).await;
    assert_eq!(with_example(&addr, &config(), 3).await.unwrap(), [1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_responses_close_and_dispatch_nothing() {
    let cases: [(&str, &str, Cause); 3] = [
        ("500 Internal Server Error", "text/html", Cause::Status(500)),
        ("200 OK", "text/plain", Cause::ContentType),
        ("204 No Content", "text/event-stream", Cause::NoContent),
    ];
    for (status, content_type, want) in cases {
        let script: Script = Arc::new(move |_, _| Reply::Answer {
            status,
            content_type,
            // Events in the body must not be dispatched.
            body: events(1, 2),
            cut: None,
            hold: false,
        });
        let (addr, seen) = serve(script.clone()).await;
        let (ids, cause) = with_reqwest(&addr, &config(), 1).await;
        assert!(ids.is_empty(), "{status}: {ids:?}");
        assert_eq!(cause, Some(want), "{status}");
        // Closed means no further request.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1, "{status}");
        let (addr, seen) = serve(script).await;
        let err = with_example(&addr, &config(), 1).await.unwrap_err();
        assert!(err.contains(&format!("{want:?}")), "{status}: {err}");
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1, "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_policy_retries_server_errors_until_a_200() {
    let script: Script = Arc::new(|n, last| {
        if n < 2 {
            Reply::Answer {
                status: "503 Service Unavailable",
                content_type: "text/html",
                body: b"busy".to_vec(),
                cut: None,
                hold: false,
            }
        } else {
            resume(2)(last)
        }
    });
    let (addr, seen) = serve(script).await;
    let mut c = config();
    c.retry_status(ssewire::client::retry_server_errors);
    let (ids, _) = with_reqwest(&addr, &c, 2).await;
    assert_eq!(ids, [1, 2]);
    assert_eq!(seen.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_event_lose_and_repeat_nothing() {
    for seed in [3u64, 17, 256, 9001] {
        let counter = Arc::new(AtomicUsize::new(0));
        let script: Script = Arc::new(move |_, last| {
            let body = events(last.unwrap_or(0) + 1, 30);
            // A pseudo-random cut in the body, at any byte.
            let k = counter.fetch_add(1, Ordering::SeqCst) as u64;
            let x =
                (seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0x2545_F491_4F6C_DD1D);
            let cut = (x % (body.len() as u64 + 1)) as usize;
            Reply::Answer {
                status: "200 OK",
                content_type: "text/event-stream",
                body,
                cut: Some(cut),
                hold: false,
            }
        });
        let (addr, seen) = serve(script.clone()).await;
        let (ids, _) = with_reqwest(&addr, &config(), 30).await;
        assert_eq!(ids, (1..=30).collect::<Vec<_>>(), "seed {seed}");
        assert!(
            seen.connections.load(Ordering::SeqCst) > 3,
            "seed {seed}: cuts happened"
        );
        // Every reconnection asked for what followed the last complete event.
        let (addr, _) = serve(script).await;
        assert_eq!(
            with_example(&addr, &config(), 30).await.unwrap(),
            (1..=30).collect::<Vec<_>>(),
            "seed {seed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_dropped_after_the_idle_timeout() {
    let script: Script = Arc::new(|n, last| {
        if n == 0 {
            Reply::Answer {
                status: "200 OK",
                content_type: "text/event-stream",
                body: events(1, 1),
                cut: None,
                hold: true,
            }
        } else {
            resume(2)(last)
        }
    });
    let (addr, seen) = serve(script).await;
    let mut c = config();
    c.idle_timeout(Some(Duration::from_millis(200)));
    let (ids, _) = with_reqwest(&addr, &c, 2).await;
    assert_eq!(ids, [1, 2]);
    assert_eq!(seen.last_ids.lock().unwrap()[..2], [None, Some(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_client_makes_no_further_request() {
    let script: Script = Arc::new(|_, last| resume(5)(last));
    let (addr, seen) = serve(script).await;
    let (ids, cause) = with_reqwest(&addr, &config(), 2).await;
    assert_eq!(ids, [1, 2]);
    assert_eq!(cause, Some(Cause::Closed));
    let before = seen.connections.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.connections.load(Ordering::SeqCst), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_does_not_build_is_reported_as_itself() {
    let err = event_stream(reqwest::Client::new().get("notaurl"), &config()).unwrap_err();
    assert!(
        matches!(err, ssewire::client::RequestError::Invalid(_)),
        "{err:?}"
    );
    let words = err.to_string();
    assert!(words.starts_with("invalid request"), "{words}");
    assert!(!words.contains("streaming body"), "{words}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_closes_with_a_typed_cause() {
    // Every request is redirected to itself.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            // The server answers one request per connection and says so:
            // a client that reused the connection for the redirect raced
            // the close and failed with a transport error under load.
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(
                        b"HTTP/1.1 302 Found\r\nlocation: /events\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    let request = reqwest::Client::new().get(format!("http://{addr}/events"));
    let mut events = event_stream(request, &config()).unwrap();
    let item = tokio::time::timeout(GUARD, events.next())
        .await
        .expect("guard");
    match item {
        Some(Err(ClientError::Closed { cause, .. })) => assert_eq!(cause, Cause::Redirect),
        other => panic!("{other:?}"),
    }
    assert!(events.next().await.is_none());
    // One attempt's redirects (reqwest follows ten), never retried.
    assert!(requests.load(Ordering::SeqCst) <= 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_without_location_closes_with_its_status() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(
                        b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    let request = reqwest::Client::new().get(format!("http://{addr}/events"));
    let mut events = event_stream(request, &config()).unwrap();
    let item = tokio::time::timeout(GUARD, events.next())
        .await
        .expect("guard");
    match item {
        Some(Err(
            e @ ClientError::Closed {
                cause: Cause::Status(302),
                ..
            },
        )) => {
            assert_eq!(
                e.to_string(),
                "closed for good: the server answered status 302"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(events.next().await.is_none());
    assert_eq!(requests.load(Ordering::SeqCst), 1, "not retried");
}
