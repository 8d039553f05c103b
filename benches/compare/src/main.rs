//! Side-by-side comparison of ssewire with the SSE crates people use today,
//! on the same workloads and chunkings, in one process, with interleaved
//! rounds. Prints a Markdown table.
//!
//! ```sh
//! cd benches/compare && cargo run --release
//! ```
//! Options: `--rounds N` (default 5), `--runs N` (run N times, each in its
//! own process, and print the median of every number), `--only WORKLOAD`, `--chunking
//! whole|4k|61b`, `--impl TEXT` (only decoders whose name contains TEXT,
//! for profiling), `--budget
//! SECONDS` (default 3: a peer whose run takes longer is cut off and
//! marked). `cargo run --profile plain` measures cargo's default release
//! settings instead of the LTO build.

#[path = "../../workloads/mod.rs"]
mod workloads;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::executor::block_on;
use futures::stream::{self, StreamExt};

// ---------------------------------------------------------------------------
// Counting allocator: allocations, current and peak heap.

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        if n > l.size() {
            let now = CURRENT.fetch_add(n - l.size(), Relaxed) + n - l.size();
            PEAK.fetch_max(now, Relaxed);
        } else {
            CURRENT.fetch_sub(l.size() - n, Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One measurement: time and allocations per run of an implementation.
#[derive(Clone, Copy)]
struct Run {
    time: Duration,
    events: usize,
    data: usize,
    allocs: usize,
    peak: usize,
}

/// Reads every input byte once, so that each implementation starts from the
/// same cache state: the input just read, as when it has just arrived from
/// the network, whatever the implementation before it left behind.
fn warm(chunks: &[Bytes]) {
    let x = chunks
        .iter()
        .fold(0u8, |acc, c| c.iter().fold(acc, |a, &b| a ^ b));
    std::hint::black_box(x);
}

/// How long one measurement runs at least: an implementation that gets
/// through a 16 MiB workload in a fraction of a millisecond is run again
/// and again until this much time has passed, and the time per run is the
/// mean. A single run of 0.2-0.5 ms (the `big` workload fed whole) measured
/// a bare memchr2 count at 46 or 74 GB/s in the same build, depending on
/// which implementations ran before it.
const MIN_MEASURE: Duration = Duration::from_millis(20);

/// Runs `f` until [`MIN_MEASURE`] has passed (at least once): the time and
/// allocations per run, the last run's result, and the peak heap of any.
fn measure(f: &mut dyn FnMut() -> (usize, usize)) -> Run {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let a0 = ALLOCS.load(Relaxed);
    let t = Instant::now();
    let mut reps = 0u32;
    let (events, data) = loop {
        let out = f();
        reps += 1;
        if t.elapsed() >= MIN_MEASURE {
            break out;
        }
    };
    let time = t.elapsed() / reps;
    Run {
        time,
        events,
        data,
        allocs: (ALLOCS.load(Relaxed) - a0) / reps as usize,
        peak: PEAK.load(Relaxed).saturating_sub(base),
    }
}

// ---------------------------------------------------------------------------
// Input adapters for the peers' intended APIs.

fn byte_stream(
    chunks: &[Bytes],
) -> impl futures::Stream<Item = Result<Bytes, io::Error>> + Unpin + '_ {
    stream::iter(chunks.iter().cloned().map(Ok))
}

/// An `AsyncRead` returning at most one chunk per read.
struct ChunkReader<'a> {
    chunks: &'a [Bytes],
    i: usize,
    off: usize,
}

impl futures::io::AsyncRead for ChunkReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let Some(c) = self.chunks.get(self.i) else {
            return Poll::Ready(Ok(0));
        };
        let n = (c.len() - self.off).min(buf.len());
        buf[..n].copy_from_slice(&c[self.off..self.off + n]);
        self.off += n;
        if self.off == c.len() {
            self.i += 1;
            self.off = 0;
        }
        Poll::Ready(Ok(n))
    }
}

// ---------------------------------------------------------------------------
// Decoders. Each returns (events dispatched, total data bytes).

