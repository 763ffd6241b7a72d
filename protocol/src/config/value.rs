//! Value parsers: integers, decimal seconds, booleans, addresses, prefixes,
//! names. Each takes one whole word and returns `None` unless the whole word
//! is valid. Hand-written over bytes (nom combinators cost more code per
//! use on 32-bit MIPS).

use core::net::IpAddr;
use core::str::FromStr;

use heapless::String;

use super::types::{Scope, IFNAME_LEN, NAME_LEN};

/// An unsigned decimal integer (digits only, no sign) up to `u32::MAX`
/// (every range the configuration accepts fits; larger is out of range
/// anyway, and u64 arithmetic is long code on 32-bit CPUs).
#[inline(never)]
pub(crate) fn uint(word: &str) -> Option<u32> {
    if word.is_empty() {
        return None;
    }
    let mut acc: u32 = 0;
    for b in word.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(acc)
}

/// An unsigned integer in `min..=max`.
pub(crate) fn uint_in(word: &str, min: u32, max: u32) -> Option<u32> {
    uint(word).filter(|v| (min..=max).contains(v))
}

/// A signed decimal integer (optional `+`/`-`), magnitude up to `i32::MAX`.
pub(crate) fn int(word: &str) -> Option<i32> {
    let (negative, d) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word.strip_prefix('+').unwrap_or(word)),
    };
    let magnitude = i32::try_from(uint(d)?).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// A non-negative decimal time in seconds (`3`, `0.5`, `.25`, `2.`),
/// returned in microseconds; digits past the sixth decimal are truncated
/// (keepalived's resolution). `None` above `max_secs`. Saturates at
/// `u32::MAX` (4294.967295 s: beyond every limit the parser applies to it).
pub(crate) fn seconds_micros(word: &str, max_secs: u32) -> Option<u32> {
    // One pass: whole seconds, then (after the one `.`) the fraction.
    let mut secs: u32 = 0;
    // The first six fraction digits (at most 999_999 with all six).
    let mut micros: u32 = 0;
    let mut places = 0;
    let mut frac = false;
    let mut digits = false;
    for b in word.bytes() {
        if b == b'.' && !frac {
            frac = true;
            continue;
        }
        let d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return None;
        }
        digits = true;
        if !frac {
            secs = secs.checked_mul(10)?.checked_add(d)?;
        } else if places < 6 {
            micros = micros * 10 + d;
            places += 1;
        }
    }
    while places < 6 {
        micros *= 10;
        places += 1;
    }
    // Above `max_secs` (a fraction past it included)?
    if !digits || secs > max_secs || (secs == max_secs && micros > 0) {
        return None;
    }
    Some(secs.saturating_mul(1_000_000).saturating_add(micros))
}

