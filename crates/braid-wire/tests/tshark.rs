//! Braid-built packets read by an independent decoder: tshark (Wireshark).
//!
//! A set of packets built with [`PacketBuilder`] holds every chunk type, every parameter family
//! and every error cause braid-wire knows. They are written to a temporary pcap with
//! [`PcapWriter::write_sctp`] (IPv4 and IPv6), and tshark, with CRC32c verification switched on,
//! must read each one with a good checksum, no malformed-packet marker, no expert info of
//! warning or error severity and none of the "Malformed" group, and must report the same chunk
//! types, parameter types and cause codes, with the same lengths, in the same order, as
//! Braid wrote, plus a few field values per packet. One more packet carries a wrong checksum,
//! which tshark must call bad: the test proves the check is really on.
//!
//! tshark is an external tool. Without it the test prints `SKIPPED: tshark not installed` and
//! passes, except under CI (`CI=true`), which installs it (`.ci/run`) and so fails instead.
//!
//! What tshark 4.0 does not know (it still reports the raw type, code and length, which is all
//! the test asserts for them): the Zero Checksum Acceptable parameter (0x8001, RFC 9653), the
//! Padding parameter (0x8005, RFC 4820 §4) and the Restart with New Encapsulation Port cause
//! (14); they show as "Unknown" with their value bytes, which are checked too.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use braid_wire::cause::{self, NewEncapsulationPort, RawParams, UnknownCause};
use braid_wire::packet::RawChunk;
use braid_wire::param::{
    self, AddStreamsRequest, AddressRequest, ErrorCauseIndication, IncomingSsnResetRequest,
    NextTsns, OutgoingSsnResetRequest, ReconfigResponse, ReconfigResult, SsnTsnResetRequest,
    UnknownParameter,
};
use braid_wire::pcap::PcapWriter;
use braid_wire::{
    Abort, Asconf, AsconfAck, Auth, Bytes, ChecksumPolicy, Chunk, CommonHeader, CookieEcho, Cwr,
    Data, Ecne, EncodeChunk, ErrorCause, ForwardTsn, ForwardTsnStream, Fsn, GapAckBlock, Heartbeat,
    IData, IForwardTsn, IForwardTsnStream, Init, Mid, OperationError, Packet, PacketBuilder, Pad,
    Parameter, ReConfig, Sack, Shutdown, ShutdownComplete, Ssn, Tsn, UnknownChunk,
};

// ---------------------------------------------------------------------------------------------
// The packets
// ---------------------------------------------------------------------------------------------

/// One packet to write, and what tshark must say about it beyond the generic checks.
struct Case {
    /// What the packet is, for failure messages.
    name: &'static str,
    src_port: u16,
    dst_port: u16,
    verification_tag: u32,
    chunks: Vec<Chunk>,
    /// Carried over IPv6 rather than IPv4.
    ipv6: bool,
    /// The negative control: the checksum is damaged after the builder wrote it.
    bad_checksum: bool,
    /// Field values tshark must print for this packet (all occurrences, comma-separated).
    values: Vec<(&'static str, String)>,
}

impl Case {
    fn new(name: &'static str, verification_tag: u32, chunks: Vec<Chunk>) -> Self {
        Self {
            name,
            src_port: 5000,
            dst_port: 5001,
            verification_tag,
            chunks,
            ipv6: false,
            bad_checksum: false,
            values: Vec::new(),
        }
    }

    fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    fn ports(mut self, src: u16, dst: u16) -> Self {
        self.src_port = src;
        self.dst_port = dst;
        self
    }

