//! Linear time, shown by counted work rather than clocks: the decoder
//! examines each input byte once (plus at most once more when splitting a
//! field), however the input is chunked.
//!
//! The work counters exist in debug builds only (they cost nothing in
//! release), so these tests run in the default `cargo test` profile.
#![cfg(debug_assertions)]

use ssewire::{Buffers, Config, Decoder, Item, LineDecoder, SliceBuffer};

fn feed_all<B: ssewire::Buffer>(dec: &mut Decoder<B>, input: &[u8], chunk: usize) -> usize {
    let mut events = 0;
    for c in input.chunks(chunk) {
        let mut rest = c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(Item::Event(_))) => events += 1,
                None => break,
                Some(Ok(_) | Err(_)) => {}
            }
        }
    }
    events
}

fn fixed_decoder<'s>(storage: &'s mut [u8], config: &Config) -> Decoder<SliceBuffer<'s>> {
    let fifth = storage.len() / 5;
    let (line, rest) = storage.split_at_mut(fifth);
    let (data, rest) = rest.split_at_mut(fifth);
    let (ty, rest) = rest.split_at_mut(fifth);
    let (id, pending) = rest.split_at_mut(fifth);
    Decoder::with_buffers(
        Buffers {
            line: SliceBuffer::new(line),
            data: SliceBuffer::new(data),
            event_type: SliceBuffer::new(ty),
            last_event_id: SliceBuffer::new(id),
            pending_id: SliceBuffer::new(pending),
        },
        config,
    )
}

#[test]
fn long_line_in_one_byte_chunks_examines_each_byte_once() {
    const LEN: usize = 4 << 20;
    let mut input = b"data: ".to_vec();
    input.resize(LEN, b'a');
    input.extend_from_slice(b"\n\n");
    let mut config = Config::default();
    config.max_line_len(usize::MAX).max_data_len(usize::MAX);
    let mut storage = vec![0u8; 5 * (LEN + 16)];
    for chunk in [input.len(), 4096, 1] {
        let mut dec = fixed_decoder(&mut storage, &config);
        assert_eq!(feed_all(&mut dec, &input, chunk), 1);
        let work = dec.bytes_examined();
        // Each byte once by the scanner; the field splitter stops at the
        // colon of a `data` line.
        assert!(work >= input.len() as u64);
        assert!(
            work <= input.len() as u64 + 16,
            "chunk {chunk}: {work} for {} bytes",
            input.len()
        );
    }
}

#[test]
fn work_is_the_same_for_every_chunking() {
    let mut input = Vec::new();
    for i in 0..500 {
        input.extend_from_slice(
            format!(
                ": c\r\nid: {i}\r\nevent: e\r\ndata: {}\r\ndata: x\r\n\r\n",
                "y".repeat(i % 97)
            )
            .as_bytes(),
        );
    }
    input.extend_from_slice(b"retry: 100\nfoo\n");
    let mut storage = vec![0u8; 5 * input.len()];
    let mut baseline = None;
    for chunk in [input.len(), 4096, 61, 3, 1] {
        let mut dec = fixed_decoder(&mut storage, &Config::default());
        assert_eq!(feed_all(&mut dec, &input, chunk), 500);
        let work = dec.bytes_examined();
        assert!(work < 2 * input.len() as u64);
        match baseline {
            None => baseline = Some(work),
            Some(b) => assert_eq!(work, b, "chunk size {chunk}"),
        }
    }
}

#[test]
fn line_decoder_examines_each_byte_once() {
    let mut input = vec![b'z'; 1 << 20];
    input.extend_from_slice(b"\r\n:x\r\r\n");
    let mut storage = vec![0u8; 2 << 20];
    let mut dec = LineDecoder::with_buffer(SliceBuffer::new(&mut storage), &Config::default());
    let mut lines = 0;
    for c in input.chunks(1) {
        let mut rest = c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(_)) => lines += 1,
                None => break,
                Some(Err(e)) => panic!("{e}"),
            }
        }
    }
    assert_eq!(lines, 3);
    assert_eq!(dec.bytes_examined(), input.len() as u64);
}
