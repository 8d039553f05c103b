//! Limits: a line or an event too large gives a typed error naming the
//! limit, the event is dropped, and decoding resumes at the next blank line,
//! identically for every chunking.

mod common;

use common::{chunkings, ev, model, run_config, Out};
use ssewire::{ArrayBuffer, Buffers, Config, DecodeError, Decoder};

fn check(input: &[u8], max_line: usize, max_data: usize, want: &[Out], want_errs: &[DecodeError]) {
    let mut config = Config::default();
    config.max_line_len(max_line).max_data_len(max_data);
    let (m, m_errs) = model::decode_limited(input, max_line, max_data);
    assert_eq!(m, want, "limited model disagrees with the case");
    assert_eq!(m_errs, want_errs.len());
    for chunks in chunkings(input) {
        let (out, errs) = run_config(&chunks, &config);
        assert_eq!(out, want, "chunking {chunks:?}");
        assert_eq!(errs, want_errs, "chunking {chunks:?}");
    }
}

const LINE8: DecodeError = DecodeError::LineTooLong { max: 8 };

#[test]
fn overlong_line_drops_its_event_and_decoding_resumes() {
    check(
        b"data: a\ndata: 0123456789\ndata: b\n\ndata: ok\n\n",
        8,
        100,
        &[ev("message", "ok", "")],
        &[LINE8],
    );
}

#[test]
fn overlong_line_alone_is_its_own_block() {
    check(
        b"0123456789\n\ndata: x\n\n",
        8,
        100,
        &[ev("message", "x", "")],
        &[LINE8],
    );
}

#[test]
fn line_exactly_at_limit_is_fine() {
    check(b"data: 12\n\n", 8, 100, &[ev("message", "12", "")], &[]);
    check(b"data: 123\n\n", 8, 100, &[], &[LINE8]);
}

#[test]
fn overlong_line_errors_once_and_line_end_counts_not() {
    check(b"data: 0123456789\r\n\r\n", 8, 100, &[], &[LINE8]);
    check(
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\rdata: y\r\r",
        8,
        100,
        &[],
        &[LINE8],
    );
}

#[test]
fn data_limit_counts_joining_newlines() {
    let e = DecodeError::DataTooLong { max: 7 };
    check(
        b"data: abc\ndata: def\n\n",
        100,
        7,
        &[ev("message", "abc\ndef", "")],
        &[],
    );
    check(
        b"data: abc\ndata: defg\n\ndata: ok\n\n",
        100,
        7,
        &[ev("message", "ok", "")],
        &[e],
    );
    check(
        b"data: abcdefgh\ndata: z\n\ndata: ok\n\n",
        100,
        7,
        &[ev("message", "ok", "")],
        &[e],
    );
}

#[test]
fn id_and_retry_still_apply_in_a_dropped_event() {
    check(
        b"id: 1\ndata: 0123456789\nid: 2\nretry: 5\nevent: x\ndata: y\n\ndata: z\n\n",
        8,
        100,
        &[Out::Retry(5), ev("message", "z", "2")],
        &[LINE8],
    );
}

#[test]
fn bom_counts_for_nothing_but_partial_bom_is_content() {
    check(
        b"\xEF\xBB\xBFdata: 12\n\n",
        8,
        100,
        &[ev("message", "12", "")],
        &[],
    );
    check(
        b"\xEF\xBBdata: 1\n\n",
        8,
        100,
        &[],
        &[DecodeError::LineTooLong { max: 8 }],
    );
}

fn fixed<const N: usize>(config: &Config) -> Decoder<ArrayBuffer<N>> {
    Decoder::with_buffers(Buffers::default(), config)
}

fn steps<const N: usize>(
    dec: &mut Decoder<ArrayBuffer<N>>,
    chunks: &[&[u8]],
) -> Vec<Result<Out, DecodeError>> {
    let mut v = Vec::new();
    for c in chunks {
        let mut rest = *c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                None => break,
                Some(Ok(s)) => v.push(Ok(common::to_out(s))),
                Some(Err(e)) => v.push(Err(e)),
            }
        }
    }
    v
}