    fn value(mut self, field: &'static str, expected: impl ToString) -> Self {
        self.values.push((field, expected.to_string()));
        self
    }
}

/// A parameter's TLV bytes as Braid writes them: header and value, no trailing padding (what a
/// cause or Unrecognized Parameter that copies it carries).
fn tlv_of(p: &Parameter) -> Bytes {
    let mut out = Vec::new();
    p.write(&mut out);
    Bytes::from(out)
}

/// Comma-joins, as tshark aggregates repeated fields.
fn list<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Lower-case hex, as tshark prints byte fields.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const TAG_A: u32 = 0x1234_5678;
const TAG_Z: u32 = 0x8765_4321;

fn cases() -> Vec<Case> {
    let local_v4 = Ipv4Addr::new(192, 0, 2, 1);
    let local_v6: Ipv6Addr = "2001:db8::1".parse().expect("IPv6");
    let new_v4 = Ipv4Addr::new(192, 0, 2, 9);
    let new_v6: Ipv6Addr = "2001:db8::9".parse().expect("IPv6");

    // An optional parameter the peer does not know, whose type (upper bits 11) asks to skip and
    // report it: the INIT carries it, the INIT ACK reports it back (RFC 9260 §3.2.1).
    let unknown_param = UnknownParameter {
        param_type: 0xC0F1,
        value: Bytes::from_static(b"xyz"),
    };

    let init = Init {
        initiate_tag: TAG_A,
        a_rwnd: 131_072,
        outbound_streams: 16,
        inbound_streams: 32,
        initial_tsn: Tsn(1000),
        params: vec![
            Parameter::Ipv4Address(local_v4),
            Parameter::Ipv6Address(local_v6),
            Parameter::CookiePreservative(5000),
            // Deprecated by RFC 9260 (a receiver aborts), but still a parameter of INIT whose
            // encoding Braid must get right.
            Parameter::HostNameAddress(Bytes::from_static(b"example.com\0")),
            Parameter::SupportedAddressTypes(vec![5, 6, 11]),
            Parameter::EcnCapable,
            Parameter::ForwardTsnSupported,
            Parameter::SupportedExtensions(vec![0x0f, 0x40, 0x80, 0x82, 0x84, 0xc0, 0xc1, 0xc2]),
            Parameter::Random(Bytes::from((1..=32).collect::<Vec<u8>>())),
            Parameter::ChunkList(vec![0x80, 0xc1, 0x82]),
            Parameter::RequestedHmacAlgorithm(vec![3, 1]),
            Parameter::AdaptationLayerIndication(0x0102_0304),
            Parameter::ZeroChecksumAcceptable(1),
            // RFC 5061 §4.2.4: Set Primary Address may also appear in INIT.
            Parameter::SetPrimaryAddress(AddressRequest {
                correlation_id: 0,
                address: IpAddr::V4(local_v4),
            }),
            Parameter::Unknown(unknown_param.clone()),
            // RFC 4820 §4: the Padding parameter only ever goes in INIT.
            Parameter::Padding(Bytes::from(vec![0u8; 13])),
        ],
    };
    let init_ack = Init {
        initiate_tag: TAG_Z,
        a_rwnd: 65_536,
        outbound_streams: 32,
        inbound_streams: 16,
        initial_tsn: Tsn(7000),
        params: vec![
            Parameter::StateCookie(Bytes::from(vec![0xcc; 24])),
            unknown_param.to_unrecognized(),
            Parameter::Ipv4Address(Ipv4Addr::new(192, 0, 2, 2)),
            Parameter::EcnCapable,
            Parameter::ForwardTsnSupported,
        ],
    };

    let data = Data {
        tsn: Tsn(1000),
        stream_id: 1,
        ssn: Ssn(0),
        ppid: 51,
        unordered: false,
        beginning: true,
        ending: true,
        immediate_sack: true,
        payload: Bytes::from_static(b"hello"),
    };
    let sack = Sack {
        cumulative_tsn_ack: Tsn(7000),
        a_rwnd: 60_000,
        gap_blocks: vec![
            GapAckBlock { start: 2, end: 3 },
            GapAckBlock { start: 5, end: 5 },
        ],
        duplicate_tsns: vec![Tsn(6999), Tsn(6998)],
    };

    // ASCONF requests, correlation IDs 1 to 4, and their answers.
    let add = AddressRequest {
        correlation_id: 1,
        address: IpAddr::V6(new_v6),
    };
    let delete = AddressRequest {
        correlation_id: 2,
        address: IpAddr::V4(local_v4),
    };
    let primary = AddressRequest {
        correlation_id: 3,
        address: IpAddr::V4(new_v4),
    };
    let delete_new = AddressRequest {
        correlation_id: 4,
        address: IpAddr::V4(new_v4),
    };
    let refused = |code: u16, request: Parameter| -> Bytes {
        let raw = RawParams::new(tlv_of(&request));
        let cause = match code {
            cause::code::DELETE_LAST_REMAINING_ADDRESS => {
                ErrorCause::DeleteLastRemainingAddress(raw)
            }
            cause::code::RESOURCE_SHORTAGE => ErrorCause::ResourceShortage(raw),
            cause::code::DELETE_SOURCE_ADDRESS => ErrorCause::DeleteSourceAddress(raw),
            _ => ErrorCause::RequestRefused(raw),
        };
        let mut out = Vec::new();
        cause::write_causes(&[cause], &mut out);
        Bytes::from(out)
    };
    let mut two_causes = Vec::new();
    cause::write_causes(
        &[
            ErrorCause::DeleteLastRemainingAddress(RawParams::new(tlv_of(
                &Parameter::DeleteIpAddress(delete),
            ))),
            ErrorCause::DeleteSourceAddress(RawParams::new(tlv_of(&Parameter::DeleteIpAddress(
                delete,
            )))),
        ],
        &mut two_causes,
    );
    let auth = Auth {
        shared_key_id: 1,
        hmac_id: 3,
        hmac: Bytes::from(vec![0xaa; 32]),
    };

    // The chunk that "Unrecognized Chunk Type" reports, with an odd value length: the cause
    // carries it without its padding (RawChunk::to_wire, RFC 9260 §3.3.10.6).
    let unknown_chunk = UnknownChunk {
        chunk_type: 0xbf,
        flags: 0x5a,
        value: Bytes::from_static(&[1, 2, 3, 4, 5]),
    };
    let reported_chunk = RawChunk {
        chunk_type: unknown_chunk.chunk_type,
        flags: unknown_chunk.flags,
        value: unknown_chunk.value.clone(),
    }
    .to_wire();

    let idata_first = IData {
        tsn: Tsn(2000),
        stream_id: 2,
        mid: Mid(10),
        fsn: Fsn(0),
        ppid: 53,
        unordered: false,
        beginning: true,
        ending: false,
        immediate_sack: false,
        payload: Bytes::from_static(b"first"),
    };
    let idata_middle = IData {
        tsn: Tsn(2001),
        stream_id: 2,
        mid: Mid(10),
        fsn: Fsn(1),
        ppid: 0,
        unordered: false,
        beginning: false,
        ending: false,
        immediate_sack: false,
        payload: Bytes::from_static(b"middle"),
    };

    vec![
        Case::new("INIT", 0, vec![Chunk::Init(init)])
            .value("sctp.init_initial_tsn", 1000)
            .value("sctp.init_nr_out_streams", 16)
            .value("sctp.init_nr_in_streams", 32)
            .value("sctp.init_credit", 131_072)
            .value("sctp.parameter_ipv4_address", list(&[local_v4, local_v4]))
            .value("sctp.parameter_ipv6_address", local_v6)
            .value("sctp.parameter_cookie_preservative_incr", 5000)
            .value("sctp.parameter_hostname", "example.com")
            .value("sctp.parameter_supported_address_type", "5,6,11")
            .value("sctp.supported_chunk_type", "15,64,128,130,132,192,193,194")
            .value("sctp.random_number", hex(&(1..=32).collect::<Vec<u8>>()))
            .value("sctp.chunk_type_to_auth", "128,193,130")
            .value("sctp.hmac_id", "3,1")
            .value("sctp.adaptation_layer_indication", "0x01020304")
            // Zero Checksum Acceptable (EDMID 1), the unknown parameter and Padding, which
            // tshark 4.0 shows as unknown parameters with their raw value.
            .value(
                "sctp.parameter_value",
                list(&["00000001", "78797a", &hex(&[0; 13])]),
            ),
        Case::new("INIT ACK", TAG_A, vec![Chunk::InitAck(init_ack)])
            .value("sctp.initack_initial_tsn", 7000)
            .value("sctp.initack_nr_out_streams", 32)
            .value("sctp.initack_nr_in_streams", 16)
            .value("sctp.parameter_state_cookie", hex(&[0xcc; 24]))
            // The unknown parameter, echoed inside Unrecognized Parameter.
            .value("sctp.parameter_value", "78797a")
            .value("sctp.parameter_ipv4_address", "192.0.2.2"),
        Case::new(
            "COOKIE ECHO + ERROR + DATA",
            TAG_Z,
            vec![
                Chunk::CookieEcho(CookieEcho {
                    cookie: Bytes::from(vec![0xcc; 24]),
                }),
                // RFC 9260 §3.2.1: unrecognized parameters of the INIT ACK are reported in an
                // ERROR bundled with the COOKIE ECHO.
                Chunk::Error(OperationError {
                    causes: vec![ErrorCause::unrecognized_parameters(tlv_of(
                        &Parameter::Unknown(UnknownParameter {
                            param_type: 0xC0F2,
                            value: Bytes::from_static(b"ab"),
                        }),
                    ))],
                }),
                Chunk::Data(data),
            ],
        )
        .ipv6()
        .value("sctp.cookie", hex(&[0xcc; 24]))
        .value("sctp.data_tsn_raw", 1000)
        .value("sctp.data_payload_proto_id", 51)
        .value("sctp.data_b_bit", 1)
        .value("sctp.data_e_bit", 1)
        .value("sctp.data_u_bit", 0)
        .value("sctp.data_i_bit", 1)
        .value("sctp.data_ssn", 0),
        Case::new(
            "COOKIE ACK + SACK + FORWARD TSN",
            TAG_A,
            vec![
                Chunk::CookieAck,
                Chunk::Sack(sack),
                Chunk::ForwardTsn(ForwardTsn {
                    new_cumulative_tsn: Tsn(1003),
                    streams: vec![
                        ForwardTsnStream {
                            stream_id: 1,
                            ssn: Ssn(4),
                        },
                        ForwardTsnStream {
                            stream_id: 3,
                            ssn: Ssn(9),
                        },
                    ],
                }),
            ],
        )
        .ipv6()
        .value("sctp.sack_cumulative_tsn_ack_raw", 7000)
        .value("sctp.sack_a_rwnd", 60_000)
        .value("sctp.sack_number_of_gap_blocks", 2)
        .value("sctp.sack_number_of_duplicated_tsns", 2)
        .value("sctp.sack_gap_block_start", "2,5")
        .value("sctp.sack_gap_block_end", "3,5")
        .value("sctp.sack_duplicate_tsn", "6999,6998")
        .value("sctp.forward_tsn_tsn", 1003)
        .value("sctp.forward_tsn_sid", "1,3")
        .value("sctp.forward_tsn_ssn", "4,9"),
        // A path MTU probe (RFC 8899 §4.1): HEARTBEAT padded with a PAD chunk.
        Case::new(
            "HEARTBEAT + PAD",
            TAG_Z,
            vec![
                Chunk::Heartbeat(Heartbeat {
                    info: Bytes::from_static(b"probe-1"),
                }),
                Chunk::Pad(Pad::zeros(9)),
            ],
        )
        .value("sctp.parameter_heartbeat_information", hex(b"probe-1"))
        .value("sctp.padding_data", hex(&[0; 9])),
        Case::new(
            "HEARTBEAT ACK",
            TAG_A,
            vec![Chunk::HeartbeatAck(Heartbeat {
                info: Bytes::from_static(b"probe-1"),
            })],
        )
        .value("sctp.parameter_heartbeat_information", hex(b"probe-1")),
        Case::new(
            "AUTH + ASCONF",
            TAG_Z,
            vec![
                Chunk::Auth(auth.clone()),
                Chunk::Asconf(Asconf {
                    sequence_number: 1,
                    params: vec![
                        Parameter::Ipv4Address(local_v4),
                        Parameter::AddIpAddress(add),
                        Parameter::DeleteIpAddress(delete),
                        Parameter::SetPrimaryAddress(primary),
                        Parameter::DeleteIpAddress(delete_new),
                    ],
                }),
            ],
        )
        .ipv6()
        .value("sctp.shared_key_id", 1)
        .value("sctp.hmac_id", 3)
        .value("sctp.hmac", hex(&[0xaa; 32]))
        .value(
            "sctp.parameter_ipv4_address",
            list(&[local_v4, local_v4, new_v4, new_v4]),
        )
        .value("sctp.parameter_ipv6_address", new_v6)
        .value(
            "sctp.correlation_id",
            "0x00000001,0x00000002,0x00000003,0x00000004",
        ),
        Case::new(
            "AUTH + ASCONF-ACK",
            TAG_A,
            vec![
                Chunk::Auth(auth),
                Chunk::AsconfAck(AsconfAck {
                    sequence_number: 1,
                    params: vec![
                        Parameter::SuccessIndication(1),
                        Parameter::ErrorCauseIndication(ErrorCauseIndication {
                            correlation_id: 2,
                            causes: Bytes::from(two_causes),
                        }),
                        Parameter::ErrorCauseIndication(ErrorCauseIndication {
                            correlation_id: 3,
                            causes: refused(
                                cause::code::RESOURCE_SHORTAGE,
                                Parameter::SetPrimaryAddress(primary),
                            ),
                        }),
                        Parameter::ErrorCauseIndication(ErrorCauseIndication {
                            correlation_id: 4,
                            causes: refused(
                                cause::code::REQUEST_REFUSED,
                                Parameter::DeleteIpAddress(delete_new),
                            ),
                        }),
                    ],
                }),
            ],
        )
        .ipv6(),
        // RE-CONFIG: the parameter combinations RFC 6525 §3.1 allows.
        Case::new(
            "RE-CONFIG outgoing + incoming SSN reset",
            TAG_Z,
            vec![Chunk::ReConfig(ReConfig {
                params: vec![
                    Parameter::OutgoingSsnResetRequest(OutgoingSsnResetRequest {
                        request_seq: 10,
                        response_seq: 20,
                        last_assigned_tsn: Tsn(1003),
                        streams: vec![1, 2, 3],
                    }),
                    Parameter::IncomingSsnResetRequest(IncomingSsnResetRequest {
                        request_seq: 11,
                        streams: vec![4],
                    }),
                ],
            })],
        )
        .value("sctp.parameter_reconfig_request_sequence_number", "10,11")
        .value("sctp.parameter_reconfig_response_sequence_number", 20)
        .value("sctp.parameter_senders_last_assigned_tsn", 1003)
        .value("sctp.parameter_reconfig_sid", "1,2,3,4"),
        Case::new(
            "RE-CONFIG SSN/TSN reset",
            TAG_Z,
            vec![Chunk::ReConfig(ReConfig {
                params: vec![Parameter::SsnTsnResetRequest(SsnTsnResetRequest {
                    request_seq: 12,
                })],
            })],
        )
        .value("sctp.parameter_reconfig_request_sequence_number", 12),
        Case::new(
            "RE-CONFIG add outgoing + incoming streams",
            TAG_Z,
            vec![Chunk::ReConfig(ReConfig {
                params: vec![
                    Parameter::AddOutgoingStreamsRequest(AddStreamsRequest {
                        request_seq: 13,
                        new_streams: 5,
                    }),
                    Parameter::AddIncomingStreamsRequest(AddStreamsRequest {
                        request_seq: 14,
                        new_streams: 6,
                    }),
                ],
            })],
        )
        .ipv6()
        .value("sctp.parameter_reconfig_request_sequence_number", "13,14")
        .value("sctp.parameter_add_outgoing_streams_number", 5)
        .value("sctp.parameter_add_incoming_streams_number", 6),
        Case::new(
            "RE-CONFIG two responses",
            TAG_A,
            vec![Chunk::ReConfig(ReConfig {
                params: vec![
                    // The answer to the SSN/TSN reset, with both next TSNs.
                    Parameter::ReconfigResponse(ReconfigResponse {
                        response_seq: 12,
                        result: ReconfigResult::SuccessPerformed,
                        next_tsns: Some(NextTsns {
                            sender_next_tsn: Tsn(3000),
                            receiver_next_tsn: Tsn(4000),
                        }),
                    }),
                    Parameter::ReconfigResponse(ReconfigResponse {
                        response_seq: 13,
                        result: ReconfigResult::Denied,
                        next_tsns: None,
                    }),
                ],
            })],
        )
        .value("sctp.parameter_reconfig_response_sequence_number", "12,13")
        .value("sctp.parameter_reconfig_response_result", "1,2")
        .value("sctp.parameter_senders_next_tsn", 3000)
        .value("sctp.parameter_receivers_next_tsn", 4000),
        // Another association, one that negotiated I-DATA (RFC 8260): first and middle
        // fragments of message 10, then an I-FORWARD-TSN.
        Case::new(
            "I-DATA first + middle + I-FORWARD-TSN",
            0x0bad_cafe,
            vec![
                Chunk::IData(idata_first),
                Chunk::IData(idata_middle),
                Chunk::IForwardTsn(IForwardTsn {
                    new_cumulative_tsn: Tsn(2001),
                    streams: vec![
                        IForwardTsnStream {
                            stream_id: 2,
                            unordered: false,
                            mid: Mid(10),
                        },
                        IForwardTsnStream {
                            stream_id: 5,
                            unordered: true,
                            mid: Mid(3),
                        },
                    ],
                }),
            ],
        )
        .ports(6000, 6001)
        .value("sctp.data_tsn_raw", "2000,2001")
        .value("sctp.data_mid", "10,10")
        .value("sctp.data_fsn", 1)
        .value("sctp.data_payload_proto_id", 53)
        .value("sctp.data_b_bit", "1,0")
        .value("sctp.data_e_bit", "0,0")
        .value("sctp.i_forward_tsn_tsn", 2001)
        .value("sctp.i_forward_tsn_sid", "2,5")
        .value("sctp.i_forward_tsn_u_bit", "0,1")
        .value("sctp.forward_tsn_mid", "10,3"),
        Case::new(
            "ECNE + CWR + ERROR + unknown chunk",
            TAG_Z,
            vec![
                Chunk::Ecne(Ecne {
                    lowest_tsn: Tsn(7001),
                }),
                Chunk::Cwr(Cwr {
                    lowest_tsn: Tsn(1001),
                }),
                Chunk::Error(OperationError {
                    causes: vec![
                        ErrorCause::invalid_stream_id(7),
                        ErrorCause::missing_mandatory_parameters(vec![7u16, 9]),
                        ErrorCause::stale_cookie(1234),
                        ErrorCause::UnresolvableAddress(RawParams::new(tlv_of(
                            &Parameter::HostNameAddress(Bytes::from_static(b"host.invalid\0")),
                        ))),
                        ErrorCause::unrecognized_chunk(reported_chunk.clone()),
                        ErrorCause::no_user_data(Tsn(77)),
                        ErrorCause::CookieReceivedWhileShuttingDown,
                        ErrorCause::unsupported_hmac_id(2),
                        ErrorCause::Unknown(UnknownCause {
                            code: 0x0200,
                            value: Bytes::from_static(b"new"),
                        }),
                    ],
                }),
                Chunk::Unknown(unknown_chunk),
            ],
        )
        .value("sctp.ecne_lowest_tsn", 7001)
        .value("sctp.cwr_lowest_tsn", 1001)
        .value("sctp.cause_stream_identifier", 7)
        .value("sctp.cause_missing_parameter_type", "0x0007,0x0009")
        .value("sctp.cause_nr_of_missing_parameters", 2)
        .value("sctp.cause_measure_of_staleness", 1234)
        .value("sctp.parameter_hostname", "host.invalid")
        .value("sctp.cause_tsn", 77)
        // The unknown chunk inside the cause, and the unknown chunk itself.
        .value("sctp.chunk_value", "0102030405,0102030405")
        .value("sctp.cause_information", hex(b"new")),
        Case::new(
            "SHUTDOWN",
            TAG_Z,
            vec![Chunk::Shutdown(Shutdown {
                cumulative_tsn_ack: Tsn(7000),
            })],
        )
        .value("sctp.shutdown_cumulative_tsn_ack", 7000),
        Case::new("SHUTDOWN ACK", TAG_A, vec![Chunk::ShutdownAck]).ipv6(),
        Case::new(
            "SHUTDOWN COMPLETE (T)",
            TAG_A,
            vec![Chunk::ShutdownComplete(ShutdownComplete { t_bit: true })],
        )
        .value("sctp.shutdown_complete_t_bit", 1),
        Case::new(
            "ABORT",
            TAG_A,
            vec![Chunk::Abort(Abort {
                t_bit: false,
                causes: vec![
                    ErrorCause::OutOfResource,
                    ErrorCause::InvalidMandatoryParameter,
                    ErrorCause::RestartWithNewAddresses(RawParams::new(
                        [
                            tlv_of(&Parameter::Ipv4Address(Ipv4Addr::new(198, 51, 100, 1))),
                            tlv_of(&Parameter::Ipv6Address(new_v6)),
                        ]
                        .concat(),
                    )),
                    ErrorCause::RestartWithNewEncapsulationPort(NewEncapsulationPort {
                        current_port: 9899,
                        new_port: 9900,
                    }),
                    ErrorCause::protocol_violation(Bytes::from_static(b"bad TSN")),
                    ErrorCause::user_abort(Bytes::from_static(b"bye")),
                ],
            })],
        )
        .value("sctp.abort_t_bit", 0)
        .value("sctp.parameter_ipv4_address", "198.51.100.1")
        .value("sctp.parameter_ipv6_address", new_v6)
        // Code 14 (unknown to tshark 4.0: raw ports 9899, 9900), then the two free texts.
        .value(
            "sctp.cause_information",
            list(&[hex(&[0x26, 0xab, 0x26, 0xac]), hex(b"bad TSN"), hex(b"bye")]),
        ),
        Case::new(
            "ABORT (T)",
            TAG_Z,
            vec![Chunk::Abort(Abort {
                t_bit: true,
                causes: vec![
                    ErrorCause::IllegalAsconfAck,
                    ErrorCause::user_abort(Bytes::new()),
                ],
            })],
        )
        .ipv6()
        .value("sctp.abort_t_bit", 1),
    ]
}

/// The negative control: a valid packet whose checksum is then damaged.
fn bad_checksum_case() -> Case {
    let mut case = Case::new(
        "bad checksum (negative control)",
        TAG_A,
        vec![
            Chunk::CookieAck,
            Chunk::Shutdown(Shutdown {
                cumulative_tsn_ack: Tsn(1),
            }),
        ],
    );
    case.bad_checksum = true;
    case
}

// ---------------------------------------------------------------------------------------------
// What Braid wrote: chunks, parameters and causes in tshark's (depth-first) order
// ---------------------------------------------------------------------------------------------

/// (type, length field) of every chunk, parameter and error cause of a packet, nested ones
/// included where they sit in the tree, which is how tshark lists its fields.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tree {
    chunks: Vec<(u64, u64)>,
    params: Vec<(u64, u64)>,
    causes: Vec<(u64, u64)>,
}

