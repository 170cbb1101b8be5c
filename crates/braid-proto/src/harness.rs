//! A two-party test harness: two endpoints, A and Z, joined by a network in virtual time that
//! can drop, duplicate, delay, reorder and rewrite any packet.
//!
//! Tests read like stories: step by step with [`Pair::transmit`] / [`Pair::deliver`]
//! (`// A -> INIT -> (lost) Z`), or in bulk with [`Pair::run`] and a [`Network`] rule that
//! decides each packet's fate.

// Shared by every scenario file; not each uses every helper.
#![allow(dead_code)]

use core::time::Duration;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use braid_wire::chunk::chunk_type;
use braid_wire::{Bytes, ChecksumPolicy, Chunk, CommonHeader, EncodeChunk, Packet, PacketBuilder};

use crate::{AssociationConfig, AssociationHandle, Endpoint, EndpointConfig, Event, State};

/// One side of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Side {
    A,
    Z,
}

impl Side {
    pub(crate) fn other(self) -> Self {
        match self {
            Self::A => Self::Z,
            Self::Z => Self::A,
        }
    }
}

/// A packet one side sent.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) from: Side,
    pub(crate) bytes: Bytes,
}

impl Sent {
    pub(crate) fn packet(&self) -> Packet {
        Packet::parse(self.bytes.clone(), ChecksumPolicy::Unchecked).expect("harness packets parse")
    }

    pub(crate) fn header(&self) -> CommonHeader {
        *self.packet().header()
    }

    pub(crate) fn chunks(&self) -> Vec<Chunk> {
        self.packet()
            .chunks()
            .map(|c| c.expect("harness chunks parse"))
            .collect()
    }

    pub(crate) fn types(&self) -> Vec<u8> {
        self.packet().raw_chunks().map(|c| c.chunk_type).collect()
    }

    /// Whether the first chunk has this type.
    pub(crate) fn is(&self, t: u8) -> bool {
        self.types().first() == Some(&t)
    }
}

impl core::fmt::Display for Sent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?} -> {}", self.from, self.packet())
    }
}

/// What happens to a packet on the wire.
#[derive(Debug, Clone)]
pub(crate) enum Fate {
    Deliver,
    Drop,
    Duplicate,
    /// Deliver after this much extra delay (reordering).
    Delay(Duration),
    /// Deliver these bytes instead.
    Rewrite(Bytes),
}

/// Decides each packet's fate; gets the packet and how many packets of its first chunk's type
/// that side has sent so far (1 for the first).
pub(crate) type Network<'a> = dyn FnMut(&Sent, usize) -> Fate + 'a;

/// A network that delivers everything.
pub(crate) fn perfect(_: &Sent, _: usize) -> Fate {
    Fate::Deliver
}

/// Two endpoints and the wire between them.
pub(crate) struct Pair {
    pub(crate) now: Instant,
    pub(crate) a: Endpoint,
    pub(crate) z: Endpoint,
    pub(crate) a_addr: SocketAddr,
    pub(crate) z_addr: SocketAddr,
    /// One-way delay of the wire.
    pub(crate) delay: Duration,
    /// Packets in flight: (arrival, sequence number for a stable order) → (to, bytes).
    in_flight: BTreeMap<(Instant, u64), (Side, Bytes)>,
    seq: u64,
    /// Every packet sent, in order, for assertions and for failure messages.
    pub(crate) log: Vec<(Duration, Sent)>,
    /// Per side and first-chunk type: how many were sent.
    counts: BTreeMap<(Side, u8), usize>,
    start: Instant,
    buf: Vec<u8>,
}

/// The SCTP port both endpoints use.
pub(crate) const PORT: u16 = 5000;

impl Pair {
    /// Two accepting endpoints with default configuration, 10 ms apart.
    pub(crate) fn new() -> Self {
        Self::with_config(EndpointConfig::default(), EndpointConfig::default())
    }

    pub(crate) fn with_config(mut a: EndpointConfig, mut z: EndpointConfig) -> Self {
        let start = Instant::now();
        a.port = PORT;
        z.port = PORT;
        if a.rng_seed == z.rng_seed {
            a.rng_seed = 1;
            z.rng_seed = 2;
        }
        Self {
            now: start,
            a: Endpoint::new(start, a),
            z: Endpoint::new(start, z),
            a_addr: "192.0.2.1:9899".parse().expect("address"),
            z_addr: "192.0.2.2:9899".parse().expect("address"),
            delay: Duration::from_millis(10),
            in_flight: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
            counts: BTreeMap::new(),
            start,
            buf: Vec::new(),
        }
    }

