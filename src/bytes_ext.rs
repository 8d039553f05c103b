//! Feature `bytes`: decoding `bytes::Bytes` chunks into `'static` events that
//! share the input's memory, and raw frames for proxies.
//!
//! This module only drives the [`Decoder`]; every rule lives there.

use alloc::collections::VecDeque;
use core::ops::ControlFlow;

use bytes::{Bytes, BytesMut};

use crate::decoder::{Config, Decoder, Discarded, Item};

use crate::error::DecodeError;

/// A dispatched event whose fields are `bytes::Bytes`. It is `'static + Send`,
/// so it can move to another task.
///
/// Fields that lay inside one input chunk share that chunk's memory
/// (reference-counted, no copy); data that straddled chunks or joined
/// several `data` lines was copied once.
///
/// # Memory kept alive
/// A shared field keeps its whole input chunk alive for as long as the
/// event (or a clone of the field) lives. To bound that, a field is shared
/// only when its chunk is at most `max(`[`Config::max_pin`]`, 4 × the
/// field)` bytes (64 KiB by default, more than a typical network read);
/// otherwise it is copied into a shared 16 KiB block. So a queued or
/// retained event pins at most about `max(max_pin, 4 × its data)` per field
/// plus its share of one copy block, never a whole multi-megabyte read.
/// Raw frames ([`Config::raw_frames`]) always share, as they are meant to
/// be forwarded and dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BytesEvent {
    event_type: Bytes,
    data: Bytes,
    last_event_id: Bytes,
    raw: Option<Bytes>,
}

impl BytesEvent {
    /// The event type (`message` when none was set).
    #[must_use]
    pub fn event_type(&self) -> &Bytes {
        &self.event_type
    }

    /// The data.
    #[must_use]
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The last event id at dispatch.
    #[must_use]
    pub fn last_event_id(&self) -> &Bytes {
        &self.last_event_id
    }

    /// The event type decoded as the spec does (U+FFFD for invalid UTF-8);
    /// borrowed when already valid.
    #[must_use]
    pub fn event_type_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::string::String::from_utf8_lossy(&self.event_type)
    }

    /// The data decoded as the spec does (U+FFFD for invalid UTF-8);
    /// borrowed when already valid.
    ///
    /// # Example
    /// ```
    /// use ssewire::bytes::{BytesDecoder, BytesItem};
    /// let mut dec = BytesDecoder::new();
    /// dec.push(bytes::Bytes::from_static("data: café\n\n".as_bytes()));
    /// let Some(Ok(BytesItem::Event(ev))) = dec.next() else { panic!() };
    /// assert_eq!(ev.data_lossy(), "café");
    /// ```
    #[must_use]
    pub fn data_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::string::String::from_utf8_lossy(&self.data)
    }

    /// The last event id decoded as the spec does (U+FFFD for invalid
    /// UTF-8); borrowed when already valid.
    #[must_use]
    pub fn last_event_id_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::string::String::from_utf8_lossy(&self.last_event_id)
    }

    /// The data as `&str`.
    ///
    /// # Errors
    /// When it is not valid UTF-8.
    pub fn data_str(&self) -> Result<&str, core::str::Utf8Error> {
        core::str::from_utf8(&self.data)
    }

    /// The exact input bytes of this event's block, from its first line
    /// through its terminating blank line, when raw frames are on (see
    /// [`Config::raw_frames`]). `None` when they are off, or when the
    /// frame exceeded its limit.
    #[must_use]
    pub fn raw(&self) -> Option<&Bytes> {
        self.raw.as_ref()
    }

    /// Takes the fields apart: `(event_type, data, last_event_id, raw)`.
    #[must_use]
    pub fn into_parts(self) -> (Bytes, Bytes, Bytes, Option<Bytes>) {
        (self.event_type, self.data, self.last_event_id, self.raw)
    }

    /// A borrowed [`crate::Event`] view, for code written against the slice
    /// API.
    #[must_use]
    pub fn as_event(&self) -> crate::Event<'_> {
        crate::Event::new(&self.event_type, &self.data, &self.last_event_id)
    }

    /// An encoder event with the same meaning, to re-encode a changed copy:
    /// it carries the type, the data and the last event id (written as an
    /// `id` field, which sets the id a client already has: a no-op).
    ///
    /// # Example
    /// ```
    /// use ssewire::bytes::BytesDecoder;
    /// use ssewire::encode::{Encode, EventType};
    ///
    /// let mut dec = BytesDecoder::new();
    /// dec.push(bytes::Bytes::from_static(b"id: 3\nevent: a\ndata: x\n\n"));
    /// let Some(Ok(ssewire::bytes::BytesItem::Event(ev))) = dec.next() else { panic!() };
    /// let mut out = Vec::new();
    /// ev.to_encode().event_type(EventType::new("b")?).encode_vec(&mut out);
    /// assert_eq!(out, b"event: b\nid: 3\ndata: x\n\n");
    /// # Ok::<(), ssewire::InvalidValue>(())
    /// ```
    #[must_use]
    pub fn to_encode(&self) -> crate::encode::Message<'_> {
        crate::encode::Message::from(self.as_event())
    }
}

