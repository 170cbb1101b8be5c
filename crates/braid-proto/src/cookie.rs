//! The State Cookie (RFC 9260 §5.1.3, §5.1.5): everything an association needs, signed with
//! HMAC-SHA256 so that the server keeps no state between INIT and COOKIE ECHO.
//!
//! Layout (big-endian), followed by a 32-byte HMAC-SHA256 over all of it:
//!
//! ```text
//! version u8 | key id u8 | features u8 | reserved u8
//! created (ms since the signer's epoch) u64 | lifetime (ms) u32
//! local tag u32 | peer tag u32 | local tie-tag u32 | peer tie-tag u32
//! local initial TSN u32 | peer initial TSN u32 | peer a_rwnd u32
//! outbound streams u16 | inbound streams u16 | local port u16 | peer port u16
//! ```
//!
//! The signing secret is replaced every `cookie_secret_rotation`; cookies signed with the
//! previous secret are still accepted until the next rotation, so a rotation never breaks a
//! handshake in flight. The key id byte says which secret signed a cookie.

use core::time::Duration;
use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use rand_core::Rng;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// Length of the signed body.
const BODY_LEN: usize = 4 + 8 + 4 + 16 + 12 + 8;
/// Length of a State Cookie made here.
pub(crate) const COOKIE_LEN: usize = BODY_LEN + MAC_LEN;

/// What both sides agreed on in the INIT / INIT ACK exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// Streams this side may send on: min(our OS, peer's MIS) (RFC 9260 §5.1.1).
    pub outbound_streams: u16,
    /// Streams the peer may send on: min(peer's OS, our MIS).
    pub inbound_streams: u16,
    /// PR-SCTP (RFC 3758) offered by both sides.
    pub partial_reliability: bool,
    /// I-DATA (RFC 8260) offered by both sides.
    pub interleaving: bool,
    /// RE-CONFIG (RFC 6525) offered by both sides.
    pub stream_reconfig: bool,
    /// The peer accepts zero checksums from us (RFC 9653) with our method.
    pub zero_checksum_tx: bool,
    /// We told the peer we accept zero checksums.
    pub zero_checksum_rx: bool,
    /// The peer's initial receive window.
    pub peer_a_rwnd: u32,
    /// Our first TSN.
    pub local_initial_tsn: u32,
    /// The peer's first TSN.
    pub peer_initial_tsn: u32,
}

impl Negotiated {
    fn feature_bits(&self) -> u8 {
        u8::from(self.partial_reliability)
            | u8::from(self.interleaving) << 1
            | u8::from(self.stream_reconfig) << 2
            | u8::from(self.zero_checksum_tx) << 3
            | u8::from(self.zero_checksum_rx) << 4
    }
}

/// The contents of a State Cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieContents {
    /// When it was made, in ms since the signer's epoch.
    pub(crate) created_ms: u64,
    /// How long it is valid, in ms.
    pub(crate) lifetime_ms: u32,
    /// The tag the cookie's maker expects in packets sent to it.
    pub(crate) local_tag: u32,
    /// The tag the peer expects.
    pub(crate) peer_tag: u32,
    /// RFC 9260 §5.2.2: the existing association's tags when the INIT was unexpected
    /// (0 when there was no association).
    pub(crate) local_tie_tag: u32,
    /// The existing association's peer tag, or 0.
    pub(crate) peer_tie_tag: u32,
    /// The negotiated parameters.
    pub(crate) negotiated: Negotiated,
    /// The cookie maker's port.
    pub(crate) local_port: u16,
    /// The peer's port.
    pub(crate) peer_port: u16,
}

impl CookieContents {
    fn encode(&self, key_id: u8) -> [u8; BODY_LEN] {
        let n = &self.negotiated;
        let mut b = [0u8; BODY_LEN];
        let mut w = Writer {
            buf: &mut b,
            pos: 0,
        };
        w.put(&[VERSION, key_id, n.feature_bits(), 0]);
        w.put(&self.created_ms.to_be_bytes());
        for v in [
            self.lifetime_ms,
            self.local_tag,
            self.peer_tag,
            self.local_tie_tag,
            self.peer_tie_tag,
            n.local_initial_tsn,
            n.peer_initial_tsn,
            n.peer_a_rwnd,
        ] {
            w.put(&v.to_be_bytes());
        }
        for v in [
            n.outbound_streams,
            n.inbound_streams,
            self.local_port,
            self.peer_port,
        ] {
            w.put(&v.to_be_bytes());
        }
        b
    }

