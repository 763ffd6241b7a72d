//! The typed connection-tracking entry shared by every part of conntrack
//! sync: [`netlink::ct`](crate::netlink::ct) parses it from the kernel's
//! dumps and events and builds the requests that commit it, the sync frame
//! encodes it compactly for the peer, and the backup's external cache
//! stores it.
//!
//! An [`Entry`] is the kernel's `struct nf_conn` reduced to what a peer
//! needs to recreate a working connection: both [`Tuple`]s (the reply
//! tuple carries the NAT mapping), the `IPS_*` status bits, the remaining
//! timeout, mark, zone, the TCP tracking state and the kernel's id.
//! Counters, timestamps, helpers, secmark and labels are left out.
//!
//! NAT is described twice, on purpose: the kernel's reply tuple (what a
//! dump says) and a [`NatDelta`] from the original tuple (what the sync
//! frame stores, since an un-NAT'd reply is just the inverse of the
//! original). [`Entry::nat_delta`] and [`Tuple::reply_with`] convert
//! between the two; [`Entry::reply_is_derivable`] says whether the round
//! trip is exact (it is for every entry the kernel reports).
//!
//! Everything here is plain data: `Copy`, comparable, hashable, no
//! allocation and nothing that panics.

use core::net::IpAddr;

// ---------------------------------------------------------------- protocols

/// IP protocol number: ICMP (ports hold the ICMP id, type and code).
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number: TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number: UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IP protocol number: DCCP (ports).
pub const IPPROTO_DCCP: u8 = 33;
/// IP protocol number: GRE (no ports in Tandem's tuple; keys are not kept).
pub const IPPROTO_GRE: u8 = 47;
/// IP protocol number: ICMPv6 (ports hold the ICMP id, type and code).
pub const IPPROTO_ICMPV6: u8 = 58;
/// IP protocol number: SCTP (ports).
pub const IPPROTO_SCTP: u8 = 132;
/// IP protocol number: UDP-Lite (ports).
pub const IPPROTO_UDPLITE: u8 = 136;

// ---------------------------------------------------------------- status

/// Status bit (`IPS_EXPECTED`): expected by a helper (e.g. FTP data).
pub const IPS_EXPECTED: u32 = 1 << 0;
/// Status bit (`IPS_SEEN_REPLY`): packets seen in both directions.
pub const IPS_SEEN_REPLY: u32 = 1 << 1;
/// Status bit (`IPS_ASSURED`): will not be evicted early when the table
/// is full.
pub const IPS_ASSURED: u32 = 1 << 2;
/// Status bit (`IPS_CONFIRMED`): in the kernel's table (always set in dumps).
pub const IPS_CONFIRMED: u32 = 1 << 3;
/// Status bit (`IPS_SRC_NAT`): source NAT (SNAT, masquerade) applies.
pub const IPS_SRC_NAT: u32 = 1 << 4;
/// Status bit (`IPS_DST_NAT`): destination NAT (DNAT, port forward) applies.
pub const IPS_DST_NAT: u32 = 1 << 5;
/// Both NAT bits.
pub const IPS_NAT_MASK: u32 = IPS_SRC_NAT | IPS_DST_NAT;
/// Status bit (`IPS_SEQ_ADJUST`): TCP sequence numbers are adjusted (helpers).
pub const IPS_SEQ_ADJUST: u32 = 1 << 6;
/// Status bit (`IPS_SRC_NAT_DONE`): the source NAT binding is set up.
pub const IPS_SRC_NAT_DONE: u32 = 1 << 7;
/// Status bit (`IPS_DST_NAT_DONE`): the destination NAT binding is set up.
pub const IPS_DST_NAT_DONE: u32 = 1 << 8;
/// Both NAT-done bits.
pub const IPS_NAT_DONE_MASK: u32 = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;
/// Status bit (`IPS_DYING`): being removed.
pub const IPS_DYING: u32 = 1 << 9;
/// Status bit (`IPS_FIXED_TIMEOUT`): the timeout is not refreshed by packets.
pub const IPS_FIXED_TIMEOUT: u32 = 1 << 10;
/// Status bit (`IPS_TEMPLATE`): a template, not a connection.
pub const IPS_TEMPLATE: u32 = 1 << 11;
/// Status bit (`IPS_NAT_CLASH`, formerly `IPS_UNTRACKED`).
pub const IPS_NAT_CLASH: u32 = 1 << 12;
/// Status bit (`IPS_HELPER`): a helper was assigned explicitly.
pub const IPS_HELPER: u32 = 1 << 13;
/// Status bit (`IPS_OFFLOAD`): handled by the flowtable fast path.
pub const IPS_OFFLOAD: u32 = 1 << 14;
/// Status bit (`IPS_HW_OFFLOAD`): offloaded to hardware.
pub const IPS_HW_OFFLOAD: u32 = 1 << 15;
/// The bits the kernel refuses to take from userspace in `CTA_STATUS`
/// (`IPS_UNCHANGEABLE_MASK`): NAT is set up through NAT attributes
/// instead, see [`netlink::ct`](crate::netlink::ct).
pub const IPS_UNCHANGEABLE_MASK: u32 = IPS_NAT_DONE_MASK
    | IPS_NAT_MASK
    | IPS_EXPECTED
    | IPS_CONFIRMED
    | IPS_DYING
    | IPS_SEQ_ADJUST
    | IPS_TEMPLATE
    | IPS_NAT_CLASH
    | IPS_OFFLOAD
    | IPS_HW_OFFLOAD;

