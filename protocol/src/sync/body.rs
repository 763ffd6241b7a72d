//! Body records: [`Record`], the writer that batches them into a frame and
//! the iterator that reads them back.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Deserializer, Serialize};

use super::frame::{Header, Key};
use super::{Error, HEADER_LEN, MIN_FRAME_LEN, TAG_LEN};
use crate::conntrack::{
    self, Entry, Manip, NatDelta, TcpInfo, Tuple, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP,
    IPPROTO_UDP, IPS_ASSURED, IPS_CONFIRMED, IPS_DST_NAT_DONE, IPS_SEEN_REPLY, IPS_SRC_NAT,
    IPS_SRC_NAT_DONE,
};
use crate::lease::{Duid, Lease, DUID_MAX};

/// The largest encoded record, in octets (a lease with a 63-character
/// hostname and a 255-octet client id; an IPv6 conntrack entry with every
/// optional part takes at most 104). [`MIN_FRAME_LEN`] leaves room for one.
pub const MAX_RECORD_LEN: usize = 360;

/// One item of a frame body.
///
/// Reliable records ([`Record::is_reliable`]) are numbered by the
/// [`Record::Seq`] before them; the others are hop-by-hop signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Record {
    /// Wire tag 0. The stream sequence number of the next reliable record
    /// in this frame; each reliable record after it takes the next number.
    Seq(u32),
    /// Wire tag 1, reliable. A new connection.
    ///
    /// Encoding: flags (varint) · \[protocol\] · original source and
    /// destination address (4 or 16 octets each) · source and destination
    /// port (2 octets each, big-endian; ICMP: id and type/code) · status
    /// XOR (`SEEN_REPLY|ASSURED|CONFIRMED|SRC_NAT|SRC_NAT_DONE|DST_NAT_DONE`)
    /// (varint) · timeout in seconds (varint) · \[source NAT address unless
    /// it repeats the frame's previous one\] · \[source NAT port if not the
    /// original one\] · \[destination NAT address, port, likewise\] ·
    /// \[mark\] · \[zone\] (varints) · \[TCP: state, window scales packed
    /// in one octet (two if either exceeds 15), original and reply flags\]
    /// · \[the reply tuple in full, when it is not the original's inverse
    /// plus NAT\]. The kernel id is not sent (ids are local to a kernel).
    CtNew(Entry),
    /// Wire tag 2, reliable. A changed connection; encoded as [`Record::CtNew`].
    CtUpdate(Entry),
    /// Wire tag 3, reliable. A connection gone: its key (flags,
    /// \[protocol\], addresses, ports, \[zone\]).
    CtDestroy(conntrack::Key),
    /// Wire tag 4. Please resend the stream from `first` (go-back-N);
    /// `last` is the last missing number the receiver knows of.
    Nack {
        /// First missing stream sequence number.
        first: u32,
        /// Last missing stream sequence number known.
        last: u32,
    },
    /// Wire tag 5. The sender (a backup) wants the whole table.
    ResyncRequest,
    /// Wire tag 6, reliable. A full resync starts: entries not sent again
    /// before [`Record::ResyncEnd`] are stale.
    ResyncBegin,
    /// Wire tag 7, reliable. The full resync is complete: drop every entry
    /// not sent since [`Record::ResyncBegin`].
    ResyncEnd,
    /// Wire tag 8. The sender is alive; `next` is the stream sequence number
    /// its next reliable record will take (so a receiver notices lost tail
    /// records).
    Alive {
        /// Next stream sequence number of the sender.
        next: u32,
    },
    /// Wire tag 9, reliable. A new DHCP lease (issue 5). Encoded as
    /// [`Lease::encode`] (postcard-identical).
    LeaseAdd(Lease),
    /// Wire tag 10, reliable. A changed lease (renewed, new hostname, ...).
    LeaseChange(Lease),
    /// Wire tag 11, reliable. A lease released or expired; the whole lease
    /// travels so that the receiver can check whose it is.
    LeaseDelete(Lease),
    /// Wire tag 12, reliable. The sender's DHCP server DUID (the lease
    /// file's `duid` line), so that a backup's DHCP server takes the
    /// master's identity. Encoding: length octet (1 to
    /// [`DUID_MAX`](crate::lease::DUID_MAX)) · the DUID's octets.
    LeaseDuid(Duid),
}

