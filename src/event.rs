//! Decoded events: borrowed [`Event`], owned [`OwnedEvent`] (feature
//! `alloc`), and [`Lossy`], the spec's UTF-8 decode without allocation.

use core::fmt;

/// A dispatched event, borrowing the input chunk or the decoder's buffers.
///
/// Fields are bytes as they were on the wire; the `*_str` accessors check
/// UTF-8 and the `*_lossy` ones (and [`Lossy`]) apply the spec's UTF-8 decode
/// with U+FFFD replacement.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    event_type: &'a [u8],
    data: &'a [u8],
    last_event_id: &'a [u8],
    /// `data` is known to be ASCII (set by the decoder when the line it
    /// came from was searched with AVX2, which finds that out in the same
    /// pass): [`Event::data_str`] need not check it. Never true of data
    /// that is not ASCII; not part of the event's value.
    pub(crate) ascii: bool,
}

impl PartialEq for Event<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.event_type, self.data, self.last_event_id)
            == (other.event_type, other.data, other.last_event_id)
    }
}

impl Eq for Event<'_> {}

impl core::hash::Hash for Event<'_> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (self.event_type, self.data, self.last_event_id).hash(state);
    }
}

impl<'a> Event<'a> {
    /// Builds an event from its parts. An empty `event_type` means
    /// `message`, as in the spec.
    ///
    /// # Example
    /// ```
    /// let ev = ssewire::Event::new(b"", b"hi", b"7");
    /// assert_eq!(ev.event_type(), b"message");
    /// ```
    #[must_use]
    pub const fn new(event_type: &'a [u8], data: &'a [u8], last_event_id: &'a [u8]) -> Self {
        Event {
            event_type,
            data,
            last_event_id,
            ascii: false,
        }
    }

    /// The event type: the last `event` value of the block, or `message`
    /// when there was none (or it was empty).
    #[must_use]
    pub fn event_type(&self) -> &'a [u8] {
        if self.event_type.is_empty() {
            b"message"
        } else {
            self.event_type
        }
    }

    /// The raw event type buffer: empty when no `event` field was given.
    #[must_use]
    pub fn raw_event_type(&self) -> &'a [u8] {
        self.event_type
    }

    /// The data: each `data` value followed by LF, with the final LF removed.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The last event id at dispatch (empty if none was ever set). It is the
    /// decoder's state, not just this block's `id` field: it persists until
    /// an `id` field changes it.
    #[must_use]
    pub fn last_event_id(&self) -> &'a [u8] {
        self.last_event_id
    }

    /// The event type as `&str`.
    ///
    /// # Errors
    /// When it is not valid UTF-8.
    #[inline]
    pub fn event_type_str(&self) -> Result<&'a str, core::str::Utf8Error> {
        crate::utf8::str(self.event_type())
    }

    /// The data as `&str`.
    ///
    /// # Errors
    /// When it is not valid UTF-8.
    #[inline]
    #[allow(unsafe_code)]
    pub fn data_str(&self) -> Result<&'a str, core::str::Utf8Error> {
        if self.ascii {
            // SAFETY: `ascii` is set only by the decoder, and only when
            // every byte of `data` was seen to be ASCII (see the field).
            return Ok(unsafe { crate::utf8::ascii_unchecked(self.data) });
        }
        crate::utf8::str(self.data)
    }

    /// The last event id as `&str`.
    ///
    /// # Errors
    /// When it is not valid UTF-8.
    #[inline]
    pub fn last_event_id_str(&self) -> Result<&'a str, core::str::Utf8Error> {
        crate::utf8::str(self.last_event_id)
    }

    /// The event type decoded as the spec does (U+FFFD for invalid UTF-8);
    /// borrowed when already valid.
    #[cfg(feature = "alloc")]
    #[must_use]
    #[inline]
    pub fn event_type_lossy(&self) -> alloc::borrow::Cow<'a, str> {
        crate::utf8::lossy(self.event_type())
    }

    /// The data decoded as the spec does (U+FFFD for invalid UTF-8);
    /// borrowed when already valid.
    ///
    /// # Example
    /// ```
    /// let ev = ssewire::Event::new(b"", b"caf\xC3", b"");
    /// assert_eq!(ev.data_lossy(), "caf\u{FFFD}");
    /// ```
    #[cfg(feature = "alloc")]
    #[must_use]
    #[inline]
    pub fn data_lossy(&self) -> alloc::borrow::Cow<'a, str> {
        crate::utf8::lossy(self.data)
    }

    /// The last event id decoded as the spec does (U+FFFD for invalid
    /// UTF-8); borrowed when already valid.
    #[cfg(feature = "alloc")]
    #[must_use]
    #[inline]
    pub fn last_event_id_lossy(&self) -> alloc::borrow::Cow<'a, str> {
        crate::utf8::lossy(self.last_event_id)
    }

    /// Copies the event into an [`OwnedEvent`] of `String`s (lossy UTF-8).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_owned_event(&self) -> OwnedEvent {
        OwnedEvent {
            event_type: self.event_type_lossy().into_owned(),
            data: self.data_lossy().into_owned(),
            last_event_id: self.last_event_id_lossy().into_owned(),
        }
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &Lossy(self.event_type()))
            .field("data", &Lossy(self.data))
            .field("last_event_id", &Lossy(self.last_event_id))
            .finish()
    }
}

/// An owned event with `String` fields, for users who just want events.
///
/// Strings are what the spec's UTF-8 decode with U+FFFD replacement gives.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OwnedEvent {
    /// The event type (`"message"` when none was set).
    pub event_type: alloc::string::String,
    /// The data.
    pub data: alloc::string::String,
    /// The last event id at dispatch (`""` if none).
    pub last_event_id: alloc::string::String,
}

#[cfg(feature = "alloc")]
impl From<Event<'_>> for OwnedEvent {
    fn from(ev: Event<'_>) -> Self {
        ev.to_owned_event()
    }
}

/// Displays bytes as the spec's UTF-8 decode does: valid UTF-8 as is, each
/// maximal invalid subsequence as one U+FFFD. Needs no allocation.
///
/// With `{:?}` it prints a quoted, escaped string.
///
/// # Example
/// ```
/// use core::fmt::Write;
/// let mut s = String::new();
/// write!(s, "{}", ssewire::Lossy(b"a\xF0\x9F\x98b")).unwrap();
/// assert_eq!(s, "a\u{FFFD}b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{FFFD}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                fmt::Display::fmt(&c.escape_debug(), f)?;
            }
            if !chunk.invalid().is_empty() {
                f.write_str("\u{FFFD}")?;
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_event_type_means_message() {
        let ev = Event::new(b"", b"x", b"");
        assert_eq!(ev.event_type(), b"message");
        assert_eq!(ev.raw_event_type(), b"");
        let ev = Event::new(b"tick", b"x", b"");
        assert_eq!(ev.event_type(), b"tick");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn lossy_matches_from_utf8_lossy() {
        use alloc::string::{String, ToString};
        let samples: [&[u8]; 6] = [
            b"plain",
            b"\xff\xfe",
            b"\xF0\x9F\x98",
            b"a\xED\xA0\x80b",
            b"\xC3\x28",
            b"\xE2\x82\xACok",
        ];
        for s in samples {
            assert_eq!(Lossy(s).to_string(), String::from_utf8_lossy(s), "{s:?}");
        }
    }
}
