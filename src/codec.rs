//! Feature `tokio-util`: [`SseCodec`], a `tokio_util::codec` decoder and
//! encoder, so `FramedRead` / `FramedWrite` work over any `AsyncRead` /
//! `AsyncWrite`.
//!
//! This module only drives [`BytesDecoder`] and the encoder.

use std::collections::VecDeque;
use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder as TokioDecoder, Encoder as TokioEncoder};

use crate::bytes::{BytesDecoder, BytesItem};
use crate::decoder::Config;
use crate::encode::{Comment, Encode, Event, Item, Retry};
use crate::error::DecodeError;

/// What [`SseCodec`] decodes: an item, or a limit error after which decoding
/// goes on (I/O errors come separately, as the codec's `io::Error`).
pub type CodecItem = Result<BytesItem, DecodeError>;

/// A `tokio_util` codec for `text/event-stream`.
///
/// Decoding yields [`BytesItem::Event`]s (and [`BytesItem::Retry`] with
/// [`SseCodec::retries`], comments with [`Config::comments`]) whose bytes
/// share the read buffer's memory. A limit error is an item, `Err(..)`, not
/// a stream error, so the stream goes on after it. Encoding accepts
/// [`Event`], [`Comment`], [`Retry`] and [`Item`].
///
/// # Example
/// ```
/// use tokio_util::codec::{Decoder, Encoder};
/// use ssewire::codec::SseCodec;
/// use ssewire::bytes::BytesItem;
/// use ssewire::encode::Event;
///
/// let mut codec = SseCodec::new();
/// let mut buf = bytes::BytesMut::new();
/// codec.encode(Event::new("hi"), &mut buf)?;
/// assert_eq!(&buf[..], b"data: hi\n\n");
/// let Some(Ok(BytesItem::Event(ev))) = codec.decode(&mut buf)? else { panic!() };
/// assert_eq!(&ev.data()[..], b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct SseCodec {
    dec: BytesDecoder,
    retries: bool,
    ended: Option<VecDeque<CodecItem>>,
}

impl SseCodec {
    /// A codec with the default [`Config`]: events only.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A codec with `config` (limits, comments).
    #[must_use]
    pub fn with_config(config: &Config) -> Self {
        SseCodec {
            dec: BytesDecoder::with_config(config),
            retries: false,
            ended: None,
        }
    }

    /// Also yield [`BytesItem::Retry`] items (default: off; the reconnection
    /// time is always available from [`SseCodec::decoder`]).
    #[must_use]
    pub fn retries(mut self, on: bool) -> Self {
        self.retries = on;
        self
    }

    /// The underlying decoder, for the last event id and reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &crate::decoder::Decoder {
        self.dec.decoder()
    }

    fn wanted(&self, item: &CodecItem) -> bool {
        !matches!(item, Ok(BytesItem::Retry(_))) || self.retries
    }
}

impl TokioDecoder for SseCodec {
    type Item = CodecItem;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<CodecItem>> {
        if !src.is_empty() {
            // Hand the bytes read so far to the decoder without copying.
            self.dec.push(src.split().freeze());
        }
        while let Some(item) = self.dec.next() {
            if self.wanted(&item) {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<CodecItem>> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        if self.ended.is_none() {
            let (items, _) = self.dec.finish();
            self.ended = Some(items.into());
        }
        while let Some(item) = self.ended.as_mut().and_then(VecDeque::pop_front) {
            if self.wanted(&item) {
                return Ok(Some(item));
            }
        }
        // Ready for another stream on the same codec.
        self.ended = None;
        Ok(None)
    }
}

fn put<T: Encode + ?Sized>(item: &T, dst: &mut BytesMut) -> io::Result<()> {
    dst.reserve(item.encoded_len());
    item.encode_buf(dst)
        .map(drop)
        .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))
}

impl TokioEncoder<Event<'_>> for SseCodec {
    type Error = io::Error;
    fn encode(&mut self, item: Event<'_>, dst: &mut BytesMut) -> io::Result<()> {
        put(&item, dst)
    }
}

impl TokioEncoder<Comment<'_>> for SseCodec {
    type Error = io::Error;
    fn encode(&mut self, item: Comment<'_>, dst: &mut BytesMut) -> io::Result<()> {
        put(&item, dst)
    }
}

impl TokioEncoder<Retry> for SseCodec {
    type Error = io::Error;
    fn encode(&mut self, item: Retry, dst: &mut BytesMut) -> io::Result<()> {
        put(&item, dst)
    }
}

impl TokioEncoder<Item<'_>> for SseCodec {
    type Error = io::Error;
    fn encode(&mut self, item: Item<'_>, dst: &mut BytesMut) -> io::Result<()> {
        put(&item, dst)
    }
}
