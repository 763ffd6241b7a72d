//! Body records: [`Record`], the writer that batches them into a frame and
//! the iterator that reads them back.
//!
//! The fields are written and read here directly, octet for octet what
//! postcard writes for them (varints as postcard's, with its limits on
//! reading): one small encoder and decoder instead of serde's generic
//! machinery. `wire_bytes_are_stable` in the tests pins the bytes.

use core::fmt;
use core::net::IpAddr;

use super::frame::{Header, Key};
use super::{Error, HEADER_LEN, MIN_FRAME_LEN, TAG_LEN};
use crate::conntrack::{
    self, Entry, Manip, NatDelta, TcpInfo, Tuple, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP,
    IPPROTO_UDP, IPS_ASSURED, IPS_CONFIRMED, IPS_DST_NAT_DONE, IPS_SEEN_REPLY, IPS_SRC_NAT,
    IPS_SRC_NAT_DONE,
};
use crate::lease::encode::{In, Out};
use crate::lease::{DecodeError, Duid, Lease};

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
    /// The record cannot be encoded: an entry's tuple mixes IPv4 and IPv6
    /// addresses ([`Tuple::is_consistent`] fails), or a DUID is empty.
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
/// The source NAT part's flags: present, back reference, port.
const SNAT_BITS: [u32; 3] = [F_SNAT, F_SNAT_REF, F_SNAT_PORT];
/// The destination NAT part's flags.
const DNAT_BITS: [u32; 3] = [F_DNAT, F_DNAT_REF, F_DNAT_PORT];
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

fn put_port(o: &mut Out<'_>, p: u16) {
    o.put(&p.to_be_bytes());
}

fn port(i: &mut In<'_>) -> Result<u16, DecodeError> {
    let p = i.take(2)?;
    Ok(u16::from(p[0]) << 8 | u16::from(p[1]))
}

/// Flags, \[protocol\], addresses and ports of an original tuple: the
/// start of an entry and of a key. `class` is [`classify`]'s answer for
/// `t`; `extra` are the flags beyond family and protocol class.
fn put_orig(o: &mut Out<'_>, t: &Tuple, class: (u32, Option<u8>), extra: u32) {
    let (flags, explicit) = class;
    o.varint(flags | extra);
    if let Some(p) = explicit {
        o.byte(p);
    }
    o.addr(&t.src);
    o.addr(&t.dst);
    put_port(o, t.src_port);
    put_port(o, t.dst_port);
}

/// Reads addresses and ports of a tuple into `t` (`proto` given: an
/// original tuple; else the protocol octet between addresses and ports).
#[inline(never)]
fn read_tuple(
    i: &mut In<'_>,
    v6: bool,
    proto: Option<u8>,
    t: &mut Tuple,
) -> Result<(), DecodeError> {
    i.addr_into(v6, &mut t.src)?;
    i.addr_into(v6, &mut t.dst)?;
    t.proto = match proto {
        Some(p) => p,
        None => i.byte()?,
    };
    t.src_port = port(i)?;
    t.dst_port = port(i)?;
    Ok(())
}

/// Reads the flags (checking them against `allowed` and `bad`), the
/// protocol and the original tuple (into `t`); returns the flags.
fn read_orig(i: &mut In<'_>, allowed: u32, t: &mut Tuple) -> Result<u32, DecodeError> {
    let f = i.u32()?;
    let bad = f & !allowed != 0
        || (f & F_REPLY != 0 && f & (F_SNAT | F_DNAT) != 0)
        || (f & F_REPLY == 0 && f & F_REPLY_V6 != 0)
        || (f & F_SNAT == 0 && f & (F_SNAT_REF | F_SNAT_PORT) != 0)
        || (f & F_DNAT == 0 && f & (F_DNAT_REF | F_DNAT_PORT) != 0)
        || (f & F_TCP == 0 && f & F_TCP_WIDE != 0);
    if bad {
        return Err(DecodeError::BadTag(0));
    }
    let proto = match class_proto(f) {
        Some(p) => p,
        None => i.byte()?,
    };
    read_tuple(i, f & F_V6 != 0, Some(proto), t)?;
    Ok(f)
}

/// Writes a destroy record's key, or `None` when it cannot be encoded.
fn put_key(o: &mut Out<'_>, k: &conntrack::Key) -> Option<()> {
    let class = classify(&k.orig)?;
    let zone = if k.zone != 0 { F_ZONE } else { 0 };
    put_orig(o, &k.orig, class, zone);
    if zone != 0 {
        o.varint(u32::from(k.zone));
    }
    Some(())
}

