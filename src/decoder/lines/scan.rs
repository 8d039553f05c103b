//! Bytes to lines (spec 9.2.5, "Parsing an event stream").
//!
//! The scanner drops one UTF-8 BOM at the start of the stream, splits at
//! CRLF, LF and lone CR, and remembers a CR that ended a chunk so that an LF
//! starting the next chunk is swallowed instead of making a phantom blank
//! line. A line that lies inside the chunk is reported as a range of it; the
//! bytes of a line that straddles chunks are appended to the caller's line
//! buffer as they arrive, and each byte is examined exactly once (when
//! fewer than 16 bytes are left, the line finder loads the last 16 and
//! masks off those it has already checked; it never looks at them again).
//!
//! # States
//!
//! The scanner is in exactly one [`State`] between chunks:
//!
//! | state | meaning | left by |
//! |---|---|---|
//! | `Bom(n)` | stream start, `n` bytes of the BOM matched so far (0..=2) | the BOM's third byte (to `LineStart`); any other byte (to `LineStart` when `n == 0`, else `Partial` holding the matched bytes) |
//! | `LineStart` | at the start of a line | a chunk that ends inside a line (to `Partial`), or in a CR (to `AfterCr`) |
//! | `AfterCr` | at the start of a line; the last chunk ended with CR, so an LF first is the rest of that CRLF | the next byte (swallowed if LF), to `LineStart` |
//! | `Partial` | inside a line whose first bytes are in the line buffer | its line end (to `LineStart` or `AfterCr`); going over the limit (to `Skipping`) |
//! | `Skipping` | inside a line that went over the limit; its bytes are dropped | its line end (to `LineStart` or `AfterCr`) |
//!
//! Inside one chunk, lines between the first line end and the last are
//! found without touching the state at all ([`Scanner::next_in_chunk`]):
//! that is the hot path. The borrowed decoder's `feed_all` walks it with a
//! cursor ([`Blocks`]) that keeps the line ends of the last 64-byte block
//! it checked, so that short lines ending in the same block cost a shift.

use super::simd;
use crate::buffer::{inside, Buffer};
use crate::eol::{find_bytewise, find_short, word_eols};

/// The UTF-8 byte order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Where the scanner stands between chunks; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of the stream, with this many BOM bytes matched.
    Bom(u8),
    /// At the start of a line.
    LineStart,
    /// At the start of a line, right after a CR that ended the last chunk.
    AfterCr,
    /// Inside a line held in the line buffer.
    Partial,
    /// Inside an over-long line, dropping its bytes.
    Skipping,
}

/// What [`Scanner::resume`] found at the start of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// The scanner is at a line start at `*pos`: find lines in the chunk.
    LineStart,
    /// A line that straddled chunks is complete; it is the whole line
    /// buffer.
    Line,
    /// A line went over the limit; it is being skipped.
    TooLong,
    /// The chunk is used up.
    NeedInput,
}

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

/// Finds CR or LF.
///
/// First a word-at-a-time probe of the first 8 bytes, where blank and short
/// lines end. Where SSE2 is enabled at compile time (every x86_64 target),
/// a haystack of at most 64 bytes (the end of a chunk; at 61-byte chunks,
/// every search) is then checked 16 bytes at a time with a compare mask
/// ([`simd::eol_mask16`]): no call, no set-up, the last block
/// overlapping. Otherwise memchr: on x86_64 with AVX2 (detected at run time
/// with `std`, or enabled at compile time) its prepared AVX2 searcher,
/// which saves `memchr2`'s per-call dispatch and set-up; else
/// `memchr::memchr2`.
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

/// The most bytes [`EolFinder::find_blocks`] checks 16 at a time; a longer
/// haystack goes to memchr after the first word.
///
/// Measured (borrowed and `Bytes` paths, A/B over 5 interleaved rounds):
/// this beat checking the first 64 bytes of every haystack 16 at a time,
/// which was faster at 61-byte chunks and on multiline at 4 KiB but 5-8%
/// slower on heartbeat and 14% on anthropic at 4 KiB, and beat every
/// variant of where to hand over to memchr (16, 32, 64, 128 bytes), each of
/// which traded one workload for another.
const BLOCKS_END: usize = 64;

/// Bytes examined a word at a time before handing over to memchr where
/// there are no compare masks (a multiple of 8; 8 measured best).
const SHORT: usize = 8;

