//! Tests for the netlink layer and rtnetlink, against bytes captured from
//! the kernel and from iproute2 (see `fixtures/README.md` for how).
//!
//! Netlink is host byte order and the fixtures come from an x86_64 machine,
//! so this module only runs on little-endian hosts.

use core::net::IpAddr;

use super::route::*;
use super::*;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/netlink/fixtures/",
            $path
        ))
    };
}

static ACK: &[u8] = fixture!("kernel/ack.bin");
static ERROR_EEXIST: &[u8] = fixture!("kernel/error_eexist.bin");
static ERROR_EADDRNOTAVAIL: &[u8] = fixture!("kernel/error_eaddrnotavail.bin");
static ERROR_CAPPED: &[u8] = fixture!("kernel/error_capped.bin");
static ERROR_EXTACK: &[u8] = fixture!("kernel/error_extack.bin");
static LINK_DUMP: &[u8] = fixture!("kernel/link_dump.bin");
static LINK_DUMP_DONE: &[u8] = fixture!("kernel/link_dump_done.bin");
static ADDR_DUMP: &[u8] = fixture!("kernel/addr_dump.bin");
static ADDR_DUMP_DONE: &[u8] = fixture!("kernel/addr_dump_done.bin");
static EVENT_NEWADDR_V4_LABEL: &[u8] = fixture!("kernel/event_newaddr_v4_label.bin");
static EVENT_NEWADDR_V6: &[u8] = fixture!("kernel/event_newaddr_v6.bin");
static EVENT_DELADDR_V4: &[u8] = fixture!("kernel/event_deladdr_v4.bin");
static EVENT_DELADDR_V6: &[u8] = fixture!("kernel/event_deladdr_v6.bin");
static EVENT_LINK_LOWER_DOWN: &[u8] = fixture!("kernel/event_link_lower_down.bin");
static EVENT_LINK_UP: &[u8] = fixture!("kernel/event_link_up.bin");

static KERNEL_FIXTURES: &[&[u8]] = &[
    ACK,
    ERROR_EEXIST,
    ERROR_EADDRNOTAVAIL,
    ERROR_CAPPED,
    ERROR_EXTACK,
    LINK_DUMP,
    LINK_DUMP_DONE,
    ADDR_DUMP,
    ADDR_DUMP_DONE,
    EVENT_NEWADDR_V4_LABEL,
    EVENT_NEWADDR_V6,
    EVENT_DELADDR_V4,
    EVENT_DELADDR_V6,
    EVENT_LINK_LOWER_DOWN,
    EVENT_LINK_UP,
];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Parse a buffer holding exactly one message.
fn single(buf: &[u8]) -> (Header, Message<'_>) {
    let mut it = Messages::new(buf);
    let packet = it.next().expect("one message").expect("well-formed");
    assert!(it.next().is_none(), "exactly one message");
    (packet.header(), Message::parse(&packet).expect("parses"))
}

fn all(buf: &[u8]) -> Vec<Message<'_>> {
    Messages::new(buf)
        .map(|p| Message::parse(&p.unwrap()).unwrap())
        .collect()
}

// ------------------------------------------------------------ header layer

#[test]
fn header_deconstruct() {
    let p = Packet::new_checked(ACK).unwrap();
    assert_eq!(p.length(), 36);
    assert_eq!(p.message_type(), NLMSG_ERROR);
    assert_eq!(p.flags(), NLM_F_CAPPED);
    assert_eq!(p.sequence_number(), 101);
    assert_eq!(p.port_number(), 0xcf47_4110);
    assert_eq!(p.total_len(), 36);
    assert_eq!(p.payload().len(), 20);
}

#[test]
fn header_construct() {
    let mut buf = [0u8; 16];
    let header = Packet::new_checked(ACK).unwrap().header();
    header.emit(&mut buf).unwrap();
    assert_eq!(&buf[..], &ACK[..16]);
    assert_eq!(Header::parse(&buf), Ok(header));
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_sequence_number(7);
    p.set_port_number(9);
    p.set_flags(NLM_F_REQUEST);
    p.set_message_type(RTM_GETLINK);
    p.set_length(16);
    assert_eq!(
        Header::parse(&buf),
        Ok(Header {
            length: 16,
            message_type: RTM_GETLINK,
            flags: NLM_F_REQUEST,
            sequence_number: 7,
            port_number: 9,
        })
    );
}

#[test]
fn header_emit_buffer_too_small() {
    let h = Header::parse(ACK).unwrap();
    assert_eq!(h.emit(&mut [0u8; 15]), Err(Error::BufferTooSmall));
}

#[test]
fn align_rounds_up_and_saturates() {
    assert_eq!(align(0), 0);
    assert_eq!(align(1), 4);
    assert_eq!(align(4), 4);
    assert_eq!(align(5), 8);
    assert_eq!(align(usize::MAX), usize::MAX & !3);
}

#[test]
fn messages_over_multipart_buffer() {
    let headers: Vec<Header> = Messages::new(LINK_DUMP)
        .map(|p| p.unwrap().header())
        .collect();
    assert_eq!(headers.len(), 3);
    assert_eq!(
        headers.iter().map(|h| h.length).collect::<Vec<_>>(),
        [1100, 1124, 1124]
    );
    for h in &headers {
        assert_eq!(h.message_type, RTM_NEWLINK);
        assert_eq!(h.flags, NLM_F_MULTI);
        assert_eq!(h.sequence_number, 114);
    }
}

