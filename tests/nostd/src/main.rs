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
