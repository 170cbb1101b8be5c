//! Serial-number newtypes (RFC 1982) for TSN, SSN, MID and FSN.
//!
//! SCTP sequence numbers wrap around, so "less than" is only meaningful within half the number
//! space (RFC 9260 §1.6 and §3.3.1 refer to RFC 1982 serial arithmetic). These types
//! deliberately implement neither `Ord` nor `PartialOrd`: comparisons are spelled
//! [`Tsn::precedes`] / [`Tsn::follows`], so nobody sorts TSNs as plain integers by accident.

use core::cmp::Ordering;
use core::fmt;

macro_rules! serial_type {
    ($(#[$doc:meta])* $name:ident, $int:ty, $signed:ty, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $int);

        impl $name {
            /// Wraps a raw value.
            #[inline]
            pub const fn new(value: $int) -> Self {
                Self(value)
            }

            /// The raw value.
            #[inline]
            pub const fn get(self) -> $int {
                self.0
            }

            /// The next number, wrapping around.
            #[inline]
            #[must_use]
            pub const fn next(self) -> Self {
                Self(self.0.wrapping_add(1))
            }

            /// The previous number, wrapping around.
            #[inline]
            #[must_use]
            pub const fn prev(self) -> Self {
                Self(self.0.wrapping_sub(1))
            }

            /// This number advanced by `n`, wrapping around.
            #[inline]
            #[must_use]
            pub const fn add(self, n: $int) -> Self {
                Self(self.0.wrapping_add(n))
            }

            /// How far `self` is ahead of `earlier`, wrapping (`earlier.add(d) == self`).
            #[inline]
            pub const fn distance_from(self, earlier: Self) -> $int {
                self.0.wrapping_sub(earlier.0)
            }

            /// RFC 1982 comparison: `None` when the two are exactly half the number space
            /// apart, where the order is undefined.
            #[inline]
            pub const fn serial_cmp(self, other: Self) -> Option<Ordering> {
                let d = self.0.wrapping_sub(other.0) as $signed;
                if d == 0 {
                    Some(Ordering::Equal)
                } else if d == <$signed>::MIN {
                    None
                } else if d < 0 {
                    Some(Ordering::Less)
                } else {
                    Some(Ordering::Greater)
                }
            }

            /// `self` comes strictly before `other` (RFC 1982 "less than").
            #[inline]
            pub const fn precedes(self, other: Self) -> bool {
                matches!(self.serial_cmp(other), Some(Ordering::Less))
            }

            /// `self` comes strictly after `other` (RFC 1982 "greater than").
            #[inline]
            pub const fn follows(self, other: Self) -> bool {
                matches!(self.serial_cmp(other), Some(Ordering::Greater))
            }

            /// `self` precedes or equals `other`.
            #[inline]
            pub const fn precedes_or_eq(self, other: Self) -> bool {
                matches!(self.serial_cmp(other), Some(Ordering::Less | Ordering::Equal))
            }

            /// `self` follows or equals `other`.
            #[inline]
            pub const fn follows_or_eq(self, other: Self) -> bool {
                matches!(self.serial_cmp(other), Some(Ordering::Greater | Ordering::Equal))
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $int {
            fn from(v: $name) -> Self {
                v.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

serial_type!(
    /// Transmission Sequence Number (RFC 9260 §3.3.1), 32-bit serial arithmetic.
    Tsn, u32, i32, "Tsn"
);
serial_type!(
    /// Stream Sequence Number of DATA chunks (RFC 9260 §3.3.1), 16-bit serial arithmetic.
    Ssn, u16, i16, "Ssn"
);
serial_type!(
    /// Message Identifier of I-DATA chunks (RFC 8260 §2.1), 32-bit serial arithmetic.
    Mid, u32, i32, "Mid"
);
serial_type!(
    /// Fragment Sequence Number of I-DATA chunks (RFC 8260 §2.1), 32-bit serial arithmetic.
    Fsn, u32, i32, "Fsn"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_around() {
        assert!(Tsn(u32::MAX).precedes(Tsn(0)));
        assert!(Tsn(0).follows(Tsn(u32::MAX)));
        assert!(Ssn(65535).precedes(Ssn(3)));
        assert_eq!(Tsn(u32::MAX).next(), Tsn(0));
        assert_eq!(Tsn(2).distance_from(Tsn(u32::MAX)), 3);
    }

    #[test]
    fn half_space_is_undefined() {
        assert_eq!(Tsn(0).serial_cmp(Tsn(1 << 31)), None);
        assert!(!Tsn(0).precedes(Tsn(1 << 31)));
        assert!(!Tsn(1 << 31).precedes(Tsn(0)));
        assert_eq!(Ssn(0).serial_cmp(Ssn(1 << 15)), None);
    }

    proptest! {
        #[test]
        fn antisymmetric(a: u32, b: u32) {
            let (a, b) = (Tsn(a), Tsn(b));
            prop_assert_eq!(a.precedes(b), b.follows(a));
            prop_assert!(!(a.precedes(b) && b.precedes(a)));
        }

        #[test]
        fn small_steps_follow(a: u32, n in 1u32..(1 << 31)) {
            prop_assert!(Tsn(a).add(n).follows(Tsn(a)));
            prop_assert_eq!(Tsn(a).add(n).distance_from(Tsn(a)), n);
        }
    }
}