type Decode = fn(&[Bytes]) -> (usize, usize);

fn memchr2_baseline(chunks: &[Bytes]) -> (usize, usize) {
    let n = chunks
        .iter()
        .map(|c| memchr::memchr2_iter(b'\n', b'\r', c).count())
        .sum();
    (n, 0)
}

/// Counts line ends with memchr2 and copies every line (its part in each
/// chunk) into one reused buffer: the least any decoder pays that copies
/// each line out of its chunk once, as the `Bytes` path does under
/// `max_pin` on `big` whole.
fn memchr2_copy_baseline(chunks: &[Bytes]) -> (usize, usize) {
    let mut line: Vec<u8> = Vec::new();
    let (mut n, mut copied) = (0, 0);
    for c in chunks {
        let mut from = 0;
        for at in memchr::memchr2_iter(b'\n', b'\r', c).chain([c.len()]) {
            line.clear();
            line.extend_from_slice(&c[from..at]);
            copied += std::hint::black_box(&line).len();
            n += usize::from(at < c.len());
            from = at + 1;
        }
    }
    (n, copied)
}

fn ssewire_borrowed(chunks: &[Bytes]) -> (usize, usize) {
    let mut dec = ssewire::Decoder::new();
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        dec.feed_all(c, |step| {
            if let Ok(ssewire::Item::Event(ev)) = step {
                n += 1;
                d += ev.data().len();
            }
        });
    }
    (n, d)
}

fn ssewire_one_step(chunks: &[Bytes]) -> (usize, usize) {
    let mut dec = ssewire::Decoder::new();
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        let mut rest = &c[..];
        loop {
            let f = dec.feed(rest);
            rest = &rest[f.consumed..];
            match f.item {
                Some(Ok(ssewire::Item::Event(ev))) => {
                    n += 1;
                    d += ev.data().len();
                }
                None => break,
                _ => {}
            }
        }
    }
    (n, d)
}

/// The `Bytes` batch path: `BytesDecoder::feed_all` takes each chunk by
/// reference and hands out items as it finds them.
fn ssewire_bytes(chunks: &[Bytes]) -> (usize, usize) {
    bytes_feed_all(ssewire::bytes::BytesDecoder::new(), chunks)
}

fn bytes_feed_all(mut dec: ssewire::bytes::BytesDecoder, chunks: &[Bytes]) -> (usize, usize) {
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        dec.feed_all(c, |item| {
            if let Ok(ssewire::bytes::BytesItem::Event(ev)) = item {
                n += 1;
                d += ev.data().len();
            }
        });
    }
    (n, d)
}

/// The `Bytes` iterator: chunks pushed by value, items taken one at a time.
fn ssewire_bytes_iter(chunks: &[Bytes]) -> (usize, usize) {
    let mut dec = ssewire::bytes::BytesDecoder::new();
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        dec.push(c.clone());
        for item in dec.by_ref() {
            if let Ok(ssewire::bytes::BytesItem::Event(ev)) = item {
                n += 1;
                d += ev.data().len();
            }
        }
    }
    (n, d)
}

/// The `Bytes` path with sharing unbounded (`max_pin` off): what the
/// default's copying of small fields from huge reads costs.
fn ssewire_bytes_pin_all(chunks: &[Bytes]) -> (usize, usize) {
    let mut config = ssewire::Config::default();
    config.max_pin(usize::MAX);
    bytes_feed_all(ssewire::bytes::BytesDecoder::with_config(&config), chunks)
}

/// sse-core's `next` takes any `bytes::Buf`: the chunk slice itself.
fn sse_core_slice(chunks: &[Bytes]) -> (usize, usize) {
    let mut dec = sse_core::SseDecoder::with_limit(std::num::NonZeroUsize::MAX);
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        let mut buf: &[u8] = c;
        while let Some(ev) = dec.next(&mut buf) {
            if let Ok(sse_core::SseEvent::Message(m)) = ev {
                n += 1;
                d += m.data.len();
            }
        }
    }
    (n, d)
}

