//! The seed topology in network namespaces.
//!
//! ```text
//!   <p>-cl (client)                                   <p>-gw (WAN gateway)
//!   eth0 10.9.8.10/24                                 eth0 192.168.0.1/24
//!   default via 10.9.8.4 (LAN VIP)                    lo   198.51.100.1/32 ("the Internet")
//!        |                                            10.9.8.0/24 via 192.168.0.4 (WAN VIP)
//!        |                <p>-sw                              |
//!        +-- cl-lan --[ br-lan ]-- r1-lan, r2-lan    [ br-wan ]-- gw-wan
//!                          |         |                 |   |
//!   <p>-r1: br-lan 10.9.8.2/24 ------+    eth0.2 192.168.0.2/24 (r1-wan)
//!   <p>-r2: br-lan 10.9.8.3/24 (r2-lan)   eth0.2 192.168.0.3/24 (r2-wan)
//! ```
//!
//! The routers' interfaces are veths named `br-lan` and `eth0.2`, so the seed's
//! keepalived.conf runs verbatim; their switch-side peers sit in bridges with
//! `mcast_snooping 0`, `stp_state 0`, `forward_delay 0` (see LAB-NOTES). Routers
//! forward (`ip_forward 1`) and have no default route of their own: only the
//! master's `virtual_routes` entry (default via 192.168.0.1 src 192.168.0.4) lets
//! the client reach [`UPSTREAM`], and only a router holding the LAN VIP (the
//! client's gateway) and the WAN VIP (the gateway's route back) forwards the
//! client's traffic. A TCP service on the gateway namespace answers probes.
//!
//! Every namespace is named `<prefix>-…`; the guard deletes them (killing every
//! process inside) and the working directory on drop. On a panic the working
//! directory (configs, daemon logs) is kept and its path printed.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::json::Json;
use crate::netns::{self, ip, Netns};
use crate::wait::{poll_until, Timeout};

/// The LAN virtual address (instance I1 on `br-lan`).
pub const LAN_VIP: Ipv4Addr = Ipv4Addr::new(10, 9, 8, 4);
/// The WAN virtual address (instance E1 on `eth0.2`).
pub const WAN_VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 4);
/// The WAN gateway's address (next hop of the virtual default route).
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// An address behind the gateway (on its loopback): reachable from the client only
/// through the master's virtual default route.
pub const UPSTREAM: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The LAN client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 9, 8, 10);
/// TCP port of the gateway's probe service.
pub const PROBE_PORT: u16 = 7007;
/// LAN interface name inside each router.
pub const LAN_IF: &str = "br-lan";
/// WAN interface name inside each router.
pub const WAN_IF: &str = "eth0.2";

const PROBE_REPLY: &[u8] = b"tandem-gw\n";

/// One of the two routers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouterId {
    /// `<p>-r1`: 10.9.8.2 / 192.168.0.2.
    R1,
    /// `<p>-r2`: 10.9.8.3 / 192.168.0.3.
    R2,
}

impl RouterId {
    /// Both routers.
    pub const BOTH: [RouterId; 2] = [RouterId::R1, RouterId::R2];

    /// The other router.
    pub fn other(self) -> RouterId {
        match self {
            RouterId::R1 => RouterId::R2,
            RouterId::R2 => RouterId::R1,
        }
    }

    /// 0 for R1, 1 for R2.
    pub fn index(self) -> usize {
        self as usize
    }

    /// `"r1"` / `"r2"`.
    pub fn name(self) -> &'static str {
        match self {
            RouterId::R1 => "r1",
            RouterId::R2 => "r2",
        }
    }

    /// The router's own LAN address (its primary address for instance I1).
    pub fn lan_addr(self) -> Ipv4Addr {
        Ipv4Addr::new(10, 9, 8, 2 + self as u8)
    }

    /// The router's own WAN address (its primary address for instance E1).
    pub fn wan_addr(self) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 0, 2 + self as u8)
    }

    /// MAC address of the router's `br-lan` (fixed, to check neighbour tables).
    pub fn lan_mac(self) -> String {
        format!("02:00:00:00:0{}:01", 1 + self as u8)
    }

    /// MAC address of the router's `eth0.2`.
    pub fn wan_mac(self) -> String {
        format!("02:00:00:00:0{}:02", 1 + self as u8)
    }
}

