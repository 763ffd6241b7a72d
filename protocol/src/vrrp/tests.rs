//! Tests of the VRRP wire format.
//!
//! The static fixtures below are adverts sent by Debian's keepalived 2.2.7,
//! captured with tcpdump in a network namespace (`captures/capture.sh`, the
//! configurations `captures/*.conf`, the pcap files beside them). Every
//! packet of those pcap files is also checked by [`captured_adverts_round_trip`].
use super::*;
use std::string::ToString;
use std::vec::Vec;

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
/// keepalived's source: the link-local address of vw-a0.
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x3814, 0x70ff, 0xfec7, 0x0faf);

const MCAST4: Endpoints = Endpoints::Ipv4 {
    src: SRC4,
    dst: IPV4_MULTICAST,
};
const UNICAST4: Endpoints = Endpoints::Ipv4 {
    src: SRC4,
    dst: PEER4,
};
const MCAST6: Endpoints = Endpoints::Ipv6 {
    src: SRC6,
    dst: IPV6_MULTICAST,
};

/// v2.conf `V2_PASS1`: VRRPv2, VRID 51, priority 150, 1 s, PASS "tandem"
/// (zero-padded), one address.
static V2_PASS_1VIP: [u8; 20] = [
    0x21, // version 2, type 1
    0x33, // VRID 51
    0x96, // priority 150
    0x01, // 1 address
    0x01, // auth type 1 (PASS)
    0x01, // advert int 1 s
    0xf5, 0x00, // checksum
    0x0a, 0x63, 0x00, 0x33, // 10.99.0.51
    b't', b'a', b'n', b'd', b'e', b'm', 0x00, 0x00, // auth data
];

/// v2.conf `V2_PASS2`: VRRPv2, VRID 52, priority 200, 1 s, PASS "secret12",
/// two addresses.
static V2_PASS_2VIPS: [u8; 24] = [
    0x21, 0x34, 0xc8, 0x02, 0x01, 0x01, 0x93, 0x1a, // header
    0x0a, 0x63, 0x00, 0x34, // 10.99.0.52
    0x0a, 0x63, 0x00, 0x35, // 10.99.0.53
    b's', b'e', b'c', b'r', b'e', b't', b'1', b'2', // auth data
];

/// v2.conf `V2_NOAUTH`: VRRPv2, VRID 53, priority 100, 2 s, no
/// authentication (8 zero octets), one address.
static V2_NOAUTH: [u8; 20] = [
    0x21, 0x35, 0x64, 0x01, 0x00, 0x02, 0x70, 0x2e, // header
    0x0a, 0x63, 0x00, 0x36, // 10.99.0.54
    0, 0, 0, 0, 0, 0, 0, 0, // auth data
];

/// `V2_PASS2` again, sent on SIGTERM: priority 0.
static V2_PASS_2VIPS_PRIO0: [u8; 24] = [
    0x21, 0x34, 0x00, 0x02, 0x01, 0x01, 0x5b, 0x1b, // header, priority 0
    0x0a, 0x63, 0x00, 0x34, 0x0a, 0x63, 0x00, 0x35, // addresses
    b's', b'e', b'c', b'r', b'e', b't', b'1', b'2', // auth data
];

/// v3v4.conf `V3_FAST`: VRRPv3 over IPv4 to 224.0.0.18, VRID 61,
/// priority 120, 0.1 s (0x00a cs), two addresses; pseudo-header checksum.
static V3_V4_FAST: [u8; 16] = [
    0x31, // version 3, type 1
    0x3d, // VRID 61
    0x78, // priority 120
    0x02, // 2 addresses
    0x00, 0x0a, // rsvd 0, max advert int 10 cs
    0x56, 0x7e, // checksum
    0x0a, 0x63, 0x00, 0x3d, // 10.99.0.61
    0x0a, 0x63, 0x00, 0x3e, // 10.99.0.62
];

/// v3v4.conf `V3_UNICAST`: VRRPv3 over IPv4 unicast 10.99.0.1 → 10.99.0.2,
/// VRID 62, priority 110, 1 s, one address.
static V3_V4_UNICAST: [u8; 12] = [
    0x31, 0x3e, 0x6e, 0x01, 0x00, 0x64, 0x40, 0x75, // header, 100 cs
    0x0a, 0x63, 0x00, 0x3f, // 10.99.0.63
];

/// `V3_FAST` on SIGTERM: priority 0.
static V3_V4_FAST_PRIO0: [u8; 16] = [
    0x31, 0x3d, 0x00, 0x02, 0x00, 0x0a, 0xce, 0x7e, // header, priority 0
    0x0a, 0x63, 0x00, 0x3d, 0x0a, 0x63, 0x00, 0x3e, // addresses
];

/// v3v6.conf `V3_V6`: VRRPv3 over IPv6 from fe80::3814:70ff:fec7:faf to
/// ff02::12, VRID 71, priority 130, 1 s, link-local address first.
static V3_V6: [u8; 40] = [
    0x31, 0x47, 0x82, 0x02, 0x00, 0x64, 0x68, 0xe4, // header
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x71, // fe80::71
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x71, // 2001:db8:99::71
];

