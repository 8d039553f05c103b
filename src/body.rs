//! Feature `http-body`: response bodies for servers and proxies, as
//! `http_body::Body<Data = Bytes>` (hyper 1.x, axum via
//! `axum::body::Body::new`, anything else that takes an `http_body::Body`).
//!
//! - [`EventBody`] (servers): a `Stream` of encoder items (any
//!   [`Encode`] type: [`OwnedMessage`],
//!   [`Output`](crate::encode::Output), ...) encoded into one reused buffer
//!   (no allocation per event once warm), items that are ready together
//!   sent as one frame, and a keep-alive comment when nothing was sent for
//!   an interval.
//! - [`ProxyBody`] (proxies and gateways): an upstream event-stream body
//!   decoded with raw frames; a closure sees each event and says pass,
//!   drop or replace; everything passed goes out byte for byte.
//!
//! This module only drives the encoder and the [`Decoder`].

use std::boxed::Box;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use std::vec::Vec;

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};

use crate::client::Sleeper;
use core::ops::ControlFlow;

use crate::decoder::{Config, Decoder, Item};
use crate::encode::{Encode, OwnedMessage, KEEP_ALIVE};

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
/// let events = stream::iter((1..=3).map(|n| OwnedMessage::new(format!("tick {n}")).id(n.to_string()).unwrap()));
/// let body = EventBody::new(events);
/// let bytes = futures::executor::block_on(body.collect()).unwrap().to_bytes();
/// assert_eq!(&bytes[..], b"id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\nid: 3\ndata: tick 3\n\n");
/// ```
pub struct EventBody<S, K: Sleeper = NoTimer> {
    stream: Pin<Box<S>>,
    buf: BytesMut,
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
    pub fn keep_alive(self, interval: Duration) -> EventBody<S, crate::client::TokioTimer> {
        self.keep_alive_with(interval, crate::client::TokioTimer)
    }
}

