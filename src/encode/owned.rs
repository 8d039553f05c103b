//! Feature `alloc`: [`OwnedMessage`], an event to write that owns its
//! values, for streams of events that outlive their sources (a server's
//! `Stream` of events, a channel).

use alloc::vec::Vec;
use core::time::Duration;

use super::{EventId, EventType, Message, Sealed, Sink};
use crate::error::InvalidValue;
use crate::field::{check_id, check_line};

/// An event to write, owning its data, type and id: the owned twin of
/// [`Message`], with the same builder methods taking the same kinds of
/// argument. [`event_type`](Self::event_type) and [`id`](Self::id) take
/// values already checked ([`EventType`], [`EventId`]) and cannot fail;
/// [`try_event_type`](Self::try_event_type) and [`try_id`](Self::try_id)
/// check raw values and fail exactly where [`Message`]'s do. So it always
/// encodes.
///
/// # Example
/// ```
/// use ssewire::encode::{Encode, EventType, OwnedMessage};
/// let tick = EventType::new("tick")?;
/// let ev = OwnedMessage::new(format!("tick {}", 7)).event_type(tick).try_id("7")?;
/// let mut out = Vec::new();
/// ev.encode_vec(&mut out);
/// assert_eq!(out, b"event: tick\nid: 7\ndata: tick 7\n\n");
/// assert!(OwnedMessage::new("x").try_id("1\n2").is_err());
/// # Ok::<(), ssewire::InvalidValue>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OwnedMessage {
    data: Vec<u8>,
    event_type: Vec<u8>,
    id: Option<Vec<u8>>,
    /// Whole milliseconds, as [`Message`] keeps them.
    retry: Option<u64>,
}

impl OwnedMessage {
    /// An event of type `message` with this data (a `String`, `Vec<u8>`,
    /// `&str`, ...). Any data is valid; line breaks become LF when decoded.
    #[must_use]
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        OwnedMessage {
            data: data.into(),
            ..OwnedMessage::default()
        }
    }

    /// Replaces the data, keeping everything else (for rewriting an event).
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets the event type (copied).
    #[must_use]
    pub fn event_type(mut self, event_type: EventType<'_>) -> Self {
        self.event_type = event_type.as_bytes().to_vec();
        self
    }

    /// Validates and sets the event type.
    ///
    /// # Errors
    /// As [`EventType::new`]: when it contains CR or LF.
    pub fn try_event_type(mut self, value: impl Into<Vec<u8>>) -> Result<Self, InvalidValue> {
        let v = value.into();
        check_line(&v)?;
        self.event_type = v;
        Ok(self)
    }

    /// Sets the id (copied): the client's last event id from this event on.
    #[must_use]
    pub fn id(mut self, id: EventId<'_>) -> Self {
        self.id = Some(id.as_bytes().to_vec());
        self
    }

    /// Validates and sets the id.
    ///
    /// # Errors
    /// As [`EventId::new`]: when it contains CR, LF or NUL.
    pub fn try_id(mut self, value: impl Into<Vec<u8>>) -> Result<Self, InvalidValue> {
        let v = value.into();
        check_id(&v)?;
        self.id = Some(v);
        Ok(self)
    }

    /// Sets the client's reconnection time, as [`Message::retry`] does.
    #[must_use]
    pub fn retry(mut self, reconnection_time: Duration) -> Self {
        self.retry = Some(super::millis(reconnection_time));
        self
    }

    /// The data.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The borrowed view the encoder writes.
    #[must_use]
    pub fn as_message(&self) -> Message<'_> {
        // Both values were checked when set.
        Message {
            data: &self.data,
            event_type: &self.event_type,
            id: self.id.as_deref(),
            retry: self.retry,
        }
    }
}

impl From<Message<'_>> for OwnedMessage {
    fn from(m: Message<'_>) -> Self {
        OwnedMessage {
            data: m.data.to_vec(),
            event_type: m.event_type.to_vec(),
            id: m.id.map(<[u8]>::to_vec),
            retry: m.retry,
        }
    }
}

impl Sealed for OwnedMessage {
    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error> {
        self.as_message().emit(sink)
    }
}

impl super::Encode for OwnedMessage {}
