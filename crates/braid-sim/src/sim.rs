//! The simulator: a virtual clock, nodes, links and the event loop.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use braid_proto::{Association, AssociationConfig, Ports};
use braid_wire::pcap::PcapWriter;
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::check::Check;
use crate::link::{DropReason, GilbertElliott, Link, LinkChange, LinkConfig, LinkStats, Outcome};
use crate::node::{Node, Outgoing};

/// Identifies a node of a [`Sim`] (the order in which nodes were added, from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

impl NodeId {
    /// The address the node has in the capture on path 0: 10.0.0.(id+1) (wrapping after 250
    /// nodes), port 5000.
    pub fn address(self) -> SocketAddr {
        self.path_address(0)
    }

    /// The address the node has in the capture on path `path`: 10.0.(path).(id+1) — the
    /// path index in the middle octets, 10.(path / 256).(path % 256).(id+1) beyond 255 —
    /// port 5000. Path 0 is [`address`](Self::address).
    pub fn path_address(self, path: usize) -> SocketAddr {
        let host = u8::try_from(self.0 % 250 + 1).unwrap_or(1);
        let [.., hi, lo] = (path as u64).to_be_bytes();
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, hi, lo, host)), 5000)
    }
}

/// Identifies one direction of a link of a [`Sim`] (the order of creation, from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub usize);

/// What became of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Still travelling.
    InFlight,
    /// Handed to the receiver.
    Delivered,
    /// Lost.
    Dropped(DropReason),
}

/// One packet a node sent, and its fate. Entry `i` of [`Sim::trace`] is record `i + 1` of
/// the pcap capture (Wireshark's frame number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Time since the start of the simulation at which it was sent.
    pub sent_at: Duration,
    /// Time since the start at which it arrived, if it did.
    pub arrived_at: Option<Duration>,
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The link it took.
    pub link: LinkId,
    /// The path it took: the index the sender gave it ([`Outgoing::path`]), which is also the
    /// path it arrives on.
    pub path: usize,
    /// Its size in bytes (SCTP common header onwards).
    pub len: usize,
    /// What became of it.
    pub fate: Fate,
    /// Whether bits of it were flipped on the way (the capture shows it as sent).
    pub corrupted: bool,
    /// Whether it was delivered twice.
    pub duplicated: bool,
    /// Whether it was held back so that later packets overtook it.
    pub reordered: bool,
}

/// A packet a node sent on a path it has no link for: it went nowhere (and is not in the
/// trace or the capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unroutable {
    /// Time since the start of the simulation at which it was sent.
    pub sent_at: Duration,
    /// The sender.
    pub from: NodeId,
    /// The path index the sender gave it.
    pub path: usize,
    /// Its size in bytes.
    pub len: usize,
}

/// Why the event loop stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// A node kept asking to be woken without time advancing (its `poll_timeout` stayed at
    /// or before `now` after `handle_timeout`): a livelock in the node.
    Livelock {
        /// Time since the start at which it happened.
        at: Duration,
    },
    /// A check added with [`Sim::add_check`] found an invariant broken.
    Invariant {
        /// Time since the start at which it was found (the step that broke it).
        at: Duration,
        /// The invariant and how it broke, as the check put it.
        what: String,
    },
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Livelock { at } => write!(f, "a node livelocked at {at:?}"),
            Self::Invariant { at, what } => write!(f, "invariant broken at {at:?}: {what}"),
        }
    }
}

impl std::error::Error for SimError {}

/// Steps without time advancing before the loop reports a livelock.
const LIVELOCK_STEPS: u32 = 100_000;

struct Slot<N> {
    node: N,
    /// The link each of the node's paths leaves on, by path index.
    paths: Vec<LinkId>,
    /// Packet copies handed to the node.
    received: u64,
}

struct LinkSlot {
    link: Link,
    to: NodeId,
    /// The path index (at both ends) this link belongs to.
    path: usize,
}

struct Pending {
    link: LinkId,
    bytes: Bytes,
    trace: usize,
}