    fn decode(b: &[u8; BODY_LEN]) -> Option<(u8, Self)> {
        let u32_at = |i: usize| {
            b.get(i..i + 4)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_be_bytes)
        };
        let u16_at = |i: usize| {
            b.get(i..i + 2)
                .and_then(|s| s.try_into().ok())
                .map(u16::from_be_bytes)
        };
        if b[0] != VERSION {
            return None;
        }
        let f = b[2];
        let created_ms = u64::from_be_bytes(b.get(4..12)?.try_into().ok()?);
        Some((
            b[1],
            Self {
                created_ms,
                lifetime_ms: u32_at(12)?,
                local_tag: u32_at(16)?,
                peer_tag: u32_at(20)?,
                local_tie_tag: u32_at(24)?,
                peer_tie_tag: u32_at(28)?,
                negotiated: Negotiated {
                    local_initial_tsn: u32_at(32)?,
                    peer_initial_tsn: u32_at(36)?,
                    peer_a_rwnd: u32_at(40)?,
                    outbound_streams: u16_at(44)?,
                    inbound_streams: u16_at(46)?,
                    partial_reliability: f & 1 != 0,
                    interleaving: f & 2 != 0,
                    stream_reconfig: f & 4 != 0,
                    zero_checksum_tx: f & 8 != 0,
                    zero_checksum_rx: f & 16 != 0,
                },
                local_port: u16_at(48)?,
                peer_port: u16_at(50)?,
            },
        ))
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.pos += bytes.len();
    }
}

/// Why a COOKIE ECHO was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieError {
    /// Wrong size, unknown version or key, or a MAC that does not verify: forged, corrupted,
    /// or made by another endpoint. RFC 9260 §5.1.5 step 2: silently discard.
    Invalid,
    /// Authentic but expired (§5.1.5 step 3): answer with a "Stale Cookie" error carrying the
    /// staleness in microseconds.
    Stale {
        /// How long past its lifetime, in microseconds.
        staleness_us: u32,
        /// The contents, for the tags of the error reply.
        contents: CookieContents,
    },
}

/// One signing secret, held as a keyed HMAC state (cloned per use, so the key schedule is
/// computed once per secret rather than once per cookie).
#[derive(Clone)]
struct Key {
    id: u8,
    mac: HmacSha256,
}

impl Key {
    fn new(id: u8, rng: &mut impl Rng) -> Self {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        // HMAC takes keys of any length, so this cannot fail; fall back to an all-zero key
        // rather than panic if it ever did.
        let mac = HmacSha256::new_from_slice(&secret)
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        Self { id, mac }
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

/// The cookie signing secrets: the current one and the one it replaced.
#[derive(Clone)]
pub(crate) struct CookieKeys {
    epoch: Instant,
    current: Key,
    previous: Option<Key>,
    next_rotation: Instant,
    rotation: Duration,
}

impl core::fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the secrets.
        f.debug_struct("CookieKeys")
            .field("key_id", &self.current.id)
            .finish_non_exhaustive()
    }
}

impl CookieKeys {
    pub(crate) fn new(now: Instant, rotation: Duration, rng: &mut impl Rng) -> Self {
        Self {
            epoch: now,
            current: Key::new(0, rng),
            previous: None,
            next_rotation: now + rotation,
            rotation,
        }
    }

    /// Replaces the secret if its time has come; the old one stays valid for one period.
    /// After a long idle time (two periods or more) both are replaced at once: constant work,
    /// however long the gap.
    pub(crate) fn rotate_if_due(&mut self, now: Instant, rng: &mut impl Rng) {
        if now < self.next_rotation {
            return;
        }
        let period = self.rotation.max(Duration::from_millis(1));
        let next = Key::new(self.current.id.wrapping_add(1), rng);
        let replaced = core::mem::replace(&mut self.current, next);
        self.previous = if now >= self.next_rotation + period {
            // Two or more periods elapsed: the old current secret has expired too.
            Some(Key::new(replaced.id.wrapping_sub(1), rng))
        } else {
            Some(replaced)
        };
        let behind = now.saturating_duration_since(self.next_rotation);
        let periods = behind.as_nanos() / period.as_nanos().max(1);
        let skip = u32::try_from(periods).unwrap_or(u32::MAX).saturating_add(1);
        self.next_rotation += period.saturating_mul(skip);
    }

    /// When the next rotation is due.
    pub(crate) fn next_rotation(&self) -> Instant {
        self.next_rotation
    }

