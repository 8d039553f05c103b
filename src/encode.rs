//! The allocation-free encoder.
//!
//! Everything written here decodes to exactly the events it was given:
//!
//! - data is split at CRLF, LF and lone CR into one `data:` line per line, so
//!   `"a\r\nb"`, `"a\nb"` and `"a\rb"` all decode as `"a\nb"` (line breaks
//!   are normalised to LF, the only one a decoder can produce);
//! - every non-empty value is written after `": "`, so a value that starts
//!   with a space keeps it through the decoder's one-space strip; an empty
//!   value is written as a bare field name (`data` alone gives data `""`);
//! - `event` and `id` values are validated types ([`EventType`], [`EventId`])
//!   that cannot hold CR or LF (nor NUL, for ids), so no value can end its
//!   line early and forge fields or events;
//! - comment text is split at line breaks into several `:` lines, each of
//!   which is a comment, so a comment can neither end an event nor start a
//!   field;
//! - every event ends with a blank line.
//!
//! Output uses LF line endings. Sinks: a `&mut [u8]` ([`Encode::encode`]),
//! any [`core::fmt::Write`], a `Vec<u8>` (feature `alloc`), any
//! `std::io::Write` (feature `std`) and any `bytes::BufMut` (feature
//! `bytes`). None of them allocates, except that a `Vec` or `BytesMut` grows
//! (once, by exactly [`Encode::encoded_len`]) when it lacks room.
//!
//! # Example
//! ```
//! use ssewire::encode::{Encode, Message, EventId, EventType};
//!
//! let ev = Message::new("line one\nline two")
//!     .event_type(EventType::new("update")?)
//!     .id(EventId::new("42")?);
//! let mut out = [0u8; 128];
//! let n = ev.encode(&mut out)?;
//! assert_eq!(&out[..n], b"event: update\nid: 42\ndata: line one\ndata: line two\n\n");
//! assert_eq!(n, ev.encoded_len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::time::Duration;

use crate::error::{BufferTooSmall, FmtError, InvalidValue};
use crate::field::{check_id, check_line};

/// The media type of an event stream, for the `Content-Type` header.
pub const CONTENT_TYPE: &str = "text/event-stream";

/// A keep-alive: an empty comment line and a blank line. Decoders ignore it;
/// it keeps proxies and load balancers from closing an idle connection.
/// Write it only between events.
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// A validated event type: it contains no CR or LF.
///
/// An empty event type means `message` and is not written.
///
/// # Example
/// ```
/// use ssewire::encode::EventType;
/// assert!(EventType::new("chat.delta").is_ok());
/// assert!(EventType::new("x\ndata: forged").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventType<'a>(&'a [u8]);

impl<'a> EventType<'a> {
    /// Validates `value` (a `&str`, `&[u8]`, `&String`, ...).
    ///
    /// # Errors
    /// [`InvalidValue::LineBreak`] when it contains CR or LF.
    pub fn new<V: AsRef<[u8]> + ?Sized>(value: &'a V) -> Result<Self, InvalidValue> {
        let v = value.as_ref();
        check_line(v)?;
        Ok(EventType(v))
    }

    /// The value's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// A validated event id: it contains no CR, LF or NUL, so decoders accept it
/// as the last event id exactly as written.
///
/// # Example
/// ```
/// use ssewire::encode::EventId;
/// let id = EventId::new("msg-17")?;
/// assert!(id.is_header_safe());
/// assert!(EventId::new("a\0b").is_err());
/// # Ok::<(), ssewire::InvalidValue>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId<'a>(&'a [u8]);

impl<'a> EventId<'a> {
    /// Validates `value`. An empty id is valid: it resets the client's last
    /// event id.
    ///
    /// # Errors
    /// [`InvalidValue::LineBreak`] for CR or LF, [`InvalidValue::Null`] for
    /// NUL.
    pub fn new<V: AsRef<[u8]> + ?Sized>(value: &'a V) -> Result<Self, InvalidValue> {
        let v = value.as_ref();
        check_id(v)?;
        Ok(EventId(v))
    }

