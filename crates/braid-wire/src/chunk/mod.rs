//! Chunks (RFC 9260 §3.2, §3.3 and the extensions): one file per chunk type.
//!
//! [`Chunk`] is the closed enum of every chunk Braid knows, with [`UnknownChunk`] keeping the
//! bytes of any other type together with its RFC 9260 §3.2 action. Each chunk struct implements
//! [`EncodeChunk`], so a [`PacketBuilder`](crate::PacketBuilder) can take a `&Data` directly on
//! the hot path, or a `&Chunk`.

use bytes::Bytes;
use core::fmt;

use crate::error::{Result, WireError};
use crate::tlv;

mod abort;
mod asconf;
mod auth;
mod cookie;
mod data;
mod ecn;
mod error;
mod forward_tsn;
mod heartbeat;
mod idata;
mod iforward_tsn;
mod init;
mod pad;
mod reconfig;
mod sack;
mod shutdown;
mod unknown;

pub use abort::Abort;
pub use asconf::{Asconf, AsconfAck};
pub use auth::Auth;
pub use cookie::CookieEcho;
pub use data::{Data, DataRef};
pub use ecn::{Cwr, Ecne};
pub use error::OperationError;
pub use forward_tsn::{ForwardTsn, ForwardTsnStream};
pub use heartbeat::Heartbeat;
pub use idata::{IData, IDataRef};
pub use iforward_tsn::{IForwardTsn, IForwardTsnStream};
pub use init::Init;
pub use pad::Pad;
pub use reconfig::ReConfig;
pub use sack::{GapAckBlock, Sack};
pub use shutdown::{Shutdown, ShutdownComplete};
pub use unknown::UnknownChunk;

/// Chunk type codes (RFC 9260 §3.2 and the IANA "Chunk Types" registry).
pub mod chunk_type {
    /// Payload Data (RFC 9260 §3.3.1).
    pub const DATA: u8 = 0;
    /// Initiation (RFC 9260 §3.3.2).
    pub const INIT: u8 = 1;
    /// Initiation Acknowledgement (RFC 9260 §3.3.3).
    pub const INIT_ACK: u8 = 2;
    /// Selective Acknowledgement (RFC 9260 §3.3.4).
    pub const SACK: u8 = 3;
    /// Heartbeat Request (RFC 9260 §3.3.5).
    pub const HEARTBEAT: u8 = 4;
    /// Heartbeat Acknowledgement (RFC 9260 §3.3.6).
    pub const HEARTBEAT_ACK: u8 = 5;
    /// Abort (RFC 9260 §3.3.7).
    pub const ABORT: u8 = 6;
    /// Shutdown (RFC 9260 §3.3.8).
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown Acknowledgement (RFC 9260 §3.3.9).
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Operation Error (RFC 9260 §3.3.10).
    pub const ERROR: u8 = 9;
    /// State Cookie (RFC 9260 §3.3.11).
    pub const COOKIE_ECHO: u8 = 10;
    /// Cookie Acknowledgement (RFC 9260 §3.3.12).
    pub const COOKIE_ACK: u8 = 11;
    /// Explicit Congestion Notification Echo (RFC 9260 Appendix A).
    pub const ECNE: u8 = 12;
    /// Congestion Window Reduced (RFC 9260 Appendix A).
    pub const CWR: u8 = 13;
    /// Shutdown Complete (RFC 9260 §3.3.13).
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// Authentication (RFC 4895 §4.1).
    pub const AUTH: u8 = 15;
    /// I-DATA (RFC 8260 §2.1).
    pub const I_DATA: u8 = 64;
    /// Address Configuration Acknowledgement (RFC 5061 §3.1.2).
    pub const ASCONF_ACK: u8 = 128;
    /// Re-configuration (RFC 6525 §3.1).
    pub const RE_CONFIG: u8 = 130;
    /// Padding (RFC 4820 §3).
    pub const PAD: u8 = 132;
    /// Forward Cumulative TSN (RFC 3758 §3.2).
    pub const FORWARD_TSN: u8 = 192;
    /// Address Configuration Change (RFC 5061 §3.1.1).
    pub const ASCONF: u8 = 193;
    /// I-FORWARD-TSN (RFC 8260 §2.3.1).
    pub const I_FORWARD_TSN: u8 = 194;