// ---------------------------------------------------------------- TCP

/// TCP window-tracking flag: window scaling was negotiated.
pub const IP_CT_TCP_FLAG_WINDOW_SCALE: u8 = 0x01;
/// TCP window-tracking flag: selective acks permitted.
pub const IP_CT_TCP_FLAG_SACK_PERM: u8 = 0x02;
/// TCP window-tracking flag: this side closed the connection.
pub const IP_CT_TCP_FLAG_CLOSE_INIT: u8 = 0x04;
/// TCP window-tracking flag: do not check sequence numbers against the
/// window. A committed entry knows no sequence numbers, so conntrackd sets
/// it in both directions when it commits; so does [`TcpInfo::liberal`].
pub const IP_CT_TCP_FLAG_BE_LIBERAL: u8 = 0x08;
/// TCP window-tracking flag: unacknowledged data seen.
pub const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED: u8 = 0x10;
/// TCP window-tracking flag: the maximum ack is known.
pub const IP_CT_TCP_FLAG_MAXACK_SET: u8 = 0x20;
/// TCP window-tracking flag: a challenge ack was sent.
pub const IP_CT_TCP_FLAG_CHALLENGE_ACK: u8 = 0x40;
/// TCP window-tracking flag: simultaneous open.
pub const IP_CT_TCP_FLAG_SIMULTANEOUS_OPEN: u8 = 0x80;

/// TCP connection-tracking state (`enum tcp_conntrack`), with unknown
/// values kept so they survive a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TcpState {
    /// `NONE` (0).
    None,
    /// `SYN_SENT` (1).
    SynSent,
    /// `SYN_RECV` (2).
    SynRecv,
    /// `ESTABLISHED` (3).
    Established,
    /// `FIN_WAIT` (4).
    FinWait,
    /// `CLOSE_WAIT` (5).
    CloseWait,
    /// `LAST_ACK` (6).
    LastAck,
    /// `TIME_WAIT` (7).
    TimeWait,
    /// `CLOSE` (8).
    Close,
    /// `SYN_SENT2` (9, simultaneous open; formerly `LISTEN`).
    SynSent2,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for TcpState {
    fn from(v: u8) -> TcpState {
        match v {
            0 => TcpState::None,
            1 => TcpState::SynSent,
            2 => TcpState::SynRecv,
            3 => TcpState::Established,
            4 => TcpState::FinWait,
            5 => TcpState::CloseWait,
            6 => TcpState::LastAck,
            7 => TcpState::TimeWait,
            8 => TcpState::Close,
            9 => TcpState::SynSent2,
            other => TcpState::Unknown(other),
        }
    }
}

impl From<TcpState> for u8 {
    fn from(s: TcpState) -> u8 {
        match s {
            TcpState::None => 0,
            TcpState::SynSent => 1,
            TcpState::SynRecv => 2,
            TcpState::Established => 3,
            TcpState::FinWait => 4,
            TcpState::CloseWait => 5,
            TcpState::LastAck => 6,
            TcpState::TimeWait => 7,
            TcpState::Close => 8,
            TcpState::SynSent2 => 9,
            TcpState::Unknown(v) => v,
        }
    }
}

