//! The `http-body` bodies: keep-alives counted on tokio's paused clock (no
//! wall-clock thresholds), coalescing, and the proxy body's byte-for-byte
//! pass-through under random read sizes, its filtering, errors, trailers
//! and drop.
#![cfg(all(feature = "http-body", feature = "tokio"))]

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, StreamBody};
use ssewire::body::{EventBody, ProxyBody, Verdict};

use ssewire::encode::{Comment, Encoded, Message, Output, OwnedMessage, KEEP_ALIVE};

/// Reads frames for `span` of (virtual) time; returns the data frames.
async fn frames_for<B: Body<Data = Bytes> + Unpin>(body: &mut B, span: Duration) -> Vec<Bytes>
where
    B::Error: std::fmt::Debug,
{
    let mut frames = Vec::new();
    let _ = tokio::time::timeout(span, async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                frames.push(data);
            }
        }
    })
    .await;
    frames
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_gets_a_keep_alive_every_interval() {
    let mut body =
        EventBody::new(stream::pending::<Message<'static>>()).keep_alive(Duration::from_secs(15));
    // 10 intervals and a bit, on the paused clock: exactly 10 keep-alives.
    let frames = frames_for(&mut body, Duration::from_secs(151)).await;
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| &f[..] == KEEP_ALIVE));
}

#[tokio::test(start_paused = true)]
async fn events_that_flow_need_no_keep_alive() {
    // An event every 10 s with a 15 s keep-alive interval: never idle for
    // a whole interval, so no comment is added.
    let ticks = stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Some((OwnedMessage::new(format!("tick {n}")), n + 1))
    });
    let mut body = EventBody::new(Box::pin(ticks)).keep_alive(Duration::from_secs(15));
    let frames = frames_for(&mut body, Duration::from_secs(105)).await;
    assert_eq!(frames.len(), 10);
    assert!(
        frames.iter().all(|f| f.starts_with(b"data: tick")),
        "{frames:?}"
    );
    // Then the stream goes quiet: keep-alives start after one interval.
    let quiet = stream::iter([OwnedMessage::new("last")]).chain(stream::pending());
    let mut body = EventBody::new(quiet).keep_alive(Duration::from_secs(15));
    let frames = frames_for(&mut body, Duration::from_secs(46)).await;
    assert_eq!(frames.len(), 4, "{frames:?}");
    assert_eq!(&frames[0][..], b"data: last\n\n");
}

#[tokio::test]
async fn items_ready_together_go_out_in_one_frame() {
    let items =
        (0..10).map(|n| Output::Message(Message::new(if n % 2 == 0 { "even" } else { "odd" })));
    let with_comment = stream::iter(items.chain([Output::Comment(Comment::new("end"))]));
    let mut body = EventBody::new(with_comment);
    let frames = frames_for(&mut body, Duration::from_secs(5)).await;
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0].len(),
        5 * "data: even\n\n".len() + 5 * "data: odd\n\n".len() + ": end\n".len()
    );
    assert!(body.is_end_stream());
}

#[tokio::test(start_paused = true)]
async fn encoded_items_go_out_uncopied_one_frame_each() {
    use ssewire::encode::{EventId, Retry};
    let a = Encoded::new(&Message::new("one").id(EventId::new("1").unwrap()));
    let b = Encoded::new(
        &[
            Output::Retry(Retry::new(std::time::Duration::from_millis(500))),
            Output::Message(Message::new("two")),
        ][..],
    );
    let none: [Output<'_>; 0] = [];
    let empty = Encoded::new(&none[..]);
    let items = vec![a.clone(), empty, b.clone(), a.clone()];
    // Two connections sending the same items.
    for _ in 0..2 {
        let mut body = EventBody::new(stream::iter(items.clone()).chain(stream::pending()))
            .keep_alive(Duration::from_secs(15));
        let frames = frames_for(&mut body, Duration::from_secs(16)).await;
        let ptrs: Vec<_> = frames.iter().map(|f| f.as_ptr()).collect();
        let expected = [a.as_bytes(), b.as_bytes(), a.as_bytes()];
        assert_eq!(
            &ptrs[..3],
            expected.map(|e| e.as_ptr()),
            "the same allocations, not copies"
        );
        assert_eq!(&frames[..3], expected, "in order, the empty one skipped");
        assert_eq!(
            frames[3..],
            [Bytes::from_static(KEEP_ALIVE)],
            "then the keep-alive timer runs"
        );
    }
}

/// A stream with every shape a proxy must keep: BOM, CRLF and CR, comments,
/// unknown fields, retry, ids, multi-line data, an unterminated tail.
fn upstream_bytes() -> Vec<u8> {
    let mut s = b"\xEF\xBB\xBF: welcome\r\n\r\nretry: 2500\r\n".to_vec();
    for n in 0..200 {
        s.extend_from_slice(
            format!(
                "id: {n}\r\nevent: {}\r\nx-custom: kept\ndata: line {n}\rdata: second\n\n",
                ["a", "b", "c"][n % 3]
            )
            .as_bytes(),
        );
        if n % 7 == 0 {
            s.extend_from_slice(b":ping\n\n");
        }
    }
    s.extend_from_slice(b"data: unterminated");
    s
}

/// `bytes` cut into pieces of pseudo-random sizes (1..=97).
fn pieces(bytes: &[u8], seed: u64) -> Vec<Result<Frame<Bytes>, Infallible>> {
    let mut out = Vec::new();
    let mut x = seed | 1;
    let mut at = 0;
    while at < bytes.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = ((x % 97) as usize + 1).min(bytes.len() - at);
        out.push(Ok(Frame::data(Bytes::copy_from_slice(&bytes[at..at + n]))));
        at += n;
    }
    out
}

