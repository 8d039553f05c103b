//! [`ReconnectingProxyBody`]: a proxy body that outlives its upstream
//! connections. When one ends or fails, it reconnects upstream itself with
//! the last event id the client has, under the EventSource rules (the
//! upstream's `retry`, backoff, jitter), and goes on with the same
//! response: the client never notices.

use std::boxed::Box;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use core::convert::Infallible;
use core::future::Future;
use core::mem;
use futures_core::Stream;
use http_body::{Body, Frame};

use super::relay::Relay;
use super::Verdict;
use crate::client::{
    retry_server_errors, Action, ClientConfig, Connector, EventSource, Opened, ReadyState,
    RequestHeaders, Response,
};
use crate::decoder::Decoder;
use crate::error::InvalidValue;
use crate::timer::{Sleeper, Timer};
use crate::Event;

/// How a [`ReconnectingProxyBody`] treats its upstream: a `Default` struct
/// with `&mut self` setters.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    client: ClientConfig,
    keep_alive: Option<Duration>,
    max_outage: Duration,
}

impl UpstreamConfig {
    /// The default [`UpstreamConfig::keep_alive`]: 15 s.
    pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
    /// The default [`UpstreamConfig::max_outage`]: 30 s.
    pub const DEFAULT_MAX_OUTAGE: Duration = Duration::from_secs(30);
    /// The default upstream idle timeout: 45 s (three of the usual 15 s
    /// keep-alives missed).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(45);

    /// The EventSource rules for the upstream connections: decoder limits
    /// (and the raw frame limit that bounds a block), the reconnection
    /// time's range, backoff, jitter, idle timeout and which statuses are
    /// retried. Default: [`ClientConfig::default`] with server errors
    /// retried ([`retry_server_errors`]) and a 45 s idle timeout.
    pub fn client(&mut self, config: ClientConfig) -> &mut Self {
        self.client = config;
        self
    }

    /// A keep-alive comment goes to the client whenever nothing else did
    /// for this long, above all while the upstream is away (default 15 s;
    /// `None`: never).
    pub fn keep_alive(&mut self, interval: Option<Duration>) -> &mut Self {
        self.keep_alive = interval;
        self
    }

    /// How long the body keeps trying to reach the upstream again, from
    /// the moment it lost it, before it ends the client's response (the
    /// client then reconnects by itself). Default 30 s.
    pub fn max_outage(&mut self, limit: Duration) -> &mut Self {
        self.max_outage = limit;
        self
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        let mut client = ClientConfig::default();
        client
            .retry_status(retry_server_errors)
            .idle_timeout(Some(Self::DEFAULT_IDLE_TIMEOUT));
        UpstreamConfig {
            client,
            keep_alive: Some(Self::DEFAULT_KEEP_ALIVE),
            max_outage: Self::DEFAULT_MAX_OUTAGE,
        }
    }
}

enum Upstream<F, B> {
    None,
    Connecting(Pin<Box<F>>),
    Streaming(Pin<Box<B>>),
}

