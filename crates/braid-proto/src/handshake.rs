//! INIT / INIT ACK building and checking, shared by the endpoint's stateless path and by
//! associations (collisions, restarts, and a standalone association that listens).

use core::time::Duration;
use std::time::Instant;

use braid_wire::chunk::chunk_type;
use braid_wire::param::Parameter;
use braid_wire::{Bytes, ErrorCause, Init, Tsn, UnrecognizedAction};

use crate::config::AssociationConfig;
use crate::cookie::{CookieContents, CookieKeys, Negotiated};

/// What to do with an INIT (or INIT ACK) whose fixed fields are wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InitProblem {
    /// RFC 9260 §3.3.2: an Initiate Tag of 0 — silently discard the packet.
    Discard,
    /// Answer with an ABORT carrying this cause (RFC 9260 §3.3.2: OS or MIS of 0 SHOULD
    /// abort; §5.1.2: a Host Name Address MUST be answered with "Unresolvable Address").
    Abort(ErrorCause),
}

/// Checks the fixed fields of an INIT or INIT ACK.
pub(crate) fn check_init(init: &Init) -> Result<(), InitProblem> {
    if init.initiate_tag == 0 {
        return Err(InitProblem::Discard);
    }
    if init.outbound_streams == 0 || init.inbound_streams == 0 {
        return Err(InitProblem::Abort(ErrorCause::InvalidMandatoryParameter));
    }
    for p in &init.params {
        if p.is_deprecated() {
            // RFC 9260 §5.1.2: the Host Name Address parameter is deprecated; its receiver
            // MUST abort with an "Unresolvable Address" cause carrying it.
            let mut tlv = Vec::with_capacity(p.encoded_len());
            p.write(&mut tlv);
            return Err(InitProblem::Abort(ErrorCause::UnresolvableAddress(
                braid_wire::cause::RawParams::new(tlv),
            )));
        }
    }
    Ok(())
}

/// What the peer's INIT / INIT ACK parameters say, after the RFC 9260 §3.2.1 rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeerParams {
    pub(crate) partial_reliability: bool,
    pub(crate) interleaving: bool,
    pub(crate) stream_reconfig: bool,
    pub(crate) zero_checksum_edmid: Option<u32>,
    /// Requested cookie life-span increment, in ms (RFC 9260 §3.3.2.1).
    pub(crate) cookie_preservative_ms: Option<u32>,
    /// The State Cookie (INIT ACK only).
    pub(crate) cookie: Option<Bytes>,
    /// Parameters to report as unrecognized, as complete TLVs (RFC 9260 §3.2.2).
    pub(crate) unrecognized: Vec<Bytes>,
    /// The IPv4 / IPv6 addresses listed (RFC 9260 §3.3.2.1), at most
    /// [`MAX_LISTED_ADDRESSES`].
    pub(crate) addresses: Vec<std::net::IpAddr>,
}

/// Most listed addresses taken from one INIT / INIT ACK; an association keeps at most
/// `max_paths` of them anyway.
pub(crate) const MAX_LISTED_ADDRESSES: usize = 16;

/// Applies RFC 9260 §3.2.1 to the parameters of an INIT or INIT ACK: the ones the core
/// implements are taken; any other (unknown, or known to the wire layer but not implemented
/// here, such as AUTH or ADD-IP) follows its type's upper two bits.
pub(crate) fn scan_params(params: &[Parameter]) -> PeerParams {
    let mut out = PeerParams::default();
    for p in params {
        match p {
            Parameter::Ipv4Address(ip) => {
                if out.addresses.len() < MAX_LISTED_ADDRESSES {
                    out.addresses.push((*ip).into());
                }
            }
            Parameter::Ipv6Address(ip) => {
                if out.addresses.len() < MAX_LISTED_ADDRESSES {
                    out.addresses.push((*ip).into());
                }
            }
            Parameter::SupportedAddressTypes(_) => {}
            Parameter::StateCookie(c) => out.cookie = Some(c.clone()),
            Parameter::CookiePreservative(ms) => out.cookie_preservative_ms = Some(*ms),
            Parameter::ForwardTsnSupported => out.partial_reliability = true,
            Parameter::SupportedExtensions(types) => {
                out.partial_reliability |= types.contains(&chunk_type::FORWARD_TSN);
                out.interleaving |= types.contains(&chunk_type::I_DATA);
                out.stream_reconfig |= types.contains(&chunk_type::RE_CONFIG);
            }
            Parameter::ZeroChecksumAcceptable(edmid) => out.zero_checksum_edmid = Some(*edmid),
            // ECN is not implemented; its type (0x8000, upper bits 10) says to skip it quietly,
            // which is what not recognising it would do.
            Parameter::EcnCapable => {}
            other => {
                let action = UnrecognizedAction::for_param_type(other.param_type());
                if action.reports() {
                    let mut tlv = Vec::with_capacity(other.encoded_len());
                    other.write(&mut tlv);
                    out.unrecognized.push(Bytes::from(tlv));
                }
                if !action.skips() {
                    // 00 / 01: stop processing this parameter and all that follow.
                    break;
                }
            }
        }
    }
    out
}

