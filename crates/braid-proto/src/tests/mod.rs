//! Scenario tests on the two-party harness, in virtual time. Each file covers one part of
//! RFC 9260; the comments tell each exchange as a story (`A -> INIT -> (lost) Z`).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod clock;
mod collisions;
mod data;
mod encapsulation;
mod handshake;
mod heartbeat;
mod multihome;
mod ootb;
mod random;
mod review;
mod shutdown;
mod transfer;
mod unknown;
mod vtag;
