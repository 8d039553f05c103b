//! Feature `axum`: a handler returns `EventBody` directly; through axum's
//! router the response has the event-stream headers, the events, and
//! keep-alives on the interval (tokio's paused clock: no waiting).
#![cfg(all(feature = "axum", feature = "tokio"))]

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream, StreamExt};
use http_body_util::BodyExt;
use ssewire::body::EventBody;
use ssewire::client::TokioTimer;
use ssewire::encode::OwnedMessage;
use tower::ServiceExt;

/// Two events, then nothing for ever.
async fn events() -> EventBody<impl Stream<Item = OwnedMessage>, TokioTimer> {
    let two = stream::iter([OwnedMessage::new("one"), OwnedMessage::new("two")]);
    EventBody::new(two.chain(stream::pending())).keep_alive(Duration::from_secs(15))
}

#[tokio::test(start_paused = true)]
async fn a_handler_returns_event_body_with_headers_and_keep_alives() {
    let app = Router::new().route("/events", get(events));
    let request = http::Request::get("/events")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut body = response.into_body();
    let mut frames = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(46), async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                frames.push(data);
            }
        }
    })
    .await;
    assert_eq!(&frames[0][..], b"data: one\n\ndata: two\n\n");
    // Then a keep-alive every 15 s: three in 46 s.
    assert_eq!(frames.len(), 4, "{frames:?}");
    assert!(frames[1..].iter().all(|f| &f[..] == b":\n\n"));
}
