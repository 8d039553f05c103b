//! Named regression scenarios: each failure the simulation was built to
//! catch (issue 29), as a plan written out by hand, run and checked like
//! any seed. Each failed before its fix (the closing note of issue 29
//! quotes what they printed).

use std::time::Duration;

use crate::plan::{ConnFault, LineEnd, Link, Mangle, NetFault, Plan, Split, Topology};
use crate::run_checked;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A script of `n` events of type `message`, none with `retry`.
fn messages(n: usize) -> Vec<(&'static str, Option<u64>)> {
    vec![("message", None); n]
}

#[test]
fn a_slow_consumer_loses_nothing_that_already_arrived() {
    // The consumer is away longer than the idle timeout three times while
    // events keep arriving: it must read them, not call the connection
    // idle and reconnect.
    let mut plan = Plan::calm(Topology::Direct, 30);
    plan.slow_reads = vec![(3, ms(2600)), (10, ms(3000)), (20, ms(2100))];
    run_checked(&plan);
}

#[test]
fn events_the_proxy_drops_still_move_the_clients_last_event_id() {
    // The last events are dropped: unless their ids reach the client, it
    // reconnects with an old Last-Event-ID forever and never gets the
    // server's 204.
    let mut script = messages(6);
    script.extend([("drop", None), ("drop", None), ("drop", None)]);
    run_checked(&Plan::calm(Topology::Proxy, 0).script(&script));
}

#[test]
fn retry_in_dropped_and_rewritten_events_reaches_the_client() {
    let script = [
        ("message", Some(900)),
        ("drop", Some(1500)),
        ("message", None),
        ("swap", Some(2200)),
        ("message", None),
        ("drop", Some(700)),
        ("message", None),
    ];
    run_checked(&Plan::calm(Topology::Proxy, 0).script(&script));
}

#[test]
fn an_upstream_killed_for_a_while_never_closes_a_browser_behind_the_proxy() {
    // The server process is killed for 6 s (longer than the client's
    // longest reconnection time): its port refuses. A browser connected
    // directly retries that; behind the proxy it must too.
    let mut plan = Plan::calm(Topology::Proxy, 20);
    plan.interval = ms(100);
    plan.net = vec![(ms(300), NetFault::ServerDown(ms(6000)))];
    run_checked(&plan);
    // The same with the server's machine gone (packets lost).
    plan.net = vec![(ms(300), NetFault::HostDown(ms(6000)))];
    run_checked(&plan);
}

#[test]
fn an_upstream_reset_before_its_response_head_never_closes_the_client() {
    let mut plan = Plan::calm(Topology::Proxy, 10);
    plan.server_conns = vec![
        ConnFault {
            before_head: true,
            ..ConnFault::default()
        };
        3
    ];
    run_checked(&plan);
}

#[test]
fn a_bom_block_after_a_dropped_event_is_not_smuggled_past_the_filter() {
    // The response starts with an event the filter drops, then a block
    // whose first line starts with a BOM: the proxy reads an unknown field,
    // a client at the start of its stream would strip the BOM and read
    // `data: smuggled`.
    let mut plan = Plan::calm(Topology::Proxy, 6);
    let smuggle = Mangle {
        smuggle: true,
        ..Mangle::default()
    };
    plan.server_conns = vec![
        ConnFault {
            mangle: smuggle,
            ..ConnFault::default()
        };
        2
    ];
    run_checked(&plan);
}

#[test]
fn crlf_split_across_chunks_and_one_byte_chunks_pass_through_the_proxy() {
    let mut plan = Plan::calm(Topology::Proxy, 12);
    let mangles = [
        (LineEnd::CrLf, Split::Random(1)),
        (LineEnd::Cr, Split::Random(2)),
        (LineEnd::CrLf, Split::OneByte),
    ];
    plan.server_conns = mangles
        .iter()
        .map(|&(line_end, split)| ConnFault {
            cut: Some(300),
            mangle: Mangle {
                line_end,
                split,
                bom: true,
                ..Mangle::default()
            },
            ..ConnFault::default()
        })
        .collect();
    run_checked(&plan);
}

#[test]
fn an_endless_line_in_one_byte_chunks_is_held_within_bounds() {
    let mut plan = Plan::calm(Topology::Proxy, 5);
    plan.server_conns = vec![ConnFault {
        mangle: Mangle {
            split: Split::OneByte,
            endless: Some(20_000),
            ..Mangle::default()
        },
        ..ConnFault::default()
    }];
    let out = run_checked(&plan);
    assert!(out.peak_heap < 8 << 20, "peak heap {}", out.peak_heap);
}

#[test]
fn retry_after_zero_does_not_make_a_reconnect_storm() {
    let mut plan = Plan::calm(Topology::Direct, 5);
    plan.server_conns = vec![
        ConnFault {
            status: Some((503, "0")),
            ..ConnFault::default()
        };
        8
    ];
    run_checked(&plan);
}

#[test]
fn a_huge_retry_after_is_capped() {
    let mut plan = Plan::calm(Topology::Direct, 5);
    plan.server_conns = vec![ConnFault {
        status: Some((503, "4294967295")),
        ..ConnFault::default()
    }];
    let out = run_checked(&plan);
    assert!(out.elapsed < Duration::from_secs(60), "{:?}", out.elapsed);
}

