//! The example proxy in front of the example server, on 127.0.0.1: what it
//! does not change passes byte for byte, it drops and rewrites what it is
//! told to, an upstream cut mid-event costs the client nothing (it
//! reconnects through the proxy), and a client going away closes the
//! upstream stream. The example server survives running out of file
//! descriptors and a client that never finishes its headers. Timeouts only
//! guard against hangs.
#![cfg(all(feature = "http-body", feature = "tokio", feature = "reqwest"))]
// The examples share `examples/support`: each brings its own copy.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/proxy.rs"]
#[allow(unused)]
mod proxy;
#[path = "../examples/server.rs"]
#[allow(unused)]
mod server;

use std::sync::atomic::Ordering;

use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUARD: Duration = Duration::from_secs(60);

/// One at a time: some tests count the server's streams, one runs a
/// server process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn start_server(opts: server::Options) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(server::serve(listener, opts));
    addr
}

async fn start_proxy(upstream: &str, rules: proxy::Rules) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(proxy::serve(listener, upstream.to_string(), rules));
    addr
}

fn quick(events: u64) -> server::Options {
    server::Options {
        events,
        interval: Duration::ZERO,
        retry_ms: Some(5),
        ..Default::default()
    }
}

async fn body(url: &str) -> bytes::Bytes {
    tokio::time::timeout(GUARD, async {
        reqwest::get(url).await.unwrap().bytes().await.unwrap()
    })
    .await
    .expect("guard")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_proxy_does_not_change_passes_byte_for_byte() {
    let _g = SERIAL.lock().await;
    let upstream = start_server(quick(40)).await;
    let proxy = start_proxy(&upstream, proxy::Rules::default()).await;
    let direct = body(&format!("http://{upstream}/events")).await;
    let proxied = body(&format!("http://{proxy}/events")).await;
    assert!(direct.len() > 1000);
    assert_eq!(proxied, direct);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_drops_and_rewrites_what_it_is_told_to() {
    let _g = SERIAL.lock().await;
    let upstream = start_server(quick(30)).await;
    let rules = proxy::Rules {
        drop: Some("tick".into()),
        upper: Some("message".into()),
        ..Default::default()
    };
    let proxy = start_proxy(&upstream, rules).await;
    let out = body(&format!("http://{proxy}/events")).await;
    let mut dec = ssewire::Decoder::new();
    let mut seen = Vec::new();
    dec.feed_all(&out, |item| {
        if let Ok(ssewire::Item::Event(ev)) = item {
            seen.push((
                ev.last_event_id_str().unwrap().to_string(),
                ev.event_type_str().unwrap().to_string(),
                ev.data_lossy().into_owned(),
            ));
        }
    });
    // Every third event is a `tick`: dropped. The rest are upper-cased.
    assert_eq!(seen.len(), 20);
    for (id, ty, data) in seen {
        let n: u64 = id.parse().unwrap();
        assert_ne!(n % 3, 0);
        assert_eq!(ty, "message");
        assert_eq!(data, server::event_data(n).to_uppercase());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_cut_mid_event_costs_the_client_nothing() {
    let _g = SERIAL.lock().await;
    for (seed, reconnect) in [
        (5u64, true),
        (77, true),
        (4242, true),
        (5, false),
        (77, false),
    ] {
        let upstream = start_server(server::Options {
            cut_seed: Some(seed),
            ..quick(25)
        })
        .await;
        let rules = proxy::Rules {
            reconnect,
            ..proxy::Rules::default()
        };
        let proxy = start_proxy(&upstream, rules).await;
        let mut config = ssewire::client::ClientConfig::default();
        // The spec's status policy, as a browser: a cut before the
        // upstream's response head reaches the client as an event stream
        // that ends, never as a status that would stop it.
        config
            .retry_range(Duration::from_millis(1), Duration::from_millis(50))
            .backoff(1, Duration::from_millis(50));
        let request = reqwest::Client::new().get(format!("http://{proxy}/events"));
        let mut events = ssewire::client::event_stream(request, &config).unwrap();
        let mut ids = Vec::new();
        let mut reconnects = 0;
        tokio::time::timeout(GUARD, async {
            while ids.len() < 25 {
                match events.next().await.expect("stream goes on") {
                    Ok(ev) => ids.push(
                        std::str::from_utf8(ev.last_event_id())
                            .unwrap()
                            .parse::<u64>()
                            .unwrap(),
                    ),
                    Err(ssewire::client::ClientError::Reconnecting { .. }) => reconnects += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .await
        .expect("guard");
        assert_eq!(ids, (1..=25).collect::<Vec<_>>(), "seed {seed}");
        if reconnect {
            // The proxy reconnected upstream itself: the client never knew.
            assert_eq!(reconnects, 0, "seed {seed}: the proxy hid the cuts");
        } else {
            assert!(reconnects > 2, "seed {seed}: the upstream cut connections");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_going_away_closes_the_upstream_stream() {
    let _g = SERIAL.lock().await;
    let opts = server::Options {
        events: 1000,
        interval: Duration::from_millis(20),
        ..Default::default()
    };
    let streams = std::sync::Arc::clone(&opts.streams);
    let upstream = start_server(opts).await;
    let proxy = start_proxy(&upstream, proxy::Rules::default()).await;
    let before = streams.load(Ordering::SeqCst);
    let mut tcp = TcpStream::connect(&proxy).await.unwrap();
    tcp.write_all(b"GET /events HTTP/1.1\r\nhost: proxy\r\naccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    tokio::time::timeout(GUARD, async {
        while !got.windows(5).any(|w| w == b"id: 1") {
            let n = tcp.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("guard");
    assert_eq!(
        streams.load(Ordering::SeqCst),
        before + 1,
        "the upstream stream is open"
    );
    drop(tcp);
    // The proxy notices, drops its upstream body, the server its stream.
    tokio::time::timeout(GUARD, async {
        while streams.load(Ordering::SeqCst) != before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the upstream stream closes after the client goes away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_a_client_that_never_finishes_its_headers() {
    let _g = SERIAL.lock().await;
    let upstream = start_server(server::Options {
        header_timeout: Duration::from_millis(300),
        ..quick(3)
    })
    .await;
    let mut slow = TcpStream::connect(&upstream).await.unwrap();
    slow.write_all(b"GET /events HTTP/1.1\r\nhost: slow")
        .await
        .unwrap();
    // Others are served meanwhile.
    let ok = body(&format!("http://{upstream}/events")).await;
    assert!(ok.windows(5).any(|w| w == b"id: 3"));
    // And the slow one is cut off by the header timeout.
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(GUARD, slow.read(&mut buf))
        .await
        .expect("guard");
    assert!(
        matches!(n, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf[..n.unwrap()]).contains("408")
    );
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_running_out_of_file_descriptors() {
    let _g = SERIAL.lock().await;
    // The example server as its own process, with 64 file descriptors:
    // this test binary again, running only `server_child_process` (the
    // same server code, with nothing else to build).
    let exe = std::env::current_exe().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec '{}' --exact server_child_process --ignored --nocapture",
            exe.display()
        ))
        .env(CHILD_ADDR, &addr)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for it to listen.
    tokio::time::timeout(GUARD, async {
        while TcpStream::connect(&addr).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("guard");
    // Hold more connections than it has descriptors for.
    let mut held = Vec::new();
    for _ in 0..100 {
        if let Ok(c) = TcpStream::connect(&addr).await {
            held.push(c);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(held);
    // Still serving.
    let ok = tokio::time::timeout(GUARD, async {
        loop {
            if let Ok(r) = reqwest::get(format!("http://{addr}/events")).await {
                if let Ok(b) = r.bytes().await {
                    return b;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the server serves again after the descriptor storm");
    assert!(ok.windows(5).any(|w| w == b"id: 3"));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server is still running"
    );
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("accept failed"),
        "the storm hit the descriptor limit: {log}"
    );
}

/// Where `server_child_process` listens; unset, it is not a child.
const CHILD_ADDR: &str = "PROXY_E2E_CHILD_ADDR";

/// The server half of `the_server_survives_running_out_of_file_descriptors`,
/// run in a child process with few file descriptors: the example server's
/// default settings, 3 events. Without the address, there is nothing to
/// serve and it returns.
#[cfg(target_os = "linux")]
#[ignore = "the child process of the_server_survives_running_out_of_file_descriptors"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_child_process() {
    let Ok(addr) = std::env::var(CHILD_ADDR) else {
        return;
    };
    let listener = TcpListener::bind(&addr).await.unwrap();
    let opts = server::Options {
        events: 3,
        ..Default::default()
    };
    server::serve(listener, opts).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_past_the_last_event_gets_204_and_ids_do_not_wrap() {
    let _g = SERIAL.lock().await;
    let upstream = start_server(quick(5)).await;
    let client = reqwest::Client::new();
    for (id, want) in [
        ("4", 200),
        ("5", 204),
        ("6", 204),
        ("18446744073709551615", 204),
        // One past u64: past the end too, not a replay from the start.
        ("18446744073709551616", 204),
        ("99999999999999999999999", 204),
        ("not a number", 200),
    ] {
        let response = client
            .get(format!("http://{upstream}/events"))
            .header("last-event-id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), want, "Last-Event-ID: {id}");
        if want == 200 {
            let body = response.bytes().await.unwrap();
            let first = if id == "4" { "id: 5" } else { "id: 1" };
            assert!(
                body.windows(5).any(|w| w == first.as_bytes()),
                "Last-Event-ID: {id}"
            );
        }
    }
}
