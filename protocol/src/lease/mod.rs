//! dnsmasq's DHCP lease file (`/tmp/dhcp.leases` on OpenWrt): a parser
//! (hand-written, the grammar dnsmasq writes) and a writer that mirrors
//! dnsmasq's `lease_update_file()`
//! (`src/lease.c`) byte for byte.
//!
//! # The format
//!
//! dnsmasq rewrites the whole file from memory on every change, in this
//! order:
//!
//! 1. one line per IPv4 lease:
//!    `EXPIRY HWADDR ADDRESS HOSTNAME CLIENT-ID`, e.g.
//!    `1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7`
//!    - `EXPIRY`: wall-clock seconds since the Unix epoch (`%lu`); `0` is an
//!      infinite lease. (A dnsmasq built with `HAVE_BROKEN_RTC` writes the
//!      lease *length* here instead; Tandem treats the number the same way.)
//!    - `HWADDR`: lowercase hex octets joined by `:`. When the hardware type
//!      is not Ethernet (ARPHRD 1), or there are no octets, it is prefixed
//!      by the type in (at least two) hex digits and `-`: `20-` (InfiniBand,
//!      no octets), `06-aa:bb:cc:dd:ee:ff`.
//!    - `HOSTNAME`: one DNS label, or `*` for none.
//!    - `CLIENT-ID`: DHCP option 61 as hex octets joined by `:`, or `*`.
//! 2. if dnsmasq has a server DUID (it does as soon as it does DHCPv6):
//!    `duid HEX:OCTETS`, then one line per IPv6 lease:
//!    `EXPIRY [T]IAID ADDRESS HOSTNAME CLIENT-DUID`, where the IAID is
//!    decimal and `T` marks an IA_TA (temporary) address, e.g.
//!    `1700000000 T305419896 fd00::1:2 * 00:01:00:01:2a:...`.
//! 3. "extras", only when some lease has them (dnsmasq keeps them for its
//!    lease-change script): `agent-info ADDRESS HEX` (relay agent option 82)
//!    and `vendorclass ADDRESS HEX`. Tandem does not model these: they come
//!    back as [`Line::Other`] and are written back verbatim.
//!
//! Addresses are written as `inet_ntop` writes them ([`Ipv6Text`] mirrors
//! glibc for IPv6, including `::a.b.c.d` for the IPv4-compatible range).
//!
//! # Parsing
//!
//! [`lines`] splits a file into lines and yields one
//! `Result<`[`Line`]`, `[`LineError`]`>` per line, so a bad line is reported
//! (with its line and column) and the rest of the file is still read. A line
//! whose first field is a number is a lease; `duid` starts the DUID line;
//! any other line (including an empty one) is [`Line::Other`], kept verbatim.
//!
//! The parser accepts what dnsmasq's own reader accepts where it is
//! unambiguous: any run of spaces or tabs between fields, a trailing `\r`,
//! upper-case hex, one-digit hex octets, a `00-` hardware type with octets
//! (read as Ethernet, as dnsmasq does). The writer always produces
//! dnsmasq's canonical form, so parse→write is byte-exact on files dnsmasq
//! wrote (see the captured fixtures in `fixtures/`), and normalising on
//! anything else.
//!
//! ```
//! use tandem_protocol::lease::{lines, Line};
//!
//! let file = b"1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7
//! 1633703352 c4:41:1e:68:97:62 192.168.222.999 hostname2 01:c4:41:1e:68:97:62
//! ";
//! let mut out = String::new();
//! for line in lines(file) {
//!     match line {
//!         Ok(line) => out.push_str(&format!("{line}\n")),
//!         Err(e) => assert_eq!(e.to_string(), "line 2, column 30: not an IPv4 or IPv6 address"),
//!     }
//! }
//! // The good line is written back exactly; the bad one was reported.
//! assert_eq!(out.as_bytes(), file.split_inclusive(|&c| c == b'\n').next().unwrap());
//! ```
//!
//! # Capacities
//!
//! Every type is fixed-size and `Copy`; nothing allocates.
//!
//! | field                | capacity            | dnsmasq's own bound |
//! |----------------------|---------------------|---------------------|
//! | hardware address     | [`HWADDR_MAX`] = 16 | `DHCP_CHADDR_MAX` (16) |
//! | hostname             | [`HOSTNAME_MAX`] = 63 | one DNS label: `MAXLABEL` (63); dnsmasq keeps only the first label of a client's name |
//! | client id / DUID column | [`CLIENT_ID_MAX`] = 255 | `parse_hex(.., 255)` when reading the file; DHCPv4 option length |
//! | server DUID          | [`DUID_MAX`] = 130  | `parse_hex(.., 130)` (RFC 8415: 2 + 128 octets) |
//!
//! A field longer than its capacity makes that line an error
//! ([`ErrorKind::HwAddrTooLong`], [`ErrorKind::HostnameTooLong`],
//! [`ErrorKind::ClientIdTooLong`], [`ErrorKind::DuidTooLong`]); nothing is
//! truncated silently and nothing panics. (dnsmasq itself truncates a
//! too-long client id to 255 octets when it reads the file.)
//!
//! # Sync encoding
//!
//! [`Lease::encode`] / [`Lease::decode`] give a compact, self-delimiting
//! binary form for the sync channel (typically 30–45 octets for an IPv4
//! lease, at most [`Lease::ENCODED_MAX`]); see [`Lease::encode`] for the
//! layout.
//!
//! # Panics
//!
//! No function in this module panics, whatever the input. Writers return
//! `core::fmt::Error` only when the sink does (e.g. a [`SliceWriter`] that is
//! full).

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) mod encode;
mod parse;
mod write;