impl Tree {
    fn of(chunks: &[Chunk]) -> Self {
        let mut t = Self::default();
        for c in chunks {
            t.chunk(c);
        }
        t
    }

    fn chunk(&mut self, c: &Chunk) {
        self.chunks
            .push((u64::from(c.chunk_type()), c.encoded_len() as u64));
        match c {
            Chunk::Init(i) | Chunk::InitAck(i) => self.params(&i.params),
            Chunk::Asconf(a) => self.params(&a.params),
            Chunk::AsconfAck(a) => self.params(&a.params),
            Chunk::ReConfig(r) => self.params(&r.params),
            Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => {
                self.param(&Parameter::HeartbeatInfo(h.info.clone()))
            }
            Chunk::Abort(a) => self.causes(&a.causes),
            Chunk::Error(e) => self.causes(&e.causes),
            _ => {}
        }
    }

    fn params(&mut self, params: &[Parameter]) {
        for p in params {
            self.param(p);
        }
    }

    fn param(&mut self, p: &Parameter) {
        self.params
            .push((u64::from(p.param_type()), p.encoded_len() as u64));
        match p {
            Parameter::AddIpAddress(r)
            | Parameter::DeleteIpAddress(r)
            | Parameter::SetPrimaryAddress(r) => self.param(&match r.address {
                IpAddr::V4(a) => Parameter::Ipv4Address(a),
                IpAddr::V6(a) => Parameter::Ipv6Address(a),
            }),
            Parameter::UnrecognizedParameter(tlvs) => self.raw_params(tlvs),
            Parameter::ErrorCauseIndication(e) => {
                self.causes(&cause::parse_causes(&e.causes).expect("test's own causes"))
            }
            _ => {}
        }
    }

