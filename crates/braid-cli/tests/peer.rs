//! `braid server` and `braid client` against each other over loopback UDP: the contract of
//! `docs/peer-contract.md`, checked from the outside.

mod common;

use std::path::Path;

use common::{run_pair, Peer, Run};

fn braid() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_braid"))
}

#[test]
fn echo_ordered_on_16_streams() {
    let run = Run::new(16, 2000, 1200);
    run_pair(braid(), braid(), &run).assert_clean(&run);
}

#[test]
fn echo_unordered_large_messages_at_mtu_1500() {
    let run = Run::new(4, 40, 256 * 1024).unordered().mtu(1500);
    run_pair(braid(), braid(), &run).assert_clean(&run);
}

#[test]
fn one_byte_messages_ordered() {
    let run = Run::new(3, 3000, 1);
    run_pair(braid(), braid(), &run).assert_clean(&run);
}

#[test]
fn discard_64k_messages() {
    let run = Run::new(1, 300, 65536).discard();
    let out = run_pair(braid(), braid(), &run);
    out.assert_clean(&run);
    assert!(out.client_done["mbytes_per_s"].as_f64().unwrap_or(0.0) > 0.0);
}

#[test]
fn server_fails_when_the_count_is_wrong() {
    let mut run = Run::new(2, 100, 100);
    run.server_extra = vec!["--count".into(), "101".into()];
    run.server_count = false;
    let out = run_pair(braid(), braid(), &run);
    assert!(out.client_status.success());
    assert!(
        !out.server_status.success(),
        "server must fail: {}",
        out.server_done
    );
    assert_eq!(out.server_done["errors"], 1);
    assert!(
        out.server_errors[0].contains("expected 101"),
        "{:?}",
        out.server_errors
    );
}

#[test]
fn client_abort_reaches_the_server() {
    let mut run = Run::new(1, 1000, 1000);
    run.client_extra = vec!["--abort-after".into(), "100".into()];
    let out = run_pair(braid(), braid(), &run);
    assert_eq!(out.client_done["graceful"], false);
    assert_eq!(out.server_done["graceful"], false);
    assert!(!out.client_status.success() && !out.server_status.success());
}

#[test]
fn unordered_short_messages_are_a_usage_error() {
    let status = std::process::Command::new(braid())
        .args([
            "client",
            "--connect",
            "127.0.0.1:9",
            "--streams",
            "1",
            "--count",
            "1",
        ])
        .args(["--size", "4", "--unordered"])
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(2));
}

#[test]
fn capture_decodes_as_sctp() {
    let dir = std::env::temp_dir().join(format!("braid-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pcap = dir.join("client.pcap");
    let mut run = Run::new(2, 10, 300);
    run.client_extra = vec!["--pcap".into(), pcap.display().to_string()];
    run_pair(braid(), braid(), &run).assert_clean(&run);
    // The client's UDP port is in every packet; let `braid decode` find SCTP on it.
    let bytes = std::fs::read(&pcap).expect("pcap written");
    assert!(bytes.len() > 24, "empty capture");
    let out = std::process::Command::new(braid())
        .args(["decode", "--udp-any"])
        .arg(&pcap)
        .output()
        .expect("decode");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for chunk in [
        "INIT",
        "INIT-ACK",
        "COOKIE-ECHO",
        "COOKIE-ACK",
        "DATA",
        "SACK",
        "SHUTDOWN",
        "SHUTDOWN-ACK",
        "SHUTDOWN-COMPLETE",
    ] {
        assert!(text.contains(chunk), "no {chunk} in the trace:\n{text}");
    }
    // 10 messages out and 10 echoes back.
    assert!(text.matches("DATA").count() >= 20, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn listening_line_comes_first() {
    let mut srv = Peer::spawn(
        "server",
        braid(),
        &["server".into(), "--bind".into(), "127.0.0.1:0".into()],
    );
    let v = srv.wait_event("listening");
    assert_eq!(srv.seen.len(), 1);
    let addr: std::net::SocketAddr = v["addr"]
        .as_str()
        .expect("addr")
        .parse()
        .expect("socket address");
    assert_ne!(addr.port(), 0);
}

/// The README's main job, shortened: a real transfer over loopback, every byte delivered,
/// a graceful end and a summary.
#[test]
fn perf_moves_data_and_reports_it() {
    for extra in [
        &["--size", "65536"][..],
        &["--size", "1000", "--streams", "4", "--unordered"],
        &["--shards", "2"],
    ] {
        let out = std::process::Command::new(braid())
            .args(["perf", "--quiet", "--json", "--bytes", "20000000"])
            .args(extra)
            .output()
            .expect("run braid perf");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{extra:?}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = text
            .lines()
            .find(|l| l.contains("\"perf\""))
            .expect("a JSON summary");
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert_eq!(v["ok"], true, "{v}");
        assert!(v["bytes"].as_u64().unwrap_or(0) >= 20_000_000, "{v}");
        assert!(v["mbytes_per_s"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
        assert!(
            text.contains("all data verified delivered, graceful shutdown"),
            "{text}"
        );
    }
}

#[test]
fn perf_rtt_reports_both_round_trips() {
    let out = std::process::Command::new(braid())
        .args(["perf", "--rtt", "--pings", "200", "--json"])
        .output()
        .expect("run braid perf --rtt");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("\"rtt\""))
        .expect("a JSON summary");
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    for key in ["braid_p50_us", "braid_p99_us", "udp_p50_us", "udp_p99_us"] {
        assert!(v[key].as_f64().unwrap_or(0.0) > 0.0, "{key}: {v}");
    }
}
