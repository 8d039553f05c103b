//! A test service for the cross-SDK SSE client contract tests (the
//! protocol of LaunchDarkly's `sse-contract-tests`): the harness asks this
//! service over HTTP to start clients, each a
//! [`ssewire::client::ReconnectingStream`] with hyper as its HTTP stack,
//! and the service reports what each client sees to the harness's
//! callback URL. Built on the crate's public client API only.
//!
//! Capabilities: `comments`, `headers`, `last-event-id`, `post`, `report`,
//! `read-timeout`, `restart`, `server-directed-shutdown-request`, `bom`.
//!
//! ```sh
//! cargo run --example contract --features futures,std,tokio -- 127.0.0.1:8000
//! ./sse-contract-tests --url http://127.0.0.1:8000
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http_body_util::{BodyDataStream, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use ssewire::client::{
    ClientConfig, ClientError, ClientItem, Opened, ReconnectingStream, RequestHeaders, TokioTimer,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the harness asks of one client (`POST /`).
#[derive(Clone, Debug)]
pub(crate) struct StreamSpec {
    pub stream_url: hyper::Uri,
    pub callback_url: String,
    pub initial_delay: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub last_event_id: Option<String>,
    pub method: hyper::Method,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl StreamSpec {
    fn parse(v: &Value) -> Result<Self, String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let ms = |k: &str| v.get(k).and_then(Value::as_u64).map(Duration::from_millis);
        let stream_url = text("streamUrl")
            .ok_or("streamUrl is required")?
            .parse()
            .map_err(|e| format!("streamUrl: {e}"))?;
        let method = match text("method").as_deref() {
            None | Some("GET") => hyper::Method::GET,
            Some(m) => {
                hyper::Method::from_bytes(m.as_bytes()).map_err(|e| format!("method: {e}"))?
            }
        };
        let headers = v
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(StreamSpec {
            stream_url,
            callback_url: text("callbackUrl").ok_or("callbackUrl is required")?,
            initial_delay: ms("initialDelayMs"),
            read_timeout: ms("readTimeoutMs"),
            last_event_id: text("lastEventId").filter(|s| !s.is_empty()),
            method,
            body: text("body"),
            headers,
        })
    }

    /// The client's settings: the harness's initial delay (and a floor no
    /// higher), its read timeout, comments on.
    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::default();
        config.comments(true);
        if let Some(delay) = self.initial_delay {
            config.initial_retry(delay).retry_range(
                delay.min(Duration::from_millis(100)),
                Duration::from_secs(30),
            );
        }
        if let Some(timeout) = self.read_timeout {
            config.idle_timeout(Some(timeout));
        }
        config
    }
}

type Chunks = futures::stream::BoxStream<'static, Result<Bytes, io::Error>>;

/// One request of the client, as the spec says (method, body, headers),
/// plus the EventSource headers of the attempt.
async fn connect(spec: Arc<StreamSpec>, headers: RequestHeaders) -> io::Result<Opened<Chunks>> {
    let authority = spec
        .stream_url
        .authority()
        .ok_or_else(|| io::Error::other("no host"))?
        .clone();
    let tcp = TcpStream::connect(authority.as_str()).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(io::Error::other)?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = spec.stream_url.path_and_query().map_or("/", |p| p.as_str());
    let mut req = Request::builder()
        .method(spec.method.clone())
        .uri(path)
        .header("host", authority.as_str());
    for (name, value) in &spec.headers {
        req = req.header(name.as_str(), value.as_str());
    }
    for (name, value) in headers.iter() {
        req = req.header(name, value);
    }
    let has_type = spec
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if spec.body.is_some() && !has_type {
        req = req.header("content-type", "text/plain");
    }
    let body = Full::new(Bytes::from(spec.body.clone().unwrap_or_default()));
    let response = sender
        .send_request(req.body(body).map_err(io::Error::other)?)
        .await
        .map_err(io::Error::other)?;
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| v.as_bytes().to_vec())
    };
    Ok(Opened {
        status: response.status().as_u16(),
        content_type: header(hyper::header::CONTENT_TYPE),
        retry_after: header(hyper::header::RETRY_AFTER),
        body: BodyDataStream::new(response.into_body())
            .map_err(io::Error::other)
            .map(move |chunk| {
                // The connection's task ends with the body.
                let _ = &task;
                chunk
            })
            .boxed(),
    })
}

/// Posts one callback message (numbered from 1) to the harness.
async fn callback(url: &str, n: u64, message: Value) {
    let Ok(uri) = format!("{}/{n}", url.trim_end_matches('/')).parse::<hyper::Uri>() else {
        return;
    };
    let Some(authority) = uri.authority().cloned() else {
        return;
    };
    let Ok(tcp) = TcpStream::connect(authority.as_str()).await else {
        return;
    };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await
    else {
        return;
    };
    tokio::spawn(conn);
    let req = Request::post(uri.path())
        .header("host", authority.as_str())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(message.to_string())))
        .expect("valid request");
    if let Ok(response) = sender.send_request(req).await {
        let _ = response.into_body().collect().await;
    }
}

