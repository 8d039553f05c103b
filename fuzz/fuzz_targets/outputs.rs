//! The crate's own `Arbitrary` encoder inputs (feature `arbitrary`): every
//! generated item encodes (to exactly `encoded_len` bytes) and decodes back,
//! byte for byte, under arbitrary chunking.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ssewire::encode::{Encode, Output};
use ssewire::{Decoder, Item};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    items: Vec<Output<'a>>,
    sizes: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum Seen {
    Event(Vec<u8>, Vec<u8>, Vec<u8>),
    Retry(std::time::Duration),
}

/// Line breaks in data become LF when decoded.
fn normalise(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' {
            out.push(b'\n');
            if data.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(data[i]);
        }
        i += 1;
    }
    out
}

fuzz_target!(|input: Input<'_>| {
    let mut wire = Vec::new();
    let n = input.items[..].encode_vec(&mut wire);
    assert_eq!(n, wire.len());
    assert_eq!(n, input.items[..].encoded_len());

    let mut want = Vec::new();
    let mut last_id: Vec<u8> = Vec::new();
    for item in &input.items {
        match *item {
            Output::Message(m) => {
                let (ty, data, id, retry) = m.into_parts();
                if let Some(ms) = retry {
                    want.push(Seen::Retry(ms));
                }
                if let Some(id) = id {
                    last_id = id.to_vec();
                }
                let ty = if ty.is_empty() { &b"message"[..] } else { ty };
                want.push(Seen::Event(ty.to_vec(), normalise(data), last_id.clone()));
            }
            Output::Retry(r) => want.push(Seen::Retry(r.reconnection_time())),
            _ => {}
        }
    }

    let mut got = Vec::new();
    let mut dec = Decoder::new();
    let mut rest = &wire[..];
    let mut sizes = input.sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes
            .next()
            .map_or(rest.len(), |&s| usize::from(s).max(1))
            .min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        dec.feed_all(chunk, |item| match item {
            Ok(Item::Event(ev)) => got.push(Seen::Event(
                ev.event_type().to_vec(),
                ev.data().to_vec(),
                ev.last_event_id().to_vec(),
            )),
            Ok(Item::Retry(ms)) => got.push(Seen::Retry(ms)),
            Ok(_) => {}
            Err(e) => panic!("a valid encoding hit a limit: {e}"),
        });
    }
    let end = dec.finish();
    assert!(!end.incomplete_event && !end.partial_line);
    assert_eq!(got, want);
});
