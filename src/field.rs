//! Lines to fields (spec 9.2.6, "Interpreting an event stream").
//!
//! Pure functions: split a line into a field name and value, strip exactly
//! one leading space from the value, parse `retry`, and check `id` for NUL;
//! and the checks the encoder shares with them (no line break in a value,
//! no NUL in an id).

use core::time::Duration;

use crate::error::InvalidValue;

/// One line of an event stream, classified.
///
/// Produced by [`LineDecoder`](crate::LineDecoder) for tools that want every
/// line, comments included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// An empty line: the end of a block (dispatches the event, if any).
    Blank,
    /// A line starting with `:`. The text is what follows the colon, minus
    /// one leading space if there is one (the same rule as field values, so
    /// `": ping"` gives `"ping"`).
    Comment(&'a [u8]),
    /// Any other line.
    Field(Field<'a>),
}

impl<'a> Line<'a> {
    /// Classifies one line (without its line ending).
    ///
    /// # Example
    /// ```
    /// use ssewire::{FieldName, Line};
    /// let Line::Field(f) = Line::parse(b"data:  two spaces") else { panic!() };
    /// assert_eq!(f.name(), FieldName::Data);
    /// assert_eq!(f.value(), b" two spaces"); // only one space is stripped
    /// assert_eq!(Line::parse(b": keep-alive"), Line::Comment(b"keep-alive"));
    /// assert_eq!(Line::parse(b""), Line::Blank);
    /// ```
    #[must_use]
    pub fn parse(line: &'a [u8]) -> Self {
        match parse(line) {
            Parsed::Blank => Line::Blank,
            Parsed::Comment(v) => Line::Comment(&line[v..]),
            Parsed::Field {
                name_end, value, ..
            } => Line::Field(Field {
                name: &line[..name_end],
                value: &line[value..],
            }),
        }
    }
}

/// A field line split into name and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

impl<'a> Field<'a> {
    /// The raw field name: everything before the first colon (or the whole
    /// line when it has none).
    #[must_use]
    pub fn raw_name(&self) -> &'a [u8] {
        self.name
    }

    /// The field name, matched exactly and case-sensitively.
    #[must_use]
    pub fn name(&self) -> FieldName {
        FieldName::from_bytes(self.name)
    }

    /// The value: everything after the first colon minus one leading space;
    /// empty when the line has no colon.
    #[must_use]
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// For a `retry` field, the reconnection time it sets (see
    /// [`parse_retry`]); `None` for other fields or invalid values.
    #[must_use]
    pub fn retry(&self) -> Option<Duration> {
        match self.name() {
            FieldName::Retry => parse_retry(self.value),
            _ => None,
        }
    }
}

/// The four field names the spec interprets, and everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldName {
    /// `data`
    Data,
    /// `event`
    Event,
    /// `id`
    Id,
    /// `retry`
    Retry,
    /// Any other name (including `Data` or `data ` with a trailing space);
    /// ignored by the event decoder.
    Unknown,
}

impl FieldName {
    /// Matches a raw field name exactly.
    ///
    /// # Example
    /// ```
    /// use ssewire::FieldName;
    /// assert_eq!(FieldName::from_bytes(b"data"), FieldName::Data);
    /// assert_eq!(FieldName::from_bytes(b"Data"), FieldName::Unknown);
    /// ```
    #[inline]
    #[must_use]
    pub fn from_bytes(name: &[u8]) -> Self {
        match name {
            b"data" => FieldName::Data,
            b"event" => FieldName::Event,
            b"id" => FieldName::Id,
            b"retry" => FieldName::Retry,
            _ => FieldName::Unknown,
        }
    }
}

/// A line split into offsets, so callers can keep working on their own
/// storage without holding a borrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Blank,
    /// The comment text starts at this offset.
    Comment(usize),
    /// The name is `line[..name_end]`, matched as `name`; the value is
    /// `line[value..]`.
    Field {
        name: FieldName,
        name_end: usize,
        value: usize,
    },
}

/// Splits a line (spec: "If the line starts with a colon ... If the line
/// contains a colon ... Otherwise, the string is not empty but does not
/// contain a colon"). Always inlined: it runs once per line, and out of line
/// its result goes through memory (measured: 23% slower on heartbeat).
#[inline(always)]
pub(crate) fn parse(line: &[u8]) -> Parsed {
    match line.first() {
        None => Parsed::Blank,
        Some(b':') => Parsed::Comment(skip_one_space(line, 1)),
        Some(_) => match find_colon(line) {
            Some(colon) => Parsed::Field {
                name: FieldName::from_bytes(&line[..colon]),
                name_end: colon,
                value: skip_one_space(line, colon + 1),
            },
            None => Parsed::Field {
                name: FieldName::from_bytes(line),
                name_end: line.len(),
                value: line.len(),
            },
        },
    }
}

/// The first colon. The names that matter are at most five bytes long, so
/// look at the first eight bytes directly before paying for a memchr call.
#[inline]
fn find_colon(line: &[u8]) -> Option<usize> {
    const HEAD: usize = 8;
    let head = &line[..line.len().min(HEAD)];
    match head.iter().position(|&b| b == b':') {
        Some(c) => Some(c),
        None if line.len() > HEAD => memchr::memchr(b':', &line[HEAD..]).map(|c| c + HEAD),
        None => None,
    }
}

#[inline]
fn skip_one_space(line: &[u8], at: usize) -> usize {
    if line.get(at) == Some(&b' ') {
        at + 1
    } else {
        at
    }
}

