//! Announcing a virtual address after taking it over: a gratuitous ARP
//! (IPv4) or an unsolicited neighbour advertisement (IPv6), as complete
//! Ethernet frames for an `AF_PACKET` socket, written into a caller buffer
//! as fixed layouts (the tests parse them back with smoltcp's `wire`
//! module).
//!
//! - [`gratuitous_arp`]: an RFC 5227 §2.3 ARP announcement: Ethernet
//!   broadcast, ARP request, sender and target protocol address = the
//!   virtual address, sender hardware address = the interface's MAC, target
//!   hardware address zero.
//! - [`unsolicited_na`]: RFC 4861 §7.2.6 / RFC 5798 §6.4.2: Ethernet to
//!   33:33:00:00:00:01, IPv6 to ff02::1 with hop limit 255, ICMPv6 neighbour
//!   advertisement with Override set, Solicited clear, Router as the caller
//!   says, target = the virtual address, target link-layer address option
//!   = the interface's MAC, checksum filled in.
//!
//! Frames are the exact protocol length (no padding to Ethernet's 60-octet
//! minimum; the driver pads). Nothing here panics: a short buffer or an
//! unusable MAC is a typed [`Error`].
//!
//! ```
//! use core::net::Ipv4Addr;
//! use tandem_protocol::announce::{gratuitous_arp, GARP_LEN};
//! let mut frame = [0u8; GARP_LEN];
//! let mac = [0x02, 0, 0, 0, 0, 0x01];
//! let len = gratuitous_arp(&mut frame, mac, Ipv4Addr::new(192, 0, 2, 1)).unwrap();
//! assert_eq!(len, 42);
//! assert_eq!(&frame[..6], &[0xff; 6]); // broadcast
//! assert_eq!(&frame[12..14], &[0x08, 0x06]); // ARP
//! ```

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

/// Octets of an Ethernet header.
const ETHERNET_HEADER_LEN: usize = 14;
/// Octets of an IPv6 header.
const IPV6_HEADER_LEN: usize = 40;
/// IP protocol number of ICMPv6.
const IPPROTO_ICMPV6: u8 = 58;
/// Neighbour advertisement flags (RFC 4861 §4.4).
const NA_ROUTER: u8 = 0x80;
const NA_OVERRIDE: u8 = 0x20;

/// Length of a gratuitous ARP frame: Ethernet header (14) + ARP (28).
pub const GARP_LEN: usize = ETHERNET_HEADER_LEN + 28;
/// Length of an ICMPv6 neighbour advertisement with a target link-layer
/// address option: header and target (24) + option (8).
pub const NA_ICMP_LEN: usize = 24 + 8;
/// Length of an unsolicited neighbour advertisement frame: Ethernet (14) +
/// IPv6 (40) + [`NA_ICMP_LEN`] (32).
pub const NA_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_ICMP_LEN;
/// Hop limit of neighbour discovery messages (RFC 4861 §7.1.2: receivers
/// drop any other).
pub const ND_HOP_LIMIT: u8 = 255;
/// All-nodes link-local multicast address, ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Ethernet address of [`ALL_NODES`] (RFC 2464 §7): 33:33:00:00:00:01.
pub const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// Why an announcement could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The buffer is shorter than [`GARP_LEN`] or [`NA_LEN`].
    BufferTooSmall,
    /// The interface MAC is all zeros, or a multicast/broadcast address,
    /// which cannot be a frame's source.
    BadMac,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall => f.write_str("buffer too small for the announcement frame"),
            Error::BadMac => f.write_str("interface MAC is zero or multicast"),
        }
    }
}

impl core::error::Error for Error {}

/// `mac` if it can be a frame's source: not zero, not multicast or
/// broadcast.
fn source_mac(mac: [u8; 6]) -> Result<[u8; 6], Error> {
    if mac[0] & 1 == 0 && mac != [0; 6] {
        Ok(mac)
    } else {
        Err(Error::BadMac)
    }
}

/// Writes an Ethernet header (`dst`, `src`, `ethertype`) at the start of
/// `f`.
fn ethernet(f: &mut [u8], dst: [u8; 6], src: [u8; 6], ethertype: [u8; 2]) {
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ethertype);
}

/// Write a gratuitous ARP (RFC 5227 ARP announcement) for `addr` from
/// interface MAC `mac` into `buf`; return the frame length ([`GARP_LEN`]).
///
/// # Errors
/// [`Error::BufferTooSmall`], [`Error::BadMac`].
pub fn gratuitous_arp(buf: &mut [u8], mac: [u8; 6], addr: Ipv4Addr) -> Result<usize, Error> {
    let src = source_mac(mac)?;
    let buf = buf.get_mut(..GARP_LEN).ok_or(Error::BufferTooSmall)?;
    let mut f = [0u8; GARP_LEN];
    ethernet(&mut f, [0xff; 6], src, [0x08, 0x06]);
    // Ethernet, IPv4, address lengths 6 and 4, request.
    f[14..22].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f[22..28].copy_from_slice(&src);
    f[28..32].copy_from_slice(&addr.octets());
    // Target hardware address zero (RFC 5227), target address = sender's.
    f[38..42].copy_from_slice(&addr.octets());
    buf.copy_from_slice(&f);
    Ok(GARP_LEN)
}

