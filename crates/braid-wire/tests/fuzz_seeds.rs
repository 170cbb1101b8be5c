//! usrsctp's fuzz seed corpus (../shared/data/fuzz-seeds/usrsctp), replayed through the packet
//! parser with the property the cargo-fuzz target checks: no panic, and parse → emit → parse
//! stable. Each file's first byte is a flag of usrsctp's own harness and is stripped; the
//! checksums are mostly wrong on purpose, so the policy is `Unchecked`.
//!
//! What follows the flag byte is, for most CONNECT seeds, a chunk sequence without a common
//! header (usrsctp's connect harness supplies the header itself), so every seed is fed twice:
//! as it stands, and behind a synthetic 12-byte common header. CI also runs the real fuzzer
//! briefly when a nightly toolchain is present (scripts/fuzz.sh), seeded the same way.

mod common;

use std::fs;

use braid_wire::{fuzzing, Bytes, ChecksumPolicy};
use common::shared_data;

/// Truncations of each input tried, at 4-byte steps from the start (bounded so the 64 KB seed
/// does not make the sweep quadratic).
const MAX_CUT: usize = 512;

#[test]
fn usrsctp_seed_corpus_replays_cleanly() {
    let mut files = 0;
    let mut well_framed = 0;
    let header = [0x13, 0x88, 0x13, 0x88, 0, 0, 0, 1, 0, 0, 0, 0];
    for dir in ["CORPUS_CONNECT", "CORPUS_LISTEN"] {
        let path = shared_data(&format!("fuzz-seeds/usrsctp/{dir}"));
        for entry in fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            let data = fs::read(entry.unwrap().path()).unwrap();
            let Some(body) = data.get(1..) else { continue };
            files += 1;
            let with_header = [&header[..], body].concat();
            for input in [body, &with_header[..]] {
                if fuzzing::check_packet(Bytes::copy_from_slice(input), ChecksumPolicy::Unchecked) {
                    well_framed += 1;
                }
                for cut in (0..input.len().min(MAX_CUT)).step_by(4) {
                    fuzzing::check_packet(
                        Bytes::copy_from_slice(&input[..cut]),
                        ChecksumPolicy::Unchecked,
                    );
                }
            }
        }
    }
    assert_eq!(files, 122, "the data README lists 120 + 2 seed files");
    println!("{files} seeds, {well_framed} inputs parsed as well-framed packets");
    // 64 at the time of writing: the rest are malformed on purpose (bad lengths, missing
    // padding, INIT bundled with other chunks).
    assert!(well_framed >= 60, "{well_framed}");
}
