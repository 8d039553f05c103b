//! The incremental decoder: chunks in, events out (spec 9.2.5 and 9.2.6).
//!
//! # Design note
//!
//! A [`Decoder`] is three parts, each with its own type, so that their
//! borrows are disjoint:
//!
//! - the [`LineDecoder`]: the [`Scanner`] (BOM, split CRLF, a line in
//!   progress; its states are listed in `scan.rs`) and the line buffer that
//!   holds a line straddling chunks;
//! - the `EventBuilder`: where the event's data and type are, and the
//!   buffers they are copied into when they must outlive a chunk;
//! - the `IdState`: the last event id, and an id read in the current block
//!   that its blank line will commit (spec: "dispatch the event", step 1).
//!
//! Each line goes through one function per spec step ("process the field":
//! [`Decoder::line`] dispatches to `data_line`, `event_line`, `id_line`,
//! retry, comment and blank line), which reports an `Outcome` without
//! borrowing anything; the two drivers turn it into a [`Item`]:
//! [`Decoder::feed_all`] (the batch path: every line of a chunk in one call,
//! with a callback) and [`Decoder::feed`] (one step per call).
//!
//! Where bytes live. While one call runs, the event's data and type may
//! point into the caller's chunk (`Data::Chunk`, `Type::Chunk`): nothing is
//! copied for an event that lies inside one chunk. A `data` line that
//! straddled chunks lives in the line buffer, which trades places with the
//! data buffer (growable buffers) or is copied into it (fixed ones). A
//! second `data` line joins the values, once, in the data buffer
//! (`Data::Buf`).
//!
//! Invariants. (1) No `Chunk` location survives a return: `feed_all` ends
//! with `EventBuilder::flush`, and `feed` flushes before every return that
//! is not the dispatch of that very event, because the next call gets a
//! different slice. (2) A buffer is cleared when it starts a new use, never
//! on dispatch: a dispatched event borrows it until the next call.
//! (3) Limits are checked on logical lengths (line length, joined data
//! length), never on where bytes happen to sit, so every chunking of the
//! same input yields the same steps; a fixed buffer's capacity lowers the
//! matching limit, so a value that passed its limit always fits (appends
//! cannot fail, which is asserted, not handled).
//! Break (1) and events read bytes of another chunk; break (3) and output
//! depends on chunking.
//!
//! The `bytes` layer decodes into `BytesMut` buffers and, for large data
//! that straddled chunks, takes the dispatched data out of its buffer
//! (`take_held`, right after the step, which invariant 2 makes safe)
//! instead of copying it again.

use core::mem;
use core::ops::ControlFlow;

use crate::buffer::Buffer;
use crate::error::{DecodeError, InvalidValue};
use crate::event::Event;
use crate::field::{self, FieldName, Line, Parsed};
use crate::scan::{Resume, Scan, Scanner, State};

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

/// Decoder settings: limits and which extra steps to report.
///
/// # Example
/// ```
/// # #[cfg(feature = "alloc")] {
/// let mut config = ssewire::Config::default();
/// config.max_line_len(64 * 1024).comments(true);
/// let dec = ssewire::Decoder::with_config(&config);
/// # let _ = dec;
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) max_line_len: usize,
    pub(crate) max_data_len: usize,
    pub(crate) comments: bool,
    pub(crate) blank_lines: bool,
    pub(crate) raw_frames: Option<usize>,
    pub(crate) max_idle_buffer: usize,
    pub(crate) max_pin: usize,
}

impl Config {
    /// The default maximum line length: 16 MiB.
    ///
    /// Real streams carry long lines: image generation sends a whole
    /// base64 image (commonly 1-5 MB) as one `data:` line, and 1 MiB caps
    /// are the most reported SSE client failure in other ecosystems. 16 MiB
    /// is several times the largest such line seen, and still bounds what a
    /// misbehaving server can make a decoder hold. With growable buffers a
    /// decoder holds at most about `max_line_len + max_data_len` (plus an
    /// eighth) while such an event is in flight, and gives it back once the
    /// event is handed out (see [`Config::max_idle_buffer`]).
    pub const DEFAULT_MAX_LINE_LEN: usize = 16 << 20;
    /// The default maximum data length of one event: 32 MiB (two maximal
    /// lines; see [`Config::DEFAULT_MAX_LINE_LEN`] for the memory it allows).
    pub const DEFAULT_MAX_DATA_LEN: usize = 32 << 20;
    /// The default [`Config::max_idle_buffer`]: 16 KiB.
    pub const DEFAULT_MAX_IDLE_BUFFER: usize = 16 << 10;
    /// The default [`Config::max_pin`]: 64 KiB.
    pub const DEFAULT_MAX_PIN: usize = 64 << 10;

