//! A small SSE server on hyper 1.x: streams numbered events with ids,
//! keep-alive comments and a `retry` hint, and resumes after the id a
//! reconnecting client sends in `Last-Event-ID`.
//!
//! ```sh
//! cargo run --example server --features futures -- 127.0.0.1:8080
//! curl -N http://127.0.0.1:8080/events -H 'Last-Event-ID: 3'
//! ```
//! `examples/client.rs` reads it and reconnects. The tests reuse [`serve`]
//! with `cut_seed` set, to drop connections at random bytes mid-event.
#![allow(dead_code)]

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ssewire::encode::{Comment, Encode, EventId, EventType, Message, Retry, CONTENT_TYPE};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the server sends.
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events: 20,
            interval: Duration::from_millis(250),
            retry_ms: 1000,
            cut_seed: None,
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

/// A response body fed from a channel; an `Err` aborts the connection.
pub(crate) struct ChannelBody(pub mpsc::Receiver<Result<Bytes, io::Error>>);

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

/// Either the event stream or a plain response.
pub(crate) enum AnyBody {
    Events(ChannelBody),
    Full(Full<Bytes>),
}

impl Body for AnyBody {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            AnyBody::Events(b) => Pin::new(b).poll_frame(cx),
            AnyBody::Full(b) => Pin::new(b)
                .poll_frame(cx)
                .map_err(|never: Infallible| match never {}),
        }
    }
}

/// Sends events after `last_id` into `tx`, cutting after `cut` bytes if set.
async fn produce(
    opts: Arc<Options>,
    last_id: u64,
    cut: Option<usize>,
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
) {
    let mut buf = Vec::new();
    let mut sent = 0usize;
    let mut send = |buf: &mut Vec<u8>| {
        let mut piece = std::mem::take(buf);
        let mut cut_now = false;
        if let Some(c) = cut {
            if sent + piece.len() >= c {
                piece.truncate(c - sent);
                cut_now = true;
            }
        }
        sent += piece.len();
        (Bytes::from(piece), cut_now)
    };
    Retry::new(opts.retry_ms).encode_vec(&mut buf);
    Comment::new("stream start").encode_vec(&mut buf);
    for n in last_id + 1..=opts.events {
        let id = n.to_string();
        let data = event_data(n);
        let ev = Message::new(&data)
            .event_type(EventType::new(event_type(n)).expect("no line breaks"))
            .id(EventId::new(&id).expect("digits only"));
        ev.encode_vec(&mut buf);
        Comment::new("keep-alive").encode_vec(&mut buf);
        let (bytes, cut_now) = send(&mut buf);
        if !bytes.is_empty() && tx.send(Ok(bytes)).await.is_err() {
            return;
        }
        if cut_now {
            let _ = tx
                .send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, "cut")))
                .await;
            return;
        }
        tokio::time::sleep(opts.interval).await;
    }
}

/// A small deterministic generator for cut points.
fn next_cut(state: &mut u64) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    1 + (*state % 400) as usize
}

/// Serves until the listener fails.
pub(crate) async fn serve(listener: TcpListener, opts: Options) -> io::Result<()> {
    let opts = Arc::new(opts);
    let mut seed = opts.cut_seed.unwrap_or(0) | 1;
    loop {
        let (tcp, _) = listener.accept().await?;
        let cut = opts.cut_seed.map(|_| next_cut(&mut seed));
        let opts = opts.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let opts = opts.clone();
                async move { Ok::<_, Infallible>(route(req, opts, cut)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn route(req: Request<Incoming>, opts: Arc<Options>, cut: Option<usize>) -> Response<AnyBody> {
    if req.uri().path() != "/events" {
        return Response::builder()
            .status(404)
            .body(AnyBody::Full(Full::new(Bytes::from_static(b"not found\n"))))
            .expect("valid response");
    }
    // Resume after the client's last event id (ignored if not a number).
    let last_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(produce(opts, last_id, cut, tx));
    Response::builder()
        .header("content-type", CONTENT_TYPE)
        .header("cache-control", "no-cache")
        .body(AnyBody::Events(ChannelBody(rx)))
        .expect("valid response")
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("serving events on http://{}/events", listener.local_addr()?);
    serve(listener, Options::default()).await
}
