//! VRRP advertisements: VRRPv2 ([RFC 3768]) and VRRPv3 ([RFC 5798]), IPv4 and IPv6.
//!
//! The wire layout shared by both versions (RFC 5798 §5.1, RFC 3768 §5.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  v2: Auth Type | Adver Int    |          Checksum             |
//! |  v3: rsvd | Max Adver Int     |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            IPv4 (4 octets) or IPv6 (16 octets) addresses      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  v2 only: Authentication Data (8 octets)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! - VRRPv2 runs over IPv4 only, carries the advertisement interval in whole
//!   seconds (8 bits), an authentication type (0 none, 1 simple text
//!   password, 2 IP Authentication Header) and 8 octets of authentication
//!   data after the addresses. Its checksum is the plain internet checksum
//!   of the VRRP message.
//! - VRRPv3 runs over IPv4 or IPv6, carries a 12-bit *maximum* advertisement
//!   interval in centiseconds and no authentication. Its checksum includes
//!   the IPv4 or IPv6 pseudo-header (RFC 5798 §5.2.8). keepalived's
//!   `v3_checksum_as_v2` option (IPv4 only) leaves the pseudo-header out:
//!   [`ChecksumMode::V3AsV2`] selects that variant in both
//!   [`Packet::verify_checksum`] and [`Packet::fill_checksum`].
//!
//! The packet does not say whether its addresses are IPv4 or IPv6: the
//! receiver knows that from the socket. Every function that needs it takes
//! an [`Endpoints`] (the IP source and destination, which also feed the v3
//! pseudo-header) or an [`AddressFamily`].
//!
//! # Panic contract
//! - [`Packet::new_checked`] (or [`Packet::check_len`]) must be used on
//!   untrusted input. After it succeeds no getter panics; getters of the
//!   variable part (addresses, authentication data) return `Option` and are
//!   safe on any buffer.
//! - [`Repr::parse`] never panics on any input and returns an [`Error`] that
//!   says what was wrong.
//! - [`Repr::emit`] never panics: it validates the representation and the
//!   buffer size first and returns an [`Error`] without writing anything.
//! - The setters of [`Packet`] panic when the buffer is too short for the
//!   field they write (see each `# Panics`); use them for emission only.
//!
//! # What is checked where
//! This module checks everything that the bytes and the IP endpoints alone
//! decide: version, type, address count against length, checksum, VRID not
//! zero, authentication type, interval not zero. The port checks the rest:
//! TTL / hop limit 255 ([`TTL`]), that the VRID is one of its instances, the
//! password ([`Auth`] is compared there, not here), and the addresses
//! against the configuration.
//!
//! # Capacity
//! A [`Repr`] holds at most [`MAX_IPV4_ADDRS`] (20, keepalived's own limit
//! per advertisement) IPv4 addresses or [`MAX_IPV6_ADDRS`] (90, as many as
//! fit a 1500-octet IPv6 packet) IPv6 addresses, in fixed-capacity
//! `heapless` vectors: a [`Repr`] is therefore about 1.5 KiB. Longer
//! advertisements are rejected with [`Error::TooManyAddresses`].
//!
//! [RFC 3768]: https://www.rfc-editor.org/rfc/rfc3768
//! [RFC 5798]: https://www.rfc-editor.org/rfc/rfc5798

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[cfg(test)]
mod tests;

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4, RFC 3768 §5.2.4).
pub const PROTOCOL: u8 = 112;

/// IPv4 multicast group of VRRP advertisements, 224.0.0.18 (RFC 5798 §5.1.1.2).
pub const IPV4_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// IPv6 multicast group of VRRP advertisements, ff02::12 (RFC 5798 §5.1.2.2).
pub const IPV6_MULTICAST: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// IPv4 TTL / IPv6 hop limit every advertisement is sent with and which the
/// receiver must check (RFC 5798 §5.1.1.3, §5.1.2.3). The port checks it:
/// it is not part of the VRRP message.
pub const TTL: u8 = 255;

/// The only VRRP message type: ADVERTISEMENT (RFC 5798 §5.2.2).
pub const MSG_TYPE_ADVERTISEMENT: u8 = 1;