impl Record {
    /// Whether the record takes a stream sequence number (and is
    /// acknowledged and retransmitted).
    pub const fn is_reliable(&self) -> bool {
        matches!(
            self,
            Record::CtNew(_)
                | Record::CtUpdate(_)
                | Record::CtDestroy(_)
                | Record::ResyncBegin
                | Record::ResyncEnd
                | Record::LeaseAdd(_)
                | Record::LeaseChange(_)
                | Record::LeaseDelete(_)
                | Record::LeaseDuid(_)
        )
    }

    const fn tag(&self) -> u32 {
        match self {
            Record::Seq(_) => 0,
            Record::CtNew(_) => 1,
            Record::CtUpdate(_) => 2,
            Record::CtDestroy(_) => 3,
            Record::Nack { .. } => 4,
            Record::ResyncRequest => 5,
            Record::ResyncBegin => 6,
            Record::ResyncEnd => 7,
            Record::Alive { .. } => 8,
            Record::LeaseAdd(_) => 9,
            Record::LeaseChange(_) => 10,
            Record::LeaseDelete(_) => 11,
            Record::LeaseDuid(_) => 12,
        }
    }
}

/// Why [`FrameWriter::push`] did not take a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PushError {
    /// No room left in the frame (or, from [`FrameWriter::new`], a buffer
    /// shorter than [`MIN_FRAME_LEN`]). Nothing was written.
    Full,
    /// The entry cannot be encoded: its tuple mixes IPv4 and IPv6
    /// addresses ([`Tuple::is_consistent`] fails).
    Inconsistent,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushError::Full => "frame full",
            PushError::Inconsistent => "entry mixes address families",
        })
    }
}

impl core::error::Error for PushError {}

// ---------------------------------------------------------------- flags

/// IPv6 addresses (else IPv4).
const F_V6: u32 = 1 << 0;
/// Protocol class, two bits: TCP, UDP, the family's ICMP, or explicit.
const F_PROTO_SHIFT: u32 = 1;
const F_PROTO_MASK: u32 = 3 << F_PROTO_SHIFT;
const PC_TCP: u32 = 0;
const PC_UDP: u32 = 1;
const PC_ICMP: u32 = 2;
const PC_OTHER: u32 = 3;
/// Source NAT present.
const F_SNAT: u32 = 1 << 3;
/// Its address is the frame's previous source NAT address.
const F_SNAT_REF: u32 = 1 << 4;
/// TCP info present.
const F_TCP: u32 = 1 << 5;
/// Destination NAT present.
const F_DNAT: u32 = 1 << 6;
// Bits above 6 take a second varint octet: the rarer parts.
/// Its address is the frame's previous destination NAT address.
const F_DNAT_REF: u32 = 1 << 7;
/// Source NAT port differs from the original source port.
const F_SNAT_PORT: u32 = 1 << 8;
/// Destination NAT port differs from the default.
const F_DNAT_PORT: u32 = 1 << 9;
/// Mark present.
const F_MARK: u32 = 1 << 10;
/// Zone present.
const F_ZONE: u32 = 1 << 11;
/// Full reply tuple present (NAT bits unused).
const F_REPLY: u32 = 1 << 12;
/// The reply tuple's addresses are IPv6.
const F_REPLY_V6: u32 = 1 << 13;
/// TCP window scales do not fit in 4 bits each: two octets.
const F_TCP_WIDE: u32 = 1 << 14;
const F_ALL: u32 = (1 << 15) - 1;
/// Flags a destroy record may carry.
const F_KEY_ALL: u32 = F_V6 | F_PROTO_MASK | F_ZONE;

/// The status bits of a NAT'd, established connection: sent XOR'd so
/// that the usual status is a one-octet varint.
const STATUS_BASE: u32 = IPS_SEEN_REPLY
    | IPS_ASSURED
    | IPS_CONFIRMED
    | IPS_SRC_NAT
    | IPS_SRC_NAT_DONE
    | IPS_DST_NAT_DONE;

const MAX_TAG: u32 = 12;

// ---------------------------------------------------------------- context

/// Per-frame encoding context: the back references.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ctx {
    snat: Option<IpAddr>,
    dnat: Option<IpAddr>,
}

