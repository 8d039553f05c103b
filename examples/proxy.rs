//! A reverse proxy for event streams on hyper 1.x, built on
//! [`ssewire::body::ReconnectingProxyBody`]: forwards `GET /events` (with
//! the client's `Last-Event-ID` and credentials) to an upstream SSE server,
//! drops one event type, rewrites another, and passes everything else
//! byte for byte. The ids and `retry` of dropped and rewritten events
//! still reach the client, so it resumes where the upstream would have it
//! resume.
//!
//! **Clients never notice the upstream going away.** When an upstream
//! connection ends or fails, the proxy reconnects upstream itself (with the
//! last event id it forwarded, the upstream's `retry`, backoff and jitter)
//! and goes on with the same response, sending keep-alive comments
//! meanwhile; only after `--max-outage` seconds does it end the response
//! (the client then reconnects by itself). An upstream that is down at a
//! client's first request is waited for the same way. A `204` (the
//! server's way to stop a client) and other statuses pass through.
//! `--no-reconnect` serves one upstream connection per response instead:
//! an upstream that is down then gets a `200 text/event-stream` that ends
//! at once (never a status: any status but 200 and 204 makes an
//! EventSource client stop for good); `--pass-status` passes the
//! upstream's failure on as a status, for clients that retry server errors
//! themselves.
//!
//! It speaks HTTP/1.1 and HTTP/2 (prior knowledge) on one port, answers
//! CORS for the origins given with `--cors`, caps its connections, times
//! out headers, readers that stopped reading and an upstream that does
//! not answer, and on Ctrl-C or SIGTERM ends every stream with a `retry`
//! hint. `--help` lists the options.
//!
//! ```sh
//! cargo run --example server --features http-body,tokio -- 127.0.0.1:8080 &
//! cargo run --example proxy --features http-body,tokio -- 127.0.0.1:8081 127.0.0.1:8080 --drop tick --upper message
//! curl -N http://127.0.0.1:8081/events
//! curl -N --http2-prior-knowledge http://127.0.0.1:8081/events
//! ```
//! The tests and the simulation (`tests/sim`) run [`forward`] and
//! [`serve_connection`] over their own transports.
#![allow(dead_code)]

#[path = "support/mod.rs"]
pub(crate) mod support;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use ssewire::body::{ProxyBody, ReconnectingProxyBody, UpstreamConfig, Verdict};
use ssewire::client::{ClientConfig, Connector, Opened, RequestHeaders, TokioTimer};
use ssewire::encode::OwnedMessage;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

pub(crate) use support::{Limits, Shutdown};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type ProxyBodyBox = UnsyncBoxBody<Bytes, BoxError>;
pub(crate) type ProxyResponse = Response<ProxyBodyBox>;

/// What the proxy does.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    /// Events of this type are dropped.
    pub drop: Option<String>,
    /// Events of this type get their data upper-cased.
    pub upper: Option<String>,
    /// Reconnect upstream inside one client response (default on).
    pub reconnect: bool,
    /// With `reconnect`: how long the upstream may stay away before the
    /// client's response ends.
    pub max_outage: Duration,
    /// Without `reconnect`: pass the upstream's 5xx / 429 statuses and
    /// failures (as 502) through instead of a `200` that ends at once.
    pub pass_status: bool,
    /// A `retry` hint (milliseconds) sent with that `200`.
    pub down_retry: Option<u64>,
    /// How long the upstream has to connect and send its response head:
    /// one that never answers is down (default 10 s).
    pub upstream_timeout: Option<Duration>,
    /// Origins allowed to read the stream from a page of theirs (CORS);
    /// `*` allows any.
    pub cors: Vec<String>,
    /// With `reconnect`: a keep-alive comment when nothing was sent for
    /// this long (it must be shorter than the clients' idle timeout).
    pub keep_alive: Duration,
    /// A fixed jitter seed for the upstream reconnections (default: each
    /// response its own, from the system's random source); for
    /// reproducible runs such as the simulation's.
    pub jitter_seed: Option<u64>,
    /// Connection limits and timeouts.
    pub limits: Limits,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            drop: None,
            upper: None,
            reconnect: true,
            max_outage: UpstreamConfig::DEFAULT_MAX_OUTAGE,
            pass_status: false,
            down_retry: None,
            upstream_timeout: None,
            cors: Vec::new(),
            keep_alive: UpstreamConfig::DEFAULT_KEEP_ALIVE,
            jitter_seed: None,
            limits: Limits::default(),
        }
    }
}

