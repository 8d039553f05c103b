//! Any stream under any chunking decodes exactly as the reference model.
//! Leading bytes choose the chunk sizes.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use ssewire::Config;

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(n);
    let chunks = common::chunk(stream, sizes);
    let comments = n % 2 == 1;
    let mut config = Config::default();
    config.comments(comments);
    let (out, errs) = common::run(&chunks, &config);
    assert!(errs.is_empty());
    assert_eq!(
        out,
        common::model::decode(stream, comments),
        "chunks {chunks:?}"
    );
});