/// A deterministic network simulation: nodes joined by links, run in virtual time.
///
/// Nothing here reads the clock except once, in [`Sim::new`], for an arbitrary origin
/// ([`Instant`] has no other constructor); everything after it is that origin plus simulated
/// durations, so a run depends only on its seed and inputs.
///
/// Two nodes are joined by one path ([`Sim::connect`]) or several ([`Sim::connect_paths`]),
/// each a pair of links, one per direction; a node says which path each packet takes
/// ([`Outgoing::path`]) and learns which one a packet arrived on. The test drives the nodes'
/// commands (`send`, `read_message`, ...) through [`Sim::node_mut`] between runs.
///
/// Checks added with [`Sim::add_check`] run after every step (and after the packets a test's
/// commands cause are sent); the first broken invariant stops the run with
/// [`SimError::Invariant`].
pub struct Sim<N> {
    epoch: Instant,
    now: Instant,
    master: ChaCha8Rng,
    nodes: Vec<Slot<N>>,
    links: Vec<LinkSlot>,
    /// Packets in flight by arrival time, then by send order.
    in_flight: BTreeMap<(Instant, u64), Pending>,
    next_seq: u64,
    capture: Option<PcapWriter<Vec<u8>>>,
    capture_errors: u64,
    trace: Vec<TraceEntry>,
    unroutable: Vec<Unroutable>,
    buf: Vec<u8>,
    checks: Vec<Box<dyn Check<N>>>,
}

impl<N> std::fmt::Debug for Sim<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("elapsed", &self.elapsed())
            .field("nodes", &self.nodes.len())
            .field("links", &self.links.len())
            .field("in_flight", &self.in_flight.len())
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}

impl Sim<Association> {
    /// A builder for the common case: two associations (a client, [`Sim::CLIENT`], that
    /// connects, and a server, [`Sim::SERVER`], that accepts) joined by one link each way.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// The client of a [`Sim::builder`] simulation.
    pub const CLIENT: NodeId = NodeId(0);
    /// The server of a [`Sim::builder`] simulation.
    pub const SERVER: NodeId = NodeId(1);
}

impl<N> Sim<N> {
    /// An empty simulation. Link seeds (and any seeds taken with [`Sim::next_seed`]) are
    /// drawn from a generator seeded with `seed`, in order.
    pub fn new(seed: u64) -> Self {
        let epoch = Instant::now();
        Self {
            epoch,
            now: epoch,
            master: ChaCha8Rng::seed_from_u64(seed),
            nodes: Vec::new(),
            links: Vec::new(),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            capture: None,
            capture_errors: 0,
            trace: Vec::new(),
            unroutable: Vec::new(),
            buf: Vec::with_capacity(2048),
            checks: Vec::new(),
        }
    }

    /// Starts capturing every packet sent, at its send time, into an in-memory pcap file
    /// (see [`Sim::take_pcap`]). The fates are in [`Sim::trace`], one entry per record.
    pub fn enable_capture(&mut self) {
        if self.capture.is_none() {
            match PcapWriter::new(Vec::new()) {
                Ok(w) => self.capture = Some(w),
                Err(_) => self.capture_errors += 1,
            }
        }
    }

    /// Ends the capture and returns the pcap file (empty without [`Sim::enable_capture`]).
    /// Packets sent afterwards are still traced but no longer captured.
    pub fn take_pcap(&mut self) -> Vec<u8> {
        self.capture
            .take()
            .map(PcapWriter::into_inner)
            .unwrap_or_default()
    }

    /// Records the capture could not write (always 0 unless a timestamp overflowed).
    pub fn capture_errors(&self) -> u64 {
        self.capture_errors
    }

    /// A fresh seed from the master generator, for a node.
    pub fn next_seed(&mut self) -> u64 {
        self.master.next_u64()
    }

