//! Opaque payloads that several error causes share: copies of parameter TLVs, and free-form
//! reasons.
//!
//! ```text
//! RawParams: one or more complete parameter TLVs, as another chunk carried them
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Parameter Type         |       Parameter Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                 Parameter Value (+ padding)                   /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                     next parameter ...                        /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Both are kept as they arrived and checked only when read, so this module needs nothing from
//! the parameter module: [`RawParams::iter`] hands out each TLV as its type code and value, and
//! `crate::param::parse_params(raw.as_bytes())` decodes them into typed parameters.

use bytes::Bytes;
use core::fmt;
use std::borrow::Cow;

use crate::error::Result;
use crate::tlv::{Padding, TlvIter};

/// Complete parameter TLVs carried verbatim inside a cause (Unresolvable Address, Unrecognized
/// Parameters, Restart with New Addresses, and the ASCONF refusals of RFC 5061).
///
/// Nothing is validated at parse time: a peer's malformed copy is reported when iterating, never
/// when reading the ABORT or ERROR that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RawParams(pub Bytes);

impl RawParams {
    /// Wraps TLV bytes.
    pub fn new(tlvs: impl Into<Bytes>) -> Self {
        Self(tlvs.into())
    }

    /// The TLV bytes, headers and inner padding included.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Unwraps the TLV bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Walks the TLVs, yielding each one's 16-bit type and value (zero-copy). The last TLV may
    /// lack its padding. After the first malformed TLV the iterator yields its error, then ends.
    pub fn iter(&self) -> RawParamsIter {
        RawParamsIter {
            inner: TlvIter::new(self.0.clone(), "parameter in cause", Padding::LastOptional),
        }
    }

    /// The type of the first TLV, if there is a well-formed one.
    pub fn first_type(&self) -> Option<u16> {
        self.iter()
            .next()
            .and_then(|item| item.ok())
            .map(|(t, _)| t)
    }
}

impl IntoIterator for &RawParams {
    type Item = Result<(u16, Bytes)>;
    type IntoIter = RawParamsIter;

    fn into_iter(self) -> RawParamsIter {
        self.iter()
    }
}

/// Writes `params=[0x0005, 0x8008], 20 bytes`: the types of the first few TLVs, then the size.
impl fmt::Display for RawParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 4;
        f.write_str("params=[")?;
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if i == SHOWN {
                f.write_str("...")?;
                break;
            }
            match item {
                Ok((t, _)) => write!(f, "{t:#06x}")?,
                Err(_) => f.write_str("malformed")?,
            }
        }
        write!(f, "], {} bytes", self.0.len())
    }
}

/// Iterator over the TLVs of [`RawParams`]: `(type, value)` pairs, or the error that stopped it.
#[derive(Debug, Clone)]
pub struct RawParamsIter {
    inner: TlvIter,
}

impl Iterator for RawParamsIter {
    type Item = Result<(u16, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|item| item.map(|t| (u16::from_be_bytes(t.head), t.value)))
    }
}

/// Free-form bytes explaining a cause: the Upper Layer Abort Reason of a User-Initiated Abort,
/// or the Additional Information of a Protocol Violation. Usually, but not necessarily, UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Reason(pub Bytes);

impl Reason {
    /// Wraps reason bytes.
    pub fn new(reason: impl Into<Bytes>) -> Self {
        Self(reason.into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The reason as text, invalid UTF-8 replaced by U+FFFD (borrowed when already valid).
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

/// Writes the lossy text, quoted and escaped: `"going away"`.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;

    #[test]
    fn iterates_tlvs_with_and_without_last_padding() {
        let padded = RawParams::new(&[0x80, 0x09, 0, 5, 1, 0, 0, 0, 0xc0, 0x04, 0, 4][..]);
        let items: Vec<_> = padded.iter().collect::<Result<_>>().unwrap();
        assert_eq!(
            items,
            vec![(0x8009, Bytes::from_static(&[1])), (0xc004, Bytes::new())]
        );
        let unpadded = RawParams::new(&[0x80, 0x09, 0, 5, 1][..]);
        assert_eq!(unpadded.first_type(), Some(0x8009));
        assert_eq!(unpadded.iter().count(), 1);
        assert_eq!(unpadded.to_string(), "params=[0x8009], 5 bytes");
    }

    #[test]
    fn malformed_copies_fail_when_read() {
        let bad = RawParams::new(&[0, 5, 0, 2, 0, 0][..]);
        let items: Vec<_> = (&bad).into_iter().collect();
        assert_eq!(items.len(), 1);
        assert!(matches!(
            items[0],
            Err(WireError::LengthTooShort { len: 2, .. })
        ));
        assert_eq!(bad.first_type(), None);
        assert_eq!(bad.to_string(), "params=[malformed], 6 bytes");
        assert_eq!(RawParams::default().to_string(), "params=[], 0 bytes");
    }

    #[test]
    fn display_shows_the_first_four_types() {
        let mut bytes = Vec::new();
        for t in 1u8..=6 {
            bytes.extend_from_slice(&[0, t, 0, 4]);
        }
        let params = RawParams::new(bytes);
        assert_eq!(
            params.to_string(),
            "params=[0x0001, 0x0002, 0x0003, 0x0004, ...], 24 bytes"
        );
    }

    #[test]
    fn reason_text() {
        let r = Reason::new("going away");
        assert!(matches!(r.to_string_lossy(), Cow::Borrowed("going away")));
        assert_eq!(r.to_string(), "\"going away\"");
        assert_eq!(Reason::new(&b"\xffok"[..]).to_string_lossy(), "\u{fffd}ok");
        assert_eq!(Reason::default().to_string(), "\"\"");
    }
}
