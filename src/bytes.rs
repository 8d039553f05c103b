//! Feature `bytes`: decoding `bytes::Bytes` chunks into `'static` events that
//! share the input's memory, and raw frames for proxies.
//!
//! This module only drives the [`Decoder`]; every rule lives there.

use alloc::collections::VecDeque;
use core::ops::ControlFlow;

use bytes::{Bytes, BytesMut};

use crate::decoder::{Config, Decoder, Discarded, Item};

pub(crate) mod frame;
use frame::{Ended, Frame};

use crate::buffer::inside;
use crate::error::DecodeError;

/// A dispatched event whose data is `bytes::Bytes`. It is `'static + Send`,
/// so it can move to another task.
///
/// Data of 1 KiB or more that lay inside one input chunk shares that
/// chunk's memory (reference-counted, no copy); data of 1 KiB or more
/// that the decoder assembled in its own buffer (it straddled chunks, or
/// joined several `data` lines) is handed out of that buffer, not copied
/// again. Shorter data is copied once, into a shared block, and data of up
/// to 23 bytes (a heartbeat's, a ping's) is held inline in the event,
/// which costs less than a reference count; so [`BytesEvent::data`] is a
/// slice, and [`BytesEvent::data_bytes`] gives `Bytes` (a copy for inline
/// data). Event types and ids of up to 23 bytes are held inline too;
/// longer ones are shared or copied as data is (a long id once, then
/// shared by the following events while it stays the same).
///
/// # Memory kept alive
/// Shared data keeps its whole input chunk alive for as long as the event
/// (or a clone of the data) lives. To bound that, data is shared only when
/// its chunk is at most `max(`[`Config::max_pin`]`, 4 × the data)` bytes
/// (64 KiB by default, more than a typical network read); otherwise it is
/// copied. Data under 1 KiB is always copied, as a chunk may be a slice of
/// a far larger allocation (an HTTP stack's read buffer) that `Bytes` does
/// not show. Copies are carved from shared 4 KiB blocks (a larger copy gets
/// a block of its own size). So a queued or retained event pins at most
/// about `max(max_pin, 4 × its data)` plus its share of one copy block,
/// never a whole multi-megabyte read. The same bound holds for data handed
/// out of the decoder's buffer: it is copied instead when that buffer is
/// larger. Raw frames ([`Config::raw_frames`]) always share, as they are
/// meant to be forwarded and dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BytesEvent {
    event_type: Small,
    data: Small,
    last_event_id: Small,
    raw: Option<Bytes>,
}

/// The longest event type, data or last event id a [`BytesEvent`] holds inline,
/// with no reference count.
const INLINE: usize = 23;

/// An event type, data or last event id: inline when short (no reference count
/// to take and drop per event), else `Bytes`.
#[derive(Clone)]
enum Small {
    /// Bytes `0..23` hold the value, zero-padded; byte 23 its length. It
    /// is built from three words computed in registers and stored whole:
    /// the copy into a byte array with the length byte in front, as
    /// before, was stored piecemeal and then read back as words, which
    /// stalls until those stores complete.
    Inline([u8; INLINE + 1]),
    Shared(Bytes),
}

/// Up to 8 bytes as a little-endian word, zero-padded, read with at most
/// two loads and no call.
#[inline(always)]
fn word(s: &[u8]) -> u64 {
    let n = s.len();
    debug_assert!(n <= 8);
    if n >= 4 {
        let lo = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let hi = u32::from_le_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]);
        // The two halves overlap when n < 8, on equal bytes.
        u64::from(lo) | u64::from(hi) << (8 * (n - 4))
    } else if n > 0 {
        u64::from(s[0])
            | u64::from(s[n / 2]) << (8 * (n / 2))
            | u64::from(s[n - 1]) << (8 * (n - 1))
    } else {
        0
    }
}

impl Small {
    /// `bytes`, at most [`INLINE`] long, held inline.
    #[inline(always)]
    fn inline(bytes: &[u8]) -> Small {
        debug_assert!(bytes.len() <= INLINE);
        let n = bytes.len();
        let (a, rest) = bytes.split_at(n.min(8));
        let (b, c) = rest.split_at(rest.len().min(8));
        #[allow(clippy::cast_possible_truncation)] // at most INLINE
        let words = [word(a), word(b), word(c) | u64::from(n as u8) << 56];
        let mut buf = [0; INLINE + 1];
        for (dst, w) in buf.chunks_exact_mut(8).zip(words) {
            dst.copy_from_slice(&w.to_le_bytes());
        }
        Small::Inline(buf)
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            Small::Inline(buf) => &buf[..usize::from(buf[INLINE])],
            Small::Shared(b) => b,
        }
    }

    /// As `Bytes` (an inline value is copied).
    fn into_bytes(self) -> Bytes {
        match self {
            Small::Shared(b) => b,
            inline @ Small::Inline(..) => inline.to_bytes(),
        }
    }

    /// As `Bytes`: shared, or copied when inline.
    fn to_bytes(&self) -> Bytes {
        match self {
            Small::Inline(..) => Bytes::copy_from_slice(self.as_bytes()),
            Small::Shared(b) => b.clone(),
        }
    }
}

impl PartialEq for Small {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Small {}

impl core::hash::Hash for Small {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl core::fmt::Debug for Small {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&Bytes::copy_from_slice(self.as_bytes()), f)
    }
}