    /// The start of the simulation.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// The current simulated instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.epoch)
    }

    /// Adds a node, with no path yet.
    pub fn add_node(&mut self, node: N) -> NodeId {
        self.nodes.push(Slot {
            node,
            paths: Vec::new(),
            received: 0,
        });
        NodeId(self.nodes.len() - 1)
    }

    /// Joins `a` and `b` with one path: one link each way, `a_to_b` and `b_to_a`, seeded in
    /// that order from the master seed. It is path 0 of both nodes (as
    /// [`connect_paths`](Self::connect_paths) with one pair).
    pub fn connect(
        &mut self,
        a: NodeId,
        b: NodeId,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
    ) -> (LinkId, LinkId) {
        let ab = self.add_link(b, 0, a_to_b);
        let ba = self.add_link(a, 0, b_to_a);
        self.set_paths(a, vec![ab]);
        self.set_paths(b, vec![ba]);
        (ab, ba)
    }

    /// Joins `a` and `b` with one independent path per pair of `paths`: pair `i` is
    /// (a → b, b → a), path `i` of both nodes, each link with its own configuration and its
    /// own generator, seeded from the master seed in the order given (a → b before b → a).
    /// Returns the links of each path, in the same order. The paths replace any the two
    /// nodes had.
    pub fn connect_paths(
        &mut self,
        a: NodeId,
        b: NodeId,
        paths: &[(LinkConfig, LinkConfig)],
    ) -> Vec<(LinkId, LinkId)> {
        let links: Vec<(LinkId, LinkId)> = paths
            .iter()
            .enumerate()
            .map(|(i, (a_to_b, b_to_a))| {
                let ab = self.add_link(b, i, a_to_b.clone());
                let ba = self.add_link(a, i, b_to_a.clone());
                (ab, ba)
            })
            .collect();
        self.set_paths(a, links.iter().map(|l| l.0).collect());
        self.set_paths(b, links.iter().map(|l| l.1).collect());
        links
    }

    fn set_paths(&mut self, node: NodeId, paths: Vec<LinkId>) {
        if let Some(s) = self.nodes.get_mut(node.0) {
            s.paths = paths;
        }
    }

    fn add_link(&mut self, to: NodeId, path: usize, config: LinkConfig) -> LinkId {
        let seed = self.master.next_u64();
        self.links.push(LinkSlot {
            link: Link::new(config, seed, self.epoch),
            to,
            path,
        });
        LinkId(self.links.len() - 1)
    }

    /// The outgoing link of each of a node's paths, by path index (empty for an unknown
    /// node or one with no path).
    pub fn paths(&self, id: NodeId) -> &[LinkId] {
        self.nodes.get(id.0).map_or(&[], |s| s.paths.as_slice())
    }

    /// How many nodes there are ([`NodeId`]s `0..node_count()`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Packet copies handed to a node so far (a duplicated packet counts twice; packets lost
    /// on the way do not count).
    pub fn packets_received(&self, id: NodeId) -> u64 {
        self.nodes.get(id.0).map_or(0, |s| s.received)
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes.get(id.0).map(|s| &s.node)
    }

    /// A node, to give it commands. Whatever it wants to send goes out at the next step.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut N> {
        self.nodes.get_mut(id.0).map(|s| &mut s.node)
    }

    /// The counters of one direction of a link.
    pub fn link_stats(&self, id: LinkId) -> Option<LinkStats> {
        self.links.get(id.0).map(|l| l.link.stats)
    }

    /// Every packet sent so far and its fate.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Every packet a node sent on a path it has no link for (dropped, not traced).
    pub fn unroutable(&self) -> &[Unroutable] {
        &self.unroutable
    }

    /// Adds a check to run after every step, and after the packets that commands given
    /// between steps cause are sent (so each check sees the state right after every batch of
    /// packets, before any further input). Checks run in the order added; the first that
    /// fails stops [`step`](Self::step) and the `run_*` methods with
    /// [`SimError::Invariant`]. Without checks, stepping costs nothing extra.
    pub fn add_check(&mut self, check: impl Check<N> + 'static) {
        self.checks.push(Box::new(check));
    }

    /// Removes every check.
    pub fn clear_checks(&mut self) {
        self.checks.clear();
    }

    /// Runs the checks now.
    ///
    /// # Errors
    ///
    /// [`SimError::Invariant`] from the first check that fails.
    pub fn run_checks(&mut self) -> Result<(), SimError> {
        if self.checks.is_empty() {
            return Ok(());
        }
        let mut checks = std::mem::take(&mut self.checks);
        let mut result = Ok(());
        for c in &mut checks {
            if let Err(what) = c.check(self) {
                result = Err(SimError::Invariant {
                    at: self.elapsed(),
                    what,
                });
                break;
            }
        }
        // Checks added by a check (none can be: it only sees `&Sim`) would be lost here.
        self.checks = checks;
        result
    }
}