    /// Longest line accepted, in bytes, line ending excluded (default
    /// [`Config::DEFAULT_MAX_LINE_LEN`]). A longer line yields
    /// [`DecodeError::LineTooLong`], is skipped, and its event is dropped.
    /// This bounds the memory one line can take. `usize::MAX` means no limit.
    pub fn max_line_len(&mut self, max: usize) -> &mut Self {
        self.max_line_len = max;
        self
    }

    /// Longest data accepted for one event, in bytes, counting the LFs that
    /// join its lines (default [`Config::DEFAULT_MAX_DATA_LEN`]). More
    /// yields [`DecodeError::DataTooLong`] and the event is dropped.
    /// `usize::MAX` means no limit.
    pub fn max_data_len(&mut self, max: usize) -> &mut Self {
        self.max_data_len = max;
        self
    }

    /// Report comment lines as [`Item::Comment`] (default `false`).
    pub fn comments(&mut self, on: bool) -> &mut Self {
        self.comments = on;
        self
    }

    /// Report every blank line that dispatches no event as [`Item::Blank`]
    /// (default `false`). With it, each block of the stream ends in exactly
    /// one step (`Event` or `Blank`), which is what framing proxies need.
    pub fn blank_lines(&mut self, on: bool) -> &mut Self {
        self.blank_lines = on;
        self
    }
}

impl Config {
    /// The default maximum raw frame length: 64 MiB (a block at the default
    /// line and data limits, with room for its field names).
    pub const DEFAULT_MAX_FRAME_LEN: usize = 64 << 20;

    /// The largest capacity a growable buffer keeps once it is idle
    /// (default [`Config::DEFAULT_MAX_IDLE_BUFFER`]). When a chunk is used up
    /// (the end of a `feed_all` call, or `feed` returning `None`), buffers
    /// larger than this that hold nothing still needed are released, so a
    /// long-lived, idle connection holds a small constant whatever it once
    /// received; buffers at or under it are kept, so ordinary traffic does
    /// not allocate. The price: an event larger than this that straddles
    /// chunks may cost a few allocations when the decoder went idle before
    /// it (raise it for streams of large events). [`Decoder::shrink`]
    /// releases everything idle at once. Fixed buffers have nothing to
    /// release.
    pub fn max_idle_buffer(&mut self, bytes: usize) -> &mut Self {
        self.max_idle_buffer = bytes;
        self
    }

    /// How much input a zero-copy field may keep alive (the `bytes` layer;
    /// default [`Config::DEFAULT_MAX_PIN`]). A `Bytes` field shares its
    /// input chunk only when that chunk is at most `max(max_pin, 4 × the
    /// field's length)` bytes; a smaller field of a larger chunk is copied
    /// (once, into a shared 16 KiB block), so a retained event never pins a
    /// large read for a few bytes of data. `usize::MAX` shares always.
    pub fn max_pin(&mut self, bytes: usize) -> &mut Self {
        self.max_pin = bytes;
        self
    }