/// VRRPv2 authentication type 0: no authentication (RFC 3768 §5.3.6).
pub const AUTH_TYPE_NONE: u8 = 0;
/// VRRPv2 authentication type 1: simple text password (RFC 2338 §5.3.6.1).
pub const AUTH_TYPE_PASS: u8 = 1;
/// VRRPv2 authentication type 2: IP Authentication Header (RFC 2338
/// §5.3.6.2). Not supported: [`Repr::parse`] rejects it.
pub const AUTH_TYPE_AH: u8 = 2;

/// Length of the VRRPv2 authentication data field, in octets (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;

/// Most IPv4 addresses a [`Repr`] carries: 20, keepalived's limit per
/// advertisement (`VRRP_MAX_VIP`; it moves further addresses to
/// `virtual_ipaddress_excluded`).
pub const MAX_IPV4_ADDRS: usize = 20;

/// Most IPv6 addresses a [`Repr`] carries: 90, as many as fit a 1500-octet
/// packet ((1500 − 40 octets of IPv6 header − [`HEADER_LEN`]) / 16).
pub const MAX_IPV6_ADDRS: usize = 90;

/// Largest [`Repr::buffer_len`]: a VRRPv3 advertisement with
/// [`MAX_IPV6_ADDRS`] IPv6 addresses. A buffer of this size fits any
/// advertisement this module emits or accepts.
pub const MAX_PACKET_LEN: usize = HEADER_LEN + MAX_IPV6_ADDRS * 16;

// The largest IPv6 advertisement fits a 1500-octet packet (40 octets of IPv6
// header), one more address would not; every count fits the 8-bit field.
const _: () = assert!(40 + MAX_PACKET_LEN <= 1500 && 40 + MAX_PACKET_LEN + 16 > 1500);
const _: () = assert!(MAX_IPV4_ADDRS <= u8::MAX as usize);
const _: () = assert!(MAX_IPV6_ADDRS <= u8::MAX as usize);

/// Largest VRRPv3 maximum advertisement interval: 12 bits, in centiseconds.
pub const MAX_V3_INTERVAL: u16 = 0x0fff;

/// Offsets of the fixed header fields.
mod field {
    pub type Field = core::ops::Range<usize>;
    pub type Rest = core::ops::RangeFrom<usize>;

    /// Version (high nibble) and type (low nibble).
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// VRRPv2: authentication type.
    pub const AUTH_TYPE: usize = 4;
    /// VRRPv2: advertisement interval, seconds.
    pub const ADVER_INT: usize = 5;
    /// VRRPv3: 4 reserved bits, then the 12-bit max advertisement interval.
    pub const MAX_ADVER_INT: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    /// IPv4 or IPv6 addresses, then (v2) the authentication data.
    pub const ADDRESSES: Rest = 8..;
}

