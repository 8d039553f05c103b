//! `std::io` adapters (feature `std`): read events from any
//! [`std::io::Read`].
//!
//! These only drive the [`Decoder`]; all rules live there.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::vec::Vec;

use crate::decoder::{Config, Decoder, Step};
use crate::error::DecodeError;
use crate::event::OwnedEvent;

/// An error while reading events: the reader failed, or a decoder limit was
/// exceeded (after which reading can go on).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The underlying reader failed.
    Io(io::Error),
    /// A decoder limit was exceeded; the event was dropped and the next call
    /// continues with the rest of the stream.
    Decode(DecodeError),
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "read failed: {e}"),
            ReadError::Decode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Decode(e) => Some(e),
        }
    }
}

/// Reads owned events from a [`Read`], as an iterator.
///
/// Retry updates are not items; read them with
/// [`EventReader::decoder`]`().retry()`. The iterator ends at end of input
/// (an unterminated last event is dropped, as the spec says).
///
/// # Example
/// ```
/// use ssewire::io::EventReader;
/// let input: &[u8] = b"data: a\n\nid: 2\ndata: b\n\ndata: cut off";
/// let events: Vec<_> = EventReader::new(input).collect::<Result<_, _>>()?;
/// assert_eq!(events.len(), 2);
/// assert_eq!(events[1].data, "b");
/// assert_eq!(events[1].last_event_id, "2");
/// # Ok::<(), ssewire::io::ReadError>(())
/// ```
#[derive(Debug)]
pub struct EventReader<R> {
    reader: R,
    decoder: Decoder,
    buf: Vec<u8>,
    /// Events and errors decoded from the last read, not yet returned.
    ready: VecDeque<Result<OwnedEvent, DecodeError>>,
    done: bool,
}

impl<R: Read> EventReader<R> {
    /// Reads from `reader` with the default [`Config`] and a 64 KiB buffer.
    pub fn new(reader: R) -> Self {
        Self::with_config(reader, &Config::default())
    }

    /// Reads from `reader` with `config`.
    pub fn with_config(reader: R, config: &Config) -> Self {
        EventReader {
            reader,
            decoder: Decoder::with_config(config),
            buf: std::vec![0; 64 * 1024],
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// The decoder, for the last event id and reconnection time.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Reads the next event.
    ///
    /// # Errors
    /// [`ReadError::Io`] when the reader fails (`Interrupted` is retried),
    /// [`ReadError::Decode`] when a limit drops an event; call again to go
    /// on.
    pub fn next_event(&mut self) -> Result<Option<OwnedEvent>, ReadError> {
        loop {
            if let Some(next) = self.ready.pop_front() {
                return next.map(Some).map_err(ReadError::Decode);
            }
            if self.done {
                return Ok(None);
            }
            let n = loop {
                match self.reader.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(ReadError::Io(e)),
                }
            };
            if n == 0 {
                self.done = true;
                let _ = self.decoder.finish();
                return Ok(None);
            }
            let ready = &mut self.ready;
            self.decoder.feed_all(&self.buf[..n], |step| match step {
                Ok(Step::Event(ev)) => ready.push_back(Ok(ev.to_owned_event())),
                Ok(_) => {}
                Err(e) => ready.push_back(Err(e)),
            });
        }
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Result<OwnedEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}
