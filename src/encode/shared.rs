//! Feature `bytes`: [`Encoded`], items encoded once and shared by every
//! connection that sends them.

use bytes::{Bytes, BytesMut};

use super::{Encode, Sealed, Sink};

/// Items already encoded, in a `Bytes` that clones without copying: what a
/// server with many connections sends, so that each event is encoded once,
/// not once per connection.
///
/// It is made only by encoding (there is no constructor from raw bytes), so
/// it always holds whole encoded items and cannot change the meaning of
/// what is sent before or after it. [`EventBody`](crate::body::EventBody)
/// sends it as a frame of its own: every connection's frame is a clone of
/// the same `Bytes`.
///
/// # Example
/// ```
/// use ssewire::encode::{Encode, Encoded, EventId, Message};
/// let frame = Encoded::new(&Message::new("tick").id(EventId::new("7")?));
/// let (a, b) = (frame.clone(), frame.clone());
/// assert_eq!(&a.as_bytes()[..], b"id: 7\ndata: tick\n\n");
/// assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr()); // one allocation
/// assert_eq!(frame.encoded_len(), 18);
/// # Ok::<(), ssewire::InvalidValue>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Encoded(Bytes);

impl Encoded {
    /// Encodes `item` (one allocation of exactly its length).
    #[must_use]
    pub fn new<T: Encode + ?Sized>(item: &T) -> Self {
        let mut buf = BytesMut::with_capacity(item.encoded_len());
        super::encode_growable(item, &mut buf);
        Encoded(buf.freeze())
    }

    /// The encoded bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The encoded bytes, by value.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the encoding of nothing (an empty slice of items).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Sealed for Encoded {
    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error> {
        sink.put(&self.0)
    }

    fn shared(&self) -> Option<&Bytes> {
        Some(&self.0)
    }
}

impl Encode for Encoded {}

impl From<Encoded> for Bytes {
    fn from(e: Encoded) -> Bytes {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Comment, EventType, Message, Retry};

    #[test]
    fn encodes_once_and_writes_the_same_bytes_everywhere() {
        let items = [
            crate::encode::Output::Message(
                Message::new("a\nb").event_type(EventType::new("t").unwrap()),
            ),
            crate::encode::Output::Comment(Comment::new("hi")),
            crate::encode::Output::Retry(Retry::new(core::time::Duration::from_millis(250))),
        ];
        let e = Encoded::new(&items[..]);
        let mut direct = alloc::vec::Vec::new();
        items[..].encode_vec(&mut direct);
        assert_eq!(&e.as_bytes()[..], &direct[..]);
        let mut again = alloc::vec::Vec::new();
        e.encode_vec(&mut again);
        assert_eq!(again, direct);
        assert_eq!(e.len(), direct.len());
        assert!(Encoded::new(&items[..0]).is_empty());
    }
}
