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

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags,
    NdiscRepr, RawHardwareAddress, ETHERNET_HEADER_LEN, IPV6_HEADER_LEN,
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
    let mut icmp = Icmpv6Packet::new_unchecked(ip.payload_mut());
    Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target_addr: target,
        lladdr: Some(RawHardwareAddress::from(src_mac)),
    })
    .emit(
        &src,
        &ALL_NODES,
        &mut icmp,
        &ChecksumCapabilities::default(),
    );
    Ok(NA_LEN)
}
