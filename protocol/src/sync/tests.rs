extern crate std;

use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::conntrack::{self, Entry, Manip, NatDelta, TcpInfo, TcpState, Tuple};
use crate::lease::{ClientId, Expiry, Hostname, HwAddr, Lease, Lease4, Lease6};

/// Deterministic PRNG (xorshift64* seeded through splitmix64).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key() -> Key {
    let material: Vec<u8> = (0u8..32).collect();
    Key::new(&material).unwrap()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

const WAN: [u8; 4] = [203, 0, 113, 10];

/// A masqueraded, established TCP/IPv4 connection as a dump reports it.
fn nat_tcp(rng: &mut Rng) -> Entry {
    let client = v4(192, 168, 1, 10 + rng.below(200) as u8);
    let server = v4(
        93 + rng.below(100) as u8,
        rng.below(256) as u8,
        rng.below(256) as u8,
        1 + rng.below(254) as u8,
    );
    let sport = 32768 + rng.below(28000) as u16;
    let dport = [443, 80, 22, 993][rng.below(4) as usize];
    let orig = Tuple::tcp(client, server, sport, dport);
    // Masquerade keeps the port unless it clashes (1 in 10 here).
    let nat_port = if rng.below(10) == 0 {
        1024 + rng.below(60000) as u16
    } else {
        sport
    };
    let delta = NatDelta {
        snat: Some(Manip {
            addr: IpAddr::V4(Ipv4Addr::from(WAN)),
            port: nat_port,
        }),
        dnat: None,
    };
    let mut e = Entry::with_nat(orig, delta);
    e.status = conntrack::IPS_SEEN_REPLY
        | conntrack::IPS_ASSURED
        | conntrack::IPS_CONFIRMED
        | conntrack::IPS_SRC_NAT
        | conntrack::IPS_SRC_NAT_DONE
        | conntrack::IPS_DST_NAT_DONE;
    e.timeout = 431_000 + rng.below(1000) as u32;
    e.tcp = Some(TcpInfo {
        state: TcpState::Established,
        wscale_orig: 7,
        wscale_reply: 7,
        flags_orig: 0x23,
        flags_reply: 0x23,
    });
    e.id = Some(rng.next() as u32);
    e
}

/// What survives the wire: everything but the kernel id.
fn wire_view(e: &Entry) -> Entry {
    Entry { id: None, ..*e }
}

fn variety() -> Vec<Entry> {
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    out.push(nat_tcp(&mut rng));
    out.push(nat_tcp(&mut rng));
    // UDP, no NAT, mark and zone.
    let mut e = Entry::with_nat(
        Tuple::udp(v4(10, 0, 0, 2), v4(10, 0, 1, 3), 5353, 53),
        NatDelta::NONE,
    );
    e.mark = 0xdead_beef;
    e.zone = 7;
    e.timeout = 30;
    e.status = conntrack::IPS_CONFIRMED;
    out.push(e);
    // ICMP echo, SNAT with another id.
    let orig = Tuple::icmp(v4(192, 168, 1, 5), v4(8, 8, 8, 8), 0x1234, 8, 0);
    out.push(Entry::with_nat(
        orig,
        NatDelta {
            snat: Some(Manip {
                addr: v4(203, 0, 113, 10),
                port: 0x4321,
            }),
            dnat: None,
        },
    ));
    // Port forward (DNAT) with another port, TCP without window data.
    let mut e = Entry::with_nat(
        Tuple::tcp(v4(198, 51, 100, 7), v4(203, 0, 113, 10), 40000, 8080),
        NatDelta {
            snat: None,
            dnat: Some(Manip {
                addr: v4(192, 168, 1, 20),
                port: 80,
            }),
        },
    );
    e.tcp = Some(TcpInfo::new(TcpState::SynRecv));
    out.push(e);
    // Both NATs, IPv6, wide window scales.
    let mut e = Entry::with_nat(
        Tuple::tcp(v6(1), v6(2), 1000, 2000),
        NatDelta {
            snat: Some(Manip {
                addr: v6(3),
                port: 1001,
            }),
            dnat: Some(Manip {
                addr: v6(4),
                port: 2001,
            }),
        },
    );
    e.tcp = Some(TcpInfo {
        state: TcpState::Unknown(200),
        wscale_orig: 16,
        wscale_reply: 255,
        flags_orig: 0xff,
        flags_reply: 1,
    });
    e.status = u32::MAX;
    e.timeout = u32::MAX;
    e.mark = u32::MAX;
    e.zone = u16::MAX;
    out.push(e);
    // ICMPv6 and GRE (explicit protocol).
    out.push(Entry::with_nat(
        Tuple::icmp(v6(1), v6(9), 77, 128, 0),
        NatDelta::NONE,
    ));
    out.push(Entry::with_nat(
        Tuple::new(v4(1, 2, 3, 4), v4(5, 6, 7, 8), conntrack::IPPROTO_GRE, 0, 0),
        NatDelta::NONE,
    ));
    // A reply that is not derivable: explicit reply tuple (other family).
    out.push(Entry::new(
        Tuple::udp(v4(1, 1, 1, 1), v4(2, 2, 2, 2), 1, 2),
        Tuple::udp(v6(5), v6(6), 3, 4),
    ));
    out
}

