//! `SseFilterLayer` in an axum router: event streams are filtered (what
//! passes, byte for byte), every other response is untouched, headers
//! included.
#![cfg(all(feature = "tower", feature = "tokio"))]

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use ssewire::body::{SseFilterLayer, Verdict};
use ssewire::encode::OwnedMessage;
use tower::ServiceExt;

const STREAM: &str = ": hi\r\n\r\nid: 1\r\nevent: secret\r\ndata: x\r\n\r\nevent: shout\ndata: hey\n\ndata: keep\r\nx-custom: kept\r\n\r\n";
const JSON: &str = "{\"events\":[\"event: secret\\ndata: x\\n\\n\"]}";

fn app() -> Router {
    Router::new()
        .route(
            "/events",
            get(|| async {
                (
                    [("content-type", "text/event-stream; charset=utf-8")],
                    STREAM,
                )
            }),
        )
        .route(
            "/json",
            get(|| async { ([("content-type", "application/json")], JSON) }),
        )
        .layer(SseFilterLayer::new(|ev: &ssewire::Event<'_>| {
            match ev.event_type() {
                b"secret" => Verdict::Drop,
                b"shout" => Verdict::Replace(
                    OwnedMessage::new(ev.data_lossy().to_uppercase())
                        .try_event_type("shout")
                        .unwrap(),
                ),
                _ => Verdict::Pass,
            }
        }))
}

async fn get_path(path: &str, last_event_id: Option<&str>) -> (http::HeaderMap, bytes::Bytes) {
    let mut req = http::Request::get(path);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let response = app()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let headers = response.headers().clone();
    (
        headers,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn event_streams_are_filtered_and_what_passes_is_byte_exact() {
    let (headers, body) = get_path("/events", None).await;
    assert_eq!(
        &body[..],
        &b": hi\r\n\r\nid: 1\n\nevent: shout\ndata: HEY\n\ndata: keep\r\nx-custom: kept\r\n\r\n"[..]
    );
    assert_eq!(headers["content-type"], "text/event-stream; charset=utf-8");
    assert!(
        headers.get("content-length").is_none(),
        "the length changed"
    );
}

#[tokio::test]
async fn other_responses_are_untouched() {
    let (headers, body) = get_path("/json", Some("9")).await;
    assert_eq!(&body[..], JSON.as_bytes());
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["content-length"], JSON.len().to_string());
}
