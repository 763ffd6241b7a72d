use super::*;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Captured with Debian's dnsmasq 2.90 by `fixtures/capture.sh`.
static R1: &[u8] = include_bytes!("fixtures/dnsmasq-2.90-r1.leases");
static R1_RELOADED: &[u8] = include_bytes!("fixtures/dnsmasq-2.90-r1-reloaded.leases");
static R2: &[u8] = include_bytes!("fixtures/dnsmasq-2.90-r2.leases");
/// Hand-written after `lease_update_file()`: the extras a dnsmasq ≥ 2.91
/// with `--leasequery` appends (2.90 cannot produce them).
static EXTRAS: &[u8] = include_bytes!("fixtures/synthetic-extras.leases");

/// The seed page's sample (`/tmp/dhcp.leases` on an OpenWrt VM).
static SEED: &[u8] = b"1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7
1633703352 c4:41:1e:68:97:62 192.168.222.243 hostname2 01:c4:41:1e:68:97:62
1633703161 c0:10:b1:2c:e4:e6 192.168.123.148 * 01:c0:10:b1:2c:e4:e6
1633703141 e8:f4:08:1f:9c:67 192.168.123.69 hostname3 01:e8:f4:08:1f:9c:67
";

fn rewrite(input: &[u8]) -> std::string::String {
    let mut out = std::string::String::new();
    for l in lines(input) {
        let l = l.unwrap_or_else(|e| panic!("{e}"));
        use core::fmt::Write;
        writeln!(out, "{l}").unwrap();
    }
    out
}

fn lease(line: &str) -> Lease {
    match Line::parse(line.as_bytes()) {
        Ok(Line::Lease(l)) => l,
        other => panic!("{line:?}: {other:?}"),
    }
}

fn v4(line: &str) -> Lease4 {
    match lease(line) {
        Lease::V4(l) => l,
        l => panic!("not v4: {l:?}"),
    }
}

fn v6(line: &str) -> Lease6 {
    match lease(line) {
        Lease::V6(l) => l,
        l => panic!("not v6: {l:?}"),
    }
}

fn err(line: &str) -> (usize, ErrorKind) {
    match Line::parse(line.as_bytes()) {
        Err(e) => e,
        Ok(l) => panic!("{line:?} parsed: {l:?}"),
    }
}

// ---------------------------------------------------------------- round trips

#[test]
fn captured_files_round_trip_byte_exact() {
    for (name, file) in [
        ("r1", R1),
        ("r1-reloaded", R1_RELOADED),
        ("r2", R2),
        ("extras", EXTRAS),
        ("seed", SEED),
    ] {
        assert_eq!(rewrite(file).as_bytes(), file, "{name}");
    }
}

#[test]
fn captured_file_has_every_kind_of_line() {
    let all: std::vec::Vec<_> = lines(R1).map(|l| l.unwrap()).collect();
    let v4 = all
        .iter()
        .filter(|l| matches!(l, Line::Lease(Lease::V4(_))))
        .count();
    let v6 = all
        .iter()
        .filter(|l| matches!(l, Line::Lease(Lease::V6(_))))
        .count();
    let duid = all.iter().filter(|l| matches!(l, Line::Duid(_))).count();
    assert_eq!((v4, duid, v6, all.len()), (8, 1, 6, 15));
}

#[test]
fn write_file_puts_v4_duid_v6_in_dnsmasq_order() {
    // Shuffle: all v6 first, then v4; write_file restores dnsmasq's layout.
    let mut leases: std::vec::Vec<Lease> = lines(R1)
        .filter_map(|l| match l.unwrap() {
            Line::Lease(l) => Some(l),
            _ => None,
        })
        .collect();
    let duid = lines(R1)
        .find_map(|l| match l.unwrap() {
            Line::Duid(d) => Some(d),
            _ => None,
        })
        .unwrap();
    leases.sort_by_key(|l| !l.is_v6());
    let mut out = std::string::String::new();
    write_file(&mut out, Some(&duid), &leases).unwrap();
    assert_eq!(out.as_bytes(), R1);
}