/// TCP tracking state of an entry (`CTA_PROTOINFO_TCP`).
///
/// Sequence numbers are not part of it: the kernel picks them up from the
/// next packets (see [`IP_CT_TCP_FLAG_BE_LIBERAL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TcpInfo {
    /// The state.
    pub state: TcpState,
    /// Window scale of the original direction (`CTA_PROTOINFO_TCP_WSCALE_ORIGINAL`).
    pub wscale_orig: u8,
    /// Window scale of the reply direction.
    pub wscale_reply: u8,
    /// `IP_CT_TCP_FLAG_*` of the original direction.
    pub flags_orig: u8,
    /// `IP_CT_TCP_FLAG_*` of the reply direction.
    pub flags_reply: u8,
}

impl TcpInfo {
    /// Only a state: window scales 0, no flags.
    pub const fn new(state: TcpState) -> TcpInfo {
        TcpInfo {
            state,
            wscale_orig: 0,
            wscale_reply: 0,
            flags_orig: 0,
            flags_reply: 0,
        }
    }

    /// The same, with [`IP_CT_TCP_FLAG_BE_LIBERAL`] added in both
    /// directions: what to commit for an entry whose sequence numbers the
    /// kernel has never seen.
    pub const fn liberal(self) -> TcpInfo {
        TcpInfo {
            flags_orig: self.flags_orig | IP_CT_TCP_FLAG_BE_LIBERAL,
            flags_reply: self.flags_reply | IP_CT_TCP_FLAG_BE_LIBERAL,
            ..self
        }
    }
}

// ---------------------------------------------------------------- tuple

/// One direction of a connection: addresses, protocol and ports.
///
/// For ICMP and ICMPv6 the port fields hold what the kernel's tuple holds
/// there: `src_port` is the ICMP identifier and `dst_port` is
/// `type << 8 | code` (see [`Tuple::icmp`], [`Tuple::icmp_type`]). For
/// protocols without ports (GRE, ...) both are 0.
///
/// Both addresses should be of the same family; [`Tuple::is_consistent`]
/// checks it, and the netlink builders refuse a tuple that is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tuple {
    /// Source address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub src: IpAddr,
    /// Destination address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub dst: IpAddr,
    /// IP protocol number ([`IPPROTO_TCP`], ...).
    pub proto: u8,
    /// Source port, or the ICMP identifier.
    pub src_port: u16,
    /// Destination port, or ICMP `type << 8 | code`.
    pub dst_port: u16,
}

impl Tuple {
    /// A tuple from its fields.
    pub const fn new(src: IpAddr, dst: IpAddr, proto: u8, src_port: u16, dst_port: u16) -> Tuple {
        Tuple {
            src,
            dst,
            proto,
            src_port,
            dst_port,
        }
    }

    /// A TCP tuple.
    pub const fn tcp(src: IpAddr, dst: IpAddr, src_port: u16, dst_port: u16) -> Tuple {
        Tuple::new(src, dst, IPPROTO_TCP, src_port, dst_port)
    }

    /// A UDP tuple.
    pub const fn udp(src: IpAddr, dst: IpAddr, src_port: u16, dst_port: u16) -> Tuple {
        Tuple::new(src, dst, IPPROTO_UDP, src_port, dst_port)
    }

    /// An ICMP tuple ([`IPPROTO_ICMPV6`] if `src` is IPv6, else
    /// [`IPPROTO_ICMP`]).
    pub const fn icmp(src: IpAddr, dst: IpAddr, id: u16, icmp_type: u8, code: u8) -> Tuple {
        let proto = match src {
            IpAddr::V4(_) => IPPROTO_ICMP,
            IpAddr::V6(_) => IPPROTO_ICMPV6,
        };
        Tuple::new(src, dst, proto, id, (icmp_type as u16) << 8 | code as u16)
    }

    /// Whether the addresses are IPv6 (judged by `src`).
    pub const fn is_ipv6(&self) -> bool {
        matches!(self.src, IpAddr::V6(_))
    }

