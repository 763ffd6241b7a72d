//! The conntrack-sync lab: the seed topology plus what NAT'd connections and their
//! sync need, and readers for the sync part of `tandem status --json`.
//!
//! ```text
//!   <p>-cl 10.9.8.10 ──[br-lan]── r1, r2 ──[br-wan]── <p>-gw 192.168.0.1
//!                                  │  │           └── <p>-sv 192.168.0.20 (server)
//!                    r1 sync0 10.255.0.1/30 ═══ r2 sync0 10.255.0.2/30 (veth)
//! ```
//!
//! * a sync link: veth `sync0` between the routers, 10.255.0.1/30 (r1) ↔ .2 (r2);
//! * on both routers `table ip tcnat`: LAN → WAN source NAT to the WAN VIP
//!   (`oifname "eth0.2" ip saddr 10.9.8.0/24 snat to 192.168.0.4`), and
//!   `net.netfilter.nf_conntrack_tcp_loose=0`, so that a router without the
//!   connection's state neither translates nor picks up a mid-stream TCP flow
//!   (LAB-NOTES: with the default 1, client-driven flows survive a failover
//!   without any sync and a test would prove nothing);
//! * a WAN server namespace `<p>-sv` (192.168.0.20 on `br-wan`, route back to the
//!   LAN via the WAN VIP like the gateway's, so that un-NAT'd packets that leak
//!   through a router without state meet a reset, as they would upstream);
//! * a pre-shared key file and the `tandem_sync { }` block (DESIGN.md,
//!   "Configuration contract") appended to each router's seed configuration.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tandem_protocol::conntrack::Entry;

use crate::config::VrrpConf;
use crate::ctnl;
use crate::daemon::Kind;
use crate::json::Json;
use crate::netns::{self, ip, Netns};
use crate::scenario::Pair;
use crate::topology::{RouterId, Topology, WAN_IF};
use crate::traffic::nft_apply;

/// The sync link's interface name on both routers.
pub const SYNC_IF: &str = "sync0";
/// UDP port of the sync channel.
pub const SYNC_PORT: u16 = 3780;
/// The WAN server's address (namespace `<p>-sv`).
pub const SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 20);
/// TCP port of the server.
pub const TCP_PORT: u16 = 9000;
/// UDP port of the server.
pub const UDP_PORT: u16 = 9001;

/// Router `r`'s address on the sync link (r1 10.255.0.1, r2 10.255.0.2).
pub fn sync_addr(r: RouterId) -> Ipv4Addr {
    Ipv4Addr::new(10, 255, 0, 1 + r.index() as u8)
}

/// Namespace of the WAN server.
pub fn server_ns(topo: &Topology) -> String {
    format!("{}-sv", topo.prefix())
}

/// The `tandem_sync { }` block for router `r` with the key in `key_file`.
pub fn sync_block(r: RouterId, key_file: &Path) -> String {
    format!(
        "\ntandem_sync {{\n\
         \x20   interface {SYNC_IF}\n\
         \x20   local_address {}\n\
         \x20   peer_address {}\n\
         \x20   port {SYNC_PORT}\n\
         \x20   key_file {}\n\
         \x20   conntrack_capacity 16384\n\
         \x20   conntrack_filter {{\n\
         \x20       protocol tcp udp icmp\n\
         \x20       ignore_address 127.0.0.1\n\
         \x20   }}\n\
         }}\n",
        sync_addr(r),
        sync_addr(r.other()),
        key_file.display()
    )
}

