//! The raw bytes of the block being decoded: the one frame buffer behind
//! the `Bytes` layer's raw frames ([`Config::raw_frames`]) and the proxy
//! bodies' blocks (which `sse-cat --raw` reads through
//! [`BytesEvent::raw`](super::BytesEvent::raw)).
//!
//! [`Config::raw_frames`]: crate::Config::raw_frames

use bytes::{Buf, Bytes, BytesMut};

/// A block's bytes that arrived in chunks before the one it ends in, kept
/// up to `max` bytes. A block that a decoder limit dropped, or that went
/// over `max`, keeps nothing (and so holds no memory) until it ends.
#[derive(Debug)]
pub(crate) struct Frame {
    held: BytesMut,
    /// A decoder limit dropped the current block.
    dropped: bool,
    /// The current block went over `max`.
    over: bool,
    max: usize,
}

/// How a block ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Its bytes are the held ones followed by its part of the last chunk.
    Kept,
    /// A decoder limit dropped it: nothing was kept.
    Dropped,
    /// It was longer than the bound: nothing was kept.
    Over,
}

/// Held bytes are allocated at least this much at a time: room for the
/// next few straddling blocks too, each split off it when taken.
const BLOCK: usize = 4 * 1024;

/// A held buffer above this capacity is given back when it is emptied.
const MAX_IDLE: usize = 16 * 1024;

