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

/// Writes into a buffer; a write that does not fit is dropped and
/// remembered (`ok` false), so that the callers need no branch per write.
struct Writer<'b> {
    buf: &'b mut [u8],
    n: usize,
    ok: bool,
}

impl Writer<'_> {
    #[inline(never)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.n + bytes.len();
        match self.buf.get_mut(self.n..end) {
            Some(d) => {
                d.copy_from_slice(bytes);
                self.n = end;
            }
            None => self.ok = false,
        }
    }

    #[inline(never)]
    fn varint(&mut self, mut v: u32) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                return self.put(&[b]);
            }
            self.put(&[b | 0x80]);
        }
    }

    fn port(&mut self, p: u16) {
        self.put(&p.to_be_bytes())
    }

    #[inline(never)]
    fn addr(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(a) => self.put(&a.octets()),
            IpAddr::V6(a) => self.put(&a.octets()),
        }
    }

    /// Flags · \[protocol\] · addresses · ports (entries and keys alike).
    #[inline(never)]
    fn head(&mut self, f: u32, o: &Tuple) {
        self.varint(f);
        if f & F_NOT_TCP != 0 {
            self.put(&[o.proto]);
        }
        self.addr(o.src);
        self.addr(o.dst);
        self.port(o.src_port);
        self.port(o.dst_port);
    }

    /// The length written, unless something did not fit.
    fn done(&self) -> Option<usize> {
        self.ok.then_some(self.n)
    }
}

/// Reads from a buffer; reading past its end yields zeros and is
/// remembered (`bad`), so that the callers need no branch per read.
struct Reader<'b> {
    buf: &'b [u8],
    bad: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        match self.buf.split_first_chunk::<N>() {
            Some((head, rest)) => {
                out = *head;
                self.buf = rest;
            }
            None => self.fail(),
        }
        out
    }

    #[inline(never)]
    fn fail(&mut self) {
        self.bad = true;
        self.buf = &[];
    }

    #[inline(never)]
    fn u8(&mut self) -> u8 {
        let [b] = self.take::<1>();
        b
    }

    #[inline(never)]
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take())
    }

    #[inline(never)]
    fn varint(&mut self) -> u32 {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.u8();
            match u32::from(b & 0x7f).checked_shl(shift) {
                Some(x) => v |= x,
                None => self.fail(),
            }
            if b & 0x80 == 0 {
                return v;
            }
        }
        self.fail();
        0
    }

    #[inline(never)]
    fn addr(&mut self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(self.take::<16>()))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.take::<4>()))
        }
    }

    /// What [`Writer::head`] wrote: the flags, and the original tuple
    /// into `t`.
    #[inline(never)]
    fn head(&mut self, t: &mut Tuple) -> u32 {
        let f = self.varint();
        t.proto = if f & F_NOT_TCP != 0 {
            self.u8()
        } else {
            IPPROTO_TCP
        };
        t.src = self.addr(f & F_SRC6 != 0);
        t.dst = self.addr(f & F_DST6 != 0);
        t.src_port = self.u16();
        t.dst_port = self.u16();
        f
    }

    /// A zone (a varint that must fit 16 bits).
    fn zone(&mut self, f: u32) -> u16 {
        if f & F_ZONE == 0 {
            return 0;
        }
        let v = self.varint();
        u16::try_from(v).unwrap_or_else(|_| {
            self.fail();
            0
        })
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
            f |= flag(m.port != o.snat_default_port(), F_SNAT_PORT);
        }
        if let Some(m) = delta.dnat {
            f |= F_DNAT | flag(is_v6(m.addr), F_DNAT6);
            f |= flag(m.port != o.dnat_default_port(), F_DNAT_PORT);
        }
    } else {
        f |= F_REPLY | flag(is_v6(e.reply.src), F_RSRC6) | flag(is_v6(e.reply.dst), F_RDST6);
    }
    let mut w = Writer {
        buf: out,
        n: 0,
        ok: true,
    };
    w.head(f, o);
    w.varint(e.status ^ STATUS_BASE);
    w.varint(e.timeout);
    if f & F_MARK != 0 {
        w.varint(e.mark);
    }
    if f & F_ZONE != 0 {
        w.varint(u32::from(e.zone));
    }
    if let Some(id) = e.id {
        w.put(&id.to_be_bytes());
    }
    if let Some(t) = e.tcp {
        w.put(&[u8::from(t.state)]);
        if f & F_TCP_WIDE != 0 {
            w.put(&[t.wscale_orig, t.wscale_reply]);
        } else {
            w.put(&[t.wscale_orig << 4 | t.wscale_reply]);
        }
        w.put(&[t.flags_orig, t.flags_reply]);
    }
    if derivable {
        for (m, port_flag) in [(&delta.snat, F_SNAT_PORT), (&delta.dnat, F_DNAT_PORT)] {
            if let Some(m) = m {
                w.addr(m.addr);
                if f & port_flag != 0 {
                    w.port(m.port);
                }
            }
        }
    } else {
        let r = &e.reply;
        w.put(&[r.proto]);
        w.addr(r.src);
        w.addr(r.dst);
        w.port(r.src_port);
        w.port(r.dst_port);
    }
    w.done()
}

