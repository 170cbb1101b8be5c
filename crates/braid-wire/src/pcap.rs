//! Classic pcap files holding SCTP packets: write Braid's packet logs so they open in Wireshark,
//! and read captures made by other stacks.
//!
//! # Writing
//!
//! [`PcapWriter`] writes a classic (libpcap) file with microsecond timestamps and link type
//! [`LINKTYPE_RAW`]: every record starts with an IPv4 or IPv6 header that the writer makes up
//! around the SCTP bytes it is given, so no Ethernet addresses need inventing.
//!
//! * [`PcapWriter::write_sctp`] wraps a packet as raw SCTP (IP protocol 132).
//! * [`PcapWriter::write_udp_encapsulated`] wraps it in UDP as RFC 6951 does. Wireshark decodes
//!   SCTP over UDP port [`SCTP_OVER_UDP_PORT`] (9899) by itself; for any other port use
//!   *Analyze → Decode As…* (or `tshark -d udp.port==PORT,sctp`).
//!
//! ```
//! use braid_wire::pcap::{sctp_payload, PcapReader, PcapWriter};
//! use std::time::Duration;
//!
//! // An SCTP common header (ports 5000 → 5001, tag 1, checksum 0) and nothing else.
//! let sctp = [0x13, 0x88, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0];
//! let (a, b) = ("192.0.2.1:0".parse()?, "192.0.2.2:0".parse()?);
//!
//! let mut writer = PcapWriter::new(Vec::new())?;
//! writer.write_sctp(Duration::from_millis(1500), a, b, &sctp)?;
//! let file = writer.into_inner();
//!
//! let mut reader = PcapReader::new(&file[..])?;
//! let record = reader.next_record()?.expect("one record");
//! let frame = sctp_payload(reader.link_type(), &record.data).expect("an SCTP packet");
//! assert_eq!(&frame.sctp[..], &sctp[..]);
//! assert_eq!(frame.src, a.ip());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Reading
//!
//! [`PcapReader`] reads classic pcap in either byte order, with microsecond or nanosecond
//! timestamps. pcapng is not read; it is recognised and reported as [`PcapError::Pcapng`]
//! (`editcap -F pcap in.pcapng out.pcap` converts). Record sizes are bounded by the file's
//! snapshot length and by [`MAX_RECORD_LEN`], so a corrupt length field cannot make the reader
//! allocate more than that.
//!
//! [`sctp_payload`] then finds the SCTP packet inside a captured frame: it strips the link-layer
//! header (Ethernet with an optional 802.1Q tag, Linux cooked capture v1/v2, BSD loopback, raw
//! IP), the IPv4 or IPv6 header (with IPv4 options or IPv6 extension headers) and, for RFC 6951
//! encapsulation, the UDP header. The result is a zero-copy slice of the frame.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;

/// BSD loopback: a 4-byte address family in the capturing host's byte order, then IP.
pub const LINKTYPE_NULL: u32 = 0;
/// Ethernet II, optionally with one 802.1Q VLAN tag.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Raw IP: the record starts with an IPv4 or IPv6 header. The link type [`PcapWriter`] writes.
pub const LINKTYPE_RAW: u32 = 101;
/// OpenBSD loopback: as [`LINKTYPE_NULL`], with the family in network byte order.
pub const LINKTYPE_LOOP: u32 = 108;
/// Linux "cooked" capture, version 1 (16-byte header).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// Raw IPv4 only.
pub const LINKTYPE_IPV4: u32 = 228;
/// Raw IPv6 only.
pub const LINKTYPE_IPV6: u32 = 229;
/// Linux "cooked" capture, version 2 (20-byte header).
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// The UDP port IANA assigned to SCTP over UDP (RFC 6951 §5.1), which Wireshark decodes as SCTP
/// by default.
pub const SCTP_OVER_UDP_PORT: u16 = 9899;

/// The largest record [`PcapReader`] accepts (256 KiB, the snapshot length of current tcpdump),
/// whatever the file's header claims.
pub const MAX_RECORD_LEN: u32 = 256 * 1024;

/// The snapshot length [`PcapWriter`] declares; no record it writes is longer.
const WRITER_SNAPLEN: u32 = 65_535;

/// IP protocol number of SCTP.
const IPPROTO_SCTP: u8 = 132;
/// IP protocol number of UDP.
const IPPROTO_UDP: u8 = 17;
/// Size of the SCTP common header: the least [`sctp_payload`] accepts as an SCTP packet.
const SCTP_COMMON_HEADER_LEN: usize = 12;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const MAGIC_PCAPNG: u32 = 0x0a0d_0d0a;
const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

/// Why a pcap file could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PcapError {
    /// The underlying reader failed.
    #[error("pcap: I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with a classic pcap magic number. The value is the first four
    /// bytes read as a big-endian number (as a hex dump shows them).
    #[error("pcap: bad magic number {0:#010x}, not a pcap file")]
    BadMagic(u32),
    /// The file is pcapng, which this reader does not read (`editcap -F pcap` converts it).
    #[error(
        "pcap: this is a pcapng file; only classic pcap is read (convert with `editcap -F pcap`)"
    )]
    Pcapng,
    /// A record claims more captured bytes than the snapshot length or [`MAX_RECORD_LEN`] allow.
    #[error("pcap: record of {0} bytes exceeds the snapshot length or the 256 KiB limit")]
    RecordTooLarge(u32),
    /// The file ends inside the global header, a record header or a record's data.
    #[error("pcap: file is truncated")]
    Truncated,
}

/// Writes a classic pcap file (link type [`LINKTYPE_RAW`], microsecond timestamps) of SCTP
/// packets, making up the IP (and UDP) headers around them.
///
/// Each `write_*` call issues one `write_all` of the whole record; the writer keeps no buffer of
/// its own, so wrap a file in a [`std::io::BufWriter`].
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    inner: W,
    /// Scratch space for one record, reused so writing does not allocate per packet.
    buf: Vec<u8>,
    /// The next IPv4 identification field (a counter, which makes Wireshark's view readable).
    ip_id: u16,
}

impl<W: Write> PcapWriter<W> {
    /// Starts a file on `inner` by writing the pcap global header (magic `0xa1b2c3d4` in little
    /// endian, version 2.4, snapshot length 65535, link type [`LINKTYPE_RAW`]).
    pub fn new(mut inner: W) -> io::Result<Self> {
        let mut header = [0u8; GLOBAL_HEADER_LEN];
        let fields = [
            &MAGIC_MICROS.to_le_bytes()[..],
            &2u16.to_le_bytes()[..], // version major
            &4u16.to_le_bytes()[..], // version minor
            &0i32.to_le_bytes()[..], // thiszone: timestamps are UTC
            &0u32.to_le_bytes()[..], // sigfigs
            &WRITER_SNAPLEN.to_le_bytes()[..],
            &LINKTYPE_RAW.to_le_bytes()[..],
        ];
        let mut rest = &mut header[..];
        for field in fields {
            rest.write_all(field)?;
        }
        inner.write_all(&header)?;
        Ok(Self {
            inner,
            buf: Vec::with_capacity(2048),
            ip_id: 0,
        })
    }