#[test]
fn write_file_into_a_slice() {
    let leases: std::vec::Vec<Lease> = lines(SEED)
        .map(|l| match l.unwrap() {
            Line::Lease(l) => l,
            l => panic!("{l:?}"),
        })
        .collect();
    let mut buf = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf);
    write_file(&mut w, None, &leases).unwrap();
    assert_eq!(w.written(), SEED);
    assert!(!w.overflowed());

    let mut small = [0u8; 100];
    let mut w = SliceWriter::new(&mut small);
    assert!(write_file(&mut w, None, &leases).is_err());
    assert!(w.overflowed());
    assert_eq!(w.written(), &SEED[..w.len()]);
}

// ---------------------------------------------------------------- fields

#[test]
fn seed_lines() {
    let l = v4("1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7");
    assert_eq!(l.expires, Expiry::from_raw(1633703346));
    assert_eq!(
        l.hwaddr,
        HwAddr::ethernet([0x00, 0x1c, 0x42, 0x0f, 0xb1, 0xc7])
    );
    assert_eq!(l.addr, Ipv4Addr::new(192, 168, 222, 244));
    assert_eq!(l.hostname.as_str(), "hostname1");
    assert_eq!(
        l.client_id.as_slice(),
        &[0x01, 0x00, 0x1c, 0x42, 0x0f, 0xb1, 0xc7]
    );
    let l = v4("1633703161 c0:10:b1:2c:e4:e6 192.168.123.148 * 01:c0:10:b1:2c:e4:e6");
    assert!(l.hostname.is_none());
    assert_eq!(l.hostname.to_string(), "*");
}

#[test]
fn hardware_types() {
    let ib = v4("1795718920 20- 10.77.0.66 ib-node ff:00:00:00:01");
    assert_eq!(ib.hwaddr.htype(), 32);
    assert!(ib.hwaddr.as_slice().is_empty());
    assert_eq!(ib.hwaddr.to_string(), "20-");

    let tr = v4("1795718923 06-02:00:00:00:00:04 10.77.0.143 tokenring *");
    assert_eq!(tr.hwaddr.htype(), 6);
    assert_eq!(tr.hwaddr.as_slice(), &[2, 0, 0, 0, 0, 4]);
    assert!(tr.client_id.is_empty());

    let long = v4("1 02:00:00:00:00:05:aa:bb 10.77.0.155 Mixed_Case 00:6d:79:2d:69:64");
    assert_eq!(long.hwaddr.htype(), ARPHRD_ETHER);
    assert_eq!(long.hwaddr.as_slice().len(), 8);
    assert_eq!(long.hostname.as_str(), "Mixed_Case");

    // Type 0 with no octets; Ethernet with no octets keeps its prefix.
    assert_eq!(v4("1 00- 10.0.0.1 * *").hwaddr.htype(), 0);
    let e = v4("1 01- 10.0.0.1 * *");
    assert_eq!(e.hwaddr.htype(), 1);
    assert_eq!(e.hwaddr.to_string(), "01-");
    // Types above 0xff (ARPHRD is 16 bits) are written with more digits.
    let big = v4("1 324-aa 10.0.0.1 * *");
    assert_eq!(big.hwaddr.htype(), 0x324);
    assert_eq!(big.hwaddr.to_string(), "324-aa");
    // 16 octets fit.
    let max = "1 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f 10.0.0.1 * *";
    assert_eq!(lease(max).to_string(), max);
}

#[test]
fn infinite_lease() {
    let l = v4("0 02:00:00:00:00:07 10.77.0.77 fixedhost *");
    assert!(l.expires.is_never());
    assert_eq!(l.expires, Expiry::NEVER);
    assert!(!l.expires.is_expired(u64::MAX));
    let l = v6("0 7 fd77::66 * 00:03:00:01:02:00:00:00:00:66");
    assert_eq!(l.expires.secs(), None);
}