impl EolFinder {
    #[inline(always)]
    fn find_long(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = &self.avx2 {
            return two.find(hay);
        }
        memchr::memchr2(b'\n', b'\r', hay)
    }

    /// The first CR or LF in `hay`.
    #[inline(always)]
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        return self.find_blocks(hay);
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        return self.find_words(hay);
    }

    /// [`EolFinder::find`] with compare masks at the end of a chunk: the
    /// first word as in [`EolFinder::find_words`] (blank and short lines
    /// end there); then, when at most [`BLOCKS_END`] bytes are left, 16 at
    /// a time to the end, the last block overlapping, with no call; else
    /// memchr.
    #[cfg_attr(
        not(any(test, fuzzing, all(target_arch = "x86_64", target_feature = "sse2"))),
        allow(dead_code)
    )]
    #[inline(always)]
    pub(crate) fn find_blocks(&self, hay: &[u8]) -> Option<usize> {
        let n = hay.len();
        if n < 16 {
            return find_short(hay);
        }
        let first = word_eols(u64::from_le_bytes(*hay.first_chunk::<8>()?));
        if first != 0 {
            return Some((first.trailing_zeros() / 8) as usize);
        }
        if n > BLOCKS_END {
            return self.find_long(&hay[8..]).map(|p| p + 8);
        }
        let mut at = 8;
        loop {
            let Some(block) = hay.get(at..).and_then(<[u8]>::first_chunk::<16>) else {
                // Fewer than 16 bytes left: the last 16 of `hay`, shifted
                // past the bytes already checked.
                let last = hay.last_chunk::<16>()?;
                let mask = simd::eol_mask16(last) >> (at - (n - 16));
                return (mask != 0).then(|| at + mask.trailing_zeros() as usize);
            };
            let mask = simd::eol_mask16(block);
            if mask != 0 {
                return Some(at + mask.trailing_zeros() as usize);
            }
            at += 16;
        }
    }

    /// [`EolFinder::find`] with a word-at-a-time probe of the first
    /// [`SHORT`] bytes.
    #[cfg_attr(
        not(any(
            test,
            fuzzing,
            not(all(target_arch = "x86_64", target_feature = "sse2"))
        )),
        allow(dead_code)
    )]
    #[inline(always)]
    pub(crate) fn find_words(&self, hay: &[u8]) -> Option<usize> {
        // The first `SHORT` bytes a word at a time: blank lines and short
        // lines (`id: 7`) end there, and would otherwise pay the vector
        // search's set-up. (Measured: 16 or 32 bytes here lose 3-10% on
        // every workload in the comparison harness.)
        let mut at = 0;
        while let Some(word) = hay.get(at..).and_then(<[u8]>::first_chunk::<8>) {
            let found = word_eols(u64::from_le_bytes(*word));
            if found != 0 {
                return Some(at + (found.trailing_zeros() / 8) as usize);
            }
            at += 8;
            if at == SHORT {
                return self.find_long(&hay[at..]).map(|p| p + at);
            }
        }
        find_bytewise(&hay[at..]).map(|p| at + p)
    }
}

/// The hot loop's cursor through one chunk (see
/// [`EolFinder::find_cached`]): the last 64-byte block whose line ends were
/// computed, `chunk[end - 64..end]`, bit `i` of `mask` for byte
/// `end - 64 + i`; `end == 0` when there is none yet. Made fresh for each
/// call on a chunk, it is only ever asked about positions after the line
/// end it last found.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Blocks {
    end: usize,
    mask: u64,
    /// The last line known to be ASCII, `chunk[ascii.0..ascii.1]`
    /// (`(0, 0)`: none yet): a long line searched with AVX2, which finds
    /// that out in the same pass ([`simd::find_eol_ascii`]). Text inside
    /// it needs no UTF-8 check.
    pub(crate) ascii: (usize, usize),
}

impl Blocks {
    /// Whether `text` (borrowed from `chunk`, or from anywhere else) lies
    /// inside the line this cursor knows to be ASCII.
    #[inline]
    pub(crate) fn known_ascii(&self, chunk: &[u8], text: &[u8]) -> bool {
        let (lo, hi) = self.ascii;
        hi != 0 && inside(&chunk[lo..hi], text)
    }
}