impl Frame {
    /// Frames of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Frame {
            held: BytesMut::new(),
            dropped: false,
            over: false,
            max,
        }
    }

    /// The bound on a frame's length.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// The current block's bytes from earlier chunks.
    #[cfg_attr(not(feature = "http-body"), allow(dead_code))] // the proxy bodies
    pub(crate) fn held(&self) -> &[u8] {
        &self.held
    }

    /// Nothing was lost of the current block so far.
    pub(crate) fn is_kept(&self) -> bool {
        !self.dropped && !self.over
    }

    /// Leaves out the first `n` held bytes (a BOM not to be forwarded).
    #[cfg_attr(not(feature = "http-body"), allow(dead_code))] // the proxy bodies
    pub(crate) fn skip_held(&mut self, n: usize) {
        self.held.advance(n.min(self.held.len()));
    }

    /// The chunk ended inside the block: keeps `part`, the chunk's rest,
    /// unless the block is lost or this takes it over the bound.
    pub(crate) fn keep(&mut self, part: &[u8]) {
        if part.is_empty() || !self.is_kept() {
            return;
        }
        if self.held.len() + part.len() > self.max {
            self.over = true;
            self.held = BytesMut::new();
            return;
        }
        self.append(part);
    }

    fn append(&mut self, part: &[u8]) {
        let spare = self.held.capacity() - self.held.len();
        if spare < part.len() && self.held.len() + part.len() <= BLOCK {
            self.held.reserve(BLOCK);
        }
        // Larger frames grow as the decoder's buffers do (not doubling).
        crate::buffer::extend_bytes(&mut self.held, part);
    }

    /// A decoder limit dropped the current block: nothing of it is kept.
    pub(crate) fn drop_block(&mut self) {
        self.dropped = true;
        self.held = BytesMut::new();
    }

    /// The block ends at `chunk[..end]`, its part of `chunk` starting at
    /// `start`. For the bound, the LF of a final CRLF is not counted, so
    /// that a block whose CR and LF arrive in different chunks is judged
    /// as the same block arriving whole. After [`Ended::Kept`] the held
    /// bytes are still there (to be taken or cleared); otherwise they are
    /// gone.
    pub(crate) fn end(&mut self, chunk: &[u8], start: usize, end: usize) -> Ended {
        let dropped = core::mem::take(&mut self.dropped);
        let over = core::mem::take(&mut self.over)
            || (self.held.len() + (end - start) > self.max
                && self.len_for_bound(chunk, start, end) > self.max);
        if dropped || over {
            self.held = BytesMut::new();
            return if dropped { Ended::Dropped } else { Ended::Over };
        }
        Ended::Kept
    }

    /// The length of the block ending at `chunk[..end]` without the LF of
    /// a final CRLF.
    fn len_for_bound(&self, chunk: &[u8], start: usize, end: usize) -> usize {
        let len = self.held.len() + (end - start);
        let before_lf = match end.checked_sub(1) {
            Some(last) if last > start => chunk.get(last - 1).copied(),
            _ => self.held.last().copied(),
        };
        let final_crlf = end > start && chunk[end - 1] == b'\n' && before_lf == Some(b'\r');
        len - usize::from(final_crlf)
    }

    /// After [`Ended::Kept`]: the whole block, `chunk[start..end]` after
    /// the held bytes, as one `Bytes` (shared with `chunk` when nothing was
    /// held).
    pub(crate) fn take_whole(&mut self, chunk: &Bytes, start: usize, end: usize) -> Bytes {
        if self.held.is_empty() {
            return chunk.slice(start..end);
        }
        self.append(&chunk[start..end]);
        self.take_held()
    }

    /// The held bytes, taken; a large buffer is given back.
    pub(crate) fn take_held(&mut self) -> Bytes {
        if self.held.capacity() > MAX_IDLE {
            core::mem::take(&mut self.held).freeze()
        } else {
            self.held.split().freeze()
        }
    }

    /// Forgets the held bytes (a block not forwarded as it came); a large
    /// buffer is given back.
    #[cfg_attr(not(feature = "http-body"), allow(dead_code))] // the proxy bodies
    pub(crate) fn clear(&mut self) {
        if self.held.capacity() > MAX_IDLE {
            self.held = BytesMut::new();
        } else {
            self.held.clear();
        }
    }

    /// The stream ended inside a block: its bytes so far, unless it was
    /// lost or empty. Starts afresh.
    pub(crate) fn take_rest(&mut self) -> Option<Bytes> {
        let kept = self.is_kept();
        self.dropped = false;
        self.over = false;
        let rest = self.take_held();
        (kept && !rest.is_empty()).then_some(rest)
    }

    /// Starts afresh: a new stream (what was held is dropped).
    #[cfg_attr(not(feature = "http-body"), allow(dead_code))] // the proxy bodies
    pub(crate) fn reset(&mut self) {
        self.held = BytesMut::new();
        self.dropped = false;
        self.over = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], size: usize, max: usize) -> alloc::vec::Vec<Result<Bytes, Ended>> {
        // Blocks end after each "\n\n" (or "\r\n\r\n"): enough of a decoder
        // to drive the buffer through every chunking.
        let input = Bytes::copy_from_slice(input);
        let mut f = Frame::new(max);
        let mut out = alloc::vec::Vec::new();
        let mut at = 0;
        while at < input.len() {
            let chunk = input.slice(at..(at + size).min(input.len()));
            let mut start = 0;
            let mut i = 0;
            while i < chunk.len() {
                let pos = at + i;
                let ends = input[..=pos].ends_with(b"\n\n") || input[..=pos].ends_with(b"\r\n\r\n");
                if ends {
                    out.push(match f.end(&chunk, start, i + 1) {
                        Ended::Kept => Ok(f.take_whole(&chunk, start, i + 1)),
                        other => Err(other),
                    });
                    start = i + 1;
                }
                i += 1;
            }
            f.keep(&chunk[start..]);
            at += chunk.len();
        }
        out
    }

    #[test]
    fn frames_are_the_same_whatever_the_chunking() {
        let input = b"data: a\n\nid: 12345\r\n\r\ndata: bbbbbbbb\n\n";
        for size in 1..=input.len() {
            let got = frames(input, size, 64);
            assert_eq!(
                got,
                [
                    Ok(Bytes::from_static(b"data: a\n\n")),
                    Ok(Bytes::from_static(b"id: 12345\r\n\r\n")),
                    Ok(Bytes::from_static(b"data: bbbbbbbb\n\n")),
                ],
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn the_bound_ignores_a_final_crlf_lf_and_nothing_else() {
        // 13 bytes, 12 without the final LF.
        let block = b"id: 12345\r\n\r\n";
        for size in 1..=block.len() {
            assert_eq!(
                frames(block, size, 12),
                [Ok(Bytes::from_static(block))],
                "{size}"
            );
            assert_eq!(frames(block, size, 11), [Err(Ended::Over)], "{size}");
        }
        let block = b"data: abcd\n\n"; // 12 bytes
        for size in 1..=block.len() {
            assert_eq!(frames(block, size, 11), [Err(Ended::Over)], "{size}");
        }
    }

    #[test]
    fn a_dropped_block_keeps_nothing_and_the_next_one_is_whole() {
        let mut f = Frame::new(1 << 20);
        f.keep(b"data: start of a block a limit drops");
        f.drop_block();
        f.keep(b" more of it");
        assert!(f.held().is_empty());
        assert_eq!(f.end(b"\n\n", 0, 2), Ended::Dropped);
        f.keep(b"data: next");
        let chunk = Bytes::from_static(b"\n\n");
        assert_eq!(f.end(&chunk, 0, 2), Ended::Kept);
        assert_eq!(f.take_whole(&chunk, 0, 2), "data: next\n\n");
    }

    #[test]
    fn large_held_buffers_are_given_back() {
        let mut f = Frame::new(1 << 20);
        f.keep(&[b'x'; 100 << 10]);
        let chunk = Bytes::from_static(b"\n\n");
        assert_eq!(f.end(&chunk, 0, 2), Ended::Kept);
        assert_eq!(f.take_whole(&chunk, 0, 2).len(), (100 << 10) + 2);
        assert!(f.held.capacity() <= MAX_IDLE);
        f.keep(&[b'y'; 100 << 10]);
        f.clear();
        assert!(f.held.capacity() <= MAX_IDLE);
        f.keep(b"tail");
        assert_eq!(f.take_rest().as_deref(), Some(&b"tail"[..]));
    }
}