/// A router's cable to one of the two switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `br-lan` ↔ switch port `rN-lan`.
    Lan,
    /// `eth0.2` ↔ switch port `rN-wan`.
    Wan,
}

/// An IPv4 address assigned to an interface (`ip -j addr`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IfAddr {
    /// Interface name.
    pub ifname: String,
    /// Address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

/// An IPv4 route (`ip -j route`, main table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination: `"default"` or `a.b.c.d/len` (or a host address).
    pub dst: String,
    /// Next hop, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Output interface.
    pub dev: String,
    /// Preferred source address, if any.
    pub prefsrc: Option<Ipv4Addr>,
    /// Metric (0 when absent).
    pub metric: u32,
}

impl Route {
    /// The seed's virtual route: `src 192.168.0.4 to 0.0.0.0/0 via 192.168.0.1 dev
    /// eth0.2 metric 5`.
    pub fn is_seed_virtual_route(&self) -> bool {
        (self.dst == "default" || self.dst == "0.0.0.0/0")
            && self.gateway == Some(GATEWAY)
            && self.dev == WAN_IF
            && self.prefsrc == Some(WAN_VIP)
            && self.metric == 5
    }
}

/// Which VIPs a router holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vips {
    /// 10.9.8.4 on `br-lan`.
    pub lan: bool,
    /// 192.168.0.4 on `eth0.2`.
    pub wan: bool,
}

impl Vips {
    /// Both VIPs.
    pub fn both(self) -> bool {
        self.lan && self.wan
    }

    /// Neither VIP.
    pub fn none(self) -> bool {
        !self.lan && !self.wan
    }

    /// From a set of interface addresses.
    pub fn from_addrs<'a>(addrs: impl IntoIterator<Item = &'a IfAddr>) -> Vips {
        let mut v = Vips {
            lan: false,
            wan: false,
        };
        for a in addrs {
            v.lan |= a.ifname == LAN_IF && a.addr == LAN_VIP;
            v.wan |= a.ifname == WAN_IF && a.addr == WAN_VIP;
        }
        v
    }
}

/// The IPv4 addresses of namespace `ns`.
pub fn addresses(ns: &str) -> io::Result<Vec<IfAddr>> {
    let text = ip(ns, &["-j", "-4", "addr", "show"])?;
    let j = Json::parse(&text).map_err(io::Error::other)?;
    let mut out = Vec::new();
    for link in j.items() {
        let ifname = link
            .get("ifname")
            .and_then(Json::as_str)
            .unwrap_or_default();
        for a in link.get("addr_info").map(Json::items).unwrap_or_default() {
            if a.get("family").and_then(Json::as_str) != Some("inet") {
                continue;
            }
            let addr = a
                .get("local")
                .and_then(Json::as_str)
                .and_then(|s| s.parse().ok());
            let prefix = a.get("prefixlen").and_then(Json::as_u64).unwrap_or(32) as u8;
            if let Some(addr) = addr {
                out.push(IfAddr {
                    ifname: ifname.to_string(),
                    addr,
                    prefix,
                });
            }
        }
    }
    Ok(out)
}

/// The IPv4 routes of the main table of namespace `ns`.
pub fn routes(ns: &str) -> io::Result<Vec<Route>> {
    let text = ip(ns, &["-j", "-4", "route", "show"])?;
    let j = Json::parse(&text).map_err(io::Error::other)?;
    Ok(j.items()
        .iter()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Json::as_str).map(str::to_string);
            Route {
                dst: s("dst").unwrap_or_default(),
                gateway: s("gateway").and_then(|g| g.parse().ok()),
                dev: s("dev").unwrap_or_default(),
                prefsrc: s("prefsrc").and_then(|g| g.parse().ok()),
                metric: r.get("metric").and_then(Json::as_u64).unwrap_or(0) as u32,
            }
        })
        .collect())
}

/// The link-layer address namespace `ns` has for neighbour `addr`, if any entry
/// with an address exists (any state but FAILED/INCOMPLETE).
pub fn neighbour_mac(ns: &str, addr: Ipv4Addr) -> io::Result<Option<String>> {
    let text = ip(ns, &["-j", "-4", "neigh", "show", &addr.to_string()])?;
    let j = Json::parse(&text).map_err(io::Error::other)?;
    Ok(j.items()
        .iter()
        .find_map(|n| n.get("lladdr").and_then(Json::as_str).map(str::to_string)))
}