    /// The value's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// True when this id can be sent back unchanged as a `Last-Event-ID`
    /// request header: no control characters other than tab, and no leading
    /// or trailing space or tab (HTTP strips those, so the server would see
    /// a different id). Bytes of 0x80 and above (UTF-8) are allowed as HTTP
    /// `obs-text`, which is how browsers send them. An empty id is not sent
    /// at all, so it is not header-safe.
    #[must_use]
    pub fn is_header_safe(&self) -> bool {
        is_header_safe(self.0)
    }
}

/// True when `value` can be sent unchanged as an HTTP header value; see
/// [`EventId::is_header_safe`].
///
/// # Example
/// ```
/// assert!(ssewire::encode::is_header_safe(b"42"));
/// assert!(!ssewire::encode::is_header_safe(b" 42"));
/// assert!(!ssewire::encode::is_header_safe(b"4\x7f2"));
/// ```
#[must_use]
pub fn is_header_safe(value: &[u8]) -> bool {
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    match (value.first(), value.last()) {
        (Some(f), Some(l)) if !ws(f) && !ws(l) => value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
        _ => false,
    }
}

/// An event to write.
///
/// # Example
/// ```
/// # #[cfg(feature = "alloc")] {
/// use core::time::Duration;
/// use ssewire::encode::{Encode, Message};
/// let mut out = Vec::new();
/// Message::new(" spaced").retry(Duration::from_millis(2500)).encode_vec(&mut out);
/// assert_eq!(out, b"retry: 2500\ndata:  spaced\n\n");
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Message<'a> {
    data: &'a [u8],
    event_type: &'a [u8],
    id: Option<&'a [u8]>,
    retry: Option<u64>,
}

impl<'a> Message<'a> {
    /// An event of type `message` with this data (a `&str`, `&[u8]`, ...).
    /// Any data is valid; line breaks in it become LF when decoded.
    #[must_use]
    pub fn new<D: AsRef<[u8]> + ?Sized>(data: &'a D) -> Self {
        Message {
            data: data.as_ref(),
            event_type: b"",
            id: None,
            retry: None,
        }
    }

    /// Replaces the data, keeping everything else (for rewriting an event).
    ///
    /// # Example
    /// ```
    /// use ssewire::encode::{Encode, Message};
    /// let ev = Message::new("old").try_id("1")?.with_data("new");
    /// let mut s = String::new();
    /// ev.encode_fmt(&mut s).unwrap();
    /// assert_eq!(s, "id: 1\ndata: new\n\n");
    /// # Ok::<(), ssewire::InvalidValue>(())
    /// ```
    #[must_use]
    pub fn with_data<D: AsRef<[u8]> + ?Sized>(mut self, data: &'a D) -> Self {
        self.data = data.as_ref();
        self
    }

    /// Sets the event type.
    #[must_use]
    pub fn event_type(mut self, event_type: EventType<'a>) -> Self {
        self.event_type = event_type.0;
        self
    }

    /// Validates and sets the event type.
    ///
    /// # Errors
    /// As [`EventType::new`].
    pub fn try_event_type<V: AsRef<[u8]> + ?Sized>(
        self,
        value: &'a V,
    ) -> Result<Self, InvalidValue> {
        Ok(self.event_type(EventType::new(value)?))
    }

    /// Sets the id (the client's last event id from this event on).
    #[must_use]
    pub fn id(mut self, id: EventId<'a>) -> Self {
        self.id = Some(id.0);
        self
    }

    /// Validates and sets the id.
    ///
    /// # Errors
    /// As [`EventId::new`].
    pub fn try_id<V: AsRef<[u8]> + ?Sized>(self, value: &'a V) -> Result<Self, InvalidValue> {
        Ok(self.id(EventId::new(value)?))
    }

    /// Sets the client's reconnection time. It is sent in whole
    /// milliseconds, rounded down (a `retry` field holds nothing finer),
    /// and saturates at `u64::MAX` of them, where decoders saturate too.
    #[must_use]
    pub fn retry(mut self, reconnection_time: Duration) -> Self {
        self.retry = Some(millis(reconnection_time));
        self
    }