impl<N: Node> Sim<N> {
    /// The next instant anything happens: a packet arrival or a node's deadline.
    pub fn next_event(&self) -> Option<Instant> {
        let arrival = self.in_flight.keys().next().map(|&(at, _)| at);
        let timer = self
            .nodes
            .iter()
            .filter_map(|s| s.node.poll_timeout())
            .min();
        match (arrival, timer) {
            (Some(a), Some(t)) => Some(a.min(t)),
            (a, t) => a.or(t),
        }
    }

    /// Sends whatever the nodes have queued, then advances the clock to the next event and
    /// handles everything due then: arrivals (in order), then timeouts, then the packets they
    /// cause. Returns `false`, without moving the clock, when nothing is left to happen.
    ///
    /// # Errors
    ///
    /// [`SimError::Invariant`] when a check ([`add_check`](Self::add_check)) fails after the
    /// first send or at the end of the step.
    pub fn step(&mut self) -> Result<bool, SimError> {
        self.flush_checked()?;
        let Some(next) = self.next_event() else {
            return Ok(false);
        };
        self.now = self.now.max(next);
        let now = self.now;
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let pending = entry.remove();
            self.deliver(now, pending);
        }
        for slot in &mut self.nodes {
            if slot.node.poll_timeout().is_some_and(|t| t <= now) {
                slot.node.handle_timeout(now);
            }
        }
        self.flush();
        self.run_checks()?;
        Ok(true)
    }

    /// [`flush`](Self::flush), then the checks if it sent anything. The end of every step is
    /// checked anyway; what a test's commands change between steps is checked as soon as
    /// their packets go, or at the end of the next step.
    fn flush_checked(&mut self) -> Result<(), SimError> {
        if self.flush() {
            self.run_checks()
        } else {
            Ok(())
        }
    }

    /// Runs until `deadline` (the clock ends exactly there, even if nothing happens then).
    ///
    /// # Errors
    ///
    /// [`SimError::Livelock`] when a node asks to be woken over and over without time
    /// advancing; [`SimError::Invariant`] when a check fails (the clock stays at the step
    /// that broke it).
    pub fn run_until(&mut self, deadline: Instant) -> Result<(), SimError> {
        self.run_while(deadline, |_| true).map(|_| ())
    }

    /// Runs for `duration` of simulated time.
    ///
    /// # Errors
    ///
    /// As [`run_until`](Self::run_until).
    pub fn run_for(&mut self, duration: Duration) -> Result<(), SimError> {
        self.run_until(self.now + duration)
    }

    /// Runs until `done` holds (checked before every step) or `deadline` passes. Returns
    /// whether `done` held; the clock stops at the step where it became true, or at the
    /// deadline.
    ///
    /// # Errors
    ///
    /// As [`run_until`](Self::run_until).
    pub fn run_until_cond(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> Result<bool, SimError> {
        self.run_while(deadline, |sim| !done(sim))
            .map(|stopped| !stopped)
    }

    /// Steps while `go` holds and the next event is no later than `deadline`. Returns
    /// whether it stopped at the deadline (rather than because `go` failed).
    fn run_while(
        &mut self,
        deadline: Instant,
        mut go: impl FnMut(&mut Self) -> bool,
    ) -> Result<bool, SimError> {
        let mut stuck = 0u32;
        loop {
            self.flush_checked()?;
            if !go(self) {
                return Ok(false);
            }
            match self.next_event() {
                Some(t) if t <= deadline => {
                    let before = self.now;
                    self.step()?;
                    if self.now == before {
                        stuck += 1;
                        if stuck > LIVELOCK_STEPS {
                            return Err(SimError::Livelock { at: self.elapsed() });
                        }
                    } else {
                        stuck = 0;
                    }
                }
                _ => {
                    self.now = self.now.max(deadline);
                    return Ok(true);
                }
            }
        }
    }

    /// Drains every node's transmit queue onto its link; whether any packet went.
    fn flush(&mut self) -> bool {
        let now = self.now;
        let mut sent = false;
        for i in 0..self.nodes.len() {
            loop {
                self.buf.clear();
                let Some(slot) = self.nodes.get_mut(i) else {
                    break;
                };
                let Some(Outgoing { path, len }) = slot.node.poll_transmit(now, &mut self.buf)
                else {
                    break;
                };
                let route = slot.paths.get(path).copied();
                let start = self.buf.len().saturating_sub(len);
                let packet = self.buf.get(start..).unwrap_or_default().to_vec();
                self.transmit(NodeId(i), path, route, &packet);
                sent = true;
            }
        }
        sent
    }

    /// Puts one packet on the link of `from`'s path `path`, capturing and tracing it.
    fn transmit(&mut self, from: NodeId, path: usize, route: Option<LinkId>, packet: &[u8]) {
        let sent_at = self.elapsed();
        let Some((link, slot)) = route.and_then(|r| self.links.get_mut(r.0).map(|s| (r, s))) else {
            // No link on that path: the packet goes nowhere, recorded apart from the trace
            // (which matches the capture frame for frame).
            self.unroutable.push(Unroutable {
                sent_at,
                from,
                path,
                len: packet.len(),
            });
            return;
        };
        let to = slot.to;
        if let Some(w) = self.capture.as_mut() {
            if w.write_sctp(
                sent_at,
                from.path_address(path),
                to.path_address(path),
                packet,
            )
            .is_err()
            {
                self.capture_errors += 1;
            }
        }
        let outcome = slot.link.send(self.now, packet);
        let mut entry = TraceEntry {
            sent_at,
            arrived_at: None,
            from,
            to,
            link,
            path,
            len: packet.len(),
            fate: Fate::InFlight,
            corrupted: false,
            duplicated: false,
            reordered: false,
        };
        let trace = self.trace.len();
        match outcome {
            Outcome::Dropped(reason) => entry.fate = Fate::Dropped(reason),
            Outcome::Deliver {
                at,
                bytes,
                duplicate_at,
                corrupted,
                reordered,
            } => {
                entry.corrupted = corrupted;
                entry.reordered = reordered;
                entry.duplicated = duplicate_at.is_some();
                if let Some(dup) = duplicate_at {
                    self.schedule(dup, link, bytes.clone(), trace);
                }
                self.schedule(at, link, bytes, trace);
            }
        }
        self.trace.push(entry);
    }

    fn schedule(&mut self, at: Instant, link: LinkId, bytes: Bytes, trace: usize) {
        self.in_flight
            .insert((at, self.next_seq), Pending { link, bytes, trace });
        self.next_seq += 1;
    }

    /// Hands an arrived packet to its receiver, unless the link went down meanwhile.
    fn deliver(&mut self, now: Instant, pending: Pending) {
        let elapsed = self.elapsed();
        let Some(slot) = self.links.get_mut(pending.link.0) else {
            return;
        };
        slot.link.advance(now);
        let up = slot.link.is_up();
        if up {
            slot.link.stats.delivered += 1;
            slot.link.stats.bytes_delivered += pending.bytes.len() as u64;
        } else {
            slot.link.stats.count_drop(DropReason::LinkDown);
        }
        let (to, path) = (slot.to, slot.path);
        if let Some(entry) = self.trace.get_mut(pending.trace) {
            if up {
                entry.fate = Fate::Delivered;
                entry.arrived_at.get_or_insert(elapsed);
            } else if entry.fate == Fate::InFlight {
                entry.fate = Fate::Dropped(DropReason::LinkDown);
            }
        }
        if up {
            if let Some(node) = self.nodes.get_mut(to.0) {
                node.received += 1;
                node.node.handle_packet(now, path, pending.bytes);
            }
        }
    }
}

