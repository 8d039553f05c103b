//! The three hosts of the simulation, each the real code over turmoil's
//! simulated TCP: the example server's routes (`EventBody`), the example
//! proxy (`ProxyBody`), and a `ReconnectingStream` client. The faults of
//! the plan happen here, connection by connection.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use http_body::{Body, Frame};
use http_body_util::{BodyDataStream, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ssewire::client::{
    Cause, ClientConfig, ClientError, ClientItem, Opened, ReconnectingStream, RequestHeaders,
    TokioTimer,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::plan::{self, ConnFault, LineEnd, Mangle, Plan, Rng, Split, Topology};
use crate::{proxy, server};

/// Simulated time since the start.
pub fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// What the client saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A request went out with this `Last-Event-ID`.
    Request(Option<String>),
    /// An event: id, type, data.
    Event(String, String, String),
    /// The connection ended; a new attempt after the delay.
    Reconnecting(Cause, Duration),
    /// An event dropped by a limit.
    Dropped(String),
    /// Closed for good.
    Closed(Cause),
    /// The client restarted its connection.
    Restart,
    /// A response opened the stream.
    Open,
    /// A comment (keep-alives are comments).
    Comment,
}

/// Everything the hosts record, shared between them (all hosts run on one
/// thread).
#[derive(Debug, Default)]
pub struct Shared {
    /// What the client saw, with the time.
    pub seen: RefCell<Vec<(Duration, Seen)>>,
    /// The client's reconnection time when its stream ended.
    pub final_retry: Cell<Option<Duration>>,
    /// The killed server process starts again then.
    pub server_down_until: Cell<Option<Duration>>,
    /// Connections accepted so far, by the server and by the proxy.
    pub server_conns: Cell<usize>,
    pub proxy_conns: Cell<usize>,
    /// Spans in which the client may legitimately hear nothing (bytes
    /// stopped by a partition, or held by the proxy).
    pub stalls: RefCell<Vec<(Duration, Duration)>>,
    /// Faults that fired, by kind.
    pub fired: RefCell<BTreeMap<&'static str, u64>>,
    /// Why the run did not wind down, if it did not.
    pub leak: RefCell<Option<String>>,
    /// Free text, for a failing run's report.
    pub trace: RefCell<Vec<String>>,
}

impl Shared {
    pub fn fire(&self, kind: &'static str) {
        *self.fired.borrow_mut().entry(kind).or_default() += 1;
    }

    fn note(&self, line: String) {
        self.trace
            .borrow_mut()
            .push(format!("{:>8.3}s {line}", now().as_secs_f64()));
    }

    fn see(&self, seen: Seen) {
        if seen == Seen::Comment {
            // Keep-alives: counted, not traced one by one.
            self.fire("client: comments seen");
            self.seen.borrow_mut().push((now(), seen));
            return;
        }
        self.note(format!("client: {seen:?}"));
        self.seen.borrow_mut().push((now(), seen));
    }
}

/// Connections open now (a transport wrapped in [`Counted`]).
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicUsize>);

