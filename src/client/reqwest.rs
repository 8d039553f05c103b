//! Feature `reqwest`: [`event_stream`], a [`ReconnectingStream`] over a
//! `reqwest::RequestBuilder` (reqwest 0.13), sleeping with tokio's timer.
//! The request is rebuilt for every attempt with the current
//! `Last-Event-ID`.
//!
//! No TLS backend is forced (the feature takes reqwest with no default
//! features): for `https://` URLs enable one of reqwest's own in your
//! `Cargo.toml`, for example
//! `reqwest = { version = "0.13", default-features = false, features = ["rustls"] }`
//! (cargo unifies it with this crate's). Without one, an `https://`
//! request fails at once and the error says so.

use std::boxed::Box;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

use super::reconnect::{Connector, Opened, ReconnectingStream, RequestHeaders};
use super::ClientConfig;
use crate::timer::TokioTimer;

/// The body of a reqwest response, as chunks.
pub type ReqwestBody = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// The events of a reqwest request, reconnecting as the EventSource rules
/// say (see [`event_stream`]).
pub type ReqwestEventStream = ReconnectingStream<ReqwestConnector, TokioTimer>;

/// Sends clones of one request, with the EventSource headers added.
#[derive(Debug)]
pub struct ReqwestConnector {
    request: reqwest::RequestBuilder,
}

/// Why [`event_stream`] cannot use a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum RequestError {
    /// The request does not build: an invalid URL, a bad header value...
    Invalid(reqwest::Error),
    /// The request has a streaming body, so it cannot be sent again: a
    /// reconnecting client needs to.
    NotCloneable,
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RequestError::Invalid(e) => write!(f, "invalid request: {e}"),
            RequestError::NotCloneable => {
                f.write_str("the request has a streaming body and cannot be re-sent")
            }
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Invalid(e) => Some(e),
            RequestError::NotCloneable => None,
        }
    }
}

impl Connector for ReqwestConnector {
    type Body = ReqwestBody;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Opened<ReqwestBody>, reqwest::Error>> + Send>>;

    fn fatal(&self, error: &reqwest::Error) -> Option<super::Cause> {
        // A redirect without Location, or a loop: no attempt can fix it.
        error.is_redirect().then_some(super::Cause::Redirect)
    }

    fn connect(&mut self, headers: RequestHeaders) -> Self::Future {
        // `event_stream` checked that the request clones; its body cannot
        // change since, so this is the same answer.
        let mut request = self.request.try_clone().expect("checked by event_stream");
        for (name, value) in headers.iter() {
            request = request.header(name, value);
        }
        Box::pin(async move {
            let response = request.send().await?;
            let header = |name: reqwest::header::HeaderName| {
                response.headers().get(name).map(|v| v.as_bytes().to_vec())
            };
            Ok(Opened {
                status: response.status().as_u16(),
                content_type: header(reqwest::header::CONTENT_TYPE),
                retry_after: header(reqwest::header::RETRY_AFTER),
                body: Box::pin(response.bytes_stream()) as ReqwestBody,
            })
        })
    }
}

/// Events from `request` (usually a GET built with `Client::get`),
/// reconnecting as the EventSource rules say, with tokio's timer. Run it
/// inside a tokio runtime.
///
/// # Errors
/// [`RequestError::Invalid`] when the request does not build (a bad URL or
/// header), [`RequestError::NotCloneable`] when it has a streaming body.
///
/// # Example
/// ```no_run
/// use futures::StreamExt;
/// use ssewire::client::{ClientConfig, ClientError};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let request = reqwest::Client::new().get("http://127.0.0.1:8080/events");
/// let mut events = ssewire::client::event_stream(request, &ClientConfig::default())?;
/// while let Some(item) = events.next().await {
///     match item {
///         Ok(ev) => println!("{}: {}", ev.event_type_lossy(), ev.data_lossy()),
///         Err(ClientError::Closed { cause, .. }) => eprintln!("closed: {cause:?}"),
///         Err(e) => eprintln!("{e}"), // reconnecting, or an event dropped by a limit
///     }
/// }
/// # Ok(()) }
/// ```
pub fn event_stream(
    request: reqwest::RequestBuilder,
    config: &ClientConfig,
) -> Result<ReqwestEventStream, RequestError> {
    let Some(probe) = request.try_clone() else {
        // A request that failed to build does not clone either: say which.
        return Err(match request.build() {
            Err(e) => RequestError::Invalid(e),
            Ok(_) => RequestError::NotCloneable,
        });
    };
    probe.build().map_err(RequestError::Invalid)?;
    Ok(ReconnectingStream::new(
        config,
        ReqwestConnector { request },
        TokioTimer,
    ))
}
