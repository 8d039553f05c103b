//! End to end over real sockets on 127.0.0.1: the example server and client
//! with connections cut mid-event, and the `tokio-util` codec over TCP.
//! Timeouts only guard against hangs.
#![cfg(all(
    feature = "futures",
    feature = "tokio-util",
    feature = "http-body",
    feature = "tokio",
    feature = "reqwest"
))]

#[path = "../examples/client.rs"]
#[allow(unused)]
mod client;
#[path = "../examples/server.rs"]
#[allow(unused)]
mod server;

use std::time::Duration;

use ssewire::bytes::BytesItem;
use ssewire::codec::SseCodec;
use ssewire::encode::{Comment, EventId, Message, Output, Retry};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite};

const GUARD: Duration = Duration::from_secs(120);

async fn start(opts: server::Options) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(server::serve(listener, opts));
    addr
}

/// The example's settings, with delays the test servers' `retry` can set
/// down to 1 ms and no backoff (cut connections often deliver nothing).
fn fast() -> ssewire::client::ClientConfig {
    let mut config = client::config();
    config
        .retry_range(Duration::from_millis(1), Duration::from_secs(1))
        .backoff(1, Duration::from_secs(1))
        .max_attempts(None);
    config
}

fn check_session(session: &client::Session, total: u64) {
    let ids: Vec<u64> = session
        .events
        .iter()
        .map(|e| {
            std::str::from_utf8(e.last_event_id())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        (1..=total).collect::<Vec<_>>(),
        "every event exactly once, in order"
    );
    for (n, ev) in (1..).zip(&session.events) {
        assert_eq!(ev.data(), server::event_data(n).as_bytes());
        assert_eq!(ev.event_type(), server::event_type(n).as_bytes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reads_every_event_once_in_order() {
    let opts = server::Options {
        events: 15,
        interval: Duration::from_millis(1),
        retry_ms: Some(5),
        cut_seed: None,
        ..Default::default()
    };
    let addr = start(opts).await;
    let session = tokio::time::timeout(GUARD, client::run(&addr, 15, 5, &fast()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.connections, 1);
    check_session(&session, 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_event_lose_and_repeat_nothing() {
    for seed in [1u64, 7, 42, 1234, 99991] {
        let opts = server::Options {
            events: 40,
            interval: Duration::from_millis(0),
            retry_ms: Some(2),
            cut_seed: Some(seed),
            ..Default::default()
        };
        let addr = start(opts).await;
        let session = tokio::time::timeout(GUARD, client::run(&addr, 40, 500, &fast()))
            .await
            .unwrap()
            .unwrap();
        assert!(
            session.connections > 3,
            "seed {seed}: the server should have cut connections"
        );
        check_session(&session, 40);
    }
}

/// The cuts of `--cut-seed` fall on the wire, wherever they fall: some
/// connections end inside an event, and the bytes before the cut arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_on_the_wire_deliver_partial_events() {
    let addr = start(server::Options {
        events: 40,
        interval: Duration::ZERO,
        cut_seed: Some(42),
        ..Default::default()
    })
    .await;
    let mut partial = 0;
    let mut lengths = Vec::new();
    for _ in 0..8 {
        let body = tokio::time::timeout(GUARD, async {
            let response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
            assert_eq!(response.status(), 200, "the head always goes out");
            let mut body = Vec::new();
            let mut chunks = response.bytes_stream();
            while let Some(Ok(chunk)) = futures::StreamExt::next(&mut chunks).await {
                body.extend_from_slice(&chunk);
            }
            body
        })
        .await
        .expect("guard");
        assert!(!body.is_empty() && body.len() <= 400, "{}", body.len());
        if !body.ends_with(b"\n\n") {
            partial += 1;
        }
        lengths.push(body.len());
    }
    assert!(
        partial >= 4,
        "connections that ended inside an event: {partial} of 8 ({lengths:?})"
    );
}

async fn next<S: futures::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    futures::StreamExt::next(s).await
}

#[tokio::test]
async fn codec_over_tcp_round_trips() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = tokio::spawn(async move {
        use futures::SinkExt;
        let (tcp, _) = listener.accept().await.unwrap();
        let mut framed = FramedWrite::new(tcp, SseCodec::new());
        for i in 0..200u32 {
            let id = i.to_string();
            let data = format!("line {i}\r\nsecond\rthird");
            framed
                .feed(Output::Comment(Comment::new("ping")))
                .await
                .unwrap();
            framed
                .feed(Output::Message(
                    Message::new(&data).id(EventId::new(&id).unwrap()),
                ))
                .await
                .unwrap();
            if i % 50 == 0 {
                framed
                    .feed(Output::Retry(Retry::new(std::time::Duration::from_millis(
                        250,
                    ))))
                    .await
                    .unwrap();
            }
            // Flush often so the reader sees many partial reads.
            SinkExt::<Output<'_>>::flush(&mut framed).await.unwrap();
        }
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut framed = FramedRead::with_capacity(tcp, SseCodec::new(), 7);
    let mut events = 0u32;
    let mut retries = 0;
    while let Some(item) = tokio::time::timeout(GUARD, next(&mut framed))
        .await
        .unwrap()
    {
        match item.unwrap() {
            Ok(BytesItem::Event(ev)) => {
                assert_eq!(
                    ev.data(),
                    format!("line {events}\nsecond\nthird").as_bytes()
                );
                assert_eq!(ev.last_event_id(), events.to_string().as_bytes());
                events += 1;
            }
            Ok(BytesItem::Retry(ms)) => {
                assert_eq!(ms, std::time::Duration::from_millis(250));
                retries += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(events, 200);
    assert_eq!(retries, 4);
    assert_eq!(
        framed.decoder().decoder().retry(),
        Some(std::time::Duration::from_millis(250))
    );
}