impl BytesEvent {
    /// The event type (`message` when none was set). (Types of up to 23
    /// bytes are held inline, without a reference count, so this is a
    /// slice.)
    #[must_use]
    pub fn event_type(&self) -> &[u8] {
        self.event_type.as_bytes()
    }

    /// The data. (Data of up to 23 bytes is held inline, without a
    /// reference count, so this is a slice; see
    /// [`BytesEvent::data_bytes`] for `Bytes`.)
    #[must_use]
    pub fn data(&self) -> &[u8] {
        self.data.as_bytes()
    }

    /// The data as `Bytes`: a reference to the memory it is held in, or,
    /// for data of up to 23 bytes (held inline), a new copy.
    ///
    /// # Example
    /// ```
    /// use bytes::Bytes;
    /// use ssewire::bytes::{BytesDecoder, BytesItem};
    ///
    /// let chunk = Bytes::from(format!("data: {}\n\n", "x".repeat(2048)));
    /// let mut dec = BytesDecoder::new();
    /// dec.push(chunk.clone());
    /// let Some(Ok(BytesItem::Event(ev))) = dec.next() else { panic!() };
    /// // Long data shares the chunk's memory.
    /// assert_eq!(ev.data_bytes().as_ptr(), chunk[6..].as_ptr());
    /// ```
    #[must_use]
    pub fn data_bytes(&self) -> Bytes {
        self.data.to_bytes()
    }

    /// The last event id at dispatch. (Ids of up to 23 bytes are held
    /// inline, without a reference count, so this is a slice.)
    #[must_use]
    pub fn last_event_id(&self) -> &[u8] {
        self.last_event_id.as_bytes()
    }

    /// The event type decoded as the spec does (U+FFFD for invalid UTF-8);
    /// borrowed when already valid.
    #[must_use]
    #[inline]
    pub fn event_type_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        crate::utf8::lossy(self.event_type())
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
    #[inline]
    pub fn data_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        crate::utf8::lossy(self.data())
    }

    /// The last event id decoded as the spec does (U+FFFD for invalid
    /// UTF-8); borrowed when already valid.
    #[must_use]
    #[inline]
    pub fn last_event_id_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        crate::utf8::lossy(self.last_event_id())
    }

    /// The data as `&str`.
    ///
    /// # Errors
    /// When it is not valid UTF-8.
    #[inline]
    pub fn data_str(&self) -> Result<&str, core::str::Utf8Error> {
        crate::utf8::str(self.data())
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
    /// (A short type or id, held inline, is copied into a new `Bytes`
    /// here.)
    #[must_use]
    pub fn into_parts(self) -> (Bytes, Bytes, Bytes, Option<Bytes>) {
        let event_type = match self.event_type() {
            b"message" => Bytes::from_static(b"message"),
            _ => self.event_type.into_bytes(),
        };
        (
            event_type,
            self.data.into_bytes(),
            self.last_event_id.into_bytes(),
            self.raw,
        )
    }

    /// A borrowed [`crate::Event`] view, for code written against the slice
    /// API.
    #[must_use]
    pub fn as_event(&self) -> crate::Event<'_> {
        crate::Event::new(self.event_type(), self.data(), self.last_event_id())
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
    /// A valid `retry` field set the reconnection time (whole
    /// milliseconds, as the field gives them).
    Retry(core::time::Duration),
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

/// Raw frames: the shared [`Frame`] buffer, and where the current frame
/// starts in the chunk being decoded.
#[derive(Debug)]
struct Raw {
    start: usize,
    frame: Frame,
}

impl Raw {
    /// The chunk is used up: keep the current frame's part of it.
    fn keep_rest(&mut self, chunk: &[u8]) {
        let start = core::mem::replace(&mut self.start, 0);
        self.frame.keep(&chunk[start..]);
    }

    /// The current frame ends at `chunk[..end]`: hand it out and start the
    /// next one there. A frame over the limit gives `Err` with
    /// [`DecodeError::FrameTooLong`], whatever the chunking, to be queued
    /// after its item.
    fn take_frame(&mut self, chunk: &Bytes, end: usize) -> Result<Option<Bytes>, DecodeError> {
        let start = core::mem::replace(&mut self.start, end);
        match self.frame.end(chunk, start, end) {
            Ended::Kept => Ok(Some(self.frame.take_whole(chunk, start, end))),
            Ended::Dropped => Ok(None),
            Ended::Over => Err(DecodeError::FrameTooLong {
                max: self.frame.max(),
            }),
        }
    }

    /// End of stream: the bytes after the last complete block, if kept.
    fn take_trailing(&mut self) -> Option<Bytes> {
        self.start = 0;
        self.frame.take_rest()
    }
}

/// Bytes copied out of the decoder's buffers (data joined from several
/// lines or straddling chunks, a new last event id) are carved from one
/// shared block of this size, so that a copy costs no allocation of its own.
const COPY_BLOCK: usize = 4 * 1024;

/// Fields shorter than this are copied (into a block) rather than shared
/// with their chunk: a chunk may be a slice of a much larger allocation
/// (an HTTP stack's read buffer), which `Bytes` does not show, and a
/// retained small field would keep all of it alive. (Unless `max_pin` is
/// `usize::MAX`: share always.)
const SHARE_MIN: usize = 1024;

/// Where a type, data or id of an event comes from.
enum Place {
    /// Held by the event without a block or the chunk: inline (short), or
    /// the kept last event id.
    Own,
    /// Shared with the chunk, at this range of it.
    Share(core::ops::Range<usize>),
    /// Copied into a copy block.
    Copy,
}

/// The chunk being decoded: its bytes, and the `Bytes` they are when
/// fields may be shared with it. A lent chunk (`owner` is `None`, see
/// [`BytesDecoder::push_slice`]) shares nothing: every field an event keeps
/// is copied or held inline.
#[derive(Clone, Copy)]
pub(crate) struct Chunk<'a> {
    bytes: &'a [u8],
    owner: Option<&'a Bytes>,
}