/// The default of [`Rules::upstream_timeout`].
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The `retry` hint of a graceful shutdown, in milliseconds.
const SHUTDOWN_RETRY_MS: u64 = 1000;

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
            let m = ssewire::encode::Message::new(&upper);
            let m = m.try_event_type(ev.raw_event_type()).unwrap_or(m);
            Verdict::Replace(OwnedMessage::from(m))
        } else {
            Verdict::Pass
        }
    }

    fn upstream_config(&self) -> UpstreamConfig {
        let mut client = ClientConfig::default();
        // Several attempts fit in the outage bound: backoff up to a quarter
        // of it (at most 5 s), and a server's `retry` no longer than that.
        let most = (self.max_outage / 4).min(Duration::from_secs(5));
        client
            .retry_status(ssewire::client::retry_server_errors)
            .idle_timeout(Some(UpstreamConfig::DEFAULT_IDLE_TIMEOUT))
            .retry_range(Duration::from_millis(100), most)
            .backoff(2, most);
        if let Some(seed) = self.jitter_seed {
            client.jitter(20, seed);
        }
        let mut config = UpstreamConfig::default();
        config
            .client(client)
            .max_outage(self.max_outage)
            .keep_alive(Some(self.keep_alive));
        config
    }
}

fn full(status: u16, body: Bytes) -> ProxyResponse {
    Response::builder()
        .status(status)
        .body(
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .expect("valid response")
}

/// Request headers passed upstream, besides the EventSource ones.
const PASSED: [&str; 3] = ["authorization", "cookie", "user-agent"];

/// One upstream request: the client's path and credentials, the
/// EventSource headers of the attempt, over a new connection from
/// `connect`, answered within the upstream timeout.
struct Upstream<C> {
    connect: Arc<C>,
    host: Arc<str>,
    uri: hyper::Uri,
    passed: HeaderMap,
    timeout: Duration,
}

impl<C> Clone for Upstream<C> {
    fn clone(&self) -> Self {
        Upstream {
            connect: Arc::clone(&self.connect),
            host: Arc::clone(&self.host),
            uri: self.uri.clone(),
            passed: self.passed.clone(),
            timeout: self.timeout,
        }
    }
}

type UpstreamStream = futures::stream::BoxStream<'static, Result<Bytes, io::Error>>;
type UpstreamFuture = Pin<Box<dyn Future<Output = io::Result<Opened<UpstreamStream>>> + Send>>;

impl<C, Fut, T> Connector for Upstream<C>
where
    C: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<T>> + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Body = UpstreamStream;
    type Error = io::Error;
    type Future = UpstreamFuture;

    fn connect(&mut self, headers: RequestHeaders) -> UpstreamFuture {
        let this = self.clone();
        Box::pin(async move {
            match tokio::time::timeout(this.timeout, this.request(&headers)).await {
                Ok(opened) => opened,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "it did not answer in time",
                )),
            }
        })
    }
}

impl<C, Fut, T> Upstream<C>
where
    C: Fn() -> Fut,
    Fut: Future<Output = io::Result<T>>,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn request(&self, headers: &RequestHeaders) -> io::Result<Opened<UpstreamStream>> {
        let io = (self.connect)().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(io::Error::other)?;
        // The connection's task ends with its body: when the client goes
        // away (or the proxy gives up on a connection), it closes.
        let task = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        let mut req = Request::get(self.uri.clone()).header("host", &*self.host);
        for (name, value) in &self.passed {
            req = req.header(name, value);
        }
        for (name, value) in headers.iter() {
            req = req.header(name, value);
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(io::Error::other)?;
        let response = sender.send_request(req).await.map_err(io::Error::other)?;
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
                    let _ = &task;
                    chunk
                })
                .boxed(),
        })
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The answer for an upstream that is down, without reconnection: an
/// event stream that ends at once, so that the client reconnects (or,
/// with `pass_status`, a `502`).
fn unavailable(rules: &Rules, why: &str) -> ProxyResponse {
    if rules.pass_status {
        return full(502, Bytes::from(format!("{why}\n")));
    }
    let mut body = format!(": upstream unavailable: {why}\n").into_bytes();
    if let Some(ms) = rules.down_retry {
        body.extend_from_slice(format!("retry: {ms}\n").as_bytes());
    }
    body.push(b'\n');
    let mut response = full(200, Bytes::from(body));
    ssewire::body::response_headers(response.headers_mut());
    response
}

/// An event-stream response with `body`.
fn stream_response<B>(body: B, shutdown: Shutdown) -> ProxyResponse
where
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let body = support::Draining::new(body, shutdown, SHUTDOWN_RETRY_MS);
    let mut response = Response::new(body.map_err(Into::into).boxed_unsync());
    ssewire::body::response_headers(response.headers_mut());
    response
}

