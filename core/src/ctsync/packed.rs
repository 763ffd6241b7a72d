//! The compact byte form of a conntrack [`Entry`] kept in the backup's
//! cache ([`super::cache`]): close to the sync wire encoding, but
//! self-contained (no back references) and lossless — every field of the
//! entry, the kernel id included, comes back exactly.
//!
//! Layout: flags (varint) · \[protocol\] · original source and destination
//! address (4 or 16 octets each) · source and destination port (2 octets
//! each) · status XOR the usual NAT'd bits (varint) · timeout (varint) ·
//! \[mark\] · \[zone\] (varints) · \[id (4 octets)\] · \[TCP: state,
//! window scales in one octet (two if either exceeds 15), original and
//! reply flags\] · \[source NAT address · \[port if not the original's\]\]
//! · \[destination NAT likewise\] · \[the reply tuple in full when it is
//! not the original's inverse plus NAT\]. A masqueraded TCP/IPv4 entry
//! takes about 28 octets; the longest entry [`MAX_PACKED`] at most.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tandem_protocol::conntrack::{
    Entry, Key, Manip, NatDelta, TcpInfo, TcpState, Tuple, IPPROTO_TCP, IPS_ASSURED, IPS_CONFIRMED,
    IPS_DST_NAT_DONE, IPS_SEEN_REPLY, IPS_SRC_NAT, IPS_SRC_NAT_DONE,
};

/// Room for the longest packed entry (at most 140 octets are used).
pub(crate) const MAX_PACKED: usize = 160;

/// Status bits a NAT'd, established connection has: stored XOR'd, so that
/// the usual status packs into one or two octets.
const STATUS_BASE: u32 = IPS_SEEN_REPLY
    | IPS_ASSURED
    | IPS_CONFIRMED
    | IPS_SRC_NAT
    | IPS_SRC_NAT_DONE
    | IPS_DST_NAT_DONE;

// Flags: the common ones in the low seven bits (one varint octet).
const F_TCP: u32 = 1 << 0;
const F_SNAT: u32 = 1 << 1;
const F_SNAT_PORT: u32 = 1 << 2;
const F_DNAT: u32 = 1 << 3;
const F_ID: u32 = 1 << 4;
const F_MARK: u32 = 1 << 5;
const F_NOT_TCP: u32 = 1 << 6;
const F_ZONE: u32 = 1 << 7;
const F_DNAT_PORT: u32 = 1 << 8;
const F_TCP_WIDE: u32 = 1 << 9;
const F_SRC6: u32 = 1 << 10;
const F_DST6: u32 = 1 << 11;
const F_SNAT6: u32 = 1 << 12;
const F_DNAT6: u32 = 1 << 13;
const F_REPLY: u32 = 1 << 14;
const F_RSRC6: u32 = 1 << 15;
const F_RDST6: u32 = 1 << 16;

struct Writer<'b> {
    buf: &'b mut [u8],
    n: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.n.checked_add(bytes.len())?;
        self.buf.get_mut(self.n..end)?.copy_from_slice(bytes);
        self.n = end;
        Some(())
    }

    fn varint(&mut self, mut v: u32) -> Option<()> {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                return self.put(&[b]);
            }
            self.put(&[b | 0x80])?;
        }
    }

    fn addr(&mut self, a: IpAddr) -> Option<()> {
        match a {
            IpAddr::V4(a) => self.put(&a.octets()),
            IpAddr::V6(a) => self.put(&a.octets()),
        }
    }

    /// Flags · \[protocol\] · addresses · ports (entries and keys alike).
    #[inline(never)]
    fn head(&mut self, f: u32, o: &Tuple) -> Option<()> {
        self.varint(f)?;
        if f & F_NOT_TCP != 0 {
            self.put(&[o.proto])?;
        }
        self.addr(o.src)?;
        self.addr(o.dst)?;
        self.put(&o.src_port.to_be_bytes())?;
        self.put(&o.dst_port.to_be_bytes())
    }
}

