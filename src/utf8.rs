//! UTF-8 validation for the `*_str` and `*_lossy` accessors: an ASCII scan
//! first, SIMD (`simdutf8`) from the first non-ASCII block on, the standard
//! library's validator only to describe an error.
//!
//! `core::str::from_utf8` validated non-ASCII text at about 1 GB/s in the
//! comparison harness (multi-line and CJK events), a quarter of the speed
//! the decoder reads it at: `data_str` there ran at 0.2x the borrowed
//! decoder. simdutf8 selects its AVX2 or SSE 4.2 validator at run time
//! with `std` (at compile time, from the target's features, without it).
//!
//! But simdutf8 works in 64-byte blocks and copies a shorter tail into a
//! padded block first, which is most of its cost on the text of one event:
//! in the harness, validating llm events (240-260 bytes of JSON) cost 17
//! ns an event on top of decoding them. Most event text is ASCII, and
//! ASCII needs no validator: so the text is first scanned for its ASCII
//! prefix, 64 bytes at a time with SSE2 where the target has it (words
//! elsewhere). Text that is ASCII throughout is done (5 ns an event on
//! llm); otherwise everything before the first block holding a non-ASCII
//! byte is ASCII, so that block starts a character, and simdutf8
//! validates from there. Text of 1 KiB or more goes to simdutf8 whole,
//! which is faster there.
//!
//! This module holds one of the crate's pieces of `unsafe` code: the SSE2
//! loads of the ASCII scan, and `from_utf8_unchecked` after it (and for
//! data the decoder's long-line search already saw to be ASCII,
//! [`ascii_unchecked`]). Its tests run under Miri in CI.
#![allow(unsafe_code)]

use core::str::Utf8Error;

/// The high bit of each of 8 bytes: set in a word that holds a non-ASCII
/// byte.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The 8 bytes at `bytes[at..]` as a word.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// How many bytes of `bytes` are known to be ASCII: `bytes.len()` when all
/// are, else an offset at or before the first non-ASCII byte (so a
/// character starts there).
#[inline(always)]
fn ascii_prefix(bytes: &[u8]) -> usize {
    match bytes.len() {
        0..8 => bytes.iter().position(|&b| b >= 0x80).unwrap_or(bytes.len()),
        8..16 => match (word(bytes, 0) | word(bytes, bytes.len() - 8)) & HIGH {
            0 => bytes.len(),
            _ => 0,
        },
        _ => ascii_prefix_long(bytes),
    }
}

/// [`ascii_prefix`] for 16 bytes or more, with SSE2: 64 bytes at a time,
/// then 16, then the last 16 (which may overlap checked ones).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn ascii_prefix_long(bytes: &[u8]) -> usize {
    use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
    /// The 16 bytes at `bytes[at..]`.
    #[inline(always)]
    fn load(bytes: &[u8], at: usize) -> __m128i {
        let block: &[u8; 16] = bytes[at..at + 16].try_into().unwrap_or(&[0; 16]);
        // SAFETY: SSE2 is enabled at compile time (the `cfg` above), so the
        // instruction exists wherever this runs; it reads the 16 bytes of
        // `block` with no alignment requirement.
        unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) }
    }
    // SAFETY: SSE2 as above; these only compute on registers.
    let high = |v: __m128i| unsafe { _mm_movemask_epi8(v) } != 0;
    // SAFETY: as above.
    let or = |x: __m128i, y: __m128i| unsafe { _mm_or_si128(x, y) };
    let mut at = 0;
    while at + 64 <= bytes.len() {
        let x = or(load(bytes, at), load(bytes, at + 16));
        let y = or(load(bytes, at + 32), load(bytes, at + 48));
        if high(or(x, y)) {
            return at;
        }
        at += 64;
    }
    while at + 16 <= bytes.len() {
        if high(load(bytes, at)) {
            return at;
        }
        at += 16;
    }
    match at < bytes.len() && high(load(bytes, bytes.len() - 16)) {
        true => at,
        false => bytes.len(),
    }
}

/// [`ascii_prefix`] for 16 bytes or more, without SSE2.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn ascii_prefix_long(bytes: &[u8]) -> usize {
    ascii_prefix_words(bytes)
}

/// [`ascii_prefix`] for 16 bytes or more, in words: 32 bytes at a time,
/// then 8, then the last 8. (Built with SSE2 too, for its test.)
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn ascii_prefix_words(bytes: &[u8]) -> usize {
    let mut at = 0;
    while at + 32 <= bytes.len() {
        let w = word(bytes, at) | word(bytes, at + 8) | word(bytes, at + 16) | word(bytes, at + 24);
        if w & HIGH != 0 {
            return at;
        }
        at += 32;
    }
    while at + 8 <= bytes.len() {
        if word(bytes, at) & HIGH != 0 {
            return at;
        }
        at += 8;
    }
    match at < bytes.len() && word(bytes, bytes.len() - 8) & HIGH != 0 {
        true => at,
        false => bytes.len(),
    }
}

/// From this length on, simdutf8 (AVX2 where the CPU has it) validates
/// ASCII faster than the SSE2 scan reads it: on 64 KiB in cache, 670 ns
/// against 790 on the harness's machine; the two are level at about 800
/// bytes.
const LONG: usize = 1024;