impl<'a> Chunk<'a> {
    /// A chunk fields may be shared with.
    #[inline(always)]
    pub(crate) fn shared(chunk: &'a Bytes) -> Self {
        Chunk {
            bytes: chunk,
            owner: Some(chunk),
        }
    }

    /// A borrowed chunk: nothing refers to it once it is decoded.
    #[inline(always)]
    fn lent(chunk: &'a [u8]) -> Self {
        Chunk {
            bytes: chunk,
            owner: None,
        }
    }

    #[inline(always)]
    fn len(self) -> usize {
        self.bytes.len()
    }
}

/// `chunk[r]` shared with it (an empty range: no reference at all).
/// [`Sharer::place`] gives a non-empty range only for a chunk with an
/// owner.
#[inline(always)]
fn shared(chunk: Chunk<'_>, r: core::ops::Range<usize>) -> Bytes {
    match chunk.owner {
        Some(owner) if !r.is_empty() => owner.slice(r),
        _ => Bytes::new(),
    }
}

/// Data at least this long that straddled chunks is taken out of the
/// decoder's buffer (which the `Bytes` then shares) instead of being copied
/// a second time. Below it a copy costs less than stopping the decoder to
/// take the bytes. (Fuzzing builds take much shorter data, so that the
/// fuzzers' small inputs go down this path too.)
#[cfg(not(fuzzing))]
const TAKE_MIN: usize = 1024;
#[cfg(fuzzing)]
const TAKE_MIN: usize = 4;

/// The decoder type of the `bytes` layer: `BytesMut` buffers, so that
/// large data can be handed out of them without a copy.
pub(crate) type BytesBufDecoder = Decoder<BytesMut>;

/// An event held back until its data is taken from the decoder.
#[derive(Debug)]
struct Held {
    /// The event, its data still empty.
    event: BytesEvent,
    /// The address and length of the data in the decoder's buffers.
    at: (usize, usize),
    /// An error to hand out after the event (its raw frame was too long).
    late: Option<Result<BytesItem, DecodeError>>,
}

/// The data of the event the decoder just dispatched, `len` bytes at
/// address `at` in one of its buffers: split off that buffer, without a
/// copy, when the buffer's memory is at most `max_pin` (the returned bytes
/// keep it alive); else lent, to be copied. `None` when it lies in neither
/// buffer (it was in the chunk). `pinned`: the most memory a buffer split
/// earlier may be the rest of (see [`Convert::pinned`]); raised here when
/// this split leaves the rest of a larger allocation behind.
///
/// What is left of a buffer split this way is the rest of the same
/// allocation, which the returned bytes keep alive and which its capacity
/// does not show. It is kept: once the bytes are dropped, the buffer takes
/// the whole memory up again when it next grows (no allocation per event).
fn take_data<'a>(
    dec: &'a mut BytesBufDecoder,
    (at, len): (usize, usize),
    max_pin: usize,
    max_idle: usize,
    pinned: &mut usize,
) -> Option<Result<BytesMut, &'a [u8]>> {
    use bytes::Buf;
    let buf = dec.buffer_holding(at, len)?;
    let start = at - buf.as_ptr() as usize;
    // A buffer that may be the rest of a larger allocation is judged by it.
    let allocation = buf.capacity().max(*pinned);
    if allocation > max_pin {
        return Some(Err(&buf[start..start + len]));
    }
    let mut held = buf.split_to(start + len);
    held.advance(start);
    buf.clear();
    if allocation > max_idle {
        *pinned = allocation;
    }
    Some(Ok(held))
}

/// Turns the decoder's items into [`BytesItem`]s for one chunk.
#[derive(Debug)]
struct Convert {
    raw: Option<Raw>,
    report_blanks: bool,
    sharer: Sharer,
    /// An event whose data is to be taken from the decoder, held back
    /// while the decoder stops right after the item that dispatched it.
    held: Option<Held>,
    /// See [`Config::max_idle_buffer`].
    max_idle: usize,
    /// Data was split off a decoder buffer whose allocation was this large
    /// (above `max_idle`; 0: none since the decoder was last wholly idle):
    /// what is left of that buffer is the rest of that allocation, which
    /// its capacity does not show. Further splits are judged by it, and
    /// the decoder's idle buffers are all released at each chunk's end
    /// until none is in use (then no such rest can be left).
    pinned: usize,
}

/// Turns borrowed events into [`BytesEvent`]s: fields inside the chunk are
/// shared with it (within [`Config::max_pin`]), others are copied into
/// shared blocks. A short event type or last event id is held inline; a
/// long id is shared or copied once and kept while it stays the same.
#[derive(Debug)]
pub(crate) struct Sharer {
    /// The last long id handed out, to clone while it repeats.
    last_id: Option<Bytes>,
    /// The block copies are carved from.
    copies: BytesMut,
    /// The block before it, taken up again once every copy carved from it
    /// has been dropped: events queued across a block switch then never
    /// cost an allocation.
    spare: BytesMut,
    /// Either block may be (the rest of) an allocation larger than
    /// [`COPY_BLOCK`], made or taken up again for a large copy. Its
    /// capacity does not show that once the copy is split off, so this is
    /// what tells [`Sharer::idle`] to give it back.
    large: bool,
    /// A block was made (or taken up again) for one large copy since
    /// [`Sharer::took_large`] last looked: a bounded batch ends there, so
    /// that the event holding it can be dropped before the next large
    /// copy needs a block, which can then be the same one.
    fresh_large: bool,
    /// See [`Config::max_pin`].
    max_pin: usize,
}

