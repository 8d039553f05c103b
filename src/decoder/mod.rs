//! The incremental decoder: chunks in, events out (spec 9.2.5 and 9.2.6).
//!
//! # Design note
//!
//! A [`Decoder`] is three parts, each in its own module with its own
//! buffers, invariants and memory rule; the decoder calls their methods and
//! never touches their fields:
//!
//! - `lines` ([`LineDecoder`]): the scanner (BOM, split CRLF, a line in
//!   progress) and the line buffer that holds a line straddling chunks;
//! - `event` (`EventBuilder`): where the event's data and type are, and the
//!   buffers they are copied into when they must outlive a chunk;
//! - `ids` (`IdState`): the last event id, and an id read in the current
//!   block that its blank line will commit (spec: "dispatch the event",
//!   step 1).
//!
//! Each line goes through one function per spec step ("process the field":
//! [`Decoder::line`] dispatches to the parts' `data_line`, `event_line`,
//! `id_line`, and to retry, comment and blank line), which reports an
//! `Outcome` without borrowing anything; the two drivers turn it into an
//! [`Item`]: [`Decoder::feed_all`] (the batch path: every line of a chunk
//! in one call, with a callback) and [`Decoder::feed`] (one item per call).
//!
//! Invariants. (1) No location in the caller's chunk survives a return:
//! `feed_all` ends with the parts' `flush`, and `feed` flushes before every
//! return that is not the dispatch of that very event, because the next
//! call gets a different slice. (2) A buffer is cleared when it starts a new
//! use, never on dispatch: a dispatched event borrows it until the next
//! call. (3) Limits are checked on logical lengths (line length, joined data
//! length), never on where bytes happen to sit, so every chunking of the
//! same input yields the same items; a fixed buffer's capacity lowers the
//! matching limit, so a value that passed its limit always fits (appends
//! cannot fail, which is asserted, not handled). (4) Memory: when a chunk
//! is used up and nothing is borrowed (the end of a `feed_all` call, a
//! `feed` that returns `None`, or else the start of the call after a `feed`
//! whose item used its chunk up), each part gives back what it does not
//! need above [`Config::max_idle_buffer`] (`release`).
//! Break (1) and events read bytes of another chunk; break (3) and output
//! depends on chunking.
//!
//! The `bytes` layer decodes into `BytesMut` buffers and, for large data
//! that straddled chunks, takes the dispatched data out of the buffer that
//! holds it ([`Decoder::buffer_holding`], right after the item, which
//! invariant 2 makes safe) instead of copying it again.

mod config;
mod event;
mod ids;
mod lines;

use core::ops::ControlFlow;
use core::time::Duration;

use crate::buffer::Buffer;
use crate::error::{DecodeError, InvalidValue};
use crate::event::Event;
use crate::field::{self, FieldName, Parsed};

pub use config::Config;
use event::{Data, EventBuilder, Type};
use ids::IdState;
pub use lines::LineDecoder;
#[cfg(fuzzing)]
pub(crate) use lines::{eol_mask16, eol_mask16_scalar, Blocks, EolFinder};
use lines::{Resume, Scan, Span};

/// The buffer type [`Decoder`] and [`LineDecoder`] use when none is named:
/// `Vec<u8>` with the `alloc` feature. Without `alloc` there is no default
/// storage and this alias only keeps the type's default parameter valid;
/// name your buffer type (for example `Decoder<SliceBuffer<'_>>`).
#[cfg(feature = "alloc")]
pub type DefaultBuffer = alloc::vec::Vec<u8>;
/// The buffer type [`Decoder`] and [`LineDecoder`] use when none is named:
/// `Vec<u8>` with the `alloc` feature. Without `alloc` there is no default
/// storage and this alias only keeps the type's default parameter valid;
/// name your buffer type (for example `Decoder<SliceBuffer<'_>>`).
#[cfg(not(feature = "alloc"))]
pub type DefaultBuffer = crate::buffer::SliceBuffer<'static>;

/// The result of one call to a decoder's `feed`: how much input was used,
/// and the item found.
///
/// `item` is `None` when the chunk is used up and more input is needed (the
/// same "need more input" as an iterator's `None` everywhere in this crate).
/// `consumed` is valid for errors too: feed `&chunk[consumed..]` next and
/// the stream goes on.
#[derive(Debug)]
#[must_use = "feed the unconsumed rest of the chunk again, or the stream stalls"]
pub struct Feed<T> {
    /// Bytes of the chunk used by this call.
    pub consumed: usize,
    /// What the decoder found; `None`: the chunk is used up.
    pub item: Option<Result<T, DecodeError>>,
}

/// What a [`Decoder`] yields (the `bytes` layer's twin is
/// `bytes::BytesItem`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item<'a> {
    /// An event was dispatched.
    Event(Event<'a>),
    /// A valid `retry` field set the reconnection time (whole
    /// milliseconds, as the field gives them).
    Retry(Duration),
    /// A comment line (only with [`Config::comments`]); see
    /// [`Line::Comment`](crate::Line::Comment).
    Comment(&'a [u8]),
    /// A blank line that dispatched nothing (only with
    /// [`Config::blank_lines`]).
    Blank,
}

/// What a decoder's `finish` discarded at the end of the stream: the same
/// type for every decoder in this crate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Discarded {
    /// An event had data but its terminating blank line never came; it was
    /// not dispatched (spec: "If the file ends in the middle of an event,
    /// before the final empty line, the incomplete event is not dispatched").
    pub incomplete_event: bool,
    /// The stream ended inside a line (no line ending); that line was not
    /// interpreted.
    pub partial_line: bool,
}