/// `V3_V6` on SIGTERM: priority 0.
static V3_V6_PRIO0: [u8; 40] = [
    0x31, 0x47, 0x00, 0x02, 0x00, 0x64, 0xea, 0xe4, // header, priority 0
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x71, // fe80::71
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x71, // 2001:db8:99::71
];

fn v4(addrs: &[[u8; 4]]) -> Addresses {
    let mut v = heapless::Vec::new();
    for a in addrs {
        v.push(Ipv4Addr::from(*a)).unwrap();
    }
    Addresses::Ipv4(v)
}

fn v6(addrs: &[Ipv6Addr]) -> Addresses {
    Addresses::Ipv6(heapless::Vec::from_slice(addrs).unwrap())
}

const VIP6_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x71);
const VIP6_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x99, 0, 0, 0, 0, 0x71);

fn repr_v2_pass_1vip() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 51,
        priority: 150,
        advert_int: 100,
        auth: Auth::pass(b"tandem"),
        addresses: v4(&[[10, 99, 0, 51]]),
    }
}

fn repr_v2_pass_2vips(priority: u8) -> Repr {
    Repr {
        version: Version::V2,
        vrid: 52,
        priority,
        advert_int: 100,
        auth: Auth::Pass(*b"secret12"),
        addresses: v4(&[[10, 99, 0, 52], [10, 99, 0, 53]]),
    }
}

fn repr_v2_noauth() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 53,
        priority: 100,
        advert_int: 200,
        auth: Auth::None,
        addresses: v4(&[[10, 99, 0, 54]]),
    }
}

fn repr_v3_v4_fast(priority: u8) -> Repr {
    Repr {
        version: Version::V3,
        vrid: 61,
        priority,
        advert_int: 10,
        auth: Auth::None,
        addresses: v4(&[[10, 99, 0, 61], [10, 99, 0, 62]]),
    }
}

fn repr_v3_v4_unicast() -> Repr {
    Repr {
        version: Version::V3,
        vrid: 62,
        priority: 110,
        advert_int: 100,
        auth: Auth::None,
        addresses: v4(&[[10, 99, 0, 63]]),
    }
}

fn repr_v3_v6(priority: u8) -> Repr {
    Repr {
        version: Version::V3,
        vrid: 71,
        priority,
        advert_int: 100,
        auth: Auth::None,
        addresses: v6(&[VIP6_LL, VIP6_GLOBAL]),
    }
}

/// Every static fixture with its endpoints and expected representation.
fn fixtures() -> Vec<(&'static str, &'static [u8], Endpoints, Repr)> {
    std::vec![
        (
            "v2 pass 1 vip",
            &V2_PASS_1VIP[..],
            MCAST4,
            repr_v2_pass_1vip()
        ),
        (
            "v2 pass 2 vips",
            &V2_PASS_2VIPS[..],
            MCAST4,
            repr_v2_pass_2vips(200)
        ),
        ("v2 no auth", &V2_NOAUTH[..], MCAST4, repr_v2_noauth()),
        (
            "v2 prio 0",
            &V2_PASS_2VIPS_PRIO0[..],
            MCAST4,
            repr_v2_pass_2vips(0)
        ),
        ("v3 v4 fast", &V3_V4_FAST[..], MCAST4, repr_v3_v4_fast(120)),
        (
            "v3 v4 unicast",
            &V3_V4_UNICAST[..],
            UNICAST4,
            repr_v3_v4_unicast()
        ),
        (
            "v3 v4 prio 0",
            &V3_V4_FAST_PRIO0[..],
            MCAST4,
            repr_v3_v4_fast(0)
        ),
        ("v3 v6", &V3_V6[..], MCAST6, repr_v3_v6(130)),
        ("v3 v6 prio 0", &V3_V6_PRIO0[..], MCAST6, repr_v3_v6(0)),
    ]
}

fn parse(bytes: &[u8], endpoints: &Endpoints) -> Result<Repr, Error> {
    Repr::parse(&Packet::new_unchecked(bytes), endpoints, ChecksumMode::Rfc)
}

fn emit(repr: &Repr, endpoints: &Endpoints, mode: ChecksumMode) -> Vec<u8> {
    let mut buf = std::vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), endpoints, mode)
        .unwrap();
    buf
}

/// Recomputes the checksum of a modified message so that the test reaches
/// the check after it.
fn refill(bytes: &mut [u8], endpoints: &Endpoints) {
    Packet::new_unchecked(bytes).fill_checksum(endpoints, ChecksumMode::Rfc);
}

#[test]
fn constants() {
    assert_eq!(HEADER_LEN, 8);
    assert_eq!(PROTOCOL, 112);
    assert_eq!(IPV4_MULTICAST.to_string(), "224.0.0.18");
    assert_eq!(IPV6_MULTICAST.to_string(), "ff02::12");
    assert_eq!(TTL, 255);
    assert_eq!(MAX_PACKET_LEN, 1448);
    assert_eq!(AddressFamily::Ipv4.multicast(), IpAddr::V4(IPV4_MULTICAST));
    assert_eq!(AddressFamily::Ipv6.multicast(), IpAddr::V6(IPV6_MULTICAST));
}

