//! Feature `tokio-util`: [`SseCodec`], a `tokio_util::codec` decoder and
//! encoder, so `FramedRead` / `FramedWrite` work over any `AsyncRead` /
//! `AsyncWrite`.
//!
//! This module only drives [`BytesDecoder`] and the encoder.

use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder as TokioDecoder, Encoder as TokioEncoder};

use crate::bytes::{BytesDecoder, BytesItem};
use crate::decoder::Config;
use crate::encode::{Comment, Encode, Message, Output, Retry};
use crate::error::DecodeError;

/// Reads shorter than this are lent to the decoder
/// ([`BytesDecoder::push_slice`]): unless `max_pin` is off, their fields
/// would be copied anyway, as fields shorter than 1 KiB are.
const LEND_BELOW: usize = 1024;

/// What [`SseCodec`] decodes: an item, or a limit error after which decoding
/// goes on (I/O errors come separately, as the codec's `io::Error`).
pub type CodecItem = Result<BytesItem, DecodeError>;

/// A `tokio_util` codec for `text/event-stream`.
///
/// Decoding yields what [`BytesDecoder`] yields ([`BytesItem::Event`]s,
/// [`BytesItem::Retry`], comments with [`Config::comments`], raw frames with
/// [`Config::raw_frames`]), sharing the read buffer's memory; a read under
/// 1 KiB, whose fields would be copied anyway, is lent to the decoder with
/// [`BytesDecoder::push_slice`] and the buffer kept (except with
/// [`Config::max_pin`] at `usize::MAX`, which shares every field). A limit error
/// is an item, `Err(..)`, not a stream error, so the stream goes on after
/// it. Encoding accepts [`Message`], [`Comment`], [`Retry`] and [`Output`].
///
/// # Example
/// ```
/// use tokio_util::codec::{Decoder, Encoder};
/// use ssewire::codec::SseCodec;
/// use ssewire::bytes::BytesItem;
/// use ssewire::encode::Message;
///
/// let mut codec = SseCodec::new();
/// let mut buf = bytes::BytesMut::new();
/// codec.encode(Message::new("hi"), &mut buf)?;
/// assert_eq!(&buf[..], b"data: hi\n\n");
/// let Some(Ok(BytesItem::Event(ev))) = codec.decode(&mut buf)? else { panic!() };
/// assert_eq!(ev.data(), b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SseCodec {
    dec: BytesDecoder,
    /// Reads shorter than this are lent: [`LEND_BELOW`], or 0 when
    /// `max_pin` is off and every field is to be shared.
    lend_below: usize,
    /// `decode_eof` has ended the stream.
    ended: bool,
}

impl SseCodec {
    /// A codec with the default [`Config`]: events only.
    #[must_use]
    pub fn new() -> Self {
        Self::with_config(&Config::default())
    }

    /// A codec with `config` (limits, comments, raw frames).
    #[must_use]
    pub fn with_config(config: &Config) -> Self {
        SseCodec {
            dec: BytesDecoder::with_config(config),
            lend_below: if config.max_pin == usize::MAX {
                0
            } else {
                LEND_BELOW
            },
            ended: false,
        }
    }

    /// The underlying decoder, for the last event id and reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &crate::decoder::Decoder<bytes::BytesMut> {
        self.dec.decoder()
    }

    /// Sets the last event id (see
    /// [`Decoder::set_last_event_id`](crate::Decoder::set_last_event_id)),
    /// to resume after a reconnection.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.dec.set_last_event_id(id)
    }
}

impl Default for SseCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl TokioDecoder for SseCodec {
    type Item = CodecItem;
    type Error = io::Error;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<CodecItem>> {
        if src.len() >= self.lend_below {
            // Hand the bytes read so far to the decoder without copying.
            self.dec.push(src.split().freeze());
        } else if !src.is_empty() {
            // A short read: its fields are copied either way, so lend it
            // and keep the buffer, with no reference count taken on it.
            self.dec.push_slice(src);
            src.clear();
        }
        Ok(self.dec.next())
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<CodecItem>> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        if !self.ended {
            self.ended = true;
            let _ = self.dec.finish();
            if let Some(item) = self.dec.next() {
                return Ok(Some(item));
            }
        }
        // Ready for another stream on the same codec.
        self.ended = false;
        Ok(None)
    }
}

fn put<T: Encode + ?Sized>(item: &T, dst: &mut BytesMut) -> io::Result<()> {
    crate::encode::encode_growable(item, dst);
    Ok(())
}

impl TokioEncoder<Message<'_>> for SseCodec {
    type Error = io::Error;
    fn encode(&mut self, item: Message<'_>, dst: &mut BytesMut) -> io::Result<()> {
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

impl TokioEncoder<Output<'_>> for SseCodec {
    type Error = io::Error;
    fn encode(&mut self, item: Output<'_>, dst: &mut BytesMut) -> io::Result<()> {
        put(&item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data of the first event decoded from one short read, and where
    /// that data lies in the read buffer.
    fn first_event(codec: &mut SseCodec) -> (BytesItem, *const u8) {
        let mut src = BytesMut::new();
        src.extend_from_slice(b"data: ");
        src.extend_from_slice(&[b'x'; 100]);
        src.extend_from_slice(b"\n\n");
        let at = src[6..].as_ptr();
        let item = codec.decode(&mut src).unwrap().unwrap().unwrap();
        (item, at)
    }

    #[test]
    fn short_reads_are_copied_unless_max_pin_is_off() {
        let (BytesItem::Event(ev), at) = first_event(&mut SseCodec::new()) else {
            panic!("no event");
        };
        assert_eq!(ev.data(), &[b'x'; 100][..]);
        assert_ne!(
            ev.data().as_ptr(),
            at,
            "default max_pin: a short read is copied"
        );

        let mut config = Config::default();
        config.max_pin(usize::MAX);
        let (BytesItem::Event(ev), at) = first_event(&mut SseCodec::with_config(&config)) else {
            panic!("no event");
        };
        assert_eq!(ev.data(), &[b'x'; 100][..]);
        assert_eq!(ev.data().as_ptr(), at, "max_pin off: the read is shared");
    }
}
