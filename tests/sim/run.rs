//! Runs one plan and checks the whole path against the model.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ssewire::client::Cause;

use crate::hosts::{self, Gauges, Seen, Shared};
use crate::plan::{self, Link, NetFault, Plan, Topology};

/// The simulation's clock step.
const TICK: Duration = Duration::from_millis(2);
/// A run that has not ended by then has hung.
const LIMIT: Duration = Duration::from_secs(900);

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    pub shared: Rc<Shared>,
    /// turmoil's error (a host failed, or the run went past [`LIMIT`]).
    pub error: Option<String>,
    /// Most heap the run held at once.
    pub peak_heap: usize,
    pub elapsed: Duration,
}

/// A change to the network, at a time.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// The server process is killed; it starts again at the time given.
    Kill(Duration),
    Crash,
    Bounce,
    /// Bytes between the hosts stop (held, as TCP would retransmit them)...
    Partition(&'static str, &'static str),
    /// ... and flow again.
    Repair(&'static str, &'static str),
}

fn hosts_of(link: Link) -> (&'static str, &'static str) {
    match link {
        Link::ClientProxy => ("client", "proxy"),
        Link::ProxyServer => ("proxy", "server"),
        Link::ClientServer => ("client", "server"),
    }
}

/// The plan's network faults as a timeline of actions.
fn timeline(plan: &Plan, shared: &Shared) -> Vec<(Duration, Action)> {
    let mut out = Vec::new();
    for &(at, fault) in &plan.net {
        match fault {
            NetFault::ServerDown(span) => {
                shared.fire("net: server killed, refusing for a while");
                out.push((at, Action::Kill(at + span)));
            }
            NetFault::HostDown(span) => {
                shared.fire("net: server host down (packets lost) for a while");
                out.push((at, Action::Crash));
                out.push((at + span, Action::Bounce));
                // A host that is down drops what reaches it: a client
                // connected directly hears nothing meanwhile.
                if plan.topology == Topology::Direct {
                    shared.stalls.borrow_mut().push((at, at + span));
                }
            }
            NetFault::ServerRestart => {
                shared.fire("net: server restart");
                out.push((at, Action::Bounce));
            }
            NetFault::Partition(link, span) => {
                shared.fire("net: partition (bytes stop, no close)");
                let (a, b) = hosts_of(link);
                out.push((at, Action::Partition(a, b)));
                out.push((at + span, Action::Repair(a, b)));
                shared.stalls.borrow_mut().push((at, at + span));
            }
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Runs `plan` to its end.
pub fn run(plan: &Plan) -> Outcome {
    let start_heap = crate::heap::live();
    crate::heap::reset_peak();
    let shared = Rc::new(Shared::default());
    let gauges = Gauges::default();
    let plan_rc = Rc::new(plan.clone());
    let mut sim = turmoil::Builder::new()
        .simulation_duration(LIMIT)
        .tick_duration(TICK)
        .min_message_latency(plan.latency.0)
        .max_message_latency(plan.latency.1)
        .rng_seed(plan.seed)
        .build();
    let opts = Arc::new(hosts::server_options(plan, &gauges));
    sim.host(
        "server",
        hosts::server(Rc::clone(&plan_rc), Rc::clone(&shared), opts),
    );
    if plan.topology == Topology::Proxy {
        sim.host(
            "proxy",
            hosts::proxy(Rc::clone(&plan_rc), Rc::clone(&shared), gauges.clone()),
        );
    }
    sim.client(
        "client",
        hosts::client(Rc::clone(&plan_rc), Rc::clone(&shared), gauges.clone()),
    );
    let mut actions = timeline(plan, &shared).into_iter().peekable();
    let mut error = None;
    loop {
        while let Some((_, action)) = actions.next_if(|(at, _)| *at <= sim.elapsed()) {
            match action {
                Action::Kill(until) => {
                    shared.server_down_until.set(Some(until));
                    sim.bounce("server");
                }
                Action::Crash => sim.crash("server"),
                Action::Bounce => sim.bounce("server"),
                Action::Partition(a, b) => sim.hold(a, b),
                Action::Repair(a, b) => sim.release(a, b),
            }
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let elapsed = sim.elapsed();
    drop(sim);
    Outcome {
        shared,
        error,
        peak_heap: crate::heap::peak().saturating_sub(start_heap),
        elapsed,
    }
}

/// What the client must receive: events 1..=N, through the proxy's filter
/// (`drop` dropped, `swap` upper-cased) when there is one.
pub fn expected(plan: &Plan) -> Vec<(u64, String, String)> {
    (1..=plan.events)
        .filter_map(|n| {
            let ty = plan.event_type(n);
            let data = plan::event_data(n);
            match (plan.topology, ty) {
                (Topology::Proxy, "drop") => None,
                (Topology::Proxy, "swap") => Some((n, ty.into(), data.to_uppercase())),
                _ => Some((n, ty.into(), data)),
            }
        })
        .collect()
}

/// The reconnection time the client must end with: the last `retry` the
/// server sent, clamped (the default when none).
fn expected_retry(plan: &Plan) -> Duration {
    (1..=plan.events)
        .filter_map(|n| plan.event_retry(n))
        .next_back()
        .map_or(Duration::from_secs(3), Duration::from_millis)
        .clamp(plan::MIN_RETRY, plan::MAX_RETRY)
}

/// Every invariant of the run; the first that fails, in words.
pub fn check(plan: &Plan, out: &Outcome) -> Result<(), String> {
    if let Some(e) = &out.error {
        return Err(format!("the simulation failed: {e}"));
    }
    let seen = out.shared.seen.borrow();
    let want = expected(plan);
    let got: Vec<(u64, String, String)> = seen
        .iter()
        .filter_map(|(_, s)| match s {
            Seen::Event(id, ty, data) => {
                Some((id.parse().unwrap_or(u64::MAX), ty.clone(), data.clone()))
            }
            _ => None,
        })
        .collect();
    let want = match plan.stop_after {
        Some(k) => &want[..k.min(want.len())],
        None => &want[..],
    };
    if got != want {
        let ids = |v: &[(u64, String, String)]| v.iter().map(|e| e.0).collect::<Vec<_>>();
        return Err(format!(
            "events: got ids {:?}, want {:?} (or their types or data differ)",
            ids(&got),
            ids(want)
        ));
    }
    check_last_event_ids(plan, &seen)?;
    check_one_stream(plan, &seen)?;
    check_closed(plan, &seen, out)?;
    check_attempts(&seen)?;
    check_idle(&seen, &out.shared.stalls.borrow())?;
    if let Some(leak) = out.shared.leak.borrow().as_ref() {
        return Err(format!("the run did not wind down: {leak}"));
    }
    if out.peak_heap > 64 << 20 {
        return Err(format!("peak heap {} bytes", out.peak_heap));
    }
    Ok(())
}

/// Each request resumes right after what the client has: its
/// `Last-Event-ID` is at least the last event delivered, and before the
/// next event that should be (ids of events the filter dropped count as
/// received once their blocks arrived).
fn check_last_event_ids(plan: &Plan, seen: &[(Duration, Seen)]) -> Result<(), String> {
    let passed: Vec<u64> = expected(plan).iter().map(|e| e.0).collect();
    let mut last = 0;
    for (at, s) in seen {
        match s {
            Seen::Event(id, ..) => last = id.parse().unwrap_or(u64::MAX),
            Seen::Request(id) => {
                let sent: u64 = match id.as_deref().map(str::parse) {
                    None => 0,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => return Err(format!("at {at:?}: Last-Event-ID {id:?}")),
                };
                let next = passed
                    .iter()
                    .copied()
                    .find(|&n| n > last)
                    .unwrap_or(u64::MAX);
                if sent < last || sent >= next {
                    return Err(format!(
                        "at {at:?}: Last-Event-ID {sent} after event {last} (next due: {next})"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// With only upstream faults within the proxy's bound, the client reads
/// the whole stream in its first response: it reconnects only after the
/// last event (to learn, from the proxy's first upstream request, that
/// the server has nothing more: a proxy cannot answer `204` inside a
/// response it has begun).
fn check_one_stream(plan: &Plan, seen: &[(Duration, Seen)]) -> Result<(), String> {
    if !plan.one_stream {
        return Ok(());
    }
    let opens = seen
        .iter()
        .take_while(|(_, s)| !matches!(s, Seen::Reconnecting(..)))
        .filter(|(_, s)| matches!(s, Seen::Open))
        .count();
    if opens != 1 {
        return Err(format!("{opens} opens in the client's first response"));
    }
    let events = seen
        .iter()
        .filter(|(_, s)| matches!(s, Seen::Event(..)))
        .count();
    let first_response = seen
        .iter()
        .take_while(|(_, s)| !matches!(s, Seen::Reconnecting(..)))
        .filter(|(_, s)| matches!(s, Seen::Event(..)))
        .count();
    if first_response != events {
        return Err(format!(
            "the client's first response held {first_response} of {events} events: the proxy should have hidden every upstream fault"
        ));
    }
    Ok(())
}

/// The client ends closed by the server's `204` (or stopped by the plan),
/// with the server's last `retry` in force.
fn check_closed(plan: &Plan, seen: &[(Duration, Seen)], out: &Outcome) -> Result<(), String> {
    let closed = seen.iter().find_map(|(_, s)| match s {
        Seen::Closed(cause) => Some(*cause),
        _ => None,
    });
    // A client that stops before the stream's end is not closed; one that
    // would stop after the last event is closed by the 204 as any other.
    if plan.stop_after.is_some_and(|k| k <= expected(plan).len()) {
        return match closed {
            None => Ok(()),
            Some(cause) => Err(format!("closed for good ({cause:?}) before it stopped")),
        };
    }
    if closed != Some(Cause::NoContent) {
        return Err(format!(
            "the client ended {closed:?}, not with the server's 204"
        ));
    }
    let retry = out.shared.final_retry.get();
    if retry != Some(expected_retry(plan)) {
        return Err(format!(
            "the client's reconnection time is {retry:?}, the server last sent {:?}",
            expected_retry(plan)
        ));
    }
    Ok(())
}

/// No two attempts closer than the floor, whatever the server said (a
/// `restart()` of the caller's reconnects at once).
fn check_attempts(seen: &[(Duration, Seen)]) -> Result<(), String> {
    let mut times: Vec<(Duration, bool)> = Vec::new();
    let mut restarted = false;
    for (at, s) in seen {
        match s {
            Seen::Restart => restarted = true,
            Seen::Request(_) => times.push((*at, std::mem::take(&mut restarted))),
            _ => {}
        }
    }
    for w in times.windows(2) {
        let ((a, _), (b, after_restart)) = (w[0], w[1]);
        if !after_restart && b - a + TICK < plan::MIN_RETRY {
            return Err(format!(
                "attempts at {a:?} and {b:?}: closer than the {:?} floor",
                plan::MIN_RETRY
            ));
        }
    }
    Ok(())
}

/// An idle timeout only where the client could hear nothing: a partition
/// or a line the proxy holds. A consumer that was away does not count.
fn check_idle(seen: &[(Duration, Seen)], stalls: &[(Duration, Duration)]) -> Result<(), String> {
    for (at, s) in seen {
        if !matches!(s, Seen::Reconnecting(Cause::IdleTimeout, _)) {
            continue;
        }
        let from = at.saturating_sub(plan::IDLE_TIMEOUT + Duration::from_millis(500));
        if !stalls.iter().any(|(a, b)| *a <= *at && *b >= from) {
            return Err(format!("an idle timeout at {at:?} with no stall before it"));
        }
    }
    Ok(())
}

/// A one-line summary of what a run did, for reports.
pub fn summary(out: &Outcome) -> String {
    let seen = out.shared.seen.borrow();
    let count = |f: fn(&Seen) -> bool| seen.iter().filter(|(_, s)| f(s)).count();
    let closed = seen.iter().find_map(|(_, s)| match s {
        Seen::Closed(cause) => Some(*cause),
        _ => None,
    });
    format!(
        "{} requests, {} events, {} reconnections, closed {closed:?}, {:.1} s simulated, peak heap {} KiB",
        count(|s| matches!(s, Seen::Request(_))),
        count(|s| matches!(s, Seen::Event(..))),
        count(|s| matches!(s, Seen::Reconnecting(..))),
        out.elapsed.as_secs_f64(),
        out.peak_heap >> 10
    )
}

/// The trace of a run, for a failure's report and the determinism check.
pub fn trace(out: &Outcome) -> String {
    let mut s = String::new();
    for line in out.shared.trace.borrow().iter() {
        let _ = writeln!(s, "{line}");
    }
    s
}

/// Faults that fired, and reconnections by cause, by kind.
pub fn tally(out: &Outcome, into: &mut BTreeMap<String, u64>) {
    for (kind, n) in out.shared.fired.borrow().iter() {
        *into.entry((*kind).to_string()).or_default() += n;
    }
    for (_, s) in out.shared.seen.borrow().iter() {
        if let Seen::Reconnecting(cause, _) = s {
            *into
                .entry(format!("client reconnected: {cause:?}"))
                .or_default() += 1;
        }
    }
}
