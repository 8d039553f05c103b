//! Memory a decoder keeps once it is idle, and the most it holds while a
//! large event is in flight: counted by a counting allocator, for every
//! kind of decoder and every way of feeding it that left memory behind
//! before (issue 32).
//!
//! "Idle" here is what a long-lived connection is between events: the
//! last chunk was decoded, the caller took what it wanted, and nothing
//! more has arrived. A large event must not leave its size behind then,
//! however the chunks fell and however the caller's loop stopped.
#![cfg(all(feature = "bytes", feature = "std"))]

#[path = "common/counting.rs"]
mod counting;

use bytes::Bytes;
use counting::{live_now, peak_heap, LOCK};
use ssewire::bytes::{BytesDecoder, BytesItem};
use ssewire::{Config, Decoder, Item};

/// Decoders of each kind kept idle at once: the heap they hold is counted
/// together and divided, so that one allocator's rounding does not decide.
/// 1,000 in a release build (`.ci/run` runs this file so), 20 in a debug
/// one, where decoding 4 MiB a thousand times per case takes minutes;
/// `MEMORY_IDLE=N` sets it.
fn idle_count() -> usize {
    match std::env::var("MEMORY_IDLE") {
        Ok(n) => n.parse().expect("MEMORY_IDLE: a number"),
        Err(_) if cfg!(debug_assertions) => 20,
        Err(_) => 1000,
    }
}

/// What an idle decoder may keep: `Config::DEFAULT_MAX_IDLE_BUFFER`.
const KEEP: usize = 16 << 10;

/// The large event: 4 MiB.
const LARGE: usize = 4 << 20;

/// A way of feeding a stream: the chunks, each a `Bytes`.
struct Way {
    name: &'static str,
    chunks: Vec<Bytes>,
}

/// `bytes` in 64 KiB reads, then each of `after` as a read of its own.
fn reads(bytes: &[u8], after: &[&[u8]]) -> Vec<Bytes> {
    let mut out: Vec<Bytes> = bytes.chunks(64 << 10).map(Bytes::copy_from_slice).collect();
    out.extend(after.iter().map(|a| Bytes::copy_from_slice(a)));
    out
}

/// `field: ` + `n` bytes + LF.
fn line(field: &str, n: usize, fill: u8) -> Vec<u8> {
    let mut v = format!("{field}: ").into_bytes();
    v.resize(v.len() + n, fill);
    v.push(b'\n');
    v
}

/// The ways a large event left memory behind.
fn ways() -> Vec<Way> {
    let mut data = line("data", LARGE, b'x');
    data.push(b'\n');
    let mut ty = line("event", LARGE, b't');
    ty.extend_from_slice(b"data: x\n\n");
    let mut id = line("id", LARGE, b'i');
    id.extend_from_slice(b"data: x\n\n");
    vec![
        Way {
            // The last read ends one byte into the next line.
            name: "4 MiB data, then one byte of the next line",
            chunks: reads(&data, &[b"d"]),
        },
        Way {
            // Each read ends exactly where an event does (a server that
            // flushes per event): a feed loop that stops at
            // `consumed == len` never makes the call that returns `None`.
            name: "4 MiB data, then small events, a read each",
            chunks: reads(&data, &[b"data: a\n\n", b"data: b\n\n"]),
        },
        Way {
            name: "a 4 MiB event type, then small events",
            chunks: reads(&ty, &[b"data: a\n\n", b"data: b\n\n"]),
        },
        Way {
            // Inside one read of 1 MiB: copied (the read is larger than
            // `max_pin` allows to pin for it).
            name: "200 KiB data inside a 1 MiB read, then small events",
            chunks: {
                let mut read = line("data", 200 << 10, b'x');
                read.push(b'\n');
                read.resize(1 << 20, b'\n');
                let mut v = vec![Bytes::from(read)];
                v.extend([Bytes::from_static(b"data: a\n\n")]);
                v
            },
        },
    ]
}

/// A kind of decoder: make one, feed it a way's reads, dropping every item.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    run: fn(&[Bytes]) -> Box<dyn std::any::Any>,
}

fn decoder_feed_all(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    let mut dec = Decoder::new();
    for c in chunks {
        dec.feed_all(c, |_| {});
    }
    Box::new(dec)
}

/// The loop users write: feed until the read is used up, without the call
/// that would return `None`.
fn decoder_feed_loop(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    let mut dec = Decoder::new();
    for c in chunks {
        let mut rest = &c[..];
        while !rest.is_empty() {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            if let Some(Ok(Item::Event(ev))) = f.item {
                std::hint::black_box(ev.data().len());
            }
        }
    }
    Box::new(dec)
}

fn bytes_feed_all(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    let mut dec = BytesDecoder::new();
    for c in chunks {
        dec.feed_all(c, drop);
    }
    Box::new(dec)
}

fn bytes_iterator(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    let mut dec = BytesDecoder::new();
    for c in chunks {
        dec.push(c.clone());
        for item in dec.by_ref() {
            drop(item);
        }
    }
    Box::new(dec)
}