/// Write an unsolicited neighbour advertisement for `target` from interface
/// MAC `mac` and IPv6 source `src` (the interface's link-local address, as
/// keepalived sends, or the virtual address itself) into `buf`; return the
/// frame length ([`NA_LEN`]).
///
/// `router` sets the Router flag: RFC 5798 §6.4.2 asks a VRRP master to set
/// it; keepalived sets it when IPv6 forwarding is enabled on the interface.
///
/// # Errors
/// [`Error::BufferTooSmall`], [`Error::BadMac`].
pub fn unsolicited_na(
    buf: &mut [u8],
    mac: [u8; 6],
    src: Ipv6Addr,
    target: Ipv6Addr,
    router: bool,
) -> Result<usize, Error> {
    let src_mac = source_mac(mac)?;
    let buf = buf.get_mut(..NA_LEN).ok_or(Error::BufferTooSmall)?;
    let mut f = [0u8; NA_LEN];
    ethernet(&mut f, ALL_NODES_MAC, src_mac, [0x86, 0xdd]);
    // IPv6: version 6, class and flow 0, payload length, ICMPv6, hop limit.
    f[14] = 0x60;
    f[18..22].copy_from_slice(&[0, NA_ICMP_LEN as u8, IPPROTO_ICMPV6, ND_HOP_LIMIT]);
    f[22..38].copy_from_slice(&src.octets());
    f[38..54].copy_from_slice(&ALL_NODES.octets());
    // ICMPv6 neighbour advertisement (type 136, code 0), flags, target, and
    // the target link-layer address option (type 2, one 8-octet unit).
    const ICMP: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    f[ICMP] = 136;
    f[ICMP + 4] = if router {
        NA_ROUTER | NA_OVERRIDE
    } else {
        NA_OVERRIDE
    };
    f[ICMP + 8..ICMP + 24].copy_from_slice(&target.octets());
    f[ICMP + 24] = 2;
    f[ICMP + 25] = 1;
    f[ICMP + 26..].copy_from_slice(&src_mac);
    // Checksum over the pseudo-header (addresses, length, next header)
    // and the message.
    let sum = crate::vrrp::checksum::sum(0, &f[22..54]);
    let sum = crate::vrrp::checksum::sum(sum, &f[ICMP..]);
    let sum = !crate::vrrp::checksum::fold(sum + (NA_ICMP_LEN as u64) + u64::from(IPPROTO_ICMPV6));
    f[ICMP + 2..ICMP + 4].copy_from_slice(&sum.to_be_bytes());
    buf.copy_from_slice(&f);
    Ok(NA_LEN)
}

