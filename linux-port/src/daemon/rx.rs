//! Receive path: per packet check TTL/hop limit, parse, match the instance,
//! check version, authentication, interval and address list, then feed the
//! core. Every drop is counted by reason.

use super::{Daemon, Inst};
use std::net::{IpAddr, Ipv4Addr};
use tandem_core::time::{Duration, Instant};
use tandem_core::vrrp::Advert;
use tandem_protocol::config::{self as cfg, Family, Version};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The running instance of interface `iface`, `family` and `vrid`
    /// (not inlined into the receive paths: smaller code).
    #[inline(never)]
    fn find(&self, iface: usize, family: Family, vrid: u8) -> Option<usize> {
        self.inst.iter().position(|i| {
            !i.retired && i.iface == iface && i.family() == family && i.cfg.vrid == vrid
        })
    }

    fn receive_error(&mut self, now: Instant, f: usize, e: crate::sys::Errno) {
        let i = &mut self.ifaces[f];
        if now >= i.next_rx_log {
            i.next_rx_log = now + DROP_LOG_EVERY;
            crate::log!(Error, "{}: receive: {e}", i.name);
        }
    }

    pub(super) fn receive_v4(&mut self, now: Instant, f: usize) {
        let mut buf = [0u8; RX_BUF];
        for _ in 0..64 {
            let Some(sock) = self.ifaces[f].v4.as_ref() else {
                return;
            };
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.would_block() => return,
                Err(e) => return self.receive_error(now, f, e),
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
                Err(e) => return self.receive_error(now, f, e),
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
        let accepted = match check(&inst.cfg, &inst.repr.auth, src, dst, ttl, payload) {
            Ok(a) => a,
            Err((d, e)) => {
                let detail = e.map(Detail);
                let detail: &dyn core::fmt::Display = match &detail {
                    Some(e) => e,
                    None => &"",
                };
                return count(inst, now, d, src, detail);
            }
        };
        if accepted.address_list_differs {
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
            priority: accepted.priority,
            adver_int: Duration::from_centis(u64::from(accepted.advert_int)),
        };
        self.node.handle_advert(now, k, &advert);
        self.drain(now);
    }
}

/// What the core needs of an advert that passed every check.
struct Accepted {
    priority: u8,
    /// Advertisement interval, centiseconds.
    advert_int: u16,
    /// Its address list differs from ours (keepalived logs and accepts).
    address_list_differs: bool,
}