#[test]
fn deconstruct_v2() {
    let p = Packet::new_checked(&V2_PASS_2VIPS[..]).unwrap();
    assert_eq!(p.version(), 2);
    assert_eq!(p.msg_type(), 1);
    assert_eq!(p.vrid(), 52);
    assert_eq!(p.priority(), 200);
    assert_eq!(p.addr_count(), 2);
    assert_eq!(p.auth_type(), AUTH_TYPE_PASS);
    assert_eq!(p.advert_int(), 1);
    assert_eq!(p.checksum(), 0x931a);
    assert_eq!(p.packet_len(AddressFamily::Ipv4), 24);
    assert_eq!(p.ipv4_addr(0), Some(Ipv4Addr::new(10, 99, 0, 52)));
    assert_eq!(p.ipv4_addr(1), Some(Ipv4Addr::new(10, 99, 0, 53)));
    assert_eq!(p.ipv4_addr(2), None);
    assert_eq!(p.auth_data(), Some(*b"secret12"));
    assert!(p.verify_checksum(&MCAST4, ChecksumMode::Rfc));
    assert_eq!(p.compute_checksum(&MCAST4, ChecksumMode::Rfc), 0x931a);
    assert!(p.check_len_for(AddressFamily::Ipv4).is_ok());
    assert_eq!(p.into_inner(), &V2_PASS_2VIPS[..]);
}

#[test]
fn deconstruct_v3_ipv4() {
    let p = Packet::new_checked(&V3_V4_FAST[..]).unwrap();
    assert_eq!(p.version(), 3);
    assert_eq!(p.msg_type(), 1);
    assert_eq!(p.vrid(), 61);
    assert_eq!(p.priority(), 120);
    assert_eq!(p.addr_count(), 2);
    assert_eq!(p.reserved(), 0);
    assert_eq!(p.max_advert_int(), 10);
    assert_eq!(p.checksum(), 0x567e);
    assert_eq!(p.packet_len(AddressFamily::Ipv4), 16);
    assert_eq!(p.ipv4_addr(1), Some(Ipv4Addr::new(10, 99, 0, 62)));
    assert!(p.verify_checksum(&MCAST4, ChecksumMode::Rfc));
    // keepalived 2.2.7 includes the pseudo-header: the v2-style sum fails.
    assert!(!p.verify_checksum(&MCAST4, ChecksumMode::V3AsV2));
    // The pseudo-header holds the destination: a unicast one does not verify.
    assert!(!p.verify_checksum(&UNICAST4, ChecksumMode::Rfc));
}

#[test]
fn deconstruct_v3_ipv6() {
    let p = Packet::new_checked(&V3_V6[..]).unwrap();
    assert_eq!(p.version(), 3);
    assert_eq!(p.vrid(), 71);
    assert_eq!(p.priority(), 130);
    assert_eq!(p.addr_count(), 2);
    assert_eq!(p.max_advert_int(), 100);
    assert_eq!(p.packet_len(AddressFamily::Ipv6), 40);
    assert_eq!(p.ipv6_addr(0), Some(VIP6_LL));
    assert_eq!(p.ipv6_addr(1), Some(VIP6_GLOBAL));
    assert_eq!(p.ipv6_addr(2), None);
    assert!(p.verify_checksum(&MCAST6, ChecksumMode::Rfc));
    // V3AsV2 does not apply to IPv6.
    assert!(p.verify_checksum(&MCAST6, ChecksumMode::V3AsV2));
}

#[test]
fn construct_v2() {
    let mut buf = [0xa5u8; 20];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_version(2);
    p.set_msg_type(MSG_TYPE_ADVERTISEMENT);
    p.set_vrid(51);
    p.set_priority(150);
    p.set_addr_count(1);
    p.set_auth_type(AUTH_TYPE_PASS);
    p.set_advert_int(1);
    p.set_ipv4_addr(0, Ipv4Addr::new(10, 99, 0, 51));
    p.set_auth_data(b"tandem\0\0");
    p.fill_checksum(&MCAST4, ChecksumMode::Rfc);
    assert_eq!(buf, V2_PASS_1VIP);
}

#[test]
fn construct_v3_ipv6() {
    let mut buf = [0xa5u8; 40];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_version(3);
    p.set_msg_type(MSG_TYPE_ADVERTISEMENT);
    p.set_vrid(71);
    p.set_priority(130);
    p.set_addr_count(2);
    p.set_max_advert_int(100);
    p.set_ipv6_addr(0, VIP6_LL);
    p.set_ipv6_addr(1, VIP6_GLOBAL);
    p.fill_checksum(&MCAST6, ChecksumMode::Rfc);
    assert_eq!(buf, V3_V6);
}

#[test]
fn parse_fixtures() {
    for (name, bytes, endpoints, repr) in fixtures() {
        assert_eq!(parse(bytes, &endpoints), Ok(repr), "{name}");
    }
}

#[test]
fn emit_fixtures() {
    for (name, bytes, endpoints, repr) in fixtures() {
        assert_eq!(repr.buffer_len(), bytes.len(), "{name}");
        assert_eq!(emit(&repr, &endpoints, ChecksumMode::Rfc), bytes, "{name}");
    }
}