/// What a [`BytesDecoder`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BytesItem {
    /// An event was dispatched.
    Event(BytesEvent),
    /// A valid `retry` field set the reconnection time, in milliseconds.
    Retry(u64),
    /// A comment line (with [`Config::comments`]).
    Comment(Bytes),
    /// A blank line that dispatched nothing: the end of a block of comments,
    /// ids, unknown fields or an event dropped by a limit. Reported with raw
    /// frames on, or with [`Config::blank_lines`]. `raw` holds the block's
    /// bytes when raw frames are on (`None` for a block dropped by a limit).
    Blank {
        /// The block's exact input bytes.
        raw: Option<Bytes>,
    },
    /// With raw frames on, the last item after [`BytesDecoder::finish`]: the
    /// input bytes after the last complete block (an unterminated event or
    /// partial line). A proxy that forwards every raw frame and then these
    /// reproduces its input byte for byte; a downstream decoder discards
    /// them too, as this one did.
    Trailing(Bytes),
}

#[derive(Debug)]
struct Raw {
    /// Where the current frame starts in the chunk being decoded.
    start: usize,
    /// Bytes of the current frame from earlier chunks.
    pending: BytesMut,
    /// The current frame hit a decoder limit: its bytes are not kept.
    dropped: bool,
    /// The current frame went over `max`: its bytes are not kept.
    overflow: bool,
    max: usize,
}

impl Raw {
    /// The chunk is used up: keep the current frame's part of it.
    fn keep_rest(&mut self, chunk: &Bytes) {
        let start = core::mem::replace(&mut self.start, 0);
        if self.dropped || self.overflow {
            return;
        }
        let rest = &chunk[start..];
        if self.pending.len() + rest.len() > self.max {
            self.overflow = true;
            self.pending = BytesMut::new();
        } else {
            self.pending.extend_from_slice(rest);
        }
    }

    /// The current frame ends at `chunk[..end]`: hand it out and start the
    /// next one there. A frame over the limit gives `Err` with
    /// [`DecodeError::FrameTooLong`], whatever the chunking, to be queued
    /// after its item.
    fn take_frame(&mut self, chunk: &Bytes, end: usize) -> Result<Option<Bytes>, DecodeError> {
        let start = core::mem::replace(&mut self.start, end);
        let dropped = core::mem::replace(&mut self.dropped, false);
        let overflow = core::mem::replace(&mut self.overflow, false)
            || self.pending.len() + (end - start) > self.max;
        if dropped || overflow {
            self.pending = BytesMut::new();
            if overflow && !dropped {
                return Err(DecodeError::FrameTooLong { max: self.max });
            }
            return Ok(None);
        }
        if self.pending.is_empty() {
            return Ok(Some(chunk.slice(start..end)));
        }
        self.pending.extend_from_slice(&chunk[start..end]);
        Ok(Some(self.pending.split().freeze()))
    }

    /// A decoder limit dropped the current block: its bytes are not kept.
    fn drop_block(&mut self) {
        self.dropped = true;
        self.pending = BytesMut::new();
    }

    /// End of stream: the bytes after the last complete block, if kept.
    fn take_trailing(&mut self) -> Option<Bytes> {
        self.start = 0;
        let dropped = core::mem::replace(&mut self.dropped, false);
        let overflow = core::mem::replace(&mut self.overflow, false);
        let t = self.pending.split().freeze();
        (!dropped && !overflow && !t.is_empty()).then_some(t)
    }
}

/// Bytes copied out of the decoder's buffers (data joined from several
/// lines or straddling chunks, a new last event id) are carved from one
/// shared block of this size, so that a copy costs no allocation of its own.
const COPY_BLOCK: usize = 16 * 1024;

/// Turns the decoder's steps into [`BytesItem`]s for one chunk.
#[derive(Debug)]
struct Convert {
    queue: VecDeque<Result<BytesItem, DecodeError>>,
    raw: Option<Raw>,
    report_blanks: bool,
    sharer: Sharer,
}

