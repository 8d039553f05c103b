//! Side-by-side comparison of ssewire with the SSE crates people use today,
//! on the same workloads and chunkings, in one process, with interleaved
//! rounds. Prints a Markdown table.
//!
//! ```sh
//! cd benches/compare && cargo run --release
//! ```
//! Options: `--rounds N` (default 9), `--runs N` (run N times, each in its
//! own process, and print the median of every number), `--only WORKLOAD`, `--chunking
//! whole|4k|61b`, `--impl TEXT` (only decoders whose name contains TEXT,
//! for profiling), `--budget
//! SECONDS` (default 3: a peer whose run takes longer is cut off and
//! marked). `cargo run --profile plain` measures cargo's default release
//! settings instead of the LTO build.

mod paired;
#[path = "../../workloads/mod.rs"]
mod workloads;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::executor::block_on;
use futures::stream::{self, StreamExt};

// ---------------------------------------------------------------------------
// Counting allocator: allocations, current and peak heap, counted only in
// the one untimed run each measurement adds (`measure`). Timed runs pay a
// relaxed load of `COUNTING` per allocation and nothing else: with the
// counters' atomic read-modify-writes in every timed allocation, peers that
// allocate per event ran up to 2.3x slower here than in a plain loop.

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Signed: a counted run may free memory allocated before counting began.
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            let size = l.size() as isize;
            let now = CURRENT.fetch_add(size, Relaxed) + size;
            PEAK.fetch_max(now, Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if COUNTING.load(Relaxed) {
            CURRENT.fetch_sub(l.size() as isize, Relaxed);
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            let grow = n as isize - l.size() as isize;
            let now = CURRENT.fetch_add(grow, Relaxed) + grow;
            PEAK.fetch_max(now, Relaxed);
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
/// which implementations ran before it. 10 ms (20 until the sixteenth
/// session) keeps a round of one cell under half a second, so that the
/// rows a ratio compares mostly run under the same conditions (see
/// [`Cell::times_faster_than`]); nine such rounds take about as long as
/// five did.
const MIN_MEASURE: Duration = Duration::from_millis(10);

/// Runs `f` until [`MIN_MEASURE`] has passed (at least once), with the
/// allocator's counters off: the time per run and the last run's result.
/// Then one more run, untimed, with the counters on: its allocations and
/// peak heap above the heap at its start.
fn measure(f: &mut dyn FnMut() -> (usize, usize)) -> Run {
    let mut r = time_only(f);
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let a0 = ALLOCS.load(Relaxed);
    COUNTING.store(true, Relaxed);
    std::hint::black_box(f());
    COUNTING.store(false, Relaxed);
    r.allocs = ALLOCS.load(Relaxed) - a0;
    r.peak = usize::try_from(PEAK.load(Relaxed) - base).unwrap_or(0);
    r
}

/// [`measure`] without the counted run (allocations and peak left at 0):
/// every table counts them in a row's first round only ([`Cell::next_run`]),
/// which leaves more of a round's time to timed runs and keeps a round
/// short.
fn time_only(f: &mut dyn FnMut() -> (usize, usize)) -> Run {
    let t = Instant::now();
    let mut reps = 0u32;
    let (events, data) = loop {
        let out = f();
        reps += 1;
        if t.elapsed() >= MIN_MEASURE {
            break out;
        }
    };
    Run {
        time: t.elapsed() / reps,
        events,
        data,
        allocs: 0,
        peak: 0,
    }
}

// ---------------------------------------------------------------------------
// Input adapters for the peers' intended APIs.

/// The `Bytes` chunks as a `Stream`: the chunks themselves (no copy), or,
/// while [`OVER_READS`] is set, read from a [`TokioChunkReader`] through
/// tokio-util's `ReaderStream`, which copies each read into its buffer and
/// hands out `Bytes` split off it, as an HTTP client's body does with a
/// socket's reads. `$body` is compiled once for each of the two stream
/// types, with `$s` bound to it: one function returning either (a
/// `futures::future::Either`) slowed sse-stream at 61-byte chunks by a
/// quarter (1,260 against 1,720 MB/s in a plain loop), as its decoder then
/// polls through a branch it cannot see past.
macro_rules! with_byte_stream {
    ($chunks:expr, |$s:ident| $body:expr) => {
        if OVER_READS.load(Relaxed) {
            let $s = read_stream($chunks);
            $body
        } else {
            let $s = chunk_stream($chunks);
            $body
        }
    };
}

/// The chunks themselves as a `Stream` (see [`with_byte_stream`]).
fn chunk_stream(
    chunks: &[Bytes],
) -> impl futures::Stream<Item = Result<Bytes, io::Error>> + Unpin + '_ {
    stream::iter(chunks.iter().cloned().map(Ok))
}

/// The chunks read through tokio-util's `ReaderStream` (see
/// [`with_byte_stream`]).
fn read_stream(
    chunks: &[Bytes],
) -> impl futures::Stream<Item = Result<Bytes, io::Error>> + Unpin + '_ {
    let reader = TokioChunkReader {
        chunks,
        i: 0,
        off: 0,
    };
    // A read buffer of one chunk (at least 64 bytes, at most 1 MiB, as
    // async-sse's reader is given): one chunk per read, like the
    // `AsyncRead` rows.
    let cap = chunks.first().map_or(8192, |c| c.len().clamp(64, 1 << 20));
    tokio_util::io::ReaderStream::with_capacity(reader, cap)
}