/// Adds the sync link, the source NAT, `nf_conntrack_tcp_loose=0` and the server
/// namespace to a seed topology; returns the server namespace's guard.
pub fn extend_topology(topo: &Topology) -> io::Result<Netns> {
    let r1 = topo.router_ns(RouterId::R1);
    let r2 = topo.router_ns(RouterId::R2);
    ip(
        &r1,
        &[
            "link", "add", SYNC_IF, "type", "veth", "peer", "name", SYNC_IF, "netns", &r2,
        ],
    )?;
    for r in RouterId::BOTH {
        let ns = topo.router_ns(r);
        ip(
            &ns,
            &[
                "addr",
                "add",
                &format!("{}/30", sync_addr(r)),
                "dev",
                SYNC_IF,
            ],
        )?;
        ip(&ns, &["link", "set", SYNC_IF, "up"])?;
        netns::sysctl(&ns, "net.netfilter.nf_conntrack_tcp_loose", "0")?;
        nft_apply(
            &ns,
            &format!(
                "table ip tcnat {{\n  chain post {{ type nat hook postrouting priority srcnat; policy accept;\n    oifname \"{WAN_IF}\" ip saddr 10.9.8.0/24 snat to {}\n  }}\n}}\n",
                crate::topology::WAN_VIP
            ),
        )?;
    }
    let sv = Netns::create(&server_ns(topo))?;
    ip(
        sv.name(),
        &[
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            "sv-wan",
            "netns",
            &topo.sw(),
        ],
    )?;
    ip(&topo.sw(), &["link", "set", "sv-wan", "master", "br-wan"])?;
    ip(&topo.sw(), &["link", "set", "sv-wan", "up"])?;
    ip(
        sv.name(),
        &["addr", "add", &format!("{SERVER}/24"), "dev", "eth0"],
    )?;
    ip(sv.name(), &["link", "set", "eth0", "up"])?;
    ip(
        sv.name(),
        &[
            "route",
            "add",
            "10.9.8.0/24",
            "via",
            &crate::topology::WAN_VIP.to_string(),
        ],
    )?;
    Ok(sv)
}

/// Writes a key file readable by its owner only (mode 600, as the README asks).
pub fn write_key(path: &Path, key: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(path);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(key)
}

/// 32 random octets (from `/dev/urandom`).
pub fn random_key() -> io::Result<Vec<u8>> {
    let mut k = vec![0u8; 32];
    use std::io::Read;
    fs::File::open("/dev/urandom")?.read_exact(&mut k)?;
    Ok(k)
}

/// Two tandem routers on the extended topology, each with a `tandem_sync` block
/// (unless built without sync: the negative controls).
pub struct CtLab {
    // Field order: the pair (daemons, then the seed namespaces) drops first.
    pair: Pair,
    _server: Netns,
    key: Vec<u8>,
    sync: bool,
}

impl CtLab {
    /// Builds the lab `prefix` with `confs` for r1 and r2, both running tandem;
    /// `sync`: whether their configurations carry the `tandem_sync` block. Starts
    /// nothing.
    pub fn new(prefix: &str, confs: [VrrpConf; 2], sync: bool) -> io::Result<CtLab> {
        let pair = Pair::new(prefix, [Kind::Tandem, Kind::Tandem], confs)?;
        let server = extend_topology(pair.topo())?;
        let key = random_key()?;
        let mut lab = CtLab {
            pair,
            _server: server,
            key,
            sync,
        };
        let path = lab.key_path();
        write_key(&path, &lab.key)?;
        for r in RouterId::BOTH {
            let text = if sync {
                sync_block(r, &path)
            } else {
                String::new()
            };
            lab.pair.set_extra_conf(r, &text);
        }
        Ok(lab)
    }

    /// Whether the routers are configured with sync.
    pub fn sync_enabled(&self) -> bool {
        self.sync
    }

    /// The pair of daemons.
    pub fn pair(&self) -> &Pair {
        &self.pair
    }

    /// The pair of daemons, mutably.
    pub fn pair_mut(&mut self) -> &mut Pair {
        &mut self.pair
    }

    /// The topology.
    pub fn topo(&self) -> &Topology {
        self.pair.topo()
    }

    /// The shared key file.
    pub fn key_path(&self) -> PathBuf {
        self.topo().dir().join("sync.key")
    }

    /// The shared key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Makes router `r` use another key (written to `<r>-other.key`) from its next
    /// start.
    pub fn use_key(&mut self, r: RouterId, key: &[u8]) -> io::Result<()> {
        let path = self.topo().dir().join(format!("{}-other.key", r.name()));
        write_key(&path, key)?;
        let block = sync_block(r, &path);
        self.pair.set_extra_conf(r, &block);
        Ok(())
    }

    /// Namespace of the WAN server.
    pub fn server_ns(&self) -> String {
        server_ns(self.topo())
    }

    /// `tandem status --json` of router `r`, the sync part.
    pub fn sync_status(&mut self, r: RouterId) -> io::Result<SyncStatus> {
        let st = self.pair.daemon(r).status()?;
        SyncStatus::from_status(&st.raw).map_err(io::Error::other)
    }