/// Turns borrowed events into [`BytesEvent`]s: fields inside the chunk are
/// shared with it (within [`Config::max_pin`]), others are copied into
/// shared blocks; the last event id is copied only when it changes.
#[derive(Debug)]
pub(crate) struct Sharer {
    last_id: Bytes,
    copies: BytesMut,
    /// See [`Config::max_pin`].
    max_pin: usize,
}

impl Sharer {
    pub(crate) fn new(config: &Config) -> Self {
        Sharer {
            last_id: Bytes::new(),
            copies: BytesMut::new(),
            max_pin: config.max_pin,
        }
    }

    /// `ev`, from a decoder fed `chunk`, as a `'static` event.
    #[inline]
    pub(crate) fn event(
        &mut self,
        chunk: &Bytes,
        ev: crate::Event<'_>,
        raw: Option<Bytes>,
    ) -> BytesEvent {
        let event_type = match ev.raw_event_type() {
            b"" => Bytes::from_static(b"message"),
            t => self.share(chunk, t),
        };
        let data = self.share(chunk, ev.data());
        // Usually unchanged (often empty): compare lengths before bytes,
        // and copy only a new id.
        let id = ev.last_event_id();
        if id.len() != self.last_id.len() || (!id.is_empty() && self.last_id != id) {
            self.last_id = self.copy(id);
        }
        BytesEvent {
            event_type,
            data,
            last_event_id: self.last_id.clone(),
            raw,
        }
    }

    /// `part` as `Bytes`: shared with `chunk` when it lies inside it and
    /// the chunk is not much larger than the part ([`Config::max_pin`]),
    /// else copied once.
    #[inline]
    fn share(&mut self, chunk: &Bytes, part: &[u8]) -> Bytes {
        if part.is_empty() {
            return Bytes::new();
        }
        let base = chunk.as_ptr() as usize;
        let p = part.as_ptr() as usize;
        let inside = p >= base && p + part.len() <= base + chunk.len();
        if inside && chunk.len() <= self.max_pin.max(part.len().saturating_mul(4)) {
            chunk.slice(p - base..p - base + part.len())
        } else {
            self.copy(part)
        }
    }

    fn copy(&mut self, part: &[u8]) -> Bytes {
        if self.copies.capacity() - self.copies.len() < part.len() {
            self.copies.reserve(part.len().max(COPY_BLOCK));
        }
        self.copies.extend_from_slice(part);
        self.copies.split().freeze()
    }
}

impl Convert {
    #[inline]
    fn step(&mut self, chunk: &Bytes, end: usize, step: Result<Item<'_>, DecodeError>) {
        let item = match step {
            Ok(Item::Event(ev)) => {
                let (raw, late) = self.frame(chunk, end);
                let ev = self.sharer.event(chunk, ev, raw);
                self.queue.push_back(Ok(BytesItem::Event(ev)));
                late
            }
            Ok(Item::Blank) => {
                let (raw, late) = self.frame(chunk, end);
                if self.raw.is_some() || self.report_blanks {
                    self.queue.push_back(Ok(BytesItem::Blank { raw }));
                }
                late
            }
            Ok(Item::Retry(ms)) => Some(Ok(BytesItem::Retry(ms))),
            Ok(Item::Comment(c)) => Some(Ok(BytesItem::Comment(self.sharer.share(chunk, c)))),
            Err(e) => {
                if let Some(raw) = &mut self.raw {
                    raw.drop_block();
                }
                Some(Err(e))
            }
        };
        if let Some(item) = item {
            self.queue.push_back(item);
        }
    }

    /// The raw frame of a block that ends at `chunk[..end]`, and an error
    /// to queue after its item when the frame went over its limit.
    #[inline]
    fn frame(
        &mut self,
        chunk: &Bytes,
        end: usize,
    ) -> (Option<Bytes>, Option<Result<BytesItem, DecodeError>>) {
        match self.raw.as_mut().map(|r| r.take_frame(chunk, end)) {
            None => (None, None),
            Some(Ok(raw)) => (raw, None),
            Some(Err(e)) => (None, Some(Err(e))),
        }
    }
}