#[cfg(test)]
mod tests {
    //! Expected frames were written out by hand (field by field, checksum
    //! computed separately in Python) and the same bytes were sent from the
    //! peer end of a veth pair in a network namespace: the kernel updated an
    //! existing neighbour entry to the announced MAC for both the ARP
    //! announcement and the neighbour advertisement (which it only does
    //! after checking hop limit 255 and the ICMPv6 checksum).
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        ArpHardware, ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame,
        EthernetProtocol, EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Address,
        Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
    };

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
    const LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 2);
    const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

    #[rustfmt::skip]
    static GARP: [u8; GARP_LEN] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Ethernet dst: broadcast
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // Ethernet src: interface MAC
        0x08, 0x06,                         // ARP
        0x00, 0x01, 0x08, 0x00, 6, 4,       // Ethernet, IPv4, lengths 6 and 4
        0x00, 0x01,                         // request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // sender MAC
        192, 0, 2, 11,                      // sender IP = VIP
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: zero (RFC 5227)
        192, 0, 2, 11,                      // target IP = VIP
    ];

    #[rustfmt::skip]
    static NA: [u8; NA_LEN] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, // Ethernet dst: all-nodes
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // Ethernet src
        0x86, 0xdd,                         // IPv6
        0x60, 0x00, 0x00, 0x00,             // version 6, class 0, flow 0
        0x00, 0x20, 58, 255,                // payload 32, ICMPv6, hop limit 255
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0x02, // src fe80::ff:fe00:2
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,       // dst ff02::1
        136, 0, 0x29, 0x52,                 // neighbour advertisement, code 0, checksum
        0x20, 0, 0, 0,                      // flags: Override
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // target 2001:db8::10
        2, 1,                               // option: target link-layer address, 8 octets
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    ];

    #[test]
    fn garp_bytes() {
        let mut buf = [0xaa; 64];
        assert_eq!(gratuitous_arp(&mut buf, MAC, VIP4), Ok(GARP_LEN));
        assert_eq!(&buf[..GARP_LEN], &GARP[..]);
        assert_eq!(
            &buf[GARP_LEN..],
            &[0xaa; 64 - GARP_LEN][..],
            "nothing written past the frame"
        );
    }

    #[test]
    fn garp_parses_back() {
        let frame = EthernetFrame::new_checked(&GARP[..]).unwrap();
        let eth = EthernetRepr::parse(&frame).unwrap();
        assert_eq!(eth.dst_addr, EthernetAddress::BROADCAST);
        assert_eq!(eth.src_addr, EthernetAddress(MAC));
        assert_eq!(eth.ethertype, EthernetProtocol::Arp);
        let arp = ArpPacket::new_checked(frame.payload()).unwrap();
        assert_eq!(arp.hardware_type(), ArpHardware::Ethernet);
        assert_eq!(
            ArpRepr::parse(&arp).unwrap(),
            ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_hardware_addr: EthernetAddress(MAC),
                source_protocol_addr: VIP4,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: VIP4,
            }
        );
    }

    #[test]
    fn na_bytes() {
        let mut buf = [0xaa; 128];
        assert_eq!(
            unsolicited_na(&mut buf, MAC, LINK_LOCAL, VIP6, false),
            Ok(NA_LEN)
        );
        assert_eq!(&buf[..NA_LEN], &NA[..]);
        assert_eq!(
            &buf[NA_LEN..],
            &[0xaa; 128 - NA_LEN][..],
            "nothing written past the frame"
        );
    }

    #[test]
    fn na_router_flag() {
        let mut buf = [0u8; NA_LEN];
        unsolicited_na(&mut buf, MAC, LINK_LOCAL, VIP6, true).unwrap();
        let mut expected = NA;
        expected[54 + 4] = 0xa0; // Router | Override
        expected[54 + 2..54 + 4].copy_from_slice(&[0xa9, 0x51]);
        assert_eq!(buf, expected);
    }

    fn parse_na(
        frame: &[u8],
    ) -> (
        Ipv6Repr,
        NdiscNeighborFlags,
        Ipv6Address,
        Option<RawHardwareAddress>,
    ) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        assert_eq!(eth.dst_addr(), EthernetAddress(ALL_NODES_MAC));
        assert_eq!(eth.ethertype(), EthernetProtocol::Ipv6);
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        let ip_repr = Ipv6Repr::parse(&ip).unwrap();
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum(&ip_repr.src_addr, &ip_repr.dst_addr));
        let repr = Icmpv6Repr::parse(
            &ip_repr.src_addr,
            &ip_repr.dst_addr,
            &icmp,
            &ChecksumCapabilities::default(),
        )
        .unwrap();
        match repr {
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            }) => (ip_repr, flags, target_addr, lladdr),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn na_parses_back_with_valid_checksum() {
        let (ip, flags, target, lladdr) = parse_na(&NA);
        assert_eq!(ip.src_addr, LINK_LOCAL);
        assert_eq!(ip.dst_addr, ALL_NODES);
        assert_eq!(ip.hop_limit, 255);
        assert_eq!(ip.next_header, IpProtocol::Icmpv6);
        assert_eq!(ip.payload_len, NA_ICMP_LEN);
        assert_eq!(flags, NdiscNeighborFlags::OVERRIDE);
        assert_eq!(target, VIP6);
        assert_eq!(lladdr, Some(RawHardwareAddress::from_bytes(&MAC)));
    }

    #[test]
    fn na_from_the_vip_itself() {
        let mut buf = [0u8; NA_LEN];
        unsolicited_na(&mut buf, MAC, VIP6, VIP6, true).unwrap();
        let (ip, flags, target, _) = parse_na(&buf);
        assert_eq!(ip.src_addr, VIP6);
        assert_eq!(
            flags,
            NdiscNeighborFlags::OVERRIDE | NdiscNeighborFlags::ROUTER
        );
        assert_eq!(target, VIP6);
    }

    #[test]
    fn corrupted_na_fails_checksum() {
        let mut frame = NA;
        frame[NA_LEN - 1] ^= 1;
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert!(!icmp.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
    }

    #[test]
    fn buffer_too_small() {
        for len in 0..GARP_LEN {
            let mut buf = [0u8; GARP_LEN];
            assert_eq!(
                gratuitous_arp(&mut buf[..len], MAC, VIP4),
                Err(Error::BufferTooSmall)
            );
        }
        for len in 0..NA_LEN {
            let mut buf = [0u8; NA_LEN];
            assert_eq!(
                unsolicited_na(&mut buf[..len], MAC, LINK_LOCAL, VIP6, false),
                Err(Error::BufferTooSmall)
            );
        }
    }

    #[test]
    fn bad_source_mac() {
        let mut buf = [0u8; 128];
        for mac in [
            [0; 6],
            [0xff; 6],
            ALL_NODES_MAC,
            [0x01, 0x00, 0x5e, 0, 0, 0x12],
        ] {
            assert_eq!(gratuitous_arp(&mut buf, mac, VIP4), Err(Error::BadMac));
            assert_eq!(
                unsolicited_na(&mut buf, mac, LINK_LOCAL, VIP6, false),
                Err(Error::BadMac)
            );
        }
    }

    #[test]
    fn error_display() {
        use std::string::ToString;
        assert!(Error::BufferTooSmall.to_string().contains("buffer"));
        assert!(Error::BadMac.to_string().contains("MAC"));
    }
}
