//! A `#![no_std]` `#![no_main]` binary using the decoder and the encoder with
//! caller-supplied storage only.
#![no_std]
#![no_main]

use ssewire::encode::{Encode, Message as Out};
use ssewire::{ArrayBuffer, Buffers, Config, Decoder, Item};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Decodes a stream and encodes each event's data back; returns the bytes
/// written.
#[no_mangle]
pub extern "C" fn ssewire_roundtrip(input: *const u8, len: usize, out: *mut u8, cap: usize) -> usize {
    let _ = (input, len, out, cap);
    let stream: &[u8] = b"data: a\r\n\r\n";
    let mut dec: Decoder<ArrayBuffer<256>> = Decoder::with_buffers(Buffers::default(), &Config::default());
    let mut buf = [0u8; 64];
    let mut written = 0;
    let mut rest = stream;
    loop {
        let f = dec.feed(rest);
        rest = &rest[f.consumed..];
        match f.item {
            Some(Ok(Item::Event(ev))) => {
                if let Ok(n) = Out::new(ev.data()).encode(&mut buf[written..]) {
                    written += n;
                }
            }
            None => break,
            _ => {}
        }
    }
    written
}

/// A socket-like reader over a static buffer.
#[cfg(feature = "embedded-io")]
struct Socket(&'static [u8]);

#[cfg(feature = "embedded-io")]
impl embedded_io::ErrorType for Socket {
    type Error = core::convert::Infallible;
}

#[cfg(feature = "embedded-io")]
impl embedded_io::Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Counts the events read through the embedded-io reader.
#[cfg(feature = "embedded-io")]
#[no_mangle]
pub extern "C" fn ssewire_embedded_events() -> usize {
    let dec: Decoder<ArrayBuffer<128>> = Decoder::with_buffers(Buffers::default(), &Config::default());
    let mut buf = [0u8; 32];
    let mut reader = ssewire::embedded::ItemReader::new(Socket(b"data: 1\n\ndata: 2\n\n"), dec, &mut buf);
    let mut n = 0;
    while let Some(item) = reader.next() {
        if let Ok(Item::Event(_)) = item {
            n += 1;
        }
    }
    n
}

/// The async reader's future type-checks without `std` or `alloc` too.
#[cfg(feature = "embedded-io-async")]
pub async fn ssewire_async_events<R: embedded_io_async::Read>(r: R) -> usize {
    let dec: Decoder<ArrayBuffer<128>> = Decoder::with_buffers(Buffers::default(), &Config::default());
    let mut buf = [0u8; 32];
    let mut reader = ssewire::embedded::AsyncItemReader::new(r, dec, &mut buf);
    let mut n = 0;
    while let Some(item) = reader.next().await {
        if let Ok(Item::Event(_)) = item {
            n += 1;
        }
    }
    n
}