    /// The data.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Takes the message apart: `(event_type, data, id, retry)`; an empty
    /// event type means `message` (none is written).
    ///
    /// # Example
    /// ```
    /// use core::time::Duration;
    /// use ssewire::encode::{EventId, Message};
    /// let m = Message::new("x").id(EventId::new("7")?).retry(Duration::from_millis(100));
    /// assert_eq!(m.into_parts(), (&b""[..], &b"x"[..], Some(&b"7"[..]), Some(Duration::from_millis(100))));
    /// # Ok::<(), ssewire::InvalidValue>(())
    /// ```
    #[must_use]
    #[allow(clippy::type_complexity)] // a plain tuple, like `BytesEvent::into_parts`
    pub fn into_parts(self) -> (&'a [u8], &'a [u8], Option<&'a [u8]>, Option<Duration>) {
        let retry = self.retry.map(Duration::from_millis);
        (self.event_type, self.data, self.id, retry)
    }
}

impl<'a> From<crate::Event<'a>> for Message<'a> {
    /// The encoder event that re-creates a decoded event: same type, data
    /// and last event id (written as `id`, which leaves a client's id as it
    /// was). A decoded type or id can hold no CR, LF or NUL, so this needs
    /// no validation.
    fn from(ev: crate::Event<'a>) -> Self {
        Message {
            data: ev.data(),
            event_type: ev.raw_event_type(),
            id: Some(ev.last_event_id()),
            retry: None,
        }
    }
}

/// A comment, for keep-alives or annotations. Each line of the text becomes
/// its own comment line; decoders ignore them. It does not end an event.
///
/// # Example
/// ```
/// use ssewire::encode::{Comment, Encode};
/// let mut out = [0u8; 32];
/// let n = Comment::new("two\nlines").encode(&mut out).unwrap();
/// assert_eq!(&out[..n], b": two\n: lines\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Comment<'a>(&'a [u8]);

impl<'a> Comment<'a> {
    /// A comment with this text.
    #[must_use]
    pub fn new<T: AsRef<[u8]> + ?Sized>(text: &'a T) -> Self {
        Comment(text.as_ref())
    }
}

/// A standalone `retry` line: sets the client's reconnection time without
/// sending an event. It is sent in whole milliseconds, rounded down, and
/// saturates at `u64::MAX` of them, where decoders saturate too.
///
/// # Example
/// ```
/// use core::time::Duration;
/// use ssewire::encode::{Encode, Retry};
/// let mut out = [0u8; 16];
/// let n = Retry::new(Duration::from_secs(3)).encode(&mut out).unwrap();
/// assert_eq!(&out[..n], b"retry: 3000\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retry(u64);

impl Retry {
    /// A `retry` line asking for this long before reconnecting.
    #[must_use]
    pub const fn new(reconnection_time: Duration) -> Self {
        Retry(millis(reconnection_time))
    }

    /// The reconnection time it sends (whole milliseconds).
    #[must_use]
    pub const fn reconnection_time(&self) -> Duration {
        Duration::from_millis(self.0)
    }
}

/// A duration in whole milliseconds, as a `retry` field holds it: rounded
/// down, saturating at `u64::MAX`.
const fn millis(d: Duration) -> u64 {
    let ms = d.as_millis();
    if ms > u64::MAX as u128 {
        u64::MAX
    } else {
        #[allow(clippy::cast_possible_truncation)] // checked above
        {
            ms as u64
        }
    }
}

