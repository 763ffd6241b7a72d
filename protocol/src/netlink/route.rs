//! rtnetlink (`NETLINK_ROUTE`, `linux/rtnetlink.h`): what the Linux port
//! needs to add and remove virtual addresses and routes and to follow link
//! and address state.
//!
//! - Requests: [`AddressRequest`] (`RTM_NEWADDR`/`RTM_DELADDR`),
//!   [`RouteRequest`] (`RTM_NEWROUTE`/`RTM_DELROUTE`), [`get_links`] and
//!   [`get_addresses`] (dumps). Each writes one message into a caller
//!   buffer and returns its length.
//! - Replies and events: [`Message::parse`] on each [`Packet`] from
//!   [`Messages`](super::Messages): acks and errors, end of dump, link and
//!   address messages.
//! - Socket constants: [`NETLINK_ROUTE`](super::NETLINK_ROUTE) and the
//!   multicast groups [`RTMGRP_LINK`], [`RTMGRP_IPV4_IFADDR`],
//!   [`RTMGRP_IPV6_IFADDR`] (for `sockaddr_nl.nl_groups`) or
//!   [`RTNLGRP_LINK`]... (for `NETLINK_ADD_MEMBERSHIP`).
//!
//! Fixed headers and attributes are in host byte order, as the kernel
//! expects from a process on the same machine.

use core::fmt;
use core::net::IpAddr;

use super::{
    Error, ErrorMessage, MessageBuilder, Nlas, Packet, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK,
    NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};

// ---------------------------------------------------------------- messages

/// Message type: a link appeared or changed (reply to [`RTM_GETLINK`] or event).
pub const RTM_NEWLINK: u16 = 16;
/// Message type: a link disappeared.
pub const RTM_DELLINK: u16 = 17;
/// Message type: get links (dumped with [`NLM_F_DUMP`]).
pub const RTM_GETLINK: u16 = 18;
/// Message type: add an address, or an address appeared.
pub const RTM_NEWADDR: u16 = 20;
/// Message type: remove an address, or an address disappeared.
pub const RTM_DELADDR: u16 = 21;
/// Message type: get addresses (dumped with [`NLM_F_DUMP`]).
pub const RTM_GETADDR: u16 = 22;
/// Message type: add a route, or a route appeared.
pub const RTM_NEWROUTE: u16 = 24;
/// Message type: remove a route, or a route disappeared.
pub const RTM_DELROUTE: u16 = 25;
/// Message type: get routes.
pub const RTM_GETROUTE: u16 = 26;

// ---------------------------------------------------------------- groups

/// Legacy group bit (`sockaddr_nl.nl_groups`): link changes.
pub const RTMGRP_LINK: u32 = 0x1;
/// Legacy group bit: IPv4 address changes.
pub const RTMGRP_IPV4_IFADDR: u32 = 0x10;
/// Legacy group bit: IPv4 route changes.
pub const RTMGRP_IPV4_ROUTE: u32 = 0x40;
/// Legacy group bit: IPv6 address changes.
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;
/// Legacy group bit: IPv6 route changes.
pub const RTMGRP_IPV6_ROUTE: u32 = 0x400;
/// Group number (`setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP)`): links.
pub const RTNLGRP_LINK: u32 = 1;
/// Group number: IPv4 addresses.
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// Group number: IPv4 routes.
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// Group number: IPv6 addresses.
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
/// Group number: IPv6 routes.
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;

// ---------------------------------------------------------------- families

/// Address family: any (dump requests).
pub const AF_UNSPEC: u8 = 0;
/// Address family: IPv4.
pub const AF_INET: u8 = 2;
/// Address family: IPv6.
pub const AF_INET6: u8 = 10;

// ---------------------------------------------------------------- links

