//! Allocation counting: the borrowed event path and the encoder allocate
//! nothing once buffers are warm. A counting global allocator lives in this
//! test binary only, counting per thread (the harness's own threads
//! allocate too); tests here also run one at a time under a lock.
#![cfg(feature = "alloc")]

#[path = "common/counting.rs"]
mod counting;

use counting::{allocations, live_now, peak_heap, LOCK};
use ssewire::encode::{Comment, Encode, EventId, EventType, Message as Out, Output, Retry};
use ssewire::{Decoder, Item};

/// A stream with every shape of event: single and multi-line data, types,
/// ids, retry, comments, CRLF, and lines longer than the chunk size.
fn stream(events: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..events {
        s.extend_from_slice(b": keep-alive\r\n");
        s.extend_from_slice(format!("id: {i}\nevent: tick\r\n").as_bytes());
        s.extend_from_slice(b"data: {\"choices\":[{\"delta\":{\"content\":\"token\"}}]}\n");
        if i % 3 == 0 {
            s.extend_from_slice(b"data: second line\r");
            s.extend_from_slice(&[b'x'; 300]);
            s.push(b'\n');
        }
        if i % 50 == 0 {
            s.extend_from_slice(b"retry: 2500\n");
        }
        s.extend_from_slice(b"\n");
    }
    s
}

/// [`stream`] with a 1,500-byte data line in every seventh event: long
/// enough for the `bytes` path to hand it out of the decoder's buffer, not
/// copy it, when it straddles chunks.
#[cfg(feature = "bytes")]
fn stream_with_long_data(events: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for (i, block) in stream(events).split_inclusive(|&b| b == b'\n').enumerate() {
        if i % 7 == 0 && block.starts_with(b"data: {") {
            s.extend_from_slice(b"data: ");
            s.extend_from_slice(&[b'L'; 1500]);
            s.push(b'\n');
        }
        s.extend_from_slice(block);
    }
    s
}

fn decode_all(dec: &mut Decoder, input: &[u8], chunk: usize) -> (usize, usize) {
    let (mut events, mut bytes) = (0, 0);
    for c in input.chunks(chunk) {
        let mut rest = c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(Item::Event(ev))) => {
                    events += 1;
                    bytes += ev.data().len() + ev.event_type().len() + ev.last_event_id().len();
                }
                None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
            }
        }
    }
    (events, bytes)
}

#[test]
fn borrowed_event_path_allocates_nothing_once_warm() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let input = stream(2000);
    for chunk in [input.len(), 4096, 61, 7, 1] {
        let mut dec = Decoder::new();
        // Warm up on the same shapes, then count over the whole stream.
        let warm = decode_all(&mut dec, &input[..input.len() / 10], chunk);
        assert!(warm.0 > 0);
        let _ = dec.finish();
        let (n, (events, _)) = allocations(|| decode_all(&mut dec, &input, chunk));
        assert_eq!(events, 2000, "chunk {chunk}");
        assert_eq!(n, 0, "allocations with chunk size {chunk}");
    }
}

#[test]
fn single_chunk_events_allocate_nothing_once_ids_have_room() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let input = b"id: 1\nevent: a\ndata: x\n\ndata: y\n\n".repeat(100);
    let mut dec = Decoder::new();
    // The two id buffers (committed and pending) are the only ones that
    // need room here: everything else is borrowed from the chunk.
    dec.feed_all(b"id: 0\n\nid: 0\n\n", |_| {});
    let (n, (events, _)) = allocations(|| decode_all(&mut dec, &input, input.len()));
    assert_eq!(events, 200);
    assert_eq!(n, 0);
}

