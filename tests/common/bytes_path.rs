//! Drives the `bytes` decoder, with raw frames on, and checks that the raw
//! frames give back the input.

use super::{chunkings, Out};
use bytes::Bytes;
use ssewire::bytes::{BytesDecoder, BytesItem};
use ssewire::{Config, DecodeError};

/// How chunks reach the decoder.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `push`, then the iterator to the end, per chunk.
    Iterator,
    /// `feed_all` per chunk.
    FeedAll,
    /// Even chunks pushed and left queued, odd ones given to `feed_all`
    /// (which must hand out the queued ones first).
    Mixed,
    /// Raw frames off, chunks lent with `push_slice` (every third one
    /// followed by the iterator to the end, the others left queued) between
    /// chunks pushed as `Bytes`.
    Lent,
}

/// Decodes `chunks` as `Bytes` with raw frames up to `max_frame` bytes,
/// through the iterator, `feed_all` and a mix of both, which must agree,
/// and lent with `push_slice` (raw frames off), which must give the same
/// items and errors but for the raw-frame limit's.
/// Returns the outputs, the errors, and the concatenated raw frames plus
/// trailing bytes.
pub(crate) fn run(
    chunks: &[&[u8]],
    config: &Config,
    max_frame: usize,
) -> (Vec<Out>, Vec<DecodeError>, Vec<u8>) {
    let want = run_mode(chunks, config, max_frame, Mode::Iterator);
    for mode in [Mode::FeedAll, Mode::Mixed] {
        assert_eq!(
            run_mode(chunks, config, max_frame, mode),
            want,
            "{mode:?} against the iterator, chunks {chunks:?}"
        );
    }
    let (out, errs, _) = run_mode(chunks, config, max_frame, Mode::Lent);
    let frame_errs = |e: &&DecodeError| !matches!(e, DecodeError::FrameTooLong { .. });
    assert_eq!(
        out, want.0,
        "lent chunks against the iterator, chunks {chunks:?}"
    );
    assert_eq!(
        errs.iter().collect::<Vec<_>>(),
        want.1.iter().filter(frame_errs).collect::<Vec<_>>(),
        "lent chunks' errors, chunks {chunks:?}"
    );
    want
}

fn run_mode(
    chunks: &[&[u8]],
    config: &Config,
    max_frame: usize,
    mode: Mode,
) -> (Vec<Out>, Vec<DecodeError>, Vec<u8>) {
    let mut config = config.clone();
    if !matches!(mode, Mode::Lent) {
        config.raw_frames(max_frame);
    }
    let mut dec = BytesDecoder::with_config(&config);
    let mut out = Vec::new();
    let mut errs = Vec::new();
    let mut raw = Vec::new();
    let mut take = |item: Result<BytesItem, DecodeError>| match item {
        Ok(BytesItem::Event(ev)) => {
            // `check` compares the concatenation with the input, so a missing
            // frame is caught there.
            if let Some(r) = ev.raw() {
                raw.extend_from_slice(r);
            }
            out.push(Out::Event(
                String::from_utf8_lossy(ev.event_type()).into_owned(),
                String::from_utf8_lossy(ev.data()).into_owned(),
                String::from_utf8_lossy(ev.last_event_id()).into_owned(),
            ));
        }
        Ok(BytesItem::Blank { raw: r }) => {
            if let Some(r) = r {
                raw.extend_from_slice(&r);
            }
        }
        Ok(BytesItem::Retry(d)) => out.push(Out::Retry(super::millis(d))),
        Ok(BytesItem::Trailing(t)) => raw.extend_from_slice(&t),
        Ok(BytesItem::Comment(c)) => {
            out.push(Out::Comment(String::from_utf8_lossy(&c).into_owned()));
        }
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => errs.push(e),
    };
    for (i, c) in chunks.iter().enumerate() {
        let shared = || Bytes::copy_from_slice(c);
        match mode {
            Mode::Iterator => {
                dec.push(shared());
                dec.by_ref().for_each(&mut take);
            }
            Mode::Mixed if i % 2 == 0 => dec.push(shared()),
            Mode::FeedAll | Mode::Mixed => dec.feed_all(&shared(), &mut take),
            Mode::Lent if i % 3 == 2 => dec.push(shared()),
            Mode::Lent => {
                dec.push_slice(c);
                if i % 3 == 0 {
                    dec.by_ref().for_each(&mut take);
                }
            }
        }
    }
    let _ = dec.finish();
    for item in dec.by_ref() {
        take(item);
    }
    (out, errs, raw)
}

/// The `Bytes` path gives `want` for every chunking, and its raw frames
/// reproduce the input byte for byte.
pub(crate) fn check(input: &[u8], want: &[Out]) {
    for chunks in chunkings(input) {
        let (out, errs, raw) = run(&chunks, &Config::default(), usize::MAX);
        assert!(errs.is_empty());
        assert_eq!(out, want, "bytes path, chunking {chunks:?}");
        assert_eq!(raw, input, "raw frames, chunking {chunks:?}");
    }
}