impl Sharer {
    pub(crate) fn new(config: &Config) -> Self {
        Sharer {
            last_id: None,
            copies: BytesMut::new(),
            spare: BytesMut::new(),
            large: false,
            fresh_large: false,
            max_pin: config.max_pin,
        }
    }

    /// `ev`, from a decoder fed `chunk`, as a `'static` event.
    ///
    /// Room for every copy the event needs is made before the first is
    /// taken, so that a copy block whose earlier events were all dropped
    /// is reused rather than kept alive by a half-built event.
    #[inline(always)]
    pub(crate) fn event(
        &mut self,
        chunk: Chunk<'_>,
        ev: crate::Event<'_>,
        raw: Option<Bytes>,
    ) -> BytesEvent {
        self.event_with(chunk, ev, raw, |e| e)
    }

    /// [`Sharer::event`], handed to `f`.
    #[inline(always)]
    pub(crate) fn event_with<R>(
        &mut self,
        chunk: Chunk<'_>,
        ev: crate::Event<'_>,
        raw: Option<Bytes>,
        f: impl FnOnce(BytesEvent) -> R,
    ) -> R {
        let (ty, data, id) = (ev.raw_event_type(), ev.data(), ev.last_event_id());
        let [ty_at, data_at, id_at] = self.places(chunk, [ty, data, id]);
        let event_type = match (ty, ty_at) {
            (b"", _) => Small::inline(b"message"),
            (t, Place::Own) => Small::inline(t),
            (t, at) => Small::Shared(self.take(chunk, t, at)),
        };
        let last_event_id = self.id(chunk, id, id_at);
        // Copied data builds the event and calls `f` on its own, so that
        // its fields go from registers into the event: merged with the
        // shared case, it went through a stack slot whose reading back
        // waited for the stores. (Splitting off the shared and empty
        // cases too measured 3-4% slower at 4 KiB chunks.)
        let build = |data| BytesEvent {
            event_type,
            data,
            last_event_id,
            raw,
        };
        match data_at {
            Place::Own => f(build(Small::inline(data))),
            Place::Copy => f(build(Small::Shared(self.copy(data)))),
            Place::Share(r) => f(build(Small::Shared(shared(chunk, r)))),
        }
    }

    /// Where the event's type, data and id come from, with room made for
    /// every copy.
    #[inline(always)]
    fn places(&mut self, chunk: Chunk<'_>, parts: [&[u8]; 3]) -> [Place; 3] {
        let [ty, data, id] = parts;
        // A short type, data or id goes inline, a kept id is cloned: none
        // of them is shared or copied.
        let ty_at = if ty.len() <= INLINE {
            Place::Own
        } else {
            self.place(chunk, ty)
        };
        let data_at = if data.len() <= INLINE {
            Place::Own
        } else {
            self.place(chunk, data)
        };
        let id_at = if id.len() <= INLINE || self.last_id.as_deref() == Some(id) {
            Place::Own
        } else {
            self.place(chunk, id)
        };
        let mut copied = 0;
        for (part, at) in [(ty, &ty_at), (data, &data_at), (id, &id_at)] {
            if matches!(at, Place::Copy) {
                copied += part.len();
            }
        }
        self.make_room(copied);
        [ty_at, data_at, id_at]
    }

    /// The event's last event id: inline when short, else the kept one
    /// when [`Sharer::places`] found it repeats, else shared at `at` or
    /// copied (room already made) and kept.
    #[inline(always)]
    fn id(&mut self, chunk: Chunk<'_>, id: &[u8], at: Place) -> Small {
        if id.len() <= INLINE {
            return Small::inline(id);
        }
        // `places` compared the id with the kept one: `Own` means equal.
        if let (Place::Own, Some(kept)) = (&at, &self.last_id) {
            debug_assert_eq!(kept[..], *id);
            return Small::Shared(kept.clone());
        }
        let new = self.take(chunk, id, at);
        self.last_id = Some(new.clone());
        Small::Shared(new)
    }

    /// Where `part` may be shared from `chunk`: inside it, and the chunk
    /// not much larger than the part ([`Config::max_pin`]). Else it must be
    /// copied. An empty part needs neither.
    #[inline]
    fn place(&self, chunk: Chunk<'_>, part: &[u8]) -> Place {
        if part.is_empty() {
            return Place::Share(0..0);
        }
        let at = (part.as_ptr() as usize).wrapping_sub(chunk.bytes.as_ptr() as usize);
        let share = if chunk.owner.is_none() {
            false
        } else if self.max_pin == usize::MAX {
            true
        } else {
            part.len() >= SHARE_MIN && chunk.len() <= self.max_pin.max(part.len().saturating_mul(4))
        };
        if share && inside(chunk.bytes, part) {
            Place::Share(at..at + part.len())
        } else {
            Place::Copy
        }
    }