#[test]
fn encoder_allocates_nothing() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let id = EventId::new("12345").unwrap();
    let ty = EventType::new("content_block_delta").unwrap();
    let data = "{\"text\":\"hi\"}\nsecond line\r\nthird";
    let ev = Out::new(data)
        .event_type(ty)
        .id(id)
        .retry(std::time::Duration::from_millis(1000));
    let items = [
        Output::Message(ev),
        Output::Comment(Comment::new("ping")),
        Output::Retry(Retry::new(std::time::Duration::from_millis(5))),
    ];

    let mut slice = [0u8; 4096];
    let mut vec = Vec::with_capacity(1 << 16);
    let mut string = String::with_capacity(1 << 16);
    #[cfg(feature = "bytes")]
    let mut bm = bytes::BytesMut::with_capacity(1 << 16);
    let (n, ()) = allocations(|| {
        for _ in 0..100 {
            assert!(ev.encode(&mut slice).is_ok());
            assert!(items[..].encode(&mut slice).is_ok());
            assert_eq!(ev.encoded_len(), ev.encode(&mut slice).unwrap());
            vec.clear();
            ev.encode_vec(&mut vec);
            items[..].encode_vec(&mut vec);
            string.clear();
            ev.encode_fmt(&mut string).unwrap();
            #[cfg(feature = "bytes")]
            {
                bm.clear();
                ev.encode_buf(&mut bm).unwrap();
            }
        }
    });
    assert_eq!(n, 0);
    assert!(vec.starts_with(b"event: content_block_delta\nid: 12345\nretry: 1000\ndata: {"));
}

#[test]
fn counting_allocator_counts() {
    // Guards the tests above against a counter that never moves.
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (n, v) = allocations(|| vec![1u8; 10]);
    assert!(n >= 1);
    drop(v);
}

#[test]
fn buffers_stay_within_an_eighth_of_the_longest_line() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    const DATA: usize = 64 << 10;
    let mut input = Vec::new();
    for _ in 0..4 {
        input.extend_from_slice(b"data: ");
        input.resize(input.len() + DATA, b'x');
        input.extend_from_slice(b"\n\n");
    }
    let longest = DATA + b"data: ".len();
    for chunk in [4096, 61] {
        let (peak, (events, bytes)) = peak_heap(|| decode_all(&mut Decoder::new(), &input, chunk));
        // `bytes` counts the data and the type, `message`.
        assert_eq!((events, bytes), (4, 4 * (DATA + 7)));
        // Doubling growth would reach 128 KiB here.
        assert!(
            peak <= longest + longest / 8 + 256,
            "chunk {chunk}: peak heap {peak} for a {longest}-byte line"
        );
    }
}

#[test]
fn idle_decoders_give_back_what_a_large_event_took() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    const EVENT: usize = 4 << 20;
    // A 4 MiB event as 4 lines of 1 MiB, fed in 64 KiB chunks: every line
    // straddles chunks (line buffer) and the lines join (data buffer).
    let mut input = Vec::new();
    for _ in 0..4 {
        input.extend_from_slice(b"data: ");
        input.resize(input.len() + (EVENT / 4) - 1, b'z');
        input.push(b'\n');
    }
    input.extend_from_slice(b"id: 1\n\n");
    let base = live_now();
    let mut decoders: Vec<Decoder> = Vec::with_capacity(1000);
    let holder = live_now() - base; // the Vec of decoders itself
    for _ in 0..1000 {
        let mut dec = Decoder::new();
        let mut got = 0;
        for chunk in input.chunks(64 << 10) {
            dec.feed_all(chunk, |item| {
                if let Ok(Item::Event(ev)) = item {
                    got = ev.data().len();
                }
            });
        }
        assert_eq!(got, EVENT - 1);
        decoders.push(dec);
    }
    let per_decoder = (live_now() - base - holder) / 1000;
    eprintln!("each idle decoder holds {per_decoder} bytes after a 4 MiB event");
    assert!(
        per_decoder <= 16 << 10,
        "each idle decoder holds {per_decoder} bytes"
    );
    // And an explicit shrink gives back everything idle.
    for dec in &mut decoders {
        dec.shrink();
    }
    let per_decoder = (live_now() - base - holder) / 1000;
    assert!(
        per_decoder <= 64,
        "after shrink each decoder holds {per_decoder} bytes"
    );
    drop(decoders);
}