    fn raw_params(&mut self, tlvs: &Bytes) {
        self.params(&param::parse_params(tlvs).expect("test's own parameters"));
    }

    fn causes(&mut self, causes: &[ErrorCause]) {
        for c in causes {
            self.cause(c);
        }
    }

    fn cause(&mut self, c: &ErrorCause) {
        self.causes
            .push((u64::from(c.code()), c.encoded_len() as u64));
        match c {
            ErrorCause::UnresolvableAddress(p)
            | ErrorCause::UnrecognizedParameters(p)
            | ErrorCause::RestartWithNewAddresses(p)
            | ErrorCause::DeleteLastRemainingAddress(p)
            | ErrorCause::ResourceShortage(p)
            | ErrorCause::DeleteSourceAddress(p)
            | ErrorCause::RequestRefused(p) => self.raw_params(p.as_bytes()),
            // tshark decodes the reported chunk in place.
            ErrorCause::UnrecognizedChunkType(u) => {
                let c = &u.chunk;
                let value = c.slice(4..);
                self.chunk(&Chunk::parse(c[0], c[1], &value).expect("test's own chunk"));
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tshark
// ---------------------------------------------------------------------------------------------

/// Fields every packet is checked on, in this column order; value fields follow, then
/// `_ws.expert.message` last (only shown in failure messages: it may contain the aggregator).
const BASE_FIELDS: [&str; 11] = [
    "frame.number",
    "sctp.checksum.status",
    "sctp.chunk_type",
    "sctp.chunk_length",
    "sctp.parameter_type",
    "sctp.parameter_length",
    "sctp.cause_code",
    "sctp.cause_length",
    "_ws.malformed",
    "_ws.expert.severity",
    "_ws.expert.group",
];

/// `sctp.checksum.status` values (epan's `proto_checksum_enum_e`).
const CHECKSUM_BAD: &str = "0";
const CHECKSUM_GOOD: &str = "1";

/// Expert severities and group (epan/proto.h `PI_*`).
const PI_WARN: u64 = 0x0060_0000;
const PI_ERROR: u64 = 0x0080_0000;
const PI_SEVERITY_MASK: u64 = 0x00F0_0000;
const PI_GROUP_MASK: u64 = 0xFF00_0000;
const PI_MALFORMED: u64 = 0x0700_0000;

/// Removes the pcap and the empty configuration folder, even when the test fails.
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = if p.is_dir() {
                fs::remove_dir_all(p)
            } else {
                fs::remove_file(p)
            };
        }
    }
}

/// `tshark -v`'s first line, or `None` when tshark is not installed.
fn tshark_version() -> Option<String> {
    match Command::new("tshark").arg("-v").output() {
        Ok(out) => {
            assert!(out.status.success(), "tshark -v failed: {out:?}");
            Some(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run tshark: {e}"),
    }
}

/// A number as tshark prints it: decimal, or hex with `0x`.
fn number(s: &str) -> u64 {
    let parsed = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    parsed.unwrap_or_else(|e| panic!("not a number: {s:?}: {e}"))
}

fn numbers(s: &str) -> Vec<u64> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(number).collect()
    }
}

/// Pairs a type column with its length column.
fn pairs(types: &str, lens: &str) -> Vec<(u64, u64)> {
    let (t, l) = (numbers(types), numbers(lens));
    assert_eq!(t.len(), l.len(), "types {types:?} vs lengths {lens:?}");
    t.into_iter().zip(l).collect()
}

/// tshark ≥ 4.2 prints booleans as True/False, 4.0 as 1/0.
fn normalise(value: &str) -> String {
    value
        .split(',')
        .map(|v| match v {
            "True" => "1",
            "False" => "0",
            v => v,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Builds each case into one SCTP packet.
fn build(case: &Case) -> Vec<u8> {
    let mut buf = Vec::with_capacity(2048);
    let header = CommonHeader {
        src_port: case.src_port,
        dst_port: case.dst_port,
        verification_tag: case.verification_tag,
        checksum: 0,
    };
    let mut builder = PacketBuilder::new(&mut buf, header, 1452);
    for c in &case.chunks {
        builder
            .push(c)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    let len = builder.finish_crc32c();
    assert_eq!(len, buf.len());
    // Braid reads back what it wrote, checksum included.
    Packet::parse(Bytes::copy_from_slice(&buf), ChecksumPolicy::Crc32c)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    if case.bad_checksum {
        buf[8] ^= 0x01;
        assert!(
            Packet::parse(Bytes::copy_from_slice(&buf), ChecksumPolicy::Crc32c).is_err(),
            "Braid accepts the damaged checksum"
        );
    }
    buf
}

#[test]
fn tshark_decodes_braid_packets() {
    let Some(version) = tshark_version() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tshark is not installed, and CI must have it (.ci/run installs it)"
        );
        eprintln!("SKIPPED: tshark not installed (install Wireshark's tshark to run this test)");
        return;
    };

    let mut cases = cases();
    cases.push(bad_checksum_case());
    assert_coverage(&cases);

    // Write the pcap.
    let pid = std::process::id();
    let pcap = std::env::temp_dir().join(format!("braid-wire-tshark-{pid}.pcap"));
    let config = std::env::temp_dir().join(format!("braid-wire-tshark-{pid}-config"));
    let _cleanup = TempFiles(vec![pcap.clone(), config.clone()]);
    let mut writer = PcapWriter::new(io::BufWriter::new(
        fs::File::create(&pcap).expect("create pcap"),
    ))
    .expect("pcap header");
    let (v4a, v4b): (SocketAddr, SocketAddr) = (
        "192.0.2.1:0".parse().expect("addr"),
        "192.0.2.2:0".parse().expect("addr"),
    );
    let (v6a, v6b): (SocketAddr, SocketAddr) = (
        "[2001:db8::1]:0".parse().expect("addr"),
        "[2001:db8::2]:0".parse().expect("addr"),
    );
    for (i, case) in cases.iter().enumerate() {
        let (src, dst) = if case.ipv6 { (v6a, v6b) } else { (v4a, v4b) };
        let at = Duration::from_secs(1_700_000_000) + Duration::from_millis(10 * i as u64);
        writer
            .write_sctp(at, src, dst, &build(case))
            .expect("write packet");
    }
    writer
        .into_inner()
        .into_inner()
        .expect("flush pcap")
        .sync_all()
        .expect("sync pcap");

    // Run tshark: CRC32c checking on, no name resolution, and an empty personal configuration
    // so a developer's preferences cannot change what it reports.
    let mut value_fields: Vec<&str> = cases
        .iter()
        .flat_map(|c| c.values.iter().map(|(f, _)| *f))
        .collect();
    value_fields.sort_unstable();
    value_fields.dedup();
    let fields: Vec<&str> = BASE_FIELDS
        .iter()
        .copied()
        .chain(value_fields.iter().copied())
        .chain(["_ws.expert.message"])
        .collect();
    fs::create_dir_all(&config).expect("config dir");
    let mut cmd = Command::new("tshark");
    cmd.env("WIRESHARK_CONFIG_DIR", &config)
        .arg("-n")
        .arg("-r")
        .arg(&pcap)
        .args(["-o", "sctp.checksum:crc-32c"])
        .args(["-T", "fields"])
        .args(["-E", "header=n", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,", "-E", "quote=n"]);
    for f in &fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tshark failed ({version}): {}\n{stderr}",
        out.status
    );

    let rows: Vec<BTreeMap<&str, &str>> = stdout
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), fields.len(), "row {line:?}");
            fields.iter().copied().zip(cols).collect()
        })
        .collect();
    assert_eq!(
        rows.len(),
        cases.len(),
        "tshark ({version}) read {} frames, {} were written\n{stdout}",
        rows.len(),
        cases.len()
    );