    /// Writes one SCTP packet (`sctp`: the common header onwards, as given) carried directly in
    /// IP (protocol 132).
    ///
    /// The IP header is IPv4 (TTL 64, Don't Fragment set, header checksum filled in) when both
    /// addresses are IPv4, and IPv6 (hop limit 64) otherwise; an IPv4 address beside an IPv6 one
    /// is written as IPv4-mapped IPv6 (`::ffff:a.b.c.d`). The ports of `src` and `dst` are
    /// ignored: the SCTP common header carries its own.
    ///
    /// `timestamp` is the time since the Unix epoch (or since any origin the reader agrees on,
    /// such as the start of a simulation); it is written with microsecond resolution.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] when the IP packet would exceed 65535 bytes (the IPv4
    /// total length field's limit and this file's snapshot length) or the timestamp's seconds do
    /// not fit in 32 bits; any error of the underlying writer.
    pub fn write_sctp(
        &mut self,
        timestamp: Duration,
        src: SocketAddr,
        dst: SocketAddr,
        sctp: &[u8],
    ) -> io::Result<()> {
        self.write_packet(timestamp, src.ip(), dst.ip(), None, sctp)
    }

    /// Writes one SCTP packet encapsulated in UDP as RFC 6951 does: IP header, UDP header with
    /// the ports of `src` and `dst`, then the SCTP bytes as given.
    ///
    /// The IP header is chosen as for [`write_sctp`](Self::write_sctp). The UDP checksum is 0
    /// ("not computed", allowed) over IPv4, and computed over IPv6, where it is mandatory.
    ///
    /// Wireshark decodes SCTP over UDP port [`SCTP_OVER_UDP_PORT`] (9899) by default; for other
    /// ports tell it with *Decode As…* (`tshark -d udp.port==PORT,sctp`). Likewise
    /// [`sctp_payload`] looks at port 9899 only, [`sctp_payload_on_ports`] at any given ports.
    ///
    /// # Errors
    ///
    /// As [`write_sctp`](Self::write_sctp).
    pub fn write_udp_encapsulated(
        &mut self,
        timestamp: Duration,
        src: SocketAddr,
        dst: SocketAddr,
        sctp: &[u8],
    ) -> io::Result<()> {
        self.write_packet(
            timestamp,
            src.ip(),
            dst.ip(),
            Some((src.port(), dst.port())),
            sctp,
        )
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Gives back the underlying writer. Nothing is buffered here, so nothing is lost; flush the
    /// returned writer if it buffers.
    pub fn into_inner(self) -> W {
        self.inner
    }

    fn write_packet(
        &mut self,
        timestamp: Duration,
        src: IpAddr,
        dst: IpAddr,
        udp_ports: Option<(u16, u16)>,
        sctp: &[u8],
    ) -> io::Result<()> {
        let (src, dst) = same_family(src, dst);
        let ip_header_len = match src {
            IpAddr::V4(_) => 20,
            IpAddr::V6(_) => 40,
        };
        let udp_len = if udp_ports.is_some() { 8 } else { 0 };
        let transport_len = udp_len + sctp.len();
        let ip_len = ip_header_len + transport_len;
        let Ok(ip_len_u16) = u16::try_from(ip_len) else {
            return Err(invalid_input(format!(
                "pcap: IP packet of {ip_len} bytes exceeds the 65535-byte limit"
            )));
        };
        let Ok(ts_secs) = u32::try_from(timestamp.as_secs()) else {
            return Err(invalid_input(format!(
                "pcap: timestamp {timestamp:?} does not fit in 32-bit seconds"
            )));
        };
        // Both fit in u16: transport_len < ip_len.
        let transport_len_u16 = ip_len_u16 - ip_header_len as u16;
        let proto = if udp_ports.is_some() {
            IPPROTO_UDP
        } else {
            IPPROTO_SCTP
        };

        let buf = &mut self.buf;
        buf.clear();
        // Record header: ts_sec, ts_usec, incl_len, orig_len.
        buf.extend_from_slice(&ts_secs.to_le_bytes());
        buf.extend_from_slice(&timestamp.subsec_micros().to_le_bytes());
        buf.extend_from_slice(&u32::from(ip_len_u16).to_le_bytes());
        buf.extend_from_slice(&u32::from(ip_len_u16).to_le_bytes());

        let ip_start = buf.len();
        let mut v6 = None;
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let id = self.ip_id;
                self.ip_id = self.ip_id.wrapping_add(1);
                buf.push(0x45); // version 4, IHL 5
                buf.push(0); // DSCP / ECN
                buf.extend_from_slice(&ip_len_u16.to_be_bytes());
                buf.extend_from_slice(&id.to_be_bytes());
                buf.extend_from_slice(&0x4000u16.to_be_bytes()); // DF, offset 0
                buf.push(64); // TTL
                buf.push(proto);
                buf.extend_from_slice(&[0, 0]); // checksum, filled in below
                buf.extend_from_slice(&s.octets());
                buf.extend_from_slice(&d.octets());
                let checksum = internet_checksum(buf.get(ip_start..).unwrap_or_default(), 0);
                if let Some(field) = buf.get_mut(ip_start + 10..ip_start + 12) {
                    field.copy_from_slice(&checksum.to_be_bytes());
                }
            }
            (s, d) => {
                let (s, d) = (to_v6(s), to_v6(d));
                v6 = Some((s, d));
                buf.extend_from_slice(&0x6000_0000u32.to_be_bytes()); // version, class, flow
                buf.extend_from_slice(&transport_len_u16.to_be_bytes());
                buf.push(proto);
                buf.push(64); // hop limit
                buf.extend_from_slice(&s.octets());
                buf.extend_from_slice(&d.octets());
            }
        }

        if let Some((sport, dport)) = udp_ports {
            let udp_start = buf.len();
            buf.extend_from_slice(&sport.to_be_bytes());
            buf.extend_from_slice(&dport.to_be_bytes());
            buf.extend_from_slice(&transport_len_u16.to_be_bytes());
            buf.extend_from_slice(&[0, 0]); // checksum: 0 = none (IPv4), filled in for IPv6
            buf.extend_from_slice(sctp);
            if let Some((s, d)) = v6 {
                // RFC 8200 §8.1 pseudo-header: source, destination, upper-layer length, next
                // header. RFC 768: a computed checksum of zero is sent as all ones.
                let mut pseudo = 0u64;
                pseudo = ones_sum(pseudo, &s.octets());
                pseudo = ones_sum(pseudo, &d.octets());
                pseudo = ones_sum(pseudo, &u32::from(transport_len_u16).to_be_bytes());
                pseudo = ones_sum(pseudo, &[0, 0, 0, IPPROTO_UDP]);
                let checksum =
                    match internet_checksum(buf.get(udp_start..).unwrap_or_default(), pseudo) {
                        0 => 0xffff,
                        c => c,
                    };
                if let Some(field) = buf.get_mut(udp_start + 6..udp_start + 8) {
                    field.copy_from_slice(&checksum.to_be_bytes());
                }
            }
        } else {
            buf.extend_from_slice(sctp);
        }
        self.inner.write_all(&self.buf)
    }
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Both addresses in one family: IPv4 if both are, otherwise both IPv6 (IPv4-mapped).
fn same_family(src: IpAddr, dst: IpAddr) -> (IpAddr, IpAddr) {
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => (src, dst),
        _ => (IpAddr::V6(to_v6(src)), IpAddr::V6(to_v6(dst))),
    }
}