#[test]
fn ipv6_lines() {
    let l = v6("1795718933 T305419896 fd77::7b * 00:03:00:01:02:00:00:00:00:02");
    assert!(l.temporary);
    assert_eq!(l.iaid, 305419896);
    assert_eq!(l.addr, "fd77::7b".parse::<Ipv6Addr>().unwrap());
    assert_eq!(l.duid.len(), 10);

    let l = v6("1795718933 4294967295 fd77::7e * 00:02:00:00:ab:11:01:02:03:04");
    assert!(!l.temporary);
    assert_eq!(l.iaid, u32::MAX);

    let l = v6("1795718932 1 fd77::c7 v6host 00:01:00:01:2c:3d:4e:5f:02:00:00:00:00:01");
    assert_eq!(l.hostname.as_str(), "v6host");
    assert_eq!(
        lease("1 1 fd77::c7 v6host 01").addr(),
        "fd77::c7".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn capacity_limits_are_exactly_dnsmasqs() {
    // From the capture: a 255-octet client id and a 63-character hostname.
    let big = lines(R1)
        .filter_map(|l| match l.unwrap() {
            Line::Lease(Lease::V4(l)) if l.client_id.len() == CLIENT_ID_MAX => Some(l),
            _ => None,
        })
        .next()
        .expect("the 255-octet client id");
    assert_eq!(big.hostname.as_str().len(), HOSTNAME_MAX);

    let hex = |n: usize| {
        (0..n)
            .map(|i| std::format!("{:02x}", i as u8))
            .collect::<std::vec::Vec<_>>()
            .join(":")
    };
    let line = std::format!("1 aa:bb:cc:dd:ee:ff 10.0.0.1 * {}", hex(256));
    assert_eq!(err(&line), (31, ErrorKind::ClientIdTooLong));
    let line = std::format!("1 aa:bb:cc:dd:ee:ff 10.0.0.1 {} *", "h".repeat(64));
    assert_eq!(err(&line), (29, ErrorKind::HostnameTooLong));
    let line = std::format!("1 {} 10.0.0.1 * *", hex(17));
    assert_eq!(err(&line), (2, ErrorKind::HwAddrTooLong));
    let line = std::format!("duid {}", hex(131));
    assert_eq!(err(&line), (5, ErrorKind::DuidTooLong));
    let line = std::format!("duid {}", hex(130));
    assert!(matches!(Line::parse(line.as_bytes()), Ok(Line::Duid(d)) if d.len() == 130));
}

#[test]
fn liberal_input_is_normalised() {
    // Upper case, one-digit octets, tabs and runs of spaces, CRLF, leading
    // blanks: read as dnsmasq reads them, written as dnsmasq writes them.
    let l =
        lease("  1633703346\t00:1C:42:F:B1:C7   192.168.222.244  hostname1 01:00:1c:42:0f:b1:c7\r");
    assert_eq!(
        l.to_string(),
        "1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7"
    );
    // An explicit type 0 with octets is Ethernet (dnsmasq's rule).
    assert_eq!(
        lease("1 00-aa:bb:cc:dd:ee:ff 10.0.0.1 * *").to_string(),
        "1 aa:bb:cc:dd:ee:ff 10.0.0.1 * *"
    );
    // Leading zeros in the expiry (atol reads them).
    assert_eq!(lease("0042 aa 10.0.0.1 * *").expires().raw(), 42);
}

// ---------------------------------------------------------------- errors

#[test]
fn each_bad_field_is_named_with_its_column() {
    let cases: &[(&str, usize, ErrorKind)] = &[
        (
            "99999999999999999999 aa 10.0.0.1 * *",
            0,
            ErrorKind::BadExpiry,
        ),
        ("12x aa 10.0.0.1 * *", 0, ErrorKind::BadExpiry),
        ("1 zz:bb 10.0.0.1 * *", 2, ErrorKind::BadHwAddr),
        ("1 aa:bbb 10.0.0.1 * *", 2, ErrorKind::BadHwAddr),
        ("1 aa::bb 10.0.0.1 * *", 2, ErrorKind::BadHwAddr),
        ("1 12345-aa 10.0.0.1 * *", 2, ErrorKind::BadHwAddr),
        ("1 * 10.0.0.1 * *", 2, ErrorKind::BadHwAddr),
        ("1 aa 10.0.0.300 * *", 5, ErrorKind::BadAddress),
        ("1 aa 10.0.0 * *", 5, ErrorKind::BadAddress),
        ("1 aa fd77:::1 * *", 5, ErrorKind::BadAddress),
        ("1 x1 fd77::1 * *", 2, ErrorKind::BadIaid),
        ("1 T fd77::1 * *", 2, ErrorKind::BadIaid),
        ("1 4294967296 fd77::1 * *", 2, ErrorKind::BadIaid),
        ("1 aa:bb 10.0.0.1 h\u{e9} *", 17, ErrorKind::BadHostname),
        ("1 aa:bb 10.0.0.1 host 01:0g", 22, ErrorKind::BadClientId),
        ("1 aa:bb 10.0.0.1 host **", 22, ErrorKind::BadClientId),
        ("1 aa:bb 10.0.0.1 host", 21, ErrorKind::MissingField),
        ("1 aa:bb 10.0.0.1 host   ", 24, ErrorKind::MissingField),
        ("1", 1, ErrorKind::MissingField),
        (
            "1 aa:bb 10.0.0.1 host * extra",
            24,
            ErrorKind::TrailingField,
        ),
        ("duid", 4, ErrorKind::BadDuid),
        ("duid xyz", 5, ErrorKind::BadDuid),
        ("duid 00:01 more", 11, ErrorKind::TrailingField),
    ];
    for &(line, offset, kind) in cases {
        assert_eq!(err(line), (offset, kind), "{line:?}");
        // Display names the problem.
        assert!(!kind.to_string().is_empty());
    }
}

#[test]
fn a_bad_line_is_reported_and_the_rest_is_read() {
    let file = b"1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 *\n\
1633703352 c4:41:1e:68:97:62 192.168.222.999 hostname2 *\n\
\xff\xfe garbage\n\
\n\
1633703141 e8:f4:08:1f:9c:67 192.168.123.69 hostname3 *\n\
agent-info 192.168.123.69 01:02";
    let got: std::vec::Vec<_> = lines(file).collect();
    assert_eq!(got.len(), 6);
    assert!(matches!(got[0], Ok(Line::Lease(_))));
    let e = got[1].unwrap_err();
    assert_eq!((e.line, e.column, e.kind), (2, 30, ErrorKind::BadAddress));
    assert_eq!(
        e.to_string(),
        "line 2, column 30: not an IPv4 or IPv6 address"
    );
    let e = got[2].unwrap_err();
    assert_eq!((e.line, e.column, e.kind), (3, 1, ErrorKind::NotText));
    assert_eq!(got[3], Ok(Line::Other("")));
    assert!(matches!(got[4], Ok(Line::Lease(_))));
    // The last line has no '\n' and is still a line.
    assert_eq!(got[5], Ok(Line::Other("agent-info 192.168.123.69 01:02")));
}

#[test]
fn lines_from_the_back_have_the_right_numbers() {
    for file in [
        R1,
        SEED,
        b"a\nb\nc".as_slice(),
        b"\n\n".as_slice(),
        b"".as_slice(),
    ] {
        let fwd: std::vec::Vec<_> = lines(file).collect();
        let mut back: std::vec::Vec<_> = lines(file).rev().collect();
        back.reverse();
        assert_eq!(fwd, back);
        assert_eq!(lines(file).len(), fwd.len());
    }
    // Numbers stay right when errors come from the back.
    let file = b"x\n1 zz 10.0.0.1 * *\ny\n";
    let e = lines(file).rev().find_map(|l| l.err()).unwrap();
    assert_eq!((e.line, e.column), (2, 3));
    // Mixed front and back.
    let mut it = lines(b"a\nb\nc\nd\n");
    assert_eq!(it.next(), Some(Ok(Line::Other("a"))));
    assert_eq!(it.next_back(), Some(Ok(Line::Other("d"))));
    assert_eq!(it.next_back(), Some(Ok(Line::Other("c"))));
    assert_eq!(it.next(), Some(Ok(Line::Other("b"))));
    assert_eq!(it.next(), None);
    assert_eq!(it.next_back(), None);
}

#[test]
fn other_lines_are_kept_verbatim() {
    for line in [
        "agent-info 10.77.0.140 01:04:65:74:68:30:02:06:00:11:22:33:44:55",
        "vendorclass fd77::c7 00:00:01:37:00:08:4d:53:46:54:20:35:2e:30",
        "some-future-extension with  odd   spacing\t",
        "duidx not a duid line",
        "# a comment someone added",
        "   ",
    ] {
        assert_eq!(Line::parse(line.as_bytes()), Ok(Line::Other(line)));
        assert_eq!(Line::Other(line).to_string(), line);
    }
}

// ---------------------------------------------------------------- inet_ntop

#[test]
fn ipv6_text_matches_glibc_inet_ntop() {
    // (input, glibc inet_ntop output) — from Python's socket.inet_ntop on
    // glibc.
    let cases = [
        ("::", "::"),
        ("::1", "::1"),
        ("fd77::c7", "fd77::c7"),
        ("1::", "1::"),
        ("1:0:0:1::1", "1:0:0:1::1"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
        ("1:0:0:1:0:0:1:1", "1::1:0:0:1:1"),
        ("0:0:1::", "0:0:1::"),
        ("fe80::1:0:0:0", "fe80::1:0:0:0"),
        ("::ffff:0:0", "::ffff:0.0.0.0"),
        ("::0.0.1.2", "::102"),
        ("::102:304", "::1.2.3.4"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::fffe:1.2.3.4", "::fffe:102:304"),
        ("0:0:0:0:0:1:2:3", "::1:2:3"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("::2:0", "::0.2.0.0"),
    ];
    for (input, want) in cases {
        let a: Ipv6Addr = input.parse().unwrap();
        assert_eq!(Ipv6Text(a).to_string(), want, "{input}");
    }
}

// ---------------------------------------------------------------- types

#[test]
fn expiry_order_puts_never_last() {
    let a = Expiry::from_raw(1);
    let b = Expiry::from_raw(u64::MAX);
    assert!(a < b);
    assert!(b < Expiry::NEVER);
    assert!(a < Expiry::NEVER);
    assert!(Expiry::from_raw(10).is_expired(10));
    assert!(!Expiry::from_raw(10).is_expired(9));
    // Newer lease = greater lease.
    let old = lease("100 aa 10.0.0.1 * *");
    let new = lease("200 aa 10.0.0.1 * *");
    let inf = lease("0 aa 10.0.0.1 * *");
    assert!(old < new && new < inf);
}

#[test]
fn bytes_and_hostname_capacity() {
    let b = Bytes::<4>::from_slice(&[1, 2, 3, 4]).unwrap();
    assert_eq!(b.as_slice(), &[1, 2, 3, 4]);
    assert_eq!(
        Bytes::<4>::from_slice(&[0; 5]),
        Err(CapacityError {
            len: 5,
            capacity: 4
        })
    );
    let mut b = Bytes::<2>::new();
    assert!(b.push(1).is_ok() && b.push(2).is_ok());
    assert!(b.push(3).is_err());
    assert_eq!(b.len(), 2);
    assert_eq!(Bytes::<255>::from_slice(&[7; 255]).unwrap().len(), 255);
    assert!(Bytes::<255>::from_slice(&[7; 256]).is_err());

    assert_eq!(Hostname::new("").unwrap(), Hostname::NONE);
    assert_eq!(Hostname::new("*"), Err(ErrorKind::BadHostname));
    assert_eq!(Hostname::new("a b"), Err(ErrorKind::BadHostname));
    assert!(Hostname::new(&"x".repeat(63)).is_ok());
    assert_eq!(
        Hostname::new(&"x".repeat(64)),
        Err(ErrorKind::HostnameTooLong)
    );
    assert!(HwAddr::new(1, &[0; 17]).is_err());
}

// ---------------------------------------------------------------- encoding

fn all_fixture_leases() -> std::vec::Vec<Lease> {
    [R1, R1_RELOADED, R2, EXTRAS, SEED]
        .iter()
        .flat_map(|f| lines(f))
        .filter_map(|l| match l.unwrap() {
            Line::Lease(l) => Some(l),
            _ => None,
        })
        .collect()
}

#[test]
fn encoding_round_trips_every_captured_lease() {
    let mut buf = [0u8; Lease::ENCODED_MAX];
    let mut max = 0;
    // Reused: each decode_into overwrites the previous lease.
    let mut into = Lease::EMPTY;
    for l in all_fixture_leases() {
        let n = l.encode(&mut buf).unwrap();
        assert_eq!(n, l.encoded_len());
        max = max.max(n);
        assert_eq!(Lease::decode(&buf[..n]), Ok((l, n)));
        assert_eq!(into.decode_into(&buf[..n]), Ok(n));
        assert_eq!(into, l);
        // Self-delimiting: trailing bytes are left alone.
        buf[n] = 0xff;
        assert_eq!(Lease::decode(&buf[..n + 1]), Ok((l, n)));
        // Every truncation is an error.
        for cut in 0..n {
            assert!(Lease::decode(&buf[..cut]).is_err(), "{l} cut at {cut}");
        }
        // A short buffer is refused, not overrun.
        assert!(l.encode(&mut buf[..n - 1]).is_err());
    }
    assert!(max <= Lease::ENCODED_MAX);
}

#[test]
fn encoding_is_compact() {
    let seed = lease("1633703346 00:1c:42:0f:b1:c7 192.168.222.244 hostname1 01:00:1c:42:0f:b1:c7");
    assert_eq!(seed.encoded_len(), 35);
    let bare = lease("1633703161 c0:10:b1:2c:e4:e6 192.168.123.148 * *");
    assert_eq!(bare.encoded_len(), 1 + 5 + 4 + 1 + 6);
    let v6 = lease("1795718933 T305419896 fd77::7b * 00:03:00:01:02:00:00:00:00:02");
    assert_eq!(v6.encoded_len(), 1 + 5 + 16 + 5 + 1 + 10);
    // The largest lease possible.
    let hex = |n: usize| (0..n).map(|_| "ff").collect::<std::vec::Vec<_>>().join(":");
    let line = std::format!(
        "{} ffff-{} 255.255.255.255 {} {}",
        u64::MAX,
        hex(16),
        "h".repeat(63),
        hex(255)
    );
    let l = lease(&line);
    assert_eq!(l.encoded_len(), Lease::ENCODED_MAX);
    let mut buf = [0u8; Lease::ENCODED_MAX];
    assert_eq!(l.encode(&mut buf), Ok(Lease::ENCODED_MAX));
    assert_eq!(Lease::decode(&buf), Ok((l, Lease::ENCODED_MAX)));
}

#[test]
fn decode_rejects_malformed_input() {
    assert_eq!(Lease::decode(&[]), Err(DecodeError::Truncated));
    assert_eq!(Lease::decode(&[0x20]), Err(DecodeError::BadTag(0x20)));
    // T on IPv4, explicit hardware type on IPv6.
    assert_eq!(Lease::decode(&[0x02]), Err(DecodeError::BadTag(0x02)));
    assert_eq!(Lease::decode(&[0x11]), Err(DecodeError::BadTag(0x11)));
    // An 11-octet varint, and one that overflows 64 bits in its 10th octet.
    let mut b = [0x80u8; 12];
    b[0] = 0;
    assert_eq!(Lease::decode(&b), Err(DecodeError::BadVarint));
    let mut b = [0xffu8; 12];
    b[0] = 0;
    b[10] = 0x02;
    assert_eq!(Lease::decode(&b), Err(DecodeError::BadVarint));
    // IAID over 32 bits.
    let mut b = std::vec![1u8, 1];
    b.extend([0; 16]);
    b.extend([0xff, 0xff, 0xff, 0xff, 0x1f]);
    assert_eq!(Lease::decode(&b), Err(DecodeError::BadVarint));
    // Hardware address over 16 octets.
    let mut b = std::vec![0u8, 1, 10, 0, 0, 1, 17];
    b.extend([0; 17]);
    assert_eq!(Lease::decode(&b), Err(DecodeError::HwAddrTooLong));
    // Empty or invalid hostname, empty client id.
    assert_eq!(
        Lease::decode(&[0x04, 1, 10, 0, 0, 1, 0, 0]),
        Err(DecodeError::BadHostname)
    );
    assert_eq!(
        Lease::decode(&[0x04, 1, 10, 0, 0, 1, 0, 1, b' ']),
        Err(DecodeError::BadHostname)
    );
    assert_eq!(
        Lease::decode(&[0x08, 1, 10, 0, 0, 1, 0, 0]),
        Err(DecodeError::BadClientId)
    );
}

// ---------------------------------------------------------------- robustness

/// A small deterministic generator (no external crates).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn parser_and_decoder_never_panic() {
    let mut rng = Lcg(0x5eed);
    let alphabet = b"0123456789abcdefT:- .*\t\r\nduid\xff";
    let mut buf = [0u8; 400];
    for round in 0..20_000 {
        let len = (rng.next() % 120) as usize;
        for b in buf[..len].iter_mut() {
            *b = if round % 2 == 0 {
                alphabet[(rng.next() as usize) % alphabet.len()]
            } else {
                rng.next() as u8
            };
        }
        for line in lines(&buf[..len]).flatten() {
            // Whatever parsed writes and parses back to itself.
            let text = line.to_string();
            if let Line::Lease(_) | Line::Duid(_) = line {
                assert_eq!(Line::parse(text.as_bytes()), Ok(line), "{text:?}");
            }
        }
        let _ = lines(&buf[..len]).rev().count();
        let _ = Lease::decode(&buf[..len]);
    }
    // Mutations of real lines: flip one byte at a time.
    for l in [R1, R2].iter().flat_map(|f| f.split(|&c| c == b'\n')) {
        let mut m = l.to_vec();
        for i in 0..m.len() {
            let orig = m[i];
            for v in [b' ', b':', b'-', b'T', b'0', b'*', 0xff, b'g'] {
                m[i] = v;
                if let Ok(line) = Line::parse(&m) {
                    let _ = line.to_string();
                }
            }
            m[i] = orig;
        }
    }
    // Decoding mutated encodings.
    let mut enc = [0u8; Lease::ENCODED_MAX];
    for l in all_fixture_leases() {
        let n = l.encode(&mut enc).unwrap();
        for i in 0..n {
            let orig = enc[i];
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                enc[i] = v;
                if let Ok((d, used)) = Lease::decode(&enc[..n]) {
                    assert!(used <= n);
                    let mut again = [0u8; Lease::ENCODED_MAX];
                    let m = d.encode(&mut again).unwrap();
                    assert_eq!(Lease::decode(&again[..m]), Ok((d, m)));
                }
            }
            enc[i] = orig;
        }
    }
}

#[test]
fn postcard_writes_exactly_the_compact_encoding() {
    let mut a = [0u8; Lease::ENCODED_MAX];
    let mut b = [0u8; Lease::ENCODED_MAX + 8];
    for l in all_fixture_leases() {
        let n = l.encode(&mut a).unwrap();
        let p = postcard::to_slice(&l, &mut b).unwrap();
        assert_eq!(&*p, &a[..n], "{l}");
        let (back, rest): (Lease, _) = postcard::take_from_bytes(&a[..n]).unwrap();
        assert_eq!(back, l);
        assert!(rest.is_empty());
    }
    // A lease inside a larger postcard structure.
    let pair = (7u32, lease("1 aa 10.0.0.1 * *"), 9u8);
    let bytes = postcard::to_slice(&pair, &mut b).unwrap().to_vec();
    let back: (u32, Lease, u8) = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, pair);
    // The checks of decode apply.
    assert!(postcard::from_bytes::<Lease>(&[0x20]).is_err());
    assert!(postcard::from_bytes::<Lease>(&[0x04, 1, 10, 0, 0, 1, 0, 0]).is_err());
    assert!(postcard::from_bytes::<Lease>(&[0x00, 1, 10, 0, 0]).is_err());
}
