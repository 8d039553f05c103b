//! The EventSource connection rules (WHATWG HTML 9.2.2-9.2.4) as a sans-IO
//! state machine: what to send, which responses open the stream, when and
//! how soon to reconnect, and what to tell the application. Your HTTP stack
//! does the I/O and your clock passes the time in, so every rule is testable
//! without sleeping. Redirects are the HTTP stack's job (the spec follows
//! them inside fetch); hand this machine the final response.
//!
//! # States
//!
//! | phase | ready state | left by |
//! |---|---|---|
//! | `Start` | connecting | [`EventSource::poll`]: [`Action::Connect`] |
//! | `Requesting` | connecting | [`EventSource::on_response`] (to `Streaming`, `Waiting` or `Closed`); a transport error or the idle timeout (to `Waiting`) |
//! | `Streaming` | open | the body's end, a transport error or the idle timeout (to `Waiting`) |
//! | `Waiting` | connecting | the reconnection delay passing: [`Action::Connect`] |
//! | `Closed` | closed | nothing: it is final |
//!
//! # Example
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use ssewire::client::{Action, ClientConfig, EventSource, Response, Signal};
//!
//! let mut es = EventSource::new(&ClientConfig::default());
//! let mut now = Duration::ZERO; // your monotonic clock
//! let mut seen = Vec::new();
//! assert_eq!(es.poll(now, |_| {}), Action::Connect);
//! // Send a GET with `es.request_headers()`; then, with the response:
//! es.on_response(now, &Response::new(200, Some(b"text/event-stream; charset=utf-8")), |_| {});
//! es.on_body(now, b"id: 1\ndata: hello\n\ndata: cut off", |s| {
//!     if let Signal::Event(ev) = s {
//!         seen.push(ev.data_lossy().into_owned());
//!     }
//! });
//! // The connection drops: reconnect after the reconnection time.
//! let mut retry_in = None;
//! es.on_end(now, |s| {
//!     if let Signal::Error { retry_in: r, .. } = s {
//!         retry_in = r;
//!     }
//! });
//! assert_eq!(seen, ["hello"]);
//! let delay = retry_in.unwrap();
//! now += delay;
//! assert_eq!(es.poll(now, |_| {}), Action::Connect);
//! // The partial event was dropped; resume after the last complete one.
//! let headers: Vec<_> = es.request_headers().collect();
//! assert!(headers.contains(&("last-event-id", &b"1"[..])));
//! # }
//! ```

use core::time::Duration;

#[cfg(all(feature = "futures", feature = "std"))]
mod reconnect;
#[cfg(all(feature = "futures", feature = "std"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "futures", feature = "std"))))]
pub use crate::timer::Sleeper;
#[cfg(all(feature = "futures", feature = "std", feature = "tokio"))]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use crate::timer::TokioTimer;
#[cfg(all(feature = "futures", feature = "std"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "futures", feature = "std"))))]
pub use reconnect::{
    ClientError, ClientItem, ClientItems, Connector, Opened, ReconnectingStream, RequestHeaders,
};
#[cfg(feature = "reqwest")]
mod reqwest;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use self::reqwest::{
    event_stream, RequestError, ReqwestBody, ReqwestConnector, ReqwestEventStream,
};

use crate::buffer::Buffer;
use crate::decoder::{Config, Decoder, DefaultBuffer, Item};
use crate::error::DecodeError;
use crate::event::Event;

/// Why a connection failed, or why the source closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// A status other than 200 (and not 204). Fatal unless
    /// [`ClientConfig::retry_status`] says otherwise.
    Status(u16),
    /// Status 200 without a `text/event-stream` content type. Fatal.
    ContentType,
    /// Status 204 No Content: the server's way to stop a client. Fatal.
    NoContent,
    /// The transport failed, before or after the response. Retried.
    Transport,
    /// The body ended. Retried (the spec reconnects).
    BodyEnded,
    /// No byte arrived for [`ClientConfig::idle_timeout`] (keep-alive
    /// comments count). Retried.
    IdleTimeout,
    /// [`ClientConfig::max_attempts`] reconnections in a row delivered no
    /// event. Fatal.
    TooManyAttempts,
    /// [`EventSource::close`] was called.
    Closed,
    /// A redirect that cannot be followed (no `Location`, or a loop): the
    /// HTTP stack said so. Fatal.
    Redirect,
}

impl core::fmt::Display for Cause {
    /// The cause in words (for messages to people; match on the variant
    /// in code).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Cause::Status(204) | Cause::NoContent => {
                f.write_str("the server said there is nothing more (204 No Content)")
            }
            Cause::Status(status) => write!(f, "the server answered status {status}"),
            Cause::ContentType => f.write_str(
                "the response is not an event stream (its content type is not text/event-stream)",
            ),
            Cause::Transport => f.write_str("the connection failed"),
            Cause::BodyEnded => f.write_str("the server ended the stream"),
            Cause::IdleTimeout => f.write_str("nothing arrived for the idle timeout"),
            Cause::TooManyAttempts => f.write_str("too many attempts in a row delivered nothing"),
            Cause::Closed => f.write_str("the client was closed"),
            Cause::Redirect => {
                f.write_str("a redirect could not be followed (no Location, or a loop)")
            }
        }
    }
}

/// The spec's `readyState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// A response opened the stream; events flow.
    Open,
    /// Closed for good: no further request will be made.
    Closed,
}