#[test]
fn cuts_inside_events_on_both_hops_lose_and_repeat_nothing() {
    let mut plan = Plan::calm(Topology::Proxy, 30);
    plan.interval = ms(5);
    plan.server_conns = (0..8)
        .map(|k| ConnFault {
            cut: Some(40 + 53 * k),
            ..ConnFault::default()
        })
        .collect();
    plan.proxy_conns = (0..4)
        .map(|k| ConnFault {
            cut: Some(25 + 71 * k),
            ..ConnFault::default()
        })
        .collect();
    run_checked(&plan);
}

#[test]
fn partitions_and_a_quiet_stretch_keep_the_stream_alive() {
    let mut plan = Plan::calm(Topology::Proxy, 15);
    plan.interval = ms(80);
    plan.long_pause = Some((8, ms(5000)));
    plan.net = vec![
        (ms(200), NetFault::Partition(Link::ProxyServer, ms(3000))),
        (ms(4000), NetFault::Partition(Link::ClientProxy, ms(2500))),
        (ms(7000), NetFault::ServerRestart),
    ];
    run_checked(&plan);
}

#[test]
fn a_client_dropped_mid_stream_winds_everything_down() {
    let mut plan = Plan::calm(Topology::Proxy, 40);
    plan.interval = ms(50);
    plan.stop_after = Some(5);
    run_checked(&plan);
}

#[test]
fn an_upstream_away_longer_than_the_proxys_bound_costs_the_client_a_reconnection_only() {
    // The proxy bridges 8 s; the server is gone for 12 s: the client's
    // response ends, it reconnects by itself, and loses nothing.
    let mut plan = Plan::calm(Topology::Proxy, 20);
    plan.interval = ms(100);
    plan.net = vec![(ms(500), NetFault::ServerDown(Duration::from_secs(12)))];
    let out = run_checked(&plan);
    let reconnections = out
        .shared
        .seen
        .borrow()
        .iter()
        .filter(|(_, s)| matches!(s, crate::hosts::Seen::Reconnecting(..)))
        .count();
    assert!(reconnections >= 2, "{reconnections}");
}

#[test]
fn upstream_faults_within_the_bound_are_hidden_from_the_client() {
    // Cuts at several bytes, a reset, a 503 with Retry-After 0, the server
    // killed for 3 s and restarted: one response holds every event.
    let mut plan = Plan::calm(Topology::Proxy, 25);
    plan.interval = ms(60);
    plan.one_stream = true;
    plan.server_conns = vec![
        ConnFault {
            cut: Some(97),
            ..ConnFault::default()
        },
        ConnFault {
            before_head: true,
            ..ConnFault::default()
        },
        ConnFault {
            status: Some((503, "0")),
            ..ConnFault::default()
        },
        ConnFault {
            cut: Some(333),
            ..ConnFault::default()
        },
    ];
    plan.net = vec![
        (ms(900), NetFault::ServerDown(ms(3000))),
        (ms(5000), NetFault::ServerRestart),
    ];
    run_checked(&plan);
}

#[test]
fn keep_alives_flow_while_a_cr_ended_block_waits_for_a_possible_lf() {
    // Found by the campaign (seed 202318 and 82 others of 100,000): lone CR
    // line ends, so a block ends a chunk on a CR that an LF might yet
    // complete; then the upstream falls silent (a partition). The proxy
    // held its keep-alives back until the next upstream byte, and the
    // client's idle timeout ended a response that should have survived.
    for split in [Split::Whole, Split::OneByte] {
        let mut plan = Plan::calm(Topology::Proxy, 12);
        plan.interval = ms(60);
        plan.one_stream = true;
        plan.server_conns = vec![ConnFault {
            mangle: Mangle {
                line_end: LineEnd::Cr,
                split,
                ..Mangle::default()
            },
            ..ConnFault::default()
        }];
        plan.net = vec![(ms(200), NetFault::Partition(Link::ProxyServer, ms(2400)))];
        run_checked(&plan);
    }
}

#[test]
fn restarts_lose_and_repeat_nothing_and_comments_come_through() {
    // The client restarts its connection three times, once inside a quiet
    // stretch where only keep-alive comments flow.
    for topology in [Topology::Proxy, Topology::Direct] {
        let mut plan = Plan::calm(topology, 16);
        plan.interval = ms(40);
        plan.long_pause = Some((6, ms(1800)));
        plan.restarts = vec![2, 5, 9];
        plan.comments = true;
        let out = run_checked(&plan);
        let seen = out.shared.seen.borrow();
        let count = |f: fn(&crate::hosts::Seen) -> bool| seen.iter().filter(|(_, s)| f(s)).count();
        assert!(
            count(|s| matches!(s, crate::hosts::Seen::Comment)) >= 2,
            "{topology:?}: keep-alives"
        );
        assert_eq!(count(|s| matches!(s, crate::hosts::Seen::Restart)), 3);
        // Each restart opened a new response.
        assert!(
            count(|s| matches!(s, crate::hosts::Seen::Open)) >= 4,
            "{topology:?}"
        );
    }
}
