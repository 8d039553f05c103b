//! An SSE endpoint in axum with ssewire's [`EventBody`], next to the same
//! endpoint with axum's own `Sse`, for comparison. Both stream the same
//! events with keep-alives; ssewire's encodes into one reused buffer (no
//! allocation per event) and refuses values that would forge fields at the
//! type level (`OwnedMessage::event_type` / `id` return `Result`).
//!
//! With the `axum` feature, `EventBody` is an axum response by itself: the
//! handler returns it, headers included.
//!
//! ```sh
//! cargo run --example axum --features axum,tokio
//! curl -N http://127.0.0.1:8080/ssewire
//! curl -N http://127.0.0.1:8080/axum
//! ```

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream, StreamExt};
use ssewire::body::EventBody;
use ssewire::encode::OwnedMessage;

/// Ticks, one a second.
fn ticks() -> impl Stream<Item = u64> + Send + 'static {
    stream::iter(1..).then(|n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        n
    })
}

/// With ssewire: a body over a stream of messages, returned as it is.
async fn with_ssewire() -> impl IntoResponse {
    let events = ticks().map(|n| {
        OwnedMessage::new(format!("{{\"tick\":{n}}}"))
            .try_event_type("tick")
            .and_then(|m| m.try_id(n.to_string()))
            .expect("no line breaks in these values")
    });
    EventBody::new(events).keep_alive(Duration::from_secs(15))
}

/// With axum's own `Sse`.
async fn with_axum() -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = ticks().map(|n| {
        Ok(Event::default()
            .event("tick")
            .id(n.to_string())
            .data(format!("{{\"tick\":{n}}}")))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/ssewire", get(with_ssewire))
        .route("/axum", get(with_axum));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("http://{}/ssewire and /axum", listener.local_addr()?);
    axum::serve(listener, app).await
}
