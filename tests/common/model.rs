//! A deliberately simple reference model of the spec's algorithm (WHATWG
//! HTML 9.2.5-9.2.6), taking the whole stream at once. It favours being
//! obviously right over being fast: decode, strip the BOM, split into lines,
//! interpret each line. Shared with the fuzz crate via `#[path]`.
// Also compiled into the fuzz crate (`#[path]`), which re-exports it.
#![allow(unreachable_pub)]
#![allow(dead_code)]
// The model mirrors the spec's prose step by step; match guards would hide that.
#![allow(clippy::collapsible_match)]

/// What a stream produces, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// A dispatched event: type (already defaulted to "message"), data, last
    /// event id.
    Event(String, String, String),
    /// A valid `retry` field.
    Retry(u64),
    /// A comment line (text after the colon, minus one leading space).
    Comment(String),
}

/// Runs the spec's algorithm over the complete stream `input`.
/// With `comments`, comment lines are reported too.
pub fn decode(input: &[u8], comments: bool) -> Vec<Out> {
    decode_from(input, comments, "")
}

/// As [`decode`], starting with a known last event id.
pub fn decode_from(input: &[u8], comments: bool, initial_id: &str) -> Vec<Out> {
    decode_with_id(input, comments, initial_id).0
}

/// As [`decode_from`], also returning the last event id string committed
/// by the stream's last blank line (what a client reconnects with).
pub fn decode_with_id(input: &[u8], comments: bool, initial_id: &str) -> (Vec<Out>, String) {
    // "Streams must be decoded using the UTF-8 decode algorithm": the
    // replacement rule is the one String::from_utf8_lossy implements, and
    // it drops one leading BOM.
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);

    // Split into lines. A line ends at CRLF, LF or CR; what follows the last
    // line ending is not a line (the stream ended in the middle of it).
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }

    let mut out = Vec::new();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut last_event_id_buffer = initial_id.to_string();
    let mut last_event_id = initial_id.to_string();
    for line in lines {
        if line.is_empty() {
            // Dispatch.
            last_event_id = last_event_id_buffer.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            let ty = if event_type.is_empty() {
                "message".to_string()
            } else {
                event_type.clone()
            };
            out.push(Out::Event(ty, data.clone(), last_event_id.clone()));
            data.clear();
            event_type.clear();
        } else if let Some(comment) = line.strip_prefix(':') {
            if comments {
                out.push(Out::Comment(
                    comment.strip_prefix(' ').unwrap_or(comment).to_string(),
                ));
            }
        } else {
            let (name, value) = match line.find(':') {
                Some(i) => {
                    let v = &line[i + 1..];
                    (&line[..i], v.strip_prefix(' ').unwrap_or(v))
                }
                None => (&line[..], ""),
            };
            match name {
                "event" => event_type = value.to_string(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" => {
                    if !value.contains('\0') {
                        last_event_id_buffer = value.to_string();
                    }
                }
                "retry" => {
                    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                        // Documented choice: saturate above u64::MAX.
                        let ms = value.parse::<u64>().unwrap_or(u64::MAX);
                        out.push(Out::Retry(ms));
                    }
                }
                _ => {}
            }
        }
    }
    (out, last_event_id)
}

/// The decoder's documented limit recovery, on top of the same rules:
/// a line longer than `max_line` bytes is skipped and drops its event; data
/// growing past `max_data` bytes drops its event; a dropped event's
/// remaining `data` and `event` lines are ignored up to the next blank line,
/// while `id` and `retry` lines still apply. Works on raw bytes (lengths are
/// in bytes) and decodes strings at the end. Returns the outputs and the
/// number of limit errors.
pub fn decode_limited(input: &[u8], max_line: usize, max_data: usize) -> (Vec<Out>, usize) {
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // A stream that is so far only the start of a BOM has no content yet.
    if b"\xEF\xBB\xBF".starts_with(input) {
        return (Vec::new(), 0);
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                lines.push(&input[start..i]);
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            b'\n' => {
                lines.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = Vec::new();
    // An unterminated last line is never interpreted, but one that is
    // already too long has been reported (the decoder cannot wait for its
    // end without buffering it).
    let mut errors = usize::from(input.len() - start > max_line);
    let mut data: Option<Vec<u8>> = None;
    let mut event_type: Vec<u8> = Vec::new();
    let mut id: Vec<u8> = Vec::new();
    let mut discard = false;
    for line in lines {
        if line.len() > max_line {
            errors += 1;
            data = None;
            event_type.clear();
            discard = true;
            continue;
        }
        if line.is_empty() {
            if let (Some(d), false) = (data.take(), discard) {
                let ty = if event_type.is_empty() {
                    "message".to_string()
                } else {
                    lossy(&event_type)
                };
                out.push(Out::Event(ty, lossy(&d), lossy(&id)));
            }
            event_type.clear();
            discard = false;
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" if !discard => {
                let new_len = data.as_ref().map_or(0, |d| d.len() + 1) + value.len();
                if new_len > max_data {
                    errors += 1;
                    data = None;
                    event_type.clear();
                    discard = true;
                } else {
                    let d = data.get_or_insert_with(Vec::new);
                    if !d.is_empty() || new_len > value.len() {
                        d.push(b'\n');
                    }
                    d.extend_from_slice(value);
                }
            }
            b"event" if !discard => event_type = value.to_vec(),
            b"id" if !value.contains(&0) => id = value.to_vec(),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                out.push(Out::Retry(lossy(value).parse::<u64>().unwrap_or(u64::MAX)));
            }
            _ => {}
        }
    }
    (out, errors)
}