/// sse-core fed the chunk as `Bytes` (its `copy_to_bytes` shares them).
fn sse_core(chunks: &[Bytes]) -> (usize, usize) {
    let mut dec = sse_core::SseDecoder::with_limit(std::num::NonZeroUsize::MAX);
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        let mut buf = c.clone();
        while let Some(ev) = dec.next(&mut buf) {
            if let Ok(sse_core::SseEvent::Message(m)) = ev {
                n += 1;
                d += m.data.len();
            }
        }
    }
    (n, d)
}

fn sse_stream(chunks: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let mut s = sse_stream::SseByteStream::new(byte_stream(chunks));
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(sse_stream::Sse {
                data: Some(data), ..
            }) = item
            {
                n += 1;
                d += data.len();
            }
        }
        (n, d)
    })
}

fn sseer(chunks: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let mut s = sseer::EventStream::new(byte_stream(chunks));
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(ev) = item {
                n += 1;
                d += ev.data.len();
            }
        }
        (n, d)
    })
}

fn sse_parse(chunks: &[Bytes]) -> (usize, usize) {
    let mut p = sse_parse::SseParser::new().max_buffer(usize::MAX);
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        p.feed(c);
        while let Some(ev) = p.next_event() {
            n += 1;
            d += ev.data.len();
        }
    }
    (n, d)
}

fn eventsource_stream(chunks: &[Bytes]) -> (usize, usize) {
    use eventsource_stream::Eventsource;
    block_on(async {
        let mut s = byte_stream(chunks).eventsource();
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(ev) = item {
                n += 1;
                d += ev.data.len();
            }
        }
        (n, d)
    })
}

fn sse_codec(chunks: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let mut s = sse_codec::decode_stream(ChunkReader {
            chunks,
            i: 0,
            off: 0,
        });
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(sse_codec::Event::Message { data, .. }) = item {
                n += 1;
                d += data.len();
            }
        }
        (n, d)
    })
}

fn async_sse(chunks: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let cap = chunks.first().map_or(8192, |c| c.len().clamp(64, 1 << 20));
        let reader = futures::io::BufReader::with_capacity(
            cap,
            ChunkReader {
                chunks,
                i: 0,
                off: 0,
            },
        );
        let mut s = async_sse::decode(reader);
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(async_sse::Event::Message(m)) = item {
                n += 1;
                d += m.data().len();
            }
        }
        (n, d)
    })
}

fn tokio_sse_codec(chunks: &[Bytes]) -> (usize, usize) {
    use tokio_util::codec::Decoder;
    let mut dec = tokio_sse_codec::SseDecoder::<String>::with_max_size(usize::MAX);
    let mut buf = BytesMut::new();
    let (mut n, mut d) = (0, 0);
    let mut count = |f: tokio_sse_codec::Frame<String>| {
        if let tokio_sse_codec::Frame::Event(ev) = f {
            n += 1;
            d += ev.data.len();
        }
    };
    for c in chunks {
        buf.extend_from_slice(c);
        while let Ok(Some(f)) = dec.decode(&mut buf) {
            count(f);
        }
    }
    while let Ok(Some(f)) = dec.decode_eof(&mut buf) {
        count(f);
    }
    (n, d)
}

const DECODERS: &[(&str, Decode)] = &[
    ("memchr2 baseline", memchr2_baseline),
    ("memchr2 + copy baseline", memchr2_copy_baseline),
    ("ssewire (borrowed)", ssewire_borrowed),
    ("ssewire (borrowed, one step)", ssewire_one_step),
    ("ssewire (Bytes)", ssewire_bytes),
    ("ssewire (Bytes, iterator)", ssewire_bytes_iter),
    ("ssewire (Bytes, max_pin off)", ssewire_bytes_pin_all),
    ("sse-core (&[u8])", sse_core_slice),
    ("sse-core (Bytes)", sse_core),
    ("sse-stream", sse_stream),
    ("sseer", sseer),
    ("sse-parse", sse_parse),
    ("eventsource-stream", eventsource_stream),
    ("sse-codec", sse_codec),
    ("async-sse", async_sse),
    ("tokio_sse_codec", tokio_sse_codec),
];

