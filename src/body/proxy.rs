//! [`ProxyBody`]: an upstream event stream filtered on its way to a
//! client, over one upstream connection (`relay.rs` has the design notes).

use std::boxed::Box;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame};

use super::relay::Relay;
use crate::decoder::{Config, Decoder};
use crate::encode::OwnedMessage;
use crate::error::InvalidValue;
use crate::Event;

/// What a [`ProxyBody`]'s filter decides for one event.
///
/// Whatever the verdict, the client's last event id and reconnection time
/// end up as the upstream set them (see the module docs):
///
/// | verdict | what goes out |
/// |---|---|
/// | `Pass` | the block's exact bytes (re-encoded with the same meaning if it is over the raw frame limit) |
/// | `Drop` | only its stream control: `retry: N` if the block had a valid `retry` line, `id: X` if it had an `id` line (X: the last event id it left), and a blank line; nothing at all when it had neither |
/// | `Replace(m)` | `m`, with the original block's `id` and `retry` added unless `m` sets its own |
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the event's exact bytes.
    Pass,
    /// Forward nothing of it but its stream control.
    Drop,
    /// Forward this instead.
    Replace(OwnedMessage),
}

/// A proxy's response body over an upstream event-stream body: see the
/// module docs. Comments, unknown fields and blocks without an event pass
/// unchanged; so does every event the filter passes, byte for byte (CRLF,
/// field order and all), without being copied when it lies inside one
/// upstream chunk; consecutive blocks go out as one slice, and small
/// frames ready together as one frame. The filter sees each event
/// borrowed, as the decoder found it; [`Verdict`] says what each verdict
/// forwards.
///
/// Memory is bounded by the raw frame limit ([`Config::raw_frames`],
/// default [`Config::DEFAULT_MAX_FRAME_LEN`]) besides the decoder's limits:
/// a block longer than that is re-encoded instead of forwarded as it came,
/// and a block over a decoder limit is dropped (its stream control still
/// goes out).
///
/// At the upstream's end, trailers come through and the unterminated tail
/// goes out as it came (the client drops it as the proxy did, and applies
/// a `retry` line in it as the proxy did). An upstream error ends this body
/// the same way, cleanly, so that everything forwarded reaches the client
/// (an EventSource client reconnects after either);
/// [`ProxyBody::propagate_errors`] passes the error on instead. Dropping
/// this body drops the upstream.
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use ssewire::body::{ProxyBody, Verdict};
/// use ssewire::encode::OwnedMessage;
///
/// let upstream = Full::new(Bytes::from_static(b": hi\r\n\r\nid: 1\nevent: secret\ndata: x\n\nevent: shout\ndata: hey\n\ndata: keep\r\n\r\n"));
/// let body = ProxyBody::new(upstream, |ev: &ssewire::Event<'_>| match ev.event_type() {
///     b"secret" => Verdict::Drop,
///     b"shout" => Verdict::Replace(OwnedMessage::new(ev.data_lossy().to_uppercase()).try_event_type("shout").unwrap()),
///     _ => Verdict::Pass,
/// });
/// let out = futures::executor::block_on(body.collect()).unwrap().to_bytes();
/// // The dropped event's id still reaches the client.
/// assert_eq!(&out[..], b": hi\r\n\r\nid: 1\n\nevent: shout\ndata: HEY\n\ndata: keep\r\n\r\n");
/// ```
pub struct ProxyBody<B, F> {
    upstream: Pin<Box<B>>,
    relay: Relay<F>,
    trailers: Option<http::HeaderMap>,
    upstream_done: bool,
    propagate_errors: bool,
}

impl<B, F> fmt::Debug for ProxyBody<B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyBody")
            .field("decoder", &self.relay.decoder)
            .field("upstream_done", &self.upstream_done)
            .finish_non_exhaustive()
    }
}

impl<B, F> ProxyBody<B, F>
where
    B: Body,
    F: FnMut(&Event<'_>) -> Verdict,
{
    /// Filters `upstream` with `filter`, default limits.
    pub fn new(upstream: B, filter: F) -> Self {
        Self::with_config(upstream, filter, &Config::default())
    }

    /// Filters `upstream` with `filter` and the decoder's `config` (its raw
    /// frame limit, or the default one, bounds a block).
    pub fn with_config(upstream: B, filter: F, config: &Config) -> Self {
        ProxyBody {
            upstream: Box::pin(upstream),
            relay: Relay::new(filter, config),
            trailers: None,
            upstream_done: false,
            propagate_errors: false,
        }
    }

    /// Starts the decoder from the client's last event id (its
    /// `Last-Event-ID` request header), so that the events the filter sees
    /// carry the id the client would give them, and [`ProxyBody::decoder`]
    /// reports it until the upstream sets another.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL, or is over the decoder's limit;
    /// the proxy then goes on without it.
    ///
    /// # Example
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use ssewire::body::{ProxyBody, Verdict};
    ///
    /// // The client resumed after id 5; the upstream's next event has no id.
    /// let upstream = Full::new(Bytes::from_static(b"data: next\n\n"));
    /// let mut body = ProxyBody::new(upstream, |ev: &ssewire::Event<'_>| {
    ///     assert_eq!(ev.last_event_id(), b"5");
    ///     Verdict::Pass
    /// });
    /// body.set_last_event_id(b"5")?;
    /// let out = futures::executor::block_on(body.collect()).unwrap().to_bytes();
    /// assert_eq!(&out[..], b"data: next\n\n");
    /// # Ok::<(), ssewire::InvalidValue>(())
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), InvalidValue> {
        self.relay.decoder.set_last_event_id(id)
    }

    /// Pass an upstream error on as this body's error (default: end the
    /// body cleanly after what was forwarded; see the type's docs). A
    /// server such as hyper then aborts the response, and may not write
    /// frames it had not flushed yet.
    #[must_use]
    pub fn propagate_errors(mut self, on: bool) -> Self {
        self.propagate_errors = on;
        self
    }

    /// The decoder, for the last event id and the reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &Decoder {
        &self.relay.decoder
    }

    /// The upstream is over: what is left of it goes out.
    fn upstream_over(&mut self) {
        self.upstream_done = true;
        self.relay.end();
    }
}

impl<B, F> Body for ProxyBody<B, F>
where
    B: Body,
    B::Data: Buf,
    F: FnMut(&Event<'_>) -> Verdict + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.relay.next_frame() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            if this.upstream_done {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            match this.upstream.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(mut data) => {
                        let chunk = data.copy_to_bytes(data.remaining());
                        this.relay.take(&chunk);
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            this.trailers = Some(trailers);
                        }
                    }
                },
                Poll::Ready(Some(Err(e))) if this.propagate_errors => {
                    this.upstream_done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Err(_))) | Poll::Ready(None) => this.upstream_over(),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.upstream_done && self.relay.is_empty() && self.trailers.is_none()
    }
}