    /// Router `r`'s conntrack cache as listed by `tandem cache --json`, each entry
    /// as [`ctnl::describe`] writes a kernel entry (`tcp 10.9.8.10:40000>… | …`),
    /// sorted.
    pub fn cache_list(&mut self, r: RouterId) -> io::Result<Vec<String>> {
        let control = self.pair.daemon(r).control_path().to_path_buf();
        let out = std::process::Command::new(crate::daemon::tandem_bin())
            .arg("cache")
            .arg("--control")
            .arg(&control)
            .arg("--json")
            .stdin(std::process::Stdio::null())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "tandem cache failed ({}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let j = Json::parse(&text).map_err(|e| io::Error::other(format!("{e}: {text}")))?;
        let entries = j
            .get("entries")
            .ok_or_else(|| io::Error::other(format!("no entries in {text}")))?;
        let mut v = Vec::new();
        for e in entries.items() {
            let proto = e.get("proto").and_then(Json::as_u64).unwrap_or(256);
            let t = |k: &str| -> Option<String> {
                let t = e.get(k)?;
                Some(format!(
                    "{}:{}>{}:{}",
                    t.get("src")?.as_str()?,
                    t.get("sport")?.as_u64()?,
                    t.get("dst")?.as_str()?,
                    t.get("dport")?.as_u64()?
                ))
            };
            let (Some(o), Some(rp)) = (t("orig"), t("reply")) else {
                return Err(io::Error::other(format!("unexpected cache entry {e:?}")));
            };
            v.push(format!("{} {o} | {rp}", ctnl::proto_name(proto as u8)));
        }
        v.sort();
        Ok(v)
    }

    /// Polls (every 20 ms) until router `r`'s cache holds `want(entries)`, within
    /// `bound`; returns the elapsed time, or the last status seen.
    pub fn wait_cache(
        &mut self,
        r: RouterId,
        bound: Duration,
        mut want: impl FnMut(u64) -> bool,
    ) -> Result<Duration, String> {
        let mut last = String::from("no status");
        let t = Instant::now();
        crate::wait::poll_until(t, bound, Duration::from_millis(20), || {
            match self.sync_status(r) {
                Ok(s) => {
                    let ok = want(s.cache_entries);
                    last = s.summary();
                    ok
                }
                Err(e) => {
                    last = e.to_string();
                    false
                }
            }
        })
        .map_err(|e| format!("{}: {e}; last sync status: {last}", r.name()))
    }

    /// The LAN clients' connections in router `r`'s kernel table (see
    /// [`is_client_entry`]): what the master must sync and a takeover must commit.
    pub fn client_entries(&self, r: RouterId) -> io::Result<Vec<Entry>> {
        Ok(ctnl::dump(&self.topo().router_ns(r))?
            .into_iter()
            .filter(is_client_entry)
            .collect())
    }

    /// Drops `percent` % of the packets on the sync link, both ways (nftables
    /// `numgen random mod 100 < percent drop` on both routers' input from `sync0`,
    /// so that the sender does not notice, as on a lossy wire; a drop in the output
    /// hook would fail the sender's `sendto` with EPERM); 0 removes the rule.
    pub fn set_sync_loss(&self, percent: u8) -> io::Result<()> {
        for r in RouterId::BOTH {
            let ns = self.topo().router_ns(r);
            let _ = netns::output(
                "ip",
                [
                    "netns", "exec", &ns, "nft", "delete", "table", "inet", "tcloss",
                ],
            );
            if percent > 0 {
                let verdict = if percent >= 100 {
                    "counter name lost drop".to_string()
                } else {
                    format!("numgen random mod 100 < {percent} counter name lost drop")
                };
                nft_apply(
                    &ns,
                    &format!(
                        "table inet tcloss {{\n  counter lost {{ }}\n  chain in {{ type filter hook input priority 0; policy accept;\n    iifname \"{SYNC_IF}\" udp dport {SYNC_PORT} {verdict}\n  }}\n}}\n"
                    ),
                )?;
            }
        }
        Ok(())
    }
}

impl CtLab {
    /// Sync datagrams the loss rule dropped so far, both routers together (since
    /// the last [`CtLab::set_sync_loss`]).
    pub fn sync_lost(&self) -> io::Result<u64> {
        let mut n = 0;
        for r in RouterId::BOTH {
            n +=
                crate::traffic::nft_counter(&self.topo().router_ns(r), "inet", "tcloss", "lost")?.0;
        }
        Ok(n)
    }
}

/// Whether an entry is a LAN client's TCP, UDP or ICMP connection: original source
/// in 10.9.8.0/24 but not a router's address or the LAN VIP (their VRRP and IGMP
/// entries are not synced: the routers' own addresses are filtered out).
pub fn is_client_entry(e: &Entry) -> bool {
    matches!(e.orig.src, IpAddr::V4(a) if a.octets()[..3] == [10, 9, 8] && !(2..=4).contains(&a.octets()[3]))
        && matches!(e.orig.proto, 1 | 6 | 17)
}

