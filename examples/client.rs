//! An SSE client on hyper 1.x and [`ssewire::stream::EventStream`]: reads
//! `examples/server.rs`, reconnects when the connection drops, sends
//! `Last-Event-ID`, waits the server's `retry` time, and resumes without
//! losing or repeating events.
//!
//! ```sh
//! cargo run --example server --features futures &
//! cargo run --example client --features futures -- 127.0.0.1:8080 20
//! ```
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyDataStream, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use ssewire::bytes::BytesEvent;
use ssewire::stream::EventStream;
use ssewire::ReadError;
use tokio::net::TcpStream;

/// What happened over the whole session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub events: Vec<BytesEvent>,
    pub connections: usize,
}

/// Reads events from `http://{addr}/events` until the event with id
/// `last_id` arrived, reconnecting as often as needed (at most
/// `max_connections` times).
pub(crate) async fn run(
    addr: &str,
    last_id: u64,
    max_connections: usize,
) -> Result<Session, Box<dyn std::error::Error>> {
    let mut session = Session::default();
    let mut last_event_id: Vec<u8> = Vec::new();
    let mut retry = Duration::from_millis(1000);
    while session.connections < max_connections {
        session.connections += 1;
        let tcp = match TcpStream::connect(addr).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("connect failed: {e}; retrying in {retry:?}");
                tokio::time::sleep(retry).await;
                continue;
            }
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        let mut req = Request::get("/events")
            .header("host", addr)
            .header("accept", "text/event-stream");
        if !last_event_id.is_empty() {
            req = req.header("last-event-id", &last_event_id[..]);
        }
        let resp = sender
            .send_request(req.body(Empty::<Bytes>::new())?)
            .await?;
        let mut events = EventStream::new(BodyDataStream::new(resp.into_body()));
        events.set_last_event_id(&last_event_id)?;
        loop {
            match events.next_event().await {
                Some(Ok(ev)) => {
                    let done = ev.last_event_id()[..] == *last_id.to_string().as_bytes();
                    println!(
                        "{} [{}]: {}",
                        String::from_utf8_lossy(ev.last_event_id()),
                        String::from_utf8_lossy(ev.event_type()),
                        String::from_utf8_lossy(ev.data()).replace('\n', " / ")
                    );
                    session.events.push(ev);
                    if done {
                        return Ok(session);
                    }
                }
                Some(Err(ReadError::Decode(e))) => eprintln!("event dropped: {e}"),
                Some(Err(ReadError::Transport(e))) => {
                    eprintln!("connection lost: {e}");
                    break;
                }
                None => break,
            }
        }
        last_event_id = events.last_event_id().to_vec();
        if let Some(ms) = events.retry() {
            retry = Duration::from_millis(ms);
        }
        tokio::time::sleep(retry).await;
    }
    Err("too many connections".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let last: u64 = args.next().map_or(Ok(20), |s| s.parse())?;
    let session = run(&addr, last, 100).await?;
    eprintln!(
        "{} events over {} connections",
        session.events.len(),
        session.connections
    );
    Ok(())
}