/// Decodes `Bytes` chunks into [`BytesItem`]s that share the input memory.
///
/// Push chunks with [`BytesDecoder::push`], which decodes them at once, and
/// take items with [`BytesDecoder::next`] until it returns `None` (more
/// input needed).
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use ssewire::bytes::{BytesDecoder, BytesItem};
///
/// let chunk = Bytes::from_static(b"data: shared\n\n");
/// let mut dec = BytesDecoder::new();
/// dec.push(chunk.clone());
/// let Some(Ok(BytesItem::Event(ev))) = dec.next() else { panic!() };
/// assert_eq!(&ev.data()[..], b"shared");
/// // The data points into the chunk's memory: no copy.
/// assert_eq!(ev.data().as_ptr(), chunk[6..].as_ptr());
/// assert!(dec.next().is_none());
/// ```
#[derive(Debug)]
pub struct BytesDecoder {
    dec: Decoder,
    /// Chunks pushed and not yet decoded to the end; the front one is
    /// decoded from `offset`.
    chunks: VecDeque<Bytes>,
    offset: usize,
    out: Convert,
}

/// How many items one batch of decoding may queue: enough to amortise a
/// batch call, few enough that a huge chunk never queues a huge list.
const BATCH: usize = 32;

impl Default for BytesDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BytesDecoder {
    /// A decoder with the default [`Config`], raw frames off.
    #[must_use]
    pub fn new() -> Self {
        Self::with_config(&Config::default())
    }

    /// A decoder with `config`, raw frames off.
    #[must_use]
    pub fn with_config(config: &Config) -> Self {
        let mut dec = Decoder::with_config(config);
        let raw = config.raw_frames.map(|max| {
            // Every block's end is needed to cut its frame.
            dec.blank_lines = true;
            Raw {
                start: 0,
                pending: BytesMut::new(),
                dropped: false,
                overflow: false,
                max,
            }
        });
        BytesDecoder {
            dec,
            chunks: VecDeque::new(),
            offset: 0,
            out: Convert {
                queue: VecDeque::new(),
                raw,
                report_blanks: config.blank_lines,
                sharer: Sharer::new(config),
            },
        }
    }

    /// Queues a chunk; its items come from [`BytesDecoder::next`], in
    /// order, after those of earlier chunks.
    pub fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.chunks.push_back(chunk);
        }
    }

    /// Decodes a batch of items from the pushed chunks; `false` when they
    /// are used up.
    fn decode_batch(&mut self, batch: usize) -> bool {
        let Some(chunk) = self.chunks.front() else {
            return false;
        };
        let out = &mut self.out;
        let mut left = batch;
        self.offset = self.dec.feed_from(chunk, self.offset, |end, step| {
            out.step(chunk, end, step);
            left = left.saturating_sub(1);
            if left == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if self.offset == chunk.len() {
            if let Some(raw) = &mut out.raw {
                raw.keep_rest(chunk);
            }
            self.chunks.pop_front();
            self.offset = 0;
        }
        true
    }

    /// The decoder, for the last event id and reconnection time.
    #[must_use]
    pub fn decoder(&self) -> &Decoder {
        &self.dec
    }

    /// Sets the last event id (see [`Decoder::set_last_event_id`]), for
    /// example to resume after a reconnection.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.dec.set_last_event_id(id)
    }

    /// Ends the stream: decodes what was pushed, then discards an
    /// unterminated event and resets for a new stream (keeping the last
    /// event id and retry). Items not taken yet still come from the
    /// iterator, followed by [`BytesItem::Trailing`] when raw frames are on
    /// and input bytes follow the last complete block.
    pub fn finish(&mut self) -> Discarded {
        while self.decode_batch(usize::MAX) {}
        let discarded = self.dec.finish();
        if let Some(t) = self.out.raw.as_mut().and_then(Raw::take_trailing) {
            self.out.queue.push_back(Ok(BytesItem::Trailing(t)));
        }
        discarded
    }
}

impl Iterator for BytesDecoder {
    type Item = Result<BytesItem, DecodeError>;

    /// The next item, or `None` when every pushed chunk is used up (push
    /// more and go on).
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.out.queue.pop_front() {
                return Some(item);
            }
            if !self.decode_batch(BATCH) {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_static<T: Send + 'static>() {}

    #[test]
    fn events_are_send_and_static() {
        assert_send_static::<BytesEvent>();
        assert_send_static::<BytesItem>();
    }

    #[test]
    fn share_copies_only_outside_the_chunk() {
        let mut conv = Sharer::new(&Config::default());
        let chunk = Bytes::from_static(b"hello world");
        let inside = conv.share(&chunk, &chunk[6..]);
        assert_eq!(inside.as_ptr(), chunk[6..].as_ptr());
        let outside = conv.share(&chunk, b"world");
        assert_eq!(outside, "world");
        assert_ne!(outside.as_ptr(), chunk[6..].as_ptr());
    }
}
