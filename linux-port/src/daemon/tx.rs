//! Effects: adverts out, virtual addresses and routes via rtnetlink,
//! gratuitous ARP / unsolicited NA, and the start-up clean-up.

use super::net::Iface;
use super::net::Netlink;
use super::net::{EADDRNOTAVAIL, EEXIST, ENODEV, ENOENT, ESRCH};
use super::{Daemon, Inst};
use crate::sys::packet::PacketSocket;
use crate::sys::Errno;
use std::net::IpAddr;
use tandem_core::time::{Duration, Instant};
use tandem_protocol::announce;
use tandem_protocol::config as cfg;
use tandem_protocol::netlink::route::{AddressRequest, Op, RouteRequest, Scope};
use tandem_protocol::vrrp as wire;

/// How often a failing send is logged per instance.
const SEND_LOG_EVERY: Duration = Duration::from_secs(10);

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Add => "add",
        Op::Replace => "replace",
        Op::Delete => "delete",
    }
}

impl Daemon {
    pub(super) fn send_advert(&mut self, now: Instant, i: usize, priority: u8) {
        let Some(inst) = self.inst.get_mut(i) else {
            return;
        };
        let f = &self.ifaces[inst.iface];
        let Some(src) = inst.src else {
            inst.counters.send_errors += 1;
            return;
        };
        inst.repr.priority = priority;
        let len = inst.repr.buffer_len();
        let mut buf = [0u8; wire::MAX_PACKET_LEN];
        let mode = inst.checksum_mode();
        let group = match inst.family() {
            cfg::Family::Ipv4 => IpAddr::V4(wire::IPV4_MULTICAST),
            cfg::Family::Ipv6 => IpAddr::V6(wire::IPV6_MULTICAST),
        };
        let peers = &inst.cfg.unicast_peers;
        let dsts: &[IpAddr] = if peers.is_empty() {
            core::slice::from_ref(&group)
        } else {
            peers
        };
        let mut failed: Option<Errno> = None;
        for dst in dsts {
            let Some(ep) = wire::Endpoints::new(src, *dst) else {
                continue;
            };
            let out = &mut buf[..len];
            if let Err(e) = inst
                .repr
                .emit(&mut wire::Packet::new_unchecked(&mut *out), &ep, mode)
            {
                crate::log!(Error, "{}: cannot build advert: {e}", inst.cfg.name);
                return;
            }
            let r = match ep {
                wire::Endpoints::Ipv4 { src, dst } => match &f.v4 {
                    Some(sock) => sock.send(out, src, dst),
                    None => Err(Errno::NOT_CONNECTED),
                },
                wire::Endpoints::Ipv6 { src, dst } => match &f.v6 {
                    Some(sock) => sock.send(out, src, dst),
                    None => Err(Errno::NOT_CONNECTED),
                },
            };
            match r {
                Ok(()) => inst.counters.sent += 1,
                Err(e) => {
                    inst.counters.send_errors += 1;
                    failed = Some(e);
                }
            }
        }
        if let Some(e) = failed {
            if now >= inst.next_send_log {
                inst.next_send_log = now + SEND_LOG_EVERY;
                crate::log!(
                    Warning,
                    "{}: cannot send advert on {}: {e} ({} send errors so far)",
                    inst.cfg.name,
                    f.name,
                    inst.counters.send_errors
                );
            }
        }
    }

    /// Virtual addresses first (routes may use them as `src`), then routes.
    pub(super) fn add_addresses(&mut self, i: usize) {
        let Some(inst) = self.inst.get(i) else { return };
        if inst.retired {
            return;
        }
        self.addresses(i, Op::Add, false);
        self.inst[i].installed = true;
    }

    /// Routes first, then virtual addresses.
    pub(super) fn remove_addresses(&mut self, i: usize) {
        if i < self.inst.len() {
            self.addresses(i, Op::Delete, false);
            self.inst[i].installed = false;
        }
    }

    /// Start-up: a crashed earlier run (SIGKILL, power cut with /etc on
    /// flash...) may have left our virtual addresses and routes behind;
    /// remove them, so the segment never sees duplicates. Address owners
    /// (priority 255) are skipped: their "virtual" address is their own.
    pub(super) fn cleanup_leftovers(&mut self) {
        for i in 0..self.inst.len() {
            if self.inst[i].cfg.priority != 255 {
                self.addresses(i, Op::Delete, true);
            }
        }
    }

    /// Adds (addresses, then routes) or deletes (routes, then addresses)
    /// the virtual addresses and routes of instance `i` (which exists).
    /// `leftover`: log each one removed as left by an earlier run.
    fn addresses(&mut self, i: usize, op: Op, leftover: bool) {
        addresses(
            &mut self.nl,
            &self.inst[i],
            &self.ifaces,
            op,
            leftover,
            None,
        );
    }

    /// Gratuitous ARP / unsolicited NA for every virtual address,
    /// `garp_master_repeat` times each.
    pub(super) fn announce(&mut self, now: Instant, i: usize) {
        let _ = now;
        let Some(inst) = self.inst.get(i) else { return };
        if inst.retired {
            return;
        }
        let repeat = inst.cfg.garp_master_repeat.max(1);
        for (v, &fi) in inst.cfg.virtual_addresses.iter().zip(&inst.vip_iface) {
            announce_one(&self.packet, &inst.cfg.name, v, &self.ifaces[fi], repeat);
        }
    }
}