struct Reader<'b> {
    buf: &'b [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.buf.split_first_chunk::<N>()?;
        self.buf = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }

    fn varint(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.u8()?;
            v |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn addr(&mut self, v6: bool) -> Option<IpAddr> {
        Some(if v6 {
            IpAddr::V6(Ipv6Addr::from(self.take::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.take::<4>()?))
        })
    }

    /// What [`Writer::head`] wrote: the flags and the original tuple.
    #[inline(never)]
    fn head(&mut self) -> Option<(u32, Tuple)> {
        let f = self.varint()?;
        let proto = if f & F_NOT_TCP != 0 {
            self.u8()?
        } else {
            IPPROTO_TCP
        };
        let src = self.addr(f & F_SRC6 != 0)?;
        let dst = self.addr(f & F_DST6 != 0)?;
        let sport = self.u16()?;
        let dport = self.u16()?;
        Some((f, Tuple::new(src, dst, proto, sport, dport)))
    }
}

fn is_v6(a: IpAddr) -> bool {
    a.is_ipv6()
}

fn flag(on: bool, f: u32) -> u32 {
    if on {
        f
    } else {
        0
    }
}

/// The port source NAT keeps when it does not change it.
fn default_snat_port(orig: &Tuple) -> u16 {
    orig.src_port
}

/// The same for destination NAT.
fn default_dnat_port(orig: &Tuple) -> u16 {
    if orig.is_icmp() {
        orig.src_port
    } else {
        orig.dst_port
    }
}

/// Packs `e` into `out`; the length used (`None` only if `out` is shorter
/// than [`MAX_PACKED`] and the entry does not fit).
pub(crate) fn pack(e: &Entry, out: &mut [u8]) -> Option<usize> {
    let o = &e.orig;
    let delta = e.nat_delta();
    let derivable = o.reply_with(delta) == e.reply;
    let mut f = flag(o.proto != IPPROTO_TCP, F_NOT_TCP)
        | flag(is_v6(o.src), F_SRC6)
        | flag(is_v6(o.dst), F_DST6)
        | flag(e.mark != 0, F_MARK)
        | flag(e.zone != 0, F_ZONE)
        | flag(e.id.is_some(), F_ID);
    if let Some(t) = e.tcp {
        f |= F_TCP | flag(t.wscale_orig > 15 || t.wscale_reply > 15, F_TCP_WIDE);
    }
    if derivable {
        if let Some(m) = delta.snat {
            f |= F_SNAT | flag(is_v6(m.addr), F_SNAT6);
            f |= flag(m.port != default_snat_port(o), F_SNAT_PORT);
        }
        if let Some(m) = delta.dnat {
            f |= F_DNAT | flag(is_v6(m.addr), F_DNAT6);
            f |= flag(m.port != default_dnat_port(o), F_DNAT_PORT);
        }
    } else {
        f |= F_REPLY | flag(is_v6(e.reply.src), F_RSRC6) | flag(is_v6(e.reply.dst), F_RDST6);
    }
    let mut w = Writer { buf: out, n: 0 };
    w.head(f, o)?;
    w.varint(e.status ^ STATUS_BASE)?;
    w.varint(e.timeout)?;
    if f & F_MARK != 0 {
        w.varint(e.mark)?;
    }
    if f & F_ZONE != 0 {
        w.varint(u32::from(e.zone))?;
    }
    if let Some(id) = e.id {
        w.put(&id.to_be_bytes())?;
    }
    if let Some(t) = e.tcp {
        w.put(&[u8::from(t.state)])?;
        if f & F_TCP_WIDE != 0 {
            w.put(&[t.wscale_orig, t.wscale_reply])?;
        } else {
            w.put(&[t.wscale_orig << 4 | t.wscale_reply])?;
        }
        w.put(&[t.flags_orig, t.flags_reply])?;
    }
    if derivable {
        if let Some(m) = delta.snat {
            w.addr(m.addr)?;
            if f & F_SNAT_PORT != 0 {
                w.put(&m.port.to_be_bytes())?;
            }
        }
        if let Some(m) = delta.dnat {
            w.addr(m.addr)?;
            if f & F_DNAT_PORT != 0 {
                w.put(&m.port.to_be_bytes())?;
            }
        }
    } else {
        let r = &e.reply;
        w.put(&[r.proto])?;
        w.addr(r.src)?;
        w.addr(r.dst)?;
        w.put(&r.src_port.to_be_bytes())?;
        w.put(&r.dst_port.to_be_bytes())?;
    }
    Some(w.n)
}