#[test]
fn messages_empty_buffer() {
    assert!(Messages::new(&[]).next().is_none());
}

#[test]
fn messages_each_packet_is_exactly_its_message() {
    for p in Messages::new(LINK_DUMP) {
        let p = p.unwrap();
        assert_eq!(p.into_inner().len(), p.length() as usize);
    }
}

// ------------------------------------------------------------ malformed messages

#[test]
fn malformed_truncated_header() {
    assert_eq!(Packet::new_checked(&ACK[..15]), Err(Error::Truncated));
    let mut it = Messages::new(&ACK[..15]);
    assert_eq!(it.next(), Some(Err(Error::Truncated)));
    assert_eq!(it.next(), None);
}

#[test]
fn malformed_length_smaller_than_header() {
    let mut buf = ACK.to_vec();
    buf[0] = 15;
    assert_eq!(Packet::new_checked(&buf[..]), Err(Error::LengthTooSmall));
    buf[0] = 0;
    let mut it = Messages::new(&buf);
    assert_eq!(it.next(), Some(Err(Error::LengthTooSmall)));
    assert_eq!(it.next(), None, "no infinite loop on a zero length");
}

#[test]
fn malformed_length_beyond_buffer() {
    assert_eq!(
        Packet::new_checked(&ACK[..35]),
        Err(Error::LengthBeyondBuffer)
    );
    let mut buf = ACK.to_vec();
    buf[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(
        Packet::new_checked(&buf[..]),
        Err(Error::LengthBeyondBuffer)
    );
}

#[test]
fn malformed_last_message_cut_short() {
    // A recv() buffer whose third message was cut: two messages, then one
    // error, then nothing.
    let cut = &LINK_DUMP[..LINK_DUMP.len() - 1];
    let mut it = Messages::new(cut);
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().unwrap().is_ok());
    assert_eq!(it.next(), Some(Err(Error::LengthBeyondBuffer)));
    assert_eq!(it.next(), None);
}

#[test]
fn malformed_trailing_bytes_after_last_message() {
    let mut buf = ACK.to_vec();
    buf.extend_from_slice(&[0, 0, 0, 0]);
    let mut it = Messages::new(&buf);
    assert!(it.next().unwrap().is_ok());
    assert_eq!(it.next(), Some(Err(Error::Truncated)));
    assert_eq!(it.next(), None);
}

#[test]
fn unaligned_last_message_is_accepted() {
    // The kernel pads, but a last message without its padding is still whole.
    let mut buf = ACK.to_vec();
    let mut noop = [0u8; 17];
    Header {
        length: 17,
        message_type: NLMSG_NOOP,
        flags: 0,
        sequence_number: 1,
        port_number: 0,
    }
    .emit(&mut noop)
    .unwrap();
    buf.extend_from_slice(&noop);
    let ps: Vec<_> = Messages::new(&buf).collect();
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[1].unwrap().length(), 17);
    assert_eq!(
        Message::parse(&ps[1].unwrap()),
        Ok(Message::Other(NLMSG_NOOP))
    );
}

// ------------------------------------------------------------ attributes

fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(value);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn nlas_iterate() {
    let mut buf = nla(IFLA_MTU, &1500u32.to_ne_bytes());
    buf.extend(nla(IFLA_IFNAME, b"eth0\0"));
    buf.extend(nla(IFLA_OPERSTATE, &[6]));
    let v: Vec<Nla<'_>> = Nlas::new(&buf).map(Result::unwrap).collect();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].as_u32(), Ok(1500));
    assert_eq!(v[1].as_str(), Ok("eth0"));
    assert_eq!(v[1].value(), b"eth0\0");
    assert_eq!(v[2].as_u8(), Ok(6));
}

#[test]
fn nla_flags_are_masked_from_kind() {
    let inner = nla(3 | NLA_F_NET_BYTEORDER, &[0x12, 0x34]);
    let buf = nla(7 | NLA_F_NESTED, &inner);
    let outer = Nlas::new(&buf).next().unwrap().unwrap();
    assert_eq!(outer.kind(), 7);
    assert_eq!(outer.raw_kind(), 7 | NLA_F_NESTED);
    assert!(outer.is_nested());
    assert!(!outer.is_net_byteorder());
    let inner = outer.nested().next().unwrap().unwrap();
    assert_eq!(inner.kind(), 3);
    assert!(inner.is_net_byteorder());
    assert_eq!(inner.as_be_u16(), Ok(0x1234));
}

#[test]
fn nla_last_attribute_without_padding() {
    let buf = nla(IFLA_IFNAME, b"v0\0");
    assert_eq!(buf.len(), 8);
    let v: Vec<_> = Nlas::new(&buf[..7]).collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].unwrap().as_str(), Ok("v0"));
}

#[test]
fn malformed_nla_header_truncated() {
    let mut buf = nla(IFLA_MTU, &1500u32.to_ne_bytes());
    buf.extend_from_slice(&[8, 0]);
    let mut it = Nlas::new(&buf);
    assert!(it.next().unwrap().is_ok());
    assert_eq!(it.next(), Some(Err(Error::NlaTruncated)));
    assert_eq!(it.next(), None);
}

