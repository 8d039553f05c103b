//! The model side of a proxy's filter: what a client observes of a stream,
//! and what it should observe of a filtered one. The filter (shared by
//! `tests/proxy_model.rs`, the `proxy` fuzz target and the simulation):
//! events of type `drop` are dropped, events of type `swap` are replaced by
//! a `swapped` event with their data upper-cased, the rest pass.
// Also compiled into the fuzz crate (`#[path]`).
#![allow(unreachable_pub)]
#![allow(dead_code)]

use super::model::{self, Out};

/// What a client observes: each event (type, data, last event id) with the
/// reconnection time in force when it was dispatched, then the final
/// reconnection time and last event id.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen {
    pub events: Vec<(String, String, String, Option<u64>)>,
    pub retry: Option<u64>,
    pub last_event_id: String,
}

/// What a client starting with `initial_id` decodes from `stream`.
pub fn client_sees(stream: &[u8], initial_id: &str) -> Seen {
    let (outs, last_event_id) = model::decode_with_id(stream, false, initial_id);
    let mut seen = Seen {
        events: Vec::new(),
        retry: None,
        last_event_id,
    };
    for out in outs {
        match out {
            Out::Event(t, d, id) => seen.events.push((t, d, id, seen.retry)),
            Out::Retry(ms) => seen.retry = Some(ms),
            Out::Comment(_) => {}
        }
    }
    seen
}

/// The filter's decision for an event of type `event_type`: `None` drops
/// it, otherwise the (type, data) that goes out.
pub fn decide(event_type: &str, data: &str) -> Option<(String, String)> {
    match event_type {
        "drop" => None,
        "swap" => Some(("swapped".into(), data.to_uppercase())),
        _ => Some((event_type.into(), data.into())),
    }
}

/// What the filter decided for `upstream`: the model's decoding of it with
/// [`decide`] applied to each event (a replacement keeps the original's id
/// and reconnection time; a dropped event leaves both in force).
pub fn filter_decided(upstream: &[u8], initial_id: &str) -> Seen {
    let mut seen = client_sees(upstream, initial_id);
    seen.events = seen
        .events
        .into_iter()
        .filter_map(|(t, d, id, retry)| decide(&t, &d).map(|(t, d)| (t, d, id, retry)))
        .collect();
    seen
}
