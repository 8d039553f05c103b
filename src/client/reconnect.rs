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
use std::time::Duration;
use std::vec;
use std::vec::Vec;

use bytes::Bytes;
use futures_core::Stream;

use super::{Action, Cause, ClientConfig, EventSource, ReadyState, Response, Signal};
use crate::bytes::{BytesEvent, Chunk, Sharer};
use crate::error::DecodeError;
use crate::timer::{Sleeper, Timer};

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

    /// The headers of an EventSource request that resumes after
    /// `last_event_id` (sent when it is non-empty, a valid header value
    /// and at most [`ClientConfig::DEFAULT_MAX_LAST_EVENT_ID`] bytes), for
    /// a request you send yourself (a proxy's first one, say).
    ///
    /// # Example
    /// ```
    /// use ssewire::client::RequestHeaders;
    /// let h = RequestHeaders::new(b"42");
    /// assert_eq!(h.last_event_id(), Some(&b"42"[..]));
    /// assert!(h.iter().any(|(n, v)| n == "accept" && v == b"text/event-stream"));
    /// assert_eq!(RequestHeaders::new(b"").last_event_id(), None);
    /// ```
    #[must_use]
    pub fn new(last_event_id: &[u8]) -> Self {
        let send_id = super::sendable_id(last_event_id, ClientConfig::DEFAULT_MAX_LAST_EVENT_ID);
        let mut headers = vec![
            ("accept", b"text/event-stream".to_vec()),
            ("cache-control", b"no-cache".to_vec()),
        ];
        if send_id {
            headers.push(("last-event-id", last_event_id.to_vec()));
        }
        RequestHeaders { headers }
    }

    /// The headers `machine` says to send now.
    pub(crate) fn from_machine(machine: &EventSource) -> Self {
        RequestHeaders {
            headers: machine
                .request_headers()
                .map(|(n, v)| (n, v.to_vec()))
                .collect(),
        }
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

/// What a [`ReconnectingStream`] hands out once its signals are asked for
/// ([`ReconnectingStream::with_signals`]): events, and what the connection
/// rules said besides.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientItem {
    /// An event.
    Event(BytesEvent),
    /// A comment line's text (the colon and one leading space stripped),
    /// when the decoder reports comments ([`ClientConfig::comments`]).
    Comment(Bytes),
    /// A response opened the stream (the spec's `open` event): the client
    /// is connected.
    Open,
    /// The server set the reconnection time (clamped to
    /// [`ClientConfig::retry_range`]).
    Retry(Duration),
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
                write!(f, "connection lost: {cause}")?;
                if let Some(e) = source {
                    write!(f, " ({e})")?;
                }
                write!(f, "; reconnecting in {} ms", delay.as_millis())
            }
            ClientError::Decode(e) => write!(f, "an event was dropped: {e}"),
            ClientError::Closed { cause, source } => {
                write!(f, "closed for good: {cause}")?;
                if let Some(e) = source {
                    write!(f, " ({e})")?;
                }
                Ok(())
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

    /// Whether `error` ends the source for good, with this cause, instead
    /// of being retried (default: every transport error is retried, as the
    /// spec says). For errors no attempt can fix, such as a redirect
    /// without `Location` or a redirect loop ([`Cause::Redirect`]).
    fn fatal(&self, error: &Self::Error) -> Option<Cause> {
        let _ = error;
        None
    }
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
/// assert_eq!(got[2].data(), b"hello 3");
/// ```
pub struct ReconnectingStream<C: Connector, S: Sleeper> {
    es: EventSource,
    /// Queue comments, opens and retry changes too.
    signals: bool,
    sharer: Sharer,
    connect: C,
    timer: Timer<S>,
    conn: Conn<C::Future, C::Body>,
    queue: VecDeque<Result<ClientItem, ClientError<C::Error>>>,
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

type Queue<E> = VecDeque<Result<ClientItem, ClientError<E>>>;

impl<C: Connector, S: Sleeper> ReconnectingStream<C, S> {
    /// Events from the endpoint `connect` reaches, reconnecting as the
    /// rules say, waiting with `sleep`.
    pub fn new(config: &ClientConfig, connect: C, sleep: S) -> Self {
        ReconnectingStream {
            es: EventSource::new(config),
            signals: false,
            sharer: Sharer::new(&config.decoder),
            connect,
            timer: Timer::new(sleep),
            conn: Conn::None,
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

    /// The spec's `readyState`: connecting, open, or closed.
    #[must_use]
    pub fn ready_state(&self) -> ReadyState {
        self.es.ready_state()
    }

    /// Hands out comments, opens and retry changes besides events
    /// ([`ClientItem`]). Comments also need the decoder to report them
    /// ([`ClientConfig::comments`]).
    ///
    /// # Example
    /// ```
    /// use bytes::Bytes;
    /// use futures::{executor::block_on, stream, StreamExt};
    /// use ssewire::client::{ClientConfig, ClientItem, Opened, ReconnectingStream, RequestHeaders};
    ///
    /// let connect = |_: RequestHeaders| async {
    ///     Ok::<_, std::io::Error>(Opened {
    ///         status: 200,
    ///         content_type: Some(b"text/event-stream".to_vec()),
    ///         retry_after: None,
    ///         body: stream::iter([Ok(Bytes::from_static(b": hello\nretry: 500\ndata: x\n\n"))]),
    ///     })
    /// };
    /// let mut config = ClientConfig::default();
    /// config.comments(true);
    /// let items = ReconnectingStream::new(&config, connect, |_| async {}).with_signals();
    /// let got: Vec<_> = block_on(items.take(4).collect());
    /// assert!(matches!(got[0], Ok(ClientItem::Open)));
    /// assert!(matches!(&got[1], Ok(ClientItem::Comment(c)) if c == "hello"));
    /// assert!(matches!(got[2], Ok(ClientItem::Retry(d)) if d.as_millis() == 500));
    /// assert!(matches!(&got[3], Ok(ClientItem::Event(ev)) if ev.data() == b"x"));
    /// ```
    #[must_use]
    pub fn with_signals(mut self) -> ClientItems<C, S> {
        self.signals = true;
        ClientItems(self)
    }

    /// Drops the current connection and reconnects at once, with the
    /// current last event id (a partial event is dropped; events already
    /// received and not yet taken stay). For a configuration change, a
    /// token refresh, or a connection you know is stale; unlike a failure
    /// it does not grow the backoff. A closed stream stays closed.
    pub fn restart(&mut self) {
        self.restart_after(Duration::ZERO);
    }

    /// [`ReconnectingStream::restart`], reconnecting after `delay`.
    pub fn restart_after(&mut self, delay: Duration) {
        let now = self.now();
        self.es.restart(now, delay);
        self.conn = Conn::None;
        self.timer.disarm();
    }

    /// Closes for good: the connection is dropped, no further request is
    /// made, nothing more is dispatched (events already decoded but not yet
    /// taken are discarded, as a browser's `close()` does), and the stream
    /// ends after a `Closed` item.
    pub fn close(&mut self) {
        self.es.close();
        self.conn = Conn::None;
        self.timer.disarm();
        self.queue.clear();
        self.queue.push_back(Err(ClientError::Closed {
            cause: Cause::Closed,
            source: None,
        }));
    }

    fn now(&self) -> Duration {
        self.timer.now()
    }

    /// Files what the machine said.
    fn take_signal(
        queue: &mut Queue<C::Error>,
        source: &mut Option<C::Error>,
        signal: Signal<'_>,
        (sharer, signals): (&mut Sharer, bool),
        chunk: &Bytes,
    ) {
        match signal {
            Signal::Event(ev) => {
                queue.push_back(Ok(ClientItem::Event(sharer.event(
                    Chunk::shared(chunk),
                    ev,
                    None,
                ))));
            }
            Signal::Comment(text) if signals => {
                queue.push_back(Ok(ClientItem::Comment(Bytes::copy_from_slice(text))));
            }
            Signal::Open if signals => queue.push_back(Ok(ClientItem::Open)),
            Signal::Retry(delay) if signals => queue.push_back(Ok(ClientItem::Retry(delay))),
            Signal::Decode(e) => queue.push_back(Err(ClientError::Decode(e))),
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
            // Without signals, the machine's business.
            _ => {}
        }
    }

    /// Sends a new request, with the machine's headers.
    fn start_connection(&mut self) {
        self.conn = Conn::None;
        let headers = RequestHeaders::from_machine(&self.es);
        self.conn = Conn::Connecting(Box::pin(self.connect.connect(headers)));
    }

    /// Drives the connection in flight, if any: the response, then the
    /// body. Returns whether anything happened (the machine must be polled
    /// again).
    fn poll_open_connection(&mut self, cx: &mut Context<'_>) -> bool {
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
            Conn::None => return false,
        }
        true
    }

    /// The response arrived: the machine decides whether it opens.
    fn opened(&mut self, opened: Opened<C::Body>) {
        let response = Response::new(opened.status, opened.content_type.as_deref())
            .retry_after(opened.retry_after.as_deref());
        let now = self.now();
        let (queue, source, sharer) = (
            &mut self.queue,
            &mut self.source,
            (&mut self.sharer, self.signals),
        );
        let none = Bytes::new();
        self.es.on_response(now, &response, |s| {
            Self::take_signal(queue, source, s, (&mut *sharer.0, sharer.1), &none);
        });
        self.conn = match self.es.ready_state() {
            super::ReadyState::Open => Conn::Streaming(Box::pin(opened.body)),
            _ => Conn::None,
        };
    }

    /// Body bytes: events out, sharing the chunk.
    fn chunk(&mut self, chunk: &Bytes) {
        let now = self.now();
        let (queue, source, sharer) = (
            &mut self.queue,
            &mut self.source,
            (&mut self.sharer, self.signals),
        );
        self.es.on_body(now, chunk, |s| {
            Self::take_signal(queue, source, s, (&mut *sharer.0, sharer.1), chunk);
        });
    }

    /// The transport failed (before or after the response).
    fn lost(&mut self, error: Option<C::Error>) {
        let fatal = error.as_ref().and_then(|e| self.connect.fatal(e));
        self.source = error;
        self.conn = Conn::None;
        if let Some(cause) = fatal {
            self.es.close_with(cause);
            self.queue.push_back(Err(ClientError::Closed {
                cause,
                source: self.source.take(),
            }));
            return;
        }
        let now = self.now();
        let (queue, source, sharer) = (
            &mut self.queue,
            &mut self.source,
            (&mut self.sharer, self.signals),
        );
        let none = Bytes::new();
        self.es.on_error(now, |s| {
            Self::take_signal(queue, source, s, (&mut *sharer.0, sharer.1), &none);
        });
    }

    /// The body ended.
    fn ended(&mut self) {
        self.conn = Conn::None;
        let now = self.now();
        let (queue, source, sharer) = (
            &mut self.queue,
            &mut self.source,
            (&mut self.sharer, self.signals),
        );
        let none = Bytes::new();
        self.es.on_end(now, |s| {
            Self::take_signal(queue, source, s, (&mut *sharer.0, sharer.1), &none);
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
                self.timer.poll_until(until, cx).is_pending()
            }
            Action::Read { deadline } => {
                // `poll_next` read the connection just before: nothing yet.
                if matches!(self.conn, Conn::None) {
                    // The machine expects a connection we no longer hold:
                    // report it as lost so that it reconnects.
                    self.lost(None);
                    return false;
                }
                // Wake at the idle deadline, if any.
                match deadline {
                    Some(deadline) => self.timer.poll_until(deadline, cx).is_pending(),
                    None => true,
                }
            }
        }
    }
}

impl<C, S> ReconnectingStream<C, S>
where
    C: Connector + Unpin,
    C::Error: Unpin,
    S: Sleeper + Unpin,
{
    /// The next item, signals included when asked for.
    fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ClientItem, ClientError<C::Error>>>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                if matches!(item, Err(ClientError::Closed { .. })) {
                    self.done = true;
                }
                return Poll::Ready(Some(item));
            }
            if self.done {
                return Poll::Ready(None);
            }
            // Read what has already arrived before the machine may call
            // the connection idle: a consumer that was away longer than
            // the idle timeout must not lose bytes that are waiting.
            if self.poll_open_connection(cx) {
                continue;
            }
            let none = Bytes::new();
            let now = self.now();
            let (queue, source, sharer) = (
                &mut self.queue,
                &mut self.source,
                (&mut self.sharer, self.signals),
            );
            let action = self.es.poll(now, |s| {
                Self::take_signal(queue, source, s, (&mut *sharer.0, sharer.1), &none);
            });
            // Wait only once what the machine said has been handed out (an
            // idle timeout's `Reconnecting` must not wait for the delay it
            // announces).
            if self.act(action, cx) && self.queue.is_empty() {
                return Poll::Pending;
            }
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
            return match this.poll_item(cx) {
                Poll::Ready(Some(Ok(ClientItem::Event(ev)))) => Poll::Ready(Some(Ok(ev))),
                // Signals are queued only when asked for.
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// A [`ReconnectingStream`] that hands out [`ClientItem`]s: events,
/// comments, opens and retry changes ([`ReconnectingStream::with_signals`]).
/// It dereferences to the stream, for [`ReconnectingStream::restart`],
/// [`ReconnectingStream::close`] and the state.
#[derive(Debug)]
pub struct ClientItems<C: Connector, S: Sleeper>(ReconnectingStream<C, S>);

impl<C: Connector, S: Sleeper> core::ops::Deref for ClientItems<C, S> {
    type Target = ReconnectingStream<C, S>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<C: Connector, S: Sleeper> core::ops::DerefMut for ClientItems<C, S> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<C, S> Stream for ClientItems<C, S>
where
    C: Connector + Unpin,
    C::Error: Unpin,
    S: Sleeper + Unpin,
{
    type Item = Result<ClientItem, ClientError<C::Error>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_item(cx)
    }
}