/// Any one thing the encoder writes, for mixed sequences.
///
/// # Example
/// ```
/// use core::time::Duration;
/// use ssewire::encode::{Comment, Encode, Message, Output, Retry};
/// let items = [Output::Retry(Retry::new(Duration::from_secs(1))), Output::Comment(Comment::new("hi")), Output::Message(Message::new("x"))];
/// let mut out = [0u8; 64];
/// let n = items[..].encode(&mut out).unwrap();
/// assert_eq!(&out[..n], b"retry: 1000\n: hi\ndata: x\n\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Output<'a> {
    /// An event.
    Message(Message<'a>),
    /// A comment.
    Comment(Comment<'a>),
    /// A `retry` line.
    Retry(Retry),
}

mod private {
    /// Where the encoder puts bytes. Not nameable outside the crate, which
    /// seals [`Encode`](super::Encode).
    pub trait Sink {
        type Error;
        fn put(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
    }

    pub trait Sealed {
        fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error>;

        /// The encoding, already made and shareable (only
        /// [`Encoded`](super::Encoded) has one).
        #[cfg(feature = "bytes")]
        fn shared(&self) -> Option<&bytes::Bytes> {
            None
        }
    }
}
pub(crate) use private::{Sealed, Sink};

#[cfg(feature = "alloc")]
mod owned;
#[cfg(feature = "alloc")]
pub use owned::OwnedMessage;
#[cfg(feature = "bytes")]
mod shared;
#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
pub use shared::Encoded;

/// Calls `f` with each line of `text`, split at CRLF, LF and lone CR, and
/// whether it is the last. An empty text, or a trailing line break, gives
/// an empty last line.
#[inline]
fn for_each_line<E>(text: &[u8], mut f: impl FnMut(&[u8], bool) -> Result<(), E>) -> Result<(), E> {
    let mut rest = text;
    loop {
        match crate::eol::find(rest) {
            None => return f(rest, true),
            Some(i) => {
                f(&rest[..i], false)?;
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[i + skip..];
            }
        }
    }
}

/// Writes `name: value` and `end`, or `name` and `end` for an empty value.
/// `head` is the field name followed by `": "`, written as one piece; `end`
/// is the line break, or the line break and the blank line that ends an
/// event.
#[inline]
fn field<S: Sink>(s: &mut S, head: &[u8], value: &[u8], end: &[u8]) -> Result<(), S::Error> {
    debug_assert!(head.ends_with(b": "));
    if value.is_empty() {
        s.put(&head[..head.len() - 2])?;
    } else {
        s.put(head)?;
        s.put(value)?;
    }
    s.put(end)
}

/// Formats `n` in decimal into `buf`, returning the digits.
#[inline]
fn decimal(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

impl Sealed for Message<'_> {
    #[inline]
    fn emit<S: Sink>(&self, s: &mut S) -> Result<(), S::Error> {
        if !self.event_type.is_empty() {
            field(s, b"event: ", self.event_type, b"\n")?;
        }
        if let Some(id) = self.id {
            field(s, b"id: ", id, b"\n")?;
        }
        if let Some(ms) = self.retry {
            field(s, b"retry: ", decimal(ms, &mut [0; 20]), b"\n")?;
        }
        // The last data line's break and the blank line in one piece.
        // (Two calls, so that each writes a constant piece.)
        for_each_line(self.data, |line, last| {
            if last {
                field(s, b"data: ", line, b"\n\n")
            } else {
                field(s, b"data: ", line, b"\n")
            }
        })
    }
}

impl Sealed for Comment<'_> {
    #[inline]
    fn emit<S: Sink>(&self, s: &mut S) -> Result<(), S::Error> {
        // Not `field`: an empty name would make an empty line, a blank line
        // that dispatches. Every comment line starts with the colon.
        for_each_line(self.0, |line, _| {
            if line.is_empty() {
                s.put(b":\n")
            } else {
                s.put(b": ")?;
                s.put(line)?;
                s.put(b"\n")
            }
        })
    }
}

impl Sealed for Retry {
    #[inline]
    fn emit<S: Sink>(&self, s: &mut S) -> Result<(), S::Error> {
        field(s, b"retry: ", decimal(self.0, &mut [0; 20]), b"\n")
    }
}

impl Sealed for Output<'_> {
    fn emit<S: Sink>(&self, s: &mut S) -> Result<(), S::Error> {
        match self {
            Output::Message(e) => e.emit(s),
            Output::Comment(c) => c.emit(s),
            Output::Retry(r) => r.emit(s),
        }
    }
}

impl<T: Encode> Sealed for [T] {
    fn emit<S: Sink>(&self, s: &mut S) -> Result<(), S::Error> {
        self.iter().try_for_each(|item| item.emit(s))
    }
}

/// Counts bytes instead of writing them. Saturates: a length past
/// `usize::MAX` (possible on 32-bit targets for large slices of items) is
/// reported as `usize::MAX`, which no buffer can hold, never as a wrapped
/// small number.
struct Counter(usize);