    /// Whether both addresses are of the same family, and the protocol is
    /// not the other family's ICMP.
    pub const fn is_consistent(&self) -> bool {
        match (self.src, self.dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => self.proto != IPPROTO_ICMPV6,
            (IpAddr::V6(_), IpAddr::V6(_)) => self.proto != IPPROTO_ICMP,
            _ => false,
        }
    }

    /// Whether the protocol is ICMP or ICMPv6 (id, type and code instead of
    /// ports).
    pub const fn is_icmp(&self) -> bool {
        self.proto == IPPROTO_ICMP || self.proto == IPPROTO_ICMPV6
    }

    /// The port source NAT keeps when it does not change it (what the
    /// inverse tuple has in that place): the source port.
    pub const fn snat_default_port(&self) -> u16 {
        self.src_port
    }

    /// The port destination NAT keeps when it does not change it: the
    /// destination port, or for ICMP the id (kept in `src_port`).
    pub const fn dnat_default_port(&self) -> u16 {
        if self.is_icmp() {
            self.src_port
        } else {
            self.dst_port
        }
    }

    /// Whether the protocol has 16-bit source and destination ports that
    /// ctnetlink carries (TCP, UDP, UDP-Lite, SCTP, DCCP).
    pub const fn has_ports(&self) -> bool {
        matches!(
            self.proto,
            IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP
        )
    }

    /// The ICMP identifier (`src_port`).
    pub const fn icmp_id(&self) -> u16 {
        self.src_port
    }

    /// The ICMP type (high octet of `dst_port`).
    pub const fn icmp_type(&self) -> u8 {
        (self.dst_port >> 8) as u8
    }

    /// The ICMP code (low octet of `dst_port`).
    pub const fn icmp_code(&self) -> u8 {
        self.dst_port as u8
    }

    /// The tuple of the other direction when no NAT applies, as the kernel
    /// computes it (`nf_ct_invert_tuple`): addresses and ports swapped; for
    /// ICMP the identifier is kept and a request type becomes its reply
    /// type (echo, timestamp, information, address mask; ICMPv6 echo and
    /// node information), and the reverse. Other ICMP types are kept.
    pub const fn inverse(&self) -> Tuple {
        let (src_port, dst_port) = if self.is_icmp() {
            let t = invert_icmp_type(self.proto, self.icmp_type());
            (self.src_port, (t as u16) << 8 | self.icmp_code() as u16)
        } else {
            (self.dst_port, self.src_port)
        };
        Tuple::new(self.dst, self.src, self.proto, src_port, dst_port)
    }

    /// The reply tuple of a connection whose original tuple is `self` and
    /// whose NAT is `delta` (the inverse of [`Entry::nat_delta`]).
    ///
    /// Starting from [`inverse`](Tuple::inverse): source NAT replaces the
    /// reply's destination (address and port), destination NAT its source.
    /// For ICMP, whose identifier is the only "port", either mapping's port
    /// replaces the identifier.
    pub const fn reply_with(&self, delta: NatDelta) -> Tuple {
        let mut reply = self.inverse();
        if let Some(m) = delta.dnat {
            reply.src = m.addr;
            reply.src_port = m.port;
        }
        if let Some(m) = delta.snat {
            reply.dst = m.addr;
            if self.is_icmp() {
                reply.src_port = m.port;
            } else {
                reply.dst_port = m.port;
            }
        }
        reply
    }
}

/// ICMP/ICMPv6 type of the other direction (`nf_ct_invert_tuple`'s maps).
const fn invert_icmp_type(proto: u8, t: u8) -> u8 {
    if proto == IPPROTO_ICMP {
        match t {
            8 => 0,
            0 => 8,
            13 => 14,
            14 => 13,
            15 => 16,
            16 => 15,
            17 => 18,
            18 => 17,
            other => other,
        }
    } else {
        match t {
            128 => 129,
            129 => 128,
            139 => 140,
            140 => 139,
            other => other,
        }
    }
}

// ---------------------------------------------------------------- NAT

/// One NAT mapping: the address and port (ICMP: identifier) a connection is
/// translated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Manip {
    /// The translated address.
    #[cfg_attr(feature = "defmt", defmt(Debug2Format))]
    pub addr: IpAddr,
    /// The translated port (ICMP: identifier).
    pub port: u16,
}

