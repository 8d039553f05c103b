//! A filtering proxy: reads an event stream on standard input and writes it
//! to standard output, dropping events of one type, rewriting events of
//! another, and passing everything else through byte for byte (raw frames).
//!
//! ```sh
//! cargo run --example proxy_filter --features bytes -- --drop ping --upper news < examples/streams/ids-retry-comments.txt
//! ```
//!
//! `--drop TYPE` drops events of that type; `--upper TYPE` rewrites events
//! of that type with their data in upper case. A `retry` inside a dropped or
//! rewritten block is written again on its own, so clients keep it.

use std::io::{self, Read, Write};

use bytes::Bytes;
use ssewire::bytes::{BytesDecoder, BytesItem};
use ssewire::encode::{Encode, Retry};
use ssewire::Config;

fn main() -> io::Result<()> {
    let mut drop_type: Option<String> = None;
    let mut upper_type: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--drop" => drop_type = args.next(),
            "--upper" => upper_type = args.next(),
            _ => {
                eprintln!("usage: proxy_filter [--drop TYPE] [--upper TYPE] < in > out");
                std::process::exit(2);
            }
        }
    }

    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut dec =
        BytesDecoder::with_config(Config::default().raw_frames(Config::DEFAULT_MAX_FRAME_LEN));
    let mut retries_in_block: Vec<std::time::Duration> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        dec.push(Bytes::copy_from_slice(&buf[..n]));
        for item in dec.by_ref() {
            match item {
                Ok(BytesItem::Retry(time)) => retries_in_block.push(time),
                Ok(BytesItem::Event(ev)) => {
                    let ty = ev.event_type();
                    let is = |t: &Option<String>| t.as_deref().is_some_and(|t| t.as_bytes() == ty);
                    if is(&drop_type) {
                        for time in retries_in_block.drain(..) {
                            Retry::new(time).encode_io(&mut out)?;
                        }
                    } else if is(&upper_type) {
                        for time in retries_in_block.drain(..) {
                            Retry::new(time).encode_io(&mut out)?;
                        }
                        let upper = ev.data().to_ascii_uppercase();
                        ev.to_encode().with_data(&upper).encode_io(&mut out)?;
                    } else {
                        retries_in_block.clear();
                        match ev.raw() {
                            Some(raw) => out.write_all(raw)?,
                            None => {
                                ev.to_encode().encode_io(&mut out)?;
                            }
                        }
                    }
                }
                Ok(BytesItem::Blank { raw }) => {
                    retries_in_block.clear();
                    if let Some(raw) = raw {
                        out.write_all(&raw)?;
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("proxy_filter: {e}"),
            }
        }
    }
    let _ = dec.finish();
    for item in dec.flatten() {
        match item {
            BytesItem::Blank { raw: Some(raw) } | BytesItem::Trailing(raw) => {
                out.write_all(&raw)?;
            }
            _ => {}
        }
    }
    out.flush()
}