#[cfg(feature = "bytes")]
#[test]
fn idle_bytes_decoders_give_back_what_a_large_event_took() {
    use ssewire::bytes::{BytesDecoder, BytesItem};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // A 4 MiB event as 4 lines of 1 MiB, fed in 64 KiB chunks: its data is
    // joined in the data buffer and handed out of it.
    let mut input = Vec::new();
    for _ in 0..4 {
        input.extend_from_slice(b"data: ");
        input.resize(input.len() + (1 << 20) - 1, b'z');
        input.push(b'\n');
    }
    input.extend_from_slice(b"id: 1\n\n");
    let chunks: Vec<bytes::Bytes> = input
        .chunks(64 << 10)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let base = live_now();
    let mut decoders: Vec<BytesDecoder> = Vec::with_capacity(100);
    let holder = live_now() - base;
    for _ in 0..100 {
        let mut dec = BytesDecoder::new();
        let mut got = 0;
        for c in &chunks {
            dec.feed_all(c, |item| {
                if let Ok(BytesItem::Event(ev)) = item {
                    got = ev.data().len();
                }
            });
        }
        assert_eq!(got, (4 << 20) - 1);
        decoders.push(dec);
    }
    let per_decoder = (live_now() - base - holder) / 100;
    eprintln!("each idle bytes decoder holds {per_decoder} bytes after a 4 MiB event");
    assert!(
        per_decoder <= 16 << 10,
        "each idle bytes decoder holds {per_decoder} bytes"
    );
}