impl Sink for Counter {
    type Error = core::convert::Infallible;
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// Checks that every piece is UTF-8 (for `fmt::Write` sinks), and counts.
struct Utf8Check(usize);

impl Sink for Utf8Check {
    type Error = FmtError;
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), FmtError> {
        // Pieces are whole values, names or ASCII punctuation; values are
        // split only at CR and LF, which never fall inside a UTF-8
        // sequence, so checking piece by piece checks the whole.
        core::str::from_utf8(bytes).map_err(|_| FmtError::NotUtf8)?;
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// Writes into a slice known to be large enough.
struct SliceSink<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Sink for SliceSink<'_> {
    type Error = BufferTooSmall;
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), BufferTooSmall> {
        let end = self.at + bytes.len();
        match self.out.get_mut(self.at..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.at = end;
                Ok(())
            }
            None => Err(BufferTooSmall {
                needed: end,
                available: self.out.len(),
            }),
        }
    }
}

struct FmtSink<'w, W: ?Sized>(&'w mut W);

impl<W: fmt::Write + ?Sized> Sink for FmtSink<'_, W> {
    type Error = FmtError;
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), FmtError> {
        // Checked by `Utf8Check` before anything was written.
        let s = core::str::from_utf8(bytes).map_err(|_| FmtError::NotUtf8)?;
        Ok(self.0.write_str(s)?)
    }
}

/// A buffer that grows (`Vec<u8>`, `BytesMut`), written by
/// [`encode_growable`].
#[cfg(feature = "alloc")]
pub(crate) trait Growable {
    /// Bytes it holds.
    fn filled(&self) -> usize;
    /// Bytes it can take without growing.
    fn room(&self) -> usize;
    /// Appends `bytes` (within the room, or growing).
    fn append(&mut self, bytes: &[u8]);
    /// Drops what lies past `len`.
    fn cut(&mut self, len: usize);
    /// Makes room for `n` more bytes.
    fn grow(&mut self, n: usize);
}

/// `Vec<u8>` and `BytesMut` have the same methods under the same names.
macro_rules! impl_growable {
    ($feature:literal, $ty:ty) => {
        #[cfg(feature = $feature)]
        impl Growable for $ty {
            #[inline]
            fn filled(&self) -> usize {
                self.len()
            }
            #[inline]
            fn room(&self) -> usize {
                self.capacity() - self.len()
            }
            #[inline]
            fn append(&mut self, bytes: &[u8]) {
                self.extend_from_slice(bytes);
            }
            fn cut(&mut self, len: usize) {
                self.truncate(len);
            }
            fn grow(&mut self, n: usize) {
                self.reserve(n);
            }
        }
    };
}
impl_growable!("alloc", alloc::vec::Vec<u8>);
impl_growable!("bytes", bytes::BytesMut);

/// Appends within the room a buffer has, never growing it: `Err` for a
/// piece that does not fit (nothing of it written).
#[cfg(feature = "alloc")]
struct RoomSink<'g, G>(&'g mut G);

#[cfg(feature = "alloc")]
impl<G: Growable> Sink for RoomSink<'_, G> {
    type Error = ();
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() > self.0.room() {
            return Err(());
        }
        self.0.append(bytes);
        Ok(())
    }
}

/// Appends `item` to `out`; returns the bytes appended. Into the room `out`
/// has, in one pass with no counting first; out of room, what was written
/// is undone and `out` grows once, by [`Encode::encoded_len`].
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn encode_growable<T: Encode + ?Sized, G: Growable>(item: &T, out: &mut G) -> usize {
    let start = out.filled();
    if item.emit(&mut RoomSink(out)).is_ok() {
        return out.filled() - start;
    }
    out.cut(start);
    let n = item.encoded_len();
    out.grow(n);
    match item.emit(&mut GrowSink(out)) {
        Ok(()) => n,
        Err(never) => match never {},
    }
}

/// Appends to a growable buffer.
#[cfg(feature = "alloc")]
struct GrowSink<'g, G>(&'g mut G);

#[cfg(feature = "alloc")]
impl<G: Growable> Sink for GrowSink<'_, G> {
    type Error = core::convert::Infallible;
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.append(bytes);
        Ok(())
    }
}

