//! An `sctp-proto` endpoint (the str0m / webrtc-rs sans-IO SCTP core) with at most one
//! association, as a simulator node. Shared by `tests/interop_sctp_proto.rs` and
//! `examples/goodput.rs` (the latter includes this file with `#[path]`); each adds the
//! send and read methods its workload needs.
//!
//! `sctp-proto` wants a peer `SocketAddr`: it gets the peer node's fake address.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use braid_sim::{Node, Outgoing};
use bytes::Bytes;
use sctp_proto::{
    ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Payload, ServerConfig, TransportConfig,
};

/// The settings both simulations share: SCTP ports 5000/5000, RTO.Initial and RTO.Min 1 s
/// (RFC 9260 §16), RTO.Max 60 s, 1024 streams each way.
pub fn base_transport() -> TransportConfig {
    TransportConfig::default()
        .with_local_port(5000)
        .with_remote_port(5000)
        .with_rto_initial_ms(1000)
        .with_rto_min_ms(1000)
        .with_rto_max_ms(60_000)
        .with_max_num_inbound_streams(1024)
        .with_max_num_outbound_streams(1024)
}

/// An `sctp-proto` node.
pub struct ProtoNode {
    pub endpoint: Endpoint,
    pub assoc: Option<sctp_proto::Association>,
    /// The peer's fake address.
    remote: SocketAddr,
    /// Packets `sctp-proto` produced and the simulator has not taken yet (one `Transmit`
    /// can carry several).
    out: VecDeque<Bytes>,
    /// Every application event, in order (unless `keep_events` is off).
    pub events: Vec<sctp_proto::Event>,
    keep_events: bool,
    /// Streams opened for sending.
    pub opened: HashSet<u16>,
}

/// `sctp-proto` sizes packets as `max_payload` + 12 (common header) + 16 (DATA header).
fn endpoint(server: bool, max_payload: u32, transport: &Arc<TransportConfig>) -> Endpoint {
    let mut config = EndpointConfig::new();
    config.max_payload_size(max_payload);
    let server_config = server.then(|| {
        let mut s = ServerConfig::new();
        s.transport = Arc::clone(transport);
        Arc::new(s)
    });
    Endpoint::new(Arc::new(config), server_config)
}

impl ProtoNode {
    /// A client that has sent its INIT to `remote`.
    pub fn client(remote: SocketAddr, max_payload: u32, transport: TransportConfig) -> Self {
        let transport = Arc::new(transport);
        let mut endpoint = endpoint(false, max_payload, &transport);
        let mut config = ClientConfig::new();
        config.transport = transport;
        let (_, assoc) = endpoint.connect(config, remote).expect("connect");
        Self::new(endpoint, Some(assoc), remote)
    }

    /// A server waiting for `remote`'s INIT.
    pub fn server(remote: SocketAddr, max_payload: u32, transport: TransportConfig) -> Self {
        Self::new(
            endpoint(true, max_payload, &Arc::new(transport)),
            None,
            remote,
        )
    }

    fn new(endpoint: Endpoint, assoc: Option<sctp_proto::Association>, remote: SocketAddr) -> Self {
        Self {
            endpoint,
            assoc,
            remote,
            out: VecDeque::new(),
            events: Vec::new(),
            keep_events: true,
            opened: HashSet::new(),
        }
    }

    /// Drops application events instead of keeping them (long runs).
    pub fn without_events(mut self) -> Self {
        self.keep_events = false;
        self
    }

    pub fn assoc(&mut self) -> &mut sctp_proto::Association {
        self.assoc.as_mut().expect("an association")
    }

    /// Collects application events. Endpoint events (`Drained`) are not fed back to the
    /// endpoint: `sctp-proto` emits `Drained` as soon as `shutdown()` is called, and the
    /// endpoint would then forget the association and drop the peer's SHUTDOWN ACK.
    fn drain_events(&mut self) {
        if let Some(a) = self.assoc.as_mut() {
            while let Some(e) = a.poll() {
                if self.keep_events {
                    self.events.push(e);
                }
            }
            while a.poll_endpoint_event().is_some() {}
        }
    }

    pub fn established(&self) -> bool {
        self.assoc
            .as_ref()
            .is_some_and(|a| !a.is_handshaking() && !a.is_closed())
    }

    pub fn closed(&self) -> bool {
        self.assoc.as_ref().is_some_and(|a| a.is_closed())
    }
}

impl Node for ProtoNode {
    fn handle_packet(&mut self, now: Instant, _path: usize, packet: Bytes) {
        match self.endpoint.handle(now, self.remote, None, None, packet) {
            // One association per node: a second one (a peer restart) is not expected.
            Some((_, DatagramEvent::NewAssociation(a))) if self.assoc.is_none() => {
                self.assoc = Some(a);
            }
            Some((_, DatagramEvent::AssociationEvent(e))) => {
                if let Some(a) = self.assoc.as_mut() {
                    a.handle_event(e);
                }
            }
            Some((_, DatagramEvent::NewAssociation(_))) | None => {}
        }
        self.drain_events();
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(a) = self.assoc.as_mut() {
            a.handle_timeout(now);
        }
        self.drain_events();
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        if self.out.is_empty() {
            while let Some(t) = self.endpoint.poll_transmit() {
                if let Payload::RawEncode(v) = t.payload {
                    self.out.extend(v);
                }
            }
            if let Some(a) = self.assoc.as_mut() {
                if let Some(t) = a.poll_transmit(now) {
                    if let Payload::RawEncode(v) = t.payload {
                        self.out.extend(v);
                    }
                }
            }
            self.drain_events();
        }
        let p = self.out.pop_front()?;
        buf.extend_from_slice(&p);
        // One path: everything goes out on path 0.
        Some(Outgoing {
            path: 0,
            len: p.len(),
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.assoc
            .as_ref()
            .and_then(sctp_proto::Association::poll_timeout)
    }
}