#[cfg(feature = "bytes")]
#[test]
fn bytes_paths_allocate_nothing_per_event_once_warm() {
    use ssewire::bytes::{BytesDecoder, BytesItem};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let input = bytes::Bytes::from(stream_with_long_data(2000));
    for size in [input.len(), 4096, 1000, 61, 7] {
        // Cut the chunks before counting: the first slice of a `Bytes`
        // built from a `Vec` allocates its shared header.
        let chunks: Vec<bytes::Bytes> = (0..input.len())
            .step_by(size)
            .map(|i| input.slice(i..(i + size).min(input.len())))
            .collect();
        let mut dec = BytesDecoder::new();
        let take = |events: &mut usize, item| match item {
            Ok(BytesItem::Event(ev)) => {
                assert!(!ev.data().is_empty());
                *events += 1;
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        };
        // Warm up on the whole stream: the decoder's buffers and both copy
        // blocks.
        let mut warm = 0;
        for c in &chunks {
            dec.feed_all(c, |item| take(&mut warm, item));
        }
        assert!(warm > 0);
        let _ = dec.finish();
        let (n, events) = allocations(|| {
            let mut events = 0;
            for c in &chunks {
                dec.feed_all(c, |item| take(&mut events, item));
            }
            events
        });
        assert_eq!(events, 2000, "feed_all, chunk {size}");
        assert_eq!(n, 0, "feed_all allocations with chunk size {size}");
        // The iterator, fed by `push` or by lending slices: the chunk and
        // item queues need warming up too.
        let iterate = |dec: &mut BytesDecoder, chunks: &[bytes::Bytes], lend: bool| {
            let mut events = 0;
            for c in chunks {
                if lend {
                    dec.push_slice(c);
                } else {
                    dec.push(c.clone());
                }
                for item in dec.by_ref() {
                    take(&mut events, item);
                }
            }
            events
        };
        // Lent slices only at the short reads `push_slice` is for (under
        // 1 KiB; a long one queues all its items at once, holding all their
        // copies together): every field copied, into the same two blocks.
        for (name, lend) in [("iterator", false), ("push_slice", true)] {
            if lend && size >= 1024 {
                continue;
            }
            assert_eq!(iterate(&mut dec, &chunks, lend), 2000);
            let _ = dec.finish();
            let (n, events) = allocations(|| iterate(&mut dec, &chunks, lend));
            assert_eq!(events, 2000, "{name}, chunk {size}");
            assert_eq!(n, 0, "{name} allocations with chunk size {size}");
        }
        #[cfg(feature = "tokio-util")]
        codec_allocates_nothing_per_event_once_warm(&chunks);
    }
}

/// Data too large for a shared copy block, in a chunk too large to pin
/// (so each event's data is copied into a block of its own size): the
/// iterator hands each such event out before it copies the next, so a
/// caller that drops each event before the next `next` has the same block
/// taken up again, as `feed_all` does. (A batch of queued large copies
/// allocated a block for each: 76 allocations for these 40 events, and a
/// batch's worth of data held at once.)
#[cfg(feature = "bytes")]
#[test]
fn iterator_reuses_the_block_of_a_large_copy() {
    use ssewire::bytes::{BytesDecoder, BytesItem};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut text = Vec::new();
    for i in 0..40u8 {
        text.extend_from_slice(b"data: ");
        text.extend(core::iter::repeat_n(b'a' + i % 26, 20 << 10));
        text.extend_from_slice(b"\n\n");
    }
    let input = bytes::Bytes::from(text);
    // The first slice of a `Bytes` made from a `Vec` allocates its header.
    let chunk = input.slice(..);
    let mut dec = BytesDecoder::new();
    let mut pass = || {
        dec.push(chunk.clone());
        let mut events = 0;
        for item in dec.by_ref() {
            let Ok(BytesItem::Event(ev)) = item else {
                panic!("{item:?}");
            };
            assert_eq!(ev.data().len(), 20 << 10);
            let inside = chunk.as_ptr_range().contains(&ev.data().as_ptr());
            assert!(!inside, "copied, not shared");
            events += 1;
        }
        events
    };
    assert_eq!(pass(), 40);
    let (n, (peak, events)) = allocations(|| peak_heap(&mut pass));
    assert_eq!(events, 40);
    // The large block is given back when the chunk is used up (the memory
    // rule), so each pass makes one again: its memory and, at its first
    // split, its shared header. Not one per event.
    assert!(n <= 2, "{n} allocations for 40 large copies in one chunk");
    assert!(peak <= 64 << 10, "peak heap {peak} bytes");
}

/// `SseCodec` as `FramedRead` drives it: each read appended to one buffer,
/// then `decode` until `None`. Short reads are lent, longer ones split off.
#[cfg(feature = "tokio-util")]
fn codec_allocates_nothing_per_event_once_warm(chunks: &[bytes::Bytes]) {
    use tokio_util::codec::Decoder as _;
    let mut codec = ssewire::codec::SseCodec::new();
    let mut buf = bytes::BytesMut::with_capacity(8192);
    let mut run = |codec: &mut ssewire::codec::SseCodec| {
        let mut events = 0;
        for c in chunks {
            buf.extend_from_slice(c);
            while let Some(item) = codec.decode(&mut buf).expect("decode") {
                if let Ok(ssewire::bytes::BytesItem::Event(_)) = item {
                    events += 1;
                }
            }
        }
        events
    };
    assert_eq!(run(&mut codec), 2000);
    let (n, events) = allocations(|| run(&mut codec));
    let size = chunks[0].len();
    assert_eq!(events, 2000, "SseCodec, chunk {size}");
    assert_eq!(n, 0, "SseCodec allocations with chunk size {size}");
}

#[cfg(feature = "bytes")]
#[test]
fn retained_bytes_events_pin_at_most_the_bound() {
    use ssewire::bytes::{BytesDecoder, BytesItem};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    const CHUNK: usize = 1 << 20;
    let base = live_now();
    let mut kept = Vec::with_capacity(200);
    let holder = live_now() - base;
    let mut dec = BytesDecoder::new();
    for i in 0..200u32 {
        // A 1 MiB read holding one tiny event and a lot of comment padding.
        let mut chunk = format!("data: {}\n\n", i % 10).into_bytes();
        while chunk.len() < CHUNK - 16 {
            chunk.extend_from_slice(b": padding......\n");
        }
        dec.push(bytes::Bytes::from(chunk));
        for item in dec.by_ref() {
            if let Ok(BytesItem::Event(ev)) = item {
                kept.push(ev);
            }
        }
    }
    assert_eq!(kept.len(), 200);
    let retained = live_now() - base - holder;
    eprintln!("200 retained events hold {retained} bytes");
    // Without the bound each event would pin its 1 MiB read (200 MiB).
    // With it: the copies share 4 KiB blocks; allow the decoder's own
    // buffers and one block of slack.
    assert!(
        retained <= 64 << 10,
        "200 retained events hold {retained} bytes"
    );
    // Sharing is still the rule for fields of 1 KiB or more in reads no
    // larger than `max_pin`.
    let mut dec = BytesDecoder::new();
    let chunk = bytes::Bytes::from(format!("data: {}\n\n", "t".repeat(1024)));
    dec.push(chunk.clone());
    let Some(Ok(BytesItem::Event(ev))) = dec.next() else {
        panic!()
    };
    assert_eq!(ev.data().as_ptr(), chunk[6..].as_ptr());
}

#[cfg(feature = "bytes")]
#[test]
fn retained_large_data_never_pins_an_oversized_buffer() {
    use ssewire::bytes::{BytesDecoder, BytesItem};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // A 1 MiB unknown field grows the line buffer; the 2,000-byte data line
    // after it straddles chunks in that same buffer. Handing the data out
    // of it would pin that 1 MiB buffer: the buffer is shrunk once the
    // short line is all it holds, or the data copied.
    let mut big = b"x: ".to_vec();
    big.resize(1 << 20, b'p');
    let mut data = b"\ndata: ".to_vec();
    data.resize(2000 + 7, b'd');
    let base = live_now();
    let mut kept = Vec::with_capacity(50);
    let holder = live_now() - base;
    let mut dec = BytesDecoder::new();
    for _ in 0..50 {
        for chunk in [&big[..], &data[..], b"\n\n"] {
            dec.feed_all(&bytes::Bytes::copy_from_slice(chunk), |item| {
                if let Ok(BytesItem::Event(ev)) = item {
                    assert_eq!(ev.data().len(), 2000);
                    kept.push(ev);
                }
            });
        }
    }
    drop(dec);
    assert_eq!(kept.len(), 50);
    let retained = live_now() - base - holder;
    eprintln!("50 retained 2,000-byte events hold {retained} bytes");
    // Each pins at most what `Config::max_pin` allows for 2,000 bytes
    // (64 KiB), never the 1 MiB buffer (50 MiB in all).
    assert!(
        retained <= 50 * (64 << 10),
        "50 retained events hold {retained} bytes"
    );
}

#[cfg(feature = "bytes")]
#[test]
fn data_split_after_large_data_never_pins_the_large_allocation() {
    use ssewire::bytes::{BytesDecoder, BytesItem};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // Large data is handed out of the line buffer; the next data line
    // straddles chunks in what is left of that buffer's allocation. Handing
    // it out of there too would make a kept small event pin the whole large
    // allocation once the large event is gone: it must be copied. The large
    // line's length varies, so that what is left of the allocation varies.
    // With `swap`, a comment straddles chunks after the small data line, so
    // the line and data buffers trade places before the data is handed out.
    for (k, swap) in (0..16).flat_map(|k| [(k, false), (k, true)]) {
        let big = (1 << 20) - k * 7919;
        let mut input = b"data: ".to_vec();
        input.resize(6 + big, b'b');
        input.extend_from_slice(b"\n\ndata: ");
        let cut = input.len() + 1000;
        input.resize(input.len() + 2000, b's');
        input.extend_from_slice(if swap { b"\n: a comment\n\n" } else { b"\n\n" });
        let base = live_now();
        let mut large = Vec::new();
        let mut small = Vec::with_capacity(1);
        let holder = live_now() - base;
        let mut dec = BytesDecoder::new();
        let (head, tail) = input.split_at(cut);
        let (middle, tail) = tail.split_at(tail.len() - 8);
        let chunks = head.chunks(4096).chain([middle, tail]);
        for c in chunks {
            dec.feed_all(&bytes::Bytes::copy_from_slice(c), |item| {
                let Ok(BytesItem::Event(ev)) = item else {
                    panic!("{item:?}")
                };
                if ev.data().len() == big {
                    large.push(ev);
                } else {
                    small.push(ev);
                }
            });
        }
        assert_eq!((large.len(), small.len()), (1, 1));
        drop(large);
        drop(dec);
        let retained = live_now() - base - holder;
        assert!(
            retained <= 32 << 10,
            "a kept 2,000-byte event holds {retained} bytes (large line {big}, swap {swap})"
        );
    }
}

#[cfg(feature = "embedded-io")]
#[test]
fn embedded_reader_allocates_nothing() {
    use ssewire::embedded::ItemReader;
    use ssewire::{ArrayBuffer, Buffers, Config};
    struct Mem<'a>(&'a [u8]);
    impl embedded_io::ErrorType for Mem<'_> {
        type Error = core::convert::Infallible;
    }
    impl embedded_io::Read for Mem<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let input = stream(200);
    let (n, events) = allocations(|| {
        let decoder: ssewire::Decoder<ArrayBuffer<512>> =
            ssewire::Decoder::with_buffers(Buffers::default(), &Config::default());
        let mut buf = [0u8; 64];
        let mut r = ItemReader::new(Mem(&input), decoder, &mut buf);
        let mut events = 0;
        while let Some(item) = r.next() {
            if let Ok(Item::Event(_)) = item {
                events += 1;
            }
        }
        events
    });
    assert_eq!(events, 200);
    assert_eq!(n, 0, "allocations through the embedded-io reader");
}