fn read_key(i: &mut In<'_>, k: &mut conntrack::Key) -> Result<(), DecodeError> {
    let f = read_orig(i, F_KEY_ALL, &mut k.orig)?;
    k.zone = if f & F_ZONE != 0 { i.u16()? } else { 0 };
    Ok(())
}

/// One NAT part of an entry: returns its flags (`F_xNAT`, `F_xNAT_REF`,
/// `F_xNAT_PORT` given as `bits`), resolving the back reference in `prev`
/// (updated). The address is sent unless `F_xNAT_REF` is set.
fn nat_flags(
    m: &Option<Manip>,
    prev: &mut Option<IpAddr>,
    default_port: u16,
    bits: &[u32; 3],
) -> u32 {
    let Some(m) = m else {
        return 0;
    };
    let mut flags = bits[0];
    if prev.as_ref() == Some(&m.addr) {
        flags |= bits[1];
    } else {
        *prev = Some(m.addr);
    }
    if m.port != default_port {
        flags |= bits[2];
    }
    flags
}

/// Writes a conntrack entry in context `ctx` (updated), or `None` when the
/// entry cannot be encoded.
fn put_entry(o: &mut Out<'_>, e: &Entry, ctx: &mut Ctx) -> Option<()> {
    let class = classify(&e.orig)?;
    let flags = class.0;
    let delta = e.nat_delta();
    let v6 = flags & F_V6 != 0;
    let same_family = |m: &Option<Manip>| m.is_none_or(|m| m.addr.is_ipv6() == v6);
    let mut extra = 0;
    let derived =
        e.orig.reply_with(delta) == e.reply && same_family(&delta.snat) && same_family(&delta.dnat);
    if derived {
        extra |= nat_flags(
            &delta.snat,
            &mut ctx.snat,
            e.orig.snat_default_port(),
            &SNAT_BITS,
        );
        extra |= nat_flags(
            &delta.dnat,
            &mut ctx.dnat,
            e.orig.dnat_default_port(),
            &DNAT_BITS,
        );
    } else {
        let (rflags, _) = classify(&e.reply)?;
        extra |= F_REPLY;
        if rflags & F_V6 != 0 {
            extra |= F_REPLY_V6;
        }
    }
    if e.mark != 0 {
        extra |= F_MARK;
    }
    if e.zone != 0 {
        extra |= F_ZONE;
    }
    if let Some(t) = e.tcp {
        extra |= F_TCP;
        if t.wscale_orig > 15 || t.wscale_reply > 15 {
            extra |= F_TCP_WIDE;
        }
    }
    put_orig(o, &e.orig, class, extra);
    o.varint(e.status ^ STATUS_BASE);
    o.varint(e.timeout);
    // The parts sent (flagged): address unless referred back to, port if
    // not the default.
    let nat = [
        (&delta.snat, F_SNAT, F_SNAT_REF, F_SNAT_PORT),
        (&delta.dnat, F_DNAT, F_DNAT_REF, F_DNAT_PORT),
    ];
    for (m, present, ref_flag, port_flag) in nat {
        if let Some(m) = m {
            if extra & (present | ref_flag) == present {
                o.addr(&m.addr);
            }
            if extra & port_flag != 0 {
                put_port(o, m.port);
            }
        }
    }
    if extra & F_MARK != 0 {
        o.varint(e.mark);
    }
    if extra & F_ZONE != 0 {
        o.varint(u32::from(e.zone));
    }
    if let Some(t) = e.tcp {
        o.byte(u8::from(t.state));
        if extra & F_TCP_WIDE != 0 {
            o.byte(t.wscale_orig);
            o.byte(t.wscale_reply);
        } else {
            o.byte(t.wscale_orig << 4 | t.wscale_reply);
        }
        o.byte(t.flags_orig);
        o.byte(t.flags_reply);
    }
    if extra & F_REPLY != 0 {
        let r = &e.reply;
        o.addr(&r.src);
        o.addr(&r.dst);
        o.byte(r.proto);
        put_port(o, r.src_port);
        put_port(o, r.dst_port);
    }
    Some(())
}

/// Reads one NAT part of an entry (see [`nat_flags`]), resolving a back
/// reference in `prev` (updated); an error for a back reference with
/// nothing to refer to.
fn read_nat(
    i: &mut In<'_>,
    f: u32,
    prev: &mut Option<IpAddr>,
    default_port: u16,
    bits: &[u32; 3],
    out: &mut Option<Manip>,
) -> Result<(), DecodeError> {
    if f & bits[0] == 0 {
        return Ok(());
    }
    let v6 = f & F_V6 != 0;
    // Built in place (`out` holds a partial part after an error).
    let m = out.insert(Manip {
        addr: IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
        port: default_port,
    });
    if f & bits[1] == 0 {
        i.addr_into(v6, &mut m.addr)?;
    } else {
        // A back reference must name an address of the entry's family (the
        // encoder never writes anything else; a forged frame could).
        match prev {
            Some(a) if a.is_ipv6() == v6 => m.addr = *a,
            _ => return Err(DecodeError::Truncated),
        }
    }
    *prev = Some(m.addr);
    if f & bits[2] != 0 {
        m.port = port(i)?;
    }
    Ok(())
}