// ---------------------------------------------------------------------------
// Encoders. Each encodes every event and returns (events, bytes written).

type Ev = (String, String, String);
type Encode = fn(&[Ev], &mut Vec<u8>) -> (usize, usize);

fn enc_ssewire(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    use ssewire::encode::{Encode, EventId, EventType, Message};
    out.clear();
    for (ty, data, id) in evs {
        let mut ev = Message::new(data);
        if ty != "message" {
            ev = ev.event_type(EventType::new(ty).unwrap());
        }
        if !id.is_empty() {
            ev = ev.id(EventId::new(id).unwrap());
        }
        ev.encode_vec(out);
    }
    (evs.len(), out.len())
}

fn enc_concat(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    out.clear();
    for (ty, data, id) in evs {
        if ty != "message" {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(ty.as_bytes());
            out.push(b'\n');
        }
        if !id.is_empty() {
            out.extend_from_slice(b"id: ");
            out.extend_from_slice(id.as_bytes());
            out.push(b'\n');
        }
        // Data from the decoder holds only LF line breaks: one `data:`
        // line per line is all a correct naive writer must do.
        for line in data.split('\n') {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    (evs.len(), out.len())
}

fn enc_format(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    out.clear();
    for (ty, data, id) in evs {
        let mut s = format!("event: {ty}\nid: {id}\n");
        for line in data.split('\n') {
            s += &format!("data: {line}\n");
        }
        s.push('\n');
        out.extend_from_slice(s.as_bytes());
    }
    (evs.len(), out.len())
}

fn enc_axum(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    out.clear();
    let events = evs.iter().map(|(ty, data, id)| {
        let mut e = Event::default().data(data);
        if ty != "message" {
            e = e.event(ty);
        }
        if !id.is_empty() {
            e = e.id(id);
        }
        Ok::<_, Infallible>(e)
    });
    // axum's `Sse` needs a `'static` stream: build the events first.
    let events: Vec<_> = events.collect();
    let body = Sse::new(stream::iter(events)).into_response().into_body();
    let bytes = block_on(axum::body::to_bytes(body, usize::MAX)).unwrap();
    out.extend_from_slice(&bytes);
    (evs.len(), out.len())
}

fn enc_sse_stream(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    out.clear();
    for (ty, data, id) in evs {
        let sse = sse_stream::Sse {
            event: (ty != "message").then(|| ty.clone()),
            data: Some(data.clone()),
            id: (!id.is_empty()).then(|| id.clone()),
            retry: None,
        };
        out.extend_from_slice(&sse.encode().unwrap());
    }
    (evs.len(), out.len())
}

fn enc_sse_codec(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    use std::io::Write;
    out.clear();
    for (ty, data, id) in evs {
        let ev = sse_codec::Event::message(ty, data, (!id.is_empty()).then_some(id.as_str()));
        // What `SSECodec`'s `Encoder::encode` does: the event, then the
        // blank line that ends it.
        writeln!(out, "{ev}").unwrap();
    }
    (evs.len(), out.len())
}

fn enc_actix(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    use actix_web_lab::sse::{Data, Event, Sse};
    out.clear();
    let events: Vec<Event> = evs
        .iter()
        .map(|(ty, data, id)| {
            let mut d = Data::new(data.clone());
            if ty != "message" {
                d = d.event(ty.clone());
            }
            if !id.is_empty() {
                d = d.id(id.clone());
            }
            Event::from(d)
        })
        .collect();
    let body = Sse::from_infallible_stream(stream::iter(events));
    let bytes = block_on(actix_web::body::to_bytes(body)).unwrap();
    out.extend_from_slice(&bytes);
    (evs.len(), out.len())
}

/// Decodes an encoder's output and compares it with the events it was given.
fn check_encoded(out: &[u8], evs: &[Ev]) -> String {
    let mut got = 0;
    let mut first_bad = None;
    let mut dec = ssewire::Decoder::new();
    dec.feed_all(out, |s| {
        if let Ok(ssewire::Item::Event(ev)) = s {
            let same = evs.get(got).is_some_and(|(ty, data, id)| {
                ev.event_type_lossy() == ty.as_str()
                    && ev.data_lossy() == data.as_str()
                    && ev.last_event_id_lossy() == id.as_str()
            });
            if !same && first_bad.is_none() {
                first_bad = Some(got);
            }
            got += 1;
        }
    });
    match first_bad {
        None if got == evs.len() => "ok".into(),
        None => format!("MISMATCH ({got} events decoded, want {})", evs.len()),
        Some(i) => format!("MISMATCH (event {i} decodes differently)"),
    }
}

/// The `http-body` server body: events from a stream into the collected
/// response body (borrowed messages: no allocation per event).
fn enc_ssewire_body(evs: &[Ev], out: &mut Vec<u8>) -> (usize, usize) {
    use http_body_util::BodyExt;
    use ssewire::encode::{EventId, EventType, Message};
    out.clear();
    let items = evs.iter().map(|(ty, data, id)| {
        let mut ev = Message::new(data);
        if ty != "message" {
            ev = ev.event_type(EventType::new(ty).unwrap());
        }
        if !id.is_empty() {
            ev = ev.id(EventId::new(id).unwrap());
        }
        ev
    });
    let body = ssewire::body::EventBody::new(stream::iter(items));
    let mut body = std::pin::pin!(body);
    block_on(async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                out.extend_from_slice(&data);
            }
        }
    });
    (evs.len(), out.len())
}

