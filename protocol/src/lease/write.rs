//! The writer: what dnsmasq's `lease_update_file()` prints, byte for byte.

use core::fmt::{self, Write};
use core::net::{Ipv4Addr, Ipv6Addr};

use super::{Duid, Lease, Line};

/// Octets as lowercase two-digit hex joined by `:` (`%.2x:` … `%.2x`).
pub(crate) fn hex_colon(f: &mut (impl Write + ?Sized), bytes: &[u8]) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, &b) in bytes.iter().enumerate() {
        if i != 0 {
            f.write_char(':')?;
        }
        f.write_char(char::from(HEX[usize::from(b >> 4)]))?;
        f.write_char(char::from(HEX[usize::from(b & 15)]))?;
    }
    Ok(())
}

/// An IPv6 address formatted exactly as glibc's `inet_ntop(AF_INET6)`
/// (which dnsmasq uses): lowercase, the first longest run of two or more
/// zero groups compressed to `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` for
/// IPv4-compatible and IPv4-mapped addresses. (Rust's own `Display` differs
/// for the IPv4-compatible range.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Text(pub Ipv6Addr);

impl fmt::Display for Ipv6Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `core` writes what glibc writes (RFC 5952: the first longest run
        // of at least two zero words is `::`; `::ffff:a.b.c.d`), except
        // for the IPv4-compatible range `::a.b.c.d` (the first six words
        // zero, the seventh not).
        let o = self.0.octets();
        if o[..12] == [0; 12] && (o[12] | o[13]) != 0 {
            return write!(f, "::{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
        }
        fmt::Display::fmt(&self.0, f)
    }
}

/// The lease's line as dnsmasq writes it, without the `\n`.
impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v6;
        let (t, id, addr): (&str, &dyn fmt::Display, &dyn fmt::Display) = match self {
            Lease::V4(l) => ("", &l.hwaddr, &l.addr),
            Lease::V6(l) => {
                v6 = Ipv6Text(l.addr);
                (if l.temporary { "T" } else { "" }, &l.iaid, &v6)
            }
        };
        write!(
            f,
            "{} {t}{id} {addr} {} {}",
            self.expires().raw(),
            self.hostname(),
            self.client_id()
        )
    }
}

/// The line as dnsmasq writes it (for [`Line::Other`]: verbatim), without
/// the `\n`.
impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Lease(l) => fmt::Display::fmt(l, f),
            Line::Duid(d) => {
                f.write_str("duid ")?;
                hex_colon(f, d.as_slice())
            }
            Line::Other(s) => f.write_str(s),
        }
    }
}

/// Writes a lease file in dnsmasq's order: every IPv4 lease (in the order
/// given), then the `duid` line if there is a server DUID, then every IPv6
/// lease (in the order given). Each line ends with `\n`. Extras
/// (`agent-info`, `vendorclass`) and other verbatim lines are the caller's
/// to append afterwards, which is where dnsmasq puts them.
///
/// `leases` is iterated twice (IPv4, then IPv6), hence `Clone`.
///
/// One deviation: dnsmasq writes IPv6 leases only when it has a DUID; this
/// writes them in any case, so that no lease is lost (dnsmasq reads them
/// either way and makes itself a new DUID).
pub fn write_file<'l, W, I>(w: &mut W, duid: Option<&Duid>, leases: I) -> fmt::Result
where
    W: Write + ?Sized,
    I: IntoIterator<Item = &'l Lease>,
    I::IntoIter: Clone,
{
    let leases = leases.into_iter();
    write_lines(&mut Fwd(w), duid, &mut leases.clone(), &mut { leases })
}

/// Forwards to a writer of any type, so that [`write_lines`] exists once.
struct Fwd<'w, W: Write + ?Sized>(&'w mut W);

impl<W: Write + ?Sized> Write for Fwd<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

/// The body of [`write_file`]: IPv4 leases from `first`, the DUID, IPv6
/// leases from `second` (the same leases).
fn write_lines<'l>(
    w: &mut dyn Write,
    duid: Option<&Duid>,
    first: &mut dyn Iterator<Item = &'l Lease>,
    second: &mut dyn Iterator<Item = &'l Lease>,
) -> fmt::Result {
    for l in first.filter(|l| !l.is_v6()) {
        writeln!(w, "{l}")?;
    }
    if let Some(d) = duid {
        writeln!(w, "{}", Line::Duid(*d))?;
    }
    for l in second.filter(|l| l.is_v6()) {
        writeln!(w, "{l}")?;
    }
    Ok(())
}

/// A [`core::fmt::Write`] sink over a byte slice, for `no_std` callers.
///
/// Writing past the end fails with `fmt::Error` and sets
/// [`overflowed`](Self::overflowed); what did fit stays written.
#[derive(Debug)]
pub struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflowed: bool,
}

impl<'b> SliceWriter<'b> {
    /// A writer that fills `buf` from the start.
    pub fn new(buf: &'b mut [u8]) -> Self {
        SliceWriter {
            buf,
            len: 0,
            overflowed: false,
        }
    }

    /// The octets written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Number of octets written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if a write did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.saturating_add(s.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
                Ok(())
            }
            None => {
                self.overflowed = true;
                Err(fmt::Error)
            }
        }
    }
}
