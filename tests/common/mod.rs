//! Drivers shared by the integration tests: run the crate's decoder over a
//! chunking and collect the same [`Out`] values the model produces.
#![allow(dead_code)]

#[cfg(feature = "bytes")]
pub(crate) mod bytes_path;
pub(crate) mod filter;
pub(crate) mod io;
pub(crate) mod model;

pub(crate) use model::Out;
use ssewire::{Buffer, Buffers, Config, Decoder, Item, SliceBuffer};

/// Decodes `chunks` in order with `config`; limit errors are collected as
/// `Err` entries so callers can count them. Runs both the growable-buffer
/// decoder (feature `alloc`) and one over fixed slices, and checks that they
/// agree.
pub(crate) fn run_config(
    chunks: &[&[u8]],
    config: &Config,
) -> (Vec<Out>, Vec<ssewire::DecodeError>) {
    // Fixed buffers at least as large as the whole input never lower a limit.
    let total: usize = chunks.iter().map(|c| c.len()).sum::<usize>() + 8;
    let mut storage = vec![0u8; total * 5];
    let got = run_decoder(fixed_decoder(&mut storage, config), chunks);
    // The batch path over fixed buffers of the same sizes.
    assert_eq!(
        run_decoder_batch(fixed_decoder(&mut storage, config), chunks),
        got,
        "batch and one-step paths differ (fixed buffers)"
    );
    #[cfg(feature = "alloc")]
    assert_eq!(
        run_decoder_batch(Decoder::with_config(config), chunks),
        got,
        "batch and one-step paths differ (growable buffers)"
    );
    #[cfg(feature = "alloc")]
    assert_eq!(
        run_decoder(Decoder::with_config(config), chunks),
        got,
        "growable and fixed buffers differ"
    );
    got
}

/// A decoder over five equal fixed slices of `storage`.
pub(crate) fn fixed_decoder<'s>(
    storage: &'s mut [u8],
    config: &Config,
) -> Decoder<SliceBuffer<'s>> {
    let fifth = storage.len() / 5;
    let (line, rest) = storage.split_at_mut(fifth);
    let (data, rest) = rest.split_at_mut(fifth);
    let (event_type, rest) = rest.split_at_mut(fifth);
    let (last_event_id, pending_id) = rest.split_at_mut(fifth);
    Decoder::with_buffers(
        Buffers {
            line: SliceBuffer::new(line),
            data: SliceBuffer::new(data),
            event_type: SliceBuffer::new(event_type),
            last_event_id: SliceBuffer::new(last_event_id),
            pending_id: SliceBuffer::new(pending_id),
        },
        config,
    )
}

/// Feeds `chunks` to `dec` and collects everything it reports.
pub(crate) fn run_decoder<B: Buffer>(
    mut dec: Decoder<B>,
    chunks: &[&[u8]],
) -> (Vec<Out>, Vec<ssewire::DecodeError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for chunk in chunks {
        let mut rest: &[u8] = chunk;
        loop {
            let feed = dec.feed(rest);
            assert!(feed.consumed <= rest.len());
            rest = &rest[feed.consumed..];
            match feed.item {
                None => {
                    assert!(rest.is_empty(), "NeedInput with input left");
                    break;
                }
                Some(Ok(step)) => out.push(to_out(step)),
                Some(Err(e)) => errs.push(e),
            }
        }
    }
    let _ = dec.finish();
    (out, errs)
}

/// Feeds `chunks` to `dec` through the batch path ([`Decoder::feed_all`]).
pub(crate) fn run_decoder_batch<B: Buffer>(
    mut dec: Decoder<B>,
    chunks: &[&[u8]],
) -> (Vec<Out>, Vec<ssewire::DecodeError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for chunk in chunks {
        dec.feed_all(chunk, |step| match step {
            Ok(step) => out.push(to_out(step)),
            Err(e) => errs.push(e),
        });
    }
    let _ = dec.finish();
    (out, errs)
}

fn lossy(b: &[u8]) -> String {
    ssewire::Lossy(b).to_string()
}

/// Converts a step to the model's vocabulary.
pub(crate) fn to_out(step: Item<'_>) -> Out {
    match step {
        Item::Event(ev) => Out::Event(
            lossy(ev.event_type()),
            lossy(ev.data()),
            lossy(ev.last_event_id()),
        ),
        Item::Retry(d) => Out::Retry(millis(d)),
        Item::Comment(c) => Out::Comment(lossy(c)),
        other => panic!("unexpected step {other:?}"),
    }
}

/// Decodes `chunks` with the default config plus comments.
pub(crate) fn run(chunks: &[&[u8]], comments: bool) -> Vec<Out> {
    let mut config = Config::default();
    config.comments(comments);
    let (out, errs) = run_config(chunks, &config);
    assert!(errs.is_empty(), "unexpected errors {errs:?}");
    out
}

/// Splits `input` at the given sorted positions.
pub(crate) fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut last = 0;
    for &c in cuts {
        let c = c.clamp(last, input.len());
        pieces.push(&input[last..c]);
        last = c;
    }
    pieces.push(&input[last..]);
    pieces
}

/// Every chunking the conformance tests try: whole, byte by byte, every
/// two-way split, and (for short inputs) every three-way split.
pub(crate) fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![vec![input], input.chunks(1).collect()];
    for i in 0..=input.len() {
        all.push(split_at(input, &[i]));
    }
    if input.len() <= 40 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                all.push(split_at(input, &[i, j]));
            }
        }
    }
    all
}

/// Shorthand for an expected event.
pub(crate) fn ev(event_type: &str, data: &str, id: &str) -> Out {
    Out::Event(event_type.into(), data.into(), id.into())
}

/// A decoded reconnection time in milliseconds, as the model keeps it.
pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).expect("a decoded retry fits in u64 milliseconds")
}
