//! ctnetlink (`NETLINK_NETFILTER`, subsystem `NFNL_SUBSYS_CTNETLINK`,
//! `linux/netfilter/nfnetlink_conntrack.h`): dump, follow, create, update
//! and delete the kernel's connection-tracking entries as
//! [`conntrack::Entry`](crate::conntrack::Entry) values.
//!
//! - Requests, each written into a caller buffer (returning its length):
//!   [`dump_request`] (`IPCTNL_MSG_CT_GET` with [`NLM_F_DUMP`]),
//!   [`new_request`] (`IPCTNL_MSG_CT_NEW`: create, create-or-update, update),
//!   [`delete_request`] and [`flush_request`] (`IPCTNL_MSG_CT_DELETE`).
//!   [`MAX_REQUEST_LEN`] octets always suffice.
//! - Replies and events: [`Message::parse`] on each [`Packet`] from
//!   [`Messages`](super::Messages): dumped entries, new/update/destroy
//!   events ([`EntryKind`]), acks and errors, end of dump.
//! - Sockets: [`NETLINK_NETFILTER`](super::NETLINK_NETFILTER); events are
//!   the multicast groups [`NFNLGRP_CONNTRACK_NEW`],
//!   [`NFNLGRP_CONNTRACK_UPDATE`] and [`NFNLGRP_CONNTRACK_DESTROY`] (for
//!   `NETLINK_ADD_MEMBERSHIP`), or the bits [`NF_NETLINK_CONNTRACK_NEW`]...
//!   (for `sockaddr_nl.nl_groups`).
//!
//! # Byte order
//! The netlink and attribute headers are in host order (see
//! [`netlink`](super)); the `nfgenmsg` resource id and every ctnetlink
//! attribute value (addresses, ports, status, timeout, mark, zone, id) are
//! big-endian. The kernel does not flag them with
//! [`NLA_F_NET_BYTEORDER`](super::NLA_F_NET_BYTEORDER) and neither do the
//! builders here (nor `conntrack`, whose requests they reproduce).
//!
//! # Committing NAT
//! The kernel does not take NAT from `CTA_STATUS` (the NAT bits are in
//! [`IPS_UNCHANGEABLE_MASK`]) and does not infer it from the reply tuple: a
//! request carrying the translated reply tuple creates an entry with the
//! right tuples but *without* `IPS_SRC_NAT`/`IPS_DST_NAT`, whose packets
//! are then not translated (verified on Linux 6.18, and the reason
//! `conntrack -I` is easy to misuse). So for an entry with NAT, a create
//! request carries the *un-translated* reply tuple (the inverse of the
//! original) plus `CTA_NAT_SRC`/`CTA_NAT_DST` holding the mapping from
//! [`Entry::nat_delta`]; the kernel sets the NAT up, which rewrites the
//! reply tuple to exactly the one of the entry and sets the status bits.
//! The kernel refuses NAT attributes for an existing entry
//! (`EOPNOTSUPP`), so updates leave them out; see [`NewMode`].
//!
//! ```
//! use core::net::{IpAddr, Ipv4Addr};
//! use tandem_protocol::conntrack::{Entry, Manip, NatDelta, Tuple};
//! use tandem_protocol::netlink::ct::{self, EntryKind, Message, NewMode};
//! use tandem_protocol::netlink::Messages;
//!
//! // A masqueraded UDP flow, as the backup would commit it.
//! let lan = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
//! let server = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
//! let wan = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
//! let orig = Tuple::udp(lan, server, 5000, 53);
//! let snat = NatDelta { snat: Some(Manip { addr: wan, port: 6000 }), dnat: None };
//! let mut entry = Entry::with_nat(orig, snat);
//! entry.timeout = 30;
//!
//! let mut buf = [0u8; ct::MAX_REQUEST_LEN];
//! let len = ct::new_request(&mut buf, 7, &entry, NewMode::Create, true).unwrap();
//! assert_eq!(len, 164); // what `conntrack -I ... --src-nat 198.51.100.1:6000` sends
//!
//! // A create request has the layout of an entry message: parse it back.
//! let packet = Messages::new(&buf[..len]).next().unwrap().unwrap();
//! match Message::parse(&packet).unwrap() {
//!     Message::Entry { kind, entry: sent } => {
//!         assert_eq!(kind, EntryKind::New);
//!         assert_eq!(sent.orig, orig);
//!         // The reply tuple travels un-translated; the NAT rides in CTA_NAT_SRC.
//!         assert_eq!(sent.reply, orig.inverse());
//!     }
//!     _ => unreachable!(),
//! }
//! ```
//!
//! # Panics
//! Nothing here panics on any input: parsers return [`Error`], builders
//! return [`Error::Netlink`]`(`[`BufferTooSmall`](super::Error::BufferTooSmall)`)`
//! instead of writing past the end.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr};

use super::{
    ErrorMessage, MessageBuilder, Nlas, Packet, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_EXCL, NLM_F_MULTI, NLM_F_REQUEST,
};
use crate::conntrack::{
    Entry, Key, Manip, TcpInfo, Tuple, IPPROTO_GRE, IPPROTO_ICMP, IPS_CONFIRMED,
    IPS_UNCHANGEABLE_MASK,
};

// ---------------------------------------------------------------- nfnetlink

/// nfnetlink subsystem: connection tracking.
pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
/// nfnetlink subsystem: conntrack expectations.
pub const NFNL_SUBSYS_CTNETLINK_EXP: u8 = 2;
/// nfnetlink subsystem: conntrack timeout policies.
pub const NFNL_SUBSYS_CTNETLINK_TIMEOUT: u8 = 8;
/// `nfgenmsg.version`: the only version there is.
pub const NFNETLINK_V0: u8 = 0;
/// Length of `struct nfgenmsg`.
pub const NFGENMSG_LEN: usize = 4;

