//! The incremental decoder: chunks in, events out (spec 9.2.5 and 9.2.6).
//!
//! # Design note
//!
//! States. Between calls the decoder holds: the [`Scanner`] (BOM progress, a
//! CR that ended the last chunk, a line in progress), the event being built
//! (where its data and event type live), the last event id, the reconnection
//! time, and a `discard` flag set by a limit error until the next blank line.
//!
//! Where bytes live. While one call to [`Decoder::feed`] runs, the event's
//! data and type may point into the caller's chunk (`DataLoc::Chunk`,
//! `TypeLoc::Chunk`): nothing is copied for an event that lies inside one
//! chunk. A single `data` line that straddled chunks is used straight from
//! the line buffer (`DataLoc::Line`). Only when a second `data` line arrives
//! are values joined, once, into the data buffer (`DataLoc::Buf`).
//!
//! Invariants. (1) No `Chunk` location survives a return from `feed`:
//! every return that is not the dispatch of that very event goes through
//! [`Decoder::flush`], which copies them into the decoder's buffers, because
//! the next call gets a different slice. (2) A `Line` location is moved out
//! (or the buffers are swapped) by the scanner's `before_reuse` hook before
//! the line buffer takes a new straddling line. (3) Limits are checked on
//! logical lengths (line length, joined data length), never on where bytes
//! happen to sit, so every chunking of the same input yields the same steps.
//! Break (1) and events read freed or foreign memory as garbage; break (3)
//! and output depends on chunking.

use core::mem;

use crate::buffer::Buffer;
use crate::error::{DecodeError, InvalidValue};
use crate::event::Event;
use crate::field::{self, FieldName, Line, Parsed};
use crate::scan::{Scan, Scanner};

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
/// let mut config = ssewire::Config::default();
/// config.max_line_len(64 * 1024).comments(true);
/// let dec = ssewire::Decoder::with_config(&config);
/// # let _ = dec;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) max_line_len: usize,
    pub(crate) max_data_len: usize,
    pub(crate) comments: bool,
    pub(crate) blank_lines: bool,
}

impl Config {
    /// The default maximum line length: 1 MiB.
    pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;
    /// The default maximum data length of one event: 4 MiB.
    pub const DEFAULT_MAX_DATA_LEN: usize = 4 << 20;

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

    /// Report comment lines as [`Step::Comment`] (default `false`).
    pub fn comments(&mut self, on: bool) -> &mut Self {
        self.comments = on;
        self
    }

    /// Report every blank line that dispatches no event as [`Step::Blank`]
    /// (default `false`). With it, each block of the stream ends in exactly
    /// one step (`Event` or `Blank`), which is what framing proxies need.
    pub fn blank_lines(&mut self, on: bool) -> &mut Self {
        self.blank_lines = on;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_data_len: Self::DEFAULT_MAX_DATA_LEN,
            comments: false,
            blank_lines: false,
        }
    }
}

/// The result of one call to a decoder's `feed`: how much input was used,
/// and what happened.
///
/// `consumed` is valid for errors too: feed `&chunk[consumed..]` next and the
/// stream goes on.
#[derive(Debug)]
#[must_use = "feed the unconsumed rest of the chunk again, or the stream stalls"]
pub struct Feed<T> {
    /// Bytes of the chunk used by this call.
    pub consumed: usize,
    /// What the decoder found.
    pub step: Result<T, DecodeError>,
}