fn bytes_lent(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    let mut dec = BytesDecoder::new();
    for c in chunks {
        dec.push_slice(c);
        for item in dec.by_ref() {
            drop(item);
        }
    }
    Box::new(dec)
}

fn io_reader(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    // Reads of exactly these chunks, then "would block" forever after: an
    // idle connection.
    struct Reads(std::collections::VecDeque<Bytes>);
    impl std::io::Read for Reads {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(c) = self.0.front_mut() else {
                return Err(std::io::ErrorKind::WouldBlock.into());
            };
            let n = c.len().min(buf.len());
            buf[..n].copy_from_slice(&c[..n]);
            bytes::Buf::advance(c, n);
            if c.is_empty() {
                self.0.pop_front();
            }
            Ok(n)
        }
    }
    let mut reader = ssewire::io::EventReader::new(Reads(chunks.iter().cloned().collect()));
    for item in reader.by_ref() {
        if item.is_err() {
            break;
        }
    }
    Box::new(reader)
}

#[cfg(feature = "futures")]
fn event_stream(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    use futures::{Stream, StreamExt};
    // The chunks, then a stream that stays pending: an idle connection.
    let owned: Vec<Bytes> = chunks.to_vec();
    let input = futures::stream::iter(owned.into_iter().map(Ok::<_, std::io::Error>))
        .chain(futures::stream::pending());
    let mut s = Box::pin(ssewire::stream::EventStream::new(input));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    while let std::task::Poll::Ready(Some(item)) = s.as_mut().poll_next(&mut cx) {
        drop(item);
    }
    Box::new(s)
}

#[cfg(feature = "tokio-util")]
fn codec(chunks: &[Bytes]) -> Box<dyn std::any::Any> {
    use tokio_util::codec::Decoder as _;
    // As `FramedRead` drives it: each read appended to its buffer, then
    // `decode` until it returns `None`.
    let mut codec = ssewire::codec::SseCodec::new();
    let mut buf = bytes::BytesMut::new();
    for c in chunks {
        buf.extend_from_slice(c);
        while let Ok(Some(item)) = codec.decode(&mut buf) {
            drop(item);
        }
    }
    // The read buffer is `FramedRead`'s (it keeps its largest read, as
    // tokio-util does for every codec): what the codec holds is counted.
    drop(buf);
    Box::new(codec)
}

fn kinds() -> Vec<Kind> {
    let mut kinds = KINDS.to_vec();
    #[cfg(feature = "futures")]
    kinds.push(Kind {
        name: "stream::EventStream",
        run: event_stream,
    });
    #[cfg(feature = "tokio-util")]
    kinds.push(Kind {
        name: "codec::SseCodec",
        run: codec,
    });
    kinds
}

const KINDS: &[Kind] = &[
    Kind {
        name: "Decoder::feed_all",
        run: decoder_feed_all,
    },
    Kind {
        name: "Decoder::feed, loop stops at consumed == len",
        run: decoder_feed_loop,
    },
    Kind {
        name: "BytesDecoder::feed_all",
        run: bytes_feed_all,
    },
    Kind {
        name: "BytesDecoder push + iterator",
        run: bytes_iterator,
    },
    Kind {
        name: "BytesDecoder push_slice + iterator",
        run: bytes_lent,
    },
    Kind {
        name: "io::EventReader",
        run: io_reader,
    },
];

