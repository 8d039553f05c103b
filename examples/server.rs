//! An SSE server on hyper 1.x with [`ssewire::body::EventBody`]: numbered
//! events with ids and a `retry` hint, keep-alive comments on a timer,
//! resumption after the client's `Last-Event-ID`, and the care a service
//! that people deploy needs:
//!
//! - `204 No Content` when the client is already past the last event (a
//!   browser then stops reconnecting). One rule for ids: a `Last-Event-ID`
//!   of ASCII digits is a number, however long (one past `u64::MAX` is
//!   past the last event, not a wrap to 0); anything else is an id this
//!   server never sent, and the stream starts over;
//! - HTTP/1.1 and HTTP/2 (prior knowledge) on one port, CORS for the
//!   origins given with `--cors`;
//! - a cap on open connections, a timeout for a request's headers and one
//!   for a client that stopped reading (it cannot hold a place under the
//!   cap), accept errors (such as running out of file descriptors) logged
//!   and retried, never fatal;
//! - on Ctrl-C or SIGTERM, every stream ends after its current event with
//!   a `retry` hint, and the server exits once they have.
//!
//! ```sh
//! cargo run --example server --features http-body,tokio -- 127.0.0.1:8080
//! curl -N http://127.0.0.1:8080/events -H 'Last-Event-ID: 3'
//! cargo run --example server --features http-body,tokio -- 127.0.0.1:8080 --cut-seed 7
//! ```
//! `--cut-seed N` cuts each connection on the wire after a pseudo-random
//! number of body bytes (1..=400, counted after the response head): the
//! bytes before the cut are written and flushed, then the connection is
//! aborted, wherever that falls (mid-line, mid-event, inside a CRLF). It
//! exercises reconnecting clients (`examples/client.rs` resumes without
//! losing or repeating events). `--help` lists every option. The tests
//! reuse [`serve`], and the simulation (`tests/sim`) [`route`] and
//! [`CutIo`].
#![allow(dead_code)]

#[path = "support/mod.rs"]
mod support;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

use ssewire::body::{response_headers, EventBody};
use ssewire::encode::OwnedMessage;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Event `n` of the stream (1-based).
pub(crate) type Script = Arc<dyn Fn(u64) -> OwnedMessage + Send + Sync>;

/// What the server sends, and its limits.
#[derive(Clone)]
pub(crate) struct Options {
    /// Events numbered 1..=events, then the response ends.
    pub events: u64,
    /// Pause between events.
    pub interval: Duration,
    /// A quiet stretch (only keep-alives flow): before event `n`, wait this
    /// long instead of `interval`.
    pub long_pause: Option<(u64, Duration)>,
    /// `retry` sent with the first event of each response, in milliseconds.
    pub retry_ms: Option<u64>,
    /// When set, each connection is cut on the wire after a pseudo-random
    /// number of body bytes (1..=400), wherever that falls: mid-line,
    /// mid-event.
    pub cut_seed: Option<u64>,
    /// A keep-alive comment after this long without an event.
    pub keep_alive: Duration,
    /// At most this many connections at once; more wait to be accepted.
    pub max_connections: usize,
    /// A client must send its request headers within this time.
    pub header_timeout: Duration,
    /// A client that stops reading for this long is disconnected.
    pub write_timeout: Duration,
    /// Origins allowed to read the stream from a page of theirs (CORS);
    /// `*` allows any.
    pub cors: Vec<String>,
    /// Event `n` (its id is set to `n`): [`numbered`] by default.
    pub script: Script,
    /// Event streams alive now (a proxy's client going away must end them).
    pub streams: Arc<AtomicUsize>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("events", &self.events)
            .field("interval", &self.interval)
            .field("retry_ms", &self.retry_ms)
            .field("cut_seed", &self.cut_seed)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events: 20,
            interval: Duration::from_millis(250),
            long_pause: None,
            retry_ms: Some(1000),
            cut_seed: None,
            keep_alive: Duration::from_secs(15),
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            cors: Vec::new(),
            script: Arc::new(numbered),
            streams: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// The data of event `n`: several lines, a leading space, non-ASCII.
pub(crate) fn event_data(n: u64) -> String {
    format!("event {n}\n  indented line\ncaf\u{e9} \u{1F600} #{n}")
}

/// The event type of event `n`.
pub(crate) fn event_type(n: u64) -> &'static str {
    if n % 3 == 0 {
        "tick"
    } else {
        "message"
    }
}

/// The default script: [`event_type`] and [`event_data`].
pub(crate) fn numbered(n: u64) -> OwnedMessage {
    OwnedMessage::new(event_data(n))
        .try_event_type(event_type(n))
        .expect("no line breaks")
}

/// The response body type: events, or a plain body.
pub(crate) type AnyBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