/// A proxy's response body that reconnects upstream by itself: see the
/// module docs of [`crate::body`] and [`ProxyBody`](super::ProxyBody),
/// whose filtering it shares (everything passed goes out byte for byte,
/// and the client's last event id and reconnection time end up as the
/// upstream set them).
///
/// When an upstream connection ends or fails, its unfinished block is
/// dropped (the next connection sends it again; a `retry` in it still
/// reaches the client) and the body connects again through `connect`,
/// with `Last-Event-ID` the last event id it forwarded, after the
/// upstream's reconnection time with backoff and jitter
/// ([`UpstreamConfig::client`]). Meanwhile keep-alive comments flow, so
/// the client's idle timeout does not fire. A BOM that starts a new
/// upstream connection is not forwarded (mid-stream, the client would read
/// it as content). The client sees one unbroken stream; if the upstream
/// stays away longer than [`UpstreamConfig::max_outage`], or answers a
/// status that ends the stream (`204`, a status not retried, a type that
/// is not `text/event-stream`), the response ends and the client
/// reconnects by itself.
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use futures::stream;
/// use http_body_util::BodyExt;
/// use ssewire::body::{ReconnectingProxyBody, UpstreamConfig, Verdict};
/// use ssewire::client::{Opened, RequestHeaders};
///
/// // An upstream that is cut mid-event once, then resumes after the
/// // Last-Event-ID it is sent, then has nothing more (204).
/// let mut calls = 0;
/// let connect = move |headers: RequestHeaders| {
///     calls += 1;
///     let (status, body) = match (calls, headers.last_event_id()) {
///         (1, None) => (200, "id: 1\ndata: one\n\nid: 2\ndata: tw"),
///         (2, Some(b"1")) => (200, "id: 2\ndata: two\n\n"),
///         _ => (204, ""),
///     };
///     async move {
///         Ok::<_, std::io::Error>(Opened {
///             status,
///             content_type: Some(b"text/event-stream".to_vec()),
///             retry_after: None,
///             body: stream::iter([Ok(Bytes::from(body))]),
///         })
///     }
/// };
/// let body = ReconnectingProxyBody::new(
///     connect,
///     |_: &ssewire::Event<'_>| Verdict::Pass,
///     |_| async {}, // your runtime's timer
///     &UpstreamConfig::default(),
/// );
/// let out = futures::executor::block_on(body.collect()).unwrap().to_bytes();
/// assert_eq!(&out[..], b"id: 1\ndata: one\n\nid: 2\ndata: two\n\n");
/// ```
pub struct ReconnectingProxyBody<C: Connector, F, S: Sleeper> {
    relay: Relay<F, true>,
    es: EventSource,
    connect: C,
    timer: Timer<S>,
    upstream: Upstream<C::Future, C::Body>,
    keep_alive: Option<Duration>,
    /// When the client was last sent something (as of `clock`).
    last_sent: Duration,
    /// The clock, as last read: it is read only when the body is about to
    /// wait, not for every chunk and frame.
    clock: Duration,
    /// Upstream bytes arrived since the clock was last read.
    activity: bool,
    /// A frame went to the client since the clock was last read.
    sent: bool,
    max_outage: Duration,
    /// Since when no upstream byte has arrived, after a connection ended.
    outage_since: Option<Duration>,
    done: bool,
}

impl<C: Connector, F, S: Sleeper> fmt::Debug for ReconnectingProxyBody<C, F, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingProxyBody")
            .field("upstream", &self.es)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<C, F, S> ReconnectingProxyBody<C, F, S>
