//! The event being read (spec 9.2.6: the data buffer and the event type
//! buffer): where its data and type are, and the buffers they move to when
//! they must outlive a chunk.
//!
//! While one call runs, the data and type may point into the caller's chunk
//! (`Data::Chunk`, `Type::Chunk`): nothing is copied for an event that lies
//! inside one chunk. A `data` line that straddled chunks lives in the line
//! buffer (`Data::Line`) until that buffer is reused; then it moves here,
//! by trading buffers (growable ones) or by a copy (fixed ones). A second
//! `data` line joins the values, once, in the data buffer (`Data::Buf`).

use core::mem;

use super::lines::{LineDecoder, Span};
use super::{effective_max, release, Config};
use crate::buffer::Buffer;
use crate::error::DecodeError;

/// Where the event's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Data {
    /// No `data` line yet: nothing to dispatch.
    None,
    /// One value, at `chunk[a..b]` of the current call.
    Chunk(usize, usize),
    /// One value, at `line_buf[a..b]` (a line that straddled chunks).
    Line(usize, usize),
    /// The data is `data_buf[offset..]`.
    Buf(usize),
    /// A limit dropped this event: skip `data` and `event` lines up to the
    /// block's blank line.
    Discard,
}

/// Where the event's type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Type {
    /// Empty: the event type is `message`.
    Unset,
    /// At `chunk[a..b]` of the current call.
    Chunk(usize, usize),
    /// The whole event-type buffer.
    Buf,
}

/// Appends bytes that are known to fit (invariant 3 of the decoder).
#[inline(always)]
fn append<B: Buffer>(buf: &mut B, bytes: &[u8]) {
    let fits = buf.try_extend(bytes);
    debug_assert!(fits.is_ok(), "a value that passed its limit fits");
}

/// The event being read.
#[derive(Debug)]
pub(super) struct EventBuilder<B> {
    data: Data,
    event_type: Type,
    data_buf: B,
    type_buf: B,
    max_data: usize,
    max_type: usize,
    /// The line and data buffers may trade places (both growable).
    swap: bool,
}

impl<B: Buffer> EventBuilder<B> {
    /// A builder over `data_buf` and `type_buf`; `line_growable`: the line
    /// buffer grows, so data can move between it and a growable data buffer
    /// without a copy.
    pub(super) fn new(
        mut data_buf: B,
        mut type_buf: B,
        line_growable: bool,
        config: &Config,
    ) -> Self {
        data_buf.clear();
        type_buf.clear();
        EventBuilder {
            data: Data::None,
            event_type: Type::Unset,
            max_data: effective_max(config.max_data_len, &data_buf),
            max_type: effective_max(usize::MAX, &type_buf),
            swap: line_growable && data_buf.capacity_limit().is_none(),
            data_buf,
            type_buf,
        }
    }

    /// The length of the data so far (values and the LFs that join them).
    #[inline(always)]
    fn data_len(&self) -> usize {
        match self.data {
            Data::None | Data::Discard => 0,
            Data::Chunk(a, b) | Data::Line(a, b) => b - a,
            Data::Buf(off) => self.data_buf.as_bytes().len() - off,
        }
    }

    /// A limit was hit: drop the event and skip to the block's end.
    #[inline]
    pub(super) fn drop_event(&mut self) {
        self.data = Data::Discard;
        self.event_type = Type::Unset;
    }

    /// An event has data that its blank line has not dispatched yet.
    pub(super) fn is_pending(&self) -> bool {
        !matches!(self.data, Data::None | Data::Discard)
    }

    /// Forgets the event being read (end of stream).
    pub(super) fn reset(&mut self) {
        self.data = Data::None;
        self.event_type = Type::Unset;
    }

    /// The event's data still lies in the line buffer.
    #[inline(always)]
    pub(super) fn data_in_line(&self) -> bool {
        matches!(self.data, Data::Line(..))
    }

    /// Spec: "If the field name is `data`: append the field value to the
    /// data buffer, then append a single U+000A LINE FEED character".
    /// (The final LF is never added rather than removed at dispatch.)
    /// `v` is the value, at `value`; `chunk` the chunk being decoded and
    /// `line` what the line buffer holds.
    #[inline(always)]
    pub(super) fn data_line(
        &mut self,
        value: Span,
        v: &[u8],
        chunk: &[u8],
        line: &[u8],
    ) -> Result<(), DecodeError> {
        if self.data == Data::Discard {
            return Ok(());
        }
        let joined = match self.data {
            Data::None => v.len(),
            _ => self.data_len().saturating_add(1 + v.len()),
        };
        if joined > self.max_data {
            self.drop_event();
            return Err(DecodeError::DataTooLong { max: self.max_data });
        }
        let first = match self.data {
            Data::None => {
                self.data = match value {
                    Span::Chunk(a, b) => Data::Chunk(a, b),
                    Span::Line(a, b) => Data::Line(a, b),
                };
                return Ok(());
            }
            Data::Buf(_) | Data::Discard => None,
            Data::Chunk(a, b) => Some(&chunk[a..b]),
            // (This value is in the chunk: a line that goes on in the next
            // chunk detaches the data from the line buffer first.)
            Data::Line(a, b) => Some(&line[a..b]),
        };
        if let Some(first) = first {
            // The second value: join them in the data buffer.
            self.data_buf.clear();
            append(&mut self.data_buf, first);
            self.data = Data::Buf(0);
        }
        append(&mut self.data_buf, b"\n");
        append(&mut self.data_buf, v);
        Ok(())
    }