/// Length of the fixed VRRP header (both versions), in octets.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// What was wrong with a VRRP message (parse) or a [`Repr`] (emit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// Shorter than the fixed 8-octet header.
    Truncated {
        /// Octets present.
        len: usize,
    },
    /// The version field is neither 2 nor 3.
    BadVersion(u8),
    /// The type field is not 1 (ADVERTISEMENT).
    BadType(u8),
    /// A VRRPv2 message over IPv6 (VRRPv2 is IPv4 only), or a [`Repr`] with
    /// version 2 and IPv6 addresses.
    V2OverIpv6,
    /// The address count is zero (the minimum is 1, RFC 5798 §5.2.5).
    NoAddresses,
    /// The message length does not match the address count (plus the
    /// 8 octets of authentication data for VRRPv2).
    LengthMismatch {
        /// The address count field.
        count: u8,
        /// Octets the count calls for.
        expected: usize,
        /// Octets present.
        len: usize,
    },
    /// The message is well formed but carries more addresses than a [`Repr`]
    /// holds ([`MAX_IPV4_ADDRS`] / [`MAX_IPV6_ADDRS`]).
    TooManyAddresses {
        /// The address count field (or the count in the [`Repr`]).
        count: usize,
        /// The capacity for this address family.
        max: usize,
    },
    /// The checksum does not verify.
    BadChecksum {
        /// Checksum field of the message.
        found: u16,
        /// Checksum the message should carry.
        expected: u16,
    },
    /// The virtual router ID is 0 (valid IDs are 1..=255).
    ZeroVrid,
    /// A VRRPv2 authentication type other than 0 (none) or 1 (simple text
    /// password); 2 is the IP Authentication Header, which is not supported.
    UnsupportedAuthType(u8),
    /// The advertisement interval is zero.
    ZeroInterval,
    /// (emit) The interval cannot be encoded: above 4095 cs for VRRPv3, or not
    /// a whole number of seconds between 1 and 255 for VRRPv2.
    IntervalOutOfRange(u16),
    /// (emit) A VRRPv3 [`Repr`] with authentication: VRRPv3 has none.
    AuthInV3,
    /// (emit) The [`Endpoints`] and the [`Repr`]'s addresses are of different
    /// address families.
    FamilyMismatch,
    /// (emit) The buffer is shorter than [`Repr::buffer_len`].
    BufferTooSmall {
        /// Octets needed.
        needed: usize,
        /// Octets available.
        len: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One template per error: `\u{1}` stands for the next number of
        // `args` (in order), shown in hexadecimal (`0x` and 4 digits) when
        // `hex`. One writing loop instead of a `write!` per error.
        let mut args = [0usize; 3];
        let mut hex = false;
        const _: () = assert!(HEADER_LEN == 8, "the Truncated text says 8");
        let text = match *self {
            Error::Truncated { len } => {
                args[0] = len;
                "VRRP message truncated: \u{1} octets, the header alone is 8"
            }
            Error::BadVersion(v) => {
                args[0] = v.into();
                "unsupported VRRP version \u{1} (expected 2 or 3)"
            }
            Error::BadType(t) => {
                args[0] = t.into();
                "VRRP message type \u{1} is not an advertisement (1)"
            }
            Error::V2OverIpv6 => "VRRPv2 over IPv6 (VRRPv2 is IPv4 only)",
            Error::NoAddresses => "VRRP advertisement carries no address (count 0)",
            Error::LengthMismatch {
                count,
                expected,
                len,
            } => {
                args = [count.into(), expected, len];
                "VRRP length mismatch: address count \u{1} calls for \u{1} octets, got \u{1}"
            }
            Error::TooManyAddresses { count, max } => {
                args = [count, max, 0];
                "VRRP advertisement carries \u{1} addresses, at most \u{1} supported"
            }
            Error::BadChecksum { found, expected } => {
                args = [found.into(), expected.into(), 0];
                hex = true;
                "VRRP checksum mismatch: found \u{1}, expected \u{1}"
            }
            Error::ZeroVrid => "VRRP virtual router ID 0 is invalid",
            Error::UnsupportedAuthType(AUTH_TYPE_AH) => {
                "VRRP authentication type 2 (IP Authentication Header) is not supported"
            }
            Error::UnsupportedAuthType(t) => {
                args[0] = t.into();
                "unknown VRRP authentication type \u{1}"
            }
            Error::ZeroInterval => "VRRP advertisement interval is zero",
            Error::IntervalOutOfRange(cs) => {
                args[0] = cs.into();
                "VRRP advertisement interval \u{1} cs cannot be encoded \
                 (v2: whole seconds 1..=255, v3: 1..=4095 cs)"
            }
            Error::AuthInV3 => "VRRPv3 has no authentication",
            Error::FamilyMismatch => {
                "VRRP addresses and IP endpoints are of different address families"
            }
            Error::BufferTooSmall { needed, len } => {
                args = [len, needed, 0];
                "buffer too small for the VRRP message: \u{1} octets, \u{1} needed"
            }
        };
        for (k, piece) in text.split('\u{1}').enumerate() {
            if let Some(&n) = k.checked_sub(1).and_then(|k| args.get(k)) {
                if hex {
                    write!(f, "{n:#06x}")?;
                } else {
                    write!(f, "{n}")?;
                }
            }
            f.write_str(piece)?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// VRRPv2, RFC 3768 (keepalived's default; IPv4 only).
    V2,
    /// VRRPv3, RFC 5798.
    V3,
}

impl Version {
    /// The version field value (2 or 3).
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version for a version field value, `None` unless 2 or 3.
    pub const fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// IPv4 or IPv6: what the addresses in a VRRP message are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AddressFamily {
    /// 4-octet addresses.
    Ipv4,
    /// 16-octet addresses.
    Ipv6,
}

impl AddressFamily {
    /// Octets per address: 4 or 16.
    pub const fn addr_len(self) -> usize {
        match self {
            AddressFamily::Ipv4 => 4,
            AddressFamily::Ipv6 => 16,
        }
    }

    /// Addresses a [`Repr`] holds for this family.
    pub const fn max_addrs(self) -> usize {
        match self {
            AddressFamily::Ipv4 => MAX_IPV4_ADDRS,
            AddressFamily::Ipv6 => MAX_IPV6_ADDRS,
        }
    }

    /// The VRRP multicast group of this family.
    pub const fn multicast(self) -> IpAddr {
        match self {
            AddressFamily::Ipv4 => IpAddr::V4(IPV4_MULTICAST),
            AddressFamily::Ipv6 => IpAddr::V6(IPV6_MULTICAST),
        }
    }
}

/// The IP source and destination of a VRRP message: they fix the address
/// family and feed the VRRPv3 pseudo-header checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Endpoints {
    /// Over IPv4.
    Ipv4 {
        /// IP source address (the sender's primary address).
        src: Ipv4Addr,
        /// IP destination ([`IPV4_MULTICAST`] or a unicast peer).
        dst: Ipv4Addr,
    },
    /// Over IPv6.
    Ipv6 {
        /// IP source address (the sender's link-local address).
        src: Ipv6Addr,
        /// IP destination ([`IPV6_MULTICAST`] or a unicast peer).
        dst: Ipv6Addr,
    },
}

