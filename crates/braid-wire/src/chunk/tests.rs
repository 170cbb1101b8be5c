//! Round trips and malformed input for every chunk type, and packet-level checks.

use bytes::Bytes;
use proptest::prelude::*;

use super::strategy::{any_chunk, any_data, any_sack};
use super::*;
use crate::checksum::ChecksumPolicy;
use crate::packet::{CommonHeader, Packet};
use crate::serial::{Ssn, Tsn};
use crate::{PacketBuilder, UnrecognizedAction};

fn encode(chunk: &impl EncodeChunk) -> Vec<u8> {
    let mut out = Vec::new();
    chunk.write_to(&mut out).unwrap();
    out
}

/// Parses one encoded chunk (header included) back.
fn decode(bytes: &[u8]) -> crate::Result<Chunk> {
    let b = Bytes::copy_from_slice(bytes);
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    Chunk::parse(b[0], b[1], &b.slice(4..len))
}

fn header() -> CommonHeader {
    CommonHeader {
        src_port: 5000,
        dst_port: 5001,
        verification_tag: 0x0102_0304,
        checksum: 0,
    }
}

fn packet_of(chunks: &[&dyn Fn(&mut PacketBuilder<'_>)]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = PacketBuilder::new(&mut buf, header(), 65535);
    for c in chunks {
        c(&mut b);
    }
    let len = b.finish_crc32c();
    buf.truncate(len);
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// build → parse → same value, and parse → emit → same bytes, for every chunk type.
    #[test]
    fn every_chunk_round_trips(chunk in any_chunk()) {
        let bytes = encode(&chunk);
        prop_assert_eq!(bytes.len() % 4, 0);
        prop_assert_eq!(bytes.len(), chunk.padded_len());
        let parsed = decode(&bytes).unwrap();
        prop_assert_eq!(&parsed, &chunk);
        prop_assert_eq!(encode(&parsed), bytes);
    }

    /// The same inside a packet, with the CRC checked.
    #[test]
    fn packets_round_trip(chunks in proptest::collection::vec(any_chunk(), 1..6)) {
        let mut buf = Vec::new();
        let mut b = PacketBuilder::new(&mut buf, header(), 65535);
        let mut pushed = Vec::new();
        for c in &chunks {
            if b.push(c).is_ok() {
                pushed.push(c.clone());
            }
        }
        prop_assume!(!pushed.is_empty());
        let len = b.finish_crc32c();
        let p = Packet::parse(Bytes::copy_from_slice(&buf[..len]), ChecksumPolicy::Crc32c).unwrap();
        let parsed: Vec<Chunk> = p.chunks().map(|c| c.unwrap()).collect();
        prop_assert_eq!(&parsed, &pushed);
        prop_assert_eq!(*p.header(), CommonHeader { checksum: p.header().checksum, ..header() });
        // Taking the packet yields the same chunks.
        let raw: Vec<_> = p.raw_chunks().collect();
        let taken: Vec<_> = p.into_raw_chunks().collect();
        prop_assert_eq!(&taken, &raw);
        let owned: Vec<Chunk> = taken.into_iter().map(|c| c.into_chunk().unwrap()).collect();
        prop_assert_eq!(owned, pushed);
    }

    /// No input makes the parsers panic.
    #[test]
    fn arbitrary_bytes_never_panic(t: u8, flags: u8, value in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Chunk::parse(t, flags, &Bytes::from(value.clone()));
        for known in [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 64, 128, 130, 132, 192, 193, 194] {
            let _ = Chunk::parse(known, flags, &Bytes::from(value.clone()));
        }
        if let Ok(p) = Packet::parse(Bytes::from(value), ChecksumPolicy::Unchecked) {
            let _ = p.to_string();
            for c in p.chunks().flatten() {
                let _ = c.to_string();
                let mut out = Vec::new();
                let _ = c.write_to(&mut out);
            }
        }
    }

    /// A DATA chunk's payload is a view into the packet, not a copy.
    #[test]
    fn data_payload_is_zero_copy(d in any_data()) {
        let bytes = Bytes::from(encode(&d));
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let parsed = Data::parse(bytes[1], &bytes.slice(4..len)).unwrap();
        if !parsed.payload.is_empty() {
            prop_assert_eq!(parsed.payload.as_ptr(), bytes[16..].as_ptr());
        }
    }

    /// The receive path's owned parse gives the same chunk, and hands the value on as the
    /// payload itself; the send path's borrowed view encodes the same bytes.
    #[test]
    fn data_views_match_the_owned_forms(d in any_data()) {
        let bytes = Bytes::from(encode(&d));
        prop_assert_eq!(encode(&d.view()), bytes.to_vec());
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let value = bytes.slice(4..len);
        let owned = Chunk::parse_owned(bytes[0], bytes[1], value.clone()).unwrap();
        prop_assert_eq!(&owned, &Chunk::parse(bytes[0], bytes[1], &value).unwrap());
        if let Chunk::Data(parsed) = owned {
            if !parsed.payload.is_empty() {
                prop_assert_eq!(parsed.payload.as_ptr(), bytes[16..].as_ptr());
            }
        } else {
            prop_assert!(false, "not DATA");
        }
        let i = IData {
            tsn: d.tsn,
            stream_id: d.stream_id,
            mid: crate::serial::Mid(u32::from(d.ssn.0) * 7),
            fsn: crate::serial::Fsn(if d.beginning { 0 } else { 3 }),
            ppid: if d.beginning { d.ppid } else { 0 },
            unordered: d.unordered,
            beginning: d.beginning,
            ending: d.ending,
            immediate_sack: d.immediate_sack,
            payload: d.payload.clone(),
        };
        let bytes = Bytes::from(encode(&i));
        prop_assert_eq!(encode(&i.view()), bytes.to_vec());
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let owned = Chunk::parse_owned(bytes[0], bytes[1], bytes.slice(4..len)).unwrap();
        prop_assert_eq!(owned, Chunk::IData(i));
    }

    #[test]
    fn sack_gap_ranges_are_absolute(s in any_sack()) {
        for ((first, last), b) in s.gap_ranges().zip(&s.gap_blocks) {
            prop_assert_eq!(first.distance_from(s.cumulative_tsn_ack), u32::from(b.start));
            prop_assert_eq!(last.distance_from(s.cumulative_tsn_ack), u32::from(b.end));
        }
    }
}

#[test]
fn fixed_size_chunks_reject_other_lengths() {
    for (t, ok_len) in [
        (chunk_type::SHUTDOWN, 4usize),
        (chunk_type::SHUTDOWN_ACK, 0),
        (chunk_type::COOKIE_ACK, 0),
        (chunk_type::ECNE, 4),
        (chunk_type::CWR, 4),
        (chunk_type::SHUTDOWN_COMPLETE, 0),
    ] {
        assert!(
            Chunk::parse(t, 0, &Bytes::from(vec![0; ok_len])).is_ok(),
            "type {t}"
        );
        for bad in [ok_len + 1, ok_len + 4, ok_len.saturating_sub(1)] {
            if bad != ok_len {
                let err = Chunk::parse(t, 0, &Bytes::from(vec![0; bad])).unwrap_err();
                assert!(
                    matches!(
                        err,
                        WireError::InvalidLength { .. } | WireError::Truncated { .. }
                    ),
                    "type {t} len {bad}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn truncated_fixed_parts_are_typed_errors() {
    for (t, fixed) in [
        (chunk_type::DATA, 12usize),
        (chunk_type::INIT, 16),
        (chunk_type::INIT_ACK, 16),
        (chunk_type::SACK, 12),
        (chunk_type::AUTH, 4),
        (chunk_type::I_DATA, 16),
        (chunk_type::ASCONF, 4),
        (chunk_type::ASCONF_ACK, 4),
        (chunk_type::FORWARD_TSN, 4),
        (chunk_type::I_FORWARD_TSN, 4),
    ] {
        for len in 0..fixed {
            let err = Chunk::parse(t, 0, &Bytes::from(vec![0; len])).unwrap_err();
            assert!(
                matches!(err, WireError::Truncated { .. }),
                "type {t} len {len}: {err:?}"
            );
        }
    }
}

#[test]
fn sack_counts_must_match_length() {
    // Claims 2 gap blocks and 1 duplicate, carries 1 block.
    let mut v = vec![0, 0, 0, 10, 0, 0, 0x10, 0, 0, 2, 0, 1];
    v.extend_from_slice(&[0, 2, 0, 3]);
    assert!(matches!(
        Chunk::parse(chunk_type::SACK, 0, &Bytes::from(v.clone())),
        Err(WireError::InvalidLength { .. })
    ));
    // Trailing bytes beyond the counts are rejected too.
    v[9] = 1;
    v[11] = 0;
    v.extend_from_slice(&[9, 9, 9, 9]);
    assert!(matches!(
        Chunk::parse(chunk_type::SACK, 0, &Bytes::from(v)),
        Err(WireError::InvalidLength { .. })
    ));
}

#[test]
fn forward_tsn_entries_must_be_whole() {
    assert!(matches!(
        Chunk::parse(chunk_type::FORWARD_TSN, 0, &Bytes::from(vec![0; 6])),
        Err(WireError::InvalidLength { .. })
    ));
    assert!(matches!(
        Chunk::parse(chunk_type::I_FORWARD_TSN, 0, &Bytes::from(vec![0; 8])),
        Err(WireError::InvalidLength { .. })
    ));
}

#[test]
fn heartbeat_requires_heartbeat_info() {
    assert!(Chunk::parse(chunk_type::HEARTBEAT, 0, &Bytes::new()).is_err());
    // A parameter of another type instead of Heartbeat Info.
    let err =
        Chunk::parse(chunk_type::HEARTBEAT, 0, &Bytes::from_static(&[0, 7, 0, 4])).unwrap_err();
    assert!(matches!(err, WireError::InvalidValue { .. }));
    // A Heartbeat Info whose length lies.
    let err = Chunk::parse(
        chunk_type::HEARTBEAT_ACK,
        0,
        &Bytes::from_static(&[0, 1, 0, 9, 1]),
    )
    .unwrap_err();
    assert!(matches!(err, WireError::LengthPastEnd { .. }));
}

#[test]
fn nested_parameter_lengths_that_lie() {
    let fixed = [0u8; 16];
    for params in [
        &[0u8, 7, 0, 2][..],
        &[0, 7, 0xff, 0xff, 1, 2],
        &[0, 7, 0, 0],
        &[0, 7],
        &[0, 5, 0, 8, 1, 2, 3, 4, 0],
    ] {
        let mut v = fixed.to_vec();
        v.extend_from_slice(params);
        let r = Chunk::parse(chunk_type::INIT, 0, &Bytes::from(v));
        assert!(r.is_err(), "params {params:?} parsed as {r:?}");
    }
}

#[test]
fn asconf_needs_an_address_first() {
    let err = Chunk::parse(chunk_type::ASCONF, 0, &Bytes::from_static(&[0, 0, 0, 1])).unwrap_err();
    assert!(matches!(err, WireError::Truncated { .. }));
    let err = Chunk::parse(
        chunk_type::ASCONF,
        0,
        &Bytes::from_static(&[0, 0, 0, 1, 0x80, 0, 0, 4]),
    )
    .unwrap_err();
    assert!(matches!(err, WireError::InvalidValue { .. }));
}

#[test]
fn unknown_chunks_keep_bytes_and_action() {
    for (t, action) in [
        (0x3e, UnrecognizedAction::Stop),
        (0x7e, UnrecognizedAction::StopAndReport),
        (0xbe, UnrecognizedAction::Skip),
        (0xfe, UnrecognizedAction::SkipAndReport),
    ] {
        match Chunk::parse(t, 0x5a, &Bytes::from_static(b"abc")).unwrap() {
            Chunk::Unknown(u) => {
                assert_eq!(
                    (u.chunk_type, u.flags, &u.value[..]),
                    (t, 0x5a, &b"abc"[..])
                );
                assert_eq!(u.action(), action);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn idata_field_is_ppid_on_first_fragment_fsn_after() {
    let mut v = vec![0, 0, 0, 9, 0, 3, 0, 0, 0, 0, 0, 7, 0, 0, 0, 42];
    v.push(0xaa);
    let first = Chunk::parse(chunk_type::I_DATA, 0b0010, &Bytes::from(v.clone())).unwrap();
    let Chunk::IData(first) = first else { panic!() };
    assert_eq!((first.ppid, first.fsn.get(), first.mid.get()), (42, 0, 7));
    let middle = Chunk::parse(chunk_type::I_DATA, 0, &Bytes::from(v)).unwrap();
    let Chunk::IData(middle) = middle else {
        panic!()
    };
    assert_eq!((middle.ppid, middle.fsn.get()), (0, 42));
}

#[test]
fn packet_rejects_bad_framing() {
    let good = packet_of(&[&|b| b.push(&Chunk::CookieAck).unwrap()]);
    assert!(Packet::parse(Bytes::from(good.clone()), ChecksumPolicy::Crc32c).is_ok());

    // Shorter than the common header.
    for n in 0..12 {
        assert!(matches!(
            Packet::parse(
                Bytes::copy_from_slice(&good[..n]),
                ChecksumPolicy::Unchecked
            ),
            Err(WireError::Truncated { .. })
        ));
    }
    // Header only.
    assert_eq!(
        Packet::parse(
            Bytes::copy_from_slice(&good[..12]),
            ChecksumPolicy::Unchecked
        ),
        Err(WireError::NoChunks)
    );
    // Chunk header truncated.
    assert!(matches!(
        Packet::parse(
            Bytes::copy_from_slice(&good[..14]),
            ChecksumPolicy::Unchecked
        ),
        Err(WireError::Truncated { .. })
    ));
    let with_chunk = |chunk: &[u8]| {
        let mut v = good[..12].to_vec();
        v.extend_from_slice(chunk);
        Packet::parse(Bytes::from(v), ChecksumPolicy::Unchecked)
    };
    // Zero-length chunk, length below the header, 65535-byte length, missing padding.
    assert!(matches!(
        with_chunk(&[11, 0, 0, 0]),
        Err(WireError::LengthTooShort { len: 0, .. })
    ));
    assert!(matches!(
        with_chunk(&[11, 0, 0, 3]),
        Err(WireError::LengthTooShort { len: 3, .. })
    ));
    assert!(matches!(
        with_chunk(&[0, 3, 0xff, 0xff, 0, 0, 0, 0]),
        Err(WireError::LengthPastEnd { len: 65535, .. })
    ));
    assert!(matches!(
        with_chunk(&[0xbf, 0, 0, 5, 1]),
        Err(WireError::BadPadding { .. })
    ));
    // Trailing bytes that do not make a chunk header.
    assert!(matches!(
        with_chunk(&[11, 0, 0, 4, 0]),
        Err(WireError::Truncated { .. })
    ));
    // Nonzero padding bytes are ignored (RFC 9260 §3.2: the receiver MUST ignore them).
    assert!(with_chunk(&[0xbf, 0, 0, 5, 1, 9, 9, 9]).is_ok());
}

#[test]
fn packet_checksum_policies() {
    let mut pkt = packet_of(&[&|b| b.push(&Chunk::CookieAck).unwrap()]);
    let b = |p: &Vec<u8>| Bytes::from(p.clone());
    assert!(Packet::parse(b(&pkt), ChecksumPolicy::Crc32c).is_ok());
    pkt[13] ^= 1; // corrupt the flags byte
    assert!(matches!(
        Packet::parse(b(&pkt), ChecksumPolicy::Crc32c),
        Err(WireError::BadChecksum { .. })
    ));
    assert!(matches!(
        Packet::parse(b(&pkt), ChecksumPolicy::ZeroAllowed),
        Err(WireError::BadChecksum { .. })
    ));
    assert!(Packet::parse(b(&pkt), ChecksumPolicy::Unchecked).is_ok());
    pkt[8..12].fill(0);
    assert!(matches!(
        Packet::parse(b(&pkt), ChecksumPolicy::Crc32c),
        Err(WireError::BadChecksum { .. })
    ));
    assert!(Packet::parse(b(&pkt), ChecksumPolicy::ZeroAllowed).is_ok());
}

#[test]
fn bundling_rules() {
    let init = Chunk::Init(Init {
        initiate_tag: 1,
        a_rwnd: 1,
        outbound_streams: 1,
        inbound_streams: 1,
        initial_tsn: Tsn(1),
        params: vec![],
    });
    for lonely in [
        init.clone(),
        Chunk::ShutdownComplete(ShutdownComplete { t_bit: false }),
    ] {
        let mut buf = Vec::new();
        let mut b = PacketBuilder::new(&mut buf, header(), 1500);
        b.push(&lonely).unwrap();
        assert!(matches!(
            b.push(&Chunk::CookieAck),
            Err(WireError::BundlingViolation { .. })
        ));
        let mut b2 = PacketBuilder::new(&mut buf, header(), 1500);
        b2.push(&Chunk::CookieAck).unwrap();
        assert!(matches!(
            b2.push(&lonely),
            Err(WireError::BundlingViolation { .. })
        ));
        // Hand-made bundled packet is rejected by the parser.
        let mut raw = Vec::new();
        CommonHeader::default().write(&mut raw);
        lonely.write_to(&mut raw).unwrap();
        Chunk::CookieAck.write_to(&mut raw).unwrap();
        assert!(matches!(
            Packet::parse(Bytes::from(raw), ChecksumPolicy::Unchecked),
            Err(WireError::BundlingViolation { .. })
        ));
    }
}

#[test]
fn builder_fills_to_the_limit() {
    let data = |n: usize| Data {
        tsn: Tsn(1),
        stream_id: 0,
        ssn: Ssn(0),
        ppid: 0,
        unordered: false,
        beginning: true,
        ending: true,
        immediate_sack: false,
        payload: Bytes::from(vec![7; n]),
    };
    let mut buf = vec![0xee; 3]; // the builder appends after what is already there
    let mut b = PacketBuilder::new(&mut buf, header(), 1200);
    // 12 header + 16 DATA header + 1172 payload = 1200 exactly.
    assert!(b.fits(&data(1172)));
    assert!(!b.fits(&data(1173)));
    b.push(&data(1000)).unwrap();
    assert!(matches!(
        b.push(&data(200)),
        Err(WireError::NoRoom {
            needed: 216,
            remaining: 172
        })
    ));
    b.push(&Chunk::CookieAck).unwrap();
    assert_eq!(b.chunk_count(), 2);
    let len = b.finish_crc32c();
    assert_eq!(len, 12 + 1016 + 4);
    assert_eq!(&buf[..3], &[0xee; 3]);
    assert!(Packet::parse(Bytes::copy_from_slice(&buf[3..]), ChecksumPolicy::Crc32c).is_ok());
}

#[test]
fn display_reads_like_a_trace() {
    let pkt = packet_of(&[
        &|b| {
            b.push(&Sack {
                cumulative_tsn_ack: Tsn(100),
                a_rwnd: 65536,
                gap_blocks: vec![GapAckBlock { start: 2, end: 3 }],
                duplicate_tsns: vec![Tsn(99)],
            })
            .unwrap()
        },
        &|b| {
            b.push(&Data {
                tsn: Tsn(7),
                stream_id: 1,
                ssn: Ssn(2),
                ppid: 51,
                unordered: false,
                beginning: true,
                ending: true,
                immediate_sack: true,
                payload: Bytes::from_static(b"hi"),
            })
            .unwrap()
        },
    ]);
    let p = Packet::parse(Bytes::from(pkt), ChecksumPolicy::Crc32c).unwrap();
    assert_eq!(
        p.to_string(),
        "5000 > 5001 vtag=0x01020304 [SACK(cum_ack=100, a_rwnd=65536, gaps=[2-3], dups=[99]); \
         DATA(tsn=7, sid=1, ssn=2, ppid=51, BEI 2 bytes)]"
    );
}