/// The NAT of a connection as a difference from its original tuple.
///
/// `snat` is where the original direction's source is translated to
/// (masquerade: the WAN address and maybe another port); `dnat` is where
/// its destination is translated to (port forwarding). `NatDelta::NONE`
/// means no NAT: the reply tuple is the inverse of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NatDelta {
    /// Source NAT, if any.
    pub snat: Option<Manip>,
    /// Destination NAT, if any.
    pub dnat: Option<Manip>,
}

impl NatDelta {
    /// No NAT.
    pub const NONE: NatDelta = NatDelta {
        snat: None,
        dnat: None,
    };

    /// Whether there is neither source nor destination NAT.
    pub const fn is_none(&self) -> bool {
        self.snat.is_none() && self.dnat.is_none()
    }
}

// ---------------------------------------------------------------- entry

/// What identifies a connection in a table: its original tuple and zone
/// (the kernel's lookup key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Key {
    /// The original-direction tuple.
    pub orig: Tuple,
    /// The conntrack zone.
    pub zone: u16,
}

impl Key {
    /// A 32-bit FNV-1a hash of the key, stable across builds and
    /// architectures (for fixed-size hash tables that cannot use
    /// `core::hash`). O(1): at most 39 octets are hashed.
    pub fn hash32(&self) -> u32 {
        const OFFSET: u32 = 0x811c_9dc5;
        let mut h = OFFSET;
        for addr in [&self.orig.src, &self.orig.dst] {
            h = match addr {
                IpAddr::V4(a) => fnv1a(h, &a.octets()),
                IpAddr::V6(a) => fnv1a(h, &a.octets()),
            };
        }
        let [s0, s1] = self.orig.src_port.to_be_bytes();
        let [d0, d1] = self.orig.dst_port.to_be_bytes();
        let [z0, z1] = self.zone.to_be_bytes();
        fnv1a(h, &[self.orig.proto, s0, s1, d0, d1, z0, z1])
    }
}

/// Sets `dst` in place to the address of `octets` (4: IPv4, 16: IPv6);
/// `false` (and `dst` unchanged) for another length. One copy straight
/// into the destination instead of an address moved through the stack.
#[inline(never)]
pub(crate) fn set_ip(dst: &mut IpAddr, octets: &[u8]) -> bool {
    if let Ok(a) = <[u8; 4]>::try_from(octets) {
        *dst = IpAddr::V4(a.into());
    } else if let Ok(a) = <[u8; 16]>::try_from(octets) {
        *dst = IpAddr::V6(a.into());
    } else {
        return false;
    }
    true
}

/// FNV-1a over `bytes`, continuing from `h`.
#[inline(never)]
fn fnv1a(mut h: u32, bytes: &[u8]) -> u32 {
    const PRIME: u32 = 0x0100_0193;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// A connection-tracking entry.
///
/// Build one with [`Entry::new`] and set the public fields; parse one from
/// the kernel with [`netlink::ct`](crate::netlink::ct).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Entry {
    /// The original direction (as the first packet went).
    pub orig: Tuple,
    /// The reply direction as the kernel expects it, NAT included.
    pub reply: Tuple,
    /// `IPS_*` status bits.
    pub status: u32,
    /// Seconds until the entry expires (0 when unknown, e.g. in destroy
    /// events).
    pub timeout: u32,
    /// The connection mark (`ct mark`).
    pub mark: u32,
    /// The conntrack zone (0: the default zone).
    pub zone: u16,
    /// TCP tracking state, for TCP entries that carry it.
    pub tcp: Option<TcpInfo>,
    /// The kernel's id of the entry (`CTA_ID`), if known. Ids are local to
    /// one kernel: a committed entry gets a new one.
    pub id: Option<u32>,
}

impl Entry {
    /// An entry with these tuples and everything else zero or absent.
    pub const fn new(orig: Tuple, reply: Tuple) -> Entry {
        Entry {
            orig,
            reply,
            status: 0,
            timeout: 0,
            mark: 0,
            zone: 0,
            tcp: None,
            id: None,
        }
    }

    /// An entry whose reply tuple follows from `orig` and `delta`
    /// ([`Tuple::reply_with`]).
    pub const fn with_nat(orig: Tuple, delta: NatDelta) -> Entry {
        Entry::new(orig, orig.reply_with(delta))
    }

