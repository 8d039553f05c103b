//! A deterministic simulation of the whole path: the example server
//! (`EventBody`) → the example proxy (`ProxyBody`) → a `ReconnectingStream`
//! client, over turmoil's simulated TCP with simulated time, in one
//! process. A seed draws the run (`plan.rs`): the server's script, the
//! topology, and faults: cuts at any byte on either hop, resets before the
//! response head, the server down for a while and restarting with its ids,
//! partitions, latency, a slow consumer, keep-alive-only stretches, and
//! hostile upstream bytes (BOMs, CRLF split across chunks, 1-byte chunks,
//! endless lines, `Retry-After` 0 and 2^32-1). Every run is checked
//! against the model (`run.rs`): the client gets exactly the events the
//! filter passes, once and in order; every `Last-Event-ID` it sends
//! resumes right after what it has; the server's last `retry` is in force;
//! attempts respect the delay floor; no idle timeout without a stall; the
//! client is never closed for good by a fault; memory is bounded; and
//! dropping the client winds everything down.
//!
//! `SIM_SEEDS=N` runs N seeds (default 1,000) from `SIM_FIRST` (default 0)
//! on `SIM_THREADS` threads (default: one per core); `SIM_MINUTES=M` stops
//! a long campaign after M minutes. A failing seed prints the command that
//! replays it with its trace.
#![cfg(all(feature = "http-body", feature = "tokio", feature = "futures"))]
#![allow(unreachable_pub)]
// The examples share `examples/support`: each brings its own copy.
#![allow(clippy::duplicate_mod)]

#[path = "../../examples/proxy.rs"]
#[allow(unused, unreachable_pub)]
mod proxy;
#[path = "../../examples/server.rs"]
#[allow(unused, unreachable_pub)]
mod server;

mod heap;
mod hosts;
mod plan;
mod run;
mod scenarios;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use plan::Plan;

#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `plan`; on failure, panics with what failed and how to replay it.
fn run_checked(plan: &Plan) -> run::Outcome {
    let out = run::run(plan);
    if let Err(why) = run::check(plan, &out) {
        panic!(
            "seed {}: {why}\n  plan: {plan}\n  run: {}\n  replay: SIM_SEED={} cargo test --all-features --test sim -- replay --nocapture",
            plan.seed,
            run::summary(&out),
            plan.seed
        );
    }
    out
}

#[test]
fn seeds() {
    let count = env("SIM_SEEDS").unwrap_or(1000);
    let first = env("SIM_FIRST").unwrap_or(0);
    let budget = env("SIM_MINUTES").map(|m| Duration::from_secs(m * 60));
    let started = Instant::now();
    let threads = env("SIM_THREADS")
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) as u64);
    let next = std::sync::atomic::AtomicU64::new(first);
    let results = std::sync::Mutex::new((0u64, BTreeMap::<String, u64>::new(), Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if seed >= first + count || budget.is_some_and(|b| started.elapsed() > b) {
                    return;
                }
                let plan = Plan::from_seed(seed);
                let out = run::run(&plan);
                let verdict = run::check(&plan, &out);
                let mut r = results.lock().unwrap();
                r.0 += 1;
                run::tally(&out, &mut r.1);
                if let Err(why) = verdict {
                    r.2.push(format!(
                        "seed {seed}: {why}\n  plan: {plan}\n  run: {}\n  replay: SIM_SEED={seed} cargo test --all-features --test sim -- replay --nocapture",
                        run::summary(&out)
                    ));
                }
            });
        }
    });
    let (ran, tally, failures) = results.into_inner().unwrap();
    eprintln!(
        "simulation: {ran} seeds from {first} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (kind, n) in &tally {
        eprintln!("  {n:>8}  {kind}");
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Replays `SIM_SEED` with its trace (ignored without it).
#[test]
fn replay() {
    let Some(seed) = env("SIM_SEED") else {
        return;
    };
    let plan = Plan::from_seed(seed);
    eprintln!("plan: {plan:#?}");
    let out = run::run(&plan);
    eprintln!("{}", run::trace(&out));
    eprintln!("run: {}", run::summary(&out));
    if let Err(why) = run::check(&plan, &out) {
        panic!("seed {seed}: {why}");
    }
}

/// The same seed gives the same trace, event for event.
#[test]
fn a_seed_replays_the_same_trace() {
    for seed in [3, 17, 2024] {
        let plan = Plan::from_seed(seed);
        let a = run::trace(&run::run(&plan));
        let b = run::trace(&run::run(&plan));
        assert!(a.lines().count() > 5, "seed {seed}: a trace");
        assert_eq!(a, b, "seed {seed}: two runs differ");
    }
}
