//! Receive path: per packet check TTL/hop limit, parse, match the instance,
//! check version, authentication, interval and address list, then feed the
//! core. Every drop is counted by reason.

use super::{Daemon, Inst};
use std::net::{IpAddr, Ipv4Addr};
use tandem_core::time::{Duration, Instant};
use tandem_core::vrrp::Advert;
use tandem_protocol::config::{Family, Version};
use tandem_protocol::vrrp as wire;

/// Largest datagram read (the IPv4 header plus the largest VRRP message).
const RX_BUF: usize = 60 + wire::MAX_PACKET_LEN;

/// How often a dropped-packet reason is logged per instance.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

/// The fields of an IPv4 header the receive path needs.
struct Ipv4Header {
    ttl: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: core::ops::Range<usize>,
}

/// Reads the IPv4 header a raw socket delivers in front of the payload.
fn ipv4_header(b: &[u8]) -> Option<Ipv4Header> {
    if b.len() < 20 || b[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if ihl < 20 || b.len() < ihl || total < ihl {
        return None;
    }
    Some(Ipv4Header {
        ttl: b[8],
        src: Ipv4Addr::new(b[12], b[13], b[14], b[15]),
        dst: Ipv4Addr::new(b[16], b[17], b[18], b[19]),
        payload: ihl..total.min(b.len()),
    })
}

enum Drop {
    Ttl,
    Version,
    Checksum,
    Auth,
    Interval,
    Malformed,
}

impl Drop {
    fn what(&self) -> &'static str {
        match self {
            Drop::Ttl => "TTL/hop limit not 255",
            Drop::Version => "wrong VRRP version",
            Drop::Checksum => "bad checksum",
            Drop::Auth => "authentication mismatch (wrong password or type)",
            Drop::Interval => "advertisement interval mismatch",
            Drop::Malformed => "malformed",
        }
    }
}

fn count(inst: &mut Inst, now: Instant, d: Drop, src: IpAddr, detail: &dyn core::fmt::Display) {
    let c = &mut inst.counters.dropped;
    match d {
        Drop::Ttl => c.ttl += 1,
        Drop::Version => c.version += 1,
        Drop::Checksum => c.checksum += 1,
        Drop::Auth => c.auth += 1,
        Drop::Interval => c.interval += 1,
        Drop::Malformed => c.malformed += 1,
    }
    if now >= inst.next_drop_log {
        inst.next_drop_log = now + DROP_LOG_EVERY;
        crate::log!(
            Warning,
            "{}: advert from {src} dropped: {}{detail} ({} dropped so far)",
            inst.cfg.name,
            d.what(),
            inst.counters.dropped.total()
        );
    }
}

impl Daemon {
    fn find(&self, iface: usize, family: Family, vrid: u8) -> Option<usize> {
        self.inst.iter().position(|i| {
            !i.retired && i.iface == iface && i.family() == family && i.cfg.vrid == vrid
        })
    }

    pub(super) fn receive_v4(&mut self, now: Instant, f: usize) {
        let mut buf = [0u8; RX_BUF];
        for _ in 0..64 {
            let Some(sock) = self.ifaces[f].v4.as_ref() else {
                return;
            };
            let n = match sock.recv(&mut buf) {
                Ok(Some(n)) => n,
                Ok(None) => return,
                Err(e) => {
                    let e = crate::sys::ErrorText(&e);
                    crate::log!(Error, "{}: receive: {e}", self.ifaces[f].name);
                    return;
                }
            };
            let Some(h) = ipv4_header(&buf[..n]) else {
                continue;
            };
            let payload = &buf[h.payload.clone()];
            self.handle(
                now,
                f,
                Family::Ipv4,
                IpAddr::V4(h.src),
                IpAddr::V4(h.dst),
                Some(h.ttl),
                payload,
            );
        }
    }