/// Builds a two-association simulation that reads like the network it models:
///
/// ```
/// use braid_sim::{ms, Sim};
/// let sim = Sim::builder()
///     .seed(7)
///     .delay(ms(50))
///     .loss(0.01)
///     .bandwidth_mbps(100.0)
///     .queue_packets(100)
///     .build();
/// assert_eq!(sim.elapsed(), ms(0));
/// ```
///
/// Link settings apply to both directions; [`forward`](Self::forward) and
/// [`reverse`](Self::reverse) change one (client → server, server → client).
#[derive(Debug, Clone, Default)]
pub struct SimBuilder {
    seed: u64,
    forward: LinkConfig,
    reverse: LinkConfig,
    client: Option<AssociationConfig>,
    server: Option<AssociationConfig>,
    capture: bool,
}

macro_rules! both {
    ($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) => |$l:ident| $body:expr) => {
        $(#[$doc])*
        pub fn $name(mut self, $arg: $ty) -> Self {
            for $l in [&mut self.forward, &mut self.reverse] {
                $body;
            }
            self
        }
    };
}

impl SimBuilder {
    /// The master seed: links and both associations are seeded from it.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    both!(
        /// One-way delay.
        delay(d: Duration) => |l| l.delay = d
    );
    both!(
        /// Jitter: up to this much extra delay per packet, without reordering.
        jitter(d: Duration) => |l| l.jitter = d
    );
    both!(
        /// Bottleneck rate in Mbit/s.
        bandwidth_mbps(mbps: f64) => |l| l.bandwidth_bps = Some((mbps * 1e6) as u64)
    );
    both!(
        /// Bottleneck queue size in packets (tail drop beyond it).
        queue_packets(n: usize) => |l| l.queue_packets = Some(n)
    );
    both!(
        /// Independent random loss probability.
        loss(p: f64) => |l| l.loss = p
    );
    both!(
        /// Gilbert–Elliott burst loss.
        burst_loss(ge: GilbertElliott) => |l| l.burst_loss = Some(ge)
    );
    both!(
        /// Probability that a packet is delivered twice.
        duplicate(p: f64) => |l| l.duplicate = p
    );
    both!(
        /// Probability that a packet has bits flipped.
        corrupt(p: f64) => |l| l.corrupt = p
    );
    both!(
        /// Largest packet carried; larger ones are dropped.
        mtu(bytes: usize) => |l| l.mtu = Some(bytes)
    );
    both!(
        /// A scheduled change, at a time since the start.
        at(change: (Duration, LinkChange)) => |l| l.schedule.push(change)
    );

    /// Reordering: with probability `p` a packet is held back by `extra` delay.
    pub fn reorder(mut self, p: f64, extra: Duration) -> Self {
        for l in [&mut self.forward, &mut self.reverse] {
            l.reorder = p;
            l.reorder_delay = extra;
        }
        self
    }

    /// Both directions go down at `at` and come back `duration` later.
    pub fn outage(self, at: Duration, duration: Duration) -> Self {
        self.at((at, LinkChange::Down))
            .at((at + duration, LinkChange::Up))
    }

    /// Changes the client → server direction.
    pub fn forward(mut self, f: impl FnOnce(&mut LinkConfig)) -> Self {
        f(&mut self.forward);
        self
    }

    /// Changes the server → client direction.
    pub fn reverse(mut self, f: impl FnOnce(&mut LinkConfig)) -> Self {
        f(&mut self.reverse);
        self
    }

    /// The configuration of both associations (default: [`AssociationConfig::default`]).
    pub fn association(mut self, config: AssociationConfig) -> Self {
        self.client = Some(config.clone());
        self.server = Some(config);
        self
    }

    /// The client's configuration only.
    pub fn client_config(mut self, config: AssociationConfig) -> Self {
        self.client = Some(config);
        self
    }

    /// The server's configuration only.
    pub fn server_config(mut self, config: AssociationConfig) -> Self {
        self.server = Some(config);
        self
    }

    /// Captures every packet into a pcap file ([`Sim::take_pcap`]).
    pub fn capture(mut self) -> Self {
        self.capture = true;
        self
    }

    /// Builds it: the client's INIT goes out at the first step.
    pub fn build(self) -> Sim<Association> {
        let mut sim = Sim::new(self.seed);
        if self.capture {
            sim.enable_capture();
        }
        let now = sim.now();
        let (client_seed, server_seed) = (sim.next_seed(), sim.next_seed());
        let client = Association::connect(
            now,
            self.client.unwrap_or_default(),
            Ports::default(),
            client_seed,
            Some(Sim::SERVER.address()),
        );
        let server = Association::accept(
            now,
            self.server.unwrap_or_default(),
            Ports::default(),
            server_seed,
            Some(Sim::CLIENT.address()),
        );
        let c = sim.add_node(client);
        let s = sim.add_node(server);
        sim.connect(c, s, self.forward, self.reverse);
        sim
    }
}