/// What the machine tells the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal<'a> {
    /// A response opened the stream (the spec's `open` event).
    Open,
    /// An event (the spec's `message` and named events).
    Event(Event<'a>),
    /// The server changed the reconnection time; the value is clamped to
    /// [`ClientConfig::retry_range`].
    Retry(Duration),
    /// A decoder limit dropped an event; the stream goes on. The same name
    /// as `ClientError::Decode` and `ReadError::Decode` in the layers above.
    Decode(DecodeError),
    /// A comment line (the text after the colon, one leading space
    /// stripped), when the decoder reports comments
    /// ([`ClientConfig::comments`]). Keep-alives are comments; browsers
    /// ignore them.
    Comment(&'a [u8]),
    /// The connection failed or ended (the spec's `error` event).
    /// `retry_in` is when the next attempt is due; `None` means closed for
    /// good.
    Error {
        /// What happened.
        cause: Cause,
        /// The delay before reconnecting, or `None`: closed.
        retry_in: Option<Duration>,
    },
}

/// What the caller's I/O loop should do next (from [`EventSource::poll`]).
/// Any action but `Read` means the current connection, if any, is over:
/// drop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Open a connection now: a GET with [`EventSource::request_headers`].
    Connect,
    /// Wait for the response or the next body bytes; if nothing arrives by
    /// `deadline` (the idle timeout), call `poll` again then.
    Read {
        /// When to poll again if nothing arrives; `None`: no idle timeout.
        deadline: Option<Duration>,
    },
    /// Reconnect later: call `poll` again at `until`.
    Wait {
        /// When the next attempt is due.
        until: Duration,
    },
    /// Closed for good.
    Closed,
}

/// A response's status line and the headers the rules look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    status: u16,
    content_type: Option<&'a [u8]>,
    retry_after: Option<&'a [u8]>,
}

impl<'a> Response<'a> {
    /// A response with this status and `Content-Type` header value.
    #[must_use]
    pub fn new(status: u16, content_type: Option<&'a [u8]>) -> Self {
        Response {
            status,
            content_type,
            retry_after: None,
        }
    }

    /// The `Retry-After` header value (seconds; an HTTP date is ignored),
    /// honoured when a retryable status is retried, within the floor of
    /// [`ClientConfig::retry_range`] and the ceiling of
    /// [`ClientConfig::backoff`].
    #[must_use]
    pub fn retry_after(mut self, value: Option<&'a [u8]>) -> Self {
        self.retry_after = value;
        self
    }
}

/// Whether a `Content-Type` value is `text/event-stream`: MIME type essence
/// compared ASCII case-insensitively, parameters and surrounding spaces
/// allowed.
///
/// # Example
/// ```
/// use ssewire::client::is_event_stream;
/// assert!(is_event_stream(b"Text/Event-Stream ; charset=utf-8"));
/// assert!(!is_event_stream(b"text/plain"));
/// assert!(!is_event_stream(b"text/event-streamx"));
/// ```
#[must_use]
#[inline]
pub fn is_event_stream(content_type: &[u8]) -> bool {
    // Most types that are not this one are told at once (a layer asks of
    // every response).
    match content_type.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b't' | b'T') => {}
        _ => return false,
    }
    let essence = content_type.split(|&b| b == b';').next().unwrap_or(&[]);
    let trimmed = essence.trim_ascii();
    trimmed.eq_ignore_ascii_case(b"text/event-stream")
}

/// Whether `id` goes out as a `Last-Event-ID` header: non-empty, a valid
/// header value, at most `max` bytes.
pub(crate) fn sendable_id(id: &[u8], max: usize) -> bool {
    !id.is_empty() && id.len() <= max && crate::encode::is_header_safe(id)
}

/// Settings for an [`EventSource`]: a `Default` struct with `&mut self`
/// setters, like [`Config`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    decoder: Config,
    initial_retry: Duration,
    min_retry: Duration,
    max_retry: Duration,
    backoff_factor: u32,
    max_backoff: Duration,
    jitter_percent: u8,
    jitter_seed: Option<u64>,
    idle_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    retry_status: fn(u16) -> bool,
    max_last_event_id: usize,
}

/// A jitter seed of this client's own (see [`ClientConfig::jitter`]).
fn fresh_seed() -> u64 {
    #[cfg(feature = "std")]
    {
        use std::hash::{BuildHasher, Hasher};
        // Each `RandomState` is seeded from the system's random source
        // (then per thread, with a counter): a different seed every call.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(0);
        h.finish()
    }
    #[cfg(not(feature = "std"))]
    {
        // Golden-ratio steps, then a mix: neighbouring clients far apart.
        let mut z = 0x5EED_5EED_5EED_5EED_u64
            .wrapping_add(next_client().wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A per-process client counter, where the target has atomics.
#[cfg(all(not(feature = "std"), target_has_atomic = "ptr"))]
fn next_client() -> u64 {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) as u64
}

/// Without atomics every client starts from the same seed: give each its
/// own with [`ClientConfig::jitter`].
#[cfg(all(not(feature = "std"), not(target_has_atomic = "ptr")))]
fn next_client() -> u64 {
    0
}

/// The default status policy: only the spec's 200 opens; nothing else is
/// retried.
fn never(_: u16) -> bool {
    false
}

/// Statuses that long-running services usually want retried: 429, 502,
/// 503, 504 and other 5xx (never 204 or other 4xx).
///
/// # Example
/// ```
/// use ssewire::client::{retry_server_errors, ClientConfig};
/// let mut config = ClientConfig::default();
/// config.retry_status(retry_server_errors);
/// assert!(retry_server_errors(503) && !retry_server_errors(404));
/// ```
#[must_use]
pub fn retry_server_errors(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            decoder: Config::default(),
            initial_retry: Duration::from_secs(3),
            min_retry: Duration::from_millis(100),
            max_retry: Duration::from_secs(60),
            backoff_factor: 2,
            max_backoff: Duration::from_secs(60),
            jitter_percent: 20,
            jitter_seed: None,
            idle_timeout: Some(ClientConfig::DEFAULT_IDLE_TIMEOUT),
            max_attempts: None,
            retry_status: never,
            max_last_event_id: ClientConfig::DEFAULT_MAX_LAST_EVENT_ID,
        }
    }
}

