//! A deliberately simple reference model of the spec's algorithm (WHATWG
//! HTML 9.2.5-9.2.6), taking the whole stream at once. It favours being
//! obviously right over being fast: decode, strip the BOM, split into lines,
//! interpret each line. Shared with the fuzz crate via `#[path]`.
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
    let mut last_event_id;
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
    out
}