    /// Spec: "If the field name is `event`: set the event type buffer to the
    /// field value." `v` is the value, at `value`.
    #[inline(always)]
    pub(super) fn event_line(&mut self, value: Span, v: &[u8]) -> Result<(), DecodeError> {
        if self.data == Data::Discard {
            return Ok(());
        }
        if v.len() > self.max_type {
            self.drop_event();
            return Err(DecodeError::EventTypeTooLong { max: self.max_type });
        }
        self.event_type = match value {
            Span::Chunk(a, b) if a == b => Type::Unset,
            Span::Chunk(a, b) => Type::Chunk(a, b),
            Span::Line(..) => {
                self.type_buf.clear();
                append(&mut self.type_buf, v);
                Type::Buf
            }
        };
        Ok(())
    }

    /// The line buffer is about to hold a new line: move data that lives
    /// there out of the way, by trading the two buffers (growable ones) or
    /// by a copy (fixed ones).
    #[inline]
    pub(super) fn detach(&mut self, lines: &mut LineDecoder<B>) {
        if let Data::Line(a, b) = self.data {
            if self.swap {
                lines.trade(&mut self.data_buf);
                self.data = Data::Buf(a);
                debug_assert_eq!(b, self.data_buf.as_bytes().len());
                return;
            }
            self.data_buf.clear();
            append(&mut self.data_buf, &lines.held()[a..b]);
            self.data = Data::Buf(0);
        }
    }

    /// The blank line: the event's locations, when there is one to
    /// dispatch, and a fresh block either way.
    #[inline(always)]
    pub(super) fn end_block(&mut self) -> Option<(Data, Type)> {
        let data = mem::replace(&mut self.data, Data::None);
        let event_type = mem::replace(&mut self.event_type, Type::Unset);
        match data {
            Data::None | Data::Discard => None,
            _ => Some((data, event_type)),
        }
    }

    /// The bytes of an event's data and type; `line`: what the line
    /// buffer holds.
    #[inline(always)]
    pub(super) fn view<'a>(
        &'a self,
        data: Data,
        event_type: Type,
        chunk: &'a [u8],
        line: &'a [u8],
    ) -> (&'a [u8], &'a [u8]) {
        let data = match data {
            Data::Chunk(a, b) => &chunk[a..b],
            Data::Line(a, b) => &line[a..b],
            Data::Buf(off) => &self.data_buf.as_bytes()[off..],
            Data::None | Data::Discard => &[],
        };
        let event_type = match event_type {
            Type::Unset => &[],
            Type::Chunk(a, b) => &chunk[a..b],
            Type::Buf => self.type_buf.as_bytes(),
        };
        (data, event_type)
    }

    /// Copies what still points into `chunk` into the buffers (the
    /// decoder's invariant 1).
    #[inline]
    pub(super) fn flush(&mut self, chunk: &[u8]) {
        if let Data::Chunk(a, b) = self.data {
            self.data_buf.clear();
            append(&mut self.data_buf, &chunk[a..b]);
            self.data = Data::Buf(0);
        }
        if let Type::Chunk(a, b) = self.event_type {
            self.type_buf.clear();
            append(&mut self.type_buf, &chunk[a..b]);
            self.event_type = Type::Buf;
        }
    }

    /// The largest heap capacity this part holds.
    #[inline(always)]
    pub(super) fn heap_capacity(&self) -> usize {
        self.data_buf
            .heap_capacity()
            .max(self.type_buf.heap_capacity())
    }

    /// Releases idle buffers (see [`release`]): the data buffer is in use
    /// while the event's data lies in it, the type buffer while the type
    /// does.
    pub(super) fn release(&mut self, keep: usize) {
        release(&mut self.data_buf, matches!(self.data, Data::Buf(_)), keep);
        release(&mut self.type_buf, self.event_type == Type::Buf, keep);
    }

    /// Whether `len` bytes at address `at` lie in the data buffer: then the
    /// buffer, for the `bytes` layer to take them from.
    #[cfg(feature = "bytes")]
    pub(super) fn buffer_holding(&mut self, at: usize, len: usize) -> Option<&mut B> {
        crate::buffer::spans(self.data_buf.as_bytes(), at, len).then_some(&mut self.data_buf)
    }
}