/// Set while a "(Stream over reads)" row runs: see [`with_byte_stream`].
static OVER_READS: AtomicBool = AtomicBool::new(false);

/// Runs `f` with [`OVER_READS`] set.
fn over_reads(f: Decode, chunks: &[Bytes]) -> (usize, usize) {
    OVER_READS.store(true, Relaxed);
    let r = f(chunks);
    OVER_READS.store(false, Relaxed);
    r
}

fn sse_stream_reads(chunks: &[Bytes]) -> (usize, usize) {
    over_reads(sse_stream, chunks)
}

fn sseer_reads(chunks: &[Bytes]) -> (usize, usize) {
    over_reads(sseer, chunks)
}

fn eventsource_stream_reads(chunks: &[Bytes]) -> (usize, usize) {
    over_reads(eventsource_stream, chunks)
}

fn ssewire_event_stream_reads(chunks: &[Bytes]) -> (usize, usize) {
    over_reads(ssewire_event_stream, chunks)
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

/// A tokio `AsyncRead` returning at most one chunk per read.
struct TokioChunkReader<'a> {
    chunks: &'a [Bytes],
    i: usize,
    off: usize,
}

impl tokio::io::AsyncRead for TokioChunkReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(c) = self.chunks.get(self.i) else {
            return Poll::Ready(Ok(()));
        };
        let n = (c.len() - self.off).min(buf.remaining());
        buf.put_slice(&c[self.off..self.off + n]);
        self.off += n;
        if self.off == c.len() {
            self.i += 1;
            self.off = 0;
        }
        Poll::Ready(Ok(()))
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

/// The borrowed decoder with the data validated as UTF-8 (`data_str`):
/// most peers hand out `String`s, which costs them the same check.
fn ssewire_borrowed_str(chunks: &[Bytes]) -> (usize, usize) {
    let mut dec = ssewire::Decoder::new();
    let (mut n, mut d) = (0, 0);
    for c in chunks {
        dec.feed_all(c, |step| {
            if let Ok(ssewire::Item::Event(ev)) = step {
                if let Ok(data) = ev.data_str() {
                    n += 1;
                    d += data.len();
                }
            }
        });
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

/// `stream::EventStream`: the `Stream` of events over a `Stream` of
/// `Bytes` chunks, as a client over an HTTP body runs it.
fn ssewire_event_stream(chunks: &[Bytes]) -> (usize, usize) {
    with_byte_stream!(chunks, |input| block_on(async {
        let mut s = ssewire::stream::EventStream::new(input);
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(ev) = item {
                n += 1;
                d += ev.data().len();
            }
        }
        (n, d)
    }))
}

/// `codec::SseCodec` under tokio-util's `FramedRead`, over an `AsyncRead`
/// that returns one chunk per read (it copies into `FramedRead`'s buffer,
/// as a socket read does).
fn ssewire_codec(chunks: &[Bytes]) -> (usize, usize) {
    block_on(async {
        let reader = TokioChunkReader {
            chunks,
            i: 0,
            off: 0,
        };
        let mut s = tokio_util::codec::FramedRead::new(reader, ssewire::codec::SseCodec::new());
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(Ok(ssewire::bytes::BytesItem::Event(ev))) = item {
                n += 1;
                d += ev.data().len();
            }
        }
        (n, d)
    })
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
    with_byte_stream!(chunks, |input| block_on(async {
        let mut s = sse_stream::SseByteStream::new(input);
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
    }))
}