impl ClientConfig {
    /// The decoder's settings, as set by [`ClientConfig::decoder`].
    #[cfg(feature = "http-body")]
    pub(crate) fn decoder_config(&self) -> &Config {
        &self.decoder
    }

    /// The decoder's settings (limits, ...).
    pub fn decoder(&mut self, config: Config) -> &mut Self {
        self.decoder = config;
        self
    }

    /// The reconnection time before the server sets one (default 3 s, as
    /// browsers use).
    pub fn initial_retry(&mut self, delay: Duration) -> &mut Self {
        self.initial_retry = delay;
        self
    }

    /// The range a server's `retry` value is clamped to (default 100 ms to
    /// 60 s): a hostile `retry` can neither spin the client nor park it for
    /// ages. `min` is also the floor of every delay, after backoff and
    /// jitter, `Retry-After` included.
    pub fn retry_range(&mut self, min: Duration, max: Duration) -> &mut Self {
        self.min_retry = min;
        self.max_retry = max.max(min);
        self
    }

    /// Exponential backoff: after each attempt in a row that delivered no
    /// event, the delay is multiplied by `factor` (default 2; 1 turns it
    /// off), up to `max` (default 60 s; the reconnection time if that is
    /// longer). It resets once a connection delivers an event. `max` is
    /// also the ceiling of a server's `Retry-After`.
    pub fn backoff(&mut self, factor: u32, max: Duration) -> &mut Self {
        self.backoff_factor = factor.max(1);
        self.max_backoff = max;
        self
    }

    /// Jitter: each delay is shortened by up to `percent` % (default 20),
    /// drawn from a generator seeded with `seed`, so that the delays of
    /// one client are the same in every run (tests, `no_std`). Without
    /// this call each client draws its own seed: from the system's random
    /// source with `std`, otherwise from a per-process counter (clients of
    /// one process differ; processes started the same way repeat each
    /// other). Jitter exists so that clients cut at once by one server
    /// restart do not come back at the same instant.
    pub fn jitter(&mut self, percent: u8, seed: u64) -> &mut Self {
        self.jitter_percent = percent.min(100);
        self.jitter_seed = Some(seed);
        self
    }

    /// Jitter with each client's own seed (the default; see
    /// [`ClientConfig::jitter`]).
    pub fn jitter_percent(&mut self, percent: u8) -> &mut Self {
        self.jitter_percent = percent.min(100);
        self.jitter_seed = None;
        self
    }

    /// Report comment lines ([`Signal::Comment`]; a decoder setting,
    /// [`Config::comments`]): keep-alives, and data some protocols put in
    /// comments. Off by default.
    pub fn comments(&mut self, on: bool) -> &mut Self {
        self.decoder.comments(on);
        self
    }

    /// The default [`ClientConfig::idle_timeout`]: 5 minutes.
    ///
    /// A connection whose peer vanished without closing it (a machine
    /// gone, a network partition, a NAT that forgot the flow) looks open
    /// for ever: no error ever comes. The idle timeout is what notices.
    /// Servers send keep-alive comments every 15-30 s (this crate's
    /// `EventBody::keep_alive`, most frameworks), some only every few
    /// minutes (LaunchDarkly's streams every 3 minutes, whose SDKs time out
    /// after 5; the MCP SSE client waits 5 minutes too): 5 minutes never
    /// cuts a healthy stream that sends anything at least that often, and
    /// bounds how long a dead one is held.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

    /// Reconnect when no byte arrived for this long (default
    /// [`ClientConfig::DEFAULT_IDLE_TIMEOUT`], 5 minutes; `None`: never).
    /// Keep-alive comments count as bytes.
    pub fn idle_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.idle_timeout = timeout;
        self
    }

    /// The default [`ClientConfig::max_last_event_id`]: 4 KiB.
    ///
    /// Servers and proxies refuse request headers above a size of their
    /// own (nginx answers `400` to a header line over 8 KiB by default),
    /// and a client that resends an id it cannot get past them reconnects
    /// for ever without making progress. Ids are usually short (counters,
    /// UUIDs, Redis stream ids); 4 KiB leaves room for cursors.
    pub const DEFAULT_MAX_LAST_EVENT_ID: usize = 4096;

    /// The longest last event id sent back as `Last-Event-ID` (default
    /// [`ClientConfig::DEFAULT_MAX_LAST_EVENT_ID`], 4 KiB). A longer id is
    /// kept (it is still [`EventSource::last_event_id`]) but not sent: the
    /// request goes without the header, as it does for an id that cannot be
    /// a header value, and the server starts the stream afresh.
    pub fn max_last_event_id(&mut self, bytes: usize) -> &mut Self {
        self.max_last_event_id = bytes;
        self
    }

    /// Close for good after this many attempts in a row that delivered no
    /// event (default: no limit, as browsers).
    pub fn max_attempts(&mut self, attempts: Option<u32>) -> &mut Self {
        self.max_attempts = attempts;
        self
    }

    /// Which non-200 statuses are retried instead of failing the
    /// connection (default: none, as the spec says; see
    /// [`retry_server_errors`]). 204 is never retried.
    pub fn retry_status(&mut self, policy: fn(u16) -> bool) -> &mut Self {
        self.retry_status = policy;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Start,
    Requesting,
    Streaming,
    Waiting { until: Duration },
    Closed(Cause),
}