#[cfg(feature = "http-body")]
#[test]
fn event_body_allocates_nothing_per_event_once_warm() {
    use http_body::Body;
    use ssewire::body::EventBody;
    use ssewire::encode::Message;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // A stream that yields one event per poll, then Pending every 3rd poll
    // (as a live source does), forever.
    struct Live(u32);
    impl futures::Stream for Live {
        type Item = Message<'static>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0 += 1;
            if self.0 % 3 == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Some(Message::new("{\"delta\":\"token\"}")))
        }
    }
    let mut body = EventBody::new(Live(0));
    let mut cx = Context::from_waker(Waker::noop());
    let mut poll = |n: usize| {
        let mut bytes = 0;
        for _ in 0..n {
            if let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
                bytes += frame.into_data().map_or(0, |d| d.len()); // the frame is dropped here, as a server does once written
            }
        }
        bytes
    };
    poll(100); // warm
    let (n, bytes) = allocations(|| poll(10_000));
    // Two events are ready per poll, coalesced into one frame.
    assert_eq!(bytes, 10_000 * 2 * "data: {\"delta\":\"token\"}\n\n".len());
    assert_eq!(n, 0, "allocations for 10000 frames of events");
}

/// An upstream that hands `bytes` out one byte per frame, each frame in an
/// allocation of its own of `capacity` bytes, as an HTTP stack's reads can.
#[cfg(feature = "http-body")]
struct OneByteReads {
    bytes: Vec<u8>,
    at: usize,
    capacity: usize,
}

