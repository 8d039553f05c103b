//! An SSE server on hyper 1.x with [`ssewire::body::EventBody`]: numbered
//! events with ids and a `retry` hint, keep-alive comments on a timer,
//! resumption after the client's `Last-Event-ID`, and the care a server
//! that people copy needs:
//!
//! - `204 No Content` when the client is already past the last event (a
//!   browser then stops reconnecting); `Last-Event-ID` arithmetic is
//!   checked, so `18446744073709551615` cannot wrap around to 0;
//! - accept errors (such as running out of file descriptors) are logged and
//!   retried after a pause, never fatal;
//! - a cap on open connections, and a timeout for reading request headers,
//!   so slow or greedy clients cannot take the server down.
//!
//! ```sh
//! cargo run --example server --features http-body,tokio -- 127.0.0.1:8080
//! curl -N http://127.0.0.1:8080/events -H 'Last-Event-ID: 3'
//! cargo run --example server --features http-body,tokio -- 127.0.0.1:8080 --cut-seed 7
//! ```
//! `--cut-seed N` drops each connection after a pseudo-random number of
//! bytes, mid-event, to exercise reconnecting clients (`examples/client.rs`
//! resumes without losing or repeating events). The tests reuse [`serve`].
#![allow(dead_code)]

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use ssewire::body::{response_headers, EventBody};
use ssewire::encode::OwnedMessage;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What the server sends, and its limits.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Events numbered 1..=events, then the response ends.
    pub events: u64,
    /// Pause between events.
    pub interval: Duration,
    /// `retry` sent at the start of each response, in milliseconds.
    pub retry_ms: u64,
    /// When set, each connection is cut after a pseudo-random number of body
    /// bytes (1..=400), wherever that falls: mid-line, mid-event.
    pub cut_seed: Option<u64>,
    /// A keep-alive comment after this long without an event.
    pub keep_alive: Duration,
    /// At most this many connections at once; more wait to be accepted.
    pub max_connections: usize,
    /// A client must send its request headers within this time.
    pub header_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events: 20,
            interval: Duration::from_millis(250),
            retry_ms: 1000,
            cut_seed: None,
            keep_alive: Duration::from_secs(15),
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
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

/// Ends a body with an error after `cut` bytes (the connection is
/// aborted mid-stream, as a network failure would).
struct Cut<B> {
    inner: B,
    left: usize,
}

impl<B: Body<Data = Bytes, Error = io::Error> + Unpin> Body for Cut<B> {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "cut",
            ))));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        Poll::Ready(Some(Ok(match frame.into_data() {
            Ok(mut data) => {
                data.truncate(self.left);
                self.left -= data.len();
                Frame::data(data)
            }
            Err(frame) => frame,
        })))
    }
}

/// Events `first..=last`, one every `interval`; the first carries the
/// `retry` hint.
fn events(opts: &Options, first: u64) -> impl Stream<Item = OwnedMessage> + Send + 'static {
    let (last, interval, retry) = (opts.events, opts.interval, opts.retry_ms);
    stream::iter(first..=last).then(move |n| async move {
        if n > first {
            tokio::time::sleep(interval).await;
        }
        let ev = OwnedMessage::new(event_data(n))
            .event_type(event_type(n))
            .expect("no line breaks")
            .id(n.to_string())
            .expect("digits only");
        if n == first {
            ev.retry(retry)
        } else {
            ev
        }
    })
}

/// Counts the event streams alive (tests check that a proxy's client going
/// away ends the stream here).
pub(crate) static STREAMS: AtomicUsize = AtomicUsize::new(0);

struct Counted<S>(S);

impl<S> Counted<S> {
    fn new(s: S) -> Self {
        STREAMS.fetch_add(1, Ordering::SeqCst);
        Counted(s)
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        STREAMS.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

pub(crate) fn route(
    req: &Request<Incoming>,
    opts: &Options,
    cut: Option<usize>,
) -> Response<AnyBody> {
    if req.uri().path() != "/events" {
        return plain(404, "not found\n");
    }
    // Resume after the client's last event id. An id that is not a number
    // starts over; one at or past the last event (including u64::MAX,
    // checked, not wrapped) means there is nothing more: 204 tells the
    // client to stop.
    let last_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let Some(first) = last_id.checked_add(1).filter(|&n| n <= opts.events) else {
        return plain(204, "");
    };
    let body =
        EventBody::new(Counted::new(Box::pin(events(opts, first)))).keep_alive(opts.keep_alive);
    let body: AnyBody = match cut {
        Some(left) => Cut {
            inner: body.map_err(|never| match never {}),
            left,
        }
        .boxed(),
        None => body.map_err(|never| match never {}).boxed(),
    };
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

/// Serves until the task is dropped. Never returns an error: accept
/// failures are logged and retried.
pub(crate) async fn serve(listener: TcpListener, opts: Options) -> io::Result<()> {
    let opts = Arc::new(opts);
    let permits = Arc::new(Semaphore::new(opts.max_connections));
    let mut seed = opts.cut_seed.unwrap_or(0) | 1;
    loop {
        // The cap: wait for a free slot before accepting more.
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("never closed");
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // EMFILE and friends: back off, then go on serving.
                eprintln!("accept failed: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let cut = opts.cut_seed.map(|_| next_cut(&mut seed));
        let opts = Arc::clone(&opts);
        tokio::spawn(async move {
            let service_opts = Arc::clone(&opts);
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = route(&req, &service_opts, cut);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(opts.header_timeout)
                .serve_connection(TokioIo::new(tcp), service)
                .await;
            drop(permit);
        });
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8080".to_string();
    let mut opts = Options::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cut-seed" => opts.cut_seed = args.next().and_then(|s| s.parse().ok()),
            "--events" => {
                opts.events = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(opts.events);
            }
            "--max-connections" => {
                opts.max_connections = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(opts.max_connections);
            }
            other => addr = other.to_string(),
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    println!("serving events on http://{}/events", listener.local_addr()?);
    serve(listener, opts).await
}