/// Forwards one request to the upstream that `connect` reaches and filters
/// the answer (see the module docs for what happens when it is down).
pub(crate) async fn forward<C, Fut, T>(
    req: Request<Incoming>,
    connect: Arc<C>,
    host: Arc<str>,
    rules: Arc<Rules>,
    shutdown: Shutdown,
) -> ProxyResponse
where
    C: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<T>> + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut upstream = Upstream {
        connect,
        host,
        uri: req.uri().clone(),
        passed: PASSED
            .iter()
            .filter_map(|&n| {
                req.headers()
                    .get(n)
                    .map(|v| (hyper::header::HeaderName::from_static(n), v.clone()))
            })
            .collect(),
        timeout: rules.upstream_timeout.unwrap_or(UPSTREAM_TIMEOUT),
    };
    let last_id = req
        .headers()
        .get("last-event-id")
        .map(|v| v.as_bytes().to_vec());
    let first = RequestHeaders::new(last_id.as_deref().unwrap_or_default());
    let opened = upstream.connect(first).await;
    let filter_rules = Arc::clone(&rules);
    let filter = move |ev: &ssewire::Event<'_>| filter_rules.verdict(ev);
    let (is_stream, status) = match &opened {
        Ok(o) => (
            o.status == 200
                && o.content_type
                    .as_deref()
                    .is_some_and(ssewire::client::is_event_stream),
            o.status,
        ),
        Err(_) => (false, 0),
    };
    let down = !is_stream && (status == 0 || status == 429 || status >= 500);
    let why = match &opened {
        Err(e) => e.to_string(),
        Ok(o) => format!("it answered {}", o.status),
    };
    if !is_stream && !down {
        // A 204, a 404, a page that is not a stream: as it is.
        return passed_through(opened.expect("answered"));
    }
    if !rules.reconnect || (down && rules.pass_status) {
        return match opened {
            Ok(o) if is_stream => {
                let body = http_body_util::StreamBody::new(o.body.map_ok(hyper::body::Frame::data));
                let mut body = ProxyBody::new(body, filter);
                if let Some(id) = &last_id {
                    let _ = body.set_last_event_id(id);
                }
                stream_response(body, shutdown)
            }
            _ => unavailable(&rules, &why),
        };
    }
    let config = rules.upstream_config();
    let mut body = match opened {
        Ok(o) if is_stream => {
            ReconnectingProxyBody::with_upstream(o, upstream, filter, TokioTimer, &config)
        }
        // Down: wait for it within the outage bound, keep-alives flowing.
        _ => ReconnectingProxyBody::new(upstream, filter, TokioTimer, &config),
    };
    if let Some(id) = &last_id {
        let _ = body.set_last_event_id(id);
    }
    stream_response(body, shutdown)
}

fn passed_through(opened: Opened<UpstreamStream>) -> ProxyResponse {
    let mut response = Response::builder().status(opened.status);
    if let Some(ct) = opened.content_type {
        response = response.header("content-type", ct);
    }
    if let Some(ra) = opened.retry_after {
        response = response.header("retry-after", ra);
    }
    let body = http_body_util::StreamBody::new(opened.body.map_ok(hyper::body::Frame::data));
    response
        .body(BodyExt::map_err(body, BoxError::from).boxed_unsync())
        .expect("valid response")
}

/// Adds the CORS headers for `origin` when the rules allow it.
fn cors(rules: &Rules, origin: Option<&hyper::header::HeaderValue>, response: &mut ProxyResponse) {
    let Some(origin) = origin else {
        return;
    };
    let any = rules.cors.iter().any(|o| o == "*");
    if !any && !rules.cors.iter().any(|o| o.as_bytes() == origin.as_bytes()) {
        return;
    }
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", origin.clone());
    headers.insert(
        "access-control-allow-credentials",
        hyper::header::HeaderValue::from_static("true"),
    );
    headers.insert("vary", hyper::header::HeaderValue::from_static("origin"));
}

/// The proxy as a service: CORS preflight, then [`forward`].
pub(crate) struct App<C> {
    pub connect: Arc<C>,
    pub host: Arc<str>,
    pub rules: Arc<Rules>,
    pub shutdown: Shutdown,
}

impl<C> Clone for App<C> {
    fn clone(&self) -> Self {
        App {
            connect: Arc::clone(&self.connect),
            host: Arc::clone(&self.host),
            rules: Arc::clone(&self.rules),
            shutdown: self.shutdown.clone(),
        }
    }
}

