//! The `bytes` path: same events as the slice path for any chunking, memory
//! shared with the input, raw frames that reproduce the input exactly, and
//! the same limits.
#![cfg(feature = "bytes")]

mod common;

use bytes::Bytes;
use common::{bytes_path, model, run_config, split_at};
use proptest::prelude::*;
use ssewire::bytes::{BytesDecoder, BytesItem};
use ssewire::{Config, DecodeError};

fn items(dec: &mut BytesDecoder) -> Vec<Result<BytesItem, DecodeError>> {
    std::iter::from_fn(|| dec.next()).collect()
}

#[test]
fn single_chunk_event_shares_the_chunk() {
    // Data of 1 KiB or more is shared with the chunk, and so is the raw
    // frame; a type and an id too long to be held inline but short are
    // copied (a retained short field must not pin its chunk's allocation).
    let payload = "p".repeat(1024);
    let chunk = Bytes::from(format!(
        "event: tick-tick-tick-tick-tick\nid: 0123456789-0123456789-0123\ndata: {payload}\n\n"
    ));
    let mut dec = BytesDecoder::with_config(Config::default().raw_frames(4096));
    dec.push(chunk.clone());
    let got = items(&mut dec);
    let [Ok(BytesItem::Event(ev))] = &got[..] else {
        panic!("{got:?}")
    };
    let range = chunk.as_ptr_range();
    let (ty, _, id, _) = ev.clone().into_parts();
    for part in [ev.data(), ev.raw().unwrap()] {
        assert!(
            range.contains(&part.as_ptr()),
            "{part:?} is not inside the chunk"
        );
    }
    for part in [&ty, &id] {
        assert!(!range.contains(&part.as_ptr()), "{part:?} is shared");
    }
    assert_eq!(
        (&ty[..], &id[..]),
        (
            &b"tick-tick-tick-tick-tick"[..],
            &b"0123456789-0123456789-0123"[..]
        )
    );
    assert_eq!(ev.data(), payload.as_bytes());
    assert_eq!(ev.raw().unwrap().as_ptr(), chunk.as_ptr());
    assert_eq!(ev.raw().unwrap().len(), chunk.len());
}

#[test]
fn straddling_event_is_copied_once_into_one_bytes() {
    let mut dec = BytesDecoder::with_config(Config::default().raw_frames(1024));
    dec.push(Bytes::from_static(b"data: pay"));
    assert!(items(&mut dec).is_empty());
    dec.push(Bytes::from_static(b"load\r"));
    assert!(items(&mut dec).is_empty());
    dec.push(Bytes::from_static(b"\r\ndata: x\n\r"));
    let got = items(&mut dec);
    let [Ok(BytesItem::Event(a)), Ok(BytesItem::Event(b))] = &got[..] else {
        panic!("{got:?}")
    };
    assert_eq!(a.data(), b"payload");
    // "\r" ended the data line; the next chunk's "\r\n" is the blank line.
    assert_eq!(&a.raw().unwrap()[..], b"data: payload\r\r\n");
    // A CR at the end of a chunk ends its frame at once ...
    assert_eq!(&b.raw().unwrap()[..], b"data: x\n\r");
    dec.push(Bytes::from_static(b"\ndata: y\n\n"));
    let got = items(&mut dec);
    let [Ok(BytesItem::Event(c))] = &got[..] else {
        panic!("{got:?}")
    };
    // ... so the LF that completes that CRLF starts the next frame.
    assert_eq!(&c.raw().unwrap()[..], b"\ndata: y\n\n");
    assert_eq!(c.data(), b"y");
}