#[test]
fn malformed_nla_length_smaller_than_header() {
    for len in 0u16..4 {
        let mut buf = nla(IFLA_MTU, &1500u32.to_ne_bytes());
        buf[0..2].copy_from_slice(&len.to_ne_bytes());
        let mut it = Nlas::new(&buf);
        assert_eq!(it.next(), Some(Err(Error::NlaLengthTooSmall)), "len {len}");
        assert_eq!(it.next(), None);
    }
}

#[test]
fn malformed_nla_past_end() {
    let mut buf = nla(IFLA_MTU, &1500u32.to_ne_bytes());
    buf[0..2].copy_from_slice(&9u16.to_ne_bytes());
    let mut it = Nlas::new(&buf);
    assert_eq!(it.next(), Some(Err(Error::NlaBeyondEnd)));
    assert_eq!(it.next(), None);
}

#[test]
fn malformed_nla_value_sizes() {
    let buf = nla(IFLA_MTU, &[1, 2]);
    let a = Nlas::new(&buf).next().unwrap().unwrap();
    let bad = Err(Error::BadAttributeLength { kind: IFLA_MTU });
    assert_eq!(a.as_u32(), bad);
    assert_eq!(a.as_u8(), Err(Error::BadAttributeLength { kind: IFLA_MTU }));
    assert_eq!(a.as_u16(), Ok(u16::from_ne_bytes([1, 2])));
    assert_eq!(
        a.as_be_u32(),
        Err(Error::BadAttributeLength { kind: IFLA_MTU })
    );
}

#[test]
fn malformed_nla_strings() {
    let no_nul = nla(IFLA_IFNAME, b"eth0");
    let a = Nlas::new(&no_nul).next().unwrap().unwrap();
    assert_eq!(a.as_str(), Err(Error::BadString { kind: IFLA_IFNAME }));
    let not_utf8 = nla(IFLA_IFNAME, b"\xff\xfe\0");
    let a = Nlas::new(&not_utf8).next().unwrap().unwrap();
    assert_eq!(a.as_str(), Err(Error::BadString { kind: IFLA_IFNAME }));
    let empty = nla(IFLA_IFNAME, b"");
    let a = Nlas::new(&empty).next().unwrap().unwrap();
    assert_eq!(a.as_str(), Err(Error::BadString { kind: IFLA_IFNAME }));
    let embedded = nla(IFLA_IFNAME, b"ab\0cd\0");
    let a = Nlas::new(&embedded).next().unwrap().unwrap();
    assert_eq!(a.as_str(), Ok("ab"));
}

// ------------------------------------------------------------ builder

#[test]
fn builder_nested_attributes() {
    let mut buf = [0xaau8; 64];
    let mut b = MessageBuilder::new(&mut buf, 0x100, NLM_F_REQUEST, 5);
    assert!(b.is_empty());
    b.push_fixed(&[2, 0, 0, 0]);
    let n = b.begin_nested(1);
    b.push_attr(2 | NLA_F_NET_BYTEORDER, &[10, 0, 0, 1]);
    b.push_attr(3, &[6]);
    b.end_nested(n);
    b.push_attr_str(4, "x");
    assert!(!b.is_empty());
    assert_eq!(b.error(), None);
    let len = b.finish().unwrap();
    assert_eq!(len, 16 + 4 + (4 + 8 + 8) + 8);
    let p = Packet::new_checked(&buf[..len]).unwrap();
    assert_eq!(p.header().sequence_number, 5);
    let attrs = &p.payload()[4..];
    let v: Vec<Nla<'_>> = Nlas::new(attrs).map(Result::unwrap).collect();
    assert_eq!(v.len(), 2);
    assert!(v[0].is_nested());
    let inner: Vec<Nla<'_>> = v[0].nested().map(Result::unwrap).collect();
    assert_eq!(inner[0].as_be_u32(), Ok(0x0a00_0001));
    assert_eq!(inner[1].as_u8(), Ok(6));
    assert_eq!(v[1].as_str(), Ok("x"));
    // Padding was zeroed, not left as 0xaa.
    assert_eq!(&buf[len - 2..len], &[0, 0]);
}

#[test]
fn builder_buffer_too_small() {
    assert_eq!(
        MessageBuilder::new(&mut [0u8; 15], 0x100, 0, 0).finish(),
        Err(Error::BufferTooSmall)
    );
    let mut buf = [0u8; 20];
    for fixed in [&[0u8; 5][..], &[0; 4]] {
        let mut b = MessageBuilder::new(&mut buf, 0x100, 0, 0);
        b.push_fixed(fixed);
        assert_eq!(
            b.finish(),
            (fixed.len() == 4)
                .then_some(20)
                .ok_or(Error::BufferTooSmall)
        );
    }
    // The first error sticks: later pushes that would fit do nothing.
    let mut b = MessageBuilder::new(&mut buf, 0x100, 0, 0);
    b.push_attr(1, &[1]);
    assert_eq!(b.error(), Some(Error::BufferTooSmall));
    b.push_fixed(&[0; 4]);
    assert_eq!(b.finish(), Err(Error::BufferTooSmall));
}

