//! Feature `tower`: [`SseFilterLayer`], event filtering for any tower
//! (axum, hyper-util, tonic...) HTTP service: every `text/event-stream`
//! response goes through a [`ProxyBody`](super::ProxyBody) with the filter,
//! every other response passes untouched.

use std::boxed::Box;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::vec::Vec;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{ProxyBody, Verdict};
use crate::decoder::Config;
use crate::Event;

/// The request header, parsed once (a `&str` key is parsed per lookup).
const LAST_EVENT_ID: http::HeaderName = http::HeaderName::from_static("last-event-id");

/// A `tower` layer that applies an event filter (pass, drop, replace: see
/// [`Verdict`]) to every `text/event-stream` response of the service it
/// wraps, as [`ProxyBody`](super::ProxyBody) does, and leaves every other
/// response as it is (the cost there: one header lookup). The request's
/// `Last-Event-ID` seeds the filter's view of the last event id.
///
/// # Example
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use axum::{routing::get, Router};
/// use http_body_util::BodyExt;
/// use ssewire::body::{SseFilterLayer, Verdict};
/// use tower::ServiceExt;
///
/// let events = || async {
///     ([("content-type", "text/event-stream")], "event: secret\ndata: x\n\ndata: hello\n\n")
/// };
/// let app = Router::new()
///     .route("/events", get(events))
///     .route("/json", get(|| async { "{\"ok\":true}" }))
///     .layer(SseFilterLayer::new(|ev: &ssewire::Event<'_>| match ev.event_type() {
///         b"secret" => Verdict::Drop,
///         _ => Verdict::Pass,
///     }));
/// let request = |path| http::Request::get(path).body(axum::body::Body::empty()).unwrap();
/// let response = app.clone().oneshot(request("/events")).await.unwrap();
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&body[..], b"data: hello\n\n");
/// let response = app.oneshot(request("/json")).await.unwrap();
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&body[..], b"{\"ok\":true}");
/// # });
/// ```
#[derive(Clone)]
pub struct SseFilterLayer<F> {
    filter: F,
    config: Config,
}

impl<F> fmt::Debug for SseFilterLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseFilterLayer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<F> SseFilterLayer<F>
where
    F: Fn(&Event<'_>) -> Verdict + Clone,
{
    /// Filters with `filter`, default limits.
    pub fn new(filter: F) -> Self {
        Self::with_config(filter, &Config::default())
    }

    /// Filters with `filter` and the decoder's `config` (its raw frame
    /// limit, or the default one, bounds a block).
    pub fn with_config(filter: F, config: &Config) -> Self {
        SseFilterLayer {
            filter,
            config: config.clone(),
        }
    }
}

impl<S, F: Clone> Layer<S> for SseFilterLayer<F> {
    type Service = SseFilter<S, F>;

    fn layer(&self, inner: S) -> SseFilter<S, F> {
        SseFilter {
            inner,
            filter: self.filter.clone(),
            config: self.config.clone(),
        }
    }
}

/// The service [`SseFilterLayer`] makes: see there.
#[derive(Clone)]
pub struct SseFilter<S, F> {
    inner: S,
    filter: F,
    config: Config,
}

impl<S: fmt::Debug, F> fmt::Debug for SseFilter<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseFilter")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, F, ReqBody, ResBody> Service<http::Request<ReqBody>> for SseFilter<S, F>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    F: Fn(&Event<'_>) -> Verdict + Clone + Unpin,
    ResBody: Body<Data = Bytes>,
{
    type Response = http::Response<Filtered<ResBody, F>>;
    type Error = S::Error;
    type Future = FilterFuture<S::Future, F>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let last_event_id = req
            .headers()
            .get(&LAST_EVENT_ID)
            .map(|v| v.as_bytes().to_vec());
        FilterFuture {
            inner: self.inner.call(req),
            filter: Some((self.filter.clone(), last_event_id)),
            config: self.config.clone(),
        }
    }
}

pin_project! {
    /// The response future of [`SseFilter`].
    pub struct FilterFuture<Fut, F> {
        #[pin]
        inner: Fut,
        filter: Option<(F, Option<Vec<u8>>)>,
        config: Config,
    }
}

impl<Fut, F> fmt::Debug for FilterFuture<Fut, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterFuture").finish_non_exhaustive()
    }
}

impl<Fut, F, ResBody, E> Future for FilterFuture<Fut, F>
where
    Fut: Future<Output = Result<http::Response<ResBody>, E>>,
    F: Fn(&Event<'_>) -> Verdict + Unpin,
    ResBody: Body<Data = Bytes>,
{
    type Output = Result<http::Response<Filtered<ResBody, F>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let is_stream = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| crate::client::is_event_stream(v.as_bytes()));
        let Some((filter, last_event_id)) = this.filter.take().filter(|_| is_stream) else {
            return Poll::Ready(Ok(response.map(|body| Filtered::Passed { body })));
        };
        let mut response = response;
        // Filtering changes the length.
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
        Poll::Ready(Ok(response.map(|body| {
            let mut proxy = ProxyBody::with_config(body, filter, this.config);
            if let Some(id) = last_event_id {
                // An id no stream could have set is not the client's.
                let _ = proxy.set_last_event_id(&id);
            }
            Filtered::Filtered {
                body: Box::pin(proxy),
            }
        })))
    }
}

// pin-project-lite takes no docs on fields; the variants say it all.
#[allow(missing_docs)]
mod filtered {
    use super::*;
    pin_project! {
        /// The response body of [`SseFilter`]: an event stream filtered, or
        /// any other body as it was.
        #[project = FilteredProj]
        pub enum Filtered<B, F> {
            /// Not an event stream: untouched.
            Passed {
                #[pin]
                body: B,
            },
            /// An event stream, filtered (boxed: a proxy body is large, and
            /// every response that is not a stream moves this type).
            Filtered {
                body: Pin<Box<ProxyBody<B, F>>>,
            },
        }
    }
}
pub use filtered::Filtered;
use filtered::FilteredProj;

impl<B, F> fmt::Debug for Filtered<B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filtered::Passed { .. } => f.write_str("Filtered::Passed"),
            Filtered::Filtered { body } => body.fmt(f),
        }
    }
}

impl<B, F> Body for Filtered<B, F>
where
    B: Body<Data = Bytes>,
    F: FnMut(&Event<'_>) -> Verdict + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            FilteredProj::Passed { body } => body.poll_frame(cx),
            FilteredProj::Filtered { body } => body.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Filtered::Passed { body } => body.is_end_stream(),
            Filtered::Filtered { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Filtered::Passed { body } => body.size_hint(),
            Filtered::Filtered { .. } => SizeHint::default(),
        }
    }
}