/// Reads a pcap file (Ethernet link type) and yields, for each VRRP packet,
/// the IP endpoints, the TTL / hop limit and the VRRP message.
fn pcap_vrrp(file: &[u8]) -> Vec<(Endpoints, u8, Vec<u8>)> {
    let u32le = |b: &[u8]| u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
    let u16be = |b: &[u8]| usize::from(u16::from_be_bytes([b[0], b[1]]));
    assert_eq!(u32le(&file[0..]), 0xa1b2_c3d4, "pcap magic");
    assert_eq!(u32le(&file[20..]), 1, "link type Ethernet");
    let mut out = Vec::new();
    let mut off = 24;
    while off < file.len() {
        let incl = u32le(&file[off + 8..]);
        let frame = &file[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ip = &frame[14..];
        match u16be(&frame[12..]) {
            0x0800 => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                assert_eq!(ip[9], PROTOCOL);
                let src = Ipv4Addr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap());
                let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&ip[16..20]).unwrap());
                let total = u16be(&ip[2..]);
                out.push((Endpoints::Ipv4 { src, dst }, ip[8], ip[ihl..total].to_vec()));
            }
            0x86dd => {
                assert_eq!(ip[6], PROTOCOL);
                let src = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
                let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
                let len = u16be(&ip[4..]);
                out.push((
                    Endpoints::Ipv6 { src, dst },
                    ip[7],
                    ip[40..40 + len].to_vec(),
                ));
            }
            other => panic!("unexpected ethertype {other:#x}"),
        }
    }
    out
}

/// Every advert keepalived sent in the captures parses and re-emits byte
/// for byte, checksum included.
#[test]
fn captured_adverts_round_trip() {
    let captures: [(&str, &[u8], usize); 3] = [
        ("v2", include_bytes!("captures/v2.pcap"), 15),
        ("v3v4", include_bytes!("captures/v3v4.pcap"), 40),
        ("v3v6", include_bytes!("captures/v3v6.pcap"), 4),
    ];
    let mut prio0 = 0;
    for (name, file, at_least) in captures {
        let packets = pcap_vrrp(file);
        assert!(
            packets.len() >= at_least,
            "{name}: {} packets",
            packets.len()
        );
        for (i, (endpoints, ttl, bytes)) in packets.iter().enumerate() {
            assert_eq!(*ttl, TTL, "{name} #{i}");
            let repr = parse(bytes, endpoints).unwrap_or_else(|e| panic!("{name} #{i}: {e}"));
            assert_eq!(
                &emit(&repr, endpoints, ChecksumMode::Rfc),
                bytes,
                "{name} #{i}"
            );
            if repr.priority == 0 {
                prio0 += 1;
            }
            // The static fixtures are among them.
            let fixture = fixtures()
                .into_iter()
                .find(|(_, b, e, _)| b == bytes && e == endpoints);
            if let Some((_, _, _, expected)) = fixture {
                assert_eq!(repr, expected, "{name} #{i}");
            }
        }
    }
    // keepalived resigns every master instance on SIGTERM: 3 + 2 + 1.
    assert!(prio0 >= 6, "{prio0} priority-0 adverts");
    for (name, bytes, endpoints, _) in fixtures() {
        let found = captures.iter().any(|(_, file, _)| {
            pcap_vrrp(file)
                .iter()
                .any(|(e, _, b)| b == bytes && *e == endpoints)
        });
        assert!(found, "fixture {name} not in the captures");
    }
}

#[test]
fn round_trip_both_checksum_modes() {
    for (name, _, endpoints, repr) in fixtures() {
        for mode in [ChecksumMode::Rfc, ChecksumMode::V3AsV2] {
            let bytes = emit(&repr, &endpoints, mode);
            let parsed = Repr::parse(&Packet::new_unchecked(&bytes[..]), &endpoints, mode);
            assert_eq!(parsed, Ok(repr.clone()), "{name} {mode:?}");
        }
    }
}

#[test]
fn v3_checksum_as_v2() {
    let repr = repr_v3_v4_fast(120);
    let bytes = emit(&repr, &MCAST4, ChecksumMode::V3AsV2);
    // Same message as keepalived's, only the checksum differs.
    assert_eq!(bytes[..6], V3_V4_FAST[..6]);
    assert_eq!(bytes[8..], V3_V4_FAST[8..]);
    assert_ne!(bytes[6..8], V3_V4_FAST[6..8]);
    // The v2-style checksum is the plain internet checksum of the message.
    let mut zeroed = bytes.clone();
    zeroed[6..8].fill(0);
    let plain = !checksum::fold(checksum::sum(0, &zeroed));
    assert_eq!(u16::from_be_bytes([bytes[6], bytes[7]]), plain);
    // Each mode rejects the other's checksum.
    assert!(matches!(
        parse(&bytes, &MCAST4),
        Err(Error::BadChecksum { .. })
    ));
    assert!(matches!(
        Repr::parse(
            &Packet::new_unchecked(&V3_V4_FAST[..]),
            &MCAST4,
            ChecksumMode::V3AsV2
        ),
        Err(Error::BadChecksum { .. })
    ));
    // IPv6 ignores the option.
    let v6 = emit(&repr_v3_v6(130), &MCAST6, ChecksumMode::V3AsV2);
    assert_eq!(v6, V3_V6);
}