fn sseer(chunks: &[Bytes]) -> (usize, usize) {
    with_byte_stream!(chunks, |input| block_on(async {
        let mut s = sseer::EventStream::new(input);
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(ev) = item {
                n += 1;
                d += ev.data.len();
            }
        }
        (n, d)
    }))
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
    with_byte_stream!(chunks, |input| block_on(async {
        let mut s = input.eventsource();
        let (mut n, mut d) = (0, 0);
        while let Some(item) = s.next().await {
            if let Ok(ev) = item {
                n += 1;
                d += ev.data.len();
            }
        }
        (n, d)
    }))
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
    ("ssewire (borrowed, data_str)", ssewire_borrowed_str),
    ("ssewire (Bytes)", ssewire_bytes),
    ("ssewire (Bytes, iterator)", ssewire_bytes_iter),
    ("ssewire EventStream (Stream)", ssewire_event_stream),
    ("ssewire SseCodec (FramedRead, Stream)", ssewire_codec),
    ("ssewire (Bytes, max_pin off)", ssewire_bytes_pin_all),
    ("sse-core (&[u8])", sse_core_slice),
    ("sse-core (Bytes)", sse_core),
    ("sse-stream (Stream)", sse_stream),
    ("sseer (Stream)", sseer),
    ("sse-parse", sse_parse),
    ("eventsource-stream (Stream)", eventsource_stream),
    ("sse-codec (Stream)", sse_codec),
    ("async-sse (Stream)", async_sse),
    ("tokio_sse_codec", tokio_sse_codec),
    (
        "ssewire EventStream (Stream over reads)",
        ssewire_event_stream_reads,
    ),
    ("sse-stream (Stream over reads)", sse_stream_reads),
    ("sseer (Stream over reads)", sseer_reads),
    (
        "eventsource-stream (Stream over reads)",
        eventsource_stream_reads,
    ),
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

/// One row's rounds in one table cell.
#[derive(Default)]
struct Cell {
    runs: Vec<Run>,
    cut: Option<(usize, Duration)>,
}

impl Cell {
    /// The median round (by time): what a user can expect, not the luckiest
    /// round. Its allocations and peak heap are the first round's, the one
    /// that counts them.
    fn median(&self) -> Option<Run> {
        let mut runs = self.runs.clone();
        runs.sort_by_key(|r| r.time);
        let mut m = runs.get(runs.len() / 2).copied()?;
        m.allocs = self.runs[0].allocs;
        m.peak = self.runs[0].peak;
        Some(m)
    }

    /// This row's next round: counted ([`measure`]) while it has no round
    /// yet, timed only ([`time_only`]) after that. The caller pushes it.
    fn next_run(&self, f: &mut dyn FnMut() -> (usize, usize)) -> Run {
        if self.runs.is_empty() {
            measure(f)
        } else {
            time_only(f)
        }
    }

    /// How many times faster than `other` this row ran, paired by round
    /// ([`paired::times_faster`]).
    fn times_faster_than(&self, other: &Cell) -> Option<f64> {
        let times = |c: &Cell| c.runs.iter().map(|r| r.time).collect::<Vec<_>>();
        paired::times_faster(&times(self), &times(other))
    }
}

fn mbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e6
}

/// A row whose API is a `Stream` of events (ssewire's streaming adapters
/// and the peers that offer only that): compared with the fastest such
/// peer as well.
fn is_stream(name: &str) -> bool {
    name.contains("(Stream)") || name.contains(", Stream)")
}

