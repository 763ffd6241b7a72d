//! Announcing a virtual address after taking it over: a gratuitous ARP
//! (IPv4) or an unsolicited neighbour advertisement (IPv6), as complete
//! Ethernet frames for an `AF_PACKET` socket, built with smoltcp's `wire`
//! module into a caller buffer.
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

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv6Packet, IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags,
    ETHERNET_HEADER_LEN, IPV6_HEADER_LEN,
};

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

fn source_mac(mac: [u8; 6]) -> Result<EthernetAddress, Error> {
    let mac = EthernetAddress(mac);
    if mac.is_unicast() && mac != EthernetAddress([0; 6]) {
        Ok(mac)
    } else {
        Err(Error::BadMac)
    }
}

/// Write a gratuitous ARP (RFC 5227 ARP announcement) for `addr` from
/// interface MAC `mac` into `buf`; return the frame length ([`GARP_LEN`]).
///
/// # Errors
/// [`Error::BufferTooSmall`], [`Error::BadMac`].
pub fn gratuitous_arp(buf: &mut [u8], mac: [u8; 6], addr: Ipv4Addr) -> Result<usize, Error> {
    let src = source_mac(mac)?;
    let buf = buf.get_mut(..GARP_LEN).ok_or(Error::BufferTooSmall)?;
    let mut frame = EthernetFrame::new_unchecked(buf);
    EthernetRepr {
        src_addr: src,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut frame);
    let mut arp = ArpPacket::new_unchecked(frame.payload_mut());
    ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: src,
        source_protocol_addr: addr,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: addr,
    }
    .emit(&mut arp);
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
    let mut frame = EthernetFrame::new_unchecked(buf);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: EthernetAddress(ALL_NODES_MAC),
        ethertype: EthernetProtocol::Ipv6,
    }
    .emit(&mut frame);
    let mut ip = Ipv6Packet::new_unchecked(frame.payload_mut());
    Ipv6Repr {
        src_addr: src,
        dst_addr: ALL_NODES,
        next_header: IpProtocol::Icmpv6,
        payload_len: NA_ICMP_LEN,
        hop_limit: ND_HOP_LIMIT,
    }
    .emit(&mut ip);
    let mut flags = NdiscNeighborFlags::OVERRIDE;
    if router {
        flags |= NdiscNeighborFlags::ROUTER;
    }
    // The advertisement written out (smoltcp's generic neighbour discovery
    // emitter handles every option kind; one fixed layout is much smaller):
    // type, code, checksum, flags, reserved, target, and the target
    // link-layer address option (type 2, one 8-octet unit).
    let mut na = [0u8; NA_ICMP_LEN];
    na[0] = 136;
    na[4] = flags.bits();
    na[8..24].copy_from_slice(&target.octets());
    na[24] = 2;
    na[25] = 1;
    na[26..].copy_from_slice(&mac);
    let icmp = ip.payload_mut();
    icmp.copy_from_slice(&na);
    Icmpv6Packet::new_unchecked(icmp).fill_checksum(&src, &ALL_NODES);
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
    use smoltcp::wire::{ArpHardware, Icmpv6Repr, Ipv6Address, NdiscRepr, RawHardwareAddress};

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
