//! Property tests: any chunking of any stream gives exactly the reference
//! model's output; limits give exactly the limited model's output; encoding
//! then decoding gives back what was encoded.
//!
//! Case counts follow `PROPTEST_CASES` (CI pins it).

mod common;

use common::{model, run_config, split_at, Out};
use proptest::prelude::*;
use ssewire::encode::{Comment, Encode, EventId, EventType, Message, Output, Retry};
use ssewire::Config;

/// Fragments that exercise the rules, mixed with arbitrary bytes.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let tricky: Vec<&'static [u8]> = vec![
        b"data",
        b"data:",
        b"data: ",
        b"event",
        b"event: ",
        b"id",
        b"id: ",
        b"retry",
        b"retry: ",
        b":",
        b": ",
        b" ",
        b"  ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\n",
        b"\r\r",
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xEF",
        b"\xBB",
        b"\xBF",
        b"\xFF\xFE",
        b"\xC3",
        b"\xC3\xA9",
        b"\xF0\x9F\x98\x80",
        b"\xED\xA0\x80",
        b"0",
        b"123",
        b"1.5",
        b"-1",
        b"99999999999999999999999",
        b"x",
        b"Data",
        b"data ",
        b"\t",
        b"message",
    ];
    prop_oneof![
        4 => proptest::sample::select(tricky).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..6),
    ]
}

/// A well-formed-looking line: a field name (right or nearly right), a
/// colon, spaces, a value, a line ending.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let names: Vec<&'static [u8]> = vec![
        b"data", b"event", b"id", b"retry", b"", b"Data", b"dat", b"x",
    ];
    let colons: Vec<&'static [u8]> = vec![b":", b": ", b":  ", b"", b":\t"];
    let ends: Vec<&'static [u8]> = vec![b"\n", b"\r", b"\r\n", b"\n\n", b"\r\n\r\n", b"\r\r"];
    (
        proptest::sample::select(names),
        proptest::sample::select(colons),
        proptest::collection::vec(fragment(), 0..3),
        proptest::sample::select(ends),
    )
        .prop_map(|(n, c, v, e)| [n, c, &v.concat(), e].concat())
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![fragment(), line()], 0..40).prop_map(|f| f.concat())
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..32).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    stream().prop_flat_map(|s| {
        let n = s.len();
        (Just(s), cuts(n))
    })
}

proptest! {
    #[test]
    fn any_chunking_matches_the_model((input, cuts) in stream_and_cuts(), comments in any::<bool>()) {
        let chunks = split_at(&input, &cuts);
        let mut config = Config::default();
        config.comments(comments);
        let (out, errs) = run_config(&chunks, &config);
        prop_assert!(errs.is_empty());
        prop_assert_eq!(out, model::decode(&input, comments));
    }

    #[test]
    fn byte_by_byte_matches_the_model(input in stream()) {
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        let (out, _) = run_config(&chunks, &Config::default());
        prop_assert_eq!(out, model::decode(&input, false));
    }

    #[test]
    fn limited_model_without_limits_is_the_model(input in stream()) {
        prop_assert_eq!(model::decode_limited(&input, usize::MAX, usize::MAX), (model::decode(&input, false), 0));
    }

    #[test]
    fn limits_match_the_limited_model(
        (input, cuts) in stream_and_cuts(),
        max_line in 0usize..24,
        max_data in 0usize..32,
    ) {
        let chunks = split_at(&input, &cuts);
        let mut config = Config::default();
        config.max_line_len(max_line).max_data_len(max_data);
        let (out, errs) = run_config(&chunks, &config);
        let (want, want_errs) = model::decode_limited(&input, max_line, max_data);
        prop_assert_eq!(errs.len(), want_errs);
        prop_assert_eq!(out, want);
    }

    /// A limit error's offset (the start of the line that raised it) is the
    /// same whatever the chunking, and is a line start of the input.
    #[cfg(feature = "alloc")]
    #[test]
    fn error_offsets_do_not_depend_on_chunking(
        (input, cuts) in stream_and_cuts(),
        max_line in 0usize..24,
        max_data in 0usize..32,
    ) {
        let mut config = Config::default();
        config.max_line_len(max_line).max_data_len(max_data);
        let offsets = |chunks: &[&[u8]]| {
            let mut dec = ssewire::Decoder::with_config(&config);
            let mut seen = Vec::new();
            for chunk in chunks {
                let mut rest = *chunk;
                loop {
                    let f = dec.feed(rest);
                    rest = &rest[f.consumed..];
                    match f.item {
                        Some(Err(e)) => seen.push((e, dec.last_error_offset())),
                        Some(Ok(_)) => {}
                        None => break,
                    }
                }
            }
            seen
        };
        let whole = offsets(&[&input[..]]);
        prop_assert_eq!(&offsets(&split_at(&input, &cuts)), &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&offsets(&bytes), &whole);
        for (_, at) in &whole {
            let at = *at as usize;
            // A line starts at 0 (after a BOM, or the BOM's own bytes when
            // it is incomplete) or right after CR or LF.
            prop_assert!(at <= 3 || matches!(input[at - 1], b'\n' | b'\r'), "offset {} of {:?}", at, input);
        }
    }
}