    /// `part` as `Bytes`, shared at `at` or else copied (room already
    /// made: `at` is where [`Sharer::place`] put it).
    #[inline(always)]
    fn take(&mut self, chunk: Chunk<'_>, part: &[u8], at: Place) -> Bytes {
        debug_assert!(!matches!(at, Place::Own));
        match at {
            Place::Share(r) => shared(chunk, r),
            Place::Own | Place::Copy => self.copy(part),
        }
    }

    /// `part` as `Bytes`: shared with `chunk` when [`Sharer::place`] allows,
    /// else copied once.
    #[inline]
    fn share(&mut self, chunk: Chunk<'_>, part: &[u8]) -> Bytes {
        let at = self.place(chunk, part);
        if matches!(at, Place::Copy) {
            self.make_room(part.len());
        }
        self.take(chunk, part, at)
    }

    /// Makes room for `n` bytes of copies: in the current block, or in
    /// either block again once nothing refers to it, or else in a new
    /// block (the current one becoming the spare).
    #[inline]
    fn make_room(&mut self, n: usize) {
        if self.copies.capacity() - self.copies.len() < n {
            self.switch_block(n.max(COPY_BLOCK));
        }
    }

    #[cold]
    fn switch_block(&mut self, want: usize) {
        self.large |= want > COPY_BLOCK;
        self.fresh_large |= want > COPY_BLOCK;
        if self.copies.try_reclaim(want) {
            return;
        }
        if self.spare.try_reclaim(want) {
            core::mem::swap(&mut self.copies, &mut self.spare);
            return;
        }
        self.spare = core::mem::replace(&mut self.copies, BytesMut::with_capacity(want));
    }

    /// Whether a batch of `batch` steps ends after the large copy just
    /// made: a bounded one does. Clears [`Sharer::fresh_large`] either way.
    /// (Out of line: the decoding loop only reads the flag.)
    #[cold]
    #[inline(never)]
    fn took_large(&mut self, batch: usize) -> bool {
        self.fresh_large = false;
        batch != usize::MAX
    }

    /// A copy of `part` from the current block (room already made).
    #[inline(always)]
    fn copy(&mut self, part: &[u8]) -> Bytes {
        debug_assert!(self.copies.capacity() - self.copies.len() >= part.len());
        self.copies.extend_from_slice(part);
        self.copies.split().freeze()
    }

    /// The chunk is used up: give back the blocks when one was made (or
    /// taken up again) larger than [`COPY_BLOCK`] for a large copy (what
    /// was copied into it stays with the events that hold it), and forget
    /// a kept id larger than `keep` (the decoder keeps the id too: an idle
    /// decoder holds it once).
    #[inline]
    pub(crate) fn idle(&mut self, keep: usize) {
        if self.large || self.last_id.as_ref().is_some_and(|id| id.len() > keep) {
            self.release(keep);
        }
    }

    #[cold]
    fn release(&mut self, keep: usize) {
        if core::mem::take(&mut self.large) {
            self.copies = BytesMut::new();
            self.spare = BytesMut::new();
        }
        if self.last_id.as_ref().is_some_and(|id| id.len() > keep) {
            self.last_id = None;
        }
    }
}