/// The entry packed in `bytes` (`None` if they are not [`pack`]'s).
#[cfg(test)]
pub(crate) fn unpack(bytes: &[u8]) -> Option<Entry> {
    let mut e = Entry::new(NO_TUPLE, NO_TUPLE);
    unpack_into(bytes, &mut e)?;
    Some(e)
}

/// An empty tuple (what unpacking starts from).
pub(crate) const NO_TUPLE: Tuple = Tuple::new(
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    0,
    0,
    0,
);

/// The entry packed in `bytes`, into `e` (`None` if they are not
/// [`pack`]'s; `e` is then partly written).
pub(crate) fn unpack_into(bytes: &[u8], e: &mut Entry) -> Option<()> {
    let mut r = Reader {
        buf: bytes,
        bad: false,
    };
    let f = r.head(&mut e.orig);
    e.status = r.varint() ^ STATUS_BASE;
    e.timeout = r.varint();
    e.mark = if f & F_MARK != 0 { r.varint() } else { 0 };
    e.zone = r.zone(f);
    e.id = (f & F_ID != 0).then(|| u32::from_be_bytes(r.take()));
    e.tcp = (f & F_TCP != 0).then(|| {
        let state = TcpState::from(r.u8());
        let (wscale_orig, wscale_reply) = if f & F_TCP_WIDE != 0 {
            (r.u8(), r.u8())
        } else {
            let b = r.u8();
            (b >> 4, b & 0x0f)
        };
        TcpInfo {
            state,
            wscale_orig,
            wscale_reply,
            flags_orig: r.u8(),
            flags_reply: r.u8(),
        }
    });
    if f & F_REPLY != 0 {
        let t = &mut e.reply;
        t.proto = r.u8();
        t.src = r.addr(f & F_RSRC6 != 0);
        t.dst = r.addr(f & F_RDST6 != 0);
        t.src_port = r.u16();
        t.dst_port = r.u16();
    } else {
        let orig = &e.orig;
        let mut delta = NatDelta::NONE;
        let parts = [
            (
                &mut delta.snat,
                F_SNAT,
                F_SNAT6,
                F_SNAT_PORT,
                orig.snat_default_port(),
            ),
            (
                &mut delta.dnat,
                F_DNAT,
                F_DNAT6,
                F_DNAT_PORT,
                orig.dnat_default_port(),
            ),
        ];
        for (m, on, v6, port, default) in parts {
            if f & on == 0 {
                continue;
            }
            let addr = r.addr(f & v6 != 0);
            let port = if f & port != 0 { r.u16() } else { default };
            *m = Some(Manip { addr, port });
        }
        e.reply = orig.reply_with(delta);
    }
    (!r.bad).then_some(())
}

/// Packs a conntrack key (a destroy record): flags · \[protocol\] ·
/// addresses · ports · \[zone\]. At most 42 octets.
pub(crate) fn pack_key(k: &Key, out: &mut [u8]) -> Option<usize> {
    let o = &k.orig;
    let f = flag(o.proto != IPPROTO_TCP, F_NOT_TCP)
        | flag(is_v6(o.src), F_SRC6)
        | flag(is_v6(o.dst), F_DST6)
        | flag(k.zone != 0, F_ZONE);
    let mut w = Writer {
        buf: out,
        n: 0,
        ok: true,
    };
    w.head(f, o);
    if f & F_ZONE != 0 {
        w.varint(u32::from(k.zone));
    }
    w.done()
}

/// The key packed in `bytes` by [`pack_key`].
#[cfg(test)]
pub(crate) fn unpack_key(bytes: &[u8]) -> Option<Key> {
    let mut k = Key {
        orig: NO_TUPLE,
        zone: 0,
    };
    unpack_key_into(bytes, &mut k)?;
    Some(k)
}

/// [`unpack_key`] into `k` (in place).
pub(crate) fn unpack_key_into(bytes: &[u8], k: &mut Key) -> Option<()> {
    let mut r = Reader {
        buf: bytes,
        bad: false,
    };
    let f = r.head(&mut k.orig);
    k.zone = r.zone(f);
    (!r.bad).then_some(())
}