/// The buffers a [`Decoder`] keeps between chunks.
///
/// # Example
/// ```
/// use ssewire::{Buffers, Config, Decoder, SliceBuffer};
/// let (mut a, mut b, mut c) = ([0u8; 256], [0u8; 1024], [0u8; 32]);
/// let (mut d, mut e) = ([0u8; 64], [0u8; 64]);
/// let dec = Decoder::with_buffers(
///     Buffers {
///         line: SliceBuffer::new(&mut a),
///         data: SliceBuffer::new(&mut b),
///         event_type: SliceBuffer::new(&mut c),
///         last_event_id: SliceBuffer::new(&mut d),
///         pending_id: SliceBuffer::new(&mut e),
///     },
///     &Config::default(),
/// );
/// # let _ = dec;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Buffers<B> {
    /// Holds a line that straddles chunks; its capacity caps the line length.
    pub line: B,
    /// Holds joined multi-line data and data carried across chunks; its
    /// capacity caps the data length.
    pub data: B,
    /// Holds an event type carried across chunks.
    pub event_type: B,
    /// Holds the last event id (the one committed by the last blank line).
    pub last_event_id: B,
    /// Holds an id read in the current block, until the block's blank line
    /// commits it. The smaller of the two id buffers caps id length.
    pub pending_id: B,
}

/// What one line did, without borrowing anything: the drivers turn it into
/// an [`Item`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Nothing,
    /// A blank line ended a block with an event in it.
    Event(Data, Type),
    /// A blank line ended a block without one.
    Blank,
    Retry(u64),
    /// A comment (when reported); its text starts at this offset of the line.
    Comment(usize),
    Error(DecodeError),
}

/// Spec: "If the field name is `retry`: if the field value consists of only
/// ASCII digits, then interpret the field value as an integer in base ten,
/// and set the event stream's reconnection time to that integer. Otherwise,
/// ignore the field."
#[inline(always)]
fn retry_line(retry: &mut Option<u64>, work: &mut Work, v: &[u8]) -> Outcome {
    work.add(v.len());
    match field::parse_digits(v) {
        Some(ms) => {
            *retry = Some(ms);
            Outcome::Retry(ms)
        }
        None => Outcome::Nothing,
    }
}

/// Applies a buffer's fixed capacity, if any, to a configured maximum.
fn effective_max<B: Buffer>(configured: usize, buf: &B) -> usize {
    match buf.capacity_limit() {
        Some(cap) => configured.min(cap),
        None => configured,
    }
}

/// The memory rule every part applies to each of its buffers: a buffer of
/// more than `keep` bytes of capacity is given back when it holds nothing
/// the part needs (`live` false), and shrunk to `keep` when what it holds is
/// at most `keep` and less than a quarter of the capacity (a line of a few
/// bytes begun after a large one, say; a buffer that is growing holds at
/// least half its capacity). Otherwise it is in use and left alone.
///
/// With `keep` 0 ([`Decoder::shrink`]) an idle buffer is given back even
/// when it shows no capacity: a `BytesMut` that data was split off holds the
/// rest of that allocation, which its capacity does not show.
fn release<B: Buffer>(buf: &mut B, live: bool, keep: usize) {
    let capacity = buf.heap_capacity();
    if capacity <= keep && keep > 0 {
        return;
    }
    let len = buf.as_bytes().len();
    if !live {
        buf.clear();
        buf.shrink_to(0);
    } else if len <= keep && len < capacity / 4 {
        buf.shrink_to(keep);
    }
}

/// A sans-IO, incremental `text/event-stream` decoder.
///
/// Feed it chunks of any size, split anywhere; it yields events, retry
/// updates and (optionally) comments, exactly as the spec's algorithm does
/// for the whole stream, whatever the chunking. It never panics on any
/// input; limit errors name the limit and the stream goes on.
///
/// # Example
/// ```
/// # #[cfg(feature = "alloc")] {
/// use ssewire::{Decoder, Item};
///
/// let mut dec = Decoder::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"data: hel"[..], b"lo\r", b"\nid: 1\n\ndata: x\n"] {
///     dec.feed_all(chunk, |item| match item {
///         Ok(Item::Event(ev)) => seen.push(ev.data_lossy().into_owned()),
///         Ok(_) => {} // retry updates; comments and blank lines if asked for
///         Err(e) => eprintln!("skipped: {e}"),
///     });
/// }
/// assert!(dec.finish().incomplete_event); // "data: x" never got its blank line
/// assert_eq!(seen, ["hello"]);
/// assert_eq!(dec.last_event_id(), b"1");
/// # }
/// ```
#[derive(Debug)]
pub struct Decoder<B: Buffer = DefaultBuffer> {
    lines: LineDecoder<B>,
    event: EventBuilder<B>,
    id: IdState<B>,
    retry: Option<u64>,
    comments: bool,
    /// Release idle buffers above this capacity.
    max_idle: usize,
    /// Where things are in the stream, for error offsets.
    offsets: Offsets,
    /// Report blank lines that dispatch nothing.
    blank_lines: bool,
    /// Bytes examined by the field splitter (the scanner counts its own).
    work: Work,
    /// The last `feed` call returned an item and used its chunk up: idle
    /// buffers are released at the start of the next call.
    lent: bool,
}

/// Stream offsets (bytes since the stream began, BOM included), kept per
/// call and per error only, never per line.
#[derive(Debug, Default, Clone, Copy)]
struct Offsets {
    /// The offset of the next byte to be fed.
    fed: u64,
    /// The offset of byte 0 of the chunk being decoded.
    base: u64,
    /// The offset where the line held in the line buffer began.
    partial_start: u64,
    /// The offset of the line that raised the last error.
    error_at: u64,
}

/// A count of bytes examined, kept in debug builds only (the linear-time
/// tests read it); in release builds it is empty and costs nothing.
#[derive(Debug, Default)]
struct Work {
    #[cfg(debug_assertions)]
    bytes: u64,
}

impl Work {
    #[inline(always)]
    fn add(&mut self, _n: usize) {
        #[cfg(debug_assertions)]
        {
            self.bytes += _n as u64;
        }
    }
}
#[cfg(feature = "alloc")]
impl Decoder<alloc::vec::Vec<u8>> {
    /// A decoder with growable buffers and the default [`Config`].
    ///
    /// # Panics
    /// Never.
    #[must_use]
    pub fn new() -> Self {
        Self::with_config(&Config::default())
    }

    /// A decoder with growable buffers and the given settings.
    #[must_use]
    pub fn with_config(config: &Config) -> Self {
        Self::with_buffers(Buffers::default(), config)
    }
}

