//! `ProxyBody` on arbitrary upstream bytes and chunkings: the output does
//! not depend on the chunking, and (within the default limits) a client
//! decoding it sees exactly what the filter decided, per the model.
#![no_main]

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use common::filter::{client_sees, filter_decided};
use http_body::{Body, Frame};
use libfuzzer_sys::fuzz_target;
use ssewire::body::{ProxyBody, Verdict};
use ssewire::encode::OwnedMessage;
use ssewire::Config;

/// An upstream that hands out its chunks one frame at a time.
struct Chunks(std::vec::IntoIter<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.next().map(|c| Ok(Frame::data(c))))
    }
}

fn verdict(ev: &ssewire::Event<'_>) -> Verdict {
    match ev.event_type() {
        b"drop" => Verdict::Drop,
        b"swap" => Verdict::Replace(
            OwnedMessage::new(ev.data_lossy().to_uppercase())
                .try_event_type("swapped")
                .unwrap(),
        ),
        _ => Verdict::Pass,
    }
}

fn run(chunks: &[&[u8]], config: &Config, seed: Option<&[u8]>) -> Vec<u8> {
    let frames: Vec<Bytes> = chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect();
    let mut body = ProxyBody::with_config(Chunks(frames.into_iter()), verdict, config);
    if let Some(id) = seed {
        let _ = body.set_last_event_id(id);
    }
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let k = usize::from(n % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let mut config = Config::default();
    let limited = n & 0x40 != 0;
    if limited {
        config
            .max_line_len(usize::from(n % 23))
            .max_data_len(usize::from(n % 29))
            .raw_frames(usize::from(n % 31));
    }
    let seed: Option<&[u8]> = (n & 0x80 != 0).then_some(b"5");
    let whole = run(&[stream], &config, seed);
    let chunked = run(&common::chunk(stream, sizes), &config, seed);
    assert_eq!(whole, chunked, "the output depends on the chunking");
    if !limited {
        let client_id = if seed.is_some() { "5" } else { "" };
        assert_eq!(
            client_sees(&whole, client_id),
            filter_decided(stream, client_id),
            "the client does not see what the filter decided"
        );
    }
});