#[test]
fn v2_checksum_ignores_endpoints_and_mode() {
    let other = Endpoints::Ipv4 {
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: Ipv4Addr::new(192, 0, 2, 2),
    };
    for mode in [ChecksumMode::Rfc, ChecksumMode::V3AsV2] {
        let p = Packet::new_unchecked(&V2_NOAUTH[..]);
        assert!(p.verify_checksum(&other, mode));
    }
}

// ---- one test per malformed case ----

#[test]
fn malformed_truncated() {
    for len in 0..HEADER_LEN {
        let bytes = &V3_V4_FAST[..len];
        assert_eq!(
            Packet::new_checked(bytes).unwrap_err(),
            Error::Truncated { len }
        );
        assert_eq!(parse(bytes, &MCAST4), Err(Error::Truncated { len }));
    }
}

#[test]
fn malformed_bad_version() {
    for version in [0u8, 1, 4, 15] {
        let mut bytes = V3_V4_FAST;
        bytes[0] = (version << 4) | 1;
        refill(&mut bytes, &MCAST4);
        assert_eq!(parse(&bytes, &MCAST4), Err(Error::BadVersion(version)));
    }
}

#[test]
fn malformed_bad_type() {
    for msg_type in [0u8, 2, 15] {
        let mut bytes = V2_PASS_1VIP;
        bytes[0] = 0x20 | msg_type;
        refill(&mut bytes, &MCAST4);
        assert_eq!(parse(&bytes, &MCAST4), Err(Error::BadType(msg_type)));
    }
}

#[test]
fn malformed_v2_over_ipv6() {
    let mut bytes = V3_V6;
    bytes[0] = 0x21;
    assert_eq!(parse(&bytes, &MCAST6), Err(Error::V2OverIpv6));
}

#[test]
fn malformed_no_addresses() {
    let mut bytes = [0x31, 0x3d, 0x78, 0x00, 0x00, 0x0a, 0, 0];
    refill(&mut bytes, &MCAST4);
    assert_eq!(parse(&bytes, &MCAST4), Err(Error::NoAddresses));
}

#[test]
fn malformed_length_mismatch() {
    // One octet short.
    let short = &V3_V4_FAST[..15];
    assert_eq!(
        parse(short, &MCAST4),
        Err(Error::LengthMismatch {
            count: 2,
            expected: 16,
            len: 15
        })
    );
    // Trailing octet.
    let mut long = V3_V4_FAST.to_vec();
    long.push(0);
    assert_eq!(
        parse(&long, &MCAST4),
        Err(Error::LengthMismatch {
            count: 2,
            expected: 16,
            len: 17
        })
    );
    // VRRPv2 without its authentication data.
    assert_eq!(
        parse(&V2_PASS_1VIP[..12], &MCAST4),
        Err(Error::LengthMismatch {
            count: 1,
            expected: 20,
            len: 12
        })
    );
    // An IPv4 message read as IPv6 (wrong family from the socket).
    assert_eq!(
        parse(&V3_V4_FAST, &MCAST6),
        Err(Error::LengthMismatch {
            count: 2,
            expected: 40,
            len: 16
        })
    );
    // Count larger than the addresses present.
    let mut bytes = V3_V6;
    bytes[3] = 3;
    assert_eq!(
        parse(&bytes, &MCAST6),
        Err(Error::LengthMismatch {
            count: 3,
            expected: 56,
            len: 40
        })
    );
}

#[test]
fn malformed_bad_checksum() {
    for (name, bytes, endpoints, _) in fixtures() {
        let mut bytes = bytes.to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let err = parse(&bytes, &endpoints).unwrap_err();
        assert!(matches!(err, Error::BadChecksum { .. }), "{name}: {err}");
    }
    // The checksum field itself.
    let mut bytes = V2_PASS_1VIP;
    bytes[7] = 0x01;
    assert_eq!(
        parse(&bytes, &MCAST4),
        Err(Error::BadChecksum {
            found: 0xf501,
            expected: 0xf500
        })
    );
}

#[test]
fn malformed_bad_checksum_wrong_pseudo_header() {
    let spoofed = Endpoints::Ipv6 {
        src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        dst: IPV6_MULTICAST,
    };
    assert!(matches!(
        parse(&V3_V6, &spoofed),
        Err(Error::BadChecksum { .. })
    ));
    assert!(matches!(
        parse(&V3_V4_UNICAST, &MCAST4),
        Err(Error::BadChecksum { .. })
    ));
}

#[test]
fn malformed_too_many_addresses() {
    // 21 IPv4 addresses: well formed, over keepalived's and our limit.
    let n = MAX_IPV4_ADDRS + 1;
    let mut bytes = std::vec![0u8; HEADER_LEN + n * 4];
    bytes[..8].copy_from_slice(&[0x31, 1, 100, n as u8, 0, 100, 0, 0]);
    refill(&mut bytes, &MCAST4);
    assert_eq!(
        parse(&bytes, &MCAST4),
        Err(Error::TooManyAddresses {
            count: n,
            max: MAX_IPV4_ADDRS
        })
    );
    // 91 IPv6 addresses.
    let n = MAX_IPV6_ADDRS + 1;
    let mut bytes = std::vec![0u8; HEADER_LEN + n * 16];
    bytes[..8].copy_from_slice(&[0x31, 1, 100, n as u8, 0, 100, 0, 0]);
    refill(&mut bytes, &MCAST6);
    assert_eq!(
        parse(&bytes, &MCAST6),
        Err(Error::TooManyAddresses {
            count: n,
            max: MAX_IPV6_ADDRS
        })
    );
}

