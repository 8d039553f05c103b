//! Feature `alloc`: [`OwnedMessage`], an event to write that owns its
//! values, for streams of events that outlive their sources (a server's
//! `Stream` of events, a channel).

use alloc::vec::Vec;

use super::{EventId, EventType, Message, Sealed, Sink};
use crate::error::InvalidValue;
use crate::field::{check_id, check_line};

/// An event to write, owning its data, type and id (the owned twin of
/// [`Message`]). Values are validated when set, as [`EventType::new`] and
/// [`EventId::new`] do, so it always encodes.
///
/// # Example
/// ```
/// use ssewire::encode::{Encode, OwnedMessage};
/// let ev = OwnedMessage::new(format!("tick {}", 7)).event_type("tick")?.id("7")?;
/// let mut out = Vec::new();
/// ev.encode_vec(&mut out);
/// assert_eq!(out, b"event: tick\nid: 7\ndata: tick 7\n\n");
/// assert!(OwnedMessage::new("x").id("1\n2").is_err());
/// # Ok::<(), ssewire::InvalidValue>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OwnedMessage {
    data: Vec<u8>,
    event_type: Vec<u8>,
    id: Option<Vec<u8>>,
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

    /// Sets the event type.
    ///
    /// # Errors
    /// When it contains CR or LF.
    pub fn event_type(mut self, event_type: impl Into<Vec<u8>>) -> Result<Self, InvalidValue> {
        let v = event_type.into();
        check_line(&v)?;
        self.event_type = v;
        Ok(self)
    }

    /// Sets the id.
    ///
    /// # Errors
    /// When it contains CR, LF or NUL.
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Result<Self, InvalidValue> {
        let v = id.into();
        check_id(&v)?;
        self.id = Some(v);
        Ok(self)
    }

    /// Sets the reconnection time to send with the event.
    #[must_use]
    pub fn retry(mut self, milliseconds: u64) -> Self {
        self.retry = Some(milliseconds);
        self
    }

    /// The borrowed view the encoder writes.
    #[must_use]
    pub fn as_message(&self) -> Message<'_> {
        // Both values were checked when set.
        let mut m = Message::new(&self.data);
        if let Ok(t) = EventType::new(&self.event_type) {
            m = m.event_type(t);
        }
        if let Some(Ok(id)) = self.id.as_deref().map(EventId::new) {
            m = m.id(id);
        }
        if let Some(ms) = self.retry {
            m = m.retry(ms);
        }
        m
    }
}

impl From<Message<'_>> for OwnedMessage {
    fn from(m: Message<'_>) -> Self {
        let (event_type, data, id, retry) = m.into_parts();
        OwnedMessage {
            data: data.to_vec(),
            event_type: event_type.to_vec(),
            id: id.map(<[u8]>::to_vec),
            retry,
        }
    }
}

impl Sealed for OwnedMessage {
    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error> {
        self.as_message().emit(sink)
    }
}

impl super::Encode for OwnedMessage {}
