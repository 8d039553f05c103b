//! Finding CR and LF in short byte strings, the lowest floor: the
//! decoder's line finder (`decoder/lines/scan.rs`), the value checks of
//! `field.rs` and the encoder's line splitting all stand on it.

/// Whether `b` ends a line (CR or LF).
#[inline(always)]
pub(crate) fn is_eol(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// The word-at-a-time trick: flags (the high bit of a byte) the CR and LF
/// bytes of `w`. The lowest flag is always exact (a false flag can only
/// appear above a true one), which is all we use.
#[inline(always)]
pub(crate) fn word_eols(w: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const CR: u64 = u64::from_ne_bytes([b'\r'; 8]);
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    zero(w ^ LF) | zero(w ^ CR)
}

/// The first CR or LF in `hay`, one byte at a time (for the last few bytes).
#[inline(always)]
pub(crate) fn find_bytewise(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| is_eol(b))
}

/// The first CR or LF in `hay`, which is shorter than 16 bytes: two
/// overlapping words when it has 8 bytes or more.
#[inline(always)]
pub(crate) fn find_short(hay: &[u8]) -> Option<usize> {
    let n = hay.len();
    debug_assert!(n < 16);
    let (Some(first), Some(last)) = (hay.first_chunk::<8>(), hay.last_chunk::<8>()) else {
        return find_bytewise(hay);
    };
    let f = word_eols(u64::from_le_bytes(*first));
    if f != 0 {
        return Some((f.trailing_zeros() / 8) as usize);
    }
    let f = word_eols(u64::from_le_bytes(*last));
    (f != 0).then(|| n - 8 + (f.trailing_zeros() / 8) as usize)
}

/// The first CR or LF in `text`. Under 16 bytes (most types and ids, and
/// short data such as a counter) with the two word-at-a-time probes of
/// [`find_short`] and no call; the call into `memchr2` and its set-up cost
/// more than such a scan.
#[inline(always)]
pub(crate) fn find(text: &[u8]) -> Option<usize> {
    if text.len() < 16 {
        find_short(text)
    } else {
        memchr::memchr2(b'\n', b'\r', text)
    }
}