/// keepalived's `<BOOL>`: `on|off|true|false|yes|no`, any case.
pub(crate) fn boolean(word: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["on", "true", "yes"];
    const FALSE: [&str; 3] = ["off", "false", "no"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(word)) {
        Some(true)
    } else if FALSE.iter().any(|t| t.eq_ignore_ascii_case(word)) {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 address (no zone, no prefix).
pub(crate) fn ip(word: &str) -> Option<IpAddr> {
    IpAddr::from_str(word).ok()
}

/// `ADDR` or `ADDR/LEN`; `LEN` must fit the family (0..=32 or 0..=128)
/// and defaults to the full length (a host address). Written to `addr`
/// and `len` (in place: an `IpAddr` move is a 17-byte copy on 32-bit MIPS)
/// if valid; `false` otherwise (`addr` and `len` then undefined).
pub(crate) fn prefix(word: &str, addr: &mut IpAddr, len: &mut u8) -> bool {
    let (a, l) = match word.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (word, None),
    };
    let Some(a) = ip(a) else {
        return false;
    };
    *addr = a;
    let max = host_len(addr);
    *len = max;
    let Some(l) = l else {
        return true;
    };
    match uint_in(l, 0, u32::from(max)) {
        Some(v) => {
            *len = v as u8;
            true
        }
        None => false,
    }
}

/// The full-length prefix of `addr`'s family (a host address).
pub(crate) fn host_len(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// A Linux interface name: 1..=15 bytes, not `.` or `..`, no `/`, `:` or
/// whitespace (the kernel's `dev_valid_name`, plus `:` which marks labels).
/// Written to `dst` (in place: names are byte-aligned, every move of one
/// is a long run of unaligned loads and stores on MIPS) if valid; `dst`
/// is left alone otherwise.
pub(crate) fn ifname(word: &str, dst: &mut String<IFNAME_LEN, u8>) -> bool {
    word != "." && word != ".." && plain_into(word, b"/:", dst)
}

/// `word` into `dst` if [`plain`] (at most `dst`'s capacity).
fn plain_into(word: &str, forbidden: &[u8], dst: &mut String<IFNAME_LEN, u8>) -> bool {
    if !plain(word, IFNAME_LEN, forbidden) {
        return false;
    }
    dst.clear();
    dst.push_str(word).is_ok()
}

/// Whether `word` is 1..=`max` bytes without whitespace, control
/// characters or any of the ASCII characters `forbidden` (one checker for
/// every kind of name).
#[inline(never)]
fn plain(word: &str, max: usize, forbidden: &[u8]) -> bool {
    !word.is_empty()
        && word.len() <= max
        && !word.chars().any(|c| {
            c.is_whitespace() || c.is_control() || (c.is_ascii() && forbidden.contains(&(c as u8)))
        })
}

/// An address label: 1..=15 bytes, no `/` or whitespace (`:` allowed,
/// e.g. `eth0:1`), into `dst` like [`ifname`].
pub(crate) fn label(word: &str, dst: &mut String<IFNAME_LEN, u8>) -> bool {
    plain_into(word, b"/", dst)
}

/// Whether `word` is an instance or group name: 1..=32 bytes, no
/// whitespace or control characters (the caller copies it into place).
pub(crate) fn name(word: &str) -> bool {
    plain(word, NAME_LEN, b"")
}

/// `global|site|link|host|nowhere` (any case).
pub(crate) fn scope(word: &str) -> Option<Scope> {
    const NAMES: [(&str, Scope); 5] = [
        ("global", Scope::Global),
        ("site", Scope::Site),
        ("link", Scope::Link),
        ("host", Scope::Host),
        ("nowhere", Scope::Nowhere),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(word))
        .map(|(_, s)| *s)
}

/// A routing table: a number or `main` (254), `local` (255), `default` (253).
pub(crate) fn table(word: &str) -> Option<u32> {
    match word {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        _ => uint(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(uint("0"), Some(0));
        assert_eq!(uint("255"), Some(255));
        assert_eq!(uint("4294967295"), Some(u32::MAX));
        assert_eq!(uint("4294967296"), None);
        assert_eq!(uint("18446744073709551616"), None);
        assert_eq!(uint(""), None);
        assert_eq!(uint("-1"), None);
        assert_eq!(uint("1a"), None);
        assert_eq!(uint("+1"), None);
        assert_eq!(int("-253"), Some(-253));
        assert_eq!(int("+7"), Some(7));
        assert_eq!(int("-"), None);
        assert_eq!(int("-2147483647"), Some(-2147483647));
        assert_eq!(int("2147483648"), None);
        assert_eq!(int("9223372036854775808"), None);
    }

    #[test]
    fn seconds() {
        assert_eq!(seconds_micros("1", 1000), Some(1_000_000));
        assert_eq!(seconds_micros("0.1", 1000), Some(100_000));
        assert_eq!(seconds_micros(".25", 1000), Some(250_000));
        assert_eq!(seconds_micros("2.", 1000), Some(2_000_000));
        assert_eq!(seconds_micros("2.71828", 1000), Some(2_718_280));
        assert_eq!(seconds_micros("0.0000019", 1000), Some(1));
        assert_eq!(seconds_micros("1000", 1000), Some(1_000_000_000));
        assert_eq!(seconds_micros("4294.967295", 65535), Some(u32::MAX));
        assert_eq!(seconds_micros("65535", 65535), Some(u32::MAX));
        assert_eq!(seconds_micros("1000.5", 1000), None);
        assert_eq!(seconds_micros("1001", 1000), None);
        assert_eq!(seconds_micros(".", 1000), None);
        assert_eq!(seconds_micros("", 1000), None);
        assert_eq!(seconds_micros("1e3", 1000), None);
        assert_eq!(seconds_micros("-1", 1000), None);
        assert_eq!(seconds_micros("1.2.3", 1000), None);
        assert_eq!(seconds_micros("1..", 1000), None);
        assert_eq!(seconds_micros("..5", 1000), None);
        assert_eq!(seconds_micros("0.", 1000), Some(0));
        assert_eq!(seconds_micros(".0", 1000), Some(0));
        assert_eq!(seconds_micros("+1", 1000), None);
        assert_eq!(seconds_micros(" 1", 1000), None);
        assert_eq!(seconds_micros("1\u{0660}", 1000), None);
        assert_eq!(seconds_micros("99999999999999999999", 1000), None);
    }

    #[test]
    fn addresses() {
        let prefix = |w: &str| {
            let mut a = IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED);
            let mut l = 0;
            prefix(w, &mut a, &mut l).then_some((a, l))
        };
        assert_eq!(
            prefix("10.9.8.4/24"),
            Some(("10.9.8.4".parse().unwrap(), 24))
        );
        assert_eq!(prefix("10.9.8.4"), Some(("10.9.8.4".parse().unwrap(), 32)));
        assert_eq!(prefix("10.9.8.4/32").map(|p| p.1), Some(32));
        assert_eq!(prefix("10.9.8.4/0").map(|p| p.1), Some(0));
        assert_eq!(prefix("fe80::1/64").map(|p| p.1), Some(64));
        assert_eq!(prefix("fe80::1").map(|p| p.1), Some(128));
        assert_eq!(prefix("10.9.8.4/33"), None);
        assert_eq!(prefix("fe80::1/129"), None);
        assert_eq!(prefix("10.9.8.4/"), None);
        assert_eq!(prefix("/24"), None);
        assert_eq!(prefix("10.9.8.4/24/1"), None);
        assert_eq!(prefix("10.9.8/24"), None);
        assert_eq!(ip("256.1.1.1"), None);
    }

    #[test]
    fn names() {
        let mut n = String::new();
        assert!(ifname("eth0.2", &mut n) && n == "eth0.2");
        assert!(ifname("br-lan", &mut n) && n == "br-lan");
        assert!(ifname("123456789012345", &mut n));
        assert!(!ifname("1234567890123456", &mut n));
        assert!(!ifname("eth0:1", &mut n));
        assert!(!ifname("a/b", &mut n));
        assert!(!ifname("..", &mut n));
        assert!(!ifname("", &mut n));
        // Left alone when invalid.
        assert_eq!(n, "123456789012345");
        assert!(label("eth0:1", &mut n) && n == "eth0:1");
        assert!(!label("a/b", &mut n) && n == "eth0:1");
        assert!(name("I1"));
        assert!(name(&"x".repeat(32)));
        assert!(!name(&"x".repeat(33)));
        assert!(!name("a b"));
        assert_eq!(boolean("On"), Some(true));
        assert_eq!(boolean("no"), Some(false));
        assert_eq!(boolean("1"), None);
        assert_eq!(table("main"), Some(254));
        assert_eq!(table("100"), Some(100));
        assert_eq!(table("4294967296"), None);
        assert_eq!(scope("LINK"), Some(Scope::Link));
    }
}