impl Endpoints {
    /// Endpoints from two addresses; `None` when their families differ.
    pub const fn new(src: IpAddr, dst: IpAddr) -> Option<Endpoints> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(Endpoints::Ipv4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(Endpoints::Ipv6 { src, dst }),
            _ => None,
        }
    }

    /// The address family.
    pub const fn family(&self) -> AddressFamily {
        match self {
            Endpoints::Ipv4 { .. } => AddressFamily::Ipv4,
            Endpoints::Ipv6 { .. } => AddressFamily::Ipv6,
        }
    }

    /// The IP source address.
    pub const fn src(&self) -> IpAddr {
        match *self {
            Endpoints::Ipv4 { src, .. } => IpAddr::V4(src),
            Endpoints::Ipv6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The IP destination address.
    pub const fn dst(&self) -> IpAddr {
        match *self {
            Endpoints::Ipv4 { dst, .. } => IpAddr::V4(dst),
            Endpoints::Ipv6 { dst, .. } => IpAddr::V6(dst),
        }
    }
}

/// How the VRRPv3 checksum is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChecksumMode {
    /// As the RFCs say: VRRPv2 without, VRRPv3 with the IPv4/IPv6
    /// pseudo-header (RFC 5798 §5.2.8).
    #[default]
    Rfc,
    /// keepalived's `v3_checksum_as_v2`: VRRPv3 over IPv4 without the
    /// pseudo-header, like VRRPv2. VRRPv2 and IPv6 are unaffected (IPv6
    /// always uses the pseudo-header).
    V3AsV2,
}

/// Internet checksum (RFC 1071) helpers.
pub(crate) mod checksum {
    /// One's-complement sum of `data` as big-endian 16-bit words (an odd
    /// last octet is padded with zero), added to `acc`.
    pub fn sum(mut acc: u64, data: &[u8]) -> u64 {
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            acc += u64::from(u16::from_be_bytes([*last, 0]));
        }
        acc
    }

    /// Folds a sum to 16 bits.
    pub fn fold(mut acc: u64) -> u16 {
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }
}