/// Length of `struct ifinfomsg`.
pub const IFINFOMSG_LEN: usize = 16;
/// Link attribute: hardware address (MAC).
pub const IFLA_ADDRESS: u16 = 1;
/// Link attribute: hardware broadcast address.
pub const IFLA_BROADCAST: u16 = 2;
/// Link attribute: interface name (string).
pub const IFLA_IFNAME: u16 = 3;
/// Link attribute: MTU (`u32`).
pub const IFLA_MTU: u16 = 4;
/// Link attribute: RFC 2863 operational state (`u8`, [`OperState`]).
pub const IFLA_OPERSTATE: u16 = 16;
/// Link attribute (request): `RTEXT_FILTER_*` mask of what to report.
pub const IFLA_EXT_MASK: u16 = 29;
/// [`IFLA_EXT_MASK`] bit: leave statistics out of dumps (smaller replies).
pub const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

/// Link flag: administratively up.
pub const IFF_UP: u32 = 0x1;
/// Link flag: broadcast capable.
pub const IFF_BROADCAST: u32 = 0x2;
/// Link flag: loopback.
pub const IFF_LOOPBACK: u32 = 0x8;
/// Link flag: operationally up (RFC 2863 `up`, or `unknown` and up).
pub const IFF_RUNNING: u32 = 0x40;
/// Link flag: multicast capable.
pub const IFF_MULTICAST: u32 = 0x1000;
/// Link flag: the lower layer (carrier) is up.
pub const IFF_LOWER_UP: u32 = 0x1_0000;
/// Link flag: dormant.
pub const IFF_DORMANT: u32 = 0x2_0000;

// ---------------------------------------------------------------- addresses

/// Length of `struct ifaddrmsg`.
pub const IFADDRMSG_LEN: usize = 8;
/// Address attribute: the address (IPv6), or the peer address (IPv4
/// point-to-point); equal to [`IFA_LOCAL`] otherwise.
pub const IFA_ADDRESS: u16 = 1;
/// Address attribute: the local address (IPv4).
pub const IFA_LOCAL: u16 = 2;
/// Address attribute: label (IPv4 only, string such as `eth0:vip`).
pub const IFA_LABEL: u16 = 3;
/// Address attribute: broadcast address (IPv4).
pub const IFA_BROADCAST: u16 = 4;
/// Address attribute: `struct ifa_cacheinfo` (lifetimes).
pub const IFA_CACHEINFO: u16 = 6;
/// Address attribute: all 32 bits of the flags (`ifa_flags` holds only 8).
pub const IFA_FLAGS: u16 = 8;

/// Address flag: secondary (another address in the same subnet exists).
pub const IFA_F_SECONDARY: u32 = 0x01;
/// Address flag: skip duplicate address detection (IPv6). Tandem sets it on
/// IPv6 virtual addresses: the backup may still hold the address for a
/// moment, and DAD would leave it tentative (unusable) on the new master.
pub const IFA_F_NODAD: u32 = 0x02;
/// Address flag: optimistic DAD (IPv6).
pub const IFA_F_OPTIMISTIC: u32 = 0x04;
/// Address flag: DAD failed (IPv6).
pub const IFA_F_DADFAILED: u32 = 0x08;
/// Address flag: deprecated (IPv6).
pub const IFA_F_DEPRECATED: u32 = 0x20;
/// Address flag: tentative, DAD in progress (IPv6).
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// Address flag: permanent (configured, not autoconfigured).
pub const IFA_F_PERMANENT: u32 = 0x80;
/// Address flag: do not add a prefix route for this address.
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;

// ---------------------------------------------------------------- routes

/// Length of `struct rtmsg`.
pub const RTMSG_LEN: usize = 12;
/// Route attribute: destination.
pub const RTA_DST: u16 = 1;
/// Route attribute: source prefix (policy routing; not `src`).
pub const RTA_SRC: u16 = 2;
/// Route attribute: output interface index (`u32`).
pub const RTA_OIF: u16 = 4;
/// Route attribute: gateway.
pub const RTA_GATEWAY: u16 = 5;
/// Route attribute: metric (`u32`), `ip route ... metric N`.
pub const RTA_PRIORITY: u16 = 6;
/// Route attribute: preferred source address, `ip route ... src A`.
pub const RTA_PREFSRC: u16 = 7;
/// Route attribute: table id (`u32`), for tables beyond 255.
pub const RTA_TABLE: u16 = 15;

