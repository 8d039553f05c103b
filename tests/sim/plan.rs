//! What one simulated run does: the server's script, the topology, the
//! client's habits and every fault, all drawn from one seed (or written
//! out by hand for a named scenario).

use std::fmt;
use std::time::Duration;

/// A small, well-mixed generator (splitmix64): the same seed, the same
/// numbers, on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// `true` with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Whether the client reads the server through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// client → proxy (filters: drops `drop`, upper-cases `swap`) → server;
    /// the client keeps the spec's status policy, as a browser does.
    Proxy,
    /// client → server; the client retries server errors (a service's
    /// setting), so `Retry-After` faults reach it.
    Direct,
}

/// How the server's bytes are mangled on one connection (meaning kept,
/// except where a fault says otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mangle {
    /// Line endings: LF (as encoded), CRLF, or a lone CR.
    pub line_end: LineEnd,
    /// How frames are cut: as encoded, at random points (CRLF pairs split
    /// across frames), or into frames of one byte.
    pub split: Split,
    /// A UTF-8 BOM before the first byte (the stream's own: stripped).
    pub bom: bool,
    /// Before the first event: an event of type `drop` without id, then a
    /// block whose first line starts with a BOM (mid-stream: an unknown
    /// field; at the start of a client's stream it would be stripped).
    pub smuggle: bool,
    /// Before the first event: a `data:` line of this many bytes that
    /// never ends, then the connection is cut.
    pub endless: Option<usize>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineEnd {
    #[default]
    Lf,
    CrLf,
    Cr,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Split {
    #[default]
    Whole,
    /// Cut at points drawn from this seed.
    Random(u64),
    OneByte,
}

/// What happens to one accepted connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnFault {
    /// Cut on the wire after this many bytes past the response head
    /// (0: right after the head; with `before_head`, before it).
    pub cut: Option<usize>,
    /// Reset before the response head (the connection just closes).
    pub before_head: bool,
    /// Answer this status with this `Retry-After` instead of the stream.
    pub status: Option<(u16, &'static str)>,
    /// Hostile bytes (server connections only).
    pub mangle: Mangle,
}

/// A fault of the network or of a host, at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetFault {
    /// The server process is killed and starts again after this long,
    /// continuing its ids; meanwhile its port refuses connections.
    ServerDown(Duration),
    /// The server's machine is down for this long: what reaches it is
    /// lost (connections hang), then the server starts again.
    HostDown(Duration),
    /// The server restarts at once.
    ServerRestart,
    /// Bytes between these hosts stop (no close) for this long.
    Partition(Link, Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    ClientProxy,
    ProxyServer,
    ClientServer,
}

/// One run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    pub topology: Topology,
    /// Events 1..=events.
    pub events: u64,
    /// Pause between events.
    pub interval: Duration,
    /// A keep-alive-only stretch: before this event, wait this long.
    pub long_pause: Option<(u64, Duration)>,
    /// Seeds the event types and `retry` values.
    pub script_seed: u64,
    /// Event types and `retry` values written out (instead of seeded).
    pub fixed: Option<Vec<(&'static str, Option<u64>)>>,
    /// Faults of the connections the server accepts, in order (later
    /// ones: none).
    pub server_conns: Vec<ConnFault>,
    /// Faults of the connections the proxy accepts from the client.
    pub proxy_conns: Vec<ConnFault>,
    /// Network and host faults, at times since the start.
    pub net: Vec<(Duration, NetFault)>,
    /// Message latency range on every link.
    pub latency: (Duration, Duration),
    /// After these items, the consumer pauses this long (longer than
    /// the idle timeout).
    pub slow_reads: Vec<(usize, Duration)>,
    /// The client stops (drops its stream) after this many events.
    pub stop_after: Option<usize>,
    /// Every fault is upstream of the proxy and fits in its outage bound:
    /// the client must read the whole stream in one response.
    pub one_stream: bool,
    /// After these many events, the client calls `restart()`.
    pub restarts: Vec<usize>,
    /// The client reports comments (keep-alives) too.
    pub comments: bool,
}

/// The client's and servers' fixed settings.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(2);
pub const KEEP_ALIVE: Duration = Duration::from_millis(500);
pub const MIN_RETRY: Duration = Duration::from_millis(50);
pub const MAX_RETRY: Duration = Duration::from_secs(3);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the proxy bridges an upstream outage for its client.
pub const MAX_OUTAGE: Duration = Duration::from_secs(8);
/// The same, for plans whose upstream faults all fit in it.
pub const LONG_OUTAGE: Duration = Duration::from_secs(60);

/// The script: event `n`'s type, from a script seed.
fn seeded_type(script_seed: u64, n: u64) -> &'static str {
    let mut r = Rng::new(script_seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D));
    ["message", "message", "tick", "drop", "swap"][(r.next() % 5) as usize]
}

