//! The fairness check of the comparison harness: three peers (sse-core,
//! sse-stream and sseer, the fastest in most cells) and three of ssewire's
//! rows timed in plain loops, in a process of their own, with the system
//! allocator and each crate's default settings. The peers' MB/s here must
//! match their rows in the main harness within noise (if the harness slowed
//! them down, its tables would flatter ssewire), and so must ssewire's
//! ratios to the fastest of the three.
//!
//! ```sh
//! cd benches/compare && cargo run --release --bin standalone
//! ```

#[path = "../paired.rs"]
mod paired;
#[path = "../../../workloads/mod.rs"]
mod workloads;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::executor::block_on;
use futures::stream::{self, StreamExt};

/// A peer's run: the data bytes of the events it decoded.
type Run = fn(&[Bytes]) -> usize;

fn sse_core(chunks: &[Bytes]) -> usize {
    let mut dec = sse_core::SseDecoder::new();
    let mut n = 0;
    for c in chunks {
        let mut buf: &[u8] = c;
        while let Some(ev) = dec.next(&mut buf) {
            if let Ok(sse_core::SseEvent::Message(m)) = ev {
                n += m.data.len();
            }
        }
    }
    n
}

// Each `Stream` peer's loop is written out: a shared helper driving the
// stream with `StreamExt::fold` measured sse-stream about 18% slower (crlf
// whole, 4,050 against 3,290 MB/s), which would flatter ssewire.
fn sse_stream(chunks: &[Bytes]) -> usize {
    let input = stream::iter(chunks.iter().cloned().map(Ok::<_, std::io::Error>));
    block_on(async {
        let mut s = sse_stream::SseByteStream::new(input);
        let mut n = 0;
        while let Some(item) = s.next().await {
            if let Ok(sse_stream::Sse {
                data: Some(data), ..
            }) = item
            {
                n += data.len();
            }
        }
        n
    })
}

fn sseer(chunks: &[Bytes]) -> usize {
    let input = stream::iter(chunks.iter().cloned().map(Ok::<_, std::io::Error>));
    block_on(async {
        let mut s = sseer::EventStream::new(input);
        let mut n = 0;
        while let Some(item) = s.next().await {
            if let Ok(ev) = item {
                n += ev.data.len();
            }
        }
        n
    })
}

// ssewire's rows, in plain loops too: the harness must be as kind (or as
// unkind) to ssewire as to the peers, so that the ratios it reports are the
// ratios a plain loop gives.
fn ssewire_borrowed(chunks: &[Bytes]) -> usize {
    let mut dec = ssewire::Decoder::new();
    let mut n = 0;
    for c in chunks {
        dec.feed_all(c, |item| {
            if let Ok(ssewire::Item::Event(ev)) = item {
                n += ev.data().len();
            }
        });
    }
    n
}

fn ssewire_bytes(chunks: &[Bytes]) -> usize {
    let mut dec = ssewire::bytes::BytesDecoder::new();
    let mut n = 0;
    for c in chunks {
        dec.feed_all(c, |item| {
            if let Ok(ssewire::bytes::BytesItem::Event(ev)) = item {
                n += ev.data().len();
            }
        });
    }
    n
}

fn ssewire_bytes_iter(chunks: &[Bytes]) -> usize {
    let mut dec = ssewire::bytes::BytesDecoder::new();
    let mut n = 0;
    for c in chunks {
        dec.push(c.clone());
        for item in dec.by_ref() {
            if let Ok(ssewire::bytes::BytesItem::Event(ev)) = item {
                n += ev.data().len();
            }
        }
    }
    n
}

/// Mean time per run over at least 10 ms of runs (as the main harness).
fn time(f: Run, chunks: &[Bytes], want: usize) -> Duration {
    let t = Instant::now();
    let mut reps = 0u32;
    loop {
        assert_eq!(std::hint::black_box(f(chunks)), want, "data bytes");
        reps += 1;
        if t.elapsed() >= Duration::from_millis(10) {
            return t.elapsed() / reps;
        }
    }
}

fn main() {
    let mut rounds = 9;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().unwrap().parse().unwrap(),
            "--only" => only = args.next(),
            _ => panic!("unknown argument {a}"),
        }
    }
    println!(
        "| workload | chunking | implementation | MB/s (median of {rounds}) | × fastest of the three peers |"
    );
    println!("|---|---|---|---:|---:|");
    // The peers first: `PEERS` of them, then ssewire's rows.
    const PEERS: usize = 3;
    let rows: [(&str, Run); 6] = [
        ("sse-core (&[u8])", sse_core),
        ("sse-stream (Stream)", sse_stream),
        ("sseer (Stream)", sseer),
        ("ssewire (borrowed)", ssewire_borrowed),
        ("ssewire (Bytes)", ssewire_bytes),
        ("ssewire (Bytes, iterator)", ssewire_bytes_iter),
    ];
    for w in workloads::all() {
        if only.as_deref().is_some_and(|o| o != w.name) {
            continue;
        }
        let all = Bytes::from(w.bytes.clone());
        for (cname, size) in workloads::CHUNKINGS {
            let chunks: Vec<Bytes> = workloads::chunks(&all, size)
                .into_iter()
                .map(|c| all.slice_ref(c))
                .collect();
            let mut times = vec![Vec::new(); rows.len()];
            for _ in 0..rounds {
                for (i, (_, f)) in rows.iter().enumerate() {
                    times[i].push(time(*f, &chunks, w.data_bytes));
                }
            }
            // Medians per row; a ratio is paired by round against the peer
            // with the best median, as the main harness takes it.
            let median = |t: &[Duration]| {
                let mut t = t.to_vec();
                t.sort();
                t[t.len() / 2]
            };
            let mbps: Vec<f64> = times
                .iter()
                .map(|t| w.bytes.len() as f64 / median(t).as_secs_f64() / 1e6)
                .collect();
            let fastest = (0..PEERS)
                .min_by_key(|&i| median(&times[i]))
                .expect("peers");
            for (i, (name, _)) in rows.iter().enumerate() {
                let ratio = match paired::times_faster(&times[i], &times[fastest]) {
                    Some(r) if i >= PEERS => format!("{r:.2}"),
                    _ => "-".to_string(),
                };
                println!(
                    "| {} | {cname} | {name} | {:.0} | {ratio} |",
                    w.name, mbps[i]
                );
            }
        }
    }
}
