//! Features `futures` + `std`: [`ReconnectingStream`], the [`EventSource`]
//! machine driven over any HTTP stack you plug in (a closure that sends the
//! request) and any runtime's timer (a closure that sleeps).
//!
//! This module only drives the state machine and the `bytes` layer; the
//! rules live there.

use std::boxed::Box;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use std::vec::Vec;

use bytes::Bytes;
use futures_core::Stream;

use super::{Action, Cause, ClientConfig, EventSource, Response, Signal};
use crate::bytes::{BytesEvent, Sharer};
use crate::error::DecodeError;

/// The request headers for one attempt, owned so that a request future can
/// keep them: `Accept`, `Cache-Control` and, when set, `Last-Event-ID`.
/// Names are lower case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    headers: Vec<(&'static str, Vec<u8>)>,
}

impl RequestHeaders {
    /// The headers, as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[u8])> + '_ {
        self.headers.iter().map(|(n, v)| (*n, &v[..]))
    }

    /// The `Last-Event-ID` value, when one is sent.
    #[must_use]
    pub fn last_event_id(&self) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| *n == "last-event-id")
            .map(|(_, v)| v)
    }
}

/// A response as the connector hands it over: status, the headers the
/// rules need, and the body as a stream of chunks.
#[derive(Debug)]
pub struct Opened<B> {
    /// The HTTP status (after redirects).
    pub status: u16,
    /// The `Content-Type` header value.
    pub content_type: Option<Vec<u8>>,
    /// The `Retry-After` header value, if any.
    pub retry_after: Option<Vec<u8>>,
    /// The body's chunks.
    pub body: B,
}

/// What a [`ReconnectingStream`] reports besides events.
#[derive(Debug)]
pub enum ClientError<E> {
    /// The connection failed or ended and a new attempt is due after
    /// `delay`; the stream goes on. `source` is the transport's error, if
    /// one caused it.
    Reconnecting {
        /// What happened.
        cause: Cause,
        /// The wait before the next attempt.
        delay: Duration,
        /// The transport error, if any.
        source: Option<E>,
    },
    /// A decoder limit dropped an event; the stream goes on.
    Decode(DecodeError),
    /// The source closed for good (a failed response, the attempt limit,
    /// [`ReconnectingStream::close`]); the stream ends after this.
    Closed {
        /// Why.
        cause: Cause,
        /// The transport error, if one was last seen.
        source: Option<E>,
    },
}