/// The entry packed in `bytes` (`None` if they are not [`pack`]'s).
pub(crate) fn unpack(bytes: &[u8]) -> Option<Entry> {
    let mut r = Reader { buf: bytes };
    let (f, orig) = r.head()?;
    let status = r.varint()? ^ STATUS_BASE;
    let timeout = r.varint()?;
    let mark = if f & F_MARK != 0 { r.varint()? } else { 0 };
    let zone = if f & F_ZONE != 0 {
        u16::try_from(r.varint()?).ok()?
    } else {
        0
    };
    let id = if f & F_ID != 0 {
        Some(u32::from_be_bytes(r.take()?))
    } else {
        None
    };
    let tcp = if f & F_TCP != 0 {
        let state = TcpState::from(r.u8()?);
        let (wscale_orig, wscale_reply) = if f & F_TCP_WIDE != 0 {
            (r.u8()?, r.u8()?)
        } else {
            let b = r.u8()?;
            (b >> 4, b & 0x0f)
        };
        Some(TcpInfo {
            state,
            wscale_orig,
            wscale_reply,
            flags_orig: r.u8()?,
            flags_reply: r.u8()?,
        })
    } else {
        None
    };
    let reply = if f & F_REPLY != 0 {
        let proto = r.u8()?;
        let src = r.addr(f & F_RSRC6 != 0)?;
        let dst = r.addr(f & F_RDST6 != 0)?;
        Tuple::new(src, dst, proto, r.u16()?, r.u16()?)
    } else {
        let mut delta = NatDelta::NONE;
        if f & F_SNAT != 0 {
            let addr = r.addr(f & F_SNAT6 != 0)?;
            let port = if f & F_SNAT_PORT != 0 {
                r.u16()?
            } else {
                default_snat_port(&orig)
            };
            delta.snat = Some(Manip { addr, port });
        }
        if f & F_DNAT != 0 {
            let addr = r.addr(f & F_DNAT6 != 0)?;
            let port = if f & F_DNAT_PORT != 0 {
                r.u16()?
            } else {
                default_dnat_port(&orig)
            };
            delta.dnat = Some(Manip { addr, port });
        }
        orig.reply_with(delta)
    };
    Some(Entry {
        orig,
        reply,
        status,
        timeout,
        mark,
        zone,
        tcp,
        id,
    })
}

/// Packs a conntrack key (a destroy record): flags · \[protocol\] ·
/// addresses · ports · \[zone\]. At most 42 octets.
pub(crate) fn pack_key(k: &Key, out: &mut [u8]) -> Option<usize> {
    let o = &k.orig;
    let f = flag(o.proto != IPPROTO_TCP, F_NOT_TCP)
        | flag(is_v6(o.src), F_SRC6)
        | flag(is_v6(o.dst), F_DST6)
        | flag(k.zone != 0, F_ZONE);
    let mut w = Writer { buf: out, n: 0 };
    w.head(f, o)?;
    if f & F_ZONE != 0 {
        w.varint(u32::from(k.zone))?;
    }
    Some(w.n)
}

/// The key packed in `bytes` by [`pack_key`].
pub(crate) fn unpack_key(bytes: &[u8]) -> Option<Key> {
    let mut r = Reader { buf: bytes };
    let (f, orig) = r.head()?;
    let zone = if f & F_ZONE != 0 {
        u16::try_from(r.varint()?).ok()?
    } else {
        0
    };
    Some(Key { orig, zone })
}
