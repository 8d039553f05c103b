//! What a proxy body does with each block of an upstream event stream:
//! [`Relay`], the decoder, the filter and the routing they share
//! ([`ProxyBody`](super::ProxyBody) over one upstream connection,
//! [`ReconnectingProxyBody`](super::ReconnectingProxyBody) over many).
//!
//! # What the client ends up with
//!
//! A client decoding the output must see exactly what the filter decided,
//! whatever the upstream sent and however it was chunked. Three things make
//! that more than forwarding the blocks the filter passes:
//!
//! - **Stream control is not content.** An `id` line sets the client's last
//!   event id and a `retry` line its reconnection time, whether or not the
//!   block dispatches an event. A block that is not forwarded as it came
//!   (dropped by the filter or by a limit, replaced, or re-encoded for being
//!   over the frame limit) still forwards its `retry` and, when it had an
//!   `id` line, the last event id it set (as an id-only block, or as the
//!   replacement's `id`). Otherwise a client reconnects with an old
//!   `Last-Event-ID` and is served the dropped range again.
//! - **The client's stream starts where the proxy's output starts.** A BOM
//!   is stripped only at the start of a stream; mid-stream it is content.
//!   When the first block forwarded is not the upstream's first and begins
//!   with a BOM, an empty comment line goes before it, so that the client
//!   reads the block as the proxy did.
//! - **A CR ending one chunk and an LF starting the next are one line
//!   ending.** When a block ends on such a CR, the LF belongs to it: it is
//!   forwarded with it or not at all, so the output bytes do not depend on
//!   where the upstream's chunks were cut.
//!
//! # Memory
//!
//! Blocks that lie inside one upstream chunk go out as slices of it. A
//! block that straddles chunks is copied, once, into one buffer, so that
//! what is held is what is counted whatever the upstream's chunking (a
//! slice per read would keep each read's whole allocation alive): at most
//! the raw frame limit, besides the decoder's own buffers.

use core::time::Duration;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use core::mem;
use core::ops::ControlFlow;

use super::Verdict;
use crate::bytes::frame::{Ended, Frame};
use crate::decoder::{Config, Decoder, Item};
use crate::encode::{EventId, Message, OwnedMessage};
use crate::Event;

/// The decoder, the filter and the routing of a proxy body: upstream
/// chunks in, frames for the client out.
///
/// `SEEN`: whether it notes the events and `retry` that the connection
/// rules use ([`Relay::take_seen`]); a body without such rules pays
/// nothing for it.
#[derive(Debug)]
pub(crate) struct Relay<F, const SEEN: bool = false> {
    pub(crate) decoder: Decoder,
    filter: F,
    route: Route,
}

/// What a chunk said that the connection rules care about.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Taken {
    /// An event was dispatched (whatever the filter did with it).
    pub(crate) events: bool,
    /// The last valid `retry` value read.
    pub(crate) retry: Option<Duration>,
}

