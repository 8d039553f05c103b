//! Runs the `sse-cat` example as a subprocess and checks its exact output
//! and exit statuses.
#![cfg(feature = "std")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/sse_cat-<hash> -> target/<profile>/examples/sse-cat
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let bin = dir
            .join("examples")
            .join(format!("sse-cat{}", std::env::consts::EXE_SUFFIX));
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--example", "sse-cat"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success());
        }
        bin
    })
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn decodes_the_llm_sample() {
    let o = run(&["examples/streams/llm-chat.txt"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[12], r#"{"event":"message","data":"[DONE]","id":""}"#);
    assert!(lines[10].contains("\u{1F600}"));
    assert!(stderr(&o).is_empty());
}

#[test]
fn every_chunk_size_gives_the_same_lines() {
    for file in [
        "examples/streams/llm-chat.txt",
        "examples/streams/crlf.txt",
        "examples/streams/ids-retry-comments.txt",
    ] {
        let whole = stdout(&run(&["--comments", file], b""));
        for size in ["1", "2", "7", "61"] {
            let o = run(&["--comments", "--chunk-size", size, file], b"");
            assert_eq!(o.status.code(), Some(0));
            assert_eq!(stdout(&o), whole, "{file} with --chunk-size {size}");
        }
    }
}

#[test]
fn raw_frames_cover_the_input() {
    let input = std::fs::read("examples/streams/crlf.txt").unwrap();
    for size in ["1", "5", "65536"] {
        let o = run(&["--raw", "--chunk-size", size], &input);
        let mut raw = String::new();
        for line in stdout(&o).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            raw.push_str(v["raw"].as_str().unwrap());
        }
        // Only event blocks are printed; this sample's comment sits in an
        // event's block, so the events cover the whole input, except the
        // final LF when a chunk boundary fell between the last CR and it.
        let rest = input
            .strip_prefix(raw.as_bytes())
            .expect("frames are a prefix of the input");
        assert!(
            rest.is_empty() || (rest == b"\n" && size == "1"),
            "chunk size {size}: {rest:?}"
        );
    }
}

#[test]
fn edge_cases_decode_exactly() {
    let input =
        b"\xEF\xBB\xBFretry: 2500\rdata: a\xFFb\r\n:c\r\nid: 7\n\ndata:  x\r\rdata: unterminated\n";
    let want = concat!(
        r#"{"retry":2500}"#,
        "\n",
        r#"{"comment":"c"}"#,
        "\n",
        "{\"event\":\"message\",\"data\":\"a\u{FFFD}b\",\"id\":\"7\"}\n",
        r#"{"event":"message","data":" x","id":"7"}"#,
        "\n"
    );
    for size in ["1", "3", "65536"] {
        let o = run(&["--comments", "--chunk-size", size], input);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(stdout(&o), want, "chunk size {size}");
        assert!(stderr(&o).contains("dropped"), "{}", stderr(&o));
    }
}

#[test]
fn escapes_control_characters_as_json() {
    let o = run(&[], b"data: tab\there \"q\" back\\slash \x01\n\n");
    assert_eq!(stdout(&o), "{\"event\":\"message\",\"data\":\"tab\\there \\\"q\\\" back\\\\slash \\u0001\",\"id\":\"\"}\n");
}

#[test]
fn encode_then_decode_round_trips() {
    let decoded = stdout(&run(&["examples/streams/ids-retry-comments.txt"], b""));
    let encoded = run(&["--encode"], decoded.as_bytes());
    assert_eq!(encoded.status.code(), Some(0), "{}", stderr(&encoded));
    let again = run(&[], &encoded.stdout);
    assert_eq!(stdout(&again), decoded);
}

#[test]
fn bad_encode_input_stops_with_line_number_and_status_2() {
    let input = b"{\"data\":\"ok\"}\n\n{\"data\":\"x\",\"id\":\"a\\nb\"}\n{\"data\":\"never\"}\n";
    let o = run(&["--encode"], input);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "data: ok\n\n");
    assert!(stderr(&o).contains("line 3"), "{}", stderr(&o));
    assert!(stderr(&o).contains("id"), "{}", stderr(&o));
    for (bad, what) in [
        (&b"not json\n"[..], "invalid JSON"),
        (b"{\"data\":1}\n", "must be a string"),
        (b"{\"event\":\"x\"}\n", "needs \"data\""),
        (b"{\"data\":\"x\",\"extra\":1}\n", "unknown key"),
        (b"{\"retry\":-5}\n", "retry"),
        (b"{\"data\":\"x\",\"id\":\"a\\u0000\"}\n", "NUL"),
    ] {
        let o = run(&["--encode"], bad);
        assert_eq!(o.status.code(), Some(2), "{what}");
        assert!(
            stderr(&o).contains("line 1") && stderr(&o).contains(what),
            "{what}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn encode_writes_every_shape() {
    let input = b"{\"retry\":100}\n{\"comment\":\"hi\\nthere\"}\n{\"event\":\"e\",\"data\":\" a\\nb\",\"id\":\"1\",\"retry\":5}\n";
    let o = run(&["--encode"], input);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "retry: 100\n: hi\n: there\nevent: e\nid: 1\nretry: 5\ndata:  a\ndata: b\n\n"
    );
}

#[test]
fn limits_are_reported_with_position_and_decoding_goes_on() {
    let o = run(
        &["--max-line", "10", "--chunk-size", "3"],
        b"data: ok\n\ndata: far too long\n\ndata: yes\n\n",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "{\"event\":\"message\",\"data\":\"ok\",\"id\":\"\"}\n{\"event\":\"message\",\"data\":\"yes\",\"id\":\"\"}\n"
    );
    assert!(
        stderr(&o).contains("byte ") && stderr(&o).contains("limit of 10"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--max-event", "3"], b"data: ab\ndata: cd\n\ndata: e\n\n");
    assert_eq!(
        stdout(&o),
        "{\"event\":\"message\",\"data\":\"e\",\"id\":\"\"}\n"
    );
    assert!(stderr(&o).contains("limit of 3"));
}

#[test]
fn exit_statuses() {
    assert_eq!(run(&["--help"], b"").status.code(), Some(0));
    assert!(stdout(&run(&["--help"], b"")).contains("--max-event"));
    assert_eq!(run(&["--bogus"], b"").status.code(), Some(2));
    assert_eq!(run(&["--chunk-size", "0"], b"").status.code(), Some(2));
    assert_eq!(run(&["--chunk-size", "x"], b"").status.code(), Some(2));
    assert_eq!(run(&["/nonexistent/stream"], b"").status.code(), Some(1));
}
