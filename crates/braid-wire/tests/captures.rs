//! Real traffic from other SCTP stacks (../shared/data/captures, see its README): every packet
//! of the CRC32c-valid captures parses with a valid checksum, every chunk decodes and survives
//! parse → emit → parse, and the chunk counts match what the README says. The Adler-32 and
//! zero-checksum captures are rejected under the strict policy and accepted where zero
//! checksums are allowed.

mod common;

use std::collections::BTreeMap;
use std::fs;

use braid_wire::pcap::{sctp_payload, PcapReader};
use braid_wire::{fuzzing, Bytes, ChecksumPolicy, Chunk, Packet, WireError};
use common::shared_data;

/// The SCTP packets of a capture file.
fn sctp_packets(name: &str) -> Vec<Bytes> {
    let data = fs::read(shared_data(&format!("captures/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut reader = PcapReader::new(&data[..]).unwrap();
    let link = reader.link_type();
    let mut out = Vec::new();
    while let Some(rec) = reader.next_record().unwrap() {
        let frame =
            sctp_payload(link, &rec.data).unwrap_or_else(|| panic!("{name}: record without SCTP"));
        out.push(frame.sctp);
    }
    out
}

/// Parses every packet under `policy`, decodes every chunk, and counts chunk types by name.
fn census(name: &str, policy: ChecksumPolicy) -> (usize, BTreeMap<&'static str, usize>) {
    let packets = sctp_packets(name);
    let mut counts = BTreeMap::new();
    for (i, bytes) in packets.iter().enumerate() {
        let p = Packet::parse(bytes.clone(), policy)
            .unwrap_or_else(|e| panic!("{name} packet {}: {e}", i + 1));
        for chunk in p.chunks() {
            let chunk = chunk.unwrap_or_else(|e| panic!("{name} packet {}: {e}", i + 1));
            *counts.entry(chunk.name()).or_default() += 1;
        }
        assert!(
            fuzzing::check_packet(bytes.clone(), policy),
            "{name} packet {}",
            i + 1
        );
    }
    (packets.len(), counts)
}

#[test]
fn sctp_test_cap() {
    let (n, c) = census("sctp-test.cap", ChecksumPolicy::Crc32c);
    assert_eq!(n, 74);
    assert_eq!(c["DATA"], 120);
    assert_eq!(c["SACK"], 49);
    for handshake in ["INIT", "INIT-ACK", "COOKIE-ECHO", "COOKIE-ACK"] {
        assert!(c.contains_key(handshake), "{handshake} missing: {c:?}");
    }
}

#[test]
fn sctp_addip_cap() {
    let (n, c) = census("sctp-addip.cap", ChecksumPolicy::Crc32c);
    assert_eq!(n, 38);
    for kind in ["ASCONF", "ASCONF-ACK", "DATA", "SACK", "SHUTDOWN"] {
        assert!(c.contains_key(kind), "{kind} missing: {c:?}");
    }
    // The ASCONF chunks carry an address parameter first, as RFC 5061 §3.1.1 requires.
    for bytes in sctp_packets("sctp-addip.cap") {
        for chunk in Packet::parse(bytes, ChecksumPolicy::Crc32c)
            .unwrap()
            .chunks()
        {
            if let Ok(Chunk::Asconf(a)) = chunk {
                assert!(matches!(a.address().map(|p| p.param_type()), Some(5 | 6)));
            }
        }
    }
}

#[test]
fn sctp_www_cap() {
    let (n, c) = census("sctp-www.cap", ChecksumPolicy::Crc32c);
    assert_eq!(n, 84);
    assert!(c["INIT"] >= 2, "retransmitted INITs: {c:?}");
    assert!(
        c.contains_key("DATA") && c.contains_key("SHUTDOWN-COMPLETE"),
        "{c:?}"
    );
    // Fragmented DATA: some DATA chunk lacks the B or E bit.
    let fragmented = sctp_packets("sctp-www.cap").into_iter().any(|b| {
        Packet::parse(b, ChecksumPolicy::Crc32c)
            .unwrap()
            .chunks()
            .any(|c| matches!(c, Ok(Chunk::Data(d)) if !(d.beginning && d.ending)))
    });
    assert!(fragmented);
}

#[test]
fn sctp_init_collision_cap() {
    let (n, c) = census("sctp_init_collision.cap", ChecksumPolicy::Crc32c);
    assert_eq!(n, 34);
    for kind in ["INIT", "ABORT", "DATA", "SHUTDOWN"] {
        assert!(c.contains_key(kind), "{kind} missing: {c:?}");
    }
}

#[test]
fn adler32_capture_is_rejected_strictly() {
    let packets = sctp_packets("sctp.cap");
    assert_eq!(packets.len(), 4);
    for b in &packets {
        for policy in [ChecksumPolicy::Crc32c, ChecksumPolicy::ZeroAllowed] {
            assert!(matches!(
                Packet::parse(b.clone(), policy),
                Err(WireError::BadChecksum { .. })
            ));
        }
    }
    let (_, c) = census("sctp.cap", ChecksumPolicy::Unchecked);
    for kind in ["DATA", "SACK", "HEARTBEAT", "HEARTBEAT-ACK"] {
        assert_eq!(c.get(kind), Some(&1), "{c:?}");
    }
}

#[test]
fn zero_checksum_capture() {
    let packets = sctp_packets("sctp001.pcap");
    assert_eq!(packets.len(), 12);
    for b in &packets {
        assert_eq!(&b[8..12], &[0, 0, 0, 0]);
        assert!(matches!(
            Packet::parse(b.clone(), ChecksumPolicy::Crc32c),
            Err(WireError::BadChecksum { .. })
        ));
    }
    census("sctp001.pcap", ChecksumPolicy::ZeroAllowed);
}

#[test]
fn raw_heartbeat_packet() {
    let bytes = Bytes::from(fs::read(shared_data("captures/sctpHeartbeat.raw")).unwrap());
    assert_eq!(bytes.len(), 64);
    assert_eq!(&bytes[8..12], &[0xf8, 0x02, 0xa0, 0xca]);
    let p = Packet::parse(bytes.clone(), ChecksumPolicy::Crc32c).unwrap();
    assert_eq!(p.header().checksum, 0xCAA0_02F8);
    assert!(matches!(p.chunks().next(), Some(Ok(Chunk::Heartbeat(_)))));
    assert!(fuzzing::check_packet(bytes, ChecksumPolicy::Crc32c));
}

#[test]
fn raw_init_packet_with_zero_checksum() {
    let bytes = Bytes::from(fs::read(shared_data("captures/sctpInit.raw")).unwrap());
    assert_eq!(bytes.len(), 72);
    assert!(matches!(
        Packet::parse(bytes.clone(), ChecksumPolicy::Crc32c),
        Err(WireError::BadChecksum { .. })
    ));
    let p = Packet::parse(bytes, ChecksumPolicy::ZeroAllowed).unwrap();
    assert_eq!(p.chunk_count(), 1);
    let Some(Ok(Chunk::Init(init))) = p.chunks().next() else {
        panic!("not an INIT")
    };
    assert_ne!(init.initiate_tag, 0);
    assert_eq!(
        p.header().verification_tag,
        0,
        "INIT travels with tag 0 (RFC 9260 §8.5.1)"
    );
}
