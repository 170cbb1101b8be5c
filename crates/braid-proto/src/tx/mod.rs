//! The send side: the send queue and its stream scheduler, the data in flight with its
//! retransmissions, congestion control per path, and loss detection.
// Wired into the association by the data-transfer integration; until then only the tests use it.
#![allow(dead_code)]

pub(crate) mod congestion;
pub(crate) mod loss;
pub(crate) mod outstanding;
pub(crate) mod scheduler;
pub(crate) mod send_queue;
