//! Interop with a real browser: headless Chromium opens a page from a test
//! server on 127.0.0.1 whose `EventSource` reads a stream that ssewire
//! encoded (hard cases, written to the socket in awkward pieces); the page
//! posts what it received back, and the test compares it with what was
//! encoded. The same stream is served three ways: written by hand through a
//! channel, through `body::EventBody`, and through `body::ProxyBody` in
//! front of the first. It needs Chromium, so it is `#[ignore]`d: a plain `cargo test`
//! counts it as ignored; `.ci/run` installs Chromium and runs it with
//! `-- --ignored`, where a missing browser is a failure. Timeouts only
//! guard against hangs.
#![cfg(all(feature = "http-body", feature = "tokio"))]
// The examples share `examples/support`: each brings its own copy.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/proxy.rs"]
#[allow(unused)]
mod proxy;
#[path = "../examples/server.rs"]
#[allow(unused)]
mod server;

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::body::{Body, Frame};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ssewire::body::{EventBody, ProxyBody, Verdict};
use ssewire::encode::{Comment, Encode, EventId, EventType, Message, Output};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// (event type, data, id field) for each event sent.
fn cases() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    vec![
        ("", "plain", None),
        ("", "multi\nline\nwith LF", Some("1")),
        ("", "carriage\rreturns\ronly", None),
        ("custom", "crlf\r\nseparated\r\nlines", Some("two words")),
        ("", " leading space", None),
        ("", "  two leading spaces\n\tand a tab", None),
        ("", "", Some("")),
        ("", "\n\n", None),
        (
            "update",
            "non-ASCII: caf\u{e9} \u{4f60}\u{597d} \u{1F600} \u{3b1}\u{3b2}",
            Some("\u{e9}t\u{e9}"),
        ),
        (
            "with space",
            "data: not a field\nid: not an id\nevent: nope",
            None,
        ),
        ("", ":not a comment", Some("7")),
        ("", "trailing newline\n", None),
        ("done", "bye", None),
    ]
}

/// What the browser should report: type (default `message`), data with
/// line breaks normalised to LF, and the last event id so far.
fn expected() -> Vec<serde_json::Value> {
    let mut last_id = String::new();
    cases()
        .into_iter()
        .map(|(ty, data, id)| {
            if let Some(id) = id {
                last_id = id.to_string();
            }
            let data = data.replace("\r\n", "\n").replace('\r', "\n");
            let ty = if ty.is_empty() { "message" } else { ty };
            serde_json::json!({ "type": ty, "data": data, "id": last_id })
        })
        .collect()
}

type AnyBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// A response body fed from a channel.
struct ChannelBody(mpsc::Receiver<Result<Bytes, io::Error>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.0.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// The cases as encoder items, for `EventBody`.
fn items() -> Vec<Output<'static>> {
    let mut out = vec![Output::Comment(Comment::new("hello browser"))];
    for (ty, data, id) in cases() {
        let mut ev = Message::new(data).event_type(EventType::new(ty).unwrap());
        if let Some(id) = id {
            ev = ev.id(EventId::new(id).unwrap());
        }
        out.push(Output::Message(ev));
        out.push(Output::Comment(Comment::new("between\nevents")));
    }
    out
}

/// The stream written by hand in awkward pieces: 1 to 7 bytes, cutting
/// field names, UTF-8 sequences and line endings apart, each its own write.
fn channel_body() -> ChannelBody {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let bytes = stream_bytes();
        let mut at = 0;
        let mut k = 0;
        while at < bytes.len() {
            let n = (1 + (k * 5 + 3) % 7).min(bytes.len() - at);
            if tx
                .send(Ok(Bytes::copy_from_slice(&bytes[at..at + n])))
                .await
                .is_err()
            {
                return;
            }
            at += n;
            k += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Keep the connection open; the page closes it.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    ChannelBody(rx)
}

fn stream_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    Comment::new("hello browser").encode_vec(&mut out);
    for (ty, data, id) in cases() {
        let mut ev = Message::new(data).event_type(EventType::new(ty).unwrap());
        if let Some(id) = id {
            ev = ev.id(EventId::new(id).unwrap());
        }
        ev.encode_vec(&mut out);
        Comment::new("between\nevents").encode_vec(&mut out);
    }
    out
}