/// ctnetlink message: create or update an entry; dumped entries and
/// new/update events.
pub const IPCTNL_MSG_CT_NEW: u8 = 0;
/// ctnetlink message: get one entry, or dump them.
pub const IPCTNL_MSG_CT_GET: u8 = 1;
/// ctnetlink message: delete an entry (or flush); destroy events.
pub const IPCTNL_MSG_CT_DELETE: u8 = 2;
/// ctnetlink message: get and zero the counters.
pub const IPCTNL_MSG_CT_GET_CTRZERO: u8 = 3;
/// ctnetlink message: per-CPU statistics.
pub const IPCTNL_MSG_CT_GET_STATS_CPU: u8 = 4;
/// ctnetlink message: global statistics.
pub const IPCTNL_MSG_CT_GET_STATS: u8 = 5;
/// ctnetlink message: dump dying entries.
pub const IPCTNL_MSG_CT_GET_DYING: u8 = 6;
/// ctnetlink message: dump unconfirmed entries.
pub const IPCTNL_MSG_CT_GET_UNCONFIRMED: u8 = 7;

/// The netlink message type of nfnetlink message `msg` of subsystem
/// `subsys` (`subsys << 8 | msg`).
pub const fn message_type(subsys: u8, msg: u8) -> u16 {
    (subsys as u16) << 8 | msg as u16
}

/// Netlink message type of `IPCTNL_MSG_CT_NEW`.
pub const CT_NEW: u16 = message_type(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW);
/// Netlink message type of `IPCTNL_MSG_CT_GET`.
pub const CT_GET: u16 = message_type(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET);
/// Netlink message type of `IPCTNL_MSG_CT_DELETE`.
pub const CT_DELETE: u16 = message_type(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE);

// ---------------------------------------------------------------- groups

/// Multicast group (`NETLINK_ADD_MEMBERSHIP`): new entries.
pub const NFNLGRP_CONNTRACK_NEW: u32 = 1;
/// Multicast group: updated entries (state, status, mark, timeout...).
pub const NFNLGRP_CONNTRACK_UPDATE: u32 = 2;
/// Multicast group: destroyed entries.
pub const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;
/// Legacy group bit (`sockaddr_nl.nl_groups`) of [`NFNLGRP_CONNTRACK_NEW`].
pub const NF_NETLINK_CONNTRACK_NEW: u32 = 1 << (NFNLGRP_CONNTRACK_NEW - 1);
/// Legacy group bit of [`NFNLGRP_CONNTRACK_UPDATE`].
pub const NF_NETLINK_CONNTRACK_UPDATE: u32 = 1 << (NFNLGRP_CONNTRACK_UPDATE - 1);
/// Legacy group bit of [`NFNLGRP_CONNTRACK_DESTROY`].
pub const NF_NETLINK_CONNTRACK_DESTROY: u32 = 1 << (NFNLGRP_CONNTRACK_DESTROY - 1);

// ---------------------------------------------------------------- families

/// `nfgenmsg.nfgen_family`: any (dump and flush requests for both IPv4 and
/// IPv6).
pub const NFPROTO_UNSPEC: u8 = 0;
/// `nfgenmsg.nfgen_family`: IPv4 (`AF_INET`).
pub const NFPROTO_IPV4: u8 = 2;
/// `nfgenmsg.nfgen_family`: IPv6 (`AF_INET6`).
pub const NFPROTO_IPV6: u8 = 10;

// ---------------------------------------------------------------- attributes

/// Attribute (nested): the original-direction tuple.
pub const CTA_TUPLE_ORIG: u16 = 1;
/// Attribute (nested): the reply-direction tuple.
pub const CTA_TUPLE_REPLY: u16 = 2;
/// Attribute: `IPS_*` status bits (be32).
pub const CTA_STATUS: u16 = 3;
/// Attribute (nested): protocol state ([`CTA_PROTOINFO_TCP`]...).
pub const CTA_PROTOINFO: u16 = 4;
/// Attribute (nested): helper.
pub const CTA_HELP: u16 = 5;
/// Attribute (nested): source NAT setup (`CTA_NAT_*`), requests only.
pub const CTA_NAT_SRC: u16 = 6;
/// Attribute: seconds until expiry (be32).
pub const CTA_TIMEOUT: u16 = 7;
/// Attribute: connection mark (be32).
pub const CTA_MARK: u16 = 8;
/// Attribute (nested): counters of the original direction.
pub const CTA_COUNTERS_ORIG: u16 = 9;
/// Attribute (nested): counters of the reply direction.
pub const CTA_COUNTERS_REPLY: u16 = 10;
/// Attribute: reference count (be32).
pub const CTA_USE: u16 = 11;
/// Attribute: the entry's id (be32).
pub const CTA_ID: u16 = 12;
/// Attribute (nested): destination NAT setup (`CTA_NAT_*`), requests only.
pub const CTA_NAT_DST: u16 = 13;
/// Attribute (nested): the master's tuple (expected connections).
pub const CTA_TUPLE_MASTER: u16 = 14;
/// Attribute (nested): sequence adjustment, original direction.
pub const CTA_SEQ_ADJ_ORIG: u16 = 15;
/// Attribute (nested): sequence adjustment, reply direction.
pub const CTA_SEQ_ADJ_REPLY: u16 = 16;
/// Attribute: security mark (be32).
pub const CTA_SECMARK: u16 = 17;
/// Attribute: conntrack zone (be16).
pub const CTA_ZONE: u16 = 18;
/// Attribute (nested): security context.
pub const CTA_SECCTX: u16 = 19;
/// Attribute (nested): start and stop timestamps.
pub const CTA_TIMESTAMP: u16 = 20;
/// Attribute: mark mask (be32).
pub const CTA_MARK_MASK: u16 = 21;
/// Attribute: connection labels (bitmap).
pub const CTA_LABELS: u16 = 22;
/// Attribute: labels mask.
pub const CTA_LABELS_MASK: u16 = 23;
/// Attribute (nested): SYN proxy state.
pub const CTA_SYNPROXY: u16 = 24;
/// Attribute (nested): dump filter.
pub const CTA_FILTER: u16 = 25;
/// Attribute: status mask (be32), dump filter.
pub const CTA_STATUS_MASK: u16 = 26;
/// Attribute: event timestamp (be64).
pub const CTA_TIMESTAMP_EVENT: u16 = 27;