    /// The conventional name of a chunk type, or `None` if Braid does not know it.
    pub const fn name(t: u8) -> Option<&'static str> {
        Some(match t {
            DATA => "DATA",
            INIT => "INIT",
            INIT_ACK => "INIT-ACK",
            SACK => "SACK",
            HEARTBEAT => "HEARTBEAT",
            HEARTBEAT_ACK => "HEARTBEAT-ACK",
            ABORT => "ABORT",
            SHUTDOWN => "SHUTDOWN",
            SHUTDOWN_ACK => "SHUTDOWN-ACK",
            ERROR => "ERROR",
            COOKIE_ECHO => "COOKIE-ECHO",
            COOKIE_ACK => "COOKIE-ACK",
            ECNE => "ECNE",
            CWR => "CWR",
            SHUTDOWN_COMPLETE => "SHUTDOWN-COMPLETE",
            AUTH => "AUTH",
            I_DATA => "I-DATA",
            ASCONF_ACK => "ASCONF-ACK",
            RE_CONFIG => "RE-CONFIG",
            PAD => "PAD",
            FORWARD_TSN => "FORWARD-TSN",
            ASCONF => "ASCONF",
            I_FORWARD_TSN => "I-FORWARD-TSN",
            _ => return None,
        })
    }
}

/// Anything that can be written as one chunk: every chunk struct and [`Chunk`] itself.
pub trait EncodeChunk {
    /// The chunk type code.
    fn chunk_type(&self) -> u8;
    /// The chunk flags byte.
    fn chunk_flags(&self) -> u8;
    /// Length of the chunk value (after the 4-byte header, before padding).
    fn value_len(&self) -> usize;
    /// Appends the value bytes (no header, no final padding).
    fn write_value(&self, out: &mut Vec<u8>);

    /// The chunk length field: header plus value, without the final padding.
    fn encoded_len(&self) -> usize {
        tlv::TLV_HEADER_LEN + self.value_len()
    }

    /// Bytes the chunk takes in a packet, padding included.
    fn padded_len(&self) -> usize {
        tlv::padded_len(self.encoded_len())
    }

    /// Appends header, value and padding. Fails (writing nothing) if the chunk is too long for
    /// its 16-bit length field.
    fn write_to(&self, out: &mut Vec<u8>) -> Result<()> {
        let len = tlv::tlv_len("chunk", self.value_len())?;
        tlv::write_tlv_header(out, [self.chunk_type(), self.chunk_flags()], len);
        self.write_value(out);
        tlv::write_padding(out, usize::from(len));
        Ok(())
    }
}

/// Implemented by each chunk struct: its type and how to parse its value.
pub(crate) trait ChunkValue: Sized {
    /// The type code.
    const TYPE: u8;
    /// Parses the value (after the header, without padding) with the header's flags.
    fn parse(flags: u8, value: &Bytes) -> Result<Self>;
}

/// One chunk, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// DATA (0).
    Data(Data),
    /// INIT (1).
    Init(Init),
    /// INIT ACK (2); same layout as INIT, carries the State Cookie.
    InitAck(Init),
    /// SACK (3).
    Sack(Sack),
    /// HEARTBEAT (4).
    Heartbeat(Heartbeat),
    /// HEARTBEAT ACK (5).
    HeartbeatAck(Heartbeat),
    /// ABORT (6).
    Abort(Abort),
    /// SHUTDOWN (7).
    Shutdown(Shutdown),
    /// SHUTDOWN ACK (8).
    ShutdownAck,
    /// ERROR (9).
    Error(OperationError),
    /// COOKIE ECHO (10).
    CookieEcho(CookieEcho),
    /// COOKIE ACK (11).
    CookieAck,
    /// ECNE (12).
    Ecne(Ecne),
    /// CWR (13).
    Cwr(Cwr),
    /// SHUTDOWN COMPLETE (14).
    ShutdownComplete(ShutdownComplete),
    /// AUTH (15, RFC 4895).
    Auth(Auth),
    /// I-DATA (64, RFC 8260).
    IData(IData),
    /// ASCONF-ACK (128, RFC 5061).
    AsconfAck(AsconfAck),
    /// RE-CONFIG (130, RFC 6525).
    ReConfig(ReConfig),
    /// PAD (132, RFC 4820).
    Pad(Pad),
    /// FORWARD-TSN (192, RFC 3758).
    ForwardTsn(ForwardTsn),
    /// ASCONF (193, RFC 5061).
    Asconf(Asconf),
    /// I-FORWARD-TSN (194, RFC 8260).
    IForwardTsn(IForwardTsn),
    /// Any other type, kept verbatim.
    Unknown(UnknownChunk),
}

