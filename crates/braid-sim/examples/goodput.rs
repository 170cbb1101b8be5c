//! Goodput of one bulk association over a 100 Mbit/s link, Braid against `sctp-proto` and
//! `dcsctp`.
//!
//! ```text
//! cargo run --release -p braid-sim --example goodput
//! cargo run --release -p braid-sim --example goodput -- --secs 60 --seed 7
//! ```
//!
//! One association, one ordered stream, 64 KiB messages queued continuously at the sender;
//! the receiving application reads every 10 ms. Both directions of the link: 100 Mbit/s,
//! one-way delay RTT/2, a drop-tail queue of one bandwidth-delay product (at least 100
//! packets), independent random loss `p` (both directions), MTU 1200. Both stacks send
//! packets of at most 1200 bytes (1172 bytes of DATA payload), advertise a 16 MiB receive
//! window, and use RTO.Min 1 s. Goodput is payload read by the receiving application per
//! second of simulated time, measured over `--secs` (default 20) after a warm-up of 10 s
//! (from the end of the handshake). The Mathis bound is (MSS / RTT) · sqrt(3/2) / sqrt(p).
//!
//! Columns: `B->B` Braid to Braid, `P->P` sctp-proto to sctp-proto, `B->P` Braid sending to
//! sctp-proto, `P->B` sctp-proto sending to Braid, and the same with `D`, dcsctp (WebRTC's
//! SCTP, the Rust port; driven through `tests/common/dcsctp.rs`, with its 16 MiB receive
//! buffer and send queue, RTO.Initial / RTO.Min 1 s, other options at its defaults). For
//! each Braid sender a line after the table gives its congestion state averaged over the
//! measurement (`path_stats`, sampled every 10 ms) and its retransmission counters.
//!
//! dcsctp hex-formats every packet it sends or receives for its log, logger or not, so its
//! columns cost noticeably more wall time than the others (not simulated time). With
//! `GOODPUT_DC_DEBUG` set in the environment, each run with a dcsctp side prints that
//! side's state, first events and metrics (cwnd, SRTT, retransmitted packets) to stderr.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use braid_proto::{Association, AssociationConfig, PathId, Ports, Ppid, SendOptions, StreamId};
use braid_sim::{ms, secs, LinkConfig, LinkId, Node, NodeId, Outgoing, Sim};
use bytes::Bytes;
use sctp_proto::PayloadProtocolIdentifier;

/// Largest SCTP packet either side sends.
const MTU: usize = 1200;
/// DATA payload per packet: MTU - 12 (common header) - 16 (DATA chunk header).
const MSS: usize = MTU - 28;
/// Receive window / buffer of both stacks, and the sender's queue limit.
const WINDOW: u32 = 16 * 1024 * 1024;
/// Message size queued by the sender.
const MESSAGE: usize = 64 * 1024;
/// Link rate.
const RATE_BPS: u64 = 100_000_000;
/// Warm-up after the handshake, not measured.
const WARMUP: Duration = Duration::from_secs(10);

const CLIENT: NodeId = NodeId(0);
const SERVER: NodeId = NodeId(1);

#[path = "../tests/common/dcsctp.rs"]
mod dc;

use dc::DcNode;

fn dc_options() -> dcsctp::api::Options {
    dcsctp::api::Options {
        max_receiver_window_buffer_size: WINDOW as usize,
        max_send_buffer_size: WINDOW as usize,
        per_stream_send_queue_limit: WINDOW as usize,
        ..dc::options(MTU)
    }
}

#[path = "../tests/common/sctp_proto.rs"]
mod sp;

use sp::ProtoNode;

/// `sctp-proto`'s settings here: the shared ones, its packets at most [`MTU`] bytes, a
/// [`WINDOW`] receive buffer and 256 KiB messages.
fn proto_node(client: bool, remote: SocketAddr) -> ProtoNode {
    let transport = sp::base_transport()
        .with_max_receive_buffer_size(WINDOW)
        .with_max_send_message_size(256 * 1024)
        .with_max_receive_message_size(256 * 1024);
    let node = if client {
        ProtoNode::client(remote, MSS as u32, transport)
    } else {
        ProtoNode::server(remote, MSS as u32, transport)
    };
    node.without_events()
}