// ---------------------------------------------------------------- wire forms

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Addr {
    fn of(a: IpAddr) -> Addr {
        match a {
            IpAddr::V4(a) => Addr::V4(a.octets()),
            IpAddr::V6(a) => Addr::V6(a.octets()),
        }
    }

    fn ip(self) -> IpAddr {
        match self {
            Addr::V4(a) => IpAddr::V4(Ipv4Addr::from(a)),
            Addr::V6(a) => IpAddr::V6(Ipv6Addr::from(a)),
        }
    }

    fn ser<S: SerializeTuple>(&self, t: &mut S) -> Result<(), S::Error> {
        match self {
            Addr::V4(a) => t.serialize_element(a),
            Addr::V6(a) => t.serialize_element(a),
        }
    }
}

fn de_addr<'de, A: SeqAccess<'de>>(seq: &mut A, v6: bool) -> Result<Addr, A::Error> {
    if v6 {
        Ok(Addr::V6(need(seq)?))
    } else {
        Ok(Addr::V4(need(seq)?))
    }
}

fn need<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::custom("record truncated"))
}

fn port<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<u16, A::Error> {
    Ok(u16::from_be_bytes(need(seq)?))
}

/// A tuple's wire fields (the protocol lives in the flags or after them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WireTuple {
    src: Addr,
    dst: Addr,
    proto: u8,
    sport: u16,
    dport: u16,
}

/// Family, protocol class and explicit protocol of `t`, or `None` when its
/// addresses mix families.
fn classify(t: &Tuple) -> Option<(u32, Option<u8>)> {
    let v6 = match (t.src, t.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => false,
        (IpAddr::V6(_), IpAddr::V6(_)) => true,
        _ => return None,
    };
    let icmp = if v6 { IPPROTO_ICMPV6 } else { IPPROTO_ICMP };
    let (class, explicit) = match t.proto {
        IPPROTO_TCP => (PC_TCP, None),
        IPPROTO_UDP => (PC_UDP, None),
        p if p == icmp => (PC_ICMP, None),
        p => (PC_OTHER, Some(p)),
    };
    let mut flags = class << F_PROTO_SHIFT;
    if v6 {
        flags |= F_V6;
    }
    Some((flags, explicit))
}

fn class_proto(flags: u32) -> Option<u8> {
    let v6 = flags & F_V6 != 0;
    match (flags & F_PROTO_MASK) >> F_PROTO_SHIFT {
        PC_TCP => Some(IPPROTO_TCP),
        PC_UDP => Some(IPPROTO_UDP),
        PC_ICMP => Some(if v6 { IPPROTO_ICMPV6 } else { IPPROTO_ICMP }),
        _ => None,
    }
}

/// The key of a destroy record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WireKey {
    flags: u32,
    orig: WireTuple,
    zone: u16,
}

impl WireKey {
    fn from_key(k: &conntrack::Key) -> Option<WireKey> {
        let (mut flags, _) = classify(&k.orig)?;
        if k.zone != 0 {
            flags |= F_ZONE;
        }
        Some(WireKey {
            flags,
            orig: wire_tuple(&k.orig),
            zone: k.zone,
        })
    }

    fn key(&self) -> conntrack::Key {
        conntrack::Key {
            orig: tuple(&self.orig),
            zone: self.zone,
        }
    }
}

fn wire_tuple(t: &Tuple) -> WireTuple {
    WireTuple {
        src: Addr::of(t.src),
        dst: Addr::of(t.dst),
        proto: t.proto,
        sport: t.src_port,
        dport: t.dst_port,
    }
}

fn tuple(w: &WireTuple) -> Tuple {
    Tuple::new(w.src.ip(), w.dst.ip(), w.proto, w.sport, w.dport)
}

impl Serialize for WireKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(8)?;
        t.serialize_element(&self.flags)?;
        if self.flags & F_PROTO_MASK == PC_OTHER << F_PROTO_SHIFT {
            t.serialize_element(&self.orig.proto)?;
        }
        self.orig.src.ser(&mut t)?;
        self.orig.dst.ser(&mut t)?;
        t.serialize_element(&self.orig.sport.to_be_bytes())?;
        t.serialize_element(&self.orig.dport.to_be_bytes())?;
        if self.flags & F_ZONE != 0 {
            t.serialize_element(&self.zone)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for WireKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WireKey, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a conntrack key")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireKey, A::Error> {
                let flags: u32 = need(&mut seq)?;
                if flags & !F_KEY_ALL != 0 {
                    return Err(de::Error::custom("unknown flags"));
                }
                let proto = match class_proto(flags) {
                    Some(p) => p,
                    None => need(&mut seq)?,
                };
                let v6 = flags & F_V6 != 0;
                let src = de_addr(&mut seq, v6)?;
                let dst = de_addr(&mut seq, v6)?;
                let sport = port(&mut seq)?;
                let dport = port(&mut seq)?;
                let zone = if flags & F_ZONE != 0 {
                    need(&mut seq)?
                } else {
                    0
                };
                Ok(WireKey {
                    flags,
                    orig: WireTuple {
                        src,
                        dst,
                        proto,
                        sport,
                        dport,
                    },
                    zone,
                })
            }
        }
        d.deserialize_tuple(16, V)
    }
}

