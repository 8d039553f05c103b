//! Features `embedded-io` and `embedded-io-async`: read items from, and
//! write encoder output to, the I/O traits firmware HTTP stacks use
//! (reqwless, esp-idf-svc, picoserve, embassy-net sockets). No `std`, no
//! `alloc`: the decoder runs on the caller's buffers and hands out borrowed
//! items.
//!
//! This module only drives the [`Decoder`] and the encoder; all rules live
//! there.
//!
//! # Example
//! ```
//! use ssewire::embedded::ItemReader;
//! use ssewire::{ArrayBuffer, Buffers, Config, Decoder, Item};
//!
//! // Any `embedded_io::Read`: a socket, a UART, an HTTP response body.
//! struct Body<'a>(&'a [u8]);
//! impl embedded_io::ErrorType for Body<'_> {
//!     type Error = core::convert::Infallible;
//! }
//! impl embedded_io::Read for Body<'_> {
//!     fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
//!         let n = buf.len().min(self.0.len()).min(5); // short reads
//!         buf[..n].copy_from_slice(&self.0[..n]);
//!         self.0 = &self.0[n..];
//!         Ok(n)
//!     }
//! }
//!
//! let decoder: Decoder<ArrayBuffer<256>> = Decoder::with_buffers(Buffers::default(), &Config::default());
//! let mut read_buf = [0u8; 64];
//! let mut reader = ItemReader::new(Body(b"id: 1\ndata: {\"t\":21.5}\n\n"), decoder, &mut read_buf);
//! while let Some(item) = reader.next() {
//!     if let Ok(Item::Event(ev)) = item {
//!         assert_eq!(ev.data(), br#"{"t":21.5}"#);
//!     }
//! }
//! assert_eq!(reader.decoder().last_event_id(), b"1");
//! ```

use crate::buffer::Buffer;
use crate::decoder::{Decoder, Found, Item};
use crate::encode::Encode;
use crate::error::ReadError;

/// The decoder and the caller's read buffer, shared by [`ItemReader`] and
/// `AsyncItemReader`: they differ only in how they read.
#[derive(Debug)]
struct Core<'b, B: Buffer> {
    decoder: Decoder<B>,
    buf: &'b mut [u8],
    /// The unread part of the buffer is `buf[start..end]`.
    start: usize,
    end: usize,
    done: bool,
}

/// What [`Core::step`] needs next.
enum Next {
    /// Read into the buffer (it is used up).
    Read,
    /// The input ended.
    End,
    /// An item, found in `buf[from..end]`.
    Found(Found, usize),
}

impl<'b, B: Buffer> Core<'b, B> {
    fn new(decoder: Decoder<B>, buf: &'b mut [u8]) -> Self {
        Core {
            decoder,
            buf,
            start: 0,
            end: 0,
            done: false,
        }
    }

    /// Decodes what is buffered until an item is found or a read is due.
    fn step(&mut self) -> Next {
        loop {
            if self.start == self.end {
                if self.done || self.buf.is_empty() {
                    self.done = true;
                    return Next::End;
                }
                return Next::Read;
            }
            let from = self.start;
            let (consumed, found) = self.decoder.feed_raw(&self.buf[from..self.end]);
            self.start += consumed;
            if let Some(found) = found {
                return Next::Found(found, from);
            }
        }
    }

    /// A read returned `n` bytes (0: the end of the input).
    fn filled(&mut self, n: usize) {
        if n == 0 {
            self.done = true;
            let _ = self.decoder.finish();
        } else {
            self.start = 0;
            self.end = n.min(self.buf.len());
        }
    }

    fn resolve<E>(&self, found: Found, from: usize) -> Option<Result<Item<'_>, ReadError<E>>> {
        let chunk = &self.buf[from..self.end];
        self.decoder
            .resolve(found, chunk)
            .map(|item| item.map_err(ReadError::Decode))
    }
}

/// Reads [`Item`]s from an `embedded_io::Read` through a caller-supplied
/// read buffer; items borrow that buffer or the decoder's buffers, and are
/// valid until the next call.
///
/// This is a lending iterator: call [`ItemReader::next`] in a `while let`.
/// `None` means the reader reached its end (`read` returned 0); an
/// unterminated last event is then dropped, as the spec says.
#[derive(Debug)]
pub struct ItemReader<'b, R, B: Buffer> {
    reader: R,
    core: Core<'b, B>,
}

