//! Bytes to lines: the [`LineDecoder`], which owns the line scanner
//! (`scan`: BOM, CR / LF / CRLF also split across chunks, a line in
//! progress; its line finder uses `simd` beneath it) and the line buffer
//! that holds a line straddling chunks.
//!
//! The [`Decoder`](super::Decoder) drives it line by line; a line is a
//! [`Span`], either inside the caller's chunk or in the line buffer, and
//! only this part reads or writes the line buffer.

mod scan;
mod simd;

use super::{effective_max, release, Config, Discarded, Feed};
use crate::buffer::Buffer;
use crate::error::DecodeError;
use crate::field::Line;
#[cfg(fuzzing)]
pub(crate) use scan::EolFinder;
use scan::Scanner;
pub(crate) use scan::{Blocks, Resume, Scan};

/// The SIMD mask and its scalar twin, for the `eol` fuzz target.
#[cfg(fuzzing)]
pub(crate) use simd::{eol_mask16, eol_mask16_scalar};

/// Where a line (or a value in it) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Span {
    /// `chunk[a..b]`.
    Chunk(usize, usize),
    /// `line_buf[a..b]`.
    Line(usize, usize),
}

impl Span {
    /// The part from `offset` (relative to the span's start) to its end.
    #[inline(always)]
    pub(super) fn from(self, offset: usize) -> Span {
        match self {
            Span::Chunk(a, b) => Span::Chunk(a + offset, b),
            Span::Line(a, b) => Span::Line(a + offset, b),
        }
    }
}

/// A line-level decoder: every line of the stream, classified, with borrowed
/// slices. For proxies and tools that want comments, unknown fields and
/// block boundaries as they are; it does not interpret fields (use
/// [`Decoder`](super::Decoder) for events, which is built on this).
///
/// # Example
/// ```
/// # #[cfg(feature = "alloc")] {
/// use ssewire::{Line, LineDecoder};
/// let mut dec = LineDecoder::new();
/// let mut rest: &[u8] = b": hi\r\ndata: x\r\n\r\n";
/// let mut lines = Vec::new();
/// loop {
///     let f = dec.feed(rest);
///     rest = &rest[f.consumed..];
///     match f.item {
///         Some(Ok(line)) => lines.push(format!("{line:?}")),
///         None => break,
///         Some(Err(e)) => panic!("{e}"),
///     }
/// }
/// assert_eq!(lines.len(), 3);
/// assert!(lines[0].starts_with("Comment"));
/// # }
/// ```
#[derive(Debug)]
pub struct LineDecoder<B: Buffer = super::DefaultBuffer> {
    scanner: Scanner,
    line: B,
    max_line: usize,
}

#[cfg(feature = "alloc")]
impl LineDecoder<alloc::vec::Vec<u8>> {
    /// A line decoder with a growable buffer and the default line limit.
    #[must_use]
    pub fn new() -> Self {
        Self::with_buffer(alloc::vec::Vec::new(), &Config::default())
    }
}

#[cfg(feature = "alloc")]
impl Default for LineDecoder<alloc::vec::Vec<u8>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Buffer> LineDecoder<B> {
    /// A line decoder over `line` storage, with `config`'s line limit
    /// (capped by the buffer's capacity).
    #[must_use]
    pub fn with_buffer(mut line: B, config: &Config) -> Self {
        line.clear();
        let max_line = effective_max(config.max_line_len, &line);
        LineDecoder {
            scanner: Scanner::default(),
            line,
            max_line,
        }
    }

    /// Finds the next line in `chunk`; `item` is `None` when the chunk is
    /// used up.
    ///
    /// # Errors
    /// [`DecodeError::LineTooLong`]; the line is skipped.
    pub fn feed<'a>(&'a mut self, chunk: &'a [u8]) -> Feed<Line<'a>> {
        let mut pos = 0;
        let item = match self.next(chunk, &mut pos) {
            Scan::NeedInput => None,
            Scan::TooLong => Some(Err(DecodeError::LineTooLong { max: self.max_line })),
            Scan::Chunk(a, b) => Some(Ok(Line::parse(&chunk[a..b]))),
            Scan::Buffered => Some(Ok(Line::parse(self.line.as_bytes()))),
        };
        Feed {
            consumed: pos,
            item,
        }
    }