/// Routing table: none (`rtm_table` when [`RTA_TABLE`] carries the id).
pub const RT_TABLE_UNSPEC: u32 = 0;
/// Routing table: `main`.
pub const RT_TABLE_MAIN: u32 = 254;
/// Route type: none (delete requests).
pub const RTN_UNSPEC: u8 = 0;
/// Route type: a gateway or direct route.
pub const RTN_UNICAST: u8 = 1;
/// Route protocol: installed by an administrator (`proto static`).
pub const RTPROT_STATIC: u8 = 4;
/// Route protocol: keepalived's number, for comparison.
pub const RTPROT_KEEPALIVED: u8 = 18;
/// Route protocol Tandem tags its routes with: 84 (ASCII `T`), unused by
/// `linux/rtnetlink.h` and `/etc/iproute2/rt_protos`.
///
/// Tagging lets `ip route show proto 84` list Tandem's routes, lets other
/// routing daemons leave them alone, and makes a delete request match only
/// a route Tandem added (the kernel compares a non-zero protocol). Add the
/// line `84 tandem` to `/etc/iproute2/rt_protos.d/tandem.conf` to see the
/// name. [`RTPROT_STATIC`] is the alternative for users who prefer routes
/// that look hand-made.
pub const RTPROT_TANDEM: u8 = 84;

// ---------------------------------------------------------------- enums

/// Address or route scope (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// `global` (0).
    Universe,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Scope {
    fn from(v: u8) -> Scope {
        match v {
            0 => Scope::Universe,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            v => Scope::Unknown(v),
        }
    }
}

impl From<Scope> for u8 {
    fn from(s: Scope) -> u8 {
        match s {
            Scope::Universe => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Unknown(v) => v,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Universe => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Unknown(v) => write!(f, "{v}"),
        }
    }
}

/// RFC 2863 operational state of a link (`IF_OPER_*`, [`IFLA_OPERSTATE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OperState {
    /// 0: the driver does not report it (loopback, some virtual links).
    Unknown,
    /// 1.
    NotPresent,
    /// 2.
    Down,
    /// 3: a lower link is down.
    LowerLayerDown,
    /// 4.
    Testing,
    /// 5.
    Dormant,
    /// 6.
    Up,
    /// Any other value.
    Other(u8),
}

impl From<u8> for OperState {
    fn from(v: u8) -> OperState {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            v => OperState::Other(v),
        }
    }
}

impl From<OperState> for u8 {
    fn from(s: OperState) -> u8 {
        match s {
            OperState::Unknown => 0,
            OperState::NotPresent => 1,
            OperState::Down => 2,
            OperState::LowerLayerDown => 3,
            OperState::Testing => 4,
            OperState::Dormant => 5,
            OperState::Up => 6,
            OperState::Other(v) => v,
        }
    }
}

/// What an [`AddressRequest`] or [`RouteRequest`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Op {
    /// `RTM_NEW*` with `NLM_F_CREATE | NLM_F_EXCL` (`ip ... add`): fails with
    /// `EEXIST` if present.
    Add,
    /// `RTM_NEW*` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip ... replace`):
    /// succeeds whether or not present.
    Replace,
    /// `RTM_DEL*` (`ip ... del`): fails with `EADDRNOTAVAIL` (addresses) or
    /// `ESRCH` (routes) if absent.
    Delete,
}

impl Op {
    fn flags(self) -> u16 {
        let base = NLM_F_REQUEST | NLM_F_ACK;
        match self {
            Op::Add => base | NLM_F_CREATE | NLM_F_EXCL,
            Op::Replace => base | NLM_F_CREATE | NLM_F_REPLACE,
            Op::Delete => base,
        }
    }
}