/// An entry's wire fields, with the back references resolved to "absent".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WireEntry {
    flags: u32,
    orig: WireTuple,
    status: u32,
    timeout: u32,
    /// `None` with [`F_SNAT_REF`].
    snat_addr: Option<Addr>,
    snat_port: u16,
    dnat_addr: Option<Addr>,
    dnat_port: u16,
    mark: u32,
    zone: u16,
    tcp: TcpInfo,
    reply: Option<WireTuple>,
}

/// The port a NAT mapping keeps when it does not change it (what the
/// inverse tuple has in that place).
fn default_snat_port(orig: &Tuple) -> u16 {
    orig.src_port
}

fn default_dnat_port(orig: &Tuple) -> u16 {
    if orig.is_icmp() {
        orig.src_port
    } else {
        orig.dst_port
    }
}

impl WireEntry {
    /// The wire form of `e` in context `ctx` (updated), or `None` when the
    /// entry cannot be encoded.
    fn from_entry(e: &Entry, ctx: &mut Ctx) -> Option<WireEntry> {
        let (mut flags, _) = classify(&e.orig)?;
        let mut w = WireEntry {
            flags: 0,
            orig: wire_tuple(&e.orig),
            status: e.status ^ STATUS_BASE,
            timeout: e.timeout,
            snat_addr: None,
            snat_port: 0,
            dnat_addr: None,
            dnat_port: 0,
            mark: e.mark,
            zone: e.zone,
            tcp: TcpInfo::new(conntrack::TcpState::None),
            reply: None,
        };
        let delta = e.nat_delta();
        let v6 = flags & F_V6 != 0;
        let same_family = |m: Option<Manip>| m.is_none_or(|m| m.addr.is_ipv6() == v6);
        if e.reply_is_derivable() && same_family(delta.snat) && same_family(delta.dnat) {
            if let Some(m) = delta.snat {
                flags |= F_SNAT;
                if ctx.snat == Some(m.addr) {
                    flags |= F_SNAT_REF;
                } else {
                    w.snat_addr = Some(Addr::of(m.addr));
                    ctx.snat = Some(m.addr);
                }
                if m.port != default_snat_port(&e.orig) {
                    flags |= F_SNAT_PORT;
                    w.snat_port = m.port;
                }
            }
            if let Some(m) = delta.dnat {
                flags |= F_DNAT;
                if ctx.dnat == Some(m.addr) {
                    flags |= F_DNAT_REF;
                } else {
                    w.dnat_addr = Some(Addr::of(m.addr));
                    ctx.dnat = Some(m.addr);
                }
                if m.port != default_dnat_port(&e.orig) {
                    flags |= F_DNAT_PORT;
                    w.dnat_port = m.port;
                }
            }
        } else {
            let (rflags, _) = classify(&e.reply)?;
            flags |= F_REPLY;
            if rflags & F_V6 != 0 {
                flags |= F_REPLY_V6;
            }
            w.reply = Some(wire_tuple(&e.reply));
        }
        if e.mark != 0 {
            flags |= F_MARK;
        }
        if e.zone != 0 {
            flags |= F_ZONE;
        }
        if let Some(t) = e.tcp {
            flags |= F_TCP;
            if t.wscale_orig > 15 || t.wscale_reply > 15 {
                flags |= F_TCP_WIDE;
            }
            w.tcp = t;
        }
        w.flags = flags;
        Some(w)
    }