/// What the [`Decoder`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step<'a> {
    /// An event was dispatched.
    Event(Event<'a>),
    /// A valid `retry` field set the reconnection time, in milliseconds.
    Retry(u64),
    /// A comment line (only with [`Config::comments`]); see [`Line::Comment`].
    Comment(&'a [u8]),
    /// A blank line that dispatched nothing (only with
    /// [`Config::blank_lines`]).
    Blank,
    /// The whole chunk was used; feed the next one.
    NeedInput,
}

/// What [`Decoder::finish`] discarded at the end of the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Finish {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataLoc {
    /// No `data` line yet: nothing to dispatch.
    None,
    /// One value, at `chunk[a..b]` of the current call.
    Chunk(usize, usize),
    /// One value, at `line[a..b]` (a straddling line).
    Line(usize, usize),
    /// Joined values at `data[offset..]`.
    Buf(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TypeLoc {
    /// Empty: the event type is `message`.
    Unset,
    /// At `chunk[a..b]` of the current call.
    Chunk(usize, usize),
    /// The whole event-type buffer.
    Buf,
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
/// use ssewire::{Decoder, Step};
///
/// let mut dec = Decoder::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"data: hel"[..], b"lo\r", b"\nid: 1\n\ndata: x\n"] {
///     let mut rest = chunk;
///     loop {
///         let feed = dec.feed(rest);
///         rest = &rest[feed.consumed..];
///         match feed.step {
///             Ok(Step::Event(ev)) => seen.push(ev.data_lossy().into_owned()),
///             Ok(Step::NeedInput) => break,
///             Ok(_) => {}
///             Err(e) => eprintln!("skipped: {e}"),
///         }
///     }
/// }
/// assert!(dec.finish().incomplete_event); // "data: x" never got its blank line
/// assert_eq!(seen, ["hello"]);
/// assert_eq!(dec.last_event_id(), b"1");
/// ```
#[derive(Debug)]
pub struct Decoder<B: Buffer = DefaultBuffer> {
    scanner: Scanner,
    line: B,
    data: B,
    event_type: B,
    last_event_id: B,
    pending_id: B,
    /// `pending_id` holds an id not yet committed by a blank line.
    id_pending: bool,
    /// The id length limit: the smaller id buffer's capacity.
    max_id: usize,
    data_loc: DataLoc,
    type_loc: TypeLoc,
    /// Logical length of the data so far (values plus joining LFs).
    data_len: usize,
    /// A limit was hit: skip `data`/`event` lines until the next blank line.
    discard: bool,
    retry: Option<u64>,
    max_line: usize,
    max_data: usize,
    comments: bool,
    blank_lines: bool,
    /// Line and data buffers may trade places (both unbounded).
    swap: bool,
    /// An error found where it could not be returned at once.
    pending_error: Option<DecodeError>,
    /// Bytes examined by the field splitter (the scanner counts its own).
    parsed: u64,
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
            mut line,
            mut data,
            mut event_type,
            mut last_event_id,
            mut pending_id,
        } = buffers;
        line.clear();
        data.clear();
        event_type.clear();
        last_event_id.clear();
        pending_id.clear();
        let max_id = effective_max(effective_max(usize::MAX, &last_event_id), &pending_id);
        let max_line = effective_max(config.max_line_len, &line);
        let max_data = effective_max(config.max_data_len, &data);
        let swap = line.capacity_limit().is_none() && data.capacity_limit().is_none();
        Decoder {
            scanner: Scanner::default(),
            line,
            data,
            event_type,
            last_event_id,
            pending_id,
            id_pending: false,
            max_id,
            data_loc: DataLoc::None,
            type_loc: TypeLoc::Unset,
            data_len: 0,
            discard: false,
            retry: None,
            max_line,
            max_data,
            comments: config.comments,
            blank_lines: config.blank_lines,
            swap,
            pending_error: None,
            parsed: 0,
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
        self.last_event_id.as_bytes()
    }

    /// Sets the last event id, for example to resume with the id a previous
    /// connection ended on.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL (no stream could have produced it),
    /// or does not fit a fixed last-event-id buffer.
    ///
    /// # Example
    /// ```
    /// let mut dec = ssewire::Decoder::new();
    /// dec.set_last_event_id(b"42").unwrap();
    /// assert!(dec.set_last_event_id(b"4\n2").is_err());
    /// assert_eq!(dec.last_event_id(), b"42");
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), InvalidValue> {
        crate::encode::check_id(id)?;
        if id.len() > self.max_id {
            return Err(InvalidValue::TooLong { max: self.max_id });
        }
        self.id_pending = false;
        self.last_event_id.clear();
        self.last_event_id
            .try_extend(id)
            .map_err(|()| InvalidValue::TooLong { max: id.len() })
    }

    /// The reconnection time in milliseconds set by the last valid `retry`
    /// field, or `None` if the stream has not set one (a client then uses
    /// its own default; browsers use a few seconds).
    #[must_use]
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The number of input bytes examined so far by the line scanner and the
    /// field splitter. Each input byte is examined once by the scanner and at
    /// most once more by the field splitter, whatever the chunking, so this
    /// stays below twice the input length: decoding is linear.
    #[must_use]
    pub fn bytes_examined(&self) -> u64 {
        self.scanner.scanned + self.parsed
    }

    /// Ends the stream: discards an unterminated event (and an `id` read in
    /// it) and any partial line, and resets the decoder for a new stream (a
    /// new BOM is accepted) while keeping the last event id string and the
    /// reconnection time, as a client does when it reconnects.
    ///
    /// # Example
    /// ```
    /// let mut dec = ssewire::Decoder::new();
    /// let _ = dec.feed(b"id: 4\n\nid: 5\ndata: never dispatched\n");
    /// let end = dec.finish();
    /// assert!(end.incomplete_event && !end.partial_line);
    /// // Event 5 never arrived: reconnect asking for what follows 4.
    /// assert_eq!(dec.last_event_id(), b"4");
    /// ```
    pub fn finish(&mut self) -> Finish {
        let end = Finish {
            incomplete_event: self.data_loc != DataLoc::None,
            partial_line: self.scanner.has_partial_line(),
        };
        self.scanner.reset();
        self.reset_event();
        self.discard = false;
        self.pending_error = None;
        self.id_pending = false;
        end
    }

    /// Feeds every step found in `chunk` to `f`, until the chunk is used up
    /// ([`Step::NeedInput`] is not passed on).
    ///
    /// # Example
    /// ```
    /// let mut dec = ssewire::Decoder::new();
    /// let mut n = 0;
    /// dec.feed_all(b"data: a\n\ndata: b\n\n", |step| {
    ///     if let Ok(ssewire::Step::Event(_)) = step {
    ///         n += 1;
    ///     }
    /// });
    /// assert_eq!(n, 2);
    /// ```
    pub fn feed_all<F>(&mut self, mut chunk: &[u8], mut f: F)
    where
        F: FnMut(Result<Step<'_>, DecodeError>),
    {
        loop {
            let feed = self.feed(chunk);
            chunk = &chunk[feed.consumed..];
            match feed.step {
                Ok(Step::NeedInput) => return,
                step => f(step),
            }
        }
    }

    fn reset_event(&mut self) {
        self.data_loc = DataLoc::None;
        self.type_loc = TypeLoc::Unset;
        self.data_len = 0;
    }

    fn begin_discard(&mut self) {
        self.reset_event();
        self.discard = true;
    }

    /// Copies what still points into `chunk` into the decoder's buffers
    /// (invariant 1 of the design note).
    fn flush(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        if let DataLoc::Chunk(a, b) = self.data_loc {
            self.data.clear();
            if self.data.try_extend(&chunk[a..b]).is_err() {
                self.begin_discard();
                return Err(DecodeError::DataTooLong { max: self.max_data });
            }
            self.data_loc = DataLoc::Buf(0);
        }
        if let TypeLoc::Chunk(a, b) = self.type_loc {
            self.event_type.clear();
            if self.event_type.try_extend(&chunk[a..b]).is_err() {
                let max = self.event_type.capacity_limit().unwrap_or(b - a);
                self.begin_discard();
                return Err(DecodeError::EventTypeTooLong { max });
            }
            self.type_loc = TypeLoc::Buf;
        }
        Ok(())
    }

    /// Returns `step` after making the decoder's state independent of
    /// `chunk`.
    fn pause<'a>(
        &mut self,
        chunk: &[u8],
        consumed: usize,
        step: Result<Step<'a>, DecodeError>,
    ) -> Feed<Step<'a>> {
        match self.flush(chunk) {
            Ok(()) => Feed { consumed, step },
            Err(e) => Feed {
                consumed,
                step: Err(e),
            },
        }
    }

    /// Decodes from `chunk` until something happens: an event, a retry
    /// update, a comment or blank line when asked for, a limit error, or the
    /// end of the chunk ([`Step::NeedInput`]). Then feed
    /// `&chunk[consumed..]` again.
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
    /// use ssewire::{Decoder, Step};
    /// let mut dec = Decoder::new();
    /// let input = b"retry: 500\nevent: tick\ndata: 1\n\n";
    /// let f = dec.feed(input);
    /// assert_eq!(f.step, Ok(Step::Retry(500)));
    /// let used = f.consumed;
    /// let f2 = dec.feed(&input[used..]);
    /// let Ok(Step::Event(ev)) = f2.step else { panic!() };
    /// assert_eq!((ev.event_type(), ev.data()), (&b"tick"[..], &b"1"[..]));
    /// ```
    #[inline]
    pub fn feed<'a>(&'a mut self, chunk: &'a [u8]) -> Feed<Step<'a>> {
        let mut pos = 0;
        loop {
            let data_loc = &mut self.data_loc;
            let data = &mut self.data;
            let pending_error = &mut self.pending_error;
            let swap = self.swap;
            let max_data = self.max_data;
            let scan = self
                .scanner
                .next(chunk, &mut pos, &mut self.line, self.max_line, |line| {
                    // Invariant 2: the line buffer is about to be reused.
                    if let DataLoc::Line(a, b) = *data_loc {
                        if swap {
                            mem::swap(line, data);
                            *data_loc = DataLoc::Buf(a);
                        } else {
                            data.clear();
                            if data.try_extend(&line.as_bytes()[a..b]).is_ok() {
                                *data_loc = DataLoc::Buf(0);
                            } else {
                                *data_loc = DataLoc::None;
                                *pending_error = Some(DecodeError::DataTooLong { max: max_data });
                            }
                        }
                    }
                });
            if let Some(e) = self
                .pending_error
                .is_some()
                .then(|| self.pending_error.take())
                .flatten()
            {
                self.begin_discard();
                // The scanner may have found a line; it belongs to the
                // dropped event unless it is blank, which we cannot tell
                // here without it, so resume at the next one (the event is
                // already gone and `discard` skips only data/event lines).
                if scan == Scan::NeedInput || scan == Scan::TooLong {
                    return self.pause(chunk, pos, Err(e));
                }
            }
            let (start, end, buffered) = match scan {
                Scan::NeedInput => return self.pause(chunk, pos, Ok(Step::NeedInput)),
                Scan::TooLong => {
                    self.begin_discard();
                    let max = self.max_line;
                    return self.pause(chunk, pos, Err(DecodeError::LineTooLong { max }));
                }
                Scan::Chunk(a, b) => (a, b, false),
                Scan::Buffered => (0, self.line.as_bytes().len(), true),
            };
            macro_rules! bytes {
                ($a:expr, $b:expr) => {
                    if buffered {
                        &self.line.as_bytes()[$a..$b]
                    } else {
                        &chunk[$a..$b]
                    }
                };
            }
            let parsed = field::parse(bytes!(start, end));
            match parsed {
                Parsed::Blank => {
                    // Dispatch step 1: the last event ID string becomes the
                    // last event ID buffer, for every block.
                    if self.id_pending {
                        mem::swap(&mut self.last_event_id, &mut self.pending_id);
                        self.id_pending = false;
                    }
                    if self.discard || self.data_loc == DataLoc::None {
                        self.reset_event();
                        self.discard = false;
                        if self.blank_lines {
                            return Feed {
                                consumed: pos,
                                step: Ok(Step::Blank),
                            };
                        }
                        continue;
                    }
                    return self.dispatch(chunk, pos);
                }
                Parsed::Comment(at) => {
                    self.parsed += 1;
                    if self.comments {
                        if let Err(e) = self.flush(chunk) {
                            return Feed {
                                consumed: pos,
                                step: Err(e),
                            };
                        }
                        return Feed {
                            consumed: pos,
                            step: Ok(Step::Comment(bytes!(start + at, end))),
                        };
                    }
                }
                Parsed::Field { name_end, value } => {
                    // The splitter looked at the name and the colon.
                    self.parsed += (name_end + 1).min(end - start) as u64;
                    let (vs, ve) = (start + value, end);
                    match FieldName::from_bytes(bytes!(start, start + name_end)) {
                        FieldName::Data => {
                            if self.discard {
                                continue;
                            }
                            let sep = usize::from(self.data_loc != DataLoc::None);
                            let new_len = self.data_len.saturating_add(sep + (ve - vs));
                            if new_len > self.max_data {
                                self.begin_discard();
                                let max = self.max_data;
                                return self.pause(
                                    chunk,
                                    pos,
                                    Err(DecodeError::DataTooLong { max }),
                                );
                            }
                            let joined = match self.data_loc {
                                DataLoc::None => {
                                    self.data_loc = if buffered {
                                        DataLoc::Line(vs, ve)
                                    } else {
                                        DataLoc::Chunk(vs, ve)
                                    };
                                    Ok(())
                                }
                                DataLoc::Chunk(a, b) => {
                                    self.data.clear();
                                    self.data_loc = DataLoc::Buf(0);
                                    join(&mut self.data, &[&chunk[a..b], b"\n", bytes!(vs, ve)])
                                }
                                DataLoc::Line(a, b) => {
                                    self.data.clear();
                                    self.data_loc = DataLoc::Buf(0);
                                    let prev = &self.line.as_bytes()[a..b];
                                    join(&mut self.data, &[prev, b"\n", bytes!(vs, ve)])
                                }
                                DataLoc::Buf(_) => join(&mut self.data, &[b"\n", bytes!(vs, ve)]),
                            };
                            if joined.is_err() {
                                self.begin_discard();
                                let max = self.max_data;
                                return self.pause(
                                    chunk,
                                    pos,
                                    Err(DecodeError::DataTooLong { max }),
                                );
                            }
                            self.data_len = new_len;
                        }
                        FieldName::Event => {
                            if self.discard {
                                continue;
                            }
                            if vs == ve {
                                self.type_loc = TypeLoc::Unset;
                                continue;
                            }
                            let fits = match self.event_type.capacity_limit() {
                                Some(cap) => ve - vs <= cap,
                                None => true,
                            };
                            if fits && !buffered {
                                self.type_loc = TypeLoc::Chunk(vs, ve);
                                continue;
                            }
                            if fits {
                                self.event_type.clear();
                                if self.event_type.try_extend(bytes!(vs, ve)).is_ok() {
                                    self.type_loc = TypeLoc::Buf;
                                    continue;
                                }
                            }
                            let max = self.event_type.capacity_limit().unwrap_or(ve - vs);
                            self.begin_discard();
                            return self.pause(
                                chunk,
                                pos,
                                Err(DecodeError::EventTypeTooLong { max }),
                            );
                        }
                        FieldName::Id => {
                            let v = bytes!(vs, ve);
                            self.parsed += v.len() as u64;
                            if !field::id_is_accepted(v) {
                                continue;
                            }
                            if v.len() <= self.max_id {
                                self.pending_id.clear();
                                if self.pending_id.try_extend(v).is_ok() {
                                    self.id_pending = true;
                                    continue;
                                }
                            }
                            let max = self.max_id.min(v.len());
                            self.begin_discard();
                            return self.pause(chunk, pos, Err(DecodeError::IdTooLong { max }));
                        }
                        FieldName::Retry => {
                            let v = bytes!(vs, ve);
                            self.parsed += v.len() as u64;
                            if let Some(ms) = field::parse_retry(v) {
                                self.retry = Some(ms);
                                return self.pause(chunk, pos, Ok(Step::Retry(ms)));
                            }
                        }
                        FieldName::Unknown => {}
                    }
                }
            }
        }
    }

    /// Dispatches the event built so far (spec: "dispatch the event").
    fn dispatch<'a>(&'a mut self, chunk: &'a [u8], consumed: usize) -> Feed<Step<'a>> {
        let data_loc = self.data_loc;
        let type_loc = self.type_loc;
        self.reset_event();
        let data: &'a [u8] = match data_loc {
            DataLoc::Chunk(a, b) => &chunk[a..b],
            DataLoc::Line(a, b) => &self.line.as_bytes()[a..b],
            DataLoc::Buf(off) => &self.data.as_bytes()[off..],
            DataLoc::None => &[],
        };
        let event_type: &'a [u8] = match type_loc {
            TypeLoc::Unset => &[],
            TypeLoc::Chunk(a, b) => &chunk[a..b],
            TypeLoc::Buf => self.event_type.as_bytes(),
        };
        Feed {
            consumed,
            step: Ok(Step::Event(Event::new(
                event_type,
                data,
                self.last_event_id.as_bytes(),
            ))),
        }
    }
}

