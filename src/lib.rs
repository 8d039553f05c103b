//! Server-Sent Events (`text/event-stream`) on the wire: an incremental,
//! zero-copy, `no_std` decoder that does exactly what the WHATWG HTML spec
//! (9.2.5 "Parsing an event stream", 9.2.6 "Interpreting an event stream")
//! says, for any chunking of the input, and an allocation-free encoder whose
//! output always decodes to the events it was given.
//!
//! The decoder is sans-IO: you feed it byte chunks as they arrive, split
//! anywhere, and it hands back events whose bytes borrow your chunk when they
//! lie inside it, or its own buffers when they straddled chunks. It never
//! panics; limits on line and event size give typed errors and the stream
//! goes on.
//!
//! # Where to start
//!
//! | you are writing | start from | feature |
//! |---|---|---|
//! | the EventSource rules (status, type, reconnect, `Last-Event-ID`) for any HTTP stack | [`client::EventSource`], a sans-IO state machine your I/O loop drives | none |
//! | a client over any HTTP stack (reqwest, hyper, ...) | [`stream::EventStream`] over the body's byte stream; on reconnect send [`stream::EventStream::last_event_id`] as `Last-Event-ID` | `futures` |
//! | a client over blocking I/O | [`io::EventReader`], an iterator of [`OwnedEvent`]s | `std` |
//! | your own I/O loop, fastest path | [`Decoder::feed_all`] (every item of a chunk in one call) or [`Decoder::feed`] (one item per call) | none |
//! | a client that reconnects as a browser does, any HTTP stack | `client::ReconnectingStream` with your request function; `with_signals()` for comments, opens, retry changes; `restart()` | `futures` + `std` |
//! | that client over reqwest | `client::event_stream` | `reqwest` |
//! | a server on hyper, axum, ... | [`body::EventBody`] over a `Stream` of [`encode::OwnedMessage`]s, [`body::response_headers`] | `http-body` (+ `tokio` for keep-alives) |
//! | an axum handler | return `body::EventBody` as it is (headers included) | `axum` |
//! | a server with many connections, or many replicas | `encode::Encoded` (each event encoded once, every connection sends the same `Bytes`) in `body::EventBody`; `examples/cluster.rs` for replicas sharing a Redis stream | `http-body` |
//! | a proxy or gateway over `http_body` | [`body::ProxyBody`] with a pass / drop / replace closure; `body::ReconnectingProxyBody` to reconnect upstream inside the client's response | `http-body` |
//! | event filtering in a tower / axum stack | `body::SseFilterLayer` | `tower` |
//! | a server, your own I/O | [`encode::Message`] (and [`encode::Comment`] for keep-alives, [`encode::Retry`]) written with [`encode::Encode`] into a reused buffer; [`encode::CONTENT_TYPE`] for the header | none |
//! | a proxy that inspects or rewrites a stream | [`bytes::BytesDecoder`] with [`Config::raw_frames`]: forward the raw bytes of what you keep, re-encode what you change | `bytes` |
//! | tokio codecs (`FramedRead` / `FramedWrite`) | [`codec::SseCodec`] | `tokio-util` |
//! | firmware without an allocator | [`Decoder::with_buffers`] over [`ArrayBuffer`] or [`SliceBuffer`] storage; `embedded::ItemReader` over an `embedded_io::Read` | none; `embedded-io` |
//! | a fuzz target for your own SSE handler | `arbitrary::Arbitrary` for [`encode::Output`] and [`OwnedEvent`] (valid values only) | `arbitrary` |
//!
//! One vocabulary runs through every layer: a decoder yields items
//! ([`Item`], [`bytes::BytesItem`]); "need more input" is `None` (in
//! [`Feed::item`] as in an iterator); `finish` ends a stream and reports
//! what it [`Discarded`]; the reader adapters (`io`, `stream`, `embedded`)
//! report [`ReadError`] (the transport's error, or a [`DecodeError`] after
//! which they go on), the client reports `client::ClientError`, and the
//! bodies forward their upstream's errors.
//!
//! # Architecture
//!
//! Bytes flow through four floors, each built only on the ones below it:
//! `scan` splits bytes into lines (BOM, CR/LF/CRLF, a line straddling
//! chunks); `field` splits a line into a field name and value (one-space
//! strip, `retry` digits, `id` without NUL); the [`Decoder`] turns fields
//! into events ("process the field", "dispatch the event") with the last
//! event id and the limits; the adapters ([`bytes`], [`stream`], [`codec`],
//! [`io`]) drive the decoder, and the proxy bodies route what it found by
//! the positions it reports, without parsing lines again. The [`encode`] module
//! stands apart and shares only the field checks, so that nothing it
//! writes can decode differently.
//!
//! # Decoding a stream that arrives in pieces
//! ```
//! # #[cfg(feature = "alloc")] {
//! use ssewire::{Decoder, Item};
//!
//! let chunks: [&[u8]; 4] = [b"\xEF\xBB", b"\xBFevent: greet\nda", b"ta: hello\r", b"\ndata:  world\n\n"];
//! let mut dec = Decoder::new();
//! let mut events = Vec::new();
//! for chunk in chunks {
//!     // Every line of the chunk in one call; `Decoder::feed` gives one item
//!     // per call instead, for callers who want to stop between items.
//!     dec.feed_all(chunk, |item| match item {
//!         Ok(Item::Event(ev)) => events.push(ev.to_owned_event()),
//!         Ok(_) => {} // retry updates; comments and blank lines when enabled
//!         Err(e) => eprintln!("event dropped: {e}"),
//!     });
//! }
//! let _ = dec.finish(); // end of stream: drops an unterminated event
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].event_type, "greet");
//! assert_eq!(events[0].data, "hello\n world");
//! # }
//! ```
//!
//! # Encoding
//! ```
//! # #[cfg(feature = "alloc")] {
//! use ssewire::encode::{Encode, Message, EventId, KEEP_ALIVE};
//!
//! let mut out = Vec::new();
//! Message::new("multi\nline").id(EventId::new("7")?).encode_vec(&mut out);
//! out.extend_from_slice(KEEP_ALIVE);
//! assert_eq!(out, b"id: 7\ndata: multi\ndata: line\n\n:\n\n");
//! # }
//! # Ok::<(), ssewire::InvalidValue>(())
//! ```
//!
//! # A client over an HTTP body (feature `futures`)
//! Any stream of byte chunks works: `reqwest`'s `response.bytes_stream()`,
//! hyper's `http_body_util::BodyDataStream::new(body)`, a channel.
//! ```
//! # #[cfg(feature = "futures")] {
//! use futures::{executor::block_on, stream};
//! use ssewire::stream::EventStream;
//! use ssewire::ReadError;
//!
//! let body = stream::iter([Ok::<_, std::io::Error>(&b"id: 7\ndata: hel"[..]), Ok(b"lo\n\n")]);
//! let mut events = EventStream::new(body);
//! block_on(async {
//!     while let Some(next) = events.next_event().await {
//!         match next {
//!             Ok(ev) => assert_eq!(ev.data_lossy(), "hello"),
//!             Err(ReadError::Decode(e)) => eprintln!("event dropped: {e}"), // goes on
//!             Err(ReadError::Transport(e)) => return eprintln!("reconnect: {e}"),
//!         }
//!     }
//! });
//! // Reconnect with this as `Last-Event-ID`, after `events.retry()`.
//! assert_eq!(events.last_event_id(), b"7");
//! # }
//! ```
//!
//! # A server handler (feature `http-body`)
//! Any `Stream` of events becomes an `http_body::Body` for hyper, axum
//! (`axum::body::Body::new(body)`) and the rest: one reused buffer, no
//! allocation per event, keep-alives with `.keep_alive(interval)` (feature
//! `tokio`) or any runtime's timer.
//! ```
//! # #[cfg(feature = "http-body")] {
//! use futures::{executor::block_on, stream};
//! use http_body_util::BodyExt;
//! use ssewire::body::{response_headers, EventBody};
//! use ssewire::encode::OwnedMessage;
//!
//! let events = stream::iter(["a", "b"].map(|d| OwnedMessage::new(d).try_event_type("letter").unwrap()));
//! let mut response = http::Response::new(EventBody::new(events));
//! response_headers(response.headers_mut()); // content-type, cache-control, x-accel-buffering
//! let bytes = block_on(response.into_body().collect()).unwrap().to_bytes();
//! assert_eq!(&bytes[..], b"event: letter\ndata: a\n\nevent: letter\ndata: b\n\n");
//! # }
//! ```
//!
//! # A proxy that forwards what it keeps byte for byte (feature `bytes`)
//! ```
//! # #[cfg(feature = "bytes")] {
//! use ssewire::bytes::{BytesDecoder, BytesItem};
//! use ssewire::encode::Encode;
//! use ssewire::Config;
//!
//! let mut dec = BytesDecoder::with_config(Config::default().raw_frames(Config::DEFAULT_MAX_FRAME_LEN));
//! dec.push(bytes::Bytes::from_static(b": hi\r\n\r\nevent: secret\ndata: x\n\ndata: keep\n\n"));
//! let _ = dec.finish(); // end of the upstream body
//! let mut out = Vec::new();
//! for item in dec {
//!     match item {
//!         // Rewrite what you change ...
//!         Ok(BytesItem::Event(ev)) if ev.event_type() == b"secret" => {
//!             ev.to_encode().with_data("[redacted]").encode_vec(&mut out);
//!         }
//!         // ... and forward everything else exactly as it came.
//!         Ok(BytesItem::Event(ev)) => out.extend_from_slice(ev.raw().unwrap()),
//!         Ok(BytesItem::Blank { raw: Some(raw) } | BytesItem::Trailing(raw)) => out.extend_from_slice(&raw),
//!         _ => {}
//!     }
//! }
//! // `to_encode` restates the last event id (empty here), which changes nothing.
//! assert_eq!(out, b": hi\r\n\r\nevent: secret\nid\ndata: [redacted]\n\ndata: keep\n\n");
//! # }
//! ```
//!
//! # Fuzzing your own handler (feature `arbitrary`)
//! Generated encoder inputs are always valid (no line break in an event
//! type, none and no NUL in an id), so every one encodes and decodes back.
//! ```
//! # #[cfg(feature = "arbitrary")] {
//! use arbitrary::{Arbitrary, Unstructured};
//! use ssewire::encode::{Encode, Output};
//!
//! // In a cargo-fuzz target: `fuzz_target!(|items: Vec<Output<'_>>| { .. })`.
//! let fuzz_input = [0x5a_u8; 96];
//! let items = Vec::<Output<'_>>::arbitrary(&mut Unstructured::new(&fuzz_input)).unwrap();
//! let mut wire = Vec::new();
//! items[..].encode_vec(&mut wire);
//! // Feed `wire` to the handler under test, split anywhere; compare what it
//! // saw with `items`.
//! # }
//! ```
//!
//! # Without `std` or `alloc`
//! With `default-features = false` the crate is `#![no_std]` and needs no
//! allocator: give the decoder fixed storage. Their sizes cap line and data
//! lengths (see [`Buffers`]).
//! ```
//! use ssewire::{ArrayBuffer, Buffers, Config, Decoder, Item};
//!
//! let mut dec: Decoder<ArrayBuffer<512>> = Decoder::with_buffers(Buffers::default(), &Config::default());
//! let feed = dec.feed(b"data: {\"temp\":21}\n\n");
//! let Some(Ok(Item::Event(ev))) = feed.item else { panic!() };
//! assert_eq!(ev.data(), br#"{"temp":21}"#);
//! ```
//!
//! # Features
//! | feature | default | adds | pulls in |
//! |---|---|---|---|
//! | `std` | yes | `std::io::Write` encoding, the `io` reader adapter (`io::EventReader`), `std::error::Error` for the errors | memchr's `std` feature; implies `alloc` |
//! | `alloc` | via `std` | growable buffers (`Decoder::new`), `OwnedEvent`, lossy `Cow<str>` accessors, `Vec` encoding, `encode::OwnedMessage` | nothing |
//! | `bytes` | no | `bytes::BytesDecoder`: `'static + Send` events sharing the input `Bytes`, raw frames for proxies; `BufMut` encoding | `bytes`; implies `alloc` |
//! | `futures` | no | `stream::EventStream` over any `Stream` of byte chunks; with `std`, the reconnecting client `client::ReconnectingStream` | `futures-core`; implies `bytes` |
//! | `tokio` | no | `client::TokioTimer`: tokio's timer and clock for keep-alives and reconnection delays | `tokio` (its `time` feature only) |
//! | `tokio-util` | no | `codec::SseCodec` for `FramedRead` / `FramedWrite` | `tokio-util` (`codec`); implies `bytes`, `std` |
//! | `http-body` | no | `body::EventBody` (a server's response body, keep-alives), `body::ProxyBody` and `body::ReconnectingProxyBody` (filtering proxies and gateways) | `http-body` 1, `http` 1; implies `futures`, `std` |
//! | `axum` | no | `IntoResponse` for the bodies: an axum handler returns `EventBody` as it is | `axum-core` 0.5; implies `http-body` |
//! | `tower` | no | `body::SseFilterLayer`: event filtering for every event stream of any tower / axum service | `tower-layer`, `tower-service`, `pin-project-lite`; implies `http-body` |
//! | `reqwest` | no | `client::event_stream`: the reconnecting client over a `reqwest::RequestBuilder` | `reqwest` 0.13 without default features, so **no TLS**: for `https://` add `reqwest = { version = "0.13", default-features = false, features = ["rustls"] }` to your dependencies; implies `futures`, `std`, `tokio` |
//! | `embedded-io` | no | `embedded::ItemReader` / `BufItemReader` over `embedded_io::Read` / `BufRead`, `embedded::write`; no `std`, no `alloc` | `embedded-io` 0.7 |
//! | `embedded-io-async` | no | `embedded::AsyncItemReader`, `embedded::write_async` | `embedded-io-async` 0.7; implies `embedded-io` |
//! | `arbitrary` | no | `arbitrary::Arbitrary` for `OwnedEvent` and the encoder's inputs (valid values only), to fuzz your own handlers | `arbitrary` 1; implies `alloc` |
//!
//! With no features at all the decoder and the encoder are complete.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "http-body")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-body")))]
pub mod body;
mod buffer;
#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
pub mod bytes;
pub mod client;
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub mod codec;
mod decoder;
#[cfg(feature = "embedded-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "embedded-io")))]
pub mod embedded;
pub mod encode;
mod eol;
mod error;
mod event;
mod field;
#[cfg(feature = "arbitrary")]
mod fuzzing;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod io;