/// A read/write view of a VRRP message (the IP payload) in a buffer.
///
/// The buffer should be exactly the message: the length is part of the
/// checks and of the checksum. Use [`Packet::new_checked`] on received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it (for emission).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that it holds the fixed header
    /// ([`Packet::check_len`]). Use on untrusted input.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed 8-octet header, so that no
    /// fixed-field getter panics. The variable part depends on the address
    /// family: [`Packet::check_len_for`] (or [`Repr::parse`]) checks it.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            Err(Error::Truncated { len })
        } else {
            Ok(())
        }
    }

    /// Checks the header ([`Packet::check_len`]), a non-zero address count
    /// and that the buffer length is exactly what the count calls for with
    /// this address family ([`Packet::packet_len`]).
    pub fn check_len_for(&self, family: AddressFamily) -> Result<(), Error> {
        self.check_len()?;
        let count = self.addr_count();
        if count == 0 {
            return Err(Error::NoAddresses);
        }
        let expected = self.packet_len(family);
        let len = self.buffer.as_ref().len();
        if len != expected {
            return Err(Error::LengthMismatch {
                count,
                expected,
                len,
            });
        }
        Ok(())
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (high nibble of octet 0).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type field (low nibble of octet 0); 1 = ADVERTISEMENT.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// The virtual router ID.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// The priority (0 = master resigning, 255 = address owner).
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// The address count ("Count IP Addrs" / "Count IPvX Addr").
    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// VRRPv2: the authentication type (octet 4).
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// VRRPv2: the advertisement interval in seconds (octet 5).
    pub fn advert_int(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// VRRPv3: the maximum advertisement interval in centiseconds (low 12
    /// bits of octets 4–5).
    pub fn max_advert_int(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MAX_ADVER_INT];
        u16::from_be_bytes([b[0], b[1]]) & MAX_V3_INTERVAL
    }

    /// VRRPv3: the 4 reserved bits (high nibble of octet 4), sent as zero and
    /// ignored on reception.
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_ADVER_INT.start] >> 4
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Octets the addresses take: count × 4 or 16.
    pub fn addresses_len(&self, family: AddressFamily) -> usize {
        usize::from(self.addr_count()) * family.addr_len()
    }

    /// Length of the whole message the header calls for: header, addresses
    /// and (version 2) authentication data.
    pub fn packet_len(&self, family: AddressFamily) -> usize {
        let auth = if self.version() == 2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + self.addresses_len(family) + auth
    }

    /// The `index`th address as IPv4; `None` when `index` is not below the
    /// count or the address is not in the buffer.
    pub fn ipv4_addr(&self, index: usize) -> Option<Ipv4Addr> {
        let b = self.addr_octets::<4>(index)?;
        Some(Ipv4Addr::from(b))
    }

    /// The `index`th address as IPv6; `None` when `index` is not below the
    /// count or the address is not in the buffer.
    pub fn ipv6_addr(&self, index: usize) -> Option<Ipv6Addr> {
        let b = self.addr_octets::<16>(index)?;
        Some(Ipv6Addr::from(b))
    }

    fn addr_octets<const L: usize>(&self, index: usize) -> Option<[u8; L]> {
        if index >= usize::from(self.addr_count()) {
            return None;
        }
        let start = field::ADDRESSES.start + index * L;
        let bytes = self.buffer.as_ref().get(start..start + L)?;
        bytes.try_into().ok()
    }

    /// VRRPv2: the 8 octets of authentication data after the IPv4
    /// addresses; `None` when they are not in the buffer.
    pub fn auth_data(&self) -> Option<[u8; AUTH_DATA_LEN]> {
        let start = field::ADDRESSES.start + self.addresses_len(AddressFamily::Ipv4);
        let bytes = self.buffer.as_ref().get(start..start + AUTH_DATA_LEN)?;
        bytes.try_into().ok()
    }

    /// Whether the checksum verifies over the whole buffer. Version 2 uses
    /// the plain internet checksum, any other version the VRRPv3 rules
    /// selected by `mode` (pseudo-header from `endpoints`).
    pub fn verify_checksum(&self, endpoints: &Endpoints, mode: ChecksumMode) -> bool {
        checksum::fold(self.checksum_sum(endpoints, mode)) == 0xffff
    }

    /// The checksum the message should carry (computed with the checksum
    /// field taken as zero).
    pub fn compute_checksum(&self, endpoints: &Endpoints, mode: ChecksumMode) -> u16 {
        let sum = self.checksum_sum(endpoints, mode) - u64::from(self.checksum());
        !checksum::fold(sum)
    }

    /// One's-complement sum over the pseudo-header (if any) and the buffer.
    fn checksum_sum(&self, endpoints: &Endpoints, mode: ChecksumMode) -> u64 {
        checksum_sum(self.buffer.as_ref(), self.version(), endpoints, mode)
    }
}