impl<S, K> EventBody<S, K>
where
    S: Stream,
    S::Item: Encode,
    K: Sleeper,
{
    /// Encodes every item that is ready, up to [`COALESCE`] bytes.
    fn pull(&mut self, cx: &mut Context<'_>) {
        while !self.done && self.buf.len() < COALESCE {
            match self.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    crate::encode::encode_growable(&item, &mut self.buf);
                }
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
        self.done && self.buf.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// What a [`ProxyBody`]'s filter decides for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the event's exact bytes.
    Pass,
    /// Forward nothing for it.
    Drop,
    /// Forward this instead.
    Replace(OwnedMessage),
}

/// A proxy's response body over an upstream event-stream body: see the
/// module docs. Comments, unknown fields and blocks without an event pass
/// unchanged; so does every event the filter passes, byte for byte (CRLF,
/// field order and all), without being copied: what passes goes out as
/// slices of the upstream's own chunks, consecutive blocks as one slice.
/// The filter sees each event borrowed, as the decoder found it. Memory is
/// bounded by the raw frame limit ([`Config::raw_frames`], default
/// [`Config::DEFAULT_MAX_FRAME_LEN`]): a block longer than that is not
/// forwarded, nor is one over a decoder limit. Upstream errors and
/// trailers come through; dropping this body drops the upstream.
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use ssewire::body::{ProxyBody, Verdict};
/// use ssewire::encode::OwnedMessage;
///
/// let upstream = Full::new(Bytes::from_static(b": hi\r\n\r\nevent: secret\ndata: x\n\nevent: shout\ndata: hey\n\ndata: keep\r\n\r\n"));
/// let body = ProxyBody::new(upstream, |ev: &ssewire::Event<'_>| match ev.event_type() {
///     b"secret" => Verdict::Drop,
///     b"shout" => Verdict::Replace(OwnedMessage::new(ev.data_lossy().to_uppercase()).event_type("shout").unwrap()),
///     _ => Verdict::Pass,
/// });
/// let out = futures::executor::block_on(body.collect()).unwrap().to_bytes();
/// assert_eq!(&out[..], b": hi\r\n\r\nevent: shout\ndata: HEY\n\ndata: keep\r\n\r\n");
/// ```
pub struct ProxyBody<B, F> {
    upstream: Pin<Box<B>>,
    decoder: Decoder,
    filter: F,
    route: Route,
    trailers: Option<http::HeaderMap>,
    upstream_done: bool,
}

/// Where each block of the upstream goes.
#[derive(Debug)]
struct Route {
    /// Frames ready to go out.
    out: VecDeque<Bytes>,
    /// Passed bytes of the current chunk not yet queued: `chunk[start..end]`.
    run: Option<(usize, usize)>,
    /// The current block's bytes from earlier chunks (slices of them).
    held: Vec<Bytes>,
    held_len: usize,
    /// A decoder limit dropped the current block: forward none of it.
    dropping: bool,
    /// The current block's bytes went over `max_frame`: they are not kept.
    oversize: bool,
    max_frame: usize,
    /// Encoding space for replacements.
    scratch: BytesMut,
}

impl Route {
    /// The block `chunk[start..end]` (after any held bytes) goes out.
    fn pass(&mut self, chunk: &Bytes, start: usize, end: usize) {
        if !self.held.is_empty() {
            self.flush(chunk);
            self.out.extend(self.held.drain(..));
            self.held_len = 0;
        }
        self.run = match self.run {
            Some((s, e)) if e == start => Some((s, end)),
            Some(_) => {
                self.flush(chunk);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }

    /// The current block is not forwarded.
    fn skip(&mut self, chunk: &Bytes) {
        self.flush(chunk);
        self.held.clear();
        self.held_len = 0;
    }

    /// Queues the passed run of `chunk`.
    fn flush(&mut self, chunk: &Bytes) {
        if let Some((s, e)) = self.run.take() {
            if s < e {
                self.out.push_back(chunk.slice(s..e));
            }
        }
    }

    /// A block ended at `chunk[..end]` (it began at `start`).
    fn end_block<F: FnMut(&crate::Event<'_>) -> Verdict>(
        &mut self,
        chunk: &Bytes,
        start: usize,
        end: usize,
        event: Option<crate::Event<'_>>,
        filter: &mut F,
    ) {
        let over = core::mem::replace(&mut self.oversize, false)
            || self.held_len + (end - start) > self.max_frame;
        let dropping = core::mem::replace(&mut self.dropping, false);
        let verdict = match event {
            Some(ev) => filter(&ev),
            None => Verdict::Pass,
        };
        match verdict {
            Verdict::Pass if !dropping && !over => self.pass(chunk, start, end),
            Verdict::Pass => {
                self.skip(chunk);
                // An event whose raw bytes went over the frame limit still
                // goes out, re-encoded with the same meaning.
                if let (Some(ev), false) = (event, dropping) {
                    self.out
                        .push_back(encode(&mut self.scratch, &crate::encode::Message::from(ev)));
                }
            }
            Verdict::Drop => self.skip(chunk),
            Verdict::Replace(m) => {
                self.skip(chunk);
                self.out.push_back(encode(&mut self.scratch, &m));
            }
        }
    }

    /// The chunk is used up; `chunk[start..]` begins the next block.
    fn keep_rest(&mut self, chunk: &Bytes, start: usize) {
        self.flush(chunk);
        let rest = chunk.len() - start;
        if rest == 0 || self.dropping || self.oversize {
            return;
        }
        if self.held_len + rest > self.max_frame {
            self.held.clear();
            self.held_len = 0;
            self.oversize = true;
            return;
        }
        self.held.push(chunk.slice(start..));
        self.held_len += rest;
    }
}

impl<B, F> fmt::Debug for ProxyBody<B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyBody")
            .field("decoder", &self.decoder)
            .field("upstream_done", &self.upstream_done)
            .finish_non_exhaustive()
    }
}

impl<B, F> ProxyBody<B, F>
where
    B: Body,
    F: FnMut(&crate::Event<'_>) -> Verdict,
{
    /// Filters `upstream` with `filter`, default limits.
    pub fn new(upstream: B, filter: F) -> Self {
        Self::with_config(upstream, filter, &Config::default())
    }

    /// Filters `upstream` with `filter` and the decoder's `config` (its raw
    /// frame limit, or the default one, bounds a block).
    pub fn with_config(upstream: B, filter: F, config: &Config) -> Self {
        let mut decoder = Decoder::with_config(config);
        // Every block's end is needed to route it.
        decoder.blank_lines = true;
        ProxyBody {
            upstream: Box::pin(upstream),
            decoder,
            filter,
            route: Route {
                out: VecDeque::new(),
                run: None,
                held: Vec::new(),
                held_len: 0,
                dropping: false,
                oversize: false,
                max_frame: config.raw_frames.unwrap_or(Config::DEFAULT_MAX_FRAME_LEN),
                scratch: BytesMut::new(),
            },
            trailers: None,
            upstream_done: false,
        }
    }

    /// The decoder, for the last event id and the reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Decodes one upstream chunk and routes its blocks.
    fn take(&mut self, chunk: &Bytes) {
        let (route, filter) = (&mut self.route, &mut self.filter);
        let mut start = 0;
        self.decoder.feed_from(chunk, 0, |end, item| {
            match item {
                Ok(Item::Event(ev)) => {
                    route.end_block(chunk, start, end, Some(ev), filter);
                    start = end;
                }
                Ok(Item::Blank) => {
                    route.end_block(chunk, start, end, None, filter);
                    start = end;
                }
                // Retry and comment lines travel inside their block.
                Ok(_) => {}
                // A limit: the decoder drops the rest of this block.
                Err(_) => route.dropping = true,
            }
            ControlFlow::Continue(())
        });
        route.keep_rest(chunk, start);
    }
}

fn encode<T: Encode + ?Sized>(scratch: &mut BytesMut, item: &T) -> Bytes {
    crate::encode::encode_growable(item, scratch);
    scratch.split().freeze()
}

impl<B, F> Body for ProxyBody<B, F>
where
    B: Body,
    B::Data: Buf,
    F: FnMut(&crate::Event<'_>) -> Verdict + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.route.out.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            if this.upstream_done {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            match this.upstream.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(mut data) => {
                        let chunk = data.copy_to_bytes(data.remaining());
                        this.take(&chunk);
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            this.trailers = Some(trailers);
                        }
                    }
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    this.upstream_done = true;
                    let _ = this.decoder.finish();
                    // An unterminated tail goes out as it came (a decoder
                    // downstream drops it too).
                    if !this.route.dropping && !this.route.oversize {
                        let held = this.route.held.drain(..);
                        this.route.out.extend(held);
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.upstream_done && self.route.out.is_empty() && self.trailers.is_none()
    }
}
