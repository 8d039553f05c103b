//! Error types of the decoder and the encoder.
//!
//! All of them are small `Copy + Eq` values. They implement
//! [`core::error::Error`], so they work with `?` and error reporters with or
//! without `std`.

use core::fmt;

/// A limit was exceeded while decoding.
///
/// Every variant names the limit that was hit and the maximum in force. After
/// any of them the decoder has already dropped the event being read (its data
/// and event type), skips the remaining `data` and `event` lines up to the next
/// blank line, and then decodes normally again: nothing after that blank line
/// is lost. `id` and `retry` lines that fit keep taking effect while the rest
/// of the event is skipped, exactly as the spec applies them when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line (without its line ending) was longer than
    /// [`Config::max_line_len`](crate::Config::max_line_len), or than the
    /// line buffer the decoder was built with. The whole line is skipped.
    LineTooLong {
        /// The maximum line length in force, in bytes.
        max: usize,
    },
    /// The event's data (its `data` values joined by LF) grew longer than
    /// [`Config::max_data_len`](crate::Config::max_data_len), or than the data
    /// buffer the decoder was built with.
    DataTooLong {
        /// The maximum data length in force, in bytes.
        max: usize,
    },
    /// An `event` value did not fit the fixed event-type buffer.
    EventTypeTooLong {
        /// The capacity of the event-type buffer, in bytes.
        max: usize,
    },
    /// An `id` value did not fit the fixed last-event-id buffer; the last
    /// event id keeps its previous value.
    IdTooLong {
        /// The capacity of the last-event-id buffer, in bytes.
        max: usize,
    },
    /// A raw frame (feature `bytes`, with raw frames on) grew longer than its
    /// limit. Decoding goes on, but this block's raw bytes are not kept: its
    /// event still comes, with `raw` set to `None`.
    FrameTooLong {
        /// The maximum raw frame length in force, in bytes.
        max: usize,
    },
}

impl DecodeError {
    /// The maximum that was exceeded, in bytes.
    ///
    /// # Example
    /// ```
    /// let e = ssewire::DecodeError::LineTooLong { max: 16 };
    /// assert_eq!(e.max(), 16);
    /// ```
    #[must_use]
    pub fn max(&self) -> usize {
        match *self {
            DecodeError::LineTooLong { max }
            | DecodeError::DataTooLong { max }
            | DecodeError::EventTypeTooLong { max }
            | DecodeError::IdTooLong { max }
            | DecodeError::FrameTooLong { max } => max,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::LineTooLong { max } => {
                write!(f, "line longer than the limit of {max} bytes; line skipped")
            }
            DecodeError::DataTooLong { max } => {
                write!(
                    f,
                    "event data longer than the limit of {max} bytes; event dropped"
                )
            }
            DecodeError::EventTypeTooLong { max } => {
                write!(
                    f,
                    "event type longer than its buffer of {max} bytes; event dropped"
                )
            }
            DecodeError::IdTooLong { max } => {
                write!(
                    f,
                    "event id longer than its buffer of {max} bytes; event dropped"
                )
            }
            DecodeError::FrameTooLong { max } => {
                write!(f, "raw frame longer than {max} bytes; raw bytes not kept")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// The encoder's output buffer is too small. Nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferTooSmall {
    /// The number of bytes the complete output needs.
    pub needed: usize,
    /// The number of bytes that were available.
    pub available: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output buffer too small: {} bytes needed, {} available",
            self.needed, self.available
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// Why [`Encode::encode_fmt`](crate::encode::Encode::encode_fmt) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FmtError {
    /// A value is not valid UTF-8, which a `fmt::Write` cannot carry
    /// exactly. Nothing was written. (Use a byte sink, or decode the value
    /// lossily yourself first, which is what every decoder does.)
    NotUtf8,
    /// The writer failed; part of the output may have been written.
    Write,
}

impl fmt::Display for FmtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FmtError::NotUtf8 => f.write_str("value is not valid UTF-8; nothing written"),
            FmtError::Write => f.write_str("the writer failed"),
        }
    }
}

impl core::error::Error for FmtError {}

impl From<fmt::Error> for FmtError {
    fn from(_: fmt::Error) -> Self {
        FmtError::Write
    }
}

/// A value cannot be written as an `event` or `id` field, or as a
/// `Last-Event-ID` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidValue {
    /// The value contains a CR or LF, which would end the line early and let
    /// the rest of the value forge fields or events.
    LineBreak {
        /// Byte offset of the first CR or LF.
        at: usize,
    },
    /// The value contains U+0000 NULL, which makes decoders ignore an `id`
    /// field entirely.
    Null {
        /// Byte offset of the first NUL.
        at: usize,
    },
    /// The value does not fit a fixed buffer.
    TooLong {
        /// The buffer's capacity, in bytes.
        max: usize,
    },
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidValue::LineBreak { at } => write!(f, "value contains a line break at byte {at}"),
            InvalidValue::Null { at } => write!(f, "value contains a NUL at byte {at}"),
            InvalidValue::TooLong { max } => {
                write!(f, "value longer than its buffer of {max} bytes")
            }
        }
    }
}

impl core::error::Error for InvalidValue {}

/// The one error type of every adapter that reads events from a transport
/// (`io::EventReader`, `stream::EventStream`): the transport failed, or a
/// decoder limit dropped an event. After a `Decode` error reading goes on;
/// a transport that fails usually ends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError<E> {
    /// The underlying reader or stream failed.
    Transport(E),
    /// A decoder limit was exceeded; that event was dropped and the next
    /// read continues with the rest of the stream.
    Decode(DecodeError),
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Transport(e) => write!(f, "transport error: {e}"),
            ReadError::Decode(e) => e.fmt(f),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ReadError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ReadError::Transport(e) => Some(e),
            ReadError::Decode(e) => Some(e),
        }
    }
}

impl<E> From<DecodeError> for ReadError<E> {
    fn from(e: DecodeError) -> Self {
        ReadError::Decode(e)
    }
}
