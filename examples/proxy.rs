//! A reverse proxy for event streams on hyper 1.x with
//! [`ssewire::body::ProxyBody`]: forwards `GET /events` (with the client's
//! `Last-Event-ID`) to an upstream SSE server, drops one event type,
//! rewrites another, and passes everything else byte for byte. When the
//! client goes away, the upstream connection is dropped with it; when the
//! upstream fails mid-stream, the client's connection fails too, so the
//! client reconnects (through the proxy) and resumes. An upstream that
//! fails before its response head becomes a `502`, which clients behind
//! a proxy should retry (`ssewire::client::retry_server_errors`).
//!
//! ```sh
//! cargo run --example server --features http-body,tokio -- 127.0.0.1:8080 &
//! cargo run --example proxy --features http-body,tokio -- 127.0.0.1:8081 127.0.0.1:8080 --drop tick --upper message
//! curl -N http://127.0.0.1:8081/events
//! ```
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ssewire::body::{ProxyBody, Verdict};
use ssewire::encode::OwnedMessage;
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type ProxyResponse = Response<http_body_util::combinators::BoxBody<Bytes, BoxError>>;

/// What the proxy changes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rules {
    /// Events of this type are dropped.
    pub drop: Option<String>,
    /// Events of this type get their data upper-cased.
    pub upper: Option<String>,
}

impl Rules {
    pub(crate) fn verdict(&self, ev: &ssewire::Event<'_>) -> Verdict {
        let is = |t: &Option<String>| {
            t.as_deref()
                .is_some_and(|t| t.as_bytes() == ev.event_type())
        };
        if is(&self.drop) {
            Verdict::Drop
        } else if is(&self.upper) {
            let upper = ev.data_lossy().to_uppercase();
            let m = ssewire::encode::Message::from(*ev).with_data(&upper);
            Verdict::Replace(OwnedMessage::from(m))
        } else {
            Verdict::Pass
        }
    }
}

fn error(status: u16, text: &'static str) -> ProxyResponse {
    Response::builder()
        .status(status)
        .body(
            Full::new(Bytes::from_static(text.as_bytes()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("valid response")
}

/// Forwards one request to `upstream` and filters the answer.
pub(crate) async fn forward(
    req: Request<Incoming>,
    upstream: &str,
    rules: Arc<Rules>,
) -> ProxyResponse {
    let Ok(tcp) = TcpStream::connect(upstream).await else {
        return error(502, "upstream unreachable\n");
    };
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await
    else {
        return error(502, "upstream handshake failed\n");
    };
    tokio::spawn(conn);
    let mut out = Request::get(req.uri().clone()).header("host", upstream);
    for name in ["accept", "last-event-id", "cache-control"] {
        if let Some(v) = req.headers().get(name) {
            out = out.header(name, v);
        }
    }
    let Ok(out) = out.body(Empty::<Bytes>::new()) else {
        return error(400, "bad request\n");
    };
    let Ok(response) = sender.send_request(out).await else {
        return error(502, "upstream failed\n");
    };
    let (parts, body) = response.into_parts();
    let is_stream = parts
        .headers
        .get("content-type")
        .is_some_and(|v| ssewire::client::is_event_stream(v.as_bytes()));
    let body = if parts.status == 200 && is_stream {
        ProxyBody::new(body, move |ev: &ssewire::Event<'_>| rules.verdict(ev))
            .map_err(BoxError::from)
            .boxed()
    } else {
        // Not an event stream (an error page, a 204): pass it as it is.
        body.map_err(BoxError::from).boxed()
    };
    Response::from_parts(parts, body)
}

/// Serves the proxy until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, upstream: String, rules: Rules) {
    let (upstream, rules) = (Arc::new(upstream), Arc::new(rules));
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                eprintln!("accept failed: {e}; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (upstream, rules) = (Arc::clone(&upstream), Arc::clone(&rules));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (upstream, rules) = (Arc::clone(&upstream), Arc::clone(&rules));
                async move { Ok::<_, Infallible>(forward(req, &upstream, rules).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let upstream = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let mut rules = Rules::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--drop" => rules.drop = args.next(),
            "--upper" => rules.upper = args.next(),
            other => eprintln!("ignoring {other:?}"),
        }
    }
    let listener = TcpListener::bind(&listen).await?;
    println!(
        "proxying http://{}/events to {upstream}",
        listener.local_addr()?
    );
    serve(listener, upstream, rules).await;
    Ok(())
}