/// Counts and role of a router's conntrack sync, from `tandem status --json`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncStatus {
    /// `master`, `backup` or `idle`.
    pub role: String,
    /// Entries in the external cache.
    pub cache_entries: u64,
    /// Capacity of the external cache.
    pub cache_capacity: Option<u64>,
    /// Frames dropped, all reasons.
    pub dropped_total: u64,
    /// The sync object as printed.
    pub raw: Json,
}

impl SyncStatus {
    /// Reads the sync object (`conntrack_sync`, or `sync` / `ctsync`) of a whole
    /// `tandem status --json` document.
    pub fn from_status(doc: &Json) -> Result<SyncStatus, String> {
        let obj = ["conntrack_sync", "ctsync", "sync"]
            .iter()
            .find_map(|k| doc.get(k).filter(|v| v.as_object().is_some()))
            .ok_or_else(|| {
                let keys: Vec<&String> = doc.as_object().map(|m| m.keys().collect()).unwrap_or_default();
                format!("`tandem status --json` has no conntrack_sync object (top-level keys: {keys:?})")
            })?
            .clone();
        let role = obj
            .get("role")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("sync status without a role: {obj:?}"))?
            .to_ascii_lowercase();
        let s = SyncStatus {
            role,
            cache_entries: 0,
            cache_capacity: None,
            dropped_total: 0,
            raw: obj,
        };
        let cache_entries = s
            .num(&["cache.entries", "cache_entries", "cache_len", "cache.len"])
            .ok_or_else(|| format!("sync status without the cache size: {:?}", s.raw))?;
        let cache_capacity = s.num(&["cache.capacity", "cache_capacity"]);
        let dropped_total = s
            .num(&["dropped.total", "dropped_total"])
            .unwrap_or_else(|| s.dropped().iter().map(|(_, n)| n).sum());
        Ok(SyncStatus {
            cache_entries,
            cache_capacity,
            dropped_total,
            ..s
        })
    }

    /// The first of `paths` (dotted: `sent.frames`) that holds a whole number.
    pub fn num(&self, paths: &[&str]) -> Option<u64> {
        paths.iter().find_map(|p| {
            let mut v = &self.raw;
            for k in p.split('.') {
                v = v.get(k)?;
            }
            v.as_u64()
        })
    }

    /// Every drop counter by reason (the members of `dropped` except `total`).
    pub fn dropped(&self) -> Vec<(String, u64)> {
        self.raw
            .get("dropped")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.as_str() != "total")
                    .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The drop counter `reason` (0 if absent).
    pub fn dropped_by(&self, reason: &str) -> u64 {
        self.num(&[&format!("dropped.{reason}"), &format!("dropped_{reason}")])
            .unwrap_or(0)
    }

    /// Duration of the last commit of the cache into the kernel, if reported.
    pub fn last_commit(&self) -> Option<Duration> {
        if let Some(us) = self.num(&["last_commit.took_us", "last_commit_us"]) {
            return Some(Duration::from_micros(us));
        }
        let ms = ["last_commit.took_ms", "last_commit_ms"]
            .iter()
            .find_map(|p| {
                let mut v = &self.raw;
                for k in p.split('.') {
                    v = v.get(k)?;
                }
                v.as_f64()
            })?;
        Some(Duration::from_secs_f64(ms / 1000.0))
    }

    /// Entries committed by the last commit, if reported.
    pub fn last_commit_entries(&self) -> Option<u64> {
        self.num(&[
            "last_commit.entries",
            "last_commit.committed",
            "last_commit_committed",
        ])
    }

    /// Full resyncs this backup completed.
    pub fn resyncs_completed(&self) -> Option<u64> {
        self.num(&["resyncs_completed", "resync.completed"])
    }

    /// Full resyncs this master started.
    pub fn resyncs_started(&self) -> Option<u64> {
        self.num(&["resyncs_started", "resync.started"])
    }

    /// Frames sent.
    pub fn frames_sent(&self) -> Option<u64> {
        self.num(&["sent.frames", "frames_sent"])
    }

    /// Frames received and accepted.
    pub fn frames_received(&self) -> Option<u64> {
        self.num(&["received.frames", "frames_received"])
    }

    /// One line for messages.
    pub fn summary(&self) -> String {
        format!(
            "role {} cache {}/{:?} dropped {} {:?} commit {:?}",
            self.role,
            self.cache_entries,
            self.cache_capacity,
            self.dropped_total,
            self.dropped(),
            self.last_commit()
        )
    }
}

