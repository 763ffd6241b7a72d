//! The nom parser: a file is split into lines, each line into fields.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::{tag, take_till1, take_while, take_while_m_n};
use nom::character::complete::{char, u32 as dec_u32, u64 as dec_u64};
use nom::combinator::{all_consuming, opt};
use nom::multi::fold_many0;
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

use super::{
    Bytes, ClientId, Duid, ErrorKind, Expiry, Hostname, HwAddr, Lease, Lease4, Lease6, Line,
    ARPHRD_ETHER, DUID_MAX, HWADDR_MAX,
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

impl<'a> Iterator for Lines<'a> {
    type Item = Result<Line<'a>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
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
        Some(with_line(number, line))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = count_lines(self.rest);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Lines<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
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
        Some(with_line(number, line))
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

fn with_line(number: usize, line: &[u8]) -> Result<Line<'_>, LineError> {
    Line::parse(line).map_err(|(offset, kind)| LineError {
        line: number,
        column: offset + 1,
        kind,
    })
}

impl<'a> Line<'a> {
    /// Parses one line (without its `\n`).
    ///
    /// On error, returns the octet offset in `line` where the bad field
    /// starts and what was wrong. Never panics.
    pub fn parse(line: &'a [u8]) -> Result<Line<'a>, (usize, ErrorKind)> {
        let (body, _) = blanks(line);
        let result = match body.first() {
            Some(c) if c.is_ascii_digit() => lease_line(body).map(Line::Lease),
            _ if is_duid_line(body) => duid_line(body).map(Line::Duid),
            _ => match core::str::from_utf8(line) {
                Ok(s) => Ok(Line::Other(s)),
                Err(e) => {
                    return Err((e.valid_up_to(), ErrorKind::NotText));
                }
            },
        };
        result.map_err(|f| (offset_in(line, f.at), f.kind))
    }
}

// ---------------------------------------------------------------- nom plumbing

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

impl<'a> nom::error::ParseError<&'a [u8]> for Fail<'a> {
    fn from_error_kind(input: &'a [u8], _: nom::error::ErrorKind) -> Self {
        Fail {
            at: input,
            kind: ErrorKind::MissingField,
        }
    }

    fn append(_: &'a [u8], _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, O> = IResult<&'a [u8], O, Fail<'a>>;

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// Skips blanks; returns (rest, skipped).
fn blanks(i: &[u8]) -> (&[u8], &[u8]) {
    let n = i.iter().take_while(|&&c| is_blank(c)).count();
    (&i[n..], &i[..n])
}

/// The next whitespace-separated field (after optional blanks), or
/// `MissingField` at the end of the line.
fn field(i: &[u8]) -> Result<(&[u8], &[u8]), Fail<'_>> {
    let r: Res<'_, &[u8]> =
        preceded(take_while(is_blank), take_till1(|c: u8| is_blank(c))).parse(i);
    r.map_err(|_| Fail {
        at: blanks(i).0,
        kind: ErrorKind::MissingField,
    })
}

/// Runs `p` on the whole of `tok`; any failure is `kind` at `tok`.
fn whole<'a, O>(
    tok: &'a [u8],
    kind: ErrorKind,
    p: impl Parser<&'a [u8], Output = O, Error = Fail<'a>>,
) -> Result<O, Fail<'a>> {
    match all_consuming(p).parse(tok) {
        Ok((_, o)) => Ok(o),
        Err(_) => Err(Fail { at: tok, kind }),
    }
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

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

/// One octet: one or two hex digits.
fn hex_octet(i: &[u8]) -> Res<'_, u8> {
    take_while_m_n(1, 2, is_hex)
        .map(|d: &[u8]| hex_value(d) as u8)
        .parse(i)
}

/// `HH:HH:…` (at least one octet) into a `Bytes<N>`; the flag is true when
/// the octets did not fit.
fn hex_list<const N: usize>(i: &[u8]) -> Res<'_, (Bytes<N>, bool)> {
    let (i, first) = hex_octet(i)?;
    let mut start = Bytes::<N>::new();
    let overflow = start.push(first).is_err();
    fold_many0(
        preceded(char(':'), hex_octet),
        move || (start, overflow),
        |(mut b, mut over), x| {
            if b.push(x).is_err() {
                over = true;
            }
            (b, over)
        },
    )
    .parse(i)
}

/// Parses a hex list field into `Bytes<N>`, with `bad` / `too_long` errors.
fn hex_field<const N: usize>(
    tok: &[u8],
    bad: ErrorKind,
    too_long: ErrorKind,
) -> Result<Bytes<N>, Fail<'_>> {
    let (b, over) = whole(tok, bad, hex_list::<N>)?;
    if over {
        return Err(Fail {
            at: tok,
            kind: too_long,
        });
    }
    Ok(b)
}