impl<'b, R: embedded_io::Read, B: Buffer> ItemReader<'b, R, B> {
    /// Reads from `reader` into `buf` (any size; each read fills at most
    /// all of it) and decodes with `decoder`.
    ///
    /// # Panics
    /// Never (an empty `buf` reads nothing and ends the stream at once).
    pub fn new(reader: R, decoder: Decoder<B>, buf: &'b mut [u8]) -> Self {
        ItemReader {
            reader,
            core: Core::new(decoder, buf),
        }
    }

    /// The decoder, for the last event id and the reconnection time.
    pub fn decoder(&self) -> &Decoder<B> {
        &self.core.decoder
    }

    /// Sets the last event id, to resume after a reconnection (see
    /// [`Decoder::set_last_event_id`]).
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL, or does not fit its buffer.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.core.decoder.set_last_event_id(id)
    }

    /// Takes the reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The next item, reading as needed; `None` at the end of the input.
    ///
    /// # Errors
    /// [`ReadError::Transport`] when the reader fails (call again to retry
    /// the read), [`ReadError::Decode`] for a limit (the stream goes on).
    #[allow(clippy::should_implement_trait)] // a lending iterator
    pub fn next(&mut self) -> Option<Result<Item<'_>, ReadError<R::Error>>> {
        loop {
            match self.core.step() {
                Next::End => return None,
                Next::Found(found, from) => return self.core.resolve(found, from),
                Next::Read => match self.reader.read(self.core.buf) {
                    Ok(n) => self.core.filled(n),
                    Err(e) => return Some(Err(ReadError::Transport(e))),
                },
            }
        }
    }
}

/// Reads [`Item`]s from an `embedded_io::BufRead` without a buffer of its
/// own: items borrow the reader's buffer (or the decoder's), valid until
/// the next call. A lending iterator, like [`ItemReader`].
#[derive(Debug)]
pub struct BufItemReader<R, B: Buffer> {
    reader: R,
    decoder: Decoder<B>,
    /// Bytes of the reader's buffer decoded but not yet consumed (they may
    /// be borrowed by the last item returned).
    pending: usize,
    done: bool,
}

impl<R: embedded_io::BufRead, B: Buffer> BufItemReader<R, B> {
    /// Decodes what `reader` buffers, with `decoder`.
    pub fn new(reader: R, decoder: Decoder<B>) -> Self {
        BufItemReader {
            reader,
            decoder,
            pending: 0,
            done: false,
        }
    }

    /// The decoder, for the last event id and the reconnection time.
    pub fn decoder(&self) -> &Decoder<B> {
        &self.decoder
    }

    /// Sets the last event id (see [`Decoder::set_last_event_id`]).
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL, or does not fit its buffer.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.decoder.set_last_event_id(id)
    }

    /// The next item, reading as needed; `None` at the end of the input.
    ///
    /// # Errors
    /// As [`ItemReader::next`].
    #[allow(clippy::should_implement_trait)] // a lending iterator
    pub fn next(&mut self) -> Option<Result<Item<'_>, ReadError<R::Error>>> {
        loop {
            if self.pending > 0 {
                self.reader.consume(core::mem::take(&mut self.pending));
            }
            if self.done {
                return None;
            }
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) => return Some(Err(ReadError::Transport(e))),
            };
            if buf.is_empty() {
                self.done = true;
                let _ = self.decoder.finish();
                return None;
            }
            let (consumed, found) = self.decoder.feed_raw(buf);
            self.pending = consumed;
            if let Some(found) = found {
                // The same bytes again (nothing was consumed yet, so the
                // reader returns its buffer as it was), borrowed for the
                // item's lifetime.
                let buf = match self.reader.fill_buf() {
                    Ok(buf) => buf,
                    Err(e) => return Some(Err(ReadError::Transport(e))),
                };
                return self
                    .decoder
                    .resolve(found, buf)
                    .map(|item| item.map_err(ReadError::Decode));
            }
        }
    }
}