impl<F: FnMut(&Event<'_>) -> Verdict, const SEEN: bool> Relay<F, SEEN> {
    /// A relay with the decoder's `config` (its raw frame limit, or the
    /// default one, bounds a block).
    pub(crate) fn new(filter: F, config: &Config) -> Self {
        // Every block's end is needed to route it.
        let decoder = Decoder::with_config(config.clone().blank_lines(true));
        Relay {
            decoder,
            filter,
            route: Route::new(config.raw_frames.unwrap_or(Config::DEFAULT_MAX_FRAME_LEN)),
        }
    }

    /// Decodes one upstream chunk and routes its blocks.
    #[inline]
    pub(crate) fn take(&mut self, chunk: &Bytes) {
        let mut start = self.route.begin_chunk(chunk);
        let mut pos = 0;
        loop {
            let (route, filter) = (&mut self.route, &mut self.filter);
            let mut sync = false;
            pos = self.decoder.feed_from(chunk, pos, |end, item| {
                match item {
                    Ok(Item::Event(ev)) => {
                        if SEEN {
                            route.seen.events = true;
                        }
                        sync = route.end_block(chunk, (start, end), Some(ev), filter);
                        start = end;
                    }
                    Ok(Item::Blank) => {
                        sync = route.end_block(chunk, (start, end), None, filter);
                        start = end;
                    }
                    Ok(Item::Retry(ms)) => {
                        route.block_retry = Some(ms);
                        if SEEN {
                            route.seen.retry = Some(ms);
                        }
                    }
                    Ok(_) => {}
                    // A limit: the decoder drops the rest of this block.
                    Err(_) => route.frame.drop_block(),
                }
                // A block that does not go out as it came: ask the decoder
                // whether it set the last event id.
                if sync {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            if !sync {
                break;
            }
            let decoder = &self.decoder;
            self.route
                .settle(decoder.block_set_id(), decoder.last_event_id());
        }
        self.route.keep_rest(chunk, start);
    }

    /// What the chunks since the last call said that the connection rules
    /// use.
    pub(crate) fn take_seen(&mut self) -> Taken {
        mem::take(&mut self.route.seen)
    }

    /// The upstream is over for good: the unterminated tail goes out as it
    /// came (a client drops it as the proxy does).
    pub(crate) fn end(&mut self) {
        let _ = self.decoder.finish();
        self.route.finish();
    }

    /// One upstream connection is over and another will follow: see
    /// [`Route::end_connection`].
    pub(crate) fn end_connection(&mut self) {
        let _ = self.decoder.finish();
        self.route.end_connection();
    }

    /// The next frame for the client.
    pub(crate) fn next_frame(&mut self) -> Option<Bytes> {
        self.route.next_frame()
    }

    /// Nothing is waiting to go out.
    pub(crate) fn is_empty(&self) -> bool {
        self.route.out.is_empty()
    }

    /// Queues a keep-alive comment.
    pub(crate) fn keep_alive(&mut self) {
        self.route.keep_alive();
    }
}

/// Frames smaller than this that are ready together go out as one.
const SMALL_FRAME: usize = 1024;

/// An empty comment line: goes before a first block that starts with a
/// BOM the client would strip.
const BOM_GUARD: &[u8] = b":\n";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where each block of the upstream goes.
#[derive(Debug)]
struct Route {
    /// Frames ready to go out.
    out: VecDeque<Bytes>,
    /// Passed bytes of the current chunk not yet queued: `chunk[start..end]`.
    run: Option<(usize, usize)>,
    /// The current block's bytes from earlier chunks, copied (none when a
    /// decoder limit dropped it or it went over the frame limit).
    frame: Frame,
    /// Encoding space for replacements, stream control and merged frames.
    scratch: BytesMut,
    /// The last valid `retry` of the current block.
    block_retry: Option<Duration>,
    /// A block that does not go out as it came, waiting for the decoder to
    /// say whether it set the last event id.
    skipped: Option<Skipped>,
    /// Nothing has gone out yet.
    fresh: bool,
    /// The current block is the upstream's first (a BOM there is a BOM).
    first_block: bool,
    /// The last block ended a chunk on a CR: `Some(it went out as it came)`.
    cr_end: Option<bool>,
    /// The last block went out as it came.
    last_passed: bool,
    /// Events and `retry` seen since [`Relay::take_seen`].
    seen: Taken,
}

/// What goes out for a block that is not forwarded as it came.
#[derive(Debug)]
struct Skipped {
    /// The block's `retry`.
    retry: Option<Duration>,
    /// The event to send in its place (`None`: only its stream control).
    event: Option<OwnedMessage>,
}

impl Route {
    fn new(max_frame: usize) -> Self {
        Route {
            out: VecDeque::new(),
            run: None,
            frame: Frame::new(max_frame),
            scratch: BytesMut::new(),
            block_retry: None,
            skipped: None,
            fresh: true,
            first_block: true,
            cr_end: None,
            last_passed: false,
            seen: Taken::default(),
        }
    }

    /// Where the first block of `chunk` starts: after an LF that completes
    /// the CRLF the last block ended on (forwarded with that block).
    fn begin_chunk(&mut self, chunk: &Bytes) -> usize {
        match self.cr_end.take() {
            Some(passed) if chunk.first() == Some(&b'\n') => {
                if passed {
                    self.run = Some((0, 1));
                }
                1
            }
            _ => 0,
        }
    }

    /// A block ended at `chunk[..end]` (it began at `start`). `true` when
    /// it does not go out as it came: what does waits for
    /// [`Route::settle`].
    fn end_block<F: FnMut(&Event<'_>) -> Verdict>(
        &mut self,
        chunk: &Bytes,
        (start, end): (usize, usize),
        event: Option<Event<'_>>,
        filter: &mut F,
    ) -> bool {
        let ended = self.frame.end(chunk, start, end);
        let over = ended == Ended::Over;
        let first = mem::replace(&mut self.first_block, false);
        // The common case first, with nothing moved around: a block that
        // goes out as it came.
        let verdict = match (ended, event) {
            (Ended::Dropped, _) | (Ended::Over, None) => Verdict::Drop,
            (Ended::Kept, None) => Verdict::Pass,
            (_, Some(ev)) => filter(&ev),
        };
        let event = match verdict {
            Verdict::Pass if !over => {
                self.block_retry = None;
                self.pass(chunk, start, end, first);
                return false;
            }
            // Over the frame limit: the same event, re-encoded.
            Verdict::Pass => event.map(|ev| {
                let m = Message::new(ev.data());
                OwnedMessage::from(m.try_event_type(ev.raw_event_type()).unwrap_or(m))
            }),
            Verdict::Replace(m) => Some(m),
            Verdict::Drop => None,
        };
        let retry = self.block_retry.take();
        self.skip(chunk);
        self.skipped = Some(Skipped { retry, event });
        true
    }

    /// Sends what replaces the skipped block, now that the decoder says
    /// whether it set the last event id (`id`, its value then).
    fn settle(&mut self, set_id: bool, id: &[u8]) {
        let Some(Skipped { retry, event }) = self.skipped.take() else {
            return;
        };
        let id = set_id.then_some(id);
        match event {
            Some(m) => self.rewrite(&m, id, retry),
            None => self.control(retry, id),
        }
    }

    /// Sends `m` in place of an event whose block set the last event id to
    /// `id` (if it did) and the reconnection time to `retry`; `m`'s own id
    /// and retry win.
    fn rewrite(&mut self, m: &OwnedMessage, id: Option<&[u8]>, retry: Option<Duration>) {
        let mut m = m.as_message();
        let (_, _, own_id, own_retry) = m.into_parts();
        if let (None, Some(Ok(id))) = (own_id, id.map(EventId::new)) {
            m = m.id(id);
        }
        if let (None, Some(ms)) = (own_retry, retry) {
            m = m.retry(ms);
        }
        crate::encode::encode_growable(&m, &mut self.scratch);
        let frame = self.scratch.split().freeze();
        self.queue(frame);
    }

    /// Sends a block's stream control: `retry`, and the id it set, as a
    /// block that dispatches nothing. Nothing when it has neither.
    fn control(&mut self, retry: Option<Duration>, id: Option<&[u8]>) {
        if retry.is_none() && id.is_none() {
            return;
        }
        if let Some(ms) = retry {
            crate::encode::encode_growable(&crate::encode::Retry::new(ms), &mut self.scratch);
        }
        if let Some(id) = id {
            self.scratch.extend_from_slice(b"id: ");
            self.scratch.extend_from_slice(id);
            self.scratch.extend_from_slice(b"\n");
        }
        self.scratch.extend_from_slice(b"\n");
        let frame = self.scratch.split().freeze();
        self.queue(frame);
    }

    /// The block `chunk[start..end]` (after any held bytes) goes out as it
    /// came; `first`: it is the upstream's first block.
    fn pass(&mut self, chunk: &Bytes, start: usize, end: usize, first: bool) {
        let mut start = start;
        if self.fresh || first {
            let strip = self.guard_bom(&chunk[start..end], first);
            if strip > 0 {
                let from_held = strip.min(self.frame.held().len());
                self.frame.skip_held(from_held);
                start += strip - from_held;
            }
        }
        self.last_passed = true;
        if !self.frame.held().is_empty() {
            self.flush(chunk);
            let held = self.frame.take_held();
            self.out.push_back(held);
        }
        self.run = match self.run {
            Some((s, e)) if e == start => Some((s, end)),
            Some(_) => {
                self.flush(chunk);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }

    /// A BOM means something only at the start of a stream, and the
    /// upstream's stream and the client's start at different places once
    /// a block was dropped or an upstream connection replaced by another.
    /// For a block about to go out as it came (`first`: the upstream
    /// connection's first, where the decoder stripped a BOM): at the
    /// client's start, a BOM that was content upstream gets a comment line
    /// in front; mid-stream for the client, a BOM the upstream meant as one
    /// is not sent. Returns how many leading bytes to leave out.
    fn guard_bom(&mut self, rest: &[u8], first: bool) -> usize {
        let fresh = mem::take(&mut self.fresh);
        if fresh == first {
            return 0;
        }
        let held = self.frame.held();
        let held = &held[..held.len().min(3)];
        let need = 3 - held.len();
        let bom =
            held == &BOM[..held.len()] && rest.len() >= need && rest[..need] == BOM[held.len()..];
        match (bom, fresh) {
            (true, true) => {
                self.out.push_back(Bytes::from_static(BOM_GUARD));
                0
            }
            (true, false) => BOM.len(),
            (false, _) => 0,
        }
    }

    /// The current block is not forwarded as it came.
    fn skip(&mut self, chunk: &Bytes) {
        self.flush(chunk);
        self.last_passed = false;
        self.frame.clear();
    }

    /// Queues `frame` (the caller's chunk's passed run is already queued).
    fn queue(&mut self, frame: Bytes) {
        debug_assert!(self.run.is_none(), "the run goes out first");
        self.fresh = false;
        self.out.push_back(frame);
    }

    /// Queues the passed run of `chunk`.
    fn flush(&mut self, chunk: &Bytes) {
        if let Some((s, e)) = self.run.take() {
            if s < e {
                self.out.push_back(chunk.slice(s..e));
            }
        }
    }

    /// The chunk is used up; `chunk[start..]` begins the next block.
    fn keep_rest(&mut self, chunk: &Bytes, start: usize) {
        self.flush(chunk);
        if start == chunk.len() && start > 0 && chunk[start - 1] == b'\r' {
            self.cr_end = Some(self.last_passed);
        }
        self.frame.keep(&chunk[start..]);
    }

    /// The upstream ended (or failed) for good: the unterminated tail goes
    /// out as it came, unless a limit dropped it.
    fn finish(&mut self) {
        if self.frame.is_kept() && !self.frame.held().is_empty() {
            let strip = self.guard_bom(&[], self.first_block);
            self.frame.skip_held(strip);
            let tail = self.frame.take_held();
            self.queue(tail);
        }
    }

    /// One upstream connection ended and another will follow: its
    /// unterminated block is dropped (the next connection sends it again),
    /// except a `retry` in it, which took effect when read; the next
    /// connection starts a stream of its own (a BOM again, no CR pending).
    fn end_connection(&mut self) {
        let retry = self.block_retry.take();
        self.frame.reset();
        self.skipped = None;
        self.first_block = true;
        self.cr_end = None;
        self.run = None;
        self.control(retry, None);
    }

    /// Queues a keep-alive comment. After a block that ended a chunk on a
    /// CR that an LF may yet complete, the keep-alive completes that CRLF
    /// itself (an LF right after a CR is part of its line ending, for the
    /// client as for the proxy) and the upstream's LF, if it comes, is
    /// dropped: the client reads the same lines either way, and keep-alives
    /// are not held back while the upstream is silent.
    fn keep_alive(&mut self) {
        let frame: &'static [u8] = match self.cr_end {
            // The CR went out: the client waits to see whether an LF
            // follows it.
            Some(true) => b"\n:\n\n",
            _ => crate::encode::KEEP_ALIVE,
        };
        if self.cr_end.is_some() {
            self.cr_end = Some(false);
        }
        self.queue(Bytes::from_static(frame));
    }

    /// The next frame to send: small frames ready together are merged.
    fn next_frame(&mut self) -> Option<Bytes> {
        let first = self.out.pop_front()?;
        if first.len() >= SMALL_FRAME
            || self
                .out
                .front()
                .is_none_or(|next| first.len() + next.len() > SMALL_FRAME)
        {
            return Some(first);
        }
        self.scratch.extend_from_slice(&first);
        while let Some(next) = self.out.front() {
            if self.scratch.len() + next.len() > SMALL_FRAME {
                break;
            }
            self.scratch.extend_from_slice(next);
            self.out.pop_front();
        }
        Some(self.scratch.split().freeze())
    }
}