#[cfg(feature = "bytes")]
struct BufMutSink<'b, M: ?Sized>(&'b mut M);

#[cfg(feature = "bytes")]
impl<M: bytes::BufMut + ?Sized> Sink for BufMutSink<'_, M> {
    type Error = core::convert::Infallible;
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.put_slice(bytes);
        Ok(())
    }
}

/// Writing events, comments and retry lines (and slices of them) to the
/// supported sinks. Implemented for [`Message`], [`Comment`], [`Retry`],
/// [`Output`] and slices of any of them; sealed.
pub trait Encode: Sealed {
    /// The exact number of bytes the encoding takes.
    ///
    /// # Example
    /// ```
    /// use ssewire::encode::{Encode, Message};
    /// assert_eq!(Message::new("hi").encoded_len(), "data: hi\n\n".len());
    /// ```
    fn encoded_len(&self) -> usize {
        let mut c = Counter(0);
        match self.emit(&mut c) {
            Ok(()) => c.0,
            Err(never) => match never {},
        }
    }

    /// Writes into `out`, returning the number of bytes written.
    ///
    /// # Errors
    /// [`BufferTooSmall`] (with the size needed) when `out` is too short;
    /// then nothing is written.
    ///
    /// # Example
    /// ```
    /// use ssewire::encode::{Encode, Message};
    /// let mut small = [0u8; 4];
    /// let err = Message::new("hello").encode(&mut small).unwrap_err();
    /// assert_eq!(err.needed, 13);
    /// assert_eq!(small, [0; 4]);
    /// ```
    fn encode(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let needed = self.encoded_len();
        if needed > out.len() {
            return Err(BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        let mut sink = SliceSink { out, at: 0 };
        self.emit(&mut sink)?;
        Ok(sink.at)
    }

    /// Writes into any [`fmt::Write`] (a `String`, a `heapless::String`, a
    /// formatter...), returning the number of bytes written: exactly
    /// [`Encode::encoded_len`].
    ///
    /// # Errors
    /// [`FmtError::NotUtf8`] when a value is not valid UTF-8 (a `fmt::Write`
    /// cannot carry it exactly; nothing is written), [`FmtError::Write`]
    /// when the writer fails.
    ///
    /// # Example
    /// ```
    /// use ssewire::encode::{Encode, Message};
    /// use ssewire::FmtError;
    /// let mut s = String::new();
    /// let n = Message::new("a\r\nb").encode_fmt(&mut s)?;
    /// assert_eq!((s.as_str(), n), ("data: a\ndata: b\n\n", 17));
    /// assert_eq!(Message::new(b"\xFF").encode_fmt(&mut s), Err(FmtError::NotUtf8));
    /// assert_eq!(s.len(), 17); // nothing more written
    /// # Ok::<(), FmtError>(())
    /// ```
    fn encode_fmt<W: fmt::Write + ?Sized>(&self, w: &mut W) -> Result<usize, FmtError> {
        let mut check = Utf8Check(0);
        self.emit(&mut check)?;
        self.emit(&mut FmtSink(w))?;
        Ok(check.0)
    }

    /// Appends to a `Vec<u8>`. Returns the number of bytes appended,
    /// [`Encode::encoded_len`].
    ///
    /// A `Vec` with room enough (a reused one, typically) is written in one
    /// pass and never allocates. One without is grown once, by reserving
    /// [`Encode::encoded_len`], and then written.
    ///
    /// # Panics
    /// When the `Vec` cannot grow that much (over `isize::MAX` bytes), as
    /// any `Vec` growth does.
    #[cfg(feature = "alloc")]
    #[inline]
    fn encode_vec(&self, out: &mut alloc::vec::Vec<u8>) -> usize {
        encode_growable(self, out)
    }

    /// Writes to a [`std::io::Write`] with one `write_all` per piece, without
    /// buffering of its own (wrap unbuffered writers in a `BufWriter`).
    /// Returns the number of bytes written.
    ///
    /// # Errors
    /// The writer's errors.
    ///
    /// # Example
    /// ```
    /// use ssewire::encode::{Encode, Message};
    /// let mut out = std::io::Cursor::new(Vec::new());
    /// let n = Message::new("x").encode_io(&mut out)?;
    /// assert_eq!(n, 9);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "std")]
    fn encode_io<W: std::io::Write + ?Sized>(&self, w: &mut W) -> std::io::Result<usize> {
        struct IoSink<'w, W: ?Sized>(&'w mut W);
        impl<W: std::io::Write + ?Sized> Sink for IoSink<'_, W> {
            type Error = std::io::Error;
            fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
                self.0.write_all(bytes)
            }
        }
        let n = self.encoded_len();
        self.emit(&mut IoSink(w))?;
        Ok(n)
    }

    /// Writes into a [`BufMut`][BufMutTrait] (for example a reused `BytesMut`).
    /// Returns the number of bytes written.
    ///
    /// # Errors
    /// [`BufferTooSmall`] when `buf.remaining_mut()` is smaller than the
    /// encoding; then nothing is written. (`BytesMut` and `Vec<u8>` grow, so
    /// they always have room.)
    ///
    /// # Example
    /// ```
    /// use ssewire::encode::{Encode, Message};
    /// let mut buf = bytes::BytesMut::with_capacity(64);
    /// Message::new("x").encode_buf(&mut buf).unwrap();
    /// assert_eq!(&buf[..], b"data: x\n\n");
    /// ```
    ///
    /// [BufMutTrait]: ::bytes::BufMut
    #[cfg(feature = "bytes")]
    fn encode_buf<M: bytes::BufMut + ?Sized>(&self, buf: &mut M) -> Result<usize, BufferTooSmall> {
        let needed = self.encoded_len();
        let available = buf.remaining_mut();
        if needed > available {
            return Err(BufferTooSmall { needed, available });
        }
        match self.emit(&mut BufMutSink(buf)) {
            Ok(()) => Ok(needed),
            Err(never) => match never {},
        }
    }
}