/// [`Packet::checksum_sum`] for any buffer type: one copy of the code.
fn checksum_sum(data: &[u8], version: u8, endpoints: &Endpoints, mode: ChecksumMode) -> u64 {
    let pseudo = version != 2
        && !(mode == ChecksumMode::V3AsV2 && endpoints.family() == AddressFamily::Ipv4);
    let mut acc = 0;
    if pseudo {
        // Upper-layer length: 16 bits for IPv4, 32 for IPv6. A VRRP
        // message never exceeds the 16 bits of an IPv4 total length;
        // anything longer is bogus and will not verify anyway.
        let len = data.len() as u64;
        acc = match *endpoints {
            Endpoints::Ipv4 { src, dst } => {
                let acc = checksum::sum(acc, &src.octets());
                let acc = checksum::sum(acc, &dst.octets());
                acc + u64::from(PROTOCOL) + (len & 0xffff)
            }
            Endpoints::Ipv6 { src, dst } => {
                let acc = checksum::sum(acc, &src.octets());
                let acc = checksum::sum(acc, &dst.octets());
                acc + u64::from(PROTOCOL) + ((len >> 16) & 0xffff) + (len & 0xffff)
            }
        };
    }
    checksum::sum(acc, data)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version field.
    ///
    /// # Panics
    /// If the buffer is shorter than the header (as do all setters).
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Sets the type field.
    pub fn set_msg_type(&mut self, msg_type: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0xf0) | (msg_type & 0x0f);
    }

    /// Sets the virtual router ID.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Sets the priority.
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Sets the address count.
    pub fn set_addr_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// VRRPv2: sets the authentication type.
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    /// VRRPv2: sets the advertisement interval in seconds.
    pub fn set_advert_int(&mut self, seconds: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = seconds;
    }

    /// VRRPv3: sets the maximum advertisement interval in centiseconds (only
    /// the low 12 bits are kept) and clears the reserved bits.
    pub fn set_max_advert_int(&mut self, centiseconds: u16) {
        let v = centiseconds & MAX_V3_INTERVAL;
        self.buffer.as_mut()[field::MAX_ADVER_INT].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, checksum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    }

    /// Writes the `index`th address as IPv4.
    ///
    /// # Panics
    /// If the buffer is too short for it.
    pub fn set_ipv4_addr(&mut self, index: usize, addr: Ipv4Addr) {
        let start = field::ADDRESSES.start + index * 4;
        self.buffer.as_mut()[start..start + 4].copy_from_slice(&addr.octets());
    }

    /// Writes the `index`th address as IPv6.
    ///
    /// # Panics
    /// If the buffer is too short for it.
    pub fn set_ipv6_addr(&mut self, index: usize, addr: Ipv6Addr) {
        let start = field::ADDRESSES.start + index * 16;
        self.buffer.as_mut()[start..start + 16].copy_from_slice(&addr.octets());
    }

    /// VRRPv2: writes the authentication data after the IPv4 addresses (the
    /// address count must be set first).
    ///
    /// # Panics
    /// If the buffer is too short for it.
    pub fn set_auth_data(&mut self, data: &[u8; AUTH_DATA_LEN]) {
        let start = field::ADDRESSES.start + self.addresses_len(AddressFamily::Ipv4);
        self.buffer.as_mut()[start..start + AUTH_DATA_LEN].copy_from_slice(data);
    }

    /// Computes the checksum over the whole buffer (see
    /// [`Packet::verify_checksum`]) and writes it.
    pub fn fill_checksum(&mut self, endpoints: &Endpoints, mode: ChecksumMode) {
        self.set_checksum(0);
        let checksum = self.compute_checksum(endpoints, mode);
        self.set_checksum(checksum);
    }
}

/// VRRP authentication (VRRPv2 only; RFC 3768 §5.3.6 and RFC 2338 §5.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Auth {
    /// Type 0: no authentication. The 8 data octets are sent as zero and
    /// ignored on reception (RFC 3768 §5.3.10).
    #[default]
    None,
    /// Type 1: simple text password, zero-padded to 8 octets (keepalived's
    /// `auth_type PASS`; longer passwords are cut to 8 octets). The port
    /// compares it with its own.
    Pass([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// A simple text password from its text: the first 8 octets,
    /// zero-padded (as keepalived does with `auth_pass`).
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0; AUTH_DATA_LEN];
        let n = password.len().min(AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::Pass(data)
    }
}

/// The addresses of an advertisement, all of one family.
///
/// Fixed capacity, no allocation: the IPv6 variant (1.4 KiB) sets the size.
// Boxing is not an option without an allocator; the size is documented.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Addresses {
    /// IPv4 addresses.
    Ipv4(heapless::Vec<Ipv4Addr, MAX_IPV4_ADDRS>),
    /// IPv6 addresses (keepalived sends the link-local one first).
    Ipv6(heapless::Vec<Ipv6Addr, MAX_IPV6_ADDRS>),
}

impl Addresses {
    /// The address family.
    pub const fn family(&self) -> AddressFamily {
        match self {
            Addresses::Ipv4(_) => AddressFamily::Ipv4,
            Addresses::Ipv6(_) => AddressFamily::Ipv6,
        }
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        match self {
            Addresses::Ipv4(v) => v.len(),
            Addresses::Ipv6(v) => v.len(),
        }
    }

