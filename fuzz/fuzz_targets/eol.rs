//! The line finder against a plain search, and the SIMD compare mask
//! against its scalar twin (the crate's only `unsafe` code): every
//! variant, every start offset into the input, and every 16-byte window;
//! and the borrowed hot loop's walk from line end to line end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssewire::fuzz_eol;

fuzz_target!(|hay: &[u8]| {
    for start in 0..hay.len().min(80) {
        let hay = &hay[start..];
        let want = hay.iter().position(|&b| b == b'\n' || b == b'\r');
        assert_eq!(fuzz_eol::find(hay), want);
        assert_eq!(fuzz_eol::find_blocks(hay), want);
        assert_eq!(fuzz_eol::find_words(hay), want);
    }
    for start in 0..hay.len().min(8) {
        let want: Vec<usize> = (start..hay.len())
            .filter(|&i| hay[i] == b'\n' || hay[i] == b'\r')
            .collect();
        let mut got = Vec::new();
        fuzz_eol::walk(hay, start, &mut got);
        assert_eq!(got, want);
    }
    for block in hay.windows(16) {
        let block: &[u8; 16] = block.try_into().unwrap();
        assert_eq!(fuzz_eol::mask16(block), fuzz_eol::mask16_scalar(block));
    }
});
