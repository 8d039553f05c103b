//! Feature `arbitrary`: `Arbitrary` for [`OwnedEvent`] and the encoder's
//! inputs. Generated event types never hold CR or LF and ids never hold CR,
//! LF or NUL (each value is cut at the first such byte), so everything
//! generated encodes, and decodes back to itself; an [`OwnedEvent`] is one a
//! decoder could have produced.

use alloc::string::String;

use arbitrary::{Arbitrary, Error, Result, Unstructured};

use crate::encode::{Comment, EventId, EventType, Message, Output, Retry};
use crate::event::OwnedEvent;

/// The longest prefix of `v` without any of the `stop` bytes.
fn cut<'a>(v: &'a [u8], stop: &[u8]) -> &'a [u8] {
    let end = v.iter().position(|b| stop.contains(b)).unwrap_or(v.len());
    &v[..end]
}

impl<'a> Arbitrary<'a> for EventType<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let v = <&'a [u8]>::arbitrary(u)?;
        EventType::new(cut(v, b"\r\n")).map_err(|_| Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for EventId<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let v = <&'a [u8]>::arbitrary(u)?;
        EventId::new(cut(v, b"\r\n\0")).map_err(|_| Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for Message<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut m = Message::new(<&'a [u8]>::arbitrary(u)?);
        if u.arbitrary()? {
            m = m.event_type(EventType::arbitrary(u)?);
        }
        if u.arbitrary()? {
            m = m.id(EventId::arbitrary(u)?);
        }
        if u.arbitrary()? {
            m = m.retry(u.arbitrary()?);
        }
        Ok(m)
    }
}

impl<'a> Arbitrary<'a> for Comment<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Comment::new(<&'a [u8]>::arbitrary(u)?))
    }
}

impl<'a> Arbitrary<'a> for Retry {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Retry::new(u.arbitrary()?))
    }
}

impl<'a> Arbitrary<'a> for Output<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=5)? {
            0 => Output::Comment(Comment::arbitrary(u)?),
            1 => Output::Retry(Retry::arbitrary(u)?),
            _ => Output::Message(Message::arbitrary(u)?),
        })
    }
}

impl<'a> Arbitrary<'a> for OwnedEvent {
    /// An event a decoder could have produced: a non-empty type without CR
    /// or LF (`message` when none was drawn), data without CR (line breaks
    /// are LF), and a last event id without CR, LF or NUL.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let keep = |s: String, stop: &[char]| -> String {
            s.chars().filter(|c| !stop.contains(c)).collect()
        };
        let mut event_type = keep(String::arbitrary(u)?, &['\r', '\n']);
        if event_type.is_empty() {
            event_type = String::from("message");
        }
        Ok(OwnedEvent {
            event_type,
            data: String::arbitrary(u)?
                .replace("\r\n", "\n")
                .replace('\r', "\n"),
            last_event_id: keep(String::arbitrary(u)?, &['\r', '\n', '\0']),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_always_valid() {
        let raw: [u8; 64] = core::array::from_fn(|i| [b'\r', b'\n', 0, b'a', b' '][i % 5]);
        let mut u = Unstructured::new(&raw);
        for _ in 0..16 {
            let Ok(t) = EventType::arbitrary(&mut u) else {
                break;
            };
            assert!(EventType::new(t.as_bytes()).is_ok());
            let Ok(i) = EventId::arbitrary(&mut u) else {
                break;
            };
            assert!(EventId::new(i.as_bytes()).is_ok());
        }
    }
}