where
    C: Connector,
    F: FnMut(&Event<'_>) -> Verdict,
    S: Sleeper,
{
    /// A body that connects upstream through `connect` when first polled,
    /// filters with `filter` and waits with `sleep` (your runtime's timer,
    /// as for [`crate::client::ReconnectingStream`]).
    pub fn new(connect: C, filter: F, sleep: S, config: &UpstreamConfig) -> Self {
        let timer = Timer::new(sleep);
        ReconnectingProxyBody {
            relay: Relay::new(filter, config.client.decoder_config()),
            es: EventSource::new(&config.client),
            connect,
            last_sent: timer.now(),
            clock: timer.now(),
            activity: false,
            sent: false,
            timer,
            upstream: Upstream::None,
            keep_alive: config.keep_alive,
            max_outage: config.max_outage,
            outage_since: None,
            done: false,
        }
    }

    /// A body that starts with an upstream response already at hand (the
    /// caller sent the first request, for example to pass a `204` or a
    /// `404` on as it is), and reconnects through `connect` after it.
    pub fn with_upstream(
        opened: Opened<C::Body>,
        connect: C,
        filter: F,
        sleep: S,
        config: &UpstreamConfig,
    ) -> Self {
        let mut body = Self::new(connect, filter, sleep, config);
        let now = body.timer.now();
        if body.es.poll(now, |_| {}) == Action::Connect {
            body.opened(opened);
        }
        body
    }

    /// Starts from the client's last event id (its `Last-Event-ID` request
    /// header): the first upstream request sends it, and the filter sees
    /// it on events that set none.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL, or is over the decoder's limit.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), InvalidValue> {
        self.relay.decoder.set_last_event_id(id)?;
        self.es.set_last_event_id(id)
    }

    /// The decoder, for the last event id and the reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &Decoder {
        &self.relay.decoder
    }

    /// The upstream connection rules: ready state, reconnection time.
    #[must_use]
    pub fn upstream(&self) -> &EventSource {
        &self.es
    }

    /// An upstream response arrived: the rules decide whether it opens.
    fn opened(&mut self, opened: Opened<C::Body>) {
        let response = Response::new(opened.status, opened.content_type.as_deref())
            .retry_after(opened.retry_after.as_deref());
        self.es.on_response(self.timer.now(), &response, |_| {});
        self.upstream = match self.es.ready_state() {
            ReadyState::Open => Upstream::Streaming(Box::pin(opened.body)),
            _ => Upstream::None,
        };
    }

    /// The upstream connection is over (`failed`: with an error).
    fn lost(&mut self, failed: bool) {
        let now = self.timer.now();
        self.note_activity(now);
        if matches!(self.upstream, Upstream::Streaming(_)) {
            self.relay.end_connection();
        }
        self.upstream = Upstream::None;
        self.outage_since.get_or_insert(now);
        if failed {
            self.es.on_error(now, |_| {});
        } else {
            self.es.on_end(now, |_| {});
        }
    }

    /// Drives the upstream connection, if any; `true` when something
    /// happened.
    #[inline]
    fn poll_upstream(&mut self, cx: &mut Context<'_>) -> bool {
        // The hot path first: a chunk of an open connection.
        if let Upstream::Streaming(body) = &mut self.upstream {
            return match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.chunk(&chunk);
                    true
                }
                Poll::Ready(Some(Err(_))) => {
                    self.lost(true);
                    true
                }
                Poll::Ready(None) => {
                    self.lost(false);
                    true
                }
                Poll::Pending => false,
            };
        }
        match &mut self.upstream {
            Upstream::None | Upstream::Streaming(_) => false,
            Upstream::Connecting(fut) => match fut.as_mut().poll(cx) {
                Poll::Ready(Ok(opened)) => {
                    self.opened(opened);
                    true
                }
                Poll::Ready(Err(_)) => {
                    self.lost(true);
                    true
                }
                Poll::Pending => false,
            },
        }
    }

    #[inline]
    fn chunk(&mut self, chunk: &Bytes) {
        if self.outage_since.is_some() {
            self.outage_since = None;
        }
        self.activity = true;
        self.relay.take(chunk);
    }

    /// Tells the rules what the chunks since the last call said (as of
    /// `now`): before any decision of theirs.
    fn note_activity(&mut self, now: Duration) {
        if mem::take(&mut self.activity) {
            let seen = self.relay.take_seen();
            self.es.on_decoded(now, seen.events, seen.retry);
        }
    }

    /// Reads the clock, and notes the activity and sending since the last
    /// read as of now.
    fn tick(&mut self) -> Duration {
        let now = self.timer.now();
        self.clock = now;
        self.note_activity(now);
        if mem::take(&mut self.sent) {
            self.last_sent = now;
        }
        now
    }

    /// Sends the next upstream request, with the last event id forwarded.
    fn connect(&mut self) {
        // What the client has is what the upstream must resume after.
        let _ = self
            .es
            .set_last_event_id(self.relay.decoder.last_event_id());
        let headers = RequestHeaders::from_machine(&self.es);
        self.upstream = Upstream::Connecting(Box::pin(self.connect.connect(headers)));
    }

    /// Carries out the rules' next action; `Some(deadline)` to wait for
    /// (with the upstream polled meanwhile), `None` to go round again.
    fn act(&mut self, now: Duration) -> Option<Option<Duration>> {
        match self.es.poll(now, |_| {}) {
            Action::Connect => {
                self.connect();
                None
            }
            Action::Read { deadline } => Some(deadline),
            Action::Wait { until } => {
                self.upstream = Upstream::None;
                if self
                    .outage_since
                    .is_some_and(|since| until.saturating_sub(since) > self.max_outage)
                {
                    // Giving up: the client reconnects by itself.
                    self.done = true;
                    return None;
                }
                Some(Some(until))
            }
            Action::Closed => {
                self.upstream = Upstream::None;
                self.done = true;
                None
            }
        }
    }
}

impl<C, F, S> Body for ReconnectingProxyBody<C, F, S>
where
    C: Connector + Unpin,
    F: FnMut(&Event<'_>) -> Verdict + Unpin,
    S: Sleeper + Unpin,
{
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.relay.next_frame() {
                this.sent = true;
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            if this.done {
                return Poll::Ready(None);
            }
            // Read what has arrived before any deadline is judged.
            if this.poll_upstream(cx) {
                continue;
            }
            // Nothing to read: now the time matters.
            let now = this.tick();
            let Some(deadline) = this.act(now) else {
                continue;
            };
            let keep_alive = this.keep_alive.map(|k| this.last_sent + k);
            if keep_alive.is_some_and(|due| due <= now) {
                this.relay.keep_alive();
                continue;
            }
            let wake = match (deadline, keep_alive) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(at) => at,
                    None => return Poll::Pending,
                },
            };
            if this.timer.poll_until(wake, cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.relay.is_empty()
    }
}