    for (i, (case, row)) in cases.iter().zip(&rows).enumerate() {
        let ctx = format!(
            "frame {} ({}), {version}, tshark row: {row:?}",
            i + 1,
            case.name
        );
        assert_eq!(row["frame.number"], (i + 1).to_string(), "{ctx}");

        // Checksum: verified, and good unless this is the negative control.
        let want = if case.bad_checksum {
            CHECKSUM_BAD
        } else {
            CHECKSUM_GOOD
        };
        assert_eq!(row["sctp.checksum.status"], want, "checksum status: {ctx}");

        // Nothing malformed, and no expert info of warning or error severity, nor of the
        // Malformed group at any severity (tshark's notes on padding are of that group). The
        // negative control must instead carry tshark's error-severity "Bad checksum" info.
        assert_eq!(row["_ws.malformed"], "", "malformed: {ctx}");
        let severities = numbers(row["_ws.expert.severity"]);
        let groups = numbers(row["_ws.expert.group"]);
        assert!(
            groups.iter().all(|g| g & PI_GROUP_MASK != PI_MALFORMED),
            "expert info of the Malformed group: {ctx}"
        );
        let worst = severities
            .iter()
            .map(|s| s & PI_SEVERITY_MASK)
            .max()
            .unwrap_or(0);
        if case.bad_checksum {
            assert_eq!(worst, PI_ERROR, "no Bad checksum expert info: {ctx}");
        } else {
            assert!(worst < PI_WARN, "expert info of severity {worst:#x}: {ctx}");
        }

        // Chunks, parameters and causes: types and lengths, in order.
        let want = Tree::of(&case.chunks);
        let got = Tree {
            chunks: pairs(row["sctp.chunk_type"], row["sctp.chunk_length"]),
            params: pairs(row["sctp.parameter_type"], row["sctp.parameter_length"]),
            causes: pairs(row["sctp.cause_code"], row["sctp.cause_length"]),
        };
        assert_eq!(got.chunks, want.chunks, "chunk (type, length): {ctx}");
        assert_eq!(got.params, want.params, "parameter (type, length): {ctx}");
        assert_eq!(got.causes, want.causes, "cause (code, length): {ctx}");

        for (field, expected) in &case.values {
            assert_eq!(normalise(row[field]), *expected, "field {field}: {ctx}");
        }
    }
}