#[test]
fn capacity_limits_accepted() {
    let addrs4: Vec<IpAddr> = (0..MAX_IPV4_ADDRS as u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)))
        .collect();
    let addrs6: Vec<IpAddr> = (0..MAX_IPV6_ADDRS as u16)
        .map(|i| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i)))
        .collect();
    for (addrs, endpoints) in [(addrs4, MCAST4), (addrs6, MCAST6)] {
        let repr = Repr {
            version: Version::V3,
            vrid: 9,
            priority: 100,
            advert_int: MAX_V3_INTERVAL,
            auth: Auth::None,
            addresses: Addresses::from_ip_addrs(&addrs).unwrap(),
        };
        let bytes = emit(&repr, &endpoints, ChecksumMode::Rfc);
        assert!(bytes.len() <= MAX_PACKET_LEN);
        assert_eq!(parse(&bytes, &endpoints), Ok(repr));
    }
}

#[test]
fn malformed_zero_vrid() {
    let mut bytes = V2_PASS_1VIP;
    bytes[1] = 0;
    refill(&mut bytes, &MCAST4);
    assert_eq!(parse(&bytes, &MCAST4), Err(Error::ZeroVrid));
}

#[test]
fn malformed_unsupported_auth_type() {
    for auth_type in [AUTH_TYPE_AH, 3, 255] {
        let mut bytes = V2_PASS_1VIP;
        bytes[4] = auth_type;
        refill(&mut bytes, &MCAST4);
        assert_eq!(
            parse(&bytes, &MCAST4),
            Err(Error::UnsupportedAuthType(auth_type))
        );
    }
}

#[test]
fn malformed_zero_interval_v2() {
    let mut bytes = V2_NOAUTH;
    bytes[5] = 0;
    refill(&mut bytes, &MCAST4);
    assert_eq!(parse(&bytes, &MCAST4), Err(Error::ZeroInterval));
}

#[test]
fn malformed_zero_interval_v3() {
    let mut bytes = V3_V6;
    bytes[4] = 0xf0; // reserved bits set, interval 0
    bytes[5] = 0;
    refill(&mut bytes, &MCAST6);
    assert_eq!(parse(&bytes, &MCAST6), Err(Error::ZeroInterval));
}

// ---- accepted oddities ----

#[test]
fn v3_reserved_bits_ignored() {
    let mut bytes = V3_V4_FAST;
    bytes[4] |= 0xf0;
    refill(&mut bytes, &MCAST4);
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.reserved(), 0xf);
    assert_eq!(p.max_advert_int(), 10);
    assert_eq!(parse(&bytes, &MCAST4), Ok(repr_v3_v4_fast(120)));
}

#[test]
fn v2_auth_data_ignored_without_auth() {
    let mut bytes = V2_NOAUTH;
    bytes[12..].copy_from_slice(b"whatever");
    refill(&mut bytes, &MCAST4);
    assert_eq!(parse(&bytes, &MCAST4), Ok(repr_v2_noauth()));
}

#[test]
fn v2_interval_seconds_to_centiseconds() {
    let mut bytes = V2_NOAUTH;
    bytes[5] = 255;
    refill(&mut bytes, &MCAST4);
    assert_eq!(parse(&bytes, &MCAST4).unwrap().advert_int, 25500);
}

// ---- emit errors ----

#[test]
fn emit_rejects_invalid_reprs() {
    let cases: [(Repr, Endpoints, Error); 9] = [
        (
            Repr {
                version: Version::V2,
                ..repr_v3_v6(100)
            },
            MCAST6,
            Error::V2OverIpv6,
        ),
        (repr_v3_v6(100), MCAST4, Error::FamilyMismatch),
        (repr_v2_noauth(), MCAST6, Error::FamilyMismatch),
        (
            Repr {
                addresses: Addresses::Ipv4(heapless::Vec::new()),
                ..repr_v2_noauth()
            },
            MCAST4,
            Error::NoAddresses,
        ),
        (
            Repr {
                vrid: 0,
                ..repr_v2_noauth()
            },
            MCAST4,
            Error::ZeroVrid,
        ),
        (
            Repr {
                advert_int: 0,
                ..repr_v3_v6(100)
            },
            MCAST6,
            Error::ZeroInterval,
        ),
        (
            Repr {
                advert_int: 150,
                ..repr_v2_noauth()
            },
            MCAST4,
            Error::IntervalOutOfRange(150),
        ),
        (
            Repr {
                advert_int: 4096,
                ..repr_v3_v6(100)
            },
            MCAST6,
            Error::IntervalOutOfRange(4096),
        ),
        (
            Repr {
                auth: Auth::pass(b"x"),
                ..repr_v3_v4_fast(100)
            },
            MCAST4,
            Error::AuthInV3,
        ),
    ];
    for (repr, endpoints, expected) in cases {
        assert_eq!(repr.check(&endpoints), Err(expected));
        let mut buf = [0x5au8; MAX_PACKET_LEN];
        let result = repr.emit(
            &mut Packet::new_unchecked(&mut buf[..]),
            &endpoints,
            ChecksumMode::Rfc,
        );
        assert_eq!(result, Err(expected));
        assert!(buf.iter().all(|b| *b == 0x5a), "{expected}: wrote on error");
    }
    let too_long = Repr {
        advert_int: 25600,
        ..repr_v2_noauth()
    };
    assert_eq!(
        too_long.check(&MCAST4),
        Err(Error::IntervalOutOfRange(25600))
    );
}