#[test]
fn builder_attribute_too_long() {
    let mut buf = vec![0u8; 70_000];
    let big = vec![0u8; 65_532];
    let mut b = MessageBuilder::new(&mut buf, 0x100, 0, 0);
    b.push_attr(1, &big);
    assert_eq!(b.finish(), Err(Error::TooLong));
    let mut b = MessageBuilder::new(&mut buf, 0x100, 0, 0);
    b.push_attr(1, &big[..65_531]);
    assert_eq!(b.finish(), Ok(16 + 65_536));
}

// ------------------------------------------------------------ requests vs iproute2

/// Our request with the fixture's sequence number must equal iproute2's bytes.
fn assert_same_as_ip(
    expected: &[u8],
    op: Op,
    emit: impl Fn(Op, u32, &mut [u8]) -> Result<usize, Error>,
    buffer_len: usize,
) {
    let seq = Packet::new_checked(expected).unwrap().sequence_number();
    let mut buf = [0u8; 256];
    let len = emit(op, seq, &mut buf).unwrap();
    assert_eq!(&buf[..len], expected);
    assert_eq!(buffer_len, len);
    // Every shorter buffer is refused, never overrun; the exact size works.
    for short in 0..len {
        assert_eq!(
            emit(op, seq, &mut buf[..short]),
            Err(Error::BufferTooSmall),
            "len {short}"
        );
    }
    assert_eq!(emit(op, seq, &mut buf[..len]), Ok(len));
}

fn check_addr(expected: &[u8], op: Op, req: AddressRequest<'_>) {
    assert_same_as_ip(
        expected,
        op,
        |op, seq, buf| req.emit(op, seq, buf),
        req.buffer_len(),
    );
}

fn check_route(expected: &[u8], op: Op, req: RouteRequest) {
    assert_same_as_ip(
        expected,
        op,
        |op, seq, buf| req.emit(op, seq, buf),
        req.buffer_len(),
    );
}

fn v0_addr(a: &str, prefix: u8) -> AddressRequest<'static> {
    AddressRequest::new(3, ip(a), prefix)
}

#[test]
fn emit_addr_add_v4() {
    check_addr(
        fixture!("iproute2/addr_add_v4.bin"),
        Op::Add,
        v0_addr("192.0.2.10", 24),
    );
}

#[test]
fn emit_addr_replace_v4() {
    check_addr(
        fixture!("iproute2/addr_replace_v4.bin"),
        Op::Replace,
        v0_addr("192.0.2.10", 24),
    );
}

#[test]
fn emit_addr_del_v4() {
    check_addr(
        fixture!("iproute2/addr_del_v4.bin"),
        Op::Delete,
        v0_addr("192.0.2.10", 24),
    );
}

#[test]
fn emit_addr_v4_label() {
    let mut r = v0_addr("192.0.2.11", 32);
    r.label = Some("v0:vip");
    check_addr(fixture!("iproute2/addr_add_v4_label.bin"), Op::Add, r);
    check_addr(fixture!("iproute2/addr_del_v4_label.bin"), Op::Delete, r);
}

#[test]
fn emit_addr_v4_scope_link() {
    let mut r = v0_addr("169.254.1.1", 16);
    r.scope = Scope::Link;
    check_addr(fixture!("iproute2/addr_add_v4_scope_link.bin"), Op::Add, r);
}

#[test]
fn emit_addr_v6_nodad() {
    let r = v0_addr("2001:db8::10", 64);
    assert_eq!(r.flags, IFA_F_NODAD, "IPv6 VIPs skip DAD by default");
    check_addr(fixture!("iproute2/addr_add_v6_nodad.bin"), Op::Add, r);
    check_addr(fixture!("iproute2/addr_del_v6_nodad.bin"), Op::Delete, r);
}

#[test]
fn emit_addr_v6_wide_flags_use_ifa_flags() {
    let mut r = v0_addr("2001:db8::11", 128);
    r.flags |= IFA_F_NOPREFIXROUTE;
    check_addr(
        fixture!("iproute2/addr_add_v6_noprefixroute.bin"),
        Op::Add,
        r,
    );
}

#[test]
fn emit_addr_v6_label_is_ignored() {
    let mut with = v0_addr("2001:db8::10", 64);
    with.label = Some("v0:vip");
    check_addr(fixture!("iproute2/addr_add_v6_nodad.bin"), Op::Add, with);
}

#[test]
fn emit_addr_v4_has_no_dad_flag() {
    assert_eq!(v0_addr("192.0.2.1", 24).flags, 0);
}

#[test]
fn emit_addr_rejects_bad_requests() {
    let mut buf = [0u8; 128];
    assert_eq!(
        v0_addr("192.0.2.1", 33).emit(Op::Add, 1, &mut buf),
        Err(Error::PrefixTooLong)
    );
    assert_eq!(
        v0_addr("2001:db8::1", 129).emit(Op::Add, 1, &mut buf),
        Err(Error::PrefixTooLong)
    );
    assert!(v0_addr("2001:db8::1", 128)
        .emit(Op::Add, 1, &mut buf)
        .is_ok());
    for label in ["", "sixteen-octets!!", "a\0b"] {
        let mut r = v0_addr("192.0.2.1", 24);
        r.label = Some(label);
        assert_eq!(
            r.emit(Op::Add, 1, &mut buf),
            Err(Error::BadLabel),
            "{label:?}"
        );
    }
    let mut r = v0_addr("192.0.2.1", 24);
    r.label = Some("fifteen-octets!");
    assert!(r.emit(Op::Add, 1, &mut buf).is_ok());
}

