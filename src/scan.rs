//! Bytes to lines (spec 9.2.5, "Parsing an event stream").
//!
//! The scanner drops one UTF-8 BOM at the start of the stream, splits at
//! CRLF, LF and lone CR, and remembers a CR that ended a chunk so that an LF
//! starting the next chunk is swallowed instead of making a phantom blank
//! line. A line that lies inside the chunk is reported as a range of it; the
//! bytes of a line that straddles chunks are appended to the caller's line
//! buffer as they arrive, and each byte is examined exactly once.

use crate::buffer::Buffer;

/// The UTF-8 byte order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// What one call to [`Scanner::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A complete line at `chunk[start..end]` (line ending excluded).
    Chunk(usize, usize),
    /// A complete line that straddled chunks; it is the whole line buffer.
    Buffered,
    /// The chunk is used up; feed more.
    NeedInput,
    /// A line is longer than the maximum. It is skipped up to its line end.
    TooLong,
}

/// Finds CR or LF. On x86_64 with AVX2 (detected at run time with `std`,
/// or enabled at compile time) it keeps memchr's prepared AVX2 searcher,
/// which saves memchr2's per-call dispatch and set-up on every line;
/// elsewhere it calls `memchr::memchr2`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EolFinder {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl Default for EolFinder {
    fn default() -> Self {
        EolFinder {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'),
        }
    }
}

impl EolFinder {
    #[inline(always)]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = &self.avx2 {
            return two.find(hay);
        }
        memchr::memchr2(b'\n', b'\r', hay)
    }
}

/// The line splitter's state between chunks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanner {
    finder: EolFinder,
    /// The BOM check is over (matched, or the stream did not start with one).
    bom_done: bool,
    /// How many BOM bytes have matched so far, when `!bom_done`.
    bom_len: u8,
    /// The last chunk ended with CR: an LF at the start of the next one
    /// belongs to the same line ending.
    pending_cr: bool,
    /// A line is in progress in the line buffer.
    partial: bool,
    /// An overlong line is being skipped up to its line end.
    skipping: bool,
    /// Bytes examined so far: every input byte once, never more.
    pub(crate) scanned: u64,
}

impl Scanner {
    /// Back to the start of a new stream (a BOM is expected again).
    pub(crate) fn reset(&mut self) {
        *self = Scanner {
            finder: self.finder,
            scanned: self.scanned,
            ..Scanner::default()
        };
    }

    /// True when bytes of an unfinished line are held (or being skipped).
    pub(crate) fn has_partial_line(&self) -> bool {
        self.partial || self.skipping || (!self.bom_done && self.bom_len > 0)
    }

    /// Finds the next line in `chunk[*pos..]`, advancing `*pos` past what was
    /// used.
    ///
    /// `before_reuse` is called once, just before the line buffer is cleared
    /// to hold a new straddling line, so the caller can move out anything it
    /// still refers to in there. Lines longer than `max` give
    /// [`Scan::TooLong`] exactly once each, whatever the chunking.
    ///
    /// Always inlined: it runs once per line and has two callers; the call
    /// itself cost about as much as scanning a short line.
    #[inline(always)]
    pub(crate) fn next<B: Buffer, F: FnOnce(&mut B)>(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        line: &mut B,
        max: usize,
        before_reuse: F,
    ) -> Scan {
        let mut before_reuse = Some(before_reuse);
        if !self.bom_done {
            while *pos < chunk.len() {
                if chunk[*pos] == BOM[usize::from(self.bom_len)] {
                    *pos += 1;
                    self.scanned += 1;
                    self.bom_len += 1;
                    if usize::from(self.bom_len) == BOM.len() {
                        self.bom_done = true;
                        self.bom_len = 0;
                        break;
                    }
                } else {
                    // Not a BOM after all: the bytes that matched are the
                    // start of the first line.
                    let matched = &BOM[..usize::from(self.bom_len)];
                    self.bom_done = true;
                    self.bom_len = 0;
                    if !matched.is_empty() {
                        if let Some(f) = before_reuse.take() {
                            f(line);
                        }
                        line.clear();
                        if matched.len() > max || line.try_extend(matched).is_err() {
                            self.skipping = true;
                            return Scan::TooLong;
                        }
                        self.partial = true;
                    }
                    break;
                }
            }
            if !self.bom_done {
                return Scan::NeedInput;
            }
        }
        loop {
            if self.pending_cr {
                let Some(&b) = chunk.get(*pos) else {
                    return Scan::NeedInput;
                };
                self.pending_cr = false;
                if b == b'\n' {
                    *pos += 1;
                    self.scanned += 1;
                }
            }
            let start = *pos;
            let rest = &chunk[start..];
            if rest.is_empty() {
                return Scan::NeedInput;
            }
            match find_eol(rest, &self.finder) {
                Some(i) => {
                    let end = start + i;
                    *pos = end + 1;
                    self.scanned += i as u64 + 1;
                    if chunk[end] == b'\r' {
                        match chunk.get(*pos) {
                            Some(b'\n') => {
                                *pos += 1;
                                self.scanned += 1;
                            }
                            Some(_) => {}
                            None => self.pending_cr = true,
                        }
                    }
                    if self.skipping {
                        self.skipping = false;
                        continue;
                    }
                    if self.partial {
                        self.partial = false;
                        let total = line.as_bytes().len() + i;
                        if total > max || line.try_extend(&chunk[start..end]).is_err() {
                            return Scan::TooLong;
                        }
                        return Scan::Buffered;
                    }
                    if i > max {
                        return Scan::TooLong;
                    }
                    return Scan::Chunk(start, end);
                }
                None => {
                    *pos = chunk.len();
                    self.scanned += rest.len() as u64;
                    if self.skipping {
                        return Scan::NeedInput;
                    }
                    if !self.partial {
                        if let Some(f) = before_reuse.take() {
                            f(line);
                        }
                        line.clear();
                        self.partial = true;
                    }
                    let total = line.as_bytes().len() + rest.len();
                    if total > max || line.try_extend(rest).is_err() {
                        self.partial = false;
                        self.skipping = true;
                        return Scan::TooLong;
                    }
                    return Scan::NeedInput;
                }
            }
        }
    }
}