    /// The entry, resolving back references in `ctx` (updated).
    fn entry(&self, ctx: &mut Ctx) -> Option<Entry> {
        let orig = tuple(&self.orig);
        let f = self.flags;
        let reply = match self.reply {
            Some(r) => tuple(&r),
            None => {
                let mut delta = NatDelta::NONE;
                if f & F_SNAT != 0 {
                    let addr = match self.snat_addr {
                        Some(a) => a.ip(),
                        None => ctx.snat?,
                    };
                    ctx.snat = Some(addr);
                    let port = if f & F_SNAT_PORT != 0 {
                        self.snat_port
                    } else {
                        default_snat_port(&orig)
                    };
                    delta.snat = Some(Manip { addr, port });
                }
                if f & F_DNAT != 0 {
                    let addr = match self.dnat_addr {
                        Some(a) => a.ip(),
                        None => ctx.dnat?,
                    };
                    ctx.dnat = Some(addr);
                    let port = if f & F_DNAT_PORT != 0 {
                        self.dnat_port
                    } else {
                        default_dnat_port(&orig)
                    };
                    delta.dnat = Some(Manip { addr, port });
                }
                orig.reply_with(delta)
            }
        };
        Some(Entry {
            orig,
            reply,
            status: self.status ^ STATUS_BASE,
            timeout: self.timeout,
            mark: self.mark,
            zone: self.zone,
            tcp: if f & F_TCP != 0 { Some(self.tcp) } else { None },
            id: None,
        })
    }
}

impl Serialize for WireEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.flags;
        let mut t = s.serialize_tuple(32)?;
        t.serialize_element(&f)?;
        if f & F_PROTO_MASK == PC_OTHER << F_PROTO_SHIFT {
            t.serialize_element(&self.orig.proto)?;
        }
        self.orig.src.ser(&mut t)?;
        self.orig.dst.ser(&mut t)?;
        t.serialize_element(&self.orig.sport.to_be_bytes())?;
        t.serialize_element(&self.orig.dport.to_be_bytes())?;
        t.serialize_element(&self.status)?;
        t.serialize_element(&self.timeout)?;
        if let Some(a) = &self.snat_addr {
            a.ser(&mut t)?;
        }
        if f & F_SNAT_PORT != 0 {
            t.serialize_element(&self.snat_port.to_be_bytes())?;
        }
        if let Some(a) = &self.dnat_addr {
            a.ser(&mut t)?;
        }
        if f & F_DNAT_PORT != 0 {
            t.serialize_element(&self.dnat_port.to_be_bytes())?;
        }
        if f & F_MARK != 0 {
            t.serialize_element(&self.mark)?;
        }
        if f & F_ZONE != 0 {
            t.serialize_element(&self.zone)?;
        }
        if f & F_TCP != 0 {
            t.serialize_element(&u8::from(self.tcp.state))?;
            if f & F_TCP_WIDE != 0 {
                t.serialize_element(&self.tcp.wscale_orig)?;
                t.serialize_element(&self.tcp.wscale_reply)?;
            } else {
                t.serialize_element(&(self.tcp.wscale_orig << 4 | self.tcp.wscale_reply))?;
            }
            t.serialize_element(&self.tcp.flags_orig)?;
            t.serialize_element(&self.tcp.flags_reply)?;
        }
        if let Some(r) = &self.reply {
            r.src.ser(&mut t)?;
            r.dst.ser(&mut t)?;
            t.serialize_element(&r.proto)?;
            t.serialize_element(&r.sport.to_be_bytes())?;
            t.serialize_element(&r.dport.to_be_bytes())?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for WireEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WireEntry, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a conntrack entry")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireEntry, A::Error> {
                let f: u32 = need(&mut seq)?;
                let bad = f & !F_ALL != 0
                    || (f & F_REPLY != 0 && f & (F_SNAT | F_DNAT) != 0)
                    || (f & F_REPLY == 0 && f & F_REPLY_V6 != 0)
                    || (f & F_SNAT == 0 && f & (F_SNAT_REF | F_SNAT_PORT) != 0)
                    || (f & F_DNAT == 0 && f & (F_DNAT_REF | F_DNAT_PORT) != 0)
                    || (f & F_TCP == 0 && f & F_TCP_WIDE != 0);
                if bad {
                    return Err(de::Error::custom("bad flags"));
                }
                let proto = match class_proto(f) {
                    Some(p) => p,
                    None => need(&mut seq)?,
                };
                let v6 = f & F_V6 != 0;
                let src = de_addr(&mut seq, v6)?;
                let dst = de_addr(&mut seq, v6)?;
                let sport = port(&mut seq)?;
                let dport = port(&mut seq)?;
                let status: u32 = need(&mut seq)?;
                let timeout: u32 = need(&mut seq)?;
                let snat_addr = if f & F_SNAT != 0 && f & F_SNAT_REF == 0 {
                    Some(de_addr(&mut seq, v6)?)
                } else {
                    None
                };
                let snat_port = if f & F_SNAT_PORT != 0 {
                    port(&mut seq)?
                } else {
                    0
                };
                let dnat_addr = if f & F_DNAT != 0 && f & F_DNAT_REF == 0 {
                    Some(de_addr(&mut seq, v6)?)
                } else {
                    None
                };
                let dnat_port = if f & F_DNAT_PORT != 0 {
                    port(&mut seq)?
                } else {
                    0
                };
                let mark: u32 = if f & F_MARK != 0 { need(&mut seq)? } else { 0 };
                let zone: u16 = if f & F_ZONE != 0 { need(&mut seq)? } else { 0 };
                let mut tcp = TcpInfo::new(conntrack::TcpState::None);
                if f & F_TCP != 0 {
                    let state: u8 = need(&mut seq)?;
                    tcp.state = conntrack::TcpState::from(state);
                    if f & F_TCP_WIDE != 0 {
                        tcp.wscale_orig = need(&mut seq)?;
                        tcp.wscale_reply = need(&mut seq)?;
                    } else {
                        let packed: u8 = need(&mut seq)?;
                        tcp.wscale_orig = packed >> 4;
                        tcp.wscale_reply = packed & 0x0f;
                    }
                    tcp.flags_orig = need(&mut seq)?;
                    tcp.flags_reply = need(&mut seq)?;
                }
                let reply = if f & F_REPLY != 0 {
                    let rv6 = f & F_REPLY_V6 != 0;
                    let src = de_addr(&mut seq, rv6)?;
                    let dst = de_addr(&mut seq, rv6)?;
                    let proto: u8 = need(&mut seq)?;
                    let sport = port(&mut seq)?;
                    let dport = port(&mut seq)?;
                    Some(WireTuple {
                        src,
                        dst,
                        proto,
                        sport,
                        dport,
                    })
                } else {
                    None
                };
                Ok(WireEntry {
                    flags: f,
                    orig: WireTuple {
                        src,
                        dst,
                        proto,
                        sport,
                        dport,
                    },
                    status,
                    timeout,
                    snat_addr,
                    snat_port,
                    dnat_addr,
                    dnat_port,
                    mark,
                    zone,
                    tcp,
                    reply,
                })
            }
        }
        d.deserialize_tuple(32, V)
    }
}

