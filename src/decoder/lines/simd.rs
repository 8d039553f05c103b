//! One of the crate's places with `unsafe` code (the others are the ASCII
//! scan in `utf8.rs` and the one call in `Event::data_str` that trusts
//! this module's ASCII mark): SSE2 compares that find CR and LF in 16
//! bytes at once, with the scalar twin they are tested and fuzzed against,
//! four of them side by side for a 64-byte block (the borrowed hot
//! loop's block cursor, `scan::Blocks`), and an AVX2 search of long lines
//! that finds the line end and whether the line is ASCII in one pass.
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
//! function. And `data_str` on a 64 KiB line read the line a second time
//! to validate it, after memchr had read it to find its end: a quarter of
//! the time of decoding and checking it. The fused search reads it once.
//!
//! Soundness rests on facts stated at each block: the SSE2 code is
//! compiled only where SSE2 is enabled at compile time (so every CPU it
//! runs on has it); the AVX2 code runs only with a proof that the CPU has
//! AVX2 (memchr's AVX2 searcher, which memchr makes only then); and every
//! load reads bytes of a slice it was handed, with no alignment
//! requirement. CI runs this module's tests under Miri (where the AVX2
//! search, never detected there, is skipped; the tests compare it with a
//! plain search wherever AVX2 is present).
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use crate::eol::find_bytewise;
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

/// The first CR or LF in `hay`, and whether every byte before it (all of
/// `hay` when it holds none) is ASCII: one pass, 64 bytes at a time with
/// AVX2, the high bits of the bytes passed gathered beside the line-end
/// compares. The borrowed hot loop searches long lines with it, so that
/// [`Event::data_str`](crate::Event::data_str) need not read a long line
/// a second time to validate it (see `scan::Blocks::ascii`).
///
/// `avx2` is the proof that the CPU has AVX2: memchr makes its AVX2
/// searcher only then.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn find_eol_ascii(
    avx2: &memchr::arch::x86_64::avx2::memchr::Two,
    hay: &[u8],
) -> (Option<usize>, bool) {
    let _ = avx2;
    // SAFETY: `Two::new` returns `None` unless the CPU has AVX2.
    unsafe { find_eol_ascii_avx2(hay) }
}

/// [`find_eol_ascii`]'s body.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn find_eol_ascii_avx2(hay: &[u8]) -> (Option<usize>, bool) {
    use core::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_set1_epi8, _mm256_setzero_si256, _mm256_testz_si256,
    };
    let mut blocks = hay.chunks_exact(64);
    let mut at = 0;
    // SAFETY: the caller guarantees AVX2. Each load reads 32 of the 64
    // bytes of `block` (at offset 0 or 32), with no alignment requirement;
    // everything else computes on registers.
    let high = unsafe {
        let (lf, cr) = (_mm256_set1_epi8(0x0A), _mm256_set1_epi8(0x0D));
        let mut high = _mm256_setzero_si256();
        for block in &mut blocks {
            let a = _mm256_loadu_si256(block.as_ptr().cast::<__m256i>());
            let b = _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>());
            let ea = _mm256_or_si256(_mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(a, cr));
            let eb = _mm256_or_si256(_mm256_cmpeq_epi8(b, lf), _mm256_cmpeq_epi8(b, cr));
            let eol = _mm256_or_si256(ea, eb);
            if _mm256_testz_si256(eol, eol) == 0 {
                // `pmovmskb` gives 32 bits: reinterpreted, not sign-extended.
                let bits = |v| u64::from(_mm256_movemask_epi8(v) as u32);
                let mask = bits(ea) | bits(eb) << 32;
                let i = mask.trailing_zeros();
                // High bits of the block's bytes before the line end.
                let before = (bits(a) | bits(b) << 32) & ((1u64 << i) - 1);
                let ascii = _mm256_movemask_epi8(high) == 0 && before == 0;
                return (Some(at + i as usize), ascii);
            }
            high = _mm256_or_si256(high, _mm256_or_si256(a, b));
            at += 64;
        }
        _mm256_movemask_epi8(high)
    };
    let rest = blocks.remainder();
    match find_bytewise(rest) {
        Some(i) => (Some(at + i), high == 0 && rest[..i].is_ascii()),
        None => (None, high == 0 && rest.is_ascii()),
    }
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

    /// The fused AVX2 search against a plain one: line ends and one
    /// non-ASCII byte at every position of haystacks of every length up
    /// to 200 (blocks, the tail, and both halves of a block).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fused_search_matches_a_plain_one() {
        let Some(avx2) = memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r') else {
            return;
        };
        let plain = |h: &[u8]| {
            let end = h.iter().position(|&b| is_eol(b));
            (end, h[..end.unwrap_or(h.len())].is_ascii())
        };
        for len in 0..200 {
            let mut buf = [b'x'; 200];
            let hay = &mut buf[..len];
            assert_eq!(find_eol_ascii(&avx2, hay), (None, true));
            for eol in [None, Some(b'\n'), Some(b'\r')] {
                for at in 0..len {
                    for high in [None, Some(0x80u8), Some(0xff)] {
                        for hi_at in [0, at.saturating_sub(1), at, at + 1, len - 1] {
                            hay.fill(b'x');
                            if let Some(h) = high {
                                hay[hi_at.min(len - 1)] = h;
                            }
                            if let Some(e) = eol {
                                hay[at] = e;
                            }
                            let got = find_eol_ascii(&avx2, hay);
                            assert_eq!(got, plain(hay), "{len} {at} {eol:?} {high:?} {hi_at}");
                        }
                    }
                }
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