#[tokio::test]
async fn the_proxy_passes_a_stream_it_does_not_change_byte_for_byte() {
    let input = upstream_bytes();
    for seed in [1, 2, 3, 99, 12345] {
        let upstream = StreamBody::new(stream::iter(pieces(&input, seed)));
        let body = ProxyBody::new(upstream, |_: &ssewire::Event<'_>| Verdict::Pass);
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(&out[..], &input[..], "seed {seed}");
    }
}

#[tokio::test]
async fn the_proxy_drops_and_rewrites_what_it_is_told_to() {
    let input = upstream_bytes();
    let upstream = StreamBody::new(stream::iter(pieces(&input, 7)));
    let body = ProxyBody::new(upstream, |ev: &ssewire::Event<'_>| match ev.event_type() {
        b"a" => Verdict::Drop,
        b"b" => Verdict::Replace(
            OwnedMessage::new(ev.data_lossy().to_uppercase())
                .try_event_type("B")
                .unwrap(),
        ),
        _ => Verdict::Pass,
    });
    let out = body.collect().await.unwrap().to_bytes();
    // Decoding the output gives: no `a`, `B` upper-cased, `c` unchanged.
    let mut dec = ssewire::Decoder::new();
    let mut seen = Vec::new();
    dec.feed_all(&out, |item| {
        if let Ok(ssewire::Item::Event(ev)) = item {
            seen.push(format!(
                "{}={}",
                ev.event_type_str().unwrap(),
                ev.data_lossy()
            ));
        }
    });
    assert_eq!(seen.len(), 200 - 67);
    assert!(
        seen.iter()
            .all(|s| s.starts_with("B=LINE") || s.starts_with("c=line")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|s| s.starts_with("a=")));
    // What passed is byte for byte: the `c` events keep their CRLF and
    // unknown field.
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("id: 2\r\nevent: c\r\nx-custom: kept\ndata: line 2\rdata: second\n\n"));
}

#[tokio::test]
async fn the_proxy_forwards_errors_and_trailers() {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-checksum", "abc".parse().unwrap());
    let frames: Vec<Result<Frame<Bytes>, &'static str>> = vec![
        Ok(Frame::data(Bytes::from_static(b"data: one\n\n"))),
        Ok(Frame::trailers(trailers.clone())),
    ];
    let collected = ProxyBody::new(
        StreamBody::new(stream::iter(frames)),
        |_: &ssewire::Event<'_>| Verdict::Pass,
    )
    .collect()
    .await
    .unwrap();
    assert_eq!(collected.trailers(), Some(&trailers));
    assert_eq!(&collected.to_bytes()[..], b"data: one\n\n");

    // An upstream error ends the body cleanly after what was forwarded
    // (the unterminated tail included, as at a clean end)...
    let frames = || -> Vec<Result<Frame<Bytes>, &'static str>> {
        vec![
            Ok(Frame::data(Bytes::from_static(b"data: one\n\nretry: 70"))),
            Ok(Frame::data(Bytes::from_static(b"0\ndata: cut"))),
            Err("upstream reset"),
        ]
    };
    let out = ProxyBody::new(
        StreamBody::new(stream::iter(frames())),
        |_: &ssewire::Event<'_>| Verdict::Pass,
    )
    .collect()
    .await
    .unwrap()
    .to_bytes();
    assert_eq!(&out[..], b"data: one\n\nretry: 700\ndata: cut");
    // ... or, when asked, passes the error on.
    let mut body = ProxyBody::new(
        StreamBody::new(stream::iter(frames())),
        |_: &ssewire::Event<'_>| Verdict::Pass,
    )
    .propagate_errors(true);
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), "data: one\n\n");
    assert_eq!(body.frame().await.unwrap().unwrap_err(), "upstream reset");
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn dropping_the_proxy_body_drops_the_upstream() {
    struct Upstream(Arc<AtomicBool>);
    impl Drop for Upstream {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    impl Body for Upstream {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            std::task::Poll::Pending
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let body = ProxyBody::new(Upstream(Arc::clone(&dropped)), |_: &ssewire::Event<'_>| {
        Verdict::Pass
    });
    assert!(!dropped.load(Ordering::SeqCst));
    drop(body);
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_block_over_the_frame_limit_is_re_encoded_and_the_rest_passes() {
    let mut config = ssewire::Config::default();
    config.raw_frames(32);
    let input = b": small\n\nid: 1\ndata: a block much longer than the thirty-two byte frame limit\n\ndata: after\r\n\r\n";
    for seed in [1, 5, 9] {
        let upstream = StreamBody::new(stream::iter(pieces(input, seed)));
        let body =
            ProxyBody::with_config(upstream, |_: &ssewire::Event<'_>| Verdict::Pass, &config);
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(
            &out[..],
            &b": small\n\nid: 1\ndata: a block much longer than the thirty-two byte frame limit\n\ndata: after\r\n\r\n"[..],
            "seed {seed}: the long event comes re-encoded (here the same bytes), the rest as it was"
        );
    }
}
