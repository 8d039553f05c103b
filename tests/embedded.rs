//! The `embedded-io` adapters on the host: in-memory readers that return 1
//! byte, 7 bytes or everything per read, fixed buffers of exactly the size
//! needed and one byte too small, and the async reader under a minimal
//! executor with a reader that returns `Pending` before partial reads.
#![cfg(feature = "embedded-io")]

use core::convert::Infallible;

use ssewire::embedded::{BufItemReader, ItemReader};
use ssewire::{ArrayBuffer, Buffers, Config, Decoder, Item, ReadError, SliceBuffer};

/// Returns at most `step` bytes per read.
struct Chunked<'a> {
    data: &'a [u8],
    step: usize,
}

impl embedded_io::ErrorType for Chunked<'_> {
    type Error = Infallible;
}

impl embedded_io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl embedded_io::BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> Result<&[u8], Infallible> {
        Ok(&self.data[..self.data.len().min(self.step)])
    }
    fn consume(&mut self, amt: usize) {
        self.data = &self.data[amt..];
    }
}

const STREAM: &[u8] = b"\xEF\xBB\xBFretry: 100\r\nid: 7\ndata: first\r\ndata: second\r\n\r\n: ping\n\nevent: tick\ndata: 0123456789abcdef\n\ndata: cut";

/// Data of each event, retries and errors, as a compact log.
fn log<E: core::fmt::Debug>(item: Result<Item<'_>, ReadError<E>>, out: &mut String) {
    match item {
        Ok(Item::Event(ev)) => {
            out.push_str(&format!(
                "{}/{}/{};",
                String::from_utf8_lossy(ev.data()),
                ev.event_type_str().unwrap(),
                ev.last_event_id_str().unwrap()
            ));
        }
        Ok(Item::Retry(d)) => out.push_str(&format!("retry {};", d.as_millis())),
        Ok(_) => out.push_str("other;"),
        Err(e) => out.push_str(&format!("error {e:?};")),
    }
}

const WANT: &str = "retry 100;first\nsecond/message/7;0123456789abcdef/tick/7;";

fn fixed<const N: usize>() -> Decoder<ArrayBuffer<N>> {
    Decoder::with_buffers(Buffers::default(), &Config::default())
}

#[test]
fn read_adapter_under_every_read_size() {
    for step in [1, 7, STREAM.len()] {
        for buf_len in [1, 5, 64] {
            let mut buf = [0u8; 64];
            let mut r = ItemReader::new(
                Chunked { data: STREAM, step },
                fixed::<32>(),
                &mut buf[..buf_len],
            );
            let mut out = String::new();
            while let Some(item) = r.next() {
                log(item, &mut out);
            }
            assert_eq!(out, WANT, "read size {step}, buffer {buf_len}");
            assert_eq!(r.decoder().last_event_id(), b"7");
        }
    }
}

#[test]
fn bufread_adapter_under_every_read_size() {
    for step in [1, 7, STREAM.len()] {
        let mut r = BufItemReader::new(Chunked { data: STREAM, step }, fixed::<32>());
        let mut out = String::new();
        while let Some(item) = r.next() {
            log(item, &mut out);
        }
        assert_eq!(out, WANT, "read size {step}");
    }
}

#[test]
fn a_buffer_one_byte_too_small_gives_a_typed_error_and_the_stream_goes_on() {
    // The longest line is `data: 0123456789abcdef` (22 bytes): a 22-byte
    // line buffer takes it; 21 bytes refuses it, drops that event, and the
    // events after it still come.
    let input = b"data: 0123456789abcdef\n\ndata: after\n\n";
    for (size, want) in [
        (22, "0123456789abcdef/message/;after/message/;"),
        (21, "error Decode(LineTooLong { max: 21 });after/message/;"),
    ] {
        for step in [1, 7, input.len()] {
            let mut buf = [0u8; 16];
            let mut r = ItemReader::new(Chunked { data: input, step }, with_line(size), &mut buf);
            let mut out = String::new();
            while let Some(item) = r.next() {
                log(item, &mut out);
            }
            assert_eq!(out, want, "line buffer {size}, read size {step}");
        }
    }
}

/// A decoder over fixed slices whose line buffer holds `n` bytes (the
/// others 64).
fn with_line(n: usize) -> Decoder<SliceBuffer<'static>> {
    let buf = |len: usize| SliceBuffer::new(Box::leak(vec![0u8; len].into_boxed_slice()));
    Decoder::with_buffers(
        Buffers {
            line: buf(n),
            data: buf(64),
            event_type: buf(64),
            last_event_id: buf(64),
            pending_id: buf(64),
        },
        &Config::default(),
    )
}