#[cfg(feature = "alloc")]
impl Default for Decoder<alloc::vec::Vec<u8>> {
    fn default() -> Self {
        Self::new()
    }
}
impl<B: Buffer> Decoder<B> {
    /// A decoder over the given buffers. A fixed buffer's capacity lowers the
    /// matching limit (the line buffer caps line length, the data buffer caps
    /// data length), and the limits apply the same way whether or not a line
    /// actually needed buffering, so results never depend on chunking.
    ///
    /// # Example
    /// See [`Buffers`], and the crate docs for `no_std` use.
    #[must_use]
    pub fn with_buffers(buffers: Buffers<B>, config: &Config) -> Self {
        let Buffers {
            line,
            data,
            event_type,
            last_event_id,
            pending_id,
        } = buffers;
        let line_growable = line.capacity_limit().is_none();
        Decoder {
            lines: LineDecoder::with_buffer(line, config),
            event: EventBuilder::new(data, event_type, line_growable, config),
            id: IdState::new(last_event_id, pending_id),
            retry: None,
            comments: config.comments,
            max_idle: config.max_idle_buffer,
            offsets: Offsets::default(),
            blank_lines: config.blank_lines,
            work: Work::default(),
            lent: false,
        }
    }

    /// The last event id string: the value of the last accepted `id` field
    /// of a block that has ended (with its blank line), empty if none yet.
    /// It is what a client sends as `Last-Event-ID` when it reconnects.
    ///
    /// An `id` read in a block whose blank line has not come yet is not
    /// included: the spec commits the last event ID buffer to this string
    /// only when a block ends ("dispatch the event", step 1), so a client
    /// cut off mid-event does not claim an event it never received.
    #[must_use]
    pub fn last_event_id(&self) -> &[u8] {
        self.id.committed()
    }

    /// Whether the block that ended last (its blank line was the last item)
    /// had an accepted `id` line: it set the last event id, even to the
    /// value it had.
    #[cfg(feature = "http-body")]
    pub(crate) fn block_set_id(&self) -> bool {
        self.id.block_set()
    }