/// Reads a conntrack entry into `e`, resolving back references in `ctx`
/// (updated).
fn read_entry(i: &mut In<'_>, ctx: &mut Ctx, e: &mut Entry) -> Result<(), DecodeError> {
    let f = read_orig(i, F_ALL, &mut e.orig)?;
    let orig = &e.orig;
    e.status = i.u32()? ^ STATUS_BASE;
    e.timeout = i.u32()?;
    let mut delta = NatDelta::NONE;
    read_nat(
        i,
        f,
        &mut ctx.snat,
        orig.snat_default_port(),
        &SNAT_BITS,
        &mut delta.snat,
    )?;
    read_nat(
        i,
        f,
        &mut ctx.dnat,
        orig.dnat_default_port(),
        &DNAT_BITS,
        &mut delta.dnat,
    )?;
    e.mark = if f & F_MARK != 0 { i.u32()? } else { 0 };
    e.zone = if f & F_ZONE != 0 { i.u16()? } else { 0 };
    e.tcp = if f & F_TCP != 0 {
        // State, window scales (one octet, or two when wide), flags.
        let wide = f & F_TCP_WIDE != 0;
        let b = i.take(4 + usize::from(wide))?;
        let (wscale_orig, wscale_reply) = if wide {
            (b[1], b[2])
        } else {
            (b[1] >> 4, b[1] & 0x0f)
        };
        let n = b.len();
        Some(TcpInfo {
            state: conntrack::TcpState::from(b[0]),
            wscale_orig,
            wscale_reply,
            flags_orig: b[n - 2],
            flags_reply: b[n - 1],
        })
    } else {
        None
    };
    if f & F_REPLY != 0 {
        read_tuple(i, f & F_REPLY_V6 != 0, None, &mut e.reply)?;
    } else {
        e.reply = e.orig.reply_with(delta);
    }
    e.id = None;
    Ok(())
}

// ---------------------------------------------------------------- writer

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
        let mut ctx = self.ctx;
        let mut o = Out {
            buf: self.buf.get_mut(..end).unwrap_or_default(),
            pos: self.pos,
        };
        o.varint(record.tag());
        if !o.fits() {
            return Err(PushError::Full);
        }
        let ok = match record {
            Record::Seq(n) | Record::Alive { next: n } => {
                o.varint(*n);
                Some(())
            }
            Record::CtNew(e) | Record::CtUpdate(e) => put_entry(&mut o, e, &mut ctx),
            Record::CtDestroy(k) => put_key(&mut o, k),
            Record::Nack { first, last } => {
                o.varint(*first);
                o.varint(*last);
                Some(())
            }
            Record::LeaseAdd(l) | Record::LeaseChange(l) | Record::LeaseDelete(l) => {
                l.write(&mut o);
                Some(())
            }
            Record::LeaseDuid(d) => {
                let octets = d.as_slice();
                if octets.is_empty() || octets.len() > 255 {
                    // Never fits any frame: not encodable, like a mixed tuple
                    // (a `Full` would stall the stream on it).
                    return Err(PushError::Inconsistent);
                }
                o.short(octets);
                Some(())
            }
            Record::ResyncRequest | Record::ResyncBegin | Record::ResyncEnd => Some(()),
        };
        ok.ok_or(PushError::Inconsistent)?;
        if !o.fits() {
            return Err(PushError::Full);
        }
        self.pos = o.pos;
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

    /// The next record, decoded into `r` in place (nothing big is
    /// moved); `None` at the end or after an error (yielded once).
    #[inline(never)]
    pub fn next_into(&mut self, r: &mut Record) -> Option<Result<(), Error>> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let res = self.decode(r);
        if res.is_err() {
            self.failed = true;
        }
        Some(res)
    }

    fn decode(&mut self, r: &mut Record) -> Result<(), Error> {
        let mut i = In {
            buf: self.rest,
            pos: 0,
        };
        let tag = i.u32().map_err(|_| Error::Malformed)?;
        if tag > MAX_TAG {
            return Err(Error::UnknownRecord);
        }
        read_record(&mut i, tag, &mut self.ctx, r).map_err(|_| Error::Malformed)?;
        self.rest = i.buf.get(i.pos..).unwrap_or_default();
        Ok(())
    }
}