#[cfg(test)]
mod tests;

pub use encode::DecodeError;
pub use parse::{lines, LineError, Lines};
pub use write::{write_file, Ipv6Text, SliceWriter};

/// Most octets in a hardware address (dnsmasq's `DHCP_CHADDR_MAX`).
pub const HWADDR_MAX: usize = 16;
/// Longest hostname, in octets: one DNS label (dnsmasq stores only the
/// first label of a client's name and rejects labels over 63 octets).
pub const HOSTNAME_MAX: usize = 63;
/// Longest client identifier (IPv4) or client DUID (IPv6 lines), in octets:
/// dnsmasq reads at most 255 when it loads the file.
pub const CLIENT_ID_MAX: usize = 255;
/// Longest server DUID (the `duid` line), in octets: dnsmasq reads at most
/// 130 (RFC 8415: a 2-octet type and up to 128 octets).
pub const DUID_MAX: usize = 130;
/// ARP hardware type of Ethernet (`ARPHRD_ETHER`): written without a prefix.
pub const ARPHRD_ETHER: u16 = 1;

/// A value did not fit its fixed capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapacityError {
    /// Octets offered.
    pub len: usize,
    /// Octets that fit.
    pub capacity: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} octets do not fit a capacity of {}",
            self.len, self.capacity
        )
    }
}

impl core::error::Error for CapacityError {}

// ---------------------------------------------------------------- Bytes

/// A byte string of at most `N` octets (`N` ≤ 255), stored inline.
///
/// Unlike `heapless::Vec` (which has a `Drop` impl) it is `Copy`, so a
/// whole [`Lease`] is `Copy`. Equality, ordering and hashing look at the
/// stored octets only.
///
/// Word-aligned: copies of it are word moves (or a `memcpy` call), not
/// octet by octet.
#[derive(Clone, Copy)]
#[repr(align(4))]
pub struct Bytes<const N: usize> {
    len: u8,
    buf: [u8; N],
}

impl<const N: usize> Bytes<N> {
    const CHECK: () = assert!(N <= 255, "Bytes<N> holds at most 255 octets");

    /// The capacity, `N`.
    pub const CAPACITY: usize = N;

    /// An empty byte string (written as `*` where the format allows).
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Bytes {
            len: 0,
            buf: [0; N],
        }
    }

    /// A copy of `bytes`, or an error if it is longer than `N`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut b = Self::new();
        b.extend(bytes)?;
        Ok(b)
    }

    /// Appends `bytes`, or fails (leaving `self` unchanged) if they do not fit.
    pub fn extend(&mut self, bytes: &[u8]) -> Result<(), CapacityError> {
        let len = usize::from(self.len);
        let end = len.saturating_add(bytes.len());
        match self.buf.get_mut(len..end) {
            Some(dst) if end <= 255 => {
                dst.copy_from_slice(bytes);
                self.len = end as u8;
                Ok(())
            }
            _ => Err(CapacityError {
                len: end,
                capacity: N,
            }),
        }
    }

    /// Appends one octet.
    pub fn push(&mut self, byte: u8) -> Result<(), CapacityError> {
        self.extend(&[byte])
    }

    /// The stored octets.
    pub fn as_slice(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Number of stored octets.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// True when no octet is stored.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PartialEq for Bytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl<const N: usize> Eq for Bytes<N> {}
impl<const N: usize> PartialOrd for Bytes<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<const N: usize> Ord for Bytes<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}
impl<const N: usize> Hash for Bytes<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

