//! An SSE client on hyper 1.x, built on [`ssewire::client::ReconnectingStream`]
//! (the EventSource rules as a state machine) with hyper as the HTTP stack:
//! a transport error before or after the response reconnects instead of
//! exiting, status and content type are checked (a `500 text/html` or a
//! `200 text/plain` closes the source, dispatching nothing), `204` stops it
//! for good, the server's `retry` is clamped, and `Last-Event-ID` resumes
//! without losing or repeating events.
//!
//! ```sh
//! cargo run --example server --features futures &
//! cargo run --example client --features futures -- 127.0.0.1:8080 20
//! ```
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http_body_util::{BodyDataStream, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use ssewire::bytes::BytesEvent;
use ssewire::client::{ClientConfig, ClientError, Opened, ReconnectingStream, RequestHeaders};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What happened over the whole session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub events: Vec<BytesEvent>,
    pub connections: usize,
}

/// One GET of `http://{addr}/events` with the machine's headers, over a new
/// hyper connection.
pub(crate) async fn connect(
    addr: String,
    headers: RequestHeaders,
) -> Result<Opened<futures::stream::BoxStream<'static, Result<Bytes, BoxError>>>, BoxError> {
    let tcp = TcpStream::connect(&addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    // The connection's task ends with the body: when the stream gives up on
    // a connection (an idle timeout, a reconnect), its socket closes, even
    // if the peer has gone silent.
    let task = AbortOnDrop(tokio::spawn(conn));
    let mut req = Request::get("/events").header("host", &addr);
    for (name, value) in headers.iter() {
        req = req.header(name, value);
    }
    let resp = sender
        .send_request(req.body(Empty::<Bytes>::new())?)
        .await?;
    let header = |name| {
        resp.headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| v.as_bytes().to_vec())
    };
    Ok(Opened {
        status: resp.status().as_u16(),
        content_type: header(hyper::header::CONTENT_TYPE),
        retry_after: header(hyper::header::RETRY_AFTER),
        body: BodyDataStream::new(resp.into_body())
            .map_err(BoxError::from)
            .map(move |chunk| {
                let _ = &task;
                chunk
            })
            .boxed(),
    })
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The client's settings: the defaults (backoff, jitter, a 100 ms to 60 s
/// clamp on the server's `retry`), with at most 20 attempts in a row that
/// deliver nothing.
pub(crate) fn config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.max_attempts(Some(20));
    config
}

/// Reads events from `http://{addr}/events` until the event with id
/// `last_id` arrived, reconnecting as the rules say (at most
/// `max_connections` connections).
pub(crate) async fn run(
    addr: &str,
    last_id: u64,
    max_connections: usize,
    config: &ClientConfig,
) -> Result<Session, BoxError> {
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let addr = addr.to_string();
    let connector = move |headers: RequestHeaders| {
        counter.fetch_add(1, Ordering::SeqCst);
        connect(addr.clone(), headers)
    };
    let mut events = ReconnectingStream::new(config, connector, tokio::time::sleep);
    let mut session = Session::default();
    let want = last_id.to_string();
    while let Some(item) = events.next().await {
        session.connections = connections.load(Ordering::SeqCst);
        match item {
            Ok(ev) => {
                println!(
                    "{} [{}]: {}",
                    ev.last_event_id_lossy(),
                    ev.event_type_lossy(),
                    ev.data_lossy().replace('\n', " / ")
                );
                let done = ev.last_event_id()[..] == *want.as_bytes();
                session.events.push(ev);
                if done {
                    events.close();
                    return Ok(session);
                }
            }
            Err(ClientError::Closed { cause, source }) => {
                return Err(format!(
                    "closed: {cause:?} {}",
                    source.map(|e| e.to_string()).unwrap_or_default()
                )
                .into());
            }
            Err(e) => eprintln!("{e}"),
        }
        if session.connections > max_connections {
            return Err("too many connections".into());
        }
    }
    Err("the stream ended".into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let last: u64 = args.next().map_or(Ok(20), |s| s.parse())?;
    let session = run(&addr, last, 100, &config()).await?;
    eprintln!(
        "{} events over {} connections",
        session.events.len(),
        session.connections
    );
    Ok(())
}