/// The parameters this side offers (RFC 9260 §3.3.2; RFC 3758 §3.1; RFC 5061 §4.2.7;
/// RFC 9653 §4).
pub(crate) fn offered_params(config: &AssociationConfig) -> Vec<Parameter> {
    let ext = &config.extensions;
    let mut params = Vec::new();
    let mut supported = Vec::new();
    if ext.partial_reliability {
        params.push(Parameter::ForwardTsnSupported);
        supported.push(chunk_type::FORWARD_TSN);
    }
    if ext.interleaving {
        supported.extend([chunk_type::I_DATA, chunk_type::I_FORWARD_TSN]);
    }
    if ext.stream_reconfig {
        supported.push(chunk_type::RE_CONFIG);
    }
    if !supported.is_empty() {
        params.push(Parameter::SupportedExtensions(supported));
    }
    if let Some(edmid) = ext.zero_checksum_edmid {
        params.push(Parameter::ZeroChecksumAcceptable(edmid));
    }
    params
}

/// Our INIT.
pub(crate) fn local_init(
    config: &AssociationConfig,
    tag: u32,
    initial_tsn: Tsn,
    preservative_ms: Option<u32>,
) -> Init {
    let mut params = offered_params(config);
    if let Some(ms) = preservative_ms {
        params.push(Parameter::CookiePreservative(ms));
    }
    Init {
        initiate_tag: tag,
        a_rwnd: config.receive_window,
        outbound_streams: config.outbound_streams,
        inbound_streams: config.inbound_streams,
        initial_tsn,
        params,
    }
}

/// RFC 9260 §5.1.1 stream counts and the extensions both sides offer.
pub(crate) fn negotiate(
    config: &AssociationConfig,
    local_initial_tsn: Tsn,
    peer: &Init,
    pp: &PeerParams,
) -> Negotiated {
    let ext = &config.extensions;
    let zero_checksum_tx =
        matches!((ext.zero_checksum_edmid, pp.zero_checksum_edmid), (Some(a), Some(b)) if a == b);
    Negotiated {
        outbound_streams: config.outbound_streams.min(peer.inbound_streams),
        inbound_streams: config.inbound_streams.min(peer.outbound_streams),
        partial_reliability: ext.partial_reliability && pp.partial_reliability,
        // RFC 8260 §2.2: I-DATA is used only if both sides list it.
        interleaving: ext.interleaving && pp.interleaving,
        stream_reconfig: ext.stream_reconfig && pp.stream_reconfig,
        zero_checksum_tx,
        zero_checksum_rx: ext.zero_checksum_edmid.is_some(),
        peer_a_rwnd: peer.a_rwnd,
        local_initial_tsn: local_initial_tsn.get(),
        peer_initial_tsn: peer.initial_tsn.get(),
    }
}

/// Everything needed to answer an INIT with an INIT ACK.
pub(crate) struct InitAckInput<'a> {
    pub(crate) config: &'a AssociationConfig,
    pub(crate) keys: &'a CookieKeys,
    pub(crate) now: Instant,
    pub(crate) cookie_lifetime: Duration,
    pub(crate) max_preservative: Duration,
    pub(crate) peer_init: &'a Init,
    pub(crate) peer_params: &'a PeerParams,
    pub(crate) local_tag: u32,
    pub(crate) local_initial_tsn: Tsn,
    pub(crate) local_port: u16,
    pub(crate) peer_port: u16,
    /// RFC 9260 §5.2.2: the existing association's (local, peer) tags, or zeros.
    pub(crate) tie_tags: (u32, u32),
}

