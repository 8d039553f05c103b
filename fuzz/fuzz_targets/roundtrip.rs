//! Arbitrary events, comments and retry lines: whatever the encoder accepts
//! decodes (under arbitrary chunking) to exactly what was encoded; whatever
//! it refuses is refused for a real reason, and encoding into a short buffer
//! writes nothing.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::Out;
use libfuzzer_sys::fuzz_target;
use ssewire::encode::{Comment, Encode, EventId, EventType, Message, Retry};
use ssewire::Config;

#[derive(Arbitrary, Debug)]
enum Item {
    Event {
        ty: Vec<u8>,
        data: Vec<u8>,
        id: Option<Vec<u8>>,
        retry: Option<u64>,
    },
    Comment(Vec<u8>),
    Retry(u64),
}

#[derive(Arbitrary, Debug)]
struct Input {
    items: Vec<Item>,
    sizes: Vec<u8>,
}

fn normalise(data: &[u8]) -> String {
    let mut s = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' {
            s.push(b'\n');
            if data.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            s.push(data[i]);
        }
        i += 1;
    }
    common::lossy(&s)
}

fuzz_target!(|input: Input| {
    let mut encoded = Vec::new();
    let mut want = Vec::new();
    let mut last_id = Vec::new();
    for item in &input.items {
        match item {
            Item::Event {
                ty,
                data,
                id,
                retry,
            } => {
                let Ok(t) = EventType::new(ty) else {
                    assert!(ty.contains(&b'\r') || ty.contains(&b'\n'));
                    continue;
                };
                let mut ev = Message::new(data).event_type(t);
                if let Some(id) = id {
                    let Ok(i) = EventId::new(id) else {
                        assert!(id.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
                        continue;
                    };
                    ev = ev.id(i);
                    last_id = id.clone();
                }
                if let Some(r) = retry {
                    ev = ev.retry(std::time::Duration::from_millis(*r));
                    want.push(Out::Retry(*r));
                }
                let name = if ty.is_empty() {
                    "message".to_string()
                } else {
                    common::lossy(ty)
                };
                want.push(Out::Event(name, normalise(data), common::lossy(&last_id)));
                let len = ev.encoded_len();
                if len > 0 {
                    let mut short = vec![0x55u8; len - 1];
                    assert!(ev.encode(&mut short).is_err());
                    assert!(short.iter().all(|&b| b == 0x55));
                }
                assert_eq!(ev.encode_vec(&mut encoded), len);
            }
            Item::Comment(c) => {
                Comment::new(c).encode_vec(&mut encoded);
            }
            Item::Retry(r) => {
                want.push(Out::Retry(*r));
                Retry::new(std::time::Duration::from_millis(*r)).encode_vec(&mut encoded);
            }
        }
    }
    let chunks = common::chunk(&encoded, &input.sizes);
    let (out, errs) = common::run(&chunks, &Config::default());
    assert!(errs.is_empty());
    assert_eq!(out, want);
});
