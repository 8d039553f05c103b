//! Feature `http-body`: response bodies for servers and proxies, as
//! `http_body::Body<Data = Bytes>` (hyper 1.x, axum via
//! `axum::body::Body::new`, anything else that takes an `http_body::Body`).
//!
//! - [`EventBody`] (servers): a `Stream` of encoder items (any
//!   [`Encode`] type: [`OwnedMessage`](crate::encode::OwnedMessage),
//!   [`Output`](crate::encode::Output), ...) encoded into one reused buffer
//!   (no allocation per event once warm), items that are ready together
//!   sent as one frame, and a keep-alive comment when nothing was sent for
//!   an interval. Items encoded once for many connections
//!   ([`Encoded`](crate::encode::Encoded)) go out as they are: each
//!   connection's frame is a clone of the same `Bytes`.
//! - [`ProxyBody`] (proxies and gateways): an upstream event-stream body
//!   decoded block by block; a closure sees each event and says pass,
//!   drop or replace; everything passed goes out byte for byte, and the
//!   client ends up with the last event id and reconnection time the
//!   upstream gave it whatever the filter decided.
//!
//! This module only drives the encoder and the [`Decoder`](crate::Decoder).

use std::boxed::Box;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};

use crate::timer::Sleeper;

use crate::encode::{Encode, Sealed, KEEP_ALIVE};

/// The response headers an event stream needs behind real deployments:
/// the media type, no caching, and no buffering by nginx-style proxies.
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];

/// Inserts [`RESPONSE_HEADERS`] into `headers` (replacing those names).
///
/// # Example
/// ```
/// let mut headers = http::HeaderMap::new();
/// ssewire::body::response_headers(&mut headers);
/// assert_eq!(headers["content-type"], "text/event-stream");
/// ```
pub fn response_headers(headers: &mut http::HeaderMap) {
    for (name, value) in RESPONSE_HEADERS {
        headers.insert(
            http::header::HeaderName::from_static(name),
            http::header::HeaderValue::from_static(value),
        );
    }
}

/// The most bytes of ready items coalesced into one frame.
const COALESCE: usize = 16 * 1024;

/// The keep-alive timer of an [`EventBody`].
struct KeepAlive<K: Sleeper> {
    interval: Duration,
    sleeper: K,
    /// The armed timer and the instant it ends at.
    timer: Option<(Instant, Pin<Box<K::Future>>)>,
}

/// No keep-alive timer (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTimer;

impl Sleeper for NoTimer {
    type Future = core::future::Pending<()>;
    fn sleep(&mut self, _: Duration) -> Self::Future {
        core::future::pending()
    }
}

impl<S, K: Sleeper> EventBody<S, K> {
    /// Notes that a frame went out, on the keep-alive timer's clock (no
    /// clock is read without a keep-alive).
    fn sent(&mut self) {
        if let Some(ka) = &self.keep_alive {
            self.last_sent = ka.sleeper.now();
        }
    }
}

/// A server's event-stream response body: see the module docs.
///
/// # Example
/// ```
/// use futures::stream;
/// use http_body_util::BodyExt;
/// use ssewire::body::EventBody;
/// use ssewire::encode::OwnedMessage;
///
/// let events = stream::iter((1..=3).map(|n| OwnedMessage::new(format!("tick {n}")).try_id(n.to_string()).unwrap()));
/// let body = EventBody::new(events);
/// let bytes = futures::executor::block_on(body.collect()).unwrap().to_bytes();
/// assert_eq!(&bytes[..], b"id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\nid: 3\ndata: tick 3\n\n");
/// ```
pub struct EventBody<S, K: Sleeper = NoTimer> {
    stream: Pin<Box<S>>,
    buf: BytesMut,
    /// An [`Encoded`](crate::encode::Encoded) item, sent as it is after
    /// `buf`.
    shared: Option<Bytes>,
    keep_alive: Option<KeepAlive<K>>,
    last_sent: Instant,
    done: bool,
}

