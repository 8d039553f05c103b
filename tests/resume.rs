//! `ReconnectingProxyBody` on tokio's paused clock over a scripted
//! upstream that serves a fixed stream after any `Last-Event-ID` and cuts
//! its connections where the test says: the client's one response holds
//! every event once, in order, whatever the cuts; keep-alives flow while
//! the upstream is away; the outage bound ends the response.
#![cfg(all(feature = "http-body", feature = "tokio"))]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http_body::Body;
use http_body_util::BodyExt;
use ssewire::body::{ReconnectingProxyBody, UpstreamConfig, Verdict};
use ssewire::client::{ClientConfig, Opened, RequestHeaders, TokioTimer};

/// Event `n` of the upstream's stream, as it encodes it.
fn event(n: u64) -> String {
    let retry = if n % 4 == 0 {
        format!("retry: {}\n", 100 * n)
    } else {
        String::new()
    };
    format!(
        "{retry}id: {n}\nevent: {}\ndata: event {n}\n\n",
        if n % 3 == 0 { "drop" } else { "keep" }
    )
}

/// The stream after `last` (a `Last-Event-ID`), up to event `total`.
fn after(last: u64, total: u64) -> String {
    (last + 1..=total).map(event).collect()
}

/// What one connection does.
#[derive(Clone, Debug)]
enum Conn {
    /// Serve the rest, cut after this many bytes, or whole if `None`;
    /// `bom`: a BOM first.
    Serve { cut: Option<usize>, bom: bool },
    /// Fail before the response.
    Refuse,
    /// Answer 204.
    NoContent,
}

type Upstream = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// An upstream of `total` events that follows `script` connection by
/// connection (then 204), resuming after each request's `Last-Event-ID`;
/// notes each request's id.
#[allow(clippy::type_complexity)]
fn upstream(
    total: u64,
    script: Vec<Conn>,
) -> (
    impl FnMut(RequestHeaders) -> futures::future::Ready<Result<Opened<Upstream>, std::io::Error>>
        + Unpin,
    Arc<Mutex<Vec<Option<String>>>>,
) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let mut script: VecDeque<Conn> = script.into();
    let connect = move |headers: RequestHeaders| {
        let id = headers
            .last_event_id()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        log.lock().unwrap().push(id.clone());
        let last: u64 = id.as_deref().map_or(0, |v| v.parse().unwrap());
        let conn = script.pop_front().unwrap_or(Conn::NoContent);
        let reply = match conn {
            Conn::Refuse => Err(std::io::Error::other("refused")),
            Conn::NoContent => Ok(opened(204, Vec::new(), false)),
            Conn::Serve { cut, bom } => {
                let mut bytes = if bom {
                    "\u{FEFF}".as_bytes().to_vec()
                } else {
                    Vec::new()
                };
                bytes.extend_from_slice(after(last, total).as_bytes());
                let cut_it = cut.is_some_and(|c| c < bytes.len());
                if let Some(c) = cut {
                    bytes.truncate(c);
                }
                Ok(opened(200, bytes, cut_it))
            }
        };
        futures::future::ready(reply)
    };
    (connect, requests)
}

fn opened(status: u16, bytes: Vec<u8>, fail: bool) -> Opened<Upstream> {
    // Seven-byte reads, then an error if the connection was cut.
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .chain(fail.then(|| Err(std::io::Error::other("cut"))))
        .collect();
    Opened {
        status,
        content_type: Some(b"text/event-stream".to_vec()),
        retry_after: None,
        body: stream::iter(chunks).boxed(),
    }
}

fn drop_filter(ev: &ssewire::Event<'_>) -> Verdict {
    if ev.event_type() == b"drop" {
        Verdict::Drop
    } else {
        Verdict::Pass
    }
}

fn config() -> UpstreamConfig {
    let mut client = ClientConfig::default();
    client
        .retry_status(ssewire::client::retry_server_errors)
        .retry_range(Duration::from_millis(10), Duration::from_secs(5))
        .backoff(2, Duration::from_secs(5));
    let mut c = UpstreamConfig::default();
    c.client(client);
    c
}

/// What a client decodes from `bytes`: (id, data) of each event.
fn events(bytes: &[u8]) -> Vec<(String, String)> {
    let mut dec = ssewire::Decoder::new();
    let mut out = Vec::new();
    dec.feed_all(bytes, |item| {
        if let Ok(ssewire::Item::Event(ev)) = item {
            out.push((
                ev.last_event_id_str().unwrap().into(),
                ev.data_lossy().into_owned(),
            ));
        }
    });
    out
}