/// 64-byte blocks checked for a line end before memchr takes over (a line
/// of up to 128 bytes ends in them).
const BLOCKS_MAX: usize = 2;

impl EolFinder {
    /// The first CR or LF in `chunk[start..]`, as a position in `chunk`:
    /// from the cursor's block when it covers `start`; else 64 bytes at a
    /// time with SSE2, keeping the block where the line ends (the next
    /// lines often end in it too), for at most [`BLOCKS_MAX`] blocks, then
    /// memchr; fewer than 64 bytes as [`EolFinder::find_blocks`] does.
    /// Without SSE2, [`EolFinder::find`].
    #[inline(always)]
    pub(crate) fn find_cached(&self, chunk: &[u8], start: usize, c: &mut Blocks) -> Option<usize> {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            let mut at = start;
            if start < c.end {
                // The cursor's block holds the last line end found, and
                // `start` is past it: `c.end - 64 < start < c.end`.
                let m = c.mask >> (start + 64 - c.end);
                if m != 0 {
                    return Some(start + m.trailing_zeros() as usize);
                }
                at = c.end;
            }
            let mut blocks = 0;
            while let Some(block) = chunk.get(at..).and_then(<[u8]>::first_chunk::<64>) {
                let mask = simd::eol_mask64(block);
                if mask != 0 {
                    c.end = at + 64;
                    c.mask = mask;
                    return Some(at + mask.trailing_zeros() as usize);
                }
                at += 64;
                blocks += 1;
                if blocks == BLOCKS_MAX {
                    return self.find_long_from(chunk, start, at, c);
                }
            }
            self.find_blocks(&chunk[at..]).map(|p| at + p)
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        {
            let _ = c;
            self.find(&chunk[start..]).map(|p| start + p)
        }
    }
}

/// A line longer than this (from where the search hands over to memchr,
/// at most 128 bytes in) is searched again with AVX2 for its high bits
/// ([`EolFinder::find_long_from`]); a shorter one is left to
/// [`crate::Event::data_str`]'s own check, which is cheap there.
#[cfg(not(fuzzing))]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code)
)]
const LONG_LINE: usize = 1024;
/// (Lower when fuzzing, so that the fuzzers' short inputs reach the fused
/// search.)
#[cfg(fuzzing)]
const LONG_LINE: usize = 16;

impl EolFinder {
    /// [`EolFinder::find_cached`]'s search of a line that began at `start`,
    /// from `chunk[at..]`: memchr up to [`LONG_LINE`] bytes; where the line
    /// goes on past that, with AVX2, a search from its start that also
    /// finds out whether it is ASCII (kept in the cursor,
    /// [`Blocks::ascii`]), at memchr's speed on long lines (measured on 64
    /// KiB lines: 29.3 against 29.8 GB/s, where memchr and then a UTF-8
    /// check ran at 22.4). On short lines the fused search is slower than
    /// memchr's (half its speed on llm's), hence the split.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code)
    )]
    #[inline(always)]
    fn find_long_from(
        &self,
        chunk: &[u8],
        start: usize,
        at: usize,
        c: &mut Blocks,
    ) -> Option<usize> {
        let rest = &chunk[at..];
        let window = &rest[..rest.len().min(LONG_LINE)];
        match self.find_long(window) {
            Some(p) => Some(at + p),
            None if window.len() == rest.len() => None,
            None => {
                // (The cursor stays out of the call, in registers.)
                let (end, ascii) = self.find_long_line(chunk, start, at + LONG_LINE);
                if ascii {
                    c.ascii = (start, end?);
                }
                end
            }
        }
    }

    /// [`EolFinder::find_long_from`] past its first [`LONG_LINE`] bytes,
    /// from `chunk[at..]`: the line end, and whether the line is known to
    /// be ASCII.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code)
    )]
    #[cold]
    #[inline(never)]
    fn find_long_line(&self, chunk: &[u8], start: usize, at: usize) -> (Option<usize>, bool) {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            // From the line's start: what was searched already is read
            // again, for its high bits.
            let (found, ascii) = simd::find_eol_ascii(avx2, &chunk[start..]);
            return (found.map(|p| start + p), ascii && found.is_some());
        }
        let _ = start;
        (self.find_long(&chunk[at..]).map(|p| at + p), false)
    }
}