/// Adds (addresses, then routes) or deletes (routes, then addresses)
/// the virtual addresses and routes of `inst` (`ifaces`: the interface
/// table it points into). `leftover`: log each one removed as left by an
/// earlier run. `keep`: skip those this configuration has too (a reload
/// removing what is gone).
pub(super) fn addresses(
    nl: &mut Netlink,
    inst: &Inst,
    ifaces: &[Iface],
    op: Op,
    leftover: bool,
    keep: Option<&cfg::Instance>,
) {
    let name = &inst.cfg.name;
    let add = op == Op::Add;
    for routes in [!add, add] {
        if routes {
            for (k, r) in inst.cfg.virtual_routes.iter().enumerate() {
                if keep.is_some_and(|c| c.virtual_routes.contains(r)) {
                    continue;
                }
                let oif = inst
                    .route_iface
                    .get(k)
                    .copied()
                    .flatten()
                    .and_then(|f| ifaces[f].ifindex);
                route_op(nl, op, r, oif, name, leftover);
            }
            continue;
        }
        for (k, v) in inst.cfg.virtual_addresses.iter().enumerate() {
            let Some(f) = inst.vip_iface.get(k).map(|&fi| &ifaces[fi]) else {
                continue;
            };
            if keep.is_some_and(|c| c.virtual_addresses.contains(v)) {
                continue;
            }
            let Some(ifindex) = f.ifindex else {
                if add {
                    crate::log!(
                        Error,
                        "{name}: cannot add {}: interface {} missing",
                        v.addr,
                        f.name
                    );
                }
                continue;
            };
            addr_op(nl, op, v, ifindex, name, leftover);
        }
    }
}

/// The announcement of one virtual address `v` (of instance `name`) on
/// `f`, `repeat` times (apart from [`Daemon::announce`]'s loop: smaller
/// code).
#[inline(never)]
fn announce_one(
    packet: &PacketSocket,
    name: &cfg::Name,
    v: &cfg::VirtualAddress,
    f: &Iface,
    repeat: u8,
) {
    let (Some(ifindex), Some(mac)) = (f.ifindex, f.mac) else {
        return;
    };
    let mut frame = [0u8; announce::NA_LEN + announce::GARP_LEN];
    let len = match v.addr {
        IpAddr::V4(a) => announce::gratuitous_arp(&mut frame, mac, a),
        IpAddr::V6(a) => {
            let src = f.link_local.unwrap_or(a);
            announce::unsolicited_na(&mut frame, mac, src, a, true)
        }
    };
    let len = match len {
        Ok(l) => l,
        Err(e) => {
            crate::log!(
                Error,
                "{name}: cannot build announcement for {}: {e}",
                v.addr
            );
            return;
        }
    };
    for _ in 0..repeat {
        if let Err(e) = packet.send(ifindex, &frame[..len]) {
            crate::log!(
                Warning,
                "{name}: announcement for {} on {}: {e}",
                v.addr,
                f.name
            );
            break;
        }
    }
}

/// One address request; tolerated errors (already there / already gone)
/// are not errors. `leftover`: a removal is logged as left by an earlier
/// run.
pub(super) fn addr_op(
    nl: &mut Netlink,
    op: Op,
    v: &cfg::VirtualAddress,
    ifindex: u32,
    who: &str,
    leftover: bool,
) {
    let mut req = AddressRequest::new(ifindex, v.addr, v.prefix_len);
    if let Some(s) = v.scope {
        req.scope = Scope::from(s.to_rt());
    }
    req.label = v.label.as_ref().map(|l| l.as_str());
    let r = nl.request(|seq, buf| req.emit(op, seq, buf));
    outcome(op, r, who, "address", &v.addr, v.prefix_len, leftover)
}

/// One route request, like [`addr_op`].
pub(super) fn route_op(
    nl: &mut Netlink,
    op: Op,
    r: &cfg::VirtualRoute,
    oif: Option<u32>,
    who: &str,
    leftover: bool,
) {
    if r.kind != cfg::RouteType::Unicast || r.onlink {
        // Warned about when the configuration was loaded.
        return;
    }
    let mut req = RouteRequest::new(r.dst, r.dst_len);
    req.gateway = r.via;
    req.prefsrc = r.src;
    req.oif = oif;
    req.priority = r.metric;
    if let Some(t) = r.table {
        req.table = t;
    }
    req.scope = r.scope.map(|s| Scope::from(s.to_rt()));
    let res = nl.request(|seq, buf| req.emit(op, seq, buf));
    outcome(op, res, who, "route to", &r.dst, r.dst_len, leftover)
}

/// The result of an address or route request: when the kernel changed
/// something and `leftover` is set, logs `{who}: removed {what}
/// {addr}/{len} left by an earlier run`; tolerated errors (already there /
/// already gone) are quiet, others logged as `{who}: {op} {what}
/// {addr}/{len}: {error}`.
fn outcome(
    op: Op,
    r: Result<i32, Errno>,
    who: &str,
    what: &str,
    addr: &IpAddr,
    len: u8,
    leftover: bool,
) {
    let e = match (op, r) {
        (_, Ok(0)) => {
            if leftover {
                crate::log!(
                    Notice,
                    "{who}: removed {what} {addr}/{len} left by an earlier run"
                );
            }
            return;
        }
        (Op::Add, Ok(EEXIST)) => return,
        (Op::Delete, Ok(EADDRNOTAVAIL | ENOENT | ENODEV | ESRCH)) => return,
        (_, Ok(errno)) => Errno(errno),
        (_, Err(e)) => e,
    };
    crate::log!(Error, "{who}: {} {what} {addr}/{len}: {e}", op_name(op));
}