fn kept(total: u64) -> Vec<(String, String)> {
    (1..=total)
        .filter(|n| n % 3 != 0)
        .map(|n| (n.to_string(), format!("event {n}")))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_cut_anywhere_costs_the_client_nothing() {
    let total = 8;
    let len = after(0, total).len();
    for cut in 0..len {
        // Cut the first connection at `cut`, the second at `cut / 2` past
        // its start, then serve the rest whole.
        let script = vec![
            Conn::Serve {
                cut: Some(cut),
                bom: false,
            },
            Conn::Serve {
                cut: Some(cut / 2),
                bom: cut % 2 == 0,
            },
            Conn::Serve {
                cut: None,
                bom: true,
            },
        ];
        let (connect, requests) = upstream(total, script);
        let body = ReconnectingProxyBody::new(connect, drop_filter, TokioTimer, &config());
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(events(&out), kept(total), "cut at {cut}");
        // The upstream always resumed after the last block forwarded, and
        // the client's final last event id is the upstream's.
        let mut dec = ssewire::Decoder::new();
        dec.feed_all(&out, |_| {});
        assert_eq!(
            dec.last_event_id(),
            total.to_string().as_bytes(),
            "cut at {cut}"
        );
        assert_eq!(
            dec.retry(),
            Some(std::time::Duration::from_millis(800)),
            "cut at {cut}"
        );
        let requests = requests.lock().unwrap();
        assert!(requests.len() >= 2, "cut at {cut}: {requests:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn keep_alives_flow_while_the_upstream_is_away_and_the_bound_ends_it() {
    // Refused for ever: keep-alives every 15 s until the 30 s bound.
    let (connect, requests) = upstream(3, vec![Conn::Refuse; 1000]);
    let mut body = ReconnectingProxyBody::new(connect, drop_filter, TokioTimer, &config());
    let start = tokio::time::Instant::now();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        frames.push((
            start.elapsed().as_secs(),
            frame.unwrap().into_data().unwrap(),
        ));
    }
    // One keep-alive at 15 s; the response ends once the next attempt
    // would come later than 30 s after the upstream was lost.
    assert_eq!(frames, [(15, Bytes::from_static(b":\n\n"))]);
    assert!(body.is_end_stream());
    assert!(
        start.elapsed() <= Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() >= Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(requests.lock().unwrap().len() > 3);
}

#[tokio::test(start_paused = true)]
async fn an_outage_shorter_than_the_bound_is_bridged() {
    let mut script = vec![Conn::Serve {
        cut: Some(30),
        bom: false,
    }];
    script.extend(vec![Conn::Refuse; 4]);
    script.push(Conn::Serve {
        cut: None,
        bom: false,
    });
    let (connect, requests) = upstream(6, script);
    let body = ReconnectingProxyBody::new(connect, drop_filter, TokioTimer, &config());
    let out = body.collect().await.unwrap().to_bytes();
    assert_eq!(events(&out), kept(6));
    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 7, "{requests:?}");
}

#[tokio::test(start_paused = true)]
async fn a_keep_alive_after_a_cr_ended_block_completes_the_crlf_itself() {
    // Blocks end in lone CRs, a chunk ends on one, and the upstream falls
    // silent for 40 s (more than two keep-alive intervals) before its next
    // chunk starts with the LF of that CRLF. The keep-alives go out anyway
    // (they waited for the next upstream byte before); the first completes
    // the CRLF, the late LF is dropped, and the client reads the events
    // and nothing else.
    let chunks = stream::iter([
        Bytes::from_static(b"id: 1\rdata: a\r\r"),
        Bytes::from_static(b"\nid: 2\rdata: b\r\r\n"),
    ])
    .enumerate()
    .then(|(i, chunk)| async move {
        if i == 1 {
            tokio::time::sleep(Duration::from_secs(40)).await;
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let mut served = false;
    let mut body_of = Some(chunks.boxed());
    let connect = move |_: RequestHeaders| {
        let reply = match (served, body_of.take()) {
            (false, Some(body)) => Opened {
                status: 200,
                content_type: Some(b"text/event-stream".to_vec()),
                retry_after: None,
                body,
            },
            _ => opened(204, Vec::new(), false),
        };
        served = true;
        futures::future::ready(Ok::<_, std::io::Error>(reply))
    };
    let mut body = ReconnectingProxyBody::new(
        connect,
        |_: &ssewire::Event<'_>| Verdict::Pass,
        TokioTimer,
        &config(),
    );
    let start = tokio::time::Instant::now();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        frames.push((
            start.elapsed().as_secs(),
            frame.unwrap().into_data().unwrap(),
        ));
    }
    let at = |secs| {
        frames
            .iter()
            .filter(|(t, _)| *t == secs)
            .map(|(_, f)| f.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(at(15), [Bytes::from_static(b"\n:\n\n")], "{frames:?}");
    assert_eq!(at(30), [Bytes::from_static(b":\n\n")], "{frames:?}");
    let out: Vec<u8> = frames.iter().flat_map(|(_, f)| f.to_vec()).collect();
    // The upstream's late LF is not forwarded: the first keep-alive
    // completed that CRLF.
    assert_eq!(
        out, b"id: 1\rdata: a\r\r\n:\n\n:\n\nid: 2\rdata: b\r\r\n",
        "{frames:?}"
    );
    assert_eq!(
        events(&out),
        [("1".into(), "a".into()), ("2".into(), "b".into())]
    );
}