    /// Ends the stream and says what was discarded (a line decoder never
    /// has an event to discard). The decoder is ready for a new stream.
    pub fn finish(&mut self) -> Discarded {
        Discarded {
            incomplete_event: false,
            partial_line: self.reset(),
        }
    }

    /// Bytes examined so far (debug builds only); equal to the bytes fed
    /// (linear time).
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    #[must_use]
    pub fn bytes_examined(&self) -> u64 {
        self.scanner.scanned()
    }

    /// The line limit in force.
    #[inline(always)]
    pub(super) fn max_line(&self) -> usize {
        self.max_line
    }

    /// Inside a line whose first bytes are in the line buffer.
    #[inline(always)]
    pub(super) fn in_line(&self) -> bool {
        self.scanner.in_line()
    }

    /// At a line start: the hot loop may run.
    #[inline(always)]
    pub(super) fn at_line_start(&self) -> bool {
        self.scanner.at_line_start()
    }

    /// The bytes at `span`, `chunk` being the chunk being decoded.
    #[inline(always)]
    pub(super) fn get<'a>(&'a self, span: Span, chunk: &'a [u8]) -> &'a [u8] {
        match span {
            Span::Chunk(a, b) => &chunk[a..b],
            Span::Line(a, b) => &self.line.as_bytes()[a..b],
        }
    }

    /// What the line buffer holds.
    #[inline(always)]
    pub(super) fn held(&self) -> &[u8] {
        self.line.as_bytes()
    }

    /// The line held in the buffer, whole.
    #[inline(always)]
    pub(super) fn buffered(&self) -> Span {
        Span::Line(0, self.line.as_bytes().len())
    }

    /// Brings the scanner to a line start in `chunk` (see
    /// [`Resume`]).
    #[inline(always)]
    pub(super) fn resume(&mut self, chunk: &[u8], pos: &mut usize) -> Resume {
        self.scanner
            .resume(chunk, pos, &mut self.line, self.max_line)
    }

    /// From a line start, the next line inside `chunk[*pos..]`.
    #[inline(always)]
    pub(super) fn next_in_chunk(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
    ) -> Option<(usize, usize)> {
        self.scanner.next_in_chunk(chunk, pos)
    }

    /// [`LineDecoder::next_in_chunk`] with the hot loop's cursor.
    #[inline(always)]
    pub(super) fn next_in_chunk_cached(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        c: &mut Blocks,
    ) -> Option<(usize, usize)> {
        self.scanner.next_in_chunk_cached(chunk, pos, c)
    }

    /// Keeps `rest`, a line that goes on in the next chunk; `Err` when it
    /// is already over the limit (it is skipped).
    #[inline]
    pub(super) fn stash(&mut self, rest: &[u8]) -> Result<(), ()> {
        self.scanner.stash(rest, &mut self.line, self.max_line)
    }

    /// The next line of `chunk[*pos..]`, one at a time (the one-step path
    /// of this decoder; `Decoder` has its own, which moves data out of the
    /// line buffer before the buffer is reused).
    #[inline]
    fn next(&mut self, chunk: &[u8], pos: &mut usize) -> Scan {
        self.scanner.next(chunk, pos, &mut self.line, self.max_line)
    }

    /// Trades the line buffer for `other` (both growable): data that lived
    /// in the line buffer moves without a copy.
    #[inline]
    pub(super) fn trade(&mut self, other: &mut B) {
        core::mem::swap(&mut self.line, other);
    }

    /// Back to the start of a stream; whether a partial line was dropped.
    pub(super) fn reset(&mut self) -> bool {
        let partial = self.scanner.has_partial_line();
        self.scanner.reset();
        partial
    }

    /// The largest heap capacity this part holds.
    #[inline(always)]
    pub(super) fn heap_capacity(&self) -> usize {
        self.line.heap_capacity()
    }

    /// Releases the line buffer when idle (see [`release`]): it is in use
    /// while a line is in progress, or while `holds_data` (the event's
    /// data still lies in it).
    pub(super) fn release(&mut self, keep: usize, holds_data: bool) {
        let live = holds_data || self.in_line();
        release(&mut self.line, live, keep);
    }

    /// Whether `len` bytes at address `at` lie in the line buffer: then
    /// the buffer, for the `bytes` layer to take them from.
    #[cfg(feature = "bytes")]
    pub(super) fn buffer_holding(&mut self, at: usize, len: usize) -> Option<&mut B> {
        crate::buffer::spans(self.line.as_bytes(), at, len).then_some(&mut self.line)
    }
}