/// Tuple attribute (nested): addresses (`CTA_IP_*`).
pub const CTA_TUPLE_IP: u16 = 1;
/// Tuple attribute (nested): protocol and ports (`CTA_PROTO_*`).
pub const CTA_TUPLE_PROTO: u16 = 2;
/// Tuple attribute: zone of this direction (be16).
pub const CTA_TUPLE_ZONE: u16 = 3;

/// Address attribute: IPv4 source (4 octets).
pub const CTA_IP_V4_SRC: u16 = 1;
/// Address attribute: IPv4 destination.
pub const CTA_IP_V4_DST: u16 = 2;
/// Address attribute: IPv6 source (16 octets).
pub const CTA_IP_V6_SRC: u16 = 3;
/// Address attribute: IPv6 destination.
pub const CTA_IP_V6_DST: u16 = 4;

/// Protocol attribute: IP protocol number (u8).
pub const CTA_PROTO_NUM: u16 = 1;
/// Protocol attribute: source port (be16).
pub const CTA_PROTO_SRC_PORT: u16 = 2;
/// Protocol attribute: destination port (be16).
pub const CTA_PROTO_DST_PORT: u16 = 3;
/// Protocol attribute: ICMP identifier (be16).
pub const CTA_PROTO_ICMP_ID: u16 = 4;
/// Protocol attribute: ICMP type (u8).
pub const CTA_PROTO_ICMP_TYPE: u16 = 5;
/// Protocol attribute: ICMP code (u8).
pub const CTA_PROTO_ICMP_CODE: u16 = 6;
/// Protocol attribute: ICMPv6 identifier (be16).
pub const CTA_PROTO_ICMPV6_ID: u16 = 7;
/// Protocol attribute: ICMPv6 type (u8).
pub const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
/// Protocol attribute: ICMPv6 code (u8).
pub const CTA_PROTO_ICMPV6_CODE: u16 = 9;

/// Protocol-info attribute (nested): TCP (`CTA_PROTOINFO_TCP_*`).
pub const CTA_PROTOINFO_TCP: u16 = 1;
/// Protocol-info attribute (nested): DCCP.
pub const CTA_PROTOINFO_DCCP: u16 = 2;
/// Protocol-info attribute (nested): SCTP.
pub const CTA_PROTOINFO_SCTP: u16 = 3;

/// TCP attribute: state (u8, [`TcpState`](crate::conntrack::TcpState)).
pub const CTA_PROTOINFO_TCP_STATE: u16 = 1;
/// TCP attribute: window scale, original direction (u8).
pub const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL: u16 = 2;
/// TCP attribute: window scale, reply direction (u8).
pub const CTA_PROTOINFO_TCP_WSCALE_REPLY: u16 = 3;
/// TCP attribute: flags of the original direction (`struct nf_ct_tcp_flags`:
/// flags, then the mask of flags to change).
pub const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: u16 = 4;
/// TCP attribute: flags of the reply direction.
pub const CTA_PROTOINFO_TCP_FLAGS_REPLY: u16 = 5;

/// NAT attribute: lowest IPv4 address of the range (4 octets).
pub const CTA_NAT_V4_MINIP: u16 = 1;
/// NAT attribute: highest IPv4 address (the lowest when absent).
pub const CTA_NAT_V4_MAXIP: u16 = 2;
/// NAT attribute (nested): port range (`CTA_PROTONAT_*`).
pub const CTA_NAT_PROTO: u16 = 3;
/// NAT attribute: lowest IPv6 address of the range (16 octets).
pub const CTA_NAT_V6_MINIP: u16 = 4;
/// NAT attribute: highest IPv6 address.
pub const CTA_NAT_V6_MAXIP: u16 = 5;

/// NAT port attribute: lowest port (be16; ICMP: identifier).
pub const CTA_PROTONAT_PORT_MIN: u16 = 1;
/// NAT port attribute: highest port.
pub const CTA_PROTONAT_PORT_MAX: u16 = 2;

/// An upper bound of the length of any request built here (an IPv6 entry
/// with TCP state and both source and destination NAT needs 340 octets).
pub const MAX_REQUEST_LEN: usize = 384;

// ---------------------------------------------------------------- errors

/// What was wrong with a ctnetlink message, or why a request could not be
/// built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The netlink layer: header, attribute framing, attribute sizes, or
    /// (building) a buffer too small.
    Netlink(super::Error),
    /// The `nfgenmsg` family is neither IPv4 nor IPv6.
    BadFamily {
        /// The family received.
        family: u8,
    },
    /// The `nfgenmsg` version is not [`NFNETLINK_V0`].
    BadVersion {
        /// The version received.
        version: u8,
    },
    /// A required attribute is absent: [`CTA_TUPLE_ORIG`] or
    /// [`CTA_TUPLE_REPLY`] in an entry, [`CTA_TUPLE_IP`] or
    /// [`CTA_TUPLE_PROTO`] in a tuple, an address, the protocol number,
    /// a port or an ICMP field.
    MissingAttribute {
        /// The attribute type (without flags), in the nest that lacks it.
        kind: u16,
    },
    /// Addresses of the other family than the message's (parsing), or a
    /// tuple mixing families or the two tuples of an entry differing in
    /// family (building).
    FamilyMismatch,
    /// The original and reply tuples name different protocols.
    ProtocolMismatch,
}

impl From<super::Error> for Error {
    fn from(e: super::Error) -> Error {
        Error::Netlink(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Netlink(e) => fmt::Display::fmt(e, f),
            Error::BadFamily { family } => {
                write!(f, "ctnetlink message of unsupported family {family}")
            }
            Error::BadVersion { version } => {
                write!(f, "ctnetlink message of unsupported version {version}")
            }
            Error::MissingAttribute { kind } => {
                write!(f, "ctnetlink attribute {kind} missing")
            }
            Error::FamilyMismatch => f.write_str("conntrack tuple addresses of the wrong family"),
            Error::ProtocolMismatch => {
                f.write_str("conntrack original and reply tuples of different protocols")
            }
        }
    }
}

impl core::error::Error for Error {}

// ---------------------------------------------------------------- nfgenmsg

