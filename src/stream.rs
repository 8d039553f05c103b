//! Feature `futures`: [`EventStream`], which turns any stream of byte chunks
//! (`reqwest`'s `bytes_stream()`, a hyper body's data frames, a channel)
//! into a stream of events.
//!
//! This module only drives [`BytesDecoder`].

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use alloc::boxed::Box;

use bytes::Bytes;
use futures_core::Stream;

use crate::bytes::{BytesDecoder, BytesEvent, BytesItem};
use crate::decoder::{Config, Decoder};
use crate::error::ReadError;

/// Events from a stream of byte chunks.
///
/// Chunks may be any `B: Into<Bytes>` (`Bytes` itself is taken without a
/// copy). Events are [`BytesEvent`]s, `'static + Send`. When the input ends,
/// an unterminated last event is dropped, as the spec says. For
/// reconnection, read [`EventStream::last_event_id`] and
/// [`EventStream::retry`].
///
/// # Example
/// With `reqwest` (`let chunks = response.bytes_stream();`) or a hyper 1.x
/// body (`http_body_util::BodyDataStream::new(body)`), the same code applies:
/// ```
/// use futures::executor::block_on;
/// use futures::stream;
/// use ssewire::stream::EventStream;
///
/// let chunks = stream::iter([Ok::<_, std::io::Error>(&b"id: 1\ndata: he"[..]), Ok(b"llo\n\n")]);
/// let mut events = EventStream::new(chunks);
/// block_on(async {
///     let ev = events.next_event().await.unwrap().unwrap();
///     assert_eq!(ev.data(), b"hello");
///     assert!(events.next_event().await.is_none());
/// });
/// assert_eq!(events.last_event_id(), b"1");
/// ```
pub struct EventStream<S> {
    inner: Pin<Box<S>>,
    dec: BytesDecoder,
    done: bool,
}

impl<S> fmt::Debug for EventStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("decoder", &self.dec)
            .field("done", &self.done)
            .finish()
    }
}

impl<S, B, E> EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    /// Events from `chunks`, with the default [`Config`].
    pub fn new(chunks: S) -> Self {
        Self::with_config(chunks, &Config::default())
    }

    /// Events from `chunks`, with `config`.
    pub fn with_config(chunks: S, config: &Config) -> Self {
        EventStream {
            inner: Box::pin(chunks),
            dec: BytesDecoder::with_config(config),
            done: false,
        }
    }

    /// Sets the last event id (see
    /// [`Decoder::set_last_event_id`](crate::Decoder::set_last_event_id)),
    /// to resume after a reconnection.
    ///
    /// # Errors
    /// When `id` could not have come from a stream (CR, LF or NUL).
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.dec.set_last_event_id(id)
    }

    /// The decoder state: last event id, reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &Decoder<bytes::BytesMut> {
        self.dec.decoder()
    }

    /// The last event id, to send as `Last-Event-ID` when reconnecting.
    #[must_use]
    pub fn last_event_id(&self) -> &[u8] {
        self.dec.decoder().last_event_id()
    }

    /// The reconnection time the server asked for.
    #[must_use]
    pub fn retry(&self) -> Option<core::time::Duration> {
        self.dec.decoder().retry()
    }

    /// The next event, without needing a `StreamExt` trait.
    pub async fn next_event(&mut self) -> Option<Result<BytesEvent, ReadError<E>>> {
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    type Item = Result<BytesEvent, ReadError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.dec.next() {
                Some(Ok(BytesItem::Event(ev))) => return Poll::Ready(Some(Ok(ev))),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Poll::Ready(Some(Err(ReadError::Decode(e)))),
                None => {}
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.dec.push(chunk.into()),
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(ReadError::Transport(e))))
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let _ = this.dec.finish();
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