/// Appends `parts` to `buf`.
fn join<B: Buffer>(buf: &mut B, parts: &[&[u8]]) -> Result<(), ()> {
    for p in parts {
        buf.try_extend(p)?;
    }
    Ok(())
}

/// A line-level decoder: every line of the stream, classified, with borrowed
/// slices. For proxies and tools that want comments, unknown fields and
/// block boundaries as they are; it does not interpret fields (use
/// [`Decoder`] for events).
///
/// # Example
/// ```
/// use ssewire::{Line, LineDecoder};
/// let mut dec = LineDecoder::new();
/// let mut rest: &[u8] = b": hi\r\ndata: x\r\n\r\n";
/// let mut lines = Vec::new();
/// loop {
///     let f = dec.feed(rest);
///     rest = &rest[f.consumed..];
///     match f.step {
///         Ok(Some(line)) => lines.push(format!("{line:?}")),
///         Ok(None) => break,
///         Err(e) => panic!("{e}"),
///     }
/// }
/// assert_eq!(lines.len(), 3);
/// assert!(lines[0].starts_with("Comment"));
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

    /// Finds the next line in `chunk`; `Ok(None)` when the chunk is used up.
    ///
    /// # Errors
    /// [`DecodeError::LineTooLong`]; the line is skipped.
    pub fn feed<'a>(&'a mut self, chunk: &'a [u8]) -> Feed<Option<Line<'a>>> {
        let mut pos = 0;
        let scan = self
            .scanner
            .next(chunk, &mut pos, &mut self.line, self.max_line, |_| {});
        let step = match scan {
            Scan::NeedInput => Ok(None),
            Scan::TooLong => Err(DecodeError::LineTooLong { max: self.max_line }),
            Scan::Chunk(a, b) => Ok(Some(Line::parse(&chunk[a..b]))),
            Scan::Buffered => Ok(Some(Line::parse(self.line.as_bytes()))),
        };
        Feed {
            consumed: pos,
            step,
        }
    }

    /// Ends the stream; returns `true` if a partial line was discarded. The
    /// decoder is ready for a new stream.
    pub fn finish(&mut self) -> bool {
        let partial = self.scanner.has_partial_line();
        self.scanner.reset();
        partial
    }

    /// Bytes examined so far; equal to the bytes fed (linear time).
    #[must_use]
    pub fn bytes_examined(&self) -> u64 {
        self.scanner.scanned
    }
}
