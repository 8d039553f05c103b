//! UTF-8 validation for the `*_str` and `*_lossy` accessors: SIMD
//! (`simdutf8`) on the common, valid path, the standard library's
//! validator only to describe an error.
//!
//! `core::str::from_utf8` validated non-ASCII text at about 1 GB/s in the
//! comparison harness (multi-line and CJK events), a quarter of the speed
//! the decoder reads it at: `data_str` there ran at 0.2x the borrowed
//! decoder. simdutf8 selects its AVX2 or SSE 4.2 validator at run time
//! with `std` (at compile time, from the target's features, without it).

use core::str::Utf8Error;

/// `bytes` as `&str`, with the same result as `core::str::from_utf8`.
#[inline]
pub(crate) fn str(bytes: &[u8]) -> Result<&str, Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s),
        // Invalid: the standard validator says where, as callers expect.
        Err(_) => core::str::from_utf8(bytes),
    }
}

/// The spec's UTF-8 decode (U+FFFD for invalid sequences), borrowed when
/// `bytes` is valid: `String::from_utf8_lossy` with a faster check first.
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn lossy(bytes: &[u8]) -> alloc::borrow::Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => alloc::borrow::Cow::Borrowed(s),
        Err(_) => alloc::string::String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agrees with the standard library on valid text, on every kind of
    /// invalid sequence at every place around the SIMD block sizes, and on
    /// the error's position.
    #[test]
    fn same_result_as_the_standard_validator() {
        let valid = "aé中😀".repeat(40);
        // The largest char boundary at most `at`.
        let floor = |at: usize| {
            (0..=at.min(valid.len()))
                .rev()
                .find(|&i| valid.is_char_boundary(i))
                .unwrap_or(0)
        };
        let bad: [&[u8]; 6] = [
            b"\xFF",
            b"\xC3",
            b"\xE4\xB8",
            b"\xED\xA0\x80",
            b"\xF0\x9F\x98",
            b"\xC0\xAF",
        ];
        for len in [0, 1, 15, 16, 31, 32, 63, 64, 65, 127, 128, 200] {
            let text = &valid.as_bytes()[..floor(len)];
            assert_eq!(str(text), core::str::from_utf8(text));
            for b in bad {
                for at in [0, text.len() / 2, text.len()] {
                    let at = floor(at);
                    let mut v = [0u8; 512];
                    let n = at + b.len() + (text.len() - at);
                    v[..at].copy_from_slice(&text[..at]);
                    v[at..at + b.len()].copy_from_slice(b);
                    v[at + b.len()..n].copy_from_slice(&text[at..]);
                    let v = &v[..n];
                    assert_eq!(str(v), core::str::from_utf8(v), "{len} {at} {b:?}");
                    #[cfg(feature = "alloc")]
                    assert_eq!(lossy(v), alloc::string::String::from_utf8_lossy(v));
                }
            }
        }
    }
}