fn family_of(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

fn check_prefix(addr: &IpAddr, prefix_len: u8) -> Result<(), Error> {
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    if prefix_len > max {
        Err(Error::PrefixTooLong)
    } else {
        Ok(())
    }
}

fn push_addr(b: &mut MessageBuilder<'_>, kind: u16, addr: &IpAddr) {
    match addr {
        IpAddr::V4(a) => b.push_attr(kind, &a.octets()),
        IpAddr::V6(a) => b.push_attr(kind, &a.octets()),
    }
}

const fn attr_len(value_len: usize) -> usize {
    super::align(super::NLA_HEADER_LEN + value_len)
}

const fn addr_attr_len(addr: &IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => attr_len(4),
        IpAddr::V6(_) => attr_len(16),
    }
}

// ---------------------------------------------------------------- requests

/// `RTM_NEWADDR` / `RTM_DELADDR`: add or remove one address on an interface
/// (`ip addr add|replace|del ADDRESS/PREFIX dev IF [scope S] [label L]`).
///
/// The message carries `ifaddrmsg`, then `IFA_LOCAL`, `IFA_FLAGS` (only
/// for flags above 8 bits; smaller ones go in `ifa_flags`), `IFA_LABEL` (if
/// any) and `IFA_ADDRESS` (equal to `IFA_LOCAL`): byte for byte what
/// iproute2 6.1 sends for the same `ip addr` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddressRequest<'a> {
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub address: IpAddr,
    /// Prefix length (at most 32 or 128).
    pub prefix_len: u8,
    /// Scope (keepalived's default: [`Scope::Universe`]).
    pub scope: Scope,
    /// IPv4 label such as `eth0:vip` (at most 15 octets, must start with
    /// the interface name or the kernel rejects it); ignored for IPv6.
    pub label: Option<&'a str>,
    /// `IFA_F_*` flags.
    pub flags: u32,
}

impl<'a> AddressRequest<'a> {
    /// A request for `address/prefix_len` on `ifindex`, scope global, no
    /// label, flags [`IFA_F_NODAD`] for IPv6 and none for IPv4.
    pub const fn new(ifindex: u32, address: IpAddr, prefix_len: u8) -> AddressRequest<'a> {
        let flags = match address {
            IpAddr::V4(_) => 0,
            IpAddr::V6(_) => IFA_F_NODAD,
        };
        AddressRequest {
            ifindex,
            address,
            prefix_len,
            scope: Scope::Universe,
            label: None,
            flags,
        }
    }

    fn label(&self) -> Option<&'a str> {
        match self.address {
            IpAddr::V4(_) => self.label,
            IpAddr::V6(_) => None,
        }
    }

    /// Octets [`emit`](AddressRequest::emit) writes.
    pub fn buffer_len(&self) -> usize {
        let mut len = super::HEADER_LEN + IFADDRMSG_LEN + 2 * addr_attr_len(&self.address);
        if let Some(label) = self.label() {
            len += attr_len(label.len() + 1);
        }
        if self.flags > 0xff {
            len += attr_len(4);
        }
        len
    }

    /// Write the request with sequence number `seq` into `buf`; return its
    /// length. Every operation asks for an ack.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::PrefixTooLong`], [`Error::BadLabel`].
    pub fn emit(&self, op: Op, seq: u32, buf: &mut [u8]) -> Result<usize, Error> {
        check_prefix(&self.address, self.prefix_len)?;
        let label = self.label();
        if let Some(l) = label {
            if l.is_empty() || l.len() > 15 || l.as_bytes().contains(&0) {
                return Err(Error::BadLabel);
            }
        }
        let kind = match op {
            Op::Add | Op::Replace => RTM_NEWADDR,
            Op::Delete => RTM_DELADDR,
        };
        let mut b = MessageBuilder::new(buf, kind, op.flags(), seq);
        let short_flags = if self.flags <= 0xff {
            self.flags as u8
        } else {
            0
        };
        let idx = self.ifindex.to_ne_bytes();
        b.push_fixed(&[
            family_of(&self.address),
            self.prefix_len,
            short_flags,
            self.scope.into(),
            idx[0],
            idx[1],
            idx[2],
            idx[3],
        ]);
        push_addr(&mut b, IFA_LOCAL, &self.address);
        if self.flags > 0xff {
            b.push_attr_u32(IFA_FLAGS, self.flags);
        }
        if let Some(l) = label {
            b.push_attr_str(IFA_LABEL, l);
        }
        push_addr(&mut b, IFA_ADDRESS, &self.address);
        b.finish()
    }
}