/// A command for a running client.
#[derive(Debug)]
enum Command {
    Restart,
}

/// Runs one client until it closes or is told to stop (the channel
/// closes), reporting each item to the callback URL.
async fn run_client(spec: StreamSpec, mut commands: mpsc::Receiver<Command>) {
    let spec = Arc::new(spec);
    let for_connect = Arc::clone(&spec);
    let connector = move |headers: RequestHeaders| connect(Arc::clone(&for_connect), headers);
    let mut client = ReconnectingStream::new(&spec.config(), connector, TokioTimer);
    if let Some(id) = &spec.last_event_id {
        let _ = client.set_last_event_id(id.as_bytes());
    }
    let mut items = client.with_signals();
    let mut n = 0;
    loop {
        let item = tokio::select! {
            item = items.next() => item,
            command = commands.recv() => match command {
                Some(Command::Restart) => {
                    items.restart();
                    continue;
                }
                None => return,
            },
        };
        let message = match item {
            None => return,
            Some(Ok(ClientItem::Event(ev))) => json!({
                "kind": "event",
                "event": {
                    "type": ev.event_type_lossy(),
                    "data": ev.data_lossy(),
                    "id": ev.last_event_id_lossy(),
                }
            }),
            Some(Ok(ClientItem::Comment(text))) => json!({
                "kind": "comment",
                "comment": String::from_utf8_lossy(&text),
            }),
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                let closed = matches!(e, ClientError::Closed { .. });
                let message = json!({ "kind": "error", "comment": e.to_string() });
                if closed {
                    n += 1;
                    callback(&spec.callback_url, n, message).await;
                    return;
                }
                message
            }
        };
        n += 1;
        callback(&spec.callback_url, n, message).await;
    }
}

/// The running clients, by id.
#[derive(Clone, Default)]
pub(crate) struct Service {
    next: Arc<AtomicU64>,
    clients: Arc<Mutex<HashMap<u64, mpsc::Sender<Command>>>>,
    /// Set when the harness asks the service to stop (`DELETE /`).
    pub stop: Arc<tokio::sync::Notify>,
}

fn reply(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .expect("valid response")
}

const CAPABILITIES: &[&str] = &[
    "comments",
    "headers",
    "last-event-id",
    "post",
    "report",
    "read-timeout",
    "restart",
    "server-directed-shutdown-request",
    "bom",
];

impl Service {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        match (method.as_str(), path.as_str()) {
            ("GET", "/") => reply(
                200,
                json!({ "name": "ssewire", "capabilities": CAPABILITIES }).to_string(),
            ),
            ("DELETE", "/") => {
                self.stop.notify_waiters();
                reply(204, "")
            }
            ("POST", "/") => self.create(&body),
            (method, path) if path.starts_with("/streams/") => {
                let id = path["/streams/".len()..].parse::<u64>().ok();
                self.command(method, id, &body).await
            }
            _ => reply(404, ""),
        }
    }

    fn create(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let spec = match serde_json::from_slice::<Value>(body)
            .map_err(|e| e.to_string())
            .and_then(|v| StreamSpec::parse(&v))
        {
            Ok(spec) => spec,
            Err(why) => return reply(400, why),
        };
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let (tx, rx) = mpsc::channel(8);
        self.clients.lock().expect("not poisoned").insert(id, tx);
        tokio::spawn(run_client(spec, rx));
        let mut response = reply(201, "");
        response.headers_mut().insert(
            "location",
            hyper::header::HeaderValue::from_str(&format!("/streams/{id}")).expect("ascii"),
        );
        response
    }

    async fn command(&self, method: &str, id: Option<u64>, body: &[u8]) -> Response<Full<Bytes>> {
        let Some(id) = id else {
            return reply(404, "");
        };
        if method == "DELETE" {
            // Dropping the sender ends the client.
            return match self.clients.lock().expect("not poisoned").remove(&id) {
                Some(_) => reply(204, ""),
                None => reply(404, ""),
            };
        }
        let command = serde_json::from_slice::<Value>(body).ok();
        let sender = self.clients.lock().expect("not poisoned").get(&id).cloned();
        match (
            command
                .as_ref()
                .and_then(|c| c.get("command"))
                .and_then(Value::as_str),
            sender,
        ) {
            (_, None) => reply(404, ""),
            (Some("restart"), Some(tx)) => {
                let _ = tx.send(Command::Restart).await;
                reply(202, "")
            }
            _ => reply(400, "unknown command"),
        }
    }
}

/// Serves the test service until the harness says `DELETE /`.
pub(crate) async fn serve(listener: TcpListener, service: Service) {
    let stop = Arc::clone(&service.stop);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(_) => continue,
            },
            () = stop.notified() => return,
        };
        let service = service.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(service.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), handler)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into());
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "SSE contract test service on http://{}",
        listener.local_addr()?
    );
    serve(listener, Service::default()).await;
    Ok(())
}