/// The line finder's variants, for the `eol` fuzz target only (built with
/// `--cfg fuzzing`, which cargo-fuzz sets): not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_eol {
    /// The first CR or LF, as the decoder finds it on this target.
    pub fn find(hay: &[u8]) -> Option<usize> {
        crate::decoder::EolFinder::default().find(hay)
    }
    /// The first CR or LF, with 16-byte compare masks.
    pub fn find_blocks(hay: &[u8]) -> Option<usize> {
        crate::decoder::EolFinder::default().find_blocks(hay)
    }
    /// The first CR or LF, with a word-at-a-time probe.
    pub fn find_words(hay: &[u8]) -> Option<usize> {
        crate::decoder::EolFinder::default().find_words(hay)
    }
    /// Every CR or LF in `hay` after `start`, as the borrowed decoder's
    /// hot loop walks them (with its block cursor), into `out`.
    pub fn walk(hay: &[u8], start: usize, out: &mut alloc::vec::Vec<usize>) {
        let finder = crate::decoder::EolFinder::default();
        let mut cursor = crate::decoder::Blocks::default();
        let mut at = start;
        while let Some(end) = finder.find_cached(hay, at, &mut cursor) {
            out.push(end);
            at = end + 1;
        }
    }
    /// The CR/LF mask of 16 bytes: SIMD where there is SIMD.
    pub fn mask16(block: &[u8; 16]) -> u32 {
        crate::decoder::eol_mask16(block)
    }
    /// The CR/LF mask of 16 bytes: the scalar twin.
    pub fn mask16_scalar(block: &[u8; 16]) -> u32 {
        crate::decoder::eol_mask16_scalar(block)
    }
}
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub mod stream;
#[cfg(all(feature = "futures", feature = "std"))]
mod timer;
mod utf8;

pub use buffer::{ArrayBuffer, Buffer, SliceBuffer};
pub use decoder::{Buffers, Config, Decoder, DefaultBuffer, Discarded, Feed, Item, LineDecoder};
pub use error::{BufferTooSmall, DecodeError, FmtError, InvalidValue, ReadError};
#[cfg(feature = "alloc")]
pub use event::OwnedEvent;
pub use event::{Event, Lossy};
pub use field::{parse_retry, Field, FieldName, Line};

// The README's examples need these features (all of them are on with
// `--all-features`, the README's test command); with fewer, they are skipped
// rather than failing to compile.
#[cfg(all(
    doctest,
    feature = "bytes",
    feature = "http-body",
    feature = "embedded-io"
))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