/// Colon-separated lowercase hex (`01:aa:bb`), or `*` when empty: exactly
/// how dnsmasq writes client ids.
impl<const N: usize> fmt::Display for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("*");
        }
        write::hex_colon(f, self.as_slice())
    }
}

impl<const N: usize> fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Bytes<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]:x}", self.as_slice())
    }
}

/// A client identifier (DHCPv4 option 61) or, on IPv6 lines, the client's
/// DUID; empty means none (`*`). At most [`CLIENT_ID_MAX`] octets.
pub type ClientId = Bytes<CLIENT_ID_MAX>;

/// The server's own DUID (the `duid` line). At most [`DUID_MAX`] octets.
pub type Duid = Bytes<DUID_MAX>;

// ---------------------------------------------------------------- Hostname

/// A lease's hostname: one label of at most [`HOSTNAME_MAX`] printable
/// ASCII characters other than space; empty means none (`*`).
///
/// dnsmasq only stores names made of letters, digits, `-` and `_` (its
/// `legal_hostname`); Tandem accepts any printable ASCII except `*` alone
/// so that a hand-edited file still round-trips.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hostname(Bytes<HOSTNAME_MAX>);

impl Hostname {
    /// No hostname (`*`).
    pub const NONE: Hostname = Hostname(Bytes::new());

    /// A hostname, checked: 1..=63 printable ASCII characters (`!`..=`~`),
    /// not `*` alone. The empty string gives [`Hostname::NONE`].
    pub fn new(name: &str) -> Result<Self, ErrorKind> {
        Self::from_bytes(name.as_bytes())
    }

    pub(crate) fn from_bytes(name: &[u8]) -> Result<Self, ErrorKind> {
        Self::check(name)?;
        Bytes::from_slice(name)
            .map(Hostname)
            .map_err(|_| ErrorKind::HostnameTooLong)
    }

    /// `name` is not `*` and all printable ASCII (its length is not checked).
    pub(crate) fn check(name: &[u8]) -> Result<(), ErrorKind> {
        if name == b"*" || !name.iter().all(|c| (0x21..=0x7e).contains(c)) {
            return Err(ErrorKind::BadHostname);
        }
        Ok(())
    }

    /// The name (empty for none).
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored.
        core::str::from_utf8(self.0.as_slice()).unwrap_or("")
    }

    /// The name's octets (empty for none).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// True when there is no hostname.
    pub const fn is_none(&self) -> bool {
        self.0.is_empty()
    }
}

/// The name, or `*` when there is none.
impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            f.write_str("*")
        } else {
            f.write_str(self.as_str())
        }
    }
}

impl fmt::Debug for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Hostname {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

// ---------------------------------------------------------------- HwAddr

/// A hardware address with its ARP hardware type (`ARPHRD_*`; DHCP's
/// `htype`), at most [`HWADDR_MAX`] octets. Zero octets is allowed
/// (e.g. InfiniBand, which identifies clients by client id).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HwAddr {
    htype: u16,
    addr: Bytes<HWADDR_MAX>,
}

impl HwAddr {
    /// An Ethernet MAC address.
    pub fn ethernet(mac: [u8; 6]) -> Self {
        let mut addr = Bytes::new();
        // 6 ≤ HWADDR_MAX: cannot fail.
        let _ = addr.extend(&mac);
        HwAddr {
            htype: ARPHRD_ETHER,
            addr,
        }
    }

    /// An address of hardware type `htype`, or an error if longer than
    /// [`HWADDR_MAX`].
    pub fn new(htype: u16, addr: &[u8]) -> Result<Self, CapacityError> {
        Ok(HwAddr {
            htype,
            addr: Bytes::from_slice(addr)?,
        })
    }

    /// The ARP hardware type.
    pub const fn htype(&self) -> u16 {
        self.htype
    }

    /// The address octets.
    pub fn as_slice(&self) -> &[u8] {
        self.addr.as_slice()
    }

    /// True when dnsmasq writes the type prefix (`NN-`): the type is not
    /// Ethernet, or there are no octets.
    pub fn has_type_prefix(&self) -> bool {
        self.htype != ARPHRD_ETHER || self.addr.is_empty()
    }
}

/// As dnsmasq writes it: `aa:bb:cc:dd:ee:ff`, `20-`, `06-aa:bb:…`.
impl fmt::Display for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_type_prefix() {
            write!(f, "{:02x}-", self.htype)?;
        }
        write::hex_colon(f, self.as_slice())
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// ---------------------------------------------------------------- Expiry

