//! The parser: a file is split into lines, each line into fields.

use core::fmt;
use core::net::Ipv6Addr;

use super::{
    Bytes, ClientId, Duid, ErrorKind, Expiry, Hostname, HwAddr, Lease, Lease6, Line, ARPHRD_ETHER,
};

/// A line that could not be read, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LineError {
    /// Line number, from 1.
    pub line: usize,
    /// Column (octet offset in the line, from 1) where the bad field
    /// starts, or just past the line's content for a missing field.
    pub column: usize,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.kind
        )
    }
}

impl core::error::Error for LineError {}

/// The lines of a lease file, each parsed: see [`lines`].
///
/// Also a [`DoubleEndedIterator`]: reading a dnsmasq file from the bottom
/// gives its leases oldest first (dnsmasq writes the most recently created
/// lease first). Line numbers are right from either end.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
    /// Number of the next line from the front.
    front: usize,
    /// Number of the next line from the back, once known.
    back: Option<usize>,
}

/// Splits `input` (a whole lease file) into lines (`\n`-terminated; a last
/// line without `\n` is still a line) and parses each one.
///
/// Every line gives one item: `Ok(`[`Line`]`)`, or `Err(`[`LineError`]`)`
/// naming the line, the column and what was wrong; iteration continues after
/// an error. O(length of the input) in total; nothing is allocated.
pub fn lines(input: &[u8]) -> Lines<'_> {
    Lines {
        rest: input,
        front: 1,
        back: None,
    }
}

impl<'a> Lines<'a> {
    /// The next line from the front, and its number.
    fn split_front(&mut self) -> Option<(usize, &'a [u8])> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match self.rest.iter().position(|&c| c == b'\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        let number = self.front;
        self.front += 1;
        Some((number, line))
    }

    /// The next line from the back, and its number.
    fn split_back(&mut self) -> Option<(usize, &'a [u8])> {
        if self.rest.is_empty() {
            return None;
        }
        let number = match self.back {
            Some(n) => n,
            None => self.front + count_lines(self.rest) - 1,
        };
        let body = match self.rest.split_last() {
            Some((b'\n', body)) => body,
            _ => self.rest,
        };
        let (rest, line) = match body.iter().rposition(|&c| c == b'\n') {
            Some(i) => (&self.rest[..i + 1], &body[i + 1..]),
            None => (&self.rest[..0], body),
        };
        self.rest = rest;
        self.back = Some(number.saturating_sub(1));
        Some((number, line))
    }

    /// [`Iterator::next`] (`back`: [`DoubleEndedIterator::next_back`]),
    /// parsed into `out` in place (a lease is not moved around); false at
    /// the end (`out` is then unchanged).
    pub fn next_into(&mut self, back: bool, out: &mut Result<Line<'a>, LineError>) -> bool {
        let next = if back {
            self.split_back()
        } else {
            self.split_front()
        };
        let Some((number, line)) = next else {
            return false;
        };
        with_line(number, line, out);
        true
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<Line<'a>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut r = Ok(Line::Other(""));
        self.next_into(false, &mut r).then_some(r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = count_lines(self.rest);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Lines<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let mut r = Ok(Line::Other(""));
        self.next_into(true, &mut r).then_some(r)
    }
}

impl ExactSizeIterator for Lines<'_> {}

fn count_lines(s: &[u8]) -> usize {
    let newlines = s.iter().filter(|&&c| c == b'\n').count();
    match s.last() {
        None => 0,
        Some(b'\n') => newlines,
        Some(_) => newlines + 1,
    }
}

/// Parses line `number` into `out`.
#[inline(never)]
fn with_line<'a>(number: usize, line: &'a [u8], out: &mut Result<Line<'a>, LineError>) {
    if out.is_err() {
        *out = Ok(Line::Other(""));
    }
    let Ok(l) = out else { return };
    if let Err((offset, kind)) = Line::parse_into(line, l) {
        *out = Err(LineError {
            line: number,
            column: offset + 1,
            kind,
        });
    }
}