fn default_route() -> RouteRequest {
    let mut r = RouteRequest::new(ip("0.0.0.0"), 0);
    r.gateway = Some(ip("192.0.2.1"));
    r.prefsrc = Some(ip("192.0.2.10"));
    r.priority = Some(10);
    r.oif = Some(3);
    r
}

#[test]
fn emit_route_v4_default_via_src_metric_dev() {
    let r = default_route();
    check_route(fixture!("iproute2/route_add_v4_default.bin"), Op::Add, r);
    check_route(fixture!("iproute2/route_del_v4_default.bin"), Op::Delete, r);
}

#[test]
fn emit_route_v4_dev_only_is_link_scope() {
    let mut r = RouteRequest::new(ip("198.51.100.0"), 24);
    r.oif = Some(3);
    check_route(fixture!("iproute2/route_add_v4_dev.bin"), Op::Add, r);
    check_route(fixture!("iproute2/route_del_v4_dev.bin"), Op::Delete, r);
}

#[test]
fn emit_route_v6_replace_and_delete() {
    let mut r = RouteRequest::new(ip("2001:db8:1::"), 48);
    r.gateway = Some(ip("2001:db8::1"));
    r.priority = Some(1024);
    r.oif = Some(3);
    check_route(fixture!("iproute2/route_replace_v6.bin"), Op::Replace, r);
    check_route(fixture!("iproute2/route_del_v6.bin"), Op::Delete, r);
}

#[test]
fn emit_route_big_table_static() {
    let mut r = RouteRequest::new(ip("203.0.113.0"), 24);
    r.gateway = Some(ip("192.0.2.1"));
    r.table = 1000;
    r.protocol = RTPROT_STATIC;
    check_route(fixture!("iproute2/route_add_v4_table.bin"), Op::Add, r);
    check_route(fixture!("iproute2/route_del_v4_table.bin"), Op::Delete, r);
}

#[test]
fn emit_route_explicit_scope() {
    let mut r = RouteRequest::new(ip("198.51.100.0"), 24);
    r.oif = Some(3);
    r.scope = Some(Scope::Universe);
    let mut buf = [0u8; 64];
    let len = r.emit(Op::Add, 1, &mut buf).unwrap();
    assert_eq!(buf[HEADER_LEN + 6], 0, "rtm_scope");
    assert_eq!(len, r.buffer_len());
}

#[test]
fn emit_route_rejects_bad_requests() {
    let mut buf = [0u8; 128];
    let mut r = RouteRequest::new(ip("0.0.0.0"), 0);
    r.gateway = Some(ip("2001:db8::1"));
    assert_eq!(r.emit(Op::Add, 1, &mut buf), Err(Error::FamilyMismatch));
    let mut r = RouteRequest::new(ip("2001:db8::"), 32);
    r.prefsrc = Some(ip("192.0.2.1"));
    assert_eq!(r.emit(Op::Delete, 1, &mut buf), Err(Error::FamilyMismatch));
    let r = RouteRequest::new(ip("192.0.2.0"), 40);
    assert_eq!(r.emit(Op::Add, 1, &mut buf), Err(Error::PrefixTooLong));
}

#[test]
fn route_defaults() {
    let r = RouteRequest::new(ip("0.0.0.0"), 0);
    assert_eq!(r.table, RT_TABLE_MAIN);
    assert_eq!(r.protocol, RTPROT_TANDEM);
    assert_eq!(r.scope, None);
}

#[test]
fn emit_get_links() {
    let mut buf = [0u8; GET_LINKS_LEN];
    assert_eq!(get_links(&mut buf, 0x0102_0304), Ok(GET_LINKS_LEN));
    #[rustfmt::skip]
    let expected = [
        0x28, 0, 0, 0, 0x12, 0, 0x01, 0x03, // len 40, RTM_GETLINK, REQUEST|DUMP
        0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0, // seq, port 0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, AF_UNSPEC
        0x08, 0, 0x1d, 0, 0x08, 0, 0, 0,    // IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS
    ];
    assert_eq!(buf, expected);
    assert_eq!(
        get_links(&mut [0u8; GET_LINKS_LEN - 1], 1),
        Err(Error::BufferTooSmall)
    );
}

#[test]
fn emit_get_addresses() {
    let mut buf = [0u8; GET_ADDRESSES_LEN];
    assert_eq!(get_addresses(&mut buf, 9, AF_INET6), Ok(GET_ADDRESSES_LEN));
    #[rustfmt::skip]
    let expected = [
        0x18, 0, 0, 0, 0x16, 0, 0x01, 0x03, // len 24, RTM_GETADDR, REQUEST|DUMP
        9, 0, 0, 0, 0, 0, 0, 0,             // seq 9, port 0
        10, 0, 0, 0, 0, 0, 0, 0,            // ifaddrmsg, AF_INET6
    ];
    assert_eq!(buf, expected);
    assert_eq!(
        get_addresses(&mut [0u8; GET_ADDRESSES_LEN - 1], 1, AF_UNSPEC),
        Err(Error::BufferTooSmall)
    );
}