/// The bulk workload on `sctp-proto`: stream 0, read as bytes.
impl ProtoNode {
    /// Queues `payload` on stream 0 unless more than [`WINDOW`] bytes are already queued.
    fn send(&mut self, payload: &Bytes) -> bool {
        let Some(a) = self.assoc.as_mut() else {
            return false;
        };
        let stream = if self.opened.insert(0) {
            a.open_stream(0, PayloadProtocolIdentifier::Binary)
        } else {
            a.stream(0)
        };
        let mut s = stream.expect("stream 0");
        if s.buffered_amount().unwrap_or(0) >= WINDOW as usize {
            return false;
        }
        let n = s
            .write_sctp(payload, PayloadProtocolIdentifier::Binary)
            .expect("write");
        n == payload.len()
    }

    /// Reads every complete message; returns the payload bytes read.
    fn read(&mut self) -> u64 {
        let Some(a) = self.assoc.as_mut() else {
            return 0;
        };
        while a.accept_stream().is_some() {}
        let mut got = 0u64;
        let mut buf = vec![0u8; MESSAGE];
        for id in a.stream_ids() {
            let Ok(mut s) = a.stream(id) else { continue };
            while let Ok(Some(chunks)) = s.read_sctp() {
                if buf.len() < chunks.len() {
                    buf.resize(chunks.len(), 0);
                }
                got += chunks.read(&mut buf).unwrap_or(0) as u64;
            }
        }
        got
    }
}

/// A node: Braid, sctp-proto or dcsctp.
enum Peer {
    Braid(Box<Association>),
    Proto(Box<ProtoNode>),
    Dc(Box<DcNode>),
}

impl Node for Peer {
    fn handle_packet(&mut self, now: Instant, path: usize, packet: Bytes) {
        match self {
            Peer::Braid(a) => Node::handle_packet(a.as_mut(), now, path, packet),
            Peer::Proto(p) => p.handle_packet(now, path, packet),
            Peer::Dc(d) => d.handle_packet(now, path, packet),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Peer::Braid(a) => Node::handle_timeout(a.as_mut(), now),
            Peer::Proto(p) => p.handle_timeout(now),
            Peer::Dc(d) => d.handle_timeout(now),
        }
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        match self {
            Peer::Braid(a) => Node::poll_transmit(a.as_mut(), now, buf),
            Peer::Proto(p) => p.poll_transmit(now, buf),
            Peer::Dc(d) => d.poll_transmit(now, buf),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Peer::Braid(a) => Node::poll_timeout(a.as_ref()),
            Peer::Proto(p) => p.poll_timeout(),
            Peer::Dc(d) => d.poll_timeout(),
        }
    }
}

impl Peer {
    fn established(&self) -> bool {
        match self {
            Peer::Braid(a) => a.state() == braid_proto::State::Established,
            Peer::Proto(p) => p.established(),
            Peer::Dc(d) => d.established(),
        }
    }

    /// Queues one message; `false` when the send buffer is full.
    fn send(&mut self, now: Instant, payload: &Bytes) -> bool {
        match self {
            Peer::Braid(a) => {
                let opts = SendOptions {
                    ppid: Ppid(53),
                    ..SendOptions::default()
                };
                a.send(now, StreamId(0), payload.clone(), &opts).is_ok()
            }
            Peer::Proto(p) => p.send(payload),
            Peer::Dc(d) => {
                // Checked first: a refused `send` also queues an `OnError` event.
                let queued = d.socket.buffered_amount(dcsctp::api::StreamId(0));
                queued + payload.len() <= WINDOW as usize
                    && d.send(now, 0, 53, payload, false).unwrap_or(false)
            }
        }
    }

