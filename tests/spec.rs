//! Conformance cases from the WHATWG HTML spec, 9.2.5 "Parsing an event
//! stream" and 9.2.6 "Interpreting an event stream". Every case runs through
//! every path: the reference model, the decoder over every chunking (whole,
//! byte by byte, every two-way split, every three-way split of short
//! inputs), the `io` reader, and (with feature `bytes`) the `Bytes` decoder.

mod common;

use common::{chunkings, ev, model, run, Out};

fn retry(ms: u64) -> Out {
    Out::Retry(ms)
}

fn comment(text: &str) -> Out {
    Out::Comment(text.into())
}

/// Checks `input` against `want` on every path. `want` includes comments;
/// paths without comments see it without them.
fn check(input: &[u8], want: &[Out]) {
    let no_comments: Vec<Out> = want
        .iter()
        .filter(|o| !matches!(o, Out::Comment(_)))
        .cloned()
        .collect();
    assert_eq!(
        model::decode(input, true),
        want,
        "model disagrees with the case"
    );
    for chunks in chunkings(input) {
        assert_eq!(run(&chunks, true), want, "chunking {chunks:?}");
        assert_eq!(
            run(&chunks, false),
            no_comments,
            "chunking {chunks:?} without comments"
        );
    }
    // The io adapter yields events only.
    #[cfg(feature = "std")]
    check_io(input, &no_comments);
    #[cfg(feature = "bytes")]
    common::bytes_path::check(input, &no_comments);
}

#[cfg(feature = "std")]
fn check_io(input: &[u8], no_comments: &[Out]) {
    let events: Vec<Out> = no_comments
        .iter()
        .filter(|o| matches!(o, Out::Event(..)))
        .cloned()
        .collect();
    for size in [1, 2, 3, 7, 64 * 1024] {
        let reader = common::io::Chunked::new(input, size);
        let got: Vec<Out> = ssewire::io::EventReader::new(reader)
            .map(|r| {
                let e = r.unwrap();
                Out::Event(e.event_type, e.data, e.last_event_id)
            })
            .collect();
        assert_eq!(got, events, "io reader, reads of {size}");
    }
}

macro_rules! spec {
    ($($name:ident: $input:expr => [$($want:expr),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            check($input, &[$($want),*]);
        }
    )*};
}