fn frame_with(records: &[Record]) -> Vec<u8> {
    let mut buf = [0u8; 1472];
    let header = Header {
        sender: 0x0aff_0001,
        epoch: 3,
        seq: 9,
        ack: 100,
    };
    let mut w = FrameWriter::new(&mut buf, &header).unwrap();
    for r in records {
        w.push(r).unwrap();
    }
    let n = w.finish(&key());
    buf[..n].to_vec()
}

fn decode(frame: &[u8]) -> Vec<Record> {
    let f = open(&key(), frame).unwrap();
    f.records().map(|r| r.unwrap()).collect()
}

#[test]
fn header_fixture() {
    // Alive only: the layout of the module docs.
    let f = frame_with(&[Record::Alive { next: 300 }]);
    assert_eq!(
        &f[..HEADER_LEN],
        &[
            0x54, 0x53, 1, 0, // magic "TS", version 1, flags 0
            0x0a, 0xff, 0x00, 0x01, // sender
            0, 0, 0, 3, // epoch
            0, 0, 0, 9, // seq
            0, 0, 0, 100, // ack
        ]
    );
    // Body: tag 8, varint 300 = ac 02.
    assert_eq!(f[HEADER_LEN..f.len() - TAG_LEN], [8, 0xac, 0x02]);
    assert_eq!(f.len(), OVERHEAD + 3);
    let v = Frame::new_checked(&f[..]).unwrap();
    assert_eq!(
        v.header(),
        Header {
            sender: 0x0aff_0001,
            epoch: 3,
            seq: 9,
            ack: 100
        }
    );
    assert_eq!(v.magic(), MAGIC);
    assert_eq!(v.version(), VERSION);
    assert!(v.verify(&key()).is_ok());
}

