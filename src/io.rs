//! `std::io` adapters (feature `std`): read events from any
//! [`std::io::Read`].
//!
//! These only drive the [`Decoder`]; all rules live there.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::vec::Vec;

use crate::decoder::{Config, Decoder, Item};
use crate::error::{DecodeError, ReadError};
use crate::event::OwnedEvent;

/// The read buffer's size: what an idle reader holds besides its decoder.
const READ_SIZE: usize = 8 * 1024;

/// Events decoded from one read and not yet taken: a queue grown larger by a
/// read full of small events gives the memory back once it is empty.
const READY_KEEP: usize = 32;

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
/// # Ok::<(), ssewire::ReadError<std::io::Error>>(())
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
    /// Reads from `reader` with the default [`Config`], 8 KiB at a time
    /// (as `std::io::BufReader`).
    pub fn new(reader: R) -> Self {
        Self::with_config(reader, &Config::default())
    }

    /// Reads from `reader` with `config`.
    pub fn with_config(reader: R, config: &Config) -> Self {
        EventReader {
            reader,
            decoder: Decoder::with_config(config),
            buf: std::vec![0; READ_SIZE],
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// The decoder, for the last event id and reconnection time.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Sets the last event id (see [`Decoder::set_last_event_id`]), for
    /// example to resume with the id a previous connection ended on.
    ///
    /// # Errors
    /// When `id` contains CR, LF or NUL.
    pub fn set_last_event_id(&mut self, id: &[u8]) -> Result<(), crate::InvalidValue> {
        self.decoder.set_last_event_id(id)
    }

    /// Reads until an event (or error) is ready; `None` at end of input.
    fn read_next(&mut self) -> Option<Result<OwnedEvent, ReadError<io::Error>>> {
        loop {
            if let Some(next) = self.ready.pop_front() {
                return Some(next.map_err(ReadError::Decode));
            }
            if self.done {
                return None;
            }
            if self.ready.capacity() > READY_KEEP {
                self.ready.shrink_to(READY_KEEP);
            }
            let n = loop {
                match self.reader.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(Err(ReadError::Transport(e))),
                }
            };
            if n == 0 {
                self.done = true;
                let _ = self.decoder.finish();
                return None;
            }
            let ready = &mut self.ready;
            self.decoder.feed_all(&self.buf[..n], |item| match item {
                Ok(Item::Event(ev)) => ready.push_back(Ok(ev.to_owned_event())),
                Ok(_) => {}
                Err(e) => ready.push_back(Err(e)),
            });
        }
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Result<OwnedEvent, ReadError<io::Error>>;

    /// The next event; `None` at end of input (an unterminated last event
    /// is dropped, as the spec says). After an error, call again to go on.
    fn next(&mut self) -> Option<Self::Item> {
        self.read_next()
    }
}