    /// Sets the last event id, for example to resume with the id a previous
    /// connection ended on.
    ///
    /// An `id` line already read in the current, unfinished block is
    /// forgotten: the value set here is what the block's blank line keeps.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL (no stream could have produced it),
    /// or does not fit a fixed last-event-id buffer.
    ///
    /// # Example
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// let mut dec = ssewire::Decoder::new();
    /// dec.set_last_event_id(b"42").unwrap();
    /// assert!(dec.set_last_event_id(b"4\n2").is_err());
    /// assert_eq!(dec.last_event_id(), b"42");
    /// # }
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), InvalidValue> {
        self.id.set(id)
    }

    /// The reconnection time set by the last valid `retry` field, or
    /// `None` if the stream has not set one (a client then uses its own
    /// default; browsers use a few seconds).
    #[must_use]
    pub fn retry(&self) -> Option<Duration> {
        self.retry.map(Duration::from_millis)
    }

    /// Where the most recent [`DecodeError`] came from: the stream offset
    /// (bytes since the stream began, BOM included, counted across
    /// [`Decoder::finish`] only up to it) of the start of the line that
    /// raised it. The same error has the same offset whatever the chunking.
    /// 0 before any error.
    ///
    /// # Example
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// let mut config = ssewire::Config::default();
    /// config.max_line_len(8);
    /// let mut dec = ssewire::Decoder::with_config(&config);
    /// let input = b"data: ok\n\ndata: far too long\n\n";
    /// let mut offsets = Vec::new();
    /// // Split inside the long line; any split gives the same offset.
    /// for chunk in [&input[..15], &input[15..]] {
    ///     let mut rest = chunk;
    ///     loop {
    ///         let f = dec.feed(rest);
    ///         rest = &rest[f.consumed..];
    ///         match f.item {
    ///             Some(Err(_)) => offsets.push(dec.last_error_offset()),
    ///             Some(Ok(_)) => {}
    ///             None => break,
    ///         }
    ///     }
    /// }
    /// assert_eq!(offsets, [10]); // the line `data: far too long` starts at byte 10
    /// # }
    /// ```
    #[must_use]
    pub fn last_error_offset(&self) -> u64 {
        self.offsets.error_at
    }

    /// The number of input bytes examined so far by the line scanner and the
    /// field splitter (debug builds only: counting costs nothing in
    /// release). Each input byte is examined once by the scanner and at most
    /// once more by the field splitter, whatever the chunking, so this stays
    /// below twice the input length: decoding is linear.
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    #[must_use]
    pub fn bytes_examined(&self) -> u64 {
        self.lines.bytes_examined() + self.work.bytes
    }

    /// Ends the stream: discards an unterminated event (and an `id` read in
    /// it) and any partial line, and resets the decoder for a new stream (a
    /// new BOM is accepted) while keeping the last event id string and the
    /// reconnection time, as a client does when it reconnects.
    ///
    /// # Example
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// let mut dec = ssewire::Decoder::new();
    /// let _ = dec.feed(b"id: 4\n\nid: 5\ndata: never dispatched\n");
    /// let end = dec.finish();
    /// assert!(end.incomplete_event && !end.partial_line);
    /// // Event 5 never arrived: reconnect asking for what follows 4.
    /// assert_eq!(dec.last_event_id(), b"4");
    /// # }
    /// ```
    pub fn finish(&mut self) -> Discarded {
        let end = Discarded {
            incomplete_event: self.event.is_pending(),
            partial_line: self.lines.reset(),
        };
        self.event.reset();
        self.id.drop_pending();
        self.release_idle(self.max_idle);
        self.offsets = Offsets {
            error_at: self.offsets.error_at,
            ..Offsets::default()
        };
        end
    }

    /// The last `feed` returned an item with its chunk used up, so it never
    /// released idle buffers: do it now that nothing is borrowed.
    #[inline(always)]
    fn release_lent(&mut self) {
        if self.lent {
            self.lent = false;
            self.release_idle(self.max_idle);
        }
    }

    /// Releases the heap memory of idle buffers (invariant 4): each part
    /// gives back what it does not need above `keep` bytes.
    #[inline(always)]
    fn release_idle(&mut self, keep: usize) {
        // Checked whenever nothing is borrowed: keep it to a few loads when
        // nothing is large (always, for fixed buffers).
        let largest = self
            .lines
            .heap_capacity()
            .max(self.event.heap_capacity())
            .max(self.id.heap_capacity());
        if largest > keep {
            self.release_large(keep);
        }
    }

    #[cold]
    #[inline(never)]
    fn release_large(&mut self, keep: usize) {
        self.lines.release(keep, self.event.data_in_line());
        self.event.release(keep);
        self.id.release(keep);
    }

    /// Gives back the heap memory of every buffer that holds nothing still
    /// needed, whatever its size (see [`Config::max_idle_buffer`] for the
    /// automatic release of large idle buffers). Fixed buffers are
    /// unaffected.
    ///
    /// # Example
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// let mut dec = ssewire::Decoder::new();
    /// dec.feed_all(b"data: ", |_| {});
    /// dec.feed_all(&[b'x'; 1000], |_| {}); // a line in progress: kept
    /// dec.shrink();
    /// let mut n = 0;
    /// dec.feed_all(b"\n\n", |item| n += usize::from(item.is_ok()));
    /// assert_eq!(n, 1);
    /// dec.shrink(); // idle now: everything is given back
    /// # }
    /// ```
    pub fn shrink(&mut self) {
        self.release_large(0);
    }

    /// Processes one line (spec: "process the field", or dispatch on a
    /// blank line). `span` is where the line is.
    #[inline(always)]
    fn line(&mut self, span: Span, chunk: &[u8]) -> Outcome {
        let bytes = self.lines.get(span, chunk);
        let (name, value) = match field::parse(bytes) {
            Parsed::Blank => return self.blank(),
            Parsed::Comment(at) => {
                self.work.add(1);
                return match self.comments {
                    true => Outcome::Comment(at),
                    false => Outcome::Nothing,
                };
            }
            Parsed::Field {
                name,
                name_end,
                value,
            } => {
                self.work.add((name_end + 1).min(bytes.len()));
                (name, span.from(value))
            }
        };
        let v = self.lines.get(value, chunk);
        let done = match name {
            FieldName::Data => self.event.data_line(value, v, chunk, self.lines.held()),
            FieldName::Event => self.event.event_line(value, v),
            FieldName::Id => {
                self.work.add(v.len());
                let r = self.id.id_line(value, v);
                if r.is_err() {
                    self.event.drop_event();
                }
                r
            }
            FieldName::Retry => return retry_line(&mut self.retry, &mut self.work, v),
            FieldName::Unknown => Ok(()),
        };
        match done {
            Ok(()) => Outcome::Nothing,
            Err(e) => self.error_at(span, e),
        }
    }

    /// A limit error raised by the line at `span`: its offset is noted.
    #[cold]
    fn error_at(&mut self, span: Span, e: DecodeError) -> Outcome {
        self.offsets.error_at = match span {
            Span::Chunk(a, _) => self.offsets.base + a as u64,
            Span::Line(..) => self.offsets.partial_start,
        };
        Outcome::Error(e)
    }

    /// A blank line: commit the id, dispatch the event if there is one.
    #[inline(always)]
    fn blank(&mut self) -> Outcome {
        self.id.commit();
        match self.event.end_block() {
            Some((data, event_type)) => Outcome::Event(data, event_type),
            None => Outcome::Blank,
        }
    }

    /// Copies what still points into `chunk` into the buffers (invariant
    /// 1): the event's data and type, and the ids.
    #[inline]
    fn flush(&mut self, chunk: &[u8]) {
        self.event.flush(chunk);
        self.id.flush(chunk);
    }

    /// Keeps the rest of the chunk, `chunk[at..]`, a line that goes on in
    /// the next one.
    #[inline]
    fn stash(&mut self, chunk: &[u8], at: usize) -> Result<(), ()> {
        let rest = &chunk[at..];
        if !rest.is_empty() {
            self.event.detach(&mut self.lines);
            self.offsets.partial_start = self.offsets.base + at as u64;
        }
        self.lines.stash(rest)
    }

    /// A line that began at stream offset `at` went over the limit: its
    /// event is dropped.
    fn line_too_long(&mut self, at: u64) -> DecodeError {
        self.offsets.error_at = at;
        self.event.drop_event();
        DecodeError::LineTooLong {
            max: self.lines.max_line(),
        }
    }

    /// Turns an outcome into an item, borrowing the chunk and the buffers;
    /// `None` when there is nothing to report.
    #[inline(always)]
    fn item<'a>(
        &'a self,
        outcome: Outcome,
        span: Span,
        chunk: &'a [u8],
    ) -> Option<Result<Item<'a>, DecodeError>> {
        match outcome {
            Outcome::Nothing => None,
            Outcome::Event(data, event_type) => {
                let (data, event_type) =
                    self.event.view(data, event_type, chunk, self.lines.held());
                let id = self.id.view(chunk);
                Some(Ok(Item::Event(Event::new(event_type, data, id))))
            }
            Outcome::Blank => self.blank_lines.then_some(Ok(Item::Blank)),
            Outcome::Retry(ms) => Some(Ok(Item::Retry(Duration::from_millis(ms)))),
            Outcome::Comment(at) => {
                let text = self.lines.get(span.from(at), chunk);
                Some(Ok(Item::Comment(text)))
            }
            Outcome::Error(e) => Some(Err(e)),
        }
    }

    /// Decodes all of `chunk`, passing each item to `f`: the fast path.
    /// What a item borrows is valid only during the call to `f`. Items are
    /// exactly those [`Decoder::feed`] gives.
    ///
    /// # Panics
    /// Never (unless `f` does).
    ///
    /// # Example
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// let mut dec = ssewire::Decoder::new();
    /// let mut n = 0;
    /// dec.feed_all(b"data: a\n\ndata: b\n\n", |item| {
    ///     if let Ok(ssewire::Item::Event(_)) = item {
    ///         n += 1;
    ///     }
    /// });
    /// assert_eq!(n, 2);
    /// # }
    /// ```
    #[inline]
    pub fn feed_all<F>(&mut self, chunk: &[u8], mut f: F)
    where
        F: FnMut(Result<Item<'_>, DecodeError>),
    {
        self.feed_at::<_, true>(chunk, 0, &mut |_, item| {
            f(item);
            ControlFlow::Continue(())
        });
    }

    /// [`Decoder::feed_all`] from `chunk[start..]`, passing each item's end
    /// too (the position in `chunk` just after the line that made it), and
    /// stopping after a item when `f` says so. Returns the position reached.
    /// `start` must be where the previous call on this same chunk stopped,
    /// or 0 for a new chunk.
    #[cfg(feature = "bytes")]
    #[inline]
    pub(crate) fn feed_from<F>(&mut self, chunk: &[u8], start: usize, mut f: F) -> usize
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        self.feed_at::<_, false>(chunk, start, &mut f)
    }

    /// [`Decoder::feed_from`]'s work, for it and [`Decoder::feed_all`].
    /// `BLOCKS`: find line ends with the block cursor ([`lines::Blocks`]),
    /// which the borrowed `feed_all` gains from and the `bytes` layer,
    /// measured, does not (see `benches/README.md`).
    #[inline(always)]
    fn feed_at<F, const BLOCKS: bool>(&mut self, chunk: &[u8], start: usize, f: &mut F) -> usize
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        self.release_lent();
        self.offsets.base = self.offsets.fed - start as u64;
        let pos = self.feed_lines::<_, BLOCKS>(chunk, start, f);
        self.offsets.fed = self.offsets.base + pos as u64;
        pos
    }

    /// The body of [`Decoder::feed_at`], from `chunk[start..]`: returns
    /// where it stopped.
    #[inline(always)]
    fn feed_lines<F, const BLOCKS: bool>(&mut self, chunk: &[u8], start: usize, f: &mut F) -> usize
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        let mut pos = start;
        if let Some(end) = self.resume_lines(chunk, &mut pos, f) {
            return end;
        }
        // Lines inside the chunk: the hot loop.
        let mut blocks = lines::Blocks::default();
        while let Some((a, b)) = if BLOCKS {
            self.lines
                .next_in_chunk_cached(chunk, &mut pos, &mut blocks)
        } else {
            self.lines.next_in_chunk(chunk, &mut pos)
        } {
            let outcome = if b - a > self.lines.max_line() {
                Outcome::Error(self.line_too_long(self.offsets.base + a as u64))
            } else {
                self.line(Span::Chunk(a, b), chunk)
            };
            if let Some(mut item) = self.item(outcome, Span::Chunk(a, b), chunk) {
                // The data of an event in a long ASCII line needs no UTF-8
                // check (see `lines::Blocks::ascii`).
                if BLOCKS && blocks.ascii.1 != 0 {
                    if let Ok(Item::Event(ev)) = &mut item {
                        ev.ascii = blocks.known_ascii(chunk, ev.data());
                    }
                }
                if f(pos, item).is_break() {
                    self.flush(chunk);
                    return pos;
                }
            }
        }
        if self.stash(chunk, pos).is_err() {
            let e = self.line_too_long(self.offsets.base + pos as u64);
            // The chunk is used up either way.
            let _ = f(chunk.len(), Err(e));
        }
        self.flush(chunk);
        // Nothing borrows the buffers any more: give back what a large
        // event left behind.
        self.release_idle(self.max_idle);
        chunk.len()
    }

    /// The start of [`Decoder::feed_lines`]: brings the decoder to a line
    /// start in `chunk`, finishing a line begun in an earlier chunk (or the
    /// skipping of an over-long one) and passing its item to `f`.
    /// `Some(end)` when the call is over there: the whole chunk went into
    /// the line in progress, or `f` asked to stop.
    #[inline(always)]
    fn resume_lines<F>(&mut self, chunk: &[u8], pos: &mut usize, f: &mut F) -> Option<usize>
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        while !self.lines.at_line_start() {
            match self.lines.resume(chunk, pos) {
                Resume::LineStart => break,
                // The whole chunk went into a line in progress: nothing
                // else to do (no location into it, nothing idle to
                // release while a line is in progress).
                Resume::NeedInput => return Some(chunk.len()),
                Resume::TooLong => {
                    let e = self.line_too_long(self.offsets.partial_start);
                    if f(*pos, Err(e)).is_break() {
                        return Some(*pos);
                    }
                }
                Resume::Line => {
                    let span = self.lines.buffered();
                    let outcome = self.line(span, chunk);
                    if let Some(item) = self.item(outcome, span, chunk) {
                        if f(*pos, item).is_break() {
                            self.flush(chunk);
                            return Some(*pos);
                        }
                    }
                }
            }
        }
        None
    }

    /// The one-item path's line finder (the scanner's `next` with the data
    /// moved out of the line buffer before it is reused). A too-long
    /// line's offset is recorded here, where it is known.
    #[inline]
    fn next_line(&mut self, chunk: &[u8], pos: &mut usize) -> Scan {
        if !self.lines.at_line_start() {
            match self.lines.resume(chunk, pos) {
                Resume::LineStart => {}
                Resume::Line => return Scan::Buffered,
                Resume::TooLong => {
                    self.offsets.error_at = self.offsets.partial_start;
                    return Scan::TooLong;
                }
                Resume::NeedInput => return Scan::NeedInput,
            }
        }
        match self.lines.next_in_chunk(chunk, pos) {
            Some((a, b)) if b - a > self.lines.max_line() => {
                self.offsets.error_at = self.offsets.base + a as u64;
                Scan::TooLong
            }
            Some((a, b)) => Scan::Chunk(a, b),
            None => {
                let at = *pos;
                *pos = chunk.len();
                match self.stash(chunk, at) {
                    Ok(()) => Scan::NeedInput,
                    Err(()) => {
                        self.offsets.error_at = self.offsets.base + at as u64;
                        Scan::TooLong
                    }
                }
            }
        }
    }

    /// Decodes from `chunk` until something happens: an event, a retry
    /// update, a comment or blank line when asked for, a limit error, or the
    /// end of the chunk (`item` is `None`). Then feed
    /// `&chunk[consumed..]` again. [`Decoder::feed_all`] is faster when you
    /// do not need to stop between items.
    ///
    /// What the item borrows lies inside `chunk` when it was inside it, or in
    /// the decoder's buffers when it straddled chunks or joined several
    /// lines; nothing is allocated once the buffers have grown to the largest
    /// line and event seen.
    ///
    /// # Errors
    /// [`DecodeError`] when a limit is exceeded; the event is dropped and
    /// decoding resumes at the next blank line.
    ///
    /// # Panics
    /// Never.
    ///
    /// # Example
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// use ssewire::{Decoder, Item};
    /// let mut dec = Decoder::new();
    /// let input = b"retry: 500\nevent: tick\ndata: 1\n\n";
    /// let f = dec.feed(input);
    /// assert_eq!(f.item, Some(Ok(Item::Retry(core::time::Duration::from_millis(500)))));
    /// let used = f.consumed;
    /// let f2 = dec.feed(&input[used..]);
    /// let Some(Ok(Item::Event(ev))) = f2.item else { panic!() };
    /// assert_eq!((ev.event_type(), ev.data()), (&b"tick"[..], &b"1"[..]));
    /// # }
    /// ```
    pub fn feed<'a>(&'a mut self, chunk: &'a [u8]) -> Feed<Item<'a>> {
        let (consumed, found) = self.feed_raw(chunk);
        Feed {
            consumed,
            item: found.and_then(|found| self.resolve(found, chunk)),
        }
    }

    /// [`Decoder::feed`] in two halves, so that adapters which own the
    /// chunk can loop without holding a borrow of the decoder: this half
    /// decodes and reports where the item is; [`Decoder::resolve`] (given
    /// the same `chunk`) turns that into the borrowed item.
    pub(crate) fn feed_raw(&mut self, chunk: &[u8]) -> (usize, Option<Found>) {
        self.release_lent();
        self.offsets.base = self.offsets.fed;
        let mut pos = 0;
        loop {
            let scan = self.next_line(chunk, &mut pos);
            let (outcome, span) = match scan {
                Scan::NeedInput => (Outcome::Nothing, None),
                Scan::TooLong => (
                    Outcome::Error(self.line_too_long(self.offsets.error_at)),
                    None,
                ),
                Scan::Chunk(a, b) => {
                    let span = Span::Chunk(a, b);
                    (self.line(span, chunk), Some(span))
                }
                Scan::Buffered => {
                    let span = self.lines.buffered();
                    (self.line(span, chunk), Some(span))
                }
            };
            let report = match outcome {
                Outcome::Nothing => scan == Scan::NeedInput,
                Outcome::Blank => self.blank_lines,
                _ => true,
            };
            if report {
                // Invariant 1: the next call gets another slice. (An event's
                // data and type were taken off the builder; its id is read
                // from the buffer once flushed.)
                if !matches!(outcome, Outcome::Event(..)) {
                    self.event.flush(chunk);
                }
                self.id.flush(chunk);
                self.offsets.fed = self.offsets.base + pos as u64;
                if scan == Scan::NeedInput {
                    // The chunk is used up and nothing is borrowed: give
                    // back what a large event left behind.
                    self.release_idle(self.max_idle);
                    return (pos, None);
                }
                // The item may borrow the buffers: when it used up the
                // chunk, the next call releases them (the caller may never
                // make the call that returns `None`).
                self.lent = pos == chunk.len();
                let span = span.unwrap_or(Span::Chunk(0, 0));
                return (pos, Some(Found { outcome, span }));
            }
        }
    }

    /// The item [`Decoder::feed_raw`] found; `chunk` must be the slice it
    /// was given.
    pub(crate) fn resolve<'a>(
        &'a self,
        found: Found,
        chunk: &'a [u8],
    ) -> Option<Result<Item<'a>, DecodeError>> {
        self.item(found.outcome, found.span, chunk)
    }

    /// The buffer (line or data) that holds the `len` bytes at address
    /// `at`, the data of the event the last item dispatched: the hook
    /// through which the `bytes` layer hands large data out of the buffer
    /// instead of copying it. It may split the bytes off (leaving the
    /// buffer empty) or replace the buffer.
    ///
    /// Call it only right after [`Decoder::feed_from`] stopped at that
    /// item: by invariant 2 the dispatched data is still in its buffer,
    /// and no later line has used the buffer. `None` when the bytes lie in
    /// neither buffer (they were in the chunk).
    #[cfg(feature = "bytes")]
    pub(crate) fn buffer_holding(&mut self, at: usize, len: usize) -> Option<&mut B> {
        match self.event.buffer_holding(at, len) {
            Some(buf) => Some(buf),
            None => self.lines.buffer_holding(at, len),
        }
    }

    /// Gives back every idle buffer whatever its size (as
    /// [`Decoder::shrink`]); `true` when the line and data buffers are
    /// then both empty, holding no memory at all: for the `bytes` layer,
    /// whose buffers may be the rest of an allocation that their capacity
    /// does not show.
    #[cfg(feature = "bytes")]
    #[inline]
    pub(crate) fn release_all_idle(&mut self) -> bool {
        // Nothing to do (and it stays to do) while a line or the event's
        // data is in a buffer: checked first, as this may run per chunk.
        if self.lines.in_line() || self.event.is_pending() {
            return false;
        }
        self.release_large(0);
        self.lines.heap_capacity() == 0 && self.event.heap_capacity() == 0
    }

    /// The chunk is used up after [`Decoder::feed_from`] stopped at its
    /// last item: give back large idle buffers, as a call that ran to the
    /// chunk's end does.
    #[cfg(feature = "bytes")]
    pub(crate) fn chunk_done(&mut self) {
        self.release_idle(self.max_idle);
    }
}