/// The line splitter's state between chunks.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    finder: EolFinder,
    state: State,
    /// Bytes examined so far (debug builds only, for the linear-time tests):
    /// every input byte once, never more.
    #[cfg(debug_assertions)]
    scanned: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            finder: EolFinder::default(),
            state: State::Bom(0),
            #[cfg(debug_assertions)]
            scanned: 0,
        }
    }
}

impl Scanner {
    /// Back to the start of a new stream (a BOM is expected again).
    pub(crate) fn reset(&mut self) {
        self.state = State::Bom(0);
    }

    /// At the start of a line, with nothing pending (not even the LF of a
    /// split CRLF): the hot loop may run.
    #[inline(always)]
    pub(crate) fn at_line_start(&self) -> bool {
        self.state == State::LineStart
    }

    /// Inside a line whose first bytes are in the line buffer.
    #[inline(always)]
    pub(crate) fn in_line(&self) -> bool {
        self.state == State::Partial
    }

    /// Bytes examined so far (debug builds only).
    #[cfg(debug_assertions)]
    pub(crate) fn scanned(&self) -> u64 {
        self.scanned
    }

    /// True when bytes of an unfinished line are held (or being skipped).
    pub(crate) fn has_partial_line(&self) -> bool {
        matches!(
            self.state,
            State::Partial | State::Skipping | State::Bom(1..)
        )
    }

    #[inline(always)]
    fn count(&mut self, _n: usize) {
        #[cfg(debug_assertions)]
        {
            self.scanned += _n as u64;
        }
    }

    /// Consumes the line ending that starts at `chunk[end]` (CR, LF or
    /// CRLF) and returns the position after it. A CR that ends the chunk
    /// leaves the scanner in [`State::AfterCr`].
    #[inline(always)]
    fn line_end(&mut self, chunk: &[u8], end: usize) -> usize {
        let mut pos = end + 1;
        if chunk[end] == b'\r' {
            match chunk.get(pos) {
                Some(b'\n') => pos += 1,
                Some(_) => {}
                None => self.state = State::AfterCr,
            }
        }
        pos
    }

    /// From a line start, the next line inside `chunk[*pos..]`: its range,
    /// with `*pos` moved past its line ending. `None` when no line end is
    /// left; the caller then [stashes](Scanner::stash) the rest.
    #[inline(always)]
    pub(crate) fn next_in_chunk(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
    ) -> Option<(usize, usize)> {
        debug_assert!(self.state == State::LineStart || *pos == chunk.len());
        let i = self.finder.find(&chunk[*pos..])?;
        Some(self.take_line(chunk, pos, *pos + i))
    }

    /// [`Scanner::next_in_chunk`] with the hot loop's cursor.
    #[inline(always)]
    pub(crate) fn next_in_chunk_cached(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        c: &mut Blocks,
    ) -> Option<(usize, usize)> {
        debug_assert!(self.state == State::LineStart || *pos == chunk.len());
        let end = self.finder.find_cached(chunk, *pos, c)?;
        Some(self.take_line(chunk, pos, end))
    }

    /// The line from `*pos` to the line end found at `chunk[end]`: its
    /// range, with `*pos` moved past its line ending.
    #[inline(always)]
    fn take_line(&mut self, chunk: &[u8], pos: &mut usize, end: usize) -> (usize, usize) {
        let start = *pos;
        *pos = self.line_end(chunk, end);
        self.count(*pos - start);
        (start, end)
    }

    /// The rest of the chunk, `rest`, begins a line that goes on in the next
    /// chunk: keep it in `line` (state [`State::Partial`]), or skip it when
    /// it is already longer than `max` (state [`State::Skipping`], and
    /// `Err`). Nothing happens when `rest` is empty.
    pub(crate) fn stash<B: Buffer>(
        &mut self,
        rest: &[u8],
        line: &mut B,
        max: usize,
    ) -> Result<(), ()> {
        if rest.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(self.state, State::LineStart);
        self.count(rest.len());
        if rest.len() > max {
            self.state = State::Skipping;
            return Err(());
        }
        line.clear();
        let fits = line.try_extend(rest);
        // `max` never exceeds a fixed line buffer's capacity.
        debug_assert!(fits.is_ok());
        self.state = State::Partial;
        Ok(())
    }