/// Whether `bytes` is valid UTF-8. Under [`LONG`] bytes: ASCII up to
/// `ascii_prefix`, and valid from there. simdutf8 is much slower on less
/// than one 64-byte block than on more (llm events: 39 ns against 30), so
/// it starts up to 64 bytes from the end when it can: every offset before
/// the first non-ASCII byte starts a character.
///
/// Out of line: inlined into a caller's decoding loop, it made that loop
/// slower on other work (`big` fed in 61-byte chunks: 5%), and the call
/// costs nothing measurable on llm events.
#[inline(never)]
fn valid(bytes: &[u8]) -> bool {
    if bytes.len() >= LONG {
        return rest_valid(bytes);
    }
    let ascii = ascii_prefix(bytes);
    ascii == bytes.len() || rest_valid(&bytes[ascii.min(bytes.len().saturating_sub(64))..])
}

/// simdutf8 on long text, or on text that is not ASCII throughout.
#[inline(always)]
fn rest_valid(bytes: &[u8]) -> bool {
    simdutf8::basic::from_utf8(bytes).is_ok()
}

/// `bytes` as `&str` when it is valid UTF-8.
#[inline]
fn valid_str(bytes: &[u8]) -> Option<&str> {
    match valid(bytes) {
        // SAFETY: `valid` returned true: `bytes` is valid UTF-8.
        true => Some(unsafe { core::str::from_utf8_unchecked(bytes) }),
        false => None,
    }
}

/// `bytes` as `&str`, with the same result as `core::str::from_utf8`.
#[inline]
pub(crate) fn str(bytes: &[u8]) -> Result<&str, Utf8Error> {
    match valid_str(bytes) {
        Some(s) => Ok(s),
        // Invalid: the standard validator says where, as callers expect.
        None => core::str::from_utf8(bytes),
    }
}

/// `bytes` as `&str`, without a check: the decoder saw every byte of it
/// while searching its line ([`crate::Event::data_str`]).
///
/// # Safety
/// Every byte of `bytes` must be ASCII (checked in debug builds, the
/// fuzzers' included).
#[inline]
pub(crate) unsafe fn ascii_unchecked(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii(), "text marked ASCII is not");
    // SAFETY: ASCII is valid UTF-8, and the caller guarantees ASCII.
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

/// The spec's UTF-8 decode (U+FFFD for invalid sequences), borrowed when
/// `bytes` is valid: `String::from_utf8_lossy` with a faster check first.
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn lossy(bytes: &[u8]) -> alloc::borrow::Cow<'_, str> {
    match valid_str(bytes) {
        Some(s) => alloc::borrow::Cow::Borrowed(s),
        None => alloc::string::String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ASCII scans stop at or before one non-ASCII byte wherever it
    /// is (and in its block), at every length the SSE2 and word loops
    /// treat differently.
    #[test]
    fn ascii_scans_stop_at_the_first_high_byte() {
        // Miri runs these tests in CI: a sample there.
        let step = if cfg!(miri) { 11 } else { 1 };
        let mut text = [b'a'; 300];
        for len in (0..300).step_by(step) {
            let t = &mut text[..len];
            assert_eq!(ascii_prefix(t), len);
            assert!(len < 16 || ascii_prefix_words(t) == len, "{len}");
            for at in (0..len).step_by(step) {
                for high in [0x80, 0xC3, 0xFF] {
                    t[at] = high;
                    let found = ascii_prefix(t);
                    assert!(found <= at && at - found < 64, "{len} {at}: {found}");
                    if len >= 16 {
                        let words = ascii_prefix_words(t);
                        assert!(words <= at && at - words < 32, "{len} {at}: {words}");
                    }
                    t[at] = b'a';
                }
            }
        }
    }

    /// Agrees with the standard library on valid text, on every kind of
    /// invalid sequence at every place around the SIMD block sizes, and on
    /// the error's position.
    #[test]
    fn same_result_as_the_standard_validator() {
        let mut mixed = [0u8; 1200];
        for (i, b) in "aé中😀".bytes().cycle().take(1200).enumerate() {
            mixed[i] = b;
        }
        agrees_around_blocks(core::str::from_utf8(&mixed).unwrap());
        // Mostly ASCII, one 2-byte char before, across or after a block
        // edge (256 and 320 are multiples of 64), or past `LONG`.
        for before in [254, 255, 256, 319, 1050] {
            let mut text = [b'b'; 1200];
            text[..before].fill(b'a');
            text[before..before + 2].copy_from_slice("é".as_bytes());
            agrees_around_blocks(core::str::from_utf8(&text).unwrap());
        }
    }

    /// `str` and `lossy` agree with the standard library on prefixes of
    /// `valid` of lengths around the block sizes and the short-text bound,
    /// and on each with an invalid sequence put in at its start, middle,
    /// last block edge or end.
    fn agrees_around_blocks(valid: &str) {
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
        let lens = [
            0, 1, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 200, 255, 256, 257, 300, 320,
            383, 384, 455, 456, 1023, 1024, 1100,
        ];
        // Miri runs these tests in CI: a sample there.
        let step = if cfg!(miri) { 4 } else { 1 };
        for len in lens.into_iter().step_by(step) {
            let text = &valid.as_bytes()[..floor(len)];
            assert_eq!(str(text), core::str::from_utf8(text));
            for b in bad.into_iter().step_by(step / 2 + 1) {
                for at in [0, text.len() / 2, text.len() & !63, text.len()] {
                    let at = floor(at);
                    let mut v = [0u8; 1200];
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