/// `struct nfgenmsg`, the fixed header of every nfnetlink message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NfGenMsg {
    /// `nfgen_family`: [`NFPROTO_IPV4`], [`NFPROTO_IPV6`] or
    /// [`NFPROTO_UNSPEC`].
    pub family: u8,
    /// `version`: [`NFNETLINK_V0`].
    pub version: u8,
    /// `res_id` (big-endian on the wire): 0 for ctnetlink.
    pub res_id: u16,
}

impl NfGenMsg {
    /// A version-0 header of `family` with resource id 0.
    pub const fn new(family: u8) -> NfGenMsg {
        NfGenMsg {
            family,
            version: NFNETLINK_V0,
            res_id: 0,
        }
    }

    /// Parse the first [`NFGENMSG_LEN`] octets of a message's payload.
    ///
    /// # Errors
    /// [`Error::Netlink`]`(`[`PayloadTooShort`](super::Error::PayloadTooShort)`)`.
    pub fn parse(payload: &[u8]) -> Result<NfGenMsg, Error> {
        let b = payload
            .get(..NFGENMSG_LEN)
            .ok_or(Error::Netlink(super::Error::PayloadTooShort))?;
        Ok(NfGenMsg {
            family: b[0],
            version: b[1],
            res_id: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The header's wire form.
    pub const fn to_bytes(&self) -> [u8; NFGENMSG_LEN] {
        let id = self.res_id.to_be_bytes();
        [self.family, self.version, id[0], id[1]]
    }
}

/// The `nfgenmsg` family of a tuple's addresses.
pub const fn family_of(tuple: &Tuple) -> u8 {
    if tuple.is_ipv6() {
        NFPROTO_IPV6
    } else {
        NFPROTO_IPV4
    }
}

// ---------------------------------------------------------------- requests

/// Which entries a dump returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DumpFamily {
    /// IPv4 and IPv6 ([`NFPROTO_UNSPEC`]).
    Both,
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
}

impl DumpFamily {
    /// The `nfgenmsg` family.
    pub const fn family(self) -> u8 {
        match self {
            DumpFamily::Both => NFPROTO_UNSPEC,
            DumpFamily::Ipv4 => NFPROTO_IPV4,
            DumpFamily::Ipv6 => NFPROTO_IPV6,
        }
    }
}

/// How an `IPCTNL_MSG_CT_NEW` request treats an entry that may exist.
///
/// The kernel looks the entry up by its original tuple and zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NewMode {
    /// Create it; fail with `EEXIST` if it exists ([`NLM_F_CREATE`] |
    /// [`NLM_F_EXCL`], like `conntrack -I`). Carries the NAT setup.
    Create,
    /// Create it, or update it if it exists ([`NLM_F_CREATE`] only).
    /// Carries the NAT setup, which the kernel refuses (`EOPNOTSUPP`) for
    /// an existing entry: for NAT'd entries prefer [`Create`](NewMode::Create)
    /// and, on `EEXIST`, [`Update`](NewMode::Update).
    CreateOrUpdate,
    /// Update an existing entry (no create flag; `ENOENT` if absent): the
    /// original tuple to find it, then status, timeout, mark and TCP
    /// state. No reply tuple, no NAT (fixed when the entry was created).
    /// The kernel answers `EBUSY` if the status would clear
    /// `IPS_SEEN_REPLY` or `IPS_ASSURED`, which only ever get set.
    Update,
}

fn request_flags(ack: bool) -> u16 {
    if ack {
        NLM_F_REQUEST | NLM_F_ACK
    } else {
        NLM_F_REQUEST
    }
}

/// Write an `IPCTNL_MSG_CT_GET` dump request for `family` with sequence
/// number `seq` into `buf`; return its length (20).
///
/// The kernel answers with one [`Message::Entry`] of kind
/// [`EntryKind::Dump`] per entry, over several `recv()`s, then
/// [`Message::Done`].
///
/// # Errors
/// [`Error::Netlink`]`(`[`BufferTooSmall`](super::Error::BufferTooSmall)`)`.
pub fn dump_request(buf: &mut [u8], seq: u32, family: DumpFamily) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(buf, CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.push_fixed(&NfGenMsg::new(family.family()).to_bytes());
    Ok(b.finish()?)
}

/// Write an `IPCTNL_MSG_CT_NEW` request for `entry` into `buf`; return its
/// length (at most [`MAX_REQUEST_LEN`]).
///
/// Attributes, in `conntrack -I`'s order:
/// - `CTA_TUPLE_ORIG`; `CTA_TUPLE_REPLY` except in [`NewMode::Update`]:
///   the entry's reply tuple, or for an entry with NAT the inverse of the
///   original (the kernel derives the translated one, see the
///   [module documentation](self));
/// - `CTA_STATUS` with the bits userspace may set (status without
///   [`IPS_UNCHANGEABLE_MASK`]) plus [`IPS_CONFIRMED`], which the kernel
///   insists on; left out when there are no such bits;
/// - `CTA_TIMEOUT` (always: the kernel requires it to create);
/// - `CTA_MARK` if not 0, and always in [`NewMode::Update`] (so a mark can
///   be cleared);
/// - `CTA_PROTOINFO` for `entry.tcp`: the state; each window scale if not
///   0; each direction's flags if not 0, with a mask equal to the flags
///   (the kernel only sets flags present in the mask);
/// - `CTA_NAT_SRC` and `CTA_NAT_DST` (not in [`NewMode::Update`]) from
///   [`Entry::nat_delta`]: the address as the range's minimum (the maximum
///   defaults to it) and, for protocols with ports or ICMP, the port or
///   identifier as minimum and maximum;
/// - `CTA_ZONE` if not 0.
///
/// `entry.id` is not sent: the kernel assigns ids.
///
/// # Errors
/// [`Error::FamilyMismatch`] if a tuple mixes families or the tuples'
/// families differ; [`Error::ProtocolMismatch`] if their protocols differ;
/// [`Error::Netlink`]`(`[`BufferTooSmall`](super::Error::BufferTooSmall)`)`.
pub fn new_request(
    buf: &mut [u8],
    seq: u32,
    entry: &Entry,
    mode: NewMode,
    ack: bool,
) -> Result<usize, Error> {
    let orig = &entry.orig;
    check_tuples(orig, &entry.reply)?;
    let delta = entry.nat_delta();
    let creating = mode != NewMode::Update;
    let other_family = |m: &Option<Manip>| m.is_some_and(|m| m.addr.is_ipv6() != orig.is_ipv6());
    if creating && (other_family(&delta.snat) || other_family(&delta.dnat)) {
        return Err(Error::FamilyMismatch);
    }
    let flags = request_flags(ack)
        | match mode {
            NewMode::Create => NLM_F_CREATE | NLM_F_EXCL,
            NewMode::CreateOrUpdate => NLM_F_CREATE,
            NewMode::Update => 0,
        };
    let mut b = MessageBuilder::new(buf, CT_NEW, flags, seq);
    b.push_fixed(&NfGenMsg::new(family_of(orig)).to_bytes());
    push_tuple(&mut b, CTA_TUPLE_ORIG, orig);
    if creating {
        let inverse;
        let reply = if delta.is_none() {
            &entry.reply
        } else {
            inverse = orig.inverse();
            &inverse
        };
        push_tuple(&mut b, CTA_TUPLE_REPLY, reply);
    }
    let status = entry.status & !IPS_UNCHANGEABLE_MASK;
    if status != 0 {
        push_be32(&mut b, CTA_STATUS, status | IPS_CONFIRMED);
    }
    push_be32(&mut b, CTA_TIMEOUT, entry.timeout);
    if entry.mark != 0 || !creating {
        push_be32(&mut b, CTA_MARK, entry.mark);
    }
    if let Some(tcp) = &entry.tcp {
        push_tcp(&mut b, tcp);
    }
    if creating {
        for (kind, m) in [(CTA_NAT_SRC, &delta.snat), (CTA_NAT_DST, &delta.dnat)] {
            if let Some(m) = m {
                push_nat(&mut b, kind, m, orig);
            }
        }
    }
    push_zone(&mut b, entry.zone);
    Ok(b.finish()?)
}

/// Write an `IPCTNL_MSG_CT_DELETE` request for the entry with `key`
/// (original tuple and zone) into `buf`; return its length. With `id`, the
/// kernel deletes the entry only if its id is still that one (`ENOENT`
/// otherwise), so a newer entry with the same tuple survives.
///
/// # Errors
/// [`Error::FamilyMismatch`] if the tuple mixes families;
/// [`Error::Netlink`]`(`[`BufferTooSmall`](super::Error::BufferTooSmall)`)`.
pub fn delete_request(
    buf: &mut [u8],
    seq: u32,
    key: &Key,
    id: Option<u32>,
    ack: bool,
) -> Result<usize, Error> {
    if !key.orig.is_consistent() {
        return Err(Error::FamilyMismatch);
    }
    let mut b = MessageBuilder::new(buf, CT_DELETE, request_flags(ack), seq);
    b.push_fixed(&NfGenMsg::new(family_of(&key.orig)).to_bytes());
    push_tuple(&mut b, CTA_TUPLE_ORIG, &key.orig);
    if let Some(id) = id {
        push_be32(&mut b, CTA_ID, id);
    }
    push_zone(&mut b, key.zone);
    Ok(b.finish()?)
}

/// Write an `IPCTNL_MSG_CT_DELETE` request without a tuple, which deletes
/// every entry of `family` (`conntrack -F`), into `buf`; return its length.
///
/// # Errors
/// [`Error::Netlink`]`(`[`BufferTooSmall`](super::Error::BufferTooSmall)`)`.
pub fn flush_request(
    buf: &mut [u8],
    seq: u32,
    family: DumpFamily,
    ack: bool,
) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(buf, CT_DELETE, request_flags(ack), seq);
    b.push_fixed(&NfGenMsg::new(family.family()).to_bytes());
    Ok(b.finish()?)
}