/// The receive checks of one advert for instance `cfg` (whose own
/// authentication is `auth`): TTL / hop limit 255, well-formed with a valid
/// checksum, same version, (v2) same authentication and interval. Pure, so
/// it is unit-tested without sockets.
fn check(
    cfg: &cfg::Instance,
    auth: &wire::Auth,
    src: IpAddr,
    dst: IpAddr,
    ttl: Option<u8>,
    payload: &[u8],
) -> Result<Accepted, (Drop, Option<wire::Error>)> {
    if ttl != Some(wire::TTL) {
        return Err((Drop::Ttl, None));
    }
    let ep = wire::Endpoints::new(src, dst).ok_or((Drop::Malformed, None))?;
    let mode = if cfg.v3_checksum_as_v2 {
        wire::ChecksumMode::V3AsV2
    } else {
        wire::ChecksumMode::Rfc
    };
    let repr =
        wire::Repr::parse(&wire::Packet::new_unchecked(payload), &ep, mode).map_err(|e| {
            let d = match e {
                wire::Error::BadChecksum { .. } => Drop::Checksum,
                wire::Error::BadVersion(_) | wire::Error::V2OverIpv6 => Drop::Version,
                wire::Error::UnsupportedAuthType(_) => Drop::Auth,
                _ => Drop::Malformed,
            };
            (d, Some(e))
        })?;
    let want = match cfg.version {
        Version::V2 => wire::Version::V2,
        Version::V3 => wire::Version::V3,
    };
    if repr.version != want {
        return Err((Drop::Version, None));
    }
    if want == wire::Version::V2 {
        if repr.auth != *auth {
            return Err((Drop::Auth, None));
        }
        if repr.advert_int != cfg.advert_int_cs {
            return Err((Drop::Interval, None));
        }
    }
    let ours = &cfg.virtual_addresses;
    let same = repr.addresses.len() == ours.len()
        && repr
            .addresses
            .iter()
            .all(|a| ours.iter().any(|v| v.addr == a));
    Ok(Accepted {
        address_list_differs: !same && !ours.is_empty(),
        priority: repr.priority,
        advert_int: repr.advert_int,
    })
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

    const SEED: &str = "vrrp_instance I1 {\n interface br-lan\n virtual_router_id 51\n priority 101\n advert_int 1\n virtual_ipaddress {\n  10.9.8.4/24\n }\n authentication {\n  auth_type PASS\n  auth_pass s3cret\n }\n}\nvrrp_instance V3 {\n interface br-lan\n virtual_router_id 52\n version 3\n advert_int 0.1\n virtual_ipaddress {\n  10.9.8.5/24\n }\n}\n";

    fn instances() -> (cfg::Instance, cfg::Instance) {
        let c = cfg::parse_str("seed", SEED, &mut |d| panic!("{d}")).unwrap();
        (c.instances[0].clone(), c.instances[1].clone())
    }

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 3));
    const DST: IpAddr = IpAddr::V4(wire::IPV4_MULTICAST);

    fn advert(
        version: wire::Version,
        vrid: u8,
        int: u16,
        auth: wire::Auth,
        addrs: &[IpAddr],
    ) -> Vec<u8> {
        let r = wire::Repr {
            version,
            vrid,
            priority: 100,
            advert_int: int,
            auth,
            addresses: wire::Addresses::from_ip_addrs(addrs).unwrap(),
        };
        let mut b = vec![0u8; r.buffer_len()];
        let ep = wire::Endpoints::new(SRC, DST).unwrap();
        r.emit(
            &mut wire::Packet::new_unchecked(&mut b[..]),
            &ep,
            wire::ChecksumMode::Rfc,
        )
        .unwrap();
        b
    }

    fn vip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn receive_checks() {
        let (v2, v3) = instances();
        let pass = wire::Auth::pass(b"s3cret");
        let good = advert(wire::Version::V2, 51, 100, pass, &[vip("10.9.8.4")]);
        let ok = check(&v2, &pass, SRC, DST, Some(255), &good).unwrap();
        assert!(!ok.address_list_differs);
        assert_eq!(ok.priority, 100);
        let drop = |c: &cfg::Instance, ttl, p: &[u8]| {
            check(c, &pass, SRC, DST, ttl, p).err().map(|(d, _)| d)
        };
        assert_eq!(drop(&v2, Some(64), &good), Some(Drop::Ttl));
        assert_eq!(drop(&v2, None, &good), Some(Drop::Ttl));
        let wrong = advert(
            wire::Version::V2,
            51,
            100,
            wire::Auth::pass(b"wrong"),
            &[vip("10.9.8.4")],
        );
        assert_eq!(drop(&v2, Some(255), &wrong), Some(Drop::Auth));
        let none = advert(
            wire::Version::V2,
            51,
            100,
            wire::Auth::None,
            &[vip("10.9.8.4")],
        );
        assert_eq!(drop(&v2, Some(255), &none), Some(Drop::Auth));
        let slow = advert(wire::Version::V2, 51, 200, pass, &[vip("10.9.8.4")]);
        assert_eq!(drop(&v2, Some(255), &slow), Some(Drop::Interval));
        let v3pkt = advert(
            wire::Version::V3,
            51,
            100,
            wire::Auth::None,
            &[vip("10.9.8.4")],
        );
        assert_eq!(drop(&v2, Some(255), &v3pkt), Some(Drop::Version));
        let mut bad = good.clone();
        bad[7] ^= 1;
        assert_eq!(drop(&v2, Some(255), &bad), Some(Drop::Checksum));
        assert_eq!(
            drop(&v2, Some(255), &good[..good.len() - 1]),
            Some(Drop::Malformed)
        );
        assert_eq!(drop(&v2, Some(255), &good[..3]), Some(Drop::Malformed));
        // Another address list: accepted, flagged.
        let other = advert(wire::Version::V2, 51, 100, pass, &[vip("10.9.8.9")]);
        assert!(
            check(&v2, &pass, SRC, DST, Some(255), &other)
                .unwrap()
                .address_list_differs
        );
        // VRRPv3: interval may differ (the backup learns it), no auth.
        let none_auth = wire::Auth::None;
        let p = advert(wire::Version::V3, 52, 25, none_auth, &[vip("10.9.8.5")]);
        assert!(check(&v3, &none_auth, SRC, DST, Some(255), &p).is_ok());
        let p2 = advert(wire::Version::V2, 52, 100, none_auth, &[vip("10.9.8.5")]);
        assert_eq!(
            check(&v3, &none_auth, SRC, DST, Some(255), &p2)
                .err()
                .map(|(d, _)| d),
            Some(Drop::Version)
        );
    }

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