impl Gauge {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A transport counted in a [`Gauge`] while it lives.
pub struct Counted<T> {
    inner: T,
    gauge: Gauge,
}

impl<T> Counted<T> {
    pub fn new(inner: T, gauge: &Gauge) -> Self {
        gauge.0.fetch_add(1, Ordering::SeqCst);
        Counted {
            inner,
            gauge: gauge.clone(),
        }
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        self.gauge.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The gauges the wind-down check reads.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    /// Event streams the server is serving.
    pub streams: Arc<AtomicUsize>,
    /// Client connections the proxy holds, and its upstream connections.
    pub proxy_down: Gauge,
    pub proxy_up: Gauge,
}

type Software = Pin<Box<dyn Future<Output = turmoil::Result>>>;

/// The server's options for `plan`: its script, pacing and keep-alives.
pub fn server_options(plan: &Plan, gauges: &Gauges) -> server::Options {
    let script = plan.clone();
    server::Options {
        events: plan.events,
        interval: plan.interval,
        long_pause: plan.long_pause,
        retry_ms: None,
        keep_alive: plan::KEEP_ALIVE,
        script: Arc::new(move |n| {
            let ev = ssewire::encode::OwnedMessage::new(plan::event_data(n))
                .try_event_type(script.event_type(n))
                .expect("no line breaks");
            match script.event_retry(n) {
                Some(ms) => ev.retry(std::time::Duration::from_millis(ms)),
                None => ev,
            }
        }),
        streams: Arc::clone(&gauges.streams),
        ..server::Options::default()
    }
}

/// The server host: accepts on port 80 and serves each connection with
/// its fault. Restartable: the connection count and the plan live outside.
pub fn server(
    plan: Rc<Plan>,
    shared: Rc<Shared>,
    opts: Arc<server::Options>,
) -> impl Fn() -> Software {
    move || {
        let (plan, shared, opts) = (Rc::clone(&plan), Rc::clone(&shared), Arc::clone(&opts));
        Box::pin(async move {
            // A killed server starts again after its down time: until
            // then its port refuses connections.
            if let Some(until) = shared.server_down_until.get() {
                tokio::time::sleep(until.saturating_sub(now())).await;
            }
            shared.note("server: up".into());
            let listener = turmoil::net::TcpListener::bind("0.0.0.0:80").await?;
            loop {
                let (io, _) = listener.accept().await?;
                let k = shared.server_conns.get();
                shared.server_conns.set(k + 1);
                let fault = plan.server_conns.get(k).cloned().unwrap_or_default();
                count_fault(&shared, &fault, "server");
                shared.note(format!("server: connection {k}: {fault:?}"));
                let (opts, shared) = (Arc::clone(&opts), Rc::clone(&shared));
                tokio::task::spawn_local(serve_server_connection(io, fault, opts, shared));
            }
        })
    }
}

fn count_fault(shared: &Shared, f: &ConnFault, side: &'static str) {
    let server = side == "server";
    if f.before_head {
        shared.fire(if server {
            "server: reset before the response head"
        } else {
            "proxy: reset before the response head"
        });
    } else if f.cut.is_some() {
        shared.fire(if server {
            "server: cut at a byte offset"
        } else {
            "proxy: cut at a byte offset"
        });
    }
    if let Some((_, ra)) = f.status {
        shared.fire(match ra {
            "0" => "server: status with Retry-After 0",
            "4294967295" => "server: status with Retry-After 2^32-1",
            _ => "server: status with another Retry-After",
        });
    }
    let m = &f.mangle;
    for (on, kind) in [
        (m.line_end == LineEnd::CrLf, "server: CRLF line ends"),
        (m.line_end == LineEnd::Cr, "server: CR line ends"),
        (
            matches!(m.split, Split::Random(_)),
            "server: frames cut at random (CRLF split)",
        ),
        (m.split == Split::OneByte, "server: 1-byte HTTP chunks"),
        (m.bom, "server: BOM at the start"),
        (m.smuggle, "server: BOM block after a dropped event"),
        (m.endless.is_some(), "server: endless line, then cut"),
    ] {
        if on {
            shared.fire(kind);
        }
    }
}

/// Reads a little of the request, then closes without a response.
async fn reset<T: AsyncRead + Unpin>(mut io: T) {
    let mut buf = [0u8; 64];
    let _ = io.read(&mut buf).await;
}

fn status_response(status: u16, retry_after: &'static str) -> Response<server::AnyBody> {
    Response::builder()
        .status(status)
        .header("retry-after", retry_after)
        .header("content-type", "text/plain")
        .body(
            Full::new(Bytes::from_static(b"unavailable\n"))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("valid response")
}

async fn serve_server_connection(
    io: turmoil::net::TcpStream,
    fault: ConnFault,
    opts: Arc<server::Options>,
    shared: Rc<Shared>,
) {
    if fault.before_head {
        return reset(io).await;
    }
    let endless = fault.mangle.endless;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let response = match fault.status {
            Some((status, retry_after)) => status_response(status, retry_after),
            None => {
                let response = server::route(&req, &opts);
                if fault.mangle == Mangle::default() || response.status() != 200 {
                    response
                } else {
                    response.map(|body| MangledBody::new(body, fault.mangle.clone()).boxed())
                }
            }
        };
        async move { Ok::<_, Infallible>(response) }
    });
    if endless.is_some() {
        // The proxy holds a line that never ends: the client may hear
        // nothing meanwhile.
        let start = now();
        shared
            .stalls
            .borrow_mut()
            .push((start, start + plan::IDLE_TIMEOUT * 2));
    }
    let builder = hyper::server::conn::http1::Builder::new();
    let _ = match fault.cut {
        Some(cut) => {
            builder
                .serve_connection(TokioIo::new(server::CutIo::new(io, cut)), service)
                .await
        }
        None => builder.serve_connection(TokioIo::new(io), service).await,
    };
}

/// The server's body with hostile bytes: line endings changed, frames cut
/// elsewhere, a BOM, a smuggling attempt, an endless line.
struct MangledBody {
    inner: server::AnyBody,
    mangle: Mangle,
    rng: Rng,
    /// Bytes to send before the inner body's (the prefix), then its frames.
    out: VecDeque<Bytes>,
    started: bool,
    /// The endless line went out: fail the body.
    cut: bool,
}

impl MangledBody {
    fn new(inner: server::AnyBody, mangle: Mangle) -> Self {
        let seed = match mangle.split {
            Split::Random(seed) => seed,
            _ => 1,
        };
        MangledBody {
            inner,
            mangle,
            rng: Rng::new(seed),
            out: VecDeque::new(),
            started: false,
            cut: false,
        }
    }

