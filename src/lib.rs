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
//! | feature | default | adds |
//! |---------|---------|------|
//! | `std`   | yes     | `std::io::Write` encoding, the [`io`] reader adapter; implies `alloc` |
//! | `alloc` | via std | growable buffers ([`Decoder::new`]), [`OwnedEvent`], lossy `Cow<str>` accessors, `Vec` encoding |
//! | `bytes` | no      | [`bytes::BytesDecoder`]: `'static` events sharing the input `Bytes`, raw frames for proxies; `bytes::BufMut` encoding; implies `alloc` |
//! | `futures` | no    | [`stream::EventStream`]: a `futures_core::Stream` of events from any stream of byte chunks; implies `bytes` |
//! | `tokio-util` | no | [`codec::SseCodec`] for `FramedRead` / `FramedWrite`; implies `bytes` and `std` |
//!
//! With no features at all the decoder and the encoder are complete.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod buffer;
#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
#[path = "bytes_ext.rs"]
pub mod bytes;
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub mod codec;
mod decoder;
pub mod encode;
mod error;
mod event;
mod field;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod io;
mod scan;
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub mod stream;

pub use buffer::{ArrayBuffer, Buffer, SliceBuffer};
pub use decoder::{Buffers, Config, Decoder, DefaultBuffer, Discarded, Feed, Item, LineDecoder};
pub use error::{BufferTooSmall, DecodeError, InvalidValue, ReadError};
#[cfg(feature = "alloc")]
pub use event::OwnedEvent;
pub use event::{Event, Lossy};
pub use field::{parse_retry, Field, FieldName, Line};

// The README's examples use every feature; they run with `--all-features`.
#[cfg(all(doctest, feature = "bytes"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
