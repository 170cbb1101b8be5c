//! Packet parsing never panics, and parse → emit → parse is stable.
#![no_main]

use braid_wire::{fuzzing, Bytes, ChecksumPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::check_packet(Bytes::copy_from_slice(data), ChecksumPolicy::Unchecked);
});