const ENCODERS: &[(&str, Encode)] = &[
    ("concatenation baseline", enc_concat),
    ("ssewire", enc_ssewire),
    ("format! baseline", enc_format),
    ("ssewire EventBody (http-body)", enc_ssewire_body),
    ("axum", enc_axum),
    ("sse-stream", enc_sse_stream),
    ("sse-codec", enc_sse_codec),
    ("actix-web-lab", enc_actix),
];

// ---------------------------------------------------------------------------

struct Cell {
    runs: Vec<Run>,
    cut: Option<(usize, Duration)>,
}

impl Cell {
    /// The median round (by time): what a user can expect, not the luckiest
    /// round.
    fn median(&self) -> Option<Run> {
        let mut runs = self.runs.clone();
        runs.sort_by_key(|r| r.time);
        runs.get(runs.len() / 2).copied()
    }
}

fn mbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e6
}

/// A row for a crate other than ssewire and the baselines.
fn is_peer(name: &str) -> bool {
    !name.starts_with("ssewire") && !is_baseline(name)
}

/// A reference row (memchr2 counts, concatenation): not a decoder, so it
/// has no check, no allocation count and no ratio to the peers.
fn is_baseline(name: &str) -> bool {
    name.contains("baseline")
}

/// `--runs N`: runs this comparison N times, each in a process of its own
/// (a crate's speed varies from one process to the next, not only from
/// round to round), and prints the first run's tables with every numeric
/// cell replaced by its median over the N runs.
fn run_many(runs: usize, args: &[String]) {
    let exe = std::env::current_exe().expect("own path");
    let outputs: Vec<String> = (0..runs)
        .map(|i| {
            eprintln!("run {} of {runs}", i + 1);
            let out = std::process::Command::new(&exe)
                .args(args)
                .output()
                .expect("run the comparison");
            assert!(out.status.success(), "run {} failed", i + 1);
            String::from_utf8(out.stdout).expect("UTF-8 output")
        })
        .collect();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    // Rows are keyed by their section and first three cells.
    let key =
        |section: &str, row: &[String]| format!("{section}|{}", row[..3.min(row.len())].join("|"));
    let mut rows: std::collections::HashMap<String, Vec<Vec<String>>> = Default::default();
    for out in &outputs {
        let mut section = String::new();
        for line in out.lines() {
            if let Some(s) = line.strip_prefix("## ") {
                section = s.to_string();
            } else if line.starts_with("| ") {
                let row = cells(line);
                rows.entry(key(&section, &row)).or_default().push(row);
            }
        }
    }
    let mut section = String::new();
    for line in outputs[0].lines() {
        if let Some(s) = line.strip_prefix("## ") {
            section = s.to_string();
            println!("{line}");
            println!("\nMedian over {runs} runs, each in its own process, of every number below.");
            continue;
        }
        let row = cells(line);
        let all = match rows.get(&key(&section, &row)) {
            Some(all) if line.starts_with("| ") && all.len() == runs => all,
            _ => {
                println!("{line}");
                continue;
            }
        };
        let merged: Vec<String> = (0..row.len())
            .map(|i| {
                let mut nums: Vec<f64> =
                    all.iter().filter_map(|r| r.get(i)?.parse().ok()).collect();
                if nums.len() != runs || row[i].is_empty() {
                    return row[i].clone();
                }
                nums.sort_by(f64::total_cmp);
                let decimals = row[i].split_once('.').map_or(0, |(_, d)| d.len());
                format!("{:.*}", decimals, nums[runs / 2])
            })
            .collect();
        println!("| {} |", merged.join(" | "));
    }
}

