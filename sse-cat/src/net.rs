//! `--url`: the HTTP stack under the library's reconnecting client. hyper
//! over TCP, or over TLS with rustls (Mozilla's roots, or `--cacert`), and
//! errors that say which step failed: the name lookup, the connection, the
//! TLS handshake, or the HTTP exchange.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Body as _;
use hyper_util::rt::TokioIo;
use ssewire::client::{Opened, RequestHeaders};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// What failed, in words a user can act on.
#[derive(Debug)]
pub(crate) enum NetError {
    /// The host name did not resolve.
    Resolve(String, io::Error),
    /// No connection (refused, unreachable, timed out).
    Connect(String, io::Error),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String, io::Error),
    /// The HTTP exchange failed.
    Http(hyper::Error),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Resolve(host, e) => write!(f, "cannot resolve {host}: {e}"),
            NetError::Connect(addr, e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                write!(f, "connection refused by {addr}")
            }
            NetError::Connect(addr, e) => write!(f, "cannot connect to {addr}: {e}"),
            NetError::Tls(host, e) => write!(f, "TLS with {host} failed: {e}"),
            NetError::Http(e) => write!(f, "HTTP: {e}"),
        }
    }
}

impl std::error::Error for NetError {}

/// Where `--url` points.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    tls: Option<Arc<rustls::ClientConfig>>,
    host: String,
    port: u16,
    path: String,
    headers: Vec<(String, String)>,
}

/// Reads the certificates of a PEM file.
fn certificates(path: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("--cacert {path}: {e}"))?
        .collect();
    let certs = certs.map_err(|e| format!("--cacert {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("--cacert {path}: no certificate in it"));
    }
    Ok(certs)
}

impl Target {
    /// Parses `url` (`http://` or `https://`); `cacert`: trust these roots
    /// instead of Mozilla's.
    pub(crate) fn new(
        url: &str,
        cacert: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<Target, String> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("--url {url:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("--url {url:?}: only http:// and https:// URLs")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("--url {url:?} has no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let mut roots = rustls::RootCertStore::empty();
            match cacert {
                Some(path) => {
                    for cert in certificates(path)? {
                        roots
                            .add(cert)
                            .map_err(|e| format!("--cacert {path}: {e}"))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            // ring: a crypto library in the crate, built with the C compiler
            // cargo uses anyway (aws-lc-rs, rustls' default, needs cmake or
            // prebuilt objects). rustls 0.23.48 deprecates it for lacking
            // post-quantum key exchange, which a tool that follows event
            // streams can do without for now.
            #[allow(deprecated)]
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(Arc::new(config))
        } else {
            None
        };
        Ok(Target {
            tls,
            host,
            port,
            path: uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
            headers: headers.to_vec(),
        })
    }

    /// One GET with the client's headers and ours.
    pub(crate) fn connect(&self, headers: RequestHeaders) -> Connecting {
        let target = self.clone();
        Box::pin(async move { target.request(headers).await })
    }

    async fn request(&self, headers: RequestHeaders) -> Result<Opened<Chunks>, NetError> {
        let addr = format!("{}:{}", self.host, self.port);
        let mut addrs = tokio::net::lookup_host(&addr)
            .await
            .map_err(|e| NetError::Resolve(self.host.clone(), e))?;
        let Some(first) = addrs.next() else {
            return Err(NetError::Resolve(
                self.host.clone(),
                io::Error::new(io::ErrorKind::NotFound, "no address"),
            ));
        };
        let tcp = TcpStream::connect(first)
            .await
            .map_err(|e| NetError::Connect(addr.clone(), e))?;
        match &self.tls {
            None => self.exchange(tcp, headers).await,
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| NetError::Tls(self.host.clone(), io::Error::other(e)))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| NetError::Tls(self.host.clone(), e))?;
                self.exchange(tls, headers).await
            }
        }
    }

    async fn exchange<T>(&self, io: T, headers: RequestHeaders) -> Result<Opened<Chunks>, NetError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(NetError::Http)?;
        // The connection's task ends with the body.
        let task = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        let authority = if (self.tls.is_some() && self.port == 443)
            || (self.tls.is_none() && self.port == 80)
        {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut req = hyper::Request::get(self.path.as_str()).header("host", authority);
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        for (name, value) in headers.iter() {
            req = req.header(name, value);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| NetError::Connect(self.host.clone(), io::Error::other(e)))?;
        let response = sender.send_request(req).await.map_err(NetError::Http)?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &hyper::header::HeaderValue| v.as_bytes().to_vec())
        };
        let (status, content_type, retry_after) = (
            response.status().as_u16(),
            header(hyper::header::CONTENT_TYPE),
            header(hyper::header::RETRY_AFTER),
        );
        let mut body = response.into_body();
        let chunks = futures_core_stream(move |cx| loop {
            let _ = &task;
            return match Pin::new(&mut body).poll_frame(cx) {
                std::task::Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => std::task::Poll::Ready(Some(Ok(data))),
                    Err(_) => continue,
                },
                std::task::Poll::Ready(Some(Err(e))) => {
                    std::task::Poll::Ready(Some(Err(NetError::Http(e))))
                }
                std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
                std::task::Poll::Pending => std::task::Poll::Pending,
            };
        });
        Ok(Opened {
            status,
            content_type,
            retry_after,
            body: chunks,
        })
    }
}

/// The body's chunks.
pub(crate) type Chunks = Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, NetError>> + Send>>;

/// A request in flight.
pub(crate) type Connecting = Pin<Box<dyn Future<Output = Result<Opened<Chunks>, NetError>> + Send>>;

/// A `Stream` from a poll function.
fn futures_core_stream<F>(poll: F) -> Chunks
where
    F: FnMut(&mut std::task::Context<'_>) -> std::task::Poll<Option<Result<Bytes, NetError>>>
        + Send
        + Unpin
        + 'static,
{
    struct PollStream<F>(F);
    impl<F> futures_core::Stream for PollStream<F>
    where
        F: FnMut(&mut std::task::Context<'_>) -> std::task::Poll<Option<Result<Bytes, NetError>>>
            + Unpin,
    {
        type Item = Result<Bytes, NetError>;
        fn poll_next(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            (self.0)(cx)
        }
    }
    Box::pin(PollStream(poll))
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