#[test]
fn emit_buffer_too_small() {
    let repr = repr_v2_pass_2vips(200);
    let mut buf = [0x5au8; 23];
    assert_eq!(
        repr.emit(
            &mut Packet::new_unchecked(&mut buf[..]),
            &MCAST4,
            ChecksumMode::Rfc
        ),
        Err(Error::BufferTooSmall {
            needed: 24,
            len: 23
        })
    );
    assert!(buf.iter().all(|b| *b == 0x5a));
}

#[test]
fn emit_into_larger_buffer() {
    let repr = repr_v2_pass_2vips(200);
    let mut buf = [0x5au8; 64];
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        &MCAST4,
        ChecksumMode::Rfc,
    )
    .unwrap();
    assert_eq!(buf[..24], V2_PASS_2VIPS);
    assert!(buf[24..].iter().all(|b| *b == 0x5a));
}

// ---- helpers ----

#[test]
fn auth_pass_pads_and_truncates() {
    assert_eq!(Auth::pass(b"tandem"), Auth::Pass(*b"tandem\0\0"));
    assert_eq!(Auth::pass(b"longpassword"), Auth::Pass(*b"longpass"));
    assert_eq!(Auth::pass(b""), Auth::Pass([0; 8]));
    assert_eq!(Auth::default(), Auth::None);
}

#[test]
fn endpoints_and_addresses() {
    let a4 = IpAddr::V4(SRC4);
    let a6 = IpAddr::V6(SRC6);
    assert_eq!(Endpoints::new(a4, IpAddr::V4(IPV4_MULTICAST)), Some(MCAST4));
    assert_eq!(Endpoints::new(a4, a6), None);
    assert_eq!(MCAST6.src(), a6);
    assert_eq!(MCAST6.dst(), IpAddr::V6(IPV6_MULTICAST));
    assert_eq!(MCAST6.family(), AddressFamily::Ipv6);
    assert_eq!(Addresses::from_ip_addrs(&[a4, a6]), None);
    assert_eq!(Addresses::from_ip_addrs(&[a6, a4]), None);
    assert_eq!(
        Addresses::from_ip_addrs(&[]).map(|a| a.is_empty()),
        Some(true)
    );
    let twentyone = [a4; MAX_IPV4_ADDRS + 1];
    assert_eq!(Addresses::from_ip_addrs(&twentyone), None);
    let addrs = repr_v3_v6(1).addresses;
    assert_eq!(addrs.len(), 2);
    assert_eq!(
        addrs.iter().collect::<Vec<_>>(),
        [IpAddr::V6(VIP6_LL), IpAddr::V6(VIP6_GLOBAL)]
    );
    assert_eq!(addrs.get(2), None);
    assert_eq!(Version::from_number(3), Some(Version::V3));
    assert_eq!(Version::from_number(4), None);
    assert_eq!(Version::V2.to_string(), "VRRPv2");
}

#[test]
fn error_display_names_the_problem() {
    let cases: [(Error, &str); 16] = [
        (Error::Truncated { len: 3 }, "truncated: 3 octets"),
        (Error::BadVersion(4), "version 4"),
        (Error::BadType(2), "type 2"),
        (Error::V2OverIpv6, "IPv6"),
        (Error::NoAddresses, "count 0"),
        (
            Error::LengthMismatch {
                count: 2,
                expected: 16,
                len: 15,
            },
            "count 2 calls for 16 octets, got 15",
        ),
        (
            Error::TooManyAddresses { count: 21, max: 20 },
            "21 addresses, at most 20",
        ),
        (
            Error::BadChecksum {
                found: 0xf501,
                expected: 0xf500,
            },
            "found 0xf501, expected 0xf500",
        ),
        (Error::ZeroVrid, "router ID 0"),
        (Error::UnsupportedAuthType(2), "Authentication Header"),
        (Error::UnsupportedAuthType(7), "authentication type 7"),
        (Error::ZeroInterval, "interval is zero"),
        (Error::IntervalOutOfRange(150), "150 cs"),
        (Error::AuthInV3, "VRRPv3 has no authentication"),
        (Error::FamilyMismatch, "address families"),
        (
            Error::BufferTooSmall {
                needed: 24,
                len: 23,
            },
            "23 octets, 24 needed",
        ),
    ];
    for (error, text) in cases {
        let shown = error.to_string();
        assert!(shown.contains(text), "{shown:?} lacks {text:?}");
    }
}