/// Parses a `retry` value into the reconnection time it sets: only a
/// non-empty run of ASCII digits, a whole number of milliseconds, is
/// accepted (so `1.5`, `-1`, `+1`, ` 1` and `10ms` are not). Values above
/// `u64::MAX` milliseconds saturate to that (about 585 million years),
/// which a client treats as "never reconnect"; they never wrap or panic.
///
/// # Example
/// ```
/// use core::time::Duration;
/// use ssewire::parse_retry;
/// assert_eq!(parse_retry(b"3000"), Some(Duration::from_millis(3000)));
/// assert_eq!(parse_retry(b"1.5"), None);
/// assert_eq!(parse_retry(b""), None);
/// assert_eq!(parse_retry(b"99999999999999999999999999999"), Some(Duration::from_millis(u64::MAX)));
/// ```
#[must_use]
pub fn parse_retry(value: &[u8]) -> Option<Duration> {
    parse_digits(value).map(Duration::from_millis)
}

/// A non-empty run of ASCII digits as a number, saturating at `u64::MAX`;
/// `None` for anything else. [`parse_retry`] in milliseconds (as the
/// decoder keeps it), and the client's `Retry-After` in seconds.
#[inline]
pub(crate) fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Some(n)
}

/// True when `value` may become the last event id: it contains no NUL
/// (spec: "If the field value does not contain U+0000 NULL, then set the last
/// event ID buffer to the field value. Otherwise, ignore the field.").
#[inline]
pub(crate) fn id_is_accepted(value: &[u8]) -> bool {
    // Ids are usually short: a plain loop beats the call's set-up there.
    if value.len() <= 16 {
        return !value.contains(&0);
    }
    memchr::memchr(0, value).is_none()
}

/// Checks a value for an `event` field (or any single line): no CR or LF,
/// which would end the line early and let the rest forge fields.
pub(crate) fn check_line(v: &[u8]) -> Result<(), InvalidValue> {
    match crate::eol::find(v) {
        Some(at) => Err(InvalidValue::LineBreak { at }),
        None => Ok(()),
    }
}

/// Checks a value for an `id` field or a last event id: no CR or LF (as
/// [`check_line`]) and no NUL, which makes a decoder ignore the field.
pub(crate) fn check_id(v: &[u8]) -> Result<(), InvalidValue> {
    // Ids are usually short: a plain loop beats the call's set-up there.
    let at = if v.len() < 16 {
        // One comparison for every byte above CR; a bit test below it.
        const BAD: u16 = 1 | 1 << b'\n' | 1 << b'\r';
        v.iter().position(|&b| b <= b'\r' && BAD >> b & 1 != 0)
    } else {
        memchr::memchr3(b'\r', b'\n', 0, v)
    };
    match at {
        Some(at) if v[at] == 0 => Err(InvalidValue::Null { at }),
        Some(at) => Err(InvalidValue::LineBreak { at }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(line: &[u8]) -> (&[u8], &[u8]) {
        match Line::parse(line) {
            Line::Field(f) => (f.raw_name(), f.value()),
            other => panic!("not a field: {other:?}"),
        }
    }

    #[test]
    fn exactly_one_leading_space_is_stripped() {
        assert_eq!(field(b"data: x"), (&b"data"[..], &b"x"[..]));
        assert_eq!(field(b"data:  x"), (&b"data"[..], &b" x"[..]));
        assert_eq!(field(b"data:\tx"), (&b"data"[..], &b"\tx"[..]));
        assert_eq!(field(b"data:x"), (&b"data"[..], &b"x"[..]));
    }

    #[test]
    fn line_without_colon_is_name_with_empty_value() {
        assert_eq!(field(b"data"), (&b"data"[..], &b""[..]));
        assert_eq!(field(b"data "), (&b"data "[..], &b""[..]));
    }

    #[test]
    fn value_keeps_later_colons() {
        assert_eq!(field(b"data: a:b: c"), (&b"data"[..], &b"a:b: c"[..]));
    }

    #[test]
    fn comment_strips_one_space() {
        assert_eq!(Line::parse(b":"), Line::Comment(b""));
        assert_eq!(Line::parse(b":x"), Line::Comment(b"x"));
        assert_eq!(Line::parse(b":  x"), Line::Comment(b" x"));
    }

    #[test]
    fn field_names_are_case_sensitive() {
        assert_eq!(FieldName::from_bytes(b"DATA"), FieldName::Unknown);
        assert_eq!(FieldName::from_bytes(b"data "), FieldName::Unknown);
        assert_eq!(FieldName::from_bytes(b"Event"), FieldName::Unknown);
        assert_eq!(FieldName::from_bytes(b"event"), FieldName::Event);
        assert_eq!(FieldName::from_bytes(b"id"), FieldName::Id);
        assert_eq!(FieldName::from_bytes(b"retry"), FieldName::Retry);
    }

    #[test]
    fn retry_accepts_only_ascii_digits() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"007"), Some(7));
        assert_eq!(parse_retry(b"007"), Some(Duration::from_millis(7)));
        for bad in [
            &b"1.5"[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"10ms",
            b"",
            b"\xd9\xa1",
        ] {
            assert_eq!(parse_digits(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_overflow_saturates() {
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_digits(b"18446744073709551616"), Some(u64::MAX));
        assert_eq!(parse_digits(&[b'9'; 30]), Some(u64::MAX));
    }

    #[test]
    fn id_with_nul_is_refused() {
        assert!(id_is_accepted(b"abc"));
        assert!(id_is_accepted(b""));
        assert!(!id_is_accepted(b"a\0b"));
    }
}