// ------------------------------------------------------------ kernel replies

#[test]
fn parse_ack() {
    let (h, m) = single(ACK);
    assert_eq!(h.flags, NLM_F_CAPPED);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert!(e.is_ack());
    assert_eq!(
        e,
        ErrorMessage {
            errno: 0,
            request_type: RTM_NEWADDR,
            seq: 101,
            message: None
        }
    );
}

#[test]
fn parse_error_eexist_full_echo() {
    let (h, m) = single(ERROR_EEXIST);
    assert_eq!(h.flags, 0);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert!(!e.is_ack());
    assert_eq!(e.errno, 17);
    assert_eq!(e.request_type, RTM_NEWADDR);
    assert_eq!(e.seq, 107);
    // The echoed request is our own RTM_NEWADDR for 192.0.2.10/24 on v0.
    let mut buf = [0u8; 64];
    let len = v0_addr("192.0.2.10", 24)
        .emit(Op::Add, 107, &mut buf)
        .unwrap();
    assert_eq!(&ERROR_EEXIST[20..], &buf[..len]);
}

#[test]
fn parse_error_eaddrnotavail() {
    let (_, m) = single(ERROR_EADDRNOTAVAIL);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert_eq!((e.errno, e.request_type, e.seq), (99, RTM_DELADDR, 125));
}

#[test]
fn parse_error_capped() {
    let (h, m) = single(ERROR_CAPPED);
    assert_eq!(h.flags, NLM_F_CAPPED);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert_eq!((e.errno, e.request_type, e.seq), (17, RTM_NEWROUTE, 112));
    assert_eq!(e.message, None);
}

#[test]
fn parse_error_extended_ack_message() {
    let (h, m) = single(ERROR_EXTACK);
    assert_eq!(h.flags, NLM_F_CAPPED | NLM_F_ACK_TLVS);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert_eq!((e.errno, e.request_type, e.seq), (101, RTM_NEWROUTE, 113));
    assert_eq!(e.message, Some("Nexthop has invalid gateway"));
}

#[test]
fn parse_error_bad_extended_ack_is_ignored() {
    let mut buf = ERROR_EXTACK.to_vec();
    buf[36] = 0xff; // the message attribute now claims 255 octets
    let (_, m) = single(&buf);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert_eq!((e.errno, e.message), (101, None));
}

#[test]
fn malformed_error_payload_too_short() {
    for cut in [16, 19, 20, 35] {
        let mut buf = ACK[..cut].to_vec();
        buf[0..4].copy_from_slice(&(cut as u32).to_ne_bytes());
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Message::parse(&p), Err(Error::PayloadTooShort), "cut {cut}");
    }
}

#[test]
fn error_code_is_negated_saturating() {
    let mut buf = ACK.to_vec();
    buf[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
    let (_, m) = single(&buf);
    let Message::Error(e) = m else {
        panic!("{m:?}")
    };
    assert_eq!(e.errno, i32::MAX);
}

#[test]
fn parse_done() {
    for buf in [LINK_DUMP_DONE, ADDR_DUMP_DONE] {
        let (h, m) = single(buf);
        assert_eq!(m, Message::Done);
        assert_eq!(h.flags, NLM_F_MULTI);
    }
}

#[test]
fn parse_link_dump() {
    let links: Vec<LinkMessage<'_>> = all(LINK_DUMP)
        .into_iter()
        .map(|m| match m {
            Message::NewLink(l) => l,
            m => panic!("{m:?}"),
        })
        .collect();
    assert_eq!(links.len(), 3);
    let lo = links[0];
    assert_eq!(lo.name, Some("lo"));
    assert_eq!(lo.ifindex, 1);
    assert_eq!(lo.link_type, 772);
    assert_eq!(lo.mtu, Some(65536));
    assert_eq!(lo.operstate, Some(OperState::Unknown));
    assert_eq!(lo.mac(), Some([0; 6]));
    assert_eq!(lo.flags & IFF_LOOPBACK, IFF_LOOPBACK);
    assert!(lo.is_up() && lo.is_running() && lo.is_lower_up());
    let v1 = links[1];
    assert_eq!((v1.name, v1.ifindex), (Some("v1"), 2));
    assert_eq!(v1.mac(), Some([2, 0, 0, 0, 0, 2]));
    let v0 = links[2];
    assert_eq!(
        v0,
        LinkMessage {
            link_type: 1,
            ifindex: 3,
            flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP,
            change: 0,
            name: Some("v0"),
            operstate: Some(OperState::Up),
            address: Some(&[2, 0, 0, 0, 0, 1]),
            mtu: Some(1500),
        }
    );
}

#[test]
fn parse_link_events() {
    let (h, m) = single(EVENT_LINK_LOWER_DOWN);
    assert_eq!(
        (h.sequence_number, h.port_number),
        (0, 0),
        "multicast event"
    );
    let Message::NewLink(l) = m else {
        panic!("{m:?}")
    };
    assert_eq!(l.name, Some("v0"));
    assert!(l.is_up());
    assert!(!l.is_running());
    assert!(!l.is_lower_up());
    assert_eq!(l.operstate, Some(OperState::LowerLayerDown));

    let (_, m) = single(EVENT_LINK_UP);
    let Message::NewLink(l) = m else {
        panic!("{m:?}")
    };
    assert_eq!(l.name, Some("v0"));
    assert!(l.is_up() && l.is_running() && l.is_lower_up());
    assert_eq!(l.operstate, Some(OperState::Up));
}

#[test]
fn parse_addr_dump() {
    type Row<'a> = (u32, IpAddr, u8, Scope, Option<&'a str>, u32);
    let addrs: Vec<Row<'_>> = all(ADDR_DUMP)
        .into_iter()
        .map(|m| match m {
            Message::NewAddress(a) => (
                a.ifindex,
                a.addr().unwrap(),
                a.prefix_len,
                a.scope,
                a.label,
                a.flags,
            ),
            m => panic!("{m:?}"),
        })
        .collect();
    let p = IFA_F_PERMANENT;
    assert_eq!(
        addrs,
        [
            (1, ip("127.0.0.1"), 8, Scope::Host, Some("lo"), p),
            (3, ip("169.254.1.1"), 16, Scope::Link, Some("v0"), p),
            (3, ip("192.0.2.10"), 24, Scope::Universe, Some("v0"), p),
            (3, ip("192.0.2.11"), 32, Scope::Universe, Some("v0:vip"), p),
            (1, ip("::1"), 128, Scope::Host, None, p),
            (2, ip("fe80::ff:fe00:2"), 64, Scope::Link, None, p),
            (
                3,
                ip("2001:db8::11"),
                128,
                Scope::Universe,
                None,
                p | IFA_F_NODAD | IFA_F_NOPREFIXROUTE
            ),
            (
                3,
                ip("2001:db8::10"),
                64,
                Scope::Universe,
                None,
                p | IFA_F_NODAD
            ),
        ]
    );
}

