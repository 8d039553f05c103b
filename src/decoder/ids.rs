//! The last event id (spec 9.2.6): the "last event ID string" that a blank
//! line commits, and the "last event ID buffer", an id read in the current
//! block that its blank line will commit.
//!
//! Either may lie in the chunk being decoded (a location, copied only if the
//! chunk ends before the id is used) or in its own buffer.

use core::mem;

use super::lines::Span;
use super::{effective_max, release};
use crate::buffer::Buffer;
use crate::error::{DecodeError, InvalidValue};
use crate::field;

/// Appends bytes that are known to fit (invariant 3 of the decoder).
#[inline(always)]
fn append<B: Buffer>(buf: &mut B, bytes: &[u8]) {
    let fits = buf.try_extend(bytes);
    debug_assert!(fits.is_ok(), "an id that passed its limit fits");
}

/// Where the committed id is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Committed {
    /// In the committed buffer.
    Buf,
    /// At `chunk[a..b]` of the chunk being decoded (until the chunk's flush
    /// copies it into the buffer).
    Chunk(usize, usize),
}

/// The id read in the current block, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// No accepted `id` line in this block yet.
    None,
    /// In the pending buffer.
    Buf,
    /// At `chunk[a..b]` of the chunk being decoded.
    Chunk(usize, usize),
}

/// The last event id, and the id read in the current block.
#[derive(Debug)]
pub(super) struct IdState<B> {
    committed: Committed,
    committed_buf: B,
    pending: Pending,
    pending_buf: B,
    /// The block that ended last had an accepted id line (for proxies,
    /// which must forward the id of a block they do not forward).
    #[cfg_attr(not(feature = "http-body"), allow(dead_code))]
    block_set: bool,
    max: usize,
}

impl<B: Buffer> IdState<B> {
    /// Ids kept in `committed_buf` and `pending_buf`; the smaller of the
    /// two, if fixed, caps the id length.
    pub(super) fn new(mut committed_buf: B, mut pending_buf: B) -> Self {
        committed_buf.clear();
        pending_buf.clear();
        IdState {
            max: effective_max(effective_max(usize::MAX, &committed_buf), &pending_buf),
            committed: Committed::Buf,
            committed_buf,
            pending: Pending::None,
            pending_buf,
            block_set: false,
        }
    }

    /// Spec: "If the field name is `id`: if the field value does not contain
    /// U+0000 NULL, then set the last event ID buffer to the field value.
    /// Otherwise, ignore the field." A value inside the chunk is kept as a
    /// location, copied only if the chunk ends before it is used. `v` is
    /// the value, at `value`.
    #[inline(always)]
    pub(super) fn id_line(&mut self, value: Span, v: &[u8]) -> Result<(), DecodeError> {
        if !field::id_is_accepted(v) {
            return Ok(());
        }
        if v.len() > self.max {
            return Err(DecodeError::IdTooLong { max: self.max });
        }
        self.pending = match value {
            Span::Chunk(a, b) => Pending::Chunk(a, b),
            Span::Line(..) => {
                self.pending_buf.clear();
                append(&mut self.pending_buf, v);
                Pending::Buf
            }
        };
        Ok(())
    }

    /// Dispatch step 1: the last event ID string becomes the last event ID
    /// buffer, for every block.
    #[inline(always)]
    pub(super) fn commit(&mut self) {
        self.block_set = self.pending != Pending::None;
        match mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Chunk(a, b) => self.committed = Committed::Chunk(a, b),
            Pending::Buf => {
                mem::swap(&mut self.committed_buf, &mut self.pending_buf);
                self.committed = Committed::Buf;
            }
        }
    }

    /// The committed id, `chunk` being the chunk being decoded.
    #[inline(always)]
    pub(super) fn view<'a>(&'a self, chunk: &'a [u8]) -> &'a [u8] {
        match self.committed {
            Committed::Chunk(a, b) => &chunk[a..b],
            Committed::Buf => self.committed_buf.as_bytes(),
        }
    }

    /// The committed id, once the chunk was flushed.
    #[inline]
    pub(super) fn committed(&self) -> &[u8] {
        debug_assert_eq!(self.committed, Committed::Buf, "flushed");
        self.committed_buf.as_bytes()
    }

    /// Whether the block that ended last had an accepted `id` line.
    #[cfg(feature = "http-body")]
    pub(super) fn block_set(&self) -> bool {
        self.block_set
    }

    /// Copies what still points into `chunk` into the buffers (the
    /// decoder's invariant 1).
    #[inline]
    pub(super) fn flush(&mut self, chunk: &[u8]) {
        if let Committed::Chunk(a, b) = self.committed {
            self.committed_buf.clear();
            append(&mut self.committed_buf, &chunk[a..b]);
            self.committed = Committed::Buf;
        }
        if let Pending::Chunk(a, b) = self.pending {
            self.pending_buf.clear();
            append(&mut self.pending_buf, &chunk[a..b]);
            self.pending = Pending::Buf;
        }
    }

    /// Forgets a pending id (end of stream).
    pub(super) fn drop_pending(&mut self) {
        self.pending = Pending::None;
    }

    /// Sets the committed id, forgetting a pending one.
    pub(super) fn set(&mut self, id: &[u8]) -> Result<(), InvalidValue> {
        field::check_id(id)?;
        if id.len() > self.max {
            return Err(InvalidValue::TooLong { max: self.max });
        }
        self.drop_pending();
        self.committed = Committed::Buf;
        self.committed_buf.clear();
        append(&mut self.committed_buf, id);
        Ok(())
    }

    /// The largest heap capacity this part holds.
    #[inline(always)]
    pub(super) fn heap_capacity(&self) -> usize {
        self.committed_buf
            .heap_capacity()
            .max(self.pending_buf.heap_capacity())
    }

    /// Releases idle memory (see [`release`]): the pending buffer while no
    /// pending id lies in it; the committed id keeps its bytes, without
    /// slack above `keep`.
    pub(super) fn release(&mut self, keep: usize) {
        release(&mut self.pending_buf, self.pending == Pending::Buf, keep);
        let len = self.committed_buf.as_bytes().len();
        if self.committed_buf.heap_capacity() > keep.max(len) {
            self.committed_buf.shrink_to(len);
        }
    }
}