spec! {
    // 9.2.5: BOM, once, only at the start.
    bom_is_stripped: b"\xEF\xBB\xBFdata: a\n\n" => [ev("message", "a", "")];
    bom_twice_second_is_content: b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n" => [ev("message", "b", "")];
    bom_in_middle_is_content: b"data: a\n\n\xEF\xBB\xBFdata: b\n\n" => [ev("message", "a", "")];
    bom_before_field_name_only_first: b"\xEF\xBB\xBFdata:\xEF\xBB\xBFx\n\n" => [ev("message", "\u{FEFF}x", "")];
    partial_bom_is_content: b"\xEF\xBBdata: a\n\ndata: b\n\n" => [ev("message", "b", "")];
    utf16_bom_is_not_a_bom: b"\xFF\xFEdata: a\n\ndata: b\n\n" => [ev("message", "b", "")];
    bom_alone: b"\xEF\xBB\xBF" => [];

    // Line endings.
    lf_lines: b"data: a\n\n" => [ev("message", "a", "")];
    crlf_lines: b"data: a\r\n\r\n" => [ev("message", "a", "")];
    cr_lines: b"data: a\r\r" => [ev("message", "a", "")];
    mixed_line_ends: b"data: a\rdata: b\ndata: c\r\n\n" => [ev("message", "a\nb\nc", "")];
    lf_cr_is_two_line_ends: b"data: a\n\rdata: b\n\n" => [ev("message", "a", ""), ev("message", "b", "")];
    cr_as_last_byte_of_stream: b"data: a\n\r" => [ev("message", "a", "")];
    crlf_crlf_is_one_blank: b"data: a\r\n\r\ndata: b\r\n\r\n" => [ev("message", "a", ""), ev("message", "b", "")];
    cr_cr_lf: b"data: a\r\r\n" => [ev("message", "a", "")];

    // Comments.
    comment_is_ignored: b": hello\ndata: a\n\n" => [comment("hello"), ev("message", "a", "")];
    comment_only_block_dispatches_nothing: b": ping\n\n:\n\n" => [comment("ping"), comment("")];
    comment_keeps_second_space: b":  x\n" => [comment(" x")];
    comment_inside_event: b"data: a\n:c\ndata: b\n\n" => [comment("c"), ev("message", "a\nb", "")];

    // Fields.
    field_without_colon_data: b"data\n\n" => [ev("message", "", "")];
    two_empty_data_lines: b"data\ndata\n\n" => [ev("message", "\n", "")];
    data_colon_empty: b"data:\n\n" => [ev("message", "", "")];
    one_space_stripped: b"data: a\n\n" => [ev("message", "a", "")];
    only_one_space_stripped: b"data:  a\n\n" => [ev("message", " a", "")];
    tab_not_stripped: b"data:\ta\n\n" => [ev("message", "\ta", "")];
    no_space_value: b"data:a\n\n" => [ev("message", "a", "")];
    later_colons_are_value: b"data: a: b:c\n\n" => [ev("message", "a: b:c", "")];
    multiline_data_joined_by_lf: b"data: a\ndata: b\ndata: c\n\n" => [ev("message", "a\nb\nc", "")];
    trailing_empty_data_line: b"data: a\ndata\n\n" => [ev("message", "a\n", "")];
    unknown_field_ignored: b"foo: bar\ndata: a\n\n" => [ev("message", "a", "")];
    wrong_case_ignored: b"Data: a\nDATA: b\nEvent: x\nID: 9\nRetry: 5\ndata: c\n\n" => [ev("message", "c", "")];
    name_with_trailing_space_ignored: b"data : a\ndata: b\n\n" => [ev("message", "b", "")];
    name_with_leading_space_ignored: b" data: a\n\n" => [];

    // Event type.
    event_type_set: b"event: add\ndata: 1\n\n" => [ev("add", "1", "")];
    event_type_last_wins: b"event: a\nevent: b\ndata: 1\n\n" => [ev("b", "1", "")];
    event_type_resets_after_dispatch: b"event: add\ndata: 1\n\ndata: 2\n\n" => [ev("add", "1", ""), ev("message", "2", "")];
    event_type_resets_without_dispatch: b"event: add\n\ndata: 2\n\n" => [ev("message", "2", "")];
    empty_event_type_is_message: b"event\ndata: 1\n\n" => [ev("message", "1", "")];
    event_type_after_data: b"data: 1\nevent: late\n\n" => [ev("late", "1", "")];

    // No dispatch without data.
    no_data_no_dispatch: b"event: x\nid: 1\n\n" => [];
    blank_lines_alone: b"\n\n\r\n\r\r" => [];

    // Ids.
    id_set: b"id: 1\ndata: a\n\n" => [ev("message", "a", "1")];
    id_persists_across_events: b"id: 1\ndata: a\n\ndata: b\n\n" => [ev("message", "a", "1"), ev("message", "b", "1")];
    empty_id_resets: b"id: 1\ndata: a\n\nid\ndata: b\n\n" => [ev("message", "a", "1"), ev("message", "b", "")];
    id_with_nul_ignored: b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n" => [ev("message", "a", "1"), ev("message", "b", "1")];
    id_without_event_still_applies: b"id: 7\n\ndata: a\n\n" => [ev("message", "a", "7")];
    id_after_data_applies_to_event: b"data: a\nid: 3\n\n" => [ev("message", "a", "3")];
    id_keeps_spaces: b"id:  x \ndata: a\n\n" => [ev("message", "a", " x ")];
    id_in_unterminated_event_is_not_committed: b"id: 5\ndata: a\n" => [];

    // Retry.
    retry_digits: b"retry: 1000\n" => [retry(1000)];
    retry_zero: b"retry: 0\n" => [retry(0)];
    retry_decimal_ignored: b"retry: 1.5\n" => [];
    retry_negative_ignored: b"retry:-1\n" => [];
    retry_units_ignored: b"retry: 10ms\n" => [];
    retry_empty_ignored: b"retry\nretry:\n" => [];
    retry_plus_ignored: b"retry: +5\n" => [];
    retry_two_spaces_ignored: b"retry:  5\n" => [];
    retry_30_digits_saturates: b"retry: 123456789012345678901234567890\n" => [retry(u64::MAX)];
    retry_u64_max: b"retry: 18446744073709551615\n" => [retry(u64::MAX)];
    retry_inside_event: b"data: a\nretry: 7\ndata: b\n\n" => [retry(7), ev("message", "a\nb", "")];
    retry_unterminated_line_ignored: b"retry: 7" => [];

    // End of stream.
    unterminated_event_discarded: b"data: a\n\ndata: b\n" => [ev("message", "a", "")];
    unterminated_line_discarded: b"data: a\n\ndata: b" => [ev("message", "a", "")];
    empty_stream: b"" => [];

    // Encoding.
    invalid_utf8_replaced: b"data: a\xFFb\n\n" => [ev("message", "a\u{FFFD}b", "")];
    truncated_multibyte_replaced_once: b"data: \xF0\x9F\x98\n\n" => [ev("message", "\u{FFFD}", "")];
    surrogate_bytes_replaced_each: b"data: \xED\xA0\x80\n\n" => [ev("message", "\u{FFFD}\u{FFFD}\u{FFFD}", "")];
    multibyte_split_across_chunks: "data: h\u{e9}llo \u{1F600}\n\n".as_bytes() => [ev("message", "h\u{e9}llo \u{1F600}", "")];
    invalid_utf8_in_field_name_ignored: b"d\xFFata: x\ndata: y\n\n" => [ev("message", "y", "")];
    invalid_utf8_in_type_and_id: b"event: \xC3\nid: \xFF\ndata: x\n\n" => [ev("\u{FFFD}", "x", "\u{FFFD}")];
    nul_in_data_kept: b"data: a\x00b\n\n" => [ev("message", "a\0b", "")];
}