    /// Payload bytes the application reads.
    fn read(&mut self) -> u64 {
        match self {
            Peer::Braid(a) => std::iter::from_fn(|| a.read_message())
                .map(|m| m.payload.len() as u64)
                .sum(),
            Peer::Proto(p) => p.read(),
            Peer::Dc(d) => std::iter::from_fn(|| d.read())
                .map(|(_, _, payload)| payload.len() as u64)
                .sum(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Braid,
    Proto,
    Dc,
}

impl Who {
    fn letter(self) -> &'static str {
        match self {
            Who::Braid => "B",
            Who::Proto => "P",
            Who::Dc => "D",
        }
    }
}

/// One measurement: who sends (the client) to whom, over which link.
#[derive(Clone, Copy)]
struct Case {
    from: Who,
    to: Who,
    rtt_ms: u64,
    loss: f64,
}

/// What a run measured.
#[derive(Clone, Copy, Default)]
struct Outcome {
    /// Mbit/s of payload read by the receiver.
    goodput: f64,
    /// Braid sender only: mean cwnd and ssthresh (bytes), retransmissions, fast retransmits,
    /// final RTO.
    cwnd: f64,
    ssthresh: f64,
    retransmissions: u64,
    fast_retransmits: u64,
    rto: Duration,
    /// Forward link drops: queue (tail), random.
    tail_drops: u64,
    random_drops: u64,
}

fn braid_config() -> AssociationConfig {
    AssociationConfig {
        receive_window: WINDOW,
        send_buffer_size: WINDOW as usize,
        max_packet_size: MTU,
        ..AssociationConfig::default()
    }
}

fn link(case: Case) -> LinkConfig {
    let bdp_packets = (RATE_BPS as f64 * case.rtt_ms as f64 / 1000.0 / 8.0 / MTU as f64) as usize;
    LinkConfig {
        delay: ms(case.rtt_ms / 2),
        bandwidth_bps: Some(RATE_BPS),
        queue_packets: Some(bdp_packets.max(100)),
        loss: case.loss,
        mtu: Some(MTU),
        ..LinkConfig::default()
    }
}

fn run(case: Case, seed: u64, measure: Duration, trace: bool) -> Outcome {
    let mut sim: Sim<Peer> = Sim::new(seed);
    let now = sim.now();
    let (cs, ss) = (sim.next_seed(), sim.next_seed());
    let c = match case.from {
        Who::Braid => Peer::Braid(Box::new(Association::connect(
            now,
            braid_config(),
            Ports::default(),
            cs,
            Some(SERVER.address()),
        ))),
        Who::Proto => Peer::Proto(Box::new(proto_node(true, SERVER.address()))),
        Who::Dc => Peer::Dc(Box::new(DcNode::new("client", now, &dc_options(), true))),
    };
    let s = match case.to {
        Who::Braid => Peer::Braid(Box::new(Association::accept(
            now,
            braid_config(),
            Ports::default(),
            ss,
            Some(CLIENT.address()),
        ))),
        Who::Proto => Peer::Proto(Box::new(proto_node(false, CLIENT.address()))),
        Who::Dc => Peer::Dc(Box::new(DcNode::new("server", now, &dc_options(), false))),
    };
    let c = sim.add_node(c);
    let s = sim.add_node(s);
    let l = link(case);
    sim.connect(c, s, l.clone(), l);
    let deadline = sim.now() + secs(30);
    let up = sim
        .run_until_cond(deadline, |s| {
            s.node(CLIENT).is_some_and(Peer::established)
                && s.node(SERVER).is_some_and(Peer::established)
        })
        .expect("no livelock");
    assert!(up, "handshake did not finish");

    let payload = Bytes::from(vec![0x5a; MESSAGE]);
    let start = sim.now();
    let measure_from = start + WARMUP;
    let end = measure_from + measure;
    let mut received = 0u64;
    let mut samples = 0u64;
    let (mut cwnd_sum, mut ssthresh_sum) = (0f64, 0f64);
    let mut base = (0u64, 0u64);
    let mut drops_base = (0u64, 0u64);
    let mut measuring = false;
    while sim.now() < end {
        let now = sim.now();
        if !measuring && now >= measure_from {
            measuring = true;
            received = 0;
            if let Some(Peer::Braid(a)) = sim.node(CLIENT) {
                let st = a.stats();
                base = (st.retransmissions, st.fast_retransmits);
            }
            let f = sim.link_stats(LinkId(0)).unwrap_or_default();
            drops_base = (f.dropped_queue, f.dropped_random);
        }
        let sender = sim.node_mut(CLIENT).expect("client");
        while sender.send(now, &payload) {}
        sim.run_until(now + ms(10)).expect("no livelock");
        received += sim.node_mut(SERVER).expect("server").read();
        let step = (sim.now() - start).as_millis() / 10;
        if trace && step.is_multiple_of(50) {
            if let Some(Peer::Braid(a)) = sim.node(CLIENT) {
                let (Some(p), st) = (a.path_stats(PathId(0)), a.stats()) else {
                    continue;
                };
                let f = sim.link_stats(LinkId(0)).unwrap_or_default();
                println!(
                    "t {:>5.1}s cwnd {:>8} ssthresh {:>8} flight {:>8} srtt {:?} rto {:?} \
                     rtx {} fast {} drops {}/{} read {}",
                    (sim.now() - start).as_secs_f64(),
                    p.cwnd,
                    p.ssthresh,
                    p.bytes_in_flight,
                    p.srtt.unwrap_or_default(),
                    p.rto,
                    st.retransmissions,
                    st.fast_retransmits,
                    f.dropped_queue,
                    f.dropped_random,
                    received
                );
            }
        }
        if measuring {
            if let Some(Peer::Braid(a)) = sim.node(CLIENT) {
                if let Some(p) = a.path_stats(PathId(0)) {
                    cwnd_sum += p.cwnd as f64;
                    ssthresh_sum += p.ssthresh as f64;
                    samples += 1;
                }
            }
        }
    }
    let elapsed = sim.now().saturating_duration_since(measure_from);
    let mut out = Outcome {
        goodput: received as f64 * 8.0 / elapsed.as_secs_f64() / 1e6,
        ..Outcome::default()
    };
    if let Some(Peer::Braid(a)) = sim.node(CLIENT) {
        let st = a.stats();
        out.retransmissions = st.retransmissions - base.0;
        out.fast_retransmits = st.fast_retransmits - base.1;
        out.rto = a.path_stats(PathId(0)).map(|p| p.rto).unwrap_or_default();
        if samples > 0 {
            out.cwnd = cwnd_sum / samples as f64;
            out.ssthresh = ssthresh_sum / samples as f64;
        }
    }
    if std::env::var_os("GOODPUT_DC_DEBUG").is_some() {
        for (who, id) in [("sender", CLIENT), ("receiver", SERVER)] {
            if let Some(Peer::Dc(d)) = sim.node(id) {
                let m = d.socket.get_metrics();
                eprintln!(
                    "  dcsctp {who} {:?}->{:?} rtt {} loss {}: state {:?} events {:?} cwnd {:?} \
                     srtt {:?} rtx packets {:?} tx {:?} rx {:?} peer rwnd {:?}",
                    case.from,
                    case.to,
                    case.rtt_ms,
                    case.loss,
                    d.socket.state(),
                    d.events.iter().take(3).collect::<Vec<_>>(),
                    m.as_ref().map(|m| m.cwnd_bytes),
                    m.as_ref().map(|m| m.srtt),
                    m.as_ref().map(|m| m.rtx_packets_count),
                    m.as_ref().map(|m| m.tx_packets_count),
                    m.as_ref().map(|m| m.rx_packets_count),
                    m.as_ref().map(|m| m.peer_rwnd_bytes),
                );
            }
        }
    }
    let f = sim.link_stats(LinkId(0)).unwrap_or_default();
    out.tail_drops = f.dropped_queue - drops_base.0;
    out.random_drops = f.dropped_random - drops_base.1;
    out
}

fn mathis(rtt_ms: u64, loss: f64) -> Option<f64> {
    (loss > 0.0)
        .then(|| MSS as f64 * 8.0 / (rtt_ms as f64 / 1000.0) * 1.5f64.sqrt() / loss.sqrt() / 1e6)
}

/// The same seed for every pair of a row: the same link loss pattern.
fn case_seed(seed: u64, case: Case) -> u64 {
    seed ^ (case.rtt_ms << 8) ^ ((case.loss * 1000.0) as u64)
}

fn usage() -> ! {
    eprintln!("usage: goodput [--secs N] [--seed S] [--trace RTT_MS LOSS_PERCENT]");
    std::process::exit(2)
}

fn main() {
    let mut measure = 20u64;
    let mut seed = 1u64;
    let mut trace = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| usage());
        match arg.as_str() {
            "--secs" => measure = value.max(1),
            "--seed" => seed = value,
            "--trace" => {
                let loss = args
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or_else(|| usage());
                trace = Some((value, loss / 100.0));
            }
            _ => usage(),
        }
    }
    if let Some((rtt_ms, loss)) = trace {
        let case = Case {
            from: Who::Braid,
            to: Who::Braid,
            rtt_ms,
            loss,
        };
        let out = run(case, case_seed(seed, case), secs(measure), true);
        println!("goodput {:.2} Mbit/s", out.goodput);
        return;
    }
    let pairs = [
        (Who::Braid, Who::Braid),
        (Who::Proto, Who::Proto),
        (Who::Braid, Who::Proto),
        (Who::Proto, Who::Braid),
        (Who::Dc, Who::Dc),
        (Who::Braid, Who::Dc),
        (Who::Dc, Who::Braid),
    ];
    let mut cases = Vec::new();
    for rtt_ms in [20u64, 100, 300] {
        for loss in [0.0, 0.01, 0.03] {
            for (from, to) in pairs {
                cases.push(Case {
                    from,
                    to,
                    rtt_ms,
                    loss,
                });
            }
        }
    }
    let results = Mutex::new(vec![None; cases.len()]);
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wall = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads.min(cases.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&case) = cases.get(i) else { break };
                let t0 = Instant::now();
                let out = run(case, case_seed(seed, case), secs(measure), false);
                eprintln!(
                    "{:?}->{:?} rtt {} ms loss {}: {:.2} Mbit/s, {:.1} s wall",
                    case.from,
                    case.to,
                    case.rtt_ms,
                    case.loss,
                    out.goodput,
                    t0.elapsed().as_secs_f64()
                );
                if let Some(slot) = results.lock().expect("lock").get_mut(i) {
                    *slot = Some(out);
                }
            });
        }
    });
    let results = results.into_inner().expect("lock");
    println!(
        "Goodput (Mbit/s of payload) of one bulk association, 100 Mbit/s link, BDP queue, \
         1200-byte packets (MSS {MSS}), {measure} s measured after {} s warm-up, seed {seed}",
        WARMUP.as_secs()
    );
    let heads: Vec<String> = pairs
        .iter()
        .map(|(f, t)| format!("{:>7}", format!("{}->{}", f.letter(), t.letter())))
        .collect();
    println!(
        "{:>6} {:>5} | {} | {:>7}",
        "RTT",
        "loss",
        heads.join(" "),
        "Mathis"
    );
    let get = |i: usize| results.get(i).copied().flatten().unwrap_or_default();
    for (row, chunk) in cases.chunks(pairs.len()).enumerate() {
        let Some(first) = chunk.first() else { continue };
        let cells: Vec<String> = (0..pairs.len())
            .map(|k| format!("{:>7.2}", get(row * pairs.len() + k).goodput))
            .collect();
        let bound =
            mathis(first.rtt_ms, first.loss).map_or_else(|| "-".to_string(), |b| format!("{b:.2}"));
        println!(
            "{:>4}ms {:>4}% | {} | {:>7}",
            first.rtt_ms,
            first.loss * 100.0,
            cells.join(" "),
            bound
        );
    }
    println!();
    println!("Braid senders (measurement window): mean cwnd / ssthresh, retransmissions (fast), final RTO, forward drops tail/random");
    for (i, case) in cases.iter().enumerate() {
        if case.from != Who::Braid {
            continue;
        }
        let o = get(i);
        println!(
            "{:>4}ms {:>4}% B->{}: cwnd {:>9.0} ssthresh {:>9.0} rtx {:>6} ({:>5} fast) rto {:?} drops {}/{}",
            case.rtt_ms,
            case.loss * 100.0,
            case.to.letter(),
            o.cwnd,
            o.ssthresh,
            o.retransmissions,
            o.fast_retransmits,
            o.rto,
            o.tail_drops,
            o.random_drops
        );
    }
    eprintln!("wall time {:.1} s", wall.elapsed().as_secs_f64());
}