/// The EventSource processing model, sans-IO. See the module docs.
#[derive(Debug)]
pub struct EventSource<B: Buffer = DefaultBuffer> {
    decoder: Decoder<B>,
    config: ClientConfig,
    phase: Phase,
    /// The reconnection time (the stream's `retry`, clamped).
    retry: Duration,
    /// Attempts in a row that delivered no event.
    failures: u32,
    /// This connection delivered an event.
    delivered: bool,
    /// The last time a byte (or the response) arrived, or the request left.
    last_activity: Duration,
    rng: u64,
}

#[cfg(feature = "alloc")]
impl EventSource<alloc::vec::Vec<u8>> {
    /// A machine with a growable decoder.
    ///
    /// # Panics
    /// Never.
    #[must_use]
    pub fn new(config: &ClientConfig) -> Self {
        Self::with_decoder(Decoder::with_config(&config.decoder), config)
    }
}

impl<B: Buffer> EventSource<B> {
    /// A machine around `decoder` (for fixed buffers; the decoder's own
    /// settings are kept, [`ClientConfig::decoder`] is not used).
    #[must_use]
    pub fn with_decoder(decoder: Decoder<B>, config: &ClientConfig) -> Self {
        EventSource {
            decoder,
            retry: config
                .initial_retry
                .clamp(config.min_retry, config.max_retry),
            config: config.clone(),
            phase: Phase::Start,
            failures: 0,
            delivered: false,
            last_activity: Duration::ZERO,
            rng: config.jitter_seed.unwrap_or_else(fresh_seed) | 1,
        }
    }

