//! `braid decode`: pcap or hex in, readable trace out.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use braid_wire::checksum::{packet_crc32c, stored_checksum};
use braid_wire::pcap::{
    sctp_payload_any_udp_port, sctp_payload_on_ports, PcapReader, SCTP_OVER_UDP_PORT,
};
use braid_wire::{Bytes, ChecksumPolicy, Packet};

/// Arguments of `braid decode`.
#[derive(Debug, clap::Args)]
pub(crate) struct DecodeArgs {
    /// A classic pcap file, or a text file with one hex-encoded SCTP packet per line (`-` reads
    /// standard input). Blank lines and lines starting with `#` are ignored.
    file: PathBuf,
    /// Also take SCTP over UDP (RFC 6951) on this UDP port (9899 is always taken).
    #[arg(long = "udp-port", value_name = "PORT")]
    udp_ports: Vec<u16>,
    /// Take every UDP datagram whose payload is an SCTP packet with a valid CRC32c, whatever
    /// its ports (captures made with `--pcap` by `braid server`, `client` and `perf`).
    #[arg(long)]
    udp_any: bool,
    /// Print each packet's bytes as hex under its trace line.
    #[arg(long)]
    hex: bool,
}

const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

pub(crate) fn run(args: &DecodeArgs) -> Result<(), String> {
    let mut input = Vec::new();
    if args.file.as_os_str() == "-" {
        io::stdin().read_to_end(&mut input)
    } else {
        File::open(&args.file).and_then(|mut f| f.read_to_end(&mut input))
    }
    .map_err(|e| format!("{}: {e}", args.file.display()))?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut ports = vec![SCTP_OVER_UDP_PORT];
    ports.extend(&args.udp_ports);
    let mut decoder = Decoder {
        out: &mut out,
        hex: args.hex,
        count: 0,
        first_ts: None,
    };

    let is_pcap = input
        .get(..4)
        .is_some_and(|m| PCAP_MAGICS.iter().any(|p| p == m));
    if is_pcap {
        let mut reader = PcapReader::new(&input[..]).map_err(|e| e.to_string())?;
        let link = reader.link_type();
        while let Some(rec) = reader.next_record().map_err(|e| e.to_string())? {
            let ts = rec.timestamp.as_secs_f64();
            let frame = if args.udp_any {
                sctp_payload_any_udp_port(link, &rec.data).filter(|f| {
                    braid_wire::Packet::parse(f.sctp.clone(), braid_wire::ChecksumPolicy::Crc32c)
                        .is_ok()
                })
            } else {
                sctp_payload_on_ports(link, &rec.data, &ports)
            };
            match frame {
                Some(frame) => {
                    let addrs = format!("{} > {}", frame.src, frame.dst);
                    decoder.packet(Some(ts), &addrs, frame.sctp)
                }
                None => decoder.line(Some(ts), "", "(no SCTP packet in this frame)"),
            }
            .map_err(|e| e.to_string())?;
        }
    } else {
        let text =
            String::from_utf8(input).map_err(|_| "not a pcap file and not hex text".to_string())?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bytes = parse_hex(line).ok_or_else(|| format!("line {}: not hex", n + 1))?;
            decoder
                .packet(None, "", Bytes::from(bytes))
                .map_err(|e| e.to_string())?;
        }
    }
    out.flush().map_err(|e| e.to_string())
}

struct Decoder<'a, W: Write> {
    out: &'a mut W,
    hex: bool,
    count: usize,
    first_ts: Option<f64>,
}

impl<W: Write> Decoder<'_, W> {
    fn line(&mut self, ts: Option<f64>, addrs: &str, text: &str) -> io::Result<()> {
        self.count += 1;
        let mut head = format!("{:>4}", self.count);
        if let Some(ts) = ts {
            let first = *self.first_ts.get_or_insert(ts);
            let _ = write!(head, " {:>11.6}", ts - first);
        }
        if !addrs.is_empty() {
            let _ = write!(head, "  {addrs}");
        }
        writeln!(self.out, "{head}  {text}")
    }

    fn packet(&mut self, ts: Option<f64>, addrs: &str, sctp: Bytes) -> io::Result<()> {
        let checksum = match (stored_checksum(&sctp), packet_crc32c(&sctp)) {
            (Some(0), _) => "checksum zero".to_string(),
            (Some(found), Some(crc)) if found == crc => "crc32c ok".to_string(),
            (Some(found), Some(crc)) => format!("BAD CHECKSUM {found:#010x} (crc32c {crc:#010x})"),
            _ => String::new(),
        };
        let text = match Packet::parse(sctp.clone(), ChecksumPolicy::Unchecked) {
            Ok(p) => format!("{p}  [{checksum}]"),
            Err(e) => format!("MALFORMED: {e}"),
        };
        self.line(ts, addrs, &text)?;
        if self.hex {
            for row in sctp.chunks(16) {
                let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(self.out, "        {}", hex.join(" "))?;
            }
        }
        Ok(())
    }
}

/// Hex digits with optional whitespace, `:` separators and `0x` prefixes.
fn parse_hex(line: &str) -> Option<Vec<u8>> {
    let digits: String = line
        .split(|c: char| c.is_whitespace() || c == ':')
        .map(|w| w.trim_start_matches("0x"))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("13 88 13 89"), Some(vec![0x13, 0x88, 0x13, 0x89]));
        assert_eq!(parse_hex("0x13:0x88"), Some(vec![0x13, 0x88]));
        assert_eq!(parse_hex("1388 1"), None);
        assert_eq!(parse_hex("zz"), None);
    }
}