fn check_tuples(orig: &Tuple, reply: &Tuple) -> Result<(), Error> {
    if !orig.is_consistent() || !reply.is_consistent() || orig.is_ipv6() != reply.is_ipv6() {
        return Err(Error::FamilyMismatch);
    }
    if orig.proto != reply.proto {
        return Err(Error::ProtocolMismatch);
    }
    Ok(())
}

fn push_be16(b: &mut MessageBuilder<'_>, kind: u16, v: u16) {
    b.push_attr(kind, &v.to_be_bytes());
}

#[inline(never)]
fn push_be32(b: &mut MessageBuilder<'_>, kind: u16, v: u32) {
    b.push_attr(kind, &v.to_be_bytes());
}

/// `CTA_ZONE` unless the zone is 0.
fn push_zone(b: &mut MessageBuilder<'_>, zone: u16) {
    if zone != 0 {
        push_be16(b, CTA_ZONE, zone);
    }
}

/// An address attribute: 4 or 16 octets.
#[inline(never)]
fn push_ip(b: &mut MessageBuilder<'_>, kind: u16, a: &IpAddr) {
    match a {
        IpAddr::V4(a) => b.push_attr(kind, &a.octets()),
        IpAddr::V6(a) => b.push_attr(kind, &a.octets()),
    }
}

/// A tuple; its families were checked ([`Tuple::is_consistent`]).
#[inline(never)]
fn push_tuple(b: &mut MessageBuilder<'_>, kind: u16, t: &Tuple) {
    let outer = b.begin_nested(kind);
    let ip = b.begin_nested(CTA_TUPLE_IP);
    let src = if t.is_ipv6() {
        CTA_IP_V6_SRC
    } else {
        CTA_IP_V4_SRC
    };
    push_ip(b, src, &t.src);
    push_ip(b, src + 1, &t.dst);
    b.end_nested(ip);
    let proto = b.begin_nested(CTA_TUPLE_PROTO);
    b.push_attr(CTA_PROTO_NUM, &[t.proto]);
    if t.is_icmp() {
        // conntrack's order: code, type, id.
        let (id, kind, code) = if t.proto == IPPROTO_ICMP {
            (CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE)
        } else {
            (
                CTA_PROTO_ICMPV6_ID,
                CTA_PROTO_ICMPV6_TYPE,
                CTA_PROTO_ICMPV6_CODE,
            )
        };
        b.push_attr(code, &[t.icmp_code()]);
        b.push_attr(kind, &[t.icmp_type()]);
        push_be16(b, id, t.icmp_id());
    } else if t.has_ports() || t.proto == IPPROTO_GRE {
        push_be16(b, CTA_PROTO_SRC_PORT, t.src_port);
        push_be16(b, CTA_PROTO_DST_PORT, t.dst_port);
    }
    b.end_nested(proto);
    b.end_nested(outer);
}