/// The per-test working directory, `$TMPDIR/tandem-itest/<prefix>` (emptied).
pub fn workdir(prefix: &str) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join("tandem-itest").join(prefix);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

struct ProbeServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProbeServer {
    fn start(ns: &str) -> io::Result<ProbeServer> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let ns = ns.to_string();
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let l = netns::enter(&ns)
                .and_then(|_| TcpListener::bind((Ipv4Addr::UNSPECIFIED, PROBE_PORT)))
                .and_then(|l| l.set_nonblocking(true).map(|_| l));
            let l = match l {
                Ok(l) => {
                    let _ = tx.send(Ok(()));
                    l
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            while !flag.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.write_all(PROBE_REPLY);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        rx.recv()
            .map_err(|_| io::Error::other("probe server thread died"))??;
        Ok(ProbeServer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ProbeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The seed topology; everything is removed when it drops.
pub struct Topology {
    prefix: String,
    dir: PathBuf,
    probe: Option<ProbeServer>,
    // Dropped last: deletes the namespaces (and kills what runs inside).
    namespaces: Vec<Netns>,
}

impl Topology {
    /// Builds the seed topology with namespaces `<prefix>-sw`, `-r1`, `-r2`, `-cl`,
    /// `-gw`. `prefix` is 2 to 12 lowercase letters and digits, unique per user:
    /// the integration tests use `tt` plus a short test id (e.g. `tt1a`), so they
    /// can run in parallel; the benchmark and the demo use their own. Stale
    /// namespaces of an earlier run with the same prefix are removed first.
    pub fn seed(prefix: &str) -> io::Result<Topology> {
        assert!(
            (2..=12).contains(&prefix.len())
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "namespace prefix {prefix:?}: 2 to 12 lowercase letters and digits"
        );
        netns::destroy_prefix(prefix);
        let dir = workdir(prefix)?;
        let mut t = Topology {
            prefix: prefix.to_string(),
            dir,
            probe: None,
            namespaces: Vec::new(),
        };
        t.build()?;
        Ok(t)
    }

    fn build(&mut self) -> io::Result<()> {
        for n in ["sw", "r1", "r2", "cl", "gw"] {
            let ns = Netns::create(&format!("{}-{n}", self.prefix))?;
            self.namespaces.push(ns);
        }
        let sw = self.sw();
        for br in ["br-lan", "br-wan"] {
            ip(
                &sw,
                &[
                    "link",
                    "add",
                    br,
                    "type",
                    "bridge",
                    "mcast_snooping",
                    "0",
                    "stp_state",
                    "0",
                    "forward_delay",
                    "0",
                ],
            )?;
            ip(&sw, &["link", "set", br, "up"])?;
        }
        // (namespace, interface inside, MAC, switch port, bridge)
        let mut ports: Vec<(String, &str, Option<String>, String, &str)> = Vec::new();
        for r in RouterId::BOTH {
            let n = r.name();
            ports.push((
                self.router_ns(r),
                LAN_IF,
                Some(r.lan_mac()),
                format!("{n}-lan"),
                "br-lan",
            ));
            ports.push((
                self.router_ns(r),
                WAN_IF,
                Some(r.wan_mac()),
                format!("{n}-wan"),
                "br-wan",
            ));
        }
        ports.push((self.client_ns(), "eth0", None, "cl-lan".into(), "br-lan"));
        ports.push((self.gw_ns(), "eth0", None, "gw-wan".into(), "br-wan"));
        for (ns, ifname, mac, port, br) in &ports {
            let mut args = vec!["link", "add", ifname];
            if let Some(mac) = mac {
                args.extend(["address", mac]);
            }
            args.extend(["type", "veth", "peer", "name", port, "netns", &sw]);
            ip(ns, &args)?;
            ip(&sw, &["link", "set", port, "master", br])?;
            ip(&sw, &["link", "set", port, "up"])?;
        }
        for r in RouterId::BOTH {
            let ns = self.router_ns(r);
            ip(
                &ns,
                &[
                    "addr",
                    "add",
                    &format!("{}/24", r.lan_addr()),
                    "dev",
                    LAN_IF,
                ],
            )?;
            ip(
                &ns,
                &[
                    "addr",
                    "add",
                    &format!("{}/24", r.wan_addr()),
                    "dev",
                    WAN_IF,
                ],
            )?;
            ip(&ns, &["link", "set", LAN_IF, "up"])?;
            ip(&ns, &["link", "set", WAN_IF, "up"])?;
            netns::sysctl(&ns, "net.ipv4.ip_forward", "1")?;
        }
        let cl = self.client_ns();
        ip(
            &cl,
            &["addr", "add", &format!("{CLIENT}/24"), "dev", "eth0"],
        )?;
        ip(&cl, &["link", "set", "eth0", "up"])?;
        ip(
            &cl,
            &["route", "add", "default", "via", &LAN_VIP.to_string()],
        )?;
        let gw = self.gw_ns();
        ip(
            &gw,
            &["addr", "add", &format!("{GATEWAY}/24"), "dev", "eth0"],
        )?;
        ip(
            &gw,
            &["addr", "add", &format!("{UPSTREAM}/32"), "dev", "lo"],
        )?;
        ip(&gw, &["link", "set", "eth0", "up"])?;
        ip(
            &gw,
            &["route", "add", "10.9.8.0/24", "via", &WAN_VIP.to_string()],
        )?;
        self.probe = Some(ProbeServer::start(&gw)?);
        Ok(())
    }

    /// The prefix of every namespace of this topology.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The working directory (configs, logs, sockets, pid files).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Namespace holding the two bridges.
    pub fn sw(&self) -> String {
        format!("{}-sw", self.prefix)
    }

    /// Namespace of router `r`.
    pub fn router_ns(&self, r: RouterId) -> String {
        format!("{}-{}", self.prefix, r.name())
    }

    /// Namespace of the LAN client.
    pub fn client_ns(&self) -> String {
        format!("{}-cl", self.prefix)
    }

    /// Namespace of the WAN gateway.
    pub fn gw_ns(&self) -> String {
        format!("{}-gw", self.prefix)
    }

    /// IPv4 addresses of router `r`.
    pub fn addresses(&self, r: RouterId) -> io::Result<Vec<IfAddr>> {
        addresses(&self.router_ns(r))
    }

    /// Routes of router `r`.
    pub fn routes(&self, r: RouterId) -> io::Result<Vec<Route>> {
        routes(&self.router_ns(r))
    }

    /// Which VIPs router `r` holds.
    pub fn vips(&self, r: RouterId) -> io::Result<Vips> {
        Ok(Vips::from_addrs(&self.addresses(r)?))
    }

    /// Whether router `r` has the seed's virtual default route.
    pub fn has_virtual_route(&self, r: RouterId) -> io::Result<bool> {
        Ok(self.routes(r)?.iter().any(Route::is_seed_virtual_route))
    }

    /// Router `r` holds both VIPs and the virtual route; the other holds neither
    /// VIP and no virtual route. Returns a description of what differs.
    pub fn check_sole_master(&self, r: RouterId) -> Result<(), String> {
        let mut errs = Vec::new();
        let io = |e: io::Error| e.to_string();
        let v = self.vips(r).map_err(io)?;
        if !v.both() {
            errs.push(format!("{} should hold both VIPs, holds {v:?}", r.name()));
        }
        if !self.has_virtual_route(r).map_err(io)? {
            errs.push(format!(
                "{} lacks the virtual route: {:?}",
                r.name(),
                self.routes(r)
            ));
        }
        let o = r.other();
        let v = self.vips(o).map_err(io)?;
        if !v.none() {
            errs.push(format!("{} should hold no VIP, holds {v:?}", o.name()));
        }
        if self.has_virtual_route(o).map_err(io)? {
            errs.push(format!("{} has the virtual route", o.name()));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// Plugs (`up`) or pulls router `r`'s cable to a switch: sets the switch-side
    /// veth up or down, so the router's interface loses its carrier.
    pub fn set_cable(&self, r: RouterId, link: Link, up: bool) -> io::Result<()> {
        let port = format!(
            "{}-{}",
            r.name(),
            if link == Link::Lan { "lan" } else { "wan" }
        );
        ip(
            &self.sw(),
            &["link", "set", &port, if up { "up" } else { "down" }],
        )
        .map(|_| ())
    }

    /// Sets router `r`'s own interface administratively up or down (`ip link set
    /// br-lan down` inside the router).
    pub fn set_router_link(&self, r: RouterId, link: Link, up: bool) -> io::Result<()> {
        let ifname = if link == Link::Lan { LAN_IF } else { WAN_IF };
        ip(
            &self.router_ns(r),
            &["link", "set", ifname, if up { "up" } else { "down" }],
        )
        .map(|_| ())
    }

    /// Drops (`block`) or passes again every VRRP packet the switches would deliver
    /// to router `r` (an nftables bridge filter in the switch namespace): `r` no
    /// longer hears the other router, which still hears `r`.
    pub fn block_vrrp_to(&self, r: RouterId, block: bool) -> io::Result<()> {
        let table = format!("tt_vrrp_{}", r.name());
        if !block {
            return netns::exec(&self.sw(), "nft", &["delete", "table", "bridge", &table])
                .map(|_| ());
        }
        let rules = format!(
            "table bridge {table} {{\n  chain forward {{\n    type filter hook forward priority 0; policy accept;\n    oifname {{ \"{n}-lan\", \"{n}-wan\" }} ip protocol vrrp drop\n  }}\n}}\n",
            n = r.name()
        );
        let path = self.dir.join(format!("{table}.nft"));
        std::fs::write(&path, rules)?;
        netns::exec(&self.sw(), "nft", &["-f", &path.to_string_lossy()]).map(|_| ())
    }

    /// Emulates a router that lost power after its daemon died: pulls both cables.
    pub fn power_off(&self, r: RouterId) -> io::Result<()> {
        self.set_cable(r, Link::Lan, false)?;
        self.set_cable(r, Link::Wan, false)
    }

    /// One TCP probe from the client to `UPSTREAM`: connect, read the service's
    /// reply. Needs a router with both VIPs and the virtual route.
    pub fn probe_upstream(&self, timeout: Duration) -> io::Result<()> {
        self.probe_from_client(UPSTREAM, timeout)
    }

    /// One TCP probe from the client to `target` (GATEWAY or UPSTREAM).
    pub fn probe_from_client(&self, target: Ipv4Addr, timeout: Duration) -> io::Result<()> {
        netns::in_netns(&self.client_ns(), move || {
            let mut s =
                TcpStream::connect_timeout(&SocketAddr::from((target, PROBE_PORT)), timeout)?;
            s.set_read_timeout(Some(timeout))?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf)?;
            if buf == PROBE_REPLY {
                Ok(())
            } else {
                Err(io::Error::other(format!("unexpected reply {buf:?}")))
            }
        })?
    }

    /// Probes `UPSTREAM` from the client until one probe succeeds, within `bound`
    /// from `since`; returns the elapsed time from `since`.
    pub fn wait_client_reaches(
        &self,
        since: Instant,
        bound: Duration,
    ) -> Result<Duration, Timeout> {
        poll_until(since, bound, Duration::from_millis(50), || {
            self.probe_upstream(Duration::from_millis(300)).is_ok()
        })
    }

    /// The MAC the client has for the LAN VIP and the gateway has for the WAN VIP.
    pub fn vip_neighbours(&self) -> io::Result<(Option<String>, Option<String>)> {
        Ok((
            neighbour_mac(&self.client_ns(), LAN_VIP)?,
            neighbour_mac(&self.gw_ns(), WAN_VIP)?,
        ))
    }

    /// Client and gateway resolve the VIPs to router `r`'s MACs (its gratuitous ARPs
    /// or ARP replies reached them).
    pub fn neighbours_point_to(&self, r: RouterId) -> io::Result<bool> {
        let (l, w) = self.vip_neighbours()?;
        Ok(
            l.as_deref() == Some(r.lan_mac().as_str())
                && w.as_deref() == Some(r.wan_mac().as_str()),
        )
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        self.probe.take();
        self.namespaces.clear();
        if thread::panicking() {
            eprintln!(
                "[{}] test failed; configs and logs kept in {}",
                self.prefix,
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