// ---- no panics on any input ----

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Exercises every accessor and the parser on `bytes`; must never panic.
fn poke(bytes: &[u8]) {
    let all_endpoints = [MCAST4, UNICAST4, MCAST6];
    let p = Packet::new_unchecked(bytes);
    if p.check_len().is_ok() {
        let _ = (p.version(), p.msg_type(), p.vrid(), p.priority());
        let _ = (p.addr_count(), p.auth_type(), p.advert_int());
        let _ = (p.max_advert_int(), p.reserved(), p.checksum());
        let _ = (p.ipv4_addr(300), p.ipv6_addr(300), p.auth_data());
        for i in 0..usize::from(p.addr_count()) + 1 {
            let _ = (p.ipv4_addr(i), p.ipv6_addr(i));
        }
        for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
            let _ = (p.check_len_for(family), p.packet_len(family));
        }
    }
    for endpoints in &all_endpoints {
        for mode in [ChecksumMode::Rfc, ChecksumMode::V3AsV2] {
            if p.check_len().is_ok() {
                let _ = p.verify_checksum(endpoints, mode);
            }
            if let Ok(repr) = Repr::parse(&p, endpoints, mode) {
                // Whatever parses re-emits and parses back the same.
                let mut buf = [0u8; MAX_PACKET_LEN];
                let len = repr.buffer_len();
                let mut out = Packet::new_unchecked(&mut buf[..len]);
                repr.emit(&mut out, endpoints, mode).unwrap();
                let again = Repr::parse(&Packet::new_unchecked(&buf[..len]), endpoints, mode);
                assert_eq!(again, Ok(repr));
            }
        }
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x7a6e_6465_6d21_0001);
    let seeds: Vec<&[u8]> = fixtures().iter().map(|f| f.1).collect();
    let mut parsed = 0;
    for round in 0..60_000 {
        let mut bytes: Vec<u8> = if round % 3 == 0 {
            // Pure noise, mostly short.
            let len = if rng.below(10) == 0 {
                rng.below(1600)
            } else {
                rng.below(64)
            };
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            // A real advert, mutated.
            seeds[rng.below(seeds.len())].to_vec()
        };
        for _ in 0..rng.below(4) {
            if bytes.is_empty() {
                break;
            }
            let i = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[i] ^= 1 << rng.below(8),
                1 => bytes[i] = rng.next() as u8,
                2 => bytes.truncate(i),
                _ => bytes.push(rng.next() as u8),
            }
        }
        // Often fix the checksum so the checks after it are reached too.
        if bytes.len() >= HEADER_LEN && rng.below(2) == 0 {
            let endpoints = [MCAST4, UNICAST4, MCAST6][rng.below(3)];
            refill(&mut bytes, &endpoints);
        }
        poke(&bytes);
        if [MCAST4, UNICAST4, MCAST6]
            .iter()
            .any(|e| parse(&bytes, e).is_ok())
        {
            parsed += 1;
        }
    }
    // The mutations keep a good share of valid adverts.
    assert!(parsed > 5_000, "only {parsed} parsed");
}

#[test]
fn every_prefix_of_every_fixture() {
    for (_, bytes, _, _) in fixtures() {
        for len in 0..=bytes.len() {
            poke(&bytes[..len]);
        }
    }
}

#[test]
fn error_display_full_texts() {
    let cases: [(Error, &str); 17] = [
        (
            Error::Truncated { len: 3 },
            "VRRP message truncated: 3 octets, the header alone is 8",
        ),
        (
            Error::BadVersion(4),
            "unsupported VRRP version 4 (expected 2 or 3)",
        ),
        (
            Error::BadType(2),
            "VRRP message type 2 is not an advertisement (1)",
        ),
        (Error::V2OverIpv6, "VRRPv2 over IPv6 (VRRPv2 is IPv4 only)"),
        (
            Error::NoAddresses,
            "VRRP advertisement carries no address (count 0)",
        ),
        (
            Error::LengthMismatch {
                count: 2,
                expected: 16,
                len: 15,
            },
            "VRRP length mismatch: address count 2 calls for 16 octets, got 15",
        ),
        (
            Error::TooManyAddresses { count: 21, max: 20 },
            "VRRP advertisement carries 21 addresses, at most 20 supported",
        ),
        (
            Error::BadChecksum {
                found: 0xf501,
                expected: 0x00a0,
            },
            "VRRP checksum mismatch: found 0xf501, expected 0x00a0",
        ),
        (Error::ZeroVrid, "VRRP virtual router ID 0 is invalid"),
        (
            Error::UnsupportedAuthType(2),
            "VRRP authentication type 2 (IP Authentication Header) is not supported",
        ),
        (
            Error::UnsupportedAuthType(7),
            "unknown VRRP authentication type 7",
        ),
        (Error::ZeroInterval, "VRRP advertisement interval is zero"),
        (
            Error::IntervalOutOfRange(150),
            "VRRP advertisement interval 150 cs cannot be encoded \
             (v2: whole seconds 1..=255, v3: 1..=4095 cs)",
        ),
        (Error::AuthInV3, "VRRPv3 has no authentication"),
        (
            Error::FamilyMismatch,
            "VRRP addresses and IP endpoints are of different address families",
        ),
        (
            Error::BufferTooSmall {
                needed: 24,
                len: 23,
            },
            "buffer too small for the VRRP message: 23 octets, 24 needed",
        ),
        (
            Error::BufferTooSmall { needed: 0, len: 0 },
            "buffer too small for the VRRP message: 0 octets, 0 needed",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}