// ---------------------------------------------------------------- writer

/// Appends `value` (postcard) to `buf[*pos..end]`.
fn put<T: Serialize>(buf: &mut [u8], pos: &mut usize, end: usize, value: &T) -> bool {
    let Some(room) = buf.get_mut(*pos..end) else {
        return false;
    };
    match postcard::to_slice(value, room) {
        Ok(used) => {
            *pos += used.len();
            true
        }
        Err(_) => false,
    }
}

/// Builds one frame in a caller buffer: header first, then records as long
/// as they fit, then the tag.
///
/// The buffer's length is the frame size limit (the link MTU minus IP and
/// UDP headers). A record that does not fit is not written, and the frame
/// stays valid.
#[derive(Debug)]
pub struct FrameWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    records: usize,
    ctx: Ctx,
}

impl<'a> FrameWriter<'a> {
    /// Starts a frame with `header` in `buf`.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if `buf` is shorter than [`MIN_FRAME_LEN`].
    pub fn new(buf: &'a mut [u8], header: &Header) -> Result<FrameWriter<'a>, PushError> {
        if buf.len() < MIN_FRAME_LEN {
            return Err(PushError::Full);
        }
        header.emit(buf);
        Ok(FrameWriter {
            buf,
            pos: HEADER_LEN,
            records: 0,
            ctx: Ctx::default(),
        })
    }

    /// Appends `record` if it fits.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] (nothing written; finish this frame and put the
    /// record in the next one), [`PushError::Inconsistent`] for an entry
    /// that mixes address families (it can never be sent).
    pub fn push(&mut self, record: &Record) -> Result<(), PushError> {
        let end = self.buf.len().saturating_sub(TAG_LEN);
        let mut pos = self.pos;
        let mut ctx = self.ctx;
        let tag = record.tag();
        if !put(self.buf, &mut pos, end, &tag) {
            return Err(PushError::Full);
        }
        let ok = match record {
            Record::Seq(s) => put(self.buf, &mut pos, end, s),
            Record::CtNew(e) | Record::CtUpdate(e) => {
                let w = WireEntry::from_entry(e, &mut ctx).ok_or(PushError::Inconsistent)?;
                put(self.buf, &mut pos, end, &w)
            }
            Record::CtDestroy(k) => {
                let w = WireKey::from_key(k).ok_or(PushError::Inconsistent)?;
                put(self.buf, &mut pos, end, &w)
            }
            Record::Nack { first, last } => {
                put(self.buf, &mut pos, end, first) && put(self.buf, &mut pos, end, last)
            }
            Record::Alive { next } => put(self.buf, &mut pos, end, next),
            Record::LeaseAdd(l) | Record::LeaseChange(l) | Record::LeaseDelete(l) => {
                put(self.buf, &mut pos, end, l)
            }
            Record::LeaseDuid(d) => {
                let octets = d.as_slice();
                match (u8::try_from(octets.len()), self.buf.get_mut(pos..end)) {
                    (Ok(n), Some(room)) if n > 0 && room.len() > octets.len() => {
                        room[0] = n;
                        room[1..=octets.len()].copy_from_slice(octets);
                        pos += 1 + octets.len();
                        true
                    }
                    _ => false,
                }
            }
            Record::ResyncRequest | Record::ResyncBegin | Record::ResyncEnd => true,
        };
        if !ok {
            return Err(PushError::Full);
        }
        self.pos = pos;
        self.ctx = ctx;
        self.records += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Body octets written so far.
    pub fn body_len(&self) -> usize {
        self.pos - HEADER_LEN
    }

    /// Octets still free for records.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(TAG_LEN + self.pos)
    }

    /// Writes the tag after the last record and returns the frame's length
    /// (send `buf[..len]`).
    pub fn finish(self, key: &Key) -> usize {
        let end = self.pos;
        let tag = key.tag(&self.buf[..end]);
        self.buf[end..end + TAG_LEN].copy_from_slice(&tag);
        end + TAG_LEN
    }
}

// ---------------------------------------------------------------- reader

/// The records of a body, in order. Stops after the first error (which it
/// yields once).
#[derive(Clone, Debug)]
pub struct Records<'a> {
    rest: &'a [u8],
    ctx: Ctx,
    failed: bool,
}