    fn now_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// A signed cookie created `now` and valid for `lifetime`.
    pub(crate) fn make(
        &self,
        now: Instant,
        lifetime: Duration,
        mut contents: CookieContents,
    ) -> [u8; COOKIE_LEN] {
        contents.created_ms = self.now_ms(now);
        contents.lifetime_ms = u32::try_from(lifetime.as_millis()).unwrap_or(u32::MAX);
        let body = contents.encode(self.current.id);
        let mut mac = self.current.mac();
        mac.update(&body);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; COOKIE_LEN];
        out[..BODY_LEN].copy_from_slice(&body);
        out[BODY_LEN..].copy_from_slice(&tag);
        out
    }

    /// Checks a cookie (RFC 9260 §5.1.5 steps 1–3): authentic first, then fresh.
    pub(crate) fn open(&self, now: Instant, cookie: &[u8]) -> Result<CookieContents, CookieError> {
        let body: &[u8; BODY_LEN] = cookie
            .get(..BODY_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(CookieError::Invalid)?;
        let tag = cookie
            .get(BODY_LEN..)
            .filter(|t| t.len() == MAC_LEN)
            .ok_or(CookieError::Invalid)?;
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == body[1])
            .ok_or(CookieError::Invalid)?;
        let mut mac = key.mac();
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(tag).map_err(|_| CookieError::Invalid)?;
        let (_, contents) = CookieContents::decode(body).ok_or(CookieError::Invalid)?;
        let expires = contents
            .created_ms
            .saturating_add(u64::from(contents.lifetime_ms));
        let now_ms = self.now_ms(now);
        if now_ms > expires {
            let staleness_us = (now_ms - expires).saturating_mul(1000);
            return Err(CookieError::Stale {
                staleness_us: u32::try_from(staleness_us).unwrap_or(u32::MAX),
                contents,
            });
        }
        Ok(contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    fn contents() -> CookieContents {
        CookieContents {
            created_ms: 0,
            lifetime_ms: 0,
            local_tag: 1,
            peer_tag: 2,
            local_tie_tag: 3,
            peer_tie_tag: 4,
            negotiated: Negotiated {
                outbound_streams: 5,
                inbound_streams: 6,
                partial_reliability: true,
                interleaving: false,
                stream_reconfig: true,
                zero_checksum_tx: false,
                zero_checksum_rx: true,
                peer_a_rwnd: 7,
                local_initial_tsn: 8,
                peer_initial_tsn: 9,
            },
            local_port: 10,
            peer_port: 11,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let t0 = Instant::now();
        let keys = CookieKeys::new(t0, Duration::from_secs(3600), &mut rng);
        let cookie = keys.make(t0, Duration::from_secs(60), contents());
        let opened = keys.open(t0 + Duration::from_secs(60), &cookie).unwrap();
        assert_eq!(
            opened,
            CookieContents {
                created_ms: 0,
                lifetime_ms: 60_000,
                ..contents()
            }
        );
        match keys.open(t0 + Duration::from_millis(60_250), &cookie) {
            Err(CookieError::Stale { staleness_us, .. }) => assert_eq!(staleness_us, 250_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn any_flipped_bit_is_rejected() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let t0 = Instant::now();
        let keys = CookieKeys::new(t0, Duration::from_secs(3600), &mut rng);
        let cookie = keys.make(t0, Duration::from_secs(60), contents());
        for byte in 0..COOKIE_LEN {
            let mut forged = cookie;
            forged[byte] ^= 0x10;
            assert_eq!(
                keys.open(t0, &forged),
                Err(CookieError::Invalid),
                "byte {byte}"
            );
        }
        assert_eq!(
            keys.open(t0, &cookie[..COOKIE_LEN - 1]),
            Err(CookieError::Invalid)
        );
        assert_eq!(keys.open(t0, &[]), Err(CookieError::Invalid));
        // Another endpoint's secret.
        let other = CookieKeys::new(t0, Duration::from_secs(3600), &mut rng);
        assert_eq!(other.open(t0, &cookie), Err(CookieError::Invalid));
    }

    #[test]
    fn rotation_keeps_previous_key_for_one_period() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        let mut keys = CookieKeys::new(t0, hour, &mut rng);
        let old = keys.make(t0, Duration::from_secs(86400), contents());
        keys.rotate_if_due(t0 + hour, &mut rng);
        assert!(
            keys.open(t0 + hour, &old).is_ok(),
            "previous secret still accepted"
        );
        let new = keys.make(t0 + hour, Duration::from_secs(86400), contents());
        keys.rotate_if_due(t0 + hour * 2, &mut rng);
        assert_eq!(
            keys.open(t0 + hour * 2, &old),
            Err(CookieError::Invalid),
            "two rotations ago"
        );
        assert!(keys.open(t0 + hour * 2, &new).is_ok());
    }
}
