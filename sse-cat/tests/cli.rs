//! Runs `sse-cat` as a subprocess and checks its exact output and exit
//! statuses, that it decodes live input as it arrives, that its memory is
//! bounded for any input, and that its messages say what to fix.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sse-cat"))
}

/// The repository root, where the sample streams are.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn spawn(args: &[&str]) -> Child {
    Command::new(binary())
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
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
    let input = std::fs::read(root().join("examples/streams/crlf.txt")).unwrap();
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

/// Live input, with no flag: each event reaches standard output before the
/// next one is even written. The test waits for each line, so a tool that
/// buffered its output would hang here (the harness's timeout), not pass by
/// luck.
#[test]
fn decodes_live_input_as_it_arrives() {
    let mut child = spawn(&[]);
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    for i in 0..5 {
        // Each event in two writes, split inside a line.
        input
            .write_all(format!("id: {i}\ndata: tick").as_bytes())
            .unwrap();
        input.flush().unwrap();
        input.write_all(format!(" {i}\n\n").as_bytes()).unwrap();
        input.flush().unwrap();
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        assert_eq!(
            line,
            format!("{{\"event\":\"message\",\"data\":\"tick {i}\",\"id\":\"{i}\"}}\n")
        );
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

/// Peak resident memory of a running process, in KiB (Linux).
#[cfg(target_os = "linux")]
fn peak_rss_kib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A 64 MiB line and a 64 MiB run of comments with no blank line, with and
/// without --raw: the process stays within its limits plus a constant.
#[cfg(target_os = "linux")]
#[test]
fn memory_is_bounded_for_any_input() {
    const BIG: usize = 64 << 20;
    for raw in [false, true] {
        let mut args = vec!["--max-line", "4096", "--max-event", "65536"];
        if raw {
            args.push("--raw");
        }
        let mut child = spawn(&args);
        let mut input = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            BufReader::new(stdout).read_to_string(&mut s).unwrap();
            s
        });
        let errors = std::thread::spawn(move || {
            let mut s = String::new();
            BufReader::new(stderr).read_to_string(&mut s).unwrap();
            s
        });
        let piece = vec![b'a'; 1 << 20];
        input.write_all(b"data: ").unwrap();
        for _ in 0..BIG >> 20 {
            input.write_all(&piece).unwrap();
        }
        input
            .write_all(b"\n\ndata: after the long line\n\n")
            .unwrap();
        let comments = b": keep-alive comment, no blank line after it\n".repeat(1 << 14);
        let mut sent = 0;
        while sent < BIG {
            input.write_all(&comments).unwrap();
            sent += comments.len();
        }
        input.write_all(b"\ndata: after the comments\n\n").unwrap();
        input.flush().unwrap();
        // Everything but the pipe's own buffer has been read by now.
        let peak = peak_rss_kib(&child);
        drop(input);
        assert!(child.wait().unwrap().success());
        let out = reader.join().unwrap();
        let err = errors.join().unwrap();
        assert!(
            out.contains("after the long line") && out.contains("after the comments"),
            "{out}"
        );
        assert!(err.contains("limit of 4096"), "{err}");
        eprintln!("raw {raw}: peak RSS {peak} KiB for 128 MiB of input");
        assert!(
            peak < 24 << 10,
            "raw {raw}: peak RSS {peak} KiB for 128 MiB of input"
        );
    }
}

#[test]
fn error_offsets_do_not_depend_on_the_chunk_size() {
    let input =
        b"data: ok\n\ndata: far too long for the limit\n\ndata: also much too long\ndata: x\n\n";
    let mut seen = Vec::new();
    for size in ["1", "2", "5", "13", "65536"] {
        let o = run(&["--max-line", "12", "--chunk-size", size], input);
        assert_eq!(o.status.code(), Some(0));
        seen.push(stderr(&o));
    }
    assert!(
        seen[0].contains("byte 10:") && seen[0].contains("byte 44:"),
        "{}",
        seen[0]
    );
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
}

#[test]
fn messages_name_what_to_fix() {
    // A missing file is named.
    let o = run(&["/nonexistent/stream.txt"], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/stream.txt"),
        "{}",
        stderr(&o)
    );
    // Invalid UTF-8 in --encode input: status 2 and the line number.
    let o = run(&["--encode"], b"{\"data\":\"ok\"}\n{\"data\":\"\xff\"}\n");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "data: ok\n\n");
    assert!(
        stderr(&o).contains("line 2") && stderr(&o).contains("UTF-8"),
        "{}",
        stderr(&o)
    );
}

/// `sse-cat ... | head -2`: the reader closes the pipe early; sse-cat ends
/// quietly with status 0.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    let mut child = spawn(&[]);
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let event = b"data: again and again\n\n".repeat(1000);
        for _ in 0..2000 {
            if input.write_all(&event).is_err() {
                break;
            }
        }
    });
    let mut output = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    output.read_line(&mut first).unwrap();
    assert!(first.contains("again and again"));
    drop(output); // like `head` exiting
    let status = child.wait().unwrap();
    writer.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// Both standard output and standard error closed (`sse-cat ... >&- 2>&-`,