fn push_tcp(b: &mut MessageBuilder<'_>, tcp: &TcpInfo) {
    let outer = b.begin_nested(CTA_PROTOINFO);
    let inner = b.begin_nested(CTA_PROTOINFO_TCP);
    b.push_attr(CTA_PROTOINFO_TCP_STATE, &[u8::from(tcp.state)]);
    // Window scales (one octet), then flags with their mask (two): each
    // only when not 0.
    // The four types are consecutive, window scales first.
    const _: () = assert!(CTA_PROTOINFO_TCP_FLAGS_REPLY == CTA_PROTOINFO_TCP_WSCALE_ORIGINAL + 3);
    let f = [
        tcp.wscale_orig,
        tcp.wscale_reply,
        tcp.flags_orig,
        tcp.flags_reply,
    ];
    for (i, &v) in f.iter().enumerate() {
        if v != 0 {
            let kind = CTA_PROTOINFO_TCP_WSCALE_ORIGINAL + i as u16;
            b.push_attr(kind, &[v, v][..1 + i / 2]);
        }
    }
    b.end_nested(inner);
    b.end_nested(outer);
}

/// A NAT setup; the address family was checked.
fn push_nat(b: &mut MessageBuilder<'_>, kind: u16, m: &Manip, orig: &Tuple) {
    let outer = b.begin_nested(kind);
    let min = if orig.is_ipv6() {
        CTA_NAT_V6_MINIP
    } else {
        CTA_NAT_V4_MINIP
    };
    push_ip(b, min, &m.addr);
    if orig.has_ports() || orig.is_icmp() {
        let ports = b.begin_nested(CTA_NAT_PROTO);
        push_be16(b, CTA_PROTONAT_PORT_MIN, m.port);
        push_be16(b, CTA_PROTONAT_PORT_MAX, m.port);
        b.end_nested(ports);
    }
    b.end_nested(outer);
}

// ---------------------------------------------------------------- parsing

/// What a ctnetlink message carrying an entry says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EntryKind {
    /// A reply to a dump or get request (`IPCTNL_MSG_CT_NEW` with
    /// [`NLM_F_MULTI`]).
    Dump,
    /// Event: a new entry (`IPCTNL_MSG_CT_NEW` with [`NLM_F_CREATE`] and
    /// [`NLM_F_EXCL`], group [`NFNLGRP_CONNTRACK_NEW`]).
    New,
    /// Event: an entry changed (`IPCTNL_MSG_CT_NEW` without those flags,
    /// group [`NFNLGRP_CONNTRACK_UPDATE`]).
    Update,
    /// Event: an entry was destroyed (`IPCTNL_MSG_CT_DELETE`, group
    /// [`NFNLGRP_CONNTRACK_DESTROY`]). Its timeout and TCP state are not
    /// reported.
    Destroy,
}

impl EntryKind {
    /// Classify a message by its netlink type and flags; `None` if it is
    /// neither `IPCTNL_MSG_CT_NEW` nor `IPCTNL_MSG_CT_DELETE`.
    pub const fn classify(message_type: u16, flags: u16) -> Option<EntryKind> {
        match message_type {
            CT_DELETE => Some(EntryKind::Destroy),
            CT_NEW if flags & NLM_F_MULTI != 0 => Some(EntryKind::Dump),
            CT_NEW if flags & (NLM_F_CREATE | NLM_F_EXCL) != 0 => Some(EntryKind::New),
            CT_NEW => Some(EntryKind::Update),
            _ => None,
        }
    }
}

/// A message received on a ctnetlink socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// An entry: from a dump, or a new/update/destroy event.
    Entry {
        /// Dump reply or event, and which event.
        kind: EntryKind,
        /// The entry. Attributes the kernel did not send are 0 or `None`.
        entry: Entry,
    },
    /// The end of a dump ([`NLMSG_DONE`]).
    Done,
    /// An error or acknowledgement ([`NLMSG_ERROR`]).
    Error(ErrorMessage<'a>),
    /// Any other message type (statistics, expectations, `NLMSG_NOOP`...),
    /// not decoded.
    Other {
        /// The netlink message type.
        message_type: u16,
    },
}

/// What [`parse_message`] found; an entry's fields go to the caller's
/// [`Entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Parsed<'a> {
    /// An entry (written to the caller's [`Entry`]): dump or event.
    Entry(EntryKind),
    /// The end of a dump ([`NLMSG_DONE`]).
    Done,
    /// An error or acknowledgement ([`NLMSG_ERROR`]).
    Error(ErrorMessage<'a>),
    /// Any other message type, not decoded.
    Other {
        /// The netlink message type.
        message_type: u16,
    },
}

/// Decode one message from a checked [`Packet`]; an entry is decoded into
/// `entry` (in place: nothing big is moved).
///
/// # Errors
/// As [`Message::parse`].
#[inline(never)]
pub fn parse_message<'a>(
    packet: &Packet<&'a [u8]>,
    entry: &mut Entry,
) -> Result<Parsed<'a>, Error> {
    let payload = packet.payload();
    let message_type = packet.message_type();
    let flags = packet.flags();
    Ok(match message_type {
        NLMSG_ERROR => Parsed::Error(ErrorMessage::parse(payload, flags)?),
        NLMSG_DONE => Parsed::Done,
        _ => match EntryKind::classify(message_type, flags) {
            Some(kind) => {
                parse_entry_into(payload, entry)?;
                Parsed::Entry(kind)
            }
            None => Parsed::Other { message_type },
        },
    })
}