    /// Whether there is no address (not valid on the wire).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`th address.
    pub fn get(&self, index: usize) -> Option<IpAddr> {
        match self {
            Addresses::Ipv4(v) => v.get(index).map(|a| IpAddr::V4(*a)),
            Addresses::Ipv6(v) => v.get(index).map(|a| IpAddr::V6(*a)),
        }
    }

    /// The addresses, in order.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// Builds from a list of addresses; `None` when the list mixes families
    /// or exceeds the capacity ([`MAX_IPV4_ADDRS`] / [`MAX_IPV6_ADDRS`]). An
    /// empty list gives an empty IPv4 list.
    pub fn from_ip_addrs(addrs: &[IpAddr]) -> Option<Addresses> {
        match addrs.first() {
            None | Some(IpAddr::V4(_)) => {
                let mut v = heapless::Vec::new();
                for a in addrs {
                    match a {
                        IpAddr::V4(a) => v.push(*a).ok()?,
                        IpAddr::V6(_) => return None,
                    }
                }
                Some(Addresses::Ipv4(v))
            }
            Some(IpAddr::V6(_)) => {
                let mut v = heapless::Vec::new();
                for a in addrs {
                    match a {
                        IpAddr::V6(a) => v.push(*a).ok()?,
                        IpAddr::V4(_) => return None,
                    }
                }
                Some(Addresses::Ipv6(v))
            }
        }
    }
}

/// A VRRP advertisement, version-independent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Repr {
    /// Protocol version.
    pub version: Version,
    /// Virtual router ID, 1..=255.
    pub vrid: u8,
    /// Priority: 0 = master resigning, 255 = address owner.
    pub priority: u8,
    /// Advertisement interval in centiseconds. VRRPv2 carries whole seconds
    /// (parse multiplies by 100; emit requires a multiple of 100 up to
    /// 25500); VRRPv3 carries 1..=4095 cs.
    pub advert_int: u16,
    /// Authentication (VRRPv2 only; always [`Auth::None`] for VRRPv3).
    pub auth: Auth,
    /// The virtual addresses (1 or more).
    pub addresses: Addresses,
}