/// An empty tuple (what decoding starts from).
const NO_TUPLE: Tuple = Tuple::new(
    IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
    IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
    0,
    0,
    0,
);

/// Reads the rest of a record with wire tag `tag` (at most [`MAX_TAG`])
/// into `r`: the variant is set first, its fields are decoded in place.
fn read_record(i: &mut In<'_>, tag: u32, ctx: &mut Ctx, r: &mut Record) -> Result<(), DecodeError> {
    *r = match tag {
        0 => Record::Seq(i.u32()?),
        1 | 2 => {
            let e = Entry::new(NO_TUPLE, NO_TUPLE);
            *r = if tag == 1 {
                Record::CtNew(e)
            } else {
                Record::CtUpdate(e)
            };
            if let Record::CtNew(e) | Record::CtUpdate(e) = r {
                read_entry(i, ctx, e)?;
            }
            return Ok(());
        }
        3 => {
            *r = Record::CtDestroy(conntrack::Key {
                orig: NO_TUPLE,
                zone: 0,
            });
            if let Record::CtDestroy(k) = r {
                read_key(i, k)?;
            }
            return Ok(());
        }
        4 => Record::Nack {
            first: i.u32()?,
            last: i.u32()?,
        },
        5 => Record::ResyncRequest,
        6 => Record::ResyncBegin,
        7 => Record::ResyncEnd,
        8 => Record::Alive { next: i.u32()? },
        9..=11 => {
            *r = match tag {
                9 => Record::LeaseAdd(Lease::EMPTY),
                10 => Record::LeaseChange(Lease::EMPTY),
                _ => Record::LeaseDelete(Lease::EMPTY),
            };
            if let Record::LeaseAdd(l) | Record::LeaseChange(l) | Record::LeaseDelete(l) = r {
                l.read(i)?;
            }
            return Ok(());
        }
        _ => {
            let d = i.short_bytes()?;
            if d.is_empty() {
                return Err(DecodeError::Truncated);
            }
            if d.len() > crate::lease::DUID_MAX {
                return Err(DecodeError::Truncated);
            }
            // Filled in place.
            *r = Record::LeaseDuid(Duid::new());
            if let Record::LeaseDuid(x) = r {
                x.extend(d).map_err(|_| DecodeError::Truncated)?;
            }
            return Ok(());
        }
    };
    Ok(())
}

impl Record {
    /// Makes this the lease record of wire tag `tag` (9 add, 10 change,
    /// 11 delete) holding the lease [`Lease::encode`] wrote at the start
    /// of `lease`, decoded in place (a lease is some 370 octets: not
    /// moved). `None` for another tag or a lease that does not decode.
    pub fn set_lease(&mut self, tag: u32, lease: &[u8]) -> Option<()> {
        if !(9..=11).contains(&tag) {
            return None;
        }
        let mut i = In { buf: lease, pos: 0 };
        read_record(&mut i, tag, &mut Ctx::default(), self).ok()
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Result<Record, Error>> {
        let mut r = Record::ResyncRequest;
        Some(self.next_into(&mut r)?.map(|()| r))
    }
}

#[cfg(test)]
mod nat_ref_tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    const BITS: [u32; 3] = [F_SNAT, F_SNAT_REF, F_SNAT_PORT];

    fn read(f: u32, prev: IpAddr) -> Result<Option<Manip>, DecodeError> {
        let mut i = In { buf: &[], pos: 0 };
        let mut prev = Some(prev);
        let mut out = None;
        read_nat(&mut i, f, &mut prev, 7, &BITS, &mut out).map(|()| out)
    }

    #[test]
    fn back_reference_must_match_the_entry_family() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let r = F_SNAT | F_SNAT_REF;
        // A forged IPv6 entry naming the previous (IPv4) NAT address.
        assert_eq!(read(F_V6 | r, v4), Err(DecodeError::Truncated));
        assert_eq!(read(r, v6), Err(DecodeError::Truncated));
        // What the encoder writes: a reference to an address of the same family.
        assert_eq!(read(F_V6 | r, v6), Ok(Some(Manip { addr: v6, port: 7 })));
        assert_eq!(read(r, v4), Ok(Some(Manip { addr: v4, port: 7 })));
    }

    #[test]
    fn empty_duid_is_not_encodable() {
        let mut buf = [0u8; 1500];
        let h = Header {
            sender: 1,
            epoch: 1,
            seq: 1,
            ack: 0,
        };
        let mut w = FrameWriter::new(&mut buf, &h).unwrap();
        let d = Duid::from_slice(&[]).unwrap();
        assert_eq!(w.push(&Record::LeaseDuid(d)), Err(PushError::Inconsistent));
    }
}