/// An empty tuple (what parsing starts from).
const NO_TUPLE: Tuple = Tuple::new(
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    0,
    0,
    0,
);

impl<'a> Message<'a> {
    /// Decode one message from a checked [`Packet`].
    ///
    /// # Errors
    /// As [`parse_entry`] for entries; [`Error::Netlink`] for a malformed
    /// [`NLMSG_ERROR`].
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Message<'a>, Error> {
        let mut entry = Entry::new(NO_TUPLE, NO_TUPLE);
        Ok(match parse_message(packet, &mut entry)? {
            Parsed::Entry(kind) => Message::Entry { kind, entry },
            Parsed::Done => Message::Done,
            Parsed::Error(e) => Message::Error(e),
            Parsed::Other { message_type } => Message::Other { message_type },
        })
    }
}

/// Decode the payload (`nfgenmsg` and attributes) of an
/// `IPCTNL_MSG_CT_NEW` or `IPCTNL_MSG_CT_DELETE` message into an entry.
///
/// Required: an IPv4 or IPv6 `nfgenmsg` of version 0, both tuples, in each
/// the two addresses of that family and the protocol number, and the ports
/// (TCP, UDP, UDP-Lite, SCTP, DCCP) or ICMP id, type and code. Optional
/// (0 or `None` when absent): status, timeout, mark, zone, id, TCP state.
/// Unknown attributes are skipped; of a repeated attribute the last wins.
///
/// # Errors
/// [`Error::Netlink`] for bad framing or attribute sizes,
/// [`Error::BadFamily`], [`Error::BadVersion`],
/// [`Error::MissingAttribute`], [`Error::FamilyMismatch`],
/// [`Error::ProtocolMismatch`].
pub fn parse_entry(payload: &[u8]) -> Result<Entry, Error> {
    let mut entry = Entry::new(NO_TUPLE, NO_TUPLE);
    parse_entry_into(payload, &mut entry)?;
    Ok(entry)
}

/// [`parse_entry`] into `e` (every field is set; after an error `e` holds
/// a partial entry).
///
/// # Errors
/// As [`parse_entry`].
pub fn parse_entry_into(payload: &[u8], e: &mut Entry) -> Result<(), Error> {
    let header = NfGenMsg::parse(payload)?;
    let v6 = match header.family {
        NFPROTO_IPV4 => false,
        NFPROTO_IPV6 => true,
        family => return Err(Error::BadFamily { family }),
    };
    if header.version != NFNETLINK_V0 {
        return Err(Error::BadVersion {
            version: header.version,
        });
    }
    // Nothing of a previous message survives, also after an error.
    e.tcp = None;
    e.status = 0;
    e.timeout = 0;
    e.mark = 0;
    e.zone = 0;
    e.id = None;
    let mut w = Walk {
        e,
        v6,
        vals: [0; VALS],
    };
    w.nest(payload.get(NFGENMSG_LEN..).unwrap_or(&[]), N_TOP, 0)
}

// The attribute walk: one loop for every nest of an entry message, driven
// by a table per nest of what each attribute type is (a nest, or a scalar
// of some width); the checks particular to a nest run at its end.

/// Nests of an entry message (indexes into [`SCHEMA`]).
const N_TOP: u8 = 0;
const N_TUPLE: u8 = 1;
const N_IP: u8 = 2;
const N_PROTO: u8 = 3;
const N_PROTOINFO: u8 = 4;
const N_TCP: u8 = 5;
/// A table code: a nest (`NEST | n`), else a scalar of that many octets
/// (0: not looked at).
const NEST: u8 = 0x10;
/// Per nest, indexed by attribute type: what it holds. The other family's
/// ICMP types are not looked at (masked in [`Walk::nest`]); the address
/// types are handled by [`Walk::nest`] itself.
const SCHEMA: [&[u8]; 6] = [
    // CTA_*: tuples, status, protoinfo, timeout, mark, id, zone.
    &[
        0,
        NEST | N_TUPLE,
        NEST | N_TUPLE,
        4,
        NEST | N_PROTOINFO,
        0,
        0,
        4,
        4,
        0,
        0,
        0,
        4,
        0,
        0,
        0,
        0,
        0,
        2,
    ],
    // CTA_TUPLE_*: addresses, protocol.
    &[0, NEST | N_IP, NEST | N_PROTO],
    // CTA_IP_*.
    &[],
    // CTA_PROTO_*: number, ports, ICMP id/type/code, ICMPv6 id/type/code.
    &[0, 1, 2, 2, 2, 1, 1, 2, 1, 1],
    // CTA_PROTOINFO_TCP.
    &[0, NEST | N_TCP],
    // CTA_PROTOINFO_TCP_*: state, window scales, flags (flags, mask).
    &[0, 1, 1, 1, 2, 2],
];
/// Where a nest's scalars go in [`Walk::vals`] (by attribute type): the
/// top level, then the protocol of each direction, then TCP.
const V_TOP: usize = 0;
const V_PROTO: usize = 19;
const V_TCP: usize = 39;
const VALS: usize = 45;

/// The state of one entry's walk.
struct Walk<'e> {
    e: &'e mut Entry,
    v6: bool,
    vals: [u32; VALS],
}

