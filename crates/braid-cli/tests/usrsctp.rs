//! Interoperability with usrsctp (Debian's `libusrsctp-dev`), a stack we did not write.
//!
//! `interop/usrsctp/peer.c` implements the same server/client contract as `braid server` and
//! `braid client` (`docs/peer-contract.md`) on usrsctp over UDP. Each test runs Braid against
//! it in both roles. Without the library the tests print that they were skipped; with
//! `CI=true` a missing library fails them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{run_pair, Run};

fn braid() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_braid"))
}

/// Builds the usrsctp peer once; `None` (the test is skipped) when the library is missing.
fn usrsctp() -> Option<&'static Path> {
    static PEER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = PEER.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/usrsctp/peer.c");
        // One binary per test process: two test runs at once must not write the same file.
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("usrsctp-peer-{}", std::process::id()));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let result = Command::new(&cc)
            .args(["-O2", "-Wall", "-o"])
            .arg(&out)
            .arg(&src)
            .args(["-lusrsctp", "-lpthread"])
            .output();
        match result {
            Ok(o) if o.status.success() => Ok(out),
            Ok(o) => Err(format!(
                "{cc} could not build {} (is libusrsctp-dev installed?):\n{}",
                src.display(),
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!("cannot run {cc}: {e}")),
        }
    });
    match built {
        Ok(p) => Some(p.as_path()),
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("usrsctp interop is required in CI: {why}");
            }
            eprintln!("SKIPPED: usrsctp interop test: {why}");
            None
        }
    }
}

/// Runs `run` with Braid as client against usrsctp as server, then the other way round.
fn both_roles(run: &Run) {
    let Some(peer) = usrsctp() else { return };
    eprintln!("--- braid client -> usrsctp server: {run:?}");
    run_pair(peer, braid(), run).assert_clean(run);
    eprintln!("--- usrsctp client -> braid server: {run:?}");
    run_pair(braid(), peer, run).assert_clean(run);
}

#[test]
fn handshake_and_one_message() {
    both_roles(&Run::new(1, 1, 100));
}

#[test]
fn one_stream_ordered_echo() {
    both_roles(&Run::new(1, 1000, 1200));
}

#[test]
fn sixteen_streams_ordered_echo() {
    both_roles(&Run::new(16, 2000, 1000));
}

#[test]
fn sixteen_streams_unordered_echo() {
    both_roles(&Run::new(16, 2000, 1000).unordered());
}

#[test]
fn one_byte_messages() {
    both_roles(&Run::new(4, 1000, 1));
}

#[test]
fn fragmented_messages_64k_and_256k() {
    both_roles(&Run::new(2, 100, 65536));
    both_roles(&Run::new(3, 30, 256 * 1024).unordered().mtu(1500));
}

/// The client shuts down: in one role Braid starts the SHUTDOWN, in the other usrsctp does;
/// the discard mode waits for the SACK of the last byte first.
#[test]
fn graceful_shutdown_both_ways_after_discard() {
    both_roles(&Run::new(1, 500, 8000).discard());
}

/// One side aborts mid-transfer; the other must see the ABORT and report a non-graceful end.
#[test]
fn abort_both_ways() {
    let Some(peer) = usrsctp() else { return };
    let cases = [
        (peer, braid(), "braid client aborts", true),
        (braid(), peer, "usrsctp client aborts", true),
        (peer, braid(), "usrsctp server aborts", false),
        (braid(), peer, "braid server aborts", false),
    ];
    for (server, client, who, client_aborts) in cases {
        let mut run = Run::new(2, 5000, 1000);
        let abort = vec!["--abort-after".to_string(), "200".to_string()];
        if client_aborts {
            run.client_extra = abort;
        } else {
            run.server_extra = abort;
        }
        let out = run_pair(server, client, &run);
        for (side, done, status) in [
            ("client", &out.client_done, out.client_status),
            ("server", &out.server_done, out.server_status),
        ] {
            assert_eq!(done["graceful"], false, "{who}: {side}: {done}");
            assert!(!status.success(), "{who}: the {side} must fail");
        }
        // Nothing past the abort point was delivered.
        let got = out.server_done["messages"].as_u64().expect("messages");
        assert!(got <= 200, "{who}: {}", out.server_done);
    }
}

/// 100 MB in each direction: Braid sends to usrsctp, then usrsctp sends to Braid.
#[test]
fn bulk_100_megabytes() {
    let run = Run::new(1, 1600, 65536).discard().mtu(1500);
    assert!(run.count * run.size as u64 >= 100_000_000);
    both_roles(&run);
}