#[test]
fn record_kinds_round_trip() {
    let entries = variety();
    let mut records = Vec::new();
    records.push(Record::Seq(u32::MAX));
    for e in &entries {
        records.push(Record::CtNew(*e));
        records.push(Record::CtUpdate(*e));
        records.push(Record::CtDestroy(e.key()));
    }
    records.push(Record::Nack { first: 5, last: 9 });
    records.push(Record::ResyncRequest);
    records.push(Record::ResyncBegin);
    records.push(Record::ResyncEnd);
    records.push(Record::Alive { next: 0 });
    let f = frame_with(&records);
    let got = decode(&f);
    let want: Vec<Record> = records
        .iter()
        .map(|r| match r {
            Record::CtNew(e) => Record::CtNew(wire_view(e)),
            Record::CtUpdate(e) => Record::CtUpdate(wire_view(e)),
            other => *other,
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn reliable_kinds() {
    let e = variety()[0];
    assert!(Record::CtNew(e).is_reliable());
    assert!(Record::CtDestroy(e.key()).is_reliable());
    assert!(Record::ResyncBegin.is_reliable());
    assert!(Record::ResyncEnd.is_reliable());
    assert!(!Record::Seq(1).is_reliable());
    assert!(!Record::Alive { next: 1 }.is_reliable());
    assert!(!Record::ResyncRequest.is_reliable());
    assert!(!Record::Nack { first: 1, last: 1 }.is_reliable());
}

#[test]
fn snat_back_reference() {
    let mut rng = Rng::new(1);
    let a = nat_tcp(&mut rng);
    let b = nat_tcp(&mut rng);
    let one = frame_with(&[Record::CtNew(a)]).len();
    let two = frame_with(&[Record::CtNew(a), Record::CtNew(b)]).len();
    let alone = frame_with(&[Record::CtNew(b)]).len() - OVERHEAD;
    // After `a`, `b` does not repeat the 4-octet WAN address.
    assert_eq!(alone - (two - one), 4);
    assert_eq!(
        decode(&frame_with(&[Record::CtNew(a), Record::CtNew(b)])),
        [Record::CtNew(wire_view(&a)), Record::CtNew(wire_view(&b))]
    );
}

#[test]
fn max_record_len_holds() {
    let mut worst = 0;
    for e in variety() {
        for r in [Record::CtNew(e), Record::CtDestroy(e.key())] {
            let n = frame_with(&[r]).len() - OVERHEAD;
            worst = worst.max(n);
        }
    }
    // The worst case by construction: IPv6, both NATs with ports, mark,
    // zone, wide TCP, every varint at its longest.
    let mut e = variety()[5];
    e.timeout = u32::MAX;
    let n = frame_with(&[Record::CtUpdate(e)]).len() - OVERHEAD;
    worst = worst.max(n);
    let mut r = Entry::new(
        Tuple::new(v6(1), v6(2), 200, 1, 2),
        Tuple::new(v6(3), v6(4), 201, 3, 4),
    );
    r.status = u32::MAX;
    r.timeout = u32::MAX;
    r.mark = u32::MAX;
    r.zone = u16::MAX;
    r.tcp = Some(TcpInfo {
        state: TcpState::Unknown(255),
        wscale_orig: 255,
        wscale_reply: 255,
        flags_orig: 255,
        flags_reply: 255,
    });
    let n = frame_with(&[Record::CtNew(r)]).len() - OVERHEAD;
    worst = worst.max(n);
    assert!(worst <= MAX_RECORD_LEN, "{worst} > {MAX_RECORD_LEN}");
    for r in [
        Record::Seq(u32::MAX),
        Record::Nack {
            first: u32::MAX,
            last: u32::MAX,
        },
        Record::Alive { next: u32::MAX },
    ] {
        assert!(frame_with(&[r]).len() - OVERHEAD <= MAX_RECORD_LEN);
    }
}

/// The headline figure: octets on the wire per NAT'd TCP/IPv4 entry in a
/// full frame (1472 = 1500 − IPv4 − UDP), framing included.
#[test]
fn bytes_per_nat_tcp_entry() {
    let mut rng = Rng::new(42);
    let mut total_bytes = 0usize;
    let mut total_entries = 0usize;
    for frame_no in 0..20u32 {
        let mut buf = [0u8; 1472];
        let header = Header {
            sender: 1,
            epoch: 1,
            seq: frame_no + 1,
            ack: 0,
        };
        let mut w = FrameWriter::new(&mut buf, &header).unwrap();
        w.push(&Record::Seq(1_000_000 + frame_no * 64)).unwrap();
        let mut n = 0;
        loop {
            let e = nat_tcp(&mut rng);
            match w.push(&Record::CtNew(e)) {
                Ok(()) => n += 1,
                Err(PushError::Full) => break,
                Err(e) => panic!("{e}"),
            }
        }
        let len = w.finish(&key());
        total_bytes += len + 28; // plus IPv4 and UDP headers
        total_entries += n;
        let f = open(&key(), &buf[..len]).unwrap();
        assert_eq!(f.records().count(), n + 1);
    }
    let per_entry = total_bytes as f64 / total_entries as f64;
    let payload_per_entry = (total_bytes - 20 * 28) as f64 / total_entries as f64;
    std::println!(
        "sync: {} NAT'd TCP/IPv4 entries in 20 full frames: {:.2} B/entry of UDP payload \
         (frame header, Seq and MAC included), {:.2} B/entry with IPv4+UDP headers",
        total_entries,
        payload_per_entry,
        per_entry
    );
    assert!(payload_per_entry <= 25.0, "{payload_per_entry}");
}

#[test]
fn writer_full_leaves_frame_valid() {
    let mut buf = [0u8; MIN_FRAME_LEN];
    let mut w = FrameWriter::new(&mut buf, &Header::default()).unwrap();
    let mut rng = Rng::new(3);
    let mut n = 0;
    while w.push(&Record::CtNew(nat_tcp(&mut rng))).is_ok() {
        n += 1;
    }
    assert!(n >= 1);
    assert_eq!(w.records(), n);
    assert!(w.remaining() < MAX_RECORD_LEN);
    let len = w.finish(&key());
    let f = open(&key(), &buf[..len]).unwrap();
    assert_eq!(f.records().filter(|r| r.is_ok()).count(), n);

    let mut small = [0u8; MIN_FRAME_LEN - 1];
    assert_eq!(
        FrameWriter::new(&mut small, &Header::default()).unwrap_err(),
        PushError::Full
    );
    // An inconsistent entry is refused, not written.
    let mut buf = [0u8; MIN_FRAME_LEN];
    let mut w = FrameWriter::new(&mut buf, &Header::default()).unwrap();
    let bad = Entry::new(
        Tuple::udp(v4(1, 1, 1, 1), v6(1), 1, 2),
        Tuple::udp(v6(1), v4(1, 1, 1, 1), 2, 1),
    );
    assert_eq!(w.push(&Record::CtNew(bad)), Err(PushError::Inconsistent));
    assert_eq!(
        w.push(&Record::CtDestroy(bad.key())),
        Err(PushError::Inconsistent)
    );
    assert_eq!(w.body_len(), 0);
}

#[test]
fn mac_and_header_errors() {
    let f = frame_with(&[Record::ResyncRequest]);
    let other = Key::new(&[9u8; 32]).unwrap();
    assert_eq!(open(&other, &f).unwrap_err(), Error::BadMac);
    for i in 0..f.len() {
        let mut g = f.clone();
        g[i] ^= 0x01;
        let e = open(&key(), &g).unwrap_err();
        match i {
            0 | 1 => assert_eq!(e, Error::BadMagic),
            2 => assert_eq!(e, Error::BadVersion),
            3 => assert_eq!(e, Error::BadFlags),
            _ => assert_eq!(e, Error::BadMac),
        }
    }
    assert_eq!(
        open(&key(), &f[..OVERHEAD - 1]).unwrap_err(),
        Error::Truncated
    );
    assert_eq!(open(&key(), &f[..f.len() - 1]).unwrap_err(), Error::BadMac);
    assert_eq!(open(&key(), &[]).unwrap_err(), Error::Truncated);
    // Setters and fill_tag produce what the writer produces.
    let mut g = f.clone();
    let mut view = Frame::new_unchecked(&mut g[..]);
    view.set_header(&Header {
        sender: 5,
        epoch: 6,
        seq: 7,
        ack: 8,
    });
    assert_eq!(view.verify(&key()), Err(Error::BadMac));
    view.fill_tag(&key());
    assert_eq!(view.verify(&key()), Ok(()));
    assert_eq!(view.seq(), 7);
}

#[test]
fn keys() {
    assert_eq!(Key::new(&[0u8; 31]).unwrap_err(), KeyError::TooShort);
    assert!(Key::new(&[0u8; 100]).is_ok());
    let hex: std::string::String = (0u8..32).map(|b| std::format!("{b:02X}")).collect();
    let from_hex = Key::from_hex(&hex).unwrap();
    // The same material, whether raw or hex: the same tags.
    assert_eq!(from_hex.tag(b"abc"), key().tag(b"abc"));
    assert_eq!(
        Key::from_hex(&hex.to_lowercase()).unwrap().tag(b"x"),
        key().tag(b"x")
    );
    assert_eq!(Key::from_hex(&hex[..62]).unwrap_err(), KeyError::TooShort);
    assert_eq!(Key::from_hex(&hex[..63]).unwrap_err(), KeyError::BadHex);
    let mut bad = hex.clone();
    bad.replace_range(10..11, "g");
    assert_eq!(Key::from_hex(&bad).unwrap_err(), KeyError::BadHex);
    assert_ne!(Key::new(&[1u8; 32]).unwrap().tag(b"x"), key().tag(b"x"));
    assert_eq!(std::format!("{:?}", key()), "Key(..)");
}

#[test]
fn replay_window() {
    let mut w = ReplayWindow::new();
    assert_eq!(w.epoch(), None);
    assert_eq!(w.check(5, 10), Ok(Freshness::First));
    w.accept(5, 10);
    assert_eq!(w.epoch(), Some(5));
    assert_eq!(w.check(5, 10), Err(Error::Duplicate));
    assert_eq!(w.check(5, 11), Ok(Freshness::Current));
    // Reordering inside the window is fine, once.
    assert_eq!(w.check(5, 9), Ok(Freshness::Current));
    w.accept(5, 9);
    assert_eq!(w.check(5, 9), Err(Error::Duplicate));
    w.accept(5, 100);
    assert_eq!(w.check(5, 10), Err(Error::TooOld));
    assert_eq!(w.check(5, 36), Err(Error::TooOld));
    assert_eq!(w.check(5, 37), Ok(Freshness::Current));
    assert_eq!(w.check(5, 0), Err(Error::TooOld));
    assert_eq!(w.check(4, 1000), Err(Error::OldEpoch));
    assert_eq!(w.check(6, 1), Ok(Freshness::NewEpoch));
    w.accept(6, 1);
    assert_eq!(w.check(5, 101), Err(Error::OldEpoch));
    assert_eq!(w.check(6, 1), Err(Error::Duplicate));
    w.accept(6, 1000);
    assert_eq!(w.check(6, 999), Ok(Freshness::Current));
    w.reset();
    assert_eq!(w.check(0, 0), Ok(Freshness::First));
    assert!(seq_after(1, 0));
    assert!(seq_after(0, u32::MAX));
    assert!(!seq_after(5, 5));
    assert!(!seq_after(u32::MAX, 0));
}

#[test]
fn malformed_bodies() {
    // Unknown tag, truncated records, bad flags, back reference with no
    // previous address: all errors, never a panic.
    let cases: &[(&[u8], Error)] = &[
        (&[13], Error::UnknownRecord),
        (&[0x80, 0x01], Error::UnknownRecord),
        (&[0x80, 0x80, 0x80, 0x80, 0x10], Error::Malformed),
        (&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Error::Malformed),
        (&[0], Error::Malformed),
        (&[1, 0], Error::Malformed),
        (&[1, 0x80, 0x80, 0x02], Error::Malformed), // flag bit 15
        (
            &[3, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2],
            Error::Malformed,
        ), // SNAT on a key
        // SNAT back reference without an earlier address.
        (
            &[1, 0x18, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0, 0],
            Error::Malformed,
        ),
        (&[4, 1], Error::Malformed),
    ];
    for (body, want) in cases {
        let got: Vec<_> = Records::new(body).collect();
        assert_eq!(got.last(), Some(&Err(*want)), "{body:?}");
        assert!(got.iter().filter(|r| r.is_err()).count() == 1);
    }
    // A valid minimal entry: TCP/IPv4, no options.
    let body = [1u8, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0, 0];
    let got: Vec<_> = Records::new(&body).collect();
    assert_eq!(got.len(), 1);
    let Ok(Record::CtNew(e)) = got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(e.orig, Tuple::tcp(v4(1, 2, 3, 4), v4(5, 6, 7, 8), 1, 2));
    assert_eq!(e.reply, e.orig.inverse());
    assert_eq!(
        e.status,
        conntrack::IPS_SEEN_REPLY
            | conntrack::IPS_ASSURED
            | conntrack::IPS_CONFIRMED
            | conntrack::IPS_SRC_NAT
            | conntrack::IPS_SRC_NAT_DONE
            | conntrack::IPS_DST_NAT_DONE
    );
}

/// Garbage in: random frames, random bodies, and bit flips of valid
/// bodies never panic; every outcome is a value or a typed error.
#[test]
fn garbage_never_panics() {
    let mut rng = Rng::new(0x5eed);
    let k = key();
    let valid = {
        let mut records = std::vec![Record::Seq(1)];
        for e in variety() {
            records.push(Record::CtNew(e));
            records.push(Record::CtDestroy(e.key()));
        }
        for l in leases() {
            records.push(Record::LeaseChange(l));
        }
        records.push(Record::Alive { next: 3 });
        let mut buf = std::vec![0u8; 4096];
        let mut w = FrameWriter::new(&mut buf, &Header::default()).unwrap();
        for r in &records {
            w.push(r).unwrap();
        }
        let n = w.finish(&key());
        buf.truncate(n);
        buf
    };
    let body = valid[HEADER_LEN..valid.len() - TAG_LEN].to_vec();
    let mut decoded = 0usize;
    let mut errors = 0usize;
    for round in 0..20_000 {
        let bytes: Vec<u8> = match round % 4 {
            0 => {
                let n = rng.below(200) as usize;
                (0..n).map(|_| rng.next() as u8).collect()
            }
            1 => {
                let mut b = body.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] ^= 1 << rng.below(8);
                }
                b
            }
            2 => {
                let cut = rng.below(body.len() as u64) as usize;
                body[..cut].to_vec()
            }
            _ => {
                let mut b = valid.clone();
                let i = rng.below(b.len() as u64) as usize;
                b[i] = rng.next() as u8;
                b
            }
        };
        // As a whole frame.
        if let Ok(f) = Frame::new_checked(&bytes[..]) {
            let _ = f.verify(&k);
            let _ = f.header();
            let _ = f.tag();
        }
        // As a body.
        for r in Records::new(&bytes) {
            match r {
                Ok(_) => decoded += 1,
                Err(_) => errors += 1,
            }
        }
    }
    assert!(decoded > 1000 && errors > 1000, "{decoded} {errors}");
}

fn leases() -> [Lease; 3] {
    let v4 = Lease::V4(Lease4 {
        expires: Expiry::from_raw(1_700_000_000),
        hwaddr: HwAddr::ethernet([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
        addr: Ipv4Addr::new(192, 168, 1, 23),
        hostname: Hostname::new("laptop01").unwrap(),
        client_id: ClientId::from_slice(&[1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]).unwrap(),
    });
    let v6 = Lease::V6(Lease6 {
        expires: Expiry::NEVER,
        iaid: 0xdead_beef,
        temporary: true,
        addr: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x23),
        hostname: Hostname::new("h").unwrap(),
        duid: ClientId::from_slice(&[0, 1, 0, 1, 2, 3]).unwrap(),
    });
    // The longest: 63-character hostname, 255-octet client id, 16-octet
    // hardware address of another type, the longest expiry.
    let big = Lease::V4(Lease4 {
        expires: Expiry::from_raw(u64::MAX),
        hwaddr: HwAddr::new(0xffff, &[0xaa; 16]).unwrap(),
        addr: Ipv4Addr::new(10, 0, 0, 1),
        hostname: Hostname::new(&"x".repeat(63)).unwrap(),
        client_id: ClientId::from_slice(&[0xbb; 255]).unwrap(),
    });
    [v4, v6, big]
}

#[test]
fn lease_records_round_trip() {
    let [v4, v6, big] = leases();
    let records = [
        Record::Seq(7),
        Record::LeaseAdd(v4),
        Record::LeaseChange(v6),
        Record::LeaseDelete(v4),
        Record::CtNew(variety()[0]),
    ];
    let f = frame_with(&records);
    let mut want = records;
    want[4] = Record::CtNew(wire_view(&variety()[0]));
    assert_eq!(decode(&f), want);
    assert!(Record::LeaseAdd(v4).is_reliable());
    assert!(Record::LeaseDelete(v6).is_reliable());
    // A typical IPv4 lease costs its compact encoding plus the tag.
    let one = frame_with(&[Record::LeaseAdd(v4)]).len() - OVERHEAD;
    assert_eq!(one, 1 + v4.encoded_len());
    let n = frame_with(&[Record::LeaseAdd(big)]).len() - OVERHEAD;
    assert!(n <= MAX_RECORD_LEN, "{n}");
    assert!(n > MAX_RECORD_LEN - 8, "{n}: MAX_RECORD_LEN is tight");
    // The biggest lease fits a minimal frame.
    let mut buf = [0u8; MIN_FRAME_LEN];
    let mut w = FrameWriter::new(&mut buf, &Header::default()).unwrap();
    w.push(&Record::LeaseChange(big)).unwrap();
    // Garbage after a lease tag is an error, not a panic.
    let got: Vec<_> = Records::new(&[9, 0xff, 0xff]).collect();
    assert!(matches!(got.last(), Some(Err(Error::Malformed))));
}

#[test]
fn lease_duid_record() {
    use crate::lease::{Duid, DUID_MAX};
    let duid = Duid::from_slice(&[
        0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 2, 0x42, 0xac, 0x11, 0, 2,
    ])
    .unwrap();
    let longest = Duid::from_slice(&[0xcd; DUID_MAX]).unwrap();
    let [v4, ..] = leases();
    let records = [
        Record::Seq(3),
        Record::LeaseDuid(duid),
        Record::LeaseAdd(v4),
        Record::LeaseDuid(longest),
    ];
    let f = frame_with(&records);
    assert_eq!(decode(&f), records);
    assert!(Record::LeaseDuid(duid).is_reliable());
    // Tag, length octet, the octets.
    let one = frame_with(&[Record::LeaseDuid(duid)]).len() - OVERHEAD;
    assert_eq!(one, 2 + duid.as_slice().len());
    let n = frame_with(&[Record::LeaseDuid(longest)]).len() - OVERHEAD;
    assert!(n <= MAX_RECORD_LEN, "{n}");
    // The longest fits a minimal frame.
    let mut buf = [0u8; MIN_FRAME_LEN];
    let mut w = FrameWriter::new(&mut buf, &Header::default()).unwrap();
    w.push(&Record::LeaseDuid(longest)).unwrap();
    // A full frame refuses it whole.
    let mut small = [0u8; MIN_FRAME_LEN];
    let mut w = FrameWriter::new(&mut small, &Header::default()).unwrap();
    while w.remaining() > 10 {
        w.push(&Record::Seq(1)).unwrap();
    }
    let before = w.body_len();
    assert_eq!(w.push(&Record::LeaseDuid(duid)), Err(PushError::Full));
    assert_eq!(w.body_len(), before);
    // Truncated, empty and too long DUIDs are errors, never panics.
    for bad in [&[12u8][..], &[12, 0], &[12, 5, 1, 2], &[12, 131]] {
        let got: Vec<_> = Records::new(bad).collect();
        assert!(matches!(got.last(), Some(Err(Error::Malformed))), "{bad:?}");
    }
    // Tags beyond are unknown.
    let got: Vec<_> = Records::new(&[13]).collect();
    assert!(matches!(got.last(), Some(Err(Error::UnknownRecord))));
}

/// Records of every kind, for the wire-stability fixture.
fn fixture_records() -> Vec<Record> {
    let [v4, v6, _] = leases();
    let v = variety();
    let mut r = std::vec![Record::Seq(1_000_000)];
    r.extend(v.iter().map(|e| Record::CtNew(*e)));
    r.push(Record::CtUpdate(v[5]));
    r.extend(v.iter().map(|e| Record::CtDestroy(e.key())));
    r.extend([
        Record::Nack {
            first: 5,
            last: 300,
        },
        Record::Alive { next: u32::MAX },
        Record::ResyncRequest,
        Record::ResyncBegin,
        Record::ResyncEnd,
        Record::LeaseAdd(v4),
        Record::LeaseChange(v6),
        Record::LeaseDelete(v4),
        Record::LeaseDuid(crate::lease::Duid::from_slice(&[0, 1, 0, 1, 0x2a]).unwrap()),
    ]);
    r
}

/// The body of [`fixture_records`], as the first (serde + postcard)
/// encoder wrote it: the wire format must never change.
const GOLDEN_BODY: &str = concat!(
        "00c0843d0128c0a80194a5d504f4eb2c00160098a91acb00710a037723230138c0a801279cc87cec9455001600dfae1a",
        "037723230182180a0000020a00010314e9003596031eeffdb6f50d07019c02c0a8010508080808123408009e03004321",
        "01e004c6336407cb00710a9c401f909e0300c0a8011400500200000001e99e0120010db8000000000000000000000001",
        "20010db800000000000000000000000203e807d0e1fcffff0fffffffff0f20010db800000000000000000000000303e9",
        "20010db800000000000000000000000407d1ffffffff0fffff03c810ffff01010520010db80000000000000000000000",
        "0120010db8000000000000000000000009004d80009e030001062f0102030405060708000000009e0300018260010101",
        "0102020202000100029e030020010db800000000000000000000000520010db800000000000000000000000611000300",
        "0402f99f0120010db800000000000000000000000120010db800000000000000000000000203e807d0e1fcffff0fffff",
        "ffff0f03e907d1ffffffff0fffff03c810ffff010300c0a80194a5d504f4eb2c00160300c0a801279cc87cec94550016",
        "0382100a0000020a00010314e90035070304c0a8010508080808123408000300c6336407cb00710a9c401f9003811020",
        "010db800000000000000000000000120010db800000000000000000000000203e807d0ffff03030520010db800000000",
        "000000000000000120010db8000000000000000000000009004d800003062f0102030405060708000000000302010101",
        "0102020202000100020405ac0208ffffffff0f050607090c80e2cfaa06c0a8011706525400123456086c6170746f7030",
        "3107015254001234560a0f00fd000000000000000000000000000023effdb6f50d0168060001000102030b0c80e2cfaa",
        "06c0a8011706525400123456086c6170746f70303107015254001234560c05000100012a"
);

#[test]
fn wire_bytes_are_stable() {
    let recs = fixture_records();
    let mut buf = [0u8; 1472];
    let mut w = FrameWriter::new(&mut buf, &Header::default()).unwrap();
    for r in &recs {
        w.push(r).unwrap();
    }
    let n = w.body_len();
    let hex: std::string::String = buf[HEADER_LEN..HEADER_LEN + n]
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect();
    assert_eq!(hex, GOLDEN_BODY);
    let want: Vec<Record> = recs
        .iter()
        .map(|r| match r {
            Record::CtNew(e) => Record::CtNew(wire_view(e)),
            Record::CtUpdate(e) => Record::CtUpdate(wire_view(e)),
            r => *r,
        })
        .collect();
    let got: Vec<Record> = Records::new(&buf[HEADER_LEN..HEADER_LEN + n])
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got, want);
}

/// The tag of the old implementation (the `blake2` crate's `Blake2sMac`):
/// BLAKE2s-256 personalised `TndmKey1` over the material, then that digest
/// as the key of a 16-octet BLAKE2s personalised `TndmSyn1`.
fn oracle_tag(material: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    use blake2::digest::consts::{U16, U32};
    use blake2::digest::{FixedOutput, Update};
    use blake2::Blake2sMac;
    let mut kdf = Blake2sMac::<U32>::new_with_salt_and_personal(None, &[], b"TndmKey1").unwrap();
    Update::update(&mut kdf, material);
    let derived = kdf.finalize_fixed();
    let mut mac =
        Blake2sMac::<U16>::new_with_salt_and_personal(Some(&derived[..]), &[], b"TndmSyn1")
            .unwrap();
    Update::update(&mut mac, data);
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(&mac.finalize_fixed());
    t
}

#[test]
fn tags_are_stable() {
    // Golden: frames from older builds must still verify.
    let hex: std::string::String = key()
        .tag(b"tandem sync frame")
        .iter()
        .map(|b| std::format!("{b:02x}"))
        .collect();
    assert_eq!(hex, "1ff07f4ac2aa2b7352bc33a37a285c25");
    let material: Vec<u8> = (0u8..32).collect();
    assert_eq!(
        key().tag(b"tandem sync frame"),
        oracle_tag(&material, b"tandem sync frame")
    );
    let mut rng = Rng::new(7);
    let mut data = [0u8; 1500];
    for b in data.iter_mut() {
        *b = rng.next() as u8;
    }
    for case in 0..300usize {
        let mlen = 32 + rng.below(200) as usize;
        let material = &data[1000..1000 + mlen];
        let len = if case < 130 {
            case
        } else {
            rng.below(1473) as usize
        };
        let key = Key::new(material).unwrap();
        let want = oracle_tag(material, &data[..len]);
        assert_eq!(key.tag(&data[..len]), want, "case {case}");
        assert!(key.verify(&data[..len], &want));
        let mut bad = want;
        bad[case % TAG_LEN] ^= 1 << (case % 8);
        assert!(!key.verify(&data[..len], &bad));
        assert!(!key.verify(&data[..len], &want[..TAG_LEN - 1]));
    }
}