impl Walk<'_> {
    /// Walks the attributes in `bytes`, nest `n` (of direction `dir`, 0
    /// original, 1 reply, inside a tuple), then checks it.
    #[inline(never)]
    fn nest(&mut self, bytes: &[u8], n: u8, dir: usize) -> Result<(), Error> {
        let v6 = self.v6;
        let table = SCHEMA[usize::from(n)];
        let base = match n {
            N_TOP => V_TOP,
            N_PROTO => V_PROTO + 10 * dir,
            N_TCP => V_TCP,
            // No scalars.
            _ => VALS,
        };
        // Address types of the family, and of the other one.
        let (src_kind, other_src) = if v6 {
            (CTA_IP_V6_SRC, CTA_IP_V4_SRC)
        } else {
            (CTA_IP_V4_SRC, CTA_IP_V6_SRC)
        };
        // The family's ICMP id type (type and code follow it).
        let icmp = usize::from(if v6 {
            CTA_PROTO_ICMPV6_ID
        } else {
            CTA_PROTO_ICMP_ID
        });
        // The other family's ICMP types are not looked at.
        let ignored: u32 = if n == N_PROTO {
            0b111 << (11 - icmp)
        } else {
            0
        };
        if let Some(v) = self.vals.get_mut(base..base + table.len()) {
            v.fill(0);
        }
        // Bit `kind`: seen.
        let mut have = 0u32;
        for a in Nlas::new(bytes) {
            let a = a?;
            let kind = a.kind();
            let k = usize::from(kind);
            if n == N_IP {
                let t = if dir == 0 {
                    &mut self.e.orig
                } else {
                    &mut self.e.reply
                };
                let i = kind.wrapping_sub(src_kind);
                if i < 2 {
                    let v = a.value();
                    let dst = if i == 0 { &mut t.src } else { &mut t.dst };
                    if v.len() != if v6 { 16 } else { 4 } || !crate::conntrack::set_ip(dst, v) {
                        return Err(super::Error::BadAttributeLength { kind }.into());
                    }
                    have |= 2 << i;
                } else if kind.wrapping_sub(other_src) < 2 {
                    return Err(Error::FamilyMismatch);
                }
                continue;
            }
            let code = table.get(k).copied().unwrap_or(0);
            if code == 0 || ignored & 1 << k != 0 {
                continue;
            }
            if code & NEST != 0 {
                // Inside the top level: the tuple's direction (`k` 1 or
                // 2; for the protoinfo nest, whose direction nothing
                // reads, 3).
                let d = if n == N_TOP { k - 1 } else { dir };
                self.nest(a.value(), code & !NEST, d)?;
            } else {
                let x = a.be(usize::from(code))?;
                if let Some(slot) = self.vals.get_mut(base + k) {
                    *slot = x;
                }
            }
            have |= 1 << k;
        }
        self.check(n, dir, have)
    }

    /// The checks at the end of nest `n` (`have`: bit `kind` for each
    /// attribute type seen; addresses: bit 1 source, bit 2 destination).
    fn check(&mut self, n: u8, dir: usize, have: u32) -> Result<(), Error> {
        let e = &mut *self.e;
        let v = &self.vals;
        match n {
            N_TOP | N_TUPLE => {
                missing(have as u16 >> 1)?;
                if n == N_TOP {
                    e.status = v[V_TOP + usize::from(CTA_STATUS)];
                    e.timeout = v[V_TOP + usize::from(CTA_TIMEOUT)];
                    e.mark = v[V_TOP + usize::from(CTA_MARK)];
                    e.zone = v[V_TOP + usize::from(CTA_ZONE)] as u16;
                    e.id = (have & 1 << CTA_ID != 0).then_some(v[V_TOP + usize::from(CTA_ID)]);
                    if e.orig.proto != e.reply.proto {
                        return Err(Error::ProtocolMismatch);
                    }
                }
            }
            N_IP => {
                // Source (bit 1) first, then destination.
                let absent = !have & 6;
                if absent != 0 {
                    let src = if self.v6 {
                        CTA_IP_V6_SRC
                    } else {
                        CTA_IP_V4_SRC
                    };
                    return Err(Error::MissingAttribute {
                        kind: src + u16::from(absent & 2 == 0),
                    });
                }
            }
            N_PROTO => {
                let v = &v[V_PROTO + 10 * dir..];
                if have & 1 << CTA_PROTO_NUM == 0 {
                    return Err(Error::MissingAttribute {
                        kind: CTA_PROTO_NUM,
                    });
                }
                let num = v[1] as u8;
                let mut probe = NO_TUPLE;
                probe.proto = num;
                // The family's ICMP id type (type and code follow it).
                let icmp = if self.v6 {
                    CTA_PROTO_ICMPV6_ID
                } else {
                    CTA_PROTO_ICMP_ID
                };
                // The types required beyond the number; the ports of
                // protocols without any (GRE keys travel as ports) are
                // taken as they are (0 when absent).
                let mut ports = (v[2] as u16, v[3] as u16);
                let required = if probe.is_icmp() {
                    if (num == IPPROTO_ICMP) == self.v6 {
                        return Err(Error::FamilyMismatch);
                    }
                    let i = usize::from(icmp);
                    ports = (v[i] as u16, (v[i + 1] << 8 | v[i + 2]) as u16);
                    0b111 << icmp
                } else if probe.has_ports() {
                    0b1100
                } else {
                    0
                };
                // The lowest absent one.
                let absent = required & !have;
                if absent != 0 {
                    return Err(Error::MissingAttribute {
                        kind: absent.trailing_zeros() as u16,
                    });
                }
                let (src_port, dst_port) = ports;
                let t = if dir == 0 { &mut e.orig } else { &mut e.reply };
                t.proto = num;
                t.src_port = src_port;
                t.dst_port = dst_port;
            }
            N_TCP => {
                if have & 1 << CTA_PROTOINFO_TCP_STATE == 0 {
                    return Err(Error::MissingAttribute {
                        kind: CTA_PROTOINFO_TCP_STATE,
                    });
                }
                let v = &v[V_TCP..];
                // Flags (two octets: flags, mask): the flags are kept.
                e.tcp = Some(TcpInfo {
                    state: (v[1] as u8).into(),
                    wscale_orig: v[2] as u8,
                    wscale_reply: v[3] as u8,
                    flags_orig: (v[4] >> 8) as u8,
                    flags_reply: (v[5] >> 8) as u8,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// [`Error::MissingAttribute`] for the first of kinds 1 and 2 (both
/// nests' required pair: tuples of an entry, parts of a tuple) not in
/// `have` (bit `kind - 1`).
fn missing(have: u16) -> Result<(), Error> {
    let absent = !have & 3;
    if absent == 0 {
        return Ok(());
    }
    // The lowest absent kind.
    Err(Error::MissingAttribute {
        kind: absent & absent.wrapping_neg(),
    })
}

#[cfg(all(test, target_endian = "little"))]
mod tests;
