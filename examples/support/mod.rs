//! What the example server and proxy share: serving connections so that
//! real clients, slow or greedy ones included, cannot take the service
//! down. HTTP/1.1 and HTTP/2 (prior knowledge, `h2c`) on one port, a cap on
//! open connections, a timeout for a request's headers and one for a
//! reader that stopped reading, and a graceful shutdown that ends every
//! stream with a `retry` hint.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Semaphore};

/// The limits every connection is served with.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    /// At most this many connections at once; more wait to be accepted.
    pub max_connections: usize,
    /// A client must send a request's headers within this time (HTTP/1.1;
    /// HTTP/2 connections are pinged instead).
    pub header_timeout: Duration,
    /// A write that cannot make progress for this long (the client stopped
    /// reading) ends the connection, freeing its place under the cap.
    pub write_timeout: Duration,
    /// How long a graceful shutdown waits for connections to finish.
    pub drain_timeout: Duration,
    /// HTTP/1.1: the most hyper buffers for one connection, each way (its
    /// default is about 400 KiB). Written bytes past it wait in the body
    /// instead, so a reader that stopped reading holds at most this much
    /// here before the stream's own bound (a broadcast buffer, say) applies.
    /// Request heads larger than this are refused.
    pub buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(5),
            buffer: 32 * 1024,
        }
    }
}

/// Reads `--max-connections N`, `--header-timeout S`, `--write-timeout S`
/// from the arguments; `true` when `arg` was one of them.
pub(crate) fn limit_arg(
    limits: &mut Limits,
    arg: &str,
    args: &mut impl Iterator<Item = String>,
) -> Result<bool, String> {
    let mut value = |what: &str| -> Result<u64, String> {
        args.next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{what} needs a whole number"))
    };
    match arg {
        "--max-connections" => limits.max_connections = value(arg)? as usize,
        "--header-timeout" => limits.header_timeout = Duration::from_secs(value(arg)?),
        "--write-timeout" => limits.write_timeout = Duration::from_secs(value(arg)?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The `--help` lines for [`limit_arg`]'s options.
pub(crate) const LIMITS_HELP: &str = "\
  --max-connections N   serve at most N connections at once (default 1000)
  --header-timeout S    close a connection that has not sent a request's
                        headers within S seconds (default 10)
  --write-timeout S     close a connection whose client stopped reading for
                        S seconds (default 30)";

/// A transport whose writes fail once they have made no progress for
/// `limit`: a client that stops reading cannot hold its connection (and a
/// place under the connection cap) for ever.
pub(crate) struct WriteTimeout<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteTimeout<T> {
    pub(crate) fn new(inner: T, limit: Duration) -> Self {
        WriteTimeout {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Called when a write made no progress: `Err` once it has been so for
    /// the whole limit.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T> WriteTimeout<T> {
    /// What a write returned, with the clock restarted by progress and
    /// checked when there was none.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => {
                if matches!(ready, Poll::Ready(Ok(n)) if n > 0) {
                    self.stalled = None;
                }
                ready
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, result)
    }

    // Vectored writes pass through: without them hyper copies every frame
    // into its own buffer (its "flatten" strategy) instead of queueing the
    // frame's `Bytes`, so a frame shared by every connection would be
    // copied once per connection.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A flush says nothing of the client reading: only a write that
        // makes progress restarts the clock.
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The shutdown signal: `true` once the service is shutting down.
pub(crate) type Shutdown = watch::Receiver<bool>;

/// An event-stream body that, when the service shuts down, ends between
/// two frames (the bodies here send whole events per frame) with a `retry`
/// hint, so that clients come back to the service's next instance soon.
pub(crate) struct Draining<B> {
    inner: B,
    signal: Pin<Box<dyn Future<Output = ()> + Send + Sync>>,
    retry_ms: u64,
    hinted: bool,
}

impl<B> Draining<B> {
    pub(crate) fn new(inner: B, mut shutdown: Shutdown, retry_ms: u64) -> Self {
        let signal = Box::pin(async move { signalled(&mut shutdown).await });
        Draining {
            inner,
            signal,
            retry_ms,
            hinted: false,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Draining<B> {
    type Data = Bytes;
    type Error = B::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        if this.hinted {
            return Poll::Ready(None);
        }
        if this.signal.as_mut().poll(cx).is_ready() {
            this.hinted = true;
            let hint = format!("retry: {}\n\n", this.retry_ms);
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(hint)))));
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.hinted
    }
}

/// The connection-level service: anything that answers a request.
pub(crate) trait App: Clone + Send + Sync + 'static {
    type Body: Body<Data = Bytes> + Send + 'static;
    type Future: Future<Output = Response<Self::Body>> + Send + 'static;
    fn call(&self, req: Request<Incoming>) -> Self::Future;
}

/// Serves one connection (any transport): HTTP/1.1 or HTTP/2 by what the
/// client speaks, with the header and write timeouts, ending gracefully
/// when `shutdown` fires.
pub(crate) async fn serve_connection<T, A>(io: T, app: A, limits: &Limits, mut shutdown: Shutdown)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
    <A::Body as Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = hyper::service::service_fn(move |req| {
        let fut = app.call(req);
        async move { Ok::<_, std::convert::Infallible>(fut.await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.buffer);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let io = TokioIo::new(WriteTimeout::new(io, limits.write_timeout));
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = signalled(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.drain_timeout, conn).await;
        }
    }
}

/// Accepts on `listener` until `shutdown` fires, serving each connection
/// with `app` under `limits`; then waits for the connections to finish
/// (at most `limits.drain_timeout` more). Accept errors (running out of
/// file descriptors) are logged and retried after a pause, never fatal.
pub(crate) async fn serve<A>(
    listener: tokio::net::TcpListener,
    app: A,
    limits: Limits,
    mut shutdown: Shutdown,
) where
    A: App,
    <A::Body as Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limits = Arc::new(limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("never closed"),
            () = signalled(&mut shutdown) => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // EMFILE and friends: back off, then go on serving.
                    eprintln!("accept failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = signalled(&mut shutdown) => break,
        };
        let (app, limits, shutdown) = (app.clone(), Arc::clone(&limits), shutdown.clone());
        tokio::spawn(async move {
            serve_connection(tcp, app, &limits, shutdown).await;
            drop(permit);
        });
    }
    // Wait for the connections to end (each drains on its own).
    let all = Arc::clone(&permits).acquire_many_owned(limits.max_connections as u32);
    let _ = tokio::time::timeout(limits.drain_timeout + Duration::from_secs(1), all).await;
}

/// Resolves once `shutdown` has fired.
pub(crate) async fn signalled(shutdown: &mut Shutdown) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// A shutdown signal fired by Ctrl-C or SIGTERM.
pub(crate) fn on_signals() -> Shutdown {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down: ending streams with a retry hint");
        let _ = tx.send(true);
    });
    rx
}

/// A shutdown signal that never fires, for tests that do not need one.
pub(crate) fn never() -> Shutdown {
    let (tx, rx) = watch::channel(false);
    // Keep the sender alive for ever: a dropped sender reads as shutdown.
    std::mem::forget(tx);
    rx
}