/// Large data that straddles chunks is handed out of the decoder's buffer
/// (no second copy). Whatever the chunking and whether the data ends in the
/// line buffer (blank line in the same chunk) or the data buffer (joined, or
/// carried to a later chunk), events are right, and events kept alive stay
/// intact while the decoder goes on reusing its buffers.
#[test]
fn large_straddling_data_is_right_and_stays_intact_when_kept() {
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..40u8 {
        let fill = b'a' + i % 26;
        let len = 1000 + usize::from(i) * 97;
        let line = vec![fill; len];
        input.extend_from_slice(b"data: ");
        input.extend_from_slice(&line);
        input.push(b'\n');
        let mut data = line.clone();
        if i % 3 == 1 {
            // A second line joins the first in the data buffer.
            input.extend_from_slice(b"data:");
            input.extend_from_slice(&line[..len / 2]);
            input.push(b'\n');
            data.push(b'\n');
            data.extend_from_slice(&line[..len / 2]);
        }
        input.push(b'\n');
        want.push(data);
    }
    let input = Bytes::from(input);
    for size in [1, 7, 61, 1000, 4096, 70_000, input.len()] {
        let chunks: Vec<Bytes> = (0..input.len())
            .step_by(size)
            .map(|i| input.slice(i..(i + size).min(input.len())))
            .collect();
        // Kept, through `feed_all` and through the iterator.
        let mut kept = Vec::new();
        let mut dec = BytesDecoder::new();
        for c in &chunks {
            dec.feed_all(c, |item| match item {
                Ok(BytesItem::Event(ev)) => kept.push(ev.data_bytes()),
                other => panic!("{other:?}"),
            });
        }
        assert_eq!(kept, want, "feed_all, chunk {size}");
        let mut kept = Vec::new();
        let mut dec = BytesDecoder::new();
        for c in &chunks {
            dec.push(c.clone());
            for item in dec.by_ref() {
                let Ok(BytesItem::Event(ev)) = item else {
                    panic!("{item:?}")
                };
                kept.push(ev.data_bytes());
            }
        }
        assert_eq!(kept, want, "iterator, chunk {size}");
        // And dropped at once (the buffers take their memory up again).
        let mut dec = BytesDecoder::new();
        let mut n = 0;
        for c in &chunks {
            dec.feed_all(c, |item| {
                let Ok(BytesItem::Event(ev)) = item else {
                    panic!("{item:?}")
                };
                assert_eq!(ev.data(), &want[n], "chunk {size}, event {n}");
                n += 1;
            });
        }
        assert_eq!(n, want.len());
    }
}

#[test]
fn trailing_unterminated_event_comes_back_at_finish() {
    let mut dec = BytesDecoder::with_config(Config::default().raw_frames(1024));
    dec.push(Bytes::from_static(b"data: a\n\ndata: cut"));
    let got = items(&mut dec);
    assert_eq!(got.len(), 1);
    let end = dec.finish();
    assert!(end.partial_line);
    let rest = items(&mut dec);
    let [Ok(BytesItem::Trailing(t))] = &rest[..] else {
        panic!("{rest:?}")
    };
    assert_eq!(&t[..], b"data: cut");
}

#[test]
fn frame_limit_drops_raw_but_not_the_event_whatever_the_chunking() {
    let input = b"data: aaaaaaaaaaaaaaaa\n\ndata: b\n\n";
    for chunks in common::chunkings(input) {
        let (out, errs, raw) = bytes_path::run(&chunks, &Config::default(), 16);
        assert_eq!(out.len(), 2, "{chunks:?}");
        assert_eq!(errs, [DecodeError::FrameTooLong { max: 16 }], "{chunks:?}");
        assert_eq!(raw, b"data: b\n\n", "{chunks:?}");
    }
}

/// A block one byte over the frame limit only by the LF of its final
/// CRLF is within it, whether that LF comes with its CR or in the next
/// chunk; one byte more is over it in every chunking.
#[test]
fn the_frame_limit_does_not_count_a_final_crlf_lf_in_any_chunking() {
    let input = b"data: abcd\r\n\r\ndata: b\n\n";
    let block = b"data: abcd\r\n\r\n".len();
    for chunks in common::chunkings(input) {
        let (out, errs, raw) = bytes_path::run(&chunks, &Config::default(), block - 1);
        assert_eq!(out.len(), 2, "{chunks:?}");
        assert!(errs.is_empty(), "{chunks:?}: {errs:?}");
        assert_eq!(raw, input, "{chunks:?}");
        let (_, errs, _) = bytes_path::run(&chunks, &Config::default(), block - 2);
        assert_eq!(
            errs,
            [DecodeError::FrameTooLong { max: block - 2 }],
            "{chunks:?}"
        );
    }
}

