//! A `dcsctp` socket (WebRTC's SCTP, the Rust port, crates.io `dcsctp`) as a simulator
//! node. Shared by `tests/interop_dcsctp.rs` and `examples/goodput.rs` (the latter includes
//! this file with `#[path]`).
//!
//! dcsctp is sans-IO: packets go in with `handle_input`, time with `advance_time`, and
//! everything comes out as [`SocketEvent`]s, packets to send included (`SendPacket`). Its
//! clock ([`SocketTime`]) counts from zero; the node maps simulated `Instant`s onto it from
//! the simulation's epoch.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use braid_sim::{Node, Outgoing};
use bytes::Bytes;
use dcsctp::api::{
    DcSctpSocket, Options, PpId, SendError, SendOptions, SocketEvent, SocketState, SocketTime,
    StreamId,
};

/// One dcsctp socket (one association at most) as a simulator node.
pub struct DcNode {
    /// The socket.
    pub socket: Box<dyn DcSctpSocket>,
    /// The simulated instant that is dcsctp's time zero.
    epoch: Instant,
    /// Packets dcsctp produced that the simulator has not taken yet.
    out: VecDeque<Vec<u8>>,
    /// Every application event except `SendPacket` and the buffered-amount / lifecycle
    /// notifications, in order.
    pub events: Vec<SocketEvent>,
}

/// dcsctp's options for these simulations: SCTP ports 5000/5000, packets of at most `mtu`
/// bytes (dcsctp's `mtu` is the SCTP packet size, common header included), RTO.Initial and
/// RTO.Min 1 s as RFC 9260 §16 (dcsctp defaults to 500 ms / 400 ms), everything else at
/// dcsctp's defaults.
pub fn options(mtu: usize) -> Options {
    Options {
        local_port: 5000,
        remote_port: 5000,
        mtu,
        rto_initial: Duration::from_secs(1),
        rto_min: Duration::from_secs(1),
        ..Options::default()
    }
}

impl DcNode {
    /// A socket created at `epoch` (the simulator's current time); with `connect` it sends
    /// its INIT at once, otherwise it waits for one (dcsctp answers INITs in CLOSED).
    pub fn new(name: &str, epoch: Instant, options: &Options, connect: bool) -> Self {
        let mut socket = dcsctp::new_socket(name, options);
        if connect {
            socket.connect();
        }
        let mut node = Self {
            socket,
            epoch,
            out: VecDeque::new(),
            events: Vec::new(),
        };
        node.drain();
        node
    }

    fn time(&self, now: Instant) -> SocketTime {
        SocketTime::zero() + now.saturating_duration_since(self.epoch)
    }

    /// Moves dcsctp's clock to `now` (firing due timers) and collects what it produced.
    pub fn advance(&mut self, now: Instant) {
        let t = self.time(now);
        self.socket.advance_time(t);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(e) = self.socket.poll_event() {
            match e {
                SocketEvent::SendPacket(p) => self.out.push_back(p),
                SocketEvent::OnBufferedAmountLow(_)
                | SocketEvent::OnTotalBufferedAmountLow()
                | SocketEvent::OnLifecycleMessageFullySent(_)
                | SocketEvent::OnLifecycleMessageMaybeExpired(_)
                | SocketEvent::OnLifecycleMessageExpired(_)
                | SocketEvent::OnLifecycleMessageDelivered(_)
                | SocketEvent::OnLifecycleEnd(_) => {}
                e => self.events.push(e),
            }
        }
    }

    /// Whether the socket is connected.
    pub fn established(&self) -> bool {
        self.socket.state() == SocketState::Connected
    }

    /// Whether the socket is closed.
    pub fn closed(&self) -> bool {
        self.socket.state() == SocketState::Closed
    }

    /// Queues one message at `now`; `Ok(false)` when the send queue is full.
    pub fn send(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        payload: &[u8],
        unordered: bool,
    ) -> Result<bool, SendError> {
        self.advance(now);
        let msg = dcsctp::api::Message::new(StreamId(stream), PpId(ppid), payload.to_vec());
        let opts = SendOptions {
            unordered,
            ..SendOptions::default()
        };
        let r = self.socket.send(msg, &opts);
        self.drain();
        match r {
            Ok(()) => Ok(true),
            Err(SendError::ResourceExhaustion) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Starts a graceful shutdown at `now`.
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        self.socket.shutdown();
        self.drain();
    }

    /// The next complete message: stream, PPID and payload.
    pub fn read(&mut self) -> Option<(u16, u32, Vec<u8>)> {
        self.socket
            .get_next_message()
            .map(|m| (m.stream_id.0, m.ppid.0, m.payload))
    }
}

impl Node for DcNode {
    fn handle_packet(&mut self, now: Instant, _path: usize, packet: Bytes) {
        let t = self.time(now);
        self.socket.advance_time(t);
        self.socket.handle_input(&packet);
        self.drain();
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    fn poll_transmit(&mut self, _now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        self.drain();
        let p = self.out.pop_front()?;
        buf.extend_from_slice(&p);
        // One path: everything goes out on path 0.
        Some(Outgoing {
            path: 0,
            len: p.len(),
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let t = self.socket.poll_timeout();
        (t != SocketTime::infinite_future()).then(|| self.epoch + (t - SocketTime::zero()))
    }
}
