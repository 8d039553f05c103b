//! sse-cat: decode a text/event-stream into JSON lines, or encode JSON lines
//! into a text/event-stream.
//!
//! ```sh
//! cargo run --release -p sse-cat -- examples/streams/llm-chat.txt
//! cargo install --locked --path sse-cat && curl -sN URL | sse-cat
//! sse-cat --encode < events.jsonl
//! ```
//! Run with `--help` for every option.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use serde_json::Value;

#[cfg(feature = "http")]
mod net;
use ssewire::encode::{Comment, Encode, EventId, EventType, Message as OutEvent, Retry};
use ssewire::{Config, Decoder, Item};

const HELP: &str = "\
sse-cat: decode a text/event-stream to JSON lines, or encode JSON lines to one

USAGE:
    sse-cat [OPTIONS] [FILE]

Reads FILE, or standard input when FILE is absent or '-'.

DECODE (default): one JSON object per line on standard output, in stream order:
    {\"event\":TYPE,\"data\":DATA,\"id\":LAST_EVENT_ID}   for each dispatched event
        TYPE is \"message\" when no event type was set; LAST_EVENT_ID is the last
        event id at dispatch (\"\" if none). Strings are the spec's UTF-8 decode,
        invalid bytes replaced by U+FFFD.
    {\"retry\":MILLISECONDS}                          for each valid retry field
    {\"comment\":TEXT}                                for each comment (--comments)
    With --raw, each event object also has \"raw\": the exact input bytes of its
    block (first line through the blank line), decoded the same way. A CR
    that ends a chunk ends its block at once, so the LF that completes that
    CRLF then starts the next event's raw frame. A block longer than
    --max-line + --max-event bytes keeps no raw bytes (\"raw\":null, and a
    note on standard error): memory stays bounded for any input.
    An event left unterminated at end of input is not printed; a note on
    standard error says it was dropped.
    Input is decoded as it arrives: what each read returns is decoded and
    written out at once, so each event shows as soon as its bytes come
    (--line-buffered also flushes between the lines of one read).

ENCODE (--encode): reads JSON lines of the same shapes and writes the stream.
    {\"data\":D, \"event\":T, \"id\":I, \"retry\":N}   an event; only data is required
    {\"retry\":N}                                 a retry line
    {\"comment\":TEXT}                            comment lines
    Empty lines are skipped. A bad line (invalid JSON, wrong types, unknown
    keys, an event type with a line break, an id with a line break or NUL)
    stops with a message naming the line number; what came before is written.

OPTIONS:
    --encode             encode JSON lines instead of decoding
    --chunk-size N       feed the decoder exactly N bytes at a time (for tests;
                         by default each read is decoded as it returns)
    --comments           also print comments
    --raw                also print each event's raw frame
    --max-line N         decoder limit on line length, in bytes (default 16 MiB)
    --max-event N        decoder limit on an event's data length, in bytes
                         (default 32 MiB). A limit error is reported on
                         standard error with the byte offset of the start of
                         the line that raised it (the same for any chunking),
                         and decoding continues
    --line-buffered      flush after every output line, not only after
                         every read
    --url URL            follow a live endpoint instead of FILE (http:// or
                         https://): GET it with `Accept: text/event-stream`,
                         reconnect as a browser does (Last-Event-ID, the
                         server's retry time, backoff and jitter), and print
                         the same JSON lines, each flushed as it comes:
                         events, retry (as the client applies it: clamped to
                         100 ms..60 s) and, with --comments, comments.
                         Stops at a failed response (status 1), at 204 No
                         Content (status 0), or when interrupted. Connection
                         problems are named on standard error (the name
                         lookup, a refused connection, TLS) and retried.
                         --raw, --chunk-size, --encode and a FILE do not
                         apply. Needs the `http` feature (on by default for
                         `cargo install`)
    -H, --header 'N: V'  add a request header for --url (repeatable)
    --cacert FILE        trust the certificates in this PEM file for https://
                         (for a private CA or a self-signed server) instead
                         of the usual public roots
    --idle-timeout S     reconnect when nothing arrived for S seconds
                         (default 300: a connection whose peer vanished
                         looks open for ever, and servers send keep-alives
                         far more often than that; 0: never)
    -V, --version        print the version
    -h, --help           print this help

EXIT STATUS:
    0 success (also when the output is closed early, as by `| head`),
    1 I/O error (an unreadable FILE is named),
    2 bad arguments or bad --encode input (the line number is given)
";

struct Options {
    encode: bool,
    /// Feed exactly this many bytes at a time; `None`: what each read gives.
    chunk_size: Option<usize>,
    comments: bool,
    raw: bool,
    max_line: Option<usize>,
    max_event: Option<usize>,
    line_buffered: bool,
    file: Option<String>,
    /// `--url`: follow a live endpoint instead of reading a file.
    url: Option<String>,
    /// `-H 'Name: value'` request headers for `--url`.
    headers: Vec<(String, String)>,
    /// `--cacert FILE`: trust these roots for `https://` instead of
    /// Mozilla's.
    cacert: Option<String>,
    /// `--idle-timeout S` (`Some(None)`: 0, never).
    idle_timeout: Option<Option<std::time::Duration>>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        encode: false,
        chunk_size: None,
        comments: false,
        raw: false,
        max_line: None,
        max_event: None,
        line_buffered: false,
        file: None,
        url: None,
        headers: Vec::new(),
        cacert: None,
        idle_timeout: None,
    };
    let mut args = std::env::args().skip(1);
    let number = |name: &str, v: Option<String>| -> Result<usize, String> {
        let v = v.ok_or_else(|| format!("{name} needs a value"))?;
        v.parse::<usize>()
            .map_err(|_| format!("{name}: not a number: {v:?}"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                let _ = io::stdout().write_all(HELP.as_bytes());
                std::process::exit(0);
            }
            "-V" | "--version" => {
                let _ = writeln!(io::stdout(), "sse-cat {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            "--cacert" => o.cacert = Some(args.next().ok_or("--cacert needs a file")?),
            "--idle-timeout" => {
                let secs = number("--idle-timeout", args.next())?;
                o.idle_timeout =
                    Some((secs > 0).then(|| std::time::Duration::from_secs(secs as u64)));
            }
            "--encode" => o.encode = true,
            "--url" => o.url = Some(args.next().ok_or("--url needs a value")?),
            "-H" | "--header" => {
                let h = args.next().ok_or("--header needs a value")?;
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| format!("--header {h:?}: expected 'Name: value'"))?;
                o.headers
                    .push((name.trim().to_string(), value.trim().to_string()));
            }
            "--comments" => o.comments = true,
            "--raw" => o.raw = true,
            "--line-buffered" => o.line_buffered = true,
            "--chunk-size" => {
                let n = number("--chunk-size", args.next())?;
                if n == 0 {
                    return Err("--chunk-size must be at least 1".into());
                }
                o.chunk_size = Some(n);
            }
            "--max-line" => o.max_line = Some(number("--max-line", args.next())?),
            "--max-event" => o.max_event = Some(number("--max-event", args.next())?),
            "-" => o.file = None,
            s if s.starts_with('-') => return Err(format!("unknown option {s:?}")),
            s => {
                if o.file.is_some() {
                    return Err("more than one FILE given".into());
                }
                o.file = Some(s.to_string());
            }
        }
    }
    if o.url.is_some() {
        // What cannot apply to a live stream is refused, not ignored.
        let refused = [
            (o.encode, "--encode"),
            (o.raw, "--raw (a live stream's raw frames are not kept)"),
            (o.chunk_size.is_some(), "--chunk-size"),
            (o.file.is_some(), "a FILE"),
        ];
        if let Some((_, what)) = refused.iter().find(|(on, _)| *on) {
            return Err(format!("{what} cannot be used with --url"));
        }
    }
    Ok(o)
}

/// Writes `bytes` as a JSON string: the spec's lossy UTF-8 decode, escaped.
fn json_str(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(b"\"")?;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        let mut start = 0;
        for (i, &b) in valid.iter().enumerate() {
            let esc: Option<&[u8]> = match b {
                b'"' => Some(b"\\\""),
                b'\\' => Some(b"\\\\"),
                b'\n' => Some(b"\\n"),
                b'\r' => Some(b"\\r"),
                b'\t' => Some(b"\\t"),
                0..=0x1f | 0x7f => None,
                _ => continue,
            };
            out.write_all(&valid[start..i])?;
            match esc {
                Some(e) => out.write_all(e)?,
                None => write!(out, "\\u{b:04x}")?,
            }
            start = i + 1;
        }
        out.write_all(&valid[start..])?;
        if !chunk.invalid().is_empty() {
            out.write_all("\u{FFFD}".as_bytes())?;
        }
    }
    out.write_all(b"\"")
}

/// An I/O error, with the file it concerns when that is the input file.
#[derive(Debug)]
struct IoError {
    file: Option<String>,
    error: io::Error,
}

impl From<io::Error> for IoError {
    fn from(error: io::Error) -> Self {
        IoError { file: None, error }
    }
}

fn open(file: &Option<String>) -> Result<Box<dyn Read>, IoError> {
    Ok(match file {
        Some(f) => Box::new(File::open(f).map_err(|error| IoError {
            file: Some(f.clone()),
            error,
        })?),
        None => Box::new(io::stdin().lock()),
    })
}

/// Reads the next chunk: with a chunk size, exactly that many bytes (less
/// only at the end); without, whatever one read returns, so a live stream
/// is decoded as it arrives. `Ok(0)` at the end of input.
fn next_chunk(input: &mut dyn Read, buf: &mut [u8], exact: bool) -> io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if !exact {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// The raw bytes of the block being read (`--raw`), kept only up to a
/// bound so that memory stays bounded for any input.
struct Frame {
    bytes: Vec<u8>,
    max: usize,
    /// The block went over `max`: its bytes are not kept.
    over: bool,
}

impl Frame {
    fn push(&mut self, part: &[u8]) {
        if self.over {
            return;
        }
        if self.bytes.len() + part.len() > self.max {
            self.over = true;
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(part);
        }
    }

    /// The block ended: its bytes, or `None` when it went over the bound.
    fn take(&mut self) -> Option<Vec<u8>> {
        let over = std::mem::replace(&mut self.over, false);
        let bytes = std::mem::take(&mut self.bytes);
        (!over).then_some(bytes)
    }
}

fn decode(o: &Options) -> Result<(), IoError> {
    let mut input = open(&o.file)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut config = Config::default();
    config.comments(o.comments).blank_lines(o.raw);
    if let Some(n) = o.max_line {
        config.max_line_len(n);
    }
    if let Some(n) = o.max_event {
        config.max_data_len(n);
    }
    let mut dec = Decoder::with_config(&config);
    let max_frame = o
        .max_line
        .unwrap_or(Config::DEFAULT_MAX_LINE_LEN)
        .saturating_add(o.max_event.unwrap_or(Config::DEFAULT_MAX_DATA_LEN));
    let mut frame = Frame {
        bytes: Vec::new(),
        max: max_frame,
        over: false,
    };
    // Chunks above 16 MiB are fed as 16 MiB: the decoder does not care.
    let mut buf = vec![0u8; o.chunk_size.unwrap_or(64 * 1024).min(16 << 20)];
    loop {
        // A read error names its file (a directory given as FILE, say).
        let len =
            next_chunk(&mut input, &mut buf, o.chunk_size.is_some()).map_err(|error| IoError {
                file: o.file.clone(),
                error,
            })?;
        if len == 0 {
            break;
        }
        let chunk = &buf[..len];
        let mut pos = 0;
        loop {
            let f = dec.feed(&chunk[pos..]);
            let start = pos;
            pos += f.consumed;
            if o.raw {
                frame.push(&chunk[start..pos]);
            }
            let mut wrote = true;
            match f.item {
                None => break,
                Some(Ok(Item::Event(ev))) if !o.raw => {
                    json_event(&mut out, ev.event_type(), ev.data(), ev.last_event_id())?;
                }
                Some(Ok(Item::Event(ev))) => {
                    out.write_all(b"{\"event\":")?;
                    json_str(&mut out, ev.event_type())?;
                    out.write_all(b",\"data\":")?;
                    json_str(&mut out, ev.data())?;
                    out.write_all(b",\"id\":")?;
                    json_str(&mut out, ev.last_event_id())?;
                    {
                        out.write_all(b",\"raw\":")?;
                        match frame.take() {
                            Some(raw) => json_str(&mut out, &raw)?,
                            None => {
                                out.write_all(b"null")?;
                                note(&format!("note: an event's block was longer than {max_frame} bytes; its raw bytes are not printed"));
                            }
                        }
                    }
                    out.write_all(b"}\n")?;
                }
                Some(Ok(Item::Retry(d))) => writeln!(out, "{{\"retry\":{}}}", d.as_millis())?,
                Some(Ok(Item::Comment(c))) => json_comment(&mut out, c)?,
                Some(Ok(Item::Blank)) => {
                    let _ = frame.take();
                    wrote = false;
                }
                Some(Ok(_)) => wrote = false,
                Some(Err(e)) => {
                    out.flush()?;
                    note(&format!("byte {}: {e}", dec.last_error_offset()));
                    wrote = false;
                }
            }
            if wrote && o.line_buffered {
                out.flush()?;
            }
        }
        // Live by default: what this read made goes out before the next
        // read waits (a file's reads are 64 KiB: a few thousand flushes for
        // hundreds of megabytes).
        out.flush()?;
    }
    out.flush()?;
    let end = dec.finish();
    if end.incomplete_event {
        note("note: the stream ended inside an event; it was dropped (no blank line after it)");
    } else if end.partial_line {
        note("note: the stream ended inside a line; that line was dropped");
    }
    Ok(())
}

enum EncodeError {
    Io(IoError),
    Bad(usize, String),
}

impl From<io::Error> for EncodeError {
    fn from(e: io::Error) -> Self {
        EncodeError::Io(e.into())
    }
}

impl From<IoError> for EncodeError {
    fn from(e: IoError) -> Self {
        EncodeError::Io(e)
    }
}

fn encode_line(out: &mut impl Write, line: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(map) = v else {
        return Err("expected a JSON object".into());
    };
    let string = |key: &str| -> Result<Option<&str>, String> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        }
    };
    for key in map.keys() {
        if !matches!(key.as_str(), "data" | "event" | "id" | "retry" | "comment") {
            return Err(format!("unknown key \"{key}\""));
        }
    }
    let retry = match map.get("retry") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or("\"retry\" must be a non-negative integer")?,
        ),
    };
    if let Some(c) = string("comment")? {
        if map.len() > 1 {
            return Err("\"comment\" cannot be combined with other keys".into());
        }
        Comment::new(c).encode_io(out).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let Some(data) = string("data")? else {
        let ty = string("event")?;
        let id = string("id")?;
        if ty.is_some() || id.is_some() {
            return Err("an event needs \"data\"".into());
        }
        return match retry {
            Some(ms) => Retry::new(std::time::Duration::from_millis(ms))
                .encode_io(out)
                .map(drop)
                .map_err(|e| e.to_string()),
            None => Err("empty object: nothing to encode".into()),
        };
    };
    let mut ev = OutEvent::new(data);
    if let Some(t) = string("event")? {
        ev = ev.event_type(EventType::new(t).map_err(|e| format!("bad \"event\": {e}"))?);
    }
    if let Some(i) = string("id")? {
        ev = ev.id(EventId::new(i).map_err(|e| format!("bad \"id\": {e}"))?);
    }
    if let Some(ms) = retry {
        ev = ev.retry(std::time::Duration::from_millis(ms));
    }
    ev.encode_io(out).map_err(|e| e.to_string())?;
    Ok(())
}

fn encode(o: &Options) -> Result<(), EncodeError> {
    let mut input = BufReader::new(open(&o.file)?);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut raw = Vec::new();
    for i in 0.. {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        let Ok(line) = std::str::from_utf8(&raw) else {
            out.flush()?;
            return Err(EncodeError::Bad(i + 1, "not valid UTF-8".into()));
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let mut one = Vec::new();
        if let Err(msg) = encode_line(&mut one, line) {
            out.flush()?;
            return Err(EncodeError::Bad(i + 1, msg));
        }
        out.write_all(&one)?;
        if o.line_buffered {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes one decoded event as a JSON line.
fn json_comment(out: &mut impl Write, text: &[u8]) -> io::Result<()> {
    out.write_all(b"{\"comment\":")?;
    json_str(out, text)?;
    out.write_all(b"}\n")
}

fn json_event(out: &mut impl Write, event_type: &[u8], data: &[u8], id: &[u8]) -> io::Result<()> {
    out.write_all(b"{\"event\":")?;
    json_str(out, event_type)?;
    out.write_all(b",\"data\":")?;
    json_str(out, data)?;
    out.write_all(b",\"id\":")?;
    json_str(out, id)?;
    out.write_all(b"}\n")
}

/// `--url`: follows a live endpoint with the EventSource rules.
#[cfg(feature = "http")]
fn follow(url: &str, o: &Options) -> ExitCode {
    use futures_core::Stream;
    use ssewire::client::{Cause, ClientConfig, ClientError, ClientItem, ReconnectingStream};
    let target = match net::Target::new(url, o.cacert.as_deref(), &o.headers) {
        Ok(t) => t,
        Err(e) => {
            note(&e.to_string());
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            note(&e.to_string());
            return ExitCode::from(1);
        }
    };
    let mut decoder = Config::default();
    if let Some(n) = o.max_line {
        decoder.max_line_len(n);
    }
    if let Some(n) = o.max_event {
        decoder.max_data_len(n);
    }
    let mut config = ClientConfig::default();
    config.decoder(decoder).comments(o.comments);
    if let Some(timeout) = o.idle_timeout {
        config.idle_timeout(timeout);
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    runtime.block_on(async {
        let connect = move |headers| target.connect(headers);
        let mut items =
            ReconnectingStream::new(&config, connect, ssewire::client::TokioTimer).with_signals();
        loop {
            let next =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut items).poll_next(cx)).await;
            let written = match next {
                None => return ExitCode::SUCCESS,
                Some(Ok(ClientItem::Event(ev))) => {
                    json_event(&mut out, ev.event_type(), ev.data(), ev.last_event_id())
                }
                Some(Ok(ClientItem::Retry(d))) => writeln!(out, "{{\"retry\":{}}}", d.as_millis()),
                Some(Ok(ClientItem::Comment(text))) => json_comment(&mut out, &text),
                Some(Ok(_)) => continue,
                Some(Err(ClientError::Closed {
                    cause: Cause::NoContent,
                    ..
                })) => {
                    note("the server answered 204 No Content: done");
                    return ExitCode::SUCCESS;
                }
                Some(Err(e @ ClientError::Closed { .. })) => {
                    note(&e.to_string());
                    return ExitCode::from(1);
                }
                Some(Err(e)) => {
                    note(&e.to_string());
                    Ok(())
                }
            };
            if let Err(e) = written.and_then(|()| out.flush()) {
                return io_failure(&IoError::from(e));
            }
        }
    })
}

#[cfg(not(feature = "http"))]
fn follow(_: &str, _: &Options) -> ExitCode {
    note("--url needs the `http` feature (cargo install --path sse-cat enables it)");
    ExitCode::from(2)
}

/// A message on standard error; a closed standard error is no reason to
/// stop (or to panic, as `eprintln!` would).
fn note(message: &str) {
    let _ = writeln!(io::stderr(), "sse-cat: {message}");
}

/// Reports an I/O error; a closed output (`sse-cat ... | head`) is not
/// one: the reader has what it wanted.
fn io_failure(e: &IoError) -> ExitCode {
    if e.error.kind() == io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    match &e.file {
        Some(f) => note(&format!("{f}: {}", e.error)),
        None => note(&e.error.to_string()),
    }
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            note(&format!("{e}\nTry 'sse-cat --help'."));
            return ExitCode::from(2);
        }
    };
    if let Some(url) = &o.url {
        return follow(url, &o);
    }
    if o.encode {
        match encode(&o) {
            Ok(()) => ExitCode::SUCCESS,
            Err(EncodeError::Io(e)) => io_failure(&e),
            Err(EncodeError::Bad(line, msg)) => {
                note(&format!("line {line}: {msg}"));
                ExitCode::from(2)
            }
        }
    } else {
        match decode(&o) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => io_failure(&e),
        }
    }
}