fn plain(status: u16, text: &'static str) -> Response<AnyBody> {
    Response::builder()
        .status(status)
        .body(
            Full::new(Bytes::from_static(text.as_bytes()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("valid response")
}

/// A connection that is cut on the wire: the response head goes out
/// whole, then `cut` more bytes (body bytes as framed on the wire), which
/// are flushed; after them every write fails, so the server drops the
/// connection as a network failure would, mid-event or wherever the cut
/// falls.
pub(crate) struct CutIo<T> {
    inner: T,
    /// How much of `\r\n\r\n` (the end of the head) was last seen.
    head_match: usize,
    head_done: bool,
    /// Body bytes still allowed.
    left: usize,
}

impl<T> CutIo<T> {
    pub(crate) fn new(inner: T, cut: usize) -> Self {
        CutIo {
            inner,
            head_match: 0,
            head_done: false,
            left: cut,
        }
    }

    /// How many bytes of `buf` belong to the head, and the head scanner's
    /// state after them.
    fn head_part(&self, buf: &[u8]) -> (usize, usize, bool) {
        let (mut matched, mut done, mut at) = (self.head_match, self.head_done, 0);
        while !done && at < buf.len() {
            matched = if buf[at] == b"\r\n\r\n"[matched] {
                matched + 1
            } else {
                usize::from(buf[at] == b'\r')
            };
            at += 1;
            done = matched == 4;
        }
        (at, matched, done)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CutIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CutIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.head_done && this.left == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "cut on the wire",
            )));
        }
        let (head, _, _) = this.head_part(buf);
        let allowed = head + (buf.len() - head).min(this.left);
        let written = match Pin::new(&mut this.inner).poll_write(cx, &buf[..allowed]) {
            Poll::Ready(Ok(written)) => written,
            other => return other,
        };
        let (head, matched, done) = this.head_part(&buf[..written]);
        this.head_match = matched;
        this.head_done = done;
        this.left -= written - head;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Events `first..=last` of the script, one every `interval`; the first
/// carries the `retry` hint, if any.
fn events(opts: &Options, first: u64) -> impl Stream<Item = OwnedMessage> + Send + 'static {
    let (last, interval, retry) = (opts.events, opts.interval, opts.retry_ms);
    let long_pause = opts.long_pause;
    let script = Arc::clone(&opts.script);
    stream::iter(first..=last).then(move |n| {
        let script = Arc::clone(&script);
        async move {
            match long_pause {
                Some((at, pause)) if at == n => tokio::time::sleep(pause).await,
                _ if n > first => tokio::time::sleep(interval).await,
                _ => {}
            }
            let ev = script(n).try_id(n.to_string()).expect("digits only");
            match retry {
                Some(ms) if n == first => ev.retry(std::time::Duration::from_millis(ms)),
                _ => ev,
            }
        }
    })
}

/// Counts the event streams alive in `Options::streams`.
struct Counted<S> {
    inner: S,
    streams: Arc<AtomicUsize>,
}

impl<S> Counted<S> {
    fn new(inner: S, streams: &Arc<AtomicUsize>) -> Self {
        streams.fetch_add(1, Ordering::SeqCst);
        Counted {
            inner,
            streams: Arc::clone(streams),
        }
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        self.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Where a `Last-Event-ID` says to resume.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    /// After event `n`.
    After(u64),
    /// After every event this server can send (digits beyond `u64`).
    PastTheEnd,
    /// Not an id this server sent: from the start.
    StartOver,
}

/// The one rule for ids: ASCII digits (spaces around allowed) are a
/// number however long; anything else starts over.
pub(crate) fn resume_after(id: &[u8]) -> Resume {
    let digits = id.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Resume::StartOver;
    }
    let value = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u64>().ok());
    match value {
        Some(n) => Resume::After(n),
        None => Resume::PastTheEnd,
    }
}

/// The answer to one request: `GET /events` resumes after the client's
/// `Last-Event-ID`.
pub(crate) fn route(req: &Request<Incoming>, opts: &Options) -> Response<AnyBody> {
    if req.uri().path() != "/events" {
        return plain(404, "not found\n");
    }
    // Resume after the client's last event id (the one rule for ids is in
    // the module docs).
    let first = match req
        .headers()
        .get("last-event-id")
        .map(|v| resume_after(v.as_bytes()))
    {
        None | Some(Resume::StartOver) => 1,
        Some(Resume::After(n)) => match n.checked_add(1) {
            Some(next) if next <= opts.events => next,
            _ => return plain(204, ""),
        },
        Some(Resume::PastTheEnd) => return plain(204, ""),
    };
    let events = Counted::new(Box::pin(events(opts, first)), &opts.streams);
    let body = EventBody::new(events)
        .keep_alive(opts.keep_alive)
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    response_headers(response.headers_mut());
    response
}

/// A small deterministic generator for cut points.
fn next_cut(state: &mut u64) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    1 + (*state % 400) as usize
}

/// The server as a service: [`route`], with CORS and the shutdown hint.
#[derive(Clone)]
pub(crate) struct App {
    pub opts: Arc<Options>,
    pub shutdown: support::Shutdown,
}

