//! The receive side: which TSNs arrived (and the SACKs that say so), and the reassembly of
//! fragments into messages the application pulls.
// Wired into the association by the data-transfer integration; until then only the tests use it.
#![allow(dead_code)]

pub(crate) mod reassembly;
pub(crate) mod tracker;