#[test]
fn limit_error_drops_the_block_and_resyncs() {
    let mut config = Config::default();
    config.max_line_len(8);
    let input = b": ok\n\ndata: too long line\ndata: x\n\ndata: y\n\n";
    for chunks in common::chunkings(input) {
        let (out, errs, raw) = bytes_path::run(&chunks, &config, usize::MAX);
        assert_eq!(out, [common::ev("message", "y", "")]);
        assert_eq!(errs, [DecodeError::LineTooLong { max: 8 }]);
        assert_eq!(raw, b": ok\n\ndata: y\n\n", "{chunks:?}");
    }
}

#[test]
fn comments_share_memory_and_blank_lines_can_be_reported() {
    let mut config = Config::default();
    config.comments(true).blank_lines(true);
    let chunk = Bytes::from(format!(": {}\n\n", "p".repeat(1024)));
    let mut dec = BytesDecoder::with_config(&config);
    dec.push(chunk.clone());
    let got = items(&mut dec);
    let [Ok(BytesItem::Comment(c)), Ok(BytesItem::Blank { raw: None })] = &got[..] else {
        panic!("{got:?}")
    };
    // 1 KiB or more: shared with the chunk.
    assert_eq!(c.as_ptr(), chunk[2..].as_ptr());
}

#[test]
fn rewrite_reencodes_with_the_same_meaning() {
    use ssewire::encode::Encode;
    let input = b"id: 1\nevent: a\ndata: x\ndata: y\n\ndata: z\n\n";
    let mut dec = BytesDecoder::new();
    dec.push(Bytes::from_static(input));
    let mut out = Vec::new();
    for item in items(&mut dec) {
        if let Ok(BytesItem::Event(ev)) = item {
            ev.to_encode().encode_vec(&mut out);
        }
    }
    assert_eq!(model::decode(&out, false), model::decode(input, false));
}

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let tricky: Vec<&'static [u8]> = vec![
        b"data",
        b"data: ",
        b"event: ",
        b"id: ",
        b"retry: 5",
        b":",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xEF",
        b"\xFF",
        b"x",
        b"yy",
    ];
    prop_oneof![
        16 => proptest::sample::select(tricky).prop_map(<[u8]>::to_vec),
        4 => proptest::collection::vec(any::<u8>(), 0..6),
        // Long enough for the `bytes` path to take large data out of the
        // decoder's buffer when it straddles chunks.
        1 => Just([&b"data: "[..], &[b'L'; 1100]].concat()),
        1 => Just(vec![b'L'; 600]),
    ]
}

fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    proptest::collection::vec(fragment(), 0..40)
        .prop_map(|f| f.concat())
        .prop_flat_map(|s| {
            let n = s.len();
            (
                Just(s),
                proptest::collection::vec(0..=n, 0..8).prop_map(|mut v| {
                    v.sort_unstable();
                    v
                }),
            )
        })
}

proptest! {
    #[test]
    fn bytes_path_equals_slice_path((input, cuts) in stream_and_cuts(), comments in any::<bool>()) {
        let chunks = split_at(&input, &cuts);
        let mut config = Config::default();
        config.comments(comments);
        let (slice_out, _) = run_config(&chunks, &config);
        let (bytes_out, errs, raw) = bytes_path::run(&chunks, &config, usize::MAX);
        prop_assert!(errs.is_empty());
        prop_assert_eq!(bytes_out, slice_out);
        prop_assert_eq!(raw, input);
    }

    #[test]
    fn bytes_path_limits_equal_slice_path((input, cuts) in stream_and_cuts(), max_line in 0usize..20, max_data in 0usize..24) {
        let chunks = split_at(&input, &cuts);
        let mut config = Config::default();
        config.max_line_len(max_line).max_data_len(max_data);
        let (slice_out, slice_errs) = run_config(&chunks, &config);
        let (bytes_out, bytes_errs, _) = bytes_path::run(&chunks, &config, usize::MAX);
        prop_assert_eq!(bytes_out, slice_out);
        prop_assert_eq!(bytes_errs, slice_errs);
    }
}
