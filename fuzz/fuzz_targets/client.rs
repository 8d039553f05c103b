//! The EventSource state machine under arbitrary sequences of responses,
//! body chunks, transport events and clock ticks: it never panics, its
//! actions agree with its ready state, a closed source stays closed, and
//! its last event id always equals the reference model's (committed by
//! blank lines, kept across reconnections, never taken from a cut event).
#![no_main]

mod common;

use core::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ssewire::client::{Action, ClientConfig, EventSource, ReadyState, Response, Signal};

#[derive(Arbitrary, Debug)]
enum Op {
    Tick(u16),
    Respond { status: u8, event_stream: bool },
    Body(Vec<u8>),
    End,
    Error,
    Close,
}

#[derive(Arbitrary, Debug)]
struct Input {
    idle_timeout: Option<u16>,
    max_attempts: Option<u8>,
    retry_server_errors: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let mut config = ClientConfig::default();
    config
        .idle_timeout(
            input
                .idle_timeout
                .map(|t| Duration::from_millis(u64::from(t) + 1)),
        )
        .max_attempts(input.max_attempts.map(u32::from))
        .jitter(30, 7);
    if input.retry_server_errors {
        config.retry_status(ssewire::client::retry_server_errors);
    }
    let mut es = EventSource::new(&config);
    let mut now = Duration::ZERO;
    // The model: the id committed before this connection, and the body of
    // the connection while it is open.
    let mut committed = String::new();
    let mut body: Vec<u8> = Vec::new();
    let mut was_open = false;
    for op in input.ops {
        let closed_before = es.ready_state() == ReadyState::Closed;
        let mut signals = 0usize;
        let count = |_: Signal<'_>| signals += 1;
        match op {
            Op::Tick(ms) => {
                now += Duration::from_millis(u64::from(ms));
                match es.poll(now, count) {
                    Action::Closed => assert_eq!(es.ready_state(), ReadyState::Closed),
                    Action::Read { deadline } => {
                        assert_ne!(es.ready_state(), ReadyState::Closed);
                        assert!(deadline.is_none_or(|d| d > now));
                    }
                    Action::Wait { until } => {
                        assert_eq!(es.ready_state(), ReadyState::Connecting);
                        assert!(until > now);
                    }
                    Action::Connect => assert_eq!(es.ready_state(), ReadyState::Connecting),
                }
            }
            Op::Respond {
                status,
                event_stream,
            } => {
                let status = [200, 200, 204, 301, 404, 429, 500, 503][usize::from(status % 8)];
                let ct: &[u8] = if event_stream {
                    b"Text/Event-Stream; charset=utf-8"
                } else {
                    b"text/html"
                };
                es.on_response(
                    now,
                    &Response::new(status, Some(ct)).retry_after(Some(b"1")),
                    count,
                );
            }
            Op::Body(bytes) => {
                es.on_body(now, &bytes, count);
                if es.ready_state() == ReadyState::Open {
                    body.extend_from_slice(&bytes);
                }
            }
            Op::End => es.on_end(now, count),
            Op::Error => es.on_error(now, count),
            Op::Close => es.close(),
        }
        if closed_before {
            assert_eq!(signals, 0, "a closed source says nothing");
            assert_eq!(es.ready_state(), ReadyState::Closed);
        }
        let open = es.ready_state() == ReadyState::Open;
        let (_, id_now) = common::model::decode_with_id(&body, false, &committed);
        if open {
            assert_eq!(common::lossy(es.last_event_id()), id_now);
        } else if was_open || !body.is_empty() {
            // The connection ended: what its blank lines committed stays.
            committed = id_now;
            body.clear();
        }
        if !open {
            assert_eq!(common::lossy(es.last_event_id()), committed);
        }
        was_open = open;
    }
});