const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>ssewire interop</title>
<script>
const got = [];
const es = new EventSource(new URLSearchParams(location.search).get('src'));
const record = e => got.push({ type: e.type, data: e.data, id: e.lastEventId });
for (const t of TYPES) es.addEventListener(t, record);
es.addEventListener('done', e => {
  record(e);
  es.close();
  fetch('/report', { method: 'POST', body: JSON.stringify(got) });
});
es.onerror = () => { if (es.readyState === EventSource.CLOSED) fetch('/report', { method: 'POST', body: '"error"' }); };
</script>"#;

async fn handle(req: Request<Incoming>, report: mpsc::Sender<String>) -> Response<AnyBody> {
    let full = |ct: &str, body: String| {
        Response::builder()
            .header("content-type", ct)
            .body(
                Full::new(Bytes::from(body))
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .unwrap()
    };
    match req.uri().path() {
        "/" => {
            let types: Vec<&str> = cases()
                .iter()
                .map(|c| if c.0.is_empty() { "message" } else { c.0 })
                .filter(|t| *t != "done")
                .collect();
            full(
                "text/html; charset=utf-8",
                PAGE.replace("TYPES", &serde_json::to_string(&types).unwrap()),
            )
        }
        "/events" | "/events-body" | "/events-proxy" => {
            let body: AnyBody = match req.uri().path() {
                "/events" => channel_body().boxed(),
                // Keep the connection open after the events; the page
                // closes it.
                "/events-body" => EventBody::new(stream::iter(items()).chain(stream::pending()))
                    .map_err(|never| match never {})
                    .boxed(),
                _ => ProxyBody::new(channel_body(), |_: &ssewire::Event<'_>| Verdict::Pass).boxed(),
            };
            let mut response = Response::new(body);
            ssewire::body::response_headers(response.headers_mut());
            response
        }
        "/report" => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let _ = report
                .send(String::from_utf8_lossy(&body).into_owned())
                .await;
            full("text/plain", String::new())
        }
        _ => Response::builder()
            .status(404)
            .body(
                Full::new(Bytes::new())
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .unwrap(),
    }
}

/// The Chromium binary: `$CHROMIUM` or a usual path. The test is only run
/// when asked for (`--ignored`), so a missing browser is a failure.
fn chromium() -> String {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return path;
    }
    for p in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!(
        "Chromium not found: install Debian's `chromium` package (`.ci/run` does) or set CHROMIUM"
    );
}

#[ignore = "needs Chromium: `apt-get install chromium`, then `cargo test --all-features --test browser -- --ignored` (CI does)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_event_source_reads_what_ssewire_encoded() {
    let chromium = chromium();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (report_tx, mut report_rx) = mpsc::channel::<String>(4);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let report = report_tx.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let report = report.clone();
                    async move { Ok::<_, Infallible>(handle(req, report).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });

    for src in ["/events", "/events-body", "/events-proxy"] {
        let report = run_browser(
            &chromium,
            &format!("http://{addr}/?src={src}"),
            &mut report_rx,
        )
        .await;
        let got: serde_json::Value = serde_json::from_str(&report).expect("JSON report");
        assert_eq!(
            got,
            serde_json::Value::Array(expected()),
            "what the browser received from {src}"
        );
    }
}

/// Opens `url` in headless Chromium and waits for the page's report.
async fn run_browser(chromium: &str, url: &str, reports: &mut mpsc::Receiver<String>) -> String {
    // A profile of its own: the tests run side by side.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let profile =
        std::env::temp_dir().join(format!("ssewire-chromium-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let report = tokio::time::timeout(Duration::from_secs(90), reports.recv()).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&profile);
    report
        .expect("the page reported within 90 s")
        .expect("a report")
}

/// The page for the restart test: reads `SRC` (on another origin) until
/// event 20 and reports every `lastEventId` it saw, in order, or
/// `"closed after N"` if the browser gave up.
const RESTART_PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>ssewire restart</title>
<script>
const ids = [];
const es = new EventSource(SRC);
const record = e => {
  ids.push(e.lastEventId);
  if (e.lastEventId === '20') {
    es.close();
    fetch('/report', { method: 'POST', body: JSON.stringify(ids) });
  }
};
es.addEventListener('message', record);
es.addEventListener('tick', record);
es.onerror = () => {
  if (es.readyState === EventSource.CLOSED) fetch('/report', { method: 'POST', body: JSON.stringify('closed after ' + ids.length) });
};
</script>"#;

/// The example server in a runtime of its own on `addr`, so that stopping
/// it kills every connection it has, as killing the process would.
fn start_upstream(addr: std::net::SocketAddr) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ready = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind(addr).await.unwrap();
            ready.0.send(()).unwrap();
            let opts = server::Options {
                interval: Duration::from_millis(150),
                retry_ms: Some(500),
                ..server::Options::default()
            };
            tokio::select! {
                _ = server::serve(listener, opts) => {}
                _ = stopped => {}
            }
        });
        // Dropping the runtime drops every connection task.
    });
    ready.1.recv().unwrap();
    stop
}