impl<'a> Records<'a> {
    /// Iterates over the records of `body`.
    pub fn new(body: &'a [u8]) -> Records<'a> {
        Records {
            rest: body,
            ctx: Ctx::default(),
            failed: false,
        }
    }

    fn take<T: Deserialize<'a>>(&mut self) -> Result<T, Error> {
        match postcard::take_from_bytes::<T>(self.rest) {
            Ok((v, rest)) => {
                self.rest = rest;
                Ok(v)
            }
            Err(_) => Err(Error::Malformed),
        }
    }

    fn decode(&mut self) -> Result<Record, Error> {
        let tag: u32 = self.take()?;
        if tag > MAX_TAG {
            return Err(Error::UnknownRecord);
        }
        Ok(match tag {
            0 => Record::Seq(self.take()?),
            1 | 2 => {
                let w: WireEntry = self.take()?;
                let e = w.entry(&mut self.ctx).ok_or(Error::Malformed)?;
                if tag == 1 {
                    Record::CtNew(e)
                } else {
                    Record::CtUpdate(e)
                }
            }
            3 => {
                let w: WireKey = self.take()?;
                Record::CtDestroy(w.key())
            }
            4 => {
                let first = self.take()?;
                let last = self.take()?;
                Record::Nack { first, last }
            }
            5 => Record::ResyncRequest,
            6 => Record::ResyncBegin,
            7 => Record::ResyncEnd,
            8 => Record::Alive { next: self.take()? },
            9 => Record::LeaseAdd(self.take()?),
            10 => Record::LeaseChange(self.take()?),
            11 => Record::LeaseDelete(self.take()?),
            _ => {
                let (&n, rest) = self.rest.split_first().ok_or(Error::Malformed)?;
                let n = usize::from(n);
                if n == 0 || n > DUID_MAX || rest.len() < n {
                    return Err(Error::Malformed);
                }
                let d = Duid::from_slice(&rest[..n]).map_err(|_| Error::Malformed)?;
                self.rest = &rest[n..];
                Record::LeaseDuid(d)
            }
        })
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Result<Record, Error>> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.decode();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}
