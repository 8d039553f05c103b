//! Decoder throughput on every workload × chunking, for every output path,
//! beside the memchr2 baseline (finding the line ends and nothing else).
//!
//! `cargo bench --bench decode` (add `--all-features` for the `Bytes` and
//! pass-through rows).
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssewire::{Decoder, Item, LineDecoder};
use workloads::{Workload, CHUNKINGS};

/// The practical floor: count CR and LF in every chunk.
fn memchr2_baseline(chunks: &[&[u8]]) -> usize {
    chunks
        .iter()
        .map(|c| memchr::memchr2_iter(b'\n', b'\r', c).count())
        .sum()
}

/// Borrowed events: returns (events, data bytes).
fn borrowed(chunks: &[&[u8]]) -> (usize, usize) {
    let mut dec = Decoder::new();
    let (mut n, mut bytes) = (0, 0);
    for c in chunks {
        let mut rest = *c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(Item::Event(ev))) => {
                    n += 1;
                    bytes += ev.data().len();
                }
                None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
            }
        }
    }
    (n, bytes)
}

fn owned(chunks: &[&[u8]]) -> (usize, usize) {
    let mut dec = Decoder::new();
    let (mut n, mut bytes) = (0, 0);
    for c in chunks {
        let mut rest = *c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(Item::Event(ev))) => {
                    let ev = black_box(ev.to_owned_event());
                    n += 1;
                    bytes += ev.data.len();
                }
                None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
            }
        }
    }
    (n, bytes)
}

fn lines(chunks: &[&[u8]]) -> usize {
    let mut dec = LineDecoder::new();
    let mut n = 0;
    for c in chunks {
        let mut rest = *c;
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(line)) => {
                    black_box(line);
                    n += 1;
                }
                None => break,
                Some(Err(e)) => panic!("{e}"),
            }
        }
    }
    n
}

#[cfg(feature = "bytes")]
mod with_bytes {
    use bytes::Bytes;
    use ssewire::bytes::{BytesDecoder, BytesItem};

    pub(crate) fn bytes_events(chunks: &[Bytes]) -> (usize, usize) {
        let mut dec = BytesDecoder::new();
        let (mut n, mut len) = (0, 0);
        for c in chunks {
            dec.push(c.clone());
            for item in dec.by_ref() {
                if let Ok(BytesItem::Event(ev)) = item {
                    n += 1;
                    len += ev.data().len();
                }
            }
        }
        (n, len)
    }

    /// The batch path: each chunk by reference, items as they are found.
    pub(crate) fn bytes_feed_all(chunks: &[Bytes]) -> (usize, usize) {
        let mut dec = BytesDecoder::new();
        let (mut n, mut len) = (0, 0);
        for c in chunks {
            dec.feed_all(c, |item| {
                if let Ok(BytesItem::Event(ev)) = item {
                    n += 1;
                    len += ev.data().len();
                }
            });
        }
        (n, len)
    }

    /// Forwards every raw frame into a reused output buffer.
    pub(crate) fn passthrough(chunks: &[Bytes], out: &mut Vec<u8>) -> usize {
        out.clear();
        let mut dec = BytesDecoder::with_config(
            ssewire::Config::default().raw_frames(ssewire::Config::DEFAULT_MAX_FRAME_LEN),
        );
        for c in chunks {
            dec.feed_all(c, |item| match item {
                Ok(BytesItem::Event(ev)) => out.extend_from_slice(ev.raw().unwrap()),
                Ok(BytesItem::Blank { raw: Some(r) }) => out.extend_from_slice(&r),
                _ => {}
            });
        }
        let _ = dec.finish();
        for item in dec {
            if let Ok(BytesItem::Trailing(t)) = item {
                out.extend_from_slice(&t);
            }
        }
        out.len()
    }
}

fn bench(c: &mut Criterion) {
    for w in workloads::all() {
        bench_workload(c, &w);
    }
}

fn bench_workload(c: &mut Criterion, w: &Workload) {
    let mut g = c.benchmark_group(format!("decode/{}", w.name));
    g.throughput(Throughput::Bytes(w.bytes.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for (cname, size) in CHUNKINGS {
        let chunks = workloads::chunks(&w.bytes, size);
        // Check once that the decoder does what the workload says.
        assert_eq!(
            borrowed(&chunks),
            (w.events, w.data_bytes),
            "{} {cname}",
            w.name
        );
        g.bench_with_input(
            BenchmarkId::new("memchr2_baseline", cname),
            &chunks,
            |b, ch| b.iter(|| memchr2_baseline(ch)),
        );
        g.bench_with_input(BenchmarkId::new("borrowed", cname), &chunks, |b, ch| {
            b.iter(|| borrowed(ch));
        });
        g.bench_with_input(BenchmarkId::new("lines", cname), &chunks, |b, ch| {
            b.iter(|| lines(ch));
        });
        g.bench_with_input(BenchmarkId::new("owned", cname), &chunks, |b, ch| {
            b.iter(|| owned(ch));
        });
        #[cfg(feature = "bytes")]
        {
            let all = bytes::Bytes::from(w.bytes.clone());
            let bchunks: Vec<bytes::Bytes> = workloads::chunks(&all, size)
                .into_iter()
                .map(|c| all.slice_ref(c))
                .collect();
            assert_eq!(with_bytes::bytes_events(&bchunks), (w.events, w.data_bytes));
            assert_eq!(
                with_bytes::bytes_feed_all(&bchunks),
                (w.events, w.data_bytes)
            );
            let mut out = Vec::with_capacity(w.bytes.len());
            assert_eq!(with_bytes::passthrough(&bchunks, &mut out), w.bytes.len());
            assert_eq!(out, w.bytes);
            g.bench_with_input(BenchmarkId::new("bytes", cname), &bchunks, |b, ch| {
                b.iter(|| with_bytes::bytes_events(ch));
            });
            g.bench_with_input(
                BenchmarkId::new("bytes_feed_all", cname),
                &bchunks,
                |b, ch| b.iter(|| with_bytes::bytes_feed_all(ch)),
            );
            g.bench_with_input(BenchmarkId::new("passthrough", cname), &bchunks, |b, ch| {
                b.iter(|| with_bytes::passthrough(ch, &mut out));
            });
        }
    }
    g.finish();
}

// criterion's macros generate an undocumented public function.
criterion_group!(benches, bench);
criterion_main!(benches);