/// Where an item found by [`Decoder::feed_raw`] is, without a borrow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    outcome: Outcome,
    span: Span,
}

#[cfg(test)]
mod tests {
    //! The design note's invariants, driven to their edges. These run
    //! without `alloc` (fixed buffers) and, where it matters, with it.
    use super::*;
    use crate::buffer::ArrayBuffer;

    type Fixed = Decoder<ArrayBuffer<64>>;

    fn fixed() -> Fixed {
        Decoder::with_buffers(Buffers::default(), &Config::default())
    }

    /// Feeds `chunks` (copied into one reused scratch array that is
    /// overwritten between calls) and records each event's data, each
    /// error, through `feed_all` and through `feed`.
    fn run(chunks: &[&[u8]], config: &Config) -> [([u8; 64], usize, u32); 2] {
        let mut results = [([0u8; 64], 0usize, 0u32); 2];
        for (path, result) in results.iter_mut().enumerate() {
            let mut dec: Fixed = Decoder::with_buffers(Buffers::default(), config);
            let (out, len, errors) = result;
            let mut scratch = [0u8; 64];
            for chunk in chunks {
                // Invariant 1: nothing may point into the last chunk, so
                // scribble over it before the next call.
                scratch.fill(b'#');
                scratch[..chunk.len()].copy_from_slice(chunk);
                let chunk = &scratch[..chunk.len()];
                let mut take = |item: Result<Item<'_>, DecodeError>| match item {
                    Ok(Item::Event(ev)) => {
                        out[*len..*len + ev.data().len()].copy_from_slice(ev.data());
                        *len += ev.data().len();
                        out[*len] = b'|';
                        *len += 1;
                    }
                    Ok(_) => {}
                    Err(_) => *errors += 1,
                };
                if path == 0 {
                    dec.feed_all(chunk, &mut take);
                } else {
                    let mut rest = chunk;
                    loop {
                        let f = dec.feed(rest);
                        rest = &rest[f.consumed..];
                        match f.item {
                            Some(item) => take(item),
                            None => break,
                        }
                    }
                }
            }
        }
        results
    }

    fn check(chunks: &[&[u8]], config: &Config, want: &[u8], want_errors: u32) {
        for (path, (out, len, errors)) in run(chunks, config).iter().enumerate() {
            assert_eq!(&out[..*len], want, "path {path}, chunks {chunks:?}");
            assert_eq!(*errors, want_errors, "path {path}, chunks {chunks:?}");
        }
    }

    #[test]
    fn no_location_into_a_chunk_survives_a_call() {
        // Data and type located in the first chunk, dispatched in the next.
        check(
            &[b"event: t\ndata: abc\n", b"\n"],
            &Config::default(),
            b"abc|",
            0,
        );
        // The one-step path returns mid-event (a retry) and must copy too.
        check(
            &[b"data: abc\nretry: 5\n", b"\n"],
            &Config::default(),
            b"abc|",
            0,
        );
    }

    #[test]
    fn joined_data_starts_from_a_clean_buffer() {
        check(
            &[b"data: a\ndata: b\n\ndata: c\ndata: d\n\n"],
            &Config::default(),
            b"a\nb|c\nd|",
            0,
        );
    }

    #[test]
    fn straddling_data_lines_join_across_chunks() {
        check(
            &[b"data: ab", b"c\ndata: de", b"f\n\n"],
            &Config::default(),
            b"abc\ndef|",
            0,
        );
        check(
            &[b"data: ab", b"c\n", b"data: x\n\n"],
            &Config::default(),
            b"abc\nx|",
            0,
        );
    }

    #[test]
    fn limits_are_logical_whatever_the_chunking() {
        let mut config = Config::default();
        config.max_data_len(5);
        let input = b"data: abc\ndata: de\n\ndata: abc\ndata: d\n\n";
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            // 3 + 1 + 2 = 6 bytes is over; 3 + 1 + 1 = 5 is not.
            check(&[a, b], &config, b"abc\nd|", 1);
        }
    }

    #[test]
    fn a_fixed_buffer_caps_its_limit_and_appends_never_fail() {
        // Joined data of exactly the data buffer's size (31 + LF + 32 = 64)
        // fits; one byte more (65) is refused with a typed error, and the
        // next event still comes. Lines stay under the line buffer's 64.
        let mut input = [0u8; 2 * (6 + 31 + 1 + 6 + 33 + 2) + 9];
        let mut at = 0;
        for last in [32, 33] {
            for (part, n) in [
                (&b"data: "[..], 0),
                (b"", 31),
                (b"\ndata: ", 0),
                (b"", last),
            ] {
                input[at..at + part.len()].copy_from_slice(part);
                at += part.len();
                input[at..at + n].fill(b'x');
                at += n;
            }
            input[at..at + 2].copy_from_slice(b"\n\n");
            at += 2;
        }
        input[at..at + 9].copy_from_slice(b"data: k\n\n");
        let input = &input[..at + 9];
        for size in [1, 7, input.len()] {
            let mut dec = fixed();
            let mut seen = [0usize; 3];
            for chunk in input.chunks(size) {
                dec.feed_all(chunk, |item| match item {
                    Ok(Item::Event(ev)) if ev.data().len() == 64 => seen[0] += 1,
                    Ok(Item::Event(ev)) if ev.data() == b"k" => seen[1] += 1,
                    Ok(Item::Event(ev)) => panic!("unexpected event {ev:?}"),
                    Ok(_) => {}
                    Err(DecodeError::DataTooLong { max: 64 }) => seen[2] += 1,
                    Err(e) => panic!("unexpected {e}"),
                });
            }
            assert_eq!(seen, [1, 1, 1], "chunk size {size}");
        }
    }

    #[test]
    fn finish_reports_and_forgets_an_unterminated_event() {
        let mut dec = fixed();
        dec.feed_all(b"id: 1\n\ndata: x\nid: 2\n", |_| {});
        let end = dec.finish();
        assert!(end.incomplete_event && !end.partial_line);
        assert_eq!(dec.last_event_id(), b"1");
        // The new stream starts clean: no stale data joins the next event.
        let mut n = 0;
        dec.feed_all(b"data: y\n\n", |item| {
            if let Ok(Item::Event(ev)) = item {
                assert_eq!(ev.data(), b"y");
                n += 1;
            }
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn set_last_event_id_overrides_an_id_pending_in_the_block() {
        // Documented answer: the value set wins; the pending `id: 5` of the
        // unfinished block is forgotten, and the block's blank line keeps 9.
        let mut dec = fixed();
        dec.feed_all(b"id: 5\ndata: x\n", |_| {});
        assert_eq!(dec.last_event_id(), b"");
        dec.set_last_event_id(b"9").unwrap();
        let mut seen = 0;
        dec.feed_all(b"\n", |item| {
            if let Ok(Item::Event(ev)) = item {
                assert_eq!((ev.data(), ev.last_event_id()), (&b"x"[..], &b"9"[..]));
                seen += 1;
            }
        });
        assert_eq!(seen, 1);
        assert_eq!(dec.last_event_id(), b"9");
        // A later `id` line still takes over, as usual.
        dec.feed_all(b"id: 10\n\n", |_| {});
        assert_eq!(dec.last_event_id(), b"10");
    }

    /// Every item of `chunks` through `feed_all` and through `feed` (Vec
    /// buffers), as text (errors with their stream offset), then what
    /// `finish` discarded.
    #[cfg(feature = "alloc")]
    fn items_vec(chunks: &[&[u8]], config: &Config) -> [alloc::vec::Vec<alloc::string::String>; 2] {
        use alloc::format;
        let mut out: [alloc::vec::Vec<alloc::string::String>; 2] = Default::default();
        for (path, out) in out.iter_mut().enumerate() {
            let mut dec = Decoder::with_config(config);
            for chunk in chunks {
                let mut items = alloc::vec::Vec::new();
                if path == 0 {
                    dec.feed_all(chunk, |item| items.push(item.map(|i| format!("{i:?}"))));
                } else {
                    let mut rest: &[u8] = chunk;
                    loop {
                        let f = dec.feed(rest);
                        rest = &rest[f.consumed..];
                        let Some(item) = f.item else { break };
                        items.push(item.map(|i| format!("{i:?}")));
                    }
                }
                // (At most one error a chunk in these inputs: its offset
                // is still the last one.)
                for item in items {
                    out.push(match item {
                        Ok(text) => text,
                        Err(e) => format!("{e:?} at {}", dec.last_error_offset()),
                    });
                }
            }
            out.push(format!("{:?}", dec.finish()));
        }
        out
    }

    /// `input` decoded whole and cut in two and in three at every place
    /// gives the same items, by both paths.
    #[cfg(feature = "alloc")]
    fn same_items_however_cut(input: &[u8], config: &Config) {
        let whole = items_vec(&[input], config);
        assert_eq!(whole[0], whole[1], "feed_all and feed, whole");
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let cut = [&input[..i], &input[i..j], &input[j..]];
                let got = items_vec(&cut, config);
                assert_eq!(got[0], whole[0], "feed_all, cut at {i} and {j}");
                assert_eq!(got[1], whole[0], "feed, cut at {i} and {j}");
            }
        }
    }

    #[test]
    #[cfg(feature = "alloc")]
    fn multi_line_data_cut_anywhere_decodes_as_whole() {
        // `data` lines that straddle chunks, after a first one: with and
        // without the space, empty ones, CR, LF and CRLF ends (a CR that
        // ends a chunk), a type and an id around them, and events dropped
        // by a limit in between.
        // With a line limit of 24, `data: 0123...67` is at it and
        // `data: 0123...678` one over it.
        let input: &[u8] = b"event: t\ndata: first\r\ndata:second\rdata: \r\n\
            data:\ndata: x y\nid: 7\n\n: c\ndata: a\ndata: bb\r\n\r\n\
            data: 1\ndata: 012345678901234567\n\n\
            data: 2\ndata: 0123456789012345678\n\ndata: z\n\n";
        let mut config = Config::default();
        config.max_line_len(24);
        same_items_however_cut(input, &config);
        config.max_line_len(usize::MAX);
        same_items_however_cut(input, &config);
        // With the data limit close: reported where a whole input would.
        config.max_line_len(32).max_data_len(20);
        same_items_however_cut(input, &config);
    }

    /// The data of an event on one long line is marked ASCII (so that
    /// `data_str` skips its check) only when every byte of it is:
    /// non-ASCII bytes at the line's start (in the blocks searched before
    /// memchr), inside the window memchr searches, past it, and just
    /// before the line end; valid and invalid UTF-8. `data_str` agrees
    /// with the standard library every time, on both paths.
    #[cfg(feature = "alloc")]
    #[test]
    fn long_line_is_marked_ascii_only_when_it_is() {
        #[cfg(target_arch = "x86_64")]
        let fused = memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r').is_some();
        #[cfg(not(target_arch = "x86_64"))]
        let fused = false;
        for len in [200, 1100, 1200, 3000] {
            let mut input = alloc::vec::Vec::from(&b"data: "[..]);
            input.resize(6 + len, b'x');
            input.extend_from_slice(b"\n\n");
            let marks: [&[u8]; 3] = [b"", "\u{e9}".as_bytes(), b"\xff"];
            for mark in marks {
                for at in [0, 50, 127, 128, 700, 1100, 1190, len - 2]
                    .into_iter()
                    .filter(|at| at + mark.len() <= len)
                {
                    let mut input = input.clone();
                    input[6 + at..6 + at + mark.len()].copy_from_slice(mark);
                    let mut seen = 0;
                    let mut dec = Decoder::new();
                    dec.feed_all(&input, |item| {
                        let Ok(Item::Event(ev)) = item else {
                            panic!("{item:?}")
                        };
                        seen += 1;
                        // Never marked wrongly; marked where it counts:
                        // a line far longer than memchr's window, never a
                        // short one.
                        let ascii = mark.is_empty();
                        assert!(!ev.ascii || ascii, "{len} {at}");
                        match len {
                            200 => assert!(!ev.ascii),
                            3000 => assert_eq!(ev.ascii, ascii && fused, "{at}"),
                            _ => {}
                        }
                        assert_eq!(ev.data_str(), core::str::from_utf8(ev.data()));
                        assert_eq!(ev.data().len(), len);
                    });
                    let mut dec = Decoder::new();
                    let item = dec.feed(&input).item;
                    let Some(Ok(Item::Event(ev))) = item else {
                        panic!("{item:?}")
                    };
                    assert!(!ev.ascii);
                    assert_eq!(ev.data_str(), core::str::from_utf8(ev.data()));
                    assert_eq!(seen, 1);
                }
            }
        }
    }
}
