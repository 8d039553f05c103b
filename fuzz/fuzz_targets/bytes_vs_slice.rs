//! The `Bytes` path (the iterator, `feed_all`, lent slices, or a mix)
//! yields what the slice path yields, and its raw frames put back together
//! give the input byte for byte.
#![no_main]

mod common;

use bytes::Bytes;
use common::Out;
use libfuzzer_sys::fuzz_target;
use ssewire::bytes::{BytesDecoder, BytesItem};
use ssewire::Config;

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let k = usize::from(n % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let chunks = common::chunk(stream, sizes);
    let mut config = Config::default();
    config.comments(n & 0x80 != 0);
    if n & 0x40 != 0 {
        config
            .max_line_len(usize::from(n % 23))
            .max_data_len(usize::from(n % 29));
    }
    let (want, want_errs) = common::run(&chunks, &config);

    // Bits 3-4: the iterator, `feed_all`, even chunks pushed and left
    // queued while odd ones go to `feed_all`, or (raw frames off) chunks
    // lent with `push_slice`, some left queued, between pushed ones.
    let mode = (n >> 3) & 3;
    let mut raw_config = config.clone();
    if mode != 3 {
        raw_config.raw_frames(usize::MAX);
    }
    let mut dec = BytesDecoder::with_config(&raw_config);
    let mut out = Vec::new();
    let mut errs = Vec::new();
    let mut raw = Vec::new();
    let mut dropped = false;
    let mut take = |item| match item {
        Ok(BytesItem::Event(ev)) => {
            if mode != 3 {
                raw.extend_from_slice(ev.raw().expect("raw frame"));
            }
            let l = common::lossy;
            out.push(Out::Event(
                l(ev.event_type()),
                l(ev.data()),
                l(ev.last_event_id()),
            ));
        }
        Ok(BytesItem::Blank { raw: r }) => match r {
            Some(r) => raw.extend_from_slice(&r),
            None => dropped = true,
        },
        Ok(BytesItem::Retry(d)) => out.push(Out::Retry(common::millis(d))),
        Ok(BytesItem::Trailing(t)) => raw.extend_from_slice(&t),
        Ok(BytesItem::Comment(c)) => out.push(Out::Comment(common::lossy(&c))),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => errs.push(e),
    };
    for (i, c) in chunks.iter().enumerate() {
        let shared = || Bytes::copy_from_slice(c);
        match mode {
            0 => {
                dec.push(shared());
                dec.by_ref().for_each(&mut take);
            }
            2 if i % 2 == 0 => dec.push(shared()),
            3 if i % 3 == 2 => dec.push(shared()),
            3 => {
                dec.push_slice(c);
                if i % 3 == 0 {
                    dec.by_ref().for_each(&mut take);
                }
            }
            _ => dec.feed_all(&shared(), &mut take),
        }
    }
    let _ = dec.finish();
    dec.by_ref().for_each(&mut take);
    assert_eq!(out, want);
    assert_eq!(errs, want_errs);
    if want_errs.is_empty() && mode != 3 {
        assert!(!dropped);
        assert_eq!(raw, stream);
    }
});