/// A chunk value whose length is fixed by the chunk type; anything else is an error.
pub(crate) fn expect_len(what: &'static str, value: &Bytes, len: usize) -> Result<()> {
    if value.len() == len {
        Ok(())
    } else {
        Err(WireError::InvalidLength {
            what,
            len: value.len() + tlv::TLV_HEADER_LEN,
        })
    }
}

impl Chunk {
    /// Parses one chunk from its header fields and value (without padding).
    pub fn parse(chunk_type: u8, flags: u8, value: &Bytes) -> Result<Self> {
        use crate::chunk::chunk_type as t;
        Ok(match chunk_type {
            t::DATA => Self::Data(Data::parse(flags, value)?),
            t::INIT => Self::Init(Init::parse_with("INIT chunk", value)?),
            t::INIT_ACK => Self::InitAck(Init::parse_with("INIT ACK chunk", value)?),
            t::SACK => Self::Sack(Sack::parse(flags, value)?),
            t::HEARTBEAT => Self::Heartbeat(Heartbeat::parse(flags, value)?),
            t::HEARTBEAT_ACK => Self::HeartbeatAck(Heartbeat::parse(flags, value)?),
            t::ABORT => Self::Abort(Abort::parse(flags, value)?),
            t::SHUTDOWN => Self::Shutdown(Shutdown::parse(flags, value)?),
            t::SHUTDOWN_ACK => {
                expect_len("SHUTDOWN ACK chunk", value, 0)?;
                Self::ShutdownAck
            }
            t::ERROR => Self::Error(OperationError::parse(flags, value)?),
            t::COOKIE_ECHO => Self::CookieEcho(CookieEcho::parse(flags, value)?),
            t::COOKIE_ACK => {
                expect_len("COOKIE ACK chunk", value, 0)?;
                Self::CookieAck
            }
            t::ECNE => Self::Ecne(Ecne::parse(flags, value)?),
            t::CWR => Self::Cwr(Cwr::parse(flags, value)?),
            t::SHUTDOWN_COMPLETE => Self::ShutdownComplete(ShutdownComplete::parse(flags, value)?),
            t::AUTH => Self::Auth(Auth::parse(flags, value)?),
            t::I_DATA => Self::IData(IData::parse(flags, value)?),
            t::ASCONF_ACK => Self::AsconfAck(AsconfAck::parse(flags, value)?),
            t::RE_CONFIG => Self::ReConfig(ReConfig::parse(flags, value)?),
            t::PAD => Self::Pad(Pad::parse(flags, value)?),
            t::FORWARD_TSN => Self::ForwardTsn(ForwardTsn::parse(flags, value)?),
            t::ASCONF => Self::Asconf(Asconf::parse(flags, value)?),
            t::I_FORWARD_TSN => Self::IForwardTsn(IForwardTsn::parse(flags, value)?),
            _ => Self::Unknown(UnknownChunk {
                chunk_type,
                flags,
                value: value.clone(),
            }),
        })
    }

    /// [`parse`](Self::parse) taking the value by value: DATA and I-DATA keep it as their
    /// payload without touching its reference count (the receive path's form).
    pub fn parse_owned(chunk_type: u8, flags: u8, value: Bytes) -> Result<Self> {
        use crate::chunk::chunk_type as t;
        match chunk_type {
            t::DATA => Ok(Self::Data(Data::parse_owned(flags, value)?)),
            t::I_DATA => Ok(Self::IData(IData::parse_owned(flags, value)?)),
            _ => Self::parse(chunk_type, flags, &value),
        }
    }