impl<C, Fut, T> support::App for App<C>
where
    C: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<T>> + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Body = ProxyBodyBox;
    type Future = Pin<Box<dyn Future<Output = ProxyResponse> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let app = self.clone();
        Box::pin(async move {
            let origin = req.headers().get("origin").cloned();
            let mut response = if req.method() == hyper::Method::OPTIONS {
                let mut r = full(204, Bytes::new());
                let h = r.headers_mut();
                h.insert(
                    "access-control-allow-methods",
                    hyper::header::HeaderValue::from_static("GET"),
                );
                h.insert(
                    "access-control-allow-headers",
                    hyper::header::HeaderValue::from_static(
                        "last-event-id, cache-control, authorization",
                    ),
                );
                r
            } else {
                forward(
                    req,
                    app.connect,
                    app.host,
                    Arc::clone(&app.rules),
                    app.shutdown,
                )
                .await
            };
            cors(&app.rules, origin.as_ref(), &mut response);
            response
        })
    }
}

/// Serves one client connection (over any transport), forwarding to the
/// upstream that `connect` reaches.
pub(crate) async fn serve_connection<T, C, Fut, U>(
    io: T,
    connect: Arc<C>,
    host: Arc<str>,
    rules: Arc<Rules>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<U>> + Send + 'static,
    U: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = rules.limits.clone();
    let app = App {
        connect,
        host,
        rules,
        shutdown: support::never(),
    };
    support::serve_connection(io, app, &limits, support::never()).await;
}

/// Serves the proxy until `shutdown` fires.
pub(crate) async fn serve_until(
    listener: TcpListener,
    upstream: String,
    rules: Rules,
    shutdown: Shutdown,
) {
    let host: Arc<str> = upstream.clone().into();
    let connect = Arc::new(move || TcpStream::connect(upstream.clone()));
    let limits = rules.limits.clone();
    let app = App {
        connect,
        host,
        rules: Arc::new(rules),
        shutdown: shutdown.clone(),
    };
    support::serve(listener, app, limits, shutdown).await;
}

/// Serves the proxy until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, upstream: String, rules: Rules) {
    serve_until(listener, upstream, rules, support::never()).await;
}

const HELP: &str = "\
usage: proxy [LISTEN] [UPSTREAM] [options]

Forwards GET requests to the SSE server at UPSTREAM (host:port, default
127.0.0.1:8080), listening on LISTEN (default 127.0.0.1:8081), over
HTTP/1.1 and HTTP/2 (prior knowledge).

  --drop TYPE           drop events of this type (their id and retry still
                        reach the client)
  --upper TYPE          upper-case the data of events of this type
  --no-reconnect        one upstream connection per client response
                        (default: reconnect upstream inside the response)
  --max-outage S        with reconnection: end a client's response after the
                        upstream was away S seconds (default 30)
  --pass-status         without reconnection: pass an upstream failure on as
                        a status (default: a 200 event stream that ends, so
                        that browsers reconnect)
  --down-retry MS       a retry hint with that 200
  --upstream-timeout S  the upstream must answer within S seconds (default 10)
  --keep-alive S        with reconnection: a keep-alive comment after S seconds
                        without anything to send (default 15)
  --cors ORIGIN         allow this origin (or *) to read the stream; repeat
                        for more
";

fn parse(args: Vec<String>) -> Result<(String, String, Rules), String> {
    let mut rules = Rules::default();
    let mut positional = Vec::new();
    let mut args = args.into_iter();
    let secs = |v: Option<String>, what: &str| -> Result<Duration, String> {
        v.and_then(|v| v.parse().ok())
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{what} needs a whole number of seconds"))
    };
    while let Some(a) = args.next() {
        if support::limit_arg(&mut rules.limits, &a, &mut args)? {
            continue;
        }
        match a.as_str() {
            "--help" | "-h" => return Err(format!("{HELP}{}", support::LIMITS_HELP)),
            "--drop" => rules.drop = args.next(),
            "--upper" => rules.upper = args.next(),
            "--no-reconnect" => rules.reconnect = false,
            "--max-outage" => rules.max_outage = secs(args.next(), &a)?,
            "--pass-status" => rules.pass_status = true,
            "--down-retry" => {
                rules.down_retry = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .ok_or("--down-retry needs milliseconds")?,
                );
            }
            "--upstream-timeout" => rules.upstream_timeout = Some(secs(args.next(), &a)?),
            "--keep-alive" => rules.keep_alive = secs(args.next(), &a)?,
            "--cors" => rules
                .cors
                .push(args.next().ok_or("--cors needs an origin")?),
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}; see --help"))
            }
            other => positional.push(other.to_string()),
        }
    }
    let mut positional = positional.into_iter();
    let listen = positional.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let upstream = positional.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    Ok((listen, upstream, rules))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (listen, upstream, rules) = match parse(std::env::args().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(if message.starts_with("usage") { 0 } else { 2 });
        }
    };
    let listener = TcpListener::bind(&listen).await?;
    println!(
        "proxying http://{}/events to {upstream}",
        listener.local_addr()?
    );
    serve_until(listener, upstream, rules, support::on_signals()).await;
    Ok(())
}