/// An item to encode, owning its strings.
#[derive(Clone, Debug)]
enum Gen {
    Event {
        ty: String,
        data: Vec<u8>,
        id: Option<String>,
        retry: Option<u64>,
    },
    Comment(Vec<u8>),
    Retry(u64),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[ a-z:\r\n\u{0}\u{e9}\u{1F600}]{0,12}", any::<String>(),]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        text().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..16)
    ]
}

fn gen_item() -> impl Strategy<Value = Gen> {
    prop_oneof![
        4 => (text(), bytes(), proptest::option::of(text()), proptest::option::of(any::<u64>()))
            .prop_map(|(ty, data, id, retry)| Gen::Event { ty, data, id, retry }),
        1 => bytes().prop_map(Gen::Comment),
        1 => any::<u64>().prop_map(Gen::Retry),
    ]
}

/// Appends an encoding to a `Vec` through the slice sink (works without the
/// `alloc` feature, which `encode_vec` needs).
trait EncodeInto: Encode {
    fn encode_into(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.resize(start + self.encoded_len(), 0);
        self.encode(&mut out[start..]).unwrap()
    }
}
impl<T: Encode + ?Sized> EncodeInto for T {}

/// The decoder's view of data after encoding: line breaks become LF.
fn normalise_bytes(data: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' => {
                s.push(b'\n');
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b => s.push(b),
        }
        i += 1;
    }
    s
}

/// [`normalise_bytes`], decoded as the spec does.
fn normalise(data: &[u8]) -> String {
    String::from_utf8_lossy(&normalise_bytes(data)).into_owned()
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(items in proptest::collection::vec(gen_item(), 0..8), cut_seed in any::<u64>()) {
        let mut encoded = Vec::new();
        let mut want = Vec::new();
        let mut last_id = String::new();
        for item in &items {
            let before = encoded.len();
            let written = match item {
                Gen::Event { ty, data, id, retry } => {
                    let mut ev = Message::new(data);
                    match EventType::new(ty) {
                        Ok(t) => ev = ev.event_type(t),
                        Err(_) => {
                            // Refused: nothing to write; check the refusal is real.
                            prop_assert!(ty.contains(['\r', '\n']));
                            continue;
                        }
                    }
                    if let Some(id) = id {
                        match EventId::new(id) {
                            Ok(i) => ev = ev.id(i),
                            Err(_) => {
                                prop_assert!(id.contains(['\r', '\n', '\0']));
                                continue;
                            }
                        }
                        last_id = id.clone();
                    }
                    if let Some(r) = retry {
                        ev = ev.retry(std::time::Duration::from_millis(*r));
                        want.push(Out::Retry(*r));
                    }
                    let t = if ty.is_empty() { "message".to_string() } else { ty.clone() };
                    want.push(Out::Event(t, normalise(data), last_id.clone()));
                    let n = ev.encode_into(&mut encoded);
                    prop_assert_eq!(n, ev.encoded_len());
                    // The slice sink writes the same bytes.
                    let mut out = vec![0u8; n];
                    prop_assert_eq!(ev.encode(&mut out), Ok(n));
                    prop_assert_eq!(&out[..], &encoded[before..]);
                    n
                }
                Gen::Comment(c) => Comment::new(c).encode_into(&mut encoded),
                Gen::Retry(r) => {
                    want.push(Out::Retry(*r));
                    Retry::new(std::time::Duration::from_millis(*r)).encode_into(&mut encoded)
                }
            };
            prop_assert_eq!(written, encoded.len() - before);
        }
        // Whole, and at pseudo-random cuts.
        let n = encoded.len();
        let mut c: Vec<usize> = (0..6).map(|k| (cut_seed.rotate_left(k * 11) as usize) % (n + 1)).collect();
        c.sort_unstable();
        for chunks in [vec![&encoded[..]], split_at(&encoded, &c), encoded.chunks(1).collect()] {
            let (out, errs) = run_config(&chunks, &Config::default());
            prop_assert!(errs.is_empty());
            prop_assert_eq!(&out, &want);
        }
        prop_assert_eq!(model::decode(&encoded, false), want);
        // The fmt sink writes the same text (for valid UTF-8 input).
        if let Ok(s) = std::str::from_utf8(&encoded) {
            let mut all = String::new();
            for item in &items {
                if let Gen::Comment(c) = item {
                    Comment::new(c).encode_fmt(&mut all).unwrap();
                } else if let Gen::Retry(r) = item {
                    Retry::new(std::time::Duration::from_millis(*r)).encode_fmt(&mut all).unwrap();
                } else if let Gen::Event { ty, data, id, retry } = item {
                    let (Ok(t), Ok(i)) = (EventType::new(ty), id.as_deref().map(EventId::new).transpose()) else { continue };
                    let mut ev = Message::new(data).event_type(t);
                    if let Some(i) = i { ev = ev.id(i); }
                    if let Some(r) = retry { ev = ev.retry(std::time::Duration::from_millis(*r)); }
                    ev.encode_fmt(&mut all).unwrap();
                }
            }
            prop_assert_eq!(all, s);
        }
    }

    #[test]
    fn too_small_buffer_writes_nothing(data in bytes(), room in 0usize..64) {
        let ev = Message::new(&data);
        let items = [Output::Message(ev), Output::Comment(Comment::new(&data))];
        let need = items[..].encoded_len();
        let mut out = vec![0xAAu8; room];
        match items[..].encode(&mut out) {
            Ok(n) => prop_assert_eq!(n, need),
            Err(e) => {
                prop_assert!(room < need);
                prop_assert_eq!(e.needed, need);
                prop_assert!(out.iter().all(|&b| b == 0xAA));
            }
        }
    }

    #[test]
    fn invalid_values_are_refused(v in "[a-z\r\n\u{0}]{0,6}") {
        prop_assert_eq!(EventType::new(&v).is_ok(), !v.contains(['\r', '\n']));
        prop_assert_eq!(EventId::new(&v).is_ok(), !v.contains(['\r', '\n', '\0']));
    }
}