/// `RTM_NEWROUTE` / `RTM_DELROUTE`: add or remove a unicast route, such as
/// keepalived's `virtual_routes { src 203.0.113.10 to 0.0.0.0/0 via
/// 203.0.113.1 dev wan metric 10 }`.
///
/// The message carries `rtmsg` (family, `dst_len`, table, protocol, scope,
/// type) then `RTA_TABLE` (tables above 255 only), `RTA_DST` (omitted for a
/// default route), `RTA_GATEWAY`, `RTA_PREFSRC`, `RTA_PRIORITY`, `RTA_OIF`,
/// each only if set.
///
/// Delete requests carry the same attributes (the kernel deletes the route
/// that matches all of them, including the protocol), with type unspecified
/// and scope `nowhere` (IPv4; `global` for IPv6, which ignores it) as
/// iproute2 sends them. The bytes equal what iproute2 6.1 sends for the
/// same `ip route` command with its arguments in the order `[table T] DST
/// [via G] [src S] [metric M] [dev D] [proto P]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RouteRequest {
    /// Destination network (host bits should be zero; the kernel rejects
    /// IPv4 destinations with host bits set).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub dst: IpAddr,
    /// Destination prefix length (0 for a default route).
    pub prefix_len: u8,
    /// Next hop (`via`), same family as `dst`.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub gateway: Option<IpAddr>,
    /// Preferred source address (`src`), same family as `dst`.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub prefsrc: Option<IpAddr>,
    /// Output interface index (`dev`).
    pub oif: Option<u32>,
    /// Metric (`metric`, `RTA_PRIORITY`).
    pub priority: Option<u32>,
    /// Routing table id ([`RT_TABLE_MAIN`] by default).
    pub table: u32,
    /// Route protocol ([`RTPROT_TANDEM`] by default).
    pub protocol: u8,
    /// Scope of an added route; `None` picks iproute2's default: `link`
    /// without a gateway, `global` with one. Ignored for deletes.
    pub scope: Option<Scope>,
}

impl RouteRequest {
    /// A request for `dst/prefix_len` in table main, protocol
    /// [`RTPROT_TANDEM`], no gateway, source, interface or metric.
    pub const fn new(dst: IpAddr, prefix_len: u8) -> RouteRequest {
        RouteRequest {
            dst,
            prefix_len,
            gateway: None,
            prefsrc: None,
            oif: None,
            priority: None,
            table: RT_TABLE_MAIN,
            protocol: RTPROT_TANDEM,
            scope: None,
        }
    }

    /// Octets [`emit`](RouteRequest::emit) writes.
    pub fn buffer_len(&self) -> usize {
        let mut len = super::HEADER_LEN + RTMSG_LEN;
        if self.table > 255 {
            len += attr_len(4);
        }
        if self.prefix_len != 0 {
            len += addr_attr_len(&self.dst);
        }
        if let Some(a) = &self.gateway {
            len += addr_attr_len(a);
        }
        if let Some(a) = &self.prefsrc {
            len += addr_attr_len(a);
        }
        if self.priority.is_some() {
            len += attr_len(4);
        }
        if self.oif.is_some() {
            len += attr_len(4);
        }
        len
    }

