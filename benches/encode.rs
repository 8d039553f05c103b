//! Encoder throughput into a reused buffer, beside a naive concatenation
//! baseline (`"data: " + data + "\n\n"`, which is wrong for multi-line data
//! but is what hand-rolled servers do).
//!
//! `cargo bench --bench encode`
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssewire::encode::{Encode, EventId, EventType, Message};
use ssewire::{Decoder, Item};

/// The events of a workload: (type, data, id).
fn events(w: &workloads::Workload) -> Vec<(String, String, String)> {
    let mut dec = Decoder::new();
    let mut v = Vec::new();
    dec.feed_all(&w.bytes, |s| {
        if let Ok(Item::Event(ev)) = s {
            v.push((
                ev.event_type_lossy().into_owned(),
                ev.data_lossy().into_owned(),
                ev.last_event_id_lossy().into_owned(),
            ));
        }
    });
    v
}

fn ssewire_encode(evs: &[(String, String, String)], out: &mut Vec<u8>) -> usize {
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
    out.len()
}

fn concat_baseline(evs: &[(String, String, String)], out: &mut Vec<u8>) -> usize {
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
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(data.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    for w in workloads::all() {
        let evs = events(&w);
        assert_eq!(evs.len(), w.events);
        let mut out = Vec::with_capacity(w.bytes.len() * 2);
        let len = ssewire_encode(&evs, &mut out);
        let mut g = c.benchmark_group(format!("encode/{}", w.name));
        g.throughput(Throughput::Bytes(len as u64));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        g.bench_function(BenchmarkId::new("ssewire", "vec"), |b| {
            b.iter(|| ssewire_encode(black_box(&evs), &mut out));
        });
        g.bench_function(BenchmarkId::new("concat_baseline", "vec"), |b| {
            b.iter(|| concat_baseline(black_box(&evs), &mut out));
        });
        g.finish();
    }
}

// criterion's macros generate an undocumented public function.
criterion_group!(benches, bench);
criterion_main!(benches);