/// When a lease ends, in wall-clock seconds since the Unix epoch, or never.
///
/// dnsmasq writes `0` for an infinite lease; [`Expiry::NEVER`] is that `0`.
/// Ordering puts [`Expiry::NEVER`] after every finite expiry ("later
/// expiry wins" then keeps an infinite lease).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Expiry(u64);

impl Expiry {
    /// An infinite lease (written `0`).
    pub const NEVER: Expiry = Expiry(0);

    /// The value as written in the file (`0` = never).
    pub const fn from_raw(raw: u64) -> Self {
        Expiry(raw)
    }

    /// The value as written in the file (`0` = never).
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Seconds since the epoch, or `None` for an infinite lease.
    pub const fn secs(self) -> Option<u64> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0)
        }
    }

    /// True for an infinite lease.
    pub const fn is_never(self) -> bool {
        self.0 == 0
    }

    /// True when the lease has ended at wall-clock second `now` (dnsmasq's
    /// rule in `lease_prune`: finite and `now >= expiry`).
    pub const fn is_expired(self, now: u64) -> bool {
        self.0 != 0 && now >= self.0
    }

    fn key(self) -> u64 {
        if self.0 == 0 {
            u64::MAX
        } else {
            self.0 - 1
        }
    }
}

impl PartialOrd for Expiry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Finite expiries by time; [`Expiry::NEVER`] is the greatest.
impl Ord for Expiry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            f.write_str("never")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

// ---------------------------------------------------------------- leases

/// An IPv4 lease line: `EXPIRY HWADDR ADDRESS HOSTNAME CLIENT-ID`.
///
/// Field order is the comparison order: the derived `Ord` compares the
/// expiry first, so `a > b` reads "a is the newer lease".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Lease4 {
    /// When the lease ends.
    pub expires: Expiry,
    /// The client's hardware address and type.
    pub hwaddr: HwAddr,
    /// The leased address.
    pub addr: Ipv4Addr,
    /// The client's hostname, or none.
    pub hostname: Hostname,
    /// The client identifier (option 61), or empty.
    pub client_id: ClientId,
}

/// An IPv6 lease line: `EXPIRY [T]IAID ADDRESS HOSTNAME CLIENT-DUID`.
///
/// Field order is the comparison order (expiry first), as for [`Lease4`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Lease6 {
    /// When the lease ends.
    pub expires: Expiry,
    /// The identity association's IAID.
    pub iaid: u32,
    /// True for a temporary address (IA_TA; written with a `T` before the
    /// IAID), false for IA_NA.
    pub temporary: bool,
    /// The leased address.
    pub addr: Ipv6Addr,
    /// The client's hostname, or none.
    pub hostname: Hostname,
    /// The client's DUID (dnsmasq's `clid` for IPv6 leases), or empty.
    pub duid: ClientId,
}

/// One lease: everything dnsmasq writes for it on one line.
///
/// `Copy`, fixed-size (360 octets on x86_64, dominated by the 255-octet client
/// id capacity; see [`Lease::encode`]
/// for the compact form that travels on the sync channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Lease {
    /// A DHCPv4 lease.
    V4(Lease4),
    /// A DHCPv6 lease (IA_NA or IA_TA address).
    V6(Lease6),
}

impl Lease {
    /// The leased address.
    pub fn addr(&self) -> IpAddr {
        match self {
            Lease::V4(l) => IpAddr::V4(l.addr),
            Lease::V6(l) => IpAddr::V6(l.addr),
        }
    }

    /// When the lease ends.
    pub fn expires(&self) -> Expiry {
        match self {
            Lease::V4(l) => l.expires,
            Lease::V6(l) => l.expires,
        }
    }

    /// Sets when the lease ends.
    pub fn set_expires(&mut self, expires: Expiry) {
        match self {
            Lease::V4(l) => l.expires = expires,
            Lease::V6(l) => l.expires = expires,
        }
    }

    /// The client's hostname (may be [`Hostname::NONE`]).
    pub fn hostname(&self) -> &Hostname {
        match self {
            Lease::V4(l) => &l.hostname,
            Lease::V6(l) => &l.hostname,
        }
    }

    /// The client id (IPv4) or client DUID (IPv6); may be empty.
    pub fn client_id(&self) -> &ClientId {
        match self {
            Lease::V4(l) => &l.client_id,
            Lease::V6(l) => &l.duid,
        }
    }