impl<S, K: Sleeper> fmt::Debug for EventBody<S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBody")
            .field("buffered", &self.buf.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S> EventBody<S, NoTimer>
where
    S: Stream,
    S::Item: Encode,
{
    /// A body that encodes `stream`'s items, without keep-alives.
    pub fn new(stream: S) -> Self {
        EventBody {
            stream: Box::pin(stream),
            buf: BytesMut::new(),
            shared: None,
            keep_alive: None,
            last_sent: Instant::now(),
            done: false,
        }
    }

    /// Sends a keep-alive comment (`:` and a blank line) whenever nothing
    /// was sent for `interval`, waiting with `sleeper` (your runtime's
    /// timer and clock, as for [`crate::client::ReconnectingStream`]). The
    /// timer is re-armed once per interval, not per event.
    pub fn keep_alive_with<K: Sleeper>(self, interval: Duration, sleeper: K) -> EventBody<S, K> {
        let last_sent = sleeper.now();
        EventBody {
            stream: self.stream,
            buf: self.buf,
            shared: self.shared,
            keep_alive: Some(KeepAlive {
                interval,
                sleeper,
                timer: None,
            }),
            last_sent,
            done: self.done,
        }
    }

    /// [`EventBody::keep_alive_with`] tokio's timer and clock (feature
    /// `tokio`).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn keep_alive(self, interval: Duration) -> EventBody<S, crate::timer::TokioTimer> {
        self.keep_alive_with(interval, crate::timer::TokioTimer)
    }
}

impl<S, K> EventBody<S, K>
where
    S: Stream,
    S::Item: Encode,
    K: Sleeper,
{
    /// Encodes every item that is ready, up to [`COALESCE`] bytes or an
    /// item encoded already (which goes out as its own frame, uncopied).
    fn pull(&mut self, cx: &mut Context<'_>) {
        while !self.done && self.shared.is_none() && self.buf.len() < COALESCE {
            match self.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => match item.shared() {
                    Some(frame) => {
                        self.shared = Some(frame.clone()).filter(|f| !f.is_empty());
                    }
                    None => {
                        crate::encode::encode_growable(&item, &mut self.buf);
                    }
                },
                Poll::Ready(None) => self.done = true,
                Poll::Pending => return,
            }
        }
    }

    /// The keep-alive due now (`Ready`), or `Pending` with the timer armed.
    fn poll_keep_alive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(ka) = self.keep_alive.as_mut() else {
            return Poll::Pending;
        };
        let due = self.last_sent + ka.interval;
        let now = ka.sleeper.now();
        if now >= due {
            ka.timer = None;
            return Poll::Ready(());
        }
        if ka.timer.as_ref().is_none_or(|(at, _)| *at != due) {
            ka.timer = Some((due, Box::pin(ka.sleeper.sleep(due - now))));
        }
        let Some((_, timer)) = ka.timer.as_mut() else {
            return Poll::Pending;
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                ka.timer = None;
                // The timer fired: re-check (an event may have gone out
                // since it was armed, moving the deadline).
                if ka.sleeper.now() >= self.last_sent + ka.interval {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S, K> Body for EventBody<S, K>
where
    S: Stream,
    S::Item: Encode,
    K: Sleeper + Unpin,
{
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        this.pull(cx);
        if this.buf.is_empty() {
            if let Some(frame) = this.shared.take() {
                this.sent();
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.poll_keep_alive(cx) {
                Poll::Ready(()) => this.buf.extend_from_slice(KEEP_ALIVE),
                Poll::Pending => return Poll::Pending,
            }
        }
        this.sent();
        Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))))
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.buf.is_empty() && self.shared.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "tower")]
mod layer;
mod proxy;
mod relay;
mod resume;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{FilterFuture, Filtered, SseFilter, SseFilterLayer};
pub use proxy::{ProxyBody, Verdict};
pub use resume::{ReconnectingProxyBody, UpstreamConfig};