#[test]
fn transport_errors_are_reported_and_reading_can_go_on() {
    struct Flaky {
        fail_next: bool,
        data: &'static [u8],
    }
    impl embedded_io::ErrorType for Flaky {
        type Error = embedded_io::ErrorKind;
    }
    impl embedded_io::Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            let fail = self.fail_next;
            self.fail_next = !fail;
            if fail {
                return Err(embedded_io::ErrorKind::TimedOut);
            }
            let n = self.data.len().min(4).min(buf.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
    let mut buf = [0u8; 8];
    let mut r = ItemReader::new(
        Flaky {
            fail_next: true,
            data: b"data: a\n\ndata: b\n\n",
        },
        fixed::<32>(),
        &mut buf,
    );
    let (mut events, mut errors) = (String::new(), 0);
    while let Some(item) = r.next() {
        match item {
            Ok(Item::Event(ev)) => events.push_str(ev.data_str().unwrap()),
            Ok(_) => {}
            Err(ReadError::Transport(embedded_io::ErrorKind::TimedOut)) => errors += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(events, "ab");
    assert!(errors >= 4);
}

#[test]
fn write_adapter_writes_exactly_encoded_len() {
    use ssewire::encode::{Comment, Encode, EventId, Message, Output};
    let items = [
        Output::Comment(Comment::new("hello")),
        Output::Message(Message::new("a\nb").id(EventId::new("9").unwrap())),
    ];
    let mut out = [0u8; 64];
    let mut w = &mut out[..];
    let n = ssewire::embedded::write(&items[..], &mut w).unwrap();
    assert_eq!(n, items[..].encoded_len());
    assert_eq!(&out[..n], b": hello\nid: 9\ndata: a\ndata: b\n\n");
    // Too small: the writer's own error.
    let mut small = [0u8; 10];
    let mut w = &mut small[..];
    assert!(ssewire::embedded::write(&items[..], &mut w).is_err());
}

#[cfg(feature = "embedded-io-async")]
mod nonblocking {
    use super::*;
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use ssewire::embedded::{write_async, AsyncItemReader, WriteError};

    /// Polls a future to completion on this thread, counting `Pending`s.
    fn block_on<F: Future>(f: F) -> (F::Output, usize) {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        let mut pending = 0;
        loop {
            match f.as_mut().poll(&mut cx) {
                Poll::Ready(v) => return (v, pending),
                Poll::Pending => pending += 1,
            }
        }
    }

    /// Returns `Pending` once before every read, then a partial read.
    struct Slow<'a> {
        data: &'a [u8],
        step: usize,
        ready: bool,
    }

    impl embedded_io::ErrorType for Slow<'_> {
        type Error = Infallible;
    }

    impl embedded_io_async::Read for Slow<'_> {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
            let ready = &mut self.ready;
            core::future::poll_fn(|_| {
                let now = *ready;
                *ready = !now;
                if now {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            let n = self.data.len().min(self.step).min(buf.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn async_reader_with_pending_reads() {
        for step in [1, 7, STREAM.len()] {
            let mut buf = [0u8; 16];
            let mut r = AsyncItemReader::new(
                Slow {
                    data: STREAM,
                    step,
                    ready: false,
                },
                fixed::<32>(),
                &mut buf,
            );
            let (out, pending) = block_on(async {
                let mut out = String::new();
                while let Some(item) = r.next().await {
                    log(item, &mut out);
                }
                out
            });
            assert_eq!(out, WANT, "read size {step}");
            assert!(pending > 0);
        }
    }

    #[test]
    fn async_write_into_scratch() {
        use ssewire::encode::{Encode, Message};
        struct Sink(Vec<u8>);
        impl embedded_io::ErrorType for Sink {
            type Error = Infallible;
        }
        impl embedded_io_async::Write for Sink {
            async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
                self.0.extend_from_slice(buf);
                Ok(buf.len())
            }
            async fn flush(&mut self) -> Result<(), Infallible> {
                Ok(())
            }
        }
        let msg = Message::new("x\r\ny");
        let mut sink = Sink(Vec::new());
        let mut scratch = [0u8; 32];
        let (n, _) = block_on(write_async(&msg, &mut sink, &mut scratch));
        assert_eq!(n, Ok(msg.encoded_len()));
        assert_eq!(sink.0, b"data: x\ndata: y\n\n");
        let mut tiny = [0u8; 4];
        let (r, _) = block_on(write_async(&msg, &mut sink, &mut tiny));
        assert!(matches!(r, Err(WriteError::TooLarge(_))));
        assert_eq!(sink.0.len(), n.unwrap());
    }
}