/// or both piped into a reader that left): status 0, no panic, even with
/// notes to write.
#[test]
fn closed_stdout_and_stderr_end_quietly() {
    // Notes for standard error: a line over the limit, an unterminated
    // event.
    let input = b"data: far too long a line\n\ndata: a\n\ndata: unterminated";
    for close_stdout in [false, true] {
        let mut child = Command::new(binary())
            .args(["--max-line", "12"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let stdout = child.stdout.take().unwrap();
        if close_stdout {
            drop(stdout);
        }
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input);
        drop(stdin);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "stdout closed too: {close_stdout}");
    }
}

#[test]
fn a_directory_given_as_file_is_named() {
    let dir = std::env::temp_dir();
    let o = run(&[dir.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(dir.to_str().unwrap()), "{}", stderr(&o));
}

/// `--url` follows a live endpoint: prints events as they come, and on
/// reconnection sends `Last-Event-ID`; a 204 ends it with status 0.
#[cfg(feature = "http")]
#[test]
fn follows_a_url_with_reconnection() {
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut last_ids = Vec::new();
        for (n, body) in [
            (0, &b"retry: 10\nid: 1\ndata: first\n\nid: 2\ndata: cut"[..]),
            (1, b"id: 3\ndata: second\n\n"),
            (2, b""),
        ]
        .into_iter()
        {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                tcp.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
            assert!(head.contains("accept: text/event-stream"), "{head}");
            assert!(head.contains("x-token: abc"), "{head}");
            last_ids.push(
                head.lines()
                    .find_map(|l| l.strip_prefix("last-event-id: ").map(str::to_string)),
            );
            let status = if n == 2 { "204 No Content" } else { "200 OK" };
            write!(
                tcp,
                "HTTP/1.1 {status}\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            tcp.write_all(body).unwrap();
        }
        last_ids
    });
    let url = format!("http://{addr}/events");
    let o = run(&["--url", &url, "-H", "X-Token: abc"], b"");
    let last_ids = server.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The retry line as the client applies it: 10 ms, clamped to 100.
    assert_eq!(
        stdout(&o),
        "{\"retry\":100}\n{\"event\":\"message\",\"data\":\"first\",\"id\":\"1\"}\n{\"event\":\"message\",\"data\":\"second\",\"id\":\"3\"}\n"
    );
    // The cut event 2 was dropped: the reconnection asked for what follows 1.
    assert_eq!(
        last_ids,
        [None, Some("1".to_string()), Some("3".to_string())]
    );
    assert!(stderr(&o).contains("204"), "{}", stderr(&o));
}

/// A TLS server on 127.0.0.1 with a self-signed certificate for
/// `localhost`, answering every request with `body`; its certificate's PEM.
#[cfg(feature = "http")]
fn tls_server(body: &'static str) -> (u16, String) {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = cert.cert.pem();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if tls.read_exact(&mut byte).await.is_err() {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{body}"
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    (port, pem)
}

/// Runs sse-cat with `args` until its first line on standard error.
#[cfg(feature = "http")]
fn first_error_line(args: &[&str]) -> String {
    let mut child = spawn(args);
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

/// `--url https://` with a private CA (`--cacert`): events arrive; without
/// it, the error says TLS failed, and says why; a refused port and an
/// unknown host are named as such.
#[cfg(feature = "http")]
#[test]
fn follows_https_and_names_what_fails() {
    let (port, pem) = tls_server("id: 1\ndata: over tls\n\n");
    let dir = std::env::temp_dir().join(format!("sse-cat-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let url = format!("https://localhost:{port}/events");
    let mut child = spawn(&["--url", &url, "--cacert", ca.to_str().unwrap()]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        line,
        "{\"event\":\"message\",\"data\":\"over tls\",\"id\":\"1\"}\n"
    );
    // The public roots do not know this certificate.
    let error = first_error_line(&["--url", &url]);
    assert!(error.contains("TLS with localhost failed"), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    // A port nobody listens on, a name that does not resolve.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = first_error_line(&["--url", &format!("http://{closed}/")]);
    assert!(
        error.contains(&format!("connection refused by {closed}")),
        "{error}"
    );
    let error = first_error_line(&["--url", "http://no-such-host.invalid/"]);
    assert!(
        error.contains("cannot resolve no-such-host.invalid"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "http")]
#[test]
fn what_does_not_apply_to_a_live_stream_is_refused() {
    for (flag, extra) in [
        ("--raw", None),
        ("--encode", None),
        ("--chunk-size", Some("4")),
        ("x.txt", None),
    ] {
        let mut args = vec!["--url", "http://127.0.0.1:9/", flag];
        args.extend(extra);
        let o = run(&args, b"");
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(
            stderr(&o).contains("cannot be used with --url"),
            "{flag}: {}",
            stderr(&o)
        );
    }
    let o = run(&["--url", "notaurl"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("only http:// and https://"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--version"], b"");
    assert_eq!(
        stdout(&o),
        format!("sse-cat {}\n", env!("CARGO_PKG_VERSION"))
    );
}