impl<'a> Line<'a> {
    /// Parses one line (without its `\n`).
    ///
    /// On error, returns the octet offset in `line` where the bad field
    /// starts and what was wrong. Never panics.
    pub fn parse(line: &'a [u8]) -> Result<Line<'a>, (usize, ErrorKind)> {
        let mut l = Line::Other("");
        Line::parse_into(line, &mut l).map(|()| l)
    }

    /// [`Line::parse`] into `out` in place (a lease is not moved around).
    /// On error `out` holds something unspecified.
    pub fn parse_into(line: &'a [u8], out: &mut Line<'a>) -> Result<(), (usize, ErrorKind)> {
        let (body, _) = blanks(line);
        let result = match body.first() {
            Some(c) if c.is_ascii_digit() => {
                *out = Line::Lease(Lease::EMPTY);
                match out {
                    Line::Lease(lease) => lease_line(body, lease),
                    _ => Ok(()),
                }
            }
            _ if is_duid_line(body) => {
                *out = Line::Duid(Duid::new());
                match out {
                    Line::Duid(d) => duid_line(body, d),
                    _ => Ok(()),
                }
            }
            _ => match core::str::from_utf8(line) {
                Ok(s) => {
                    *out = Line::Other(s);
                    Ok(())
                }
                Err(e) => {
                    return Err((e.valid_up_to(), ErrorKind::NotText));
                }
            },
        };
        result.map_err(|f| (offset_in(line, f.at), f.kind))
    }
}

// ---------------------------------------------------------------- plumbing

/// Offset of `part` (a sub-slice of `line`) in `line`, clamped to its length.
fn offset_in(line: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(line.as_ptr() as usize)
        .min(line.len())
}

/// A parse failure: the input where it happened, and what was wrong.
#[derive(Debug)]
struct Fail<'a> {
    at: &'a [u8],
    kind: ErrorKind,
}

fn fail(at: &[u8], kind: ErrorKind) -> Fail<'_> {
    Fail { at, kind }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// Skips blanks; returns (rest, skipped).
fn blanks(i: &[u8]) -> (&[u8], &[u8]) {
    let n = i.iter().take_while(|&&c| is_blank(c)).count();
    (&i[n..], &i[..n])
}

/// The next whitespace-separated field (after optional blanks) and the
/// rest, or `MissingField` at the end of the line.
fn field(i: &[u8]) -> Result<(&[u8], &[u8]), Fail<'_>> {
    let (i, _) = blanks(i);
    let n = i.iter().take_while(|&&c| !is_blank(c)).count();
    if n == 0 {
        return Err(fail(i, ErrorKind::MissingField));
    }
    Ok((&i[n..], &i[..n]))
}

/// The value of `s` in base 16 (`s`: hex digits only).
fn hex_value(s: &[u8]) -> u16 {
    s.iter().fold(0u16, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        };
        (acc << 4) | u16::from(d)
    })
}

/// `s` has `min..=max` octets, all hex digits.
fn is_hex_run(s: &[u8], min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.iter().all(u8::is_ascii_hexdigit)
}

/// A decimal number of `max`'s range: digits only, at least one.
fn decimal(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?
            .checked_add(u64::from(c - b'0'))
            .filter(|&v| v <= max)
    })
}

/// `HH:HH:…` (each octet one or two hex digits, at least one octet), the
/// whole of `tok`, into `out` (at most `out.len()` octets). `Err(false)`:
/// not such a list; `Err(true)`: a list of more octets than fit.
fn hex_list(tok: &[u8], out: &mut [u8]) -> Result<usize, bool> {
    // One pass over the bytes: the octet being read (`v`, `digits` of
    // it so far) ends at each `:` and at the end.
    let mut n = 0;
    let mut over = false;
    let mut v = 0u8;
    let mut digits = 0;
    let mut i = 0;
    loop {
        let c = tok.get(i).copied();
        if matches!(c, None | Some(b':')) {
            if digits == 0 {
                return Err(false);
            }
            match out.get_mut(n) {
                Some(o) => *o = v,
                None => over = true,
            }
            n += 1;
            if c.is_none() {
                break;
            }
            (v, digits) = (0, 0);
        } else {
            let d = match c.unwrap_or(0) {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                c @ b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(false),
            };
            if digits == 2 {
                return Err(false);
            }
            v = v << 4 | d;
            digits += 1;
        }
        i += 1;
    }
    if over {
        Err(true)
    } else {
        Ok(n)
    }
}

/// Parses a hex list field into `out` (in place), with `bad` / `too_long`
/// errors.
fn hex_field<'a, const N: usize>(
    tok: &'a [u8],
    bad: ErrorKind,
    too_long: ErrorKind,
    out: &mut Bytes<N>,
) -> Result<(), Fail<'a>> {
    match hex_list(tok, &mut out.buf) {
        Ok(n) => {
            out.len = n as u8;
            Ok(())
        }
        Err(over) => Err(fail(tok, if over { too_long } else { bad })),
    }
}

// ---------------------------------------------------------------- fields