impl Repr {
    /// Parses and validates a received message.
    ///
    /// `packet` must wrap exactly the IP payload; `endpoints` are the IP
    /// source and destination (they give the address family and the VRRPv3
    /// pseudo-header); `mode` selects the VRRPv3-over-IPv4 checksum variant.
    ///
    /// Checks, in order: header length, version, type, VRRPv2 not over IPv6,
    /// count not zero, length against count, checksum, capacity, VRID not
    /// zero, authentication type (v2), interval not zero. The reserved bits
    /// of VRRPv3 and the data of authentication type 0 are ignored (RFC 5798
    /// §5.2.4, RFC 3768 §5.3.10). Never panics.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        endpoints: &Endpoints,
        mode: ChecksumMode,
    ) -> Result<Repr, Error> {
        packet.check_len()?;
        let version =
            Version::from_number(packet.version()).ok_or(Error::BadVersion(packet.version()))?;
        if packet.msg_type() != MSG_TYPE_ADVERTISEMENT {
            return Err(Error::BadType(packet.msg_type()));
        }
        let family = endpoints.family();
        if version == Version::V2 && family == AddressFamily::Ipv6 {
            return Err(Error::V2OverIpv6);
        }
        packet.check_len_for(family)?;
        if !packet.verify_checksum(endpoints, mode) {
            return Err(Error::BadChecksum {
                found: packet.checksum(),
                expected: packet.compute_checksum(endpoints, mode),
            });
        }
        let count = usize::from(packet.addr_count());
        if count > family.max_addrs() {
            return Err(Error::TooManyAddresses {
                count,
                max: family.max_addrs(),
            });
        }
        if packet.vrid() == 0 {
            return Err(Error::ZeroVrid);
        }
        let (auth, advert_int) = match version {
            Version::V2 => {
                let auth = match packet.auth_type() {
                    AUTH_TYPE_NONE => Auth::None,
                    AUTH_TYPE_PASS => {
                        Auth::Pass(packet.auth_data().ok_or(Error::LengthMismatch {
                            count: packet.addr_count(),
                            expected: packet.packet_len(family),
                            len: packet.buffer.as_ref().len(),
                        })?)
                    }
                    other => return Err(Error::UnsupportedAuthType(other)),
                };
                (auth, u16::from(packet.advert_int()) * 100)
            }
            Version::V3 => (Auth::None, packet.max_advert_int()),
        };
        if advert_int == 0 {
            return Err(Error::ZeroInterval);
        }
        let addresses = match family {
            AddressFamily::Ipv4 => {
                let mut v = heapless::Vec::new();
                for a in (0..count).filter_map(|i| packet.ipv4_addr(i)) {
                    // Cannot fail: count <= capacity was checked above.
                    let _ = v.push(a);
                }
                Addresses::Ipv4(v)
            }
            AddressFamily::Ipv6 => {
                let mut v = heapless::Vec::new();
                for a in (0..count).filter_map(|i| packet.ipv6_addr(i)) {
                    let _ = v.push(a);
                }
                Addresses::Ipv6(v)
            }
        };
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            advert_int,
            auth,
            addresses,
        })
    }

    /// The address family of the addresses.
    pub const fn family(&self) -> AddressFamily {
        self.addresses.family()
    }

    /// Length of the emitted message: header, addresses and (VRRPv2) 8
    /// octets of authentication data.
    pub fn buffer_len(&self) -> usize {
        let auth = match self.version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        HEADER_LEN + self.addresses.len() * self.family().addr_len() + auth
    }

    /// Checks that the representation can be emitted towards `endpoints`:
    /// what [`Repr::emit`] checks before writing.
    pub fn check(&self, endpoints: &Endpoints) -> Result<(), Error> {
        let family = self.family();
        if self.version == Version::V2 && family == AddressFamily::Ipv6 {
            return Err(Error::V2OverIpv6);
        }
        if endpoints.family() != family {
            return Err(Error::FamilyMismatch);
        }
        if self.addresses.is_empty() {
            return Err(Error::NoAddresses);
        }
        if self.vrid == 0 {
            return Err(Error::ZeroVrid);
        }
        if self.advert_int == 0 {
            return Err(Error::ZeroInterval);
        }
        match self.version {
            Version::V2 => {
                if self.advert_int % 100 != 0 || self.advert_int / 100 > u16::from(u8::MAX) {
                    return Err(Error::IntervalOutOfRange(self.advert_int));
                }
            }
            Version::V3 => {
                if self.advert_int > MAX_V3_INTERVAL {
                    return Err(Error::IntervalOutOfRange(self.advert_int));
                }
                if self.auth != Auth::None {
                    return Err(Error::AuthInV3);
                }
            }
        }
        Ok(())
    }

    /// Writes the message into the first [`Repr::buffer_len`] octets of
    /// `packet`'s buffer, checksum included (computed over those octets;
    /// give a buffer of exactly that length to send it as is).
    ///
    /// Validates first ([`Repr::check`], buffer length) and writes nothing
    /// on error. Never panics.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        endpoints: &Endpoints,
        mode: ChecksumMode,
    ) -> Result<(), Error> {
        self.check(endpoints)?;
        let needed = self.buffer_len();
        let len = packet.buffer.as_ref().len();
        if len < needed {
            return Err(Error::BufferTooSmall { needed, len });
        }
        let mut p = Packet::new_unchecked(&mut packet.buffer.as_mut()[..needed]);
        p.set_version(self.version.number());
        p.set_msg_type(MSG_TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        // At most MAX_IPV6_ADDRS (90) addresses: fits in u8 (asserted at compile time).
        p.set_addr_count(self.addresses.len() as u8);
        match self.version {
            Version::V2 => {
                let (auth_type, data) = match self.auth {
                    Auth::None => (AUTH_TYPE_NONE, [0; AUTH_DATA_LEN]),
                    Auth::Pass(data) => (AUTH_TYPE_PASS, data),
                };
                p.set_auth_type(auth_type);
                // check() made sure it is a whole number of seconds <= 255.
                p.set_advert_int((self.advert_int / 100) as u8);
                p.set_auth_data(&data);
            }
            Version::V3 => p.set_max_advert_int(self.advert_int),
        }
        match &self.addresses {
            Addresses::Ipv4(v) => {
                for (i, a) in v.iter().enumerate() {
                    p.set_ipv4_addr(i, *a);
                }
            }
            Addresses::Ipv6(v) => {
                for (i, a) in v.iter().enumerate() {
                    p.set_ipv6_addr(i, *a);
                }
            }
        }
        p.fill_checksum(endpoints, mode);
        Ok(())
    }
}