/// Bytes examined as one word before handing over to the vector search:
/// enough for blank lines (one per event) and short lines (`id: 7`), whose
/// cost would otherwise be the search's set-up.
const SHORT: usize = 8;

/// The first CR or LF in `hay`.
#[inline(always)]
fn find_eol(hay: &[u8], finder: &EolFinder) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const CR: u64 = u64::from_ne_bytes([b'\r'; 8]);
    // Flags the zero bytes of `x`; the lowest flag is always exact (a false
    // flag can only appear above a true one), which is all we use.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while i < SHORT {
        let Some(word) = hay.get(i..i + 8) else { break };
        let w = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        let found = zero(w ^ LF) | zero(w ^ CR);
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i < SHORT {
        // Fewer than 8 bytes left.
        return hay[i..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map(|p| p + i);
    }
    finder.find(&hay[i..]).map(|p| p + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::ArrayBuffer;

    /// Splits `input` fed as `chunks` into lines (as owned arrays of bytes in
    /// a fixed-size list, so the test runs without `alloc`).
    fn lines(
        chunks: &[&[u8]],
        max: usize,
        out: &mut [[u8; 16]; 8],
        lens: &mut [usize; 8],
    ) -> usize {
        let mut s = Scanner::default();
        let mut buf = ArrayBuffer::<64>::new();
        let mut n = 0;
        for chunk in chunks {
            let mut pos = 0;
            loop {
                let got = s.next(chunk, &mut pos, &mut buf, max, |_| {});
                let line: &[u8] = match got {
                    Scan::NeedInput => break,
                    Scan::TooLong => b"<too long>",
                    Scan::Chunk(a, b) => &chunk[a..b],
                    Scan::Buffered => buf.as_bytes(),
                };
                out[n][..line.len()].copy_from_slice(line);
                lens[n] = line.len();
                n += 1;
            }
        }
        n
    }

    fn check(chunks: &[&[u8]], max: usize, want: &[&[u8]]) {
        let mut out = [[0u8; 16]; 8];
        let mut lens = [0usize; 8];
        let n = lines(chunks, max, &mut out, &mut lens);
        assert_eq!(n, want.len(), "line count for {chunks:?}");
        for i in 0..n {
            assert_eq!(&out[i][..lens[i]], want[i], "line {i} for {chunks:?}");
        }
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        check(&[b"a\r", b"\nb\n"], 64, &[b"a", b"b"]);
    }

    #[test]
    fn lone_cr_then_other_byte_ends_line() {
        check(&[b"a\r", b"b\r\r\n"], 64, &[b"a", b"b", b""]);
    }

    #[test]
    fn bom_is_dropped_once_even_split_in_three() {
        check(
            &[b"\xEF", b"\xBB", b"\xBFa\n\xEF\xBB\xBFb\n"],
            64,
            &[b"a", b"\xEF\xBB\xBFb"],
        );
    }

    #[test]
    fn partial_bom_is_line_content() {
        check(&[b"\xEF\xBB", b"x\n"], 64, &[b"\xEF\xBBx"]);
    }

    #[test]
    fn straddling_line_is_joined() {
        check(&[b"ab", b"cd", b"e\nf\n"], 64, &[b"abcde", b"f"]);
    }

    #[test]
    fn overlong_line_reported_once_then_skipped() {
        check(&[b"abcdef\nok\n"], 3, &[b"<too long>", b"ok"]);
        check(&[b"ab", b"cd", b"ef\nok\n"], 3, &[b"<too long>", b"ok"]);
        check(&[b"abc", b"d\nok\n"], 3, &[b"<too long>", b"ok"]);
    }

    #[test]
    fn find_eol_matches_a_plain_search() {
        let mut hay = [b'x'; 40];
        assert_eq!(find_eol(&hay, &EolFinder::default()), None);
        for len in 0..40 {
            for at in 0..40 {
                for eol in [b'\n', b'\r'] {
                    hay = [b'x'; 40];
                    hay[at] = eol;
                    // Bytes that trip naive zero-byte tricks.
                    hay[(at + 1) % 40] = 0x0b;
                    hay[(at + 3) % 40] = 0x8a;
                    let want = hay[..len].iter().position(|&b| b == b'\n' || b == b'\r');
                    assert_eq!(
                        find_eol(&hay[..len], &EolFinder::default()),
                        want,
                        "len {len} at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_byte_is_scanned_once() {
        let mut s = Scanner::default();
        let mut buf = ArrayBuffer::<64>::new();
        let input = b"\xEF\xBB\xBFdata: x\r\n\r\nlonger line here\rz\n";
        for b in input.chunks(1) {
            let mut pos = 0;
            while s.next(b, &mut pos, &mut buf, 64, |_| {}) != Scan::NeedInput {}
            assert_eq!(pos, 1);
        }
        assert_eq!(s.scanned, input.len() as u64);
    }
}