/// The sink properties need `Vec`, `std::io` and `String` sinks.
#[cfg(feature = "std")]
mod sinks {
    use super::*;

    /// One encoder input built from arbitrary bytes, when its values are valid.
    #[derive(Debug, Clone)]
    struct RawEvent {
        ty: Vec<u8>,
        data: Vec<u8>,
        id: Option<Vec<u8>>,
    }

    fn raw_event() -> impl Strategy<Value = RawEvent> {
        (bytes(), bytes(), proptest::option::of(bytes())).prop_map(|(ty, data, id)| RawEvent {
            ty,
            data,
            id,
        })
    }

    proptest! {
        /// Every sink writes exactly `encoded_len` bytes, the same bytes, or
        /// refuses with a typed error and writes nothing; and what any sink
        /// accepted decodes back to the input, byte for byte.
        #[test]
        fn every_sink_writes_encoded_len_or_refuses(evs in proptest::collection::vec(raw_event(), 1..6)) {
            let mut msgs = Vec::new();
            for e in &evs {
                let Ok(t) = EventType::new(&e.ty) else {
                    prop_assert!(e.ty.contains(&b'\r') || e.ty.contains(&b'\n'));
                    continue;
                };
                let mut m = Message::new(&e.data).event_type(t);
                if let Some(id) = &e.id {
                    let Ok(i) = EventId::new(id) else {
                        prop_assert!(id.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
                        continue;
                    };
                    m = m.id(i);
                }
                msgs.push((e, m));
            }
            let items: Vec<Message<'_>> = msgs.iter().map(|(_, m)| *m).collect();
            let len = items[..].encoded_len();

            // Slice, exactly sized.
            let mut slice = vec![0u8; len];
            prop_assert_eq!(items[..].encode(&mut slice), Ok(len));
            // Vec.
            let mut v = b"prefix".to_vec();
            prop_assert_eq!(items[..].encode_vec(&mut v), len);
            prop_assert_eq!(&v[6..], &slice[..]);
            // std::io::Write.
            let mut cursor = std::io::Cursor::new(Vec::new());
            prop_assert_eq!(items[..].encode_io(&mut cursor).unwrap(), len);
            prop_assert_eq!(cursor.get_ref(), &slice);
            // fmt::Write: exact, or refused when not UTF-8, writing nothing.
            let mut s = String::from("prefix");
            match items[..].encode_fmt(&mut s) {
                Ok(n) => {
                    prop_assert_eq!(n, len);
                    prop_assert_eq!(&s.as_bytes()[6..], &slice[..]);
                }
                Err(e) => {
                    prop_assert_eq!(e, ssewire::FmtError::NotUtf8);
                    prop_assert!(std::str::from_utf8(&slice).is_err());
                    prop_assert_eq!(s, "prefix");
                }
            }
            #[cfg(feature = "bytes")]
            {
                let mut b = bytes::BytesMut::new();
                prop_assert_eq!(items[..].encode_buf(&mut b), Ok(len));
                prop_assert_eq!(&b[..], &slice[..]);
            }

            // Decoded back, byte for byte.
            let mut got = Vec::new();
            let mut dec = ssewire::Decoder::new();
            dec.feed_all(&slice, |item| {
                if let Ok(ssewire::Item::Event(ev)) = item {
                    got.push((ev.raw_event_type().to_vec(), ev.data().to_vec(), ev.last_event_id().to_vec()));
                }
            });
            let mut last_id = Vec::new();
            let want: Vec<_> = msgs
                .iter()
                .map(|(e, _)| {
                    if let Some(id) = &e.id {
                        last_id = id.clone();
                    }
                    (e.ty.clone(), normalise_bytes(&e.data), last_id.clone())
                })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