    fn line_ends(&self, bytes: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(bytes.len() * 2);
        for &b in bytes {
            match (b, self.mangle.line_end) {
                (b'\n', LineEnd::CrLf) => out.extend_from_slice(b"\r\n"),
                (b'\n', LineEnd::Cr) => out.extend_from_slice(b"\r"),
                _ => out.extend_from_slice(&[b]),
            }
        }
        out.freeze()
    }

    /// Queues `bytes` cut as the plan says.
    fn queue(&mut self, bytes: Bytes) {
        let mut at = 0;
        while at < bytes.len() {
            let n = match self.mangle.split {
                Split::Whole => bytes.len() - at,
                Split::OneByte => 1,
                Split::Random(_) => (self.rng.range(1, 40) as usize).min(bytes.len() - at),
            };
            self.out.push_back(bytes.slice(at..at + n));
            at += n;
        }
    }

    fn prefix(&mut self) {
        let mut prefix = Vec::new();
        if self.mangle.bom {
            prefix.extend_from_slice("\u{FEFF}".as_bytes());
        }
        if self.mangle.smuggle {
            prefix.extend_from_slice(b"event: drop\ndata: hidden\n\n");
            prefix.extend_from_slice("\u{FEFF}data: smuggled\n\n".as_bytes());
        }
        if let Some(len) = self.mangle.endless {
            prefix.extend_from_slice(b"data: ");
            prefix.resize(prefix.len() + len, b'x');
            self.cut = true;
        }
        if !prefix.is_empty() {
            let bytes = self.line_ends(&prefix);
            self.queue(bytes);
        }
    }
}

impl Body for MangledBody {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            this.prefix();
        }
        loop {
            if let Some(frame) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            if this.cut {
                return Poll::Ready(Some(Err(io::Error::other("endless line cut"))));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let bytes = this.line_ends(&data);
                        this.queue(bytes);
                    }
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            }
        }
    }
}

/// The proxy host: the example proxy's connection handling, its upstream
/// the server host.
pub fn proxy(plan: Rc<Plan>, shared: Rc<Shared>, gauges: Gauges) -> impl Fn() -> Software {
    move || {
        let (plan, shared, gauges) = (Rc::clone(&plan), Rc::clone(&shared), gauges.clone());
        Box::pin(async move {
            let listener = turmoil::net::TcpListener::bind("0.0.0.0:80").await?;
            let up = gauges.proxy_up.clone();
            let connect = Arc::new(move || {
                let up = up.clone();
                async move {
                    let io = turmoil::net::TcpStream::connect("server:80").await?;
                    Ok::<_, io::Error>(Counted::new(io, &up))
                }
            });
            let rules = Arc::new(proxy::Rules {
                drop: Some("drop".into()),
                upper: Some("swap".into()),
                // Less than the client's idle timeout: a client waits for
                // an upstream that does not answer no longer than that.
                upstream_timeout: Some(plan::IDLE_TIMEOUT * 3 / 4),
                keep_alive: plan::KEEP_ALIVE,
                jitter_seed: Some(plan.seed ^ 0x9E0),
                max_outage: plan.max_outage(),
                ..proxy::Rules::default()
            });
            let host: Arc<str> = "server".into();
            loop {
                let (io, _) = listener.accept().await?;
                let k = shared.proxy_conns.get();
                shared.proxy_conns.set(k + 1);
                let fault = plan.proxy_conns.get(k).cloned().unwrap_or_default();
                count_fault(&shared, &fault, "proxy");
                shared.note(format!("proxy: connection {k}: {fault:?}"));
                let io = Counted::new(io, &gauges.proxy_down);
                let (connect, host, rules) =
                    (Arc::clone(&connect), Arc::clone(&host), Arc::clone(&rules));
                tokio::task::spawn_local(async move {
                    match (fault.before_head, fault.cut) {
                        (true, _) => reset(io).await,
                        (false, Some(cut)) => {
                            proxy::serve_connection(
                                server::CutIo::new(io, cut),
                                connect,
                                host,
                                rules,
                            )
                            .await;
                        }
                        (false, None) => proxy::serve_connection(io, connect, host, rules).await,
                    }
                });
            }
        })
    }
}

type ClientBody = futures::stream::LocalBoxStream<'static, Result<Bytes, io::Error>>;