fn main() {
    let all_args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = all_args.iter().position(|a| a == "--runs") {
        let runs: usize = all_args[at + 1].parse().expect("--runs N");
        let mut rest = all_args.clone();
        rest.drain(at..at + 2);
        if runs > 1 {
            return run_many(runs, &rest);
        }
        return main_with(rest);
    }
    main_with(all_args);
}

fn main_with(args: Vec<String>) {
    let mut rounds = 5;
    let mut only: Option<String> = None;
    let mut only_impl: Option<String> = None;
    let mut only_chunking: Option<String> = None;
    let mut budget = Duration::from_secs(3);
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().unwrap().parse().unwrap(),
            "--only" => only = args.next(),
            "--impl" => only_impl = args.next(),
            "--chunking" => only_chunking = args.next(),
            "--budget" => budget = Duration::from_secs_f64(args.next().unwrap().parse().unwrap()),
            _ => panic!("unknown argument {a}"),
        }
    }
    // `--impl TEXT` runs only the decoders whose name contains TEXT (and the
    // baselines): for profiling one implementation.
    let skip =
        |name: &str| !is_baseline(name) && only_impl.as_deref().is_some_and(|o| !name.contains(o));
    let started = Instant::now();
    let profile = if cfg!(debug_assertions) {
        "debug (not for measuring)"
    } else {
        env!("SSEWIRE_COMPARE_PROFILE")
    };
    println!("## Decoders\n");
    println!("Profile: {profile}. Rounds: {rounds}, interleaved; the median round is shown. Cut-off budget per run: {budget:?}.");
    println!("× memchr2: speed relative to counting line ends with memchr2. × fastest peer: speed relative to the fastest correct other crate in the same cell.\n");
    println!("| workload | chunking | implementation | MB/s | events/s | × memchr2 | × fastest peer | allocs/event | peak heap | check |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---|");
    for w in workloads::all() {
        if only.as_deref().is_some_and(|o| o != w.name) {
            continue;
        }
        let all = Bytes::from(w.bytes.clone());
        for (cname, size) in workloads::CHUNKINGS {
            if only_chunking.as_deref().is_some_and(|o| o != cname) {
                continue;
            }
            let chunks: Vec<Bytes> = workloads::chunks(&all, size)
                .into_iter()
                .map(|c| all.slice_ref(c))
                .collect();
            let mut cells: Vec<Cell> = DECODERS
                .iter()
                .map(|_| Cell {
                    runs: Vec::new(),
                    cut: None,
                })
                .collect();
            for _ in 0..rounds {
                for (i, (name, f)) in DECODERS.iter().enumerate() {
                    if cells[i].cut.is_some() || skip(name) {
                        continue;
                    }
                    // Grow the input 1/64, 1/8, whole: a quadratic peer is
                    // cut off before it eats the run. Prefixes are cut by
                    // bytes and re-chunked alike, so one-chunk runs work too.
                    if cells[i].runs.is_empty() {
                        let mut too_slow = None;
                        for frac in [64usize, 8] {
                            let prefix = all.slice(..all.len() / frac);
                            let part: Vec<Bytes> = workloads::chunks(&prefix, size)
                                .into_iter()
                                .map(|c| prefix.slice_ref(c))
                                .collect();
                            let r = measure(&mut || f(&part));
                            if r.time > budget / 8 {
                                too_slow = Some((prefix.len(), r.time));
                                break;
                            }
                        }
                        if let Some(cut) = too_slow {
                            cells[i].cut = Some(cut);
                            continue;
                        }
                    }
                    warm(&chunks);
                    let r = measure(&mut || f(&chunks));
                    if r.time > budget && cells[i].runs.is_empty() {
                        cells[i].cut = Some((w.bytes.len(), r.time));
                        continue;
                    }
                    cells[i].runs.push(r);
                }
            }
            let correct = |r: &Run| r.events == w.events && r.data == w.data_bytes;
            let base = cells[0].median().map(|b| b.time);
            let fastest_peer = DECODERS
                .iter()
                .zip(&cells)
                .filter(|((name, _), _)| is_peer(name))
                .filter_map(|(_, c)| c.median().filter(correct))
                .map(|r| r.time)
                .min();
            for (i, (name, _)) in DECODERS.iter().enumerate() {
                let c = &cells[i];
                if let Some((bytes, t)) = c.cut {
                    println!(
                        "| {} | {cname} | {name} | cut off: {:.0} MB/s on the first {:.1} MB | | | | | | too slow |",
                        w.name,
                        mbps(bytes, t),
                        bytes as f64 / 1e6
                    );
                    continue;
                }
                let Some(r) = c.median() else { continue };
                let ratio = base.map_or(0.0, |b| b.as_secs_f64() / r.time.as_secs_f64());
                let vs_peer = match fastest_peer {
                    Some(p) if !is_baseline(name) => {
                        format!("{:.2}", p.as_secs_f64() / r.time.as_secs_f64())
                    }
                    _ => "-".to_string(),
                };
                let check = if is_baseline(name) {
                    "-".to_string()
                } else if correct(&r) {
                    "ok".to_string()
                } else {
                    format!(
                        "MISMATCH ({} events / {} data bytes, want {} / {})",
                        r.events, r.data, w.events, w.data_bytes
                    )
                };
                let per_event = if is_baseline(name) {
                    0.0
                } else {
                    r.allocs as f64 / w.events as f64
                };
                println!(
                    "| {} | {cname} | {name} | {:.0} | {:.0} | {:.2} | {vs_peer} | {:.2} | {} KiB | {check} |",
                    w.name,
                    mbps(w.bytes.len(), r.time),
                    w.events as f64 / r.time.as_secs_f64(),
                    ratio,
                    per_event,
                    r.peak / 1024
                );
            }
        }
    }

    if only_impl.is_some() {
        return;
    }
    println!("\n## Encoders\n");
    println!("| workload | implementation | MB/s (output) | events/s | × concatenation | allocs/event | check |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for w in [workloads::llm(), workloads::multiline(), workloads::big()] {
        if only.as_deref().is_some_and(|o| o != w.name) {
            continue;
        }
        let mut evs: Vec<Ev> = Vec::new();
        let mut dec = ssewire::Decoder::new();
        dec.feed_all(&w.bytes, |s| {
            if let Ok(ssewire::Item::Event(ev)) = s {
                evs.push((
                    ev.event_type_lossy().into_owned(),
                    ev.data_lossy().into_owned(),
                    ev.last_event_id_lossy().into_owned(),
                ));
            }
        });
        let mut out = Vec::with_capacity(w.bytes.len() * 2);
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); ENCODERS.len()];
        let mut checks: Vec<String> = vec![String::new(); ENCODERS.len()];
        for round in 0..rounds {
            for (i, (_, f)) in ENCODERS.iter().enumerate() {
                let r = measure(&mut || f(&evs, &mut out));
                if round == 0 {
                    checks[i] = check_encoded(&out, &evs);
                }
                runs[i].push(r);
            }
        }
        let median = |i: usize| {
            let mut rs = runs[i].clone();
            rs.sort_by_key(|r| r.time);
            rs[rs.len() / 2]
        };
        let base = median(0).time;
        for (i, (name, _)) in ENCODERS.iter().enumerate() {
            let r = median(i);
            println!(
                "| {} | {name} | {:.0} | {:.0} | {:.2} | {:.2} | {} |",
                w.name,
                mbps(r.data, r.time),
                r.events as f64 / r.time.as_secs_f64(),
                base.as_secs_f64() / r.time.as_secs_f64(),
                r.allocs as f64 / r.events as f64,
                checks[i]
            );
        }
    }
    proxy_section(rounds, only.as_deref());
    eprintln!("finished in {:.0?}", started.elapsed());
}