#[test]
fn parse_addr_events() {
    let (_, m) = single(EVENT_NEWADDR_V4_LABEL);
    assert_eq!(
        m,
        Message::NewAddress(AddressMessage {
            family: AF_INET,
            prefix_len: 32,
            flags: IFA_F_PERMANENT,
            scope: Scope::Universe,
            ifindex: 3,
            address: Some(ip("192.0.2.11")),
            local: Some(ip("192.0.2.11")),
            label: Some("v0:vip"),
        })
    );
    let (h, m) = single(EVENT_NEWADDR_V6);
    assert_eq!(h.sequence_number, 0);
    assert_eq!(
        m,
        Message::NewAddress(AddressMessage {
            family: AF_INET6,
            prefix_len: 64,
            flags: IFA_F_PERMANENT | IFA_F_NODAD,
            scope: Scope::Universe,
            ifindex: 3,
            address: Some(ip("2001:db8::10")),
            local: None,
            label: None,
        })
    );
    let (_, m) = single(EVENT_DELADDR_V4);
    let Message::DelAddress(a) = m else {
        panic!("{m:?}")
    };
    assert_eq!(
        (a.addr(), a.prefix_len, a.label),
        (Some(ip("192.0.2.10")), 24, Some("v0"))
    );
    let (_, m) = single(EVENT_DELADDR_V6);
    let Message::DelAddress(a) = m else {
        panic!("{m:?}")
    };
    assert_eq!(a.addr(), Some(ip("2001:db8::10")));
}

// ------------------------------------------------------------ malformed family messages

/// A message of `kind` with `payload`, as bytes.
fn message(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + payload.len() + 4];
    let mut b = MessageBuilder::new(&mut buf, kind, 0, 0);
    b.push_fixed(payload);
    let len = b.finish().unwrap();
    buf.truncate(len);
    buf
}

fn parse_one(buf: &[u8]) -> Result<Message<'_>, Error> {
    Message::parse(&Packet::new_checked(buf).unwrap())
}

#[test]
fn malformed_link_payload_too_short() {
    let buf = message(RTM_NEWLINK, &[0; 12]);
    assert_eq!(parse_one(&buf), Err(Error::PayloadTooShort));
    let buf = message(RTM_DELLINK, &[]);
    assert_eq!(parse_one(&buf), Err(Error::PayloadTooShort));
}

#[test]
fn malformed_link_attribute() {
    let mut payload = vec![0u8; IFINFOMSG_LEN];
    payload.extend(nla(IFLA_MTU, &[0, 0]));
    let buf = message(RTM_NEWLINK, &payload);
    assert_eq!(
        parse_one(&buf),
        Err(Error::BadAttributeLength { kind: IFLA_MTU })
    );

    let mut payload = vec![0u8; IFINFOMSG_LEN];
    payload.extend(nla(IFLA_OPERSTATE, &[6, 0]));
    let buf = message(RTM_NEWLINK, &payload);
    assert_eq!(
        parse_one(&buf),
        Err(Error::BadAttributeLength {
            kind: IFLA_OPERSTATE
        })
    );

    let mut payload = vec![0u8; IFINFOMSG_LEN];
    payload.extend(nla(IFLA_IFNAME, b"v0"));
    let buf = message(RTM_NEWLINK, &payload);
    assert_eq!(parse_one(&buf), Err(Error::BadString { kind: IFLA_IFNAME }));
}