/// Serves the restart page (reading `src`) and the reports.
async fn serve_page(listener: TcpListener, src: String, report: mpsc::Sender<String>) {
    let page = RESTART_PAGE.replace("SRC", &serde_json::to_string(&src).unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (report, page) = (report.clone(), page.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (report, page) = (report.clone(), page.clone());
                    async move {
                        let body = if req.uri().path() == "/report" {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let _ = report
                                .send(String::from_utf8_lossy(&body).into_owned())
                                .await;
                            Bytes::new()
                        } else {
                            Bytes::from(page)
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "text/html; charset=utf-8")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
}

/// The example proxy in front of `upstream`, counting the requests for
/// `/events` that clients send it.
async fn start_proxy(
    upstream: std::net::SocketAddr,
    rules: proxy::Rules,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use proxy::support::App as _;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&requests);
    let app = proxy::App {
        connect: std::sync::Arc::new(move || tokio::net::TcpStream::connect(upstream)),
        host: "upstream".into(),
        rules: std::sync::Arc::new(rules),
        shutdown: proxy::support::never(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (app, count) = (app.clone(), std::sync::Arc::clone(&count));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    if req.uri().path() == "/events" {
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    let response = app.call(req);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (addr, requests)
}

/// Chromium on a page of another origin (CORS) reads the example proxy
/// while the upstream server is killed twice for 2 s and started again:
/// every event once, in order, in one response from the proxy (it
/// reconnects upstream itself). Without that (`--no-reconnect`) every
/// event still arrives, over several connections; and with the upstream's
/// failure passed on as a status (`--pass-status`) the browser stops for
/// good, the reason the proxy does not do that by default.
#[ignore = "needs Chromium: `apt-get install chromium`, then `cargo test --all-features --test browser -- --ignored` (CI does)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_through_the_proxy_survives_upstream_restarts() {
    let chromium = chromium();
    for (reconnect, pass_status) in [(true, false), (false, false), (false, true)] {
        let upstream = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (report_tx, mut report_rx) = mpsc::channel::<String>(4);
        let mut rules = proxy::Rules {
            reconnect,
            pass_status,
            ..proxy::Rules::default()
        };
        // The page's origin, the only one the proxy lets read it.
        let page_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let page = page_listener.local_addr().unwrap();
        rules.cors = vec![format!("http://{page}")];
        let (proxy_addr, requests) = start_proxy(upstream, rules).await;
        serve_page(
            page_listener,
            format!("http://{proxy_addr}/events"),
            report_tx,
        )
        .await;
        let stop = start_upstream(upstream);
        // Kill the upstream twice, 2 s each time.
        let restarts = tokio::spawn(async move {
            let mut stop = stop;
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(1200)).await;
                let _ = stop.send(());
                tokio::time::sleep(Duration::from_millis(2000)).await;
                stop = start_upstream(upstream);
            }
            stop
        });
        let report = run_browser(&chromium, &format!("http://{page}/"), &mut report_rx).await;
        let _ = restarts.await.unwrap().send(());
        let what = format!("reconnect {reconnect}, pass status {pass_status}");
        if pass_status {
            assert!(report.starts_with("\"closed after"), "{what}: {report}");
            continue;
        }
        let ids: Vec<String> = serde_json::from_str(&report).expect(&report);
        let want: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
        assert_eq!(ids, want, "{what}: every event once, in order");
        let requests = requests.load(std::sync::atomic::Ordering::SeqCst);
        if reconnect {
            assert_eq!(requests, 1, "{what}: the browser never reconnected");
        } else {
            assert!(requests > 1, "{what}: the browser reconnected");
        }
    }
}