    /// Hand out each block's exact input bytes (raw frames, for proxies
    /// that forward what they do not change byte for byte), up to `max_len`
    /// bytes a frame; a longer frame gives [`DecodeError::FrameTooLong`] and
    /// no raw bytes. Used by the `bytes` layer and the adapters built on it
    /// (`BytesDecoder`, `EventStream`, `SseCodec`); off by default. The
    /// borrowed [`Decoder`] has no raw frames and ignores it.
    pub fn raw_frames(&mut self, max_len: usize) -> &mut Self {
        self.raw_frames = Some(max_len);
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            raw_frames: None,
            max_idle_buffer: Self::DEFAULT_MAX_IDLE_BUFFER,
            max_pin: Self::DEFAULT_MAX_PIN,
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_data_len: Self::DEFAULT_MAX_DATA_LEN,
            comments: false,
            blank_lines: false,
        }
    }
}

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
    /// A valid `retry` field set the reconnection time, in milliseconds.
    Retry(u64),
    /// A comment line (only with [`Config::comments`]); see [`Line::Comment`].
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

/// Where the event's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
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
enum Type {
    /// Empty: the event type is `message`.
    Unset,
    /// At `chunk[a..b]` of the current call.
    Chunk(usize, usize),
    /// The whole event-type buffer.
    Buf,
}

/// Where the line being processed is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    /// `chunk[a..b]`.
    Chunk(usize, usize),
    /// `line_buf[a..b]`.
    Line(usize, usize),
}

impl Span {
    #[inline(always)]
    fn len(self) -> usize {
        match self {
            Span::Chunk(a, b) | Span::Line(a, b) => b - a,
        }
    }

    /// The part from `offset` (relative to the span's start) to its end.
    #[inline(always)]
    fn from(self, offset: usize) -> Span {
        match self {
            Span::Chunk(a, b) => Span::Chunk(a + offset, b),
            Span::Line(a, b) => Span::Line(a + offset, b),
        }
    }

    #[inline(always)]
    fn bytes<'a, B: Buffer>(self, chunk: &'a [u8], line: &'a B) -> &'a [u8] {
        match self {
            Span::Chunk(a, b) => &chunk[a..b],
            Span::Line(a, b) => &line.as_bytes()[a..b],
        }
    }
}

/// What one line did, without borrowing anything: the drivers turn it into
/// a [`Item`].
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

/// Appends bytes that are known to fit (invariant 3).
#[inline(always)]
fn append<B: Buffer>(buf: &mut B, bytes: &[u8]) {
    let fits = buf.try_extend(bytes);
    debug_assert!(
        fits.is_ok(),
        "a value that passed its limit fits its buffer"
    );
}

/// The event being read: where its data and type are, and the buffers they
/// move to when they must outlive a chunk.
#[derive(Debug)]
struct EventBuilder<B> {
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
    fn drop_event(&mut self) {
        self.data = Data::Discard;
        self.event_type = Type::Unset;
    }

    /// Spec: "If the field name is `data`: append the field value to the
    /// data buffer, then append a single U+000A LINE FEED character".
    /// (The final LF is never added rather than removed at dispatch.)
    #[inline(always)]
    fn data_line(&mut self, value: Span, chunk: &[u8], line: &mut B) -> Result<(), DecodeError> {
        if self.data == Data::Discard {
            return Ok(());
        }
        let joined = match self.data {
            Data::None => value.len(),
            _ => self.data_len().saturating_add(1 + value.len()),
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
            Data::Buf(_) => &[][..],
            Data::Chunk(a, b) => &chunk[a..b],
            Data::Line(a, b) => &line.as_bytes()[a..b],
            Data::Discard => unreachable!("returned above"),
        };
        if !first.is_empty() || !matches!(self.data, Data::Buf(_)) {
            // The second value: join them in the data buffer.
            self.data_buf.clear();
            append(&mut self.data_buf, first);
            self.data = Data::Buf(0);
        }
        append(&mut self.data_buf, b"\n");
        append(&mut self.data_buf, value.bytes(chunk, line));
        Ok(())
    }

    /// Spec: "If the field name is `event`: set the event type buffer to the
    /// field value."
    #[inline(always)]
    fn event_line(&mut self, value: Span, chunk: &[u8], line: &B) -> Result<(), DecodeError> {
        if self.data == Data::Discard {
            return Ok(());
        }
        if value.len() > self.max_type {
            self.drop_event();
            return Err(DecodeError::EventTypeTooLong { max: self.max_type });
        }
        self.event_type = match value {
            Span::Chunk(a, b) if a == b => Type::Unset,
            Span::Chunk(a, b) => Type::Chunk(a, b),
            Span::Line(..) => {
                self.type_buf.clear();
                append(&mut self.type_buf, value.bytes(chunk, line));
                Type::Buf
            }
        };
        Ok(())
    }