    /// At the start of a chunk, brings the scanner to a line start: matches
    /// the BOM, swallows the LF of a split CRLF, completes a straddling line
    /// or skips the rest of an over-long one.
    ///
    /// Always inlined, with [`Scanner::finish_line`]: it runs once per
    /// chunk, and out of line its register saves alone cost ~35
    /// instructions a call. The compiler inlined it into the `Vec`-buffer
    /// decoder but not into the `BytesMut` one the `bytes` layer uses
    /// (callgrind, llm at 61 B chunks: 1,646 → 1,528 instructions per event
    /// there; `Bytes` path +10% in time).
    #[inline(always)]
    pub(crate) fn resume<B: Buffer>(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        line: &mut B,
        max: usize,
    ) -> Resume {
        loop {
            match self.state {
                State::LineStart => return Resume::LineStart,
                State::Bom(n) => {
                    if let Some(r) = self.bom(chunk, pos, n, line, max) {
                        return r;
                    }
                }
                State::AfterCr => {
                    let Some(&b) = chunk.get(*pos) else {
                        return Resume::NeedInput;
                    };
                    if b == b'\n' {
                        *pos += 1;
                        self.count(1);
                    }
                    self.state = State::LineStart;
                }
                State::Partial | State::Skipping => return self.finish_line(chunk, pos, line, max),
            }
        }
    }

    /// Matches BOM bytes from state `Bom(n)`. `None` when the state moved on
    /// and resuming should go on.
    fn bom<B: Buffer>(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        mut n: u8,
        line: &mut B,
        max: usize,
    ) -> Option<Resume> {
        while let Some(&b) = chunk.get(*pos) {
            if b != BOM[usize::from(n)] {
                // Not a BOM after all: the bytes that matched are the start
                // of the first line.
                let matched = &BOM[..usize::from(n)];
                self.state = State::LineStart;
                if self.stash(matched, line, max).is_err() {
                    return Some(Resume::TooLong);
                }
                return None;
            }
            *pos += 1;
            self.count(1);
            n += 1;
            if usize::from(n) == BOM.len() {
                self.state = State::LineStart;
                return None;
            }
        }
        self.state = State::Bom(n);
        Some(Resume::NeedInput)
    }

    /// Goes on with a line begun in an earlier chunk (held or skipped).
    #[inline(always)]
    fn finish_line<B: Buffer>(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        line: &mut B,
        max: usize,
    ) -> Resume {
        let start = *pos;
        let rest = &chunk[start..];
        let skipping = self.state == State::Skipping;
        let Some(i) = self.finder.find(rest) else {
            *pos = chunk.len();
            self.count(rest.len());
            if skipping {
                return Resume::NeedInput;
            }
            if line.as_bytes().len() + rest.len() > max {
                self.state = State::Skipping;
                return Resume::TooLong;
            }
            let fits = line.try_extend(rest);
            debug_assert!(fits.is_ok(), "max is within the line buffer's capacity");
            return Resume::NeedInput;
        };
        self.state = State::LineStart;
        *pos = self.line_end(chunk, start + i);
        self.count(*pos - start);
        if skipping {
            return match self.state {
                State::AfterCr => Resume::NeedInput,
                _ => Resume::LineStart,
            };
        }
        if line.as_bytes().len() + i > max {
            return Resume::TooLong;
        }
        let fits = line.try_extend(&rest[..i]);
        debug_assert!(fits.is_ok(), "max is within the line buffer's capacity");
        Resume::Line
    }