/// One GET of `http://{host}/events` with the machine's headers.
async fn connect(host: &'static str, headers: RequestHeaders) -> io::Result<Opened<ClientBody>> {
    let io = turmoil::net::TcpStream::connect((host, 80)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(io::Error::other)?;
    // The connection's task ends with its body: a client that gives up on
    // a connection (an idle timeout) closes it.
    let task = AbortOnDrop(tokio::task::spawn_local(conn));
    let mut req = Request::get("/events").header("host", host);
    for (name, value) in headers.iter() {
        req = req.header(name, value);
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(io::Error::other)?;
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let header = |name| {
        resp.headers()
            .get(name)
            .map(|v: &hyper::header::HeaderValue| v.as_bytes().to_vec())
    };
    Ok(Opened {
        status: resp.status().as_u16(),
        content_type: header(hyper::header::CONTENT_TYPE),
        retry_after: header(hyper::header::RETRY_AFTER),
        body: BodyDataStream::new(resp.into_body())
            .map_err(io::Error::other)
            .map(move |chunk| {
                let _ = &task;
                chunk
            })
            .boxed_local(),
    })
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The client's settings: browser-like through the proxy (the spec's
/// status policy), a service's with server errors retried when direct.
pub fn client_config(plan: &Plan) -> ClientConfig {
    let mut config = ClientConfig::default();
    config
        .retry_range(plan::MIN_RETRY, plan::MAX_RETRY)
        .backoff(2, plan::MAX_BACKOFF)
        .jitter(20, plan.seed ^ 0x5EED)
        .idle_timeout(Some(plan::IDLE_TIMEOUT))
        .comments(plan.comments);
    if plan.topology == Topology::Direct {
        config.retry_status(ssewire::client::retry_server_errors);
    }
    config
}

/// The client host: reads until the stream closes (or the plan's stop),
/// then checks that everything it used winds down.
pub async fn client(plan: Rc<Plan>, shared: Rc<Shared>, gauges: Gauges) -> turmoil::Result {
    let host = match plan.topology {
        Topology::Proxy => "proxy",
        Topology::Direct => "server",
    };
    let on_connect = Rc::clone(&shared);
    let connector = move |headers: RequestHeaders| {
        let id = headers
            .last_event_id()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        on_connect.see(Seen::Request(id));
        connect(host, headers)
    };
    let mut events =
        ReconnectingStream::new(&client_config(&plan), connector, TokioTimer).with_signals();
    let mut delivered = 0;
    while let Some(item) = events.next().await {
        match item {
            Ok(ClientItem::Open) => shared.see(Seen::Open),
            Ok(ClientItem::Comment(_)) => shared.see(Seen::Comment),
            Ok(ClientItem::Event(ev)) => {
                shared.see(Seen::Event(
                    ev.last_event_id_lossy().into_owned(),
                    ev.event_type_lossy().into_owned(),
                    ev.data_lossy().into_owned(),
                ));
                delivered += 1;
                if plan.stop_after == Some(delivered) {
                    break;
                }
                if let Some((_, pause)) = plan.slow_reads.iter().find(|(k, _)| *k == delivered) {
                    shared.fire("client: consumer slower than the idle timeout");
                    tokio::time::sleep(*pause).await;
                }
                if plan.restarts.contains(&delivered) {
                    shared.fire("client: restart()");
                    shared.see(Seen::Restart);
                    events.restart();
                }
            }
            Ok(_) => {}
            Err(ClientError::Reconnecting { cause, delay, .. }) => {
                shared.see(Seen::Reconnecting(cause, delay));
            }
            Err(ClientError::Decode(e)) => shared.see(Seen::Dropped(e.to_string())),
            Err(ClientError::Closed { cause, .. }) => {
                shared.see(Seen::Closed(cause));
                break;
            }
        }
    }
    shared.final_retry.set(Some(events.state().retry()));
    drop(events);
    wind_down(&shared, &gauges).await;
    Ok(())
}

/// Waits (simulated time) until no stream, connection or task of the
/// run is left; notes a leak if some are after a generous while.
async fn wind_down(shared: &Shared, gauges: &Gauges) {
    let deadline = now() + Duration::from_secs(60);
    loop {
        let left = (
            gauges.streams.load(Ordering::SeqCst),
            gauges.proxy_down.get(),
            gauges.proxy_up.get(),
        );
        if left == (0, 0, 0) {
            shared.note("wind-down: nothing left".into());
            return;
        }
        if now() > deadline {
            *shared.leak.borrow_mut() = Some(format!(
                "60 s after the client stopped: {} server streams, {} proxy client connections, {} proxy upstream connections (TCP streams: client {}, proxy {})",
                left.0, left.1, left.2,
                turmoil::established_tcp_stream_count_on("client"),
                turmoil::established_tcp_stream_count_on("proxy"),
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