    pub(super) fn receive_v6(&mut self, now: Instant, f: usize) {
        let mut buf = [0u8; RX_BUF];
        for _ in 0..64 {
            let Some(sock) = self.ifaces[f].v6.as_ref() else {
                return;
            };
            let r = match sock.recv(&mut buf) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    let e = crate::sys::ErrorText(&e);
                    crate::log!(Error, "{}: receive: {e}", self.ifaces[f].name);
                    return;
                }
            };
            let dst = r.dst.unwrap_or(wire::IPV6_MULTICAST);
            let payload = &buf[..r.len.min(RX_BUF)];
            self.handle(
                now,
                f,
                Family::Ipv6,
                IpAddr::V6(r.src),
                IpAddr::V6(dst),
                r.hop_limit,
                payload,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle(
        &mut self,
        now: Instant,
        f: usize,
        family: Family,
        src: IpAddr,
        dst: IpAddr,
        ttl: Option<u8>,
        payload: &[u8],
    ) {
        let Some(&vrid) = payload.get(1) else { return };
        let Some(k) = self.find(f, family, vrid) else {
            self.ifaces[f].unknown_vrid += 1;
            return;
        };
        // Our own advert (unicast loop, or a peer list naming us).
        if Some(src) == self.inst[k].src {
            return;
        }
        let inst = &mut self.inst[k];
        inst.counters.received += 1;
        if ttl != Some(wire::TTL) {
            return count(inst, now, Drop::Ttl, src, &"");
        }
        let Some(ep) = wire::Endpoints::new(src, dst) else {
            return count(inst, now, Drop::Malformed, src, &"");
        };
        let repr = match wire::Repr::parse(
            &wire::Packet::new_unchecked(payload),
            &ep,
            inst.checksum_mode(),
        ) {
            Ok(r) => r,
            Err(e) => {
                let d = match e {
                    wire::Error::BadChecksum { .. } => Drop::Checksum,
                    wire::Error::BadVersion(_) | wire::Error::V2OverIpv6 => Drop::Version,
                    wire::Error::UnsupportedAuthType(_) => Drop::Auth,
                    _ => Drop::Malformed,
                };
                return count(inst, now, d, src, &Detail(e));
            }
        };
        let want = match inst.cfg.version {
            Version::V2 => wire::Version::V2,
            Version::V3 => wire::Version::V3,
        };
        if repr.version != want {
            return count(inst, now, Drop::Version, src, &"");
        }
        if want == wire::Version::V2 {
            if repr.auth != inst.repr.auth {
                return count(inst, now, Drop::Auth, src, &"");
            }
            if repr.advert_int != inst.cfg.advert_int_cs {
                return count(inst, now, Drop::Interval, src, &"");
            }
        }
        // keepalived logs a different address list and accepts the advert.
        let ours = &inst.cfg.virtual_addresses;
        let same = repr.addresses.len() == ours.len()
            && repr
                .addresses
                .iter()
                .all(|a| ours.iter().any(|v| v.addr == a));
        if !same && !ours.is_empty() {
            inst.counters.address_list_mismatch += 1;
            if now >= inst.next_drop_log {
                inst.next_drop_log = now + DROP_LOG_EVERY;
                crate::log!(
                    Warning,
                    "{}: advert from {src} lists other virtual addresses than ours (accepted; {} so far)",
                    inst.cfg.name,
                    inst.counters.address_list_mismatch
                );
            }
        }
        let advert = Advert {
            src,
            priority: repr.priority,
            adver_int: Duration::from_centis(u64::from(repr.advert_int)),
        };
        self.node.handle_advert(now, k, &advert);
        self.drain(now);
    }
}

struct Detail(wire::Error);

impl core::fmt::Display for Detail {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, ": {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_fields() {
        // 20-byte header, total length 40, TTL 255, proto 112.
        let mut b = [0u8; 46]; // 6 bytes of Ethernet-style padding after it
        b[0] = 0x45;
        b[2..4].copy_from_slice(&40u16.to_be_bytes());
        b[8] = 255;
        b[9] = 112;
        b[12..16].copy_from_slice(&[192, 168, 1, 2]);
        b[16..20].copy_from_slice(&[224, 0, 0, 18]);
        let h = ipv4_header(&b).unwrap();
        assert_eq!(h.ttl, 255);
        assert_eq!(h.src, Ipv4Addr::new(192, 168, 1, 2));
        assert_eq!(h.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(h.payload, 20..40);
        assert!(ipv4_header(&b[..19]).is_none());
        b[0] = 0x65;
        assert!(ipv4_header(&b).is_none());
        b[0] = 0x44;
        assert!(ipv4_header(&b).is_none());
    }
}
