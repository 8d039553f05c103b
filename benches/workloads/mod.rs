//! Benchmark workloads, generated deterministically (no large files in the
//! repository). Each is about 16 MiB and knows how many events a conformant
//! decoder dispatches and the total length of their data. Shared by the
//! criterion benches and the comparison harness (`benches/compare`).
#![allow(dead_code)]

use std::fmt::Write as _;

/// One generated stream and what decoding it must give.
pub(crate) struct Workload {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Events a conformant decoder dispatches.
    pub events: usize,
    /// Sum of the dispatched events' data lengths, in bytes.
    pub data_bytes: usize,
}

/// The chunkings every workload is measured with.
pub(crate) const CHUNKINGS: [(&str, usize); 3] = [("whole", usize::MAX), ("4k", 4096), ("61b", 61)];

/// Target size of each workload.
pub(crate) const SIZE: usize = 16 << 20;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Tokens as they appear inside JSON strings: plain words, JSON escapes,
/// multi-byte UTF-8 and emoji.
const TOKENS: &[&str] = &[
    "Hello",
    " world",
    ",",
    " the",
    " of",
    " and",
    " to",
    " in",
    " is",
    " that",
    " for",
    " it",
    " with",
    " as",
    " on",
    " be",
    " at",
    " by",
    "\\n",
    "\\n\\n",
    "\\\"",
    " \\\"quoted\\\"",
    "\\t",
    " caf\u{e9}",
    " na\u{ef}ve",
    " \u{4f60}\u{597d}",
    " \u{1F600}",
    " \u{1F680}",
    " \u{3b1}\u{3b2}\u{3b3}",
    ".",
    "!",
    "?",
    " Rust",
    " stream",
    " token",
    " model",
    "```",
    "fn",
    " main",
    "()",
    " {",
    " }",
    " \\\\path",
];