/// Builds the INIT ACK value (RFC 9260 §5.1.3): our INIT parameters, a signed State Cookie,
/// and the peer's unrecognized parameters.
pub(crate) fn init_ack(input: &InitAckInput<'_>) -> Init {
    let negotiated = negotiate(
        input.config,
        input.local_initial_tsn,
        input.peer_init,
        input.peer_params,
    );
    // RFC 9260 §5.1.3 / §3.3.2.1: honour a Cookie Preservative, up to our limit.
    let extra = input
        .peer_params
        .cookie_preservative_ms
        .map_or(Duration::ZERO, |ms| {
            Duration::from_millis(u64::from(ms)).min(input.max_preservative)
        });
    let contents = CookieContents {
        created_ms: 0,
        lifetime_ms: 0,
        local_tag: input.local_tag,
        peer_tag: input.peer_init.initiate_tag,
        local_tie_tag: input.tie_tags.0,
        peer_tie_tag: input.tie_tags.1,
        negotiated,
        local_port: input.local_port,
        peer_port: input.peer_port,
    };
    let cookie = input
        .keys
        .make(input.now, input.cookie_lifetime + extra, contents);
    let mut params = offered_params(input.config);
    params.push(Parameter::StateCookie(Bytes::copy_from_slice(&cookie)));
    params.extend(
        input
            .peer_params
            .unrecognized
            .iter()
            .cloned()
            .map(Parameter::UnrecognizedParameter),
    );
    Init {
        initiate_tag: input.local_tag,
        a_rwnd: input.config.receive_window,
        outbound_streams: input.config.outbound_streams,
        inbound_streams: input.config.inbound_streams,
        initial_tsn: input.local_initial_tsn,
        params,
    }
}

/// A random non-zero 32-bit value: verification tags and initial TSNs (RFC 9260 §5.3.1).
pub(crate) fn nonzero_u32(rng: &mut impl rand_core::Rng) -> u32 {
    loop {
        let v = rng.next_u32();
        if v != 0 {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use braid_wire::param::UnknownParameter;

    fn init(params: Vec<Parameter>) -> Init {
        Init {
            initiate_tag: 9,
            a_rwnd: 1000,
            outbound_streams: 10,
            inbound_streams: 20,
            initial_tsn: Tsn(5),
            params,
        }
    }

    fn unknown(t: u16) -> Parameter {
        Parameter::Unknown(UnknownParameter {
            param_type: t,
            value: Bytes::from_static(b"xy"),
        })
    }

    #[test]
    fn upper_two_bits_of_unknown_parameters() {
        // 10: skip quietly; 11: skip and report; both go on to the next parameter.
        let pp = scan_params(&[
            unknown(0x8123),
            unknown(0xC123),
            Parameter::ForwardTsnSupported,
        ]);
        assert!(pp.partial_reliability);
        assert_eq!(pp.unrecognized.len(), 1);
        assert_eq!(&pp.unrecognized[0][..2], &[0xC1, 0x23]);
        // 00: stop quietly; 01: stop and report. Nothing after them is processed.
        let pp = scan_params(&[unknown(0x0123), Parameter::ForwardTsnSupported]);
        assert!(!pp.partial_reliability && pp.unrecognized.is_empty());
        let pp = scan_params(&[unknown(0x4123), Parameter::ForwardTsnSupported]);
        assert!(!pp.partial_reliability);
        assert_eq!(pp.unrecognized.len(), 1);
    }

    #[test]
    fn stream_counts_and_extensions() {
        let mut config = AssociationConfig {
            outbound_streams: 15,
            inbound_streams: 5,
            ..Default::default()
        };
        config.extensions.interleaving = true;
        config.extensions.stream_reconfig = true;
        let peer = init(vec![Parameter::SupportedExtensions(vec![
            chunk_type::I_DATA,
            chunk_type::FORWARD_TSN,
        ])]);
        let n = negotiate(&config, Tsn(1), &peer, &scan_params(&peer.params));
        assert_eq!((n.outbound_streams, n.inbound_streams), (15, 5));
        assert!(n.interleaving, "both offer I-DATA");
        assert!(!n.stream_reconfig, "the peer does not offer RE-CONFIG");
        assert!(!n.partial_reliability, "we do not offer PR-SCTP");
    }

    #[test]
    fn fixed_field_problems() {
        assert_eq!(
            check_init(&Init {
                initiate_tag: 0,
                ..init(vec![])
            }),
            Err(InitProblem::Discard)
        );
        assert_eq!(
            check_init(&Init {
                inbound_streams: 0,
                ..init(vec![])
            }),
            Err(InitProblem::Abort(ErrorCause::InvalidMandatoryParameter))
        );
        assert!(matches!(
            check_init(&init(vec![Parameter::HostNameAddress(Bytes::from_static(
                b"example.com"
            ))])),
            Err(InitProblem::Abort(ErrorCause::UnresolvableAddress(_)))
        ));
        assert_eq!(check_init(&init(vec![])), Ok(()));
    }
}
