//! `examples/contract.rs`, the SSE contract-test service, driven the way
//! the harness drives it: over HTTP, with a scripted stream endpoint and a
//! callback receiver. Each capability it declares is exercised: comments,
//! headers, last-event-id, post and report (method and body), read
//! timeout, restart, server-directed shutdown (204). Timeouts only guard
//! against hangs.
#![cfg(all(feature = "reqwest", feature = "tokio"))]

#[path = "../examples/contract.rs"]
#[allow(unused)]
mod contract;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const GUARD: Duration = Duration::from_secs(30);

/// What the stream endpoint saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    headers: http::HeaderMap,
    body: String,
}

/// One scripted answer of the stream endpoint.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: &'static str,
    /// Keep the response open (silent) after the body.
    hold: bool,
}

fn sse(body: &'static str, hold: bool) -> Answer {
    Answer {
        status: 200,
        body,
        hold,
    }
}

/// The harness's side: a stream endpoint answering from `script` (then
/// holding silent), a callback receiver, and the service.
struct Harness {
    service: SocketAddr,
    stream: SocketAddr,
    callbacks: SocketAddr,
    requests: mpsc::UnboundedReceiver<Seen>,
    messages: mpsc::UnboundedReceiver<Value>,
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn serve_with<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

impl Harness {
    async fn start(script: Vec<Answer>) -> Harness {
        let (req_tx, requests) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let stream = serve_with(move |req: Request<Incoming>| {
            let (req_tx, script) = (req_tx.clone(), Arc::clone(&script));
            async move {
                let (parts, body) = req.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                let _ = req_tx.send(Seen {
                    method: parts.method.to_string(),
                    headers: parts.headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let answer = script.lock().unwrap().pop_front().unwrap_or(sse("", true));
                let first = futures::stream::iter([Ok::<_, Infallible>(Frame::data(
                    Bytes::from_static(answer.body.as_bytes()),
                ))]);
                let body: Body = if answer.hold {
                    StreamBody::new(futures::StreamExt::chain(first, futures::stream::pending()))
                        .boxed()
                } else {
                    StreamBody::new(first).boxed()
                };
                Response::builder()
                    .status(answer.status)
                    .header("content-type", "text/event-stream")
                    .body(body)
                    .unwrap()
            }
        })
        .await;
        let (msg_tx, messages) = mpsc::unbounded_channel();
        let callbacks = serve_with(move |req: Request<Incoming>| {
            let msg_tx = msg_tx.clone();
            async move {
                let body = req.into_body().collect().await.unwrap().to_bytes();
                let _ = msg_tx.send(serde_json::from_slice(&body).unwrap());
                Response::new(Full::new(Bytes::new()).boxed())
            }
        })
        .await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service = listener.local_addr().unwrap();
        tokio::spawn(contract::serve(listener, contract::Service::default()));
        Harness {
            service,
            stream,
            callbacks,
            requests,
            messages,
        }
    }

    /// Creates a client with `extra` options; returns its resource URL.
    async fn create(&self, extra: Value) -> String {
        let mut spec = json!({
            "streamUrl": format!("http://{}/stream?x=1", self.stream),
            "callbackUrl": format!("http://{}/cb", self.callbacks),
            "initialDelayMs": 10,
        });
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let response = reqwest::Client::new()
            .post(format!("http://{}/", self.service))
            .body(spec.to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_string();
        format!("http://{}{location}", self.service)
    }

    async fn request(&mut self) -> Seen {
        tokio::time::timeout(GUARD, self.requests.recv())
            .await
            .expect("a request")
            .unwrap()
    }

    async fn message(&mut self) -> Value {
        tokio::time::timeout(GUARD, self.messages.recv())
            .await
            .expect("a callback")
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_declares_its_capabilities() {
    let h = Harness::start(vec![]).await;
    let text = reqwest::get(format!("http://{}/", h.service))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status: Value = serde_json::from_str(&text).unwrap();
    let caps: Vec<&str> = status["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for cap in [
        "comments",
        "headers",
        "last-event-id",
        "post",
        "report",
        "read-timeout",
        "restart",
        "server-directed-shutdown-request",
    ] {
        assert!(caps.contains(&cap), "{cap}: {caps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_comments_reach_the_callback_in_order() {
    let mut h = Harness::start(vec![sse(
        ": hello\nid: 1\nevent: put\ndata: x\ndata: y\n\n",
        true,
    )])
    .await;
    h.create(json!({})).await;
    assert_eq!(
        h.message().await,
        json!({ "kind": "comment", "comment": "hello" })
    );
    assert_eq!(
        h.message().await,
        json!({ "kind": "event", "event": { "type": "put", "data": "x\ny", "id": "1" } })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_last_event_id_method_and_body_are_sent() {
    for method in ["POST", "REPORT"] {
        let mut h = Harness::start(vec![sse("data: x\n\n", true)]).await;
        h.create(json!({
            "headers": { "x-token": "secret", "content-type": "application/json" },
            "lastEventId": "7",
            "method": method,
            "body": "{\"q\":1}",
        }))
        .await;
        let seen = h.request().await;
        assert_eq!(seen.method, method);
        assert_eq!(seen.body, "{\"q\":1}");
        assert_eq!(seen.headers["x-token"], "secret");
        assert_eq!(seen.headers["content-type"], "application/json");
        assert_eq!(seen.headers["last-event-id"], "7");
        assert_eq!(seen.headers["accept"], "text/event-stream");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reconnects_with_the_last_event_id() {
    let mut h = Harness::start(vec![
        sse("id: 1\ndata: a\n\n", true),
        sse("id: 2\ndata: b\n\n", true),
    ])
    .await;
    let stream = h.create(json!({})).await;
    h.request().await;
    assert_eq!(h.message().await["event"]["data"], "a");
    let response = reqwest::Client::new()
        .post(&stream)
        .body(json!({ "command": "restart" }).to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let again = h.request().await;
    assert_eq!(again.headers["last-event-id"], "1");
    assert_eq!(h.message().await["event"]["data"], "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_stream_is_dropped_after_the_read_timeout() {
    let mut h = Harness::start(vec![sse("data: a\n\n", true), sse("data: b\n\n", true)]).await;
    h.create(json!({ "readTimeoutMs": 300 })).await;
    h.request().await;
    assert_eq!(h.message().await["event"]["data"], "a");
    let error = h.message().await;
    assert_eq!(error["kind"], "error");
    assert!(
        error["comment"].as_str().unwrap().contains("idle timeout"),
        "{error}"
    );
    h.request().await;
    assert_eq!(h.message().await["event"]["data"], "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_204_stops_the_client_for_good() {
    let mut h = Harness::start(vec![Answer {
        status: 204,
        body: "",
        hold: false,
    }])
    .await;
    let stream = h.create(json!({})).await;
    h.request().await;
    let error = h.message().await;
    assert_eq!(error["kind"], "error");
    assert!(
        error["comment"]
            .as_str()
            .unwrap()
            .contains("closed for good"),
        "{error}"
    );
    // No further request.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), h.requests.recv())
            .await
            .is_err()
    );
    // And the stream can be deleted.
    let response = reqwest::Client::new().delete(&stream).send().await.unwrap();
    assert!(response.status().is_success());
}