// ---------------------------------------------------------------- raw frames on the sync link

/// UDP datagrams captured on an interface: (source, destination, payload).
pub type Datagram = (SocketAddrV4, SocketAddrV4, Vec<u8>);

/// Captures the IPv4/UDP datagrams to or from `port` seen on `ifname` in namespace
/// `ns` for `span` (an `AF_PACKET` socket: both directions).
pub fn capture_udp(ns: &str, ifname: &str, port: u16, span: Duration) -> io::Result<Vec<Datagram>> {
    let ifname = ifname.to_string();
    netns::in_netns(ns, move || -> io::Result<Vec<Datagram>> {
        // SAFETY: socket(2) with constant arguments; checked below.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                // ETH_P_ALL: sockets bound to one protocol do not see outgoing
                // packets (the kernel taps those for ETH_P_ALL sockets only).
                (libc::ETH_P_ALL as u16).to_be() as i32,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let cname = std::ffi::CString::new(ifname).map_err(io::Error::other)?;
        // SAFETY: a NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sa.sll_ifindex = index as i32;
        // SAFETY: bind(2) with a live sockaddr_ll and its size.
        if unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        } < 0
        {
            return Err(io::Error::last_os_error());
        }
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 20_000,
        };
        // SAFETY: setsockopt with a live timeval.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as u32,
            );
        }
        let end = Instant::now() + span;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        while Instant::now() < end {
            // SAFETY: zeroed sockaddr_ll is valid; recvfrom fills it.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut flen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: recvfrom(2) into our own buffer and address.
            let n = unsafe {
                libc::recvfrom(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut flen,
                )
            };
            if n <= 0 || from.sll_protocol != (libc::ETH_P_IP as u16).to_be() {
                continue;
            }
            if let Some(d) = parse_udp(&buf[..n as usize]) {
                if d.0.port() == port || d.1.port() == port {
                    out.push(d);
                }
            }
        }
        Ok(out)
    })?
}

fn parse_udp(p: &[u8]) -> Option<Datagram> {
    if p.len() < 28 || p[0] >> 4 != 4 || p[9] != 17 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    let udp = p.get(ihl..total)?;
    if udp.len() < 8 {
        return None;
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let sport = u16::from_be_bytes([udp[0], udp[1]]);
    let dport = u16::from_be_bytes([udp[2], udp[3]]);
    let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]])).min(udp.len());
    Some((
        SocketAddrV4::new(src, sport),
        SocketAddrV4::new(dst, dport),
        udp.get(8..ulen)?.to_vec(),
    ))
}

/// Sends UDP datagrams with any source address and port from namespace `ns` (a raw
/// socket with `IP_HDRINCL`): what a third party on the sync link can do. Returns
/// how many were sent.
pub fn inject_udp(ns: &str, datagrams: Vec<Datagram>) -> io::Result<usize> {
    netns::in_netns(ns, move || -> io::Result<usize> {
        // SAFETY: socket(2) with constant arguments; checked below.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::IPPROTO_RAW,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut sent = 0;
        for (src, dst, payload) in datagrams {
            let ulen = 8 + payload.len();
            let total = 20 + ulen;
            let mut p = Vec::with_capacity(total);
            p.extend_from_slice(&[0x45, 0]);
            p.extend_from_slice(&(total as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            p.extend_from_slice(&src.ip().octets());
            p.extend_from_slice(&dst.ip().octets());
            p.extend_from_slice(&src.port().to_be_bytes());
            p.extend_from_slice(&dst.port().to_be_bytes());
            p.extend_from_slice(&(ulen as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0]);
            p.extend_from_slice(&payload);
            let csum = udp_checksum(*src.ip(), *dst.ip(), &p[20..]);
            p[26..28].copy_from_slice(&csum.to_be_bytes());
            // SAFETY: zeroed sockaddr_in is valid; fields set below.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as u16;
            sa.sin_addr.s_addr = u32::from_ne_bytes(dst.ip().octets());
            // SAFETY: sendto(2) with a live buffer and address.
            let n = unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    p.as_ptr().cast(),
                    p.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as u32,
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            sent += 1;
        }
        Ok(sent)
    })?
}

fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u32::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&[0, 17]);
    add(&(udp.len() as u16).to_be_bytes());
    add(udp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    if c == 0 {
        0xffff
    } else {
        c
    }
}
