//! # braid-proto — Braid's sans-IO SCTP core
//!
//! A pure state machine: packets and the current time go in; packets, events and timer
//! deadlines come out. It never reads a clock, never touches a socket and never draws
//! operating-system randomness (a seed in the configuration drives a deterministic
//! generator), so the same inputs always give the same outputs and every test and
//! simulation replays exactly from its seed.
//!
//! ## The contract
//!
//! [`Association`] and [`Endpoint`] have four kinds of method:
//!
//! * **getters** (`&self`): `state`, `stats`, `negotiated`, ...
//! * **inputs** (`handle_*`): `handle_packet` / `handle_datagram` for a received packet,
//!   `handle_timeout` when the deadline from `poll_timeout` has passed;
//! * **commands** (verbs): `connect`, `shutdown`, `abort`;
//! * **outputs** (`poll_*`).
//!
//! After **any** input or command, drain the outputs in this order:
//! 1. `poll_transmit(now, &mut buf)` until it returns `None` — each call appends one packet to
//!    your buffer and says where it goes, so the hot path allocates nothing per packet;
//! 2. `poll_timeout()` — the next instant at which to call `handle_timeout`;
//! 3. `poll_event()` until `None`.
//!
//! A WebRTC user, who already has one DTLS transport per peer, drives one [`Association`]
//! directly ([`Association::connect`] on one side, [`Association::accept`] — or `connect` on
//! both, which RFC 9260 §5.2.1 resolves — on the other). When Braid owns a UDP socket, an
//! [`Endpoint`] sits in front: it answers INITs statelessly with a signed cookie and creates
//! associations only for valid COOKIE ECHOs.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use braid_proto::{Association, AssociationConfig, Event, PathId, Ports, State};
//!
//! let start = Instant::now();
//! let mut client = Association::connect(start, AssociationConfig::default(), Ports::default(), 1, None);
//! let mut server = Association::accept(start, AssociationConfig::default(), Ports::default(), 2, None);
//!
//! // A loss-free, zero-delay "network": move packets until neither side has any to send.
//! let mut buf = Vec::new();
//! let now = start + Duration::from_millis(1);
//! fn pump(from: &mut Association, to: &mut Association, now: Instant, buf: &mut Vec<u8>) -> bool {
//!     let mut moved = false;
//!     while let Some(t) = from.poll_transmit(now, buf) {
//!         let packet = buf.split_off(buf.len() - t.len);
//!         to.handle_packet(now, PathId(0), packet.into());
//!         moved = true;
//!     }
//!     moved
//! }
//! while pump(&mut client, &mut server, now, &mut buf) | pump(&mut server, &mut client, now, &mut buf) {}
//! assert_eq!(client.state(), State::Established);
//! assert_eq!(server.state(), State::Established);
//! assert_eq!(client.poll_event(), Some(Event::Connected));
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)
)]

mod association;
mod config;
mod cookie;
mod data;
mod endpoint;
mod event;
mod handshake;
mod ids;
mod ootb;
mod path;
mod rto;
mod rx;
mod tx;

pub use association::{
    AddPathError, Association, PathStats, Ports, Side, State, Stats, Transmit, MAX_CONTROL_QUEUE,
};
pub use config::{AssociationConfig, EndpointConfig, Extensions, MAX_TIMER};
pub use cookie::Negotiated;
pub use data::{Message, SendOptions};
pub use endpoint::{ConnectError, Endpoint, EndpointStats, EndpointTransmit};
pub use event::{CloseReason, Event};
pub use ids::{AssociationHandle, HandleMap, HandleSet, IdHasher, PathId, Ppid, StreamId};
pub use path::PathState;
pub use rto::RtoEstimator;
pub use tx::scheduler::Scheduler;
pub use tx::send_queue::SendError;

#[cfg(test)]
pub(crate) mod harness;
#[cfg(test)]
mod tests;
