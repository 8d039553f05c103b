//! Shared by the fuzz targets: the reference model from the test suite and
//! a driver for the slice decoder.
#![allow(dead_code)]

#[path = "../../tests/common/model.rs"]
pub mod model;
#[path = "../../tests/common/filter.rs"]
pub mod filter;

pub use model::Out;
use ssewire::{Config, DecodeError, Decoder, Item};

/// Splits `input` into chunks whose sizes come from `sizes` (cycled; a size
/// of 0 means "the rest").
pub fn chunk<'a>(input: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let s = match sizes.get(i % sizes.len().max(1)) {
            None | Some(0) => rest.len(),
            Some(&s) => usize::from(s).min(rest.len()),
        };
        out.push(&rest[..s]);
        rest = &rest[s..];
        i += 1;
    }
    out
}

pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn to_out(step: Item<'_>) -> Out {
    match step {
        Item::Event(ev) => {
            // The crate's own UTF-8 accessors (an ASCII scan, then SIMD)
            // agree with the standard library's.
            assert_eq!(ev.data_str(), std::str::from_utf8(ev.data()));
            assert_eq!(ev.event_type_str(), std::str::from_utf8(ev.event_type()));
            let id = ev.last_event_id();
            assert_eq!(ev.last_event_id_str(), std::str::from_utf8(id));
            Out::Event(
                ev.event_type_lossy().into_owned(),
                ev.data_lossy().into_owned(),
                ev.last_event_id_lossy().into_owned(),
            )
        }
        Item::Retry(d) => Out::Retry(millis(d)),
        Item::Comment(c) => Out::Comment(lossy(c)),
        other => panic!("unexpected step {other:?}"),
    }
}

/// Decodes `chunks` with `config`.
pub fn run(chunks: &[&[u8]], config: &Config) -> (Vec<Out>, Vec<DecodeError>) {
    let mut dec = Decoder::with_config(config);
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for c in chunks {
        let mut rest = *c;
        loop {
            let f = dec.feed(rest);
            assert!(f.consumed <= rest.len());
            rest = &rest[f.consumed..];
            match f.item {
                None => {
                    assert!(rest.is_empty());
                    break;
                }
                Some(Ok(s)) => out.push(to_out(s)),
                Some(Err(e)) => errs.push(e),
            }
        }
    }
    let _ = dec.finish();
    (out, errs)
}

/// A decoded reconnection time in milliseconds, as the model keeps it.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).expect("a decoded retry fits in u64 milliseconds")
}