    /// Finds the next line in `chunk[*pos..]`, advancing `*pos` past what was
    /// used: the one-step path. Lines longer than `max` give
    /// [`Scan::TooLong`] exactly once each, whatever the chunking.
    #[inline]
    pub(crate) fn next<B: Buffer>(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        line: &mut B,
        max: usize,
    ) -> Scan {
        if self.state != State::LineStart {
            match self.resume(chunk, pos, line, max) {
                Resume::LineStart => {}
                Resume::Line => return Scan::Buffered,
                Resume::TooLong => return Scan::TooLong,
                Resume::NeedInput => return Scan::NeedInput,
            }
        }
        match self.next_in_chunk(chunk, pos) {
            Some((a, b)) if b - a > max => Scan::TooLong,
            Some((a, b)) => Scan::Chunk(a, b),
            None => {
                let rest = &chunk[*pos..];
                *pos = chunk.len();
                match self.stash(rest, line, max) {
                    Ok(()) => Scan::NeedInput,
                    Err(()) => Scan::TooLong,
                }
            }
        }
    }
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
                let got = s.next(chunk, &mut pos, &mut buf, max);
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
        check(&[b"a\r", b"", b"\nb\n"], 64, &[b"a", b"b"]);
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
        check(&[b"\xEF\xBB\n"], 64, &[b"\xEF\xBB"]);
    }

    #[test]
    fn partial_bom_longer_than_the_limit_is_skipped() {
        check(&[b"\xEF\xBBxyz\nk\n"], 1, &[b"<too long>", b"k"]);
    }

    #[test]
    fn straddling_line_is_joined() {
        check(&[b"ab", b"cd", b"e\nf\n"], 64, &[b"abcde", b"f"]);
    }

    #[test]
    fn straddling_line_ending_in_split_crlf() {
        check(&[b"ab", b"cd\r", b"\nf\n"], 64, &[b"abcd", b"f"]);
    }

    #[test]
    fn overlong_line_reported_once_then_skipped() {
        check(&[b"abcdef\nok\n"], 3, &[b"<too long>", b"ok"]);
        check(&[b"ab", b"cd", b"ef\nok\n"], 3, &[b"<too long>", b"ok"]);
        check(&[b"abc", b"d\nok\n"], 3, &[b"<too long>", b"ok"]);
        check(&[b"abcd", b"e\r", b"\nok\n"], 3, &[b"<too long>", b"ok"]);
    }

    #[test]
    fn find_matches_a_plain_search() {
        // Long enough to cover the blocks, the overlapping last block and
        // the hand-over to memchr past 64 bytes.
        const N: usize = 100;
        let finder = EolFinder::default();
        let mut hay = [b'x'; N];
        assert_eq!(finder.find(&hay), None);
        // Under Miri (CI runs this test there, for the SIMD code) a sample
        // around the block boundaries, else every case.
        let sample = |i: &usize| !cfg!(miri) || i % 16 < 2 || i % 16 == 15 || i % 13 == 0;
        for len in (0..N).filter(sample) {
            for at in (0..N).filter(sample) {
                for eol in [b'\n', b'\r'] {
                    hay = [b'x'; N];
                    hay[at] = eol;
                    // Bytes that trip naive zero-byte tricks.
                    hay[(at + 1) % N] = 0x0b;
                    hay[(at + 3) % N] = 0x8a;
                    let hay = &hay[..len];
                    let want = hay.iter().position(|&b| b == b'\n' || b == b'\r');
                    assert_eq!(finder.find(hay), want, "len {len} at {at}");
                    assert_eq!(finder.find_blocks(hay), want, "blocks: len {len} at {at}");
                    assert_eq!(finder.find_words(hay), want, "words: len {len} at {at}");
                }
            }
        }
    }

    /// The hot loop's walk with the block cursor finds every line end a
    /// plain search finds, in chunks of every length up to 300 bytes with
    /// line ends dense (several in a block), sparse (a block or two
    /// without one, then memchr) and at block edges.
    #[test]
    fn cursor_walk_finds_every_line_end() {
        const N: usize = 300;
        let finder = EolFinder::default();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let gaps: [usize; 6] = [1, 7, 63, 64, 65, 140];
        let lens = (0..=N).filter(|l| !cfg!(miri) || l % 29 == 0 || l % 64 < 2);
        for len in lens {
            for (g, &gap) in gaps.iter().enumerate() {
                let mut hay = [b'x'; N];
                let mut at = g;
                while at < len {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    hay[at] = if seed & 1 == 0 { b'\n' } else { b'\r' };
                    hay[(at + 1) % N] = 0x8d;
                    at += 1 + (seed >> 8) as usize % (2 * gap);
                }
                let hay = &hay[..len];
                let mut cursor = Blocks::default();
                let mut start = 0;
                loop {
                    let want = hay[start..].iter().position(|&b| b == b'\n' || b == b'\r');
                    let got = finder.find_cached(hay, start, &mut cursor);
                    assert_eq!(
                        got,
                        want.map(|p| start + p),
                        "len {len} gap {gap} from {start}"
                    );
                    match got {
                        Some(end) => start = end + 1,
                        None => break,
                    }
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
            while s.next(b, &mut pos, &mut buf, 64) != Scan::NeedInput {}
            assert_eq!(pos, 1);
        }
        assert_eq!(s.scanned, input.len() as u64);
    }
}