/// Writes an encoder item (an event, comment, retry line, or a slice of
/// them) to an `embedded_io::Write`, without allocating. Returns the bytes
/// written: exactly [`Encode::encoded_len`].
///
/// # Errors
/// The writer's error; part of the item may have been written.
///
/// # Example
/// ```
/// use ssewire::encode::Message;
/// let mut out = [0u8; 32];
/// let mut w = &mut out[..]; // `&mut [u8]` is an `embedded_io::Write`
/// let n = ssewire::embedded::write(&Message::new("hi"), &mut w).unwrap();
/// assert_eq!(&out[..n], b"data: hi\n\n");
/// ```
pub fn write<T, W>(item: &T, w: &mut W) -> Result<usize, W::Error>
where
    T: Encode + ?Sized,
    W: embedded_io::Write + ?Sized,
{
    struct Sink<'w, W: ?Sized>(&'w mut W);
    impl<W: embedded_io::Write + ?Sized> crate::encode::Sink for Sink<'_, W> {
        type Error = W::Error;
        fn put(&mut self, bytes: &[u8]) -> Result<(), W::Error> {
            self.0.write_all(bytes)
        }
    }
    crate::encode::Sealed::emit(item, &mut Sink(w))?;
    Ok(item.encoded_len())
}

/// Feature `embedded-io-async`: the same over `embedded_io_async`.
#[cfg(feature = "embedded-io-async")]
mod nonblocking {
    use super::*;

    /// [`ItemReader`] over an `embedded_io_async::Read`.
    #[derive(Debug)]
    pub struct AsyncItemReader<'b, R, B: Buffer> {
        reader: R,
        core: Core<'b, B>,
    }

    impl<'b, R: embedded_io_async::Read, B: Buffer> AsyncItemReader<'b, R, B> {
        /// Reads from `reader` into `buf` and decodes with `decoder`.
        pub fn new(reader: R, decoder: Decoder<B>, buf: &'b mut [u8]) -> Self {
            AsyncItemReader {
                reader,
                core: Core::new(decoder, buf),
            }
        }

        /// The decoder, for the last event id and the reconnection time.
        pub fn decoder(&self) -> &Decoder<B> {
            &self.core.decoder
        }

        /// Sets the last event id (see [`Decoder::set_last_event_id`]).
        ///
        /// # Errors
        /// When `id` contains CR, LF or NUL, or does not fit its buffer.
        pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
            self.core.decoder.set_last_event_id(id)
        }

        /// Takes the reader back.
        pub fn into_inner(self) -> R {
            self.reader
        }

        /// The next item, reading as needed; `None` at the end of the
        /// input. Cancel-safe between reads: dropping the future loses no
        /// decoded bytes.
        ///
        /// # Errors
        /// As [`ItemReader::next`].
        pub async fn next(&mut self) -> Option<Result<Item<'_>, ReadError<R::Error>>> {
            loop {
                match self.core.step() {
                    Next::End => return None,
                    Next::Found(found, from) => return self.core.resolve(found, from),
                    Next::Read => match self.reader.read(self.core.buf).await {
                        Ok(n) => self.core.filled(n),
                        Err(e) => return Some(Err(ReadError::Transport(e))),
                    },
                }
            }
        }
    }

    /// [`write()`](fn@super::write) to an `embedded_io_async::Write`: the item is encoded into
    /// `scratch` (no allocation), then written with one `write_all`.
    /// Returns the bytes written, exactly [`Encode::encoded_len`].
    ///
    /// # Errors
    /// [`WriteError::TooLarge`] when the item does not fit `scratch`
    /// (nothing is written; size `scratch` for your largest item),
    /// [`WriteError::Transport`] when the writer fails.
    pub async fn write_async<T, W>(
        item: &T,
        w: &mut W,
        scratch: &mut [u8],
    ) -> Result<usize, WriteError<W::Error>>
    where
        T: Encode + ?Sized,
        W: embedded_io_async::Write + ?Sized,
    {
        let n = item.encode(scratch).map_err(WriteError::TooLarge)?;
        w.write_all(&scratch[..n])
            .await
            .map_err(WriteError::Transport)?;
        Ok(n)
    }
}

/// Why [`write_async`] wrote nothing or failed.
#[cfg(feature = "embedded-io-async")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError<E> {
    /// The writer failed; part of the item may have been written.
    Transport(E),
    /// The item does not fit the scratch buffer; nothing was written.
    TooLarge(crate::BufferTooSmall),
}

#[cfg(feature = "embedded-io-async")]
impl<E: core::fmt::Display> core::fmt::Display for WriteError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::Transport(e) => write!(f, "transport error: {e}"),
            WriteError::TooLarge(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "embedded-io-async")]
impl<E: core::error::Error + 'static> core::error::Error for WriteError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            WriteError::Transport(e) => Some(e),
            WriteError::TooLarge(e) => Some(e),
        }
    }
}

#[cfg(feature = "embedded-io-async")]
pub use nonblocking::{write_async, AsyncItemReader};