    /// The table key: original tuple and zone.
    pub const fn key(&self) -> Key {
        Key {
            orig: self.orig,
            zone: self.zone,
        }
    }

    /// Whether the tuples show source NAT: the reply goes to another
    /// address or port than the original came from (ICMP: another
    /// identifier, if the addresses show no destination NAT).
    pub fn is_snat(&self) -> bool {
        self.nat_delta().snat.is_some()
    }

    /// Whether the tuples show destination NAT: the reply comes from
    /// another address or port than the original went to.
    pub fn is_dnat(&self) -> bool {
        self.nat_delta().dnat.is_some()
    }

    /// Whether the tuples show any NAT: source or destination (the
    /// reply's addresses or ports are not the inverse of the original's).
    pub fn is_nat(&self) -> bool {
        !self.nat_delta().is_none()
    }

    /// The NAT as a difference from the original tuple.
    ///
    /// Source NAT is reported when the reply's destination differs from
    /// the original source, destination NAT when the reply's source differs
    /// from the original destination. For ICMP a changed identifier belongs
    /// to source NAT unless only the destination address changed.
    /// `self.orig.reply_with(self.nat_delta()) == self.reply` holds when
    /// [`reply_is_derivable`](Entry::reply_is_derivable) does.
    pub fn nat_delta(&self) -> NatDelta {
        let o = &self.orig;
        let r = &self.reply;
        let icmp = o.is_icmp();
        // Compared with the original's inverse, without building it: its
        // source is the original destination and the other way round; its
        // source port is the original destination port, or the ICMP id.
        let src_changed = r.dst != o.src;
        let dst_changed = r.src != o.dst;
        let inv_src_port = if icmp { o.src_port } else { o.dst_port };
        let src_port_changed = r.src_port != inv_src_port;
        // ICMP: the id (the reply's source "port") is either mapping's.
        let (snat, dnat, snat_port) = if icmp {
            (
                src_changed || (src_port_changed && !dst_changed),
                dst_changed,
                r.src_port,
            )
        } else {
            (
                src_changed || r.dst_port != o.src_port,
                dst_changed || src_port_changed,
                r.dst_port,
            )
        };
        NatDelta {
            snat: snat.then_some(Manip {
                addr: r.dst,
                port: snat_port,
            }),
            dnat: dnat.then_some(Manip {
                addr: r.src,
                port: r.src_port,
            }),
        }
    }