// ---------------------------------------------------------------- fields

/// The type prefix, if any, and the octets (with their overflow flag).
type HwParts = (Option<u16>, Option<(Bytes<HWADDR_MAX>, bool)>);

/// `[TYPE-]HH:HH:…` where TYPE is 1–4 hex digits; with a type prefix the
/// octets may be absent (`20-`).
fn hwaddr(tok: &[u8]) -> Result<HwAddr, Fail<'_>> {
    let typed = |i| -> Res<'_, HwParts> {
        let (i, ty) = opt(terminated(take_while_m_n(1, 4, is_hex), char('-'))).parse(i)?;
        match ty {
            Some(ty) => {
                let (i, list) = opt(hex_list::<HWADDR_MAX>).parse(i)?;
                Ok((i, (Some(hex_value(ty)), list)))
            }
            None => {
                let (i, list) = hex_list::<HWADDR_MAX>(i)?;
                Ok((i, (None, Some(list))))
            }
        }
    };
    let (ty, list) = whole(tok, ErrorKind::BadHwAddr, typed)?;
    let (addr, over) = list.unwrap_or((Bytes::new(), false));
    if over {
        return Err(Fail {
            at: tok,
            kind: ErrorKind::HwAddrTooLong,
        });
    }
    // dnsmasq: "no explicit MAC address type means ether", and so does an
    // explicit type 0 with octets.
    let htype = match ty {
        Some(0) | None if !addr.is_empty() => ARPHRD_ETHER,
        Some(t) => t,
        None => 0,
    };
    Ok(HwAddr { htype, addr })
}

fn hostname(tok: &[u8]) -> Result<Hostname, Fail<'_>> {
    if tok == b"*" {
        return Ok(Hostname::NONE);
    }
    Hostname::from_bytes(tok).map_err(|kind| Fail { at: tok, kind })
}

fn client_id(tok: &[u8]) -> Result<ClientId, Fail<'_>> {
    if tok == b"*" {
        return Ok(ClientId::new());
    }
    hex_field(tok, ErrorKind::BadClientId, ErrorKind::ClientIdTooLong)
}

fn text(tok: &[u8]) -> &str {
    core::str::from_utf8(tok).unwrap_or("")
}

/// `EXPIRY HWADDR|IAID ADDRESS HOSTNAME CLIENT-ID`.
fn lease_line(i: &[u8]) -> Result<Lease, Fail<'_>> {
    let (i, tok) = field(i)?;
    let expires = Expiry::from_raw(whole(tok, ErrorKind::BadExpiry, dec_u64)?);
    let (i, id_tok) = field(i)?;
    let (i, addr_tok) = field(i)?;
    let (i, name_tok) = field(i)?;
    let (i, clid_tok) = field(i)?;
    let (rest, _) = blanks(i);
    if !rest.is_empty() {
        return Err(Fail {
            at: rest,
            kind: ErrorKind::TrailingField,
        });
    }
    let bad_addr = Fail {
        at: addr_tok,
        kind: ErrorKind::BadAddress,
    };
    if addr_tok.contains(&b':') {
        let addr: Ipv6Addr = text(addr_tok).parse().map_err(|_| bad_addr)?;
        let (temporary, iaid) = whole(
            id_tok,
            ErrorKind::BadIaid,
            (opt(tag(&b"T"[..])), dec_u32).map(|(t, n)| (t.is_some(), n)),
        )?;
        Ok(Lease::V6(Lease6 {
            expires,
            iaid,
            temporary,
            addr,
            hostname: hostname(name_tok)?,
            duid: client_id(clid_tok)?,
        }))
    } else {
        let addr: Ipv4Addr = text(addr_tok).parse().map_err(|_| bad_addr)?;
        Ok(Lease::V4(Lease4 {
            expires,
            hwaddr: hwaddr(id_tok)?,
            addr,
            hostname: hostname(name_tok)?,
            client_id: client_id(clid_tok)?,
        }))
    }
}

fn is_duid_line(i: &[u8]) -> bool {
    match i.strip_prefix(b"duid") {
        Some(rest) => rest.first().is_none_or(|&c| is_blank(c)),
        None => false,
    }
}

/// `duid HH:HH:…`.
fn duid_line(i: &[u8]) -> Result<Duid, Fail<'_>> {
    let (i, _) = field(i)?; // "duid"
    let (i, tok) = field(i).map_err(|f| Fail {
        at: f.at,
        kind: ErrorKind::BadDuid,
    })?;
    let duid = hex_field::<DUID_MAX>(tok, ErrorKind::BadDuid, ErrorKind::DuidTooLong)?;
    let (rest, _) = blanks(i);
    if !rest.is_empty() {
        return Err(Fail {
            at: rest,
            kind: ErrorKind::TrailingField,
        });
    }
    Ok(duid)
}
