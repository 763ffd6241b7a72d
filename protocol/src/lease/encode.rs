//! Compact binary form of a [`Lease`] for the sync channel.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{
    Bytes, CapacityError, ClientId, Expiry, Hostname, HwAddr, Lease, Lease4, Lease6, ARPHRD_ETHER,
    CLIENT_ID_MAX, HOSTNAME_MAX, HWADDR_MAX,
};

const TAG_V6: u8 = 1 << 0;
const TAG_TEMPORARY: u8 = 1 << 1;
const TAG_HOSTNAME: u8 = 1 << 2;
const TAG_CLIENT_ID: u8 = 1 << 3;
const TAG_HTYPE: u8 = 1 << 4;
const TAG_RESERVED: u8 = !(TAG_V6 | TAG_TEMPORARY | TAG_HOSTNAME | TAG_CLIENT_ID | TAG_HTYPE);

/// Why a buffer is not an encoded [`Lease`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The buffer ends inside the lease.
    Truncated,
    /// Reserved tag bits are set (a newer encoding), or `T` on IPv4.
    BadTag(u8),
    /// A varint is longer than its type allows.
    BadVarint,
    /// The hardware address is longer than [`HWADDR_MAX`].
    HwAddrTooLong,
    /// The hostname is empty, too long or not printable ASCII.
    BadHostname,
    /// The client id is empty while flagged present.
    BadClientId,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("encoded lease truncated"),
            DecodeError::BadTag(t) => write!(f, "encoded lease has an unknown tag {t:#04x}"),
            DecodeError::BadVarint => f.write_str("encoded lease has an overlong varint"),
            DecodeError::HwAddrTooLong => {
                f.write_str("encoded lease has a hardware address over 16 octets")
            }
            DecodeError::BadHostname => f.write_str("encoded lease has an invalid hostname"),
            DecodeError::BadClientId => f.write_str("encoded lease has an empty client id"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// A writer of postcard-style fields into a buffer. A write past the end
/// writes nothing but still advances `pos`: [`Out::fits`] tells afterwards.
pub(crate) struct Out<'b> {
    pub(crate) buf: &'b mut [u8],
    pub(crate) pos: usize,
}

impl Out<'_> {
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    pub(crate) fn byte(&mut self, b: u8) {
        self.put(&[b]);
    }

    /// LEB128, as postcard writes every integer wider than a `u8` (32-bit
    /// arithmetic: see [`Out::varint64`] for wider ones).
    #[inline(never)]
    pub(crate) fn varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    /// [`Out::varint`] of a `u64`: the same octets.
    pub(crate) fn varint64(&mut self, mut v: u64) {
        while v > u64::from(u32::MAX) {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.varint(v as u32);
    }

    /// A length octet, then the octets.
    pub(crate) fn short(&mut self, bytes: &[u8]) {
        self.byte(bytes.len() as u8);
        self.put(bytes);
    }

    /// The address's octets (4 or 16).
    pub(crate) fn addr(&mut self, a: &IpAddr) {
        match a {
            IpAddr::V4(a) => self.put(&a.octets()),
            IpAddr::V6(a) => self.put(&a.octets()),
        }
    }

    /// Whether everything written so far fit in the buffer.
    pub(crate) fn fits(&self) -> bool {
        self.pos <= self.buf.len()
    }
}

/// A reader of postcard-style fields; never panics.
pub(crate) struct In<'b> {
    pub(crate) buf: &'b [u8],
    pub(crate) pos: usize,
}

impl<'b> In<'b> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'b [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// A varint of an integer of `bits` bits, with postcard's rules: at
    /// most `ceil(bits / 7)` octets, the last one within the type.
    #[inline(never)]
    pub(crate) fn varint(&mut self, bits: u32) -> Result<u64, DecodeError> {
        let octets = bits.div_ceil(7) as usize;
        let max_last = (1u8 << (bits % 7)) - 1;
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        // Its last octet: the first without the high bit.
        let mut n = 0;
        loop {
            if n == octets {
                return Err(DecodeError::BadVarint);
            }
            let Some(&b) = rest.get(n) else {
                return Err(DecodeError::Truncated);
            };
            if b & 0x80 == 0 {
                if n == octets - 1 && b > max_last {
                    return Err(DecodeError::BadVarint);
                }
                break;
            }
            n += 1;
        }
        self.pos += n + 1;
        // Most significant group first: shifts by a constant.
        let mut v: u64 = 0;
        for &b in rest.get(..=n).unwrap_or_default().iter().rev() {
            v = v << 7 | u64::from(b & 0x7f);
        }
        Ok(v)
    }

    /// A postcard `u32`.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(self.varint(32)? as u32)
    }

    /// A postcard `u16`.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(self.varint(16)? as u16)
    }

    /// 4 (IPv4) or 16 (IPv6) octets.
    pub(crate) fn addr(&mut self, v6: bool) -> Result<IpAddr, DecodeError> {
        let a = self.take(if v6 { 16 } else { 4 })?;
        crate::ip_from_octets(a).ok_or(DecodeError::Truncated)
    }

    /// 4 (IPv4) or 16 (IPv6) octets, into `dst` (in place).
    pub(crate) fn addr_into(&mut self, v6: bool, dst: &mut IpAddr) -> Result<(), DecodeError> {
        let a = self.take(if v6 { 16 } else { 4 })?;
        if crate::conntrack::set_ip(dst, a) {
            Ok(())
        } else {
            Err(DecodeError::Truncated)
        }
    }

    pub(crate) fn short_bytes(&mut self) -> Result<&'b [u8], DecodeError> {
        let n = usize::from(self.byte()?);
        self.take(n)
    }
}