    /// The conventional name of this chunk's type (`"DATA"`, `"INIT-ACK"`, `"UNKNOWN"`).
    pub fn name(&self) -> &'static str {
        chunk_type::name(self.chunk_type()).unwrap_or("UNKNOWN")
    }

    fn inner(&self) -> Option<&dyn EncodeChunk> {
        Some(match self {
            Self::Data(c) => c,
            Self::Init(c) | Self::InitAck(c) => c,
            Self::Sack(c) => c,
            Self::Heartbeat(c) | Self::HeartbeatAck(c) => c,
            Self::Abort(c) => c,
            Self::Shutdown(c) => c,
            Self::Error(c) => c,
            Self::CookieEcho(c) => c,
            Self::Ecne(c) => c,
            Self::Cwr(c) => c,
            Self::ShutdownComplete(c) => c,
            Self::Auth(c) => c,
            Self::IData(c) => c,
            Self::AsconfAck(c) => c,
            Self::ReConfig(c) => c,
            Self::Pad(c) => c,
            Self::ForwardTsn(c) => c,
            Self::Asconf(c) => c,
            Self::IForwardTsn(c) => c,
            Self::Unknown(c) => c,
            Self::ShutdownAck | Self::CookieAck => return None,
        })
    }
}

impl EncodeChunk for Chunk {
    fn chunk_type(&self) -> u8 {
        match self {
            Self::Init(_) => chunk_type::INIT,
            Self::InitAck(_) => chunk_type::INIT_ACK,
            Self::Heartbeat(_) => chunk_type::HEARTBEAT,
            Self::HeartbeatAck(_) => chunk_type::HEARTBEAT_ACK,
            Self::ShutdownAck => chunk_type::SHUTDOWN_ACK,
            Self::CookieAck => chunk_type::COOKIE_ACK,
            other => other.inner().map_or(0, EncodeChunk::chunk_type),
        }
    }

    fn chunk_flags(&self) -> u8 {
        self.inner().map_or(0, EncodeChunk::chunk_flags)
    }

    fn value_len(&self) -> usize {
        self.inner().map_or(0, EncodeChunk::value_len)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        if let Some(c) = self.inner() {
            c.write_value(out);
        }
    }
}

impl fmt::Display for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Data(c) => c.fmt(f),
            Self::Init(c) => write!(f, "INIT{c}"),
            Self::InitAck(c) => write!(f, "INIT-ACK{c}"),
            Self::Sack(c) => c.fmt(f),
            Self::Heartbeat(c) => write!(f, "HEARTBEAT{c}"),
            Self::HeartbeatAck(c) => write!(f, "HEARTBEAT-ACK{c}"),
            Self::Abort(c) => c.fmt(f),
            Self::Shutdown(c) => c.fmt(f),
            Self::ShutdownAck => f.write_str("SHUTDOWN-ACK"),
            Self::Error(c) => c.fmt(f),
            Self::CookieEcho(c) => c.fmt(f),
            Self::CookieAck => f.write_str("COOKIE-ACK"),
            Self::Ecne(c) => c.fmt(f),
            Self::Cwr(c) => c.fmt(f),
            Self::ShutdownComplete(c) => c.fmt(f),
            Self::Auth(c) => c.fmt(f),
            Self::IData(c) => c.fmt(f),
            Self::AsconfAck(c) => c.fmt(f),
            Self::ReConfig(c) => c.fmt(f),
            Self::Pad(c) => c.fmt(f),
            Self::ForwardTsn(c) => c.fmt(f),
            Self::Asconf(c) => c.fmt(f),
            Self::IForwardTsn(c) => c.fmt(f),
            Self::Unknown(c) => c.fmt(f),
        }
    }
}

/// Writes a list as `[a, b, c]` with each item's Display.
pub(crate) fn fmt_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    f.write_str("[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.fmt(f)?;
    }
    f.write_str("]")
}

#[cfg(test)]
pub(crate) mod strategy;

#[cfg(test)]
mod tests;