impl support::App for App {
    type Body = AnyBody;
    type Future = std::future::Ready<Response<AnyBody>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let mut response = route(&req, &self.opts);
        if response.status() == 200 {
            let (parts, body) = response.into_parts();
            let body = support::Draining::new(body, self.shutdown.clone(), SHUTDOWN_RETRY_MS);
            response = Response::from_parts(parts, body.boxed());
        }
        if let Some(origin) = req.headers().get("origin") {
            let cors = &self.opts.cors;
            if cors
                .iter()
                .any(|o| o == "*" || o.as_bytes() == origin.as_bytes())
            {
                let h = response.headers_mut();
                h.insert("access-control-allow-origin", origin.clone());
                h.insert("vary", hyper::header::HeaderValue::from_static("origin"));
            }
        }
        std::future::ready(response)
    }
}

/// The `retry` hint of a graceful shutdown, in milliseconds.
const SHUTDOWN_RETRY_MS: u64 = 1000;

impl Options {
    fn limits(&self) -> support::Limits {
        support::Limits {
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
            write_timeout: self.write_timeout,
            ..support::Limits::default()
        }
    }
}

/// Serves until `shutdown` fires, then lets the streams end (each with a
/// `retry` hint) and returns. Never fails: accept errors are logged and
/// retried.
pub(crate) async fn serve_until(listener: TcpListener, opts: Options, shutdown: support::Shutdown) {
    let limits = opts.limits();
    let cut_seed = opts.cut_seed;
    let app = App {
        opts: Arc::new(opts),
        shutdown: shutdown.clone(),
    };
    match cut_seed {
        None => support::serve(listener, app, limits, shutdown).await,
        Some(seed) => {
            // Each connection cut on the wire after its own pseudo-random
            // number of bytes.
            let cuts = Arc::new(std::sync::Mutex::new(seed | 1));
            let listener = CutListener {
                inner: listener,
                cuts,
            };
            serve_cut(listener, app, limits, shutdown).await;
        }
    }
}

/// A listener whose connections are cut on the wire ([`CutIo`]).
struct CutListener {
    inner: TcpListener,
    cuts: Arc<std::sync::Mutex<u64>>,
}

async fn serve_cut(
    listener: CutListener,
    app: App,
    limits: support::Limits,
    mut shutdown: support::Shutdown,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("never closed");
        let tcp = tokio::select! {
            accepted = listener.inner.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    eprintln!("accept failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = support::signalled(&mut shutdown) => return,
        };
        let cut = next_cut(&mut listener.cuts.lock().expect("not poisoned"));
        let (app, limits, shutdown) = (app.clone(), limits.clone(), shutdown.clone());
        tokio::spawn(async move {
            support::serve_connection(CutIo::new(tcp, cut), app, &limits, shutdown).await;
            drop(permit);
        });
    }
}

/// Serves until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, opts: Options) -> io::Result<()> {
    serve_until(listener, opts, support::never()).await;
    Ok(())
}

const HELP: &str = "\
usage: server [LISTEN] [options]

Serves numbered events at http://LISTEN/events (default 127.0.0.1:8080)
over HTTP/1.1 and HTTP/2 (prior knowledge), resuming after Last-Event-ID.

  --events N            events 1..=N, then the response ends (default 20)
  --interval MS         between events (default 250)
  --cors ORIGIN         allow this origin (or *) to read the stream; repeat
                        for more
  --cut-seed N          cut each connection on the wire after a
                        pseudo-random number of body bytes (for testing
                        reconnecting clients)
";

fn parse(args: Vec<String>) -> Result<(String, Options), String> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut opts = Options::default();
    let mut limits = opts.limits();
    let mut args = args.into_iter();
    let number = |v: Option<String>, what: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{what} needs a whole number"))
    };
    while let Some(a) = args.next() {
        if support::limit_arg(&mut limits, &a, &mut args)? {
            continue;
        }
        match a.as_str() {
            "--help" | "-h" => return Err(format!("{HELP}{}", support::LIMITS_HELP)),
            "--cut-seed" => opts.cut_seed = Some(number(args.next(), &a)?),
            "--events" => opts.events = number(args.next(), &a)?,
            "--interval" => opts.interval = Duration::from_millis(number(args.next(), &a)?),
            "--cors" => opts.cors.push(args.next().ok_or("--cors needs an origin")?),
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}; see --help"))
            }
            other => addr = other.to_string(),
        }
    }
    opts.max_connections = limits.max_connections;
    opts.header_timeout = limits.header_timeout;
    opts.write_timeout = limits.write_timeout;
    Ok((addr, opts))
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let (addr, opts) = match parse(std::env::args().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(if message.starts_with("usage") { 0 } else { 2 });
        }
    };
    let listener = TcpListener::bind(&addr).await?;
    println!("serving events on http://{}/events", listener.local_addr()?);
    serve_until(listener, opts, support::on_signals()).await;
    Ok(())
}