    /// True when the lease has ended at wall-clock second `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires().is_expired(now)
    }

    /// True for a DHCPv6 lease.
    pub fn is_v6(&self) -> bool {
        matches!(self, Lease::V6(_))
    }

    /// Sets `self` in place from its parts (as a table stores them):
    /// `id` is the hardware type (IPv4) or the IAID (IPv6), `addr` the
    /// IPv4 address in its first 4 octets or the IPv6 address, `hw` the
    /// hardware address octets (IPv4), `cid` the client id or DUID. A part
    /// that does not fit (or a hostname that is not one) is left empty.
    #[allow(clippy::too_many_arguments)]
    pub fn fill(
        &mut self,
        v6: bool,
        expires: Expiry,
        id: u32,
        temporary: bool,
        addr: &[u8; 16],
        hw: &[u8],
        host: &[u8],
        cid: &[u8],
    ) {
        if v6 {
            *self = Lease::V6(Lease6 {
                expires,
                iaid: id,
                temporary,
                addr: Ipv6Addr::from(*addr),
                hostname: Hostname::NONE,
                duid: ClientId::new(),
            });
        } else {
            *self = Lease::EMPTY;
            if let Lease::V4(l) = self {
                l.expires = expires;
                l.addr = Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
                if l.hwaddr.addr.extend(hw).is_ok() {
                    l.hwaddr.htype = id as u16;
                }
            }
        }
        let (h, c) = match self {
            Lease::V4(l) => (&mut l.hostname, &mut l.client_id),
            Lease::V6(l) => (&mut l.hostname, &mut l.duid),
        };
        if Hostname::check(host).is_ok() {
            let _ = h.0.extend(host);
        }
        let _ = c.extend(cid);
    }
}

// ---------------------------------------------------------------- lines

/// One line of a lease file.
///
/// (The `Lease` variant is large, but boxing needs an allocator; a `Line`
/// is a short-lived value.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Line<'a> {
    /// An IPv4 or IPv6 lease.
    Lease(Lease),
    /// The server's DUID: `duid HEX`.
    Duid(Duid),
    /// Any other line, without its line terminator: dnsmasq's
    /// `agent-info` / `vendorclass` extras, lines of a future dnsmasq, an
    /// empty line. Written back verbatim.
    Other(&'a str),
}

/// What was wrong with a line (see [`LineError`] for where).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorKind {
    /// The expiry is not a decimal number that fits 64 bits.
    BadExpiry,
    /// The hardware address is not `[TYPE-]HH:HH:…` in hex.
    BadHwAddr,
    /// The hardware address has more than [`HWADDR_MAX`] octets.
    HwAddrTooLong,
    /// The address is neither IPv4 nor IPv6.
    BadAddress,
    /// The IAID is not a decimal number that fits 32 bits (optionally
    /// preceded by `T`).
    BadIaid,
    /// The hostname has characters other than printable ASCII, or is empty.
    BadHostname,
    /// The hostname is longer than [`HOSTNAME_MAX`].
    HostnameTooLong,
    /// The client id is neither `*` nor `HH:HH:…` in hex.
    BadClientId,
    /// The client id has more than [`CLIENT_ID_MAX`] octets.
    ClientIdTooLong,
    /// The `duid` line's value is not `HH:HH:…` in hex (or is missing).
    BadDuid,
    /// The server DUID has more than [`DUID_MAX`] octets.
    DuidTooLong,
    /// The line ends before all five fields.
    MissingField,
    /// Something follows the last field.
    TrailingField,
    /// A line that is not a lease or `duid` line is not valid UTF-8 text.
    NotText,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::BadExpiry => "expiry is not a decimal number of seconds",
            ErrorKind::BadHwAddr => "hardware address is not [TYPE-]HH:HH:... in hex",
            ErrorKind::HwAddrTooLong => "hardware address longer than 16 octets",
            ErrorKind::BadAddress => "not an IPv4 or IPv6 address",
            ErrorKind::BadIaid => "IAID is not a decimal 32-bit number (optionally after T)",
            ErrorKind::BadHostname => "hostname is not printable ASCII",
            ErrorKind::HostnameTooLong => "hostname longer than 63 characters",
            ErrorKind::BadClientId => "client id is neither * nor HH:HH:... in hex",
            ErrorKind::ClientIdTooLong => "client id longer than 255 octets",
            ErrorKind::BadDuid => "DUID is not HH:HH:... in hex",
            ErrorKind::DuidTooLong => "DUID longer than 130 octets",
            ErrorKind::MissingField => {
                "missing field (expected: expiry hwaddr|iaid address hostname client-id)"
            }
            ErrorKind::TrailingField => "unexpected field after the client id",
            ErrorKind::NotText => "line is not UTF-8 text",
        })
    }
}

impl core::error::Error for ErrorKind {}