/// Event `n`'s `retry` value, if it carries one, from a script seed.
fn seeded_retry(script_seed: u64, n: u64) -> Option<u64> {
    let mut r = Rng::new(script_seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xABCD);
    r.chance(15).then(|| r.range(20, 4000))
}

/// Event `n`'s data: several lines, a leading space, non-ASCII.
pub fn event_data(n: u64) -> String {
    format!("event {n}\n  indented\ncaf\u{e9} \u{1F600} #{n}")
}

impl Plan {
    /// Event `n`'s type.
    pub fn event_type(&self, n: u64) -> &'static str {
        match &self.fixed {
            Some(fixed) => fixed[(n - 1) as usize].0,
            None => seeded_type(self.script_seed, n),
        }
    }

    /// Event `n`'s `retry`, if it carries one.
    pub fn event_retry(&self, n: u64) -> Option<u64> {
        match &self.fixed {
            Some(fixed) => fixed[(n - 1) as usize].1,
            None => seeded_retry(self.script_seed, n),
        }
    }

    /// Writes the script out: these types and retries, one event each.
    pub fn script(mut self, events: &[(&'static str, Option<u64>)]) -> Plan {
        self.events = events.len() as u64;
        self.fixed = Some(events.to_vec());
        self
    }

    /// A run drawn from `seed`.
    pub fn from_seed(seed: u64) -> Plan {
        let mut r = Rng::new(seed);
        let topology = if r.chance(75) {
            Topology::Proxy
        } else {
            Topology::Direct
        };
        let events = r.range(8, 40);
        let interval = Duration::from_millis(r.range(0, 150));
        let long_pause = r.chance(20).then(|| {
            (
                r.range(2, events),
                Duration::from_millis(r.range(2500, 6000)),
            )
        });
        let server_conns = (0..r.range(0, 12))
            .map(|_| conn_fault(&mut r, topology, true))
            .collect();
        let proxy_conns = match topology {
            Topology::Proxy => (0..r.range(0, 6))
                .map(|_| conn_fault(&mut r, topology, false))
                .collect(),
            Topology::Direct => Vec::new(),
        };
        let net = (0..r.range(0, 3))
            .map(|_| net_fault(&mut r, topology))
            .collect();
        let max = r.range(1, 40);
        let latency = (
            Duration::from_millis(r.range(0, max.min(5))),
            Duration::from_millis(max),
        );
        let slow_reads = (0..r.range(0, 2))
            .map(|_| {
                (
                    r.range(0, events) as usize,
                    IDLE_TIMEOUT + Duration::from_millis(r.range(100, 1500)),
                )
            })
            .collect();
        let stop_after = r.chance(8).then(|| r.range(1, 6) as usize);
        let mut plan = Plan {
            seed,
            topology,
            events,
            interval,
            long_pause,
            script_seed: r.next(),
            fixed: None,
            server_conns,
            proxy_conns,
            net,
            latency,
            slow_reads,
            stop_after,
            one_stream: false,
            restarts: Vec::new(),
            comments: r.chance(50),
        };
        if r.chance(25) {
            plan.restarts = (0..r.range(1, 3))
                .map(|_| r.range(1, events) as usize)
                .collect();
        }
        if topology == Topology::Proxy && r.chance(30) {
            plan.only_upstream_faults(&mut r);
        }
        plan
    }

    /// Keeps the faults the proxy must hide from its client: upstream
    /// cuts, resets, statuses, hostile bytes, restarts and outages shorter
    /// than its bound, at most six faulty upstream connections in a row.
    fn only_upstream_faults(&mut self, r: &mut Rng) {
        self.one_stream = true;
        self.proxy_conns.clear();
        self.stop_after = None;
        // A restart is the client's own reconnection.
        self.restarts.clear();
        self.server_conns.truncate(6);
        for c in &mut self.server_conns {
            // A huge Retry-After is capped at the backoff's most, fine; an
            // endless line through the proxy is the client's silence.
            c.mangle.endless = None;
        }
        self.net.retain(|(_, f)| {
            !matches!(
                f,
                NetFault::Partition(Link::ClientProxy, _)
                    | NetFault::Partition(Link::ClientServer, _)
            )
        });
        for (_, f) in &mut self.net {
            if let NetFault::ServerDown(span) | NetFault::HostDown(span) = f {
                *span = Duration::from_millis(r.range(200, 4000));
            }
        }
    }

    /// How long the proxy bridges an outage in this plan.
    pub fn max_outage(&self) -> Duration {
        if self.one_stream {
            LONG_OUTAGE
        } else {
            MAX_OUTAGE
        }
    }

    /// A plan with no faults at all, for named scenarios to add theirs.
    pub fn calm(topology: Topology, events: u64) -> Plan {
        Plan {
            seed: 0,
            topology,
            events,
            interval: Duration::from_millis(20),
            long_pause: None,
            script_seed: 7,
            fixed: None,
            server_conns: Vec::new(),
            proxy_conns: Vec::new(),
            net: Vec::new(),
            latency: (Duration::from_millis(1), Duration::from_millis(3)),
            slow_reads: Vec::new(),
            stop_after: None,
            one_stream: false,
            restarts: Vec::new(),
            comments: false,
        }
    }
}

fn conn_fault(r: &mut Rng, topology: Topology, server: bool) -> ConnFault {
    let mut f = ConnFault::default();
    match r.next() % 10 {
        0..=3 => f.cut = Some(r.range(0, 700) as usize),
        4 => {
            f.before_head = true;
            f.cut = Some(r.range(0, 60) as usize);
        }
        5 if server => {
            let retry_after = ["0", "1", "4294967295", "x"][(r.next() % 4) as usize];
            f.status = Some(([503, 429, 500][(r.next() % 3) as usize], retry_after));
        }
        _ => {}
    }
    if server && r.chance(40) {
        f.mangle = Mangle {
            line_end: [LineEnd::Lf, LineEnd::CrLf, LineEnd::Cr][(r.next() % 3) as usize],
            split: match r.next() % 6 {
                0 => Split::OneByte,
                1..=3 => Split::Random(r.next()),
                _ => Split::Whole,
            },
            bom: r.chance(30),
            // Only a proxy filters: without one, these blocks are events.
            smuggle: topology == Topology::Proxy && r.chance(30),
            endless: r.chance(10).then(|| r.range(1, 64 << 10) as usize),
        };
    }
    f
}

fn net_fault(r: &mut Rng, topology: Topology) -> (Duration, NetFault) {
    let at = Duration::from_millis(r.range(0, 4000));
    let span = Duration::from_millis(r.range(200, 4000));
    let fault = match r.next() % 6 {
        0 => NetFault::ServerDown(span),
        1 => NetFault::HostDown(span),
        2 => NetFault::ServerRestart,
        _ => NetFault::Partition(
            match (topology, r.next() % 2) {
                (Topology::Direct, _) => Link::ClientServer,
                (_, 0) => Link::ClientProxy,
                _ => Link::ProxyServer,
            },
            span,
        ),
    };
    (at, fault)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}, {} events every {:?}",
            self.topology, self.events, self.interval
        )?;
        if let Some((n, d)) = self.long_pause {
            write!(f, ", a {d:?} pause before {n}")?;
        }
        for (at, fault) in &self.net {
            write!(f, ", {fault:?} at {at:?}")?;
        }
        let faulty = |c: &[ConnFault]| c.iter().filter(|c| **c != ConnFault::default()).count();
        write!(
            f,
            ", {} faulty server connections, {} faulty proxy connections",
            faulty(&self.server_conns),
            faulty(&self.proxy_conns)
        )?;
        if let Some(k) = self.stop_after {
            write!(f, ", the client stops after {k} events")?;
        }
        if self.one_stream {
            write!(f, ", upstream faults only (one response)")?;
        }
        if !self.restarts.is_empty() {
            write!(f, ", restart() after events {:?}", self.restarts)?;
        }
        Ok(())
    }
}
