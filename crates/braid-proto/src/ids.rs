//! Newtypes for every identifier the core hands out or takes in.

use core::fmt;

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