    /// Write the request with sequence number `seq` into `buf`; return its
    /// length. Every operation asks for an ack.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::PrefixTooLong`],
    /// [`Error::FamilyMismatch`] (gateway or source of another family).
    pub fn emit(&self, op: Op, seq: u32, buf: &mut [u8]) -> Result<usize, Error> {
        check_prefix(&self.dst, self.prefix_len)?;
        let family = family_of(&self.dst);
        for a in [self.gateway, self.prefsrc].iter().flatten() {
            if family_of(a) != family {
                return Err(Error::FamilyMismatch);
            }
        }
        let (kind, scope, rtype) = match op {
            Op::Add | Op::Replace => {
                let scope = match (self.scope, self.gateway) {
                    (Some(s), _) => s,
                    (None, Some(_)) => Scope::Universe,
                    (None, None) => Scope::Link,
                };
                (RTM_NEWROUTE, scope, RTN_UNICAST)
            }
            // As iproute2: `nowhere` (any scope) for IPv4; IPv6 ignores it.
            Op::Delete if family == AF_INET => (RTM_DELROUTE, Scope::Nowhere, RTN_UNSPEC),
            Op::Delete => (RTM_DELROUTE, Scope::Universe, RTN_UNSPEC),
        };
        let table_byte = if self.table > 255 {
            RT_TABLE_UNSPEC as u8
        } else {
            self.table as u8
        };
        let mut b = MessageBuilder::new(buf, kind, op.flags(), seq);
        b.push_fixed(&[
            family,
            self.prefix_len,
            0, // src_len
            0, // tos
            table_byte,
            self.protocol,
            scope.into(),
            rtype,
            0, // flags (u32)
            0,
            0,
            0,
        ]);
        if self.table > 255 {
            b.push_attr_u32(RTA_TABLE, self.table);
        }
        if self.prefix_len != 0 {
            push_addr(&mut b, RTA_DST, &self.dst);
        }
        if let Some(a) = &self.gateway {
            push_addr(&mut b, RTA_GATEWAY, a);
        }
        if let Some(a) = &self.prefsrc {
            push_addr(&mut b, RTA_PREFSRC, a);
        }
        if let Some(m) = self.priority {
            b.push_attr_u32(RTA_PRIORITY, m);
        }
        if let Some(i) = self.oif {
            b.push_attr_u32(RTA_OIF, i);
        }
        b.finish()
    }
}

/// Octets [`get_links`] writes.
pub const GET_LINKS_LEN: usize = super::HEADER_LEN + IFINFOMSG_LEN + attr_len(4);

/// Write an `RTM_GETLINK` dump request (`ip link show`) with sequence number
/// `seq`; return its length ([`GET_LINKS_LEN`]).
///
/// The kernel answers with one [`Message::NewLink`] per interface (flag
/// [`NLM_F_MULTI`](super::NLM_F_MULTI), possibly over several `recv()`
/// calls) and then [`Message::Done`]; no ack. Statistics are left out
/// ([`RTEXT_FILTER_SKIP_STATS`]) to keep replies small.
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn get_links(buf: &mut [u8], seq: u32) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.push_fixed(&[0; IFINFOMSG_LEN]);
    b.push_attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    b.finish()
}

/// Octets [`get_addresses`] writes.
pub const GET_ADDRESSES_LEN: usize = super::HEADER_LEN + IFADDRMSG_LEN;

/// Write an `RTM_GETADDR` dump request (`ip addr show`) for `family`
/// ([`AF_INET`], [`AF_INET6`] or [`AF_UNSPEC`] for both) with sequence
/// number `seq`; return its length ([`GET_ADDRESSES_LEN`]).
///
/// The kernel answers with one [`Message::NewAddress`] per address and then
/// [`Message::Done`]; no ack.
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn get_addresses(buf: &mut [u8], seq: u32, family: u8) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(buf, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.push_fixed(&[family, 0, 0, 0, 0, 0, 0, 0]);
    b.finish()
}

// ---------------------------------------------------------------- parsing