/// The cases hold every chunk type, parameter type and cause code braid-wire knows, an unknown
/// one of each, both ABORT flavours, a SACK with gaps and duplicates, and I-DATA first and
/// middle fragments: a new type added to braid-wire without a case here fails this.
fn assert_coverage(cases: &[Case]) {
    let mut chunk_types = std::collections::BTreeSet::new();
    let mut param_types = std::collections::BTreeSet::new();
    let mut cause_codes = std::collections::BTreeSet::new();
    let mut flavours = std::collections::BTreeSet::new();
    for case in cases.iter().filter(|c| !c.bad_checksum) {
        let tree = Tree::of(&case.chunks);
        chunk_types.extend(tree.chunks.iter().map(|&(t, _)| t as u8));
        param_types.extend(tree.params.iter().map(|&(t, _)| t as u16));
        cause_codes.extend(tree.causes.iter().map(|&(t, _)| t as u16));
        for c in &case.chunks {
            match c {
                Chunk::Abort(a) => {
                    flavours.insert(if a.t_bit { "ABORT T" } else { "ABORT" });
                    if a.causes.len() > 1 {
                        flavours.insert("ABORT with causes");
                    }
                }
                Chunk::Sack(s) if !s.gap_blocks.is_empty() && !s.duplicate_tsns.is_empty() => {
                    flavours.insert("SACK with gaps and dups");
                }
                Chunk::IData(d) if d.beginning && !d.ending => {
                    flavours.insert("I-DATA first");
                }
                Chunk::IData(d) if !d.beginning && !d.ending => {
                    flavours.insert("I-DATA middle");
                }
                _ => {}
            }
        }
    }
    let missing_chunks: Vec<u8> = (0..=255u8)
        .filter(|&t| braid_wire::chunk_type::name(t).is_some() && !chunk_types.contains(&t))
        .collect();
    assert!(
        missing_chunks.is_empty(),
        "chunk types not covered: {missing_chunks:?}"
    );
    assert!(
        chunk_types
            .iter()
            .any(|&t| braid_wire::chunk_type::name(t).is_none()),
        "no unknown chunk type"
    );
    let missing_params: Vec<u16> = (0..=u16::MAX)
        .filter(|&t| param::param_type::is_known(t) && !param_types.contains(&t))
        .collect();
    assert!(
        missing_params.is_empty(),
        "parameter types not covered: {missing_params:x?}"
    );
    assert!(
        param_types.iter().any(|&t| !param::param_type::is_known(t)),
        "no unknown parameter type"
    );
    let missing_causes: Vec<u16> = cause::code::KNOWN
        .iter()
        .copied()
        .filter(|c| !cause_codes.contains(c))
        .collect();
    assert!(
        missing_causes.is_empty(),
        "cause codes not covered: {missing_causes:x?}"
    );
    assert!(
        cause_codes.iter().any(|&c| !cause::code::is_known(c)),
        "no unknown cause code"
    );
    assert_eq!(
        flavours.len(),
        6,
        "missing one of ABORT / ABORT T / ABORT with causes / SACK with gaps and dups / \
         I-DATA first / I-DATA middle: {flavours:?}"
    );
}