impl Lease {
    /// The most octets [`Lease::encode`] ever writes (355).
    pub const ENCODED_MAX: usize = 1 // tag
        + 10 // expiry varint
        + 4 + 3 + 1 + HWADDR_MAX // IPv4 address, htype varint, hwaddr (longer than IPv6's part)
        + 1 + HOSTNAME_MAX
        + 1 + CLIENT_ID_MAX;

    fn tag(&self) -> u8 {
        let mut tag = 0;
        if !self.hostname().is_none() {
            tag |= TAG_HOSTNAME;
        }
        if !self.client_id().is_empty() {
            tag |= TAG_CLIENT_ID;
        }
        match self {
            Lease::V4(l) => {
                if l.hwaddr.htype() != ARPHRD_ETHER {
                    tag |= TAG_HTYPE;
                }
            }
            Lease::V6(l) => {
                tag |= TAG_V6;
                if l.temporary {
                    tag |= TAG_TEMPORARY;
                }
            }
        }
        tag
    }

    /// Octets [`Lease::encode`] writes for this lease.
    pub fn encoded_len(&self) -> usize {
        // `Out` counts what does not fit.
        let mut o = Out {
            buf: &mut [],
            pos: 0,
        };
        self.write(&mut o);
        o.pos
    }

    /// Writes the compact form into `buf`; returns the octets written
    /// ([`encoded_len`](Self::encoded_len)), or an error if `buf` is shorter.
    ///
    /// Layout (varints are LEB128 as in postcard: 7 bits per octet, least
    /// significant first, high bit = more):
    ///
    /// | field | octets |
    /// |-------|--------|
    /// | tag: bit 0 IPv6, bit 1 temporary (IA_TA), bit 2 hostname present, bit 3 client id present, bit 4 explicit hardware type (IPv4, not Ethernet); bits 5–7 zero | 1 |
    /// | expiry, raw (`0` = never) | varint |
    /// | address | 4 (IPv4) or 16 (IPv6) |
    /// | IPv4: hardware type, if bit 4 | varint |
    /// | IPv4: hardware address length, then octets | 1 + n |
    /// | IPv6: IAID | varint |
    /// | hostname length, then characters, if bit 2 | 1 + n |
    /// | client id / DUID length, then octets, if bit 3 | 1 + n |
    ///
    /// A typical IPv4 lease (MAC, 8-character hostname, 7-octet client id)
    /// takes 35 octets.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, CapacityError> {
        let len = self.encoded_len();
        if buf.len() < len {
            return Err(CapacityError {
                len,
                capacity: buf.len(),
            });
        }
        let mut o = Out { buf, pos: 0 };
        self.write(&mut o);
        Ok(o.pos)
    }

    /// Writes the compact form at `o` (see [`Lease::encode`]).
    pub(crate) fn write(&self, o: &mut Out<'_>) {
        let tag = self.tag();
        o.byte(tag);
        o.varint64(self.expires().raw());
        match self {
            Lease::V4(l) => {
                o.put(&l.addr.octets());
                if tag & TAG_HTYPE != 0 {
                    o.varint(u32::from(l.hwaddr.htype()));
                }
                o.short(l.hwaddr.as_slice());
            }
            Lease::V6(l) => {
                o.put(&l.addr.octets());
                o.varint(l.iaid);
            }
        }
        if tag & TAG_HOSTNAME != 0 {
            o.short(self.hostname().as_bytes());
        }
        if tag & TAG_CLIENT_ID != 0 {
            o.short(self.client_id().as_slice());
        }
    }

    /// Reads a lease written by [`Lease::encode`] from the start of `buf`;
    /// returns it and the octets used. Never panics.
    pub fn decode(buf: &[u8]) -> Result<(Lease, usize), DecodeError> {
        let mut lease = Lease::EMPTY;
        let n = lease.decode_into(buf)?;
        Ok((lease, n))
    }

    /// [`Lease::decode`] in place: reads the lease at the start of `buf`
    /// into `self` (whatever it held) and returns the octets used, without
    /// moving a whole lease around. On an error `self` holds some valid
    /// lease (not the one encoded). Never panics.
    pub fn decode_into(&mut self, buf: &[u8]) -> Result<usize, DecodeError> {
        let mut i = In { buf, pos: 0 };
        *self = Lease::EMPTY;
        self.read(&mut i)?;
        Ok(i.pos)
    }

    /// An empty IPv4 lease (all fields zero or none): a placeholder to
    /// fill in place (e.g. with [`Lease::fill`]).
    pub const EMPTY: Lease = Lease::V4(Lease4 {
        expires: Expiry::from_raw(0),
        hwaddr: HwAddr {
            htype: 0,
            addr: Bytes::new(),
        },
        addr: Ipv4Addr::UNSPECIFIED,
        hostname: Hostname::NONE,
        client_id: ClientId::new(),
    });

    /// Reads a lease at `i` into `self`, which must be [`Lease::EMPTY`]
    /// (see [`Lease::decode`]); filled in place so that the large fields
    /// are not moved around.
    pub(crate) fn read(&mut self, i: &mut In<'_>) -> Result<(), DecodeError> {
        let tag = i.byte()?;
        let v6 = tag & TAG_V6 != 0;
        if tag & TAG_RESERVED != 0
            || (!v6 && tag & TAG_TEMPORARY != 0)
            || (v6 && tag & TAG_HTYPE != 0)
        {
            return Err(DecodeError::BadTag(tag));
        }
        let expires = Expiry::from_raw(i.varint(64)?);
        // `self` is `Lease::EMPTY`: an IPv4 lease only needs its small
        // fields set; an IPv6 one replaces it.
        match (i.addr(v6)?, &mut *self) {
            (IpAddr::V4(addr), Lease::V4(l)) => {
                let htype = if tag & TAG_HTYPE != 0 {
                    i.u16()?
                } else {
                    ARPHRD_ETHER
                };
                let hw = i.short_bytes()?;
                l.hwaddr.htype = htype;
                l.hwaddr
                    .addr
                    .extend(hw)
                    .map_err(|_| DecodeError::HwAddrTooLong)?;
                l.expires = expires;
                l.addr = addr;
            }
            (IpAddr::V6(addr), _) => {
                // Read first: the lease is then built in place.
                let iaid = i.u32()?;
                *self = Lease::V6(Lease6 {
                    expires,
                    iaid,
                    temporary: tag & TAG_TEMPORARY != 0,
                    addr,
                    hostname: Hostname::NONE,
                    duid: ClientId::new(),
                })
            }
            _ => return Err(DecodeError::Truncated),
        }
        let (hostname, client_id) = match self {
            Lease::V4(l) => (&mut l.hostname, &mut l.client_id),
            Lease::V6(l) => (&mut l.hostname, &mut l.duid),
        };
        if tag & TAG_HOSTNAME != 0 {
            let h = i.short_bytes()?;
            if h.is_empty() {
                return Err(DecodeError::BadHostname);
            }
            Hostname::check(h).map_err(|_| DecodeError::BadHostname)?;
            hostname.0.extend(h).map_err(|_| DecodeError::BadHostname)?;
        }
        if tag & TAG_CLIENT_ID != 0 {
            let c = i.short_bytes()?;
            if c.is_empty() {
                return Err(DecodeError::BadClientId);
            }
            // At most 255 octets by construction: always fits.
            client_id.extend(c).map_err(|_| DecodeError::BadClientId)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- serde

/// Serializes as a tuple of the fields of [`Lease::encode`]'s layout, one
/// element per octet or varint, so that **postcard** (which writes a `u8`
/// as one raw octet and wider integers as varints) produces exactly the
/// octets [`Lease::encode`] writes. Other serde formats see a flat sequence
/// of integers.
impl serde::Serialize for Lease {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        fn octets<T: SerializeTuple>(t: &mut T, bytes: &[u8]) -> Result<(), T::Error> {
            for b in bytes {
                t.serialize_element(b)?;
            }
            Ok(())
        }
        let tag = self.tag();
        let mut t = s.serialize_tuple(self.encoded_len())?;
        t.serialize_element(&tag)?;
        t.serialize_element(&self.expires().raw())?;
        match self {
            Lease::V4(l) => {
                octets(&mut t, &l.addr.octets())?;
                if tag & TAG_HTYPE != 0 {
                    t.serialize_element(&l.hwaddr.htype())?;
                }
                let hw = l.hwaddr.as_slice();
                t.serialize_element(&(hw.len() as u8))?;
                octets(&mut t, hw)?;
            }
            Lease::V6(l) => {
                octets(&mut t, &l.addr.octets())?;
                t.serialize_element(&l.iaid)?;
            }
        }
        if tag & TAG_HOSTNAME != 0 {
            let h = self.hostname().as_str().as_bytes();
            t.serialize_element(&(h.len() as u8))?;
            octets(&mut t, h)?;
        }
        if tag & TAG_CLIENT_ID != 0 {
            let c = self.client_id().as_slice();
            t.serialize_element(&(c.len() as u8))?;
            octets(&mut t, c)?;
        }
        t.end()
    }
}

/// The inverse of the `Serialize` impl (postcard: reads what
/// [`Lease::encode`] writes), with the checks of [`Lease::decode`].
impl<'de> serde::Deserialize<'de> for Lease {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lease, D::Error> {
        use serde::de::{Error, SeqAccess, Visitor};

        fn need<'de, A: SeqAccess<'de>, T: serde::Deserialize<'de>>(
            seq: &mut A,
        ) -> Result<T, A::Error> {
            seq.next_element()?
                .ok_or_else(|| A::Error::custom("truncated lease"))
        }
        fn octets<'de, A: SeqAccess<'de>, const N: usize>(
            seq: &mut A,
            n: usize,
        ) -> Result<Bytes<N>, A::Error> {
            let mut b = Bytes::<N>::new();
            for _ in 0..n {
                b.push(need(seq)?)
                    .map_err(|_| A::Error::custom("lease field too long"))?;
            }
            Ok(b)
        }
        fn short<'de, A: SeqAccess<'de>, const N: usize>(
            seq: &mut A,
        ) -> Result<Bytes<N>, A::Error> {
            let n: u8 = need(seq)?;
            octets(seq, usize::from(n))
        }

        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lease;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DHCP lease")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lease, A::Error> {
                let tag: u8 = need(&mut seq)?;
                let v6 = tag & TAG_V6 != 0;
                if tag & TAG_RESERVED != 0
                    || (!v6 && tag & TAG_TEMPORARY != 0)
                    || (v6 && tag & TAG_HTYPE != 0)
                {
                    return Err(A::Error::custom("unknown lease tag"));
                }
                let expires = Expiry::from_raw(need(&mut seq)?);
                let mut lease = if v6 {
                    let a = octets::<A, 16>(&mut seq, 16)?;
                    let mut o = [0u8; 16];
                    o.copy_from_slice(a.as_slice());
                    Lease::V6(Lease6 {
                        expires,
                        iaid: need(&mut seq)?,
                        temporary: tag & TAG_TEMPORARY != 0,
                        addr: Ipv6Addr::from(o),
                        hostname: Hostname::NONE,
                        duid: ClientId::new(),
                    })
                } else {
                    let a = octets::<A, 4>(&mut seq, 4)?;
                    let mut o = [0u8; 4];
                    o.copy_from_slice(a.as_slice());
                    let htype = if tag & TAG_HTYPE != 0 {
                        need(&mut seq)?
                    } else {
                        ARPHRD_ETHER
                    };
                    let hw = short::<A, HWADDR_MAX>(&mut seq)?;
                    Lease::V4(Lease4 {
                        expires,
                        hwaddr: HwAddr { htype, addr: hw },
                        addr: Ipv4Addr::from(o),
                        hostname: Hostname::NONE,
                        client_id: ClientId::new(),
                    })
                };
                if tag & TAG_HOSTNAME != 0 {
                    let h = short::<A, HOSTNAME_MAX>(&mut seq)?;
                    if h.is_empty() {
                        return Err(A::Error::custom("empty hostname"));
                    }
                    let h = Hostname::from_bytes(h.as_slice())
                        .map_err(|_| A::Error::custom("invalid hostname"))?;
                    match &mut lease {
                        Lease::V4(l) => l.hostname = h,
                        Lease::V6(l) => l.hostname = h,
                    }
                }
                if tag & TAG_CLIENT_ID != 0 {
                    let c = short::<A, CLIENT_ID_MAX>(&mut seq)?;
                    if c.is_empty() {
                        return Err(A::Error::custom("empty client id"));
                    }
                    match &mut lease {
                        Lease::V4(l) => l.client_id = c,
                        Lease::V6(l) => l.duid = c,
                    }
                }
                Ok(lease)
            }
        }
        d.deserialize_tuple(Lease::ENCODED_MAX, V)
    }
}