    pub(crate) fn ep(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::A => &mut self.a,
            Side::Z => &mut self.z,
        }
    }

    pub(crate) fn addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::A => self.a_addr,
            Side::Z => self.z_addr,
        }
    }

    /// `side` starts an association to the other side.
    pub(crate) fn connect(&mut self, side: Side) -> AssociationHandle {
        let (now, remote) = (self.now, self.addr(side.other()));
        self.ep(side)
            .connect(now, remote, PORT, None)
            .expect("connect")
    }

    pub(crate) fn connect_with(
        &mut self,
        side: Side,
        config: AssociationConfig,
    ) -> AssociationHandle {
        let (now, remote) = (self.now, self.addr(side.other()));
        self.ep(side)
            .connect(now, remote, PORT, Some(config))
            .expect("connect")
    }

    /// The one association a side has (panics if it has none or several).
    pub(crate) fn handle(&self, side: Side) -> AssociationHandle {
        let ep = match side {
            Side::A => &self.a,
            Side::Z => &self.z,
        };
        let handles: Vec<_> = (0..64)
            .map(AssociationHandle)
            .filter(|h| ep.association(*h).is_some())
            .collect();
        assert_eq!(
            handles.len(),
            1,
            "{side:?} has {} associations",
            handles.len()
        );
        handles[0]
    }

    /// The one association a side has.
    pub(crate) fn assoc(&self, side: Side) -> &crate::Association {
        let h = self.handle(side);
        let ep = match side {
            Side::A => &self.a,
            Side::Z => &self.z,
        };
        ep.association(h).expect("association")
    }

    /// The one association a side has, mutably (for its commands).
    pub(crate) fn assoc_mut(&mut self, side: Side) -> &mut crate::Association {
        let h = self.handle(side);
        self.ep(side).association_mut(h).expect("association")
    }

    pub(crate) fn state(&self, side: Side) -> Option<State> {
        let ep = match side {
            Side::A => &self.a,
            Side::Z => &self.z,
        };
        (0..64)
            .map(AssociationHandle)
            .find_map(|h| ep.association(h))
            .map(|a| a.state())
    }

    /// Everything `side` wants to send now, not yet on the wire.
    pub(crate) fn transmit(&mut self, side: Side) -> Vec<Sent> {
        let mut out = Vec::new();
        loop {
            let now = self.now;
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let t = self.ep(side).poll_transmit(now, &mut buf);
            let bytes = t.map(|t| Bytes::copy_from_slice(&buf[buf.len() - t.len..]));
            self.buf = buf;
            let Some(bytes) = bytes else { break };
            let sent = Sent { from: side, bytes };
            let first = sent.types().first().copied().unwrap_or(0);
            *self.counts.entry((side, first)).or_default() += 1;
            self.log.push((self.now - self.start, sent.clone()));
            out.push(sent);
        }
        out
    }

    /// Everything `side` wants to send, which must be exactly one packet.
    pub(crate) fn transmit_one(&mut self, side: Side) -> Sent {
        let mut sent = self.transmit(side);
        assert_eq!(
            sent.len(),
            1,
            "{side:?} sent {}: {}",
            sent.len(),
            self.trace()
        );
        sent.remove(0)
    }

    /// Delivers a packet to the other side of its sender, now.
    pub(crate) fn deliver(&mut self, sent: &Sent) {
        self.deliver_bytes(sent.from.other(), sent.bytes.clone());
    }

    /// Delivers raw bytes to `to`, from the other side's address.
    pub(crate) fn deliver_bytes(&mut self, to: Side, bytes: Bytes) {
        let (now, from) = (self.now, self.addr(to.other()));
        self.ep(to).handle_datagram(now, from, bytes);
    }

    /// Moves virtual time forward by `d`, running the timers that come due on the way (in
    /// order). What they send stays queued for [`transmit`](Self::transmit).
    pub(crate) fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = [self.a.poll_timeout(), self.z.poll_timeout()]
            .into_iter()
            .flatten()
            .filter(|t| *t <= end)
            .min()
        {
            self.now = self.now.max(t);
            let now = self.now;
            self.a.handle_timeout(now);
            self.z.handle_timeout(now);
        }
        self.now = end;
    }

    /// Runs both sides over the network for `limit` of virtual time (or until nothing is in
    /// flight and no timer is due within it), every packet's fate decided by `net`.
    pub(crate) fn run(&mut self, limit: Duration, net: &mut Network<'_>) {
        let end = self.now + limit;
        loop {
            for side in [Side::A, Side::Z] {
                for sent in self.transmit(side) {
                    let first = sent.types().first().copied().unwrap_or(0);
                    let n = self.counts.get(&(side, first)).copied().unwrap_or(0);
                    let to = side.other();
                    match net(&sent, n) {
                        Fate::Deliver => self.schedule(to, sent.bytes, Duration::ZERO),
                        Fate::Drop => {}
                        Fate::Duplicate => {
                            self.schedule(to, sent.bytes.clone(), Duration::ZERO);
                            self.schedule(to, sent.bytes, Duration::from_micros(1));
                        }
                        Fate::Delay(extra) => self.schedule(to, sent.bytes, extra),
                        Fate::Rewrite(bytes) => self.schedule(to, bytes, Duration::ZERO),
                    }
                }
            }
            let arrival = self.in_flight.keys().next().map(|k| k.0);
            let timer = [self.a.poll_timeout(), self.z.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = [arrival, timer].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    while let Some(entry) = self.in_flight.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let (to, bytes) = entry.remove();
                        self.deliver_bytes(to, bytes);
                    }
                    self.a.handle_timeout(now);
                    self.z.handle_timeout(now);
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
    }

    fn schedule(&mut self, to: Side, bytes: Bytes, extra: Duration) {
        self.seq += 1;
        self.in_flight
            .insert((self.now + self.delay + extra, self.seq), (to, bytes));
    }

    /// All events of a side so far, drained.
    pub(crate) fn events(&mut self, side: Side) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some((_, e)) = self.ep(side).poll_event() {
            out.push(e);
        }
        out
    }

    /// How many packets whose first chunk has type `t` a side has sent.
    pub(crate) fn sent_count(&self, side: Side, t: u8) -> usize {
        self.counts.get(&(side, t)).copied().unwrap_or(0)
    }

    /// The whole exchange so far, one packet per line, for failure messages.
    pub(crate) fn trace(&self) -> String {
        self.log
            .iter()
            .map(|(t, s)| format!("\n  {:>10.3?} {s}", t))
            .collect()
    }

    /// Connects A to Z over a perfect network and checks both are ESTABLISHED.
    pub(crate) fn established() -> Self {
        Self::established_with(EndpointConfig::default(), EndpointConfig::default())
    }

    /// The same with these configurations; events drained.
    pub(crate) fn established_with(a: EndpointConfig, z: EndpointConfig) -> Self {
        let mut pair = Self::with_config(a, z);
        pair.connect(Side::A);
        pair.run(Duration::from_secs(1), &mut perfect);
        assert_eq!(
            pair.state(Side::A),
            Some(State::Established),
            "{}",
            pair.trace()
        );
        assert_eq!(
            pair.state(Side::Z),
            Some(State::Established),
            "{}",
            pair.trace()
        );
        pair.events(Side::A);
        pair.events(Side::Z);
        pair
    }

    /// Every message `side` can read now.
    pub(crate) fn read_all(&mut self, side: Side) -> Vec<crate::Message> {
        let mut out = Vec::new();
        while let Some(m) = self.assoc_mut(side).read_message() {
            out.push(m);
        }
        out
    }
}