impl<E: fmt::Display> fmt::Display for ClientError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Reconnecting {
                cause,
                delay,
                source,
            } => {
                write!(f, "connection lost ({cause:?}")?;
                if let Some(e) = source {
                    write!(f, ": {e}")?;
                }
                write!(f, "); reconnecting in {} ms", delay.as_millis())
            }
            ClientError::Decode(e) => e.fmt(f),
            ClientError::Closed { cause, source } => {
                write!(f, "event source closed ({cause:?}")?;
                if let Some(e) = source {
                    write!(f, ": {e}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ClientError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Reconnecting {
                source: Some(e), ..
            }
            | ClientError::Closed {
                source: Some(e), ..
            } => Some(e),
            ClientError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

/// How a [`ReconnectingStream`] opens a connection: any
/// `FnMut(RequestHeaders) -> impl Future<Output = Result<Opened<B>, E>>`
/// is one, or implement it for a type of your own.
pub trait Connector {
    /// The body's chunks.
    type Body: Stream<Item = Result<Bytes, Self::Error>>;
    /// The transport's error.
    type Error;
    /// The request in flight.
    type Future: Future<Output = Result<Opened<Self::Body>, Self::Error>>;
    /// Sends a GET with `headers` (and whatever else the request needs).
    fn connect(&mut self, headers: RequestHeaders) -> Self::Future;
}

impl<C, F, B, E> Connector for C
where
    C: FnMut(RequestHeaders) -> F,
    F: Future<Output = Result<Opened<B>, E>>,
    B: Stream<Item = Result<Bytes, E>>,
{
    type Body = B;
    type Error = E;
    type Future = F;
    fn connect(&mut self, headers: RequestHeaders) -> F {
        self(headers)
    }
}

/// How a [`ReconnectingStream`] (or a server body's keep-alive) waits and
/// tells the time: any `FnMut(Duration) -> impl Future<Output = ()>` (your
/// runtime's `sleep`, with the system clock), or a type of your own (for
/// example [`TokioTimer`](crate::client::TokioTimer), whose clock follows
/// tokio's, paused clocks in tests included).
pub trait Sleeper {
    /// The wait in flight.
    type Future: Future<Output = ()>;
    /// Waits for `delay`.
    fn sleep(&mut self, delay: Duration) -> Self::Future;
    /// The current time on the clock `sleep` waits by (default: the
    /// system's monotonic clock).
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// tokio's timer and clock (feature `tokio`): `tokio::time::sleep`, and
/// `tokio::time::Instant`, so a paused test clock drives keep-alives and
/// reconnection delays.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Sleeper for TokioTimer {
    type Future = tokio::time::Sleep;
    fn sleep(&mut self, delay: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(delay)
    }
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl<S, SF> Sleeper for S
where
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    type Future = SF;
    fn sleep(&mut self, delay: Duration) -> SF {
        self(delay)
    }
}

enum Conn<F, B> {
    None,
    Connecting(Pin<Box<F>>),
    Streaming(Pin<Box<B>>),
}

/// A `Stream` of events that follows the EventSource rules over any HTTP
/// stack: `connect` sends a GET with the given headers and resolves to the
/// response ([`Opened`]); `sleep` waits (your runtime's timer). Requests
/// are rebuilt for every attempt with the current `Last-Event-ID`.
///
/// Items: events, and [`ClientError`]s — `Reconnecting` and `Decode` are
/// informational (the stream goes on), `Closed` is the last item.
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use futures::{executor::block_on, stream, StreamExt};
/// use ssewire::client::{ClientConfig, Opened, ReconnectingStream, RequestHeaders};
///
/// // A stand-in HTTP stack: answers every request with one event and ends
/// // the body, so the client reconnects (with `Last-Event-ID`).
/// let mut n = 0;
/// let connect = move |headers: RequestHeaders| {
///     n += 1;
///     let body = format!("id: {n}\ndata: hello {n}\n\n");
///     let resumed = headers.last_event_id().map(<[u8]>::to_vec);
///     async move {
///         assert_eq!(resumed, (n > 1).then(|| (n - 1).to_string().into_bytes()));
///         Ok::<_, std::io::Error>(Opened {
///             status: 200,
///             content_type: Some(b"text/event-stream".to_vec()),
///             retry_after: None,
///             body: stream::iter([Ok(Bytes::from(body))]),
///         })
///     }
/// };
/// let sleep = |_delay| async {}; // your runtime's timer
/// let events = ReconnectingStream::new(&ClientConfig::default(), connect, sleep);
/// let got: Vec<_> = block_on(events.filter_map(|r| async { r.ok() }).take(3).collect());
/// assert_eq!(&got[2].data()[..], b"hello 3");
/// ```
pub struct ReconnectingStream<C: Connector, S: Sleeper> {
    es: EventSource,
    sharer: Sharer,
    connect: C,
    sleep: S,
    conn: Conn<C::Future, C::Body>,
    /// The timer in flight and the instant (since `start`) it ends at.
    timer: Option<(Duration, Pin<Box<S::Future>>)>,
    start: Instant,
    queue: VecDeque<Result<BytesEvent, ClientError<C::Error>>>,
    /// The transport error behind the next `Reconnecting` or `Closed`.
    source: Option<C::Error>,
    done: bool,
}

impl<C: Connector, S: Sleeper> fmt::Debug for ReconnectingStream<C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingStream")
            .field("state", &self.es)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

type Queue<E> = VecDeque<Result<BytesEvent, ClientError<E>>>;

impl<C: Connector, S: Sleeper> ReconnectingStream<C, S> {
    /// Events from the endpoint `connect` reaches, reconnecting as the
    /// rules say, waiting with `sleep`.
    pub fn new(config: &ClientConfig, connect: C, sleep: S) -> Self {
        let start = sleep.now();
        ReconnectingStream {
            es: EventSource::new(config),
            sharer: Sharer::new(&config.decoder),
            connect,
            sleep,
            conn: Conn::None,
            timer: None,
            start,
            queue: VecDeque::new(),
            source: None,
            done: false,
        }
    }

    /// Starts from this last event id (the first request sends it).
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.es.set_last_event_id(id)
    }

    /// The state machine: ready state, last event id, reconnection time.
    #[must_use]
    pub fn state(&self) -> &EventSource {
        &self.es
    }

    /// Closes for good: the connection is dropped, no further request is
    /// made, nothing more is dispatched (events already decoded but not yet
    /// taken are discarded, as a browser's `close()` does), and the stream
    /// ends after a `Closed` item.
    pub fn close(&mut self) {
        self.es.close();
        self.conn = Conn::None;
        self.timer = None;
        self.queue.clear();
        self.queue.push_back(Err(ClientError::Closed {
            cause: Cause::Closed,
            source: None,
        }));
    }

    fn now(&self) -> Duration {
        self.sleep.now().saturating_duration_since(self.start)
    }

    /// Files what the machine said.
    fn take_signal(
        queue: &mut Queue<C::Error>,
        source: &mut Option<C::Error>,
        signal: Signal<'_>,
        sharer: &mut Sharer,
        chunk: &Bytes,
    ) {
        match signal {
            Signal::Event(ev) => queue.push_back(Ok(sharer.event(chunk, ev, None))),
            Signal::Dropped(e) => queue.push_back(Err(ClientError::Decode(e))),
            Signal::Error {
                cause,
                retry_in: Some(delay),
            } => queue.push_back(Err(ClientError::Reconnecting {
                cause,
                delay,
                source: source.take(),
            })),
            Signal::Error {
                cause,
                retry_in: None,
            } => queue.push_back(Err(ClientError::Closed {
                cause,
                source: source.take(),
            })),
            // Open and retry changes are the machine's business.
            _ => {}
        }
    }

    /// Sends a new request, with the machine's headers.
    fn start_connection(&mut self) {
        self.conn = Conn::None;
        let headers = RequestHeaders {
            headers: self
                .es
                .request_headers()
                .map(|(n, v)| (n, v.to_vec()))
                .collect(),
        };
        self.conn = Conn::Connecting(Box::pin(self.connect.connect(headers)));
    }

    /// Drives the connection in flight: the response, then the body.
    /// Returns whether anything happened (the machine must be polled
    /// again).
    fn poll_connection(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.conn {
            Conn::Connecting(fut) => match fut.as_mut().poll(cx) {
                Poll::Ready(Ok(opened)) => self.opened(opened),
                Poll::Ready(Err(e)) => self.lost(Some(e)),
                Poll::Pending => return false,
            },
            Conn::Streaming(body) => match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => self.chunk(&chunk),
                Poll::Ready(Some(Err(e))) => self.lost(Some(e)),
                Poll::Ready(None) => self.ended(),
                Poll::Pending => return false,
            },
            // The machine expects a connection we no longer hold: report
            // it as lost so that it reconnects.
            Conn::None => self.lost(None),
        }
        true
    }

    /// The response arrived: the machine decides whether it opens.
    fn opened(&mut self, opened: Opened<C::Body>) {
        let response = Response::new(opened.status, opened.content_type.as_deref())
            .retry_after(opened.retry_after.as_deref());
        let now = self.now();
        let (queue, source, sharer) = (&mut self.queue, &mut self.source, &mut self.sharer);
        let none = Bytes::new();
        self.es.on_response(now, &response, |s| {
            Self::take_signal(queue, source, s, sharer, &none);
        });
        self.conn = match self.es.ready_state() {
            super::ReadyState::Open => Conn::Streaming(Box::pin(opened.body)),
            _ => Conn::None,
        };
    }

    /// Body bytes: events out, sharing the chunk.
    fn chunk(&mut self, chunk: &Bytes) {
        let now = self.now();
        let (queue, source, sharer) = (&mut self.queue, &mut self.source, &mut self.sharer);
        self.es.on_body(now, chunk, |s| {
            Self::take_signal(queue, source, s, sharer, chunk);
        });
    }

    /// The transport failed (before or after the response).
    fn lost(&mut self, error: Option<C::Error>) {
        self.source = error;
        self.conn = Conn::None;
        let now = self.now();
        let (queue, source, sharer) = (&mut self.queue, &mut self.source, &mut self.sharer);
        let none = Bytes::new();
        self.es.on_error(now, |s| {
            Self::take_signal(queue, source, s, sharer, &none);
        });
    }

    /// The body ended.
    fn ended(&mut self) {
        self.conn = Conn::None;
        let now = self.now();
        let (queue, source, sharer) = (&mut self.queue, &mut self.source, &mut self.sharer);
        let none = Bytes::new();
        self.es.on_end(now, |s| {
            Self::take_signal(queue, source, s, sharer, &none);
        });
    }

    /// Carries out one action of the connection rules; `true` when there
    /// is nothing to do but wait to be woken (`poll_next` is pending).
    fn act(&mut self, action: Action, cx: &mut Context<'_>) -> bool {
        match action {
            Action::Closed => {
                self.conn = Conn::None;
                if self.queue.is_empty() {
                    self.done = true;
                }
                false
            }
            Action::Connect => {
                self.start_connection();
                false
            }
            Action::Wait { until } => {
                self.conn = Conn::None;
                self.poll_timer(until, cx).is_pending()
            }
            Action::Read { deadline } => {
                if self.poll_connection(cx) {
                    return false;
                }
                // Nothing yet: wake at the idle deadline, if any.
                match deadline {
                    Some(deadline) => self.poll_timer(deadline, cx).is_pending(),
                    None => true,
                }
            }
        }
    }

    /// Polls the timer for `until`, starting it if needed.
    fn poll_timer(&mut self, until: Duration, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.now();
        if until <= now {
            self.timer = None;
            return Poll::Ready(());
        }
        if self.timer.as_ref().is_none_or(|(at, _)| *at != until) {
            self.timer = Some((until, Box::pin(self.sleep.sleep(until - now))));
        }
        let (_, timer) = self.timer.as_mut().expect("set above");
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timer = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<C, S> Stream for ReconnectingStream<C, S>
where
    C: Connector + Unpin,
    C::Error: Unpin,
    S: Sleeper + Unpin,
{
    type Item = Result<BytesEvent, ClientError<C::Error>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // The futures and the body are pinned in boxes; the rest is Unpin.
        let this = self.get_mut();
        loop {
            if let Some(item) = this.queue.pop_front() {
                if matches!(item, Err(ClientError::Closed { .. })) {
                    this.done = true;
                }
                return Poll::Ready(Some(item));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let none = Bytes::new();
            let now = this.now();
            let (queue, source, sharer) = (&mut this.queue, &mut this.source, &mut this.sharer);
            let action = this.es.poll(now, |s| {
                Self::take_signal(queue, source, s, sharer, &none);
            });
            if this.act(action, cx) {
                return Poll::Pending;
            }
        }
    }
}