/// Proxy pass-through: `ProxyBody` (decode with raw frames, pass every
/// event) against collecting the same upstream body unchanged.
fn proxy_section(rounds: usize, only: Option<&str>) {
    use http_body_util::{BodyExt, StreamBody};
    use ssewire::body::{ProxyBody, Verdict};
    println!("\n## Proxy pass-through\n");
    println!(
        "| workload | chunking | implementation | MB/s | × plain copy | allocs/event | check |"
    );
    println!("|---|---|---|---:|---:|---:|---|");
    for w in [workloads::llm(), workloads::heartbeat()] {
        if only.is_some_and(|o| o != w.name) {
            continue;
        }
        let all = Bytes::from(w.bytes.clone());
        let chunks: Vec<Bytes> = workloads::chunks(&all, 4096)
            .into_iter()
            .map(|c| all.slice_ref(c))
            .collect();
        let frames = || {
            stream::iter(
                chunks
                    .iter()
                    .cloned()
                    .map(|c| Ok::<_, std::convert::Infallible>(http_body::Frame::data(c))),
            )
        };
        let plain = |out: &mut usize| {
            let body = StreamBody::new(frames());
            *out = block_on(BodyExt::collect(body)).unwrap().to_bytes().len();
        };
        let proxied = |out: &mut usize| {
            let body = ProxyBody::new(StreamBody::new(frames()), |_: &ssewire::Event<'_>| {
                Verdict::Pass
            });
            let mut body = std::pin::pin!(body);
            let mut n = 0;
            block_on(async {
                while let Some(frame) = body.frame().await {
                    if let Ok(d) = frame.unwrap().into_data() {
                        n += d.len();
                    }
                }
            });
            *out = n;
        };
        let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        let mut lens = [0usize; 2];
        for _ in 0..rounds {
            let mut n = 0;
            warm(&chunks);
            runs[0].push(measure(&mut || {
                plain(&mut n);
                (w.events, n)
            }));
            lens[0] = n;
            warm(&chunks);
            runs[1].push(measure(&mut || {
                proxied(&mut n);
                (w.events, n)
            }));
            lens[1] = n;
        }
        let median = |rs: &mut Vec<Run>| {
            rs.sort_by_key(|r| r.time);
            rs[rs.len() / 2]
        };
        let base = median(&mut runs[0]);
        let prox = median(&mut runs[1]);
        for (name, r, len) in [
            ("plain body copy", base, lens[0]),
            ("ssewire ProxyBody (pass all)", prox, lens[1]),
        ] {
            let check = if len == w.bytes.len() {
                "ok"
            } else {
                "MISMATCH"
            };
            println!(
                "| {} | 4k | {name} | {:.0} | {:.2} | {:.2} | {check} |",
                w.name,
                mbps(w.bytes.len(), r.time),
                base.time.as_secs_f64() / r.time.as_secs_f64(),
                r.allocs as f64 / w.events as f64
            );
        }
    }
}