fn tokens(rng: &mut Rng, lo: usize, hi: usize) -> String {
    let n = lo + rng.below(hi - lo + 1);
    (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect()
}

struct Builder {
    bytes: Vec<u8>,
    events: usize,
    data_bytes: usize,
}

impl Builder {
    fn new() -> Self {
        Builder {
            bytes: Vec::with_capacity(SIZE + (1 << 17)),
            events: 0,
            data_bytes: 0,
        }
    }
    fn full(&self) -> bool {
        self.bytes.len() >= SIZE
    }
    fn raw(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
    }
    /// Appends an event: optional lines before the data, data lines, blank.
    fn event(&mut self, pre: &str, data_lines: &[&str]) {
        self.raw(pre);
        for line in data_lines {
            self.raw("data: ");
            self.raw(line);
            self.raw("\n");
        }
        self.raw("\n");
        self.events += 1;
        self.data_bytes += data_lines.iter().map(|l| l.len()).sum::<usize>() + data_lines.len() - 1;
    }
    fn finish(self, name: &'static str) -> Workload {
        Workload {
            name,
            bytes: self.bytes,
            events: self.events,
            data_bytes: self.data_bytes,
        }
    }
}

/// OpenAI-style chat completion chunks, about 270 bytes an event.
pub(crate) fn llm() -> Workload {
    let mut rng = Rng(0x5EED_0001);
    let mut b = Builder::new();
    let mut i = 0u64;
    while !b.full() {
        let content = tokens(&mut rng, 1, 3);
        let data = format!(
            "{{\"id\":\"chatcmpl-9zX{:016x}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_6b68a8204b\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}",
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            1_732_500_000 + i / 50
        );
        b.event("", &[&data]);
        i += 1;
    }
    b.event("", &["[DONE]"]);
    b.finish("llm")
}

/// Anthropic-style messages stream: start, ping, many text deltas, stop.
pub(crate) fn anthropic() -> Workload {
    let mut rng = Rng(0x5EED_0002);
    let mut b = Builder::new();
    let mut msg = 0u64;
    while !b.full() {
        b.event(
            "event: message_start\n",
            &[&format!("{{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_{msg:020}\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-sonnet-20241022\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{{\"input_tokens\":25,\"output_tokens\":1}}}}}}")],
        );
        b.event("event: content_block_start\n", &["{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"]);
        b.event("event: ping\n", &["{\"type\": \"ping\"}"]);
        for _ in 0..400 {
            let text = tokens(&mut rng, 1, 4);
            let data = format!("{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}");
            b.event("event: content_block_delta\n", &[&data]);
        }
        b.event(
            "event: content_block_stop\n",
            &["{\"type\":\"content_block_stop\",\"index\":0}"],
        );
        b.event("event: message_delta\n", &["{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":400}}"]);
        b.event("event: message_stop\n", &["{\"type\":\"message_stop\"}"]);
        msg += 1;
    }
    b.finish("anthropic")
}

/// One 64 KiB `data:` line an event.
pub(crate) fn big() -> Workload {
    let mut rng = Rng(0x5EED_0003);
    let mut b = Builder::new();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while !b.full() {
        let line: String = (0..65536)
            .map(|_| alphabet[rng.below(64)] as char)
            .collect();
        b.event("", &[&line]);
    }
    b.finish("big")
}

/// `id:` + `event:` + 16 `data:` lines of 72-88 bytes an event.
pub(crate) fn multiline() -> Workload {
    let mut rng = Rng(0x5EED_0004);
    let mut b = Builder::new();
    let mut i = 0u64;
    while !b.full() {
        let lines: Vec<String> = (0..16)
            .map(|_| {
                let mut s = String::new();
                let len = 72 + rng.below(17);
                while s.len() < len {
                    s.push_str(TOKENS[rng.below(TOKENS.len())]);
                }
                while s.len() > len {
                    s.pop();
                }
                s
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        b.event(&format!("id: {i}\nevent: log\n"), &refs);
        i += 1;
    }
    b.finish("multiline")
}

/// Plain words of log and prose text, all ASCII.
const ASCII_WORDS: &[&str] = &[
    "the",
    "request",
    "completed",
    "in",
    "ms",
    "user",
    "session",
    "token",
    "stream",
    "server",
    "client",
    "event",
    "data",
    "value",
    "status",
    "ok",
    "error",
    "retry",
    "connection",
    "closed",
    "opened",
    "queue",
    "worker",
    "job",
    "done",
    "started",
    "cache",
    "hit",
    "miss",
    "GET",
    "/api/v1/items",
    "200",
    "404",
    "42",
    "3.14",
    "id=7f3a",
    "level=info",
    "path=/health",
];

/// Rare non-ASCII words among the ASCII ones.
const RARE_WORDS: &[&str] = &["caf\u{e9}", "na\u{ef}ve", "\u{2014}", "\u{b5}s"];

/// `id:` + `event:` + 16 `data:` lines of 72-88 bytes an event, of plain
/// ASCII words (one word in 64 is not ASCII): log lines, markdown, prose.
pub(crate) fn multiline_ascii() -> Workload {
    let mut rng = Rng(0x5EED_0007);
    let mut b = Builder::new();
    let mut i = 0u64;
    while !b.full() {
        let lines: Vec<String> = (0..16)
            .map(|_| {
                let len = 72 + rng.below(17);
                let mut s = String::new();
                while s.len() < len {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    if rng.below(64) == 0 {
                        s.push_str(RARE_WORDS[rng.below(RARE_WORDS.len())]);
                    } else {
                        s.push_str(ASCII_WORDS[rng.below(ASCII_WORDS.len())]);
                    }
                }
                while s.len() > len {
                    s.pop();
                }
                s
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        b.event(&format!("id: {i}\nevent: log\n"), &refs);
        i += 1;
    }
    b.finish("multiline-ascii")
}

/// Events of CJK text only (every data byte is part of a 3-byte UTF-8
/// character): 1 to 4 `data:` lines of 8 to 40 characters, with an `id`.
pub(crate) fn cjk() -> Workload {
    let mut rng = Rng(0x5EED_0008);
    let mut b = Builder::new();
    let mut i = 0u64;
    while !b.full() {
        let lines: Vec<String> = (0..1 + rng.below(4))
            .map(|_| {
                (0..8 + rng.below(33))
                    // CJK Unified Ideographs, U+4E00..U+9FFF.
                    .map(|_| char::from_u32(0x4E00 + rng.below(0x5200) as u32).unwrap())
                    .collect()
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        b.event(&format!("id: {i}\n"), &refs);
        i += 1;
    }
    b.finish("cjk")
}

/// Keep-alive heavy: three `: ping` blocks and a bare `:` line, then an
/// event with `id`, `retry` and a short `data`.
pub(crate) fn heartbeat() -> Workload {
    let mut b = Builder::new();
    let mut i = 0u64;
    while !b.full() {
        b.raw(": ping\n\n: ping\n\n: ping\n\n:\n");
        let mut pre = String::new();
        write!(pre, "id: {i}\nretry: 3000\n").unwrap();
        b.event(&pre, &[&format!("tick {i}")]);
        i += 1;
    }
    b.finish("heartbeat")
}

/// `llm` with CRLF line endings.
pub(crate) fn crlf() -> Workload {
    let w = llm();
    let mut bytes = Vec::with_capacity(w.bytes.len() * 103 / 100);
    for &c in &w.bytes {
        if c == b'\n' {
            bytes.extend_from_slice(b"\r\n");
        } else {
            bytes.push(c);
        }
    }
    Workload {
        name: "crlf",
        bytes,
        events: w.events,
        data_bytes: w.data_bytes,
    }
}

/// Every workload, in report order.
pub(crate) fn all() -> Vec<Workload> {
    vec![
        llm(),
        anthropic(),
        big(),
        multiline(),
        multiline_ascii(),
        cjk(),
        heartbeat(),
        crlf(),
    ]
}

/// Splits `bytes` into chunks of `size` (the last may be shorter).
pub(crate) fn chunks(bytes: &[u8], size: usize) -> Vec<&[u8]> {
    bytes.chunks(size.min(bytes.len()).max(1)).collect()
}