impl Convert {
    /// Decodes at most `batch` steps of `chunk[start..]` with `dec`,
    /// handing their items to `emit`; returns where it stopped. A bounded
    /// batch (not `usize::MAX`) also ends after an event whose data was
    /// taken from the decoder's buffer or copied into a block of its own,
    /// so that such memory is used again rather than allocated while the
    /// event waits in a queue. At the chunk's end, the raw frame in
    /// progress keeps its part of the chunk.
    #[inline]
    fn decode<E>(
        &mut self,
        dec: &mut BytesBufDecoder,
        chunk: Chunk<'_>,
        start: usize,
        batch: usize,
        emit: &mut E,
    ) -> usize
    where
        E: FnMut(Result<BytesItem, DecodeError>),
    {
        let mut left = batch;
        let mut at = start;
        let end = loop {
            let mut held = false;
            let end = dec.feed_from(chunk.bytes, at, |end, step| {
                held = self.step(chunk, end, step, emit);
                left = left.saturating_sub(1);
                // A bounded batch also ends after a large copy (see
                // `Sharer::fresh_large`).
                if left == 0 || held || (self.sharer.fresh_large && self.sharer.took_large(batch)) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            if !held {
                break end;
            }
            self.take_held(dec, emit);
            if end == chunk.len() {
                dec.chunk_done();
            }
            // A bounded batch ends with data taken from the decoder's
            // buffer: once the item is taken and dropped, the buffer takes
            // its memory up again, rather than allocating while it is
            // queued.
            if left == 0 || end == chunk.len() || batch != usize::MAX {
                break end;
            }
            at = end;
        };
        if end == chunk.len() {
            self.chunk_done(dec, chunk);
        }
        end
    }

    /// `chunk` is used up: the raw frame in progress keeps its part of
    /// it, and idle buffers follow the memory rule.
    #[inline]
    fn chunk_done(&mut self, dec: &mut BytesBufDecoder, chunk: Chunk<'_>) {
        if let Some(raw) = &mut self.raw {
            raw.keep_rest(chunk.bytes);
        }
        self.sharer.idle(self.max_idle);
        if self.pinned > 0 && dec.release_all_idle() {
            self.pinned = 0;
        }
    }

    /// Hands the items of one decoder step to `emit`, in order; `true` when
    /// it held an event back instead, whose data is to be taken from the
    /// decoder (`Convert::held`).
    #[inline(always)]
    fn step<E>(
        &mut self,
        chunk: Chunk<'_>,
        end: usize,
        step: Result<Item<'_>, DecodeError>,
        emit: &mut E,
    ) -> bool
    where
        E: FnMut(Result<BytesItem, DecodeError>),
    {
        let item = match step {
            Ok(Item::Event(ev)) => {
                let (raw, late) = self.frame(chunk, end);
                if ev.data().len() >= TAKE_MIN && !inside(chunk.bytes, ev.data()) {
                    self.hold(chunk, ev, raw, late);
                    return true;
                }
                self.sharer
                    .event_with(chunk, ev, raw, |e| emit(Ok(BytesItem::Event(e))));
                late
            }
            Ok(Item::Blank) => {
                let (raw, late) = self.frame(chunk, end);
                if self.raw.is_some() || self.report_blanks {
                    emit(Ok(BytesItem::Blank { raw }));
                }
                late
            }
            Ok(Item::Retry(ms)) => Some(Ok(BytesItem::Retry(ms))),
            Ok(Item::Comment(c)) => Some(Ok(BytesItem::Comment(self.sharer.share(chunk, c)))),
            Err(e) => {
                if let Some(raw) = &mut self.raw {
                    raw.frame.drop_block();
                }
                Some(Err(e))
            }
        };
        if let Some(item) = item {
            emit(item);
        }
        false
    }

    /// Completes the event held back by [`Convert::hold`] with its data,
    /// split off the decoder's buffer (or copied when that buffer is too
    /// large to pin), and hands it out.
    #[cold]
    #[inline(never)]
    fn take_held<E>(&mut self, dec: &mut BytesBufDecoder, emit: &mut E)
    where
        E: FnMut(Result<BytesItem, DecodeError>),
    {
        let Some(Held {
            event: mut ev,
            at: (addr, len),
            late,
        }) = self.held.take()
        else {
            return;
        };
        let max_pin = self.sharer.max_pin.max(len.saturating_mul(4));
        ev.data = match take_data(dec, (addr, len), max_pin, self.max_idle, &mut self.pinned) {
            Some(Ok(held)) => Small::Shared(held.freeze()),
            Some(Err(lent)) => {
                self.sharer.make_room(lent.len());
                Small::Shared(self.sharer.copy(lent))
            }
            None => {
                debug_assert!(false, "data outside the chunk is in a buffer");
                Small::Shared(Bytes::new())
            }
        };
        emit(Ok(BytesItem::Event(ev)));
        if let Some(late) = late {
            emit(late);
        }
    }

    /// Holds back an event whose data, at least [`TAKE_MIN`] bytes, is in
    /// the decoder's buffers: the data is taken from there once the decoder
    /// has stopped.
    #[cold]
    #[inline(never)]
    fn hold(
        &mut self,
        chunk: Chunk<'_>,
        ev: crate::Event<'_>,
        raw: Option<Bytes>,
        late: Option<Result<BytesItem, DecodeError>>,
    ) {
        let data = ev.data();
        let at = (data.as_ptr() as usize, data.len());
        let rest = crate::Event::new(ev.raw_event_type(), &[], ev.last_event_id());
        self.held = Some(Held {
            event: self.sharer.event(chunk, rest, raw),
            at,
            late,
        });
    }

    /// The raw frame of a block that ends at `chunk[..end]`, and an error
    /// to queue after its item when the frame went over its limit.
    #[inline]
    fn frame(
        &mut self,
        chunk: Chunk<'_>,
        end: usize,
    ) -> (Option<Bytes>, Option<Result<BytesItem, DecodeError>>) {
        let (Some(raw), Some(owner)) = (self.raw.as_mut(), chunk.owner) else {
            // Raw frames need the chunk's `Bytes`: a lent chunk is never
            // decoded with them on (see `BytesDecoder::push_slice`).
            debug_assert!(self.raw.is_none(), "a lent chunk with raw frames on");
            return (None, None);
        };
        match raw.take_frame(owner, end) {
            Ok(raw) => (raw, None),
            Err(e) => (None, Some(Err(e))),
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
/// // A 2 KiB data line: shared with the chunk (short fields are copied).
/// let chunk = Bytes::from(format!("data: {}\n\n", "x".repeat(2048)));
/// let mut dec = BytesDecoder::new();
/// dec.push(chunk.clone());
/// let Some(Ok(BytesItem::Event(ev))) = dec.next() else { panic!() };
/// assert_eq!(ev.data().len(), 2048);
/// // The data points into the chunk's memory: no copy.
/// assert_eq!(ev.data().as_ptr(), chunk[6..].as_ptr());
/// assert!(dec.next().is_none());
/// ```
#[derive(Debug)]
pub struct BytesDecoder {
    dec: BytesBufDecoder,
    /// Chunks pushed and not yet decoded to the end; the front one is
    /// decoded from `offset`.
    chunks: VecDeque<Bytes>,
    offset: usize,
    /// Items decoded and not yet taken by the iterator.
    queue: VecDeque<Result<BytesItem, DecodeError>>,
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
        let mut decoding = config.clone();
        if config.raw_frames.is_some() {
            // Every block's end is needed to cut its frame.
            decoding.blank_lines(true);
        }
        let dec = Decoder::with_buffers(crate::decoder::Buffers::default(), &decoding);
        let raw = config.raw_frames.map(|max| Raw {
            start: 0,
            frame: Frame::new(max),
        });
        BytesDecoder {
            dec,
            chunks: VecDeque::new(),
            offset: 0,
            queue: VecDeque::new(),
            out: Convert {
                raw,
                report_blanks: config.blank_lines,
                sharer: Sharer::new(config),
                held: None,
                max_idle: config.max_idle_buffer,
                pinned: 0,
            },
        }
    }

    /// Queues a chunk; its items come from [`BytesDecoder::next`], in
    /// order, after those of earlier chunks.
    ///
    /// When nothing is queued, the chunk's first items are decoded at once
    /// (at most a small batch), and the chunk is kept only when it has more.
    pub fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        if self.chunks.is_empty() && self.queue.is_empty() {
            let end = self.decode_batch_of(&chunk, 0, BATCH);
            if end < chunk.len() {
                self.offset = end;
                self.chunks.push_back(chunk);
            }
        } else {
            self.chunks.push_back(chunk);
        }
    }

    /// Queues the items of a borrowed chunk, such as a read into a reused
    /// buffer: it is decoded at once and in full, and every field an
    /// event keeps is copied (into shared blocks, as for short fields of
    /// [`BytesDecoder::push`]), so that nothing refers to `chunk`
    /// afterwards. Its items come from [`BytesDecoder::next`], in order,
    /// after those of earlier chunks.
    ///
    /// For a short chunk (below about 1 KiB, where `push` would copy every
    /// field anyway) this costs less than `push`ing it as `Bytes`: no
    /// reference count is taken on it. Prefer `push` for longer chunks: it
    /// shares large fields instead of copying them, and decodes a small
    /// batch of items at a time, where a lent chunk's items are all queued
    /// at once, with copies of all their fields. When earlier chunks are
    /// still waiting to be decoded, or raw frames are on, the chunk is
    /// copied into `Bytes` and pushed.
    ///
    /// # Example
    /// ```
    /// use ssewire::bytes::{BytesDecoder, BytesItem};
    ///
    /// let mut dec = BytesDecoder::new();
    /// let mut read_buf = [0u8; 64];
    /// let mut data = Vec::new();
    /// for piece in ["data: a\n\nda", "ta: b\n\n"] {
    ///     read_buf[..piece.len()].copy_from_slice(piece.as_bytes());
    ///     dec.push_slice(&read_buf[..piece.len()]);
    ///     for item in dec.by_ref() {
    ///         if let Ok(BytesItem::Event(ev)) = item {
    ///             data.push(ev.data_bytes());
    ///         }
    ///     }
    /// }
    /// assert_eq!(data, ["a", "b"]);
    /// ```
    pub fn push_slice(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        if !self.chunks.is_empty() || self.out.raw.is_some() {
            self.push(Bytes::copy_from_slice(chunk));
            return;
        }
        let queue = &mut self.queue;
        let end = self.out.decode(
            &mut self.dec,
            Chunk::lent(chunk),
            0,
            usize::MAX,
            &mut |item| queue.push_back(item),
        );
        debug_assert_eq!(end, chunk.len());
    }

    /// Decodes a batch of items from the pushed chunks; `false` when they
    /// are used up.
    fn decode_batch(&mut self, batch: usize) -> bool {
        let Some(chunk) = self.chunks.pop_front() else {
            return false;
        };
        let end = self.decode_batch_of(&chunk, self.offset, batch);
        if end < chunk.len() {
            self.offset = end;
            self.chunks.push_front(chunk);
        } else {
            self.offset = 0;
        }
        true
    }

    /// Queues the items of at most `batch` decoder steps from
    /// `chunk[start..]`; returns where it stopped. At the chunk's end, the
    /// raw frame in progress keeps its part of the chunk.
    fn decode_batch_of(&mut self, chunk: &Bytes, start: usize, batch: usize) -> usize {
        let queue = &mut self.queue;
        self.out.decode(
            &mut self.dec,
            Chunk::shared(chunk),
            start,
            batch,
            &mut |item| {
                queue.push_back(item);
            },
        )
    }

    /// Decodes `chunk` at once and hands each of its items to `f`, in
    /// order: the batch path, with no queue and no reference taken on the
    /// chunk beyond the fields that share it. Items of chunks pushed
    /// earlier and not yet taken from the iterator go to `f` first.
    ///
    /// This is the fastest way to decode `Bytes`; use [`BytesDecoder::push`]
    /// and the iterator when you want to stop after an item.
    ///
    /// # Example
    /// ```
    /// use bytes::Bytes;
    /// use ssewire::bytes::{BytesDecoder, BytesItem};
    ///
    /// let mut dec = BytesDecoder::new();
    /// let mut data = Vec::new();
    /// for chunk in ["data: a\n\nda", "ta: b\n\n"] {
    ///     dec.feed_all(&Bytes::from(chunk), |item| {
    ///         if let Ok(BytesItem::Event(ev)) = item {
    ///             data.push(ev.data_bytes());
    ///         }
    ///     });
    /// }
    /// assert_eq!(data, ["a", "b"]);
    /// ```
    pub fn feed_all<F>(&mut self, chunk: &Bytes, mut f: F)
    where
        F: FnMut(Result<BytesItem, DecodeError>),
    {
        if !self.chunks.is_empty() || !self.queue.is_empty() {
            self.by_ref().for_each(&mut f);
        }
        if chunk.is_empty() {
            return;
        }
        let end = self
            .out
            .decode(&mut self.dec, Chunk::shared(chunk), 0, usize::MAX, &mut f);
        debug_assert_eq!(end, chunk.len());
    }

    /// The decoder, for the last event id and reconnection time. (Its
    /// buffers are `BytesMut`, so that large data can be handed out of them
    /// without a copy.)
    #[must_use]
    pub fn decoder(&self) -> &Decoder<BytesMut> {
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
            self.queue.push_back(Ok(BytesItem::Trailing(t)));
        }
        discarded
    }
}

impl Iterator for BytesDecoder {
    type Item = Result<BytesItem, DecodeError>;

    /// The next item, or `None` when every pushed chunk is used up (push
    /// more and go on).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
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
    fn inline_values_keep_every_byte_of_every_length() {
        let src: alloc::vec::Vec<u8> = (1..=INLINE as u8).collect();
        for n in 0..=INLINE {
            let small = Small::inline(&src[..n]);
            assert_eq!(small.as_bytes(), &src[..n], "length {n}");
            let Small::Inline(buf) = small else {
                panic!("length {n} not inline");
            };
            assert_eq!(usize::from(buf[INLINE]), n);
            assert!(
                buf[n..INLINE].iter().all(|&b| b == 0),
                "length {n}: {buf:?}"
            );
        }
    }

    #[test]
    fn share_copies_short_parts_and_parts_outside_the_chunk() {
        let mut conv = Sharer::new(&Config::default());
        let chunk = Bytes::from([b'h'; 6 + SHARE_MIN].to_vec());
        let inside = conv.share(Chunk::shared(&chunk), &chunk[6..]);
        assert_eq!(inside.as_ptr(), chunk[6..].as_ptr());
        // Shorter than SHARE_MIN: copied, though inside the chunk.
        let short = conv.share(Chunk::shared(&chunk), &chunk[6..6 + SHARE_MIN - 1]);
        assert_eq!(short, chunk[6..6 + SHARE_MIN - 1]);
        assert_ne!(short.as_ptr(), chunk[6..].as_ptr());
        let outside = conv.share(Chunk::shared(&chunk), &[b'h'; SHARE_MIN]);
        assert_eq!(outside, chunk[6..]);
        assert_ne!(outside.as_ptr(), chunk[6..].as_ptr());
        // `max_pin` at `usize::MAX` shares whatever lies inside.
        let mut config = Config::default();
        config.max_pin(usize::MAX);
        let mut all = Sharer::new(&config);
        assert_eq!(
            all.share(Chunk::shared(&chunk), &chunk[6..7]).as_ptr(),
            chunk[6..].as_ptr()
        );
        // A lent chunk shares nothing, whatever the length or `max_pin`.
        for sharer in [&mut conv, &mut all] {
            let lent = sharer.share(Chunk::lent(&chunk), &chunk[6..]);
            assert_eq!(lent, chunk[6..]);
            assert_ne!(lent.as_ptr(), chunk[6..].as_ptr());
        }
    }

    #[test]
    fn event_type_is_right_whether_unset_short_or_long() {
        let at_limit = "T".repeat(INLINE);
        let long = "T".repeat(INLINE + 1);
        let input = alloc::format!(
            "data: 1\n\nevent: a\ndata: 2\n\ndata: 3\n\nevent: {at_limit}\ndata: 4\n\n\
             event: {long}\ndata: 5\n\nevent:\ndata: 6\n\nevent: message\ndata: 7\n\n"
        );
        let want = [
            "message", "a", "message", &at_limit, &long, "message", "message",
        ];
        // Whole (shared) and with max_pin at 0 (everything copied).
        for max_pin in [usize::MAX, 0] {
            let types: alloc::vec::Vec<Bytes> = events(&input, max_pin)
                .into_iter()
                .map(|ev| {
                    assert_eq!(ev.as_event().event_type(), ev.event_type());
                    let (ty, ..) = ev.clone().into_parts();
                    assert_eq!(ty, ev.event_type());
                    Bytes::copy_from_slice(ev.event_type())
                })
                .collect();
            assert_eq!(types, want, "max_pin {max_pin}");
        }
    }

    #[test]
    fn last_event_id_is_right_whether_new_repeated_long_or_cleared() {
        let long = alloc::string::String::from("L").repeat(INLINE + 1);
        let input = alloc::format!(
            "id: {long}\ndata: 1\n\ndata: 2\n\nid: s\ndata: 3\n\ndata: 4\n\n\
             data: 5\n\nid\ndata: 6\n\ndata: 7\n\nid: {long}\ndata: 8\n\nid: s\ndata: 9\n\n"
        );
        let want = [&long[..], &long, "s", "s", "s", "", "", &long, "s"];
        // Whole (shared) and with max_pin at 0 (everything copied).
        for max_pin in [usize::MAX, 0] {
            let ids: alloc::vec::Vec<Bytes> = events(&input, max_pin)
                .iter()
                .map(|ev| Bytes::copy_from_slice(ev.last_event_id()))
                .collect();
            assert_eq!(ids, want, "max_pin {max_pin}");
        }
    }

    /// The events of `input`, decoded as one chunk with `max_pin`.
    fn events(input: &str, max_pin: usize) -> alloc::vec::Vec<BytesEvent> {
        let mut config = Config::default();
        config.max_pin(max_pin);
        let mut dec = BytesDecoder::with_config(&config);
        let mut events = alloc::vec::Vec::new();
        dec.feed_all(&Bytes::copy_from_slice(input.as_bytes()), |item| {
            if let Ok(BytesItem::Event(ev)) = item {
                events.push(ev);
            }
        });
        events
    }
}