/// Builds a packet from `side`'s point of view: its port to the peer's, with `tag`.
pub(crate) fn packet(tag: u32, chunks: &[Chunk]) -> Bytes {
    packet_ports(PORT, PORT, tag, chunks)
}

pub(crate) fn packet_ports(src: u16, dst: u16, tag: u32, chunks: &[Chunk]) -> Bytes {
    let mut buf = Vec::new();
    let header = CommonHeader {
        src_port: src,
        dst_port: dst,
        verification_tag: tag,
        checksum: 0,
    };
    let mut b = PacketBuilder::new(&mut buf, header, 65535);
    for c in chunks {
        b.push(c).expect("test chunk fits");
    }
    let len = b.finish_crc32c();
    buf.truncate(len);
    Bytes::from(buf)
}

/// A name for a chunk type, for assertion messages.
pub(crate) fn name(t: u8) -> &'static str {
    chunk_type::name(t).unwrap_or("?")
}

/// The first chunk of a type in a packet.
pub(crate) fn find<T>(sent: &Sent, f: impl Fn(&Chunk) -> Option<T>) -> Option<T> {
    sent.chunks().iter().find_map(f)
}

/// Whether a chunk value encodes (sanity for hand-built chunks).
pub(crate) fn encodes(c: &Chunk) -> bool {
    c.padded_len() > 0
}

/// A message whose content says which one it is (stream and sequence), for data tests.
pub(crate) fn payload(stream: u16, seq: u32, len: usize) -> Bytes {
    (0..len)
        .map(|i| ((seq as usize * 31 + i + stream as usize) % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

/// An endpoint configuration for data tests: messages up to `max_message`, a window of at
/// least 1 MiB, a 64 MiB send buffer.
pub(crate) fn data_config(max_message: usize) -> EndpointConfig {
    EndpointConfig {
        association: AssociationConfig {
            max_message_size: max_message,
            receive_window: max_message.max(1024 * 1024) as u32,
            send_buffer_size: 64 * 1024 * 1024,
            ..AssociationConfig::default()
        },
        ..EndpointConfig::default()
    }
}
