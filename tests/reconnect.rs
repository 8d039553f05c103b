//! `ReconnectingStream` on tokio's paused clock, over a scripted connector:
//! what a slow consumer gets, and how soon it reconnects whatever the
//! server says (`Retry-After`, `retry`). No wall clock: the paused clock
//! jumps, and every delay is read off it.
#![cfg(all(feature = "futures", feature = "std", feature = "tokio"))]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use ssewire::client::{
    Cause, ClientConfig, ClientError, Opened, ReconnectingStream, RequestHeaders, TokioTimer,
};

/// One scripted response.
struct Reply {
    status: u16,
    retry_after: Option<&'static str>,
    /// Body chunks, all ready at once; then the body stays open (`hold`)
    /// or ends.
    chunks: Vec<&'static str>,
    hold: bool,
}

fn sse(chunks: Vec<&'static str>, hold: bool) -> Reply {
    Reply {
        status: 200,
        retry_after: None,
        chunks,
        hold,
    }
}

type Body = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// A connector that answers from `replies` in order (then with 204), and
/// notes when (on the paused clock) each request was made and with which
/// `Last-Event-ID`.
#[allow(clippy::type_complexity)]
fn scripted(
    replies: Vec<Reply>,
) -> (
    impl FnMut(RequestHeaders) -> futures::future::Ready<Result<Opened<Body>, std::io::Error>> + Unpin,
    Arc<Mutex<Vec<(Duration, Option<String>)>>>,
) {
    let start = tokio::time::Instant::now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    let mut replies: VecDeque<Reply> = replies.into();
    let connect = move |headers: RequestHeaders| {
        let id = headers
            .last_event_id()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        seen.lock().unwrap().push((start.elapsed(), id));
        let reply = replies.pop_front().unwrap_or(Reply {
            status: 204,
            retry_after: None,
            chunks: vec![],
            hold: false,
        });
        let chunks = stream::iter(
            reply
                .chunks
                .into_iter()
                .map(|c| Ok(Bytes::from_static(c.as_bytes()))),
        );
        let body: Body = if reply.hold {
            chunks.chain(stream::pending()).boxed()
        } else {
            chunks.boxed()
        };
        futures::future::ready(Ok(Opened {
            status: reply.status,
            content_type: Some(b"text/event-stream".to_vec()),
            retry_after: reply.retry_after.map(|v| v.as_bytes().to_vec()),
            body,
        }))
    };
    (connect, log)
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.jitter(0, 1);
    c
}

