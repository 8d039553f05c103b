//! Tiny limits: never a panic, errors exactly where the limited model has
//! them, and recovery at the next blank line.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use ssewire::Config;

fuzz_target!(|input: &[u8]| {
    let [max_line, max_data, sizes @ ..] = input else {
        return;
    };
    let n = sizes
        .first()
        .map_or(0, |b| usize::from(b % 6))
        .min(sizes.len());
    let (sizes, stream) = sizes.split_at(n);
    let (max_line, max_data) = (usize::from(max_line % 32), usize::from(max_data % 48));
    let chunks = common::chunk(stream, sizes);
    let mut config = Config::default();
    config.max_line_len(max_line).max_data_len(max_data);
    let (out, errs) = common::run(&chunks, &config);
    let (want, want_errs) = common::model::decode_limited(stream, max_line, max_data);
    assert_eq!(errs.len(), want_errs);
    assert_eq!(out, want);
});