fn to_v6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// Adds `data` as big-endian 16-bit words (an odd last byte padded with zero) to a one's
/// complement accumulator.
fn ones_sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        if let [hi, lo] = word {
            acc += u64::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

/// The Internet checksum (RFC 1071) of `data`, starting from the partial sum `initial`.
fn internet_checksum(data: &[u8], initial: u64) -> u16 {
    let mut sum = ones_sum(initial, data);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One record of a pcap file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapRecord {
    /// When the packet was captured: time since the Unix epoch, as the file stores it.
    pub timestamp: Duration,
    /// The captured bytes, starting with the link-layer header of the file's
    /// [link type](PcapReader::link_type).
    pub data: Bytes,
    /// The packet's length on the wire, which exceeds `data.len()` when the capture cut it short.
    pub original_len: u32,
}

/// Reads a classic pcap file, record by record.
///
/// Reads both byte orders and both timestamp resolutions (microseconds, magic `0xa1b2c3d4`, and
/// nanoseconds, magic `0xa1b23c4d`). Also an [`Iterator`] of records, which ends after the first
/// error.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    inner: R,
    big_endian: bool,
    nanos: bool,
    snaplen: u32,
    link_type: u32,
    /// Set after the end of the file or an error: the position in the stream is then unknown.
    done: bool,
}

impl<R: Read> PcapReader<R> {
    /// Reads the global header from `inner`.
    ///
    /// # Errors
    ///
    /// [`PcapError::Pcapng`] for a pcapng file, [`PcapError::BadMagic`] for anything else that is
    /// not classic pcap, [`PcapError::Truncated`] when the header is incomplete, and
    /// [`PcapError::Io`] when reading fails.
    pub fn new(mut inner: R) -> Result<Self, PcapError> {
        let mut header = [0u8; GLOBAL_HEADER_LEN];
        let got = read_full(&mut inner, &mut header)?;
        let magic_bytes: [u8; 4] = field(&header, 0);
        let magic_be = u32::from_be_bytes(magic_bytes);
        // The pcapng Section Header Block type reads the same in both byte orders; report it
        // even when the file is too short for a pcap header.
        if got >= 4 && magic_be == MAGIC_PCAPNG {
            return Err(PcapError::Pcapng);
        }
        if got < GLOBAL_HEADER_LEN {
            return Err(PcapError::Truncated);
        }
        let (big_endian, nanos) = match (u32::from_le_bytes(magic_bytes), magic_be) {
            (MAGIC_MICROS, _) => (false, false),
            (MAGIC_NANOS, _) => (false, true),
            (_, MAGIC_MICROS) => (true, false),
            (_, MAGIC_NANOS) => (true, true),
            _ => return Err(PcapError::BadMagic(magic_be)),
        };
        let u32_at = |at| {
            let b: [u8; 4] = field(&header, at);
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        Ok(Self {
            big_endian,
            nanos,
            snaplen: u32_at(16),
            link_type: u32_at(20),
            inner,
            done: false,
        })
    }

    /// The link type of every record (`LINKTYPE_*`, e.g. [`LINKTYPE_ETHERNET`]): the low 16
    /// bits of the header's field, whose upper bits may hold FCS information.
    pub fn link_type(&self) -> u32 {
        self.link_type & 0xffff
    }

    /// The snapshot length the file's header declares (0 in some files: unknown).
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Whether the file's timestamps have nanosecond (rather than microsecond) resolution.
    pub fn nanosecond_resolution(&self) -> bool {
        self.nanos
    }

    /// Gives back the underlying reader, positioned after the last record read.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next record, or `None` at the end of the file.
    ///
    /// A record may hold at most the file's snapshot length (when it declares one) and never
    /// more than [`MAX_RECORD_LEN`] bytes; the buffer is allocated only after that check.
    ///
    /// # Errors
    ///
    /// [`PcapError::RecordTooLarge`] for a record over the limit, [`PcapError::Truncated`] when
    /// the file ends inside a record, [`PcapError::Io`] when reading fails. After an error (or
    /// the end) every further call returns `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<PcapRecord>, PcapError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_record();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_record(&mut self) -> Result<Option<PcapRecord>, PcapError> {
        let mut header = [0u8; RECORD_HEADER_LEN];
        match read_full(&mut self.inner, &mut header)? {
            0 => return Ok(None),
            RECORD_HEADER_LEN => {}
            _ => return Err(PcapError::Truncated),
        }
        let big_endian = self.big_endian;
        let u32_at = |at| {
            let b: [u8; 4] = field(&header, at);
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (ts_sec, ts_frac, incl_len, original_len) =
            (u32_at(0), u32_at(4), u32_at(8), u32_at(12));
        let limit = match self.snaplen {
            0 => MAX_RECORD_LEN,
            snaplen => snaplen.min(MAX_RECORD_LEN),
        };
        if incl_len > limit {
            return Err(PcapError::RecordTooLarge(incl_len));
        }
        // Bounded by MAX_RECORD_LEN just above.
        let len = incl_len as usize;
        let mut data = Vec::with_capacity(len);
        let got = (&mut self.inner)
            .take(u64::from(incl_len))
            .read_to_end(&mut data)?;
        if got < len {
            return Err(PcapError::Truncated);
        }
        let frac = if self.nanos {
            Duration::from_nanos(u64::from(ts_frac))
        } else {
            Duration::from_micros(u64::from(ts_frac))
        };
        Ok(Some(PcapRecord {
            timestamp: Duration::from_secs(u64::from(ts_sec)).saturating_add(frac),
            data: Bytes::from(data),
            original_len,
        }))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<PcapRecord, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// `N` bytes of `buf` at `at`, zeros if out of range (callers pass fixed in-range offsets).
fn field<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    buf.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

/// An SCTP packet found inside a captured frame by [`sctp_payload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpFrame {
    /// Source address of the IP header.
    pub src: IpAddr,
    /// Destination address of the IP header.
    pub dst: IpAddr,
    /// The UDP (source, destination) ports when the packet was encapsulated in UDP (RFC 6951);
    /// `None` for SCTP directly over IP.
    pub udp_ports: Option<(u16, u16)>,
    /// The SCTP packet, common header onwards: a zero-copy slice of the frame, trimmed to the
    /// length the IP (and UDP) header states.
    pub sctp: Bytes,
}

/// Finds the SCTP packet in a captured `frame` of link type `link_type`, taking SCTP over IP
/// (protocol 132) and SCTP over UDP when either UDP port is [`SCTP_OVER_UDP_PORT`] (9899).
///
/// See [`sctp_payload_on_ports`] for what is accepted; this is that function with the port list
/// `[9899]`.
pub fn sctp_payload(link_type: u32, frame: &Bytes) -> Option<SctpFrame> {
    sctp_payload_on_ports(link_type, frame, &[SCTP_OVER_UDP_PORT])
}

/// Finds the SCTP packet in a captured `frame` of link type `link_type`, taking SCTP over IP
/// (protocol 132) and SCTP encapsulated in UDP (RFC 6951) when either UDP port is in `udp_ports`.
///
/// Link types: [`LINKTYPE_ETHERNET`] (with at most one 802.1Q tag), [`LINKTYPE_LINUX_SLL`],
/// [`LINKTYPE_LINUX_SLL2`], [`LINKTYPE_RAW`], [`LINKTYPE_IPV4`], [`LINKTYPE_IPV6`],
/// [`LINKTYPE_NULL`] and [`LINKTYPE_LOOP`]. Network layers: IPv4 with options, and IPv6 after a
/// chain of hop-by-hop, routing and destination-options headers.
///
/// Returns `None` — never panics — when the frame holds something else, is malformed, is cut
/// short of the length its IP header states, is an IPv4 or IPv6 fragment, or holds fewer than the
/// 12 bytes of an SCTP common header. Bytes past the IP length (Ethernet padding) are dropped.
/// An IPv4 total length or IPv6 payload length of 0 (segmentation offload, or an IPv6
/// jumbogram) is taken to mean "the rest of the frame", as Wireshark does.
pub fn sctp_payload_on_ports(
    link_type: u32,
    frame: &Bytes,
    udp_ports: &[u16],
) -> Option<SctpFrame> {
    extract(link_type, frame, |sport, dport| {
        udp_ports.iter().any(|&p| p == sport || p == dport)
    })
}

/// Like [`sctp_payload_on_ports`], but takes the payload of every UDP datagram, whatever its
/// ports, as SCTP: for captures of SCTP over UDP on ports chosen at run time. The caller tells
/// SCTP from other UDP traffic, for instance by the CRC32c checksum
/// ([`Packet::parse`](crate::Packet::parse)).
pub fn sctp_payload_any_udp_port(link_type: u32, frame: &Bytes) -> Option<SctpFrame> {
    extract(link_type, frame, |_, _| true)
}

fn extract(
    link_type: u32,
    frame: &Bytes,
    udp_ports: impl Fn(u16, u16) -> bool,
) -> Option<SctpFrame> {
    let (offset, version) = link_payload(link_type & 0xffff, frame)?;
    let ip = frame.get(offset..)?;
    let version = match version {
        Some(v) => v,
        None => ip.first()? >> 4,
    };
    if ip.first()? >> 4 != version {
        return None;
    }
    let (src, dst, proto, start, end) = match version {
        4 => ipv4(ip)?,
        6 => ipv6(ip)?,
        _ => return None,
    };
    let (start, end) = (offset + start, offset + end);
    match proto {
        IPPROTO_SCTP => sctp_frame(frame, start, end, src, dst, None),
        IPPROTO_UDP => {
            let udp = frame.get(start..end)?;
            let sport = be16(udp, 0)?;
            let dport = be16(udp, 2)?;
            if !udp_ports(sport, dport) {
                return None;
            }
            let udp_len = usize::from(be16(udp, 4)?);
            if udp_len < 8 || udp_len > udp.len() {
                return None;
            }
            sctp_frame(
                frame,
                start + 8,
                start + udp_len,
                src,
                dst,
                Some((sport, dport)),
            )
        }
        _ => None,
    }
}

/// Where the network layer starts in a frame, and which IP version the link header announces
/// (`None`: look at the version nibble).
fn link_payload(link_type: u32, frame: &[u8]) -> Option<(usize, Option<u8>)> {
    let by_ethertype = |ethertype: u16| match ethertype {
        0x0800 => Some(4),
        0x86dd => Some(6),
        _ => None,
    };
    match link_type {
        LINKTYPE_NULL | LINKTYPE_LOOP => Some((4, None)),
        LINKTYPE_RAW => Some((0, None)),
        LINKTYPE_IPV4 => Some((0, Some(4))),
        LINKTYPE_IPV6 => Some((0, Some(6))),
        LINKTYPE_ETHERNET => match be16(frame, 12)? {
            0x8100 => Some((18, Some(by_ethertype(be16(frame, 16)?)?))),
            ethertype => Some((14, Some(by_ethertype(ethertype)?))),
        },
        // Packet type (2), ARPHRD (2), address length (2), address (8), protocol (2).
        LINKTYPE_LINUX_SLL => Some((16, Some(by_ethertype(be16(frame, 14)?)?))),
        // Protocol (2), reserved (2), interface (4), ARPHRD (2), packet type (1), address
        // length (1), address (8).
        LINKTYPE_LINUX_SLL2 => Some((20, Some(by_ethertype(be16(frame, 0)?)?))),
        _ => None,
    }
}

/// Parses an IPv4 header at the start of `ip`: (source, destination, protocol, payload start,
/// payload end), offsets relative to `ip`.
fn ipv4(ip: &[u8]) -> Option<(IpAddr, IpAddr, u8, usize, usize)> {
    let header_len = usize::from(ip.first()? & 0x0f) * 4;
    if header_len < 20 || header_len > ip.len() {
        return None;
    }
    let total_len = match usize::from(be16(ip, 2)?) {
        0 => ip.len(),
        n => n,
    };
    if total_len < header_len || total_len > ip.len() {
        return None;
    }
    // More Fragments set or a non-zero fragment offset: not a whole SCTP packet.
    if be16(ip, 6)? & 0x3fff != 0 {
        return None;
    }
    let proto = *ip.get(9)?;
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
    Some((
        IpAddr::V4(Ipv4Addr::from(src)),
        IpAddr::V4(Ipv4Addr::from(dst)),
        proto,
        header_len,
        total_len,
    ))
}

/// Parses an IPv6 header and its extension headers at the start of `ip`, as [`ipv4`] does.
fn ipv6(ip: &[u8]) -> Option<(IpAddr, IpAddr, u8, usize, usize)> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const DESTINATION_OPTIONS: u8 = 60;
    let end = match usize::from(be16(ip, 4)?) {
        0 => ip.len(),
        n => 40 + n,
    };
    if end < 40 || end > ip.len() {
        return None;
    }
    let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
    let mut next = *ip.get(6)?;
    let mut pos = 40;
    loop {
        match next {
            // RFC 8200 §4.3–4.6: next header (1), length in 8-octet units after the first 8.
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS => {
                let ext = ip.get(pos..end)?;
                next = *ext.first()?;
                let len = (usize::from(*ext.get(1)?) + 1) * 8;
                if len > ext.len() {
                    return None;
                }
                pos += len;
            }
            FRAGMENT => return None,
            proto => {
                return Some((
                    IpAddr::V6(Ipv6Addr::from(src)),
                    IpAddr::V6(Ipv6Addr::from(dst)),
                    proto,
                    pos,
                    end,
                ))
            }
        }
    }
}

fn sctp_frame(
    frame: &Bytes,
    start: usize,
    end: usize,
    src: IpAddr,
    dst: IpAddr,
    udp_ports: Option<(u16, u16)>,
) -> Option<SctpFrame> {
    if start > end || end > frame.len() || end - start < SCTP_COMMON_HEADER_LEN {
        return None;
    }
    Some(SctpFrame {
        src,
        dst,
        udp_ports,
        sctp: frame.slice(start..end),
    })
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(buf.get(at..at + 2)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small SCTP packet: common header (ports 5000 → 5001, tag 0x01020304, checksum 0) and a
    /// HEARTBEAT chunk with 8 bytes of info.
    fn sample_sctp() -> Vec<u8> {
        let mut p = vec![0x13, 0x88, 0x13, 0x89, 1, 2, 3, 4, 0, 0, 0, 0];
        p.extend_from_slice(&[4, 0, 0, 12, 0, 1, 0, 8, 0xde, 0xad, 0xbe, 0xef]);
        p
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    fn read_all(file: &[u8]) -> (u32, Vec<PcapRecord>) {
        let mut reader = PcapReader::new(file).expect("global header");
        let link = reader.link_type();
        let records = reader
            .by_ref()
            .collect::<Result<Vec<_>, _>>()
            .expect("records");
        (link, records)
    }

    /// One raw-IP frame as the writer makes it.
    fn raw_frame(udp: bool, src: &str, dst: &str, sctp: &[u8]) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        if udp {
            w.write_udp_encapsulated(Duration::ZERO, addr(src), addr(dst), sctp)
        } else {
            w.write_sctp(Duration::ZERO, addr(src), addr(dst), sctp)
        }
        .expect("write");
        let file = w.into_inner();
        file[GLOBAL_HEADER_LEN + RECORD_HEADER_LEN..].to_vec()
    }

    #[test]
    fn global_header_layout() {
        let file = PcapWriter::new(Vec::new()).expect("header").into_inner();
        assert_eq!(
            file,
            [
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101,
                0, 0, 0
            ]
        );
    }

    #[test]
    fn round_trip_ipv4_raw() {
        let sctp = sample_sctp();
        let (a, b) = (addr("192.0.2.1:1111"), addr("198.51.100.7:2222"));
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        let ts = Duration::new(1_700_000_000, 123_456_789);
        w.write_sctp(ts, a, b, &sctp).expect("write");
        w.write_sctp(ts + Duration::from_millis(5), b, a, &sctp[..12])
            .expect("write");
        w.flush().expect("flush");
        let (link, records) = read_all(&w.into_inner());
        assert_eq!(link, LINKTYPE_RAW);
        assert_eq!(records.len(), 2);
        let r = &records[0];
        assert_eq!(r.timestamp, Duration::new(1_700_000_000, 123_456_000));
        assert_eq!(r.original_len as usize, r.data.len());
        assert_eq!(r.data.len(), 20 + sctp.len());
        let ip = &r.data[..20];
        assert_eq!(ip[0], 0x45);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]) as usize, 20 + sctp.len());
        assert_eq!(
            u16::from_be_bytes([ip[6], ip[7]]),
            0x4000,
            "DF, no fragment"
        );
        assert_eq!(ip[8], 64, "TTL");
        assert_eq!(ip[9], 132);
        assert_eq!(internet_checksum(ip, 0), 0, "IPv4 header checksum verifies");
        let f = sctp_payload(link, &r.data).expect("sctp");
        assert_eq!(&f.sctp[..], &sctp[..]);
        assert_eq!((f.src, f.dst, f.udp_ports), (a.ip(), b.ip(), None));
        let f = sctp_payload(link, &records[1].data).expect("sctp");
        assert_eq!(&f.sctp[..], &sctp[..12]);
        assert_eq!((f.src, f.dst), (b.ip(), a.ip()));
        assert_eq!(internet_checksum(&records[1].data[..20], 0), 0);
        assert_ne!(
            records[0].data[4..6],
            records[1].data[4..6],
            "IP ids count up"
        );
    }

    #[test]
    fn round_trip_ipv6_raw() {
        let sctp = sample_sctp();
        let (a, b) = (addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2"));
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        w.write_sctp(Duration::from_micros(42), a, b, &sctp)
            .expect("write");
        let (link, records) = read_all(&w.into_inner());
        let r = &records[0];
        assert_eq!(r.timestamp, Duration::from_micros(42));
        assert_eq!(r.data.len(), 40 + sctp.len());
        assert_eq!(r.data[0] >> 4, 6);
        assert_eq!(
            u16::from_be_bytes([r.data[4], r.data[5]]) as usize,
            sctp.len()
        );
        assert_eq!((r.data[6], r.data[7]), (132, 64));
        let f = sctp_payload(link, &r.data).expect("sctp");
        assert_eq!(&f.sctp[..], &sctp[..]);
        assert_eq!((f.src, f.dst, f.udp_ports), (a.ip(), b.ip(), None));
    }

    #[test]
    fn round_trip_ipv4_udp() {
        let sctp = sample_sctp();
        let (a, b) = (addr("10.0.0.1:9899"), addr("10.0.0.2:40000"));
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        w.write_udp_encapsulated(Duration::from_secs(3), a, b, &sctp)
            .expect("write");
        w.write_udp_encapsulated(Duration::from_secs(4), addr("10.0.0.1:5000"), b, &sctp)
            .expect("write");
        let (link, records) = read_all(&w.into_inner());
        let r = &records[0];
        assert_eq!(r.data.len(), 28 + sctp.len());
        assert_eq!(r.data[9], 17);
        assert_eq!(internet_checksum(&r.data[..20], 0), 0);
        let udp = &r.data[20..28];
        assert_eq!(
            u16::from_be_bytes([udp[4], udp[5]]) as usize,
            8 + sctp.len()
        );
        assert_eq!(&udp[6..8], &[0, 0], "no UDP checksum over IPv4");
        let f = sctp_payload(link, &r.data).expect("sctp");
        assert_eq!(&f.sctp[..], &sctp[..]);
        assert_eq!(
            (f.src, f.dst, f.udp_ports),
            (a.ip(), b.ip(), Some((9899, 40000)))
        );
        // Port 9899 on neither side: only found when the port is named.
        assert_eq!(sctp_payload(link, &records[1].data), None);
        let f = sctp_payload_on_ports(link, &records[1].data, &[5000]).expect("sctp");
        assert_eq!(f.udp_ports, Some((5000, 40000)));
        assert_eq!(&f.sctp[..], &sctp[..]);
    }

    #[test]
    fn round_trip_ipv6_udp_with_checksum() {
        for sctp in [sample_sctp(), vec![7u8; 13]] {
            let (a, b) = (addr("[fe80::1]:40000"), addr("[2001:db8::ffff]:9899"));
            let mut w = PcapWriter::new(Vec::new()).expect("header");
            w.write_udp_encapsulated(Duration::ZERO, a, b, &sctp)
                .expect("write");
            let (link, records) = read_all(&w.into_inner());
            let r = &records[0];
            assert_eq!(r.data[6], 17);
            // Verify the UDP checksum with the pseudo-header: the sum comes out as all ones.
            let udp = &r.data[40..];
            assert_ne!(&udp[6..8], &[0, 0]);
            let mut pseudo = ones_sum(0, &r.data[8..40]);
            pseudo = ones_sum(pseudo, &(udp.len() as u32).to_be_bytes());
            pseudo = ones_sum(pseudo, &[0, 0, 0, 17]);
            assert_eq!(internet_checksum(udp, pseudo), 0);
            let f = sctp_payload(link, &r.data).expect("sctp");
            assert_eq!(&f.sctp[..], &sctp[..]);
            assert_eq!(
                (f.src, f.dst, f.udp_ports),
                (a.ip(), b.ip(), Some((40000, 9899)))
            );
        }
    }

    #[test]
    fn mixed_families_become_mapped_ipv6() {
        let frame = Bytes::from(raw_frame(
            false,
            "192.0.2.1:0",
            "[2001:db8::2]:0",
            &sample_sctp(),
        ));
        let f = sctp_payload(LINKTYPE_RAW, &frame).expect("sctp");
        assert_eq!(f.src, "::ffff:192.0.2.1".parse::<IpAddr>().expect("addr"));
        assert_eq!(f.dst, "2001:db8::2".parse::<IpAddr>().expect("addr"));
    }

    #[test]
    fn too_big_or_too_late_is_invalid_input() {
        let (a, b) = (addr("192.0.2.1:9899"), addr("192.0.2.2:9899"));
        let (c, d) = (addr("[::1]:9899"), addr("[::2]:9899"));
        let mut w = PcapWriter::new(Vec::new()).expect("header");
        let max = vec![0u8; 65_535 - 20];
        w.write_sctp(Duration::ZERO, a, b, &max)
            .expect("largest IPv4 fits");
        let big = vec![0u8; 65_535 - 20 + 1];
        let kind = |r: io::Result<()>| r.expect_err("too big").kind();
        assert_eq!(
            kind(w.write_sctp(Duration::ZERO, a, b, &big)),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(w.write_udp_encapsulated(Duration::ZERO, a, b, &max[7..])),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(w.write_sctp(Duration::ZERO, c, d, &max)),
            io::ErrorKind::InvalidInput
        );
        w.write_sctp(Duration::ZERO, c, d, &max[20..])
            .expect("largest IPv6 fits");
        let late = Duration::from_secs(u64::from(u32::MAX) + 1);
        assert_eq!(
            kind(w.write_sctp(late, a, b, &max[..12])),
            io::ErrorKind::InvalidInput
        );
        // Failed writes leave nothing behind: the file still reads as two whole records.
        let (_, records) = read_all(&w.into_inner());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].data.len(), 65_535);
    }

    fn capture(name: &str) -> (u32, Vec<PcapRecord>) {
        let path = format!(
            "{}/../../../shared/data/captures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let file = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        read_all(&file)
    }

    /// (file, link type, records, total SCTP bytes, first chunk type, first source address,
    /// first timestamp in µs), all as tshark shows them. (Timestamps are not monotonic:
    /// sctp-addip.cap runs backwards twice by a few µs.)
    const CAPTURES: [(&str, u32, usize, usize, u8, &str, u64); 6] = [
        (
            "sctp-test.cap",
            1,
            74,
            65_300,
            1,
            "192.168.170.8",
            1_108_716_598_686_079,
        ),
        (
            "sctp-addip.cap",
            113,
            38,
            8_620,
            1,
            "192.168.0.101",
            1_104_818_453_221_492,
        ),
        (
            "sctp-www.cap",
            1,
            84,
            44_728,
            1,
            "155.230.24.155",
            1_137_034_844_756_614,
        ),
        (
            "sctp_init_collision.cap",
            1,
            34,
            1_952,
            1,
            "192.168.10.105",
            1_308_993_987_444_131,
        ),
        (
            "sctp.cap",
            1,
            4,
            204,
            0,
            "10.28.6.43",
            1_088_696_689_784_578,
        ),
        (
            "sctp001.pcap",
            1,
            12,
            1_144,
            1,
            "127.0.0.1",
            1_626_374_732_086_376,
        ),
    ];

    #[test]
    fn real_captures() {
        for (name, link_type, count, sctp_bytes, first_chunk, first_src, first_micros) in CAPTURES {
            let (link, records) = capture(name);
            assert_eq!(link, link_type, "{name}");
            assert_eq!(records.len(), count, "{name}");
            let mut total = 0;
            for (i, r) in records.iter().enumerate() {
                assert_eq!(r.original_len as usize, r.data.len(), "{name} #{i}");
                let f = sctp_payload(link, &r.data)
                    .unwrap_or_else(|| panic!("{name} #{i}: no SCTP packet"));
                assert!(f.sctp.len() >= 12, "{name} #{i}");
                assert_eq!(f.sctp.len() % 4, 0, "{name} #{i}: SCTP packets are padded");
                assert_eq!(f.udp_ports, None);
                total += f.sctp.len();
            }
            assert_eq!(total, sctp_bytes, "{name}: trimmed to the IP length");
            let first = sctp_payload(link, &records[0].data).expect("first");
            assert_eq!(first.sctp[12], first_chunk, "{name}");
            assert_eq!(
                first.src,
                first_src.parse::<IpAddr>().expect("addr"),
                "{name}"
            );
            assert_eq!(
                records[0].timestamp,
                Duration::from_micros(first_micros),
                "{name}"
            );
        }
    }

    #[test]
    fn big_endian_capture_header() {
        // sctp.cap is the one big-endian file; its first record is 138 bytes at 1059465298.9 s.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/captures/sctp.cap"
        );
        let file = std::fs::read(path).expect("sctp.cap");
        assert_eq!(&file[..4], &[0xa1, 0xb2, 0xc3, 0xd4]);
        let mut reader = PcapReader::new(&file[..]).expect("header");
        assert!(!reader.nanosecond_resolution());
        assert_eq!(reader.snaplen(), 65_535);
        let r = reader.next_record().expect("ok").expect("record");
        assert_eq!(r.data.len(), 138);
    }

    /// A pcap file by hand: `magic` as stored, then the header and records in that byte order.
    fn handmade(
        big_endian: bool,
        magic: u32,
        snaplen: u32,
        records: &[(u32, u32, &[u8])],
    ) -> Vec<u8> {
        let put = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let mut v = Vec::new();
        put(&mut v, magic);
        let version = if big_endian {
            [0, 2, 0, 4]
        } else {
            [2, 0, 4, 0]
        };
        v.extend_from_slice(&version);
        put(&mut v, 0);
        put(&mut v, 0);
        put(&mut v, snaplen);
        put(&mut v, LINKTYPE_RAW);
        for &(sec, frac, data) in records {
            put(&mut v, sec);
            put(&mut v, frac);
            put(&mut v, data.len() as u32);
            put(&mut v, data.len() as u32 + 100);
            v.extend_from_slice(data);
        }
        v
    }

    #[test]
    fn nanosecond_files_in_both_byte_orders() {
        for big_endian in [false, true] {
            let file = handmade(
                big_endian,
                MAGIC_NANOS,
                0,
                &[(7, 999_999_999, b"abc"), (8, 1, b"")],
            );
            let mut reader = PcapReader::new(&file[..]).expect("header");
            assert!(reader.nanosecond_resolution());
            assert_eq!(reader.snaplen(), 0);
            let r = reader.next_record().expect("ok").expect("record");
            assert_eq!(r.timestamp, Duration::new(7, 999_999_999));
            assert_eq!((&r.data[..], r.original_len), (&b"abc"[..], 103));
            let r = reader.next_record().expect("ok").expect("record");
            assert_eq!((r.timestamp, r.data.len()), (Duration::new(8, 1), 0));
            assert!(reader.next_record().expect("end").is_none());
        }
        // Microseconds past a second carry over rather than panic.
        let file = handmade(true, MAGIC_MICROS, 100, &[(1, u32::MAX, b"x")]);
        let (_, records) = read_all(&file);
        assert_eq!(
            records[0].timestamp,
            Duration::from_secs(1) + Duration::from_micros(u64::from(u32::MAX))
        );
    }

    #[test]
    fn malformed_files_are_clean_errors() {
        let good = handmade(false, MAGIC_MICROS, 65_535, &[(1, 2, &[0x45; 30])]);
        let err = |bytes: &[u8]| PcapReader::new(bytes).expect_err("must fail");
        assert!(matches!(err(&[]), PcapError::Truncated));
        assert!(matches!(err(&good[..23]), PcapError::Truncated));
        assert!(matches!(err(&[0xd4, 0xc3]), PcapError::Truncated));
        assert!(matches!(
            err(b"GIF89a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
            PcapError::BadMagic(0x4749_4638)
        ));
        let pcapng = [
            0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a,
        ];
        assert!(matches!(err(&pcapng), PcapError::Pcapng));
        let message = err(&pcapng).to_string();
        assert!(message.contains("pcapng"), "{message}");

        // Truncated record header, truncated record data; the iterator then stops.
        for cut in [
            GLOBAL_HEADER_LEN + 1,
            GLOBAL_HEADER_LEN + 15,
            GLOBAL_HEADER_LEN + 16,
            good.len() - 1,
        ] {
            let mut reader = PcapReader::new(&good[..cut]).expect("header");
            assert!(
                matches!(reader.next(), Some(Err(PcapError::Truncated))),
                "cut at {cut}"
            );
            assert!(reader.next().is_none());
        }
        let mut reader = PcapReader::new(&good[..GLOBAL_HEADER_LEN]).expect("header");
        assert!(reader.next_record().expect("clean end").is_none());

        // A huge incl_len is refused before anything is allocated.
        let mut huge = good.clone();
        huge[GLOBAL_HEADER_LEN + 8..GLOBAL_HEADER_LEN + 12].copy_from_slice(&[0xff; 4]);
        let mut reader = PcapReader::new(&huge[..]).expect("header");
        assert!(matches!(
            reader.next_record(),
            Err(PcapError::RecordTooLarge(u32::MAX))
        ));
        assert!(reader.next().is_none());
        // Over the snapshot length, and over the hard cap when the snapshot length is 0 or huge.
        let small_snap = handmade(false, MAGIC_MICROS, 29, &[(1, 2, &[0; 30])]);
        assert!(matches!(
            PcapReader::new(&small_snap[..]).expect("h").next(),
            Some(Err(PcapError::RecordTooLarge(30)))
        ));
        let big = vec![0u8; MAX_RECORD_LEN as usize + 1];
        for snaplen in [0, u32::MAX] {
            let file = handmade(
                false,
                MAGIC_MICROS,
                snaplen,
                &[(0, 0, &big[..MAX_RECORD_LEN as usize]), (0, 0, &big)],
            );
            let mut reader = PcapReader::new(&file[..]).expect("header");
            assert_eq!(
                reader
                    .next_record()
                    .expect("at the cap")
                    .expect("record")
                    .data
                    .len(),
                big.len() - 1
            );
            assert!(
                matches!(reader.next_record(), Err(PcapError::RecordTooLarge(n)) if n as usize == big.len())
            );
        }
    }

    fn ethernet(ethertype: u16, vlan: bool, payload: &[u8]) -> Bytes {
        let mut f = vec![0x02; 12];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        Bytes::from(f)
    }

    #[test]
    fn link_layers() {
        let sctp = sample_sctp();
        let v4 = raw_frame(false, "192.0.2.1:0", "192.0.2.2:0", &sctp);
        let v6 = raw_frame(true, "[::1]:9899", "[::2]:9899", &sctp);
        let check = |link: u32, frame: Bytes, v6: bool| {
            let f = sctp_payload(link, &frame).unwrap_or_else(|| panic!("link {link}"));
            assert_eq!(&f.sctp[..], &sctp[..], "link {link}");
            assert_eq!(f.src.is_ipv6(), v6, "link {link}");
        };
        for (ip, ethertype, is_v6) in [(&v4, 0x0800, false), (&v6, 0x86dd, true)] {
            // Ethernet, with and without a VLAN tag, padded: the padding is dropped.
            let mut padded = ip.clone();
            padded.extend_from_slice(&[0; 20]);
            check(
                LINKTYPE_ETHERNET,
                ethernet(ethertype, false, &padded),
                is_v6,
            );
            check(LINKTYPE_ETHERNET, ethernet(ethertype, true, &padded), is_v6);
            // Linux cooked v1 and v2.
            let mut sll = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
            sll.extend_from_slice(&u16::to_be_bytes(ethertype));
            sll.extend_from_slice(&padded);
            check(LINKTYPE_LINUX_SLL, Bytes::from(sll), is_v6);
            let mut sll2 = u16::to_be_bytes(ethertype).to_vec();
            sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
            sll2.extend_from_slice(ip);
            check(LINKTYPE_LINUX_SLL2, Bytes::from(sll2), is_v6);
            // Loopback: the family (2 / 10, 24, 28, 30) is not needed, the version nibble tells.
            for link in [LINKTYPE_NULL, LINKTYPE_LOOP] {
                let mut null = vec![2, 0, 0, 0];
                null.extend_from_slice(ip);
                check(link, Bytes::from(null), is_v6);
            }
            check(LINKTYPE_RAW, Bytes::from(ip.clone()), is_v6);
            // Link types 228 / 229 take only their own version.
            let (own, other) = if is_v6 {
                (LINKTYPE_IPV6, LINKTYPE_IPV4)
            } else {
                (LINKTYPE_IPV4, LINKTYPE_IPV6)
            };
            check(own, Bytes::from(ip.clone()), is_v6);
            assert_eq!(sctp_payload(other, &Bytes::from(ip.clone())), None);
            // The upper bits of the link type field (FCS information) are ignored.
            check(LINKTYPE_RAW | 0x1000_0000, Bytes::from(ip.clone()), is_v6);
        }
        // Other ethertypes (ARP), two VLAN tags, unknown link types: nothing.
        assert_eq!(
            sctp_payload(LINKTYPE_ETHERNET, &ethernet(0x0806, false, &v4)),
            None
        );
        let mut qinq = vec![0x81, 0x00, 0x00, 0x01];
        qinq.extend_from_slice(&[0x08, 0x00]);
        qinq.extend_from_slice(&v4);
        assert_eq!(
            sctp_payload(LINKTYPE_ETHERNET, &ethernet(0x8100, false, &qinq)),
            None
        );
        assert_eq!(sctp_payload(105, &Bytes::from(v4.clone())), None);
        // The SCTP bytes are a slice of the frame, not a copy.
        let frame = Bytes::from(v4);
        let f = sctp_payload(LINKTYPE_RAW, &frame).expect("sctp");
        assert_eq!(f.sctp.as_ptr(), frame[20..].as_ptr());
    }

    #[test]
    fn ipv4_options_and_malformed_headers() {
        let sctp = sample_sctp();
        let base = raw_frame(false, "192.0.2.1:0", "192.0.2.2:0", &sctp);
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut f = base.clone();
            edit(&mut f);
            sctp_payload(LINKTYPE_RAW, &Bytes::from(f))
        };
        // IHL 6: four bytes of options (NOP NOP NOP EOL) before the SCTP packet.
        let f = with(&|f| {
            f[0] = 0x46;
            f.splice(20..20, [1, 1, 1, 0]);
            let len = (f.len() as u16).to_be_bytes();
            f[2..4].copy_from_slice(&len);
        })
        .expect("with options");
        assert_eq!(&f.sctp[..], &sctp[..]);
        for ihl in [0, 1, 4] {
            assert_eq!(with(&|f| f[0] = 0x40 | ihl), None, "IHL {ihl}");
        }
        assert_eq!(with(&|f| f[0] = 0x4f), None, "IHL past the frame");
        assert_eq!(with(&|f| f[0] = 0x55), None, "version 5");
        assert_eq!(
            with(&|f| f[2..4].copy_from_slice(&19u16.to_be_bytes())),
            None,
            "total < IHL"
        );
        assert_eq!(
            with(&|f| f[2..4].copy_from_slice(&u16::MAX.to_be_bytes())),
            None,
            "total > frame"
        );
        assert_eq!(
            with(&|f| f[2..4].copy_from_slice(&31u16.to_be_bytes())),
            None,
            "11 SCTP bytes"
        );
        assert_eq!(
            with(&|f| f[2..4].copy_from_slice(&32u16.to_be_bytes())).map(|f| f.sctp.len()),
            Some(12)
        );
        assert_eq!(
            with(&|f| f[2..4].copy_from_slice(&[0, 0])).map(|f| f.sctp.len()),
            Some(sctp.len()),
            "TSO"
        );
        assert_eq!(with(&|f| f[6] |= 0x20), None, "more fragments");
        assert_eq!(with(&|f| f[7] = 1), None, "fragment offset");
        assert_eq!(with(&|f| f[9] = 6), None, "TCP");
        for len in 0..base.len() {
            assert_eq!(
                sctp_payload(LINKTYPE_RAW, &Bytes::copy_from_slice(&base[..len])),
                None,
                "cut at {len}"
            );
            assert_eq!(
                sctp_payload(LINKTYPE_ETHERNET, &ethernet(0x0800, true, &base[..len])),
                None
            );
        }
        for len in 0..18 {
            assert_eq!(
                sctp_payload(
                    LINKTYPE_ETHERNET,
                    &ethernet(0x8100, false, &[0; 16]).slice(..len)
                ),
                None
            );
            assert_eq!(
                sctp_payload(LINKTYPE_LINUX_SLL2, &Bytes::from(vec![8; len])),
                None
            );
        }
    }

    #[test]
    fn udp_encapsulation_edge_cases() {
        let sctp = sample_sctp();
        let base = raw_frame(true, "192.0.2.1:9899", "192.0.2.2:9899", &sctp);
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut f = base.clone();
            edit(&mut f);
            sctp_payload(LINKTYPE_RAW, &Bytes::from(f))
        };
        assert!(with(&|_| {}).is_some());
        for bad in [0u16, 7, 8 + 11, 8 + sctp.len() as u16 + 1, u16::MAX] {
            assert_eq!(
                with(&|f| f[24..26].copy_from_slice(&bad.to_be_bytes())),
                None,
                "UDP length {bad}"
            );
        }
        // A UDP length shorter than the IP payload trims the SCTP packet.
        let f = with(&|f| f[24..26].copy_from_slice(&20u16.to_be_bytes())).expect("trimmed");
        assert_eq!(&f.sctp[..], &sctp[..12]);
        // IP payload too short for a UDP header.
        assert_eq!(
            with(&|f| f[2..4].copy_from_slice(&27u16.to_be_bytes())),
            None
        );
    }

    /// An IPv6 frame whose SCTP packet follows the given extension headers (each as next-header
    /// byte + body; the next-header fields are chained here).
    fn ipv6_with_ext(exts: &[(u8, Vec<u8>)], payload_len_fix: Option<u16>) -> Bytes {
        let sctp = sample_sctp();
        let mut f = raw_frame(false, "[2001:db8::1]:0", "[2001:db8::2]:0", &sctp);
        let mut chain = Vec::new();
        for (i, (_, body)) in exts.iter().enumerate() {
            let next = exts.get(i + 1).map_or(132, |e| e.0);
            chain.push(next);
            chain.extend_from_slice(body);
        }
        if let Some((first, _)) = exts.first() {
            f[6] = *first;
        }
        f.splice(40..40, chain);
        let len = payload_len_fix.unwrap_or((f.len() - 40) as u16);
        f[4..6].copy_from_slice(&len.to_be_bytes());
        Bytes::from(f)
    }

    #[test]
    fn ipv6_extension_headers() {
        let sctp = sample_sctp();
        // Hop-by-hop (8 bytes), routing (16 bytes), destination options (8 bytes).
        let hbh = (0, vec![0, 1, 4, 0, 0, 0, 0]);
        let routing = (43, [vec![1], vec![0; 14]].concat());
        let dst_opts = (60, vec![0, 1, 4, 0, 0, 0, 0]);
        let frame = ipv6_with_ext(&[hbh.clone(), routing.clone(), dst_opts.clone()], None);
        let f = sctp_payload(LINKTYPE_RAW, &frame).expect("through the chain");
        assert_eq!(&f.sctp[..], &sctp[..]);
        // A fragment header: not a whole packet.
        let frag = (44, vec![0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            sctp_payload(LINKTYPE_RAW, &ipv6_with_ext(&[hbh.clone(), frag], None)),
            None
        );
        // A header whose length runs past the payload.
        let long = (60, vec![200, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            sctp_payload(LINKTYPE_RAW, &ipv6_with_ext(&[hbh.clone(), long], None)),
            None
        );
        // The chain runs past the payload length (the frame holds more: padding).
        let frame = ipv6_with_ext(&[hbh.clone(), routing.clone()], Some(12));
        assert_eq!(sctp_payload(LINKTYPE_RAW, &frame), None);
        // Payload length past the frame; cut inside the chain.
        let frame = ipv6_with_ext(&[hbh.clone(), routing, dst_opts], None);
        let mut over = frame.to_vec();
        over[4..6].copy_from_slice(&((frame.len() - 39) as u16).to_be_bytes());
        assert_eq!(sctp_payload(LINKTYPE_RAW, &Bytes::from(over)), None);
        for len in 0..frame.len() {
            assert_eq!(
                sctp_payload(LINKTYPE_RAW, &frame.slice(..len)),
                None,
                "cut at {len}"
            );
        }
        // A chain of nothing but extension headers.
        let mut only = frame.to_vec();
        only.truncate(40);
        only[6] = 60;
        only.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0].repeat(4));
        only[4..6].copy_from_slice(&32u16.to_be_bytes());
        assert_eq!(sctp_payload(LINKTYPE_RAW, &Bytes::from(only)), None);
    }

    const LINK_TYPES: [u32; 9] = [
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        LINKTYPE_LOOP,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_LINUX_SLL2,
        12345,
    ];

    proptest! {
        #[test]
        fn sctp_payload_never_panics(
            link in proptest::sample::select(&LINK_TYPES[..]),
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Some(f) = sctp_payload(link, &Bytes::from(bytes)) {
                prop_assert!(f.sctp.len() >= 12);
            }
        }

        /// Valid frames with a few bytes changed and cut short anywhere reach the deeper checks.
        #[test]
        fn mutated_frames_never_panic(
            v6 in any::<bool>(),
            udp in any::<bool>(),
            link in proptest::sample::select(&LINK_TYPES[..]),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let (a, b) = if v6 { ("[::1]:9899", "[::2]:1") } else { ("10.0.0.1:9899", "10.0.0.2:1") };
            let mut f = match link {
                LINKTYPE_ETHERNET => ethernet(if v6 { 0x86dd } else { 0x0800 }, false, &[]).to_vec(),
                LINKTYPE_NULL | LINKTYPE_LOOP => vec![0; 4],
                LINKTYPE_LINUX_SLL => [vec![0; 14], vec![0x86, 0xdd]].concat(),
                LINKTYPE_LINUX_SLL2 => [vec![0x86, 0xdd], vec![0; 18]].concat(),
                _ => Vec::new(),
            };
            f.extend_from_slice(&raw_frame(udp, a, b, &sample_sctp()));
            for (at, byte) in edits {
                let i = at.index(f.len());
                f[i] = byte;
            }
            let len = cut.index(f.len() + 1);
            f.truncate(len);
            if let Some(found) = sctp_payload(link, &Bytes::from(f)) {
                prop_assert!(found.sctp.len() >= 12);
            }
        }

        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), nanos in any::<bool>()) {
            let mut file = if nanos { vec![0x4d, 0x3c, 0xb2, 0xa1] } else { vec![0xd4, 0xc3, 0xb2, 0xa1] };
            file.extend_from_slice(&bytes);
            if let Ok(reader) = PcapReader::new(&file[..]) {
                // The iterator ends after the first error, so `flatten` sees every record read.
                for r in reader.take(100).flatten() {
                    prop_assert!(r.data.len() <= MAX_RECORD_LEN as usize);
                }
            }
        }
    }
}