impl Encode for Message<'_> {}
impl Encode for Comment<'_> {}
impl Encode for Retry {}
impl Encode for Output<'_> {}
impl<T: Encode> Encode for [T] {}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<T: Encode + ?Sized>(t: &T) -> ([u8; 256], usize) {
        let mut out = [0u8; 256];
        let n = t.encode(&mut out).unwrap();
        assert_eq!(n, t.encoded_len());
        (out, n)
    }

    macro_rules! assert_enc {
        ($item:expr, $want:expr) => {{
            let (out, n) = enc(&$item);
            assert_eq!(crate::Lossy(&out[..n]), crate::Lossy($want));
        }};
    }

    /// `encode_growable` (`encode_vec`, and the `BytesMut` writers of the
    /// body and codec) writes in one pass into the room a buffer has, and
    /// otherwise undoes what it wrote and grows once: whatever the room,
    /// the buffer ends with what was in it followed by exactly the
    /// encoding.
    #[cfg(feature = "alloc")]
    fn check_growable<G: Growable + AsRef<[u8]>>(with_capacity: impl Fn(usize) -> G) {
        let items = [
            Output::Message(Message::new("a\r\nb\nc").try_id("7").unwrap()),
            Output::Message(Message::new("")),
            Output::Comment(Comment::new("x\ny")),
            Output::Retry(Retry::new(Duration::from_millis(1500))),
        ];
        for item in items.iter().map(core::slice::from_ref).chain([&items[..]]) {
            let (want, n) = enc(item);
            for room in 0..=n + 1 {
                let mut out = with_capacity(3 + room);
                out.append(b"pre");
                let room = out.room();
                assert_eq!(encode_growable(item, &mut out), n, "room {room}");
                let out_bytes = out.as_ref();
                assert_eq!(&out_bytes[..3], b"pre");
                assert_eq!(
                    crate::Lossy(&out_bytes[3..]),
                    crate::Lossy(&want[..n]),
                    "room {room}"
                );
                if room >= n {
                    assert_eq!(out.room(), room - n, "room {room}: grew with room enough");
                }
            }
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn encode_vec_is_right_whatever_room_the_vec_has() {
        check_growable(alloc::vec::Vec::with_capacity);
        let mut v = alloc::vec::Vec::new();
        assert_eq!(Message::new("x").encode_vec(&mut v), 9);
        assert_eq!(v, b"data: x\n\n");
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn bytes_mut_is_written_right_whatever_room_it_has() {
        check_growable(bytes::BytesMut::with_capacity);
    }

    #[test]
    fn data_lines_split_at_every_line_break_kind() {
        assert_enc!(
            Message::new("a\r\nb\nc\rd"),
            b"data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }

    #[test]
    fn empty_data_is_a_bare_data_line() {
        assert_enc!(Message::new(""), b"data\n\n");
        assert_enc!(Message::new("\n"), b"data\ndata\n\n");
    }

    #[test]
    fn leading_space_survives_one_space_strip() {
        assert_enc!(Message::new(" x"), b"data:  x\n\n");
    }

    #[test]
    fn all_fields_in_order() {
        let ev = Message::new("d")
            .try_event_type("t")
            .unwrap()
            .try_id("")
            .unwrap()
            .retry(Duration::ZERO);
        assert_enc!(ev, b"event: t\nid\nretry: 0\ndata: d\n\n");
    }

    /// The short-value scans (under 16 bytes, no call) and the long ones
    /// agree with a plain search for every length around the switch and
    /// every place of the break.
    #[test]
    fn line_breaks_and_nuls_are_found_at_every_length_and_place() {
        for len in 0..40 {
            for at in 0..=len {
                for b in [b'\n', b'\r', 0] {
                    let mut buf = [b'x'; 40];
                    let v = &mut buf[..len];
                    if at < len {
                        v[at] = b;
                    }
                    let has = at < len;
                    let brk = has && b != 0;
                    assert_eq!(crate::eol::find(v), brk.then_some(at), "{len} {at} {b}");
                    assert_eq!(check_line(v).is_err(), brk, "{len} {at} {b}");
                    assert_eq!(check_id(v).is_err(), has, "{len} {at} {b}");
                    if has && b == 0 {
                        assert_eq!(check_id(v), Err(InvalidValue::Null { at }));
                    }
                }
            }
        }
    }

    #[test]
    fn retry_max_is_decimal() {
        assert_enc!(
            Retry::new(Duration::from_millis(u64::MAX)),
            b"retry: 18446744073709551615\n"
        );
        // Beyond what the field can say: saturated, as decoders saturate.
        assert_enc!(Retry::new(Duration::MAX), b"retry: 18446744073709551615\n");
        // Finer than a millisecond: rounded down.
        assert_enc!(Retry::new(Duration::from_micros(2999)), b"retry: 2\n");
        assert_eq!(
            Retry::new(Duration::from_micros(2999)).reconnection_time(),
            Duration::from_millis(2)
        );
    }

    #[test]
    fn comments_split_into_comment_lines() {
        assert_enc!(Comment::new(""), b":\n");
        assert_enc!(Comment::new("a\r\n\rb"), b": a\n:\n: b\n");
    }

    #[test]
    fn invalid_values_are_refused() {
        assert_eq!(
            EventType::new("a\rb"),
            Err(InvalidValue::LineBreak { at: 1 })
        );
        assert_eq!(EventId::new("ab\n"), Err(InvalidValue::LineBreak { at: 2 }));
        assert_eq!(EventId::new("a\0"), Err(InvalidValue::Null { at: 1 }));
        assert!(EventType::new("a\0").is_ok());
    }

    #[test]
    fn too_small_buffer_writes_nothing() {
        let mut out = [7u8; 8];
        let e = Message::new("0123456789").encode(&mut out).unwrap_err();
        assert_eq!(
            e,
            BufferTooSmall {
                needed: 18,
                available: 8
            }
        );
        assert_eq!(out, [7u8; 8]);
    }

    #[test]
    fn header_safety() {
        assert!(EventId::new("abc").unwrap().is_header_safe());
        assert!(EventId::new("a b\tc").unwrap().is_header_safe());
        assert!(EventId::new("é").unwrap().is_header_safe());
        assert!(!EventId::new("").unwrap().is_header_safe());
        assert!(!EventId::new("a ").unwrap().is_header_safe());
        assert!(!EventId::new("\ta").unwrap().is_header_safe());
        assert!(!EventId::new("a\x01").unwrap().is_header_safe());
    }
}