/// `[TYPE-]HH:HH:…` where TYPE is 1–4 hex digits; with a type prefix the
/// octets may be absent (`20-`). Into `out` (empty).
fn hwaddr<'a>(tok: &'a [u8], out: &mut HwAddr) -> Result<(), Fail<'a>> {
    let (ty, list) = match tok.iter().position(|&c| c == b'-') {
        Some(i) if is_hex_run(&tok[..i], 1, 4) => (Some(hex_value(&tok[..i])), &tok[i + 1..]),
        Some(_) => return Err(fail(tok, ErrorKind::BadHwAddr)),
        None => (None, tok),
    };
    let n = if ty.is_some() && list.is_empty() {
        0
    } else {
        hex_list(list, &mut out.addr.buf).map_err(|over| {
            fail(
                tok,
                if over {
                    ErrorKind::HwAddrTooLong
                } else {
                    ErrorKind::BadHwAddr
                },
            )
        })?
    };
    out.addr.len = n as u8;
    // dnsmasq: "no explicit MAC address type means ether", and so does an
    // explicit type 0 with octets.
    out.htype = match ty {
        Some(0) | None if n != 0 => ARPHRD_ETHER,
        Some(t) => t,
        None => 0,
    };
    Ok(())
}

/// A hostname field into `out` (empty).
fn hostname<'a>(tok: &'a [u8], out: &mut Hostname) -> Result<(), Fail<'a>> {
    if tok == b"*" {
        return Ok(());
    }
    Hostname::check(tok).map_err(|kind| fail(tok, kind))?;
    out.0
        .extend(tok)
        .map_err(|_| fail(tok, ErrorKind::HostnameTooLong))
}

fn client_id<'a>(tok: &'a [u8], out: &mut ClientId) -> Result<(), Fail<'a>> {
    if tok == b"*" {
        return Ok(());
    }
    hex_field(tok, ErrorKind::BadClientId, ErrorKind::ClientIdTooLong, out)
}

fn text(tok: &[u8]) -> &str {
    core::str::from_utf8(tok).unwrap_or("")
}

/// Nothing but blanks is left of the line.
fn end(i: &[u8]) -> Result<(), Fail<'_>> {
    let (rest, _) = blanks(i);
    if !rest.is_empty() {
        return Err(fail(rest, ErrorKind::TrailingField));
    }
    Ok(())
}

/// `EXPIRY HWADDR|IAID ADDRESS HOSTNAME CLIENT-ID`, into `out`, which must
/// be [`Lease::EMPTY`] (filled in place: the large fields are not moved
/// around).
fn lease_line<'a>(i: &'a [u8], out: &mut Lease) -> Result<(), Fail<'a>> {
    let (i, tok) = field(i)?;
    let expires = decimal(tok, u64::MAX).ok_or(fail(tok, ErrorKind::BadExpiry))?;
    let expires = Expiry::from_raw(expires);
    let (i, id_tok) = field(i)?;
    let (i, addr_tok) = field(i)?;
    let (i, name_tok) = field(i)?;
    let (i, clid_tok) = field(i)?;
    end(i)?;
    let bad_addr = fail(addr_tok, ErrorKind::BadAddress);
    // `out` is `Lease::EMPTY`: an IPv4 lease only needs its small fields
    // set; an IPv6 one replaces it.
    if addr_tok.contains(&b':') {
        let addr: Ipv6Addr = text(addr_tok).parse().map_err(|_| bad_addr)?;
        let (temporary, digits) = match id_tok.strip_prefix(b"T") {
            Some(d) => (true, d),
            None => (false, id_tok),
        };
        let iaid = decimal(digits, u64::from(u32::MAX)).ok_or(fail(id_tok, ErrorKind::BadIaid))?;
        *out = Lease::V6(Lease6 {
            expires,
            iaid: iaid as u32,
            temporary,
            addr,
            hostname: Hostname::NONE,
            duid: ClientId::new(),
        });
    } else if let Lease::V4(l) = out {
        l.addr = text(addr_tok).parse().map_err(|_| bad_addr)?;
        hwaddr(id_tok, &mut l.hwaddr)?;
        l.expires = expires;
    }
    let (hostname_out, client_out) = match out {
        Lease::V4(l) => (&mut l.hostname, &mut l.client_id),
        Lease::V6(l) => (&mut l.hostname, &mut l.duid),
    };
    hostname(name_tok, hostname_out)?;
    client_id(clid_tok, client_out)
}

fn is_duid_line(i: &[u8]) -> bool {
    match i.strip_prefix(b"duid") {
        Some(rest) => rest.first().is_none_or(|&c| is_blank(c)),
        None => false,
    }
}

/// `duid HH:HH:…`, into `duid` (empty).
fn duid_line<'a>(i: &'a [u8], duid: &mut Duid) -> Result<(), Fail<'a>> {
    let (i, _) = field(i)?; // "duid"
    let (i, tok) = field(i).map_err(|f| fail(f.at, ErrorKind::BadDuid))?;
    hex_field(tok, ErrorKind::BadDuid, ErrorKind::DuidTooLong, duid)?;
    end(i)
}