#[cfg(feature = "http-body")]
impl http_body::Body for OneByteReads {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let Some(&b) = self.bytes.get(self.at) else {
            return std::task::Poll::Ready(None);
        };
        self.at += 1;
        let mut read = bytes::BytesMut::with_capacity(self.capacity);
        read.extend_from_slice(&[b]);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(read.freeze()))))
    }
}

/// Peak heap while a `ProxyBody` with `config` filters `upstream` read one
/// byte at a time (each read a 4 KiB allocation), and what came out.
#[cfg(feature = "http-body")]
fn proxy_one_byte_reads(upstream: Vec<u8>, config: &ssewire::Config) -> (usize, Vec<u8>) {
    use http_body::Body;
    use ssewire::body::{ProxyBody, Verdict};
    use std::task::{Context, Poll, Waker};
    let reads = OneByteReads {
        bytes: upstream,
        at: 0,
        capacity: 4096,
    };
    let mut body = ProxyBody::with_config(reads, |_: &ssewire::Event<'_>| Verdict::Pass, config);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    let (peak, ()) = peak_heap(|| {
        while let Poll::Ready(Some(Ok(frame))) = std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            out.extend_from_slice(&frame.into_data().unwrap_or_default());
        }
    });
    (peak, out)
}

#[cfg(feature = "http-body")]
#[test]
fn a_proxy_holds_what_it_counts_whatever_the_upstream_chunking() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // An endless line in 1-byte reads: held up to the line limit, then
    // skipped, never one allocation per read.
    let mut config = ssewire::Config::default();
    config.max_line_len(16 << 10).raw_frames(16 << 10);
    let mut endless = b"data: ".to_vec();
    endless.resize(40_000, b'x');
    let (peak, out) = proxy_one_byte_reads(endless, &config);
    assert!(out.is_empty());
    assert!(peak <= 128 << 10, "{peak} bytes held for a 16 KiB limit");
    // An event of 32 KiB in 1-byte reads, under a 64 KiB frame limit: it
    // goes out whole, and what was held is about its size, not 4 KiB a byte.
    let mut config = ssewire::Config::default();
    config.raw_frames(64 << 10);
    let mut event = b"data: ".to_vec();
    event.resize(32 << 10, b'y');
    event.extend_from_slice(b"\n\n");
    let (peak, out) = proxy_one_byte_reads(event.clone(), &config);
    assert_eq!(out, event);
    assert!(peak <= 256 << 10, "{peak} bytes held for a 32 KiB event");
}
