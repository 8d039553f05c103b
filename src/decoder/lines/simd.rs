//! One of the crate's two pieces of `unsafe` code (the other is the ASCII
//! scan in `utf8.rs`): SSE2 compares that find CR and LF in 16
//! bytes at once, with the scalar twin they are tested and fuzzed against,
//! and four of them side by side for a 64-byte block (the borrowed hot
//! loop's block cursor, `scan::Blocks`).
//!
//! Why: a search near the end of a chunk (at 61-byte chunks, every search)
//! spent most of its time in the set-up of a `memchr2` call. Checking the
//! at most 64 bytes left 16 at a time, with no call, made the `Bytes` path
//! 11-12% faster on llm and crlf at 61-byte chunks and the borrowed path
//! 11-18% faster on llm and anthropic there (A/B over 5 interleaved rounds;
//! see `benches/README.md`). No safe route gave it: memchr has no
//! block-mask API, a 128-bit word-at-a-time version of the same loop was
//! slower than memchr, LLVM does not turn a scalar loop into `pmovmskb`, and
//! intrinsics need `unsafe` to be called outside a `#[target_feature]`
//! function.
//!
//! Soundness rests on two facts, stated at the block: the code is compiled
//! only where SSE2 is enabled at compile time (so every CPU it runs on has
//! it), and the one load reads the 16 bytes of a `&[u8; 16]`, which needs
//! no alignment. CI runs this module's tests under Miri.
#![allow(unsafe_code)]

use crate::eol::is_eol;

/// Bit `i` set when `block[i]` is CR or LF.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn eol_mask16(block: &[u8; 16]) -> u32 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    const LF: i8 = 0x0A;
    const CR: i8 = 0x0D;
    // SAFETY: this function exists only when SSE2 is enabled at compile
    // time (the `cfg` above; it is part of the x86_64 baseline), so the
    // instructions exist wherever it runs. `_mm_loadu_si128` reads 16 bytes
    // with no alignment requirement, and `block` is exactly 16 readable
    // bytes. The other intrinsics only compute on registers.
    let mask = unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let eol = _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(LF)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(CR)),
        );
        _mm_movemask_epi8(eol)
    };
    // `pmovmskb` sets only the low 16 bits: never negative.
    mask as u32
}

/// Bit `i` set when `block[i]` is CR or LF, for 64 bytes: four
/// [`eol_mask16`]s side by side. (The fallbacks never run: 64 bytes split
/// into four 16s.)
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn eol_mask64(block: &[u8; 64]) -> u64 {
    let (a, rest) = block.split_first_chunk::<16>().unwrap_or((&[0; 16], &[]));
    let (b, rest) = rest.split_first_chunk::<16>().unwrap_or((&[0; 16], &[]));
    let (c, rest) = rest.split_first_chunk::<16>().unwrap_or((&[0; 16], &[]));
    let d = rest.first_chunk::<16>().unwrap_or(&[0; 16]);
    u64::from(eol_mask16(a))
        | u64::from(eol_mask16(b)) << 16
        | u64::from(eol_mask16(c)) << 32
        | u64::from(eol_mask16(d)) << 48
}

/// [`eol_mask16`] without SIMD: the twin it is checked against, and the
/// mask on targets without SSE2.
#[cfg_attr(
    all(
        target_arch = "x86_64",
        target_feature = "sse2",
        not(any(test, fuzzing))
    ),
    allow(dead_code)
)]
#[inline]
pub(crate) fn eol_mask16_scalar(block: &[u8; 16]) -> u32 {
    block
        .iter()
        .enumerate()
        .filter(|&(_, &b)| is_eol(b))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// [`eol_mask16`] without SSE2.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
pub(crate) fn eol_mask16(block: &[u8; 16]) -> u32 {
    eol_mask16_scalar(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position, alone and beside CR and LF.
    /// (Under Miri, where every value would take minutes, a sample that
    /// still covers both neighbours of LF and CR and the sign bit.)
    #[test]
    fn mask_matches_the_scalar_twin_for_every_byte_at_every_position() {
        const SAMPLE: [u8; 12] = [
            0, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x7f, 0x80, 0x8a, 0x8d, 0xff,
        ];
        for fill in [0u8, b'x', b'\n', b'\r', 0x8a, 0xff] {
            for at in 0..16 {
                for b in (0..=255u8).filter(|b| !cfg!(miri) || SAMPLE.contains(b)) {
                    let mut block = [fill; 16];
                    block[at] = b;
                    assert_eq!(eol_mask16(&block), eol_mask16_scalar(&block), "{block:?}");
                }
            }
        }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn mask64_is_the_four_masks_of_its_blocks() {
        let mut block = [b'x'; 64];
        for at in (0..64).filter(|i| !cfg!(miri) || i % 5 == 0 || i % 16 == 15) {
            for eol in [b'\n', b'\r'] {
                block[at] = eol;
                block[63 - at] = b'\n';
                let want = block
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| is_eol(b))
                    .fold(0u64, |mask, (i, _)| mask | 1 << i);
                assert_eq!(eol_mask64(&block), want, "{at}");
                block = [b'x'; 64];
            }
        }
    }

    #[test]
    fn mask_marks_exactly_the_line_ends() {
        let block = *b"a\nb\rc\r\nd\n\n\rwxyz\r";
        let want = 0b1000_0111_0110_1010;
        assert_eq!(eol_mask16(&block), want);
        assert_eq!(eol_mask16_scalar(&block), want);
    }
}