#[test]
fn spec_example_stock_ticker() {
    // The spec's own examples in 9.2.6.
    check(
        b"data: YHOO\ndata: +2\ndata: 10\n\n",
        &[ev("message", "YHOO\n+2\n10", "")],
    );
    check(
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
        &[comment("test stream"), ev("message", "first event", "1"), ev("message", "second event", "")],
    );
    check(
        b"data\n\ndata\ndata\n\ndata:",
        &[ev("message", "", ""), ev("message", "\n", "")],
    );
    check(
        b"data:test\n\ndata: test\n\n",
        &[ev("message", "test", ""), ev("message", "test", "")],
    );
}

/// The last event id a client reconnects with is the one committed by the
/// last blank line (spec: "dispatch the event", step 1), not an `id` read in
/// a block that never ended.
#[test]
fn last_event_id_is_committed_only_by_a_blank_line() {
    let input = b"id: 1\ndata: a\n\nid: 2\n\nid: 3\ndata: cut off";
    for chunks in chunkings(input) {
        let mut dec = ssewire::Decoder::with_buffers(
            ssewire::Buffers::<ssewire::ArrayBuffer<64>>::default(),
            &ssewire::Config::default(),
        );
        let mut seen = Vec::new();
        for c in &chunks {
            let mut rest = *c;
            loop {
                let f = dec.feed(rest);
                rest = &rest[f.consumed..];
                match f.item {
                    None => break,
                    Some(Ok(_)) => seen.push(dec.last_event_id().to_vec()),
                    Some(Err(e)) => panic!("{e}"),
                }
            }
        }
        assert_eq!(seen, [b"1".to_vec()]);
        // "id: 2" ended its (empty) block, "id: 3" did not.
        assert_eq!(dec.last_event_id(), b"2", "chunking {chunks:?}");
        let end = dec.finish();
        assert!(end.partial_line);
        assert_eq!(dec.last_event_id(), b"2");
    }
}