#[test]
fn idle_decoders_keep_little_after_a_large_event_however_fed() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut report = Vec::new();
    let mut over = Vec::new();
    let idle_n = idle_count();
    eprintln!("{idle_n} idle decoders of each kind, fed each way");
    for way in ways() {
        for kind in kinds() {
            let base = live_now();
            let mut idle = Vec::with_capacity(idle_n);
            let holder = live_now() - base;
            for _ in 0..idle_n {
                idle.push((kind.run)(&way.chunks));
            }
            let each = (live_now() - base - holder) as usize / idle_n;
            report.push(format!("{:>9} B each: {}, {}", each, kind.name, way.name));
            if each > KEEP {
                over.push(format!("{}, {}: {each} bytes each", kind.name, way.name));
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        over.is_empty(),
        "idle decoders over {KEEP} bytes:\n{}",
        over.join("\n")
    );
}

#[test]
fn retained_small_events_from_slices_of_large_reads_pin_little() {
    // HTTP stacks hand out reads as slices of larger buffers; `Bytes` does
    // not show the allocation behind a slice. 200 one-byte events, each
    // from a 9-byte slice of its own 1 MiB buffer, retained: copied, not
    // sharing (and pinning) the 1 MiB buffers.
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for push in [false, true] {
        let base = live_now();
        let mut kept = Vec::with_capacity(200);
        let holder = live_now() - base;
        let mut dec = BytesDecoder::new();
        for _ in 0..200 {
            let mut buffer = vec![b':'; 1 << 20];
            buffer[..9].copy_from_slice(b"data: x\n\n");
            let read = Bytes::from(buffer).slice(..9);
            let mut take = |item| {
                if let Ok(BytesItem::Event(ev)) = item {
                    kept.push(ev);
                }
            };
            if push {
                dec.push(read);
                dec.by_ref().for_each(&mut take);
            } else {
                dec.feed_all(&read, &mut take);
            }
        }
        drop(dec);
        assert_eq!(kept.len(), 200);
        let retained = (live_now() - base - holder) as usize;
        eprintln!("push {push}: 200 retained events hold {retained} bytes");
        assert!(retained <= 1 << 20, "push {push}: {retained} bytes");
    }
}

#[test]
fn retained_short_events_hold_no_heap_of_their_own() {
    // A type, data and id of up to 23 bytes are held inline in the event:
    // a queue of heartbeats or pings keeps no copy block and no input
    // chunk alive, whatever the chunking. (Before, short data was copied
    // into 4 KiB blocks that the retained events kept alive.)
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let input: String = (0..1000)
        .map(|i| format!("event: tick\nid: {i}\ndata: tick number {i}\n\n"))
        .collect();
    for size in [7, 61, 4096, input.len()] {
        for push in [false, true] {
            let base = live_now();
            let mut kept = Vec::with_capacity(1000);
            let holder = live_now() - base;
            let mut dec = BytesDecoder::new();
            for c in input.as_bytes().chunks(size) {
                let mut take = |item| {
                    if let Ok(BytesItem::Event(ev)) = item {
                        kept.push(ev);
                    }
                };
                if push {
                    dec.push(Bytes::copy_from_slice(c));
                    dec.by_ref().for_each(&mut take);
                } else {
                    dec.feed_all(&Bytes::copy_from_slice(c), &mut take);
                }
            }
            drop(dec);
            assert_eq!(kept.len(), 1000);
            assert_eq!(kept[999].data(), b"tick number 999");
            assert_eq!(kept[999].last_event_id(), b"999");
            let retained = live_now() - base - holder;
            assert_eq!(retained, 0, "chunks of {size}, push {push}");
        }
    }
}

/// Two data lines of the longest length the default limits accept (16 MiB
/// - 1), which join to almost the data limit (32 MiB), in 64 KiB reads.
fn two_longest_lines() -> Vec<Bytes> {
    let mut input = Vec::new();
    for _ in 0..2 {
        input.extend_from_slice(&line("data", Config::DEFAULT_MAX_LINE_LEN - 7, b'x'));
    }
    input.push(b'\n');
    reads(&input, &[])
}

#[test]
fn peak_memory_on_the_largest_event_is_what_the_docs_say() {
    // The `Config` docs: with growable buffers a decoder holds at most
    // about `max_line_len + max_data_len` plus an eighth while the largest
    // event is in flight; with raw frames, plus the block's raw bytes
    // (plus an eighth).
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let chunks = two_longest_lines();
    let limits = Config::DEFAULT_MAX_LINE_LEN + Config::DEFAULT_MAX_DATA_LEN;
    let bound = limits + limits / 8;
    let frame = chunks.iter().map(Bytes::len).sum::<usize>();
    let raw_bound = bound + frame + frame / 8;
    let mut raw = Config::default();
    raw.raw_frames(Config::DEFAULT_MAX_FRAME_LEN);
    // The input itself is counted out: it is the caller's.
    let runs: [(&str, usize, &dyn Fn() -> usize); 4] = [
        ("Decoder", bound, &|| {
            let mut dec = Decoder::new();
            let mut n = 0;
            for c in &chunks {
                dec.feed_all(c, |item| {
                    n += usize::from(matches!(item, Ok(Item::Event(_))));
                });
            }
            n
        }),
        ("BytesDecoder", bound, &|| {
            let mut dec = BytesDecoder::new();
            let mut n = 0;
            for c in &chunks {
                dec.feed_all(c, |item| {
                    n += usize::from(matches!(item, Ok(BytesItem::Event(_))));
                });
            }
            n
        }),
        ("BytesDecoder, push + iterator", bound, &|| {
            let mut dec = BytesDecoder::new();
            let mut n = 0;
            for c in &chunks {
                dec.push(c.clone());
                n += dec
                    .by_ref()
                    .filter(|i| matches!(i, Ok(BytesItem::Event(_))))
                    .count();
            }
            n
        }),
        ("BytesDecoder, raw frames", raw_bound, &|| {
            let mut dec = BytesDecoder::with_config(&raw);
            let mut n = 0;
            for c in &chunks {
                dec.feed_all(c, |item| {
                    n += usize::from(matches!(item, Ok(BytesItem::Event(_))));
                });
            }
            n
        }),
    ];
    let mut over = Vec::new();
    for (name, bound, run) in runs {
        let (peak, events) = peak_heap(run);
        assert_eq!(events, 1, "{name}");
        eprintln!(
            "{name}: peak {} KiB (bound {} KiB)",
            peak >> 10,
            bound >> 10
        );
        if peak > bound {
            over.push(format!(
                "{name}: {} KiB over {} KiB",
                peak >> 10,
                bound >> 10
            ));
        }
    }
    assert!(over.is_empty(), "{over:?}");
}