/// An rtnetlink message the port acts on, parsed from a [`Packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// `NLMSG_ERROR`: an ack ([`ErrorMessage::is_ack`]) or an error.
    Error(ErrorMessage<'a>),
    /// `NLMSG_DONE`: the end of a dump.
    Done,
    /// `RTM_NEWLINK`: a link in a dump, or a link event.
    NewLink(LinkMessage<'a>),
    /// `RTM_DELLINK`: a link was removed.
    DelLink(LinkMessage<'a>),
    /// `RTM_NEWADDR`: an address in a dump, or an address was added.
    NewAddress(AddressMessage<'a>),
    /// `RTM_DELADDR`: an address was removed.
    DelAddress(AddressMessage<'a>),
    /// Any other message type (`NLMSG_NOOP`, routes, neighbours...), to be
    /// ignored.
    Other(u16),
}

impl<'a> Message<'a> {
    /// Parse a checked packet (from [`Messages`](super::Messages) or
    /// [`Packet::new_checked`]).
    ///
    /// # Errors
    /// [`Error::PayloadTooShort`] and the attribute errors of [`Nlas`]
    /// ([`Error::NlaTruncated`], [`Error::NlaLengthTooSmall`],
    /// [`Error::NlaBeyondEnd`]), [`Error::BadAttributeLength`],
    /// [`Error::BadString`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Message<'a>, Error> {
        let payload = packet.payload();
        // One parse per message kind (new and deleted share it): each
        // parser is then inlined once and fills the result in place.
        let kind = packet.message_type();
        Ok(match kind {
            NLMSG_ERROR => Message::Error(ErrorMessage::parse(payload, packet.flags())?),
            NLMSG_DONE => Message::Done,
            RTM_NEWLINK | RTM_DELLINK => {
                let link = LinkMessage::parse(payload)?;
                if kind == RTM_NEWLINK {
                    Message::NewLink(link)
                } else {
                    Message::DelLink(link)
                }
            }
            RTM_NEWADDR | RTM_DELADDR => {
                let address = AddressMessage::parse(payload)?;
                if kind == RTM_NEWADDR {
                    Message::NewAddress(address)
                } else {
                    Message::DelAddress(address)
                }
            }
            other => Message::Other(other),
        })
    }
}

/// A link (`RTM_NEWLINK`/`RTM_DELLINK`): `ifinfomsg` and the attributes the
/// port uses. Other attributes are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinkMessage<'a> {
    /// `ifi_type`: `ARPHRD_*` (1 = Ethernet, 772 = loopback).
    pub link_type: u16,
    /// `ifi_index`.
    pub ifindex: u32,
    /// `ifi_flags`: [`IFF_UP`], [`IFF_RUNNING`], [`IFF_LOWER_UP`]...
    pub flags: u32,
    /// `ifi_change`: which flags changed (events).
    pub change: u32,
    /// [`IFLA_IFNAME`].
    pub name: Option<&'a str>,
    /// [`IFLA_OPERSTATE`].
    pub operstate: Option<OperState>,
    /// [`IFLA_ADDRESS`]: the hardware address, of any length (6 for
    /// Ethernet; see [`mac`](LinkMessage::mac)).
    pub address: Option<&'a [u8]>,
    /// [`IFLA_MTU`].
    pub mtu: Option<u32>,
}

impl<'a> LinkMessage<'a> {
    /// Parse the payload of an `RTM_NEWLINK`/`RTM_DELLINK`.
    ///
    /// # Errors
    /// [`Error::PayloadTooShort`] (no room for `ifinfomsg`), attribute
    /// errors, [`Error::BadString`] for a bad name,
    /// [`Error::BadAttributeLength`] for a bad MTU or operstate.
    pub fn parse(payload: &'a [u8]) -> Result<LinkMessage<'a>, Error> {
        let head: [u8; IFINFOMSG_LEN] = payload
            .get(..IFINFOMSG_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Error::PayloadTooShort)?;
        let u32_at =
            |i: usize| u32::from_ne_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let mut link = LinkMessage {
            link_type: u16::from_ne_bytes([head[2], head[3]]),
            ifindex: u32_at(4),
            flags: u32_at(8),
            change: u32_at(12),
            name: None,
            operstate: None,
            address: None,
            mtu: None,
        };
        for nla in Nlas::new(&payload[IFINFOMSG_LEN..]) {
            let nla = nla?;
            match nla.kind() {
                IFLA_IFNAME => link.name = Some(nla.as_str()?),
                IFLA_OPERSTATE => link.operstate = Some(nla.as_u8()?.into()),
                IFLA_ADDRESS => link.address = Some(nla.value()),
                IFLA_MTU => link.mtu = Some(nla.as_u32()?),
                _ => {}
            }
        }
        Ok(link)
    }

    /// The hardware address if it is 6 octets (Ethernet MAC).
    pub fn mac(&self) -> Option<[u8; 6]> {
        self.address.and_then(|a| a.try_into().ok())
    }

    /// [`IFF_UP`]: administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// [`IFF_RUNNING`]: operationally up.
    pub fn is_running(&self) -> bool {
        self.flags & IFF_RUNNING != 0
    }

    /// [`IFF_LOWER_UP`]: carrier present.
    pub fn is_lower_up(&self) -> bool {
        self.flags & IFF_LOWER_UP != 0
    }
}

/// An address (`RTM_NEWADDR`/`RTM_DELADDR`): `ifaddrmsg` and the attributes
/// the port uses. Other attributes are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddressMessage<'a> {
    /// `ifa_family`: [`AF_INET`] or [`AF_INET6`] (others are reported with no
    /// addresses).
    pub family: u8,
    /// `ifa_prefixlen`.
    pub prefix_len: u8,
    /// `IFA_F_*`: [`IFA_FLAGS`] if present, else `ifa_flags`.
    pub flags: u32,
    /// `ifa_scope`.
    pub scope: Scope,
    /// `ifa_index`.
    pub ifindex: u32,
    /// [`IFA_ADDRESS`]: the address (IPv6) or peer/own address (IPv4).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub address: Option<IpAddr>,
    /// [`IFA_LOCAL`]: the local address (IPv4).
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub local: Option<IpAddr>,
    /// [`IFA_LABEL`] (IPv4).
    pub label: Option<&'a str>,
}

impl<'a> AddressMessage<'a> {
    /// Parse the payload of an `RTM_NEWADDR`/`RTM_DELADDR`.
    ///
    /// # Errors
    /// [`Error::PayloadTooShort`] (no room for `ifaddrmsg`), attribute
    /// errors, [`Error::BadAttributeLength`] for an address whose length
    /// does not match the family or bad flags, [`Error::BadString`] for a
    /// bad label.
    pub fn parse(payload: &'a [u8]) -> Result<AddressMessage<'a>, Error> {
        let head: [u8; IFADDRMSG_LEN] = payload
            .get(..IFADDRMSG_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Error::PayloadTooShort)?;
        let family = head[0];
        let mut msg = AddressMessage {
            family,
            prefix_len: head[1],
            flags: head[2].into(),
            scope: head[3].into(),
            ifindex: u32::from_ne_bytes([head[4], head[5], head[6], head[7]]),
            address: None,
            local: None,
            label: None,
        };
        // The address length of the family (0: neither IPv4 nor IPv6,
        // addresses are then left out).
        let len = match family {
            AF_INET => 4,
            AF_INET6 => 16,
            _ => 0,
        };
        for nla in Nlas::new(&payload[IFADDRMSG_LEN..]) {
            let nla = nla?;
            let kind = nla.kind();
            match kind {
                IFA_ADDRESS | IFA_LOCAL => {
                    let value = nla.value();
                    let ip = if len == 0 {
                        None
                    } else if value.len() != len {
                        return Err(Error::BadAttributeLength { kind });
                    } else {
                        crate::ip_from_octets(value)
                    };
                    if kind == IFA_ADDRESS {
                        msg.address = ip;
                    } else {
                        msg.local = ip;
                    }
                }
                IFA_LABEL => msg.label = Some(nla.as_str()?),
                IFA_FLAGS => msg.flags = nla.as_u32()?,
                _ => {}
            }
        }
        Ok(msg)
    }

    /// The interface's own address: [`IFA_LOCAL`] if present, else
    /// [`IFA_ADDRESS`].
    pub fn addr(&self) -> Option<IpAddr> {
        self.local.or(self.address)
    }
}