    /// The line buffer is about to hold a new line: move data that lives
    /// there out of the way, by trading the two buffers (growable ones) or
    /// by a copy (fixed ones). Returns whether the buffers traded places.
    #[inline]
    fn detach(&mut self, line: &mut B) -> bool {
        if let Data::Line(a, b) = self.data {
            if self.swap {
                mem::swap(line, &mut self.data_buf);
                self.data = Data::Buf(a);
                debug_assert_eq!(b, self.data_buf.as_bytes().len());
                return true;
            }
            self.data_buf.clear();
            append(&mut self.data_buf, &line.as_bytes()[a..b]);
            self.data = Data::Buf(0);
        }
        false
    }

    /// The blank line: the event's locations, when there is one to
    /// dispatch, and a fresh block either way.
    #[inline(always)]
    fn end_block(&mut self) -> Option<(Data, Type)> {
        let data = mem::replace(&mut self.data, Data::None);
        let event_type = mem::replace(&mut self.event_type, Type::Unset);
        match data {
            Data::None | Data::Discard => None,
            _ => Some((data, event_type)),
        }
    }

    /// The bytes of an event's data and type.
    #[inline(always)]
    fn view<'a>(
        &'a self,
        data: Data,
        event_type: Type,
        chunk: &'a [u8],
        line: &'a B,
    ) -> (&'a [u8], &'a [u8]) {
        let data = match data {
            Data::Chunk(a, b) => &chunk[a..b],
            Data::Line(a, b) => &line.as_bytes()[a..b],
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

    /// Copies what still points into `chunk` into the buffers (invariant 1).
    fn flush(&mut self, chunk: &[u8]) {
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
}

/// The last event id, and the id read in the current block.
#[derive(Debug)]
struct IdState<B> {
    committed: B,
    /// The committed id lies at `chunk[a..b]` of the chunk being decoded,
    /// not in `committed` (until the chunk's flush copies it there).
    committed_at: Option<(usize, usize)>,
    pending: B,
    /// The pending id lies at `chunk[a..b]`, likewise.
    pending_at: Option<(usize, usize)>,
    has_pending: bool,
    max: usize,
}

impl<B: Buffer> IdState<B> {
    /// Spec: "If the field name is `id`: if the field value does not contain
    /// U+0000 NULL, then set the last event ID buffer to the field value.
    /// Otherwise, ignore the field." A value inside the chunk is kept as a
    /// location, copied only if the chunk ends before it is used.
    #[inline(always)]
    fn id_line(&mut self, value: Span, chunk: &[u8], line: &B) -> Result<(), DecodeError> {
        let v = value.bytes(chunk, line);
        if !field::id_is_accepted(v) {
            return Ok(());
        }
        if v.len() > self.max {
            return Err(DecodeError::IdTooLong { max: self.max });
        }
        self.pending_at = match value {
            Span::Chunk(a, b) => Some((a, b)),
            Span::Line(..) => {
                self.pending.clear();
                append(&mut self.pending, v);
                None
            }
        };
        self.has_pending = true;
        Ok(())
    }

    /// Dispatch step 1: the last event ID string becomes the last event ID
    /// buffer, for every block.
    #[inline(always)]
    fn commit(&mut self) {
        if self.has_pending {
            match self.pending_at.take() {
                Some(at) => self.committed_at = Some(at),
                None => {
                    mem::swap(&mut self.committed, &mut self.pending);
                    self.committed_at = None;
                }
            }
            self.has_pending = false;
        }
    }

    /// The committed id, `chunk` being the chunk being decoded.
    #[inline(always)]
    fn view<'a>(&'a self, chunk: &'a [u8]) -> &'a [u8] {
        match self.committed_at {
            Some((a, b)) => &chunk[a..b],
            None => self.committed.as_bytes(),
        }
    }

    /// Copies what still points into `chunk` into the buffers (invariant 1).
    #[inline]
    fn flush(&mut self, chunk: &[u8]) {
        if let Some((a, b)) = self.committed_at.take() {
            self.committed.clear();
            append(&mut self.committed, &chunk[a..b]);
        }
        if let Some((a, b)) = self.pending_at.take() {
            self.pending.clear();
            append(&mut self.pending, &chunk[a..b]);
        }
    }

    /// Forgets a pending id (end of stream).
    fn drop_pending(&mut self) {
        self.has_pending = false;
        self.pending_at = None;
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
    /// Report blank lines that dispatch nothing (the `bytes` module turns
    /// this on for raw frames).
    pub(crate) blank_lines: bool,
    /// Bytes examined by the field splitter (the scanner counts its own).
    work: Work,
    /// The size of the allocation data was last split off of, for the line
    /// (`[0]`) and the data buffer (`[1]`), by the `bytes` layer; 0 when
    /// none. While such a buffer shows less capacity than that, what it
    /// holds is the rest of that allocation, which its capacity does not
    /// show: splitting more off it would pin all of it, and it must be
    /// released once idle.
    split_from: [usize; 2],
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

/// Applies a buffer's fixed capacity, if any, to a configured maximum.
fn effective_max<B: Buffer>(configured: usize, buf: &B) -> usize {
    match buf.capacity_limit() {
        Some(cap) => configured.min(cap),
        None => configured,
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
            mut data,
            mut event_type,
            mut last_event_id,
            mut pending_id,
        } = buffers;
        data.clear();
        event_type.clear();
        last_event_id.clear();
        pending_id.clear();
        let swap = line.capacity_limit().is_none() && data.capacity_limit().is_none();
        Decoder {
            lines: LineDecoder::with_buffer(line, config),
            event: EventBuilder {
                data: Data::None,
                event_type: Type::Unset,
                max_data: effective_max(config.max_data_len, &data),
                max_type: effective_max(usize::MAX, &event_type),
                data_buf: data,
                type_buf: event_type,
                swap,
            },
            id: IdState {
                max: effective_max(effective_max(usize::MAX, &last_event_id), &pending_id),
                committed: last_event_id,
                committed_at: None,
                pending: pending_id,
                pending_at: None,
                has_pending: false,
            },
            retry: None,
            comments: config.comments,
            max_idle: config.max_idle_buffer,
            offsets: Offsets::default(),
            blank_lines: config.blank_lines,
            work: Work::default(),
            split_from: [0; 2],
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
        self.id.committed.as_bytes()
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
        field::check_id(id)?;
        if id.len() > self.id.max {
            return Err(InvalidValue::TooLong { max: self.id.max });
        }
        self.id.drop_pending();
        self.id.committed_at = None;
        self.id.committed.clear();
        append(&mut self.id.committed, id);
        Ok(())
    }

    /// The reconnection time in milliseconds set by the last valid `retry`
    /// field, or `None` if the stream has not set one (a client then uses
    /// its own default; browsers use a few seconds).
    #[must_use]
    pub fn retry(&self) -> Option<u64> {
        self.retry
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
        self.lines.scanner.scanned + self.work.bytes
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
            incomplete_event: !matches!(self.event.data, Data::None | Data::Discard),
            partial_line: self.lines.scanner.has_partial_line(),
        };
        self.lines.scanner.reset();
        self.event.data = Data::None;
        self.event.event_type = Type::Unset;
        self.id.drop_pending();
        self.release_idle(self.max_idle);
        self.offsets = Offsets {
            error_at: self.offsets.error_at,
            ..Offsets::default()
        };
        end
    }

    /// Releases the heap memory of idle buffers: those over `keep` bytes of
    /// capacity that hold nothing still needed (a partial line, data or a
    /// type of the event being read, a pending id) are emptied and given
    /// back; the last event id keeps just its bytes.
    #[inline(always)]
    fn release_idle(&mut self, keep: usize) {
        // Checked once per chunk: keep it to a few loads when nothing is
        // large (always, for fixed buffers).
        let largest = self
            .lines
            .line
            .heap_capacity()
            .max(self.event.data_buf.heap_capacity())
            .max(self.event.type_buf.heap_capacity())
            .max(self.id.pending.heap_capacity())
            .max(self.id.committed.heap_capacity());
        if largest > keep || self.split_from[0].max(self.split_from[1]) > keep {
            self.release_large(keep);
        }
    }

    #[cold]
    #[inline(never)]
    fn release_large(&mut self, keep: usize) {
        // A buffer in use (a line in progress, the data of the event being
        // read) is left alone: shrinking it would make its next append
        // reallocate. The last event id keeps its bytes, without slack.
        // `split_from`: the allocation the buffer may be the rest of (see
        // `Decoder::split_from`).
        fn release<B: Buffer>(buf: &mut B, live: bool, keep: usize, split_from: &mut usize) {
            if !live && buf.heap_capacity().max(*split_from) > keep {
                buf.clear();
                buf.shrink_to(0);
                *split_from = 0;
            }
        }
        let data = self.event.data;
        let line_live =
            self.lines.scanner.state == State::Partial || matches!(data, Data::Line(..));
        let [line_from, data_from] = &mut self.split_from;
        release(&mut self.lines.line, line_live, keep, line_from);
        release(
            &mut self.event.data_buf,
            matches!(data, Data::Buf(_)),
            keep,
            data_from,
        );
        release(
            &mut self.event.type_buf,
            self.event.event_type == Type::Buf,
            keep,
            &mut 0,
        );
        release(&mut self.id.pending, self.id.has_pending, keep, &mut 0);
        if self.id.committed.heap_capacity() > keep.max(self.id.committed.as_bytes().len()) {
            self.id.committed.shrink_to(0);
        }
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
        self.release_idle(0);
    }

    /// Processes one line (spec: "process the field", or dispatch on a
    /// blank line). `span` is where the line is.
    #[inline(always)]
    fn line(&mut self, span: Span, chunk: &[u8]) -> Outcome {
        let bytes = span.bytes(chunk, &self.lines.line);
        let (name, value) = match field::parse(bytes) {
            Parsed::Blank => return self.blank(),
            Parsed::Comment(at) => {
                self.work.add(1);
                return match self.comments {
                    true => Outcome::Comment(at),
                    false => Outcome::Nothing,
                };
            }
            Parsed::Field { name_end, value } => {
                self.work.add((name_end + 1).min(bytes.len()));
                (FieldName::from_bytes(&bytes[..name_end]), span.from(value))
            }
        };
        let done = match name {
            FieldName::Data => self.event.data_line(value, chunk, &mut self.lines.line),
            FieldName::Event => self.event.event_line(value, chunk, &self.lines.line),
            FieldName::Id => self.id_line(value, chunk),
            FieldName::Retry => return self.retry_line(value, chunk),
            FieldName::Unknown => Ok(()),
        };
        match done {
            Ok(()) => Outcome::Nothing,
            Err(e) => {
                self.offsets.error_at = match span {
                    Span::Chunk(a, _) => self.offsets.base + a as u64,
                    Span::Line(..) => self.offsets.partial_start,
                };
                Outcome::Error(e)
            }
        }
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

    #[inline(always)]
    fn id_line(&mut self, value: Span, chunk: &[u8]) -> Result<(), DecodeError> {
        self.work.add(value.len());
        let r = self.id.id_line(value, chunk, &self.lines.line);
        if r.is_err() {
            self.event.drop_event();
        }
        r
    }

    /// Spec: "If the field name is `retry`: if the field value consists of
    /// only ASCII digits, then interpret the field value as an integer in
    /// base ten, and set the event stream's reconnection time to that
    /// integer. Otherwise, ignore the field."
    #[inline(always)]
    fn retry_line(&mut self, value: Span, chunk: &[u8]) -> Outcome {
        let v = value.bytes(chunk, &self.lines.line);
        self.work.add(v.len());
        match field::parse_retry(v) {
            Some(ms) => {
                self.retry = Some(ms);
                Outcome::Retry(ms)
            }
            None => Outcome::Nothing,
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
            if self.event.detach(&mut self.lines.line) {
                self.split_from.swap(0, 1);
            }
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
            max: self.lines.max_line,
        }
    }

    /// Turns an outcome into a step, borrowing the chunk and the buffers;
    /// `None` when there is nothing to report.
    #[inline(always)]
    fn step<'a>(
        &'a self,
        outcome: Outcome,
        span: Span,
        chunk: &'a [u8],
    ) -> Option<Result<Item<'a>, DecodeError>> {
        match outcome {
            Outcome::Nothing => None,
            Outcome::Event(data, event_type) => {
                let (data, event_type) = self.event.view(data, event_type, chunk, &self.lines.line);
                let id = self.id.view(chunk);
                Some(Ok(Item::Event(Event::new(event_type, data, id))))
            }
            Outcome::Blank => self.blank_lines.then_some(Ok(Item::Blank)),
            Outcome::Retry(ms) => Some(Ok(Item::Retry(ms))),
            Outcome::Comment(at) => {
                let text = span.from(at).bytes(chunk, &self.lines.line);
                Some(Ok(Item::Comment(text)))
            }
            Outcome::Error(e) => Some(Err(e)),
        }
    }

    /// Decodes all of `chunk`, passing each step to `f`: the fast path.
    /// What a step borrows is valid only during the call to `f`. Steps are
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
    /// dec.feed_all(b"data: a\n\ndata: b\n\n", |step| {
    ///     if let Ok(ssewire::Item::Event(_)) = step {
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
        self.feed_from(chunk, 0, |_, step| {
            f(step);
            ControlFlow::Continue(())
        });
    }

    /// [`Decoder::feed_all`] from `chunk[start..]`, passing each step's end
    /// too (the position in `chunk` just after the line that made it), and
    /// stopping after a step when `f` says so. Returns the position reached.
    /// `start` must be where the previous call on this same chunk stopped,
    /// or 0 for a new chunk.
    #[inline]
    pub(crate) fn feed_from<F>(&mut self, chunk: &[u8], start: usize, mut f: F) -> usize
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        self.offsets.base = self.offsets.fed - start as u64;
        let pos = self.feed_lines(chunk, start, &mut f);
        self.offsets.fed = self.offsets.base + pos as u64;
        pos
    }

    /// The body of [`Decoder::feed_from`], from `chunk[start..]`: returns
    /// where it stopped.
    #[inline(always)]
    fn feed_lines<F>(&mut self, chunk: &[u8], start: usize, f: &mut F) -> usize
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        let mut pos = start;
        if let Some(end) = self.resume_lines(chunk, &mut pos, f) {
            return end;
        }
        // Lines inside the chunk: the hot loop.
        while let Some((a, b)) = self.lines.scanner.next_in_chunk(chunk, &mut pos) {
            let outcome = if b - a > self.lines.max_line {
                Outcome::Error(self.line_too_long(self.offsets.base + a as u64))
            } else {
                self.line(Span::Chunk(a, b), chunk)
            };
            if let Some(step) = self.step(outcome, Span::Chunk(a, b), chunk) {
                if f(pos, step).is_break() {
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
    /// skipping of an over-long one) and passing its step to `f`.
    /// `Some(end)` when the call is over there: the whole chunk went into
    /// the line in progress, or `f` asked to stop.
    #[inline(always)]
    fn resume_lines<F>(&mut self, chunk: &[u8], pos: &mut usize, f: &mut F) -> Option<usize>
    where
        F: FnMut(usize, Result<Item<'_>, DecodeError>) -> ControlFlow<()>,
    {
        while self.lines.scanner.state != State::LineStart {
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
                    let span = Span::Line(0, self.lines.line.as_bytes().len());
                    let outcome = self.line(span, chunk);
                    if let Some(step) = self.step(outcome, span, chunk) {
                        if f(*pos, step).is_break() {
                            self.flush(chunk);
                            return Some(*pos);
                        }
                    }
                }
            }
        }
        None
    }

    /// The one-step path's line finder ([`Scanner::next`] with the data
    /// moved out of the line buffer before it is reused). A too-long
    /// line's offset is recorded here, where it is known.
    #[inline]
    fn next_line(&mut self, chunk: &[u8], pos: &mut usize) -> Scan {
        if self.lines.scanner.state != State::LineStart {
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
        match self.lines.scanner.next_in_chunk(chunk, pos) {
            Some((a, b)) if b - a > self.lines.max_line => {
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
    /// do not need to stop between steps.
    ///
    /// What the step borrows lies inside `chunk` when it was inside it, or in
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
    /// assert_eq!(f.item, Some(Ok(Item::Retry(500))));
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
                    let span = Span::Line(0, self.lines.line.as_bytes().len());
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
        self.step(found.outcome, found.span, chunk)
    }
}

#[cfg(feature = "bytes")]
impl Decoder<bytes::BytesMut> {
    /// The data of the event the last step dispatched, when it lies in the
    /// line or data buffer: `at` and `len` are the address and length of
    /// the slice that step gave. It is split off its buffer, without a
    /// copy, when the buffer's memory is at most `max_pin` (the returned
    /// bytes keep it alive); else it is lent, to be copied. `None` when it
    /// lies in neither buffer (it was in the chunk).
    ///
    /// Call it only right after [`Decoder::feed_from`] stopped at that
    /// step: by invariant 2 the dispatched data is still in its buffer, and
    /// no later line has used the buffer. A buffer it is split off is left
    /// empty (it would be cleared at its next use anyway) and takes its
    /// memory up again once the returned bytes are dropped (see
    /// `Decoder::split_from` for what is left of it).
    pub(crate) fn take_held(
        &mut self,
        at: usize,
        len: usize,
        max_pin: usize,
    ) -> Option<Result<bytes::BytesMut, &[u8]>> {
        use bytes::Buf;
        let [line_from, data_from] = &mut self.split_from;
        for (buf, from) in [
            (&mut self.event.data_buf, data_from),
            (&mut self.lines.line, line_from),
        ] {
            let base = buf.as_ptr() as usize;
            if at >= base && at + len <= base + buf.len() {
                let start = at - base;
                // The allocation the data lies in: the buffer's own, or the
                // one it is the rest of (it cannot show as much capacity).
                let capacity = buf.capacity();
                let allocation = if capacity >= *from { capacity } else { *from };
                if allocation > max_pin {
                    return Some(Err(&buf[start..start + len]));
                }
                let mut held = buf.split_to(start + len);
                held.advance(start);
                buf.clear();
                *from = allocation;
                return Some(Ok(held));
            }
        }
        None
    }

    /// The chunk is used up after [`Decoder::feed_from`] stopped at its
    /// last step: give back large idle buffers, as a call that ran to the
    /// chunk's end does.
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

/// A line-level decoder: every line of the stream, classified, with borrowed
/// slices. For proxies and tools that want comments, unknown fields and
/// block boundaries as they are; it does not interpret fields (use
/// [`Decoder`] for events, which is built on this).
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
pub struct LineDecoder<B: Buffer = DefaultBuffer> {
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

    #[inline]
    fn resume(&mut self, chunk: &[u8], pos: &mut usize) -> Resume {
        self.scanner
            .resume(chunk, pos, &mut self.line, self.max_line)
    }

    #[inline]
    fn stash(&mut self, rest: &[u8]) -> Result<(), ()> {
        self.scanner.stash(rest, &mut self.line, self.max_line)
    }

    /// Finds the next line in `chunk`; `item` is `None` when the chunk is
    /// used up.
    ///
    /// # Errors
    /// [`DecodeError::LineTooLong`]; the line is skipped.
    pub fn feed<'a>(&'a mut self, chunk: &'a [u8]) -> Feed<Line<'a>> {
        let mut pos = 0;
        let scan = self
            .scanner
            .next(chunk, &mut pos, &mut self.line, self.max_line);
        let item = match scan {
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
        let partial_line = self.scanner.has_partial_line();
        self.scanner.reset();
        Discarded {
            incomplete_event: false,
            partial_line,
        }
    }

    /// Bytes examined so far (debug builds only); equal to the bytes fed
    /// (linear time).
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    #[must_use]
    pub fn bytes_examined(&self) -> u64 {
        self.scanner.scanned
    }
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
}