#[test]
fn fixed_buffers_cap_the_limits_whatever_the_chunking() {
    let input = b"event: abcdefghij\ndata: 1\n\nid: abcdefghijk\ndata: 2\n\ndata: 0123456789abcdef\n\ndata: ok\n\n";
    let want = vec![
        Err(DecodeError::EventTypeTooLong { max: 8 }),
        Err(DecodeError::IdTooLong { max: 8 }),
        Err(DecodeError::DataTooLong { max: 8 }),
        Ok(ev("message", "ok", "")),
    ];
    // All buffers of 8 bytes: the line buffer caps every line at 8 bytes,
    // whether or not a line needed buffering.
    for chunks in chunkings(b"data: 12\n\ndata: 123\n\n") {
        let mut dec = fixed::<8>(&Config::default());
        let got = steps(&mut dec, &chunks);
        assert_eq!(
            got,
            [Ok(ev("message", "12", "")), Err(LINE8)],
            "chunking {chunks:?}"
        );
    }
    // Line buffer large, others small: exercise the per-buffer errors.
    let mut a = [0u8; 64];
    let mut b = [0u8; 8];
    let mut c = [0u8; 8];
    let mut d = [0u8; 8];
    let mut e = [0u8; 8];
    for chunks in chunkings(input) {
        let mut dec = Decoder::with_buffers(
            Buffers {
                line: ssewire::SliceBuffer::new(&mut a),
                data: ssewire::SliceBuffer::new(&mut b),
                event_type: ssewire::SliceBuffer::new(&mut c),
                last_event_id: ssewire::SliceBuffer::new(&mut d),
                pending_id: ssewire::SliceBuffer::new(&mut e),
            },
            &Config::default(),
        );
        let mut got = Vec::new();
        for ch in &chunks {
            let mut rest = *ch;
            loop {
                let f = dec.feed(rest);
                rest = &rest[f.consumed..];
                match f.item {
                    None => break,
                    Some(Ok(s)) => got.push(Ok(common::to_out(s))),
                    Some(Err(e)) => got.push(Err(e)),
                }
            }
        }
        assert_eq!(got, want, "chunking {chunks:?}");
    }
}

#[cfg(feature = "alloc")]
#[test]
fn error_reports_consumed_and_stream_goes_on() {
    let mut config = Config::default();
    config.max_line_len(4);
    let mut dec = Decoder::with_config(&config);
    let input = b"data: long line\n\ndata: ok\n\n";
    let f = dec.feed(input);
    assert_eq!(f.item, Some(Err(DecodeError::LineTooLong { max: 4 })));
    let used = f.consumed;
    assert_eq!(used, 16, "the overlong line and its line end are consumed");
    // "data: ok" is 8 bytes: too long as well with max 4.
    let f = dec.feed(&input[used..]);
    assert_eq!(f.item, Some(Err(DecodeError::LineTooLong { max: 4 })));
    assert!(DecodeError::LineTooLong { max: 4 }
        .to_string()
        .contains("4 bytes"));
}

/// Real streams carry multi-megabyte lines (a base64 image in one `data:`
/// line): the default limits take an 8 MiB line and an 8 MiB event of many
/// lines, fed whole, in 4 KiB and in 61-byte chunks.
#[cfg(feature = "alloc")]
#[test]
fn default_limits_take_an_8_mib_line_and_an_8_mib_event() {
    const MIB8: usize = 8 << 20;
    let mut one_line = b"data: ".to_vec();
    one_line.extend((0..MIB8).map(|i| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"[i % 32]));
    one_line.extend_from_slice(b"\n\n");
    let mut many_lines = Vec::new();
    let mut data_len = 0;
    while data_len < MIB8 {
        let n = 1000.min(MIB8 - data_len);
        many_lines.extend_from_slice(b"data: ");
        many_lines.extend(std::iter::repeat_n(b'y', n));
        many_lines.push(b'\n');
        data_len += n + 1;
    }
    many_lines.extend_from_slice(b"\n");
    let want_many = data_len - 1;
    for (input, want) in [(&one_line, MIB8), (&many_lines, want_many)] {
        for size in [input.len(), 4096, 61] {
            let mut dec = Decoder::new();
            let mut got = Vec::new();
            for chunk in input.chunks(size) {
                dec.feed_all(chunk, |item| match item {
                    Ok(ssewire::Item::Event(ev)) => got.push(ev.data().len()),
                    Ok(_) => {}
                    Err(e) => panic!("chunk size {size}: {e}"),
                });
            }
            assert_eq!(got, [want], "chunk size {size}");
        }
    }
}
