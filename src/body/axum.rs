//! Feature `axum`: the bodies are axum responses by themselves, with the
//! headers an event stream needs ([`super::RESPONSE_HEADERS`]), so that a
//! handler returns one directly. Depends on `axum-core` only.

use bytes::{Buf, Bytes};
use futures_core::Stream;

use axum_core::body::Body as AxumBody;
use axum_core::response::{IntoResponse, Response};

use super::{response_headers, EventBody, ProxyBody, ReconnectingProxyBody, Verdict};
use crate::client::Connector;
use crate::encode::Encode;
use crate::timer::Sleeper;
use crate::Event;

/// The response: `body`, with [`super::RESPONSE_HEADERS`].
fn event_stream<B>(body: B) -> Response
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum_core::BoxError>,
{
    let mut response = Response::new(AxumBody::new(body));
    response_headers(response.headers_mut());
    response
}

/// An axum handler returns an [`EventBody`] as it is: status 200,
/// `Content-Type: text/event-stream`, `Cache-Control: no-cache`,
/// `X-Accel-Buffering: no`.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use axum::{routing::get, Router};
/// use futures::stream::{self, Stream};
/// use ssewire::body::EventBody;
/// use ssewire::client::TokioTimer;
/// use ssewire::encode::OwnedMessage;
///
/// async fn events() -> EventBody<impl Stream<Item = OwnedMessage>, TokioTimer> {
///     let ticks = stream::iter((1..=3).map(|n| OwnedMessage::new(format!("tick {n}"))));
///     EventBody::new(ticks).keep_alive(Duration::from_secs(15))
/// }
///
/// let app: Router = Router::new().route("/events", get(events));
/// # let _ = app;
/// ```
impl<S, K> IntoResponse for EventBody<S, K>
where
    S: Stream + Send + 'static,
    S::Item: Encode,
    K: Sleeper + Unpin + Send + 'static,
    K::Future: Send,
{
    fn into_response(self) -> Response {
        event_stream(self)
    }
}

/// A [`ProxyBody`] is an axum response too (see [`EventBody`]'s).
impl<B, F> IntoResponse for ProxyBody<B, F>
where
    B: http_body::Body + Send + 'static,
    B::Data: Buf,
    B::Error: Into<axum_core::BoxError>,
    F: FnMut(&Event<'_>) -> Verdict + Unpin + Send + 'static,
{
    fn into_response(self) -> Response {
        event_stream(self)
    }
}

/// A [`ReconnectingProxyBody`] is an axum response too (see
/// [`EventBody`]'s).
impl<C, F, S> IntoResponse for ReconnectingProxyBody<C, F, S>
where
    C: Connector + Unpin + Send + 'static,
    C::Future: Send,
    C::Body: Send,
    F: FnMut(&Event<'_>) -> Verdict + Unpin + Send + 'static,
    S: Sleeper + Unpin + Send + 'static,
    S::Future: Send,
{
    fn into_response(self) -> Response {
        event_stream(self)
    }
}
