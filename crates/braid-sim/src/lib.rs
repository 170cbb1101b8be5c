//! # braid-sim — a deterministic network simulator for Braid
//!
//! Sans-IO nodes (anything implementing [`Node`], such as a
//! [`braid_proto::Association`]) joined by simulated links, run in virtual time: no threads,
//! no sleeps, no real clock. The event loop jumps straight to the next thing that happens —
//! a packet arriving or a node's `poll_timeout` deadline — so a minute of network time takes
//! milliseconds, and a run is a pure function of its master seed.
//!
//! Each direction of a link ([`LinkConfig`]) has its own generator, seeded from the master
//! seed, and models one-way delay and jitter (FIFO unless reordering is on), a bottleneck
//! with a bounded queue (tail drop), random and Gilbert–Elliott burst loss, duplication,
//! reordering, bit corruption, an MTU, and scheduled changes (down, up, new delay). Every
//! packet sent can be captured to pcap with simulated timestamps, its fate in [`Sim::trace`].
//! Two nodes may be joined by several independent paths ([`Sim::connect_paths`]), each a
//! pair of links; a node picks the path of each packet ([`Outgoing::path`]).
//! [`check`] has invariant checks for data tests, and checks that run after every step
//! ([`Sim::add_check`]): the first broken invariant stops the run with
//! [`SimError::Invariant`].
//!
//! ```
//! use braid_proto::State;
//! use braid_sim::{ms, Sim};
//!
//! let mut sim = Sim::builder().seed(1).delay(ms(50)).build();
//! let deadline = sim.now() + ms(1000);
//! let up = sim
//!     .run_until_cond(deadline, |s| {
//!         s.node(Sim::CLIENT).is_some_and(|a| a.state() == State::Established)
//!     })
//!     .expect("no livelock");
//! assert!(up);
//! assert_eq!(sim.elapsed(), ms(200)); // two round trips of 100 ms
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod check;
mod link;
mod node;
mod sim;
pub mod soak;

pub use check::Check;
pub use link::{DropReason, GilbertElliott, LinkChange, LinkConfig, LinkStats};
pub use node::{Node, Outgoing};
pub use sim::{Fate, LinkId, NodeId, Sim, SimBuilder, SimError, TraceEntry, Unroutable};

use std::time::Duration;

/// Milliseconds as a [`Duration`].
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seconds as a [`Duration`].
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