#[test]
fn malformed_link_nla_in_captured_dump() {
    // Corrupt the first attribute of lo's message in the captured dump.
    let mut buf = LINK_DUMP[..1100].to_vec();
    let at = HEADER_LEN + IFINFOMSG_LEN;
    buf[at..at + 2].copy_from_slice(&2000u16.to_ne_bytes());
    assert_eq!(parse_one(&buf), Err(Error::NlaBeyondEnd));
    buf[at..at + 2].copy_from_slice(&3u16.to_ne_bytes());
    assert_eq!(parse_one(&buf), Err(Error::NlaLengthTooSmall));
}

#[test]
fn malformed_addr_payload_too_short() {
    let buf = message(RTM_NEWADDR, &[2, 24, 0, 0]);
    assert_eq!(parse_one(&buf), Err(Error::PayloadTooShort));
    let buf = message(RTM_DELADDR, &[]);
    assert_eq!(parse_one(&buf), Err(Error::PayloadTooShort));
}

#[test]
fn malformed_addr_wrong_address_length() {
    let mut payload = vec![AF_INET, 24, 0, 0, 3, 0, 0, 0];
    payload.extend(nla(IFA_LOCAL, &[192, 0, 2, 1, 0]));
    let buf = message(RTM_NEWADDR, &payload);
    assert_eq!(
        parse_one(&buf),
        Err(Error::BadAttributeLength { kind: IFA_LOCAL })
    );

    let mut payload = vec![AF_INET6, 64, 0, 0, 3, 0, 0, 0];
    payload.extend(nla(IFA_ADDRESS, &[192, 0, 2, 1]));
    let buf = message(RTM_NEWADDR, &payload);
    assert_eq!(
        parse_one(&buf),
        Err(Error::BadAttributeLength { kind: IFA_ADDRESS })
    );

    let mut payload = vec![AF_INET, 24, 0, 0, 3, 0, 0, 0];
    payload.extend(nla(IFA_FLAGS, &[1]));
    let buf = message(RTM_NEWADDR, &payload);
    assert_eq!(
        parse_one(&buf),
        Err(Error::BadAttributeLength { kind: IFA_FLAGS })
    );
}

#[test]
fn addr_of_unknown_family_has_no_address() {
    let mut payload = vec![7, 0, 0, 0, 3, 0, 0, 0];
    payload.extend(nla(IFA_ADDRESS, &[1, 2, 3]));
    let buf = message(RTM_NEWADDR, &payload);
    let Ok(Message::NewAddress(a)) = parse_one(&buf) else {
        panic!()
    };
    assert_eq!((a.family, a.addr()), (7, None));
}

#[test]
fn other_message_types_are_passed_through() {
    let buf = message(RTM_NEWROUTE, &[0; RTMSG_LEN]);
    assert_eq!(parse_one(&buf), Ok(Message::Other(RTM_NEWROUTE)));
    let buf = message(NLMSG_OVERRUN, &[]);
    assert_eq!(parse_one(&buf), Ok(Message::Other(NLMSG_OVERRUN)));
}

// ------------------------------------------------------------ robustness

/// Walk everything a port would walk: messages, parsed messages, and every
/// attribute (nested too). Must never panic.
fn walk(buf: &[u8]) {
    for p in Messages::new(buf) {
        let Ok(p) = p else { continue };
        let _ = Message::parse(&p);
        let payload = p.payload();
        for skip in [IFINFOMSG_LEN, IFADDRMSG_LEN, RTMSG_LEN, 0] {
            if let Some(attrs) = payload.get(skip..) {
                for a in Nlas::new(attrs).flatten() {
                    let _ = (a.as_str(), a.as_u32(), a.as_u16(), a.as_u8());
                    for n in a.nested().flatten() {
                        let _ = n.as_str();
                    }
                }
            }
        }
    }
}

#[test]
fn every_truncation_of_every_fixture_is_safe() {
    for f in KERNEL_FIXTURES {
        for len in 0..=f.len() {
            walk(&f[..len]);
        }
    }
}

#[test]
fn every_single_octet_corruption_is_safe() {
    for f in KERNEL_FIXTURES {
        let mut buf = f.to_vec();
        // Dumps are long: corrupt the first 300 octets of them, all of the rest.
        for i in 0..buf.len().min(300) {
            let orig = buf[i];
            for v in [0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xff] {
                buf[i] = v;
                walk(&buf);
            }
            buf[i] = orig;
        }
    }
}

#[test]
fn scope_and_operstate_round_trip() {
    for v in 0..=255u8 {
        assert_eq!(u8::from(Scope::from(v)), v);
        assert_eq!(u8::from(OperState::from(v)), v);
    }
    assert_eq!(Scope::from(253), Scope::Link);
    assert_eq!(OperState::from(6), OperState::Up);
}

#[test]
fn errors_display() {
    use std::string::ToString;
    assert_eq!(
        Error::BadAttributeLength { kind: 4 }.to_string(),
        "netlink attribute 4 has the wrong length"
    );
    assert!(!Error::LengthBeyondBuffer.to_string().is_empty());
    assert_eq!(Scope::Universe.to_string(), "global");
}