/// What the stream yields, as text: events by data, errors by cause.
fn show<E>(item: &Result<ssewire::bytes::BytesEvent, ClientError<E>>) -> String {
    match item {
        Ok(ev) => ev.data_lossy().into_owned(),
        Err(ClientError::Reconnecting { cause, .. }) => format!("reconnecting {cause:?}"),
        Err(ClientError::Closed { cause, .. }) => format!("closed {cause:?}"),
        Err(ClientError::Decode(e)) => format!("dropped {e}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_gets_what_already_arrived_before_an_idle_timeout() {
    // Two chunks are ready at once; the connection then stays open and
    // silent. The consumer takes 1 s per item, twice the idle timeout.
    let (connect, log) = scripted(vec![
        sse(vec!["id: 1\ndata: a\n\n", "id: 2\ndata: b\n\n"], true),
        sse(vec!["id: 3\ndata: c\n\n"], false),
    ]);
    let mut c = config();
    c.idle_timeout(Some(Duration::from_millis(500)));
    let mut events = ReconnectingStream::new(&c, connect, TokioTimer);
    let mut seen = Vec::new();
    while let Some(item) = events.next().await {
        seen.push(show(&item));
        if seen.len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        seen,
        [
            "a",
            "b",
            "reconnecting IdleTimeout",
            "c",
            "reconnecting BodyEnded"
        ]
    );
    // The second connection resumed after `b`, which was not thrown away.
    assert_eq!(log.lock().unwrap()[1].1.as_deref(), Some("2"));
}

/// The delays between the requests `replies` lead to, in milliseconds.
async fn delays(replies: Vec<Reply>, c: &ClientConfig) -> Vec<u128> {
    let n = replies.len();
    let (connect, log) = scripted(replies);
    let mut events = ReconnectingStream::new(c, connect, TokioTimer);
    while let Some(item) = events.next().await {
        if matches!(item, Err(ClientError::Closed { .. })) {
            break;
        }
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), n + 1, "one request per reply, then the 204");
    log.windows(2)
        .map(|w| (w[1].0 - w[0].0).as_millis())
        .collect()
}

fn unavailable(retry_after: &'static str) -> Reply {
    Reply {
        status: 503,
        retry_after: Some(retry_after),
        chunks: vec![],
        hold: false,
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_zero_waits_at_least_the_floor_and_backs_off_from_it() {
    let mut c = config();
    c.retry_status(ssewire::client::retry_server_errors)
        .retry_range(Duration::from_millis(100), Duration::from_secs(60))
        .backoff(2, Duration::from_secs(30));
    let got = delays((0..6).map(|_| unavailable("0")).collect(), &c).await;
    assert_eq!(got, [100, 200, 400, 800, 1600, 3200]);
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_is_capped() {
    let mut c = config();
    c.retry_status(ssewire::client::retry_server_errors)
        .backoff(2, Duration::from_secs(30));
    let got = delays(vec![unavailable("4294967295"), unavailable("7")], &c).await;
    // Capped at the backoff ceiling; a modest one is honoured (and backed
    // off from, as the second failure in a row).
    assert_eq!(got, [30_000, 14_000]);
}

#[tokio::test(start_paused = true)]
async fn jitter_never_takes_a_delay_below_the_floor() {
    let mut c = ClientConfig::default();
    c.jitter(50, 7)
        .initial_retry(Duration::ZERO)
        .retry_range(Duration::from_millis(100), Duration::from_secs(60))
        .backoff(1, Duration::from_secs(1));
    let ended = || sse(vec!["data: x\n\n"], false);
    let got = delays((0..20).map(|_| ended()).collect(), &c).await;
    assert!(got.iter().all(|&d| d >= 100), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn status_errors_are_closed_with_their_cause() {
    let (connect, _) = scripted(vec![Reply {
        status: 503,
        retry_after: Some("0"),
        chunks: vec![],
        hold: false,
    }]);
    let mut events = ReconnectingStream::new(&config(), connect, TokioTimer);
    let first = events.next().await.unwrap();
    assert!(matches!(
        first,
        Err(ClientError::Closed {
            cause: Cause::Status(503),
            ..
        })
    ));
}

#[tokio::test(start_paused = true)]
async fn an_idle_timeout_is_reported_when_it_happens_not_after_the_delay() {
    let (connect, _) = scripted(vec![sse(vec![": open\n\n"], true)]);
    let mut c = config();
    c.idle_timeout(Some(Duration::from_millis(500)))
        .initial_retry(Duration::from_secs(3));
    let start = tokio::time::Instant::now();
    let mut events = ReconnectingStream::new(&c, connect, TokioTimer);
    let item = events.next().await.unwrap();
    assert_eq!(show(&item), "reconnecting IdleTimeout");
    assert_eq!(start.elapsed(), Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn restart_reconnects_at_once_with_the_last_id_and_loses_nothing() {
    let (connect, log) = scripted(vec![
        sse(vec!["id: 1\ndata: a\n\nid: 2\ndata: par"], true),
        sse(vec!["id: 2\ndata: b\n\n"], true),
    ]);
    let mut c = config();
    c.idle_timeout(None);
    let mut events = ReconnectingStream::new(&c, connect, TokioTimer);
    let first = events.next().await.unwrap();
    assert_eq!(show(&first), "a");
    tokio::time::sleep(Duration::from_secs(7)).await;
    events.restart();
    let second = events.next().await.unwrap();
    assert_eq!(show(&second), "b");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].1.as_deref(),
        Some("1"),
        "resumed after the last whole event"
    );
    assert_eq!(log[1].0, Duration::from_secs(7), "at once");
}

#[tokio::test(start_paused = true)]
async fn signals_are_handed_out_only_when_asked_for() {
    use ssewire::client::ClientItem;
    let body = ": hi\nretry: 2000\nid: 1\ndata: a\n\n";
    let mut c = config();
    c.comments(true);
    // Asked for: open, comment, retry, event.
    let (connect, _) = scripted(vec![sse(vec![body], false)]);
    let mut items = ReconnectingStream::new(&c, connect, TokioTimer).with_signals();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(match items.next().await.unwrap().unwrap() {
            ClientItem::Open => "open".to_string(),
            ClientItem::Comment(text) => format!("comment {}", String::from_utf8_lossy(&text)),
            ClientItem::Retry(d) => format!("retry {}", d.as_millis()),
            ClientItem::Event(ev) => format!("event {}", ev.data_lossy()),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(got, ["open", "comment hi", "retry 2000", "event a"]);
    assert_eq!(items.ready_state(), ssewire::client::ReadyState::Open);
    // Not asked for: events only, as ever.
    let (connect, _) = scripted(vec![sse(vec![body], false)]);
    let mut events = ReconnectingStream::new(&c, connect, TokioTimer);
    assert_eq!(show(&events.next().await.unwrap()), "a");
}
