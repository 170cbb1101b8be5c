//! Newtypes for every identifier the core hands out or takes in.

use core::fmt;
use core::hash::Hasher;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($int:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $int);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                Self(v)
            }
        }
    };
}

id_type!(
    /// A stream of an association (RFC 9260 §1.5.3).
    StreamId(u16)
);
id_type!(
    /// Payload Protocol Identifier: opaque to SCTP, meaningful to the application
    /// (WebRTC uses 50–57, RFC 8831 §8).
    Ppid(u32)
);
id_type!(
    /// One path of an association: a (local, remote) transport address pair (RFC 9260 §6.4).
    /// A single-homed association has exactly one, `PathId(0)`.
    PathId(u16)
);
id_type!(
    /// An association owned by an [`Endpoint`](crate::Endpoint).
    AssociationHandle(u64)
);

/// Hashes an identifier the core hands out or has checked (a stream id, an association
/// handle) with one multiply (Fibonacci hashing), rotated so that both the low bits (bucket)
/// and the high bits (tag) depend on every bit of it. Not for keys a peer chooses freely
/// (addresses, tags): those keep the standard, keyed hasher.
///
/// An I/O layer keeping its own per-association state can key it by
/// [`AssociationHandle`] with [`HandleMap`] and [`HandleSet`], which use this hasher.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u16(&mut self, v: u16) {
        self.0 = u64::from(v);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map keyed by [`AssociationHandle`], hashed with [`IdHasher`] (handles are the
/// endpoint's, not a peer's, so the standard keyed hasher buys nothing).
pub type HandleMap<V> =
    std::collections::HashMap<AssociationHandle, V, core::hash::BuildHasherDefault<IdHasher>>;
/// A set of [`AssociationHandle`]s, hashed with [`IdHasher`].
pub type HandleSet =
    std::collections::HashSet<AssociationHandle, core::hash::BuildHasherDefault<IdHasher>>;