/// A row whose input is an `AsyncRead` that copies each chunk into the
/// reader's buffer (as a socket read does), rather than ready-made `Bytes`:
/// `SseCodec` under `FramedRead` and the peers that read the same way
/// (codecs, `AsyncRead` decoders, `Stream`s over tokio-util's
/// `ReaderStream`). Compared among themselves in "× fastest peer over
/// reads".
fn reads_input(name: &str) -> bool {
    name.contains("over reads")
        || name.contains("FramedRead")
        || [
            "sse-codec (Stream)",
            "async-sse (Stream)",
            "tokio_sse_codec",
        ]
        .contains(&name)
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

/// What a reference count costs on this machine: nanoseconds per `Bytes`
/// clone and drop (an atomic increment and decrement of a count no other
/// thread touches), the median of five timings of a million each. Each
/// field shared out of a chunk, and each chunk handed over by value, costs
/// this once; a decoder that copies into `String`s pays none of it. It
/// varies more between machines than the decoders' own work does: 20 ns on
/// the 2026-12 Xeon VM, where a lone `lock xadd` took 9 ns.
fn share_cost() -> f64 {
    let b = Bytes::from(vec![0u8; 64]);
    let mut ns: Vec<f64> = (0..5)
        .map(|_| {
            const N: u32 = 1_000_000;
            let t = Instant::now();
            for _ in 0..N {
                drop(std::hint::black_box(b.clone()));
            }
            t.elapsed().as_secs_f64() * 1e9 / f64::from(N)
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    ns[2]
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
    let mut rounds = 9;
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
            // Only the encoder table.
            "--encoders" => {
                encoder_section(rounds, only.as_deref());
                return;
            }
            // Only the gateway tables (proxy pass-through, tower layer).
            "--gateway" => {
                proxy_section(rounds, only.as_deref());
                layer_section(rounds);
                return;
            }
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
    println!("Profile: {profile}. Rounds: {rounds}, interleaved; the median round's speed is shown, and each ratio is the median over rounds of the ratio within a round. Cut-off budget per run: {budget:?}.");
    println!("× memchr2: speed relative to counting line ends with memchr2. × fastest peer: speed relative to the fastest correct other crate in the same cell. × fastest Stream peer (rows whose API is a `Stream`): relative to the fastest correct other crate used through its `Stream` API. × fastest peer over reads (rows whose input is an `AsyncRead` that copies each chunk into the reader's buffer, as a socket read does: `SseCodec` under `FramedRead`, codecs, `AsyncRead` decoders, `Stream`s over tokio-util's `ReaderStream`): relative to the fastest correct other crate reading that way.\n");
    println!("Machine: a `Bytes` clone + drop (one shared reference taken and given back) takes {:.1} ns here.\n", share_cost());
    println!("| workload | chunking | implementation | MB/s | events/s | × memchr2 | × fastest peer | × fastest Stream peer | × fastest peer over reads | allocs/event | peak heap | check |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
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
            let mut cells: Vec<Cell> = DECODERS.iter().map(|_| Cell::default()).collect();
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
                    let r = cells[i].next_run(&mut || f(&chunks));
                    if r.time > budget && cells[i].runs.is_empty() {
                        cells[i].cut = Some((w.bytes.len(), r.time));
                        continue;
                    }
                    cells[i].runs.push(r);
                }
            }
            let correct = |r: &Run| r.events == w.events && r.data == w.data_bytes;
            // The fastest peers are picked by median time; each row's ratio
            // to one is then taken round by round (`times_faster_than`).
            let fastest_where = |keep: &dyn Fn(&str) -> bool| {
                DECODERS
                    .iter()
                    .zip(&cells)
                    .filter(|((name, _), _)| is_peer(name) && keep(name))
                    .filter_map(|(_, c)| Some((c.median().filter(correct)?.time, c)))
                    .min_by_key(|(t, _)| *t)
                    .map(|(_, c)| c)
            };
            let fastest_peer = fastest_where(&|n| !n.contains("over reads"));
            let fastest_stream_peer = fastest_where(&|n| !n.contains("over reads") && is_stream(n));
            let fastest_reads_peer = fastest_where(&reads_input);
            for (i, (name, _)) in DECODERS.iter().enumerate() {
                let c = &cells[i];
                if let Some((bytes, t)) = c.cut {
                    println!(
                        "| {} | {cname} | {name} | cut off: {:.0} MB/s on the first {:.1} MB | | | | | | | | too slow |",
                        w.name,
                        mbps(bytes, t),
                        bytes as f64 / 1e6
                    );
                    continue;
                }
                let Some(r) = c.median() else { continue };
                let ratio = c.times_faster_than(&cells[0]).unwrap_or(0.0);
                let against = |peer: Option<&Cell>, applies: bool| match peer {
                    Some(p) if applies => c
                        .times_faster_than(p)
                        .map_or("-".to_string(), |x| format!("{x:.2}")),
                    _ => "-".to_string(),
                };
                let vs_peer = against(fastest_peer, !is_baseline(name));
                let vs_stream = against(
                    fastest_stream_peer,
                    is_stream(name) && !name.contains("over reads"),
                );
                let vs_reads = against(fastest_reads_peer, reads_input(name));
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
                    "| {} | {cname} | {name} | {:.0} | {:.0} | {:.2} | {vs_peer} | {vs_stream} | {vs_reads} | {:.2} | {} KiB | {check} |",
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
    encoder_section(rounds, only.as_deref());
    proxy_section(rounds, only.as_deref());
    layer_section(rounds);
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
        // The same through `ReconnectingProxyBody`: one upstream connection
        // that delivers every chunk; read until every byte came (after
        // that the body would wait to reconnect).
        let total = w.bytes.len();
        let resuming = |out: &mut usize| {
            use ssewire::body::{ReconnectingProxyBody, UpstreamConfig};
            use ssewire::client::{Opened, RequestHeaders};
            let connect = |_: RequestHeaders| {
                std::future::ready(Ok::<_, std::convert::Infallible>(Opened {
                    status: 200,
                    content_type: Some(b"text/event-stream".to_vec()),
                    retry_after: None,
                    body: stream::iter(chunks.iter().cloned().map(Ok)),
                }))
            };
            let body = ReconnectingProxyBody::new(
                connect,
                |_: &ssewire::Event<'_>| Verdict::Pass,
                |_| std::future::ready(()),
                &UpstreamConfig::default(),
            );
            let mut body = std::pin::pin!(body);
            let mut n = 0;
            block_on(async {
                while n < total {
                    let Some(frame) = body.frame().await else {
                        break;
                    };
                    if let Ok(d) = frame.unwrap().into_data() {
                        n += d.len();
                    }
                }
            });
            *out = n;
        };
        let mut cells: [Cell; 3] = Default::default();
        let mut lens = [0usize; 3];
        for _ in 0..rounds {
            let mut n = 0;
            // `SSEWIRE_COMPARE_ROW=N` runs only row N (for profiling).
            let row = std::env::var("SSEWIRE_COMPARE_ROW")
                .ok()
                .and_then(|v| v.parse().ok());
            let rows: [&dyn Fn(&mut usize); 3] = [&plain, &proxied, &resuming];
            for (i, f) in rows.iter().enumerate() {
                if row.is_some_and(|r: usize| r != i) {
                    continue;
                }
                warm(&chunks);
                let mut run = || {
                    f(&mut n);
                    (w.events, n)
                };
                let r = cells[i].next_run(&mut run);
                cells[i].runs.push(r);
                lens[i] = n;
            }
        }
        if cells.iter().any(|c| c.runs.is_empty()) {
            continue;
        }
        for (i, name) in [
            "plain body copy",
            "ssewire ProxyBody (pass all)",
            "ssewire ReconnectingProxyBody (pass all)",
        ]
        .into_iter()
        .enumerate()
        {
            let Some(r) = cells[i].median() else { continue };
            let check = if lens[i] == w.bytes.len() {
                "ok"
            } else {
                "MISMATCH"
            };
            println!(
                "| {} | 4k | {name} | {:.0} | {:.2} | {:.2} | {check} |",
                w.name,
                mbps(w.bytes.len(), r.time),
                cells[i].times_faster_than(&cells[0]).unwrap_or(0.0),
                r.allocs as f64 / w.events as f64
            );
        }
    }
}

/// `SseFilterLayer` on a response that is not an event stream: what the
/// layer adds per request and response (its header check and wrapping),
/// against the same service without it.
fn layer_section(rounds: usize) {
    use ssewire::body::{SseFilterLayer, Verdict};
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower_layer::Layer;
    use tower_service::Service;
    println!("\n## tower layer on a non-SSE response\n");
    println!("| service | ns per request | added by the layer (ns) |");
    println!("|---|---:|---:|");
    #[derive(Clone)]
    struct Json;
    impl Service<http::Request<()>> for Json {
        type Response = http::Response<http_body_util::Full<Bytes>>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            let mut r = http::Response::new(http_body_util::Full::new(Bytes::from_static(b"{}")));
            r.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            std::future::ready(Ok(r))
        }
    }
    const N: usize = 100_000;
    let mut cx = Context::from_waker(Waker::noop());
    let run = |svc: &mut dyn FnMut(&mut Context<'_>) -> usize, cx: &mut Context<'_>| {
        let mut n = 0;
        for _ in 0..N {
            n += svc(cx);
        }
        (N, n)
    };
    let mut bare = Json;
    let mut layered = SseFilterLayer::new(|_: &ssewire::Event<'_>| Verdict::Pass).layer(Json);
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut added: Vec<f64> = Vec::new();
    let ns = |t: Duration| t.as_secs_f64() * 1e9 / N as f64;
    // A few nanoseconds per call: more rounds than the decoders get, and
    // the median of each round's difference.
    let rounds = rounds.max(15);
    for _ in 0..rounds {
        let r = measure(&mut || {
            run(
                &mut |cx| {
                    let mut f = std::pin::pin!(bare.call(http::Request::new(())));
                    match f.as_mut().poll(cx) {
                        Poll::Ready(Ok(r)) => r.status().as_u16() as usize,
                        _ => 0,
                    }
                },
                &mut cx,
            )
        });
        times[0].push(r.time);
        let r = measure(&mut || {
            run(
                &mut |cx| {
                    let mut f = std::pin::pin!(layered.call(http::Request::new(())));
                    match f.as_mut().poll(cx) {
                        Poll::Ready(Ok(r)) => r.status().as_u16() as usize,
                        _ => 0,
                    }
                },
                &mut cx,
            )
        });
        times[1].push(r.time);
        added.push(ns(r.time) - ns(times[0][times[0].len() - 1]));
    }
    for t in &mut times {
        t.sort();
    }
    added.sort_by(f64::total_cmp);
    let (a, b) = (ns(times[0][rounds / 2]), ns(times[1][rounds / 2]));
    println!("| bare service | {a:.1} | |");
    println!(
        "| with SseFilterLayer | {b:.1} | {:.1} (median of {rounds} rounds' differences) |",
        added[rounds / 2]
    );
}

/// The encoder table: each encoder against plain concatenation.
fn encoder_section(rounds: usize, only: Option<&str>) {
    println!("\n## Encoders\n");
    println!("| workload | implementation | MB/s (output) | events/s | × concatenation | allocs/event | check |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for w in workloads::all() {
        if only.is_some_and(|o| o != w.name) {
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
        let mut cells: Vec<Cell> = ENCODERS.iter().map(|_| Cell::default()).collect();
        let mut checks: Vec<String> = vec![String::new(); ENCODERS.len()];
        for round in 0..rounds {
            for (i, (_, f)) in ENCODERS.iter().enumerate() {
                let r = cells[i].next_run(&mut || f(&evs, &mut out));
                if round == 0 {
                    checks[i] = check_encoded(&out, &evs);
                }
                cells[i].runs.push(r);
            }
        }
        for (i, (name, _)) in ENCODERS.iter().enumerate() {
            let Some(r) = cells[i].median() else { continue };
            println!(
                "| {} | {name} | {:.0} | {:.0} | {:.2} | {:.2} | {} |",
                w.name,
                mbps(r.data, r.time),
                r.events as f64 / r.time.as_secs_f64(),
                cells[i].times_faster_than(&cells[0]).unwrap_or(0.0),
                r.allocs as f64 / r.events as f64,
                checks[i]
            );
        }
    }
}