    /// Whether the reply tuple is the original's inverse apart from NAT
    /// (same protocol and, for ICMP, the inverse type and code), so that
    /// storing [`nat_delta`](Entry::nat_delta) instead of the reply loses
    /// nothing.
    pub fn reply_is_derivable(&self) -> bool {
        self.orig.reply_with(self.nat_delta()) == self.reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn m(addr: &str, port: u16) -> Option<Manip> {
        Some(Manip {
            addr: ip(addr),
            port,
        })
    }

    #[test]
    fn constructors_and_icmp_fields() {
        let t = Tuple::icmp(ip("192.0.2.1"), ip("192.0.2.2"), 0x1234, 8, 3);
        assert_eq!(t.proto, IPPROTO_ICMP);
        assert_eq!((t.src_port, t.dst_port), (0x1234, 0x0803));
        assert_eq!((t.icmp_id(), t.icmp_type(), t.icmp_code()), (0x1234, 8, 3));
        let t6 = Tuple::icmp(ip("2001:db8::1"), ip("2001:db8::2"), 1, 128, 0);
        assert_eq!(t6.proto, IPPROTO_ICMPV6);
        assert!(t6.is_ipv6() && t6.is_icmp() && !t6.has_ports());
        let u = Tuple::udp(ip("192.0.2.1"), ip("192.0.2.2"), 1, 2);
        assert_eq!(u.proto, IPPROTO_UDP);
        assert!(u.has_ports() && !u.is_icmp() && !u.is_ipv6());
        assert_eq!(Tuple::tcp(u.src, u.dst, 1, 2).proto, IPPROTO_TCP);
        for p in [IPPROTO_SCTP, IPPROTO_UDPLITE, IPPROTO_DCCP] {
            assert!(Tuple::new(u.src, u.dst, p, 1, 2).has_ports());
        }
        assert!(!Tuple::new(u.src, u.dst, IPPROTO_GRE, 1, 2).has_ports());
    }

    #[test]
    fn consistency() {
        let v4 = ip("192.0.2.1");
        let v6 = ip("2001:db8::1");
        assert!(Tuple::udp(v4, v4, 1, 2).is_consistent());
        assert!(Tuple::udp(v6, v6, 1, 2).is_consistent());
        assert!(!Tuple::udp(v4, v6, 1, 2).is_consistent());
        assert!(!Tuple::udp(v6, v4, 1, 2).is_consistent());
        assert!(!Tuple::new(v4, v4, IPPROTO_ICMPV6, 1, 2).is_consistent());
        assert!(!Tuple::new(v6, v6, IPPROTO_ICMP, 1, 2).is_consistent());
        assert!(Tuple::icmp(v6, v6, 1, 128, 0).is_consistent());
    }

    #[test]
    fn inverse_swaps_and_maps_icmp_types() {
        let t = Tuple::tcp(ip("192.0.2.1"), ip("192.0.2.2"), 1000, 80);
        assert_eq!(t.inverse(), Tuple::tcp(t.dst, t.src, 80, 1000));
        assert_eq!(t.inverse().inverse(), t);
        let a = ip("192.0.2.1");
        let b = ip("192.0.2.2");
        for (req, rep) in [(8, 0), (13, 14), (15, 16), (17, 18)] {
            let t = Tuple::icmp(a, b, 7, req, 0);
            assert_eq!(t.inverse(), Tuple::icmp(b, a, 7, rep, 0));
            assert_eq!(t.inverse().inverse(), t);
        }
        assert_eq!(
            Tuple::icmp(a, b, 7, 3, 1).inverse(),
            Tuple::icmp(b, a, 7, 3, 1)
        );
        let a = ip("2001:db8::1");
        let b = ip("2001:db8::2");
        for (req, rep) in [(128, 129), (139, 140)] {
            let t = Tuple::icmp(a, b, 7, req, 0);
            assert_eq!(t.inverse(), Tuple::icmp(b, a, 7, rep, 0));
            assert_eq!(t.inverse().inverse(), t);
        }
        // ICMPv4 numbers mean nothing for ICMPv6.
        assert_eq!(Tuple::icmp(a, b, 7, 8, 0).inverse().icmp_type(), 8);
    }

    #[test]
    fn no_nat() {
        let o = Tuple::udp(ip("192.0.2.1"), ip("192.0.2.2"), 1, 2);
        let e = Entry::new(o, o.inverse());
        assert_eq!(e.nat_delta(), NatDelta::NONE);
        assert!(NatDelta::NONE.is_none() && NatDelta::default().is_none());
        assert!(!e.is_nat() && !e.is_snat() && !e.is_dnat());
        assert!(e.reply_is_derivable());
        assert_eq!(Entry::with_nat(o, NatDelta::NONE), e);
    }

    #[test]
    fn snat_masquerade_and_port_change() {
        let o = Tuple::tcp(ip("192.168.1.10"), ip("203.0.113.5"), 40000, 80);
        for port in [40000, 61000] {
            let delta = NatDelta {
                snat: m("198.51.100.1", port),
                dnat: None,
            };
            let reply = o.reply_with(delta);
            assert_eq!(reply, Tuple::tcp(o.dst, ip("198.51.100.1"), 80, port));
            let e = Entry::new(o, reply);
            assert_eq!(e.nat_delta(), delta);
            assert!(e.is_snat() && !e.is_dnat() && e.is_nat());
            assert!(e.reply_is_derivable());
        }
    }

    #[test]
    fn dnat_and_both() {
        let o = Tuple::udp(ip("203.0.113.9"), ip("198.51.100.1"), 1234, 8080);
        let dnat = NatDelta {
            snat: None,
            dnat: m("192.168.1.20", 80),
        };
        let e = Entry::with_nat(o, dnat);
        assert_eq!(e.reply, Tuple::udp(ip("192.168.1.20"), o.src, 80, 1234));
        assert_eq!(e.nat_delta(), dnat);
        assert!(e.is_dnat() && !e.is_snat());
        let both = NatDelta {
            snat: m("192.168.1.1", 5000),
            dnat: m("192.168.1.20", 80),
        };
        let e = Entry::with_nat(o, both);
        assert_eq!(
            e.reply,
            Tuple::udp(ip("192.168.1.20"), ip("192.168.1.1"), 80, 5000)
        );
        assert_eq!(e.nat_delta(), both);
        assert!(e.is_dnat() && e.is_snat() && e.reply_is_derivable());
    }

    #[test]
    fn icmp_nat_maps_the_identifier() {
        let o = Tuple::icmp(ip("192.168.1.10"), ip("203.0.113.5"), 77, 8, 0);
        // Masquerade that also remapped the id.
        let snat = NatDelta {
            snat: m("198.51.100.1", 1000),
            dnat: None,
        };
        let e = Entry::with_nat(o, snat);
        assert_eq!(e.reply, Tuple::icmp(o.dst, ip("198.51.100.1"), 1000, 0, 0));
        assert_eq!(e.nat_delta(), snat);
        // Only the id changed: reported as source NAT.
        let id_only = Entry::new(o, Tuple::icmp(o.dst, o.src, 1000, 0, 0));
        assert_eq!(
            id_only.nat_delta().snat,
            Some(Manip {
                addr: o.src,
                port: 1000
            })
        );
        assert!(id_only.reply_is_derivable());
        // Destination NAT carries the (possibly new) id.
        let dnat = NatDelta {
            snat: None,
            dnat: m("192.168.1.20", 1000),
        };
        let e = Entry::with_nat(o, dnat);
        assert_eq!(e.nat_delta(), dnat);
        assert!(!e.is_snat());
    }

    #[test]
    fn replies_that_are_not_derivable() {
        let o = Tuple::udp(ip("192.0.2.1"), ip("192.0.2.2"), 1, 2);
        let other_proto = Tuple::tcp(o.dst, o.src, 2, 1);
        let e = Entry::new(o, other_proto);
        assert!(!e.reply_is_derivable() && !e.is_nat());
        let i = Tuple::icmp(o.src, o.dst, 5, 8, 0);
        let e = Entry::new(i, Tuple::icmp(o.dst, o.src, 5, 3, 0));
        assert!(!e.reply_is_derivable());
    }

    #[test]
    fn tcp_state_round_trips_every_value() {
        for v in 0..=u8::MAX {
            let s = TcpState::from(v);
            assert_eq!(u8::from(s), v);
            assert_eq!(matches!(s, TcpState::Unknown(_)), v > 9);
        }
        assert_eq!(TcpState::from(3), TcpState::Established);
    }

    #[test]
    fn liberal_adds_the_flag_both_ways() {
        let t = TcpInfo {
            flags_orig: IP_CT_TCP_FLAG_SACK_PERM,
            ..TcpInfo::new(TcpState::Established)
        }
        .liberal();
        assert_eq!(
            t.flags_orig,
            IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL
        );
        assert_eq!(t.flags_reply, IP_CT_TCP_FLAG_BE_LIBERAL);
        assert_eq!(t.state, TcpState::Established);
        assert_eq!(t.liberal(), t);
    }

    #[test]
    fn status_masks_match_the_kernel() {
        assert_eq!(IPS_UNCHANGEABLE_MASK, 0xdbf9);
        assert_eq!(IPS_NAT_MASK, 0x30);
        assert_eq!(IPS_NAT_DONE_MASK, 0x180);
        assert_eq!(IPS_HW_OFFLOAD, 0x8000);
    }

    #[test]
    fn key_and_stable_hash() {
        let o = Tuple::tcp(ip("192.168.1.10"), ip("203.0.113.5"), 40000, 80);
        let mut e = Entry::new(o, o.inverse());
        let k = e.key();
        assert_eq!(k, Key { orig: o, zone: 0 });
        // Pinned: the hash must not change across builds or targets.
        assert_eq!(k.hash32(), 0x2c6f_527f); // FNV-1a, checked independently
        e.reply.dst = ip("198.51.100.1");
        e.status = IPS_ASSURED;
        assert_eq!(e.key().hash32(), k.hash32());
        e.zone = 1;
        assert_ne!(e.key().hash32(), k.hash32());
        let v6 = Tuple::tcp(ip("2001:db8::1"), ip("2001:db8::2"), 1, 2);
        assert_ne!(Key { orig: v6, zone: 0 }.hash32(), 0);
    }
}