    /// The spec's `readyState`.
    #[must_use]
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Streaming => ReadyState::Open,
            Phase::Closed(_) => ReadyState::Closed,
            _ => ReadyState::Connecting,
        }
    }

    /// Why the source closed, once it has.
    #[must_use]
    pub fn closed_by(&self) -> Option<Cause> {
        match self.phase {
            Phase::Closed(cause) => Some(cause),
            _ => None,
        }
    }

    /// The last event id: what the next request sends as `Last-Event-ID`.
    #[must_use]
    pub fn last_event_id(&self) -> &[u8] {
        self.decoder.last_event_id()
    }

    /// Sets the last event id, to resume where an earlier session ended.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL, or does not fit its buffer.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.decoder.set_last_event_id(id)
    }

    /// The reconnection time now in force.
    #[must_use]
    pub fn retry(&self) -> Duration {
        self.retry
    }

    /// The request headers to send: `Accept: text/event-stream`,
    /// `Cache-Control: no-cache` (what fetch's `no-store` mode sends), and
    /// `Last-Event-ID` when the last event id is non-empty, can be a
    /// header value and is no longer than
    /// [`ClientConfig::max_last_event_id`]. Names are lower case.
    pub fn request_headers(&self) -> impl Iterator<Item = (&'static str, &[u8])> + '_ {
        let id = self.decoder.last_event_id();
        let send_id = sendable_id(id, self.config.max_last_event_id);
        [
            ("accept", &b"text/event-stream"[..]),
            ("cache-control", b"no-cache"),
        ]
        .into_iter()
        .chain(send_id.then_some(("last-event-id", id)))
    }

    /// What to do now. Starts the first connection, notices an idle
    /// timeout, and starts the next attempt once its delay has passed.
    pub fn poll<F: FnMut(Signal<'_>)>(&mut self, now: Duration, mut f: F) -> Action {
        loop {
            match self.phase {
                Phase::Start => {
                    self.connect(now);
                    return Action::Connect;
                }
                Phase::Requesting | Phase::Streaming => {
                    let Some(idle) = self.config.idle_timeout else {
                        return Action::Read { deadline: None };
                    };
                    let deadline = self.last_activity.saturating_add(idle);
                    if now < deadline {
                        return Action::Read {
                            deadline: Some(deadline),
                        };
                    }
                    self.reestablish(now, Cause::IdleTimeout, None, &mut f);
                }
                Phase::Waiting { until } => {
                    if now < until {
                        return Action::Wait { until };
                    }
                    self.connect(now);
                    return Action::Connect;
                }
                Phase::Closed(_) => return Action::Closed,
            }
        }
    }

    /// The response arrived (after redirects). Status 200 with
    /// `text/event-stream` opens the stream; 204 and other statuses and
    /// types fail it (spec: "fail the connection"), unless
    /// [`ClientConfig::retry_status`] retries that status.
    pub fn on_response<F: FnMut(Signal<'_>)>(
        &mut self,
        now: Duration,
        response: &Response<'_>,
        mut f: F,
    ) {
        if self.phase != Phase::Requesting {
            return;
        }
        self.last_activity = now;
        let status = response.status;
        if status == 200 && response.content_type.is_some_and(is_event_stream) {
            self.phase = Phase::Streaming;
            self.delivered = false;
            f(Signal::Open);
            return;
        }
        let cause = match status {
            204 => Cause::NoContent,
            200 => Cause::ContentType,
            other => Cause::Status(other),
        };
        if status != 200 && status != 204 && (self.config.retry_status)(status) {
            let hint = response.retry_after.and_then(crate::field::parse_digits);
            let hint = hint.map(|secs| Duration::from_secs(secs.min(u64::from(u32::MAX))));
            // `delay` keeps it between the floor and the ceiling.
            self.reestablish(now, cause, hint, &mut f);
        } else {
            self.fail(cause, &mut f);
        }
    }

    /// Body bytes arrived: decodes them and reports events, retry changes
    /// and dropped events. Ignored unless the stream is open.
    pub fn on_body<F: FnMut(Signal<'_>)>(&mut self, now: Duration, chunk: &[u8], mut f: F) {
        if self.phase != Phase::Streaming {
            return;
        }
        self.last_activity = now;
        let (min, max) = (self.config.min_retry, self.config.max_retry);
        let retry = &mut self.retry;
        let delivered = &mut self.delivered;
        let failures = &mut self.failures;
        self.decoder.feed_all(chunk, |item| match item {
            Ok(Item::Event(ev)) => {
                *delivered = true;
                *failures = 0;
                f(Signal::Event(ev));
            }
            Ok(Item::Retry(time)) => {
                *retry = time.clamp(min, max);
                f(Signal::Retry(*retry));
            }
            Ok(Item::Comment(text)) => f(Signal::Comment(text)),
            Ok(_) => {}
            Err(e) => f(Signal::Decode(e)),
        });
    }

    /// Body bytes arrived that the caller decoded itself (a proxy routes
    /// each block): what they said that the rules use, as
    /// [`EventSource::on_body`] would have found it.
    #[cfg(feature = "http-body")]
    pub(crate) fn on_decoded(&mut self, now: Duration, events: bool, retry: Option<Duration>) {
        if self.phase != Phase::Streaming {
            return;
        }
        self.last_activity = now;
        if events {
            self.delivered = true;
            self.failures = 0;
        }
        if let Some(time) = retry {
            self.retry = time.clamp(self.config.min_retry, self.config.max_retry);
        }
    }

    /// The body ended: reconnect after the reconnection time (a partial
    /// event is dropped; the last event id is the last committed one).
    pub fn on_end<F: FnMut(Signal<'_>)>(&mut self, now: Duration, mut f: F) {
        if matches!(self.phase, Phase::Requesting | Phase::Streaming) {
            self.reestablish(now, Cause::BodyEnded, None, &mut f);
        }
    }

    /// The transport failed, before or after the response: reconnect after
    /// the reconnection time.
    pub fn on_error<F: FnMut(Signal<'_>)>(&mut self, now: Duration, mut f: F) {
        if matches!(self.phase, Phase::Requesting | Phase::Streaming) {
            self.reestablish(now, Cause::Transport, None, &mut f);
        }
    }

    /// Drops the current connection (a partial event in it is discarded)
    /// and reconnects `after` from `now` (`Duration::ZERO`: at the next
    /// [`EventSource::poll`]) with the current last event id, whatever
    /// the state; a closed source stays closed. Unlike a failure, it does
    /// not count toward backoff. For a configuration change, a token
    /// refresh, or a connection the caller knows is stale.
    pub fn restart(&mut self, now: Duration, after: Duration) {
        if matches!(self.phase, Phase::Closed(_)) {
            return;
        }
        self.end_stream();
        self.phase = Phase::Waiting {
            until: now.saturating_add(after),
        };
    }

    /// Closes for good with `cause` (a transport error no attempt can fix).
    #[cfg(all(feature = "futures", feature = "std"))]
    pub(crate) fn close_with(&mut self, cause: Cause) {
        if !matches!(self.phase, Phase::Closed(_)) {
            self.end_stream();
            self.phase = Phase::Closed(cause);
        }
    }

    /// Closes for good: no further request (the spec's `close()`).
    pub fn close(&mut self) {
        if !matches!(self.phase, Phase::Closed(_)) {
            self.end_stream();
            self.phase = Phase::Closed(Cause::Closed);
        }
    }

    fn connect(&mut self, now: Duration) {
        self.phase = Phase::Requesting;
        self.last_activity = now;
        self.delivered = false;
    }

    /// A connection's stream is over: its partial event is dropped.
    fn end_stream(&mut self) {
        let _ = self.decoder.finish();
    }

    /// Spec: "fail the connection": closed, an error, no reconnection.
    fn fail<F: FnMut(Signal<'_>)>(&mut self, cause: Cause, f: &mut F) {
        self.end_stream();
        self.phase = Phase::Closed(cause);
        f(Signal::Error {
            cause,
            retry_in: None,
        });
    }

    /// Spec: "reestablish the connection": connecting, an error, and a
    /// new attempt after the reconnection time (with backoff and jitter).
    fn reestablish<F: FnMut(Signal<'_>)>(
        &mut self,
        now: Duration,
        cause: Cause,
        hint: Option<Duration>,
        f: &mut F,
    ) {
        self.end_stream();
        if self.delivered {
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        if self
            .config
            .max_attempts
            .is_some_and(|max| self.failures >= max)
        {
            return self.fail(Cause::TooManyAttempts, f);
        }
        let delay = self.delay(hint);
        self.phase = Phase::Waiting {
            until: now.saturating_add(delay),
        };
        f(Signal::Error {
            cause,
            retry_in: Some(delay),
        });
    }

    /// The delay before the next attempt: the reconnection time (or the
    /// server's `Retry-After`), grown by the backoff factor for each attempt
    /// in a row that delivered nothing beyond the first, jittered, and kept
    /// between a floor (the least of [`ClientConfig::retry_range`]) and a
    /// ceiling (the backoff's maximum, or the reconnection time if that is
    /// longer). Whatever the server says, a client neither spins nor parks.
    fn delay(&mut self, hint: Option<Duration>) -> Duration {
        let floor = self.config.min_retry;
        let ceiling = self.config.max_backoff.max(self.retry).max(floor);
        let mut delay = hint.unwrap_or(self.retry).clamp(floor, ceiling);
        for _ in 1..self.failures {
            if delay >= ceiling {
                break;
            }
            delay = delay.saturating_mul(self.config.backoff_factor);
        }
        delay = delay.min(ceiling);
        let percent = u64::from(self.config.jitter_percent);
        if percent > 0 {
            // xorshift64: deterministic per seed, no platform randomness.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let cut = (self.rng % 1001) * percent; // thousandths of a percent
            let nanos = delay.as_nanos() as u64;
            let less = (u128::from(nanos) * u128::from(cut) / 100_000) as u64;
            delay = Duration::from_nanos(nanos.saturating_sub(less));
        }
        delay.max(floor)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    const SSE: Option<&[u8]> = Some(b"text/event-stream");

    /// What the machine said, as text, for compact assertions.
    fn log(out: &mut Vec<String>) -> impl FnMut(Signal<'_>) + '_ {
        move |s| {
            out.push(match s {
                Signal::Open => "open".into(),
                Signal::Event(ev) => alloc::format!("event {}", ev.data_lossy()),
                Signal::Retry(d) => alloc::format!("retry {}ms", d.as_millis()),
                Signal::Decode(e) => alloc::format!("dropped {e}"),
                Signal::Comment(text) => alloc::format!("comment {}", crate::Lossy(text)),
                Signal::Error { cause, retry_in } => {
                    alloc::format!("error {cause:?} {:?}", retry_in.map(|d| d.as_millis()))
                }
            });
        }
    }

    fn config() -> ClientConfig {
        let mut c = ClientConfig::default();
        c.jitter(0, 1).initial_retry(Duration::from_millis(1000));
        c
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Connects and opens a stream at `now`.
    fn open(es: &mut EventSource, now: Duration) {
        assert_eq!(es.poll(now, |_| {}), Action::Connect);
        es.on_response(now, &Response::new(200, SSE), |_| {});
        assert_eq!(es.ready_state(), ReadyState::Open);
    }

    #[test]
    fn first_poll_connects_with_the_spec_headers() {
        let mut es = EventSource::new(&config());
        assert_eq!(es.ready_state(), ReadyState::Connecting);
        assert_eq!(es.poll(ms(0), |_| {}), Action::Connect);
        let h: Vec<_> = es.request_headers().collect();
        assert_eq!(
            h,
            [
                ("accept", &b"text/event-stream"[..]),
                ("cache-control", &b"no-cache"[..])
            ]
        );
        // While waiting for the response: keep reading, until the default
        // idle timeout at most.
        assert_eq!(
            es.poll(ms(5), |_| {}),
            Action::Read {
                deadline: Some(ClientConfig::DEFAULT_IDLE_TIMEOUT)
            }
        );
    }

    #[test]
    fn restart_drops_the_connection_and_reconnects_with_the_last_id() {
        let mut es = EventSource::new(&config());
        let mut out = Vec::new();
        open(&mut es, ms(0));
        es.on_body(
            ms(1),
            b"id: 1\ndata: one\n\nid: 2\ndata: par",
            log(&mut out),
        );
        // Two failures before: a restart neither grows nor resets backoff.
        es.restart(ms(10), ms(0));
        assert_eq!(es.ready_state(), ReadyState::Connecting);
        assert_eq!(es.poll(ms(10), |_| {}), Action::Connect);
        let h: Vec<_> = es.request_headers().collect();
        assert_eq!(h[2], ("last-event-id", &b"1"[..]));
        // The partial event of the old connection is gone.
        es.on_response(ms(11), &Response::new(200, SSE), |_| {});
        out.clear();
        es.on_body(ms(12), b"tial\n\ndata: next\n\n", log(&mut out));
        assert_eq!(out, ["event next"]);
        // After a delay, and never for a closed source.
        es.restart(ms(20), ms(500));
        assert_eq!(es.poll(ms(100), |_| {}), Action::Wait { until: ms(520) });
        es.close();
        es.restart(ms(600), ms(0));
        assert_eq!(es.poll(ms(600), |_| {}), Action::Closed);
    }

    #[test]
    fn comments_are_reported_when_the_decoder_keeps_them() {
        let mut c = config();
        c.comments(true);
        let mut es = EventSource::new(&c);
        let mut out = Vec::new();
        open(&mut es, ms(0));
        es.on_body(ms(1), b": keep-alive\n:\ndata: x\n\n", log(&mut out));
        assert_eq!(out, ["comment keep-alive", "comment ", "event x"]);
        // Off by default.
        let mut es = EventSource::new(&config());
        out.clear();
        open(&mut es, ms(0));
        es.on_body(ms(1), b": keep-alive\ndata: x\n\n", log(&mut out));
        assert_eq!(out, ["event x"]);
    }

    #[test]
    fn clients_without_a_seed_spread_their_reconnections() {
        // 1,000 clients with the default jitter (20 %, each its own seed),
        // cut at once: their first delays fill the jitter window.
        let mut c = ClientConfig::default();
        c.initial_retry(ms(1000));
        let mut buckets = [0usize; 10];
        for _ in 0..1000 {
            let mut es = EventSource::new(&c);
            es.poll(ms(0), |_| {});
            let mut delay = None;
            es.on_error(ms(0), |s| {
                if let Signal::Error { retry_in, .. } = s {
                    delay = retry_in;
                }
            });
            let d = delay.unwrap().as_millis() as usize;
            assert!((800..=1000).contains(&d), "{d}");
            // Ten buckets of 20 ms over 800..1000 ms.
            buckets[((d - 800) / 20).min(9)] += 1;
        }
        // Uniform would put 100 in each; none is empty or holds a quarter.
        #[cfg(feature = "std")]
        std::eprintln!("first delays of 1,000 clients, 20 ms buckets from 800 ms: {buckets:?}");
        assert!(
            buckets.iter().all(|&n| (40..250).contains(&n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn causes_read_as_words() {
        let words = alloc::format!("{}", Cause::Status(404));
        assert_eq!(words, "the server answered status 404");
        assert!(!alloc::format!("{}", Cause::BodyEnded).contains("BodyEnded"));
    }

    #[test]
    fn status_200_with_event_stream_opens_whatever_the_case_and_parameters() {
        for ct in [
            &b"text/event-stream"[..],
            b"TEXT/Event-Stream",
            b" text/event-stream ;charset=utf-8",
            b"text/event-stream;x=\"a;b\"",
        ] {
            let mut es = EventSource::new(&config());
            let mut out = Vec::new();
            es.poll(ms(0), |_| {});
            es.on_response(ms(0), &Response::new(200, Some(ct)), log(&mut out));
            assert_eq!(out, ["open"], "{ct:?}");
        }
    }

    #[test]
    fn other_types_and_statuses_fail_for_good_and_dispatch_nothing() {
        let cases: [(u16, Option<&[u8]>, Cause); 6] = [
            (200, Some(b"text/plain"), Cause::ContentType),
            (200, None, Cause::ContentType),
            (200, Some(b"text/event-streams"), Cause::ContentType),
            (500, Some(b"text/html"), Cause::Status(500)),
            (404, SSE, Cause::Status(404)),
            (204, None, Cause::NoContent),
        ];
        for (status, ct, cause) in cases {
            let mut es = EventSource::new(&config());
            let mut out = Vec::new();
            es.poll(ms(0), |_| {});
            es.on_response(ms(0), &Response::new(status, ct), log(&mut out));
            es.on_body(ms(1), b"data: must not appear\n\n", log(&mut out));
            assert_eq!(out, [alloc::format!("error {cause:?} None")], "{status}");
            assert_eq!(es.ready_state(), ReadyState::Closed);
            assert_eq!(es.closed_by(), Some(cause));
            assert_eq!(es.poll(ms(100_000), |_| {}), Action::Closed);
        }
    }

    #[test]
    fn a_retry_policy_retries_chosen_statuses_honouring_retry_after() {
        let mut c = config();
        c.retry_status(retry_server_errors);
        let mut es = EventSource::new(&c);
        let mut out = Vec::new();
        es.poll(ms(0), |_| {});
        es.on_response(
            ms(0),
            &Response::new(503, Some(b"text/html")).retry_after(Some(b"7")),
            log(&mut out),
        );
        assert_eq!(out, ["error Status(503) Some(7000)"]);
        assert_eq!(es.poll(ms(6999), |_| {}), Action::Wait { until: ms(7000) });
        assert_eq!(es.poll(ms(7000), |_| {}), Action::Connect);
        // 204 is never retried; a 4xx is not under this policy.
        es.on_response(ms(7000), &Response::new(204, None), log(&mut out));
        assert_eq!(es.closed_by(), Some(Cause::NoContent));
    }

    #[test]
    fn reset_before_the_response_reconnects() {
        let mut es = EventSource::new(&config());
        let mut out = Vec::new();
        es.poll(ms(0), |_| {});
        es.on_error(ms(10), log(&mut out));
        assert_eq!(out, ["error Transport Some(1000)"]);
        assert_eq!(es.ready_state(), ReadyState::Connecting);
        assert_eq!(es.poll(ms(1010), |_| {}), Action::Connect);
    }

    #[test]
    fn a_cut_mid_event_drops_it_and_resumes_after_the_last_committed_id() {
        let mut es = EventSource::new(&config());
        let mut out = Vec::new();
        open(&mut es, ms(0));
        es.on_body(ms(1), b"id: 1\ndata: one\n\nid: 2\ndata: tw", log(&mut out));
        es.on_end(ms(2), log(&mut out));
        assert_eq!(out, ["event one", "error BodyEnded Some(1000)"]);
        assert_eq!(es.last_event_id(), b"1");
        assert_eq!(es.poll(ms(1002), |_| {}), Action::Connect);
        let h: Vec<_> = es.request_headers().collect();
        assert_eq!(h[2], ("last-event-id", &b"1"[..]));
        // The new connection starts a fresh stream: nothing of "tw" leaks.
        es.on_response(ms(1002), &Response::new(200, SSE), |_| {});
        out.clear();
        es.on_body(ms(1003), b"o\n\ndata: two\n\n", log(&mut out));
        assert_eq!(out, ["event two"]);
    }

    #[test]
    fn idle_timeout_counts_keep_alives_as_bytes() {
        let mut c = config();
        c.idle_timeout(Some(ms(500)));
        let mut es = EventSource::new(&c);
        let mut out = Vec::new();
        open(&mut es, ms(0));
        assert_eq!(
            es.poll(ms(100), |_| {}),
            Action::Read {
                deadline: Some(ms(500))
            }
        );
        es.on_body(ms(400), b": keep-alive\n\n", log(&mut out));
        assert_eq!(
            es.poll(ms(800), |_| {}),
            Action::Read {
                deadline: Some(ms(900))
            }
        );
        assert_eq!(
            es.poll(ms(900), log(&mut out)),
            Action::Wait { until: ms(1900) }
        );
        assert_eq!(out, ["error IdleTimeout Some(1000)"]);
        // Waiting for a response times out too.
        assert_eq!(es.poll(ms(1900), |_| {}), Action::Connect);
        assert!(matches!(
            es.poll(ms(2400), log(&mut out)),
            Action::Wait { .. }
        ));
    }

    #[test]
    fn retry_is_clamped() {
        let mut c = config();
        c.retry_range(ms(200), ms(10_000));
        let mut es = EventSource::new(&c);
        let mut out = Vec::new();
        open(&mut es, ms(0));
        es.on_body(
            ms(0),
            b"retry: 18446744073709551615\n\nretry: 0\n\nretry: 2500\n\n",
            log(&mut out),
        );
        assert_eq!(out, ["retry 10000ms", "retry 200ms", "retry 2500ms"]);
        assert_eq!(es.retry(), ms(2500));
    }

    #[test]
    fn backoff_grows_while_nothing_is_delivered_and_resets_after_an_event() {
        let mut c = config();
        c.backoff(2, ms(5000));
        let mut es = EventSource::new(&c);
        let mut delays = Vec::new();
        let mut now = ms(0);
        for _ in 0..5 {
            assert_eq!(es.poll(now, |_| {}), Action::Connect);
            es.on_error(now, |s| {
                if let Signal::Error {
                    retry_in: Some(d), ..
                } = s
                {
                    delays.push(d.as_millis());
                }
            });
            let Action::Wait { until } = es.poll(now, |_| {}) else {
                panic!()
            };
            now = until;
        }
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
        // A connection that delivers an event resets the backoff.
        assert_eq!(es.poll(now, |_| {}), Action::Connect);
        es.on_response(now, &Response::new(200, SSE), |_| {});
        es.on_body(now, b"data: x\n\n", |_| {});
        let mut next = None;
        es.on_end(now, |s| {
            if let Signal::Error { retry_in, .. } = s {
                next = retry_in;
            }
        });
        assert_eq!(next, Some(ms(1000)));
    }

    #[test]
    fn jitter_shortens_delays_within_its_bound() {
        let mut c = config();
        c.jitter(50, 42).backoff(1, ms(1000));
        let mut es = EventSource::new(&c);
        let mut seen = Vec::new();
        let mut now = ms(0);
        for _ in 0..50 {
            es.poll(now, |_| {});
            es.on_error(now, |s| {
                if let Signal::Error {
                    retry_in: Some(d), ..
                } = s
                {
                    seen.push(d);
                }
            });
            now += ms(2000);
        }
        assert!(
            seen.iter().all(|d| *d >= ms(500) && *d <= ms(1000)),
            "{seen:?}"
        );
        assert!(seen.windows(2).any(|w| w[0] != w[1]), "jitter varies");
    }

    #[test]
    fn attempt_limit_closes() {
        let mut c = config();
        c.max_attempts(Some(3));
        let mut es = EventSource::new(&c);
        let mut out = Vec::new();
        let mut now = ms(0);
        for _ in 0..3 {
            if es.poll(now, |_| {}) == Action::Connect {
                es.on_error(now, log(&mut out));
            }
            now += ms(100_000);
        }
        assert_eq!(es.closed_by(), Some(Cause::TooManyAttempts));
        assert_eq!(out.last().unwrap(), "error TooManyAttempts None");
    }

    #[test]
    fn close_stops_everything() {
        let mut es = EventSource::new(&config());
        let mut out = Vec::new();
        open(&mut es, ms(0));
        es.close();
        es.on_body(ms(1), b"data: late\n\n", log(&mut out));
        es.on_end(ms(2), log(&mut out));
        assert!(out.is_empty());
        assert_eq!(es.ready_state(), ReadyState::Closed);
        assert_eq!(es.poll(ms(1_000_000), |_| {}), Action::Closed);
    }

    #[test]
    fn an_unsafe_last_event_id_is_not_sent() {
        let mut es = EventSource::new(&config());
        es.set_last_event_id("caf\u{e9}".as_bytes()).unwrap();
        assert!(es.request_headers().any(|(n, _)| n == "last-event-id"));
        es.set_last_event_id(b"a\x7fb").unwrap();
        assert!(!es.request_headers().any(|(n, _)| n == "last-event-id"));
    }

    #[test]
    fn an_id_over_the_bound_is_kept_but_not_sent() {
        let mut c = config();
        c.max_last_event_id(8);
        let mut es = EventSource::new(&c);
        es.set_last_event_id(b"12345678").unwrap();
        assert!(es
            .request_headers()
            .any(|(n, v)| n == "last-event-id" && v == b"12345678"));
        es.set_last_event_id(b"123456789").unwrap();
        assert!(!es.request_headers().any(|(n, _)| n == "last-event-id"));
        assert_eq!(es.last_event_id(), b"123456789");
        // The default bound: 4 KiB goes out, one byte more does not.
        let mut es = EventSource::new(&config());
        es.set_last_event_id(&[b'7'; 4096]).unwrap();
        assert!(es.request_headers().any(|(n, _)| n == "last-event-id"));
        es.set_last_event_id(&[b'7'; 4097]).unwrap();
        assert!(!es.request_headers().any(|(n, _)| n == "last-event-id"));
    }
}
