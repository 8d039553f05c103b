//! Features `futures` + `std`: waiting and telling the time, for everything
//! that does so (the reconnecting client, the server body's keep-alives,
//! the reconnecting proxy body): [`Sleeper`], your runtime's timer and
//! clock; [`TokioTimer`], tokio's (feature `tokio`); and `Timer`, the one
//! armed deadline they all keep.

use std::boxed::Box;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How a [`ReconnectingStream`](crate::client::ReconnectingStream) (or a
/// server body's keep-alive) waits and tells the time: any
/// `FnMut(Duration) -> impl Future<Output = ()>` (your runtime's `sleep`,
/// with the system clock), or a type of your own (for example
/// [`TokioTimer`], whose clock follows tokio's, paused clocks in tests
/// included).
pub trait Sleeper {
    /// The wait in flight.
    type Future: Future<Output = ()>;
    /// Waits for `delay`.
    fn sleep(&mut self, delay: Duration) -> Self::Future;
    /// The current time on the clock `sleep` waits by (default: the
    /// system's monotonic clock).
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// tokio's timer and clock (feature `tokio`): `tokio::time::sleep`, and
/// `tokio::time::Instant`, so a paused test clock drives keep-alives and
/// reconnection delays.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Sleeper for TokioTimer {
    type Future = tokio::time::Sleep;
    fn sleep(&mut self, delay: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(delay)
    }
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl<S, SF> Sleeper for S
where
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    type Future = SF;
    fn sleep(&mut self, delay: Duration) -> SF {
        self(delay)
    }
}

/// A [`Sleeper`] with a start time and one armed deadline: times are
/// durations since the start (what the sans-IO machines take), and the
/// sleep in flight is re-armed only when the deadline moves.
pub(crate) struct Timer<S: Sleeper> {
    sleeper: S,
    start: Instant,
    armed: Option<(Duration, Pin<Box<S::Future>>)>,
}

impl<S: Sleeper> Timer<S> {
    pub(crate) fn new(sleeper: S) -> Self {
        let start = sleeper.now();
        Timer {
            sleeper,
            start,
            armed: None,
        }
    }

    /// Time since the start.
    pub(crate) fn now(&self) -> Duration {
        self.sleeper.now().saturating_duration_since(self.start)
    }

    /// `Ready` once `until` (since the start) has come; otherwise the
    /// sleep for it is armed and will wake `cx`.
    pub(crate) fn poll_until(&mut self, until: Duration, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.now();
        if until <= now {
            self.armed = None;
            return Poll::Ready(());
        }
        if self.armed.as_ref().is_none_or(|(at, _)| *at != until) {
            self.armed = Some((until, Box::pin(self.sleeper.sleep(until - now))));
        }
        let Some((_, sleep)) = self.armed.as_mut() else {
            return Poll::Pending;
        };
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.armed = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Forgets the armed deadline.
    pub(crate) fn disarm(&mut self) {
        self.armed = None;
    }
}
